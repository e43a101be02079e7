//! Route tables: where a packet from a subnet to an address goes.
//!
//! AWS semantics (<https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html>,
//! `route-table-options.html`):
//! - every route table has the implicit `local` route for the VPC's range;
//! - a subnet uses the table explicitly associated with it, else the VPC's main table — which
//!   CloudFormation cannot change and which holds only the local route;
//! - the most specific route that matches the destination wins (longest prefix);
//! - an internet gateway carries traffic only for an ENI that has a public IPv4 address (an
//!   auto-assigned one or an Elastic IP) and only when it is attached to the VPC
//!   (`VPC_Internet_Gateway.html`);
//! - a public NAT gateway sends traffic out through its own subnet's route table, which must
//!   route to an internet gateway, with its Elastic IP as the source (`vpc-nat-gateway.html`);
//! - a route to an instance (`InstanceId`) or a network interface (`NetworkInterfaceId`) sends
//!   the packet to that interface (the instance's primary one for `InstanceId`); a target that
//!   does not exist, or an interface attached to no instance, is a blackhole (`Route.State`:
//!   "the specified NAT instance has been terminated"). An interface whose source/destination
//!   check is on (EC2's default) drops what is neither from nor to it: a NAT instance must turn
//!   it off (`VPC_NAT_Instance.html`, "Disable source/destination checks"). With it off the
//!   instance acts as NAT — vpcgate's assumption, as its AMI's NAT software cannot be seen
//!   offline: its groups must let the packet in and out ([`NatInstance`], checked by
//!   [`super::connect_addr`]), and it leaves through the instance's primary interface, whose
//!   subnet's route table must route to an attached internet gateway, with the instance's public
//!   IPv4 address (auto-assigned or an Elastic IP) as the source;
//! - no matching route (or a route to something that leads nowhere) means the packet is
//!   dropped: the connection never completes.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{Ec2Model, InstanceConfig, RouteTarget};

/// Where a packet goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Inside the VPC (the local route).
    Local,
    /// Out to the internet, with this public source address.
    Internet {
        /// The address the other end sees.
        public_ip: Ipv4Addr,
        /// The path, for the trace (`igw-…`, `nat-… (203.0.113.7) -> igw-…`).
        path: String,
    },
    /// To a NAT instance, which sends it on to the internet if its security groups allow.
    NatInstance(NatInstance),
    /// Nowhere: dropped.
    Dropped {
        /// Why, for the trace.
        reason: String,
    },
}

/// A NAT instance a route sends the packet to: the instance has source/destination checks off
/// and its subnet routes the destination to an attached internet gateway. What remains is its
/// security groups, which the caller checks with the source's address and groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatInstance {
    /// `i-…`.
    pub instance_id: String,
    /// The interface the packet arrives on (`eni-…`, or the instance's primary interface).
    pub interface: String,
    /// That interface's groups: their ingress rules must admit the packet.
    pub ingress_groups: Vec<String>,
    /// The groups of the primary interface the packet leaves through: their egress rules must
    /// allow it to the destination.
    pub egress_groups: Vec<String>,
    /// The instance's public IPv4 address: the source the internet sees.
    pub public_ip: Ipv4Addr,
    /// The path, for the trace (`i-… (NAT instance in subnet-…, as …) -> rtb-… -> igw-…`).
    pub path: String,
}

/// The route a packet took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The table used (`None`: the VPC's main table).
    pub table: Option<String>,
    /// The destination of the route that matched.
    pub matched: Option<Ipv4Net>,
    /// What happens.
    pub outcome: Outcome,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| "the main route table (local route only)".into());
        match (&self.matched, &self.outcome) {
            (_, Outcome::Local) => write!(f, "{table}: local"),
            (Some(net), Outcome::Internet { public_ip, path }) => {
                write!(f, "{table}: {net} -> {path}, source {public_ip}")
            }
            (None, Outcome::Internet { public_ip, path }) => {
                write!(f, "{table}: {path}, source {public_ip}")
            }
            (Some(net), Outcome::NatInstance(n)) => {
                write!(f, "{table}: {net} -> {}, source {}", n.path, n.public_ip)
            }
            (None, Outcome::NatInstance(n)) => {
                write!(f, "{table}: {}, source {}", n.path, n.public_ip)
            }
            (Some(net), Outcome::Dropped { reason }) => write!(f, "{table}: {net}: {reason}"),
            (None, Outcome::Dropped { reason }) => write!(f, "{table}: {reason}"),
        }
    }
}

