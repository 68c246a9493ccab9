//! The forecast: every statement that would run is parsed with sqlparser in the engine's dialect and
//! checked by the rules, before anything is written. One module per rule under [`rules`], identified by a
//! kebab-case [`RuleId`]; findings are data, a rule never fails.
//!
//! Rules about data already in a table (drops, renames, type changes, locking index builds, ...) leave
//! alone the tables created earlier in the same run: a table created by a pending migration holds nothing yet.

use crate::split::{Dialect, Statement};
use serde::Serialize;
use sqlparser::ast;
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use std::collections::HashSet;
use std::fmt;

pub mod rules;
pub mod settings;
pub mod suppress;

pub use rules::RuleId;
pub use settings::{Settings, SettingsError};

/// How bad a finding is: an error fails the job before the database is touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: where, which rule, what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule_id: RuleId,
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Finding {
    /// `file:line rule: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} {}: {}", self.file, self.line, self.rule_id, self.message)
    }
}

/// A script to forecast: its path (as shown) and its statements in order.
#[derive(Clone, Debug)]
pub struct Script<'a> {
    pub path: &'a str,
    pub statements: &'a [Statement],
    /// The script is marked to run outside a transaction (so mixing is intended).
    pub outside_transaction: bool,
}

/// The findings of a forecast, errors first, then by file and line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    pub scripts: usize,
    pub statements: usize,
    pub findings: Vec<Finding>,
    /// Findings silenced by a suppression comment with a reason (kept for the report).
    pub suppressed: Vec<Suppressed>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppressed {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
}

impl Forecast {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Warning).count()
    }
}

/// What a rule sees: the parsed statement and the run so far.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub dialect: Dialect,
    pub settings: &'a Settings,
    /// Tables created earlier in this run (lower-cased, without schema).
    pub created: &'a HashSet<String>,
}

impl Ctx<'_> {
    /// Whether `name` is a table that exists before this run (as far as the run knows).
    pub fn existing(&self, name: &ast::ObjectName) -> bool {
        !self.created.contains(&table_key(name))
    }
}

/// Where rules push what they find.
#[derive(Debug)]
pub struct Hits {
    found: Vec<(RuleId, String)>,
}

impl Hits {
    pub fn push(&mut self, rule: RuleId, message: String) {
        self.found.push((rule, message));
    }
}

/// The name as written (schema included), unquoted and lower-cased: a key for "created in this run".
/// `archive.orders` and `orders` are different tables; a table named both ways counts as existing.
pub fn table_key(name: &ast::ObjectName) -> String {
    shown(name).to_lowercase()
}

/// A name for messages: its parts without quotes, joined with `.`.
pub fn shown(name: &ast::ObjectName) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part {
            ast::ObjectNamePart::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect();
    parts.join(".")
}

