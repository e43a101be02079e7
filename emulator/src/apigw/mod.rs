//! API Gateway REST APIs: the data plane of Pattern B.
//!
//! ```text
//! http::Request ──▶ ApiGatewayService: which API, stage, resource and method (routing)
//!   ──▶ auth::layer: SigV4 (AWS_IAM methods) + execute-api:Invoke (identity and resource policies)
//!   ──▶ timeout::layer: the method's integration timeout (29 s by default), on tokio's clock
//!   ──▶ integration: HTTP_PROXY over a VPC link V2 (ENI in the VPC ─▶ load balancer node) or MOCK
//! ```
//!
//! [`ApiGatewayService`] is a `tower::Service<http::Request<Bytes>>` answering
//! `http::Response<Bytes>`, never an error: every failure is turned into API Gateway's own answer
//! by [`error::wire`]. It understands both ways of naming an API: the host
//! `{api-id}.execute-api.{region}.amazonaws.com` with `/{stage}/{path}`, and the path form
//! `/restapis/{api-id}/{stage}/_user_request_/{path}` that a local endpoint can mount. Step
//! Functions' `apigateway:invoke` task ([`crate::sfn::apigw`]) calls it in memory.
//!
//! Every response carries `x-amzn-RequestId` (a UUID), `x-amz-apigw-id` (16 base64 characters),
//! `Date`, `Content-Length` and `Connection: keep-alive`; `X-Amzn-Trace-Id` goes to the
//! integration, and back to the caller only when the stage has X-Ray tracing on (recorded
//! `HTTP_PROXY` and error responses have none; docs/pattern-b-fidelity.md).

pub mod auth;
pub mod error;
pub mod http_api;
pub mod integration;
pub mod rest_api;
pub mod routing;
pub mod timeout;

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::alb::{ListenerConfig, LoadBalancer};
use crate::authz::Directory;
use crate::clock::Clock;
use crate::iam::{NamedPolicy, Policy, PolicyError, PolicyKind};
use crate::nlb::{NlbListenerConfig, Nlbs};
use crate::trace::{Trace, Verdict};
use crate::vpc::{Eni, EniError, Network};

pub use error::{ApiGatewayError, WireError, wire};
pub use rest_api::{
    ApiGatewayModel, EndpointType, RestApiConfig, StageConfig, VpcLinkConfig, VpcLinkV1Config,
};
pub use routing::{Route, Router};

#[cfg(test)]
mod tests;

/// The DNS suffix of REST API endpoints: `{id}.execute-api.{region}.amazonaws.com`.
pub const EXECUTE_API_DOMAIN: &str = "execute-api";

/// The names of the ids API Gateway answers with (made once, not parsed per answer).
const X_AMZN_REQUESTID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZ_APIGW_ID: HeaderName = HeaderName::from_static("x-amz-apigw-id");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// A deployed stage: what a request to `/{stage}/…` runs against.
#[derive(Debug)]
pub struct DeployedStage {
    /// The API.
    pub api: RestApiConfig,
    /// The stage name.
    pub name: String,
    /// The deployment behind it.
    pub deployment_id: String,
    /// X-Ray tracing (`TracingEnabled`).
    pub tracing_enabled: bool,
    /// Resources and methods.
    pub router: Router,
    /// The API's resource policy, parsed.
    pub resource_policy: Option<NamedPolicy>,
    /// Region of the API.
    pub region: String,
    /// Account owning the API.
    pub account: String,
}

impl DeployedStage {
    /// The `execute-api:Invoke` resource ARN of a request:
    /// `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{VERB}/{path}`
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html>).
    pub fn invoke_arn(&self, verb: &str, path: &str) -> String {
        let parts = [
            "arn:aws:execute-api:",
            &self.region,
            ":",
            &self.account,
            ":",
            &self.api.id,
            "/",
            &self.name,
            "/",
            verb,
            "/",
            path.trim_start_matches('/'),
        ];
        // Joined into one string of the right size (built for every authorized request).
        let mut arn = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        parts.iter().for_each(|p| arn.push_str(p));
        arn
    }
}

/// A VPC link V2 with its network interfaces.
#[derive(Debug)]
pub struct VpcLink {
    /// Its configuration.
    pub config: VpcLinkConfig,
    /// One ENI per subnet, carrying the link's security groups.
    pub enis: Vec<Arc<Eni>>,
}

/// `status` of a VPC link v1 (GetVpcLink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VpcLinkStatus {
    /// `AVAILABLE`: its NLB exists.
    Available,
    /// `FAILED`, with the `statusMessage`.
    Failed {
        /// Why.
        message: String,
    },
}

