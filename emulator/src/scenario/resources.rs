//! Typed conversion of resolved resources into the [`Model`], with validation.
//!
//! Each resource type has one function that reads its CloudFormation properties (the names of the
//! CloudFormation template reference) and checks what AWS checks when the resource is created.
//! Every error carries the logical id and the property path.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use serde_json::{Map, Value};

use super::error::{ErrorKind, type_name};
use super::template::ResolvedResource;
use crate::alb::{
    self, Action, FixedResponse, ForwardTarget, ListenerConfig, LoadBalancerConfig, TargetGroup,
};
use crate::events::{Authorization, ConnectionConfig, HttpParameters, Parameter};
use crate::lattice::{
    self, AuthType, DnsResolution, ResourceConfigurationConfig, ResourceDefinition,
    ResourceGatewayConfig,
};
use crate::model::{
    Certificate, HostedZone, ManagedPolicy, Model, NotEmulated, Record, Role, StateMachine,
    StateMachineType, User,
};
use crate::pki::Issuer;
use crate::vpc::sg::{IpProtocol, Peer, Rule};
use crate::vpc::{SecurityGroup, Subnet, Vpc};

/// Types vpcgate accepts without emulating them (issue: templates run unmodified).
pub(crate) fn is_placeholder_type(ty: &str) -> bool {
    !EMULATED.contains(&ty)
}

/// The resource types vpcgate emulates.
pub const EMULATED: &[&str] = &[
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::CertificateManager::Certificate",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::VpcLattice::ResourceGateway",
    "AWS::VpcLattice::ResourceConfiguration",
    "AWS::Events::Connection",
    // EventBridge buses, rules and API destinations: converted by super::events.
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::Events::ApiDestination",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::AccessKey",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::StepFunctions::StateMachine",
    // API Gateway (Pattern B): converted by super::apigw.
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::VpcLink",
    // VPC links v1 (to an NLB): converted by super::nlb.
    "AWS::ApiGateway::VpcLink",
    // HTTP APIs (v2): converted by super::apigwv2.
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Deployment",
    // VPC Lattice service networks (scenario::lattice).
    "AWS::VpcLattice::ServiceNetwork",
    "AWS::VpcLattice::Service",
    "AWS::VpcLattice::Listener",
    "AWS::VpcLattice::Rule",
    "AWS::VpcLattice::TargetGroup",
    "AWS::VpcLattice::ServiceNetworkVpcAssociation",
    "AWS::VpcLattice::ServiceNetworkServiceAssociation",
    "AWS::VpcLattice::AuthPolicy",
    "AWS::VpcLattice::AccessLogSubscription",
    // Clients inside VPCs, routes and endpoints: converted by super::ec2.
    "AWS::EC2::Instance",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::VPCEndpoint",
];

/// One error inside a resource: property path and kind.
pub(crate) type PropError = (String, ErrorKind);

/// Reads properties with their path.
struct Props<'a> {
    map: &'a Map<String, Value>,
    path: String,
    errors: &'a mut Vec<PropError>,
}

impl<'a> Props<'a> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn fail(&mut self, key: &str, kind: ErrorKind) {
        let path = self.at(key);
        self.errors.push((path, kind));
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn opt_str(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(other) => {
                let found = type_name(other);
                self.fail(
                    key,
                    ErrorKind::WrongType {
                        expected: "a string",
                        found,
                    },
                );
                None
            }
        }
    }

    fn str(&mut self, key: &str) -> Option<String> {
        let v = self.opt_str(key);
        if v.is_none() && !self.map.contains_key(key) {
            self.fail(
                key,
                ErrorKind::Missing {
                    name: key.to_string(),
                },
            );
        }
        v
    }

    fn opt_u32(&mut self, key: &str) -> Option<u32> {
        let s = self.opt_str(key)?;
        match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(
                    key,
                    ErrorKind::Invalid {
                        reason: format!("{s:?} is not a non-negative integer"),
                    },
                );
                None
            }
        }
    }

    fn str_list(&mut self, key: &str) -> Vec<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    other => {
                        let found = type_name(other);
                        self.fail(
                            &format!("{key}[{i}]"),
                            ErrorKind::WrongType {
                                expected: "a string",
                                found,
                            },
                        );
                        None
                    }
                })
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(other) => {
                let found = type_name(other);
                self.fail(
                    key,
                    ErrorKind::WrongType {
                        expected: "a list of strings",
                        found,
                    },
                );
                Vec::new()
            }
        }
    }

    fn objects(&mut self, key: &str) -> Vec<(String, &'a Map<String, Value>)> {
        match self.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::Object(m) => Some((format!("{}.{key}[{i}]", self.path), m)),
                    other => {
                        let found = type_name(other);
                        self.fail(
                            &format!("{key}[{i}]"),
                            ErrorKind::WrongType {
                                expected: "an object",
                                found,
                            },
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                let found = type_name(other);
                self.fail(
                    key,
                    ErrorKind::WrongType {
                        expected: "a list of objects",
                        found,
                    },
                );
                Vec::new()
            }
        }
    }

    fn object(&mut self, key: &str) -> Option<(String, &'a Map<String, Value>)> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some((self.at(key), m)),
            Some(other) => {
                let found = type_name(other);
                self.fail(
                    key,
                    ErrorKind::WrongType {
                        expected: "an object",
                        found,
                    },
                );
                None
            }
        }
    }

    fn child<'b>(&'b mut self, path: String, map: &'a Map<String, Value>) -> Props<'b>
    where
        'a: 'b,
    {
        Props {
            map,
            path,
            errors: self.errors,
        }
    }

    fn invalid(&mut self, key: &str, reason: impl Into<String>) {
        self.fail(
            key,
            ErrorKind::Invalid {
                reason: reason.into(),
            },
        );
    }
}

/// Index of what has been built so far, for cross-references.
#[derive(Default)]
struct Index {
    /// Ref value of every resource -> (logical id, type).
    by_ref: HashMap<String, (String, String)>,
}

/// Builds the model; returns it with the errors of each resource (logical id, path, kind).
pub(crate) fn build(
    resolved: &[ResolvedResource],
    certificates: Vec<Certificate>,
    region: &str,
    account: &str,
) -> (Model, Vec<(String, PropError)>) {
    let model = Model {
        certificates,
        region: region.into(),
        account: account.into(),
        ..Model::default()
    };
    build_onto(model, &[], resolved)
}

/// A standalone policy waiting for its roles and users: (logical id, roles, users, policy name,
/// document).
type PendingPolicy = (String, Vec<String>, Vec<String>, String, Value);

