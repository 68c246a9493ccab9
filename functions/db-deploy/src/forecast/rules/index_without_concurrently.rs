//! `index-without-concurrently` (PostgreSQL): an index built on an existing table while writes wait.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use crate::split::Dialect;
use sqlparser::ast;

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IndexWithoutConcurrently,
    title: "Index created on an existing table without CONCURRENTLY (PostgreSQL)",
    severity: Severity::Warning,
    enabled: true,
    problem: "`CREATE INDEX` without `CONCURRENTLY` holds a lock that blocks every INSERT, UPDATE and DELETE on the \
              table for the whole build, which on a large table means minutes of failed writes.",
    fix: "Use `CREATE INDEX CONCURRENTLY` in a migration of its own marked `executeInTransaction=false` (a \
          `<script>.sql.conf` next to it); tables created in the same run are not affected.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    if ctx.dialect != Dialect::Postgres {
        return;
    }
    if let ast::Statement::CreateIndex(index) = statement
        && !index.concurrently
        && ctx.existing(&index.table_name)
    {
        let named = index.name.as_ref().map(|n| format!(" `{}`", shown(n))).unwrap_or_default();
        hits.push(
            RuleId::IndexWithoutConcurrently,
            format!(
                "creates index{named} on existing table `{}` without CONCURRENTLY; writes to the table wait until it \
                 is built",
                shown(&index.table_name)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn existing_tables_only_and_only_postgres() {
        let sql = "CREATE TABLE fresh (id int PRIMARY KEY, a int);\nCREATE INDEX fresh_a ON fresh (a);\n\
                   CREATE INDEX orders_status ON orders (status);";
        assert_eq!(
            hits("index-without-concurrently", sql, Dialect::Postgres),
            ["3 creates index `orders_status` on existing table `orders` without CONCURRENTLY; writes to the table \
              wait until it is built"]
        );
        assert!(hits("index-without-concurrently", "CREATE INDEX i ON orders (status);", Dialect::MySql).is_empty());
    }
}
