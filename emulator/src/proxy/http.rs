//! The HTTP proxy of an instance: `CONNECT host:port` tunnels and absolute-URI requests.
//!
//! A `CONNECT` is answered `200 Connection established` once the connection from the instance is
//! open, and the bytes then flow both ways untouched (the client's TLS runs end to end with the
//! emulated service). When the connection fails at once the proxy answers `502 Bad Gateway` — a
//! gateway that could not get a valid answer from the origin (RFC 9110 §15.6.3) — with the reason
//! in the body and in `X-Vpcgate-Error` (`NXDOMAIN`, `REFUSED`, …); curl reports "CONNECT tunnel
//! failed, response 502" (exit 56, measured with curl 7.88). When the
//! VPC drops the connection the proxy does not answer at all: the client's own time-out fires,
//! as it would inside the VPC.
//!
//! An absolute-URI request (`GET http://host/path HTTP/1.1`) is sent from the instance and the
//! response relayed; hop-by-hop headers (`Proxy-Connection`, `Proxy-Authorization`, …) are not
//! passed on (RFC 9110 §7.6.1).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::Worlds;
use crate::dns::ResolveError;
use crate::ec2::{Fabric, Instance, OpenError};
use crate::trace::Trace;

type Body = Full<Bytes>;

/// Serves the proxy on `listener` for `instance` until the runtime stops.
pub(crate) async fn run<W: Worlds>(listener: TcpListener, edge: Arc<W>, instance: Arc<Instance>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let edge = edge.clone();
        let instance = instance.clone();
        tokio::spawn(async move {
            // A real client tunnelled into the VPC: the virtual clock holds while it is connected.
            let _hold = edge.current().clock().hold();
            let service = service_fn(move |req| {
                let edge = edge.clone();
                let instance = instance.clone();
                async move { Ok::<_, Infallible>(handle(edge, instance, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn answer(status: u16, error: &str, message: String) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("x-vpcgate-error", error)
        .body(Full::new(Bytes::from(format!("{message}\n"))))
        .expect("static response parts are valid")
}

/// The error code and text of a failed connection, for the 502 answer.
pub(crate) fn describe(e: &OpenError) -> (&'static str, String) {
    let code = match e {
        OpenError::Resolve(ResolveError::NxDomain { .. } | ResolveError::NoData { .. }) => {
            "NXDOMAIN"
        }
        OpenError::Resolve(_) | OpenError::NoResolver { .. } => "RESOLVE",
        OpenError::Refused(_) | OpenError::Lattice { .. } => "REFUSED",
        OpenError::Tls { .. } => "TLS",
        OpenError::InvalidRequest { .. } | OpenError::Http { .. } => "HTTP",
    };
    (code, format!("vpcgate: {e}"))
}

async fn handle<W: Worlds>(
    edge: Arc<W>,
    instance: Arc<Instance>,
    req: http::Request<Incoming>,
) -> http::Response<Body> {
    let (world, instance, label) = super::current(&*edge, instance);
    let trace = Trace::new();
    if req.method() == http::Method::CONNECT {
        let Some(authority) = req.uri().authority().cloned() else {
            return answer(
                400,
                "BAD_REQUEST",
                "vpcgate: CONNECT needs host:port".into(),
            );
        };
        let host = authority.host().to_string();
        // A CONNECT names its port (RFC 9110 §9.3.6: "host:port"); none, 0 or past 65535 is a
        // bad request, never a guess.
        let Some(port) = authority.port_u16().filter(|p| *p != 0) else {
            return answer(
                400,
                "BAD_REQUEST",
                format!(
                    "vpcgate: CONNECT needs host:port with a port from 1 to 65535, got {:?}",
                    crate::sigv4::echo(authority.as_str())
                ),
            );
        };
        tracing::info!("proxy {label}: CONNECT {host}:{port}");
        match crate::ec2::connect(&world, &instance, &host, port, &trace).await {
            Ok(mut stream) => {
                tokio::spawn(async move {
                    if let Ok(upgraded) = hyper::upgrade::on(req).await {
                        let mut client = TokioIo::new(upgraded);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut stream).await;
                    }
                    tracing::debug!("proxy tunnel to {host}:{port} closed:\n{}", trace.render());
                });
                http::Response::builder()
                    .status(200)
                    .body(Full::new(Bytes::new()))
                    .expect("static response parts are valid")
            }
            Err(e) => {
                let (code, message) = describe(&e);
                tracing::info!("proxy {label}: CONNECT {host}:{port} failed: {message}");
                answer(502, code, message)
            }
        }
    } else {
        if req.uri().scheme().is_none() {
            return answer(
                400,
                "BAD_REQUEST",
                "vpcgate: this is an HTTP proxy: send CONNECT host:port or an absolute URI (http://host/path)"
                    .into(),
            );
        }
        tracing::info!("proxy {label}: {} {}", req.method(), req.uri());
        let (mut parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return answer(400, "BAD_REQUEST", format!("vpcgate: {e}")),
        };
        for name in [
            "proxy-connection",
            "proxy-authorization",
            "connection",
            "keep-alive",
            "te",
            "trailer",
            "upgrade",
        ] {
            parts.headers.remove(name);
        }
        let out = http::Request::from_parts(parts, body);
        match crate::ec2::request(&world, &instance, out, &trace).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                http::Response::from_parts(parts, Full::new(body))
            }
            Err(e) => {
                let (code, message) = describe(&e);
                answer(502, code, message)
            }
        }
    }
}
