//! Liquibase formatted SQL changelogs: `--liquibase formatted sql`, then `--changeset author:id` blocks with
//! their attributes (`labels:`, `context:`, `runInTransaction:`, `splitStatements:`, `endDelimiter:`,
//! `runOnChange:`, `runAlways:`, `dbms:`), `--labels:` / `--context:` / `--comment:` lines and `--rollback`
//! lines (kept for the report, never run by a deploy), and the label and context expressions that select
//! changesets (`!`, `not`, `and`, `or`, commas, parentheses; `$all`).
//!
//! Tracking: changesets are recorded the Liquibase way, in `databasechangelog` (Liquibase's columns), so a
//! database deployed by Datical or Liquibase continues: a changeset is applied iff no row has its id, author
//! and file. db-deploy writes its own checksum (`d1:` + MD5 of the changeset's SQL) and checks drift against
//! it; rows written by Liquibase (`8:…`, `9:…`) are matched by identity only, because Liquibase's checksum
//! algorithm is not reproduced here.

use crate::db::ChangelogRow;
use crate::source::SourceFile;
use md5::{Digest, Md5};
use std::collections::BTreeSet;

/// One changeset of a changelog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    pub author: String,
    pub id: String,
    /// The changelog's path relative to the migrations folder (`databasechangelog.filename`).
    pub file: String,
    /// Line of the `--changeset` line.
    pub line: usize,
    pub labels: Vec<String>,
    /// The changeset's context expression, if any.
    pub context: Option<String>,
    pub comment: Option<String>,
    pub dbms: Vec<String>,
    pub run_in_transaction: bool,
    pub split_statements: bool,
    pub end_delimiter: Option<String>,
    pub run_on_change: bool,
    pub run_always: bool,
    /// The SQL to run, with the changelog's line numbers kept (earlier lines are blank).
    pub sql: String,
    pub rollback: Vec<String>,
}

impl ChangeSet {
    /// `changeset alice:42 (changes.sql)`
    pub fn label(&self) -> String {
        format!("changeset {}:{} ({})", self.author, self.id, self.file)
    }

