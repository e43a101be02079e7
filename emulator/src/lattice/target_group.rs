//! VPC Lattice target groups: their targets, health checks on tokio's clock, and the hop from
//! Lattice to a target.
//!
//! - Types `IP`, `INSTANCE` and `ALB` are emulated (`LAMBDA` is not). An IP target inside the
//!   group's VPC and an instance target are reached over [`crate::vpc::Network::connect`] from
//!   Lattice's link-local range, so the target's security group must admit
//!   `169.254.171.0/24` (the `com.amazonaws.<region>.vpc-lattice` prefix list); an IP target
//!   outside every VPC range (e.g. `127.0.0.1:8080`) is a host address, vpcgate's way to put a
//!   user's own service behind Lattice. An ALB target is reached at the load balancer's nodes.
//! - Health checks follow <https://docs.aws.amazon.com/vpc-lattice/latest/ug/target-group-health-checks.html>:
//!   every `HealthCheckIntervalSeconds` each target gets a request on `HealthCheckPath`; no answer
//!   within `HealthCheckTimeoutSeconds` or a status outside `Matcher` is a failure;
//!   `UnhealthyThresholdCount` consecutive failures take the target out of service,
//!   `HealthyThresholdCount` consecutive successes put it back; a newly registered target "must
//!   pass one health check to be considered healthy". Defaults (INSTANCE/IP): HTTP, 30 s
//!   interval, 5 s timeout, 5 healthy, 2 unhealthy, matcher 200, path `/` (same page; recorded
//!   from `get-target-group` in aws/aws-application-networking-k8s#69). ALB target groups have
//!   no health checks. A target group that no listener uses is `UNUSED` and is not checked.
//! - Lattice does not check the target's certificate on HTTPS (as ALB does not): any certificate
//!   is accepted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::trace::Trace;
use crate::vpc::pool::{ExchangeError, PoolKey};
use crate::vpc::{ConnectError, Network, Source};

/// `TargetGroup.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    /// `IP`.
    Ip,
    /// `INSTANCE`.
    Instance,
    /// `ALB`.
    Alb,
    /// `LAMBDA`: accepted, its functions not run; a request gets what Lattice answers when a
    /// target group has no target it can reach.
    Lambda,
}

/// HTTP or HTTPS (listeners, target groups, health checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `HTTP`.
    Http,
    /// `HTTPS`.
    Https,
}

impl Protocol {
    /// The default port of the protocol.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Http => 80,
            Protocol::Https => 443,
        }
    }

    /// `http` / `https`, as `x-forwarded-proto` carries it.
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
        })
    }
}

/// `Config.HealthCheck`, defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// `Enabled` (default true for HTTP1 groups).
    pub enabled: bool,
    /// `Protocol` (default HTTP).
    pub protocol: Protocol,
    /// `Port` (default: the target's port).
    pub port: Option<u16>,
    /// `Path` (default `/`).
    pub path: String,
    /// `HealthCheckIntervalSeconds` (default 30, 5-300).
    pub interval: Duration,
    /// `HealthCheckTimeoutSeconds` (default 5, 1-120).
    pub timeout: Duration,
    /// `HealthyThresholdCount` (default 5, 2-10).
    pub healthy_threshold: u32,
    /// `UnhealthyThresholdCount` (default 2, 2-10).
    pub unhealthy_threshold: u32,
    /// `Matcher.HttpCode` as inclusive ranges (default 200).
    pub matcher: Vec<(u16, u16)>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            enabled: true,
            protocol: Protocol::Http,
            port: None,
            path: "/".into(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: vec![(200, 200)],
        }
    }
}

impl HealthCheck {
    /// Whether `status` is a success for the matcher.
    pub fn matches(&self, status: u16) -> bool {
        self.matcher
            .iter()
            .any(|(a, b)| *a <= status && status <= *b)
    }
}

/// Where a registered target is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetAddress {
    /// An address inside the group's VPC (IP target or an instance's ENI).
    InVpc(SocketAddr),
    /// A host address outside every VPC (a user's own service).
    Host(SocketAddr),
    /// An instance, before its ENI exists (resolved to [`TargetAddress::InVpc`] at start).
    Instance {
        /// The instance's logical id.
        logical_id: String,
        /// The port.
        port: u16,
    },
    /// An application load balancer's nodes (ALB target groups).
    Alb {
        /// Its ARN.
        arn: String,
        /// The port.
        port: u16,
    },
}

