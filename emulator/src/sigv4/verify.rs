//! Checking incoming signatures the way API Gateway does for `AWS_IAM` methods.
//!
//! The checks run in the order AWS's front end applies them, as captured against real AWS
//! endpoints by mhart/dynalite (`index.js`): presence of authentication, completeness of the
//! `Authorization` header or presigned parameters, date format, clock skew, `host` signed,
//! algorithm, credential shape, credential scope, access key, signature, and last the session
//! token. The first failing check decides the error, so a request with several faults gets the
//! same message it would get from AWS.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;

use super::canonical::{
    self, ALGORITHM, Hex64, TERMINATOR, UNSIGNED_PAYLOAD, canonical_query, canonical_uri,
    format_amz_date, parse_amz_date, parse_http_date, parse_query, split_target,
};
use super::error::ScopeMismatch;
use super::{
    Credentials, Incoming, MAX_PRESIGN_EXPIRY, PayloadHash, PolicyView, SigV4Error,
    SignatureLocation, SigningIdentity, Verified, VerifyPolicy,
};

/// The fields a signature is made of, wherever they were carried: borrowed from the headers
/// (the usual case, no copies), decoded from the query string otherwise.
struct Claimed<'a> {
    location: SignatureLocation,
    algorithm: Cow<'a, str>,
    credential: Cow<'a, str>,
    signed_headers: Cow<'a, str>,
    signature: Cow<'a, str>,
    /// `X-Amz-Date`, or the `Date` header rewritten in basic format.
    amz_date: Cow<'a, str>,
    signing_time: SystemTime,
    expires: Option<Duration>,
    session_token: Option<Cow<'a, str>>,
}

/// The value of the header `header` (named `name` in errors) as text. Looked up by a
/// `HeaderName` constant: a `&str` name is parsed and hashed again at every lookup.
fn text_header<'a>(
    req: &Incoming<'a>,
    header: &http::HeaderName,
    name: &'static str,
) -> Result<Option<&'a str>, SigV4Error> {
    match req.headers.get(header) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| SigV4Error::UnreadableHeader { name }),
    }
}

/// The algorithm word and the `key=value` components of an `Authorization` header, borrowed.
#[cfg(test)]
type Parsed<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// [`each_component`]'s components as a list.
#[cfg(test)]
fn parse_authorization(authorization: &str) -> Result<Parsed<'_>, SigV4Error> {
    let mut components = Vec::new();
    let algorithm = each_component(authorization, |k, v| components.push((k, v)))?;
    Ok((algorithm, components))
}

/// The `Credential`, `Signature` and `SignedHeaders` components of an `Authorization` header
/// (the last of each, as in AWS's key=value map), and its algorithm word.
#[derive(Default)]
struct Components<'a> {
    algorithm: &'a str,
    credential: Option<&'a str>,
    signature: Option<&'a str>,
    signed_headers: Option<&'a str>,
}

impl<'a> Components<'a> {
    /// `authorization` read in one pass, no list of its components.
    fn of(authorization: &'a str) -> Result<Self, SigV4Error> {
        let mut out = Self::default();
        out.algorithm = each_component(authorization, |key, value| match key {
            // Later duplicates win.
            "Credential" => out.credential = Some(value),
            "Signature" => out.signature = Some(value),
            "SignedHeaders" => out.signed_headers = Some(value),
            _ => {}
        })?;
        Ok(out)
    }
}

