//! What API Gateway puts on the wire for each SigV4 failure: status, `x-amzn-ErrorType` and the
//! exact message. Test names end with the source of the text (see `error.rs` for the URLs):
//! `repost_403` = repost.aws knowledge-center/api-gateway-troubleshoot-403-forbidden,
//! `repost_mismatch` = knowledge-center/api-gateway-iam-sigv4-mismatch, `chalice_828` =
//! github.com/aws/chalice/issues/828, `dynalite` = captures in github.com/mhart/dynalite.
//! Clocks are pinned; nothing reads the host clock.

use std::time::{Duration, SystemTime};

use http::{HeaderValue, Request};

use super::super::{
    Credentials, EXECUTE_API, Incoming, SigV4Error, SignatureLocation, SigningSettings,
    VerifyPolicy, sign_request, verify, verify_request,
};
use crate::clock::Clock;

/// 2015-08-30T12:36:00Z, the suite's signing time.
const T0: u64 = 1_440_938_160;
const HOST: &str = "abc123.execute-api.us-east-1.amazonaws.com";

fn t(offset_secs: i64) -> SystemTime {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(T0);
    if offset_secs >= 0 {
        base + Duration::from_secs(offset_secs.unsigned_abs())
    } else {
        base - Duration::from_secs(offset_secs.unsigned_abs())
    }
}

fn key() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
}

fn temp_key() -> Credentials {
    Credentials::new("ASIAEXAMPLE", "tempSECRET").with_session_token("issued-token")
}

fn lookup(id: &str) -> Option<Credentials> {
    [key(), temp_key()]
        .into_iter()
        .find(|c| c.access_key_id == id)
}

fn policy() -> VerifyPolicy {
    VerifyPolicy::execute_api("us-east-1")
}

fn unsigned() -> Request<Vec<u8>> {
    Request::get("/prod/items?a=1")
        .header("host", HOST)
        .body(Vec::new())
        .unwrap()
}

fn signed_with(
    creds: &Credentials,
    region: &str,
    service: &str,
    at: SystemTime,
) -> Request<Vec<u8>> {
    let mut req = unsigned();
    sign_request(
        &mut req,
        creds,
        region,
        service,
        at,
        &SigningSettings::default(),
    )
    .unwrap();
    req
}

fn signed() -> Request<Vec<u8>> {
    signed_with(&key(), "us-east-1", EXECUTE_API, t(0))
}

fn presigned(creds: &Credentials, expires: Duration) -> Request<Vec<u8>> {
    let mut req = unsigned();
    let settings = SigningSettings {
        location: SignatureLocation::QueryString,
        expires_in: expires,
        ..SigningSettings::default()
    };
    sign_request(&mut req, creds, "us-east-1", EXECUTE_API, t(0), &settings).unwrap();
    req
}

fn check(req: &Request<Vec<u8>>, now: SystemTime) -> SigV4Error {
    verify_request(req, now, &policy(), lookup).expect_err("must be rejected")
}

fn with_header(mut req: Request<Vec<u8>>, name: &'static str, value: &str) -> Request<Vec<u8>> {
    req.headers_mut()
        .insert(name, HeaderValue::from_str(value).unwrap());
    req
}

fn assert_wire(err: &SigV4Error, error_type: &str, message: &str) {
    let wire = crate::sigv4::wire(err, crate::sigv4::Protocol::ExecuteApi);
    assert_eq!(wire.status, http::StatusCode::FORBIDDEN);
    assert_eq!(err.error_type(), error_type);
    assert_eq!(wire.code, error_type);
    assert_eq!(err.message(), message);
    let body: serde_json::Value = serde_json::from_str(&wire.json_body()).unwrap();
    assert_eq!(body, serde_json::json!({ "message": message }));
}

#[test]
fn no_signature_is_missing_authentication_token_repost_403() {
    let err = check(&unsigned(), t(0));
    assert_wire(
        &err,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    );
    assert_eq!(err, SigV4Error::MissingAuthenticationToken);
}

