//! Reporting the job's one result to CodePipeline (PutJobSuccessResult / PutJobFailureResult).
//!
//! This is the only code that knows the API's limits; every text is fitted with an explicit marker
//! before it is sent, because the SDK validates none of them client-side.

use crate::continuation::TOKEN_MAX_CHARS;
use crate::outcome::{FailureKind, Outcome};
use crate::text::truncate;
use aws_sdk_codepipeline::error::SdkError;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultError;
use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultError;
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};
use std::collections::BTreeMap;

pub const SUMMARY_MAX_CHARS: usize = 2048;
pub const MESSAGE_MAX_CHARS: usize = 5000;
pub const EXTERNAL_ID_MAX_CHARS: usize = 1500;
/// All output variables together; measured here as their JSON encoding, which is never smaller than any
/// reasonable reading of the documented limit.
pub const VARIABLES_MAX_BYTES: usize = 122_880;

type HttpResponse = aws_smithy_runtime_api::http::Response;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("PutJobSuccessResult for job {job_id} failed")]
    Success {
        job_id: String,
        #[source]
        source: Box<SdkError<PutJobSuccessResultError, HttpResponse>>,
    },
    #[error("PutJobFailureResult for job {job_id} failed")]
    Failure {
        job_id: String,
        #[source]
        source: Box<SdkError<PutJobFailureResultError, HttpResponse>>,
    },
}

/// What became of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    /// CodePipeline accepted our result.
    Accepted,
    /// CodePipeline says the job is no longer in progress: an earlier delivery of the same job (Lambda
    /// retries asynchronous invocations) already reported. The job is done; nothing to do.
    AlreadyReported,
}

/// Sends results through a CodePipeline client (built once per container).
#[derive(Clone, Debug)]
pub struct Reporter {
    client: aws_sdk_codepipeline::Client,
}

impl Reporter {
    pub fn new(client: aws_sdk_codepipeline::Client) -> Self {
        Self { client }
    }

    /// Reports `outcome` for `job_id`. If CodePipeline refuses a success or progress report as invalid
    /// (which fitting should prevent), the job is failed with the reason instead, so it never hangs.
    pub async fn report(&self, job_id: &str, external_id: &str, outcome: Outcome) -> Result<Reported, ReportError> {
        let external_id = fit_non_empty(external_id, EXTERNAL_ID_MAX_CHARS, job_id);
        let (kind, message) = match outcome {
            Outcome::Failure(failure) => (failure.kind, failure.message),
            Outcome::Success(success) => {
                let variables = fit_variables(success.variables.into_map());
                let details = execution_details(&success.summary, &external_id, None);
                let request = self
                    .client
                    .put_job_success_result()
                    .job_id(job_id)
                    .execution_details(details)
                    .set_output_variables((!variables.is_empty()).then(|| variables.into_iter().collect()));
                match self.send_success(job_id, request).await? {
                    Some(reported) => return Ok(reported),
                    None => (
                        FailureKind::JobFailed,
                        "the action succeeded, but CodePipeline refused its result as invalid; see the function's log"
                            .to_string(),
                    ),
                }
            }
            Outcome::InProgress(progress) => {
                let len = progress.token.chars().count();
                if len == 0 || len > TOKEN_MAX_CHARS {
                    (
                        FailureKind::JobFailed,
                        format!(
                            "internal error: a continuation token of {len} characters cannot be reported (1-{TOKEN_MAX_CHARS})"
                        ),
                    )
                } else {
                    let details = execution_details(&progress.summary, &external_id, progress.percent_complete);
                    let request = self
                        .client
                        .put_job_success_result()
                        .job_id(job_id)
                        .continuation_token(progress.token)
                        .execution_details(details);
                    match self.send_success(job_id, request).await? {
                        Some(reported) => return Ok(reported),
                        None => (
                            FailureKind::JobFailed,
                            "the action reported progress, but CodePipeline refused it as invalid; see the function's log"
                                .to_string(),
                        ),
                    }
                }
            }
        };
        self.send_failure(job_id, &external_id, kind, &message).await
    }

    /// `Ok(None)` when CodePipeline refused the request as invalid (the caller then fails the job).
    async fn send_success(
        &self,
        job_id: &str,
        request: aws_sdk_codepipeline::operation::put_job_success_result::builders::PutJobSuccessResultFluentBuilder,
    ) -> Result<Option<Reported>, ReportError> {
        match request.send().await {
            Ok(_) => Ok(Some(Reported::Accepted)),
            Err(err) => match err.as_service_error() {
                Some(service) if service.is_invalid_job_state_exception() => {
                    tracing::info!(job_id, "the job was already reported (duplicate delivery); nothing to do");
                    Ok(Some(Reported::AlreadyReported))
                }
                Some(service)
                    if service.is_validation_exception() || service.is_output_variables_size_exceeded_exception() =>
                {
                    tracing::error!(job_id, error = %crate::error::error_chain(&err), "CodePipeline refused the success report; failing the job instead");
                    Ok(None)
                }
                _ => Err(ReportError::Success { job_id: job_id.into(), source: Box::new(err) }),
            },
        }
    }

