//! The load-balancer family: `AWS::ElasticLoadBalancingV2::LoadBalancer`, `::Listener`,
//! `::ListenerRule` and `::TargetGroup`. Application Load Balancers are converted here into the
//! [`Model`]'s load balancers and listeners; Network Load Balancers, their listeners and target
//! groups go to [`super::nlb`].
//!
//! Target groups come first (the stack's order puts them before the rules and listeners that
//! forward to them: `resources::rank`), so an action copies its group; listener rules wait in
//! [`LoadBalancers`] until [`LoadBalancers::finish`] puts them on their listener.

use std::collections::BTreeMap;

use super::props::{PropError, Props, names};
use super::resources::Index;
use super::template::ResolvedResource;
use crate::alb::{
    self, Action, FixedResponse, ForwardTarget, ListenerConfig, LoadBalancerConfig, TargetGroup,
};
use crate::model::Model;
use crate::vpc::Subnet;

/// The resource types of this family.
pub const TYPES: &[&str] = &[
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
];

/// Reads a load balancer's `Subnets` (ALB or NLB): each must exist (ELBv2's "The subnet ID 'x'
/// is not valid") and be in the VPC of the ones before it; `each` sees every subnet found, in
/// order, with its index. Returns the VPC.
pub(super) fn subnets_in_one_vpc(
    p: &mut Props<'_>,
    model: &Model,
    subnet_ids: &[String],
    mut each: impl FnMut(&mut Props<'_>, usize, &Subnet),
) -> String {
    let mut vpc_id = String::new();
    for (i, s) in subnet_ids.iter().enumerate() {
        match super::network::subnet(model, s) {
            Some(sub) => {
                if !vpc_id.is_empty() && vpc_id != sub.vpc_id {
                    p.invalid(
                        &format!("Subnets[{i}]"),
                        "all subnets of a load balancer must be in one VPC",
                    );
                }
                each(p, i, sub);
                vpc_id = sub.vpc_id.clone();
            }
            None => p.invalid(
                &format!("Subnets[{i}]"),
                format!("The subnet ID '{s}' is not valid"),
            ),
        }
    }
    vpc_id
}

/// What the family holds between its resources and [`LoadBalancers::finish`].
#[derive(Default)]
pub(super) struct LoadBalancers {
    /// The ALB target groups by ARN, for the actions that forward to them.
    target_groups: BTreeMap<String, TargetGroup>,
    /// Listener rules waiting for their listener: (listener ARN, rule).
    rules: Vec<(String, alb::Rule)>,
}

impl LoadBalancers {
    /// Converts one ELBv2 resource (an NLB one through [`super::nlb`]); returns its errors.
    pub(super) fn convert(
        &mut self,
        r: &ResolvedResource,
        model: &mut Model,
        index: &Index,
    ) -> Vec<PropError> {
        match r.ty.as_str() {
            "AWS::ElasticLoadBalancingV2::LoadBalancer"
                if super::nlb::is_network_load_balancer(r) =>
            {
                return super::nlb::load_balancer(r, model);
            }
            "AWS::ElasticLoadBalancingV2::Listener" if super::nlb::is_network_listener(r) => {
                return super::nlb::listener(r, model);
            }
            "AWS::ElasticLoadBalancingV2::TargetGroup"
                if super::nlb::is_network_target_group(r) =>
            {
                return super::nlb::target_group(r, model);
            }
            _ => {}
        }
        let mut errors = Vec::new();
        let mut p = Props::of(r, &mut errors);
        let (id, reference, attr) = names(r);
        match r.ty.as_str() {
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
                self.target_groups.insert(
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
                rule.actions = actions(&mut p, "Actions", &self.target_groups);
                self.rules.push((listener, rule));
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
                let mut azs = Vec::new();
                let vpc_id = subnets_in_one_vpc(&mut p, model, &subnet_ids, |_, _, sub| {
                    if !azs.contains(&sub.availability_zone) {
                        azs.push(sub.availability_zone.clone());
                    }
                });
                if !subnet_ids.is_empty() && azs.len() < 2 {
                    // <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones>
                    p.invalid("Subnets", "At least two subnets in two different Availability Zones must be specified");
                }
                if subnet_ids.is_empty() {
                    p.missing("Subnets");
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
                        p.missing("Protocol");
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
                let default_actions = actions(&mut p, "DefaultActions", &self.target_groups);
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
            _ => {}
        }
        errors
    }

    /// Puts each listener rule on its listener.
    pub(super) fn finish(self, model: &mut Model) {
        for (listener, rule) in self.rules {
            if let Some(l) = model.listeners.iter_mut().find(|l| l.arn == listener) {
                l.rules.push(rule);
            }
        }
    }
}

fn actions(
    p: &mut Props<'_>,
    key: &str,
    target_groups: &BTreeMap<String, TargetGroup>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let list = p.objects(key);
    if list.is_empty() {
        p.missing(key);
    }
    for (path, m) in list {
        let mut c = p.child(path, m);
        match c.str("Type").as_deref() {
            Some("fixed-response") => {
                let Some((path, m)) = c.object("FixedResponseConfig") else {
                    c.missing("FixedResponseConfig");
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
