//! The running world: components built from a validated [`Model`].
//!
//! Configuration flows one way — scenario -> model -> world. [`World::build`] creates the VPCs
//! and security groups, a DNS server per VPC, the emulated CA and the certificates ACM holds,
//! the load balancers with their listeners, the Lattice resource gateways, the connections with
//! their secrets, and the IAM directory. The world is one owner with cheap handles: clones share
//! it; dropping the last one stops every listener.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::alb::{AlbError, LoadBalancer};
use crate::authz::{Directory, PolicyLoadError};
use crate::clock::Clock;
use crate::dns::{DnsRecord, DnsServer, RecordData, Zone, ZoneError, records};
use crate::events::Connections;
use crate::lattice::{GatewayError, ResourceConfigurationConfig, ResourceGateway};
use crate::model::Model;
use crate::pki::{IssuedCertificate, Issuer, Pki, PkiError};
use crate::secrets::SecretsManager;
use crate::vpc::Network;

/// Why a world could not be built from a model.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The CA or a certificate could not be made.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A hosted zone is invalid.
    #[error("hosted zone: {0}")]
    Zone(#[from] ZoneError),
    /// A load balancer could not start.
    #[error(transparent)]
    Alb(#[from] AlbError),
    /// A resource gateway could not start.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// API Gateway could not start (Pattern B).
    #[error(transparent)]
    ApiGateway(#[from] crate::apigw::StartError),
    /// The Lattice service networks could not start.
    #[error(transparent)]
    Lattice(#[from] crate::lattice::service_network::LatticeStartError),
    /// Instances or VPC endpoints could not start.
    #[error(transparent)]
    Ec2(#[from] crate::ec2::StartError),
    /// A Network Load Balancer could not start.
    #[error(transparent)]
    Nlb(#[from] crate::nlb::NlbError),
    /// Identity policies did not parse.
    #[error("{}", .0.iter().map(|e| format!("Resources.{}.{}: {}", e.logical_id, e.path, e.error)).collect::<Vec<_>>().join("; "))]
    Policies(Vec<PolicyLoadError>),
}

/// Everything that runs.
#[derive(Debug)]
pub struct WorldInner {
    /// The validated model.
    pub model: Model,
    /// The wall clock (on tokio's clock).
    pub clock: Clock,
    /// The virtual network.
    pub net: Network,
    /// The emulated public CA.
    pub pki: Pki,
    /// Certificates ACM holds, by ARN.
    pub certificates: HashMap<String, Arc<IssuedCertificate>>,
    /// The DNS server of each VPC, by VPC id.
    pub dns: HashMap<String, DnsServer>,
    /// Resource gateways by id.
    pub gateways: HashMap<String, ResourceGateway>,
    /// Resource configurations by ARN.
    pub resource_configurations: HashMap<String, ResourceConfigurationConfig>,
    /// EventBridge connections.
    pub connections: Connections,
    /// EventBridge buses, rules, API destinations and the deliveries made.
    pub events: crate::events::EventBridge,
    /// Secrets Manager.
    pub secrets: SecretsManager,
    /// IAM.
    pub iam: Arc<Directory>,
    /// The TLS client configuration of the AWS side.
    pub tls_client: Arc<rustls::ClientConfig>,
    /// API Gateway: deployed REST API stages and VPC links (Pattern B), with its handles.
    pub apigw: Arc<crate::apigw::ApiGateway>,
    /// VPC Lattice service networks: data plane, health checks, instances, workloads.
    pub lattice: crate::lattice::service_network::LatticeServices,
    /// Instances, routes, the public service endpoints and the interface VPC endpoints.
    pub ec2: crate::ec2::Ec2,
    /// Network Load Balancers and the health of their targets.
    pub nlbs: crate::nlb::Nlbs,
    load_balancers: Mutex<Vec<LoadBalancer>>,
}

/// A handle to the running world.
#[derive(Clone, Debug)]
pub struct World {
    inner: Arc<WorldInner>,
}

impl std::ops::Deref for World {
    type Target = WorldInner;
    fn deref(&self) -> &WorldInner {
        &self.inner
    }
}

impl Drop for WorldInner {
    fn drop(&mut self) {
        if let Ok(mut lbs) = self.load_balancers.lock() {
            for lb in lbs.iter_mut() {
                lb.shutdown();
            }
        }
        self.nlbs.shutdown();
    }
}

impl World {
    /// Builds and starts everything the model declares. Must run inside a tokio runtime.
    pub fn build(model: Model, clock: Clock) -> Result<Self, WorldError> {
        let pki = Pki::new(&clock)?;
        Self::build_with_pki(model, clock, pki)
    }

    /// Like [`World::build`], with a given CA (for instance the root a user keeps and trusts).
    pub fn build_with_pki(model: Model, clock: Clock, pki: Pki) -> Result<Self, WorldError> {
        let net = Network::new();
        for vpc in &model.vpcs {
            net.add_vpc(vpc.clone());
        }
        for sg in &model.security_groups {
            net.put_group(sg.clone());
        }
        let mut certificates = HashMap::new();
        for cert in &model.certificates {
            let issued = match cert.issuer {
                Issuer::PublicCa => pki.issue(&cert.names)?,
                Issuer::SelfSigned => pki.self_signed(&cert.names)?,
            };
            certificates.insert(cert.arn.clone(), Arc::new(issued));
        }

        let mut load_balancers = Vec::new();
        for lb in &model.load_balancers {
            let listeners = model
                .listeners
                .iter()
                .filter(|l| l.load_balancer_arn == lb.arn)
                .cloned()
                .collect();
            let started = LoadBalancer::start(
                &net,
                lb.clone(),
                listeners,
                clock.clone(),
                pki.provider(),
                |arn| certificates.get(arn).cloned(),
            )?;
            load_balancers.push(started);
        }

        // DNS: every VPC sees its private zones and every load balancer's name (ELB names are
        // public DNS records, answered with the nodes' private addresses for internal ALBs).
        let mut lb_zones = Vec::new();
        let mut lb_addresses: HashMap<String, Vec<std::net::Ipv4Addr>> = HashMap::new();
        let mut publish = |dns_name: &str, ips: Vec<std::net::Ipv4Addr>| {
            lb_addresses.insert(dns_name.to_ascii_lowercase(), ips.clone());
            lb_zones.push(Zone {
                origin: dns_name.to_string(),
                records: records(
                    ips.into_iter()
                        .map(|ip| (dns_name.to_string(), RecordData::A(ip))),
                ),
            });
        };
        for lb in &load_balancers {
            publish(&lb.config.dns_name, ipv4s(lb.nodes.iter().map(|n| n.ip)));
        }
        // Instances and interface endpoints (their ENIs and DNS names), the public endpoints.
        let iam = Arc::new(Directory::new(model.iam()).map_err(WorldError::Policies)?);
        let mut ec2 = crate::ec2::Ec2::start(
            &model.ec2,
            crate::ec2::StartContext {
                region: &model.region,
                vpcs: &model.vpcs,
                net: &net,
                pki: &pki,
                iam: &iam,
                clock: &clock,
            },
        )?;
        let public_apis = public_apis(&model);
        ec2.start_bindings(&net, &clock)?;
        // Network Load Balancers, once instances (their targets) and ALBs (`alb` targets) run;
        // their names resolve like ALBs'.
        let nlbs = {
            let instances: HashMap<String, Arc<crate::vpc::Eni>> = ec2
                .instances()
                .iter()
                .map(|i| (i.config.id.clone(), i.eni.clone()))
                .collect();
            let albs: HashMap<String, (String, Vec<Arc<crate::vpc::Eni>>)> = load_balancers
                .iter()
                .map(|lb| {
                    (
                        lb.config.arn.clone(),
                        (lb.config.vpc_id.clone(), lb.nodes.clone()),
                    )
                })
                .collect();
            crate::nlb::Nlbs::start(
                &model.nlb,
                crate::nlb::StartContext {
                    net: &net,
                    clock: &clock,
                    provider: pki.provider(),
                    certificates: &certificates,
                    instances: &instances,
                    albs: &albs,
                },
            )?
        };
        for lb in nlbs.all() {
            publish(&lb.config.dns_name, ipv4s(lb.nodes.iter().map(|n| n.ip)));
        }
        let mut dns = HashMap::new();
        for vpc in &model.vpcs {
            let mut zones = lb_zones.clone();
            // VPC Lattice: the generated names of the services this VPC can reach.
            zones.extend(model.lattice.dns_zones(&vpc.id));
            zones.extend(ec2.zones_for(&vpc.id, &public_apis));
            for zone in model
                .hosted_zones
                .iter()
                .filter(|z| z.vpc_ids.contains(&vpc.id))
            {
                let mut recs = Vec::new();
                for r in &zone.records {
                    let record = |data| DnsRecord {
                        name: r.name.clone(),
                        ttl: r.ttl,
                        data,
                    };
                    if let Some(alias) = &r.alias {
                        // An alias answers with the target's addresses (Route 53 alias records).
                        recs.extend(
                            lb_addresses
                                .get(alias)
                                .into_iter()
                                .flatten()
                                .map(|ip| record(RecordData::A(*ip))),
                        );
                        continue;
                    }
                    for v in &r.values {
                        let data = match r.record_type.as_str() {
                            "A" => v.parse().map(RecordData::A).ok(),
                            "AAAA" => v.parse().map(RecordData::Aaaa).ok(),
                            "CNAME" => Some(RecordData::Cname(v.clone())),
                            _ => Some(RecordData::Txt(v.clone())),
                        };
                        recs.extend(data.map(record));
                    }
                }
                zones.push(Zone {
                    origin: zone.name.clone(),
                    records: recs,
                });
            }
            dns.insert(vpc.id.clone(), DnsServer::new(vpc.dns_server(), &zones)?);
        }

        // The emulated public DNS: what the world publishes on the internet — load balancers'
        // names (AWS publishes internal ALBs' names too, resolving to private addresses) and the
        // public service endpoints (ec2::internet); never a private hosted zone. Anything else
        // is NXDOMAIN. Resource gateways with `ResourceConfigDnsResolution: PUBLIC` (the
        // default) resolve here (vpc-lattice/latest/ug/resource-gateway.html: PUBLIC uses public
        // resolvers, IN_VPC the VPC's DNS).
        let mut public_zones = lb_zones.clone();
        public_zones.extend(ec2.zones_for("", &public_apis));
        let public_dns = DnsServer::new(
            crate::lattice::PUBLIC_RESOLVER_IP
                .parse()
                .expect("literal address"),
            &public_zones,
        )?;

        let mut gateways = HashMap::new();
        for gw in &model.resource_gateways {
            let server = match gw.dns_resolution {
                crate::lattice::DnsResolution::InVpc => dns.get(&gw.vpc_id).cloned(),
                crate::lattice::DnsResolution::Public => Some(public_dns.clone()),
            };
            let started = ResourceGateway::start(&net, gw.clone(), |ip| {
                server
                    .as_ref()
                    .expect("gateway VPC validated by the scenario")
                    .resolver(ip)
            })?;
            gateways.insert(gw.id.clone(), started);
        }
        let resource_configurations = model
            .resource_configurations
            .iter()
            .map(|rc| (rc.arn.clone(), rc.clone()))
            .collect();

        let secrets = SecretsManager::new(&model.region, &model.account);
        let connections = Connections::new();
        for conn in &model.connections {
            let suffix = conn.secret_arn.rsplit('-').next().unwrap_or("AbCdEf");
            secrets.put(&conn.secret_name, suffix, conn.secret_value());
            connections.put(conn.clone());
        }
        let tls_client = pki.client_config();
        // API Gateway (Pattern B): VPC link ENIs, deployed stages, integration targets.
        let apigw = start_apigw(
            &model,
            &clock,
            &iam,
            &net,
            &tls_client,
            &load_balancers,
            &nlbs,
        )?;
        // VPC Lattice service networks (lattice::service_network).
        let lattice = {
            let alb_nodes = load_balancers
                .iter()
                .map(|lb| {
                    (
                        lb.config.arn.clone(),
                        (
                            lb.config.vpc_id.clone(),
                            lb.nodes.iter().map(|n| n.ip).collect(),
                        ),
                    )
                })
                .collect();
            crate::lattice::service_network::LatticeServices::start(
                &model.lattice,
                crate::lattice::service_network::StartContext {
                    region: &model.region,
                    account: &model.account,
                    net: &net,
                    clock: &clock,
                    pki: &pki,
                    certificates: &certificates,
                    iam: iam.clone(),
                    alb_nodes,
                    instance_enis: ec2
                        .instances()
                        .iter()
                        .map(|i| (i.config.logical_id.clone(), i.eni.clone()))
                        .collect(),
                },
            )?
        };
        let events = crate::events::EventBridge::from_model(&model.events);
        Ok(Self {
            inner: Arc::new(WorldInner {
                model,
                clock,
                net,
                pki,
                certificates,
                dns,
                gateways,
                resource_configurations,
                connections,
                events,
                secrets,
                iam,
                tls_client,
                apigw,
                lattice,
                ec2,
                nlbs,
                load_balancers: Mutex::new(load_balancers),
            }),
        })
    }

    /// The load balancers' DNS names and node addresses, for display.
    pub fn load_balancer_nodes(&self) -> Vec<(String, Vec<std::net::IpAddr>)> {
        self.load_balancers
            .lock()
            .expect("lock")
            .iter()
            .map(|lb| {
                (
                    lb.config.dns_name.clone(),
                    lb.nodes.iter().map(|n| n.ip).collect(),
                )
            })
            .chain(self.nlbs.all().map(|lb| {
                (
                    lb.config.dns_name.clone(),
                    lb.nodes.iter().map(|n| n.ip).collect(),
                )
            }))
            .collect()
    }
}

// The service-call stack (apigw, events, sfn): each component is handed the narrow handles it
// needs here; none of them names the world (issue 12).

/// API Gateway with its handles: the VPC links' ENIs, the deployed stages, the integration
/// targets among the running load balancers.
fn start_apigw(
    model: &Model,
    clock: &Clock,
    iam: &Arc<Directory>,
    net: &Network,
    tls_client: &Arc<rustls::ClientConfig>,
    load_balancers: &[LoadBalancer],
    nlbs: &crate::nlb::Nlbs,
) -> Result<Arc<crate::apigw::ApiGateway>, crate::apigw::StartError> {
    let deps = crate::apigw::Deps {
        clock: clock.clone(),
        iam: iam.clone(),
        net: net.clone(),
        tls_client: tls_client.clone(),
        region: model.region.clone(),
        account: model.account.clone(),
    };
    let targets = crate::apigw::Targets {
        load_balancers,
        listeners: &model.listeners,
        nlbs,
        nlb_listeners: &model.nlb.listeners,
    };
    crate::apigw::ApiGateway::start(deps, &model.apigw, targets).map(Arc::new)
}

/// The connection's invocation path (EventBridge's API destinations, the HTTP Task).
impl crate::events::invoke::Reach for World {
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn iam(&self) -> &Directory {
        &self.iam
    }
    fn net(&self) -> &Network {
        &self.net
    }
    fn tls_client(&self) -> &Arc<rustls::ClientConfig> {
        &self.tls_client
    }
    fn region(&self) -> &str {
        &self.model.region
    }
    fn connections(&self) -> &Connections {
        &self.connections
    }
    fn resource_configuration(&self, arn: &str) -> Option<&ResourceConfigurationConfig> {
        self.resource_configurations.get(arn)
    }
    fn resource_gateway(&self, id: &str) -> Option<&ResourceGateway> {
        self.gateways.get(id)
    }
    fn public_endpoints(&self) -> &[crate::events::public::PublicEndpoint] {
        &self.model.events.public_endpoints
    }
    fn internet(&self) -> &crate::ec2::Internet {
        &self.ec2.internet
    }
    fn apigw(&self) -> &Arc<crate::apigw::ApiGateway> {
        &self.apigw
    }
}

/// EventBridge's deliveries to rule targets.
impl crate::events::target::Host for World {
    fn eventbridge(&self) -> &crate::events::EventBridge {
        &self.events
    }
    fn secrets(&self) -> &SecretsManager {
        &self.secrets
    }
}

/// Step Functions' executions and task integrations.
impl crate::sfn::Host for World {
    fn account(&self) -> &str {
        &self.model.account
    }
    fn state_machines(&self) -> &[crate::sfn::StateMachine] {
        &self.model.state_machines
    }
    fn shared(&self) -> Arc<dyn crate::sfn::Host> {
        Arc::new(self.clone())
    }
}

/// The IPv4 addresses among `ips` (the load balancers' nodes: their names' A records).
fn ipv4s(ips: impl Iterator<Item = std::net::IpAddr>) -> Vec<std::net::Ipv4Addr> {
    ips.filter_map(|ip| match ip {
        std::net::IpAddr::V4(v4) => Some(v4),
        std::net::IpAddr::V6(_) => None,
    })
    .collect()
}

/// The ids of the APIs with a public `execute-api` name: the REST APIs that are not PRIVATE and
/// every HTTP API (they have no private endpoint type; one whose default endpoint is disabled
/// still resolves and answers 403, apigw::http_api).
fn public_apis(model: &Model) -> Vec<&str> {
    model
        .apigw
        .rest_apis
        .iter()
        .filter(|a| a.endpoint_type != crate::apigw::EndpointType::Private)
        .map(|a| a.id.as_str())
        .chain(model.apigw.http.apis.iter().map(|a| a.id.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The handles the world hands its components (world-b): what an instance's connections pass
// through (ec2::Fabric) and what a VPC Lattice client needs (lattice::service_network::Clients).
// ---------------------------------------------------------------------------------------------

impl crate::ec2::Fabric for World {
    fn net(&self) -> &Network {
        &self.net
    }

    fn dns(&self, vpc_id: &str) -> Option<&DnsServer> {
        self.dns.get(vpc_id)
    }

    fn ec2(&self) -> &crate::ec2::Ec2 {
        &self.ec2
    }

    fn tls_client(&self) -> &Arc<rustls::ClientConfig> {
        &self.tls_client
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn region(&self) -> &str {
        &self.model.region
    }

    fn is_lattice_address(&self, ip: std::net::IpAddr) -> bool {
        crate::lattice::service_network::LatticeServices::is_lattice_address(ip)
    }

    async fn lattice_connect(
        &self,
        eni: &Arc<crate::vpc::Eni>,
        dst: std::net::SocketAddr,
        trace: &crate::trace::Trace,
    ) -> Result<tokio::io::DuplexStream, crate::ec2::OpenError> {
        use crate::lattice::service_network::LatticeSnError;
        self.lattice
            .connect(eni, dst, trace)
            .await
            .map_err(|e| match e {
                LatticeSnError::Refused { addr } => {
                    crate::ec2::OpenError::Refused(crate::vpc::ConnectError::Refused { addr })
                }
                other => crate::ec2::OpenError::Lattice {
                    reason: other.to_string(),
                },
            })
    }
}

impl crate::lattice::service_network::Clients for World {
    fn lattice(&self) -> &crate::lattice::service_network::LatticeServices {
        &self.lattice
    }

    fn iam(&self) -> &Directory {
        &self.iam
    }
}