    async fn send_failure(
        &self,
        job_id: &str,
        external_id: &str,
        kind: FailureKind,
        message: &str,
    ) -> Result<Reported, ReportError> {
        let details = FailureDetails::builder()
            .r#type(failure_type(kind))
            .message(fit_non_empty(message, MESSAGE_MAX_CHARS, "(no message)"))
            .external_execution_id(external_id)
            .build()
            .expect("type and message are always set");
        match self.client.put_job_failure_result().job_id(job_id).failure_details(details).send().await {
            Ok(_) => Ok(Reported::Accepted),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_invalid_job_state_exception()) => {
                tracing::info!(job_id, "the job was already reported (duplicate delivery); nothing to do");
                Ok(Reported::AlreadyReported)
            }
            Err(err) => Err(ReportError::Failure { job_id: job_id.into(), source: Box::new(err) }),
        }
    }
}

fn failure_type(kind: FailureKind) -> FailureType {
    match kind {
        FailureKind::JobFailed => FailureType::JobFailed,
        FailureKind::ConfigurationError => FailureType::ConfigurationError,
        FailureKind::PermissionError => FailureType::PermissionError,
        FailureKind::RevisionOutOfSync => FailureType::RevisionOutOfSync,
        FailureKind::RevisionUnavailable => FailureType::RevisionUnavailable,
        FailureKind::SystemUnavailable => FailureType::SystemUnavailable,
    }
}

fn execution_details(summary: &str, external_id: &str, percent: Option<u8>) -> ExecutionDetails {
    ExecutionDetails::builder()
        .summary(fit_non_empty(summary, SUMMARY_MAX_CHARS, "(no summary)"))
        .external_execution_id(external_id)
        .set_percent_complete(percent.map(|p| i32::from(p.min(100))))
        .build()
}

/// The API's strings are 1..=max characters.
fn fit_non_empty(text: &str, max: usize, fallback: &str) -> String {
    if text.trim().is_empty() { truncate(fallback, max) } else { truncate(text, max) }
}

const VALUE_MARKER: &str = "… [truncated to fit CodePipeline's output variable limit]";

/// Shrinks the longest values (with a marker) until the variables' JSON fits [`VARIABLES_MAX_BYTES`].
pub fn fit_variables(mut variables: BTreeMap<String, String>) -> BTreeMap<String, String> {
    loop {
        let size = serde_json::to_string(&variables).map(|s| s.len()).unwrap_or(usize::MAX);
        if size <= VARIABLES_MAX_BYTES {
            return variables;
        }
        let Some((key, longest)) = variables.iter().max_by_key(|(_, v)| v.len()).map(|(k, v)| (k.clone(), v.len()))
        else {
            return variables;
        };
        if longest <= VALUE_MARKER.len() {
            // Nothing left to shrink: the keys alone are too many. CodePipeline will refuse and the
            // reporter fails the job with the reason.
            tracing::error!(size, "output variables exceed the limit even with every value shortened");
            return variables;
        }
        let excess = size - VARIABLES_MAX_BYTES;
        // JSON escaping can make a value's encoding up to 6x its bytes; cut generously, then re-measure.
        let budget = longest.saturating_sub(excess + VALUE_MARKER.len()).min(longest - VALUE_MARKER.len());
        let value = variables.get_mut(&key).expect("key exists");
        let mut cut = 0;
        for (index, ch) in value.char_indices() {
            if index + ch.len_utf8() > budget {
                break;
            }
            cut = index + ch.len_utf8();
        }
        value.truncate(cut);
        value.push_str(VALUE_MARKER);
        tracing::warn!(variable = %key, "output variable shortened to fit CodePipeline's limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_fitted_with_a_marker() {
        let mut vars = BTreeMap::new();
        vars.insert("findings".to_string(), "f".repeat(200_000));
        vars.insert("riskLevel".to_string(), "FLAGGED".to_string());
        let fitted = fit_variables(vars);
        let size = serde_json::to_string(&fitted).expect("json").len();
        assert!(size <= VARIABLES_MAX_BYTES, "{size}");
        assert!(size > VARIABLES_MAX_BYTES - 200, "cut far more than needed: {size}");
        assert_eq!(fitted["riskLevel"], "FLAGGED");
        assert!(fitted["findings"].ends_with(VALUE_MARKER));
    }

    #[test]
    fn escaped_values_are_measured_as_sent() {
        let mut vars = BTreeMap::new();
        vars.insert("a".to_string(), "\"".repeat(100_000));
        let fitted = fit_variables(vars);
        assert!(serde_json::to_string(&fitted).expect("json").len() <= VARIABLES_MAX_BYTES);
    }

    #[test]
    fn small_variables_are_untouched() {
        let mut vars = BTreeMap::new();
        vars.insert("a".to_string(), "b".to_string());
        assert_eq!(fit_variables(vars.clone()), vars);
    }

    #[test]
    fn empty_texts_get_a_fallback() {
        assert_eq!(fit_non_empty("  ", 2048, "(no summary)"), "(no summary)");
        assert_eq!(fit_non_empty("ok", 2048, "(no summary)"), "ok");
    }
}
