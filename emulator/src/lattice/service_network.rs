//! VPC Lattice service networks: services, listeners, rules, target groups, associations, auth
//! policies and access logs — the HTTP data path between VPCs.
//!
//! ```text
//! client ENI (VPC A) ──dns (VPC A's resolver: <name>-<svc id>.<7 hex>.vpc-lattice-svcs.<region>.on.aws
//!   → 169.254.171.x, only in VPCs associated with a service network the service is in)
//!   ──sg: client egress + the VPC association's groups (ingress from the client)
//!   ──▶ listener (HTTP / HTTPS, certificate for the generated name from the emulated CA)
//!   ──▶ auth: SigV4 (vpc-lattice-svcs, UNSIGNED-PAYLOAD) or anonymous; service network and
//!       service auth policies + identity-based policies allow vpc-lattice-svcs:Invoke
//!   ──▶ rule (priority order; method, path, header matches) or the default action
//!   ──▶ fixed-response | forward (weighted target groups) ──▶ a healthy target (round robin)
//!   ──vpc::connect(src = Lattice 169.254.171.x, dst = target, target's SG)──▶ target
//!       with x-forwarded-*, x-amzn-lattice-identity / -network / -target
//!   ──▶ access log entry per subscription
//! ```
//!
//! Sources: <https://docs.aws.amazon.com/vpc-lattice/latest/ug/http-targets.html> (headers),
//! <https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html>,
//! <https://docs.aws.amazon.com/vpc-lattice/latest/ug/target-group-health-checks.html>,
//! <https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html>; the DNS
//! name's shape and its link-local answer are recorded in aws-samples READMEs and EKS
//! workshops (`rates-default-0b1f56d26672bf677.7d67968.vpc-lattice-svcs.us-east-1.on.aws` →
//! `169.254.171.96`). vpcgate's choices are listed in `docs/lattice-service-networks.md`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::Ipv4Net;
use serde_json::Value;
use tokio::io::DuplexStream;
use tokio::task::JoinSet;

use super::AuthType;
use super::access_log::{AccessLogSubscriptionConfig, AccessLogs, Entry};
use super::auth::{self, Gate};
use super::target_group::{
    self, HealthTable, Protocol, TargetAddress, TargetContext, TargetError, TargetGroupConfig,
    TargetHealth,
};
use super::workload::{self, InstanceConfig, Workload, WorkloadConfig};
use crate::authz::Directory;
use crate::clock::Clock;
use crate::dns::{RecordData, ResolveError, Zone, records};
use crate::ec2::Fabric;
use crate::iam::{NamedPolicy, Policy, PolicyKind, Principal, RequestContext};
use crate::pki::{IssuedCertificate, Pki};
use crate::sigv4::{self, Credentials, SigningSettings};
use crate::trace::{Trace, Verdict};
use crate::vpc::{self, Direction, Eni, IpProtocol, Network};

/// Lattice's link-local range: service names resolve into it and targets see traffic from it
/// (the `com.amazonaws.<region>.vpc-lattice` managed prefix list).
pub const LINK_LOCAL: &str = "169.254.171.0/24";

/// How long Lattice waits for a target to answer before a 504 (vpcgate's choice; AWS does not
/// document a Lattice request timeout).
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(60);

/// `AWS::VpcLattice::ServiceNetwork`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNetworkConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `sn-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `AuthType`.
    pub auth: AuthType,
}

/// `AWS::VpcLattice::Service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `svc-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `DnsEntry.DomainName`: `<name>-<id>.<7 hex>.vpc-lattice-svcs.<region>.on.aws`.
    pub dns_name: String,
    /// `CustomDomainName`.
    pub custom_domain_name: Option<String>,
    /// `CertificateArn` (for the custom domain).
    pub certificate_arn: Option<String>,
    /// `AuthType`.
    pub auth: AuthType,
    /// The link-local address its name resolves to.
    pub ip: Ipv4Addr,
}

/// One target group of a forward action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedTargetGroup {
    /// `tg-…`.
    pub target_group_id: String,
    /// `Weight` (default 100).
    pub weight: u32,
}

/// A listener or rule action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `Forward.TargetGroups`.
    Forward(Vec<WeightedTargetGroup>),
    /// `FixedResponse.StatusCode` (Lattice's fixed responses have no body).
    FixedResponse(u16),
}

/// `AWS::VpcLattice::Listener`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `listener-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The service's id.
    pub service_id: String,
    /// `Protocol`.
    pub protocol: Protocol,
    /// `Port` (default 80 / 443).
    pub port: u16,
    /// `DefaultAction`.
    pub default_action: Action,
}

/// `Match.HttpMatch.PathMatch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMatch {
    /// `Match.Exact` (true) or `Match.Prefix` (false).
    pub exact: bool,
    /// The value.
    pub value: String,
    /// `CaseSensitive` (default true).
    pub case_sensitive: bool,
}

/// How a header value is compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderMatchType {
    /// `Exact`.
    Exact(String),
    /// `Prefix`.
    Prefix(String),
    /// `Contains`.
    Contains(String),
}

/// `Match.HttpMatch.HeaderMatches[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMatch {
    /// `Name` (case-insensitive, as HTTP).
    pub name: String,
    /// `Match`.
    pub kind: HeaderMatchType,
    /// `CaseSensitive` (default false).
    pub case_sensitive: bool,
}

/// `AWS::VpcLattice::Rule`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `rule-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The listener's id.
    pub listener_id: String,
    /// `Priority` (1-100, lowest first).
    pub priority: u32,
    /// `HttpMatch.Method`.
    pub method: Option<String>,
    /// `HttpMatch.PathMatch`.
    pub path: Option<PathMatch>,
    /// `HttpMatch.HeaderMatches` (all must match).
    pub headers: Vec<HeaderMatch>,
    /// `Action`.
    pub action: Action,
}

/// `AWS::VpcLattice::ServiceNetworkVpcAssociation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcAssociationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `snva-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The service network's id.
    pub service_network_id: String,
    /// `VpcIdentifier`.
    pub vpc_id: String,
    /// `SecurityGroupIds` (empty: no filtering).
    pub security_groups: Vec<String>,
}

/// `AWS::VpcLattice::ServiceNetworkServiceAssociation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAssociationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `snsa-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The service network's id.
    pub service_network_id: String,
    /// The service's id.
    pub service_id: String,
}

/// `AWS::VpcLattice::AuthPolicy`.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthPolicyConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The service network's or service's id (`sn-…` / `svc-…`).
    pub resource_id: String,
    /// `Policy`.
    pub policy: Value,
}

