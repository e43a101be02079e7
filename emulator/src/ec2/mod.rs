//! EC2 inside the VPC: instances as places to stand, route tables with internet and NAT
//! gateways, the emulated "internet" of public AWS service endpoints, and interface VPC
//! endpoints (AWS PrivateLink).
//!
//! ```text
//! client (curl, boto3) ─▶ proxy (127.0.0.1, per instance) ─▶ instance ENI
//!   ──▶ dns (the VPC's resolver: private zones of endpoints with private DNS, else public names)
//!   ──▶ route (subnet's route table: local │ 0.0.0.0/0 → igw (public IP) │ → nat → igw
//!              │ → NAT instance (its groups) → igw │ none)
//!   ──▶ vpc::Network (local: SG egress of the instance, ingress of the endpoint ENI)
//!        └▶ endpoint ENI :443 ─▶ TLS ─▶ endpoint policy ─▶ the service (aws:SourceVpce)
//!   ──▶ internet (public endpoint :443) ─▶ TLS ─▶ the service (aws:SourceIp)
//! ```
//!
//! - [`instance`]: [`connect`] and [`request`] — "open a TCP connection from this instance" and
//!   "send an HTTP(S) request from this instance".
//! - [`route`]: which route a packet to an address takes, and whether it gets anywhere.
//! - [`internet`]: public service names and addresses, and their TLS listeners.
//! - [`endpoint`]: interface endpoints — ENIs, DNS names, private DNS, the listeners and the
//!   endpoint policy.
//! - [`case`]: `Request` cases sent `From` an instance.
//!
//! The emulated services themselves are the ones `serve` answers with: the edge implements
//! [`Services`] and hands itself to the listeners with [`Ec2::attach`] (the proxies have it done
//! when they start). What an instance's connections pass through — the network, the VPCs'
//! resolvers, VPC Lattice — the world hands in as a [`Fabric`].

pub mod binding;
pub mod endpoint;
pub mod instance;
pub mod internet;
pub mod route;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};

use bytes::Bytes;
use http_body_util::Full;
use ipnet::Ipv4Net;
use serde_json::Value;
use tokio::io::DuplexStream;

use crate::authz::Directory;
use crate::clock::Clock;
use crate::dns::{DnsServer, Zone};
use crate::iam::NamedPolicy;
use crate::pki::{Pki, PkiError};
use crate::trace::Trace;
use crate::vpc::{Eni, EniError, Network, Vpc};

pub use endpoint::{EndpointService, InterfaceEndpoint};
pub use instance::{Instance, OpenError, connect, connect_addr, request};
pub use internet::Internet;

/// An `AWS::EC2::Instance`: where a client stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `i-…`.
    pub id: String,
    /// The VPC of its subnet.
    pub vpc_id: String,
    /// `SubnetId` (or `NetworkInterfaces[0].SubnetId`).
    pub subnet_id: String,
    /// `SecurityGroupIds` (or `NetworkInterfaces[0].GroupSet`).
    pub security_groups: Vec<String>,
    /// `PrivateIpAddress`, when the template pins it.
    pub private_ip: Option<Ipv4Addr>,
    /// `NetworkInterfaces[0].AssociatePublicIpAddress` (absent: the subnet's
    /// `MapPublicIpOnLaunch`).
    pub associate_public_ip: Option<bool>,
    /// `NetworkInterfaces[0].NetworkInterfaceId`: the primary interface is that
    /// [`NetworkInterfaceConfig`] (its subnet, address and groups are the instance's).
    pub primary_interface: Option<String>,
    /// The interfaces at `DeviceIndex` 1 and up, by id (each a [`NetworkInterfaceConfig`]).
    pub secondary_interfaces: Vec<String>,
    /// `SourceDestCheck` (EC2's default `true`): its primary interface's. A route to the
    /// instance delivers to it, and with the check on it drops what is not its own; with it off
    /// it acts as a NAT instance ([`route`]).
    pub source_dest_check: bool,
}

