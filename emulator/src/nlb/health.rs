//! Health checks of NLB target groups, on tokio's clock
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html>).
//!
//! Every `HealthCheckIntervalSeconds` each target gets a check from a node of the NLB (so the
//! target's security groups must admit the NLB): `TCP` opens a connection, `HTTP`/`HTTPS` send
//! `GET HealthCheckPath` and compare the status with `Matcher` (default 200-399). No answer
//! within `HealthCheckTimeoutSeconds` is a failure. A target is in service once it passes one
//! check ("Your target is not in service until it passes one health check", the NLB
//! troubleshooting page); `UnhealthyThresholdCount` consecutive failures take it out,
//! `HealthyThresholdCount` consecutive successes put it back. Defaults (same page): TCP for
//! TCP/TLS groups (HTTP for `alb` groups), the traffic port, `/`, 30 s interval, 6 s time-out for
//! HTTP and 10 s for TCP/HTTPS, 5 healthy, 2 unhealthy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use super::{Endpoint, Io, ListenerProtocol, Target, TargetGroup, TargetType};
use crate::trace::Trace;
use crate::vpc::{Eni, Network, Source};

/// `HealthCheckProtocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthCheckProtocol {
    /// `TCP`: a connection that opens is healthy.
    Tcp,
    /// `HTTP`.
    Http,
    /// `HTTPS` (the target's certificate is not verified).
    Https,
}

impl HealthCheckProtocol {
    /// The CloudFormation spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TCP" => Self::Tcp,
            "HTTP" => Self::Http,
            "HTTPS" => Self::Https,
            _ => return None,
        })
    }
}

/// A target group's health check, defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// `HealthCheckProtocol`.
    pub protocol: HealthCheckProtocol,
    /// `HealthCheckPort` (`None`: `traffic-port`).
    pub port: Option<u16>,
    /// `HealthCheckPath` (HTTP/HTTPS).
    pub path: String,
    /// `HealthCheckIntervalSeconds` (5-300).
    pub interval: Duration,
    /// `HealthCheckTimeoutSeconds` (2-120).
    pub timeout: Duration,
    /// `HealthyThresholdCount` (2-10).
    pub healthy_threshold: u32,
    /// `UnhealthyThresholdCount` (2-10).
    pub unhealthy_threshold: u32,
    /// `Matcher.HttpCode` as inclusive ranges (default 200-399).
    pub matcher: Vec<(u16, u16)>,
}

impl HealthCheck {
    /// The documented defaults for a group of this type and protocol.
    pub fn defaults(target_type: TargetType, _protocol: ListenerProtocol) -> Self {
        let protocol = if target_type == TargetType::Alb {
            HealthCheckProtocol::Http
        } else {
            HealthCheckProtocol::Tcp
        };
        Self {
            protocol,
            port: None,
            path: "/".into(),
            interval: Duration::from_secs(30),
            timeout: Self::default_timeout(protocol),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: vec![(200, 399)],
        }
    }

    /// 6 s for HTTP, 10 s for TCP and HTTPS.
    pub fn default_timeout(protocol: HealthCheckProtocol) -> Duration {
        match protocol {
            HealthCheckProtocol::Http => Duration::from_secs(6),
            _ => Duration::from_secs(10),
        }
    }

    fn matches(&self, status: u16) -> bool {
        self.matcher
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&status))
    }
}

/// The state DescribeTargetHealth reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// Registered, no check passed yet.
    Initial,
    /// In service.
    Healthy,
    /// Out of service.
    Unhealthy,
    /// No listener uses the group.
    Unused,
}

impl TargetState {
    /// `initial`, `healthy`, `unhealthy`, `unused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unused => "unused",
        }
    }
}

/// What the checker knows of one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetHealth {
    /// The state.
    pub state: TargetState,
    /// Consecutive successes.
    pub successes: u32,
    /// Consecutive failures.
    pub failures: u32,
    /// Checks run.
    pub checks: u32,
    /// The last outcome, in words.
    pub last: String,
}

