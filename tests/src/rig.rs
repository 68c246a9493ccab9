//! SDK clients pointed at the rig, job events, Lambda contexts and zips.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use codepipeline_action::Settings;
use codepipeline_action::report::Reporter;
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const REGION: &str = "us-east-1";
/// The function's own (execution role) credentials in tests.
pub const FUNCTION_ACCESS_KEY: &str = "AKIAFUNCTIONROLE0001";

/// An SDK config for the function itself, with every service at `endpoint` (moto).
pub async fn aws_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(FUNCTION_ACCESS_KEY, "function-role-secret", None, None, "tests"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// A CodePipeline reporter pointed at the stand-in.
pub fn reporter(aws: &SdkConfig, standin_endpoint: &str) -> Reporter {
    let config = aws_sdk_codepipeline::config::Builder::from(aws).endpoint_url(standin_endpoint).build();
    Reporter::new(aws_sdk_codepipeline::Client::from_conf(config))
}

/// Harness settings for the rig: path-style S3 and a short fallback budget.
pub fn settings() -> Settings {
    Settings { s3_force_path_style: true, budget_without_deadline: Duration::from_secs(120), ..Settings::default() }
}

/// A path-style S3 client for setting up and inspecting moto.
pub fn s3(aws: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build())
}

/// A fresh bucket with a unique name.
pub async fn new_bucket(s3: &aws_sdk_s3::Client) -> String {
    let bucket = format!("artifacts-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await.expect("create bucket in moto");
    bucket
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, bytes: Vec<u8>) {
    s3.put_object().bucket(bucket).key(key).body(bytes.into()).send().await.expect("put object in moto");
}

/// A deflated zip of `(name, contents)` pairs.
pub fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(*name, options).expect("start zip entry");
        writer.write_all(bytes).expect("write zip entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

/// Artifact credentials as they appear in an event.
#[derive(Clone, Debug)]
pub struct ArtifactCreds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Default for ArtifactCreds {
    fn default() -> Self {
        Self {
            access_key_id: "ASIAARTIFACTSTORE001".into(),
            secret_access_key: "artifact-store-secret-key".into(),
            session_token: Some("artifact-store-session-token".into()),
        }
    }
}

/// Builds `CodePipeline.job` events.
#[derive(Clone, Debug)]
pub struct JobEvent {
    pub job_id: String,
    pub user_parameters: Option<String>,
    pub inputs: Vec<(String, String, String)>,
    pub outputs: Vec<(String, String, String)>,
    pub credentials: Option<ArtifactCreds>,
    pub encryption_key: Option<String>,
    pub continuation_token: Option<String>,
}

impl JobEvent {
    pub fn new(job_id: &str) -> Self {
        Self {
            job_id: job_id.into(),
            user_parameters: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            credentials: Some(ArtifactCreds::default()),
            encryption_key: None,
            continuation_token: None,
        }
    }

    pub fn user_parameters(mut self, value: &str) -> Self {
        self.user_parameters = Some(value.into());
        self
    }

    pub fn input(mut self, name: &str, bucket: &str, key: &str) -> Self {
        self.inputs.push((name.into(), bucket.into(), key.into()));
        self
    }

    pub fn output(mut self, name: &str, bucket: &str, key: &str) -> Self {
        self.outputs.push((name.into(), bucket.into(), key.into()));
        self
    }

    pub fn credentials(mut self, creds: ArtifactCreds) -> Self {
        self.credentials = Some(creds);
        self
    }

    pub fn encryption_key(mut self, key_id: &str) -> Self {
        self.encryption_key = Some(key_id.into());
        self
    }

    pub fn continuation_token(mut self, token: &str) -> Self {
        self.continuation_token = Some(token.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let artifact = |(name, bucket, key): &(String, String, String)| {
            json!({
                "name": name,
                "revision": null,
                "location": {"type": "S3", "s3Location": {"bucketName": bucket, "objectKey": key}}
            })
        };
        let mut configuration = json!({"FunctionName": "under-test"});
        if let Some(params) = &self.user_parameters {
            configuration["UserParameters"] = json!(params);
        }
        let mut data = json!({
            "actionConfiguration": {"configuration": configuration},
            "inputArtifacts": self.inputs.iter().map(artifact).collect::<Vec<_>>(),
            "outputArtifacts": self.outputs.iter().map(artifact).collect::<Vec<_>>(),
        });
        if let Some(creds) = &self.credentials {
            let expires = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() + 3_600_000;
            data["artifactCredentials"] = json!({
                "accessKeyId": creds.access_key_id,
                "secretAccessKey": creds.secret_access_key,
                "expirationTime": u64::try_from(expires).expect("fits"),
            });
            if let Some(token) = &creds.session_token {
                data["artifactCredentials"]["sessionToken"] = json!(token);
            }
        }
        if let Some(key) = &self.encryption_key {
            data["encryptionKey"] = json!({"id": key, "type": "KMS"});
        }
        if let Some(token) = &self.continuation_token {
            data["continuationToken"] = json!(token);
        }
        json!({"CodePipeline.job": {"id": self.job_id, "accountId": "123456789012", "data": data}})
    }
}

/// A Lambda invocation of `payload`. `deadline_in`: None = the bogus 1970 deadline `cargo lambda watch`
/// sends; Some(d) = a real deadline `d` from now.
pub fn invocation(payload: Value, deadline_in: Option<Duration>) -> lambda_runtime::LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = match deadline_in {
        Some(d) => {
            let at = SystemTime::now() + d;
            u64::try_from(at.duration_since(UNIX_EPOCH).expect("clock").as_millis()).expect("fits")
        }
        None => 1_000,
    };
    lambda_runtime::LambdaEvent::new(payload, context)
}
