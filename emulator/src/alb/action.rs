//! Listener actions: `fixed-response` and `forward`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::{Protocol, SERVER};
use crate::clock::Clock;
use crate::trace::{Trace, Verdict};
use crate::vpc::{Network, Source};

/// ALB's idle timeout default: a target that sends nothing for this long gets a 504
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html>).
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an ALB tries to connect to a target before answering 504: "The load balancer failed
/// to establish a connection to the target before the connection timeout expired (10 seconds)"
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html#http-504-issues>).
pub(super) const TARGET_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A `fixed-response` action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedResponse {
    /// `StatusCode` (2XX, 4XX or 5XX).
    pub status_code: u16,
    /// `ContentType`: text/plain, text/css, text/html, application/javascript or application/json.
    pub content_type: Option<String>,
    /// `MessageBody` (up to 1024 characters).
    pub message_body: Option<String>,
}

/// One target of a `forward` action's target group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardTarget {
    /// Where the target listens: an address inside the load balancer's VPC (reached through the
    /// virtual network) or a host address (a user's own service).
    pub addr: SocketAddr,
}

/// A target group as the model describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroup {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `HTTP` or `HTTPS` toward the targets (vpcgate speaks HTTP to host targets).
    pub protocol: String,
    /// Registered targets.
    pub targets: Vec<ForwardTarget>,
}

/// A listener or rule action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer with a fixed response.
    FixedResponse(FixedResponse),
    /// Forward to a target group.
    Forward(TargetGroup),
}

pub(super) struct RequestContext<'a> {
    pub(super) clock: &'a Clock,
    pub(super) trace: &'a Trace,
    pub(super) peer: SocketAddr,
    pub(super) listener_port: u16,
    pub(super) protocol: Protocol,
    /// The virtual network, for targets inside the VPC.
    pub(super) net: &'a Network,
    /// The load balancer's VPC.
    pub(super) vpc_id: &'a str,
    /// The address of the node that took the request (its ENI opens target connections).
    pub(super) node_ip: IpAddr,
}

fn http_date(clock: &Clock) -> String {
    crate::sigv4::format_http_date(clock.now())
}

fn respond(
    clock: &Clock,
    status: u16,
    content_type: Option<HeaderValue>,
    body: Bytes,
) -> hyper::Response<Full<Bytes>> {
    // The header map is filled directly (the response builder parses each name and value
    // again); same headers, same order.
    let mut headers = http::HeaderMap::with_capacity(5);
    headers.insert(http::header::SERVER, HeaderValue::from_static(SERVER));
    // The date's own bytes become the value (no copy).
    if let Ok(date) = HeaderValue::from_maybe_shared(Bytes::from(http_date(clock))) {
        headers.insert(http::header::DATE, date);
    }
    if let Some(ct) = content_type {
        headers.insert(http::header::CONTENT_TYPE, ct);
    }
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("keep-alive"),
    );
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    *resp.headers_mut() = headers;
    resp
}

/// The words ALB puts on its own error pages and status lines where they differ from the HTTP
/// specification's reason phrases: ALB's front end words them as nginx does. Recorded against an
/// ALB (`Server: awselb/2.0`, 2026-02-26): `HTTP/1.1 503 Service Temporarily Unavailable`,
/// `Content-Length: 162`, the title and heading below; `504 Gateway Time-out` is the same family's
/// page (nginx's `ngx_http_special_response.c` default pages, which ALB's are).
fn alb_reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => "Service Temporarily Unavailable",
        StatusCode::GATEWAY_TIMEOUT => "Gateway Time-out",
        StatusCode::REQUEST_TIMEOUT => "Request Time-out",
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        StatusCode::URI_TOO_LONG => "Request-URI Too Large",
        other => other.canonical_reason().unwrap_or(""),
    }
}

/// ALB's own error page (`<html>\r\n<head><title>502 Bad Gateway</title></head>…`), with ALB's
/// words on the status line too.
pub(super) fn error_page(clock: &Clock, status: StatusCode) -> hyper::Response<Full<Bytes>> {
    let reason = alb_reason(status);
    let line = format!("{} {reason}", status.as_u16());
    let body = format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = respond(
        clock,
        status.as_u16(),
        Some(HeaderValue::from_static("text/html")),
        Bytes::from(body),
    );
    if Some(reason) != status.canonical_reason() {
        resp.extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(reason.as_bytes()));
    }
    resp
}