/// Health of the targets of every NLB target group, by (group ARN, target label).
#[derive(Debug, Default)]
pub struct HealthTable {
    by_target: Mutex<HashMap<(String, String), TargetHealth>>,
}

impl HealthTable {
    /// The state of `label` in group `arn`.
    pub fn state(&self, arn: &str, label: &str) -> Option<TargetState> {
        self.get(arn, label).map(|h| h.state)
    }

    /// What the checker knows of `label` in group `arn`.
    pub fn get(&self, arn: &str, label: &str) -> Option<TargetHealth> {
        self.by_target
            .lock()
            .ok()?
            .get(&(arn.to_string(), label.to_string()))
            .cloned()
    }

    /// Every target of group `arn` with its health, by label.
    pub fn group(&self, arn: &str) -> Vec<(String, TargetHealth)> {
        let mut v: Vec<(String, TargetHealth)> = self
            .by_target
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((g, _), _)| g == arn)
                    .map(|((_, l), h)| (l.clone(), h.clone()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn put(&self, arn: &str, label: &str, h: TargetHealth) {
        if let Ok(mut m) = self.by_target.lock() {
            m.insert((arn.to_string(), label.to_string()), h);
        }
    }

    fn with_state(&self, tg: &TargetGroup, state: TargetState) {
        for t in &tg.targets {
            self.put(
                &tg.config.arn,
                &t.label,
                TargetHealth {
                    state,
                    successes: 0,
                    failures: 0,
                    checks: 0,
                    last: String::new(),
                },
            );
        }
    }

    /// Registers the targets of a group a listener uses (`initial`).
    pub fn register(&self, tg: &TargetGroup) {
        self.with_state(tg, TargetState::Initial);
    }

    /// Registers the targets of a group no listener uses (`unused`).
    pub fn register_unused(&self, tg: &TargetGroup) {
        self.with_state(tg, TargetState::Unused);
    }
}

/// Runs the checks of `tg`'s targets forever (spawn it), from `nodes` (the one in the target's
/// zone, else the first).
pub async fn run(
    clock: crate::clock::Clock,
    net: Network,
    nodes: Vec<Arc<Eni>>,
    vpc_id: String,
    tg: Arc<TargetGroup>,
    table: Arc<HealthTable>,
) {
    let hc = tg.config.health_check.clone();
    let mut set = tokio::task::JoinSet::new();
    for target in tg.targets.clone() {
        let net = net.clone();
        let node = nodes
            .iter()
            .find(|n| {
                target.zone.as_deref().is_some_and(|z| {
                    net.subnet(&n.subnet_id)
                        .is_some_and(|s| s.availability_zone == z)
                })
            })
            .or_else(|| nodes.first())
            .cloned();
        let Some(node) = node else { continue };
        let (hc, table, tg, vpc_id) = (hc.clone(), table.clone(), tg.clone(), vpc_id.clone());
        let clock = clock.clone();
        set.spawn(async move {
            let mut ticker = tokio::time::interval(hc.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let outcome = tokio::time::timeout(
                    hc.timeout,
                    check_once(&clock, &net, &node, &vpc_id, &tg, &target, &hc),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "no answer within HealthCheckTimeoutSeconds ({} s)",
                        hc.timeout.as_secs()
                    ))
                });
                let mut h = table
                    .get(&tg.config.arn, &target.label)
                    .unwrap_or(TargetHealth {
                        state: TargetState::Initial,
                        successes: 0,
                        failures: 0,
                        checks: 0,
                        last: String::new(),
                    });
                h.checks += 1;
                match outcome {
                    Ok(what) => {
                        h.successes += 1;
                        h.failures = 0;
                        h.last = what;
                        if h.state == TargetState::Initial || h.successes >= hc.healthy_threshold {
                            h.state = TargetState::Healthy;
                        }
                    }
                    Err(why) => {
                        h.failures += 1;
                        h.successes = 0;
                        h.last = why;
                        if h.failures >= hc.unhealthy_threshold {
                            h.state = TargetState::Unhealthy;
                        }
                    }
                }
                tracing::debug!(tg = %tg.config.name, target = %target.label, state = h.state.as_str(), last = %h.last, "nlb health check");
                table.put(&tg.config.arn, &target.label, h);
            }
        });
    }
    while set.join_next().await.is_some() {}
}