/// Everything Lattice-service-network a scenario declares.
#[derive(Clone, Debug, Default)]
pub struct LatticeModel {
    /// Service networks.
    pub service_networks: Vec<ServiceNetworkConfig>,
    /// Services.
    pub services: Vec<ServiceConfig>,
    /// Listeners.
    pub listeners: Vec<ListenerConfig>,
    /// Rules.
    pub rules: Vec<RuleConfig>,
    /// Target groups.
    pub target_groups: Vec<TargetGroupConfig>,
    /// VPC associations.
    pub vpc_associations: Vec<VpcAssociationConfig>,
    /// Service associations.
    pub service_associations: Vec<ServiceAssociationConfig>,
    /// Auth policies.
    pub auth_policies: Vec<AuthPolicyConfig>,
    /// Access log subscriptions.
    pub access_log_subscriptions: Vec<AccessLogSubscriptionConfig>,
    /// EC2 instances (clients and targets).
    pub instances: Vec<InstanceConfig>,
    /// Echo servers on instances (`Vpcgate.Lattice.Workloads`).
    pub workloads: Vec<WorkloadConfig>,
}

impl LatticeModel {
    /// The services visible from `vpc_id`: associated with a service network the VPC is
    /// associated with.
    pub fn services_visible_from(&self, vpc_id: &str) -> Vec<&ServiceConfig> {
        let networks: Vec<&str> = self
            .vpc_associations
            .iter()
            .filter(|a| a.vpc_id == vpc_id)
            .map(|a| a.service_network_id.as_str())
            .collect();
        self.services
            .iter()
            .filter(|s| {
                self.service_associations.iter().any(|a| {
                    a.service_id == s.id && networks.contains(&a.service_network_id.as_str())
                })
            })
            .collect()
    }

    /// DNS zones for `vpc_id`: one per visible service (its generated name, A = its link-local
    /// address). Names of services the VPC cannot reach are not answered (NXDOMAIN).
    pub fn dns_zones(&self, vpc_id: &str) -> Vec<Zone> {
        self.services_visible_from(vpc_id)
            .into_iter()
            .map(|s| Zone {
                origin: s.dns_name.clone(),
                records: records([(s.dns_name.clone(), RecordData::A(s.ip))]),
            })
            .collect()
    }

    /// Whether a target group is used by some listener or rule.
    pub fn is_used(&self, tg_id: &str) -> bool {
        let forwards = |a: &Action| match a {
            Action::Forward(tgs) => tgs.iter().any(|t| t.target_group_id == tg_id),
            Action::FixedResponse(_) => false,
        };
        self.listeners.iter().any(|l| forwards(&l.default_action))
            || self.rules.iter().any(|r| forwards(&r.action))
    }
}

/// The link-local address of a service, from its id.
pub fn service_ip(service_id: &str) -> Ipv4Addr {
    let h = service_id
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    Ipv4Addr::new(169, 254, 171, 32 + (h % 200) as u8)
}

/// Errors of the Lattice data path as a client sees them (no HTTP answer).
#[derive(Debug, thiserror::Error)]
pub enum LatticeSnError {
    /// The host name did not resolve in the client's VPC.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Nothing answered within the client's time-out (a dropped SYN).
    #[error("connection to {addr} timed out after {} s (no answer: dropped)", .after.as_secs_f64())]
    Timeout {
        /// Where to.
        addr: SocketAddr,
        /// How long the client waited.
        after: Duration,
    },
    /// The connection was refused.
    #[error("connection to {addr} refused")]
    Refused {
        /// Where to.
        addr: SocketAddr,
    },
    /// TLS failed.
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// HTTP failed.
    #[error("HTTP exchange with {host} failed: {reason}")]
    Http {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The URL is not usable.
    #[error("invalid URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request could not be signed.
    #[error("cannot sign the request: {reason}")]
    Signing {
        /// Why.
        reason: String,
    },
    /// `From` or `Sign.As` names nothing usable.
    #[error("{what} {name:?} is not in this scenario")]
    Unknown {
        /// What kind of thing.
        what: &'static str,
        /// The name given.
        name: String,
    },
}

impl LatticeSnError {
    /// A short name for the failure, as a scenario case expects it (`Expect.Error`).
    pub fn kind(&self) -> &'static str {
        match self {
            LatticeSnError::Resolve(_) => "NameNotResolved",
            LatticeSnError::Timeout { .. } => "ConnectTimeout",
            LatticeSnError::Refused { .. } => "ConnectionRefused",
            LatticeSnError::Tls { .. } => "TlsHandshakeFailed",
            LatticeSnError::Http { .. } => "HttpError",
            LatticeSnError::BadUrl { .. } => "BadUrl",
            LatticeSnError::Signing { .. } => "SigningFailed",
            LatticeSnError::Unknown { .. } => "UnknownReference",
        }
    }
}

/// Errors starting the Lattice components.
#[derive(Debug, thiserror::Error)]
pub enum LatticeStartError {
    /// An instance's ENI could not be made.
    #[error("instance {instance}: {source}")]
    Eni {
        /// Its logical id.
        instance: String,
        /// Why.
        #[source]
        source: vpc::EniError,
    },
    /// A certificate could not be issued.
    #[error("certificate for {name}: {source}")]
    Pki {
        /// For what.
        name: String,
        /// Why.
        #[source]
        source: crate::pki::PkiError,
    },
    /// An auth policy did not parse.
    #[error("Resources.{logical_id}.Properties.Policy: {source}")]
    Policy {
        /// Its logical id.
        logical_id: String,
        /// Why.
        #[source]
        source: crate::iam::PolicyError,
    },
    /// A workload names an instance that does not exist.
    #[error("Vpcgate.Lattice.Workloads: no instance {instance:?}")]
    NoInstance {
        /// The name given.
        instance: String,
    },
}

/// What `start` needs from the world.
#[derive(Debug)]
pub struct StartContext<'a> {
    /// `AWS::Region`.
    pub region: &'a str,
    /// `AWS::AccountId`.
    pub account: &'a str,
    /// The virtual network.
    pub net: &'a Network,
    /// The clock.
    pub clock: &'a Clock,
    /// The emulated CA.
    pub pki: &'a Pki,
    /// ACM's certificates by ARN.
    pub certificates: &'a HashMap<String, Arc<IssuedCertificate>>,
    /// IAM.
    pub iam: Arc<Directory>,
    /// ALB node addresses by ARN, with the ALB's VPC.
    pub alb_nodes: HashMap<String, (String, Vec<IpAddr>)>,
    /// The instances' primary ENIs that [`crate::ec2`] already made, by logical id (an instance
    /// has one primary interface, whoever needs it).
    pub instance_enis: HashMap<String, Arc<Eni>>,
}

struct Shared {
    model: LatticeModel,
    region: String,
    account: String,
    net: Network,
    clock: Clock,
    iam: Arc<Directory>,
    acceptors: HashMap<String, tokio_rustls::TlsAcceptor>,
    health: Arc<HealthTable>,
    target_ctx: TargetContext,
    policies: HashMap<String, NamedPolicy>,
    access_logs: AccessLogs,
    counters: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    target_groups: HashMap<String, TargetGroupConfig>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("services", &self.model.services.len())
            .finish_non_exhaustive()
    }
}

