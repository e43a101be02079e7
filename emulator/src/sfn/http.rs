//! The HTTP Task: `arn:aws:states:::http:invoke`.
//!
//! Behaviour from "Call HTTPS APIs in Step Functions workflows"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html>):
//! parameters `ApiEndpoint`, `Method`, `Authentication.ConnectionArn` /
//! `InvocationConfig.ConnectionArn`, `Headers`, `QueryParameters`, `RequestBody`, `Transform`;
//! HTTPS only; the connection's parameters merged over the task's; Step Functions' own
//! `User-Agent`, `Range` and `Content-Type` headers; the headers a definition may not set;
//! responses whose content type Step Functions refuses; non-2xx as `States.Http.StatusCode.<code>`;
//! a 60-second limit and socket failures as `States.Http.Socket`; connection problems as the
//! `Events.ConnectionResource.*` errors.
//!
//! The path of one call: IAM (`states:InvokeHTTPEndpoint`, `events:RetrieveConnectionCredentials`,
//! `secretsmanager:GetSecretValue`/`DescribeSecret`) -> the connection's credentials from its
//! secret -> for a private connection, VPC Lattice (`vpc-lattice-svcs:Invoke` when the resource
//! configuration uses AWS_IAM) and the resource gateway -> TLS with the emulated public roots only,
//! SNI and hostname checks on the URL's host -> HTTP/1.1.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value, json};

use super::{StatesError, TaskContext, parameters, string_field};
use crate::events::invoke::{
    self, Exchange, InvokeError, InvokeErrorKind, Invoker, append_query, encode_pairs, merge,
    url_lite,
};
use crate::events::{Authorization, ConnectionConfig};
use crate::iam::{DenialFormat, RequestContext};
use crate::trace::Verdict;

/// The hard limit on an HTTP Task's duration ("HTTP Task ... 60 seconds", same page).
pub const HTTP_TASK_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest response body Step Functions asks for (`Range: bytes=0-262144`).
const MAX_BODY: usize = 262_144;

/// Headers a definition may not set (same page, "Headers" / "Request headers"), besides every
/// `x-forwarded-*`, `x-amz-*` and `x-amzn-*`.
const FORBIDDEN_HEADERS: &[&str] = &[
    "a-im",
    "accept-charset",
    "accept-datetime",
    "accept-encoding",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-md5",
    "date",
    "expect",
    "forwarded",
    "from",
    "host",
    "http2-settings",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "max-forwards",
    "origin",
    "pragma",
    "proxy-authorization",
    "referer",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "warning",
];

/// Whether a header name is one a definition may not set.
pub fn is_forbidden_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    FORBIDDEN_HEADERS.contains(&n.as_str())
        || n.starts_with("x-forwarded")
        || n.starts_with("x-amz-")
        || n.starts_with("x-amzn-")
}

/// Response headers that describe the connection, not the response; they never reach the output.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "proxy-connection",
    "upgrade",
];

/// `Transform.RequestEncodingOptions.ArrayFormat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArrayFormat {
    Indices,
    Repeat,
    Commas,
    Brackets,
}

/// The parsed task parameters.
#[derive(Debug)]
struct Call {
    url: url_lite::Url,
    method: Method,
    connection_arn: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    url_encoded: bool,
    array_format: ArrayFormat,
}

