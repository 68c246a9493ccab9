//! `s3-no-public-access-block`: an S3 bucket without all four public access block settings.

use super::{Hits, Resource, RuleId, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::S3NoPublicAccessBlock,
    title: "S3 bucket without a full public access block",
    severity: Severity::Warning,
    risk: 5,
    enabled: true,
    problem: "The bucket has no `PublicAccessBlockConfiguration`, or one of `BlockPublicAcls`, `IgnorePublicAcls`, \
              `BlockPublicPolicy`, `RestrictPublicBuckets` is not true, so an ACL or bucket policy can make its \
              objects public.",
    fix: "Set `PublicAccessBlockConfiguration` with all four settings true; serve public content through \
          CloudFront with origin access control instead.",
    cfn_nag: &[],
    checkov: &["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
};

const SETTINGS: [&str; 4] = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if resource.ty != "AWS::S3::Bucket" || !hits.enabled(RuleId::S3NoPublicAccessBlock) {
        return;
    }
    let Some(block) = resource.prop("PublicAccessBlockConfiguration") else {
        let loc = resource.props().map_or(resource.loc, |p| p.loc);
        hits.push(
            RuleId::S3NoPublicAccessBlock,
            loc,
            format!("bucket `{}` has no PublicAccessBlockConfiguration", resource.id),
        );
        return;
    };
    let mut off = Vec::new();
    for setting in SETTINGS {
        match block.get(setting) {
            None => off.push(format!("{setting} is not set")),
            Some(value) => match value.boolean() {
                Some(true) => {}
                Some(false) => off.push(format!("{setting} is false")),
                None => hits.not_boolean(value, &format!("bucket `{}` {setting}", resource.id)),
            },
        }
    }
    if !off.is_empty() {
        let message = format!("bucket `{}` does not block public access: {}", resource.id, off.join(", "));
        hits.push(RuleId::S3NoPublicAccessBlock, block.loc, message);
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn missing_or_partial_blocks() {
        let yaml = r#"
Resources:
  None: {Type: AWS::S3::Bucket}
  Partial:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, IgnorePublicAcls: "false", BlockPublicPolicy: true}
  Full:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
"#;
        assert_eq!(
            hits("s3-no-public-access-block", yaml),
            [
                "3:3 None bucket `None` has no PublicAccessBlockConfiguration",
                "7:39 Partial bucket `Partial` does not block public access: IgnorePublicAcls is false, RestrictPublicBuckets is not set",
            ]
        );
    }
}
