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
//! - no matching route (or a route to something that leads nowhere) means the packet is
//!   dropped: the connection never completes.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{Ec2Model, RouteTarget};

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
    /// Nowhere: dropped.
    Dropped {
        /// Why, for the trace.
        reason: String,
    },
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

    fn model(private_route: Option<RouteTarget>) -> Model {
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