/// Adds one stack's resources to a model that already holds what exists before it (the
/// environment's VPCs, subnets, zones and certificates, and the stacks deployed earlier, whose
/// resolved resources are `earlier`: references to them are valid).
pub(crate) fn build_onto(
    mut model: Model,
    earlier: &[ResolvedResource],
    resolved: &[ResolvedResource],
) -> (Model, Vec<(String, PropError)>) {
    let region = model.region.clone();
    let mut errors: Vec<(String, PropError)> = Vec::new();
    let mut index = Index::default();
    for r in earlier.iter().chain(resolved) {
        if let Some(s) = r.physical.reference.as_str() {
            index
                .by_ref
                .insert(s.to_string(), (r.logical_id.clone(), r.ty.clone()));
        }
        for v in r.physical.attributes.values() {
            if let Some(s) = v.as_str() {
                index
                    .by_ref
                    .entry(s.to_string())
                    .or_insert((r.logical_id.clone(), r.ty.clone()));
            }
        }
    }
    let mut target_groups: BTreeMap<String, TargetGroup> = BTreeMap::new();
    let mut rules: Vec<(String, alb::Rule)> = Vec::new();
    // (logical id, group, ingress?, rule)
    let mut extra_sg_rules: Vec<(String, String, bool, Rule)> = Vec::new();
    let mut policies: Vec<PendingPolicy> = Vec::new();
    let mut access_keys: Vec<(String, String, String)> = Vec::new();
    // Types first that others point at.
    let rank = |ty: &str| match ty {
        "AWS::EC2::VPC" => 0,
        "AWS::EC2::Subnet" => 1,
        "AWS::ElasticLoadBalancingV2::TargetGroup" => 2,
        "AWS::ElasticLoadBalancingV2::ListenerRule" => 3,
        _ => 4,
    };
    let mut ordered: Vec<&ResolvedResource> = resolved.iter().collect();
    ordered.sort_by_key(|r| rank(&r.ty));
    for r in ordered {
        let mut errs = Vec::new();
        let mut p = Props {
            map: &r.properties,
            path: "Properties".into(),
            errors: &mut errs,
        };
        let id = r.logical_id.clone();
        let reference = r
            .physical
            .reference
            .as_str()
            .unwrap_or_default()
            .to_string();
        let attr = |k: &str| {
            r.physical
                .attributes
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match r.ty.as_str() {
            // Network Load Balancers, their listeners and target groups: super::nlb.
            "AWS::ElasticLoadBalancingV2::LoadBalancer"
                if super::nlb::is_network_load_balancer(r) =>
            {
                p.errors.extend(super::nlb::load_balancer(r, &mut model))
            }
            "AWS::ElasticLoadBalancingV2::Listener" if super::nlb::is_network_listener(r) => {
                p.errors.extend(super::nlb::listener(r, &mut model))
            }
            "AWS::ElasticLoadBalancingV2::TargetGroup"
                if super::nlb::is_network_target_group(r) =>
            {
                p.errors.extend(super::nlb::target_group(r, &mut model))
            }
            "AWS::EC2::VPC" => {
                if let Some(cidr) = p.str("CidrBlock") {
                    match cidr.parse::<Ipv4Net>() {
                        Ok(net) if (16..=28).contains(&net.prefix_len()) => model.vpcs.push(Vpc {
                            id: reference.clone(),
                            logical_id: id.clone(),
                            cidr: net.trunc(),
                            subnets: Vec::new(),
                        }),
                        Ok(_) => p.invalid("CidrBlock", format!("The CIDR '{cidr}' is invalid: VPC blocks are /16 to /28")),
                        Err(_) => p.invalid("CidrBlock", format!("Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.")),
                    }
                }
            }
            "AWS::EC2::Subnet" => {
                let vpc_id = p.str("VpcId");
                let cidr = p.str("CidrBlock");
                let az = p
                    .opt_str("AvailabilityZone")
                    .unwrap_or_else(|| format!("{region}a"));
                if let (Some(vpc_id), Some(cidr)) = (vpc_id, cidr) {
                    match (model.vpcs.iter_mut().find(|v| v.id == vpc_id), cidr.parse::<Ipv4Net>()) {
                        (None, _) => p.invalid("VpcId", format!("The vpc ID '{vpc_id}' does not exist")),
                        (_, Err(_)) => p.invalid("CidrBlock", format!("Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.")),
                        (Some(vpc), Ok(net)) if !vpc.cidr.contains(&net) => {
                            p.invalid("CidrBlock", format!("The CIDR '{cidr}' is invalid (it is outside the VPC's {}).", vpc.cidr))
                        }
                        (Some(vpc), Ok(net)) => {
                            if let Some(other) = vpc.subnets.iter().find(|s| s.cidr.contains(&net.network()) || net.contains(&s.cidr.network())) {
                                p.invalid("CidrBlock", format!("The CIDR '{cidr}' conflicts with another subnet ({} {}).", other.id, other.cidr));
                            } else {
                                vpc.subnets.push(Subnet { id: reference.clone(), vpc_id: vpc.id.clone(), cidr: net.trunc(), availability_zone: az });
                            }
                        }
                    }
                }
            }
            "AWS::EC2::SecurityGroup" => {
                p.str("GroupDescription");
                let vpc_id = p.opt_str("VpcId").unwrap_or_default();
                if !vpc_id.is_empty() && !model.vpcs.iter().any(|v| v.id == vpc_id) {
                    p.invalid("VpcId", format!("The vpc ID '{vpc_id}' does not exist"));
                }
                let ingress = sg_rules(&mut p, "SecurityGroupIngress", true);
                let egress_given = p.get("SecurityGroupEgress").is_some();
                let mut egress = sg_rules(&mut p, "SecurityGroupEgress", false);
                if !egress_given {
                    // A new group allows all outbound IPv4 traffic until rules are given
                    // (<https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html>).
                    egress.push(Rule::allow_all_ipv4());
                }
                model.security_groups.push(SecurityGroup {
                    id: reference.clone(),
                    logical_id: id.clone(),
                    vpc_id,
                    ingress,
                    egress,
                });
            }
            "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => {
                let ingress = r.ty.ends_with("Ingress");
                if let Some(group) = p.str("GroupId") {
                    let mut one = Map::new();
                    for (k, v) in r.properties.iter() {
                        if k != "GroupId" {
                            one.insert(k.clone(), v.clone());
                        }
                    }
                    let mut child = Props {
                        map: &one,
                        path: "Properties".into(),
                        errors: p.errors,
                    };
                    if let Some(rule) = sg_rule(&mut child, ingress) {
                        extra_sg_rules.push((id.clone(), group, ingress, rule));
                    }
                }
            }
            "AWS::Route53::HostedZone" => {
                if let Some(name) = p.str("Name") {
                    let mut vpc_ids = Vec::new();
                    for (path, m) in p.objects("VPCs") {
                        let mut c = p.child(path, m);
                        if let Some(v) = c.str("VPCId") {
                            vpc_ids.push(v);
                        }
                    }
                    model.hosted_zones.push(HostedZone {
                        logical_id: id.clone(),
                        id: reference.clone(),
                        name: name.trim_end_matches('.').to_ascii_lowercase(),
                        vpc_ids,
                        records: Vec::new(),
                    });
                }
            }
            "AWS::Route53::RecordSet" => record_set(&mut p, &mut model),
            "AWS::CertificateManager::Certificate" => {
                if let Some(domain) = p.str("DomainName") {
                    let mut names = vec![domain];
                    names.extend(p.str_list("SubjectAlternativeNames"));
                    model.certificates.push(Certificate {
                        arn: reference.clone(),
                        names,
                        issuer: Issuer::PublicCa,
                    });
                }
            }
            "AWS::ElasticLoadBalancingV2::TargetGroup" => {
                let name = attr("TargetGroupName");
                let protocol = p.opt_str("Protocol").unwrap_or_else(|| "HTTP".into());
                let port = p.opt_u32("Port");
                // `TargetType` (default `instance`): instances (`i-…`) and Lambda functions are
                // registered by what runs them, which vpcgate does not run; bindings
                // (scenario::bindings) register the bound ones after every stack is loaded, so
                // an unbound one is no registered target (ALB's 503).
                let target_type = p.opt_str("TargetType").unwrap_or_else(|| "instance".into());
                if !["instance", "ip", "lambda", "alb"].contains(&target_type.as_str()) {
                    p.invalid(
                        "TargetType",
                        format!("{target_type:?} is not one of instance, ip, lambda, alb"),
                    );
                }
                let mut targets = Vec::new();
                // A `lambda` target group registers a function vpcgate does not run: it loads
                // with no target, and the ALB answers as for a group with no registered targets.
                let lambda = p.opt_str("TargetType").as_deref() == Some("lambda");
                for (path, m) in p.objects("Targets") {
                    if lambda {
                        continue;
                    }
                    let mut c = p.child(path, m);
                    let Some(tid) = c.str("Id") else { continue };
                    if target_type == "lambda" || tid.starts_with("i-") {
                        continue;
                    }
                    let tport = c.opt_u32("Port").or(port).unwrap_or(80);
                    match format!("{tid}:{tport}").parse::<std::net::SocketAddr>() {
                        // A VPC's private address, or a service on this machine's loopback; any
                        // other address would be a real connection off this machine.
                        Ok(addr) if !addr.ip().is_loopback() && !crate::lattice::is_private(addr.ip()) => c.invalid(
                            "Id",
                            format!("target {tid} is outside the private address ranges (an IP target group registers addresses of its VPC, RFC 1918 ranges; vpcgate also takes 127.0.0.1 for a service on this machine)"),
                        ),
                        Ok(addr) => targets.push(ForwardTarget { addr }),
                        Err(_) => c.invalid("Id", format!("target {tid:?} is not an IP address (vpcgate targets are host addresses such as 127.0.0.1)")),
                    }
                }
                target_groups.insert(
                    reference.clone(),
                    TargetGroup {
                        arn: reference.clone(),
                        name,
                        protocol,
                        targets,
                    },
                );
            }
            "AWS::ElasticLoadBalancingV2::ListenerRule" => {
                let listener = p.str("ListenerArn").unwrap_or_default();
                let priority = p.opt_u32("Priority").unwrap_or(0);
                if !(1..=50000).contains(&priority) {
                    p.invalid("Priority", "Priority must be between 1 and 50000");
                }
                let mut rule = alb::Rule {
                    priority,
                    path_patterns: Vec::new(),
                    host_headers: Vec::new(),
                    methods: Vec::new(),
                    actions: Vec::new(),
                };
                for (path, m) in p.objects("Conditions") {
                    let mut c = p.child(path, m);
                    let field = c.opt_str("Field").unwrap_or_default();
                    let config_values = |c: &mut Props<'_>, key: &str| -> Vec<String> {
                        match c.object(key) {
                            Some((path, m)) => c.child(path, m).str_list("Values"),
                            None => c.str_list("Values"),
                        }
                    };
                    match field.as_str() {
                        "path-pattern" => rule.path_patterns = config_values(&mut c, "PathPatternConfig"),
                        "host-header" => rule.host_headers = config_values(&mut c, "HostHeaderConfig"),
                        "http-request-method" => rule.methods = config_values(&mut c, "HttpRequestMethodConfig"),
                        other => c.invalid("Field", format!("condition field {other:?} is not emulated (path-pattern, host-header, http-request-method are)")),
                    }
                }
                rule.actions = actions(&mut p, "Actions", &target_groups);
                rules.push((listener, rule));
            }
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                let ty = p.opt_str("Type").unwrap_or_else(|| "application".into());
                if ty != "application" {
                    p.invalid(
                        "Type",
                        format!("load balancer type {ty:?} is not emulated (application and network are)"),
                    );
                }
                let scheme = p
                    .opt_str("Scheme")
                    .unwrap_or_else(|| "internet-facing".into());
                let subnet_ids = p.str_list("Subnets");
                let mut vpc_id = String::new();
                let mut azs = Vec::new();
                for (i, s) in subnet_ids.iter().enumerate() {
                    match model
                        .vpcs
                        .iter()
                        .flat_map(|v| &v.subnets)
                        .find(|x| &x.id == s)
                    {
                        Some(sub) => {
                            if !vpc_id.is_empty() && vpc_id != sub.vpc_id {
                                p.invalid(
                                    &format!("Subnets[{i}]"),
                                    "all subnets of a load balancer must be in one VPC",
                                );
                            }
                            vpc_id = sub.vpc_id.clone();
                            if !azs.contains(&sub.availability_zone) {
                                azs.push(sub.availability_zone.clone());
                            }
                        }
                        None => p.invalid(
                            &format!("Subnets[{i}]"),
                            format!("The subnet ID '{s}' is not valid"),
                        ),
                    }
                }
                if !subnet_ids.is_empty() && azs.len() < 2 {
                    // <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones>
                    p.invalid("Subnets", "At least two subnets in two different Availability Zones must be specified");
                }
                if subnet_ids.is_empty() {
                    p.fail(
                        "Subnets",
                        ErrorKind::Missing {
                            name: "Subnets".into(),
                        },
                    );
                }
                model.load_balancers.push(LoadBalancerConfig {
                    logical_id: id.clone(),
                    name: attr("LoadBalancerName"),
                    arn: reference.clone(),
                    dns_name: attr("DNSName"),
                    internal: scheme == "internal",
                    vpc_id,
                    subnet_ids,
                    security_groups: p.str_list("SecurityGroups"),
                });
            }
            "AWS::ElasticLoadBalancingV2::Listener" => {
                let lb = p.str("LoadBalancerArn").unwrap_or_default();
                if !lb.is_empty()
                    && index
                        .by_ref
                        .get(&lb)
                        .is_none_or(|(_, t)| t != "AWS::ElasticLoadBalancingV2::LoadBalancer")
                {
                    p.invalid(
                        "LoadBalancerArn",
                        format!("'{lb}' is not a load balancer in this scenario"),
                    );
                }
                let protocol = match p.opt_str("Protocol").as_deref() {
                    Some("HTTP") => Some(alb::Protocol::Http),
                    Some("HTTPS") => Some(alb::Protocol::Https),
                    Some(other) => {
                        p.invalid("Protocol", format!("protocol {other:?} is not valid for an application load balancer (HTTP, HTTPS)"));
                        None
                    }
                    None => {
                        p.fail(
                            "Protocol",
                            ErrorKind::Missing {
                                name: "Protocol".into(),
                            },
                        );
                        None
                    }
                };
                let port = p.opt_u32("Port");
                if port.is_none_or(|n| !(1..=65535).contains(&n)) {
                    p.invalid("Port", "Port must be between 1 and 65535");
                }
                let mut certificate_arns = Vec::new();
                for (path, m) in p.objects("Certificates") {
                    if let Some(arn) = p.child(path, m).str("CertificateArn") {
                        certificate_arns.push(arn);
                    }
                }
                if protocol == Some(alb::Protocol::Https) && certificate_arns.is_empty() {
                    p.invalid(
                        "Certificates",
                        "A certificate must be specified for HTTPS listeners",
                    );
                }
                for (i, arn) in certificate_arns.iter().enumerate() {
                    if !model.certificates.iter().any(|c| &c.arn == arn)
                        && !index.by_ref.contains_key(arn)
                    {
                        p.invalid(&format!("Certificates[{i}].CertificateArn"), format!("Certificate '{arn}' not found (declare it as AWS::CertificateManager::Certificate or in Vpcgate.Certificates)"));
                    }
                }
                let default_actions = actions(&mut p, "DefaultActions", &target_groups);
                if let (Some(protocol), Some(port)) = (protocol, port) {
                    model.listeners.push(ListenerConfig {
                        logical_id: id.clone(),
                        arn: reference.clone(),
                        load_balancer_arn: lb,
                        port: port as u16,
                        protocol,
                        certificate_arns,
                        default_actions,
                        rules: Vec::new(),
                        faults: Vec::new(),
                    });
                }
            }
            "AWS::VpcLattice::ResourceGateway" => {
                let name = p.opt_str("Name").unwrap_or_else(|| id.to_ascii_lowercase());
                let vpc_id = p.str("VpcIdentifier").unwrap_or_default();
                let subnet_ids = p.str_list("SubnetIds");
                if subnet_ids.is_empty() {
                    p.fail(
                        "SubnetIds",
                        ErrorKind::Missing {
                            name: "SubnetIds".into(),
                        },
                    );
                }
                for (i, s) in subnet_ids.iter().enumerate() {
                    if !model
                        .vpcs
                        .iter()
                        .filter(|v| v.id == vpc_id)
                        .flat_map(|v| &v.subnets)
                        .any(|x| &x.id == s)
                    {
                        p.invalid(
                            &format!("SubnetIds[{i}]"),
                            format!("subnet {s} is not in VPC {vpc_id}"),
                        );
                    }
                }
                if !vpc_id.is_empty() && !model.vpcs.iter().any(|v| v.id == vpc_id) {
                    p.invalid(
                        "VpcIdentifier",
                        format!("The vpc ID '{vpc_id}' does not exist"),
                    );
                }
                let dns_resolution = match p.opt_str("ResourceConfigDnsResolution").as_deref() {
                    None | Some("PUBLIC") => DnsResolution::Public,
                    Some("IN_VPC") => DnsResolution::InVpc,
                    Some(other) => {
                        p.invalid(
                            "ResourceConfigDnsResolution",
                            format!("{other:?} is not one of PUBLIC, IN_VPC"),
                        );
                        DnsResolution::Public
                    }
                };
                if let Some(t) = p.opt_str("IpAddressType")
                    && t != "IPV4"
                {
                    p.invalid(
                        "IpAddressType",
                        format!("IpAddressType {t} is not emulated (IPV4 is)"),
                    );
                }
                model.resource_gateways.push(ResourceGatewayConfig {
                    logical_id: id.clone(),
                    name,
                    id: attr("Id"),
                    arn: reference.clone(),
                    vpc_id,
                    subnet_ids,
                    security_groups: p.str_list("SecurityGroupIds"),
                    dns_resolution,
                });
            }
            "AWS::VpcLattice::ResourceConfiguration" => {
                resource_configuration(&mut p, &mut model, &id, &reference, &attr("Id"))
            }
            "AWS::Events::Connection" => connection(
                &mut p,
                &mut model,
                &id,
                &reference,
                &attr("Arn"),
                &attr("SecretArn"),
            ),
            "AWS::IAM::Role" => {
                let path = p.opt_str("Path").unwrap_or_else(|| "/".into());
                let trust_policy = p
                    .get("AssumeRolePolicyDocument")
                    .cloned()
                    .unwrap_or(Value::Null);
                if trust_policy.is_null() {
                    p.fail(
                        "AssumeRolePolicyDocument",
                        ErrorKind::Missing {
                            name: "AssumeRolePolicyDocument".into(),
                        },
                    );
                }
                let inline_policies = inline_policies(&mut p);
                let tags = tags(&mut p);
                model.roles.push(Role {
                    logical_id: id.clone(),
                    name: reference.clone(),
                    path,
                    arn: attr("Arn"),
                    trust_policy,
                    inline_policies,
                    managed_policy_arns: p.str_list("ManagedPolicyArns"),
                    tags,
                });
            }
            "AWS::IAM::User" => {
                let path = p.opt_str("Path").unwrap_or_else(|| "/".into());
                let inline_policies = inline_policies(&mut p);
                let tags = tags(&mut p);
                model.users.push(User {
                    logical_id: id.clone(),
                    name: reference.clone(),
                    path,
                    arn: attr("Arn"),
                    inline_policies,
                    managed_policy_arns: p.str_list("ManagedPolicyArns"),
                    tags,
                    access_keys: Vec::new(),
                });
            }
            "AWS::IAM::AccessKey" => {
                if let Some(user) = p.str("UserName") {
                    access_keys.push((user, reference.clone(), attr("SecretAccessKey")));
                }
            }
            "AWS::IAM::ManagedPolicy" => {
                let doc = p.get("PolicyDocument").cloned().unwrap_or(Value::Null);
                if doc.is_null() {
                    p.fail(
                        "PolicyDocument",
                        ErrorKind::Missing {
                            name: "PolicyDocument".into(),
                        },
                    );
                }
                let roles = p.str_list("Roles");
                let users = p.str_list("Users");
                let name = reference.rsplit('/').next().unwrap_or_default().to_string();
                model.managed_policies.push(ManagedPolicy {
                    arn: reference.clone(),
                    name: name.clone(),
                    document: doc.clone(),
                });
                policies.push((id.clone(), roles, users, name, doc));
            }
            "AWS::IAM::Policy" => {
                let name = p.str("PolicyName").unwrap_or_default();
                let doc = p.get("PolicyDocument").cloned().unwrap_or(Value::Null);
                if doc.is_null() {
                    p.fail(
                        "PolicyDocument",
                        ErrorKind::Missing {
                            name: "PolicyDocument".into(),
                        },
                    );
                }
                policies.push((
                    id.clone(),
                    p.str_list("Roles"),
                    p.str_list("Users"),
                    name,
                    doc,
                ));
            }
            "AWS::StepFunctions::StateMachine" => {
                state_machine(&mut p, &mut model, &id, &attr("Arn"), &attr("Name"))
            }
            ty if super::apigw::TYPES.contains(&ty) => {
                p.errors.extend(super::apigw::convert(r, &mut model))
            }
            ty if super::apigwv2::TYPES.contains(&ty) => {
                p.errors.extend(super::apigwv2::convert(r, &mut model))
            }
            ty if super::ec2::TYPES.contains(&ty) => {
                p.errors.extend(super::ec2::convert(r, &mut model))
            }
            ty if super::events::TYPES.contains(&ty) => {
                p.errors.extend(super::events::convert(r, &mut model))
            }
            // VPC Lattice service networks: converted after this loop (scenario::lattice).
            t if super::lattice::handles(t) => {}
            ty => model.not_emulated.push(NotEmulated {
                logical_id: id.clone(),
                resource_type: ty.to_string(),
            }),
        }
        errors.extend(errs.into_iter().map(|e| (id.clone(), e)));
    }
    // VPC Lattice service networks (scenario::lattice), once VPCs, groups and ALBs are known.
    errors.extend(super::lattice::build(resolved, &mut model));
    // Standalone rules, policies and keys attach to what they name.
    // CloudFormation fails a stack whose rule or policy names what does not exist, with the
    // service's answer: EC2's InvalidGroup.NotFound ("The security group 'sg-…' does not exist")
    // and IAM's NoSuchEntity ("The role with name X cannot be found.", "The user with name X
    // cannot be found.") — API_AuthorizeSecurityGroupIngress.html, API_PutRolePolicy.html,
    // API_AttachRolePolicy.html (Errors: NoSuchEntity).
    let mut unknown = |id: &str, path: String, reason: String| {
        errors.push((id.to_string(), (path, ErrorKind::Invalid { reason })));
    };
    for (id, group, ingress, rule) in extra_sg_rules {
        match model.security_groups.iter_mut().find(|g| g.id == group) {
            Some(g) if ingress => g.ingress.push(rule),
            Some(g) => {
                // An explicit egress rule replaces the default allow-all.
                if g.egress == vec![Rule::allow_all_ipv4()] {
                    g.egress.clear();
                }
                g.egress.push(rule)
            }
            None if index
                .by_ref
                .get(&group)
                .is_some_and(|(_, ty)| ty == "AWS::EC2::VPC") =>
            {
                unknown(
                    &id,
                    "Properties.GroupId".into(),
                    format!(
                        "{group} is a VPC's default security group, which vpcgate does not emulate: declare an AWS::EC2::SecurityGroup"
                    ),
                )
            }
            None => unknown(
                &id,
                "Properties.GroupId".into(),
                format!("The security group '{group}' does not exist"),
            ),
        }
    }
    for (listener, rule) in rules {
        if let Some(l) = model.listeners.iter_mut().find(|l| l.arn == listener) {
            l.rules.push(rule);
        }
    }
    for (id, roles, users, name, doc) in policies {
        for (i, role) in roles.iter().enumerate() {
            match model.roles.iter_mut().find(|r| &r.name == role) {
                Some(r) => r.inline_policies.push((name.clone(), doc.clone())),
                None => unknown(
                    &id,
                    format!("Properties.Roles[{i}]"),
                    format!("The role with name {role} cannot be found."),
                ),
            }
        }
        for (i, user) in users.iter().enumerate() {
            match model.users.iter_mut().find(|u| &u.name == user) {
                Some(u) => u.inline_policies.push((name.clone(), doc.clone())),
                None => unknown(
                    &id,
                    format!("Properties.Users[{i}]"),
                    format!("The user with name {user} cannot be found."),
                ),
            }
        }
    }
    errors.extend(state_machine_roles(&model));
    errors.extend(super::apigw::finish(&model));
    errors.extend(super::events::finish(&model, resolved));
    errors.extend(super::apigwv2::finish(&model));
    errors.extend(super::ec2::finish(
        &mut model,
        earlier.iter().chain(resolved),
    ));
    for (user, key, secret) in access_keys {
        if let Some(u) = model.users.iter_mut().find(|u| u.name == user) {
            u.access_keys.push((key, secret));
        }
    }
    // ALIAS records that point at load balancers.
    let lbs: Vec<(String, String)> = model
        .load_balancers
        .iter()
        .map(|l| (l.dns_name.to_ascii_lowercase(), l.arn.clone()))
        .collect();
    for zone in &mut model.hosted_zones {
        for rec in &mut zone.records {
            if let Some(alias) = &mut rec.alias {
                *alias = alias
                    .trim_end_matches('.')
                    .trim_start_matches("dualstack.")
                    .to_ascii_lowercase();
                let _ = lbs.iter().any(|(dns, _)| dns == alias);
            }
        }
    }
    (model, errors)
}

