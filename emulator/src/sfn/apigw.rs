//! The optimized API Gateway integration: `arn:aws:states:::apigateway:invoke`.
//!
//! Behaviour from "Create API Gateway REST APIs with Step Functions"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html>) and from
//! executions recorded against AWS (LocalStack's `test_apigetway_task_service.snapshot.json`,
//! 2023-08-20 and 2025-11-06):
//! - parameters `ApiEndpoint` (`<id>.execute-api.<region>.amazonaws.com`, id of `0-9a-z`) and
//!   `Method` (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS) are required; `Headers` and
//!   `QueryParameters` are maps of lists; `Stage`, `Path`; `RequestBody` only for PATCH, POST
//!   and PUT; `AllowNullValues` (default false: `null` fields are dropped from the body);
//!   `AuthType` `NO_AUTH` (default), `IAM_ROLE` (SigV4 with the execution role's session
//!   credentials), `RESOURCE_POLICY` (also signed, so the resource policy sees the role);
//! - headers a definition may not set: `X-Forwarded*`, `X-Amz*`, `X-Amzn*`, Authorization,
//!   Connection, Content-md5, Expect, Host, Max-Forwards, Proxy-Authenticate, Server, TE,
//!   Transfer-Encoding, Trailer, Upgrade, Via, Www-Authenticate;
//! - output `{"Headers": {name as sent: [values]}, "ResponseBody", "StatusCode", "StatusText"}`:
//!   header names keep API Gateway's case and sort case-insensitively (the recorded outputs),
//!   the body is JSON-decoded when it parses (`"HelloWorld"` -> `HelloWorld`), else kept as text;
//! - a non-2xx answer fails the task with `ApiGateway.<status>` and the body as the cause, e.g.
//!   `{"error":"ApiGateway.403","cause":"{\"message\":\"Missing Authentication Token\"}"}`.
//!
//! The request goes to the API Gateway data plane in memory ([`crate::apigw::service`]); no
//! host socket is opened.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde_json::{Map, Value};

use super::{StatesError, TaskContext, parameters, str_field};
use crate::events::invoke::{append_query, encode_pairs};
use crate::sigv4::{EXECUTE_API, SigningSettings, sign_request_in_place};
use crate::trace::Verdict;

/// Headers a definition may not set (same page, "Request format"), besides every
/// `X-Forwarded*`, `X-Amz*` and `X-Amzn*`.
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-md5",
    "expect",
    "host",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "transfer-encoding",
    "trailer",
    "upgrade",
    "via",
    "www-authenticate",
];

/// How the task signs: SigV4's defaults, made once.
static SIGNING: std::sync::LazyLock<SigningSettings> =
    std::sync::LazyLock::new(SigningSettings::default);

/// Whether `apigateway:invoke` refuses a header name.
pub fn is_forbidden_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    FORBIDDEN_HEADERS.contains(&n.as_str())
        || n.starts_with("x-forwarded")
        || n.starts_with("x-amz")
}

/// `AuthType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// Unsigned.
    NoAuth,
    /// Signed with the execution role's session credentials.
    IamRole,
    /// Signed too, for APIs that authorize by resource policy.
    ResourcePolicy,
}

/// The parsed parameters, borrowed from them (every task parses its parameters: no copy of
/// their texts).
#[derive(Clone, Debug, PartialEq)]
pub struct Call<'a> {
    /// The API's host name.
    pub endpoint: &'a str,
    /// The region named by the endpoint.
    pub region: &'a str,
    /// The verb.
    pub method: Method,
    /// `Stage`.
    pub stage: Option<&'a str>,
    /// `Path`.
    pub path: Option<&'a str>,
    /// `Headers`: (name, value) in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// `QueryParameters`: (name, value) in order.
    pub query: Vec<(&'a str, &'a str)>,
    /// `RequestBody`, nulls removed unless `AllowNullValues`.
    pub body: Option<Value>,
    /// `AuthType`.
    pub auth: AuthType,
}

