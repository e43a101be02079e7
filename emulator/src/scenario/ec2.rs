//! Typed conversion of the EC2 types that put clients inside a VPC and connect it:
//! `AWS::EC2::Instance`, `::RouteTable`, `::Route`, `::SubnetRouteTableAssociation`,
//! `::InternetGateway`, `::VPCGatewayAttachment`, `::NatGateway`, `::EIP` and `::VPCEndpoint`
//! into [`crate::ec2::Ec2Model`].
//!
//! [`physical`] gives their `Ref` and `Fn::GetAtt` values in AWS's shapes; `convert` reads one
//! resource's properties (names from the CloudFormation template reference,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-instance.html>,
//! `…-ec2-route.html`, `…-ec2-vpcendpoint.html`, `…-ec2-natgateway.html`); `finish` checks what
//! only the whole stack can tell (a route's table exists, an endpoint's subnets are in its VPC, a
//! PRIVATE REST API has a resource policy before it is deployed) and reads the two properties of
//! other types this module needs: `AWS::EC2::Subnet.MapPublicIpOnLaunch` and
//! `AWS::ApiGateway::RestApi.EndpointConfiguration.VpcEndpointIds`.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{Map, Value, json};

use super::error::ErrorKind;
use super::ids::{IdContext, Physical, Subject, attrs};
use super::props::{PropError, Props, attr, reference};
use super::template::ResolvedResource;
use crate::ec2::{
    AssociationConfig, EipAssociationConfig, EipConfig, EndpointService, GatewayAttachmentConfig,
    InstanceConfig, InternetGatewayConfig, NatGatewayConfig, NetworkInterfaceConfig, RouteConfig,
    RouteTableConfig, RouteTarget, VpcEndpointConfig, VpcEndpointType,
};
use crate::iam::{Policy, PolicyKind};
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::EC2::Instance",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::EIPAssociation",
    "AWS::EC2::NetworkInterface",
    "AWS::EC2::VPCEndpoint",
];

/// The 8-character label AWS puts after an interface endpoint's id in its DNS names
/// (`vpce-0b7a22d021cc42f88-gectb2xb.execute-api.us-east-2.vpce.amazonaws.com`).
pub fn endpoint_dns_label(ctx: &IdContext, logical: &str) -> String {
    ctx.lower(logical, "vpce-dns", 8)
}

/// `Ref` and attributes of the EC2 types of this module.
pub fn physical(s: &Subject<'_>, ty: &str) -> Option<Physical> {
    let r = &s.ctx.region;
    let (reference, attributes) = match ty {
        "AWS::EC2::InternetGateway" => {
            let id = s.hex17("igw");
            (json!(id), attrs(&[("InternetGatewayId", json!(id))]))
        }
        "AWS::EC2::VPCGatewayAttachment" => (
            // CloudFormation's physical id of an attachment: `IGW|<vpc-id>`.
            json!(format!(
                "IGW|{}",
                s.props.get("VpcId").and_then(Value::as_str).unwrap_or("")
            )),
            Map::new(),
        ),
        "AWS::EC2::NatGateway" => {
            let id = s.hex17("nat");
            (json!(id), attrs(&[("NatGatewayId", json!(id))]))
        }
        "AWS::EC2::RouteTable" => {
            let id = s.hex17("rtb");
            (json!(id), attrs(&[("RouteTableId", json!(id))]))
        }
        "AWS::EC2::Route" => (
            // `<route table id>|<destination>`, as CloudFormation names a route.
            json!(format!(
                "{}|{}",
                s.props
                    .get("RouteTableId")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                s.props
                    .get("DestinationCidrBlock")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )),
            Map::new(),
        ),
        "AWS::EC2::SubnetRouteTableAssociation" => {
            let id = s.hex17("rtbassoc");
            (json!(id), attrs(&[("Id", json!(id))]))
        }
        "AWS::EC2::EIP" => {
            let ip = eip_address(s.ctx, s.logical);
            let alloc = s.hex17("eipalloc");
            (
                json!(ip.to_string()),
                attrs(&[
                    ("AllocationId", json!(alloc)),
                    ("PublicIp", json!(ip.to_string())),
                ]),
            )
        }
        "AWS::EC2::Instance" => {
            let id = format!("i-{}", s.ctx.hex(s.logical, "instance", 17));
            let mut a = attrs(&[
                ("InstanceId", json!(id)),
                (
                    "AvailabilityZone",
                    s.props
                        .get("AvailabilityZone")
                        .cloned()
                        .unwrap_or(json!(format!("{r}a"))),
                ),
            ]);
            // The address is known here only when the template pins it; otherwise vpcgate
            // assigns it when the world starts (docs/vpc-clients.md).
            if let Some(ip) = pinned_private_ip(s.props) {
                a.insert("PrivateIp".into(), json!(ip));
                a.insert("PrivateDnsName".into(), json!(private_dns_name(&ip, r)));
            }
            // PublicIp and PublicDnsName (AWS::EC2::Instance "Return values"): a documentation
            // address (203.0.113.0/24) and EC2's public DNS name of it
            // (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-naming.html>).
            let public = eip_address(s.ctx, &format!("{}/instance-public-ip", s.logical));
            a.insert("PublicIp".into(), json!(public.to_string()));
            a.insert(
                "PublicDnsName".into(),
                json!(public_dns_name(&public.to_string(), r)),
            );
            (json!(id), a)
        }
        "AWS::EC2::NetworkInterface" => {
            let id = s.hex17("eni");
            let mut a = attrs(&[("Id", json!(id))]);
            // AWS::EC2::NetworkInterface "Return values": the primary address when pinned
            // (else ids::place_instance places it, so GetAtt gives the ENI's address), the
            // secondary ones of `PrivateIpAddresses`.
            let (primary, secondary) = interface_addresses(s.props);
            if let Some(ip) = primary {
                a.insert("PrimaryPrivateIpAddress".into(), json!(ip));
            }
            a.insert("SecondaryPrivateIpAddresses".into(), json!(secondary));
            (json!(id), a)
        }
        "AWS::EC2::EIPAssociation" => {
            // CloudFormation's physical id of an association: `eipassoc-…`.
            let id = s.hex17("eipassoc");
            (json!(id), attrs(&[("Id", json!(id))]))
        }
        "AWS::EC2::VPCEndpoint" => {
            let id = s.hex17("vpce");
            let service = s
                .props
                .get("ServiceName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let label = endpoint_dns_label(s.ctx, s.logical);
            let mut entries = Vec::new();
            if let Some(svc) = EndpointService::from_service_name(service, r) {
                let zone = crate::ec2::endpoint::VPCE_HOSTED_ZONE;
                entries.push(json!(format!(
                    "{zone}:{id}-{label}.{}.{r}.vpce.amazonaws.com",
                    svc.dns_label()
                )));
                let private = s
                    .props
                    .get("PrivateDnsEnabled")
                    .map(|v| v == &json!(true) || v == &json!("true"))
                    .unwrap_or(false);
                if private {
                    entries.push(json!(format!(
                        "{}:{}",
                        crate::ec2::endpoint::PRIVATE_HOSTED_ZONE,
                        svc.public_name(r)
                    )));
                }
            }
            (
                json!(id),
                attrs(&[
                    ("Id", json!(id)),
                    ("DnsEntries", Value::Array(entries)),
                    ("NetworkInterfaceIds", json!([])),
                    ("CreationTimestamp", json!("2026-01-01T00:00:00Z")),
                ]),
            )
        }
        _ => return None,
    };
    Some(Physical {
        reference,
        attributes,
    })
}

/// The public address of an Elastic IP: one from 203.0.113.0/24 (TEST-NET-3), stable per
/// logical id.
pub fn eip_address(ctx: &IdContext, logical: &str) -> Ipv4Addr {
    let n = 1 + ctx.digits(logical, "eip", 3).parse::<u32>().unwrap_or(1) % 254;
    Ipv4Addr::new(203, 0, 113, n as u8)
}

/// EC2's public DNS name of an address: `ec2-203-0-113-5.<region>.compute.amazonaws.com`
/// (`compute-1.amazonaws.com` in us-east-1).
pub fn public_dns_name(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        format!("ec2-{dashed}.{region}.compute.amazonaws.com")
    }
}

