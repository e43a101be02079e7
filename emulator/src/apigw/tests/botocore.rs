//! botocore (the signer under the AWS CLI and boto3) signs requests to the seed's REST API with
//! the credentials vpcgate issued; the API Service must treat them as AWS would: PatternBRole's
//! session in, the other user explicitly denied, a tampered request refused.
//!
//! Needs `python3` with botocore and fails, rather than skips, without them.

use std::process::Command;

use bytes::Bytes;
use serde_json::{Value, json};

use super::{body_json, host, role_credentials, send, user_credentials, world};
use crate::sigv4::Credentials;

const SCRIPT: &str = r#"
import datetime, json, sys
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

args = json.loads(sys.argv[1])
FIXED = datetime.datetime(2026, 6, 14, 3, 0, 0)
botocore.auth.get_current_datetime = lambda *a, **k: FIXED
HOST = "https://" + args["host"]
REGION = args["region"]

def creds(c):
    return Credentials(c["id"], c["secret"], c.get("token"))

def signed(method, path, c, presign=False, params=None, headers=None):
    req = AWSRequest(method=method, url=HOST + path, params=params or {}, headers=headers or {})
    if presign:
        SigV4QueryAuth(creds(c), "execute-api", REGION, expires=300).add_auth(req)
    else:
        SigV4Auth(creds(c), "execute-api", REGION).add_auth(req)
    p = req.prepare()
    return {"method": p.method, "url": p.url, "headers": list(p.headers.items())}

role, user = args["role"], args["user"]
print(json.dumps([
    signed("GET", "/prod/", role),
    signed("GET", "/prod", role, params={"b": "2", "a": "x y"}, headers={"Accept": "application/json"}),
    signed("GET", "/prod/", role, presign=True),
    signed("GET", "/prod/", user),
]))
"#;

fn to_request(signed: &Value) -> http::Request<Bytes> {
    let mut builder = http::Request::builder()
        .method(signed["method"].as_str().unwrap())
        .uri(signed["url"].as_str().unwrap());
    for pair in signed["headers"].as_array().unwrap() {
        builder = builder.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    builder.body(Bytes::new()).unwrap()
}

fn creds_json(c: &Credentials) -> Value {
    json!({"id": c.access_key_id, "secret": c.secret_access_key, "token": c.session_token})
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn api_gateway_accepts_what_botocore_signs() {
    let (model, world) = world("scenarios/pattern-b.json");
    let role = role_credentials(&world, &model, "eb-demo-pattern-b-role");
    let user = user_credentials(&world, &model, "eb-demo-other-user");
    let args = json!({
        "host": host(&model),
        "region": model.region,
        "role": creds_json(&role),
        "user": creds_json(&user),
    });
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(args.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3 and botocore"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "botocore script failed:\n{stderr}");
    let signed: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();

    for (i, s) in signed[..3].iter().enumerate() {
        let resp = send(&world, to_request(s)).await;
        assert_eq!(resp.status(), 200, "request {i}: {:?}", resp.body());
        assert_eq!(
            body_json(&resp),
            json!({"status": "ok", "source": "internal-alb"})
        );
    }

    let denied = send(&world, to_request(&signed[3])).await;
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.headers()["x-amzn-errortype"],
        "AccessDeniedException"
    );
    let message = body_json(&denied)["Message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(
            "User: arn:aws:iam::123456789012:user/eb-demo-other-user is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:ap-northeast-1:123456789012:"
        ) && message.ends_with("/prod/GET/ with an explicit deny"),
        "{message}"
    );

    // The same signature on another path is a mismatch, not a route error: the path is signed.
    let mut tampered = to_request(&signed[0]);
    *tampered.uri_mut() = format!("https://{}/prod/?x=1", host(&model))
        .parse()
        .unwrap();
    let resp = send(&world, tampered).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "InvalidSignatureException"
    );
    assert!(
        body_json(&resp)["message"]
            .as_str()
            .unwrap()
            .starts_with("The request signature we calculated does not match")
    );
}
