//! cfn-validator: static security validation of CloudFormation templates (issue 3, in progress).
//!
//! - [`template`]: JSON/YAML templates into located values (short-form tags, anchors, merge keys).

pub mod template;
