//! The virtual VPC network.
//!
//! Every network interface (ENI) of the emulated world — ALB nodes, resource-gateway ENIs, VPC
//! link ENIs, endpoint ENIs, instances — gets an address from its subnet. Connections between them
//! are in-memory streams ([`tokio::io::duplex`]), never host sockets, so an internal ALB is
//! reachable only along the modelled paths, and TLS and HTTP run over them unchanged.
//!
//! [`Network::connect`] applies security groups when a connection opens, statefully, with AWS's
//! semantics ([`sg`]): egress of the source's groups, ingress of the target's groups. What the groups
//! do not allow is dropped like a lost SYN: the returned future never completes, so the caller's own
//! timer decides what happens — this is the seed's "narrow the resource gateway's security group
//! and requests time out". An address that has an ENI but no listener on the port answers with a
//! reset (refused at once); an address no ENI holds swallows the SYN (no answer at all).
//!
//! A component listens either with a queue it accepts from ([`Network::listen`]) or with an
//! acceptor ([`Network::serve`]) that the dialling task calls with each connection it opens, so
//! the connection is served on the runtime that dialled it: under `serve`'s sharded world
//! (`crate::clock`, shards) a request and the hops it causes stay on one world thread.

pub mod pool;
pub mod sg;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use ipnet::{IpNet, Ipv4Net};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use crate::trace::{Detail, Trace, Verdict as TraceVerdict};
pub use sg::{Direction, IpProtocol, SecurityGroup, SgId};

/// Buffer size of each direction of an in-memory connection.
const STREAM_BUFFER: usize = 64 * 1024;

/// A subnet of a VPC.
#[derive(Clone, Debug)]
pub struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// The owning VPC.
    pub vpc_id: String,
    /// The subnet's IPv4 range.
    pub cidr: Ipv4Net,
    /// Its availability zone.
    pub availability_zone: String,
}

/// A VPC: its range and subnets.
#[derive(Clone, Debug)]
pub struct Vpc {
    /// `vpc-…`.
    pub id: String,
    /// The CloudFormation logical id, for messages.
    pub logical_id: String,
    /// The primary IPv4 range.
    pub cidr: Ipv4Net,
    /// The subnets.
    pub subnets: Vec<Subnet>,
}

impl Vpc {
    /// The Amazon-provided DNS server: the VPC range's base address plus two
    /// (<https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html>).
    pub fn dns_server(&self) -> IpAddr {
        let base = u32::from(self.cidr.network());
        IpAddr::V4(Ipv4Addr::from(base + 2))
    }
}

/// An elastic network interface.
#[derive(Clone, Debug)]
pub struct Eni {
    /// `eni-…`.
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// The subnet.
    pub subnet_id: String,
    /// Its private address.
    pub ip: IpAddr,
    /// The security groups it carries.
    pub groups: Vec<SgId>,
    /// What owns it (`ELB app/…`, `VPC Lattice resource gateway rgw-…`), as EC2 describes it.
    pub description: String,
}

/// Where a connection comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// An ENI inside a VPC: its groups' egress rules apply.
    Eni(Arc<Eni>),
    /// A service outside the VPC (VPC Lattice, API Gateway's side of a VPC link) entering it
    /// through an ENI: no egress rules apply on its side.
    Outside {
        /// The source address the target's ingress rules see.
        ip: IpAddr,
        /// Who it is, for the trace.
        label: String,
    },
}

impl Source {
    fn ip(&self) -> IpAddr {
        match self {
            Source::Eni(eni) => eni.ip,
            Source::Outside { ip, .. } => *ip,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Eni(eni) => write!(f, "{} ({}, {})", eni.ip, eni.id, eni.description),
            Source::Outside { ip, label } => write!(f, "{ip} ({label})"),
        }
    }
}

/// A connection handed to a listener.
#[derive(Debug)]
pub struct Inbound {
    /// The server's end of the stream.
    pub stream: DuplexStream,
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The address and port that accepted it.
    pub local: SocketAddr,
    /// The trace of the request that opened the connection.
    pub trace: Trace,
}

