//! `db-deploy`: with arguments, the local command line (`db-deploy forecast|deploy|validate|repair ...`);
//! without, the CodePipeline Invoke (Lambda) action.

use std::process::ExitCode;
use std::time::Duration;

/// Kept free before each migration unless DB_DEPLOY_MIGRATION_MARGIN_MS says otherwise.
const DEFAULT_MARGIN: Duration = Duration::from_secs(15);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("db-deploy: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args_os().len() > 1 {
        return runtime.block_on(db_deploy::cli::main(std::env::args_os()));
    }
    let margin = match std::env::var("DB_DEPLOY_MIGRATION_MARGIN_MS") {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                eprintln!("db-deploy: DB_DEPLOY_MIGRATION_MARGIN_MS={text:?} is not a whole number of milliseconds");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_MARGIN,
    };
    let served = runtime.block_on(async {
        let aws = codepipeline_action::harness::load_aws_config().await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        codepipeline_action::run(db_deploy::action::DbDeploy::new(secrets, margin)).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("db-deploy: {error}");
            ExitCode::FAILURE
        }
    }
}
