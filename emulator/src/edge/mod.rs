//! `vpcgate serve`: AWS's wire protocols on one host listener, for real clients.
//!
//! One listener (default `127.0.0.1:4566`) serves, by AWS's own protocol rules:
//! - Step Functions (`awsJson1_0`, `X-Amz-Target: AWSStepFunctions.<Operation>`) — [`sfn_api`];
//! - EventBridge connections (`awsJson1_1`, `X-Amz-Target: AWSEvents.<Operation>`) — [`events_api`];
//! - CloudFormation (the query protocol: a form-encoded `Action=…&Version=2010-05-15`, XML
//!   answers) — [`cfn_api`], [`query`];
//! - Secrets Manager (`awsJson1_1`, `X-Amz-Target: secretsmanager.<Operation>`) — [`secrets_api`];
//! - vpcgate's own endpoints under `/_vpcgate/` (health, the emulated root CA, the world's summary,
//!   reset, and the trace viewer with its feed — [`ui`]).
//!
//! Credentials follow local AWS emulators' conventions (README, "Credentials, accounts and
//! Regions"): keys whose secret vpcgate knows (`test` / `test`, AWS's example key, the scenario
//! users') are SigV4-verified on the world's clock and authorized with IAM for users; any other key
//! is the root of its account (a 12-digit key id names it, [`account_of_key`]) unless
//! [`UnknownKeys::Refuse`]. The credential scope's Region and the key's account select a [`Scope`];
//! the edge keeps a [`ScopeState`] per scope beside the world, which a reset ([`Edge::reset`])
//! rebuilds. `--no-sigv4` accepts unsigned requests. StartSyncExecution is answered whatever the
//! Host header (botocore sends it to `sync-<host>`).

pub mod apigw_api;
pub mod apigwv2_api;
pub mod cfn_api;
mod components;
pub mod events_api;
pub mod events_bus_api;
pub mod query;
pub mod secrets_api;
pub mod sfn_api;
pub mod sfn_error;
pub mod sfn_map_run_api;
pub mod ui;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::iam::{DenialFormat, Principal, RequestContext};
use crate::model::StateMachine;
use crate::sfn::execution::Executions;
use crate::sigv4::{self, SigV4Error};
use crate::world::World;
use wire::{Body, JsonError};

/// Largest request body accepted (Step Functions inputs are at most 256 KiB; API Gateway 10 MB).
const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// How `serve` checks callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Verify SigV4 and authorize with IAM (the default).
    #[default]
    Verify,
    /// Accept any request as the account root (`--no-sigv4`).
    Off,
}

/// How the control-plane APIs (Step Functions, EventBridge, API Gateway's control plane) treat an
/// access key vpcgate holds no secret for: not the example root key, not `test`, not a scenario
/// user's. The data planes (API Gateway, Lattice) always refuse such a key, as AWS does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownKeys {
    /// Accepted as the root of its account (a 12-digit key id names the account, any other key
    /// the default one); the signature cannot be checked. What local AWS emulators do.
    #[default]
    AcceptAsRoot,
    /// Refused as AWS refuses them: `UnrecognizedClientException` (`serve --strict-credentials`).
    Refuse,
}

/// An (account, Region) pair: where a request's resources live. The credential scope of a
/// signed request names the Region; the access key the account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    /// The 12-digit account id.
    pub account: String,
    /// The Region (`us-east-1`).
    pub region: String,
}

impl Scope {
    /// The scope of an account and Region.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }

    /// The scope the world (the scenario or stacks) lives in.
    pub fn of_world(world: &World) -> Self {
        Self::new(&world.model.account, &world.model.region)
    }

