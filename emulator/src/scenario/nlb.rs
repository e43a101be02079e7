//! Network Load Balancers (`AWS::ElasticLoadBalancingV2::LoadBalancer` with `Type: network`, their
//! listeners and the target groups with NLB protocols) into [`crate::nlb::NlbModel`], and REST
//! API VPC links v1 (`AWS::ApiGateway::VpcLink`).
//!
//! What CloudFormation (ELBv2's CreateLoadBalancer/CreateListener/CreateTargetGroup) checks is
//! checked here, with ELBv2's messages where they are known: listener protocols of an NLB are
//! TCP, TLS, UDP and TCP_UDP; a TLS listener needs a certificate; an `alb` target group is TCP and
//! registers one ALB; health-check numbers stay in their documented ranges
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-targetgroup.html>).

use std::time::Duration;

use serde_json::Value;

use super::props::{PropError, Props, attr, reference};
use super::template::ResolvedResource;
use crate::apigw::VpcLinkV1Config;
use crate::model::Model;
use crate::nlb::{
    HealthCheck, HealthCheckProtocol, ListenerProtocol, NlbConfig, NlbListenerConfig,
    NlbTargetGroupConfig, TargetSpec, TargetType,
};

/// Whether a load balancer resource is a Network Load Balancer.
pub(crate) fn is_network_load_balancer(r: &ResolvedResource) -> bool {
    r.properties.get("Type").and_then(Value::as_str) == Some("network")
}

/// Whether a listener belongs to a Network Load Balancer (its ARN's `net/` part).
pub(crate) fn is_network_listener(r: &ResolvedResource) -> bool {
    r.properties
        .get("LoadBalancerArn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.contains(":loadbalancer/net/"))
}

/// Whether a target group is one for NLBs: an NLB protocol, or `TargetType: alb`.
pub(crate) fn is_network_target_group(r: &ResolvedResource) -> bool {
    let protocol = r.properties.get("Protocol").and_then(Value::as_str);
    let ty = r.properties.get("TargetType").and_then(Value::as_str);
    protocol.is_some_and(|p| ListenerProtocol::parse(p).is_some()) || ty == Some("alb")
}

/// `[{Key, Value}]` attributes as pairs (one without a key or value is left out).
fn key_values(p: &mut Props<'_>, key: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, m) in p.objects(key) {
        let mut c = p.child(path, m);
        if let (Some(k), Some(v)) = (c.opt_str("Key"), c.opt_str("Value")) {
            out.push((k, v));
        }
    }
    out
}

