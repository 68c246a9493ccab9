//! One connection to the database (sqlx, the same code for the three engines): the deploy lock, session
//! timeouts, the `flyway_schema_history` table and the statements themselves.
//!
//! Everything runs on one connection because the lock (`pg_advisory_lock` / `GET_LOCK`) belongs to the
//! session: it is released explicitly on every path and, failing that, when the connection closes; the
//! session's idle timeout is set to the invocation's remaining time so that even a frozen Lambda cannot hold
//! it for long.

use crate::plan::Applied;
use crate::split::Dialect;
use crate::target::{Target, Tls};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::time::Duration;

pub const DEFAULT_TABLE: &str = "flyway_schema_history";

enum Conn {
    Postgres(PgConnection),
    MySql(MySqlConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Postgres($c) => $body,
            Conn::MySql($c) => $body,
            Conn::Sqlite($c) => $body,
        }
    };
}

/// What went wrong talking to the database. The target is shown without its password; sqlx's messages
/// carry the server's text, which never includes the password either.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "connecting to {target} took longer than {seconds} s (is the database reachable from here: VPC, security group, host and port?)"
    )]
    ConnectTimeout { target: String, seconds: u64 },
    #[error("{what}: {source}")]
    Query {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "another deploy holds the lock on {table} and did not release it within {seconds} s; try again when it has \
         finished (lockTimeout sets the wait)"
    )]
    LockTimeout { table: String, seconds: u64 },
    #[error("the history table name `{0}` is not a plain identifier (letters, digits and _ only)")]
    TableName(String),
}

fn query_error(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DbError {
    let what = what.into();
    move |source| DbError::Query { what, source }
}

/// A row to add to the history.
#[derive(Clone, Debug)]
pub struct NewRow<'a> {
    pub version: Option<&'a str>,
    pub description: &'a str,
    pub kind: &'a str,
    pub script: &'a str,
    pub checksum: Option<i32>,
    pub installed_by: &'a str,
    pub execution_ms: i32,
    pub success: bool,
}

/// A row of `databasechangelog`, as far as planning needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangelogRow {
    pub id: String,
    pub author: String,
    pub filename: String,
    pub md5sum: Option<String>,
    /// `EXECUTED`, `RERAN`, `MARK_RAN`, `FAILED`, ...
    pub exectype: String,
}

/// A changeset to record.
#[derive(Clone, Debug)]
pub struct ChangelogInsert<'a> {
    pub label: &'a str,
    pub id: &'a str,
    pub author: &'a str,
    pub filename: &'a str,
    pub exectype: &'a str,
    pub md5sum: &'a str,
    pub comments: &'a str,
    pub contexts: &'a str,
    pub labels: &'a str,
    pub deployment_id: &'a str,
    /// Update the existing row (runOnChange / runAlways) instead of adding one.
    pub rerun: bool,
}

pub struct Db {
    conn: Conn,
    pub dialect: Dialect,
    table: String,
    /// The schema (PostgreSQL) or database (MySQL) at connection time.
    schema: Option<String>,
    mariadb: bool,
    locked: bool,
    target: String,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("target", &self.target).field("table", &self.table).finish_non_exhaustive()
    }
}

