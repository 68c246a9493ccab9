//! Our own serde types for the `CodePipeline.job` event that CodePipeline sends to an Invoke (Lambda) action.
//!
//! Why not `aws_lambda_events`: its CodePipeline types drop `encryptionKey`, require fields that can be
//! absent, and derive a `Debug` that prints the artifact credentials. Here every secret is a [`Redacted`]
//! value whose `Debug` never shows it, and everything CodePipeline may omit is optional.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The whole Lambda payload: `{"CodePipeline.job": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodePipelineEvent {
    #[serde(rename = "CodePipeline.job")]
    pub job: Job,
}

/// One job of one action execution. `id` is what PutJobSuccessResult / PutJobFailureResult take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub data: JobData,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobData {
    #[serde(default)]
    pub action_configuration: ActionConfiguration,
    #[serde(default)]
    pub input_artifacts: Vec<Artifact>,
    #[serde(default)]
    pub output_artifacts: Vec<Artifact>,
    /// Temporary credentials scoped to the pipeline's artifact store. Artifacts are read and written
    /// with these, never with the function's own role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_credentials: Option<ArtifactCredentials>,
    /// Present when CodePipeline re-invokes an action that reported progress with a continuation token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// The artifact store's KMS key; output artifacts are encrypted with it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionConfiguration {
    #[serde(default)]
    pub configuration: Configuration,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    #[serde(rename = "FunctionName", default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    #[serde(rename = "UserParameters", default, skip_serializing_if = "Option::is_none")]
    pub user_parameters: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub name: String,
    /// The source revision; CodePipeline sends `null` for most artifacts.
    #[serde(default)]
    pub revision: Option<String>,
    pub location: ArtifactLocation,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub location_type: Option<String>,
    pub s3_location: S3Location,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Location {
    pub bucket_name: String,
    pub object_key: String,
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket_name, self.object_key)
    }
}

/// The artifact store credentials. `Debug` shows none of the three secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactCredentials {
    pub access_key_id: Redacted,
    pub secret_access_key: Redacted,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Redacted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<Timestamp>,
}

/// `expirationTime`: epoch milliseconds as CodePipeline sends it, or a textual timestamp.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    EpochMillis(i64),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionKey {
    pub id: String,
    /// `KMS` is the only type CodePipeline documents.
    #[serde(rename = "type")]
    pub key_type: String,
}

impl EncryptionKey {
    pub fn is_kms(&self) -> bool {
        self.key_type.eq_ignore_ascii_case("KMS")
    }
}

/// A string that must never reach a log: `Debug` prints `<redacted>`, there is no `Display`.
/// Serialisation is transparent so events round-trip.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; only for handing to an SDK credentials provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Job {
    pub fn user_parameters(&self) -> Option<&str> {
        self.data.action_configuration.configuration.user_parameters.as_deref()
    }
}

/// Why a payload is not a CodePipeline job event. Carries only the JSON path of the problem, never the
/// payload's contents (the payload holds credentials, and serde's messages may quote values).
#[derive(Debug, thiserror::Error)]
#[error("the payload is not a CodePipeline job event (problem at `{path}`: {category})")]
pub struct MalformedEvent {
    pub path: String,
    pub category: &'static str,
}

/// Parses a Lambda payload into a job event without ever quoting the payload in an error.
pub fn parse_event(payload: serde_json::Value) -> Result<CodePipelineEvent, MalformedEvent> {
    serde_path_to_error::deserialize(payload).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let text = inner.to_string();
        // Classify from serde's message without keeping the message itself (it may quote a value).
        let category = if text.starts_with("missing field") {
            "a required field is missing"
        } else if text.starts_with("invalid type") {
            "a field has the wrong type"
        } else if text.starts_with("unknown variant") {
            "a field has an unexpected value"
        } else {
            "the structure does not match"
        };
        MalformedEvent { path, category }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn fixtures_round_trip_exactly() {
        for name in ["aws-doc-example.json", "minimal.json", "full-with-continuation.json"] {
            let original = fixture(name);
            let parsed: CodePipelineEvent =
                serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = serde_json::to_value(&parsed).expect("serialise");
            assert_eq!(back, original, "{name} does not round-trip");
        }
    }

    #[test]
    fn full_fixture_fields_are_read() {
        let event: CodePipelineEvent = serde_json::from_value(fixture("full-with-continuation.json")).expect("parse");
        let job = &event.job;
        assert_eq!(job.id, "0f6c1c3e-7f1a-4a5e-9a43-2b7d3e0b9c11");
        assert_eq!(job.account_id.as_deref(), Some("123456789012"));
        assert_eq!(job.user_parameters(), Some(r#"{"stackName":"app-test"}"#));
        assert_eq!(job.data.input_artifacts.len(), 2);
        assert_eq!(job.data.input_artifacts[1].name, "Templates");
        assert_eq!(job.data.input_artifacts[1].revision.as_deref(), Some("a1b2c3d4e5f6"));
        assert_eq!(
            job.data.output_artifacts[0].location.s3_location.to_string(),
            "s3://codepipeline-us-east-1-123456789012/app/Report/out.zip"
        );
        let key = job.data.encryption_key.as_ref().expect("key");
        assert!(key.is_kms());
        assert_eq!(job.data.continuation_token.as_deref(), Some(r#"{"v":1,"s":{"step":2}}"#));
        let creds = job.data.artifact_credentials.as_ref().expect("creds");
        assert_eq!(creds.expiration_time, Some(Timestamp::EpochMillis(1_795_000_000_000)));
    }

    #[test]
    fn minimal_event_has_no_optional_parts() {
        let event: CodePipelineEvent = serde_json::from_value(fixture("minimal.json")).expect("parse");
        assert!(event.job.account_id.is_none());
        assert!(event.job.user_parameters().is_none());
        assert!(event.job.data.artifact_credentials.is_none());
        assert!(event.job.data.encryption_key.is_none());
    }

    #[test]
    fn debug_never_prints_credentials() {
        let event: CodePipelineEvent = serde_json::from_value(fixture("full-with-continuation.json")).expect("parse");
        let creds = event.job.data.artifact_credentials.as_ref().expect("creds");
        let debug = format!("{event:?} {event:#?}");
        for secret in [
            creds.access_key_id.expose(),
            creds.secret_access_key.expose(),
            creds.session_token.as_ref().expect("token").expose(),
        ] {
            assert!(!debug.contains(secret), "Debug leaks {secret}");
        }
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn malformed_event_error_names_path_not_content() {
        let payload = serde_json::json!({
            "CodePipeline.job": {"id": "x", "data": {"artifactCredentials": {"accessKeyId": "AKIASECRETVALUE", "secretAccessKey": 17}}}
        });
        let err = parse_event(payload).expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("CodePipeline.job.data.artifactCredentials.secretAccessKey"), "{text}");
        assert!(!text.contains("AKIASECRETVALUE"), "{text}");
        assert!(!text.contains("17"), "{text}");

        let err = parse_event(serde_json::json!({"Records": [{"body": "hunter2"}]})).expect_err("not a job");
        assert!(!err.to_string().contains("hunter2"));
        assert_eq!(err.category, "a required field is missing");
    }
}