/// The rules of `map[key]` (`SecurityGroupIngress` / `SecurityGroupEgress`, CloudFormation's
/// shape) and their errors by path — for the environment file's existing groups.
pub(crate) fn rules_of(
    map: &Map<String, Value>,
    key: &str,
    ingress: bool,
) -> (Vec<Rule>, Vec<PropError>) {
    let mut errors = Vec::new();
    let mut p = Props {
        map,
        path: String::new(),
        errors: &mut errors,
    };
    let rules = sg_rules(&mut p, key, ingress);
    (rules, errors)
}

fn sg_rules(p: &mut Props<'_>, key: &str, ingress: bool) -> Vec<Rule> {
    let mut out = Vec::new();
    for (path, m) in p.objects(key) {
        let mut c = p.child(path, m);
        if let Some(rule) = sg_rule(&mut c, ingress) {
            out.push(rule);
        }
    }
    out
}

fn sg_rule(c: &mut Props<'_>, ingress: bool) -> Option<Rule> {
    let proto_text = c.str("IpProtocol")?;
    let Some(protocol) = IpProtocol::parse(&proto_text) else {
        c.invalid(
            "IpProtocol",
            format!("Invalid value '{proto_text}' for IP protocol. Unknown protocol."),
        );
        return None;
    };
    let (from, to) = if protocol == IpProtocol::All {
        (0, 65535)
    } else {
        let from = c.opt_str("FromPort").and_then(|s| s.parse::<i32>().ok());
        let to = c.opt_str("ToPort").and_then(|s| s.parse::<i32>().ok());
        match (from, to) {
            (Some(f), Some(t))
                if (0..=65535).contains(&f) && (0..=65535).contains(&t) && f <= t =>
            {
                (f as u16, t as u16)
            }
            (Some(-1), Some(-1)) => (0, 65535),
            (None, _) | (_, None) => {
                c.invalid("FromPort", format!("Invalid value for portRange. Must specify both from and to ports with TCP/UDP (IpProtocol {proto_text})."));
                return None;
            }
            (Some(f), Some(t)) => {
                c.invalid("FromPort", format!("Invalid value for portRange: FromPort {f} and ToPort {t} must be 0-65535 with FromPort <= ToPort."));
                return None;
            }
        }
    };
    let group_key = if ingress {
        "SourceSecurityGroupId"
    } else {
        "DestinationSecurityGroupId"
    };
    let list_key = if ingress {
        "SourcePrefixListId"
    } else {
        "DestinationPrefixListId"
    };
    let mut peers = Vec::new();
    if let Some(cidr) = c.opt_str("CidrIp") {
        match cidr.parse::<ipnet::Ipv4Net>() {
            Ok(n) => peers.push(Peer::Cidr(IpNet::V4(n.trunc()))),
            Err(_) => c.invalid("CidrIp", format!("CIDR block {cidr} is malformed")),
        }
    }
    if let Some(cidr) = c.opt_str("CidrIpv6") {
        match cidr.parse::<ipnet::Ipv6Net>() {
            Ok(n) => peers.push(Peer::Cidr(IpNet::V6(n.trunc()))),
            Err(_) => c.invalid("CidrIpv6", format!("CIDR block {cidr} is malformed")),
        }
    }
    if let Some(g) = c.opt_str(group_key) {
        peers.push(Peer::Group(g));
    }
    if let Some(pl) = c.opt_str(list_key) {
        peers.push(Peer::PrefixList {
            id: pl,
            cidrs: Vec::new(),
        });
    }
    if peers.len() != 1 {
        c.invalid(
            "",
            format!(
                "a rule needs exactly one of CidrIp, CidrIpv6, {group_key}, {list_key} (found {})",
                peers.len()
            ),
        );
        return None;
    }
    Some(Rule {
        protocol,
        from_port: from,
        to_port: to,
        peer: peers.remove(0),
        description: c.opt_str("Description"),
    })
}

