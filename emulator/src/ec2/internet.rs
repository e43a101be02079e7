//! "The internet": the public endpoints of the emulated AWS services, and nothing else.
//!
//! Public names (`states.<region>.amazonaws.com`, `sync-states.…`, `events.…`,
//! `apigateway.<region>.amazonaws.com` — API Gateway's control plane —, `secretsmanager.…`, and
//! `<api-id>.execute-api.<region>.amazonaws.com` of every REST API that is not PRIVATE) resolve,
//! from any VPC, to addresses of 198.51.100.0/24 (TEST-NET-2). A connection to port 443 of one of
//! them is served in memory by a TLS listener (certificates of the emulated public CA) that hands
//! the plaintext HTTP to the emulated service ([`super::Services`], which `serve`'s edge
//! implements): the JSON APIs and the control plane, API Gateway's data plane for `execute-api`. Nothing ever leaves the machine: any
//! other address of the internet swallows the SYN.
//!
//! Reaching the internet at all is the route table's business ([`super::route`]): a subnet needs a
//! route to an internet gateway (and a public address), to a NAT gateway or to a NAT instance.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::DuplexStream;

use super::{Arrival, Listening, StartError};
use crate::pki::Pki;
use crate::trace::{Trace, Verdict};

/// Largest request body the endpoints read (API Gateway's payload limit, 10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Buffer of each direction of an in-memory connection to a public endpoint.
const STREAM_BUFFER: usize = 64 * 1024;

/// What serves the HTTP behind a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `serve`'s edge: Step Functions, EventBridge (JSON protocols), API Gateway's control plane.
    Aws,
    /// API Gateway's data plane only.
    ExecuteApi,
}

/// One public service endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicService {
    /// The label before `.<region>.amazonaws.com`.
    pub label: &'static str,
    /// Its public address.
    pub ip: Ipv4Addr,
    /// What answers.
    pub target: Target,
}

/// The emulated internet.
#[derive(Debug)]
pub struct Internet {
    services: Vec<PublicService>,
    shared: Arc<Listening>,
}

/// The TLS configuration of the service endpoints (public and interface): one certificate of the
/// emulated public CA naming every service's public name, `*.execute-api.<region>.amazonaws.com`
/// and the endpoints' `*.<service>.<region>.vpce.amazonaws.com` names.
pub(crate) fn server_config(
    pki: &Pki,
    region: &str,
) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let mut names = Vec::new();
    for label in [
        "states",
        "sync-states",
        "events",
        "apigateway",
        "secretsmanager",
        "execute-api",
    ] {
        names.push(format!("{label}.{region}.amazonaws.com"));
        names.push(format!("*.{label}.{region}.vpce.amazonaws.com"));
    }
    names.push(format!("*.execute-api.{region}.amazonaws.com"));
    let cert = pki.issue(&names)?;
    let mut config = rustls::ServerConfig::builder_with_provider(pki.provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneCertificate(cert.certified.clone())));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Answers every handshake with the one certificate (the client checks the names).
#[derive(Debug)]
struct OneCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl Internet {
    pub(crate) fn new(shared: Arc<Listening>) -> Self {
        let s = |label, last, target| PublicService {
            label,
            ip: Ipv4Addr::new(198, 51, 100, last),
            target,
        };
        Self {
            services: vec![
                s("states", 10, Target::Aws),
                s("sync-states", 11, Target::Aws),
                s("events", 12, Target::Aws),
                s("apigateway", 13, Target::Aws),
                s("secretsmanager", 14, Target::Aws),
                s("execute-api", 20, Target::ExecuteApi),
            ],
            shared,
        }
    }

    /// The public services.
    pub fn services(&self) -> &[PublicService] {
        &self.services
    }

    /// The service with this label.
    pub fn service(&self, label: &str) -> Option<&PublicService> {
        self.services.iter().find(|s| s.label == label)
    }

    /// The service at this address.
    pub fn service_at(&self, ip: IpAddr) -> Option<&PublicService> {
        self.services.iter().find(|s| IpAddr::V4(s.ip) == ip)
    }

    /// Opens a connection from `source` (a public address) to `dst`. Only port 443 of a service
    /// address answers; anything else on the internet never does (the future never completes).
    pub async fn connect(
        &self,
        source: SocketAddr,
        dst: SocketAddr,
        trace: &Trace,
    ) -> DuplexStream {
        let Some(service) = self.service_at(dst.ip()).filter(|_| dst.port() == 443) else {
            trace.hop(
                "internet",
                Verdict::Drop,
                format!(
                    "nothing on the emulated internet answers at {dst}: the SYN goes unanswered"
                ),
            );
            return std::future::pending().await;
        };
        trace.pass(
            "internet",
            format!(
                "{}.{}.amazonaws.com ({dst}) accepted a connection from {source}",
                service.label, self.shared.region
            ),
        );
        let (client, server) = tokio::io::duplex(STREAM_BUFFER);
        tokio::spawn(serve_tls(
            server,
            self.shared.clone(),
            Arrival::Internet {
                source_ip: source.ip(),
            },
            service.target,
            trace.clone(),
        ));
        client
    }
}

type Body = Full<Bytes>;

fn plain(status: u16, body: &str) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

