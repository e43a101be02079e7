//! VPC Lattice: resource gateways and resource configurations (the private-connection path).
//!
//! A resource gateway is a set of ENIs (one per subnet) through which Lattice enters a VPC; a
//! resource configuration names what behind it may be reached — a DNS name or an IP address, on
//! the ports of `PortRanges`, over TCP
//! (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/resource-configuration.html>,
//! <https://docs.aws.amazon.com/vpc-lattice/latest/ug/resource-gateway.html>).
//!
//! [`ResourceGateway::open`] is one TCP connection along that path:
//! 1. the port must lie in the configuration's `PortRanges` (else refused);
//! 2. traffic enters the gateway's ENI *from outside the VPC*: the gateway's security groups must
//!    admit it — AWS requires all TCP from `0.0.0.0/0` and `::/0` for EventBridge and Step Functions,
//!    and a narrower group (the VPC's range only) drops it, so the caller times out;
//! 3. the DNS resource is resolved by the public resolvers (`ResourceConfigDnsResolution: PUBLIC`,
//!    the default: names the world publishes, never a private hosted zone) or in the gateway's
//!    VPC (`IN_VPC`: its private zones too);
//! 4. the gateway's ENI opens the connection to the answer, checked against the gateway's egress
//!    and the target's ingress rules. The target sees the gateway ENI's address as the source.
//!
//! Lattice forwards bytes: TLS runs end to end between the caller and the target.
//!
//! Service networks (services, listeners, rules, target groups, auth policies, access logs) are
//! in [`service_network`] and its sibling modules.

pub mod access_log;
pub mod auth;
pub mod service_network;
pub mod target_group;
pub mod workload;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use tokio::io::DuplexStream;

use crate::dns::{ResolveError, VpcResolver};
use crate::trace::{Trace, Verdict};
use crate::vpc::{self, ConnectError, Eni, Network, Source};

/// The address Lattice's traffic appears to come from when it enters a resource gateway.
///
/// fidelity: AWS does not document the source range of traffic into a resource gateway; it
/// documents that the gateway's group must admit all TCP from 0.0.0.0/0 and ::/0. vpcgate uses an
/// address from Lattice's link-local range (169.254.171.0/24), outside every VPC range, so a group
/// narrowed to the VPC's own range drops it as in the seed.
pub const LATTICE_SOURCE_IP: &str = "169.254.171.10";

/// The emulated public resolver the gateways with `ResourceConfigDnsResolution: PUBLIC` ask
/// (vpcgate's address, on the emulated internet's TEST-NET-2 range).
pub const PUBLIC_RESOLVER_IP: &str = "198.51.100.53";

/// `ResourceConfigDnsResolution`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsResolution {
    /// Public resolvers (the default).
    Public,
    /// The VPC's own resolver.
    InVpc,
}

/// A resource gateway as the model describes it.
#[derive(Clone, Debug)]
pub struct ResourceGatewayConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `rgw-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `VpcIdentifier`.
    pub vpc_id: String,
    /// `SubnetIds`.
    pub subnet_ids: Vec<String>,
    /// `SecurityGroupIds`.
    pub security_groups: Vec<String>,
    /// `ResourceConfigDnsResolution`.
    pub dns_resolution: DnsResolution,
}

/// `ResourceConfigurationDefinition`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceDefinition {
    /// `DnsResource`.
    Dns {
        /// `DomainName`.
        domain_name: String,
    },
    /// `IpResource`.
    Ip {
        /// `IpAddress`.
        ip: IpAddr,
    },
}

impl std::fmt::Display for ResourceDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResourceDefinition::Dns { domain_name } => write!(f, "DNS resource {domain_name}"),
            ResourceDefinition::Ip { ip } => write!(f, "IP resource {ip}"),
        }
    }
}

/// `ResourceConfigurationAuthType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// No authorization.
    None,
    /// Callers need `vpc-lattice-svcs:Invoke`.
    AwsIam,
}

