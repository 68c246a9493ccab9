//! cfn-validator end to end through the Lambda handler: the artifact zip in moto S3, results through the
//! CodePipeline stand-in, the output artifact read back from S3.

use cfn_validator::action::CfnValidator;
use codepipeline_action::Harness;
use serde_json::Value;
use std::io::Read;
use test_support::moto::moto;
use test_support::rig::{self, JobEvent, invocation, settings, zip_bytes};
use test_support::standin::CodePipelineStandIn;

const SECURE: &[u8] = include_bytes!("../fixtures/cfn/secure.yaml");
const FLAGGED: &[u8] = include_bytes!("../fixtures/cfn/flagged.yaml");
const INSECURE: &[u8] = include_bytes!("../fixtures/cfn/insecure.json");
const BROKEN: &[u8] = include_bytes!("../fixtures/cfn/broken.yaml");
const TEST_CONFIG: &[u8] = include_bytes!("../fixtures/cfn/test-config.json");
const PROD_CONFIG: &[u8] = include_bytes!("../fixtures/cfn/prod-config.json");
const RULES: &[u8] = include_bytes!("../fixtures/cfn/rules.toml");

struct Rig {
    aws: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    standin: CodePipelineStandIn,
    bucket: String,
}

impl Rig {
    async fn new() -> Self {
        let aws = rig::aws_config(moto().endpoint()).await;
        let s3 = rig::s3(&aws);
        let bucket = rig::new_bucket(&s3).await;
        Self { aws, s3, standin: CodePipelineStandIn::start(), bucket }
    }

    /// Runs one job over an artifact holding `files`; the job id.
    async fn run(&self, files: &[(&str, &[u8])], user_parameters: Option<&str>, output: Option<&str>) -> String {
        let key = format!("pipeline/Source/{}", uuid::Uuid::new_v4());
        rig::put(&self.s3, &self.bucket, &key, zip_bytes(files)).await;
        let job = self.standin.new_job();
        let mut event = JobEvent::new(&job).input("SourceOutput", &self.bucket, &key);
        if let Some(parameters) = user_parameters {
            event = event.user_parameters(parameters);
        }
        if let Some(output) = output {
            event = event.output("ValidatedTemplates", &self.bucket, output);
        }
        let harness =
            Harness::new(CfnValidator, self.aws.clone(), rig::reporter(&self.aws, self.standin.endpoint()), settings());
        harness.handle(invocation(event.to_json(), None)).await.expect("handled");
        job
    }

    async fn output(&self, key: &str) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
        let object = self.s3.get_object().bucket(&self.bucket).key(key).send().await.expect("output artifact exists");
        let bytes = object.body.collect().await.expect("body").into_bytes().to_vec();
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("output is a zip")
    }
}

/// The job's one result, which must be a failure: (type, message).
fn failure(rig: &Rig, job: &str) -> (String, String) {
    let result = rig.standin.only_result(job);
    let (kind, message) = result.failure();
    (kind.to_string(), message.to_string())
}

fn read_entry(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut text = String::new();
    zip.by_name(name).unwrap_or_else(|_| panic!("{name} in output")).read_to_string(&mut text).expect("utf-8");
    text
}

#[tokio::test]
async fn a_secure_template_passes_with_its_score() {
    let rig = Rig::new().await;
    let job = rig.run(&[("template.yaml", SECURE), ("buildspec.yml", b"version: 0.2\n")], None, None).await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert_eq!(summary, "PASS: risk score 0 (flagged at 5, fail at 50); 0 findings in 1 template with 2 resources");
    assert_eq!(variables["riskLevel"], "PASS");
    assert_eq!(variables["riskScore"], "0");
    assert_eq!(variables["findings"], "none");
}

#[tokio::test]
async fn a_flagged_template_succeeds_with_variables_for_the_manual_approval() {
    let rig = Rig::new().await;
    let job = rig.run(&[("app.yaml", FLAGGED)], Some("app.yaml"), None).await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert!(summary.starts_with("FLAGGED: risk score 5"), "{summary}");
    assert!(summary.ends_with("flagged for manual approval"), "{summary}");
    assert_eq!(variables["riskLevel"], "FLAGGED");
    assert_eq!(variables["riskScore"], "5");
    assert_eq!(variables["findingCount"], "1");
    assert_eq!(
        variables["findings"],
        "app.yaml:9:67 AppSg ingress-other-port-world: Open to the world: security group `AppSg` allows tcp 8443 \
         from 0.0.0.0/0"
    );
}

