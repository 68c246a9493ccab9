//! The demo (`scripts/demo`): all three functions end to end under `cargo lambda watch`, fed with the
//! sample events in events/ against moto and the CodePipeline stand-in, and a readable summary of every
//! job result.
//!
//! `demo [--postgres URL]`: db-deploy runs on a SQLite file by default, on PostgreSQL when a URL is given.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a terminal program: the summary is its output")]

use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use test_support::lambda::{EventRig, LambdaWatch, function_env, sqlite_secret};
use test_support::moto::moto;
use test_support::rig;
use test_support::standin::{CodePipelineStandIn, RecordedOutcome};

/// What the demo runs, in order, and what each is expected to do.
const STEPS: [(&str, &str); 7] = [
    ("cfn-validator-secure-template", "passes: SSH only from the approved networks"),
    ("cfn-validator-insecure-template", "fails: SSH open to the world, a public database"),
    ("sg-validator-clean-stack", "passes: the test stack's groups allow SSH/RDP from the approved network only"),
    ("sg-validator-ssh-open-stack", "fails: SSH open to the world; the stack matches *-test and is deleted"),
    ("db-deploy-forecast", "passes: the forecast of 4 pending migrations, nothing written"),
    ("db-deploy-deploy", "passes: the 4 migrations applied"),
    ("db-deploy-wide-index", "fails at the forecast: an index with 4 columns; nothing applied"),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut postgres = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--postgres" => postgres = args.next(),
            "-h" | "--help" => {
                println!("usage: demo [--postgres postgres://user:password@host:port/database]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("demo: unknown argument {other:?} (usage: demo [--postgres URL])");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(postgres)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::from(2)
        }
    }
}

/// The RDS-format secret for a PostgreSQL URL.
fn postgres_secret(url: &str) -> Result<String, String> {
    match db_deploy::target::from_url(url).map_err(|e| e.to_string())? {
        db_deploy::target::Target::Server(server) if server.dialect == db_deploy::split::Dialect::Postgres => {
            Ok(json!({
                "engine": "postgres",
                "host": server.host,
                "port": server.port,
                "username": server.username,
                "password": server.password(),
                "dbname": server.database,
            })
            .to_string())
        }
        _ => Err("--postgres takes a postgres:// URL".to_string()),
    }
}

async fn run(postgres: Option<String>) -> Result<bool, String> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("pipeline-gates-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (secret, database) = match &postgres {
        Some(url) => {
            let secret = postgres_secret(url)?;
            (secret, db_deploy::target::from_url(url).map_err(|e| e.to_string())?.to_string())
        }
        None => {
            let path = dir.join("app.db");
            (sqlite_secret(&path), format!("sqlite://{}", path.display()))
        }
    };

    println!("pipeline-gates demo");
    println!("  moto (S3, Secrets Manager, EC2, CloudFormation): {}", moto().endpoint());
    let standin = CodePipelineStandIn::start();
    println!("  CodePipeline job API stand-in:                   {}", standin.endpoint());
    println!("  db-deploy database:                              {database}");
    let mut watch = LambdaWatch::start(&function_env(moto().endpoint(), standin.endpoint()));
    watch.keep_log();
    println!("  Lambda runtime emulator (cargo lambda watch):    log {}", watch.log_path().display());
    let aws = rig::aws_config(moto().endpoint()).await;
    let rig = EventRig::new(aws, &standin, secret).await;
    println!("  artifact bucket:                                 s3://{}", rig.bucket);
    println!();

    let mut as_expected = true;
    for (name, expected) in STEPS {
        let event = rig.prepare(name).await;
        let step_started = Instant::now();
        println!("━━ {} · events/{name}.json", event.function);
        println!("   expected: {expected}");
        let response = match watch.invoke(event.function, &event.payload, Duration::from_secs(300)).await {
            Ok(response) => response,
            Err(error) => {
                println!("   ✘ the invocation failed: {error}\n{}", watch.log_tail(30));
                as_expected = false;
                continue;
            }
        };
        let elapsed = step_started.elapsed().as_secs_f64();
        let results = standin.results_for(&event.job_id);
        if results.len() != 1 {
            println!("   ✘ the job got {} results instead of exactly one (response {response})", results.len());
            as_expected = false;
        }
        for result in results {
            let label = if matches!(result.outcome, RecordedOutcome::Success { .. }) { "success" } else { "failure" };
            if response["result"] != label {
                println!("   ✘ the function answered {response}, but the job's result is a {label}");
                as_expected = false;
            }
            match &result.outcome {
                RecordedOutcome::Success { summary, output_variables, .. } => {
                    println!("   ✔ PutJobSuccessResult ({elapsed:.1} s): {}", summary.as_deref().unwrap_or(""));
                    for (key, value) in output_variables {
                        let value = value.replace('\n', "\n                  ");
                        println!("     #{{{key}}} = {value}");
                    }
                    as_expected &= expected.starts_with("passes");
                }
                RecordedOutcome::Failure { failure_type, message, .. } => {
                    println!("   ✘ PutJobFailureResult {failure_type} ({elapsed:.1} s):");
                    for line in message.lines().take(12) {
                        println!("     {line}");
                    }
                    as_expected &= expected.starts_with("fails");
                }
            }
        }
        if let Some(stack) = &event.stack_name {
            let status = rig.stack_status(stack).await.unwrap_or_else(|| "deleted".to_string());
            println!("   stack {stack}: {status}");
        }
        if let Some(output) = event.payload["CodePipeline.job"]["data"]["outputArtifacts"].get(0) {
            let key = output["location"]["s3Location"]["objectKey"].as_str().unwrap_or("");
            if !key.is_empty() {
                println!("   output artifact: s3://{}/{key}", rig.bucket);
            }
        }
        println!();
    }
    let verdict = if as_expected { "every job ended as expected" } else { "SOME JOBS DID NOT END AS EXPECTED" };
    println!("{verdict} ({} jobs, {:.0} s)", STEPS.len(), started.elapsed().as_secs_f64());
    drop(watch);
    if postgres.is_none() {
        println!("the SQLite database is kept at {}", dir.join("app.db").display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(as_expected)
}
