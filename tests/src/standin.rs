//! A stand-in for CodePipeline's job API: no emulator implements PutJobSuccessResult /
//! PutJobFailureResult (moto answers NotImplemented), so this one speaks the real wire protocol
//! (AWS JSON 1.1, `X-Amz-Target: CodePipeline_20150709.<Operation>`), enforces the documented
//! constraints, answers with the real error shapes, refuses a second result for a job, and records
//! everything for assertions.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

const TARGET_PREFIX: &str = "CodePipeline_20150709.";
const FAILURE_TYPES: &[&str] = &[
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
];

/// One accepted result.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedResult {
    pub job_id: String,
    pub outcome: RecordedOutcome,
    /// The access key that signed the request (from the SigV4 `Authorization` header).
    pub access_key_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecordedOutcome {
    Success {
        summary: Option<String>,
        external_execution_id: Option<String>,
        percent_complete: Option<i64>,
        output_variables: BTreeMap<String, String>,
        continuation_token: Option<String>,
    },
    Failure {
        failure_type: String,
        message: String,
        external_execution_id: Option<String>,
    },
}

impl RecordedResult {
    /// `(type, message)` of a failure; panics with the recorded result otherwise.
    pub fn failure(&self) -> (&str, &str) {
        match &self.outcome {
            RecordedOutcome::Failure { failure_type, message, .. } => (failure_type, message),
            other => panic!("expected a failure for job {}, got {other:?}", self.job_id),
        }
    }

    /// `(summary, variables)` of a success; panics otherwise.
    pub fn success(&self) -> (&str, &BTreeMap<String, String>) {
        match &self.outcome {
            RecordedOutcome::Success { summary, output_variables, .. } => {
                (summary.as_deref().unwrap_or(""), output_variables)
            }
            other => panic!("expected a success for job {}, got {other:?}", self.job_id),
        }
    }
}

/// A request the stand-in refused, with the error it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub job_id: Option<String>,
    pub error_type: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JobStatus {
    InProgress,
    Done,
}

#[derive(Debug, Default)]
struct Ledger {
    jobs: HashMap<String, JobStatus>,
    results: Vec<RecordedResult>,
    rejections: Vec<Rejection>,
    /// The next N requests are answered with ThrottlingException.
    throttle: u32,
}

/// The running stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct CodePipelineStandIn {
    endpoint: String,
    ledger: Arc<Mutex<Ledger>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CodePipelineStandIn {
    /// Starts on a free loopback port, on its own thread and runtime (so it outlives any test runtime).
    pub fn start() -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().route("/", post(handle)).with_state(ledger.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("stand-in server");
            });
        });
        Self { endpoint, ledger, shutdown: Some(tx), thread: Some(thread) }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new job waiting for its result, as CodePipeline creates one per action execution.
    pub fn new_job(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.ledger().jobs.insert(id.clone(), JobStatus::InProgress);
        id
    }

    /// After a success with a continuation token, CodePipeline creates a new job for the same action
    /// carrying the token. Returns `(new job id, token)`, or None if `job_id` did not continue.
    pub fn continuation_of(&self, job_id: &str) -> Option<(String, String)> {
        let token = self.results_for(job_id).into_iter().find_map(|r| match r.outcome {
            RecordedOutcome::Success { continuation_token: Some(token), .. } => Some(token),
            _ => None,
        })?;
        Some((self.new_job(), token))
    }

    /// Answers the next `count` requests with `ThrottlingException`, as CodePipeline does under load.
    pub fn throttle_next(&self, count: u32) {
        self.ledger().throttle = count;
    }

    /// Every accepted result, in order.
    pub fn results(&self) -> Vec<RecordedResult> {
        self.ledger().results.clone()
    }

    pub fn results_for(&self, job_id: &str) -> Vec<RecordedResult> {
        self.ledger().results.iter().filter(|r| r.job_id == job_id).cloned().collect()
    }

    /// The one result of `job_id`; panics (with what was recorded) unless there is exactly one.
    pub fn only_result(&self, job_id: &str) -> RecordedResult {
        let results = self.results_for(job_id);
        assert_eq!(results.len(), 1, "job {job_id} must have exactly one result, has {results:#?}");
        results.into_iter().next().expect("one result")
    }

    pub fn rejections(&self) -> Vec<Rejection> {
        self.ledger().rejections.clone()
    }
}