/// The running Lattice service networks: the data plane, health checkers, instances and
/// workloads. Dropping it stops every task.
#[derive(Debug)]
pub struct LatticeServices {
    shared: Arc<Shared>,
    instance_enis: HashMap<String, Arc<Eni>>,
    workloads: HashMap<String, Arc<Workload>>,
    _tasks: JoinSet<()>,
}

impl LatticeServices {
    /// Creates the instances' ENIs, starts the workloads and the health checks.
    pub fn start(model: &LatticeModel, ctx: StartContext<'_>) -> Result<Self, LatticeStartError> {
        let mut tasks = JoinSet::new();
        let mut instance_enis = HashMap::new();
        for inst in &model.instances {
            if let Some(eni) = ctx.instance_enis.get(&inst.logical_id) {
                instance_enis.insert(inst.logical_id.clone(), eni.clone());
                continue;
            }
            let eni = ctx
                .net
                .create_eni(
                    &inst.subnet_id,
                    inst.security_groups.clone(),
                    format!("Primary network interface of instance {}", inst.logical_id),
                )
                .map_err(|source| LatticeStartError::Eni {
                    instance: inst.logical_id.clone(),
                    source,
                })?;
            instance_enis.insert(inst.logical_id.clone(), eni);
        }
        let mut workloads = HashMap::new();
        for w in &model.workloads {
            let eni =
                instance_enis
                    .get(&w.instance)
                    .ok_or_else(|| LatticeStartError::NoInstance {
                        instance: w.instance.clone(),
                    })?;
            let name = private_dns_name(eni.ip, ctx.region);
            let cert = ctx
                .pki
                .issue(std::slice::from_ref(&name))
                .map_err(|source| LatticeStartError::Pki { name, source })?;
            let (handle, run) = workload::start(
                ctx.net,
                eni,
                w.clone(),
                Some(Arc::new(cert)),
                ctx.pki.provider(),
            );
            tasks.spawn(run);
            workloads.insert(w.instance.clone(), handle);
        }
        // Instance targets are resolved to their ENIs now that the ENIs exist.
        let mut model = model.clone();
        for tg in &mut model.target_groups {
            for t in &mut tg.targets {
                if let TargetAddress::Instance { logical_id, port } = &t.address
                    && let Some(eni) = instance_enis.get(logical_id)
                {
                    t.address = TargetAddress::InVpc(SocketAddr::new(eni.ip, *port));
                }
            }
        }
        let mut acceptors = HashMap::new();
        for s in &model.services {
            let mut names = vec![s.dns_name.clone()];
            names.extend(s.custom_domain_name.clone());
            let cert = match s
                .certificate_arn
                .as_ref()
                .and_then(|a| ctx.certificates.get(a))
            {
                Some(c) => {
                    // The custom domain's ACM certificate, plus Lattice's own for the generated name.
                    let own =
                        ctx.pki
                            .issue(&names[..1])
                            .map_err(|source| LatticeStartError::Pki {
                                name: names[0].clone(),
                                source,
                            })?;
                    vec![Arc::new(own), c.clone()]
                }
                None => vec![Arc::new(ctx.pki.issue(&names).map_err(|source| {
                    LatticeStartError::Pki {
                        name: names[0].clone(),
                        source,
                    }
                })?)],
            };
            acceptors.insert(s.id.clone(), acceptor(cert, ctx.pki.provider()));
        }
        let mut policies = HashMap::new();
        for p in &model.auth_policies {
            let kind = if p.resource_id.starts_with("sn-") {
                PolicyKind::LatticeServiceNetwork
            } else {
                PolicyKind::LatticeService
            };
            let parsed =
                Policy::parse(&p.policy, kind).map_err(|source| LatticeStartError::Policy {
                    logical_id: p.logical_id.clone(),
                    source,
                })?;
            policies.insert(
                p.resource_id.clone(),
                NamedPolicy::new(format!("{} auth policy", p.logical_id), parsed),
            );
        }
        let health = Arc::new(HealthTable::default());
        let lattice_ip: IpAddr = super::LATTICE_SOURCE_IP.parse().expect("literal address");
        let target_ctx = TargetContext {
            net: ctx.net.clone(),
            lattice_ip,
            alb_nodes: ctx.alb_nodes,
            origin: tokio::time::Instant::now(),
            clock: ctx.clock.clone(),
        };
        for tg in &model.target_groups {
            let used = model.is_used(&tg.id);
            target_group::register(tg, used, &health);
            if used {
                tasks.spawn(target_group::run_health_checks(
                    target_ctx.clone(),
                    tg.clone(),
                    health.clone(),
                ));
            }
        }
        let target_groups = model
            .target_groups
            .iter()
            .map(|t| (t.id.clone(), t.clone()))
            .collect();
        let shared = Arc::new(Shared {
            access_logs: AccessLogs::new(model.access_log_subscriptions.clone()),
            model,
            region: ctx.region.to_string(),
            account: ctx.account.to_string(),
            net: ctx.net.clone(),
            clock: ctx.clock.clone(),
            iam: ctx.iam,
            acceptors,
            health,
            target_ctx,
            policies,
            counters: Mutex::new(HashMap::new()),
            target_groups,
        });
        Ok(Self {
            shared,
            instance_enis,
            workloads,
            _tasks: tasks,
        })
    }

    /// Waits until every health-checked target has had its first check.
    pub async fn settled(&self) {
        self.shared.health.settled().await;
    }

    /// The ENI of an instance by logical id.
    pub fn instance_eni(&self, logical_id: &str) -> Option<Arc<Eni>> {
        self.instance_enis.get(logical_id).cloned()
    }

    /// The workload on an instance by logical id.
    pub fn workload(&self, instance: &str) -> Option<Arc<Workload>> {
        self.workloads.get(instance).cloned()
    }

    /// The health of every target of a target group (by logical id, name or id).
    pub fn target_health(&self, target_group: &str) -> Vec<(String, TargetHealth)> {
        let Some(tg) = self.shared.target_groups.values().find(|t| {
            t.logical_id == target_group || t.name == target_group || t.id == target_group
        }) else {
            return Vec::new();
        };
        tg.targets
            .iter()
            .filter_map(|t| self.shared.health.get(&tg.id, t).map(|h| (t.label(), h)))
            .collect()
    }

    /// Every access log entry written so far (subscription id, entry).
    pub fn access_log(&self) -> Vec<(String, Value)> {
        self.shared.access_logs.entries()
    }

    /// The access log subscriptions with their files.
    pub fn access_log_subscriptions(&self) -> &[AccessLogSubscriptionConfig] {
        self.shared.access_logs.subscriptions()
    }

    /// The model as running (instance targets resolved).
    pub fn model(&self) -> &LatticeModel {
        &self.shared.model
    }

    /// Whether `ip` is a Lattice service address.
    pub fn is_lattice_address(ip: IpAddr) -> bool {
        let net: Ipv4Net = LINK_LOCAL.parse().expect("literal");
        matches!(ip, IpAddr::V4(v4) if net.contains(&v4))
    }

