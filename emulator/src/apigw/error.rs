//! Everything that stops a request inside API Gateway, and [`wire`]: the one function that turns
//! it into what API Gateway puts on the wire (status, `x-amzn-ErrorType`, JSON body).
//!
//! Sources, by row:
//! - unknown path or method in a deployed stage, unsigned call to an `AWS_IAM` method: 403
//!   `MissingAuthenticationTokenException` `{"message":"Missing Authentication Token"}`
//!   (<https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden>, and the
//!   LocalStack snapshot `test_routing_not_found` recorded against AWS 2024-07-23);
//! - SigV4 failures: [`crate::sigv4::wire`]'s `ExecuteApi` rows (their sources are there and in
//!   [`SigV4Error::error_type`]);
//! - `execute-api:Invoke` denied: 403 `AccessDeniedException` with a capital-M `Message`
//!   (same knowledge-center article; project FIDELITY.md);
//! - integration time-out: 504 `InternalServerErrorException` `{"message": "Endpoint request timed
//!   out"}` (41 bytes, note the space; a 2025-05 curl transcript, research Q14);
//! - VPC link / connection failure: 504 `InternalServerErrorException`
//!   `{"message": "Network error communicating with endpoint"}` (research Q14);
//! - configuration errors (no integration response matches a MOCK): 500
//!   `InternalServerErrorException` `{"message": "Internal server error"}` (36 bytes, the
//!   LocalStack remapping snapshot recorded against AWS 2024-12-11);
//! - authorizers vpcgate cannot run and API keys (gateway response types,
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html>):
//!   a missing identity source or a Cognito token nothing validates, 401 `UnauthorizedException`
//!   `{"message":"Unauthorized"}`; a Lambda authorizer, 500 `AuthorizerConfigurationException`
//!   `{"message": null}` (AUTHORIZER_CONFIGURATION_ERROR); `ApiKeyRequired` with no key in a usage
//!   plan, 403 `ForbiddenException` `{"message":"Forbidden"}` (INVALID_API_KEY);
//! - unknown API id or stage: 403 `ForbiddenException` `{"message":"Forbidden"}` — the knowledge-
//!   center article names a wrong stage as a cause of 403 Forbidden; the exact pair for an unknown
//!   API id is unconfirmed (docs/pattern-b-fidelity.md).
//!
//! Gateway responses carry `Content-Type: application/json` and no `X-Amzn-Trace-Id` (the recorded
//! error responses have none).

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::auth::{AuthError, AuthorizerError};
use super::integration::IntegrationError;
use super::timeout::Elapsed;
use crate::iam::CredentialError;
use crate::sigv4::SigV4Error;

/// Why API Gateway answered with its own error instead of the integration's response.
#[derive(Debug, thiserror::Error)]
pub enum ApiGatewayError {
    /// No REST API with that id in the world.
    #[error("no rest api {api_id} in region {region}")]
    UnknownApi {
        /// The id from the host or path.
        api_id: String,
        /// The region from the host, if any.
        region: String,
    },
    /// The request names no API at all (neither `{id}.execute-api.{region}.amazonaws.com` nor
    /// `/restapis/{id}/{stage}/_user_request_/…`).
    #[error("request for {host}{path} names no rest api")]
    NoApi {
        /// The Host header.
        host: String,
        /// The path.
        path: String,
    },
    /// The API has no stage of that name (or the stage has no deployment).
    #[error("rest api {api_id} has no stage {stage:?}")]
    UnknownStage {
        /// The API.
        api_id: String,
        /// The stage asked for.
        stage: String,
    },
    /// No resource matches the path, or it has no method for the verb (and no `ANY`).
    #[error("no method {method} on {path} in stage {stage}")]
    NoRoute {
        /// The verb.
        method: String,
        /// The path below the stage.
        path: String,
        /// The stage.
        stage: String,
    },
    /// The API is `PRIVATE`: only an `execute-api` interface endpoint reaches it.
    #[error("rest api {api_id} is private and the request did not come through a vpc endpoint")]
    PrivateApi {
        /// The API.
        api_id: String,
    },
    /// A REGIONAL or EDGE API called through an `execute-api` interface endpoint (the VPC's
    /// private DNS sends every `*.execute-api` name there).
    #[error(
        "rest api {api_id} is not private and cannot be invoked through vpc endpoint {vpce_id}"
    )]
    PublicApiThroughEndpoint {
        /// The API.
        api_id: String,
        /// The endpoint.
        vpce_id: String,
    },
    /// Authentication or authorization refused the caller.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An authorizer vpcgate does not run, or an API key requirement, refused the caller.
    #[error(transparent)]
    Authorizer(#[from] AuthorizerError),
    /// The integration did not answer in time.
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    /// The integration failed.
    #[error(transparent)]
    Integration(#[from] IntegrationError),
}

/// An error as API Gateway sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// HTTP status.
    pub status: StatusCode,
    /// `x-amzn-ErrorType`.
    pub error_type: &'static str,
    /// The JSON body, byte for byte.
    pub body: String,
}

