//! `vpcgate serve`: AWS's wire protocols on one host listener, for real clients.
//!
//! One listener (default `127.0.0.1:4566`) serves, by AWS's own protocol rules:
//! - Step Functions (`awsJson1_0`, `X-Amz-Target: AWSStepFunctions.<Operation>`) — [`sfn_api`];
//! - EventBridge connections (`awsJson1_1`, `X-Amz-Target: AWSEvents.<Operation>`) — [`events_api`];
//! - vpcgate's own endpoints under `/_vpcgate/` (health, the emulated root CA, the world's summary).
//!
//! API requests are SigV4-verified against the account's keys (the root's documented example key
//! and the scenario's IAM users' keys) on the world's clock, and authorized with IAM for users;
//! `--no-sigv4` turns that off for quick local use. StartSyncExecution is answered whatever the
//! Host header (botocore sends it to `sync-<host>`).

pub mod apigw_api;
pub mod events_api;
pub mod sfn_api;
pub mod wire;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::iam::{DenialFormat, Principal, RequestContext};
use crate::model::StateMachine;
use crate::sfn::execution::Executions;
use crate::sigv4::{self, Credentials, SigV4Error, VerifyPolicy};
use crate::world::World;
use wire::{Body, JsonError};

/// Largest request body accepted (Step Functions inputs are at most 256 KiB; API Gateway 10 MB).
const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// How `serve` checks callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Verify SigV4 and authorize with IAM (the default).
    #[default]
    Verify,
    /// Accept any request as the account root (`--no-sigv4`).
    Off,
}

/// A state machine known to `serve`: the scenario's, or one created through the API.
#[derive(Clone, Debug)]
pub struct StateMachineEntry {
    /// The state machine.
    pub machine: StateMachine,
    /// `creationDate`.
    pub created: SystemTime,
    /// Description, logging, tracing … as sent to CreateStateMachine.
    pub extra: Value,
}

/// Everything `serve` answers from.
#[derive(Debug)]
pub struct Edge {
    /// The running world.
    pub world: World,
    /// Executions started through the API.
    pub executions: Arc<Executions>,
    /// State machines by ARN.
    pub state_machines: RwLock<BTreeMap<String, StateMachineEntry>>,
    /// Connection creation times by name.
    pub connection_times: RwLock<BTreeMap<String, SystemTime>>,
    /// How callers are checked.
    pub auth: AuthMode,
    /// API Gateway's data plane (`{api-id}.execute-api.{region}.amazonaws.com/{stage}/…` by Host,
    /// or `/restapis/{api-id}/{stage}/_user_request_/…`).
    pub apigw: crate::apigw::ApiGatewayService,
    /// How `/_vpcgate/*` answers ([`LocalEndpoint`]).
    pub local: LocalEndpoint,
}

/// The rules of vpcgate's own endpoints (`/_vpcgate/*`): answered only for a loopback `Host`
/// (`localhost`, `127.0.0.1`, `[::1]`, or the address `serve` listens on), so a page in the
/// user's browser cannot read them through DNS rebinding; secret access keys only with
/// `--expose-secrets`.
#[derive(Clone, Debug, Default)]
pub struct LocalEndpoint {
    /// `/_vpcgate/world` includes the scenario users' secret access keys.
    pub expose_secrets: bool,
    /// The address `serve` listens on (its host is accepted as a `Host`, too).
    pub listen: Option<SocketAddr>,
}

impl LocalEndpoint {
    /// Whether a request with this `Host` header may read `/_vpcgate/*`.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            // HTTP/1.0 clients without Host: only a local process can reach a loopback listener.
            return true;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match name.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_loopback() => true,
            Ok(ip) => self.listen.is_some_and(|l| l.ip() == ip),
            Err(_) => false,
        }
    }
}

impl Edge {
    /// The edge of a world.
    pub fn new(world: World, auth: AuthMode) -> Self {
        let now = world.clock.now();
        let state_machines = world
            .model
            .state_machines
            .iter()
            .map(|m| {
                (
                    m.arn.clone(),
                    StateMachineEntry {
                        machine: m.clone(),
                        created: now,
                        extra: json!({}),
                    },
                )
            })
            .collect();
        let connection_times = world
            .model
            .connections
            .iter()
            .map(|c| (c.name.clone(), now))
            .collect();
        let apigw = crate::apigw::service(&world);
        Self {
            world,
            executions: Arc::new(Executions::new()),
            state_machines: RwLock::new(state_machines),
            connection_times: RwLock::new(connection_times),
            auth,
            apigw,
            local: LocalEndpoint::default(),
        }
    }

