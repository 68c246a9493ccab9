//! The run harness every function uses: parse the event, run the action under a deadline guard, turn
//! errors and panics into a failure report, report exactly once, and tell the runtime it is done.

use crate::artifact::{ArtifactArchive, ArtifactError, ArtifactStore, OutputArchive, ZipLimits, select_artifact};
use crate::continuation::{ContinuationError, decode};
use crate::error::ActionError;
use crate::event::{Job, parse_event};
use crate::outcome::{FailureKind, Outcome};
use crate::params::{ActionConfig, ConfigError, parse_user_parameters};
use crate::report::{ReportError, Reported, Reporter};
use aws_config::{BehaviorVersion, SdkConfig};
use futures::FutureExt;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

/// One CodePipeline action: a typed config and a `run` that decides the outcome.
pub trait Action: Send + Sync + 'static {
    type Config: ActionConfig + Send;
    /// The function's name, for logs.
    const NAME: &'static str;

    fn run(
        &self,
        job: &JobContext<'_>,
        config: Self::Config,
    ) -> impl Future<Output = Result<Outcome, ActionError>> + Send;
}

/// Harness settings, from the environment with defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Time kept back from the Lambda deadline to report the result (`ACTION_DEADLINE_MARGIN_MS`, 3000).
    pub deadline_margin: Duration,
    /// The budget when the runtime gives no plausible deadline, as `cargo lambda watch` does
    /// (`ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS`, 900 = Lambda's maximum): the pipeline never hangs.
    pub budget_without_deadline: Duration,
    /// Path-style S3 addressing (`ARTIFACT_S3_FORCE_PATH_STYLE`; default on when a custom endpoint is set).
    pub s3_force_path_style: bool,
    pub zip_limits: ZipLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            deadline_margin: Duration::from_millis(3000),
            budget_without_deadline: Duration::from_secs(900),
            s3_force_path_style: false,
            zip_limits: ZipLimits::default(),
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(ms) = env_number("ACTION_DEADLINE_MARGIN_MS")? {
            settings.deadline_margin = Duration::from_millis(ms);
        }
        if let Some(secs) = env_number("ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS")? {
            settings.budget_without_deadline = Duration::from_secs(secs);
        }
        let custom_endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"].iter().any(|v| std::env::var_os(v).is_some());
        settings.s3_force_path_style = match std::env::var("ARTIFACT_S3_FORCE_PATH_STYLE") {
            Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::invalid(format!(
                        "environment variable ARTIFACT_S3_FORCE_PATH_STYLE={v:?} must be true or false"
                    )));
                }
            },
            Err(_) => custom_endpoint,
        };
        settings.zip_limits = ZipLimits::from_env()?;
        Ok(settings)
    }
}

fn env_number(name: &str) -> Result<Option<u64>, ConfigError> {
    match std::env::var(name) {
        Ok(text) => {
            text.trim().parse().map(Some).map_err(|_| {
                ConfigError::invalid(format!("environment variable {name}={text:?} is not a whole number"))
            })
        }
        Err(_) => Ok(None),
    }
}

/// The longest a real Lambda invocation can last, plus clock slack: a deadline further away is not real.
const MAX_PLAUSIBLE_REMAINING: Duration = Duration::from_secs(15 * 60 + 60);

/// How long the action may run, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub duration: Duration,
    /// The time kept back from the Lambda deadline; None when there was no plausible deadline.
    pub margin: Option<Duration>,
}

impl Budget {
    /// How the budget was set, for the failure message of an overrun.
    fn explain(&self) -> String {
        match self.margin {
            Some(margin) => format!("the Lambda deadline minus a {:.1} s reporting margin", margin.as_secs_f64()),
            None => "ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS; the runtime gave no usable deadline".to_string(),
        }
    }
}

/// The action's time budget: the Lambda deadline (epoch ms) minus the margin, or the fallback budget
/// when the deadline is implausible (in the past, like the 1970 one `cargo lambda watch` sends, or beyond
/// Lambda's 15-minute maximum). A margin larger than half the remaining time is cut to half.
pub fn time_budget(deadline_epoch_ms: u64, now: SystemTime, settings: &Settings) -> Budget {
    let fallback = Budget { duration: settings.budget_without_deadline, margin: None };
    let now_ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let deadline_ms = u128::from(deadline_epoch_ms);
    if deadline_ms <= now_ms {
        return fallback;
    }
    let remaining = Duration::from_millis(u64::try_from(deadline_ms - now_ms).unwrap_or(u64::MAX));
    if remaining > MAX_PLAUSIBLE_REMAINING {
        return fallback;
    }
    let margin = settings.deadline_margin.min(remaining / 2);
    Budget { duration: remaining - margin, margin: Some(margin) }
}

