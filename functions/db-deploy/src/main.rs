//! `db-deploy` as a CodePipeline Invoke (Lambda) action.
//!
//! Until its issue (#5) lands, the action refuses every job with a ConfigurationError, so a pipeline
//! that wires it in too early fails loudly instead of passing.

use codepipeline_action::{Action, ActionError, ConfigError, FailureKind, JobContext, Outcome};

struct DbDeploy;

/// Accepts any UserParameters: there is nothing to configure yet.
struct AnyParameters;

impl<'de> serde::Deserialize<'de> for AnyParameters {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| AnyParameters)
    }
}

impl codepipeline_action::ActionConfig for AnyParameters {
    fn from_absent() -> Result<Self, ConfigError> {
        Ok(AnyParameters)
    }
    fn from_text(_: &str) -> Result<Self, ConfigError> {
        Ok(AnyParameters)
    }
}

impl Action for DbDeploy {
    type Config = AnyParameters;
    const NAME: &'static str = "db-deploy";

    async fn run(&self, _job: &JobContext<'_>, _config: AnyParameters) -> Result<Outcome, ActionError> {
        Ok(Outcome::failure(
            FailureKind::ConfigurationError,
            "db-deploy is not implemented yet; do not use it in a pipeline until its release",
        ))
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    codepipeline_action::run(DbDeploy).await
}
