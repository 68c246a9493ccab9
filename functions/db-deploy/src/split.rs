//! Splitting a script into statements, per engine, without ever splitting inside a string, a quoted
//! identifier, a comment or a compound body.
//!
//! - PostgreSQL: `'...'` (with `''`), `E'...'` (backslash escapes), `"..."`, `$tag$ ... $tag$` bodies, `--`
//!   and nested `/* */` comments, and SQL-standard `BEGIN ATOMIC ... END` function bodies.
//! - MySQL / MariaDB: `DELIMITER` lines, `'...'` and `"..."` with backslash escapes, backticks, `#`, `-- `
//!   and `/* */` comments, and `BEGIN ... END` bodies of procedures, functions, triggers and events written
//!   with the ordinary `;` (nested `BEGIN`/`CASE` blocks; `END IF`, `END LOOP`, ... close nothing counted).
//! - SQLite: quotes, backticks, `[...]`, comments and `CREATE TRIGGER ... BEGIN ... END`.
//!
//! PostgreSQL statements that cannot run inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...)
//! are recognised by [`Statement::needs_no_transaction`].

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
        })
    }
}

/// One statement of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement without its delimiter (comments inside it kept).
    pub sql: String,
    /// The 1-based line of its first token.
    pub line: usize,
    /// Its first words outside comments and quotes, upper-cased (at most 8).
    pub keywords: Vec<String>,
}

impl Statement {
    /// Whether the first keyword is one of `words`.
    pub fn starts_with_any(&self, words: &[&str]) -> bool {
        self.keywords.first().is_some_and(|k| words.contains(&k.as_str()))
    }

    fn starts_with(&self, words: &[&str]) -> bool {
        self.keywords.len() >= words.len() && self.keywords.iter().zip(words).all(|(a, b)| a == b)
    }

    /// The script manages transactions itself (`BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`, `END`).
    pub fn controls_transaction(&self) -> bool {
        match self.keywords.first().map(String::as_str) {
            Some("COMMIT" | "ROLLBACK" | "SAVEPOINT") => true,
            Some("START") => self.keywords.get(1).is_some_and(|w| w == "TRANSACTION"),
            Some("BEGIN" | "END") => {
                self.keywords.len() == 1
                    || matches!(
                        self.keywords[1].as_str(),
                        "TRANSACTION" | "WORK" | "ISOLATION" | "IMMEDIATE" | "EXCLUSIVE" | "DEFERRED"
                    )
            }
            _ => false,
        }
    }

    /// The engine refuses to run it inside a transaction block (PostgreSQL), or it has no effect there
    /// (SQLite's `PRAGMA foreign_keys`, `VACUUM`).
    pub fn needs_no_transaction(&self, dialect: Dialect) -> bool {
        if dialect == Dialect::Sqlite {
            return self.starts_with(&["VACUUM"]) || self.starts_with(&["PRAGMA", "FOREIGN_KEYS"]);
        }
        if dialect != Dialect::Postgres {
            return false;
        }
        let k = &self.keywords;
        if k.iter().any(|w| w == "DETACH") && k.iter().any(|w| w == "CONCURRENTLY") {
            return true;
        }
        if self.starts_with(&["REINDEX", "DATABASE"]) || self.starts_with(&["REINDEX", "SYSTEM"]) {
            return true;
        }
        let concurrently = k.iter().take(5).any(|w| w == "CONCURRENTLY");
        let index_work = self.starts_with(&["CREATE", "INDEX"])
            || self.starts_with(&["CREATE", "UNIQUE", "INDEX"])
            || self.starts_with(&["DROP", "INDEX"])
            || self.starts_with(&["REINDEX"]);
        (index_work && concurrently)
            || self.starts_with(&["VACUUM"])
            || self.starts_with(&["CREATE", "DATABASE"])
            || self.starts_with(&["DROP", "DATABASE"])
            || self.starts_with(&["CREATE", "TABLESPACE"])
            || self.starts_with(&["DROP", "TABLESPACE"])
            || self.starts_with(&["ALTER", "SYSTEM"])
    }
}

