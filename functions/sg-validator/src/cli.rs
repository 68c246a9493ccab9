//! The local command line: `sg-validator check --stack NAME [--region R]... [--all-regions]
//! [--approved-cidr CIDR]... [--port P]... [--protocol P]... [--prefix-lists fail|pass] [--format text|json]`.
//!
//! It uses the default AWS credential and endpoint chain (so `AWS_ENDPOINT_URL` can point it at moto) and
//! never deletes anything. Exit status: 0 no violations, 1 violations, 2 usage or AWS errors (including a
//! missing stack, or a check that could not be completed).

use crate::check::{CheckReport, Completeness, RegionsError, check, describe_error, resolve_regions};
use crate::config::{Config, NoGroups, OnViolation, Regions};
use crate::evaluate::PrefixListVerdict;
use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "sg-validator",
    version,
    about = "Checks a deployed CloudFormation stack's security groups. \
    Without arguments, runs as the CodePipeline Lambda function."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the security groups of a stack (never deletes anything).
    Check {
        /// The stack's name.
        #[arg(long, value_name = "NAME")]
        stack: String,
        /// A region to search; repeatable. Default: the region of the AWS configuration.
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Search every region enabled for the account.
        #[arg(long, conflicts_with = "regions")]
        all_regions: bool,
        /// A source network allowed on the checked ports (IPv4 or IPv6 CIDR); repeatable.
        #[arg(long = "approved-cidr", value_name = "CIDR")]
        approved_cidrs: Vec<String>,
        /// A port to check; repeatable. Default: 22.
        #[arg(long = "port", value_name = "PORT")]
        ports: Vec<u16>,
        /// A protocol to check besides tcp (udp, icmp, a number); repeatable.
        #[arg(long = "protocol", value_name = "PROTOCOL")]
        protocols: Vec<String>,
        /// The verdict on a prefix list whose entries cannot be read.
        #[arg(long, value_enum, default_value = "fail")]
        prefix_lists: Verdict,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Verdict {
    Fail,
    Pass,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs the command line; the process exit status.
pub async fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    match codepipeline_action::cli::parse::<Cli>(args) {
        Ok(cli) => codepipeline_action::cli::finish("sg-validator", run(cli).await.map_err(|message| (2, message))),
        Err(code) => code,
    }
}

async fn run(cli: Cli) -> Result<(String, u8), String> {
    let Command::Check { stack, regions, all_regions, approved_cidrs, ports, protocols, prefix_lists, format } =
        cli.command;
    let mut all_protocols = vec!["tcp".to_string()];
    all_protocols.extend(protocols);
    let config = Config {
        stack_name: stack.clone(),
        regions: if all_regions {
            Regions::All
        } else if regions.is_empty() {
            Regions::Own
        } else {
            Regions::List(regions)
        },
        approved_cidrs,
        ports: if ports.is_empty() { vec![22] } else { ports },
        protocols: all_protocols,
        on_violation: OnViolation::Fail,
        deletable_stacks: Vec::new(),
        prefix_lists: match prefix_lists {
            Verdict::Fail => PrefixListVerdict::Fail,
            Verdict::Pass => PrefixListVerdict::Pass,
        },
        no_groups: NoGroups::Pass,
    };
    let policy =
        config.policy().map_err(|e| e.to_string().replace("UserParameters: `approvedCidrs`", "--approved-cidr"))?;
    let aws = codepipeline_action::harness::load_aws_config().await;
    let regions = match resolve_regions(&aws, &config.regions).await {
        Ok(regions) => regions,
        Err(RegionsError::NoRegion) => return Err("no region: pass --region or set AWS_REGION".into()),
        Err(RegionsError::Call(error)) => return Err(describe_error(&error)),
    };
    let report = check(&aws, &stack, &regions, &policy).await;
    let code = exit_code(&report);
    let output = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
        Format::Text => render_text(&report),
    };
    Ok((output, code))
}

/// 1 with violations; else 2 when the stack is missing or something could not be checked; else 0.
fn exit_code(report: &CheckReport) -> u8 {
    if !report.violations.is_empty() {
        1
    } else if report.stacks.is_empty() || report.completeness() != Completeness::Complete {
        2
    } else {
        0
    }
}

fn render_text(report: &CheckReport) -> String {
    let headline = if report.stacks.is_empty() && report.errors.is_empty() {
        format!("stack {} does not exist in {}", report.stack, report.regions.join(", "))
    } else if report.violations.is_empty() {
        format!("stack {}: no violations ({} checked)", report.stack, report.scope())
    } else {
        format!(
            "stack {}: {} ({} checked)",
            report.stack,
            crate::check::plural(report.violations.len(), "violation", "violations"),
            report.scope()
        )
    };
    let mut text = std::iter::once(headline).chain(report.lines()).collect::<Vec<_>>().join("\n");
    text.push('\n');
    text
}
