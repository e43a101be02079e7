//! Bindings: `--bind LogicalId=http://127.0.0.1:8080` (repeatable; `Stack.LogicalId` when two
//! stacks share the id) and the environment file's `Bindings: {LogicalId: URL}` bind an ECS
//! service, a Lambda function or an EC2 instance — compute vpcgate does not run — to the user's
//! own process on this machine's loopback ([`crate::ec2::binding`] runs the data path).
//!
//! Applied once every stack is loaded, because target groups, services and functions may sit in
//! different stacks:
//! - an **EC2 instance** is registered in the ALB target groups whose `Targets` name its id
//!   (type `instance`), at its private address (pinned by the template, else chosen in its
//!   subnet now); Lattice `INSTANCE` targets already point at its ENI. A relay on the ENI carries
//!   each target port to the process.
//! - an **ECS service** (`awsvpc`) gets one task: an ENI in `AwsvpcConfiguration.Subnets[0]` with
//!   its `SecurityGroups`, registered in each `LoadBalancers[].TargetGroupArn` at
//!   `ContainerPort` (AWS registers a task's ENI address in an `ip` target group). Without
//!   `awsvpc` the target is the process itself.
//! - a **Lambda function** is the target of the ALB `lambda` target groups and Lattice `LAMBDA`
//!   target groups naming its ARN or name: the process gets the request as HTTP (not Lambda's
//!   event JSON).
//!
//! Unbound, none of them is a registered target, so a load balancer answers as it does for a
//! target group without targets (ALB: 503 Service Temporarily Unavailable).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::{Map, Value};

use super::error::{ErrorKind, ScenarioError};
use super::props::{attr, reference};
use super::stacks::StackSummary;
use crate::alb::{Action, ForwardTarget};
use crate::ec2::binding::{BindingConfig, Placement};
use crate::lattice::target_group::{Target, TargetAddress, TargetType};
use crate::model::Model;

/// One binding as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The stack, when given as `Stack.LogicalId`.
    pub stack: Option<String>,
    /// The logical id.
    pub logical_id: String,
    /// The URL as written.
    pub url: String,
    /// The process's address (loopback).
    pub local: SocketAddr,
    /// Where it was given (`--bind`, or the environment file's `Bindings.<id>`), for messages.
    pub origin: String,
}

/// Reads a process URL: `http://` and a loopback host with a port (`127.0.0.1`, `localhost`,
/// `[::1]`); a path, if any, is ignored (the request keeps its own).
pub fn parse_url(url: &str) -> Result<SocketAddr, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url:?} is not an http:// URL (vpcgate speaks HTTP to a bound process, as ALB does to HTTP targets)")
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, p),
        _ => return Err(format!("{url:?} has no port (e.g. http://127.0.0.1:8080)")),
    };
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => return Err(format!("{url:?}: {port} is not a port")),
    };
    let ip: IpAddr = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| {
                format!(
                    "{url:?}: {host:?} is not a loopback address (127.0.0.1, localhost or [::1])"
                )
            })?,
    };
    if !ip.is_loopback() {
        return Err(format!(
            "{url:?}: {ip} is not a loopback address: vpcgate never opens a connection off this machine"
        ));
    }
    Ok(SocketAddr::new(ip, port))
}

/// Parses `--bind LogicalId=URL` (or `Stack.LogicalId=URL`).
pub fn parse_bind_arg(text: &str) -> Result<Binding, String> {
    let (lhs, url) = text
        .split_once('=')
        .ok_or_else(|| format!("expected LOGICALID=URL, got {text:?}"))?;
    let (stack, logical_id) = match lhs.split_once('.') {
        Some((s, id)) => (Some(s.to_string()), id),
        None => (None, lhs),
    };
    if logical_id.is_empty() || !logical_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "{lhs:?} is not a logical id (letters and digits; Stack.LogicalId to name the stack)"
        ));
    }
    Ok(Binding {
        stack,
        logical_id: logical_id.to_string(),
        url: url.to_string(),
        local: parse_url(url)?,
        origin: "--bind".into(),
    })
}

