//! Network Load Balancers (<https://docs.aws.amazon.com/elasticloadbalancing/latest/network/introduction.html>).
//!
//! An NLB gets one node ENI per subnet (its Availability Zones); its DNS name
//! (`<name>-<16 hex>.elb.<region>.amazonaws.com`, both schemes) resolves to the nodes' addresses.
//! It works at layer 4: each listener accepts a connection on every node and opens one to a
//! target of its default `forward` action's target group, then copies bytes both ways.
//!
//! - **Listeners**: `TCP` passes the stream through; `TLS` terminates TLS with the listener's ACM
//!   certificates (by SNI, the first as default) and opens TCP — or TLS, when the target group's
//!   protocol is `TLS`, without verifying the target's certificate — to the target. `UDP` and
//!   `TCP_UDP` listeners load (CloudFormation accepts them) but listen on nothing: the emulated
//!   network carries TCP only.
//! - **Target groups** ([`TargetType`]): `instance` (the instance's ENI), `ip` (an address of the
//!   VPC, or this machine's loopback for a user's own service) and `alb` (an ALB as the target:
//!   TCP to the ALB node in the same Availability Zone on the target group's port, which must be
//!   an ALB listener's).
//! - **Health checks** ([`health`]) run on tokio's clock from the nodes. A target is in service
//!   once it passes one check. When every target of the group is unhealthy the NLB fails open
//!   (traffic to all of them); an empty target group fails open to nothing: the flow is never
//!   answered (<https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html>).
//!   A target that refuses (nothing listens) resets the client's connection.
//! - **Security groups** (`SecurityGroups`): when the NLB has them, the nodes' ingress rules
//!   filter clients, and targets can allow the NLB's group; an NLB created without any filters
//!   nothing at its nodes, and targets see (and must allow) the clients' addresses
//!   (<https://repost.aws/knowledge-center/security-group-load-balancer>).
//! - **Client IP preservation** (`preserve_client_ip.enabled`): on by default for `instance`
//!   targets, off for `ip` and `alb` targets with TCP/TLS; when off, targets see the node's
//!   address (same page; `edit-target-group-attributes.html#client-ip-preservation`).
//! - **Cross-zone** (`load_balancing.cross_zone.enabled`, off by default for NLBs): a node sends
//!   to targets in its own Availability Zone; with none there, vpcgate lets it use the others
//!   (AWS takes that node out of DNS instead, which lands on the same targets).
//! - **PrivateLink** ([`NetworkLoadBalancer::private_link_connect`]): how a REST API's VPC link v1
//!   reaches the NLB. Inbound rules apply unless
//!   `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` is `off`; the source address is the
//!   node's own (PrivateLink traffic reaches targets from the NLB's private addresses).

pub mod health;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;

pub use health::{HealthCheck, HealthCheckProtocol, HealthTable, TargetHealth, TargetState};

use crate::clock::Clock;
use crate::pki::IssuedCertificate;
use crate::trace::{Detail, Trace, Verdict};
use crate::vpc::{Eni, Network, SecurityGroup, Source};

/// Listener protocol of an NLB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// `TCP`: bytes pass through.
    Tcp,
    /// `TLS`: TLS is terminated at the node.
    Tls,
    /// `UDP`: loaded, not carried (the emulated network is TCP only).
    Udp,
    /// `TCP_UDP`: loaded; the TCP half is carried.
    TcpUdp,
}

impl ListenerProtocol {
    /// The CloudFormation spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TCP" => Self::Tcp,
            "TLS" => Self::Tls,
            "UDP" => Self::Udp,
            "TCP_UDP" => Self::TcpUdp,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ListenerProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Udp => "UDP",
            Self::TcpUdp => "TCP_UDP",
        })
    }
}

/// `TargetType` of an NLB target group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    /// `instance` (the default).
    Instance,
    /// `ip`.
    Ip,
    /// `alb`: one Application Load Balancer.
    Alb,
}

impl std::fmt::Display for TargetType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Instance => "instance",
            Self::Ip => "ip",
            Self::Alb => "alb",
        })
    }
}