fn parser_dialect(dialect: Dialect) -> Box<dyn sqlparser::dialect::Dialect> {
    match dialect {
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::MySql => Box::new(MySqlDialect {}),
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// Runs the rules over the scripts, in order (tables created by one script are new for the next).
pub fn forecast(scripts: &[Script<'_>], dialect: Dialect, settings: &Settings) -> Forecast {
    let parser = parser_dialect(dialect);
    let mut created: HashSet<String> = HashSet::new();
    let mut out = Forecast { scripts: scripts.len(), ..Forecast::default() };
    for script in scripts {
        out.statements += script.statements.len();
        let mut raised: Vec<(RuleId, usize, String, Option<suppress::Allow>)> = Vec::new();
        let mut invalid: Vec<(usize, String)> = Vec::new();
        let mut transactional: Option<usize> = None;
        let mut outside: Option<&Statement> = None;
        for statement in script.statements {
            let allows = suppress::parse(&statement.sql, statement.line);
            for bad in allows.invalid {
                invalid.push((bad.line, bad.message));
            }
            if statement.needs_no_transaction(dialect) {
                outside.get_or_insert(statement);
            } else if !statement.starts_with_any(&["SET", "RESET"]) && !statement.controls_transaction() {
                // Session settings (`SET lock_timeout ...`) are as good outside a transaction.
                transactional.get_or_insert(statement.line);
            }
            let mut hits = Hits { found: Vec::new() };
            match Parser::parse_sql(parser.as_ref(), &statement.sql) {
                Err(error) => hits.push(
                    RuleId::UnparseableStatement,
                    format!(
                        "the statement cannot be parsed as {dialect} SQL ({error}), so no rule checked it; review it \
                         by hand"
                    ),
                ),
                Ok(parsed) => {
                    for ast in &parsed {
                        let ctx = Ctx { dialect, settings, created: &created };
                        rules::check(&ctx, ast, &mut hits);
                        remember_created(ast, &mut created);
                    }
                }
            }
            for (rule, message) in hits.found {
                let allow = allows.valid.iter().find(|a| a.rules.contains(&rule)).cloned();
                raised.push((rule, statement.line, message, allow));
            }
        }
        if let (Some(line), Some(first_outside), false) = (transactional, outside, script.outside_transaction) {
            raised.push((
                RuleId::MixedTransactionModes,
                first_outside.line,
                format!(
                    "`{}` cannot run inside a transaction, but the script also has statements that should (from line \
                     {line}); PostgreSQL would reject it inside the migration's transaction",
                    head(&first_outside.sql)
                ),
                None,
            ));
        }
        for (line, message) in invalid {
            raised.push((RuleId::InvalidSuppressionComment, line, message, None));
        }
        for (rule, line, message, allow) in raised {
            let setting = settings.rule(rule);
            if !setting.enabled {
                continue;
            }
            let finding =
                Finding { rule_id: rule, severity: setting.severity, file: script.path.to_string(), line, message };
            match allow {
                Some(allow) if settings.allow_suppressions => {
                    out.suppressed.push(Suppressed { finding, reason: allow.reason });
                }
                _ => out.findings.push(finding),
            }
        }
    }
    out.findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.file.cmp(&b.file)).then_with(|| a.line.cmp(&b.line))
    });
    out
}

/// The statement's first line of code, shortened for a message.
fn head(sql: &str) -> String {
    let line = sql.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or("");
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line.to_string()
    }
}