    /// What db-deploy stores in `md5sum`: `d1:` and the MD5 of the SQL lines, trimmed, without blank lines
    /// (so line endings and indentation do not count).
    pub fn checksum(&self) -> String {
        let mut md5 = Md5::new();
        for line in self.sql.lines().map(str::trim).filter(|l| !l.is_empty()) {
            md5.update(line.as_bytes());
            md5.update(b"\n");
        }
        let digest = md5.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("d1:{hex}")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ChangelogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Splits `--changeset a:b key:value key:"quoted value"` attributes.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(colon) = rest.find(':') else { break };
        let key = rest[..colon].trim().to_string();
        let after = &rest[colon + 1..];
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (quoted[..end].to_string(), quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((key, value));
        rest = remaining.trim_start();
    }
    out
}

/// Parses a changelog into its changesets.
pub fn parse(file: &SourceFile) -> Result<Vec<ChangeSet>, ChangelogError> {
    let error = |line: usize, message: String| ChangelogError { file: file.path.clone(), line, message };
    let mut changesets: Vec<ChangeSet> = Vec::new();
    let mut seen = BTreeSet::new();
    let lines: Vec<&str> = file.text.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        let directive = trimmed.strip_prefix("--").map(str::trim_start);
        if let Some(rest) =
            directive.and_then(|d| d.strip_prefix("changeset")).filter(|r| r.starts_with(char::is_whitespace))
        {
            let rest = rest.trim();
            let (identity, attrs) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let (author, id) = identity
                .split_once(':')
                .filter(|(a, i)| !a.is_empty() && !i.is_empty())
                .ok_or_else(|| error(number, format!("`--changeset {identity}` is not `--changeset author:id`")))?;
            if !seen.insert((author.to_string(), id.to_string())) {
                return Err(error(number, format!("changeset {author}:{id} appears twice in this changelog")));
            }
            let mut changeset = ChangeSet {
                author: author.to_string(),
                id: id.to_string(),
                file: file.path.clone(),
                line: number,
                labels: Vec::new(),
                context: None,
                comment: None,
                dbms: Vec::new(),
                run_in_transaction: true,
                split_statements: true,
                end_delimiter: None,
                run_on_change: false,
                run_always: false,
                sql: "\n".repeat(number),
                rollback: Vec::new(),
            };
            for (key, value) in attributes(attrs) {
                let flag =
                    |v: &str| parse_bool(v).ok_or_else(|| error(number, format!("{key}:{v} must be true or false")));
                match key.as_str() {
                    "labels" => changeset.labels = split_list(&value),
                    "context" | "contexts" | "contextFilter" => changeset.context = Some(value),
                    "dbms" => changeset.dbms = split_list(&value),
                    "runInTransaction" => changeset.run_in_transaction = flag(&value)?,
                    "splitStatements" => changeset.split_statements = flag(&value)?,
                    "endDelimiter" => changeset.end_delimiter = Some(value),
                    "runOnChange" => changeset.run_on_change = flag(&value)?,
                    "runAlways" => changeset.run_always = flag(&value)?,
                    "stripComments" | "logicalFilePath" | "created" | "runWith" | "ignore" => {}
                    "failOnError" => {
                        if !flag(&value)? {
                            return Err(error(
                                number,
                                "failOnError:false is not supported: a failure always stops the deploy".into(),
                            ));
                        }
                    }
                    other => {
                        return Err(error(
                            number,
                            format!(
                                "unknown changeset attribute `{other}` (known: labels, context, dbms, runInTransaction, \
                                 splitStatements, endDelimiter, runOnChange, runAlways, failOnError, stripComments)"
                            ),
                        ));
                    }
                }
            }
            changesets.push(changeset);
            continue;
        }
        let Some(current) = changesets.last_mut() else {
            // Before the first changeset: the header, comments and blank lines only.
            if !(trimmed.is_empty() || trimmed.starts_with("--")) {
                return Err(error(number, "SQL before the first `--changeset author:id` line".into()));
            }
            continue;
        };
        if let Some(d) = directive {
            if let Some(value) = d.strip_prefix("labels:") {
                current.labels.extend(split_list(value));
            } else if let Some(value) = d.strip_prefix("context:").or_else(|| d.strip_prefix("contexts:")) {
                current.context = Some(value.trim().to_string());
            } else if let Some(value) = d.strip_prefix("comment:") {
                current.comment = Some(value.trim().to_string());
            } else if let Some(value) = d.strip_prefix("rollback") {
                current.rollback.push(value.trim().to_string());
            } else if d.starts_with("precondition") {
                return Err(error(number, "preconditions are not supported; express the condition in SQL".into()));
            } else {
                current.sql.push_str(raw);
            }
        } else {
            current.sql.push_str(raw);
        }
        current.sql.push('\n');
    }
    if changesets.is_empty() {
        return Err(error(1, "a Liquibase formatted SQL changelog without any `--changeset author:id`".into()));
    }
    Ok(changesets)
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A label or context expression: identifiers joined by `and`, `or`, `,` (or), `!` / `not`, parentheses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    All,
    Name(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a label/context expression: {reason}")]
pub struct ExprError {
    pub text: String,
    pub reason: String,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let bad = |reason: &str| ExprError { text: text.to_string(), reason: reason.to_string() };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "$all" {
            return Ok(Expr::All);
        }
        let mut tokens = Vec::new();
        let mut chars = trimmed.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '(' | ')' | ',' | '!' => tokens.push(c.to_string()),
                c if c.is_whitespace() => {}
                _ => {
                    let mut end = at + c.len_utf8();
                    while let Some(&(i, n)) = chars.peek() {
                        if n.is_whitespace() || "(),!".contains(n) {
                            break;
                        }
                        end = i + n.len_utf8();
                        chars.next();
                    }
                    tokens.push(trimmed[at..end].to_string());
                }
            }
        }
        let mut position = 0;
        let expr = parse_or(&tokens, &mut position).map_err(|r| bad(&r))?;
        if position != tokens.len() {
            return Err(bad(&format!("unexpected `{}`", tokens[position])));
        }
        Ok(expr)
    }

    /// Whether the expression holds when exactly the names in `names` are true (case-insensitive).
    pub fn eval(&self, names: &[String]) -> bool {
        match self {
            Expr::All => true,
            Expr::Name(name) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
            Expr::Not(inner) => !inner.eval(names),
            Expr::And(a, b) => a.eval(names) && b.eval(names),
            Expr::Or(a, b) => a.eval(names) || b.eval(names),
        }
    }
}

