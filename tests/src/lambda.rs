//! The functions under a real Lambda runtime emulator, `cargo lambda watch`, fed with the sample events
//! in events/ after [`EventRig::prepare`] has rewritten them to the local rig: the job id becomes a job
//! of the CodePipeline stand-in, the bucket a fresh moto bucket holding the event's artifact (zipped from
//! `events/artifacts/<last segment of the object key>/`), the stack and secret names unique ones that
//! exist in moto.
//!
//! Used by `tests/tests/lambda_runtime.rs` and by the demo (`scripts/demo`).

use crate::moto::free_port;
use crate::rig;
use crate::standin::CodePipelineStandIn;
use aws_config::SdkConfig;
use serde_json::{Value, json};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The three functions (package = binary = the name `cargo lambda watch` serves them under).
pub const FUNCTIONS: [&str; 3] = ["cfn-validator", "sg-validator", "db-deploy"];

/// The workspace root (where `cargo lambda watch` runs).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

pub fn events_dir() -> PathBuf {
    workspace_root().join("events")
}

/// The folder whose files make up the artifact at `object_key`: `events/artifacts/<last segment>/`.
pub fn artifact_dir(object_key: &str) -> PathBuf {
    let name = object_key.rsplit('/').next().unwrap_or(object_key);
    events_dir().join("artifacts").join(name)
}

/// Every file under `dir` as `(path relative to dir with '/', contents)`, sorted.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                out.push((relative, bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The `cargo-lambda` executable: `CARGO_LAMBDA_BIN`, the project venv, or PATH.
pub fn cargo_lambda_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_LAMBDA_BIN") {
        return bin.into();
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = PathBuf::from(home).join(".cache/pipeline-gates/venv/bin/cargo-lambda");
        if venv.exists() {
            return venv;
        }
    }
    PathBuf::from("cargo-lambda")
}

/// A running `cargo lambda watch`, stopped (with the functions it started) on drop or when this process
/// exits.
#[derive(Debug)]
pub struct LambdaWatch {
    /// The watcher shell and the process group of `cargo lambda watch`.
    process: Option<(std::process::Child, u32)>,
    port: u16,
    log: PathBuf,
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        if let Some((mut watcher, group)) = self.process.take() {
            let _ = Command::new("kill").arg("--").arg(format!("-{group}")).status();
            let _ = watcher.wait();
        }
    }
}

/// Why an invocation did not return the function's response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the emulator did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the emulator: {0}")]
    Http(#[source] std::io::Error),
    #[error("the emulator answered {status}: {body}")]
    Status { status: u16, body: String },
}

impl LambdaWatch {
    /// Starts `cargo lambda watch` at the workspace root on a free loopback port, with `env` for the
    /// functions (on top of this process's environment). Its log goes to a file outside the workspace (it
    /// watches the workspace and a log inside it would trigger rebuilds).
    pub fn start(env: &[(String, String)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("pipeline-gates-lambda-watch-{}-{port}.log", std::process::id()));
        // The shell puts cargo lambda watch in its own process group and kills the group when this process
        // ends, so no function outlives a test that panicked or was killed.
        let script = r#"
set -m
"$1" lambda watch --invoke-address 127.0.0.1 --invoke-port "$2" --ignore-changes >"$3" 2>&1 &
child=$!
echo "$child"
trap 'kill -- -$child 2>/dev/null' EXIT
while kill -0 "$4" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
"#;
        let bin = cargo_lambda_bin();
        let mut command = Command::new("bash");
        command
            .args(["-c", script, "lambda-watch"])
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .arg(std::process::id().to_string())
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut watcher = command.spawn().unwrap_or_else(|e| panic!("cannot start bash to run cargo lambda: {e}"));
        let mut line = String::new();
        let stdout = watcher.stdout.take().expect("piped stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("cargo lambda pid");
        let group: u32 = line.trim().parse().unwrap_or_else(|_| panic!("watcher printed {line:?}, not a pid"));
        let watch = Self { process: Some((watcher, group)), port, log };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo lambda watch did not listen on {addr} within 60 s (binary: {}; install it with \
                 ./scripts/test or `pip install cargo-lambda`, or set CARGO_LAMBDA_BIN). Its log:\n{}",
                bin.display(),
                watch.log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        watch
    }

    /// The last `lines` lines of the emulator's log (build output and the functions' logs).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Invokes `function` with `payload` as the Lambda Invoke API does (synchronously) and returns its
    /// response. The first invocation of a function builds it, hence the generous timeout.
    pub async fn invoke(&self, function: &str, payload: &Value, timeout: Duration) -> Result<Value, InvokeError> {
        let body = serde_json::to_vec(payload).expect("serialize payload");
        let path = format!("/2015-03-31/functions/{function}/invocations");
        let port = self.port;
        let exchange = async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(InvokeError::Http)?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| InvokeError::Http(std::io::Error::other(e)))?;
            tokio::spawn(connection);
            let request = hyper::Request::post(path)
                .header("host", format!("127.0.0.1:{port}"))
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                .expect("request");
            let response =
                sender.send_request(request).await.map_err(|e| InvokeError::Http(std::io::Error::other(e)))?;
            let status = response.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .map_err(|e| InvokeError::Http(std::io::Error::other(e)))?
                .to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status != 200 {
                return Err(InvokeError::Status { status, body: text });
            }
            Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| InvokeError::Timeout(timeout))?
    }
}

