//! AWS Signature Version 4, as API Gateway checks it for `execute-api` and as Step Functions'
//! `apigateway:invoke` integration (`AuthType: IAM_ROLE`) signs it.
//!
//! - [`sign`] / [`sign_request`] / [`sign_request_in_place`] add `X-Amz-Date`,
//!   `X-Amz-Security-Token` and `Authorization` (or the presigned `X-Amz-*` query parameters) to
//!   a request, byte for byte as the `aws-sigv4` crate does for the same inputs: one signer, the
//!   last without the [`SigningOutput`] record and with credentials borrowed wherever they are
//!   kept ([`SigningIdentity`]).
//! - [`verify`] / [`verify_request`] recompute the signature of an incoming request and return who
//!   signed it, or the [`SigV4Error`] whose [`SigV4Error::error_type`] and
//!   [`SigV4Error::message`] are what API Gateway puts on the wire with its 403; [`wire`] maps
//!   it to each protocol's status and code, once.
//!
//! Canonicalisation is the one AWS documents for services other than S3: the path as sent is
//! normalised (dot segments, repeated slashes) and URI-encoded again; query names and values are
//! decoded, re-encoded and sorted by code point; header names are lower-cased and sorted, values
//! trimmed with runs of spaces collapsed, repeated headers joined with `,`; the payload is always
//! hashed (API Gateway does not accept `UNSIGNED-PAYLOAD`).
//!
//! Time never comes from the host: callers pass the signing or verifying instant, normally
//! `crate::clock::Clock::now()`.

mod canonical;
mod error;
mod sign;
mod verify;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::{Duration, SystemTime};

pub use self::canonical::format_http_date;
pub use self::error::{MAX_ECHO, ScopeMismatch, SigV4Error, echo};
pub use self::sign::{
    SignError, SigningOutput, SigningParams, sign, sign_request, sign_request_in_place,
};
pub use self::verify::{Checked, claimed_credential, verify, verify_request, verify_with};
pub use self::wire::{Protocol, SigV4Wire, wire};

/// The service name API Gateway expects in the credential scope.
pub const EXECUTE_API: &str = "execute-api";

/// Clock skew API Gateway tolerates between `X-Amz-Date` and its own clock: "Signature expired:
/// ... (`<now>` - 5 min.)" (<https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden>).
pub const API_GATEWAY_SKEW: Duration = Duration::from_secs(5 * 60);

/// Longest presigned validity SigV4 allows (seven days).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// An access key with its secret and, for temporary credentials, the session token STS issued
/// with it. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA...` or `ASIA...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same credentials with a session token.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Credentials as a signer or a verifier reads them, borrowed from wherever they are kept (a
/// [`Credentials`], or an issuer's own record of a session), so that neither copies them.
pub trait SigningIdentity {
    /// Access key id (`AKIA...` or `ASIA...`).
    fn access_key_id(&self) -> &str;
    /// Secret access key.
    fn secret_access_key(&self) -> &str;
    /// Session token of temporary credentials.
    fn session_token(&self) -> Option<&str>;
}

impl SigningIdentity for Credentials {
    fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }
    fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl<T: SigningIdentity + ?Sized> SigningIdentity for std::sync::Arc<T> {
    fn access_key_id(&self) -> &str {
        (**self).access_key_id()
    }
    fn secret_access_key(&self) -> &str {
        (**self).secret_access_key()
    }
    fn session_token(&self) -> Option<&str> {
        (**self).session_token()
    }
}

/// Where the signature travels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureLocation {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    #[default]
    Headers,
    /// Presigned: `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders`, `X-Amz-Signature` (and `X-Amz-Security-Token`) in the query string.
    QueryString,
}

/// How a request is signed. The default is what AWS SDKs (and Step Functions) do for
/// `execute-api`: headers, payload hashed, session token inside the signature, path normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// Headers or presigned query string.
    pub location: SignatureLocation,
    /// Hash the body into the signature; `false` signs `UNSIGNED-PAYLOAD`, which S3 accepts and
    /// API Gateway does not.
    pub sign_payload: bool,
    /// Put `X-Amz-Security-Token` inside the signature (SDK default). `false` adds it after
    /// signing, as the suite's `post-sts-header-after` case and AWS IoT expect.
    pub session_token_signed: bool,
    /// Validity of a presigned request (`X-Amz-Expires`); ignored for headers.
    pub expires_in: Duration,
    /// Normalise the path (every service but S3).
    pub normalize_uri_path: bool,
    /// Also send and sign `x-amz-content-sha256` (S3 style; the suite's `sign_body` flag).
    pub content_sha256_header: bool,
    /// Lower-case names of headers left out of the signature because proxies change them; the
    /// default is the `aws-sigv4` crate's list.
    pub excluded_headers: Vec<String>,
}

