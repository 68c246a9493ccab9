//! The result of a scan: findings as data, the risk score and the decision.

use crate::rules::Severity;
use crate::settings::Thresholds;
use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub risk: u32,
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The resource's logical id (None for file-level findings such as parse errors).
    pub resource: Option<String>,
    pub message: String,
    pub suppressed: bool,
    /// Why it is suppressed, and by which metadata (`cfn-validator`, `cfn_nag W2`, `checkov CKV_AWS_24`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// The template configuration files under which it was found (empty: evaluated over every value the
    /// parameters may take).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<String>,
}

impl Finding {
    /// `file:line:col resource rule: message`
    pub fn headline(&self) -> String {
        let resource = self.resource.as_deref().unwrap_or("-");
        let configurations = if self.configurations.is_empty() {
            String::new()
        } else {
            format!(" (configuration {})", self.configurations.join(", "))
        };
        format!(
            "{}:{}:{} {resource} {}: {}{configurations}",
            self.file, self.line, self.column, self.rule_id, self.message
        )
    }

    fn order_key(&self) -> impl Ord + '_ {
        (
            self.suppressed,
            std::cmp::Reverse(self.risk),
            std::cmp::Reverse(self.severity),
            &self.file,
            self.line,
            self.column,
            &self.rule_id,
            &self.message,
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Pass,
    Flagged,
    Fail,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "pass",
            Decision::Flagged => "flagged",
            Decision::Fail => "fail",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    pub file: String,
    /// None when the file could not be parsed.
    pub resources: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub decision: Decision,
    pub risk_score: u64,
    pub thresholds: ThresholdsView,
    pub templates: Vec<TemplateSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<String>,
    /// Unsuppressed first, highest risk first, then by position.
    pub findings: Vec<Finding>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ThresholdsView {
    pub flagged: u32,
    pub fail: u32,
}

impl Report {
    pub fn new(
        templates: Vec<TemplateSummary>,
        configurations: Vec<String>,
        mut findings: Vec<Finding>,
        thresholds: Thresholds,
    ) -> Self {
        findings.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let active = || findings.iter().filter(|f| !f.suppressed);
        let risk_score: u64 = active().map(|f| u64::from(f.risk)).sum();
        let unreadable = active().any(|f| f.rule_id == crate::rules::RuleId::ParseError.as_str());
        let decision = if unreadable || risk_score >= u64::from(thresholds.fail) {
            Decision::Fail
        } else if risk_score >= u64::from(thresholds.flagged) {
            Decision::Flagged
        } else {
            Decision::Pass
        };
        Self {
            decision,
            risk_score,
            thresholds: ThresholdsView { flagged: thresholds.flagged, fail: thresholds.fail },
            templates,
            configurations,
            findings,
        }
    }

    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.suppressed)
    }

    pub fn suppressed_count(&self) -> usize {
        self.findings.iter().filter(|f| f.suppressed).count()
    }

    pub fn resource_count(&self) -> usize {
        self.templates.iter().filter_map(|t| t.resources).sum()
    }

    /// One line saying what was checked and what came of it.
    pub fn summary(&self) -> String {
        let templates = self.templates.len();
        let mut text = format!(
            "{}: risk score {} (flagged at {}, fail at {}); {} finding{} in {templates} template{} with {} resource{}",
            self.decision.as_str().to_uppercase(),
            self.risk_score,
            self.thresholds.flagged,
            self.thresholds.fail,
            self.active_findings().count(),
            plural(self.active_findings().count()),
            plural(templates),
            self.resource_count(),
            plural(self.resource_count()),
        );
        let suppressed = self.suppressed_count();
        if suppressed > 0 {
            text.push_str(&format!(", {suppressed} suppressed"));
        }
        if !self.configurations.is_empty() {
            text.push_str(&format!(", evaluated under {}", self.configurations.join(", ")));
        }
        text
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