    /// Whether this is [`Scope::of_world`] (compared in place, without making that scope).
    pub fn is_world(&self, world: &World) -> bool {
        self.account == world.model.account && self.region == world.model.region
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
}

/// Whether `region` has a Region name's shape (`us-east-1`, `ap-northeast-1`, `us-gov-west-1`):
/// lower-case words joined by `-`, the last one a number. AWS answers any other credential scope
/// "Credential should be scoped to a valid region".
pub fn valid_region(region: &str) -> bool {
    // Read in place (every signed JSON request checks its scope's Region): the words before
    // the last `-`, then the number after it.
    let Some((words, number)) = region.rsplit_once('-') else {
        return false;
    };
    region.len() <= 32
        && words.split('-').count() >= 2
        && words
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The account an access key id names when vpcgate holds no secret for it: a 12-digit key id
/// is the account id itself (LocalStack's convention,
/// <https://docs.localstack.cloud/references/credentials/>); any other key the default account.
pub fn account_of_key(access_key_id: &str) -> Option<&str> {
    (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then_some(access_key_id)
}

/// A state machine known to `serve`: the scenario's, or one created through the API.
#[derive(Clone, Debug)]
pub struct StateMachineEntry {
    /// The state machine.
    pub machine: StateMachine,
    /// `creationDate`.
    pub created: SystemTime,
    /// Description, logging, tracing … as sent to CreateStateMachine.
    pub extra: Value,
}

/// A scope's state machines by ARN, with a version that every write changes (so the executions'
/// store learns the list again only when it changed: [`Executions::know_machines_of`]).
#[derive(Debug)]
pub struct StateMachines {
    map: RwLock<BTreeMap<String, StateMachineEntry>>,
    version: std::sync::atomic::AtomicU64,
}

impl Default for StateMachines {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl StateMachines {
    fn new(map: BTreeMap<String, StateMachineEntry>) -> Self {
        Self {
            map: RwLock::new(map),
            version: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// The machines, to read.
    pub fn read(
        &self,
    ) -> std::sync::LockResult<std::sync::RwLockReadGuard<'_, BTreeMap<String, StateMachineEntry>>>
    {
        self.map.read()
    }

    /// The machines, to change: the version moves on when the guard is dropped, while the
    /// lock is still held (a reader that sees the new version then reads the new list).
    pub fn write(&self) -> std::sync::LockResult<StateMachinesMut<'_>> {
        let wrap = |guard| StateMachinesMut {
            guard,
            version: &self.version,
        };
        match self.map.write() {
            Ok(guard) => Ok(wrap(guard)),
            Err(poisoned) => Err(std::sync::PoisonError::new(wrap(poisoned.into_inner()))),
        }
    }

    /// The version of the list (never 0; changed by every [`StateMachines::write`]).
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// [`StateMachines::write`]'s guard.
pub struct StateMachinesMut<'a> {
    guard: std::sync::RwLockWriteGuard<'a, BTreeMap<String, StateMachineEntry>>,
    version: &'a std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for StateMachinesMut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachinesMut").finish_non_exhaustive()
    }
}

impl Drop for StateMachinesMut<'_> {
    fn drop(&mut self) {
        // Runs before the guard (a field) is dropped: under the write lock.
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl std::ops::Deref for StateMachinesMut<'_> {
    type Target = BTreeMap<String, StateMachineEntry>;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl std::ops::DerefMut for StateMachinesMut<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

/// What the APIs hold in one (account, Region): its state machines, their executions, and when
/// its connections were made (the connections themselves are in the world's registry, keyed by
/// account and Region, so the world's HTTP Tasks find them).
#[derive(Debug, Default)]
pub struct ScopeState {
    /// Executions started through the API.
    pub executions: Arc<Executions>,
    /// State machines by ARN.
    pub state_machines: StateMachines,
    /// Connection creation times by name.
    pub connection_times: RwLock<BTreeMap<String, SystemTime>>,
    /// CloudFormation's stacks and change sets (held for a whole stack operation).
    pub stacks: Mutex<crate::cfn::Stacks>,
    /// The state machines the last deploy made (a redeploy replaces them).
    pub stack_machines: Mutex<BTreeSet<String>>,
    /// When UpdateConnection last changed a connection, by name (absent: never; then its
    /// `LastModifiedTime` is its creation time).
    pub connection_modified: RwLock<BTreeMap<String, SystemTime>>,
}

impl ScopeState {
    /// The world's own scope: its state machines and connections, made now.
    fn of_world(world: &World) -> Self {
        let now = world.clock.now();
        let state_machines = world
            .model
            .state_machines
            .iter()
            .map(|m| {
                (
                    m.arn.clone(),
                    StateMachineEntry {
                        machine: m.clone(),
                        created: now,
                        extra: json!({}),
                    },
                )
            })
            .collect();
        let connection_times = world
            .model
            .connections
            .iter()
            .map(|c| (c.name.clone(), now))
            .collect();
        Self {
            executions: Arc::new(Executions::new()),
            state_machines: StateMachines::new(state_machines),
            connection_times: RwLock::new(connection_times),
            stacks: Mutex::default(),
            stack_machines: Mutex::new(
                world
                    .model
                    .state_machines
                    .iter()
                    .map(|m| m.arn.clone())
                    .collect(),
            ),
            connection_modified: RwLock::default(),
        }
    }
}

/// The world `serve` answers from and API Gateway's data plane over it; replaced whole by a
/// reset (a request keeps the one it started on).
#[derive(Clone, Debug)]
struct Current {
    world: World,
    apigw: crate::apigw::ApiGatewayService,
}

/// What CloudFormation deploys build on, and what a reset returns to.
#[derive(Clone, Debug)]
struct Base {
    /// The model stacks deploy onto: the environment's, or the scenario's.
    model: crate::model::Model,
    /// The environment (its records wait for the stacks they name).
    env: crate::scenario::stacks::Environment,
    /// The world's model at start (after `serve --stack`).
    start_model: crate::model::Model,
    /// The world's stacks at start.
    start_stacks: crate::cfn::Stacks,
}

/// Everything `serve` answers from.
#[derive(Debug)]
pub struct Edge {
    current: RwLock<Current>,
    /// The worlds of other (account, Region)s, built by CloudFormation deploys there: each its own
    /// emulated network, on the home world's clock and root CA.
    scoped: RwLock<BTreeMap<Scope, Current>>,
    base: RwLock<Base>,
    /// What the APIs made, per (account, Region).
    scopes: RwLock<BTreeMap<Scope, Arc<ScopeState>>>,
    /// How callers are checked.
    pub auth: AuthMode,
    /// How keys without a known secret are treated.
    pub unknown_keys: UnknownKeys,
    /// How `/_vpcgate/*` answers ([`LocalEndpoint`]).
    pub local: LocalEndpoint,
    /// The runtimes the world runs on, when they are not the listener's (`serve`'s virtual
    /// time: paused current-thread runtimes, one per world thread — shard `i` is
    /// `world_runtimes[i]` — [`crate::clock`]); requests are answered there, spread over them.
    pub world_runtimes: Vec<tokio::runtime::Handle>,
    /// The shard the next request goes to (round robin over [`Edge::world_runtimes`]).
    next_shard: std::sync::atomic::AtomicUsize,
    /// The recent executions and data-plane requests the trace viewer lists ([`ui`]).
    pub activity: Arc<ui::Activity>,
}

/// The rules of vpcgate's own endpoints (`/_vpcgate/*`): answered only for a loopback `Host`
/// (`localhost`, `127.0.0.1`, `[::1]`, or the address `serve` listens on), so a page in the
/// user's browser cannot read them through DNS rebinding; secret access keys only with
/// `--expose-secrets`.
#[derive(Clone, Debug, Default)]
pub struct LocalEndpoint {
    /// `/_vpcgate/world` includes the scenario users' secret access keys.
    pub expose_secrets: bool,
    /// The address `serve` listens on (its host is accepted as a `Host`, too).
    pub listen: Option<SocketAddr>,
}

impl LocalEndpoint {
    /// Whether a request with this `Host` header may read `/_vpcgate/*`.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            // HTTP/1.0 clients without Host: only a local process can reach a loopback listener.
            return true;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match name.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_loopback() => true,
            Ok(ip) => self.listen.is_some_and(|l| l.ip() == ip),
            Err(_) => false,
        }
    }
}

/// One API call as the edge answers it: the world it started on, who calls, and in which
/// (account, Region).
#[derive(Debug)]
pub struct Call<'a> {
    /// The edge.
    pub edge: &'a Edge,
    /// The world the request started on.
    pub world: World,
    /// The caller.
    pub principal: Principal,
    /// Where the request's resources live.
    pub scope: Scope,
    /// What the APIs made there.
    pub state: Arc<ScopeState>,
    /// The request's condition keys before the principal's are derived: time, Region, transport
    /// and how it arrived (`aws:SourceIp`, or `aws:SourceVpce`/`aws:SourceVpc`/`aws:VpcSourceIp`
    /// through a VPC endpoint) — the same keys the endpoint policy saw reach the identity
    /// policies.
    pub context: RequestContext,
}

/// The address a request's TCP connection came from (set by [`run`] on every request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The condition keys of a request that reached `serve` in `scope`: [`RequestContext::for_request`]
/// plus the network keys of how it arrived — through a VPC endpoint or the emulated internet
/// ([`crate::ec2::Arrival`]), else from the host socket's peer (`aws:SourceIp`).
pub fn request_context(
    world: &World,
    scope: &Scope,
    extensions: Option<&http::Extensions>,
) -> RequestContext {
    let mut ctx = RequestContext::for_request(world.clock.now_utc(), &scope.region);
    if let Some(ext) = extensions {
        if let Some(arrival) = ext.get::<crate::ec2::Arrival>() {
            arrival.apply(&mut ctx);
        } else if let Some(PeerAddr(peer)) = ext.get::<PeerAddr>() {
            ctx.insert(crate::iam::keys::SOURCE_IP, peer.ip().to_string());
        }
    }
    ctx
}

/// IAM refused an API call ([`Call::authorize`]): every service answers it as its
/// `AccessDeniedException` (`AccessDenied` in the query protocol) with IAM's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AccessDenied {
    /// IAM's text (`User: … is not authorized to perform: …`).
    pub message: String,
}

impl From<AccessDenied> for JsonError {
    /// The JSON protocols' 400 `AccessDeniedException` (CommonErrors.html of Step Functions,
    /// EventBridge and Secrets Manager).
    fn from(e: AccessDenied) -> Self {
        JsonError::client("AccessDeniedException", e.message)
    }
}

impl Call<'_> {
    /// Authorizes an API action (root: always; users and sessions: their policies).
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), AccessDenied> {
        if matches!(self.principal, Principal::Root { .. }) {
            return Ok(());
        }
        self.authorize_with(action, resource, &self.context)
    }

    /// [`Self::authorize`] with extra condition keys (`iam:PassedToService`, …) on top of the
    /// request's.
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        ctx: &RequestContext,
    ) -> Result<(), AccessDenied> {
        if matches!(self.principal, Principal::Root { .. }) {
            return Ok(());
        }
        self.world
            .iam
            .authorize(
                &self.principal,
                action,
                resource,
                ctx,
                None,
                &[],
                DenialFormat::PolicyType,
                &crate::trace::Trace::disabled(),
            )
            .map(|_| ())
            .map_err(|d| AccessDenied { message: d.message })
    }

    /// Whether the call is in the world's own account and Region (where the scenario's
    /// resources are).
    pub fn in_world_scope(&self) -> bool {
        self.scope.is_world(&self.world)
    }
}