impl Default for SigningSettings {
    fn default() -> Self {
        Self {
            location: SignatureLocation::Headers,
            sign_payload: true,
            session_token_signed: true,
            expires_in: Duration::from_secs(3600),
            normalize_uri_path: true,
            content_sha256_header: false,
            excluded_headers: [
                "authorization",
                "user-agent",
                "x-amzn-trace-id",
                "transfer-encoding",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// What a signature is checked against: the endpoint's service and region and API Gateway's
/// tolerances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Service the credential scope must name (`execute-api`).
    pub service: String,
    /// Region the credential scope must name; `None` accepts any region.
    pub region: Option<String>,
    /// Allowed difference between the request time and `now`.
    pub max_skew: Duration,
    /// Normalise the path before encoding it (true for every service but S3).
    pub normalize_uri_path: bool,
    /// Also accept a presigned request whose `X-Amz-Security-Token` was appended after signing
    /// (left out of the canonical query string). Off for API Gateway, whose SDK clients sign it.
    pub unsigned_query_session_token: bool,
    /// What the canonical request's payload hash is.
    pub payload: PayloadHash,
}

/// The payload hash a verifier puts in the canonical request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadHash {
    /// Always the body's SHA-256: API Gateway, Step Functions, EventBridge (they do not accept
    /// `UNSIGNED-PAYLOAD`).
    #[default]
    Body,
    /// `UNSIGNED-PAYLOAD` when the request's `x-amz-content-sha256` header says so, else the
    /// body's SHA-256. VPC Lattice: "VPC Lattice does not support payload signing. You must send
    /// an `x-amz-content-sha256` header with the value set to `UNSIGNED-PAYLOAD`"
    /// (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html>).
    UnsignedAllowed,
}

/// A [`VerifyPolicy`] borrowed: what [`verify_with`] checks against, built without copying
/// the service and Region names for each request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyView<'a> {
    /// Service the credential scope must name.
    pub service: &'a str,
    /// Region the credential scope must name; `None` accepts any region.
    pub region: Option<&'a str>,
    /// Allowed difference between the request time and `now`.
    pub max_skew: Duration,
    /// Normalise the path before encoding it.
    pub normalize_uri_path: bool,
    /// Also accept a presigned request whose `X-Amz-Security-Token` was appended after signing.
    pub unsigned_query_session_token: bool,
    /// What the canonical request's payload hash is.
    pub payload: PayloadHash,
}

impl<'a> PolicyView<'a> {
    /// API Gateway's policy for an API in `region` ([`VerifyPolicy::execute_api`]).
    pub fn execute_api(region: &'a str) -> Self {
        Self {
            service: EXECUTE_API,
            region: Some(region),
            max_skew: API_GATEWAY_SKEW,
            normalize_uri_path: true,
            unsigned_query_session_token: false,
            payload: PayloadHash::Body,
        }
    }
}

impl VerifyPolicy {
    /// The policy borrowed.
    pub fn view(&self) -> PolicyView<'_> {
        PolicyView {
            service: &self.service,
            region: self.region.as_deref(),
            max_skew: self.max_skew,
            normalize_uri_path: self.normalize_uri_path,
            unsigned_query_session_token: self.unsigned_query_session_token,
            payload: self.payload,
        }
    }

    /// API Gateway's policy for an API in `region`.
    pub fn execute_api(region: impl Into<String>) -> Self {
        Self {
            service: EXECUTE_API.to_owned(),
            region: Some(region.into()),
            max_skew: API_GATEWAY_SKEW,
            normalize_uri_path: true,
            unsigned_query_session_token: false,
            payload: PayloadHash::Body,
        }
    }
}

/// A borrowed view of a request to sign or verify.
///
/// `target` is the request target as sent (`/path?query`, percent-encoded by the client). It is a
/// string rather than an [`http::Uri`] so that AWS's test-suite requests, whose request lines
/// hold raw spaces, can be checked as written.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URI authority, used as `host` when there is no `Host` header (HTTP/2).
    pub authority: Option<&'a str>,
    /// Path and query as on the request line.
    pub target: &'a str,
    /// Request headers.
    pub headers: &'a http::HeaderMap,
    /// Complete body.
    pub body: &'a [u8],
}

impl<'a> Incoming<'a> {
    /// Views an [`http::Request`] whose body is already buffered.
    pub fn from_request<B: AsRef<[u8]>>(req: &'a http::Request<B>) -> Self {
        Self::from_parts_and_body(req.method(), req.uri(), req.headers(), req.body().as_ref())
    }

    /// Views request [`http::request::Parts`] and the buffered body.
    pub fn from_parts(parts: &'a http::request::Parts, body: &'a [u8]) -> Self {
        Self::from_parts_and_body(&parts.method, &parts.uri, &parts.headers, body)
    }

    fn from_parts_and_body(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Self {
            method: method.as_str(),
            authority: uri.authority().map(http::uri::Authority::as_str),
            target: uri
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str),
            headers,
            body,
        }
    }
}

/// Who signed a request that passed [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Access key id that signed.
    pub access_key_id: String,
    /// Region of the credential scope.
    pub region: String,
    /// Service of the credential scope.
    pub service: String,
    /// Signed header names, as listed by the request (`SignedHeaders`, `;`-separated:
    /// [`Verified::signed_header_names`] lists them).
    pub signed_headers: String,
    /// `X-Amz-Date` (or `Date`).
    pub signing_time: SystemTime,
    /// Session token sent with the request.
    pub session_token: Option<String>,
    /// Header or presigned-query signature.
    pub location: SignatureLocation,
}

impl Verified {
    /// The signed header names, as listed by the request.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }
}