#[tokio::test]
async fn an_insecure_template_fails_with_the_highest_risks_first_and_the_reports_in_the_output() {
    let rig = Rig::new().await;
    let job = rig.run(&[("infra/db.json", INSECURE), ("infra/web.yaml", SECURE)], None, Some("out.zip")).await;
    let (kind, message) = failure(&rig, &job);
    assert_eq!(kind, "JobFailed");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines[0], "FAIL: risk score 155 (flagged at 5, fail at 50); 4 findings in 2 templates with 5 resources");
    assert_eq!(
        lines[1],
        "infra/db.json:26:19 SshFromAnywhere ingress-admin-port-world: Database/admin port (port 20, 21, 23, 135, 139, \
         445) open to the world: security group `BastionSg` allows tcp 0-1024 from 0.0.0.0/0 [when Env=test]"
    );
    assert!(lines[2].starts_with("infra/db.json:26:19 SshFromAnywhere ingress-ssh-world: SSH open to the world"));
    assert!(lines[3].starts_with("infra/db.json:35:53 Db rds-publicly-accessible:"), "{}", lines[3]);
    assert!(lines[4].contains("ingress-other-port-world"), "{}", lines[4]);

    let mut output = rig.output("out.zip").await;
    let mut names: Vec<String> = output.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cfn-validator-report/report.json",
            "cfn-validator-report/report.md",
            "cfn-validator-report/report.sarif",
            "infra/db.json",
            "infra/web.yaml",
        ]
    );
    assert_eq!(read_entry(&mut output, "infra/db.json").as_bytes(), INSECURE);
    let report: Value =
        serde_json::from_str(&read_entry(&mut output, "cfn-validator-report/report.json")).expect("json");
    assert_eq!(report["decision"], "fail");
    assert_eq!(report["riskScore"], 155);
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(4));
    let sarif: Value =
        serde_json::from_str(&read_entry(&mut output, "cfn-validator-report/report.sarif")).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(4));
    assert!(read_entry(&mut output, "cfn-validator-report/report.md").starts_with("# cfn-validator report: FAIL"));
}

#[tokio::test]
async fn configurations_rules_file_and_pipeline_thresholds() {
    let rig = Rig::new().await;
    let files: &[(&str, &[u8])] = &[
        ("db.json", INSECURE),
        ("config/test.json", TEST_CONFIG),
        ("config/prod.json", PROD_CONFIG),
        ("cfn-validator.toml", RULES),
    ];
    // Under the production configuration only: Env=prod leaves out the test-only ingress and public database.
    let job = rig
        .run(files, Some(r#"{"templates": ["*.json"], "configurations": ["config/prod.json"], "rulesFile": "cfn-validator.toml"}"#), None)
        .await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert!(summary.starts_with("PASS: risk score 0"), "{summary}");
    assert!(summary.ends_with("evaluated under config/prod.json"), "{summary}");
    assert_eq!(variables["riskLevel"], "PASS");

    // Under both: the findings say which configuration they come from; the pipeline's thresholds win.
    // 160 = SSH, admin ports and the public database (50 each) + other ports and HTTP, which the rules file
    // turns on (5 each), all from the test configuration.
    let job = rig
        .run(
            files,
            Some(
                r#"{"templates": ["db.json"], "configurations": ["config/test.json", "config/prod.json"],
                    "rulesFile": "cfn-validator.toml", "thresholds": {"flagged": 100, "fail": 1000}}"#,
            ),
            None,
        )
        .await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert!(summary.starts_with("FLAGGED: risk score 160 (flagged at 100, fail at 1000)"), "{summary}");
    assert!(variables["findings"].contains("(configuration config/test.json)"), "{}", variables["findings"]);
}

#[tokio::test]
async fn a_parse_error_fails_the_job_with_its_position() {
    let rig = Rig::new().await;
    let job = rig.run(&[("template.yaml", SECURE), ("broken.yaml", BROKEN)], None, None).await;
    let (kind, message) = failure(&rig, &job);
    assert_eq!(kind, "JobFailed");
    assert!(
        message.contains("broken.yaml:6:92 - parse-error: cannot parse the template: while parsing a flow sequence"),
        "{message}"
    );
}

#[tokio::test]
async fn missing_templates_and_bad_user_parameters_are_configuration_errors() {
    let rig = Rig::new().await;
    let job = rig.run(&[("template.yaml", SECURE)], Some("templates/app.yaml"), None).await;
    assert_eq!(
        rig.standin.only_result(&job).failure(),
        (
            "ConfigurationError",
            "template `templates/app.yaml` (UserParameters) is not in input artifact `SourceOutput`, which holds: \
             template.yaml"
        )
    );

    let job = rig.run(&[("README.md", b"# docs\n"), ("package.json", b"{\"name\": \"x\"}")], None, None).await;
    let (kind, message) = failure(&rig, &job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.starts_with("no CloudFormation template in input artifact `SourceOutput`"), "{message}");

    let job = rig.run(&[("template.yaml", SECURE)], Some(r#"{"template": "template.yaml"}"#), None).await;
    let (kind, message) = failure(&rig, &job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.contains("unknown field `template`"), "{message}");

    let job = rig.run(&[("template.yaml", SECURE)], Some(r#"{"rulesFile": "rules.toml"}"#), None).await;
    assert_eq!(
        rig.standin.only_result(&job).failure(),
        ("ConfigurationError", "rules file `rules.toml` (UserParameters) is not in input artifact `SourceOutput`")
    );

    let job = rig
        .run(
            &[("template.yaml", SECURE), ("rules.yaml", b"rules: {nope: {risk: 1}}\n")],
            Some(r#"{"rulesFile": "rules.yaml"}"#),
            None,
        )
        .await;
    let (kind, message) = failure(&rig, &job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.starts_with("rules file `rules.yaml`: unknown rule `nope`"), "{message}");
}
