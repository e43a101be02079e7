//! HTTP APIs (API Gateway v2), issue 16: the seed's Pattern B output from an HTTP API in front of
//! the ALB, JWT authorizers, an OpenAPI `Body`, timeouts, and real clients (boto3, botocore's
//! SigV4Auth) against `vpcgate serve`, including a public `HTTP_PROXY` to the user's own
//! loopback service with request parameter mapping.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use vpcgate::check::run_scenario;
use vpcgate_tests::{run_all, scenario};

use crate::serve_conventions::{py, serve};

/// `apigw-requestid`: 16 base64 characters ending in `=`, the shape of the seed's
/// `e5Nw0iQQtjMEJUA=`.
fn is_apigw_request_id(s: &str) -> bool {
    s.len() == 16
        && s.ends_with('=')
        && s[..15]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

#[test]
fn http_api_answers_with_the_seeds_pattern_b_output() {
    let all = run_all("pattern-b-http-api.json");
    let seed = &all.iter().find(|o| o.case == "seed-output").unwrap().result;
    // StatusCode, StatusText, ResponseBody exactly as the seed prints them.
    assert_eq!(seed["StatusCode"], 200);
    assert_eq!(seed["StatusText"], "OK");
    assert_eq!(
        seed["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    // The seed's three headers, lower case, with the seed's values (the id by shape) ...
    let h = seed["Headers"].as_object().unwrap();
    assert_eq!(h["server"], json!(["awselb/2.0"]));
    assert_eq!(
        h["content-type"],
        json!(["application/json; charset=utf-8"])
    );
    let id = h["apigw-requestid"][0].as_str().unwrap();
    assert!(is_apigw_request_id(id), "{id}");
    // ... plus date and content-length, sorted as Step Functions sorts; no REST API headers.
    let names: Vec<&str> = h.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "apigw-requestid",
            "content-length",
            "content-type",
            "date",
            "server"
        ]
    );
    // A fresh id per request.
    let again = run_all("pattern-b-http-api.json");
    let id2 = again
        .iter()
        .find(|o| o.case == "seed-output")
        .unwrap()
        .result["Headers"]["apigw-requestid"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(id, id2);
}

#[test]
fn http_api_from_openapi_body_with_jwt_authorizer() {
    let all = run_all("http-api-openapi-jwt.json");
    let unauthorized = &all.iter().find(|o| o.case == "jwt-expired").unwrap().result;
    assert_eq!(unauthorized["Headers"]["content-length"], json!(["26"]));
    assert!(unauthorized["Headers"].get("x-amzn-ErrorType").is_none());
}

#[test]
fn http_api_timeouts_answer_503_service_unavailable() {
    let slow = run_all("http-api-slow-backend.json");
    let quick = &slow
        .iter()
        .find(|o| o.case == "timeout-in-millis-2500")
        .unwrap()
        .result;
    // As recorded (cortexlabs/cortex#1225): 33 bytes, no content-type.
    assert_eq!(quick["Body"], json!({"message": "Service Unavailable"}));
    assert!(quick["Headers"].get("content-type").is_none(), "{quick}");
    run_all("http-api-sg-blocks-80.json");
}

#[test]
fn boto3_finds_and_calls_the_http_api_on_serve() {
    let ep = serve(&[
        "--scenario",
        &format!(
            "{}/../scenarios/pattern-b-http-api.json",
            env!("CARGO_MANIFEST_DIR")
        ),
    ]);
    let out = py(
        r#"
import sys, json, urllib.request, urllib.error, vpcgate_client as v
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ep = sys.argv[1]
v.wait_healthy(ep)
apigw = v.client("apigatewayv2", ep, region="ap-northeast-1")
apis = apigw.get_apis()["Items"]
api = apis[0]["ApiId"]
routes = [r["RouteKey"] + " " + r["AuthorizationType"] for r in apigw.get_routes(ApiId=api)["Items"]]
stages = [s["StageName"] for s in apigw.get_stages(ApiId=api)["Items"]]
integ = apigw.get_integrations(ApiId=api)["Items"][0]
def call(path, sign=True, host=None):
    url = f"{ep}{path}"
    headers = {"Host": host} if host else {}
    req = AWSRequest(method="GET", url=url, headers=headers)
    if sign:
        SigV4Auth(Credentials("test", "test"), "execute-api", "ap-northeast-1").add_auth(req)
    try:
        r = urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers)))
        return [r.status, dict(r.headers.items()), json.loads(r.read())]
    except urllib.error.HTTPError as e:
        return [e.code, dict(e.headers.items()), json.loads(e.read())]
host = f"{api}.execute-api.ap-northeast-1.amazonaws.com"
v.emit({
  "apis": [(a["Name"], a["ProtocolType"], a["ApiEndpoint"]) for a in apis], "routes": routes, "stages": stages,
  "integration": [integ["IntegrationType"], integ["ConnectionType"], integ["IntegrationUri"].split(":")[5].split("/")[0]],
  "signedPath": call(f"/restapis/{api}/prod/_user_request_/"),
  "signedHost": call("/prod/", host=host),
  "unsigned": call("/prod/", sign=False, host=host),
  "missing": call("/prod/missing", host=host),
})
"#,
        &[&ep],
    );
    let api_endpoint = out["apis"][0][2].as_str().unwrap();
    assert_eq!(out["apis"][0][0], "eb-demo-http-api");
    assert_eq!(out["apis"][0][1], "HTTP");
    assert!(
        api_endpoint.ends_with(".execute-api.ap-northeast-1.amazonaws.com"),
        "{out}"
    );
    assert_eq!(out["routes"], json!(["GET / AWS_IAM"]));
    assert_eq!(out["stages"], json!(["prod"]));
    assert_eq!(
        out["integration"],
        json!(["HTTP_PROXY", "VPC_LINK", "listener"])
    );
    for k in ["signedPath", "signedHost"] {
        let r = &out[k];
        assert_eq!(r[0], 200, "{k}: {r}");
        assert_eq!(r[2], json!({"status": "ok", "source": "internal-alb"}));
        let headers: std::collections::BTreeMap<String, String> = r[1]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(headers["server"], "awselb/2.0", "{k}: {r}");
        assert!(is_apigw_request_id(&headers["apigw-requestid"]), "{k}: {r}");
        assert!(!headers.contains_key("x-amzn-requestid"), "{k}: {r}");
    }
    assert_eq!(out["unsigned"][0], 403);
    assert_eq!(out["unsigned"][2], json!({"message": "Forbidden"}));
    assert_eq!(out["missing"][0], 404);
    assert_eq!(out["missing"][2], json!({"message": "Not Found"}));
}

