//! Security group permissions as the ingress and egress rules see them, from inline
//! `SecurityGroupIngress`/`SecurityGroupEgress` lists of `AWS::EC2::SecurityGroup` and from standalone
//! `AWS::EC2::SecurityGroupIngress`/`AWS::EC2::SecurityGroupEgress` resources.
//!
//! Protocols: names in any case or numbers (`tcp`/`6`, `udp`/`17`, `icmp`/`1`, `icmpv6`/`58`), `-1` or
//! `all` for all traffic; any other protocol number opens every port of that protocol. Ports: numbers or
//! strings; absent or -1 means every port; an inverted or out-of-range port is invalid. A value that is
//! not known before deployment or is invalid is kept as an [`Issue`] for `unresolved-value` and
//! `invalid-security-group-rule` to report.

use super::Resource;
use crate::eval::{Ev, Unknown, Val};
use crate::template::Loc;
use ipnet::IpNet;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// `-1` / `all`: every protocol and port.
    All,
    /// Another IP protocol number: every "port" of it.
    Other(u8),
}

impl Protocol {
    fn parse(text: &str) -> Option<Protocol> {
        let lower = text.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            "-1" | "all" => Protocol::All,
            other => Protocol::Other(other.parse::<u8>().ok()?),
        })
    }

    /// Whether every port of this protocol is open (ports do not apply).
    pub fn is_all_traffic(self) -> bool {
        matches!(self, Protocol::All | Protocol::Other(_))
    }
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub from: u16,
    pub to: u16,
}

impl Ports {
    pub const ALL: Ports = Ports { from: 0, to: 65535 };

    pub fn contains(self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }
}

/// Where traffic comes from (ingress) or goes to (egress).
#[derive(Clone, Debug)]
pub enum Peer<'a> {
    Cidr {
        net: IpNet,
        value: &'a Ev,
    },
    /// A source security group or prefix list: not an address range of its own.
    Reference {
        what: &'static str,
    },
}

#[derive(Clone, Debug)]
pub enum Issue<'a> {
    Unknown { what: String, value: &'a Ev, unknown: &'a Unknown },
    Invalid { loc: Loc, message: String },
}

#[derive(Clone, Debug)]
pub struct Permission<'a> {
    pub direction: Direction,
    /// Where the permission is written (the rule's map, or the standalone resource's properties).
    pub loc: Loc,
    /// "security group `Web`", "security group sg-0123", ...
    pub group: String,
    /// None when not known or invalid (see `issues`).
    pub protocol: Option<Protocol>,
    /// None when not known or invalid; every port for protocols without ports.
    pub ports: Option<Ports>,
    pub peers: Vec<Peer<'a>>,
    pub issues: Vec<Issue<'a>>,
}

impl Permission<'_> {
    /// Whether this permission opens `port` for tcp (or udp too, when `udp` is set). None when unknown.
    pub fn opens(&self, port: u16, udp: bool) -> Option<bool> {
        let protocol = self.protocol?;
        Some(match protocol {
            Protocol::Tcp => self.ports?.contains(port),
            Protocol::Udp => udp && self.ports?.contains(port),
            _ => false,
        })
    }

    /// The world-wide peers (`0.0.0.0/0`, `::/0` in any spelling, any /0 prefix).
    pub fn world_peers(&self) -> impl Iterator<Item = (&IpNet, &Ev)> {
        self.peers.iter().filter_map(|p| match p {
            Peer::Cidr { net, value } if net.prefix_len() == 0 => Some((net, *value)),
            _ => None,
        })
    }

    /// `tcp 22`, `tcp 0-65535`, `all traffic`, `protocol 50`, `icmp`.
    pub fn traffic(&self) -> String {
        let ports = |name: &str| match self.ports {
            Some(Ports { from, to }) if from == to => format!("{name} {from}"),
            Some(Ports { from, to }) => format!("{name} {from}-{to}"),
            None => name.to_string(),
        };
        match self.protocol {
            Some(Protocol::Tcp) => ports("tcp"),
            Some(Protocol::Udp) => ports("udp"),
            Some(Protocol::Icmp) => "icmp".into(),
            Some(Protocol::Icmpv6) => "icmpv6".into(),
            Some(Protocol::All) => "all traffic".into(),
            Some(Protocol::Other(n)) => format!("all of IP protocol {n}"),
            None => "traffic".into(),
        }
    }

    /// "security group `Web` allows tcp 22 from 0.0.0.0/0"
    pub fn describe(&self, peer: &Ev) -> String {
        let text = peer.text().unwrap_or_default();
        match self.direction {
            Direction::Ingress => format!("{} allows {} from {text}", self.group, self.traffic()),
            Direction::Egress => format!("{} allows {} to {text}", self.group, self.traffic()),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        })
    }
}

