//! CloudFormation template resolution: parameters, conditions, dependency order and the intrinsic
//! functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If`,
//! `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Fn::FindInMap`, `Fn::Base64`, `Fn::GetAZs`,
//! `Fn::ImportValue`, `Fn::GetStackOutput`, `Condition`), as the CloudFormation user guide's
//! "Intrinsic function reference" describes them
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html>).
//!
//! Resources are resolved in dependency order; each resource's physical id and attributes are made
//! from its resolved properties ([`super::ids::physical`]) before anything that refers to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use serde_json::{Map, Value, json};

use super::error::{ErrorKind, ScenarioError, type_name};
use super::ids::{IdContext, Physical, physical, placeholder_for};

/// One resolved resource.
#[derive(Clone, Debug)]
pub struct ResolvedResource {
    /// Logical id.
    pub logical_id: String,
    /// `Type`.
    pub ty: String,
    /// `Properties`, with every intrinsic function evaluated.
    pub properties: Map<String, Value>,
    /// `Ref` and attributes.
    pub physical: Physical,
    /// Whether vpcgate emulates this type.
    pub emulated: bool,
}

/// A resolved template.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Resources in dependency order (conditions that are false leave theirs out).
    pub resources: Vec<ResolvedResource>,
    /// `Outputs` values by name.
    pub outputs: Map<String, Value>,
    /// `Outputs` exports: export name -> value.
    pub exports: BTreeMap<String, Value>,
    /// Parameter values after defaults and overrides.
    pub parameters: Map<String, Value>,
    /// Output name -> its export's name.
    pub export_names: BTreeMap<String, String>,
    /// The exports this template reads with `Fn::ImportValue` (CloudFormation's ListImports).
    pub imports: BTreeSet<String>,
    /// The stacks whose outputs this template reads with `Fn::GetStackOutput`.
    pub reads_outputs_of: BTreeSet<String>,
    /// The template after its `Transform`s (none when it declares none).
    pub processed: Option<Map<String, Value>>,
}

/// What other stacks offer to this one (`Fn::ImportValue`, `Fn::GetStackOutput`).
#[derive(Clone, Debug, Default)]
pub struct StackLinks {
    /// Export name -> value.
    pub exports: BTreeMap<String, Value>,
    /// (stack name, output name) -> value.
    pub outputs: BTreeMap<(String, String), Value>,
    /// Stacks loaded before this one (their outputs are in `outputs`).
    pub stacks: BTreeSet<String>,
    /// Stacks that load after this one (named in messages: stacks load in the order given).
    pub later: BTreeSet<String>,
    /// The environment's `S3Objects` (S3 locations the template reads, as local files).
    pub s3_objects: super::transform::S3Objects,
    /// How deep in nested stacks this template is (0: a stack of its own).
    pub nesting: usize,
    /// The subnets the account already has (the environment's), by id: EC2 picks the addresses
    /// of interfaces and instances a template places in them.
    pub subnets: BTreeMap<String, crate::vpc::Subnet>,
}

/// A parameter value given as JSON (a nested stack's `Parameters`, a scenario's stack
/// parameters) as the text CloudFormation takes: a string as it is, a list joined with commas
/// (`List<…>`/`CommaDelimitedList`), anything else as its JSON text.
pub(crate) fn parameter_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// How deep nested stacks may go before vpcgate refuses (its bound: CloudFormation documents
/// none below its quota on resources).
pub const MAX_NESTING: usize = 8;

/// An `AWS::CloudFormation::Stack` whose `TemplateURL` the environment's `S3Objects` maps: the
/// nested template is loaded as CloudFormation creates it — a stack named
/// `<parent>-<LogicalId>-<12 characters>` with the resource's `Parameters` — and `Fn::GetAtt
/// Stack.Outputs.X` reads its outputs. `None` when the template is not mapped (the stack stays a
/// placeholder). The nested stack's resources come back with logical ids `<LogicalId>/<id>`.
fn nested_stack(
    ctx: &IdContext,
    logical: &str,
    props: &Map<String, Value>,
    links: &StackLinks,
) -> Option<Result<Resolved, Vec<ScenarioError>>> {
    let url = props.get("TemplateURL")?.as_str()?;
    let key = super::transform::s3_uri(url)?;
    let path = links.s3_objects.get(&key)?;
    let file = path.display().to_string();
    let fail = |reason: String| {
        Some(Err(vec![ScenarioError {
            file: file.clone(),
            logical_id: Some(logical.to_string()),
            path: "Properties.TemplateURL".into(),
            kind: ErrorKind::Invalid { reason },
        }]))
    };
    if links.nesting >= MAX_NESTING {
        return fail(format!(
            "nested stacks go deeper than {MAX_NESTING} levels (vpcgate's bound)"
        ));
    }
    let text = match super::read_source(path) {
        Ok(t) => t,
        Err(e) => return fail(format!("{url} ({file}): {e}")),
    };
    let doc = match super::yaml::parse(&text, &file) {
        Ok(d) => d,
        Err(e) => return Some(Err(e.0)),
    };
    let Value::Object(doc) = doc.value else {
        return fail(format!(
            "{url}: Template format error: not a JSON or YAML object"
        ));
    };
    let parameters: BTreeMap<String, String> = props
        .get("Parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), parameter_text(v)))
        .collect();
    let child = IdContext {
        region: ctx.region.clone(),
        account: ctx.account.clone(),
        stack: format!(
            "{}-{logical}-{}",
            ctx.stack,
            ctx.upper(logical, "nested-stack", 12)
        ),
    };
    let mut child_links = links.clone();
    child_links.nesting += 1;
    Some(
        resolve(&file, &doc, &child, &parameters, &child_links).map(|mut r| {
            for res in &mut r.resources {
                res.logical_id = format!("{logical}/{}", res.logical_id);
            }
            r
        }),
    )
}

type Located = (String, ErrorKind);

fn err(path: &str, kind: ErrorKind) -> Located {
    (path.to_string(), kind)
}

/// CloudFormation's message for a malformed `Fn::GetAtt`.
fn getatt_arity(path: &str) -> Located {
    err(
        path,
        ErrorKind::Invalid {
            reason: "Template error: every Fn::GetAtt object requires two non-empty parameters"
                .into(),
        },
    )
}

/// The argument list of the function `name` when its length is in `counts`; else the error
/// `expected` (the list's shape).
fn arg_list<'v>(
    arg: &'v Value,
    counts: std::ops::RangeInclusive<usize>,
    path: &str,
    name: &str,
    expected: &str,
) -> Result<&'v [Value], Located> {
    arg.as_array()
        .filter(|a| counts.contains(&a.len()))
        .map(Vec::as_slice)
        .ok_or_else(|| intrinsic(path, name, expected))
}

/// The delimiter of `Fn::Join` / `Fn::Split`: a literal string.
fn delimiter<'v>(v: &'v Value, path: &str, name: &str) -> Result<&'v str, Located> {
    v.as_str()
        .ok_or_else(|| intrinsic(path, name, "the delimiter must be a string"))
}

