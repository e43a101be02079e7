//! Security groups: rules and their verdicts.
//!
//! AWS semantics (EC2 user guide, "Security group rules",
//! <https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html>):
//! - rules only allow; traffic no rule allows is dropped silently (no reset is sent);
//! - a connection is checked against the *egress* rules of the source's groups and the *ingress*
//!   rules of the target's groups; several groups on one ENI are the union of their rules;
//! - groups are stateful: the answer to an admitted connection is always let back;
//! - a rule's peer is an IPv4 or IPv6 CIDR, another security group (any ENI carrying it), or a
//!   prefix list; protocol `-1` means every protocol and every port;
//! - a group created without egress rules gets one that allows all IPv4 traffic out.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::trace::{Detail, Trace, Verdict as TraceVerdict};

/// The id of a security group (`sg-…`).
pub type SgId = String;

/// The IP protocol a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpProtocol {
    /// `-1`: all protocols, all ports.
    All,
    /// `tcp` / `6`.
    Tcp,
    /// `udp` / `17`.
    Udp,
    /// `icmp` / `1`.
    Icmp,
    /// `icmpv6` / `58`.
    Icmpv6,
}

impl IpProtocol {
    /// Parses CloudFormation's `IpProtocol` (name or number).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(Self::All),
            "tcp" | "6" => Some(Self::Tcp),
            "udp" | "17" => Some(Self::Udp),
            "icmp" | "1" => Some(Self::Icmp),
            "icmpv6" | "58" => Some(Self::Icmpv6),
            _ => None,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpProtocol::All => "-1",
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
            IpProtocol::Icmp => "icmp",
            IpProtocol::Icmpv6 => "icmpv6",
        })
    }
}

/// Who a rule admits (ingress) or lets the group reach (egress).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// An IPv4 or IPv6 CIDR.
    Cidr(IpNet),
    /// Every ENI that carries this security group.
    Group(SgId),
    /// A group named by `SourceSecurityGroupName` (EC2's default-VPC reference by name), not yet
    /// resolved to an id by the loader: it admits nothing until it is.
    GroupName {
        /// `SourceSecurityGroupOwnerId`, when the rule gives one.
        owner: Option<String>,
        /// The group's `GroupName`.
        name: String,
    },
    /// A managed prefix list (`pl-…`) with its CIDRs.
    PrefixList {
        /// The prefix list id.
        id: String,
        /// The CIDRs it holds.
        cidrs: Vec<IpNet>,
    },
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Cidr(net) => write!(f, "{net}"),
            Peer::Group(id) => write!(f, "{id}"),
            Peer::GroupName {
                owner: Some(o),
                name,
            } => write!(f, "{o}/{name}"),
            Peer::GroupName { owner: None, name } => write!(f, "{name}"),
            Peer::PrefixList { id, .. } => write!(f, "{id}"),
        }
    }
}

/// One ingress or egress rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The protocol.
    pub protocol: IpProtocol,
    /// First port (ignored for `-1`).
    pub from_port: u16,
    /// Last port, inclusive (ignored for `-1`).
    pub to_port: u16,
    /// The peer.
    pub peer: Peer,
    /// The rule's description, if any.
    pub description: Option<String>,
}

impl Rule {
    /// A rule that allows all traffic to/from `0.0.0.0/0`: AWS's default egress rule.
    pub fn allow_all_ipv4() -> Self {
        Self {
            protocol: IpProtocol::All,
            from_port: 0,
            to_port: 65535,
            peer: Peer::Cidr("0.0.0.0/0".parse().expect("literal cidr")),
            description: None,
        }
    }

    fn covers_port(&self, protocol: IpProtocol, port: u16) -> bool {
        match self.protocol {
            IpProtocol::All => true,
            p if p == protocol => self.from_port <= port && port <= self.to_port,
            _ => false,
        }
    }

    fn covers_peer(&self, ip: IpAddr, peer_groups: &[SgId]) -> bool {
        match &self.peer {
            Peer::Cidr(net) => net.contains(&ip),
            Peer::Group(id) => peer_groups.iter().any(|g| g == id),
            Peer::GroupName { .. } => false,
            Peer::PrefixList { cidrs, .. } => cidrs.iter().any(|n| n.contains(&ip)),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            IpProtocol::All => write!(f, "all traffic {}", self.peer),
            p if self.from_port == self.to_port => {
                write!(f, "{p}/{} {}", self.from_port, self.peer)
            }
            p => write!(f, "{p}/{}-{} {}", self.from_port, self.to_port, self.peer),
        }
    }
}

