//! `HTTP_PROXY` integrations of HTTP APIs
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-http.html>,
//! `…/http-api-develop-integrations-private.html`).
//!
//! - **Public** (`ConnectionType: INTERNET`): `IntegrationUri` is a URL; `{name}` variables are
//!   filled with the route's path variables (`{proxy}` passes the greedy path on). The emulated
//!   world has no internet: a loopback URL (`127.0.0.1`, `::1`, `localhost`) is the user's own
//!   service on the host and is reached through a real socket (what `vpcgate serve` is for);
//!   any other host is unreachable (500).
//! - **Private** (`ConnectionType: VPC_LINK`): `IntegrationUri` is an ALB or NLB listener ARN;
//!   the connection goes through the VPC link's ENI to the load balancer's node in the virtual
//!   network ([`crate::apigw::integration::open`], shared with REST APIs), on the listener's port,
//!   with TLS when `TlsConfig.ServerNameToVerify` is set. The request's path and query string
//!   go as sent; `Host` is the load balancer's DNS name (or the server name to verify) [I].
//! - Then `RequestParameters` ([`super::mapping`]) change headers, query string and path.
//! - Headers go on as sent minus hop-by-hop ones, plus `x-amzn-trace-id`, `x-forwarded-proto`
//!   and `x-forwarded-port` [I: what HTTP APIs add is not listed on the pages above]. The
//!   backend's response comes back with its headers unchanged (`server` included) except the
//!   hop-by-hop ones and `content-length`/`date`, which API Gateway sets.
//! - `TimeoutInMillis` bounds the whole exchange, connecting included, on tokio's clock: 503
//!   (`super::error`).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::Full;
use tower::Service;

use super::api::HttpConnection;
use super::error::HttpApiError;
use super::mapping::{Action, Source, Target};
use super::{AuthContext, HttpInvocation};
use crate::apigw::ApiGateway;
use crate::apigw::integration::{
    IntegrationError, Io, LinkRoute, connection, exchange, exchange_on, travels, vpc_link_route,
};
use crate::trace::Verdict;

/// The innermost service.
#[derive(Clone, Debug)]
pub struct HttpIntegrationService {
    gw: Arc<ApiGateway>,
}

impl HttpIntegrationService {
    /// Integrations of `gw`'s HTTP APIs.
    pub fn new(gw: Arc<ApiGateway>) -> Self {
        Self { gw }
    }
}

impl Service<http::Request<Bytes>> for HttpIntegrationService {
    type Response = http::Response<Bytes>;
    type Error = HttpApiError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpApiError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), HttpApiError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let gw = self.gw.clone();
        Box::pin(async move {
            let Some(inv) = req.extensions().get::<Arc<HttpInvocation>>().cloned() else {
                return Err(HttpApiError::NoIntegration("(not routed)".into()));
            };
            let Some(integration) = inv.route.integration.clone() else {
                return Err(HttpApiError::NoIntegration(
                    inv.route.config.key.to_string(),
                ));
            };
            let after = integration.timeout;
            match tokio::time::timeout(after, run(&gw, &inv, req)).await {
                Ok(r) => r,
                Err(_) => {
                    crate::apigw::timeout::timed_out(&inv.trace, after);
                    Err(HttpApiError::Timeout(after))
                }
            }
        })
    }
}

