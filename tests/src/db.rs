//! A private database per test on the machine's PostgreSQL (127.0.0.1:5432, trust auth) and MariaDB
//! (127.0.0.1:3306, root without password), created and dropped through their command-line clients so
//! tests can run in parallel. The test script makes sure both servers are up.

use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    MariaDb,
}

#[derive(Debug)]
pub struct TestDatabase {
    pub engine: Engine,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn postgres() -> Self {
        Self::create(Engine::Postgres)
    }

    pub fn mariadb() -> Self {
        Self::create(Engine::MariaDb)
    }

    fn create(engine: Engine) -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        sql(engine, None, &format!("CREATE DATABASE {name}"));
        let url = match engine {
            Engine::Postgres => format!("postgres://postgres@127.0.0.1:5432/{name}"),
            Engine::MariaDb => format!("mysql://root@127.0.0.1:3306/{name}"),
        };
        Self { engine, name, url }
    }

    /// Runs `statement` in this database through the engine's client; returns its tab-separated output.
    pub fn query(&self, statement: &str) -> String {
        sql(self.engine, Some(&self.name), statement)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = match self.engine {
            Engine::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Engine::MariaDb => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let _ = try_sql(self.engine, None, &drop);
    }
}

fn sql(engine: Engine, database: Option<&str>, statement: &str) -> String {
    try_sql(engine, database, statement).unwrap_or_else(|e| panic!("{e}"))
}

fn try_sql(engine: Engine, database: Option<&str>, statement: &str) -> Result<String, String> {
    let mut command = match engine {
        Engine::Postgres => {
            let mut c = Command::new("psql");
            c.args([
                "-h",
                "127.0.0.1",
                "-p",
                "5432",
                "-U",
                "postgres",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
            ]);
            c.args(["-d", database.unwrap_or("postgres"), "-c", statement]);
            c
        }
        Engine::MariaDb => {
            let mut c = Command::new("mariadb");
            c.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch", "--skip-column-names"]);
            if let Some(db) = database {
                c.arg(db);
            }
            c.args(["-e", statement]);
            c
        }
    };
    let output = command.output().map_err(|e| format!("cannot run the {engine:?} client (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{engine:?}: `{statement}` failed (is the server up? ./scripts/test starts it): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