#[test]
fn unknown_access_key_repost_mismatch_and_repost_403() {
    let stranger = Credentials::new("AKIDSTRANGER", "whatever");
    let err = check(
        &signed_with(&stranger, "us-east-1", EXECUTE_API, t(0)),
        t(0),
    );
    assert_wire(
        &err,
        "AccessDeniedException",
        "The security token included in the request is invalid.",
    );
    assert_eq!(
        err,
        SigV4Error::UnknownAccessKey {
            access_key_id: "AKIDSTRANGER".into()
        }
    );
}

#[test]
fn wrong_secret_quotes_canonical_string_and_string_to_sign_repost_mismatch_aws_sdk_js_2372() {
    let forged = Credentials::new("AKIDEXAMPLE", "not-the-secret");
    let err = check(&signed_with(&forged, "us-east-1", EXECUTE_API, t(0)), t(0));
    let canonical = format!(
        "GET\n/prod/items\na=1\nhost:{HOST}\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sts = format!(
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/execute-api/aws4_request\n{}",
        super::super::canonical::sha256_hex(canonical.as_bytes())
    );
    assert_wire(
        &err,
        "InvalidSignatureException",
        &format!(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.\n\nThe Canonical String for this request should have \
             been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{sts}'\n"
        ),
    );
}