/// EC2's private DNS name of an address: `ip-10-0-0-4.<region>.compute.internal`
/// (`ec2.internal` in us-east-1).
pub fn private_dns_name(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

fn pinned_private_ip(props: &Map<String, Value>) -> Option<String> {
    if let Some(ip) = props.get("PrivateIpAddress").and_then(Value::as_str) {
        return Some(ip.to_string());
    }
    props
        .get("NetworkInterfaces")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(|n| n.get("PrivateIpAddress"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A network interface's (`AWS::EC2::NetworkInterface`, or an entry of an instance's
/// `NetworkInterfaces`) primary private address, when given (`PrivateIpAddress`, or the entry of
/// `PrivateIpAddresses` with `Primary: true`), and its secondary ones.
fn interface_addresses(props: &Map<String, Value>) -> (Option<String>, Vec<String>) {
    let mut primary = props
        .get("PrivateIpAddress")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut secondary = Vec::new();
    for item in props
        .get("PrivateIpAddresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(ip) = item.get("PrivateIpAddress").and_then(Value::as_str) else {
            continue;
        };
        let is_primary = matches!(item.get("Primary"), Some(Value::Bool(true)))
            || item.get("Primary") == Some(&json!("true"));
        if is_primary && primary.is_none() {
            primary = Some(ip.to_string());
        } else if primary.as_deref() != Some(ip) {
            secondary.push(ip.to_string());
        }
    }
    (primary, secondary)
}

/// A string attribute `physical` gave the resource, if any.
fn attr_opt(r: &ResolvedResource, key: &str) -> Option<String> {
    r.physical
        .attributes
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// An instance's `NetworkInterfaces` entry at `DeviceIndex` 1 and up.
struct SecondarySpec {
    index: u32,
    path: String,
    existing: Option<String>,
    subnet_id: Option<String>,
    groups: Vec<String>,
    address: Option<String>,
    description: Option<String>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// The subnet of `subnet_id` in the model.
fn subnet_of<'m>(model: &'m Model, subnet_id: &str) -> Option<&'m crate::vpc::Subnet> {
    model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.id == subnet_id)
}

/// EC2's check of a private address asked for in a subnet (RunInstances,
/// CreateNetworkInterface): inside its range, not one of the five addresses AWS reserves
/// (subnet-sizing.html).
fn address_in_subnet(ip: Ipv4Addr, cidr: Ipv4Net) -> Result<(), String> {
    if !cidr.contains(&ip) {
        return Err(format!(
            "Address {ip} does not fall within the subnet's address range"
        ));
    }
    let offset = u32::from(ip) - u32::from(cidr.network());
    if offset < 4 || ip == cidr.broadcast() {
        return Err(format!(
            "Address {ip} is in subnet's reserved address range"
        ));
    }
    Ok(())
}

/// The default VPC's range (default-vpc-components.html: "IPv4 CIDR block of size /16
/// (172.31.0.0/16)"), for instances launched there.
const DEFAULT_VPC_CIDR: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(172, 31, 0, 0), 16) {
    Ok(n) => n,
    Err(_) => panic!("a /16"),
};

fn subnet_vpc(model: &Model, subnet: &str) -> Option<String> {
    model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.id == subnet)
        .map(|s| s.vpc_id.clone())
}

