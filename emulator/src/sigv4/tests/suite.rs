//! AWS's SigV4 test suite (aws-c-auth `tests/aws-signing-test-suite/v4`, Apache-2.0), every case.
//!
//! How the context flags are honoured:
//! - `normalize: false` (the `*-unnormalized` cases) is S3's rule. The signer runs with
//!   `normalize_uri_path: false` and the verifier with the same policy flag; API Gateway itself
//!   always normalises, which `VerifyPolicy::execute_api` encodes.
//! - `sign_body: true` means "also send and sign `x-amz-content-sha256`" (header signing only; the
//!   presigned form hashes the body without a parameter). The payload is hashed in every case.
//! - `omit_session_token: true` (`post-sts-header-after`) means the token is added after signing.
//!   In the header form that needs nothing special: the token is not in `SignedHeaders`, and the
//!   verifier still checks it against the issued one. In the presigned form the token sits in the
//!   query string but outside the canonical query, which SDK clients of API Gateway never produce,
//!   so the verifier accepts it only with `unsigned_query_session_token`, set from this flag.
//! - `get-space-*` put a raw space in the request line. No `http::Uri` can hold that, so those two
//!   cases are verified through [`Incoming`] with the target as written; all others are verified
//!   both ways.

use std::collections::BTreeSet;

use super::super::{Incoming, SignatureLocation, canonical, verify, verify_request};
use super::fixture::{Case, Fixture, SUITE};

const FORMS: [(SignatureLocation, &str); 2] = [
    (SignatureLocation::Headers, "header"),
    (SignatureLocation::QueryString, "query"),
];

#[test]
fn suite_is_complete() {
    let names: Vec<String> = Case::all().into_iter().map(|c| c.name).collect();
    assert_eq!(names.len(), 38, "{SUITE}: {names:?}");
    for case in Case::all() {
        for (_, form) in FORMS {
            for file in [
                "canonical-request.txt",
                "string-to-sign.txt",
                "signature.txt",
                "signed-request.txt",
            ] {
                assert!(case.dir.join(format!("{form}-{file}")).is_file());
            }
        }
    }
}

