//! Several CloudFormation stacks, deployed in order into one account and Region, with an
//! *environment*: what the account already has and a laptop does not (VPCs, subnets, private
//! hosted zones and their records, ACM certificates, SSM parameters).
//!
//! ```text
//! vpcgate check --environment env.json \
//!   --stack eb-connection-infra=01-infra.yaml --stack eb-connection-sfn=02-stepfunctions.yaml \
//!   --parameter eb-connection-infra.AlbDomainName=eb-demo.example.com
//! ```
//!
//! Stacks load in the order given, as `aws cloudformation deploy` would create them one after the
//! other: each stack's outputs (`Fn::GetStackOutput`) and exports (`Fn::ImportValue`) feed the
//! stacks after it, and every stack's resources land in one [`Model`] — one world — keeping their
//! stack's name in their physical ids. The environment's VPCs, subnets, zones and certificates are
//! model entries as if declared; a record may point at a stack output (the ALB's DNS name is only
//! known once the stack that makes it is loaded). All errors of a stack are reported at once, with
//! the file, line and column, before anything starts; loading stops at the first stack with
//! errors (the later ones depend on it), after every template has been read (all syntax errors
//! are reported).
//!
//! A scenario file can name stacks too (`Vpcgate.Stacks`, `Vpcgate.Environment`), so that
//! `vpcgate check` runs cases against templates as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ErrorKind, ScenarioError, ScenarioErrors, type_name};
use super::ids::IdContext;
use super::resources;
use super::template::{self, ResolvedResource, StackLinks};
use super::yaml::{self, SourceMap};
use super::{Scenario, Settings};
use crate::model::{Certificate, HostedZone, Model, NotEmulated, Record};
use crate::pki::Issuer;
use crate::vpc::sg::{Peer, SecurityGroup};
use crate::vpc::{Subnet, Vpc};

/// One stack to deploy: its name and template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSpec {
    /// The stack name (`AWS::StackName`).
    pub name: String,
    /// The template file (YAML or JSON).
    pub template: PathBuf,
    /// Parameter values given with the stack (e.g. by a scenario's `Vpcgate.Stacks`).
    pub parameters: BTreeMap<String, String>,
    /// The template's text when it does not come from `template` (CloudFormation's
    /// `TemplateBody`); `template` then only names it in messages.
    pub body: Option<String>,
}

/// `--parameter STACK.KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterOverride {
    /// The stack name.
    pub stack: String,
    /// The parameter's logical name.
    pub key: String,
    /// Its value (lists: comma-separated, as CloudFormation takes them).
    pub value: String,
}

fn parse_stack_arg(text: &str) -> Result<StackSpec, String> {
    let (name, file) = text
        .split_once('=')
        .filter(|(n, f)| !n.is_empty() && !f.is_empty())
        .ok_or_else(|| format!("expected NAME=FILE, got {text:?}"))?;
    Ok(StackSpec {
        name: name.to_string(),
        template: PathBuf::from(file),
        parameters: BTreeMap::new(),
        body: None,
    })
}

fn parse_parameter_arg(text: &str) -> Result<ParameterOverride, String> {
    let (lhs, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected STACK.KEY=VALUE, got {text:?}"))?;
    let (stack, key) = lhs
        .split_once('.')
        .filter(|(s, k)| !s.is_empty() && !k.is_empty())
        .ok_or_else(|| format!("expected STACK.KEY=VALUE, got {text:?}"))?;
    Ok(ParameterOverride {
        stack: stack.to_string(),
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// The command-line flags that deploy CloudFormation templates; flatten into a subcommand with
/// `#[command(flatten)]`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct StackArgs {
    /// Deploy a CloudFormation template (YAML or JSON) as stack NAME; repeat for more stacks, in
    /// deployment order (later stacks read earlier ones' outputs and exports).
    #[arg(long = "stack", value_name = "NAME=FILE", value_parser = parse_stack_arg)]
    pub stacks: Vec<StackSpec>,
    /// A parameter value for one stack (overrides the template's Default); repeatable.
    #[arg(long = "parameter", value_name = "STACK.KEY=VALUE", value_parser = parse_parameter_arg)]
    pub parameters: Vec<ParameterOverride>,
    /// What the account already has (VPCs, subnets, private hosted zones and records,
    /// certificates, SSM parameters), as JSON or YAML; see the README.
    #[arg(long, value_name = "FILE")]
    pub environment: Option<PathBuf>,
    /// Bind an ECS service, Lambda function or EC2 instance of the stacks (by logical id, or
    /// STACK.LOGICALID) to your own process on this machine: its target groups forward to it.
    /// Repeatable.
    #[arg(long = "bind", value_name = "LOGICALID=URL", value_parser = super::bindings::parse_bind_arg)]
    pub binds: Vec<super::bindings::Binding>,
}

impl StackArgs {
    /// Whether no stack was given.
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }

    /// Reads the environment and deploys the stacks.
    pub fn load(&self) -> Result<Loaded, ScenarioErrors> {
        let mut env = match &self.environment {
            Some(p) => Environment::load(p)?,
            None => Environment::default(),
        };
        env.bindings.extend(self.binds.iter().cloned());
        load(&self.stacks, &env, &self.parameters)
    }
}

/// A stack of `Vpcgate.Stacks` in a scenario file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StackEntry {
    /// The stack name.
    pub name: String,
    /// The template, relative to the scenario file.
    pub template: String,
    /// Parameter values.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
}

/// A value in the environment that may come from a stack output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    /// Given as text.
    Text(String),
    /// `{"Stack": …, "Output": …}`: known once that stack is loaded.
    Output {
        /// The stack name.
        stack: String,
        /// The output name.
        output: String,
    },
}

/// A record of an environment hosted zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSpec {
    /// Where it is in the environment (for messages).
    pub path: String,
    /// Owner name.
    pub name: String,
    /// `A`, `AAAA`, `CNAME` or `TXT`.
    pub record_type: String,
    /// TTL.
    pub ttl: u32,
    /// `Value` / `Values`.
    pub values: Vec<EnvValue>,
    /// `AliasTarget`: a DNS name (e.g. an ALB's) whose addresses the record answers with.
    pub alias: Option<EnvValue>,
}

/// A hosted zone of the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSpec {
    /// The zone (records are added once the stacks are loaded).
    pub zone: HostedZone,
    /// Its records.
    pub records: Vec<RecordSpec>,
}

/// What the account already has. Every field is optional.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// The file it came from (or the scenario file).
    pub file: String,
    /// `AWS::Region`.
    pub region: Option<String>,
    /// `AWS::AccountId`.
    pub account_id: Option<String>,
    /// Existing VPCs with their subnets.
    pub vpcs: Vec<Vpc>,
    /// Existing hosted zones.
    pub hosted_zones: Vec<ZoneSpec>,
    /// Existing ACM certificates.
    pub certificates: Vec<Certificate>,
    /// Systems Manager parameters (`AWS::SSM::Parameter::Value<…>` parameter types read them).
    pub ssm_parameters: BTreeMap<String, String>,
    /// Existing security groups (id, VPC, rules), which templates name by id.
    pub security_groups: Vec<SecurityGroup>,
    /// Existing route tables (with their routes and subnet associations) and internet
    /// gateways attached to the `Vpcs` (`RouteTables`, `InternetGateways`): templates name them
    /// by id (`SubnetRouteTableAssociation`, `Route`), and the world routes by them.
    pub ec2: crate::ec2::Ec2Model,
    /// `S3Objects`: S3 locations (`s3://bucket/key`) -> local files (relative to the environment
    /// file), read where a template reads S3 (`AWS::Include`, `BodyS3Location`, SAM's
    /// `DefinitionUri`).
    pub s3_objects: super::transform::S3Objects,
    /// `ServerlessApplications`: Serverless Application Repository application ARNs -> the
    /// local template standing in for the application (a nested stack of the SAM template).
    pub serverless_applications: BTreeMap<String, PathBuf>,
    /// The `GroupName`s of `SecurityGroups` -> their ids (rules by `SourceSecurityGroupName`).
    pub group_names: BTreeMap<String, String>,
    /// Existing managed prefix lists: id -> CIDRs (security group rules name them).
    pub prefix_lists: BTreeMap<String, Vec<ipnet::IpNet>>,
    /// Public origins mapped to the user's own processes (`PublicEndpoints`,
    /// [`super::public_endpoints`]).
    pub public_endpoints: Vec<crate::events::public::PublicEndpoint>,
    /// Compute bound to the user's own processes (`Bindings`, and `--bind` flags added by
    /// [`StackArgs::load`]; [`super::bindings`]).
    pub bindings: Vec<super::bindings::Binding>,
    /// What AWS-specific parameter types name that vpcgate does not model, by parameter type:
    /// key pair names (`KeyPairs`), AMI ids (`Images`), instance ids (`Instances`), volume ids
    /// (`Volumes`), and the `GroupName`s of `SecurityGroups`.
    pub existing: BTreeMap<&'static str, BTreeSet<String>>,
    /// Exports of stacks deployed outside vpcgate (`Exports`: name -> value), which
    /// `Fn::ImportValue` reads as it reads the loaded stacks' exports.
    pub exports: BTreeMap<String, String>,
    prefix: String,
    locations: SourceMap,
}

