//! One run: read the files, connect, validate the history, forecast what would run, and (in deploy mode)
//! apply it under the deploy lock within the time left. The Lambda action and the CLI both call [`run`].
//!
//! Order of work, so that a refusal never leaves anything behind:
//! 1. files → migrations → statements (no database yet; a bad name or unclosed quote stops here);
//! 2. connect; deploy mode takes the lock and sets the session's timeouts;
//! 3. read the history (a missing table is an empty history) and plan: drift, missing files, failed runs
//!    and out-of-order versions refuse the run;
//! 4. the forecast over the statements that would run; an error-level finding refuses the run;
//! 5. deploy mode only: create the history table if missing (with a baseline row when asked), then apply
//!    each pending migration, checking the time left before each.

use crate::db::{ChangelogInsert, Db, DbError, NewRow};
use crate::forecast::{self, Forecast, Script};
use crate::liquibase::{self, ChangeSet, ChangelogError, ExprError, Selection};
use crate::plan::{self, Problem};
use crate::source::{self, Migration, Placeholders, SourceError, SourceFile};
use crate::split::{self, Dialect, SplitError, Statement};
use crate::target::Target;
use crate::version::Version;
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Rules and plan only; nothing is written.
    Forecast,
    /// Forecast, then apply.
    Deploy,
    /// Compare the history with the files; nothing is written.
    Validate,
    /// Remove the history rows of failed migrations (after the database was repaired by hand).
    Repair,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Forecast => "forecast",
            Mode::Deploy => "deploy",
            Mode::Validate => "validate",
            Mode::Repair => "repair",
        }
    }
}

/// How a run is done.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    pub plan: plan::Options,
    pub placeholders: Placeholders,
    /// Which Liquibase changesets run (labels expression, contexts).
    pub selection: Selection,
    /// Version of the baseline row written into an empty history (default 1).
    pub baseline_version: Option<Version>,
    /// Baseline a non-empty schema that has no history table instead of refusing.
    pub baseline_on_migrate: bool,
    pub history_table: String,
    pub lock_timeout: Duration,
    /// Upper limit for one statement (also capped by the time left).
    pub statement_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    /// Who the history says applied the migrations (`installed_by`).
    pub installed_by: String,
    /// Stop before a migration when less than this is left before the deadline.
    pub margin: Duration,
    pub rules: forecast::Settings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::Deploy,
            plan: plan::Options::default(),
            placeholders: Placeholders::default(),
            selection: Selection::default(),
            baseline_version: None,
            baseline_on_migrate: false,
            history_table: crate::db::DEFAULT_TABLE.to_string(),
            lock_timeout: Duration::from_secs(60),
            statement_timeout: None,
            connect_timeout: Duration::from_secs(15),
            installed_by: "db-deploy".to_string(),
            margin: Duration::from_secs(10),
            rules: forecast::Settings::default(),
        }
    }
}

/// Why a run could not even start (the files are wrong, or the database cannot be reached).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Placeholder(#[from] source::MissingPlaceholder),
    #[error("{script}: {source}")]
    Split {
        script: String,
        #[source]
        source: SplitError,
    },
    #[error(transparent)]
    Changelog(#[from] ChangelogError),
    #[error(transparent)]
    Expression(#[from] ExprError),
    #[error(
        "no migrations found (V<version>__<description>.sql, R__<description>.sql or a Liquibase formatted SQL \
         changelog){0}"
    )]
    NoMigrations(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the database is not empty ({tables} tables) but has no history table {table}; set baselineVersion and \
         baselineOnMigrate: true to record the existing schema as that version, or point db-deploy at the right \
         database"
    )]
    NeedsBaseline { tables: i64, table: String },
}

/// A migration that failed while being applied.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub migration: String,
    pub script: String,
    pub line: usize,
    /// The database's message (never the password: servers do not echo it).
    pub error: String,
    /// MySQL/MariaDB and non-transactional migrations: the failure is recorded and later runs refuse until
    /// it is repaired. PostgreSQL/SQLite in a transaction: rolled back, nothing recorded.
    pub recorded: bool,
}

/// A migration in the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub migration: String,
    pub script: String,
    pub statements: usize,
    pub in_transaction: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub millis: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Nothing wrong (forecast/validate), or everything applied (deploy).
    Ok,
    /// An error-level forecast finding; nothing was written.
    RulesFailed,
    /// The history and the files disagree; nothing was written.
    Invalid,
    /// A migration failed; those before it stay applied.
    MigrationFailed,
    /// Time ran short; the rest continues in the next invocation.
    Paused,
}