/// What an action sees of its job.
#[derive(Debug)]
pub struct JobContext<'h> {
    job: Job,
    request_id: String,
    deadline: tokio::time::Instant,
    aws: &'h SdkConfig,
    settings: &'h Settings,
}

impl<'h> JobContext<'h> {
    pub fn job(&self) -> &Job {
        &self.job
    }

    pub fn job_id(&self) -> &str {
        &self.job.id
    }

    /// The Lambda request id (also the result's externalExecutionId).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// When the action's budget ends (the harness cancels it then and reports a failure).
    pub fn deadline(&self) -> tokio::time::Instant {
        self.deadline
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(tokio::time::Instant::now())
    }

    /// The function's own AWS configuration (region, endpoints, retries), for the action's SDK clients.
    pub fn aws_config(&self) -> &SdkConfig {
        self.aws
    }

    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// S3 access with the job's artifact credentials.
    pub fn artifact_store(&self, artifact: &str) -> Result<ArtifactStore, ArtifactError> {
        let credentials = self
            .job
            .data
            .artifact_credentials
            .as_ref()
            .ok_or_else(|| ArtifactError::NoCredentials { artifact: artifact.into() })?;
        Ok(ArtifactStore::new(self.aws, credentials, self.settings.s3_force_path_style, self.settings.zip_limits))
    }

    /// Downloads and validates an input artifact (by name, or the first one).
    pub async fn open_input(&self, name: Option<&str>) -> Result<ArtifactArchive, ArtifactError> {
        let artifact = select_artifact(&self.job.data.input_artifacts, name, false)?;
        self.artifact_store(&artifact.name)?.open_input(artifact).await
    }

    pub fn has_output_artifact(&self) -> bool {
        !self.job.data.output_artifacts.is_empty()
    }

    /// Uploads `archive` as an output artifact (by name, or the first one), SSE-KMS with the job's key.
    pub async fn write_output(&self, name: Option<&str>, archive: OutputArchive) -> Result<(), ArtifactError> {
        let artifact = select_artifact(&self.job.data.output_artifacts, name, true)?;
        self.artifact_store(&artifact.name)?.put_output(artifact, archive, self.job.data.encryption_key.as_ref()).await
    }

