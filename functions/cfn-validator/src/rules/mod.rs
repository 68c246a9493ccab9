//! The rules: one module each, identified by a kebab-case [`RuleId`].
//!
//! A rule looks at one evaluated resource (one scenario of it, see [`crate::eval`]) and pushes [`Hit`]s.
//! Findings are data: a rule never fails. A value the rule needs but that is not known before deployment
//! is pushed as an [`RuleId::UnresolvedValue`] hit, so nothing passes silently.

use crate::eval::{Ev, Template, Unknown, Val};
use crate::settings::Settings;
use crate::template::Loc;
use serde::Serialize;
use std::fmt;

pub mod custom;
pub mod ebs_unencrypted;
pub mod ec2_forbidden_ami;
pub mod egress_all_world;
pub mod iam_wildcard_admin;
pub mod ingress_admin_port_world;
pub mod ingress_all_traffic_world;
pub mod ingress_http_world;
pub mod ingress_other_port_world;
pub mod ingress_rdp_world;
pub mod ingress_ssh_world;
pub mod ingress_unapproved_source;
pub mod invalid_security_group_rule;
pub mod rds_publicly_accessible;
pub mod rds_unencrypted;
pub mod s3_no_public_access_block;
pub mod s3_public_acl;
pub mod s3_unencrypted;
pub mod sg;
pub mod unresolved_value;

/// How a finding is shown (SARIF's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is, what it costs by default and how to fix what it finds.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: RuleId,
    pub title: &'static str,
    pub severity: Severity,
    pub risk: u32,
    pub enabled: bool,
    pub problem: &'static str,
    pub fix: &'static str,
    /// cfn_nag rule ids whose `rules_to_suppress` entry suppresses this rule.
    pub cfn_nag: &'static [&'static str],
    /// checkov check ids whose `skip` entry suppresses this rule.
    pub checkov: &'static [&'static str],
}

codepipeline_action::rule_ids! {
    IngressSshWorld => "ingress-ssh-world", ingress_ssh_world;
    IngressRdpWorld => "ingress-rdp-world", ingress_rdp_world;
    IngressAdminPortWorld => "ingress-admin-port-world", ingress_admin_port_world;
    IngressAllTrafficWorld => "ingress-all-traffic-world", ingress_all_traffic_world;
    IngressOtherPortWorld => "ingress-other-port-world", ingress_other_port_world;
    IngressHttpWorld => "ingress-http-world", ingress_http_world;
    IngressUnapprovedSource => "ingress-unapproved-source", ingress_unapproved_source;
    InvalidSecurityGroupRule => "invalid-security-group-rule", invalid_security_group_rule;
    EgressAllWorld => "egress-all-world", egress_all_world;
    Ec2ForbiddenAmi => "ec2-forbidden-ami", ec2_forbidden_ami;
    IamWildcardAdmin => "iam-wildcard-admin", iam_wildcard_admin;
    S3NoPublicAccessBlock => "s3-no-public-access-block", s3_no_public_access_block;
    S3PublicAcl => "s3-public-acl", s3_public_acl;
    RdsPubliclyAccessible => "rds-publicly-accessible", rds_publicly_accessible;
    RdsUnencrypted => "rds-unencrypted", rds_unencrypted;
    EbsUnencrypted => "ebs-unencrypted", ebs_unencrypted;
    S3Unencrypted => "s3-unencrypted", s3_unencrypted;
    UnresolvedValue => "unresolved-value", unresolved_value;
    TemplateError => "template-error", template_error;
    InvalidSuppression => "invalid-suppression", invalid_suppression;
    ParseError => "parse-error", parse_error;
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rules the engine raises itself (no resource check of their own); their docs live here.
pub mod template_error {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::TemplateError,
        title: "Template error",
        severity: Severity::Error,
        risk: 50,
        enabled: true,
        problem: "CloudFormation would reject the template: a reference to an undefined parameter, resource or \
                  condition, a Fn::FindInMap key that Mappings does not have, a malformed intrinsic function, or a \
                  configuration parameter the template does not declare. The values that depend on it cannot be \
                  checked.",
        fix: "Correct the reference or the function's arguments; `cfn-lint` gives more detail on template syntax.",
        cfn_nag: &[],
        checkov: &[],
    };
}