fn intrinsic(path: &str, function: &str, reason: impl Into<String>) -> Located {
    err(
        path,
        ErrorKind::Intrinsic {
            function: function.to_string(),
            reason: reason.into(),
        },
    )
}

struct Env<'a> {
    ctx: &'a IdContext,
    params: &'a Map<String, Value>,
    conditions: &'a HashMap<String, bool>,
    mappings: &'a Map<String, Value>,
    types: &'a HashMap<String, String>,
    done: &'a HashMap<String, Physical>,
    links: &'a StackLinks,
    used: &'a std::cell::RefCell<Used>,
}

/// What a template read from other stacks.
#[derive(Debug, Default)]
struct Used {
    imports: BTreeSet<String>,
    stacks: BTreeSet<String>,
}

impl Env<'_> {
    fn pseudo(&self, name: &str) -> Option<Value> {
        pseudo_parameter(self.ctx, name)
    }

    fn reference(&self, name: &str, path: &str) -> Result<Value, Located> {
        if let Some(v) = self.pseudo(name) {
            return Ok(v);
        }
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if let Some(p) = self.done.get(name) {
            return Ok(p.reference.clone());
        }
        Err(err(
            path,
            ErrorKind::UnknownReference {
                target: name.to_string(),
            },
        ))
    }

    fn get_att(&self, id: &str, attr: &str, path: &str) -> Result<Value, Located> {
        let Some(p) = self.done.get(id) else {
            // <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getatt.html>
            return Err(err(
                path,
                ErrorKind::Invalid {
                    reason: format!(
                        "Template error: instance of Fn::GetAtt references undefined resource {id}"
                    ),
                },
            ));
        };
        if let Some(v) = p.attributes.get(attr) {
            return Ok(v.clone());
        }
        let ty = self.types.get(id).cloned().unwrap_or_default();
        let unlisted = super::ids::Unlisted {
            ctx: self.ctx,
            logical: id,
            ty: &ty,
            physical: p,
        };
        if super::ids::is_documented(&ty, attr) == Some(true) {
            return Ok(super::ids::documented_attribute(&unlisted, attr));
        }
        if super::resources::is_placeholder_type(&ty)
            && super::ids::placeholder_documents(&ty, attr) != Some(false)
        {
            // Not emulated: an AWS-shaped placeholder keeps the rest of the template resolving.
            return Ok(super::ids::placeholder_attribute(&unlisted, attr));
        }
        Err(err(
            path,
            ErrorKind::Invalid {
                reason: format!(
                    "Template error: resource {id} does not support attribute type {attr} in Fn::GetAtt"
                ),
            },
        ))
    }

    fn condition(&self, name: &str, path: &str) -> Result<bool, Located> {
        self.conditions.get(name).copied().ok_or_else(|| {
            err(
                path,
                ErrorKind::Invalid {
                    reason: format!("Template error: unresolved condition dependency {name}"),
                },
            )
        })
    }

    /// Evaluates `v`; `None` means `AWS::NoValue` (the key or list item disappears).
    fn eval(&self, v: &Value, path: &str) -> Result<Option<Value>, Located> {
        match v {
            Value::Object(map) if map.len() == 1 => {
                let (k, arg) = map.iter().next().expect("one entry");
                if k == "Ref" || k.starts_with("Fn::") || (k == "Condition" && arg.is_string()) {
                    return self.function(k, arg, &format!("{path}.{k}"));
                }
                self.eval_object(map, path).map(Some)
            }
            Value::Object(map) => self.eval_object(map, path).map(Some),
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.eval(item, &format!("{path}[{i}]"))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn eval_object(&self, map: &Map<String, Value>, path: &str) -> Result<Value, Located> {
        let mut out = Map::new();
        for (k, v) in map {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if let Some(v) = self.eval(v, &sub)? {
                out.insert(k.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    fn value(&self, v: &Value, path: &str, function: &str) -> Result<Value, Located> {
        self.eval(v, path)?
            .ok_or_else(|| intrinsic(path, function, "AWS::NoValue is not allowed here"))
    }

    fn string(&self, v: &Value, path: &str, function: &str) -> Result<String, Located> {
        match self.value(v, path, function)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(intrinsic(
                path,
                function,
                format!("expected a string, found {}", type_name(&other)),
            )),
        }
    }

    fn list(&self, v: &Value, path: &str, function: &str) -> Result<Vec<Value>, Located> {
        match self.value(v, path, function)? {
            Value::Array(items) => Ok(items),
            other => Err(intrinsic(
                path,
                function,
                format!("expected a list, found {}", type_name(&other)),
            )),
        }
    }

    fn function(&self, name: &str, arg: &Value, path: &str) -> Result<Option<Value>, Located> {
        let v = match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| intrinsic(path, "Ref", "the argument must be a string"))?;
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(target, path)?
            }
            "Fn::GetAtt" => {
                let (id, attr) = match arg {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| getatt_arity(path))?,
                    Value::Array(items) if items.len() == 2 => {
                        let id = items[0].as_str().ok_or_else(|| {
                            intrinsic(path, name, "the logical id must be a string")
                        })?;
                        let attr = self.string(&items[1], &format!("{path}[1]"), name)?;
                        (id.to_string(), attr)
                    }
                    _ => return Err(getatt_arity(path)),
                };
                self.get_att(&id, &attr, path)?
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(items) if items.len() == 2 => {
                        let t = items[0].as_str().ok_or_else(|| {
                            intrinsic(path, name, "the first item must be a string")
                        })?;
                        let vars = match self.value(&items[1], &format!("{path}[1]"), name)? {
                            Value::Object(m) => m,
                            other => {
                                return Err(intrinsic(
                                    path,
                                    name,
                                    format!(
                                        "the variable map must be an object, found {}",
                                        type_name(&other)
                                    ),
                                ));
                            }
                        };
                        (t.to_string(), vars)
                    }
                    _ => {
                        return Err(intrinsic(
                            path,
                            name,
                            "expected a string or [String, {Var: Value}]",
                        ));
                    }
                };
                json!(self.sub(&template, &vars, path)?)
            }
            "Fn::Join" => {
                let items = arg_list(arg, 2..=2, path, name, "expected [Delimiter, [Values]]")?;
                let delim = delimiter(&items[0], path, name)?;
                let values = self.list(&items[1], &format!("{path}[1]"), name)?;
                let mut parts = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    parts.push(self.string(v, &format!("{path}[1][{i}]"), name)?);
                }
                json!(parts.join(delim))
            }
            "Fn::Select" => {
                let items = arg_list(arg, 2..=2, path, name, "expected [Index, [Values]]")?;
                let index: usize = self
                    .string(&items[0], &format!("{path}[0]"), name)?
                    .parse()
                    .map_err(|_| {
                        intrinsic(path, name, "the index must be a non-negative integer")
                    })?;
                let values = self.list(&items[1], &format!("{path}[1]"), name)?;
                values.get(index).cloned().ok_or_else(|| {
                    err(
                        path,
                        ErrorKind::Invalid {
                            reason: format!(
                                "Template error: Fn::Select cannot select nonexistent value at index {index}"
                            ),
                        },
                    )
                })?
            }
            "Fn::Split" => {
                let items = arg_list(arg, 2..=2, path, name, "expected [Delimiter, String]")?;
                let delim = delimiter(&items[0], path, name)?;
                let s = self.string(&items[1], &format!("{path}[1]"), name)?;
                Value::Array(s.split(delim).map(|p| json!(p)).collect())
            }
            "Fn::Base64" => json!(
                base64::engine::general_purpose::STANDARD.encode(self.string(arg, path, name)?)
            ),
            "Fn::GetAZs" => {
                let region = self.string(arg, path, name)?;
                let region = if region.is_empty() {
                    self.ctx.region.clone()
                } else {
                    region
                };
                Value::Array(
                    availability_zones(&region)
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                )
            }
            "Fn::If" => {
                let items = arg_list(
                    arg,
                    3..=3,
                    path,
                    name,
                    "expected [Condition, ValueIfTrue, ValueIfFalse]",
                )?;
                let cond = items[0]
                    .as_str()
                    .ok_or_else(|| intrinsic(path, name, "the condition name must be a string"))?;
                let pick = if self.condition(cond, path)? { 1 } else { 2 };
                return self.eval(&items[pick], &format!("{path}[{pick}]"));
            }
            "Fn::Equals" => {
                let items = arg_list(arg, 2..=2, path, name, "expected [Value1, Value2]")?;
                // `Ref AWS::NoValue` as an operand: CloudFormation documents AWS::NoValue only as a
                // removed property value (pseudo-parameter-reference.html#cfn-pseudo-param-novalue),
                // and cfn-lint (conditions/_equals.py) treats it as an unknown operand. vpcgate's
                // choice (README fidelity notes): no value equals only another no value, never a string.
                let a = self.eval(&items[0], &format!("{path}[0]"))?;
                let b = self.eval(&items[1], &format!("{path}[1]"))?;
                json!(a.as_ref().map(scalar_text) == b.as_ref().map(scalar_text))
            }
            "Fn::And" | "Fn::Or" => {
                let items = arg_list(arg, 2..=10, path, name, "expected 2 to 10 conditions")?;
                let mut bools = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    bools.push(self.boolean(item, &format!("{path}[{i}]"), name)?);
                }
                json!(if name == "Fn::And" {
                    bools.iter().all(|b| *b)
                } else {
                    bools.iter().any(|b| *b)
                })
            }
            "Fn::Not" => {
                let items = arg_list(arg, 1..=1, path, name, "expected [Condition]")?;
                json!(!self.boolean(&items[0], &format!("{path}[0]"), name)?)
            }
            "Condition" => json!(self.condition(arg.as_str().unwrap_or_default(), path)?),
            "Fn::FindInMap" => {
                let items = arg_list(
                    arg,
                    3..=4,
                    path,
                    name,
                    "expected [MapName, TopLevelKey, SecondLevelKey]",
                )?;
                let map = self.string(&items[0], &format!("{path}[0]"), name)?;
                let top = self.string(&items[1], &format!("{path}[1]"), name)?;
                let second = self.string(&items[2], &format!("{path}[2]"), name)?;
                match self
                    .mappings
                    .get(&map)
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                {
                    Some(v) => v.clone(),
                    None => match items.get(3).and_then(|d| d.get("DefaultValue")) {
                        Some(d) => self.value(d, &format!("{path}[3]"), name)?,
                        None => {
                            return Err(err(
                                path,
                                ErrorKind::Invalid {
                                    reason: format!(
                                        "Template error: Unable to get mapping for {map}::{top}::{second}"
                                    ),
                                },
                            ));
                        }
                    },
                }
            }
            "Fn::ImportValue" => {
                let export = self.string(arg, path, name)?;
                self.used.borrow_mut().imports.insert(export.clone());
                // <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html>
                self.links.exports.get(&export).cloned().ok_or_else(|| {
                    err(
                        path,
                        ErrorKind::Invalid {
                            reason: format!(
                                "No export named {export} found (exports come from the stacks loaded before this one)"
                            ),
                        },
                    )
                })?
            }
            "Fn::GetStackOutput" => {
                // <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html>
                let obj = arg.as_object().ok_or_else(|| {
                    intrinsic(
                        path,
                        name,
                        "expected {StackName, OutputName[, Region, RoleArn]}",
                    )
                })?;
                if let Some(k) = obj.keys().find(|k| {
                    !["StackName", "OutputName", "Region", "RoleArn"].contains(&k.as_str())
                }) {
                    return Err(intrinsic(
                        path,
                        name,
                        format!("unknown key {k} (StackName, OutputName, Region, RoleArn)"),
                    ));
                }
                let field = |key: &str| match obj.get(key) {
                    None => Err(intrinsic(path, name, format!("{key} is required"))),
                    Some(v) => self.string(v, &format!("{path}.{key}"), name),
                };
                let stack = field("StackName")?;
                let output = field("OutputName")?;
                self.used.borrow_mut().stacks.insert(stack.clone());
                if let Some(region) = obj.get("Region") {
                    let region = self.string(region, &format!("{path}.Region"), name)?;
                    if region != self.ctx.region {
                        return Err(intrinsic(
                            path,
                            name,
                            format!(
                                "Region {region}: cross-Region references are not emulated (vpcgate runs one Region, {})",
                                self.ctx.region
                            ),
                        ));
                    }
                }
                if let Some(role) = obj.get("RoleArn") {
                    // One account: the role is accepted and not assumed.
                    self.string(role, &format!("{path}.RoleArn"), name)?;
                }
                match self.links.outputs.get(&(stack.clone(), output.clone())) {
                    Some(v) => v.clone(),
                    None if self.links.stacks.contains(&stack) => {
                        return Err(intrinsic(
                            path,
                            name,
                            format!("stack {stack} has no output named {output}"),
                        ));
                    }
                    None if self.links.later.contains(&stack) => {
                        return Err(intrinsic(
                            path,
                            name,
                            format!(
                                "stack {stack} is deployed after this one: stacks load in the order given, so list {stack} first"
                            ),
                        ));
                    }
                    None => {
                        return Err(intrinsic(
                            path,
                            name,
                            format!("Stack with id {stack} does not exist"),
                        ));
                    }
                }
            }
            "Fn::Cidr" => {
                let items = arg_list(
                    arg,
                    3..=3,
                    path,
                    name,
                    "expected [IpBlock, Count, CidrBits]",
                )?;
                let block = self.string(&items[0], &format!("{path}[0]"), name)?;
                let count: u32 = self
                    .string(&items[1], &format!("{path}[1]"), name)?
                    .parse()
                    .map_err(|_| intrinsic(path, name, "count must be a number"))?;
                // "count: The number of CIDRs to generate. Valid range is between 1 and 256."
                // (CloudFormation User Guide, Fn::Cidr)
                if !(1..=256).contains(&count) {
                    return Err(intrinsic(path, name, "count must be between 1 and 256"));
                }
                let bits: u8 = self
                    .string(&items[2], &format!("{path}[2]"), name)?
                    .parse()
                    .map_err(|_| intrinsic(path, name, "cidrBits must be a number"))?;
                let net: ipnet::Ipv4Net = block
                    .parse()
                    .map_err(|_| intrinsic(path, name, format!("{block:?} is not an IPv4 CIDR")))?;
                let prefix = 32u8
                    .checked_sub(bits)
                    .filter(|p| *p >= net.prefix_len())
                    .ok_or_else(|| intrinsic(path, name, "cidrBits does not fit the block"))?;
                let subnets: Vec<Value> = net
                    .subnets(prefix)
                    .map_err(|_| intrinsic(path, name, "cidrBits does not fit the block"))?
                    .take(count as usize)
                    .map(|n| json!(n.to_string()))
                    .collect();
                Value::Array(subnets)
            }
            // AWS::LanguageExtensions
            // (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-length.html>,
            // <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-ToJsonString.html>).
            "Fn::Length" => json!(self.list(arg, path, name)?.len()),
            "Fn::ToJsonString" => match self.value(arg, path, name)? {
                v @ (Value::Object(_) | Value::Array(_)) => {
                    json!(serde_json::to_string(&v).expect("JSON serializes"))
                }
                other => {
                    return Err(intrinsic(
                        path,
                        name,
                        format!("expected an object or a list, found {}", type_name(&other)),
                    ));
                }
            },
            other => return Err(intrinsic(path, other, "unsupported intrinsic function")),
        };
        Ok(Some(v))
    }

    fn boolean(&self, v: &Value, path: &str, function: &str) -> Result<bool, Located> {
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("Condition") => {
                self.condition(m["Condition"].as_str().unwrap_or_default(), path)
            }
            _ => match self.value(v, path, function)? {
                Value::Bool(b) => Ok(b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                other => Err(intrinsic(
                    path,
                    function,
                    format!("expected a condition, found {}", type_name(&other)),
                )),
            },
        }
    }

    fn sub(
        &self,
        template: &str,
        vars: &Map<String, Value>,
        path: &str,
    ) -> Result<String, Located> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                intrinsic(path, "Fn::Sub", format!("unterminated ${{ in {template:?}"))
            })?;
            let raw = &after[..end];
            // Spaces around a name are ignored: CloudFormation reads `${ AWS::Region }` as
            // `${AWS::Region}` (cfn-lint issue 236: "always works in CloudFormation"; cfn-lint
            // pull 241 strips both sides, as this does).
            let var = raw.trim();
            if let Some(literal) = raw.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(var) {
                out.push_str(&scalar_text(v));
            } else if let Some((id, attr)) = var
                .split_once('.')
                .filter(|(id, _)| !id.starts_with("AWS::"))
            {
                out.push_str(&scalar_text(&self.get_att(id, attr, path)?));
            } else {
                out.push_str(&scalar_text(&self.reference(var, path)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A pseudo parameter's value (`AWS::NoValue` aside)
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html>).
pub(crate) fn pseudo_parameter(ctx: &IdContext, name: &str) -> Option<Value> {
    Some(match name {
        "AWS::Region" => json!(ctx.region),
        "AWS::AccountId" => json!(ctx.account),
        "AWS::StackName" => json!(ctx.stack),
        "AWS::StackId" => json!(format!(
            "arn:{}:cloudformation:{}:{}:stack/{}/{}",
            partition(&ctx.region),
            ctx.region,
            ctx.account,
            ctx.stack,
            ctx.uuid("AWS::StackId", "stack")
        )),
        "AWS::Partition" => json!(partition(&ctx.region)),
        "AWS::URLSuffix" => json!(if ctx.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }),
        "AWS::NotificationARNs" => json!([]),
        _ => return None,
    })
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// What [`names_in`] collects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Named {
    /// Resources a value refers to (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`).
    Resources,
    /// Conditions an expression refers to (`{"Condition": "X"}`, `Fn::If`'s first item).
    Conditions,
}

/// The names of `what` in `v`, into `out`.
fn names_in(v: &Value, what: Named, out: &mut BTreeSet<String>) {
    use Named::{Conditions, Resources};
    match v {
        Value::Object(map) => {
            for (k, arg) in map {
                match (what, k.as_str(), arg) {
                    (Resources, "Ref", Value::String(s))
                    | (Conditions, "Condition", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    (Resources, "Fn::GetAtt", Value::String(s)) => {
                        out.insert(s.split('.').next().unwrap_or_default().to_string());
                    }
                    (Resources, "Fn::GetAtt", Value::Array(items)) => {
                        if let Some(s) = items.first().and_then(Value::as_str) {
                            out.insert(s.to_string());
                        }
                    }
                    (Resources, "Fn::Sub", Value::String(s)) => sub_references(s, out),
                    (Resources, "Fn::Sub", Value::Array(items)) => {
                        if let Some(s) = items.first().and_then(Value::as_str) {
                            sub_references(s, out);
                        }
                        if let Some(vars) = items.get(1) {
                            names_in(vars, what, out);
                        }
                    }
                    (Conditions, "Fn::If", Value::Array(items)) => {
                        if let Some(c) = items.first().and_then(Value::as_str) {
                            out.insert(c.to_string());
                        }
                        items.iter().skip(1).for_each(|i| names_in(i, what, out));
                    }
                    _ => names_in(arg, what, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| names_in(i, what, out)),
        _ => {}
    }
}

fn sub_references(s: &str, out: &mut BTreeSet<String>) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.insert(var.trim().split('.').next().unwrap_or_default().to_string());
        }
        rest = &after[end + 1..];
    }
}

/// `aws`, `aws-cn` or `aws-us-gov` (`AWS::Partition`).
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What `Fn::GetAZs` returns: the zones a new account sees (they differ per account in AWS;
/// ap-northeast-1b is not offered to new accounts).
pub(crate) fn availability_zones(region: &str) -> Vec<String> {
    let letters: &[&str] = match region {
        "ap-northeast-1" => &["a", "c", "d"],
        "us-east-1" => &["a", "b", "c", "d", "e", "f"],
        _ => &["a", "b", "c"],
    };
    letters.iter().map(|l| format!("{region}{l}")).collect()
}

/// The AWS-specific parameter types
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html>).
pub const AWS_PARAMETER_TYPES: &[&str] = &[
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
    "AWS::SSM::Parameter::Name",
];

/// Whether CloudFormation knows this parameter type.
pub fn known_parameter_type(ty: &str) -> bool {
    let inner = ty.strip_prefix("List<").and_then(|t| t.strip_suffix('>'));
    match ty {
        "String" | "Number" | "CommaDelimitedList" => true,
        _ if AWS_PARAMETER_TYPES.contains(&ty) => true,
        _ if ty.starts_with("AWS::SSM::Parameter::Value<") && ty.ends_with('>') => true,
        _ => inner.is_some_and(|t| {
            // `List<String>`: CloudFormation accepts it as a CommaDelimitedList.
            t == "Number"
                || t == "String"
                || (AWS_PARAMETER_TYPES.contains(&t) && t != "AWS::SSM::Parameter::Name")
        }),
    }
}

/// Whether a parameter of this type is a list (`Ref` gives a list).
pub fn is_list_parameter(ty: &str) -> bool {
    let ssm = ty
        .strip_prefix("AWS::SSM::Parameter::Value<")
        .and_then(|t| t.strip_suffix('>'));
    ty == "CommaDelimitedList"
        || ty.starts_with("List<")
        || ssm.is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"))
}

fn invalid(path: &str, reason: String) -> Located {
    err(path, ErrorKind::Invalid { reason })
}

/// Parameter values: overrides, then defaults, checked against the declared constraints
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html>).
pub(crate) fn resolve_parameters(
    doc: &Map<String, Value>,
    overrides: &BTreeMap<String, String>,
) -> (Map<String, Value>, Vec<Located>) {
    let mut params = Map::new();
    let mut errors = Vec::new();
    let empty = Map::new();
    let decls = match doc.get("Parameters") {
        None => &empty,
        Some(Value::Object(d)) => d,
        Some(other) => {
            errors.push(err(
                "Parameters",
                ErrorKind::WrongType {
                    expected: "an object",
                    found: type_name(other),
                },
            ));
            return (params, errors);
        }
    };
    if decls.is_empty() && !overrides.is_empty() {
        errors.push(invalid(
            "Parameters",
            "Parameter values specified for a template which does not require them.".into(),
        ));
        return (params, errors);
    }
    let unknown: Vec<&str> = overrides
        .keys()
        .filter(|k| !decls.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        errors.push(invalid(
            "Parameters",
            format!(
                "Parameters: [{}] do not exist in the template",
                unknown.join(", ")
            ),
        ));
    }
    let mut missing = Vec::new();
    for (name, decl) in decls {
        let path = format!("Parameters.{name}");
        let Some(ty) = decl.get("Type").and_then(Value::as_str) else {
            errors.push(invalid(
                &path,
                "Template format error: Every Parameters object must contain a Type member.".into(),
            ));
            continue;
        };
        if !known_parameter_type(ty) {
            errors.push(invalid(
                &format!("{path}.Type"),
                format!("Template format error: Unrecognized parameter type: {ty}"),
            ));
            continue;
        }
        let raw = match overrides.get(name) {
            Some(v) => Some(v.clone()),
            None => decl.get("Default").map(scalar_text),
        };
        let Some(raw) = raw else {
            missing.push(name.as_str());
            continue;
        };
        let list = is_list_parameter(ty);
        let values: Vec<&str> = if list {
            raw.split(',').map(str::trim).collect()
        } else {
            vec![raw.as_str()]
        };
        let constraint = decl.get("ConstraintDescription").and_then(Value::as_str);
        let fail = |errors: &mut Vec<Located>, message: String| {
            errors.push(invalid(
                &path,
                match constraint {
                    Some(c) => format!("Parameter {name} failed to satisfy constraint: {c}"),
                    None => message,
                },
            ));
        };
        match decl.get("AllowedValues") {
            None => {}
            Some(Value::Array(allowed)) => {
                let allowed: Vec<String> = allowed.iter().map(scalar_text).collect();
                if values.iter().any(|v| !allowed.iter().any(|a| a == v)) {
                    fail(
                        &mut errors,
                        format!("Parameter '{name}' must be one of AllowedValues"),
                    );
                    continue;
                }
            }
            Some(_) => {
                errors.push(invalid(
                    &format!("{path}.AllowedValues"),
                    "Template format error: Every AllowedValues member must be a list.".into(),
                ));
                continue;
            }
        }
        let numeric = ty == "Number" || ty == "List<Number>";
        if numeric && values.iter().any(|v| v.parse::<f64>().is_err()) {
            fail(&mut errors, format!("Parameter '{name}' must be a number"));
            continue;
        }
        if let Some(pattern) = decl.get("AllowedPattern").map(scalar_text) {
            match regex::Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => {
                    if values.iter().any(|v| !re.is_match(v)) {
                        fail(
                            &mut errors,
                            format!("Parameter '{name}' must match pattern {pattern}"),
                        );
                        continue;
                    }
                }
                // CloudFormation's patterns are Java regular expressions: look-around and
                // backreferences are valid there but not in this engine (which runs in linear
                // time). Such a pattern is not checked, with a warning (vpcgate's choice).
                Err(e)
                    if e.to_string().contains("look-around")
                        || e.to_string().contains("backreferences") =>
                {
                    tracing::warn!(
                        "Parameters.{name}.AllowedPattern uses look-around or a backreference, which vpcgate's regular expressions lack: the value is not checked against it"
                    );
                }
                Err(_) => {
                    errors.push(invalid(
                        &format!("{path}.AllowedPattern"),
                        format!(
                            "Template format error: {pattern} is not a valid regular expression"
                        ),
                    ));
                    continue;
                }
            }
        }
        let bound = |key: &str| {
            decl.get(key)
                .map(scalar_text)
                .and_then(|t| t.parse::<f64>().ok())
        };
        let mut broken = None;
        for v in &values {
            let chars = v.chars().count() as f64;
            if let Some(min) = bound("MinLength").filter(|m| chars < *m) {
                broken = Some(format!(
                    "Parameter '{name}' must contain at least {min} characters"
                ));
            } else if let Some(max) = bound("MaxLength").filter(|m| chars > *m) {
                broken = Some(format!(
                    "Parameter '{name}' must contain at most {max} characters"
                ));
            } else if let Ok(n) = v.parse::<f64>() {
                if let Some(min) = bound("MinValue").filter(|m| numeric && n < *m) {
                    broken = Some(format!(
                        "Parameter '{name}' must be a number not less than {min}"
                    ));
                } else if let Some(max) = bound("MaxValue").filter(|m| numeric && n > *m) {
                    broken = Some(format!(
                        "Parameter '{name}' must be a number not greater than {max}"
                    ));
                }
            }
            if broken.is_some() {
                break;
            }
        }
        if let Some(message) = broken {
            fail(&mut errors, message);
            continue;
        }
        let value = if list {
            Value::Array(values.iter().map(|s| json!(s)).collect())
        } else {
            json!(raw)
        };
        params.insert(name.clone(), value);
    }
    if !missing.is_empty() {
        errors.push(invalid(
            "Parameters",
            format!("Parameters: [{}] must have values", missing.join(", ")),
        ));
    }
    (params, errors)
}

