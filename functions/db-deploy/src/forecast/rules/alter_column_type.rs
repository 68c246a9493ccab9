//! `alter-column-type`: a column's type changed in place.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::AlterColumnType,
    title: "Column type changed",
    severity: Severity::Warning,
    enabled: true,
    problem: "Changing a column's type usually rewrites the whole table under an exclusive lock (reads and writes \
              wait for the whole rewrite), may fail or silently truncate values that do not fit, and breaks code \
              that expects the old type.",
    fix: "Add a column of the new type, backfill it in batches, switch the code over, then drop the old column; \
          widening a varchar (PostgreSQL) is cheap and can be suppressed with that reason.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
    for op in operations {
        let (column, data_type) = match op {
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetDataType { data_type, .. },
            } => (column_name, data_type),
            AlterTableOperation::ModifyColumn { col_name, data_type, .. } => (col_name, data_type),
            AlterTableOperation::ChangeColumn { new_name, data_type, .. } => (new_name, data_type),
            _ => continue,
        };
        hits.push(
            RuleId::AlterColumnType,
            format!("changes the type of column `{}` of `{}` to {data_type}", column.value, shown(&alter.name)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn set_data_type_modify_and_change() {
        assert_eq!(
            hits(
                "alter-column-type",
                "ALTER TABLE t ALTER COLUMN price TYPE numeric(12,2) USING price::numeric;",
                Dialect::Postgres
            ),
            ["1 changes the type of column `price` of `t` to NUMERIC(12,2)"]
        );
        assert_eq!(
            hits(
                "alter-column-type",
                "ALTER TABLE t MODIFY COLUMN note TEXT;\nALTER TABLE t CHANGE a b BIGINT;",
                Dialect::MySql
            ),
            ["1 changes the type of column `note` of `t` to TEXT", "2 changes the type of column `b` of `t` to BIGINT"]
        );
    }
}