/// Accepts in-memory connections on one ENI address and port.
#[derive(Debug)]
pub struct Listener {
    rx: mpsc::Receiver<Inbound>,
    local: SocketAddr,
}

impl Listener {
    /// The next connection, or `None` once the network is gone.
    pub async fn accept(&mut self) -> Option<Inbound> {
        self.rx.recv().await
    }

    /// The address and port listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// What a connection to a listening address is handed to.
#[derive(Clone)]
enum Endpoint {
    /// [`Network::listen`]: queued for its accept loop.
    Queue(mpsc::Sender<Inbound>),
    /// [`Network::serve`]: handed to its acceptor by the dialling task.
    Serve(Arc<Acceptor>),
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Queue(_) => "Queue",
            Endpoint::Serve(_) => "Serve",
        })
    }
}

/// The function a [`Network::serve`] listener hands each connection to.
struct Acceptor(Box<dyn Fn(Inbound) + Send + Sync>);

/// A listener of [`Network::serve`]: it listens until this is dropped.
#[must_use = "the listener closes when this is dropped"]
pub struct Serving {
    net: Weak<Inner>,
    key: (String, SocketAddr),
    acceptor: Arc<Acceptor>,
}

impl fmt::Debug for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serving")
            .field("local", &self.key.1)
            .finish()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let Some(inner) = self.net.upgrade() else {
            return;
        };
        let mut listeners = inner.listeners.write().expect("lock");
        // Unless a later listener replaced it.
        if matches!(listeners.get(&self.key), Some(Endpoint::Serve(a)) if Arc::ptr_eq(a, &self.acceptor))
        {
            listeners.remove(&self.key);
        }
    }
}

/// Why a connection failed at once (drops never fail: they never complete).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The target ENI answered with a reset: nothing listens on that port.
    #[error("connection refused by {addr}: nothing listens on that port")]
    Refused {
        /// The target.
        addr: SocketAddr,
    },
}

/// Why an ENI could not be created.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EniError {
    /// The subnet is not known.
    #[error("unknown subnet {subnet}")]
    UnknownSubnet {
        /// The subnet id.
        subnet: String,
    },
    /// The address asked for is taken, reserved or outside the subnet.
    #[error("address {ip} is not available in subnet {subnet} ({cidr}): {reason}")]
    AddressUnavailable {
        /// The subnet id.
        subnet: String,
        /// Its range.
        cidr: Ipv4Net,
        /// The address.
        ip: IpAddr,
        /// Why.
        reason: &'static str,
    },
    /// The subnet has no free address left.
    #[error("subnet {subnet} ({cidr}) has no free address")]
    SubnetFull {
        /// The subnet id.
        subnet: String,
        /// Its range.
        cidr: Ipv4Net,
    },
}

#[derive(Debug, Default)]
struct Inner {
    vpcs: RwLock<HashMap<String, Vpc>>,
    subnets: RwLock<HashMap<String, Subnet>>,
    groups: RwLock<HashMap<SgId, SecurityGroup>>,
    enis: RwLock<HashMap<(String, IpAddr), Arc<Eni>>>,
    listeners: RwLock<HashMap<(String, SocketAddr), Endpoint>>,
    next_host: Mutex<HashMap<String, u32>>,
    next_eni: Mutex<u64>,
    next_port: AtomicU16,
    /// Connections kept alive between requests ([`pool`]).
    pool: pool::Pool,
}

/// A handle to the virtual network. Clones share the same network.
#[derive(Clone, Debug, Default)]
pub struct Network {
    inner: Arc<Inner>,
}

impl Network {
    /// An empty network.
    pub fn new() -> Self {
        let net = Self::default();
        net.inner.next_port.store(32768, Ordering::Relaxed);
        net
    }

    /// Adds a VPC with its subnets.
    pub fn add_vpc(&self, vpc: Vpc) {
        let mut subnets = self.inner.subnets.write().expect("lock");
        for s in &vpc.subnets {
            subnets.insert(s.id.clone(), s.clone());
        }
        self.inner
            .vpcs
            .write()
            .expect("lock")
            .insert(vpc.id.clone(), vpc);
    }