fn record_set(p: &mut Props<'_>, model: &mut Model) {
    let zone_id = p.opt_str("HostedZoneId");
    let zone_name = p
        .opt_str("HostedZoneName")
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase());
    let Some(name) = p.str("Name") else { return };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let Some(record_type) = p.str("Type") else {
        return;
    };
    let zone = model
        .hosted_zones
        .iter_mut()
        .find(|z| Some(&z.id) == zone_id.as_ref() || Some(&z.name) == zone_name.as_ref());
    let Some(zone) = zone else {
        p.invalid(
            "HostedZoneId",
            format!(
                "no hosted zone {} in this scenario",
                zone_id.or(zone_name).unwrap_or_default()
            ),
        );
        return;
    };
    if name != zone.name && !name.ends_with(&format!(".{}", zone.name)) {
        p.invalid(
            "Name",
            format!(
                "RRSet with DNS name {name}. is not permitted in zone {}.",
                zone.name
            ),
        );
        return;
    }
    if !["A", "AAAA", "CNAME", "TXT"].contains(&record_type.as_str()) {
        p.invalid(
            "Type",
            format!("record type {record_type} is not emulated (A, AAAA, CNAME, TXT are)"),
        );
        return;
    }
    let alias = match p.object("AliasTarget") {
        Some((path, m)) => p.child(path, m).str("DNSName"),
        None => None,
    };
    let values = p.str_list("ResourceRecords");
    if alias.is_none() && values.is_empty() {
        p.fail(
            "ResourceRecords",
            ErrorKind::Missing {
                name: "ResourceRecords (or AliasTarget)".into(),
            },
        );
        return;
    }
    if record_type == "CNAME" && values.len() > 1 {
        p.invalid("ResourceRecords", "a CNAME record has exactly one value");
    }
    for (i, v) in values.iter().enumerate() {
        let ok = match record_type.as_str() {
            "A" => v.parse::<std::net::Ipv4Addr>().is_ok(),
            "AAAA" => v.parse::<std::net::Ipv6Addr>().is_ok(),
            _ => true,
        };
        if !ok {
            p.invalid(&format!("ResourceRecords[{i}]"), format!("Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address encountered at {v}"));
        }
    }
    let ttl = p.opt_u32("TTL").unwrap_or(300);
    zone.records.push(Record {
        name,
        record_type,
        ttl,
        values,
        alias,
    });
}

