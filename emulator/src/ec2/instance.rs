//! Instances: an ENI in a subnet from which clients open connections and send requests.
//!
//! [`connect`] is "open a TCP connection from this instance to host:port": the name is resolved
//! by the instance VPC's resolver, the route table decides where the packets go
//! ([`super::route`]), the instance's security groups' egress rules apply, and inside the VPC the
//! target's ingress rules too (through a NAT instance, its groups' ingress and egress rules). What AWS would drop never completes (the caller's timer decides);
//! a name that does not exist fails at once with NXDOMAIN; a port nobody listens on is refused.
//! [`request`] sends one HTTP(S) request over such a connection, trusting the emulated public CA.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;

use super::route::{self, Outcome};
use super::{Ec2Model, Fabric, InstanceConfig, StartError};
use crate::dns::ResolveError;
use crate::trace::{Trace, Verdict};
use crate::vpc::sg::{self, Direction, IpProtocol};
use crate::vpc::{ConnectError, Eni, Network, Source};

/// A running instance.
#[derive(Debug)]
pub struct Instance {
    /// Its configuration.
    pub config: InstanceConfig,
    /// Its primary network interface.
    pub eni: Arc<Eni>,
    /// Its other network interfaces, by device index (1, 2, …).
    pub secondary_enis: Vec<Arc<Eni>>,
    /// Its public IPv4 address, if it has one.
    pub public_ip: Option<Ipv4Addr>,
}

impl Instance {
    #[cfg(test)]
    pub(crate) fn create(
        net: &Network,
        model: &Ec2Model,
        config: &InstanceConfig,
        index: usize,
    ) -> Result<Self, StartError> {
        Self::create_with(net, model, config, index, &HashMap::new())
    }

    /// Creates the instance on the network interfaces already made (`interfaces`, by id): its
    /// primary one when the template attached an existing `AWS::EC2::NetworkInterface`, and
    /// its secondary ones.
    pub(crate) fn create_with(
        net: &Network,
        model: &Ec2Model,
        config: &InstanceConfig,
        index: usize,
        interfaces: &HashMap<String, Arc<Eni>>,
    ) -> Result<Self, StartError> {
        let attached = |id: &String| {
            interfaces
                .get(id)
                .cloned()
                .ok_or_else(|| StartError::UnknownInterface {
                    instance: config.id.clone(),
                    interface: id.clone(),
                })
        };
        let secondary_enis = config
            .secondary_interfaces
            .iter()
            .map(attached)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(id) = &config.primary_interface {
            return Ok(Self {
                config: config.clone(),
                eni: attached(id)?,
                secondary_enis,
                public_ip: super::public_ip_of(model, config, index),
            });
        }
        let description = format!("Primary network interface of {}", config.id);
        let eni = match config.private_ip {
            Some(ip) => net.create_eni_at(
                &config.subnet_id,
                IpAddr::V4(ip),
                config.security_groups.clone(),
                description,
            ),
            None => net.create_eni(
                &config.subnet_id,
                config.security_groups.clone(),
                description,
            ),
        }
        .map_err(|source| StartError::Eni {
            owner: config.id.clone(),
            source,
        })?;
        Ok(Self {
            config: config.clone(),
            eni,
            secondary_enis,
            public_ip: super::public_ip_of(model, config, index),
        })
    }

    /// The private IPv4 address.
    pub fn private_ip(&self) -> IpAddr {
        self.eni.ip
    }
}

/// Why a connection or request from an instance failed at once. (What AWS drops never fails: the
/// future stays pending.)
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The name does not resolve in the instance's VPC.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The target answered with a reset.
    #[error(transparent)]
    Refused(#[from] ConnectError),
    /// The instance's VPC has no resolver (it is not in the world).
    #[error("the instance's VPC {vpc_id} has no resolver")]
    NoResolver {
        /// The VPC.
        vpc_id: String,
    },
    /// VPC Lattice refused the connection.
    #[error("VPC Lattice: {reason}")]
    Lattice {
        /// Lattice's error.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The server name.
        host: String,
        /// rustls' error.
        reason: String,
    },
    /// The request is not one an HTTP client could send (no host, bad scheme).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Why.
        reason: String,
    },
    /// The HTTP exchange failed after the connection opened.
    #[error("HTTP exchange failed: {reason}")]
    Http {
        /// hyper's error.
        reason: String,
    },
}

