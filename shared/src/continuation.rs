//! Typed continuation state, carried in CodePipeline's continuation token (at most 2048 characters).
//!
//! An action that cannot finish within one invocation reports [`Outcome::InProgress`] with its state;
//! CodePipeline invokes it again with `data.continuationToken`, and [`crate::JobContext::resume`] gives the
//! state back. The token is `{"v":1,"s":<state>}` so a format change is detected, never misread.

use crate::outcome::{InProgress, Outcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const TOKEN_MAX_CHARS: usize = 2048;
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ContinuationError {
    #[error("the continuation state is {len} characters once encoded; CodePipeline allows at most {TOKEN_MAX_CHARS}")]
    TooLong { len: usize },
    #[error("the continuation state could not be encoded")]
    Encode(#[source] serde_json::Error),
    #[error("the job's continuation token was not written by this action (or by an incompatible version of it)")]
    Foreign(#[source] serde_json::Error),
    #[error("the job's continuation token has format version {found}; this action reads version {VERSION}")]
    Version { found: u32 },
}

#[derive(Serialize, Deserialize)]
struct Envelope<S> {
    v: u32,
    s: S,
}

/// Encodes `state` as a token, refusing one that CodePipeline would reject.
pub fn encode<S: Serialize>(state: &S) -> Result<String, ContinuationError> {
    let token = serde_json::to_string(&Envelope { v: VERSION, s: state }).map_err(ContinuationError::Encode)?;
    let len = token.chars().count();
    if len > TOKEN_MAX_CHARS {
        return Err(ContinuationError::TooLong { len });
    }
    Ok(token)
}

/// Decodes a token written by [`encode`].
pub fn decode<S: DeserializeOwned>(token: &str) -> Result<S, ContinuationError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        v: u32,
    }
    let version: VersionOnly = serde_json::from_str(token).map_err(ContinuationError::Foreign)?;
    if version.v != VERSION {
        return Err(ContinuationError::Version { found: version.v });
    }
    let envelope: Envelope<S> = serde_json::from_str(token).map_err(ContinuationError::Foreign)?;
    Ok(envelope.s)
}

impl Outcome {
    /// "Still working": CodePipeline will invoke the action again with this state.
    /// Output variables cannot accompany a continuation token (API rule), so there are none here.
    pub fn in_progress<S: Serialize>(
        state: &S,
        summary: impl Into<String>,
        percent_complete: Option<u8>,
    ) -> Result<Self, ContinuationError> {
        Ok(Self::InProgress(InProgress {
            token: encode(state)?,
            summary: summary.into(),
            percent_complete: percent_complete.map(|p| p.min(100)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct State {
        next: usize,
        applied: Vec<String>,
    }

    #[test]
    fn round_trip() {
        let state = State { next: 3, applied: vec!["V1".into(), "V2".into()] };
        let token = encode(&state).expect("encode");
        assert_eq!(token, r#"{"v":1,"s":{"next":3,"applied":["V1","V2"]}}"#);
        assert_eq!(decode::<State>(&token).expect("decode"), state);
    }

    #[test]
    fn too_long_is_refused() {
        let state = State { next: 0, applied: vec!["x".repeat(2100)] };
        let err = encode(&state).expect_err("too long");
        assert!(matches!(err, ContinuationError::TooLong { len } if len > 2048));
        assert!(Outcome::in_progress(&state, "working", Some(50)).is_err());
    }

    #[test]
    fn foreign_and_future_tokens_are_refused() {
        assert!(matches!(decode::<State>("d-12345"), Err(ContinuationError::Foreign(_))));
        assert!(matches!(decode::<State>(r#"{"v":2,"s":{}}"#), Err(ContinuationError::Version { found: 2 })));
        assert!(matches!(decode::<State>(r#"{"v":1,"s":{"next":"x"}}"#), Err(ContinuationError::Foreign(_))));
    }
}
