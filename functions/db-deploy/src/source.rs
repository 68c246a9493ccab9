//! Migration files: Flyway-style names (`V<version>__<description>.sql`, `R__<description>.sql`), the
//! Flyway per-script configuration (`<script>.conf` with `executeInTransaction=false`), and `${name}`
//! placeholders. Everything in the folder that ends in `.sql` must be a migration or a Liquibase formatted
//! SQL changelog: nothing is silently skipped.

use crate::checksum::flyway_checksum;
use crate::version::{Version, VersionError};
use std::collections::BTreeMap;
use std::fmt;

/// A file under the migrations folder: its path relative to the folder (`/`-separated) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Versioned(Version),
    Repeatable,
}

/// One Flyway-style migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    pub kind: Kind,
    /// Underscores become spaces, as Flyway shows it.
    pub description: String,
    /// The path relative to the migrations folder (`flyway_schema_history.script`).
    pub script: String,
    /// The checksum recorded in the history: Flyway's checksum of the file as written for a versioned
    /// migration; of the text with placeholders replaced for a repeatable one (see [`resolve`]).
    pub checksum: i32,
    /// Flyway's checksum of the file as written (a repeatable migration matches on either).
    pub raw_checksum: i32,
    /// The file as written.
    pub text: String,
    /// The text with placeholders replaced (see [`resolve`]); until then, the text as written.
    pub sql: String,
    /// False when the script's `.conf` says `executeInTransaction=false`.
    pub in_transaction: bool,
}

impl Migration {
    pub fn version(&self) -> Option<&Version> {
        match &self.kind {
            Kind::Versioned(v) => Some(v),
            Kind::Repeatable => None,
        }
    }

    /// `V1.2 (create users)` / `R (views)`.
    pub fn label(&self) -> String {
        match &self.kind {
            Kind::Versioned(v) => format!("V{v} ({})", self.description),
            Kind::Repeatable => format!("R ({})", self.description),
        }
    }
}

/// Why the folder's files are not a valid set of migrations.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {error}")]
    BadVersion { path: String, error: VersionError },
    #[error(
        "{path}: not a migration name (V<version>__<description>.sql or R__<description>.sql) and not a \
         Liquibase formatted SQL changelog (first line `--liquibase formatted sql`); rename or move it"
    )]
    Unrecognised { path: String },
    #[error("{path}: undo migrations (U...) are not supported; write a new versioned migration instead")]
    Undo { path: String },
    #[error("{first} and {second} both have version {version} (versions are compared numerically: 1.0 = 1)")]
    DuplicateVersion { first: String, second: String, version: String },
    #[error("{first} and {second} are both the repeatable migration `{description}`")]
    DuplicateRepeatable { first: String, second: String, description: String },
    #[error("{path}: line {line}: {message}")]
    ScriptConfig { path: String, line: usize, message: String },
    #[error("{path}: configuration for a script that does not exist")]
    OrphanConfig { path: String },
}

/// The migrations and changelogs found in a folder's files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Versioned ones in version order, then repeatable ones by description.
    pub migrations: Vec<Migration>,
    /// Liquibase formatted SQL changelogs, by path.
    pub changelogs: Vec<SourceFile>,
}

/// Whether the text starts (after blank lines) with `--liquibase formatted sql`.
pub fn is_liquibase_changelog(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().map(str::trim).find(|l| !l.is_empty()).is_some_and(|first| {
        let compact: String = first.chars().filter(|c| !c.is_whitespace()).collect();
        compact.eq_ignore_ascii_case("--liquibaseformattedsql")
    })
}

