//! Everything that stops a request inside an HTTP API, and [`wire`]: the one mapping to what
//! HTTP APIs put on the wire. HTTP APIs answer errors with a status, a `{"message":…}` body and
//! no `x-amzn-ErrorType` header (unlike REST APIs).
//!
//! Sources, by row:
//! - no route (and no `$default`), unknown stage: 404 `{"message":"Not Found"}`
//!   (http-api-develop-routes.html: a request that matches no route gets 404; AWS's own Lambda
//!   test tool answers `Not Found` for HTTP APIs where REST APIs say `Missing Authentication
//!   Token`: <https://github.com/aws/aws-lambda-dotnet/pull/1909>; the unknown-stage case [I]);
//! - `AWS_IAM` route without a signature, or `execute-api:Invoke` not allowed: 403
//!   `{"message":"Forbidden"}` (http-api-access-control-iam.html: "API Gateway returns 403 …";
//!   the body [I] from issue 16's list);
//! - a SigV4 signature that is present but wrong: the verifier's status and message
//!   ([`crate::sigv4::wire`], the same texts REST APIs send);
//! - JWT refused: 401 `{"message":"Unauthorized"}`; a valid token without the route's scopes:
//!   403 `{"message":"Forbidden"}` (http-api-jwt-authorizer.html);
//! - integration timeout: 503 `{"message":"Service Unavailable"}` (33 bytes), recorded against
//!   an HTTP API at its timeout: <https://github.com/cortexlabs/cortex/issues/1225> (headers
//!   `date`, `content-length`, `apigw-requestid`, no `content-type`);
//! - the VPC link connection refused or reset, TLS failure, a broken exchange, an unreachable
//!   public endpoint: 500 `{"message":"Internal Server Error"}`
//!   (<https://repost.aws/knowledge-center/api-gateway-500-error-vpc>: VPC link integrations that
//!   cannot reach the backend answer 500; the body is HTTP APIs' generic one [I]);
//! - `DisableExecuteApiEndpoint`: 403 `{"message":"Forbidden"}` (apigatewayv2 API reference:
//!   "clients can invoke your API only by using a custom domain name") [I for the body].

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::jwt::JwtError;
use crate::apigw::auth::AuthError;
use crate::apigw::integration::IntegrationError;
use crate::sigv4::SigV4Error;