/// Carries what the APIs made on `old` into `world`, a world built after it: connections made
/// through the API (and their secrets), unless the new model declares them, and EventBridge's
/// API-made buses, rules and API destinations (events::bus).
fn carry_over(old: &World, world: &World) {
    let from_model: BTreeSet<&str> = old
        .model
        .connections
        .iter()
        .map(|c| c.arn.as_str())
        .collect();
    let in_new: BTreeSet<&str> = world
        .model
        .connections
        .iter()
        .map(|c| c.arn.as_str())
        .collect();
    for c in old.connections.list() {
        if from_model.contains(c.arn.as_str()) || in_new.contains(c.arn.as_str()) {
            continue;
        }
        if let Ok(secret) = old.secrets.get(&c.secret_arn) {
            world
                .secrets
                .put_at(&c.secret_arn, &c.secret_name, secret.value);
        }
        world.connections.put(c);
    }
    world.events.carry_over(&old.events, &old.model.events);
}

/// What `POST /_vpcgate/reset` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetReport {
    /// The account reset, or `None` for all.
    pub account: Option<String>,
    /// Whether the world was rebuilt from its model (it is unless another account was reset).
    pub world_rebuilt: bool,
    /// (account, Region) scopes whose state was dropped.
    pub scopes: usize,
    /// Running executions stopped.
    pub stopped_executions: usize,
}

impl Edge {
    /// The edge of a world.
    pub fn new(world: World, auth: AuthMode) -> Self {
        let apigw = crate::apigw::service(&world.apigw);
        let scope = Scope::of_world(&world);
        let state = Arc::new(ScopeState::of_world(&world));
        let mut env = crate::scenario::stacks::Environment::default();
        env.region = Some(world.model.region.clone());
        env.account_id = Some(world.model.account.clone());
        let base = Base {
            model: world.model.clone(),
            env,
            start_model: world.model.clone(),
            start_stacks: crate::cfn::Stacks::default(),
        };
        let activity = Arc::new(ui::Activity::new(world.clock.clone()));
        Self {
            activity,
            base: RwLock::new(base),
            current: RwLock::new(Current { world, apigw }),
            scoped: RwLock::default(),
            scopes: RwLock::new(BTreeMap::from([(scope, state)])),
            auth,
            unknown_keys: UnknownKeys::default(),
            local: LocalEndpoint::default(),
            world_runtimes: Vec::new(),
            next_shard: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The same edge answering on the world's own runtime (see [`Edge::world_runtimes`]).
    pub fn with_world_runtime(self, runtime: tokio::runtime::Handle) -> Self {
        self.with_world_runtimes(vec![runtime])
    }

    /// The same edge answering on the world's runtimes, shard `i` on `runtimes[i]` (see
    /// [`Edge::world_runtimes`]).
    pub fn with_world_runtimes(mut self, runtimes: Vec<tokio::runtime::Handle>) -> Self {
        self.world_runtimes = runtimes;
        self
    }

    /// The shard the next request runs on and its runtime, if the world has runtimes of its
    /// own: each in turn, so the world threads share the load.
    fn next_world_runtime(&self) -> Option<(usize, tokio::runtime::Handle)> {
        let n = self.world_runtimes.len();
        if n == 0 {
            return None;
        }
        let shard = if n == 1 {
            0
        } else {
            self.next_shard
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                % n
        };
        Some((shard, self.world_runtimes[shard].clone()))
    }

    /// The same edge deploying CloudFormation stacks onto `env` (its world is the environment's
    /// alone: [`crate::scenario::stacks::deploy`] with no stacks).
    pub fn with_environment(self, env: crate::scenario::stacks::Environment) -> Self {
        {
            let mut base = self.base.write().expect("lock");
            base.model = crate::scenario::stacks::environment_model(&env);
            base.env = env;
        }
        self
    }

    /// The world and stacks now are what a reset returns to (`serve --stack` calls this once its
    /// stacks are deployed).
    pub fn mark_start(&self) {
        let world = self.world();
        let stacks = self
            .scope_state(&Scope::of_world(&world))
            .stacks
            .lock()
            .expect("lock")
            .clone();
        let mut base = self.base.write().expect("lock");
        base.start_model = world.model.clone();
        base.start_stacks = stacks;
    }

    /// The model stacks deploy onto in `scope` (the world's own scope: the environment or the
    /// scenario; any other: an empty account), and its environment.
    pub(crate) fn deploy_base(
        &self,
        scope: &Scope,
    ) -> (
        crate::model::Model,
        crate::scenario::stacks::Environment,
        bool,
    ) {
        let base = self.base.read().expect("lock");
        if base.model.account == scope.account && base.model.region == scope.region {
            return (base.model.clone(), base.env.clone(), true);
        }
        let mut env = crate::scenario::stacks::Environment::default();
        env.region = Some(scope.region.clone());
        env.account_id = Some(scope.account.clone());
        (crate::scenario::stacks::environment_model(&env), env, false)
    }

    /// Makes a world built from `model` the one requests start on: the same root CA, the
    /// connections made through the API (and their secrets) and the instances' proxy ports
    /// carried over. Requests in flight finish on the old world.
    pub fn swap_world(
        self: &Arc<Self>,
        model: crate::model::Model,
    ) -> Result<(), crate::world::WorldError> {
        let old = self.world();
        let pki = old.pki.same_root()?;
        let world = World::build_with_pki(model, old.clock.clone(), pki)?;
        carry_over(&old, &world);
        for i in old.ec2.instances() {
            if let Some(ports) = old.ec2.proxy(&i.config.id) {
                world.ec2.set_proxy(&i.config.id, ports);
            }
        }
        let attached = old.ec2.services().get().is_some();
        let apigw = crate::apigw::service(&world.apigw);
        *self.current.write().expect("lock") = Current { world, apigw };
        if attached {
            self.attach_endpoints();
        }
        Ok(())
    }

    /// Makes a world built from `model` the one requests in `scope` run on, where `scope` is not
    /// the home world's (a CloudFormation deploy there): the home world's clock and root CA, and
    /// what the APIs made carried over from that scope's previous world (or, the first time, from
    /// the home world, which held it until then). Requests in flight finish on the old world.
    pub fn swap_scope_world(
        &self,
        scope: &Scope,
        model: crate::model::Model,
    ) -> Result<(), crate::world::WorldError> {
        let home = self.world();
        let old = self
            .scoped
            .read()
            .expect("lock")
            .get(scope)
            .map(|c| c.world.clone())
            .unwrap_or_else(|| home.clone());
        let world = World::build_with_pki(model, home.clock.clone(), home.pki.same_root()?)?;
        carry_over(&old, &world);
        let apigw = crate::apigw::service(&world.apigw);
        self.scoped
            .write()
            .expect("lock")
            .insert(scope.clone(), Current { world, apigw });
        Ok(())
    }

    /// The world requests in `scope` run on: the one deploys there built, else the home world
    /// (the scenario's or the environment's, whose network every other scope shares until it
    /// deploys a stack of its own).
    pub fn world_in(&self, scope: &Scope) -> World {
        match self.scoped.read().expect("lock").get(scope) {
            Some(c) => c.world.clone(),
            None => self.world(),
        }
    }

    /// API Gateway's data plane that serves the API `api_id` in `region`: the home world's, or
    /// that of the scope whose deploys made the API.
    pub fn apigw_serving(&self, api_id: &str, region: &str) -> crate::apigw::ApiGatewayService {
        let scoped = self.scoped.read().expect("lock");
        if scoped.is_empty() {
            // One world only (the usual case): no lookup on the data plane's path.
            return self.apigw();
        }
        let has = |m: &crate::model::Model| {
            m.region == region
                && (m.apigw.rest_apis.iter().any(|a| a.id == api_id)
                    || m.apigw.http.apis.iter().any(|a| a.id == api_id))
        };
        if !has(&self.world().model)
            && let Some(c) = scoped.values().find(|c| has(&c.world.model))
        {
            return c.apigw.clone();
        }
        self.apigw()
    }

    /// The (account, Region)s with a world of their own, besides the home world's.
    pub fn scoped_worlds(&self) -> Vec<Scope> {
        self.scoped.read().expect("lock").keys().cloned().collect()
    }

    /// The same edge with these rules for `/_vpcgate/*`.
    pub fn with_local(mut self, local: LocalEndpoint) -> Self {
        self.local = local;
        self
    }

    /// The same edge treating keys without a known secret this way.
    pub fn with_unknown_keys(mut self, unknown_keys: UnknownKeys) -> Self {
        self.unknown_keys = unknown_keys;
        self
    }

    /// The world requests start on now.
    pub fn world(&self) -> World {
        self.current.read().expect("lock").world.clone()
    }

    /// API Gateway's data plane over the current world.
    pub fn apigw(&self) -> crate::apigw::ApiGatewayService {
        self.current.read().expect("lock").apigw.clone()
    }

    /// The state of an (account, Region), made empty the first time it is asked for.
    pub fn scope_state(&self, scope: &Scope) -> Arc<ScopeState> {
        if let Some(s) = self.scopes.read().expect("lock").get(scope) {
            return s.clone();
        }
        self.scopes
            .write()
            .expect("lock")
            .entry(scope.clone())
            .or_default()
            .clone()
    }

    /// The scopes that hold anything, in order.
    pub fn scopes(&self) -> Vec<Scope> {
        self.scopes.read().expect("lock").keys().cloned().collect()
    }

    /// A call as `principal` in `scope` on the current world (what a verified request becomes;
    /// tests call the APIs this way).
    pub fn call_as(&self, principal: Principal, scope: Scope) -> Call<'_> {
        let world = self.world_in(&scope);
        Call {
            edge: self,
            context: request_context(&world, &scope, None),
            world,
            state: self.scope_state(&scope),
            principal,
            scope,
        }
    }

    /// A call as the root of the world's account, in the world's Region.
    pub fn call_as_root(&self) -> Call<'_> {
        let world = self.world();
        let scope = Scope::of_world(&world);
        self.call_as(Principal::root(scope.account.clone()), scope)
    }