fn number(p: &mut Props<'_>, key: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    let v = match p.map.get(key) {
        None | Some(Value::Null) => return None,
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(_) => None,
    };
    match v.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if range.contains(&n) => Some(n),
        _ => {
            p.invalid(
                key,
                format!(
                    "{key} must be an integer between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

/// `AWS::ElasticLoadBalancingV2::LoadBalancer` with `Type: network`.
pub(crate) fn load_balancer(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let scheme = p
        .opt_str("Scheme")
        .unwrap_or_else(|| "internet-facing".into());
    if scheme != "internal" && scheme != "internet-facing" {
        p.invalid(
            "Scheme",
            format!("'{scheme}' is not a valid scheme (internal, internet-facing)"),
        );
    }
    let mut subnet_ids = p.str_list("Subnets");
    for (path, m) in p.objects("SubnetMappings") {
        let mut c = p.child(path, m);
        match c.opt_str("SubnetId") {
            Some(s) => subnet_ids.push(s),
            None => c.invalid("SubnetId", "SubnetId is required"),
        }
    }
    if subnet_ids.is_empty() {
        p.missing("Subnets");
    }
    let mut subnets: Vec<(String, String)> = Vec::new();
    let vpc_id = super::alb::subnets_in_one_vpc(&mut p, model, &subnet_ids, |p, i, sub| {
        if subnets.iter().any(|(_, az)| az == &sub.availability_zone) {
            // ELBv2: one subnet per Availability Zone.
            p.invalid(
                &format!("Subnets[{i}]"),
                "You cannot specify multiple subnets in the same Availability Zone",
            );
        }
        subnets.push((sub.id.clone(), sub.availability_zone.clone()));
    });
    let security_groups = p.str_list("SecurityGroups");
    for (i, g) in security_groups.iter().enumerate() {
        if !model.security_groups.iter().any(|sg| &sg.id == g) {
            p.invalid(
                &format!("SecurityGroups[{i}]"),
                format!("The security group '{g}' does not exist"),
            );
        }
    }
    let enforce = match p
        .opt_str("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic")
        .as_deref()
    {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            p.invalid(
                "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
                format!("'{other}' is not valid (on, off)"),
            );
            true
        }
    };
    let cross_zone = key_values(&mut p, "LoadBalancerAttributes")
        .iter()
        .any(|(k, v)| k == "load_balancing.cross_zone.enabled" && v == "true");
    model.nlb.load_balancers.push(NlbConfig {
        logical_id: r.logical_id.clone(),
        name: attr(r, "LoadBalancerName"),
        arn: reference(r),
        dns_name: attr(r, "DNSName"),
        internal: scheme == "internal",
        vpc_id,
        subnets,
        security_groups,
        enforce_sg_on_private_link: enforce,
        cross_zone,
    });
    errors
}

/// `AWS::ElasticLoadBalancingV2::Listener` of an NLB.
pub(crate) fn listener(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let lb = p.str("LoadBalancerArn").unwrap_or_default();
    let protocol = match p.opt_str("Protocol") {
        Some(s) => match ListenerProtocol::parse(&s) {
            Some(pr) => Some(pr),
            None => {
                p.invalid(
                    "Protocol",
                    format!("Listener protocol '{s}' must be one of 'TCP, TLS, UDP, TCP_UDP' for a network load balancer"),
                );
                None
            }
        },
        None => {
            p.missing("Protocol");
            None
        }
    };
    let port = number(&mut p, "Port", 1..=65535);
    if port.is_none() && !p.has("Port") {
        p.missing("Port");
    }
    let mut certificate_arns = Vec::new();
    for (path, m) in p.objects("Certificates") {
        if let Some(a) = p.child(path, m).opt_str("CertificateArn") {
            certificate_arns.push(a);
        }
    }
    if protocol == Some(ListenerProtocol::Tls) && certificate_arns.is_empty() {
        p.invalid(
            "Certificates",
            "A certificate must be specified for TLS listeners",
        );
    }
    for (i, arn) in certificate_arns.iter().enumerate() {
        if !model.certificates.iter().any(|c| &c.arn == arn) {
            p.invalid(
                &format!("Certificates[{i}].CertificateArn"),
                format!("Certificate '{arn}' not found (declare it as AWS::CertificateManager::Certificate or in Vpcgate.Certificates)"),
            );
        }
    }
    let mut target_group_arn = None;
    if p.get("DefaultActions").is_none_or(Value::is_null) {
        p.missing("DefaultActions");
    }
    for (path, m) in p.objects("DefaultActions") {
        let mut c = p.child(path, m);
        match c.opt_str("Type").as_deref() {
            Some("forward") => {
                let arn = c.opt_str("TargetGroupArn").or_else(|| {
                    m.get("ForwardConfig")
                        .and_then(|f| f.pointer("/TargetGroups/0/TargetGroupArn"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                match arn {
                    Some(arn) => target_group_arn = Some(arn),
                    None => c.invalid(
                        "",
                        "A target group ARN must be specified for a forward action",
                    ),
                }
            }
            other => {
                let other = other.unwrap_or("").to_string();
                c.invalid(
                    "Type",
                    format!(
                        "Action type '{other}' is not supported by network load balancers (forward is)"
                    ),
                )
            }
        }
    }
    if let Some(arn) = &target_group_arn {
        match model.nlb.target_groups.iter().find(|t| &t.arn == arn) {
            None => p.invalid(
                "DefaultActions",
                format!("Target group '{arn}' is not a TCP, TLS, UDP or TCP_UDP target group in this scenario (an NLB listener forwards to one)"),
            ),
            Some(tg) => {
                if protocol == Some(ListenerProtocol::Tcp) && tg.protocol == ListenerProtocol::Tls {
                    p.invalid(
                        "DefaultActions",
                        "A TCP listener cannot forward to a TLS target group",
                    );
                }
            }
        }
    }
    if let (Some(protocol), Some(port)) = (protocol, port) {
        model.nlb.listeners.push(NlbListenerConfig {
            logical_id: r.logical_id.clone(),
            arn: reference(r),
            load_balancer_arn: lb,
            port: port as u16,
            protocol,
            certificate_arns,
            target_group_arn,
        });
    }
    errors
}

/// `AWS::ElasticLoadBalancingV2::TargetGroup` with an NLB protocol.
pub(crate) fn target_group(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let target_type = match p.opt_str("TargetType").as_deref() {
        None | Some("instance") => TargetType::Instance,
        Some("ip") => TargetType::Ip,
        Some("alb") => TargetType::Alb,
        Some(other) => {
            p.invalid(
                "TargetType",
                format!("target type '{other}' is not valid for a network load balancer target group (instance, ip, alb)"),
            );
            TargetType::Instance
        }
    };
    let protocol = p
        .opt_str("Protocol")
        .and_then(|s| ListenerProtocol::parse(&s))
        .unwrap_or(ListenerProtocol::Tcp);
    if target_type == TargetType::Alb && protocol != ListenerProtocol::Tcp {
        p.invalid(
            "Protocol",
            "A target group of type 'alb' must use the TCP protocol",
        );
    }
    let port = number(&mut p, "Port", 1..=65535);
    if port.is_none() && !p.has("Port") {
        p.missing("Port");
    }
    let port = port.unwrap_or(80) as u16;
    let vpc_id = p.opt_str("VpcId").unwrap_or_default();
    if !vpc_id.is_empty() && !model.vpcs.iter().any(|v| v.id == vpc_id) {
        p.invalid("VpcId", format!("The vpc ID '{vpc_id}' does not exist"));
    }
    let mut targets = Vec::new();
    for (path, t) in p.objects("Targets") {
        let mut c = p.child(path, t);
        let Some(id) = c.opt_str("Id") else {
            c.invalid("Id", "Id is required");
            continue;
        };
        let tport = match t.get("Port") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.parse().ok(),
            _ => Some(port),
        };
        let Some(tport) = tport.filter(|n| *n > 0) else {
            c.invalid("Port", "Port must be between 1 and 65535");
            continue;
        };
        match target_type {
            TargetType::Ip => match id.parse::<std::net::IpAddr>() {
                Ok(ip) if ip.is_loopback() || crate::lattice::is_private(ip) => {}
                _ => c.invalid(
                    "Id",
                    format!("target {id} is not a private IP address (an ip target group registers addresses of its VPC; vpcgate also takes 127.0.0.1 for a service on this machine)"),
                ),
            },
            TargetType::Instance if !id.starts_with("i-") => c.invalid(
                "Id",
                format!("The instance ID '{id}' is malformed"),
            ),
            TargetType::Alb if !id.contains(":loadbalancer/app/") => c.invalid(
                "Id",
                format!("'{id}' is not an application load balancer ARN"),
            ),
            _ => {}
        }
        targets.push(TargetSpec { id, port: tport });
    }
    if target_type == TargetType::Alb && targets.len() > 1 {
        p.invalid(
            "Targets",
            "A target group of type 'alb' can have only one target",
        );
    }
    let mut hc = HealthCheck::defaults(target_type, protocol);
    if let Some(s) = p.opt_str("HealthCheckProtocol") {
        match HealthCheckProtocol::parse(&s) {
            Some(HealthCheckProtocol::Tcp) if target_type == TargetType::Alb => p.invalid(
                "HealthCheckProtocol",
                "Health check protocol 'TCP' is not supported for target groups of type 'alb' (HTTP, HTTPS)",
            ),
            Some(pr) => {
                hc.protocol = pr;
                hc.timeout = HealthCheck::default_timeout(pr);
            }
            None => p.invalid(
                "HealthCheckProtocol",
                format!("Health check protocol '{s}' is not valid (TCP, HTTP, HTTPS)"),
            ),
        }
    }
    match p.opt_str("HealthCheckPort").as_deref() {
        None | Some("traffic-port") => {}
        Some(s) => match s.parse::<u16>() {
            Ok(n) if n > 0 => hc.port = Some(n),
            _ => p.invalid(
                "HealthCheckPort",
                "Health check port must be 'traffic-port' or between 1 and 65535",
            ),
        },
    }
    if let Some(path) = p.opt_str("HealthCheckPath") {
        if !path.starts_with('/') {
            p.invalid("HealthCheckPath", "Health check path must begin with '/'");
        }
        hc.path = path;
    }
    if let Some(n) = number(&mut p, "HealthCheckIntervalSeconds", 5..=300) {
        hc.interval = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = number(&mut p, "HealthCheckTimeoutSeconds", 2..=120) {
        hc.timeout = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = number(&mut p, "HealthyThresholdCount", 2..=10) {
        hc.healthy_threshold = n;
    }
    if let Some(n) = number(&mut p, "UnhealthyThresholdCount", 2..=10) {
        hc.unhealthy_threshold = n;
    }
    if let Some(code) = p
        .map
        .get("Matcher")
        .and_then(|m| m.get("HttpCode"))
        .and_then(Value::as_str)
    {
        match matcher(code) {
            Some(m) => hc.matcher = m,
            None => p.invalid(
                "Matcher.HttpCode",
                format!("Health check matcher HTTP code '{code}' must be within '200-599'"),
            ),
        }
    }
    if p.opt_bool("HealthCheckEnabled") == Some(false) && target_type != TargetType::Alb {
        // NLB health checks of instance and ip groups cannot be disabled.
        p.invalid(
            "HealthCheckEnabled",
            "Health checks cannot be disabled for network load balancer target groups",
        );
    }
    // preserve_client_ip.enabled: on for instance targets (and UDP/TCP_UDP), off for ip/alb with
    // TCP/TLS (edit-target-group-attributes.html#client-ip-preservation).
    let mut preserve = target_type == TargetType::Instance
        || matches!(protocol, ListenerProtocol::Udp | ListenerProtocol::TcpUdp);
    for (k, v) in key_values(&mut p, "TargetGroupAttributes") {
        if k == "preserve_client_ip.enabled" {
            preserve = v == "true";
        }
    }
    model.nlb.target_groups.push(NlbTargetGroupConfig {
        logical_id: r.logical_id.clone(),
        arn: reference(r),
        name: attr(r, "TargetGroupName"),
        target_type,
        protocol,
        port,
        vpc_id,
        targets,
        health_check: hc,
        preserve_client_ip: preserve,
    });
    errors
}

/// `200`, `200,202`, `200-399` (each within 200-599).
fn matcher(code: &str) -> Option<Vec<(u16, u16)>> {
    code.split(',')
        .map(|part| {
            let (a, b) = match part.trim().split_once('-') {
                Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let n: u16 = part.trim().parse().ok()?;
                    (n, n)
                }
            };
            ((200..=599).contains(&a) && (200..=599).contains(&b) && a <= b).then_some((a, b))
        })
        .collect()
}

/// `AWS::ApiGateway::VpcLink` (v1): `Name`, `TargetArns` (one NLB ARN).
pub(crate) fn vpc_link_v1(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let name = p.str("Name").unwrap_or_default();
    let target_arns = p.str_list("TargetArns");
    if target_arns.is_empty() && !p.has("TargetArns") {
        p.missing("TargetArns");
    }
    if target_arns.len() > 1 {
        // CreateVpcLink accepts a list; "currently, only one NLB ARN is supported".
        p.invalid(
            "TargetArns",
            "A VPC link supports only one Network Load Balancer ARN",
        );
    }
    model.apigw.vpc_links_v1.push(VpcLinkV1Config {
        logical_id: r.logical_id.clone(),
        id: reference(r),
        name,
        target_arns,
    });
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NLB converter reads its lists with the one property reader: every item of
    /// `SubnetMappings`, `DefaultActions` and `Targets` is named by its index, with ELBv2's texts.
    #[test]
    fn nlb_lists_name_each_item() {
        use serde_json::json;

        use crate::scenario::{Scenario, StackLinks};
        let doc = json!({"Vpcgate": {"Region": "ap-northeast-1"}, "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
                "Type": "network", "Scheme": "internal",
                "SubnetMappings": [{"AllocationId": "eipalloc-1"}, "subnet-1"]}},
            "Tg": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                "Protocol": "TCP", "Port": 80, "TargetType": "ip", "VpcId": {"Ref": "Vpc"},
                "Targets": [{"Port": 80}, {"Id": "10.0.0.9", "Port": 0}]}},
            "L": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                "LoadBalancerArn": {"Ref": "Lb"}, "Protocol": "TCP", "Port": 80,
                "DefaultActions": [{"Type": "forward"}, {"Type": "redirect"}]}}
        }});
        let s = Scenario::parse(&doc.to_string(), "inline.json").unwrap();
        let err = s.build(&StackLinks::default()).unwrap_err().to_string();
        for want in [
            "Resources.Lb.Properties.SubnetMappings[0].SubnetId: SubnetId is required",
            "Resources.Lb.Properties.SubnetMappings[1]: expected an object, found string \"subnet-1\"",
            "Resources.Tg.Properties.Targets[0].Id: Id is required",
            "Resources.Tg.Properties.Targets[1].Port: Port must be between 1 and 65535",
            "Resources.L.Properties.DefaultActions[0]: A target group ARN must be specified for a forward action",
            "Resources.L.Properties.DefaultActions[1].Type: Action type 'redirect' is not supported by network load balancers (forward is)",
        ] {
            assert!(err.contains(want), "no {want:?} in\n{err}");
        }
    }

    #[test]
    fn matchers_are_codes_lists_and_ranges() {
        assert_eq!(matcher("200-399"), Some(vec![(200, 399)]));
        assert_eq!(matcher("200,202"), Some(vec![(200, 200), (202, 202)]));
        assert_eq!(matcher("100"), None);
        assert_eq!(matcher("300-200"), None);
    }
}
