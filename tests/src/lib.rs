//! Test support for the whole workspace: the local rig of real emulators.
//!
//! - [`moto`]: the moto server (S3, Secrets Manager, EC2, CloudFormation, KMS), shared per test run.
//! - [`standin`]: our CodePipeline job-API stand-in (PutJobSuccessResult / PutJobFailureResult over the
//!   real AWS JSON 1.1 protocol, with the documented limits enforced).
//! - [`paging`]: a proxy that makes moto's list calls page as AWS does, and refuses chosen calls.
//! - [`rig`]: SDK configs pointed at them, job events, Lambda contexts, zips.
//! - [`db`]: a private database per test on the local PostgreSQL and MariaDB.
//! - [`logs`]: captured `tracing` output for "no secret in the logs" assertions.

pub mod db;
pub mod lambda;
pub mod logs;
pub mod moto;
pub mod paging;
pub mod rig;
pub mod standin;