    /// Returns to the start state: every execution stopped and forgotten, everything made
    /// through the APIs gone, and the world rebuilt from its model under the same root CA (so
    /// clients trusting it keep trusting it). With `account`, only that account's state goes;
    /// the world is rebuilt only when it is that account's (other accounts' connections are
    /// carried over to the rebuilt world).
    pub fn reset(
        self: &Arc<Self>,
        account: Option<&str>,
    ) -> Result<ResetReport, crate::world::WorldError> {
        let old = self.world();
        let world_account = old.model.account.clone();
        let rebuild = account.is_none_or(|a| a == world_account);
        let mut scopes = self.scopes.write().expect("lock");
        let dropped: Vec<Scope> = scopes
            .keys()
            .filter(|s| account.is_none_or(|a| s.account == a))
            .cloned()
            .collect();
        let mut stopped = 0;
        for s in &dropped {
            if let Some(state) = scopes.remove(s) {
                stopped += state.executions.stop_all();
            }
        }
        // The worlds deploys built in those scopes go with their stacks.
        self.scoped
            .write()
            .expect("lock")
            .retain(|s, _| account.is_some_and(|a| s.account != a));
        let connection_account = |arn: &str| arn.split(':').nth(4).unwrap_or_default().to_string();
        if rebuild {
            let pki = old.pki.same_root()?;
            let (start_model, start_stacks) = {
                let base = self.base.read().expect("lock");
                (base.start_model.clone(), base.start_stacks.clone())
            };
            let world = World::build_with_pki(start_model, old.clock.clone(), pki)?;
            if let Some(a) = account {
                // Only this account: the others' connections (and their secrets) stay.
                for c in old.connections.list() {
                    if connection_account(&c.arn) != a {
                        if let Ok(secret) = old.secrets.get(&c.secret_arn) {
                            world
                                .secrets
                                .put_at(&c.secret_arn, &c.secret_name, secret.value);
                        }
                        world.connections.put(c);
                    }
                }
            }
            // The instances' proxies keep their ports.
            for i in old.ec2.instances() {
                if let Some(ports) = old.ec2.proxy(&i.config.id) {
                    world.ec2.set_proxy(&i.config.id, ports);
                }
            }
            let attached = old.ec2.services().get().is_some();
            let apigw = crate::apigw::service(&world.apigw);
            let home = ScopeState::of_world(&world);
            *home.stacks.lock().expect("lock") = start_stacks;
            scopes.insert(Scope::of_world(&world), Arc::new(home));
            *self.current.write().expect("lock") = Current { world, apigw };
            drop(scopes);
            if attached {
                self.attach_endpoints();
            }
        } else if let Some(a) = account {
            for c in old.connections.list() {
                if connection_account(&c.arn) == a {
                    let region = c.arn.split(':').nth(3).unwrap_or_default().to_string();
                    old.connections.remove_in(&region, a, &c.name);
                    old.secrets.delete(&c.secret_arn);
                }
            }
        }
        Ok(ResetReport {
            account: account.map(str::to_string),
            world_rebuilt: rebuild,
            scopes: dropped.len(),
            stopped_executions: stopped,
        })
    }

    /// The account an access key belongs to, for a key vpcgate holds no secret for.
    fn unknown_key_account(world: &World, access_key_id: &str) -> String {
        account_of_key(access_key_id)
            .map(str::to_string)
            .unwrap_or_else(|| world.model.account.clone())
    }