const MISSING_TOKEN_BODY: &str = r#"{"message":"Missing Authentication Token"}"#;
const FORBIDDEN_BODY: &str = r#"{"message":"Forbidden"}"#;
/// The `UNAUTHORIZED` gateway response's body.
const UNAUTHORIZED_BODY: &str = r#"{"message":"Unauthorized"}"#;
/// The `AUTHORIZER_CONFIGURATION_ERROR` gateway response's body (`$context.error.messageString`
/// is null when the authorizer cannot be invoked).
const AUTHORIZER_CONFIGURATION_BODY: &str = r#"{"message": null}"#;
/// The recorded integration time-out body (with a space after the colon).
pub const TIMEOUT_BODY: &str = r#"{"message": "Endpoint request timed out"}"#;
/// The recorded network-failure body of a private integration.
pub const NETWORK_ERROR_BODY: &str = r#"{"message": "Network error communicating with endpoint"}"#;
/// The recorded configuration-error body.
pub const INTERNAL_ERROR_BODY: &str = r#"{"message": "Internal server error"}"#;

/// The one mapping from [`ApiGatewayError`] to API Gateway's wire error.
pub fn wire(error: &ApiGatewayError) -> WireError {
    let e = |status, error_type, body: &str| WireError {
        status,
        error_type,
        body: body.to_string(),
    };
    match error {
        ApiGatewayError::NoRoute { .. } => e(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            MISSING_TOKEN_BODY,
        ),
        ApiGatewayError::UnknownApi { .. }
        | ApiGatewayError::NoApi { .. }
        | ApiGatewayError::UnknownStage { .. }
        | ApiGatewayError::PrivateApi { .. }
        | ApiGatewayError::PublicApiThroughEndpoint { .. } => {
            e(StatusCode::FORBIDDEN, "ForbiddenException", FORBIDDEN_BODY)
        }
        ApiGatewayError::Auth(AuthError::Signature(sig)) => signature(sig),
        ApiGatewayError::Auth(AuthError::Credentials(cred)) => match cred {
            // unconfirmed: API Gateway's error type for expired STS credentials; the message is
            // the common one ("The security token included in the request is expired").
            CredentialError::Expired { .. } => WireError {
                status: StatusCode::FORBIDDEN,
                error_type: "ExpiredTokenException",
                body: serde_json::json!({ "message": cred.aws_message().unwrap_or_default() })
                    .to_string(),
            },
            // An unknown key or a token that is not the key's: as SigV4's unknown-key answer.
            _ => signature(&SigV4Error::UnknownAccessKey {
                access_key_id: String::new(),
            }),
        },
        // Gateway responses UNAUTHORIZED, AUTHORIZER_CONFIGURATION_ERROR and
        // INVALID_API_KEY (supported-gateway-response-types.html): 401, 500, 403.
        ApiGatewayError::Authorizer(
            AuthorizerError::MissingIdentitySource { .. }
            | AuthorizerError::TokenNotValidated { .. },
        ) => e(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            UNAUTHORIZED_BODY,
        ),
        ApiGatewayError::Authorizer(AuthorizerError::AuthorizerNotRun { .. }) => e(
            StatusCode::INTERNAL_SERVER_ERROR,
            "AuthorizerConfigurationException",
            AUTHORIZER_CONFIGURATION_BODY,
        ),
        ApiGatewayError::Authorizer(AuthorizerError::ApiKey { .. }) => {
            e(StatusCode::FORBIDDEN, "ForbiddenException", FORBIDDEN_BODY)
        }
        ApiGatewayError::Auth(AuthError::Denied { message, .. }) => WireError {
            status: StatusCode::FORBIDDEN,
            error_type: "AccessDeniedException",
            body: serde_json::json!({ "Message": message }).to_string(),
        },
        ApiGatewayError::Timeout(_) => e(
            StatusCode::GATEWAY_TIMEOUT,
            "InternalServerErrorException",
            TIMEOUT_BODY,
        ),
        ApiGatewayError::Integration(err) => match err {
            IntegrationError::Connect { .. }
            | IntegrationError::Tls { .. }
            | IntegrationError::Http { .. } => e(
                StatusCode::GATEWAY_TIMEOUT,
                "InternalServerErrorException",
                NETWORK_ERROR_BODY,
            ),
            // VPC link v1: a FAILED link, an NLB target that is unhealthy or does not listen,
            // a certificate that does not match — "Execution failed due to configuration
            // error", 500 (<https://repost.aws/knowledge-center/api-gateway-500-error-vpc>).
            IntegrationError::NoMockResponse { .. }
            | IntegrationError::Unreachable { .. }
            | IntegrationError::NotDeployed { .. }
            | IntegrationError::VpcLinkFailed { .. }
            | IntegrationError::VpcLinkV1 { .. } => e(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerErrorException",
                INTERNAL_ERROR_BODY,
            ),
        },
    }
}