/// The `Rules` section: each rule whose `RuleCondition` holds (no condition: always) checks its
/// `Assertions` against the parameter values before any resource is made; a false `Assert`
/// refuses the stack with its `AssertDescription`
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html>).
/// The rule functions that read the account (`Fn::RefAll`, `Fn::ValueOf`, `Fn::ValueOfAll`) and
/// names CloudFormation does not document are not evaluated: that rule is skipped with a
/// warning (vpcgate's choice), never refused.
fn check_rules(
    doc: &Map<String, Value>,
    params: &Map<String, Value>,
    ctx: &IdContext,
) -> Vec<Located> {
    let Some(rules) = doc.get("Rules") else {
        return Vec::new();
    };
    let Some(rules) = rules.as_object() else {
        return vec![err(
            "Rules",
            ErrorKind::WrongType {
                expected: "an object",
                found: type_name(rules),
            },
        )];
    };
    let mut errors = Vec::new();
    for (name, rule) in rules {
        let path = format!("Rules.{name}");
        let Some(rule) = rule.as_object() else {
            errors.push(err(
                &path,
                ErrorKind::WrongType {
                    expected: "an object",
                    found: type_name(rule),
                },
            ));
            continue;
        };
        let holds = match rule.get("RuleCondition") {
            None => Some(true),
            Some(c) => rule_value(c, params, ctx, 0).and_then(|v| rule_bool(&v)),
        };
        match holds {
            Some(true) => {}
            Some(false) => continue,
            None => {
                tracing::warn!(
                    "{path}.RuleCondition is not evaluated by vpcgate: the rule is skipped"
                );
                continue;
            }
        }
        let Some(Value::Array(assertions)) = rule.get("Assertions") else {
            errors.push(invalid(
                &format!("{path}.Assertions"),
                "Template format error: every rule needs Assertions, a list".into(),
            ));
            continue;
        };
        for (i, a) in assertions.iter().enumerate() {
            let apath = format!("{path}.Assertions[{i}]");
            let Some(assert) = a.get("Assert") else {
                errors.push(invalid(
                    &apath,
                    "Template format error: every assertion needs Assert".into(),
                ));
                continue;
            };
            match rule_value(assert, params, ctx, 0).and_then(|v| rule_bool(&v)) {
                Some(true) => {}
                Some(false) => errors.push(invalid(
                    &apath,
                    a.get("AssertDescription")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("Assertion of rule {name} failed")),
                )),
                None => {
                    tracing::warn!("{apath}.Assert is not evaluated by vpcgate: not checked")
                }
            }
        }
    }
    errors
}

