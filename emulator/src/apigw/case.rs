//! The `Request` case kind: one HTTP request straight to an emulated REST API, signed or not,
//! as a test or a real client would send it (docs/pattern-b-fidelity.md has the JSON shape).
//!
//! ```json
//! {"Name": "wrong-secret",
//!  "Request": {"Api": "RestApi", "Stage": "prod", "Method": "GET", "Path": "/",
//!              "Sign": {"As": "OtherUser", "SecretAccessKey": "not-the-secret"}},
//!  "Expect": {"OutputIncludes": {"StatusCode": 403,
//!             "Headers": {"x-amzn-ErrorType": ["InvalidSignatureException"]}}}}
//! ```
//!
//! [`run`] answers with the same shape as `apigateway:invoke`'s output, so a case's `Expect`
//! (`Output`, `OutputIncludes`, `ElapsedSeconds`, `TraceContains`) reads the same:
//! `{"StatusCode", "StatusText", "Headers": {name as sent: [values]}, "Body"}` with the body
//! JSON-decoded when it parses.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::iam::Principal;
use crate::sigv4::{Credentials, EXECUTE_API, SignatureLocation, SigningSettings, sign_request};
use crate::trace::Trace;
use crate::world::World;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The session name of role sessions a `Request` case signs with.
pub const SESSION_NAME: &str = "vpcgate-request";

/// A direct request to a REST API.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RequestCase {
    /// The REST API: logical id, name or id (not needed with `Url`).
    #[serde(default)]
    pub api: String,
    /// The stage (default: none, i.e. `/`).
    #[serde(default)]
    pub stage: Option<String>,
    /// The verb (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// The path below the stage (default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// Query parameters (name -> values).
    #[serde(default)]
    pub query: BTreeMap<String, Vec<String>>,
    /// Headers (name -> values).
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    /// The body: a string as is, any other JSON serialised.
    #[serde(default)]
    pub body: Option<Value>,
    /// `HOST` (default: `{id}.execute-api.{region}.amazonaws.com/{stage}/{path}`) or `PATH`
    /// (`/restapis/{id}/{stage}/_user_request_/{path}`).
    #[serde(default)]
    pub address: Option<String>,
    /// How to sign; absent: unsigned.
    #[serde(default)]
    pub sign: Option<Signing>,
    /// Send from inside a VPC: the logical id (or id) of the `AWS::EC2::Instance` the request
    /// leaves from, through its VPC's DNS, routes and security groups
    /// ([`crate::ec2::case`]). Absent: straight to API Gateway.
    #[serde(default)]
    pub from: Option<String>,
    /// The whole URL (`https://states.ap-northeast-1.amazonaws.com/`), instead of `Api`, `Stage`,
    /// `Path` and `Address`: for requests to any service, from an instance.
    #[serde(default)]
    pub url: Option<String>,
    /// The client's time-out for a request `From` an instance, in seconds (default 60, botocore's
    /// connect time-out): what AWS drops fails with `Error: TIMEOUT` after this long.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

/// How a `Request` case signs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Signing {
    /// Logical id (or name) of an `AWS::IAM::User` — signs with its first access key — or of an
    /// `AWS::IAM::Role` — signs with a session of it named [`SESSION_NAME`].
    #[serde(rename = "As")]
    pub signer: String,
    /// Sign with this secret instead of the real one (a signature mismatch).
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Sign with this access key id instead of the real one (an unknown key).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Sign at the world's time plus this many seconds (negative: in the past).
    #[serde(default)]
    pub skew_seconds: Option<i64>,
    /// `HEADERS` (default) or `QUERY` (presigned).
    #[serde(default)]
    pub location: Option<String>,
    /// Credential-scope region (default: the scenario's).
    #[serde(default)]
    pub region: Option<String>,
    /// Credential-scope service (default `execute-api`).
    #[serde(default)]
    pub service: Option<String>,
    /// Leave the session token of role credentials out.
    #[serde(default)]
    pub omit_session_token: bool,
}