/// A Network Load Balancer as the model describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NlbConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<id>`.
    pub arn: String,
    /// `<name>-<16 hex>.elb.<region>.amazonaws.com`.
    pub dns_name: String,
    /// `internal` (else `internet-facing`).
    pub internal: bool,
    /// The VPC.
    pub vpc_id: String,
    /// The subnets (one node each), with their Availability Zones.
    pub subnets: Vec<(String, String)>,
    /// `SecurityGroups`; empty: the NLB was created without security groups.
    pub security_groups: Vec<String>,
    /// `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` (default `on`).
    pub enforce_sg_on_private_link: bool,
    /// `load_balancing.cross_zone.enabled` (default false for NLBs).
    pub cross_zone: bool,
}

/// A listener of an NLB.
#[derive(Clone, Debug, PartialEq)]
pub struct NlbListenerConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The listener ARN (`listener/net/<name>/<lb id>/<id>`).
    pub arn: String,
    /// The load balancer.
    pub load_balancer_arn: String,
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: ListenerProtocol,
    /// `Certificates` (TLS), default first.
    pub certificate_arns: Vec<String>,
    /// The target group of the default `forward` action.
    pub target_group_arn: Option<String>,
}

/// A registered target, as the template names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// `Id`: an instance id, an IP address, or an ALB ARN.
    pub id: String,
    /// `Port` (else the group's).
    pub port: u16,
}

/// A target group of type instance, ip or alb with an NLB protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct NlbTargetGroupConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The ARN.
    pub arn: String,
    /// The name.
    pub name: String,
    /// `TargetType`.
    pub target_type: TargetType,
    /// `Protocol` (TCP, TLS, UDP, TCP_UDP).
    pub protocol: ListenerProtocol,
    /// `Port`.
    pub port: u16,
    /// `VpcId`.
    pub vpc_id: String,
    /// `Targets`.
    pub targets: Vec<TargetSpec>,
    /// The health check settings, defaults applied.
    pub health_check: HealthCheck,
    /// `preserve_client_ip.enabled`, default applied.
    pub preserve_client_ip: bool,
}

/// Every NLB resource of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NlbModel {
    /// The load balancers.
    pub load_balancers: Vec<NlbConfig>,
    /// Their listeners.
    pub listeners: Vec<NlbListenerConfig>,
    /// Target groups with NLB protocols.
    pub target_groups: Vec<NlbTargetGroupConfig>,
}

impl NlbModel {
    /// The NLB with this ARN.
    pub fn load_balancer(&self, arn: &str) -> Option<&NlbConfig> {
        self.load_balancers.iter().find(|l| l.arn == arn)
    }

    /// The listener with this ARN and its load balancer.
    pub fn listener(&self, arn: &str) -> Option<(&NlbListenerConfig, &NlbConfig)> {
        let l = self.listeners.iter().find(|l| l.arn == arn)?;
        Some((l, self.load_balancer(&l.load_balancer_arn)?))
    }
}