impl VpcLinkStatus {
    /// `AVAILABLE` / `FAILED`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Failed { .. } => "FAILED",
        }
    }
}

/// A VPC link v1 (`AWS::ApiGateway::VpcLink`): a PrivateLink connection to one NLB.
#[derive(Debug)]
pub struct VpcLinkV1 {
    /// Its configuration.
    pub config: VpcLinkV1Config,
    /// `AVAILABLE` when `TargetArns` names one NLB of the world, else `FAILED`.
    pub status: VpcLinkStatus,
    /// The NLB.
    pub nlb: Option<Arc<crate::nlb::NetworkLoadBalancer>>,
    /// Which NLB node the next connection enters by (PrivateLink spreads them).
    pub next_node: std::sync::atomic::AtomicUsize,
}

/// A load balancer an integration names (`IntegrationTarget`), resolved when the world starts.
#[derive(Debug)]
pub struct IntegrationTarget {
    /// The load balancer's name.
    pub load_balancer: String,
    /// Its DNS name.
    pub dns_name: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its nodes (one ENI per subnet).
    pub nodes: Vec<Arc<Eni>>,
    /// The listener's port when the target is a listener ARN.
    pub listener_port: Option<u16>,
}

/// Why API Gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A VPC link's ENI could not be made.
    #[error("vpc link {link}: {source}")]
    Eni {
        /// The VPC link id.
        link: String,
        /// Why.
        #[source]
        source: EniError,
    },
    /// A resource policy did not parse (the scenario checks it first).
    #[error("rest api {api}: resource policy: {source}")]
    Policy {
        /// The API id.
        api: String,
        /// Why.
        #[source]
        source: PolicyError,
    },
}

/// What API Gateway's data plane is handed by the composition root ([`crate::world`] builds it):
/// the clock, IAM, the network its VPC links' ENIs live in, the AWS side's TLS client, and the
/// Region and account its APIs belong to. Cloned once when the world starts; a request reaches
/// it through the one `Arc<ApiGateway>` its service holds.
#[derive(Clone, Debug)]
pub struct Deps {
    /// The world's clock.
    pub clock: Clock,
    /// IAM: signing keys, principals and policies.
    pub iam: Arc<Directory>,
    /// The virtual network.
    pub net: Network,
    /// The TLS client configuration of the AWS side (the emulated public roots).
    pub tls_client: Arc<rustls::ClientConfig>,
    /// The Region of the APIs.
    pub region: String,
    /// The account owning the APIs.
    pub account: String,
}

/// The running load balancers integrations may target, and their listeners.
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    /// Application Load Balancers.
    pub load_balancers: &'a [LoadBalancer],
    /// Their listeners.
    pub listeners: &'a [ListenerConfig],
    /// Network Load Balancers.
    pub nlbs: &'a Nlbs,
    /// Their listeners.
    pub nlb_listeners: &'a [NlbListenerConfig],
}

/// The running API Gateway of a world: deployed stages and VPC links, and the handles its data
/// plane runs on ([`Deps`]).
#[derive(Debug)]
pub struct ApiGateway {
    deps: Deps,
    /// Deployed stages by API id, then stage name (looked up without building a key).
    stages: HashMap<String, HashMap<String, Arc<DeployedStage>>>,
    apis: HashMap<String, RestApiConfig>,
    authorizers: Vec<rest_api::AuthorizerConfig>,
    vpc_links: HashMap<String, Arc<VpcLink>>,
    vpc_links_v1: HashMap<String, Arc<VpcLinkV1>>,
    targets: HashMap<String, Arc<IntegrationTarget>>,
    http: http_api::HttpApis,
}

