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
        let message = match op {
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetDataType { data_type, .. },
            } => {
                format!("changes the type of column `{}` of `{}` to {data_type}", column_name.value, shown(&alter.name))
            }
            // MySQL restates the whole definition: the old type is not in the statement, so say what is known.
            AlterTableOperation::ModifyColumn { col_name: column, data_type, .. }
            | AlterTableOperation::ChangeColumn { new_name: column, data_type, .. } => format!(
                "redefines column `{}` of `{}` as {data_type}; MySQL rebuilds the table when the type changes (if the \
                 type is unchanged, suppress with that reason)",
                column.value,
                shown(&alter.name)
            ),
            _ => continue,
        };
        hits.push(RuleId::AlterColumnType, message);
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
            [
                "1 redefines column `note` of `t` as TEXT; MySQL rebuilds the table when the type changes (if the type is \
                 unchanged, suppress with that reason)",
                "2 redefines column `b` of `t` as BIGINT; MySQL rebuilds the table when the type changes (if the type is \
                 unchanged, suppress with that reason)"
            ]
        );
    }
}
