//! The verdict on one security group's ingress permissions: a pure function, tested without AWS.
//!
//! - Protocol `-1` (or `all`) opens every port; `tcp`/`6` and every configured protocol are checked by
//!   FromPort..ToPort containment (absent or -1 = every port).
//! - Every IPv4 and IPv6 range is judged on its own: approved iff contained in an approved network (subnet
//!   math). `0.0.0.0/0` and `::/0` are only approved when a /0 network is configured literally.
//! - Referenced security groups pass. Managed prefix lists are judged by their entries when they could be
//!   read; otherwise by the configured verdict, and labelled "unverified".

use ipnet::IpNet;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// An ingress permission as EC2 describes it (the fields this check needs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permission {
    /// `tcp`, `udp`, `icmp`, `-1`, or a protocol number, as EC2 returns it.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub ipv4_ranges: Vec<String>,
    pub ipv6_ranges: Vec<String>,
    pub prefix_lists: Vec<String>,
    pub groups: Vec<String>,
}

/// A security group and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub region: String,
    pub group_id: String,
    pub ingress: Vec<Permission>,
}

/// A protocol the check considers: by name or number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    pub const TCP: Protocol = Protocol(6);
    pub const UDP: Protocol = Protocol(17);

    /// `tcp`, `udp`, `icmp`, `icmpv6` in any case, or a number 0-255.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim().to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::TCP),
            "udp" => Some(Protocol::UDP),
            "icmp" => Some(Protocol(1)),
            "icmpv6" => Some(Protocol(58)),
            other => other.parse::<u8>().ok().map(Protocol),
        }
    }

    fn name(self) -> String {
        match self.0 {
            6 => "tcp".into(),
            17 => "udp".into(),
            1 => "icmp".into(),
            58 => "icmpv6".into(),
            n => format!("protocol {n}"),
        }
    }
}

/// What to do with a prefix list whose entries cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefixListVerdict {
    /// Count it as a violation (labelled unverified).
    Fail,
    /// Let it pass (still labelled unverified in the report).
    Pass,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub approved: Vec<IpNet>,
    pub ports: Vec<u16>,
    pub protocols: Vec<Protocol>,
    pub prefix_lists: PrefixListVerdict,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            approved: Vec::new(),
            ports: vec![22],
            protocols: vec![Protocol::TCP],
            prefix_lists: PrefixListVerdict::Fail,
        }
    }
}

/// One offending permission source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub region: String,
    pub group_id: String,
    /// `tcp`, `udp`, `all`, ...
    pub protocol: String,
    /// `22`, `0-65535`, `all`.
    pub ports: String,
    /// The CIDR, or `pl-...` for a prefix list.
    pub source: String,
    /// True when the source is a prefix list whose entries could not be read.
    pub unverified: bool,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let traffic = if self.protocol == "all" {
            "all traffic".to_string()
        } else {
            format!("{} {}", self.protocol, self.ports)
        };
        write!(f, "{} : {} : {traffic} from {}", self.region, self.group_id, self.source)?;
        if self.unverified {
            f.write_str(" (unverified: prefix list entries could not be read)")?;
        }
        Ok(())
    }
}

/// A prefix list's entries, or None when they could not be read.
pub type PrefixLists = HashMap<String, Option<Vec<String>>>;

/// The verdict on one group: its violations, and the exposures through unreadable prefix lists that the
/// `pass` verdict let through (still shown, labelled unverified).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub violations: Vec<Violation>,
    pub unverified_passed: Vec<Violation>,
}

/// The violations of one group under `policy`.
pub fn evaluate(group: &Group, policy: &Policy, prefix_lists: &PrefixLists) -> Vec<Violation> {
    judge(group, policy, prefix_lists).violations
}