/// The environment the functions get under the emulator: every AWS endpoint at moto except CodePipeline
/// (the stand-in), the function role's test credentials, and the fallback budget for the emulator's
/// implausible deadline.
pub fn function_env(moto_endpoint: &str, standin_endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", moto_endpoint),
        ("AWS_ENDPOINT_URL_CODEPIPELINE", standin_endpoint),
        ("AWS_REGION", rig::REGION),
        ("AWS_DEFAULT_REGION", rig::REGION),
        ("AWS_ACCESS_KEY_ID", rig::FUNCTION_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", "function-role-secret"),
        ("ACTION_TIMEOUT_WITHOUT_DEADLINE_SECS", "120"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain(std::env::var("RUST_LOG").ok().map(|v| ("RUST_LOG".to_string(), v)))
    .collect()
}

/// What a prepared event refers to in the rig.
#[derive(Clone, Debug)]
pub struct PreparedEvent {
    /// The sample's file name without `.json`.
    pub name: String,
    /// The function it belongs to (the file name's prefix).
    pub function: &'static str,
    /// The rewritten event.
    pub payload: Value,
    /// The stand-in job it reports to.
    pub job_id: String,
    /// The stack it names (sg-validator), as created in moto.
    pub stack_name: Option<String>,
    /// The secret it names (db-deploy), as created in moto.
    pub secret_id: Option<String>,
}

/// The rig the sample events are rewritten to.
pub struct EventRig<'a> {
    pub aws: SdkConfig,
    pub standin: &'a CodePipelineStandIn,
    pub bucket: String,
    /// The database db-deploy events connect to: an RDS-format secret's JSON.
    pub database_secret: String,
    /// Makes stack and secret names unique per rig.
    suffix: String,
}

impl std::fmt::Debug for EventRig<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the database secret: it may hold a password.
        f.debug_struct("EventRig").field("bucket", &self.bucket).field("suffix", &self.suffix).finish_non_exhaustive()
    }
}

impl<'a> EventRig<'a> {
    /// A rig with a fresh bucket in moto.
    pub async fn new(aws: SdkConfig, standin: &'a CodePipelineStandIn, database_secret: String) -> Self {
        let bucket = rig::new_bucket(&rig::s3(&aws)).await;
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        Self { aws, standin, bucket, database_secret, suffix }
    }