/// Converts one resource of [`TYPES`] into `model.ec2`; returns its errors (path, kind).
pub(crate) fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let reference = reference(r);
    let attr = |k: &str| attr(r, k);
    let logical_id = r.logical_id.clone();
    let interfaces_place_it = r
        .properties
        .get("NetworkInterfaces")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|n| n.get("SubnetId").is_some() || n.get("NetworkInterfaceId").is_some())
        });
    if r.ty == "AWS::EC2::Instance" && !p.has("SubnetId") && !interfaces_place_it {
        // EC2 launches it into the Region's default VPC
        // (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-instance.html>,
        // SubnetId), which the environment does not model: kept as a placeholder. The
        // addresses it asks for must still lie in the default VPC's range.
        let mut asked: Vec<(String, String)> = Vec::new();
        if let Some(ip) = r.properties.get("PrivateIpAddress").and_then(Value::as_str) {
            asked.push(("PrivateIpAddress".into(), ip.to_string()));
        }
        for (i, n) in r
            .properties
            .get("NetworkInterfaces")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(n) = n.as_object() {
                let (primary, secondary) = interface_addresses(n);
                for ip in primary.into_iter().chain(secondary) {
                    asked.push((format!("NetworkInterfaces[{i}]"), ip));
                }
            }
        }
        for (path, ip) in asked {
            if let Ok(ip) = ip.parse::<Ipv4Addr>()
                && let Err(why) = address_in_subnet(ip, DEFAULT_VPC_CIDR)
            {
                p.invalid(
                    &path,
                    format!("{why} (the default VPC's {DEFAULT_VPC_CIDR})"),
                );
            }
        }
        model.not_emulated.push(crate::model::NotEmulated {
            logical_id,
            resource_type: r.ty.clone(),
        });
        return errors;
    }
    let ec2 = &mut model.ec2;
    match r.ty.as_str() {
        "AWS::EC2::Instance" => {
            let mut subnet_id = p.opt_str("SubnetId");
            let mut groups = p.str_list("SecurityGroupIds");
            let mut private_ip = p.opt_str("PrivateIpAddress");
            let mut public_ip = None;
            if p.has("SecurityGroups") {
                p.invalid(
                    "SecurityGroups",
                    "SecurityGroups names EC2-Classic or default-VPC groups; in a VPC use SecurityGroupIds",
                );
            }
            let mut primary_interface = None;
            // (device index, path, existing id, subnet, groups, address, description)
            let mut secondary: Vec<SecondarySpec> = Vec::new();
            let mut indices = std::collections::BTreeSet::new();
            for (path, m) in p.objects("NetworkInterfaces") {
                let mut c = p.child(path.clone(), m);
                let index_text = c.opt_str("DeviceIndex").unwrap_or_else(|| "0".into());
                let Ok(index) = index_text.parse::<u32>() else {
                    c.invalid(
                        "DeviceIndex",
                        format!("Invalid value '{index_text}' for deviceIndex"),
                    );
                    continue;
                };
                if !indices.insert(index) {
                    c.invalid(
                        "DeviceIndex",
                        "Each network interface requires a unique device index.",
                    );
                    continue;
                }
                let existing = c.opt_str("NetworkInterfaceId");
                if index != 0 {
                    let (address, _) = interface_addresses(m);
                    secondary.push(SecondarySpec {
                        index,
                        path,
                        existing,
                        subnet_id: c.opt_str("SubnetId"),
                        groups: c.str_list("GroupSet"),
                        address,
                        description: c.opt_str("Description"),
                    });
                    continue;
                }
                if let Some(eni) = existing {
                    // An existing interface as the primary one: its subnet, address and groups
                    // are the instance's (RunInstances NetworkInterfaceId).
                    for key in [
                        "SubnetId",
                        "GroupSet",
                        "PrivateIpAddress",
                        "PrivateIpAddresses",
                    ] {
                        if c.has(key) {
                            c.invalid(
                                key,
                                format!(
                                    "{key} cannot be given with an existing NetworkInterfaceId"
                                ),
                            );
                        }
                    }
                    if subnet_id.is_some() {
                        c.invalid(
                            "NetworkInterfaceId",
                            "Network interfaces and an instance-level subnet ID may not be specified on the same request",
                        );
                    }
                    match model.ec2.network_interfaces.iter().find(|n| n.id == eni) {
                        Some(n) => {
                            subnet_id = Some(n.subnet_id.clone());
                            groups = n.security_groups.clone();
                            private_ip = n.private_ip.map(|ip| ip.to_string());
                            primary_interface = Some(eni);
                        }
                        None => c.invalid(
                            "NetworkInterfaceId",
                            format!("The networkInterface ID '{eni}' does not exist"),
                        ),
                    }
                    continue;
                }
                if subnet_id.is_some() {
                    c.invalid(
                        "SubnetId",
                        "Network interfaces and an instance-level subnet ID may not be specified on the same request",
                    );
                }
                subnet_id = c.opt_str("SubnetId");
                let set = c.str_list("GroupSet");
                if !set.is_empty() {
                    if !groups.is_empty() {
                        c.invalid(
                            "GroupSet",
                            "Network interfaces and an instance-level security groups may not be specified on the same request",
                        );
                    }
                    groups = set;
                }
                if let (Some(ip), _) = interface_addresses(m) {
                    private_ip = Some(ip);
                }
                public_ip = c.opt_bool("AssociatePublicIpAddress");
            }
            let source_dest_check = p.opt_bool("SourceDestCheck").unwrap_or(true);
            let Some(subnet_id) = subnet_id else {
                // EC2 would launch into the default VPC, which a scenario does not have.
                p.missing("SubnetId");
                return errors;
            };
            let vpc_id = match subnet_vpc(model, &subnet_id) {
                Some(v) => v,
                None => {
                    p.invalid(
                        "SubnetId",
                        format!("The subnet ID '{subnet_id}' does not exist"),
                    );
                    return errors;
                }
            };
            // Not pinned by the template: the address `Fn::GetAtt PrivateIp` gave
            // (ids::place_instance), so the ENI is where the template said it is.
            if private_ip.is_none() {
                private_ip = r
                    .physical
                    .attributes
                    .get("PrivateIp")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            let pinned = match private_ip.as_deref().map(str::parse::<Ipv4Addr>) {
                None => None,
                Some(Ok(ip)) => Some(ip),
                Some(Err(_)) => {
                    p.invalid(
                        "PrivateIpAddress",
                        format!(
                            "Invalid IPv4 address: {}",
                            private_ip.clone().unwrap_or_default()
                        ),
                    );
                    None
                }
            };
            for (i, g) in groups.iter().enumerate() {
                match model.security_groups.iter().find(|s| &s.id == g) {
                    Some(sg) if !sg.vpc_id.is_empty() && sg.vpc_id != vpc_id => p.invalid(
                        &format!("SecurityGroupIds[{i}]"),
                        format!(
                            "Security group {g} and subnet {subnet_id} belong to different networks."
                        ),
                    ),
                    _ => {}
                }
            }
            // The interfaces at DeviceIndex 1 and up: existing ones attached, new ones made in
            // their subnet (the primary's when none is given — vpcgate's choice), each in the
            // instance's Availability Zone (AttachNetworkInterface).
            let zone = subnet_of(model, &subnet_id).map(|s| s.availability_zone.clone());
            let mut secondary_interfaces = Vec::new();
            secondary.sort_by_key(|s| s.index);
            for spec in secondary {
                let mut c = p.child(spec.path.clone(), &EMPTY);
                let id = match &spec.existing {
                    Some(eni) => eni.clone(),
                    None => format!(
                        "eni-{}{:x}",
                        reference
                            .trim_start_matches("i-")
                            .get(..16)
                            .unwrap_or("0c0ffee0c0ffee00"),
                        spec.index % 16
                    ),
                };
                let iface = match &spec.existing {
                    Some(eni) => match model.ec2.network_interfaces.iter().find(|n| &n.id == eni) {
                        Some(n) => n.clone(),
                        None => {
                            c.invalid(
                                "NetworkInterfaceId",
                                format!("The networkInterface ID '{eni}' does not exist"),
                            );
                            continue;
                        }
                    },
                    None => {
                        let sub = spec.subnet_id.clone().unwrap_or_else(|| subnet_id.clone());
                        let Some(vpc) = subnet_vpc(model, &sub) else {
                            c.invalid("SubnetId", format!("The subnet ID '{sub}' does not exist"));
                            continue;
                        };
                        let ip = match spec.address.as_deref().map(str::parse::<Ipv4Addr>) {
                            None => None,
                            Some(Ok(ip)) => Some(ip),
                            Some(Err(_)) => {
                                c.invalid(
                                    "PrivateIpAddress",
                                    format!(
                                        "Invalid IPv4 address: {}",
                                        spec.address.clone().unwrap_or_default()
                                    ),
                                );
                                continue;
                            }
                        };
                        NetworkInterfaceConfig {
                            logical_id: format!("{logical_id}.NetworkInterfaces[{}]", spec.index),
                            id: id.clone(),
                            vpc_id: vpc,
                            subnet_id: sub,
                            security_groups: if spec.groups.is_empty() {
                                groups.clone()
                            } else {
                                spec.groups.clone()
                            },
                            private_ip: ip,
                            source_dest_check,
                            description: spec.description.clone().unwrap_or_default(),
                        }
                    }
                };
                let their_zone = subnet_of(model, &iface.subnet_id).map(|s| &s.availability_zone);
                if zone.is_some() && their_zone != zone.as_ref() {
                    c.invalid(
                        "",
                        "You may not attach a network interface to an instance if they are not in the same availability zone",
                    );
                    continue;
                }
                if let (Some(ip), Some(net)) = (
                    iface.private_ip,
                    subnet_of(model, &iface.subnet_id).map(|s| s.cidr),
                ) && let Err(why) = address_in_subnet(ip, net)
                {
                    c.invalid("PrivateIpAddress", why);
                    continue;
                }
                if spec.existing.is_none() {
                    model.ec2.network_interfaces.push(iface);
                }
                secondary_interfaces.push(id);
            }
            if let Some(eni) = &primary_interface
                && model.ec2.instances.iter().any(|i| {
                    i.primary_interface.as_ref() == Some(eni)
                        || i.secondary_interfaces.contains(eni)
                })
            {
                p.invalid(
                    "NetworkInterfaces[0].NetworkInterfaceId",
                    format!("Interface: {eni} in use."),
                );
            }
            model.ec2.instances.push(InstanceConfig {
                logical_id,
                id: reference,
                vpc_id,
                subnet_id,
                security_groups: groups,
                private_ip: pinned,
                associate_public_ip: public_ip,
                primary_interface,
                secondary_interfaces,
                source_dest_check,
            });
        }
        "AWS::EC2::RouteTable" => {
            let vpc_id = p.str("VpcId").unwrap_or_default();
            ec2.route_tables.push(RouteTableConfig {
                logical_id,
                id: reference,
                vpc_id,
            });
        }
        "AWS::EC2::Route" => {
            let route_table_id = p.str("RouteTableId").unwrap_or_default();
            let destination = match p.opt_str("DestinationCidrBlock") {
                Some(text) => match text.parse::<Ipv4Net>() {
                    Ok(net) => Some(net.trunc()),
                    Err(_) => {
                        p.invalid(
                            "DestinationCidrBlock",
                            format!("Value ({text}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."),
                        );
                        None
                    }
                },
                None => {
                    if p.has("DestinationIpv6CidrBlock") || p.has("DestinationPrefixListId") {
                        p.invalid(
                            "",
                            "IPv6 and prefix-list routes are not emulated (DestinationCidrBlock is)",
                        );
                    } else {
                        p.missing("DestinationCidrBlock");
                    }
                    None
                }
            };
            let mut targets = Vec::new();
            if let Some(g) = p.opt_str("GatewayId") {
                targets.push(if g.starts_with("igw-") {
                    RouteTarget::InternetGateway(g)
                } else {
                    RouteTarget::Other {
                        kind: "GatewayId".into(),
                        id: g,
                    }
                });
            }
            if let Some(n) = p.opt_str("NatGatewayId") {
                targets.push(RouteTarget::NatGateway(n));
            }
            for key in [
                "TransitGatewayId",
                "VpcPeeringConnectionId",
                "NetworkInterfaceId",
                "InstanceId",
                "EgressOnlyInternetGatewayId",
                "VpcEndpointId",
                "LocalGatewayId",
                "CarrierGatewayId",
                "CoreNetworkArn",
            ] {
                if let Some(id) = p.opt_str(key) {
                    targets.push(RouteTarget::Other {
                        kind: key.to_string(),
                        id,
                    });
                }
            }
            if targets.len() != 1 {
                p.invalid(
                    "",
                    format!(
                        "The request must contain exactly one of gatewayId, natGatewayId, … (found {})",
                        targets.len()
                    ),
                );
            }
            if let (Some(destination), Some(target)) = (destination, targets.into_iter().next()) {
                ec2.routes.push(RouteConfig {
                    logical_id,
                    route_table_id,
                    destination,
                    target,
                });
            }
        }
        "AWS::EC2::SubnetRouteTableAssociation" => {
            let subnet_id = p.str("SubnetId").unwrap_or_default();
            let route_table_id = p.str("RouteTableId").unwrap_or_default();
            ec2.associations.push(AssociationConfig {
                logical_id,
                subnet_id,
                route_table_id,
            });
        }
        "AWS::EC2::InternetGateway" => ec2.internet_gateways.push(InternetGatewayConfig {
            logical_id,
            id: reference,
        }),
        "AWS::EC2::VPCGatewayAttachment" => {
            let vpc_id = p.str("VpcId").unwrap_or_default();
            let igw = p.opt_str("InternetGatewayId");
            if p.has("VpnGatewayId") && igw.is_none() {
                // A virtual private gateway: accepted, leads nowhere in the emulated world.
                return errors;
            }
            let Some(internet_gateway_id) = igw else {
                p.missing("InternetGatewayId");
                return errors;
            };
            ec2.attachments.push(GatewayAttachmentConfig {
                logical_id,
                vpc_id,
                internet_gateway_id,
            });
        }
        "AWS::EC2::NatGateway" => {
            let subnet_id = p.str("SubnetId").unwrap_or_default();
            let connectivity = p
                .opt_str("ConnectivityType")
                .unwrap_or_else(|| "public".into());
            let public = match connectivity.as_str() {
                "public" => true,
                "private" => false,
                other => {
                    p.invalid(
                        "ConnectivityType",
                        format!("{other:?} is not one of public, private"),
                    );
                    true
                }
            };
            let allocation_id = p.opt_str("AllocationId");
            if public && allocation_id.is_none() {
                // CreateNatGateway: a public NAT gateway needs an Elastic IP.
                p.invalid(
                    "AllocationId",
                    "AllocationId is required for a public NAT gateway",
                );
            }
            ec2.nat_gateways.push(NatGatewayConfig {
                logical_id,
                id: reference,
                subnet_id,
                allocation_id,
                public,
            });
        }
        "AWS::EC2::EIP" => {
            if let Some(domain) = p.opt_str("Domain")
                && domain != "vpc"
            {
                p.invalid("Domain", format!("{domain:?} is not one of vpc, standard"));
            }
            let public_ip = reference.parse().unwrap_or(Ipv4Addr::new(203, 0, 113, 1));
            ec2.eips.push(EipConfig {
                logical_id,
                allocation_id: attr("AllocationId"),
                public_ip,
                instance_id: p.opt_str("InstanceId"),
                network_interface_id: None,
            });
        }
        "AWS::EC2::EIPAssociation" => {
            let eip = p.opt_str("AllocationId").or_else(|| p.opt_str("EIP"));
            let instance_id = p.opt_str("InstanceId");
            let network_interface_id = p.opt_str("NetworkInterfaceId");
            match eip {
                None => p.missing_as("AllocationId", "AllocationId (or EIP)"),
                Some(_) if instance_id.is_none() && network_interface_id.is_none() => {
                    p.missing_as("InstanceId", "InstanceId (or NetworkInterfaceId)")
                }
                Some(eip) => ec2.eip_associations.push(EipAssociationConfig {
                    logical_id,
                    eip,
                    instance_id,
                    network_interface_id,
                }),
            }
        }
        "AWS::EC2::NetworkInterface" => {
            let Some(subnet_id) = p.str("SubnetId") else {
                return errors;
            };
            let groups = p.str_list("GroupSet");
            let source_dest_check = p.opt_bool("SourceDestCheck").unwrap_or(true);
            let description = p.opt_str("Description").unwrap_or_default();
            let Some(subnet) = subnet_of(model, &subnet_id).cloned() else {
                p.invalid(
                    "SubnetId",
                    format!("The subnet ID '{subnet_id}' does not exist"),
                );
                return errors;
            };
            // Not pinned: the address `ids::place_instance` gave `PrimaryPrivateIpAddress`.
            let (given, secondary) = interface_addresses(&r.properties);
            let address = given
                .clone()
                .or_else(|| attr_opt(r, "PrimaryPrivateIpAddress"));
            let mut private_ip = None;
            for (key, ip) in address
                .iter()
                .map(|a| ("PrivateIpAddress", a))
                .chain(secondary.iter().map(|a| ("PrivateIpAddresses", a)))
            {
                match ip.parse::<Ipv4Addr>() {
                    Err(_) => p.invalid(key, format!("Invalid IPv4 address: {ip}")),
                    Ok(a) => match address_in_subnet(a, subnet.cidr) {
                        Err(why) => p.invalid(key, why),
                        Ok(()) if private_ip.is_none() => private_ip = Some(a),
                        Ok(()) => {}
                    },
                }
            }
            for (i, g) in groups.iter().enumerate() {
                if let Some(sg) = model.security_groups.iter().find(|s| &s.id == g)
                    && !sg.vpc_id.is_empty()
                    && sg.vpc_id != subnet.vpc_id
                {
                    p.invalid(
                        &format!("GroupSet[{i}]"),
                        format!(
                            "Security group {g} and subnet {subnet_id} belong to different networks."
                        ),
                    );
                }
            }
            model.ec2.network_interfaces.push(NetworkInterfaceConfig {
                logical_id,
                id: reference,
                vpc_id: subnet.vpc_id.clone(),
                subnet_id,
                security_groups: groups,
                private_ip,
                source_dest_check,
                description,
            });
        }
        "AWS::EC2::VPCEndpoint" => {
            let vpc_id = p.str("VpcId").unwrap_or_default();
            let service_name = p.str("ServiceName").unwrap_or_default();
            let kind = match p.opt_str("VpcEndpointType").as_deref() {
                // CloudFormation's default is Gateway.
                None | Some("Gateway") => VpcEndpointType::Gateway,
                Some("Interface") => VpcEndpointType::Interface,
                Some(other) => {
                    p.invalid(
                        "VpcEndpointType",
                        format!("{other} endpoints are not emulated (Interface, Gateway are)"),
                    );
                    VpcEndpointType::Gateway
                }
            };
            let subnet_ids = p.str_list("SubnetIds");
            let security_groups = p.str_list("SecurityGroupIds");
            let private_dns = p.opt_bool("PrivateDnsEnabled").unwrap_or(false);
            let policy = p.json_document(
                "PolicyDocument",
                "Policy document is not valid JSON",
                "a policy document",
            );
            if let Some(doc) = &policy
                && let Err(e) = Policy::parse(doc, PolicyKind::VpcEndpoint)
            {
                p.invalid(
                    "PolicyDocument",
                    format!("{} (at {})", e.aws_message(), e.path()),
                );
            }
            let region = model.region.clone();
            let service = EndpointService::from_service_name(&service_name, &region);
            if kind == VpcEndpointType::Interface {
                if subnet_ids.is_empty() {
                    p.missing("SubnetIds");
                }
                if !service_name.starts_with("com.amazonaws.") {
                    p.invalid(
                        "ServiceName",
                        format!("The Vpc Endpoint Service '{service_name}' does not exist"),
                    );
                }
                if private_dns
                    && service.is_none()
                    && service_name.starts_with("com.amazonaws.vpce.")
                {
                    p.invalid(
                        "PrivateDnsEnabled",
                        "Private DNS can't be enabled because the service does not provide a private DNS name.",
                    );
                }
            }
            // The DNS label after the id, as `physical` put it in DnsEntries.
            let dns_label = r
                .physical
                .attributes
                .get("DnsEntries")
                .and_then(|v| v.get(0))
                .and_then(Value::as_str)
                .and_then(|e| e.split_once(':'))
                .and_then(|(_, name)| name.split('.').next())
                .and_then(|first| first.strip_prefix(&format!("{reference}-")))
                .map(str::to_string)
                .unwrap_or_else(|| reference.chars().rev().take(8).collect());
            model.ec2.vpc_endpoints.push(VpcEndpointConfig {
                logical_id: logical_id.clone(),
                id: reference,
                vpc_id,
                kind,
                service_name,
                service,
                subnet_ids,
                security_groups,
                private_dns,
                policy,
                dns_label,
            });
        }
        _ => {}
    }
    errors
}