#[test]
fn signer_reproduces_canonical_request_string_to_sign_and_signature() {
    let mut failures = Vec::new();
    for case in Case::all() {
        let request = Fixture::parse(&case.file("request.txt")).expect("request.txt parses");
        for (location, form) in FORMS {
            let out = case.sign(&request, location).expect("signs");
            let creq = case.file(&format!("{form}-canonical-request.txt"));
            let sts = case.file(&format!("{form}-string-to-sign.txt"));
            let sig = case.file(&format!("{form}-signature.txt"));
            if out.canonical_request != creq.as_bytes() {
                failures.push(format!(
                    "{}/{form}: canonical request\n got: {:?}\nwant: {creq:?}",
                    case.name,
                    String::from_utf8_lossy(&out.canonical_request)
                ));
            }
            if out.string_to_sign != sts {
                failures.push(format!("{}/{form}: string to sign", case.name));
            }
            if out.signature != sig.trim() {
                failures.push(format!("{}/{form}: signature", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What the signer adds equals what the suite's signed requests carry.
#[test]
fn signer_adds_the_suite_headers_and_query_parameters() {
    for case in Case::all() {
        let request = Fixture::parse(&case.file("request.txt")).unwrap();
        let out = case.sign(&request, SignatureLocation::Headers).unwrap();
        let signed = Fixture::parse(&case.file("header-signed-request.txt")).unwrap();
        for (name, value) in &out.headers {
            assert_eq!(
                signed.headers.get(name),
                Some(value),
                "{}: {name}",
                case.name
            );
        }
        assert_eq!(
            signed.headers.len(),
            request.headers.len() + out.headers.len()
        );

        let out = case.sign(&request, SignatureLocation::QueryString).unwrap();
        let signed = Fixture::parse(&case.file("query-signed-request.txt")).unwrap();
        let ours: BTreeSet<(Vec<u8>, Vec<u8>)> = canonical::parse_query(
            canonical::split_target(&out.presigned_target(&request.target))
                .1
                .unwrap(),
        )
        .into_iter()
        .collect();
        let theirs: BTreeSet<(Vec<u8>, Vec<u8>)> =
            canonical::parse_query(canonical::split_target(&signed.target).1.unwrap())
                .into_iter()
                .collect();
        assert_eq!(ours, theirs, "{}", case.name);
        assert_eq!(
            canonical::split_target(&signed.target).0,
            canonical::split_target(&request.target).0
        );
    }
}

fn verify_fixture(case: &Case, fixture: &Fixture) -> Result<super::super::Verified, String> {
    verify(
        &fixture.incoming(),
        case.time,
        &case.policy(),
        case.lookup(),
    )
    .map_err(|e| format!("{e:?}"))
}

#[test]
fn verifier_accepts_every_signed_request() {
    let mut via_http = 0;
    for case in Case::all() {
        for (location, form) in FORMS {
            let fixture = Fixture::parse(&case.file(&format!("{form}-signed-request.txt")))
                .expect("signed request parses");
            let verified = verify_fixture(&case, &fixture)
                .unwrap_or_else(|e| panic!("{}/{form} rejected: {e}", case.name));
            assert_eq!(verified.access_key_id, case.credentials.access_key_id);
            assert_eq!(verified.region, case.region);
            assert_eq!(verified.service, case.service);
            assert_eq!(verified.signing_time, case.time);
            assert_eq!(verified.location, location);
            assert_eq!(verified.session_token, case.credentials.session_token);
            assert!(verified.signed_header_names().any(|h| h == "host"));
            if let Some(req) = fixture.to_http() {
                via_http += 1;
                let again = verify_request(&req, case.time, &case.policy(), case.lookup())
                    .unwrap_or_else(|e| panic!("{}/{form} as http::Request: {e:?}", case.name));
                assert_eq!(again, verified);
            } else {
                assert!(
                    case.name.starts_with("get-space"),
                    "{} has no http form",
                    case.name
                );
            }
        }
    }
    assert_eq!(
        via_http,
        2 * 38 - 4,
        "all but the raw-space targets go through http::Request"
    );
}

/// Replacement for one byte: letters and digits move to the next one of their kind, other ASCII
/// becomes `x`, and UTF-8 bytes move by one while the text stays valid. None of these produce
/// `:`, a space or a line break, so the mutated request still parses and reaches the verifier.
fn mutate(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let b = bytes[at];
    let candidates = match b {
        b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => vec![b + 1],
        b'z' => vec![b'a'],
        b'Z' => vec![b'A'],
        b'9' => vec![b'0'],
        0x80.. => vec![b.wrapping_add(1), b.wrapping_sub(1), 0x80, 0xBF],
        _ => vec![b'x'],
    };
    for c in candidates {
        bytes[at] = c;
        if let Ok(s) = String::from_utf8(bytes.clone()) {
            return s;
        }
    }
    panic!("no valid mutation at {at} of {text:?}");
}

/// Byte ranges of everything that takes part in verification: method, target (path and query,
/// with the presigned parameters), every header name and value (the signed ones, `X-Amz-Date`,
/// `Authorization` with its credential, signed-header list and signature, and the session
/// token), and the body.
fn checked_spans(text: &str) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let mut spans = Vec::new();
    let head_end = text.find("\n\n").unwrap_or(text.len());
    let mut offset = 0;
    for (i, line) in text[..head_end].split('\n').enumerate() {
        if i == 0 {
            let method_end = line.find(' ').unwrap();
            let target_end = line.rfind(' ').unwrap();
            spans.push(("method", 0..method_end));
            spans.push(("target", method_end + 1..target_end));
        } else if line.starts_with(' ') {
            let start = line.len() - line.trim_start().len();
            spans.push(("header value", offset + start..offset + line.len()));
        } else if let Some(colon) = line.find(':') {
            spans.push(("header name", offset..offset + colon));
            spans.push(("header value", offset + colon + 1..offset + line.len()));
        }
        offset += line.len() + 1;
    }
    if head_end + 2 < text.len() {
        spans.push(("body", head_end + 2..text.len()));
    }
    spans.retain(|(_, r)| !r.is_empty());
    spans
}

/// Mutations a correct verifier accepts because the canonical request does not change: bytes of
/// path segments that a later `..` removes, in the normalised cases. `(case, target offset)`, for
/// both signed forms; the test also recomputes the canonical path to prove each one is equal
/// under canonicalisation.
///
/// Offset 0 is the leading `/`: as `x` it glues onto the first segment (`xexample/..`), which `..`
/// still erases. Such a target is not valid HTTP (origin-form starts with `/`), so a server rejects
/// it before SigV4 is consulted; the verifier alone cannot tell.
const EQUAL_UNDER_CANONICALISATION: &[(&str, &[usize])] = &[
    // "/example/.." normalises to "/": the leading slash and "example" (offsets 0..=7) vanish.
    ("get-relative-normalized", &[0, 1, 2, 3, 4, 5, 6, 7]),
    // "/example1/example2/../.." normalises to "/": the leading slash, both segments and the
    // slash between them (offsets 0..=17) vanish.
    (
        "get-relative-relative-normalized",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
    ),
];

#[test]
fn verifier_rejects_every_single_byte_change() {
    let mut accepted = BTreeSet::new();
    let mut checked = 0usize;
    for case in Case::all() {
        for (_, form) in FORMS {
            let text = case.file(&format!("{form}-signed-request.txt"));
            for (part, range) in checked_spans(&text) {
                for at in range.clone() {
                    let mutated = mutate(&text, at);
                    let fixture = Fixture::parse(&mutated).unwrap_or_else(|e| {
                        panic!("{}/{form}: mutation at {at} broke parsing: {e}", case.name)
                    });
                    checked += 1;
                    if verify_fixture(&case, &fixture).is_ok() {
                        let target_start = text.find(' ').unwrap() + 1;
                        assert_eq!(part, "target", "{}/{form}: {part} at {at}", case.name);
                        let path = |t: &str| canonical::split_target(t).0.to_owned();
                        let original = path(&Fixture::parse(&text).unwrap().target);
                        assert_eq!(
                            canonical::canonical_uri(&path(&fixture.target), true),
                            canonical::canonical_uri(&original, true),
                            "{}/{form}: accepted mutation changed the canonical path",
                            case.name
                        );
                        accepted.insert((case.name.clone(), form, at - target_start));
                    }
                }
            }
        }
    }
    let expected: BTreeSet<(String, &str, usize)> = EQUAL_UNDER_CANONICALISATION
        .iter()
        .flat_map(|(case, offsets)| {
            FORMS.iter().flat_map(move |(_, form)| {
                offsets.iter().map(move |&o| ((*case).to_owned(), *form, o))
            })
        })
        .collect();
    assert_eq!(
        accepted, expected,
        "accepted mutations differ from the listed ones"
    );
    // 24,650 single-byte mutations at the time of writing.
    assert!(checked > 24_000, "only {checked} mutations checked");
}

/// The verifier's own view of a request equals the signer's: signing the unsigned request and
/// verifying the result works for every case, through `http::Request` where possible.
#[test]
fn sign_then_verify_roundtrip_for_every_case() {
    for case in Case::all() {
        let request = Fixture::parse(&case.file("request.txt")).unwrap();
        let Some(req) = request.to_http() else {
            continue;
        };
        for (location, form) in FORMS {
            let mut signed = req.clone();
            case.sign_request(&mut signed, location).unwrap();
            verify_request(&signed, case.time, &case.policy(), case.lookup())
                .unwrap_or_else(|e| panic!("{}/{form}: {e:?}", case.name));
            let incoming = Incoming::from_request(&signed);
            assert!(verify(&incoming, case.time, &case.policy(), case.lookup()).is_ok());
        }
    }
}
