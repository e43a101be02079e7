//! Request parameter mapping of HTTP API integrations (`RequestParameters`)
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-parameter-mapping.html>).
//!
//! Keys: `append:header.<name>`, `overwrite:header.<name>`, `remove:header.<name>`, the same
//! three for `querystring.<name>`, and `overwrite:path`. Values: static text mixed with
//! `$request.header.<name>`, `$request.querystring.<name>`, `$request.path.<name>`,
//! `$request.path`, `$request.body.<a.b…>`, `$context.<variable>` and
//! `$stageVariables.<name>` (braced `${request.path}` too); `remove:` takes `''`. Reserved
//! headers cannot be mapped (same page, "Reserved headers"): a load error, as CreateIntegration
//! refuses them.
//!
//! Evaluation is bounded: values are at most [`MAX_VALUE_LEN`] characters, with at most
//! [`MAX_VARIABLES`] variables, and `$request.body` paths at most [`MAX_BODY_PATH`] deep.

use std::collections::BTreeMap;

use serde_json::Value;

/// The longest mapping value vpcgate reads.
pub const MAX_VALUE_LEN: usize = 2048;
/// The most variables in one value.
pub const MAX_VARIABLES: usize = 32;
/// The deepest `$request.body.a.b…` path.
pub const MAX_BODY_PATH: usize = 16;

/// The headers the page lists as reserved (lower case; `x-amz-*`, `x-amzn-*`, `apigw-*` and
/// `access-control-*` as prefixes).
const RESERVED: &[&str] = &[
    "authorization",
    "connection",
    "content-encoding",
    "content-length",
    "content-location",
    "forwarded",
    "keep-alive",
    "origin",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "via",
];

fn reserved(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    RESERVED.contains(&n.as_str())
        || ["x-amz-", "x-amzn-", "apigw-", "access-control-"]
            .iter()
            .any(|p| n.starts_with(p))
}

/// What a mapping changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `header.<name>` (lower case).
    Header(String),
    /// `querystring.<name>`.
    QueryString(String),
    /// `path`.
    Path,
}

/// How.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `append:`.
    Append,
    /// `overwrite:`.
    Overwrite,
    /// `remove:`.
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// One `RequestParameters` entry, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterMapping {
    /// The key as written.
    pub key: String,
    /// What it changes.
    pub target: Target,
    /// How.
    pub action: Action,
    /// The value as written.
    pub value: String,
    parts: Vec<Part>,
}

impl ParameterMapping {
    /// Parses one entry; the error says why CreateIntegration would refuse it.
    pub fn parse(key: &str, value: &str) -> Result<Self, String> {
        let (action, rest) = key
            .split_once(':')
            .ok_or_else(|| format!("Invalid mapping expression specified: {key}"))?;
        let action = match action {
            "append" => Action::Append,
            "overwrite" => Action::Overwrite,
            "remove" => Action::Remove,
            _ => return Err(format!("Invalid mapping expression specified: {key}")),
        };
        let target = if rest == "path" {
            if action != Action::Overwrite {
                return Err(format!(
                    "Invalid mapping expression specified: {key}: the path can only be overwritten"
                ));
            }
            Target::Path
        } else if let Some(name) = rest.strip_prefix("header.").filter(|n| !n.is_empty()) {
            if reserved(name) {
                return Err(format!(
                    "Invalid mapping expression specified: {key}: {name} is a reserved header"
                ));
            }
            Target::Header(name.to_ascii_lowercase())
        } else if let Some(name) = rest.strip_prefix("querystring.").filter(|n| !n.is_empty()) {
            Target::QueryString(name.to_string())
        } else {
            return Err(format!("Invalid mapping expression specified: {key}"));
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(format!(
                "Invalid mapping expression specified: {key}: the value is longer than {MAX_VALUE_LEN} characters"
            ));
        }
        let parts = parse_value(value)
            .map_err(|e| format!("Invalid mapping expression specified: {key}: {e}"))?;
        Ok(Self {
            key: key.to_string(),
            target,
            action,
            value: value.to_string(),
            parts,
        })
    }

    /// The value for this request: `None` when the value is exactly one variable that has no
    /// value (the parameter is then left alone).
    pub fn evaluate(&self, source: &Source<'_>) -> Option<String> {
        if let [Part::Var(v)] = self.parts.as_slice() {
            return source.lookup(v);
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(&source.lookup(v).unwrap_or_default()),
            }
        }
        Some(out)
    }
}