/// An elastic network interface: an `AWS::EC2::NetworkInterface`, or one an instance's
/// `NetworkInterfaces` entry at `DeviceIndex` 1 and up creates. Each is a real ENI of the world
/// in its subnet, with its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInterfaceConfig {
    /// CloudFormation logical id (`Instance.NetworkInterfaces[1]` for an instance's own).
    pub logical_id: String,
    /// `eni-…`.
    pub id: String,
    /// The VPC of its subnet.
    pub vpc_id: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// `GroupSet`.
    pub security_groups: Vec<String>,
    /// `PrivateIpAddress` (or the primary of `PrivateIpAddresses`), when pinned or placed.
    pub private_ip: Option<Ipv4Addr>,
    /// `SourceDestCheck` (default `true`): with it on, a route to this interface drops what is
    /// not its own; with it off, the instance it is attached to acts as NAT ([`route`]).
    pub source_dest_check: bool,
    /// `Description`.
    pub description: String,
}

/// An `AWS::EC2::EIPAssociation`: an Elastic IP onto an instance or a network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EipAssociationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `AllocationId`, or the address given as `EIP`.
    pub eip: String,
    /// `InstanceId`.
    pub instance_id: Option<String>,
    /// `NetworkInterfaceId`.
    pub network_interface_id: Option<String>,
}

/// An `AWS::EC2::RouteTable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTableConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `rtb-…`.
    pub id: String,
    /// `VpcId`.
    pub vpc_id: String,
}

/// Where a route sends packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// `GatewayId: igw-…`.
    InternetGateway(String),
    /// `NatGatewayId`.
    NatGateway(String),
    /// Any other target: `InstanceId` and `NetworkInterfaceId` lead to an instance (a NAT
    /// instance, [`route`]); behind the others (transit gateway, peering, …) lies nothing
    /// emulated.
    Other {
        /// The property (`TransitGatewayId`, …).
        kind: String,
        /// Its value.
        id: String,
    },
}

impl std::fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteTarget::InternetGateway(id) | RouteTarget::NatGateway(id) => f.write_str(id),
            RouteTarget::Other { kind, id } => write!(f, "{id} ({kind})"),
        }
    }
}

/// An `AWS::EC2::Route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `RouteTableId`.
    pub route_table_id: String,
    /// `DestinationCidrBlock`.
    pub destination: Ipv4Net,
    /// The target.
    pub target: RouteTarget,
}

/// An `AWS::EC2::SubnetRouteTableAssociation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociationConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `SubnetId`.
    pub subnet_id: String,
    /// `RouteTableId`.
    pub route_table_id: String,
}

/// An `AWS::EC2::InternetGateway`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternetGatewayConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `igw-…`.
    pub id: String,
}

/// An `AWS::EC2::VPCGatewayAttachment` of an internet gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayAttachmentConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `VpcId`.
    pub vpc_id: String,
    /// `InternetGatewayId`.
    pub internet_gateway_id: String,
}

/// An `AWS::EC2::NatGateway`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatGatewayConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `nat-…`.
    pub id: String,
    /// `SubnetId`: where it stands; its traffic follows that subnet's route table.
    pub subnet_id: String,
    /// `AllocationId` of its Elastic IP.
    pub allocation_id: Option<String>,
    /// `ConnectivityType: public` (the default) or `private`.
    pub public: bool,
}

/// An `AWS::EC2::EIP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EipConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `eipalloc-…`.
    pub allocation_id: String,
    /// The public address (`Ref`).
    pub public_ip: Ipv4Addr,
    /// `InstanceId`: the instance it is associated with, if any.
    pub instance_id: Option<String>,
    /// The network interface an `AWS::EC2::EIPAssociation` puts it on, if any.
    pub network_interface_id: Option<String>,
}

/// `VpcEndpointType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpcEndpointType {
    /// `Interface` (AWS PrivateLink): ENIs in the subnets.
    Interface,
    /// `Gateway` (S3, DynamoDB; CloudFormation's default): a route-table target; accepted, and
    /// nothing behind it is emulated.
    Gateway,
}

/// An `AWS::EC2::VPCEndpoint`.
#[derive(Clone, Debug, PartialEq)]
pub struct VpcEndpointConfig {
    /// CloudFormation logical id.
    pub logical_id: String,
    /// `vpce-` and 17 hex digits.
    pub id: String,
    /// `VpcId`.
    pub vpc_id: String,
    /// `VpcEndpointType`.
    pub kind: VpcEndpointType,
    /// `ServiceName`, as written.
    pub service_name: String,
    /// The emulated service it names, if any.
    pub service: Option<EndpointService>,
    /// `SubnetIds`: one ENI each.
    pub subnet_ids: Vec<String>,
    /// `SecurityGroupIds`: the ENIs' groups.
    pub security_groups: Vec<String>,
    /// `PrivateDnsEnabled`.
    pub private_dns: bool,
    /// `PolicyDocument` (absent: AWS's default full-access policy).
    pub policy: Option<Value>,
    /// The 8 characters after the id in its DNS names.
    pub dns_label: String,
}