/// Splits `Authorization` the way AWS does: the algorithm is the first word (returned), and
/// the rest is a list of `key=value` components separated by commas and/or spaces (AWS reports
/// `Credential= AKID/...` as a component `AKID/...` without `=`, so spaces separate too), each
/// given to `each` in order.
fn each_component<'a>(
    authorization: &'a str,
    mut each: impl FnMut(&'a str, &'a str),
) -> Result<&'a str, SigV4Error> {
    let trimmed = authorization.trim_start();
    let (algorithm, rest) = trimmed.split_once([' ', ',']).unwrap_or((trimmed, ""));
    if algorithm.contains('=') {
        return Err(SigV4Error::AlgorithmMissing {
            authorization: authorization.to_owned(),
        });
    }
    // Split at ASCII `,` and ` ` byte by byte (a `str` split by a set of chars decodes each
    // character first, a measurable part of verifying); the pieces are still `str` slices (the
    // separators are ASCII, so every cut is at a character boundary).
    let bytes = rest.as_bytes();
    let mut start = 0;
    let mut end = 0;
    while end <= bytes.len() {
        // Eight bytes at a time while none of them is a separator (most of the header).
        if let Some(word) = bytes.get(end..end + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !has_separator(u64::from_le_bytes(w)) {
                end += 8;
                continue;
            }
        }
        if end < bytes.len() && !matches!(bytes[end], b',' | b' ') {
            end += 1;
            continue;
        }
        if end > start {
            let component = rest.get(start..end).unwrap_or_default();
            match component.split_once('=') {
                Some((key, value)) => each(key, value),
                None => {
                    return Err(SigV4Error::MissingEqualSign {
                        component: component.to_owned(),
                        authorization: authorization.to_owned(),
                    });
                }
            }
        }
        start = end + 1;
        end += 1;
    }
    Ok(algorithm)
}

/// Whether one of the eight bytes of `word` is `,` or ` ` (the zero-byte test of Hacker's
/// Delight on `word` XOR each separator: exact, no false positives).
fn has_separator(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    zero_byte(word ^ (ONES * u64::from(b','))) || zero_byte(word ^ (ONES * u64::from(b' ')))
}

/// Reads the request date: `X-Amz-Date` if present, else `Date` (header form only).
fn request_date(value: &str, is_http_date: bool) -> Result<(Cow<'_, str>, SystemTime), SigV4Error> {
    let parsed = if is_http_date {
        parse_http_date(value)
    } else {
        parse_amz_date(value)
    };
    match parsed {
        Some(time) if is_http_date => Ok((Cow::Owned(format_amz_date(time)), time)),
        Some(time) => Ok((Cow::Borrowed(value), time)),
        None => Err(SigV4Error::InvalidDate {
            value: value.to_owned(),
        }),
    }
}

fn claimed_from_header<'a>(
    req: &Incoming<'a>,
    authorization: &'a str,
) -> Result<Claimed<'a>, SigV4Error> {
    // Later duplicates win, as in AWS's (and dynalite's) key=value map.
    let Components {
        algorithm,
        credential,
        signature,
        signed_headers,
    } = Components::of(authorization)?;
    let credential = credential.filter(|v| !v.is_empty());
    let signature = signature.filter(|v| !v.is_empty());
    // AWS accepts an empty SignedHeaders here and fails later on `host`.
    let amz_date = text_header(req, &super::sign::X_AMZ_DATE, "x-amz-date")?;
    let http_date = if amz_date.is_none() {
        text_header(req, &http::header::DATE, "date")?
    } else {
        None
    };
    // (value, is an HTTP date rather than X-Amz-Date)
    let date = amz_date
        .map(|v| (v, false))
        .or_else(|| http_date.map(|v| (v, true)));
    let (Some(credential), Some(signature), Some(signed_headers), Some((date, is_http_date))) =
        (credential, signature, signed_headers, date)
    else {
        return Err(SigV4Error::IncompleteAuthorization {
            credential: credential.is_none(),
            signature: signature.is_none(),
            signed_headers: signed_headers.is_none(),
            date: date.is_none(),
            authorization: authorization.to_owned(),
        });
    };
    let (amz_date, signing_time) = request_date(date, is_http_date)?;
    Ok(Claimed {
        location: SignatureLocation::Headers,
        algorithm: Cow::Borrowed(algorithm),
        credential: Cow::Borrowed(credential),
        signed_headers: Cow::Borrowed(signed_headers),
        signature: Cow::Borrowed(signature),
        amz_date,
        signing_time,
        expires: None,
        session_token: text_header(
            req,
            &super::sign::X_AMZ_SECURITY_TOKEN,
            "x-amz-security-token",
        )?
        .map(Cow::Borrowed),
    })
}

