//! Deleting the test stack after a violation: only when asked (`onViolation: "delete-stack"`), only when
//! the stack's name matches `deletableStacks`, never with termination protection on, never a nested stack
//! on its own. The wait for DELETE_COMPLETE stops before the deadline; what is still deleting then is
//! followed through a continuation token.

use crate::config::{Config, OnViolation};
use crate::discover::{CallError, RegionClients, StackInfo};
use globset::GlobSet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Polls after which a stack that is still not deleting counts as "deletion did not start".
const POLLS_BEFORE_NOT_STARTED: u32 = 3;

/// The two CloudFormation calls deletion needs; [`RegionClients`] is the real one.
pub trait StackControl: Sync {
    /// The stack by id; None when CloudFormation no longer knows it.
    fn describe(&self, stack_id: &str) -> impl Future<Output = Result<Option<StackInfo>, CallError>> + Send;
    fn delete(&self, stack_id: &str) -> impl Future<Output = Result<(), CallError>> + Send;
}

impl StackControl for RegionClients {
    async fn describe(&self, stack_id: &str) -> Result<Option<StackInfo>, CallError> {
        self.describe_stack(stack_id).await
    }
    async fn delete(&self, stack_id: &str) -> Result<(), CallError> {
        self.delete_stack(stack_id).await
    }
}

/// Why a stack is left in place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Refusal {
    /// `onViolation` is "fail".
    NotRequested,
    /// The name matches none of `deletableStacks`.
    NameNotDeletable {
        patterns: Vec<String>,
    },
    TerminationProtection,
    /// The stack is nested in another one: deleting it alone would break its parent.
    Nested {
        root: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRequested => f.write_str("onViolation is \"fail\""),
            Self::NameNotDeletable { patterns } => {
                write!(f, "its name matches none of deletableStacks ({})", patterns.join(", "))
            }
            Self::TerminationProtection => f.write_str("termination protection is enabled"),
            Self::Nested { root } => write!(f, "it is nested in stack {root}; delete the root stack instead"),
        }
    }
}

/// Whether the stack may be deleted under `config`.
pub fn may_delete(config: &Config, deletable: &GlobSet, stack: &StackInfo) -> Result<(), Refusal> {
    if config.on_violation != OnViolation::DeleteStack {
        return Err(Refusal::NotRequested);
    }
    if !deletable.is_match(&stack.name) {
        return Err(Refusal::NameNotDeletable { patterns: config.deletable_stacks.clone() });
    }
    if stack.termination_protection {
        return Err(Refusal::TerminationProtection);
    }
    if let Some(root) = &stack.root_id {
        return Err(Refusal::Nested { root: root.clone() });
    }
    Ok(())
}

/// What became of the stack in one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Fate {
    NotDeleted(Refusal),
    Deleted,
    /// Still DELETE_IN_PROGRESS when the time ran out.
    Deleting,
    DeleteFailed {
        reason: Option<String>,
    },
    /// DeleteStack was accepted but the stack never started deleting.
    NotStarted {
        status: String,
    },
    /// A CloudFormation call failed (the message, with its cause).
    CallFailed {
        error: String,
    },
}

impl Fate {
    pub fn is_settled(&self) -> bool {
        !matches!(self, Self::Deleting)
    }
}

/// A stack and its fate, shown as one line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackFate {
    pub region: String,
    pub name: String,
    pub stack_id: String,
    pub fate: Fate,
}

impl fmt::Display for StackFate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stack {} in {}: ", self.name, self.region)?;
        match &self.fate {
            Fate::NotDeleted(refusal) => write!(f, "not deleted: {refusal}."),
            Fate::Deleted => f.write_str("deleted (DELETE_COMPLETE)."),
            Fate::Deleting => f.write_str("deletion in progress (DELETE_IN_PROGRESS)."),
            Fate::DeleteFailed { reason: Some(reason) } => write!(f, "deletion failed (DELETE_FAILED): {reason}"),
            Fate::DeleteFailed { reason: None } => f.write_str("deletion failed (DELETE_FAILED)."),
            Fate::NotStarted { status } => {
                write!(f, "DeleteStack was accepted but the stack is still {status}; delete it by hand.")
            }
            Fate::CallFailed { error } => write!(f, "not deleted: {error}"),
        }
    }
}