/// The violations of one group under `policy`, and what passed unverified.
pub fn judge(group: &Group, policy: &Policy, prefix_lists: &PrefixLists) -> Evaluation {
    let mut out = Evaluation::default();
    for permission in &group.ingress {
        let Some((protocol, ports)) = exposure(permission, policy) else { continue };
        let mut push = |source: &str, unverified: bool, passed: bool| {
            let violation = Violation {
                region: group.region.clone(),
                group_id: group.group_id.clone(),
                protocol: protocol.clone(),
                ports: ports.clone(),
                source: source.to_string(),
                unverified,
            };
            let list = if passed { &mut out.unverified_passed } else { &mut out.violations };
            if !list.contains(&violation) {
                list.push(violation);
            }
        };
        for cidr in permission.ipv4_ranges.iter().chain(&permission.ipv6_ranges) {
            if !approved(cidr, &policy.approved) {
                push(cidr, false, false);
            }
        }
        for list in &permission.prefix_lists {
            match prefix_lists.get(list) {
                Some(Some(entries)) => {
                    for cidr in entries {
                        if !approved(cidr, &policy.approved) {
                            push(&format!("{cidr} (in {list})"), false, false);
                        }
                    }
                }
                _ => push(list, true, policy.prefix_lists == PrefixListVerdict::Pass),
            }
        }
    }
    out
}

/// The protocol and ports a permission opens, as shown in a violation, if it touches a checked port.
fn exposure(permission: &Permission, policy: &Policy) -> Option<(String, String)> {
    let protocol = permission.protocol.trim().to_ascii_lowercase();
    if protocol == "-1" || protocol == "all" {
        return Some(("all".into(), "all".into()));
    }
    let protocol = Protocol::parse(&protocol)?;
    if protocol != Protocol::TCP && !policy.protocols.contains(&protocol) {
        return None;
    }
    let all = |p: Option<i32>| p.is_none_or(|p| p == -1);
    let (from, to) = if all(permission.from_port) || all(permission.to_port) {
        (0, 65535)
    } else {
        (permission.from_port.unwrap_or(0), permission.to_port.unwrap_or(65535))
    };
    if !policy.ports.iter().any(|&port| from <= i32::from(port) && i32::from(port) <= to) {
        return None;
    }
    let ports = if from == to { from.to_string() } else { format!("{from}-{to}") };
    Some((protocol.name(), ports))
}

