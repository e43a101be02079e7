//! JWT authorizers of HTTP APIs
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>,
//! "Validating the JWT"):
//! 1. the token is read from the identity source (`$request.header.Authorization` by default),
//!    with or without a `Bearer ` prefix; none is 401;
//! 2. the header's `kid` names a key of the issuer's JWKS (`Vpcgate.Jwks[issuer]`, what the
//!    issuer's `jwks_uri` would serve), the algorithm is `RS256`, and the signature verifies
//!    (RSASSA-PKCS1-v1_5 with SHA-256 by `ring`);
//! 3. claims: `iss` equals the authorizer's issuer; `aud` (or, without `aud`, `client_id`)
//!    matches one of its audiences; `exp` is after now, `nbf` and `iat` before now (the world's
//!    clock);
//! 4. a route with `AuthorizationScopes` needs one of them in `scope` (space separated) or
//!    `scp`: otherwise 403 (the page: "If the token doesn't contain any scopes … API Gateway
//!    returns 403 Forbidden"); every other failure is 401 Unauthorized.
//!
//! Inputs are bounded: a token of at most [`MAX_TOKEN_LEN`] characters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The longest token vpcgate decodes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No token in the identity source.
    #[error("no token in {0}")]
    Missing(String),
    /// Not three base64url parts with JSON header and claims.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// An algorithm other than RS256.
    #[error("signing method {0} is not supported (RS256 is)")]
    Algorithm(String),
    /// No key of the issuer's JWKS has the token's `kid`.
    #[error("no key {kid:?} in the JWKS of {issuer}")]
    UnknownKey {
        /// The issuer.
        issuer: String,
        /// The token's `kid`.
        kid: String,
    },
    /// The signature does not verify.
    #[error("signature does not verify with key {0:?}")]
    Signature(String),
    /// `iss` is not the authorizer's issuer.
    #[error("issuer {found:?} is not {expected:?}")]
    Issuer {
        /// The authorizer's.
        expected: String,
        /// The token's.
        found: String,
    },
    /// Neither `aud` nor `client_id` is one of the audiences.
    #[error("audience {0:?} is not one of the authorizer's")]
    Audience(String),
    /// `exp` has passed.
    #[error("the token expired at {0}")]
    Expired(i64),
    /// `nbf` or `iat` is in the future.
    #[error("the token is not valid before {0}")]
    NotYetValid(i64),
    /// None of the route's scopes is in the token.
    #[error("the token has none of the scopes {0:?}")]
    Scope(Vec<String>),
}

impl JwtError {
    /// 403 for missing scopes, else 401.
    pub fn forbidden(&self) -> bool {
        matches!(self, JwtError::Scope(_))
    }
}

/// What the authorizer checks.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    /// `JwtConfiguration.Issuer`.
    pub issuer: &'a str,
    /// `JwtConfiguration.Audience`.
    pub audience: &'a [String],
    /// The route's `AuthorizationScopes`.
    pub scopes: &'a [String],
    /// The issuer's JWKS document (`{"keys": [...]}`), if the scenario declares one.
    pub jwks: Option<&'a Value>,
    /// Now, epoch seconds.
    pub now: i64,
}

/// The token of an `Authorization`-style header value: without `Bearer `.
pub fn token_of(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => v[7..].trim(),
        _ => v,
    }
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))
}

fn json(part: &str, what: &str) -> Result<serde_json::Map<String, Value>, JwtError> {
    match serde_json::from_slice::<Value>(&b64(part, what)?) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Malformed(format!("{what} is not a JSON object"))),
    }
}