    /// Opens a TCP connection from a client ENI to a Lattice service address (`169.254.171.x`).
    ///
    /// As on a real network: an address no reachable service holds, or a group that does not
    /// admit the client, swallows the SYN (the future never completes); a port without a
    /// listener is refused.
    pub async fn connect(
        &self,
        client: &Arc<Eni>,
        dst: SocketAddr,
        trace: &Trace,
    ) -> Result<DuplexStream, LatticeSnError> {
        let shared = &self.shared;
        let model = &shared.model;
        let Some(service) = model.services.iter().find(|s| IpAddr::V4(s.ip) == dst.ip()) else {
            trace.hop(
                "lattice",
                Verdict::Drop,
                format!("{}: no Lattice service holds this address", dst.ip()),
            );
            return std::future::pending().await;
        };
        let association = model.vpc_associations.iter().find(|a| {
            a.vpc_id == client.vpc_id
                && model.service_associations.iter().any(|s| {
                    s.service_id == service.id && s.service_network_id == a.service_network_id
                })
        });
        let Some(association) = association else {
            trace.hop(
                "lattice",
                Verdict::Drop,
                format!(
                    "{}: VPC {} is not associated with a service network that service {} is in: dropped",
                    dst.ip(),
                    client.vpc_id,
                    service.name
                ),
            );
            return std::future::pending().await;
        };
        let Some(network) = model
            .service_networks
            .iter()
            .find(|n| n.id == association.service_network_id)
            .cloned()
        else {
            return std::future::pending().await;
        };
        // The client's own egress rules toward Lattice's address.
        let client_groups: Vec<vpc::SecurityGroup> = client
            .groups
            .iter()
            .filter_map(|g| shared.net.group(g))
            .collect();
        let verdict = vpc::sg::check(
            client_groups.iter(),
            Direction::Egress,
            IpProtocol::Tcp,
            dst.port(),
            dst.ip(),
            &association.security_groups,
        );
        let admitted = vpc::sg::record(
            trace,
            verdict,
            || format!("{} {} (egress)", client.id, client.ip),
            |group, rule| {
                format!(
                    "egress of {} ({}) allows tcp/{} to {} (VPC Lattice): {group} rule {rule}",
                    client.id,
                    client.ip,
                    dst.port(),
                    dst.ip()
                )
            },
            |reason| format!("{} -> {dst} (VPC Lattice): {reason}; dropped", client.ip),
        );
        if !admitted {
            return std::future::pending().await;
        }
        // The VPC association's groups: "control which traffic from the VPC is allowed to
        // access the service network" (inbound rules, source = the client).
        if association.security_groups.is_empty() {
            trace.pass(
                "lattice",
                format!(
                    "VPC association {} has no security groups: all traffic from {} may reach service network {}",
                    association.id, client.vpc_id, network.name
                ),
            );
        } else {
            let groups: Vec<vpc::SecurityGroup> = association
                .security_groups
                .iter()
                .filter_map(|g| shared.net.group(g))
                .collect();
            let verdict = vpc::sg::check(
                groups.iter(),
                Direction::Ingress,
                IpProtocol::Tcp,
                dst.port(),
                client.ip,
                &client.groups,
            );
            let admitted = vpc::sg::record(
                trace,
                verdict,
                || {
                    format!(
                        "service network VPC association {} ({}) {dst}",
                        association.logical_id, association.id
                    )
                },
                |group, rule| {
                    format!(
                        "service network VPC association {} ({}) admits tcp/{} from {}: {group} rule {rule}",
                        association.logical_id,
                        association.id,
                        dst.port(),
                        client.ip
                    )
                },
                |reason| {
                    format!(
                        "{} -> {dst} ({}): service network VPC association {} ({}): {reason}; dropped, the connection times out",
                        client.ip, service.dns_name, association.logical_id, association.id
                    )
                },
            );
            if !admitted {
                return std::future::pending().await;
            }
        }
        let Some(listener) = model
            .listeners
            .iter()
            .find(|l| l.service_id == service.id && l.port == dst.port())
            .cloned()
        else {
            trace.hop(
                "lattice",
                Verdict::Refuse,
                format!(
                    "service {} has no listener on port {}: refused",
                    service.name,
                    dst.port()
                ),
            );
            return Err(LatticeSnError::Refused { addr: dst });
        };
        trace.pass(
            "lattice",
            format!(
                "{}:{} is service {} ({}) in service network {} ({}, auth {:?}); listener {} {}:{}",
                dst.ip(),
                dst.port(),
                service.name,
                service.id,
                network.name,
                network.id,
                network.auth,
                listener.name,
                listener.protocol,
                listener.port
            ),
        );
        let (client_end, server_end) = tokio::io::duplex(64 * 1024);
        let conn = Arc::new(Conn {
            service: service.clone(),
            network,
            listener,
            source_vpc: client.vpc_id.clone(),
            peer: SocketAddr::new(client.ip, ephemeral_port()),
            tls: Mutex::new(None),
        });
        tokio::spawn(serve(shared.clone(), conn, server_end, trace.clone()));
        Ok(client_end)
    }
}

fn ephemeral_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    (49152 + NEXT.fetch_add(1, Ordering::Relaxed) % 16000) as u16
}

/// The EC2 private DNS name of an address (`ip-10-1-1-4.<region>.compute.internal`).
fn private_dns_name(ip: IpAddr, region: &str) -> String {
    format!(
        "ip-{}.{region}.compute.internal",
        ip.to_string().replace('.', "-")
    )
}

fn acceptor(
    certificates: Vec<Arc<IssuedCertificate>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> tokio_rustls::TlsAcceptor {
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Sni(certificates)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[derive(Debug)]
struct Sni(Vec<Arc<IssuedCertificate>>);

impl rustls::server::ResolvesServerCert for Sni {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.0.iter().find(|c| c.covers(n)))
            .or_else(|| self.0.first())
            .map(|c| c.certified.clone())
    }
}

#[derive(Debug)]
struct Conn {
    service: ServiceConfig,
    network: ServiceNetworkConfig,
    listener: ListenerConfig,
    source_vpc: String,
    peer: SocketAddr,
    /// (SNI, cipher, TLS version) of an HTTPS connection.
    tls: Mutex<Option<(String, String, String)>>,
}