/// A map of lists of strings (`Headers`, `QueryParameters`); a plain string value is the
/// recorded "has an invalid format".
fn map_of_lists<'a>(
    p: &'a Map<String, Value>,
    key: &str,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let invalid = || format!("The value of the field '{key}' has an invalid format");
    match p.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => {
            let mut out = Vec::new();
            for (k, v) in m {
                let Value::Array(items) = v else {
                    return Err(invalid());
                };
                for item in items {
                    match item {
                        Value::String(s) => out.push((k.as_str(), s.as_str())),
                        _ => return Err(invalid()),
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(invalid()),
    }
}

fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Validates the task's parameters; the error is the reason for AWS's `States.Runtime` text.
pub fn parse_call(params: &Value) -> Result<Call<'_>, String> {
    let p = parameters(
        params,
        &[
            "ApiEndpoint",
            "Method",
            "Headers",
            "Stage",
            "Path",
            "QueryParameters",
            "RequestBody",
            "AllowNullValues",
            "AuthType",
        ],
    )?;
    let endpoint = str_field(p, "ApiEndpoint")?.ok_or("The field 'ApiEndpoint' is required")?;
    // Exactly five labels, read without collecting them.
    let mut labels = endpoint.split('.');
    let labels: [Option<&str>; 6] = std::array::from_fn(|_| labels.next());
    let region = match labels {
        [
            Some(id),
            Some("execute-api"),
            Some(region),
            Some("amazonaws"),
            Some("com"),
            None,
        ] if !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
        {
            region
        }
        _ => {
            return Err(format!(
                "The value of the field 'ApiEndpoint' is invalid: {endpoint} (expected <API ID>.execute-api.<region>.amazonaws.com)"
            ));
        }
    };
    let method_text = str_field(p, "Method")?.ok_or("The field 'Method' is required")?;
    let method = match method_text {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => {
            Method::from_bytes(method_text.as_bytes()).expect("valid method")
        }
        _ => {
            return Err(format!(
                "The value of the field 'Method' is invalid: {method_text} (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS)"
            ));
        }
    };
    let headers = map_of_lists(p, "Headers")?;
    let forbidden: Vec<String> = headers
        .iter()
        .filter(|(k, _)| is_forbidden_header(k))
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    if !forbidden.is_empty() {
        // The recorded definition-time text; static headers fail CreateStateMachine with it,
        // dynamic ones fail the run (docs: States.Runtime).
        return Err(format!(
            "The 'Headers' field contains unsupported values: [{}]",
            forbidden.join(", ")
        ));
    }
    let query = map_of_lists(p, "QueryParameters")?;
    let allow_nulls = match p.get("AllowNullValues") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("The value of the field 'AllowNullValues' must be a boolean".into()),
    };
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => None,
        Some(b) => {
            if !matches!(method, Method::PATCH | Method::POST | Method::PUT) {
                return Err(format!(
                    "The field 'RequestBody' is only supported for PATCH, POST and PUT, not {method}"
                ));
            }
            Some(if allow_nulls {
                b.clone()
            } else {
                drop_nulls(b.clone())
            })
        }
    };
    let auth = match str_field(p, "AuthType")? {
        None | Some("NO_AUTH") => AuthType::NoAuth,
        Some("IAM_ROLE") => AuthType::IamRole,
        Some("RESOURCE_POLICY") => AuthType::ResourcePolicy,
        Some(other) => {
            return Err(format!(
                "The value of the field 'AuthType' is invalid: {other} (NO_AUTH, IAM_ROLE, RESOURCE_POLICY)"
            ));
        }
    };
    Ok(Call {
        endpoint,
        region,
        method,
        stage: str_field(p, "Stage")?,
        path: str_field(p, "Path")?,
        headers,
        query,
        body,
        auth,
    })
}

impl Call<'_> {
    /// `/{Stage}/{Path}?{QueryParameters}`.
    pub fn target(&self) -> String {
        let mut target = String::new();
        for part in [self.stage, self.path].into_iter().flatten() {
            let part = part.trim_matches('/');
            if !part.is_empty() {
                target.push('/');
                target.push_str(part);
            }
        }
        if self
            .path
            .is_some_and(|p| p.ends_with('/') && !p.trim_matches('/').is_empty())
        {
            target.push('/');
        }
        if target.is_empty() {
            target.push('/');
        }
        append_query(&mut target, &encode_pairs(self.query.iter().copied()));
        target
    }
}

/// The request's URI (`https://{endpoint}{target}`) and `Host` header, or the URI's fault,
/// then the host's, as `http`'s builder reported them.
///
/// Parsed once per thread for the last few endpoints and targets: a state machine's task
/// calls the same API over and over (every Pattern B execution), and the parse is a pure
/// function of the two texts; a cached URI and header value are shared, not copied.
fn uri_and_host(endpoint: &str, target: &str) -> Result<(http::Uri, HeaderValue), String> {
    /// How many endpoint and target pairs a thread keeps.
    const KEEP: usize = 8;
    type Parsed = (Box<str>, Box<str>, http::Uri, HeaderValue);
    thread_local! {
        static PARSED: std::cell::RefCell<std::collections::VecDeque<Parsed>> =
            const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
    }
    let hit = PARSED.with_borrow(|parsed| {
        parsed
            .iter()
            .find(|(e, t, ..)| **e == *endpoint && **t == *target)
            .map(|(_, _, uri, host)| (uri.clone(), host.clone()))
    });
    if let Some(hit) = hit {
        return Ok(hit);
    }
    let uri =
        http::Uri::try_from(format!("https://{endpoint}{target}")).map_err(|e| e.to_string())?;
    let host = HeaderValue::from_str(endpoint).map_err(|e| e.to_string())?;
    PARSED.with_borrow_mut(|parsed| {
        if parsed.len() >= KEEP {
            parsed.pop_back();
        }
        parsed.push_front((endpoint.into(), target.into(), uri.clone(), host.clone()));
    });
    Ok((uri, host))
}

