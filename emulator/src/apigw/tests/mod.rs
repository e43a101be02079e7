//! Behaviour and interoperability tests of the API Gateway data plane, on the repository's
//! `scenarios/pattern-b*.json` worlds.

mod aws_sigv4;
mod backend;
mod botocore;

use std::path::PathBuf;
use std::time::SystemTime;

use bytes::Bytes;

use crate::clock::Clock;
use crate::iam::Principal;
use crate::model::Model;
use crate::scenario::{Scenario, StackLinks};
use crate::sigv4::Credentials;
use crate::world::World;

/// 2026-06-14T03:00:00Z, the scenarios' clock.
pub(super) const AT_UNIX: u64 = 1_781_406_000;

pub(super) fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(AT_UNIX)
}

/// The model and a running world of `<file>` (relative to the repository root), on the
/// scenario's pinned clock.
pub(super) fn world(file: &str) -> (Model, World) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(file);
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let (model, _) = s
        .build(&StackLinks::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = Clock::pinned(s.clock_start().unwrap().expect("pinned clock"));
    assert_eq!(clock.now(), at());
    let world = World::build(model.clone(), clock).unwrap_or_else(|e| panic!("{e}"));
    (model, world)
}

/// The API's host name.
pub(super) fn host(model: &Model) -> String {
    format!(
        "{}.execute-api.{}.amazonaws.com",
        model.apigw.rest_apis[0].id, model.region
    )
}

/// Temporary credentials of a session of the role named `role`.
pub(super) fn role_credentials(world: &World, model: &Model, role: &str) -> Credentials {
    let role = model.roles.iter().find(|r| r.name == role).unwrap();
    let session = Principal::AssumedRole {
        account: model.account.clone(),
        role_name: role.name.clone(),
        role_path: role.path.clone(),
        session_name: "interop".into(),
    };
    let c = world
        .iam
        .session_credentials(&session, world.clock.now_utc())
        .unwrap();
    Credentials::new(&c.access_key_id, c.secret_access_key.expose())
        .with_session_token(c.session_token.expose())
}

/// The long-term key of the user named `user`.
pub(super) fn user_credentials(world: &World, model: &Model, user: &str) -> Credentials {
    let user = model.users.iter().find(|u| u.name == user).unwrap();
    let _ = world;
    let (id, secret) = user.access_keys.first().unwrap();
    Credentials::new(id, secret)
}

/// Sends a request to the world's API Gateway.
pub(super) async fn send(world: &World, req: http::Request<Bytes>) -> http::Response<Bytes> {
    super::service(&world.apigw).handle(req).await
}

pub(super) fn body_json(resp: &http::Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null)
}

