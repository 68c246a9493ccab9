//! The scan: parse each template, evaluate each resource under every scenario (or under each
//! configuration file), run the rules, apply suppressions, score.

use crate::eval::{self, Assignment, Template};
use crate::report::{Finding, Report, TemplateSummary};
use crate::rules::{self, Hit, Hits, RuleId, RuleKey};
use crate::settings::Settings;
use crate::suppress;
use crate::template::{self, Loc, Node};
use std::collections::{BTreeMap, HashMap};

/// A template's name (its path in the artifact or on disk) and text.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: String,
    /// Named by the user: scanned even if it does not look like a template. A file found by the default
    /// selection is skipped when it parses but is not a CloudFormation template (a parse error is still
    /// reported: an unreadable file is never a silent pass).
    pub explicit: bool,
    /// Why the file could not be read as text (reported as a parse error).
    pub unreadable: Option<String>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { name: name.into(), text: text.into(), explicit: true, unreadable: None }
    }

    pub fn discovered(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { explicit: false, ..Self::new(name, text) }
    }

    /// A file whose bytes are not UTF-8 text.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>, explicit: bool) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Self { explicit, ..Self::new(name, text) },
            Err(error) => Self {
                explicit,
                unreadable: Some(format!(
                    "the file is not UTF-8 text (invalid byte at offset {})",
                    error.utf8_error().valid_up_to()
                )),
                ..Self::new(name, "")
            },
        }
    }
}

/// Whether a file name has one of the extensions templates are looked for under by default.
pub fn has_template_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".json", ".yaml", ".yml", ".template"].iter().any(|ext| lower.ends_with(ext))
}

/// A CloudFormation template configuration file: `{"Parameters": {...}, "Tags": {...}, "StackPolicy": {...}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Configuration {
    pub name: String,
    pub parameters: Assignment,
}

impl Configuration {
    /// Reads a template configuration file (JSON, as CodePipeline's CloudFormation action takes it).
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(rename = "Parameters", default)]
            parameters: BTreeMap<String, serde_json::Value>,
            #[serde(rename = "Tags", default)]
            _tags: Option<serde_json::Value>,
            #[serde(rename = "StackPolicy", default)]
            _stack_policy: Option<serde_json::Value>,
        }
        let file: File = serde_json::from_str(text).map_err(|e| format!("template configuration `{name}`: {e}"))?;
        let mut parameters = Assignment::new();
        for (key, value) in file.parameters {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "template configuration `{name}`: parameter `{key}` must be a string, not {other}"
                    ));
                }
            };
            parameters.insert(key, text);
        }
        Ok(Self { name: name.to_string(), parameters })
    }
}

/// Transforms whose output this scanner understands well enough: SAM resources are left to their own
/// types, and the language extensions' `Fn::ForEach` is reported where it is used.
const KNOWN_TRANSFORMS: &[&str] = &["AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"];

/// Whether a parsed document is a CloudFormation template (a `Resources` map or a format version).
pub fn is_template(root: &Node) -> bool {
    root.get("AWSTemplateFormatVersion").is_some() || root.get("Resources").is_some_and(|r| !r.entries().is_empty())
}

#[derive(Debug)]
pub struct Scanner {
    settings: Settings,
}

impl Scanner {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Scans `sources`; with `configurations`, each template is evaluated under each of them.
    pub fn scan(&self, sources: &[Source], configurations: &[Configuration]) -> Report {
        let mut findings: Vec<Finding> = Vec::new();
        let mut index = HashMap::new();
        let mut summaries = Vec::new();
        for source in sources {
            let parsed = match &source.unreadable {
                Some(problem) => {
                    Err(template::ParseError { loc: Loc { line: 1, column: 1 }, message: problem.clone() })
                }
                None => template::parse(&source.text),
            };
            let root = match parsed {
                Ok(root) => root,
                Err(error) => {
                    summaries.push(TemplateSummary { file: source.name.clone(), resources: None });
                    findings.push(self.finding(
                        RuleKey::Builtin(RuleId::ParseError),
                        &source.name,
                        None,
                        error.loc,
                        format!("cannot parse the template: {}", error.message),
                    ));
                    continue;
                }
            };
            if !source.explicit && !is_template(&root) {
                continue;
            }
            let resources = root.get("Resources").map_or(0, |r| r.entries().len());
            summaries.push(TemplateSummary { file: source.name.clone(), resources: Some(resources) });
            if configurations.is_empty() {
                merge(&mut findings, &mut index, self.enabled_only(self.scan_template(&source.name, &root, None)));
            } else {
                for configuration in configurations {
                    let found = self.scan_template(&source.name, &root, Some(&configuration.parameters));
                    let mut found = self.enabled_only(found);
                    for finding in &mut found {
                        finding.configurations.push(configuration.name.clone());
                    }
                    merge(&mut findings, &mut index, found);
                }
            }
        }
        let names = configurations.iter().map(|c| c.name.clone()).collect();
        Report::new(summaries, names, findings, self.settings.thresholds)
    }

