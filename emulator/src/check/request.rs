//! Runs a case's `Request` ([`crate::scenario::request`], the one dialect): builds the HTTP
//! request, signs it as `Sign` says, and sends it the way `From` says — straight to API Gateway,
//! from an instance through its VPC (DNS, routes, endpoints, security groups: [`crate::ec2`]), or
//! from an instance or subnet to a VPC Lattice service ([`crate::lattice::service_network`]).
//!
//! Every way answers with the shape of `apigateway:invoke`'s output, so a case's `Expect` reads
//! the same: `{"StatusCode", "StatusText", "Headers": {name as sent: [values]}, "Body"}` with the
//! body JSON-decoded when it parses; a request that got no response reads `{"Error", "Message"}`.
//! From an instance through its VPC the error is as a client reports it: `NXDOMAIN` (curl: "Could
//! not resolve host", exit 6), `TIMEOUT` (nothing answered within `TimeoutSeconds`: curl exit 28,
//! botocore `ConnectTimeoutError`), `REFUSED` (curl exit 7), `TLS` (curl exit 60), `HTTP`; to a
//! VPC Lattice service `NameNotResolved`, `ConnectTimeout`, `ConnectionRefused`,
//! `TlsHandshakeFailed`, `HttpError` ([`crate::lattice::service_network::LatticeSnError::kind`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::dns::ResolveError;
use crate::ec2::OpenError;
use crate::edge::{AuthMode, Edge};
use crate::iam::Principal;
pub use crate::scenario::request::{Request, Signing};
use crate::sigv4::{Credentials, EXECUTE_API, SignatureLocation, SigningSettings, sign_request};
use crate::trace::{Trace, Verdict};
use crate::world::World;

/// botocore's default connect time-out, the default `TimeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The session name of role sessions a `Request` case signs with.
pub const SESSION_NAME: &str = "vpcgate-request";

/// Why a `Request` case could not be sent (the request itself never fails: API Gateway's errors
/// are its output).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The `Request` object does not have the documented shape.
    #[error("request case: {0}")]
    Shape(#[from] crate::scenario::request::RequestShapeError),
    /// A `${…}` in `Url` names nothing, or is not closed.
    #[error("request case: {0}")]
    Substitution(String),
    /// No REST API with that logical id, name or id.
    #[error("request case names an unknown rest api {api:?}")]
    UnknownApi {
        /// What was named.
        api: String,
    },
    /// No user with an access key, and no role, of that name.
    #[error(
        "request case signs as {signer:?}, which is neither a user with an access key nor a role"
    )]
    UnknownSigner {
        /// What was named.
        signer: String,
    },
    /// The verb, a header or the path is not valid HTTP.
    #[error("request case: invalid {what}: {value:?}")]
    Invalid {
        /// Which part.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// Credentials could not be issued or the request signed.
    #[error("request case: signing failed: {reason}")]
    Sign {
        /// Why.
        reason: String,
    },
}

/// Reads a case's `Request` object.
pub fn from_value(v: &Value) -> Result<Request, CaseError> {
    Ok(Request::from_value(v)?)
}

fn invalid(what: &'static str, value: impl Into<String>) -> CaseError {
    CaseError::Invalid {
        what,
        value: value.into(),
    }
}

/// The credentials a case signs with: a user's first access key, or a fresh session of a role
/// named [`SESSION_NAME`] (by logical id, name or ARN).
fn credentials(world: &World, s: &Signing) -> Result<Credentials, CaseError> {
    let mut creds = signer_credentials(world, s)?;
    if let Some(secret) = &s.secret_access_key {
        creds.secret_access_key = secret.clone();
    }
    if let Some(id) = &s.access_key_id {
        creds.access_key_id = id.clone();
    }
    Ok(creds)
}

/// The signer's own credentials.
fn signer_credentials(world: &World, s: &Signing) -> Result<Credentials, CaseError> {
    let model = &world.model;
    let unknown = || CaseError::UnknownSigner {
        signer: s.signer.clone(),
    };
    if let Some(user) = model
        .users
        .iter()
        .find(|u| u.logical_id == s.signer || u.name == s.signer || u.arn == s.signer)
    {
        let (id, secret) = user.access_keys.first().ok_or_else(unknown)?;
        return Ok(Credentials::new(id, secret));
    }
    let role = model
        .roles
        .iter()
        .find(|r| r.logical_id == s.signer || r.name == s.signer || r.arn == s.signer)
        .ok_or_else(unknown)?;
    let session = Principal::AssumedRole {
        account: model.account.clone(),
        role_name: role.name.clone(),
        role_path: role.path.clone(),
        session_name: SESSION_NAME.into(),
    };
    let issued = world
        .iam
        .session_credentials(&session, world.clock.now_utc())
        .map_err(|e| CaseError::Sign {
            reason: e.to_string(),
        })?;
    let mut creds = Credentials::new(&issued.access_key_id, issued.secret_access_key.expose());
    if !s.omit_session_token {
        creds = creds.with_session_token(issued.session_token.expose());
    }
    Ok(creds)
}

