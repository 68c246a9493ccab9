//! `s3-unencrypted`: an S3 bucket without an explicit encryption configuration (low risk).

use super::{Hits, Resource, RuleId, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::S3Unencrypted,
    title: "S3 bucket without explicit encryption",
    severity: Severity::Note,
    risk: 1,
    enabled: true,
    problem: "The bucket declares no `BucketEncryption`. S3 has encrypted new objects with S3-managed keys (SSE-S3) \
              since January 2023, but without a declared configuration the template does not control the key, and \
              access to the data cannot be restricted through a KMS key policy.",
    fix: "Declare `BucketEncryption` with `SSEAlgorithm: aws:kms` (and a `KMSMasterKeyID`) or at least `AES256`.",
    cfn_nag: &["W41"],
    checkov: &["CKV_AWS_19"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if resource.ty != "AWS::S3::Bucket" || !hits.enabled(RuleId::S3Unencrypted) {
        return;
    }
    if resource.prop("BucketEncryption").is_none() {
        let loc = resource.props().map_or(resource.loc, |p| p.loc);
        hits.push(RuleId::S3Unencrypted, loc, format!("bucket `{}` declares no BucketEncryption", resource.id));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn buckets_without_encryption() {
        let yaml = "Resources:\n  A: {Type: AWS::S3::Bucket}\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketEncryption: {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms}}]}\n";
        assert_eq!(hits("s3-unencrypted", yaml), ["2:3 A bucket `A` declares no BucketEncryption"]);
    }
}
