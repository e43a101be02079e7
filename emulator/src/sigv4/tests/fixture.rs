//! Loader for the request files of AWS's SigV4 test suite (test code, not a product HTTP parser).
//!
//! Format: `METHOD TARGET HTTP/1.1`, then `Name:value` lines (a line starting with whitespace
//! continues the previous value, an obsolete fold that is unfolded to one space as RFC 9112
//! §5.2 allows), then an empty line and the body. The target is kept as written: some cases put a
//! raw space or raw UTF-8 in it, which no `http::Uri` can hold.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

use super::super::{
    Credentials, Incoming, SignError, SignatureLocation, SigningOutput, SigningSettings,
    VerifyPolicy,
};

/// The one place the suite is looked up, so integration can re-point it.
pub(super) const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/sigv4/aws-signing-test-suite/v4"
);

/// A parsed request file.
#[derive(Debug)]
pub(super) struct Fixture {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

impl Fixture {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let (head, body) = match text.split_once("\n\n") {
            Some((head, body)) => (head, body),
            None => (text.trim_end_matches('\n'), ""),
        };
        let mut lines = head.split('\n');
        let request_line = lines.next().ok_or("empty request")?;
        let (method, rest) = request_line
            .split_once(' ')
            .ok_or("request line has no target")?;
        let (target, version) = rest.rsplit_once(' ').ok_or("request line has no version")?;
        if version != "HTTP/1.1" {
            return Err(format!("unexpected version {version:?}"));
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = fields.last_mut().ok_or("continuation before any header")?;
                last.1.push(' ');
                last.1.push_str(line.trim_start_matches([' ', '\t']));
            } else {
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| format!("header line without colon: {line:?}"))?;
                fields.push((name.to_owned(), value.to_owned()));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("bad header name {name:?}: {e}"))?;
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|e| format!("bad header value {value:?}: {e}"))?;
            headers.append(name, value);
        }
        Ok(Self {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        })
    }

    pub(super) fn incoming(&self) -> Incoming<'_> {
        Incoming {
            method: &self.method,
            authority: None,
            target: &self.target,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// The same request as an `http::Request`, when its target is a valid URI.
    pub(super) fn to_http(&self) -> Option<http::Request<Vec<u8>>> {
        let uri: http::Uri = self.target.parse().ok()?;
        let mut req = http::Request::builder()
            .method(self.method.as_str())
            .uri(uri)
            .body(self.body.clone())
            .ok()?;
        *req.headers_mut() = self.headers.clone();
        Some(req)
    }
}

/// One case directory: `context.json` plus the expected files.
#[derive(Debug)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) dir: std::path::PathBuf,
    pub(super) credentials: Credentials,
    pub(super) region: String,
    pub(super) service: String,
    pub(super) time: SystemTime,
    pub(super) expires: Duration,
    pub(super) normalize: bool,
    pub(super) sign_body: bool,
    pub(super) omit_session_token: bool,
}

impl Case {
    pub(super) fn load(dir: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(dir.join("context.json")).expect("context.json");
        let ctx: serde_json::Value = serde_json::from_str(&text).expect("context.json is JSON");
        let s = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
        let creds = &ctx["credentials"];
        let mut credentials =
            Credentials::new(s(&creds["access_key_id"]), s(&creds["secret_access_key"]));
        if let Some(token) = creds.get("token") {
            credentials = credentials.with_session_token(s(token));
        }
        let stamp = chrono::DateTime::parse_from_rfc3339(ctx["timestamp"].as_str().expect("ts"))
            .expect("timestamp is RFC 3339");
        Self {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir: dir.to_owned(),
            credentials,
            region: s(&ctx["region"]),
            service: s(&ctx["service"]),
            time: SystemTime::UNIX_EPOCH
                + Duration::from_secs(u64::try_from(stamp.timestamp()).expect("after 1970")),
            expires: Duration::from_secs(ctx["expiration_in_seconds"].as_u64().expect("expiry")),
            normalize: ctx["normalize"].as_bool().expect("normalize"),
            sign_body: ctx["sign_body"].as_bool().expect("sign_body"),
            omit_session_token: ctx
                .get("omit_session_token")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        }
    }

    pub(super) fn all() -> Vec<Case> {
        let mut dirs: Vec<_> = std::fs::read_dir(SUITE)
            .unwrap_or_else(|e| panic!("test suite missing at {SUITE}: {e}"))
            .map(|entry| entry.expect("dir entry").path())
            .filter(|p| p.join("context.json").is_file())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| Case::load(d)).collect()
    }

    pub(super) fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_else(|e| panic!("{}/{name}: {e}", self.name))
    }

    /// Signing settings that reproduce the case's flags.
    /// Signs `request` with the case's credentials, scope and time, the signature in `location`.
    pub(super) fn sign(
        &self,
        request: &Fixture,
        location: SignatureLocation,
    ) -> Result<SigningOutput, SignError> {
        let settings = self.settings(location);
        let params = super::super::SigningParams {
            credentials: &self.credentials,
            region: &self.region,
            service: &self.service,
            time: self.time,
            settings: &settings,
        };
        super::super::sign(&request.incoming(), &params)
    }

    /// [`Self::sign`] for an `http::Request`, in place.
    pub(super) fn sign_request(
        &self,
        request: &mut http::Request<Vec<u8>>,
        location: SignatureLocation,
    ) -> Result<SigningOutput, SignError> {
        super::super::sign_request(
            request,
            &self.credentials,
            &self.region,
            &self.service,
            self.time,
            &self.settings(location),
        )
    }

    pub(super) fn settings(&self, location: SignatureLocation) -> SigningSettings {
        SigningSettings {
            location,
            sign_payload: true,
            session_token_signed: !self.omit_session_token,
            expires_in: self.expires,
            normalize_uri_path: self.normalize,
            content_sha256_header: self.sign_body,
            ..SigningSettings::default()
        }
    }

    /// The verifier policy the case's flags call for (see `suite.rs` for why).
    pub(super) fn policy(&self) -> VerifyPolicy {
        VerifyPolicy {
            service: self.service.clone(),
            region: Some(self.region.clone()),
            max_skew: super::super::API_GATEWAY_SKEW,
            normalize_uri_path: self.normalize,
            unsigned_query_session_token: self.omit_session_token,
            payload: super::super::PayloadHash::Body,
        }
    }

    pub(super) fn lookup(&self) -> impl Fn(&str) -> Option<Credentials> + '_ {
        move |id| (id == self.credentials.access_key_id).then(|| self.credentials.clone())
    }
}
