//! VPC Lattice service networks in scenarios: physical ids (`Ref` / `Fn::GetAtt`), typed
//! conversion of the `AWS::VpcLattice::*` types into [`LatticeModel`], and the
//! `Vpcgate.Lattice` settings (workloads on instances, access log files).
//!
//! Property names are those of the CloudFormation template reference
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/AWS_VpcLattice.html>);
//! every error names the logical id and property path. `Ref` returns the ARN for every type but
//! `AuthPolicy` (its resource identifier).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::{ErrorKind, ScenarioError};
use super::ids::{IdContext, Physical, Subject, attrs};
use super::props::{PropError, Props, attr, reference};
use super::template::ResolvedResource;
use crate::iam::{Policy, PolicyKind};
use crate::lattice::AuthType;
use crate::lattice::access_log::{self, AccessLogSubscriptionConfig};
use crate::lattice::service_network::{
    Action, AuthPolicyConfig, HeaderMatch, HeaderMatchType, LatticeModel, ListenerConfig,
    PathMatch, RuleConfig, ServiceAssociationConfig, ServiceConfig, ServiceNetworkConfig,
    VpcAssociationConfig, WeightedTargetGroup, service_ip,
};
use crate::lattice::target_group::{
    HealthCheck, Protocol, Target, TargetAddress, TargetGroupConfig, TargetType,
};
use crate::lattice::workload::{InstanceConfig, WorkloadConfig};
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::VpcLattice::ServiceNetwork",
    "AWS::VpcLattice::Service",
    "AWS::VpcLattice::Listener",
    "AWS::VpcLattice::Rule",
    "AWS::VpcLattice::TargetGroup",
    "AWS::VpcLattice::ServiceNetworkVpcAssociation",
    "AWS::VpcLattice::ServiceNetworkServiceAssociation",
    "AWS::VpcLattice::AuthPolicy",
    "AWS::VpcLattice::AccessLogSubscription",
];

/// Whether this module converts resources of type `ty`.
pub fn handles(ty: &str) -> bool {
    TYPES.contains(&ty)
}

fn prop<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    props.get(key).and_then(Value::as_str)
}

/// The `svc-…` / `sn-…` / `tg-…` id inside an identifier that is an id or an ARN.
pub fn id_of(identifier: &str) -> String {
    identifier
        .rsplit('/')
        .next()
        .unwrap_or(identifier)
        .to_string()
}

fn lattice_arn(ctx: &IdContext, path: &str) -> String {
    format!("arn:aws:vpc-lattice:{}:{}:{path}", ctx.region, ctx.account)
}

/// The 7-hex-digit label between the service part and `vpc-lattice-svcs` in generated names
/// (`….7d67968.vpc-lattice-svcs.<region>.on.aws`): vpcgate derives it from account and region.
fn dns_label(ctx: &IdContext) -> String {
    let mut h = Sha256::new();
    h.update(b"vpc-lattice-svcs");
    h.update(ctx.account.as_bytes());
    h.update(ctx.region.as_bytes());
    hex::encode(h.finalize())[..7].to_string()
}

/// A Lattice name: lower-case letters, digits and single hyphens, 3-40 characters.
fn lattice_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A service network's association (`id`, ARN kind `kind`): its network's id and ARN, what it
/// associates (`what`), `ACTIVE`.
fn association(
    ctx: &IdContext,
    props: &Map<String, Value>,
    (id, kind): (&str, &str),
    what: Vec<(&str, Value)>,
) -> Physical {
    let arn = lattice_arn(ctx, &format!("{kind}/{id}"));
    let sn = id_of(prop(props, "ServiceNetworkIdentifier").unwrap_or("sn-unknown"));
    let sn_arn = lattice_arn(ctx, &format!("servicenetwork/{sn}"));
    let mut pairs = vec![
        ("Arn", json!(arn)),
        ("Id", json!(id)),
        ("ServiceNetworkId", json!(sn)),
        ("ServiceNetworkArn", json!(sn_arn)),
    ];
    pairs.extend(what);
    pairs.push(("Status", json!("ACTIVE")));
    pairs.push(("CreatedAt", json!(CREATED)));
    Physical {
        reference: json!(arn),
        attributes: attrs(&pairs),
    }
}

/// The creation time of every Lattice resource (fixed: worlds are deterministic).
const CREATED: &str = "2026-01-01T00:00:00.000Z";