impl ApiGateway {
    /// Creates the VPC links' ENIs and deploys every stage of `gw`; integrations may target the
    /// running load balancers of `lbs`.
    pub fn start(deps: Deps, gw: &ApiGatewayModel, lbs: Targets<'_>) -> Result<Self, StartError> {
        let net = &deps.net;
        let mut vpc_links = HashMap::new();
        for link in &gw.vpc_links {
            let mut enis = Vec::new();
            for subnet in &link.subnet_ids {
                let eni = net
                    .create_eni(
                        subnet,
                        link.security_groups.clone(),
                        format!("API Gateway VPC link {}", link.id),
                    )
                    .map_err(|source| StartError::Eni {
                        link: link.id.clone(),
                        source,
                    })?;
                enis.push(eni);
            }
            vpc_links.insert(
                link.id.clone(),
                Arc::new(VpcLink {
                    config: link.clone(),
                    enis,
                }),
            );
        }
        // ALBs and NLBs alike: a VPC link V2 reaches an NLB's listeners as it reaches an ALB's
        // (HTTP APIs' `IntegrationUri`, REST APIs' `IntegrationTarget`).
        let mut targets = HashMap::new();
        let albs = lbs.load_balancers.iter().map(|lb| {
            let ports = lbs
                .listeners
                .iter()
                .filter(|l| l.load_balancer_arn == lb.config.arn);
            (
                (&lb.config.arn, &lb.config.name, &lb.config.dns_name),
                (&lb.config.vpc_id, &lb.nodes),
                ports.map(|l| (&l.arn, l.port)).collect::<Vec<_>>(),
            )
        });
        let nlbs = lbs.nlbs.all().map(|lb| {
            let ports = lbs
                .nlb_listeners
                .iter()
                .filter(|l| l.load_balancer_arn == lb.config.arn);
            (
                (&lb.config.arn, &lb.config.name, &lb.config.dns_name),
                (&lb.config.vpc_id, &lb.nodes),
                ports.map(|l| (&l.arn, l.port)).collect::<Vec<_>>(),
            )
        });
        for ((arn, name, dns_name), (vpc_id, nodes), listeners) in albs.chain(nlbs) {
            let target = |listener_port| {
                Arc::new(IntegrationTarget {
                    load_balancer: name.clone(),
                    dns_name: dns_name.clone(),
                    vpc_id: vpc_id.clone(),
                    nodes: nodes.clone(),
                    listener_port,
                })
            };
            targets.insert(arn.clone(), target(None));
            for (listener_arn, port) in listeners {
                targets.insert(listener_arn.clone(), target(Some(port)));
            }
        }
        // VPC links v1: AVAILABLE when their one target is an NLB of this world.
        // unconfirmed: the exact statusMessage texts of a FAILED link.
        let mut vpc_links_v1 = HashMap::new();
        for link in &gw.vpc_links_v1 {
            let nlb = link.target_arns.first().and_then(|a| lbs.nlbs.get(a));
            let status = match (&nlb, link.target_arns.first()) {
                (Some(_), _) => VpcLinkStatus::Available,
                (None, Some(arn)) if arn.contains(":loadbalancer/app/") => VpcLinkStatus::Failed {
                    message: format!("NLB ARN is malformed or not a network load balancer: {arn}"),
                },
                (None, Some(arn)) => VpcLinkStatus::Failed {
                    message: format!("NLB {arn} was not found"),
                },
                (None, None) => VpcLinkStatus::Failed {
                    message: "No target NLB ARN was given".into(),
                },
            };
            vpc_links_v1.insert(
                link.id.clone(),
                Arc::new(VpcLinkV1 {
                    config: link.clone(),
                    status,
                    nlb,
                    next_node: std::sync::atomic::AtomicUsize::new(0),
                }),
            );
        }
        let mut stages = HashMap::new();
        let mut apis = HashMap::new();
        for api in &gw.rest_apis {
            apis.insert(api.id.clone(), api.clone());
            let resource_policy = match &api.policy {
                None => None,
                Some(doc) => Some(NamedPolicy::new(
                    format!("{} resource policy", api.name),
                    Policy::parse(doc, PolicyKind::ResourceBased).map_err(|source| {
                        StartError::Policy {
                            api: api.id.clone(),
                            source,
                        }
                    })?,
                )),
            };
            let mut named: Vec<(String, String, bool)> = gw
                .stages
                .iter()
                .filter(|s| s.rest_api_id == api.id)
                .map(|s| (s.name.clone(), s.deployment_id.clone(), s.tracing_enabled))
                .collect();
            named.extend(
                gw.deployments
                    .iter()
                    .filter(|d| d.rest_api_id == api.id)
                    .filter_map(|d| d.stage_name.clone().map(|n| (n, d.id.clone(), false))),
            );
            for (name, deployment_id, tracing_enabled) in named {
                // fidelity: a deployment is a snapshot of the API when it was created; vpcgate
                // deploys the methods the whole template declares (CloudFormation creates the
                // deployment after its DependsOn methods; see docs/pattern-b-fidelity.md).
                let stage = DeployedStage {
                    api: api.clone(),
                    name: name.clone(),
                    deployment_id,
                    tracing_enabled,
                    router: Router::new(gw, &api.id),
                    resource_policy: resource_policy.clone(),
                    region: deps.region.clone(),
                    account: deps.account.clone(),
                };
                stages
                    .entry(api.id.clone())
                    .or_insert_with(HashMap::new)
                    .insert(name, Arc::new(stage));
            }
        }
        let http = http_api::HttpApis::start(&gw.http, &deps.region, &deps.account);
        Ok(Self {
            deps,
            stages,
            apis,
            authorizers: gw.authorizers.clone(),
            vpc_links,
            vpc_links_v1,
            targets,
            http,
        })
    }