/// The template URL the offline Serverless Application Repository gives an application
/// (`sam_translate.py`'s `OfflineSar`): one per application ARN, whatever the version.
fn sar_template_url(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, owner, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("applications/")?;
    let ok = service == "serverlessrepo"
        && owner.len() == 12
        && owner.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.len() <= 140
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| {
        format!("https://awsserverlessrepo-changesets-offline.s3.amazonaws.com/{owner}/{name}/template.yaml")
    })
}

/// The keys of an environment route's target (exactly one per route), as `CreateRoute` names
/// them.
const ROUTE_TARGETS: [&str; 7] = [
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "NetworkInterfaceId",
    "InstanceId",
    "VpcEndpointId",
];

/// The environment's `InternetGateways` (`InternetGatewayId`, `VpcId` it is attached to) and
/// `RouteTables` (`RouteTableId`, `VpcId`, `Routes` in `AWS::EC2::Route`'s shape — a
/// `DestinationCidrBlock` and `GatewayId` (an environment's internet gateway), `NatGatewayId`,
/// an `InstanceId` or `NetworkInterfaceId` (a NAT instance of the templates, `ec2::route`) or
/// another target, which leads nowhere emulated — and `Associations`, the subnet ids explicitly
/// associated with it). Each is checked as EC2 checks the API calls that would have made it.
fn read_route_tables(r: &mut Reader<'_>, m: &Map<String, Value>, env: &mut Environment) {
    use crate::ec2::{
        AssociationConfig, GatewayAttachmentConfig, InternetGatewayConfig, RouteConfig,
        RouteTableConfig, RouteTarget,
    };
    let vpc_of_subnet = |env: &Environment, s: &str| {
        env.vpcs
            .iter()
            .find(|v| v.subnets.iter().any(|x| x.id == s))
            .map(|v| v.id.clone())
    };
    let mut items = r.objects(m, "InternetGateways", "", &["InternetGatewayId", "VpcId"]);
    while let Some((path, gm)) = items.next(r) {
        let id = r.string(gm, "InternetGatewayId", &path, true);
        let vpc = r.string(gm, "VpcId", &path, false);
        let Some(id) = id else { continue };
        if !id.starts_with("igw-") || id.len() < 5 {
            r.invalid(
                &format!("{path}.InternetGatewayId"),
                format!("{id:?} is not an internet gateway id (igw-…)"),
            );
            continue;
        }
        if let Some(vpc) = vpc {
            if !env.vpcs.iter().any(|v| v.id == vpc) {
                r.invalid(
                    &format!("{path}.VpcId"),
                    format!("{vpc} is not one of the environment's Vpcs"),
                );
            } else {
                env.ec2.attachments.push(GatewayAttachmentConfig {
                    logical_id: id.clone(),
                    vpc_id: vpc,
                    internet_gateway_id: id.clone(),
                });
            }
        }
        env.ec2.internet_gateways.push(InternetGatewayConfig {
            logical_id: id.clone(),
            id,
        });
    }
    let mut associated = BTreeSet::new();
    let mut items = r.objects(
        m,
        "RouteTables",
        "",
        &["RouteTableId", "VpcId", "Routes", "Associations", "Name"],
    );
    while let Some((path, tm)) = items.next(r) {
        let id = r.string(tm, "RouteTableId", &path, true);
        let vpc = r.string(tm, "VpcId", &path, true);
        r.string(tm, "Name", &path, false);
        let (Some(id), Some(vpc)) = (id, vpc) else {
            continue;
        };
        if !id.starts_with("rtb-") || id.len() < 5 {
            r.invalid(
                &format!("{path}.RouteTableId"),
                format!("{id:?} is not a route table id (rtb-…)"),
            );
            continue;
        }
        if !env.vpcs.iter().any(|v| v.id == vpc) {
            r.invalid(
                &format!("{path}.VpcId"),
                format!("{vpc} is not one of the environment's Vpcs"),
            );
            continue;
        }
        for (i, s) in r.list(tm, "Associations", &path).iter().enumerate() {
            let at = format!("{path}.Associations[{i}]");
            let Some(s) = s.as_str() else {
                r.wrong_type(&at, "a subnet id", s);
                continue;
            };
            match vpc_of_subnet(env, s) {
                None => r.invalid(&at, format!("The subnet ID '{s}' does not exist")),
                Some(v) if v != vpc => r.invalid(
                    &at,
                    format!("Route table {id} and subnet {s} belong to different networks"),
                ),
                Some(_) if !associated.insert(s.to_string()) => r.invalid(
                    &at,
                    format!("{s} is associated with two route tables (a subnet has one)"),
                ),
                Some(_) => env.ec2.associations.push(AssociationConfig {
                    logical_id: format!("{id}/{s}"),
                    subnet_id: s.to_string(),
                    route_table_id: id.clone(),
                }),
            }
        }
        let route_keys: Vec<&str> = std::iter::once("DestinationCidrBlock")
            .chain(ROUTE_TARGETS)
            .collect();
        let mut routes = r.objects(tm, "Routes", &path, &route_keys);
        while let Some((rpath, rm)) = routes.next(r) {
            let dest = r
                .string(rm, "DestinationCidrBlock", &rpath, true)
                .and_then(|d| cidr(r, &d, &format!("{rpath}.DestinationCidrBlock")));
            let mut targets = Vec::new();
            for key in ROUTE_TARGETS {
                if let Some(t) = r.string(rm, key, &rpath, false) {
                    targets.push((key, t));
                }
            }
            if targets.len() != 1 {
                r.invalid(
                    &rpath,
                    format!(
                        "The request must contain exactly one of gatewayId, natGatewayId, … (found {})",
                        targets.len()
                    ),
                );
                continue;
            }
            let (key, target) = targets.remove(0);
            let target = if key == "GatewayId" && target.starts_with("igw-") {
                let attached = env
                    .ec2
                    .attachments
                    .iter()
                    .any(|a| a.internet_gateway_id == target && a.vpc_id == vpc);
                if !attached {
                    r.invalid(
                        &format!("{rpath}.GatewayId"),
                        format!(
                            "{target} is not one of the environment's InternetGateways attached to {vpc}"
                        ),
                    );
                    continue;
                }
                RouteTarget::InternetGateway(target)
            } else {
                // Existing NAT gateways, peerings, … are not modelled: nothing lies behind them.
                RouteTarget::Other {
                    kind: key.to_string(),
                    id: target,
                }
            };
            if let Some(destination) = dest {
                if env
                    .ec2
                    .routes
                    .iter()
                    .any(|o| o.route_table_id == id && o.destination == destination)
                {
                    r.invalid(
                        &format!("{rpath}.DestinationCidrBlock"),
                        format!("The route identified by {destination} already exists."),
                    );
                    continue;
                }
                env.ec2.routes.push(RouteConfig {
                    logical_id: format!("{id}|{destination}"),
                    route_table_id: id.clone(),
                    destination,
                    target,
                });
            }
        }
        env.ec2.route_tables.push(RouteTableConfig {
            logical_id: id.clone(),
            id,
            vpc_id: vpc,
        });
    }
}

/// The environment's lists of existing things by name: its key, the parameter type that names
/// them, and the prefix of their ids.
const EXISTING: [(&str, &str, &str); 4] = [
    ("KeyPairs", "AWS::EC2::KeyPair::KeyName", ""),
    ("Images", "AWS::EC2::Image::Id", "ami-"),
    ("Instances", "AWS::EC2::Instance::Id", "i-"),
    ("Volumes", "AWS::EC2::Volume::Id", "vol-"),
];
const EXISTING_WHAT: [&str; 4] = [
    "a key pair name",
    "an AMI id (ami-…)",
    "an instance id (i-…)",
    "a volume id (vol-…)",
];
fn ty_index(ty: &str) -> usize {
    EXISTING.iter().position(|(_, t, _)| *t == ty).unwrap_or(0)
}