fn parse_call(params: &Value) -> Result<Call, String> {
    let p = parameters(
        params,
        &[
            "ApiEndpoint",
            "Method",
            "Authentication",
            "InvocationConfig",
            "Headers",
            "QueryParameters",
            "RequestBody",
            "Transform",
        ],
    )?;
    let endpoint = string_field(p, "ApiEndpoint")?.ok_or("The field 'ApiEndpoint' is required")?;
    let method_text = string_field(p, "Method")?.ok_or("The field 'Method' is required")?;
    let method = match method_text.to_ascii_uppercase().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD") => {
            Method::from_bytes(m.as_bytes()).expect("valid method")
        }
        _ => {
            return Err(format!(
                "The value of the field 'Method' is invalid: {method_text} (GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD)"
            ));
        }
    };
    let connection_arn = ["InvocationConfig", "Authentication"]
        .iter()
        .find_map(|k| p.get(*k).and_then(|a| a.get("ConnectionArn")).and_then(Value::as_str))
        .map(str::to_string)
        .ok_or("The field 'Authentication.ConnectionArn' (or 'InvocationConfig.ConnectionArn') is required")?;
    let url = url_lite::parse(&endpoint)?;
    let mut headers = Vec::new();
    match p.get("Headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => v.to_string(),
                    _ => {
                        return Err("The value of the field 'Headers' has an invalid format".into());
                    }
                };
                headers.push((k.clone(), v));
            }
        }
        Some(_) => return Err("The value of the field 'Headers' has an invalid format".into()),
    }
    let mut query = Vec::new();
    match p.get("QueryParameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(q)) => {
            for (k, v) in q {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            query.push((k.clone(), scalar(item)));
                        }
                    }
                    other => query.push((k.clone(), scalar(other))),
                }
            }
        }
        Some(_) => {
            return Err("The value of the field 'QueryParameters' has an invalid format".into());
        }
    }
    let transform = p.get("Transform");
    let url_encoded = match transform
        .and_then(|t| t.get("RequestBodyEncoding"))
        .and_then(Value::as_str)
    {
        None | Some("NONE") => false,
        Some("URL_ENCODED") => true,
        Some(other) => {
            return Err(format!(
                "The value of the field 'Transform.RequestBodyEncoding' is invalid: {other}"
            ));
        }
    };
    let array_format = match transform
        .and_then(|t| t.get("RequestEncodingOptions"))
        .and_then(|o| o.get("ArrayFormat"))
        .and_then(Value::as_str)
    {
        None | Some("INDICES") => ArrayFormat::Indices,
        Some("REPEAT") => ArrayFormat::Repeat,
        Some("COMMAS") => ArrayFormat::Commas,
        Some("BRACKETS") => ArrayFormat::Brackets,
        Some(other) => {
            return Err(format!(
                "The value of the field 'Transform.RequestEncodingOptions.ArrayFormat' is invalid: {other}"
            ));
        }
    };
    let body = p.get("RequestBody").filter(|b| !b.is_null()).cloned();
    Ok(Call {
        url,
        method,
        connection_arn,
        headers,
        query,
        body,
        url_encoded,
        array_format,
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `a[0]=x&a[1]=y` and friends, for URL-encoded bodies.
fn form_encode(body: &Map<String, Value>, format: ArrayFormat) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in body {
        match v {
            Value::Array(items) => match format {
                ArrayFormat::Indices => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, x)| pairs.push((format!("{k}[{i}]"), scalar(x)))),
                ArrayFormat::Repeat => items
                    .iter()
                    .for_each(|x| pairs.push((k.clone(), scalar(x)))),
                ArrayFormat::Commas => pairs.push((
                    k.clone(),
                    items.iter().map(scalar).collect::<Vec<_>>().join(","),
                )),
                ArrayFormat::Brackets => items
                    .iter()
                    .for_each(|x| pairs.push((format!("{k}[]"), scalar(x)))),
            },
            other => pairs.push((k.clone(), scalar(other))),
        }
    }
    encode_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The HTTP Task's names for failures along the connection's path (call-https-apis.html,
/// "Errors").
impl From<InvokeError> for StatesError {
    fn from(e: InvokeError) -> Self {
        let name = match e.kind {
            InvokeErrorKind::Socket => "States.Http.Socket",
            InvokeErrorKind::Runtime => "States.Runtime",
            InvokeErrorKind::InvalidConnectionState => {
                "Events.ConnectionResource.InvalidConnectionState"
            }
            InvokeErrorKind::InvalidPrivateConnectionState => {
                "Events.ConnectionResource.InvalidPrivateConnectionState"
            }
            InvokeErrorKind::AccessDenied => "Events.ConnectionResource.AccessDenied",
            InvokeErrorKind::InternalError => "Events.ConnectionResource.InternalError",
        };
        StatesError::new(name, e.message)
    }
}

fn http_date_reason(status: http::StatusCode) -> String {
    status.canonical_reason().unwrap_or("").to_string()
}

/// Runs one HTTP Task call.
pub async fn invoke(ctx: &TaskContext<'_>, params: &Value) -> Result<Value, StatesError> {
    let trace = ctx.trace;
    let call = parse_call(params).map_err(|reason| ctx.bad_parameters(params, &reason))?;
    trace.info(
        "sfn",
        format!(
            "HTTP Task {}: {} https://{}{} via {}",
            ctx.state_name,
            call.method,
            call.url.host,
            call.url.path_and_query,
            call.connection_arn
        ),
    );
    if call.url.scheme != "https" {
        // The HTTP Task calls HTTPS endpoints only; the run fails before any connection is made.
        trace.hop(
            "sfn",
            Verdict::Refuse,
            format!(
                "{}: the HTTP Task supports HTTPS endpoints only",
                call.url.scheme
            ),
        );
        return Err(ctx.bad_parameters(
            params,
            "The ApiEndpoint must use HTTPS: only HTTPS endpoints are supported by the HTTP Task",
        ));
    }
    if let Some((k, _)) = call.headers.iter().find(|(k, _)| is_forbidden_header(k)) {
        return Err(ctx.bad_parameters(
            params,
            &format!(
                "The 'Headers' field contains unsupported values: [{}]",
                k.to_ascii_lowercase()
            ),
        ));
    }
    if call.url_encoded {
        let ct = call
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        if ct != Some("application/x-www-form-urlencoded") {
            return Err(ctx.bad_parameters(params, "RequestBodyEncoding URL_ENCODED requires the header content-type: application/x-www-form-urlencoded"));
        }
    }

    let world = ctx.world;
    let endpoint = format!("https://{}{}", call.url.host, call.url.path_and_query);
    // The execution role's calls are requests to the machine's Region (aws:RequestedRegion).
    let region = ctx
        .state_machine_arn
        .split(':')
        .nth(3)
        .unwrap_or(world.region())
        .to_string();
    // One reading of the clock for both requests' contexts (nothing waits in between).
    let now = world.clock().now_utc();
    let iam_ctx = RequestContext::for_request(now, &region)
        .with("states:HTTPMethod", call.method.as_str())
        .with("states:HTTPEndpoint", endpoint.clone());
    world
        .iam()
        .authorize(
            ctx.principal,
            "states:InvokeHTTPEndpoint",
            ctx.state_machine_arn,
            &iam_ctx,
            None,
            &[],
            DenialFormat::PolicyType,
            trace,
        )
        // fidelity: AWS documents no error name for a role without states:InvokeHTTPEndpoint;
        // vpcgate fails the task with States.TaskFailed and IAM's message (README, fidelity notes).
        .map_err(|d| StatesError::new("States.TaskFailed", d.message))?;

    // The connection and its credentials.
    let conn = world
        .connections()
        .by_arn(&call.connection_arn)
        .map_err(|e| {
            trace.hop("events", Verdict::Fail, e.to_string());
            StatesError::new("Events.ConnectionResource.ResourceNotFound", e.to_string())
        })?;
    let plain_ctx = RequestContext::for_request(now, &region);
    let denied = |d: crate::authz::Denied| {
        StatesError::new("Events.ConnectionResource.AccessDenied", d.message)
    };
    for (action, resource) in [
        ("events:RetrieveConnectionCredentials", &conn.arn),
        ("secretsmanager:GetSecretValue", &conn.secret_arn),
        ("secretsmanager:DescribeSecret", &conn.secret_arn),
    ] {
        world
            .iam()
            .authorize(
                ctx.principal,
                action,
                resource,
                &plain_ctx,
                None,
                &[],
                DenialFormat::PolicyType,
                trace,
            )
            .map_err(denied)?;
    }
    let secret = world
        .secrets()
        .get(&conn.secret_arn)
        .map_err(|e| StatesError::new("Events.ConnectionResource.InternalError", e.to_string()))?;
    trace.pass_fmt(
        "events",
        format_args!(
            "connection {} ({}) credentials from secret {}",
            conn.name,
            conn.authorization.kind(),
            secret.name
        ),
    );

    // The credentials come from the secret as it is now, not from the connection's record.
    let conn = conn.with_secret(&secret.value);
    let outcome = tokio::time::timeout(HTTP_TASK_TIMEOUT, send(ctx, &conn, call)).await;
    match outcome {
        Ok(result) => result,
        Err(_) => {
            trace.hop(
                "sfn",
                Verdict::Fail,
                format!(
                    "no response within {} s: the HTTP Task fails with States.Http.Socket",
                    HTTP_TASK_TIMEOUT.as_secs()
                ),
            );
            Err(StatesError::new(
                "States.Http.Socket",
                format!(
                    "The HTTP request to {endpoint} timed out after {} seconds",
                    HTTP_TASK_TIMEOUT.as_secs()
                ),
            ))
        }
    }
}

async fn send(
    ctx: &TaskContext<'_>,
    conn: &ConnectionConfig,
    call: Call,
) -> Result<Value, StatesError> {
    let region = ctx.world.region();
    let mut headers = call.headers.clone();
    merge(&mut headers, &conn.invocation_parameters.headers, true);
    let inv = Invoker {
        reach: ctx.world,
        principal: ctx.principal,
        trace: ctx.trace,
    };
    invoke::credentials(&inv, conn, &mut headers).await?;
    let mut query = call.query.clone();
    merge(&mut query, &conn.invocation_parameters.query, false);

    // Body: the task's, with the connection's body parameters merged in (connection wins).
    let mut body = call.body.clone();
    if !conn.invocation_parameters.body.is_empty() {
        match &mut body {
            Some(Value::String(_)) => {
                return Err(StatesError::new(
                    "States.Runtime",
                    "The RequestBody is a string, so the connection's body parameters cannot be merged into it",
                ));
            }
            Some(Value::Object(map)) => {
                for p in &conn.invocation_parameters.body {
                    map.insert(p.key.clone(), json!(p.value));
                }
            }
            None => {
                body = Some(Value::Object(
                    conn.invocation_parameters
                        .body
                        .iter()
                        .map(|p| (p.key.clone(), json!(p.value)))
                        .collect(),
                ));
            }
            Some(_) => {}
        }
    }
    let body_bytes = match &body {
        None => Bytes::new(),
        Some(Value::Object(map)) if call.url_encoded => {
            Bytes::from(form_encode(map, call.array_format))
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=UTF-8".into(),
        ));
    }
    headers.push((
        "User-Agent".into(),
        format!("Amazon|StepFunctions|HttpInvoke|{region}"),
    ));
    headers.push(("Range".into(), format!("bytes=0-{MAX_BODY}")));

    let mut path = call.url.path_and_query.clone();
    append_query(
        &mut path,
        &encode_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    let resp = invoke::exchange(
        &inv,
        conn,
        &call.url.host,
        call.url.port,
        call.method.clone(),
        &path,
        &headers,
        body_bytes,
    )
    .await?;
    if let Some(capture) = ctx.capture {
        let mut secret_headers: Vec<String> = conn
            .invocation_parameters
            .headers
            .iter()
            .map(|p| p.key.to_ascii_lowercase())
            .collect();
        secret_headers.push(match &conn.authorization {
            Authorization::ApiKey { name, .. } => name.to_ascii_lowercase(),
            _ => "authorization".to_string(),
        });
        *capture.lock().expect("capture lock") = Some(HttpCapture {
            method: call.method.to_string(),
            url: format!("https://{}{}", call.url.host, call.url.path_and_query),
            query: query.clone(),
            request_headers: headers.clone(),
            request_body: body.clone(),
            secret_headers,
            secret_query: conn
                .invocation_parameters
                .query
                .iter()
                .map(|p| p.key.clone())
                .collect(),
            secret_body: conn
                .invocation_parameters
                .body
                .iter()
                .map(|p| p.key.clone())
                .collect(),
            status: resp.status.as_u16(),
            status_text: resp.status.canonical_reason().unwrap_or("").to_string(),
            response_headers: resp
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).to_string(),
                    )
                })
                .collect(),
            response_body: String::from_utf8_lossy(&resp.body).to_string(),
        });
    }
    if matches!(resp.status.as_u16(), 401 | 407)
        && matches!(
            conn.authorization,
            Authorization::OAuthClientCredentials { .. }
        )
    {
        // EventBridge refreshes the token on 401/407 (eb-target-connection-auth).
        ctx.world.connections().forget_token(&conn.arn);
    } else if matches!(resp.status.as_u16(), 401 | 407) {
        // Basic and API key connections are de-authorized by a 401 or 407
        // (eb-target-connection-deauthorize.html).
        ctx.trace.hop(
            "events",
            Verdict::Fail,
            format!(
                "{} from the endpoint: connection {} is now DEAUTHORIZED",
                resp.status, conn.name
            ),
        );
        ctx.world.connections().deauthorize(&conn.arn);
    }
    output(ctx, resp)
}