    /// The handles the data plane runs on.
    pub fn deps(&self) -> &Deps {
        &self.deps
    }

    /// The authorizer `id` of the REST API `rest_api_id`.
    pub fn authorizer(&self, rest_api_id: &str, id: &str) -> Option<&rest_api::AuthorizerConfig> {
        self.authorizers
            .iter()
            .find(|a| a.rest_api_id == rest_api_id && a.id == id)
    }

    /// The deployed stage.
    pub fn stage(&self, api_id: &str, stage: &str) -> Option<Arc<DeployedStage>> {
        self.stages.get(api_id)?.get(stage).cloned()
    }

    /// The REST API with this id.
    pub fn api(&self, api_id: &str) -> Option<&RestApiConfig> {
        self.apis.get(api_id)
    }

    /// The HTTP API (v2) with this id.
    pub fn http_api(&self, api_id: &str) -> Option<Arc<http_api::DeployedHttpApi>> {
        self.http.get(api_id)
    }

    /// The HTTP APIs (v2).
    pub fn http_apis(&self) -> &http_api::HttpApis {
        &self.http
    }

    /// A VPC link.
    pub fn vpc_link(&self, id: &str) -> Option<Arc<VpcLink>> {
        self.vpc_links.get(id).cloned()
    }

    /// A VPC link v1.
    pub fn vpc_link_v1(&self, id: &str) -> Option<Arc<VpcLinkV1>> {
        self.vpc_links_v1.get(id).cloned()
    }

    /// Every VPC link v1, by id.
    pub fn vpc_links_v1(&self) -> Vec<Arc<VpcLinkV1>> {
        let mut v: Vec<Arc<VpcLinkV1>> = self.vpc_links_v1.values().cloned().collect();
        v.sort_by(|a, b| a.config.id.cmp(&b.config.id));
        v
    }

    /// The load balancer behind an `IntegrationTarget` ARN.
    pub fn target(&self, arn: &str) -> Option<Arc<IntegrationTarget>> {
        self.targets.get(arn).cloned()
    }
}

/// The identifiers API Gateway gives one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestIds {
    /// `x-amzn-RequestId`: a UUID.
    pub request_id: String,
    /// `x-amz-apigw-id` (the extended request id): 16 base64 characters ending in `=`, as in the
    /// recorded `e5Nw0iQQtjMEJUA=`.
    pub apigw_id: String,
    /// `X-Amzn-Trace-Id`: `Root=1-{epoch seconds, 8 hex}-{24 hex}`.
    pub trace_id: String,
    /// When the request came, on the world's clock: the one reading the ids, the request's
    /// IAM context (`aws:CurrentTime`) and its credentials' expiry check share.
    pub received: std::time::SystemTime,
}

impl RequestIds {
    /// Fresh ids at the clock's time.
    pub fn new(clock: &Clock) -> Self {
        let received = clock.now();
        let secs = received
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        // One draw of the thread's generator for all three: 16 bytes of UUID (122 random bits
        // once the version and variant are set), 11 for the extended id, 12 for the trace root.
        let mut random = [0u8; 39];
        ID_RNG.with_borrow_mut(|rng| rand::RngCore::fill_bytes(rng, &mut random));
        let (uuid, rest) = random.split_at(16);
        let (apigw, root) = rest.split_at(11);
        let uuid = uuid::Builder::from_random_bytes(uuid.try_into().expect("16 bytes")).into_uuid();
        let request_id = uuid
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .to_owned();
        // `Root=1-{epoch seconds, 8 hex}-{24 hex}`, written into one buffer.
        let mut trace_id = [0u8; TRACE_ID_LEN];
        trace_id[..7].copy_from_slice(b"Root=1-");
        let secs = u32::try_from(secs).unwrap_or(u32::MAX).to_be_bytes();
        let hex_ok = hex::encode_to_slice(secs, &mut trace_id[7..15]).is_ok()
            && hex::encode_to_slice(root, &mut trace_id[16..]).is_ok();
        trace_id[15] = b'-';
        let mut apigw_id = [0u8; 16];
        let b64_ok = base64::engine::general_purpose::STANDARD
            .encode_slice(apigw, &mut apigw_id)
            .is_ok_and(|n| n == apigw_id.len());
        debug_assert!(hex_ok && b64_ok);
        Self {
            request_id,
            apigw_id: String::from_utf8_lossy(&apigw_id).into_owned(),
            trace_id: String::from_utf8_lossy(&trace_id).into_owned(),
            received,
        }
    }
}

