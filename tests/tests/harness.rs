//! The harness end to end: artifacts in moto S3 with the job's artifact credentials, results through the
//! CodePipeline stand-in.

mod common;

use common::rig;
use serde_json::json;
use std::time::Duration;
use test_support::rig::{FUNCTION_ACCESS_KEY, JobEvent, invocation, settings, zip_bytes};
use test_support::standin::RecordedOutcome;

const TEMPLATE: &[u8] = b"Resources: {}\n";

#[tokio::test]
async fn reads_the_input_artifact_and_reports_success_with_the_function_credentials() {
    let rig = rig().await;
    let (bucket, key) = rig.artifact(zip_bytes(&[("templates/app.yaml", TEMPLATE)])).await;
    let job = rig.standin.new_job();
    let event =
        JobEvent::new(&job).user_parameters(r#"{"behave": "read-artifact"}"#).input("SourceOutput", &bucket, &key);
    let response = rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(response, json!({"jobId": job, "result": "success"}));
    let result = rig.standin.only_result(&job);
    let (summary, vars) = result.success();
    assert_eq!(summary, "read templates/app.yaml: Resources: {}\n");
    assert_eq!(vars["bytes"], "14");
    assert_eq!(vars["artifact"], "SourceOutput");
    // Results are signed with the function's own credentials, not the artifact credentials.
    assert_eq!(result.access_key_id.as_deref(), Some(FUNCTION_ACCESS_KEY));
    assert!(rig.standin.rejections().is_empty(), "{:?}", rig.standin.rejections());
}

#[tokio::test]
async fn chooses_the_input_artifact_by_name_and_lists_names_when_wrong() {
    let rig = rig().await;
    let (bucket, key) = rig.artifact(zip_bytes(&[("templates/app.yaml", TEMPLATE)])).await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "read-artifact", "artifact": "Templates"}"#)
        .input("SourceOutput", &bucket, "no-such-key")
        .input("Templates", &bucket, &key);
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(rig.standin.only_result(&job).success().1["artifact"], "Templates");

    let job = rig.standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "read-artifact", "artifact": "Tmpl"}"#)
        .input("SourceOutput", &bucket, &key)
        .input("Templates", &bucket, &key);
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(
        rig.standin.only_result(&job).failure(),
        (
            "ConfigurationError",
            "no input artifact named `Tmpl`; the action's input artifacts are: `SourceOutput`, `Templates`"
        )
    );
}

#[tokio::test]
async fn a_missing_artifact_object_is_revision_unavailable() {
    let rig = rig().await;
    let (bucket, _) = rig.artifact(zip_bytes(&[("a", b"a")])).await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "read-artifact"}"#).input(
        "SourceOutput",
        &bucket,
        "gone.zip",
    );
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = rig.standin.only_result(&job);
    let (kind, message) = result.failure();
    assert_eq!(kind, "RevisionUnavailable");
    assert!(
        message.starts_with(&format!("artifact `SourceOutput` (s3://{bucket}/gone.zip): download failed")),
        "{message}"
    );
    assert!(message.contains("NoSuchKey"), "{message}");
}