/// A script that cannot be split: something opened and never closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what} opened here is never closed")]
pub struct SplitError {
    pub line: usize,
    pub what: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Normal,
    Single { backslash: bool },
    Double { backslash: bool },
    Backtick,
    Bracket,
    Dollar(String),
    LineComment,
    Block(usize),
}

/// The statement being gathered.
#[derive(Debug, Default)]
struct Current {
    sql: String,
    line: Option<usize>,
    words: Vec<String>,
    /// Nesting of BEGIN/CASE blocks inside a compound body.
    depth: usize,
    /// An END was read; the next word decides whether it closes a block (`END IF` does not).
    pending_end: bool,
    /// Whether this statement can hold a compound body.
    compound: bool,
}

struct Splitter {
    dialect: Dialect,
    delimiter: String,
    /// A Liquibase `endDelimiter` (e.g. `/` or `GO`) counts only at the end of a line.
    at_line_end: bool,
    out: Vec<Statement>,
    current: Current,
}

impl Splitter {
    fn resolve_end(&mut self, next: Option<&str>) {
        if !self.current.pending_end {
            return;
        }
        self.current.pending_end = false;
        if !matches!(next, Some("IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR")) {
            self.current.depth = self.current.depth.saturating_sub(1);
        }
    }

    fn word(&mut self, word: &str, line: usize) {
        self.current.line.get_or_insert(line);
        let upper = word.to_ascii_uppercase();
        let previous = self.current.words.last().cloned();
        let after_end = self.current.pending_end;
        self.resolve_end(Some(&upper));
        if self.current.words.len() < 64 {
            self.current.words.push(upper.clone());
        }
        if !self.current.compound {
            self.current.compound = match self.dialect {
                Dialect::Postgres => upper == "ATOMIC" && previous.as_deref() == Some("BEGIN"),
                Dialect::MySql | Dialect::Sqlite => {
                    self.delimiter == ";"
                        && self.current.words.first().is_some_and(|w| w == "CREATE")
                        && matches!(upper.as_str(), "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT")
                }
            };
            if self.current.compound && self.dialect == Dialect::Postgres {
                self.current.depth = 1;
            }
            return;
        }
        match upper.as_str() {
            "BEGIN" => self.current.depth += 1,
            // `END CASE` closes the CASE the END already counted; a CASE expression ends with END.
            "CASE" if !after_end => self.current.depth += 1,
            "END" => self.current.pending_end = true,
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.resolve_end(None);
        let current = std::mem::take(&mut self.current);
        if let Some(line) = current.line {
            let sql = current.sql.trim().to_string();
            let keywords = current.words.into_iter().take(8).collect();
            self.out.push(Statement { sql, line, keywords });
        }
    }
}

/// Splits `text` into statements for `dialect`.
pub fn split(text: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    split_with(text, dialect, None)
}

/// Splits with `end_delimiter` (Liquibase's `endDelimiter`, e.g. `/` or `GO`) instead of `;`; it ends a
/// statement only where nothing but spaces follow it on its line.
pub fn split_with(text: &str, dialect: Dialect, end_delimiter: Option<&str>) -> Result<Vec<Statement>, SplitError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut s = Splitter {
        dialect,
        delimiter: end_delimiter.unwrap_or(";").to_string(),
        at_line_end: end_delimiter.is_some(),
        out: Vec::new(),
        current: Current::default(),
    };
    let bytes = text.as_bytes();
    let mut state = State::Normal;
    let mut opened_at = 1;
    let mut line = 1;
    let mut i = 0;
    let mut at_line_start = true;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        match &state {
            State::Normal => {
                // MySQL `DELIMITER xx` on a line of its own, between statements.
                if dialect == Dialect::MySql
                    && at_line_start
                    && s.current.line.is_none()
                    && rest.as_bytes().get(..9).is_some_and(|b| b.eq_ignore_ascii_case(b"DELIMITER"))
                    && rest.as_bytes().get(9).is_some_and(u8::is_ascii_whitespace)
                {
                    let end = rest.find('\n').unwrap_or(rest.len());
                    let new = rest[9..end].trim();
                    if !new.is_empty() {
                        s.delimiter = new.to_string();
                        s.current = Current::default();
                        i += end;
                        continue;
                    }
                }
                let delimited = rest
                    .strip_prefix(s.delimiter.as_str())
                    .is_some_and(|after| !s.at_line_end || after.split('\n').next().unwrap_or("").trim().is_empty());
                if delimited {
                    // `END;` closes its block before the delimiter is judged.
                    s.resolve_end(None);
                    if s.current.depth == 0 || s.delimiter != ";" {
                        s.finish();
                        i += s.delimiter.len();
                        at_line_start = false;
                        // A comment after the delimiter on the same line belongs to the statement it ends
                        // (`DROP TABLE a; -- db-deploy:allow ...` must not reach the next statement).
                        let line_rest = text[i..].split('\n').next().unwrap_or("");
                        let comment = line_rest.trim_start();
                        let is_comment = (comment.starts_with("--")
                            && (dialect != Dialect::MySql
                                || comment.len() == 2
                                || comment[2..].starts_with(char::is_whitespace)))
                            || (dialect == Dialect::MySql && comment.starts_with('#'));
                        if is_comment {
                            if let Some(last) = s.out.last_mut() {
                                last.sql.push(' ');
                                last.sql.push_str(comment.trim_end());
                            }
                            i += line_rest.len();
                        }
                        continue;
                    }
                }
                if rest.starts_with("--")
                    && (dialect != Dialect::MySql || rest[2..].starts_with(char::is_whitespace) || rest.len() == 2)
                {
                    state = State::LineComment;
                    s.current.sql.push_str("--");
                    i += 2;
                    continue;
                }
                if c == b'#' && dialect == Dialect::MySql {
                    state = State::LineComment;
                } else if rest.starts_with("/*") {
                    state = State::Block(1);
                    opened_at = line;
                    s.current.sql.push_str("/*");
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    s.current.line.get_or_insert(line);
                    let escape_string = dialect == Dialect::Postgres
                        && i > 0
                        && matches!(bytes[i - 1], b'E' | b'e')
                        && (i < 2 || !(bytes[i - 2].is_ascii_alphanumeric() || bytes[i - 2] == b'_'));
                    state = State::Single { backslash: dialect == Dialect::MySql || escape_string };
                    opened_at = line;
                } else if c == b'"' {
                    s.current.line.get_or_insert(line);
                    state = State::Double { backslash: dialect == Dialect::MySql };
                    opened_at = line;
                } else if c == b'`' && dialect != Dialect::Postgres {
                    s.current.line.get_or_insert(line);
                    state = State::Backtick;
                    opened_at = line;
                } else if c == b'[' && dialect == Dialect::Sqlite {
                    s.current.line.get_or_insert(line);
                    state = State::Bracket;
                    opened_at = line;
                } else if c == b'$' && dialect == Dialect::Postgres {
                    if let Some(tag) = dollar_tag(rest) {
                        s.current.line.get_or_insert(line);
                        s.current.sql.push_str(&tag);
                        i += tag.len();
                        state = State::Dollar(tag);
                        opened_at = line;
                        continue;
                    }
                } else if c.is_ascii_alphabetic() || c == b'_' {
                    let len = rest
                        .bytes()
                        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$'))
                        .unwrap_or(rest.len());
                    // `END$$` with `DELIMITER $$`: the delimiter ends the word (`$` may be part of a name).
                    let len = match rest[..len].find(s.delimiter.as_str()) {
                        Some(at) if at > 0 && s.delimiter != ";" => at,
                        _ => len,
                    };
                    let word = &rest[..len];
                    // `t.end`, `b.begin`: a qualified name is never a keyword.
                    if i > 0 && bytes[i - 1] == b'.' {
                        s.current.line.get_or_insert(line);
                        s.current.sql.push_str(word);
                        i += len;
                        at_line_start = false;
                        continue;
                    }
                    s.word(word, line);
                    s.current.sql.push_str(word);
                    i += len;
                    at_line_start = false;
                    continue;
                } else if !c.is_ascii_whitespace() {
                    s.current.line.get_or_insert(line);
                    if s.current.pending_end {
                        s.resolve_end(None);
                    }
                }
            }
            State::Single { backslash } | State::Double { backslash } => {
                let quote = if matches!(state, State::Single { .. }) { b'\'' } else { b'"' };
                if *backslash && c == b'\\' && i + 1 < bytes.len() {
                    let next = rest[1..].chars().next().map_or(1, char::len_utf8);
                    s.current.sql.push_str(&rest[..1 + next]);
                    if bytes[i + 1] == b'\n' {
                        line += 1;
                    }
                    i += 1 + next;
                    continue;
                }
                if c == quote {
                    if bytes.get(i + 1) == Some(&quote) {
                        s.current.sql.push_str(&rest[..2]);
                        i += 2;
                        continue;
                    }
                    state = State::Normal;
                }
            }
            State::Backtick => {
                if c == b'`' {
                    state = State::Normal;
                }
            }
            State::Bracket => {
                if c == b']' {
                    state = State::Normal;
                }
            }
            State::Dollar(tag) => {
                if rest.starts_with(tag.as_str()) {
                    let len = tag.len();
                    s.current.sql.push_str(&rest[..len]);
                    i += len;
                    state = State::Normal;
                    continue;
                }
            }
            State::LineComment => {
                if c == b'\n' {
                    state = State::Normal;
                }
            }
            State::Block(depth) => {
                let depth = *depth;
                if rest.starts_with("*/") {
                    s.current.sql.push_str("*/");
                    i += 2;
                    state = if depth > 1 { State::Block(depth - 1) } else { State::Normal };
                    continue;
                }
                if dialect == Dialect::Postgres && rest.starts_with("/*") {
                    s.current.sql.push_str("/*");
                    i += 2;
                    state = State::Block(depth + 1);
                    continue;
                }
            }
        }
        let ch_len = rest.chars().next().map_or(1, char::len_utf8);
        s.current.sql.push_str(&rest[..ch_len]);
        if c == b'\n' {
            line += 1;
            at_line_start = true;
        } else if !c.is_ascii_whitespace() {
            at_line_start = false;
        }
        i += ch_len;
    }
    let what = match state {
        State::Normal | State::LineComment => None,
        State::Single { .. } => Some("a quoted string"),
        State::Double { .. } => Some("a quoted identifier"),
        State::Backtick => Some("a backtick identifier"),
        State::Bracket => Some("a [bracketed] identifier"),
        State::Dollar(_) => Some("a dollar-quoted body"),
        State::Block(_) => Some("a /* comment"),
    };
    if let Some(what) = what {
        return Err(SplitError { line: opened_at, what });
    }
    if s.current.compound && s.current.depth > 0 && s.current.line.is_some() {
        s.resolve_end(None);
        if s.current.depth > 0 {
            return Err(SplitError { line: s.current.line.unwrap_or(1), what: "a BEGIN ... END body" });
        }
    }
    s.finish();
    Ok(s.out)
}

