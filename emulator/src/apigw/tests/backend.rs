//! What reaches the backend through HTTP_PROXY over the VPC link, and what comes back: an echo
//! service in the VPC behind the ALB (the in-VPC backend fixture's target address, answering).
//!
//! Recorded against AWS (LocalStack `test_apigateway_header_remapping_http[HTTP_PROXY]`,
//! 2024-12-11): the client's headers pass through, API Gateway adds `X-Amzn-Trace-Id` and
//! `X-Amzn-Apigateway-Api-Id`; the backend's `Server`, `Date`, `Connection` and `Content-Length`
//! come back as `x-amzn-Remapped-*`, other headers unchanged.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::{host, role_credentials, send, world};
use crate::model::Model;
use crate::sigv4::{EXECUTE_API, SigningSettings, sign_request};
use crate::world::World;

/// An HTTP echo service at 192.168.48.4:8080: answers with the request line and headers.
fn start_echo(world: &World, model: &Model) {
    let subnet = model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.cidr.to_string() == "192.168.48.0/24")
        .unwrap()
        .id
        .clone();
    let group = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "BackendSecurityGroup")
        .unwrap()
        .id
        .clone();
    let eni = world
        .net
        .create_eni(&subnet, vec![group], "instance i-echo")
        .unwrap();
    assert_eq!(eni.ip.to_string(), "192.168.48.4");
    let mut listener = world.net.listen(&eni, 8080);
    tokio::spawn(async move {
        while let Some(conn) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let headers: serde_json::Map<String, Value> = parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                        .collect();
                    let echo = json!({
                        "method": parts.method.as_str(),
                        "target": parts.uri.to_string(),
                        "headers": headers,
                        "body": String::from_utf8_lossy(&body),
                    });
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("server", "echo/1.0")
                            .header("content-type", "application/json")
                            .header("x-backend", "yes")
                            .body(Full::new(Bytes::from(echo.to_string())))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(conn.stream), svc)
                    .await;
            });
        }
    });
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn http_proxy_passes_the_request_through_and_remaps_backend_headers() {
    let (model, world) = world("tests/fixtures/apigw/in-vpc-backend.json");
    start_echo(&world, &model);
    let c = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let mut req = http::Request::get(format!("https://{}/prod/?q=1&q=2", host(&model)))
        .header("accept", "application/json")
        .header("x-custom", "hello")
        .body(Bytes::new())
        .unwrap();
    sign_request(
        &mut req,
        &c,
        &model.region,
        EXECUTE_API,
        world.clock.now(),
        &SigningSettings::default(),
    )
    .unwrap();
    let resp = send(&world, req).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let echo: Value = serde_json::from_slice(resp.body()).unwrap();
    let h = &echo["headers"];
    let alb_dns = &model.load_balancers[0].dns_name;
    assert_eq!(echo["method"], "GET");
    // The Uri's path, the client's query string.
    assert_eq!(echo["target"], "/?q=1&q=2");
    assert_eq!(h["host"], alb_dns.as_str());
    assert_eq!(h["x-custom"], "hello");
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["x-amzn-apigateway-api-id"], model.apigw.rest_apis[0].id);
    let trace_id = h["x-amzn-trace-id"].as_str().unwrap();
    assert!(trace_id.starts_with("Root=1-6a2e1930-"), "{trace_id}");
    // The ALB saw the VPC link's ENI and says so.
    let link_eni_ip = world
        .apigw
        .vpc_link(&model.apigw.vpc_links[0].id)
        .unwrap()
        .enis[0]
        .ip;
    assert_eq!(h["x-forwarded-for"], link_eni_ip.to_string());
    assert_eq!(h["x-forwarded-port"], "80");
    // The signature travels on (HTTP_PROXY passes the client's headers through).
    assert!(
        h["authorization"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256")
    );

    let headers = resp.headers();
    assert_eq!(headers["x-amzn-remapped-server"], "echo/1.0");
    assert!(headers.get("server").is_none());
    assert_eq!(headers["x-backend"], "yes");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["connection"], "keep-alive");
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        resp.body().len().to_string()
    );
    assert!(headers.contains_key("x-amzn-requestid"));
    // Tracing is off on the stage: no X-Amzn-Trace-Id back to the caller (recorded HTTP_PROXY).
    assert!(headers.get("x-amzn-trace-id").is_none());
}
