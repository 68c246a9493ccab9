//! `drop-schema`: a schema (or MySQL database) dropped with everything in it.

use super::{Ctx, Hits, RuleId, RuleMeta, Severity};
use crate::forecast::shown;
use sqlparser::ast::{self, ObjectType};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::DropSchema,
    title: "Schema or database dropped",
    severity: Severity::Error,
    enabled: true,
    problem: "`DROP SCHEMA` (and `DROP DATABASE`, which is the same thing in MySQL) removes every table, view and \
              routine in it, with all their data.",
    fix: "Drop the objects one by one in reviewed migrations, or, when the whole schema really goes, say so: \
          `-- db-deploy:allow drop-schema reason: <why>`.",
};

pub fn check(_ctx: &Ctx<'_>, statement: &ast::Statement, hits: &mut Hits) {
    if let ast::Statement::Drop { object_type: kind @ (ObjectType::Schema | ObjectType::Database), names, .. } =
        statement
    {
        let what = if *kind == ObjectType::Schema { "schema" } else { "database" };
        for name in names {
            hits.push(RuleId::DropSchema, format!("drops {what} `{}` with everything in it", shown(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::forecast::testing::hits;
    use crate::split::Dialect;

    #[test]
    fn schemas_and_databases() {
        assert_eq!(
            hits("drop-schema", "DROP SCHEMA reporting CASCADE;\nDROP TABLE t;", Dialect::Postgres),
            ["1 drops schema `reporting` with everything in it"]
        );
        assert_eq!(
            hits("drop-schema", "DROP DATABASE IF EXISTS shop;", Dialect::MySql),
            ["1 drops database `shop` with everything in it"]
        );
    }
}
