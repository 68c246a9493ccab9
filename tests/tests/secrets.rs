//! A known secret placed in the artifact credentials never appears in the logs (captured through the
//! functions' own logging setup, at the most verbose level) or in any reported result.

mod common;

use common::rig;
use std::time::Duration;
use test_support::logs;
use test_support::rig::{ArtifactCreds, JobEvent, invocation, settings, zip_bytes};

const ACCESS_KEY: &str = "ASIACANARYACCESSKEY7";
const SECRET_KEY: &str = "canary-secret-key-9f8e7d6c5b4a";
const SESSION_TOKEN: &str = "canary-session-token-0a1b2c3d4e5f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_or_results() {
    let captured = logs::capture(true, "trace");
    let rig = rig().await;
    let creds = ArtifactCreds {
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        session_token: Some(SESSION_TOKEN.into()),
    };
    let (bucket, key) = rig.artifact(zip_bytes(&[("templates/app.yaml", b"Resources: {}\n")])).await;
    let mut quick = settings();
    quick.budget_without_deadline = Duration::from_millis(500);
    let harness = rig.harness(quick);
    let mut jobs = Vec::new();
    for params in [
        r#"{"behave": "read-artifact"}"#,
        r#"{"behave": "write-output"}"#,
        r#"{"behave": "error"}"#,
        r#"{"behave": "panic"}"#,
        r#"{"behave": "hang"}"#,
        r#"{"behave": "read-artifact", "entry": "missing.yaml"}"#,
        r#"{"unknown": true}"#,
    ] {
        let job = rig.standin.new_job();
        let event = JobEvent::new(&job)
            .user_parameters(params)
            .input("SourceOutput", &bucket, &key)
            .output("Out", &bucket, "out.zip")
            .credentials(creds.clone())
            .encryption_key("arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000");
        harness.handle(invocation(event.to_json(), None)).await.expect("handled");
        jobs.push(job);
    }
    // A download that fails (no such bucket) goes through the SDK's error paths with the credentials.
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "read-artifact"}"#)
        .input("SourceOutput", "no-such-bucket-canary", "k")
        .credentials(creds.clone());
    harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    jobs.push(job);
    // A malformed event that carries the secrets in odd places.
    let mut malformed = JobEvent::new("not-a-job").credentials(creds.clone()).to_json();
    malformed["CodePipeline.job"]["data"]["inputArtifacts"] = serde_json::json!(SECRET_KEY);
    harness.handle(invocation(malformed, None)).await.expect_err("malformed");

    let text = captured.text();
    for job in &jobs {
        assert!(text.contains(job.as_str()), "the capture must hold every job's log lines (job {job})");
        rig.standin.only_result(job);
    }
    let results = format!("{:?} {:?}", rig.standin.results(), rig.standin.rejections());
    for secret in [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN] {
        assert!(!text.contains(secret), "log leaks {secret}");
        assert!(!results.contains(secret), "results leak {secret}");
    }
}