/// Every EC2 resource of this module a scenario declares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ec2Model {
    /// Instances.
    pub instances: Vec<InstanceConfig>,
    /// Route tables.
    pub route_tables: Vec<RouteTableConfig>,
    /// Routes.
    pub routes: Vec<RouteConfig>,
    /// Subnet associations.
    pub associations: Vec<AssociationConfig>,
    /// Internet gateways.
    pub internet_gateways: Vec<InternetGatewayConfig>,
    /// Their attachments to VPCs.
    pub attachments: Vec<GatewayAttachmentConfig>,
    /// NAT gateways.
    pub nat_gateways: Vec<NatGatewayConfig>,
    /// Elastic IPs.
    pub eips: Vec<EipConfig>,
    /// VPC endpoints.
    pub vpc_endpoints: Vec<VpcEndpointConfig>,
    /// Subnets with `MapPublicIpOnLaunch: true`.
    pub public_ip_subnets: Vec<String>,
    /// `(rest api id, vpce id)` of `EndpointConfiguration.VpcEndpointIds`.
    pub api_endpoint_associations: Vec<(String, String)>,
    /// Compute bound to the user's own processes ([`binding`]).
    pub bindings: Vec<binding::BindingConfig>,
    /// Network interfaces (standalone, and instances' secondary ones).
    pub network_interfaces: Vec<NetworkInterfaceConfig>,
    /// Elastic IP associations.
    pub eip_associations: Vec<EipAssociationConfig>,
    /// Security groups by `GroupName` (the environment's and the templates'), which rules name
    /// with `SourceSecurityGroupName`.
    pub group_names: std::collections::BTreeMap<String, String>,
}

/// How a request reached an emulated service: put in the request's extensions by the listener
/// that accepted it, read by API Gateway (PRIVATE APIs, `aws:SourceVpce`) and the endpoint
/// policy check.
#[derive(Clone, Debug)]
pub enum Arrival {
    /// Through an interface endpoint.
    Endpoint {
        /// `vpce-…` (`aws:SourceVpce`).
        vpce_id: String,
        /// The endpoint's VPC (`aws:SourceVpc`).
        vpc_id: String,
        /// The client's private address (`aws:VpcSourceIp`).
        source_ip: IpAddr,
        /// The endpoint policy (absent: full access).
        policy: Option<Arc<NamedPolicy>>,
    },
    /// Over the internet, to a public endpoint.
    Internet {
        /// The public address the request came from (`aws:SourceIp`): the instance's public IP
        /// or the NAT gateway's Elastic IP.
        source_ip: IpAddr,
    },
}

impl Arrival {
    /// The endpoint id, when the request came through one.
    pub fn vpce_id(&self) -> Option<&str> {
        match self {
            Arrival::Endpoint { vpce_id, .. } => Some(vpce_id),
            Arrival::Internet { .. } => None,
        }
    }

    /// Fills the network condition keys of `context` and returns the gates (the endpoint
    /// policy) that apply: through an endpoint `aws:SourceVpce`, `aws:SourceVpc` and
    /// `aws:VpcSourceIp` are present and `aws:SourceIp` is not; over the internet
    /// `aws:SourceIp` is the public address
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>).
    pub fn apply(&self, context: &mut crate::iam::RequestContext) -> Vec<NamedPolicy> {
        use crate::iam::keys;
        match self {
            Arrival::Endpoint {
                vpce_id,
                vpc_id,
                source_ip,
                policy,
            } => {
                context.insert(keys::SOURCE_VPCE, vpce_id.clone());
                context.insert(keys::SOURCE_VPC, vpc_id.clone());
                context.insert(keys::VPC_SOURCE_IP, source_ip.to_string());
                context.remove(keys::SOURCE_IP);
                policy.iter().map(|p| (**p).clone()).collect()
            }
            Arrival::Internet { source_ip } => {
                context.insert(keys::SOURCE_IP, source_ip.to_string());
                Vec::new()
            }
        }
    }
}