fn actions(
    p: &mut Props<'_>,
    key: &str,
    target_groups: &BTreeMap<String, TargetGroup>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let list = p.objects(key);
    if list.is_empty() {
        p.fail(
            key,
            ErrorKind::Missing {
                name: key.to_string(),
            },
        );
    }
    for (path, m) in list {
        let mut c = p.child(path, m);
        match c.str("Type").as_deref() {
            Some("fixed-response") => {
                let Some((path, m)) = c.object("FixedResponseConfig") else {
                    c.fail(
                        "FixedResponseConfig",
                        ErrorKind::Missing {
                            name: "FixedResponseConfig".into(),
                        },
                    );
                    continue;
                };
                let mut f = c.child(path, m);
                let status = f.str("StatusCode").unwrap_or_default();
                let code = status
                    .parse::<u16>()
                    .ok()
                    .filter(|n| [2, 4, 5].contains(&(n / 100)) && status.len() == 3);
                if code.is_none() {
                    // <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_FixedResponseActionConfig.html>
                    f.invalid(
                        "StatusCode",
                        format!("'{status}' must match ^(2|4|5)\\d\\d$"),
                    );
                }
                let content_type = f.opt_str("ContentType");
                if let Some(ct) = &content_type
                    && ![
                        "text/plain",
                        "text/css",
                        "text/html",
                        "application/javascript",
                        "application/json",
                    ]
                    .contains(&ct.as_str())
                {
                    f.invalid("ContentType", format!("'{ct}' is not one of text/plain, text/css, text/html, application/javascript, application/json"));
                }
                let message_body = f.opt_str("MessageBody");
                if message_body
                    .as_ref()
                    .is_some_and(|b| b.chars().count() > 1024)
                {
                    f.invalid("MessageBody", "MessageBody is longer than 1024 characters");
                }
                out.push(Action::FixedResponse(FixedResponse {
                    status_code: code.unwrap_or(200),
                    content_type,
                    message_body,
                }));
            }
            Some("forward") => {
                let mut arns = Vec::new();
                if let Some(arn) = c.opt_str("TargetGroupArn") {
                    arns.push(arn);
                }
                if let Some((path, m)) = c.object("ForwardConfig") {
                    let mut fc = c.child(path, m);
                    for (path, m) in fc.objects("TargetGroups") {
                        if let Some(arn) = fc.child(path, m).str("TargetGroupArn") {
                            arns.push(arn);
                        }
                    }
                }
                match arns.first().and_then(|a| target_groups.get(a)) {
                    Some(tg) => out.push(Action::Forward(tg.clone())),
                    None => c.invalid(
                        "TargetGroupArn",
                        format!("forward needs a target group of this scenario (got {arns:?})"),
                    ),
                }
            }
            Some(other) => c.invalid(
                "Type",
                format!("action type {other:?} is not emulated (fixed-response, forward are)"),
            ),
            None => {}
        }
    }
    out
}