/// `Ref` and attributes of a Lattice resource.
pub fn physical(s: &Subject<'_>, ty: &str) -> Option<Physical> {
    let Subject {
        ctx,
        logical,
        props,
    } = *s;
    let created = json!(CREATED);
    let p = match ty {
        "AWS::VpcLattice::ServiceNetwork" => {
            let id = s.hex17("sn");
            let arn = lattice_arn(ctx, &format!("servicenetwork/{id}"));
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Id", json!(id)),
                    ("CreatedAt", created.clone()),
                    ("LastUpdatedAt", created),
                ]),
            }
        }
        "AWS::VpcLattice::Service" => {
            let id = s.hex17("svc");
            let arn = lattice_arn(ctx, &format!("service/{id}"));
            let name = prop(props, "Name")
                .map(str::to_string)
                .unwrap_or_else(|| lattice_name(&ctx.generated_name(logical, 40, 12)));
            let dns = format!(
                "{name}-{}.{}.vpc-lattice-svcs.{}.on.aws",
                &id[4..],
                dns_label(ctx),
                ctx.region
            );
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Id", json!(id)),
                    ("Name", json!(name)),
                    ("DnsEntry.DomainName", json!(dns)),
                    (
                        "DnsEntry.HostedZoneId",
                        json!(format!("Z{}", ctx.upper("lattice", "zone", 13))),
                    ),
                    ("Status", json!("ACTIVE")),
                    ("CreatedAt", created.clone()),
                    ("LastUpdatedAt", created),
                ]),
            }
        }
        "AWS::VpcLattice::TargetGroup" => {
            let id = s.hex17("tg");
            let arn = lattice_arn(ctx, &format!("targetgroup/{id}"));
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Id", json!(id)),
                    ("Status", json!("ACTIVE")),
                    ("CreatedAt", created.clone()),
                    ("LastUpdatedAt", created),
                ]),
            }
        }
        "AWS::VpcLattice::Listener" => {
            let id = s.hex17("listener");
            let svc = id_of(prop(props, "ServiceIdentifier").unwrap_or("svc-unknown"));
            let svc_arn = lattice_arn(ctx, &format!("service/{svc}"));
            let arn = format!("{svc_arn}/listener/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Id", json!(id)),
                    ("ServiceArn", json!(svc_arn)),
                    ("ServiceId", json!(svc)),
                ]),
            }
        }
        "AWS::VpcLattice::Rule" => {
            let id = s.hex17("rule");
            let listener = prop(props, "ListenerIdentifier").unwrap_or("listener-unknown");
            let listener_arn = if listener.starts_with("arn:") {
                listener.to_string()
            } else {
                let svc = id_of(prop(props, "ServiceIdentifier").unwrap_or("svc-unknown"));
                lattice_arn(ctx, &format!("service/{svc}/listener/{listener}"))
            };
            let arn = format!("{listener_arn}/rule/{id}");
            Physical {
                reference: json!(arn),
                attributes: attrs(&[("Arn", json!(arn)), ("Id", json!(id))]),
            }
        }
        "AWS::VpcLattice::ServiceNetworkVpcAssociation" => {
            let vpc = props.get("VpcIdentifier").cloned().unwrap_or(Value::Null);
            association(
                ctx,
                props,
                (&s.hex17("snva"), "servicenetworkvpcassociation"),
                vec![("VpcId", vpc)],
            )
        }
        "AWS::VpcLattice::ServiceNetworkServiceAssociation" => {
            let svc = id_of(prop(props, "ServiceIdentifier").unwrap_or("svc-unknown"));
            let svc_arn = lattice_arn(ctx, &format!("service/{svc}"));
            association(
                ctx,
                props,
                (&s.hex17("snsa"), "servicenetworkserviceassociation"),
                vec![("ServiceId", json!(svc)), ("ServiceArn", json!(svc_arn))],
            )
        }
        "AWS::VpcLattice::AuthPolicy" => Physical {
            reference: props
                .get("ResourceIdentifier")
                .cloned()
                .unwrap_or(json!(logical)),
            attributes: attrs(&[("State", json!("Active"))]),
        },
        "AWS::VpcLattice::AccessLogSubscription" => {
            let id = s.hex17("als");
            let arn = lattice_arn(ctx, &format!("accesslogsubscription/{id}"));
            let res = prop(props, "ResourceIdentifier").unwrap_or_default();
            Physical {
                reference: json!(arn),
                attributes: attrs(&[
                    ("Arn", json!(arn)),
                    ("Id", json!(id)),
                    ("ResourceId", json!(id_of(res))),
                    ("ResourceArn", json!(res)),
                ]),
            }
        }
        _ => return None,
    };
    Some(p)
}

fn auth_type(p: &mut Props<'_>) -> AuthType {
    match p.opt_str("AuthType").as_deref() {
        None | Some("NONE") => AuthType::None,
        Some("AWS_IAM") => AuthType::AwsIam,
        Some(other) => {
            p.invalid("AuthType", format!("{other:?} is not one of NONE, AWS_IAM"));
            AuthType::None
        }
    }
}

