//! Why a request failed SigV4 verification, and what API Gateway says about it on the wire.
//!
//! Every rejection of an `AWS_IAM` method is an HTTP 403 whose `x-amzn-ErrorType` header is
//! [`SigV4Error::error_type`] and whose JSON body is `{"message": <SigV4Error::message>}`
//! (<https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden>); other
//! protocols' status and codes: [`super::wire`].
//! The messages come from AWS's front end that API Gateway shares with other JSON services; each
//! variant names where its text was taken from, and `unconfirmed:` marks text not seen from
//! `execute-api` itself.

use std::time::{Duration, SystemTime};

use super::canonical::{base64, format_amz_date};
use sha2::{Digest, Sha256};

/// The parts of a credential scope that did not match, reported together as AWS does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeMismatch {
    /// Region named in the scope when it is not the endpoint's region.
    pub region: Option<String>,
    /// The service the endpoint expects, when the scope names another one.
    pub expected_service: Option<String>,
    /// Terminator named in the scope when it is not `aws4_request`.
    pub terminator: Option<String>,
    /// `(scope date, date of the request)` when the scope's date is not the request's day.
    pub date: Option<(String, String)>,
}

/// A request that API Gateway would reject before running the integration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// Neither an `Authorization` header nor `X-Amz-Algorithm` in the query string.
    #[error("missing authentication token")]
    MissingAuthenticationToken,

    /// Both an `Authorization` header and query-string authentication.
    #[error("both an authorization header and query-string authentication were sent")]
    BothHeaderAndQueryAuth,

    /// A header the verifier must read is not visible ASCII text.
    #[error("header {name} is not valid visible ASCII")]
    UnreadableHeader {
        /// Lower-case header name.
        name: &'static str,
    },

    /// The first word of `Authorization` contains `=`, so there is no algorithm name.
    #[error("authorization header does not begin with an algorithm name")]
    AlgorithmMissing {
        /// The header as received.
        authorization: String,
    },

    /// A comma-separated part of `Authorization` has no `=`.
    #[error("authorization component {component:?} is not a key=value pair")]
    MissingEqualSign {
        /// The offending component.
        component: String,
        /// The header as received.
        authorization: String,
    },

    /// `Credential`, `Signature` or `SignedHeaders` is missing, or no date header was sent.
    #[error("authorization header is incomplete")]
    IncompleteAuthorization {
        /// No `Credential=` component.
        credential: bool,
        /// No `Signature=` component.
        signature: bool,
        /// No `SignedHeaders=` component.
        signed_headers: bool,
        /// Neither `X-Amz-Date` nor `Date`.
        date: bool,
        /// The header as received.
        authorization: String,
    },

    /// Required `X-Amz-*` query parameters are missing in a presigned request.
    #[error("presigned query string lacks {missing:?}")]
    IncompleteQueryAuth {
        /// Names of the missing parameters, in AWS's order.
        missing: Vec<&'static str>,
    },

    /// The request time is not `yyyymmddThhmmssZ` (or, for `Date`, not an HTTP date).
    #[error("request date {value:?} is not in iso 8601 basic format")]
    InvalidDate {
        /// The value received.
        value: String,
    },

    /// The request was signed more than the allowed skew before `now`.
    #[error("signature expired")]
    SignatureExpired {
        /// Time the request says it was signed.
        signing_time: SystemTime,
        /// Verifier's time (whole seconds).
        now: SystemTime,
        /// Allowed skew (5 minutes for API Gateway).
        skew: Duration,
    },

    /// The request claims to be signed more than the allowed skew after `now`.
    #[error("signature not yet current")]
    SignatureNotYetCurrent {
        /// Time the request says it was signed.
        signing_time: SystemTime,
        /// Verifier's time (whole seconds).
        now: SystemTime,
        /// Allowed skew.
        skew: Duration,
    },

    /// A presigned request used after `X-Amz-Date + X-Amz-Expires`.
    #[error("presigned request expired")]
    PresignedExpired {
        /// `X-Amz-Date`.
        signing_time: SystemTime,
        /// `X-Amz-Expires`.
        expires: Duration,
        /// Verifier's time (whole seconds).
        now: SystemTime,
    },

    /// `X-Amz-Expires` is not a whole number of seconds up to a week.
    #[error("x-amz-expires {value:?} is invalid")]
    InvalidExpires {
        /// The value received.
        value: String,
    },

    /// `host` is not among the signed headers.
    #[error("host is not a signed header")]
    HostNotSigned,

    /// The algorithm is not `AWS4-HMAC-SHA256`.
    #[error("unsupported algorithm {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The algorithm named by the request.
        algorithm: String,
    },

    /// The credential does not have five `/`-separated parts.
    #[error("credential {credential:?} does not have 5 parts")]
    MalformedCredential {
        /// The credential as received.
        credential: String,
    },

    /// The credential scope names another region, service, terminator or day.
    #[error("credential scope does not match the request")]
    CredentialScope(ScopeMismatch),

    /// No credentials are known for the access key id.
    #[error("unknown access key id {access_key_id:?}")]
    UnknownAccessKey {
        /// The access key id from the credential.
        access_key_id: String,
    },

    /// The recomputed signature differs from the one sent.
    #[error("signature does not match")]
    SignatureMismatch {
        /// What the verifier computed, for the message AWS sends back.
        canonical_request: String,
        /// String to sign the verifier computed.
        string_to_sign: String,
    },

    /// The session token is missing, unexpected, or not the one issued with the key.
    #[error("security token does not match the access key")]
    InvalidSessionToken,
}

