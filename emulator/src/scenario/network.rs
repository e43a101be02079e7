//! The network family: `AWS::EC2::VPC`, `::Subnet`, `::SecurityGroup` (and the standalone
//! `::SecurityGroupIngress` / `::SecurityGroupEgress`), Route 53's `HostedZone` and `RecordSet`,
//! and ACM's `Certificate` into the [`Model`]'s VPCs, groups, zones and certificates.
//!
//! [`Network::convert`] reads one resource; [`Network::finish`] attaches the standalone rules
//! once every group of the stack exists (CloudFormation fails the rule, not the group, when
//! its group does not exist: EC2's InvalidGroup.NotFound, API_AuthorizeSecurityGroupIngress.html).

use ipnet::{IpNet, Ipv4Net};
use serde_json::{Map, Value};

use super::error::ErrorKind;
use super::props::{PropError, Props, names};
use super::resources::Index;
use super::template::ResolvedResource;
use crate::model::{Certificate, HostedZone, Model, Record};
use crate::pki::Issuer;
use crate::vpc::sg::{IpProtocol, Peer, Rule};
use crate::vpc::{SecurityGroup, Subnet, Vpc};

/// The resource types of this family.
pub const TYPES: &[&str] = &[
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::CertificateManager::Certificate",
];

/// The pending name of a rule's peer ([`Peer::GroupName`]): (`SourceSecurityGroupOwnerId`, or
/// "" when the rule gives none, and `SourceSecurityGroupName`). The loader resolves it to a group
/// id in [`Network::finish`] (or the environment reader): the group may be declared after the
/// rule, or in an earlier stack.
fn pending_name(peer: &Peer) -> Option<(&str, &str)> {
    match peer {
        Peer::GroupName { owner, name } => Some((owner.as_deref().unwrap_or(""), name.as_str())),
        _ => None,
    }
}

/// The group a standalone `AWS::EC2::SecurityGroupIngress`/`Egress` adds its rule to.
enum RuleGroup {
    /// `GroupId`.
    Id(String),
    /// `GroupName` (EC2's default-VPC reference by name; ingress rules only).
    Name(String),
}

/// Resolves the peers given by `SourceSecurityGroupName` in `groups` against `names` (GroupName
/// -> id) — EC2's `[Default VPC]` reference by name
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ec2-security-group-ingress.html>).
/// A name owned by another account (`SourceSecurityGroupOwnerId`) is that account's group: it
/// stays a group no ENI of this world carries. An unknown name removes the rule and is reported
/// as EC2 reports it (InvalidGroup.NotFound), with the group's logical id.
pub(crate) fn resolve_group_names(
    groups: &mut [SecurityGroup],
    names: &std::collections::BTreeMap<String, String>,
    account: &str,
) -> Vec<(String, String)> {
    let mut unknown = Vec::new();
    for g in groups {
        let vpc = g.vpc_id.clone();
        let logical = g.logical_id.clone();
        g.ingress
            .retain_mut(|rule| match resolve_peer_name(rule, names, account, &vpc) {
                Ok(()) => true,
                Err(reason) => {
                    unknown.push((logical.clone(), reason));
                    false
                }
            });
    }
    unknown
}

/// Resolves one rule's peer given by name (see [`resolve_group_names`]) for a group in `vpc`.
fn resolve_peer_name(
    rule: &mut Rule,
    names: &std::collections::BTreeMap<String, String>,
    account: &str,
    vpc: &str,
) -> Result<(), String> {
    let Some((owner, name)) = pending_name(&rule.peer) else {
        return Ok(());
    };
    let (owner, name) = (owner.to_string(), name.to_string());
    if !owner.is_empty() && owner != account {
        rule.peer = Peer::Group(format!("{owner}/{name}"));
        return Ok(());
    }
    // A template's `!Ref` of a group gives vpcgate's id (AWS gives a default-VPC group's
    // name): an id names the group itself.
    if name.starts_with("sg-") {
        rule.peer = Peer::Group(name);
        return Ok(());
    }
    match names.get(&name) {
        Some(id) => {
            rule.peer = Peer::Group(id.clone());
            Ok(())
        }
        None => {
            let place = if vpc.is_empty() {
                "in default VPC".to_string()
            } else {
                format!("in VPC '{vpc}'")
            };
            Err(format!(
                "The security group '{name}' does not exist {place}"
            ))
        }
    }
}

/// The subnet `id` of any VPC of the model.
pub(super) fn subnet<'m>(model: &'m Model, id: &str) -> Option<&'m Subnet> {
    model
        .vpcs
        .iter()
        .flat_map(|v| &v.subnets)
        .find(|s| s.id == id)
}

/// What the family holds between its resources and [`Network::finish`].
#[derive(Default)]
pub(super) struct Network {
    /// Standalone rules waiting for their group: (logical id, group, ingress?, rule).
    rules: Vec<(String, RuleGroup, bool, Rule)>,
}