    /// Authenticates a signed request for `service` on `world`: the caller and the (account,
    /// Region) the request is for. Keys vpcgate knows the secret of (the example root key,
    /// `test`, scenario users') are verified; others are accepted as their account's root
    /// unless [`UnknownKeys::Refuse`]. Any Region of valid shape is accepted.
    pub(crate) fn authenticate(
        &self,
        world: &World,
        parts: &http::request::Parts,
        body: &[u8],
        service: &str,
    ) -> Result<(Principal, Scope), SigV4Error> {
        let incoming = sigv4::Incoming::from_parts(parts, body);
        if self.auth == AuthMode::Off {
            let claimed = sigv4::claimed_credential(&incoming);
            // Unsigned: the world's scope. Signed: the key's account and the scope's Region,
            // unchecked.
            let scope = match claimed {
                Some((key, region)) if valid_region(&region) => {
                    let known = world
                        .iam
                        .key(&key)
                        .and_then(|k| k.principal().account().map(str::to_string));
                    Scope::new(
                        known.unwrap_or_else(|| Self::unknown_key_account(world, &key)),
                        region,
                    )
                }
                _ => Scope::of_world(world),
            };
            return Ok((Principal::root(scope.account.clone()), scope));
        }
        // Any Region of valid shape; another scope gets AWS's "Credential should be scoped to a
        // valid region, not '…'": checked against any Region first, and again against the
        // world's when the claimed one is of no valid shape (read from the request only then).
        let any_region = sigv4::PolicyView {
            service,
            region: None,
            ..sigv4::PolicyView::execute_api(&world.model.region)
        };
        // One read of the credential store (not held while the signature is computed): the
        // key's secret, then its principal.
        let lookup = |key: &str| world.iam.key(key);
        let now = world.clock.host_now();
        let mut verified = sigv4::verify_with(&incoming, now, &any_region, lookup);
        let region_ok = match &verified {
            Ok(v) => valid_region(&v.region),
            Err(_) => sigv4::claimed_credential(&incoming).is_some_and(|(_, r)| valid_region(&r)),
        };
        if !region_ok {
            let world_region = sigv4::PolicyView {
                region: Some(&world.model.region),
                ..any_region
            };
            verified = sigv4::verify_with(&incoming, now, &world_region, lookup);
        }
        match verified {
            Ok(v) => {
                let principal = v.credentials.principal().clone();
                let account = principal
                    .account()
                    .map(str::to_string)
                    .unwrap_or_else(|| world.model.account.clone());
                Ok((principal, Scope::new(account, v.region.into_owned())))
            }
            // Every check before the key's lookup passed (AWS's order): only the signature
            // cannot be checked.
            Err(SigV4Error::UnknownAccessKey { access_key_id })
                if self.unknown_keys == UnknownKeys::AcceptAsRoot =>
            {
                let region = sigv4::claimed_credential(&incoming)
                    .map(|(_, r)| r)
                    .unwrap_or_else(|| world.model.region.clone());
                let account = Self::unknown_key_account(world, &access_key_id);
                Ok((
                    Principal::root(account.clone()),
                    Scope::new(account, region),
                ))
            }
            Err(e) => Err(e),
        }
    }
}

/// The JSON protocols' error for a signature problem ([`sigv4::wire`]'s `Json` rows).
fn sigv4_json_error(e: &SigV4Error) -> JsonError {
    let w = sigv4::wire(e, sigv4::Protocol::Json);
    JsonError {
        status: w.status.as_u16(),
        code: w.code.to_string(),
        message: w.message,
    }
}

fn plain(status: u16, content_type: &str, body: impl Into<Bytes>) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

/// How long a client has to send a request's body once its headers are in (vpcgate's choice:
/// API Gateway's own integration limit is 29 s; a body trickled slower is refused with 408).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The largest request header section `serve` reads (hyper answers 431 past it). API Gateway's
/// own limit on the request line and headers together is 10240 bytes; vpcgate allows more for
/// long SigV4 session tokens.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The wire protocol a request is for, from its headers: errors met before the request is routed
/// (body too large, unreadable, too slow) come back in that protocol's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// `X-Amz-Target: AWSStepFunctions.*` (JSON 1.0) or `AWSEvents.*` (JSON 1.1).
    Json(&'static str),
    /// Everything else: API Gateway's data plane, `/_vpcgate/*`.
    Rest,
}

fn protocol(parts: &http::request::Parts) -> Protocol {
    match parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(t) => {
            Protocol::Json(JsonService::of_target(t).map_or("1.0", |(service, _)| service.version))
        }
        None => Protocol::Rest,
    }
}

/// A request that could not be read, in its protocol's shape.
fn unreadable(protocol: Protocol, why: Unreadable) -> http::Response<Body> {
    let (status, code, message) = match why {
        // API Gateway (REST) past 10 MB: `413`, `content-type: text; charset=utf-8`,
        // "HTTP content length exceeded 10485760 bytes." (a response captured from a REST API in
        // koki-develop/lgtm-generator#10). The JSON services' front end: 413 too (vpcgate's
        // choice of error name, as for any JSON service: SerializationException is a 400).
        Unreadable::TooLarge => (
            413,
            "RequestEntityTooLargeException",
            format!("HTTP content length exceeded {MAX_REQUEST_BODY} bytes."),
        ),
        Unreadable::Malformed(e) => (
            400,
            "SerializationException",
            format!("the request body could not be read: {e}"),
        ),
        Unreadable::HeadersTooLarge => (
            431,
            "RequestHeaderFieldsTooLargeException",
            format!("the request line and headers exceed {MAX_HEADER_BYTES} bytes"),
        ),
        Unreadable::TooSlow => (
            408,
            "RequestTimeoutException",
            format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        ),
    };
    match protocol {
        Protocol::Json(version) => {
            let e = JsonError {
                status,
                ..JsonError::client(code, message)
            };
            wire::error(version, &e)
        }
        Protocol::Rest if status == 413 => plain(413, "text; charset=utf-8", message),
        Protocol::Rest => plain(
            status,
            "application/json",
            json!({ "message": message }).to_string(),
        ),
    }
}

enum Unreadable {
    TooLarge,
    HeadersTooLarge,
    Malformed(String),
    TooSlow,
}

/// Reads a request body: at most [`MAX_REQUEST_BODY`] bytes, within [`BODY_READ_TIMEOUT`] (on
/// the calling runtime's clock, or on `real`'s: the listener's real time, for a connection a
/// world thread serves).
async fn read_body(
    parts: &http::request::Parts,
    body: Incoming,
    real: Option<&tokio::runtime::Handle>,
) -> Result<Bytes, Unreadable> {
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) {
        return Err(Unreadable::TooLarge);
    }
    let deadline = {
        // A timer is registered with the runtime it is made in.
        let _real = real.map(tokio::runtime::Handle::enter);
        tokio::time::timeout(
            BODY_READ_TIMEOUT,
            Limited::new(body, MAX_REQUEST_BODY).collect(),
        )
    };
    match deadline.await {
        Err(_) => Err(Unreadable::TooSlow),
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Unreadable::TooLarge),
        Ok(Err(e)) => Err(Unreadable::Malformed(e.to_string())),
    }
}

/// Whether a request's header section is past [`MAX_HEADER_BYTES`].
fn headers_too_large(parts: &http::request::Parts) -> bool {
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + parts.uri.authority().map_or(0, |a| a.as_str().len())
        + parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    header_bytes > MAX_HEADER_BYTES
}

/// Handles one request on world shard `shard`, whose thread serves the request's connection
/// ([`run`] with several world runtimes): read whole on the listener's real-time clock
/// (`real`), then answered here as work in flight on the shard's virtual clock.
async fn handle_on_shard(
    edge: Arc<Edge>,
    shard: usize,
    real: &tokio::runtime::Handle,
    req: http::Request<Incoming>,
) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    // hyper bounds the header section it buffers only loosely (one large read can carry it whole).
    if headers_too_large(&parts) {
        return unreadable(protocol(&parts), Unreadable::HeadersTooLarge);
    }
    let body = match read_body(&parts, body, Some(real)).await {
        Ok(b) => b,
        Err(why) => return unreadable(protocol(&parts), why),
    };
    if parts.uri.path() == "/_vpcgate/health" {
        return handle_parts(edge, parts, body).await;
    }
    let work = edge.world().clock.work_on(shard);
    let resp = handle_parts(edge, parts, body).await;
    drop(work);
    resp
}