    /// The same edge with these rules for `/_vpcgate/*`.
    pub fn with_local(mut self, local: LocalEndpoint) -> Self {
        self.local = local;
        self
    }

    /// Authenticates a signed request for `service`; returns the caller.
    fn authenticate(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        service: &str,
    ) -> Result<Principal, SigV4Error> {
        let account = self.world.model.account.clone();
        if self.auth == AuthMode::Off {
            return Ok(Principal::root(account));
        }
        let policy = VerifyPolicy {
            service: service.to_string(),
            region: Some(self.world.model.region.clone()),
            ..VerifyPolicy::execute_api(&self.world.model.region)
        };
        let store = self.world.iam.credentials();
        let verified = sigv4::verify(
            &sigv4::Incoming::from_parts(parts, body),
            self.world.clock.now(),
            &policy,
            |key| {
                store.lookup(key).map(|r| Credentials {
                    access_key_id: key.to_string(),
                    secret_access_key: r.secret_access_key.expose().to_string(),
                    session_token: r.session_token.as_ref().map(|t| t.expose().to_string()),
                })
            },
        )?;
        Ok(store
            .lookup(&verified.access_key_id)
            .map(|r| r.principal)
            .unwrap_or(Principal::Anonymous))
    }

    /// Authorizes an API action for a caller (root: always; users and sessions: their policies).
    pub fn authorize(
        &self,
        principal: &Principal,
        action: &str,
        resource: &str,
    ) -> Result<(), JsonError> {
        if matches!(principal, Principal::Root { .. }) {
            return Ok(());
        }
        let mut ctx = RequestContext::new();
        ctx.set_current_time(self.world.clock.now_utc());
        self.world
            .iam
            .authorize(
                principal,
                action,
                resource,
                &ctx,
                None,
                &[],
                DenialFormat::PolicyType,
                &crate::trace::Trace::disabled(),
            )
            .map(|_| ())
            .map_err(|d| JsonError::client("AccessDeniedException", d.message))
    }
}

/// The JSON-protocol error for a signature problem (JSON services answer 400; an unknown key is
/// `UnrecognizedClientException` there).
fn sigv4_json_error(e: &SigV4Error) -> JsonError {
    let code = match e {
        SigV4Error::UnknownAccessKey { .. } => "UnrecognizedClientException",
        other => other.error_type(),
    };
    JsonError::client(code, e.message())
}

fn plain(status: u16, content_type: &str, body: impl Into<Bytes>) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

/// How long a client has to send a request's body once its headers are in (vpcgate's choice:
/// API Gateway's own integration limit is 29 s; a body trickled slower is refused with 408).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The largest request header section `serve` reads (hyper answers 431 past it). API Gateway's
/// own limit on the request line and headers together is 10240 bytes; vpcgate allows more for
/// long SigV4 session tokens.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The wire protocol a request is for, from its headers: errors met before the request is routed
/// (body too large, unreadable, too slow) come back in that protocol's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// `X-Amz-Target: AWSStepFunctions.*` (JSON 1.0) or `AWSEvents.*` (JSON 1.1).
    Json(&'static str),
    /// Everything else: API Gateway's data plane, `/_vpcgate/*`.
    Rest,
}

fn protocol(parts: &http::request::Parts) -> Protocol {
    match parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(t) if t.starts_with("AWSEvents.") => Protocol::Json("1.1"),
        Some(_) => Protocol::Json("1.0"),
        None => Protocol::Rest,
    }
}