/// Whether `cidr` lies inside one of the approved networks. An unparsable CIDR is never approved.
fn approved(cidr: &str, approved: &[IpNet]) -> bool {
    match cidr.trim().parse::<IpNet>() {
        Ok(net) => approved.iter().any(|a| a.contains(&net)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(ingress: Vec<Permission>) -> Group {
        Group { region: "eu-west-1".into(), group_id: "sg-1".into(), ingress }
    }

    fn tcp(from: i32, to: i32, cidrs: &[&str]) -> Permission {
        Permission {
            protocol: "tcp".into(),
            from_port: Some(from),
            to_port: Some(to),
            ipv4_ranges: cidrs.iter().filter(|c| !c.contains(':')).map(|c| c.to_string()).collect(),
            ipv6_ranges: cidrs.iter().filter(|c| c.contains(':')).map(|c| c.to_string()).collect(),
            ..Permission::default()
        }
    }

    fn policy(approved: &[&str]) -> Policy {
        Policy { approved: approved.iter().map(|a| a.parse().expect("cidr")).collect(), ..Policy::default() }
    }

    fn shown(group: &Group, policy: &Policy) -> Vec<String> {
        evaluate(group, policy, &PrefixLists::new()).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_reference_blind_spots() {
        let approved = policy(&["72.21.196.67/32"]);
        // The approved network beside 0.0.0.0/0: the reference passes it because the text appears.
        let g = group(vec![tcp(22, 22, &["72.21.196.67/32", "0.0.0.0/0"])]);
        assert_eq!(shown(&g, &approved), ["eu-west-1 : sg-1 : tcp 22 from 0.0.0.0/0"]);
        // ::/0 and an approved-looking supernet.
        let g = group(vec![tcp(22, 22, &["::/0"]), tcp(20, 30, &["72.21.196.0/24"])]);
        assert_eq!(
            shown(&g, &approved),
            ["eu-west-1 : sg-1 : tcp 22 from ::/0", "eu-west-1 : sg-1 : tcp 20-30 from 72.21.196.0/24"]
        );
        // Protocol -1 without ports, and 0-65535.
        let all = Permission { protocol: "-1".into(), ipv4_ranges: vec!["10.0.0.0/8".into()], ..Permission::default() };
        let g = group(vec![all, tcp(0, 65535, &["192.168.0.0/16"])]);
        assert_eq!(
            shown(&g, &approved),
            ["eu-west-1 : sg-1 : all traffic from 10.0.0.0/8", "eu-west-1 : sg-1 : tcp 0-65535 from 192.168.0.0/16"]
        );
    }

    #[test]
    fn approved_sources_other_ports_and_referenced_groups_pass() {
        let approved = policy(&["72.21.196.67/32", "10.0.0.0/8", "2001:db8::/32"]);
        let referenced = Permission {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            groups: vec!["sg-bastion".into()],
            ..Permission::default()
        };
        let g = group(vec![
            tcp(22, 22, &["72.21.196.67/32", "10.1.2.0/24", "2001:db8:1::/48"]),
            tcp(443, 443, &["0.0.0.0/0"]),
            referenced,
        ]);
        assert!(shown(&g, &approved).is_empty());
    }

    #[test]
    fn the_world_is_approved_only_when_configured_literally() {
        let g = group(vec![tcp(22, 22, &["0.0.0.0/0", "::/0"])]);
        assert_eq!(shown(&g, &policy(&["0.0.0.0/0"])), ["eu-west-1 : sg-1 : tcp 22 from ::/0"]);
        assert_eq!(shown(&g, &policy(&["0.0.0.0/1", "128.0.0.0/1"])).len(), 2);
    }

    #[test]
    fn configured_ports_and_protocols() {
        let udp = Permission {
            protocol: "17".into(),
            from_port: Some(3389),
            to_port: Some(3389),
            ipv4_ranges: vec!["0.0.0.0/0".into()],
            ..Permission::default()
        };
        let g = group(vec![tcp(3389, 3389, &["0.0.0.0/0"]), udp]);
        assert!(shown(&g, &policy(&[])).is_empty(), "port 22 only by default");
        let rdp = Policy { ports: vec![22, 3389], protocols: vec![Protocol::TCP, Protocol::UDP], ..policy(&[]) };
        assert_eq!(
            shown(&g, &rdp),
            ["eu-west-1 : sg-1 : tcp 3389 from 0.0.0.0/0", "eu-west-1 : sg-1 : udp 3389 from 0.0.0.0/0"]
        );
    }

    #[test]
    fn prefix_lists_by_entries_or_by_verdict() {
        let with_list = |list: &str| Permission {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            prefix_lists: vec![list.into()],
            ..Permission::default()
        };
        let g = group(vec![with_list("pl-read"), with_list("pl-secret")]);
        let lists: PrefixLists = [
            ("pl-read".to_string(), Some(vec!["10.0.0.0/8".to_string(), "0.0.0.0/0".to_string()])),
            ("pl-secret".to_string(), None),
        ]
        .into();
        let failing = policy(&["10.0.0.0/8"]);
        let shown: Vec<String> = evaluate(&g, &failing, &lists).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "eu-west-1 : sg-1 : tcp 22 from 0.0.0.0/0 (in pl-read)",
                "eu-west-1 : sg-1 : tcp 22 from pl-secret (unverified: prefix list entries could not be read)",
            ]
        );
        let passing = Policy { prefix_lists: PrefixListVerdict::Pass, ..failing };
        let evaluation = judge(&g, &passing, &lists);
        assert_eq!(evaluation.violations.len(), 1);
        assert_eq!(evaluation.unverified_passed.len(), 1);
        assert_eq!(evaluation.unverified_passed[0].source, "pl-secret");
    }
}
