//! `drop-table`: a table and its data dropped.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use sqlparser::ast::{self, ObjectType};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::DropTable,
    title: "Table dropped",
    severity: Severity::Error,
    enabled: true,
    problem: "`DROP TABLE` deletes the table and every row in it; nothing but a backup brings them back, and code \
              still running against the old schema fails at once.",
    fix: "Stop using the table first (a release earlier), keep a copy if the data matters, then drop it with a \
          suppression that states the intent: `-- db-deploy:allow drop-table reason: <why>`.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    if let ast::Statement::Drop { object_type: ObjectType::Table, names, .. } = statement {
        for name in names.iter().filter(|n| ctx.existing(n)) {
            hits.push(RuleId::DropTable, format!("drops table `{}` and every row in it", shown(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn drops_of_existing_tables_only() {
        let sql = "CREATE TABLE scratch (id int PRIMARY KEY);\nDROP TABLE scratch;\nDROP TABLE IF EXISTS app.orders, carts CASCADE;\nDROP VIEW v;";
        assert_eq!(
            hits("drop-table", sql, Dialect::Postgres),
            ["3 drops table `app.orders` and every row in it", "3 drops table `carts` and every row in it"]
        );
        assert_eq!(
            hits("drop-table", "DROP TABLE `orders`;", Dialect::MySql),
            ["1 drops table `orders` and every row in it"]
        );
    }
}
