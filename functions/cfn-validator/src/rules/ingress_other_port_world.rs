//! `ingress-other-port-world`: any other port open to the whole internet (lower risk).

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressOtherPortWorld,
    title: "Port open to the world",
    severity: Severity::Warning,
    risk: 5,
    enabled: true,
    problem: "An ingress rule lets anyone on the internet reach a port that is not SSH, RDP, a database/admin port or \
              one of the `publicPorts` (default 443; port 80 has its own rule), or ICMP. Each world-reachable port \
              is attack surface that should be deliberate.",
    fix: "Restrict the source, or, when the port is meant to be public, add it to `publicPorts` in the rules file or \
          suppress the finding on the resource with a reason.",
    cfn_nag: &["W2"],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    if !hits.enabled(RuleId::IngressOtherPortWorld) {
        return;
    }
    // The ports covered elsewhere; a range has another port iff it is longer than the covered ports in it.
    let settings = hits.settings;
    let mut covered: Vec<u16> = [22, 3389, 80].into_iter().chain(settings.admin_ports.iter().copied()).collect();
    covered.extend(settings.public_ports.iter().copied());
    covered.sort_unstable();
    covered.dedup();
    for p in sg::permissions(resource, sg::Direction::Ingress) {
        let other = match (p.protocol, p.ports) {
            (Some(sg::Protocol::Icmp | sg::Protocol::Icmpv6), _) => true,
            (Some(sg::Protocol::Tcp | sg::Protocol::Udp), Some(ports)) => {
                let in_range = covered.iter().filter(|&&port| ports.contains(port)).count();
                usize::from(ports.to - ports.from) + 1 > in_range
            }
            _ => false,
        };
        if !other {
            continue;
        }
        for (_, value) in p.world_peers() {
            hits.push(RuleId::IngressOtherPortWorld, value.loc, format!("Open to the world: {}", p.describe(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    #[test]
    fn other_ports_but_not_public_or_otherwise_covered_ones() {
        let yaml = r#"
Resources:
  App:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: app
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 8080, ToPort: 8080, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
        - {IpProtocol: icmp, FromPort: 8, ToPort: -1, CidrIp: 0.0.0.0/0}
        - {IpProtocol: udp, FromPort: 0, ToPort: 65535, CidrIpv6: ::/0}
        - {IpProtocol: tcp, FromPort: 8080, ToPort: 8080, CidrIp: 172.16.0.0/12}
"#;
        assert_eq!(
            hits("ingress-other-port-world", yaml),
            [
                "8:67 App Open to the world: security group `App` allows tcp 8080 from 0.0.0.0/0",
                "11:63 App Open to the world: security group `App` allows icmp from 0.0.0.0/0",
                "12:67 App Open to the world: security group `App` allows udp 0-65535 from ::/0",
            ]
        );
    }
}