/// Opens a TCP connection from `instance` to `host:port` (a name or an address).
pub async fn connect<F: Fabric>(
    world: &F,
    instance: &Instance,
    host: &str,
    port: u16,
    trace: &Trace,
) -> Result<DuplexStream, OpenError> {
    let eni = &instance.eni;
    let vpc_id = &eni.vpc_id;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match host.parse() {
        Ok(ip) => ip,
        Err(_) => {
            let server = world.dns(vpc_id).ok_or_else(|| OpenError::NoResolver {
                vpc_id: vpc_id.clone(),
            })?;
            let ips = server.resolver(eni.ip).lookup_ipv4(host, trace).await?;
            // Clients try the first address (a real client may try the others; every address of
            // an emulated name leads to the same place).
            match ips.first() {
                Some(ip) => *ip,
                None => {
                    return Err(OpenError::Resolve(ResolveError::NoData {
                        name: host.to_string(),
                        record_type: "A".into(),
                        server: server.address(),
                    }));
                }
            }
        }
    };
    connect_addr(world, eni, SocketAddr::new(ip, port), trace).await
}

/// Opens a TCP connection from `eni` to `dst` (an address already resolved): the route table of
/// the ENI's subnet decides where the packets go (the public address is the instance's, if the
/// ENI is an instance's), security groups apply, and what AWS drops never completes. Lattice
/// clients call this for addresses that are not Lattice's.
pub async fn connect_addr<F: Fabric>(
    world: &F,
    eni: &Arc<Eni>,
    dst: SocketAddr,
    trace: &Trace,
) -> Result<DuplexStream, OpenError> {
    let vpc_id = &eni.vpc_id;
    let (ip, port) = (dst.ip(), dst.port());
    if ip.is_loopback() || ip.is_unspecified() || port == 0 {
        // The instance's own loopback: the emulated instance runs no processes, so nothing
        // listens there and the kernel answers with a reset at once (never the host's loopback).
        trace.hop(
            "route",
            Verdict::Drop,
            format!(
                "{} -> {dst}: the instance's own loopback (or port 0); nothing listens there: connection refused",
                eni.ip
            ),
        );
        return Err(OpenError::Refused(ConnectError::Refused { addr: dst }));
    }
    if world.is_lattice_address(ip) {
        // A VPC Lattice service's address (the VPC is associated with its service network).
        return world.lattice_connect(eni, dst, trace).await;
    }
    let ec2 = world.ec2();
    let public_ip = ec2
        .instances()
        .iter()
        .find(|i| i.eni.id == eni.id)
        .and_then(|i| i.public_ip);
    let IpAddr::V4(v4) = ip else {
        trace.hop(
            "route",
            Verdict::Drop,
            format!("{ip}: the emulated VPCs are IPv4-only; dropped"),
        );
        return std::future::pending().await;
    };
    let decision = route::decide(
        ec2.model(),
        ec2.vpc_cidr(vpc_id),
        vpc_id,
        &eni.subnet_id,
        v4,
        public_ip,
    );
    match decision.outcome.clone() {
        Outcome::Local => {
            trace.info("route", format!("{} -> {dst}: {decision}", eni.ip));
            Ok(world
                .net()
                .connect(&Source::Eni(eni.clone()), vpc_id, dst, trace)
                .await?)
        }
        Outcome::Dropped { .. } => {
            trace.hop(
                "route",
                Verdict::Drop,
                format!(
                    "{} ({}) -> {dst}: {decision}; the SYN goes unanswered",
                    eni.ip, eni.subnet_id
                ),
            );
            std::future::pending().await
        }
        Outcome::Internet { public_ip, .. } => {
            trace.info("route", format!("{} -> {dst}: {decision}", eni.ip));
            if !source_egress(world, eni, dst, trace) {
                return std::future::pending().await;
            }
            let source = SocketAddr::new(IpAddr::V4(public_ip), 49152);
            Ok(ec2.internet.connect(source, dst, trace).await)
        }
        Outcome::NatInstance(nat) => {
            trace.info("route", format!("{} -> {dst}: {decision}", eni.ip));
            if !source_egress(world, eni, dst, trace)
                || !nat_instance_admits(world, eni, &nat, dst, trace)
            {
                return std::future::pending().await;
            }
            let source = SocketAddr::new(IpAddr::V4(nat.public_ip), 49152);
            Ok(ec2.internet.connect(source, dst, trace).await)
        }
    }
}

/// Whether the egress rules of the source `eni`'s groups let a TCP connection out to `dst` (a
/// `sg` hop either way).
fn source_egress<F: Fabric>(world: &F, eni: &Eni, dst: SocketAddr, trace: &Trace) -> bool {
    let (ip, port) = (dst.ip(), dst.port());
    let groups: Vec<_> = eni
        .groups
        .iter()
        .filter_map(|g| world.net().group(g))
        .collect();
    match sg::check(&groups, Direction::Egress, IpProtocol::Tcp, port, ip, &[]) {
        sg::Verdict::Allow { group, rule } => {
            trace.pass(
                "sg",
                format!(
                    "egress of {} ({}) allows tcp/{port} to {ip}: {group} rule {rule}",
                    eni.id, eni.ip
                ),
            );
            true
        }
        sg::Verdict::Drop { reason } => {
            trace.hop(
                "sg",
                Verdict::Drop,
                format!(
                    "{} -> {dst}: {reason}; dropped, the SYN goes unanswered",
                    eni.ip
                ),
            );
            false
        }
    }
}