impl Network {
    /// Converts one network resource; a standalone rule waits for [`Network::finish`].
    pub(super) fn convert(&mut self, r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
        let mut errors = Vec::new();
        let mut p = Props::of(r, &mut errors);
        let (id, reference, _) = names(r);
        let region = model.region.clone();
        match r.ty.as_str() {
            "AWS::EC2::VPC" => {
                if let Some(cidr) = p.str("CidrBlock") {
                    match cidr.parse::<Ipv4Net>() {
                        Ok(net) if (16..=28).contains(&net.prefix_len()) => {
                            model.vpcs.push(Vpc {
                                id: reference.clone(),
                                logical_id: id.clone(),
                                cidr: net.trunc(),
                                subnets: Vec::new(),
                            });
                            // Every VPC comes with its default security group, the one
                            // `Fn::GetAtt VPC.DefaultSecurityGroup` names.
                            if let Some(sg) = r.physical.attributes.get("DefaultSecurityGroup")
                                && let Some(sg) = sg.as_str()
                            {
                                push_default_group(model, sg, &reference, &id);
                            }
                        }
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
                if let Some(name) = p.opt_str("GroupName") {
                    model.ec2.group_names.insert(name, reference.clone());
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
                // `GroupName` ([Default VPC]) instead of `GroupId`, on ingress rules only.
                let group = match p.opt_str("GroupName") {
                    Some(name) if ingress && !p.has("GroupId") => Some(RuleGroup::Name(name)),
                    _ => p.str("GroupId").map(RuleGroup::Id),
                };
                if let Some(group) = group {
                    let mut one = Map::new();
                    for (k, v) in r.properties.iter() {
                        if k != "GroupId" && k != "GroupName" {
                            one.insert(k.clone(), v.clone());
                        }
                    }
                    let mut child = Props::new(&one, "Properties", p.errors);
                    if let Some(rule) = sg_rule(&mut child, ingress) {
                        self.rules.push((id.clone(), group, ingress, rule));
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
            "AWS::Route53::RecordSet" => record_set(&mut p, model),
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
            _ => {}
        }
        errors
    }

    /// Attaches the standalone rules to their groups: an unknown group fails the rule with
    /// EC2's answer ("The security group 'sg-…' does not exist").
    pub(super) fn finish(self, model: &mut Model, index: &Index) -> Vec<(String, PropError)> {
        let mut errors = Vec::new();
        let mut fail = |id: &str, path: &str, reason: String| {
            errors.push((
                id.to_string(),
                (path.to_string(), ErrorKind::Invalid { reason }),
            ));
        };
        let names = model.ec2.group_names.clone();
        let account = model.account.clone();
        for (id, group, ingress, mut rule) in self.rules {
            let group = match group {
                RuleGroup::Name(name) => match model.ec2.group_names.get(&name) {
                    Some(g) => g.clone(),
                    None => {
                        fail(
                            &id,
                            "Properties.GroupName",
                            format!("The security group '{name}' does not exist in default VPC"),
                        );
                        continue;
                    }
                },
                RuleGroup::Id(group) => group,
            };
            // The rule's own source by name fails the rule's resource, not its group's.
            let vpc = model
                .security_groups
                .iter()
                .find(|g| g.id == group)
                .map(|g| g.vpc_id.clone())
                .unwrap_or_default();
            if let Err(reason) = resolve_peer_name(&mut rule, &names, &account, &vpc) {
                fail(&id, "Properties.SourceSecurityGroupName", reason);
                continue;
            }
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
                    fail(
                        &id,
                        "Properties.GroupId",
                        format!(
                            "{group} is a VPC's default security group, which vpcgate does not emulate: declare an AWS::EC2::SecurityGroup"
                        ),
                    )
                }
                None => fail(
                    &id,
                    "Properties.GroupId",
                    format!("The security group '{group}' does not exist"),
                ),
            }
        }
        for (logical, reason) in resolve_group_names(&mut model.security_groups, &names, &account) {
            errors.push((
                logical,
                (
                    "Properties.SecurityGroupIngress".to_string(),
                    ErrorKind::Invalid { reason },
                ),
            ));
        }
        errors
    }
}

/// How the logical id of a VPC's default security group ends (the group has no resource of
/// its own: it is named after its VPC's, for messages).
const DEFAULT_GROUP: &str = " (default security group)";

/// Adds the default security group `id` of the VPC `vpc_id` (logical id `vpc_logical`) with the
/// rules AWS gives it: all traffic in from the group's own members, all traffic out to
/// 0.0.0.0/0 (<https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html>).
fn push_default_group(model: &mut Model, id: &str, vpc_id: &str, vpc_logical: &str) {
    if model.security_groups.iter().any(|g| g.id == id) {
        return;
    }
    model.security_groups.push(SecurityGroup {
        id: id.to_string(),
        logical_id: format!("{vpc_logical}{DEFAULT_GROUP}"),
        vpc_id: vpc_id.to_string(),
        ingress: vec![Rule {
            protocol: IpProtocol::All,
            from_port: 0,
            to_port: 65535,
            peer: Peer::Group(id.to_string()),
            description: None,
        }],
        egress: vec![Rule::allow_all_ipv4()],
    });
}

/// The VPC's default security group, which EC2 gives a network interface created without
/// groups ("If this parameter is not specified, we use the default security group for the VPC":
/// CreateVpcEndpoint's SecurityGroupIds, the rule for every ENI an AWS service creates in your
/// subnets): a VPC link v2 declared with `SecurityGroupIds: []`, as CDK's `VpcLink` writes it.
/// A VPC of a template has it from the start (its `DefaultSecurityGroup` attribute); for a VPC
/// of the environment file, whose default group is not declared, vpcgate makes one with an id
/// derived from the VPC's (vpcgate's choice).
pub(super) fn default_group(model: &mut Model, vpc_id: &str) -> String {
    if let Some(g) = model
        .security_groups
        .iter()
        .find(|g| g.vpc_id == vpc_id && g.logical_id.ends_with(DEFAULT_GROUP))
    {
        return g.id.clone();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("default-sg:{vpc_id}").as_bytes());
    let id = format!("sg-{}", &hex::encode(digest)[..17]);
    push_default_group(model, &id, vpc_id, vpc_id);
    id
}

/// CDK's `Custom::VpcRestrictDefaultSG` (what `restrictDefaultSecurityGroup`, on in every
/// project `cdk init` makes since CDK 2.78, adds to an `ec2.Vpc`): its handler revokes the
/// default group's default rules (aws-cdk pull request #25297), so the group admits and sends
/// nothing but what other rules allow. The custom resource stays a placeholder; its effect on
/// the group is applied here.
pub(super) fn restrict_default_groups(resolved: &[ResolvedResource], model: &mut Model) {
    for r in resolved
        .iter()
        .filter(|r| r.ty == "Custom::VpcRestrictDefaultSG")
    {
        let Some(id) = r
            .properties
            .get("DefaultSecurityGroupId")
            .and_then(Value::as_str)
        else {
            continue;
        };
        // Only the two default rules go (the handler revokes exactly those); rules the template
        // adds to the group stay.
        if let Some(g) = model.security_groups.iter_mut().find(|g| g.id == id) {
            let own = Peer::Group(id.to_string());
            g.ingress
                .retain(|r| !(r.protocol == IpProtocol::All && r.peer == own));
            g.egress.retain(|r| *r != Rule::allow_all_ipv4());
        }
    }
}

/// ALIAS records name their target as Route 53 stores it: lower case, without the trailing dot
/// and the `dualstack.` prefix.
pub(super) fn normalize_aliases(model: &mut Model) {
    for zone in &mut model.hosted_zones {
        for rec in &mut zone.records {
            if let Some(alias) = &mut rec.alias {
                *alias = alias
                    .trim_end_matches('.')
                    .trim_start_matches("dualstack.")
                    .to_ascii_lowercase();
            }
        }
    }
}

/// The rules of `map[key]` (`SecurityGroupIngress` / `SecurityGroupEgress`, CloudFormation's
/// shape) and their errors by path — for the environment file's existing groups.
pub(crate) fn rules_of(
    map: &Map<String, Value>,
    key: &str,
    ingress: bool,
) -> (Vec<Rule>, Vec<PropError>) {
    let mut errors = Vec::new();
    let mut p = Props::new(map, "", &mut errors);
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
    } else if matches!(protocol, IpProtocol::Icmp | IpProtocol::Icmpv6) {
        // For ICMP and ICMPv6, FromPort is the ICMP type and ToPort the ICMP code, each -1 for
        // all ("AWS::EC2::SecurityGroupEgress": "you must also specify the ICMP/ICMPv6 type and
        // code. To specify all types or all codes, use -1",
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupegress.html).
        // So CDK's "Disallow all traffic" egress (icmp, type 252, code 86, to 255.255.255.255/32)
        // is a valid rule. The pair is kept (-1 as 0): no TCP connection matches an ICMP rule.
        let value = |c: &mut Props<'_>, key: &str| {
            c.opt_str(key)
                .and_then(|s| s.parse::<i32>().ok())
                .filter(|n| (-1..=255).contains(n))
        };
        match (value(c, "FromPort"), value(c, "ToPort")) {
            (Some(t), Some(code)) => (t.clamp(0, 255) as u16, code.clamp(0, 255) as u16),
            (None, _) => {
                c.invalid("FromPort", format!("Invalid value for portRange. Must specify the ICMP type (-1 to 255) as FromPort with {proto_text}."));
                return None;
            }
            (_, None) => {
                c.invalid("ToPort", format!("Invalid value for portRange. Must specify the ICMP code (-1 to 255) as ToPort with {proto_text}."));
                return None;
            }
        }
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
    if ingress && let Some(name) = c.opt_str("SourceSecurityGroupName") {
        let owner = c.opt_str("SourceSecurityGroupOwnerId");
        peers.push(Peer::GroupName { owner, name });
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
                "a rule needs exactly one of CidrIp, CidrIpv6, {group_key}{}, {list_key} (found {})",
                if ingress { ", SourceSecurityGroupName" } else { "" },
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
        p.missing_as("ResourceRecords", "ResourceRecords (or AliasTarget)");
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