/// Everything a run found and did, for the job result, the CLI and the reports.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mode: Mode,
    pub target: String,
    pub dialect: Dialect,
    pub status: Status,
    /// The schema's version before the run.
    pub version_before: Option<String>,
    /// The schema's version after the run (deploy) or now.
    pub schema_version: Option<String>,
    pub problems: Vec<String>,
    pub forecast: Forecast,
    /// What would run (forecast/validate) or was due to run (deploy).
    pub pending: Vec<Step>,
    pub applied: Vec<Step>,
    pub failure: Option<Failure>,
    pub beyond_target: usize,
    /// A baseline row was written with this version.
    pub baselined: Option<String>,
    /// Failed rows removed by a repair.
    pub repaired: u64,
    pub total_millis: u64,
    /// The time kept free before each migration.
    pub margin_millis: u64,
}

impl Report {
    pub fn warnings(&self) -> usize {
        self.forecast.warnings()
    }
}

/// What runs: a Flyway-style migration or a Liquibase changeset.
enum Unit {
    Flyway(Migration),
    Change(ChangeSet),
}

/// A unit and its statements.
struct Prepared {
    unit: Unit,
    statements: Vec<Statement>,
}

impl Prepared {
    fn label(&self) -> String {
        match &self.unit {
            Unit::Flyway(m) => m.label(),
            Unit::Change(c) => c.label(),
        }
    }

    fn script(&self) -> &str {
        match &self.unit {
            Unit::Flyway(m) => &m.script,
            Unit::Change(c) => &c.file,
        }
    }

    /// Marked to run outside a transaction (`.sql.conf` / `runInTransaction:false`).
    fn marked_outside(&self) -> bool {
        match &self.unit {
            Unit::Flyway(m) => !m.in_transaction,
            Unit::Change(c) => !c.run_in_transaction,
        }
    }

    fn flyway(&self) -> Option<&Migration> {
        match &self.unit {
            Unit::Flyway(m) => Some(m),
            Unit::Change(_) => None,
        }
    }
}

/// The units of a folder: Flyway migrations (versioned, then repeatable) and the selected changesets.
struct Units {
    flyway: Vec<Prepared>,
    changes: Vec<Prepared>,
}

/// The engine names a changeset's `dbms:` may give.
fn dbms_matches(dbms: &[String], dialect: Dialect) -> bool {
    dbms.is_empty()
        || dbms.iter().any(|d| {
            let d = d.trim().to_ascii_lowercase();
            match dialect {
                Dialect::Postgres => d == "postgresql" || d == "postgres",
                Dialect::MySql => d == "mysql" || d == "mariadb",
                Dialect::Sqlite => d == "sqlite",
            }
        })
}