async fn serve(shared: Arc<Shared>, conn: Arc<Conn>, stream: DuplexStream, trace: Trace) {
    let svc = {
        let shared = shared.clone();
        let conn = conn.clone();
        let trace = trace.clone();
        service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let shared = shared.clone();
            let conn = conn.clone();
            let trace = trace.clone();
            async move { Ok::<_, Infallible>(handle(&shared, &conn, req, &trace).await) }
        })
    };
    let builder = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .clone();
    match conn.listener.protocol {
        Protocol::Http => {
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        }
        Protocol::Https => {
            let Some(acceptor) = shared.acceptors.get(&conn.service.id).cloned() else {
                return;
            };
            match acceptor.accept(stream).await {
                Ok(tls) => {
                    let (_, session) = tls.get_ref();
                    let sni = session.server_name().unwrap_or("-").to_string();
                    let cipher = session
                        .negotiated_cipher_suite()
                        .map(|s| openssl_name(s.suite()))
                        .unwrap_or_else(|| "-".into());
                    let version = match session.protocol_version() {
                        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                        _ => "-",
                    };
                    trace.pass(
                        "lattice",
                        format!(
                            "listener {} HTTPS:{} accepted TLS from {} (SNI {sni}, {version}, {cipher})",
                            conn.listener.name, conn.listener.port, conn.peer
                        ),
                    );
                    *conn.tls.lock().expect("tls lock") = Some((sni, cipher, version.into()));
                    let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
                }
                Err(e) => trace.hop(
                    "lattice",
                    Verdict::Fail,
                    format!(
                        "listener {} HTTPS:{}: TLS handshake from {} failed: {e}",
                        conn.listener.name, conn.listener.port, conn.peer
                    ),
                ),
            }
        }
    }
}

/// OpenSSL's names for the suites rustls negotiates (access logs use them).
fn openssl_name(suite: rustls::CipherSuite) -> String {
    use rustls::CipherSuite as C;
    match suite {
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256".into(),
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384".into(),
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256".into(),
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256".into(),
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384".into(),
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256".into(),
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384".into(),
        other => format!("{other:?}"),
    }
}

fn http_date(clock: &Clock) -> String {
    crate::sigv4::format_http_date(clock.now())
}

/// An answer Lattice makes itself (403, 404 fixed response, 5xx).
fn own_answer(clock: &Clock, status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut b = hyper::Response::builder()
        .status(status)
        .header(http::header::DATE, http_date(clock));
    if !body.is_empty() {
        b = b.header(http::header::CONTENT_TYPE, "text/plain");
    }
    b.header(http::header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static parts")
}

impl RuleConfig {
    fn matches(&self, method: &str, path: &str, headers: &http::HeaderMap) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(p) = &self.path {
            let (value, path) = if p.case_sensitive {
                (p.value.clone(), path.to_string())
            } else {
                (p.value.to_ascii_lowercase(), path.to_ascii_lowercase())
            };
            let ok = if p.exact {
                path == value
            } else {
                path.starts_with(&value)
            };
            if !ok {
                return false;
            }
        }
        self.headers.iter().all(|h| {
            headers.get_all(h.name.as_str()).iter().any(|v| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                let fold = |s: &str| {
                    if h.case_sensitive {
                        s.to_string()
                    } else {
                        s.to_ascii_lowercase()
                    }
                };
                let v = fold(&v);
                match &h.kind {
                    HeaderMatchType::Exact(x) => v == fold(x),
                    HeaderMatchType::Prefix(x) => v.starts_with(&fold(x)),
                    HeaderMatchType::Contains(x) => v.contains(&fold(x)),
                }
            })
        })
    }
}

/// The caller identity headers Lattice strips from incoming requests ("can't be spoofed").
const IDENTITY_HEADERS: [&str; 4] = [
    "x-amzn-lattice-identity",
    "x-amzn-lattice-identity-tags",
    "x-amzn-lattice-network",
    "x-amzn-lattice-target",
];

async fn handle(
    shared: &Shared,
    conn: &Conn,
    req: hyper::Request<hyper::body::Incoming>,
    trace: &Trace,
) -> hyper::Response<Full<Bytes>> {
    let begin = tokio::time::Instant::now();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let service = &conn.service;
    let network = &conn.network;
    let path = parts.uri.path().to_string();
    let method = parts.method.as_str().to_string();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    let tls = conn.tls.lock().expect("tls lock").clone();
    let mut entry = Entry {
        service_network_arn: network.arn.clone(),
        listener_type: conn.listener.protocol.to_string(),
        source_vpc_arn: format!(
            "arn:aws:ec2:{}:{}:vpc/{}",
            shared.region, shared.account, conn.source_vpc
        ),
        source_ip_port: conn.peer.to_string(),
        listener_id: conn.listener.id.clone(),
        service_arn: service.arn.clone(),
        source_vpc_id: conn.source_vpc.clone(),
        start_time: shared
            .clock
            .now_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        request_method: method.clone(),
        request_path: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| path.clone()),
        protocol: "HTTP/1.1".into(),
        bytes_received: body.len() as u64,
        user_agent: header("user-agent"),
        host_header: header("host"),
        ..Entry::default()
    };
    if let Some((sni, cipher, version)) = tls {
        entry.server_name_indication = sni;
        entry.ssl_cipher = cipher;
        entry.tls_version = version;
    }
    trace.info(
        "lattice",
        format!(
            "{method} {} (Host {})",
            entry.request_path, entry.host_header
        ),
    );
    let resp = route(shared, conn, &parts, body, &path, &mut entry, trace).await;
    entry.response_code = resp.status().as_u16();
    entry.bytes_sent = hyper::body::Body::size_hint(resp.body())
        .exact()
        .unwrap_or_default();
    entry.duration = begin.elapsed().as_millis() as u64;
    for sub in shared.access_logs.write(&network.id, &service.id, &entry) {
        trace.info(
            "lattice",
            format!(
                "access log {} ({} -> {}): {} {} {}",
                sub.id,
                sub.destination_arn,
                sub.file.display(),
                entry.request_method,
                entry.request_path,
                entry.response_code
            ),
        );
    }
    resp
}

