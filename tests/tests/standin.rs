//! The CodePipeline stand-in enforces the documented API constraints and answers with the real error
//! shapes, as seen through the real Rust SDK (which validates none of them client-side).

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{CurrentRevision, ExecutionDetails, FailureDetails, FailureType};
use std::collections::HashMap;
use test_support::rig;
use test_support::standin::{CodePipelineStandIn, RecordedOutcome};

async fn client(standin: &CodePipelineStandIn) -> Client {
    // Any endpoint for the base config: the CodePipeline endpoint is overridden below.
    let aws = rig::aws_config("http://127.0.0.1:9").await;
    Client::from_conf(aws_sdk_codepipeline::config::Builder::from(&aws).endpoint_url(standin.endpoint()).build())
}

fn details(summary: &str, external: &str, percent: Option<i32>) -> ExecutionDetails {
    ExecutionDetails::builder().summary(summary).external_execution_id(external).set_percent_complete(percent).build()
}

fn failure(kind: FailureType, message: &str) -> FailureDetails {
    FailureDetails::builder().r#type(kind).message(message).external_execution_id("req-1").build().expect("details")
}

/// The error code of a failed call.
macro_rules! code_of {
    ($call:expr) => {
        match $call.send().await {
            Ok(_) => "accepted".to_string(),
            Err(err) => err.code().unwrap_or("no code").to_string(),
        }
    };
}

#[tokio::test]
async fn success_constraints() {
    let standin = CodePipelineStandIn::start();
    let client = client(&standin).await;
    let job = standin.new_job();
    let long = |n: usize| "a".repeat(n);
    let cases: Vec<(
        &str,
        aws_sdk_codepipeline::operation::put_job_success_result::builders::PutJobSuccessResultFluentBuilder,
    )> = vec![
        (
            "summary 2049",
            client.put_job_success_result().job_id(&job).execution_details(details(&long(2049), "x", None)),
        ),
        ("summary empty", client.put_job_success_result().job_id(&job).execution_details(details("", "x", None))),
        (
            "external id 1501",
            client.put_job_success_result().job_id(&job).execution_details(details("s", &long(1501), None)),
        ),
        ("percent 101", client.put_job_success_result().job_id(&job).execution_details(details("s", "x", Some(101)))),
        ("percent -1", client.put_job_success_result().job_id(&job).execution_details(details("s", "x", Some(-1)))),
        ("token 2049", client.put_job_success_result().job_id(&job).continuation_token(long(2049))),
        ("token empty", client.put_job_success_result().job_id(&job).continuation_token("")),
        (
            "variables with a token",
            client.put_job_success_result().job_id(&job).continuation_token("t").output_variables("k", "v"),
        ),
        ("bad variable key", client.put_job_success_result().job_id(&job).output_variables("risk level", "v")),
        (
            "revision without change id",
            client
                .put_job_success_result()
                .job_id(&job)
                .current_revision(CurrentRevision::builder().revision("r").change_identifier("").build().expect("rev")),
        ),
        ("job id not a uuid", client.put_job_success_result().job_id("job-1")),
    ];
    for (what, call) in cases {
        assert_eq!(code_of!(call), "ValidationException", "{what}");
    }
    let mut big = HashMap::new();
    big.insert("a".to_string(), long(100_000));
    big.insert("b".to_string(), long(22_880)); // 1 + 100000 + 1 + 22880 = 122882 bytes > 122880
    assert_eq!(
        code_of!(client.put_job_success_result().job_id(&job).set_output_variables(Some(big))),
        "OutputVariablesSizeExceededException"
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(code_of!(client.put_job_success_result().job_id(&unknown)), "JobNotFoundException");
    assert!(standin.results().is_empty(), "nothing invalid was recorded");

    // At the limits exactly: accepted, then the job is done.
    let mut vars = HashMap::new();
    vars.insert("a".to_string(), long(122_879)); // 1 + 122879 = 122880
    let call = client
        .put_job_success_result()
        .job_id(&job)
        .execution_details(details(&long(2048), &long(1500), Some(100)))
        .set_output_variables(Some(vars));
    assert_eq!(code_of!(call), "accepted");
    assert_eq!(code_of!(client.put_job_success_result().job_id(&job)), "InvalidJobStateException");
    let RecordedOutcome::Success { summary, percent_complete, output_variables, .. } =
        standin.only_result(&job).outcome
    else {
        panic!("not a success")
    };
    assert_eq!(summary.map(|s| s.len()), Some(2048));
    assert_eq!(percent_complete, Some(100));
    assert_eq!(output_variables["a"].len(), 122_879);
}

#[tokio::test]
async fn failure_constraints() {
    let standin = CodePipelineStandIn::start();
    let client = client(&standin).await;
    let job = standin.new_job();
    for (what, details) in [
        ("message 5001", failure(FailureType::JobFailed, &"m".repeat(5001))),
        ("message empty", failure(FailureType::JobFailed, "")),
        ("unknown type", failure(FailureType::from("Oops"), "m")),
        (
            "external id 1501",
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("m")
                .external_execution_id("e".repeat(1501))
                .build()
                .expect("details"),
        ),
    ] {
        assert_eq!(
            code_of!(client.put_job_failure_result().job_id(&job).failure_details(details)),
            "ValidationException",
            "{what}"
        );
    }
    assert_eq!(code_of!(client.put_job_failure_result().job_id(&job)), "ValidationException", "no details");

    for kind in [
        "JobFailed",
        "ConfigurationError",
        "PermissionError",
        "RevisionOutOfSync",
        "RevisionUnavailable",
        "SystemUnavailable",
    ] {
        let job = standin.new_job();
        let call = client
            .put_job_failure_result()
            .job_id(&job)
            .failure_details(failure(FailureType::from(kind), &"m".repeat(5000)));
        assert_eq!(code_of!(call), "accepted", "{kind}");
        assert_eq!(standin.only_result(&job).failure().0, kind);
    }
    // A second result for a job, of either kind, is refused.
    let call = client.put_job_failure_result().job_id(&job).failure_details(failure(FailureType::JobFailed, "m"));
    assert_eq!(code_of!(call), "accepted");
    assert_eq!(code_of!(client.put_job_success_result().job_id(&job)), "InvalidJobStateException");
    let call = client.put_job_failure_result().job_id(&job).failure_details(failure(FailureType::JobFailed, "m"));
    assert_eq!(code_of!(call), "InvalidJobStateException");
    assert_eq!(standin.results_for(&job).len(), 1);
}

#[tokio::test]
async fn records_the_signing_key_and_the_request_fields() {
    let standin = CodePipelineStandIn::start();
    let client = client(&standin).await;
    let job = standin.new_job();
    client
        .put_job_success_result()
        .job_id(&job)
        .execution_details(details("all good", "req-42", Some(7)))
        .output_variables("riskLevel", "LOW")
        .send()
        .await
        .expect("accepted");
    let result = standin.only_result(&job);
    assert_eq!(result.access_key_id.as_deref(), Some(rig::FUNCTION_ACCESS_KEY));
    let RecordedOutcome::Success {
        summary,
        external_execution_id,
        percent_complete,
        output_variables,
        continuation_token,
    } = result.outcome
    else {
        panic!("not a success")
    };
    assert_eq!(summary.as_deref(), Some("all good"));
    assert_eq!(external_execution_id.as_deref(), Some("req-42"));
    assert_eq!(percent_complete, Some(7));
    assert_eq!(output_variables.get("riskLevel").map(String::as_str), Some("LOW"));
    assert_eq!(continuation_token, None);
}
