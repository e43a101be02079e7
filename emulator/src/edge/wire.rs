//! AWS's JSON protocols on the wire: request ids, timestamps, and errors.
//!
//! Step Functions speaks `awsJson1_0` and EventBridge `awsJson1_1`: a POST to `/` with
//! `X-Amz-Target: <Service>.<Operation>` and a JSON body; errors are HTTP 400 with a JSON body whose
//! `__type` names the error and `message` explains it, which SDKs turn into typed exceptions
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html>).

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};

/// A response body.
pub type Body = Full<Bytes>;

/// An error in a JSON protocol's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// HTTP status (400 for client errors, 500 for server errors).
    pub status: u16,
    /// The error code (`StateMachineDoesNotExist`, `ValidationException`, ...).
    pub code: String,
    /// The message.
    pub message: String,
}

impl JsonError {
    /// A 400 client error.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// The content type of a JSON protocol version (`1.0` or `1.1`).
pub fn content_type(version: &str) -> String {
    format!("application/x-amz-json-{version}")
}

/// A request id in AWS's uuid shape.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Seconds since the epoch as JSON protocols send timestamps.
pub fn epoch(t: std::time::SystemTime) -> Value {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    json!((d.as_millis() as f64) / 1000.0)
}

/// A success response.
pub fn ok(version: &str, body: &Value) -> http::Response<Body> {
    http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, content_type(version))
        .header("x-amzn-RequestId", request_id())
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

/// An error response: `{"__type": code, "message": ...}` plus `x-amzn-ErrorType`.
pub fn error(version: &str, e: &JsonError) -> http::Response<Body> {
    let body = json!({"__type": e.code, "message": e.message});
    http::Response::builder()
        .status(e.status)
        .header(http::header::CONTENT_TYPE, content_type(version))
        .header("x-amzn-RequestId", request_id())
        .header("x-amzn-ErrorType", format!("{}:", e.code))
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}
