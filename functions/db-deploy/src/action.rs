//! The CodePipeline action: read the migrations from the input artifact, the credentials from Secrets
//! Manager, run [`deploy::run`] within the invocation's time, and report. When time runs short between two
//! migrations the job continues through a continuation token; the next invocation re-reads the history
//! (under the lock) and goes on where the last one stopped.

use crate::config::{Config, Parameters};
use crate::deploy::{self, Mode, Options, Report, RunError, Status};
use crate::forecast::Settings;
use crate::liquibase::{Expr, Selection};
use crate::render;
use crate::report;
use crate::source::{Placeholders, SourceFile};
use crate::target::{self, TargetError};
use crate::version::Version;
use codepipeline_action::artifact::{ArtifactArchive, OutputArchive};
use codepipeline_action::{Action, ActionError, ConfigError, FailureKind, JobContext, Outcome, OutputVariables};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// The rules file looked for in the migrations folder when `rulesFile` is not given.
pub const DEFAULT_RULES_FILE: &str = crate::cli::DEFAULT_RULES_FILE;
/// Where the reports go in the output artifact.
pub const REPORT_DIR: &str = "db-deploy-report";

/// Reads a secret's text. The SDK client in production; a fake in unit tests.
pub trait SecretSource: Send + Sync + 'static {
    fn secret_string(&self, secret_id: &str) -> impl Future<Output = Result<String, SecretError>> + Send;
}