/// Whether a NAT instance's groups let the connection from `eni` through: the ingress rules of
/// the interface it arrives on (from the source's private address and groups), then the egress
/// rules of the primary interface it leaves through (to `dst`). An `sg` hop for each check made.
fn nat_instance_admits<F: Fabric>(
    world: &F,
    eni: &Eni,
    nat: &route::NatInstance,
    dst: SocketAddr,
    trace: &Trace,
) -> bool {
    let port = dst.port();
    let groups =
        |ids: &[String]| -> Vec<_> { ids.iter().filter_map(|g| world.net().group(g)).collect() };
    let checks = [
        (
            Direction::Ingress,
            &nat.ingress_groups,
            eni.ip,
            eni.groups.as_slice(),
            "from",
        ),
        (
            Direction::Egress,
            &nat.egress_groups,
            dst.ip(),
            &[][..],
            "to",
        ),
    ];
    for (direction, ids, peer, peer_groups, with) in checks {
        let what = match direction {
            Direction::Ingress => format!("ingress of {} (NAT instance)", nat.interface),
            Direction::Egress => format!("egress of {} (NAT instance)", nat.instance_id),
        };
        match sg::check(
            &groups(ids),
            direction,
            IpProtocol::Tcp,
            port,
            peer,
            peer_groups,
        ) {
            sg::Verdict::Allow { group, rule } => trace.pass(
                "sg",
                format!("{what} allows tcp/{port} {with} {peer}: {group} rule {rule}"),
            ),
            sg::Verdict::Drop { reason } => {
                trace.hop(
                    "sg",
                    Verdict::Drop,
                    format!(
                        "{} -> {dst} through {what}: {reason}; dropped, the SYN goes unanswered",
                        eni.ip
                    ),
                );
                return false;
            }
        }
    }
    true
}

/// Sends `req` from `instance`: the URI's scheme (`http` or `https`), host and port say where;
/// HTTPS trusts the emulated public CA only. The response body is read whole.
pub async fn request<F: Fabric>(
    world: &F,
    instance: &Instance,
    mut req: http::Request<Bytes>,
    trace: &Trace,
) -> Result<http::Response<Bytes>, OpenError> {
    let uri = req.uri().clone();
    let invalid = |reason: &str| OpenError::InvalidRequest {
        reason: reason.to_string(),
    };
    let host = uri
        .host()
        .ok_or_else(|| invalid("the URI has no host"))?
        .to_string();
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(invalid("the scheme must be http or https")),
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    if !req.headers().contains_key(http::header::HOST) {
        let value = if uri.port_u16().is_some() {
            format!("{host}:{port}")
        } else {
            host.clone()
        };
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            req.headers_mut().insert(http::header::HOST, v);
        }
    }
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    *req.uri_mut() = path
        .parse()
        .map_err(|_| invalid("the path is not a valid URI"))?;
    let stream = connect(world, instance, &host, port, trace).await?;
    let (parts, body) = req.into_parts();
    let req = http::Request::from_parts(parts, Full::new(body));
    let resp = if tls {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| invalid("the host is not a valid server name"))?;
        let connector = tokio_rustls::TlsConnector::from(world.tls_client().clone());
        let stream = connector
            .connect(name, stream)
            .await
            .map_err(|e| OpenError::Tls {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        exchange(TokioIo::new(stream), req).await?
    } else {
        exchange(TokioIo::new(stream), req).await?
    };
    Ok(resp)
}

async fn exchange<T>(
    io: TokioIo<T>,
    req: http::Request<Full<Bytes>>,
) -> Result<http::Response<Bytes>, OpenError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let http_err = |e: hyper::Error| OpenError::Http {
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(http_err)?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(http_err)?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(http_err)?.to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, StackLinks};

    /// A template may pin `PrivateIpAddress` to an address AWS reserves (the first four of every
    /// subnet: <https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html>): the
    /// scenario loads, and the instance does not start.
    #[test]
    fn a_pinned_address_must_be_usable() {
        let doc = serde_json::json!({
            "Vpcgate": {"Region": "ap-northeast-1"},
            "Resources": {
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
                "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "ap-northeast-1a"}},
                "Host": {"Type": "AWS::EC2::Instance", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "PrivateIpAddress": "10.0.0.2"}}
            }
        });
        let (m, _) = Scenario::parse(&doc.to_string(), "inline.json")
            .unwrap()
            .build(&StackLinks::default())
            .unwrap();
        let net = Network::new();
        for vpc in &m.vpcs {
            net.add_vpc(vpc.clone());
        }
        let err = Instance::create(&net, &m.ec2, &m.ec2.instances[0], 0).unwrap_err();
        assert!(err.to_string().contains("reserved by AWS"), "{err}");
    }
}
