//! The CodePipeline action: UserParameters, template selection in the input artifact, the verdict as a
//! job result, and the output artifact.

use crate::render;
use crate::report::{Decision, Report};
use crate::scan::{self, Configuration, Scanner, Source};
use crate::settings::{Settings, Thresholds};
use codepipeline_action::artifact::OutputArchive;
use codepipeline_action::text::fit_lines;
use codepipeline_action::{
    Action, ActionConfig, ActionError, ConfigError, FailureKind, JobContext, Outcome, OutputVariables,
};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// UserParameters: a plain string is the path of one template (the reference's form); JSON gives the rest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Input artifact name (default: the first).
    pub artifact: Option<String>,
    /// Glob patterns of the templates (default: every .json/.yaml/.yml/.template file that is a template).
    pub templates: Option<Vec<String>>,
    /// Template configuration files to evaluate under (default: every value the parameters may take).
    #[serde(default)]
    pub configurations: Vec<String>,
    /// A rules file in the artifact (TOML or YAML).
    pub rules_file: Option<String>,
    /// Overrides the rules file's thresholds.
    pub thresholds: Option<Thresholds>,
    /// False: suppressions in the templates' metadata are reported but not applied.
    #[serde(default = "yes")]
    pub allow_suppressions: bool,
    /// The plain-string form: exactly this template.
    #[serde(skip)]
    pub template_path: Option<String>,
}

fn yes() -> bool {
    true
}

impl ActionConfig for Config {
    fn from_absent() -> Result<Self, ConfigError> {
        Ok(Self {
            artifact: None,
            templates: None,
            configurations: Vec::new(),
            rules_file: None,
            thresholds: None,
            allow_suppressions: true,
            template_path: None,
        })
    }

    fn from_text(text: &str) -> Result<Self, ConfigError> {
        Ok(Self { template_path: Some(text.trim().trim_start_matches("./").to_string()), ..Self::from_absent()? })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(thresholds) = self.thresholds {
            Settings::default().set_thresholds(thresholds).map_err(ConfigError::invalid)?;
        }
        if let Some(templates) = &self.templates {
            if templates.is_empty() {
                return Err(ConfigError::invalid(
                    "UserParameters: `templates` is an empty list; omit it to select every template",
                ));
            }
            globs(templates)?;
        }
        Ok(())
    }
}

fn globs(patterns: &[String]) -> Result<GlobSet, ConfigError> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|e| ConfigError::invalid(format!("UserParameters: `templates` pattern `{pattern}`: {e}")))?;
        set.add(glob);
    }
    set.build().map_err(|e| ConfigError::invalid(format!("UserParameters: `templates`: {e}")))
}

/// Which files of the artifact are scanned, and whether they were named explicitly.
pub fn select(config: &Config, files: &[String], artifact: &str) -> Result<Vec<(String, bool)>, ConfigError> {
    let listing = || {
        let mut names: Vec<&str> = files.iter().map(String::as_str).take(20).collect();
        if files.len() > 20 {
            names.push("...");
        }
        if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
    };
    if let Some(path) = &config.template_path {
        if !files.contains(path) {
            return Err(ConfigError::invalid(format!(
                "template `{path}` (UserParameters) is not in input artifact `{artifact}`, which holds: {}",
                listing()
            )));
        }
        return Ok(vec![(path.clone(), true)]);
    }
    let excluded: Vec<&String> = config.configurations.iter().chain(config.rules_file.iter()).collect();
    if let Some(patterns) = &config.templates {
        let set = globs(patterns)?;
        let selected: Vec<(String, bool)> = files
            .iter()
            .filter(|f| set.is_match(f.as_str()) && !excluded.contains(f))
            .map(|f| (f.clone(), true))
            .collect();
        if selected.is_empty() {
            return Err(ConfigError::invalid(format!(
                "no file in input artifact `{artifact}` matches `templates` {patterns:?}; the artifact holds: {}",
                listing()
            )));
        }
        return Ok(selected);
    }
    Ok(files
        .iter()
        .filter(|f| scan::has_template_extension(f) && !excluded.contains(f))
        .map(|f| (f.clone(), false))
        .collect())
}