/// Why the secret could not be read. Never holds the secret's content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret `{secret_id}` was not found (Secrets Manager GetSecretValue); check secretId and the region")]
    NotFound {
        secret_id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the function's role may not read secret `{secret_id}` (secretsmanager:GetSecretValue, and kms:Decrypt when \
         the secret uses a customer managed key)"
    )]
    Denied {
        secret_id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret `{secret_id}` has no SecretString (a binary secret cannot hold an RDS secret)")]
    NotText { secret_id: String },
    #[error("reading secret `{secret_id}` failed (Secrets Manager GetSecretValue)")]
    Other {
        secret_id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl SecretSource for aws_sdk_secretsmanager::Client {
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretError> {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        let id = secret_id.to_string();
        match self.get_secret_value().secret_id(secret_id).send().await {
            Ok(output) => output.secret_string.ok_or(SecretError::NotText { secret_id: id }),
            Err(error) => {
                let code = error.code().unwrap_or_default().to_string();
                let source: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
                Err(match code.as_str() {
                    "ResourceNotFoundException" => SecretError::NotFound { secret_id: id, source },
                    "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" | "KMSAccessDeniedException" => {
                        SecretError::Denied { secret_id: id, source }
                    }
                    _ => SecretError::Other { secret_id: id, source },
                })
            }
        }
    }
}

/// The state carried to the next invocation when time ran short.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    /// Migrations applied by the earlier invocations of this job.
    applied: usize,
    /// How many invocations ran so far.
    invocations: u32,
}

/// The db-deploy action, generic over where secrets come from.
#[derive(Debug)]
pub struct DbDeploy<S> {
    secrets: S,
    /// Do not start a migration with less than this left before the deadline.
    pub margin: Duration,
}

impl<S> DbDeploy<S> {
    pub fn new(secrets: S, margin: Duration) -> Self {
        Self { secrets, margin }
    }
}

impl<S: SecretSource> Action for DbDeploy<S> {
    type Config = Parameters;
    const NAME: &'static str = "db-deploy";

    async fn run(&self, job: &JobContext<'_>, Parameters(config): Parameters) -> Result<Outcome, ActionError> {
        let progress = job.resume::<Progress>()?.unwrap_or_default();
        let mut archive = job.open_input(config.input_artifact.as_deref()).await?;
        let (files, rules_text) = read_migrations(&mut archive, &config)?;
        let rules = rules(&config, rules_text.as_ref().map(|(n, t)| (n.as_str(), t.as_str())))?;
        let secret = self.secrets.secret_string(&config.secret_id).await.map_err(secret_error)?;
        let target = target::from_secret(&secret).map_err(|e| secret_format_error(&config.secret_id, e))?;
        drop(secret);
        let options = options(&config, rules, job.job_id(), self.margin);
        tracing::info!(mode = config.mode.as_str(), target = %target, files = files.len(), "starting");
        let report = match deploy::run(&files, &target, &options, Some(job.deadline())).await {
            Ok(report) => report,
            Err(error) => return Err(run_error(error)),
        };
        log_report(&report);
        if job.has_output_artifact() && report.status != Status::Paused {
            let mut output = OutputArchive::new()
                .map_err(|e| ActionError::with_source(FailureKind::JobFailed, "cannot build the output artifact", e))?;
            for (name, text) in [("report.json", report::json(&report)), ("report.html", report::html(&report))] {
                let name = format!("{REPORT_DIR}/{}-{name}", config.mode.as_str());
                output.add(&name, text.as_bytes()).map_err(|e| {
                    ActionError::with_source(FailureKind::JobFailed, "cannot build the output artifact", e)
                })?;
            }
            job.write_output(None, output).await?;
        }
        outcome(&report, &progress)
    }
}

/// A rules file's path in the artifact and its text.
type RulesFile = (String, String);

/// The migrations folder's `.sql` / `.sql.conf` files (paths relative to it) and the rules file, if any.
fn read_migrations(
    archive: &mut ArtifactArchive,
    config: &Config,
) -> Result<(Vec<SourceFile>, Option<RulesFile>), ActionError> {
    let artifact = archive.artifact_name().to_string();
    let names: Vec<String> = archive.files().map(|e| e.name.clone()).collect();
    let folder = match &config.migrations {
        Some(folder) => folder.trim_matches('/').to_string(),
        None => detect_folder(&names).map_err(|m| ConfigError::invalid(format!("input artifact `{artifact}`: {m}")))?,
    };
    let prefix = if folder.is_empty() || folder == "." { String::new() } else { format!("{folder}/") };
    let mut files = Vec::new();
    for name in names.iter().filter(|n| n.starts_with(&prefix) && (n.ends_with(".sql") || n.ends_with(".sql.conf"))) {
        let text = archive.read_to_string(name)?;
        files.push(SourceFile { path: name[prefix.len()..].to_string(), text });
    }
    if files.is_empty() {
        return Err(ConfigError::invalid(format!(
            "no .sql files under `{folder}` in input artifact `{artifact}` (UserParameters `migrations`)"
        ))
        .into());
    }
    let rules_path = match &config.rules_file {
        Some(path) if !names.contains(path) => {
            return Err(ConfigError::invalid(format!(
                "rules file `{path}` (UserParameters `rulesFile`) is not in input artifact `{artifact}`"
            ))
            .into());
        }
        Some(path) => Some(path.clone()),
        None => Some(format!("{prefix}{DEFAULT_RULES_FILE}")).filter(|p| names.contains(p)),
    };
    let rules = match rules_path {
        Some(path) => {
            let text = archive.read_to_string(&path)?;
            Some((path, text))
        }
        None => None,
    };
    Ok((files, rules))
}

/// The one folder that holds the migrations: the deepest folder containing every `V…__…sql` / `R__…sql`.
pub fn detect_folder(names: &[String]) -> Result<String, String> {
    let is_migration = |name: &str| {
        let file = name.rsplit('/').next().unwrap_or(name);
        file.ends_with(".sql") && (file.starts_with("R__") || (file.starts_with('V') && file.contains("__")))
    };
    let dirs: Vec<&str> =
        names.iter().filter(|n| is_migration(n)).map(|n| n.rsplit_once('/').map_or("", |(dir, _)| dir)).collect();
    let Some(first) = dirs.first() else {
        return Err(
            "no migration files (V<version>__<description>.sql or R__<description>.sql) found; set `migrations` in \
             UserParameters to the folder that holds them"
                .to_string(),
        );
    };
    let mut common: Vec<&str> = if first.is_empty() { Vec::new() } else { first.split('/').collect() };
    for dir in &dirs[1..] {
        let parts: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
        let shared = common.iter().zip(&parts).take_while(|(a, b)| a == b).count();
        common.truncate(shared);
    }
    let folder = common.join("/");
    if folder.is_empty() && dirs.iter().any(|d| !d.is_empty()) {
        let mut tops: Vec<&str> = dirs.iter().map(|d| d.split('/').next().unwrap_or("")).collect();
        tops.sort_unstable();
        tops.dedup();
        if tops.len() > 1 {
            let shown: Vec<String> =
                tops.iter().map(|t| if t.is_empty() { "(top level)".into() } else { format!("{t}/") }).collect();
            return Err(format!(
                "migration files are in several folders ({}); set `migrations` in UserParameters to the one to deploy",
                shown.join(", ")
            ));
        }
    }
    Ok(folder)
}

fn rules(config: &Config, file: Option<(&str, &str)>) -> Result<Settings, ActionError> {
    let mut settings = Settings::default();
    if let Some((name, text)) = file {
        settings.apply_rules_file(name, text).map_err(|e| ConfigError::invalid(e.to_string()))?;
    }
    if let Some(allow) = config.allow_suppressions {
        settings.allow_suppressions = allow;
    }
    Ok(settings)
}

fn options(config: &Config, rules: Settings, job_id: &str, margin: Duration) -> Options {
    let version = |text: &Option<String>| text.as_deref().and_then(|t| Version::parse(t).ok());
    let defaults = Options::default();
    Options {
        mode: config.mode,
        plan: crate::plan::Options { target: version(&config.target), out_of_order: config.out_of_order },
        placeholders: Placeholders(config.placeholders.clone()),
        selection: Selection {
            labels: config.labels.as_deref().map_or(Expr::All, |l| Expr::parse(l).unwrap_or(Expr::All)),
            contexts: config.contexts.clone(),
        },
        baseline_version: version(&config.baseline_version),
        baseline_on_migrate: config.baseline_on_migrate,
        history_table: config.history_table.clone().unwrap_or(defaults.history_table),
        lock_timeout: config.lock_timeout.map_or(defaults.lock_timeout, Duration::from_secs),
        statement_timeout: config.statement_timeout.map(Duration::from_secs),
        connect_timeout: defaults.connect_timeout,
        installed_by: format!("codepipeline job {job_id}"),
        margin,
        rules,
    }
}

fn secret_error(error: SecretError) -> ActionError {
    let kind = match error {
        SecretError::NotFound { .. } | SecretError::NotText { .. } => FailureKind::ConfigurationError,
        SecretError::Denied { .. } => FailureKind::PermissionError,
        SecretError::Other { .. } => FailureKind::JobFailed,
    };
    let message = error.to_string();
    ActionError::with_source(kind, message, error)
}

fn secret_format_error(secret_id: &str, error: TargetError) -> ActionError {
    let message = format!("secret `{secret_id}`: {error}");
    ActionError::with_source(FailureKind::ConfigurationError, message, error)
}

fn run_error(error: RunError) -> ActionError {
    use crate::db::DbError;
    let kind = match &error {
        RunError::Source(_) | RunError::Placeholder(_) | RunError::Split { .. } | RunError::Changelog(_) => {
            FailureKind::JobFailed
        }
        RunError::NoMigrations(_) | RunError::NeedsBaseline { .. } | RunError::Expression(_) => {
            FailureKind::ConfigurationError
        }
        RunError::Db(DbError::Connect { source, .. }) if is_auth_failure(source) => FailureKind::PermissionError,
        RunError::Db(DbError::Connect { .. } | DbError::ConnectTimeout { .. }) => FailureKind::SystemUnavailable,
        RunError::Db(DbError::TableName(_)) => FailureKind::ConfigurationError,
        RunError::Db(_) => FailureKind::JobFailed,
    };
    let message = codepipeline_action::error::error_chain(&error);
    ActionError::with_source(kind, message, error)
}

/// The server refused the user or password (PostgreSQL 28P01/28000, MySQL 1045).
fn is_auth_failure(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| matches!(code.as_ref(), "28P01" | "28000" | "1045"))
}

