//! `iam-wildcard-admin`: an IAM policy statement that allows every action on every resource.

use super::{Hits, Resource, RuleId, RuleMeta, Severity};
use crate::eval::{Ev, Val};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IamWildcardAdmin,
    title: "IAM statement allows * on *",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "A policy statement with `Effect: Allow`, `Action: \"*\"` (or `*:*`) and `Resource: \"*\"` grants full \
              administrator rights. Checked in `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`, and the inline \
              `Policies` of roles, users and groups.",
    fix: "List the actions and resources the principal needs (IAM Access Analyzer can generate a policy from \
          CloudTrail activity), or attach a narrower AWS managed policy.",
    cfn_nag: &["F3", "F4", "F5"],
    checkov: &["CKV_AWS_62", "CKV_AWS_63"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::IamWildcardAdmin) {
        return;
    }
    let documents: Vec<&Ev> = match resource.ty {
        "AWS::IAM::Policy"
        | "AWS::IAM::ManagedPolicy"
        | "AWS::IAM::RolePolicy"
        | "AWS::IAM::UserPolicy"
        | "AWS::IAM::GroupPolicy" => resource.prop("PolicyDocument").into_iter().collect(),
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => match resource.prop("Policies") {
            Some(policies) if policies.unknown().is_some() => {
                hits.unresolved(policies, &format!("`{}` Policies", resource.id));
                Vec::new()
            }
            Some(policies) => policies.items().iter().filter_map(|p| p.get("PolicyDocument")).collect(),
            None => Vec::new(),
        },
        _ => return,
    };
    for document in documents {
        if document.unknown().is_some() {
            hits.unresolved(document, &format!("`{}` PolicyDocument", resource.id));
            continue;
        }
        let statements: Vec<&Ev> = match document.get("Statement") {
            Some(s) if matches!(s.val, Val::List(_)) => s.items().iter().collect(),
            Some(s) => vec![s],
            None => continue,
        };
        for statement in statements {
            if statement.unknown().is_some() {
                hits.unresolved(statement, &format!("`{}` policy statement", resource.id));
                continue;
            }
            match statement.get("Effect") {
                Some(effect) if effect.unknown().is_some() => {
                    hits.unresolved(effect, &format!("`{}` policy statement Effect", resource.id));
                    continue;
                }
                Some(effect) if effect.text().as_deref() == Some("Allow") => {}
                _ => continue,
            }
            let (Some(action), Some(target)) = (statement.get("Action"), statement.get("Resource")) else { continue };
            let (action_star, target_star) =
                (wildcard(action, &["*", "*:*"], resource, hits), wildcard(target, &["*"], resource, hits));
            if action_star && target_star {
                hits.push(
                    RuleId::IamWildcardAdmin,
                    action.loc,
                    format!("`{}` allows every action (\"*\") on every resource (\"*\")", resource.id),
                );
            }
        }
    }
}

/// Whether a string-or-list holds one of `stars`; unknown items that may be one are reported (an ARN built
/// with `Fn::Sub` or an AWS resource's `Arn` never is).
fn wildcard(value: &Ev, stars: &[&str], resource: &Resource<'_>, hits: &mut Hits<'_>) -> bool {
    let items: Vec<&Ev> = match &value.val {
        Val::List(items) => items.iter().collect(),
        _ => vec![value],
    };
    let mut found = false;
    for item in items {
        match (item.text(), &item.val) {
            (Some(text), _) => found |= stars.contains(&text.trim()),
            (None, Val::Unknown(unknown)) if !stars.iter().any(|star| unknown.may_be(star, resource.template)) => {}
            (None, _) => hits.unresolved(item, "an IAM statement's Action or Resource"),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn star_on_star_in_policies_and_roles() {
        let yaml = r#"
Resources:
  Admin:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement: {Effect: Allow, Action: "*", Resource: "*"}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: "*", Resource: "*"}]}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: ["s3:GetObject", "*:*"], Resource: ["arn:aws:s3:::b/*", "*"]}
              - {Effect: Deny, Action: "*", Resource: "*"}
              - {Effect: Allow, Action: "s3:*", Resource: "*"}
  Inline:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: r
      PolicyName: p
      PolicyDocument: {Statement: [{Effect: !Ref Effect, Action: "*", Resource: "*"}]}
  Imported:
    Type: AWS::IAM::Policy
    Properties: {PolicyName: p, PolicyDocument: !ImportValue shared-policy}
Parameters:
  Effect: {Type: String}
"#;
        assert_eq!(
            hits("iam-wildcard-admin", yaml),
            [
                "7:44 Admin `Admin` allows every action (\"*\") on every resource (\"*\")",
                "16:41 Role `Role` allows every action (\"*\") on every resource (\"*\")",
            ]
        );
        let unresolved = hits("unresolved-value", yaml);
        assert_eq!(unresolved.len(), 2, "{unresolved:?}");
        assert!(
            unresolved[0].starts_with("24:50 Inline `Inline` policy statement Effect is not known"),
            "{unresolved:?}"
        );
        assert!(unresolved[1].starts_with("27:62 Imported `Imported` PolicyDocument is not known"), "{unresolved:?}");
    }

    #[test]
    fn resources_built_from_deploy_time_values_are_checked_when_they_may_be_a_wildcard() {
        let yaml = r#"
Parameters:
  Bucket: {Type: String}
  Anything: {Type: String}
Resources:
  Key: {Type: AWS::KMS::Key}
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: "*"
                Resource:
                  - !Sub "arn:${AWS::Partition}:s3:::${Bucket}/*"
                  - !GetAtt Key.Arn
              - {Effect: Allow, Action: "*", Resource: !Sub "${Anything}"}
"#;
        let unresolved = hits("unresolved-value", yaml);
        assert_eq!(unresolved.len(), 1, "only the statement whose Resource may be \"*\": {unresolved:?}");
        assert!(unresolved[0].starts_with("19:61 Role an IAM statement's Action or Resource"), "{unresolved:?}");
        assert_eq!(hits("iam-wildcard-admin", yaml), Vec::<String>::new());
    }
}