/// Errors starting an NLB.
#[derive(Debug, thiserror::Error)]
pub enum NlbError {
    /// A node ENI could not be made.
    #[error(transparent)]
    Node(#[from] crate::alb::NodeError),
    /// A TLS listener names a certificate ACM does not hold.
    #[error(transparent)]
    UnknownCertificate(#[from] crate::alb::UnknownCertificate),
}

/// Where a target is, resolved when the world starts.
#[derive(Clone, Debug)]
pub enum Endpoint {
    /// An address inside the VPC (an instance's ENI, an ip target).
    Vpc(SocketAddr),
    /// A service on this machine's loopback (vpcgate's way to put a user's service behind).
    Host(SocketAddr),
    /// An ALB: its nodes (Availability Zone, address) on the group's port.
    Alb {
        /// The ALB's ARN.
        arn: String,
        /// Its nodes.
        nodes: Vec<(String, SocketAddr)>,
    },
    /// A target that names nothing running (an unknown instance): health checks fail.
    Missing {
        /// Why.
        reason: String,
    },
}

/// A target with its place.
#[derive(Clone, Debug)]
pub struct Target {
    /// `Id:Port`, as DescribeTargetHealth shows it.
    pub label: String,
    /// The Availability Zone it is in (`None`: any, a host address).
    pub zone: Option<String>,
    /// Where it is.
    pub endpoint: Endpoint,
}

/// A target group with its targets resolved.
#[derive(Debug)]
pub struct TargetGroup {
    /// Its configuration.
    pub config: NlbTargetGroupConfig,
    /// Its targets.
    pub targets: Vec<Target>,
    next: AtomicUsize,
}

/// What the world hands an NLB when it starts it.
#[derive(Clone, Debug)]
pub struct StartContext<'a> {
    /// The virtual network.
    pub net: &'a Network,
    /// The world's clock.
    pub clock: &'a Clock,
    /// The TLS provider.
    pub provider: Arc<rustls::crypto::CryptoProvider>,
    /// ACM's certificates by ARN.
    pub certificates: &'a HashMap<String, Arc<IssuedCertificate>>,
    /// Instance ENIs by instance id.
    pub instances: &'a HashMap<String, Arc<Eni>>,
    /// ALB nodes by ARN: the ALB's VPC and its node ENIs.
    pub albs: &'a HashMap<String, (String, Vec<Arc<Eni>>)>,
}

/// The running NLBs of a world.
#[derive(Debug, Default)]
pub struct Nlbs {
    by_arn: HashMap<String, Arc<NetworkLoadBalancer>>,
    /// Health of every target of every used group.
    pub health: Arc<HealthTable>,
    tasks: std::sync::Mutex<Option<JoinSet<()>>>,
}

impl Nlbs {
    /// Starts every NLB of `model`, and the health checks of the target groups they use.
    pub fn start(model: &NlbModel, ctx: StartContext<'_>) -> Result<Self, NlbError> {
        let health = Arc::new(HealthTable::default());
        let mut groups: HashMap<String, Arc<TargetGroup>> = HashMap::new();
        for tg in &model.target_groups {
            groups.insert(tg.arn.clone(), Arc::new(resolve(tg, &ctx)));
        }
        let mut tasks = JoinSet::new();
        let mut by_arn = HashMap::new();
        for lb in &model.load_balancers {
            let listeners: Vec<NlbListenerConfig> = model
                .listeners
                .iter()
                .filter(|l| l.load_balancer_arn == lb.arn)
                .cloned()
                .collect();
            let started =
                NetworkLoadBalancer::start(lb.clone(), listeners, &groups, &health, &ctx)?;
            by_arn.insert(lb.arn.clone(), Arc::new(started));
        }
        // Health checks of every group a listener uses, from the first node of its NLB.
        let mut checked = std::collections::HashSet::new();
        for l in &model.listeners {
            let (Some(tg_arn), Some(lb)) = (&l.target_group_arn, by_arn.get(&l.load_balancer_arn))
            else {
                continue;
            };
            let Some(tg) = groups.get(tg_arn) else {
                continue;
            };
            if !checked.insert(tg_arn.clone()) {
                continue;
            }
            health.register(tg);
            tasks.spawn(health::run(
                ctx.clock.clone(),
                ctx.net.clone(),
                lb.nodes.clone(),
                lb.config.vpc_id.clone(),
                tg.clone(),
                health.clone(),
            ));
        }
        for tg in groups.values() {
            if !checked.contains(&tg.config.arn) {
                health.register_unused(tg);
            }
        }
        Ok(Self {
            by_arn,
            health,
            tasks: std::sync::Mutex::new(Some(tasks)),
        })
    }

    /// The NLB with this ARN.
    pub fn get(&self, arn: &str) -> Option<Arc<NetworkLoadBalancer>> {
        self.by_arn.get(arn).cloned()
    }

    /// Every running NLB.
    pub fn all(&self) -> impl Iterator<Item = &Arc<NetworkLoadBalancer>> {
        self.by_arn.values()
    }

