//! Captured `tracing` output. A test binary that checks logs installs the global subscriber once,
//! through the same `codepipeline_action::logging` setup the functions use.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per process) the functions' logging setup at `level`, JSON or text, into a buffer.
pub fn capture(json: bool, level: &str) -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            codepipeline_action::logging::init_with_writer(json, Some(level), move || writer.clone());
            captured
        })
        .clone()
}
