//! The connection's invocation path, shared by Step Functions' HTTP Task ([`crate::sfn::http`]) and
//! EventBridge's API destinations ([`super::target`]): the connection's credentials (API key,
//! Basic, OAuth client credentials with the token cached and the connection de-authorized on
//! failure, eb-target-connection-auth.html), then for a private connection VPC Lattice
//! (`vpc-lattice-svcs:Invoke` when the resource configuration uses AWS_IAM) and the resource
//! gateway, then TLS with the emulated public roots (SNI and hostname checks on the URL's host)
//! and HTTP/1.1 (<https://docs.aws.amazon.com/eventbridge/latest/userguide/connection-private.html>).
//!
//! Failures are [`InvokeError`]s; each caller words them its own way (the HTTP Task as
//! `States.Http.Socket` / `Events.ConnectionResource.*`, EventBridge as a failed delivery).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustls_pki_types::ServerName;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::io::{AsyncRead, AsyncWrite};

use super::public::{PublicEndpoint, PublicRoute};
use super::{Authorization, ConnectionConfig, Connections, Parameter};
use crate::apigw::ApiGateway;
use crate::authz::Directory;
use crate::clock::Clock;
use crate::ec2::Internet;
use crate::iam::{DenialFormat, Principal, RequestContext};
use crate::lattice::{AuthType, LatticeError, ResourceConfigurationConfig, ResourceGateway};
use crate::trace::{Detail, Relay, Trace, Verdict};
use crate::vpc::Network;
use crate::vpc::pool::{PoolKey, Pooled};

/// What the connection's invocation path reaches: handed down by the composition root
/// ([`crate::world`] implements it for the running world), so that EventBridge and the HTTP
/// Task never name the world. Borrowed for one call (`&dyn Reach`): no handle is cloned per
/// request.
pub trait Reach: Send + Sync {
    /// The world's clock.
    fn clock(&self) -> &Clock;
    /// IAM (`vpc-lattice-svcs:Invoke` on AWS_IAM resource configurations).
    fn iam(&self) -> &Directory;
    /// The virtual network and its pool of kept-alive connections.
    fn net(&self) -> &Network;
    /// The TLS client configuration of the AWS side (the emulated public roots).
    fn tls_client(&self) -> &Arc<rustls::ClientConfig>;
    /// The world's Region.
    fn region(&self) -> &str;
    /// The connections: their records, OAuth tokens and de-authorizations.
    fn connections(&self) -> &Connections;
    /// A VPC Lattice resource configuration, by ARN.
    fn resource_configuration(&self, arn: &str) -> Option<&ResourceConfigurationConfig>;
    /// A running resource gateway, by id.
    fn resource_gateway(&self, id: &str) -> Option<&ResourceGateway>;
    /// The environment's mappings of public names to the user's processes.
    fn public_endpoints(&self) -> &[PublicEndpoint];
    /// The public AWS endpoints of the emulated internet.
    fn internet(&self) -> &Internet;
    /// API Gateway (which execute-api names are public).
    fn apigw(&self) -> &Arc<ApiGateway>;
}

/// Who sends along a connection: what the path reaches, the principal (the HTTP Task's
/// execution role, or the role of the rule's target), and the trace.
pub struct Invoker<'a> {
    /// What the path reaches.
    pub reach: &'a dyn Reach,
    /// The caller's principal (checked for `vpc-lattice-svcs:Invoke` on AWS_IAM resource
    /// configurations).
    pub principal: &'a Principal,
    /// The trace.
    pub trace: &'a Trace,
}

impl std::fmt::Debug for Invoker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoker")
            .field("principal", self.principal)
            .finish_non_exhaustive()
    }
}

/// What went wrong along the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvokeErrorKind {
    /// No connection, TLS failure, time-out, closed connection.
    Socket,
    /// The connection is not authorized (de-authorized, or OAuth failed).
    InvalidConnectionState,
    /// The private connection's resource configuration or gateway is missing.
    InvalidPrivateConnectionState,
    /// IAM refused (Lattice's auth policy).
    AccessDenied,
    /// The request cannot be built (bad header name or value).
    Runtime,
    /// Reading the connection's secret failed.
    InternalError,
}

/// A failure along the connection's path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    /// What failed.
    pub kind: InvokeErrorKind,
    /// The message.
    pub message: String,
}