#[tokio::test]
async fn artifact_limits_and_zip_slip_fail_the_job_naming_artifact_and_entry() {
    let rig = rig().await;
    for (zip, expected) in [
        (
            zip_bytes(&[("../../etc/cron.d/evil", b"x")]),
            "artifact `SourceOutput`, entry \"../../etc/cron.d/evil\": `..` path components are not allowed in an artifact (zip slip)",
        ),
        (
            zip_bytes(&[("zeros.bin", &vec![0u8; 4 * 1024 * 1024])]),
            "artifact `SourceOutput`, entry \"zeros.bin\": compression ratio",
        ),
        (b"PK\x03\x04 not really".to_vec(), "artifact `SourceOutput` is not a readable zip archive"),
    ] {
        let (bucket, key) = rig.artifact(zip).await;
        let job = rig.standin.new_job();
        let event =
            JobEvent::new(&job).user_parameters(r#"{"behave": "read-artifact"}"#).input("SourceOutput", &bucket, &key);
        rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
        let result = rig.standin.only_result(&job);
        let (kind, message) = result.failure();
        assert_eq!(kind, "JobFailed");
        assert!(message.starts_with(expected), "{message}");
    }

    // A configured limit applies end to end too.
    let mut tight = settings();
    tight.zip_limits.max_entries = 2;
    let (bucket, key) = rig.artifact(zip_bytes(&[("a", b"1"), ("b", b"2"), ("c", b"3")])).await;
    let job = rig.standin.new_job();
    let event =
        JobEvent::new(&job).user_parameters(r#"{"behave": "read-artifact"}"#).input("SourceOutput", &bucket, &key);
    rig.harness(tight).handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(
        rig.standin.only_result(&job).failure(),
        ("JobFailed", "artifact `SourceOutput` has 3 entries; the limit is 2 (ARTIFACT_MAX_ENTRIES)")
    );
}

#[tokio::test]
async fn output_artifact_is_uploaded_with_sse_kms_under_the_job_key() {
    let rig = rig().await;
    let kms = aws_sdk_kms::Client::new(&rig.aws);
    let key_arn = kms
        .create_key()
        .description("artifact store key")
        .send()
        .await
        .expect("create KMS key in moto")
        .key_metadata
        .expect("metadata")
        .arn
        .expect("arn");
    let (bucket, key) = rig.artifact(zip_bytes(&[("templates/app.yaml", TEMPLATE)])).await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "write-output"}"#)
        .input("SourceOutput", &bucket, &key)
        .output("Report", &bucket, "pipeline/Report/out.zip")
        .encryption_key(&key_arn);
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    rig.standin.only_result(&job).success();

    let head = rig.s3.head_object().bucket(&bucket).key("pipeline/Report/out.zip").send().await.expect("uploaded");
    assert_eq!(head.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    assert_eq!(head.content_type(), Some("application/zip"));

    let object = rig.s3.get_object().bucket(&bucket).key("pipeline/Report/out.zip").send().await.expect("get");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut names: Vec<_> = zip.file_names().map(str::to_string).collect();
    names.sort();
    assert_eq!(names, ["report.json", "templates/app.yaml"]);
    let mut report = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("report.json").expect("report"), &mut report).expect("read");
    assert_eq!(report, r#"{"ok":true}"#);
}

#[tokio::test]
async fn output_artifact_without_a_job_key_uses_the_bucket_default() {
    let rig = rig().await;
    let (bucket, key) = rig.artifact(zip_bytes(&[("templates/app.yaml", TEMPLATE)])).await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "write-output"}"#)
        .input("SourceOutput", &bucket, &key)
        .output("Report", &bucket, "out.zip");
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    rig.standin.only_result(&job).success();
    let head = rig.s3.head_object().bucket(&bucket).key("out.zip").send().await.expect("uploaded");
    assert_ne!(head.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), None);
}

#[tokio::test]
async fn an_action_error_is_one_failure_of_its_kind() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "error"}"#);
    let response = rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(response["result"], "failure");
    assert_eq!(
        rig.standin.only_result(&job).failure(),
        ("PermissionError", "ec2:DescribeSecurityGroups was denied for the function's role")
    );
}

#[tokio::test]
async fn a_panic_is_one_failure_and_the_runtime_sees_ok() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "panic"}"#);
    let response = rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("Ok to the runtime");
    assert_eq!(response["result"], "failure");
    let result = rig.standin.only_result(&job);
    let (kind, message) = result.failure();
    assert_eq!(kind, "JobFailed");
    assert_eq!(
        message,
        format!(
            "internal error: the test-action action panicked (boom: index out of range); this is a bug, please report it with job id {job}"
        )
    );
}

