//! Integrations: `HTTP_PROXY` over a VPC link V2, and `MOCK`.
//!
//! **HTTP_PROXY over VPC_LINK** (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-private-integration.html>):
//! API Gateway opens a connection from one of the VPC link's ENIs to a node of the load balancer
//! named by `IntegrationTarget`, so the link's security groups (egress) and the load balancer's
//! (ingress) both apply, and the load balancer sees the ENI's address. Plain HTTP by default;
//! TLS when `Uri` is `https://…` (verified against the emulated public roots). The port is the
//! listener's when `IntegrationTarget` is a listener ARN (the seed's form), else the `Uri`'s.
//! The request goes as the client sent it — method (unless `IntegrationHttpMethod` fixes one),
//! headers, query string, body — to the `Uri`'s path with `{name}` variables filled in, with
//! `Host` set to the `Uri`'s host and `X-Amzn-Trace-Id` and `X-Amzn-Apigateway-Api-Id` added
//! (recorded against AWS: LocalStack's `test_apigateway_header_remapping_http[HTTP_PROXY]`,
//! 2024-12-11). The response comes back as sent, except that the backend's `Server`, `Date`,
//! `Connection`, `Content-Length` and the other headers API Gateway owns are renamed
//! `x-amzn-Remapped-<Name>` (same recording; research Q15).
//!
//! A refused or reset connection, or a TLS failure, is API Gateway's 504
//! `Network error communicating with endpoint`; a connection that never completes (a security
//! group drops it) or a backend that never answers runs into the timeout layer.
//!
//! **MOCK**: the request template's `{"statusCode": N}` picks the integration status (200 without
//! one); the first integration response whose `SelectionPattern` matches it (else the default,
//! the one without a pattern) gives the method status, the body (its response template, used as
//! written: VTL is not evaluated) and static header values. No match is a configuration error (500).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::Full;
use rustls_pki_types::ServerName;
use tower::Service;

use super::rest_api::{Connection, IntegrationKind, IntegrationResponseConfig, MethodKey};
use super::{ApiGateway, ApiGatewayError, IntegrationTarget, Invocation, VpcLink};
use crate::trace::{IpText, StatusText, Trace, Verdict};
use crate::vpc::pool::{ExchangeError, PoolKey, Pooled};
use crate::vpc::{ConnectError, Eni, Source};

/// Why an integration failed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// The connection to the load balancer was refused or reset.
    #[error("connection to {target} failed: {source}")]
    Connect {
        /// The node and port.
        target: SocketAddr,
        /// Why.
        #[source]
        source: ConnectError,
    },
    /// The TLS handshake with the backend failed.
    #[error("tls handshake with {host} failed: {reason}")]
    Tls {
        /// The `Uri`'s host.
        host: String,
        /// The TLS error.
        reason: String,
    },
    /// The HTTP exchange failed (closed early, malformed response).
    #[error("http exchange with {host} failed: {reason}")]
    Http {
        /// The `Uri`'s host.
        host: String,
        /// The error.
        reason: String,
    },
    /// A MOCK integration has no integration response for the status.
    #[error("no integration response matches status {status} and there is no default")]
    NoMockResponse {
        /// The integration's status code.
        status: u16,
    },
    /// An `INTERNET` integration: the emulated world has no internet.
    #[error("{uri} is on the internet, which the emulated world does not have")]
    Unreachable {
        /// The `Uri`.
        uri: String,
    },
    /// The method has no integration, or its VPC link or target is not running.
    #[error("integration is not deployed: {what}")]
    NotDeployed {
        /// What is missing.
        what: String,
    },
    /// A VPC link v1 is `FAILED`.
    #[error("vpc link {link} is FAILED: {message}")]
    VpcLinkFailed {
        /// The link id.
        link: String,
        /// Its status message.
        message: String,
    },
    /// Through a VPC link v1, the NLB reset the connection or the exchange failed (no target,
    /// a target that refuses, a TLS name mismatch).
    #[error("vpc link {link} (v1): {reason}")]
    VpcLinkV1 {
        /// The link id.
        link: String,
        /// What failed.
        reason: String,
    },
}

/// The innermost service: runs the matched method's integration.
#[derive(Clone, Debug)]
pub struct IntegrationService {
    gw: Arc<ApiGateway>,
}

