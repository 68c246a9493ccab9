//! `cfn-validator`: with arguments, the local command line (`cfn-validator scan ...`); without, the
//! CodePipeline Invoke (Lambda) action.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        return cfn_validator::cli::main(std::env::args_os());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cfn-validator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(codepipeline_action::run(cfn_validator::action::CfnValidator)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cfn-validator: {error}");
            ExitCode::FAILURE
        }
    }
}