impl InvokeError {
    /// An error of `kind`.
    pub fn new(kind: InvokeErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

pub(crate) const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) mod url_lite {
    //! The few parts of an `https://host[:port]/path?query` URL the task needs.
    #[derive(Debug, Clone)]
    pub(crate) struct Url {
        pub(crate) scheme: String,
        pub(crate) host: String,
        pub(crate) port: u16,
        pub(crate) path_and_query: String,
    }

    pub(crate) fn parse(text: &str) -> Result<Url, String> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("'{text}' is not a valid URL: {e}"))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| format!("'{text}' has no scheme"))?
            .to_ascii_lowercase();
        let host = uri
            .host()
            .ok_or_else(|| format!("'{text}' has no host"))?
            .to_ascii_lowercase();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let path_and_query = if path_and_query.is_empty() {
            "/".into()
        } else {
            path_and_query
        };
        Ok(Url {
            scheme,
            host,
            port,
            path_and_query,
        })
    }
}

/// `k=v&k=v`, names and values URL-encoded (Step Functions URL-encodes query parameters).
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Appends an encoded query string to a path or URL.
pub(crate) fn append_query(target: &mut String, query: &str) {
    if !query.is_empty() {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(query);
    }
}

/// Merges the connection's parameters over the task's: the connection wins on a duplicate key.
pub(crate) fn merge(
    task: &mut Vec<(String, String)>,
    connection: &[Parameter],
    case_insensitive: bool,
) {
    for p in connection {
        task.retain(|(k, _)| {
            if case_insensitive {
                !k.eq_ignore_ascii_case(&p.key)
            } else {
                k != &p.key
            }
        });
        task.push((p.key.clone(), p.value.clone()));
    }
}

