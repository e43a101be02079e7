//! Authentication and authorization of a REST API method, as a tower layer.
//!
//! API Gateway's flow (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html>):
//! 1. `AWS_IAM` methods: the SigV4 signature is checked first ([`crate::sigv4::verify`] with
//!    API Gateway's policy: service `execute-api`, the API's region, five minutes of skew on the
//!    world's clock, header or presigned form, session token). A missing signature is
//!    `Missing Authentication Token`; any other failure is the verifier's error.
//! 2. The access key becomes a principal (the key the verifier looked up,
//!    [`crate::iam::StoredKey::check`]ed as [`crate::authz::Directory::authenticate`] does): the
//!    user of a long-term key, the assumed-role session of a temporary one.
//! 3. `execute-api:Invoke` on `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}`
//!    is evaluated with the caller's identity policies and the API's resource policy together:
//!    in the same account either may allow, an explicit deny anywhere wins; across accounts both
//!    must allow (Tables A and B of the page above).
//! 4. Methods with `AuthorizationType: NONE` and a resource policy: the policy is evaluated for
//!    an anonymous caller.
//!
//! Denials are 403 `AccessDeniedException` with API Gateway's wording
//! ([`crate::iam::DenialFormat::ApiGateway`]).

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tower::{Layer, Service};

use super::rest_api::AuthorizationType;
use super::{ApiGateway, ApiGatewayError, Deps, Invocation, LayerFuture, Next};
use crate::iam::{CredentialError, Decision, DenialFormat, Principal, RequestContext, StoredKey};
use crate::sigv4::{Incoming, PolicyView, SigV4Error, verify_with};
use crate::trace::Verdict;

/// Why the caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The SigV4 signature is missing or wrong.
    #[error("signature: {0}")]
    Signature(#[from] SigV4Error),
    /// The signing key does not (or no longer) name a principal.
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialError),
    /// `execute-api:Invoke` is denied.
    #[error("access denied ({}): {message}", if *.explicit { "explicit deny" } else { "implicit deny" })]
    Denied {
        /// API Gateway's message.
        message: String,
        /// Whether a `Deny` statement decided.
        explicit: bool,
    },
}

/// Why a method with an authorizer or an API key requirement refused the caller: the
/// authorizers vpcgate does not run (Lambda, Cognito) and usage plans, which it does not emulate.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// A `CUSTOM` or `COGNITO_USER_POOLS` method's request lacks an identity source: API Gateway
    /// refuses it without calling the authorizer (401 `Unauthorized`).
    #[error("authorizer {authorizer}: identity source {source_name} is missing or empty")]
    MissingIdentitySource {
        /// The authorizer.
        authorizer: String,
        /// The missing source (`method.request.header.Authorization`).
        source_name: String,
    },
    /// A Cognito user pool authorizer got a token: vpcgate has no user pool to validate it
    /// against, so it is refused as an invalid token is (401 `Unauthorized`).
    #[error("cognito authorizer {authorizer}: no user pool is emulated to validate the token")]
    TokenNotValidated {
        /// The authorizer.
        authorizer: String,
    },
    /// A Lambda authorizer would run: vpcgate runs no Lambda function, which API Gateway answers
    /// as an authorizer it cannot invoke (500 `AuthorizerConfigurationException`).
    #[error("lambda authorizer {authorizer}: not emulated (vpcgate runs no Lambda functions)")]
    AuthorizerNotRun {
        /// The authorizer.
        authorizer: String,
    },
    /// `ApiKeyRequired` and no valid key: usage plans are not emulated, so no key is valid
    /// (403 `Forbidden`).
    #[error("api key required: {reason}")]
    ApiKey {
        /// Why no key is accepted.
        reason: String,
    },
}

/// Who called, once authenticated; in the request's extensions for the integration. It holds
/// the signing key as the credential store shares it (no copy of its principal).
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key that signed; `None` for unsigned calls to `NONE` methods.
    key: Option<StoredKey>,
}

/// The principal of an unsigned call.
static ANONYMOUS: Principal = Principal::Anonymous;

impl Caller {
    /// An unsigned caller.
    pub fn anonymous() -> Self {
        Self { key: None }
    }

    /// The principal (`Anonymous` for unsigned calls to `NONE` methods).
    pub fn principal(&self) -> &Principal {
        self.key.as_ref().map_or(&ANONYMOUS, StoredKey::principal)
    }

    /// The access key that signed, if any.
    pub fn access_key_id(&self) -> Option<&str> {
        self.key.as_ref().map(StoredKey::access_key_id)
    }
}

