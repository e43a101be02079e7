//! The `Transform` section: the transforms CloudFormation runs before it reads a template
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-section-structure.html>),
//! applied in the order listed (`[AWS::LanguageExtensions, AWS::Serverless-2016-10-31]`):
//! [`super::language_extensions`] in Rust, [`super::sam`] by AWS's translator. Other transforms
//! (`AWS::Include`, macros) are refused by name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ids::IdContext;
use super::{language_extensions, sam};

/// The transforms a template declares, in order; `Err` when the section is malformed.
pub fn declared(doc: &Map<String, Value>) -> Result<Vec<String>, String> {
    match doc.get("Transform") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    "Template format error: Transform names must be strings".to_string()
                })
            })
            .collect(),
        Some(_) => {
            Err("Template format error: Transform must be a string or a list of strings".into())
        }
    }
}

/// Whether a template needs [`apply`]: a `Transform` section, a `Fn::Transform`, or an empty
/// (null) section, which CloudFormation reads as absent.
pub fn needed(doc: &Map<String, Value>) -> bool {
    doc.contains_key("Transform")
        || doc.values().any(Value::is_null)
        || doc.get("Resources").is_some_and(|r| {
            serde_json::to_string(r).is_ok_and(|t| t.contains("\"Fn::Transform\""))
        })
}

/// `Fn::Transform` with `AWS::Include` and a local `Location` (what `aws cloudformation package`
/// uploads): the file's content, JSON or YAML, relative to the template
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-include.html>).
fn include(file: &str, v: &mut Value, depth: usize) -> Result<(), String> {
    if depth > super::yaml::MAX_DEPTH {
        return Ok(());
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(t)) = m.get("Fn::Transform").filter(|_| m.len() == 1)
                && t.get("Name").and_then(Value::as_str) == Some("AWS::Include")
            {
                let location = t
                        .get("Parameters")
                        .and_then(|p| p.get("Location"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            "Transform AWS::Include failed with: the Location parameter must be a string".to_string()
                        })?;
                if location.starts_with("s3://") || location.starts_with("https://") {
                    return Err(format!(
                        "Transform AWS::Include failed with: {location}: files in S3 are not emulated; give a path relative to the template"
                    ));
                }
                let path = std::path::Path::new(file)
                    .parent()
                    .unwrap_or(std::path::Path::new(""))
                    .join(location);
                let text = super::read_source(&path)
                    .map_err(|e| format!("Transform AWS::Include failed with: {location}: {e}"))?;
                let doc = super::yaml::parse(&text, &path.display().to_string()).map_err(|e| {
                    format!(
                        "Transform AWS::Include failed with: {}",
                        e.0.first().map(ToString::to_string).unwrap_or_default()
                    )
                })?;
                *v = doc.value;
                return Ok(());
            }
            for x in m.values_mut() {
                include(file, x, depth + 1)?;
            }
        }
        Value::Array(items) => {
            for x in items {
                include(file, x, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Runs every declared transform; the result has no `Transform` section (the processed
/// template, what GetTemplate's `TemplateStage: Processed` returns).
pub fn apply(
    file: &str,
    doc: &Map<String, Value>,
    ctx: &IdContext,
    overrides: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let names = declared(doc)?;
    let mut out = doc.clone();
    out.remove("Transform");
    out.retain(|_, v| !v.is_null());
    if let Some(r) = out.get_mut("Resources") {
        include(file, r, 0)?;
    }
    for name in names {
        out = match name.as_str() {
            language_extensions::TRANSFORM => language_extensions::expand(&out, ctx, overrides)?,
            sam::TRANSFORM => {
                let mut t = sam::expand(file, &out, ctx, overrides).map_err(|e| e.to_string())?;
                t.remove("Transform");
                t
            }
            other => {
                return Err(format!(
                    "Transform {other} is not emulated: vpcgate runs AWS::LanguageExtensions and AWS::Serverless-2016-10-31 (for others, give the template `aws cloudformation get-template --template-stage Processed` returns)"
                ));
            }
        };
    }
    Ok(out)
}