    /// The state saved by an earlier invocation's [`Outcome::in_progress`], if this is a continuation.
    pub fn resume<S: DeserializeOwned>(&self) -> Result<Option<S>, ContinuationError> {
        self.job.data.continuation_token.as_deref().map(decode).transpose()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// No job to report to: returned to the runtime so the invocation shows as failed.
    #[error(transparent)]
    MalformedEvent(#[from] crate::event::MalformedEvent),
    /// Reporting failed after the SDK's retries: returned to the runtime, so Lambda retries the invocation.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Runs one action for every invocation.
#[derive(Debug)]
pub struct Harness<A> {
    action: A,
    reporter: Reporter,
    aws: SdkConfig,
    settings: Settings,
    /// A broken environment setting: every job is failed with it as a ConfigurationError.
    settings_error: Option<String>,
}

/// The SDK configuration every function uses: the default chain, standard retries (throttling included).
pub async fn load_aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}

impl<A: Action> Harness<A> {
    /// Clients from the default chain (so `AWS_ENDPOINT_URL*` apply), settings from the environment.
    pub async fn from_env(action: A) -> Self {
        let aws = load_aws_config().await;
        let reporter = Reporter::new(aws_sdk_codepipeline::Client::new(&aws));
        let (settings, settings_error) = match Settings::from_env() {
            Ok(settings) => (settings, None),
            Err(err) => (Settings::default(), Some(err.to_string())),
        };
        Self { action, reporter, aws, settings, settings_error }
    }

    pub fn new(action: A, aws: SdkConfig, reporter: Reporter, settings: Settings) -> Self {
        Self { action, reporter, aws, settings, settings_error: None }
    }

    /// Serves invocations until the runtime stops.
    pub async fn serve(self) -> Result<(), lambda_runtime::Error> {
        let harness = &self;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
            harness.handle(event).await.map_err(lambda_runtime::Error::from)
        }))
        .await
    }

    /// One invocation. `Ok` once a result is reported (or was already), so Lambda does not run the job
    /// again; `Err` only when there is no job or the report could not be delivered.
    pub async fn handle(&self, event: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, HarnessError> {
        let (payload, context) = event.into_parts();
        let job = match parse_event(payload) {
            Ok(event) => event.job,
            Err(err) => {
                tracing::error!(request_id = %context.request_id, error = %err, "invocation is not a CodePipeline job; nothing to report to");
                return Err(err.into());
            }
        };
        let span = tracing::info_span!("job", job_id = %job.id, function = A::NAME);
        // Boxed: the SDK futures nest deeply enough to overflow the compiler's layout query depth.
        Box::pin(self.handle_job(job, context).instrument(span)).await
    }

    async fn handle_job(&self, job: Job, context: lambda_runtime::Context) -> Result<serde_json::Value, HarnessError> {
        let plan = time_budget(context.deadline, SystemTime::now(), &self.settings);
        let budget = plan.duration;
        let job_id = job.id.clone();
        tracing::info!(
            request_id = %context.request_id,
            budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
            input_artifacts = job.data.input_artifacts.len(),
            output_artifacts = job.data.output_artifacts.len(),
            continuation = job.data.continuation_token.is_some(),
            "job started"
        );
        let job_context = JobContext {
            job,
            request_id: context.request_id.clone(),
            deadline: tokio::time::Instant::now() + budget,
            aws: &self.aws,
            settings: &self.settings,
        };
        let guarded = AssertUnwindSafe(Box::pin(self.execute(&job_context))).catch_unwind();
        let outcome = match tokio::time::timeout(budget, guarded).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => {
                let detail = panic_message(panic.as_ref());
                tracing::error!(panic = %detail, "the action panicked");
                Outcome::failure(
                    FailureKind::JobFailed,
                    format!(
                        "internal error: the {} action panicked ({detail}); this is a bug, please report it with job id {job_id}",
                        A::NAME
                    ),
                )
            }
            Err(_) => {
                tracing::error!(
                    budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                    "the action ran out of time"
                );
                Outcome::failure(
                    FailureKind::JobFailed,
                    format!(
                        "the {} action did not finish within its time budget of {:.1} s ({}) and was stopped; raise the function's timeout or split the work",
                        A::NAME,
                        budget.as_secs_f64(),
                        plan.explain(),
                    ),
                )
            }
        };
        let label = outcome.label();
        if let Outcome::Failure(failure) = &outcome {
            tracing::warn!(failure_type = %failure.kind, "reporting failure");
        }
        let reported = Box::pin(self.reporter.report(&job_id, &context.request_id, outcome)).await.inspect_err(
            |err| tracing::error!(error = %crate::error::error_chain(err), "could not report the job result"),
        )?;
        let status = match reported {
            Reported::Accepted => label,
            Reported::AlreadyReported => "already-reported",
        };
        tracing::info!(result = status, "job reported");
        Ok(serde_json::json!({ "jobId": job_id, "result": status }))
    }

    async fn execute(&self, job: &JobContext<'_>) -> Outcome {
        if let Some(problem) = &self.settings_error {
            return Outcome::failure(FailureKind::ConfigurationError, problem.clone());
        }
        let config = match parse_user_parameters::<A::Config>(job.job().user_parameters()) {
            Ok(config) => config,
            Err(err) => return Outcome::failure(FailureKind::ConfigurationError, err.to_string()),
        };
        match self.action.run(job, config).await {
            Ok(outcome) => outcome,
            Err(err) => {
                let message = err.report_message();
                tracing::warn!(error = %message, "the action failed");
                Outcome::failure(err.failure_kind(), message)
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-text panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn budget_is_deadline_minus_margin() {
        let settings = Settings::default();
        let now = 1_800_000_000_000;
        let budget = time_budget(now + 60_000, at(now), &settings);
        assert_eq!(budget, Budget { duration: Duration::from_millis(57_000), margin: Some(Duration::from_secs(3)) });
        assert_eq!(budget.explain(), "the Lambda deadline minus a 3.0 s reporting margin");
    }

    #[test]
    fn short_deadlines_keep_half_for_reporting() {
        let settings = Settings::default();
        let now = 1_800_000_000_000;
        let budget = time_budget(now + 4_000, at(now), &settings);
        assert_eq!(budget, Budget { duration: Duration::from_millis(2_000), margin: Some(Duration::from_secs(2)) });
    }

    #[test]
    fn implausible_deadlines_use_the_fallback() {
        let settings = Settings { budget_without_deadline: Duration::from_secs(42), ..Settings::default() };
        let now = 1_800_000_000_000;
        let fallback = Budget { duration: Duration::from_secs(42), margin: None };
        // cargo lambda watch: 1970.
        assert_eq!(time_budget(5_000, at(now), &settings), fallback);
        // Missing (0), already past, or more than Lambda's 15 minutes away.
        assert_eq!(time_budget(0, at(now), &settings), fallback);
        assert_eq!(time_budget(now - 1, at(now), &settings), fallback);
        assert_eq!(time_budget(now + 3_600_000, at(now), &settings), fallback);
        assert_eq!(fallback.explain(), "ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS; the runtime gave no usable deadline");
    }
}
