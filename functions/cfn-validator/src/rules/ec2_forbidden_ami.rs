//! `ec2-forbidden-ami`: an EC2 instance or launch template using an AMI from the forbidden list.

use super::{Hits, Resource, RuleId, RuleMeta, Severity};
use crate::eval::Ev;

pub const META: RuleMeta = RuleMeta {
    id: RuleId::Ec2ForbiddenAmi,
    title: "Forbidden AMI",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "An `AWS::EC2::Instance` (`ImageId`) or `AWS::EC2::LaunchTemplate` (`LaunchTemplateData.ImageId`) uses \
              an image listed in `forbiddenAmis` of the rules file (retired, unpatched or unapproved images). With \
              an empty list, which is the default, the rule has nothing to check.",
    fix: "Use a current approved image, ideally through an SSM parameter of the golden AMI \
          (`AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>`).",
    cfn_nag: &[],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if hits.settings.forbidden_amis.is_empty() || !hits.enabled(RuleId::Ec2ForbiddenAmi) {
        return;
    }
    let image: Option<&Ev> = match resource.ty {
        "AWS::EC2::Instance" => resource.prop("ImageId"),
        "AWS::EC2::LaunchTemplate" => resource.prop("LaunchTemplateData").and_then(|d| d.get("ImageId")),
        _ => None,
    };
    let Some(image) = image else { return };
    match image.text() {
        Some(id) if hits.settings.forbidden_amis.iter().any(|f| f == id.trim()) => {
            let message = format!("`{}` uses forbidden image {id}", resource.id);
            hits.push(RuleId::Ec2ForbiddenAmi, image.loc, message);
        }
        Some(_) => {}
        None => hits.unresolved(image, &format!("`{}` ImageId", resource.id)),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{hits, hits_with};
    use crate::settings::Settings;

    const YAML: &str = r#"
Parameters:
  Ami: {Type: "AWS::EC2::Image::Id", AllowedValues: [ami-good, ami-0bad]}
Resources:
  Old: {Type: AWS::EC2::Instance, Properties: {ImageId: ami-0bad, InstanceType: t3.micro}}
  New: {Type: AWS::EC2::Instance, Properties: {ImageId: ami-good}}
  ByParam: {Type: AWS::EC2::Instance, Properties: {ImageId: !Ref Ami}}
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties: {LaunchTemplateData: {ImageId: ami-0bad}}
"#;

    #[test]
    fn listed_images_are_reported() {
        let mut settings = Settings::default();
        settings.apply_rules_file("r.yaml", "forbiddenAmis: [ami-0bad]").expect("valid");
        assert_eq!(
            hits_with(settings, "ec2-forbidden-ami", YAML),
            [
                "5:57 Old `Old` uses forbidden image ami-0bad",
                "7:66 ByParam `ByParam` uses forbidden image ami-0bad [when Ami=ami-0bad]",
                "10:48 Lt `Lt` uses forbidden image ami-0bad",
            ]
        );
        assert!(hits("ec2-forbidden-ami", YAML).is_empty());
    }
}
