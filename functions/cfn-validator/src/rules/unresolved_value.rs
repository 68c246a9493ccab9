//! `unresolved-value`: a security-relevant value that is not known before deployment.
//!
//! The other rules push this rule's hits for the properties they need (`PubliclyAccessible`, `ImageId`,
//! ...); this module covers security group rules, where whether an unknown value matters depends on the
//! rest of the rule.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::UnresolvedValue,
    title: "Security-relevant value not known before deployment",
    severity: Severity::Warning,
    risk: 2,
    enabled: true,
    problem: "A value a rule needs (a CIDR, a port, a protocol, PubliclyAccessible, an AMI, ...) comes from a \
              parameter that can be overridden with any value, Fn::ImportValue, Fn::GetAtt, an SSM parameter or \
              another deploy-time source, so it cannot be checked here. It is reported instead of being passed.",
    fix: "Give the parameter `AllowedValues` (each is then checked), evaluate under the pipeline's template \
          configuration file (`configurations`), use a literal, or suppress the finding with a reason.",
    cfn_nag: &[],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    let approved = hits.settings.approved_networks.clone();
    for direction in [sg::Direction::Ingress, sg::Direction::Egress] {
        for p in sg::permissions(resource, direction) {
            let world = p.world_peers().next().is_some();
            let unapproved = !approved.is_empty()
                && p.peers.iter().any(
                    |peer| matches!(peer, sg::Peer::Cidr { net, .. } if !approved.iter().any(|a| a.contains(net))),
                );
            let peer_unknown =
                p.issues.iter().any(|i| matches!(i, sg::Issue::Unknown { what, .. } if what.starts_with("`Cidr")));
            for issue in &p.issues {
                let sg::Issue::Unknown { what, value, unknown } = issue else { continue };
                let is_peer = what.starts_with("`Cidr");
                let is_protocol = what == "`IpProtocol`";
                let relevant = match direction {
                    // An unknown source, a whole unknown rule or list always matters for ingress; an unknown
                    // protocol or port matters when the source is (or may be) open or unapproved.
                    sg::Direction::Ingress => {
                        !(is_protocol || what.ends_with("Port`")) || world || unapproved || peer_unknown
                    }
                    // Egress only matters for all traffic to the world.
                    sg::Direction::Egress => {
                        let all = p.protocol.is_none_or(sg::Protocol::is_all_traffic);
                        (is_peer && all)
                            || (is_protocol && (world || peer_unknown))
                            || !(is_peer || is_protocol || what.ends_with("Port`"))
                    }
                };
                if relevant {
                    hits.unresolved_because(value.loc, &format!("{} {direction} {what}", p.group), unknown);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn unknown_sources_protocols_and_lists() {
        let yaml = r#"
Parameters:
  Cidr: {Type: String, Default: 10.0.0.0/8}
  Port: {Type: Number}
  Rules: {Type: String}
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: sg
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Cidr}
        - {IpProtocol: tcp, FromPort: !Ref Port, ToPort: !Ref Port, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: !Ref Port, ToPort: !Ref Port, CidrIp: 10.0.0.0/8}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !ImportValue office-cidr}
      SecurityGroupEgress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: !GetAtt Sg.VpcId}
"#;
        assert_eq!(
            hits("unresolved-value", yaml),
            [
                "12:68 Sg security group `Sg` ingress `CidrIp` is not known before deployment (parameter `Cidr` has no \
                 AllowedValues, so its Default can be overridden with any value); it cannot be checked [when Cidr=<any value>]",
                "13:44 Sg security group `Sg` ingress `FromPort` is not known before deployment (parameter `Port` has \
                 no Default and no AllowedValues, so it can be any value); it cannot be checked",
                "15:76 Sg security group `Sg` ingress `CidrIp` is not known before deployment (`Fn::ImportValue` is \
                 only known at deployment); it cannot be checked",
            ]
        );
    }
}