pub(super) async fn perform(
    actions: &[Action],
    req: hyper::Request<Incoming>,
    ctx: &RequestContext<'_>,
) -> hyper::Response<Full<Bytes>> {
    // The terminating action is the last one (authenticate-* actions come before it).
    match actions.last() {
        Some(Action::FixedResponse(fixed)) => {
            // ALB appends the charset to the configured content type, as the seed's recorded
            // output shows (`application/json; charset=utf-8`).
            let content_type = fixed.content_type.as_ref().map(|ct| {
                // Of its exact size, so that its bytes become the header value as they are.
                const CHARSET: &str = "; charset=utf-8";
                let mut text = String::with_capacity(ct.len() + CHARSET.len());
                text.push_str(ct);
                text.push_str(CHARSET);
                text
            });
            let body = Bytes::from(fixed.message_body.clone().unwrap_or_default());
            ctx.trace.pass_fmt(
                "alb",
                format_args!(
                    "fixed-response {} {} ({} bytes)",
                    fixed.status_code,
                    content_type.as_deref().unwrap_or("(no content type)"),
                    body.len()
                ),
            );
            // The text's own bytes become the header value (no copy); one that is no valid
            // header value is left out, as before.
            let content_type =
                content_type.and_then(|ct| HeaderValue::from_maybe_shared(Bytes::from(ct)).ok());
            respond(ctx.clock, fixed.status_code, content_type, body)
        }
        Some(Action::Forward(group)) => forward(group, req, ctx).await,
        None => {
            ctx.trace
                .hop("alb", Verdict::Fail, "listener has no action: 503");
            error_page(ctx.clock, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

async fn forward(
    group: &TargetGroup,
    req: hyper::Request<Incoming>,
    ctx: &RequestContext<'_>,
) -> hyper::Response<Full<Bytes>> {
    // Without registered targets ALB answers 503
    // (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html>).
    let Some(target) = group.targets.first() else {
        ctx.trace.hop_fmt(
            "alb",
            Verdict::Refuse,
            format_args!("target group {} has no registered targets: 503", group.name),
        );
        return error_page(ctx.clock, StatusCode::SERVICE_UNAVAILABLE);
    };
    let (mut parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error_page(ctx.clock, StatusCode::BAD_REQUEST),
    };
    let headers = &mut parts.headers;
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {}", ctx.peer.ip()),
        None => ctx.peer.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    let proto = match ctx.protocol {
        Protocol::Http => "http",
        Protocol::Https => "https",
    };
    headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    headers.insert("x-forwarded-port", HeaderValue::from(ctx.listener_port));
    let req = hyper::Request::from_parts(parts, Full::new(body));
    let in_vpc = match (ctx.net.vpc(ctx.vpc_id), target.addr.ip()) {
        (Some(vpc), IpAddr::V4(ip)) => vpc.cidr.contains(&ip),
        _ => false,
    };
    let upstream = if in_vpc {
        // A target inside the VPC: the node's ENI connects through the virtual network, so the
        // node's egress and the target's ingress rules apply and the target sees the node's
        // address.
        let source = match ctx.net.eni_at(ctx.vpc_id, ctx.node_ip) {
            Some(eni) => Source::Eni(eni),
            None => Source::Outside {
                ip: ctx.node_ip,
                label: "load balancer node".into(),
            },
        };
        let connect = ctx.net.connect(&source, ctx.vpc_id, target.addr, ctx.trace);
        match tokio::time::timeout(TARGET_CONNECT_TIMEOUT, connect).await {
            Err(_) => {
                ctx.trace.hop_fmt(
                    "alb",
                    Verdict::Fail,
                    format_args!(
                        "target {} of {}: no connection within {} s: 504",
                        target.addr,
                        group.name,
                        TARGET_CONNECT_TIMEOUT.as_secs()
                    ),
                );
                return error_page(ctx.clock, StatusCode::GATEWAY_TIMEOUT);
            }
            Ok(Err(e)) => Ok(Err(std::io::Error::other(e))),
            Ok(Ok(stream)) => tokio::time::timeout(IDLE_TIMEOUT, exchange(stream, req)).await,
        }
    } else {
        tokio::time::timeout(IDLE_TIMEOUT, async {
            // Off the VPC, only a service on this machine's loopback is a target: vpcgate never
            // opens a connection to another host (the scenario loader refuses such targets too).
            if !target.addr.ip().is_loopback() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "target {} is neither in the VPC nor on this machine's loopback",
                        target.addr
                    ),
                ));
            }
            // A real socket to the user's own service: the virtual clock holds while it is open
            // (crate::clock), so a slow service is not timed out by skipped time.
            let _hold = ctx.clock.hold();
            let stream = tokio::net::TcpStream::connect(target.addr).await?;
            exchange(stream, req).await
        })
        .await
    };
    match upstream {
        Ok(Ok(resp)) => {
            ctx.trace.pass_fmt(
                "alb",
                format_args!(
                    "forwarded to target {} of {}: {}",
                    target.addr,
                    group.name,
                    resp.status()
                ),
            );
            resp
        }
        Ok(Err(e)) => {
            // A target that refuses or resets the connection gives 502
            // (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html#http-502-issues>).
            ctx.trace.hop_fmt(
                "alb",
                Verdict::Fail,
                format_args!("target {} of {}: {e}: 502", target.addr, group.name),
            );
            error_page(ctx.clock, StatusCode::BAD_GATEWAY)
        }
        Err(_) => {
            ctx.trace.hop_fmt(
                "alb",
                Verdict::Fail,
                format_args!(
                    "target {} of {} sent nothing for {}s: 504",
                    target.addr,
                    group.name,
                    IDLE_TIMEOUT.as_secs()
                ),
            );
            error_page(ctx.clock, StatusCode::GATEWAY_TIMEOUT)
        }
    }
}

