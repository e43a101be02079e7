//! Interoperability with botocore (the signer under the AWS CLI and boto3): a Python script signs
//! `execute-api` requests at a fixed time and the verifier must accept every one.
//!
//! The test needs `python3` with botocore and fails, rather than skips, without them.

use std::process::Command;
use std::time::{Duration, SystemTime};

use super::super::{Credentials, SignatureLocation, VerifyPolicy, verify_request};

/// 2024-05-01T10:20:30Z, pinned inside the script too.
const AT: u64 = 1_714_558_830;

const SCRIPT: &str = r#"
import datetime, json
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2024, 5, 1, 10, 20, 30)
botocore.auth.get_current_datetime = lambda *a, **k: FIXED

HOST = "https://abc123defg.execute-api.us-east-1.amazonaws.com"
plain = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
temp = Credentials("ASIAEXAMPLE", "tempSecretKeyEXAMPLE/+K7MDENG", "FwoGZXIvYXdzEBYa+/token==")

def signed(method, path, creds, presign=False, params=None, data=None, headers=None):
    req = AWSRequest(method=method, url=HOST + path, params=params or {}, data=data,
                     headers=headers or {})
    if presign:
        SigV4QueryAuth(creds, "execute-api", "us-east-1", expires=300).add_auth(req)
    else:
        SigV4Auth(creds, "execute-api", "us-east-1").add_auth(req)
    p = req.prepare()
    body = p.body or b""
    if isinstance(body, str):
        body = body.encode()
    return {"method": p.method, "url": p.url, "headers": list(p.headers.items()),
            "body": body.hex(), "presigned": presign, "token": creds.token}

print(json.dumps([
    signed("GET", "/prod/items", plain, params={"b": "2", "a": "1", "name": "caf\u00e9 au lait"}),
    signed("POST", "/prod/orders", plain, data=b'{"order": 42}',
           headers={"Content-Type": "application/json"}),
    signed("GET", "/prod/a%20b/./c", temp, params={"q": "x+y/z"}),
    signed("DELETE", "/prod/items/7", temp, headers={"X-Trace": "  a   b  "}),
    signed("GET", "/prod/ws", temp, presign=True, params={"room": "42"}),
    signed("DELETE", "/prod/items/9", plain, presign=True, params={"force": "true"}),
]))
"#;

fn run_botocore() -> serde_json::Value {
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3, then `pip install botocore`")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "botocore signing script failed{}:\n{stderr}",
        if stderr.contains("No module named 'botocore'") {
            " (botocore is missing: `pip install botocore`)"
        } else {
            ""
        }
    );
    serde_json::from_slice(&output.stdout).expect("script prints JSON")
}

fn to_request(signed: &serde_json::Value) -> http::Request<Vec<u8>> {
    let mut builder = http::Request::builder()
        .method(signed["method"].as_str().unwrap())
        .uri(signed["url"].as_str().unwrap());
    for pair in signed["headers"].as_array().unwrap() {
        builder = builder.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    builder
        .body(hex::decode(signed["body"].as_str().unwrap()).unwrap())
        .unwrap()
}

#[test]
fn verifies_what_botocore_signs() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(AT);
    let known = [
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        Credentials::new("ASIAEXAMPLE", "tempSecretKeyEXAMPLE/+K7MDENG")
            .with_session_token("FwoGZXIvYXdzEBYa+/token=="),
    ];
    let lookup = |id: &str| known.iter().find(|c| c.access_key_id == id).cloned();
    let policy = VerifyPolicy::execute_api("us-east-1");
    let signed = run_botocore();
    let signed = signed.as_array().unwrap();
    assert_eq!(signed.len(), 6);
    for s in signed {
        let req = to_request(s);
        let verified = verify_request(&req, now, &policy, lookup).unwrap_or_else(|e| {
            panic!(
                "botocore {} {}: {e:?}\n{}",
                s["method"],
                s["url"],
                e.message()
            )
        });
        let location = if s["presigned"].as_bool().unwrap() {
            SignatureLocation::QueryString
        } else {
            SignatureLocation::Headers
        };
        assert_eq!(verified.location, location);
        assert_eq!(verified.session_token.as_deref(), s["token"].as_str());
        assert_eq!(verified.signing_time, now);

        // The same request with the body or the clock changed is refused.
        let mut tampered = to_request(s);
        tampered.body_mut().push(b'!');
        assert!(verify_request(&tampered, now, &policy, lookup).is_err());
        let late = now + Duration::from_secs(301);
        assert!(verify_request(&req, late, &policy, lookup).is_err());
    }
}
