//! Artifacts are read with the job's artifact credentials, never with the function's own role: proven
//! against a moto server that enforces IAM authentication and authorisation.

mod common;

use aws_credential_types::Credentials;
use test_support::moto::start_moto;
use test_support::rig::{self, ArtifactCreds, JobEvent, invocation, settings, zip_bytes};
use test_support::standin::CodePipelineStandIn;

#[tokio::test]
async fn only_the_artifact_credentials_can_read_the_artifact() {
    // moto enforces IAM after the first 3 requests, which set up a user allowed to use S3.
    let moto = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let function_role = rig::aws_config(moto.endpoint()).await;
    let iam = aws_sdk_iam::Client::new(&function_role);
    iam.create_user().user_name("pipeline-artifacts").send().await.expect("create user");
    iam.put_user_policy()
        .user_name("pipeline-artifacts")
        .policy_name("artifact-store")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .expect("policy");
    let key = iam
        .create_access_key()
        .user_name("pipeline-artifacts")
        .send()
        .await
        .expect("access key")
        .access_key
        .expect("key");
    let artifact_creds = ArtifactCreds {
        access_key_id: key.access_key_id().to_string(),
        secret_access_key: key.secret_access_key().to_string(),
        session_token: None,
    };

    // From here on moto authenticates: set up the artifact as the artifact-store user.
    let store_user = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(rig::REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new(
            &artifact_creds.access_key_id,
            &artifact_creds.secret_access_key,
            None,
            None,
            "store",
        ))
        .load()
        .await;
    let s3 = rig::s3(&store_user);
    let bucket = rig::new_bucket(&s3).await;
    rig::put(&s3, &bucket, "in.zip", zip_bytes(&[("templates/app.yaml", b"Resources: {}\n")])).await;

    // The function's own role is unknown to this moto: any S3 call signed with it is refused.
    let refused = rig::s3(&function_role).get_object().bucket(&bucket).key("in.zip").send().await;
    assert!(refused.is_err(), "moto must refuse the function's own credentials");

    let standin = CodePipelineStandIn::start();
    let harness = codepipeline_action::Harness::new(
        common::TestAction,
        function_role.clone(),
        rig::reporter(&function_role, standin.endpoint()),
        settings(),
    );
    let job = standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "write-output"}"#)
        .input("SourceOutput", &bucket, "in.zip")
        .output("Out", &bucket, "out.zip")
        .credentials(artifact_creds.clone());
    harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    assert_eq!(standin.only_result(&job).success().0, "read templates/app.yaml: Resources: {}\n");
    s3.head_object().bucket(&bucket).key("out.zip").send().await.expect("output written with the artifact credentials");

    // Credentials that moto does not know: the job fails as a PermissionError.
    let job = standin.new_job();
    let event = JobEvent::new(&job)
        .user_parameters(r#"{"behave": "read-artifact"}"#)
        .input("SourceOutput", &bucket, "in.zip")
        .credentials(ArtifactCreds::default());
    harness.handle(invocation(event.to_json(), None)).await.expect("handled");
    let result = standin.only_result(&job);
    let (kind, message) = result.failure();
    assert_eq!(kind, "PermissionError", "{message}");
    assert!(
        message.starts_with(&format!("artifact `SourceOutput` (s3://{bucket}/in.zip): download failed")),
        "{message}"
    );
}
