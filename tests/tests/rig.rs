//! The rig itself: each test gets a private database on the local PostgreSQL and MariaDB.

use test_support::db::TestDatabase;

#[test]
fn private_postgres_database() {
    let db = TestDatabase::postgres();
    assert!(db.url.starts_with("postgres://postgres@127.0.0.1:5432/t_"));
    db.query("CREATE TABLE t (id int primary key)");
    db.query("INSERT INTO t VALUES (1), (2)");
    assert_eq!(db.query("SELECT count(*) FROM t"), "2");
    let name = db.name.clone();
    drop(db);
    let admin = TestDatabase::postgres();
    let exists = admin.query(&format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"));
    assert_eq!(exists, "0", "dropped with the test");
}

#[test]
fn private_mariadb_database() {
    let db = TestDatabase::mariadb();
    assert!(db.url.starts_with("mysql://root@127.0.0.1:3306/t_"));
    db.query("CREATE TABLE t (id int primary key)");
    db.query("INSERT INTO t VALUES (1), (2), (3)");
    assert_eq!(db.query("SELECT count(*) FROM t"), "3");
    let name = db.name.clone();
    drop(db);
    let admin = TestDatabase::mariadb();
    let exists = admin.query(&format!("SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'"));
    assert_eq!(exists, "0", "dropped with the test");
}