impl Drop for CodePipelineStandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An AWS JSON 1.1 error.
struct ApiError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

impl ApiError {
    fn validation(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error_type: "ValidationException", message: message.into() }
    }
    fn of(error_type: &'static str, message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error_type, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.error_type, "message": self.message }).to_string();
        (
            self.status,
            [
                (header::CONTENT_TYPE, "application/x-amz-json-1.1"),
                (header::HeaderName::from_static("x-amzn-errortype"), self.error_type),
            ],
            body,
        )
            .into_response()
    }
}

async fn handle(State(ledger): State<Arc<Mutex<Ledger>>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut job_id = None;
    let throttled = {
        let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
        let throttled = ledger.throttle > 0;
        ledger.throttle = ledger.throttle.saturating_sub(1);
        throttled
    };
    let result = if throttled {
        Err(ApiError::of("ThrottlingException", "Rate exceeded"))
    } else {
        process(&ledger, &headers, &body, &mut job_id)
    };
    let mut ledger = ledger.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(recorded) => {
            ledger.jobs.insert(recorded.job_id.clone(), JobStatus::Done);
            ledger.results.push(recorded);
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-amz-json-1.1")], "{}").into_response()
        }
        Err(err) => {
            ledger.rejections.push(Rejection {
                job_id,
                error_type: err.error_type.to_string(),
                message: err.message.clone(),
            });
            err.into_response()
        }
    }
}

fn process(
    ledger: &Mutex<Ledger>,
    headers: &HeaderMap,
    body: &[u8],
    job_id_out: &mut Option<String>,
) -> Result<RecordedResult, ApiError> {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target
        .strip_prefix(TARGET_PREFIX)
        .ok_or_else(|| ApiError::of("UnknownOperationException", format!("unknown target {target:?}")))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/x-amz-json-1.1") {
        return Err(ApiError::of("SerializationException", format!("unexpected content type {content_type:?}")));
    }
    let request: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::of("SerializationException", format!("body is not a JSON object: {e}")))?;
    let access_key_id = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|rest| rest.split('/').next())
        .map(str::to_string);

    let job_id = required_string(&request, "jobId")?;
    *job_id_out = Some(job_id.clone());
    if !is_job_id(&job_id) {
        return Err(ApiError::validation(constraint(
            &job_id,
            "jobId",
            "Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        )));
    }

    let outcome = match operation {
        "PutJobSuccessResult" => validate_success(&request)?,
        "PutJobFailureResult" => validate_failure(&request)?,
        other => {
            return Err(ApiError::of("UnknownOperationException", format!("operation {other} is not served")));
        }
    };

    // Job state last, as CodePipeline validates the request before looking the job up.
    let status = ledger.lock().unwrap_or_else(|p| p.into_inner()).jobs.get(&job_id).copied();
    match status {
        None => Err(ApiError::of(
            "JobNotFoundException",
            format!("The job was specified in an invalid format or cannot be found. Job id: {job_id}"),
        )),
        Some(JobStatus::Done) => Err(ApiError::of(
            "InvalidJobStateException",
            format!("The job state was specified in an invalid format. Job {job_id} is not in progress"),
        )),
        Some(JobStatus::InProgress) => Ok(RecordedResult { job_id, outcome, access_key_id }),
    }
}

fn is_job_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn constraint(value: &str, field: &str, rule: &str) -> String {
    let shown: String = value.chars().take(64).collect();
    format!("1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: {rule}")
}

fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ApiError::of("SerializationException", format!("{field} must be a string"))),
        None => Err(ApiError::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))),
    }
}

fn optional_string(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_string(object, field).map(Some),
    }
}

fn check_length(value: &str, field: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < min {
        return Err(ApiError::validation(constraint(
            value,
            field,
            &format!("Member must have length greater than or equal to {min}"),
        )));
    }
    if len > max {
        return Err(ApiError::validation(constraint(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        )));
    }
    Ok(())
}