impl PartialEq for Caller {
    fn eq(&self, other: &Self) -> bool {
        self.principal() == other.principal() && self.access_key_id() == other.access_key_id()
    }
}

impl Eq for Caller {}

/// SigV4 verification and `execute-api:Invoke` authorization for `gw`'s APIs.
pub fn layer(gw: Arc<ApiGateway>) -> AuthLayer {
    AuthLayer { gw }
}

/// See [`layer`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    gw: Arc<ApiGateway>,
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            gw: self.gw.clone(),
            inner,
        }
    }
}

/// See [`layer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    gw: Arc<ApiGateway>,
    inner: S,
}

impl<S: Next> Service<http::Request<Bytes>> for Auth<S> {
    type Response = http::Response<Bytes>;
    type Error = ApiGatewayError;
    type Future = LayerFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiGatewayError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Bytes>) -> Self::Future {
        let caller = authorize(&self.gw, &req);
        let mut inner = self.inner.clone();
        // Take the ready inner service, leave the clone (tower's usual dance).
        std::mem::swap(&mut self.inner, &mut inner);
        Box::pin(async move {
            let caller = caller?;
            req.extensions_mut().insert(caller);
            inner.call(req).await
        })
    }
}

/// Steps 1–4 of the module docs.
pub fn authorize(gw: &ApiGateway, req: &http::Request<Bytes>) -> Result<Caller, ApiGatewayError> {
    let deps = gw.deps();
    let Some(inv) = req.extensions().get::<Arc<Invocation>>() else {
        // The service always routes first; a bare call has nothing to authorize against.
        return Ok(Caller::anonymous());
    };
    let trace = &inv.trace;
    let stage = &inv.stage;
    // The world's time the request came (read once, with its ids) for the request's context
    // and its credentials' check.
    let now = chrono::DateTime::<chrono::Utc>::from(inv.ids.received);
    let mut context = RequestContext::for_request(now, &stage.region);
    // Network keys and the VPC endpoint policy of the way the request came (crate::ec2).
    let gates = req
        .extensions()
        .get::<crate::ec2::Arrival>()
        .map(|a| a.apply(&mut context))
        .unwrap_or_default();

    let caller = match inv.route.method.authorization {
        AuthorizationType::AwsIam => {
            sigv4_caller(deps, req, &stage.region, now, &mut context, trace)
                .map_err(ApiGatewayError::Auth)?
        }
        AuthorizationType::None => Caller::anonymous(),
        AuthorizationType::Custom | AuthorizationType::CognitoUserPools => {
            authorizer_answer(gw, req, inv)?
        }
    };

    let needs_check = inv.route.method.authorization == AuthorizationType::AwsIam
        || stage.resource_policy.is_some();
    if needs_check {
        let resource = stage.invoke_arn(req.method().as_str(), &inv.path);
        match deps.iam.authorize(
            caller.principal(),
            "execute-api:Invoke",
            &resource,
            &context,
            stage.resource_policy.as_ref(),
            &gates,
            DenialFormat::ApiGateway,
            trace,
        ) {
            Ok(_) => {}
            Err(denied) => {
                return Err(AuthError::Denied {
                    explicit: matches!(denied.decision, Decision::ExplicitDeny { .. }),
                    message: denied.message,
                }
                .into());
            }
        }
    }
    if inv.route.method.api_key_required {
        // Usage plans and keys (AWS::ApiGateway::ApiKey, ::UsagePlan) are placeholders: no key
        // is in a usage plan of this stage, which API Gateway answers 403 Forbidden.
        let reason = if req.headers().contains_key("x-api-key") {
            "the x-api-key is in no usage plan of this stage (usage plans are not emulated)"
        } else {
            "no x-api-key header"
        };
        trace.hop_fmt(
            "apigw",
            Verdict::Refuse,
            format_args!("api key required: {reason}"),
        );
        return Err(AuthorizerError::ApiKey {
            reason: reason.to_string(),
        }
        .into());
    }
    Ok(caller)
}

