//! sg-validator: checks a deployed stack's security groups, fails the job on a violation and, when
//! allowed, deletes the test stack.
//!
//! - [`config`]: the UserParameters.
//! - [`discover`]: a stack's groups in one region (stack resources, nested stacks, standalone ingress, tags).
//! - [`evaluate`]: the verdict on one group's ingress permissions, a pure function.
//! - [`check`]: every region concurrently, gathered into one report.
//! - [`delete`]: whether the stack may be deleted, and the wait for DELETE_COMPLETE.
//! - [`action`]: the CodePipeline action; [`cli`]: `sg-validator check`.

pub mod action;
pub mod check;
pub mod cli;
pub mod config;
pub mod delete;
pub mod discover;
pub mod evaluate;