/// A request signed in process is verified from the signer's own signature
/// (`canonical::remember_signature`): a signature or a header changed after signing is still a
/// mismatch, and the untouched request still verifies.
#[test]
fn a_request_changed_after_signing_in_process_is_still_rejected() {
    let req = signed();
    assert!(verify_request(&req, t(0), &policy(), lookup).is_ok());
    let authorization = req.headers()["authorization"].to_str().unwrap().to_owned();
    let last = authorization.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &authorization[..authorization.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let forged = with_header(signed(), "authorization", &flipped);
    assert!(matches!(
        check(&forged, t(0)),
        SigV4Error::SignatureMismatch { .. }
    ));
    let mut moved = signed();
    *moved.uri_mut() = "/prod/items?a=2".parse().unwrap();
    assert!(matches!(
        check(&moved, t(0)),
        SigV4Error::SignatureMismatch { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn expired_signature_five_minute_window_repost_403_project_notes() {
    let clock = Clock::at_unix(T0);
    let req = signed();
    assert!(verify_request(&req, clock.now(), &policy(), lookup).is_ok());
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(
        verify_request(&req, clock.now(), &policy(), lookup).is_ok(),
        "exactly 5 minutes is still inside the window"
    );
    tokio::time::sleep(Duration::from_secs(300)).await;
    let err = check(&req, clock.now());
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z \
         (20150830T124600Z - 5 min.)",
    );
}

#[test]
fn expiry_boundaries_are_whole_seconds() {
    let req = signed();
    assert!(verify_request(&req, t(300) + Duration::from_millis(999), &policy(), lookup).is_ok());
    assert!(matches!(
        check(&req, t(301)),
        SigV4Error::SignatureExpired { .. }
    ));
    assert!(verify_request(&req, t(-300), &policy(), lookup).is_ok());
    assert!(matches!(
        check(&req, t(-301)),
        SigV4Error::SignatureNotYetCurrent { .. }
    ));
}

#[test]
fn future_signature_not_yet_current_serverless_enterprise_11() {
    let err = check(&signed(), t(-360));
    assert_wire(
        &err,
        "InvalidSignatureException",
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \
         (20150830T123000Z + 5 min.)",
    );
}

#[test]
fn bare_token_lists_every_missing_part_chalice_828() {
    let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5ZDQzNmM5MiJ9.4f1JhoEZYj16T9Cfe";
    let err = check(&with_header(unsigned(), "authorization", jwt), t(0));
    assert_wire(
        &err,
        "IncompleteSignatureException",
        &format!(
            "Authorization header requires 'Credential' parameter. Authorization header requires \
             'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
             Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header. Authorization={jwt}"
        ),
    );
}

#[test]
fn partial_authorization_lists_only_what_is_missing_dynalite() {
    let auth =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request";
    let req = with_header(
        with_header(unsigned(), "authorization", auth),
        "x-amz-date",
        "20150830T123600Z",
    );
    assert_wire(
        &check(&req, t(0)),
        "IncompleteSignatureException",
        &format!(
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter. Authorization={auth}"
        ),
    );
}

#[test]
fn bearer_token_is_a_missing_equal_sign_with_hashed_header_tams_8() {
    let err = check(
        &with_header(unsigned(), "authorization", "Bearer abc.def"),
        t(0),
    );
    assert_wire(
        &err,
        "IncompleteSignatureException",
        "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with \
         SHA-256 and encoded with Base64): '31xUL9zZyAlSdEwUtwhnc4s/kOVbd/iPF7n4gXswkoE='.",
    );
    // A space after `Credential=` splits the component, as in iann0036/cloud9-sync#10.
    let auth = "AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20150830/us-east-1/execute-api/\
                aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    let err = check(&with_header(unsigned(), "authorization", auth), t(0));
    assert_eq!(
        err,
        SigV4Error::MissingEqualSign {
            component: "AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request".into(),
            authorization: auth.into()
        }
    );
    assert!(
        err.message()
            .ends_with("'wJSrPGLkVaDieMhXRJKhJQZpmKxiT2iqFceVtxJrcC0='.")
    );
}

#[test]
fn algorithm_with_equal_sign_unconfirmed() {
    let err = check(
        &with_header(unsigned(), "authorization", "x-api-key=secret"),
        t(0),
    );
    assert_wire(
        &err,
        "IncompleteSignatureException",
        "Authorization header must begin with the algorithm name, which cannot include an \
         equal-sign",
    );
}

fn with_authorization(transform: impl Fn(&str) -> String) -> Request<Vec<u8>> {
    let req = signed();
    let auth = req.headers()["authorization"].to_str().unwrap().to_owned();
    with_header(req, "authorization", &transform(&auth))
}

#[test]
fn bad_date_format_dynalite() {
    let req = with_header(signed(), "x-amz-date", "201");
    assert_wire(
        &check(&req, t(0)),
        "IncompleteSignatureException",
        "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
    let req = with_header(signed(), "x-amz-date", "2015-08-30T12:36:00Z");
    assert!(matches!(check(&req, t(0)), SigV4Error::InvalidDate { .. }));
}

#[test]
fn host_must_be_signed_scratchstack_versity() {
    let req = with_authorization(|a| {
        a.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date")
    });
    assert_wire(
        &check(&req, t(0)),
        "InvalidSignatureException",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
}

#[test]
fn unsupported_algorithm_dynalite() {
    let req = with_authorization(|a| a.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA25 "));
    assert_wire(
        &check(&req, t(0)),
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). ",
    );
}

#[test]
fn credential_with_four_parts_mhart_aws4_97_dynalite() {
    let req = with_authorization(|a| a.replace("/execute-api/aws4_request", "/execute-api"));
    assert_wire(
        &check(&req, t(0)),
        "IncompleteSignatureException",
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-east-1/execute-api'",
    );
    // Trailing slashes are ignored (dynalite), and the header form does not sign the credential
    // text itself, only the scope rebuilt from it.
    let req = with_authorization(|a| a.replace("aws4_request,", "aws4_request//,"));
    assert!(verify_request(&req, t(0), &policy(), lookup).is_ok());
}

#[test]
fn credential_scoped_to_another_service_ex_aws_701() {
    let req = signed_with(&key(), "us-east-1", "apigateway", t(0));
    assert_wire(
        &check(&req, t(0)),
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'execute-api'. ",
    );
}

#[test]
fn credential_scoped_to_another_region_aws_sdk_js_792() {
    let req = signed_with(&key(), "execute-api", EXECUTE_API, t(0));
    assert_wire(
        &check(&req, t(0)),
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'execute-api'. ",
    );
    // Without a pinned region any region is accepted.
    let any = VerifyPolicy {
        region: None,
        ..policy()
    };
    let req = signed_with(&key(), "eu-west-3", EXECUTE_API, t(0));
    assert_eq!(
        verify_request(&req, t(0), &any, lookup).unwrap().region,
        "eu-west-3"
    );
}

#[test]
fn every_scope_fault_at_once_in_aws_order_dynalite() {
    let req = with_authorization(|a| {
        a.replace(
            "20150830/us-east-1/execute-api/aws4_request",
            "b/c/dynamodb/e",
        )
    });
    assert_wire(
        &check(&req, t(0)),
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'c'. Credential should be scoped to \
         correct service: 'execute-api'. Credential should be scoped with a valid terminator: \
         'aws4_request', not 'e'. Date in Credential scope does not match YYYYMMDD from \
         ISO-8601 version of date from HTTP: 'b' != '20150830', from '20150830T123600Z'.",
    );
}

#[test]
fn both_header_and_query_auth_dynalite_kinesalite() {
    let mut req = presigned(&key(), Duration::from_secs(300));
    let header = signed();
    req.headers_mut()
        .insert("authorization", header.headers()["authorization"].clone());
    assert_wire(
        &check(&req, t(0)),
        "InvalidSignatureException",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
}

#[test]
fn incomplete_presigned_query_dynalite() {
    let req = Request::get("/prod/ws?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=")
        .header("host", HOST)
        .body(Vec::new())
        .unwrap();
    assert_wire(
        &check(&req, t(0)),
        "IncompleteSignatureException",
        "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string \
         parameters must include 'X-Amz-Signature'. AWS query-string parameters must include \
         'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. \
         Re-examine the query-string parameters.",
    );
}

#[test]
fn presigned_request_used_after_x_amz_expires_unconfirmed() {
    let req = presigned(&key(), Duration::from_secs(60));
    assert!(verify_request(&req, t(60), &policy(), lookup).is_ok());
    assert_wire(
        &check(&req, t(61)),
        "InvalidSignatureException",
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
         (20150830T123701Z - 60 sec.)",
    );
    // The five-minute skew still bounds a longer X-Amz-Expires, as AWS's front end does for
    // non-S3 services (aws-sdk-go#2167).
    let req = presigned(&key(), Duration::from_secs(3600));
    assert!(matches!(
        check(&req, t(301)),
        SigV4Error::SignatureExpired { .. }
    ));
}

#[test]
fn invalid_x_amz_expires_unconfirmed() {
    let req = presigned(&key(), Duration::from_secs(60));
    for bad in ["abc", "-1", "604801"] {
        let target = req
            .uri()
            .to_string()
            .replace("X-Amz-Expires=60", &format!("X-Amz-Expires={bad}"));
        let mut bad_req = req.clone();
        *bad_req.uri_mut() = target.parse().unwrap();
        let err = check(&bad_req, t(0));
        assert_eq!(err, SigV4Error::InvalidExpires { value: bad.into() });
        assert_eq!(err.error_type(), "IncompleteSignatureException");
    }
}

#[test]
fn session_token_must_be_the_issued_one_dynalite() {
    let want = |err: SigV4Error| {
        assert_wire(
            &err,
            "AccessDeniedException",
            "The security token included in the request is invalid",
        );
    };
    // Signed with the right key but another token: the signature matches, the token does not.
    let other = Credentials {
        session_token: Some("forged-token".into()),
        ..temp_key()
    };
    want(check(
        &signed_with(&other, "us-east-1", EXECUTE_API, t(0)),
        t(0),
    ));
    // Temporary key without its token.
    let bare = Credentials {
        session_token: None,
        ..temp_key()
    };
    want(check(
        &signed_with(&bare, "us-east-1", EXECUTE_API, t(0)),
        t(0),
    ));
    // A token with a key that has none.
    want(check(
        &signed_with(
            &key().with_session_token("x"),
            "us-east-1",
            EXECUTE_API,
            t(0),
        ),
        t(0),
    ));
    // Presigned, same rule.
    want(check(&presigned(&other, Duration::from_secs(300)), t(0)));
    // The right token passes, in both forms.
    let ok = verify_request(
        &signed_with(&temp_key(), "us-east-1", EXECUTE_API, t(0)),
        t(0),
        &policy(),
        lookup,
    )
    .unwrap();
    assert_eq!(ok.session_token.as_deref(), Some("issued-token"));
    let ok = verify_request(
        &presigned(&temp_key(), Duration::from_secs(300)),
        t(0),
        &policy(),
        lookup,
    )
    .unwrap();
    assert_eq!(ok.location, SignatureLocation::QueryString);
}

#[test]
fn undecodable_header_bytes_are_typed_errors_not_panics_unconfirmed() {
    let mut req = signed();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 Credential=\xff\xfe").unwrap(),
    );
    let err = check(&req, t(0));
    assert_eq!(
        err,
        SigV4Error::UnreadableHeader {
            name: "authorization"
        }
    );
    assert_eq!(err.error_type(), "IncompleteSignatureException");
    let mut req = signed();
    req.headers_mut()
        .insert("x-amz-date", HeaderValue::from_bytes(b"2015\xe9").unwrap());
    assert_eq!(
        check(&req, t(0)),
        SigV4Error::UnreadableHeader { name: "x-amz-date" }
    );
}

#[test]
fn date_header_is_accepted_without_x_amz_date_chalice_828() {
    // "requires existence of either a 'X-Amz-Date' or a 'Date' header": a client that signs an
    // RFC 1123 Date header instead. The string to sign carries the ISO 8601 basic form.
    use super::super::canonical;
    let date = "Sun, 30 Aug 2015 12:36:00 GMT";
    let creq = format!(
        "GET\n/prod/items\na=1\ndate:{date}\nhost:{HOST}\n\ndate;host\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let scope = "20150830/us-east-1/execute-api/aws4_request";
    let sts = canonical::string_to_sign("20150830T123600Z", scope, creq.as_bytes());
    let signing_key = canonical::signing_key(
        &key().secret_access_key,
        "20150830",
        "us-east-1",
        EXECUTE_API,
    );
    let signature = canonical::signature(&signing_key, &sts);
    let mut headers = http::HeaderMap::new();
    headers.insert("host", HeaderValue::from_static(HOST));
    headers.insert("date", HeaderValue::from_static(date));
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders=date;host, \
             Signature={signature}"
        ))
        .unwrap(),
    );
    let incoming = Incoming {
        method: "GET",
        authority: None,
        target: "/prod/items?a=1",
        headers: &headers,
        body: b"",
    };
    let ok = verify(&incoming, t(0), &policy(), lookup).unwrap();
    assert_eq!(ok.signing_time, t(0));
    let mut bad_date = headers.clone();
    bad_date.insert("date", HeaderValue::from_static("yesterday"));
    let incoming = Incoming {
        headers: &bad_date,
        ..incoming
    };
    assert_eq!(
        verify(&incoming, t(0), &policy(), lookup).unwrap_err(),
        SigV4Error::InvalidDate {
            value: "yesterday".into()
        }
    );
}

/// Arbitrary bytes in every field the verifier parses never panic.
#[test]
fn malformed_input_never_panics() {
    let mut seed: u64 = 0x005E_ED0F_5164;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as u32
    };
    let alphabet: &[u8] = b"AWS4-HMAC-SHA256 Credential=/,;=SignedHeaders Signature X-Amz-?&%2F\
                            aws4_request execute-api us-east-1 20150830T123600Z host \xc3\xa9\xff";
    let templates = [
        signed(),
        presigned(&key(), Duration::from_secs(300)),
        presigned(&temp_key(), Duration::from_secs(300)),
    ];
    for round in 0..3000 {
        let mut req = templates[round % templates.len()].clone();
        let len = (next() % 80) as usize;
        let junk: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() as usize) % alphabet.len()])
            .collect();
        match next() % 4 {
            0 => {
                if let Ok(v) = HeaderValue::from_bytes(&junk) {
                    req.headers_mut().insert("authorization", v);
                }
            }
            1 => {
                if let Ok(v) = HeaderValue::from_bytes(&junk) {
                    req.headers_mut().insert("x-amz-date", v);
                }
            }
            2 => {
                let text: String = String::from_utf8_lossy(&junk)
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .collect();
                if let Ok(uri) = format!("/p?{text}").parse() {
                    *req.uri_mut() = uri;
                }
            }
            _ => {
                let target = String::from_utf8_lossy(&junk).into_owned();
                let incoming = Incoming {
                    target: &target,
                    ..Incoming::from_request(&req)
                };
                let _ = verify(&incoming, t(0), &policy(), lookup);
                continue;
            }
        }
        let _ = verify_request(&req, t(0), &policy(), lookup);
    }
}

