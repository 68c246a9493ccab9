//! The `cfn-validator scan` command line: formats, exit statuses, directories, rules and configuration files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cfn")
}

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cfn-validator"))
        .arg("scan")
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("the binary runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn json_output_and_exit_status_follow_the_decision() {
    let pass = scan(&["--format", "json", "secure.yaml"]);
    assert_eq!(pass.status.code(), Some(0));
    assert_eq!(json(&pass)["decision"], "pass");

    let flagged = scan(&["--format", "json", "flagged.yaml"]);
    assert_eq!(flagged.status.code(), Some(0));
    let report = json(&flagged);
    assert_eq!(report["decision"], "flagged");
    assert_eq!(report["riskScore"], 5);
    let finding = &report["findings"][0];
    assert_eq!(finding["ruleId"], "ingress-other-port-world");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["risk"], 5);
    assert_eq!(finding["file"], "flagged.yaml");
    assert_eq!((finding["line"].as_u64(), finding["column"].as_u64()), (Some(9), Some(67)));
    assert_eq!(finding["resource"], "AppSg");
    assert_eq!(finding["suppressed"], false);

    let fail = scan(&["--format", "json", "insecure.json"]);
    assert_eq!(fail.status.code(), Some(1));
    assert_eq!(json(&fail)["decision"], "fail");

    let broken = scan(&["broken.yaml"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stdout).starts_with("broken.yaml:6:92 - parse-error:"));
}

#[test]
fn configurations_and_rules_files() {
    let prod = scan(&["--format", "json", "--config", "prod-config.json", "insecure.json"]);
    assert_eq!(prod.status.code(), Some(0), "{}", String::from_utf8_lossy(&prod.stdout));
    let test =
        scan(&["--format", "json", "--config", "test-config.json", "--config", "prod-config.json", "insecure.json"]);
    assert_eq!(test.status.code(), Some(1));
    let report = json(&test);
    assert_eq!(report["configurations"], serde_json::json!(["test-config.json", "prod-config.json"]));
    assert_eq!(report["findings"][0]["configurations"], serde_json::json!(["test-config.json"]));

    // The example rules file adds the reference's regex rule and approves 10.0.0.0/8 for SSH.
    let custom = scan(&["--format", "json", "--rules", "rules.toml", "flagged.yaml"]);
    let rules: Vec<String> = json(&custom)["findings"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["ruleId"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(rules, ["ingress-other-port-world", "reference-open-cidr"]);
}

#[test]
fn directories_are_searched_for_templates() {
    let output = scan(&["--format", "json", "--config", "prod-config.json", "--rules", "rules.toml", "."]);
    let report = json(&output);
    let mut files: Vec<&str> =
        report["templates"].as_array().expect("list").iter().filter_map(|t| t["file"].as_str()).collect();
    files.sort_unstable();
    assert_eq!(files, ["./broken.yaml", "./flagged.yaml", "./insecure.json", "./secure.yaml"]);
    assert_eq!(output.status.code(), Some(1), "broken.yaml fails the run");
}

#[test]
fn sarif_and_markdown_formats() {
    let sarif = scan(&["--format", "sarif", "insecure.json"]);
    let document = json(&sarif);
    assert_eq!(document["version"], "2.1.0");
    assert_eq!(document["runs"][0]["tool"]["driver"]["name"], "cfn-validator");
    let markdown = scan(&["--format", "markdown", "insecure.json"]);
    assert!(String::from_utf8_lossy(&markdown.stdout).starts_with("# cfn-validator report: FAIL"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    for args in [
        &["--format", "xml", "secure.yaml"][..],
        &[][..],
        &["no-such-file.yaml"][..],
        &["--rules", "secure.yaml", "flagged.yaml"][..],
    ] {
        let output = scan(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(!output.stderr.is_empty());
    }
    let output = Command::new(env!("CARGO_BIN_EXE_cfn-validator")).arg("--help").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Without arguments, runs as the CodePipeline Lambda function")
    );
}