impl SigV4Error {
    /// The `x-amzn-ErrorType` value API Gateway sends for this failure.
    pub fn error_type(&self) -> &'static str {
        match self {
            // "Missing authentication token | x-amzn-errortype = MissingAuthenticationTokenException"
            // https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            // IncompleteSignatureException: chalice#828 and the 403 article above (API Gateway);
            // dynalite's captured DynamoDB responses for the date/algorithm/credential cases.
            Self::UnreadableHeader { .. }
            | Self::AlgorithmMissing { .. }
            | Self::MissingEqualSign { .. }
            | Self::IncompleteAuthorization { .. }
            | Self::IncompleteQueryAuth { .. }
            | Self::InvalidDate { .. }
            | Self::InvalidExpires { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::MalformedCredential { .. } => "IncompleteSignatureException",
            // "Authentication token expired | InvalidSignatureException | Signature expired"
            // (403 article above); scope errors: ex_aws#701 shows an execute-api 403 with
            // x-amzn-ErrorType: InvalidSignatureException; mismatch: selling-partner-api-models#113.
            Self::BothHeaderAndQueryAuth
            | Self::SignatureExpired { .. }
            | Self::SignatureNotYetCurrent { .. }
            | Self::PresignedExpired { .. }
            | Self::HostNotSigned
            | Self::CredentialScope(_)
            | Self::SignatureMismatch { .. } => "InvalidSignatureException",
            // The 403 article lists "The security token included in the request is invalid." under
            // x-amzn-errortype = AccessDeniedException for API Gateway. Other services behind the
            // same front end (DynamoDB, Lambda) answer UnrecognizedClientException for the same
            // text; API Gateway's own document is followed here.
            // unconfirmed: no captured execute-api response with this header was found.
            Self::UnknownAccessKey { .. } | Self::InvalidSessionToken => "AccessDeniedException",
        }
    }