/// Runs one `apigateway:invoke` task.
pub async fn invoke(ctx: &TaskContext<'_>, params: &Value) -> Result<Value, StatesError> {
    let trace = ctx.trace;
    let world = ctx.world;
    let call = parse_call(params).map_err(|reason| ctx.bad_parameters(params, &reason))?;
    let target = call.target();
    trace.info_fmt(
        "sfn",
        format_args!(
            "apigateway:invoke {}: {} https://{}{} ({:?})",
            ctx.state_name, call.method, call.endpoint, target, call.auth
        ),
    );
    // The request is put together part by part: each header is checked once, where
    // `http::Request::builder` would parse every name and value again.
    let invalid_headers = || {
        ctx.bad_parameters(
            params,
            "The value of the field 'Headers' has an invalid format",
        )
    };
    let mut headers = Vec::with_capacity(call.headers.len());
    for (k, v) in &call.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid_headers())?;
        let value = HeaderValue::from_str(v).map_err(|_| invalid_headers())?;
        headers.push((name, value));
    }
    let (uri, host) =
        uri_and_host(call.endpoint, &target).map_err(|e| ctx.bad_parameters(params, &e))?;
    let body = match &call.body {
        None => Bytes::new(),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(serde_json::to_vec(other).unwrap_or_default()),
    };
    let mut req = http::Request::new(body);
    *req.method_mut() = call.method.clone();
    *req.uri_mut() = uri;
    // Host first, the definition's headers after it, as the builder added them.
    let req_headers = req.headers_mut();
    req_headers.insert(http::header::HOST, host);
    for (name, value) in headers {
        req_headers.append(name, value);
    }
    let headers = req_headers;
    if call.body.is_some()
        && !call
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.append(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }

    if call.auth != AuthType::NoAuth {
        // One reading of the clock: the credentials fresh at the time the request is signed.
        let now = world.clock().now();
        let credentials = ctx
            .session_credentials_at(now.into())
            .map_err(|e| StatesError::new("States.TaskFailed", e.to_string()))?;
        // Signed with the session's credentials where they are kept (no copy of them).
        sign_request_in_place(
            &mut req,
            &*credentials,
            call.region,
            EXECUTE_API,
            now,
            &SIGNING,
        )
        .map_err(|e| StatesError::new("States.TaskFailed", e.to_string()))?;
        trace.pass_fmt(
            "sfn",
            format_args!(
                "signed (SigV4, execute-api, {}) with {} of {} (temporary credentials, session token)",
                call.region,
                credentials.access_key_id,
                ctx.principal.arn()
            ),
        );
    }
    req.extensions_mut().insert(trace.clone());
    // The data plane's own handler, awaited in place (the tower call would box its future).
    let resp = crate::apigw::service(world.apigw()).handle(req).await;
    output(ctx, resp)
}

