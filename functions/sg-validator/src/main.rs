//! `sg-validator`: with arguments, the local command line (`sg-validator check ...`); without, the
//! CodePipeline Invoke (Lambda) action.

use std::process::ExitCode;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sg-validator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args_os().len() > 1 {
        return runtime.block_on(sg_validator::cli::main(std::env::args_os()));
    }
    match runtime.block_on(codepipeline_action::run(sg_validator::action::SgValidator::default())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sg-validator: {error}");
            ExitCode::FAILURE
        }
    }
}
