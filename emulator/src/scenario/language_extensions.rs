//! `Transform: AWS::LanguageExtensions`
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-languageextensions.html>).
//!
//! Done here, before resolution, as the transform does it:
//! - `Fn::ForEach::<LoopName>: [Identifier, Collection, {OutputKey: OutputValue, …}]` in
//!   `Conditions`, `Resources`, `Outputs` and anywhere inside a resource
//!   (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-foreach.html>):
//!   the collection is a list of strings, or a `Ref` to a list parameter, `Fn::FindInMap`,
//!   `Fn::Split`, `Fn::If` (on conditions of parameters); in each OutputKey `${Identifier}` is the
//!   item and `&{Identifier}` the item without its non-alphanumeric characters; in the OutputValue,
//!   `Ref: Identifier` and `${Identifier}` / `&{Identifier}` in `Fn::Sub` strings and `Fn::GetAtt`
//!   names are the item; loops nest (an inner loop sees the outer identifier);
//! - `DeletionPolicy` / `UpdateReplacePolicy` given by an intrinsic function (`Ref` to a
//!   parameter, `Fn::FindInMap`, `Fn::If`) become their string.
//!
//! `Fn::Length` and `Fn::ToJsonString` are evaluated with the other intrinsic functions
//! ([`super::template`]), since their arguments may name resources; `Fn::FindInMap`'s
//! `DefaultValue` too.
//!
//! Errors are worded as CloudFormation reports them: `Transform AWS::LanguageExtensions failed
//! with: <reason>` (e.g. "Fn::ForEach layout is incorrect", as seen in
//! <https://github.com/aws-cloudformation/cfn-language-discussion/issues/156>). Expansion is
//! bounded: at most [`MAX_OUTPUT_NODES`] values in the expanded template and [`MAX_NESTING`] loops
//! inside one another.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::ids::IdContext;

/// The transform's name.
pub const TRANSFORM: &str = "AWS::LanguageExtensions";
/// Loops inside loops.
pub const MAX_NESTING: usize = 16;
/// JSON values the expanded template may hold (CloudFormation's processed-template limit is
/// 1 MB; this bounds a hostile `Fn::ForEach` before it fills memory).
pub const MAX_OUTPUT_NODES: usize = 1_000_000;

const PREFIX: &str = "Fn::ForEach::";

fn fail(reason: impl std::fmt::Display) -> String {
    format!("Transform {TRANSFORM} failed with: {reason}")
}

struct Ctx<'a> {
    ids: &'a IdContext,
    params: &'a Map<String, Value>,
    mappings: &'a Map<String, Value>,
    conditions: &'a Map<String, Value>,
    nodes: usize,
}

