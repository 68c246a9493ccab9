//! `truncate-table`: every row of a table deleted.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use sqlparser::ast;

pub const META: RuleMeta = RuleMeta {
    id: RuleId::TruncateTable,
    title: "Table truncated",
    severity: Severity::Error,
    enabled: true,
    problem: "`TRUNCATE` deletes every row of the table at once (in MySQL it also commits and cannot be rolled \
              back); a migration rarely means to throw away production data.",
    fix: "Delete only the rows the change needs (`DELETE ... WHERE`), or state the intent: \
          `-- db-deploy:allow truncate-table reason: <why>`.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    if let ast::Statement::Truncate(truncate) = statement {
        for target in truncate.table_names.iter().filter(|t| ctx.existing(&t.name)) {
            hits.push(RuleId::TruncateTable, format!("deletes every row of `{}`", shown(&target.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn truncates() {
        assert_eq!(
            hits("truncate-table", "TRUNCATE TABLE sessions, carts;", Dialect::Postgres),
            ["1 deletes every row of `sessions`", "1 deletes every row of `carts`"]
        );
        assert_eq!(hits("truncate-table", "TRUNCATE sessions;", Dialect::MySql), ["1 deletes every row of `sessions`"]);
    }
}