fn parse_or(tokens: &[String], at: &mut usize) -> Result<Expr, String> {
    let mut left = parse_and(tokens, at)?;
    while let Some(t) = tokens.get(*at) {
        if t == "," || t.eq_ignore_ascii_case("or") {
            *at += 1;
            left = Expr::Or(Box::new(left), Box::new(parse_and(tokens, at)?));
        } else {
            break;
        }
    }
    Ok(left)
}

fn parse_and(tokens: &[String], at: &mut usize) -> Result<Expr, String> {
    let mut left = parse_not(tokens, at)?;
    while tokens.get(*at).is_some_and(|t| t.eq_ignore_ascii_case("and")) {
        *at += 1;
        left = Expr::And(Box::new(left), Box::new(parse_not(tokens, at)?));
    }
    Ok(left)
}

fn parse_not(tokens: &[String], at: &mut usize) -> Result<Expr, String> {
    match tokens.get(*at).map(String::as_str) {
        Some("!") => {
            *at += 1;
            Ok(Expr::Not(Box::new(parse_not(tokens, at)?)))
        }
        Some(t) if t.eq_ignore_ascii_case("not") => {
            *at += 1;
            Ok(Expr::Not(Box::new(parse_not(tokens, at)?)))
        }
        Some("(") => {
            *at += 1;
            let inner = parse_or(tokens, at)?;
            if tokens.get(*at).map(String::as_str) != Some(")") {
                return Err("a `(` is not closed".to_string());
            }
            *at += 1;
            Ok(inner)
        }
        Some(")") | Some(",") => Err(format!("`{}` where a name was expected", tokens[*at])),
        Some(t) if t.eq_ignore_ascii_case("and") || t.eq_ignore_ascii_case("or") => {
            Err(format!("`{t}` where a name was expected"))
        }
        Some(name) => {
            *at += 1;
            Ok(Expr::Name(name.to_string()))
        }
        None => Err("it ends where a name was expected".to_string()),
    }
}

/// Which changesets a run selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Over each changeset's labels; a changeset without labels is always selected (as in Liquibase).
    pub labels: Expr,
    /// The run's contexts; empty = every changeset. A changeset's context expression is evaluated over them.
    pub contexts: Vec<String>,
}

impl Default for Selection {
    fn default() -> Self {
        Self { labels: Expr::All, contexts: Vec::new() }
    }
}

impl Selection {
    pub fn selects(&self, changeset: &ChangeSet) -> Result<bool, ExprError> {
        let by_label = changeset.labels.is_empty() || self.labels.eval(&changeset.labels);
        let by_context = match (&changeset.context, self.contexts.is_empty()) {
            (None, _) | (_, true) => true,
            (Some(expression), false) => Expr::parse(expression)?.eval(&self.contexts),
        };
        Ok(by_label && by_context)
    }
}