/// The permissions of `direction` a resource declares (read once per resource and scenario, shared by
/// every rule), with whole-list problems as permissions without peers that carry the issue.
pub fn permissions<'r, 'a>(resource: &'r Resource<'a>, direction: Direction) -> &'r [Permission<'a>] {
    let cell = match direction {
        Direction::Ingress => &resource.ingress,
        Direction::Egress => &resource.egress,
    };
    cell.get_or_init(|| read_permissions(resource, direction))
}

fn read_permissions<'a>(resource: &Resource<'a>, direction: Direction) -> Vec<Permission<'a>> {
    let (list_key, standalone) = match direction {
        Direction::Ingress => ("SecurityGroupIngress", "AWS::EC2::SecurityGroupIngress"),
        Direction::Egress => ("SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress"),
    };
    let mut out = Vec::new();
    if resource.ty == "AWS::EC2::SecurityGroup" {
        let group = format!("security group `{}`", resource.id);
        let Some(list) = resource.prop(list_key) else {
            return out;
        };
        match &list.val {
            Val::List(items) => {
                for item in items {
                    out.push(permission(item, direction, group.clone()));
                }
            }
            Val::Unknown(unknown) => out.push(issue_only(
                direction,
                group,
                Issue::Unknown { what: format!("`{list_key}`"), value: list, unknown },
            )),
            _ => out.push(issue_only(
                direction,
                group,
                Issue::Invalid { loc: list.loc, message: format!("`{list_key}` must be a list of rules") },
            )),
        }
    } else if resource.ty == standalone
        && let Some(props) = resource.props()
    {
        out.push(permission(props, direction, target_group(resource, props)));
    }
    out
}

fn issue_only<'a>(direction: Direction, group: String, issue: Issue<'a>) -> Permission<'a> {
    let loc = match &issue {
        Issue::Unknown { value, .. } => value.loc,
        Issue::Invalid { loc, .. } => *loc,
    };
    Permission { direction, loc, group, protocol: None, ports: None, peers: Vec::new(), issues: vec![issue] }
}

/// The group a standalone ingress/egress resource changes, as the message should name it.
fn target_group(resource: &Resource<'_>, props: &Ev) -> String {
    let name = |ev: &Ev| match &ev.val {
        Val::Unknown(Unknown::Resource { id, .. }) => Some(format!("security group `{id}`")),
        Val::String(s) => Some(format!("security group {s}")),
        Val::Unknown(other) => Some(format!("a security group not known before deployment ({other})")),
        _ => None,
    };
    props
        .get("GroupId")
        .and_then(name)
        .or_else(|| props.get("GroupName").and_then(|g| g.text()).map(|n| format!("security group named `{n}`")))
        .unwrap_or_else(|| format!("the security group of `{}`", resource.id))
}

