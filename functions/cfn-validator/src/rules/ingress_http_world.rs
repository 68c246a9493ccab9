//! `ingress-http-world`: plain HTTP (tcp 80) open to the world. Off by default, as in the reference.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressHttpWorld,
    title: "HTTP (port 80) open to the world",
    severity: Severity::Warning,
    risk: 5,
    enabled: false,
    problem: "An ingress rule lets anyone on the internet reach tcp port 80, where traffic is unencrypted. Off by \
              default (public web servers often redirect 80 to 443); enable it in the rules file to require HTTPS only.",
    fix: "Serve HTTPS on 443 (for example behind a load balancer with an ACM certificate) and remove port 80, or \
          keep 80 only on the load balancer for a redirect.",
    cfn_nag: &["W2"],
    checkov: &["CKV_AWS_260"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    sg::world_ingress_on_ports(resource, hits, RuleId::IngressHttpWorld, &[80], false, "HTTP");
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{hits, hits_with};
    use crate::settings::Settings;

    const YAML: &str = "Resources:\n  Web:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: w\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}\n";

    #[test]
    fn off_by_default_and_reported_when_enabled() {
        assert!(hits("ingress-http-world", YAML).is_empty());
        let mut settings = Settings::default();
        settings.apply_rules_file("r.yaml", "rules: {ingress-http-world: {enabled: true}}").expect("valid");
        assert_eq!(
            hits_with(settings, "ingress-http-world", YAML),
            ["7:63 Web HTTP open to the world: security group `Web` allows tcp 80 from 0.0.0.0/0"]
        );
    }
}