fn claimed_from_query(params: &[(Vec<u8>, Vec<u8>)]) -> Result<Claimed<'static>, SigV4Error> {
    let find = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let required = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ];
    let missing: Vec<&'static str> = required
        .into_iter()
        .filter(|name| find(name).is_none_or(|v| v.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(SigV4Error::IncompleteQueryAuth { missing });
    }
    let get = |name: &str| find(name).unwrap_or_default();
    let date = get("X-Amz-Date");
    let (amz_date, signing_time) = request_date(&date, false)?;
    let amz_date = Cow::Owned(amz_date.into_owned());
    let expires = match find("X-Amz-Expires") {
        None => None,
        Some(value) => match value.parse::<u64>() {
            Ok(secs) if Duration::from_secs(secs) <= MAX_PRESIGN_EXPIRY => {
                Some(Duration::from_secs(secs))
            }
            _ => return Err(SigV4Error::InvalidExpires { value }),
        },
    };
    Ok(Claimed {
        location: SignatureLocation::QueryString,
        algorithm: Cow::Owned(get("X-Amz-Algorithm")),
        credential: Cow::Owned(get("X-Amz-Credential")),
        signed_headers: Cow::Owned(get("X-Amz-SignedHeaders")),
        signature: Cow::Owned(get("X-Amz-Signature")),
        amz_date,
        signing_time,
        expires,
        session_token: find("X-Amz-Security-Token").map(Cow::Owned),
    })
}

/// Whole seconds, as AWS compares and prints request times.
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

fn check_time(claimed: &Claimed<'_>, now: SystemTime, skew: Duration) -> Result<(), SigV4Error> {
    let now = whole_seconds(now);
    let signing_time = claimed.signing_time;
    if now
        .checked_sub(skew)
        .is_some_and(|earliest| signing_time < earliest)
    {
        return Err(SigV4Error::SignatureExpired {
            signing_time,
            now,
            skew,
        });
    }
    if signing_time > now + skew {
        return Err(SigV4Error::SignatureNotYetCurrent {
            signing_time,
            now,
            skew,
        });
    }
    if let Some(expires) = claimed.expires
        && now > signing_time + expires
    {
        return Err(SigV4Error::PresignedExpired {
            signing_time,
            expires,
            now,
        });
    }
    Ok(())
}

/// The five parts of `AKID/yyyymmdd/region/service/aws4_request`; AWS ignores trailing slashes.
fn split_credential(credential: &str) -> Result<[&str; 5], SigV4Error> {
    let trimmed = credential.trim_end_matches('/');
    let malformed = || SigV4Error::MalformedCredential {
        credential: credential.to_owned(),
    };
    // Cut at each `/` byte by byte (ASCII, so every cut is at a character boundary).
    let mut out = [""; 5];
    let mut n = 0;
    let mut start = 0;
    for (i, &b) in trimmed.as_bytes().iter().enumerate() {
        if b == b'/' {
            let slot = out.get_mut(n).ok_or_else(malformed)?;
            *slot = trimmed.get(start..i).ok_or_else(malformed)?;
            n += 1;
            start = i + 1;
        }
    }
    // The last part: exactly the fifth.
    if n != 4 {
        return Err(malformed());
    }
    out[4] = trimmed.get(start..).ok_or_else(malformed)?;
    Ok(out)
}