    /// The exact `message` API Gateway puts in the JSON body.
    pub fn message(&self) -> String {
        match self {
            // https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
            Self::MissingAuthenticationToken => "Missing Authentication Token".to_owned(),
            // Captured from AWS by mhart/dynalite and mhart/kinesalite (same front end).
            // unconfirmed: not seen from execute-api.
            Self::BothHeaderAndQueryAuth => "Found both 'X-Amz-Algorithm' as a query-string param \
                 and 'Authorization' as HTTP header."
                .to_owned(),
            // unconfirmed: AWS's text for undecodable header bytes was not found; this is the
            // generic IncompleteSignature text AWS IAM returns (modelled by versity's IAM errors).
            Self::UnreadableHeader { .. } => {
                "The request signature does not conform to AWS standards.".to_owned()
            }
            // Reported from an API Gateway-fronted API (Bold payments, an `x-api-key=...`
            // Authorization header). unconfirmed: single third-party report.
            Self::AlgorithmMissing { .. } => "Authorization header must begin with the algorithm \
                 name, which cannot include an equal-sign"
                .to_owned(),
            // Current API Gateway text (the header is hashed, never echoed): seen in
            // awslabs/time-addressable-media-store#8 (2025, API Gateway) and several 2026 reports.
            Self::MissingEqualSign { authorization, .. } => format!(
                "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with \
                 SHA-256 and encoded with Base64): '{}'.",
                base64(&Sha256::digest(authorization.as_bytes()))
            ),
            // API Gateway, aws/chalice#828: "Authorization header requires 'Credential' parameter.
            // Authorization header requires 'Signature' parameter. Authorization header requires
            // 'SignedHeaders' parameter. Authorization header requires existence of either a
            // 'X-Amz-Date' or a 'Date' header. Authorization=<header>"; the same list appears in
            // the 403 article. Order and trailing spaces per mhart/dynalite.
            Self::IncompleteAuthorization {
                credential,
                signature,
                signed_headers,
                date,
                authorization,
            } => {
                let mut msg = String::new();
                for (missing, part) in [
                    (*credential, "Credential"),
                    (*signature, "Signature"),
                    (*signed_headers, "SignedHeaders"),
                ] {
                    if missing {
                        msg.push_str(&format!(
                            "Authorization header requires '{part}' parameter. "
                        ));
                    }
                }
                if *date {
                    msg.push_str(
                        "Authorization header requires existence of either a 'X-Amz-Date' or \
                         a 'Date' header. ",
                    );
                }
                msg.push_str("Authorization=");
                msg.push_str(&echo(authorization));
                msg
            }
            // Captured by mhart/dynalite (DynamoDB); also scratchstack-aws-signature.
            // unconfirmed: not seen from execute-api.
            Self::IncompleteQueryAuth { missing } => {
                let mut msg = String::new();
                for param in missing {
                    msg.push_str(&format!(
                        "AWS query-string parameters must include '{param}'. "
                    ));
                }
                msg.push_str("Re-examine the query-string parameters.");
                msg
            }
            // Captured by mhart/dynalite: "Date must be in ISO-8601 'basic format'. Got '201'.
            // See http://en.wikipedia.org/wiki/ISO_8601". unconfirmed for execute-api.
            Self::InvalidDate { value } => format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601",
                value = echo(value)
            ),
            // "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z
            // (20150830T124600Z - 5 min.)": project notes; same shape in jlevers/selling-partner-api#32
            // (an execute-api API) and serverless#27; 403 article names the case "Signature expired".
            Self::SignatureExpired {
                signing_time,
                now,
                skew,
            } => format!(
                "Signature expired: {} is now earlier than {} ({} - {} min.)",
                format_amz_date(*signing_time),
                format_amz_date(*now - *skew),
                format_amz_date(*now),
                skew.as_secs() / 60
            ),
            // serverless/enterprise#11: "Signature not yet current: 20181120T211543Z is still
            // later than 20181120T211529Z (20181120T211029Z + 5 min.)".
            Self::SignatureNotYetCurrent {
                signing_time,
                now,
                skew,
            } => format!(
                "Signature not yet current: {} is still later than {} ({} + {} min.)",
                format_amz_date(*signing_time),
                format_amz_date(*now + *skew),
                format_amz_date(*now),
                skew.as_secs() / 60
            ),
            // unconfirmed: AWS's text for an expired X-Amz-Expires outside S3 was not found
            // (aws-sdk-go#2167 reports STS ignoring it). Worded like the skew message.
            Self::PresignedExpired {
                signing_time,
                expires,
                now,
            } => format!(
                "Signature expired: {} is now earlier than {} ({} - {} sec.)",
                format_amz_date(*signing_time),
                format_amz_date(now.checked_sub(*expires).unwrap_or(SystemTime::UNIX_EPOCH)),
                format_amz_date(*now),
                expires.as_secs()
            ),
            // unconfirmed: S3's wording for a bad X-Amz-Expires; execute-api's is unknown.
            Self::InvalidExpires { .. } => "X-Amz-Expires must be a non-negative integer less \
                 than a week (in seconds) that is 604800"
                .to_owned(),
            // scratchstack-aws-signature and versity's IAM error table (current AWS text; the
            // older "'Host' must be a 'SignedHeader' in the AWS Authorization." is in dynalite).
            // unconfirmed for execute-api.
            Self::HostNotSigned => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_owned()
            }
            // Captured by mhart/dynalite, trailing space included. unconfirmed for execute-api.
            Self::UnsupportedAlgorithm { algorithm } => {
                format!(
                    "Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). ",
                    algorithm = echo(algorithm)
                )
            }
            // mhart/aws4#97 (Elasticsearch) and dynalite: "Credential must have exactly 5
            // slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'".
            Self::MalformedCredential { credential } => format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'",
                credential = echo(credential)
            ),
            // execute-api: "Credential should be scoped to correct service: 'execute-api'. "
            // (ex_aws#701, aws-sdk-js#4097) and "Credential should be scoped to a valid region,
            // not 'execute-api'. " (aws-sdk-js#792). All four together, in this order, captured
            // from DynamoDB by mhart/dynalite.
            Self::CredentialScope(mismatch) => {
                let mut msg = String::new();
                if let Some(region) = &mismatch.region {
                    msg.push_str(&format!(
                        "Credential should be scoped to a valid region, not '{region}'. ",
                        region = echo(region)
                    ));
                }
                if let Some(service) = &mismatch.expected_service {
                    msg.push_str(&format!(
                        "Credential should be scoped to correct service: '{service}'. "
                    ));
                }
                if let Some(terminator) = &mismatch.terminator {
                    msg.push_str(&format!(
                        "Credential should be scoped with a valid terminator: 'aws4_request', \
                         not '{terminator}'. ",
                        terminator = echo(terminator)
                    ));
                }
                if let Some((scope, request)) = &mismatch.date {
                    msg.push_str(&format!(
                        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version \
                         of date from HTTP: '{scope}' != '{}', from '{request}'.",
                        echo(request.get(..8).unwrap_or(request)),
                        scope = echo(scope),
                        request = echo(request)
                    ));
                }
                msg
            }
            // https://repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch and the 403
            // article: "The security token included in the request is invalid."
            Self::UnknownAccessKey { .. } => {
                "The security token included in the request is invalid.".to_owned()
            }
            // API Gateway (aws/aws-sdk-js#2372, mhart/aws4#110, both execute-api): the fixed text,
            // then "\n\nThe Canonical String for this request should have been\n'...'\n\nThe
            // String-to-Sign should have been\n'...'\n".
            Self::SignatureMismatch {
                canonical_request,
                string_to_sign,
            } => format!(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.\n\nThe Canonical String for this request should have \
                 been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n\
                 '{string_to_sign}'\n"
            ),
            // Captured by mhart/dynalite for a bad X-Amz-Security-Token: same text as an unknown
            // key but without the final period. unconfirmed for execute-api.
            Self::InvalidSessionToken => {
                "The security token included in the request is invalid".to_owned()
            }
        }
    }
}

/// Longest piece of a client's header that an error message repeats (vpcgate's cap: AWS echoes
/// parts of the Authorization header back; a hostile client must not get a megabyte echoed).
pub const MAX_ECHO: usize = 256;

/// `text` as an error message repeats it: at most [`MAX_ECHO`] bytes (on a character boundary),
/// then `...`.
pub fn echo(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_ECHO {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = MAX_ECHO;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}...", &text[..end]))
}