thread_local! {
    /// The request ids' generator: a fast per-thread one seeded from the OS (request ids need
    /// to be unique, not secret; `rand::random`'s ChaCha and uuid's `new_v4`, which asks the OS
    /// each time, were a visible part of a request).
    static ID_RNG: std::cell::RefCell<rand::rngs::SmallRng> =
        std::cell::RefCell::new(rand::SeedableRng::from_os_rng());
}

/// `Root=1-`, 8 hex digits, `-` and 24 hex digits.
const TRACE_ID_LEN: usize = 40;

/// What the routing step found, handed to the layers in the request's extensions.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The stage.
    pub stage: Arc<DeployedStage>,
    /// The matched method.
    pub route: Route,
    /// The path below the stage (`/` for the root).
    pub path: String,
    /// The request ids (shared with the answer's headers).
    pub ids: Arc<RequestIds>,
    /// The request's trace.
    pub trace: Trace,
}

/// The layered service inside [`ApiGatewayService`]: auth, time-out, integration. Kept as its
/// own type, not boxed: each request clones it (its layers hold `Arc`s, so the clone allocates
/// nothing, where a boxed service allocates its clone and boxes each layer's future once more).
pub type Inner = auth::Auth<timeout::IntegrationTimeout<integration::IntegrationService>>;

/// What a layer of [`ApiGatewayService`] answers with.
pub type LayerFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, ApiGatewayError>> + Send>>;

/// A request to the data plane.
pub type Request = http::Request<Bytes>;
/// A response of the data plane.
pub type Response = http::Response<Bytes>;

/// The service a layer wraps: the next layer, or the integration.
pub trait Next:
    Service<Request, Response = Response, Error = ApiGatewayError, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> Next for S where
    S: Service<Request, Response = Response, Error = ApiGatewayError, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// API Gateway's data plane as a tower service (see the module docs).
#[derive(Clone)]
pub struct ApiGatewayService {
    gw: Arc<ApiGateway>,
    inner: Inner,
    /// HTTP APIs' data plane, built once with this one (it shares the addresses).
    http: http_api::HttpApiService,
}

impl fmt::Debug for ApiGatewayService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiGatewayService").finish_non_exhaustive()
    }
}

/// The data plane of a world's API Gateway.
pub fn service(gw: &Arc<ApiGateway>) -> ApiGatewayService {
    let inner = ServiceBuilder::new()
        .layer(auth::layer(gw.clone()))
        .layer(timeout::layer())
        .service(integration::IntegrationService::new(gw.clone()));
    ApiGatewayService {
        gw: gw.clone(),
        inner,
        http: http_api::service(gw),
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl Service<http::Request<Bytes>> for ApiGatewayService {
    type Response = http::Response<Bytes>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Bytes>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

/// Where a request is addressed: API id, region (host form only), stage, and the path below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The API id.
    pub api_id: String,
    /// The region named by the host, if the host names one.
    pub region: Option<String>,
    /// The stage.
    pub stage: String,
    /// The path below the stage, starting with `/`.
    pub path: String,
}

/// Reads the API, stage and path from the Host header (or URI authority) and the path.
pub fn locate(req: &http::Request<Bytes>) -> Option<Address> {
    let path = req.uri().path();
    // /restapis/{id}/{stage}/_user_request_/{path}
    if let Some(rest) = path.strip_prefix("/restapis/") {
        let mut parts = rest.splitn(4, '/');
        let api_id = parts.next()?.to_string();
        let stage = parts.next()?.to_string();
        if parts.next()? != "_user_request_" {
            return None;
        }
        let below = format!("/{}", parts.next().unwrap_or(""));
        return Some(Address {
            api_id,
            region: None,
            stage,
            path: below,
        });
    }
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())?;
    let host = host.split(':').next().unwrap_or(host);
    // Lower-cased only when it is not already (a client's Host nearly always is).
    let host: std::borrow::Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        host.to_ascii_lowercase().into()
    } else {
        host.into()
    };
    let mut labels = host.split('.');
    let api_id = labels.next()?.to_string();
    if labels.next()? != EXECUTE_API_DOMAIN {
        return None;
    }
    let region = labels.next()?.to_string();
    // Exactly `amazonaws.com` after the region.
    if (labels.next(), labels.next(), labels.next()) != (Some("amazonaws"), Some("com"), None) {
        return None;
    }
    let trimmed = path.trim_start_matches('/');
    let (stage, below) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    Some(Address {
        api_id,
        region: Some(region),
        stage: stage.to_string(),
        path: format!("/{below}"),
    })
}