/// Why EC2 could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An ENI could not be made.
    #[error("{owner}: {source}")]
    Eni {
        /// The instance or endpoint.
        owner: String,
        /// Why.
        #[source]
        source: EniError,
    },
    /// An instance names a network interface the model does not have (the loader checks it
    /// first).
    #[error("{instance}: no network interface {interface}")]
    UnknownInterface {
        /// The instance.
        instance: String,
        /// The interface id.
        interface: String,
    },
    /// The public endpoints' certificate could not be made.
    #[error("public endpoint certificate: {0}")]
    Pki(#[from] PkiError),
    /// An endpoint policy did not parse (the scenario checks it first).
    #[error("endpoint {id}: policy: {reason}")]
    Policy {
        /// The endpoint.
        id: String,
        /// Why.
        reason: String,
    },
}

/// What a service endpoint's listener answers with.
pub type ServiceFuture = Pin<Box<dyn Future<Output = http::Response<Full<Bytes>>> + Send>>;

/// The emulated AWS services behind the public and interface endpoints' listeners: `serve`'s
/// edge implements it and installs itself with [`Ec2::attach`]. Each request carries its
/// [`Arrival`] and [`Trace`] in its extensions.
pub trait Services: Send + Sync + 'static {
    /// API Gateway's data plane: a request to `{api-id}.execute-api.<region>.amazonaws.com`
    /// (its `Host` already read back from an endpoint-specific name).
    fn execute_api(self: Arc<Self>, req: http::Request<Bytes>) -> ServiceFuture;
    /// The JSON APIs (Step Functions, EventBridge, Secrets Manager) and API Gateway's control
    /// plane.
    fn aws(self: Arc<Self>, parts: http::request::Parts, body: Bytes) -> ServiceFuture;
    /// The JSON protocol's `AccessDeniedException` (`json_version` `1.0` or `1.1`) for a request
    /// an interface endpoint's policy refused.
    fn access_denied(&self, json_version: &str, message: String) -> http::Response<Full<Bytes>>;
}

/// Where the listeners find the emulated services (set by [`Ec2::attach`]).
#[derive(Clone, Debug, Default)]
pub struct ServiceSlot(Arc<RwLock<Option<Weak<dyn Services>>>>);

impl ServiceSlot {
    /// The services, if attached and still running.
    pub fn get(&self) -> Option<Arc<dyn Services>> {
        self.0.read().ok()?.as_ref()?.upgrade()
    }

    fn set(&self, services: Weak<dyn Services>) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(services);
        }
    }
}

/// Everything an instance's connections pass through, handed in by the world: the network, the
/// VPCs' resolvers, EC2 itself (routes, the internet) and VPC Lattice.
pub trait Fabric: Send + Sync {
    /// The virtual network.
    fn net(&self) -> &Network;
    /// The resolver (Route 53 Resolver at `.2`) of a VPC.
    fn dns(&self, vpc_id: &str) -> Option<&DnsServer>;
    /// EC2: instances, route tables, the internet.
    fn ec2(&self) -> &Ec2;
    /// The TLS client configuration of the AWS side (it trusts the emulated public CA).
    fn tls_client(&self) -> &Arc<rustls::ClientConfig>;
    /// The world's clock.
    fn clock(&self) -> &Clock;
    /// The Region.
    fn region(&self) -> &str;
    /// Whether `ip` is a VPC Lattice service's address.
    fn is_lattice_address(&self, ip: IpAddr) -> bool;
    /// Opens a connection from `eni` to a VPC Lattice service's address.
    fn lattice_connect(
        &self,
        eni: &Arc<Eni>,
        dst: SocketAddr,
        trace: &Trace,
    ) -> impl Future<Output = Result<DuplexStream, OpenError>> + Send;
}

/// What [`Ec2::start`] is handed besides the model.
#[derive(Clone, Copy, Debug)]
pub struct StartContext<'a> {
    /// The Region.
    pub region: &'a str,
    /// The VPCs (their ranges are the `local` routes).
    pub vpcs: &'a [Vpc],
    /// The virtual network.
    pub net: &'a Network,
    /// The emulated public CA (the endpoints' certificate).
    pub pki: &'a Pki,
    /// IAM: the principal behind a request's access key, for endpoint policies.
    pub iam: &'a Arc<Directory>,
    /// The world's clock.
    pub clock: &'a Clock,
}

