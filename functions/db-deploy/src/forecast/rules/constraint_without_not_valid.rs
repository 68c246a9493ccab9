//! `constraint-without-not-valid` (PostgreSQL): a foreign key or check validated under a lock.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity, existing_alter};
use crate::forecast::shown;
use crate::split::Dialect;
use sqlparser::ast::{self, AlterTableOperation, TableConstraint};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::ConstraintWithoutNotValid,
    title: "Foreign key or check constraint added without NOT VALID (PostgreSQL)",
    severity: Severity::Warning,
    enabled: true,
    problem: "Adding a FOREIGN KEY or CHECK constraint to an existing table scans every row while holding a lock that \
              blocks writes (for a foreign key, on both tables).",
    fix: "Add the constraint `NOT VALID` (checked for new rows only, instant), then `ALTER TABLE ... VALIDATE \
          CONSTRAINT` in a later migration, which does not block writes.",
};

pub fn check(ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    if ctx.dialect != Dialect::Postgres {
        return;
    }
    let Some((alter, operations)) = existing_alter(ctx, statement) else { return };
    for op in operations {
        let AlterTableOperation::AddConstraint { constraint, not_valid: false } = op else { continue };
        let (kind, name) = match constraint {
            TableConstraint::ForeignKey(fk) => ("foreign key", fk.name.as_ref()),
            TableConstraint::Check(check) => ("check constraint", check.name.as_ref()),
            _ => continue,
        };
        let named = name.map(|n| format!(" `{}`", n.value)).unwrap_or_default();
        hits.push(
            RuleId::ConstraintWithoutNotValid,
            format!(
                "adds {kind}{named} to existing table `{}` without NOT VALID; every row is checked while writes wait",
                shown(&alter.name)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn foreign_keys_and_checks() {
        let sql = "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n\
                   ALTER TABLE orders ADD CONSTRAINT positive CHECK (total >= 0) NOT VALID;\n\
                   ALTER TABLE orders ADD CHECK (total < 1000000);";
        assert_eq!(
            hits("constraint-without-not-valid", sql, Dialect::Postgres),
            [
                "1 adds foreign key `orders_user_fk` to existing table `orders` without NOT VALID; every row is checked \
                 while writes wait",
                "3 adds check constraint to existing table `orders` without NOT VALID; every row is checked while \
                 writes wait",
            ]
        );
    }
}
