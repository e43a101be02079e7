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
    for name in names {
        out = match name.as_str() {
            language_extensions::TRANSFORM => language_extensions::expand(&out, overrides)?,
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
