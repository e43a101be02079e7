//! HTTP APIs (API Gateway v2): the data plane of the seed's recorded Pattern B output.
//!
//! ```text
//! http::Request ──▶ HttpApiService: which API, stage ($default or named) and route
//!   ──▶ auth::layer: AWS_IAM (SigV4 + identity policies, no resource policy) or a JWT authorizer
//!   ──▶ integration: HTTP_PROXY to a URL, or over a VPC link (v2) to an ALB/NLB listener,
//!       request parameter mapping, TimeoutInMillis on tokio's clock
//! ```
//!
//! The same addresses as REST APIs ([`crate::apigw::locate`]): the host
//! `{api-id}.execute-api.{region}.amazonaws.com` and `/restapis/{api-id}/{stage}/_user_request_/…`.
//! On the host form, a first path segment naming a stage selects it; otherwise the `$default`
//! stage gets the whole path
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html>: "a
//! $default stage … is served from the base of your API's URL").
//!
//! Response shape (HTTP APIs differ from REST APIs): header names in lower case, the backend's
//! headers passed through (its `server` included — the seed's `server: awselb/2.0`), an
//! `apigw-requestid` (16 base64 characters ending in `=`, as the seed's `e5Nw0iQQtjMEJUA=`)
//! and a `date`; no `x-amzn-RequestId`/`x-amz-apigw-id`/`x-amzn-Remapped-*`. Errors:
//! [`error::wire`].

pub mod api;
pub mod auth;
pub mod error;
pub mod integration;
pub mod jwt;
pub mod mapping;
pub mod route;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderValue;
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::apigw::{ApiGateway, RequestIds, locate};
use crate::trace::{Trace, Verdict};

pub use api::{
    HttpApiConfig, HttpApiModel, HttpConnection, HttpIntegrationConfig, HttpRouteConfig,
    HttpStageConfig, JwtAuthorizerConfig, RouteAuth,
};
pub use error::{HttpApiError, wire};

/// A route with what it needs at run time.
#[derive(Debug)]
pub struct HttpRoute {
    /// The route.
    pub config: HttpRouteConfig,
    /// Its integration.
    pub integration: Option<Arc<HttpIntegrationConfig>>,
    /// Its JWT authorizer.
    pub authorizer: Option<Arc<JwtAuthorizerConfig>>,
}

/// A stage of an HTTP API.
#[derive(Debug)]
pub struct HttpStage {
    /// `StageName`.
    pub name: String,
    /// `StageVariables`.
    pub variables: BTreeMap<String, String>,
}

/// A deployed HTTP API.
#[derive(Debug)]
pub struct DeployedHttpApi {
    /// The API.
    pub config: HttpApiConfig,
    /// Its region.
    pub region: String,
    /// Its account.
    pub account: String,
    /// Stages by name (those with `AutoDeploy` or a deployment).
    pub stages: HashMap<String, Arc<HttpStage>>,
    /// Routes.
    pub routes: Vec<Arc<HttpRoute>>,
}

impl DeployedHttpApi {
    /// `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{VERB}/{path}`
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html>).
    pub fn invoke_arn(&self, stage: &str, verb: &str, path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            self.region,
            self.account,
            self.config.id,
            stage,
            verb,
            path.trim_start_matches('/')
        )
    }
}

/// Every deployed HTTP API of a world.
#[derive(Debug, Default)]
pub struct HttpApis {
    apis: HashMap<String, Arc<DeployedHttpApi>>,
    /// JWT authorizers' key sets by issuer (`Vpcgate.Jwks`).
    jwks: BTreeMap<String, serde_json::Value>,
}