/// The user's own service on the host: answers JSON describing the request it got.
fn start_echo() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
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
                            "path": parts.uri.path(),
                            "query": parts.uri.query(),
                            "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        });
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("server", "echo/1.0")
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(echo.to_string())))
                                .unwrap(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    port
}

#[test]
fn public_http_proxy_to_the_users_own_service_with_parameter_mapping() {
    let port = start_echo();
    let template = json!({
        "Vpcgate": {"Region": "us-east-1", "Description": "HTTP_PROXY to a loopback service (test)"},
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "echo-api", "ProtocolType": "HTTP"}},
            "Echo": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "HTTP_PROXY", "IntegrationMethod": "ANY",
                "IntegrationUri": format!("http://127.0.0.1:{port}/echo/{{proxy}}"),
                "PayloadFormatVersion": "1.0",
                "RequestParameters": {
                    "overwrite:header.x-stage": "$context.stage",
                    "overwrite:header.x-user": "user-$request.header.x-user",
                    "remove:header.x-secret": "''",
                    "append:querystring.from": "vpcgate",
                    "overwrite:header.x-env": "$stageVariables.env"
                }}},
            "Proxy": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "ANY /{proxy+}", "Target": {"Fn::Sub": "integrations/${Echo}"}}},
            "Default": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "StageName": "$default", "AutoDeploy": true,
                "StageVariables": {"env": "dev"}}}
        }
    });
    let file = std::env::temp_dir().join(format!("vpcgate-http-api-echo-{port}.json"));
    std::fs::write(&file, template.to_string()).unwrap();
    let ep = serve(&["--scenario", file.to_str().unwrap()]);
    let out = py(
        r#"
import sys, json, urllib.request, urllib.error, vpcgate_client as v
ep = sys.argv[1]
v.wait_healthy(ep)
api = v.client("apigatewayv2", ep).get_apis()["Items"][0]["ApiId"]
host = f"{api}.execute-api.us-east-1.amazonaws.com"
req = urllib.request.Request(f"{ep}/orders/7?q=1", method="POST", data=b'{"a":1}',
    headers={"Host": host, "x-user": "alice", "x-secret": "s3cr3t", "content-type": "application/json"})
r = urllib.request.urlopen(req)
v.emit({"status": r.status, "headers": dict((k.lower(), v) for k, v in r.headers.items()), "echo": json.loads(r.read())})
"#,
        &[&ep],
    );
    let _ = std::fs::remove_file(&file);
    assert_eq!(out["status"], 200, "{out}");
    // The backend's own server header passes through.
    assert_eq!(out["headers"]["server"], "echo/1.0");
    assert!(is_apigw_request_id(
        out["headers"]["apigw-requestid"].as_str().unwrap()
    ));
    let echo = &out["echo"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/orders/7");
    assert_eq!(echo["query"], "q=1&from=vpcgate");
    assert_eq!(echo["body"], r#"{"a":1}"#);
    let h = &echo["headers"];
    assert_eq!(h["x-stage"], "$default");
    assert_eq!(h["x-user"], "user-alice");
    assert_eq!(h["x-env"], "dev");
    assert!(h.get("x-secret").is_none(), "{h}");
    assert_eq!(h["host"], format!("127.0.0.1:{port}"));
    assert!(
        h["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
}

#[test]
fn http_api_templates_are_checked_as_the_v2_api_checks_them() {
    use vpcgate::scenario::Scenario;
    let doc = json!({
        "Vpcgate": {"Region": "us-east-1"},
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "a", "ProtocolType": "HTTP"}},
            "TooSlow": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "HTTP_PROXY", "IntegrationMethod": "GET",
                "IntegrationUri": "http://127.0.0.1:9/", "TimeoutInMillis": 30001}},
            "V2Payload": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "HTTP_PROXY", "IntegrationMethod": "GET",
                "IntegrationUri": "http://127.0.0.1:9/", "PayloadFormatVersion": "2.0"}},
            "Reserved": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "HTTP_PROXY", "IntegrationMethod": "GET",
                "IntegrationUri": "http://127.0.0.1:9/",
                "RequestParameters": {"overwrite:header.Authorization": "x"}}},
            "BadKey": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "GET /{proxy+}/more"}},
            "NoIntegration": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "GET /", "Target": "integrations/nope123"}},
            "Lambda": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "AWS_PROXY",
                "IntegrationUri": "arn:aws:lambda:us-east-1:123456789012:function:f"}}
        }
    });
    let s = Scenario::parse(&doc.to_string(), "inline.json").unwrap();
    let err = s
        .build(&Default::default())
        .expect_err("the template has errors")
        .to_string();
    for expected in [
        "Timeout must be between 50 ms and 30000 ms",
        "PayloadFormatVersion 2.0 is not supported for HTTP_PROXY integrations",
        "Authorization is a reserved header",
        "a greedy path variable must be the last segment",
        "Invalid integration identifier specified nope123",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    // A Lambda (AWS_PROXY) integration is no load error: CloudFormation deploys it (issue 15).
    assert!(!err.contains("Lambda"), "{err}");
}

