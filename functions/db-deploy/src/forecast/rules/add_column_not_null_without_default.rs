//! `add-column-not-null-without-default`: a NOT NULL column added to a table that may have rows.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use crate::split::Dialect;
use sqlparser::ast::{self, AlterTableOperation, ColumnOption, DataType};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::AddColumnNotNullWithoutDefault,
    title: "NOT NULL column added without a default",
    severity: Severity::Error,
    enabled: true,
    problem: "Existing rows have no value for the new column. PostgreSQL and SQLite reject the statement as soon as \
              the table has a row (so it passes on an empty test database and fails in production); MySQL fills \
              the column with the type's implicit default (0, '', a zero date) without a word.",
    fix: "Give the column a `DEFAULT`, or add it as NULL, backfill it, then add the NOT NULL constraint.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
    for op in operations {
        let AlterTableOperation::AddColumn { column_def, .. } = op else { continue };
        let options = || column_def.options.iter().map(|o| &o.option);
        let not_null = options().any(|o| matches!(o, ColumnOption::NotNull | ColumnOption::PrimaryKey(_)));
        let filled = options().any(|o| {
            matches!(
                o,
                ColumnOption::Default(_)
                    | ColumnOption::Generated { .. }
                    | ColumnOption::Identity(_)
                    | ColumnOption::Materialized(_)
                    | ColumnOption::Alias(_)
            ) || matches!(o, ColumnOption::DialectSpecific(tokens)
                if tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
        }) || is_serial(&column_def.data_type);
        if not_null && !filled {
            let consequence = match ctx.dialect {
                Dialect::MySql => "existing rows get the type's implicit default silently",
                Dialect::Postgres | Dialect::Sqlite => "the statement fails as soon as the table has a row",
            };
            hits.push(
                RuleId::AddColumnNotNullWithoutDefault,
                format!(
                    "adds NOT NULL column `{}` to `{}` without a DEFAULT; {consequence}",
                    column_def.name.value,
                    shown(&alter.name)
                ),
            );
        }
    }
}

fn is_serial(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Custom(name, _) if {
        let name = name.to_string().to_ascii_lowercase();
        matches!(name.as_str(), "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8")
    })
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn not_null_needs_a_default() {
        let sql = "ALTER TABLE users ADD COLUMN tier text NOT NULL;\n\
                   ALTER TABLE users ADD COLUMN a text NOT NULL DEFAULT 'free';\n\
                   ALTER TABLE users ADD COLUMN b text;\n\
                   ALTER TABLE users ADD COLUMN c bigserial NOT NULL;\n\
                   ALTER TABLE users ADD COLUMN d int GENERATED ALWAYS AS IDENTITY NOT NULL;";
        assert_eq!(
            hits("add-column-not-null-without-default", sql, Dialect::Postgres),
            [
                "1 adds NOT NULL column `tier` to `users` without a DEFAULT; the statement fails as soon as the table has a row"
            ]
        );
        assert_eq!(
            hits(
                "add-column-not-null-without-default",
                "ALTER TABLE users ADD tier INT NOT NULL, ADD n INT NOT NULL AUTO_INCREMENT;",
                Dialect::MySql
            ),
            [
                "1 adds NOT NULL column `tier` to `users` without a DEFAULT; existing rows get the type's implicit default silently"
            ]
        );
    }
}