/// One registered target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `Targets[].Id` as registered (an IP, an instance's Ref, an ALB ARN).
    pub id: String,
    /// Where it is.
    pub address: TargetAddress,
}

impl Target {
    /// `ip:port` (or the ALB ARN) for traces and access logs.
    pub fn label(&self) -> String {
        match &self.address {
            TargetAddress::InVpc(a) | TargetAddress::Host(a) => a.to_string(),
            TargetAddress::Alb { arn, port } => format!("{arn}:{port}"),
            TargetAddress::Instance { logical_id, port } => format!("{logical_id}:{port}"),
        }
    }
}

/// A target group as the model describes it.
#[derive(Clone, Debug)]
pub struct TargetGroupConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `Name`.
    pub name: String,
    /// `tg-…`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `Type`.
    pub target_type: TargetType,
    /// `Config.Port` (the default port of targets).
    pub port: u16,
    /// `Config.Protocol`.
    pub protocol: Protocol,
    /// `Config.VpcIdentifier` (empty for ALB groups without one).
    pub vpc_id: String,
    /// `Config.HealthCheck` (`None` for ALB groups).
    pub health_check: Option<HealthCheck>,
    /// `Targets`.
    pub targets: Vec<Target>,
}

/// The health status of a target, as `ListTargets` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetStatus {
    /// Registered, first health check not passed yet.
    Initial,
    /// In service.
    Healthy,
    /// Out of service after `UnhealthyThresholdCount` failures.
    Unhealthy,
    /// Health checks are disabled: traffic goes to it ("UNAVAILABLE").
    Unavailable,
    /// The group is not used by any listener.
    Unused,
}

impl TargetStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Initial => "INITIAL",
            TargetStatus::Healthy => "HEALTHY",
            TargetStatus::Unhealthy => "UNHEALTHY",
            TargetStatus::Unavailable => "UNAVAILABLE",
            TargetStatus::Unused => "UNUSED",
        }
    }

    /// Whether Lattice routes requests to a target in this status.
    pub fn takes_traffic(self) -> bool {
        matches!(self, TargetStatus::Healthy | TargetStatus::Unavailable)
    }
}

impl std::fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the health checker knows of one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetHealth {
    /// The status.
    pub status: TargetStatus,
    /// Consecutive successes so far.
    pub successes: u32,
    /// Consecutive failures so far.
    pub failures: u32,
    /// How many checks ran.
    pub checks: u32,
    /// The last check's outcome, in words.
    pub last: String,
    /// Virtual time of the last check, since the world started.
    pub last_at: Option<Duration>,
}

/// Health of every target, shared by the checkers and the data plane.
#[derive(Debug, Default)]
pub struct HealthTable {
    by_target: Mutex<HashMap<(String, String), TargetHealth>>,
    first_round: tokio::sync::Notify,
    pending_first: AtomicUsize,
}

impl HealthTable {
    /// The health of `target` in group `tg_id`.
    pub fn get(&self, tg_id: &str, target: &Target) -> Option<TargetHealth> {
        self.by_target
            .lock()
            .expect("health lock")
            .get(&(tg_id.to_string(), target.id.clone()))
            .cloned()
    }

    fn put(&self, tg_id: &str, target: &Target, health: TargetHealth) {
        self.by_target
            .lock()
            .expect("health lock")
            .insert((tg_id.to_string(), target.id.clone()), health);
    }

