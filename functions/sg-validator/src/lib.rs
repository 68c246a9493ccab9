//! sg-validator: checks a deployed stack's security groups (issue 4, in progress).
//!
//! - [`config`]: the UserParameters.
//! - [`evaluate`]: the verdict on one group's ingress permissions, a pure function.

pub mod config;
pub mod evaluate;
