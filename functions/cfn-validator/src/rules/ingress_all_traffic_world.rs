//! `ingress-all-traffic-world`: every protocol and port open to the whole internet.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressAllTrafficWorld,
    title: "All traffic open to the world",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "An ingress rule with `IpProtocol` -1 (or `all`, or a protocol number other than tcp, udp, icmp and \
              icmpv6, which opens every port of that protocol) lets anyone on the internet reach every port.",
    fix: "Replace it with rules for the protocols and ports the service needs, from the networks that need them.",
    cfn_nag: &["W2", "W42"],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::IngressAllTrafficWorld) {
        return;
    }
    for p in sg::permissions(resource, sg::Direction::Ingress) {
        if !p.protocol.is_some_and(sg::Protocol::is_all_traffic) {
            continue;
        }
        for (_, value) in p.world_peers() {
            hits.push(
                RuleId::IngressAllTrafficWorld,
                value.loc,
                format!("All traffic open to the world: {}", p.describe(value)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn minus_one_all_and_other_protocol_numbers() {
        let yaml = r#"
Resources:
  Any:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: any
      SecurityGroupIngress:
        - {IpProtocol: -1, CidrIp: 0.0.0.0/0}
        - {IpProtocol: "-1", FromPort: 0, ToPort: 0, CidrIpv6: "::/0"}
        - {IpProtocol: ALL, CidrIp: 0.0.0.0/0}
        - {IpProtocol: 50, CidrIp: 0.0.0.0/0}
        - {IpProtocol: icmp, FromPort: -1, ToPort: -1, CidrIp: 0.0.0.0/0}
        - {IpProtocol: -1, CidrIp: 10.0.0.0/8}
  Extra:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !Ref Any, IpProtocol: "-1", CidrIp: 0.0.0.0/0}
"#;
        assert_eq!(
            hits("ingress-all-traffic-world", yaml),
            [
                "8:36 Any All traffic open to the world: security group `Any` allows all traffic from 0.0.0.0/0",
                "9:64 Any All traffic open to the world: security group `Any` allows all traffic from ::/0",
                "10:37 Any All traffic open to the world: security group `Any` allows all traffic from 0.0.0.0/0",
                "11:36 Any All traffic open to the world: security group `Any` allows all of IP protocol 50 from 0.0.0.0/0",
                "16:63 Extra All traffic open to the world: security group `Any` allows all traffic from 0.0.0.0/0",
            ]
        );
    }
}