impl IntegrationService {
    /// Integrations of `gw`'s REST APIs.
    pub fn new(gw: Arc<ApiGateway>) -> Self {
        Self { gw }
    }
}

impl Service<http::Request<Bytes>> for IntegrationService {
    type Response = http::Response<Bytes>;
    type Error = ApiGatewayError;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, ApiGatewayError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ApiGatewayError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let gw = self.gw.clone();
        Box::pin(async move { run(&gw, req).await.map_err(ApiGatewayError::from) })
    }
}

async fn run(
    gw: &ApiGateway,
    req: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, IntegrationError> {
    let Some(inv) = req.extensions().get::<Arc<Invocation>>().cloned() else {
        return Err(IntegrationError::NotDeployed {
            what: "request was not routed".into(),
        });
    };
    let Some(integration) = inv.route.method.integration.as_ref() else {
        return Err(IntegrationError::NotDeployed {
            what: format!("method {} has no integration", inv.route.method.logical_id),
        });
    };
    match &integration.kind {
        IntegrationKind::Mock {
            request_templates,
            responses,
        } => mock(&inv.trace, &req, request_templates, responses),
        IntegrationKind::NotEmulated {
            integration_type,
            uri,
        } => {
            // What API Gateway answers when it cannot invoke the integration (a Lambda function
            // it may not call, an unreachable service): 500 `Internal server error`
            // (<https://repost.aws/knowledge-center/api-gateway-internal-server-error>).
            inv.trace.hop_fmt("apigw", Verdict::Fail, format_args!(
                    "{integration_type} integration {uri}: not emulated (vpcgate runs no Lambda functions or AWS service integrations); answered as an unreachable integration"
                ),
            );
            Err(IntegrationError::NotDeployed {
                what: format!("{integration_type} integration {uri} is not emulated"),
            })
        }
        IntegrationKind::HttpProxy {
            uri,
            connection: Connection::Internet,
            ..
        } => {
            inv.trace.hop_fmt(
                "apigw",
                Verdict::Fail,
                format_args!("HTTP_PROXY to {uri}: the emulated world has no internet"),
            );
            Err(IntegrationError::Unreachable { uri: uri.clone() })
        }
        IntegrationKind::HttpProxy {
            http_method,
            uri,
            connection:
                Connection::VpcLink {
                    vpc_link_id,
                    target_arn,
                },
        } => match private_route(gw, vpc_link_id, target_arn, "integration target")? {
            PrivateRoute::V2 { link, target } => {
                http_proxy(gw, &inv, req, http_method, uri, &link, &target).await
            }
            PrivateRoute::V1 { link } => http_proxy_v1(gw, &inv, req, http_method, uri, &link)
                .await
                .map_err(|e| match e {
                    IntegrationError::Connect { source, .. } => IntegrationError::VpcLinkV1 {
                        link: link.config.id.clone(),
                        reason: source.to_string(),
                    },
                    IntegrationError::Tls { host, reason }
                    | IntegrationError::Http { host, reason } => IntegrationError::VpcLinkV1 {
                        link: link.config.id.clone(),
                        reason: format!("{host}: {reason}"),
                    },
                    other => other,
                }),
        },
    }
}

/// Where a REST API's `VPC_LINK` integration goes: a VPC link V2 and the load balancer its
/// `IntegrationTarget` names, or a VPC link v1 and its NLB.
#[derive(Debug)]
pub enum PrivateRoute {
    /// A VPC link V2 (ENIs in the VPC) and the load balancer or listener.
    V2 {
        /// The link.
        link: Arc<VpcLink>,
        /// The target.
        target: Arc<IntegrationTarget>,
    },
    /// A VPC link v1 (PrivateLink to an NLB).
    V1 {
        /// The link.
        link: Arc<super::VpcLinkV1>,
    },
}

/// The running VPC link a `ConnectionId` names — v1 (its NLB) or V2 (with the load balancer
/// `target_arn` names) — or which part is not deployed. The one lookup for every REST API
/// `VPC_LINK` integration, from CloudFormation methods and OpenAPI bodies alike.
pub fn private_route(
    gw: &ApiGateway,
    vpc_link_id: &str,
    target_arn: &str,
    target_noun: &str,
) -> Result<PrivateRoute, IntegrationError> {
    if let Some(link) = gw.vpc_link_v1(vpc_link_id) {
        return Ok(PrivateRoute::V1 { link });
    }
    let (link, target) = vpc_link_route(gw, vpc_link_id, target_arn, target_noun)?;
    Ok(PrivateRoute::V2 { link, target })
}

/// `HTTP_PROXY` over a VPC link v1: API Gateway reaches the NLB through PrivateLink, on the
/// `Uri`'s port (80/443 by default), TLS on top for `https://` (verified for the `Uri`'s host).
async fn http_proxy_v1(
    gw: &ApiGateway,
    inv: &Invocation,
    req: http::Request<Bytes>,
    http_method: &MethodKey,
    uri: &str,
    link: &Arc<super::VpcLinkV1>,
) -> Result<http::Response<Bytes>, IntegrationError> {
    let trace = &inv.trace;
    let mut filled = None;
    let parsed = filled_uri(uri, inv, &mut filled)?;
    let (https, host) = (parsed.https, &parsed.host);
    let port = parsed
        .uri
        .port_u16()
        .unwrap_or(if https { 443 } else { 80 });
    let nlb = match (&link.status, &link.nlb) {
        (super::VpcLinkStatus::Available, Some(nlb)) => nlb.clone(),
        (status, _) => {
            let message = match status {
                super::VpcLinkStatus::Failed { message } => message.clone(),
                super::VpcLinkStatus::Available => "no network load balancer".into(),
            };
            trace.hop_fmt(
                "vpclink",
                Verdict::Fail,
                format_args!(
                    "VPC link {} ({}) is FAILED: {message}",
                    link.config.id, link.config.name
                ),
            );
            return Err(IntegrationError::VpcLinkFailed {
                link: link.config.id.clone(),
                message,
            });
        }
    };
    let n = link
        .next_node
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    trace.info_fmt(
        "vpclink",
        format_args!(
            "HTTP_PROXY via VPC link v1 {} ({}): PrivateLink to NLB {} port {port}",
            link.config.id, link.config.name, nlb.config.name
        ),
    );
    let label = format!("API Gateway VPC link {}", link.config.id);
    let stream = nlb
        .private_link_connect(port, n, &label, trace)
        .await
        .map_err(|source| IntegrationError::Connect {
            target: std::net::SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port),
            source,
        })?;
    let io = tls_over(gw, trace, Box::new(stream), https, host).await?;
    // Through the NLB's PrivateLink entry: one connection per request (not pooled).
    let conn = Pooled::single(io)
        .await
        .map_err(|e| IntegrationError::Http {
            host: host.clone(),
            reason: e.to_string(),
        })?;
    // A connection of its own: a request on it always leaves (nothing to open again).
    let reopen = async || {
        Err(IntegrationError::Http {
            host: host.clone(),
            reason: "the connection closed".into(),
        })
    };
    send(inv, req, http_method, parsed, conn, &label, reopen).await
}