/// Authorization header or key parameter the connection adds.
pub(crate) async fn credentials(
    inv: &Invoker<'_>,
    conn: &ConnectionConfig,
    headers: &mut Vec<(String, String)>,
) -> Result<(), InvokeError> {
    if inv.reach.connections().is_deauthorized(&conn.arn) {
        inv.trace.hop(
            "events",
            Verdict::Refuse,
            format!(
                "connection {} is DEAUTHORIZED (update it with working credentials)",
                conn.name
            ),
        );
        return Err(InvokeError::new(
            InvokeErrorKind::InvalidConnectionState,
            "Connection resource is not authorized. This is likely a configuration issue with your connection.",
        ));
    }
    match &conn.authorization {
        Authorization::ApiKey { name, value } => {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        Authorization::Basic { username, password } => {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        Authorization::OAuthClientCredentials { .. } => {
            let token = match inv.reach.connections().cached_token(&conn.arn) {
                Some(t) => {
                    inv.trace.pass(
                        "events",
                        format!("connection {}: cached OAuth token", conn.name),
                    );
                    t
                }
                None => fetch_token(inv, conn).await?,
            };
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
    }
    Ok(())
}

pub(crate) async fn fetch_token(
    inv: &Invoker<'_>,
    conn: &ConnectionConfig,
) -> Result<String, InvokeError> {
    let Authorization::OAuthClientCredentials {
        authorization_endpoint,
        http_method,
        client_id,
        client_secret,
        oauth_parameters,
    } = &conn.authorization
    else {
        unreachable!("called for OAuth connections only")
    };
    let url = url_lite::parse(authorization_endpoint)
        .map_err(|e| InvokeError::new(InvokeErrorKind::InvalidConnectionState, e))?;
    // fidelity: AWS does not document how the client credentials travel; vpcgate sends them as
    // HTTP Basic and a form body with grant_type=client_credentials (README, fidelity notes).
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let mut headers = vec![
        ("Authorization".to_string(), format!("Basic {basic}")),
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    merge(&mut headers, &oauth_parameters.headers, true);
    let mut form: Vec<(String, String)> = vec![("grant_type".into(), "client_credentials".into())];
    merge(&mut form, &oauth_parameters.body, false);
    let body = encode_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut path = url.path_and_query.clone();
    append_query(
        &mut path,
        &encode_pairs(
            oauth_parameters
                .query
                .iter()
                .map(|p| (p.key.as_str(), p.value.as_str())),
        ),
    );
    let method = Method::from_bytes(http_method.as_bytes()).unwrap_or(Method::POST);
    let resp = exchange(
        inv,
        conn,
        &url.host,
        url.port,
        method,
        &path,
        &headers,
        Bytes::from(body),
    )
    .await?;
    if !resp.status.is_success() {
        inv.trace.hop(
            "events",
            Verdict::Fail,
            format!(
                "OAuth token endpoint answered {}: the connection is deauthorized",
                resp.status
            ),
        );
        inv.reach.connections().deauthorize(&conn.arn);
        return Err(InvokeError::new(
            InvokeErrorKind::InvalidConnectionState,
            "Connection resource is not authorized. This is likely a configuration issue with your connection.",
        ));
    }
    let parsed: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let Some(token) = parsed.get("access_token").and_then(Value::as_str) else {
        inv.reach.connections().deauthorize(&conn.arn);
        return Err(InvokeError::new(
            InvokeErrorKind::InvalidConnectionState,
            "Connection resource is not authorized. This is likely a configuration issue with your connection.",
        ));
    };
    let expires_in = parsed
        .get("expires_in")
        .and_then(Value::as_u64)
        .map(Duration::from_secs);
    // Refresh a minute before expiry (EventBridge's documented proactive refresh).
    let lifetime = expires_in.map(|d| d.saturating_sub(Duration::from_secs(60)));
    inv.reach
        .connections()
        .cache_token(&conn.arn, token.to_string(), lifetime);
    inv.trace.pass(
        "events",
        format!(
            "connection {}: OAuth token fetched from {authorization_endpoint}",
            conn.name
        ),
    );
    Ok(token.to_string())
}

pub(crate) struct Exchange {
    /// The status.
    pub(crate) status: http::StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) body: Bytes,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What [`open`] gives: a kept-alive connection (private connections: Lattice keeps its
/// connections to the resource open, [`crate::vpc::pool`]), or a new path — whether TLS runs over
/// it (a mapped local process of the user's speaks plain HTTP: [`super::public`]) and, for a
/// private one, the relay of its trace.
enum Opened {
    Reused(Pooled),
    Fresh {
        stream: Box<dyn Io>,
        tls: bool,
        relay: Option<Relay>,
    },
}

/// Where a public connection's calls come from on the emulated internet (`aws:SourceIp` at a
/// public AWS endpoint): the events service's own public address. fidelity: AWS's egress
/// addresses are unpublished (README, EventBridge fidelity notes).
fn egress(reach: &dyn Reach) -> SocketAddr {
    let ip = reach
        .internet()
        .service("events")
        .map(|s| s.ip)
        .unwrap_or(Ipv4Addr::new(198, 51, 100, 12));
    SocketAddr::new(IpAddr::V4(ip), 49152)
}

/// Opens a public connection's path: the emulated internet ([`super::public`]).
async fn open_public(inv: &Invoker<'_>, host: &str, port: u16) -> Result<Opened, InvokeError> {
    let reach = inv.reach;
    let names = super::public::PublicNames {
        mappings: reach.public_endpoints(),
        internet: reach.internet(),
        apigw: reach.apigw(),
        region: reach.region(),
    };
    match super::public::route(names, host, port) {
        PublicRoute::Aws(ip) => {
            inv.trace.pass(
                "internet",
                format!("public connection: {host} resolves to {ip} (a public AWS endpoint)"),
            );
            let dst = SocketAddr::new(IpAddr::V4(ip), port);
            let stream = reach
                .internet()
                .connect(egress(reach), dst, inv.trace)
                .await;
            Ok(Opened::Fresh {
                stream: Box::new(stream),
                tls: true,
                relay: None,
            })
        }
        PublicRoute::Local(m) => {
            inv.trace.pass(
                "internet",
                format!(
                    "public connection: {host}:{port} is mapped to your process at {} (PublicEndpoints {})",
                    m.target, m.url
                ),
            );
            // A real socket to the user's own process: the virtual clock holds while it is
            // open (crate::clock), so a slow process is not timed out by skipped time.
            let hold = reach.clock().hold();
            match tokio::net::TcpStream::connect(m.target).await {
                Ok(s) => Ok(Opened::Fresh {
                    stream: Box::new(crate::clock::Held::new(s, hold)),
                    tls: false,
                    relay: None,
                }),
                Err(e) => {
                    inv.trace
                        .hop("internet", Verdict::Fail, format!("{}: {e}", m.target));
                    Err(InvokeError::new(
                        InvokeErrorKind::Socket,
                        format!(
                            "Connection refused: {host}:{port} ({} is mapped to {}: {e})",
                            m.url, m.target
                        ),
                    ))
                }
            }
        }
        PublicRoute::Unresolved => {
            inv.trace.hop_with(
                "dns",
                Verdict::Fail,
                || {
                    Detail::at(host.to_string()).rule(
                        "public names: the public AWS endpoints vpcgate serves and the environment's PublicEndpoints",
                    )
                },
                format!(
                    "{host}: no such public name on the emulated internet (map it to your own process with PublicEndpoints)"
                ),
            );
            Err(InvokeError::new(
                InvokeErrorKind::Socket,
                format!("Unable to resolve host {host}"),
            ))
        }
    }
}

/// Opens the TCP path to `host:port` along the connection's route, or, for a private
/// connection, takes the kept-alive connection for `key` once the per-request checks (the
/// resource configuration, `vpc-lattice-svcs:Invoke`) pass.
async fn open(
    inv: &Invoker<'_>,
    conn: &ConnectionConfig,
    host: &str,
    port: u16,
    key: &PoolKey,
    reuse: bool,
) -> Result<Opened, InvokeError> {
    let reach = inv.reach;
    let socket = |cause: String| InvokeError::new(InvokeErrorKind::Socket, cause);
    let Some(rc_arn) = &conn.resource_configuration_arn else {
        return open_public(inv, host, port).await;
    };
    let rc = reach.resource_configuration(rc_arn).ok_or_else(|| {
        InvokeError::new(
            InvokeErrorKind::InvalidPrivateConnectionState,
            format!("The resource configuration {rc_arn} of the connection does not exist"),
        )
    })?;
    inv.trace.pass(
        "lattice",
        format!(
            "private connection via resource configuration {} ({}, {:?} auth)",
            rc.name, rc.definition, rc.auth
        ),
    );
    if rc.auth == AuthType::AwsIam {
        let region = rc.arn.split(':').nth(3).unwrap_or(reach.region());
        let c = RequestContext::for_request(reach.clock().now_utc(), region);
        reach
            .iam()
            .authorize(
                inv.principal,
                "vpc-lattice-svcs:Invoke",
                &rc.arn,
                &c,
                None,
                &[],
                DenialFormat::PolicyType,
                inv.trace,
            )
            .map_err(|d| InvokeError::new(InvokeErrorKind::AccessDenied, d.message))?;
    }
    let gateway = reach.resource_gateway(&rc.gateway_id).ok_or_else(|| {
        InvokeError::new(
            InvokeErrorKind::InvalidPrivateConnectionState,
            format!(
                "The resource gateway {} of resource configuration {} does not exist",
                rc.gateway_id, rc.name
            ),
        )
    })?;
    if reuse && let Some(reused) = reach.net().pool().checkout(key, inv.trace).await {
        return Ok(Opened::Reused(reused));
    }
    let (conn_trace, relay) = inv.trace.relay();
    match gateway.open(reach.net(), rc, port, &conn_trace).await {
        Ok(stream) => Ok(Opened::Fresh {
            stream: Box::new(stream),
            tls: true,
            relay: Some(relay),
        }),
        Err(LatticeError::Resolve(e)) => Err(socket(format!("Unable to resolve host: {e}"))),
        Err(LatticeError::Connect(e)) => Err(socket(format!("Connection refused: {e}"))),
        Err(LatticeError::PortNotAllowed { port, .. }) => Err(socket(format!(
            "Connection refused: port {port} is not in the port ranges of resource configuration {}",
            rc.name
        ))),
        Err(e @ LatticeError::NoGateway { .. }) => Err(InvokeError::new(
            InvokeErrorKind::InvalidPrivateConnectionState,
            e.to_string(),
        )),
    }
}

/// TLS over `stream` with the emulated public roots, SNI and the hostname check on `host`.
async fn handshake(
    inv: &Invoker<'_>,
    stream: Box<dyn Io>,
    host: &str,
    port: u16,
) -> Result<tokio_rustls::client::TlsStream<Box<dyn Io>>, InvokeError> {
    let socket = |cause: String| InvokeError::new(InvokeErrorKind::Socket, cause);
    let connector = tokio_rustls::TlsConnector::from(inv.reach.tls_client().clone());
    let server_name = ServerName::try_from(host.to_string())
        .map_err(|e| socket(format!("Invalid host name {host}: {e}")))?;
    match connector.connect(server_name, stream).await {
        Ok(tls) => {
            let (_, session) = tls.get_ref();
            inv.trace.hop_with(
                "tls",
                Verdict::Pass,
                || {
                    Detail::at(format!("{host}:{port}"))
                        .rule("the certificate chains to the emulated public root and names the host")
                },
                format!(
                    "handshake with {host} ({:?}, {:?}): certificate chains to the emulated public root and matches the host",
                    session.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
                    session.negotiated_cipher_suite().map(|s| s.suite()).map(|s| format!("{s:?}")).unwrap_or_default()
                ),
            );
            Ok(tls)
        }
        Err(e) => {
            inv.trace.hop_with(
                "tls",
                Verdict::Fail,
                || Detail::at(format!("{host}:{port}")).rule(e.to_string()),
                format!("handshake with {host} failed: {e}"),
            );
            Err(socket(format!("TLS handshake with {host} failed: {e}")))
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn exchange(
    inv: &Invoker<'_>,
    conn: &ConnectionConfig,
    host: &str,
    port: u16,
    method: Method,
    path: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<Exchange, InvokeError> {
    let socket = |cause: String| InvokeError::new(InvokeErrorKind::Socket, cause);
    let req = Outgoing {
        method,
        path,
        headers,
        body,
    };
    let key = PoolKey {
        source: conn.arn.clone(),
        destination: format!(
            "{} port {port}",
            conn.resource_configuration_arn.as_deref().unwrap_or("")
        ),
        tls: Some(host.to_string()),
    };
    let http_err = |e: hyper::Error| socket(format!("HTTP connection to {host} failed: {e}"));
    let mut reuse = true;
    loop {
        let pooled = match open(inv, conn, host, port, &key, reuse).await? {
            Opened::Reused(pooled) => {
                inv.trace.hop_with(
                    "tls",
                    Verdict::Pass,
                    || Detail::at(format!("{host}:{port}")).rule("kept alive"),
                    format!(
                        "the kept-alive TLS connection to {host}:{port} (its certificate was checked when it opened)"
                    ),
                );
                pooled
            }
            Opened::Fresh { stream, tls, relay } => {
                let io: Box<dyn Io> = if tls {
                    Box::new(handshake(inv, stream, host, port).await?)
                } else {
                    stream
                };
                // A private connection's path is kept alive; a public one is used once.
                match relay {
                    Some(relay) => inv
                        .reach
                        .net()
                        .pool()
                        .handshake(key.clone(), io, relay)
                        .await
                        .map_err(http_err)?,
                    None => Pooled::single(io).await.map_err(http_err)?,
                }
            }
        };
        match send(inv, pooled, host, port, req.clone()).await {
            Ok(done) => return Ok(done),
            Err(SendError::Failed(e)) => return Err(e),
            // The target closed the kept-alive connection before the request left: once more
            // on a new connection (vpc::pool::Pooled::try_send).
            Err(SendError::Unsent) if reuse => {
                inv.trace.info(
                    "http",
                    format!("{host}: the kept-alive connection had closed before the request left; sent on a new connection"),
                );
                reuse = false;
            }
            Err(SendError::Unsent) => {
                return Err(socket(format!(
                    "The connection to {host} was closed before the request was sent"
                )));
            }
        }
    }
}

/// Why [`send`] has no answer.
enum SendError {
    /// The request never left its kept-alive connection, which had closed.
    Unsent,
    /// The exchange failed.
    Failed(InvokeError),
}

impl From<InvokeError> for SendError {
    fn from(e: InvokeError) -> Self {
        SendError::Failed(e)
    }
}

/// One HTTP request along a connection.
#[derive(Clone)]
struct Outgoing<'a> {
    method: Method,
    path: &'a str,
    headers: &'a [(String, String)],
    body: Bytes,
}

/// Sends one request over `conn` and reads the whole response; the connection goes back to the
/// pool unless the answer closed it.
async fn send(
    inv: &Invoker<'_>,
    mut conn: Pooled,
    host: &str,
    port: u16,
    req: Outgoing<'_>,
) -> Result<Exchange, SendError> {
    let Outgoing {
        method,
        path,
        headers,
        body,
    } = req;
    let socket = |cause: String| InvokeError::new(InvokeErrorKind::Socket, cause);
    let mut builder = hyper::Request::builder().method(method.clone()).uri(path);
    let host_header = if port == 443 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    builder = builder.header(http::header::HOST, host_header);
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
            InvokeError::new(
                InvokeErrorKind::Runtime,
                format!("Invalid header name {k:?}"),
            )
        })?;
        let value = HeaderValue::from_str(v).map_err(|_| {
            InvokeError::new(
                InvokeErrorKind::Runtime,
                format!("Invalid value for header {k:?}"),
            )
        })?;
        builder = builder.header(name, value);
    }
    let req = builder
        .body(Full::new(body))
        .map_err(|e| InvokeError::new(InvokeErrorKind::Runtime, e.to_string()))?;
    inv.trace
        .info("http", format!("{method} {path} Host {host}"));
    let (parts, body) = match conn.try_send(req).await {
        Ok(answer) => answer,
        Err(crate::vpc::pool::SendFailure::Unsent { .. }) => return Err(SendError::Unsent),
        Err(crate::vpc::pool::SendFailure::Failed(e)) => {
            inv.trace.hop("http", Verdict::Fail, format!("{host}: {e}"));
            return Err(SendError::Failed(socket(format!(
                "The connection to {host} was closed before a response arrived: {e}"
            ))));
        }
    };
    conn.release(crate::vpc::pool::asks_to_close(&parts.headers));
    Ok(Exchange {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