/// Converts every Lattice resource (and reads `AWS::EC2::Instance`s for clients and targets);
/// returns the errors by logical id. Runs after the VPCs, groups, roles and load balancers are in
/// `model`.
pub(crate) fn build(resolved: &[ResolvedResource], model: &mut Model) -> Vec<(String, PropError)> {
    let mut errors: Vec<(String, PropError)> = Vec::new();
    let mut lm = LatticeModel::default();
    let order = |ty: &str| match ty {
        "AWS::EC2::Instance" => 0,
        "AWS::VpcLattice::ServiceNetwork" => 1,
        "AWS::VpcLattice::Service" => 2,
        "AWS::VpcLattice::TargetGroup" => 3,
        "AWS::VpcLattice::Listener" => 4,
        "AWS::VpcLattice::Rule" => 5,
        _ => 6,
    };
    let mut items: Vec<&ResolvedResource> = resolved
        .iter()
        .filter(|r| handles(&r.ty) || r.ty == "AWS::EC2::Instance")
        .collect();
    items.sort_by_key(|r| order(&r.ty));
    for r in items {
        let mut errs = Vec::new();
        let mut p = Props::of(r, &mut errs);
        let id = r.logical_id.clone();
        match r.ty.as_str() {
            "AWS::EC2::Instance" => instance(r, model, &mut lm),
            "AWS::VpcLattice::ServiceNetwork" => {
                let name = p.opt_str("Name").unwrap_or_else(|| lattice_name(&id));
                let auth = auth_type(&mut p);
                lm.service_networks.push(ServiceNetworkConfig {
                    logical_id: id.clone(),
                    name,
                    id: attr(r, "Id"),
                    arn: reference(r),
                    auth,
                });
            }
            "AWS::VpcLattice::Service" => {
                let auth = auth_type(&mut p);
                let custom_domain_name = p.opt_str("CustomDomainName");
                let certificate_arn = p.opt_str("CertificateArn");
                if let Some(name) = p.opt_str("Name")
                    && (lattice_name(&name) != name || name.len() < 3)
                {
                    p.invalid("Name", format!("{name:?}: a service name is 3-40 lower-case letters, digits and single hyphens, starting and ending with a letter or digit"));
                }
                let sid = attr(r, "Id");
                lm.services.push(ServiceConfig {
                    logical_id: id.clone(),
                    name: attr(r, "Name"),
                    ip: service_ip(&sid),
                    id: sid,
                    arn: reference(r),
                    dns_name: attr(r, "DnsEntry.DomainName"),
                    custom_domain_name,
                    certificate_arn,
                    auth,
                });
            }
            "AWS::VpcLattice::TargetGroup" => target_group(&mut p, r, model, &mut lm),
            "AWS::VpcLattice::Listener" => listener(&mut p, r, &mut lm),
            "AWS::VpcLattice::Rule" => rule(&mut p, r, &mut lm),
            "AWS::VpcLattice::ServiceNetworkVpcAssociation" => {
                let sn = p.str("ServiceNetworkIdentifier").unwrap_or_default();
                let vpc = p.str("VpcIdentifier").unwrap_or_default();
                let sgs = p.str_list("SecurityGroupIds");
                let sn_id = find_network(&mut p, &lm, &sn);
                if !vpc.is_empty() && !model.vpcs.iter().any(|v| v.id == vpc) {
                    p.invalid(
                        "VpcIdentifier",
                        format!("The vpc ID '{vpc}' does not exist"),
                    );
                }
                for (i, g) in sgs.iter().enumerate() {
                    match model.security_groups.iter().find(|s| &s.id == g) {
                        None => p.invalid(
                            &format!("SecurityGroupIds[{i}]"),
                            format!("The security group '{g}' does not exist"),
                        ),
                        Some(s) if !s.vpc_id.is_empty() && s.vpc_id != vpc => p.invalid(
                            &format!("SecurityGroupIds[{i}]"),
                            format!("security group {g} belongs to {}, not to {vpc}", s.vpc_id),
                        ),
                        Some(_) => {}
                    }
                }
                if lm.vpc_associations.iter().any(|a| a.vpc_id == vpc) {
                    p.invalid(
                        "VpcIdentifier",
                        format!("VPC {vpc} is already associated with a service network (a VPC can be associated with one service network)"),
                    );
                }
                if let Some(sn_id) = sn_id {
                    lm.vpc_associations.push(VpcAssociationConfig {
                        logical_id: id.clone(),
                        id: attr(r, "Id"),
                        arn: reference(r),
                        service_network_id: sn_id,
                        vpc_id: vpc,
                        security_groups: sgs,
                    });
                }
            }
            "AWS::VpcLattice::ServiceNetworkServiceAssociation" => {
                let sn = p.opt_str("ServiceNetworkIdentifier").unwrap_or_default();
                let svc = p.opt_str("ServiceIdentifier").unwrap_or_default();
                let sn_id = find_network(&mut p, &lm, &sn);
                let svc_id = find_service(&mut p, &lm, &svc, "ServiceIdentifier");
                if let (Some(sn_id), Some(svc_id)) = (sn_id, svc_id) {
                    lm.service_associations.push(ServiceAssociationConfig {
                        logical_id: id.clone(),
                        id: attr(r, "Id"),
                        arn: reference(r),
                        service_network_id: sn_id,
                        service_id: svc_id,
                    });
                }
            }
            "AWS::VpcLattice::AuthPolicy" => {
                let res = p.str("ResourceIdentifier").unwrap_or_default();
                let resource_id = id_of(&res);
                let kind = if resource_id.starts_with("sn-")
                    && lm.service_networks.iter().any(|n| n.id == resource_id)
                {
                    Some(PolicyKind::LatticeServiceNetwork)
                } else if resource_id.starts_with("svc-")
                    && lm.services.iter().any(|s| s.id == resource_id)
                {
                    Some(PolicyKind::LatticeService)
                } else {
                    p.invalid(
                        "ResourceIdentifier",
                        format!("{res:?} is not a service network or service in this scenario"),
                    );
                    None
                };
                match p.map.get("Policy").cloned() {
                    None => p.missing("Policy"),
                    Some(doc) => {
                        let doc = match doc {
                            Value::String(text) => {
                                serde_json::from_str(&text).unwrap_or(Value::String(text))
                            }
                            other => other,
                        };
                        if let Some(kind) = kind {
                            if let Err(e) = Policy::parse(&doc, kind) {
                                p.invalid("Policy", e.to_string());
                            } else {
                                lm.auth_policies.push(AuthPolicyConfig {
                                    logical_id: id.clone(),
                                    resource_id,
                                    policy: doc,
                                });
                            }
                        }
                    }
                }
            }
            "AWS::VpcLattice::AccessLogSubscription" => {
                let res = p.opt_str("ResourceIdentifier").unwrap_or_default();
                let destination = p.str("DestinationArn").unwrap_or_default();
                let resource_id = id_of(&res);
                if !lm.service_networks.iter().any(|n| n.id == resource_id)
                    && !lm.services.iter().any(|s| s.id == resource_id)
                {
                    p.invalid(
                        "ResourceIdentifier",
                        format!("{res:?} is not a service network or service in this scenario"),
                    );
                }
                let als = attr(r, "Id");
                lm.access_log_subscriptions
                    .push(AccessLogSubscriptionConfig {
                        logical_id: id.clone(),
                        file: access_log::default_file(&als),
                        id: als,
                        arn: reference(r),
                        resource_id,
                        destination_arn: destination,
                    });
            }
            _ => {}
        }
        errors.extend(errs.into_iter().map(|e| (id.clone(), e)));
    }
    model.lattice = lm;
    errors
}