    /// Stops the health checks and every listener.
    pub fn shutdown(&self) {
        if let Ok(mut t) = self.tasks.lock()
            && let Some(mut set) = t.take()
        {
            set.abort_all();
        }
        for lb in self.by_arn.values() {
            lb.shutdown();
        }
    }
}

fn resolve(tg: &NlbTargetGroupConfig, ctx: &StartContext<'_>) -> TargetGroup {
    let zone_of = |ip: IpAddr| -> Option<String> {
        let vpc = ctx.net.vpc(&tg.vpc_id)?;
        vpc.subnets
            .iter()
            .find(|s| match ip {
                IpAddr::V4(v4) => s.cidr.contains(&v4),
                IpAddr::V6(_) => false,
            })
            .map(|s| s.availability_zone.clone())
    };
    let targets = tg
        .targets
        .iter()
        .map(|t| {
            let label = format!("{}:{}", t.id, t.port);
            match tg.target_type {
                TargetType::Instance => match ctx.instances.get(&t.id) {
                    Some(eni) => Target {
                        label,
                        zone: ctx.net.subnet(&eni.subnet_id).map(|s| s.availability_zone),
                        endpoint: Endpoint::Vpc(SocketAddr::new(eni.ip, t.port)),
                    },
                    None => Target {
                        label,
                        zone: None,
                        endpoint: Endpoint::Missing {
                            reason: format!("instance {} is not running in this scenario", t.id),
                        },
                    },
                },
                TargetType::Ip => match t.id.parse::<IpAddr>() {
                    Ok(ip) if ip.is_loopback() => Target {
                        label,
                        zone: None,
                        endpoint: Endpoint::Host(SocketAddr::new(ip, t.port)),
                    },
                    Ok(ip) => Target {
                        label,
                        zone: zone_of(ip),
                        endpoint: Endpoint::Vpc(SocketAddr::new(ip, t.port)),
                    },
                    Err(_) => Target {
                        label,
                        zone: None,
                        endpoint: Endpoint::Missing {
                            reason: format!("{} is not an IP address", t.id),
                        },
                    },
                },
                TargetType::Alb => match ctx.albs.get(&t.id) {
                    Some((_, nodes)) => Target {
                        label,
                        zone: None,
                        endpoint: Endpoint::Alb {
                            arn: t.id.clone(),
                            nodes: nodes
                                .iter()
                                .map(|n| {
                                    (
                                        ctx.net
                                            .subnet(&n.subnet_id)
                                            .map(|s| s.availability_zone)
                                            .unwrap_or_default(),
                                        SocketAddr::new(n.ip, t.port),
                                    )
                                })
                                .collect(),
                        },
                    },
                    None => Target {
                        label,
                        zone: None,
                        endpoint: Endpoint::Missing {
                            reason: format!(
                                "{} is not an application load balancer in this scenario",
                                t.id
                            ),
                        },
                    },
                },
            }
        })
        .collect();
    TargetGroup {
        config: tg.clone(),
        targets,
        next: AtomicUsize::new(0),
    }
}

/// A running NLB.
#[derive(Debug)]
pub struct NetworkLoadBalancer {
    /// Its configuration.
    pub config: NlbConfig,
    /// Its node ENIs, one per subnet.
    pub nodes: Vec<Arc<Eni>>,
    listeners: HashMap<u16, Arc<ListenerState>>,
    tasks: std::sync::Mutex<JoinSet<()>>,
}

struct ListenerState {
    lb: NlbConfig,
    listener: NlbListenerConfig,
    group: Option<Arc<TargetGroup>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    net: Network,
    clock: Clock,
    health: Arc<HealthTable>,
}

impl std::fmt::Debug for ListenerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerState")
            .field("lb", &self.lb.name)
            .field("listener", &self.listener.arn)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// An id for the security group vpcgate gives the nodes of an NLB created without security groups:
/// it admits everything (such an NLB filters nothing; its targets' groups do).
pub fn open_group_id(lb_name: &str) -> String {
    format!("(none: NLB {lb_name} has no security groups)")
}

impl NetworkLoadBalancer {
    fn start(
        config: NlbConfig,
        listeners: Vec<NlbListenerConfig>,
        groups: &HashMap<String, Arc<TargetGroup>>,
        health: &Arc<HealthTable>,
        ctx: &StartContext<'_>,
    ) -> Result<Self, NlbError> {
        let groups_of_nodes = if config.security_groups.is_empty() {
            let id = open_group_id(&config.name);
            ctx.net.put_group(SecurityGroup {
                id: id.clone(),
                logical_id: config.logical_id.clone(),
                vpc_id: config.vpc_id.clone(),
                ingress: vec![crate::vpc::sg::Rule::allow_all_ipv4()],
                egress: vec![crate::vpc::sg::Rule::allow_all_ipv4()],
            });
            vec![id]
        } else {
            config.security_groups.clone()
        };
        let nodes = crate::alb::create_nodes(
            ctx.net,
            "network load balancer",
            &config.name,
            &config.arn,
            config.subnets.iter().map(|(subnet, _)| subnet),
            &groups_of_nodes,
        )?;
        let mut tasks = JoinSet::new();
        let mut states = HashMap::new();
        for listener in listeners {
            let tls = match listener.protocol {
                ListenerProtocol::Tls => {
                    let certificates = crate::alb::listener_certificates(
                        &listener.arn,
                        &listener.certificate_arns,
                        |arn| ctx.certificates.get(arn).cloned(),
                    )?;
                    if certificates.is_empty() {
                        None
                    } else {
                        Some(crate::alb::tls_acceptor(
                            certificates,
                            ctx.provider.clone(),
                            Vec::new(),
                        ))
                    }
                }
                _ => None,
            };
            let state = Arc::new(ListenerState {
                lb: config.clone(),
                group: listener
                    .target_group_arn
                    .as_ref()
                    .and_then(|a| groups.get(a).cloned()),
                listener,
                tls,
                net: ctx.net.clone(),
                clock: ctx.clock.clone(),
                health: health.clone(),
            });
            if state.listener.protocol == ListenerProtocol::Udp {
                // UDP is not carried by the emulated network: nothing listens.
                continue;
            }
            for node in &nodes {
                let state = state.clone();
                let node = node.clone();
                // Served on the dialler's runtime (vpc::Network::serve); listens until the
                // task holding it is aborted.
                let serving = ctx
                    .net
                    .serve(&node.clone(), state.listener.port, move |inbound| {
                        tokio::spawn(serve(
                            state.clone(),
                            node.clone(),
                            Box::new(inbound.stream),
                            inbound.peer,
                            inbound.trace,
                            Entry::Vpc,
                        ));
                    });
                tasks.spawn(async move {
                    let _serving = serving;
                    std::future::pending::<()>().await
                });
            }
            states.insert(state.listener.port, state);
        }
        Ok(Self {
            config,
            nodes,
            listeners: states,
            tasks: std::sync::Mutex::new(tasks),
        })
    }