#[tokio::test]
async fn overrunning_the_lambda_deadline_is_one_failure_before_the_deadline() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "hang"}"#);
    let mut quick = settings();
    quick.deadline_margin = Duration::from_millis(1500);
    let started = std::time::Instant::now();
    rig.harness(quick).handle(invocation(event.to_json(), Some(Duration::from_secs(4)))).await.expect("handled");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "reported after the deadline: {elapsed:?}");
    let result = rig.standin.only_result(&job);
    let (kind, message) = result.failure();
    assert_eq!(kind, "JobFailed");
    assert!(message.starts_with("the test-action action did not finish within its time budget of 2.5 s (the Lambda deadline minus a 1.5 s reporting margin)"), "{message}");
}

#[tokio::test]
async fn an_implausible_deadline_falls_back_to_the_configured_budget() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "hang"}"#);
    let mut quick = settings();
    quick.budget_without_deadline = Duration::from_millis(700);
    // None = the 1970 deadline cargo lambda watch sends.
    rig.harness(quick).handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = rig.standin.only_result(&job);
    assert!(
        result.failure().1.starts_with("the test-action action did not finish within its time budget of 0.7 s (ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS; the runtime gave no usable deadline)"),
        "{:?}",
        result.failure()
    );
}

#[tokio::test]
async fn duplicate_delivery_of_a_reported_job_is_done_not_an_error() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "error"}"#).to_json();
    let harness = rig.harness(settings());
    harness.handle(invocation(event.clone(), None)).await.expect("first delivery");
    let second = harness.handle(invocation(event, None)).await.expect("second delivery is Ok");
    assert_eq!(second, json!({"jobId": job, "result": "already-reported"}));
    rig.standin.only_result(&job);
    let rejections = rig.standin.rejections();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].error_type, "InvalidJobStateException");
}

#[tokio::test]
async fn a_throttled_report_is_retried() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "error"}"#);
    rig.standin.throttle_next(1);
    let response = rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("retried");
    assert_eq!(response["result"], "failure");
    rig.standin.only_result(&job);
    let rejections = rig.standin.rejections();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].error_type, "ThrottlingException");
}

#[tokio::test]
async fn a_job_codepipeline_does_not_know_is_an_error_to_the_runtime() {
    let rig = rig().await;
    let job = uuid::Uuid::new_v4().to_string(); // never registered with the stand-in
    let event = JobEvent::new(&job).to_json();
    let err = rig.harness(settings()).handle(invocation(event, None)).await.expect_err("not reportable");
    assert!(err.to_string().contains(&format!("PutJobSuccessResult for job {job} failed")), "{err}");
    assert_eq!(rig.standin.rejections()[0].error_type, "JobNotFoundException");
}

#[tokio::test]
async fn a_malformed_event_reports_nothing_and_returns_an_error() {
    let rig = rig().await;
    let payload = json!({"detail-type": "Scheduled Event", "secret": "do-not-print"});
    let err = rig.harness(settings()).handle(invocation(payload, None)).await.expect_err("no job");
    assert!(err.to_string().starts_with("the payload is not a CodePipeline job event"), "{err}");
    assert!(!err.to_string().contains("do-not-print"));
    assert!(rig.standin.results().is_empty());
}