fn find_network(p: &mut Props<'_>, lm: &LatticeModel, identifier: &str) -> Option<String> {
    let id = id_of(identifier);
    if lm
        .service_networks
        .iter()
        .any(|n| n.id == id || n.arn == identifier)
    {
        Some(id)
    } else {
        p.invalid(
            "ServiceNetworkIdentifier",
            format!("service network {identifier:?} is not in this scenario"),
        );
        None
    }
}

fn find_service(
    p: &mut Props<'_>,
    lm: &LatticeModel,
    identifier: &str,
    key: &str,
) -> Option<String> {
    let id = id_of(identifier);
    if lm
        .services
        .iter()
        .any(|s| s.id == id || s.arn == identifier)
    {
        Some(id)
    } else {
        p.invalid(
            key,
            format!("service {identifier:?} is not in this scenario"),
        );
        None
    }
}

fn instance(r: &ResolvedResource, model: &Model, lm: &mut LatticeModel) {
    // Instances are read, not validated: the project's own AWS::EC2::Instance support
    // (scenario::ec2) owns their errors, so this reading's are dropped. One without a known
    // subnet is left out (a target naming it says so).
    let mut ignored = Vec::new();
    let p = &mut Props::of(r, &mut ignored);
    let mut subnet = p.opt_str("SubnetId");
    let mut groups = p.str_list("SecurityGroupIds");
    if subnet.is_none() {
        for (path, m) in p.objects("NetworkInterfaces") {
            let mut c = p.child(path, m);
            if subnet.is_none() {
                subnet = c.opt_str("SubnetId");
                groups.extend(c.str_list("GroupSet"));
            }
        }
    }
    let Some(subnet) = subnet else { return };
    if !model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .any(|s| s.id == subnet)
    {
        return;
    }
    lm.instances.push(InstanceConfig {
        logical_id: r.logical_id.clone(),
        reference: reference(r),
        subnet_id: subnet,
        security_groups: groups,
    });
}

fn protocol(p: &mut Props<'_>, key: &str, default: Option<Protocol>) -> Option<Protocol> {
    match p.opt_str(key).as_deref() {
        None => {
            if default.is_none() {
                p.missing(key);
            }
            default
        }
        Some("HTTP") => Some(Protocol::Http),
        Some("HTTPS") => Some(Protocol::Https),
        Some(other @ ("TCP" | "TLS_PASSTHROUGH")) => {
            p.invalid(key, format!("{other} is not emulated (HTTP and HTTPS are)"));
            None
        }
        Some(other) => {
            p.invalid(key, format!("{other:?} is not one of HTTP, HTTPS, TCP"));
            None
        }
    }
}

fn ranged(p: &mut Props<'_>, key: &str, range: (u32, u32), default: u32) -> u32 {
    match p.opt_u32(key) {
        None | Some(0) => default,
        Some(n) if (range.0..=range.1).contains(&n) => n,
        Some(n) => {
            p.invalid(
                key,
                format!("{n} is out of range ({}-{})", range.0, range.1),
            );
            default
        }
    }
}

