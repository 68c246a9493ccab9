//! `db-deploy` as a user runs it: the real binary against SQLite files and the machine's PostgreSQL, text
//! and JSON output, exit status 0 (success), 1 (rule, validation or migration failure), 2 (usage or
//! connection errors), and never the password in what it prints.

use std::path::PathBuf;
use std::process::Command;
use test_support::db::TestDatabase;

fn db_deploy(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_db-deploy")).args(args).output().expect("run db-deploy");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

/// A fresh folder with `files` written into it.
struct Folder(PathBuf);

impl Folder {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("db-deploy-cli-{}", uuid::Uuid::new_v4().simple()));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Self(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn join(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MIGRATIONS: &[(&str, &str)] = &[
    ("sql/V1__accounts.sql", "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);\n"),
    ("sql/V2__seed.sql", "INSERT INTO accounts (id, name) VALUES (1, 'a');\n"),
];

#[test]
fn forecast_deploy_and_validate_on_sqlite() {
    let folder = Folder::new(MIGRATIONS);
    let url = format!("sqlite://{}", folder.join("app.db"));
    let migrations = folder.join("sql");

    let (code, out, err) = db_deploy(&["forecast", "--url", &url, "--migrations", &migrations]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "would run: V1 (accounts) (V1__accounts.sql, 1 statement)\nwould run: V2 (seed) (V2__seed.sql, 1 statement)\n\
         forecast passed: 2 migrations would run; schema has no version yet; 0 warnings\n"
    );

    let (code, out, _) = db_deploy(&["deploy", "--url", &url, "--migrations", &migrations]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("applied 2 migrations; schema at version 2; 0 warnings\n"), "{out}");
    assert!(out.starts_with("applied V1 (accounts) (V1__accounts.sql, 1 statement, "), "{out}");

    let (code, out, _) = db_deploy(&["validate", "--url", &url, "--migrations", &migrations, "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["schemaVersion"], "2");
    assert_eq!(report["pending"].as_array().map(Vec::len), Some(0));
}

#[test]
fn rule_failures_exit_1_with_file_line_and_rule() {
    let folder = Folder::new(&[
        ("m/V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, d INT);\n"),
        ("m/V2__i.sql", "\nCREATE INDEX wide ON t (a, b, c, d);\n"),
    ]);
    let url = format!("sqlite://{}", folder.join("app.db"));
    let (code, out, _) = db_deploy(&["deploy", "--url", &url, "--migrations", &folder.join("m")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(
            "error V2__i.sql:2 index-too-many-columns: index `wide` on `t` has 4 columns (a, b, c, d); at most 3 are \
             allowed\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("forecast failed: 1 error, 0 warnings; nothing was applied\n"), "{out}");

    // The rules file at the top of the migrations folder is read by default.
    std::fs::write(folder.join("m/db-deploy.toml"), "[rules]\nindex-too-many-columns = { max-columns = 4 }\n")
        .expect("write rules");
    let (code, out, _) = db_deploy(&["deploy", "--url", &url, "--migrations", &folder.join("m")]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn usage_and_connection_errors_exit_2_without_the_password() {
    let folder = Folder::new(MIGRATIONS);
    let (code, _, err) = db_deploy(&["deploy", "--migrations", folder.path()]);
    assert_eq!(code, 2);
    assert!(err.contains("--url"), "{err}");

    let (code, _, err) = db_deploy(&["deploy", "--url", "oracle://x", "--migrations", folder.path()]);
    assert_eq!(code, 2);
    assert!(err.contains("the scheme is not postgres, mysql or sqlite"), "{err}");

    let (code, _, err) =
        db_deploy(&["deploy", "--url", "postgres://app:hunter2@127.0.0.1:1/shop", "--migrations", &folder.join("sql")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("db-deploy: cannot connect to postgres://app@127.0.0.1:1/shop"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    let (code, _, err) = db_deploy(&["deploy", "--url", "sqlite://x.db", "--migrations", "/nonexistent/folder"]);
    assert_eq!(code, 2);
    assert_eq!(err, "db-deploy: /nonexistent/folder is not a folder\n");
}

#[test]
fn migration_failure_on_postgres_exits_1_naming_file_and_line() {
    let db = TestDatabase::postgres();
    let folder = Folder::new(&[
        ("sql/V1__accounts.sql", "CREATE TABLE accounts (id INT PRIMARY KEY);\n"),
        ("sql/V2__bad.sql", "INSERT INTO accounts VALUES (1);\nINSERT INTO nowhere VALUES (2);\n"),
    ]);
    let (code, out, _) = db_deploy(&["deploy", "--url", &db.url, "--migrations", &folder.join("sql")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "V2 (bad) failed at V2__bad.sql:2: relation \"nowhere\" does not exist (code 42P01); it was rolled back and \
             nothing of it remains; applied before it: V1 (accounts); schema at version 1"
        ),
        "{out}"
    );
    assert_eq!(db.query("SELECT count(*) FROM accounts"), "0");
}
