//! `codepipeline-action`: everything the pipeline-gate functions share about being a CodePipeline
//! Invoke (Lambda) action. This crate is the only code that knows the CodePipeline wire contract
//! (event shape, result API and its limits); function crates depend on it, never the reverse.
//!
//! - [`event`]: the job event types (credentials redacted in `Debug`).
//! - [`params`]: UserParameters into a typed config.
//! - [`artifact`]: input artifacts (bounded, zip-slip-safe) and output artifacts (SSE-KMS).
//! - [`outcome`], [`report`], [`text`]: the one result per job, fitted to the API's limits.
//! - [`continuation`]: typed state across re-invocations.
//! - [`harness`]: parse, run under a deadline, catch panics, report exactly once.
//! - [`cli`]: the functions' command lines: clap parsing and exit statuses.
//! - [`logging`]: `tracing` setup that never prints credentials.

pub mod artifact;
pub mod cli;
pub mod continuation;
pub mod error;
pub mod event;
pub mod harness;
pub mod logging;
pub mod outcome;
pub mod params;
pub mod report;
pub mod text;

pub use error::ActionError;
pub use harness::{Action, Harness, JobContext, Settings};
pub use outcome::{FailureKind, Outcome, OutputVariables};
pub use params::{ActionConfig, ConfigError};

/// Runs `action` as a Lambda function: logging, SDK clients once per container, then serve invocations.
pub async fn run<A: Action>(action: A) -> Result<(), lambda_runtime::Error> {
    logging::init();
    Harness::from_env(action).await.serve().await
}

/// The `RuleId` enum of a rule set (cfn-validator's, db-deploy's): one line per rule,
/// `Variant => "kebab-case-id", module;`, where `module::META` is that rule's `RuleMeta` (a type the calling
/// module defines). Gives `ALL`, `as_str`, `parse` and `meta`.
#[macro_export]
macro_rules! rule_ids {
    ($($variant:ident => $id:literal, $module:ident;)*) => {
        /// Every built-in rule.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $($variant,)*
        }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)*
                }
            }

            pub fn parse(text: &str) -> Option<RuleId> {
                match text {
                    $($id => Some(RuleId::$variant),)*
                    _ => None,
                }
            }

            pub fn meta(self) -> &'static RuleMeta {
                match self {
                    $(RuleId::$variant => &$module::META,)*
                }
            }
        }
    };
}