pub mod invalid_suppression {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::InvalidSuppression,
        title: "Suppression without a reason or for an unknown rule",
        severity: Severity::Warning,
        risk: 5,
        enabled: true,
        problem: "A suppression in the resource's Metadata has no reason, or names a rule that does not exist. \
                  It is not applied: every suppression must say why the finding is acceptable, so that a reviewer \
                  can judge it.",
        fix: "Give the suppression a `reason` (cfn_nag: `reason`, checkov: `comment`) and a valid rule id, e.g. \
              `Metadata: {cfn-validator: {suppress: [{rule: ingress-ssh-world, reason: \"bastion, ticket SEC-12\"}]}}`.",
        cfn_nag: &[],
        checkov: &[],
    };
}

pub mod parse_error {
    use super::*;
    pub const META: RuleMeta = RuleMeta {
        id: RuleId::ParseError,
        title: "Template cannot be parsed",
        severity: Severity::Error,
        risk: 50,
        enabled: true,
        problem: "The file is not valid JSON or YAML (or repeats a key, or holds several YAML documents), so \
                  nothing in it can be checked. A parse error always fails the job, whatever the thresholds.",
        fix: "Correct the syntax at the given line and column, or exclude the file with the `templates` globs if it \
              is not a CloudFormation template.",
        cfn_nag: &[],
        checkov: &[],
    };
}

impl RuleMeta {
    /// The rule's page (`docs/rules/<id>.md`): what it checks, why, how to fix and how to configure it.
    pub fn doc(&self) -> String {
        let id = self.id.as_str();
        let list = |ids: &[&str]| if ids.is_empty() { "-".to_string() } else { ids.join(", ") };
        let suppressible = !matches!(self.id, RuleId::ParseError | RuleId::InvalidSuppression);
        let mut doc = format!(
            "# `{id}`: {title}\n\n\
             | Default severity | Default risk | Enabled by default | cfn_nag ids | checkov ids |\n\
             |---|---:|---|---|---|\n\
             | {severity} | {risk} | {enabled} | {nag} | {checkov} |\n\n\
             ## Problem\n\n{problem}\n\n## Fix\n\n{fix}\n\n\
             ## Configure\n\nIn the rules file (TOML shown; YAML takes the same keys):\n\n\
             ```toml\n[rules.{id}]\nenabled = {enabled_bool}\nseverity = \"{severity}\"\nrisk = {risk}\n```\n",
            title = self.title,
            severity = self.severity,
            risk = self.risk,
            enabled = if self.enabled { "yes" } else { "no" },
            enabled_bool = self.enabled,
            nag = list(self.cfn_nag),
            checkov = list(self.checkov),
            problem = self.problem,
            fix = self.fix,
        );
        if self.id == RuleId::ParseError {
            let configure = doc.find("## Configure").unwrap_or(doc.len());
            doc.truncate(configure);
            doc.push_str("## Configure\n\nNothing: an unreadable template fails the job whatever the thresholds, and the rule cannot be \
                          disabled or suppressed.\n");
            return doc;
        }
        if suppressible {
            doc.push_str(&format!(
                "\n## Suppress\n\nOn the resource, with the reason a reviewer should read:\n\n\
                 ```yaml\nMetadata:\n  cfn-validator:\n    suppress:\n      - rule: {id}\n        reason: \"why this is acceptable\"\n```\n"
            ));
            if !self.cfn_nag.is_empty() || !self.checkov.is_empty() {
                doc.push_str(
                    "\nA cfn_nag `rules_to_suppress` entry or a checkov `skip` entry with one of the ids above, \
                     with its reason, suppresses this rule too.\n",
                );
            }
        } else {
            doc.push_str("\nThis rule cannot be suppressed.\n");
        }
        doc
    }
}

