//! `ingress-unapproved-source`: SSH or RDP reachable from a network outside the approved networks.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressUnapprovedSource,
    title: "SSH/RDP from an unapproved network",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "SSH (tcp 22) or RDP (3389) is allowed from a network that is not inside one of the `approvedNetworks` \
              of the rules file. Approval is by subnet containment, not text: with 72.21.196.67/32 approved, \
              72.21.196.0/24 is not. World-wide sources are reported by `ingress-ssh-world` / `ingress-rdp-world`. \
              With no approved networks configured the rule has nothing to check.",
    fix: "Narrow `CidrIp`/`CidrIpv6` to an approved network, use a bastion's security group as the source, or add \
          the network to `approvedNetworks` after review.",
    cfn_nag: &[],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    let approved = &hits.settings.approved_networks;
    if approved.is_empty() || !hits.enabled(RuleId::IngressUnapprovedSource) {
        return;
    }
    let approved = approved.clone();
    for p in sg::permissions(resource, sg::Direction::Ingress) {
        // Protocol -1 (all traffic) opens both.
        let all = p.protocol == Some(sg::Protocol::All);
        let service = match (all || p.opens(22, false) == Some(true), all || p.opens(3389, true) == Some(true)) {
            (true, true) => "SSH and RDP",
            (true, false) => "SSH",
            (false, true) => "RDP",
            (false, false) => continue,
        };
        for peer in &p.peers {
            let sg::Peer::Cidr { net, value } = peer else { continue };
            if net.prefix_len() == 0 || approved.iter().any(|a| a.contains(net)) {
                continue;
            }
            hits.push(
                RuleId::IngressUnapprovedSource,
                value.loc,
                format!("{service} from a network that is not approved: {}", p.describe(value)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{hits, hits_with};
    use crate::settings::Settings;

    const YAML: &str = r#"
Resources:
  Admin:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: admin
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 72.21.196.67/32}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 72.21.196.0/24}
        - {IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 10.1.2.0/24}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIpv6: "2001:db8:1::/48"}
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 8.8.8.8/32}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
        - {IpProtocol: -1, CidrIp: 8.8.8.0/24}
        - {IpProtocol: "-1", CidrIp: 10.9.0.0/16}
"#;

    #[test]
    fn containment_by_subnet_math() {
        let mut settings = Settings::default();
        settings
            .apply_rules_file("r.yaml", "approvedNetworks: [72.21.196.67/32, 10.0.0.0/8, \"2001:db8::/32\"]")
            .expect("valid");
        assert_eq!(
            hits_with(settings, "ingress-unapproved-source", YAML),
            [
                "9:63 Admin SSH from a network that is not approved: security group `Admin` allows tcp 22 from 72.21.196.0/24",
                "14:36 Admin SSH and RDP from a network that is not approved: security group `Admin` allows all traffic from \
                 8.8.8.0/24",
            ]
        );
    }

    #[test]
    fn nothing_to_check_without_approved_networks() {
        assert!(hits("ingress-unapproved-source", YAML).is_empty());
    }
}
