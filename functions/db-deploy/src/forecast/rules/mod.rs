//! The rules: one module each, identified by a kebab-case [`RuleId`], each with its problem and fix.

use super::{Ctx, Hits, Severity};
use serde::Serialize;
use sqlparser::ast;
use std::fmt;

pub mod add_column_not_null_without_default;
pub mod alter_column_type;
pub mod constraint_without_not_valid;
pub mod drop_column;
pub mod drop_schema;
pub mod drop_table;
pub mod index_too_many_columns;
pub mod index_without_concurrently;
pub mod rename_column;
pub mod rename_table;
pub mod table_without_primary_key;
pub mod truncate_table;

/// What a rule is, its default level and how to fix what it finds.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: RuleId,
    pub title: &'static str,
    pub severity: Severity,
    pub enabled: bool,
    pub problem: &'static str,
    pub fix: &'static str,
}

codepipeline_action::rule_ids! {
    IndexTooManyColumns => "index-too-many-columns", index_too_many_columns;
    DropTable => "drop-table", drop_table;
    DropColumn => "drop-column", drop_column;
    DropSchema => "drop-schema", drop_schema;
    TruncateTable => "truncate-table", truncate_table;
    RenameTable => "rename-table", rename_table;
    RenameColumn => "rename-column", rename_column;
    AlterColumnType => "alter-column-type", alter_column_type;
    AddColumnNotNullWithoutDefault => "add-column-not-null-without-default", add_column_not_null_without_default;
    IndexWithoutConcurrently => "index-without-concurrently", index_without_concurrently;
    ConstraintWithoutNotValid => "constraint-without-not-valid", constraint_without_not_valid;
    TableWithoutPrimaryKey => "table-without-primary-key", table_without_primary_key;
    UnparseableStatement => "unparseable-statement", unparseable_statement;
    MixedTransactionModes => "mixed-transaction-modes", mixed_transaction_modes;
    InvalidSuppressionComment => "invalid-suppression-comment", invalid_suppression_comment;
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Every statement-level rule, in order.
pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    index_too_many_columns::check(ctx, statement, hits);
    drop_table::check(ctx, statement, hits);
    drop_column::check(ctx, statement, hits);
    drop_schema::check(ctx, statement, hits);
    truncate_table::check(ctx, statement, hits);
    rename_table::check(ctx, statement, hits);
    rename_column::check(ctx, statement, hits);
    alter_column_type::check(ctx, statement, hits);
    add_column_not_null_without_default::check(ctx, statement, hits);
    index_without_concurrently::check(ctx, statement, hits);
    constraint_without_not_valid::check(ctx, statement, hits);
    table_without_primary_key::check(ctx, statement, hits);
}

/// The operations of an `ALTER TABLE` on a table that existed before this run.
pub(crate) fn existing_alter<'s>(
    ctx: &Ctx<'_>,
    statement: &'s ast::Statement,
) -> Option<(&'s ast::AlterTable, &'s [ast::AlterTableOperation])> {
    match statement {
        ast::Statement::AlterTable(alter) if ctx.existing(&alter.name) => Some((alter, &alter.operations)),
        _ => None,
    }
}

/// Rules the engine raises itself; their docs live here.
pub mod unparseable_statement {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::UnparseableStatement,
        title: "Statement the parser cannot read",
        severity: Severity::Warning,
        enabled: true,
        problem: "The statement could not be parsed in the database's dialect, so none of the other rules could look \
                  at it. It may be valid for the database (procedural code, vendor extensions) or it may be a \
                  mistake; either way nothing has checked it.",
        fix: "Review the statement by hand. If it is valid and safe, leave it (this is a warning) or suppress it with \
              `-- db-deploy:allow unparseable-statement reason: <why>`.",
    };
}

