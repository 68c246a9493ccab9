//! The moto server. The test script starts one for the whole run and exports `MOTO_ENDPOINT`; a test run
//! without it (plain `cargo test`) starts its own on a free port, which stops when the test process exits.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pinned moto version (the test script installs exactly this).
pub const MOTO_VERSION: &str = "5.2.5";

#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    /// For a private server: the watcher shell and the moto pid, stopped on drop.
    process: Option<(std::process::Child, u32)>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some((mut watcher, pid)) = self.process.take() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let _ = watcher.wait();
        }
    }
}

impl Moto {
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The shared moto server.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Moto { endpoint, process: None },
        _ => start_moto(&[]),
    })
}

/// The path of `moto_server`: `MOTO_SERVER_BIN`, the project venv, or PATH.
pub fn moto_server_bin() -> PathBuf {
    venv_bin("MOTO_SERVER_BIN", "moto_server")
}

/// A tool the test script installs into the project venv: the path in `override_var`, else
/// `~/.cache/pipeline-gates/venv/bin/<name>` when it exists, else `name` on PATH.
pub fn venv_bin(override_var: &str, name: &str) -> PathBuf {
    if let Some(bin) = std::env::var_os(override_var) {
        return bin.into();
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/pipeline-gates/venv/bin").join(name))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Starts a private moto server with extra environment (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`). It is
/// stopped by a watcher when this test process exits.
pub fn start_moto(env: &[(&str, &str)]) -> Moto {
    let port = free_port();
    let bin = moto_server_bin();
    let script = r#"
"$1" -H 127.0.0.1 -p "$2" >/dev/null 2>&1 &
child=$!
echo "$child"
trap 'kill $child 2>/dev/null' EXIT
while kill -0 "$3" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
"#;
    let mut command = Command::new("bash");
    command
        .args(["-c", script, "moto-watch"])
        .arg(&bin)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut watcher = command.spawn().unwrap_or_else(|e| panic!("cannot start bash to run moto: {e}"));
    let mut line = String::new();
    let stdout = watcher.stdout.take().expect("piped stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("moto pid");
    let pid: u32 = line.trim().parse().unwrap_or_else(|_| panic!("moto watcher printed {line:?}, not a pid"));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        let exited = watcher.try_wait().ok().flatten().is_some();
        assert!(
            !exited && started.elapsed() < Duration::from_secs(30),
            "moto did not start on {addr} (binary: {}). Run ./scripts/test, which installs \
             moto[server]=={MOTO_VERSION} into ~/.cache/pipeline-gates/venv, or set MOTO_SERVER_BIN.",
            bin.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { endpoint: format!("http://{addr}"), process: Some((watcher, pid)) }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}
