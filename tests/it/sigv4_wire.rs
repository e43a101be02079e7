//! A key AWS does not know, on each protocol `serve` answers (`sigv4::wire`): the same message,
//! the protocol's status and code — JSON 1.0 400 `UnrecognizedClientException`
//! (aws/aws-sdk-php#2444), the `apigateway` control plane (REST-JSON) 403
//! `UnrecognizedClientException` in `x-amzn-ErrorType` (boto/boto3#3577), CloudFormation (query)
//! 403 `InvalidClientTokenId` (Sceptre/sceptre#988).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use vpcgate::edge::{AuthMode, Edge, UnknownKeys};
use vpcgate::sigv4::{Credentials, SigningSettings, sign_request};
use vpcgate_tests::edge_call::send_request;

const INVALID: &str = "The security token included in the request is invalid.";

/// A strict `serve` over the seed's world.
fn strict_edge() -> Arc<Edge> {
    let s = vpcgate_tests::scenario("pattern-b.json");
    let (_model, world) = vpcgate_tests::world(&s);
    Arc::new(Edge::new(world, AuthMode::Verify).with_unknown_keys(UnknownKeys::Refuse))
}

/// Sends `req` signed for `service` with a key nobody issued.
async fn send_unknown(
    edge: &Arc<Edge>,
    service: &str,
    mut req: http::Request<Vec<u8>>,
) -> (u16, http::HeaderMap, Bytes) {
    let nobody = Credentials {
        access_key_id: "AKIAEXAMPLENOBODY000".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
    };
    let now = edge.world().clock.host_now();
    let region = edge.world().model.region.clone();
    sign_request(
        &mut req,
        &nobody,
        &region,
        service,
        now,
        &SigningSettings::default(),
    )
    .expect("signs");
    let a = send_request(edge, req).await;
    (a.status, a.headers, a.body)
}

#[tokio::test]
async fn json_protocol_answers_an_unknown_key_with_400_unrecognized_client() {
    let edge = strict_edge();
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "states.ap-northeast-1.amazonaws.com")
        .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
        .header("content-type", "application/x-amz-json-1.0")
        .body(b"{}".to_vec())
        .unwrap();
    let (status, _, body) = send_unknown(&edge, "states", req).await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "UnrecognizedClientException");
    assert_eq!(v["message"], INVALID);
}

#[tokio::test]
async fn apigateway_control_plane_answers_an_unknown_key_in_rest_json_shape() {
    let edge = strict_edge();
    let req = http::Request::builder()
        .method("GET")
        .uri("/restapis")
        .header("host", "apigateway.ap-northeast-1.amazonaws.com")
        .body(Vec::new())
        .unwrap();
    let (status, headers, body) = send_unknown(&edge, "apigateway", req).await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-amzn-errortype"], "UnrecognizedClientException");
    assert_eq!(headers["content-type"], "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v, serde_json::json!({ "message": INVALID }));
}

#[tokio::test]
async fn query_protocol_answers_an_unknown_key_with_invalid_client_token_id() {
    let edge = strict_edge();
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "cloudformation.ap-northeast-1.amazonaws.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"Action=ListStacks&Version=2010-05-15".to_vec())
        .unwrap();
    let (status, _, body) = send_unknown(&edge, "cloudformation", req).await;
    assert_eq!(status, 403);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("<Code>InvalidClientTokenId</Code>"), "{text}");
    assert!(text.contains(INVALID), "{text}");
}