    /// Reads `events/<name>.json` and sets up everything it refers to.
    pub async fn prepare(&self, name: &str) -> PreparedEvent {
        let path = events_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut payload: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let function = FUNCTIONS
            .into_iter()
            .find(|f| name.starts_with(&format!("{f}-")))
            .unwrap_or_else(|| panic!("{name} is not named after a function"));
        let job_id = self.standin.new_job();
        let job = &mut payload["CodePipeline.job"];
        job["id"] = json!(job_id);
        let data = &mut job["data"];

        let s3 = rig::s3(&self.aws);
        for input in data["inputArtifacts"].as_array_mut().into_iter().flatten() {
            let location = &mut input["location"]["s3Location"];
            let key = location["objectKey"].as_str().expect("objectKey").to_string();
            let files = files_under(&artifact_dir(&key));
            let entries: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            rig::put(&s3, &self.bucket, &key, rig::zip_bytes(&entries)).await;
            location["bucketName"] = json!(self.bucket);
        }
        for output in data["outputArtifacts"].as_array_mut().into_iter().flatten() {
            output["location"]["s3Location"]["bucketName"] = json!(self.bucket);
        }
        // Sample events carry credentials that expired long ago; a real job's last an hour or so.
        let expires = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() + 3_600_000;
        data["artifactCredentials"]["expirationTime"] = json!(u64::try_from(expires).expect("fits"));
        // The samples name the AWS managed key alias/aws/s3, which moto does not have; without a key the
        // output artifact is uploaded with the bucket's default encryption.
        if data.get("encryptionKey").is_some() {
            data.as_object_mut().expect("data").remove("encryptionKey");
        }

        let configuration = &mut data["actionConfiguration"]["configuration"];
        let mut stack_name = None;
        let mut secret_id = None;
        if let Some(params) = configuration["UserParameters"].as_str() {
            if let Ok(mut object) = serde_json::from_str::<serde_json::Map<String, Value>>(params) {
                if let Some(stack) = object.get("stackName").and_then(Value::as_str) {
                    // Keep the name's ending so that a deletable-stack pattern like *-test still matches.
                    let (head, tail) = stack.rsplit_once('-').unwrap_or((stack, ""));
                    let unique = if tail.is_empty() {
                        format!("{stack}-{}", self.suffix)
                    } else {
                        format!("{head}-{}-{tail}", self.suffix)
                    };
                    self.create_stack(&unique, &payload_artifact_template(&text)).await;
                    object.insert("stackName".into(), json!(unique));
                    stack_name = Some(unique);
                }
                if let Some(secret) = object.get("secretId").and_then(Value::as_str) {
                    let unique = format!("{secret}-{}", self.suffix);
                    self.create_secret(&unique).await;
                    object.insert("secretId".into(), json!(unique));
                    secret_id = Some(unique);
                }
                configuration["UserParameters"] = json!(Value::Object(object).to_string());
            }
        }
        PreparedEvent { name: name.to_string(), function, payload, job_id, stack_name, secret_id }
    }

    async fn create_stack(&self, name: &str, template: &str) {
        aws_sdk_cloudformation::Client::new(&self.aws)
            .create_stack()
            .stack_name(name)
            .template_body(template)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create stack {name} in moto: {e:?}"));
    }

    async fn create_secret(&self, name: &str) {
        let client = aws_sdk_secretsmanager::Client::new(&self.aws);
        if client.describe_secret().secret_id(name).send().await.is_ok() {
            client
                .put_secret_value()
                .secret_id(name)
                .secret_string(&self.database_secret)
                .send()
                .await
                .unwrap_or_else(|e| panic!("update secret {name} in moto: {e:?}"));
            return;
        }
        client
            .create_secret()
            .name(name)
            .secret_string(&self.database_secret)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create secret {name} in moto: {e:?}"));
    }

    /// The status of a stack in moto, `None` once it is gone.
    pub async fn stack_status(&self, name: &str) -> Option<String> {
        let stacks = aws_sdk_cloudformation::Client::new(&self.aws).describe_stacks().stack_name(name).send().await;
        stacks.ok()?.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string())
    }
}

/// The test stack's template: `templates/app.yaml` of the event's first input artifact, as the example
/// pipeline's CreateTestStack action uses it.
fn payload_artifact_template(event_text: &str) -> String {
    let event: Value = serde_json::from_str(event_text).expect("event JSON");
    let key = event["CodePipeline.job"]["data"]["inputArtifacts"][0]["location"]["s3Location"]["objectKey"]
        .as_str()
        .expect("an sg-validator event has an input artifact with the test stack's template")
        .to_string();
    let path = artifact_dir(&key).join("templates/app.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The RDS-format secret for a SQLite file (the local default).
pub fn sqlite_secret(path: &Path) -> String {
    json!({"engine": "sqlite", "dbname": path.to_string_lossy()}).to_string()
}