    /// Waits until every checked target has had its first health check.
    pub async fn settled(&self) {
        loop {
            let notified = self.first_round.notified();
            if self.pending_first.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Everything a target hop needs.
#[derive(Clone, Debug)]
pub struct TargetContext {
    /// The virtual network.
    pub net: Network,
    /// The source address Lattice uses toward targets.
    pub lattice_ip: IpAddr,
    /// ALB node addresses by ARN (with the ALB's VPC).
    pub alb_nodes: HashMap<String, (String, Vec<IpAddr>)>,
    /// The origin of virtual time (for health history).
    pub origin: tokio::time::Instant,
    /// The world's clock (held while a host socket is open: see [`crate::clock`]).
    pub clock: crate::clock::Clock,
}

/// Why a target could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target reset the connection.
    #[error(transparent)]
    Refused(#[from] ConnectError),
    /// No answer within the time allowed (dropped SYN, silent target).
    #[error("no answer within {} s", .after.as_secs_f64())]
    Timeout {
        /// How long was waited.
        after: Duration,
    },
    /// The host address refused or failed.
    #[error("host target {addr}: {reason}")]
    Host {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// TLS toward the target failed.
    #[error("TLS handshake with the target failed: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },
    /// HTTP toward the target failed.
    #[error("HTTP exchange with the target failed: {reason}")]
    Http {
        /// Why.
        reason: String,
    },
    /// An instance target whose instance has no ENI.
    #[error("instance {logical_id} has no network interface")]
    NoInstance {
        /// The instance.
        logical_id: String,
    },
    /// The ALB of an ALB target is not in the scenario.
    #[error("load balancer {arn} is not in this scenario")]
    UnknownAlb {
        /// Its ARN.
        arn: String,
    },
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where a request from Lattice goes: the target of a group, on the target's port or a health
/// check's own, with the group's protocol or the health check's.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    /// The target group.
    pub tg: &'a TargetGroupConfig,
    /// The target.
    pub target: &'a Target,
    /// A port other than the target's (a health check's `Port`).
    pub port_override: Option<u16>,
    /// The protocol spoken.
    pub protocol: Protocol,
}

/// Opens TCP (and TLS for HTTPS) to `to.target` from Lattice.
async fn open(
    ctx: &TargetContext,
    to: Destination<'_>,
    trace: &Trace,
) -> Result<Box<dyn Io>, TargetError> {
    let Destination {
        tg,
        target,
        port_override,
        protocol,
    } = to;
    let source = Source::Outside {
        ip: ctx.lattice_ip,
        label: "VPC Lattice".into(),
    };
    let tcp: Box<dyn Io> = match &target.address {
        TargetAddress::Instance { logical_id, .. } => {
            return Err(TargetError::NoInstance {
                logical_id: logical_id.clone(),
            });
        }
        TargetAddress::InVpc(addr) => {
            let addr = SocketAddr::new(addr.ip(), port_override.unwrap_or(addr.port()));
            Box::new(ctx.net.connect(&source, &tg.vpc_id, addr, trace).await?)
        }
        TargetAddress::Host(addr) => {
            let addr = SocketAddr::new(addr.ip(), port_override.unwrap_or(addr.port()));
            if !addr.ip().is_loopback() {
                // vpcgate never opens a connection off this machine (the loader refuses such
                // targets; this keeps the promise for any other way in).
                return Err(TargetError::Host {
                    addr,
                    reason: "only this machine's loopback can host a target outside the VPCs"
                        .into(),
                });
            }
            // A real socket: the virtual clock must not jump while it is in flight.
            let hold = ctx.clock.hold();
            let s = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| TargetError::Host {
                    addr,
                    reason: e.to_string(),
                })?;
            Box::new(crate::clock::Held::new(s, hold))
        }
        TargetAddress::Alb { arn, port } => {
            let (vpc, nodes) = ctx
                .alb_nodes
                .get(arn)
                .ok_or_else(|| TargetError::UnknownAlb { arn: arn.clone() })?;
            let ip = nodes
                .first()
                .copied()
                .ok_or_else(|| TargetError::UnknownAlb { arn: arn.clone() })?;
            let addr = SocketAddr::new(ip, port_override.unwrap_or(*port));
            Box::new(ctx.net.connect(&source, vpc, addr, trace).await?)
        }
    };
    match protocol {
        Protocol::Http => Ok(tcp),
        Protocol::Https => {
            let connector = tokio_rustls::TlsConnector::from(insecure_client());
            let name = match &target.address {
                TargetAddress::InVpc(a) | TargetAddress::Host(a) => {
                    ServerName::IpAddress(a.ip().into())
                }
                TargetAddress::Alb { .. } | TargetAddress::Instance { .. } => {
                    ServerName::try_from("alb.internal")
                        .map_err(|e| TargetError::Tls {
                            reason: e.to_string(),
                        })?
                        .to_owned()
                }
            };
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| TargetError::Tls {
                    reason: e.to_string(),
                })?;
            Ok(Box::new(tls))
        }
    }
}

/// What a kept-alive connection from Lattice to `target` is filed under ([`crate::vpc::pool`]):
/// targets in the VPCs and load balancers; not a host's own service (a real socket holds the
/// virtual clock while it is open) nor an instance (never reached).
fn pool_key(ctx: &TargetContext, to: Destination<'_>) -> Option<PoolKey> {
    let destination = match &to.target.address {
        TargetAddress::InVpc(addr) => format!(
            "{} {}",
            to.tg.vpc_id,
            SocketAddr::new(addr.ip(), to.port_override.unwrap_or(addr.port()))
        ),
        TargetAddress::Alb { arn, port } => {
            format!("{arn} port {}", to.port_override.unwrap_or(*port))
        }
        TargetAddress::Host(_) | TargetAddress::Instance { .. } => return None,
    };
    Some(PoolKey {
        source: format!("VPC Lattice {}", ctx.lattice_ip),
        destination,
        tls: (to.protocol == Protocol::Https).then(|| "target".to_string()),
    })
}

/// Sends one request to `target` and reads the whole answer, over a kept-alive connection when
/// one is idle (VPC Lattice keeps its connections to targets open, as API Gateway does; the
/// security groups were checked when it opened), else over a new one.
pub async fn exchange(
    ctx: &TargetContext,
    to: Destination<'_>,
    req: http::Request<Full<Bytes>>,
    trace: &Trace,
) -> Result<http::Response<Bytes>, TargetError> {
    let http_err = |e: hyper::Error| TargetError::Http {
        reason: e.to_string(),
    };
    let Some(key) = pool_key(ctx, to) else {
        return exchange_once(ctx, to, req, trace).await;
    };
    let fresh = async || {
        let (conn_trace, relay) = trace.relay();
        let io = open(ctx, to, &conn_trace).await?;
        ctx.net
            .pool()
            .handshake(key.clone(), io, relay)
            .await
            .map_err(http_err)
    };
    let conn = match ctx.net.pool().checkout(&key, trace).await {
        Some(conn) => {
            trace.info(
                "lattice",
                format!(
                    "the kept-alive connection to target {} (security groups were checked when it opened)",
                    key.destination
                ),
            );
            conn
        }
        None => fresh().await?,
    };
    // A target that closed the kept-alive connection before the request left gets it once more
    // on a new connection (vpc::pool::Pooled::exchange).
    let resent = || {
        trace.info(
            "lattice",
            format!(
                "the kept-alive connection to target {} had closed before the request left; sent on a new connection",
                key.destination
            ),
        );
    };
    let (parts, body) = conn
        .exchange(req, fresh, resent)
        .await
        .map_err(|e| match e {
            ExchangeError::Reopen(e) => e,
            ExchangeError::Http(e) => http_err(e),
        })?;
    Ok(http::Response::from_parts(parts, body))
}

/// Sends one request to `target` over a connection of its own (health checks: each opens one).
async fn exchange_once(
    ctx: &TargetContext,
    to: Destination<'_>,
    req: http::Request<Full<Bytes>>,
    trace: &Trace,
) -> Result<http::Response<Bytes>, TargetError> {
    let io = open(ctx, to, trace).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| TargetError::Http {
            reason: e.to_string(),
        })?;
    tokio::spawn(conn);
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| TargetError::Http {
            reason: e.to_string(),
        })?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| TargetError::Http {
            reason: e.to_string(),
        })?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