pub mod mixed_transaction_modes {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::MixedTransactionModes,
        title: "Script mixes statements that need a transaction with ones that cannot run in one",
        severity: Severity::Error,
        enabled: true,
        problem: "PostgreSQL refuses `CREATE INDEX CONCURRENTLY`, `VACUUM`, `CREATE DATABASE` and a few others inside \
                  a transaction block, and every migration runs in its own transaction. A script that mixes both kinds \
                  would fail halfway, or (outside a transaction) could leave half of its changes behind.",
        fix: "Move the statement to a migration of its own and mark that script to run outside a transaction: a file \
              `<script>.sql.conf` next to it with `executeInTransaction=false` (Flyway's convention).",
    };
}

pub mod invalid_suppression_comment {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::InvalidSuppressionComment,
        title: "Suppression comment without a reason or for an unknown rule",
        severity: Severity::Error,
        enabled: true,
        problem: "A `-- db-deploy:allow` comment has no reason or names a rule that does not exist. It suppresses \
                  nothing: every suppression must say why the change is safe, so that a reviewer can judge it.",
        fix: "Write `-- db-deploy:allow <rule-id>[, <rule-id>] reason: <why this is safe>` on a line of the \
              statement's comments, with a rule id from the list of rules.",
    };
}

impl RuleMeta {
    /// The rule's page (`docs/rules/<id>.md`): what it checks, why, how to fix, configure and suppress it.
    pub fn doc(&self) -> String {
        let id = self.id.as_str();
        let mut doc = format!(
            "# `{id}`: {title}\n\n\
             db-deploy forecast rule.\n\n\
             | Default severity | Enabled by default |\n|---|---|\n| {severity} | {enabled} |\n\n\
             ## Problem\n\n{problem}\n\n## Fix\n\n{fix}\n\n\
             ## Configure\n\nIn the rules file (`db-deploy.toml` in the migrations folder, or `rulesFile` / `--rules`):\n\n\
             ```toml\n[rules]\n{id} = \"{severity}\"   # or \"off\", \"warning\", \"error\"\n```\n",
            title = self.title,
            severity = self.severity,
            enabled = if self.enabled { "yes" } else { "no" },
            problem = self.problem,
            fix = self.fix,
        );
        if self.id == RuleId::IndexTooManyColumns {
            doc.push_str(
                "\nThe limit (default 3):\n\n```toml\n[rules]\nindex-too-many-columns = { severity = \"error\", max-columns = 3 }\n```\n",
            );
        }
        if self.id == RuleId::InvalidSuppressionComment {
            doc.push_str("\nThis rule cannot be suppressed.\n");
        } else {
            doc.push_str(&format!(
                "\n## Suppress\n\nIn the comments before the statement (or on its lines), with the reason a reviewer \
                 should read:\n\n```sql\n-- db-deploy:allow {id} reason: why this is safe here\n```\n\n\
                 The pipeline can refuse all suppressions (`allowSuppressions: false` in UserParameters).\n"
            ));
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `docs/rules/<id>.md` is generated from each rule's metadata; `UPDATE_RULE_DOCS=1` rewrites it.
    #[test]
    fn rule_docs_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
        let update = std::env::var_os("UPDATE_RULE_DOCS").is_some();
        let mut stale = Vec::new();
        for rule in RuleId::ALL {
            let path = dir.join(format!("{}.md", rule.as_str()));
            let doc = rule.meta().doc();
            if update {
                std::fs::write(&path, &doc).expect("write doc");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(doc.as_str()) {
                stale.push(rule.as_str());
            }
        }
        assert!(stale.is_empty(), "docs/rules is out of date for {stale:?}; run with UPDATE_RULE_DOCS=1");
    }

    #[test]
    fn ids_round_trip_and_every_rule_documents_itself() {
        for &id in RuleId::ALL {
            assert_eq!(RuleId::parse(id.as_str()), Some(id));
            assert_eq!(id.meta().id, id);
            assert!(!id.meta().problem.is_empty() && !id.meta().fix.is_empty(), "{id}");
            assert!(id.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{id}");
        }
    }
}