fn fill(uri: &str, params: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = uri.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn run(
    gw: &ApiGateway,
    inv: &HttpInvocation,
    req: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, HttpApiError> {
    let integration = inv
        .route
        .integration
        .clone()
        .expect("checked by the caller");
    let trace = &inv.trace;
    let auth = req
        .extensions()
        .get::<AuthContext>()
        .cloned()
        .unwrap_or_default();

    // Where the request goes before mapping: path, query, Host.
    let (mut path, mut query, host_header, https, connect_host, port, via) = match &integration
        .connection
    {
        HttpConnection::Internet { uri } => {
            let filled = fill(uri, &inv.path_params);
            let parsed: http::Uri = filled.parse().map_err(|_| IntegrationError::NotDeployed {
                what: format!("uri {filled} is not a valid URL"),
            })?;
            let https = parsed.scheme_str() == Some("https");
            let host = parsed.host().unwrap_or_default().to_string();
            let port = parsed.port_u16().unwrap_or(if https { 443 } else { 80 });
            let mut query: Vec<String> = parsed
                .query()
                .into_iter()
                .filter(|q| !q.is_empty())
                .map(str::to_string)
                .collect();
            query.extend(
                req.uri()
                    .query()
                    .filter(|q| !q.is_empty())
                    .map(str::to_string),
            );
            let authority = parsed
                .authority()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| host.clone());
            let path = if parsed.path().is_empty() {
                "/".to_string()
            } else {
                parsed.path().to_string()
            };
            (path, query, authority, https, host, port, None)
        }
        HttpConnection::NotEmulated {
            integration_type,
            uri,
        } => {
            trace.hop_fmt("apigw", Verdict::Fail, format_args!(
                        "{integration_type} integration {uri}: not emulated (vpcgate runs no Lambda functions or AWS service integrations); answered as an unreachable integration"
                    ),
                );
            return Err(IntegrationError::NotDeployed {
                what: format!("{integration_type} integration {uri} is not emulated"),
            }
            .into());
        }
        HttpConnection::VpcLink {
            vpc_link_id,
            listener_arn,
            server_name_to_verify,
        } => {
            let (link, target) = vpc_link_route(gw, vpc_link_id, listener_arn, "integration uri")?;
            let host = server_name_to_verify
                .clone()
                .unwrap_or_else(|| target.dns_name.clone());
            let https = server_name_to_verify.is_some();
            let port = target.listener_port.unwrap_or(if https { 443 } else { 80 });
            let query: Vec<String> = req
                .uri()
                .query()
                .filter(|q| !q.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect();
            (
                inv.path.clone(),
                query,
                host.clone(),
                https,
                host,
                port,
                Some((link, target)),
            )
        }
    };

    let (parts, body) = req.into_parts();
    let mut headers = http::HeaderMap::new();
    for (name, value) in &parts.headers {
        if travels(name) {
            headers.append(name.clone(), value.clone());
        }
    }

    // RequestParameters.
    let mut context = auth.0.clone();
    context.insert("requestId".into(), inv.ids.apigw_id.clone());
    context.insert("apiId".into(), inv.api.config.id.clone());
    context.insert("stage".into(), inv.stage.name.clone());
    context.insert("httpMethod".into(), parts.method.to_string());
    context.insert("path".into(), parts.uri.path().to_string());
    context.insert("routeKey".into(), inv.route.config.key.to_string());
    context.insert(
        "domainName".into(),
        format!(
            "{}.execute-api.{}.amazonaws.com",
            inv.api.config.id, inv.api.region
        ),
    );
    context.insert("protocol".into(), "HTTP/1.1".into());
    let original = http::Request::from_parts(parts.clone(), body.clone());
    let source = Source {
        request: &original,
        path: &inv.path,
        path_params: &inv.path_params,
        context: &context,
        stage_variables: &inv.stage.variables,
    };
    let mut query_pairs: Vec<(String, String)> = query
        .iter()
        .flat_map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        })
        .collect();
    let mut query_changed = false;
    for m in &integration.request_parameters {
        let value = if m.action == Action::Remove {
            None
        } else {
            match m.evaluate(&source) {
                Some(v) => Some(v),
                None => continue,
            }
        };
        match (&m.target, m.action, value) {
            (Target::Path, _, Some(v)) => {
                path = if v.starts_with('/') {
                    v
                } else {
                    format!("/{v}")
                };
            }
            (Target::Header(name), action, value) => {
                let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                    continue;
                };
                match (action, value.and_then(|v| HeaderValue::from_str(&v).ok())) {
                    (Action::Remove, _) => {
                        headers.remove(&name);
                    }
                    (Action::Overwrite, Some(v)) => {
                        headers.insert(name, v);
                    }
                    (Action::Append, Some(v)) => {
                        // append: a comma-separated addition to the existing value.
                        let joined = match headers.get(&name).and_then(|e| e.to_str().ok()) {
                            Some(existing) => format!("{existing},{}", v.to_str().unwrap_or("")),
                            None => v.to_str().unwrap_or("").to_string(),
                        };
                        if let Ok(j) = HeaderValue::from_str(&joined) {
                            headers.insert(name, j);
                        }
                    }
                    _ => {}
                }
            }
            (Target::QueryString(name), action, value) => {
                query_changed = true;
                match action {
                    Action::Remove => query_pairs.retain(|(k, _)| k != name),
                    Action::Overwrite => {
                        query_pairs.retain(|(k, _)| k != name);
                        query_pairs.push((name.clone(), value.unwrap_or_default()));
                    }
                    Action::Append => query_pairs.push((name.clone(), value.unwrap_or_default())),
                }
            }
            _ => {}
        }
        trace.info_fmt("apigw", format_args!("request parameter {} applied", m.key));
    }
    if query_changed {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query_pairs.iter())
            .finish();
        query = if q.is_empty() { Vec::new() } else { vec![q] };
    }
    let mut target = path;
    if !query.is_empty() {
        target.push('?');
        target.push_str(&query.join("&"));
    }
    let method = integration.method.clone().unwrap_or(parts.method.clone());
    let http_err = |e: &dyn std::fmt::Display| IntegrationError::Http {
        host: host_header.clone(),
        reason: e.to_string(),
    };
    // The header map is filled directly (the request builder parses each name and value again).
    let mut outgoing_headers = http::HeaderMap::with_capacity(headers.len() + 4);
    outgoing_headers.insert(
        http::header::HOST,
        HeaderValue::from_str(&host_header).map_err(|e| http_err(&e))?,
    );
    for (name, value) in &headers {
        outgoing_headers.append(name.clone(), value.clone());
    }
    for (name, value) in [
        ("x-amzn-trace-id", inv.ids.trace_id.as_str()),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
    ] {
        outgoing_headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).map_err(|e| http_err(&e))?,
        );
    }
    let mut outgoing = http::Request::new(Full::new(body));
    *outgoing.method_mut() = method.clone();
    *outgoing.uri_mut() = http::Uri::try_from(target.as_str()).map_err(|e| http_err(&e))?;
    *outgoing.headers_mut() = outgoing_headers;

    let io: Box<dyn Io> = match via {
        Some((link, target_lb)) => {
            // A kept-alive connection through the VPC link when one is idle (vpc::pool).
            let route = LinkRoute {
                link: &link,
                target: &target_lb,
                https,
                host: &connect_host,
                port,
            };
            let (conn, _) = connection(gw, trace, route, true).await?;
            trace.info_fmt(
                "apigw",
                format_args!("-> {method} {target} Host {host_header}"),
            );
            let reopen = async || {
                connection(gw, trace, route, false)
                    .await
                    .map(|(conn, _)| conn)
            };
            let (rparts, rbody) = exchange_on(conn, outgoing, &host_header, trace, reopen).await?;
            return Ok(respond(rparts, rbody, trace));
        }
        None if is_loopback(&connect_host) => {
            let addr = format!(
                "{}:{port}",
                connect_host.trim_start_matches('[').trim_end_matches(']')
            );
            let host = if connect_host.eq_ignore_ascii_case("localhost") {
                format!("127.0.0.1:{port}")
            } else if connect_host.contains(':') {
                format!(
                    "[{}]:{port}",
                    connect_host.trim_start_matches('[').trim_end_matches(']')
                )
            } else {
                addr
            };
            trace.info_fmt(
                "apigw",
                format_args!("HTTP_PROXY to the host's own service {host}"),
            );
            // A real socket to the user's own service: the virtual clock holds while it is open
            // (crate::clock), so a slow service is not timed out by skipped time.
            let hold = gw.deps.clock.hold();
            let stream = tokio::net::TcpStream::connect(&host).await.map_err(|e| {
                trace.hop_fmt("apigw", Verdict::Refuse, format_args!("{host}: {e}"));
                IntegrationError::Http {
                    host: host.clone(),
                    reason: e.to_string(),
                }
            })?;
            let stream = crate::clock::Held::new(stream, hold);
            if https {
                let connector = tokio_rustls::TlsConnector::from(gw.deps.tls_client.clone());
                let name =
                    rustls_pki_types::ServerName::try_from(connect_host.clone()).map_err(|e| {
                        IntegrationError::Tls {
                            host: connect_host.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                Box::new(connector.connect(name, stream).await.map_err(|e| {
                    IntegrationError::Tls {
                        host: connect_host.clone(),
                        reason: e.to_string(),
                    }
                })?)
            } else {
                Box::new(stream)
            }
        }
        None => {
            trace.hop_fmt(
                "apigw",
                Verdict::Fail,
                format_args!("HTTP_PROXY to {connect_host}: the emulated world has no internet"),
            );
            return Err(IntegrationError::Unreachable { uri: connect_host }.into());
        }
    };
    trace.info_fmt(
        "apigw",
        format_args!("-> {method} {target} Host {host_header}"),
    );
    let (rparts, rbody) = exchange(io, outgoing, &host_header, trace).await?;
    Ok(respond(rparts, rbody, trace))
}

/// The integration's answer as the HTTP API passes it on.
fn respond(
    rparts: http::response::Parts,
    rbody: Bytes,
    trace: &crate::trace::Trace,
) -> http::Response<Bytes> {
    trace.pass_fmt(
        "apigw",
        format_args!(
            "<- {} from the integration ({} bytes); headers passed through",
            rparts.status,
            rbody.len()
        ),
    );
    let mut out = http::Response::new(rbody);
    *out.status_mut() = rparts.status;
    for (name, value) in &rparts.headers {
        if matches!(
            name.as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "date"
        ) {
            continue;
        }
        out.headers_mut().append(name.clone(), value.clone());
    }
    out
}