impl ApiGatewayService {
    /// Answers one request (what [`Service::call`] does).
    pub async fn handle(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        let address = locate(&req);
        self.handle_at(req, address).await
    }

    /// [`Self::handle`] for a request whose address the caller already read ([`locate`]).
    pub async fn handle_at(
        &self,
        mut req: http::Request<Bytes>,
        address: Option<Address>,
    ) -> http::Response<Bytes> {
        let gw = &self.gw;
        // HTTP APIs (v2) share the addresses; their own data plane answers them.
        if address
            .as_ref()
            .is_some_and(|a| gw.http_api(&a.api_id).is_some())
        {
            return self.http.handle_at(req, address).await;
        }
        let trace = req.extensions().get::<Trace>().cloned().unwrap_or_default();
        let ids = Arc::new(RequestIds::new(&gw.deps.clock));
        let mut tracing_enabled = false;
        let result = async {
            let address = address.ok_or_else(|| ApiGatewayError::NoApi {
                host: req
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
                path: req.uri().path().to_string(),
            })?;
            let known = gw.api(&address.api_id).is_some()
                && address.region.as_ref().is_none_or(|r| *r == gw.deps.region);
            if !known {
                return Err(ApiGatewayError::UnknownApi {
                    api_id: address.api_id,
                    region: address.region.unwrap_or_default(),
                });
            }
            let stage = gw.stage(&address.api_id, &address.stage).ok_or_else(|| {
                ApiGatewayError::UnknownStage {
                    api_id: address.api_id.clone(),
                    stage: address.stage.clone(),
                }
            })?;
            tracing_enabled = stage.tracing_enabled;
            trace.info_fmt(
                "apigw",
                format_args!(
                    "{} {} -> rest api {} ({}, {}) stage {} (request id {})",
                    req.method(),
                    address.path,
                    stage.api.id,
                    stage.api.name,
                    stage.api.endpoint_type.as_str(),
                    stage.name,
                    ids.request_id
                ),
            );
            // PRIVATE APIs answer only through an execute-api interface endpoint; through such
            // an endpoint only PRIVATE APIs answer (crate::ec2::endpoint, docs/vpc-clients.md).
            let vpce = req
                .extensions()
                .get::<crate::ec2::Arrival>()
                .and_then(|a| a.vpce_id().map(str::to_string));
            match (stage.api.endpoint_type == EndpointType::Private, vpce) {
                (true, None) => {
                    return Err(ApiGatewayError::PrivateApi {
                        api_id: stage.api.id.clone(),
                    });
                }
                (false, Some(vpce_id)) => {
                    return Err(ApiGatewayError::PublicApiThroughEndpoint {
                        api_id: stage.api.id.clone(),
                        vpce_id,
                    });
                }
                (true, Some(vpce_id)) => trace.pass_fmt(
                    "apigw",
                    format_args!("private api {} reached through {vpce_id}", stage.api.id),
                ),
                (false, None) => {}
            }
            let route = stage
                .router
                .route(req.method(), &address.path)
                .ok_or_else(|| ApiGatewayError::NoRoute {
                    method: req.method().to_string(),
                    path: address.path.clone(),
                    stage: stage.name.clone(),
                })?;
            trace.pass_fmt(
                "apigw",
                format_args!(
                    "matched resource {} method {} (authorization {}, integration {})",
                    route.resource_path,
                    route.method.http_method,
                    route.method.authorization.as_str(),
                    route
                        .method
                        .integration
                        .as_ref()
                        .map(|i| i.kind.type_name())
                        .unwrap_or("none")
                ),
            );
            req.extensions_mut().insert(Arc::new(Invocation {
                stage,
                route,
                path: address.path,
                ids: ids.clone(),
                trace: trace.clone(),
            }));
            self.inner.clone().oneshot(req).await
        }
        .await;
        let (mut resp, ok) = match result {
            Ok(resp) => (resp, true),
            Err(e) => {
                let w = wire(&e);
                trace.hop(
                    "apigw",
                    if matches!(e, ApiGatewayError::Timeout(_)) {
                        Verdict::Fail
                    } else {
                        Verdict::Refuse
                    },
                    format!("{e}: {} {} {}", w.status.as_u16(), w.error_type, w.body),
                );
                (w.into_response(), false)
            }
        };
        let len = resp.body().len();
        let headers_mut = resp.headers_mut();
        headers_mut.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        headers_mut.insert(http::header::DATE, date_value(&gw.deps.clock));
        headers_mut.insert(
            http::header::CONNECTION,
            HeaderValue::from_static("keep-alive"),
        );
        headers_mut.insert(
            X_AMZN_REQUESTID,
            HeaderValue::from_str(&ids.request_id).expect("uuid"),
        );
        headers_mut.insert(
            X_AMZ_APIGW_ID,
            HeaderValue::from_str(&ids.apigw_id).expect("base64"),
        );
        if ok && tracing_enabled {
            headers_mut.insert(
                X_AMZN_TRACE_ID,
                HeaderValue::from_str(&ids.trace_id).expect("ascii"),
            );
        }
        trace.info_fmt(
            "apigw",
            format_args!(
                "answered {} ({} bytes) x-amzn-RequestId {} x-amz-apigw-id {}",
                crate::trace::StatusText(resp.status()),
                len,
                ids.request_id,
                ids.apigw_id
            ),
        );
        resp
    }
}

