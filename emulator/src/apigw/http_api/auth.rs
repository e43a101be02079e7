//! Route authorization of HTTP APIs, as a tower layer.
//!
//! - `AWS_IAM` (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html>):
//!   the SigV4 signature ([`crate::apigw::auth::sigv4_caller`], shared with REST APIs), then
//!   `execute-api:Invoke` on the route's ARN with the caller's identity policies only — HTTP
//!   APIs have no resource policies — plus the VPC endpoint policy of the way it came.
//! - `JWT`: [`super::jwt::validate`] against the route's authorizer; the claims become
//!   `$context.authorizer.claims.<name>` for parameter mapping.
//! - `NONE`: open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use serde_json::Value;
use tower::{Layer, Service};

use super::error::HttpApiError;
use super::jwt::{self, Expectations, JwtError};
use super::{AuthContext, HttpInvocation, RouteAuth};
use crate::apigw::ApiGateway;
use crate::apigw::auth::{AuthError, sigv4_caller};
use crate::iam::{Decision, DenialFormat, RequestContext};

/// The layer.
pub fn layer(gw: Arc<ApiGateway>) -> HttpAuthLayer {
    HttpAuthLayer { gw }
}

/// See [`layer`].
#[derive(Clone, Debug)]
pub struct HttpAuthLayer {
    gw: Arc<ApiGateway>,
}

impl<S> Layer<S> for HttpAuthLayer {
    type Service = HttpAuth<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HttpAuth {
            gw: self.gw.clone(),
            inner,
        }
    }
}

/// See [`layer`].
#[derive(Clone, Debug)]
pub struct HttpAuth<S> {
    gw: Arc<ApiGateway>,
    inner: S,
}

impl<S> Service<http::Request<Bytes>> for HttpAuth<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<Bytes>, Error = HttpApiError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = http::Response<Bytes>;
    type Error = HttpApiError;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpApiError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), HttpApiError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Bytes>) -> Self::Future {
        let result = authorize(&self.gw, &req);
        let mut inner = self.inner.clone();
        std::mem::swap(&mut self.inner, &mut inner);
        Box::pin(async move {
            req.extensions_mut().insert(result?);
            inner.call(req).await
        })
    }
}

/// Authorizes one routed request; the `$context` entries it learned.
pub fn authorize(gw: &ApiGateway, req: &http::Request<Bytes>) -> Result<AuthContext, HttpApiError> {
    let deps = gw.deps();
    let Some(inv) = req.extensions().get::<Arc<HttpInvocation>>() else {
        return Ok(AuthContext::default());
    };
    let trace = &inv.trace;
    let mut ctx = AuthContext::default();
    match &inv.route.config.auth {
        RouteAuth::None => {}
        RouteAuth::AwsIam => {
            // The world's time the request came (read once, with its ids) for the context and
            // the credentials' check.
            let now = chrono::DateTime::<chrono::Utc>::from(inv.ids.received);
            let mut context = RequestContext::for_request(now, &inv.api.region);
            let gates = req
                .extensions()
                .get::<crate::ec2::Arrival>()
                .map(|a| a.apply(&mut context))
                .unwrap_or_default();
            let caller = sigv4_caller(deps, req, &inv.api.region, now, &mut context, trace)?;
            let resource = inv
                .api
                .invoke_arn(&inv.stage.name, req.method().as_str(), &inv.path);
            if let Err(denied) = deps.iam.authorize(
                caller.principal(),
                "execute-api:Invoke",
                &resource,
                &context,
                None,
                &gates,
                DenialFormat::ApiGateway,
                trace,
            ) {
                return Err(AuthError::Denied {
                    explicit: matches!(denied.decision, Decision::ExplicitDeny { .. }),
                    message: denied.message,
                }
                .into());
            }
            ctx.0
                .insert("identity.userArn".into(), caller.principal().arn());
            if let Some(key) = caller.access_key_id() {
                ctx.0.insert("identity.accessKey".into(), key.to_owned());
            }
        }
        RouteAuth::Jwt { scopes, .. } => {
            let Some(authorizer) = &inv.route.authorizer else {
                return Err(JwtError::Missing("the route's authorizer".into()).into());
            };
            let source = &authorizer.identity_source;
            let raw = if let Some(h) = source.strip_prefix("$request.header.") {
                req.headers()
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            } else if let Some(q) = source.strip_prefix("$request.querystring.") {
                form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == q)
                    .map(|(_, v)| v.into_owned())
            } else {
                None
            };
            let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
                let e = JwtError::Missing(source.clone());
                trace.hop("jwt", crate::trace::Verdict::Refuse, e.to_string());
                return Err(e.into());
            };
            let want = Expectations {
                issuer: &authorizer.issuer,
                audience: &authorizer.audience,
                scopes,
                jwks: gw.http_apis().jwks(&authorizer.issuer),
                now: deps.clock.now_utc().timestamp(),
            };
            let claims = jwt::validate(jwt::token_of(&raw), &want).map_err(|e| {
                trace.hop(
                    "jwt",
                    crate::trace::Verdict::Refuse,
                    format!("authorizer {}: {e}", authorizer.name),
                );
                HttpApiError::Jwt(e)
            })?;
            trace.pass_fmt(
                "jwt",
                format_args!(
                    "authorizer {}: token of {} for {} verified (RS256)",
                    authorizer.name,
                    claims.get("sub").and_then(Value::as_str).unwrap_or("?"),
                    authorizer.issuer
                ),
            );
            for (k, v) in claims {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                ctx.0.insert(format!("authorizer.claims.{k}"), text);
            }
        }
    }
    Ok(ctx)
}