/// Deletes `stack` (unless it is already deleting) and waits for it until `deadline`, polling every `poll`.
pub async fn delete_and_wait<S: StackControl>(api: &S, stack: &StackInfo, deadline: Instant, poll: Duration) -> Fate {
    match stack.status.as_str() {
        "DELETE_COMPLETE" => return Fate::Deleted,
        "DELETE_IN_PROGRESS" => {}
        _ => {
            if let Err(error) = api.delete(&stack.stack_id).await {
                tracing::error!(error = %codepipeline_action::error::error_chain(&error), "DeleteStack failed");
                return Fate::CallFailed { error: crate::check::describe_error(&error) };
            }
            tracing::info!(stack = %stack.name, region = %stack.region, "DeleteStack accepted");
        }
    }
    // A stack that failed to delete before still shows DELETE_FAILED until the new attempt starts.
    wait(api, &stack.stack_id, deadline, poll, stack.status == "DELETE_FAILED").await
}

/// Polls the stack until it is gone, has failed to delete, or `deadline` is near. With `failed_before`,
/// DELETE_FAILED counts only once the new attempt has been seen running (or after a few polls).
pub async fn wait<S: StackControl>(
    api: &S,
    stack_id: &str,
    deadline: Instant,
    poll: Duration,
    failed_before: bool,
) -> Fate {
    let mut polls = 0_u32;
    let mut seen_running = false;
    loop {
        polls += 1;
        match api.describe(stack_id).await {
            Ok(None) => return Fate::Deleted,
            Ok(Some(stack)) => match stack.status.as_str() {
                "DELETE_COMPLETE" => return Fate::Deleted,
                "DELETE_FAILED" if failed_before && !seen_running && polls < POLLS_BEFORE_NOT_STARTED => {}
                "DELETE_FAILED" => return Fate::DeleteFailed { reason: stack.status_reason },
                "DELETE_IN_PROGRESS" => seen_running = true,
                other if polls >= POLLS_BEFORE_NOT_STARTED => return Fate::NotStarted { status: other.to_string() },
                _ => {}
            },
            Err(error) => return Fate::CallFailed { error: crate::check::describe_error(&error) },
        }
        if Instant::now() + poll >= deadline {
            return Fate::Deleting;
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use codepipeline_action::params::parse_user_parameters;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    fn stack(status: &str) -> StackInfo {
        StackInfo {
            region: "us-east-1".into(),
            name: "app-test".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/app-test/1".into(),
            status: status.into(),
            status_reason: None,
            termination_protection: false,
            root_id: None,
        }
    }

    /// A stack whose status follows a script, one entry per DescribeStacks call (the last one repeats).
    struct Scripted {
        statuses: Mutex<VecDeque<Option<&'static str>>>,
        deletes: Mutex<u32>,
        describes: Mutex<u32>,
    }

    impl Scripted {
        fn new(statuses: &[Option<&'static str>]) -> Self {
            Self {
                statuses: Mutex::new(statuses.iter().copied().collect()),
                deletes: Mutex::new(0),
                describes: Mutex::new(0),
            }
        }
        fn deletes(&self) -> u32 {
            *self.deletes.lock().expect("lock")
        }
        fn describes(&self) -> u32 {
            *self.describes.lock().expect("lock")
        }
    }

    impl StackControl for Scripted {
        async fn describe(&self, _: &str) -> Result<Option<StackInfo>, CallError> {
            *self.describes.lock().expect("lock") += 1;
            let mut statuses = self.statuses.lock().expect("lock");
            let status = if statuses.len() > 1 { statuses.pop_front().flatten() } else { statuses[0] };
            Ok(status.map(|s| StackInfo {
                status_reason: Some("The following resource(s) failed to delete: [Sg]".into()),
                ..stack(s)
            }))
        }
        async fn delete(&self, _: &str) -> Result<(), CallError> {
            *self.deletes.lock().expect("lock") += 1;
            Ok(())
        }
    }

    const POLL: Duration = Duration::from_secs(5);

    #[tokio::test(start_paused = true)]
    async fn waits_for_delete_complete() {
        let api = Scripted::new(&[Some("DELETE_IN_PROGRESS"), Some("DELETE_IN_PROGRESS"), Some("DELETE_COMPLETE")]);
        let start = Instant::now();
        let fate = delete_and_wait(&api, &stack("CREATE_COMPLETE"), start + Duration::from_secs(60), POLL).await;
        assert_eq!(fate, Fate::Deleted);
        assert_eq!((api.deletes(), api.describes()), (1, 3));
        assert_eq!(start.elapsed(), Duration::from_secs(10), "two polls of 5 s");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_waiting_before_the_deadline() {
        let api = Scripted::new(&[Some("DELETE_IN_PROGRESS")]);
        let start = Instant::now();
        let fate = delete_and_wait(&api, &stack("CREATE_COMPLETE"), start + Duration::from_secs(12), POLL).await;
        assert_eq!(fate, Fate::Deleting);
        assert!(start.elapsed() < Duration::from_secs(12));
        assert!(!fate.is_settled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_deleting_stack_is_not_deleted_again_and_a_gone_one_counts_as_deleted() {
        let api = Scripted::new(&[None]);
        let fate = delete_and_wait(&api, &stack("DELETE_IN_PROGRESS"), Instant::now() + POLL * 4, POLL).await;
        assert_eq!(fate, Fate::Deleted);
        assert_eq!(api.deletes(), 0);
        assert_eq!(delete_and_wait(&api, &stack("DELETE_COMPLETE"), Instant::now(), POLL).await, Fate::Deleted);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_failed_and_never_started() {
        let api = Scripted::new(&[Some("DELETE_FAILED")]);
        let fate = delete_and_wait(&api, &stack("CREATE_COMPLETE"), Instant::now() + POLL * 4, POLL).await;
        assert_eq!(
            fate,
            Fate::DeleteFailed { reason: Some("The following resource(s) failed to delete: [Sg]".into()) }
        );
        let api = Scripted::new(&[Some("UPDATE_IN_PROGRESS")]);
        let fate = delete_and_wait(&api, &stack("UPDATE_IN_PROGRESS"), Instant::now() + POLL * 10, POLL).await;
        assert_eq!(fate, Fate::NotStarted { status: "UPDATE_IN_PROGRESS".into() });
        assert_eq!(api.describes(), POLLS_BEFORE_NOT_STARTED);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stack_that_failed_to_delete_before_is_not_judged_by_its_old_status() {
        let api = Scripted::new(&[Some("DELETE_FAILED"), Some("DELETE_IN_PROGRESS"), None]);
        let fate = delete_and_wait(&api, &stack("DELETE_FAILED"), Instant::now() + POLL * 10, POLL).await;
        assert_eq!(fate, Fate::Deleted);
        assert_eq!(api.deletes(), 1, "deleted again");
    }

    #[test]
    fn deletion_needs_the_option_the_pattern_no_protection_and_a_root_stack() {
        let config: Config = parse_user_parameters(Some(
            r#"{"stackName": "app-test", "onViolation": "delete-stack", "deletableStacks": ["*-test", "tmp-*"]}"#,
        ))
        .expect("config");
        let globs = config.deletable().expect("globs");
        assert_eq!(may_delete(&config, &globs, &stack("CREATE_COMPLETE")), Ok(()));
        let prod = StackInfo { name: "app-prod".into(), ..stack("CREATE_COMPLETE") };
        let refusal = may_delete(&config, &globs, &prod).expect_err("not deletable");
        assert_eq!(refusal.to_string(), "its name matches none of deletableStacks (*-test, tmp-*)");
        let protected = StackInfo { termination_protection: true, ..stack("CREATE_COMPLETE") };
        assert_eq!(may_delete(&config, &globs, &protected), Err(Refusal::TerminationProtection));
        let nested = StackInfo { root_id: Some("arn:root".into()), ..stack("CREATE_COMPLETE") };
        assert_eq!(may_delete(&config, &globs, &nested), Err(Refusal::Nested { root: "arn:root".into() }));
        let failing: Config = parse_user_parameters(Some("app-test")).expect("config");
        assert_eq!(may_delete(&failing, &globs, &stack("CREATE_COMPLETE")), Err(Refusal::NotRequested));
    }

    #[test]
    fn fates_read_as_sentences() {
        let fate = |fate: Fate| {
            StackFate { region: "us-east-1".into(), name: "app-test".into(), stack_id: "id".into(), fate }.to_string()
        };
        assert_eq!(fate(Fate::Deleted), "Stack app-test in us-east-1: deleted (DELETE_COMPLETE).");
        assert_eq!(
            fate(Fate::NotDeleted(Refusal::TerminationProtection)),
            "Stack app-test in us-east-1: not deleted: termination protection is enabled."
        );
        assert_eq!(fate(Fate::Deleting), "Stack app-test in us-east-1: deletion in progress (DELETE_IN_PROGRESS).");
    }
}