    /// The connections kept alive between requests on this network ([`pool`]).
    pub fn pool(&self) -> &pool::Pool {
        &self.inner.pool
    }

    /// Adds or replaces a security group (kept-alive connections close: the next request opens
    /// one under the new rules).
    pub fn put_group(&self, group: SecurityGroup) {
        self.inner.pool.clear();
        self.inner
            .groups
            .write()
            .expect("lock")
            .insert(group.id.clone(), group);
    }

    /// A copy of a security group.
    pub fn group(&self, id: &str) -> Option<SecurityGroup> {
        self.inner.groups.read().expect("lock").get(id).cloned()
    }

    /// A copy of a VPC.
    pub fn vpc(&self, id: &str) -> Option<Vpc> {
        self.inner.vpcs.read().expect("lock").get(id).cloned()
    }

    /// A copy of a subnet.
    pub fn subnet(&self, id: &str) -> Option<Subnet> {
        self.inner.subnets.read().expect("lock").get(id).cloned()
    }

    fn known_subnet(&self, subnet_id: &str) -> Result<Subnet, EniError> {
        self.subnet(subnet_id)
            .ok_or_else(|| EniError::UnknownSubnet {
                subnet: subnet_id.to_string(),
            })
    }

    /// Creates an ENI in `subnet_id` with the next free address (AWS reserves the first four and
    /// the last address of every subnet: <https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html>).
    pub fn create_eni(
        &self,
        subnet_id: &str,
        groups: Vec<SgId>,
        description: impl Into<String>,
    ) -> Result<Arc<Eni>, EniError> {
        let subnet = self.known_subnet(subnet_id)?;
        let size = 1u64 << (32 - subnet.cidr.prefix_len());
        let mut next = self.inner.next_host.lock().expect("lock");
        let offset = next.entry(subnet.id.clone()).or_insert(4);
        let ip = loop {
            if u64::from(*offset) >= size.saturating_sub(1) {
                return Err(EniError::SubnetFull {
                    subnet: subnet.id.clone(),
                    cidr: subnet.cidr,
                });
            }
            let ip = IpAddr::V4(Ipv4Addr::from(u32::from(subnet.cidr.network()) + *offset));
            *offset += 1;
            // Skip addresses given out by `create_eni_at`.
            if self.eni_at(&subnet.vpc_id, ip).is_none() {
                break ip;
            }
        };
        drop(next);
        Ok(self.register_eni(&subnet, ip, groups, description.into()))
    }

    /// Creates an ENI in `subnet_id` at `ip` (an instance's `PrivateIpAddress`): it must lie in
    /// the subnet, not be one of the five addresses AWS reserves, and be free.
    pub fn create_eni_at(
        &self,
        subnet_id: &str,
        ip: IpAddr,
        groups: Vec<SgId>,
        description: impl Into<String>,
    ) -> Result<Arc<Eni>, EniError> {
        let subnet = self.known_subnet(subnet_id)?;
        let unavailable = |reason| EniError::AddressUnavailable {
            subnet: subnet.id.clone(),
            cidr: subnet.cidr,
            ip,
            reason,
        };
        let IpAddr::V4(v4) = ip else {
            return Err(unavailable("the emulated subnets are IPv4-only"));
        };
        if !subnet.cidr.contains(&v4) {
            return Err(unavailable("outside the subnet"));
        }
        let offset = u32::from(v4) - u32::from(subnet.cidr.network());
        let size = 1u64 << (32 - subnet.cidr.prefix_len());
        if offset < 4 || u64::from(offset) == size - 1 {
            return Err(unavailable("reserved by AWS"));
        }
        if self.eni_at(&subnet.vpc_id, ip).is_some() {
            return Err(unavailable("in use"));
        }
        Ok(self.register_eni(&subnet, ip, groups, description.into()))
    }

