//! Interface VPC endpoints (AWS PrivateLink) for the emulated services.
//!
//! - One ENI per subnet (one subnet per Availability Zone), carrying the endpoint's security
//!   groups: their ingress rules decide who reaches it on 443 (`vpc::Network` applies them).
//! - DNS names (<https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html>;
//!   shapes as the Neptune Analytics guide shows them,
//!   <https://docs.aws.amazon.com/neptune-analytics/latest/userguide/gettingStarted-connecting-private-link-access.html>,
//!   with an 8-character label as in `vpce-0b7a22d021cc42f88-gectb2xb.execute-api.us-east-2.vpce.amazonaws.com`):
//!   regional `vpce-<17 hex>-<8 chars>.<service>.<region>.vpce.amazonaws.com` (every ENI) and
//!   zonal `vpce-<17 hex>-<8 chars>-<az>.<service>.<region>.vpce.amazonaws.com` (that zone's
//!   ENI). They are public DNS records answering with the private addresses.
//! - Private DNS (`PrivateDnsEnabled`): a private hosted zone for the service's default name
//!   (`states.<region>.amazonaws.com`), associated with the endpoint's VPC only, that answers
//!   with the ENIs — for `execute-api` the zone also holds `*.execute-api.<region>.amazonaws.com`
//!   (`CreateVpcEndpoint` `PrivateDnsEnabled`; the `execute-api` names from
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-apis.html>).
//! - Each ENI listens on 443 with TLS (certificates of the emulated public CA for the service's
//!   names and `*.<service>.<region>.vpce.amazonaws.com`) and hands requests to the service with
//!   an [`Arrival::Endpoint`], which API Gateway turns into `aws:SourceVpce` / `aws:SourceVpc`.
//! - The endpoint policy is a gate: `execute-api:Invoke` is evaluated with it by API Gateway;
//!   for the JSON services (Step Functions, EventBridge, Secrets Manager) the endpoint evaluates
//!   it before the service sees the request (`vpc-endpoints-access.html`: "An endpoint policy
//!   does not override or replace identity-based policies or resource-based policies").
//!
//! The `execute-api` endpoint carries API Gateway's data plane only: a control-plane request
//! (`GET /restapis`) sent to it is answered by the data plane (403 Forbidden), and
//! `apigateway.<region>.amazonaws.com` is not one of its names — seed 001's pitfall.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::internet::{self, Target};
use super::{Arrival, Ec2, Listening, StartError, VpcEndpointConfig};
use crate::authz::Directory;
use crate::dns::{DnsRecord, RecordData, Zone};
use crate::iam::{NamedPolicy, Policy, PolicyKind};
use crate::trace::Trace;
use crate::vpc::{Eni, Network};

/// The hosted zone id `DnsEntries` gives the `vpce.amazonaws.com` names (us-east-1's, as AWS's
/// examples show it; unconfirmed for other regions).
pub const VPCE_HOSTED_ZONE: &str = "Z7HUB22UULQXV";
/// The hosted zone id `DnsEntries` gives the private DNS name (a placeholder shape).
pub const PRIVATE_HOSTED_ZONE: &str = "ZONEIDPENDING";

/// An AWS service vpcgate emulates behind an interface endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointService {
    /// `com.amazonaws.<region>.execute-api`: API Gateway's data plane (invoking APIs).
    ExecuteApi,
    /// `com.amazonaws.<region>.states`: the Step Functions API.
    States,
    /// `com.amazonaws.<region>.sync-states`: `StartSyncExecution` of Express workflows.
    SyncStates,
    /// `com.amazonaws.<region>.events`: EventBridge.
    Events,
    /// `com.amazonaws.<region>.secretsmanager`: Secrets Manager (the names and the TLS
    /// listener; its API is not emulated by `serve`).
    SecretsManager,
}

impl EndpointService {
    /// Every service.
    pub const ALL: [EndpointService; 5] = [
        EndpointService::ExecuteApi,
        EndpointService::States,
        EndpointService::SyncStates,
        EndpointService::Events,
        EndpointService::SecretsManager,
    ];

    /// The service of `com.amazonaws.<region>.<service>`.
    pub fn from_service_name(name: &str, region: &str) -> Option<Self> {
        let rest = name.strip_prefix(&format!("com.amazonaws.{region}."))?;
        Self::ALL.into_iter().find(|s| s.dns_label() == rest)
    }

