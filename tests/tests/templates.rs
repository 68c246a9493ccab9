//! The deployment templates — `template.yaml` (the functions, AWS SAM) and `examples/pipeline/pipeline.yaml`
//! (a complete CodePipeline using them) — are clean under four validators: `sam validate --lint`,
//! cfn-lint, checkov (zero failed checks; each skipped check carries a reason in the resource's Metadata)
//! and our own cfn-validator (no finding, suppressed or not).
//!
//! The PyPI tools are installed by `scripts/test` into `~/.cache/pipeline-gates/tools/<package>/`
//! (`PIPELINE_GATES_TOOLS` to look elsewhere); PATH is the fallback.

use cfn_validator::scan::{Scanner, Source};
use cfn_validator::settings::Settings;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use test_support::lambda::workspace_root;

const TEMPLATES: [&str; 2] = ["template.yaml", "examples/pipeline/pipeline.yaml"];

fn tool(package: &str, executable: &str) -> PathBuf {
    let tools = std::env::var_os("PIPELINE_GATES_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/pipeline-gates/tools")));
    tools
        .map(|dir| dir.join(package).join("bin").join(executable))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(executable))
}

fn run(package: &str, executable: &str, args: &[&str]) -> Output {
    let bin = tool(package, executable);
    Command::new(&bin)
        .args(args)
        .current_dir(workspace_root())
        // Offline and quiet: no telemetry, no credentials or region lookups.
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIAOFFLINE000000000")
        .env("AWS_SECRET_ACCESS_KEY", "offline")
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); ./scripts/test installs {package} into ~/.cache/pipeline-gates/tools",
                bin.display()
            )
        })
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn sam_validate_lint() {
    for template in TEMPLATES {
        let output = run("aws-sam-cli", "sam", &["validate", "--lint", "--template-file", template]);
        assert!(output.status.success(), "sam validate --lint {template}:\n{}", text(&output));
        assert!(text(&output).contains("is a valid SAM Template"), "{template}:\n{}", text(&output));
    }
}

#[test]
fn cfn_lint() {
    let output = run("cfn-lint", "cfn-lint", &TEMPLATES);
    assert!(output.status.success(), "cfn-lint:\n{}", text(&output));
}

#[test]
fn checkov_has_no_failed_check_and_every_skip_has_a_reason() {
    for template in TEMPLATES {
        let output = run(
            "checkov",
            "checkov",
            &["--file", template, "--framework", "cloudformation", "--skip-download", "--output", "json", "--quiet"],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("checkov {template}: not a JSON report ({e}):\n{}", text(&output)));
        // One framework gives an object; several give a list of them.
        let reports = report.as_array().cloned().unwrap_or_else(|| vec![report.clone()]);
        let mut passed = 0;
        for report in &reports {
            let failed: Vec<String> = report["results"]["failed_checks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{} {} ({})", c["check_id"], c["resource"], c["check_name"]))
                .collect();
            assert!(failed.is_empty(), "checkov {template} failed checks:\n{}", failed.join("\n"));
            for skipped in report["results"]["skipped_checks"].as_array().into_iter().flatten() {
                let reason = skipped["check_result"]["suppress_comment"].as_str().unwrap_or("");
                assert!(
                    reason.trim().len() > 20,
                    "checkov {template}: {} on {} is skipped without a reason",
                    skipped["check_id"],
                    skipped["resource"]
                );
            }
            passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        }
        assert!(passed > 0, "checkov {template} checked nothing:\n{}", text(&output));
        assert!(output.status.success(), "checkov {template} exited with {}:\n{}", output.status, text(&output));
    }
}

#[test]
fn our_cfn_validator_finds_nothing() {
    let scanner = Scanner::new(Settings::default());
    for template in TEMPLATES {
        let path = workspace_root().join(template);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let report = scanner.scan(&[Source::new(template, text)], &[]);
        let findings: Vec<String> = report.findings.iter().map(|f| f.headline()).collect();
        assert!(findings.is_empty(), "cfn-validator on {template}:\n{}", findings.join("\n"));
        assert_eq!(report.templates.len(), 1, "{template} was read as a template");
    }
}
