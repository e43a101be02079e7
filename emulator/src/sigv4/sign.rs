//! Signing outgoing requests, as Step Functions does for `apigateway:invoke` with
//! `AuthType: IAM_ROLE`.
//!
//! Output matches the `aws-sigv4` crate (AWS's Rust SDK signer) byte for byte for the same
//! inputs and settings: the same headers are signed, the same headers are added, and presigned
//! parameters are appended in the same order.

use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::canonical::{
    self, ALGORITHM, Hex64, TERMINATOR, UNSIGNED_PAYLOAD, canonical_header_value, canonical_query,
    canonical_uri, credential_scope, encode_component, format_amz_date, parse_query, sha256_hex,
    split_target,
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Who signs, for which scope, when and how: what aws-sigv4 calls its `SigningParams`.
#[derive(Clone, Copy, Debug)]
pub struct SigningParams<'a> {
    /// The signer's credentials.
    pub credentials: &'a Credentials,
    /// The Region of the credential scope.
    pub region: &'a str,
    /// The signing name of the service (`execute-api`, `states`, `vpc-lattice-svcs`, …).
    pub service: &'a str,
    /// The signing instant (`X-Amz-Date`), normally `Clock::now()`.
    pub time: SystemTime,
    /// Where the signature goes and what it covers.
    pub settings: &'a SigningSettings,
}

/// Computes the signature of `req` without changing it; [`sign_request`] applies the result.
pub fn sign(req: &Incoming<'_>, params: &SigningParams<'_>) -> Result<SigningOutput, SignError> {
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
    let scope = credential_scope(&amz_date[..8], region, service);
    let query_mode = settings.location == SignatureLocation::QueryString;
    let token = credentials.session_token.as_deref();
    let signed_token = token.filter(|_| settings.session_token_signed);
    let payload_hash = if settings.sign_payload {
        sha256_hex(req.body)
    } else {
        UNSIGNED_PAYLOAD.to_owned()
    };

    // The headers that take part: the request's own, minus the excluded ones, with the values
    // the signer is about to set replacing any already there.
    let mut canonical: Vec<(String, Vec<u8>)> = Vec::new();
    for name in req.headers.keys() {
        let name = name.as_str();
        if settings.excluded_headers.iter().any(|e| e == name) {
            continue;
        }
        if query_mode && (name == "x-amz-user-agent" || name == "x-amz-checksum-mode") {
            continue;
        }
        if name == "x-amz-security-token" && token.is_some() && !query_mode {
            // Replaced by the credentials' token below.
            continue;
        }
        if let Some(value) = canonical_header_value(req.headers, name) {
            canonical.push((name.to_owned(), value));
        }
    }
    let mut set = |name: &str, value: &[u8]| {
        canonical.retain(|(n, _)| n != name);
        canonical.push((name.to_owned(), value.to_vec()));
    };
    if !req.headers.contains_key(http::header::HOST)
        && let Some(authority) = req.authority
    {
        set("host", authority.as_bytes());
    }
    if !query_mode {
        set("x-amz-date", amz_date.as_bytes());
        if let Some(token) = signed_token {
            set("x-amz-security-token", token.as_bytes());
        }
        if settings.content_sha256_header {
            set("x-amz-content-sha256", payload_hash.as_bytes());
        }
    }
    if !settings.session_token_signed {
        canonical.retain(|(n, _)| n != "x-amz-security-token");
    }
    canonical.sort_by(|a, b| a.0.cmp(&b.0));
    let signed_headers = canonical
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let (path, query) = split_target(req.target);
    let mut params = parse_query(query.unwrap_or(""));
    let credential = format!("{}/{scope}", credentials.access_key_id);
    let expires = settings.expires_in.as_secs().to_string();
    if query_mode {
        for (name, value) in [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", credential.as_str()),
            ("X-Amz-Date", amz_date.as_str()),
            ("X-Amz-Expires", expires.as_str()),
            ("X-Amz-SignedHeaders", signed_headers.as_str()),
        ] {
            params.push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        }
        if let Some(token) = signed_token {
            params.push((b"X-Amz-Security-Token".to_vec(), token.as_bytes().to_vec()));
        }
    }
    let query = canonical_query(params.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    let uri = canonical_uri(path, settings.normalize_uri_path);
    let canonical_request = canonical::canonical_request(
        req.method,
        &uri,
        &query,
        &canonical,
        &signed_headers,
        &payload_hash,
    );
    let string_to_sign = canonical::string_to_sign(&amz_date, &scope, &canonical_request);
    let key = canonical::signing_key(
        &credentials.secret_access_key,
        &amz_date[..8],
        region,
        service,
    );
    let signature = canonical::signature(&key, &string_to_sign);

    let mut headers = Vec::new();
    let mut query_params = Vec::new();
    if query_mode {
        query_params = vec![
            ("X-Amz-Algorithm", ALGORITHM.to_owned()),
            ("X-Amz-Credential", credential),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", expires),
            ("X-Amz-SignedHeaders", signed_headers.clone()),
            ("X-Amz-Signature", signature.clone()),
        ];
        if let Some(token) = token {
            query_params.push(("X-Amz-Security-Token", token.to_owned()));
        }
    } else {
        let authorization = format!(
            "{ALGORITHM} Credential={credential}, SignedHeaders={signed_headers}, \
             Signature={signature}"
        );
        headers.push((
            HeaderName::from_static("x-amz-date"),
            header_value("x-amz-date", &amz_date)?,
        ));
        headers.push((
            http::header::AUTHORIZATION,
            header_value("authorization", &authorization)?,
        ));
        if settings.content_sha256_header {
            headers.push((
                HeaderName::from_static("x-amz-content-sha256"),
                header_value("x-amz-content-sha256", &payload_hash)?,
            ));
        }
        if let Some(token) = token {
            let mut value = header_value("x-amz-security-token", token)?;
            value.set_sensitive(true);
            headers.push((HeaderName::from_static("x-amz-security-token"), value));
        }
    }
    Ok(SigningOutput {
        canonical_request,
        string_to_sign,
        signature,
        signed_headers,
        headers,
        query_params,
    })
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
    let host = host_of(req.uri());
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str)
        .to_owned();
    let output = {
        let incoming = Incoming {
            method: req.method().as_str(),
            authority: host.as_deref(),
            target: &target,
            headers: req.headers(),
            body: req.body().as_ref(),
        };
        let params = SigningParams {
            credentials,
            region,
            service,
            time,
            settings,
        };
        sign(&incoming, &params)?
    };
    apply(req.headers_mut(), &output);
    if !output.query_params.is_empty() {
        let presigned = output.presigned_target(&target);
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query =
            Some(
                presigned
                    .parse()
                    .map_err(|e: http::uri::InvalidUri| SignError::InvalidUri {
                        detail: e.to_string(),
                    })?,
            );
        *req.uri_mut() = http::Uri::from_parts(parts).map_err(|e| SignError::InvalidUri {
            detail: e.to_string(),
        })?;
    }
    Ok(output)
}