/// `${LogicalId}` -> its `Ref`, `${LogicalId.Attribute}` -> its `Fn::GetAtt` in `text`.
pub fn substitute(text: &str, subs: &HashMap<String, String>) -> Result<String, CaseError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| CaseError::Substitution(format!("unclosed ${{ in {text:?}")))?;
        let key = &after[..end];
        let value = subs.get(key).ok_or_else(|| {
            CaseError::Substitution(format!("${{{key}}} names no resource or attribute"))
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The URL a case names: `Url` with its `${…}` replaced, or the API Gateway address of `Api`.
fn target_url(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
) -> Result<(String, String, String), CaseError> {
    let gw = &world.model.apigw;
    let region = &world.model.region;
    let (scheme, host, mut target) = if let Some(url) = &case.url {
        // A whole URL: any service, any host.
        let url = substitute(url, subs)?;
        let uri: http::Uri = url.parse().map_err(|_| invalid("url", &url))?;
        let host = uri
            .authority()
            .ok_or_else(|| invalid("url", &url))?
            .to_string();
        let target = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        (
            uri.scheme_str().unwrap_or("https").to_string(),
            host,
            target,
        )
    } else {
        // A REST API or an HTTP API (v2), by logical id, name or id.
        let api_id = gw
            .find_rest_api(&case.api)
            .map(|a| a.id.clone())
            .or_else(|| gw.http.find_api(&case.api).map(|a| a.id.clone()))
            .ok_or_else(|| CaseError::UnknownApi {
                api: case.api.clone(),
            })?;
        let host = format!("{api_id}.execute-api.{region}.amazonaws.com");
        let below = case.path.clone().unwrap_or_else(|| "/".into());
        let below = if below.starts_with('/') {
            below
        } else {
            format!("/{below}")
        };
        let stage = case.stage.clone().unwrap_or_default();
        let target = match case.address.as_deref() {
            // An HTTP API's `$default` stage is served at the root (no stage in the path).
            None | Some("HOST") if stage.is_empty() || stage == "$default" => below.clone(),
            None | Some("HOST") => format!("/{stage}{below}"),
            Some("PATH") => format!("/restapis/{api_id}/{stage}/_user_request_{below}"),
            Some(other) => return Err(invalid("address (HOST or PATH)", other)),
        };
        ("https".to_string(), host, target)
    };
    if !case.query.is_empty() {
        let pairs: Vec<String> = case
            .query
            .iter()
            .flat_map(|(k, vs)| {
                vs.iter().map(move |v| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, QUERY),
                        utf8_percent_encode(v, QUERY)
                    )
                })
            })
            .collect();
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&pairs.join("&"));
    }
    Ok((scheme, host, target))
}

/// The credential-scope service a request to `host` is signed for when `Sign` names none.
fn default_service(case: &Request, host: &str, region: &str) -> &'static str {
    let host = host.split(':').next().unwrap_or(host);
    match crate::ec2::signing_service(host, region) {
        Some(service) => service,
        None if case.url.is_none() => EXECUTE_API,
        None => crate::lattice::auth::SERVICE,
    }
}

/// Builds the request a case describes (signed if it says so).
pub fn build(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
    trace: &Trace,
) -> Result<http::Request<Bytes>, CaseError> {
    let region = &world.model.region;
    let (scheme, host, target) = target_url(world, case, subs)?;
    let method = case.method.clone().unwrap_or_else(|| "GET".into());
    let method =
        http::Method::from_bytes(method.as_bytes()).map_err(|_| invalid("method", method))?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{scheme}://{host}{target}"))
        .header(http::header::HOST, host.as_str());
    for (k, vs) in &case.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid("header name", k))?;
        for v in vs.values() {
            let value = HeaderValue::from_str(v).map_err(|_| invalid("header value", v))?;
            builder = builder.header(name.clone(), value);
        }
    }
    let body = match &case.body {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut req = builder
        .body(body)
        .map_err(|e| invalid("request", e.to_string()))?;
    if let Some(s) = &case.sign {
        let creds = credentials(world, s)?;
        let skew = s.skew_seconds.unwrap_or(0);
        let now = world.clock.now();
        let at = if skew >= 0 {
            now + Duration::from_secs(skew.unsigned_abs())
        } else {
            now - Duration::from_secs(skew.unsigned_abs())
        };
        let location = match s.location.as_deref() {
            None | Some("HEADERS") => SignatureLocation::Headers,
            Some("QUERY") => SignatureLocation::QueryString,
            Some(other) => return Err(invalid("signature location (HEADERS or QUERY)", other)),
        };
        let settings = SigningSettings {
            location,
            ..SigningSettings::default()
        };
        let scope_region = s.region.as_deref().unwrap_or(region);
        let service = s
            .service
            .as_deref()
            .unwrap_or_else(|| default_service(case, &host, region));
        sign_request(&mut req, &creds, scope_region, service, at, &settings).map_err(|e| {
            CaseError::Sign {
                reason: e.to_string(),
            }
        })?;
        trace.info(
            "client",
            format!(
                "signed with SigV4 ({service}, {scope_region}) as {}",
                creds.access_key_id
            ),
        );
    }
    Ok(req)
}

