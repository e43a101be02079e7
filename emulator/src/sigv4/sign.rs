//! Signing outgoing requests, as Step Functions does for `apigateway:invoke` with
//! `AuthType: IAM_ROLE`.
//!
//! Output matches the `aws-sigv4` crate (AWS's Rust SDK signer) byte for byte for the same
//! inputs and settings: the same headers are signed, the same headers are added, and presigned
//! parameters are appended in the same order.

use std::ops::Range;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::canonical::{
    self, ALGORITHM, Hex64, TERMINATOR, UNSIGNED_PAYLOAD, canonical_query, canonical_uri,
    encode_component, format_amz_date, parse_query, split_target,
};
use super::{Credentials, Incoming, SignatureLocation, SigningIdentity, SigningSettings};

/// Why a request could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A value the signer must send cannot be an HTTP header value.
    #[error("{name} cannot be sent as an http header value")]
    InvalidHeaderValue {
        /// Header that could not be built.
        name: &'static str,
    },
    /// Region or service is empty or contains `/`, so no credential scope can name it.
    #[error("region {region:?} or service {service:?} cannot form a credential scope")]
    InvalidScope {
        /// Region given.
        region: String,
        /// Service given.
        service: String,
    },
    /// The presigned target is not a valid URI.
    #[error("presigned uri is invalid: {detail}")]
    InvalidUri {
        /// Parser message.
        detail: String,
    },
}

/// Everything a signature was computed from, plus what to add to the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigningOutput {
    /// The canonical request (bytes, since header values may be any octets).
    pub canonical_request: Vec<u8>,
    /// The string to sign.
    pub string_to_sign: String,
    /// Hex signature.
    pub signature: String,
    /// `;`-joined signed header names.
    pub signed_headers: String,
    /// Headers to set, in the order `aws-sigv4` adds them (empty for presigning).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Query parameters to append, unencoded, in `aws-sigv4`'s order (empty for headers).
    pub query_params: Vec<(&'static str, String)>,
}

impl SigningOutput {
    /// The request target with the presigned parameters appended.
    pub fn presigned_target(&self, target: &str) -> String {
        let mut out = target.to_owned();
        let mut need_separator = match target.find('?') {
            None => {
                out.push('?');
                false
            }
            Some(_) => !(target.ends_with('?') || target.ends_with('&')),
        };
        for (name, value) in &self.query_params {
            if need_separator {
                out.push('&');
            }
            need_separator = true;
            out.push_str(name);
            out.push('=');
            out.push_str(&encode_component(value.as_bytes()));
        }
        out
    }
}

fn header_value(name: &'static str, value: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeaderValue { name })
}

/// Who signs, for which scope, when and how: what aws-sigv4 calls its `SigningParams`. The
/// credentials are [`Credentials`] unless borrowed from wherever else they are kept
/// ([`SigningIdentity`]).
pub struct SigningParams<'a, C: ?Sized = Credentials> {
    /// The signer's credentials.
    pub credentials: &'a C,
    /// The Region of the credential scope.
    pub region: &'a str,
    /// The signing name of the service (`execute-api`, `states`, `vpc-lattice-svcs`, …).
    pub service: &'a str,
    /// The signing instant (`X-Amz-Date`), normally `Clock::now()`.
    pub time: SystemTime,
    /// Where the signature goes and what it covers.
    pub settings: &'a SigningSettings,
}

impl<'a, C: ?Sized> SigningParams<'a, C> {
    /// The parameters of [`sign_request`] and [`sign_request_in_place`], gathered.
    fn new(
        credentials: &'a C,
        region: &'a str,
        service: &'a str,
        time: SystemTime,
        settings: &'a SigningSettings,
    ) -> Self {
        Self {
            credentials,
            region,
            service,
            time,
            settings,
        }
    }
}

impl<C: ?Sized> Clone for SigningParams<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: ?Sized> Copy for SigningParams<'_, C> {}

impl<C: SigningIdentity + ?Sized> std::fmt::Debug for SigningParams<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access key id only: the secret and token never appear in `Debug` output.
        f.debug_struct("SigningParams")
            .field("access_key_id", &self.credentials.access_key_id())
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Computes the signature of `req` without changing it; [`sign_request`] applies the result.
pub fn sign(req: &Incoming<'_>, params: &SigningParams<'_>) -> Result<SigningOutput, SignError> {
    compute(req, params, true)?
        .into_output(params.credentials.session_token.as_deref(), params.settings)
}