/// A SigV4 failure as API Gateway's data plane sends it ([`crate::sigv4::wire`]).
fn signature(sig: &SigV4Error) -> WireError {
    let w = crate::sigv4::wire(sig, crate::sigv4::Protocol::ExecuteApi);
    WireError {
        status: w.status,
        error_type: w.code,
        body: w.json_body(),
    }
}

impl WireError {
    /// The response API Gateway sends (its own headers — request ids, `Date` — are added by the
    /// service for every response).
    pub fn into_response(self) -> http::Response<Bytes> {
        let mut resp = http::Response::new(Bytes::from(self.body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.error_type),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bodies_have_the_recorded_lengths() {
        // research Q14: 41, 56 and 36 bytes.
        assert_eq!(TIMEOUT_BODY.len(), 41);
        assert_eq!(NETWORK_ERROR_BODY.len(), 56);
        assert_eq!(INTERNAL_ERROR_BODY.len(), 36);
    }

    #[test]
    fn one_mapping_for_every_error() {
        let route = wire(&ApiGatewayError::NoRoute {
            method: "GET".into(),
            path: "/nope".into(),
            stage: "prod".into(),
        });
        assert_eq!(route.status, 403);
        assert_eq!(route.error_type, "MissingAuthenticationTokenException");
        assert_eq!(route.body, r#"{"message":"Missing Authentication Token"}"#);

        let timeout = wire(&ApiGatewayError::Timeout(Elapsed {
            after: Duration::from_secs(29),
        }));
        assert_eq!(timeout.status, 504);
        assert_eq!(timeout.error_type, "InternalServerErrorException");

        let denied = wire(&ApiGatewayError::Auth(AuthError::Denied {
            message: "User: x is not authorized".into(),
            explicit: true,
        }));
        assert_eq!(denied.error_type, "AccessDeniedException");
        assert_eq!(denied.body, r#"{"Message":"User: x is not authorized"}"#);

        let unsigned = wire(&ApiGatewayError::Auth(AuthError::Signature(
            SigV4Error::MissingAuthenticationToken,
        )));
        assert_eq!(unsigned.body, route.body);
    }
}