#[test]
fn every_variant_is_a_403_with_a_known_error_type() {
    let errors = [
        SigV4Error::MissingAuthenticationToken,
        SigV4Error::BothHeaderAndQueryAuth,
        SigV4Error::UnreadableHeader {
            name: "authorization",
        },
        SigV4Error::HostNotSigned,
        SigV4Error::InvalidSessionToken,
        SigV4Error::CredentialScope(Default::default()),
    ];
    for err in errors {
        assert_eq!(
            crate::sigv4::wire(&err, crate::sigv4::Protocol::ExecuteApi).status,
            http::StatusCode::FORBIDDEN
        );
        assert!(err.error_type().ends_with("Exception"));
        assert!(!err.message().is_empty() || matches!(err, SigV4Error::CredentialScope(_)));
        // Display is lower-case, for logs.
        let shown = err.to_string();
        assert_eq!(
            shown.chars().next().unwrap(),
            shown.chars().next().unwrap().to_ascii_lowercase()
        );
    }
}

/// VPC Lattice: "VPC Lattice does not support payload signing. You must send an
/// `x-amz-content-sha256` header with the value set to `UNSIGNED-PAYLOAD`"
/// (docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html).
#[test]
fn unsigned_payload_verifies_only_where_the_policy_allows_it_lattice_sigv4_docs() {
    use super::super::PayloadHash;
    let mut req = Request::post("/orders")
        .header("host", HOST)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(b"{\"id\": 7}".to_vec())
        .unwrap();
    let settings = SigningSettings {
        sign_payload: false,
        content_sha256_header: true,
        ..SigningSettings::default()
    };
    sign_request(
        &mut req,
        &key(),
        "us-east-1",
        "vpc-lattice-svcs",
        t(0),
        &settings,
    )
    .unwrap();
    let lattice = VerifyPolicy {
        service: "vpc-lattice-svcs".into(),
        payload: PayloadHash::UnsignedAllowed,
        ..policy()
    };
    let ok = verify_request(&req, t(0), &lattice, lookup).unwrap();
    assert_eq!(ok.access_key_id, "AKIDEXAMPLE");
    // The same request against a verifier that always hashes the body: a mismatch.
    let hashed = VerifyPolicy {
        payload: PayloadHash::Body,
        ..lattice.clone()
    };
    assert!(matches!(
        verify_request(&req, t(0), &hashed, lookup),
        Err(SigV4Error::SignatureMismatch { .. })
    ));
    // Lattice still checks the time: a request signed 20 minutes ago is refused.
    let mut late = req.clone();
    late.headers_mut().remove(http::header::AUTHORIZATION);
    late.headers_mut().remove("x-amz-date");
    sign_request(
        &mut late,
        &key(),
        "us-east-1",
        "vpc-lattice-svcs",
        t(-1200),
        &settings,
    )
    .unwrap();
    assert!(matches!(
        verify_request(&late, t(0), &lattice, lookup),
        Err(SigV4Error::SignatureExpired { .. })
    ));
}
