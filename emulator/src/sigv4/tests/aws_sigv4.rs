//! Interoperability with the `aws-sigv4` crate, AWS's Rust SDK signer: what it signs, this module
//! verifies; what this module signs, it produces byte for byte.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation as AwsLocation,
    SigningSettings as AwsSettings, sign as aws_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::super::{
    Credentials, EXECUTE_API, SignatureLocation, SigningSettings, VerifyPolicy, sign_request,
    sign_request_in_place, verify_request,
};

const REGION: &str = "eu-west-1";
/// 2024-05-01T10:20:30Z.
const AT: u64 = 1_714_558_830;

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(AT)
}

fn creds(token: bool) -> Credentials {
    let c = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    if token {
        c.with_session_token("IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJH+/=token")
    } else {
        c
    }
}

/// Typical `execute-api` requests, including awkward ones: encoded and dot-segment paths,
/// unsorted and encoded query strings, repeated and space-padded headers, a non-default port.
fn requests() -> Vec<http::Request<Vec<u8>>> {
    let host = "abc123defg.execute-api.eu-west-1.amazonaws.com";
    let get = |uri: &str| {
        http::Request::get(uri)
            .header("host", host)
            .body(Vec::new())
            .unwrap()
    };
    vec![
        get("https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/items?b=2&a=1&a=0"),
        get("https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/a%20b/caf%C3%A9"),
        get("https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/./x/../y//z/"),
        get(
            "https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/q?x=a%2Bb&empty=&flag&s=%7E~",
        ),
        http::Request::post("https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/orders")
            .header("host", host)
            .header("content-type", "application/json")
            .header("x-custom", "  spaced   out  value ")
            .header("x-custom", "second")
            .header("user-agent", "vpcgate-test/1.0")
            .body(br#"{"order":42,"note":"caf\u00e9"}"#.to_vec())
            .unwrap(),
        // No Host header: both signers derive it from the URI, keeping a non-default port.
        http::Request::put("http://localhost:4566/restapis/abc/prod/_user_request_/p?z=1")
            .body(b"plain body".to_vec())
            .unwrap(),
    ]
}

fn aws_signed(
    req: &http::Request<Vec<u8>>,
    c: &Credentials,
    location: AwsLocation,
) -> http::Request<Vec<u8>> {
    let identity: Identity = aws_credential_types::Credentials::new(
        &c.access_key_id,
        &c.secret_access_key,
        c.session_token.clone(),
        None,
        "test",
    )
    .into();
    let mut settings = AwsSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(900));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(EXECUTE_API)
        .time(at())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = req.uri().to_string();
    let signable = SignableRequest::new(
        req.method().as_str(),
        uri.as_str(),
        req.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
        SignableBody::Bytes(req.body()),
    )
    .unwrap();
    let (instructions, _) = aws_sign(signable, &params).unwrap().into_parts();
    let mut out = req.clone();
    instructions.apply_to_request_http1x(&mut out);
    out
}

fn ours_signed(
    req: &http::Request<Vec<u8>>,
    c: &Credentials,
    location: SignatureLocation,
) -> http::Request<Vec<u8>> {
    let mut out = req.clone();
    let settings = SigningSettings {
        location,
        expires_in: Duration::from_secs(900),
        ..SigningSettings::default()
    };
    sign_request(&mut out, c, REGION, EXECUTE_API, at(), &settings).unwrap();
    out
}

const LOCATIONS: [(SignatureLocation, AwsLocation); 2] = [
    (SignatureLocation::Headers, AwsLocation::Headers),
    (SignatureLocation::QueryString, AwsLocation::QueryParams),
];

#[test]
fn verifies_what_aws_sigv4_signs() {
    let policy = VerifyPolicy::execute_api(REGION);
    for token in [false, true] {
        let c = creds(token);
        let lookup = |id: &str| (id == c.access_key_id).then(|| c.clone());
        for (ours, theirs) in LOCATIONS {
            for req in requests() {
                let signed = aws_signed(&req, &c, theirs);
                let verified = verify_request(&signed, at(), &policy, lookup)
                    .unwrap_or_else(|e| panic!("{} {}: {e:?}", req.method(), signed.uri()));
                assert_eq!(verified.location, ours);
                assert_eq!(verified.session_token, c.session_token);
                assert_eq!(verified.region, REGION);
                assert_eq!(verified.service, EXECUTE_API);
            }
        }
    }
}