/// A security group.
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: SgId,
    /// The CloudFormation logical id, for messages.
    pub logical_id: String,
    /// The VPC the group belongs to.
    pub vpc_id: String,
    /// Ingress rules.
    pub ingress: Vec<Rule>,
    /// Egress rules.
    pub egress: Vec<Rule>,
}

/// The direction a group is checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Traffic entering the ENI.
    Ingress,
    /// Traffic leaving the ENI.
    Egress,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        })
    }
}

/// The outcome of checking a connection against an ENI's groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed by this rule of this group.
    Allow {
        /// The group.
        group: SgId,
        /// The rule that matched, rendered.
        rule: String,
    },
    /// No rule of any group allows it: AWS drops it silently.
    Drop {
        /// What was checked, for the trace.
        reason: String,
    },
}

/// Checks a connection of `protocol` to `port` against `groups` in `direction`; `peer_ip` is the
/// other end's address and `peer_groups` the groups the other end carries (for SG references).
pub fn check<'a>(
    groups: impl IntoIterator<Item = &'a SecurityGroup>,
    direction: Direction,
    protocol: IpProtocol,
    port: u16,
    peer_ip: IpAddr,
    peer_groups: &[SgId],
) -> Verdict {
    let mut names = Vec::new();
    for group in groups {
        names.push(group.id.clone());
        let rules = match direction {
            Direction::Ingress => &group.ingress,
            Direction::Egress => &group.egress,
        };
        for rule in rules {
            if rule.covers_port(protocol, port) && rule.covers_peer(peer_ip, peer_groups) {
                return Verdict::Allow {
                    group: group.id.clone(),
                    rule: rule.to_string(),
                };
            }
        }
    }
    let with = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    Verdict::Drop {
        reason: format!(
            "no {direction} rule of [{}] allows {protocol}/{port} {with} {peer_ip}{}",
            names.join(", "),
            if peer_groups.is_empty() {
                String::new()
            } else {
                format!(" (groups {})", peer_groups.join(", "))
            }
        ),
    }
}

