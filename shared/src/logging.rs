//! `tracing` setup: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, text otherwise; level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default `info`).
//!
//! Whatever level is asked for, the HTTP, signing and runtime-client crates are capped at `warn`: at debug
//! and trace they print request headers and canonical requests, which carry session tokens. Nothing in
//! this workspace logs the raw event, the artifact credentials or a secret.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Crates that must never log below `warn` (they would print credentials or the event payload).
pub const CAPPED_TARGETS: &[&str] = &[
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_http",
    "aws_smithy_types",
    "aws_config",
    "aws_runtime",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "lambda_runtime",
    "lambda_runtime_api_client",
];

/// The filter for `requested` (an EnvFilter spec or a bare level), with the caps appended last so
/// they win over anything requested for the same targets.
pub fn filter(requested: Option<&str>) -> EnvFilter {
    let requested = requested.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("info").to_ascii_lowercase();
    let caps: Vec<String> = CAPPED_TARGETS.iter().map(|t| format!("{t}=warn")).collect();
    EnvFilter::builder().parse_lossy(format!("{requested},{}", caps.join(",")))
}

fn requested_level() -> Option<String> {
    std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().or_else(|| std::env::var("RUST_LOG").ok())
}

fn json_requested() -> bool {
    std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
}

/// Installs the global subscriber, writing to stdout (Lambda sends it to CloudWatch Logs).
/// A second call is a no-op.
pub fn init() {
    init_with_writer(json_requested(), requested_level().as_deref(), std::io::stdout);
}

/// Installs the global subscriber with an explicit writer (tests capture logs this way).
pub fn init_with_writer<W>(json: bool, level: Option<&str>, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter(level)).with_writer(writer).with_ansi(false);
    let result = if json {
        builder.json().with_current_span(true).with_span_list(false).finish().try_init()
    } else {
        builder.with_target(false).finish().try_init()
    };
    // Err only when a subscriber is already installed: keep that one.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_win_over_a_verbose_request() {
        let text = filter(Some("trace")).to_string();
        assert!(text.contains("aws_sigv4=warn"), "{text}");
        let text = filter(Some("aws_sigv4=trace,debug")).to_string();
        assert!(text.contains("aws_sigv4=warn"), "{text}");
        assert!(!text.contains("aws_sigv4=trace"), "{text}");
    }

    #[test]
    fn bare_levels_in_any_case() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(filter(Some("DEBUG")).max_level_hint(), Some(LevelFilter::DEBUG));
        assert_eq!(filter(Some(" ")).max_level_hint(), Some(LevelFilter::INFO));
        assert_eq!(filter(None).max_level_hint(), Some(LevelFilter::INFO));
    }
}