fn health_check(p: &mut Props<'_>, http2: bool) -> HealthCheck {
    let mut hc = HealthCheck {
        enabled: !http2,
        ..HealthCheck::default()
    };
    let Some((path, m)) = p.object("HealthCheck") else {
        return hc;
    };
    let mut c = p.child(path, m);
    if let Some(e) = c.opt_bool("Enabled") {
        hc.enabled = e;
    }
    if let Some(proto) = protocol(&mut c, "Protocol", Some(Protocol::Http)) {
        hc.protocol = proto;
    }
    if let Some(port) = c.opt_u32("Port") {
        if (1..=65535).contains(&port) {
            hc.port = Some(port as u16);
        } else {
            c.invalid("Port", format!("{port} is not a port"));
        }
    }
    if let Some(path) = c.opt_str("Path") {
        if path.starts_with('/') {
            hc.path = path;
        } else {
            c.invalid("Path", format!("{path:?} must start with /"));
        }
    }
    hc.interval =
        Duration::from_secs(ranged(&mut c, "HealthCheckIntervalSeconds", (5, 300), 30).into());
    hc.timeout =
        Duration::from_secs(ranged(&mut c, "HealthCheckTimeoutSeconds", (1, 120), 5).into());
    hc.healthy_threshold = ranged(&mut c, "HealthyThresholdCount", (2, 10), 5);
    hc.unhealthy_threshold = ranged(&mut c, "UnhealthyThresholdCount", (2, 10), 2);
    if let Some((path, m)) = c.object("Matcher") {
        let mut mm = c.child(path, m);
        if let Some(codes) = mm.opt_str("HttpCode") {
            let mut ranges = Vec::new();
            for part in codes.split(',') {
                let r = match part.split_once('-') {
                    Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
                    None => part.trim().parse().ok().map(|n| (n, n)),
                };
                match r {
                    Some((a, b)) if (200..=599).contains(&a) && a <= b && b <= 599 => {
                        ranges.push((a, b))
                    }
                    _ => mm.invalid(
                        "HttpCode",
                        format!("{codes:?} is not a list of HTTP codes or ranges (200-599)"),
                    ),
                }
            }
            if !ranges.is_empty() {
                hc.matcher = ranges;
            }
        }
    }
    hc
}

/// A `LAMBDA` target group: no `Config` beyond `LambdaEventStructureVersion`
/// (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html>), its targets Lambda
/// functions. vpcgate does not run Lambda: the group is kept with no reachable target, so a
/// listener may forward to it and a request gets Lattice's answer for that.
fn lambda_target_group(p: &mut Props<'_>, r: &ResolvedResource, lm: &mut LatticeModel) {
    if let Some((path, config)) = p.object("Config") {
        let mut c = p.child(path, config);
        if let Some(v) = c.opt_str("LambdaEventStructureVersion")
            && v != "V1"
            && v != "V2"
        {
            c.invalid(
                "LambdaEventStructureVersion",
                format!("{v:?} is not one of V1, V2"),
            );
        }
    }
    let name = p
        .opt_str("Name")
        .unwrap_or_else(|| lattice_name(&r.logical_id));
    lm.target_groups.push(TargetGroupConfig {
        logical_id: r.logical_id.clone(),
        name,
        id: attr(r, "Id"),
        arn: reference(r),
        target_type: TargetType::Lambda,
        port: 443,
        protocol: crate::lattice::target_group::Protocol::Https,
        vpc_id: String::new(),
        health_check: None,
        targets: Vec::new(),
    });
}