/// The running VPC link `vpc_link_id` and the load balancer listener `target_arn` behind it (REST
/// and HTTP APIs alike), or which of them is not deployed (`target_noun` names the ARN as the
/// API's own property does).
pub(crate) fn vpc_link_route(
    gw: &ApiGateway,
    vpc_link_id: &str,
    target_arn: &str,
    target_noun: &str,
) -> Result<(Arc<super::VpcLink>, Arc<super::IntegrationTarget>), IntegrationError> {
    let link = gw
        .vpc_link(vpc_link_id)
        .ok_or_else(|| IntegrationError::NotDeployed {
            what: format!("vpc link {vpc_link_id}"),
        })?;
    let target = gw
        .target(target_arn)
        .ok_or_else(|| IntegrationError::NotDeployed {
            what: format!("{target_noun} {target_arn}"),
        })?;
    Ok((link, target))
}

/// Headers of the backend's response that API Gateway owns, renamed `x-amzn-Remapped-<Name>`
/// (research Q15: the recorded `HTTP_PROXY` set is Server, Date, Connection, Content-Length; the
/// mapped-parameter recording adds the rest).
const REMAPPED: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "content-md5",
    "date",
    "expect",
    "host",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "trailer",
    "upgrade",
    "user-agent",
    "www-authenticate",
    "x-amzn-requestid",
];