#[allow(clippy::too_many_arguments)]
async fn route(
    shared: &Shared,
    conn: &Conn,
    parts: &http::request::Parts,
    body: Bytes,
    path: &str,
    entry: &mut Entry,
    trace: &Trace,
) -> hyper::Response<Full<Bytes>> {
    let service = &conn.service;
    let network = &conn.network;
    // Auth.
    let gates = [
        Gate {
            auth: network.auth,
            policy: shared.policies.get(&network.id),
            name: &network.name,
            kind: PolicyKind::LatticeServiceNetwork,
        },
        Gate {
            auth: service.auth,
            policy: shared.policies.get(&service.id),
            name: &service.name,
            kind: PolicyKind::LatticeService,
        },
    ];
    let auth_on = gates.iter().any(|g| g.auth == AuthType::AwsIam);
    let principal = if auth_on {
        match auth::authenticate(
            parts,
            &body,
            // Clients sign with their host's clock: on serve's virtual clock, the host's time.
            shared.clock.host_now(),
            &shared.region,
            &shared.iam,
            trace,
        ) {
            Ok(p) => p,
            Err(e) => {
                entry.auth_denied_reason = "Authentication".into();
                entry.resolved_user = "Unknown".into();
                return own_answer(&shared.clock, 403, &e.body());
            }
        }
    } else {
        Principal::Anonymous
    };
    entry.resolved_user = match &principal {
        Principal::Anonymous => "Anonymous".into(),
        p => p.arn(),
    };
    if !matches!(principal, Principal::Anonymous) {
        entry.caller_principal = principal.arn();
    }
    let resource = format!("{}{}", service.arn, path);
    let context = request_context(shared, conn, parts, path);
    if let Err(denied) =
        auth::authorize(&shared.iam, &principal, &resource, &context, &gates, trace)
    {
        entry.auth_denied_reason = denied.reason.into();
        return own_answer(&shared.clock, 403, &denied.body);
    }
    // Rules.
    let mut rules: Vec<&RuleConfig> = shared
        .model
        .rules
        .iter()
        .filter(|r| r.listener_id == conn.listener.id)
        .collect();
    rules.sort_by_key(|r| r.priority);
    let method = parts.method.as_str();
    let (which, action) = match rules
        .into_iter()
        .find(|r| r.matches(method, path, &parts.headers))
    {
        Some(r) => (
            format!("rule {} (priority {})", r.name, r.priority),
            &r.action,
        ),
        None => (
            "the default action".to_string(),
            &conn.listener.default_action,
        ),
    };
    trace.info(
        "lattice",
        format!(
            "{method} {path} matched {which} of listener {}",
            conn.listener.name
        ),
    );
    let groups = match action {
        Action::FixedResponse(status) => {
            trace.pass("lattice", format!("fixed-response {status}"));
            return own_answer(&shared.clock, *status, "");
        }
        Action::Forward(groups) => groups,
    };
    let Some(tg) = pick_group(shared, &conn.listener.id, groups) else {
        trace.hop(
            "lattice",
            Verdict::Refuse,
            "forward action has no target group with weight: 503",
        );
        entry.failure_reason = "NoTargetGroup".into();
        return own_answer(&shared.clock, 503, "no healthy upstream");
    };
    entry.target_group_arn = tg.arn.clone();
    entry.destination_vpc_id = if tg.vpc_id.is_empty() {
        "-".into()
    } else {
        tg.vpc_id.clone()
    };
    let counter = shared.counter(&tg.id);
    let Some(target) = target_group::choose(tg, &shared.health, &counter) else {
        let states: Vec<String> = tg
            .targets
            .iter()
            .map(|t| match shared.health.get(&tg.id, t) {
                Some(h) => format!(
                    "{} {} ({} checks, {} consecutive failures; last: {}{})",
                    t.label(),
                    h.status,
                    h.checks,
                    h.failures,
                    if h.last.is_empty() { "-" } else { &h.last },
                    h.last_at
                        .map(|d| format!(" at {:.3}s", d.as_secs_f64()))
                        .unwrap_or_default()
                ),
                None => format!("{} (unknown)", t.label()),
            })
            .collect();
        trace.hop(
            "lattice",
            Verdict::Refuse,
            format!(
                "target group {} ({}) has no healthy target: 503 [{}]",
                tg.name,
                tg.id,
                if states.is_empty() {
                    "no registered targets".to_string()
                } else {
                    states.join("; ")
                }
            ),
        );
        entry.failure_reason = "NoHealthyTargets".into();
        return own_answer(&shared.clock, 503, "no healthy upstream");
    };
    let health = shared.health.get(&tg.id, target);
    trace.pass(
        "lattice",
        format!(
            "target group {} ({}, {} {}): chose target {} ({}{})",
            tg.name,
            tg.id,
            tg.protocol,
            tg.port,
            target.label(),
            health.as_ref().map(|h| h.status.as_str()).unwrap_or("-"),
            health
                .as_ref()
                .filter(|h| !h.last.is_empty())
                .map(|h| format!(", last health check: {}", h.last))
                .unwrap_or_default()
        ),
    );
    entry.target_ip_port = target.label();
    let upstream = match upstream_request(shared, conn, parts, body, tg, &principal) {
        Ok(r) => r,
        Err(e) => {
            trace.hop(
                "lattice",
                Verdict::Fail,
                format!("bad request toward the target: {e}"),
            );
            return own_answer(&shared.clock, 400, "");
        }
    };
    let sent_at = tokio::time::Instant::now();
    let result = tokio::time::timeout(
        TARGET_TIMEOUT,
        target_group::exchange(
            &shared.target_ctx,
            target_group::Destination {
                tg,
                target,
                port_override: None,
                protocol: tg.protocol,
            },
            upstream,
            trace,
        ),
    )
    .await;
    entry.request_to_target_duration = Value::from(sent_at.elapsed().as_millis() as u64);
    match result {
        Ok(Ok(resp)) => {
            entry.response_from_target_duration = Value::from(0u64);
            trace.pass(
                "lattice",
                format!("target {} answered {}", target.label(), resp.status()),
            );
            let (parts, body) = resp.into_parts();
            hyper::Response::from_parts(parts, Full::new(body))
        }
        Ok(Err(e)) => {
            let (status, body, reason) = match &e {
                TargetError::Timeout { .. } => (504, "upstream request timeout", "TargetTimeout"),
                _ => (
                    502,
                    "upstream connect error or disconnect/reset before headers",
                    "TargetConnectionError",
                ),
            };
            trace.hop(
                "lattice",
                Verdict::Fail,
                format!("target {}: {e}: {status}", target.label()),
            );
            entry.failure_reason = reason.into();
            own_answer(&shared.clock, status, body)
        }
        Err(_) => {
            trace.hop(
                "lattice",
                Verdict::Fail,
                format!(
                    "target {} sent nothing for {} s: 504",
                    target.label(),
                    TARGET_TIMEOUT.as_secs()
                ),
            );
            entry.failure_reason = "TargetTimeout".into();
            own_answer(&shared.clock, 504, "upstream request timeout")
        }
    }
}

impl Shared {
    fn counter(&self, key: &str) -> Arc<AtomicUsize> {
        self.counters
            .lock()
            .expect("counter lock")
            .entry(key.to_string())
            .or_default()
            .clone()
    }
}

/// Weighted choice among a forward action's target groups (deterministic, by request count).
fn pick_group<'a>(
    shared: &'a Shared,
    listener_id: &str,
    groups: &[WeightedTargetGroup],
) -> Option<&'a TargetGroupConfig> {
    let total: u32 = groups.iter().map(|g| g.weight).sum();
    if total == 0 {
        return None;
    }
    let n = shared
        .counter(&format!("{listener_id}/groups"))
        .fetch_add(1, Ordering::Relaxed) as u32
        % total;
    let mut acc = 0;
    for g in groups {
        acc += g.weight;
        if n < acc {
            return shared.target_groups.get(&g.target_group_id);
        }
    }
    None
}