/// Whether `name` is shaped like a Region name (`ap-northeast-1`, `us-gov-west-1`):
/// `^[a-z]{2}(-[a-z]+)+-[0-9]+$`, matched part by part (no expression compiled at start).
pub fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [country, middle @ .., number] if !middle.is_empty() => {
            country.len() == 2
                && lower(country)
                && middle.iter().all(|p| lower(p))
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// CreateStack's constraint on a stack name, `[a-zA-Z][-a-zA-Z0-9]*` of at most 128 characters
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
pub fn is_stack_name(name: &str) -> bool {
    name.len() <= 128
        && name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Reads JSON values with paths, collecting precise errors.
struct Reader<'a> {
    file: &'a str,
    prefix: &'a str,
    locations: &'a SourceMap,
    errors: Vec<ScenarioError>,
}

impl Reader<'_> {
    fn full(&self, path: &str) -> String {
        match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.to_string(),
            (false, false) => format!("{}.{path}", self.prefix),
        }
    }

    fn fail(&mut self, path: &str, kind: ErrorKind) {
        let full = self.full(path);
        self.errors.push(ScenarioError {
            file: yaml::at(self.file, self.locations.locate(&full)),
            logical_id: None,
            path: full,
            kind,
        });
    }

    fn invalid(&mut self, path: &str, reason: String) {
        self.fail(path, ErrorKind::Invalid { reason });
    }

    /// The error that the value at `path` is `v`'s type, not `expected`.
    fn wrong_type(&mut self, path: &str, expected: &'static str, v: &Value) {
        self.fail(
            path,
            ErrorKind::WrongType {
                expected,
                found: type_name(v),
            },
        );
    }

    /// The entries of the object under `key` (none when absent; when it is not an object, the
    /// error that it should be `expected`).
    fn entries<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        key: &str,
        expected: &'static str,
    ) -> Vec<(&'v String, &'v Value)> {
        match m.get(key) {
            None => Vec::new(),
            Some(Value::Object(o)) => o.iter().collect(),
            Some(other) => {
                self.wrong_type(key, expected, other);
                Vec::new()
            }
        }
    }

    fn object<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        keys: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(m) = v else {
            self.wrong_type(path, "an object", v);
            return None;
        };
        for k in m.keys().filter(|k| !keys.contains(&k.as_str())) {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            self.invalid(
                &at,
                format!("unknown key {k} (expected one of {})", keys.join(", ")),
            );
        }
        Some(m)
    }

    /// The objects of the list under `key`, each with its path (`<path>.<key>[i]`) and checked
    /// for unknown keys as [`Objects::next`] reaches it; an item that is not an object is an
    /// error and skipped.
    fn objects<'v, 'k>(
        &mut self,
        m: &'v Map<String, Value>,
        key: &str,
        path: &str,
        keys: &'k [&'k str],
    ) -> Objects<'v, 'k> {
        Objects {
            items: self.list(m, key, path).iter().enumerate(),
            at: join(path, key),
            keys,
        }
    }

    fn list<'v>(&mut self, m: &'v Map<String, Value>, key: &str, path: &str) -> &'v [Value] {
        match m.get(key) {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.wrong_type(&join(path, key), "a list", other);
                &[]
            }
        }
    }

    fn string(
        &mut self,
        m: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<String> {
        match m.get(key) {
            None if required => {
                self.fail(&join(path, key), ErrorKind::Missing { name: key.into() });
                None
            }
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong_type(&join(path, key), "a string", other);
                None
            }
        }
    }

    /// A string, or `{"Stack": …, "Output": …}`.
    fn env_value(&mut self, v: &Value, path: &str) -> Option<EnvValue> {
        match v {
            Value::String(s) => Some(EnvValue::Text(s.clone())),
            Value::Object(_) => {
                let m = self.object(v, path, &["Stack", "Output"])?;
                let stack = self.string(m, "Stack", path, true);
                let output = self.string(m, "Output", path, true);
                Some(EnvValue::Output {
                    stack: stack?,
                    output: output?,
                })
            }
            other => {
                self.wrong_type(path, "a string or {\"Stack\": …, \"Output\": …}", other);
                None
            }
        }
    }
}

/// A list of objects read one at a time: each item is checked when reached, so errors keep the
/// document's order.
struct Objects<'v, 'k> {
    items: std::iter::Enumerate<std::slice::Iter<'v, Value>>,
    at: String,
    keys: &'k [&'k str],
}

