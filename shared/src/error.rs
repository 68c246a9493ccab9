//! The error an action returns when something went wrong (as opposed to a verdict, which is an
//! [`Outcome`](crate::Outcome)). The harness reports it as a failure of the right kind.

use crate::artifact::ArtifactError;
use crate::continuation::ContinuationError;
use crate::outcome::{FailureKind, InvalidVariableKey};
use crate::params::ConfigError;
use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Continuation(#[from] ContinuationError),
    #[error(transparent)]
    Variable(#[from] InvalidVariableKey),
    /// Anything else, with the failure type the action chooses and the error it comes from.
    #[error("{message}")]
    Other {
        kind: FailureKind,
        message: String,
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl ActionError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::Other { kind, message: message.into(), source: None }
    }

    pub fn with_source(
        kind: FailureKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Other { kind, message: message.into(), source: Some(Box::new(source)) }
    }

    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Self::Config(_) => FailureKind::ConfigurationError,
            Self::Artifact(err) => err.failure_kind(),
            Self::Continuation(_) | Self::Variable(_) => FailureKind::JobFailed,
            Self::Other { kind, .. } => *kind,
        }
    }

    /// The message for PutJobFailureResult: this error and its causes.
    pub fn report_message(&self) -> String {
        error_chain(self)
    }
}

/// `error: cause: cause ...`, skipping a cause whose text repeats the previous one.
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut last = out.clone();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && text != last && !last.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_includes_causes_once() {
        let io = std::io::Error::other("connection reset");
        let err = ActionError::with_source(FailureKind::SystemUnavailable, "reading the stack failed", io);
        assert_eq!(err.report_message(), "reading the stack failed: connection reset");
        assert_eq!(err.failure_kind(), FailureKind::SystemUnavailable);
        let cfg: ActionError = ConfigError::invalid("no template matched `*.yaml`").into();
        assert_eq!(cfg.failure_kind(), FailureKind::ConfigurationError);
        assert_eq!(cfg.report_message(), "no template matched `*.yaml`");
    }
}
