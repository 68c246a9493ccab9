//! The local command line:
//! `db-deploy forecast|deploy|validate|repair --url URL --migrations DIR [--labels EXPR] [--format text|json] ...`.
//!
//! `postgres://`, `mysql://` (or `mariadb://`) and `sqlite://` URLs; the URL is never printed with its
//! password. Exit status: 0 success, 1 a rule, validation or migration failure (or unusable migration
//! files), 2 usage or connection errors.

use crate::deploy::{self, Mode, Options, RunError, Status};
use crate::forecast::Settings;
use crate::liquibase::{Expr, Selection};
use crate::render;
use crate::source::{Placeholders, SourceFile};
use crate::target;
use crate::version::Version;
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The rules file looked for at the top of the migrations folder when `--rules` is not given.
pub const DEFAULT_RULES_FILE: &str = "db-deploy.toml";

#[derive(Debug, Parser)]
#[command(
    name = "db-deploy",
    version,
    about = "Forecasts and applies SQL migrations (Flyway-compatible history). \
    Without arguments, runs as the CodePipeline Lambda function."
)]
struct Cli {
    /// forecast (rules and plan, no writes), deploy (forecast, then apply), validate (history against files,
    /// no writes) or repair (remove failed migrations from the history).
    #[arg(value_enum)]
    mode: CliMode,
    /// The database: postgres://user:pass@host:port/db, mysql://..., sqlite://path.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The folder of migrations (V<version>__<description>.sql, R__<description>.sql).
    #[arg(long, value_name = "DIR")]
    migrations: PathBuf,
    /// The rules file (TOML). Default: db-deploy.toml in the migrations folder, if there is one.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Liquibase label expression selecting changesets (`!`, and, or, commas, parentheses); default $all.
    #[arg(long, value_name = "EXPR")]
    labels: Option<String>,
    /// A Liquibase context of this run; repeatable or comma-separated. Default: every changeset.
    #[arg(long = "context", value_name = "CONTEXT", value_delimiter = ',')]
    contexts: Vec<String>,
    /// Apply nothing past this version.
    #[arg(long, value_name = "VERSION")]
    target: Option<String>,
    /// Apply pending versions older than the schema's.
    #[arg(long)]
    out_of_order: bool,
    /// A placeholder value, NAME=VALUE; repeatable.
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    placeholders: Vec<String>,
    /// The version recorded for an existing schema without history (with --baseline-on-migrate).
    #[arg(long, value_name = "VERSION")]
    baseline_version: Option<String>,
    /// Record a non-empty schema without history as the baseline version instead of refusing.
    #[arg(long)]
    baseline_on_migrate: bool,
    /// The history table.
    #[arg(long, value_name = "NAME", default_value = crate::db::DEFAULT_TABLE)]
    table: String,
    /// Seconds to wait for another deploy's lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    lock_timeout: u64,
    /// Seconds one statement may run (PostgreSQL, MariaDB).
    #[arg(long, value_name = "SECONDS")]
    statement_timeout: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CliMode {
    Forecast,
    Deploy,
    Validate,
    Repair,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs the command line; the process exit status.
pub async fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    match codepipeline_action::cli::parse::<Cli>(args) {
        Ok(cli) => codepipeline_action::cli::finish("db-deploy", run(cli).await),
        Err(code) => code,
    }
}

async fn run(cli: Cli) -> Result<(String, u8), (u8, String)> {
    let usage = |message: String| (2, message);
    let target = target::from_url(&cli.url).map_err(|e| usage(e.to_string()))?;
    let files = load_dir(&cli.migrations).map_err(usage)?;
    let mut rules = Settings::default();
    let rules_file = cli.rules.clone().or_else(|| {
        let candidate = cli.migrations.join(DEFAULT_RULES_FILE);
        candidate.is_file().then_some(candidate)
    });
    if let Some(path) = &rules_file {
        let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        rules.apply_rules_file(&path.display().to_string(), &text).map_err(|e| usage(e.to_string()))?;
    }
    let version = |text: &Option<String>, what: &str| -> Result<Option<Version>, (u8, String)> {
        text.as_deref().map(|t| Version::parse(t).map_err(|e| usage(format!("{what}: {e}")))).transpose()
    };
    let mut placeholders = Placeholders::default();
    for pair in &cli.placeholders {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| usage(format!("--placeholder `{pair}` is not NAME=VALUE")))?;
        placeholders.0.insert(name.to_string(), value.to_string());
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "local".to_string());
    let options = Options {
        mode: match cli.mode {
            CliMode::Forecast => Mode::Forecast,
            CliMode::Deploy => Mode::Deploy,
            CliMode::Validate => Mode::Validate,
            CliMode::Repair => Mode::Repair,
        },
        plan: crate::plan::Options { target: version(&cli.target, "--target")?, out_of_order: cli.out_of_order },
        placeholders,
        selection: Selection {
            labels: Expr::parse(cli.labels.as_deref().unwrap_or("$all"))
                .map_err(|e| usage(format!("--labels: {e}")))?,
            contexts: cli.contexts.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
        },
        baseline_version: version(&cli.baseline_version, "--baseline-version")?,
        baseline_on_migrate: cli.baseline_on_migrate,
        history_table: cli.table.clone(),
        lock_timeout: Duration::from_secs(cli.lock_timeout),
        statement_timeout: cli.statement_timeout.map(Duration::from_secs),
        installed_by: format!("db-deploy cli ({user})"),
        rules,
        ..Options::default()
    };
    let report = match deploy::run(&files, &target, &options, None).await {
        Ok(report) => report,
        Err(error) => {
            let code = match error {
                RunError::Source(_) | RunError::Placeholder(_) | RunError::Split { .. } | RunError::Changelog(_) => 1,
                RunError::NoMigrations(_)
                | RunError::Db(_)
                | RunError::NeedsBaseline { .. }
                | RunError::Expression(_) => 2,
            };
            return Err((code, codepipeline_action::error::error_chain(&error)));
        }
    };
    let output = match cli.format {
        Format::Json => {
            serde_json::to_string_pretty(&report).map_err(|e| (2, format!("cannot write the report: {e}")))?
        }
        Format::Text => {
            let mut text = String::new();
            for line in render::lines(&report) {
                text.push_str(&line);
                text.push('\n');
            }
            text.push_str(&render::summary(&report));
            text
        }
    };
    Ok((format!("{output}\n"), if report.status == Status::Ok { 0 } else { 1 }))
}

/// Every `.sql` and `.conf` file under `dir`, with `/`-separated paths relative to it.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceFile>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy();
            if !(name.ends_with(".sql") || name.ends_with(".sql.conf")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push(SourceFile { path: parts.join("/"), text });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
