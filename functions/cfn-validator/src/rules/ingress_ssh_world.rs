//! `ingress-ssh-world`: SSH (tcp 22) open to the whole internet.

use super::{Hits, Resource, RuleId, RuleMeta, Severity, sg};

pub const META: RuleMeta = RuleMeta {
    id: RuleId::IngressSshWorld,
    title: "SSH open to the world",
    severity: Severity::Error,
    risk: 50,
    enabled: true,
    problem: "An ingress rule lets anyone on the internet (0.0.0.0/0, ::/0 or any /0 prefix) reach tcp port 22, \
              directly or inside a port range. SSH endpoints open to the world are scanned and brute-forced within \
              minutes.",
    fix: "Restrict `CidrIp`/`CidrIpv6` to your approved networks, reference a bastion's security group with \
          `SourceSecurityGroupId`, or use SSM Session Manager and drop the rule.",
    cfn_nag: &["W2"],
    checkov: &["CKV_AWS_24"],
};

pub fn check(resource: &Resource<'_>, hits: &mut Hits<'_>) {
    sg::world_ingress_on_ports(resource, hits, RuleId::IngressSshWorld, &[22], false, "SSH");
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::hits;

    const RULE: &str = "ingress-ssh-world";

    #[test]
    fn inline_rules_ranges_protocols_and_ipv6_spellings() {
        let yaml = r#"
Resources:
  Web:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
        - {IpProtocol: TCP, FromPort: "20", ToPort: "30", CidrIpv6: "::/0"}
        - {IpProtocol: "6", FromPort: 0, ToPort: 65535, CidrIpv6: "0:0:0:0:0:0:0:0/0"}
        - {IpProtocol: tcp, FromPort: -1, ToPort: -1, CidrIp: 10.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 23, ToPort: 25, CidrIp: 0.0.0.0/0}
        - {IpProtocol: udp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/8}
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, SourceSecurityGroupId: sg-123}
"#;
        assert_eq!(
            hits(RULE, yaml),
            [
                "8:63 Web SSH open to the world: security group `Web` allows tcp 22 from 0.0.0.0/0",
                "9:69 Web SSH open to the world: security group `Web` allows tcp 20-30 from ::/0",
                "10:67 Web SSH open to the world: security group `Web` allows tcp 0-65535 from 0:0:0:0:0:0:0:0/0",
                "11:63 Web SSH open to the world: security group `Web` allows tcp 0-65535 from 10.0.0.0/0",
            ]
        );
    }

    #[test]
    fn standalone_ingress_in_json_names_its_target_group() {
        let json = r#"{
  "Resources": {
    "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "x"}},
    "Ssh": {
      "Type": "AWS::EC2::SecurityGroupIngress",
      "Properties": {"GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]}, "IpProtocol": "tcp", "FromPort": "22",
                     "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    },
    "Other": {
      "Type": "AWS::EC2::SecurityGroupIngress",
      "Properties": {"GroupId": "sg-0abc", "IpProtocol": "tcp", "CidrIpv6": "::0/0"}
    }
  }
}"#;
        assert_eq!(
            hits(RULE, json),
            [
                "7:46 Ssh SSH open to the world: security group `Sg` allows tcp 22 from 0.0.0.0/0",
                "11:77 Other SSH open to the world: security group sg-0abc allows tcp 0-65535 from ::0/0",
            ]
        );
    }

    #[test]
    fn parameters_default_allowed_values_and_conditions() {
        let yaml = r#"
Parameters:
  Open: {Type: String, AllowedValues: ["10.0.0.0/8", "0.0.0.0/0"], Default: "10.0.0.0/8"}
  Env: {Type: String, AllowedValues: [dev, prod]}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 22
          ToPort: 22
          CidrIp: !Ref Open
        - !If [IsDev, {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}, !Ref AWS::NoValue]
"#;
        assert_eq!(
            hits(RULE, yaml),
            [
                "16:24 Sg SSH open to the world: security group `Sg` allows tcp 22 from 0.0.0.0/0 [when Open=0.0.0.0/0]",
                "17:75 Sg SSH open to the world: security group `Sg` allows tcp 22 from 0.0.0.0/0 [when Env=dev]",
            ]
        );
    }
}