impl<'v> Objects<'v, '_> {
    /// The next item that is an object, with its path.
    fn next(&mut self, r: &mut Reader<'_>) -> Option<(String, &'v Map<String, Value>)> {
        loop {
            let (i, v) = self.items.next()?;
            let path = format!("{}[{i}]", self.at);
            if let Some(o) = r.object(v, &path, self.keys) {
                return Some((path, o));
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn cidr(r: &mut Reader<'_>, text: &str, path: &str) -> Option<Ipv4Net> {
    match text.parse::<Ipv4Net>() {
        Ok(n) if n.trunc() == n => Some(n),
        Ok(n) => {
            r.invalid(
                path,
                format!(
                    "{text} is not a network address (did you mean {}?)",
                    n.trunc()
                ),
            );
            None
        }
        Err(_) => {
            r.invalid(path, format!("{text:?} is not an IPv4 CIDR block"));
            None
        }
    }
}

impl Environment {
    /// Reads an environment file (JSON or YAML).
    pub fn load(path: &Path) -> Result<Self, ScenarioErrors> {
        let file = path.display().to_string();
        let text = super::read_source(path).map_err(|e| {
            ScenarioErrors(vec![ScenarioError {
                file: file.clone(),
                logical_id: None,
                path: String::new(),
                kind: ErrorKind::Invalid {
                    reason: format!("the environment file: {e}"),
                },
            }])
        })?;
        Self::parse(&text, &file)
    }

    /// Parses environment text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, ScenarioErrors> {
        let doc = yaml::parse(text, file)?;
        Self::from_value(&doc.value, file, "", &doc.locations)
    }

    /// Reads an environment from its JSON form; `prefix` is its path in `file` (e.g.
    /// `Vpcgate.Environment`), `locations` the positions of `file`'s nodes.
    pub fn from_value(
        value: &Value,
        file: &str,
        prefix: &str,
        locations: &SourceMap,
    ) -> Result<Self, ScenarioErrors> {
        let mut r = Reader {
            file,
            prefix,
            locations,
            errors: Vec::new(),
        };
        let mut env = Environment {
            file: file.to_string(),
            prefix: prefix.to_string(),
            locations: locations.clone(),
            ..Environment::default()
        };
        let Some(m) = r.object(
            value,
            "",
            &[
                "Region",
                "AccountId",
                "Vpcs",
                "HostedZones",
                "Certificates",
                "SsmParameters",
                "SecurityGroups",
                "PrefixLists",
                "RouteTables",
                "InternetGateways",
                "S3Objects",
                "ServerlessApplications",
                "PublicEndpoints",
                "Bindings",
                "Exports",
                "KeyPairs",
                "Images",
                "Instances",
                "Volumes",
                "Description",
            ],
        ) else {
            return Err(ScenarioErrors(r.errors));
        };
        let (public_endpoints, bad) = super::public_endpoints::read(m.get("PublicEndpoints"));
        env.public_endpoints = public_endpoints;
        bad.into_iter()
            .for_each(|(path, why)| r.invalid(&path, why));
        env.region = r.string(m, "Region", "", false);
        if let Some(region) = &env.region
            && !is_region_name(region)
        {
            r.invalid(
                "Region",
                format!("{region:?} is not a Region name (e.g. ap-northeast-1)"),
            );
        }
        env.account_id = r.string(m, "AccountId", "", false);
        if let Some(a) = &env.account_id
            && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            r.invalid(
                "AccountId",
                format!("{a:?} is not an account id (12 digits)"),
            );
        }
        let mut ids = BTreeSet::new();
        let mut vm_items = r.objects(m, "Vpcs", "", &["VpcId", "CidrBlock", "Name", "Subnets"]);
        while let Some((path, vm)) = vm_items.next(&mut r) {
            let id = r.string(vm, "VpcId", &path, true);
            let block = r.string(vm, "CidrBlock", &path, true);
            let name = r.string(vm, "Name", &path, false);
            if let Some(id) = &id {
                if !id.starts_with("vpc-") || id.len() < 5 {
                    r.invalid(
                        &format!("{path}.VpcId"),
                        format!("{id:?} is not a VPC id (vpc-…)"),
                    );
                } else if !ids.insert(id.clone()) {
                    r.invalid(&format!("{path}.VpcId"), format!("{id} is declared twice"));
                }
            }
            let net = block
                .as_deref()
                .and_then(|b| cidr(&mut r, b, &format!("{path}.CidrBlock")));
            if let Some(n) = net
                && !(16..=28).contains(&n.prefix_len())
            {
                r.invalid(
                    &format!("{path}.CidrBlock"),
                    format!("The CIDR '{n}' is invalid: VPC blocks are /16 to /28"),
                );
            }
            let mut subnets: Vec<Subnet> = Vec::new();
            let mut sm_items = r.objects(
                vm,
                "Subnets",
                &path,
                &["SubnetId", "CidrBlock", "AvailabilityZone", "Name"],
            );
            while let Some((spath, sm)) = sm_items.next(&mut r) {
                let sid = r.string(sm, "SubnetId", &spath, true);
                let sblock = r.string(sm, "CidrBlock", &spath, true);
                let az = r.string(sm, "AvailabilityZone", &spath, true);
                r.string(sm, "Name", &spath, false);
                if let Some(sid) = &sid {
                    if !sid.starts_with("subnet-") || sid.len() < 8 {
                        r.invalid(
                            &format!("{spath}.SubnetId"),
                            format!("{sid:?} is not a subnet id (subnet-…)"),
                        );
                    } else if !ids.insert(sid.clone()) {
                        r.invalid(
                            &format!("{spath}.SubnetId"),
                            format!("{sid} is declared twice"),
                        );
                    }
                }
                if let (Some(az), Some(region)) = (&az, &env.region)
                    && (!az.starts_with(region.as_str()) || az.len() != region.len() + 1)
                {
                    r.invalid(
                        &format!("{spath}.AvailabilityZone"),
                        format!("{az:?} is not an Availability Zone of {region} (e.g. {region}a)"),
                    );
                }
                let snet = sblock
                    .as_deref()
                    .and_then(|b| cidr(&mut r, b, &format!("{spath}.CidrBlock")));
                let (Some(sid), Some(snet), Some(az), Some(vnet)) = (sid, snet, az, net) else {
                    continue;
                };
                if !vnet.contains(&snet) {
                    r.invalid(
                        &format!("{spath}.CidrBlock"),
                        format!("The CIDR '{snet}' is invalid (it is outside the VPC's {vnet})."),
                    );
                    continue;
                }
                if let Some(other) = subnets
                    .iter()
                    .find(|o| o.cidr.contains(&snet.network()) || snet.contains(&o.cidr.network()))
                {
                    r.invalid(
                        &format!("{spath}.CidrBlock"),
                        format!(
                            "The CIDR '{snet}' conflicts with another subnet ({} {}).",
                            other.id, other.cidr
                        ),
                    );
                    continue;
                }
                subnets.push(Subnet {
                    id: sid,
                    vpc_id: id.clone().unwrap_or_default(),
                    cidr: snet,
                    availability_zone: az,
                });
            }
            if let (Some(id), Some(net)) = (id, net) {
                env.vpcs.push(Vpc {
                    logical_id: name.unwrap_or_else(|| id.clone()),
                    id,
                    cidr: net,
                    subnets,
                });
            }
        }
        let mut zm_items = r.objects(m, "HostedZones", "", &["Name", "Id", "VpcIds", "Records"]);
        while let Some((path, zm)) = zm_items.next(&mut r) {
            let Some(name) = r.string(zm, "Name", &path, true) else {
                continue;
            };
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let id = r.string(zm, "Id", &path, false).unwrap_or_else(|| {
                let ctx = IdContext {
                    region: String::new(),
                    account: String::new(),
                    stack: "environment".into(),
                };
                format!("Z{}", ctx.upper(&name, "zone", 20))
            });
            let mut vpc_ids = Vec::new();
            for (j, v) in r.list(zm, "VpcIds", &path).iter().enumerate() {
                let vpath = format!("{path}.VpcIds[{j}]");
                match v.as_str() {
                    Some(vid) if env.vpcs.iter().any(|x| x.id == vid) => {
                        vpc_ids.push(vid.to_string())
                    }
                    Some(vid) => r.invalid(
                        &vpath,
                        format!("VPC {vid} is not among the environment's Vpcs"),
                    ),
                    None => r.wrong_type(&vpath, "a VPC id", v),
                }
            }
            let mut records = Vec::new();
            let mut rm_items = r.objects(
                zm,
                "Records",
                &path,
                &["Name", "Type", "TTL", "Value", "Values", "AliasTarget"],
            );
            while let Some((rpath, rm)) = rm_items.next(&mut r) {
                let rname = r.string(rm, "Name", &rpath, true);
                let rtype = r.string(rm, "Type", &rpath, true);
                let ttl = match rm.get("TTL") {
                    None => Some(300),
                    Some(v) => match v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    {
                        Some(n) if n <= u32::MAX as u64 => Some(n as u32),
                        _ => {
                            r.invalid(
                                &format!("{rpath}.TTL"),
                                format!("{v} is not a TTL in seconds"),
                            );
                            None
                        }
                    },
                };
                let mut values = Vec::new();
                if let Some(v) = rm.get("Value") {
                    values.extend(r.env_value(v, &format!("{rpath}.Value")));
                }
                for (k, v) in r.list(rm, "Values", &rpath).iter().enumerate() {
                    values.extend(r.env_value(v, &format!("{rpath}.Values[{k}]")));
                }
                let alias = rm
                    .get("AliasTarget")
                    .and_then(|v| r.env_value(v, &format!("{rpath}.AliasTarget")));
                let given = [
                    rm.contains_key("Value"),
                    rm.contains_key("Values"),
                    rm.contains_key("AliasTarget"),
                ]
                .iter()
                .filter(|b| **b)
                .count();
                if given != 1 {
                    r.invalid(
                        &rpath,
                        "give exactly one of Value, Values, AliasTarget".into(),
                    );
                    continue;
                }
                let (Some(rname), Some(rtype), Some(ttl)) = (rname, rtype, ttl) else {
                    continue;
                };
                let rname = rname.trim_end_matches('.').to_ascii_lowercase();
                if rname != name && !rname.ends_with(&format!(".{name}")) {
                    r.invalid(
                        &format!("{rpath}.Name"),
                        format!("RRSet with DNS name {rname}. is not permitted in zone {name}."),
                    );
                    continue;
                }
                if !["A", "AAAA", "CNAME", "TXT"].contains(&rtype.as_str()) {
                    r.invalid(
                        &format!("{rpath}.Type"),
                        format!("record type {rtype} is not emulated (A, AAAA, CNAME, TXT are)"),
                    );
                    continue;
                }
                if rtype == "CNAME" && values.len() > 1 {
                    r.invalid(
                        &format!("{rpath}.Values"),
                        "a CNAME record has exactly one value".into(),
                    );
                    continue;
                }
                records.push(RecordSpec {
                    path: r.full(&rpath),
                    name: rname,
                    record_type: rtype,
                    ttl,
                    values,
                    alias,
                });
            }
            env.hosted_zones.push(ZoneSpec {
                zone: HostedZone {
                    logical_id: name.clone(),
                    id,
                    name,
                    vpc_ids,
                    records: Vec::new(),
                },
                records,
            });
        }
        let mut cm_items = r.objects(
            m,
            "Certificates",
            "",
            &["Arn", "DomainName", "SubjectAlternativeNames", "Issuer"],
        );
        while let Some((path, cm)) = cm_items.next(&mut r) {
            let arn = r.string(cm, "Arn", &path, true);
            let domain = r.string(cm, "DomainName", &path, true);
            let mut names: Vec<String> = domain.into_iter().collect();
            for (j, v) in r
                .list(cm, "SubjectAlternativeNames", &path)
                .iter()
                .enumerate()
            {
                match v.as_str() {
                    Some(s) => names.push(s.to_string()),
                    None => r.wrong_type(
                        &format!("{path}.SubjectAlternativeNames[{j}]"),
                        "a domain name",
                        v,
                    ),
                }
            }
            let issuer = match r.string(cm, "Issuer", &path, false).as_deref() {
                None | Some("PUBLIC_CA") => Some(Issuer::PublicCa),
                Some("SELF_SIGNED") => Some(Issuer::SelfSigned),
                Some(other) => {
                    r.invalid(
                        &format!("{path}.Issuer"),
                        format!("{other:?} is not one of PUBLIC_CA, SELF_SIGNED"),
                    );
                    None
                }
            };
            if let Some(arn) = &arn {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                let shaped = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "acm"
                    && parts[5].starts_with("certificate/");
                if !shaped {
                    r.invalid(
                        &format!("{path}.Arn"),
                        format!("{arn:?} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"),
                    );
                } else if let Some(region) = &env.region
                    && parts[3] != region
                {
                    r.invalid(
                        &format!("{path}.Arn"),
                        format!(
                            "the certificate is in {} but the environment's Region is {region}",
                            parts[3]
                        ),
                    );
                }
            }
            if let (Some(arn), false, Some(issuer)) = (arn, names.is_empty(), issuer) {
                env.certificates.push(Certificate { arn, names, issuer });
            }
        }
        for (k, v) in r.entries(m, "Exports", "an object of export name -> value") {
            match v {
                Value::String(s) => {
                    env.exports.insert(k.clone(), s.clone());
                }
                other => r.wrong_type(
                    &format!("Exports.{k}"),
                    "a string (exports are strings)",
                    other,
                ),
            }
        }
        for (k, v) in r.entries(m, "SsmParameters", "an object of parameter name -> value") {
            match v {
                Value::String(s) => {
                    env.ssm_parameters.insert(k.clone(), s.clone());
                }
                Value::Array(items) if items.iter().all(Value::is_string) => {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    env.ssm_parameters.insert(k.clone(), joined.join(","));
                }
                other => r.wrong_type(
                    &format!("SsmParameters.{k}"),
                    "a string (or a list of strings)",
                    other,
                ),
            }
        }
        // Bindings: {LogicalId (or Stack.LogicalId): "http://127.0.0.1:PORT"}.
        for (k, v) in r.entries(m, "Bindings", "an object of logical id -> URL") {
            let path = format!("Bindings.{k}");
            let Some(url) = v.as_str() else {
                r.wrong_type(&path, "a URL string (http://127.0.0.1:PORT)", v);
                continue;
            };
            match super::bindings::parse_bind_arg(&format!("{k}={url}")) {
                Ok(mut b) => {
                    b.origin = format!("{file}: {prefix}{path}");
                    env.bindings.push(b);
                }
                Err(e) => r.invalid(&path, e),
            }
        }
        // Managed prefix lists (EC2 DescribeManagedPrefixLists / GetManagedPrefixListEntries:
        // PrefixListId, PrefixListName, Entries[].Cidr).
        let mut pm_items = r.objects(
            m,
            "PrefixLists",
            "",
            &["PrefixListId", "PrefixListName", "Entries"],
        );
        while let Some((path, pm)) = pm_items.next(&mut r) {
            let id = r.string(pm, "PrefixListId", &path, true);
            r.string(pm, "PrefixListName", &path, false);
            let mut cidrs = Vec::new();
            let mut em_items = r.objects(pm, "Entries", &path, &["Cidr", "Description"]);
            while let Some((epath, em)) = em_items.next(&mut r) {
                if let Some(c) = r.string(em, "Cidr", &epath, true) {
                    match c.parse::<ipnet::IpNet>() {
                        Ok(n) => cidrs.push(n.trunc()),
                        Err(_) => r.invalid(
                            &format!("{epath}.Cidr"),
                            format!("CIDR block {c} is malformed"),
                        ),
                    }
                }
            }
            if let Some(id) = id {
                if !id.starts_with("pl-") {
                    r.invalid(
                        &format!("{path}.PrefixListId"),
                        format!("{id:?} is not a prefix list id (pl-…)"),
                    );
                } else {
                    env.prefix_lists.insert(id, cidrs);
                }
            }
        }
        // Existing security groups, their rules in CloudFormation's shape
        // (AWS::EC2::SecurityGroup Ingress / Egress).
        let mut gm_items = r.objects(
            m,
            "SecurityGroups",
            "",
            &[
                "GroupId",
                "GroupName",
                "Description",
                "VpcId",
                "SecurityGroupIngress",
                "SecurityGroupEgress",
            ],
        );
        while let Some((path, gm)) = gm_items.next(&mut r) {
            let id = r.string(gm, "GroupId", &path, true);
            let vpc_id = r.string(gm, "VpcId", &path, true);
            if let Some(name) = r.string(gm, "GroupName", &path, false) {
                env.existing
                    .entry("AWS::EC2::SecurityGroup::GroupName")
                    .or_default()
                    .insert(name.clone());
                if let Some(id) = &id {
                    env.group_names.insert(name, id.clone());
                }
            }
            if let Some(vpc) = &vpc_id
                && !env.vpcs.iter().any(|x| &x.id == vpc)
            {
                r.invalid(
                    &format!("{path}.VpcId"),
                    format!("{vpc} is not one of the environment's Vpcs"),
                );
            }
            let rules = |key: &str, ingress: bool, r: &mut Reader<'_>| {
                let (rules, errs) = resources::rules_of(gm, key, ingress);
                for (p, kind) in errs {
                    r.fail(&format!("{path}.{}", p.trim_matches('.')), kind);
                }
                rules
            };
            let ingress = rules("SecurityGroupIngress", true, &mut r);
            let mut egress = rules("SecurityGroupEgress", false, &mut r);
            if !gm.contains_key("SecurityGroupEgress") {
                egress.push(crate::vpc::sg::Rule::allow_all_ipv4());
            }
            if let (Some(id), Some(vpc_id)) = (id, vpc_id) {
                if !id.starts_with("sg-") {
                    r.invalid(
                        &format!("{path}.GroupId"),
                        format!("{id:?} is not a security group id (sg-…)"),
                    );
                    continue;
                }
                env.security_groups.push(SecurityGroup {
                    logical_id: id.clone(),
                    id,
                    vpc_id,
                    ingress,
                    egress,
                });
            }
        }
        read_route_tables(&mut r, m, &mut env);
        for (k, v) in r.entries(m, "S3Objects", "an object of s3://bucket/key -> local path") {
            let at = format!("S3Objects.{k}");
            let Some(rel) = v.as_str() else {
                r.wrong_type(&at, "a path", v);
                continue;
            };
            let Some(uri) = super::transform::s3_uri(k) else {
                r.invalid(
                    &at,
                    format!("{k:?} is not an S3 location (s3://bucket/key)"),
                );
                continue;
            };
            let path = Path::new(file).parent().unwrap_or(Path::new("")).join(rel);
            if !super::is_file(&path) {
                r.invalid(&at, format!("{} is not a file", path.display()));
                continue;
            }
            env.s3_objects.insert(uri, path);
        }
        for (k, v) in r.entries(
            m,
            "ServerlessApplications",
            "an object of application ARN -> local template",
        ) {
            let at = format!("ServerlessApplications.{k}");
            let Some(rel) = v.as_str() else {
                r.wrong_type(&at, "a path", v);
                continue;
            };
            if sar_template_url(k).is_none() {
                r.invalid(
                    &at,
                    format!(
                        "{k:?} is not an application ARN (arn:aws:serverlessrepo:<region>:<account>:applications/<name>)"
                    ),
                );
                continue;
            }
            let path = Path::new(file).parent().unwrap_or(Path::new("")).join(rel);
            if !super::is_file(&path) {
                r.invalid(&at, format!("{} is not a file", path.display()));
                continue;
            }
            env.serverless_applications.insert(k.clone(), path);
        }
        let account = env.account();
        for (group, reason) in
            resources::resolve_group_names(&mut env.security_groups, &env.group_names, &account)
        {
            r.invalid(
                &format!("SecurityGroups[GroupId={group}].SecurityGroupIngress"),
                reason,
            );
        }
        for (key, ty, prefix) in EXISTING {
            for (i, v) in r.list(m, key, "").iter().enumerate() {
                let path = format!("{key}[{i}]");
                match v.as_str() {
                    Some(s) if s.starts_with(prefix) && s.len() > prefix.len() => {
                        env.existing.entry(ty).or_default().insert(s.to_string());
                    }
                    Some(s) => r.invalid(
                        &path,
                        format!("{s:?} is not {}", EXISTING_WHAT[ty_index(ty)]),
                    ),
                    None => r.wrong_type(&path, "a string", v),
                }
            }
        }
        if r.errors.is_empty() {
            Ok(env)
        } else {
            Err(ScenarioErrors(r.errors))
        }
    }

    /// Fills the CIDRs of rules naming one of the environment's prefix lists.
    pub fn fill_prefix_lists(&self, groups: &mut [SecurityGroup]) {
        for g in groups {
            for rule in g.ingress.iter_mut().chain(g.egress.iter_mut()) {
                if let Peer::PrefixList { id, cidrs } = &mut rule.peer
                    && cidrs.is_empty()
                    && let Some(known) = self.prefix_lists.get(id)
                {
                    cidrs.clone_from(known);
                }
            }
        }
    }

    /// The Region (default `us-east-1`).
    pub fn region(&self) -> String {
        self.region.clone().unwrap_or_else(|| "us-east-1".into())
    }

    /// The account (default `123456789012`).
    pub fn account(&self) -> String {
        self.account_id
            .clone()
            .unwrap_or_else(|| "123456789012".into())
    }
}