fn rule_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
        _ => None,
    }
}

/// A rule function's value; `None`: vpcgate does not evaluate it.
fn rule_value(
    v: &Value,
    params: &Map<String, Value>,
    ctx: &IdContext,
    depth: usize,
) -> Option<Value> {
    if depth > 32 {
        return None;
    }
    let list = |v: &Value| match rule_value(v, params, ctx, depth + 1)? {
        Value::Array(items) => Some(items.iter().map(scalar_text).collect::<Vec<_>>()),
        other => Some(vec![scalar_text(&other)]),
    };
    let boolean = |v: &Value| rule_value(v, params, ctx, depth + 1).and_then(|v| rule_bool(&v));
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next().expect("one entry");
            let args = arg.as_array();
            let pair = || args.filter(|a| a.len() == 2);
            Some(match k.as_str() {
                "Ref" => {
                    let name = arg.as_str()?;
                    params
                        .get(name)
                        .cloned()
                        .or_else(|| pseudo_parameter(ctx, name))?
                }
                "Fn::Equals" => {
                    let a = pair()?;
                    let x = rule_value(&a[0], params, ctx, depth + 1)?;
                    let y = rule_value(&a[1], params, ctx, depth + 1)?;
                    json!(scalar_text(&x) == scalar_text(&y))
                }
                "Fn::Not" => json!(!boolean(args.filter(|a| a.len() == 1)?.first()?)?),
                "Fn::And" | "Fn::Or" => {
                    let mut all = Vec::new();
                    for item in args.filter(|a| (2..=10).contains(&a.len()))? {
                        all.push(boolean(item)?);
                    }
                    json!(if k == "Fn::And" {
                        all.iter().all(|b| *b)
                    } else {
                        all.iter().any(|b| *b)
                    })
                }
                "Fn::Contains" => {
                    let a = pair()?;
                    let value = scalar_text(&rule_value(&a[1], params, ctx, depth + 1)?);
                    json!(list(&a[0])?.contains(&value))
                }
                "Fn::EachMemberEquals" => {
                    let a = pair()?;
                    let value = scalar_text(&rule_value(&a[1], params, ctx, depth + 1)?);
                    json!(list(&a[0])?.iter().all(|m| *m == value))
                }
                "Fn::EachMemberIn" => {
                    let a = pair()?;
                    let allowed = list(&a[1])?;
                    json!(list(&a[0])?.iter().all(|m| allowed.contains(m)))
                }
                _ => return None,
            })
        }
        Value::Object(_) => None,
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|i| rule_value(i, params, ctx, depth + 1))
                .collect::<Option<Vec<_>>>()?,
        )),
        other => Some(other.clone()),
    }
}

