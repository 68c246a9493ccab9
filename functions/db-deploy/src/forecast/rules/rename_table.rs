//! `rename-table`: a table renamed under running code.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use sqlparser::ast::{self, AlterTableOperation, RenameTableNameKind};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::RenameTable,
    title: "Table renamed",
    severity: Severity::Warning,
    enabled: true,
    problem: "Renaming a table breaks every query, view and application instance that still uses the old name, from \
              the moment the migration commits until the new code is deployed everywhere.",
    fix: "Create the new table (or a view with the new name), move readers and writers over in a release, then drop \
          the old one; or rename in a maintenance window and suppress with a reason.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let mut push = |old: &ast::ObjectName, new: &ast::ObjectName| {
        hits.push(RuleId::RenameTable, format!("renames table `{}` to `{}`", shown(old), shown(new)));
    };
    match statement {
        ast::Statement::RenameTable(renames) => {
            for rename in renames.iter().filter(|r| ctx.existing(&r.old_name)) {
                push(&rename.old_name, &rename.new_name);
            }
        }
        _ => {
            let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
            for op in operations {
                if let AlterTableOperation::RenameTable {
                    table_name: RenameTableNameKind::To(new) | RenameTableNameKind::As(new),
                } = op
                {
                    push(&alter.name, new);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn alter_table_rename_and_mysql_rename_table() {
        assert_eq!(
            hits("rename-table", "ALTER TABLE users RENAME TO customers;", Dialect::Postgres),
            ["1 renames table `users` to `customers`"]
        );
        assert_eq!(
            hits("rename-table", "RENAME TABLE a TO b, c TO d;", Dialect::MySql),
            ["1 renames table `a` to `b`", "1 renames table `c` to `d`"]
        );
        assert!(
            hits("rename-table", "CREATE TABLE n (id int PRIMARY KEY);\nALTER TABLE n RENAME TO m;", Dialect::Postgres)
                .is_empty()
        );
    }
}