/// What one loaded stack gave.
#[derive(Clone, Debug, Default)]
pub struct StackSummary {
    /// The stack name.
    pub name: String,
    /// Its template file.
    pub file: String,
    /// Parameter values after defaults and overrides.
    pub parameters: Map<String, Value>,
    /// Resources, in creation order: (logical id, type).
    pub resources: Vec<(String, String)>,
    /// The resources accepted but not emulated.
    pub not_emulated: Vec<NotEmulated>,
    /// Outputs by name.
    pub outputs: Map<String, Value>,
    /// Exports: name -> value.
    pub exports: BTreeMap<String, Value>,
    /// Output name -> its export's name.
    pub export_names: BTreeMap<String, String>,
    /// The exports the stack imports (`Fn::ImportValue`).
    pub imports: BTreeSet<String>,
    /// The stacks whose outputs it reads (`Fn::GetStackOutput`).
    pub reads_outputs_of: BTreeSet<String>,
    /// Its resources as resolved, in creation order.
    pub resolved: Vec<ResolvedResource>,
}

/// The result of loading stacks: one model, and what each stack gave.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Every stack's resources (and the environment's), in one model. Its `outputs` hold each
    /// stack's outputs as `<stack>.<output>`; its `stack` is the first stack's name.
    pub model: Model,
    /// The stacks, in deployment order.
    pub stacks: Vec<StackSummary>,
    /// What a stack loaded after these would see.
    pub links: StackLinks,
    /// The resolved resources of every stack, in order.
    pub resolved: Vec<ResolvedResource>,
}