fn log_report(report: &Report) {
    tracing::info!(
        status = ?report.status,
        applied = report.applied.len(),
        pending = report.pending.len(),
        errors = report.forecast.errors(),
        warnings = report.forecast.warnings(),
        millis = report.total_millis,
        "run finished"
    );
    for line in render::lines(report) {
        tracing::info!("{line}");
    }
}

fn margin_secs(report: &Report) -> String {
    format!("{:.1}", report.margin_millis as f64 / 1000.0)
}

/// The job's result for a report.
fn outcome(report: &Report, progress: &Progress) -> Result<Outcome, ActionError> {
    let applied_total = progress.applied + report.applied.len();
    match report.status {
        Status::Ok => {
            let mut variables = OutputVariables::new();
            variables.insert("schemaVersion", report.schema_version.clone().unwrap_or_default())?;
            variables.insert("appliedCount", applied_total.to_string())?;
            variables.insert("warnings", report.forecast.warnings().to_string())?;
            variables.insert("mode", report.mode.as_str())?;
            if report.mode != Mode::Deploy {
                variables.insert("pendingCount", report.pending.len().to_string())?;
                let pending: Vec<&str> = report.pending.iter().map(|s| s.migration.as_str()).collect();
                variables.insert("pending", pending.join(", "))?;
            }
            let mut summary = render::summary(report);
            if progress.invocations > 0 && report.mode == Mode::Deploy {
                summary =
                    format!("{summary} (applied {applied_total} in all over {} invocations)", progress.invocations + 1);
            }
            Ok(Outcome::success_with(summary, variables))
        }
        Status::Paused if report.applied.is_empty() => Ok(Outcome::failure(
            FailureKind::JobFailed,
            format!(
                "not enough time left in the invocation to start a migration ({} pending; each needs at least the {} s \
                 margin): raise the function's timeout (or lower DB_DEPLOY_MIGRATION_MARGIN_MS); nothing was applied by \
                 this invocation",
                report.pending.len(),
                margin_secs(report)
            ),
        )),
        Status::Paused => {
            let next = Progress { applied: applied_total, invocations: progress.invocations + 1 };
            let total = progress.applied + report.pending.len();
            let percent = (applied_total * 100).checked_div(total).map(|p| p.min(99) as u8);
            Ok(Outcome::in_progress(&next, render::summary(report), percent)?)
        }
        Status::RulesFailed | Status::Invalid | Status::MigrationFailed => {
            let mut lines = vec![render::summary(report)];
            lines.extend(render::lines(report));
            Ok(Outcome::failure(FailureKind::JobFailed, lines.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_migrations_folder_is_found_or_the_ambiguity_named() {
        assert_eq!(
            detect_folder(&names(&["db/migrations/V1__a.sql", "db/migrations/more/V2__b.sql", "README.md"])),
            Ok("db/migrations".to_string())
        );
        assert_eq!(detect_folder(&names(&["V1__a.sql", "R__v.sql"])), Ok(String::new()));
        assert_eq!(detect_folder(&names(&["sql/V1__a.sql"])), Ok("sql".to_string()));
        assert_eq!(
            detect_folder(&names(&["a/V1__x.sql", "b/V1__x.sql"])),
            Err("migration files are in several folders (a/, b/); set `migrations` in UserParameters to the one to \
                 deploy"
                .to_string())
        );
        assert!(detect_folder(&names(&["template.yaml"])).expect_err("none").starts_with("no migration files"));
    }
}