/// Which selected changesets to run (and whether each re-runs over an existing row), or the problems that
/// stop the deploy: a changeset that failed earlier, or one changed after it ran (without `runOnChange`).
pub fn plan<'c>(rows: &[ChangelogRow], changesets: &'c [ChangeSet]) -> Result<Vec<(&'c ChangeSet, bool)>, Vec<String>> {
    let mut pending = Vec::new();
    let mut problems = Vec::new();
    for changeset in changesets {
        let row = rows
            .iter()
            .rev()
            .find(|r| r.id == changeset.id && r.author == changeset.author && r.filename == changeset.file);
        let Some(row) = row else {
            pending.push((changeset, false));
            continue;
        };
        if row.exectype.eq_ignore_ascii_case("FAILED") {
            problems.push(format!(
                "{} failed in an earlier run and may be partly applied; repair the database, then mark it repaired \
                 (db-deploy repair) before deploying again",
                changeset.label()
            ));
            continue;
        }
        if changeset.run_always {
            pending.push((changeset, true));
            continue;
        }
        // Only db-deploy's own checksums can be compared; Liquibase's rows are matched by identity.
        let ours = row.md5sum.as_deref().filter(|m| m.starts_with("d1:"));
        if let Some(stored) = ours
            && stored != changeset.checksum()
        {
            if changeset.run_on_change {
                pending.push((changeset, true));
            } else {
                problems.push(format!(
                    "{} changed after it was applied (line {}); restore it and put the change in a new changeset, or \
                     mark it runOnChange:true if it is meant to run again when changed",
                    changeset.label(),
                    changeset.line
                ));
            }
        }
    }
    if problems.is_empty() { Ok(pending) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGELOG: &str = "--liquibase formatted sql\n\n\
        --changeset alice:1 labels:core context:prod,test\n\
        --comment: accounts table\n\
        CREATE TABLE accounts (id INT PRIMARY KEY);\n\
        --rollback DROP TABLE accounts;\n\n\
        --changeset bob:2 runInTransaction:false endDelimiter:/ labels:\"reporting, slow\"\n\
        CREATE INDEX CONCURRENTLY accounts_id ON accounts (id)\n/\n\n\
        --changeset carol:3\n--labels: hotfix\nINSERT INTO accounts VALUES (1);\n";

    fn changelog() -> Vec<ChangeSet> {
        parse(&SourceFile { path: "db/changes.sql".into(), text: CHANGELOG.into() }).expect("valid")
    }

    #[test]
    fn changesets_with_attributes_lines_and_rollbacks() {
        let sets = changelog();
        assert_eq!(sets.len(), 3);
        assert_eq!((sets[0].author.as_str(), sets[0].id.as_str(), sets[0].line), ("alice", "1", 3));
        assert_eq!(sets[0].labels, ["core"]);
        assert_eq!(sets[0].context.as_deref(), Some("prod,test"));
        assert_eq!(sets[0].comment.as_deref(), Some("accounts table"));
        assert_eq!(sets[0].rollback, ["DROP TABLE accounts;"]);
        assert_eq!(sets[0].sql.lines().position(|l| l.starts_with("CREATE TABLE")), Some(4), "line 5 stays line 5");
        assert!(!sets[1].run_in_transaction);
        assert_eq!(sets[1].end_delimiter.as_deref(), Some("/"));
        assert_eq!(sets[1].labels, ["reporting", "slow"]);
        assert_eq!(sets[2].labels, ["hotfix"]);
        assert_eq!(sets[2].label(), "changeset carol:3 (db/changes.sql)");
        assert!(sets[0].checksum().starts_with("d1:") && sets[0].checksum().len() == 35);
        let mut reindented = sets[0].clone();
        reindented.sql = reindented.sql.replace("CREATE", "   CREATE").replace('\n', "\r\n");
        assert_eq!(reindented.checksum(), sets[0].checksum());
    }

    #[test]
    fn malformed_changelogs_name_the_line() {
        let bad =
            |text: &str| parse(&SourceFile { path: "c.sql".into(), text: text.into() }).expect_err("bad").to_string();
        assert_eq!(
            bad("--liquibase formatted sql\n--changeset alice\nSELECT 1;"),
            "c.sql:2: `--changeset alice` is not `--changeset author:id`"
        );
        assert_eq!(
            bad("--liquibase formatted sql\nSELECT 1;"),
            "c.sql:2: SQL before the first `--changeset author:id` line"
        );
        assert!(
            bad("--liquibase formatted sql\n--changeset a:1 runAlways:maybe\n")
                .contains("runAlways:maybe must be true or false")
        );
        assert!(bad("--liquibase formatted sql\n--changeset a:1\n--changeset a:1\n").contains("appears twice"));
        assert!(
            bad("--liquibase formatted sql\n--changeset a:1\n--precondition-sql-check expectedResult:0 select 1\n")
                .contains("preconditions are not supported")
        );
    }

    #[test]
    fn plan_by_identity_checksum_and_flags() {
        let mut sets = changelog();
        sets[2].run_always = true;
        let row = |c: &ChangeSet, md5: Option<String>, exectype: &str| ChangelogRow {
            id: c.id.clone(),
            author: c.author.clone(),
            filename: c.file.clone(),
            md5sum: md5,
            exectype: exectype.into(),
        };
        let ids =
            |p: Vec<(&ChangeSet, bool)>| p.into_iter().map(|(c, rerun)| (c.id.clone(), rerun)).collect::<Vec<_>>();
        assert_eq!(
            ids(plan(&[], &sets).expect("plan")),
            [("1".into(), false), ("2".into(), false), ("3".into(), false)]
        );
        let rows = vec![
            row(&sets[0], Some(sets[0].checksum()), "EXECUTED"),
            row(&sets[1], Some("9:0123456789abcdef0123456789abcdef".into()), "EXECUTED"),
            row(&sets[2], Some(sets[2].checksum()), "EXECUTED"),
        ];
        assert_eq!(ids(plan(&rows, &sets).expect("plan")), [("3".into(), true)], "Liquibase's checksum: identity only");
        let mut changed = sets.clone();
        changed[0].sql.push_str("ALTER TABLE accounts ADD COLUMN x INT;\n");
        let problems = plan(&rows, &changed).expect_err("drift");
        assert_eq!(
            problems,
            [
                "changeset alice:1 (db/changes.sql) changed after it was applied (line 3); restore it and put the change in a \
              new changeset, or mark it runOnChange:true if it is meant to run again when changed"
            ]
        );
        changed[0].run_on_change = true;
        assert_eq!(ids(plan(&rows, &changed).expect("plan")), [("1".into(), true), ("3".into(), true)]);
        let failed = vec![row(&sets[0], None, "FAILED")];
        assert!(plan(&failed, &sets).expect_err("failed")[0].contains("failed in an earlier run"));
    }

    #[test]
    fn label_expressions() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = |text: &str| Expr::parse(text).expect("valid");
        assert!(e("$all").eval(&[]));
        assert!(e("core").eval(&names(&["core", "x"])));
        assert!(e("core, reporting").eval(&names(&["reporting"])));
        assert!(e("core and !slow").eval(&names(&["core"])));
        assert!(!e("core and !slow").eval(&names(&["core", "slow"])));
        assert!(e("not (a or b) and c").eval(&names(&["c"])));
        assert!(!e("not (a or b) and c").eval(&names(&["a", "c"])));
        assert!(e("a or b and c").eval(&names(&["a"])), "and binds tighter than or");
        assert!(Expr::parse("a and").is_err());
        assert!(Expr::parse("(a").is_err());
        assert_eq!(Expr::parse("a )").expect_err("extra").reason, "unexpected `)`");
    }

    #[test]
    fn selection_by_labels_and_contexts() {
        let sets = changelog();
        let only = |labels: &str, contexts: &[&str]| {
            let selection = Selection {
                labels: Expr::parse(labels).expect("valid"),
                contexts: contexts.iter().map(|s| s.to_string()).collect(),
            };
            sets.iter().filter(|c| selection.selects(c).expect("valid")).map(|c| c.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(only("$all", &[]), ["1", "2", "3"]);
        assert_eq!(only("core", &[]), ["1"]);
        assert_eq!(only("!slow", &[]), ["1", "3"]);
        assert_eq!(only("$all", &["dev"]), ["2", "3"], "alice:1 runs only in prod or test");
        assert_eq!(only("$all", &["test"]), ["1", "2", "3"]);
    }
}