/// A request that could not be read, in its protocol's shape.
fn unreadable(protocol: Protocol, why: Unreadable) -> http::Response<Body> {
    let (status, code, message) = match why {
        // API Gateway (REST) past 10 MB: `413`, `content-type: text; charset=utf-8`,
        // "HTTP content length exceeded 10485760 bytes." (a response captured from a REST API in
        // koki-develop/lgtm-generator#10). The JSON services' front end: 413 too (vpcgate's
        // choice of error name, as for any JSON service: SerializationException is a 400).
        Unreadable::TooLarge => (
            413,
            "RequestEntityTooLargeException",
            format!("HTTP content length exceeded {MAX_REQUEST_BODY} bytes."),
        ),
        Unreadable::Malformed(e) => (
            400,
            "SerializationException",
            format!("the request body could not be read: {e}"),
        ),
        Unreadable::HeadersTooLarge => (
            431,
            "RequestHeaderFieldsTooLargeException",
            format!("the request line and headers exceed {MAX_HEADER_BYTES} bytes"),
        ),
        Unreadable::TooSlow => (
            408,
            "RequestTimeoutException",
            format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        ),
    };
    match protocol {
        Protocol::Json(version) => {
            let e = JsonError {
                status,
                ..JsonError::client(code, message)
            };
            wire::error(version, &e)
        }
        Protocol::Rest if status == 413 => plain(413, "text; charset=utf-8", message),
        Protocol::Rest => plain(
            status,
            "application/json",
            json!({ "message": message }).to_string(),
        ),
    }
}

enum Unreadable {
    TooLarge,
    HeadersTooLarge,
    Malformed(String),
    TooSlow,
}

/// Reads a request body: at most [`MAX_REQUEST_BODY`] bytes, within [`BODY_READ_TIMEOUT`].
async fn read_body(parts: &http::request::Parts, body: Incoming) -> Result<Bytes, Unreadable> {
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) {
        return Err(Unreadable::TooLarge);
    }
    match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_REQUEST_BODY).collect(),
    )
    .await
    {
        Err(_) => Err(Unreadable::TooSlow),
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Unreadable::TooLarge),
        Ok(Err(e)) => Err(Unreadable::Malformed(e.to_string())),
    }
}

/// Handles one request.
pub async fn handle(edge: Arc<Edge>, req: http::Request<Incoming>) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    // hyper bounds the header section it buffers only loosely (one large read can carry it whole):
    // count it here.
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + parts.uri.to_string().len();
    if header_bytes > MAX_HEADER_BYTES {
        return unreadable(protocol(&parts), Unreadable::HeadersTooLarge);
    }
    let body = match read_body(&parts, body).await {
        Ok(b) => b,
        Err(why) => return unreadable(protocol(&parts), why),
    };
    handle_parts(edge, parts, body).await
}

/// Handles one request whose body is already read (the VPC endpoints' and public endpoints'
/// listeners call this, [`crate::ec2`]).
pub async fn handle_parts(
    edge: Arc<Edge>,
    parts: http::request::Parts,
    body: Bytes,
) -> http::Response<Body> {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = parts.uri.path().to_string();
    let started = tokio::time::Instant::now();
    let (label, resp) = match target.as_deref() {
        Some(t) if t.starts_with("AWSStepFunctions.") => {
            let op = &t["AWSStepFunctions.".len()..];
            (
                format!("states {op}"),
                json_api(&edge, &parts, &body, "1.0", "states", op, sfn_api::call).await,
            )
        }
        Some(t) if t.starts_with("AWSEvents.") => {
            let op = &t["AWSEvents.".len()..];
            (
                format!("events {op}"),
                json_api(&edge, &parts, &body, "1.1", "events", op, events_api::call).await,
            )
        }
        Some(t) => (
            format!("unknown target {t}"),
            wire::error(
                "1.0",
                &JsonError::client(
                    "UnknownOperationException",
                    format!("vpcgate does not emulate {t}"),
                ),
            ),
        ),
        None => {
            let req = http::Request::from_parts(parts, body);
            if apigw_api::is_control_plane(req.uri().path()) && crate::apigw::locate(&req).is_none()
            {
                // API Gateway's control plane (apigateway.<region>.amazonaws.com).
                let (parts, body) = req.into_parts();
                (
                    format!("apigateway {} {}", parts.method, parts.uri.path()),
                    apigw_api::handle(&edge, &parts, &body),
                )
            } else if crate::apigw::locate(&req).is_some() {
                let label = format!("execute-api {} {}", req.method(), req.uri().path());
                let resp = edge.apigw.handle(req).await;
                let (p, b) = resp.into_parts();
                (label, http::Response::from_parts(p, Full::new(b)))
            } else {
                let host = req
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .or(req.uri().authority().map(|a| a.as_str()));
                let resp = if path.starts_with("/_vpcgate/") && !edge.local.host_allowed(host) {
                    plain(
                        403,
                        "application/json",
                        json!({"message": "vpcgate: /_vpcgate/ answers only for a loopback Host (localhost, 127.0.0.1, [::1]) or the address serve listens on"}).to_string(),
                    )
                } else {
                    local(&edge, req.method(), &path)
                };
                (format!("{} {path}", req.method()), resp)
            }
        }
    };
    tracing::info!(
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "{label}"
    );
    resp
}

