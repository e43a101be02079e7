//! VPC Lattice's resource gateways and resource configurations
//! (`AWS::VpcLattice::ResourceGateway`, `::ResourceConfiguration`): the private connection's end
//! inside a VPC that an EventBridge connection names (the service networks themselves are
//! [`super::lattice`]'s).

use std::net::IpAddr;

use super::props::{PropError, Props, names};
use super::template::ResolvedResource;
use crate::lattice::{
    self, AuthType, DnsResolution, ResourceConfigurationConfig, ResourceDefinition,
    ResourceGatewayConfig,
};
use crate::model::Model;

/// The resource types of this family.
pub const TYPES: &[&str] = &[
    "AWS::VpcLattice::ResourceGateway",
    "AWS::VpcLattice::ResourceConfiguration",
];

/// Converts one resource of [`TYPES`]; returns its errors (path, kind). A configuration's
/// gateway comes before it (the template's `Ref`/`GetAtt` order).
pub(super) fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let (id, reference, attr) = names(r);
    match r.ty.as_str() {
        "AWS::VpcLattice::ResourceGateway" => {
            let name = p.opt_str("Name").unwrap_or_else(|| id.to_ascii_lowercase());
            let vpc_id = p.str("VpcIdentifier").unwrap_or_default();
            let subnet_ids = p.str_list("SubnetIds");
            if subnet_ids.is_empty() {
                p.missing("SubnetIds");
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
            resource_configuration(&mut p, model, &id, &reference, &attr("Id"))
        }
        _ => {}
    }
    errors
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
        p.missing("PortRanges");
    }
    let Some((path, def)) = p.object("ResourceConfigurationDefinition") else {
        p.missing("ResourceConfigurationDefinition");
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