/// What [`compute`] worked out: enough to set the headers or build the presigned parameters,
/// and, when asked for, the canonical request and string to sign ([`SigningOutput`]'s record).
struct Computed {
    /// `X-Amz-Date`.
    amz_date: String,
    /// `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<names>`, and for a signature
    /// in the headers `, Signature=<hex>` after: written once, the credential and the signed
    /// names are read back from it.
    authorization: String,
    /// Where `<id>/<scope>` stands in `authorization`.
    credential: Range<usize>,
    /// Where the `;`-joined signed header names stand in `authorization`.
    signed_headers: Range<usize>,
    /// The signature.
    signature: Hex64,
    /// The body's SHA-256, or `None` for `UNSIGNED-PAYLOAD`.
    payload: Option<Hex64>,
    /// Canonical request and string to sign, kept only for callers that read them.
    record: Option<(Vec<u8>, String)>,
}

/// SigV4, written once for both locations: the canonical headers borrowed from the request (no
/// copy of its header list), the canonical request written into the thread's scratch buffer.
/// `record` keeps the canonical request and string to sign for [`SigningOutput`].
fn compute<C: SigningIdentity + ?Sized>(
    req: &Incoming<'_>,
    params: &SigningParams<'_, C>,
    record: bool,
) -> Result<Computed, SignError> {
    let SigningParams {
        credentials,
        region,
        service,
        time,
        settings,
    } = *params;
    if region.is_empty() || service.is_empty() || region.contains('/') || service.contains('/') {
        return Err(SignError::InvalidScope {
            region: region.to_owned(),
            service: service.to_owned(),
        });
    }
    let amz_date = format_amz_date(time);
    let query_mode = settings.location == SignatureLocation::QueryString;
    let token = credentials.session_token();
    let signed_token = token.filter(|_| settings.session_token_signed);
    let payload = settings.sign_payload.then(|| Hex64::sha256(req.body));
    let payload_text = payload.as_ref().map_or(UNSIGNED_PAYLOAD, Hex64::as_str);

    // The headers that take part: each value of the request's own (trimmed when written,
    // `true`), in one pass over the map, minus the excluded ones, with the values the signer is
    // about to set (written as they are) replacing any there.
    let headers = req.headers;
    let mut canonical: Vec<(&str, &[u8], bool)> = Vec::with_capacity(headers.len() + 4);
    let mut last: Option<(&http::HeaderName, bool)> = None;
    for (name, value) in headers {
        // A name's values come together: the first one decides for all.
        let keep = match last {
            Some((n, keep)) if n == name => keep,
            _ => {
                let n = name.as_str();
                let keep = !(settings.excluded_headers.iter().any(|e| e == n)
                    || (query_mode && (n == "x-amz-user-agent" || n == "x-amz-checksum-mode"))
                    // Replaced by the credentials' token below.
                    || (n == "x-amz-security-token" && token.is_some() && !query_mode));
                last = Some((name, keep));
                keep
            }
        };
        if keep {
            canonical.push((name.as_str(), value.as_bytes(), true));
        }
    }
    fn set<'a>(canonical: &mut Vec<(&'a str, &'a [u8], bool)>, name: &'a str, value: &'a [u8]) {
        canonical.retain(|(n, _, _)| *n != name);
        canonical.push((name, value, false));
    }
    // Only without a Host header (HTTP/2 style) does the authority give `host` (`sign_http`
    // gives no authority to a request with one: the map is not searched twice).
    if let Some(authority) = req.authority
        && !headers.contains_key(http::header::HOST)
    {
        set(&mut canonical, "host", authority.as_bytes());
    }
    if !query_mode {
        set(&mut canonical, "x-amz-date", amz_date.as_bytes());
        if let Some(token) = signed_token {
            set(&mut canonical, "x-amz-security-token", token.as_bytes());
        }
        if settings.content_sha256_header {
            set(
                &mut canonical,
                "x-amz-content-sha256",
                payload_text.as_bytes(),
            );
        }
    }
    if !settings.session_token_signed {
        canonical.retain(|(n, _, _)| *n != "x-amz-security-token");
    }
    // By name; a stable sort, so a name's values stay in the order received.
    canonical.sort_by(|a, b| a.0.cmp(b.0));

    let access_key_id = credentials.access_key_id();
    let mut authorization = String::with_capacity(
        160 + access_key_id.len() + region.len() + service.len() + canonical.len() * 16,
    );
    authorization.push_str(ALGORITHM);
    authorization.push_str(" Credential=");
    let credential_start = authorization.len();
    authorization.push_str(access_key_id);
    authorization.push('/');
    let scope_start = authorization.len();
    for part in [&amz_date[..8], "/", region, "/", service, "/", TERMINATOR] {
        authorization.push_str(part);
    }
    let scope_end = authorization.len();
    authorization.push_str(", SignedHeaders=");
    let names_start = authorization.len();
    let mut previous: Option<&str> = None;
    for (name, _, _) in &canonical {
        match previous {
            Some(p) if p == *name => continue,
            Some(_) => authorization.push(';'),
            None => {}
        }
        authorization.push_str(name);
        previous = Some(name);
    }
    let names_end = authorization.len();
    let scope = &authorization[scope_start..scope_end];
    let signed_headers = &authorization[names_start..names_end];

    let (path, query) = split_target(req.target);
    let mut params = parse_query(query.unwrap_or(""));
    if query_mode {
        let expires = itoa::Buffer::new()
            .format(settings.expires_in.as_secs())
            .to_owned();
        for (name, value) in [
            ("X-Amz-Algorithm", ALGORITHM),
            (
                "X-Amz-Credential",
                &authorization[credential_start..scope_end],
            ),
            ("X-Amz-Date", amz_date.as_str()),
            ("X-Amz-Expires", expires.as_str()),
            ("X-Amz-SignedHeaders", signed_headers),
        ] {
            params.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        }
        if let Some(token) = signed_token {
            params.push((b"X-Amz-Security-Token".to_vec(), token.as_bytes().to_vec()));
        }
    }
    let query = canonical_query(params.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    let uri = canonical_uri(path, settings.normalize_uri_path);
    let key = canonical::signing_key(
        credentials.secret_access_key(),
        &amz_date[..8],
        region,
        service,
    );
    let (digest, signature, canonical_request) = canonical::with_scratch(|out| {
        for part in [req.method, &*uri, query.as_str()] {
            out.extend_from_slice(part.as_bytes());
            out.push(b'\n');
        }
        // One line a name: its values joined with `,`.
        let mut previous: Option<&str> = None;
        for (name, value, trim) in &canonical {
            if previous == Some(*name) {
                out.push(b',');
            } else {
                if previous.is_some() {
                    out.push(b'\n');
                }
                out.extend_from_slice(name.as_bytes());
                out.push(b':');
            }
            if *trim {
                canonical::push_trimmed(out, value);
            } else {
                out.extend_from_slice(value);
            }
            previous = Some(name);
        }
        if previous.is_some() {
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(payload_text.as_bytes());
        let digest = Hex64::sha256(out);
        let signature = canonical::signature_of(
            &key,
            &canonical::string_to_sign_parts(&amz_date, scope, digest.as_str()),
        );
        // For the verifier of this request, when it is verified in process.
        canonical::remember_signature(&key, &amz_date, scope, out, signature);
        (digest, signature, record.then(|| out.clone()))
    });
    let record = canonical_request.map(|creq| {
        (
            creq,
            canonical::string_to_sign_parts(&amz_date, scope, digest.as_str()).concat(),
        )
    });
    drop(canonical);
    if !query_mode {
        authorization.push_str(", Signature=");
        authorization.push_str(signature.as_str());
    }
    Ok(Computed {
        amz_date,
        authorization,
        credential: credential_start..scope_end,
        signed_headers: names_start..names_end,
        signature,
        payload,
        record,
    })
}

/// The headers a signature in the headers adds, checked before the request changes.
struct SignatureHeaders {
    date: HeaderValue,
    authorization: HeaderValue,
    content_sha256: Option<HeaderValue>,
    security_token: Option<HeaderValue>,
}

impl SignatureHeaders {
    /// Sets them on `headers`, replacing any already there, in `aws-sigv4`'s order.
    fn insert_into(self, headers: &mut HeaderMap) {
        headers.insert(X_AMZ_DATE, self.date);
        headers.insert(http::header::AUTHORIZATION, self.authorization);
        if let Some(value) = self.content_sha256 {
            headers.insert(X_AMZ_CONTENT_SHA256, value);
        }
        if let Some(value) = self.security_token {
            headers.insert(X_AMZ_SECURITY_TOKEN, value);
        }
    }

    /// The same, as a list in the order they are set.
    fn into_list(self) -> Vec<(HeaderName, HeaderValue)> {
        let mut list = vec![
            (X_AMZ_DATE, self.date),
            (http::header::AUTHORIZATION, self.authorization),
        ];
        list.extend(self.content_sha256.map(|v| (X_AMZ_CONTENT_SHA256, v)));
        list.extend(self.security_token.map(|v| (X_AMZ_SECURITY_TOKEN, v)));
        list
    }
}

impl Computed {
    fn payload_text(&self) -> &str {
        self.payload
            .as_ref()
            .map_or(UNSIGNED_PAYLOAD, Hex64::as_str)
    }

    /// The headers of a signature in the headers (`token`: the credentials' session token,
    /// sent even when left out of the signature).
    fn into_headers(
        self,
        token: Option<&str>,
        settings: &SigningSettings,
    ) -> Result<SignatureHeaders, SignError> {
        let content_sha256 = if settings.content_sha256_header {
            Some(header_value("x-amz-content-sha256", self.payload_text())?)
        } else {
            None
        };
        let date = HeaderValue::try_from(self.amz_date)
            .map_err(|_| SignError::InvalidHeaderValue { name: "x-amz-date" })?;
        let authorization = HeaderValue::try_from(self.authorization).map_err(|_| {
            SignError::InvalidHeaderValue {
                name: "authorization",
            }
        })?;
        let security_token = match token {
            Some(token) => {
                let mut value = header_value("x-amz-security-token", token)?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(SignatureHeaders {
            date,
            authorization,
            content_sha256,
            security_token,
        })
    }

    /// The presigned query parameters, in `aws-sigv4`'s order.
    fn query_params(
        &self,
        token: Option<&str>,
        settings: &SigningSettings,
    ) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("X-Amz-Algorithm", ALGORITHM.to_owned()),
            (
                "X-Amz-Credential",
                self.authorization[self.credential.clone()].to_owned(),
            ),
            ("X-Amz-Date", self.amz_date.clone()),
            ("X-Amz-Expires", settings.expires_in.as_secs().to_string()),
            (
                "X-Amz-SignedHeaders",
                self.authorization[self.signed_headers.clone()].to_owned(),
            ),
            ("X-Amz-Signature", self.signature.as_str().to_owned()),
        ];
        if let Some(token) = token {
            params.push(("X-Amz-Security-Token", token.to_owned()));
        }
        params
    }

    /// Everything, for callers that read it.
    fn into_output(
        mut self,
        token: Option<&str>,
        settings: &SigningSettings,
    ) -> Result<SigningOutput, SignError> {
        let (canonical_request, string_to_sign) = self.record.take().unwrap_or_default();
        let signature = self.signature.as_str().to_owned();
        let signed_headers = self.authorization[self.signed_headers.clone()].to_owned();
        let (headers, query_params) = if settings.location == SignatureLocation::QueryString {
            (Vec::new(), self.query_params(token, settings))
        } else {
            (self.into_headers(token, settings)?.into_list(), Vec::new())
        };
        Ok(SigningOutput {
            canonical_request,
            string_to_sign,
            signature,
            signed_headers,
            headers,
            query_params,
        })
    }
}

/// The `host` value `aws-sigv4` derives from a URI: host, plus the port unless it is the
/// scheme's default.
fn host_of(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = matches!(
        (uri.scheme_str(), uri.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    Some(match uri.port() {
        Some(port) if !default_port => format!("{host}:{}", port.as_str()),
        _ => host.to_owned(),
    })
}

/// Signs `req` in place: sets `X-Amz-Date`, `Authorization` (and `X-Amz-Security-Token`,
/// `x-amz-content-sha256` when asked), or appends the presigned query parameters.
///
/// The body must be buffered (`B: AsRef<[u8]>`) because SigV4 hashes it.
pub fn sign_request<B: AsRef<[u8]>>(
    req: &mut http::Request<B>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: &SigningSettings,
) -> Result<SigningOutput, SignError> {
    let params = SigningParams::new(credentials, region, service, time, settings);
    sign_http(req, &params, true).map(Option::unwrap_or_default)
}

/// [`sign_request`] with the credentials borrowed wherever they are kept and without the
/// [`SigningOutput`] (canonical request, string to sign) callers of this form do not read: the
/// same request, byte for byte. Step Functions' `apigateway:invoke` signs this way.
pub fn sign_request_in_place<B, C>(
    req: &mut http::Request<B>,
    credentials: &C,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: &SigningSettings,
) -> Result<(), SignError>
where
    B: AsRef<[u8]>,
    C: SigningIdentity + ?Sized,
{
    let params = SigningParams::new(credentials, region, service, time, settings);
    sign_http(req, &params, false).map(drop)
}

/// [`sign_request`] and [`sign_request_in_place`]: the request viewed as an [`Incoming`],
/// signed by [`compute`], then changed (every value checked first); the [`SigningOutput`]
/// only when `record`.
fn sign_http<B, C>(
    req: &mut http::Request<B>,
    params: &SigningParams<'_, C>,
    record: bool,
) -> Result<Option<SigningOutput>, SignError>
where
    B: AsRef<[u8]>,
    C: SigningIdentity + ?Sized,
{
    let settings = params.settings;
    let token = params.credentials.session_token();
    // Only without a Host header (HTTP/2 style) does the URI give `host`.
    let host = if req.headers().contains_key(http::header::HOST) {
        None
    } else {
        host_of(req.uri())
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let incoming = Incoming {
        method: req.method().as_str(),
        authority: host.as_deref(),
        target,
        headers: req.headers(),
        body: req.body().as_ref(),
    };
    let computed = compute(&incoming, params, record)?;
    if settings.location == SignatureLocation::QueryString {
        let output = computed.into_output(token, settings)?;
        let invalid = |detail: String| SignError::InvalidUri { detail };
        let presigned = output.presigned_target(target);
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(
            presigned
                .parse()
                .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?,
        );
        *req.uri_mut() = http::Uri::from_parts(parts).map_err(|e| invalid(e.to_string()))?;
        return Ok(record.then_some(output));
    }
    if record {
        let output = computed.into_output(token, settings)?;
        let headers = req.headers_mut();
        for (name, value) in &output.headers {
            headers.insert(name.clone(), value.clone());
        }
        Ok(Some(output))
    } else {
        computed
            .into_headers(token, settings)?
            .insert_into(req.headers_mut());
        Ok(None)
    }
}

pub(super) const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
pub(super) const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
pub(super) const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn creds() -> Credentials {
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
            .with_session_token("session-token-value")
    }

    fn request() -> http::Request<Vec<u8>> {
        http::Request::post("https://abc123.execute-api.us-east-1.amazonaws.com/prod/a%20b?x=1&a=2")
            .header("host", "abc123.execute-api.us-east-1.amazonaws.com")
            .header("content-type", "application/json")
            .header("x-custom", "  two   spaces ")
            .header("x-custom", "second")
            .body(br#"{"k":"v"}"#.to_vec())
            .unwrap()
    }

    #[test]
    fn sign_and_sign_request_record_the_same_signature_in_both_locations() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let c = creds();
        for location in [SignatureLocation::Headers, SignatureLocation::QueryString] {
            let settings = SigningSettings {
                location,
                ..SigningSettings::default()
            };
            let req = request();
            let params = SigningParams::new(&c, "us-east-1", "execute-api", at, &settings);
            let computed = sign(&Incoming::from_request(&req), &params).unwrap();
            let mut signed = req.clone();
            let applied =
                sign_request(&mut signed, &c, "us-east-1", "execute-api", at, &settings).unwrap();
            assert_eq!(computed, applied, "{location:?}");
            assert!(!computed.canonical_request.is_empty());
            assert!(
                computed
                    .string_to_sign
                    .starts_with("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/")
            );
            let mut lean = req.clone();
            sign_request_in_place(&mut lean, &c, "us-east-1", "execute-api", at, &settings)
                .unwrap();
            assert_eq!(lean.headers(), signed.headers(), "{location:?}");
            assert_eq!(lean.uri(), signed.uri(), "{location:?}");
        }
    }

    #[test]
    fn signing_params_debug_shows_no_secret_or_token() {
        let c = creds();
        let settings = SigningSettings::default();
        let params = SigningParams::new(
            &c,
            "us-east-1",
            "execute-api",
            SystemTime::UNIX_EPOCH,
            &settings,
        );
        let shown = format!("{params:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("session-token-value"), "{shown}");
    }

    #[test]
    fn an_invalid_scope_leaves_the_request_unchanged() {
        let c = creds();
        let settings = SigningSettings::default();
        for (region, service) in [("", "execute-api"), ("us-east-1", "a/b")] {
            let mut req = request();
            let err = sign_request_in_place(
                &mut req,
                &c,
                region,
                service,
                SystemTime::UNIX_EPOCH,
                &settings,
            )
            .unwrap_err();
            assert!(matches!(err, SignError::InvalidScope { .. }), "{err:?}");
            assert_eq!(req.headers(), request().headers());
        }
    }
}