/// Serves one TLS connection of a service endpoint: HTTP/1.1 requests, each handed to the
/// service with `arrival` and `trace` in its extensions.
pub(crate) async fn serve_tls(
    stream: DuplexStream,
    shared: Arc<Listening>,
    arrival: Arrival,
    target: Target,
    trace: Trace,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(shared.tls.clone());
    let stream = match acceptor.accept(stream).await {
        Ok(s) => s,
        Err(e) => {
            trace.hop("tls", Verdict::Fail, format!("handshake failed: {e}"));
            return;
        }
    };
    let sni = stream.get_ref().1.server_name().unwrap_or("").to_string();
    trace.pass(
        "tls",
        format!("handshake done (SNI {sni}, certificate of the emulated public CA)"),
    );
    let service = service_fn(move |req: http::Request<Incoming>| {
        let shared = shared.clone();
        let arrival = arrival.clone();
        let trace = trace.clone();
        async move {
            Ok::<_, std::convert::Infallible>(dispatch(&shared, arrival, target, trace, req).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn dispatch(
    shared: &Listening,
    arrival: Arrival,
    target: Target,
    trace: Trace,
    req: http::Request<Incoming>,
) -> http::Response<Body> {
    let region = &shared.region;
    let Some(services) = shared.slot.get() else {
        return plain(
            503,
            r#"{"message":"vpcgate: the emulated services are not attached to this endpoint (Ec2::attach)"}"#,
        );
    };
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(413, r#"{"message":"Request Too Long"}"#),
    };
    trace.info(
        "http",
        format!(
            "{} {} (Host {})",
            parts.method,
            parts.uri,
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
        ),
    );
    parts.extensions.insert(arrival.clone());
    parts.extensions.insert(trace.clone());
    match target {
        Target::ExecuteApi => {
            let mut req = http::Request::from_parts(parts, body);
            super::endpoint::normalize_execute_api(&mut req, region, &trace);
            services.execute_api(req).await
        }
        Target::Aws => {
            if let Arrival::Endpoint {
                policy: Some(policy),
                ..
            } = &arrival
            {
                // The Region of the endpoint the request was sent to.
                let mut context =
                    crate::iam::RequestContext::for_request(shared.clock.now_utc(), region);
                arrival.apply(&mut context);
                if let Some(message) =
                    super::endpoint::json_gate(&shared.iam, &parts, &body, policy, &context, &trace)
                {
                    let version = if parts
                        .headers
                        .get("x-amz-target")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|t| t.starts_with("AWSStepFunctions."))
                    {
                        "1.0"
                    } else {
                        "1.1"
                    };
                    return services.access_denied(version, message);
                }
            }
            services.aws(parts, body).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{Directory, IamConfig};
    use crate::clock::Clock;
    use crate::ec2::{ServiceFuture, ServiceSlot, Services};

    /// Services that answer with what they were asked.
    struct Echo;

    impl Services for Echo {
        fn execute_api(self: Arc<Self>, req: http::Request<Bytes>) -> ServiceFuture {
            let host = req.headers()[http::header::HOST]
                .to_str()
                .unwrap()
                .to_string();
            Box::pin(async move { http::Response::new(Full::new(Bytes::from(host))) })
        }

        fn aws(self: Arc<Self>, _: http::request::Parts, _: Bytes) -> ServiceFuture {
            Box::pin(async { http::Response::new(Full::new(Bytes::from("aws"))) })
        }

        fn access_denied(&self, _: &str, message: String) -> http::Response<Full<Bytes>> {
            http::Response::new(Full::new(Bytes::from(message)))
        }
    }

    /// `GET /` to `host` at `ip` (443) from a public address, over TLS trusting the CA.
    async fn get(internet: &Internet, pki: &Pki, ip: Ipv4Addr, host: &str) -> (u16, String) {
        let stream = internet
            .connect(
                "192.0.2.10:49152".parse().unwrap(),
                SocketAddr::new(IpAddr::V4(ip), 443),
                &Trace::disabled(),
            )
            .await;
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
        let tls = tokio_rustls::TlsConnector::from(pki.client_config())
            .connect(name, stream)
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get("/")
            .header(http::header::HOST, host)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_endpoints_answer_with_the_attached_services_only_while_they_live() {
        let clock = Clock::system();
        let pki = Pki::new(&clock).unwrap();
        let slot = ServiceSlot::default();
        let region = "ap-northeast-1";
        let iam = Directory::new(IamConfig {
            account: "123456789012",
            roles: &[],
            users: &[],
            managed_policies: &[],
        })
        .unwrap();
        let internet = Internet::new(Arc::new(Listening {
            tls: server_config(&pki, region).unwrap(),
            slot: slot.clone(),
            region: region.into(),
            iam: Arc::new(iam),
            clock,
        }));
        let execute_api = internet.service("execute-api").unwrap().ip;
        let states = internet.service("states").unwrap().ip;
        let api_host = "abc1234567.execute-api.ap-northeast-1.amazonaws.com";
        let (status, body) = get(&internet, &pki, execute_api, api_host).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("not attached"), "{body}");

        let services: Arc<dyn Services> = Arc::new(Echo);
        slot.set(Arc::downgrade(&services));
        assert_eq!(
            get(&internet, &pki, execute_api, api_host).await,
            (200, api_host.to_string())
        );
        let states_host = "states.ap-northeast-1.amazonaws.com";
        assert_eq!(
            get(&internet, &pki, states, states_host).await,
            (200, "aws".to_string())
        );

        drop(services);
        assert_eq!(get(&internet, &pki, states, states_host).await.0, 503);
    }
}
