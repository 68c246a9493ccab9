//! Suppression comments: `-- db-deploy:allow <rule-id>[, <rule-id>...] reason: <why>` in the comments of
//! a statement (before it or inside it) silences those rules for that statement. The reason is mandatory:
//! a comment without one, or naming an unknown rule, is itself a finding and suppresses nothing.

use super::RuleId;

const MARKER: &str = "db-deploy:allow";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    pub rules: Vec<RuleId>,
    pub reason: String,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allows {
    pub valid: Vec<Allow>,
    pub invalid: Vec<Invalid>,
}

/// The suppression comments in a statement's text. `line` is the line of the statement's first token; the
/// text may start with comment lines above it, which are counted back from there.
pub fn parse(sql: &str, line: usize) -> Allows {
    let mut out = Allows::default();
    // Lines of leading comments come before the statement's first token.
    let leading = sql.lines().take_while(|l| l.trim().is_empty() || l.trim_start().starts_with("--")).count();
    let first_line = line.saturating_sub(leading).max(1);
    for (index, text) in sql.lines().enumerate() {
        let Some(comment_at) = text.find("--") else { continue };
        let comment = text[comment_at + 2..].trim();
        let Some(rest) = comment.strip_prefix(MARKER) else { continue };
        let line = first_line + index;
        let (ids, reason) = match rest.split_once("reason:") {
            Some((ids, reason)) => (ids, reason.trim()),
            None => (rest, ""),
        };
        let names: Vec<&str> = ids.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).collect();
        if names.is_empty() {
            out.invalid.push(Invalid {
                line,
                message: format!("`{MARKER}` names no rule; write `-- {MARKER} <rule-id> reason: <why this is safe>`"),
            });
            continue;
        }
        let mut rules = Vec::new();
        let mut bad = false;
        for name in &names {
            match RuleId::parse(name) {
                Some(rule) => rules.push(rule),
                None => {
                    bad = true;
                    out.invalid.push(Invalid {
                        line,
                        message: format!("`{name}` is not a db-deploy rule (the suppression is not applied)"),
                    });
                }
            }
        }
        if bad {
            continue;
        }
        if reason.is_empty() {
            let list = names.join(", ");
            out.invalid.push(Invalid {
                line,
                message: format!(
                    "`{MARKER} {list}` has no reason; write `-- {MARKER} {list} reason: <why this is safe>` (the \
                     suppression is not applied)"
                ),
            });
            continue;
        }
        out.valid.push(Allow { rules, reason: reason.to_string(), line });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_rules_reasons_and_lines() {
        let sql = "-- intro\n-- db-deploy:allow drop-column, rename-column reason: column moved to profile\nALTER TABLE u DROP COLUMN a";
        let allows = parse(sql, 12);
        assert!(allows.invalid.is_empty());
        assert_eq!(
            allows.valid,
            [Allow {
                rules: vec![RuleId::DropColumn, RuleId::RenameColumn],
                reason: "column moved to profile".into(),
                line: 11
            }]
        );
        let inline = parse("DROP TABLE t -- db-deploy:allow drop-table reason: scratch table", 3);
        assert_eq!(inline.valid[0].line, 3);
        let empty = parse("-- db-deploy:allow reason: because\nDROP TABLE t", 2);
        assert_eq!(empty.invalid[0].line, 1);
        assert!(empty.invalid[0].message.contains("names no rule"));
    }
}