/// [`sign_request`] for a signature in the headers (the SDKs' and Step Functions' way), with
/// the credentials borrowed wherever they are kept: the same headers, byte for byte, set in the
/// same order, without the [`SigningOutput`] (canonical request, string to sign) callers of
/// this form do not read. Presigning goes through [`sign_request`].
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
    if settings.location == SignatureLocation::QueryString {
        let mut owned =
            Credentials::new(credentials.access_key_id(), credentials.secret_access_key());
        owned.session_token = credentials.session_token().map(str::to_owned);
        return sign_request(req, &owned, region, service, time, settings).map(|_| ());
    }
    if region.is_empty() || service.is_empty() || region.contains('/') || service.contains('/') {
        return Err(SignError::InvalidScope {
            region: region.to_owned(),
            service: service.to_owned(),
        });
    }
    let amz_date = format_amz_date(time);
    let token = credentials.session_token();
    let signed_token = token.filter(|_| settings.session_token_signed);
    let payload_hash = if settings.sign_payload {
        Some(Hex64::sha256(req.body().as_ref()))
    } else {
        None
    };
    let payload = payload_hash
        .as_ref()
        .map_or(UNSIGNED_PAYLOAD, Hex64::as_str);
    // Only without a Host header (HTTP/2 style) does the URI give `host`.
    let host = if req.headers().contains_key(http::header::HOST) {
        None
    } else {
        host_of(req.uri())
    };

    // The headers that take part, as in `sign`: the request's own (value read from the
    // request, `None`) minus the excluded ones, with the signer's values replacing any there.
    let headers = req.headers();
    let mut canonical: Vec<(&str, Option<&[u8]>)> = Vec::with_capacity(headers.keys_len() + 4);
    for name in headers.keys() {
        let name = name.as_str();
        if settings.excluded_headers.iter().any(|e| e == name)
            || (name == "x-amz-security-token" && token.is_some())
        {
            continue;
        }
        canonical.push((name, None));
    }
    fn set<'a>(canonical: &mut Vec<(&'a str, Option<&'a [u8]>)>, name: &'a str, value: &'a [u8]) {
        canonical.retain(|(n, _)| *n != name);
        canonical.push((name, Some(value)));
    }
    if let Some(authority) = &host {
        set(&mut canonical, "host", authority.as_bytes());
    }
    set(&mut canonical, "x-amz-date", amz_date.as_bytes());
    if let Some(token) = signed_token {
        set(&mut canonical, "x-amz-security-token", token.as_bytes());
    }
    if settings.content_sha256_header {
        set(&mut canonical, "x-amz-content-sha256", payload.as_bytes());
    }
    if !settings.session_token_signed {
        canonical.retain(|(n, _)| *n != "x-amz-security-token");
    }
    canonical.sort_unstable_by(|a, b| a.0.cmp(b.0));

    // `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<names>, Signature=<hex>`,
    // written once: the scope and the signed names are read back from it.
    let access_key_id = credentials.access_key_id();
    let mut authorization = String::with_capacity(
        160 + access_key_id.len() + region.len() + service.len() + canonical.len() * 16,
    );
    authorization.push_str(ALGORITHM);
    authorization.push_str(" Credential=");
    authorization.push_str(access_key_id);
    authorization.push('/');
    let scope_start = authorization.len();
    for part in [&amz_date[..8], "/", region, "/", service, "/", TERMINATOR] {
        authorization.push_str(part);
    }
    let scope_end = authorization.len();
    authorization.push_str(", SignedHeaders=");
    let names_start = authorization.len();
    for (i, (name, _)) in canonical.iter().enumerate() {
        if i > 0 {
            authorization.push(';');
        }
        authorization.push_str(name);
    }
    let names_end = authorization.len();

    let (path, query) = split_target(
        req.uri()
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str),
    );
    let params = parse_query(query.unwrap_or(""));
    let query = canonical_query(params.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    let uri = canonical_uri(path, settings.normalize_uri_path);
    let scope = &authorization[scope_start..scope_end];
    let signed_headers = &authorization[names_start..names_end];
    let digest = canonical::with_scratch(|out| {
        for part in [req.method().as_str(), &*uri, query.as_str()] {
            out.extend_from_slice(part.as_bytes());
            out.push(b'\n');
        }
        for (name, value) in &canonical {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            match value {
                Some(value) => out.extend_from_slice(value),
                None => {
                    canonical::push_canonical_header_value(out, headers, name);
                }
            }
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(payload.as_bytes());
        Hex64::sha256(out)
    });
    let key = canonical::signing_key(
        credentials.secret_access_key(),
        &amz_date[..8],
        region,
        service,
    );
    let signature = canonical::signature_of(
        &key,
        &[
            ALGORITHM,
            "\n",
            &amz_date,
            "\n",
            scope,
            "\n",
            digest.as_str(),
        ],
    );
    authorization.push_str(", Signature=");
    authorization.push_str(signature.as_str());
    drop(canonical);

    // Every value is checked before the request changes, as `sign_request` does.
    let date_value = HeaderValue::try_from(amz_date)
        .map_err(|_| SignError::InvalidHeaderValue { name: "x-amz-date" })?;
    let authorization =
        HeaderValue::try_from(authorization).map_err(|_| SignError::InvalidHeaderValue {
            name: "authorization",
        })?;
    let content_sha256 = if settings.content_sha256_header {
        Some(header_value("x-amz-content-sha256", payload)?)
    } else {
        None
    };
    let token = match token {
        Some(token) => {
            let mut value = header_value("x-amz-security-token", token)?;
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    let headers = req.headers_mut();
    headers.insert(X_AMZ_DATE, date_value);
    headers.insert(http::header::AUTHORIZATION, authorization);
    if let Some(value) = content_sha256 {
        headers.insert(X_AMZ_CONTENT_SHA256, value);
    }
    if let Some(value) = token {
        headers.insert(X_AMZ_SECURITY_TOKEN, value);
    }
    Ok(())
}

const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

fn apply(headers: &mut HeaderMap, output: &SigningOutput) {
    for (name, value) in &output.headers {
        headers.insert(name.clone(), value.clone());
    }
}