/// The settings for a job: defaults, the rules file's, then the pipeline's own.
pub fn settings(config: &Config, rules_file: Option<(&str, &str)>) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    if let Some((name, text)) = rules_file {
        settings.apply_rules_file(name, text).map_err(|e| ConfigError::invalid(e.to_string()))?;
    }
    if let Some(thresholds) = config.thresholds {
        settings.set_thresholds(thresholds).map_err(ConfigError::invalid)?;
    }
    settings.allow_suppressions = config.allow_suppressions;
    Ok(settings)
}

/// The job result for a report.
pub fn outcome(report: &Report) -> Result<Outcome, ActionError> {
    let headlines: Vec<String> = report.active_findings().map(|f| f.headline()).collect();
    match report.decision {
        Decision::Fail => {
            Ok(Outcome::failure(FailureKind::JobFailed, fit_lines(&report.summary(), &headlines, 5000, "findings")))
        }
        Decision::Pass | Decision::Flagged => {
            let mut variables = OutputVariables::new();
            let level = if report.decision == Decision::Flagged { "FLAGGED" } else { "PASS" };
            variables.insert("riskLevel", level)?;
            variables.insert("riskScore", report.risk_score.to_string())?;
            variables.insert("findingCount", headlines.len().to_string())?;
            let findings = if headlines.is_empty() { "none".to_string() } else { headlines.join("\n") };
            variables.insert("findings", findings)?;
            let mut summary = report.summary();
            if report.decision == Decision::Flagged {
                summary.push_str("; flagged for manual approval");
            }
            Ok(Outcome::success_with(summary, variables))
        }
    }
}

/// `cfn-validator` as a CodePipeline action.
#[derive(Debug, Default)]
pub struct CfnValidator;

const REPORT_DIR: &str = "cfn-validator-report";

impl Action for CfnValidator {
    type Config = Config;
    const NAME: &'static str = "cfn-validator";