fn error(b: &Binding, reason: String) -> ScenarioError {
    ScenarioError {
        file: b.origin.clone(),
        logical_id: Some(b.logical_id.clone()),
        path: String::new(),
        kind: ErrorKind::Invalid { reason },
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn port_of(v: Option<&Value>) -> Option<u16> {
    match v? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The `Id`s of a target group's `Targets` (ELBv2's and VPC Lattice's alike).
fn target_ids(group: &super::template::ResolvedResource) -> Vec<String> {
    let targets = group.properties.get("Targets").and_then(Value::as_array);
    targets
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("Id").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// Adds `target` to every copy of the ALB target group `arn` in the listeners' actions.
fn register(model: &mut Model, arn: &str, target: ForwardTarget) -> bool {
    let mut found = false;
    for l in &mut model.listeners {
        let rules = l.rules.iter_mut().flat_map(|r| r.actions.iter_mut());
        for a in l.default_actions.iter_mut().chain(rules) {
            if let Action::Forward(g) = a
                && g.arn == arn
            {
                found = true;
                if !g.targets.contains(&target) {
                    g.targets.push(target.clone());
                }
            }
        }
    }
    found
}

/// A private address for a bound task or instance in `subnet_id`: from the top of the subnet
/// down (below AWS's reserved broadcast address), so it stays clear of the addresses ENIs take
/// from the bottom when the world starts, and not one already pinned.
fn choose_address(model: &Model, subnet_id: &str, taken: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let subnet = model
        .vpcs
        .iter()
        .flat_map(|v| v.subnets.iter())
        .find(|s| s.id == subnet_id)?;
    let first = u32::from(subnet.cidr.network()) + 4;
    let mut ip = u32::from(subnet.cidr.broadcast()).checked_sub(1)?;
    while ip >= first {
        let a = Ipv4Addr::from(ip);
        let pinned = model.ec2.instances.iter().any(|i| i.private_ip == Some(a));
        if !pinned && !taken.contains(&a) {
            return Some(a);
        }
        ip -= 1;
    }
    None
}

/// Applies `bindings` to the model of the loaded `stacks`; every mistake is reported. With
/// `strict` false (stacks deployed one by one through the CloudFormation API), a binding whose
/// resource is in no stack yet waits for it instead of being an error.
pub fn apply(
    model: &mut Model,
    stacks: &[StackSummary],
    bindings: &[Binding],
    strict: bool,
) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let mut taken: BTreeSet<Ipv4Addr> = BTreeSet::new();
    let all: Vec<&super::template::ResolvedResource> =
        stacks.iter().flat_map(|s| s.resolved.iter()).collect();
    let alb_groups: Vec<&super::template::ResolvedResource> = all
        .iter()
        .copied()
        .filter(|r| r.ty == "AWS::ElasticLoadBalancingV2::TargetGroup")
        .collect();
    for b in bindings {
        let found: Vec<(&str, &super::template::ResolvedResource)> = stacks
            .iter()
            .filter(|s| b.stack.as_ref().is_none_or(|n| n == &s.name))
            .flat_map(|s| s.resolved.iter().map(move |r| (s.name.as_str(), r)))
            .filter(|(_, r)| r.logical_id == b.logical_id)
            .collect();
        let r = match found.as_slice() {
            [] if !strict => continue,
            [] => {
                let names: Vec<&str> = stacks.iter().map(|s| s.name.as_str()).collect();
                errors.push(error(
                    b,
                    format!(
                        "no resource {} in the stacks ({}) to bind to {}",
                        b.logical_id,
                        names.join(", "),
                        b.url
                    ),
                ));
                continue;
            }
            [(_, r)] => *r,
            many => {
                let names: Vec<&str> = many.iter().map(|(s, _)| *s).collect();
                errors.push(error(
                    b,
                    format!(
                        "{} is in several stacks ({}): write Stack.{}={}",
                        b.logical_id,
                        names.join(", "),
                        b.logical_id,
                        b.url
                    ),
                ));
                continue;
            }
        };
        let mut ports = BTreeSet::new();
        let placement = match r.ty.as_str() {
            "AWS::EC2::Instance" => {
                let instance_id = reference(r);
                let Some(i) = model
                    .ec2
                    .instances
                    .iter()
                    .position(|i| i.logical_id == r.logical_id && i.id == instance_id)
                else {
                    errors.push(error(b, format!(
                        "instance {} has no subnet (no SubnetId or NetworkInterfaces): it runs in no VPC vpcgate has",
                        b.logical_id
                    )));
                    continue;
                };
                let ip = match model.ec2.instances[i].private_ip {
                    Some(ip) => ip,
                    None => {
                        let subnet = model.ec2.instances[i].subnet_id.clone();
                        let Some(ip) = choose_address(model, &subnet, &taken) else {
                            errors.push(error(b, format!("subnet {subnet} has no free address")));
                            continue;
                        };
                        model.ec2.instances[i].private_ip = Some(ip);
                        ip
                    }
                };
                taken.insert(ip);
                for g in &alb_groups {
                    let default_port = port_of(g.properties.get("Port")).unwrap_or(80);
                    let arn = reference(g);
                    for t in g
                        .properties
                        .get("Targets")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let Some(t) = t.as_object() else { continue };
                        if str_of(t, "Id") == Some(instance_id.as_str()) {
                            let port = port_of(t.get("Port")).unwrap_or(default_port);
                            register(
                                model,
                                &arn,
                                ForwardTarget {
                                    addr: SocketAddr::new(IpAddr::V4(ip), port),
                                },
                            );
                            ports.insert(port);
                        }
                    }
                }
                for g in &model.lattice.target_groups {
                    for t in &g.targets {
                        if let TargetAddress::Instance { logical_id, port } = &t.address
                            && logical_id == &r.logical_id
                        {
                            ports.insert(*port);
                        }
                    }
                }
                Placement::Instance {
                    logical_id: r.logical_id.clone(),
                }
            }
            "AWS::ECS::Service" => {
                let awsvpc = r
                    .properties
                    .get("NetworkConfiguration")
                    .and_then(|n| n.get("AwsvpcConfiguration"))
                    .and_then(Value::as_object);
                let placement = match awsvpc {
                    Some(a) => {
                        let subnet = a
                            .get("Subnets")
                            .and_then(Value::as_array)
                            .and_then(|l| l.first())
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let groups: Vec<String> = a
                            .get("SecurityGroups")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect();
                        let Some(ip) = choose_address(model, &subnet, &taken) else {
                            errors.push(error(b, format!(
                                "NetworkConfiguration.AwsvpcConfiguration.Subnets[0] {subnet:?} is not a subnet vpcgate has (or it is full)"
                            )));
                            continue;
                        };
                        taken.insert(ip);
                        Placement::Task {
                            subnet_id: subnet,
                            ip,
                            security_groups: groups,
                        }
                    }
                    None => Placement::Direct,
                };
                for lb in r
                    .properties
                    .get("LoadBalancers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(lb) = lb.as_object() else { continue };
                    let (Some(arn), Some(port)) = (
                        str_of(lb, "TargetGroupArn"),
                        port_of(lb.get("ContainerPort")),
                    ) else {
                        continue;
                    };
                    let addr = match &placement {
                        Placement::Task { ip, .. } => SocketAddr::new(IpAddr::V4(*ip), port),
                        _ => b.local,
                    };
                    register(model, arn, ForwardTarget { addr });
                    ports.insert(port);
                }
                placement
            }
            "AWS::Lambda::Function" => {
                let name = r.physical.reference.as_str().unwrap_or_default();
                let arn = attr(r, "Arn");
                let arn = arn.as_str();
                let names_it = |id: &str| {
                    !id.is_empty()
                        && (id == arn
                            || id == name
                            || id
                                .strip_prefix(arn)
                                .is_some_and(|rest| rest.starts_with(':')))
                };
                for g in &alb_groups {
                    if str_of(&g.properties, "TargetType") != Some("lambda") {
                        continue;
                    }
                    let group_arn = reference(g);
                    let ids = target_ids(g);
                    if ids.iter().any(|id| names_it(id)) {
                        register(model, &group_arn, ForwardTarget { addr: b.local });
                    }
                }
                for g in all.iter().filter(|g| {
                    g.ty == "AWS::VpcLattice::TargetGroup"
                        && str_of(&g.properties, "Type") == Some("LAMBDA")
                }) {
                    let group_arn = reference(g);
                    let ids = target_ids(g);
                    for id in ids.into_iter().filter(|id| names_it(id)) {
                        if let Some(tg) = model
                            .lattice
                            .target_groups
                            .iter_mut()
                            .find(|t| t.arn == group_arn && t.target_type == TargetType::Lambda)
                        {
                            tg.targets.push(Target {
                                id,
                                address: TargetAddress::Host(b.local),
                            });
                        }
                    }
                }
                Placement::Direct
            }
            other => {
                errors.push(error(b, format!(
                    "{} is an {other}: only an AWS::ECS::Service, an AWS::Lambda::Function or an AWS::EC2::Instance can be bound to a process",
                    b.logical_id
                )));
                continue;
            }
        };
        model.ec2.bindings.push(BindingConfig {
            logical_id: r.logical_id.clone(),
            resource_type: r.ty.clone(),
            local: b.local,
            placement,
            ports: ports.into_iter().collect(),
        });
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_on_loopback_with_a_port() {
        for (url, addr) in [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://localhost:9/x", "127.0.0.1:9"),
            ("http://[::1]:80", "[::1]:80"),
        ] {
            assert_eq!(parse_url(url), Ok(addr.parse().unwrap()), "{url}");
        }
        for (url, why) in [
            ("https://127.0.0.1:8080", "not an http:// URL"),
            ("http://127.0.0.1", "no port"),
            ("http://10.0.0.1:80", "not a loopback address"),
            ("http://example.com:80", "not a loopback address"),
            ("http://127.0.0.1:0", "not a port"),
            ("http://127.0.0.1:99999", "not a port"),
        ] {
            let err = parse_url(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn bind_args_name_a_logical_id_and_optionally_its_stack() {
        let b = parse_bind_arg("Service=http://127.0.0.1:8080").unwrap();
        assert_eq!((b.stack, b.logical_id.as_str()), (None, "Service"));
        let b = parse_bind_arg("app.Fn=http://127.0.0.1:1").unwrap();
        assert_eq!(
            (b.stack.as_deref(), b.logical_id.as_str()),
            (Some("app"), "Fn")
        );
        assert!(
            parse_bind_arg("Service")
                .unwrap_err()
                .contains("LOGICALID=URL")
        );
        assert!(
            parse_bind_arg("a-b=http://127.0.0.1:1")
                .unwrap_err()
                .contains("not a logical id")
        );
    }
}