/// Handles one request.
pub async fn handle(edge: Arc<Edge>, req: http::Request<Incoming>) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    // hyper bounds the header section it buffers only loosely (one large read can carry it whole):
    // count it here.
    if headers_too_large(&parts) {
        return unreadable(protocol(&parts), Unreadable::HeadersTooLarge);
    }
    let body = match read_body(&parts, body, None).await {
        Ok(b) => b,
        Err(why) => return unreadable(protocol(&parts), why),
    };
    let on_world = if parts.uri.path() == "/_vpcgate/health" {
        None
    } else {
        edge.next_world_runtime()
    };
    match on_world {
        // A JSON API call: its front door here, its operation on the world's runtime.
        Some((shard, runtime))
            if let Some((service, op)) = parts
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .and_then(JsonService::of_target) =>
        {
            let op = op.to_string();
            json_api_split(edge, shard, &runtime, parts, body, service, op).await
        }
        // Answered on the world's runtime, as work in flight on its virtual clock; health is
        // answered here, never queued behind the world's work.
        Some((shard, runtime)) => {
            let work = edge.world().clock.work_on(shard);
            let answer = runtime.spawn(async move {
                let resp = handle_parts(edge, parts, body).await;
                drop(work);
                resp
            });
            answer.await.unwrap_or_else(|e| {
                plain(
                    500,
                    "application/json",
                    json!({"message": format!("vpcgate: the request failed: {e}")}).to_string(),
                )
            })
        }
        None => handle_parts(edge, parts, body).await,
    }
}

/// Handles one request whose body is already read (the VPC endpoints' and public endpoints'
/// listeners call this, [`crate::ec2`]).
pub async fn handle_parts(
    edge: Arc<Edge>,
    parts: http::request::Parts,
    body: Bytes,
) -> http::Response<Body> {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let polled = ui::polled(parts.uri.path());
    // The log line's label is built only when the line is written (a loaded `serve` logs at
    // warn: formatting it for nothing was a measurable part of a request).
    let log = if polled {
        tracing::enabled!(tracing::Level::DEBUG)
    } else {
        tracing::enabled!(tracing::Level::INFO)
    };
    let label = |f: &dyn Fn() -> String| if log { f() } else { String::new() };
    let started = tokio::time::Instant::now();
    // A request keeps the world it started on, whatever a reset does meanwhile.
    let world = edge.world();
    let (label, resp) = match target {
        Some(t) if let Some((service, op)) = JsonService::of_target(t) => (
            label(&|| format!("{} {op}", service.name)),
            json_api(&edge, world, &parts, &body, service, op).await,
        ),
        Some(t) => (
            label(&|| format!("unknown target {t}")),
            wire::error(
                "1.0",
                &JsonError::client(
                    "UnknownOperationException",
                    format!("vpcgate does not emulate {t}"),
                ),
            ),
        ),
        None if cfn_api::is_query(&parts, &body) => cfn_api::handle(&edge, world, &parts, &body),
        None => {
            let req = http::Request::from_parts(parts, body);
            let address = crate::apigw::locate(&req);
            if apigw_api::is_control_plane(req.uri().path()) && address.is_none() {
                // API Gateway's control plane (apigateway.<region>.amazonaws.com).
                let (parts, body) = req.into_parts();
                (
                    label(&|| format!("apigateway {} {}", parts.method, parts.uri.path())),
                    apigw_api::handle(&edge, world, &parts, &body),
                )
            } else if apigwv2_api::is_control_plane(req.uri().path()) {
                // API Gateway v2's control plane (HTTP APIs).
                let (parts, body) = req.into_parts();
                (
                    label(&|| format!("apigatewayv2 {} {}", parts.method, parts.uri.path())),
                    apigw_api::handle(&edge, world, &parts, &body),
                )
            } else if let Some(a) = address {
                let label = label(&|| format!("execute-api {} {}", req.method(), req.uri().path()));
                let mut req = req;
                // A real client signed with its host's clock (crate::clock::HostTime).
                req.extensions_mut()
                    .insert(crate::clock::HostTime(world.clock.host_now()));
                // The trace viewer lists the request and shows its hops.
                let logged = edge.activity.request(
                    req.method().as_str(),
                    &format!("{} stage {}", a.api_id, a.stage),
                    req.uri().path(),
                );
                req.extensions_mut().insert(logged.trace());
                let apigw = edge.apigw_serving(
                    &a.api_id,
                    a.region.as_deref().unwrap_or(&world.model.region),
                );
                let resp = apigw.handle_at(req, Some(a)).await;
                logged.finish(resp.status().as_u16());
                let (p, b) = resp.into_parts();
                (label, http::Response::from_parts(p, Full::new(b)))
            } else {
                let host = req
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .or(req.uri().authority().map(|a| a.as_str()));
                let path = req.uri().path();
                let resp = if path.starts_with("/_vpcgate/") && !edge.local.host_allowed(host) {
                    plain(
                        403,
                        "application/json",
                        json!({"message": "vpcgate: /_vpcgate/ answers only for a loopback Host (localhost, 127.0.0.1, [::1]) or the address serve listens on"}).to_string(),
                    )
                } else {
                    local(&edge, &world, &req)
                };
                (label(&|| format!("{} {path}", req.method())), resp)
            }
        }
    };
    let (status, ms) = (resp.status().as_u16(), started.elapsed().as_millis() as u64);
    if polled {
        // The viewer polls every second: its requests would bury the log's own.
        tracing::debug!(status, ms, "{label}");
    } else {
        tracing::info!(status, ms, "{label}");
    }
    resp
}

type ApiFn = for<'a> fn(
    &'a Call<'a>,
    &'a str,
    Value,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<Value, JsonError>> + Send + 'a>,
>;

/// A service `serve` answers in an AWS JSON protocol, found by its `X-Amz-Target` prefix.
struct JsonService {
    /// `X-Amz-Target: <prefix><Operation>`.
    target_prefix: &'static str,
    /// The SigV4 signing name (and the log label).
    name: &'static str,
    /// `awsJson1_0` or `awsJson1_1`.
    version: &'static str,
    /// The operations.
    call: Operations,
}

/// An [`ApiFn`] whose answers may be written straight to bytes ([`wire::Answer`]).
type AnswerFn = for<'a> fn(
    &'a Call<'a>,
    &'a str,
    Value,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<wire::Answer, JsonError>> + Send + 'a>,
>;