/// Whether `groups` admit every TCP port from the whole of `range` on ingress (several rules may
/// cover the ports between them): what a resource gateway's groups must do for EventBridge and
/// Step Functions, "all inbound IPv4 TCP traffic on all ports from 0.0.0.0/0" and "all inbound IPv6
/// TCP traffic on all ports from ::/0"
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/connection-private-rc-provider.html>).
/// Only CIDR rules whose range contains all of `range` count.
pub fn admits_all_tcp<'a>(
    groups: impl IntoIterator<Item = &'a SecurityGroup>,
    range: IpNet,
) -> Verdict {
    let mut names = Vec::new();
    let mut spans: Vec<(u32, u32, String, String)> = Vec::new();
    for group in groups {
        names.push(group.id.clone());
        for rule in &group.ingress {
            let whole = match &rule.peer {
                Peer::Cidr(net) => net.contains(&range),
                Peer::PrefixList { cidrs, .. } => cidrs.iter().any(|n| n.contains(&range)),
                Peer::Group(_) | Peer::GroupName { .. } => false,
            };
            let (from, to) = match rule.protocol {
                IpProtocol::All => (0, 65535),
                IpProtocol::Tcp => (u32::from(rule.from_port), u32::from(rule.to_port)),
                _ => continue,
            };
            if whole {
                spans.push((from, to, group.id.clone(), rule.to_string()));
            }
        }
    }
    spans.sort_by_key(|s| s.0);
    let mut next = 0u32;
    let mut used = Vec::new();
    for (from, to, group, rule) in &spans {
        if *from > next {
            break;
        }
        if *to + 1 > next {
            next = to + 1;
            used.push((group.clone(), rule.clone()));
        }
    }
    if next > 65535 {
        let (group, _) = used.first().cloned().unwrap_or_default();
        return Verdict::Allow {
            group,
            rule: used
                .iter()
                .map(|(_, r)| r.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
        };
    }
    let covered: Vec<String> = spans
        .iter()
        .map(|(f, t, _, _)| {
            if f == t {
                format!("tcp/{f}")
            } else {
                format!("tcp/{f}-{t}")
            }
        })
        .collect();
    Verdict::Drop {
        reason: format!(
            "no ingress rule of [{}] allows all TCP ports from {range} (the rules allow {})",
            names.join(", "),
            if covered.is_empty() {
                "none".to_string()
            } else {
                covered.join(", ")
            }
        ),
    }
}

/// Records a security-group verdict as one `sg` hop and says whether the connection goes on: the
/// one way every caller (the network's ENI-to-ENI check, a resource gateway's ingress, a service
/// network's client egress and VPC association) traces a check. `at` names where it was checked
/// (the hop's [`Detail`]), `allowed(group, rule)` and `dropped(reason)` the sentence for each
/// outcome; none is called when the trace does not record.
pub fn record(
    trace: &Trace,
    verdict: Verdict,
    at: impl FnOnce() -> String,
    allowed: impl FnOnce(&str, &str) -> String,
    dropped: impl FnOnce(&str) -> String,
) -> bool {
    let admitted = matches!(verdict, Verdict::Allow { .. });
    if trace.enabled() {
        let (hop, rule, message) = match verdict {
            Verdict::Allow { group, rule } => {
                let message = allowed(&group, &rule);
                (TraceVerdict::Pass, format!("{group} rule {rule}"), message)
            }
            Verdict::Drop { reason } => {
                let message = dropped(&reason);
                (TraceVerdict::Drop, reason, message)
            }
        };
        trace.hop_with("sg", hop, || Detail::at(at()).rule(rule), message);
    }
    admitted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(ingress: Vec<Rule>, egress: Vec<Rule>) -> SecurityGroup {
        SecurityGroup {
            id: "sg-1".into(),
            logical_id: "Sg".into(),
            vpc_id: "vpc-1".into(),
            ingress,
            egress,
        }
    }

    fn tcp(from: u16, to: u16, peer: &str) -> Rule {
        Rule {
            protocol: IpProtocol::Tcp,
            from_port: from,
            to_port: to,
            peer: if peer.starts_with("sg-") {
                Peer::Group(peer.into())
            } else {
                Peer::Cidr(peer.parse().unwrap())
            },
            description: None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // The seed's narrowed resource-gateway group: 443 from the VPC CIDR only.
    #[test]
    fn all_tcp_from_a_range_needs_every_port_from_all_of_it() {
        // connection-private-rc-provider.html: the resource gateway's group must allow all TCP
        // on all ports from 0.0.0.0/0 and ::/0.
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        let g = group(vec![tcp(0, 65535, "0.0.0.0/0")], vec![]);
        assert!(matches!(admits_all_tcp([&g], all), Verdict::Allow { .. }));
        let only_443 = group(vec![tcp(443, 443, "0.0.0.0/0")], vec![]);
        match admits_all_tcp([&only_443], all) {
            Verdict::Drop { reason } => {
                assert!(reason.contains("the rules allow tcp/443"), "{reason}")
            }
            v => panic!("{v:?}"),
        }
        let split = group(
            vec![tcp(0, 1023, "0.0.0.0/0"), tcp(1024, 65535, "0.0.0.0/0")],
            vec![],
        );
        assert!(matches!(
            admits_all_tcp([&split], all),
            Verdict::Allow { .. }
        ));
        let narrow = group(vec![tcp(0, 65535, "10.0.0.0/8")], vec![]);
        assert!(matches!(
            admits_all_tcp([&narrow], all),
            Verdict::Drop { .. }
        ));
        let v6: IpNet = "::/0".parse().unwrap();
        assert!(matches!(admits_all_tcp([&g], v6), Verdict::Drop { .. }));
    }

    #[test]
    fn vpc_cidr_rule_drops_traffic_from_outside_the_vpc() {
        let g = group(vec![tcp(443, 443, "192.168.0.0/18")], vec![]);
        let v = check(
            [&g],
            Direction::Ingress,
            IpProtocol::Tcp,
            443,
            ip("169.254.171.5"),
            &[],
        );
        assert!(matches!(v, Verdict::Drop { .. }), "{v:?}");
        let v = check(
            [&g],
            Direction::Ingress,
            IpProtocol::Tcp,
            443,
            ip("192.168.1.9"),
            &[],
        );
        assert!(matches!(v, Verdict::Allow { .. }));
    }

    #[test]
    fn all_tcp_from_anywhere_admits_v4_and_v6() {
        let g = group(
            vec![tcp(0, 65535, "0.0.0.0/0"), tcp(0, 65535, "::/0")],
            vec![],
        );
        for peer in ["169.254.171.5", "fd00:ec2:80::1"] {
            let v = check(
                [&g],
                Direction::Ingress,
                IpProtocol::Tcp,
                443,
                ip(peer),
                &[],
            );
            assert!(matches!(v, Verdict::Allow { .. }), "{peer}");
        }
    }

    #[test]
    fn port_ranges_are_inclusive_and_protocol_specific() {
        let g = group(vec![tcp(80, 81, "0.0.0.0/0")], vec![]);
        let at = |port| {
            check(
                [&g],
                Direction::Ingress,
                IpProtocol::Tcp,
                port,
                ip("10.0.0.1"),
                &[],
            )
        };
        assert!(matches!(at(80), Verdict::Allow { .. }));
        assert!(matches!(at(81), Verdict::Allow { .. }));
        assert!(matches!(at(82), Verdict::Drop { .. }));
        let v = check(
            [&g],
            Direction::Ingress,
            IpProtocol::Udp,
            80,
            ip("10.0.0.1"),
            &[],
        );
        assert!(matches!(v, Verdict::Drop { .. }));
    }

    #[test]
    fn protocol_minus_one_ignores_ports() {
        let g = group(vec![], vec![Rule::allow_all_ipv4()]);
        let v = check(
            [&g],
            Direction::Egress,
            IpProtocol::Tcp,
            8443,
            ip("10.1.2.3"),
            &[],
        );
        assert!(matches!(v, Verdict::Allow { .. }));
        // The default egress rule is IPv4 only.
        let v = check(
            [&g],
            Direction::Egress,
            IpProtocol::Tcp,
            443,
            ip("2001:db8::1"),
            &[],
        );
        assert!(matches!(v, Verdict::Drop { .. }));
    }

    #[test]
    fn group_references_match_the_peer_s_groups() {
        let g = group(vec![tcp(443, 443, "sg-gw")], vec![]);
        let allowed = check(
            [&g],
            Direction::Ingress,
            IpProtocol::Tcp,
            443,
            ip("10.0.0.9"),
            &["sg-gw".into()],
        );
        assert!(matches!(allowed, Verdict::Allow { .. }));
        let dropped = check(
            [&g],
            Direction::Ingress,
            IpProtocol::Tcp,
            443,
            ip("10.0.0.9"),
            &["sg-other".into()],
        );
        assert!(matches!(dropped, Verdict::Drop { .. }));
    }

    #[test]
    fn several_groups_are_a_union() {
        let a = group(vec![tcp(80, 80, "0.0.0.0/0")], vec![]);
        let mut b = group(vec![tcp(443, 443, "0.0.0.0/0")], vec![]);
        b.id = "sg-2".into();
        let v = check(
            [&a, &b],
            Direction::Ingress,
            IpProtocol::Tcp,
            443,
            ip("10.0.0.1"),
            &[],
        );
        assert_eq!(
            v,
            Verdict::Allow {
                group: "sg-2".into(),
                rule: "tcp/443 0.0.0.0/0".into()
            }
        );
    }

    #[test]
    fn record_traces_one_sg_hop_per_verdict_and_says_whether_to_go_on() {
        let trace = Trace::new();
        let allow = Verdict::Allow {
            group: "sg-1".into(),
            rule: "tcp/443 from 10.0.0.0/16".into(),
        };
        let go_on = record(
            &trace,
            allow,
            || "eni-1 10.0.0.4 (egress)".into(),
            |g, r| format!("allowed by {g} rule {r}"),
            |_| unreachable!("an allow verdict"),
        );
        assert!(go_on);
        let drop = Verdict::Drop {
            reason: "no ingress rule of [sg-2] allows tcp/80 from 10.0.0.4".into(),
        };
        let go_on = record(
            &trace,
            drop,
            || "eni-2 10.0.1.4:80".into(),
            |_, _| unreachable!("a drop verdict"),
            |reason| format!("{reason}; dropped"),
        );
        assert!(!go_on);
        let hops = trace.hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(
            (hops[0].component, hops[0].verdict),
            ("sg", TraceVerdict::Pass)
        );
        assert_eq!(
            hops[0].message,
            "allowed by sg-1 rule tcp/443 from 10.0.0.0/16"
        );
        assert_eq!(
            (hops[1].component, hops[1].verdict),
            ("sg", TraceVerdict::Drop)
        );
        assert!(hops[1].message.ends_with("; dropped"));
        // A trace that does not record builds no sentence.
        let off = Trace::disabled();
        assert!(!record(
            &off,
            Verdict::Drop {
                reason: String::new()
            },
            || unreachable!("not recorded"),
            |_, _| unreachable!("not recorded"),
            |_| unreachable!("not recorded"),
        ));
    }
}
