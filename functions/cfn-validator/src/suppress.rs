//! Suppressions in a resource's `Metadata`, each with a mandatory reason:
//!
//! - ours: `cfn-validator: {suppress: [{rule: ingress-ssh-world, reason: "..."}]}`
//! - cfn_nag's: `cfn_nag: {rules_to_suppress: [{id: W2, reason: "..."}]}`
//! - checkov's: `checkov: {skip: [{id: CKV_AWS_24, comment: "..."}]}` (or under `bridgecrew`)
//!
//! cfn_nag and checkov ids suppress the rules that check the same thing (see each rule's `cfn_nag` and
//! `checkov` lists); ids with no counterpart here are left to their tool. A suppression without a reason,
//! or of one of our rules that does not exist, is not applied and becomes an `invalid-suppression`
//! finding.

use crate::rules::RuleId;
use crate::settings::Settings;
use crate::template::{Loc, Node};

/// A suppression that applies: which rule, why, and from which metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// A built-in rule id or a custom rule id.
    pub rule: String,
    pub reason: String,
    pub source: String,
}

/// The suppressions of one resource, and the problems with the ones that do not apply.
pub fn read(metadata: Option<&Node>, settings: &Settings) -> (Vec<Suppression>, Vec<(Loc, String)>) {
    let mut applied = Vec::new();
    let mut problems = Vec::new();
    let Some(metadata) = metadata else {
        return (applied, problems);
    };
    let sources: [(&str, &str, &str, &str); 4] = [
        ("cfn-validator", "suppress", "rule", "reason"),
        ("cfn_nag", "rules_to_suppress", "id", "reason"),
        ("checkov", "skip", "id", "comment"),
        ("bridgecrew", "skip", "id", "comment"),
    ];
    for (tool, list_key, id_key, reason_key) in sources {
        let Some(list) = metadata.get(tool).and_then(|t| t.get(list_key)) else { continue };
        for entry in list.items() {
            let Some(id) = entry.get(id_key).and_then(Node::as_str).map(str::trim) else {
                problems.push((entry.loc, format!("a `{tool}` suppression without `{id_key}`")));
                continue;
            };
            let reason = entry.get(reason_key).and_then(Node::as_str).map(str::trim).unwrap_or_default();
            let rules: Vec<String> = match tool {
                "cfn-validator" => {
                    let known = RuleId::parse(id)
                        .map(|r| r.as_str().to_string())
                        .or_else(|| settings.custom.iter().find(|c| c.id == id).map(|c| c.id.clone()));
                    match known {
                        Some(rule)
                            if rule == RuleId::ParseError.as_str() || rule == RuleId::InvalidSuppression.as_str() =>
                        {
                            problems.push((entry.loc, format!("`{rule}` cannot be suppressed")));
                            continue;
                        }
                        Some(rule) => vec![rule],
                        None => {
                            problems.push((entry.loc, format!("suppression of `{id}`, which is not a rule")));
                            continue;
                        }
                    }
                }
                "cfn_nag" => mapped(id, |r| r.meta().cfn_nag),
                _ => mapped(id, |r| r.meta().checkov),
            };
            if rules.is_empty() {
                continue;
            }
            if reason.is_empty() {
                problems.push((
                    entry.loc,
                    format!("the `{tool}` suppression of `{id}` has no `{reason_key}`, so it is not applied"),
                ));
                continue;
            }
            let source = if tool == "cfn-validator" { tool.to_string() } else { format!("{tool} {id}") };
            for rule in rules {
                applied.push(Suppression { rule, reason: reason.to_string(), source: source.clone() });
            }
        }
    }
    (applied, problems)
}

fn mapped(id: &str, ids: impl Fn(RuleId) -> &'static [&'static str]) -> Vec<String> {
    RuleId::ALL.iter().filter(|r| ids(**r).contains(&id)).map(|r| r.as_str().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{hits, hits_with};
    use crate::settings::Settings;

    const YAML: &str = r#"
Resources:
  Bastion:
    Type: AWS::EC2::SecurityGroup
    Metadata:
      cfn-validator:
        suppress:
          - {rule: ingress-ssh-world, reason: "bastion host, SEC-12"}
          - {rule: egress-all-world}
          - {rule: no-such-rule, reason: x}
    Properties:
      GroupDescription: b
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]
  Nag:
    Type: AWS::EC2::SecurityGroup
    Metadata:
      cfn_nag: {rules_to_suppress: [{id: W5, reason: "needs the internet"}, {id: W2}]}
      checkov: {skip: [{id: CKV_AWS_25, comment: "jump host"}]}
    Properties:
      GroupDescription: n
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 0.0.0.0/0}]
"#;

    #[test]
    fn suppressions_need_a_reason_and_a_real_rule() {
        assert_eq!(
            hits("ingress-ssh-world", YAML),
            ["13:82 Bastion SSH open to the world: security group `Bastion` allows tcp 22 from 0.0.0.0/0 [suppressed]"]
        );
        assert_eq!(
            hits("ingress-rdp-world", YAML),
            ["21:86 Nag RDP open to the world: security group `Nag` allows tcp 3389 from 0.0.0.0/0 [suppressed]"]
        );
        let egress = hits("egress-all-world", YAML);
        assert_eq!(egress.len(), 2, "{egress:?}");
        assert!(egress.iter().any(|h| h.starts_with("12:7 Bastion") && !h.ends_with("[suppressed]")), "{egress:?}");
        assert!(egress.iter().any(|h| h.starts_with("20:7 Nag") && h.ends_with("[suppressed]")), "{egress:?}");
        assert_eq!(
            hits("invalid-suppression", YAML),
            [
                "9:13 Bastion the `cfn-validator` suppression of `egress-all-world` has no `reason`, so it is not applied",
                "10:13 Bastion suppression of `no-such-rule`, which is not a rule",
                "17:77 Nag the `cfn_nag` suppression of `W2` has no `reason`, so it is not applied",
            ]
        );
    }

    #[test]
    fn the_pipeline_can_refuse_suppressions() {
        let mut settings = Settings::default();
        settings.allow_suppressions = false;
        assert_eq!(
            hits_with(settings, "ingress-ssh-world", YAML),
            ["13:82 Bastion SSH open to the world: security group `Bastion` allows tcp 22 from 0.0.0.0/0"]
        );
    }
}