/// How a JSON service's operations run.
#[derive(Clone, Copy)]
enum Operations {
    /// Each answers at once.
    Sync(fn(&Call<'_>, &str, &Value) -> Result<Value, JsonError>),
    /// Some wait (GetActivityTask, …).
    Async(ApiFn),
    /// Some wait, and some answers write themselves (StartSyncExecution).
    Answers(AnswerFn),
}

/// Step Functions (`awsJson1_0`), EventBridge and Secrets Manager (`awsJson1_1`).
const JSON_SERVICES: &[JsonService] = &[
    JsonService {
        target_prefix: "AWSStepFunctions.",
        name: "states",
        version: "1.0",
        call: Operations::Answers(sfn_api::answer),
    },
    JsonService {
        target_prefix: "AWSEvents.",
        name: "events",
        version: "1.1",
        call: Operations::Async(events_api::call),
    },
    JsonService {
        target_prefix: "secretsmanager.",
        name: "secretsmanager",
        version: "1.1",
        call: Operations::Sync(secrets_api::call),
    },
];

impl JsonService {
    /// The service an `X-Amz-Target` names, and the operation.
    fn of_target(target: &str) -> Option<(&'static JsonService, &str)> {
        JSON_SERVICES
            .iter()
            .find_map(|s| target.strip_prefix(s.target_prefix).map(|op| (s, op)))
    }
}

async fn json_api(
    edge: &Arc<Edge>,
    world: World,
    parts: &http::request::Parts,
    body: &Bytes,
    service: &JsonService,
    op: &str,
) -> http::Response<Body> {
    let version = service.version;
    let (principal, scope, input) = match json_front(edge, &world, parts, body, service) {
        Ok(front) => front,
        Err(e) => return wire::error(version, &e),
    };
    match json_call(edge, world, parts, service, op, principal, scope, input).await {
        Ok(v) => wire::ok_answer(version, &v),
        Err(e) => wire::error(version, &e),
    }
}

/// The front door of a JSON API request, which needs no virtual time (`serve` runs it on the
/// listener's runtime, off the world's thread): the SigV4 signature checked against the host's
/// time and the caller's key resolved, then the body parsed as a JSON object.
fn json_front(
    edge: &Edge,
    world: &World,
    parts: &http::request::Parts,
    body: &Bytes,
    service: &JsonService,
) -> Result<(Principal, Scope, Value), JsonError> {
    let (principal, scope) = edge
        .authenticate(world, parts, body, service.name)
        .map_err(|e| sigv4_json_error(&e))?;
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return Err(JsonError::client(
                    "SerializationException",
                    "the request body must be a JSON object",
                ));
            }
            Err(e) => {
                return Err(JsonError::client(
                    "SerializationException",
                    format!("the request body is not valid JSON: {e}"),
                ));
            }
        }
    };
    Ok((principal, scope, input))
}

/// The operation of a JSON API request whose front door passed ([`json_front`]): on the
/// world's runtime, where its virtual time runs.
#[allow(clippy::too_many_arguments)]
async fn json_call(
    edge: &Arc<Edge>,
    world: World,
    parts: &http::request::Parts,
    service: &JsonService,
    op: &str,
    principal: Principal,
    scope: Scope,
    input: Value,
) -> Result<wire::Answer, JsonError> {
    // Verified on the home world (its credentials); run on the scope's own world, if deploys
    // there built one.
    let world = if scope.is_world(&world) {
        world
    } else {
        edge.world_in(&scope)
    };
    let ctx = Call {
        edge,
        context: request_context(&world, &scope, Some(&parts.extensions)),
        world,
        state: edge.scope_state(&scope),
        principal,
        scope,
    };
    match service.call {
        Operations::Sync(call) => call(&ctx, op, &input).map(wire::Answer::Value),
        Operations::Async(call) => call(&ctx, op, input).await.map(wire::Answer::Value),
        Operations::Answers(call) => call(&ctx, op, input).await,
    }
}

/// A JSON API request on `serve`'s virtual time: the front door ([`json_front`]) and the
/// response's serialization here, on the listener's runtime; only the operation on the world's
/// `runtime`, as work in flight on its clock. The request keeps the world it started on.
async fn json_api_split(
    edge: Arc<Edge>,
    shard: usize,
    runtime: &tokio::runtime::Handle,
    parts: http::request::Parts,
    body: Bytes,
    service: &'static JsonService,
    op: String,
) -> http::Response<Body> {
    // The listener's clock: real time.
    let started = tokio::time::Instant::now();
    let version = service.version;
    let world = edge.world();
    let resp = match json_front(&edge, &world, &parts, &body, service) {
        Err(e) => wire::error(version, &e),
        Ok((principal, scope, input)) => {
            let work = world.clock.work_on(shard);
            let op2 = op.clone();
            let answer = runtime.spawn(async move {
                let out =
                    json_call(&edge, world, &parts, service, &op2, principal, scope, input).await;
                drop(work);
                out
            });
            match answer.await {
                Ok(Ok(v)) => wire::ok_answer(version, &v),
                Ok(Err(e)) => wire::error(version, &e),
                Err(e) => plain(
                    500,
                    "application/json",
                    json!({"message": format!("vpcgate: the request failed: {e}")}).to_string(),
                ),
            }
        }
    };
    let (status, ms) = (resp.status().as_u16(), started.elapsed().as_millis() as u64);
    tracing::info!(status, ms, "{} {op}", service.name);
    resp
}

/// The account `POST /_vpcgate/reset` names: `?account=<12 digits>` or `{"account": "…"}`;
/// `Ok(None)` for every account.
fn reset_account(req: &http::Request<Bytes>) -> Result<Option<String>, String> {
    let from_query = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "account")
            .map(|(_, v)| v.to_string())
    });
    let from_body = if req.body().iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(req.body()) {
            Ok(Value::Object(o)) => match o.get("account") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("\"account\" must be a string".into()),
            },
            _ => {
                return Err(
                    "the body must be a JSON object such as {\"account\": \"123456789012\"}".into(),
                );
            }
        }
    };
    match from_query.or(from_body) {
        None => Ok(None),
        Some(a) if account_of_key(&a).is_some() => Ok(Some(a)),
        Some(a) => Err(format!(
            "account must be 12 digits, not '{}'",
            crate::sigv4::echo(&a)
        )),
    }
}