/// Whether a value uses one of these functions anywhere.
fn uses_function(v: &Value, names: &[&str]) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, arg)| names.contains(&k.as_str()) || uses_function(arg, names)),
        Value::Array(items) => items.iter().any(|i| uses_function(i, names)),
        _ => false,
    }
}

/// The template sections CloudFormation knows
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html>).
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
];

/// The keys a resource declaration may have
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-product-attribute-reference.html>).
const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",
];

/// Resolves a template document.
pub fn resolve(
    file: &str,
    doc: &Map<String, Value>,
    ctx: &IdContext,
    overrides: &BTreeMap<String, String>,
    links: &StackLinks,
) -> Result<Resolved, Vec<ScenarioError>> {
    let located = |logical: Option<&str>, (path, kind): Located| ScenarioError {
        file: file.to_string(),
        logical_id: logical.map(str::to_string),
        path,
        kind,
    };
    let mut errors = Vec::new();
    let used = std::cell::RefCell::new(Used::default());
    // Transforms run first: what follows reads the processed template.
    let processed;
    let is_processed = super::transform::needed(doc);
    let doc = if is_processed {
        match super::transform::apply(file, doc, ctx, overrides, &links.s3_objects) {
            Ok(t) => {
                processed = t;
                &processed
            }
            Err(reason) => {
                errors.push(located(None, invalid("Transform", reason)));
                return Err(errors);
            }
        }
    } else {
        doc
    };
    let unknown_sections: Vec<&str> = doc
        .keys()
        .filter(|k| !SECTIONS.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown_sections.is_empty() {
        errors.push(located(
            None,
            invalid(
                "",
                format!(
                    "Template format error: Invalid template property or properties [{}]",
                    unknown_sections.join(", ")
                ),
            ),
        ));
    }
    let (params, param_errors) = resolve_parameters(doc, overrides);
    let parameters_valid = param_errors.is_empty();
    errors.extend(param_errors.into_iter().map(|e| located(None, e)));
    if parameters_valid {
        errors.extend(
            check_rules(doc, &params, ctx)
                .into_iter()
                .map(|e| located(None, e)),
        );
    }

    let empty = Map::new();
    let mappings = doc
        .get("Mappings")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let resources = match doc.get("Resources") {
        Some(Value::Object(r)) if !r.is_empty() => r,
        Some(Value::Object(_)) | None => {
            errors.push(located(
                None,
                invalid(
                    "Resources",
                    "Template format error: At least one Resources member must be defined.".into(),
                ),
            ));
            return Err(errors);
        }
        Some(other) => {
            errors.push(located(
                None,
                err(
                    "Resources",
                    ErrorKind::WrongType {
                        expected: "an object",
                        found: type_name(other),
                    },
                ),
            ));
            return Err(errors);
        }
    };

    // Conditions, each after the conditions it names.
    let no_done = HashMap::new();
    let no_types = HashMap::new();
    let mut conditions: HashMap<String, bool> = HashMap::new();
    match doc.get("Conditions") {
        None => {}
        Some(Value::Object(conds)) => {
            let mut pending: Vec<(&String, &Value, BTreeSet<String>)> = conds
                .iter()
                .map(|(name, expr)| {
                    let mut refs = BTreeSet::new();
                    names_in(expr, Named::Conditions, &mut refs);
                    refs.retain(|r| conds.contains_key(r));
                    (name, expr, refs)
                })
                .collect();
            let mut failed: BTreeSet<String> = BTreeSet::new();
            while !pending.is_empty() {
                let (ready, still): (Vec<_>, Vec<_>) =
                    pending.into_iter().partition(|(_, _, refs)| {
                        refs.iter()
                            .all(|r| conditions.contains_key(r) || failed.contains(r))
                    });
                if ready.is_empty() {
                    let names: Vec<&str> = still.iter().map(|(n, _, _)| n.as_str()).collect();
                    errors.push(located(
                        None,
                        invalid(
                            "Conditions",
                            format!(
                                "Template error: circular dependency between conditions: [{}]",
                                names.join(", ")
                            ),
                        ),
                    ));
                    break;
                }
                for (name, expr, refs) in ready {
                    if refs.iter().any(|r| failed.contains(r)) {
                        failed.insert(name.clone());
                        continue;
                    }
                    let env = Env {
                        ctx,
                        params: &params,
                        conditions: &conditions,
                        mappings,
                        types: &no_types,
                        done: &no_done,
                        links,
                        used: &used,
                    };
                    match env.boolean(expr, &format!("Conditions.{name}"), "Conditions") {
                        Ok(b) => {
                            conditions.insert(name.clone(), b);
                        }
                        Err((path, ErrorKind::UnknownReference { target }))
                            if resources.contains_key(&target) =>
                        {
                            failed.insert(name.clone());
                            errors.push(located(
                                None,
                                invalid(
                                    &path,
                                    format!("Template format error: Unresolved dependencies [{target}]. Cannot reference resources in the Conditions block of the template"),
                                ),
                            ));
                        }
                        Err(e) => {
                            failed.insert(name.clone());
                            errors.push(located(None, e));
                        }
                    }
                }
                pending = still;
            }
        }
        Some(other) => errors.push(located(
            None,
            err(
                "Conditions",
                ErrorKind::WrongType {
                    expected: "an object",
                    found: type_name(other),
                },
            ),
        )),
    }

    // Dependency graph.
    let mut types = HashMap::new();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut order_in_file = Vec::new();
    for (id, res) in resources {
        let Some(obj) = res.as_object() else {
            errors.push(located(
                Some(id),
                err(
                    "",
                    ErrorKind::WrongType {
                        expected: "an object with Type and Properties",
                        found: type_name(res),
                    },
                ),
            ));
            continue;
        };
        for k in obj.keys().filter(|k| !RESOURCE_KEYS.contains(&k.as_str())) {
            errors.push(located(
                Some(id),
                invalid(
                    k,
                    format!("Template format error: Invalid template resource property '{k}'"),
                ),
            ));
        }
        let Some(ty) = obj.get("Type").and_then(Value::as_str) else {
            errors.push(located(
                Some(id),
                err(
                    "Type",
                    ErrorKind::Missing {
                        name: "Type".into(),
                    },
                ),
            ));
            continue;
        };
        if let Some(cond) = obj.get("Condition").and_then(Value::as_str)
            && !conditions.get(cond).copied().unwrap_or(false)
        {
            if !conditions.contains_key(cond) {
                errors.push(located(
                    Some(id),
                    invalid(
                        "Condition",
                        format!("Template format error: Unresolved condition dependency {cond} in the Resources block of the template"),
                    ),
                ));
            }
            continue;
        }
        types.insert(id.clone(), ty.to_string());
        let mut refs = BTreeSet::new();
        if let Some(props) = obj.get("Properties") {
            names_in(props, Named::Resources, &mut refs);
        }
        let depends_on: Vec<&str> = match obj.get("DependsOn") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect()
            }
            Some(other) => {
                errors.push(located(
                    Some(id),
                    err(
                        "DependsOn",
                        ErrorKind::WrongType {
                            expected: "a logical id or a list of logical ids",
                            found: type_name(other),
                        },
                    ),
                ));
                Vec::new()
            }
        };
        for d in depends_on {
            if resources.contains_key(d) {
                refs.insert(d.to_string());
            } else {
                errors.push(located(
                    Some(id),
                    err(
                        "DependsOn",
                        ErrorKind::UnknownReference {
                            target: d.to_string(),
                        },
                    ),
                ));
            }
        }
        refs.retain(|r| resources.contains_key(r));
        deps.insert(id.clone(), refs);
        order_in_file.push(id.clone());
    }
    // Kahn's algorithm, keeping file order among ready resources.
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    loop {
        let ready: Vec<String> = order_in_file
            .iter()
            .filter(|id| {
                !placed.contains(*id)
                    && deps[*id]
                        .iter()
                        .all(|d| placed.contains(d) || !types.contains_key(d))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            break;
        }
        for id in ready {
            placed.insert(id.clone());
            order.push(id);
        }
    }
    if order.len() < order_in_file.len() {
        let stuck: Vec<&str> = order_in_file
            .iter()
            .filter(|id| !placed.contains(*id))
            .map(String::as_str)
            .collect();
        errors.push(located(
            None,
            err(
                "Resources",
                ErrorKind::Cycle {
                    ids: stuck.join(", "),
                },
            ),
        ));
    }

    // Instances whose address the template reads (`Fn::GetAtt X.PrivateIp` / `PrivateDnsName`,
    // `${X.PrivateIp}`): only they are placed when the template pins no address, so every other
    // instance's ENI keeps the subnet's next free address (docs/vpc-clients.md).
    let addressed = super::ids::instances_addressed(doc);
    let mut done: HashMap<String, Physical> = HashMap::new();
    let mut resolved = Vec::new();
    // Nested stacks' exports, with the logical id of the stack resource that made each: they are
    // exports of the account like any stack's (another stack imports them).
    let mut nested_exports: Vec<(String, String, Value)> = Vec::new();
    // What resources and outputs are evaluated in; `done` grows as resources resolve.
    let scope = Env {
        ctx,
        params: &params,
        conditions: &conditions,
        mappings,
        types: &types,
        done: &no_done,
        links,
        used: &used,
    };
    for id in order {
        let ty = types[&id].clone();
        let obj = resources[&id].as_object().expect("checked above");
        let env = Env {
            done: &done,
            ..scope
        };
        let props = match obj.get("Properties") {
            None => Map::new(),
            Some(p) => match env.eval(p, "Properties") {
                Ok(Some(Value::Object(m))) => m,
                Ok(Some(other)) => {
                    errors.push(located(
                        Some(&id),
                        err(
                            "Properties",
                            ErrorKind::WrongType {
                                expected: "an object",
                                found: type_name(&other),
                            },
                        ),
                    ));
                    continue;
                }
                Ok(None) => Map::new(),
                Err(e) => {
                    errors.push(located(Some(&id), e));
                    // Still give it an id so that later resources report their own errors.
                    done.insert(
                        id.clone(),
                        physical(ctx, &id, &ty, &Map::new())
                            .unwrap_or_else(|| placeholder_for(ctx, &id, &ty, &Map::new())),
                    );
                    continue;
                }
            },
        };
        // `BodyS3Location` of a REST or HTTP API that the environment's `S3Objects` maps: API
        // Gateway imports the object, so it is the API's `Body` (S3 holds no intrinsic
        // functions: the file is read as it is).
        let mut props = props;
        if matches!(
            ty.as_str(),
            "AWS::ApiGateway::RestApi" | "AWS::ApiGatewayV2::Api"
        ) && !props.contains_key("Body")
            && let Some(Value::Object(loc)) = props.get("BodyS3Location")
            && let (Some(b), Some(k)) = (
                loc.get("Bucket").and_then(Value::as_str),
                loc.get("Key").and_then(Value::as_str),
            )
        {
            let uri = format!("s3://{b}/{k}");
            if links.s3_objects.contains_key(&uri) {
                match super::transform::read_s3(&links.s3_objects, &uri, "BodyS3Location") {
                    Ok(body) => {
                        props.remove("BodyS3Location");
                        props.insert("Body".into(), body);
                    }
                    Err(reason) => {
                        errors.push(located(
                            Some(&id),
                            invalid("Properties.BodyS3Location", reason),
                        ));
                    }
                }
            }
        }
        let (mut phys, emulated) = match physical(ctx, &id, &ty, &props) {
            Some(p) => (p, true),
            None => (placeholder_for(ctx, &id, &ty, &props), false),
        };
        if ty == "AWS::EC2::Instance" || ty == "AWS::EC2::NetworkInterface" {
            super::ids::place_instance(
                ctx,
                &id,
                &ty,
                &props,
                &mut phys,
                super::ids::Around {
                    done: &done,
                    known: &links.subnets,
                },
                addressed.contains(&id),
            );
        }
        if ty == "AWS::CloudFormation::Stack" {
            match nested_stack(ctx, &id, &props, links) {
                None => {}
                Some(Ok(child)) => {
                    for (k, v) in &child.outputs {
                        phys.attributes.insert(format!("Outputs.{k}"), v.clone());
                    }
                    resolved.extend(child.resources);
                    nested_exports.extend(
                        child
                            .exports
                            .into_iter()
                            .map(|(name, v)| (id.clone(), name, v)),
                    );
                }
                Some(Err(errs)) => errors.extend(errs),
            }
        }
        done.insert(id.clone(), phys.clone());
        resolved.push(ResolvedResource {
            logical_id: id,
            ty,
            properties: props,
            physical: phys,
            emulated,
        });
    }

    let mut outputs = Map::new();
    let mut exports = BTreeMap::new();
    let mut export_names = BTreeMap::new();
    if let Some(Value::Object(outs)) = doc.get("Outputs") {
        let env = Env {
            done: &done,
            ..scope
        };
        for (name, out) in outs {
            let path = format!("Outputs.{name}");
            if let Some(cond) = out.get("Condition").and_then(Value::as_str)
                && !conditions.get(cond).copied().unwrap_or(false)
            {
                if !conditions.contains_key(cond) {
                    errors.push(located(
                        None,
                        invalid(
                            &format!("{path}.Condition"),
                            format!("Template format error: Unresolved condition dependency {cond} in the Outputs block of the template"),
                        ),
                    ));
                }
                continue;
            }
            let Some(v) = out.get("Value") else {
                errors.push(located(
                    None,
                    invalid(
                        &path,
                        "Template format error: Every Outputs member must contain a Value object"
                            .into(),
                    ),
                ));
                continue;
            };
            let outputs_block = |e: Located| match e {
                (p, ErrorKind::UnknownReference { target }) => invalid(
                    &p,
                    format!(
                        "Template format error: Unresolved resource dependencies [{target}] in the Outputs block of the template"
                    ),
                ),
                other => other,
            };
            match env.eval(v, &format!("{path}.Value")) {
                Ok(Some(v)) => {
                    if let Some(export) = out.get("Export").and_then(|e| e.get("Name")) {
                        let mut refs = BTreeSet::new();
                        names_in(export, Named::Resources, &mut refs);
                        if refs.iter().any(|r| resources.contains_key(r))
                            || uses_function(export, &["Fn::ImportValue", "Fn::GetAZs"])
                        {
                            errors.push(located(
                                None,
                                invalid(
                                    &format!("{path}.Export.Name"),
                                    format!("Template format error: Output {name} is malformed. The Name field of Export must not depend on any resources, imported values, or Fn::GetAZs."),
                                ),
                            ));
                            continue;
                        }
                        match env.string(export, &format!("{path}.Export.Name"), "Export") {
                            Ok(n) => {
                                export_names.insert(name.clone(), n.clone());
                                exports.insert(n, v.clone());
                            }
                            Err(e) => errors.push(located(None, outputs_block(e))),
                        }
                    }
                    outputs.insert(name.clone(), v);
                }
                Ok(None) => {}
                Err(e) => errors.push(located(None, outputs_block(e))),
            }
        }
    }
    for (logical, name, v) in nested_exports {
        match exports.entry(name) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
            // (Two nested stacks, or a nested stack and its parent, export one name.)
            std::collections::btree_map::Entry::Occupied(e) => errors.push(located(
                Some(&logical),
                invalid(
                    "Properties.TemplateURL",
                    format!(
                        "Export with name {} is already exported by stack {}",
                        e.key(),
                        ctx.stack
                    ),
                ),
            )),
        }
    }
    if errors.is_empty() {
        let used = used.into_inner();
        Ok(Resolved {
            resources: resolved,
            outputs,
            exports,
            parameters: params,
            export_names,
            imports: used.imports,
            reads_outputs_of: used.stacks,
            processed: is_processed.then(|| doc.clone()),
        })
    } else {
        Err(errors)
    }
}