fn port_ranges(p: &mut Props<'_>) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    for (i, r) in p.str_list("PortRanges").into_iter().enumerate() {
        let parsed = match r.split_once('-') {
            Some((a, b)) => a
                .trim()
                .parse::<u16>()
                .ok()
                .zip(b.trim().parse::<u16>().ok()),
            None => r.trim().parse::<u16>().ok().map(|n| (n, n)),
        };
        match parsed {
            Some((a, b)) if a >= 1 && a <= b => out.push((a, b)),
            _ => p.invalid(
                &format!("PortRanges[{i}]"),
                format!("{r:?} is not a port or a range like \"1-65535\""),
            ),
        }
    }
    out
}

fn resource_configuration(
    p: &mut Props<'_>,
    model: &mut Model,
    id: &str,
    arn: &str,
    rcfg_id: &str,
) {
    let name = p.opt_str("Name").unwrap_or_else(|| id.to_ascii_lowercase());
    let gateway = p.opt_str("ResourceGatewayId").unwrap_or_default();
    let kind = p
        .opt_str("ResourceConfigurationType")
        .unwrap_or_else(|| "SINGLE".into());
    if kind != "SINGLE" {
        p.invalid(
            "ResourceConfigurationType",
            format!("{kind} is not emulated (SINGLE is)"),
        );
    }
    let gw = model
        .resource_gateways
        .iter()
        .find(|g| g.id == gateway || g.arn == gateway);
    if gw.is_none() {
        p.invalid(
            "ResourceGatewayId",
            format!("resource gateway {gateway:?} is not in this scenario"),
        );
    }
    if let Some(proto) = p.opt_str("ProtocolType")
        && proto != "TCP"
    {
        p.invalid(
            "ProtocolType",
            format!("'{proto}' is not valid: resource configurations support TCP only"),
        );
    }
    let auth = match p.opt_str("ResourceConfigurationAuthType").as_deref() {
        None | Some("NONE") => AuthType::None,
        Some("AWS_IAM") => AuthType::AwsIam,
        Some(other) => {
            p.invalid(
                "ResourceConfigurationAuthType",
                format!("{other:?} is not one of NONE, AWS_IAM"),
            );
            AuthType::None
        }
    };
    let ranges = port_ranges(p);
    if ranges.is_empty() {
        p.fail(
            "PortRanges",
            ErrorKind::Missing {
                name: "PortRanges".into(),
            },
        );
    }
    let Some((path, def)) = p.object("ResourceConfigurationDefinition") else {
        p.fail(
            "ResourceConfigurationDefinition",
            ErrorKind::Missing {
                name: "ResourceConfigurationDefinition".into(),
            },
        );
        return;
    };
    let mut d = p.child(path, def);
    let mut defs = Vec::new();
    if let Some((path, m)) = d.object("DnsResource") {
        let mut c = d.child(path, m);
        if let Some(domain) = c.str("DomainName") {
            if domain.parse::<IpAddr>().is_ok() || !domain.contains('.') {
                c.invalid("DomainName", format!("{domain:?} is not a domain name"));
            }
            defs.push(ResourceDefinition::Dns {
                domain_name: domain.trim_end_matches('.').to_ascii_lowercase(),
            });
        }
    }
    if let Some((path, m)) = d.object("IpResource") {
        let mut c = d.child(path, m);
        if let Some(ip) = c.str("IpAddress") {
            match ip.parse::<IpAddr>() {
                Ok(addr) if lattice::is_private(addr) => defs.push(ResourceDefinition::Ip { ip: addr }),
                Ok(_) => c.invalid(
                    "IpAddress",
                    format!("{ip} is not a private IPv4 address: IP resources must be in 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12 or 192.168.0.0/16"),
                ),
                Err(_) => c.invalid("IpAddress", format!("{ip:?} is not an IP address")),
            }
        }
    }
    if d.get("ArnResource").is_some() {
        d.invalid("ArnResource", "ARN resources (RDS) are not emulated");
    }
    match defs.len() {
        1 => {}
        0 => {
            d.invalid(
                "",
                "exactly one of DnsResource, IpResource, ArnResource is required",
            );
            return;
        }
        _ => {
            d.invalid(
                "",
                "only one of DnsResource, IpResource, ArnResource may be given",
            );
            return;
        }
    }
    model
        .resource_configurations
        .push(ResourceConfigurationConfig {
            logical_id: id.to_string(),
            name,
            id: rcfg_id.to_string(),
            arn: arn.to_string(),
            gateway_id: gw.map(|g| g.id.clone()).unwrap_or(gateway),
            definition: defs.remove(0),
            port_ranges: ranges,
            auth,
        });
}