#[tokio::test]
async fn user_parameters_absent_string_bad_json_and_unknown_key() {
    let rig = rig().await;
    let harness = rig.harness(settings());
    let cases: [(Option<&str>, Result<&str, &str>); 5] = [
        (None, Ok("no parameters")),
        (Some("app-test"), Ok("text parameter: app-test")),
        (
            Some("{\"behave\": \"succeed\",}"),
            Err("UserParameters is not valid JSON (line 1, column 22): trailing comma"),
        ),
        (
            Some(r#"{"behave": "succeed", "artefact": "x"}"#),
            Err("UserParameters: unknown field `artefact`, expected one of `behave`, `artifact`, `entry`"),
        ),
        (
            Some(r#"{"behave": "explode"}"#),
            Err(
                "UserParameters at `behave`: unknown variant `explode`, expected one of `succeed`, `read-artifact`, `write-output`, `error`, `panic`, `hang`, `long-texts`, `huge-variables`, `continue`",
            ),
        ),
    ];
    for (params, expected) in cases {
        let job = rig.standin.new_job();
        let mut event = JobEvent::new(&job);
        if let Some(p) = params {
            event = event.user_parameters(p);
        }
        harness.handle(invocation(event.to_json(), None)).await.expect("handled");
        let result = rig.standin.only_result(&job);
        match expected {
            Ok(summary) => assert_eq!(result.success().0, summary),
            Err(message) => assert_eq!(result.failure(), ("ConfigurationError", message)),
        }
    }
}

#[tokio::test]
async fn texts_are_truncated_at_each_api_limit_with_a_marker() {
    let rig = rig().await;
    let harness = rig.harness(settings());

    // Summary (2048) and output variables (122,880 bytes in all).
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "huge-variables"}"#);
    harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = rig.standin.only_result(&job);
    let (summary, vars) = result.success();
    assert!(summary.chars().count() <= 2048 && summary.chars().count() > 2000);
    assert!(summary.ends_with(" characters]"), "{}", &summary[summary.len() - 40..]);
    assert_eq!(vars["riskLevel"], "FLAGGED");
    let total: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(total <= 122_880 && total > 120_000, "{total}");
    assert!(vars["findings"].ends_with("[truncated to fit CodePipeline's output variable limit]"));

    // Failure message (5000) and externalExecutionId (1500, from a long request id).
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "long-texts"}"#);
    let mut invoke = invocation(event.to_json(), None);
    invoke.context.request_id = "r".repeat(2000);
    harness.handle(invoke).await.expect("handled");
    let result = rig.standin.only_result(&job);
    let RecordedOutcome::Failure { message, external_execution_id, .. } = &result.outcome else { panic!("{result:?}") };
    assert!(message.chars().count() <= 5000 && message.chars().count() > 4900);
    assert!(message.ends_with(" characters]"));
    let external = external_execution_id.as_deref().expect("external id");
    assert!(external.chars().count() <= 1500 && external.starts_with("rrrr"));

    assert!(rig.standin.rejections().is_empty(), "{:?}", rig.standin.rejections());
}

#[tokio::test]
async fn continuation_round_trips_across_invocations() {
    let rig = rig().await;
    let harness = rig.harness(settings());
    let first = rig.standin.new_job();
    let event = JobEvent::new(&first).user_parameters(r#"{"behave": "continue"}"#);
    let response = harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(response["result"], "in-progress");
    let result = rig.standin.only_result(&first);
    let RecordedOutcome::Success { continuation_token, percent_complete, output_variables, summary, .. } =
        &result.outcome
    else {
        panic!("{result:?}")
    };
    assert_eq!(continuation_token.as_deref(), Some(r#"{"v":1,"s":{"step":1}}"#));
    assert_eq!(*percent_complete, Some(100), "150 is clamped to the API's 0-100");
    assert!(output_variables.is_empty());
    assert_eq!(summary.as_deref(), Some("step 1 of 2 done"));

    let (second, token) = rig.standin.continuation_of(&first).expect("continued");
    let event = JobEvent::new(&second).user_parameters(r#"{"behave": "continue"}"#).continuation_token(&token);
    harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = rig.standin.only_result(&second);
    assert_eq!(result.success().0, "finished after step 2");
    assert_eq!(result.success().1["steps"], "2");
}

#[tokio::test]
async fn a_foreign_continuation_token_fails_clearly() {
    let rig = rig().await;
    let job = rig.standin.new_job();
    let event = JobEvent::new(&job).user_parameters(r#"{"behave": "continue"}"#).continuation_token("d-ABCDEF123");
    rig.harness(settings()).handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = rig.standin.only_result(&job);
    let (kind, message) = result.failure();
    assert_eq!(kind, "JobFailed");
    assert!(message.starts_with("the job's continuation token was not written by this action"), "{message}");
}