type ApiFn = for<'a> fn(
    &'a Arc<Edge>,
    &'a Principal,
    &'a str,
    Value,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<Value, JsonError>> + Send + 'a>,
>;

async fn json_api(
    edge: &Arc<Edge>,
    parts: &http::request::Parts,
    body: &Bytes,
    version: &str,
    service: &str,
    op: &str,
    call: ApiFn,
) -> http::Response<Body> {
    let principal = match edge.authenticate(parts, body, service) {
        Ok(p) => p,
        Err(e) => return wire::error(version, &sigv4_json_error(&e)),
    };
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return wire::error(
                    version,
                    &JsonError::client(
                        "SerializationException",
                        "the request body must be a JSON object",
                    ),
                );
            }
            Err(e) => {
                return wire::error(
                    version,
                    &JsonError::client(
                        "SerializationException",
                        format!("the request body is not valid JSON: {e}"),
                    ),
                );
            }
        }
    };
    match call(edge, &principal, op, input).await {
        Ok(v) => wire::ok(version, &v),
        Err(e) => wire::error(version, &e),
    }
}

fn local(edge: &Edge, method: &http::Method, path: &str) -> http::Response<Body> {
    match (method.as_str(), path) {
        ("GET", "/_vpcgate/health") => plain(200, "application/json", json!({"status": "ok"}).to_string()),
        ("GET", "/_vpcgate/ca.pem") => plain(200, "application/x-pem-file", edge.world.pki.root_pem()),
        ("GET", "/_vpcgate/world") => {
            let w = &edge.world;
            let doc = json!({
                "region": w.model.region,
                "accountId": w.model.account,
                "stateMachines": w.model.state_machines.iter().map(|s| json!({"name": s.name, "arn": s.arn, "type": s.kind.as_str()})).collect::<Vec<_>>(),
                "connections": w.model.connections.iter().map(|c| json!({"name": c.name, "arn": c.arn, "resourceConfigurationArn": c.resource_configuration_arn})).collect::<Vec<_>>(),
                "loadBalancers": w.load_balancer_nodes().into_iter().map(|(dns, ips)| json!({"dnsName": dns, "nodes": ips.iter().map(ToString::to_string).collect::<Vec<_>>()})).collect::<Vec<_>>(),
                "users": w.model.users.iter().map(|u| json!({
                    "name": u.name, "arn": u.arn,
                    "accessKeys": u.access_keys.iter().map(|(id, secret)| if edge.local.expose_secrets {
                        json!({"accessKeyId": id, "secretAccessKey": secret})
                    } else {
                        json!({"accessKeyId": id})
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "restApis": w.model.apigw.rest_apis.iter().map(|a| json!({
                    "id": a.id, "name": a.name, "endpointType": format!("{:?}", a.endpoint_type).to_uppercase(),
                    "stages": w.model.apigw.stages.iter().filter(|s| s.rest_api_id == a.id).map(|s| s.name.clone()).collect::<Vec<_>>(),
                    "host": format!("{}.execute-api.{}.amazonaws.com", a.id, w.model.region),
                })).collect::<Vec<_>>(),
                "instances": crate::proxy::world_json(w),
                "vpcEndpoints": crate::proxy::endpoints_json(w),
                "notEmulated": w.model.not_emulated.iter().map(|n| json!({"logicalId": n.logical_id, "type": n.resource_type})).collect::<Vec<_>>(),
                "credentials": {"accessKeyId": crate::authz::ROOT_ACCESS_KEY_ID, "secretAccessKey": crate::authz::ROOT_SECRET_ACCESS_KEY},
            });
            plain(200, "application/json", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        _ => plain(
            404,
            "application/json",
            json!({"message": format!("vpcgate: nothing at {method} {path} (AWS API calls carry an X-Amz-Target header)")}).to_string(),
        ),
    }
}

/// Serves `edge` on `listener` until `shutdown` completes.
pub async fn run(listener: TcpListener, edge: Arc<Edge>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let edge = edge.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let edge = edge.clone();
                        async move { Ok::<_, Infallible>(handle(edge, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(BODY_READ_TIMEOUT)
                        .max_buf_size(MAX_HEADER_BYTES)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Binds `addr` and serves until `shutdown`; returns the bound address through `bound`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
