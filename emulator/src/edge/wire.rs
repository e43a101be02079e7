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

/// A success response: the body written straight to bytes (the same compact JSON as
/// `Value`'s `Display`, by [`write_json`]) through a scratch buffer the thread keeps, then
/// copied once into a body of its exact size; the headers set without parsing them again.
pub fn ok(version: &str, body: &Value) -> http::Response<Body> {
    /// Larger buffers are let go after use rather than kept by the thread.
    const KEEP: usize = 64 * 1024;
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let bytes = SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        write_json(buf, body);
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

/// `value` as compact JSON, byte for byte what `serde_json::to_writer` writes, appended to
/// `out`. Strings, the bulk of an answer (StartSyncExecution's `output` is a JSON text in a
/// string, a quote to escape every few bytes), are scanned eight bytes at a time and copied in
/// runs, where serde_json looks up each byte and writes through `io::Write` piece by piece;
/// numbers are serde_json's own.
pub fn write_json(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Writing a number into a `Vec` cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                write_json(out, v);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, other
/// control characters as `\u00xx` (lower-case hex); everything else as it is. Eight bytes are
/// looked at together; the bytes to escape in them are found by their mask, the runs between
/// copied whole.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// The high bit of each byte of `w` that is `"`, `\` or below 0x20, and of no other.
    fn mask(w: u64) -> u64 {
        // Exactly the zero bytes (no carry crosses a byte: 0x7f + 0x7f < 0x100).
        let zero = |x: u64| !((x & SEVEN).wrapping_add(SEVEN) | x | SEVEN);
        let quote = zero(w ^ (LOW * u64::from(b'"')));
        let backslash = zero(w ^ (LOW * u64::from(b'\\')));
        // Below 0x20: the high bit clear and the low seven bits plus 0x60 below 0x80.
        let control = !((w & SEVEN).wrapping_add(LOW * 0x60) | w) & HIGH;
        quote | backslash | control
    }
    /// The byte at `i` escaped, after the run since `start`.
    fn escape(out: &mut Vec<u8>, bytes: &[u8], start: usize, i: usize) {
        out.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            _ => 0,
        };
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        }
    }
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut m = mask(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        while m != 0 {
            let i = at + (m.trailing_zeros() / 8) as usize;
            escape(out, bytes, start, i);
            start = i + 1;
            m &= m - 1;
        }
        at += 8;
    }
    for (k, &b) in chunks.remainder().iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            let i = at + k;
            escape(out, bytes, start, i);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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

    /// `write_json` writes what serde_json writes, byte for byte: every ASCII character alone
    /// and in runs across the eight-byte chunks, non-ASCII text, numbers of each kind, nesting.
    #[test]
    fn write_json_is_serde_jsons_compact_text() {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        let all: String = (0u8..=0x7f).map(char::from).collect();
        texts.push(all.clone());
        for shift in 0..9 {
            texts.push(format!("{}{all}{}", "a".repeat(shift), "é".repeat(shift)));
            texts.push(format!(
                "{}\"{}\\",
                "x".repeat(shift),
                "y".repeat(16 - shift)
            ));
        }
        texts.push("日本語 \u{1F600} \u{7f} \u{80} \u{2028}".into());
        texts.push(String::new());
        for text in &texts {
            let v = json!({ text.as_str(): [text, {"k": text}] });
            let mut out = Vec::new();
            write_json(&mut out, &v);
            assert_eq!(out, serde_json::to_vec(&v).unwrap(), "{text:?}");
        }
        let v = json!({"a": null, "b": [true, false, 0, -1, u64::MAX, i64::MIN, 1.5, 0.1, 1e21,
            -2.5e-7, 1722.123], "c": {}, "d": [], "e": {"f": [[], {}]}});
        let mut out = Vec::new();
        write_json(&mut out, &v);
        assert_eq!(out, serde_json::to_vec(&v).unwrap());
    }
}