fn check_scope(
    parts: &[&str; 5],
    amz_date: &str,
    policy: &PolicyView<'_>,
) -> Result<(), SigV4Error> {
    let [_, date, region, service, terminator] = *parts;
    let mismatch = ScopeMismatch {
        region: policy
            .region
            .filter(|expected| *expected != region)
            .map(|_| region.to_owned()),
        expected_service: (service != policy.service).then(|| policy.service.to_owned()),
        terminator: (terminator != TERMINATOR).then(|| terminator.to_owned()),
        date: (Some(date) != amz_date.get(..8)).then(|| (date.to_owned(), amz_date.to_owned())),
    };
    if mismatch == ScopeMismatch::default() {
        Ok(())
    } else {
        Err(SigV4Error::CredentialScope(mismatch))
    }
}

/// The canonical request the claimed signature should cover.
fn canonical_request_for(
    req: &Incoming<'_>,
    claimed: &Claimed<'_>,
    query_params: &[(Vec<u8>, Vec<u8>)],
    normalize: bool,
    token_in_query: bool,
    payload: PayloadHash,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + claimed.signed_headers.len() * 2);
    canonical_request_into(
        &mut out,
        req,
        claimed,
        query_params,
        normalize,
        token_in_query,
        payload,
    );
    out
}

/// [`canonical_request_for`] written into `out`.
fn canonical_request_into(
    out: &mut Vec<u8>,
    req: &Incoming<'_>,
    claimed: &Claimed<'_>,
    query_params: &[(Vec<u8>, Vec<u8>)],
    normalize: bool,
    token_in_query: bool,
    payload: PayloadHash,
) {
    let (path, _) = split_target(req.target);
    let pairs = query_params.iter().filter(|(name, _)| {
        claimed.location == SignatureLocation::Headers
            || (name.as_slice() != b"X-Amz-Signature"
                && (token_in_query || name.as_slice() != b"X-Amz-Security-Token"))
    });
    let query = canonical_query(pairs.map(|(k, v)| (k.as_slice(), v.as_slice())));
    let uri = canonical_uri(path, normalize);
    let payload = payload_hash(req, payload);
    // Written straight into one buffer (the layout the signer writes, without a String and a
    // Vec per signed header).
    out.reserve(256 + claimed.signed_headers.len() * 2);
    for part in [req.method, &*uri, query.as_str()] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for name in claimed.signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut buf = [0u8; 64];
        let lower = match buf.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name.as_bytes());
                dst.make_ascii_lowercase();
                std::str::from_utf8(dst).map(std::borrow::Cow::Borrowed)
            }
            None => Ok(std::borrow::Cow::Owned(name.to_ascii_lowercase())),
        }
        .unwrap_or_else(|_| std::borrow::Cow::Owned(name.to_ascii_lowercase()));
        if !canonical::push_canonical_header_value(out, req.headers, &lower)
            && lower == "host"
            && let Some(authority) = req.authority
        {
            out.extend_from_slice(authority.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(claimed.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload.as_str().as_bytes());
}

/// The payload hash of the canonical request under `payload` ([`PayloadHash`]).
fn payload_hash(req: &Incoming<'_>, payload: PayloadHash) -> PayloadText {
    let unsigned = payload == PayloadHash::UnsignedAllowed
        && req
            .headers
            .get(super::sign::X_AMZ_CONTENT_SHA256)
            .is_some_and(|v| v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes());
    if unsigned {
        PayloadText::Unsigned
    } else {
        PayloadText::Hash(Hex64::sha256(req.body))
    }
}

/// The payload line of a canonical request, on the stack.
enum PayloadText {
    Unsigned,
    Hash(Hex64),
}

impl PayloadText {
    fn as_str(&self) -> &str {
        match self {
            Self::Unsigned => UNSIGNED_PAYLOAD,
            Self::Hash(hex) => hex.as_str(),
        }
    }
}

/// The access key id and Region a request claims in its credential scope
/// (`Authorization: … Credential=AKID/date/region/service/aws4_request` or `X-Amz-Credential`),
/// read without checking anything else: which account and Region a request is for, before (or
/// without) verifying it.
pub fn claimed_credential(req: &Incoming<'_>) -> Option<(String, String)> {
    let credential: Cow<'_, str> = match req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(authorization) => Cow::Borrowed(Components::of(authorization).ok()?.credential?),
        None => {
            let (_, query) = split_target(req.target);
            let params = parse_query(query.unwrap_or(""));
            params
                .iter()
                .find(|(k, _)| k.as_slice() == b"X-Amz-Credential")
                .map(|(_, v)| Cow::Owned(String::from_utf8_lossy(v).into_owned()))?
        }
    };
    let parts = split_credential(&credential).ok()?;
    Some((parts[0].to_owned(), parts[2].to_owned()))
}

