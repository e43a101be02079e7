//! Application Load Balancers (internal scheme).
//!
//! An ALB gets one node ENI per subnet; its DNS name (`internal-<name>-<id>.<region>.elb.amazonaws.com`)
//! resolves in the VPC to the nodes' addresses. Each listener (HTTP or HTTPS) listens on every node.
//! HTTPS listeners present the certificates their `CertificateArn`s name, chosen by SNI with the
//! first as default (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html>).
//! Requests are served by hyper over the in-memory streams of [`crate::vpc`]; actions are
//! `fixed-response` and `forward` — to targets inside the VPC through the virtual network (from
//! the node's ENI, so security groups apply), or to host addresses, so a user's own service can
//! sit behind the emulated ALB. Responses carry the headers ALB adds (`Server: awselb/2.0`, `Date`,
//! `Content-Length`, `Connection: keep-alive`).

mod action;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinSet;

pub use action::{Action, FixedResponse, ForwardTarget, TargetGroup};

use crate::clock::Clock;
use crate::pki::IssuedCertificate;
use crate::trace::{Detail, Trace, Verdict};
use crate::vpc::{Eni, Network};

/// `Server` header value of every ALB answer.
pub const SERVER: &str = "awselb/2.0";

/// Listener protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
        })
    }
}

/// A load balancer as the model describes it.
#[derive(Clone, Debug)]
pub struct LoadBalancerConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `LoadBalancerName`.
    pub name: String,
    /// `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>`.
    pub arn: String,
    /// `internal-<name>-<number>.<region>.elb.amazonaws.com`.
    pub dns_name: String,
    /// `internal` or `internet-facing`.
    pub internal: bool,
    /// The VPC.
    pub vpc_id: String,
    /// The subnets (one node each).
    pub subnet_ids: Vec<String>,
    /// The security groups of the nodes.
    pub security_groups: Vec<String>,
}

/// A listener rule: conditions and the actions taken when they match.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Evaluation order (lowest first).
    pub priority: u32,
    /// `path-pattern` values (any may match); empty = no path condition.
    pub path_patterns: Vec<String>,
    /// `host-header` values (any may match); empty = no host condition.
    pub host_headers: Vec<String>,
    /// `http-request-method` values; empty = any.
    pub methods: Vec<String>,
    /// The actions.
    pub actions: Vec<Action>,
}

/// A listener as the model describes it.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// The listener ARN.
    pub arn: String,
    /// The load balancer's ARN.
    pub load_balancer_arn: String,
    /// The port.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: Protocol,
    /// Certificate ARNs (HTTPS), default first.
    pub certificate_arns: Vec<String>,
    /// The default actions.
    pub default_actions: Vec<Action>,
    /// Listener rules.
    pub rules: Vec<Rule>,
    /// Injected faults (`Vpcgate.Faults`), applied before the rules.
    pub faults: Vec<Fault>,
}

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with ALB's own error page of this status (e.g. 503 while targets register).
    Status(u16),
    /// Accept the request and never answer (a stuck target behind the listener).
    Hang,
    /// Wait this long (virtual time), then serve normally.
    Delay(std::time::Duration),
}

/// A fault injected into a listener: vpcgate's own test aid, not an AWS feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// How many requests it affects (the first ones); `None` = all.
    pub first_requests: Option<u32>,
    /// What it does.
    pub kind: FaultKind,
}

/// A load balancer's (ALB's or NLB's) node ENI could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name}: {source}")]
pub struct NodeError {
    /// `load balancer` or `network load balancer`.
    pub kind: &'static str,
    /// The load balancer.
    pub name: String,
    /// Why.
    #[source]
    pub source: crate::vpc::EniError,
}

/// A listener (HTTPS or TLS) names a certificate ACM does not hold.
#[derive(Debug, thiserror::Error)]
#[error("listener {listener}: certificate {certificate} not found in ACM")]
pub struct UnknownCertificate {
    /// The listener ARN.
    pub listener: String,
    /// The certificate ARN.
    pub certificate: String,
}

/// A load balancer's nodes: one ENI per subnet with the nodes' security groups, described
/// `ELB <name>` with the name part of its ARN (`app/<name>/<id>`, `net/<name>/<id>`) as AWS
/// describes them.
pub fn create_nodes<'a>(
    net: &Network,
    kind: &'static str,
    lb_name: &str,
    arn: &str,
    subnets: impl IntoIterator<Item = &'a String>,
    groups: &[String],
) -> Result<Vec<Arc<Eni>>, NodeError> {
    let name = arn
        .rsplit_once(":loadbalancer/")
        .map(|(_, n)| n)
        .unwrap_or(lb_name);
    subnets
        .into_iter()
        .map(|subnet| {
            net.create_eni(subnet, groups.to_vec(), format!("ELB {name}"))
                .map_err(|source| NodeError {
                    kind,
                    name: lb_name.to_string(),
                    source,
                })
        })
        .collect()
}

