//! The words of a run: the one-line summary and the detail lines, shared by the job result and the CLI.

use crate::deploy::{Mode, Report, Status};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `V1__a.sql, 2 statements`; the script is left out when the step's name already gives it (a changeset's
/// `changeset alice:1 (changelog.sql)`).
fn where_what(step: &crate::deploy::Step) -> String {
    let statements = plural(step.statements, "statement", "statements");
    if step.migration.contains(&format!("({})", step.script)) {
        statements
    } else {
        format!("{}, {statements}", step.script)
    }
}

fn at_version(version: Option<&str>) -> String {
    match version {
        Some(v) => format!("schema at version {v}"),
        None => "schema has no version yet".to_string(),
    }
}

/// The summary: what happened, the schema's version, the warnings.
pub fn summary(report: &Report) -> String {
    let warnings = plural(report.warnings(), "warning", "warnings");
    let version = at_version(report.schema_version.as_deref());
    let pending = report.pending.len();
    match (report.status, report.mode) {
        (Status::Ok, Mode::Deploy) if report.applied.is_empty() => {
            format!("nothing to apply; {version}; {warnings}")
        }
        (Status::Ok, Mode::Deploy) => {
            format!("applied {}; {version}; {warnings}", plural(report.applied.len(), "migration", "migrations"))
        }
        (Status::Ok, Mode::Forecast) => {
            format!("forecast passed: {} would run; {version}; {warnings}", plural(pending, "migration", "migrations"))
        }
        (Status::Ok, Mode::Validate) => {
            format!("history matches the files; {version}; {} pending", plural(pending, "migration", "migrations"))
        }
        (Status::Ok | Status::Invalid, Mode::Repair) => format!(
            "repair removed {} of failed migrations; {version}{}",
            plural(report.repaired as usize, "history row", "history rows"),
            if report.status == Status::Invalid { "; the history still has problems" } else { "" }
        ),
        (Status::RulesFailed, _) => format!(
            "forecast failed: {}, {warnings}; nothing was applied",
            plural(report.forecast.errors(), "error", "errors")
        ),
        (Status::Invalid, _) => format!(
            "the history and the files disagree ({}); nothing was applied",
            plural(report.problems.len(), "problem", "problems")
        ),
        (Status::MigrationFailed, _) => {
            let failure = report.failure.as_ref().expect("a failed run has its failure");
            let before = if report.applied.is_empty() {
                "nothing was applied before it".to_string()
            } else {
                format!(
                    "applied before it: {}",
                    report.applied.iter().map(|s| s.migration.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            let state = if failure.recorded {
                "it is recorded as failed: repair the database by hand, then run `db-deploy repair` (mode: repair)"
            } else {
                "it was rolled back and nothing of it remains"
            };
            format!(
                "{} failed at {}:{}: {}; {state}; {before}; {version}",
                failure.migration, failure.script, failure.line, failure.error
            )
        }
        (Status::Paused, _) => format!(
            "applied {} of {} so far; {version}; continuing in the next invocation",
            report.applied.len(),
            plural(pending, "migration", "migrations")
        ),
    }
}

/// Detail lines: problems, then findings (errors first), then what runs or ran.
pub fn lines(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report.problems.clone();
    out.extend(report.forecast.findings.iter().map(|f| format!("{} {f}", f.severity)));
    for s in &report.forecast.suppressed {
        out.push(format!("suppressed {} (reason: {})", s.finding, s.reason));
    }
    if let Some(version) = &report.baselined {
        out.push(format!("baselined the existing schema as version {version}"));
    }
    for step in &report.applied {
        out.push(format!("applied {} ({}, {} ms)", step.migration, where_what(step), step.millis.unwrap_or(0)));
    }
    // By label: the changesets of one changelog share their script.
    let done: Vec<&str> = report.applied.iter().map(|s| s.migration.as_str()).collect();
    let verb = match (report.mode, report.status) {
        (Mode::Deploy, Status::Ok) => None,
        (Mode::Deploy, Status::Paused | Status::MigrationFailed) => Some("not yet applied"),
        (Mode::Repair, _) => None,
        _ => Some("would run"),
    };
    if let Some(verb) = verb {
        for step in report.pending.iter().filter(|s| !done.contains(&s.migration.as_str())) {
            let how = if step.in_transaction { "" } else { ", outside a transaction" };
            out.push(format!("{verb}: {} ({}{how})", step.migration, where_what(step)));
        }
    }
    if report.beyond_target > 0 {
        out.push(format!(
            "{} beyond the target version left out",
            plural(report.beyond_target, "migration", "migrations")
        ));
    }
    out
}
