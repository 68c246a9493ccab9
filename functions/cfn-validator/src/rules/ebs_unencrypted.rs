//! `ebs-unencrypted`: EBS volumes without encryption at rest (low risk).

use super::{Hits, Resource, RuleId, RuleMeta, Severity, require_true};
use crate::eval::Ev;

pub const META: RuleMeta = RuleMeta {
    id: RuleId::EbsUnencrypted,
    title: "EBS volume not encrypted",
    severity: Severity::Note,
    risk: 1,
    enabled: true,
    problem: "An `AWS::EC2::Volume`, or an EBS block device mapping of an `AWS::EC2::Instance`, \
              `AWS::EC2::LaunchTemplate` or `AWS::AutoScaling::LaunchConfiguration`, does not set `Encrypted: true`. Unless the account enables EBS encryption \
              by default, its data and snapshots are unencrypted at rest.",
    fix: "Set `Encrypted: true` (and `KmsKeyId` for a customer managed key), or enable EBS encryption by default in \
          every region of the account.",
    cfn_nag: &["F1"],
    checkov: &["CKV_AWS_3", "CKV_AWS_8"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::EbsUnencrypted) {
        return;
    }
    let mappings: Option<&Ev> = match resource.ty {
        "AWS::EC2::Volume" => {
            if let Some((loc, why)) = require_true(resource, "Encrypted", hits) {
                hits.push(RuleId::EbsUnencrypted, loc, format!("volume `{}` is not encrypted: {why}", resource.id));
            }
            None
        }
        "AWS::EC2::Instance" | "AWS::AutoScaling::LaunchConfiguration" => resource.prop("BlockDeviceMappings"),
        "AWS::EC2::LaunchTemplate" => resource.prop("LaunchTemplateData").and_then(|d| d.get("BlockDeviceMappings")),
        _ => None,
    };
    if let Some(mappings) = mappings.filter(|m| m.unknown().is_some()) {
        hits.unresolved(mappings, &format!("`{}` BlockDeviceMappings", resource.id));
    }
    for mapping in mappings.map(Ev::items).unwrap_or_default() {
        let Some(ebs) = mapping.get("Ebs") else { continue };
        let device = mapping.get("DeviceName").and_then(Ev::text).unwrap_or_else(|| "a device".into());
        match ebs.get("Encrypted") {
            None => hits.push(
                RuleId::EbsUnencrypted,
                ebs.loc,
                format!(
                    "`{}` EBS volume {device} is not encrypted: `Encrypted` is not set (default false)",
                    resource.id
                ),
            ),
            Some(value) => match value.boolean() {
                Some(true) => {}
                Some(false) => hits.push(
                    RuleId::EbsUnencrypted,
                    value.loc,
                    format!("`{}` EBS volume {device} is not encrypted: `Encrypted` is false", resource.id),
                ),
                None => hits.not_boolean(value, &format!("`{}` EBS volume {device} Encrypted", resource.id)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn volumes_and_block_device_mappings() {
        let yaml = r#"
Resources:
  V: {Type: AWS::EC2::Volume, Properties: {Size: 10, AvailabilityZone: a}}
  W: {Type: AWS::EC2::Volume, Properties: {Size: 10, Encrypted: true}}
  I:
    Type: AWS::EC2::Instance
    Properties:
      BlockDeviceMappings:
        - {DeviceName: /dev/xvda, Ebs: {VolumeSize: 8}}
        - {DeviceName: /dev/xvdb, Ebs: {Encrypted: false}}
        - {DeviceName: /dev/xvdc, Ebs: {Encrypted: true}}
        - {DeviceName: /dev/xvdd, VirtualName: ephemeral0}
"#;
        assert_eq!(
            hits("ebs-unencrypted", yaml),
            [
                "3:43 V volume `V` is not encrypted: `Encrypted` is not set (default false)",
                "9:40 I `I` EBS volume /dev/xvda is not encrypted: `Encrypted` is not set (default false)",
                "10:52 I `I` EBS volume /dev/xvdb is not encrypted: `Encrypted` is false",
            ]
        );
    }
}
