//! `ingress-admin-port-world`: a database or administration port open to the whole internet.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressAdminPortWorld,
    title: "Database or admin port open to the world",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "An ingress rule lets anyone on the internet reach a database or administration port (MySQL 3306, \
              PostgreSQL 5432, MSSQL 1433, Redis 6379, MongoDB 27017, Elasticsearch 9200, SMB 445, Telnet 23, ...; \
              the list is `adminPorts` in the rules file), directly or inside a port range.",
    fix: "Allow the port only from the application's security group (`SourceSecurityGroupId`) or private networks; \
          keep databases in private subnets.",
    cfn_nag: &["W2"],
    checkov: &[],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    let ports = &hits.settings.admin_ports.clone();
    sg::world_ingress_on_ports(resource, hits, RuleId::IngressAdminPortWorld, ports, true, "Database/admin port");
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{hits, hits_with};
    use crate::settings::Settings;

    const YAML: &str = r#"
Resources:
  Db:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: db
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 5432, ToPort: 5432, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 3300, ToPort: 3310, CidrIpv6: ::/0}
        - {IpProtocol: tcp, FromPort: 8080, ToPort: 8080, CidrIp: 0.0.0.0/0}
"#;

    #[test]
    fn default_admin_ports() {
        assert_eq!(
            hits("ingress-admin-port-world", YAML),
            [
                "8:67 Db Database/admin port (port 5432) open to the world: security group `Db` allows tcp 5432 from 0.0.0.0/0",
                "9:69 Db Database/admin port (port 3306) open to the world: security group `Db` allows tcp 3300-3310 from ::/0",
            ]
        );
    }

    #[test]
    fn configured_admin_ports() {
        let mut settings = Settings::default();
        settings.apply_rules_file("r.yaml", "adminPorts: [8080, 9000]").expect("valid");
        assert_eq!(
            hits_with(settings, "ingress-admin-port-world", YAML),
            [
                "10:67 Db Database/admin port (port 8080) open to the world: security group `Db` allows tcp 8080 from 0.0.0.0/0"
            ]
        );
    }
}