    fn register_eni(
        &self,
        subnet: &Subnet,
        ip: IpAddr,
        groups: Vec<SgId>,
        description: String,
    ) -> Arc<Eni> {
        let n = {
            let mut next_eni = self.inner.next_eni.lock().expect("lock");
            *next_eni += 1;
            *next_eni
        };
        let eni = Arc::new(Eni {
            id: format!("eni-{:017x}", 0x0a11_0000_0000u64 + n),
            vpc_id: subnet.vpc_id.clone(),
            subnet_id: subnet.id.clone(),
            ip,
            groups,
            description,
        });
        self.inner
            .enis
            .write()
            .expect("lock")
            .insert((eni.vpc_id.clone(), ip), eni.clone());
        eni
    }

    /// Listens on `port` of `eni`. Replaces an earlier listener on the same port.
    pub fn listen(&self, eni: &Eni, port: u16) -> Listener {
        let (tx, rx) = mpsc::channel(1024);
        let local = SocketAddr::new(eni.ip, port);
        self.inner.pool.clear();
        self.inner
            .listeners
            .write()
            .expect("lock")
            .insert((eni.vpc_id.clone(), local), Endpoint::Queue(tx));
        Listener { rx, local }
    }

    /// Listens on `port` of `eni`, handing each connection to `accept` on the task that opens
    /// it (which spawns what serves it: on the dialler's runtime, so a request's hops stay on
    /// its world thread; see the module docs). Replaces an earlier listener on the same port;
    /// listens until the returned [`Serving`] is dropped.
    pub fn serve(
        &self,
        eni: &Eni,
        port: u16,
        accept: impl Fn(Inbound) + Send + Sync + 'static,
    ) -> Serving {
        let local = SocketAddr::new(eni.ip, port);
        let key = (eni.vpc_id.clone(), local);
        let acceptor = Arc::new(Acceptor(Box::new(accept)));
        self.inner.pool.clear();
        self.inner
            .listeners
            .write()
            .expect("lock")
            .insert(key.clone(), Endpoint::Serve(acceptor.clone()));
        Serving {
            net: Arc::downgrade(&self.inner),
            key,
            acceptor,
        }
    }

    /// Opens a TCP connection from `source` to `dst` inside `vpc_id`.
    ///
    /// Returns the client end of an in-memory stream, or [`ConnectError::Refused`] when the
    /// target ENI has no listener on the port. When a security group drops the connection, or no
    /// ENI holds the address, the future never completes, as a SYN that gets no answer: wrap the
    /// call in the caller's own timeout.
    pub async fn connect(
        &self,
        source: &Source,
        vpc_id: &str,
        dst: SocketAddr,
        trace: &Trace,
    ) -> Result<DuplexStream, ConnectError> {
        match self.admit(source, vpc_id, dst, trace) {
            Admission::Dropped => std::future::pending().await,
            Admission::Refused => Err(ConnectError::Refused { addr: dst }),
            Admission::Open(endpoint) => {
                let (client, server) = tokio::io::duplex(STREAM_BUFFER);
                let port = self.inner.next_port.fetch_add(1, Ordering::Relaxed);
                let port = if port < 32768 { 32768 + port } else { port };
                let inbound = Inbound {
                    stream: server,
                    peer: SocketAddr::new(source.ip(), port),
                    local: dst,
                    trace: trace.clone(),
                };
                let tx = match endpoint {
                    Endpoint::Serve(acceptor) => {
                        (acceptor.0)(inbound);
                        return Ok(client);
                    }
                    Endpoint::Queue(tx) => tx,
                };
                if tx.send(inbound).await.is_err() {
                    trace.hop_fmt(
                        "vpc",
                        TraceVerdict::Refuse,
                        format_args!("{dst} closed: connection refused"),
                    );
                    return Err(ConnectError::Refused { addr: dst });
                }
                Ok(client)
            }
        }
    }