const PREFIXES: &[&str] = &["request.", "context.", "stageVariables."];

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn parse_value(value: &str) -> Result<Vec<Part>, String> {
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value);
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    let mut vars = 0;
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (braced, body) = match after.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, after),
        };
        if !PREFIXES.iter().any(|p| body.starts_with(p)) {
            text.push('$');
            rest = after;
            continue;
        }
        let (name, consumed) = if braced {
            let end = body.find('}').ok_or("an unclosed ${")?;
            (&body[..end], end + 3)
        } else {
            let end = body.find(|c| !name_char(c)).unwrap_or(body.len());
            let name = body[..end].trim_end_matches('.');
            (name, name.len() + 1)
        };
        vars += 1;
        if vars > MAX_VARIABLES {
            return Err(format!("more than {MAX_VARIABLES} variables"));
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        check_variable(name)?;
        parts.push(Part::Var(name.to_string()));
        rest = &rest[pos + consumed..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

fn check_variable(name: &str) -> Result<(), String> {
    let ok = match name.split_once('.') {
        Some(("request", rest)) => {
            rest == "path"
                || ["header.", "querystring.", "path.", "body."]
                    .iter()
                    .any(|p| rest.strip_prefix(p).is_some_and(|n| !n.is_empty()))
                || rest == "body"
        }
        Some(("context", rest)) | Some(("stageVariables", rest)) => !rest.is_empty(),
        _ => false,
    };
    if !ok {
        return Err(format!("${name} is not a mapping variable"));
    }
    if let Some(path) = name.strip_prefix("request.body.")
        && path.split('.').count() > MAX_BODY_PATH
    {
        return Err(format!(
            "$request.body paths are at most {MAX_BODY_PATH} deep"
        ));
    }
    Ok(())
}

/// What mapping variables read from.
#[derive(Debug)]
pub struct Source<'a> {
    /// The client's request.
    pub request: &'a http::Request<bytes::Bytes>,
    /// The path below the stage.
    pub path: &'a str,
    /// Path variables of the route.
    pub path_params: &'a BTreeMap<String, String>,
    /// `$context.*` values (`requestId`, `authorizer.claims.sub`, …).
    pub context: &'a BTreeMap<String, String>,
    /// Stage variables.
    pub stage_variables: &'a BTreeMap<String, String>,
}

impl Source<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        let (scope, rest) = name.split_once('.')?;
        match scope {
            "context" => self.context.get(rest).cloned(),
            "stageVariables" => self.stage_variables.get(rest).cloned(),
            _ => {
                if rest == "path" {
                    return Some(self.path.to_string());
                }
                if let Some(h) = rest.strip_prefix("header.") {
                    let values: Vec<&str> = self
                        .request
                        .headers()
                        .get_all(h)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    return (!values.is_empty()).then(|| values.join(","));
                }
                if let Some(q) = rest.strip_prefix("querystring.") {
                    let values: Vec<String> =
                        form_urlencoded::parse(self.request.uri().query().unwrap_or("").as_bytes())
                            .filter(|(k, _)| k == q)
                            .map(|(_, v)| v.into_owned())
                            .collect();
                    return (!values.is_empty()).then(|| values.join(","));
                }
                if let Some(p) = rest.strip_prefix("path.") {
                    return self.path_params.get(p).cloned();
                }
                let body: Value = serde_json::from_slice(self.request.body()).ok()?;
                let mut at = &body;
                if let Some(path) = rest.strip_prefix("body.") {
                    for key in path.split('.').take(MAX_BODY_PATH) {
                        at = match at {
                            Value::Object(m) => m.get(key)?,
                            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
                            _ => return None,
                        };
                    }
                }
                Some(match at {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_of<'a>(
        req: &'a http::Request<bytes::Bytes>,
        params: &'a BTreeMap<String, String>,
        context: &'a BTreeMap<String, String>,
        vars: &'a BTreeMap<String, String>,
    ) -> Source<'a> {
        Source {
            request: req,
            path: "/items/7",
            path_params: params,
            context,
            stage_variables: vars,
        }
    }

    #[test]
    fn values_mix_text_and_variables() {
        let req = http::Request::builder()
            .uri("/items/7?q=a&q=b")
            .header("x-user", "alice")
            .body(bytes::Bytes::from(r#"{"order":{"id":42}}"#))
            .unwrap();
        let params = BTreeMap::from([("id".to_string(), "7".to_string())]);
        let context = BTreeMap::from([("requestId".to_string(), "r-1".to_string())]);
        let vars = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let s = source_of(&req, &params, &context, &vars);
        let m = |k: &str, v: &str| ParameterMapping::parse(k, v).unwrap().evaluate(&s);
        assert_eq!(
            m("overwrite:path", "/v2$request.path").as_deref(),
            Some("/v2/items/7")
        );
        assert_eq!(
            m("append:header.x-who", "user-$request.header.x-user").as_deref(),
            Some("user-alice")
        );
        assert_eq!(
            m("overwrite:querystring.q", "$request.querystring.q").as_deref(),
            Some("a,b")
        );
        assert_eq!(
            m("overwrite:header.x-id", "$request.path.id").as_deref(),
            Some("7")
        );
        assert_eq!(
            m("overwrite:header.x-o", "$request.body.order.id").as_deref(),
            Some("42")
        );
        assert_eq!(
            m(
                "overwrite:header.x-r",
                "${context.requestId}:$stageVariables.env"
            )
            .as_deref(),
            Some("r-1:prod")
        );
        assert_eq!(m("overwrite:header.x-none", "$request.header.absent"), None);
        assert_eq!(m("overwrite:header.x-cost", "$5").as_deref(), Some("$5"));
    }

    #[test]
    fn reserved_headers_and_bad_keys_are_refused() {
        for (k, v) in [
            ("overwrite:header.Authorization", "x"),
            ("append:header.x-amzn-trace-id", "x"),
            ("remove:path", "''"),
            ("replace:header.a", "x"),
            ("overwrite:header.a", "$request.nothing"),
            ("overwrite:header.a", "${request.path"),
        ] {
            assert!(ParameterMapping::parse(k, v).is_err(), "{k} {v}");
        }
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        assert!(ParameterMapping::parse("overwrite:header.a", &long).is_err());
        let many = "$context.x".repeat(MAX_VARIABLES + 1);
        assert!(ParameterMapping::parse("overwrite:header.a", &many).is_err());
    }
}