/// An HTTP date on the world's clock (`Sun, 14 Jun 2026 03:00:00 GMT`).
pub fn http_date(clock: &Clock) -> String {
    crate::sigv4::format_http_date(clock.now())
}

/// [`http_date`] as a header value, which takes the text's own bytes (no copy).
pub(crate) fn date_value(clock: &Clock) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(http_date(clock))).expect("ascii date")
}

/// The headers of an API's answer as a client sees them: an HTTP API's (marked
/// [`http_api::LowercaseHeaders`]) with the lower-case names it sends (seed 000: `server`,
/// `apigw-requestid`, `content-type`), a REST API's in API Gateway's mixed case ([`wire_headers`]).
pub fn answer_headers<B>(resp: &http::Response<B>) -> serde_json::Map<String, serde_json::Value> {
    if resp
        .extensions()
        .get::<http_api::LowercaseHeaders>()
        .is_some()
    {
        http_api::wire_headers(resp.headers())
    } else {
        wire_headers(resp.headers())
    }
}

/// Response headers as `{name as sent: [values]}`, names in API Gateway's case ([`wire_name`]) and
/// sorted case-insensitively, the order Step Functions' recorded `apigateway:invoke` outputs show
/// (`Connection`, `Content-Length`, `Content-Type`, `Date`, …, `x-amz-apigw-id`, …,
/// `x-amzn-RequestId`).
pub fn wire_headers(headers: &http::HeaderMap) -> serde_json::Map<String, serde_json::Value> {
    header_lists(headers, |name| {
        let mut out = String::with_capacity(name.len());
        write_wire_name(name, &mut out);
        out
    })
}

