//! One request to an in-process [`Edge`], as a client would send it over `serve`'s socket: the
//! shared request helper of the integration tests that drive the front door without a socket.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use vpcgate::edge::{Edge, handle_parts};

/// What the edge answered.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method path` with `Host: host`, the given headers and body, and reads the whole answer.
pub async fn send(
    edge: &Arc<Edge>,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(body.into()).expect("a valid request");
    send_request(edge, req).await
}

/// Sends a whole request (for instance one `vpcgate::sigv4::sign_request` signed) and reads the
/// whole answer.
pub async fn send_request(edge: &Arc<Edge>, req: http::Request<impl Into<Bytes>>) -> Answer {
    let (parts, body) = req.into_parts();
    let resp = handle_parts(edge.clone(), parts, body.into()).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("the edge's body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// A JSON-protocol call (`X-Amz-Target: <target>`) to `host`, e.g.
/// `json_call(&edge, "states.us-east-1.amazonaws.com", "AWSStepFunctions.StartExecution", body)`:
/// the content type follows the service's protocol version (JSON 1.0 for Step Functions, 1.1 for
/// the others). Returns the status and the JSON body.
pub async fn json_call(edge: &Arc<Edge>, host: &str, target: &str, body: &Value) -> (u16, Value) {
    let content_type = if target.starts_with("AWSStepFunctions.") {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    let answer = send(
        edge,
        "POST",
        host,
        "/",
        &[("x-amz-target", target), ("content-type", content_type)],
        body.to_string(),
    )
    .await;
    let v = answer.json();
    (answer.status, v)
}