/// Validates `token`; returns its claims.
pub fn validate(
    token: &str,
    want: &Expectations<'_>,
) -> Result<serde_json::Map<String, Value>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed(format!(
            "longer than {MAX_TOKEN_LEN} characters"
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return Err(JwtError::Malformed("not three dot-separated parts".into()));
    };
    let header = json(h, "the header")?;
    let claims = json(c, "the claims")?;
    let signature = b64(s, "the signature")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "RS256" {
        return Err(JwtError::Algorithm(alg.to_string()));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let keys = want
        .jwks
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let key = keys
        .iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .find(|k| kid.is_empty() || k.get("kid").and_then(Value::as_str) == Some(kid.as_str()))
        .ok_or_else(|| JwtError::UnknownKey {
            issuer: want.issuer.to_string(),
            kid: kid.clone(),
        })?;
    let component = |name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| JwtError::Signature(kid.clone()))
            .and_then(|v| b64(v, name).map_err(|_| JwtError::Signature(kid.clone())))
    };
    let (n, e) = (component("n")?, component("e")?);
    let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    let signed = &token[..h.len() + 1 + c.len()];
    public
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &signature,
        )
        .map_err(|_| JwtError::Signature(kid.clone()))?;

    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if iss != want.issuer {
        return Err(JwtError::Issuer {
            expected: want.issuer.to_string(),
            found: iss.to_string(),
        });
    }
    let auds: Vec<String> = match claims.get("aud").or_else(|| claims.get("client_id")) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if !auds.iter().any(|a| want.audience.contains(a)) {
        return Err(JwtError::Audience(auds.join(",")));
    }
    let time = |k: &str| claims.get(k).and_then(Value::as_f64).map(|v| v as i64);
    match time("exp") {
        Some(exp) if exp > want.now => {}
        Some(exp) => return Err(JwtError::Expired(exp)),
        None => return Err(JwtError::Malformed("no exp claim".into())),
    }
    for k in ["nbf", "iat"] {
        if let Some(t) = time(k)
            && t > want.now
        {
            return Err(JwtError::NotYetValid(t));
        }
    }
    if !want.scopes.is_empty() {
        let mut have: Vec<String> = Vec::new();
        if let Some(s) = claims.get("scope").and_then(Value::as_str) {
            have.extend(s.split_whitespace().map(str::to_string));
        }
        match claims.get("scp") {
            Some(Value::String(s)) => have.extend(s.split_whitespace().map(str::to_string)),
            Some(Value::Array(a)) => {
                have.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
        if !want.scopes.iter().any(|s| have.contains(s)) {
            return Err(JwtError::Scope(want.scopes.to_vec()));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = include_bytes!("../../../../tests/fixtures/http_api/jwt-key.pk8");
    const JWKS: &str = include_str!("../../../../tests/fixtures/http_api/jwks.json");
    const NOW: i64 = 1_781_406_000;

    fn sign(header: Value, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let key = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn claims() -> Value {
        json!({"iss": "https://issuer.example.com/", "aud": ["other", "api"], "exp": NOW + 60,
               "iat": NOW - 60, "scp": ["read", "write"], "sub": "bob"})
    }

    fn check(token: &str, scopes: &[String]) -> Result<serde_json::Map<String, Value>, JwtError> {
        let jwks: Value = serde_json::from_str(JWKS).unwrap();
        validate(
            token,
            &Expectations {
                issuer: "https://issuer.example.com/",
                audience: &["api".to_string()],
                scopes,
                jwks: Some(&jwks),
                now: NOW,
            },
        )
    }

    #[test]
    fn rs256_tokens_verify_and_claims_are_checked() {
        let header = json!({"alg": "RS256", "kid": "vpcgate-test-1"});
        let good = sign(header.clone(), claims());
        assert_eq!(check(&good, &[]).unwrap()["sub"], "bob");
        assert!(check(&good, &["write".into()]).is_ok());
        assert_eq!(
            check(&good, &["admin".into()]).unwrap_err(),
            JwtError::Scope(vec!["admin".into()])
        );
        let mut c = claims();
        c["client_id"] = json!("api");
        c.as_object_mut().unwrap().remove("aud");
        assert!(check(&sign(header.clone(), c), &[]).is_ok());
        let mut c = claims();
        c["nbf"] = json!(NOW + 5);
        assert_eq!(
            check(&sign(header.clone(), c), &[]).unwrap_err(),
            JwtError::NotYetValid(NOW + 5)
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            check(&sign(header, c), &[]).unwrap_err(),
            JwtError::Malformed(_)
        ));
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(
            check(&none, &[]).unwrap_err(),
            JwtError::Algorithm("none".into())
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.**",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(check(bad, &[]), Err(JwtError::Malformed(_))),
                "{bad:.20}"
            );
        }
        assert_eq!(token_of("Bearer abc"), "abc");
        assert_eq!(token_of("bearer  abc "), "abc");
        assert_eq!(token_of("abc"), "abc");
    }
}