/// Files → migrations and changesets → statements, with placeholders replaced. No database needed.
fn prepare(files: &[SourceFile], dialect: Dialect, options: &Options) -> Result<Units, RunError> {
    let mut sources = source::classify(files)?;
    if sources.migrations.is_empty() && sources.changelogs.is_empty() {
        let seen = if files.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = files.iter().take(5).map(|f| f.path.as_str()).collect();
            format!("; the folder has {} other file(s): {}", files.len(), names.join(", "))
        };
        return Err(RunError::NoMigrations(seen));
    }
    source::resolve(&mut sources.migrations, &options.placeholders)?;
    let flyway = sources
        .migrations
        .into_iter()
        .map(|migration| {
            let statements = split::split(&migration.sql, dialect)
                .map_err(|source| RunError::Split { script: migration.script.clone(), source })?;
            Ok(Prepared { unit: Unit::Flyway(migration), statements })
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    let mut changes = Vec::new();
    for changelog in &sources.changelogs {
        for mut changeset in liquibase::parse(changelog)? {
            if !dbms_matches(&changeset.dbms, dialect) || !options.selection.selects(&changeset)? {
                continue;
            }
            changeset.sql = options.placeholders.apply(&changeset.file, &changeset.sql)?;
            let statements = if changeset.split_statements {
                split::split_with(&changeset.sql, dialect, changeset.end_delimiter.as_deref())
                    .map_err(|source| RunError::Split { script: changeset.label(), source })?
            } else {
                let line = changeset.sql.lines().position(|l| !l.trim().is_empty()).map_or(changeset.line, |i| i + 1);
                let sql = changeset.sql.trim().to_string();
                let keywords = sql.split_whitespace().take(8).map(str::to_ascii_uppercase).collect();
                vec![Statement { sql, line, keywords }]
            };
            if statements.is_empty() {
                continue;
            }
            changes.push(Prepared { unit: Unit::Change(changeset), statements });
        }
    }
    Ok(Units { flyway, changes })
}

fn step(p: &Prepared, dialect: Dialect, millis: Option<u64>) -> Step {
    Step {
        migration: p.label(),
        script: p.script().to_string(),
        statements: p.statements.len(),
        in_transaction: in_transaction(p, dialect),
        millis,
    }
}

/// Whether db-deploy wraps the unit in a transaction: not when it is marked to run outside one, has a
/// statement that cannot run in one, or manages transactions itself.
fn in_transaction(p: &Prepared, dialect: Dialect) -> bool {
    !p.marked_outside() && !p.statements.iter().any(|s| s.needs_no_transaction(dialect) || s.controls_transaction())
}

/// Runs the whole thing. `deadline` is when the invocation must have reported (None: no limit).
pub async fn run(
    files: &[SourceFile],
    target: &Target,
    options: &Options,
    deadline: Option<Instant>,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let dialect = target.dialect();
    let units = prepare(files, dialect, options)?;
    let mut db = Db::connect(target, &options.history_table, options.connect_timeout).await?;
    let result = run_connected(&mut db, &units, options, deadline, started).await;
    db.close().await;
    result
}

async fn run_connected(
    db: &mut Db,
    units: &Units,
    options: &Options,
    deadline: Option<Instant>,
    started: Instant,
) -> Result<Report, RunError> {
    let dialect = db.dialect;
    let writes = matches!(options.mode, Mode::Deploy | Mode::Repair);
    if writes {
        let idle = deadline.map_or(Duration::from_secs(900), |d| d.saturating_duration_since(Instant::now()));
        db.set_timeouts(options.statement_timeout, idle + Duration::from_secs(30)).await?;
        // Waiting for another deploy may not eat the time this invocation needs to report.
        let wait = deadline.map_or(options.lock_timeout, |d| {
            options.lock_timeout.min(d.saturating_duration_since(Instant::now()).saturating_sub(options.margin))
        });
        db.lock(wait).await?;
    }
    let uses_flyway = !units.flyway.is_empty();
    let uses_changelog = !units.changes.is_empty();
    let exists = uses_flyway && db.history_exists().await?;
    let mut history = if exists { db.read_history().await? } else { Vec::new() };
    let changelog_exists = uses_changelog && db.changelog_exists().await?;
    let mut changelog_rows = if changelog_exists { db.read_changelog().await? } else { Vec::new() };
    let mut report = Report {
        mode: options.mode,
        target: db.target().to_string(),
        dialect,
        status: Status::Ok,
        version_before: None,
        schema_version: None,
        problems: Vec::new(),
        forecast: Forecast::default(),
        pending: Vec::new(),
        applied: Vec::new(),
        failure: None,
        beyond_target: 0,
        baselined: None,
        repaired: 0,
        total_millis: 0,
        margin_millis: options.margin.as_millis() as u64,
    };
    let migrations: Vec<Migration> = units.flyway.iter().filter_map(|p| p.flyway().cloned()).collect();
    let changesets: Vec<ChangeSet> = units
        .changes
        .iter()
        .filter_map(|p| match &p.unit {
            Unit::Change(c) => Some(c.clone()),
            Unit::Flyway(_) => None,
        })
        .collect();

    if options.mode == Mode::Repair {
        if exists {
            report.repaired += db.delete_failed().await?;
            history = db.read_history().await?;
        }
        if changelog_exists {
            report.repaired += db.delete_failed_changesets().await?;
            changelog_rows = db.read_changelog().await?;
        }
        report.schema_version = schema_version(&history);
        if uses_flyway && let Err(problems) = plan::plan(&history, &migrations, &options.plan) {
            report.problems.extend(problems.iter().map(ToString::to_string));
        }
        if let Err(problems) = liquibase::plan(&changelog_rows, &changesets) {
            report.problems.extend(problems);
        }
        if !report.problems.is_empty() {
            report.status = Status::Invalid;
        }
        report.total_millis = started.elapsed().as_millis() as u64;
        return Ok(report);
    }

    // A schema with tables but no history: a baseline is needed (or this is the wrong database).
    let mut baseline_needed = None;
    if uses_flyway && !exists {
        let tables = db.other_tables().await?;
        if tables > 0 {
            if !options.baseline_on_migrate {
                return Err(RunError::NeedsBaseline { tables, table: db.table().to_string() });
            }
            let version = options.baseline_version.clone().unwrap_or_else(|| Version::parse("1").expect("valid"));
            history.push(baseline_row(&version));
            baseline_needed = Some(version);
        }
    }

    let planned = if uses_flyway {
        match plan::plan(&history, &migrations, &options.plan) {
            Ok(planned) => Some(planned),
            Err(problems) => {
                report.problems.extend(problems.iter().map(Problem::to_string));
                None
            }
        }
    } else {
        None
    };
    let changes_planned = match liquibase::plan(&changelog_rows, &changesets) {
        Ok(pending) => pending,
        Err(problems) => {
            report.problems.extend(problems);
            Vec::new()
        }
    };
    if !report.problems.is_empty() {
        report.status = Status::Invalid;
        report.version_before = schema_version(&history);
        report.schema_version = report.version_before.clone();
        report.total_millis = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    if let Some(planned) = &planned {
        report.version_before = planned.current.as_ref().map(ToString::to_string);
        report.beyond_target = planned.beyond_target;
    }
    report.schema_version = report.version_before.clone();

    // Order: versioned migrations, then changesets (changelogs by path, changesets in file order), then
    // repeatable migrations.
    let find_flyway = |m: &Migration| {
        units.flyway.iter().find(|p| p.flyway().is_some_and(|f| f.script == m.script)).expect("planned from these")
    };
    let mut pending: Vec<(&Prepared, bool)> = Vec::new();
    if let Some(planned) = &planned {
        pending.extend(planned.pending.iter().filter(|m| m.version().is_some()).map(|m| (find_flyway(m), false)));
    }
    for (changeset, rerun) in &changes_planned {
        let p = units
            .changes
            .iter()
            .find(|p| matches!(&p.unit, Unit::Change(c) if c.id == changeset.id && c.author == changeset.author && c.file == changeset.file))
            .expect("planned from these");
        pending.push((p, *rerun));
    }
    if let Some(planned) = &planned {
        pending.extend(planned.pending.iter().filter(|m| m.version().is_none()).map(|m| (find_flyway(m), false)));
    }
    report.pending = pending.iter().map(|(p, _)| step(p, dialect, None)).collect();

    let scripts: Vec<Script<'_>> = pending
        .iter()
        .map(|(p, _)| Script { path: p.script(), statements: &p.statements, outside_transaction: p.marked_outside() })
        .collect();
    report.forecast = forecast::forecast(&scripts, dialect, &options.rules);
    if report.forecast.errors() > 0 {
        report.status = Status::RulesFailed;
    }
    if options.mode != Mode::Deploy || report.status != Status::Ok {
        report.total_millis = started.elapsed().as_millis() as u64;
        return Ok(report);
    }

    if uses_flyway && !exists {
        db.create_history().await?;
        if let Some(version) = &baseline_needed {
            let row = baseline_row(version);
            db.insert_history(&NewRow {
                version: Some(version.as_str()),
                description: &row.description,
                kind: "BASELINE",
                script: &row.script,
                checksum: None,
                installed_by: &options.installed_by,
                execution_ms: 0,
                success: true,
            })
            .await?;
            report.baselined = Some(version.to_string());
        }
    }
    if uses_changelog && !changelog_exists && !pending.is_empty() {
        db.create_changelog().await?;
    }

    let deployment_id = deployment_id();
    for (p, rerun) in pending {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < options.margin {
                report.status = Status::Paused;
                break;
            }
            db.set_timeouts(None, left + Duration::from_secs(30)).await?;
        }
        let begun = Instant::now();
        let record = Record {
            installed_by: &options.installed_by,
            deployment_id: &deployment_id,
            rerun,
            deadline: deadline.map(|d| (d, options.margin, options.statement_timeout)),
        };
        match apply_one(db, p, &record).await? {
            Ok(()) => {
                let millis = begun.elapsed().as_millis() as u64;
                report.applied.push(step(p, dialect, Some(millis)));
                // Out of order, a lower version may come after a higher one: the schema's is the highest.
                if let Some(v) = p.flyway().and_then(Migration::version)
                    && report.schema_version.as_deref().and_then(|c| Version::parse(c).ok()).is_none_or(|c| *v > c)
                {
                    report.schema_version = Some(v.to_string());
                }
            }
            Err(failure) => {
                report.failure = Some(failure);
                report.status = Status::MigrationFailed;
                break;
            }
        }
    }
    report.total_millis = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Liquibase's `deployment_id`: ten digits, the same for every changeset of one run.
fn deployment_id() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:010}", secs % 10_000_000_000)
}

