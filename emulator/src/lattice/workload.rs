//! Instances as Lattice clients and targets, and the small echo servers that stand for the
//! services running on them.
//!
//! vpcgate's test aid, not an AWS feature. An `AWS::EC2::Instance` gets one ENI in its `SubnetId`
//! with its `SecurityGroupIds` (and `PrivateIpAddress` is ignored: ENIs take the subnet's next
//! free address). A `Vpcgate.Lattice.Workloads` entry puts an echo server on an instance's port:
//! every request is answered `200` with a JSON body naming the workload, the method, the path and
//! the request headers (so a case can see what Lattice added), except the health paths, which
//! answer `HealthStatus` (default 200; set 500 to make health checks fail).
//!
//! When the project's own `AWS::EC2::Instance` support lands, the ENI part moves there.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::lattice::target_group::Protocol;
use crate::pki::IssuedCertificate;
use crate::vpc::{Eni, Inbound, Network};

/// An EC2 instance, reduced to what the network sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// What `Ref` returns (an `i-…` id once instances are emulated; a placeholder before).
    pub reference: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// `SecurityGroupIds`.
    pub security_groups: Vec<String>,
}

/// An echo server on an instance (`Vpcgate.Lattice.Workloads[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// The instance's logical id.
    pub instance: String,
    /// The port it listens on.
    pub port: u16,
    /// HTTP or HTTPS (a certificate from the emulated CA for the instance's address).
    pub protocol: Protocol,
    /// Paths answered with `health_status` (default `/health`).
    pub health_paths: Vec<String>,
    /// The status of the health paths (default 200).
    pub health_status: u16,
}

/// A running workload; its health answer can be changed while it runs.
#[derive(Debug)]
pub struct Workload {
    /// Its configuration.
    pub config: WorkloadConfig,
    health_status: AtomicU16,
    requests: std::sync::atomic::AtomicU32,
}

impl Workload {
    /// Changes the status the health paths answer with.
    pub fn set_health_status(&self, status: u16) {
        self.health_status.store(status, Ordering::SeqCst);
    }

    /// How many requests (health checks excluded) reached it.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Starts `config` on `eni`; returns the handle and the accept loop to spawn.
pub fn start(
    net: &Network,
    eni: &Eni,
    config: WorkloadConfig,
    certificate: Option<Arc<IssuedCertificate>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> (
    Arc<Workload>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let workload = Arc::new(Workload {
        health_status: AtomicU16::new(config.health_status),
        requests: std::sync::atomic::AtomicU32::new(0),
        config,
    });
    let tls = match (workload.config.protocol, certificate) {
        (Protocol::Https, Some(cert)) => {
            let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Fixed(cert.certified.clone())));
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
        }
        _ => None,
    };
    let w = workload.clone();
    // Served on the dialler's runtime (vpc::Network::serve); listens while `run` runs.
    let serving = net.serve(eni, workload.config.port, move |inbound| {
        tokio::spawn(serve(w.clone(), tls.clone(), inbound));
    });
    let run = async move {
        let _serving = serving;
        std::future::pending::<()>().await
    };
    (workload, run)
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

async fn serve(w: Arc<Workload>, tls: Option<tokio_rustls::TlsAcceptor>, inbound: Inbound) {
    let peer = inbound.peer;
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let w = w.clone();
        async move { Ok::<_, Infallible>(answer(&w, req, peer).await) }
    });
    let builder = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .clone();
    match tls {
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(inbound.stream).await {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        }
        None => {
            let _ = builder
                .serve_connection(TokioIo::new(inbound.stream), service)
                .await;
        }
    }
}

async fn answer(
    w: &Workload,
    req: hyper::Request<hyper::body::Incoming>,
    peer: std::net::SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if w.config.health_paths.iter().any(|p| p == &path) {
        let status = w.health_status.load(Ordering::SeqCst);
        return hyper::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "text/plain")
            .body(Full::new(Bytes::from(if status < 400 {
                "ok"
            } else {
                "unhealthy"
            })))
            .expect("static parts");
    }
    w.requests.fetch_add(1, Ordering::SeqCst);
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or(path);
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let json = serde_json::json!({
        "workload": w.config.instance,
        "peer": peer.to_string(),
        "method": method,
        "path": target,
        "headers": headers,
        "body": body,
    });
    hyper::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(json.to_string())))
        .expect("static parts")
}