/// [`REMAPPED`]'s names as API Gateway renames them, in the same order.
const REMAPPED_AS: &[&str] = &[
    "x-amzn-remapped-authorization",
    "x-amzn-remapped-connection",
    "x-amzn-remapped-content-length",
    "x-amzn-remapped-content-md5",
    "x-amzn-remapped-date",
    "x-amzn-remapped-expect",
    "x-amzn-remapped-host",
    "x-amzn-remapped-max-forwards",
    "x-amzn-remapped-proxy-authenticate",
    "x-amzn-remapped-server",
    "x-amzn-remapped-trailer",
    "x-amzn-remapped-upgrade",
    "x-amzn-remapped-user-agent",
    "x-amzn-remapped-www-authenticate",
    "x-amzn-remapped-x-amzn-requestid",
];

/// Request headers that describe the client's connection and do not travel to the integration.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Whether a request header goes on to the integration (REST and HTTP APIs alike): not the
/// hop-by-hop ones, and not the client's `X-Amzn-Trace-Id` (API Gateway sends its own).
pub(crate) fn travels(name: &HeaderName) -> bool {
    !HOP_BY_HOP.contains(&name.as_str()) && name.as_str() != "x-amzn-trace-id"
}

/// An integration's `Uri`, parsed: the URI, whether it is `https`, its host, and the request
/// target (origin form) of its path and query.
#[derive(Debug)]
pub struct TargetUri {
    uri: http::Uri,
    https: bool,
    host: String,
    /// `uri`'s path (`/` when empty) and query, the target of a request that adds no query.
    target: http::Uri,
}

impl TargetUri {
    /// `text` parsed, or `None` when it is not a valid URL.
    fn parse(text: String) -> Option<Self> {
        let uri = http::Uri::try_from(text).ok()?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default().to_string();
        let path = if uri.path().is_empty() {
            "/"
        } else {
            uri.path()
        };
        let target = match uri.query().filter(|q| !q.is_empty()) {
            Some(q) => http::Uri::try_from(format!("{path}?{q}")),
            None => http::Uri::try_from(path),
        }
        .ok()?;
        Some(Self {
            uri,
            https,
            host,
            target,
        })
    }

    /// The `HTTP_PROXY` integration `Uri` of `method` parsed once, when it has no `{variables}`
    /// (it is the same for every request): the world is immutable, so its routes keep it.
    pub(crate) fn fixed(method: &super::rest_api::MethodConfig) -> Option<Self> {
        match &method.integration.as_ref()?.kind {
            IntegrationKind::HttpProxy { uri, .. } if !uri.contains('{') => {
                Self::parse(uri.clone())
            }
            _ => None,
        }
    }
}

/// The method's `Uri` with the path parameters filled in, parsed: the one the routes prepared
/// when it has no variables, else `uri` filled and parsed into `filled`.
fn filled_uri<'a>(
    uri: &str,
    inv: &'a Invocation,
    filled: &'a mut Option<TargetUri>,
) -> Result<&'a TargetUri, IntegrationError> {
    if let Some(fixed) = &inv.route.uri {
        return Ok(fixed);
    }
    // The filled text is handed over whole (its bytes become the URI's, no copy); filled
    // again for the error.
    let parsed = TargetUri::parse(fill(uri, &inv.route.path_params)).ok_or_else(|| {
        IntegrationError::NotDeployed {
            what: format!(
                "uri {} is not a valid URL",
                fill(uri, &inv.route.path_params)
            ),
        }
    })?;
    Ok(filled.insert(parsed))
}