/// Garbage in: every request gets an API Gateway answer, nothing panics.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn malformed_requests_never_panic() {
    let (model, world) = world("scenarios/pattern-b.json");
    let h = host(&model);
    let api = &model.apigw.rest_apis[0].id;
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a [u8])>);
    let cases: Vec<Case<'_>> = vec![
        ("GET", format!("https://{h}/"), vec![]),
        ("GET", format!("https://{h}/prod/%zz/%00"), vec![]),
        ("GET", format!("https://{h}//prod//"), vec![]),
        ("GET", "https://nothing.example.com/prod/".into(), vec![]),
        (
            "GET",
            "https://x.execute-api.ap-northeast-1.amazonaws.com.evil/prod/".into(),
            vec![],
        ),
        (
            "GET",
            format!("https://{api}.execute-api.us-east-1.amazonaws.com/prod/"),
            vec![],
        ),
        (
            "GET",
            format!("https://localhost/restapis/{api}/prod/nope/"),
            vec![],
        ),
        ("GET", format!("https://localhost/restapis/{api}"), vec![]),
        ("GET", "https://localhost/restapis/".to_string(), vec![]),
        (
            "GET",
            format!("https://{h}/prod/"),
            vec![("authorization", b"AWS4-HMAC-SHA256")],
        ),
        (
            "GET",
            format!("https://{h}/prod/"),
            vec![("authorization", b"garbage=,,,= =")],
        ),
        (
            "GET",
            format!("https://{h}/prod/"),
            vec![
                (
                    "authorization",
                    b"AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00",
                ),
                ("x-amz-date", b"nonsense"),
            ],
        ),
        (
            "GET",
            format!("https://{h}/prod/"),
            vec![("authorization", b"\xff\xfe")],
        ),
        (
            "GET",
            format!("https://{h}/prod/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1"),
            vec![],
        ),
        (
            "DELETE",
            format!("https://{h}/prod/"),
            vec![("host", b"\xff")],
        ),
        (
            "PATCH",
            format!("https://{h}/prod/{}", "a/".repeat(500)),
            vec![],
        ),
    ];
    for (method, uri, headers) in cases {
        let mut b = http::Request::builder().method(method).uri(&uri);
        for (k, v) in headers {
            b = b.header(k, http::HeaderValue::from_bytes(v).unwrap());
        }
        let resp = send(&world, b.body(Bytes::from_static(b"\x00\xff")).unwrap()).await;
        assert!(
            resp.status().is_client_error() || resp.status().is_server_error(),
            "{method} {uri}: {}",
            resp.status()
        );
        assert!(resp.headers().contains_key("x-amzn-requestid"));
        assert!(resp.headers().contains_key("x-amzn-errortype"), "{uri}");
    }
}

/// The ids of an answer have API Gateway's shapes: `x-amzn-RequestId` a version 4 UUID,
/// `x-amz-apigw-id` 16 base64 characters ending in `=` (the recorded `e5Nw0iQQtjMEJUA=`),
/// `X-Amzn-Trace-Id` `Root=1-{epoch seconds, 8 hex}-{24 hex}`; fresh for every request.
#[test]
fn request_ids_have_api_gateway_shapes() {
    let clock = Clock::pinned(at());
    let ids = super::RequestIds::new(&clock);
    let uuid = uuid::Uuid::parse_str(&ids.request_id).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4, "{}", ids.request_id);
    assert_eq!(ids.request_id, uuid.hyphenated().to_string());
    assert_eq!(ids.apigw_id.len(), 16, "{}", ids.apigw_id);
    assert!(ids.apigw_id.ends_with('=') && !ids.apigw_id.ends_with("=="));
    let root = ids
        .trace_id
        .strip_prefix(&format!("Root=1-{AT_UNIX:08x}-"))
        .unwrap_or_else(|| panic!("{}", ids.trace_id));
    assert_eq!(root.len(), 24);
    assert!(
        root.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(super::RequestIds::new(&clock), ids);
    // The time they were made at (the clock's, which the request's authorization uses).
    let since = ids
        .received
        .duration_since(at())
        .expect("after the pinned time");
    assert!(since < std::time::Duration::from_secs(1), "{since:?}");
}

/// An answer's headers as an `apigateway:invoke` output lists them: each name once, in
/// order without regard to case, with every value of it in the order the answer sent them.
#[test]
fn answer_headers_list_each_name_once_sorted_with_its_values_in_order() {
    use http::header::{HeaderMap, HeaderValue};
    let mut h = HeaderMap::new();
    h.append("x-amzn-requestid", HeaderValue::from_static("r"));
    h.append("set-cookie", HeaderValue::from_static("b=2"));
    h.append("content-type", HeaderValue::from_static("text/plain"));
    h.append("set-cookie", HeaderValue::from_static("a=1"));
    h.append(
        "date",
        HeaderValue::from_static("Sun, 14 Jun 2026 03:00:00 GMT"),
    );
    h.append("set-cookie", HeaderValue::from_static("c=3"));
    let out = super::wire_headers(&h);
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["Content-Type", "Date", "Set-Cookie", "x-amzn-RequestId"]
    );
    assert_eq!(out["Set-Cookie"], serde_json::json!(["b=2", "a=1", "c=3"]));
    assert_eq!(out["Content-Type"], serde_json::json!(["text/plain"]));
}