/// Verifies the SigV4 signature of `req` at `now` as API Gateway does for an `AWS_IAM` method.
///
/// `lookup` returns the credentials issued for an access key id (with the session token issued
/// alongside, for temporary credentials); the session token in the request must be exactly that
/// token (absent when none was issued). On failure the [`SigV4Error`] carries API Gateway's
/// `x-amzn-ErrorType` and message.
pub fn verify<F>(
    req: &Incoming<'_>,
    now: SystemTime,
    policy: &VerifyPolicy,
    lookup: F,
) -> Result<Verified, SigV4Error>
where
    F: Fn(&str) -> Option<Credentials>,
{
    verify_with(req, now, &policy.view(), lookup).map(Checked::into_verified)
}

/// Who signed a request that passed [`verify_with`], borrowed from the request where the
/// signature was in its headers, with the credentials the lookup gave.
#[derive(Debug)]
pub struct Checked<'r, C> {
    /// Access key id that signed.
    pub access_key_id: Cow<'r, str>,
    /// Region of the credential scope.
    pub region: Cow<'r, str>,
    /// Service of the credential scope.
    pub service: Cow<'r, str>,
    /// Signed header names, `;`-separated as the request lists them.
    pub signed_headers: Cow<'r, str>,
    /// `X-Amz-Date` (or `Date`).
    pub signing_time: SystemTime,
    /// Session token sent with the request.
    pub session_token: Option<Cow<'r, str>>,
    /// Header or presigned-query signature.
    pub location: SignatureLocation,
    /// What the lookup returned for the access key id.
    pub credentials: C,
}

impl<C> Checked<'_, C> {
    /// The owned [`Verified`] (without the credentials).
    pub fn into_verified(self) -> Verified {
        Verified {
            access_key_id: self.access_key_id.into_owned(),
            region: self.region.into_owned(),
            service: self.service.into_owned(),
            signed_headers: self.signed_headers.into_owned(),
            signing_time: self.signing_time,
            session_token: self.session_token.map(Cow::into_owned),
            location: self.location,
        }
    }

    /// The signed header names, as listed by the request.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }
}

/// `part`, a slice of `whole`, with `whole`'s lifetime when `whole` is borrowed.
fn sub<'r>(whole: &Cow<'r, str>, part: &str) -> Cow<'r, str> {
    if let Cow::Borrowed(w) = whole {
        let start = (part.as_ptr() as usize).wrapping_sub(w.as_ptr() as usize);
        if let Some(slice) = start
            .checked_add(part.len())
            .and_then(|end| w.get(start..end))
        {
            return Cow::Borrowed(slice);
        }
    }
    Cow::Owned(part.to_owned())
}