/// Fills `{name}` and `{name+}`-bound `{name}` variables of the `Uri` with the path parameters.
fn fill(uri: &str, params: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = uri.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

pub(crate) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

async fn http_proxy(
    gw: &ApiGateway,
    inv: &Invocation,
    req: http::Request<Bytes>,
    http_method: &MethodKey,
    uri: &str,
    link: &Arc<VpcLink>,
    target: &Arc<IntegrationTarget>,
) -> Result<http::Response<Bytes>, IntegrationError> {
    let trace = &inv.trace;
    let mut filled = None;
    let parsed = filled_uri(uri, inv, &mut filled)?;
    let https = parsed.https;
    let port = target
        .listener_port
        .or(parsed.uri.port_u16())
        .unwrap_or(if https { 443 } else { 80 });

    let route = LinkRoute {
        link,
        target,
        https,
        host: &parsed.host,
        port,
    };
    let (conn, eni) = connection(gw, trace, route, true).await?;
    let reopen = async || {
        connection(gw, trace, route, false)
            .await
            .map(|(conn, _)| conn)
    };
    send(
        inv,
        req,
        http_method,
        parsed,
        conn,
        &IpText::new(eni.ip),
        reopen,
    )
    .await
}

/// Where an integration's connection goes through a VPC link V2: the link, the load balancer
/// (or listener) behind it, the port, and TLS on top when `https` (verified for `host`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinkRoute<'a> {
    pub(crate) link: &'a Arc<VpcLink>,
    pub(crate) target: &'a Arc<IntegrationTarget>,
    pub(crate) https: bool,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

/// A connection for an integration through a VPC link V2: a kept-alive one from the link's ENI to
/// the same load balancer node and port (and TLS name) when one is idle
/// ([`crate::vpc::pool`]: API Gateway keeps its connections to the target open), else a new
/// one ([`open`]), whose hops on the target's side follow each request's trace.
///
/// `reuse: false` always opens a new one (the kept-alive one had closed, [`exchange_on`]).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn connection(
    gw: &ApiGateway,
    trace: &Trace,
    route: LinkRoute<'_>,
    reuse: bool,
) -> Result<(Pooled, Arc<Eni>), IntegrationError> {
    let LinkRoute {
        link,
        target,
        https,
        host,
        port,
    } = route;
    let key = link.enis.first().and_then(|eni| {
        let node = target
            .nodes
            .iter()
            .find(|n| n.subnet_id == eni.subnet_id)
            .or_else(|| target.nodes.first())?;
        Some((
            PoolKey {
                source: eni.id.clone(),
                destination: crate::vpc::pool::destination(&target.vpc_id, node.ip, port),
                tls: https.then(|| host.to_string()),
            },
            eni.clone(),
        ))
    });
    // The key goes to the kept-alive connection (which keeps it for its return to the pool),
    // and comes back when none is idle.
    let key = match key {
        Some((key, eni)) if reuse => match gw.deps.net.pool().checkout_owned(key, trace).await {
            Ok(conn) => {
                trace.info_fmt("vpclink", format_args!(
                        "HTTP_PROXY via VPC link {} ({}): the kept-alive connection from ENI {} ({}) to {}{} (security groups were checked when it opened)",
                        link.config.id,
                        link.config.name,
                        eni.id,
                        IpText::new(eni.ip),
                        conn.key().map_or("", |k| k.destination.as_str()),
                        if https { ", TLS" } else { "" }
                    ),
                );
                return Ok((conn, eni));
            }
            Err(key) => Some((key, eni)),
        },
        other => other,
    };
    let (conn_trace, relay) = trace.relay();
    let (io, eni) = open(gw, &conn_trace, route).await?;
    let http_err = |e: hyper::Error| IntegrationError::Http {
        host: host.to_string(),
        reason: e.to_string(),
    };
    let conn = match key {
        Some((key, _)) => gw
            .deps
            .net
            .pool()
            .handshake(key, io, relay)
            .await
            .map_err(http_err)?,
        None => Pooled::single(io).await.map_err(http_err)?,
    };
    Ok((conn, eni))
}

/// Opens a connection for an integration through a VPC link V2: from the link's first ENI to the
/// load balancer node in the same subnet (else its first node) on `port`, through the virtual
/// network (the link's groups' egress and the load balancer's ingress apply), TLS on top when
/// `https` (verified for `host` against the emulated public roots). Shared by REST and HTTP APIs.
pub(crate) async fn open(
    gw: &ApiGateway,
    trace: &Trace,
    route: LinkRoute<'_>,
) -> Result<(Box<dyn Io>, Arc<Eni>), IntegrationError> {
    let (link, target, port) = (route.link, route.target, route.port);
    let host = route.host.to_string();
    // One ENI of the link, and the load balancer node in the same subnet when there is one.
    let Some(eni) = link.enis.first().cloned() else {
        return Err(IntegrationError::NotDeployed {
            what: format!("vpc link {} has no network interface", link.config.id),
        });
    };
    let node = target
        .nodes
        .iter()
        .find(|n| n.subnet_id == eni.subnet_id)
        .or_else(|| target.nodes.first())
        .cloned()
        .ok_or_else(|| IntegrationError::NotDeployed {
            what: format!("load balancer {} has no nodes", target.load_balancer),
        })?;
    let dst = SocketAddr::new(node.ip, port);
    trace.info_fmt("vpclink", format_args!(
            "HTTP_PROXY via VPC link {} ({}): ENI {} ({}, subnet {}) -> load balancer {} node {} ({}:{})",
            link.config.id,
            link.config.name,
            eni.id,
            eni.ip,
            eni.subnet_id,
            target.load_balancer,
            node.id,
            node.ip,
            port
        ),
    );
    let stream = gw
        .deps
        .net
        .connect(&Source::Eni(eni.clone()), &target.vpc_id, dst, trace)
        .await
        .map_err(|source| {
            trace.hop_fmt(
                "vpclink",
                Verdict::Refuse,
                format_args!("connection to {dst} refused: {source}"),
            );
            IntegrationError::Connect {
                target: dst,
                source,
            }
        })?;
    let io = tls_over(gw, trace, Box::new(stream), route.https, &host).await?;
    Ok((io, eni))
}

