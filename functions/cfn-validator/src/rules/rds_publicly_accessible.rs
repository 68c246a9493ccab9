//! `rds-publicly-accessible`: an RDS instance reachable from the internet.

use super::{Hits, Resource, RuleId, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::RdsPubliclyAccessible,
    title: "RDS instance publicly accessible",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "`PubliclyAccessible: true` gives the database instance a public DNS name and address; with a permissive \
              security group it is reachable from the internet.",
    fix: "Set `PubliclyAccessible: false` and reach the database from inside the VPC (or through a bastion, VPN or \
          RDS Proxy).",
    cfn_nag: &["F22"],
    checkov: &["CKV_AWS_17"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if resource.ty != "AWS::RDS::DBInstance" || !hits.enabled(RuleId::RdsPubliclyAccessible) {
        return;
    }
    let Some(value) = resource.prop("PubliclyAccessible") else { return };
    match value.boolean() {
        Some(true) => hits.push(
            RuleId::RdsPubliclyAccessible,
            value.loc,
            format!("database instance `{}` is publicly accessible", resource.id),
        ),
        Some(false) => {}
        None => hits.not_boolean(value, &format!("database instance `{}` PubliclyAccessible", resource.id)),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn true_in_any_spelling_and_unknown() {
        let yaml = r#"
Parameters:
  Public: {Type: String, AllowedValues: ["true", "false"], Default: "false"}
  Free: {Type: String}
Resources:
  A: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: true}}
  B: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: "True"}}
  C: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: !Ref Public}}
  D: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: !Ref Free}}
  E: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: false}}
  F: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: yes}}
  G: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: "On"}}
  H: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: no}}
  I: {Type: AWS::RDS::DBInstance, Properties: {PubliclyAccessible: maybe}}
"#;
        assert_eq!(
            hits("rds-publicly-accessible", yaml),
            [
                "6:68 A database instance `A` is publicly accessible",
                "7:68 B database instance `B` is publicly accessible",
                "8:73 C database instance `C` is publicly accessible [when Public=true]",
                "11:68 F database instance `F` is publicly accessible",
                "12:68 G database instance `G` is publicly accessible",
            ]
        );
        assert_eq!(
            hits("template-error", yaml),
            ["14:68 I database instance `I` PubliclyAccessible is `maybe`, which is not a boolean (true or false); \
                 CloudFormation rejects it"]
        );
        assert_eq!(
            hits("unresolved-value", yaml),
            [
                "9:73 D database instance `D` PubliclyAccessible is not known before deployment (parameter `Free` has no \
              Default and no AllowedValues, so it can be any value); it cannot be checked"
            ]
        );
    }
}