fn output(ctx: &TaskContext<'_>, resp: Exchange) -> Result<Value, StatesError> {
    let content_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == "application/octet-stream"
        || media.starts_with("image/")
        || media.starts_with("video/")
        || media.starts_with("audio/")
    {
        ctx.trace.hop(
            "sfn",
            Verdict::Fail,
            format!("response content type {media} is not supported"),
        );
        return Err(StatesError::new(
            "States.Runtime",
            format!("The response content type '{content_type}' is not supported by the HTTP Task"),
        ));
    }
    let Ok(text) = std::str::from_utf8(&resp.body) else {
        return Err(StatesError::new(
            "States.Runtime",
            "The response body is not valid text",
        ));
    };
    if !resp.status.is_success() {
        ctx.trace.hop(
            "sfn",
            Verdict::Fail,
            format!(
                "HTTP {}: States.Http.StatusCode.{}",
                resp.status,
                resp.status.as_u16()
            ),
        );
        return Err(StatesError::new(
            format!("States.Http.StatusCode.{}", resp.status.as_u16()),
            http_date_reason(resp.status),
        ));
    }
    let is_json = media == "application/json" || media.ends_with("+json");
    let response_body = if is_json {
        serde_json::from_str(text).unwrap_or_else(|_| json!(text))
    } else {
        json!(text)
    };
    let mut headers = Map::new();
    for (name, value) in &resp.headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let entry = headers
            .entry(name.as_str().to_string())
            .or_insert_with(|| json!([]));
        if let Value::Array(items) = entry {
            items.push(json!(String::from_utf8_lossy(value.as_bytes())));
        }
    }
    ctx.trace.pass_fmt(
        "sfn",
        format_args!("HTTP {} ({} bytes)", resp.status, resp.body.len()),
    );
    // Built member by member: `json!` would copy the headers' map value by value.
    let mut out = Map::with_capacity(4);
    out.insert("Headers".into(), Value::Object(headers));
    out.insert("ResponseBody".into(), response_body);
    out.insert("StatusCode".into(), json!(resp.status.as_u16()));
    out.insert(
        "StatusText".into(),
        json!(resp.status.canonical_reason().unwrap_or("")),
    );
    Ok(Value::Object(out))
}