    fn admit(&self, source: &Source, vpc_id: &str, dst: SocketAddr, trace: &Trace) -> Admission {
        let Some(target) = self
            .inner
            .enis
            .read()
            .expect("lock")
            .get(&(vpc_id.to_string(), dst.ip()))
            .cloned()
        else {
            trace.hop_with(
                "vpc",
                TraceVerdict::Drop,
                || {
                    Detail::at(format!("{dst} in {vpc_id}"))
                        .rule("no network interface holds the address")
                },
                format!(
                    "no network interface holds {} in {vpc_id}: the SYN goes unanswered",
                    dst.ip()
                ),
            );
            return Admission::Dropped;
        };
        let groups = self.inner.groups.read().expect("lock");
        let source_groups: Vec<SgId> = match source {
            Source::Eni(eni) => eni.groups.clone(),
            Source::Outside { .. } => Vec::new(),
        };
        if let Source::Eni(eni) = source {
            let verdict = sg::check(
                eni.groups.iter().filter_map(|g| groups.get(g)),
                Direction::Egress,
                IpProtocol::Tcp,
                dst.port(),
                dst.ip(),
                &target.groups,
            );
            let admitted = sg::record(
                trace,
                verdict,
                || format!("{} {} (egress)", eni.id, eni.ip),
                |group, rule| {
                    format!(
                        "egress of {} ({}) allows tcp/{} to {}: {group} rule {rule}",
                        eni.id,
                        eni.ip,
                        dst.port(),
                        dst.ip()
                    )
                },
                |reason| {
                    format!(
                        "{} -> {dst}: {reason}; dropped, the SYN goes unanswered",
                        eni.ip
                    )
                },
            );
            if !admitted {
                return Admission::Dropped;
            }
        }
        let verdict = sg::check(
            target.groups.iter().filter_map(|g| groups.get(g)),
            Direction::Ingress,
            IpProtocol::Tcp,
            dst.port(),
            source.ip(),
            &source_groups,
        );
        drop(groups);
        let admitted = sg::record(
            trace,
            verdict,
            || format!("{} {dst} ({})", target.id, target.description),
            |group, rule| {
                format!(
                    "ingress of {} ({}, {}) allows tcp/{} from {source}: {group} rule {rule}",
                    target.id,
                    target.ip,
                    target.description,
                    dst.port()
                )
            },
            |reason| {
                format!(
                    "{source} -> {dst} ({}): {reason}; dropped, the SYN goes unanswered",
                    target.description
                )
            },
        );
        if !admitted {
            return Admission::Dropped;
        }
        let listener = self
            .inner
            .listeners
            .read()
            .expect("lock")
            .get(&(vpc_id.to_string(), dst))
            .cloned();
        match listener {
            Some(endpoint) => Admission::Open(endpoint),
            None => {
                trace.hop_with(
                    "vpc",
                    TraceVerdict::Refuse,
                    || {
                        Detail::at(format!("{} {dst} ({})", target.id, target.description))
                            .rule(format!("no listener on port {}", dst.port()))
                    },
                    format!(
                        "{} ({}) has no listener on port {}: reset",
                        target.ip,
                        target.description,
                        dst.port()
                    ),
                );
                Admission::Refused
            }
        }
    }

    /// Every ENI, by VPC and address (the viewer's topology, `/_vpcgate/topology`).
    pub fn enis(&self) -> Vec<Arc<Eni>> {
        let mut v: Vec<Arc<Eni>> = self
            .inner
            .enis
            .read()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| (&a.vpc_id, a.ip).cmp(&(&b.vpc_id, b.ip)));
        v
    }

    /// The ENI holding `ip` in `vpc_id`, if any.
    pub fn eni_at(&self, vpc_id: &str, ip: IpAddr) -> Option<Arc<Eni>> {
        self.inner
            .enis
            .read()
            .expect("lock")
            .get(&(vpc_id.to_string(), ip))
            .cloned()
    }

    /// Whether `ip` lies inside `net`.
    pub fn contains(net: &IpNet, ip: IpAddr) -> bool {
        net.contains(&ip)
    }
}

enum Admission {
    Dropped,
    Refused,
    Open(Endpoint),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use sg::{Peer, Rule};