/// What every service endpoint's listener shares.
#[derive(Debug)]
pub(crate) struct Listening {
    pub(crate) tls: Arc<rustls::ServerConfig>,
    pub(crate) slot: ServiceSlot,
    pub(crate) region: String,
    pub(crate) iam: Arc<Directory>,
    pub(crate) clock: Clock,
}

/// A proxy opened for an instance (see [`crate::proxy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPorts {
    /// The HTTP proxy (CONNECT and absolute-URI forms).
    pub http: std::net::SocketAddr,
    /// The SOCKS5 proxy.
    pub socks: std::net::SocketAddr,
}

/// The running EC2 side of a world.
#[derive(Debug)]
pub struct Ec2 {
    model: Ec2Model,
    region: String,
    /// Each VPC's range, by id.
    vpc_cidrs: HashMap<String, Ipv4Net>,
    instances: Vec<Arc<Instance>>,
    endpoints: Vec<Arc<InterfaceEndpoint>>,
    /// The public AWS service endpoints.
    pub internet: Internet,
    slot: ServiceSlot,
    proxies: RwLock<HashMap<String, ProxyPorts>>,
    /// The relays of bound instances and tasks ([`binding`]); dropped with the world.
    relays: tokio::task::JoinSet<()>,
}

impl Ec2 {
    /// Creates the instances' and endpoints' ENIs and starts the endpoints' and the public
    /// endpoints' listeners (they answer once [`Ec2::attach`] gives them the services).
    pub fn start(ec2: &Ec2Model, cx: StartContext<'_>) -> Result<Self, StartError> {
        let StartContext { region, net, .. } = cx;
        let slot = ServiceSlot::default();
        let shared = Arc::new(Listening {
            tls: internet::server_config(cx.pki, region)?,
            slot: slot.clone(),
            region: region.to_string(),
            iam: cx.iam.clone(),
            clock: cx.clock.clone(),
        });
        // Network interfaces first: instances attach them.
        let mut interfaces = HashMap::new();
        for cfg in &ec2.network_interfaces {
            // An instance's primary interface takes the address the instance was given (a
            // binding places an unpinned instance's address on its instance config).
            let address = cfg.private_ip.or_else(|| {
                ec2.instances
                    .iter()
                    .find(|i| i.primary_interface.as_ref() == Some(&cfg.id))
                    .and_then(|i| i.private_ip)
            });
            let eni = match address {
                Some(ip) => net.create_eni_at(
                    &cfg.subnet_id,
                    IpAddr::V4(ip),
                    cfg.security_groups.clone(),
                    cfg.description.clone(),
                ),
                None => net.create_eni(
                    &cfg.subnet_id,
                    cfg.security_groups.clone(),
                    cfg.description.clone(),
                ),
            }
            .map_err(|source| StartError::Eni {
                owner: cfg.id.clone(),
                source,
            })?;
            interfaces.insert(cfg.id.clone(), eni);
        }
        let mut instances = Vec::new();
        for (i, cfg) in ec2.instances.iter().enumerate() {
            instances.push(Arc::new(Instance::create_with(
                net,
                ec2,
                cfg,
                i,
                &interfaces,
            )?));
        }
        let mut endpoints = Vec::new();
        for cfg in ec2
            .vpc_endpoints
            .iter()
            .filter(|e| e.kind == VpcEndpointType::Interface)
        {
            endpoints.push(Arc::new(InterfaceEndpoint::start(
                net,
                cfg,
                shared.clone(),
            )?));
        }
        let internet = Internet::new(shared);
        Ok(Self {
            model: ec2.clone(),
            region: region.to_string(),
            vpc_cidrs: cx.vpcs.iter().map(|v| (v.id.clone(), v.cidr)).collect(),
            instances,
            endpoints,
            internet,
            slot,
            proxies: RwLock::new(HashMap::new()),
            relays: tokio::task::JoinSet::new(),
        })
    }

    /// Starts the relays of the model's bindings (bound instances and ECS tasks,
    /// [`binding`]): call once, after [`Ec2::start`].
    pub fn start_bindings(
        &mut self,
        net: &Network,
        clock: &crate::clock::Clock,
    ) -> Result<(), StartError> {
        let instances = self.instances.clone();
        binding::start(
            net,
            &self.model.bindings,
            clock,
            |id| {
                instances
                    .iter()
                    .find(|i| i.config.logical_id == id)
                    .map(|i| i.eni.clone())
            },
            &mut self.relays,
        )
    }

