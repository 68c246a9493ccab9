//! The test action shared by the harness tests: its UserParameters choose what it does, so every path of
//! the harness (artifacts, errors, panics, overruns, limits, continuation) runs through the real wire.
#![allow(dead_code)]

use codepipeline_action::artifact::OutputArchive;
use codepipeline_action::{
    Action, ActionConfig, ActionError, ConfigError, FailureKind, Harness, JobContext, Outcome, OutputVariables,
    Settings,
};
use serde::{Deserialize, Serialize};
use test_support::rig;
use test_support::standin::CodePipelineStandIn;

#[derive(Debug, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Behave {
    Succeed,
    ReadArtifact,
    WriteOutput,
    Error,
    Panic,
    Hang,
    LongTexts,
    HugeVariables,
    Continue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Plan {
    pub behave: Behave,
    #[serde(default)]
    pub artifact: Option<String>,
    #[serde(default)]
    pub entry: Option<String>,
    #[serde(skip)]
    pub text: Option<String>,
}

impl ActionConfig for Plan {
    fn from_absent() -> Result<Self, ConfigError> {
        Ok(Plan { behave: Behave::Succeed, artifact: None, entry: None, text: None })
    }
    fn from_text(text: &str) -> Result<Self, ConfigError> {
        Ok(Plan { behave: Behave::Succeed, artifact: None, entry: None, text: Some(text.into()) })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Step {
    step: u32,
}

#[derive(Debug)]
pub struct TestAction;

impl Action for TestAction {
    type Config = Plan;
    const NAME: &'static str = "test-action";

    async fn run(&self, job: &JobContext<'_>, plan: Plan) -> Result<Outcome, ActionError> {
        match plan.behave {
            Behave::Succeed => Ok(Outcome::success(match plan.text {
                Some(text) => format!("text parameter: {text}"),
                None => "no parameters".to_string(),
            })),
            Behave::ReadArtifact | Behave::WriteOutput => {
                let mut archive = job.open_input(plan.artifact.as_deref()).await?;
                let entry = plan.entry.as_deref().unwrap_or("templates/app.yaml");
                let text = archive.read_to_string(entry)?;
                let mut vars = OutputVariables::new();
                vars.insert("bytes", text.len().to_string())?;
                vars.insert("artifact", archive.artifact_name())?;
                if plan.behave == Behave::WriteOutput {
                    let mut out = OutputArchive::new()
                        .map_err(|e| ActionError::with_source(FailureKind::JobFailed, "temp file", e))?;
                    out.add(entry, text.as_bytes())
                        .map_err(|e| ActionError::with_source(FailureKind::JobFailed, "zip", e))?;
                    out.add("report.json", br#"{"ok":true}"#)
                        .map_err(|e| ActionError::with_source(FailureKind::JobFailed, "zip", e))?;
                    job.write_output(None, out).await?;
                }
                Ok(Outcome::success_with(format!("read {entry}: {text}"), vars))
            }
            Behave::Error => Err(ActionError::new(
                FailureKind::PermissionError,
                "ec2:DescribeSecurityGroups was denied for the function's role",
            )),
            Behave::Panic => panic!("boom: index out of range"),
            Behave::Hang => {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                Ok(Outcome::success("woke up"))
            }
            Behave::LongTexts => Ok(Outcome::failure(FailureKind::JobFailed, "m".repeat(10_000))),
            Behave::HugeVariables => {
                let mut vars = OutputVariables::new();
                vars.insert("findings", "x".repeat(200_000))?;
                vars.insert("riskLevel", "FLAGGED")?;
                Ok(Outcome::success_with("s".repeat(3_000), vars))
            }
            Behave::Continue => match job.resume::<Step>()? {
                None => Ok(Outcome::in_progress(&Step { step: 1 }, "step 1 of 2 done", Some(150))?),
                Some(Step { step }) => {
                    let mut vars = OutputVariables::new();
                    vars.insert("steps", (step + 1).to_string())?;
                    Ok(Outcome::success_with(format!("finished after step {}", step + 1), vars))
                }
            },
        }
    }
}

#[derive(Debug)]
pub struct Rig {
    pub aws: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub standin: CodePipelineStandIn,
}

pub async fn rig() -> Rig {
    let aws = rig::aws_config(test_support::moto::moto().endpoint()).await;
    let s3 = rig::s3(&aws);
    Rig { aws, s3, standin: CodePipelineStandIn::start() }
}

impl Rig {
    pub fn harness(&self, settings: Settings) -> Harness<TestAction> {
        Harness::new(TestAction, self.aws.clone(), rig::reporter(&self.aws, self.standin.endpoint()), settings)
    }

    /// A bucket holding `zip` at `key`.
    pub async fn artifact(&self, zip: Vec<u8>) -> (String, String) {
        let bucket = rig::new_bucket(&self.s3).await;
        let key = "pipeline/SourceOutp/abc123".to_string();
        rig::put(&self.s3, &bucket, &key, zip).await;
        (bucket, key)
    }
}