fn permission<'a>(rule: &'a Ev, direction: Direction, group: String) -> Permission<'a> {
    let mut p = Permission {
        direction,
        loc: rule.loc,
        group,
        protocol: None,
        ports: None,
        peers: Vec::new(),
        issues: Vec::new(),
    };
    if let Val::Unknown(unknown) = &rule.val {
        p.issues.push(Issue::Unknown { what: format!("a {direction} rule"), value: rule, unknown });
        return p;
    }
    if !matches!(rule.val, Val::Map(_)) {
        p.issues.push(Issue::Invalid { loc: rule.loc, message: format!("a {direction} rule must be a map") });
        return p;
    }
    p.protocol = match rule.get("IpProtocol") {
        None => {
            p.issues.push(Issue::Invalid { loc: rule.loc, message: "`IpProtocol` is missing".into() });
            None
        }
        Some(value) => match (&value.val, value.text()) {
            (Val::Unknown(unknown), _) => {
                p.issues.push(Issue::Unknown { what: "`IpProtocol`".into(), value, unknown });
                None
            }
            (_, Some(text)) => match Protocol::parse(&text) {
                Some(protocol) => Some(protocol),
                None => {
                    p.issues.push(Issue::Invalid {
                        loc: value.loc,
                        message: format!(
                            "`IpProtocol` `{text}` is not a protocol (tcp, udp, icmp, icmpv6, -1 or a number 0-255)"
                        ),
                    });
                    None
                }
            },
            _ => {
                p.issues
                    .push(Issue::Invalid { loc: value.loc, message: "`IpProtocol` must be a string or number".into() });
                None
            }
        },
    };
    p.ports = match p.protocol {
        Some(Protocol::Tcp | Protocol::Udp) => ports(rule, &mut p.issues),
        Some(_) => Some(Ports::ALL),
        None => None,
    };
    let (v4, v6, references): (&str, &str, &[(&str, &'static str)]) = match direction {
        Direction::Ingress => (
            "CidrIp",
            "CidrIpv6",
            &[
                ("SourceSecurityGroupId", "a security group"),
                ("SourceSecurityGroupName", "a security group"),
                ("SourcePrefixListId", "a prefix list"),
            ],
        ),
        Direction::Egress => (
            "CidrIp",
            "CidrIpv6",
            &[("DestinationSecurityGroupId", "a security group"), ("DestinationPrefixListId", "a prefix list")],
        ),
    };
    for (key, v6_only) in [(v4, false), (v6, true)] {
        let Some(value) = rule.get(key) else { continue };
        match (&value.val, value.text()) {
            (Val::Unknown(unknown), _) => p.issues.push(Issue::Unknown { what: format!("`{key}`"), value, unknown }),
            (_, Some(text)) => match text.trim().parse::<IpNet>() {
                Ok(net) if matches!(net, IpNet::V6(_)) == v6_only => p.peers.push(Peer::Cidr { net, value }),
                _ => p.issues.push(Issue::Invalid {
                    loc: value.loc,
                    message: format!(
                        "`{key}` `{text}` is not an {} network in CIDR notation",
                        if v6_only { "IPv6" } else { "IPv4" }
                    ),
                }),
            },
            _ => p.issues.push(Issue::Invalid { loc: value.loc, message: format!("`{key}` must be a string") }),
        }
    }
    for (key, what) in references {
        if rule.get(key).is_some() {
            p.peers.push(Peer::Reference { what });
        }
    }
    let has_peer_field =
        rule.get(v4).is_some() || rule.get(v6).is_some() || references.iter().any(|(k, _)| rule.get(k).is_some());
    if !has_peer_field {
        p.issues.push(Issue::Invalid {
            loc: rule.loc,
            message: format!(
                "the {direction} rule has no {} (`{v4}`, `{v6}` or a security group or prefix list)",
                if direction == Direction::Ingress { "source" } else { "destination" }
            ),
        });
    }
    p
}

fn ports<'a>(rule: &'a Ev, issues: &mut Vec<Issue<'a>>) -> Option<Ports> {
    let mut bounds = [None, None];
    for (slot, key) in bounds.iter_mut().zip(["FromPort", "ToPort"]) {
        let Some(value) = rule.get(key) else {
            *slot = Some(-1);
            continue;
        };
        if let Val::Unknown(unknown) = &value.val {
            issues.push(Issue::Unknown { what: format!("`{key}`"), value, unknown });
            return None;
        }
        match value.text().and_then(|t| t.trim().parse::<i64>().ok()) {
            Some(port) if (-1..=65535).contains(&port) => *slot = Some(port),
            _ => {
                issues.push(Issue::Invalid {
                    loc: value.loc,
                    message: format!("`{key}` must be a port number from 0 to 65535, or -1 for all ports"),
                });
                return None;
            }
        }
    }
    let [Some(from), Some(to)] = bounds else { return None };
    if from == -1 || to == -1 {
        return Some(Ports::ALL);
    }
    if from > to {
        let loc = rule.get("FromPort").map_or(rule.loc, |v| v.loc);
        issues.push(Issue::Invalid {
            loc,
            message: format!("the port range is inverted: FromPort {from} is above ToPort {to} (EC2 rejects it)"),
        });
        return None;
    }
    Some(Ports { from: u16::try_from(from).ok()?, to: u16::try_from(to).ok()? })
}

/// Shared body of the "open to the world on port X" rules: one hit per world-wide peer of each ingress
/// permission of tcp (and udp when `udp`) that opens one of `ports`.
pub fn world_ingress_on_ports(
    resource: &Resource<'_>,
    hits: &mut super::Hits<'_>,
    rule: super::RuleId,
    ports: &[u16],
    udp: bool,
    what: &str,
) {
    if !hits.enabled(rule) {
        return;
    }
    for p in permissions(resource, Direction::Ingress) {
        let open: Vec<u16> = ports.iter().copied().filter(|&port| p.opens(port, udp) == Some(true)).collect();
        if open.is_empty() {
            continue;
        }
        let list = open.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        for (_, value) in p.world_peers() {
            let on = if ports.len() > 1 { format!(" (port {list})") } else { String::new() };
            hits.push(rule, value.loc, format!("{what}{on} open to the world: {}", p.describe(value)));
        }
    }
}