/// The certificates a listener names, from ACM (`acm` finds one by ARN).
pub fn listener_certificates(
    listener_arn: &str,
    arns: &[String],
    acm: impl Fn(&str) -> Option<Arc<IssuedCertificate>>,
) -> Result<Vec<Arc<IssuedCertificate>>, UnknownCertificate> {
    arns.iter()
        .map(|arn| {
            acm(arn).ok_or_else(|| UnknownCertificate {
                listener: listener_arn.to_string(),
                certificate: arn.clone(),
            })
        })
        .collect()
}

/// Errors starting a load balancer.
#[derive(Debug, thiserror::Error)]
pub enum AlbError {
    /// A node ENI could not be made.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A listener names a certificate ACM does not hold.
    #[error(transparent)]
    UnknownCertificate(#[from] UnknownCertificate),
    /// An HTTPS listener without a certificate.
    #[error("listener {listener} is HTTPS but has no certificate")]
    NoCertificate {
        /// The listener ARN.
        listener: String,
    },
}

/// A running load balancer.
#[derive(Debug)]
pub struct LoadBalancer {
    /// Its configuration.
    pub config: LoadBalancerConfig,
    /// Its node ENIs, one per subnet.
    pub nodes: Vec<Arc<Eni>>,
    tasks: JoinSet<()>,
}

impl LoadBalancer {
    /// Creates the nodes and starts every listener on each of them.
    pub fn start(
        net: &Network,
        config: LoadBalancerConfig,
        listeners: Vec<ListenerConfig>,
        clock: Clock,
        provider: Arc<rustls::crypto::CryptoProvider>,
        certificate: impl Fn(&str) -> Option<Arc<IssuedCertificate>>,
    ) -> Result<Self, AlbError> {
        let nodes = create_nodes(
            net,
            "load balancer",
            &config.name,
            &config.arn,
            &config.subnet_ids,
            &config.security_groups,
        )?;
        let mut tasks = JoinSet::new();
        for mut listener in listeners {
            // Rules are tried in priority order (a stable sort: equal priorities keep the
            // template's order).
            listener.rules.sort_by_key(|r| r.priority);
            let tls = match listener.protocol {
                Protocol::Http => None,
                Protocol::Https => {
                    let certificates = listener_certificates(
                        &listener.arn,
                        &listener.certificate_arns,
                        &certificate,
                    )?;
                    if certificates.is_empty() {
                        return Err(AlbError::NoCertificate {
                            listener: listener.arn,
                        });
                    }
                    Some(tls_acceptor(
                        certificates,
                        provider.clone(),
                        vec![b"http/1.1".to_vec()],
                    ))
                }
            };
            let shared = Arc::new(ListenerState {
                lb_name: config.name.clone(),
                listener,
                clock: clock.clone(),
                requests: std::sync::atomic::AtomicU32::new(0),
                net: net.clone(),
                vpc_id: config.vpc_id.clone(),
            });
            for node in &nodes {
                let shared = shared.clone();
                let tls = tls.clone();
                // Served on the dialler's runtime (vpc::Network::serve); listens until the
                // task holding it is aborted.
                let serving = net.serve(node, shared.listener.port, move |inbound| {
                    tokio::spawn(serve_connection(shared.clone(), tls.clone(), inbound));
                });
                tasks.spawn(async move {
                    let _serving = serving;
                    std::future::pending::<()>().await
                });
            }
        }
        Ok(Self {
            config,
            nodes,
            tasks,
        })
    }