    fn scan_template(&self, file: &str, root: &Node, assignment: Option<&Assignment>) -> Vec<Finding> {
        let template = Template::new(root, assignment);
        let mut findings: Vec<Finding> = template
            .errors
            .iter()
            .map(|e| self.finding(RuleKey::Builtin(RuleId::TemplateError), file, None, e.loc, e.message.clone()))
            .collect();
        // A macro can add or rewrite resources: what it produces is not in the file.
        if let Some(transform) = root.get("Transform") {
            let names: Vec<&Node> = match transform.items() {
                [] => vec![transform],
                items => items.iter().collect(),
            };
            for name in names {
                let text = name.as_str().or_else(|| name.get("Name").and_then(Node::as_str)).unwrap_or_default();
                if !KNOWN_TRANSFORMS.contains(&text) {
                    findings.push(self.finding(
                        RuleKey::Builtin(RuleId::UnresolvedValue),
                        file,
                        None,
                        name.loc,
                        format!("the template uses the macro `{text}`; resources it adds or changes are not checked"),
                    ));
                }
            }
        }
        let Some(resources) = root.get("Resources").filter(|r| !r.entries().is_empty()) else {
            findings.push(self.finding(
                RuleKey::Builtin(RuleId::TemplateError),
                file,
                None,
                root.get("Resources").map_or(root.loc, |r| r.loc),
                "the template has no resources (CloudFormation requires a non-empty `Resources` section)".into(),
            ));
            return findings;
        };
        for (key, node) in resources.entries() {
            let id = key.name.as_str();
            if id.starts_with("Fn::ForEach::") {
                findings.push(self.finding(
                    RuleKey::Builtin(RuleId::UnresolvedValue),
                    file,
                    Some(id),
                    key.loc,
                    "resources generated by Fn::ForEach (AWS::LanguageExtensions) are not expanded, so they are not \
                     checked"
                        .into(),
                ));
                continue;
            }
            let Some(ty) = node.get("Type").and_then(Node::as_str) else {
                let loc = node.get("Type").map_or(node.loc, |t| t.loc);
                let message = format!("resource `{id}` has no literal `Type`");
                findings.push(self.finding(RuleKey::Builtin(RuleId::TemplateError), file, Some(id), loc, message));
                continue;
            };
            let mut resource_findings = self.scan_resource(&template, file, id, ty, key.loc, node);
            self.apply_suppressions(file, id, node, &mut resource_findings);
            findings.append(&mut resource_findings);
        }
        findings
    }

    fn scan_resource(
        &self,
        template: &Template<'_>,
        file: &str,
        id: &str,
        ty: &str,
        loc: Loc,
        node: &Node,
    ) -> Vec<Finding> {
        let condition = node.get("Condition");
        let exploration = eval::explore(template, self.settings.scenario_limit, |ev| {
            if let Some(condition) = condition {
                match condition.as_str() {
                    Some(name) if !ev.condition(name, condition.loc) => return None,
                    Some(_) => {}
                    None => return Some((vec![], false)),
                }
            }
            let props = node.get("Properties").and_then(|p| ev.eval(p));
            let resource = rules::Resource::new(id, ty, loc, props.as_ref(), template);
            let mut hits = Hits::new(&self.settings);
            rules::check_resource(&resource, &mut hits);
            Some((hits.hits, resource.inspected()))
        });
        // The scenario limit only leaves something unchecked when a rule reads this resource's properties:
        // for a type no rule looks at (a pipeline, a log group), the choices change nothing any rule sees. A
        // run where the resource's Condition was false tells nothing about that, so it counts as read.
        let inspected = exploration.runs.iter().any(|(_, run)| run.as_ref().is_none_or(|(_, inspected)| *inspected));
        let mut findings = Vec::new();
        if condition.is_some_and(|c| c.as_str().is_none()) {
            let loc = condition.map_or(loc, |c| c.loc);
            let message = "`Condition` must be the name of a condition".to_string();
            findings.push(self.finding(RuleKey::Builtin(RuleId::TemplateError), file, Some(id), loc, message));
        }
        for error in &exploration.errors {
            let key = RuleKey::Builtin(RuleId::TemplateError);
            findings.push(self.finding(key, file, Some(id), error.loc, error.message.clone()));
        }
        if exploration.truncated && inspected {
            findings.push(self.finding(
                RuleKey::Builtin(RuleId::UnresolvedValue),
                file,
                Some(id),
                loc,
                format!(
                    "`{id}` depends on more parameter values and conditions than the {} combinations checked; the \
                     rest are not checked (give parameters AllowedValues or evaluate under a configuration file)",
                    self.settings.scenario_limit
                ),
            ));
        }
        // A hit found in every scenario holds unconditionally; otherwise it is qualified by the choices
        // shared by every scenario it was found in.
        let runs = exploration.runs.len();
        let mut seen: Vec<(Hit, usize, Vec<String>)> = Vec::new();
        for (labels, hits) in &exploration.runs {
            let mut hits = hits.as_ref().map(|(hits, _)| hits.clone()).unwrap_or_default();
            hits.dedup();
            for hit in hits {
                match seen.iter_mut().find(|(h, _, _)| *h == hit) {
                    Some((_, count, common)) => {
                        *count += 1;
                        common.retain(|label| labels.contains(label));
                    }
                    None => seen.push((hit, 1, labels.clone())),
                }
            }
        }
        for (hit, count, labels) in seen {
            let mut message = hit.message;
            if count < runs {
                if labels.is_empty() {
                    message.push_str(" [in some of the parameter combinations]");
                } else {
                    message.push_str(&format!(" [when {}]", labels.join(" & ")));
                }
            }
            let mut finding = self.finding(hit.rule, file, Some(id), hit.loc, message);
            if findings.contains(&finding) {
                continue;
            }
            finding.resource = Some(id.to_string());
            findings.push(finding);
        }
        findings
    }