impl Db {
    /// Connects (within `timeout`) and checks the history table's name.
    pub async fn connect(target: &Target, table: &str, timeout: Duration) -> Result<Self, DbError> {
        if table.is_empty() || !table.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(DbError::TableName(table.to_string()));
        }
        let shown = target.to_string();
        let connect = async {
            let conn = match target {
                Target::Sqlite { path } => Conn::Sqlite(
                    SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(true)
                        .busy_timeout(Duration::from_secs(30))
                        .disable_statement_logging()
                        .connect()
                        .await?,
                ),
                Target::Server(server) if server.dialect == Dialect::Postgres => {
                    let mut options = PgConnectOptions::new()
                        .host(&server.host)
                        .port(server.port)
                        .username(&server.username)
                        .password(server.password())
                        .application_name("db-deploy")
                        .ssl_mode(match server.tls {
                            Tls::Disable => PgSslMode::Disable,
                            Tls::Require => PgSslMode::Require,
                            Tls::VerifyFull => PgSslMode::VerifyFull,
                        })
                        .disable_statement_logging();
                    if let Some(database) = &server.database {
                        options = options.database(database);
                    }
                    if let Some(pem) = &server.ca_pem {
                        options = options.ssl_root_cert_from_pem(pem.clone());
                    }
                    Conn::Postgres(options.connect().await?)
                }
                Target::Server(server) => {
                    let mut options = MySqlConnectOptions::new()
                        .host(&server.host)
                        .port(server.port)
                        .username(&server.username)
                        .ssl_mode(match server.tls {
                            Tls::Disable => MySqlSslMode::Disabled,
                            Tls::Require => MySqlSslMode::Required,
                            Tls::VerifyFull => MySqlSslMode::VerifyIdentity,
                        })
                        // The server's own SQL mode and time zone, as the mysql client and Flyway leave them.
                        .pipes_as_concat(false)
                        .timezone(None)
                        .disable_statement_logging();
                    // An empty password means none: MySQL refuses an empty one sent as a password.
                    if !server.password().is_empty() {
                        options = options.password(server.password());
                    }
                    if let Some(database) = &server.database {
                        options = options.database(database);
                    }
                    if let Some(pem) = &server.ca_pem {
                        options = options.ssl_ca_from_pem(pem.clone());
                    }
                    Conn::MySql(options.connect().await?)
                }
            };
            Ok::<_, sqlx::Error>(conn)
        };
        let conn = match tokio::time::timeout(timeout, connect).await {
            Err(_) => return Err(DbError::ConnectTimeout { target: shown, seconds: timeout.as_secs() }),
            Ok(Err(source)) => return Err(DbError::Connect { target: shown, source }),
            Ok(Ok(conn)) => conn,
        };
        let mut db = Db {
            conn,
            dialect: target.dialect(),
            table: table.to_string(),
            schema: None,
            mariadb: false,
            locked: false,
            target: shown,
        };
        if db.dialect == Dialect::MySql {
            let version: String = db.scalar_string("SELECT VERSION()").await?;
            db.mariadb = version.to_ascii_lowercase().contains("mariadb");
        }
        let schema_query = match db.dialect {
            Dialect::Postgres => Some("SELECT current_schema()"),
            Dialect::MySql => Some("SELECT DATABASE()"),
            Dialect::Sqlite => None,
        };
        if let Some(sql) = schema_query {
            db.schema = on_conn!(&mut db.conn, c => sqlx::query_scalar::<_, Option<String>>(sql).fetch_one(c).await)
                .map_err(query_error("reading the current schema"))?;
        }
        Ok(db)
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn quoted_table(&self) -> String {
        self.qualified(&self.table)
    }

