//! End to end through a real Lambda runtime emulator: each function binary of this build runs against the
//! Lambda Runtime API of `cargo lambda watch`; each sample event in events/ is invoked through its Invoke
//! API (rewritten to the rig: moto for S3, Secrets Manager, EC2 and CloudFormation, the stand-in for
//! CodePipeline) and the job result the function reported is asserted. The emulator's deadline is the bogus 1970 one, so this also proves the
//! functions fall back to their own budget.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::lambda::{EventRig, LambdaWatch, PreparedEvent, function_env, sqlite_secret};
use test_support::moto::moto;
use test_support::rig;
use test_support::standin::{CodePipelineStandIn, RecordedOutcome, RecordedResult};

/// Far above what any of these jobs takes (seconds), far below the suite's patience.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

struct Runtime {
    standin: CodePipelineStandIn,
    watch: LambdaWatch,
    dir: std::path::PathBuf,
}

impl Runtime {
    fn start(name: &str) -> Self {
        let standin = CodePipelineStandIn::start();
        let watch = LambdaWatch::start(&function_env(moto().endpoint(), standin.endpoint()));
        let dir = std::env::temp_dir().join(format!("lambda-runtime-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self { standin, watch, dir }
    }

    async fn rig(&self) -> EventRig<'_> {
        let aws = rig::aws_config(moto().endpoint()).await;
        EventRig::new(aws, &self.standin, sqlite_secret(&self.dir.join("app.db"))).await
    }

    /// Invokes the prepared event and returns the one result its job got.
    async fn invoke(&self, event: &PreparedEvent) -> RecordedResult {
        let response = self.watch.invoke(event.function, &event.payload, INVOKE_TIMEOUT).await.unwrap_or_else(|e| {
            panic!("{}: {e}\nemulator log:\n{}", event.name, self.watch.log_tail(60));
        });
        assert_eq!(response["jobId"], Value::String(event.job_id.clone()), "{}: response {response}", event.name);
        let results = self.standin.results_for(&event.job_id);
        assert_eq!(results.len(), 1, "{}: one result per job, got {results:?}", event.name);
        let result = results.into_iter().next().expect("one");
        let label = if matches!(result.outcome, RecordedOutcome::Success { .. }) { "success" } else { "failure" };
        assert_eq!(response["result"], label, "{}: response {response}", event.name);
        assert_eq!(result.access_key_id.as_deref(), Some(rig::FUNCTION_ACCESS_KEY), "reported with the role");
        result
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn success(event: &PreparedEvent, result: &RecordedResult) -> (String, BTreeMap<String, String>) {
    match &result.outcome {
        RecordedOutcome::Success { summary, output_variables, continuation_token, .. } => {
            assert_eq!(continuation_token, &None, "{}", event.name);
            (summary.clone().unwrap_or_default(), output_variables.clone())
        }
        other => panic!("{}: expected success, got {other:?}", event.name),
    }
}

fn failure(event: &PreparedEvent, result: &RecordedResult) -> (String, String) {
    match &result.outcome {
        RecordedOutcome::Failure { failure_type, message, .. } => (failure_type.clone(), message.clone()),
        other => panic!("{}: expected failure, got {other:?}", event.name),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cfn_validator_events_under_cargo_lambda_watch() {
    let runtime = Runtime::start("cfn");
    let rig = runtime.rig().await;

    let secure = rig.prepare("cfn-validator-secure-template").await;
    let result = runtime.invoke(&secure).await;
    let (summary, variables) = success(&secure, &result);
    assert_eq!(variables.get("riskLevel").map(String::as_str), Some("PASS"), "{summary} {variables:?}");
    let output_key =
        secure.payload["CodePipeline.job"]["data"]["outputArtifacts"][0]["location"]["s3Location"]["objectKey"]
            .as_str()
            .expect("output key");
    let output = rig::s3(&rig.aws).get_object().bucket(&rig.bucket).key(output_key).send().await;
    assert!(output.is_ok(), "the output artifact was written: {output:?}");

    let insecure = rig.prepare("cfn-validator-insecure-template").await;
    let result = runtime.invoke(&insecure).await;
    let (kind, message) = failure(&insecure, &result);
    assert_eq!(kind, "JobFailed", "{message}");
    assert!(message.contains("templates/insecure.json:"), "names the file and line: {message}");
    assert!(message.contains("ingress-ssh-world"), "{message}");
    assert!(message.contains("rds-publicly-accessible"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sg_validator_events_under_cargo_lambda_watch() {
    let runtime = Runtime::start("sg");
    let rig = runtime.rig().await;

    let clean = rig.prepare("sg-validator-clean-stack").await;
    let stack = clean.stack_name.clone().expect("stack");
    let result = runtime.invoke(&clean).await;
    let (summary, variables) = success(&clean, &result);
    assert_eq!(variables.get("groupsChecked").map(String::as_str), Some("2"), "{summary}");
    assert_eq!(variables.get("violations").map(String::as_str), Some("0"), "{summary}");
    assert_eq!(rig.stack_status(&stack).await.as_deref(), Some("CREATE_COMPLETE"), "a clean stack stays");

    let open = rig.prepare("sg-validator-ssh-open-stack").await;
    let stack = open.stack_name.clone().expect("stack");
    assert!(stack.ends_with("-test"), "{stack} still matches *-test");
    let bastion = rig.physical_id(&stack, "BastionSg").await;
    let result = runtime.invoke(&open).await;
    let (kind, message) = failure(&open, &result);
    assert_eq!(kind, "JobFailed", "{message}");
    assert!(message.contains(&format!("us-east-1 : {bastion} : tcp 22 from 0.0.0.0/0")), "{message}");
    assert!(message.contains("1 violation"), "only the bastion group: {message}");
    assert!(message.contains("deleted (DELETE_COMPLETE)"), "says the stack was deleted: {message}");
    let status = rig.stack_status(&stack).await;
    assert!(matches!(status.as_deref(), None | Some("DELETE_COMPLETE")), "{stack} is deleted: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn db_deploy_events_under_cargo_lambda_watch() {
    let runtime = Runtime::start("db");
    let rig = runtime.rig().await;

    let forecast = rig.prepare("db-deploy-forecast").await;
    let result = runtime.invoke(&forecast).await;
    let (summary, variables) = success(&forecast, &result);
    assert_eq!(variables.get("pendingCount").map(String::as_str), Some("4"), "{summary} {variables:?}");
    assert_eq!(variables.get("appliedCount").map(String::as_str), Some("0"), "a forecast writes nothing");

    let deploy = rig.prepare("db-deploy-deploy").await;
    assert_eq!(deploy.secret_id, forecast.secret_id, "the same database");
    let result = runtime.invoke(&deploy).await;
    let (summary, variables) = success(&deploy, &result);
    assert_eq!(variables.get("appliedCount").map(String::as_str), Some("4"), "{summary} {variables:?}");
    assert_eq!(variables.get("schemaVersion").map(String::as_str), Some("3"), "{summary} {variables:?}");

    // The forecast again: nothing left.
    let again = rig.prepare("db-deploy-forecast").await;
    let result = runtime.invoke(&again).await;
    let (summary, variables) = success(&again, &result);
    assert_eq!(variables.get("pendingCount").map(String::as_str), Some("0"), "{summary} {variables:?}");

    let wide = rig.prepare("db-deploy-wide-index").await;
    let result = runtime.invoke(&wide).await;
    let (kind, message) = failure(&wide, &result);
    assert_eq!(kind, "JobFailed", "{message}");
    assert!(message.contains("index-too-many-columns"), "{message}");
    assert!(message.contains("changelog.sql:"), "names the file and line: {message}");
}