fn request_context(
    shared: &Shared,
    conn: &Conn,
    parts: &http::request::Parts,
    path: &str,
) -> RequestContext {
    let region = conn.service.arn.split(':').nth(3).unwrap_or_default();
    let mut ctx = RequestContext::for_request(shared.clock.now_utc(), region);
    ctx.insert("vpc-lattice-svcs:Port", conn.listener.port.to_string());
    ctx.insert("vpc-lattice-svcs:RequestMethod", parts.method.as_str());
    ctx.insert("vpc-lattice-svcs:RequestPath", path);
    ctx.insert("vpc-lattice-svcs:ServiceArn", conn.service.arn.clone());
    ctx.insert(
        "vpc-lattice-svcs:ServiceNetworkArn",
        conn.network.arn.clone(),
    );
    ctx.insert("vpc-lattice-svcs:SourceVpc", conn.source_vpc.clone());
    ctx.insert(
        "vpc-lattice-svcs:SourceVpcOwnerAccount",
        shared.account.clone(),
    );
    ctx.insert(
        "aws:SecureTransport",
        (conn.listener.protocol == Protocol::Https).to_string(),
    );
    for name in parts.headers.keys() {
        let values: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        ctx.insert_values(
            &format!("vpc-lattice-svcs:RequestHeader/{}", name.as_str()),
            values,
        );
    }
    if let Some(q) = parts.uri.query() {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            ctx.insert(
                &format!("vpc-lattice-svcs:RequestQueryString/{}", dec(k)),
                dec(v),
            );
        }
    }
    ctx
}

fn upstream_request(
    shared: &Shared,
    conn: &Conn,
    parts: &http::request::Parts,
    body: Bytes,
    tg: &TargetGroupConfig,
    principal: &Principal,
) -> Result<http::Request<Full<Bytes>>, http::Error> {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut b = http::Request::builder()
        .method(parts.method.clone())
        .uri(target);
    let mut headers = parts.headers.clone();
    for h in IDENTITY_HEADERS {
        headers.remove(h);
    }
    for h in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "te",
    ] {
        headers.remove(h);
    }
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {}", conn.peer.ip()),
        None => conn.peer.ip().to_string(),
    };
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-forwarded-for", xff);
    set("x-forwarded-port", conn.listener.port.to_string());
    set(
        "x-forwarded-proto",
        conn.listener.protocol.scheme().to_string(),
    );
    if !matches!(principal, Principal::Anonymous) {
        let session = match principal {
            Principal::AssumedRole { session_name, .. } => session_name.clone(),
            _ => String::new(),
        };
        set(
            "x-amzn-lattice-identity",
            format!(
                "Principal={};PrincipalOrgID=;PrincipalOrgPath=;SessionName={session};",
                principal.arn()
            ),
        );
        set(
            "x-amzn-lattice-identity-tags",
            format!(
                "principal={};principalorgid=;principalorgpath=",
                principal.arn()
            ),
        );
    }
    set(
        "x-amzn-lattice-network",
        format!(
            "SourceVpcArn=arn:aws:ec2:{}:{}:vpc/{}",
            shared.region, shared.account, conn.source_vpc
        ),
    );
    set(
        "x-amzn-lattice-target",
        format!(
            "ServiceArn={};ServiceNetworkArn={};TargetGroupArn={}",
            conn.service.arn, conn.network.arn, tg.arn
        ),
    );
    if let Some(h) = b.headers_mut() {
        *h = headers;
    }
    b.body(Full::new(body))
}

// ---------------------------------------------------------------------------------------------
// The client side: a request from an ENI in a VPC, wherever its URL leads.
// ---------------------------------------------------------------------------------------------

/// A request a client in a VPC sends.
#[derive(Clone, Debug, Default)]
pub struct ClientRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// `http://…` or `https://…`.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// Credentials to sign with (SigV4, `vpc-lattice-svcs`, `UNSIGNED-PAYLOAD`); `None` sends an
    /// unsigned (anonymous) request.
    pub credentials: Option<Credentials>,
    /// How long the client waits for the connection and the answer (default 60 s).
    pub timeout: Option<Duration>,
}

/// What came back.
#[derive(Clone, Debug)]
pub struct ClientResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// What a VPC Lattice client needs of the world besides the [`Fabric`] its connections pass
/// through: the service networks, and IAM (the credentials it signs with).
pub trait Clients: Fabric {
    /// The service networks.
    fn lattice(&self) -> &LatticeServices;
    /// The account's IAM.
    fn iam(&self) -> &Directory;
}

