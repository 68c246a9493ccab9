//! The functions under a real Lambda runtime emulator, `cargo lambda watch` (its Invoke and Runtime APIs),
//! fed with the sample events
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
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The three functions (package = binary = the name `cargo lambda watch` serves them under).
pub const FUNCTIONS: [&str; 3] = ["cfn-validator", "sg-validator", "db-deploy"];

/// The workspace root. Under cargo the runtime `CARGO_MANIFEST_DIR` (the checkout being tested): clones that
/// share one `CARGO_TARGET_DIR` (CI's) can leave a binary whose compile-time path is another checkout's.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().expect("tests/ is inside the workspace").to_path_buf()
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
    crate::moto::venv_bin("CARGO_LAMBDA_BIN", "cargo-lambda")
}

/// The target directory this executable was built in: `<dir>/debug/deps/<test>` or `<dir>/debug/<bin>`.
fn own_target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent()?;
    }
    Some(dir.to_path_buf())
}

/// A function's binary: in `FUNCTIONS_BIN_DIR`, else beside this executable (the same build: `cargo test
/// --workspace` builds the three binaries for their own CLI tests).
pub fn function_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("FUNCTIONS_BIN_DIR").map(PathBuf::from).or_else(own_target_dir);
    let path = dir.map(|d| d.join(name)).unwrap_or_else(|| PathBuf::from(name));
    assert!(
        path.is_file(),
        "no {name} binary at {} (build the workspace first: cargo build --workspace --all-targets)",
        path.display()
    );
    path
}

/// A running `cargo lambda watch`, stopped (with the functions it started) on drop or when this process
/// exits.
#[derive(Debug)]
pub struct LambdaWatch {
    /// The watcher shell and the process group of `cargo lambda watch`.
    process: Option<(std::process::Child, u32)>,
    port: u16,
    log: PathBuf,
    /// Keep the log file after the drop (it is removed otherwise, unless the thread is panicking).
    keep_log: bool,
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        if !self.keep_log && !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
        if let Some((mut watcher, group)) = self.process.take() {
            let _ = Command::new("kill").arg("--").arg(format!("-{group}")).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if watcher.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill").args(["-KILL", "--"]).arg(format!("-{group}")).status();
            let _ = watcher.kill();
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
    /// Starts `cargo lambda watch --only-lambda-apis` (the Lambda Invoke and Runtime APIs) on a free
    /// loopback port and each of [`FUNCTIONS`] against its Runtime API, as Lambda runs a `provided.al2023`
    /// bootstrap: the binaries this build produced ([`function_bin`]), with `env` on top of this process's
    /// environment. The emulator's and the functions' output go to one log file outside the workspace.
    ///
    /// The emulator is not left to build the functions itself: it runs `cargo run --bin <name>`, which
    /// resolves features for that package alone, so the same crates would be rebuilt with other features
    /// (aws-sdk-ec2 alone takes ten minutes) and overwrite the workspace build's artifacts, every run.
    pub fn start(env: &[(String, String)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("pipeline-gates-lambda-watch-{}-{port}.log", std::process::id()));
        let bins: Vec<PathBuf> = FUNCTIONS.iter().map(|f| function_bin(f)).collect();
        // The shell leads its own process group (the emulator and the functions are in it) and kills the
        // group when it ends: on drop, or when this process goes away (a panicked or killed test).
        let script = r#"
cargo_lambda=$1 port=$2 log=$3 parent=$4; shift 4
trap 'trap - EXIT TERM; kill 0 2>/dev/null' EXIT TERM
"$cargo_lambda" lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$port" >"$log" 2>&1 &
watch=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  kill -0 "$watch" 2>/dev/null || exit 1
  sleep 0.1
done
for bin in "$@"; do
  name=${bin##*/}
  AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt/$name" AWS_LAMBDA_FUNCTION_NAME="$name" \
    AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 "$bin" >>"$log" 2>&1 &
done
echo ready
while kill -0 "$parent" 2>/dev/null && kill -0 "$watch" 2>/dev/null; do sleep 0.5; done
"#;
        let bin = cargo_lambda_bin();
        let mut command = Command::new("bash");
        command
            .args(["-c", script, "lambda-watch"])
            .arg(&bin)
            .arg(port.to_string())
            .arg(&log)
            .arg(std::process::id().to_string())
            .args(&bins)
            .current_dir(workspace_root())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut watcher = command.spawn().unwrap_or_else(|e| panic!("cannot start bash to run cargo lambda: {e}"));
        let group = watcher.id();
        let stdout = watcher.stdout.take().expect("piped stdout");
        let mut watch = Self { process: Some((watcher, group)), port, log, keep_log: false };
        // "ready" once the emulator listens and the functions are started; nothing when it gave up.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = tx.send(line);
        });
        let ready = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let exited = watch.process.as_mut().is_some_and(|(w, _)| w.try_wait().ok().flatten().is_some());
        assert!(
            ready.trim() == "ready" && !exited,
            "cargo lambda watch exited or did not listen on 127.0.0.1:{port} within 60 s (binary: {}; install it \
             with ./scripts/test or `pip install cargo-lambda`, or set CARGO_LAMBDA_BIN). Its log:\n{}",
            bin.display(),
            watch.log_tail(40)
        );
        watch
    }

    /// The last `lines` lines of the log (the emulator's and the functions').
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Keeps the log file when this is dropped.
    pub fn keep_log(&mut self) {
        self.keep_log = true;
    }

    /// Invokes `function` with `payload` as the Lambda Invoke API does (synchronously) and returns its
    /// response, within `timeout`.
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
        if let Some(params) = configuration["UserParameters"].as_str()
            && params.trim_start().starts_with('{')
        {
            let mut object: serde_json::Map<String, Value> = serde_json::from_str(params)
                .unwrap_or_else(|e| panic!("{name}: UserParameters is not a JSON object: {e}"));
            {
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

    /// The physical id of a stack's resource in moto.
    pub async fn physical_id(&self, stack: &str, logical: &str) -> String {
        let detail = aws_sdk_cloudformation::Client::new(&self.aws)
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {logical} of {stack}: {e:?}"));
        detail
            .stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .unwrap_or_else(|| panic!("{logical} of {stack} has no physical id"))
            .to_string()
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