    fn world() -> (Network, Arc<Eni>, Arc<Eni>) {
        let net = Network::new();
        net.add_vpc(Vpc {
            id: "vpc-1".into(),
            logical_id: "Vpc".into(),
            cidr: "192.168.0.0/18".parse().unwrap(),
            subnets: vec![Subnet {
                id: "subnet-a".into(),
                vpc_id: "vpc-1".into(),
                cidr: "192.168.0.0/24".parse().unwrap(),
                availability_zone: "ap-northeast-1a".into(),
            }],
        });
        let tcp = |port, peer: &str| Rule {
            protocol: IpProtocol::Tcp,
            from_port: port,
            to_port: port,
            peer: if peer.starts_with("sg-") {
                Peer::Group(peer.into())
            } else {
                Peer::Cidr(peer.parse().unwrap())
            },
            description: None,
        };
        net.put_group(SecurityGroup {
            id: "sg-alb".into(),
            logical_id: "AlbSecurityGroup".into(),
            vpc_id: "vpc-1".into(),
            ingress: vec![tcp(443, "192.168.0.0/18")],
            egress: vec![Rule::allow_all_ipv4()],
        });
        net.put_group(SecurityGroup {
            id: "sg-client".into(),
            logical_id: "Client".into(),
            vpc_id: "vpc-1".into(),
            ingress: vec![],
            egress: vec![tcp(443, "sg-alb")],
        });
        let server = net
            .create_eni("subnet-a", vec!["sg-alb".into()], "ELB app/demo/1")
            .unwrap();
        let client = net
            .create_eni("subnet-a", vec!["sg-client".into()], "client")
            .unwrap();
        (net, server, client)
    }

    /// `client` opens a connection to `dst` in `vpc-1`.
    async fn dial(
        net: &Network,
        client: Arc<Eni>,
        dst: SocketAddr,
        trace: &Trace,
    ) -> Result<DuplexStream, ConnectError> {
        net.connect(&Source::Eni(client), "vpc-1", dst, trace).await
    }

    #[tokio::test(start_paused = true)]
    async fn allowed_connections_carry_bytes_both_ways() {
        let (net, server, client) = world();
        assert_eq!(server.ip.to_string(), "192.168.0.4");
        let mut listener = net.listen(&server, 443);
        tokio::spawn(async move {
            let mut inbound = listener.accept().await.unwrap();
            let mut buf = [0u8; 4];
            inbound.stream.read_exact(&mut buf).await.unwrap();
            inbound.stream.write_all(b"pong").await.unwrap();
        });
        let trace = Trace::new();
        let mut stream = dial(&net, client, SocketAddr::new(server.ip, 443), &trace)
            .await
            .unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        let hops = trace.hops();
        assert!(hops[0].message.contains("egress"), "{hops:?}");
        assert!(hops[1].message.contains("ingress"), "{hops:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_connections_never_complete() {
        let (net, server, _) = world();
        let _listener = net.listen(&server, 443);
        let outside = Source::Outside {
            ip: "169.254.171.1".parse().unwrap(),
            label: "VPC Lattice".into(),
        };
        let trace = Trace::new();
        let start = tokio::time::Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            net.connect(&outside, "vpc-1", SocketAddr::new(server.ip, 443), &trace),
        )
        .await;
        assert!(
            r.is_err(),
            "a dropped SYN must leave the caller's timer to fire"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        assert_eq!(trace.hops()[0].verdict, TraceVerdict::Drop);
    }

    #[tokio::test(start_paused = true)]
    async fn no_listener_is_refused_at_once() {
        let (net, server, client) = world();
        let trace = Trace::new();
        let err = dial(&net, client, SocketAddr::new(server.ip, 443), &trace)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ConnectError::Refused {
                addr: SocketAddr::new(server.ip, 443)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn egress_rules_of_the_source_apply() {
        let (net, server, client) = world();
        let _listener = net.listen(&server, 8443);
        let trace = Trace::new();
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            dial(&net, client, SocketAddr::new(server.ip, 8443), &trace),
        )
        .await;
        assert!(r.is_err());
        assert!(
            trace.hops()[0].message.contains("no egress rule"),
            "{:?}",
            trace.hops()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_addresses_swallow_the_syn() {
        let (net, _, client) = world();
        let trace = Trace::new();
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            dial(&net, client, "192.168.0.200:443".parse().unwrap(), &trace),
        )
        .await;
        assert!(r.is_err());
    }
}