fn remember_created(ast: &ast::Statement, created: &mut HashSet<String>) {
    match ast {
        // `IF NOT EXISTS` may meet an existing table full of data: it stays "existing".
        ast::Statement::CreateTable(table) if !table.if_not_exists => {
            created.insert(table_key(&table.name));
        }
        ast::Statement::RenameTable(renames) => {
            for rename in renames {
                if created.remove(&table_key(&rename.old_name)) {
                    created.insert(table_key(&rename.new_name));
                }
            }
        }
        ast::Statement::AlterTable(alter) => {
            for op in &alter.operations {
                if let ast::AlterTableOperation::RenameTable {
                    table_name: ast::RenameTableNameKind::To(new) | ast::RenameTableNameKind::As(new),
                } = op
                    && created.remove(&table_key(&alter.name))
                {
                    created.insert(table_key(new));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::split::split;

    /// `line rule: message` of every finding for `sql` as one script.
    pub fn findings_with(sql: &str, dialect: Dialect, settings: &Settings) -> Vec<String> {
        let statements = split(sql, dialect).expect("splits");
        let script = Script { path: "V1__test.sql", statements: &statements, outside_transaction: false };
        forecast(&[script], dialect, settings)
            .findings
            .iter()
            .map(|f| format!("{} {}: {}", f.line, f.rule_id, f.message))
            .collect()
    }

    /// The findings of one rule for `sql`.
    pub fn hits(rule: &str, sql: &str, dialect: Dialect) -> Vec<String> {
        let prefix = format!(" {rule}: ");
        findings_with(sql, dialect, &Settings::default())
            .into_iter()
            .filter(|f| f.contains(&prefix))
            .map(|f| f.replacen(&prefix, " ", 1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::findings_with;
    use super::*;
    use crate::split::split;

    #[test]
    fn suppressions_need_a_reason_and_can_be_switched_off() {
        let sql = "-- db-deploy:allow drop-table reason: replaced by orders_v2 (ticket DB-12)\nDROP TABLE orders;\n\
                   -- db-deploy:allow drop-table\nDROP TABLE carts;\n\
                   -- db-deploy:allow no-such-rule reason: x\nDROP TABLE baskets;";
        let statements = split(sql, Dialect::Postgres).expect("splits");
        let script = Script { path: "V2__drop.sql", statements: &statements, outside_transaction: false };
        let result = forecast(std::slice::from_ref(&script), Dialect::Postgres, &Settings::default());
        let shown: Vec<String> = result.findings.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "V2__drop.sql:3 invalid-suppression-comment: `db-deploy:allow drop-table` has no reason; write \
                 `-- db-deploy:allow drop-table reason: <why this is safe>` (the suppression is not applied)",
                "V2__drop.sql:4 drop-table: drops table `carts` and every row in it",
                "V2__drop.sql:5 invalid-suppression-comment: `no-such-rule` is not a db-deploy rule (the suppression \
                 is not applied)",
                "V2__drop.sql:6 drop-table: drops table `baskets` and every row in it",
            ]
        );
        assert_eq!(result.suppressed.len(), 1);
        assert_eq!(result.suppressed[0].reason, "replaced by orders_v2 (ticket DB-12)");
        assert_eq!(result.suppressed[0].finding.line, 2);

        let mut strict = Settings::default();
        strict.allow_suppressions = false;
        let result = forecast(&[script], Dialect::Postgres, &strict);
        assert_eq!(result.errors(), 5, "{:#?}", result.findings);
        assert!(result.suppressed.is_empty());
    }

    #[test]
    fn unparseable_statements_are_warnings_never_silent() {
        assert_eq!(
            findings_with(
                "CREATE TABLE t (id int PRIMARY KEY);\nFROBNICATE THE DATABASE;",
                Dialect::Postgres,
                &Settings::default()
            ),
            [
                "2 unparseable-statement: the statement cannot be parsed as PostgreSQL SQL (sql parser error: Expected: an \
              SQL statement, found: FROBNICATE at Line: 1, Column: 1), so no rule checked it; review it by hand"
            ]
        );
    }

    #[test]
    fn mixing_transactional_and_concurrent_statements() {
        let sql = "CREATE TABLE t (id int PRIMARY KEY);\nCREATE INDEX CONCURRENTLY i ON t (id);";
        assert_eq!(
            findings_with(sql, Dialect::Postgres, &Settings::default()),
            [
                "2 mixed-transaction-modes: `CREATE INDEX CONCURRENTLY i ON t (id)` cannot run inside a transaction, but the \
              script also has statements that should (from line 1); PostgreSQL would reject it inside the migration's \
              transaction"
            ]
        );
        let statements = split(sql, Dialect::Postgres).expect("splits");
        let marked = Script { path: "V1__x.sql", statements: &statements, outside_transaction: true };
        assert!(forecast(&[marked], Dialect::Postgres, &Settings::default()).findings.is_empty());
        assert!(findings_with(sql, Dialect::MySql, &Settings::default()).iter().all(|f| !f.contains("mixed")));
    }

    #[test]
    fn tables_created_earlier_in_the_run_are_new() {
        let first = split("CREATE TABLE a (id int PRIMARY KEY);", Dialect::Postgres).expect("splits");
        let second =
            split("ALTER TABLE a DROP COLUMN id;\nALTER TABLE b DROP COLUMN id;", Dialect::Postgres).expect("splits");
        let scripts = [
            Script { path: "V1__a.sql", statements: &first, outside_transaction: false },
            Script { path: "V2__b.sql", statements: &second, outside_transaction: false },
        ];
        let result = forecast(&scripts, Dialect::Postgres, &Settings::default());
        let shown: Vec<String> = result.findings.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["V2__b.sql:2 drop-column: drops column `id` of `b` and its data"]);
        assert_eq!((result.scripts, result.statements), (2, 3));
    }
}
