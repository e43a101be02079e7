//! # vpcgate
//!
//! An offline emulator of the AWS private-connectivity data path: the two ways a Step Functions
//! workflow calls an internal ALB inside an isolated VPC, with no Lambda function. Everything runs
//! in one process, on in-memory connections and tokio's clock.
//!
//! # Data path
//!
//! ```text
//! Pattern A — HTTP Task through a private EventBridge connection
//!  sfn::http ──authz/iam──▶ events (connection) ──▶ secrets (events!connection/<name>/<uuid>)
//!    ──▶ lattice::ResourceGateway: sg (ingress from outside the VPC) ─▶ dns (IN_VPC: the VPC's, PUBLIC: the public view; hickory)
//!    ──▶ vpc::Network::connect(src = gateway ENI, dst = ALB node:443, SGs both ends)
//!    ──▶ TLS (rustls; pki's emulated public root only; SNI = ApiEndpoint host)
//!    ──▶ alb (HTTPS listener) ──▶ fixed-response / forward
//! Pattern B — optimized API Gateway integration through a VPC link V2
//!  sfn::apigw (apigateway:invoke, SigV4 with the role's session credentials from authz)
//!    ──▶ apigw::ApiGatewayService: routing (stage, resource, method)
//!    ──▶ apigw::auth layer: sigv4 verify ─▶ principal from the key ─▶ iam (identity + resource policy)
//!    ──▶ apigw::timeout layer (TimeoutInMillis, 29 s) ──▶ apigw::integration (HTTP_PROXY)
//!    ──▶ vpc::Network::connect(src = VPC link ENI, dst = ALB node:80, SGs both ends) ──▶ alb (HTTP)
//! Pattern B through a VPC link v1 (issue 15)
//!  apigw::integration (ConnectionId = AWS::ApiGateway::VpcLink) ──▶ nlb (PrivateLink entry:
//!    the NLB's SGs) ──▶ TCP/TLS listener ──▶ target group (nlb::health on tokio's clock, fail
//!    open) ──▶ vpc::Network::connect(src = NLB node or the client's address) ──▶ alb
//! EventBridge front door (issue 16; the same private path as Pattern A)
//!  edge events API (PutEvents) ──▶ events::bus (limits, entry checks) ──▶ events::pattern
//!    (rules' event patterns) ──▶ events::transformer (Input / InputPath / InputTransformer)
//!    ──▶ events::target: iam (role trusts events.amazonaws.com; events:InvokeApiDestination /
//!    states:StartExecution) ──▶ API destination: events::invoke (the connection's credentials,
//!    lattice::ResourceGateway, TLS, HTTP; 5 s per attempt, RetryPolicy back-off on tokio's clock)
//!    ──▶ alb │ state machine: sfn executions
//! Pattern B through an HTTP API (v2) — the seed's recorded output (issue 16)
//!  sfn::apigw / client ──▶ apigw::ApiGatewayService (same addresses) ──▶ apigw::http_api:
//!    stage ($default or named) ─▶ route (exact > greedy > $default) ─▶ auth layer (AWS_IAM:
//!    sigv4 + identity policies │ JWT: RS256 against Vpcgate.Jwks) ─▶ integration (parameter
//!    mapping, TimeoutInMillis ≤ 30 s → 503) ──▶ VPC link ENI ─▶ ALB/NLB listener │ loopback URL
//! VPC Lattice service network (seed 004)
//!  client ENI ──▶ dns (service name, associated VPCs only) ──▶ lattice::service_network:
//!    association SGs ─▶ listener ─▶ rule ─▶ auth policies (iam gates, sigv4) ─▶ target group
//!    (health checks on tokio's clock) ─▶ target; lattice::access_log
//! Edge (`vpcgate serve`)
//!  host TCP listener (127.0.0.1:4566) ──▶ edge: sigv4 verify ─▶ scope (account from the key,
//!    Region from the credential scope) ─▶ sfn API (JSON 1.0) / events API (JSON 1.1) /
//!    CloudFormation API (query protocol: cfn stacks ─▶ scenario::stacks::deploy ─▶ a new world
//!    swapped in; outside the home (account, Region), that scope's own world) / secretsmanager
//!    API (JSON 1.1) / apigw data plane (by Host or /restapis/…/_user_request_/, in the world
//!    serving the API id); /_vpcgate/reset rebuilds the world. A request keeps the world it
//!    started on; what the APIs made lives beside the worlds (edge::ScopeState). The listener runs on a
//!    real-time runtime; the world on paused ones whose clocks jump over time-outs while work is
//!    in flight and nothing real is (clock::VirtualTime; `--clock real` keeps one runtime): one
//!    per core (`--world-threads`, the shards), each host connection served whole on one of
//!    them, everything a request causes on its shard (vpc::Network::serve, pools and resolvers
//!    per shard), the world's state one value every shard reads
//! Clients inside a VPC (seeds 001–003; docs/vpc-clients.md)
//!  proxy (127.0.0.1, HTTP + SOCKS5 per instance) ──▶ ec2::connect from the instance's ENI
//!    ──▶ dns (endpoint private zones, else public names) ──▶ ec2::route (local / igw / nat / drop)
//!    ──▶ local: vpc::Network (SGs) ──▶ ec2::endpoint ENI :443 ──▶ TLS ──▶ endpoint policy
//!    ──▶ internet: ec2::internet public endpoint :443 ──▶ TLS
//!    ──▶ edge (Step Functions, EventBridge, API Gateway control plane) │ apigw (aws:SourceVpce)
//! ```
//!
//! One module per AWS noun:
//! - [`scenario`] reads CloudFormation-shaped scenarios and resolves intrinsics into the
//!   validated [`model`]; [`world`] builds the running components from it (configuration flows one
//!   way: scenario → model → world).
//! - [`vpc`] is the virtual network: ENIs, in-memory TCP, security groups ([`vpc::sg`]) applied
//!   when a connection opens (drop = a SYN nobody answers; no listener = reset).
//! - [`dns`] serves each VPC's private zones and ALB names with hickory-server, resolved with
//!   hickory-resolver over in-memory UDP.
//! - [`pki`] is the emulated public CA and ACM's certificates; [`alb`] the Application Load
//!   Balancers, [`nlb`] the Network Load Balancers (TCP/TLS listeners, target groups of
//!   instances, addresses or an ALB, health checks, security groups, PrivateLink for VPC links v1).
//! - [`lattice`] the resource gateways and configurations, and the service networks
//!   ([`lattice::service_network`]); [`events`] EventBridge: connections and the invocation
//!   path they share with the HTTP Task ([`events::invoke`]), buses, rules, event patterns,
//!   input transformers, API destinations and target deliveries; [`secrets`] Secrets Manager.
//! - [`apigw`] API Gateway REST APIs: routing, the SigV4 + IAM and integration-timeout layers,
//!   `HTTP_PROXY` over VPC links V2, `MOCK`, and API Gateway's wire errors; HTTP APIs (v2) in
//!   [`apigw::http_api`] (routes, stages, AWS_IAM and JWT, parameter mapping, their own errors).
//! - [`iam`] the policy engine, [`authz`] the account's roles and users; [`sigv4`] signing and
//!   verification.
//! - [`asl`] the Amazon States Language interpreter; [`sfn`] the task integrations and executions.
//! - [`ec2`] instances, route tables, NAT and internet gateways, the public service endpoints,
//!   interface VPC endpoints; [`proxy`] puts real clients on an instance.
//! - [`cfn`] CloudFormation's stacks, events and change sets at run time (`serve`'s API).
//! - [`edge`] is `vpcgate serve`: AWS's wire protocols on one host listener for real clients,
//!   and the trace viewer ([`edge::ui`], `/_vpcgate/ui`); [`cli`] the command line (the binary
//!   only calls [`cli::run`]).
//! - [`check`] runs scenarios against their expectations ([`bundled`] ships them in the binary);
//!   [`trace`] records every hop (and draws the path: [`trace::svg`]); [`clock`] is the only wall clock (tokio-driven), and `serve`'s
//!   virtual time.
//!
//! # Layers
//!
//! Bottom first; a module names modules of its own layer or below, never above, and the
//! top-level modules import each other in no cycle, within a layer either
//! (`tests/it/architecture.rs` checks both from the `crate::` paths; it has no exceptions;
//! unit tests may reach anywhere):
//!
//! ```text
//! clock, trace, sigv4, pki                                  values and leaf mechanisms
//! iam, vpc, dns, secrets, authz                             handed to every component
//! alb, nlb, lattice, events, ec2, proxy, apigw, asl         the components, one per AWS noun
//! sfn                                                       task integrations calling them
//! model                                                     plain data: validated configuration
//! world                                                     the composition root
//! scenario, cfn, bundled                                    templates into the model; stacks
//! edge, check, cli                                          the front doors
//! ```
//!
//! The world is the composition root: it builds each component from the model and hands it the
//! narrow handles it needs, so no component names [`world`]. API Gateway owns its handles
//! ([`apigw::Deps`]: clock, IAM, network, TLS client, Region and account; its services hold one
//! `Arc<ApiGateway>`); EventBridge's connection path and deliveries and Step Functions borrow
//! theirs through traits the world implements in `world.rs` ([`events::invoke::Reach`],
//! [`events::target::Host`], [`sfn::Host`]). EventBridge sits below Step Functions: a rule that
//! starts an execution reaches it through the [`events::target::ExecutionStarter`] its caller
//! gives. Component configuration belongs to the component; [`model`] aggregates it (and
//! re-exports what moved, e.g. [`sfn::StateMachine`]).
//!
//! A module that needs something above it defines the interface and the module above implements
//! it, so the call goes up without the import: [`ec2::Fabric`] (what an instance's connections
//! pass through) and [`lattice::service_network::Clients`] are implemented by [`world::World`];
//! [`ec2::Services`] (the services behind the endpoints, installed with [`ec2::Ec2::attach`]) and
//! [`proxy::Worlds`] (the current world) by [`edge::Edge`]. Each component is started from its
//! own part of the model with the handles it needs (`ec2::StartContext`, `nlb::StartContext`,
//! `authz::IamConfig`). Inside the components' layer `lattice` and `proxy` call `ec2`, never
//! the other way.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

pub mod alb;
pub mod apigw;
pub mod asl;
pub mod authz;
pub mod bundled;
pub mod cfn;
pub mod check;
pub mod cli;
pub mod clock;
pub mod dns;
pub mod ec2;
pub mod edge;
pub mod events;
pub mod iam;
pub mod lattice;
pub mod model;
pub mod nlb;
pub mod pki;
pub mod proxy;
pub mod scenario;
pub mod secrets;
pub mod sfn;
pub mod sigv4;
pub mod trace;
pub mod vpc;
pub mod world;