fn target_group(p: &mut Props<'_>, r: &ResolvedResource, model: &Model, lm: &mut LatticeModel) {
    let target_type = match p.str("Type").as_deref() {
        Some("IP") => TargetType::Ip,
        Some("INSTANCE") => TargetType::Instance,
        Some("ALB") => TargetType::Alb,
        Some("LAMBDA") => {
            lambda_target_group(p, r, lm);
            return;
        }
        Some(other) => {
            p.invalid(
                "Type",
                format!("{other:?} is not one of IP, INSTANCE, ALB, LAMBDA"),
            );
            return;
        }
        None => return,
    };
    let name = p
        .opt_str("Name")
        .unwrap_or_else(|| lattice_name(&r.logical_id));
    let Some((path, config)) = p.object("Config") else {
        p.missing("Config");
        return;
    };
    let mut c = p.child(path, config);
    let proto = protocol(&mut c, "Protocol", None);
    let port = c.opt_u32("Port");
    let vpc_id = c.opt_str("VpcIdentifier").unwrap_or_default();
    if vpc_id.is_empty() {
        c.missing("VpcIdentifier");
    } else if !model.vpcs.iter().any(|v| v.id == vpc_id) {
        c.invalid(
            "VpcIdentifier",
            format!("The vpc ID '{vpc_id}' does not exist"),
        );
    }
    let http2 = matches!(
        c.opt_str("ProtocolVersion").as_deref(),
        Some("HTTP2" | "GRPC")
    );
    let health_check = if target_type == TargetType::Alb {
        if c.map.contains_key("HealthCheck") {
            // Recorded from the API (hashicorp/terraform-provider-aws#33579, aws-ia module #29).
            c.invalid(
                "HealthCheck",
                "ALB Target Group does not support health check config",
            );
        }
        None
    } else {
        Some(health_check(&mut c, http2))
    };
    let Some(protocol) = proto else { return };
    let port = match port {
        Some(n) if (1..=65535).contains(&n) => n as u16,
        Some(n) => {
            c.invalid("Port", format!("{n} is not a port"));
            return;
        }
        None => protocol.default_port(),
    };
    let vpc = model.vpcs.iter().find(|v| v.id == vpc_id);
    let mut targets = Vec::new();
    for (path, m) in p.objects("Targets") {
        let mut t = p.child(path, m);
        let Some(tid) = t.str("Id") else { continue };
        let tport = match t.opt_u32("Port") {
            Some(n) if (1..=65535).contains(&n) => n as u16,
            Some(n) => {
                t.invalid("Port", format!("{n} is not a port"));
                continue;
            }
            None => port,
        };
        let address = match target_type {
            TargetType::Ip => match tid.parse::<IpAddr>() {
                Ok(ip) if vpc.is_some_and(|v| ipnet::IpNet::V4(v.cidr).contains(&ip)) => {
                    TargetAddress::InVpc((ip, tport).into())
                }
                Ok(ip)
                    if model
                        .vpcs
                        .iter()
                        .any(|v| ipnet::IpNet::V4(v.cidr).contains(&ip))
                        || crate::lattice::is_private(ip) =>
                {
                    t.invalid(
                        "Id",
                        format!("IP target {ip} is not in the target group's VPC {vpc_id}"),
                    );
                    continue;
                }
                // The host's loopback: a user's own service behind Lattice (vpcgate's binding
                // of a target to a local process).
                Ok(ip) if ip.is_loopback() => TargetAddress::Host((ip, tport).into()),
                // Any other address: AWS registers IP targets from the target group's VPC only
                // (VPC Lattice User Guide, "IP address targets": "the IP addresses must be from
                // the subnets of the VPC you specified for the target group"), and vpcgate never
                // opens a connection off this machine.
                Ok(ip) => {
                    t.invalid(
                        "Id",
                        format!(
                            "IP target {ip} is not in the target group's VPC {vpc_id} (only the \
                             VPC's addresses, or 127.0.0.1 for a service on this machine)"
                        ),
                    );
                    continue;
                }
                Err(_) => {
                    t.invalid(
                        "Id",
                        format!("{tid:?} is not an IP address (IP target group)"),
                    );
                    continue;
                }
            },
            TargetType::Instance => {
                match lm
                    .instances
                    .iter()
                    .find(|i| i.reference == tid || i.logical_id == tid)
                {
                    Some(inst) => {
                        let in_vpc = model
                            .vpcs
                            .iter()
                            .find(|v| v.subnets.iter().any(|s| s.id == inst.subnet_id))
                            .is_some_and(|v| v.id == vpc_id);
                        if !in_vpc {
                            t.invalid(
                                "Id",
                                format!(
                                    "instance {} is not in the target group's VPC {vpc_id}",
                                    inst.logical_id
                                ),
                            );
                            continue;
                        }
                        TargetAddress::Instance {
                            logical_id: inst.logical_id.clone(),
                            port: tport,
                        }
                    }
                    None => {
                        t.invalid(
                            "Id",
                            format!("{tid:?} is not an AWS::EC2::Instance (with a SubnetId) in this scenario"),
                        );
                        continue;
                    }
                }
            }
            TargetType::Lambda => unreachable!("LAMBDA groups are built by lambda_target_group"),
            TargetType::Alb => match model.load_balancers.iter().find(|l| l.arn == tid) {
                Some(lb) => TargetAddress::Alb {
                    arn: lb.arn.clone(),
                    port: tport,
                },
                None => {
                    t.invalid(
                        "Id",
                        format!("{tid:?} is not a load balancer in this scenario"),
                    );
                    continue;
                }
            },
        };
        targets.push(Target { id: tid, address });
    }
    lm.target_groups.push(TargetGroupConfig {
        logical_id: r.logical_id.clone(),
        name,
        id: attr(r, "Id"),
        arn: reference(r),
        target_type,
        port,
        protocol,
        vpc_id,
        health_check,
        targets,
    });
}

fn action(p: &mut Props<'_>, key: &str, lm: &LatticeModel) -> Option<Action> {
    let Some((path, m)) = p.object(key) else {
        p.missing(key);
        return None;
    };
    let mut a = p.child(path, m);
    match (a.object("Forward"), a.object("FixedResponse")) {
        (Some((path, m)), None) => {
            let mut f = a.child(path, m);
            let mut groups = Vec::new();
            for (path, m) in f.objects("TargetGroups") {
                let mut g = f.child(path, m);
                let Some(tg) = g.str("TargetGroupIdentifier") else {
                    continue;
                };
                let id = id_of(&tg);
                if !lm.target_groups.iter().any(|t| t.id == id || t.arn == tg) {
                    g.invalid(
                        "TargetGroupIdentifier",
                        format!("target group {tg:?} is not in this scenario"),
                    );
                    continue;
                }
                let weight = g.opt_u32("Weight").unwrap_or(100);
                if weight > 999 {
                    g.invalid("Weight", format!("{weight} is out of range (0-999)"));
                }
                groups.push(WeightedTargetGroup {
                    target_group_id: id,
                    weight,
                });
            }
            if groups.is_empty() {
                f.missing("TargetGroups");
            }
            Some(Action::Forward(groups))
        }
        (None, Some((path, m))) => {
            let mut f = a.child(path, m);
            match f.opt_u32("StatusCode") {
                // FixedResponseAction (VPC Lattice API reference): "Only 404 and 500 status
                // codes are supported"; the API's ValidationException text (recorded when only 404
                // was allowed: "Only 404 status code is supported.").
                Some(code @ (404 | 500)) => Some(Action::FixedResponse(code as u16)),
                Some(code) => {
                    f.invalid(
                        "StatusCode",
                        format!("{code}: Only 404 and 500 status codes are supported."),
                    );
                    None
                }
                None => {
                    f.missing("StatusCode");
                    None
                }
            }
        }
        _ => {
            a.invalid("", "exactly one of Forward, FixedResponse is required");
            None
        }
    }
}