async fn check_once(
    clock: &crate::clock::Clock,
    net: &Network,
    node: &Arc<Eni>,
    vpc_id: &str,
    tg: &TargetGroup,
    target: &Target,
    hc: &HealthCheck,
) -> Result<String, String> {
    let trace = Trace::disabled();
    let source = Source::Eni(node.clone());
    let port_of = |addr: &SocketAddr| hc.port.unwrap_or(addr.port());
    let io: Box<dyn Io> = match &target.endpoint {
        Endpoint::Missing { reason } => return Err(reason.clone()),
        Endpoint::Vpc(addr) => Box::new(
            net.connect(
                &source,
                vpc_id,
                SocketAddr::new(addr.ip(), port_of(addr)),
                &trace,
            )
            .await
            .map_err(|e| e.to_string())?,
        ),
        Endpoint::Alb { nodes, arn } => {
            let zone = net
                .subnet(&node.subnet_id)
                .map(|s| s.availability_zone)
                .unwrap_or_default();
            let (_, addr) = nodes
                .iter()
                .find(|(z, _)| *z == zone)
                .or_else(|| nodes.first())
                .ok_or_else(|| format!("load balancer {arn} has no nodes"))?;
            Box::new(
                net.connect(
                    &source,
                    &tg.config.vpc_id,
                    SocketAddr::new(addr.ip(), port_of(addr)),
                    &trace,
                )
                .await
                .map_err(|e| e.to_string())?,
            )
        }
        Endpoint::Host(addr) => {
            // A real socket: the virtual clock must not jump while it is in flight.
            let hold = clock.hold();
            Box::new(crate::clock::Held::new(
                tokio::net::TcpStream::connect(SocketAddr::new(addr.ip(), port_of(addr)))
                    .await
                    .map_err(|e| format!("host target {addr}: {e}"))?,
                hold,
            ))
        }
    };
    let io: Box<dyn Io> = match hc.protocol {
        HealthCheckProtocol::Tcp => return Ok("TCP connection established".into()),
        HealthCheckProtocol::Http => io,
        HealthCheckProtocol::Https => {
            let connector = tokio_rustls::TlsConnector::from(insecure_client());
            let name = ServerName::try_from("target.nlb.internal")
                .map_err(|e| e.to_string())?
                .to_owned();
            Box::new(
                connector
                    .connect(name, io)
                    .await
                    .map_err(|e| format!("TLS handshake failed: {e}"))?,
            )
        }
    };
    // "The host header contains the IP address of the load balancer node and the listener port"
    // (same page).
    let req = http::Request::builder()
        .method("GET")
        .uri(hc.path.as_str())
        .header(http::header::HOST, node.ip.to_string())
        .header(http::header::USER_AGENT, "ELB-HealthChecker/2.0")
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    if hc.matches(status) {
        Ok(format!("HTTP {status} on {}", hc.path))
    } else {
        Err(format!("HTTP {status} on {} (Matcher)", hc.path))
    }
}

/// A TLS client that accepts any certificate: NLBs do not verify targets' certificates.
pub(crate) fn insecure_client() -> Arc<rustls::ClientConfig> {
    Arc::new(crate::pki::accept_any_certificate_client())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_health_check_page() {
        let tcp = HealthCheck::defaults(TargetType::Ip, ListenerProtocol::Tcp);
        assert_eq!(tcp.protocol, HealthCheckProtocol::Tcp);
        assert_eq!(tcp.timeout, Duration::from_secs(10));
        assert_eq!(tcp.interval, Duration::from_secs(30));
        assert_eq!((tcp.healthy_threshold, tcp.unhealthy_threshold), (5, 2));
        let alb = HealthCheck::defaults(TargetType::Alb, ListenerProtocol::Tcp);
        assert_eq!(alb.protocol, HealthCheckProtocol::Http);
        assert!(alb.matches(200) && alb.matches(399) && !alb.matches(404));
    }
}