    fn apply_suppressions(&self, file: &str, id: &str, node: &Node, findings: &mut Vec<Finding>) {
        let (suppressions, problems) = suppress::read(node.get("Metadata"), &self.settings);
        if self.settings.allow_suppressions {
            for finding in findings.iter_mut() {
                if let Some(s) = suppressions.iter().find(|s| s.rule == finding.rule_id) {
                    finding.suppressed = true;
                    finding.suppression = Some(format!("{}: {}", s.source, s.reason));
                }
            }
        }
        for (loc, message) in problems {
            findings.push(self.finding(RuleKey::Builtin(RuleId::InvalidSuppression), file, Some(id), loc, message));
        }
    }

    /// Drops the findings of rules the settings disable, including those the engine raises itself
    /// (template-error, unresolved-value, invalid-suppression); parse-error cannot be disabled.
    fn enabled_only(&self, mut found: Vec<Finding>) -> Vec<Finding> {
        found.retain(|f| RuleId::parse(&f.rule_id).is_none_or(|id| self.settings.rule(id).enabled));
        found
    }

    fn finding(&self, rule: RuleKey, file: &str, resource: Option<&str>, loc: Loc, message: String) -> Finding {
        let (rule_id, severity, risk) = match rule {
            RuleKey::Builtin(id) => {
                let setting = self.settings.rule(id);
                (id.as_str().to_string(), setting.severity, setting.risk)
            }
            RuleKey::Custom(index) => {
                let custom = &self.settings.custom[index];
                (custom.id.clone(), custom.severity, custom.risk)
            }
        };
        Finding {
            rule_id,
            severity,
            risk,
            file: file.to_string(),
            line: loc.line,
            column: loc.column,
            resource: resource.map(str::to_string),
            message,
            suppressed: false,
            suppression: None,
            configurations: Vec::new(),
        }
    }
}

/// Adds `found` to `all`, merging a finding already there (found under another configuration).
fn merge(all: &mut Vec<Finding>, index: &mut HashMap<FindingKey, usize>, found: Vec<Finding>) {
    for finding in found {
        let key = FindingKey::of(&finding);
        match index.get(&key) {
            Some(&at) => {
                let existing = &mut all[at];
                for c in finding.configurations {
                    if !existing.configurations.contains(&c) {
                        existing.configurations.push(c);
                    }
                }
            }
            None => {
                index.insert(key, all.len());
                all.push(finding);
            }
        }
    }
}

/// What makes two findings the same finding.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FindingKey {
    rule_id: String,
    file: String,
    line: u32,
    column: u32,
    resource: Option<String>,
    message: String,
}

impl FindingKey {
    fn of(f: &Finding) -> Self {
        Self {
            rule_id: f.rule_id.clone(),
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            resource: f.resource.clone(),
            message: f.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Decision;

    fn scan(text: &str, configurations: &[Configuration]) -> Report {
        Scanner::new(Settings::default()).scan(&[Source::new("t.yaml", text)], configurations)
    }

    const TEMPLATE: &str = r#"
Parameters:
  Cidr: {Type: String, Default: 10.0.0.0/8}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: sg
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Cidr}]
      SecurityGroupEgress: [{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}]
"#;