/// One HTTP/1.1 exchange with a target over `stream`.
async fn exchange<S>(
    stream: S,
    req: hyper::Request<Full<Bytes>>,
) -> std::io::Result<hyper::Response<Full<Bytes>>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let resp = sender
        .send_request(req)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(hyper::Response::from_parts(parts, Full::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded against an ALB with no healthy target (`Server: awselb/2.0`):
    /// `HTTP/1.1 503 Service Temporarily Unavailable`, `Content-Type: text/html`,
    /// `Content-Length: 162`, nginx's page with CRLF line ends.
    #[test]
    fn the_503_page_is_albs_service_temporarily_unavailable_of_162_bytes() {
        let clock = Clock::pinned(std::time::SystemTime::UNIX_EPOCH);
        let resp = error_page(&clock, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.status(), 503);
        assert_eq!(
            resp.extensions()
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| r.as_bytes()),
            Some(&b"Service Temporarily Unavailable"[..])
        );
        assert_eq!(resp.headers()[http::header::CONTENT_LENGTH], "162");
        assert_eq!(resp.headers()[http::header::SERVER], "awselb/2.0");
        assert_eq!(resp.headers()[http::header::CONTENT_TYPE], "text/html");
        let page = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";
        let body = futures::executor::block_on(http_body_util::BodyExt::collect(resp.into_body()))
            .unwrap()
            .to_bytes();
        assert_eq!(body, page.as_bytes());
    }

    /// A 502 keeps the specification's words, which are ALB's too; a 504 is nginx's `Gateway Time-out`.
    #[test]
    fn the_502_and_504_pages_use_albs_words() {
        let clock = Clock::pinned(std::time::SystemTime::UNIX_EPOCH);
        let bad = error_page(&clock, StatusCode::BAD_GATEWAY);
        assert!(bad.extensions().get::<hyper::ext::ReasonPhrase>().is_none());
        assert_eq!(bad.headers()[http::header::CONTENT_LENGTH], "122");
        let slow = error_page(&clock, StatusCode::GATEWAY_TIMEOUT);
        let body = futures::executor::block_on(http_body_util::BodyExt::collect(slow.into_body()))
            .unwrap()
            .to_bytes();
        assert!(
            String::from_utf8_lossy(&body).contains("<title>504 Gateway Time-out</title>"),
            "{body:?}"
        );
    }
}