    /// `name` quoted and qualified with the schema (PostgreSQL) or database (MySQL) the session started in, so
    /// that a migration changing `search_path` or running `USE` cannot move the history elsewhere.
    fn qualified(&self, name: &str) -> String {
        let quote = |part: &str| match self.dialect {
            Dialect::MySql => format!("`{}`", part.replace('`', "``")),
            Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", part.replace('"', "\"\"")),
        };
        match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(name)),
            None => quote(name),
        }
    }

    /// Runs one statement as text (no prepared statement: DDL, procedures and `DELIMITER` bodies need that).
    pub async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        // A `&str` without arguments goes over the text protocol (PostgreSQL simple query, MySQL COM_QUERY).
        on_conn!(&mut self.conn, c => sqlx::Executor::execute(c, sql).await.map(|_| ()))
    }

    async fn scalar_string(&mut self, sql: &str) -> Result<String, DbError> {
        on_conn!(&mut self.conn, c => sqlx::query_scalar::<_, String>(sql).fetch_one(c).await)
            .map_err(query_error(format!("`{sql}` failed")))
    }

    /// Session limits: statements end after `statement` (PostgreSQL, MariaDB; MySQL has no such limit for
    /// DDL), and the server drops the session if it idles past `idle` (so a frozen or killed Lambda cannot
    /// keep the lock). Best effort where the server lacks a setting (PostgreSQL before 14).
    pub async fn set_timeouts(&mut self, statement: Option<Duration>, idle: Duration) -> Result<(), DbError> {
        let idle_ms = idle.as_millis().max(1000);
        match self.dialect {
            Dialect::Postgres => {
                self.set_statement_timeout(statement).await?;
                // PostgreSQL 14+; older servers have only the in-transaction variant.
                let _ = self.execute(&format!("SET idle_session_timeout = {idle_ms}")).await;
                let _ = self.execute(&format!("SET idle_in_transaction_session_timeout = {idle_ms}")).await;
            }
            Dialect::MySql => {
                let secs = idle_ms.div_ceil(1000);
                self.execute(&format!("SET SESSION wait_timeout = {secs}"))
                    .await
                    .map_err(query_error("setting wait_timeout"))?;
                self.set_statement_timeout(statement).await?;
            }
            Dialect::Sqlite => {}
        }
        Ok(())
    }

    /// Limits the next statements to `limit` (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`;
    /// MySQL has no such limit for DDL). None leaves the session's (role's, server's) setting alone.
    pub async fn set_statement_timeout(&mut self, limit: Option<Duration>) -> Result<(), DbError> {
        let Some(limit) = limit else { return Ok(()) };
        match self.dialect {
            Dialect::Postgres => self
                .execute(&format!("SET statement_timeout = {}", limit.as_millis().max(1)))
                .await
                .map_err(query_error("setting statement_timeout")),
            Dialect::MySql if self.mariadb => self
                .execute(&format!("SET SESSION max_statement_time = {:.3}", limit.as_secs_f64().max(0.001)))
                .await
                .map_err(query_error("setting max_statement_time")),
            Dialect::MySql | Dialect::Sqlite => Ok(()),
        }
    }

    /// MySQL's lock names are server-wide: the database is part of the name, which may hold 64 characters.
    fn lock_name(&self) -> String {
        let full = format!("db-deploy:{}.{}", self.schema.as_deref().unwrap_or(""), self.table);
        if full.len() <= 64 { full } else { format!("db-deploy:{:08x}", crc32fast::hash(full.as_bytes())) }
    }

    fn lock_key(&self) -> i64 {
        // A fixed base (so unrelated advisory locks are unlikely to collide) plus the table's CRC-32.
        0x6462_6465_0000_0000 ^ i64::from(crc32fast::hash(self.lock_name().as_bytes()))
    }

    /// Takes the per-database deploy lock, waiting up to `timeout`. SQLite has no server: it relies on
    /// its own file locking and the transaction around each migration.
    pub async fn lock(&mut self, timeout: Duration) -> Result<(), DbError> {
        let seconds = timeout.as_secs();
        let started = tokio::time::Instant::now();
        match self.dialect {
            Dialect::Postgres => loop {
                let key = self.lock_key();
                let Conn::Postgres(c) = &mut self.conn else { unreachable!("dialect matches the connection") };
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(c)
                    .await
                    .map_err(query_error("taking the deploy lock (pg_try_advisory_lock)"))?;
                if got {
                    break;
                }
                if started.elapsed() >= timeout {
                    return Err(DbError::LockTimeout { table: self.table.clone(), seconds });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            },
            Dialect::MySql => {
                let name = self.lock_name();
                let Conn::MySql(c) = &mut self.conn else { unreachable!("dialect matches the connection") };
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(&name)
                    .bind(timeout.as_secs_f64().ceil() as i64)
                    .fetch_one(c)
                    .await
                    .map_err(query_error("taking the deploy lock (GET_LOCK)"))?;
                if got != Some(1) {
                    return Err(DbError::LockTimeout { table: self.table.clone(), seconds });
                }
            }
            Dialect::Sqlite => {}
        }
        self.locked = true;
        Ok(())
    }

    /// Releases the lock if held. Errors are returned, but the caller closes the connection anyway, which
    /// releases it too.
    pub async fn unlock(&mut self) -> Result<(), DbError> {
        if !self.locked {
            return Ok(());
        }
        self.locked = false;
        let key = self.lock_key();
        let name = self.lock_name();
        match &mut self.conn {
            Conn::Postgres(c) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(key)
                    .execute(c)
                    .await
                    .map_err(query_error("releasing the deploy lock"))?;
            }
            Conn::MySql(c) => {
                sqlx::query("SELECT RELEASE_LOCK(?)")
                    .bind(name)
                    .execute(c)
                    .await
                    .map_err(query_error("releasing the deploy lock"))?;
            }
            Conn::Sqlite(_) => {}
        }
        Ok(())
    }

    /// Releases the lock and closes the connection.
    pub async fn close(mut self) {
        if let Err(error) = self.unlock().await {
            tracing::warn!(error = %error, "releasing the deploy lock failed; closing the connection releases it");
        }
        let _ = on_conn!(self.conn, c => c.close().await);
    }

    /// Whether the history table exists (in the connection's current schema / database).
    pub async fn history_exists(&mut self) -> Result<bool, DbError> {
        let table = self.table.clone();
        self.table_exists(&table).await
    }

    async fn table_exists(&mut self, table: &str) -> Result<bool, DbError> {
        let what = || query_error(format!("looking for the table {table}"));
        let count: i64 = match &mut self.conn {
            Conn::Postgres(c) => sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_one(c)
            .await
            .map_err(what())?,
            Conn::MySql(c) => sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
            )
            .bind(table)
            .fetch_one(c)
            .await
            .map_err(what())?,
            Conn::Sqlite(c) => sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
                .bind(table)
                .fetch_one(c)
                .await
                .map_err(what())?,
        };
        Ok(count > 0)
    }

    /// How many other tables the schema has (to tell an empty database from one that needs a baseline).
    pub async fn other_tables(&mut self) -> Result<i64, DbError> {
        let table = self.table.clone();
        let what = || query_error("counting the schema's tables");
        match &mut self.conn {
            Conn::Postgres(c) => sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> $1 \
                 AND lower(table_name) NOT IN ('databasechangelog', 'databasechangeloglock')",
            )
            .bind(&table)
            .fetch_one(c)
            .await
            .map_err(what()),
            Conn::MySql(c) => sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> ? \
                 AND lower(table_name) NOT IN ('databasechangelog', 'databasechangeloglock')",
            )
            .bind(&table)
            .fetch_one(c)
            .await
            .map_err(what()),
            Conn::Sqlite(c) => sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name <> ? AND name NOT LIKE 'sqlite_%' \
                 AND lower(name) NOT IN ('databasechangelog', 'databasechangeloglock')",
            )
            .bind(&table)
            .fetch_one(c)
            .await
            .map_err(what()),
        }
    }

    /// Creates the history table as Flyway does (same columns, key and index), so either tool can continue.
    pub async fn create_history(&mut self) -> Result<(), DbError> {
        let t = self.table.clone();
        let q = self.quoted_table();
        let statements = match self.dialect {
            Dialect::Postgres => vec![
                format!(
                    "CREATE TABLE {q} (\"installed_rank\" INT NOT NULL, \"version\" VARCHAR(50), \"description\" \
                     VARCHAR(200) NOT NULL, \"type\" VARCHAR(20) NOT NULL, \"script\" VARCHAR(1000) NOT NULL, \
                     \"checksum\" INTEGER, \"installed_by\" VARCHAR(100) NOT NULL, \"installed_on\" TIMESTAMP NOT NULL \
                     DEFAULT now(), \"execution_time\" INTEGER NOT NULL, \"success\" BOOLEAN NOT NULL)"
                ),
                format!("ALTER TABLE {q} ADD CONSTRAINT \"{t}_pk\" PRIMARY KEY (\"installed_rank\")"),
                format!("CREATE INDEX \"{t}_s_idx\" ON {q} (\"success\")"),
            ],
            Dialect::MySql => vec![
                format!(
                    "CREATE TABLE {q} (`installed_rank` INT NOT NULL, `version` VARCHAR(50), `description` VARCHAR(200) \
                     NOT NULL, `type` VARCHAR(20) NOT NULL, `script` VARCHAR(1000) NOT NULL, `checksum` INT, \
                     `installed_by` VARCHAR(100) NOT NULL, `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
                     `execution_time` INT NOT NULL, `success` BOOL NOT NULL, CONSTRAINT `{t}_pk` PRIMARY KEY \
                     (`installed_rank`)) ENGINE=InnoDB"
                ),
                format!("CREATE INDEX `{t}_s_idx` ON {q} (`success`)"),
            ],
            Dialect::Sqlite => vec![
                format!(
                    "CREATE TABLE {q} (\"installed_rank\" INT NOT NULL PRIMARY KEY, \"version\" VARCHAR(50), \
                     \"description\" VARCHAR(200) NOT NULL, \"type\" VARCHAR(20) NOT NULL, \"script\" VARCHAR(1000) \
                     NOT NULL, \"checksum\" INT, \"installed_by\" VARCHAR(100) NOT NULL, \"installed_on\" TEXT NOT NULL \
                     DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), \"execution_time\" INT NOT NULL, \"success\" \
                     BOOLEAN NOT NULL)"
                ),
                format!("CREATE INDEX \"{t}_s_idx\" ON {q} (\"success\")"),
            ],
        };
        for sql in statements {
            self.execute(&sql).await.map_err(query_error(format!("creating the history table {t}")))?;
        }
        Ok(())
    }

    /// Every row of the history, by installed_rank.
    pub async fn read_history(&mut self) -> Result<Vec<Applied>, DbError> {
        let sql = format!(
            "SELECT installed_rank, version, description, type, script, checksum, success FROM {} ORDER BY installed_rank",
            self.quoted_table()
        );
        type Row = (i32, Option<String>, String, String, String, Option<i32>, bool);
        let rows: Vec<Row> = on_conn!(&mut self.conn, c => sqlx::query_as(&sql).fetch_all(c).await)
            .map_err(query_error(format!("reading the history table {}", self.table)))?;
        Ok(rows
            .into_iter()
            .map(|(installed_rank, version, description, kind, script, checksum, success)| Applied {
                installed_rank,
                version,
                description,
                kind,
                script,
                checksum,
                success,
            })
            .collect())
    }

    /// Appends a row (installed_rank = the highest + 1; the deploy lock or the migration's transaction keeps
    /// this free of races).
    pub async fn insert_history(&mut self, row: &NewRow<'_>) -> Result<(), DbError> {
        let q = self.quoted_table();
        let p = |i: usize| if self.dialect == Dialect::Postgres { format!("${i}") } else { "?".to_string() };
        let sql = format!(
            "INSERT INTO {q} (installed_rank, version, description, type, script, checksum, installed_by, \
             execution_time, success) SELECT COALESCE(MAX(installed_rank), 0) + 1, {}, {}, {}, {}, {}, {}, {}, {} FROM {q}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6),
            p(7),
            p(8)
        );
        let description: String = row.description.chars().take(200).collect();
        let installed_by: String = row.installed_by.chars().take(100).collect();
        on_conn!(&mut self.conn, c => sqlx::query(&sql)
            .bind(row.version)
            .bind(&description)
            .bind(row.kind)
            .bind(row.script)
            .bind(row.checksum)
            .bind(&installed_by)
            .bind(row.execution_ms)
            .bind(row.success)
            .execute(c)
            .await
            .map(|_| ()))
        .map_err(query_error(format!("recording {} in the history table {}", row.script, self.table)))?;
        Ok(())
    }

    /// Removes the rows of failed migrations (the repair), returning how many.
    pub async fn delete_failed(&mut self) -> Result<u64, DbError> {
        let sql = format!("DELETE FROM {} WHERE success = {}", self.quoted_table(), self.false_literal());
        let result = on_conn!(&mut self.conn, c => sqlx::query(&sql).execute(c).await.map(|r| r.rows_affected()))
            .map_err(query_error(format!("removing failed rows from {}", self.table)))?;
        Ok(result)
    }

    fn false_literal(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "false",
            Dialect::MySql | Dialect::Sqlite => "0",
        }
    }

    /// Liquibase's table name as Liquibase creates it on each engine.
    pub fn changelog_table(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "databasechangelog",
            Dialect::MySql | Dialect::Sqlite => "DATABASECHANGELOG",
        }
    }

    pub async fn changelog_exists(&mut self) -> Result<bool, DbError> {
        let table = self.changelog_table();
        self.table_exists(table).await
    }

    /// Creates `databasechangelog` with Liquibase's columns.
    pub async fn create_changelog(&mut self) -> Result<(), DbError> {
        let t = self.changelog_table();
        let q = self.qualified(t);
        let timestamp = if self.dialect == Dialect::MySql { "DATETIME" } else { "TIMESTAMP" };
        let sql = format!(
            "CREATE TABLE {q} (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, \
             DATEEXECUTED {timestamp} NOT NULL, ORDEREXECUTED INT NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM \
             VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20), \
             CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))"
        );
        self.execute(&sql).await.map_err(query_error(format!("creating the changelog table {t}")))
    }

    /// Every row of `databasechangelog`, in the order executed.
    pub async fn read_changelog(&mut self) -> Result<Vec<ChangelogRow>, DbError> {
        let t = self.changelog_table();
        let sql =
            format!("SELECT ID, AUTHOR, FILENAME, MD5SUM, EXECTYPE FROM {} ORDER BY ORDEREXECUTED", self.qualified(t));
        type Row = (String, String, String, Option<String>, String);
        let rows: Vec<Row> = on_conn!(&mut self.conn, c => sqlx::query_as(&sql).fetch_all(c).await)
            .map_err(query_error(format!("reading the changelog table {t}")))?;
        Ok(rows
            .into_iter()
            .map(|(id, author, filename, md5sum, exectype)| ChangelogRow { id, author, filename, md5sum, exectype })
            .collect())
    }

    /// Records a changeset: a new row, or (`rerun`) the existing row updated as Liquibase does.
    pub async fn record_changeset(&mut self, row: &ChangelogInsert<'_>) -> Result<(), DbError> {
        let t = self.changelog_table();
        let q = self.qualified(t);
        let p = |i: usize| if self.dialect == Dialect::Postgres { format!("${i}") } else { "?".to_string() };
        let clip = |text: &str, n: usize| text.chars().take(n).collect::<String>();
        let what = query_error(format!("recording {} in {t}", row.label));
        if row.rerun {
            let sql = format!(
                "UPDATE {q} SET MD5SUM = {}, EXECTYPE = {}, DATEEXECUTED = CURRENT_TIMESTAMP WHERE ID = {} AND AUTHOR = {} \
                 AND FILENAME = {}",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            );
            return on_conn!(&mut self.conn, c => sqlx::query(&sql)
                .bind(row.md5sum)
                .bind(row.exectype)
                .bind(row.id)
                .bind(row.author)
                .bind(row.filename)
                .execute(c)
                .await
                .map(|_| ()))
            .map_err(what);
        }
        let sql = format!(
            "INSERT INTO {q} (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, EXECTYPE, MD5SUM, DESCRIPTION, COMMENTS, \
             LIQUIBASE, CONTEXTS, LABELS, DEPLOYMENT_ID) SELECT {}, {}, {}, CURRENT_TIMESTAMP, \
             COALESCE(MAX(ORDEREXECUTED), 0) + 1, {}, {}, 'sql', {}, 'db-deploy', {}, {}, {} FROM {q}",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6),
            p(7),
            p(8),
            p(9)
        );
        on_conn!(&mut self.conn, c => sqlx::query(&sql)
            .bind(clip(row.id, 255))
            .bind(clip(row.author, 255))
            .bind(clip(row.filename, 255))
            .bind(row.exectype)
            .bind(row.md5sum)
            .bind(clip(row.comments, 255))
            .bind(clip(row.contexts, 255))
            .bind(clip(row.labels, 255))
            .bind(clip(row.deployment_id, 10))
            .execute(c)
            .await
            .map(|_| ()))
        .map_err(what)
    }

    /// Removes the rows of failed changesets (the repair), returning how many.
    pub async fn delete_failed_changesets(&mut self) -> Result<u64, DbError> {
        let t = self.changelog_table();
        let sql = format!("DELETE FROM {} WHERE EXECTYPE = 'FAILED'", self.qualified(t));
        on_conn!(&mut self.conn, c => sqlx::query(&sql).execute(c).await.map(|r| r.rows_affected()))
            .map_err(query_error(format!("removing failed rows from {t}")))
    }

    /// Starts a transaction (`BEGIN IMMEDIATE` on SQLite, so concurrent writers wait instead of failing later).
    pub async fn begin(&mut self) -> Result<(), sqlx::Error> {
        let sql = if self.dialect == Dialect::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        self.execute(sql).await
    }

    pub async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.execute("COMMIT").await
    }

    pub async fn rollback(&mut self) -> Result<(), sqlx::Error> {
        self.execute("ROLLBACK").await
    }
}