/// TLS on top of `stream` when `https` (verified for `host` against the emulated public roots).
async fn tls_over(
    gw: &ApiGateway,
    trace: &Trace,
    stream: Box<dyn Io>,
    https: bool,
    host: &str,
) -> Result<Box<dyn Io>, IntegrationError> {
    if !https {
        return Ok(stream);
    }
    let host = host.to_string();
    let connector = tokio_rustls::TlsConnector::from(gw.deps.tls_client.clone());
    let name = ServerName::try_from(host.clone()).map_err(|e| IntegrationError::Tls {
        host: host.clone(),
        reason: e.to_string(),
    })?;
    match connector.connect(name, stream).await {
        Ok(tls) => {
            trace.pass_fmt(
                "tls",
                format_args!("handshake with {host} over the VPC link"),
            );
            Ok(Box::new(tls))
        }
        Err(e) => {
            trace.hop_fmt(
                "tls",
                Verdict::Fail,
                format_args!("handshake with {host}: {e}"),
            );
            Err(IntegrationError::Tls {
                host,
                reason: e.to_string(),
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn send(
    inv: &Invocation,
    req: http::Request<Bytes>,
    http_method: &MethodKey,
    uri: &TargetUri,
    conn: Pooled,
    from: &(dyn std::fmt::Display + Sync),
    reopen: impl AsyncFnOnce() -> Result<Pooled, IntegrationError>,
) -> Result<http::Response<Bytes>, IntegrationError> {
    let trace = &inv.trace;
    let host = uri.host.as_str();
    let http_err = |e: &dyn std::fmt::Display| IntegrationError::Http {
        host: host.to_string(),
        reason: e.to_string(),
    };
    let (parts, body) = req.into_parts();
    let method = match http_method {
        MethodKey::Any => parts.method.clone(),
        MethodKey::Verb(m) => m.clone(),
    };
    // The prepared target when the client adds no query (the `Uri`'s own comes first).
    let target = match parts.uri.query().filter(|q| !q.is_empty()) {
        None => uri.target.clone(),
        Some(extra) => {
            let own = uri.target.path_and_query().map_or("/", |p| p.as_str());
            http::Uri::try_from(format!(
                "{own}{}{extra}",
                if uri.target.query().is_some() {
                    "&"
                } else {
                    "?"
                }
            ))
            .map_err(|e| http_err(&e))?
        }
    };
    let authority = uri.uri.authority().map(|a| a.as_str()).unwrap_or(host);
    // The request, built again only should a kept-alive connection close before answering it
    // (`remake` below) rather than copied ahead of every exchange. The header map is filled
    // directly (the request builder checks and converts each header again): the client's
    // headers are valid already, the added ones are checked here.
    let build = |body: Bytes| -> Result<hyper::Request<Full<Bytes>>, IntegrationError> {
        let mut headers = HeaderMap::with_capacity(parts.headers.len() + 3);
        headers.insert(
            http::header::HOST,
            HeaderValue::from_str(authority).map_err(|e| http_err(&e))?,
        );
        for (name, value) in &parts.headers {
            if travels(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.append(
            HeaderName::from_static("x-amzn-apigateway-api-id"),
            HeaderValue::from_str(&inv.stage.api.id).map_err(|e| http_err(&e))?,
        );
        headers.append(
            HeaderName::from_static("x-amzn-trace-id"),
            HeaderValue::from_str(&inv.ids.trace_id).map_err(|e| http_err(&e))?,
        );
        let mut outgoing = hyper::Request::new(Full::new(body));
        *outgoing.method_mut() = method.clone();
        *outgoing.uri_mut() = target.clone();
        *outgoing.headers_mut() = headers;
        Ok(outgoing)
    };
    // Only an idempotent request is sent again (vpc::pool::Pooled::try_send_remade).
    let spare = method.is_idempotent().then(|| body.clone());
    let outgoing = build(body)?;
    let remake = || spare.and_then(|body| build(body).ok());
    trace.info_fmt(
        "apigw",
        format_args!("-> {method} {target} Host {authority} from {from}"),
    );
    let (parts, body) = exchange_on_remade(conn, outgoing, remake, host, trace, reopen).await?;
    trace.pass_fmt("apigw", format_args!(
            "<- {} from the integration ({} bytes); backend Server/Date/Connection/Content-Length remapped to x-amzn-Remapped-*",
            StatusText(parts.status),
            body.len()
        ),
    );
    let mut out = http::Response::new(body);
    *out.status_mut() = parts.status;
    *out.headers_mut() = remap(&parts.headers);
    Ok(out)
}

/// Sends one HTTP/1.1 request over `io` (hyper's client) and reads the whole response.
pub(crate) async fn exchange(
    io: Box<dyn Io>,
    outgoing: http::Request<Full<Bytes>>,
    host: &str,
    trace: &Trace,
) -> Result<(http::response::Parts, Bytes), IntegrationError> {
    let http_err = |e: &dyn std::fmt::Display| IntegrationError::Http {
        host: host.to_string(),
        reason: e.to_string(),
    };
    let conn = Pooled::single(io).await.map_err(|e| http_err(&e))?;
    // A connection of its own: a request on it always leaves (nothing to open again).
    exchange_on(conn, outgoing, host, trace, async || {
        Err(IntegrationError::Http {
            host: host.to_string(),
            reason: "the connection closed".into(),
        })
    })
    .await
}

/// Sends one HTTP/1.1 request over `conn` and reads the whole response; the connection goes back
/// to its pool afterwards unless the answer closed it. When `conn` was kept alive and the target
/// had closed it before the request left, the request goes once more on a connection `reopen`
/// opens, as an HTTP/1.1 client retries a request its idle connection never sent.
pub(crate) async fn exchange_on(
    conn: Pooled,
    outgoing: http::Request<Full<Bytes>>,
    host: &str,
    trace: &Trace,
    reopen: impl AsyncFnOnce() -> Result<Pooled, IntegrationError>,
) -> Result<(http::response::Parts, Bytes), IntegrationError> {
    let resendable = conn.reused && outgoing.method().is_idempotent();
    let copy = resendable.then(|| crate::vpc::pool::copy_of(&outgoing));
    exchange_on_remade(conn, outgoing, move || copy, host, trace, reopen).await
}

/// [`exchange_on`] with the request to send again made by `remake` only when it is needed
/// ([`crate::vpc::pool::Pooled::exchange_remade`]).
pub(crate) async fn exchange_on_remade(
    conn: Pooled,
    outgoing: http::Request<Full<Bytes>>,
    remake: impl FnOnce() -> Option<http::Request<Full<Bytes>>>,
    host: &str,
    trace: &Trace,
    reopen: impl AsyncFnOnce() -> Result<Pooled, IntegrationError>,
) -> Result<(http::response::Parts, Bytes), IntegrationError> {
    let resent = || {
        trace.info_fmt("apigw", format_args!("{host}: the kept-alive connection had closed before the request left; sent on a new connection"),
        );
    };
    conn.exchange_remade(outgoing, remake, reopen, resent)
        .await
        .map_err(|e| match e {
            ExchangeError::Reopen(e) => e,
            ExchangeError::Http(e) => {
                trace.hop_fmt("apigw", Verdict::Fail, format_args!("{host}: {e}"));
                IntegrationError::Http {
                    host: host.to_string(),
                    reason: e.to_string(),
                }
            }
        })
}

/// The backend's headers as API Gateway passes them on: the ones it owns renamed
/// `x-amzn-Remapped-<Name>`, `Transfer-Encoding` dropped.
pub fn remap(backend: &HeaderMap) -> HeaderMap {
    // Sized once (one header out for each one in, but the few dropped).
    let mut out = HeaderMap::with_capacity(backend.len());
    for (name, value) in backend {
        let n = name.as_str();
        if n == "transfer-encoding" || n == "keep-alive" {
            continue;
        }
        if let Some(i) = REMAPPED.iter().position(|r| *r == n) {
            out.append(HeaderName::from_static(REMAPPED_AS[i]), value.clone());
        } else {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

fn mock(
    trace: &Trace,
    req: &http::Request<Bytes>,
    request_templates: &std::collections::BTreeMap<String, String>,
    responses: &[IntegrationResponseConfig],
) -> Result<http::Response<Bytes>, IntegrationError> {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "application/json".into());
    let template = request_templates
        .get(&content_type)
        .or_else(|| request_templates.get("application/json"))
        .or_else(|| request_templates.values().next());
    let status = template
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| v.get("statusCode").and_then(serde_json::Value::as_u64))
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let text = status.to_string();
    let chosen = responses
        .iter()
        .find(|r| {
            r.selection_pattern
                .as_ref()
                .is_some_and(|p| p.matches(&text))
        })
        .or_else(|| responses.iter().find(|r| r.selection_pattern.is_none()));
    let Some(response) = chosen else {
        trace.hop_fmt("apigw", Verdict::Fail, format_args!(
                "MOCK integration status {status}: no match for output mapping and no default output mapping configured"
            ),
        );
        return Err(IntegrationError::NoMockResponse { status });
    };
    let (ct, body) = response
        .response_templates
        .get("application/json")
        .map(|b| ("application/json".to_string(), b.clone()))
        .or_else(|| {
            response
                .response_templates
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
        })
        .unwrap_or_else(|| ("application/json".into(), String::new()));
    trace.pass_fmt(
        "apigw",
        format_args!(
            "MOCK integration status {status} -> method response {} ({} bytes)",
            response.status_code,
            body.len()
        ),
    );
    let mut resp = http::Response::new(Bytes::from(body));
    *resp.status_mut() =
        http::StatusCode::from_u16(response.status_code).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&ct) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    for (k, v) in &response.response_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_headers_api_gateway_owns_are_remapped() {
        let mut h = HeaderMap::new();
        h.insert("server", HeaderValue::from_static("awselb/2.0"));
        h.insert(
            "date",
            HeaderValue::from_static("Sun, 14 Jun 2026 03:00:00 GMT"),
        );
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert("content-length", HeaderValue::from_static("39"));
        h.insert("connection", HeaderValue::from_static("keep-alive"));
        let out = remap(&h);
        assert_eq!(out["x-amzn-remapped-server"], "awselb/2.0");
        assert_eq!(out["x-amzn-remapped-content-length"], "39");
        assert_eq!(out["x-amzn-remapped-connection"], "keep-alive");
        assert_eq!(out["content-type"], "application/json; charset=utf-8");
        assert!(out.get("server").is_none() && out.get("date").is_none());
        assert_eq!(
            crate::apigw::wire_name(&HeaderName::from_static("x-amzn-remapped-server")),
            "x-amzn-Remapped-Server"
        );
    }

    #[test]
    fn every_remapped_name_is_its_header_prefixed() {
        assert_eq!(REMAPPED.len(), REMAPPED_AS.len());
        for (name, remapped) in REMAPPED.iter().zip(REMAPPED_AS) {
            assert_eq!(*remapped, format!("x-amzn-remapped-{name}"));
        }
    }

    #[test]
    fn uri_variables_are_filled() {
        let mut p = std::collections::BTreeMap::new();
        p.insert("proxy".to_string(), "a/b".to_string());
        assert_eq!(fill("http://h/{proxy}", &p), "http://h/a/b");
    }

    #[test]
    fn a_uri_is_parsed_into_its_host_scheme_and_request_target() {
        let t = TargetUri::parse("https://h.example:8443/a/b?x=1".into()).unwrap();
        assert!(t.https);
        assert_eq!(t.host, "h.example");
        assert_eq!(t.uri.port_u16(), Some(8443));
        assert_eq!(t.target.to_string(), "/a/b?x=1");
        // An empty path is `/`; an empty query is none.
        for text in ["http://h.example", "http://h.example/?"] {
            let t = TargetUri::parse(text.into()).unwrap();
            assert!(!t.https);
            assert_eq!(t.target.to_string(), "/", "{text}");
        }
    }
}
