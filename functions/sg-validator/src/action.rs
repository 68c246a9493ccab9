//! The CodePipeline action: resolve the regions, check the stack's groups, and on a violation fail the
//! job, deleting the stack first when the configuration allows it. A deletion that outlasts the
//! invocation continues through a continuation token; the next invocation reports the final state.

use crate::check::{CheckReport, Completeness, RegionsError, check, describe_error, plural, resolve_regions};
use crate::config::{Config, NoGroups};
use crate::delete::{Fate, StackFate, delete_and_wait, may_delete, wait};
use crate::discover::{CallError, RegionClients, display_stack};
use codepipeline_action::continuation::encode;
use codepipeline_action::{Action, ActionError, FailureKind, JobContext, Outcome, OutputVariables};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Kept back from the action's deadline when waiting for a deletion, to build and encode the result.
const WAIT_SLACK: Duration = Duration::from_secs(2);

/// The sg-validator action.
#[derive(Clone, Debug)]
pub struct SgValidator {
    /// How often a deleting stack is polled.
    pub poll: Duration,
}

impl Default for SgValidator {
    fn default() -> Self {
        Self { poll: Duration::from_secs(5) }
    }
}

/// The state carried from one invocation to the next while a stack is being deleted. Only what is still
/// running is kept as data; everything settled is already a line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    /// The first line of the failure message.
    headline: String,
    /// What became of the stacks whose fate is settled, one line each.
    settled: Vec<String>,
    /// Deletions still running: (region, stack id).
    deleting: Vec<(String, String)>,
    /// The report's lines after the fates (violations, problems), as many as fit in the token.
    details: Vec<String>,
    /// Lines that did not fit (they are in the function's log).
    omitted: usize,
}

impl Pending {
    /// Files each fate as a settled line or a running deletion.
    fn record(&mut self, fates: Vec<StackFate>) {
        for fate in fates {
            if fate.fate.is_settled() {
                self.settled.push(fate.to_string());
            } else {
                self.deleting.push((fate.region, fate.stack_id));
            }
        }
    }
}

impl Action for SgValidator {
    type Config = Config;
    const NAME: &'static str = "sg-validator";

    async fn run(&self, job: &JobContext<'_>, config: Config) -> Result<Outcome, ActionError> {
        if let Some(pending) = job.resume::<Pending>()? {
            return self.resume(job, pending).await;
        }
        let policy = config.policy()?;
        let aws = job.aws_config();
        let regions = match resolve_regions(aws, &config.regions).await {
            Ok(regions) => regions,
            Err(RegionsError::NoRegion) => {
                return Ok(Outcome::failure(
                    FailureKind::ConfigurationError,
                    "the function has no region (AWS_REGION) to search or to ask for the enabled regions; give \
                     `regions` as a list",
                ));
            }
            Err(RegionsError::Call(error)) => return Ok(call_failure(&error)),
        };
        tracing::info!(stack = %config.stack_name, regions = regions.len(), "checking the stack's security groups");
        let report = check(aws, &config.stack_name, &regions, &policy).await;
        tracing::info!(
            groups = report.groups_checked,
            violations = report.violations.len(),
            region_errors = report.errors.len(),
            unresolved_ingress = report.unresolved_ingress.len(),
            "check done"
        );
        for error in &report.errors {
            tracing::warn!(error = %codepipeline_action::error::error_chain(error), "a region could not be checked");
        }
        if report.stacks.is_empty() {
            return Ok(missing_stack(&report));
        }
        if !report.violations.is_empty() {
            return self.on_violation(job, &config, report).await;
        }
        match report.completeness() {
            Completeness::Complete => Ok(clean(&config, &report)?),
            Completeness::Denied => Ok(incomplete(FailureKind::PermissionError, &report)),
            Completeness::Incomplete => Ok(incomplete(FailureKind::JobFailed, &report)),
        }
    }
}

impl SgValidator {
    /// Violations found: act on the stack in every region with a violation, then fail the job (or
    /// continue while a deletion is still running).
    async fn on_violation(
        &self,
        job: &JobContext<'_>,
        config: &Config,
        report: CheckReport,
    ) -> Result<Outcome, ActionError> {
        let deletable = config.deletable()?;
        let violating = report.violating_regions();
        let until = job.deadline().checked_sub(WAIT_SLACK).unwrap_or_else(tokio::time::Instant::now);
        let acted = report.stacks.iter().filter(|s| violating.contains(&s.region.as_str())).map(|stack| {
            let deletable = &deletable;
            async move {
                let fate = match may_delete(config, deletable, stack) {
                    Err(refusal) => Fate::NotDeleted(refusal),
                    Ok(()) => {
                        let clients = RegionClients::new(job.aws_config(), &stack.region);
                        delete_and_wait(&clients, stack, until, self.poll).await
                    }
                };
                StackFate {
                    region: stack.region.clone(),
                    name: stack.name.clone(),
                    stack_id: stack.stack_id.clone(),
                    fate,
                }
            }
        });
        let fates = futures::future::join_all(acted).await;
        // The full list goes to the log: the failure message and the continuation token may be cut.
        for line in report.lines() {
            tracing::warn!(finding = %line, "security group check");
        }
        let mut pending = Pending {
            headline: format!(
                "{} in stack {} ({} checked).",
                plural(report.violations.len(), "violation", "violations"),
                report.stack,
                report.scope()
            ),
            settled: Vec::new(),
            deleting: Vec::new(),
            details: report.lines(),
            omitted: 0,
        };
        pending.record(fates);
        conclude(pending)
    }

