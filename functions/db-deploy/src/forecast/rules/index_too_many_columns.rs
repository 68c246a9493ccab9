//! `index-too-many-columns`: an index over more columns than allowed (3 by default, the reference's rule).

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use sqlparser::ast::{self, IndexColumn, TableConstraint};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IndexTooManyColumns,
    title: "Index with too many columns",
    severity: Severity::Error,
    enabled: true,
    problem: "A wide composite index is large, slows every write to the table and is rarely used beyond its first \
              columns; the team's rule (Datical's forecast rule in the pipeline this replaces) allows at most 3 \
              columns.",
    fix: "Index the columns the queries filter on first, and no more than the limit; use `INCLUDE` (PostgreSQL) for \
          covering columns, or raise `max-columns` for this rule in the rules file if the team agrees.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let max = ctx.settings.max_index_columns;
    let mut report = |what: String, columns: &[IndexColumn]| {
        if columns.len() > max {
            let names: Vec<String> = columns.iter().map(|c| c.column.expr.to_string()).collect();
            hits.push(
                RuleId::IndexTooManyColumns,
                format!("{what} has {} columns ({}); at most {max} are allowed", columns.len(), names.join(", ")),
            );
        }
    };
    let constraint = |table: &ast::ObjectName, c: &TableConstraint| -> Option<(String, Vec<IndexColumn>)> {
        let (kind, name, columns) = match c {
            TableConstraint::Index(index) => ("index", index.name.as_ref(), &index.columns),
            TableConstraint::Unique(unique) => {
                ("unique constraint", unique.name.as_ref().or(unique.index_name.as_ref()), &unique.columns)
            }
            _ => return None,
        };
        let named = name.map(|n| format!(" `{n}`")).unwrap_or_default();
        Some((format!("{kind}{named} on `{}`", shown(table)), columns.clone()))
    };
    match statement {
        ast::Statement::CreateIndex(index) => {
            let named = index.name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default();
            report(format!("index{named} on `{}`", shown(&index.table_name)), &index.columns);
        }
        ast::Statement::CreateTable(table) => {
            for c in &table.constraints {
                if let Some((what, columns)) = constraint(&table.name, c) {
                    report(what, &columns);
                }
            }
        }
        ast::Statement::AlterTable(alter) => {
            for op in &alter.operations {
                if let ast::AlterTableOperation::AddConstraint { constraint: c, .. } = op
                    && let Some((what, columns)) = constraint(&alter.name, c)
                {
                    report(what, &columns);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::settings::Settings;
    use crate::forecast::testing::{findings_with, hits};
    use crate::split::Dialect;

    #[test]
    fn the_references_four_column_index_fails_three_passes() {
        let sql = "CREATE INDEX idx_orders ON orders (customer_id, status, created_at, region);\n\
                   CREATE INDEX idx_ok ON orders (customer_id, status, created_at);\n\
                   CREATE UNIQUE INDEX CONCURRENTLY ON orders (a, b, c, d, e) INCLUDE (f);";
        assert_eq!(
            hits("index-too-many-columns", sql, Dialect::Postgres),
            [
                "1 index `idx_orders` on `orders` has 4 columns (customer_id, status, created_at, region); at most 3 \
                 are allowed",
                "3 index on `orders` has 5 columns (a, b, c, d, e); at most 3 are allowed",
            ]
        );
    }

    #[test]
    fn mysql_inline_keys_and_alter_table_add_index() {
        let sql = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, d INT, KEY k_wide (a, b, c, d), \
                   UNIQUE KEY u_ok (a, b));\nALTER TABLE t ADD INDEX k2 (a, b, c, d), ADD UNIQUE u2 (a, b, c, d);";
        assert_eq!(
            hits("index-too-many-columns", sql, Dialect::MySql),
            [
                "1 index `k_wide` on `t` has 4 columns (a, b, c, d); at most 3 are allowed",
                "2 index `k2` on `t` has 4 columns (a, b, c, d); at most 3 are allowed",
                "2 unique constraint `u2` on `t` has 4 columns (a, b, c, d); at most 3 are allowed",
            ]
        );
    }

    #[test]
    fn the_limit_is_configurable() {
        let mut settings = Settings::default();
        settings
            .apply_rules_file("db-deploy.toml", "[rules]\nindex-too-many-columns = { max-columns = 4 }")
            .expect("valid");
        let sql = "CREATE INDEX i ON t (a, b, c, d);\nCREATE INDEX j ON t (a, b, c, d, e);";
        let found = findings_with(sql, Dialect::Sqlite, &settings);
        assert_eq!(
            found,
            ["2 index-too-many-columns: index `j` on `t` has 5 columns (a, b, c, d, e); at most 4 are allowed"]
        );
    }
}