    /// Stops the listeners.
    pub fn shutdown(&mut self) {
        self.tasks.abort_all();
    }
}

struct ListenerState {
    lb_name: String,
    listener: ListenerConfig,
    clock: Clock,
    requests: std::sync::atomic::AtomicU32,
    /// The network, for targets inside the VPC.
    net: Network,
    /// The load balancer's VPC.
    vpc_id: String,
}

/// A TLS acceptor presenting `certificates` by SNI (the first as default), offering `alpn`
/// (shared with the NLB's TLS listeners).
pub(crate) fn tls_acceptor(
    certificates: Vec<Arc<IssuedCertificate>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    alpn: Vec<Vec<u8>>,
) -> tokio_rustls::TlsAcceptor {
    let resolver = SniResolver { certificates };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = alpn;
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Picks the listener certificate that covers the SNI name, else the default (first) one.
#[derive(Debug)]
struct SniResolver {
    certificates: Vec<Arc<IssuedCertificate>>,
}

impl rustls::server::ResolvesServerCert for SniResolver {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let chosen = hello
            .server_name()
            .and_then(|sni| self.certificates.iter().find(|c| c.covers(sni)))
            .or_else(|| self.certificates.first())?;
        Some(chosen.certified.clone())
    }
}

async fn serve_connection(
    shared: Arc<ListenerState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    inbound: crate::vpc::Inbound,
) {
    let trace = inbound.trace.clone();
    let peer = inbound.peer;
    let local = inbound.local;
    let listener = &shared.listener;
    match tls {
        Some(acceptor) => match acceptor.accept(inbound.stream).await {
            Ok(stream) => {
                let (_, conn) = stream.get_ref();
                let sni = conn.server_name().unwrap_or("(none)").to_string();
                trace.hop_with(
                    "alb",
                    Verdict::Pass,
                    || Detail::at(format!("{} listener {local}", shared.lb_name)),
                    format!(
                        "{} listener {}:{} accepted TLS from {peer} (SNI {sni})",
                        shared.lb_name, listener.protocol, listener.port
                    ),
                );
                http1(shared.clone(), TokioIo::new(stream), trace, peer, local).await;
            }
            Err(e) => trace.hop_with(
                "alb",
                Verdict::Fail,
                || Detail::at(format!("{} listener {local}", shared.lb_name)),
                format!(
                    "{} listener HTTPS:{}: TLS handshake from {peer} failed: {e}",
                    shared.lb_name, listener.port
                ),
            ),
        },
        None => {
            trace.hop_with(
                "alb",
                Verdict::Pass,
                || Detail::at(format!("{} listener {local}", shared.lb_name)),
                format!(
                    "{} listener HTTP:{} accepted connection from {peer}",
                    shared.lb_name, listener.port
                ),
            );
            http1(
                shared.clone(),
                TokioIo::new(inbound.stream),
                trace,
                peer,
                local,
            )
            .await;
        }
    }
}

async fn http1<S>(
    shared: Arc<ListenerState>,
    io: TokioIo<S>,
    trace: Trace,
    peer: SocketAddr,
    local: SocketAddr,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let shared = shared.clone();
        let trace = trace.clone();
        async move { Ok::<_, Infallible>(handle(&shared, req, &trace, peer, local).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

async fn handle(
    shared: &ListenerState,
    req: hyper::Request<Incoming>,
    trace: &Trace,
    peer: SocketAddr,
    local: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let listener = &shared.listener;
    let n = shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    for fault in &listener.faults {
        if fault.first_requests.is_some_and(|k| n >= k) {
            continue;
        }
        match &fault.kind {
            FaultKind::Status(status) => {
                trace.hop_fmt(
                    "alb",
                    Verdict::Refuse,
                    format_args!("injected fault: request #{} answered {status}", n + 1),
                );
                let status = http::StatusCode::from_u16(*status)
                    .unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
                return action::error_page(&shared.clock, status);
            }
            FaultKind::Hang => {
                trace.hop_fmt(
                    "alb",
                    Verdict::Drop,
                    format_args!("injected fault: request #{} is never answered", n + 1),
                );
                return std::future::pending().await;
            }
            FaultKind::Delay(d) => {
                trace.info_fmt(
                    "alb",
                    format_args!(
                        "injected fault: request #{} delayed {:.3} s",
                        n + 1,
                        d.as_secs_f64()
                    ),
                );
                tokio::time::sleep(*d).await;
            }
        }
    }
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("");
    // Lower-cased only when it is not already (a client's Host nearly always is).
    let host: std::borrow::Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        host.to_ascii_lowercase().into()
    } else {
        host.into()
    };
    let (path, method) = (req.uri().path(), req.method().as_str());
    // The rules are in priority order (LoadBalancer::start sorts them).
    let rule = listener
        .rules
        .iter()
        .find(|r| r.matches(&host, path, method));
    let actions = rule.map_or(&listener.default_actions, |r| &r.actions);
    let ctx = action::RequestContext {
        clock: &shared.clock,
        trace,
        peer,
        listener_port: listener.port,
        protocol: listener.protocol,
        net: &shared.net,
        vpc_id: &shared.vpc_id,
        node_ip: local.ip(),
    };
    match rule {
        Some(r) => trace.info_fmt(
            "alb",
            format_args!(
                "{method} {path} (Host {host}) matched the rule priority {}",
                r.priority
            ),
        ),
        None => trace.info_fmt(
            "alb",
            format_args!("{method} {path} (Host {host}) matched the default action"),
        ),
    }
    action::perform(actions, req, &ctx).await
}

impl Rule {
    fn matches(&self, host: &str, path: &str, method: &str) -> bool {
        let path_ok =
            self.path_patterns.is_empty() || self.path_patterns.iter().any(|p| glob(p, path));
        let host_ok = self.host_headers.is_empty()
            || self
                .host_headers
                .iter()
                .any(|p| glob(&p.to_ascii_lowercase(), host));
        let method_ok =
            self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method));
        path_ok && host_ok && method_ok
    }
}

/// ALB condition matching: `*` any run of characters, `?` one character
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html>).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_alb_conditions() {
        assert!(glob("/api/*", "/api/v1/items"));
        assert!(glob("*.example.com", "eb-demo.example.com"));
        assert!(glob("/img/?.png", "/img/a.png"));
        assert!(!glob("/img/?.png", "/img/ab.png"));
        assert!(!glob("/api/*", "/other"));
        assert!(glob("*", ""));
    }
}