    /// A continuation: follow the deletions still running.
    async fn resume(&self, job: &JobContext<'_>, mut pending: Pending) -> Result<Outcome, ActionError> {
        let until = job.deadline().checked_sub(WAIT_SLACK).unwrap_or_else(tokio::time::Instant::now);
        let running = std::mem::take(&mut pending.deleting);
        let followed = running.into_iter().map(|(region, stack_id)| async move {
            let clients = RegionClients::new(job.aws_config(), &region);
            let fate = wait(&clients, &stack_id, until, self.poll, false).await;
            StackFate { name: display_stack(&stack_id), region, stack_id, fate }
        });
        let fates = futures::future::join_all(followed).await;
        pending.record(fates);
        conclude(pending)
    }
}

/// The failure once every deletion has settled; otherwise "in progress" with the state.
fn conclude(mut pending: Pending) -> Result<Outcome, ActionError> {
    if pending.deleting.is_empty() {
        return Ok(Outcome::failure(FailureKind::JobFailed, failure_message(&pending)));
    }
    let regions: Vec<&str> = pending.deleting.iter().map(|(region, _)| region.as_str()).collect();
    let summary = format!(
        "{} Deleting stack {} in {} (DELETE_IN_PROGRESS); the job fails once the deletion ends.",
        pending.headline,
        display_stack(&pending.deleting[0].1),
        regions.join(", ")
    );
    tracing::info!(regions = %regions.join(","), "deletion still in progress; continuing in the next invocation");
    // The token holds at most 2048 characters: keep as many report lines as fit (all are in the log).
    loop {
        match encode(&pending) {
            Ok(_) => return Ok(Outcome::in_progress(&pending, summary, None)?),
            Err(_) if !pending.details.is_empty() => {
                pending.details.pop();
                pending.omitted += 1;
            }
            Err(_) if !pending.settled.is_empty() => {
                pending.settled.pop();
                pending.omitted += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn failure_message(pending: &Pending) -> String {
    let mut lines = vec![pending.headline.clone()];
    lines.extend(pending.settled.iter().cloned());
    lines.extend(pending.details.iter().cloned());
    if pending.omitted > 0 {
        lines.push(format!("... and {} more lines (see the function's log)", pending.omitted));
    }
    lines.join("\n")
}

fn missing_stack(report: &CheckReport) -> Outcome {
    let searched = report.regions.iter().filter(|r| !report.errors.iter().any(|e| &e.region == *r)).cloned();
    let searched: Vec<String> = searched.collect();
    if report.errors.is_empty() {
        let mut message = format!(
            "stack {} does not exist in {} (searched with cloudformation:DescribeStacks); check the stack name in \
             UserParameters and `regions`",
            report.stack,
            searched.join(", ")
        );
        if !report.violations.is_empty() {
            message.push_str("\nSecurity groups still tagged with this stack name have violations:");
            for violation in &report.violations {
                message.push('\n');
                message.push_str(&violation.to_string());
            }
        }
        return Outcome::failure(FailureKind::ConfigurationError, message);
    }
    let kind = if report.completeness() == Completeness::Denied {
        FailureKind::PermissionError
    } else {
        FailureKind::JobFailed
    };
    let mut message = format!(
        "stack {} was not found in {}, and these regions could not be searched:",
        report.stack,
        if searched.is_empty() { "any region".to_string() } else { searched.join(", ") }
    );
    for error in &report.errors {
        message.push('\n');
        message.push_str(&describe_error(error));
    }
    Outcome::failure(kind, message)
}

fn incomplete(kind: FailureKind, report: &CheckReport) -> Outcome {
    let mut lines = vec![format!(
        "No violation in what could be checked ({}) of stack {}, but not everything could be checked, so the \
         job fails:",
        report.scope(),
        report.stack
    )];
    lines.extend(report.problems());
    Outcome::failure(kind, lines.join("\n"))
}

fn clean(config: &Config, report: &CheckReport) -> Result<Outcome, ActionError> {
    let mut summary = if report.groups_checked == 0 {
        let stack_regions: Vec<&str> = report.stacks.iter().map(|s| s.region.as_str()).collect();
        let message =
            format!("stack {} has no security groups in {}: nothing to check", report.stack, stack_regions.join(", "));
        if config.no_groups == NoGroups::Fail {
            return Ok(Outcome::failure(FailureKind::JobFailed, format!("{message} (noGroups is \"fail\")")));
        }
        message
    } else {
        format!("{} checked, no violations (stack {})", report.scope(), report.stack)
    };
    if !report.unverified_passed.is_empty() {
        summary.push_str(&format!(
            "; {} through prefix lists that could not be read passed unverified (prefixLists is \"pass\")",
            plural(report.unverified_passed.len(), "exposure", "exposures")
        ));
    }
    let mut variables = OutputVariables::new();
    variables.insert("groupsChecked", report.groups_checked.to_string())?;
    variables.insert("violations", "0")?;
    variables.insert("regionsChecked", report.regions.len().to_string())?;
    Ok(Outcome::success_with(summary, variables))
}

fn call_failure(error: &CallError) -> Outcome {
    tracing::error!(error = %codepipeline_action::error::error_chain(error), "AWS call failed");
    let kind = if error.is_access_denied() { FailureKind::PermissionError } else { FailureKind::JobFailed };
    Outcome::failure(kind, describe_error(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delete::Refusal;

    fn fate(region: &str, fate: Fate) -> StackFate {
        StackFate {
            region: region.into(),
            name: "app-test".into(),
            stack_id: format!(
                "arn:aws:cloudformation:{region}:123456789012:stack/app-test/0b5e7e20-5c1f-11ef-8c5a-0affd1a2b3c4"
            ),
            fate,
        }
    }

    fn pending(headline: &str, fates: Vec<StackFate>, details: Vec<String>) -> Pending {
        let mut pending =
            Pending { headline: headline.into(), settled: Vec::new(), deleting: Vec::new(), details, omitted: 0 };
        pending.record(fates);
        pending
    }

    #[test]
    fn the_failure_names_the_findings_and_what_was_done() {
        let pending = pending(
            "2 violations in stack app-test (3 security groups in 2 regions checked).",
            vec![fate("eu-west-1", Fate::NotDeleted(Refusal::TerminationProtection)), fate("us-east-1", Fate::Deleted)],
            vec!["eu-west-1 : sg-1 : tcp 22 from 0.0.0.0/0".into(), "us-east-1 : sg-2 : all traffic from ::/0".into()],
        );
        let outcome = conclude(pending).expect("outcome");
        let Outcome::Failure(failure) = outcome else { panic!("a failure: {outcome:?}") };
        assert_eq!(failure.kind, FailureKind::JobFailed);
        assert_eq!(
            failure.message,
            "2 violations in stack app-test (3 security groups in 2 regions checked).\n\
             Stack app-test in eu-west-1: not deleted: termination protection is enabled.\n\
             Stack app-test in us-east-1: deleted (DELETE_COMPLETE).\n\
             eu-west-1 : sg-1 : tcp 22 from 0.0.0.0/0\n\
             us-east-1 : sg-2 : all traffic from ::/0"
        );
    }

    #[test]
    fn a_running_deletion_continues_with_as_much_detail_as_fits_the_token() {
        let details: Vec<String> =
            (0..100).map(|i| format!("us-east-1 : sg-{i:017x} : tcp 22 from 0.0.0.0/0")).collect();
        let regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1"];
        let fates: Vec<StackFate> = regions.iter().map(|r| fate(r, Fate::Deleting)).collect();
        let mut state =
            pending("100 violations in stack app-test (100 security groups in 7 regions checked).", fates, details);
        state.settled.push("Stack app-test in ap-south-1: not deleted: termination protection is enabled.".into());
        let outcome = conclude(state).expect("outcome");
        let Outcome::InProgress(progress) = outcome else { panic!("in progress: {outcome:?}") };
        assert!(progress.token.chars().count() <= 2048);
        assert!(progress.summary.contains("Deleting stack app-test in us-east-1, us-east-2"), "{}", progress.summary);
        let mut state: Pending = codepipeline_action::continuation::decode(&progress.token).expect("decode");
        assert_eq!(state.deleting.len(), 7, "every running deletion is kept");
        assert_eq!(state.details.len() + state.omitted, 100);
        assert!(state.omitted > 0 && !state.details.is_empty());
        let running = std::mem::take(&mut state.deleting);
        state.record(
            running
                .into_iter()
                .map(|(region, stack_id)| StackFate {
                    name: display_stack(&stack_id),
                    region,
                    stack_id,
                    fate: Fate::Deleted,
                })
                .collect(),
        );
        let Outcome::Failure(failure) = conclude(state).expect("outcome") else { panic!("a failure") };
        assert!(
            failure.message.contains("\nStack app-test in eu-central-1: deleted (DELETE_COMPLETE).\n"),
            "{}",
            failure.message
        );
        assert!(failure.message.ends_with("more lines (see the function's log)"), "{}", failure.message);
    }
}
