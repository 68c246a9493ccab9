//! `rename-column`: a column renamed under running code.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use sqlparser::ast::{self, AlterTableOperation};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::RenameColumn,
    title: "Column renamed",
    severity: Severity::Warning,
    enabled: true,
    problem: "Renaming a column breaks every query and application instance that still uses the old name, from the \
              moment the migration commits until the new code is deployed everywhere.",
    fix: "Add the new column, write both and backfill, move readers over, then drop the old column in a later \
          release; or rename in a maintenance window and suppress with a reason.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
    for op in operations {
        let (old, new) = match op {
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                (old_column_name, new_column_name)
            }
            AlterTableOperation::ChangeColumn { old_name, new_name, .. } if old_name.value != new_name.value => {
                (old_name, new_name)
            }
            _ => continue,
        };
        hits.push(
            RuleId::RenameColumn,
            format!("renames column `{}` of `{}` to `{}`", old.value, shown(&alter.name), new.value),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn rename_column_and_mysql_change() {
        assert_eq!(
            hits("rename-column", "ALTER TABLE users RENAME COLUMN name TO full_name;", Dialect::Postgres),
            ["1 renames column `name` of `users` to `full_name`"]
        );
        assert_eq!(
            hits(
                "rename-column",
                "ALTER TABLE users CHANGE name full_name VARCHAR(100);\nALTER TABLE users CHANGE age age BIGINT;",
                Dialect::MySql
            ),
            ["1 renames column `name` of `users` to `full_name`"]
        );
    }
}