#[test]
fn signs_byte_for_byte_like_aws_sigv4() {
    for token in [false, true] {
        let c = creds(token);
        for (ours, theirs) in LOCATIONS {
            for req in requests() {
                let a = aws_signed(&req, &c, theirs);
                let b = ours_signed(&req, &c, ours);
                assert_eq!(
                    b.uri().to_string(),
                    a.uri().to_string(),
                    "uri of {}",
                    req.uri()
                );
                assert_eq!(b.headers(), a.headers(), "headers of {}", req.uri());
                for name in ["authorization", "x-amz-date", "x-amz-security-token"] {
                    assert_eq!(
                        b.headers().get(name).map(|v| v.as_bytes()),
                        a.headers().get(name).map(|v| v.as_bytes()),
                        "{name} of {}",
                        req.uri()
                    );
                }
            }
        }
    }
}

/// The headers in the order they are in, names and values.
fn listed(req: &http::Request<Vec<u8>>) -> Vec<(String, Vec<u8>, bool)> {
    req.headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec(), v.is_sensitive()))
        .collect()
}

#[test]
fn signing_in_place_sets_what_sign_request_and_aws_sigv4_set() {
    let variants = [
        SigningSettings::default(),
        SigningSettings {
            content_sha256_header: true,
            ..SigningSettings::default()
        },
        SigningSettings {
            session_token_signed: false,
            ..SigningSettings::default()
        },
        SigningSettings {
            sign_payload: false,
            normalize_uri_path: false,
            ..SigningSettings::default()
        },
    ];
    let mut awkward = requests();
    // A stale date and token already on the request: replaced, as `sign_request` does.
    for req in &mut awkward {
        req.headers_mut().insert(
            "x-amz-date",
            http::HeaderValue::from_static("20000101T000000Z"),
        );
        req.headers_mut().insert(
            "x-amz-security-token",
            http::HeaderValue::from_static("stale"),
        );
    }
    for token in [false, true] {
        let c = creds(token);
        for req in requests() {
            let mut lean = req.clone();
            sign_request_in_place(
                &mut lean,
                &c,
                REGION,
                EXECUTE_API,
                at(),
                &SigningSettings::default(),
            )
            .unwrap();
            let aws = aws_signed(&req, &c, AwsLocation::Headers);
            assert_eq!(lean.headers(), aws.headers(), "headers of {}", req.uri());
        }
        for settings in &variants {
            for req in requests().into_iter().chain(awkward.clone()) {
                let mut full = req.clone();
                sign_request(&mut full, &c, REGION, EXECUTE_API, at(), settings).unwrap();
                let mut lean = req.clone();
                sign_request_in_place(&mut lean, &c, REGION, EXECUTE_API, at(), settings).unwrap();
                assert_eq!(listed(&lean), listed(&full), "{settings:?} {}", req.uri());
                assert_eq!(lean.uri(), full.uri());
            }
        }
        // Presigning goes the full way.
        for req in requests() {
            let settings = SigningSettings {
                location: SignatureLocation::QueryString,
                expires_in: Duration::from_secs(900),
                ..SigningSettings::default()
            };
            let mut lean = req.clone();
            sign_request_in_place(&mut lean, &c, REGION, EXECUTE_API, at(), &settings).unwrap();
            assert_eq!(
                lean.uri(),
                ours_signed(&req, &c, SignatureLocation::QueryString).uri()
            );
        }
    }
}

#[test]
fn aws_sigv4_signature_is_rejected_with_the_wrong_secret_or_clock() {
    let c = creds(true);
    let signed = aws_signed(&requests()[0], &c, AwsLocation::Headers);
    let policy = VerifyPolicy::execute_api(REGION);
    let wrong = |_: &str| {
        Some(
            Credentials::new("AKIDEXAMPLE", "not-the-secret")
                .with_session_token(c.session_token.clone().unwrap()),
        )
    };
    let err = verify_request(&signed, at(), &policy, wrong).unwrap_err();
    assert_eq!(err.error_type(), "InvalidSignatureException");
    let late = at() + Duration::from_secs(5 * 60 + 1);
    let err = verify_request(&signed, late, &policy, |_| Some(c.clone())).unwrap_err();
    assert!(
        err.message().starts_with("Signature expired: "),
        "{}",
        err.message()
    );
}