fn listener(p: &mut Props<'_>, r: &ResolvedResource, lm: &mut LatticeModel) {
    let svc = p.str("ServiceIdentifier").unwrap_or_default();
    let service_id = find_service(p, lm, &svc, "ServiceIdentifier");
    let Some(protocol) = protocol(p, "Protocol", None) else {
        return;
    };
    let port = match p.opt_u32("Port") {
        None => protocol.default_port(),
        Some(n) if (1..=65535).contains(&n) => n as u16,
        Some(n) => {
            p.invalid("Port", format!("{n} is not a port"));
            return;
        }
    };
    let default_action = action(p, "DefaultAction", lm);
    let name = p
        .opt_str("Name")
        .unwrap_or_else(|| format!("{}-{port}", protocol.scheme()));
    if let Some(sid) = &service_id
        && lm
            .listeners
            .iter()
            .any(|l| &l.service_id == sid && l.port == port)
    {
        p.invalid(
            "Port",
            format!("service {svc} already has a listener on port {port}"),
        );
        return;
    }
    if let (Some(service_id), Some(default_action)) = (service_id, default_action) {
        lm.listeners.push(ListenerConfig {
            logical_id: r.logical_id.clone(),
            name,
            id: attr(r, "Id"),
            arn: reference(r),
            service_id,
            protocol,
            port,
            default_action,
        });
    }
}

fn rule(p: &mut Props<'_>, r: &ResolvedResource, lm: &mut LatticeModel) {
    let listener = p.str("ListenerIdentifier").unwrap_or_default();
    let lid = id_of(&listener);
    let Some(listener_id) = lm
        .listeners
        .iter()
        .find(|l| l.id == lid || l.arn == listener)
        .map(|l| l.id.clone())
    else {
        p.invalid(
            "ListenerIdentifier",
            format!("listener {listener:?} is not in this scenario"),
        );
        return;
    };
    let priority = p.opt_u32("Priority").unwrap_or(0);
    if !(1..=100).contains(&priority) {
        p.invalid("Priority", "Priority must be between 1 and 100");
    }
    let mut method = None;
    let mut path_match = None;
    let mut headers = Vec::new();
    match p.object("Match") {
        None => p.missing("Match"),
        Some((path, m)) => {
            let mut mm = p.child(path, m);
            if let Some((path, m)) = mm.object("HttpMatch") {
                let mut h = mm.child(path, m);
                method = h.opt_str("Method");
                if let Some((path, m)) = h.object("PathMatch") {
                    let mut pm = h.child(path, m);
                    let case_sensitive = pm.opt_bool("CaseSensitive").unwrap_or(true);
                    if let Some((path, m)) = pm.object("Match") {
                        let mut x = pm.child(path, m);
                        match (x.opt_str("Exact"), x.opt_str("Prefix")) {
                            (Some(v), None) => {
                                path_match = Some(PathMatch {
                                    exact: true,
                                    value: v,
                                    case_sensitive,
                                })
                            }
                            (None, Some(v)) => {
                                path_match = Some(PathMatch {
                                    exact: false,
                                    value: v,
                                    case_sensitive,
                                })
                            }
                            _ => x.invalid("", "exactly one of Exact, Prefix is required"),
                        }
                    }
                }
                for (path, m) in h.objects("HeaderMatches") {
                    let mut hm = h.child(path, m);
                    let Some(name) = hm.str("Name") else { continue };
                    let case_sensitive = hm.opt_bool("CaseSensitive").unwrap_or(false);
                    let Some((path, m)) = hm.object("Match") else {
                        hm.missing("Match");
                        continue;
                    };
                    let mut x = hm.child(path, m);
                    let kind = match (
                        x.opt_str("Exact"),
                        x.opt_str("Prefix"),
                        x.opt_str("Contains"),
                    ) {
                        (Some(v), None, None) => HeaderMatchType::Exact(v),
                        (None, Some(v), None) => HeaderMatchType::Prefix(v),
                        (None, None, Some(v)) => HeaderMatchType::Contains(v),
                        _ => {
                            x.invalid("", "exactly one of Exact, Prefix, Contains is required");
                            continue;
                        }
                    };
                    headers.push(HeaderMatch {
                        name: name.to_ascii_lowercase(),
                        kind,
                        case_sensitive,
                    });
                }
            } else {
                mm.missing("HttpMatch");
            }
        }
    }
    let Some(action) = action(p, "Action", lm) else {
        return;
    };
    let name = p
        .opt_str("Name")
        .unwrap_or_else(|| lattice_name(&r.logical_id));
    lm.rules.push(RuleConfig {
        logical_id: r.logical_id.clone(),
        name,
        id: attr(r, "Id"),
        arn: reference(r),
        listener_id,
        priority,
        method,
        path: path_match,
        headers,
        action,
    });
}