fn parameters(p: &mut Props<'_>, key: &str) -> Vec<Parameter> {
    let mut out = Vec::new();
    for (path, m) in p.objects(key) {
        let mut c = p.child(path, m);
        let (Some(k), Some(v)) = (c.str("Key"), c.str("Value")) else {
            continue;
        };
        let secret = matches!(c.get("IsValueSecret"), Some(Value::Bool(true)))
            || c.opt_str("IsValueSecret").as_deref() == Some("true");
        out.push(Parameter {
            key: k,
            value: v,
            is_value_secret: secret,
        });
    }
    out
}

fn http_parameters(p: &mut Props<'_>, key: &str) -> HttpParameters {
    match p.object(key) {
        Some((path, m)) => {
            let mut c = p.child(path, m);
            HttpParameters {
                headers: parameters(&mut c, "HeaderParameters"),
                query: parameters(&mut c, "QueryStringParameters"),
                body: parameters(&mut c, "BodyParameters"),
            }
        }
        None => HttpParameters::default(),
    }
}

fn connection(
    p: &mut Props<'_>,
    model: &mut Model,
    id: &str,
    name: &str,
    arn: &str,
    secret_arn: &str,
) {
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        || name.is_empty()
        || name.len() > 64
    {
        p.invalid("Name", format!("1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"));
    }
    let kind = p.str("AuthorizationType").unwrap_or_default();
    let Some((path, auth)) = p.object("AuthParameters") else {
        p.fail(
            "AuthParameters",
            ErrorKind::Missing {
                name: "AuthParameters".into(),
            },
        );
        return;
    };
    let mut a = p.child(path, auth);
    let authorization = match kind.as_str() {
        "API_KEY" => match a.object("ApiKeyAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                match (c.str("ApiKeyName"), c.str("ApiKeyValue")) {
                    (Some(name), Some(value)) => Some(Authorization::ApiKey { name, value }),
                    _ => None,
                }
            }
            None => {
                a.fail(
                    "ApiKeyAuthParameters",
                    ErrorKind::Missing {
                        name: "ApiKeyAuthParameters (AuthorizationType is API_KEY)".into(),
                    },
                );
                None
            }
        },
        "BASIC" => match a.object("BasicAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                match (c.str("Username"), c.str("Password")) {
                    (Some(username), Some(password)) => {
                        Some(Authorization::Basic { username, password })
                    }
                    _ => None,
                }
            }
            None => {
                a.fail(
                    "BasicAuthParameters",
                    ErrorKind::Missing {
                        name: "BasicAuthParameters (AuthorizationType is BASIC)".into(),
                    },
                );
                None
            }
        },
        "OAUTH_CLIENT_CREDENTIALS" => match a.object("OAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                let endpoint = c.str("AuthorizationEndpoint");
                let method = c.str("HttpMethod");
                if let Some(m) = &method
                    && !["GET", "POST", "PUT"].contains(&m.as_str())
                {
                    c.invalid("HttpMethod", format!("{m:?} is not one of GET, POST, PUT"));
                }
                if let Some(e) = &endpoint
                    && !e.starts_with("https://")
                {
                    c.invalid(
                        "AuthorizationEndpoint",
                        format!("{e:?} must be an HTTPS URL"),
                    );
                }
                let (id_, secret) = match c.object("ClientParameters") {
                    Some((path, m)) => {
                        let mut cp = c.child(path, m);
                        (cp.str("ClientID"), cp.str("ClientSecret"))
                    }
                    None => {
                        c.fail(
                            "ClientParameters",
                            ErrorKind::Missing {
                                name: "ClientParameters".into(),
                            },
                        );
                        (None, None)
                    }
                };
                let oauth_parameters = http_parameters(&mut c, "OAuthHttpParameters");
                match (endpoint, method, id_, secret) {
                    (
                        Some(authorization_endpoint),
                        Some(http_method),
                        Some(client_id),
                        Some(client_secret),
                    ) => Some(Authorization::OAuthClientCredentials {
                        authorization_endpoint,
                        http_method,
                        client_id,
                        client_secret,
                        oauth_parameters,
                    }),
                    _ => None,
                }
            }
            None => {
                a.fail(
                    "OAuthParameters",
                    ErrorKind::Missing {
                        name: "OAuthParameters (AuthorizationType is OAUTH_CLIENT_CREDENTIALS)"
                            .into(),
                    },
                );
                None
            }
        },
        other => {
            a.invalid(
                "",
                format!("1 validation error detected: Value '{other}' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"),
            );
            None
        }
    };
    let invocation_parameters = http_parameters(&mut a, "InvocationHttpParameters");
    let mut resource_configuration_arn = None;
    if let Some((path, m)) = p.object("InvocationConnectivityParameters") {
        let mut c = p.child(path, m);
        if let Some((path, m)) = c.object("ResourceParameters") {
            let mut r = c.child(path, m);
            if let Some(rc) = r.str("ResourceConfigurationArn") {
                match model.resource_configurations.iter().find(|x| x.arn == rc) {
                    None => r.invalid("ResourceConfigurationArn", format!("resource configuration {rc} is not in this scenario")),
                    Some(x) if matches!(x.definition, ResourceDefinition::Ip { .. }) => r.invalid(
                        "ResourceConfigurationArn",
                        format!(
                            "resource configuration {} ({}) names an IP address: a connection's resource configuration must name a domain, since HTTP Tasks reach private APIs only by public domain name with a publicly trusted certificate",
                            x.name, x.definition
                        ),
                    ),
                    Some(_) => resource_configuration_arn = Some(rc),
                }
            }
        }
    }
    let Some(authorization) = authorization else {
        return;
    };
    let secret_name = secret_arn
        .split_once(":secret:")
        .map(|(_, n)| n.rsplit_once('-').map(|(n, _)| n).unwrap_or(n))
        .unwrap_or_default()
        .to_string();
    model.connections.push(ConnectionConfig {
        logical_id: id.to_string(),
        name: name.to_string(),
        arn: arn.to_string(),
        secret_arn: secret_arn.to_string(),
        secret_name,
        authorization,
        invocation_parameters,
        resource_configuration_arn,
        description: p.opt_str("Description"),
    });
}

