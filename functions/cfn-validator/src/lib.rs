//! cfn-validator: static security validation of CloudFormation templates.
//!
//! - [`template`]: JSON/YAML templates into located values (short-form tags, anchors, merge keys).
//! - [`eval`]: intrinsic functions evaluated per scenario (parameter values, undecidable conditions).
//! - [`rules`]: one module per rule; findings are data.
//! - [`settings`]: defaults, the rules file (TOML/YAML) and the pipeline's overrides.
//! - [`suppress`]: suppressions in resource metadata (ours, cfn_nag's, checkov's), each with a reason.
//! - [`action`]: the CodePipeline action; [`cli`]: `cfn-validator scan`.
//! - [`scan`]: the engine; [`report`]: findings, score and decision; [`render`]: text, JSON, SARIF, Markdown.

pub mod action;
pub mod cli;
pub mod eval;
pub mod render;
pub mod report;
pub mod rules;
pub mod scan;
pub mod settings;
pub mod suppress;
pub mod template;
