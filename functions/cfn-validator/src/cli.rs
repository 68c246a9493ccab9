//! The local command line: `cfn-validator scan [--format text|json|sarif|markdown] [--rules FILE]
//! [--config FILE]... [--no-suppressions] PATH...`.
//!
//! Exit status: 0 pass or flagged, 1 fail, 2 usage or I/O error.

use crate::render::{self, Format};
use crate::report::Decision;
use crate::scan::{self, Configuration, Scanner, Source};
use crate::settings::Settings;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "cfn-validator",
    version,
    about = "Static security validation of CloudFormation templates. \
    Without arguments, runs as the CodePipeline Lambda function."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan template files, or directories for .json/.yaml/.yml/.template files that are templates.
    Scan {
        /// Output format: text, json, sarif or markdown.
        #[arg(long, default_value = "text", value_parser = parse_format)]
        format: Format,
        /// A rules file (TOML or YAML).
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// A template configuration file (`{"Parameters": {...}}`) to evaluate under; repeatable.
        #[arg(long = "config", value_name = "FILE")]
        configs: Vec<PathBuf>,
        /// Report suppressions in template metadata but do not apply them.
        #[arg(long)]
        no_suppressions: bool,
        /// Template files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

fn parse_format(text: &str) -> Result<Format, String> {
    Format::parse(text).ok_or_else(|| format!("`{text}` is not one of text, json, sarif, markdown"))
}

/// Runs the command line; the process exit status.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    match codepipeline_action::cli::parse::<Cli>(args) {
        Ok(cli) => codepipeline_action::cli::finish(
            "cfn-validator",
            run(cli).map(|(output, decision)| (output, u8::from(decision == Decision::Fail))).map_err(|m| (2, m)),
        ),
        Err(code) => code,
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn run(cli: Cli) -> Result<(String, Decision), String> {
    let Command::Scan { format, rules, configs, no_suppressions, paths } = cli.command;
    let mut settings = Settings::default();
    if let Some(path) = &rules {
        settings.apply_rules_file(&path.display().to_string(), &read(path)?).map_err(|e| e.to_string())?;
    }
    settings.allow_suppressions = !no_suppressions;
    let configurations = configs
        .iter()
        .map(|path| Configuration::parse(&path.display().to_string(), &read(path)?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sources = Vec::new();
    for path in &paths {
        let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.retain(|p| {
                !rules.as_ref().is_some_and(|r| same_file(r, p)) && !configs.iter().any(|c| same_file(c, p))
            });
            for file in found {
                let bytes = std::fs::read(&file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
                sources.push(Source::from_bytes(file.display().to_string(), bytes, false));
            }
        } else {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            sources.push(Source::from_bytes(path.display().to_string(), bytes, true));
        }
    }
    let scanner = Scanner::new(settings);
    let report = scanner.scan(&sources, &configurations);
    if report.templates.is_empty() {
        let list: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(format!(
            "no CloudFormation template found in {} (looked for .json, .yaml, .yml and .template files with a \
             `Resources` section)",
            list.join(", ")
        ));
    }
    Ok((render::render(&report, scanner.settings(), format), report.decision))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Template candidates under `dir`, sorted, skipping hidden directories.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read directory `{}`: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if path.is_dir() {
            if !hidden {
                walk(&path, out)?;
            }
        } else if scan::has_template_extension(&path.to_string_lossy()) {
            out.push(path);
        }
    }
    Ok(())
}