    async fn run(&self, job: &JobContext<'_>, config: Config) -> Result<Outcome, ActionError> {
        let mut archive = job.open_input(config.artifact.as_deref()).await?;
        let artifact = archive.artifact_name().to_string();
        let files: Vec<String> = archive.files().map(|e| e.name.clone()).collect();
        let missing = |what: &str, path: &str| {
            ConfigError::invalid(format!("{what} `{path}` (UserParameters) is not in input artifact `{artifact}`"))
        };
        let rules_text = match &config.rules_file {
            Some(path) if !files.contains(path) => return Err(missing("rules file", path).into()),
            Some(path) => Some((path.as_str(), archive.read_to_string(path)?)),
            None => None,
        };
        let settings = settings(&config, rules_text.as_ref().map(|(n, t)| (*n, t.as_str())))?;
        let mut configurations = Vec::new();
        for path in &config.configurations {
            if !files.contains(path) {
                return Err(missing("template configuration", path).into());
            }
            let text = archive.read_to_string(path)?;
            configurations.push(Configuration::parse(path, &text).map_err(ConfigError::invalid)?);
        }
        let mut sources = Vec::new();
        for (name, explicit) in select(&config, &files, &artifact)? {
            let bytes = archive.read(&name)?;
            sources.push(Source::from_bytes(name, bytes, explicit));
        }
        let scanner = Scanner::new(settings);
        let report = scanner.scan(&sources, &configurations);
        if report.templates.is_empty() {
            return Err(ConfigError::invalid(format!(
                "no CloudFormation template in input artifact `{artifact}`: looked for .json, .yaml, .yml and .template \
                 files with a `Resources` section (set `templates` in UserParameters to choose them)"
            ))
            .into());
        }
        tracing::info!(
            decision = report.decision.as_str(),
            risk_score = report.risk_score,
            findings = report.findings.len(),
            templates = report.templates.len(),
            "scan finished"
        );
        if job.has_output_artifact() {
            let build =
                |archive: &mut codepipeline_action::artifact::ArtifactArchive| -> Result<OutputArchive, ActionError> {
                    let io_error =
                        |e| ActionError::with_source(FailureKind::JobFailed, "cannot build the output artifact", e);
                    let mut output = OutputArchive::new().map_err(io_error)?;
                    for name in &files {
                        let bytes = archive.read(name)?;
                        output.add(name, &bytes).map_err(io_error)?;
                    }
                    let settings = scanner.settings();
                    for (file, format) in [
                        ("report.json", render::Format::Json),
                        ("report.sarif", render::Format::Sarif),
                        ("report.md", render::Format::Markdown),
                    ] {
                        let text = render::render(&report, settings, format);
                        output.add(&format!("{REPORT_DIR}/{file}"), text.as_bytes()).map_err(io_error)?;
                    }
                    Ok(output)
                };
            let output = build(&mut archive)?;
            job.write_output(None, output).await?;
        }
        outcome(&report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codepipeline_action::params::parse_user_parameters;

    fn files() -> Vec<String> {
        ["template.yaml", "nested/db.json", "config/prod.json", "buildspec.yml", "README.md"].map(String::from).to_vec()
    }

    #[test]
    fn plain_string_is_one_template() {
        let config: Config = parse_user_parameters(Some("./template.yaml")).expect("valid");
        assert_eq!(select(&config, &files(), "Src").expect("found"), [("template.yaml".to_string(), true)]);
        let config: Config = parse_user_parameters(Some("missing.yaml")).expect("valid");
        let error = select(&config, &files(), "Src").expect_err("missing").to_string();
        assert_eq!(
            error,
            "template `missing.yaml` (UserParameters) is not in input artifact `Src`, which holds: template.yaml, \
             nested/db.json, config/prod.json, buildspec.yml, README.md"
        );
    }

    #[test]
    fn globs_and_default_selection() {
        let config: Config = parse_user_parameters(Some(r#"{"templates": ["*.yaml", "nested/**"]}"#)).expect("valid");
        let names: Vec<String> = select(&config, &files(), "Src").expect("found").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["template.yaml", "nested/db.json"]);
        let config: Config = parse_user_parameters(Some(r#"{"configurations": ["config/prod.json"]}"#)).expect("valid");
        let selected = select(&config, &files(), "Src").expect("found");
        assert_eq!(
            selected,
            [
                ("template.yaml".to_string(), false),
                ("nested/db.json".to_string(), false),
                ("buildspec.yml".to_string(), false)
            ]
        );
        let config: Config = parse_user_parameters(Some(r#"{"templates": ["infra/*.yaml"]}"#)).expect("valid");
        assert!(
            select(&config, &files(), "Src")
                .expect_err("none")
                .to_string()
                .contains("no file in input artifact `Src` matches")
        );
    }

    #[test]
    fn bad_user_parameters_name_the_problem() {
        let error = |raw: &str| parse_user_parameters::<Config>(Some(raw)).expect_err("invalid").to_string();
        assert!(error(r#"{"template": "x"}"#).contains("unknown field `template`"));
        assert!(error(r#"{"thresholds": {"flagged": 60, "fail": 50}}"#).contains("must not be above"));
        assert!(error(r#"{"templates": ["a[b"]}"#).contains("pattern `a[b`"));
        assert!(error(r#"{"templates": []}"#).contains("empty list"));
        assert!(error(r#"{"allowSuppressions": "no"}"#).contains("allowSuppressions"));
    }

    #[test]
    fn outcomes_follow_the_decision() {
        let flagged_yaml = "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketEncryption: {}\n";
        let report = Scanner::new(Settings::default()).scan(&[Source::new("b.yaml", flagged_yaml)], &[]);
        assert_eq!(report.decision, Decision::Flagged);
        let Outcome::Success(success) = outcome(&report).expect("outcome") else { panic!("expected success") };
        assert_eq!(success.variables.get("riskLevel"), Some("FLAGGED"));
        assert_eq!(success.variables.get("riskScore"), Some("5"));
        assert!(success.summary.ends_with("flagged for manual approval"), "{}", success.summary);
    }
}