/// `Tags` of an IAM role or user: `[{Key, Value}]` (both required, as IAM's `Tag` type says).
fn tags(p: &mut Props<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, m) in p.objects("Tags") {
        let mut c = p.child(path, m);
        if let (Some(k), Some(v)) = (c.str("Key"), c.str("Value")) {
            out.push((k, v));
        }
    }
    out
}

fn inline_policies(p: &mut Props<'_>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, m) in p.objects("Policies") {
        let mut c = p.child(path, m);
        let name = c.str("PolicyName");
        let doc = c.get("PolicyDocument").cloned();
        if doc.is_none() {
            c.fail(
                "PolicyDocument",
                ErrorKind::Missing {
                    name: "PolicyDocument".into(),
                },
            );
        }
        if let (Some(name), Some(doc)) = (name, doc) {
            out.push((name, doc));
        }
    }
    out
}

/// CloudFormation creates a state machine with CreateStateMachine, which refuses a role Step
/// Functions cannot assume (it does not exist, or its trust policy does not allow
/// `states.amazonaws.com` for this machine): the stack fails with Step Functions' message
/// ([`crate::sfn::role::CANNOT_ASSUME_ROLE`]). Only roles of the stack's account are checked
/// (vpcgate holds no other account's IAM).
fn state_machine_roles(model: &Model) -> Vec<(String, PropError)> {
    use crate::iam::{NamedPolicy, Policy, PolicyKind, ServiceAssumption, service_may_assume};
    let mut out = Vec::new();
    for sm in &model.state_machines {
        if sm.role_arn.split(':').nth(4) != Some(model.account.as_str()) {
            continue;
        }
        let trusted = model
            .roles
            .iter()
            .find(|r| r.arn == sm.role_arn)
            .and_then(|r| Policy::parse(&r.trust_policy, PolicyKind::Trust).ok())
            .is_some_and(|p| {
                let trust = NamedPolicy::new("AssumeRolePolicyDocument", p);
                service_may_assume(
                    &trust,
                    &sm.role_arn,
                    &ServiceAssumption {
                        service: crate::sfn::role::STATES_PRINCIPAL,
                        source_arn: &sm.arn,
                        source_account: &model.account,
                        region: &model.region,
                        now: None,
                    },
                )
                .is_allowed()
            });
        if !trusted {
            out.push((
                sm.logical_id.clone(),
                (
                    "Properties.RoleArn".to_string(),
                    ErrorKind::Invalid {
                        reason: format!(
                            "Resource handler returned message: \"{} (Service: Sfn, Status Code: 400)\"",
                            crate::sfn::role::CANNOT_ASSUME_ROLE
                        ),
                    },
                ),
            ));
        }
    }
    out
}

fn state_machine(p: &mut Props<'_>, model: &mut Model, id: &str, arn: &str, name: &str) {
    let role_arn = p.str("RoleArn").unwrap_or_default();
    let kind = match p.opt_str("StateMachineType").as_deref() {
        None | Some("STANDARD") => StateMachineType::Standard,
        Some("EXPRESS") => StateMachineType::Express,
        Some(other) => {
            p.invalid(
                "StateMachineType",
                format!("{other:?} is not one of STANDARD, EXPRESS"),
            );
            StateMachineType::Standard
        }
    };
    let mut definition = match (p.get("Definition"), p.get("DefinitionString")) {
        (Some(d), None) if d.is_object() => d.to_string(),
        (None, Some(Value::String(s))) => s.clone(),
        (Some(_), Some(_)) => {
            p.invalid("Definition", "give one of Definition, DefinitionString");
            return;
        }
        (None, None) => {
            if p.get("DefinitionS3Location").is_some() {
                p.invalid("DefinitionS3Location", "definitions in S3 are not emulated: inline the definition with Definition or DefinitionString");
            } else {
                p.fail(
                    "DefinitionString",
                    ErrorKind::Missing {
                        name: "Definition or DefinitionString".into(),
                    },
                );
            }
            return;
        }
        (Some(other), None) | (None, Some(other)) => {
            let found = type_name(other);
            p.fail(
                "DefinitionString",
                ErrorKind::WrongType {
                    expected: "a JSON object (Definition) or a string (DefinitionString)",
                    found,
                },
            );
            return;
        }
    };
    if let Some((_, subs)) = p.object("DefinitionSubstitutions") {
        for (k, v) in subs {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            definition = definition.replace(&format!("${{{k}}}"), &text);
        }
    }
    model.state_machines.push(StateMachine {
        logical_id: id.to_string(),
        name: name.to_string(),
        arn: arn.to_string(),
        role_arn,
        definition,
        kind,
    });
}