fn validate_success(request: &Map<String, Value>) -> Result<RecordedOutcome, ApiError> {
    let continuation_token = optional_string(request, "continuationToken")?;
    if let Some(token) = &continuation_token {
        check_length(token, "continuationToken", 1, 2048)?;
    }
    let mut summary = None;
    let mut external_execution_id = None;
    let mut percent_complete = None;
    if let Some(details) = request.get("executionDetails") {
        let details = details
            .as_object()
            .ok_or_else(|| ApiError::of("SerializationException", "executionDetails must be an object"))?;
        summary = optional_string(details, "summary")?;
        if let Some(s) = &summary {
            check_length(s, "executionDetails.summary", 1, 2048)?;
        }
        external_execution_id = optional_string(details, "externalExecutionId")?;
        if let Some(id) = &external_execution_id {
            check_length(id, "executionDetails.externalExecutionId", 1, 1500)?;
        }
        if let Some(value) = details.get("percentComplete") {
            let percent = value
                .as_i64()
                .ok_or_else(|| ApiError::of("SerializationException", "percentComplete must be an integer"))?;
            if !(0..=100).contains(&percent) {
                return Err(ApiError::validation(constraint(
                    &percent.to_string(),
                    "executionDetails.percentComplete",
                    "Member must have value between 0 and 100",
                )));
            }
            percent_complete = Some(percent);
        }
    }
    if let Some(revision) = request.get("currentRevision") {
        let revision = revision
            .as_object()
            .ok_or_else(|| ApiError::of("SerializationException", "currentRevision must be an object"))?;
        check_length(&required_string(revision, "revision")?, "currentRevision.revision", 1, 1500)?;
        check_length(&required_string(revision, "changeIdentifier")?, "currentRevision.changeIdentifier", 1, 100)?;
    }
    let mut output_variables = BTreeMap::new();
    if let Some(variables) = request.get("outputVariables") {
        let variables = variables
            .as_object()
            .ok_or_else(|| ApiError::of("SerializationException", "outputVariables must be an object"))?;
        if continuation_token.is_some() && !variables.is_empty() {
            return Err(ApiError::validation(
                "outputVariables can be included only when there is no continuation token on the request",
            ));
        }
        let mut total = 0usize;
        for (key, value) in variables {
            let valid =
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'_'));
            if !valid {
                return Err(ApiError::validation(constraint(
                    key,
                    "outputVariables",
                    "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z0-9@\\-_]+]",
                )));
            }
            let value = value
                .as_str()
                .ok_or_else(|| ApiError::of("SerializationException", "output variable values must be strings"))?;
            total += key.len() + value.len();
            output_variables.insert(key.clone(), value.to_string());
        }
        if total > 122_880 {
            return Err(ApiError::of(
                "OutputVariablesSizeExceededException",
                format!("Exceeded the total size limit for all variables in the pipeline: {total} bytes > 122880"),
            ));
        }
    }
    Ok(RecordedOutcome::Success {
        summary,
        external_execution_id,
        percent_complete,
        output_variables,
        continuation_token,
    })
}

fn validate_failure(request: &Map<String, Value>) -> Result<RecordedOutcome, ApiError> {
    let details = request
        .get("failureDetails")
        .ok_or_else(|| ApiError::validation("1 validation error detected: Value null at 'failureDetails' failed to satisfy constraint: Member must not be null"))?
        .as_object()
        .ok_or_else(|| ApiError::of("SerializationException", "failureDetails must be an object"))?;
    let failure_type = required_string(details, "type")?;
    if !FAILURE_TYPES.contains(&failure_type.as_str()) {
        return Err(ApiError::validation(constraint(
            &failure_type,
            "failureDetails.type",
            &format!("Member must satisfy enum value set: [{}]", FAILURE_TYPES.join(", ")),
        )));
    }
    let message = required_string(details, "message")?;
    check_length(&message, "failureDetails.message", 1, 5000)?;
    let external_execution_id = optional_string(details, "externalExecutionId")?;
    if let Some(id) = &external_execution_id {
        check_length(id, "failureDetails.externalExecutionId", 1, 1500)?;
    }
    Ok(RecordedOutcome::Failure { failure_type, message, external_execution_id })
}