/// `Vpcgate.Lattice`: vpcgate's own settings for Lattice service networks.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LatticeSettings {
    /// Echo servers on instances (targets that answer).
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// Access log subscription (logical id or destination ARN) -> local file.
    #[serde(default)]
    pub access_log_files: BTreeMap<String, String>,
}

/// `Vpcgate.Lattice.Workloads[]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// The `AWS::EC2::Instance` logical id.
    pub instance: String,
    /// The port (default 80 / 443 by protocol).
    #[serde(default)]
    pub port: Option<u16>,
    /// `HTTP` (default) or `HTTPS`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Paths answered with `HealthStatus` (default `["/health"]`).
    #[serde(default)]
    pub health_paths: Option<Vec<String>>,
    /// What the health paths answer (default 200).
    #[serde(default)]
    pub health_status: Option<u16>,
}

/// Applies `Vpcgate.Lattice` to the model.
pub fn apply_settings(
    file: &str,
    settings: Option<&Value>,
    model: &mut Model,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let Some(v) = settings else { return errors };
    let err = |path: String, reason: String| ScenarioError {
        file: file.to_string(),
        logical_id: None,
        path,
        kind: ErrorKind::Invalid { reason },
    };
    let s: LatticeSettings = match serde_json::from_value(v.clone()) {
        Ok(s) => s,
        Err(e) => return vec![err("Vpcgate.Lattice".into(), e.to_string())],
    };
    for (i, w) in s.workloads.iter().enumerate() {
        let at = format!("Vpcgate.Lattice.Workloads[{i}]");
        if !model
            .lattice
            .instances
            .iter()
            .any(|x| x.logical_id == w.instance)
        {
            errors.push(err(
                format!("{at}.Instance"),
                format!(
                    "no AWS::EC2::Instance {:?} with a SubnetId in this scenario",
                    w.instance
                ),
            ));
            continue;
        }
        let protocol = match w.protocol.as_deref() {
            None | Some("HTTP") => Protocol::Http,
            Some("HTTPS") => Protocol::Https,
            Some(other) => {
                errors.push(err(
                    format!("{at}.Protocol"),
                    format!("{other:?} is not one of HTTP, HTTPS"),
                ));
                continue;
            }
        };
        model.lattice.workloads.push(WorkloadConfig {
            instance: w.instance.clone(),
            port: w.port.unwrap_or(protocol.default_port()),
            protocol,
            health_paths: w
                .health_paths
                .clone()
                .unwrap_or_else(|| vec!["/health".into()]),
            health_status: w.health_status.unwrap_or(200),
        });
    }
    for (key, path) in &s.access_log_files {
        match model
            .lattice
            .access_log_subscriptions
            .iter_mut()
            .find(|a| &a.logical_id == key || &a.destination_arn == key || &a.arn == key)
        {
            Some(a) => a.file = path.into(),
            None => errors.push(err(
                format!("Vpcgate.Lattice.AccessLogFiles.{key}"),
                "no AWS::VpcLattice::AccessLogSubscription with this logical id or destination ARN"
                    .into(),
            )),
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> IdContext {
        super::super::ids::test_context("seed-004")
    }

    #[test]
    fn service_names_follow_the_generated_dns_shape() {
        let mut props = Map::new();
        props.insert("Name".into(), json!("service-b"));
        let p =
            super::super::ids::physical(&ctx(), "Svc", "AWS::VpcLattice::Service", &props).unwrap();
        let id = p.attributes["Id"].as_str().unwrap();
        let dns = p.attributes["DnsEntry.DomainName"].as_str().unwrap();
        assert!(id.starts_with("svc-") && id.len() == 21, "{id}");
        let (first, rest) = dns.split_once('.').unwrap();
        assert_eq!(first, format!("service-b-{}", &id[4..]));
        let (label, rest) = rest.split_once('.').unwrap();
        assert_eq!(label.len(), 7);
        assert!(label.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(rest, "vpc-lattice-svcs.ap-northeast-1.on.aws");
        assert_eq!(
            p.reference,
            json!(format!(
                "arn:aws:vpc-lattice:ap-northeast-1:123456789012:service/{id}"
            ))
        );
    }

    #[test]
    fn generated_names_are_valid_lattice_names() {
        let n = lattice_name("Seed_004--ServiceBLatticeService-ABC");
        assert_eq!(n, "seed-004-serviceblatticeservice-abc");
        let long = lattice_name(&"x".repeat(60));
        assert_eq!(long.len(), 40);
    }
}