/// Why an HTTP API answered by itself.
#[derive(Debug, thiserror::Error)]
pub enum HttpApiError {
    /// The API has no such stage (or the stage is not deployed).
    #[error("http api {api_id} has no deployed stage for {path}")]
    NoStage {
        /// The API.
        api_id: String,
        /// The request path.
        path: String,
    },
    /// No route matches and there is no `$default` route.
    #[error("no route matches {method} {path} in stage {stage}")]
    NoRoute {
        /// The verb.
        method: String,
        /// The path below the stage.
        path: String,
        /// The stage.
        stage: String,
    },
    /// The route has no integration (`Target`).
    #[error("route {0} has no integration")]
    NoIntegration(String),
    /// The default endpoint is disabled.
    #[error("the execute-api endpoint of http api {0} is disabled")]
    EndpointDisabled(String),
    /// `AWS_IAM`: SigV4 or `execute-api:Invoke`.
    #[error(transparent)]
    Iam(#[from] AuthError),
    /// `JWT`.
    #[error("jwt authorizer: {0}")]
    Jwt(#[from] JwtError),
    /// The integration did not answer within `TimeoutInMillis`.
    #[error("integration did not answer within {} ms", .0.as_millis())]
    Timeout(std::time::Duration),
    /// The integration failed.
    #[error(transparent)]
    Integration(#[from] IntegrationError),
}

/// An error as an HTTP API sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// Status.
    pub status: StatusCode,
    /// Body, byte for byte.
    pub body: String,
    /// Whether `content-type: application/json` goes with it (not on the recorded 503).
    pub json_content_type: bool,
}

/// `{"message":"Not Found"}`.
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;
/// `{"message":"Forbidden"}`.
pub const FORBIDDEN_BODY: &str = r#"{"message":"Forbidden"}"#;
/// `{"message":"Unauthorized"}`.
pub const UNAUTHORIZED_BODY: &str = r#"{"message":"Unauthorized"}"#;
/// `{"message":"Service Unavailable"}` (33 bytes, recorded).
pub const SERVICE_UNAVAILABLE_BODY: &str = r#"{"message":"Service Unavailable"}"#;
/// `{"message":"Internal Server Error"}`.
pub const INTERNAL_ERROR_BODY: &str = r#"{"message":"Internal Server Error"}"#;

/// The one mapping from [`HttpApiError`] to the wire.
pub fn wire(error: &HttpApiError) -> WireError {
    let e = |status, body: &str| WireError {
        status,
        body: body.to_string(),
        json_content_type: true,
    };
    match error {
        HttpApiError::NoStage { .. } | HttpApiError::NoRoute { .. } => {
            e(StatusCode::NOT_FOUND, NOT_FOUND_BODY)
        }
        HttpApiError::EndpointDisabled(_) => e(StatusCode::FORBIDDEN, FORBIDDEN_BODY),
        HttpApiError::Iam(AuthError::Signature(SigV4Error::MissingAuthenticationToken))
        | HttpApiError::Iam(AuthError::Denied { .. }) => e(StatusCode::FORBIDDEN, FORBIDDEN_BODY),
        HttpApiError::Iam(AuthError::Signature(sig)) => {
            let w = crate::sigv4::wire(sig, crate::sigv4::Protocol::ExecuteApi);
            WireError {
                status: w.status,
                body: w.json_body(),
                json_content_type: true,
            }
        }
        HttpApiError::Iam(AuthError::Credentials(cred)) => WireError {
            status: StatusCode::FORBIDDEN,
            body: match cred.aws_message() {
                Some(m) => serde_json::json!({ "message": m }).to_string(),
                None => crate::sigv4::wire(
                    &SigV4Error::UnknownAccessKey {
                        access_key_id: String::new(),
                    },
                    crate::sigv4::Protocol::ExecuteApi,
                )
                .json_body(),
            },
            json_content_type: true,
        },
        HttpApiError::Jwt(j) if j.forbidden() => e(StatusCode::FORBIDDEN, FORBIDDEN_BODY),
        HttpApiError::Jwt(_) => e(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY),
        HttpApiError::Timeout(_) => WireError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: SERVICE_UNAVAILABLE_BODY.into(),
            json_content_type: false,
        },
        HttpApiError::NoIntegration(_) | HttpApiError::Integration(_) => {
            e(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR_BODY)
        }
    }
}

impl WireError {
    /// The response (the service adds `date`, `content-length`, `apigw-requestid`).
    pub fn into_response(self) -> http::Response<Bytes> {
        let mut resp = http::Response::new(Bytes::from(self.body));
        *resp.status_mut() = self.status;
        if self.json_content_type {
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_as_recorded_and_listed() {
        assert_eq!(SERVICE_UNAVAILABLE_BODY.len(), 33);
        let t = wire(&HttpApiError::Timeout(std::time::Duration::from_secs(30)));
        assert_eq!((t.status.as_u16(), t.json_content_type), (503, false));
        let nf = wire(&HttpApiError::NoRoute {
            method: "GET".into(),
            path: "/x".into(),
            stage: "$default".into(),
        });
        assert_eq!(
            (nf.status.as_u16(), nf.body.as_str()),
            (404, NOT_FOUND_BODY)
        );
        let unsigned = wire(&HttpApiError::Iam(AuthError::Signature(
            SigV4Error::MissingAuthenticationToken,
        )));
        assert_eq!(
            (unsigned.status.as_u16(), unsigned.body.as_str()),
            (403, FORBIDDEN_BODY)
        );
        let scope = wire(&HttpApiError::Jwt(JwtError::Scope(vec!["read".into()])));
        assert_eq!(scope.status, 403);
        let expired = wire(&HttpApiError::Jwt(JwtError::Expired(1)));
        assert_eq!(
            (expired.status.as_u16(), expired.body.as_str()),
            (401, UNAUTHORIZED_BODY)
        );
    }
}
