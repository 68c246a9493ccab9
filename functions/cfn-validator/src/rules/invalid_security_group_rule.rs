//! `invalid-security-group-rule`: a security group rule EC2 would reject or that cannot mean anything.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::InvalidSecurityGroupRule,
    title: "Invalid security group rule",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "A security group rule is malformed: an inverted port range (FromPort above ToPort), a port outside \
              0-65535, an unknown protocol, a CIDR that is not a network (or an IPv6 network in `CidrIp`), or no \
              source or destination. The deployment fails, and until it is fixed the rule's real exposure is unknown.",
    fix: "Correct the value at the given position; ports are 0-65535 (or -1 for all), protocols tcp, udp, icmp, \
          icmpv6, -1 or a number, and CIDRs like 10.0.0.0/8 or 2001:db8::/32.",
    cfn_nag: &[],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    for direction in [sg::Direction::Ingress, sg::Direction::Egress] {
        for p in sg::permissions(resource, direction) {
            for issue in &p.issues {
                if let sg::Issue::Invalid { loc, message } = issue {
                    hits.push(
                        RuleId::InvalidSecurityGroupRule,
                        *loc,
                        format!("{} {direction} rule: {message}", p.group),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn inverted_ranges_bad_ports_protocols_and_cidrs() {
        let yaml = r#"
Resources:
  Bad:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: bad
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 30, ToPort: 20, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 70000, ToPort: 70000, CidrIp: 0.0.0.0/0}
        - {IpProtocol: sctp, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: "::/0"}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 1.2.3.4}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22}
      SecurityGroupEgress:
        - {FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
"#;
        assert_eq!(
            hits("invalid-security-group-rule", yaml),
            [
                "8:39 Bad security group `Bad` ingress rule: the port range is inverted: FromPort 30 is above ToPort 20 (EC2 rejects it)",
                "9:39 Bad security group `Bad` ingress rule: `FromPort` must be a port number from 0 to 65535, or -1 for all ports",
                "10:24 Bad security group `Bad` ingress rule: `IpProtocol` `sctp` is not a protocol (tcp, udp, icmp, icmpv6, -1 or a number 0-255)",
                "11:63 Bad security group `Bad` ingress rule: `CidrIp` `::/0` is not an IPv4 network in CIDR notation",
                "12:63 Bad security group `Bad` ingress rule: `CidrIp` `1.2.3.4` is not an IPv4 network in CIDR notation",
                "13:11 Bad security group `Bad` ingress rule: the ingress rule has no source (`CidrIp`, `CidrIpv6` or a security group or prefix list)",
                "15:11 Bad security group `Bad` egress rule: `IpProtocol` is missing",
            ]
        );
    }
}
