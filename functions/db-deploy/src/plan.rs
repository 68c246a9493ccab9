//! What to apply: a pure function of the history and the files, tested without a database.
//!
//! Validation comes first and refuses, with one precise line per problem: a failed earlier run, a changed
//! file (checksum drift), an applied migration whose file is gone, and a pending version older than the
//! schema (unless `outOfOrder`). Then the plan: pending versioned migrations in version order (up to
//! `target`), then repeatable migrations that are new or changed.

use crate::source::{Kind, Migration};
use crate::version::Version;
use std::collections::BTreeMap;
use std::fmt;

/// A row of `flyway_schema_history`, as far as planning needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub installed_rank: i32,
    pub version: Option<String>,
    pub description: String,
    /// `SQL`, `BASELINE`, `SCHEMA`, `DELETE`, ...
    pub kind: String,
    pub script: String,
    pub checksum: Option<i32>,
    pub success: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Apply nothing past this version.
    pub target: Option<Version>,
    /// Allow pending versions older than the schema's.
    pub out_of_order: bool,
}

/// Something that stops a deploy before it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Failed { label: String, script: String },
    Changed { label: String, script: String, applied: Option<i32>, file: i32 },
    Missing { label: String, script: String },
    OutOfOrder { label: String, script: String, schema: String },
    UnreadableVersion { script: String, version: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { label, script } => write!(
                f,
                "{label} ({script}) failed in an earlier run and may be partly applied; repair the database, then \
                 mark it repaired (db-deploy repair) before deploying again"
            ),
            Self::Changed { label, script, applied, file } => write!(
                f,
                "{script} changed after it was applied as {label} (checksum {} in the history, {file} now); \
                 restore the file and put the change in a new migration",
                applied.map_or_else(|| "none".to_string(), |c| c.to_string())
            ),
            Self::Missing { label, script } => write!(
                f,
                "{label} ({script}) is applied in the database but its file is not in the artifact; restore the file"
            ),
            Self::OutOfOrder { label, script, schema } => write!(
                f,
                "{label} ({script}) is pending but the schema is already at version {schema}; renumber it above \
                 {schema}, or set outOfOrder: true to apply it anyway"
            ),
            Self::UnreadableVersion { script, version } => {
                write!(f, "the history has version `{version}` for {script}, which is not a version number")
            }
        }
    }
}

/// The outcome of planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan<'m> {
    /// The schema's version now (the highest applied or baselined), if any.
    pub current: Option<Version>,
    /// What to apply, in order.
    pub pending: Vec<&'m Migration>,
    /// Pending versions left out because they are past `target`.
    pub beyond_target: usize,
}

