//! What an action decides: success (optionally with output variables), in progress (with a continuation
//! token), or failure. Verdicts are data; errors are for things that went wrong.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// `failureDetails.type` of PutJobFailureResult.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum FailureKind {
    JobFailed,
    ConfigurationError,
    PermissionError,
    RevisionOutOfSync,
    RevisionUnavailable,
    SystemUnavailable,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobFailed => "JobFailed",
            Self::ConfigurationError => "ConfigurationError",
            Self::PermissionError => "PermissionError",
            Self::RevisionOutOfSync => "RevisionOutOfSync",
            Self::RevisionUnavailable => "RevisionUnavailable",
            Self::SystemUnavailable => "SystemUnavailable",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An output variable key that CodePipeline would refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("output variable key {key:?} is invalid: keys must match [A-Za-z0-9@\\-_]+")]
pub struct InvalidVariableKey {
    pub key: String,
}

/// Output variables, keys checked on insert. Ordered, so reports are deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputVariables(BTreeMap<String, String>);

impl OutputVariables {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> Result<(), InvalidVariableKey> {
        if !is_valid_variable_key(key) {
            return Err(InvalidVariableKey { key: key.into() });
        }
        self.0.insert(key.into(), value.into());
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

pub fn is_valid_variable_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'-' | b'_'))
}

#[derive(Clone, Debug, PartialEq)]
pub struct Success {
    pub summary: String,
    pub variables: OutputVariables,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InProgress {
    /// The serialised continuation state (see [`crate::continuation`]).
    pub token: String,
    pub summary: String,
    pub percent_complete: Option<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// The one result an invocation reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Success(Success),
    InProgress(InProgress),
    Failure(Failure),
}

impl Outcome {
    pub fn success(summary: impl Into<String>) -> Self {
        Self::Success(Success { summary: summary.into(), variables: OutputVariables::new() })
    }

    pub fn success_with(summary: impl Into<String>, variables: OutputVariables) -> Self {
        Self::Success(Success { summary: summary.into(), variables })
    }

    pub fn failure(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::Failure(Failure { kind, message: message.into() })
    }

    /// A short word for logs and the runtime response.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Success(_) => "success",
            Self::InProgress(_) => "in-progress",
            Self::Failure(_) => "failure",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_keys_follow_the_api_pattern() {
        let mut vars = OutputVariables::new();
        for key in ["riskLevel", "risk_score", "a-b", "user@x", "A9"] {
            vars.insert(key, "1").unwrap_or_else(|e| panic!("{e}"));
        }
        for key in ["", "risk level", "risk.level", "ключ", "a/b"] {
            assert_eq!(vars.insert(key, "1"), Err(InvalidVariableKey { key: key.into() }));
        }
    }
}
