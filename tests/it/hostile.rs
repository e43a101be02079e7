//! The bad-input catalogue: hostile and malformed requests, scenarios and templates, each
//! answered in AWS's shape (status, error type, message) — never a panic, a hang or lost state.
//! After every wire probe `/_vpcgate/health` must still answer within 2 s.
//!
//! Sources for the shapes: the JSON protocols' errors (`__type`, `x-amzn-ErrorType`,
//! <https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html>); API Gateway's 413 for a body
//! past 10 MB (`HTTP content length exceeded 10485760 bytes.`, a captured response in
//! koki-develop/lgtm-generator#10); Step Functions' API reference for each operation's errors;
//! CloudFormation's "Template format error" texts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vpcgate::edge::{AuthMode, Edge, LocalEndpoint};
use vpcgate_tests::scenario;

/// Serves the bundled Pattern B scenario (REST API, users, state machines) on loopback.
fn serve(auth: AuthMode, local: LocalEndpoint) -> (SocketAddr, String) {
    let s = scenario("pattern-b.json");
    let (model, _) = s.build(&Default::default()).unwrap();
    let api = model.apigw.rest_apis[0].id.clone();
    (crate::serve::serve_model_with(model, auth, local), api)
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    /// The error type: `x-amzn-ErrorType` (up to `:`), else the body's `__type`.
    fn error_type(&self) -> String {
        if let Some(t) = self
            .headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
        {
            return t.split(':').next().unwrap_or_default().to_string();
        }
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["__type"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
    fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or(v.get("Message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| self.body.clone())
    }
}

async fn send(addr: SocketAddr, req: http::Request<Full<Bytes>>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("an answer within 10 s")
        .expect("a response");
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Raw bytes on a fresh connection; the status code of the first response line.
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer within 10 s")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Raw bytes on a fresh connection; the status code and the whole response text (headers in
/// lowercase), read until the server closes or 2 s pass without more.
async fn send_raw_text(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if let Some(head_end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..head_end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|len| out.len() >= head_end + 4 + len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        format!("{}\r\n\r\n{body}", head.to_ascii_lowercase()),
    )
}

async fn healthy(addr: SocketAddr) {
    let req = http::Request::get("/_vpcgate/health")
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let a = tokio::time::timeout(Duration::from_secs(2), send(addr, req))
        .await
        .expect("health answers within 2 s");
    assert_eq!(a.status, 200);
}

fn json_call(target: &str, body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    let version = if target.starts_with("AWSEvents.") {
        "1.1"
    } else {
        "1.0"
    };
    http::Request::post("/")
        .header("host", "127.0.0.1")
        .header("x-amz-target", target)
        .header("content-type", format!("application/x-amz-json-{version}"))
        .body(Full::new(body.into()))
        .unwrap()
}

/// One wire case: the request, and the status, error type and message text it must get.
struct WireCase {
    name: &'static str,
    req: http::Request<Full<Bytes>>,
    status: u16,
    error: &'static str,
    message: &'static str,
}

fn case(
    name: &'static str,
    req: http::Request<Full<Bytes>>,
    status: u16,
    error: &'static str,
    message: &'static str,
) -> WireCase {
    WireCase {
        name,
        req,
        status,
        error,
        message,
    }
}

const SFN_ARN: &str = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:";
const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
/// A role Step Functions may assume: pattern-b.json's (CreateStateMachine refuses a role that
/// does not exist or does not trust states.amazonaws.com, as AWS does).
const ROLE: &str = "arn:aws:iam::123456789012:role/eb-demo-pattern-b-role";

fn sfn(op: &str, body: Value) -> http::Request<Full<Bytes>> {
    json_call(&format!("AWSStepFunctions.{op}"), body.to_string())
}

fn create(name: &str, definition: &str) -> http::Request<Full<Bytes>> {
    sfn(
        "CreateStateMachine",
        json!({"name": name, "definition": definition, "roleArn": ROLE}),
    )
}

/// Now as `X-Amz-Date` writes it.
fn now_amz() -> String {
    vpcgate::clock::Clock::system()
        .now_utc()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn wire_cases(api: &str) -> Vec<WireCase> {
    let rest = |path: &str| format!("/restapis/{api}/prod/_user_request_{path}");
    vec![
        // ---- the JSON protocols' envelope ----
        case("body is not JSON", json_call("AWSStepFunctions.ListStateMachines", "{nope"), 400, "SerializationException", "not valid JSON"),
        case("body is a JSON array", json_call("AWSStepFunctions.ListStateMachines", "[]"), 400, "SerializationException", "JSON object"),
        case("body is a JSON string", json_call("AWSStepFunctions.ListStateMachines", "\"x\""), 400, "SerializationException", "JSON object"),
        case("body is invalid UTF-8", json_call("AWSStepFunctions.ListStateMachines", Bytes::from_static(b"{\"a\":\"\xff\"}")), 400, "SerializationException", "not valid JSON"),
        case("body nested 10000 deep", json_call("AWSStepFunctions.ListStateMachines", "[".repeat(10_000)), 400, "SerializationException", "not valid JSON"),
        case("unknown Step Functions operation", json_call("AWSStepFunctions.DropAllTables", "{}"), 400, "UnknownOperationException", ""),
        case("unknown X-Amz-Target service", json_call("DynamoDB_20120810.ListTables", "{}"), 400, "UnknownOperationException", "DynamoDB_20120810.ListTables"),
        case("empty X-Amz-Target operation", json_call("AWSStepFunctions.", "{}"), 400, "UnknownOperationException", ""),
        // ---- Step Functions: names, ARNs, definitions ----
        case("DescribeStateMachine without an ARN", sfn("DescribeStateMachine", json!({})), 400, "ValidationException", "stateMachineArn"),
        case("DescribeStateMachine with a malformed ARN", sfn("DescribeStateMachine", json!({"stateMachineArn": "not-an-arn"})), 400, "InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'"),
        case("DescribeStateMachine with an ARN of another service", sfn("DescribeStateMachine", json!({"stateMachineArn": "arn:aws:s3:::bucket"})), 400, "InvalidArn", "Invalid Arn"),
        case("DescribeStateMachine unknown", sfn("DescribeStateMachine", json!({"stateMachineArn": format!("{SFN_ARN}nope")})), 400, "StateMachineDoesNotExist", "State Machine Does Not Exist"),
        case("CreateStateMachine without a name", sfn("CreateStateMachine", json!({"definition": PASS, "roleArn": ROLE})), 400, "ValidationException", "name"),
        case("CreateStateMachine name of 81 characters", create(&"n".repeat(81), PASS), 400, "ValidationException", "at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"),
        case("StartExecution name of 81 characters", sfn("StartExecution", json!({"stateMachineArn": format!("{SFN_ARN}nope"), "name": "e".repeat(81)})), 400, "StateMachineDoesNotExist", ""),
        case("CreateStateMachine name with a space", create("a b", PASS), 400, "InvalidName", "Invalid Name"),
        case("CreateStateMachine name with a wildcard", create("a*", PASS), 400, "InvalidName", "Invalid Name"),
        case("CreateStateMachine name with a control character", create("a\u{1}b", PASS), 400, "InvalidName", "Invalid Name"),
        case("CreateStateMachine definition not JSON", create("cat", "{"), 400, "InvalidDefinition", "Invalid State Machine Definition"),
        case("CreateStateMachine definition a JSON array", create("cat", "[]"), 400, "InvalidDefinition", "Invalid State Machine Definition"),
        case("CreateStateMachine definition without StartAt", create("cat", r#"{"States":{"P":{"Type":"Pass","End":true}}}"#), 400, "InvalidDefinition", "StartAt"),
        case("CreateStateMachine StartAt names no state", create("cat", r#"{"StartAt":"X","States":{"P":{"Type":"Pass","End":true}}}"#), 400, "InvalidDefinition", "MISSING_TRANSITION_TARGET"),
        case("CreateStateMachine state of unknown type", create("cat", r#"{"StartAt":"P","States":{"P":{"Type":"Lambda","End":true}}}"#), 400, "InvalidDefinition", "Type"),
        case("CreateStateMachine Choice without Choices", create("cat", r#"{"StartAt":"C","States":{"C":{"Type":"Choice"}}}"#), 400, "InvalidDefinition", "Choices"),
        case("CreateStateMachine Wait with negative Seconds", create("cat", r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":-1,"End":true}}}"#), 400, "InvalidDefinition", "Seconds"),
        case("CreateStateMachine Task with TimeoutSeconds 0", create("cat", r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::http:invoke","TimeoutSeconds":0,"End":true}}}"#), 400, "InvalidDefinition", "TimeoutSeconds"),
        case("CreateStateMachine bad JSONPath", create("cat", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$[","End":true}}}"#), 400, "InvalidDefinition", "InputPath"),
        case("CreateStateMachine unknown intrinsic", create("cat", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"a.$":"States.Nope(1)"},"End":true}}}"#), 400, "InvalidDefinition", "States.Nope"),
        case("CreateStateMachine bad JSONata", create("cat", r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% 1 + %}","End":true}}}"#), 400, "InvalidDefinition", ""),
        case("CreateStateMachine unknown top-level field", create("cat", r#"{"StartAt":"P","Foo":1,"States":{"P":{"Type":"Pass","End":true}}}"#), 400, "InvalidDefinition", "Foo"),
        case("CreateStateMachine state with both End and Next", create("cat", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Next":"P"}}}"#), 400, "InvalidDefinition", ""),
        case("CreateStateMachine malformed role ARN", sfn("CreateStateMachine", json!({"name": "cat", "definition": PASS, "roleArn": "role"})), 400, "InvalidArn", "Invalid Arn: 'Invalid ARN prefix: role'"),
        case("CreateStateMachine role ARN of another service", sfn("CreateStateMachine", json!({"name": "cat", "definition": PASS, "roleArn": "arn:aws:s3:::bucket"})), 400, "InvalidArn", "Resource type not valid in this context"),
        case("CreateStateMachine unknown type", sfn("CreateStateMachine", json!({"name": "cat", "definition": PASS, "roleArn": ROLE, "type": "FAST"})), 400, "ValidationException", "type"),
        case("StartExecution of an unknown machine", sfn("StartExecution", json!({"stateMachineArn": format!("{SFN_ARN}nope")})), 400, "StateMachineDoesNotExist", "State Machine Does Not Exist"),
        case("StartExecution with a malformed machine ARN", sfn("StartExecution", json!({"stateMachineArn": "x"})), 400, "InvalidArn", "Invalid Arn"),
        case("DescribeExecution unknown", sfn("DescribeExecution", json!({"executionArn": "arn:aws:states:ap-northeast-1:123456789012:execution:m:e"})), 400, "ExecutionDoesNotExist", "Execution Does Not Exist"),
        case("DescribeExecution malformed ARN", sfn("DescribeExecution", json!({"executionArn": "arn:aws:states"})), 400, "InvalidArn", "Invalid Arn"),
        case("StopExecution unknown", sfn("StopExecution", json!({"executionArn": "arn:aws:states:ap-northeast-1:123456789012:execution:m:e"})), 400, "ExecutionDoesNotExist", "Execution Does Not Exist"),
        case("GetExecutionHistory unknown", sfn("GetExecutionHistory", json!({"executionArn": "arn:aws:states:ap-northeast-1:123456789012:execution:m:e"})), 400, "ExecutionDoesNotExist", "Execution Does Not Exist"),
        case("DeleteStateMachine malformed ARN", sfn("DeleteStateMachine", json!({"stateMachineArn": "x"})), 400, "InvalidArn", "Invalid Arn"),
        case("UpdateStateMachine unknown", sfn("UpdateStateMachine", json!({"stateMachineArn": format!("{SFN_ARN}nope"), "definition": PASS})), 400, "StateMachineDoesNotExist", ""),
        case("TestState without a definition", sfn("TestState", json!({"roleArn": ROLE})), 400, "ValidationException", "definition"),
        case("TestState definition not JSON", sfn("TestState", json!({"definition": "{", "roleArn": ROLE})), 400, "InvalidDefinition", ""),
        case("TestState input not JSON", sfn("TestState", json!({"definition": r#"{"Type":"Pass","End":true}"#, "roleArn": ROLE, "input": "{"})), 400, "InvalidExecutionInput", ""),
        case("TestState unknown inspection level", sfn("TestState", json!({"definition": r#"{"Type":"Pass","End":true}"#, "roleArn": ROLE, "inspectionLevel": "ALL"})), 400, "ValidationException", "inspectionLevel"),
        // ---- EventBridge connections ----
        case("CreateConnection without a name", json_call("AWSEvents.CreateConnection", r#"{"AuthorizationType":"API_KEY"}"#), 400, "ValidationException", "name"),
        case("CreateConnection unknown authorization type", json_call("AWSEvents.CreateConnection", r#"{"Name":"c","AuthorizationType":"KERBEROS","AuthParameters":{}}"#), 400, "ValidationException", "authorizationType"),
        case("DescribeConnection unknown", json_call("AWSEvents.DescribeConnection", r#"{"Name":"nope"}"#), 400, "ResourceNotFoundException", "nope"),
        case("DeleteConnection unknown", json_call("AWSEvents.DeleteConnection", r#"{"Name":"nope"}"#), 400, "ResourceNotFoundException", "nope"),
        case("CreateConnection name with a slash", json_call("AWSEvents.CreateConnection", r#"{"Name":"a/b","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"k","ApiKeyValue":"v"}}}"#), 400, "ValidationException", "name"),
        // ---- vpcgate's own endpoints ----
        case("/_vpcgate/world for a rebinding Host", http::Request::get("/_vpcgate/world").header("host", "evil.example:4566").body(Full::new(Bytes::new())).unwrap(), 403, "", "loopback Host"),
        case("/_vpcgate/health for a public Host", http::Request::get("/_vpcgate/health").header("host", "203.0.113.9").body(Full::new(Bytes::new())).unwrap(), 403, "", "loopback Host"),
        case("/_vpcgate/ca.pem for a look-alike Host", http::Request::get("/_vpcgate/ca.pem").header("host", "localhost.evil.example").body(Full::new(Bytes::new())).unwrap(), 403, "", "loopback Host"),
        case("/_vpcgate/ unknown path", http::Request::get("/_vpcgate/nope").header("host", "localhost").body(Full::new(Bytes::new())).unwrap(), 404, "", "nothing at GET /_vpcgate/nope"),
        case("no X-Amz-Target and no route", http::Request::post("/").header("host", "127.0.0.1").body(Full::new(Bytes::new())).unwrap(), 404, "", "X-Amz-Target"),
        // ---- API Gateway's data plane (path form) ----
        case("REST API unsigned", http::Request::get(rest("/")).header("host", "127.0.0.1").body(Full::new(Bytes::new())).unwrap(), 403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        case("REST API Authorization without '='", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", "AWS4-HMAC-SHA256 garbage").header("x-amz-date", now_amz()).body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", "missing equal-sign"),
        case("REST API Authorization with an unknown algorithm", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", "AWS5-HMAC Credential=a/b/c/d/e, SignedHeaders=host, Signature=00").header("x-amz-date", now_amz()).body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", ""),
        case("REST API Credential of 3 parts", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00").header("x-amz-date", now_amz()).body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", "5 slash-delimited"),
        case("REST API 4 KiB Credential is not echoed whole", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", format!("AWS4-HMAC-SHA256 Credential={}, SignedHeaders=host, Signature=00", "A".repeat(4096))).header("x-amz-date", now_amz()).body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", "AAAA..."),
        case("REST API bad X-Amz-Date", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/ap-northeast-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00").header("x-amz-date", "yesterday").body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", "ISO-8601"),
        case("REST API signed long ago", http::Request::get(rest("/")).header("host", "127.0.0.1").header("authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/ap-northeast-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00").header("x-amz-date", "20150830T123600Z").body(Full::new(Bytes::new())).unwrap(), 403, "InvalidSignatureException", "Signature expired"),
        case("REST API presigned X-Amz-Expires past a week", http::Request::get(format!("{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fap-northeast-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=999999999&X-Amz-SignedHeaders=host&X-Amz-Signature=00", rest("/"))).header("host", "127.0.0.1").body(Full::new(Bytes::new())).unwrap(), 403, "", "604800"),
        case("REST API presigned with missing parameters", http::Request::get(format!("{}?X-Amz-Algorithm=AWS4-HMAC-SHA256", rest("/"))).header("host", "127.0.0.1").body(Full::new(Bytes::new())).unwrap(), 403, "IncompleteSignatureException", "X-Amz-Credential"),
        case("REST API unknown stage", http::Request::get(format!("/restapis/{api}/nope/_user_request_/")).header("host", "127.0.0.1").body(Full::new(Bytes::new())).unwrap(), 403, "", "Forbidden"),
    ]
}

#[test]
fn the_wire_catalogue_gets_aws_shapes_and_the_server_stays_healthy() {
    let (addr, api) = serve(AuthMode::Off, LocalEndpoint::default());
    let (signed_addr, _) = serve(AuthMode::Verify, LocalEndpoint::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    rt.block_on(async {
        for c in wire_cases(&api) {
            n += 1;
            // API Gateway cases go to the verifying server (SigV4 is API Gateway's product).
            let target = if c.req.uri().path().starts_with("/restapis/") {
                signed_addr
            } else {
                addr
            };
            let a = send(target, c.req).await;
            let mut wrong = Vec::new();
            if a.status != c.status {
                wrong.push(format!("status {} (want {})", a.status, c.status));
            }
            if !c.error.is_empty() && a.error_type() != c.error {
                wrong.push(format!("type {:?} (want {})", a.error_type(), c.error));
            }
            if !a.message().contains(c.message) {
                wrong.push(format!("message {:?} lacks {:?}", a.message(), c.message));
            }
            if a.body.len() > 16 * 1024 {
                wrong.push(format!("an error body of {} bytes", a.body.len()));
            }
            if !wrong.is_empty() {
                failures.push(format!("{}: {}", c.name, wrong.join("; ")));
            }
            healthy(addr).await;
            healthy(signed_addr).await;
        }
    });
    assert!(n >= 55, "{n} wire cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_http_gets_400_or_431_not_413_or_a_hang() {
    let (addr, _) = serve(AuthMode::Off, LocalEndpoint::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A chunked body whose chunk size is not hexadecimal: a malformed request (400).
        let chunked = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
        assert_eq!(send_raw(addr, chunked).await, 400);
        // A header section past the 64 KiB limit: 431.
        let mut huge = b"GET /_vpcgate/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 100 * 1024));
        huge.extend(b"\r\n\r\n");
        assert_eq!(send_raw(addr, &huge).await, 431);
        // A Content-Length past 10 MiB is refused before the body is read.
        let declared = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 99999999999\r\n\r\n";
        assert_eq!(send_raw(addr, declared).await, 413);
        // A body past 10 MiB: refused from its Content-Length, in each protocol's shape, before
        // the client has sent it.
        let big = |target: Option<&str>, path: &str| {
            let mut r = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11534336\r\n");
            if let Some(t) = target {
                r.push_str(&format!("X-Amz-Target: {t}\r\n"));
            }
            r.push_str("\r\n{\"a\": \"");
            r.into_bytes()
        };
        let (status, text) = send_raw_text(addr, &big(Some("AWSStepFunctions.StartExecution"), "/")).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("x-amzn-errortype: requestentitytoolargeexception"), "{text}");
        assert!(text.contains("HTTP content length exceeded 10485760 bytes."), "{text}");
        let (status, text) = send_raw_text(addr, &big(Some("AWSEvents.ListConnections"), "/")).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("application/x-amz-json-1.1"), "{text}");
        let (status, text) = send_raw_text(addr, &big(None, "/restapis/x/prod/_user_request_/")).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("content-type: text; charset=utf-8"), "{text}");
        assert!(text.ends_with("HTTP content length exceeded 10485760 bytes."), "{text}");
        // Not HTTP at all.
        assert_eq!(send_raw(addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n").await, 400);
        healthy(addr).await;
    });
}

#[tokio::test(start_paused = true)]
async fn a_body_trickled_slower_than_the_read_timeout_gets_408() {
    // The edge's handler on a paused clock: the body never completes, the 30 s read limit fires
    // (virtual time), and the client gets its protocol's 408.
    let (model, world) = vpcgate_tests::world(&scenario("pattern-a.json"));
    drop(model);
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let (client, server) = tokio::io::duplex(1024);
    let serve = tokio::spawn(async move {
        let edge = edge.clone();
        let service = hyper::service::service_fn(move |req| {
            let edge = edge.clone();
            async move { Ok::<_, std::convert::Infallible>(vpcgate::edge::handle(edge, req).await) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service)
            .await;
    });
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(client))
            .await
            .unwrap();
    tokio::spawn(conn);
    let (mut tx, body) = futures_channel_body();
    let req = http::Request::post("/")
        .header("host", "127.0.0.1")
        .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
        .header("content-length", "100")
        .body(body)
        .unwrap();
    let pending = tokio::spawn(async move { sender.send_request(req).await });
    tx.send(Bytes::from_static(b"{")).await;
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 408);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "RequestTimeoutException");
    drop(tx);
    serve.abort();
}

type Frames =
    futures::channel::mpsc::Receiver<Result<hyper::body::Frame<Bytes>, std::convert::Infallible>>;

/// A request body fed by hand: one chunk now, the rest never.
fn futures_channel_body() -> (BodySender, http_body_util::StreamBody<Frames>) {
    let (tx, rx) = futures::channel::mpsc::channel(4);
    (BodySender(tx), http_body_util::StreamBody::new(rx))
}

struct BodySender(
    futures::channel::mpsc::Sender<Result<hyper::body::Frame<Bytes>, std::convert::Infallible>>,
);

impl BodySender {
    async fn send(&mut self, b: Bytes) {
        use futures::SinkExt;
        self.0.send(Ok(hyper::body::Frame::data(b))).await.unwrap();
    }
}

#[test]
fn world_hides_secret_keys_unless_asked() {
    let (hidden, _) = serve(AuthMode::Off, LocalEndpoint::default());
    let (shown, _) = serve(
        AuthMode::Off,
        LocalEndpoint {
            expose_secrets: true,
            listen: None,
        },
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let get = |addr| {
            http::Request::get("/_vpcgate/world")
                .header("host", format!("localhost:{}", SocketAddr::port(&addr)))
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let a = send(hidden, get(hidden)).await;
        assert_eq!(a.status, 200);
        let v: Value = serde_json::from_str(&a.body).unwrap();
        let key = &v["users"][0]["accessKeys"][0];
        assert!(key["accessKeyId"].is_string(), "{v}");
        assert!(key.get("secretAccessKey").is_none(), "{key}");
        let a = send(shown, get(shown)).await;
        let v: Value = serde_json::from_str(&a.body).unwrap();
        assert!(v["users"][0]["accessKeys"][0]["secretAccessKey"].is_string());
        // [::1] and 127.0.0.1 with a port are loopback too.
        for host in ["[::1]:4566", "127.0.0.1:4566", "LOCALHOST"] {
            let req = http::Request::get("/_vpcgate/health")
                .header("host", host)
                .body(Full::new(Bytes::new()))
                .unwrap();
            assert_eq!(send(hidden, req).await.status, 200, "{host}");
        }
    });
}

#[test]
fn serve_refuses_a_non_loopback_listen_address_without_allow_remote() {
    let code = vpcgate::cli::run(["vpcgate", "serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(code, std::process::ExitCode::from(2));
}

// ---- scenarios and templates ------------------------------------------------------------------

/// One load case: a scenario's text (or a path), and text its error must contain.
struct LoadCase {
    name: &'static str,
    file: &'static str,
    text: String,
    message: &'static str,
}

fn load(name: &'static str, file: &'static str, text: &str, message: &'static str) -> LoadCase {
    LoadCase {
        name,
        file,
        text: text.to_string(),
        message,
    }
}

const MACHINE: &str = r#""R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}, "M": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/r", "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}"#;

fn with_case(case: &str) -> String {
    format!(r#"{{"Resources": {{{MACHINE}}}, "Vpcgate": {{"Cases": [{case}]}}}}"#)
}

fn load_cases() -> Vec<LoadCase> {
    vec![
        load(
            "empty JSON file",
            "empty.json",
            "",
            "not valid JSON: Template format error: the file is empty",
        ),
        load(
            "blank YAML file",
            "blank.yaml",
            "  \n\n",
            "not valid YAML: Template format error: the file is empty",
        ),
        load("a JSON array", "a.json", "[1]", "a scenario is an object"),
        load(
            "truncated JSON",
            "t.json",
            "{\"Resources\": {",
            "JSON not well-formed",
        ),
        load(
            "JSON nested 100000 deep",
            "deep.json",
            &format!("{{\"a\":{}", "[".repeat(100_000)),
            "JSON not well-formed",
        ),
        load(
            "YAML nested 100000 deep",
            "deep.yaml",
            &format!("a: {}", "[".repeat(100_000)),
            "YAML",
        ),
        load(
            "YAML alias bomb",
            "bomb.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
            "alias",
        ),
        load(
            "unknown Vpcgate key",
            "k.json",
            r#"{"Resources": {}, "Vpcgate": {"Nope": 1}}"#,
            "unknown field `Nope`",
        ),
        load(
            "Region not a Region",
            "r.json",
            r#"{"Resources": {}, "Vpcgate": {"Region": "mars-1"}}"#,
            "Vpcgate.Region: \"mars-1\" is not a Region name",
        ),
        load(
            "Region with a path",
            "r2.json",
            r#"{"Resources": {}, "Vpcgate": {"Region": "../../etc"}}"#,
            "is not a Region name",
        ),
        load(
            "AccountId of 11 digits",
            "a.json",
            r#"{"Resources": {}, "Vpcgate": {"AccountId": "12345678901"}}"#,
            "Vpcgate.AccountId: \"12345678901\" is not an account id",
        ),
        load(
            "AccountId with letters",
            "a2.json",
            r#"{"Resources": {}, "Vpcgate": {"AccountId": "12345678901x"}}"#,
            "is not an account id",
        ),
        load(
            "case with an empty Expect",
            "e.json",
            &with_case(r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}, "Expect": {}}"#),
            "Vpcgate.Cases[0]: case \"c\": Expect is empty",
        ),
        load(
            "case with no Expect",
            "e2.json",
            &with_case(r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}}"#),
            "Expect is empty",
        ),
        load(
            "StartExecution case expecting StatusCode",
            "s.json",
            &with_case(
                r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}, "Expect": {"StatusCode": 200}}"#,
            ),
            "Vpcgate.Cases[0].Expect.StatusCode: case \"c\": StatusCode is not checked for a StartExecution case",
        ),
        load(
            "StartExecution case expecting BodyContains",
            "s2.json",
            &with_case(
                r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}, "Expect": {"BodyContains": "x"}}"#,
            ),
            "Expect.BodyContains",
        ),
        load(
            "StartExecution case expecting Headers",
            "s3.json",
            &with_case(
                r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}, "Expect": {"Headers": {"a": "b"}}}"#,
            ),
            "Expect.Headers",
        ),
        load(
            "Request case expecting Status",
            "q.json",
            &with_case(
                r#"{"Name": "c", "Request": {"Api": "X", "Path": "/"}, "Expect": {"Status": "SUCCEEDED"}}"#,
            ),
            "Expect.Status: case \"c\": Status is not checked for a Request case",
        ),
        load(
            "API Request case expecting Cause",
            "q2.json",
            &with_case(
                r#"{"Name": "c", "Request": {"Api": "X", "Path": "/"}, "Expect": {"Cause": "x"}}"#,
            ),
            "Expect.Cause",
        ),
        load(
            "client Request case expecting Status",
            "q3.json",
            &with_case(
                r#"{"Name": "c", "Request": {"From": "I", "Url": "http://x/", "Sign": {"As": "R"}}, "Expect": {"Status": "FAILED"}}"#,
            ),
            // One `Request` dialect since issue 12: the kind no longer says "from a client".
            "Status is not checked for a Request case",
        ),
        load(
            // `\u0053ignAs` is `SignAs` (JSON's escape keeps scripts/migrate_cases.py off it).
            "Request case in the old client dialect",
            "q4.json",
            &with_case(
                r#"{"Name": "c", "Request": {"From": "I", "Url": "http://x/", "\u0053ignAs": "R"}, "Expect": {"StatusCode": 200}}"#,
            ),
            "Vpcgate.Cases[0].Request.SignAs: case \"c\": SignAs is the old client dialect: write \"Sign\": {\"As\": …}",
        ),
        load(
            "case running both",
            "b.json",
            &with_case(
                r#"{"Name": "c", "StartExecution": {"StateMachine": "M"}, "Request": {"Api": "X"}, "Expect": {"Status": "SUCCEEDED"}}"#,
            ),
            "a case runs exactly one of StartExecution, Request or PutEvents",
        ),
        load(
            "case running nothing",
            "n.json",
            &with_case(r#"{"Name": "c", "Expect": {"Status": "SUCCEEDED"}}"#),
            "a case runs exactly one",
        ),
        load(
            "two cases with one name",
            "d.json",
            &format!(
                r#"{{"Resources": {{{MACHINE}}}, "Vpcgate": {{"Cases": [{{"Name": "c", "StartExecution": {{"StateMachine": "M"}}, "Expect": {{"Status": "SUCCEEDED"}}}}, {{"Name": "c", "StartExecution": {{"StateMachine": "M"}}, "Expect": {{"Status": "SUCCEEDED"}}}}]}}}}"#
            ),
            "two cases are named \"c\"",
        ),
        load(
            "Extends a missing file",
            "x.json",
            r#"{"Vpcgate": {"Extends": "nope.json"}}"#,
            "base scenario",
        ),
        load(
            "Extends itself",
            "self.json",
            r#"{"Vpcgate": {"Extends": "self.json"}}"#,
            "Extends chains deeper than 8 files",
        ),
        load(
            "Extends /dev/zero",
            "z.json",
            r#"{"Vpcgate": {"Extends": "/dev/zero"}}"#,
            "not a regular file",
        ),
        load(
            "Extends a folder",
            "f.json",
            r#"{"Vpcgate": {"Extends": "/tmp"}}"#,
            "not a regular file",
        ),
        load(
            "resource without Type",
            "t.json",
            r#"{"Resources": {"R": {"Properties": {}}}}"#,
            "Type",
        ),
        load(
            "resource Type not a string",
            "t2.json",
            r#"{"Resources": {"R": {"Type": 5}}}"#,
            "Type",
        ),
        load(
            "Ref to nothing",
            "ref.json",
            r#"{"Resources": {"R": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Nope"}}}}}"#,
            "Nope",
        ),
        load(
            "GetAtt of an unknown attribute",
            "ga.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}, "S": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Fn::GetAtt": ["V", "Nope"]}, "CidrBlock": "10.0.0.0/24"}}}}"#,
            "Nope",
        ),
        load(
            "unknown intrinsic",
            "fn.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Nope": 1}}}}}"#,
            "Fn::Nope",
        ),
        load(
            "circular DependsOn",
            "cyc.json",
            r#"{"Resources": {"A": {"Type": "AWS::SNS::Topic", "DependsOn": "B"}, "B": {"Type": "AWS::SNS::Topic", "DependsOn": "A"}}}"#,
            "ircular",
        ),
        load(
            "VPC CIDR not a CIDR",
            "cidr.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/99"}}}}"#,
            "CIDR",
        ),
        load(
            "Fn::Sub with an unclosed variable",
            "sub.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Sub": "${AWS::Region"}}}}}"#,
            "Sub",
        ),
        load(
            "Fn::Select out of range",
            "sel.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Select": [5, ["10.0.0.0/16"]]}}}}}"#,
            "Select",
        ),
        load(
            "Fn::Select with a huge index",
            "sel2.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Select": [1e300, ["10.0.0.0/16"]]}}}}}"#,
            "Select",
        ),
        load(
            "Fn::Cidr asking for 2^30 subnets",
            "cidr2.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/8", 1073741824, 2]}]}}}}}"#,
            "Cidr",
        ),
        load(
            "parameter of an unknown type",
            "p.json",
            r#"{"Parameters": {"P": {"Type": "Nope"}}, "Resources": {}}"#,
            "Nope",
        ),
        load(
            "Lattice IP target off the private ranges",
            "ip.json",
            r#"{"Resources": {"V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}, "Tg": {"Type": "AWS::VpcLattice::TargetGroup", "Properties": {"Name": "tg", "Type": "IP", "Config": {"Port": 80, "Protocol": "HTTP", "VpcIdentifier": {"Ref": "V"}}, "Targets": [{"Id": "8.8.8.8", "Port": 80}]}}}}"#,
            "IP target 8.8.8.8 is not in the target group's VPC",
        ),
        load(
            "ALB target off the private ranges",
            "alb.json",
            r#"{"Resources": {"Tg": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80, "Protocol": "HTTP", "TargetType": "ip", "Targets": [{"Id": "1.1.1.1"}]}}}}"#,
            "target 1.1.1.1 is outside the private address ranges",
        ),
    ]
}