/// A resource configuration as the model describes it.
#[derive(Clone, Debug)]
pub struct ResourceConfigurationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `rcfg-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The gateway's id.
    pub gateway_id: String,
    /// What it reaches.
    pub definition: ResourceDefinition,
    /// `PortRanges` as inclusive ranges.
    pub port_ranges: Vec<(u16, u16)>,
    /// `ResourceConfigurationAuthType`.
    pub auth: AuthType,
}

impl ResourceConfigurationConfig {
    /// Whether `port` is in `PortRanges`.
    pub fn allows_port(&self, port: u16) -> bool {
        self.port_ranges
            .iter()
            .any(|(a, b)| *a <= port && port <= *b)
    }
}

/// A running resource gateway.
#[derive(Clone, Debug)]
pub struct ResourceGateway {
    /// Its configuration.
    pub config: ResourceGatewayConfig,
    /// One ENI per subnet.
    pub enis: Vec<Arc<Eni>>,
    resolver: VpcResolver,
}

/// Why a connection through Lattice failed at once (drops never fail: they never complete).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LatticeError {
    /// The port is not in the configuration's `PortRanges`.
    #[error("port {port} is not in the port ranges of resource configuration {arn}")]
    PortNotAllowed {
        /// The configuration.
        arn: String,
        /// The port asked for.
        port: u16,
    },
    /// The DNS resource did not resolve in the VPC.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The target refused the connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The configuration's gateway is unknown.
    #[error("resource configuration {arn} names an unknown resource gateway {gateway}")]
    NoGateway {
        /// The configuration.
        arn: String,
        /// The gateway id.
        gateway: String,
    },
}

/// Errors starting a gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// An ENI could not be made.
    #[error("resource gateway {name}: {source}")]
    Eni {
        /// The gateway.
        name: String,
        /// Why.
        #[source]
        source: vpc::EniError,
    },
}

impl ResourceGateway {
    /// Creates the gateway's ENIs; `resolver` is the VPC's resolver seen from them.
    pub fn start(
        net: &Network,
        config: ResourceGatewayConfig,
        resolver: impl Fn(IpAddr) -> VpcResolver,
    ) -> Result<Self, GatewayError> {
        let mut enis = Vec::new();
        for subnet in &config.subnet_ids {
            let eni = net
                .create_eni(
                    subnet,
                    config.security_groups.clone(),
                    format!("VPC Lattice resource gateway {}", config.id),
                )
                .map_err(|source| GatewayError::Eni {
                    name: config.name.clone(),
                    source,
                })?;
            enis.push(eni);
        }
        let resolver = resolver(
            enis.first()
                .map(|e| e.ip)
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        Ok(Self {
            config,
            enis,
            resolver,
        })
    }

    /// Opens a TCP connection to `port` of `resource` through this gateway.
    pub async fn open(
        &self,
        net: &Network,
        resource: &ResourceConfigurationConfig,
        port: u16,
        trace: &Trace,
    ) -> Result<DuplexStream, LatticeError> {
        if !resource.allows_port(port) {
            trace.hop(
                "lattice",
                Verdict::Refuse,
                format!(
                    "port {port} is outside PortRanges {:?} of {}: refused",
                    resource.port_ranges, resource.name
                ),
            );
            return Err(LatticeError::PortNotAllowed {
                arn: resource.arn.clone(),
                port,
            });
        }
        let entry = self
            .enis
            .first()
            .expect("a gateway has at least one subnet");
        let lattice_ip: IpAddr = LATTICE_SOURCE_IP.parse().expect("literal address");
        let groups: Vec<vpc::SecurityGroup> =
            entry.groups.iter().filter_map(|g| net.group(g)).collect();
        // AWS requires the gateway's groups to admit all TCP on all ports from 0.0.0.0/0 and
        // ::/0 for EventBridge and Step Functions, and answers "Connection Timed Out" otherwise
        // (eventbridge/latest/userguide/connection-private-rc-provider.html): a group admitting
        // only the destination port, or only some sources, drops Lattice's traffic.
        for range in ["0.0.0.0/0", "::/0"] {
            let range: IpNet = range.parse().expect("literal range");
            let admitted = vpc::sg::record(
                trace,
                vpc::sg::admits_all_tcp(groups.iter(), range),
                || {
                    format!(
                        "resource gateway {} ENI {} {}:{port}",
                        self.config.name, entry.id, entry.ip
                    )
                },
                |group, rule| {
                    format!(
                        "ingress of resource gateway {} ENI {} ({}) allows all TCP from {range}, as VPC Lattice ({lattice_ip}, outside the VPC) needs for tcp/{port}: {group} rule {rule}",
                        self.config.name, entry.id, entry.ip
                    )
                },
                |reason| {
                    format!(
                        "VPC Lattice ({lattice_ip}, outside the VPC) -> resource gateway {} ENI {}:{port}: {reason}; dropped, the connection times out (AWS requires the gateway's group to allow all TCP from 0.0.0.0/0 and ::/0)",
                        self.config.name, entry.ip
                    )
                },
            );
            if !admitted {
                return std::future::pending().await;
            }
        }
        let target_ip = match &resource.definition {
            ResourceDefinition::Ip { ip } => *ip,
            ResourceDefinition::Dns { domain_name } => {
                let ips = self.resolver.lookup_ipv4(domain_name, trace).await?;
                ips[0]
            }
        };
        let dst = SocketAddr::new(target_ip, port);
        trace.pass(
            "lattice",
            format!(
                "resource gateway {} forwards to {dst} from {} ({})",
                self.config.name, entry.ip, entry.id
            ),
        );
        let stream = net
            .connect(&Source::Eni(entry.clone()), &self.config.vpc_id, dst, trace)
            .await?;
        Ok(stream)
    }
}

/// The private IPv4 ranges an IP resource may name
/// (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/resource-configuration.html>).
pub fn private_ranges() -> [IpNet; 4] {
    [
        "10.0.0.0/8".parse().expect("literal"),
        "100.64.0.0/10".parse().expect("literal"),
        "172.16.0.0/12".parse().expect("literal"),
        "192.168.0.0/16".parse().expect("literal"),
    ]
}

/// Whether `ip` is in one of [`private_ranges`].
pub fn is_private(ip: IpAddr) -> bool {
    private_ranges().iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_inclusive() {
        let rc = ResourceConfigurationConfig {
            logical_id: "Rc".into(),
            name: "rc".into(),
            id: "rcfg-1".into(),
            arn: "arn".into(),
            gateway_id: "rgw-1".into(),
            definition: ResourceDefinition::Dns {
                domain_name: "eb-demo.example.com".into(),
            },
            port_ranges: vec![(443, 443), (8000, 8080)],
            auth: AuthType::AwsIam,
        };
        assert!(rc.allows_port(443));
        assert!(rc.allows_port(8080));
        assert!(!rc.allows_port(80));
    }

    #[test]
    fn only_private_ranges_are_private() {
        assert!(is_private("10.1.2.3".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(is_private("192.168.0.4".parse().unwrap()));
        assert!(!is_private("8.8.8.8".parse().unwrap()));
        assert!(!is_private("172.32.0.1".parse().unwrap()));
    }
}