fn table_of<'a>(ec2: &'a Ec2Model, subnet_id: &str) -> Option<&'a str> {
    ec2.associations
        .iter()
        .find(|a| a.subnet_id == subnet_id)
        .map(|a| a.route_table_id.as_str())
}

fn best_route<'a>(ec2: &'a Ec2Model, table: &str, dst: Ipv4Addr) -> Option<&'a super::RouteConfig> {
    ec2.routes
        .iter()
        .filter(|r| r.route_table_id == table && r.destination.contains(&dst))
        .max_by_key(|r| r.destination.prefix_len())
}

fn attached(ec2: &Ec2Model, igw: &str, vpc_id: &str) -> bool {
    ec2.attachments
        .iter()
        .any(|a| a.internet_gateway_id == igw && a.vpc_id == vpc_id)
}

/// Where a packet from `subnet_id` (in `vpc_id`, range `vpc_cidr`) to `dst` goes, for a source
/// whose public IPv4 address is `public_ip` (if any).
pub fn decide(
    ec2: &Ec2Model,
    vpc_cidr: Option<Ipv4Net>,
    vpc_id: &str,
    subnet_id: &str,
    dst: Ipv4Addr,
    public_ip: Option<Ipv4Addr>,
) -> Decision {
    let table = table_of(ec2, subnet_id).map(str::to_string);
    if vpc_cidr.is_some_and(|c| c.contains(&dst)) {
        return Decision {
            table,
            matched: vpc_cidr,
            outcome: Outcome::Local,
        };
    }
    let Some(table_id) = table.clone() else {
        return Decision {
            table,
            matched: None,
            outcome: Outcome::Dropped {
                reason: format!("no route to {dst}"),
            },
        };
    };
    let Some(route) = best_route(ec2, &table_id, dst) else {
        return Decision {
            table,
            matched: None,
            outcome: Outcome::Dropped {
                reason: format!("no route to {dst}"),
            },
        };
    };
    let outcome = match &route.target {
        RouteTarget::InternetGateway(igw) => match (attached(ec2, igw, vpc_id), public_ip) {
            (false, _) => Outcome::Dropped {
                reason: format!("{igw} is not attached to {vpc_id}"),
            },
            (true, None) => Outcome::Dropped {
                reason: format!(
                    "{igw} drops traffic from an interface without a public IPv4 address"
                ),
            },
            (true, Some(ip)) => Outcome::Internet {
                public_ip: ip,
                path: igw.clone(),
            },
        },
        RouteTarget::NatGateway(nat_id) => nat_path(ec2, vpc_id, nat_id, dst),
        RouteTarget::Other { kind, id } if kind == "InstanceId" || kind == "NetworkInterfaceId" => {
            nat_instance_path(ec2, vpc_id, kind, id, dst)
        }
        RouteTarget::Other { kind, id } => Outcome::Dropped {
            reason: format!("{id} ({kind}) leads to nothing the emulated world has"),
        },
    };
    Decision {
        table,
        matched: Some(route.destination),
        outcome,
    }
}