fn local(edge: &Arc<Edge>, w: &World, req: &http::Request<Bytes>) -> http::Response<Body> {
    if let Some(resp) = ui::answer(&edge.activity, w, req) {
        return resp;
    }
    let method = req.method();
    let path = req.uri().path();
    match (method.as_str(), path) {
        ("GET", "/_vpcgate/health") => plain(200, "application/json", json!({"status": "ok"}).to_string()),
        ("GET", "/_vpcgate/ca.pem") => plain(200, "application/x-pem-file", w.pki.root_pem()),
        ("POST", "/_vpcgate/reset") => {
            let account = match reset_account(req) {
                Ok(a) => a,
                Err(message) => {
                    return plain(400, "application/json", json!({"message": format!("vpcgate reset: {message}")}).to_string());
                }
            };
            let started = tokio::time::Instant::now();
            match edge.reset(account.as_deref()) {
                Ok(r) => {
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    tracing::info!("reset {} in {ms:.1} ms", account.as_deref().unwrap_or("every account"));
                    plain(200, "application/json", json!({
                        "account": r.account,
                        "worldRebuilt": r.world_rebuilt,
                        "scopesCleared": r.scopes,
                        "stoppedExecutions": r.stopped_executions,
                        "milliseconds": (ms * 10.0).round() / 10.0,
                    }).to_string())
                }
                Err(e) => plain(500, "application/json", json!({"message": format!("vpcgate reset: {e}")}).to_string()),
            }
        }
        // EventBridge's finished deliveries (newest last): what `vpcgate explain` and tests read
        // to see an event's fate, which AWS shows only through the target or a dead-letter queue.
        ("GET", "/_vpcgate/events/deliveries") => {
            plain(200, "application/json", w.events.deliveries_json())
        }
        ("GET", "/_vpcgate/world") => {
            let doc = json!({
                "region": w.model.region,
                "accountId": w.model.account,
                "stateMachines": w.model.state_machines.iter().map(|s| json!({"name": s.name, "arn": s.arn, "type": s.kind.as_str()})).collect::<Vec<_>>(),
                "connections": w.model.connections.iter().map(|c| json!({"name": c.name, "arn": c.arn, "resourceConfigurationArn": c.resource_configuration_arn})).collect::<Vec<_>>(),
                "loadBalancers": w.load_balancer_nodes().into_iter().map(|(dns, ips)| json!({"dnsName": dns, "nodes": ips.iter().map(ToString::to_string).collect::<Vec<_>>()})).collect::<Vec<_>>(),
                // The roles, with the services their trust policies name: CreateStateMachine takes
                // only a role that trusts states.amazonaws.com.
                "roles": w.model.roles.iter().map(|r| json!({
                    "name": r.name, "arn": r.arn,
                    "trustedServices": trusted_services(&r.trust_policy),
                })).collect::<Vec<_>>(),
                "users": w.model.users.iter().map(|u| json!({
                    "name": u.name, "arn": u.arn,
                    "accessKeys": u.access_keys.iter().map(|(id, secret)| if edge.local.expose_secrets {
                        json!({"accessKeyId": id, "secretAccessKey": secret})
                    } else {
                        json!({"accessKeyId": id})
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "restApis": w.model.apigw.rest_apis.iter().map(|a| json!({
                    "id": a.id, "name": a.name, "endpointType": format!("{:?}", a.endpoint_type).to_uppercase(),
                    "stages": w.model.apigw.stages.iter().filter(|s| s.rest_api_id == a.id).map(|s| s.name.clone()).collect::<Vec<_>>(),
                    "host": format!("{}.execute-api.{}.amazonaws.com", a.id, w.model.region),
                })).collect::<Vec<_>>(),
                "httpApis": w.model.apigw.http.apis.iter().map(|a| json!({
                    "id": a.id, "name": a.name,
                    "stages": w.model.apigw.http.stages.iter().filter(|s| s.api_id == a.id).map(|s| s.name.clone()).collect::<Vec<_>>(),
                    "host": format!("{}.execute-api.{}.amazonaws.com", a.id, w.model.region),
                })).collect::<Vec<_>>(),
                "instances": crate::proxy::world_json(w),
                "vpcEndpoints": crate::proxy::endpoints_json(w),
                "notEmulated": w.model.not_emulated.iter().map(|n| json!({"logicalId": n.logical_id, "type": n.resource_type})).collect::<Vec<_>>(),
                "credentials": {"accessKeyId": crate::authz::ROOT_ACCESS_KEY_ID, "secretAccessKey": crate::authz::ROOT_SECRET_ACCESS_KEY},
                "rootKeys": [
                    {"accessKeyId": crate::authz::ROOT_ACCESS_KEY_ID, "secretAccessKey": crate::authz::ROOT_SECRET_ACCESS_KEY},
                    {"accessKeyId": crate::authz::TEST_ACCESS_KEY_ID, "secretAccessKey": crate::authz::TEST_SECRET_ACCESS_KEY},
                ],
                "unknownKeys": match edge.unknown_keys {
                    UnknownKeys::AcceptAsRoot => "accepted as the root of their account (12-digit key id: that account)",
                    UnknownKeys::Refuse => "refused (--strict-credentials)",
                },
                "scopes": edge.scopes().iter().map(|s| json!({"accountId": s.account, "region": s.region})).collect::<Vec<_>>(),
            });
            plain(200, "application/json", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        _ => plain(
            404,
            "application/json",
            json!({"message": format!("vpcgate: nothing at {method} {path} (AWS API calls carry an X-Amz-Target header)")}).to_string(),
        ),
    }
}

/// The service principals an `Allow` statement of a trust policy names (for `/_vpcgate/world`).
fn trusted_services(trust: &Value) -> Vec<String> {
    let statements = match trust.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match st.pointer("/Principal/Service") {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    out
}

/// hyper's timer for a connection a world thread serves: its sleeps run on the listener's
/// runtime (`serve`'s real time), so an idle keep-alive connection's header read time-out is
/// never skipped by the shard's virtual clock.
#[derive(Clone, Debug)]
struct RealTimer(tokio::runtime::Handle);

/// A sleep of [`RealTimer`].
struct RealSleep(std::pin::Pin<Box<tokio::time::Sleep>>);

impl Future for RealSleep {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for RealSleep {}

#[allow(clippy::disallowed_types)] // hyper's trait names std's Instant: real time is the point
impl hyper::rt::Timer for RealTimer {
    fn sleep(&self, duration: std::time::Duration) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        let _real = self.0.enter();
        Box::pin(RealSleep(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(
        &self,
        deadline: std::time::Instant,
    ) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        let _real = self.0.enter();
        Box::pin(RealSleep(Box::pin(tokio::time::sleep_until(
            tokio::time::Instant::from_std(deadline),
        ))))
    }
}

/// Serves one accepted connection on world shard `shard`'s thread (`runtime`): the socket is
/// registered with that runtime's I/O driver, hyper's timers stay on `real` (the listener's
/// runtime), and every request on it is answered there without leaving the thread.
fn serve_on_shard(
    edge: Arc<Edge>,
    shard: usize,
    runtime: &tokio::runtime::Handle,
    real: tokio::runtime::Handle,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let Ok(stream) = stream.into_std() else {
        return;
    };
    runtime.spawn(async move {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            return;
        };
        let timer = RealTimer(real.clone());
        let service = service_fn(move |mut req: http::Request<Incoming>| {
            let (edge, real) = (edge.clone(), real.clone());
            req.extensions_mut().insert(PeerAddr(peer));
            async move { Ok::<_, Infallible>(handle_on_shard(edge, shard, &real, req).await) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(timer)
            .header_read_timeout(BODY_READ_TIMEOUT)
            .max_buf_size(MAX_HEADER_BYTES)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

/// Serves `edge` on `listener` until `shutdown` completes.
///
/// With several world runtimes (`serve --world-threads`, [`crate::clock`] shards), each
/// connection is served whole on one of them in turn (hyper and all its requests on that
/// thread: no hand-over per request); otherwise here, each request answered on the world's
/// runtime if it has one ([`handle`]).
pub async fn run(listener: TcpListener, edge: Arc<Edge>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let real = tokio::runtime::Handle::current();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                if edge.world_runtimes.len() > 1
                    && let Some((shard, runtime)) = edge.next_world_runtime()
                {
                    serve_on_shard(edge.clone(), shard, &runtime, real.clone(), stream, peer);
                    continue;
                }
                let edge = edge.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |mut req: http::Request<Incoming>| {
                        let edge = edge.clone();
                        req.extensions_mut().insert(PeerAddr(peer));
                        async move { Ok::<_, Infallible>(handle(edge, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(BODY_READ_TIMEOUT)
                        .max_buf_size(MAX_HEADER_BYTES)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Binds `addr` and serves until `shutdown`; returns the bound address through `bound`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every write to a scope's state machines moves their version on; reads do not.
    #[test]
    fn state_machines_version_moves_with_every_write() {
        let machines = StateMachines::default();
        let v = machines.version();
        assert_ne!(v, 0);
        drop(machines.read().unwrap());
        assert_eq!(machines.version(), v);
        machines.write().unwrap().clear();
        assert_eq!(machines.version(), v + 1);
    }

    #[test]
    fn region_names_have_aws_shape() {
        for ok in [
            "us-east-1",
            "ap-northeast-1",
            "us-gov-west-1",
            "eu-central-2",
            "cn-north-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "moon",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "-east-1",
            "us--1",
            "us-east-x",
            "",
            "us-east-1-",
            "us-east-",
            "1-2-3",
            "us-east-1a",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
    }

    #[test]
    fn a_twelve_digit_key_names_its_account() {
        assert_eq!(account_of_key("111111111111"), Some("111111111111"));
        assert_eq!(account_of_key("test"), None);
        assert_eq!(account_of_key("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_of_key("1111111111111"), None);
    }
}
