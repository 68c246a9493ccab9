//! `egress-all-world`: all outbound traffic allowed to the whole internet (low risk).

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::EgressAllWorld,
    title: "All egress to the world",
    severity: Severity::Note,
    risk: 1,
    enabled: true,
    problem: "The security group allows all outbound traffic to the internet: an egress rule with all traffic to \
              0.0.0.0/0 or ::/0, or no `SecurityGroupEgress` at all, in which case EC2 adds an allow-all rule to \
              0.0.0.0/0. Unrestricted egress makes data exfiltration and command-and-control traffic easy.",
    fix: "Declare `SecurityGroupEgress` with only the destinations and ports the workload needs (for example tcp 443 \
          to a VPC endpoint prefix list); a rule to 127.0.0.1/32 removes the default allow-all rule.",
    cfn_nag: &["W5", "W40", "F1000"],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::EgressAllWorld) {
        return;
    }
    if resource.ty == "AWS::EC2::SecurityGroup" && resource.prop("SecurityGroupEgress").is_none() {
        hits.push(
            RuleId::EgressAllWorld,
            resource.props().map_or(resource.loc, |p| p.loc),
            format!(
                "security group `{}` declares no SecurityGroupEgress, so EC2 allows all traffic to 0.0.0.0/0",
                resource.id
            ),
        );
    }
    for p in sg::permissions(resource, sg::Direction::Egress) {
        if !p.protocol.is_some_and(sg::Protocol::is_all_traffic) {
            continue;
        }
        for (_, value) in p.world_peers() {
            hits.push(RuleId::EgressAllWorld, value.loc, format!("All egress to the world: {}", p.describe(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn explicit_and_default_egress() {
        let yaml = r#"
Resources:
  Open:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: open
      SecurityGroupEgress:
        - {IpProtocol: -1, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
  Default:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: default
  Narrow:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: narrow
      SecurityGroupEgress: [{IpProtocol: "-1", CidrIp: 127.0.0.1/32}]
  Standalone:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !Ref Narrow, IpProtocol: "-1", CidrIpv6: "::/0"}
"#;
        assert_eq!(
            hits("egress-all-world", yaml),
            [
                "8:36 Open All egress to the world: security group `Open` allows all traffic to 0.0.0.0/0",
                "13:7 Default security group `Default` declares no SecurityGroupEgress, so EC2 allows all traffic to 0.0.0.0/0",
                "21:68 Standalone All egress to the world: security group `Narrow` allows all traffic to ::/0",
            ]
        );
    }
}
