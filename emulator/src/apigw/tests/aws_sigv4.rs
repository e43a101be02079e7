//! The `aws-sigv4` crate (AWS's Rust SDK signer) signs requests to the seed's REST API with the
//! credentials vpcgate issued — header and presigned forms, with the session token — and the
//! API Service lets PatternBRole's session in; an expired signature and a session token from
//! another session are refused with API Gateway's errors.

use std::time::Duration;

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use serde_json::json;

use super::{at, body_json, host, role_credentials, send, world};
use crate::sigv4::Credentials;

/// API Gateway's 403 `InvalidSignatureException` with `message`.
fn assert_invalid_signature(resp: &http::Response<Bytes>, message: &str) {
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    assert_eq!(body_json(resp)["message"], message);
}

fn signed(
    uri: &str,
    c: &Credentials,
    region: &str,
    location: SignatureLocation,
    time: std::time::SystemTime,
) -> http::Request<Bytes> {
    let identity: Identity = aws_credential_types::Credentials::new(
        &c.access_key_id,
        &c.secret_access_key,
        c.session_token.clone(),
        None,
        "vpcgate",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(300));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("execute-api")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let req = http::Request::get(uri)
        .header("accept", "application/json")
        .body(Bytes::new())
        .unwrap();
    let signable = SignableRequest::new(
        "GET",
        uri,
        req.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
        SignableBody::Bytes(&[]),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut out = req;
    instructions.apply_to_request_http1x(&mut out);
    out
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn api_gateway_accepts_what_aws_sigv4_signs() {
    let (model, world) = world("scenarios/pattern-b.json");
    let c = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let host = host(&model);
    for location in [SignatureLocation::Headers, SignatureLocation::QueryParams] {
        for uri in [
            format!("https://{host}/prod/"),
            format!("https://{host}/prod?z=1&a=b%20c"),
            format!(
                "https://localhost:4566/restapis/{}/prod/_user_request_/",
                model.apigw.rest_apis[0].id
            ),
        ] {
            let resp = send(&world, signed(&uri, &c, &model.region, location, at())).await;
            assert_eq!(resp.status(), 200, "{uri} {location:?}: {:?}", resp.body());
            assert_eq!(
                body_json(&resp),
                json!({"status": "ok", "source": "internal-alb"})
            );
        }
    }
}

/// "Signature expired: … is now earlier than … (… - 5 min.)" on the world's clock
/// (<https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden>).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_signature_older_than_five_minutes_is_expired() {
    let (model, world) = world("scenarios/pattern-b.json");
    let c = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let uri = format!("https://{}/prod/", host(&model));
    let req = signed(&uri, &c, &model.region, SignatureLocation::Headers, at());
    // Five minutes later it still passes; one second more and it is expired.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(send(&world, req.clone()).await.status(), 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resp = send(&world, req).await;
    assert_invalid_signature(
        &resp,
        "Signature expired: 20260614T030000Z is now earlier than 20260614T030001Z (20260614T030501Z - 5 min.)",
    );
}

/// A credential scoped to another region: API Gateway's scope message.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_credential_scoped_to_another_region_is_refused() {
    let (model, world) = world("scenarios/pattern-b.json");
    let c = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let uri = format!("https://{}/prod/", host(&model));
    let resp = send(
        &world,
        signed(&uri, &c, "us-east-1", SignatureLocation::Headers, at()),
    )
    .await;
    assert_invalid_signature(
        &resp,
        "Credential should be scoped to a valid region, not 'us-east-1'. ",
    );
}

/// A session token that belongs to another key: the verifier's invalid-token answer.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_session_token_of_another_session_is_refused() {
    let (model, world) = world("scenarios/pattern-b.json");
    let mine = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let other = role_credentials(&world, &model, "eb-demo-other-role");
    let forged = Credentials::new(&mine.access_key_id, &mine.secret_access_key)
        .with_session_token(other.session_token.unwrap());
    let uri = format!("https://{}/prod/", host(&model));
    let resp = send(
        &world,
        signed(
            &uri,
            &forged,
            &model.region,
            SignatureLocation::Headers,
            at(),
        ),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["x-amzn-errortype"], "AccessDeniedException");
}