/// The task result, or `ApiGateway.<status>` with the body as the cause.
pub fn output(ctx: &TaskContext<'_>, resp: http::Response<Bytes>) -> Result<Value, StatesError> {
    let status = resp.status();
    if !status.is_success() {
        ctx.trace.hop_fmt(
            "sfn",
            Verdict::Fail,
            format_args!("HTTP {status}: ApiGateway.{}", status.as_u16()),
        );
        return Err(StatesError::new(
            format!("ApiGateway.{}", status.as_u16()),
            String::from_utf8_lossy(resp.body()).into_owned(),
        ));
    }
    // HTTP APIs (v2) send lower-case names, which the output keeps; REST APIs' are API
    // Gateway's mixed case.
    let headers = crate::apigw::answer_headers(&resp);
    // The body is decoded from its bytes; only a body that is no JSON is copied as text.
    let response_body = serde_json::from_slice::<Value>(resp.body()).unwrap_or_else(|_| {
        // Not JSON as bytes: as text (invalid UTF-8 replaced), then kept as the text itself.
        let text = String::from_utf8_lossy(resp.body()).into_owned();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    });
    ctx.trace.pass_fmt(
        "sfn",
        format_args!("HTTP {status} ({} bytes)", resp.body().len()),
    );
    // Built member by member: `json!` would copy the headers' map value by value.
    let mut out = Map::with_capacity(4);
    out.insert("Headers".into(), Value::Object(headers));
    out.insert("ResponseBody".into(), response_body);
    out.insert("StatusCode".into(), Value::from(status.as_u16()));
    out.insert(
        "StatusText".into(),
        Value::from(status.canonical_reason().unwrap_or("")),
    );
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The parameters `p` parsed; `Call` borrows them, so they are kept for the test's run.
    fn call(p: Value) -> Result<Call<'static>, String> {
        parse_call(Box::leak(Box::new(p)))
    }

    #[test]
    fn parameters_follow_the_documented_shapes() {
        let c = call(json!({"ApiEndpoint": "a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com", "Method": "GET", "Stage": "prod", "AuthType": "IAM_ROLE"})).unwrap();
        assert_eq!(c.region, "ap-northeast-1");
        assert_eq!(c.auth, AuthType::IamRole);
        assert_eq!(c.target(), "/prod");
        let c = call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "s", "Path": "items/7", "QueryParameters": {"q": ["a b", "c"]}, "RequestBody": {"a": null, "b": [1, {"c": null}]}})).unwrap();
        assert_eq!(c.target(), "/s/items/7?q=a%20b&q=c");
        assert_eq!(c.body, Some(json!({"b": [1, {}]})));
        let c = call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "PUT", "RequestBody": {"a": null}, "AllowNullValues": true})).unwrap();
        assert_eq!(c.body, Some(json!({"a": null})));
        assert_eq!(c.target(), "/");
    }

    #[test]
    fn invalid_parameters_are_refused_with_aws_wording() {
        let e = call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Headers": {"custom_header": "single"}})).unwrap_err();
        assert_eq!(e, "The value of the field 'Headers' has an invalid format");
        let e = call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Headers": {"Authorization": ["x"], "X-Amz-Date": ["y"]}})).unwrap_err();
        assert_eq!(
            e,
            "The 'Headers' field contains unsupported values: [authorization, x-amz-date]"
        );
        assert!(
            call(
                json!({"ApiEndpoint": "ABC.execute-api.us-east-1.amazonaws.com", "Method": "GET"})
            )
            .is_err()
        );
        assert!(call(json!({"ApiEndpoint": "abc.example.com", "Method": "GET"})).is_err());
        assert!(call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET", "RequestBody": {}})).is_err());
        assert!(
            call(
                json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "FETCH"})
            )
            .is_err()
        );
        assert!(call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET", "AuthType": "IAM"})).is_err());
        assert!(call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Extra": 1})).is_err());
        assert!(call(json!("not an object")).is_err());
    }

    /// The URI and `Host` of an endpoint and target are the ones the parse gives, whether
    /// parsed now or kept from before, for more pairs than the thread keeps; a fault is
    /// reported as before, and not kept.
    #[test]
    fn uri_and_host_are_parsed_once_and_the_same() {
        let fresh = |e: &str, t: &str| {
            (
                http::Uri::try_from(format!("https://{e}{t}")).unwrap(),
                HeaderValue::from_str(e).unwrap(),
            )
        };
        for round in 0..3 {
            for i in 0..12 {
                let e = format!("a{i}.execute-api.us-east-1.amazonaws.com");
                let t = format!("/prod/items/{round}?q=a%20b");
                assert_eq!(uri_and_host(&e, &t).unwrap(), fresh(&e, &t));
                assert_eq!(uri_and_host(&e, &t).unwrap(), fresh(&e, &t));
            }
        }
        let bad = "a.execute-api.us east-1.amazonaws.com";
        let want = http::Uri::try_from(format!("https://{bad}/"))
            .unwrap_err()
            .to_string();
        for _ in 0..2 {
            assert_eq!(uri_and_host(bad, "/").unwrap_err(), want);
        }
    }

    /// The list of connect-api-gateway.html ("Request format"), which differs from the HTTP
    /// Task's: `Cache-Control` may be set here.
    #[test]
    fn forbidden_headers_follow_the_documented_list() {
        let cases = [
            ("Authorization", true),
            ("host", true),
            ("X-Amz-Date", true),
            ("x-amzn-trace-id", true),
            ("X-Forwarded-For", true),
            ("Www-Authenticate", true),
            ("TE", true),
            ("Content-Type", false),
            ("Accept", false),
            ("custom_header", false),
            ("Cache-Control", false),
        ];
        for (h, forbidden) in cases {
            assert_eq!(is_forbidden_header(h), forbidden, "{h}");
        }
    }
}