impl HttpApis {
    /// Deploys the model's HTTP APIs: every stage with `AutoDeploy` or a `DeploymentId` serves
    /// every route the template declares (as REST stages do, docs/pattern-b-fidelity.md).
    pub fn start(m: &HttpApiModel, region: &str, account: &str) -> Self {
        let mut apis = HashMap::new();
        for api in &m.apis {
            let routes = m
                .routes
                .iter()
                .filter(|r| r.api_id == api.id)
                .map(|r| {
                    Arc::new(HttpRoute {
                        config: r.clone(),
                        integration: r.integration_id.as_ref().and_then(|id| {
                            m.integrations
                                .iter()
                                .find(|i| &i.id == id && i.api_id == api.id)
                                .cloned()
                                .map(Arc::new)
                        }),
                        authorizer: match &r.auth {
                            RouteAuth::Jwt { authorizer_id, .. } => m
                                .authorizers
                                .iter()
                                .find(|a| &a.id == authorizer_id)
                                .cloned()
                                .map(Arc::new),
                            _ => None,
                        },
                    })
                })
                .collect();
            let stages = m
                .stages
                .iter()
                .filter(|s| s.api_id == api.id && (s.auto_deploy || s.deployment_id.is_some()))
                .map(|s| {
                    (
                        s.name.clone(),
                        Arc::new(HttpStage {
                            name: s.name.clone(),
                            variables: s.variables.clone(),
                        }),
                    )
                })
                .collect();
            apis.insert(
                api.id.clone(),
                Arc::new(DeployedHttpApi {
                    config: api.clone(),
                    region: region.to_string(),
                    account: account.to_string(),
                    stages,
                    routes,
                }),
            );
        }
        Self {
            apis,
            jwks: m.jwks.clone(),
        }
    }

    /// The key set of a JWT issuer.
    pub fn jwks(&self, issuer: &str) -> Option<&serde_json::Value> {
        self.jwks.get(issuer)
    }

    /// The HTTP API with this id.
    pub fn get(&self, id: &str) -> Option<Arc<DeployedHttpApi>> {
        self.apis.get(id).cloned()
    }
}

/// What routing found, for the layers (in the request's extensions).
#[derive(Clone, Debug)]
pub struct HttpInvocation {
    /// The API.
    pub api: Arc<DeployedHttpApi>,
    /// The stage.
    pub stage: Arc<HttpStage>,
    /// The matched route.
    pub route: Arc<HttpRoute>,
    /// The path below the stage, as sent (percent-encoded).
    pub path: String,
    /// The route's path variables.
    pub path_params: BTreeMap<String, String>,
    /// Request ids (`apigw-requestid` is `ids.apigw_id`), shared with the answer's headers.
    pub ids: Arc<RequestIds>,
    /// The trace.
    pub trace: Trace,
}

/// `$context` variables the auth layer adds (`authorizer.claims.*`, `identity.*`).
#[derive(Clone, Debug, Default)]
pub struct AuthContext(pub BTreeMap<String, String>);

/// Marks a response as an HTTP API's: header names go out in lower case (Step Functions'
/// `apigateway:invoke` output keeps them so, as the seed prints `server`, `apigw-requestid`,
/// `content-type`).
#[derive(Clone, Copy, Debug)]
pub struct LowercaseHeaders;

/// The layered service inside [`HttpApiService`], kept as its own type (cloned per request
/// without allocating, as `crate::apigw::Inner`).
type Inner = auth::HttpAuth<integration::HttpIntegrationService>;

/// HTTP APIs' data plane as a tower service.
#[derive(Clone)]
pub struct HttpApiService {
    gw: Arc<ApiGateway>,
    inner: Inner,
}

impl fmt::Debug for HttpApiService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpApiService").finish_non_exhaustive()
    }
}

/// The HTTP API data plane of a world's API Gateway.
pub fn service(gw: &Arc<ApiGateway>) -> HttpApiService {
    let inner = ServiceBuilder::new()
        .layer(auth::layer(gw.clone()))
        .service(integration::HttpIntegrationService::new(gw.clone()));
    HttpApiService {
        gw: gw.clone(),
        inner,
    }
}

impl Service<http::Request<Bytes>> for HttpApiService {
    type Response = http::Response<Bytes>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

impl HttpApiService {
    /// Answers one request addressed to an HTTP API.
    pub async fn handle(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        let address = locate(&req);
        self.handle_at(req, address).await
    }