    #[test]
    fn scores_and_decisions_follow_the_thresholds() {
        let report = scan(TEMPLATE, &[]);
        assert_eq!(report.risk_score, 2, "{:#?}", report.findings);
        assert_eq!(report.decision, Decision::Pass);
        let open = Configuration::parse("prod.json", r#"{"Parameters": {"Cidr": "0.0.0.0/0"}, "Tags": {"a": "b"}}"#)
            .expect("valid configuration");
        let closed = Configuration::parse("test.json", r#"{"Parameters": {}}"#).expect("valid configuration");
        let report = scan(TEMPLATE, &[open, closed]);
        assert_eq!(report.decision, Decision::Fail);
        assert_eq!(report.risk_score, 50);
        assert_eq!(report.findings[0].configurations, ["prod.json"]);
        assert_eq!(
            report.findings[0].headline(),
            "t.yaml:9:87 Sg ingress-ssh-world: SSH open to the world: security group `Sg` allows tcp 22 from \
             0.0.0.0/0 (configuration prod.json)"
        );
    }

    #[test]
    fn disabled_rules_stay_silent_even_when_the_engine_raises_them() {
        let text = "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Ref Nope\n      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !ImportValue net}]\n";
        let ids = |report: &Report| report.findings.iter().map(|f| f.rule_id.clone()).collect::<Vec<_>>();
        let report = scan(text, &[]);
        assert!(ids(&report).contains(&"template-error".to_string()), "{:?}", ids(&report));
        assert!(ids(&report).contains(&"unresolved-value".to_string()), "{:?}", ids(&report));
        let mut settings = Settings::default();
        settings
            .apply_rules_file(
                "r.toml",
                "[rules.template-error]\nenabled = false\n[rules.unresolved-value]\nenabled = false\n",
            )
            .expect("valid");
        let report = Scanner::new(settings).scan(&[Source::new("t.yaml", text)], &[]);
        assert!(
            !ids(&report).iter().any(|id| id == "template-error" || id == "unresolved-value"),
            "{:?}",
            ids(&report)
        );
    }

    #[test]
    fn the_scenario_limit_is_reported_only_where_a_rule_reads_the_resource() {
        // Nine free parameters: 2^9 = 512 combinations, beyond the 256 evaluated.
        let params: String = (0..9).map(|i| format!("  P{i}: {{Type: String, Default: d{i}}}\n")).collect();
        let joined: String = (0..9).map(|i| format!("${{P{i}}}")).collect::<Vec<_>>().join("-");
        let text = format!(
            "Parameters:\n{params}Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {{TopicName: !Sub \"{joined}\"}}\n  \
             Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Sub \"{joined}\"\n      \
             SecurityGroupIngress: [{{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/8}}]\n"
        );
        let report = scan(&text, &[]);
        let limited: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.message.contains("combinations checked"))
            .map(|f| f.resource.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(limited, ["Sg"], "{:#?}", report.findings);
    }

    #[test]
    fn a_parse_error_fails_whatever_the_thresholds() {
        let mut settings = Settings::default();
        settings.apply_rules_file("r.yaml", "thresholds: {flagged: 1000, fail: 1000}").expect("valid");
        let report = Scanner::new(settings).scan(&[Source::new("bad.json", "{\"Resources\": [")], &[]);
        assert_eq!(report.decision, Decision::Fail);
        assert_eq!(report.findings[0].rule_id, "parse-error");
        assert_eq!((report.findings[0].line, report.findings[0].column), (1, 16));
    }

    #[test]
    fn macros_are_reported_as_not_checked() {
        let text =
            "Transform: [AWS::Serverless-2016-10-31, MyCompanyMacro]\nResources:\n  T: {Type: AWS::SNS::Topic}\n";
        let report = scan(text, &[]);
        let messages: Vec<String> =
            report.findings.iter().map(|f| format!("{}:{} {}", f.line, f.column, f.message)).collect();
        assert_eq!(
            messages,
            ["1:41 the template uses the macro `MyCompanyMacro`; resources it adds or changes are not checked"]
        );
    }

    #[test]
    fn configuration_files_must_be_template_configurations() {
        assert!(
            Configuration::parse("c.json", r#"{"Parameters": {"A": ["x"]}}"#)
                .expect_err("list")
                .contains("must be a string")
        );
        assert!(
            Configuration::parse("c.json", r#"{"Params": {}}"#)
                .expect_err("unknown")
                .contains("unknown field `Params`")
        );
        let report =
            scan(TEMPLATE, &[Configuration::parse("c.json", r#"{"Parameters": {"Nope": "1"}}"#).expect("valid")]);
        assert!(report.findings.iter().any(|f| f.rule_id == "template-error" && f.message.contains("`Nope`")));
    }
}