    /// Stops the listeners.
    pub fn shutdown(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            t.abort_all();
        }
    }

    /// The listener ports.
    pub fn ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.listeners.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// A connection arriving over AWS PrivateLink (a REST API's VPC link v1) on the listener at
    /// `port`, at the node `node_index` (modulo the node count). The NLB's inbound rules apply
    /// to it unless `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` is `off`; what they
    /// drop never completes (as a lost SYN), a port with no listener is refused.
    pub async fn private_link_connect(
        &self,
        port: u16,
        node_index: usize,
        label: &str,
        trace: &Trace,
    ) -> Result<tokio::io::DuplexStream, crate::vpc::ConnectError> {
        let Some(node) = self
            .nodes
            .get(node_index % self.nodes.len().max(1))
            .cloned()
        else {
            return std::future::pending().await;
        };
        let addr = SocketAddr::new(node.ip, port);
        if !self.config.security_groups.is_empty() && self.config.enforce_sg_on_private_link {
            let groups: Vec<SecurityGroup> = self
                .config
                .security_groups
                .iter()
                .filter_map(|g| self.net_group(g))
                .collect();
            match crate::vpc::sg::check(
                groups.iter(),
                crate::vpc::Direction::Ingress,
                crate::vpc::IpProtocol::Tcp,
                port,
                node.ip,
                &[],
            ) {
                crate::vpc::sg::Verdict::Allow { group, rule } => trace.hop_with(
                    "sg",
                    Verdict::Pass,
                    || Detail::at(format!("{} {addr} (PrivateLink)", node.id)).rule(format!("{group} rule {rule}")),
                    format!(
                        "ingress of NLB {} allows tcp/{port} from {} ({label} over PrivateLink, seen from the node's address): {group} rule {rule}",
                        self.config.name, node.ip
                    ),
                ),
                crate::vpc::sg::Verdict::Drop { reason } => {
                    trace.hop_with(
                        "sg",
                        Verdict::Drop,
                        || Detail::at(format!("{} {addr} (PrivateLink)", node.id)).rule(reason.clone()),
                        format!(
                            "NLB {}: {reason} ({label} over PrivateLink; EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic is on); dropped, the SYN goes unanswered",
                            self.config.name
                        ),
                    );
                    return std::future::pending().await;
                }
            }
        } else if !self.config.security_groups.is_empty() {
            trace.info_fmt("sg", format_args!(
                    "NLB {}: EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic is off: inbound rules not evaluated for PrivateLink traffic",
                    self.config.name
                ),
            );
        }
        let Some(state) = self.listeners.get(&port).cloned() else {
            trace.hop_fmt(
                "nlb",
                Verdict::Refuse,
                format_args!(
                    "NLB {} has no listener on port {port}: reset",
                    self.config.name
                ),
            );
            return Err(crate::vpc::ConnectError::Refused { addr });
        };
        let (client, server) = tokio::io::duplex(64 * 1024);
        let peer = SocketAddr::new(node.ip, 0);
        tokio::spawn(serve(
            state,
            node,
            Box::new(server),
            peer,
            trace.clone(),
            Entry::PrivateLink,
        ));
        Ok(client)
    }

