//! db-deploy against the real PostgreSQL and MariaDB on this machine (and SQLite files): from empty, re-run,
//! new and changed migrations, drift, failures mid-set on both engines with the repair path, 8 concurrent
//! deploys, the reference's index rule, placeholders, DELIMITER procedures, CONCURRENTLY outside a
//! transaction; then the Lambda handler end to end with the artifact in moto S3, the secret in moto Secrets
//! Manager and the CodePipeline stand-in: forecast variables, reports, continuation across invocations, and
//! every bad-input path (missing or malformed secret, unreachable database, wrong password, credentials in
//! UserParameters).

use db_deploy::action::DbDeploy;
use db_deploy::deploy::{self, Mode, Options, Report, RunError, Status};
use db_deploy::source::{Placeholders, SourceFile};
use db_deploy::target::{self, Target};
use std::collections::BTreeMap;
use std::time::Duration;
use test_support::db::{Engine, TestDatabase};
use test_support::moto::moto;
use test_support::rig::{self, JobEvent, invocation, settings, zip_bytes};
use test_support::standin::{CodePipelineStandIn, RecordedOutcome};

fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter().map(|(path, text)| SourceFile { path: path.to_string(), text: text.to_string() }).collect()
}

fn options(mode: Mode) -> Options {
    Options { mode, lock_timeout: Duration::from_secs(60), installed_by: "e2e test".into(), ..Options::default() }
}

async fn run(files: &[SourceFile], target: &Target, mode: Mode) -> Report {
    deploy::run(files, target, &options(mode), None).await.unwrap_or_else(|e| panic!("run failed: {e:?}"))
}

fn url_target(db: &TestDatabase) -> Target {
    target::from_url(&db.url).expect("test URL")
}

/// A SQLite file in a fresh temporary folder (kept until the test ends).
struct SqliteFile {
    dir: std::path::PathBuf,
}

impl SqliteFile {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("db-deploy-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self { dir }
    }