impl Loaded {
    /// The resources accepted but not emulated, one line per type:
    /// `AWS::KMS::Key: stack/LogicalId, …`.
    pub fn not_emulated_report(&self) -> Vec<String> {
        let mut by_type: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for s in &self.stacks {
            for n in &s.not_emulated {
                by_type
                    .entry(n.resource_type.as_str())
                    .or_default()
                    .push(format!("{}/{}", s.name, n.logical_id));
            }
        }
        by_type
            .into_iter()
            .map(|(ty, ids)| format!("{ty}: {}", ids.join(", ")))
            .collect()
    }

    /// A short human summary: stacks, resources, outputs, what is not emulated.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.stacks {
            out.push_str(&format!(
                "stack {} ({}): {} resources, {} not emulated\n",
                s.name,
                s.file,
                s.resources.len(),
                s.not_emulated.len()
            ));
            for (k, v) in &s.outputs {
                let text = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                out.push_str(&format!("  output {k} = {text}\n"));
            }
        }
        let report = self.not_emulated_report();
        if !report.is_empty() {
            out.push_str("not emulated (accepted; Ref and GetAtt give AWS-shaped placeholders):\n");
            for line in report {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }
}

/// Gives unlocated errors of `file` their `file:line:column` from its source map.
fn locate(errors: Vec<ScenarioError>, file: &str, map: &SourceMap) -> Vec<ScenarioError> {
    errors
        .into_iter()
        .map(|mut e| {
            if e.file == file {
                let full = match (&e.logical_id, e.path.is_empty()) {
                    (Some(id), true) => format!("Resources.{id}"),
                    (Some(id), false) => format!("Resources.{id}.{}", e.path),
                    (None, _) => e.path.clone(),
                };
                e.file = yaml::at(file, map.locate(&full));
            }
            e
        })
        .collect()
}

/// Gives the scenario's own errors their positions.
pub(crate) fn locate_in(
    errors: Vec<ScenarioError>,
    file: &str,
    map: &SourceMap,
) -> Vec<ScenarioError> {
    locate(errors, file, map)
}

fn plain_error(file: &str, path: &str, reason: String) -> ScenarioError {
    ScenarioError {
        file: file.to_string(),
        logical_id: None,
        path: path.to_string(),
        kind: ErrorKind::Invalid { reason },
    }
}

/// A template read and parsed.
struct Parsed {
    spec: StackSpec,
    file: String,
    template: std::sync::Arc<yaml::Template>,
}

/// Deploys `stacks` in order into the environment; `overrides` are `--parameter` values.
pub fn load(
    stacks: &[StackSpec],
    env: &Environment,
    overrides: &[ParameterOverride],
) -> Result<Loaded, ScenarioErrors> {
    load_with(stacks, env, overrides, &StackLinks::default(), Vec::new())
}

/// [`load`], with links from stacks loaded before (e.g. by the caller) and extra certificates.
pub fn load_with(
    stacks: &[StackSpec],
    env: &Environment,
    overrides: &[ParameterOverride],
    links: &StackLinks,
    extra_certificates: Vec<Certificate>,
) -> Result<Loaded, ScenarioErrors> {
    let mut start = environment_model(env);
    start.stack = stacks.first().map(|s| s.name.clone()).unwrap_or_default();
    start.certificates.extend(extra_certificates);
    load_from(start, stacks, env, overrides, links, Records::Strict)
}

/// The model of an environment alone: its VPCs, subnets, zones (without their records) and
/// certificates, in its account and Region.
pub fn environment_model(env: &Environment) -> Model {
    Model {
        region: env.region(),
        account: env.account(),
        vpcs: env.vpcs.clone(),
        hosted_zones: env.hosted_zones.iter().map(|z| z.zone.clone()).collect(),
        certificates: env.certificates.clone(),
        security_groups: env.security_groups.clone(),
        ec2: crate::ec2::Ec2Model {
            group_names: env.group_names.clone(),
            ..env.ec2.clone()
        },
        events: crate::events::EventsModel {
            public_endpoints: env.public_endpoints.clone(),
            ..Default::default()
        },
        ..Model::default()
    }
}

/// Deploys `stacks` in order onto `base` (an [`environment_model`], or a scenario's model) the
/// way the CloudFormation API does: the same checks and messages as [`load`], and the
/// environment's records that name a stack not deployed yet are left out until it is.
pub fn deploy(
    base: &Model,
    env: &Environment,
    stacks: &[StackSpec],
) -> Result<Loaded, ScenarioErrors> {
    let mut start = base.clone();
    if start.stack.is_empty() {
        start.stack = stacks.first().map(|s| s.name.clone()).unwrap_or_default();
    }
    load_from(
        start,
        stacks,
        env,
        &[],
        &StackLinks::default(),
        Records::Pending,
    )
}

/// What to do with an environment record naming a stack that is not loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Records {
    /// An error (`check`, `serve --stack`: every stack is given at once).
    Strict,
    /// Leave the record out until the stack is deployed (the CloudFormation API).
    Pending,
}

