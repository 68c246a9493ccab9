//! `sg-validator check` as a user runs it: the real binary, the default AWS chain pointed at moto through
//! `AWS_ENDPOINT_URL`, JSON and text output, exit status 0 / 1 / 2, and nothing deleted.

use std::process::Command;
use test_support::moto::moto;
use test_support::rig::{self, REGION};

fn sg_validator(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sg-validator"))
        .args(args)
        .env("AWS_ENDPOINT_URL", moto().endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "AKIACLITESTS00000001")
        .env("AWS_SECRET_ACCESS_KEY", "cli-tests-secret")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .expect("run sg-validator");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

async fn stack_with(rules: &[(i32, &str)]) -> String {
    let aws = rig::aws_config(moto().endpoint()).await;
    let name = format!("cli-{}-test", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut template = String::from(
        "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: cli\n      SecurityGroupIngress:\n",
    );
    for (port, cidr) in rules {
        template
            .push_str(&format!("        - {{IpProtocol: tcp, FromPort: {port}, ToPort: {port}, CidrIp: {cidr}}}\n"));
    }
    aws_sdk_cloudformation::Client::new(&aws)
        .create_stack()
        .stack_name(&name)
        .template_body(template)
        .send()
        .await
        .expect("create stack");
    name
}

#[tokio::test]
async fn json_output_and_exit_status() {
    let open = stack_with(&[(22, "72.21.196.67/32"), (22, "0.0.0.0/0"), (3389, "0.0.0.0/0")]).await;
    let (code, stdout, stderr) =
        sg_validator(&["check", "--stack", &open, "--approved-cidr", "72.21.196.67/32", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["groupsChecked"], 1);
    assert_eq!(json["regions"], serde_json::json!([REGION]));
    let violations = json["violations"].as_array().expect("list");
    assert_eq!(violations.len(), 1, "port 22 only by default: {stdout}");
    assert_eq!(violations[0]["region"], REGION);
    assert!(violations[0]["groupId"].as_str().expect("id").starts_with("sg-"));
    assert_eq!(violations[0]["protocol"], "tcp");
    assert_eq!(violations[0]["ports"], "22");
    assert_eq!(violations[0]["source"], "0.0.0.0/0");

    // More ports; the stack is still there afterwards (the CLI never deletes).
    let (code, stdout, _) =
        sg_validator(&["check", "--stack", &open, "--port", "22", "--port", "3389", "--format", "json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["violations"].as_array().expect("list").len(), 3, "{stdout}");
    assert_eq!(json["stackRegions"], serde_json::json!([REGION]), "not deleted");

    let clean = stack_with(&[(22, "72.21.196.67/32")]).await;
    let (code, stdout, _) = sg_validator(&["check", "--stack", &clean, "--approved-cidr", "72.21.196.67/32"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, format!("stack {clean}: no violations (1 security group in 1 region checked)\n"));
}

#[tokio::test]
async fn text_output_lists_the_offenders() {
    let open = stack_with(&[(22, "0.0.0.0/0")]).await;
    let (code, stdout, _) = sg_validator(&["check", "--stack", &open, "--region", REGION]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("stack {open}: 1 violation (1 security group in 1 region checked)"));
    assert!(
        lines[1].starts_with(&format!("{REGION} : sg-")) && lines[1].ends_with(" : tcp 22 from 0.0.0.0/0"),
        "{stdout}"
    );
}

#[test]
fn usage_and_aws_errors_exit_2() {
    let (code, stdout, _) = sg_validator(&["check", "--stack", "no-such-stack-anywhere", "--format", "json"]);
    assert_eq!(code, 2);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["stackRegions"], serde_json::json!([]));
    let (code, _, stderr) = sg_validator(&["check", "--stack", "x", "--approved-cidr", "10.0.0.0/33"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`10.0.0.0/33` is not a network"), "{stderr}");
    let (code, _, stderr) = sg_validator(&["check"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--stack"), "{stderr}");
}