fn baseline_row(version: &Version) -> plan::Applied {
    plan::Applied {
        installed_rank: 0,
        version: Some(version.to_string()),
        description: "<< Flyway Baseline >>".to_string(),
        kind: "BASELINE".to_string(),
        script: "<< Flyway Baseline >>".to_string(),
        checksum: None,
        success: true,
    }
}

/// The highest successfully applied or baselined version in the history.
fn schema_version(history: &[plan::Applied]) -> Option<String> {
    history
        .iter()
        .filter(|r| r.success)
        .filter_map(|r| r.version.as_deref().and_then(|v| Version::parse(v).ok()))
        .max()
        .map(|v| v.to_string())
}

/// How to record what ran.
struct Record<'a> {
    installed_by: &'a str,
    deployment_id: &'a str,
    /// A changeset that ran before (runOnChange / runAlways): update its row.
    rerun: bool,
    /// The invocation's deadline, the margin and the configured statement limit: before each statement the
    /// server is told to cancel it before the deadline.
    deadline: Option<(Instant, Duration, Option<Duration>)>,
}

async fn write_record(db: &mut Db, p: &Prepared, record: &Record<'_>, success: bool, ms: i32) -> Result<(), DbError> {
    match &p.unit {
        Unit::Flyway(m) => {
            db.insert_history(&NewRow {
                version: m.version().map(Version::as_str),
                description: &m.description,
                kind: "SQL",
                script: &m.script,
                checksum: Some(m.checksum),
                installed_by: record.installed_by,
                execution_ms: ms,
                success,
            })
            .await
        }
        Unit::Change(c) => {
            let exectype = match (success, record.rerun) {
                (false, _) => "FAILED",
                (true, true) => "RERAN",
                (true, false) => "EXECUTED",
            };
            db.record_changeset(&ChangelogInsert {
                label: &c.label(),
                id: &c.id,
                author: &c.author,
                filename: &c.file,
                exectype,
                md5sum: &c.checksum(),
                comments: c.comment.as_deref().unwrap_or(""),
                contexts: c.context.as_deref().unwrap_or(""),
                labels: &c.labels.join(","),
                deployment_id: record.deployment_id,
                rerun: record.rerun,
            })
            .await
        }
    }
}