/// [`verify`] with the policy borrowed, any kind of credentials from `lookup` (handed back
/// in the result, so the caller needs no second lookup), and who signed borrowed from the
/// request: the same checks in the same order, the same errors.
pub fn verify_with<'r, C, F>(
    req: &Incoming<'r>,
    now: SystemTime,
    policy: &PolicyView<'_>,
    lookup: F,
) -> Result<Checked<'r, C>, SigV4Error>
where
    C: SigningIdentity,
    F: FnOnce(&str) -> Option<C>,
{
    let (_, query) = split_target(req.target);
    let query_params = parse_query(query.unwrap_or(""));
    let authorization = req.headers.get(http::header::AUTHORIZATION);
    let query_auth = query_params
        .iter()
        .any(|(name, _)| name.as_slice() == b"X-Amz-Algorithm");
    let claimed: Claimed<'r> = match (authorization, query_auth) {
        (None, false) => return Err(SigV4Error::MissingAuthenticationToken),
        (Some(_), true) => return Err(SigV4Error::BothHeaderAndQueryAuth),
        (Some(value), false) => {
            let value = value.to_str().map_err(|_| SigV4Error::UnreadableHeader {
                name: "authorization",
            })?;
            claimed_from_header(req, value)?
        }
        (None, true) => claimed_from_query(&query_params)?,
    };

    check_time(&claimed, now, policy.max_skew)?;
    if !claimed
        .signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("host") || h == ":authority")
    {
        return Err(SigV4Error::HostNotSigned);
    }
    if claimed.algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm {
            algorithm: claimed.algorithm.into_owned(),
        });
    }
    let parts = split_credential(&claimed.credential)?;
    check_scope(&parts, &claimed.amz_date, policy)?;
    let [access_key_id, date, region, service, _] = parts;
    let credentials = lookup(access_key_id).ok_or_else(|| SigV4Error::UnknownAccessKey {
        access_key_id: access_key_id.to_owned(),
    })?;

    // `date/region/service/aws4_request` as the credential carries it (split_credential split
    // exactly these five parts at `/`, check_scope checked the terminator): the same text
    // credential_scope would join.
    let trimmed = claimed.credential.trim_end_matches('/');
    let scope = trimmed.get(access_key_id.len() + 1..).map_or_else(
        || canonical::credential_scope(date, region, service).into(),
        Cow::Borrowed,
    );
    let key = canonical::signing_key(credentials.secret_access_key(), date, region, service);
    // The canonical request in a reused buffer, its digest and the string to sign fed to the
    // HMAC piece by piece: the texts are written out only for a mismatch's message.
    let attempt = |token_in_query: bool| {
        canonical::with_scratch(|creq| {
            canonical_request_into(
                creq,
                req,
                &claimed,
                &query_params,
                policy.normalize_uri_path,
                token_in_query,
                policy.payload,
            );
            // Signed in process (canonical::remember_signature): the same inputs' signature.
            let expected = canonical::recall_signature(&key, &claimed.amz_date, &scope, creq)
                .unwrap_or_else(|| {
                    let digest = Hex64::sha256(creq);
                    canonical::signature_of(
                        &key,
                        &canonical::string_to_sign_parts(
                            &claimed.amz_date,
                            &scope,
                            digest.as_str(),
                        ),
                    )
                });
            ct_eq(expected.as_str().as_bytes(), claimed.signature.as_bytes())
        })
    };
    let matches = attempt(true);
    let retry_without_token = !matches
        && policy.unsigned_query_session_token
        && claimed.location == SignatureLocation::QueryString
        && claimed.session_token.is_some();
    let accepted = matches || (retry_without_token && attempt(false));
    if !accepted {
        let creq = canonical_request_for(
            req,
            &claimed,
            &query_params,
            policy.normalize_uri_path,
            true,
            policy.payload,
        );
        let sts = canonical::string_to_sign(&claimed.amz_date, &scope, &creq);
        return Err(SigV4Error::SignatureMismatch {
            canonical_request: String::from_utf8_lossy(&creq).into_owned(),
            string_to_sign: sts,
        });
    }

    let token_ok: bool = match (&claimed.session_token, credentials.session_token()) {
        (None, None) => true,
        (Some(sent), Some(issued)) => ct_eq(sent.as_bytes(), issued.as_bytes()),
        _ => false,
    };
    if !token_ok {
        return Err(SigV4Error::InvalidSessionToken);
    }

    Ok(Checked {
        access_key_id: sub(&claimed.credential, access_key_id),
        region: sub(&claimed.credential, region),
        service: sub(&claimed.credential, service),
        signed_headers: claimed.signed_headers,
        signing_time: claimed.signing_time,
        session_token: claimed.session_token,
        location: claimed.location,
        credentials,
    })
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ
/// (`subtle`), compared eight bytes at a time: `subtle` compares a byte slice byte by byte,
/// each through an optimisation barrier, which was a third of a verification's own time for
/// a 64-digit signature. A length difference is told at once, as `subtle` tells it.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(w)
    };
    let mut equal = subtle::Choice::from(1);
    for (x, y) in a.chunks(8).zip(b.chunks(8)) {
        equal &= word(x).ct_eq(&word(y));
    }
    equal.into()
}