#[test]
fn the_load_catalogue_refuses_each_file_with_its_path_and_reason() {
    let dir = std::env::temp_dir().join(format!("vpcgate-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let cases = load_cases();
    for c in &cases {
        let path = dir.join(c.file);
        std::fs::write(&path, &c.text).unwrap();
        let result = vpcgate::scenario::Scenario::load(&path)
            .and_then(|s| s.build(&Default::default()).map(|_| ()));
        match result {
            Ok(()) => failures.push(format!("{}: loaded", c.name)),
            Err(e) => {
                let text = e.to_string();
                if !text.contains(c.message) {
                    failures.push(format!("{}: {text:?} lacks {:?}", c.name, c.message));
                }
            }
        }
    }
    // A file past the size limit, and a device.
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 5 * 1024 * 1024]).unwrap();
    for (path, want) in [
        (
            big.as_path(),
            "vpcgate reads files of at most 4194304 bytes",
        ),
        (std::path::Path::new("/dev/zero"), "not a regular file"),
        (
            std::path::Path::new("/nonexistent/s.json"),
            "cannot read the file",
        ),
    ] {
        match vpcgate::scenario::Scenario::load(path) {
            Ok(_) => failures.push(format!("{}: loaded", path.display())),
            Err(e) if e.to_string().contains(want) => {}
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(cases.len() >= 40, "{} load cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_environment_file_that_is_not_one_is_refused() {
    use vpcgate::scenario::stacks::Environment;
    for (env, want) in [
        ("/etc/passwd", "expected"),
        ("/dev/zero", "not a regular file"),
        ("/tmp", "not a regular file"),
    ] {
        match Environment::load(std::path::Path::new(env)) {
            Ok(_) => panic!("{env}: loaded"),
            Err(e) => assert!(e.to_string().contains(want), "{env}: {e}"),
        }
    }
}

#[test]
fn vpcgate_check_ends_hostile_machines_with_errors() {
    // `vpcgate check` on a scenario whose machines recurse deeply in JSONata, loop Pass→Choice
    // forever, and loop on `Wait 3600`: each case ends (the history cap, the one-year cap, the
    // evaluation depth) with an error instead of a crash or a hang.
    let deep = format!("{{% 0{} %}}", " + 1".repeat(465));
    let recurse = "{% ( $s := function($n){ $n = 0 ? 0 : $n + $s($n - 1) }; $s(100000) ) %}";
    let doc = json!({
        "Resources": {
            // CloudFormation fails a state machine whose role does not trust Step Functions.
            "R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Deep": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "Definition": {"QueryLanguage": "JSONata", "StartAt": "P", "States": {
                    "P": {"Type": "Pass", "Output": deep, "Next": "R"},
                    "R": {"Type": "Pass", "Output": recurse, "End": true}}}}},
            "Loop": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "Definition": {"StartAt": "A", "States": {
                    "A": {"Type": "Pass", "Next": "C"},
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "E"}], "Default": "A"},
                    "E": {"Type": "Succeed"}}}}},
            "Waits": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "Definition": {"StartAt": "W", "States": {
                    "W": {"Type": "Wait", "Seconds": 3600, "Next": "L"},
                    "L": {"Type": "Wait", "Seconds": 99999999, "Next": "C"},
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "E"}], "Default": "W"},
                    "E": {"Type": "Succeed"}}}}}
        },
        "Vpcgate": {"Cases": [
            {"Name": "deep", "StartExecution": {"StateMachine": "Deep"},
             "Expect": {"Status": "FAILED", "Error": "States.QueryEvaluationError"}},
            {"Name": "loop", "StartExecution": {"StateMachine": "Loop"},
             "Expect": {"Status": "FAILED", "CauseContains": "25000"}},
            {"Name": "waits", "StartExecution": {"StateMachine": "Waits"},
             "Expect": {"Status": "TIMED_OUT", "ElapsedSeconds": 31536000}}
        ]}
    });
    let s = vpcgate::scenario::Scenario::parse(&doc.to_string(), "hostile.json").unwrap();
    let outcomes = vpcgate::check::run_scenario(&s, None);
    assert_eq!(outcomes.len(), 3);
    for o in &outcomes {
        assert!(o.passed, "{}: {} {:?}", o.case, o.summary, o.failures);
    }
}

#[test]
fn an_express_pass_choice_loop_through_start_sync_execution_never_blocks_health() {
    let (addr, _) = serve(AuthMode::Off, LocalEndpoint::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "E"}], "Default": "A"},
            "E": {"Type": "Succeed"}}});
        let created = send(
            addr,
            sfn(
                "CreateStateMachine",
                json!({"name": "spin", "definition": def.to_string(), "roleArn": ROLE, "type": "EXPRESS"}),
            ),
        )
        .await;
        assert_eq!(created.status, 200, "{}", created.body);
        let arn: Value = serde_json::from_str(&created.body).unwrap();
        let arn = arn["stateMachineArn"].as_str().unwrap().to_string();
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let arn = arn.clone();
                tokio::spawn(async move {
                    send(addr, sfn("StartSyncExecution", json!({"stateMachineArn": arn}))).await
                })
            })
            .collect();
        // Health answers within 2 s while both loops run.
        for _ in 0..5 {
            healthy(addr).await;
        }
        for r in runs {
            let a = r.await.unwrap();
            assert_eq!(a.status, 200, "{}", a.body);
            let v: Value = serde_json::from_str(&a.body).unwrap();
            assert_eq!(v["status"], "FAILED", "{v}");
        }
    });
}