/// Applies one unit with its record. The outer error is the database failing us (connection, history);
/// the inner one is the unit's own statement failing.
async fn apply_one(db: &mut Db, p: &Prepared, record: &Record<'_>) -> Result<Result<(), Failure>, DbError> {
    let dialect = db.dialect;
    let transactional = in_transaction(p, dialect);
    let begun = Instant::now();
    let begin_error = |source| DbError::Query { what: format!("starting the transaction for {}", p.script()), source };
    if transactional {
        db.begin().await.map_err(begin_error)?;
    }
    for statement in &p.statements {
        if let Some((deadline, margin, configured)) = record.deadline {
            // A statement may not outlive the invocation: the server cancels it first (PostgreSQL, MariaDB).
            let cap = deadline.saturating_duration_since(Instant::now()).saturating_sub(margin / 2);
            db.set_statement_timeout(Some(configured.map_or(cap, |t| t.min(cap)))).await?;
        }
        if let Err(source) = db.execute(&statement.sql).await {
            if transactional && let Err(error) = db.rollback().await {
                tracing::warn!(error = %error, script = %p.script(), "rollback after a failed statement failed");
            }
            // MySQL commits DDL as it goes, and a script outside a transaction keeps what ran: record the
            // failure so that nobody continues on a half-applied migration.
            let recorded = dialect == Dialect::MySql || !transactional;
            if recorded {
                let ms = i32::try_from(begun.elapsed().as_millis()).unwrap_or(i32::MAX);
                write_record(db, p, record, false, ms).await?;
            }
            return Ok(Err(Failure {
                migration: p.label(),
                script: p.script().to_string(),
                line: statement.line,
                error: database_message(&source),
                recorded,
            }));
        }
    }
    let ms = i32::try_from(begun.elapsed().as_millis()).unwrap_or(i32::MAX);
    if let Err(error) = write_record(db, p, record, true, ms).await {
        if transactional {
            let _ = db.rollback().await;
        }
        return Err(error);
    }
    if transactional {
        db.commit().await.map_err(|source| DbError::Query { what: format!("committing {}", p.script()), source })?;
    }
    Ok(Ok(()))
}

/// The server's message with its code (`23505`, `1062`), or sqlx's description of what failed.
pub fn database_message(error: &sqlx::Error) -> String {
    match error.as_database_error() {
        Some(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        None => error.to_string(),
    }
}