/// What a request brought back: the output (see the module docs) and the body as received.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `{"StatusCode", "StatusText", "Headers", "Body"}` or `{"Error", "Message"}`.
    pub output: Value,
    /// The response body as text (`None` without a response).
    pub body: Option<String>,
    /// Virtual time from sending (after `WaitSeconds`) to the answer or the failure.
    pub elapsed: Duration,
}

impl Exchange {
    fn answered(resp: &http::Response<Bytes>) -> Self {
        Exchange {
            output: response_json(resp),
            body: Some(String::from_utf8_lossy(resp.body()).into_owned()),
            elapsed: Duration::ZERO,
        }
    }

    fn failed(error: &str, message: String) -> Self {
        Exchange {
            output: json!({"Error": error, "Message": message}),
            body: None,
            elapsed: Duration::ZERO,
        }
    }
}

/// Sends a case's request the way `From` says (see the module docs). `subs` replaces `${…}` in
/// `Url` ([`substitute`]).
pub async fn run(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
    trace: &Trace,
) -> Result<Exchange, CaseError> {
    let route = route(world, case, subs)?;
    if let Route::Lattice(_) = route {
        // Health checks have had their first round when a client starts, as after a stack
        // creation.
        world.lattice.settled().await;
    }
    let begin = tokio::time::Instant::now();
    if let Some(secs) = case.wait_seconds.filter(|s| *s > 0.0 && s.is_finite()) {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }
    let mut exchange = match route {
        Route::Direct => {
            let mut req = build(world, case, subs, trace)?;
            req.extensions_mut().insert(trace.clone());
            let resp = crate::apigw::service(&world.apigw)
                .oneshot(req)
                .await
                .unwrap_or_else(|never| match never {});
            Exchange::answered(&resp)
        }
        Route::Instance(instance) => from_instance(world, case, subs, &instance, trace).await?,
        Route::Lattice(from) => to_lattice_service(world, case, subs, &from, trace).await?,
    };
    exchange.elapsed = begin.elapsed();
    Ok(exchange)
}

/// Which way a request goes.
enum Route {
    /// No `From`: straight to API Gateway.
    Direct,
    /// From an instance through its VPC.
    Instance(Arc<crate::ec2::Instance>),
    /// From an instance or a subnet (named) as a VPC Lattice client.
    Lattice(String),
}

/// A request `From` a subnet, or to a VPC Lattice service's name (generated or custom), goes as a
/// Lattice client; any other request `From` an instance through its VPC.
fn route(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
) -> Result<Route, CaseError> {
    let Some(from) = &case.from else {
        return Ok(Route::Direct);
    };
    let (_, host, _) = target_url(world, case, subs)?;
    let host = host.split(':').next().unwrap_or(&host).to_ascii_lowercase();
    let to_lattice = world.lattice.model().services.iter().any(|s| {
        s.dns_name.eq_ignore_ascii_case(&host)
            || s.custom_domain_name
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(&host))
    });
    Ok(match world.ec2.instance(from) {
        Some(instance) if !to_lattice => Route::Instance(instance),
        _ => Route::Lattice(from.clone()),
    })
}