/// Sends `req` from `from` (an ENI in a VPC): resolves the URL's host with the VPC's resolver,
/// connects — through Lattice when the answer is a Lattice address, else inside the VPC —,
/// speaks TLS for `https` (trusting only the emulated public root) and HTTP/1.1.
pub async fn request<W: Clients>(
    world: &W,
    from: &Arc<Eni>,
    req: &ClientRequest,
    trace: &Trace,
) -> Result<ClientResponse, LatticeSnError> {
    let bad = |reason: &str| LatticeSnError::BadUrl {
        url: req.url.clone(),
        reason: reason.to_string(),
    };
    let uri: http::Uri = req.url.parse().map_err(|_| bad("not a URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let host = uri.host().ok_or_else(|| bad("no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let timeout = req.timeout.unwrap_or(Duration::from_secs(60));
    trace.info(
        "client",
        format!(
            "{} {} from {} ({}, {})",
            req.method, req.url, from.ip, from.id, from.description
        ),
    );
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let dns = world
                .dns(&from.vpc_id)
                .ok_or_else(|| LatticeSnError::Unknown {
                    what: "VPC",
                    name: from.vpc_id.clone(),
                })?;
            dns.resolver(from.ip).lookup_ipv4(&host, trace).await?[0]
        }
    };
    let addr = SocketAddr::new(ip, port);
    let connect = async {
        if LatticeServices::is_lattice_address(ip) {
            world.lattice().connect(from, addr, trace).await
        } else {
            // Inside the VPC, or wherever the subnet's routes lead (NAT and internet gateways to
            // the public AWS endpoints): crate::ec2.
            crate::ec2::connect_addr(world, from, addr, trace)
                .await
                .map_err(|_| LatticeSnError::Refused { addr })
        }
    };
    let stream = tokio::time::timeout(timeout, connect).await.map_err(|_| {
        trace.hop(
            "client",
            Verdict::Fail,
            format!(
                "connection to {addr} timed out after {} s",
                timeout.as_secs()
            ),
        );
        LatticeSnError::Timeout {
            addr,
            after: timeout,
        }
    })??;
    let io: Box<dyn IoStream> = if https {
        let connector = tokio_rustls::TlsConnector::from(world.tls_client().clone());
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| {
            LatticeSnError::Tls {
                host: host.clone(),
                reason: e.to_string(),
            }
        })?;
        match connector.connect(name, stream).await {
            Ok(tls) => {
                trace.pass(
                    "tls",
                    format!("handshake with {host}: certificate chains to the emulated public root and matches the host"),
                );
                Box::new(tls)
            }
            Err(e) => {
                trace.hop(
                    "tls",
                    Verdict::Fail,
                    format!("handshake with {host} failed: {e}"),
                );
                return Err(LatticeSnError::Tls {
                    host,
                    reason: e.to_string(),
                });
            }
        }
    } else {
        Box::new(stream)
    };
    let http_err = |e: &dyn std::fmt::Display| LatticeSnError::Http {
        host: host.clone(),
        reason: e.to_string(),
    };
    let mut builder = http::Request::builder()
        .method(req.method.as_str())
        .uri(format!(
            "{}://{}{}",
            if https { "https" } else { "http" },
            uri.authority().map(|a| a.as_str()).unwrap_or(&host),
            target
        ));
    let host_header = if port == if https { 443 } else { 80 } {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    builder = builder.header(http::header::HOST, host_header);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    // An AWS service's own name (`states.<region>.amazonaws.com`, `{id}.execute-api…`) is
    // signed for that service with the payload's hash; anything else for Lattice.
    let aws_service = crate::ec2::signing_service(&host, world.region());
    if req.credentials.is_some() && aws_service.is_none() {
        builder = builder.header("x-amz-content-sha256", auth::UNSIGNED_PAYLOAD);
    }
    let mut request = builder.body(req.body.clone()).map_err(|e| http_err(&e))?;
    if let Some(creds) = &req.credentials {
        let settings = SigningSettings {
            sign_payload: aws_service.is_some(),
            ..SigningSettings::default()
        };
        let service = aws_service.unwrap_or(auth::SERVICE);
        let mut signing = request.map(|b| b.to_vec());
        sigv4::sign_request(
            &mut signing,
            creds,
            world.region(),
            service,
            world.clock().now(),
            &settings,
        )
        .map_err(|e| LatticeSnError::Signing {
            reason: e.to_string(),
        })?;
        trace.info(
            "client",
            format!(
                "signed with SigV4 ({}, {}) as {}",
                service,
                world.region(),
                creds.access_key_id
            ),
        );
        request = signing.map(Bytes::from);
    }
    // Origin-form on the wire.
    let (mut parts, body) = request.into_parts();
    parts.uri = target
        .parse()
        .map_err(|e: http::uri::InvalidUri| http_err(&e))?;
    let request = http::Request::from_parts(parts, Full::new(body));
    let exchange = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| http_err(&e))?;
        tokio::spawn(connection);
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| http_err(&e))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| http_err(&e))?.to_bytes();
        Ok::<_, LatticeSnError>(ClientResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    let resp = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| LatticeSnError::Timeout {
            addr,
            after: timeout,
        })??;
    trace.info(
        "client",
        format!("{} {} answered {}", req.method, req.url, resp.status),
    );
    Ok(resp)
}

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> IoStream for T {}

/// The ENI a scenario's `From` names: an instance (logical id or `Ref`: its ENI) or a subnet id
/// (a new ENI whose group allows all outbound traffic, like a VPC's default security group).
pub fn client_eni<W: Clients>(world: &W, from: &str) -> Result<Arc<Eni>, LatticeSnError> {
    let lattice = world.lattice();
    let net = world.net();
    if let Some(eni) = lattice.instance_eni(from) {
        return Ok(eni);
    }
    if let Some(inst) = lattice
        .model()
        .instances
        .iter()
        .find(|i| i.reference == from)
        && let Some(eni) = lattice.instance_eni(&inst.logical_id)
    {
        return Ok(eni);
    }
    let subnet = net.subnet(from).ok_or_else(|| LatticeSnError::Unknown {
        what: "instance or subnet",
        name: from.to_string(),
    })?;
    let group_id = format!("sg-vpcgate-client-{}", subnet.vpc_id);
    if net.group(&group_id).is_none() {
        net.put_group(vpc::SecurityGroup {
            id: group_id.clone(),
            logical_id: "vpcgate client".into(),
            vpc_id: subnet.vpc_id.clone(),
            ingress: Vec::new(),
            egress: vec![vpc::sg::Rule::allow_all_ipv4()],
        });
    }
    net.create_eni(
        &subnet.id,
        vec![group_id],
        format!("vpcgate client in {from}"),
    )
    .map_err(|_| LatticeSnError::Unknown {
        what: "subnet with a free address",
        name: from.to_string(),
    })
}

/// Credentials for a client that signs: a role (a fresh session, as an instance profile would give) or a
/// user (its first access key), by logical id, name or ARN.
pub fn credentials_for<W: Clients>(world: &W, who: &str) -> Result<Credentials, LatticeSnError> {
    use crate::authz::ClientCredentialsError;
    world
        .iam()
        .client_credentials(who, world.clock().now_utc())
        .map_err(|e| match e {
            ClientCredentialsError::Unknown(name) => LatticeSnError::Unknown {
                what: "role or user",
                name,
            },
            other => LatticeSnError::Signing {
                reason: other.to_string(),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        path: Option<PathMatch>,
        headers: Vec<HeaderMatch>,
        method: Option<&str>,
    ) -> RuleConfig {
        RuleConfig {
            logical_id: "R".into(),
            name: "r".into(),
            id: "rule-1".into(),
            arn: "arn".into(),
            listener_id: "listener-1".into(),
            priority: 1,
            method: method.map(str::to_string),
            path,
            headers,
            action: Action::FixedResponse(404),
        }
    }

    #[test]
    fn path_matches_are_case_sensitive_by_default_and_prefix_or_exact() {
        let prefix = rule(
            Some(PathMatch {
                exact: false,
                value: "/api".into(),
                case_sensitive: true,
            }),
            vec![],
            None,
        );
        let h = http::HeaderMap::new();
        assert!(prefix.matches("GET", "/api/v1", &h));
        assert!(!prefix.matches("GET", "/API/v1", &h));
        let exact = rule(
            Some(PathMatch {
                exact: true,
                value: "/health".into(),
                case_sensitive: false,
            }),
            vec![],
            Some("GET"),
        );
        assert!(exact.matches("GET", "/HEALTH", &h));
        assert!(!exact.matches("POST", "/health", &h));
        assert!(!exact.matches("GET", "/health/x", &h));
    }

    #[test]
    fn header_matches_fold_case_unless_asked() {
        let r = rule(
            None,
            vec![HeaderMatch {
                name: "x-tenant".into(),
                kind: HeaderMatchType::Contains("blue".into()),
                case_sensitive: false,
            }],
            None,
        );
        let mut h = http::HeaderMap::new();
        assert!(!r.matches("GET", "/", &h));
        h.insert("x-tenant", "team-BLUE-1".parse().unwrap());
        assert!(r.matches("GET", "/", &h));
    }

    #[test]
    fn service_addresses_are_link_local() {
        let ip = service_ip("svc-0cfe1f49ff3266204");
        assert!(LatticeServices::is_lattice_address(IpAddr::V4(ip)));
        assert_eq!(ip, service_ip("svc-0cfe1f49ff3266204"));
    }
}