/// Validates the history against the files and plans what to apply.
pub fn plan<'m>(applied: &[Applied], available: &'m [Migration], options: &Options) -> Result<Plan<'m>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut rows: Vec<&Applied> = applied.iter().collect();
    rows.sort_by_key(|r| r.installed_rank);

    let files: BTreeMap<Version, &Migration> =
        available.iter().filter_map(|m| m.version().map(|v| (v.clone(), m))).collect();
    let mut baseline: Option<Version> = None;
    let mut current: Option<Version> = None;
    let mut applied_versions: BTreeMap<Version, &Applied> = BTreeMap::new();
    // The latest row of each repeatable migration, by description.
    let mut repeatables: BTreeMap<&str, &Applied> = BTreeMap::new();

    for row in &rows {
        match (&row.version, row.kind.as_str()) {
            (_, "SCHEMA") => {}
            // `flyway repair` marks a migration whose file was removed as deleted with a DELETE row.
            (Some(text), "DELETE") => {
                if let Ok(version) = Version::parse(text) {
                    applied_versions.remove(&version);
                }
            }
            (None, "DELETE") => {
                repeatables.remove(row.description.as_str());
            }
            (Some(text), kind) => {
                let Ok(version) = Version::parse(text) else {
                    problems.push(Problem::UnreadableVersion { script: row.script.clone(), version: text.clone() });
                    continue;
                };
                if !row.success {
                    problems.push(Problem::Failed {
                        label: format!("V{version} ({})", row.description),
                        script: row.script.clone(),
                    });
                    continue;
                }
                if kind.ends_with("BASELINE") {
                    baseline = Some(version.clone());
                } else {
                    applied_versions.insert(version.clone(), row);
                }
                if current.as_ref().is_none_or(|c| version > *c) {
                    current = Some(version);
                }
            }
            (None, _) => {
                if !row.success {
                    problems.push(Problem::Failed {
                        label: format!("R ({})", row.description),
                        script: row.script.clone(),
                    });
                    continue;
                }
                repeatables.insert(row.description.as_str(), row);
            }
        }
    }

    // As Flyway (ignoreMigrationPatterns `*:future`): versions above every file are from a newer artifact.
    let newest_file = files.keys().max();
    for (version, row) in &applied_versions {
        let label = format!("V{version} ({})", row.description);
        if newest_file.is_some_and(|newest| version > newest) {
            continue;
        }
        match files.get(version) {
            // As in Flyway, a missing checksum on either side is no evidence of change.
            Some(file) if row.checksum.is_some_and(|c| c != file.checksum) => {
                problems.push(Problem::Changed {
                    label,
                    script: file.script.clone(),
                    applied: row.checksum,
                    file: file.checksum,
                });
            }
            Some(_) => {}
            None if baseline.as_ref().is_some_and(|b| version <= b) => {}
            None => problems.push(Problem::Missing { label, script: row.script.clone() }),
        }
    }
    for (description, row) in &repeatables {
        if !available.iter().any(|m| m.kind == Kind::Repeatable && m.description == *description) {
            problems.push(Problem::Missing { label: format!("R ({description})"), script: row.script.clone() });
        }
    }

    let mut pending = Vec::new();
    let mut beyond_target = 0;
    for migration in available {
        match &migration.kind {
            Kind::Versioned(version) => {
                if applied_versions.contains_key(version) || baseline.as_ref().is_some_and(|b| version <= b) {
                    continue;
                }
                if rows.iter().any(|r| {
                    !r.success && r.version.as_deref().and_then(|t| Version::parse(t).ok()).as_ref() == Some(version)
                }) {
                    continue;
                }
                if options.target.as_ref().is_some_and(|t| version > t) {
                    beyond_target += 1;
                    continue;
                }
                if !options.out_of_order && current.as_ref().is_some_and(|c| version < c) {
                    problems.push(Problem::OutOfOrder {
                        label: migration.label(),
                        script: migration.script.clone(),
                        schema: current.as_ref().map(ToString::to_string).unwrap_or_default(),
                    });
                    continue;
                }
                pending.push(migration);
            }
            Kind::Repeatable => {
                let changed = repeatables.get(migration.description.as_str()).is_none_or(|row| {
                    row.checksum.is_some_and(|c| c != migration.checksum && c != migration.raw_checksum)
                });
                if changed {
                    pending.push(migration);
                }
            }
        }
    }
    if problems.is_empty() { Ok(Plan { current, pending, beyond_target }) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, classify};

    fn files(names: &[(&str, &str)]) -> Vec<Migration> {
        let files: Vec<SourceFile> =
            names.iter().map(|(p, t)| SourceFile { path: p.to_string(), text: t.to_string() }).collect();
        classify(&files).expect("valid names").migrations
    }

    fn row(rank: i32, version: Option<&str>, script: &str, checksum: i32) -> Applied {
        Applied {
            installed_rank: rank,
            version: version.map(str::to_string),
            description: script.split("__").nth(1).unwrap_or("").trim_end_matches(".sql").replace('_', " "),
            kind: "SQL".into(),
            script: script.into(),
            checksum: Some(checksum),
            success: true,
        }
    }

    fn applied_row(m: &Migration, rank: i32) -> Applied {
        row(rank, m.version().map(|v| v.as_str()), &m.script, m.checksum)
    }

    fn labels(plan: &Plan<'_>) -> Vec<String> {
        plan.pending.iter().map(|m| m.label()).collect()
    }

    const SET: &[(&str, &str)] = &[
        ("V1__init.sql", "create table a (id int);"),
        ("V2__users.sql", "create table users (id int);"),
        ("V3__more.sql", "alter table users add column name text;"),
        ("R__views.sql", "create or replace view v as select 1;"),
    ];

    #[test]
    fn from_empty_then_nothing_then_a_new_one() {
        let available = files(SET);
        let plan = plan(&[], &available, &Options::default()).expect("plan");
        assert_eq!(labels(&plan), ["V1 (init)", "V2 (users)", "V3 (more)", "R (views)"]);
        assert_eq!(plan.current, None);

        let history: Vec<Applied> = available.iter().enumerate().map(|(i, m)| applied_row(m, i as i32 + 1)).collect();
        let again = super::plan(&history, &available, &Options::default()).expect("plan");
        assert!(again.pending.is_empty(), "{:?}", labels(&again));
        assert_eq!(again.current.as_ref().map(ToString::to_string).as_deref(), Some("3"));

        let mut more: Vec<(&str, &str)> = SET.to_vec();
        more.push(("V4__new.sql", "select 1;"));
        more[3] = ("R__views.sql", "create or replace view v as select 2;");
        let more = files(&more);
        let next = super::plan(&history, &more, &Options::default()).expect("plan");
        assert_eq!(labels(&next), ["V4 (new)", "R (views)"], "a changed repeatable runs again");
    }

    #[test]
    fn drift_missing_files_failures_and_out_of_order_are_refused_together() {
        let available = files(SET);
        let mut history: Vec<Applied> =
            available[..3].iter().enumerate().map(|(i, m)| applied_row(m, i as i32 + 1)).collect();
        history[1].checksum = Some(42);
        history.push(row(4, Some("5"), "V5__gone.sql", 7));
        history.push(Applied { success: false, ..row(5, Some("6"), "V6__broken.sql", 8) });
        let mut with_old: Vec<(&str, &str)> = SET.to_vec();
        with_old.push(("V2.5__late.sql", "select 1;"));
        with_old.push(("V6__broken.sql", "select 1;"));
        let available = files(&with_old);
        let problems = plan(&history, &available, &Options::default()).expect_err("refused");
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert!(shown.contains(&"V6 (broken) (V6__broken.sql) failed in an earlier run and may be partly applied; repair the database, then mark it repaired (db-deploy repair) before deploying again".to_string()));
        assert!(shown.iter().any(|s| {
            s.starts_with("V2__users.sql changed after it was applied as V2 (users) (checksum 42 in the history,")
        }));
        assert!(shown.contains(&"V5 (gone) (V5__gone.sql) is applied in the database but its file is not in the artifact; restore the file".to_string()));
        assert!(shown.contains(&"V2.5 (late) (V2.5__late.sql) is pending but the schema is already at version 5; renumber it above 5, or set outOfOrder: true to apply it anyway".to_string()));
    }

    #[test]
    fn flyway_delete_rows_and_future_versions() {
        let available = files(&SET[..2]);
        let mut history: Vec<Applied> =
            available.iter().enumerate().map(|(i, m)| applied_row(m, i as i32 + 1)).collect();
        history.push(row(3, Some("1.5"), "V1.5__removed.sql", 9));
        history.push(Applied { kind: "DELETE".into(), checksum: None, ..row(4, Some("1.5"), "V1.5__removed.sql", 0) });
        history.push(row(5, Some("7"), "V7__newer_artifact.sql", 3));
        let planned = plan(&history, &available, &Options::default()).expect("no problems");
        assert!(planned.pending.is_empty());
        assert_eq!(planned.current.as_ref().map(ToString::to_string).as_deref(), Some("7"));
    }

    #[test]
    fn out_of_order_target_and_baseline() {
        let mut names: Vec<(&str, &str)> = SET.to_vec();
        names.push(("V1.5__late.sql", "select 1;"));
        let available = files(&names);
        let history: Vec<Applied> = available
            .iter()
            .filter(|m| m.script != "V1.5__late.sql" && m.version().is_some())
            .enumerate()
            .map(|(i, m)| applied_row(m, i as i32 + 1))
            .collect();
        let allowed = plan(&history, &available, &Options { out_of_order: true, ..Options::default() }).expect("plan");
        assert_eq!(labels(&allowed), ["V1.5 (late)", "R (views)"]);

        let capped =
            plan(&[], &available, &Options { target: Some(Version::parse("1.5").expect("v")), ..Options::default() })
                .expect("plan");
        assert_eq!(labels(&capped), ["V1 (init)", "V1.5 (late)", "R (views)"]);
        assert_eq!(capped.beyond_target, 2);

        let baseline =
            Applied { kind: "BASELINE".into(), checksum: None, ..row(1, Some("2"), "<< Flyway Baseline >>", 0) };
        let after = plan(&[baseline], &available, &Options::default()).expect("plan");
        assert_eq!(labels(&after), ["V3 (more)", "R (views)"], "versions up to the baseline are in the schema already");
        assert_eq!(after.current.as_ref().map(ToString::to_string).as_deref(), Some("2"));
    }
}
