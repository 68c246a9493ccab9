//! `table-without-primary-key`: a table created without a primary key.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use sqlparser::ast::{self, ColumnOption, TableConstraint};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::TableWithoutPrimaryKey,
    title: "Table without a primary key",
    severity: Severity::Warning,
    enabled: true,
    problem: "Without a primary key rows cannot be addressed reliably, duplicates creep in, and logical replication, \
              AWS DMS and MySQL group replication / Aurora binlog consumers need one (or work badly without).",
    fix: "Declare a primary key (`id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`, or the natural key).",
};

pub fn check(_ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let ast::Statement::CreateTable(table) = statement else { return };
    if table.temporary || table.query.is_some() || table.like.is_some() || table.clone.is_some() {
        return;
    }
    let column_key =
        table.columns.iter().any(|c| c.options.iter().any(|o| matches!(o.option, ColumnOption::PrimaryKey(_))));
    let table_key = table.constraints.iter().any(|c| matches!(c, TableConstraint::PrimaryKey(_)));
    if !column_key && !table_key {
        hits.push(RuleId::TableWithoutPrimaryKey, format!("table `{}` has no primary key", shown(&table.name)));
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn column_and_table_keys() {
        let sql = "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (x int, y int, PRIMARY KEY (x, y));\n\
                   CREATE TABLE c (x int);\nCREATE TEMPORARY TABLE d (x int);\nCREATE TABLE e AS SELECT 1 AS x;";
        assert_eq!(hits("table-without-primary-key", sql, Dialect::Postgres), ["3 table `c` has no primary key"]);
        assert!(
            hits(
                "table-without-primary-key",
                "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);",
                Dialect::Sqlite
            )
            .is_empty()
        );
        assert!(
            hits(
                "table-without-primary-key",
                "CREATE TABLE t (id INT AUTO_INCREMENT, PRIMARY KEY (id)) ENGINE=InnoDB;",
                Dialect::MySql
            )
            .is_empty()
        );
    }
}