/// Cross-resource checks once every resource is converted, and the properties of other types
/// this module reads (`resources`: every resolved resource, earlier stacks' first). Returns
/// (logical id, error).
pub(crate) fn finish<'a>(
    model: &mut Model,
    resources: impl IntoIterator<Item = &'a ResolvedResource>,
) -> Vec<(String, PropError)> {
    let mut errors = Vec::new();
    let mut push = |id: &str, path: &str, reason: String| {
        errors.push((
            id.to_string(),
            (path.to_string(), ErrorKind::Invalid { reason }),
        ))
    };
    for r in resources {
        match r.ty.as_str() {
            "AWS::EC2::Subnet" => {
                let on = matches!(
                    r.properties.get("MapPublicIpOnLaunch"),
                    Some(Value::Bool(true))
                ) || r.properties.get("MapPublicIpOnLaunch") == Some(&json!("true"));
                if let Some(id) = r.physical.reference.as_str() {
                    model.ec2.public_ip_subnets.retain(|s| s != id);
                    if on {
                        model.ec2.public_ip_subnets.push(id.to_string());
                    }
                }
            }
            "AWS::ApiGateway::RestApi" => {
                let ids = r
                    .properties
                    .get("EndpointConfiguration")
                    .and_then(|e| e.get("VpcEndpointIds"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(api) = r.physical.reference.as_str() {
                    for v in ids.iter().filter_map(Value::as_str) {
                        model
                            .ec2
                            .api_endpoint_associations
                            .push((api.to_string(), v.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    // Elastic IP associations (AssociateAddress): the address onto an instance or an ENI.
    let associations = std::mem::take(&mut model.ec2.eip_associations);
    for a in &associations {
        let ec2 = &mut model.ec2;
        let known_instance = a.instance_id.as_ref().is_none_or(|i| has_instance(ec2, i));
        let known_interface = a
            .network_interface_id
            .as_ref()
            .is_none_or(|n| has_interface(ec2, n));
        let Some(eip) = ec2
            .eips
            .iter_mut()
            .find(|e| e.allocation_id == a.eip || e.public_ip.to_string() == a.eip)
        else {
            push(
                &a.logical_id,
                "Properties.AllocationId",
                format!("The allocation ID '{}' does not exist", a.eip),
            );
            continue;
        };
        if !known_instance {
            push(
                &a.logical_id,
                "Properties.InstanceId",
                format!(
                    "The instance ID '{}' does not exist",
                    a.instance_id.clone().unwrap_or_default()
                ),
            );
            continue;
        }
        if !known_interface {
            push(
                &a.logical_id,
                "Properties.NetworkInterfaceId",
                format!(
                    "The networkInterface ID '{}' does not exist",
                    a.network_interface_id.clone().unwrap_or_default()
                ),
            );
            continue;
        }
        eip.instance_id = a.instance_id.clone().or(eip.instance_id.take());
        eip.network_interface_id = a.network_interface_id.clone();
    }
    model.ec2.eip_associations = associations;
    let vpc_of_subnet = |s: &str| subnet_vpc(model, s);
    let has_vpc = |v: &str| model.vpcs.iter().any(|x| x.id == v);
    let ec2 = &model.ec2;
    for t in &ec2.route_tables {
        if !has_vpc(&t.vpc_id) {
            push(
                &t.logical_id,
                "Properties.VpcId",
                format!("The vpc ID '{}' does not exist", t.vpc_id),
            );
        }
    }
    for route in &ec2.routes {
        let Some(table) = ec2
            .route_tables
            .iter()
            .find(|t| t.id == route.route_table_id)
        else {
            push(
                &route.logical_id,
                "Properties.RouteTableId",
                format!(
                    "The routeTable ID '{}' does not exist",
                    route.route_table_id
                ),
            );
            continue;
        };
        match &route.target {
            RouteTarget::InternetGateway(igw) => {
                if !ec2.internet_gateways.iter().any(|g| &g.id == igw) {
                    push(
                        &route.logical_id,
                        "Properties.GatewayId",
                        format!("The gateway ID '{igw}' does not exist"),
                    );
                } else if !ec2
                    .attachments
                    .iter()
                    .any(|a| &a.internet_gateway_id == igw && a.vpc_id == table.vpc_id)
                {
                    // CreateRoute refuses a gateway that is not attached to the table's VPC.
                    push(
                        &route.logical_id,
                        "Properties.GatewayId",
                        format!(
                            "route table {} and network gateway {igw} belong to different networks",
                            table.id
                        ),
                    );
                }
            }
            RouteTarget::NatGateway(nat) => {
                if !ec2.nat_gateways.iter().any(|g| &g.id == nat) {
                    push(
                        &route.logical_id,
                        "Properties.NatGatewayId",
                        format!("The natGateway ID '{nat}' does not exist"),
                    );
                }
            }
            // A NAT instance: CreateRoute's InvalidInstanceID.NotFound and
            // InvalidNetworkInterfaceID.NotFound (the instance may be the environment's).
            RouteTarget::Other { kind, id } if kind == "InstanceId" => {
                if !has_instance(ec2, id) {
                    push(
                        &route.logical_id,
                        "Properties.InstanceId",
                        format!("The instance ID '{id}' does not exist"),
                    );
                }
            }
            RouteTarget::Other { kind, id } if kind == "NetworkInterfaceId" => {
                if !has_interface(ec2, id) {
                    push(
                        &route.logical_id,
                        "Properties.NetworkInterfaceId",
                        format!("The networkInterface ID '{id}' does not exist"),
                    );
                }
            }
            RouteTarget::Other { .. } => {}
        }
        if ec2.routes.iter().any(|o| {
            o.logical_id < route.logical_id
                && o.route_table_id == route.route_table_id
                && o.destination == route.destination
        }) {
            push(
                &route.logical_id,
                "Properties.DestinationCidrBlock",
                format!(
                    "The route identified by {} already exists.",
                    route.destination
                ),
            );
        }
    }
    let mut associated = std::collections::HashSet::new();
    for a in &ec2.associations {
        let table = ec2.route_tables.iter().find(|t| t.id == a.route_table_id);
        match (table, vpc_of_subnet(&a.subnet_id)) {
            (None, _) => push(
                &a.logical_id,
                "Properties.RouteTableId",
                format!("The routeTable ID '{}' does not exist", a.route_table_id),
            ),
            (_, None) => push(
                &a.logical_id,
                "Properties.SubnetId",
                format!("The subnet ID '{}' does not exist", a.subnet_id),
            ),
            (Some(t), Some(v)) if t.vpc_id != v => push(
                &a.logical_id,
                "Properties.SubnetId",
                format!(
                    "Route table {} and subnet {} belong to different networks",
                    t.id, a.subnet_id
                ),
            ),
            _ => {
                if !associated.insert(a.subnet_id.clone()) {
                    push(
                        &a.logical_id,
                        "Properties.SubnetId",
                        format!(
                            "the specified association for route table {} conflicts with an existing association",
                            a.route_table_id
                        ),
                    );
                }
            }
        }
    }
    for a in &ec2.attachments {
        if !has_vpc(&a.vpc_id) {
            push(
                &a.logical_id,
                "Properties.VpcId",
                format!("The vpc ID '{}' does not exist", a.vpc_id),
            );
        }
        if !ec2
            .internet_gateways
            .iter()
            .any(|g| g.id == a.internet_gateway_id)
        {
            push(
                &a.logical_id,
                "Properties.InternetGatewayId",
                format!(
                    "The internetGateway ID '{}' does not exist",
                    a.internet_gateway_id
                ),
            );
        }
    }
    for nat in &ec2.nat_gateways {
        if vpc_of_subnet(&nat.subnet_id).is_none() {
            push(
                &nat.logical_id,
                "Properties.SubnetId",
                format!("The subnet ID '{}' does not exist", nat.subnet_id),
            );
        }
        if let Some(alloc) = &nat.allocation_id
            && !ec2.eips.iter().any(|e| &e.allocation_id == alloc)
        {
            push(
                &nat.logical_id,
                "Properties.AllocationId",
                format!("The allocation ID '{alloc}' does not exist"),
            );
        }
    }
    for e in &ec2.vpc_endpoints {
        if !has_vpc(&e.vpc_id) {
            push(
                &e.logical_id,
                "Properties.VpcId",
                format!("The vpc ID '{}' does not exist", e.vpc_id),
            );
            continue;
        }
        let mut azs = std::collections::HashSet::new();
        for (i, s) in e.subnet_ids.iter().enumerate() {
            match model
                .vpcs
                .iter()
                .flat_map(|v| &v.subnets)
                .find(|x| &x.id == s)
            {
                Some(sub) if sub.vpc_id != e.vpc_id => push(
                    &e.logical_id,
                    &format!("Properties.SubnetIds[{i}]"),
                    format!(
                        "The subnet ID '{s}' does not belong to the VPC {}",
                        e.vpc_id
                    ),
                ),
                Some(sub) => {
                    // One endpoint network interface per Availability Zone.
                    if !azs.insert(sub.availability_zone.clone()) {
                        push(
                            &e.logical_id,
                            &format!("Properties.SubnetIds[{i}]"),
                            format!(
                                "Found another VPC endpoint subnet in the availability zone of {s}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."
                            ),
                        );
                    }
                }
                None => push(
                    &e.logical_id,
                    &format!("Properties.SubnetIds[{i}]"),
                    format!("The subnet ID '{s}' does not exist"),
                ),
            }
        }
        if e.private_dns
            && let Some(svc) = e.service
            && let Some(other) = ec2.vpc_endpoints.iter().find(|o| {
                o.logical_id < e.logical_id
                    && o.vpc_id == e.vpc_id
                    && o.private_dns
                    && o.service == Some(svc)
            })
        {
            // Route 53 refuses a second private zone for the same name in one VPC.
            push(
                &e.logical_id,
                "Properties.PrivateDnsEnabled",
                format!(
                    "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {} in the VPC {} ({})",
                    svc.public_name(&model.region),
                    e.vpc_id,
                    other.id
                ),
            );
        }
    }
    // "For a private API, you can't deploy your API without a resource policy"
    // (apigateway-resource-policies-create-attach.html); CloudFormation reports the deployment
    // failing with API Gateway's message (aws/serverless-application-model#3764).
    for d in &model.apigw.deployments {
        if let Some(api) = model.apigw.rest_api(&d.rest_api_id)
            && api.endpoint_type == crate::apigw::EndpointType::Private
            && api.policy.is_none()
        {
            push(
                &d.logical_id,
                "Properties.RestApiId",
                "Private REST API doesn't have a resource policy attached to it".into(),
            );
        }
    }
    errors
}

/// Whether the instance `id` exists (the templates' or the environment's).
fn has_instance(ec2: &crate::ec2::Ec2Model, id: &str) -> bool {
    ec2.instances.iter().any(|i| i.id == id)
}

/// Whether the network interface `id` exists: one of its own, or an existing one an instance
/// took as its primary interface.
fn has_interface(ec2: &crate::ec2::Ec2Model, id: &str) -> bool {
    ec2.network_interfaces.iter().any(|n| n.id == id)
        || ec2
            .instances
            .iter()
            .any(|i| i.primary_interface.as_deref() == Some(id))
}
#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::scenario::{Scenario, ScenarioErrors, StackLinks};

    fn load(resources: serde_json::Value) -> Result<crate::model::Model, ScenarioErrors> {
        let mut all = json!({
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "ap-northeast-1a"}},
            "SubnetA2": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "ap-northeast-1a", "MapPublicIpOnLaunch": true}},
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "VpcId": {"Ref": "Vpc"}}}
        });
        for (k, v) in resources.as_object().unwrap() {
            all[k] = v.clone();
        }
        let doc = json!({"Vpcgate": {"Region": "ap-northeast-1"}, "Resources": all});
        let s = Scenario::parse(&doc.to_string(), "inline.json")?;
        s.build(&StackLinks::default()).map(|(m, _)| m)
    }

    fn error_of(resources: serde_json::Value) -> String {
        match load(resources) {
            Ok(_) => panic!("expected a load error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn instances_and_endpoints_load_with_aws_shaped_ids() {
        let m = load(json!({
            "Host": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1", "NetworkInterfaces": [{"DeviceIndex": "0", "SubnetId": {"Ref": "SubnetA2"}, "GroupSet": [{"Ref": "Sg"}], "PrivateIpAddress": "10.0.1.50"}]}},
            "Ep": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-northeast-1.states", "VpcId": {"Ref": "Vpc"}, "SubnetIds": [{"Ref": "SubnetA"}], "PrivateDnsEnabled": true}}
        }))
        .unwrap();
        let host = &m.ec2.instances[0];
        assert!(
            host.id.starts_with("i-") && host.id.len() == 19,
            "{}",
            host.id
        );
        assert_eq!(host.private_ip, Some("10.0.1.50".parse().unwrap()));
        assert!(m.ec2.public_ip_subnets.contains(&host.subnet_id));
        let ep = &m.ec2.vpc_endpoints[0];
        assert!(ep.id.starts_with("vpce-") && ep.id.len() == 22, "{}", ep.id);
        assert_eq!(ep.dns_label.len(), 8);
        assert_eq!(ep.service, Some(crate::ec2::EndpointService::States));
    }

    #[test]
    fn a_route_to_an_unattached_gateway_is_refused() {
        let e = error_of(json!({
            "Igw": {"Type": "AWS::EC2::InternetGateway", "Properties": {}},
            "Rtb": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Route": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "Rtb"}, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": {"Ref": "Igw"}}}
        }));
        assert!(e.contains("Resources.Route.Properties.GatewayId"), "{e}");
        assert!(e.contains("belong to different networks"), "{e}");
    }

    #[test]
    fn one_endpoint_subnet_per_availability_zone() {
        let e = error_of(json!({
            "Ep": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-northeast-1.execute-api", "VpcId": {"Ref": "Vpc"}, "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetA2"}]}}
        }));
        assert!(e.contains("Resources.Ep.Properties.SubnetIds[1]"), "{e}");
    }

    #[test]
    fn a_nat_gateway_needs_an_elastic_ip_and_an_instance_without_subnet_is_a_placeholder() {
        let e = error_of(json!({
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "SubnetA"}}},
            "Host": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1"}}
        }));
        assert!(e.contains("Resources.Nat.Properties.AllocationId"), "{e}");
        assert!(!e.contains("Resources.Host"), "{e}");
        let m = load(json!({
            "Host": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1", "SecurityGroups": ["default"]}}
        }))
        .unwrap();
        assert!(
            m.not_emulated
                .iter()
                .any(|n| n.logical_id == "Host" && n.resource_type == "AWS::EC2::Instance")
        );
    }
}