    fn net_group(&self, id: &str) -> Option<SecurityGroup> {
        self.listeners.values().next().and_then(|s| s.net.group(id))
    }
}

/// How a connection reached the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// Through the VPC (a client ENI, a VPC link v2).
    Vpc,
    /// Through PrivateLink (a VPC link v1): client IP preservation does not apply.
    PrivateLink,
}

pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn serve(
    state: Arc<ListenerState>,
    node: Arc<Eni>,
    stream: Box<dyn Io>,
    peer: SocketAddr,
    trace: Trace,
    entry: Entry,
) {
    let lb = &state.lb.name;
    let listener = &state.listener;
    let local = SocketAddr::new(node.ip, listener.port);
    let mut client: Box<dyn Io> = match &state.tls {
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls) => {
                let sni = tls
                    .get_ref()
                    .1
                    .server_name()
                    .unwrap_or("(none)")
                    .to_string();
                trace.hop_with(
                    "nlb",
                    Verdict::Pass,
                    || Detail::at(format!("{lb} listener {local}")),
                    format!(
                        "NLB {lb} listener TLS:{} terminated TLS from {peer} (SNI {sni})",
                        listener.port
                    ),
                );
                Box::new(tls)
            }
            Err(e) => {
                trace.hop_fmt(
                    "nlb",
                    Verdict::Fail,
                    format_args!(
                        "NLB {lb} listener TLS:{}: handshake from {peer} failed: {e}",
                        listener.port
                    ),
                );
                return;
            }
        },
        None => {
            trace.hop_with(
                "nlb",
                Verdict::Pass,
                || Detail::at(format!("{lb} listener {local}")),
                format!(
                    "NLB {lb} listener {}:{} accepted a connection from {peer}",
                    listener.protocol, listener.port
                ),
            );
            stream
        }
    };
    let Some(group) = &state.group else {
        trace.hop_fmt(
            "nlb",
            Verdict::Refuse,
            format_args!(
                "NLB {lb} listener {}: no target group: reset",
                listener.port
            ),
        );
        return;
    };
    let node_zone = state
        .net
        .subnet(&node.subnet_id)
        .map(|s| s.availability_zone)
        .unwrap_or_default();
    let Some(target) = choose(
        group,
        &state.health,
        &node_zone,
        state.lb.cross_zone,
        &trace,
    ) else {
        // "Network Load Balancers also fail open when you have an empty target group": open to
        // nothing. A pass-through balancer has no target to hand the flow to, so the client's
        // connection gets no answer at all (the client's own timer decides).
        trace.hop_with(
            "nlb",
            Verdict::Drop,
            || Detail::at(format!("{lb} listener {local}")).rule("empty target group"),
            format!(
                "NLB {lb}: target group {} has no registered targets (fail open to nothing): the flow goes unanswered",
                group.config.name
            ),
        );
        let _held = client;
        return std::future::pending().await;
    };
    let preserve = group.config.preserve_client_ip && entry == Entry::Vpc;
    let source = if preserve {
        Source::Outside {
            ip: peer.ip(),
            label: format!("client {peer} through NLB {lb} (client IP preserved)"),
        }
    } else {
        Source::Eni(node.clone())
    };
    let upstream = match connect(&state, &group.config, target, &source, &node_zone, &trace).await {
        Ok(s) => s,
        Err(reason) => {
            trace.hop_fmt(
                "nlb",
                Verdict::Refuse,
                format_args!(
                    "NLB {lb} -> target {}: {reason}; the client's connection is reset",
                    target.label
                ),
            );
            return;
        }
    };
    let mut upstream: Box<dyn Io> = if group.config.protocol == ListenerProtocol::Tls {
        let connector = tokio_rustls::TlsConnector::from(health::insecure_client());
        let name = rustls_pki_types::ServerName::try_from("target.nlb.internal")
            .expect("literal name")
            .to_owned();
        match connector.connect(name, upstream).await {
            Ok(tls) => Box::new(tls),
            Err(e) => {
                trace.hop_fmt(
                    "nlb",
                    Verdict::Fail,
                    format_args!(
                        "NLB {lb} -> target {}: TLS handshake failed: {e}",
                        target.label
                    ),
                );
                return;
            }
        }
    } else {
        upstream
    };
    trace.pass_fmt(
        "nlb",
        format_args!(
            "NLB {lb} forwards {peer} to target {} of {} ({} {}; target sees {})",
            target.label,
            group.config.name,
            group.config.target_type,
            group.config.protocol,
            if preserve {
                format!("the client's address {}", peer.ip())
            } else {
                format!("the node's address {}", node.ip)
            }
        ),
    );
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Picks the target for a new flow: healthy targets (the node's zone first unless cross-zone),
/// round robin; all of them when none is healthy (fail open); `None` for an empty group.
fn choose<'a>(
    group: &'a TargetGroup,
    health: &HealthTable,
    node_zone: &str,
    cross_zone: bool,
    trace: &Trace,
) -> Option<&'a Target> {
    if group.targets.is_empty() {
        return None;
    }
    let healthy: Vec<&Target> = group
        .targets
        .iter()
        .filter(|t| health.state(&group.config.arn, &t.label) == Some(TargetState::Healthy))
        .collect();
    let pool: Vec<&Target> = if healthy.is_empty() {
        trace.info_fmt(
            "nlb",
            format_args!(
                "target group {}: no healthy target; the NLB fails open to all {} registered",
                group.config.name,
                group.targets.len()
            ),
        );
        group.targets.iter().collect()
    } else {
        healthy
    };
    let local: Vec<&Target> = pool
        .iter()
        .copied()
        .filter(|t| t.zone.as_deref().is_none_or(|z| z == node_zone))
        .collect();
    let pool = if cross_zone || local.is_empty() {
        pool
    } else {
        local
    };
    let n = group.next.fetch_add(1, Ordering::Relaxed);
    pool.get(n % pool.len()).copied()
}