#[test]
fn a_lambda_integration_loads_and_answers_as_an_unreachable_integration() {
    // vpcgate runs no Lambda functions: the route answers what API Gateway gives when the
    // integration cannot be reached, 500 {"message":"Internal Server Error"} (README).
    use vpcgate::scenario::Scenario;
    let doc = json!({
        "Vpcgate": {"Region": "us-east-1", "Cases": [{
            "Name": "lambda-route",
            "Request": {"Api": "Api", "Stage": "$default", "Method": "POST", "Path": "/orders"},
            "Expect": {"OutputIncludes": {"StatusCode": 500, "Body": {"message": "Internal Server Error"}},
                       "TraceContains": ["AWS_PROXY integration"]}
        }]},
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "a", "ProtocolType": "HTTP"}},
            "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "StageName": "$default", "AutoDeploy": true}},
            "Lambda": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0",
                "IntegrationUri": "arn:aws:lambda:us-east-1:123456789012:function:f"}},
            "Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "POST /orders",
                "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Lambda"}]]}}}
        }
    });
    let s = Scenario::parse(&doc.to_string(), "inline.json").unwrap();
    let outcomes = run_scenario(&s, None);
    assert_eq!(outcomes.len(), 1);
    let o = &outcomes[0];
    assert!(
        o.passed,
        "{:?}\n{}\n{}",
        o.failures,
        o.result,
        o.trace.render()
    );
}

/// An HTTP API's default endpoint is a public name: from inside a VPC (no execute-api interface
/// endpoint with private DNS) `{api-id}.execute-api.{region}.amazonaws.com` resolves to the
/// emulated internet's API Gateway address, as a public REST API's does.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_http_apis_public_name_resolves_inside_a_vpc() {
    let s = scenario("pattern-b-http-api.json");
    let (model, world) = vpcgate_tests::world(&s);
    let api = &model.apigw.http.apis[0];
    let name = format!("{}.execute-api.{}.amazonaws.com", api.id, model.region);
    let public = world
        .ec2
        .internet
        .service("execute-api")
        .expect("the emulated internet serves execute-api")
        .ip;
    let vpc = &model.vpcs[0];
    let from: std::net::IpAddr = vpc
        .cidr
        .hosts()
        .nth(10)
        .expect("an address in the VPC")
        .into();
    let trace = vpcgate::trace::Trace::new();
    let ips = world.dns[&vpc.id]
        .resolver(from)
        .lookup_ipv4(&name, &trace)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}\n{}", trace.render()));
    assert_eq!(ips, vec![std::net::IpAddr::V4(public)]);
}