    fn target(&self) -> Target {
        target::from_url(&format!("sqlite://{}", self.dir.join("app.db").display())).expect("sqlite URL")
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn applied(report: &Report) -> Vec<&str> {
    report.applied.iter().map(|s| s.migration.as_str()).collect()
}

const V1: (&str, &str) =
    ("V1__create_accounts.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(100));\n");
const V2: (&str, &str) = ("V2__seed.sql", "INSERT INTO accounts (id, name) VALUES (1, 'first');\n");
const R1: (&str, &str) = (
    "R__account_names.sql",
    "DROP VIEW IF EXISTS account_names;\nCREATE VIEW account_names AS SELECT name FROM accounts;\n",
);

/// From empty, re-run (no-op), a new migration, a changed repeatable, then drift: the same on every engine.
async fn lifecycle(target: Target) {
    let set = files(&[V1, V2, R1]);
    let first = run(&set, &target, Mode::Deploy).await;
    assert_eq!(first.status, Status::Ok, "{first:#?}");
    assert_eq!(applied(&first), ["V1 (create accounts)", "V2 (seed)", "R (account names)"]);
    assert_eq!(first.schema_version.as_deref(), Some("2"));
    assert_eq!(db_deploy::render::summary(&first), "applied 3 migrations; schema at version 2; 0 warnings");

    let again = run(&set, &target, Mode::Deploy).await;
    assert_eq!((again.status, again.applied.len()), (Status::Ok, 0), "{again:#?}");
    assert_eq!(db_deploy::render::summary(&again), "nothing to apply; schema at version 2; 0 warnings");

    let v3 = ("V3__more.sql", "INSERT INTO accounts (id, name) VALUES (2, 'second');\n");
    let changed_view = (
        "R__account_names.sql",
        "DROP VIEW IF EXISTS account_names;\nCREATE VIEW account_names AS SELECT name FROM accounts WHERE id > 0;\n",
    );
    let grown = files(&[V1, V2, v3, changed_view]);
    let validate = run(&grown, &target, Mode::Validate).await;
    assert_eq!(validate.status, Status::Ok);
    assert_eq!(validate.pending.len(), 2, "V3 and the changed view");
    let next = run(&grown, &target, Mode::Deploy).await;
    assert_eq!(applied(&next), ["V3 (more)", "R (account names)"]);
    assert_eq!(next.schema_version.as_deref(), Some("3"));

    let drifted =
        files(&[(V1.0, "CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(200));\n"), V2, v3, changed_view]);
    let refused = run(&drifted, &target, Mode::Deploy).await;
    assert_eq!(refused.status, Status::Invalid);
    assert_eq!(refused.problems.len(), 1, "{:?}", refused.problems);
    assert!(
        refused.problems[0].starts_with("V1__create_accounts.sql changed after it was applied as V1 (create accounts)"),
        "{}",
        refused.problems[0]
    );
    assert!(db_deploy::render::summary(&refused).ends_with("nothing was applied"));
}

#[tokio::test]
async fn postgres_lifecycle() {
    let db = TestDatabase::postgres();
    lifecycle(url_target(&db)).await;
    // The history is Flyway's: same columns, types, checksums, ranks.
    assert_eq!(
        db.query("SELECT installed_rank, version, description, type, script, checksum, success FROM flyway_schema_history ORDER BY installed_rank"),
        format!(
            "1|1|create accounts|SQL|V1__create_accounts.sql|{}|t\n2|2|seed|SQL|V2__seed.sql|{}|t\n3||account names|SQL|R__account_names.sql|{}|t\n\
             4|3|more|SQL|V3__more.sql|{}|t\n5||account names|SQL|R__account_names.sql|{}|t",
            db_deploy::checksum::flyway_checksum(V1.1),
            db_deploy::checksum::flyway_checksum(V2.1),
            db_deploy::checksum::flyway_checksum(R1.1),
            db_deploy::checksum::flyway_checksum("INSERT INTO accounts (id, name) VALUES (2, 'second');\n"),
            db_deploy::checksum::flyway_checksum(
                "DROP VIEW IF EXISTS account_names;\nCREATE VIEW account_names AS SELECT name FROM accounts WHERE id > 0;\n"
            ),
        )
    );
    assert_eq!(db.query("SELECT installed_by FROM flyway_schema_history WHERE installed_rank = 1"), "e2e test");
    assert_eq!(
        db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'flyway_schema_history' ORDER BY indexname"),
        "flyway_schema_history_pk\nflyway_schema_history_s_idx"
    );
}

#[tokio::test]
async fn mariadb_lifecycle() {
    let db = TestDatabase::mariadb();
    lifecycle(url_target(&db)).await;
    assert_eq!(
        db.query("SELECT installed_rank, COALESCE(version, ''), type, success FROM flyway_schema_history ORDER BY installed_rank"),
        "1\t1\tSQL\t1\n2\t2\tSQL\t1\n3\t\tSQL\t1\n4\t3\tSQL\t1\n5\t\tSQL\t1"
    );
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let file = SqliteFile::new();
    lifecycle(file.target()).await;
}

#[tokio::test]
async fn postgres_failure_mid_set_leaves_nothing_partial() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let broken = (
        "V2__seed.sql",
        "INSERT INTO accounts (id, name) VALUES (1, 'first');\nINSERT INTO missing_table VALUES (1);\n",
    );
    let v3 = ("V3__later.sql", "INSERT INTO accounts (id, name) VALUES (3, 'third');\n");
    let report = run(&files(&[V1, broken, v3]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::MigrationFailed);
    assert_eq!(applied(&report), ["V1 (create accounts)"]);
    let failure = report.failure.as_ref().expect("failure");
    assert_eq!((failure.script.as_str(), failure.line, failure.recorded), ("V2__seed.sql", 2, false));
    assert_eq!(failure.error, "relation \"missing_table\" does not exist (code 42P01)");
    assert_eq!(
        db_deploy::render::summary(&report),
        "V2 (seed) failed at V2__seed.sql:2: relation \"missing_table\" does not exist (code 42P01); it was rolled back \
         and nothing of it remains; applied before it: V1 (create accounts); schema at version 1"
    );
    assert_eq!(db.query("SELECT count(*) FROM accounts"), "0", "the first INSERT of V2 was rolled back");
    assert_eq!(db.query("SELECT count(*) FROM flyway_schema_history"), "1");

    let fixed = run(&files(&[V1, V2, v3]), &target, Mode::Deploy).await;
    assert_eq!(applied(&fixed), ["V2 (seed)", "V3 (later)"]);
}

#[tokio::test]
async fn mariadb_failure_is_recorded_refused_then_repaired() {
    let db = TestDatabase::mariadb();
    let target = url_target(&db);
    let broken = ("V2__audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\nINSERT INTO missing_table VALUES (1);\n");
    let report = run(&files(&[V1, broken]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::MigrationFailed);
    let failure = report.failure.as_ref().expect("failure");
    assert_eq!((failure.line, failure.recorded), (2, true));
    assert!(failure.error.contains("missing_table' doesn't exist (code 42S02)"), "{}", failure.error);
    assert!(db_deploy::render::summary(&report).contains("it is recorded as failed: repair the database by hand"));
    assert_eq!(db.query("SELECT version, success FROM flyway_schema_history WHERE version = '2'"), "2\t0");

    let refused = run(&files(&[V1, broken]), &target, Mode::Deploy).await;
    assert_eq!(refused.status, Status::Invalid);
    assert_eq!(
        refused.problems,
        [
            "V2 (audit) (V2__audit.sql) failed in an earlier run and may be partly applied; repair the database, then mark \
          it repaired (db-deploy repair) before deploying again"
        ]
    );

    // The documented repair: undo what the failed run left (here the table), fix the file, then `repair`.
    db.query("DROP TABLE audit");
    let repaired = run(&files(&[V1, broken]), &target, Mode::Repair).await;
    assert_eq!((repaired.status, repaired.repaired), (Status::Ok, 1));
    let fixed = ("V2__audit.sql", "CREATE TABLE audit (id INT PRIMARY KEY);\nINSERT INTO audit VALUES (1);\n");
    let after = run(&files(&[V1, fixed]), &target, Mode::Deploy).await;
    assert_eq!(applied(&after), ["V2 (audit)"]);
    assert_eq!(db.query("SELECT count(*) FROM audit"), "1");
}

/// Eight deploys at once: each migration runs exactly once and every run succeeds.
async fn concurrent(target: Target, db: &TestDatabase) {
    let mut list =
        vec![("V1__log.sql".to_string(), "CREATE TABLE run_log (version VARCHAR(10) PRIMARY KEY);\n".to_string())];
    for v in 2..=6 {
        list.push((format!("V{v}__step.sql"), format!("INSERT INTO run_log (version) VALUES ('{v}');\n")));
    }
    let set: Vec<SourceFile> = list.into_iter().map(|(path, text)| SourceFile { path, text }).collect();
    let runs = (0..8).map(|_| {
        let set = set.clone();
        let target = target.clone();
        tokio::spawn(async move { run(&set, &target, Mode::Deploy).await })
    });
    let reports = futures_join(runs).await;
    let total: usize = reports.iter().map(|r| r.applied.len()).sum();
    assert!(reports.iter().all(|r| r.status == Status::Ok), "{reports:#?}");
    assert_eq!(total, 6, "each migration applied once in all");
    assert_eq!(db.query("SELECT count(*) FROM run_log"), "5");
    assert_eq!(db.query("SELECT count(*) FROM flyway_schema_history"), "6");
}

async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<Report>>) -> Vec<Report> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_deploys_on_postgres() {
    let db = TestDatabase::postgres();
    concurrent(url_target(&db), &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_deploys_on_mariadb() {
    let db = TestDatabase::mariadb();
    concurrent(url_target(&db), &db).await;
}

#[tokio::test]
async fn the_references_index_rule_fails_before_the_database_is_touched() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let table = ("V1__orders.sql", "CREATE TABLE orders (id INT PRIMARY KEY, a INT, b INT, c INT, d INT);\n");
    let wide = ("V2__index.sql", "CREATE INDEX orders_wide ON orders (a, b, c, d);\n");
    let report = run(&files(&[table, wide]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::RulesFailed);
    assert_eq!(
        db_deploy::render::lines(&report)[0],
        "error V2__index.sql:1 index-too-many-columns: index `orders_wide` on `orders` has 4 columns (a, b, c, d); at \
         most 3 are allowed"
    );
    assert_eq!(db_deploy::render::summary(&report), "forecast failed: 1 error, 0 warnings; nothing was applied");
    assert_eq!(
        db.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"),
        "0",
        "no history table, no orders table"
    );
    let narrow = ("V2__index.sql", "CREATE INDEX orders_narrow ON orders (a, b, c);\n");
    let report = run(&files(&[table, narrow]), &target, Mode::Deploy).await;
    assert_eq!((report.status, report.applied.len()), (Status::Ok, 2), "{report:#?}");
}

#[tokio::test]
async fn placeholders_are_replaced_or_named() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let set = files(&[(
        "V1__t.sql",
        "CREATE TABLE ${table} (id INT PRIMARY KEY);\nCOMMENT ON TABLE ${table} IS '${flyway:filename}';",
    )]);
    let mut opts = options(Mode::Deploy);
    let missing = deploy::run(&set, &target, &opts, None).await.expect_err("missing placeholder");
    assert!(matches!(missing, RunError::Placeholder(_)));
    assert_eq!(
        missing.to_string(),
        "V1__t.sql:1: no value for placeholder ${table}; give it in `placeholders` (UserParameters) or --placeholder"
    );
    opts.placeholders = Placeholders(BTreeMap::from([("table".to_string(), "widgets".to_string())]));
    let report = deploy::run(&set, &target, &opts, None).await.expect("run");
    assert_eq!(report.status, Status::Ok);
    assert_eq!(db.query("SELECT obj_description('widgets'::regclass)"), "V1__t.sql");
}

#[tokio::test]
async fn mariadb_procedures_with_and_without_delimiter() {
    let db = TestDatabase::mariadb();
    let target = url_target(&db);
    let procedures = "DELIMITER $$\nCREATE PROCEDURE add_account(IN n VARCHAR(100))\nBEGIN\n  DECLARE next_id INT;\n  \
        SELECT COALESCE(MAX(id), 0) + 1 INTO next_id FROM accounts;\n  INSERT INTO accounts (id, name) VALUES (next_id, n);\nEND$$\n\
        DELIMITER ;\nCREATE FUNCTION shout(s VARCHAR(100)) RETURNS VARCHAR(100) DETERMINISTIC\nBEGIN\n  \
        IF s IS NULL THEN RETURN ''; END IF;\n  RETURN UPPER(s);\nEND;\nCALL add_account(shout('ada'));\nCALL add_account('grace');\n";
    let report = run(&files(&[V1, ("V2__procedures.sql", procedures)]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::Ok, "{report:#?}");
    assert_eq!(report.applied[1].statements, 4);
    assert_eq!(db.query("SELECT GROUP_CONCAT(name ORDER BY id) FROM accounts"), "ADA,grace");
}

#[tokio::test]
async fn postgres_concurrently_runs_outside_a_transaction() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let concurrent = ("V2__index.sql", "CREATE INDEX CONCURRENTLY accounts_name ON accounts (name);\n");
    let marked = (
        "V3__more.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY accounts_upper ON accounts (upper(name));\nANALYZE accounts;\n",
    );
    let conf = ("V3__more.sql.conf", "executeInTransaction=false\n");
    let report = run(&files(&[V1, concurrent, marked, conf]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::Ok, "{report:#?}");
    let outside: Vec<bool> = report.applied.iter().map(|s| s.in_transaction).collect();
    assert_eq!(outside, [true, false, false]);
    assert_eq!(
        db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'accounts' ORDER BY indexname"),
        "accounts_name\naccounts_pkey\naccounts_upper"
    );

    let mixed = (
        "V4__mixed.sql",
        "ALTER TABLE accounts ADD COLUMN note TEXT;\nCREATE INDEX CONCURRENTLY accounts_note ON accounts (note);\n",
    );
    let report = run(&files(&[V1, concurrent, marked, conf, mixed]), &target, Mode::Deploy).await;
    assert_eq!(report.status, Status::RulesFailed);
    assert!(report.forecast.findings[0].to_string().starts_with("V4__mixed.sql:2 mixed-transaction-modes:"));
}

#[tokio::test]
async fn an_existing_schema_needs_a_baseline() {
    let db = TestDatabase::postgres();
    // Created by hand (or by another tool) before db-deploy: what V1 would create.
    db.query("CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(100))");
    let target = url_target(&db);
    let set = files(&[V1, V2]);
    let refused = deploy::run(&set, &target, &options(Mode::Deploy), None).await.expect_err("needs a baseline");
    assert!(
        refused.to_string().starts_with("the database is not empty (1 tables) but has no history table"),
        "{refused}"
    );
    let opts = Options {
        baseline_on_migrate: true,
        baseline_version: Some(db_deploy::version::Version::parse("1").expect("v")),
        ..options(Mode::Deploy)
    };
    let report = deploy::run(&set, &target, &opts, None).await.expect("run");
    assert_eq!(report.baselined.as_deref(), Some("1"));
    assert_eq!(applied(&report), ["V2 (seed)"], "V1 is part of the baseline");
    assert_eq!(db.query("SELECT type, version FROM flyway_schema_history WHERE installed_rank = 1"), "BASELINE|1");
}

// ---- the Lambda handler end to end ---------------------------------------------------------------------

struct Rig {
    aws: aws_config::SdkConfig,
    standin: CodePipelineStandIn,
    s3: aws_sdk_s3::Client,
    secrets: aws_sdk_secretsmanager::Client,
    bucket: String,
}

impl Rig {
    async fn new() -> Self {
        let aws = rig::aws_config(moto().endpoint()).await;
        let s3 = rig::s3(&aws);
        let bucket = rig::new_bucket(&s3).await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        Self { aws, standin: CodePipelineStandIn::start(), s3, secrets, bucket }
    }

    async fn secret(&self, text: &str) -> String {
        let name = format!("db/{}", uuid::Uuid::new_v4().simple());
        self.secrets.create_secret().name(&name).secret_string(text).send().await.expect("create secret in moto");
        name
    }

    async fn secret_for(&self, db: &TestDatabase) -> String {
        let (engine, port, user) = match db.engine {
            Engine::Postgres => ("postgres", 5432, "postgres"),
            Engine::MariaDb => ("mariadb", 3306, "root"),
        };
        self.secret(&format!(
            r#"{{"engine":"{engine}","host":"127.0.0.1","port":{port},"username":"{user}","password":"","dbname":"{}"}}"#,
            db.name
        ))
        .await
    }

    async fn artifact(&self, entries: &[(&str, &str)]) -> String {
        let key = format!("in/{}.zip", uuid::Uuid::new_v4().simple());
        let list: Vec<(&str, &[u8])> = entries.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
        rig::put(&self.s3, &self.bucket, &key, zip_bytes(&list)).await;
        key
    }

    /// Invokes the handler for `event` with a Lambda deadline `deadline` from now.
    async fn invoke(&self, event: JobEvent, deadline: Option<Duration>, margin: Duration) {
        let action = DbDeploy::new(self.secrets.clone(), margin);
        let harness = codepipeline_action::Harness::new(
            action,
            self.aws.clone(),
            rig::reporter(&self.aws, self.standin.endpoint()),
            settings(),
        );
        harness.handle(invocation(event.to_json(), deadline)).await.expect("handled");
    }

    async fn job(&self, params: &str, key: &str) -> String {
        let job = self.standin.new_job();
        self.invoke(
            JobEvent::new(&job).user_parameters(params).input("Source", &self.bucket, key),
            None,
            Duration::from_secs(5),
        )
        .await;
        job
    }

    fn failure(&self, job: &str) -> (String, String) {
        let result = self.standin.only_result(job);
        let (kind, message) = result.failure();
        (kind.to_string(), message.to_string())
    }
}

const MIGRATIONS: &[(&str, &str)] = &[
    ("db/migrations/V1__create_accounts.sql", V1.1),
    ("db/migrations/V2__seed.sql", V2.1),
    ("db/migrations/R__account_names.sql", R1.1),
    ("README.md", "not a migration"),
];

#[tokio::test]
async fn handler_forecast_then_deploy_with_reports() {
    let rig = Rig::new().await;
    let db = TestDatabase::postgres();
    let secret = rig.secret_for(&db).await;
    let key = rig.artifact(MIGRATIONS).await;

    let job = rig.job(&format!(r#"{{"secretId": "{secret}", "mode": "forecast"}}"#), &key).await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert_eq!(summary, "forecast passed: 3 migrations would run; schema has no version yet; 0 warnings");
    assert_eq!(variables["pendingCount"], "3");
    assert_eq!(variables["pending"], "V1 (create accounts), V2 (seed), R (account names)");
    assert_eq!(variables["mode"], "forecast");
    assert_eq!(db.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"), "0");

    let job = rig.standin.new_job();
    let out_key = format!("out/{}.zip", uuid::Uuid::new_v4().simple());
    let event = JobEvent::new(&job)
        .user_parameters(&format!(r#"{{"secretId": "{secret}"}}"#))
        .input("Source", &rig.bucket, &key)
        .output("Reports", &rig.bucket, &out_key);
    rig.invoke(event, None, Duration::from_secs(5)).await;
    let result = rig.standin.only_result(&job);
    let (summary, variables) = result.success();
    assert_eq!(summary, "applied 3 migrations; schema at version 2; 0 warnings");
    assert_eq!((variables["schemaVersion"].as_str(), variables["appliedCount"].as_str()), ("2", "3"));
    assert_eq!(variables["warnings"], "0");
    assert_eq!(
        db.query("SELECT installed_by FROM flyway_schema_history WHERE installed_rank = 1"),
        format!("codepipeline job {job}")
    );

    let zip = rig.s3.get_object().bucket(&rig.bucket).key(&out_key).send().await.expect("output artifact");
    let bytes = zip.body.collect().await.expect("body").into_bytes();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    let mut names: Vec<String> = archive.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(names, ["db-deploy-report/deploy-report.html", "db-deploy-report/deploy-report.json"]);
    let mut json = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("db-deploy-report/deploy-report.json").expect("json"),
        &mut json,
    )
    .expect("read");
    let report: serde_json::Value = serde_json::from_str(&json).expect("report JSON");
    assert_eq!(report["status"], "ok");
    assert_eq!(report["applied"].as_array().map(Vec::len), Some(3));
    let mut html = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("db-deploy-report/deploy-report.html").expect("html"),
        &mut html,
    )
    .expect("read");
    assert!(html.contains("<td><code>V2__seed.sql</code></td>") && html.contains("applied 3 migrations"), "{html}");
}

#[tokio::test]
async fn handler_forecast_failure_lists_file_line_and_rule() {
    let rig = Rig::new().await;
    let db = TestDatabase::mariadb();
    let secret = rig.secret_for(&db).await;
    let key = rig
        .artifact(&[
            ("sql/V1__orders.sql", "CREATE TABLE orders (id INT PRIMARY KEY, a INT, b INT, c INT, d INT);\n"),
            (
                "sql/V2__index.sql",
                "-- reporting\nCREATE INDEX orders_wide ON orders (a, b, c, d);\nDROP TABLE legacy;\n",
            ),
        ])
        .await;
    let job = rig.job(&format!(r#"{{"secretId": "{secret}"}}"#), &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "JobFailed");
    assert_eq!(
        message,
        "forecast failed: 2 errors, 0 warnings; nothing was applied\n\
         error V2__index.sql:2 index-too-many-columns: index `orders_wide` on `orders` has 4 columns (a, b, c, d); at \
         most 3 are allowed\nerror V2__index.sql:3 drop-table: drops table `legacy` and every row in it\n\
         would run: V1 (orders) (V1__orders.sql, 1 statement)\nwould run: V2 (index) (V2__index.sql, 2 statements)"
    );
    assert_eq!(db.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_continues_across_invocations_when_time_is_short() {
    let rig = Rig::new().await;
    let db = TestDatabase::postgres();
    let secret = rig.secret_for(&db).await;
    let mut entries = vec![("m/V1__log.sql".to_string(), "CREATE TABLE steps (n INT PRIMARY KEY);\n".to_string())];
    for n in 2..=6 {
        entries
            .push((format!("m/V{n}__step.sql"), format!("SELECT pg_sleep(0.5);\nINSERT INTO steps VALUES ({n});\n")));
    }
    let list: Vec<(&str, &str)> = entries.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let key = rig.artifact(&list).await;
    let params = format!(r#"{{"secretId": "{secret}"}}"#);
    // The harness keeps 3 s of the 5.5 s deadline; a migration starts only with 1.5 s left: about two per
    // invocation.
    let (deadline, margin) = (Some(Duration::from_millis(5500)), Duration::from_millis(1500));
    let mut job = rig.standin.new_job();
    let mut event = JobEvent::new(&job).user_parameters(&params).input("Source", &rig.bucket, &key);
    let mut invocations = 0;
    loop {
        invocations += 1;
        assert!(invocations < 10, "the deploy never finished");
        rig.invoke(event, deadline, margin).await;
        match rig.standin.only_result(&job).outcome {
            RecordedOutcome::Success { continuation_token: Some(_), summary, percent_complete, .. } => {
                let summary = summary.unwrap_or_default();
                assert!(summary.contains("continuing in the next invocation"), "{summary}");
                assert!(percent_complete.is_some_and(|p| p < 100));
                let (next, token) = rig.standin.continuation_of(&job).expect("continued");
                job = next;
                event = JobEvent::new(&job)
                    .user_parameters(&params)
                    .input("Source", &rig.bucket, &key)
                    .continuation_token(&token);
            }
            RecordedOutcome::Success { summary, output_variables, .. } => {
                assert_eq!(output_variables["appliedCount"], "6");
                let summary = summary.unwrap_or_default();
                assert!(summary.starts_with("applied "), "{summary}");
                assert!(summary.ends_with(&format!("(applied 6 in all over {invocations} invocations)")), "{summary}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(invocations >= 2, "the time budget split the work");
    assert_eq!(db.query("SELECT count(*) FROM steps"), "5");
    assert_eq!(db.query("SELECT count(*) FROM flyway_schema_history WHERE success"), "6");
}

#[tokio::test]
async fn handler_bad_inputs() {
    let rig = Rig::new().await;
    let key = rig.artifact(MIGRATIONS).await;

    let job = rig.job(r#"{"secretId": "db/does-not-exist"}"#, &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.starts_with("secret `db/does-not-exist` was not found"), "{message}");

    let malformed = rig.secret("engine=postgres password=hunter2").await;
    let job = rig.job(&format!(r#"{{"secretId": "{malformed}"}}"#), &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.contains("is not a JSON object in the RDS secret format"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let unreachable = rig
        .secret(r#"{"engine":"postgres","host":"127.0.0.1","port":1,"username":"u","password":"hunter2","dbname":"d"}"#)
        .await;
    let job = rig.job(&format!(r#"{{"secretId": "{unreachable}"}}"#), &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "SystemUnavailable");
    assert!(message.starts_with("cannot connect to postgres://u@127.0.0.1:1/d"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let db = TestDatabase::mariadb();
    let wrong = rig
        .secret(&format!(
            r#"{{"engine":"mariadb","host":"127.0.0.1","port":3306,"username":"root","password":"hunter2-wrong","dbname":"{}"}}"#,
            db.name
        ))
        .await;
    let job = rig.job(&format!(r#"{{"secretId": "{wrong}"}}"#), &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "PermissionError");
    assert!(message.contains("Access denied for user 'root'"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let job = rig.job(r#"{"secretId": "x", "dbPassword": "hunter2"}"#, &key).await;
    let (kind, message) = rig.failure(&job);
    assert_eq!(kind, "ConfigurationError");
    assert!(message.contains("`dbPassword`, which looks like a credential"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

// ---- Liquibase formatted SQL changelogs ------------------------------------------------------------------

const CHANGELOG: &str = "--liquibase formatted sql\n\n\
    --changeset alice:1 labels:core\n\
    CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));\n\
    --rollback DROP TABLE items;\n\n\
    --changeset bob:2 labels:demo-data context:test\n\
    INSERT INTO items (id, name) VALUES (1, 'sample');\n\n\
    --changeset carol:3 labels:core\n\
    CREATE INDEX items_name ON items (name);\n";

fn with_selection(mode: Mode, labels: &str, contexts: &[&str]) -> Options {
    Options {
        selection: db_deploy::liquibase::Selection {
            labels: db_deploy::liquibase::Expr::parse(labels).expect("valid expression"),
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
        },
        ..options(mode)
    }
}

#[tokio::test]
async fn postgres_changelogs_by_label_and_context_tracked_in_databasechangelog() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let set = files(&[V1, ("changes/items.sql", CHANGELOG)]);
    let core = deploy::run(&set, &target, &with_selection(Mode::Deploy, "core", &[]), None).await.expect("run");
    assert_eq!(core.status, Status::Ok, "{core:#?}");
    assert_eq!(
        applied(&core),
        ["V1 (create accounts)", "changeset alice:1 (changes/items.sql)", "changeset carol:3 (changes/items.sql)"]
    );
    assert_eq!(
        db.query("SELECT id, author, filename, exectype, orderexecuted, labels, liquibase FROM databasechangelog ORDER BY orderexecuted"),
        "1|alice|changes/items.sql|EXECUTED|1|core|db-deploy\n3|carol|changes/items.sql|EXECUTED|2|core|db-deploy"
    );
    assert!(db.query("SELECT md5sum FROM databasechangelog WHERE id = '1'").starts_with("d1:"));

    let demo = deploy::run(&set, &target, &with_selection(Mode::Deploy, "$all", &["prod"]), None).await.expect("run");
    assert!(demo.applied.is_empty(), "bob:2 runs only in context test");
    let demo = deploy::run(&set, &target, &with_selection(Mode::Deploy, "core or demo-data", &["test"]), None)
        .await
        .expect("run");
    assert_eq!(applied(&demo), ["changeset bob:2 (changes/items.sql)"]);
    assert_eq!(db.query("SELECT count(*) FROM items"), "1");

    let again = deploy::run(&set, &target, &with_selection(Mode::Deploy, "$all", &[]), None).await.expect("run");
    assert!(again.applied.is_empty(), "{again:#?}");

    let edited = CHANGELOG.replace("name VARCHAR(50)", "name VARCHAR(80)");
    let drifted = files(&[V1, ("changes/items.sql", &edited)]);
    let refused = deploy::run(&drifted, &target, &with_selection(Mode::Deploy, "$all", &[]), None).await.expect("run");
    assert_eq!(refused.status, Status::Invalid);
    assert_eq!(
        refused.problems,
        [
            "changeset alice:1 (changes/items.sql) changed after it was applied (line 3); restore it and put the change in \
          a new changeset, or mark it runOnChange:true if it is meant to run again when changed"
        ]
    );
}

#[tokio::test]
async fn mariadb_continues_a_liquibase_database_and_records_failures() {
    let db = TestDatabase::mariadb();
    let target = url_target(&db);
    // As Liquibase (or Datical) left it: its table, its checksum format, the first changeset applied.
    db.query(
        "CREATE TABLE DATABASECHANGELOG (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) \
         NOT NULL, DATEEXECUTED DATETIME NOT NULL, ORDEREXECUTED INT NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM \
         VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS \
         VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))",
    );
    db.query("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50))");
    db.query(
        "INSERT INTO DATABASECHANGELOG VALUES ('1', 'alice', 'changes/items.sql', NOW(), 1, 'EXECUTED', \
         '9:2f1e4c7a9b3d5e6f708192a3b4c5d6e7', 'sql', '', NULL, '4.29.2', NULL, 'core', '1234567890')",
    );
    let broken =
        CHANGELOG.replace("CREATE INDEX items_name ON items (name);", "CREATE INDEX items_name ON items (nope);");
    let set = files(&[("changes/items.sql", &broken)]);
    let report = deploy::run(&set, &target, &with_selection(Mode::Deploy, "core", &[]), None).await.expect("run");
    assert_eq!(report.status, Status::MigrationFailed, "{report:#?}");
    assert!(report.applied.is_empty(), "alice:1 is applied already (matched by id, author and file)");
    let failure = report.failure.as_ref().expect("failure");
    assert_eq!(
        (failure.migration.as_str(), failure.line, failure.recorded),
        ("changeset carol:3 (changes/items.sql)", 11, true)
    );
    assert_eq!(db.query("SELECT EXECTYPE FROM DATABASECHANGELOG WHERE ID = '3'"), "FAILED");

    let refused = deploy::run(&set, &target, &with_selection(Mode::Deploy, "core", &[]), None).await.expect("run");
    assert_eq!(refused.status, Status::Invalid);
    assert!(refused.problems[0].starts_with("changeset carol:3 (changes/items.sql) failed in an earlier run"));
    let repaired = deploy::run(&set, &target, &with_selection(Mode::Repair, "core", &[]), None).await.expect("run");
    assert_eq!(repaired.repaired, 1);
    let fixed = files(&[("changes/items.sql", CHANGELOG)]);
    let after = deploy::run(&fixed, &target, &with_selection(Mode::Deploy, "core", &[]), None).await.expect("run");
    assert_eq!(applied(&after), ["changeset carol:3 (changes/items.sql)"]);
}

#[tokio::test]
async fn a_migration_that_clears_search_path_is_still_recorded() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    // The first lines of every pg_dump.
    let dump = (
        "V1__dump.sql",
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.accounts (id INT PRIMARY KEY);\n",
    );
    let report =
        run(&files(&[dump, ("V2__more.sql", "INSERT INTO public.accounts VALUES (1);\n")]), &target, Mode::Deploy)
            .await;
    assert_eq!(report.status, Status::Ok, "{report:#?}");
    assert_eq!(db.query("SELECT count(*) FROM public.flyway_schema_history WHERE success"), "2");
}

#[tokio::test]
async fn tls_is_used_when_asked_and_certificates_are_checked_with_verify_full() {
    let db = TestDatabase::postgres();
    let record =
        ("V1__tls.sql", "CREATE TABLE tls_check AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n");
    let set = files(&[record]);
    // This machine's PostgreSQL has TLS on with a self-signed certificate.
    let required = target::from_url(&format!("{}?sslmode=require", db.url)).expect("URL");
    let report = run(&set, &required, Mode::Deploy).await;
    assert_eq!(report.status, Status::Ok, "{report:#?}");
    assert_eq!(db.query("SELECT ssl FROM tls_check"), "t", "the session was encrypted");

    let verified = target::from_url(&format!("{}?sslmode=verify-full", db.url)).expect("URL");
    let error = deploy::run(&set, &verified, &options(Mode::Validate), None).await.expect_err("untrusted certificate");
    let shown = codepipeline_action::error::error_chain(&error);
    assert!(shown.starts_with("cannot connect to postgres://postgres@127.0.0.1:5432/"), "{shown}");
    assert!(shown.to_ascii_lowercase().contains("certificate"), "{shown}");
}

#[tokio::test]
async fn a_statement_longer_than_the_invocation_is_cancelled_by_the_server() {
    let db = TestDatabase::postgres();
    let target = url_target(&db);
    let set = files(&[V1, ("V2__slow.sql", "INSERT INTO accounts VALUES (1, 'x');\nSELECT pg_sleep(30);\n")]);
    let opts = Options { margin: Duration::from_secs(1), ..options(Mode::Deploy) };
    let started = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let report = deploy::run(&set, &target, &opts, Some(deadline)).await.expect("run");
    assert!(started.elapsed() < Duration::from_secs(4), "cancelled before the deadline: {:?}", started.elapsed());
    assert_eq!(report.status, Status::MigrationFailed, "{report:#?}");
    let failure = report.failure.as_ref().expect("failure");
    assert_eq!((failure.script.as_str(), failure.line, failure.recorded), ("V2__slow.sql", 2, false));
    assert_eq!(failure.error, "canceling statement due to statement timeout (code 57014)");
    assert_eq!(db.query("SELECT count(*) FROM accounts"), "0", "rolled back");
}