    /// The service's label in DNS names (`execute-api`, `sync-states`, …).
    pub fn dns_label(self) -> &'static str {
        match self {
            EndpointService::ExecuteApi => "execute-api",
            EndpointService::States => "states",
            EndpointService::SyncStates => "sync-states",
            EndpointService::Events => "events",
            EndpointService::SecretsManager => "secretsmanager",
        }
    }

    /// The service's default (public) name in `region`.
    pub fn public_name(self, region: &str) -> String {
        format!("{}.{region}.amazonaws.com", self.dns_label())
    }

    pub(crate) fn target(self) -> Target {
        match self {
            EndpointService::ExecuteApi => Target::ExecuteApi,
            _ => Target::Aws,
        }
    }
}

/// A running interface endpoint.
#[derive(Debug)]
pub struct InterfaceEndpoint {
    /// Its configuration.
    pub config: VpcEndpointConfig,
    /// Its ENIs, one per subnet.
    pub enis: Vec<Arc<Eni>>,
    /// The endpoint policy, parsed.
    pub policy: Option<Arc<NamedPolicy>>,
    region: String,
    azs: Vec<String>,
    /// Its listeners on port 443 (open while it lives).
    _serving: Vec<crate::vpc::Serving>,
}

impl InterfaceEndpoint {
    pub(crate) fn start(
        net: &Network,
        config: &VpcEndpointConfig,
        shared: Arc<Listening>,
    ) -> Result<Self, StartError> {
        let policy = match &config.policy {
            None => None,
            Some(doc) => Some(Arc::new(NamedPolicy::new(
                format!("{} endpoint policy", config.id),
                Policy::parse(doc, PolicyKind::VpcEndpoint).map_err(|e| StartError::Policy {
                    id: config.id.clone(),
                    reason: e.to_string(),
                })?,
            ))),
        };
        let mut enis = Vec::new();
        let mut azs = Vec::new();
        let mut serving = Vec::new();
        for subnet in &config.subnet_ids {
            let eni = net
                .create_eni(
                    subnet,
                    config.security_groups.clone(),
                    format!("VPC Endpoint Interface {}", config.id),
                )
                .map_err(|source| StartError::Eni {
                    owner: config.id.clone(),
                    source,
                })?;
            azs.push(
                net.subnet(subnet)
                    .map(|s| s.availability_zone)
                    .unwrap_or_default(),
            );
            if let Some(service) = config.service {
                let shared = shared.clone();
                let vpce_id = config.id.clone();
                let vpc_id = config.vpc_id.clone();
                let policy = policy.clone();
                // Served on the dialler's runtime (vpc::Network::serve).
                serving.push(net.serve(&eni, 443, move |inbound| {
                    let arrival = Arrival::Endpoint {
                        vpce_id: vpce_id.clone(),
                        vpc_id: vpc_id.clone(),
                        source_ip: inbound.peer.ip(),
                        policy: policy.clone(),
                    };
                    inbound.trace.pass(
                        "vpce",
                        format!(
                            "{vpce_id} ({}) accepted {} on {}",
                            service.dns_label(),
                            inbound.peer,
                            inbound.local
                        ),
                    );
                    tokio::spawn(internet::serve_tls(
                        inbound.stream,
                        shared.clone(),
                        arrival,
                        service.target(),
                        inbound.trace,
                    ));
                }));
            }
            enis.push(eni);
        }
        Ok(Self {
            config: config.clone(),
            enis,
            policy,
            region: shared.region.clone(),
            azs,
            _serving: serving,
        })
    }

    /// The label of the service in DNS names (the emulated service's, else the last part of
    /// `ServiceName`).
    pub fn service_label(&self) -> String {
        match self.config.service {
            Some(s) => s.dns_label().to_string(),
            None => self
                .config
                .service_name
                .rsplit('.')
                .next()
                .unwrap_or("service")
                .to_string(),
        }
    }

    /// `vpce-<id>-<label>.<service>.<region>.vpce.amazonaws.com`.
    pub fn regional_name(&self) -> String {
        format!(
            "{}-{}.{}.{}.vpce.amazonaws.com",
            self.config.id,
            self.config.dns_label,
            self.service_label(),
            self.region
        )
    }

    /// `vpce-<id>-<label>-<az>.<service>.<region>.vpce.amazonaws.com`, one per ENI.
    pub fn zonal_names(&self) -> Vec<(String, IpAddr)> {
        self.enis
            .iter()
            .zip(&self.azs)
            .map(|(eni, az)| {
                (
                    format!(
                        "{}-{}-{az}.{}.{}.vpce.amazonaws.com",
                        self.config.id,
                        self.config.dns_label,
                        self.service_label(),
                        self.region
                    ),
                    eni.ip,
                )
            })
            .collect()
    }