fn nat_path(ec2: &Ec2Model, vpc_id: &str, nat_id: &str, dst: Ipv4Addr) -> Outcome {
    let Some(nat) = ec2.nat_gateways.iter().find(|n| n.id == nat_id) else {
        return Outcome::Dropped {
            reason: format!("{nat_id} does not exist (blackhole)"),
        };
    };
    if !nat.public {
        return Outcome::Dropped {
            reason: format!("{nat_id} is a private NAT gateway: it cannot reach the internet"),
        };
    }
    let Some(eip) = nat
        .allocation_id
        .as_ref()
        .and_then(|a| ec2.eips.iter().find(|e| &e.allocation_id == a))
    else {
        return Outcome::Dropped {
            reason: format!("{nat_id} has no Elastic IP"),
        };
    };
    let Some(nat_table) = table_of(ec2, &nat.subnet_id) else {
        return Outcome::Dropped {
            reason: format!(
                "{nat_id} stands in {} whose main route table has no route to the internet",
                nat.subnet_id
            ),
        };
    };
    match best_route(ec2, nat_table, dst).map(|r| &r.target) {
        Some(RouteTarget::InternetGateway(igw)) if attached(ec2, igw, vpc_id) => {
            Outcome::Internet {
                public_ip: eip.public_ip,
                path: format!(
                    "{nat_id} (in {}, as {}) -> {nat_table} -> {igw}",
                    nat.subnet_id, eip.public_ip
                ),
            }
        }
        Some(other) => Outcome::Dropped {
            reason: format!(
                "{nat_id} stands in {} whose route table {nat_table} sends {dst} to {other}, not an attached internet gateway",
                nat.subnet_id
            ),
        },
        None => Outcome::Dropped {
            reason: format!(
                "{nat_id} stands in {} whose route table {nat_table} has no route to {dst}",
                nat.subnet_id
            ),
        },
    }
}

/// The instance (its index in the model) a route to `kind` `id` delivers to, the interface it
/// arrives on, that interface's groups and whether its source/destination check is on; or why the
/// route is a blackhole.
fn route_target<'a>(
    ec2: &'a Ec2Model,
    kind: &str,
    id: &str,
) -> Result<(usize, &'a InstanceConfig, String, Vec<String>, bool), String> {
    let interface = |eni: &str| ec2.network_interfaces.iter().find(|n| n.id == eni);
    if kind == "InstanceId" {
        let Some((index, instance)) = ec2.instances.iter().enumerate().find(|(_, i)| i.id == id)
        else {
            return Err(format!("{id} does not exist (blackhole)"));
        };
        // An existing interface attached as the primary one keeps its own attribute; the
        // instance's `SourceDestCheck` is its primary interface's (either one off turns it off).
        let (label, check) = match instance.primary_interface.as_deref().and_then(interface) {
            Some(n) => (
                format!("{} of {id}", n.id),
                n.source_dest_check && instance.source_dest_check,
            ),
            None => (id.to_string(), instance.source_dest_check),
        };
        return Ok((
            index,
            instance,
            label,
            instance.security_groups.clone(),
            check,
        ));
    }
    let Some(eni) = interface(id) else {
        return Err(format!("{id} does not exist (blackhole)"));
    };
    let Some((index, instance)) = ec2.instances.iter().enumerate().find(|(_, i)| {
        i.primary_interface.as_deref() == Some(id) || i.secondary_interfaces.iter().any(|s| s == id)
    }) else {
        return Err(format!(
            "{id} is not attached to an instance: nothing receives the packet (blackhole)"
        ));
    };
    let check = if instance.primary_interface.as_deref() == Some(id) {
        eni.source_dest_check && instance.source_dest_check
    } else {
        eni.source_dest_check
    };
    Ok((
        index,
        instance,
        format!("{id} of {}", instance.id),
        eni.security_groups.clone(),
        check,
    ))
}

