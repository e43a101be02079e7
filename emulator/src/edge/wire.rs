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
    json!(crate::clock::epoch_seconds(t))
}

/// The content type of a JSON protocol version, without formatting it for the two versions
/// there are.
fn content_type_value(version: &str) -> http::HeaderValue {
    match version {
        "1.0" => http::HeaderValue::from_static("application/x-amz-json-1.0"),
        "1.1" => http::HeaderValue::from_static("application/x-amz-json-1.1"),
        other => http::HeaderValue::try_from(content_type(other))
            .unwrap_or_else(|_| http::HeaderValue::from_static("application/json")),
    }
}

/// `x-amzn-RequestId: <uuid>`, written without an intermediate `String`.
fn request_id_value() -> http::HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    http::HeaderValue::from_str(id).expect("a uuid is a valid header value")
}

/// An answer whose shape is fixed, written as compact JSON text straight to bytes, without
/// building a [`Value`] of it first (a map of owned keys and values, made, hashed and freed for
/// every answer). It writes the same text `Value`'s `Display` would.
pub trait WriteJson: Send {
    /// Appends the answer's compact JSON text to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

/// An operation's answer: a JSON value, or an answer that writes itself ([`WriteJson`]).
pub enum Answer {
    /// A value, serialized when the response is made.
    Value(Value),
    /// A fixed shape, written when the response is made.
    Written(Box<dyn WriteJson>),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Answer::Written(_) => f.write_str("Written(..)"),
        }
    }
}

impl From<Value> for Answer {
    fn from(v: Value) -> Self {
        Answer::Value(v)
    }
}

impl Answer {
    /// The answer as a [`Value`] (a written answer is read back: for callers that look into
    /// it, not for the wire).
    pub fn into_value(self) -> Value {
        match self {
            Answer::Value(v) => v,
            Answer::Written(w) => {
                let mut buf = Vec::new();
                w.write_json(&mut buf);
                serde_json::from_slice(&buf).unwrap_or(Value::Null)
            }
        }
    }
}

/// Appends `s` as a JSON string, escaped as `Value`'s `Display` escapes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends a timestamp as [`epoch`] writes it.
pub fn write_epoch(out: &mut Vec<u8>, t: std::time::SystemTime) {
    let _ = serde_json::to_writer(&mut *out, &crate::clock::epoch_seconds(t));
}

/// A success response: the body written straight to bytes (the same compact JSON as
/// `Value`'s `Display`) through a scratch buffer the thread keeps, then copied once into a body
/// of its exact size; the headers set without parsing them again.
pub fn ok(version: &str, body: &Value) -> http::Response<Body> {
    ok_with(version, |buf| {
        // Writing a `Value` into a `Vec` cannot fail (string keys, no I/O).
        let _ = serde_json::to_writer(&mut *buf, body);
    })
}

/// A success response of `answer`, as [`ok`] makes it.
pub fn ok_answer(version: &str, answer: &Answer) -> http::Response<Body> {
    match answer {
        Answer::Value(v) => ok(version, v),
        Answer::Written(w) => ok_with(version, |buf| w.write_json(buf)),
    }
}

/// A success response whose body `write` writes.
fn ok_with(version: &str, write: impl FnOnce(&mut Vec<u8>)) -> http::Response<Body> {
    /// Larger buffers are let go after use rather than kept by the thread.
    const KEEP: usize = 64 * 1024;
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let bytes = SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        write(buf);
        let bytes = Bytes::copy_from_slice(buf);
        if buf.capacity() > KEEP {
            *buf = Vec::new();
        }
        bytes
    });
    let mut resp = http::Response::new(Full::new(bytes));
    let headers = resp.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, content_type_value(version));
    headers.insert(
        http::HeaderName::from_static("x-amzn-requestid"),
        request_id_value(),
    );
    resp
}

/// An error response: `{"__type": code, "message": ...}` plus `x-amzn-ErrorType`.
pub fn error(version: &str, e: &JsonError) -> http::Response<Body> {
    let body = json!({"__type": e.code, "message": e.message});
    http::Response::builder()
        .status(e.status)
        .header(http::header::CONTENT_TYPE, content_type_value(version))
        .header("x-amzn-RequestId", request_id_value())
        .header("x-amzn-ErrorType", format!("{}:", e.code))
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer's body is `Value`'s compact text, byte for byte, whatever its size (the
    /// scratch buffer is reused between answers and let go past its limit), with the JSON
    /// protocol's content type and a request id.
    #[test]
    fn ok_writes_the_value_as_its_display_text() {
        let big = "x".repeat(100 * 1024);
        for body in [
            json!({"status": "SUCCEEDED", "output": "{\"a\":\"\\u00e9\\n\"}", "n": 1.5}),
            json!({"big": big}),
            json!([]),
        ] {
            let resp = ok("1.0", &body);
            assert_eq!(resp.status(), 200);
            assert_eq!(
                resp.headers()[http::header::CONTENT_TYPE],
                "application/x-amz-json-1.0"
            );
            assert_eq!(resp.headers()["x-amzn-RequestId"].len(), 36);
            let bytes =
                futures::executor::block_on(http_body_util::BodyExt::collect(resp.into_body()))
                    .expect("a full body")
                    .to_bytes();
            assert_eq!(bytes, body.to_string().as_bytes());
        }
        assert_eq!(
            ok("1.1", &json!({})).headers()[http::header::CONTENT_TYPE],
            "application/x-amz-json-1.1"
        );
    }
}
