//! Cost of verifying a typical `execute-api` GET with a session token, next to the cost of
//! signing the same request with the `aws-sigv4` crate (and with this module).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings as AwsSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{Criterion, criterion_group, criterion_main};
use vpcgate::sigv4::{
    Credentials, EXECUTE_API, SigningSettings, VerifyPolicy, sign_request, verify_request,
};

const REGION: &str = "us-east-1";

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_558_830)
}

fn creds() -> Credentials {
    Credentials::new(
        "ASIAEXAMPLEKEY123456",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    )
    .with_session_token(
        "IQoJb3JpZ2luX2VjEJ//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6EXAMPLEtokenpayload+/=",
    )
}

fn unsigned() -> http::Request<Vec<u8>> {
    http::Request::get(
        "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/orders/42?expand=items&page=2",
    )
    .header("host", "abc123defg.execute-api.us-east-1.amazonaws.com")
    .header("accept", "application/json")
    .header(
        "x-amzn-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
    )
    .body(Vec::new())
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let creds = creds();
    let mut signed = unsigned();
    sign_request(
        &mut signed,
        &creds,
        REGION,
        EXECUTE_API,
        at(),
        &SigningSettings::default(),
    )
    .unwrap();
    let policy = VerifyPolicy::execute_api(REGION);
    let lookup = |id: &str| (id == creds.access_key_id).then(|| creds.clone());
    assert!(verify_request(&signed, at(), &policy, lookup).is_ok());

    c.bench_function("vpcgate verify GET+token", |b| {
        b.iter(|| verify_request(black_box(&signed), at(), &policy, lookup).unwrap())
    });

    let identity: Identity = aws_credential_types::Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "bench",
    )
    .into();
    let req = unsigned();
    c.bench_function("aws-sigv4 sign GET+token", |b| {
        b.iter(|| {
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region(REGION)
                .name(EXECUTE_API)
                .time(at())
                .settings(AwsSettings::default())
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
            let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
                .unwrap()
                .into_parts();
            let mut out = black_box(&req).clone();
            instructions.apply_to_request_http1x(&mut out);
            out
        })
    });

    c.bench_function("vpcgate sign GET+token", |b| {
        b.iter(|| {
            let mut out = black_box(&req).clone();
            sign_request(
                &mut out,
                &creds,
                REGION,
                EXECUTE_API,
                at(),
                &SigningSettings::default(),
            )
            .unwrap();
            out
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