    fn addresses(&self) -> Vec<Ipv4Addr> {
        self.enis
            .iter()
            .filter_map(|e| match e.ip {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect()
    }
}

fn a_records(name: &str, ips: &[Ipv4Addr]) -> Vec<DnsRecord> {
    crate::dns::records(ips.iter().map(|ip| (name.to_string(), RecordData::A(*ip))))
}

/// See [`Ec2::zones_for`].
pub(crate) fn zones_for(ec2: &Ec2, vpc_id: &str, public_apis: &[&str]) -> Vec<Zone> {
    let region = &ec2.region;
    let mut zones = Vec::new();
    let private_for = |label: &str| {
        ec2.endpoints.iter().find(|e| {
            e.config.vpc_id == vpc_id && e.config.private_dns && e.service_label() == label
        })
    };
    // Public service names, unless an endpoint's private zone overrides one in this VPC.
    for service in ec2.internet.services() {
        if service.target == Target::ExecuteApi {
            continue;
        }
        let name = format!("{}.{region}.amazonaws.com", service.label);
        let records = match private_for(service.label) {
            Some(e) => a_records(&name, &e.addresses()),
            None => a_records(&name, &[service.ip]),
        };
        zones.push(Zone {
            origin: name,
            records,
        });
    }
    // Private zones of endpoints for services the internet does not list.
    for e in ec2.endpoints.iter().filter(|e| {
        e.config.vpc_id == vpc_id
            && e.config.private_dns
            && ec2.internet.service(&e.service_label()).is_none()
    }) {
        let name = format!("{}.{region}.amazonaws.com", e.service_label());
        zones.push(Zone {
            records: a_records(&name, &e.addresses()),
            origin: name,
        });
    }
    // execute-api: the private zone (apex and wildcard), or the public names of the APIs that
    // are not private and the endpoint-specific names of private APIs associated with endpoints.
    let origin = format!("execute-api.{region}.amazonaws.com");
    let mut records = Vec::new();
    match private_for("execute-api") {
        Some(e) => {
            records.extend(a_records(&origin, &e.addresses()));
            records.extend(a_records(&format!("*.{origin}"), &e.addresses()));
        }
        None => {
            if let Some(public) = ec2.internet.service("execute-api") {
                for api in public_apis {
                    records.extend(a_records(&format!("{api}.{origin}"), &[public.ip]));
                }
            }
            for (api, vpce) in &ec2.model.api_endpoint_associations {
                if let Some(e) = ec2.endpoint(vpce) {
                    records.extend(a_records(&format!("{api}-{vpce}.{origin}"), &e.addresses()));
                }
            }
        }
    }
    zones.push(Zone { origin, records });
    // Every endpoint's own names (public DNS: any VPC resolves them).
    let mut labels: Vec<String> = ec2.endpoints.iter().map(|e| e.service_label()).collect();
    labels.sort();
    labels.dedup();
    for label in labels {
        let origin = format!("{label}.{region}.vpce.amazonaws.com");
        let mut records = Vec::new();
        for e in ec2.endpoints.iter().filter(|e| e.service_label() == label) {
            records.extend(a_records(&e.regional_name(), &e.addresses()));
            for (name, ip) in e.zonal_names() {
                if let IpAddr::V4(v4) = ip {
                    records.extend(a_records(&name, &[v4]));
                }
            }
        }
        zones.push(Zone { origin, records });
    }
    zones
}

/// The API a request to the `execute-api` endpoint names, as API Gateway reads it
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html>):
/// the `x-apigw-api-id` header, else a `{api-id}-{vpce-id}.execute-api.{region}.amazonaws.com`
/// host, else `{api-id}.execute-api.{region}.amazonaws.com`. The request's `Host` is rewritten to
/// the last form so that API Gateway's router finds the API.
pub(crate) fn normalize_execute_api(req: &mut http::Request<Bytes>, region: &str, trace: &Trace) {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
        .unwrap_or_default();
    let from_header = req
        .headers()
        .get("x-apigw-api-id")
        .and_then(|h| h.to_str().ok())
        .map(|s| s.trim().to_string());
    let suffix = format!(".execute-api.{region}.amazonaws.com");
    let from_host = host
        .strip_suffix(&suffix)
        .map(|first| match first.split_once("-vpce-") {
            Some((api, _)) => api.to_string(),
            None => first.to_string(),
        });
    let Some(api) = from_header.clone().or(from_host) else {
        return;
    };
    let normalized = format!("{api}{suffix}");
    if normalized != host {
        trace.info(
            "vpce",
            format!(
                "api {api} named by {}; Host {host} read as {normalized}",
                if from_header.is_some() {
                    "the x-apigw-api-id header"
                } else {
                    "the endpoint-specific host name"
                }
            ),
        );
    }
    if let Ok(v) = http::HeaderValue::from_str(&normalized) {
        req.headers_mut().insert(http::header::HOST, v);
    }
}

/// Evaluates the endpoint policy of an endpoint for a JSON-protocol request (Step Functions,
/// EventBridge, Secrets Manager) before the service sees it. The action is
/// `<prefix>:<Operation>` of `X-Amz-Target`, the resource the ARN the request names
/// (`stateMachineArn`, `executionArn`, `Arn`, `SecretId`, else `*`), the principal the signing key's
/// (anonymous when unknown: the service then refuses the signature). Returns the
/// `AccessDeniedException`'s message when the policy does not allow it.
pub(crate) fn json_gate(
    iam: &Directory,
    parts: &http::request::Parts,
    body: &Bytes,
    policy: &NamedPolicy,
    context: &crate::iam::RequestContext,
    trace: &Trace,
) -> Option<String> {
    use crate::iam::{Principal, Request, denial_message, evaluate_policy};
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())?;
    let (prefix, op) = target.split_once('.')?;
    let service = match prefix {
        "AWSStepFunctions" => "states",
        "AWSEvents" => "events",
        "secretsmanager" => "secretsmanager",
        _ => return None,
    };
    let action = format!("{service}:{op}");
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let resource = ["stateMachineArn", "executionArn", "Arn", "SecretId"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .unwrap_or("*")
        .to_string();
    let key = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split_once("Credential="))
        .and_then(|(_, rest)| rest.split('/').next());
    // The stored key (shared, not its credentials copied): its principal is borrowed.
    let stored = key.and_then(|k| iam.key(k));
    let anonymous = Principal::Anonymous;
    let principal = stored.as_ref().map_or(&anonymous, |k| k.principal());
    let request = Request {
        principal,
        action: &action,
        resource: &resource,
        context,
    };
    let decision = evaluate_policy(&request, policy);
    if decision.is_allowed() {
        trace.pass(
            "vpce",
            format!("{action} on {resource} for {}: {decision}", principal.arn()),
        );
        return None;
    }
    let message = denial_message(&request, &decision, crate::iam::DenialFormat::PolicyType)
        .unwrap_or_else(|| format!("{action} is not allowed by {}", policy.name));
    trace.hop(
        "vpce",
        crate::trace::Verdict::Refuse,
        format!("{action} on {resource}: {decision}: {message}"),
    );
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_map_to_the_emulated_services() {
        let r = "ap-northeast-1";
        assert_eq!(
            EndpointService::from_service_name("com.amazonaws.ap-northeast-1.sync-states", r),
            Some(EndpointService::SyncStates)
        );
        assert_eq!(
            EndpointService::from_service_name("com.amazonaws.ap-northeast-1.execute-api", r),
            Some(EndpointService::ExecuteApi)
        );
        assert_eq!(
            EndpointService::from_service_name("com.amazonaws.us-east-1.states", r),
            None
        );
        assert_eq!(
            EndpointService::from_service_name("com.amazonaws.ap-northeast-1.ssm", r),
            None
        );
        assert_eq!(
            EndpointService::States.public_name(r),
            "states.ap-northeast-1.amazonaws.com"
        );
    }

    #[test]
    fn the_api_is_read_from_the_header_or_the_endpoint_specific_host() {
        let region = "ap-northeast-1";
        let host_of = |host: &str, header: Option<&str>| {
            let mut b = http::Request::builder().uri("/prod/").header("host", host);
            if let Some(h) = header {
                b = b.header("x-apigw-api-id", h);
            }
            let mut req = b.body(Bytes::new()).unwrap();
            normalize_execute_api(&mut req, region, &Trace::disabled());
            req.headers()["host"].to_str().unwrap().to_string()
        };
        assert_eq!(
            host_of(
                "abc1234567-vpce-0123456789abcdef0.execute-api.ap-northeast-1.amazonaws.com",
                None
            ),
            "abc1234567.execute-api.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(
            host_of(
                "vpce-0123456789abcdef0-abcd1234.execute-api.ap-northeast-1.vpce.amazonaws.com",
                Some("abc1234567")
            ),
            "abc1234567.execute-api.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(
            host_of("abc1234567.execute-api.ap-northeast-1.amazonaws.com", None),
            "abc1234567.execute-api.ap-northeast-1.amazonaws.com"
        );
    }
}
