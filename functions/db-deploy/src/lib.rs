//! db-deploy: forecast and apply SQL migrations from the pipeline artifact.
//!
//! - [`version`]: Flyway versions (numeric parts, trailing zeros ignored).
//! - [`checksum`]: Flyway's CRC-32 checksum, for `flyway_schema_history` compatibility.
//! - [`source`]: migration files by name, script configurations, placeholders.
//! - [`forecast`]: the rules over every statement that would run (sqlparser), before any write.
//! - [`liquibase`]: Liquibase formatted SQL changelogs, label and context expressions.
//! - [`plan`]: validation of the history against the files, and what to apply (pure).
//! - [`target`]: the database from an RDS secret or a URL, TLS defaults, never showing the password.
//! - [`db`]: one sqlx connection for the three engines: lock, timeouts, the Flyway history table.
//! - [`deploy`]: one run (forecast, validate, deploy, repair) from files to report.
//! - [`render`], [`report`]: the summary and lines; the JSON and HTML reports.
//! - [`config`], [`action`], [`cli`]: UserParameters and the Lambda action; the command line.
//! - [`split`]: statements per engine (quotes, comments, dollar bodies, DELIMITER, compound bodies).

pub mod action;
pub mod checksum;
pub mod cli;
pub mod config;
pub mod db;
pub mod deploy;
pub mod forecast;
pub mod liquibase;
pub mod plan;
pub mod render;
pub mod report;
pub mod source;
pub mod split;
pub mod target;
pub mod version;