/// Which rule a hit belongs to: a built-in one or a custom rule from the rules file (its index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleKey {
    Builtin(RuleId),
    Custom(usize),
}

/// One thing a rule found in one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub rule: RuleKey,
    pub loc: Loc,
    pub message: String,
}

/// A resource as the rules see it: evaluated under one scenario.
#[derive(Debug)]
pub struct Resource<'a> {
    pub id: &'a str,
    pub ty: &'a str,
    pub loc: Loc,
    /// The evaluated `Properties` (None when the resource has none); read through [`Resource::props`].
    props: Option<&'a Ev>,
    pub template: &'a Template<'a>,
    /// Set when a rule reads the properties: a resource no rule reads needs no scenario exploration.
    inspected: std::cell::Cell<bool>,
    /// Security group permissions, read on first use (see [`sg::permissions`]).
    ingress: std::cell::OnceCell<Vec<sg::Permission<'a>>>,
    egress: std::cell::OnceCell<Vec<sg::Permission<'a>>>,
}

impl<'a> Resource<'a> {
    pub fn new(id: &'a str, ty: &'a str, loc: Loc, props: Option<&'a Ev>, template: &'a Template<'a>) -> Self {
        Self {
            id,
            ty,
            loc,
            props,
            template,
            inspected: std::cell::Cell::new(false),
            ingress: Default::default(),
            egress: Default::default(),
        }
    }

    /// The evaluated `Properties`.
    pub fn props(&self) -> Option<&'a Ev> {
        self.inspected.set(true);
        self.props
    }

    pub fn prop(&self, name: &str) -> Option<&'a Ev> {
        self.props().and_then(|p| p.get(name))
    }

    /// Whether any rule has read the properties.
    pub fn inspected(&self) -> bool {
        self.inspected.get()
    }
}

/// Where rules push what they find.
#[derive(Debug)]
pub struct Hits<'s> {
    pub settings: &'s Settings,
    pub hits: Vec<Hit>,
}

impl<'s> Hits<'s> {
    pub fn new(settings: &'s Settings) -> Self {
        Self { settings, hits: Vec::new() }
    }

    pub fn enabled(&self, rule: RuleId) -> bool {
        self.settings.rule(rule).enabled
    }

    pub fn push(&mut self, rule: RuleId, loc: Loc, message: impl Into<String>) {
        if self.enabled(rule) {
            self.hits.push(Hit { rule: RuleKey::Builtin(rule), loc, message: message.into() });
        }
    }

    /// A boolean property that is not a boolean: unknown before deployment (`unresolved-value`), or a
    /// literal CloudFormation would refuse (`template-error`). Never a silent pass.
    pub fn not_boolean(&mut self, value: &Ev, what: &str) {
        if value.unknown().is_some() {
            return self.unresolved(value, what);
        }
        let shown = match (&value.val, value.text()) {
            (Val::Null, _) => "empty".to_string(),
            (_, Some(text)) => format!("`{text}`"),
            (_, None) => "a list or mapping".to_string(),
        };
        self.push(
            RuleId::TemplateError,
            value.loc,
            format!("{what} is {shown}, which is not a boolean (true or false); CloudFormation rejects it"),
        );
    }

    /// A value a check needs is not known: `what` names the property and what it decides.
    pub fn unresolved(&mut self, value: &Ev, what: &str) {
        if let Val::Unknown(unknown) = &value.val {
            self.unresolved_because(value.loc, what, unknown);
        }
    }

    pub fn unresolved_because(&mut self, loc: Loc, what: &str, unknown: &Unknown) {
        if matches!(unknown, Unknown::Invalid) {
            // The template error is its own finding.
            return;
        }
        self.push(
            RuleId::UnresolvedValue,
            loc,
            format!("{what} is not known before deployment ({unknown}); it cannot be checked"),
        );
    }
}