/// Through the NAT instance a route to an instance or a network interface names.
fn nat_instance_path(ec2: &Ec2Model, vpc_id: &str, kind: &str, id: &str, dst: Ipv4Addr) -> Outcome {
    let dropped = |reason: String| Outcome::Dropped { reason };
    let (index, instance, interface, ingress_groups, check) = match route_target(ec2, kind, id) {
        Ok(found) => found,
        Err(reason) => return dropped(reason),
    };
    let i_id = &instance.id;
    if instance.vpc_id != vpc_id {
        return dropped(format!(
            "{interface} is in {}, not {vpc_id} (blackhole)",
            instance.vpc_id
        ));
    }
    if check {
        return dropped(format!(
            "{interface} has source/destination checking on (SourceDestCheck): it drops traffic to {dst}, which is not its own; a NAT instance must turn it off"
        ));
    }
    let Some(public_ip) = super::public_ip_of(ec2, instance, index) else {
        return dropped(format!(
            "{i_id} (NAT instance) has no public IPv4 address (neither auto-assigned nor an Elastic IP)"
        ));
    };
    let subnet = &instance.subnet_id;
    let Some(nat_table) = table_of(ec2, subnet) else {
        return dropped(format!(
            "{i_id} (NAT instance) stands in {subnet} whose main route table has no route to the internet"
        ));
    };
    match best_route(ec2, nat_table, dst).map(|r| &r.target) {
        Some(RouteTarget::InternetGateway(igw)) if attached(ec2, igw, vpc_id) => {
            Outcome::NatInstance(NatInstance {
                instance_id: i_id.clone(),
                interface: interface.clone(),
                ingress_groups,
                egress_groups: instance.security_groups.clone(),
                public_ip,
                path: format!(
                    "{interface} (NAT instance in {subnet}, as {public_ip}) -> {nat_table} -> {igw}"
                ),
            })
        }
        Some(other) => dropped(format!(
            "{i_id} (NAT instance) stands in {subnet} whose route table {nat_table} sends {dst} to {other}, not an attached internet gateway"
        )),
        None => dropped(format!(
            "{i_id} (NAT instance) stands in {subnet} whose route table {nat_table} has no route to {dst}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::model::Model;
    use crate::vpc::{Subnet, Vpc};

    /// [`decide`] with the VPC's range from the model.
    fn decide(
        m: &Model,
        vpc_id: &str,
        subnet_id: &str,
        dst: Ipv4Addr,
        public_ip: Option<Ipv4Addr>,
    ) -> Decision {
        let cidr = m.vpcs.iter().find(|v| v.id == vpc_id).map(|v| v.cidr);
        super::decide(&m.ec2, cidr, vpc_id, subnet_id, dst, public_ip)
    }

    /// `vpc-1` (10.0.0.0/16) with `subnet-pub` (10.0.0.0/24, table `rtb-pub`: 0.0.0.0/0 ->
    /// `igw-1`) and `subnet-priv` (10.0.2.0/24, table `rtb-priv`, no route yet), and `igw-1`
    /// attached to it.
    pub(super) fn vpc_with_igw() -> Model {
        let subnet = |id: &str, cidr: &str| Subnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            cidr: cidr.parse().unwrap(),
            availability_zone: "ap-northeast-1a".into(),
        };
        let mut m = Model {
            vpcs: vec![Vpc {
                id: "vpc-1".into(),
                logical_id: "Vpc".into(),
                cidr: "10.0.0.0/16".parse().unwrap(),
                subnets: vec![
                    subnet("subnet-pub", "10.0.0.0/24"),
                    subnet("subnet-priv", "10.0.2.0/24"),
                ],
            }],
            ..Model::default()
        };
        let ec2 = &mut m.ec2;
        ec2.internet_gateways.push(InternetGatewayConfig {
            logical_id: "Igw".into(),
            id: "igw-1".into(),
        });
        ec2.attachments.push(GatewayAttachmentConfig {
            logical_id: "Att".into(),
            vpc_id: "vpc-1".into(),
            internet_gateway_id: "igw-1".into(),
        });
        for (id, subnet) in [("rtb-pub", "subnet-pub"), ("rtb-priv", "subnet-priv")] {
            ec2.route_tables.push(RouteTableConfig {
                logical_id: id.into(),
                id: id.into(),
                vpc_id: "vpc-1".into(),
            });
            ec2.associations.push(AssociationConfig {
                logical_id: format!("{id}-assoc"),
                subnet_id: subnet.into(),
                route_table_id: id.into(),
            });
        }
        ec2.routes.push(RouteConfig {
            logical_id: "PublicRoute".into(),
            route_table_id: "rtb-pub".into(),
            destination: "0.0.0.0/0".parse().unwrap(),
            target: RouteTarget::InternetGateway("igw-1".into()),
        });
        m
    }

    fn model(private_route: Option<RouteTarget>) -> Model {
        let mut m = vpc_with_igw();
        let ec2 = &mut m.ec2;
        ec2.eips.push(EipConfig {
            logical_id: "Eip".into(),
            allocation_id: "eipalloc-1".into(),
            public_ip: "203.0.113.7".parse().unwrap(),
            instance_id: None,
            network_interface_id: None,
        });
        ec2.nat_gateways.push(NatGatewayConfig {
            logical_id: "Nat".into(),
            id: "nat-1".into(),
            subnet_id: "subnet-pub".into(),
            allocation_id: Some("eipalloc-1".into()),
            public: true,
        });
        if let Some(target) = private_route {
            ec2.routes.push(RouteConfig {
                logical_id: "PrivateRoute".into(),
                route_table_id: "rtb-priv".into(),
                destination: "0.0.0.0/0".parse().unwrap(),
                target,
            });
        }
        m
    }

    const STATES: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

    #[test]
    fn a_private_subnet_reaches_the_internet_through_its_nat_gateway() {
        let m = model(Some(RouteTarget::NatGateway("nat-1".into())));
        let d = decide(&m, "vpc-1", "subnet-priv", STATES, None);
        assert_eq!(
            d.outcome,
            Outcome::Internet {
                public_ip: "203.0.113.7".parse().unwrap(),
                path: "nat-1 (in subnet-pub, as 203.0.113.7) -> rtb-pub -> igw-1".into()
            }
        );
        assert_eq!(d.table.as_deref(), Some("rtb-priv"));
    }

    #[test]
    fn without_a_route_the_packet_is_dropped() {
        let m = model(None);
        let d = decide(&m, "vpc-1", "subnet-priv", STATES, None);
        assert!(matches!(d.outcome, Outcome::Dropped { .. }), "{d}");
        assert!(d.to_string().contains("no route to 198.51.100.10"), "{d}");
    }

    #[test]
    fn an_internet_gateway_needs_a_public_address() {
        let m = model(None);
        let d = decide(&m, "vpc-1", "subnet-pub", STATES, None);
        assert!(
            d.to_string().contains("without a public IPv4 address"),
            "{d}"
        );
        let ip = "192.0.2.10".parse().unwrap();
        let d = decide(&m, "vpc-1", "subnet-pub", STATES, Some(ip));
        assert_eq!(
            d.outcome,
            Outcome::Internet {
                public_ip: ip,
                path: "igw-1".into()
            }
        );
    }

    #[test]
    fn local_traffic_stays_in_the_vpc_and_unassociated_subnets_use_the_main_table() {
        let m = model(None);
        let d = decide(
            &m,
            "vpc-1",
            "subnet-priv",
            "10.0.0.9".parse().unwrap(),
            None,
        );
        assert_eq!(d.outcome, Outcome::Local);
        let d = decide(&m, "vpc-1", "subnet-other", STATES, None);
        assert!(d.table.is_none());
        assert!(matches!(d.outcome, Outcome::Dropped { .. }));
    }

    #[test]
    fn the_longest_prefix_wins() {
        let mut m = model(Some(RouteTarget::NatGateway("nat-1".into())));
        m.ec2.routes.push(RouteConfig {
            logical_id: "Narrow".into(),
            route_table_id: "rtb-priv".into(),
            destination: "198.51.100.0/24".parse().unwrap(),
            target: RouteTarget::Other {
                kind: "TransitGatewayId".into(),
                id: "tgw-1".into(),
            },
        });
        let d = decide(&m, "vpc-1", "subnet-priv", STATES, None);
        assert!(d.to_string().contains("tgw-1"), "{d}");
        let d = decide(
            &m,
            "vpc-1",
            "subnet-priv",
            "203.0.113.200".parse().unwrap(),
            None,
        );
        assert!(matches!(d.outcome, Outcome::Internet { .. }), "{d}");
    }
}

/// NAT instances (<https://docs.aws.amazon.com/vpc/latest/userguide/VPC_NAT_Instance.html>,
/// "Disable source/destination checks"; a route to an instance or an ENI in
/// `VPC_Route_Tables.html`; `Route.State` blackhole when the target is gone).
#[cfg(test)]
mod nat_instance_tests {
    use super::super::*;
    use super::*;
    use crate::model::Model;

    const STATES: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

    /// Seed-style VPC: `subnet-pub` (rtb-pub: 0.0.0.0/0 -> igw-1) holds `i-nat` (group
    /// `sg-nat`, Elastic IP 203.0.113.9, a second interface `eni-nat1` with group `sg-nat1`);
    /// `subnet-priv` (rtb-priv) routes 0.0.0.0/0 to `target`; `eni-loose` is attached to nothing.
    fn model(target: RouteTarget, source_dest_check: bool) -> Model {
        let mut m = super::tests::vpc_with_igw();
        let ec2 = &mut m.ec2;
        ec2.eips.push(EipConfig {
            logical_id: "NatEip".into(),
            allocation_id: "eipalloc-9".into(),
            public_ip: "203.0.113.9".parse().unwrap(),
            instance_id: Some("i-nat".into()),
            network_interface_id: None,
        });
        ec2.instances.push(InstanceConfig {
            logical_id: "Client".into(),
            id: "i-client".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-priv".into(),
            security_groups: vec!["sg-client".into()],
            private_ip: None,
            associate_public_ip: None,
            primary_interface: None,
            secondary_interfaces: vec![],
            source_dest_check: true,
        });
        ec2.instances.push(InstanceConfig {
            logical_id: "Nat".into(),
            id: "i-nat".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-pub".into(),
            security_groups: vec!["sg-nat".into()],
            private_ip: Some("10.0.0.9".parse().unwrap()),
            associate_public_ip: None,
            primary_interface: None,
            secondary_interfaces: vec!["eni-nat1".into()],
            source_dest_check,
        });
        let interface = |id: &str, group: &str, check: bool| NetworkInterfaceConfig {
            logical_id: id.into(),
            id: id.into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-pub".into(),
            security_groups: vec![group.into()],
            private_ip: None,
            source_dest_check: check,
            description: String::new(),
        };
        ec2.network_interfaces
            .push(interface("eni-nat1", "sg-nat1", source_dest_check));
        ec2.network_interfaces
            .push(interface("eni-loose", "sg-nat1", false));
        ec2.routes.push(RouteConfig {
            logical_id: "PrivateRoute".into(),
            route_table_id: "rtb-priv".into(),
            destination: "0.0.0.0/0".parse().unwrap(),
            target,
        });
        m
    }

    fn to(kind: &str, id: &str) -> RouteTarget {
        RouteTarget::Other {
            kind: kind.into(),
            id: id.into(),
        }
    }

    fn decide_from_private(m: &Model) -> Decision {
        let cidr = m.vpcs[0].cidr;
        super::decide(&m.ec2, Some(cidr), "vpc-1", "subnet-priv", STATES, None)
    }

    fn dropped_because(m: &Model, words: &str) {
        let d = decide_from_private(m);
        assert!(matches!(d.outcome, Outcome::Dropped { .. }), "{d}");
        assert!(d.to_string().contains(words), "{d}");
    }

    #[test]
    fn a_route_to_a_nat_instance_leaves_through_its_subnet_with_its_elastic_ip() {
        let m = model(to("InstanceId", "i-nat"), false);
        let d = decide_from_private(&m);
        assert_eq!(
            d.outcome,
            Outcome::NatInstance(NatInstance {
                instance_id: "i-nat".into(),
                interface: "i-nat".into(),
                ingress_groups: vec!["sg-nat".into()],
                egress_groups: vec!["sg-nat".into()],
                public_ip: "203.0.113.9".parse().unwrap(),
                path: "i-nat (NAT instance in subnet-pub, as 203.0.113.9) -> rtb-pub -> igw-1"
                    .into(),
            })
        );
        assert_eq!(
            d.to_string(),
            "rtb-priv: 0.0.0.0/0 -> i-nat (NAT instance in subnet-pub, as 203.0.113.9) -> rtb-pub -> igw-1, source 203.0.113.9"
        );
    }

    #[test]
    fn a_route_to_a_nat_instances_second_interface_enters_there_and_leaves_through_the_primary() {
        let m = model(to("NetworkInterfaceId", "eni-nat1"), false);
        let Outcome::NatInstance(n) = decide_from_private(&m).outcome else {
            panic!("through the NAT instance");
        };
        assert_eq!(n.interface, "eni-nat1 of i-nat");
        assert_eq!(n.ingress_groups, ["sg-nat1"]);
        assert_eq!(n.egress_groups, ["sg-nat"]);
        assert_eq!(n.public_ip, Ipv4Addr::new(203, 0, 113, 9));
    }

    #[test]
    fn an_instance_with_the_source_destination_check_on_drops_what_is_not_its_own() {
        for target in [
            to("InstanceId", "i-nat"),
            to("NetworkInterfaceId", "eni-nat1"),
        ] {
            let m = model(target, true);
            dropped_because(&m, "has source/destination checking on (SourceDestCheck)");
            dropped_because(&m, "198.51.100.10, which is not its own");
        }
        // A standalone primary interface keeps its own attribute, and the instance's
        // `SourceDestCheck` sets it too: checking is off when either one turns it off.
        let mut m = model(to("InstanceId", "i-nat"), true);
        m.ec2.instances[1].primary_interface = Some("eni-loose".into());
        m.ec2.network_interfaces[1].source_dest_check = true;
        dropped_because(&m, "eni-loose of i-nat has source/destination checking on");
        m.ec2.network_interfaces[1].source_dest_check = false;
        assert!(
            matches!(decide_from_private(&m).outcome, Outcome::NatInstance(_)),
            "the interface's own attribute is off"
        );
    }

    #[test]
    fn a_missing_target_or_an_unattached_interface_is_a_blackhole() {
        dropped_because(
            &model(to("InstanceId", "i-gone"), false),
            "0.0.0.0/0: i-gone does not exist (blackhole)",
        );
        dropped_because(
            &model(to("NetworkInterfaceId", "eni-gone"), false),
            "eni-gone does not exist (blackhole)",
        );
        dropped_because(
            &model(to("NetworkInterfaceId", "eni-loose"), false),
            "eni-loose is not attached to an instance",
        );
        let mut m = model(to("InstanceId", "i-nat"), false);
        m.ec2.instances[1].vpc_id = "vpc-2".into();
        dropped_because(&m, "i-nat is in vpc-2, not vpc-1 (blackhole)");
    }

    #[test]
    fn a_nat_instance_needs_a_public_address_and_an_internet_route_in_its_subnet() {
        let mut m = model(to("InstanceId", "i-nat"), false);
        m.ec2.eips.clear();
        dropped_because(&m, "i-nat (NAT instance) has no public IPv4 address");
        // An address auto-assigned at launch does as well as an Elastic IP.
        m.ec2.public_ip_subnets.push("subnet-pub".into());
        let Outcome::NatInstance(n) = decide_from_private(&m).outcome else {
            panic!("through the NAT instance");
        };
        assert_eq!(n.public_ip, Ipv4Addr::new(192, 0, 2, 11));

        let mut m = model(to("InstanceId", "i-nat"), false);
        m.ec2.routes.retain(|r| r.logical_id != "PublicRoute");
        dropped_because(
            &m,
            "i-nat (NAT instance) stands in subnet-pub whose route table rtb-pub has no route to 198.51.100.10",
        );
        m.ec2.attachments.clear();
        m.ec2.routes.push(RouteConfig {
            logical_id: "PublicRoute".into(),
            route_table_id: "rtb-pub".into(),
            destination: "0.0.0.0/0".parse().unwrap(),
            target: RouteTarget::InternetGateway("igw-1".into()),
        });
        dropped_because(
            &m,
            "sends 198.51.100.10 to igw-1, not an attached internet gateway",
        );
        m.ec2.associations.retain(|a| a.subnet_id != "subnet-pub");
        dropped_because(
            &m,
            "stands in subnet-pub whose main route table has no route",
        );
    }

    #[test]
    fn traffic_inside_the_vpc_never_goes_through_the_nat_instance() {
        let m = model(to("InstanceId", "i-nat"), true);
        let cidr = m.vpcs[0].cidr;
        let d = super::decide(
            &m.ec2,
            Some(cidr),
            "vpc-1",
            "subnet-priv",
            "10.0.0.9".parse().unwrap(),
            None,
        );
        assert_eq!(d.outcome, Outcome::Local);
    }
}
