//! `rds-unencrypted`: RDS storage without encryption at rest (low risk).

use super::{Hits, Resource, RuleId, RuleMeta, Severity, require_true};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::RdsUnencrypted,
    title: "RDS storage not encrypted",
    severity: Severity::Note,
    risk: 1,
    enabled: true,
    problem: "An `AWS::RDS::DBInstance` (not part of a cluster) or `AWS::RDS::DBCluster` without \
              `StorageEncrypted: true` keeps data, snapshots and backups unencrypted at rest. Encryption cannot be \
              turned on later without restoring from a snapshot.",
    fix: "Set `StorageEncrypted: true` (and `KmsKeyId` for a customer managed key).",
    cfn_nag: &["F26", "F27"],
    checkov: &["CKV_AWS_16", "CKV_AWS_96"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::RdsUnencrypted) {
        return;
    }
    let applies = match resource.ty {
        // Instances of a cluster inherit the cluster's encryption.
        "AWS::RDS::DBInstance" => resource.prop("DBClusterIdentifier").is_none(),
        "AWS::RDS::DBCluster" => true,
        _ => false,
    };
    if applies && let Some((loc, why)) = require_true(resource, "StorageEncrypted", hits) {
        hits.push(RuleId::RdsUnencrypted, loc, format!("`{}` storage is not encrypted: {why}", resource.id));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn instances_and_clusters() {
        let yaml = r#"
Resources:
  A: {Type: AWS::RDS::DBInstance, Properties: {Engine: postgres}}
  B: {Type: AWS::RDS::DBInstance, Properties: {StorageEncrypted: false}}
  C: {Type: AWS::RDS::DBInstance, Properties: {StorageEncrypted: true}}
  D: {Type: AWS::RDS::DBInstance, Properties: {DBClusterIdentifier: !Ref E}}
  E: {Type: AWS::RDS::DBCluster, Properties: {Engine: aurora-postgresql}}
"#;
        assert_eq!(
            hits("rds-unencrypted", yaml),
            [
                "3:47 A `A` storage is not encrypted: `StorageEncrypted` is not set (default false)",
                "4:66 B `B` storage is not encrypted: `StorageEncrypted` is false",
                "7:46 E `E` storage is not encrypted: `StorageEncrypted` is not set (default false)",
            ]
        );
    }
}