/// Each distinct header name once, sorted, named by `key`, with its values in the order they
/// came, as the output's map: built member by member (no intermediate list of values per
/// name), from one pass over the map (no look-up of each name again). The `http` crate keeps
/// names in lower case, so they sort as API Gateway's wire names do without regard to case
/// (REST APIs' [`wire_headers`], HTTP APIs' `http_api::wire_headers`).
pub(crate) fn header_lists(
    headers: &http::HeaderMap,
    key: impl Fn(&str) -> String,
) -> serde_json::Map<String, serde_json::Value> {
    /// Values sorted on the stack up to this many (an answer has about ten).
    const ON_STACK: usize = 32;
    type Pair<'a> = Option<(&'a HeaderName, &'a HeaderValue)>;
    let mut stack: [Pair<'_>; ON_STACK] = [None; ON_STACK];
    let mut heap: Vec<Pair<'_>>;
    // A name's values come together from the map, in the order they came.
    let pairs: &mut [Pair<'_>] = if headers.len() <= ON_STACK {
        let n = headers.len();
        for (slot, pair) in stack.iter_mut().zip(headers.iter()) {
            *slot = Some(pair);
        }
        &mut stack[..n]
    } else {
        heap = headers.iter().map(Some).collect();
        &mut heap
    };
    // Stable: a name's values keep their order.
    pairs.sort_by_key(|p| p.map(|(n, _)| n.as_str()));
    let mut out = serde_json::Map::with_capacity(headers.keys_len());
    let mut rest = &pairs[..];
    while let Some(Some((name, _))) = rest.first() {
        let run = rest
            .iter()
            .take_while(|p| p.is_some_and(|(n, _)| n == *name))
            .count();
        let mut values = Vec::with_capacity(run);
        values.extend(rest[..run].iter().flatten().map(|(_, v)| value_text(v)));
        out.insert(key(name.as_str()), serde_json::Value::Array(values));
        rest = &rest[run..];
    }
    out
}

/// A header value as the output's text: as it is when it is visible ASCII (nearly always),
/// else with invalid UTF-8 replaced.
fn value_text(v: &HeaderValue) -> serde_json::Value {
    serde_json::Value::String(match v.to_str() {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
    })
}

/// The case API Gateway writes a header name in on HTTP/1.1 (the `http` crate keeps names in
/// lower case): its own headers as recorded (`x-amzn-RequestId`, `x-amz-apigw-id`,
/// `x-amzn-ErrorType`, `X-Amzn-Trace-Id`, `x-amzn-Remapped-…`), others in the usual Title-Case
/// (`Content-Type`), which is how the ALB and most backends send them.
pub fn wire_name(name: &HeaderName) -> String {
    let mut out = String::with_capacity(name.as_str().len());
    write_wire_name(name.as_str(), &mut out);
    out
}

/// [`wire_name`] of a lower-case `name`, appended to `out` (one string for a remapped name
/// and the name it remaps).
fn write_wire_name(name: &str, out: &mut String) {
    let fixed = match name {
        "x-amzn-requestid" => "x-amzn-RequestId",
        "x-amz-apigw-id" => "x-amz-apigw-id",
        "x-amzn-errortype" => "x-amzn-ErrorType",
        "x-amzn-trace-id" => "X-Amzn-Trace-Id",
        "www-authenticate" => "WWW-Authenticate",
        "content-md5" => "Content-MD5",
        "te" => "TE",
        _ => "",
    };
    if !fixed.is_empty() {
        out.push_str(fixed);
        return;
    }
    const REMAPPED: &str = "x-amzn-remapped-";
    if let Some(rest) = name.strip_prefix(REMAPPED) {
        out.push_str("x-amzn-Remapped-");
        return write_wire_name(rest, out);
    }
    // Title-Case: the first letter and each one after a `-` in upper case, in place.
    let base = out.len();
    out.push_str(name);
    let mut at_start = true;
    for (i, b) in name.bytes().enumerate() {
        if at_start && b.is_ascii_lowercase() {
            out[base + i..base + i + 1].make_ascii_uppercase();
        }
        at_start = b == b'-';
    }
}

#[cfg(test)]
mod answer_header_tests {
    use super::*;
    use serde_json::json;

    /// An answer's headers as Step Functions' `apigateway:invoke` output shows them (the
    /// recorded order and case, docs/pattern-b-fidelity.md): sorted without regard to case, API
    /// Gateway's own names in their recorded case, `x-amzn-Remapped-` before the backend's name
    /// in Title-Case, repeated headers as one list in arrival order, bytes that are no UTF-8
    /// replaced; HTTP APIs keep the lower-case names.
    #[test]
    fn answer_headers_keep_the_recorded_names_order_and_values() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("x-amzn-requestid", &b"6f1c"[..]),
            ("date", b"Sun, 14 Jun 2026 03:00:00 GMT"),
            ("x-amzn-remapped-content-length", b"39"),
            ("set-cookie", b"a=1"),
            ("content-type", b"application/json; charset=utf-8"),
            ("x-amz-apigw-id", b"e5Nw0iQQtjMEJUA="),
            ("set-cookie", b"b=2"),
            ("x-amzn-trace-id", b"Root=1-x"),
            ("x-custom--name", b"caf\xe9"),
            ("te", b"trailers"),
            ("x-amzn-remapped-www-authenticate", b"Basic"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let rest = serde_json::Value::Object(wire_headers(&headers));
        assert_eq!(
            serde_json::to_string(&rest).unwrap(),
            serde_json::to_string(&json!({
                "Content-Type": ["application/json; charset=utf-8"],
                "Date": ["Sun, 14 Jun 2026 03:00:00 GMT"],
                "Set-Cookie": ["a=1", "b=2"],
                "TE": ["trailers"],
                "x-amz-apigw-id": ["e5Nw0iQQtjMEJUA="],
                "x-amzn-Remapped-Content-Length": ["39"],
                "x-amzn-Remapped-WWW-Authenticate": ["Basic"],
                "x-amzn-RequestId": ["6f1c"],
                "X-Amzn-Trace-Id": ["Root=1-x"],
                "X-Custom--Name": ["caf\u{fffd}"],
            }))
            .unwrap()
        );
        let http_api = serde_json::Value::Object(http_api::wire_headers(&headers));
        let names: Vec<&String> = http_api.as_object().unwrap().keys().collect();
        assert_eq!(
            names,
            [
                "content-type",
                "date",
                "set-cookie",
                "te",
                "x-amz-apigw-id",
                "x-amzn-remapped-content-length",
                "x-amzn-remapped-www-authenticate",
                "x-amzn-requestid",
                "x-amzn-trace-id",
                "x-custom--name"
            ]
        );
        assert_eq!(
            wire_name(&HeaderName::from_static("content-md5")),
            "Content-MD5"
        );
    }
}