    /// The model this was started from.
    pub fn model(&self) -> &Ec2Model {
        &self.model
    }

    /// The Region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A VPC's range.
    pub fn vpc_cidr(&self, vpc_id: &str) -> Option<Ipv4Net> {
        self.vpc_cidrs.get(vpc_id).copied()
    }

    /// The instances.
    pub fn instances(&self) -> &[Arc<Instance>] {
        &self.instances
    }

    /// The instance with this logical id or id.
    pub fn instance(&self, key: &str) -> Option<Arc<Instance>> {
        self.instances
            .iter()
            .find(|i| i.config.logical_id == key || i.config.id == key)
            .cloned()
    }

    /// The interface endpoints.
    pub fn endpoints(&self) -> &[Arc<InterfaceEndpoint>] {
        &self.endpoints
    }

    /// The interface endpoint with this id or logical id.
    pub fn endpoint(&self, key: &str) -> Option<Arc<InterfaceEndpoint>> {
        self.endpoints
            .iter()
            .find(|e| e.config.id == key || e.config.logical_id == key)
            .cloned()
    }

    /// The DNS zones `vpc_id`'s resolver serves besides its hosted zones: public AWS service
    /// names (or, where an endpoint with private DNS overrides one, its private zone), the
    /// public names of `public_apis` (the ids of the REST APIs that are not PRIVATE and of the
    /// HTTP APIs), and every interface endpoint's own names.
    pub fn zones_for(&self, vpc_id: &str, public_apis: &[&str]) -> Vec<Zone> {
        endpoint::zones_for(self, vpc_id, public_apis)
    }

    /// Records the proxies opened for an instance.
    pub fn set_proxy(&self, instance_id: &str, ports: ProxyPorts) {
        if let Ok(mut p) = self.proxies.write() {
            p.insert(instance_id.to_string(), ports);
        }
    }

    /// The proxies of an instance, if opened.
    pub fn proxy(&self, instance_id: &str) -> Option<ProxyPorts> {
        self.proxies.read().ok()?.get(instance_id).cloned()
    }

    /// The services the listeners dispatch to.
    pub fn services(&self) -> &ServiceSlot {
        &self.slot
    }

    /// Hands the emulated services (`serve`'s edge) to the interface endpoints' and the public
    /// endpoints' listeners. The listeners keep only a weak reference: dropping the services
    /// stops their answers (new connections are refused).
    pub fn attach(&self, services: Weak<dyn Services>) {
        self.slot.set(services);
    }
}

/// The public IPv4 address an instance uses on the internet, if it has one: an Elastic IP
/// associated with it, else one auto-assigned at launch (`AssociatePublicIpAddress`, or the
/// subnet's `MapPublicIpOnLaunch`) from 192.0.2.0/24 (TEST-NET-1).
pub(crate) fn public_ip_of(
    model: &Ec2Model,
    cfg: &InstanceConfig,
    index: usize,
) -> Option<Ipv4Addr> {
    if let Some(eip) = model.eips.iter().find(|e| {
        e.instance_id.as_deref() == Some(cfg.id.as_str())
            || (e.network_interface_id.is_some() && e.network_interface_id == cfg.primary_interface)
    }) {
        return Some(eip.public_ip);
    }
    let auto = cfg
        .associate_public_ip
        .unwrap_or_else(|| model.public_ip_subnets.contains(&cfg.subnet_id));
    auto.then(|| Ipv4Addr::new(192, 0, 2, 10 + (index % 200) as u8))
}

/// The SigV4 service name a client signs for when it calls `host`: `states` for
/// `states.<region>.amazonaws.com` and `sync-states.…` (botocore's host prefix), `execute-api`
/// for `{api-id}.execute-api.<region>.amazonaws.com`, `apigateway`, `events`, `secretsmanager`
/// for theirs; `None` for any other host.
pub fn signing_service(host: &str, region: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let below = host.strip_suffix(&format!(".{region}.amazonaws.com"))?;
    let label = below.rsplit('.').next().unwrap_or(below);
    Some(match label {
        "states" | "sync-states" => "states",
        "execute-api" => "execute-api",
        "apigateway" => "apigateway",
        "events" => "events",
        "secretsmanager" => "secretsmanager",
        _ => return None,
    })
}

/// The ENI of an instance (for callers holding only the config).
pub fn eni_of(instance: &Instance) -> &Arc<Eni> {
    &instance.eni
}