/// Expands the transform; `overrides` are the parameter values given.
pub fn expand(
    doc: &Map<String, Value>,
    ids: &IdContext,
    overrides: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let (params, _) = super::template::resolve_parameters(doc, overrides);
    let empty = Map::new();
    let mappings = doc
        .get("Mappings")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let conditions = doc
        .get("Conditions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut ctx = Ctx {
        ids,
        params: &params,
        mappings,
        conditions,
        nodes: 0,
    };
    let mut out = doc.clone();
    for section in ["Conditions", "Resources", "Outputs"] {
        if let Some(Value::Object(m)) = doc.get(section) {
            let expanded = ctx.object(m, &HashMap::new(), 0)?;
            out.insert(section.into(), Value::Object(expanded));
        }
    }
    if let Some(Value::Object(resources)) = out.get_mut("Resources") {
        for (id, r) in resources.iter_mut() {
            let Some(r) = r.as_object_mut() else { continue };
            for key in ["DeletionPolicy", "UpdateReplacePolicy"] {
                if let Some(v) = r.get(key).filter(|v| v.is_object()).cloned() {
                    let s = ctx.eval(&v, 0)?;
                    match s {
                        Value::String(s)
                            if ["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"]
                                .contains(&s.as_str()) =>
                        {
                            r.insert(key.into(), json!(s));
                        }
                        other => {
                            return Err(fail(format!(
                                "{key} of resource {id} must resolve to one of Delete, Retain, RetainExceptOnCreate, Snapshot, not {other}"
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Strips what `&{}` strips: every character that is not alphanumeric.
fn alnum(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Replaces `${id}` and `&{id}` of every bound identifier in `s`.
fn substitute(s: &str, bound: &HashMap<String, String>) -> String {
    let mut out = s.to_string();
    for (id, v) in bound {
        out = out.replace(&format!("${{{id}}}"), v);
        out = out.replace(&format!("&{{{id}}}"), &alnum(v));
    }
    out
}

impl Ctx<'_> {
    fn count(&mut self) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_OUTPUT_NODES {
            return Err(fail(format!(
                "the expanded template would hold more than {MAX_OUTPUT_NODES} values"
            )));
        }
        Ok(())
    }

    /// An object: loops expanded into it, identifiers replaced.
    fn object(
        &mut self,
        m: &Map<String, Value>,
        bound: &HashMap<String, String>,
        depth: usize,
    ) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (k, v) in m {
            if let Some(name) = k.strip_prefix(PREFIX) {
                for (key, value) in self.for_each(name, v, bound, depth)? {
                    if out.contains_key(&key) {
                        return Err(fail(format!(
                            "Fn::ForEach::{name} produces the key {key}, which is already in the template"
                        )));
                    }
                    out.insert(key, value);
                }
            } else {
                let key = substitute(k, bound);
                let value = self.value(v, bound, depth)?;
                if out.contains_key(&key) {
                    return Err(fail(format!("the key {key} is produced twice")));
                }
                out.insert(key, value);
            }
        }
        Ok(out)
    }

    fn value(
        &mut self,
        v: &Value,
        bound: &HashMap<String, String>,
        depth: usize,
    ) -> Result<Value, String> {
        self.count()?;
        Ok(match v {
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Value::String(id)) if bound.contains_key(id) => json!(bound[id]),
                    ("Fn::Sub", Value::String(s)) if !bound.is_empty() => sub(substitute(s, bound)),
                    ("Fn::Sub", Value::Array(items)) if !bound.is_empty() && !items.is_empty() => {
                        let mut items = items.clone();
                        if let Value::String(s) = &items[0] {
                            items[0] = json!(substitute(s, bound));
                        }
                        let rest: Result<Vec<Value>, String> =
                            items.iter().map(|i| self.value(i, bound, depth)).collect();
                        json!({"Fn::Sub": rest?})
                    }
                    ("Fn::GetAtt", Value::String(s)) if !bound.is_empty() => {
                        json!({"Fn::GetAtt": substitute(s, bound)})
                    }
                    _ => Value::Object(self.object(m, bound, depth)?),
                }
            }
            Value::Object(m) => Value::Object(self.object(m, bound, depth)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.value(i, bound, depth))
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        })
    }

    fn for_each(
        &mut self,
        name: &str,
        v: &Value,
        bound: &HashMap<String, String>,
        depth: usize,
    ) -> Result<Vec<(String, Value)>, String> {
        if depth >= MAX_NESTING {
            return Err(fail(format!(
                "Fn::ForEach::{name} is nested more than {MAX_NESTING} loops deep"
            )));
        }
        let layout = || fail("Fn::ForEach layout is incorrect");
        let items = v.as_array().filter(|a| a.len() == 3).ok_or_else(layout)?;
        let id = items[0]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(layout)?;
        let Value::Object(fragment) = &items[2] else {
            return Err(layout());
        };
        // The collection may use the identifiers of loops around this one.
        let collection = self.value(&items[1], bound, depth)?;
        let collection = match self.eval(&collection, 0)? {
            Value::Array(a) => a,
            _ => {
                return Err(fail(format!(
                    "Fn::ForEach::{name}: the collection must be a list of strings"
                )));
            }
        };
        let mut out = Vec::new();
        for item in collection {
            let item = match item {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(fail(format!(
                        "Fn::ForEach::{name}: the collection must be a list of strings"
                    )));
                }
            };
            let mut inner = bound.clone();
            inner.insert(id.to_string(), item);
            for (k, v) in self.object(fragment, &inner, depth + 1)? {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    /// What the transform can evaluate before deployment: parameters, mappings and conditions.
    fn eval(&mut self, v: &Value, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return Err(fail("intrinsic functions are nested too deep"));
        }
        self.count()?;
        let Value::Object(m) = v else {
            return Ok(match v {
                Value::Array(a) => Value::Array(
                    a.iter()
                        .map(|i| self.eval(i, depth + 1))
                        .collect::<Result<_, _>>()?,
                ),
                other => other.clone(),
            });
        };
        if m.len() != 1 {
            return Ok(v.clone());
        }
        let (k, arg) = m.iter().next().expect("one entry");
        let args = |n: usize| {
            arg.as_array()
                .filter(|a| a.len() == n)
                .ok_or_else(|| fail(format!("{k} layout is incorrect")))
        };
        Ok(match k.as_str() {
            "Ref" => {
                let name = arg.as_str().unwrap_or_default();
                match self.params.get(name) {
                    Some(v) => v.clone(),
                    // The pseudo parameters are known before the stack's resources.
                    None => super::template::pseudo_parameter(self.ids, name).ok_or_else(|| {
                        fail(format!(
                            "{name} is not a parameter; the transform resolves only parameters and pseudo parameters here"
                        ))
                    })?,
                }
            }
            "Fn::FindInMap" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3 || a.len() == 4)
                    .ok_or_else(|| fail("Fn::FindInMap layout is incorrect"))?;
                let keys: Vec<String> = a[..3]
                    .iter()
                    .map(|x| self.eval(x, depth + 1).map(|v| text(&v)))
                    .collect::<Result<_, _>>()?;
                match self
                    .mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                {
                    Some(v) => v.clone(),
                    None => match a.get(3).and_then(|d| d.get("DefaultValue")) {
                        Some(d) => self.eval(d, depth + 1)?,
                        None => {
                            return Err(fail(format!(
                                "Unable to get mapping for {}::{}::{}",
                                keys[0], keys[1], keys[2]
                            )));
                        }
                    },
                }
            }
            "Fn::Split" => {
                let a = args(2)?;
                let sep = text(&self.eval(&a[0], depth + 1)?);
                let s = text(&self.eval(&a[1], depth + 1)?);
                json!(s.split(sep.as_str()).collect::<Vec<_>>())
            }
            "Fn::If" => {
                let a = args(3)?;
                let cond = a[0]
                    .as_str()
                    .ok_or_else(|| fail("Fn::If layout is incorrect"))?;
                if self.condition(cond, depth + 1)? {
                    self.eval(&a[1], depth + 1)?
                } else {
                    self.eval(&a[2], depth + 1)?
                }
            }
            "Fn::Length" => match self.eval(arg, depth + 1)? {
                Value::Array(a) => json!(a.len()),
                _ => return Err(fail("Fn::Length layout is incorrect")),
            },
            _ => v.clone(),
        })
    }

    fn condition(&mut self, name: &str, depth: usize) -> Result<bool, String> {
        let expr = self
            .conditions
            .get(name)
            .cloned()
            .ok_or_else(|| fail(format!("Condition {name} is not defined")))?;
        self.boolean(&expr, depth)
    }

    fn boolean(&mut self, v: &Value, depth: usize) -> Result<bool, String> {
        if depth > 64 {
            return Err(fail("conditions are nested too deep"));
        }
        let bad = || fail("Condition layout is incorrect");
        let Value::Object(m) = v else {
            return match v {
                Value::Bool(b) => Ok(*b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err(bad()),
            };
        };
        let (k, arg) = m.iter().next().filter(|_| m.len() == 1).ok_or_else(bad)?;
        match k.as_str() {
            "Condition" => self.condition(arg.as_str().ok_or_else(bad)?, depth + 1),
            "Fn::Equals" => {
                let a = arg.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                let l = self.eval(&a[0], depth + 1)?;
                let r = self.eval(&a[1], depth + 1)?;
                Ok(text(&l) == text(&r))
            }
            "Fn::Not" => {
                let a = arg.as_array().filter(|a| a.len() == 1).ok_or_else(bad)?;
                Ok(!self.boolean(&a[0], depth + 1)?)
            }
            "Fn::And" | "Fn::Or" => {
                let a = arg.as_array().ok_or_else(bad)?;
                let mut all = true;
                let mut any = false;
                for c in a {
                    let b = self.boolean(c, depth + 1)?;
                    all &= b;
                    any |= b;
                }
                Ok(if k == "Fn::And" { all } else { any })
            }
            _ => Err(bad()),
        }
    }
}

/// A `Fn::Sub` whose string has no variables left is that string (so `Fn::GetAtt:
/// [!Sub 'Bucket${Id}', Arn]` inside a loop names a resource).
fn sub(s: String) -> Value {
    if s.contains("${") {
        json!({"Fn::Sub": s})
    } else {
        json!(s)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    fn ids() -> IdContext {
        IdContext {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            stack: "s".into(),
        }
    }

    /// The pseudo parameters are known to the transform: a loop over a mapping keyed by Region
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html>).
    #[test]
    fn pseudo_parameters_resolve_inside_the_transform() {
        let d = doc(json!({
            "Transform": "AWS::LanguageExtensions",
            "Mappings": {"Zones": {"us-east-1": {"Names": ["a", "b"]}}},
            "Resources": {"Fn::ForEach::Topics": ["Z",
                {"Fn::FindInMap": ["Zones", {"Ref": "AWS::Region"}, "Names"]},
                {"Topic${Z}": {"Type": "AWS::SNS::Topic"}}]}
        }));
        let out = expand(&d, &ids(), &BTreeMap::new()).unwrap();
        let r = out["Resources"].as_object().unwrap();
        assert!(
            r.contains_key("Topica") && r.contains_key("Topicb"),
            "{r:?}"
        );
        let bad = doc(json!({
            "Transform": "AWS::LanguageExtensions",
            "Resources": {"Fn::ForEach::T": ["Z", {"Ref": "Nope"}, {"T${Z}": {"Type": "AWS::SNS::Topic"}}]}
        }));
        let e = expand(&bad, &ids(), &BTreeMap::new()).unwrap_err();
        assert!(e.contains("Nope is not a parameter"), "{e}");
    }

    /// The user guide's "Replicate a resource" example
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-foreach-example-resource.html>).
    #[test]
    fn for_each_replicates_resources_with_dollar_and_ampersand_identifiers() {
        let d = doc(json!({
            "Transform": "AWS::LanguageExtensions",
            "Resources": {"Fn::ForEach::Topics": ["TopicName", ["Success", "Fail-ure"],
                {"SnsTopic&{TopicName}": {"Type": "AWS::SNS::Topic",
                    "Properties": {"TopicName": {"Fn::Join": [".", [{"Ref": "TopicName"}, "fifo"]]},
                                   "DisplayName": {"Fn::Sub": "t-${TopicName}-${AWS::Region}"}}}}]}
        }));
        let out = expand(&d, &ids(), &BTreeMap::new()).unwrap();
        let r = out["Resources"].as_object().unwrap();
        assert_eq!(
            r.keys().collect::<Vec<_>>(),
            vec!["SnsTopicSuccess", "SnsTopicFailure"]
        );
        assert_eq!(
            r["SnsTopicFailure"]["Properties"]["TopicName"],
            json!({"Fn::Join": [".", ["Fail-ure", "fifo"]]})
        );
        assert_eq!(
            r["SnsTopicSuccess"]["Properties"]["DisplayName"],
            json!({"Fn::Sub": "t-Success-${AWS::Region}"})
        );
    }

    #[test]
    fn nested_loops_over_a_list_parameter_with_getatt_sub() {
        let d = doc(json!({
            "Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "A,B"}},
            "Resources": {"Fn::ForEach::Buckets": ["Id", {"Ref": "Names"},
                {"S3Bucket${Id}": {"Type": "AWS::S3::Bucket"}}]},
            "Outputs": {"Fn::ForEach::Out": ["Id", {"Ref": "Names"},
                {"Fn::ForEach::Attr": ["Property", ["Arn", "DomainName"],
                    {"S3Bucket${Id}${Property}": {"Value":
                        {"Fn::GetAtt": [{"Fn::Sub": "S3Bucket${Id}"}, {"Ref": "Property"}]}}}]}]}
        }));
        let out = expand(
            &d,
            &ids(),
            &BTreeMap::from([("Names".into(), "X,Y,Z".into())]),
        )
        .unwrap();
        assert_eq!(out["Resources"].as_object().unwrap().len(), 3);
        let o = out["Outputs"].as_object().unwrap();
        assert_eq!(o.len(), 6);
        assert_eq!(
            o["S3BucketYDomainName"]["Value"],
            json!({"Fn::GetAtt": ["S3BucketY", "DomainName"]})
        );
    }

    #[test]
    fn layout_errors_and_policies() {
        let bad = doc(json!({"Resources": {"Fn::ForEach::X": ["Id", ["a"]]}}));
        assert_eq!(
            expand(&bad, &ids(), &BTreeMap::new()).unwrap_err(),
            "Transform AWS::LanguageExtensions failed with: Fn::ForEach layout is incorrect"
        );
        let d = doc(json!({
            "Parameters": {"Policy": {"Type": "String", "Default": "Retain"}},
            "Resources": {"B": {"Type": "AWS::S3::Bucket",
                "DeletionPolicy": {"Ref": "Policy"},
                "UpdateReplacePolicy": {"Fn::FindInMap": ["M", "a", "b", {"DefaultValue": "Delete"}]}}}
        }));
        let out = expand(&d, &ids(), &BTreeMap::new()).unwrap();
        assert_eq!(out["Resources"]["B"]["DeletionPolicy"], json!("Retain"));
        assert_eq!(
            out["Resources"]["B"]["UpdateReplacePolicy"],
            json!("Delete")
        );
    }

    #[test]
    fn hostile_loops_are_bounded() {
        // 100^4 resources: refused by the node bound, not built.
        let list: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let mut body = json!({"R${a}x${b}y${c}z${d}": {"Type": "AWS::SNS::Topic"}});
        for id in ["d", "c", "b", "a"] {
            body = json!({format!("Fn::ForEach::L{id}"): [id, list, body]});
        }
        let d = doc(json!({"Resources": body}));
        let e = expand(&d, &ids(), &BTreeMap::new()).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }
}