/// `$$` or `$tag$` at the start of `rest`.
fn dollar_tag(rest: &str) -> Option<String> {
    let bytes = rest.as_bytes();
    let end = bytes[1..].iter().position(|&b| b == b'$')? + 1;
    let tag = &rest[1..end];
    let valid = tag.is_empty()
        || (tag.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    valid.then(|| rest[..=end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str, dialect: Dialect) -> Vec<(usize, String)> {
        split(text, dialect).expect("splits").into_iter().map(|s| (s.line, s.sql)).collect()
    }

    #[test]
    fn postgres_strings_comments_and_dollar_bodies() {
        let script = "-- header; not a statement\ncreate table t (a text default 'x;y''z');\n\
            insert into t values (E'a\\';b');\n/* a; /* nested; */ still */ select \"a;b\" from t;\n\
            create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql;\n\
            do $$ begin perform 1; end $$;\nselect 1";
        let got = sql(script, Dialect::Postgres);
        assert_eq!(got.len(), 6, "{got:#?}");
        assert_eq!(got[0], (2, "-- header; not a statement\ncreate table t (a text default 'x;y''z')".to_string()));
        assert_eq!(got[1].0, 3);
        assert_eq!(got[2].0, 4);
        assert!(got[3].1.ends_with("$body$ language plpgsql"));
        assert_eq!(got[4], (6, "do $$ begin perform 1; end $$".to_string()));
        assert_eq!(got[5], (7, "select 1".to_string()));
    }

    #[test]
    fn postgres_begin_atomic_bodies_stay_whole() {
        let script = "create function add(a int, b int) returns int language sql\nbegin atomic\n  select case when a > 0 then a else 0 end;\n  select a + b;\nend;\nselect 2;";
        let got = sql(script, Dialect::Postgres);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].1.ends_with("select a + b;\nend"));
    }

    #[test]
    fn mysql_delimiters_and_compound_bodies() {
        let script = "# comment; here\nCREATE TABLE `a;b` (v varchar(10) DEFAULT 'it\\'s;');\n\
            CREATE PROCEDURE p()\nBEGIN\n  DECLARE x INT DEFAULT 0;\n  IF x = 0 THEN SET x = 1; END IF;\n  \
            lbl: LOOP LEAVE lbl; END LOOP;\n  SELECT CASE WHEN x = 1 THEN 'a' ELSE 'b' END;\n  CASE x WHEN 1 THEN SET x = 2; END CASE;\n  \
            BEGIN SELECT 1; END;\nEND;\n\
            DELIMITER $$\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.v = 'x'; END$$\nDELIMITER ;\n\
            SELECT 1 -- trailing comment\n;\nSELECT 2--3\n;";
        let got = sql(script, Dialect::MySql);
        assert_eq!(got.len(), 5, "{got:#?}");
        assert_eq!(got[0].0, 2);
        assert!(
            got[1].1.starts_with("CREATE PROCEDURE p()") && got[1].1.ends_with("BEGIN SELECT 1; END;\nEND"),
            "{}",
            got[1].1
        );
        assert_eq!(got[2].1, "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.v = 'x'; END");
        assert_eq!(got[3].1, "SELECT 1 -- trailing comment");
        assert_eq!(got[4].1, "SELECT 2--3", "`--` without a space is not a MySQL comment");
    }

    #[test]
    fn qualified_begin_and_end_columns_are_not_blocks() {
        let script = "CREATE PROCEDURE p()\nBEGIN\n  SELECT b.end, b.begin FROM bookings b WHERE b.end < NOW();\n  UPDATE bookings SET note = 'x';\nEND;\nSELECT 1;";
        let got = sql(script, Dialect::MySql);
        assert_eq!(got.len(), 2, "{got:#?}");
    }

    #[test]
    fn sqlite_triggers() {
        let script = "create table [a;b] (x);\ncreate trigger t after insert on x begin insert into y values (1); update z set a = 1; end;\nselect 1;";
        let got = sql(script, Dialect::Sqlite);
        assert_eq!(got.len(), 3, "{got:#?}");
    }

    #[test]
    fn unterminated_things_are_errors_with_their_line() {
        assert_eq!(
            split("select 1;\nselect 'oops;", Dialect::Postgres),
            Err(SplitError { line: 2, what: "a quoted string" })
        );
        assert_eq!(split("do $x$ begin", Dialect::Postgres), Err(SplitError { line: 1, what: "a dollar-quoted body" }));
        assert_eq!(split("/* a /* b */", Dialect::Postgres), Err(SplitError { line: 1, what: "a /* comment" }));
        assert_eq!(
            split("select 1;\nCREATE PROCEDURE p() BEGIN SELECT 1;", Dialect::MySql),
            Err(SplitError { line: 2, what: "a BEGIN ... END body" })
        );
    }

    #[test]
    fn trailing_comments_stay_with_their_statement_and_non_ascii_never_panics() {
        let got = sql("DROP TABLE a; -- db-deploy:allow drop-table reason: x\nDROP TABLE b;", Dialect::Postgres);
        assert_eq!(
            got,
            [(1, "DROP TABLE a -- db-deploy:allow drop-table reason: x".to_string()), (2, "DROP TABLE b".to_string())]
        );
        let got = sql("SELECT 1; # note\n# Привет, 日本語\nSELECT 2;", Dialect::MySql);
        assert_eq!(got, [(1, "SELECT 1 # note".to_string()), (3, "# Привет, 日本語\nSELECT 2".to_string())]);
        let got = split_with("SELECT 'café' \u{a0}\n/\n", Dialect::Postgres, Some("/")).expect("splits");
        assert_eq!(got.len(), 1);
        assert_eq!(
            sql("\u{feff}CREATE TABLE t (id int);", Dialect::Sqlite),
            [(1, "CREATE TABLE t (id int)".to_string())]
        );
    }

    #[test]
    fn liquibase_end_delimiters_count_at_line_end_only() {
        let script =
            "CREATE FUNCTION f() RETURNS int AS 'select 4/2; select 1' LANGUAGE sql\n/\nSELECT 6 / 3;\nSELECT 1\n/  \n";
        let got = split_with(script, Dialect::Postgres, Some("/")).expect("splits");
        let sql: Vec<&str> = got.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            ["CREATE FUNCTION f() RETURNS int AS 'select 4/2; select 1' LANGUAGE sql", "SELECT 6 / 3;\nSELECT 1"]
        );
        assert_eq!(got[1].line, 3);
    }

    #[test]
    fn statements_that_need_no_transaction() {
        let stmts = split(
            "CREATE INDEX CONCURRENTLY i ON t (a);\ncreate unique index concurrently j on t (b);\nDROP INDEX CONCURRENTLY i;\n\
             VACUUM t;\nREINDEX INDEX CONCURRENTLY j;\nCREATE INDEX k ON t (c);\ncreate table concurrently_named (a int);",
            Dialect::Postgres,
        )
        .expect("splits");
        let flags: Vec<bool> = stmts.iter().map(|s| s.needs_no_transaction(Dialect::Postgres)).collect();
        assert_eq!(flags, [true, true, true, true, true, false, false]);
        let more = split(
            "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;\nREINDEX DATABASE app;\nBEGIN;\nCOMMIT;\nSET lock_timeout = '3s';",
            Dialect::Postgres,
        )
        .expect("splits");
        let flags: Vec<(bool, bool)> =
            more.iter().map(|s| (s.needs_no_transaction(Dialect::Postgres), s.controls_transaction())).collect();
        assert_eq!(flags, [(true, false), (true, false), (false, true), (false, true), (false, false)]);
        let lite = split("PRAGMA foreign_keys = OFF;\nVACUUM;", Dialect::Sqlite).expect("splits");
        assert!(lite.iter().all(|s| s.needs_no_transaction(Dialect::Sqlite)));
        assert!(!stmts[0].needs_no_transaction(Dialect::MySql));
    }
}
