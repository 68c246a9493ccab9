//! Reporters: the same [`Report`] as text, JSON, SARIF 2.1.0 or Markdown.

use crate::report::{Finding, Report};
use crate::rules::{RuleId, Severity};
use crate::settings::Settings;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Markdown,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

pub fn render(report: &Report, settings: &Settings, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
        Format::Sarif => sarif(report, settings),
        Format::Markdown => markdown(report, settings),
    }
}

/// One line per finding (`file:line:col resource rule: message`), suppressed ones last, then the summary.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let _ = write!(out, "{} [{} risk {}]", finding.headline(), finding.severity, finding.risk);
        if let Some(suppression) = &finding.suppression {
            let _ = write!(out, " (suppressed by {suppression})");
        }
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

pub fn json(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

/// The rules a report refers to, as (id, title, problem, fix, severity).
fn rules_used(report: &Report, settings: &Settings) -> Vec<(String, String, String, String, Severity)> {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| match RuleId::parse(id) {
            Some(rule) => {
                let meta = rule.meta();
                let severity = settings.rule(rule).severity;
                (id.to_string(), meta.title.to_string(), meta.problem.to_string(), meta.fix.to_string(), severity)
            }
            None => {
                let custom = settings.custom.iter().find(|c| c.id == id);
                let title = custom.map_or_else(String::new, |c| format!("Custom rule on {}", c.resource_type));
                let problem = custom
                    .map_or_else(String::new, |c| format!("{} ({} in {})", c.message, c.path_text, c.resource_type));
                let severity = custom.map_or(Severity::Warning, |c| c.severity);
                (id.to_string(), title, problem, "See the rules file.".to_string(), severity)
            }
        })
        .collect()
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// SARIF 2.1.0, one run, with rule metadata, locations, logical locations (the resource) and suppressions.
pub fn sarif(report: &Report, settings: &Settings) -> String {
    let rules = rules_used(report, settings);
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|(id, title, problem, fix, severity)| {
            json!({
                "id": id,
                "name": title,
                "shortDescription": {"text": title},
                "fullDescription": {"text": problem},
                "help": {"text": fix},
                "defaultConfiguration": {"level": sarif_level(*severity)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f: &Finding| {
            let index = rules.iter().position(|(id, ..)| *id == f.rule_id).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.rule_id,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    },
                    "logicalLocations": f.resource.as_ref().map(|r| vec![json!({"name": r, "kind": "resource"})]).unwrap_or_default(),
                }],
                "properties": {"risk": f.risk, "configurations": f.configurations},
            });
            if let (Some(reason), Value::Object(map)) = (&f.suppression, &mut result) {
                map.insert("suppressions".into(), json!([{"kind": "inSource", "justification": reason}]));
            }
            result
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cfn-validator",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": results,
            "properties": {"decision": report.decision, "riskScore": report.risk_score},
        }],
    });
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A readable page: decision, findings table, suppressed findings, and each rule's problem and fix.
pub fn markdown(report: &Report, settings: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# cfn-validator report: {}\n", report.decision.as_str().to_uppercase());
    let _ = writeln!(out, "{}\n", report.summary());
    let _ = writeln!(
        out,
        "Templates: {}\n",
        report.templates.iter().map(|t| format!("`{}`", t.file)).collect::<Vec<_>>().join(", ")
    );
    let table = |out: &mut String, findings: &mut dyn Iterator<Item = &Finding>| {
        let _ = writeln!(out, "| Risk | Severity | Location | Resource | Rule | Finding |");
        let _ = writeln!(out, "|---:|---|---|---|---|---|");
        for f in findings {
            let mut message = escape_cell(&f.message);
            if !f.configurations.is_empty() {
                let _ = write!(message, " (configuration {})", f.configurations.join(", "));
            }
            if let Some(reason) = &f.suppression {
                let _ = write!(message, " — suppressed: {}", escape_cell(reason));
            }
            let _ = writeln!(
                out,
                "| {} | {} | `{}:{}:{}` | {} | `{}` | {} |",
                f.risk,
                f.severity,
                f.file,
                f.line,
                f.column,
                f.resource.as_deref().map_or("-".to_string(), |r| format!("`{r}`")),
                f.rule_id,
                message
            );
        }
    };
    if report.active_findings().next().is_some() {
        let _ = writeln!(out, "## Findings\n");
        table(&mut out, &mut report.active_findings());
        out.push('\n');
    } else {
        let _ = writeln!(out, "No findings.\n");
    }
    if report.suppressed_count() > 0 {
        let _ = writeln!(out, "## Suppressed\n");
        table(&mut out, &mut report.findings.iter().filter(|f| f.suppressed));
        out.push('\n');
    }
    let rules = rules_used(report, settings);
    if !rules.is_empty() {
        let _ = writeln!(out, "## Rules\n");
        for (id, title, problem, fix, _) in rules {
            let _ = writeln!(out, "### `{id}`: {title}\n\n**Problem.** {problem}\n\n**Fix.** {fix}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Scanner, Source};

    const YAML: &str = r#"
Resources:
  Web:
    Type: AWS::EC2::SecurityGroup
    Metadata:
      cfn-validator: {suppress: [{rule: egress-all-world, reason: "proxy | egress"}]}
    Properties:
      GroupDescription: web
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]
"#;

    fn report() -> (Report, Settings) {
        let settings = Settings::default();
        let report = Scanner::new(settings.clone()).scan(&[Source::new("web.yaml", YAML)], &[]);
        (report, settings)
    }

    #[test]
    fn text_lists_findings_then_the_summary() {
        let (report, _) = report();
        insta::assert_snapshot!(text(&report), @r"
        web.yaml:9:82 Web ingress-ssh-world: SSH open to the world: security group `Web` allows tcp 22 from 0.0.0.0/0 [error risk 50]
        web.yaml:8:7 Web egress-all-world: security group `Web` declares no SecurityGroupEgress, so EC2 allows all traffic to 0.0.0.0/0 [note risk 1] (suppressed by cfn-validator: proxy | egress)
        FAIL: risk score 50 (flagged at 5, fail at 50); 1 finding in 1 template with 1 resource, 1 suppressed
        ");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let (report, _) = report();
        let value: Value = serde_json::from_str(&json(&report)).expect("valid JSON");
        assert_eq!(value["decision"], "fail");
        assert_eq!(value["riskScore"], 50);
        let finding = &value["findings"][0];
        for key in ["ruleId", "severity", "risk", "file", "line", "column", "resource", "message", "suppressed"] {
            assert!(finding.get(key).is_some(), "missing {key} in {finding}");
        }
        assert_eq!(finding["line"], 9);
        assert_eq!(value["findings"][1]["suppressed"], true);
    }

    #[test]
    fn sarif_is_2_1_0_with_rules_locations_and_suppressions() {
        let (report, settings) = report();
        let value: Value = serde_json::from_str(&sarif(&report, &settings)).expect("valid JSON");
        assert_eq!(value["version"], "2.1.0");
        let run = &value["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), 2);
        for result in results {
            let index = result["ruleIndex"].as_u64().expect("index") as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
        }
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 9);
        assert_eq!(results[0]["locations"][0]["logicalLocations"][0]["name"], "Web");
        assert_eq!(results[1]["suppressions"][0]["kind"], "inSource");
    }

    #[test]
    fn markdown_has_tables_and_rule_docs() {
        let (report, settings) = report();
        let page = markdown(&report, &settings);
        assert!(page.starts_with("# cfn-validator report: FAIL\n"));
        assert!(page.contains("| 50 | error | `web.yaml:9:82` | `Web` | `ingress-ssh-world` |"));
        assert!(page.contains("suppressed: cfn-validator: proxy \\| egress"));
        assert!(page.contains("### `ingress-ssh-world`: SSH open to the world"));
    }
}