/// Sorts the files into migrations and changelogs, checking names, duplicates and script configurations.
pub fn classify(files: &[SourceFile]) -> Result<Sources, SourceError> {
    let mut configs: BTreeMap<&str, &SourceFile> =
        files.iter().filter_map(|f| f.path.strip_suffix(".conf").map(|script| (script, f))).collect();
    let mut sources = Sources::default();
    let mut sorted: Vec<&SourceFile> = files.iter().filter(|f| f.path.ends_with(".sql")).collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for file in sorted {
        let name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let stem = &name[..name.len() - ".sql".len()];
        let in_transaction = match configs.remove(file.path.as_str()) {
            Some(config) => script_config(config)?,
            None => true,
        };
        let kind_and_description = if let Some(rest) = stem.strip_prefix('V') {
            rest.split_once("__").map(|(version, description)| {
                Version::parse(version)
                    .map(|v| (Kind::Versioned(v), description))
                    .map_err(|error| SourceError::BadVersion { path: file.path.clone(), error })
            })
        } else if let Some(description) = stem.strip_prefix("R__") {
            Some(Ok((Kind::Repeatable, description)))
        } else if stem.strip_prefix('U').is_some_and(|rest| rest.contains("__")) {
            return Err(SourceError::Undo { path: file.path.clone() });
        } else {
            None
        };
        match kind_and_description {
            Some(result) => {
                let (kind, description) = result?;
                sources.migrations.push(Migration {
                    kind,
                    description: description.replace('_', " "),
                    script: file.path.clone(),
                    checksum: flyway_checksum(&file.text),
                    raw_checksum: flyway_checksum(&file.text),
                    text: file.text.clone(),
                    sql: file.text.clone(),
                    in_transaction,
                });
            }
            None if is_liquibase_changelog(&file.text) => sources.changelogs.push(file.clone()),
            None => return Err(SourceError::Unrecognised { path: file.path.clone() }),
        }
    }
    if let Some(orphan) = configs.values().find(|c| c.path.ends_with(".sql.conf")) {
        return Err(SourceError::OrphanConfig { path: orphan.path.clone() });
    }
    sources.migrations.sort_by(|a, b| match (&a.kind, &b.kind) {
        (Kind::Versioned(x), Kind::Versioned(y)) => x.cmp(y),
        (Kind::Versioned(_), Kind::Repeatable) => std::cmp::Ordering::Less,
        (Kind::Repeatable, Kind::Versioned(_)) => std::cmp::Ordering::Greater,
        (Kind::Repeatable, Kind::Repeatable) => a.description.cmp(&b.description),
    });
    for pair in sources.migrations.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        match (&a.kind, &b.kind) {
            (Kind::Versioned(x), Kind::Versioned(y)) if x == y => {
                return Err(SourceError::DuplicateVersion {
                    first: a.script.clone(),
                    second: b.script.clone(),
                    version: y.to_string(),
                });
            }
            (Kind::Repeatable, Kind::Repeatable) if a.description == b.description => {
                return Err(SourceError::DuplicateRepeatable {
                    first: a.script.clone(),
                    second: b.script.clone(),
                    description: a.description.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(sources)
}

/// A Flyway script configuration: `executeInTransaction=true|false`, comments with `#`.
fn script_config(file: &SourceFile) -> Result<bool, SourceError> {
    let mut in_transaction = true;
    for (index, line) in file.text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| SourceError::ScriptConfig { path: file.path.clone(), line: index + 1, message };
        let Some((key, value)) = line.split_once('=') else {
            return Err(error(format!("`{line}` is not `key=value`")));
        };
        match (key.trim(), value.trim().to_ascii_lowercase().as_str()) {
            ("executeInTransaction", "true") => in_transaction = true,
            ("executeInTransaction", "false") => in_transaction = false,
            ("executeInTransaction", other) => {
                return Err(error(format!("executeInTransaction must be true or false, not `{other}`")));
            }
            ("encoding", _) => {}
            (other, _) => {
                return Err(error(format!("unknown setting `{other}` (known: executeInTransaction, encoding)")));
            }
        }
    }
    Ok(in_transaction)
}

/// Replaces the placeholders of every migration; a repeatable migration's checksum becomes that of the
/// replaced text, as Flyway records it.
pub fn resolve(migrations: &mut [Migration], placeholders: &Placeholders) -> Result<(), MissingPlaceholder> {
    for migration in migrations {
        migration.sql = placeholders.apply(&migration.script, &migration.text)?;
        if migration.kind == Kind::Repeatable {
            migration.checksum = flyway_checksum(&migration.sql);
        }
    }
    Ok(())
}

/// A `${name}` in a script with no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{script}:{line}: no value for placeholder ${{{name}}}; give it in `placeholders` (UserParameters) or --placeholder"
)]
pub struct MissingPlaceholder {
    pub script: String,
    pub line: usize,
    pub name: String,
}

/// Placeholder values: the user's plus Flyway's built-ins (`flyway:user`, `flyway:database`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placeholders(pub BTreeMap<String, String>);

impl Placeholders {
    /// Replaces every `${name}` in `text`; `${flyway:filename}` is the script's file name.
    pub fn apply(&self, script: &str, text: &str) -> Result<String, MissingPlaceholder> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let name = &after[..end];
            let filename = script.rsplit('/').next().unwrap_or(script);
            let value = match name {
                "flyway:filename" => Some(filename),
                _ => self.0.get(name).map(String::as_str),
            };
            match value {
                Some(value) => out.push_str(value),
                None => {
                    let line = text[..text.len() - rest.len() + start].matches('\n').count() + 1;
                    return Err(MissingPlaceholder { script: script.to_string(), line, name: name.to_string() });
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Versioned(v) => write!(f, "V{v}"),
            Kind::Repeatable => f.write_str("R"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.into(), text: text.into() }
    }

    #[test]
    fn versioned_then_repeatable_with_descriptions_and_configs() {
        let sources = classify(&[
            file("R__views.sql", "create view v as select 1;"),
            file("V2__add_users.sql", "create table users (id int);"),
            file("V1.1__init.sql", "create table a (id int);"),
            file("sub/V10__later.sql", "select 1;"),
            file("V2__add_users.sql.conf", "# outside a transaction\nexecuteInTransaction=false\n"),
            file("README.md", "not sql"),
            file("changes.sql", "-- liquibase formatted sql\n--changeset a:1\ncreate table c (id int);"),
        ])
        .expect("valid");
        let labels: Vec<String> = sources.migrations.iter().map(Migration::label).collect();
        assert_eq!(labels, ["V1.1 (init)", "V2 (add users)", "V10 (later)", "R (views)"]);
        assert_eq!(sources.migrations[2].script, "sub/V10__later.sql");
        assert!(!sources.migrations[1].in_transaction);
        assert!(sources.migrations[0].in_transaction);
        assert_eq!(sources.changelogs.len(), 1);
    }

    #[test]
    fn duplicates_unknown_names_and_bad_configs_are_errors() {
        let err = classify(&[file("V1__a.sql", ""), file("V1.0__b.sql", "")]).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "V1.0__b.sql and V1__a.sql both have version 1 (versions are compared numerically: 1.0 = 1)"
        );
        let err = classify(&[file("R__a.sql", ""), file("x/R__a.sql", "")]).expect_err("duplicate");
        assert!(matches!(err, SourceError::DuplicateRepeatable { .. }));
        let err = classify(&[file("V1_init.sql", "")]).expect_err("single underscore");
        assert!(err.to_string().starts_with("V1_init.sql: not a migration name"), "{err}");
        let err = classify(&[file("Vx__a.sql", "")]).expect_err("bad version");
        assert!(err.to_string().starts_with("Vx__a.sql: `x` is not a version"), "{err}");
        assert!(matches!(classify(&[file("U1__a.sql", "")]), Err(SourceError::Undo { .. })));
        let err =
            classify(&[file("V1__a.sql", ""), file("V1__a.sql.conf", "executeInTransaction=maybe")]).expect_err("bad");
        assert_eq!(err.to_string(), "V1__a.sql.conf: line 1: executeInTransaction must be true or false, not `maybe`");
        assert!(matches!(
            classify(&[file("V2__b.sql.conf", "executeInTransaction=false")]),
            Err(SourceError::OrphanConfig { .. })
        ));
    }

    #[test]
    fn repeatable_checksums_follow_placeholders() {
        let mut sources =
            classify(&[file("R__v.sql", "select '${x}';"), file("V1__a.sql", "select '${x}';")]).expect("valid");
        resolve(&mut sources.migrations, &Placeholders([("x".to_string(), "1".to_string())].into())).expect("resolved");
        let (versioned, repeatable) = (&sources.migrations[0], &sources.migrations[1]);
        assert_eq!(versioned.checksum, flyway_checksum("select '${x}';"), "versioned: as written");
        assert_eq!(versioned.sql, "select '1';");
        assert_eq!(repeatable.checksum, flyway_checksum("select '1';"), "repeatable: replaced");
        assert_eq!(repeatable.raw_checksum, flyway_checksum("select '${x}';"));
    }

    #[test]
    fn placeholders_are_replaced_or_named_with_their_line() {
        let values = Placeholders([("schema".to_string(), "app".to_string())].into());
        assert_eq!(
            values.apply("sub/V1__a.sql", "create table ${schema}.t (); -- ${flyway:filename}").expect("replaced"),
            "create table app.t (); -- V1__a.sql"
        );
        let missing = values.apply("V1__a.sql", "select 1;\nselect ${owner};").expect_err("missing");
        assert_eq!(missing, MissingPlaceholder { script: "V1__a.sql".into(), line: 2, name: "owner".into() });
        assert_eq!(
            missing.to_string(),
            "V1__a.sql:2: no value for placeholder ${owner}; give it in `placeholders` (UserParameters) or --placeholder"
        );
        assert_eq!(
            values.apply("V1__a.sql", "select '${unterminated'").expect("left alone"),
            "select '${unterminated'"
        );
    }
}