/// A `CUSTOM` or `COGNITO_USER_POOLS` method: a request without one of the authorizer's identity
/// sources is refused before the authorizer runs; otherwise the authorizer would run, which
/// vpcgate cannot do (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html>:
/// a missing, null or empty identity source is 401 Unauthorized without a Lambda call).
fn authorizer_answer(
    gw: &ApiGateway,
    req: &http::Request<Bytes>,
    inv: &Invocation,
) -> Result<Caller, AuthorizerError> {
    use super::rest_api::AuthorizerKind;
    let trace = &inv.trace;
    let method = &inv.route.method;
    // The scenario checks that a method's authorizer exists (scenario::apigw::finish).
    let Some(a) = method
        .authorizer_id
        .as_deref()
        .and_then(|id| gw.authorizer(&method.rest_api_id, id))
    else {
        return Err(AuthorizerError::AuthorizerNotRun {
            authorizer: method.authorizer_id.clone().unwrap_or_default(),
        });
    };
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    for source in &a.identity_sources {
        let present = if let Some(h) = source.strip_prefix("method.request.header.") {
            req.headers()
                .get(h)
                .is_some_and(|v| !v.as_bytes().trim_ascii().is_empty())
        } else if let Some(q) = source.strip_prefix("method.request.querystring.") {
            query.iter().any(|(k, v)| k == q && !v.is_empty())
        } else {
            // Stage variables and $context values: present once the request is routed.
            true
        };
        if !present {
            trace.hop_fmt("apigw", Verdict::Refuse, format_args!(
                    "authorizer {}: identity source {source} missing: 401 Unauthorized without calling it",
                    a.name
                ),
            );
            return Err(AuthorizerError::MissingIdentitySource {
                authorizer: a.name.clone(),
                source_name: source.clone(),
            });
        }
    }
    if a.kind == AuthorizerKind::CognitoUserPools {
        trace.hop_fmt("apigw", Verdict::Refuse, format_args!(
                "Cognito authorizer {}: no user pool is emulated, the token cannot be validated: 401 Unauthorized",
                a.name
            ),
        );
        return Err(AuthorizerError::TokenNotValidated {
            authorizer: a.name.clone(),
        });
    }
    trace.hop_fmt("apigw", Verdict::Fail, format_args!(
            "Lambda authorizer {}: not emulated (vpcgate runs no Lambda functions): 500 AuthorizerConfigurationException",
            a.name
        ),
    );
    Err(AuthorizerError::AuthorizerNotRun {
        authorizer: a.name.clone(),
    })
}

/// Step 1 and 2 of the module docs, shared by REST and HTTP APIs: the SigV4 signature verified
/// for `execute-api` in `region` (against the host's time for a real client's request, else the
/// world's), and the access key resolved to its principal, whose keys go into `context`.
/// `world_now` is the world's time the caller read for `context` (the session's expiry is
/// checked against it: one reading of the clock per request).
pub fn sigv4_caller(
    deps: &Deps,
    req: &http::Request<Bytes>,
    region: &str,
    world_now: chrono::DateTime<chrono::Utc>,
    context: &mut RequestContext,
    trace: &crate::trace::Trace,
) -> Result<Caller, AuthError> {
    let now = req
        .extensions()
        .get::<crate::clock::HostTime>()
        .map_or_else(|| std::time::SystemTime::from(world_now), |h| h.0);
    let policy = PolicyView::execute_api(region);
    let incoming = Incoming::from_request(req);
    // One read of the credential store: the key's secret for the signature, then its principal.
    let verified = verify_with(&incoming, now, &policy, |id| deps.iam.key(id)).map_err(|e| {
        trace.hop_fmt(
            "sigv4",
            Verdict::Refuse,
            format_args!(
                "{e} (key {}): {} {}",
                claimed_key(req).unwrap_or_else(|| "none".into()),
                e.error_type(),
                e.message().lines().next().unwrap_or("")
            ),
        );
        AuthError::Signature(e)
    })?;
    let key = &verified.credentials;
    key.check(verified.session_token.as_deref(), world_now)
        .map_err(|e| {
            trace.hop_fmt("sigv4", Verdict::Refuse, format_args!("{e}"));
            AuthError::Credentials(e)
        })?;
    key.apply_to(context);
    trace.pass_fmt("sigv4", format_args!(
            "{:?} signature by {} verified ({} signed headers{}): principal {} (aws:PrincipalArn {})",
            verified.location,
            verified.access_key_id,
            verified.signed_header_names().count(),
            if verified.session_token.is_some() {
                ", session token"
            } else {
                ""
            },
            key.principal().arn_text(),
            key.principal().principal_arn_text().unwrap_or_default()
        ),
    );
    Ok(Caller {
        key: Some(verified.credentials),
    })
}

/// The access key id a request claims to be signed with (`Credential=AKID/…` in the
/// `Authorization` header or `X-Amz-Credential` in the query), for the trace.
fn claimed_key(req: &http::Request<Bytes>) -> Option<String> {
    let from_header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split_once("Credential="))
        .map(|(_, rest)| rest.to_string());
    let from_query = || {
        req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("X-Amz-Credential="))
                .map(|v| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
        })
    };
    let credential = from_header.or_else(from_query)?;
    let key = credential.split(['/', ',', ' ']).next()?.to_string();
    (!key.is_empty()).then_some(key)
}
