//! `ingress-rdp-world`: RDP (tcp or udp 3389) open to the whole internet.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressRdpWorld,
    title: "RDP open to the world",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "An ingress rule lets anyone on the internet reach port 3389 (Remote Desktop, tcp or udp), directly or \
              inside a port range. Exposed RDP is one of the most common ways into Windows hosts.",
    fix: "Restrict the source to approved networks or a bastion's security group, or use SSM Fleet Manager / a VPN \
          and drop the rule.",
    cfn_nag: &["W2"],
    checkov: &["CKV_AWS_25"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    sg::world_ingress_on_ports(resource, hits, RuleId::IngressRdpWorld, &[3389], true, "RDP");
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn tcp_and_udp_3389_from_the_world() {
        let yaml = r#"
Resources:
  Win:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: win
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 0.0.0.0/0}
        - {IpProtocol: udp, FromPort: 3000, ToPort: 4000, CidrIpv6: "::/0"}
        - {IpProtocol: tcp, FromPort: 3390, ToPort: 4000, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 192.168.0.0/16}
"#;
        assert_eq!(
            hits("ingress-rdp-world", yaml),
            [
                "8:67 Win RDP open to the world: security group `Win` allows tcp 3389 from 0.0.0.0/0",
                "9:69 Win RDP open to the world: security group `Win` allows udp 3000-4000 from ::/0",
            ]
        );
    }
}
