//! `s3-public-acl`: an S3 bucket with a canned ACL that grants access to everyone.

use super::{Hits, Resource, RuleId, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::S3PublicAcl,
    title: "S3 bucket with a public ACL",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "`AccessControl` is `PublicRead`, `PublicReadWrite` or `AuthenticatedRead` (any AWS account), so anyone \
              can list (and with PublicReadWrite, write) the bucket.",
    fix: "Remove `AccessControl` (buckets are private and ACLs disabled by default), keep a full public access \
          block, and publish through CloudFront with origin access control.",
    cfn_nag: &["W31", "F14"],
    checkov: &["CKV_AWS_20", "CKV_AWS_57"],
};

const PUBLIC: [&str; 3] = ["PublicRead", "PublicReadWrite", "AuthenticatedRead"];

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if resource.ty != "AWS::S3::Bucket" || !hits.enabled(RuleId::S3PublicAcl) {
        return;
    }
    let Some(acl) = resource.prop("AccessControl") else { return };
    match acl.text() {
        Some(text) if PUBLIC.contains(&text.as_str()) => {
            hits.push(RuleId::S3PublicAcl, acl.loc, format!("bucket `{}` has the public ACL {text}", resource.id));
        }
        Some(_) => {}
        None => hits.unresolved(acl, &format!("bucket `{}` AccessControl", resource.id)),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn public_canned_acls() {
        let yaml = "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {AccessControl: PublicReadWrite}}\n  B: {Type: AWS::S3::Bucket, Properties: {AccessControl: Private}}\n  C: {Type: AWS::S3::Bucket, Properties: {AccessControl: AuthenticatedRead}}\n";
        assert_eq!(
            hits("s3-public-acl", yaml),
            [
                "2:58 A bucket `A` has the public ACL PublicReadWrite",
                "4:58 C bucket `C` has the public ACL AuthenticatedRead",
            ]
        );
    }
}