/// Why a `Request` case could not be sent (the request itself never fails: API Gateway's errors
/// are its output).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The `Request` object does not have the documented shape.
    #[error("request case: {0}")]
    Shape(#[from] serde_json::Error),
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

impl RequestCase {
    /// Reads a case's `Request` object.
    pub fn from_value(v: &Value) -> Result<Self, CaseError> {
        Ok(serde_json::from_value(v.clone())?)
    }
}

fn invalid(what: &'static str, value: impl Into<String>) -> CaseError {
    CaseError::Invalid {
        what,
        value: value.into(),
    }
}

/// The credentials a case signs with.
fn credentials(world: &World, s: &Signing) -> Result<(Credentials, Principal), CaseError> {
    let model = &world.model;
    let unknown = || CaseError::UnknownSigner {
        signer: s.signer.clone(),
    };
    if let Some(user) = model
        .users
        .iter()
        .find(|u| u.logical_id == s.signer || u.name == s.signer)
    {
        let (id, secret) = user.access_keys.first().ok_or_else(unknown)?;
        let principal = Principal::User {
            account: model.account.clone(),
            name: user.name.clone(),
            path: user.path.clone(),
        };
        return Ok((Credentials::new(id, secret), principal));
    }
    let role = model
        .roles
        .iter()
        .find(|r| r.logical_id == s.signer || r.name == s.signer)
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
    Ok((creds, session))
}

/// Builds the request a case describes (signed if it says so).
pub fn build(world: &World, case: &RequestCase) -> Result<http::Request<Bytes>, CaseError> {
    let gw = &world.model.apigw;
    let region = &world.model.region;
    let (scheme, host, mut target) = if let Some(url) = &case.url {
        // A whole URL: any service, any host.
        let uri: http::Uri = url.parse().map_err(|_| invalid("url", url))?;
        let host = uri
            .authority()
            .ok_or_else(|| invalid("url", url))?
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
    let method = case.method.clone().unwrap_or_else(|| "GET".into());
    let method =
        http::Method::from_bytes(method.as_bytes()).map_err(|_| invalid("method", method))?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{scheme}://{host}{target}"))
        .header(http::header::HOST, host.as_str());
    for (k, vs) in &case.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid("header name", k))?;
        for v in vs {
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
        let (mut creds, _) = credentials(world, s)?;
        if let Some(secret) = &s.secret_access_key {
            creds.secret_access_key = secret.clone();
        }
        if let Some(id) = &s.access_key_id {
            creds.access_key_id = id.clone();
        }
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
        sign_request(
            &mut req,
            &creds,
            s.region.as_deref().unwrap_or(region),
            s.service.as_deref().unwrap_or(EXECUTE_API),
            at,
            &settings,
        )
        .map_err(|e| CaseError::Sign {
            reason: e.to_string(),
        })?;
    }
    Ok(req)
}

/// Sends a case's request to the world's API Gateway and returns its output (see module docs).
pub async fn run(world: &World, case: &RequestCase, trace: &Trace) -> Result<Value, CaseError> {
    let mut req = build(world, case)?;
    req.extensions_mut().insert(trace.clone());
    let resp = super::service(world)
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    Ok(response_json(&resp))
}

/// `{"StatusCode", "StatusText", "Headers", "Body"}` of a response.
pub fn response_json(resp: &http::Response<Bytes>) -> Value {
    let headers = if resp
        .extensions()
        .get::<super::http_api::LowercaseHeaders>()
        .is_some()
    {
        super::http_api::wire_headers(resp.headers())
    } else {
        super::wire_headers(resp.headers())
    };
    let text = String::from_utf8_lossy(resp.body()).into_owned();
    let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
    json!({
        "StatusCode": resp.status().as_u16(),
        "StatusText": resp.status().canonical_reason().unwrap_or(""),
        "Headers": headers,
        "Body": body,
    })
}