async fn connect(
    state: &ListenerState,
    tg: &NlbTargetGroupConfig,
    target: &Target,
    source: &Source,
    node_zone: &str,
    trace: &Trace,
) -> Result<Box<dyn Io>, String> {
    match &target.endpoint {
        Endpoint::Vpc(addr) => state
            .net
            .connect(source, &tg.vpc_id, *addr, trace)
            .await
            .map(|s| Box::new(s) as Box<dyn Io>)
            .map_err(|e| e.to_string()),
        Endpoint::Alb { nodes, arn } => {
            let Some((_, addr)) = nodes
                .iter()
                .find(|(z, _)| z == node_zone)
                .or_else(|| nodes.first())
            else {
                return Err(format!("load balancer {arn} has no nodes"));
            };
            state
                .net
                .connect(source, &tg.vpc_id, *addr, trace)
                .await
                .map(|s| Box::new(s) as Box<dyn Io>)
                .map_err(|e| e.to_string())
        }
        Endpoint::Host(addr) => {
            let hold = state.clock.hold();
            tokio::net::TcpStream::connect(addr)
                .await
                .map(|s| Box::new(crate::clock::Held::new(s, hold)) as Box<dyn Io>)
                .map_err(|e| format!("host target {addr}: {e}"))
        }
        Endpoint::Missing { reason } => Err(reason.clone()),
    }
}

