//! Custom pattern rules from the rules file: a resource type, a property path and a pattern.

use super::{Hit, Hits, Resource, RuleKey};
use crate::eval::{Ev, Val};
use crate::settings::{Matcher, PathStep};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    let settings = hits.settings;
    for (index, rule) in settings.custom.iter().enumerate() {
        let type_matches = match rule.resource_type.strip_suffix('*') {
            Some(prefix) => resource.ty.starts_with(prefix),
            None => resource.ty == rule.resource_type,
        };
        if !type_matches {
            continue;
        }
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        if let Some(props) = resource.props() {
            walk(props, &rule.path, &mut found, &mut unknown);
        }
        match &rule.matcher {
            Matcher::Absent => {
                if found.is_empty() && unknown.is_empty() {
                    let loc = resource.props().map_or(resource.loc, |p| p.loc);
                    let message = format!("`{}`: {}", resource.id, rule.message);
                    hits.hits.push(Hit { rule: RuleKey::Custom(index), loc, message });
                }
            }
            Matcher::Equals(_) | Matcher::Regex(_) => {
                for value in found {
                    let text = match &value.val {
                        Val::Map(_) | Val::List(_) | Val::Null => continue,
                        _ => value.text().unwrap_or_default(),
                    };
                    let matched = match &rule.matcher {
                        Matcher::Equals(expected) => text == *expected,
                        Matcher::Regex(re) => re.is_match(&text),
                        Matcher::Absent => false,
                    };
                    if matched {
                        let message = format!("`{}`: {}", resource.id, rule.message);
                        hits.hits.push(Hit { rule: RuleKey::Custom(index), loc: value.loc, message });
                    }
                }
            }
        }
        for value in unknown {
            hits.unresolved(value, &format!("`{}` {} (custom rule `{}`)", resource.id, rule.path_text, rule.id));
        }
    }
}

/// The values at `path`, and the unknown values met on the way.
fn walk<'a>(value: &'a Ev, path: &[PathStep], found: &mut Vec<&'a Ev>, unknown: &mut Vec<&'a Ev>) {
    if matches!(value.val, Val::Unknown(_)) {
        unknown.push(value);
        return;
    }
    let Some((step, rest)) = path.split_first() else {
        found.push(value);
        return;
    };
    match step {
        PathStep::Key(key) => {
            if let Some(next) = value.get(key) {
                walk(next, rest, found, unknown);
            }
        }
        PathStep::Index(i) => {
            if let Some(next) = value.items().get(*i) {
                walk(next, rest, found, unknown);
            }
        }
        PathStep::Each => {
            for next in value.items().iter().chain(value.entries().iter().map(|(_, v)| v)) {
                walk(next, rest, found, unknown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits_with;
    use crate::settings::Settings;

    #[test]
    fn regex_equals_and_absent_rules() {
        let mut settings = Settings::default();
        settings
            .apply_rules_file(
                "r.yaml",
                r#"
custom:
  - {id: reference-open-cidr, resourceType: "AWS::EC2::SecurityGroup", path: "SecurityGroupIngress[*].CidrIp", regex: "^0\\.0\\.0\\.0/0$", risk: 20, message: "ingress from 0.0.0.0/0"}
  - {id: needs-owner-tag, resourceType: "AWS::EC2::*", path: Tags, absent: true, risk: 1}
  - {id: no-t2, resourceType: "AWS::EC2::Instance", path: InstanceType, equals: t2.micro, risk: 1}
"#,
            )
            .expect("valid");
        let yaml = r#"
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      Tags: [{Key: owner, Value: me}]
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/8}
  I: {Type: AWS::EC2::Instance, Properties: {InstanceType: t2.micro}}
"#;
        assert_eq!(hits_with(settings.clone(), "reference-open-cidr", yaml), ["9:65 Sg `Sg`: ingress from 0.0.0.0/0"]);
        assert_eq!(hits_with(settings.clone(), "needs-owner-tag", yaml), ["11:45 I `I`: `Tags` is not set"]);
        assert_eq!(hits_with(settings, "no-t2", yaml), ["11:60 I `I`: `InstanceType` is `t2.micro`"]);
    }
}
