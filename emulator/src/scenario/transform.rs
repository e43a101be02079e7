//! The `Transform` section: the transforms CloudFormation runs before it reads a template
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-section-structure.html>),
//! applied in the order listed (`[AWS::LanguageExtensions, AWS::Serverless-2016-10-31]`):
//! [`super::language_extensions`] in Rust, [`super::sam`] by AWS's translator. Other transforms
//! (`AWS::Include`, macros) are refused by name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::ids::IdContext;
use super::{language_extensions, sam};

/// The environment's `S3Objects`: `s3://bucket/key` -> the local file standing in for that
/// object. S3 is online; vpcgate reads a template's S3 locations (`Fn::Transform AWS::Include`,
/// `BodyS3Location`, SAM's `DefinitionUri`) from these files.
pub type S3Objects = BTreeMap<String, PathBuf>;

/// The environment key that maps S3 locations, named in the error for an unmapped one.
pub const S3_OBJECTS_KEY: &str = "S3Objects";

/// `s3://bucket/key` for an S3 location as templates write it: `s3://bucket/key`, or an S3 URL
/// in virtual-hosted style (`https://bucket.s3.amazonaws.com/key`,
/// `https://bucket.s3.<region>.amazonaws.com/key`) or path style
/// (`https://s3.amazonaws.com/bucket/key`, `https://s3.<region>.amazonaws.com/bucket/key`,
/// `https://s3-<region>.amazonaws.com/bucket/key`) — the forms of the S3 user guide's
/// "Methods for accessing a bucket" (access-bucket-intro.html). `None` for anything else.
pub fn s3_uri(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/')?;
        return (!bucket.is_empty() && !key.is_empty()).then(|| format!("s3://{bucket}/{key}"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(".amazonaws.com")?;
    let is_s3_endpoint = |h: &str| {
        h == "s3"
            || h.strip_prefix("s3.")
                .is_some_and(|r| !r.contains('.') || r.starts_with("dualstack."))
            || h.strip_prefix("s3-").is_some_and(|r| !r.contains('.'))
    };
    if is_s3_endpoint(host) {
        let (bucket, key) = path.split_once('/')?;
        return (!bucket.is_empty() && !key.is_empty()).then(|| format!("s3://{bucket}/{key}"));
    }
    // Virtual-hosted style: the bucket is everything before `.s3.` / `.s3-`.
    let cut = host
        .strip_suffix(".s3")
        .map(str::len)
        .or_else(|| host.find(".s3."))
        .or_else(|| host.find(".s3-"))?;
    let (bucket, endpoint) = (&host[..cut], &host[cut + 1..]);
    (is_s3_endpoint(endpoint) && !bucket.is_empty() && !path.is_empty())
        .then(|| format!("s3://{bucket}/{path}"))
}

/// The document (JSON or YAML) the environment's `S3Objects` maps `url` to; `what` names the
/// property in messages. An unmapped location is an error naming the environment key.
pub fn read_s3(objects: &S3Objects, url: &str, what: &str) -> Result<Value, String> {
    let uri = s3_uri(url).ok_or_else(|| {
        format!("{what} {url} is not an S3 location (s3://bucket/key or an S3 URL)")
    })?;
    let path = objects.get(&uri).ok_or_else(|| {
        format!(
            "{what} {url}: S3 is not reachable offline; map {uri} to a local file in the environment file's {S3_OBJECTS_KEY} ({{\"{S3_OBJECTS_KEY}\": {{\"{uri}\": \"path/relative/to/the/environment/file\"}}}})"
        )
    })?;
    let text =
        super::read_source(path).map_err(|e| format!("{what} {url} ({}): {e}", path.display()))?;
    super::yaml::parse(&text, &path.display().to_string())
        .map(|d| d.value)
        .map_err(|e| {
            format!(
                "{what} {url}: {}",
                e.0.first().map(ToString::to_string).unwrap_or_default()
            )
        })
}

/// The value of an `AWS::Include` `Location` written with `Ref` or `Fn::Sub` of parameters and
/// pseudo parameters (cfn-lint's good/resources/dynamodb/attributes_transform.yaml): the
/// transform runs before the template's other functions, so only those are known.
fn location_text(
    v: &Value,
    doc: &Map<String, Value>,
    ctx: &IdContext,
    overrides: &BTreeMap<String, String>,
) -> Option<String> {
    let param = |name: &str| -> Option<String> {
        if let Some(v) = overrides.get(name) {
            return Some(v.clone());
        }
        match name {
            "AWS::Region" => return Some(ctx.region.clone()),
            "AWS::AccountId" => return Some(ctx.account.clone()),
            "AWS::StackName" => return Some(ctx.stack.clone()),
            "AWS::Partition" => return Some(super::template::partition(&ctx.region).to_string()),
            "AWS::URLSuffix" => return Some("amazonaws.com".into()),
            _ => {}
        }
        doc.get("Parameters")?.get(name)?.get("Default").map(|d| {
            d.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| d.to_string())
        })
    };
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if m.len() == 1 => {
            if let Some(name) = m.get("Ref").and_then(Value::as_str) {
                return param(name);
            }
            let text = m.get("Fn::Sub")?.as_str()?;
            let mut out = String::new();
            let mut rest = text;
            while let Some(i) = rest.find("${") {
                out.push_str(&rest[..i]);
                let after = &rest[i + 2..];
                let end = after.find('}')?;
                let name = after[..end].trim();
                if let Some(lit) = name.strip_prefix('!') {
                    out.push_str("${");
                    out.push_str(lit);
                    out.push('}');
                } else {
                    out.push_str(&param(name)?);
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Some(out)
        }
        _ => None,
    }
}

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
/// With an S3 `Location` (`s3://…` or an S3 URL), the file the environment's `S3Objects` maps it
/// to.
fn include(cx: &Include<'_>, v: &mut Value, depth: usize) -> Result<(), String> {
    let file = cx.file;
    if depth > super::yaml::MAX_DEPTH {
        return Ok(());
    }
    match v {
        Value::Object(m) => {
            // `Fn::Transform` takes one transform object, or a list of one (cfn-lint's corpus).
            let transform = match m.get("Fn::Transform").filter(|_| m.len() == 1) {
                Some(Value::Array(l)) if l.len() == 1 => l.first(),
                other => other,
            };
            if let Some(Value::Object(t)) = transform
                && t.get("Name").and_then(Value::as_str) == Some("AWS::Include")
            {
                let location = t
                        .get("Parameters")
                        .and_then(|p| p.get("Location"))
                        .and_then(|l| location_text(l, cx.doc, cx.ctx, cx.overrides))
                        .ok_or_else(|| {
                            "Transform AWS::Include failed with: the Location parameter must be a string (or Ref / Fn::Sub of parameters)".to_string()
                        })?;
                let location = location.as_str();
                if location.starts_with("s3://")
                    || location.starts_with("https://")
                    || location.starts_with("http://")
                {
                    *v = read_s3(cx.s3, location, "Location")
                        .map_err(|e| format!("Transform AWS::Include failed with: {e}"))?;
                    return Ok(());
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
                include(cx, x, depth + 1)?;
            }
        }
        Value::Array(items) => {
            for x in items {
                include(cx, x, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What `AWS::Include` reads with.
struct Include<'a> {
    file: &'a str,
    doc: &'a Map<String, Value>,
    ctx: &'a IdContext,
    overrides: &'a BTreeMap<String, String>,
    s3: &'a S3Objects,
}

/// Runs every declared transform; the result has no `Transform` section (the processed
/// template, what GetTemplate's `TemplateStage: Processed` returns). `s3` is the environment's
/// `S3Objects`.
pub fn apply(
    file: &str,
    doc: &Map<String, Value>,
    ctx: &IdContext,
    overrides: &BTreeMap<String, String>,
    s3: &S3Objects,
) -> Result<Map<String, Value>, String> {
    let names = declared(doc)?;
    let mut out = doc.clone();
    out.remove("Transform");
    out.retain(|_, v| !v.is_null());
    let snapshot = out.clone();
    if let Some(r) = out.get_mut("Resources") {
        let cx = Include {
            file,
            doc: &snapshot,
            ctx,
            overrides,
            s3,
        };
        include(&cx, r, 0)?;
    }
    for name in names {
        out = match name.as_str() {
            language_extensions::TRANSFORM => language_extensions::expand(&out, ctx, overrides)?,
            sam::TRANSFORM => {
                let mut t =
                    sam::expand(file, &out, ctx, overrides, s3).map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The S3 URL forms of access-bucket-intro.html all name the same object.
    #[test]
    fn s3_urls_in_every_style_name_the_object() {
        for url in [
            "s3://corpus/include/a.yaml",
            "https://corpus.s3.amazonaws.com/include/a.yaml",
            "https://corpus.s3.us-west-2.amazonaws.com/include/a.yaml",
            "https://corpus.s3-us-west-2.amazonaws.com/include/a.yaml",
            "https://s3.amazonaws.com/corpus/include/a.yaml",
            "https://s3.eu-west-1.amazonaws.com/corpus/include/a.yaml",
            "https://s3-eu-west-1.amazonaws.com/corpus/include/a.yaml",
        ] {
            assert_eq!(
                s3_uri(url).as_deref(),
                Some("s3://corpus/include/a.yaml"),
                "{url}"
            );
        }
        for url in [
            "https://example.com/a.yaml",
            "s3://corpus",
            "https://corpus.s3.amazonaws.com/",
            "./local.yaml",
        ] {
            assert_eq!(s3_uri(url), None, "{url}");
        }
    }
}