/// From an instance through its VPC: its DNS, routes and security groups, to whatever answers —
/// an interface endpoint, a public endpoint over a NAT or internet gateway, an ALB. The world's
/// endpoints are attached to a fresh edge for the duration of the request.
async fn from_instance(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
    instance: &Arc<crate::ec2::Instance>,
    trace: &Trace,
) -> Result<Exchange, CaseError> {
    let req = build(world, case, subs, trace)?;
    let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
    edge.attach_endpoints();
    let timeout = case
        .timeout_seconds
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT);
    trace.info(
        "client",
        format!(
            "{} {} from {} ({}, {})",
            req.method(),
            req.uri(),
            instance.config.logical_id,
            instance.config.id,
            instance.eni.ip
        ),
    );
    let result =
        tokio::time::timeout(timeout, crate::ec2::request(world, instance, req, trace)).await;
    drop(edge);
    Ok(match result {
        Ok(Ok(resp)) => Exchange::answered(&resp),
        Ok(Err(e)) => {
            let code = match &e {
                OpenError::Resolve(ResolveError::NxDomain { .. })
                | OpenError::Resolve(ResolveError::NoData { .. }) => "NXDOMAIN",
                OpenError::Resolve(_) | OpenError::NoResolver { .. } => "RESOLVE",
                OpenError::Refused(_) | OpenError::Lattice { .. } => "REFUSED",
                OpenError::Tls { .. } => "TLS",
                OpenError::InvalidRequest { .. } | OpenError::Http { .. } => "HTTP",
            };
            trace.hop("client", Verdict::Fail, format!("{code}: {e}"));
            Exchange::failed(code, e.to_string())
        }
        Err(_) => {
            let message = format!(
                "no answer within {:.3} s (the client's time-out)",
                timeout.as_secs_f64()
            );
            trace.hop("client", Verdict::Fail, format!("TIMEOUT: {message}"));
            Exchange::failed("TIMEOUT", message)
        }
    })
}

/// From an instance or a subnet as a VPC Lattice client (`lattice::service_network::request`):
/// resolved with the VPC's resolver, through Lattice for a Lattice address, else inside the VPC;
/// signed for `vpc-lattice-svcs` with `UNSIGNED-PAYLOAD`, or for the AWS service its host names.
async fn to_lattice_service(
    world: &World,
    case: &Request,
    subs: &HashMap<String, String>,
    from: &str,
    trace: &Trace,
) -> Result<Exchange, CaseError> {
    use crate::lattice::service_network::{ClientRequest, client_eni, request};
    // The emulated services behind the VPC endpoints and the public endpoints (crate::ec2).
    let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
    edge.attach_endpoints();
    let (scheme, host, target) = target_url(world, case, subs)?;
    let failed = |e: crate::lattice::service_network::LatticeSnError| {
        Exchange::failed(e.kind(), e.to_string())
    };
    let eni = match client_eni(world, from).or_else(|e| match subs.get(from) {
        Some(physical) => client_eni(world, physical),
        None => Err(e),
    }) {
        Ok(eni) => eni,
        Err(e) => return Err(invalid("From (an instance or subnet)", e.to_string())),
    };
    let credentials = match &case.sign {
        None => None,
        Some(s) => {
            // The Lattice client signs with the world's time, in the scenario's Region, for the
            // service its host names; the other knobs are API Gateway's.
            for (knob, set) in [
                ("Sign.SkewSeconds", s.skew_seconds.is_some()),
                ("Sign.Location", s.location.is_some()),
                ("Sign.Region", s.region.is_some()),
                ("Sign.Service", s.service.is_some()),
            ] {
                if set {
                    return Err(invalid(
                        "Sign for a request to a VPC Lattice service (As, SecretAccessKey, AccessKeyId, OmitSessionToken)",
                        knob,
                    ));
                }
            }
            Some(credentials(world, s)?)
        }
    };
    let body = match &case.body {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    let req = ClientRequest {
        method: case.method.clone().unwrap_or_else(|| "GET".into()),
        url: format!("{scheme}://{host}{target}"),
        headers: case
            .headers
            .iter()
            .flat_map(|(k, vs)| vs.values().iter().map(move |v| (k.clone(), v.clone())))
            .collect(),
        body,
        credentials,
        timeout: case
            .timeout_seconds
            .filter(|s| *s > 0.0 && s.is_finite())
            .map(Duration::from_secs_f64),
    };
    let result = request(world, &eni, &req, trace).await;
    drop(edge);
    Ok(match result {
        Ok(resp) => {
            let mut answer = http::Response::new(resp.body);
            *answer.status_mut() = resp.status;
            *answer.headers_mut() = resp.headers;
            Exchange::answered(&answer)
        }
        Err(e) => failed(e),
    })
}

/// `{"StatusCode", "StatusText", "Headers", "Body"}` of a response.
pub fn response_json(resp: &http::Response<Bytes>) -> Value {
    let headers = crate::apigw::answer_headers(resp);
    let text = String::from_utf8_lossy(resp.body()).into_owned();
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    json!({
        "StatusCode": resp.status().as_u16(),
        "StatusText": resp.status().canonical_reason().unwrap_or(""),
        "Headers": headers,
        "Body": body,
    })
}