    /// [`Self::handle`] for a request whose address the caller already read ([`locate`]).
    pub async fn handle_at(
        &self,
        mut req: http::Request<Bytes>,
        address: Option<crate::apigw::Address>,
    ) -> http::Response<Bytes> {
        let gw = &self.gw;
        let trace = req.extensions().get::<Trace>().cloned().unwrap_or_default();
        let ids = Arc::new(RequestIds::new(&gw.deps().clock));
        let result = async {
            let address = address.ok_or_else(|| HttpApiError::NoStage {
                api_id: String::new(),
                path: req.uri().path().to_string(),
            })?;
            let api = gw
                .http_api(&address.api_id)
                .ok_or_else(|| HttpApiError::NoStage {
                    api_id: address.api_id.clone(),
                    path: req.uri().path().to_string(),
                })?;
            if api.config.disable_execute_api_endpoint && address.region.is_some() {
                return Err(HttpApiError::EndpointDisabled(api.config.id.clone()));
            }
            // Path form names the stage; host form: a named stage, else $default.
            let (stage, path) = match (&address.region, api.stages.get(&address.stage)) {
                (None, Some(s)) => (s.clone(), address.path.clone()),
                (None, None) => {
                    return Err(HttpApiError::NoStage {
                        api_id: api.config.id.clone(),
                        path: req.uri().path().to_string(),
                    });
                }
                (Some(_), Some(s)) if s.name != "$default" => (s.clone(), address.path.clone()),
                (Some(_), _) => match api.stages.get("$default") {
                    Some(s) => (s.clone(), req.uri().path().to_string()),
                    None => {
                        return Err(HttpApiError::NoStage {
                            api_id: api.config.id.clone(),
                            path: req.uri().path().to_string(),
                        });
                    }
                },
            };
            let path = if path.is_empty() {
                "/".to_string()
            } else {
                path
            };
            trace.info_fmt(
                "apigw",
                format_args!(
                    "{} {} -> http api {} ({}) stage {} (apigw-requestid {})",
                    req.method(),
                    path,
                    api.config.id,
                    api.config.name,
                    stage.name,
                    ids.apigw_id
                ),
            );
            let keys: Vec<&route::RouteKey> = api.routes.iter().map(|r| &r.config.key).collect();
            let matched =
                route::select(&keys, req.method(), &path).ok_or_else(|| HttpApiError::NoRoute {
                    method: req.method().to_string(),
                    path: path.clone(),
                    stage: stage.name.clone(),
                })?;
            let route = api.routes[matched.index].clone();
            trace.pass_fmt(
                "apigw",
                format_args!(
                    "matched route {} (authorization {}, integration {})",
                    route.config.key,
                    route.config.auth.as_str(),
                    route
                        .integration
                        .as_ref()
                        .map(|i| i.connection.to_string())
                        .unwrap_or_else(|| "none".into())
                ),
            );
            req.extensions_mut().insert(Arc::new(HttpInvocation {
                api: api.clone(),
                stage,
                route,
                path,
                path_params: matched.path_params,
                ids: ids.clone(),
                trace: trace.clone(),
            }));
            self.inner.clone().oneshot(req).await
        }
        .await;
        let mut resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let w = wire(&e);
                trace.hop(
                    "apigw",
                    if matches!(e, HttpApiError::Timeout(_) | HttpApiError::Integration(_)) {
                        Verdict::Fail
                    } else {
                        Verdict::Refuse
                    },
                    format!("{e}: {} {}", w.status.as_u16(), w.body),
                );
                w.into_response()
            }
        };
        let len = resp.body().len();
        let h = resp.headers_mut();
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(
            http::header::DATE,
            crate::apigw::date_value(&gw.deps().clock),
        );
        h.insert(
            "apigw-requestid",
            HeaderValue::from_str(&ids.apigw_id).expect("base64"),
        );
        resp.extensions_mut().insert(LowercaseHeaders);
        trace.info_fmt(
            "apigw",
            format_args!(
                "answered {} ({len} bytes) apigw-requestid {}",
                resp.status(),
                ids.apigw_id
            ),
        );
        resp
    }
}

/// Response headers as `{name: [values]}` in the lower case HTTP APIs send, sorted (the order
/// Step Functions' outputs have).
pub fn wire_headers(headers: &http::HeaderMap) -> serde_json::Map<String, serde_json::Value> {
    crate::apigw::header_lists(headers, str::to_owned)
}
