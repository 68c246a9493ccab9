//! `drop-column`: a column and its data dropped.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use sqlparser::ast::{self, AlterTableOperation};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::DropColumn,
    title: "Column dropped",
    severity: Severity::Error,
    enabled: true,
    problem: "`DROP COLUMN` deletes the column's data for every row, and code that still reads or writes the column \
              fails as soon as the migration runs.",
    fix: "Stop using the column in the application first (a release earlier), then drop it with a suppression that \
          states the intent: `-- db-deploy:allow drop-column reason: <why>`.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
    for op in operations {
        if let AlterTableOperation::DropColumn { column_names, .. } = op {
            for column in column_names {
                hits.push(
                    RuleId::DropColumn,
                    format!("drops column `{}` of `{}` and its data", column.value, shown(&alter.name)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn every_dropped_column() {
        let sql =
            "ALTER TABLE users DROP COLUMN legacy, DROP COLUMN IF EXISTS other;\nALTER TABLE users ADD COLUMN x int;";
        assert_eq!(
            hits("drop-column", sql, Dialect::Postgres),
            ["1 drops column `legacy` of `users` and its data", "1 drops column `other` of `users` and its data"]
        );
        assert_eq!(
            hits("drop-column", "ALTER TABLE `users` DROP `legacy`;", Dialect::MySql),
            ["1 drops column `legacy` of `users` and its data"]
        );
    }
}