/// Runs every built-in rule on one evaluated resource.
pub fn check_resource(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    let checks: &[fn(&Resource<'_>, &mut Hits<'_>)] = &[
        ingress_ssh_world::check,
        ingress_rdp_world::check,
        ingress_admin_port_world::check,
        ingress_all_traffic_world::check,
        ingress_other_port_world::check,
        ingress_http_world::check,
        ingress_unapproved_source::check,
        invalid_security_group_rule::check,
        egress_all_world::check,
        ec2_forbidden_ami::check,
        iam_wildcard_admin::check,
        s3_no_public_access_block::check,
        s3_public_acl::check,
        rds_publicly_accessible::check,
        rds_unencrypted::check,
        ebs_unencrypted::check,
        s3_unencrypted::check,
        unresolved_value::check,
    ];
    for check in checks {
        check(resource, hits);
    }
    custom::check(resource, hits);
}

/// A boolean property that must be true (`Encrypted`, `StorageEncrypted`, ...): None when it is, else
/// the location and what it is (absent, false, not known).
pub fn require_true(resource: &Resource<'_>, property: &str, hits: &mut Hits<'_>) -> Option<(Loc, String)> {
    match resource.prop(property) {
        None => {
            Some((resource.props().map_or(resource.loc, |p| p.loc), format!("`{property}` is not set (default false)")))
        }
        Some(value) => match value.boolean() {
            Some(true) => None,
            Some(false) => Some((value.loc, format!("`{property}` is false"))),
            None => {
                hits.not_boolean(value, &format!("`{property}`"));
                None
            }
        },
    }
}

#[cfg(test)]
mod doc_tests {
    use super::RuleId;
    use std::path::Path;

    /// `docs/rules/<id>.md` is generated from each rule's metadata; `UPDATE_RULE_DOCS=1` rewrites it.
    #[test]
    fn rule_docs_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
        let update = std::env::var_os("UPDATE_RULE_DOCS").is_some();
        if update {
            std::fs::create_dir_all(&dir).expect("create docs/rules");
        }
        let mut stale = Vec::new();
        for rule in RuleId::ALL {
            let path = dir.join(format!("{}.md", rule.as_str()));
            let doc = rule.meta().doc();
            if update {
                std::fs::write(&path, &doc).expect("write doc");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(doc.as_str()) {
                stale.push(rule.as_str());
            }
        }
        // Pages for no rule of either crate are caught by tests/tests/rule_docs.rs, which knows both.
        assert!(stale.is_empty(), "docs/rules is out of date for {stale:?}; run with UPDATE_RULE_DOCS=1");
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs the rules over a template text and shows the hits of one rule as `line:col message` lines.
    use crate::scan::{Scanner, Source};
    use crate::settings::Settings;

    /// Every case is also run as JSON (the same template in long form), which must give the same findings.
    pub fn hits_with(settings: Settings, rule: &str, text: &str) -> Vec<String> {
        let scanner = Scanner::new(settings);
        let show = |text: &str, with_position: bool| -> Vec<String> {
            let report = scanner.scan(&[Source::new("t", text)], &[]);
            report
                .findings
                .iter()
                .filter(|f| f.rule_id == rule)
                .map(|f| {
                    let suppressed = if f.suppressed { " [suppressed]" } else { "" };
                    let resource = f.resource.as_deref().unwrap_or("-");
                    if with_position {
                        format!("{}:{} {resource} {}{suppressed}", f.line, f.column, f.message)
                    } else {
                        format!("{resource} {}{suppressed}", f.message)
                    }
                })
                .collect()
        };
        let yaml = show(text, true);
        let root = crate::template::parse(text).expect("the test template parses");
        let json = serde_json::to_string_pretty(&crate::settings::to_json(&root)).expect("serialises");
        let mut from_json = show(&json, false);
        let mut from_yaml: Vec<String> =
            yaml.iter().map(|line| line.split_once(' ').map_or(line.clone(), |(_, rest)| rest.to_string())).collect();
        from_json.sort();
        from_yaml.sort();
        assert_eq!(from_json, from_yaml, "the JSON form of the template gives other findings:\n{json}");
        yaml
    }

    pub fn hits(rule: &str, text: &str) -> Vec<String> {
        hits_with(Settings::default(), rule, text)
    }
}