/// The raw request and response of one HTTP Task call, for TestState's `TRACE` inspection level.
#[derive(Clone, Debug, Default)]
pub struct HttpCapture {
    method: String,
    url: String,
    query: Vec<(String, String)>,
    request_headers: Vec<(String, String)>,
    request_body: Option<Value>,
    secret_headers: Vec<String>,
    secret_query: Vec<String>,
    secret_body: Vec<String>,
    status: u16,
    status_text: String,
    response_headers: Vec<(String, String)>,
    response_body: String,
}

impl HttpCapture {
    /// `inspectionData.request` and `.response` as TestState returns them: headers as one
    /// `[Name: value, ...]` string, the status code as a string. Unless `reveal_secrets`, what the
    /// connection added (its headers, query parameters, body fields and the credentials) is left
    /// out ("Step Functions omits all secrets in the HTTP request and response data",
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html>).
    pub fn inspection(&self, reveal_secrets: bool) -> (Value, Value) {
        let hidden = |name: &str| {
            !reveal_secrets
                && self
                    .secret_headers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(name))
        };
        let headers: Vec<String> = self
            .request_headers
            .iter()
            .filter(|(k, _)| !hidden(k))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let query = encode_pairs(
            self.query
                .iter()
                .filter(|(k, _)| reveal_secrets || !self.secret_query.contains(k))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let mut url = self.url.clone();
        append_query(&mut url, &query);
        let body = match &self.request_body {
            None => String::new(),
            Some(Value::Object(map)) => {
                let shown: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| reveal_secrets || !self.secret_body.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(shown).to_string()
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let response_headers: Vec<String> = self
            .response_headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        (
            json!({"protocol": "https", "method": self.method, "url": url, "headers": format!("[{}]", headers.join(", ")), "body": body}),
            json!({
                "protocol": "https",
                "statusCode": self.status.to_string(),
                "statusMessage": self.status_text,
                "headers": format!("[{}]", response_headers.join(", ")),
                "body": self.response_body,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Parameter;

    #[test]
    fn forbidden_headers_follow_the_documented_list() {
        for h in [
            "Authorization",
            "host",
            "X-Amz-Date",
            "x-amzn-trace-id",
            "X-Forwarded-For",
            "Cache-Control",
        ] {
            assert!(is_forbidden_header(h), "{h}");
        }
        for h in ["Content-Type", "Accept", "x-api-key", "x-dummy-key"] {
            assert!(!is_forbidden_header(h), "{h}");
        }
    }

    #[test]
    fn array_formats_encode_as_documented() {
        let body = json!({"a": ["x", "y"]});
        let map = body.as_object().unwrap();
        assert_eq!(
            form_encode(map, ArrayFormat::Indices),
            "a%5B0%5D=x&a%5B1%5D=y"
        );
        assert_eq!(form_encode(map, ArrayFormat::Repeat), "a=x&a=y");
        assert_eq!(form_encode(map, ArrayFormat::Commas), "a=x%2Cy");
        assert_eq!(
            form_encode(map, ArrayFormat::Brackets),
            "a%5B%5D=x&a%5B%5D=y"
        );
    }

    #[test]
    fn the_connection_wins_on_duplicate_keys() {
        let mut task = vec![
            ("X-Key".to_string(), "task".to_string()),
            ("Other".to_string(), "1".to_string()),
        ];
        merge(
            &mut task,
            &[Parameter {
                key: "x-key".into(),
                value: "conn".into(),
                is_value_secret: true,
            }],
            true,
        );
        assert_eq!(
            task,
            vec![
                ("Other".to_string(), "1".to_string()),
                ("x-key".to_string(), "conn".to_string())
            ]
        );
    }

    #[test]
    fn parameters_are_validated() {
        let ok = parse_call(
            &json!({"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET", "Authentication": {"ConnectionArn": "arn"}}),
        );
        assert!(ok.is_ok());
        let missing =
            parse_call(&json!({"Method": "GET", "Authentication": {"ConnectionArn": "arn"}}))
                .unwrap_err();
        assert!(missing.contains("ApiEndpoint"));
        let bad = parse_call(&json!({"ApiEndpoint": "https://x/", "Method": "FETCH", "Authentication": {"ConnectionArn": "arn"}})).unwrap_err();
        assert!(bad.contains("Method"));
    }
}
