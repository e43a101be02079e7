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
use super::ids::{IdContext, Physical, physical, placeholder};

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
}

/// What other stacks offer to this one (`Fn::ImportValue`, `Fn::GetStackOutput`).
#[derive(Clone, Debug, Default)]
pub struct StackLinks {
    /// Export name -> value.
    pub exports: BTreeMap<String, Value>,
    /// (stack name, output name) -> value.
    pub outputs: BTreeMap<(String, String), Value>,
}

type Located = (String, ErrorKind);

fn err(path: &str, kind: ErrorKind) -> Located {
    (path.to_string(), kind)
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
}

impl Env<'_> {
    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AWS::Region" => json!(self.ctx.region),
            "AWS::AccountId" => json!(self.ctx.account),
            "AWS::StackName" => json!(self.ctx.stack),
            "AWS::StackId" => json!(format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/{}",
                self.ctx.region,
                self.ctx.account,
                self.ctx.stack,
                self.ctx.uuid("AWS::StackId", "stack")
            )),
            "AWS::Partition" => json!("aws"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            "AWS::NotificationARNs" => json!([]),
            _ => return None,
        })
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
            return Err(err(
                path,
                ErrorKind::UnknownReference {
                    target: format!("{id}.{attr}"),
                },
            ));
        };
        if let Some(v) = p.attributes.get(attr) {
            return Ok(v.clone());
        }
        let ty = self.types.get(id).cloned().unwrap_or_default();
        if p.attributes.is_empty() && super::resources::is_placeholder_type(&ty) {
            // Not emulated: an AWS-shaped placeholder keeps the rest of the template resolving.
            return Ok(json!(format!(
                "{}.{attr}",
                p.reference.as_str().unwrap_or(id)
            )));
        }
        Err(err(
            path,
            ErrorKind::UnknownAttribute {
                resource_type: ty,
                attribute: attr.to_string(),
            },
        ))
    }

    fn condition(&self, name: &str, path: &str) -> Result<bool, Located> {
        self.conditions.get(name).copied().ok_or_else(|| {
            err(
                path,
                ErrorKind::UnknownReference {
                    target: format!("condition {name}"),
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
                        .ok_or_else(|| intrinsic(path, name, "expected \"LogicalId.Attribute\""))?,
                    Value::Array(items) if items.len() == 2 => {
                        let id = items[0].as_str().ok_or_else(|| {
                            intrinsic(path, name, "the logical id must be a string")
                        })?;
                        let attr = self.string(&items[1], &format!("{path}[1]"), name)?;
                        (id.to_string(), attr)
                    }
                    _ => return Err(intrinsic(path, name, "expected [LogicalId, Attribute]")),
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
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| intrinsic(path, name, "expected [Delimiter, [Values]]"))?;
                let delim = items[0]
                    .as_str()
                    .ok_or_else(|| intrinsic(path, name, "the delimiter must be a string"))?;
                let values = self.list(&items[1], &format!("{path}[1]"), name)?;
                let mut parts = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    parts.push(self.string(v, &format!("{path}[1][{i}]"), name)?);
                }
                json!(parts.join(delim))
            }
            "Fn::Select" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| intrinsic(path, name, "expected [Index, [Values]]"))?;
                let index: usize = self
                    .string(&items[0], &format!("{path}[0]"), name)?
                    .parse()
                    .map_err(|_| {
                        intrinsic(path, name, "the index must be a non-negative integer")
                    })?;
                let values = self.list(&items[1], &format!("{path}[1]"), name)?;
                values.get(index).cloned().ok_or_else(|| {
                    intrinsic(
                        path,
                        name,
                        format!(
                            "index {index} is out of range for a list of {}",
                            values.len()
                        ),
                    )
                })?
            }
            "Fn::Split" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| intrinsic(path, name, "expected [Delimiter, String]"))?;
                let delim = items[0]
                    .as_str()
                    .ok_or_else(|| intrinsic(path, name, "the delimiter must be a string"))?;
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
                json!([
                    format!("{region}a"),
                    format!("{region}c"),
                    format!("{region}d")
                ])
            }
            "Fn::If" => {
                let items = arg.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
                    intrinsic(
                        path,
                        name,
                        "expected [Condition, ValueIfTrue, ValueIfFalse]",
                    )
                })?;
                let cond = items[0]
                    .as_str()
                    .ok_or_else(|| intrinsic(path, name, "the condition name must be a string"))?;
                let pick = if self.condition(cond, path)? { 1 } else { 2 };
                return self.eval(&items[pick], &format!("{path}[{pick}]"));
            }
            "Fn::Equals" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 2)
                    .ok_or_else(|| intrinsic(path, name, "expected [Value1, Value2]"))?;
                let a = self.value(&items[0], &format!("{path}[0]"), name)?;
                let b = self.value(&items[1], &format!("{path}[1]"), name)?;
                json!(scalar_text(&a) == scalar_text(&b))
            }
            "Fn::And" | "Fn::Or" => {
                let items = arg
                    .as_array()
                    .filter(|a| (2..=10).contains(&a.len()))
                    .ok_or_else(|| intrinsic(path, name, "expected 2 to 10 conditions"))?;
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
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 1)
                    .ok_or_else(|| intrinsic(path, name, "expected [Condition]"))?;
                json!(!self.boolean(&items[0], &format!("{path}[0]"), name)?)
            }
            "Condition" => json!(self.condition(arg.as_str().unwrap_or_default(), path)?),
            "Fn::FindInMap" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 3 || a.len() == 4)
                    .ok_or_else(|| {
                        intrinsic(
                            path,
                            name,
                            "expected [MapName, TopLevelKey, SecondLevelKey]",
                        )
                    })?;
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
                            return Err(intrinsic(
                                path,
                                name,
                                format!("no value at {map}.{top}.{second}"),
                            ));
                        }
                    },
                }
            }
            "Fn::ImportValue" => {
                let export = self.string(arg, path, name)?;
                self.links.exports.get(&export).cloned().ok_or_else(|| {
                    intrinsic(
                        path,
                        name,
                        format!("no stack exports {export:?} (stacks load in the order given)"),
                    )
                })?
            }
            "Fn::GetStackOutput" => {
                let obj = arg
                    .as_object()
                    .ok_or_else(|| intrinsic(path, name, "expected {StackName, OutputName}"))?;
                let stack = self.string(
                    obj.get("StackName").unwrap_or(&Value::Null),
                    &format!("{path}.StackName"),
                    name,
                )?;
                let output = self.string(
                    obj.get("OutputName").unwrap_or(&Value::Null),
                    &format!("{path}.OutputName"),
                    name,
                )?;
                self.links
                    .outputs
                    .get(&(stack.clone(), output.clone()))
                    .cloned()
                    .ok_or_else(|| intrinsic(path, name, format!("stack {stack:?} has no output {output:?} (stacks load in the order given)")))?
            }
            "Fn::Cidr" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| intrinsic(path, name, "expected [IpBlock, Count, CidrBits]"))?;
                let block = self.string(&items[0], &format!("{path}[0]"), name)?;
                let count: u32 = self
                    .string(&items[1], &format!("{path}[1]"), name)?
                    .parse()
                    .map_err(|_| intrinsic(path, name, "count must be a number"))?;
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
            let var = &after[..end];
            if let Some(literal) = var.strip_prefix('!') {
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

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Names of resources a value refers to (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`).
fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, arg) in map {
                match (k.as_str(), arg) {
                    ("Ref", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        out.insert(s.split('.').next().unwrap_or_default().to_string());
                    }
                    ("Fn::GetAtt", Value::Array(items)) => {
                        if let Some(s) = items.first().and_then(Value::as_str) {
                            out.insert(s.to_string());
                        }
                    }
                    ("Fn::Sub", Value::String(s)) => sub_references(s, out),
                    ("Fn::Sub", Value::Array(items)) => {
                        if let Some(s) = items.first().and_then(Value::as_str) {
                            sub_references(s, out);
                        }
                        if let Some(vars) = items.get(1) {
                            references(vars, out);
                        }
                    }
                    _ => references(arg, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
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
            out.insert(var.split('.').next().unwrap_or_default().to_string());
        }
        rest = &after[end + 1..];
    }
}

fn resolve_parameters(
    doc: &Map<String, Value>,
    overrides: &BTreeMap<String, String>,
) -> (Map<String, Value>, Vec<Located>) {
    let mut params = Map::new();
    let mut errors = Vec::new();
    let Some(Value::Object(decls)) = doc.get("Parameters") else {
        for k in overrides.keys() {
            errors.push(err(
                &format!("Parameters.{k}"),
                ErrorKind::Invalid {
                    reason: format!(
                        "parameter {k} is given a value but the template does not declare it"
                    ),
                },
            ));
        }
        return (params, errors);
    };
    for k in overrides.keys() {
        if !decls.contains_key(k) {
            errors.push(err(
                &format!("Parameters.{k}"),
                ErrorKind::Invalid {
                    reason: format!(
                        "parameter {k} is given a value but the template does not declare it"
                    ),
                },
            ));
        }
    }
    for (name, decl) in decls {
        let path = format!("Parameters.{name}");
        let ty = decl.get("Type").and_then(Value::as_str).unwrap_or("String");
        let raw = match overrides.get(name) {
            Some(v) => Some(v.clone()),
            None => decl.get("Default").map(scalar_text),
        };
        let Some(raw) = raw else {
            errors.push(err(
                &path,
                ErrorKind::Invalid {
                    reason: format!("Parameters: [{name}] must have values"),
                },
            ));
            continue;
        };
        if let Some(Value::Array(allowed)) = decl.get("AllowedValues") {
            let allowed: Vec<String> = allowed.iter().map(scalar_text).collect();
            let values: Vec<&str> = if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                raw.split(',').map(str::trim).collect()
            } else {
                vec![raw.as_str()]
            };
            if let Some(bad) = values.iter().find(|v| !allowed.iter().any(|a| a == *v)) {
                errors.push(err(&path, ErrorKind::Invalid { reason: format!("Parameter '{name}' must be one of AllowedValues (got {bad:?}, allowed {allowed:?})") }));
                continue;
            }
        }
        if ty == "Number" && raw.parse::<f64>().is_err() {
            errors.push(err(
                &path,
                ErrorKind::Invalid {
                    reason: format!("Parameter '{name}' must be a number"),
                },
            ));
            continue;
        }
        let value = if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            Value::Array(raw.split(',').map(|s| json!(s.trim())).collect())
        } else {
            json!(raw)
        };
        params.insert(name.clone(), value);
    }
    (params, errors)
}

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
    let (params, param_errors) = resolve_parameters(doc, overrides);
    errors.extend(param_errors.into_iter().map(|e| located(None, e)));

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
                err(
                    "Resources",
                    ErrorKind::Missing {
                        name: "Resources (at least one resource)".into(),
                    },
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

    // Conditions are evaluated first, in order of need.
    let no_done = HashMap::new();
    let no_types = HashMap::new();
    let mut conditions: HashMap<String, bool> = HashMap::new();
    if let Some(Value::Object(conds)) = doc.get("Conditions") {
        let mut pending: Vec<(&String, &Value)> = conds.iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (name, expr) in pending {
                let env = Env {
                    ctx,
                    params: &params,
                    conditions: &conditions,
                    mappings,
                    types: &no_types,
                    done: &no_done,
                    links,
                };
                match env.boolean(expr, &format!("Conditions.{name}"), "Conditions") {
                    Ok(b) => {
                        conditions.insert(name.clone(), b);
                    }
                    Err((_, ErrorKind::UnknownReference { target }))
                        if target.starts_with("condition ")
                            && conds.contains_key(&target[10..]) =>
                    {
                        still.push((name, expr));
                    }
                    Err(e) => errors.push(located(None, e)),
                }
            }
            if still.len() == before {
                let names: Vec<&str> = still.iter().map(|(n, _)| n.as_str()).collect();
                errors.push(located(
                    None,
                    err(
                        "Conditions",
                        ErrorKind::Cycle {
                            ids: names.join(", "),
                        },
                    ),
                ));
                break;
            }
            pending = still;
        }
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
                    err(
                        "Condition",
                        ErrorKind::UnknownReference {
                            target: format!("condition {cond}"),
                        },
                    ),
                ));
            }
            continue;
        }
        types.insert(id.clone(), ty.to_string());
        let mut refs = BTreeSet::new();
        if let Some(props) = obj.get("Properties") {
            references(props, &mut refs);
        }
        match obj.get("DependsOn") {
            Some(Value::String(s)) => {
                refs.insert(s.clone());
            }
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(|s| {
                refs.insert(s.to_string());
            }),
            _ => {}
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

    let mut done: HashMap<String, Physical> = HashMap::new();
    let mut resolved = Vec::new();
    for id in order {
        let ty = types[&id].clone();
        let obj = resources[&id].as_object().expect("checked above");
        let env = Env {
            ctx,
            params: &params,
            conditions: &conditions,
            mappings,
            types: &types,
            done: &done,
            links,
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
                            .unwrap_or_else(|| placeholder(ctx, &id)),
                    );
                    continue;
                }
            },
        };
        let (phys, emulated) = match physical(ctx, &id, &ty, &props) {
            Some(p) => (p, true),
            None => (placeholder(ctx, &id), false),
        };
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
    if let Some(Value::Object(outs)) = doc.get("Outputs") {
        let env = Env {
            ctx,
            params: &params,
            conditions: &conditions,
            mappings,
            types: &types,
            done: &done,
            links,
        };
        for (name, out) in outs {
            let path = format!("Outputs.{name}");
            if let Some(cond) = out.get("Condition").and_then(Value::as_str)
                && !conditions.get(cond).copied().unwrap_or(false)
            {
                continue;
            }
            let Some(v) = out.get("Value") else {
                errors.push(located(
                    None,
                    err(
                        &path,
                        ErrorKind::Missing {
                            name: "Value".into(),
                        },
                    ),
                ));
                continue;
            };
            match env.eval(v, &format!("{path}.Value")) {
                Ok(Some(v)) => {
                    if let Some(export) = out.get("Export").and_then(|e| e.get("Name")) {
                        match env.string(export, &format!("{path}.Export.Name"), "Export") {
                            Ok(n) => {
                                exports.insert(n, v.clone());
                            }
                            Err(e) => errors.push(located(None, e)),
                        }
                    }
                    outputs.insert(name.clone(), v);
                }
                Ok(None) => {}
                Err(e) => errors.push(located(None, e)),
            }
        }
    }
    if errors.is_empty() {
        Ok(Resolved {
            resources: resolved,
            outputs,
            exports,
            parameters: params,
        })
    } else {
        Err(errors)
    }
}