/// [`verify`] for a buffered [`http::Request`].
pub fn verify_request<B, F>(
    req: &http::Request<B>,
    now: SystemTime,
    policy: &VerifyPolicy,
    lookup: F,
) -> Result<Verified, SigV4Error>
where
    B: AsRef<[u8]>,
    F: Fn(&str) -> Option<Credentials>,
{
    verify(&Incoming::from_request(req), now, policy, lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The components as a plain split at `,` and ` ` finds them.
    fn naive(rest: &str) -> Vec<(&str, &str)> {
        rest.split([',', ' '])
            .filter(|c| !c.is_empty())
            .map(|c| c.split_once('=').unwrap_or((c, "")))
            .collect()
    }

    #[test]
    fn word_comparison_is_byte_equality() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"", b""),
            (b"a", b"a"),
            (b"a", b"b"),
            (b"abcdefgh", b"abcdefgh"),
            (b"abcdefgh", b"abcdefgi"),
            (b"abcdefghi", b"abcdefghj"),
            (b"abcdefghi", b"abcdefgh"),
            (b"abc\0", b"abc"),
        ];
        for (a, b) in cases {
            assert_eq!(ct_eq(a, b), a == b, "{a:?} {b:?}");
        }
        // A difference at every position of a 64-digit signature.
        let sig = [b'7'; 64];
        for i in 0..64 {
            let mut other = sig;
            other[i] = b'8';
            assert!(!ct_eq(&sig, &other), "{i}");
        }
        assert!(ct_eq(&sig, &sig));
    }

    #[test]
    fn the_last_of_each_component_is_the_one_read() {
        let c = Components::of(
            "AWS4-HMAC-SHA256 Credential=a/1, Signature=s1, Credential=b/2, SignedHeaders=host, Other=x",
        )
        .unwrap();
        assert_eq!(c.algorithm, "AWS4-HMAC-SHA256");
        assert_eq!(c.credential, Some("b/2"));
        assert_eq!(c.signature, Some("s1"));
        assert_eq!(c.signed_headers, Some("host"));
        assert!(Components::of("AWS4-HMAC-SHA256 Credential=a, nokey").is_err());
    }

    #[test]
    fn authorization_components_are_cut_at_every_separator() {
        let long = "Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/iam/aws4_request, \
                    SignedHeaders=content-type;host;x-amz-date, \
                    Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let mut cases = vec![
            long.to_owned(),
            "a=1".to_owned(),
            "a=1,b=2".to_owned(),
            ",,  a=1 ,, b=2  ".to_owned(),
            "abcdefgh=12345678,abcdefg=1234567 x=y".to_owned(),
            "é=ü,ß=ç".to_owned(),
        ];
        // A separator at every offset of an eight-byte word.
        for at in 0..20 {
            let mut s = "k=".to_owned() + &"v".repeat(at);
            s.push(if at % 2 == 0 { ',' } else { ' ' });
            s.push_str("z=1");
            cases.push(s);
        }
        for rest in &cases {
            let header = format!("AWS4-HMAC-SHA256 {rest}");
            let (algorithm, components) = parse_authorization(&header).unwrap();
            assert_eq!(algorithm, "AWS4-HMAC-SHA256");
            assert_eq!(components, naive(rest), "{rest:?}");
        }
        assert!(matches!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=a, nokey"),
            Err(SigV4Error::MissingEqualSign { component, .. }) if component == "nokey"
        ));
    }
}