/// The canonical hosted zone id of NLBs per Region
/// (<https://docs.aws.amazon.com/general/latest/gr/elb.html>, the Network Load Balancers column).
pub fn canonical_hosted_zone_id(region: &str) -> &'static str {
    match region {
        "us-east-1" => "Z26RNL4JYFTOTI",
        "us-east-2" => "ZLMOA37VPKANP",
        "us-west-1" => "Z24FKFUX50B4VW",
        "us-west-2" => "Z18D5FSROUN65G",
        "ca-central-1" => "Z2EPGBW3API2WT",
        "eu-west-1" => "Z2IFOLAFXWLO4F",
        "eu-west-2" => "ZD4D7Y8KGAS4G",
        "eu-west-3" => "Z1CMS0P5QUZ6D5",
        "eu-central-1" => "Z3F0SRJ5LGBH90",
        "eu-north-1" => "Z1UDT6IFJ4EJM",
        "eu-south-1" => "Z23146JA1KNAFP",
        "ap-northeast-1" => "Z31USIVHYNEOWT",
        "ap-northeast-2" => "ZIBE1TIR4HY56",
        "ap-northeast-3" => "Z1GWIQ4HH19I5X",
        "ap-southeast-1" => "ZKVM4W9LS7TM",
        "ap-southeast-2" => "ZCT6FZBF4DROD",
        "ap-south-1" => "ZVDDRBQ08TROA",
        "ap-east-1" => "Z12Y7K3UBGUAD1",
        "sa-east-1" => "ZTK26PT1VY4CU",
        "af-south-1" => "Z203XCE67M25HM",
        _ => "Z26RNL4JYFTOTI",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(targets: Vec<Target>) -> TargetGroup {
        TargetGroup {
            config: NlbTargetGroupConfig {
                logical_id: "Tg".into(),
                arn: "arn:tg".into(),
                name: "tg".into(),
                target_type: TargetType::Ip,
                protocol: ListenerProtocol::Tcp,
                port: 80,
                vpc_id: "vpc-1".into(),
                targets: Vec::new(),
                health_check: HealthCheck::defaults(TargetType::Ip, ListenerProtocol::Tcp),
                preserve_client_ip: false,
            },
            targets,
            next: AtomicUsize::new(0),
        }
    }

    fn target(label: &str, zone: &str) -> Target {
        Target {
            label: label.into(),
            zone: Some(zone.into()),
            endpoint: Endpoint::Missing { reason: "x".into() },
        }
    }

    #[test]
    fn an_empty_group_has_no_target_and_an_unhealthy_one_fails_open() {
        let health = HealthTable::default();
        let trace = Trace::new();
        assert!(choose(&group(vec![]), &health, "a", false, &trace).is_none());
        let g = group(vec![target("10.0.0.10:80", "a")]);
        health.register(&g);
        // Not yet checked (initial) = not healthy: fail open to the registered target.
        assert_eq!(
            choose(&g, &health, "a", false, &trace).map(|t| t.label.as_str()),
            Some("10.0.0.10:80")
        );
        assert!(trace.render().contains("fails open"));
    }

    #[test]
    fn without_cross_zone_a_node_prefers_its_zone() {
        let health = HealthTable::default();
        let g = group(vec![
            target("10.0.0.10:80", "a"),
            target("10.0.1.10:80", "c"),
        ]);
        health.register(&g);
        let trace = Trace::new();
        for _ in 0..4 {
            assert_eq!(
                choose(&g, &health, "c", false, &trace).map(|t| t.label.as_str()),
                Some("10.0.1.10:80")
            );
        }
        let both: std::collections::HashSet<_> = (0..4)
            .filter_map(|_| choose(&g, &health, "c", true, &trace).map(|t| t.label.clone()))
            .collect();
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn hosted_zone_ids_are_the_nlb_column() {
        assert_eq!(canonical_hosted_zone_id("ap-northeast-1"), "Z31USIVHYNEOWT");
        assert_eq!(canonical_hosted_zone_id("us-east-1"), "Z26RNL4JYFTOTI");
    }
}