/// Runs the health checks of `tg`'s targets forever (spawn it).
pub async fn run_health_checks(ctx: TargetContext, tg: TargetGroupConfig, table: Arc<HealthTable>) {
    let Some(hc) = tg.health_check.clone().filter(|h| h.enabled) else {
        return;
    };
    let mut set = tokio::task::JoinSet::new();
    for target in tg.targets.clone() {
        let ctx = ctx.clone();
        let tg = tg.clone();
        let hc = hc.clone();
        let table = table.clone();
        set.spawn(async move {
            let mut ticker = tokio::time::interval(hc.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut first = true;
            loop {
                ticker.tick().await;
                let outcome = check_once(&ctx, &tg, &target, &hc).await;
                let mut h = table.get(&tg.id, &target).unwrap_or(TargetHealth {
                    status: TargetStatus::Initial,
                    successes: 0,
                    failures: 0,
                    checks: 0,
                    last: String::new(),
                    last_at: None,
                });
                h.checks += 1;
                h.last_at = Some(ctx.origin.elapsed());
                match outcome {
                    Ok(status) => {
                        h.successes += 1;
                        h.failures = 0;
                        h.last = format!("HTTP {status} on {}", hc.path);
                        // "After your target is registered, it must pass one health check to be
                        // considered healthy"; afterwards HealthyThresholdCount successes.
                        if h.status == TargetStatus::Initial
                            || h.successes >= hc.healthy_threshold
                        {
                            h.status = TargetStatus::Healthy;
                        }
                    }
                    Err(reason) => {
                        h.failures += 1;
                        h.successes = 0;
                        h.last = reason;
                        if h.failures >= hc.unhealthy_threshold {
                            h.status = TargetStatus::Unhealthy;
                        }
                    }
                }
                tracing::debug!(tg = %tg.name, target = %target.label(), status = %h.status, last = %h.last, "health check");
                table.put(&tg.id, &target, h);
                if first {
                    first = false;
                    table.pending_first.fetch_sub(1, Ordering::SeqCst);
                    table.first_round.notify_waiters();
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Registers the targets of `tg` in `table` before checks start, with their initial status.
pub fn register(tg: &TargetGroupConfig, used: bool, table: &HealthTable) {
    let status = match (&tg.health_check, used) {
        (_, false) => TargetStatus::Unused,
        (Some(hc), true) if hc.enabled => TargetStatus::Initial,
        _ => TargetStatus::Unavailable,
    };
    if status == TargetStatus::Initial {
        table
            .pending_first
            .fetch_add(tg.targets.len(), Ordering::SeqCst);
    }
    for t in &tg.targets {
        table.put(
            &tg.id,
            t,
            TargetHealth {
                status,
                successes: 0,
                failures: 0,
                checks: 0,
                last: String::new(),
                last_at: None,
            },
        );
    }
}

async fn check_once(
    ctx: &TargetContext,
    tg: &TargetGroupConfig,
    target: &Target,
    hc: &HealthCheck,
) -> Result<u16, String> {
    let host = match &target.address {
        TargetAddress::InVpc(a) | TargetAddress::Host(a) => a.ip().to_string(),
        TargetAddress::Alb { .. } | TargetAddress::Instance { .. } => "target".into(),
    };
    let req = http::Request::builder()
        .method("GET")
        .uri(hc.path.as_str())
        .header(http::header::HOST, host)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let trace = Trace::disabled();
    match tokio::time::timeout(
        hc.timeout,
        exchange_once(
            ctx,
            Destination {
                tg,
                target,
                port_override: hc.port,
                protocol: hc.protocol,
            },
            req,
            &trace,
        ),
    )
    .await
    {
        Err(_) => Err(format!(
            "no answer within HealthCheckTimeoutSeconds ({} s)",
            hc.timeout.as_secs()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(resp)) if hc.matches(resp.status().as_u16()) => Ok(resp.status().as_u16()),
        Ok(Ok(resp)) => Err(format!(
            "HTTP {} on {} (matcher {})",
            resp.status().as_u16(),
            hc.path,
            hc.matcher
                .iter()
                .map(|(a, b)| if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                })
                .collect::<Vec<_>>()
                .join(",")
        )),
    }
}

/// Picks the next target that takes traffic, round robin.
pub fn choose<'a>(
    tg: &'a TargetGroupConfig,
    table: &HealthTable,
    counter: &AtomicUsize,
) -> Option<&'a Target> {
    let n = tg.targets.len();
    if n == 0 {
        return None;
    }
    let start = counter.fetch_add(1, Ordering::Relaxed);
    (0..n).map(|i| &tg.targets[(start + i) % n]).find(|t| {
        table
            .get(&tg.id, t)
            .is_some_and(|h| h.status.takes_traffic())
    })
}

/// A TLS client that accepts any certificate (Lattice toward targets).
fn insecure_client() -> Arc<rustls::ClientConfig> {
    let mut config = crate::pki::accept_any_certificate_client();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_health_check_page() {
        let hc = HealthCheck::default();
        assert_eq!(hc.interval, Duration::from_secs(30));
        assert_eq!(hc.timeout, Duration::from_secs(5));
        assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (5, 2));
        assert!(hc.matches(200) && !hc.matches(204));
    }
}