fn load_from(
    start: Model,
    stacks: &[StackSpec],
    env: &Environment,
    overrides: &[ParameterOverride],
    links: &StackLinks,
    records: Records,
) -> Result<Loaded, ScenarioErrors> {
    let region = start.region.clone();
    let account = start.account.clone();
    let mut errors = Vec::new();
    let mut names = BTreeSet::new();
    for s in stacks {
        if !is_stack_name(&s.name) {
            // The CreateStack constraint
            // (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
            errors.push(plain_error(
                &s.template.display().to_string(),
                "",
                format!(
                    "1 validation error detected: Value '{}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*",
                    s.name
                ),
            ));
        } else if !names.insert(s.name.clone()) || links.stacks.contains(&s.name) {
            errors.push(plain_error(
                &s.template.display().to_string(),
                "",
                format!("Stack [{}] already exists", s.name),
            ));
        }
    }
    for o in overrides {
        if !names.contains(&o.stack) {
            errors.push(plain_error(
                "--parameter",
                "",
                format!(
                    "{}.{}={}: there is no stack {} (stacks: {})",
                    o.stack,
                    o.key,
                    o.value,
                    o.stack,
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    // Read every template first: all syntax errors at once.
    let mut parsed = Vec::new();
    for s in stacks {
        let file = s.template.display().to_string();
        let read = match &s.body {
            Some(b) => Ok(std::borrow::Cow::Borrowed(b.as_str())),
            None => super::read_source(&s.template).map(std::borrow::Cow::Owned),
        };
        let text = match read {
            Ok(t) => t,
            Err(e) => {
                errors.push(plain_error(&file, "", format!("the template: {e}")));
                continue;
            }
        };
        match yaml::parse_template_shared(&text, &file) {
            Ok(template) => parsed.push(Parsed {
                spec: s.clone(),
                file,
                template,
            }),
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors));
    }

    let mut model = start;
    let mut links = links.clone();
    for subnet in env.vpcs.iter().flat_map(|v| &v.subnets) {
        links.subnets.insert(subnet.id.clone(), subnet.clone());
    }
    for (k, v) in &env.s3_objects {
        links
            .s3_objects
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    for (arn, v) in &env.serverless_applications {
        if let Some(key) = sar_template_url(arn).and_then(|u| super::transform::s3_uri(&u)) {
            links.s3_objects.entry(key).or_insert_with(|| v.clone());
        }
    }
    let mut export_owner: BTreeMap<String, String> = BTreeMap::new();
    for (export, v) in &env.exports {
        if !links.exports.contains_key(export) {
            links
                .exports
                .insert(export.clone(), Value::String(v.clone()));
            export_owner.insert(export.clone(), "(the environment's Exports)".into());
        }
    }
    let mut summaries = Vec::new();
    let mut earlier: Vec<ResolvedResource> = Vec::new();
    let mut outputs = std::mem::take(&mut model.outputs);
    for (i, p) in parsed.iter().enumerate() {
        let name = &p.spec.name;
        links.later = parsed[i + 1..]
            .iter()
            .map(|q| q.spec.name.clone())
            .collect();
        let ctx = IdContext {
            region: region.clone(),
            account: account.clone(),
            stack: name.clone(),
        };
        let mut values = p.spec.parameters.clone();
        for o in overrides.iter().filter(|o| &o.stack == name) {
            values.insert(o.key.clone(), o.value.clone());
        }
        let mut stack_errors = Vec::new();
        ssm_parameters(
            &p.template.doc,
            env,
            &mut values,
            &p.file,
            &mut stack_errors,
        );
        let resolved = match template::resolve(&p.file, &p.template.doc, &ctx, &values, &links) {
            Ok(r) => r,
            Err(e) => {
                stack_errors.extend(e);
                return Err(ScenarioErrors(locate(
                    stack_errors,
                    &p.file,
                    &p.template.locations,
                )));
            }
        };
        aws_parameter_types(
            &p.template.doc,
            &resolved.parameters,
            &model,
            env,
            &p.file,
            &mut stack_errors,
        );
        let before = model.not_emulated.len();
        let (built, resource_errors) = resources::build_onto(model, &earlier, &resolved.resources);
        model = built;
        stack_errors.extend(
            resource_errors
                .into_iter()
                .map(|(id, (path, kind))| ScenarioError {
                    file: p.file.clone(),
                    logical_id: Some(id),
                    path,
                    kind,
                }),
        );
        for (export, v) in &resolved.exports {
            if let Some(owner) = export_owner.get(export) {
                stack_errors.push(plain_error(
                    &p.file,
                    "Outputs",
                    format!("Export with name {export} is already exported by stack {owner}"),
                ));
            } else {
                export_owner.insert(export.clone(), name.clone());
                links.exports.insert(export.clone(), v.clone());
            }
        }
        if !stack_errors.is_empty() {
            return Err(ScenarioErrors(locate(
                stack_errors,
                &p.file,
                &p.template.locations,
            )));
        }
        for (k, v) in &resolved.outputs {
            links.outputs.insert((name.clone(), k.clone()), v.clone());
            outputs.insert(format!("{name}.{k}"), v.clone());
        }
        links.stacks.insert(name.clone());
        summaries.push(StackSummary {
            name: name.clone(),
            file: p.file.clone(),
            parameters: resolved.parameters.clone(),
            resources: resolved
                .resources
                .iter()
                .map(|r| (r.logical_id.clone(), r.ty.clone()))
                .collect(),
            not_emulated: model.not_emulated[before..].to_vec(),
            outputs: resolved.outputs.clone(),
            exports: resolved.exports.clone(),
            export_names: resolved.export_names.clone(),
            imports: resolved.imports.clone(),
            reads_outputs_of: resolved.reads_outputs_of.clone(),
            resolved: resolved.resources.clone(),
        });
        earlier.extend(resolved.resources);
    }
    links.later.clear();
    model.outputs = outputs;
    let binding_errors = super::bindings::apply(
        &mut model,
        &summaries,
        &env.bindings,
        records == Records::Strict,
    );
    if !binding_errors.is_empty() {
        return Err(ScenarioErrors(binding_errors));
    }
    env.fill_prefix_lists(&mut model.security_groups);
    add_records(env, &links, &mut model, records)?;
    let loaded = Loaded {
        model,
        stacks: summaries,
        links,
        resolved: earlier,
    };
    let report = loaded.not_emulated_report();
    if !report.is_empty() {
        tracing::info!(
            "not emulated (accepted; Ref and GetAtt give AWS-shaped placeholders): {}",
            report.join("; ")
        );
    }
    Ok(loaded)
}

/// A value for a public SSM parameter the environment does not give: an AMI id for
/// `AWS::EC2::Image::Id` (what the `/aws/service/ami-*` parameters hold), else the path's last
/// segment.
fn public_ssm_placeholder(ty: &str, key: &str) -> String {
    use sha2::{Digest, Sha256};
    if ty.contains("AWS::EC2::Image::Id") {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("ami-{}", &hex[..17])
    } else {
        key.rsplit('/').next().unwrap_or(key).to_string()
    }
}

/// The template's parameter declarations that have a string `Type`: (name, declaration, type).
fn typed_parameters(doc: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value, &str)> {
    doc.get("Parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, decl)| Some((name, decl, decl.get("Type")?.as_str()?)))
}

/// `AWS::SSM::Parameter::Value<…>` parameters take the value of the named SSM parameter
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html#aws-ssm-parameter-types>).
fn ssm_parameters(
    doc: &Map<String, Value>,
    env: &Environment,
    values: &mut BTreeMap<String, String>,
    file: &str,
    errors: &mut Vec<ScenarioError>,
) {
    for (name, decl, ty) in typed_parameters(doc) {
        if !ty.starts_with("AWS::SSM::Parameter::Value<") {
            continue;
        }
        let key = values.get(name).cloned().or_else(|| {
            decl.get("Default")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let Some(key) = key else { continue };
        match env.ssm_parameters.get(&key) {
            Some(v) => {
                values.insert(name.clone(), v.clone());
            }
            // AWS's public parameters (`/aws/service/…`: latest AMIs, Regions, services) exist
            // in every account
            // (<https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-public-parameters.html>):
            // an AWS-shaped value of the parameter's type unless the environment gives one.
            None if key.starts_with("/aws/service/") => {
                values.insert(name.clone(), public_ssm_placeholder(ty, &key));
            }
            None => errors.push(plain_error(
                file,
                &format!("Parameters.{name}"),
                format!(
                    "Unable to fetch parameters [{key}] from parameter store for this account. (add it to the environment's SsmParameters)"
                ),
            )),
        }
    }
}

/// AWS-specific parameter types name things that must exist in the account
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html>):
/// the environment's and earlier stacks' VPCs, subnets, security groups and zones.
fn aws_parameter_types(
    doc: &Map<String, Value>,
    values: &Map<String, Value>,
    model: &Model,
    env: &Environment,
    file: &str,
    errors: &mut Vec<ScenarioError>,
) {
    for (name, _, ty) in typed_parameters(doc) {
        let base = ty
            .strip_prefix("List<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(ty);
        let exists: Box<dyn Fn(&str) -> bool> = match base {
            "AWS::EC2::VPC::Id" => Box::new(|v| model.vpcs.iter().any(|x| x.id == v)),
            "AWS::EC2::Subnet::Id" => Box::new(|v| {
                model
                    .vpcs
                    .iter()
                    .flat_map(|x| &x.subnets)
                    .any(|s| s.id == v)
            }),
            "AWS::EC2::SecurityGroup::Id" => {
                Box::new(|v| model.security_groups.iter().any(|g| g.id == v))
            }
            "AWS::Route53::HostedZone::Id" => Box::new(|v| {
                model
                    .hosted_zones
                    .iter()
                    .any(|z| z.id == v || format!("/hostedzone/{}", z.id) == v)
            }),
            "AWS::EC2::AvailabilityZone::Name" => Box::new(|v| {
                template::availability_zones(&model.region)
                    .iter()
                    .any(|a| a == v)
                    || model
                        .vpcs
                        .iter()
                        .flat_map(|x| &x.subnets)
                        .any(|s| s.availability_zone == v)
            }),
            "AWS::EC2::Instance::Id" => Box::new(|v| {
                env.existing.get(base).is_some_and(|s| s.contains(v))
                    || model.ec2.instances.iter().any(|i| i.id == v)
            }),
            "AWS::EC2::KeyPair::KeyName"
            | "AWS::EC2::Image::Id"
            | "AWS::EC2::Volume::Id"
            | "AWS::EC2::SecurityGroup::GroupName" => {
                Box::new(|v| env.existing.get(base).is_some_and(|s| s.contains(v)))
            }
            _ => continue,
        };
        let given: Vec<String> = match values.get(name) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => continue,
        };
        for v in given.iter().filter(|v| !v.is_empty() && !exists(v)) {
            errors.push(plain_error(
                file,
                &format!("Parameters.{name}"),
                format!(
                    "Parameter validation failed: parameter value {v} for parameter name {name} does not exist (the environment declares what exists before the stacks)"
                ),
            ));
        }
    }
}

/// The environment's records, now that the stacks' outputs are known.
fn add_records(
    env: &Environment,
    links: &StackLinks,
    model: &mut Model,
    mode: Records,
) -> Result<(), ScenarioErrors> {
    let mut errors = Vec::new();
    let located = |path: &str| {
        let p = path
            .strip_prefix(&format!("{}.", env.prefix))
            .unwrap_or(path);
        let full = if env.prefix.is_empty() {
            p.to_string()
        } else {
            format!("{}.{p}", env.prefix)
        };
        yaml::at(&env.file, env.locations.locate(&full))
    };
    for spec in &env.hosted_zones {
        let mut records = Vec::new();
        for rec in &spec.records {
            let pending = |v: &EnvValue| matches!(v, EnvValue::Output { stack, .. } if !links.stacks.contains(stack));
            if mode == Records::Pending
                && (rec.values.iter().any(pending) || rec.alias.as_ref().is_some_and(pending))
            {
                // Named stack not deployed yet: the record appears once it is.
                continue;
            }
            let mut resolve = |v: &EnvValue| -> Option<String> {
                match v {
                    EnvValue::Text(t) => Some(t.clone()),
                    EnvValue::Output { stack, output } => {
                        let value = links.outputs.get(&(stack.clone(), output.clone()));
                        match value.and_then(Value::as_str) {
                            Some(s) => Some(s.to_string()),
                            None => {
                                let reason = if value.is_some() {
                                    format!("output {output} of stack {stack} is not a string")
                                } else if links.stacks.contains(stack) {
                                    format!("stack {stack} has no output named {output}")
                                } else {
                                    format!(
                                        "Stack with id {stack} does not exist (the record names a stack that is not loaded)"
                                    )
                                };
                                errors.push(ScenarioError {
                                    file: located(&rec.path),
                                    logical_id: None,
                                    path: rec.path.clone(),
                                    kind: ErrorKind::Invalid { reason },
                                });
                                None
                            }
                        }
                    }
                }
            };
            let values: Vec<String> = rec.values.iter().filter_map(&mut resolve).collect();
            let alias = rec.alias.as_ref().and_then(&mut resolve).map(|a| {
                a.trim_end_matches('.')
                    .trim_start_matches("dualstack.")
                    .to_ascii_lowercase()
            });
            for v in &values {
                let ok = match rec.record_type.as_str() {
                    "A" => v.parse::<std::net::Ipv4Addr>().is_ok(),
                    "AAAA" => v.parse::<std::net::Ipv6Addr>().is_ok(),
                    _ => true,
                };
                if !ok {
                    errors.push(ScenarioError {
                        file: located(&rec.path),
                        logical_id: None,
                        path: rec.path.clone(),
                        kind: ErrorKind::Invalid {
                            reason: format!("Invalid Resource Record: FATAL problem: ARRDATAIllegalIPv4Address encountered at {v}"),
                        },
                    });
                }
            }
            records.push(Record {
                name: rec.name.clone(),
                record_type: rec.record_type.clone(),
                ttl: rec.ttl,
                values,
                alias,
            });
        }
        if let Some(zone) = model.hosted_zones.iter_mut().find(|z| z.id == spec.zone.id) {
            zone.records.extend(records);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ScenarioErrors(errors))
    }
}

/// Whether a scenario deploys stacks (`Vpcgate.Stacks` or `Vpcgate.Environment`).
pub(crate) fn uses_stacks(settings: &Settings) -> bool {
    !settings.stacks.is_empty() || settings.environment.is_some()
}

/// Builds a scenario that names stacks: the environment, the stacks in order, then the
/// scenario's own resources (if any) as one more stack named after the scenario.
pub(crate) fn build_scenario(
    scenario: &Scenario,
    links: &StackLinks,
    certificates: Vec<Certificate>,
) -> Result<(Model, template::Resolved), ScenarioErrors> {
    let file = &scenario.file;
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    let mut env = match &scenario.settings.environment {
        None => Environment::default(),
        Some(Value::String(p)) => Environment::load(&dir.join(p))?,
        Some(v @ Value::Object(_)) => {
            Environment::from_value(v, file, "Vpcgate.Environment", &scenario.locations)?
        }
        Some(other) => {
            return Err(ScenarioErrors(vec![ScenarioError {
                file: yaml::at(file, scenario.locations.locate("Vpcgate.Environment")),
                logical_id: None,
                path: "Vpcgate.Environment".into(),
                kind: ErrorKind::WrongType {
                    expected: "a file name or an environment object",
                    found: type_name(other),
                },
            }]));
        }
    };
    if scenario.settings.region.is_some() {
        env.region = scenario.settings.region.clone();
    }
    if scenario.settings.account_id.is_some() {
        env.account_id = scenario.settings.account_id.clone();
    }
    let specs: Vec<StackSpec> = scenario
        .settings
        .stacks
        .iter()
        .map(|s| StackSpec {
            name: s.name.clone(),
            template: dir.join(&s.template),
            parameters: s
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), super::template::parameter_text(v)))
                .collect(),
            body: None,
        })
        .collect();
    let loaded = load_with(&specs, &env, &[], links, certificates)?;
    let own_resources = scenario
        .template
        .get("Resources")
        .and_then(Value::as_object)
        .is_some_and(|r| !r.is_empty());
    if !own_resources {
        // The stacks' resources: what a case's `${LogicalId.Attribute}` names.
        let resolved = template::Resolved {
            resources: loaded.resolved,
            ..Default::default()
        };
        return Ok((loaded.model, resolved));
    }
    // The scenario's own resources: one more stack, after the others.
    let ctx = IdContext {
        region: env.region(),
        account: env.account(),
        stack: scenario.stack_name(),
    };
    let overrides: BTreeMap<String, String> = scenario
        .settings
        .parameters
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    let resolved = template::resolve(file, &scenario.template, &ctx, &overrides, &loaded.links)
        .map_err(|e| ScenarioErrors(locate(e, file, &scenario.locations)))?;
    let (mut model, errors) =
        resources::build_onto(loaded.model, &loaded.resolved, &resolved.resources);
    if !errors.is_empty() {
        let errors = errors
            .into_iter()
            .map(|(id, (path, kind))| ScenarioError {
                file: file.clone(),
                logical_id: Some(id),
                path,
                kind,
            })
            .collect();
        return Err(ScenarioErrors(locate(errors, file, &scenario.locations)));
    }
    for (k, v) in &resolved.outputs {
        model.outputs.insert(k.clone(), v.clone());
    }
    Ok((model, resolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part-by-part matchers against the expressions they replace (ASCII digits: a Region
    /// name has no other), on their edges and on random text.
    #[test]
    fn region_and_stack_names_match_their_expressions() {
        use proptest::prelude::*;
        let region = regex::Regex::new(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$").unwrap();
        let stack = regex::Regex::new(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$").unwrap();
        let agree = |text: &str| {
            assert_eq!(
                is_region_name(text),
                region.is_match(text),
                "region {text:?}"
            );
            assert_eq!(is_stack_name(text), stack.is_match(text), "stack {text:?}");
        };
        let long = format!("a{}", "-".repeat(127));
        for text in [
            "",
            "ap-northeast-1",
            "us-gov-west-1",
            "us-east-10",
            "u-east-1",
            "use-east-1",
            "us-east-",
            "us--1",
            "us-1",
            "us-East-1",
            "us-east-1a",
            "-us-east-1",
            "us-east-1-",
            "a",
            "1st",
            "a_b",
            "a-",
            "A-9",
            "é",
            &long,
            &format!("{long}-"),
        ] {
            agree(text);
        }
        proptest!(ProptestConfig::with_cases(5_000), |(text in "[-a-zA-Z0-9_]{0,12}")| {
            agree(&text);
        });
    }

    #[test]
    fn flags_parse() {
        let s = parse_stack_arg("infra=a/01.yaml").unwrap();
        assert_eq!(s.name, "infra");
        assert_eq!(s.template, PathBuf::from("a/01.yaml"));
        assert!(parse_stack_arg("infra").is_err());
        let p = parse_parameter_arg("infra.SubnetIds=subnet-a,subnet-b").unwrap();
        assert_eq!(
            (p.stack.as_str(), p.key.as_str(), p.value.as_str()),
            ("infra", "SubnetIds", "subnet-a,subnet-b")
        );
        assert!(parse_parameter_arg("infra=x").is_err());
    }

    #[test]
    fn environment_errors_are_precise() {
        let e = Environment::parse(
            "Region: ap-northeast-1\nVpcs:\n  - VpcId: vpc-1\n    CidrBlock: 10.0.0.0/16\n    Subnets:\n      - SubnetId: subnet-a1\n        CidrBlock: 10.1.0.0/24\n        AvailabilityZone: ap-northeast-1a\n      - SubnetId: subnet-b1\n        CidrBlock: 10.0.0.0/33\n        AvailabilityZone: us-east-1a\nCertificates:\n  - Arn: nope\n    DomainName: x.example.com\nBogus: 1\n",
            "env.yaml",
        )
        .unwrap_err();
        let text = e.to_string();
        for want in [
            "env.yaml:7:20: Vpcs[0].Subnets[0].CidrBlock: The CIDR '10.1.0.0/24' is invalid (it is outside the VPC's 10.0.0.0/16).",
            "Vpcs[0].Subnets[1].CidrBlock: \"10.0.0.0/33\" is not an IPv4 CIDR block",
            "Vpcs[0].Subnets[1].AvailabilityZone: \"us-east-1a\" is not an Availability Zone of ap-northeast-1",
            "Certificates[0].Arn: \"nope\" is not an ACM certificate ARN",
            "Bogus: unknown key Bogus",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
