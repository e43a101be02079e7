//! OpenAPI documents as API Gateway imports them: one reader for the `Body` of a REST API
//! (`AWS::ApiGateway::RestApi`, OpenAPI 2.0 and 3.0, what every SAM API becomes) and of an HTTP
//! API (`AWS::ApiGatewayV2::Api`, [`super::apigwv2`]).
//!
//! [`Document`] walks the parts both importers read: `paths` and their operations (the seven verbs
//! and `x-amazon-apigateway-any-method`), and each operation's security requirement resolved to
//! its scheme (`securityDefinitions` in 2.0, `components.securitySchemes` in 3.0; the
//! operation's `security`, else the document's). [`import_rest`] turns a document into a REST
//! API's resources and methods, as `PutRestApi` does
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html>):
//!
//! - every path becomes a resource per path part, the intermediate ones included; `{name}` and
//!   the greedy `{proxy+}` are path parameters; `basePath` (2.0) or the first server's `basePath`
//!   variable or URL path (3.0) is read as the `basepath` import parameter says: `ignore` (the
//!   default), `prepend` or `split`
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-import-api-basePath.html>);
//! - `x-amazon-apigateway-integration`
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html>)
//!   is read by the same reader as an `AWS::ApiGateway::Method`'s `Integration` (its keys are
//!   the API's: `type`, `httpMethod`, `uri`, `connectionType`, `connectionId`,
//!   `integrationTarget` for a VPC link V2
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-private-integration.html>),
//!   `timeoutInMillis`, `requestTemplates`, `responses`, …), so a VPC link id resolves exactly as
//!   for a method declared in the template;
//! - `x-amazon-apigateway-authtype: awsSigv4` on a scheme makes the methods that require it
//!   `AWS_IAM`
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html>);
//! - `x-amazon-apigateway-policy` is the resource policy, `x-amazon-apigateway-endpoint-configuration`
//!   (top level in 2.0, on a server in 3.0) gives `vpcEndpointIds`.
//!
//! The `AWS::ApiGateway::RestApi` properties override the body
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html>:
//! `Name` is required only without a definition, `Policy`, `EndpointConfiguration`, `Parameters`
//! such as `endpointConfigurationTypes` and `basepath`, `Mode`). `BodyS3Location` is refused with
//! what to do instead: a template loaded offline cannot read S3.

use serde_json::{Map, Value, json};
use sha2::Digest;

use super::error::{ErrorKind, type_name};
use super::props::{PropError, Props, comma_list, strings};
use crate::apigw::rest_api::{
    AuthorizationType, AuthorizerConfig, AuthorizerKind, MethodConfig, MethodKey, MethodOrigin,
    ResourceConfig,
};
use crate::model::Model;

/// The verbs an OpenAPI path item may hold that API Gateway imports, as `(key, method)`.
pub const VERBS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// REST APIs' "Resources per API" quota (300;
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html>):
/// the most resources an imported body may create.
pub const MAX_REST_RESOURCES: usize = 300;

/// Which OpenAPI the document declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `swagger: "2.0"`.
    Swagger2,
    /// `openapi: "3.x.y"`.
    OpenApi3,
}

/// An OpenAPI document (the `Body` object).
#[derive(Debug)]
pub struct Document<'a> {
    /// The whole object.
    pub root: &'a Map<String, Value>,
    /// `swagger` or `openapi`, if the document says which.
    pub version: Option<Version>,
    schemes: Option<&'a Map<String, Value>>,
}

/// One operation of `paths`.
#[derive(Debug)]
pub struct Operation<'a> {
    /// The path as written (`/items/{id}`, `$default`).
    pub path: &'a str,
    /// The key in the path item (`get`, `x-amazon-apigateway-any-method`).
    pub key: &'a str,
    /// The method (`GET`, `ANY`).
    pub method: &'static str,
    /// The operation object (`None` when it is not an object).
    pub op: Option<&'a Map<String, Value>>,
    /// Where it is in the template (`Properties.Body.paths./items.get`).
    pub at: String,
}

/// A security requirement of an operation, with its scheme.
#[derive(Debug)]
pub struct SecurityUse<'a> {
    /// The scheme's name.
    pub name: &'a str,
    /// The scheme object, if the document declares it.
    pub scheme: Option<&'a Value>,
    /// The scopes listed in the requirement.
    pub scopes: Vec<String>,
}

impl SecurityUse<'_> {
    /// `x-amazon-apigateway-authtype: awsSigv4`: IAM authorization.
    pub fn is_sigv4(&self) -> bool {
        self.scheme
            .and_then(|s| s.get("x-amazon-apigateway-authtype"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("awsSigv4"))
    }

    /// The scheme's `x-amazon-apigateway-authorizer` object, if any.
    pub fn authorizer(&self) -> Option<&Value> {
        self.scheme
            .and_then(|s| s.get("x-amazon-apigateway-authorizer"))
    }

    /// An API key scheme (`type: apiKey`, `name: x-api-key`) that is neither SigV4 nor an
    /// authorizer: the method requires an API key.
    pub fn is_api_key(&self) -> bool {
        !self.is_sigv4()
            && self.authorizer().is_none()
            && self.scheme.is_some_and(|s| {
                s.get("type").and_then(Value::as_str) == Some("apiKey")
                    && s.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            })
    }
}

impl<'a> Document<'a> {
    /// Reads the document's version and security schemes.
    pub fn new(root: &'a Map<String, Value>) -> Self {
        // YAML reads an unquoted `swagger: 2.0` as a number.
        let text = |k: &str| match root.get(k) {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let version = match (text("swagger"), text("openapi")) {
            (Some(v), _) if v.starts_with('2') => Some(Version::Swagger2),
            (_, Some(v)) if v.starts_with('3') => Some(Version::OpenApi3),
            _ => None,
        };
        let schemes = root
            .get("components")
            .and_then(|c| c.get("securitySchemes"))
            .and_then(Value::as_object)
            .or_else(|| root.get("securityDefinitions").and_then(Value::as_object));
        Self {
            root,
            version,
            schemes,
        }
    }

    /// The declared security schemes (name, object).
    pub fn schemes(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.schemes.into_iter().flat_map(|m| m.iter())
    }

    /// The operations under `paths`, in document order; `at` is where the body is. Structural
    /// errors (a path item that is not an object, more than `limit` operations: `limit_reason`)
    /// go to `errors`; after the limit the walk stops.
    pub fn operations(
        &self,
        at: &str,
        limit: usize,
        limit_reason: &str,
        errors: &mut Vec<PropError>,
    ) -> Vec<Operation<'a>> {
        let mut out = Vec::new();
        let paths_at = format!("{at}.paths");
        let paths = match self.root.get("paths") {
            None | Some(Value::Null) => return out,
            Some(Value::Object(m)) => m,
            Some(other) => {
                errors.push((
                    paths_at,
                    ErrorKind::WrongType {
                        expected: "an object",
                        found: type_name(other),
                    },
                ));
                return out;
            }
        };
        for (path, item) in paths {
            let Value::Object(item) = item else {
                errors.push((
                    format!("{paths_at}.{path}"),
                    ErrorKind::WrongType {
                        expected: "an object",
                        found: type_name(item),
                    },
                ));
                continue;
            };
            for (key, op) in item {
                let Some((key, method)) = VERBS.iter().find(|(k, _)| k == key) else {
                    continue;
                };
                if out.len() == limit {
                    errors.push((
                        paths_at,
                        ErrorKind::Invalid {
                            reason: limit_reason.to_string(),
                        },
                    ));
                    return out;
                }
                out.push(Operation {
                    path,
                    key,
                    method,
                    op: op.as_object(),
                    at: format!("{paths_at}.{path}.{key}"),
                });
            }
        }
        out
    }

    /// The security requirements that apply to `op`: its own `security`, else the document's
    /// (an empty list turns authorization off). The first alternative with schemes is used.
    pub fn security(&self, op: &Operation<'a>) -> Vec<SecurityUse<'a>> {
        let reqs = op
            .op
            .and_then(|o| o.get("security"))
            .or_else(|| self.root.get("security"));
        let Some(Value::Array(reqs)) = reqs else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for req in reqs {
            let Some(obj) = req.as_object() else { continue };
            for (name, scopes) in obj {
                out.push(SecurityUse {
                    name,
                    scheme: self.schemes.and_then(|s| s.get(name)),
                    scopes: strings(Some(scopes)),
                });
            }
        }
        out
    }

    /// The `x-amazon-apigateway-endpoint-configuration` object: top level in 2.0, on the first
    /// server that has one in 3.0 (either place is read for a document of unknown version).
    pub fn endpoint_configuration(&self) -> Option<&'a Map<String, Value>> {
        const KEY: &str = "x-amazon-apigateway-endpoint-configuration";
        self.root.get(KEY).and_then(Value::as_object).or_else(|| {
            self.root
                .get("servers")
                .and_then(Value::as_array)?
                .iter()
                .find_map(|s| s.get(KEY).and_then(Value::as_object))
        })
    }

    /// The base path: 2.0's `basePath`; in 3.0 the first server's `basePath` variable, else its
    /// URL's path beyond `/`.
    pub fn base_path(&self) -> Option<String> {
        if let Some(b) = self.root.get("basePath").and_then(Value::as_str) {
            return Some(b.to_string());
        }
        let server = self.root.get("servers")?.as_array()?.first()?;
        if let Some(b) = server
            .get("variables")
            .and_then(|v| v.get("basePath"))
            .and_then(|b| b.get("default"))
            .and_then(Value::as_str)
        {
            return Some(b.to_string());
        }
        let url = server.get("url")?.as_str()?;
        let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let path = match after_scheme.find('/') {
            Some(i) if url.contains("://") => &after_scheme[i..],
            _ if url.starts_with('/') => url,
            _ => return None,
        };
        // `{basePath}` in the URL with no variable default names nothing.
        (!path.contains('{') && !path.trim_matches('/').is_empty()).then(|| path.to_string())
    }
}

/// A short lower-case id derived from `seed` (imported resources' ids: 6 characters, as
/// API Gateway's).
pub(super) fn short_id(seed: &str, len: usize) -> String {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    digest
        .iter()
        .take(len)
        .map(|b| alphabet[(*b as usize) % alphabet.len()] as char)
        .collect()
}

/// How the import reads the base path (`Parameters: basepath`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasePathMode {
    /// The default: the base path is not part of any resource.
    Ignore,
    /// Resources for every part of the base path precede the paths.
    Prepend,
    /// The topmost part is dropped (it names a stage), the rest is prepended.
    Split,
}

/// What the body says about the API itself (the `RestApi` properties override it).
#[derive(Debug, Default)]
pub struct RestBody {
    /// `info.title`.
    pub title: Option<String>,
    /// `x-amazon-apigateway-policy`.
    pub policy: Option<Value>,
    /// `vpcEndpointIds` of `x-amazon-apigateway-endpoint-configuration`.
    pub vpc_endpoint_ids: Vec<String>,
}

/// Reads the API-level parts of a REST API's body (before the API itself is built).
pub(super) fn rest_body(b: &mut Props<'_>) -> RestBody {
    let doc = Document::new(b.map);
    if doc.version.is_none() {
        // PutRestApi refuses a document that is neither (its text is not recorded: [I]).
        b.invalid(
            "",
            "Invalid OpenAPI input: the document declares neither swagger: \"2.0\" nor openapi: \"3.0.x\"",
        );
    }
    let title = b
        .map
        .get("info")
        .and_then(|i| i.get("title"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let policy = b.json_document(
        "x-amazon-apigateway-policy",
        super::apigw::INVALID_POLICY,
        "a policy document",
    );
    let vpc_endpoint_ids = strings(
        doc.endpoint_configuration()
            .and_then(|e| e.get("vpcEndpointIds")),
    );
    RestBody {
        title,
        policy,
        vpc_endpoint_ids,
    }
}

/// The REST API an import builds into.
#[derive(Debug)]
pub(super) struct RestTarget<'s> {
    /// The API's logical id.
    pub logical_id: &'s str,
    /// The API id.
    pub api_id: &'s str,
    /// Its root resource id.
    pub root_resource_id: &'s str,
    /// The `basepath` import parameter.
    pub base_path: BasePathMode,
}

/// Imports the body's paths as resources and methods of the REST API `t`, into `model.apigw`.
pub(super) fn import_rest(b: &mut Props<'_>, model: &mut Model, t: &RestTarget<'_>) {
    let doc = Document::new(b.map);
    let at = b.path.clone();
    let ops = doc.operations(
        &at,
        MAX_REST_RESOURCES * VERBS.len(),
        "more methods than 300 resources can hold (REST APIs' resources-per-API quota)",
        b.errors,
    );
    let prefix: Vec<String> = match (t.base_path, doc.base_path()) {
        (BasePathMode::Ignore, _) | (_, None) => Vec::new(),
        (mode, Some(base)) => {
            let mut parts: Vec<String> = base
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            if mode == BasePathMode::Split && !parts.is_empty() {
                parts.remove(0);
            }
            parts
        }
    };
    // Full path -> resource id; "/" is the root.
    let mut ids: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    ids.insert("/".into(), t.root_resource_id.to_string());
    let mut created = 0usize;
    let mut seen_methods = std::collections::HashSet::new();
    for op in &ops {
        let parts: Vec<String> = prefix
            .iter()
            .cloned()
            .chain(
                op.path
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            )
            .collect();
        let path_at = format!("{at}.paths.{}", op.path);
        if !op.path.starts_with('/') {
            b.errors.push((
                path_at,
                ErrorKind::Invalid {
                    reason: format!("Invalid resource path {:?}: a path starts with /", op.path),
                },
            ));
            continue;
        }
        let mut parent = t.root_resource_id.to_string();
        let mut full = String::new();
        let mut ok = true;
        for (i, part) in parts.iter().enumerate() {
            full.push('/');
            full.push_str(part);
            if let Some(id) = ids.get(&full) {
                parent = id.clone();
                continue;
            }
            let greedy_not_last = part.ends_with("+}") && i + 1 != parts.len();
            if !super::apigw::valid_path_part(part) || greedy_not_last {
                b.errors.push((
                    path_at.clone(),
                    ErrorKind::Invalid {
                        reason: format!(
                            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. Got {part:?}"
                        ),
                    },
                ));
                ok = false;
                break;
            }
            created += 1;
            if created > MAX_REST_RESOURCES {
                b.errors.push((
                    format!("{at}.paths"),
                    ErrorKind::Invalid {
                        reason: format!(
                            "more than {MAX_REST_RESOURCES} resources (REST APIs' resources-per-API quota)"
                        ),
                    },
                ));
                return;
            }
            let mut id = short_id(&format!("{}/resource{full}", t.api_id), 6);
            let mut salt = 0;
            while ids.values().any(|v| *v == id) {
                salt += 1;
                id = short_id(&format!("{}/resource{full}#{salt}", t.api_id), 6);
            }
            ids.insert(full.clone(), id.clone());
            model.apigw.resources.push(ResourceConfig {
                logical_id: t.logical_id.to_string(),
                id: id.clone(),
                rest_api_id: t.api_id.to_string(),
                parent_id: parent.clone(),
                path_part: part.clone(),
            });
            parent = id;
        }
        if !ok {
            continue;
        }
        let Some(operation) = op.op else {
            let found = b
                .map
                .get("paths")
                .and_then(|p| p.get(op.path))
                .and_then(|i| i.get(op.key))
                .map(type_name)
                .unwrap_or_default();
            b.errors.push((
                op.at.clone(),
                ErrorKind::WrongType {
                    expected: "an object",
                    found,
                },
            ));
            continue;
        };
        if !seen_methods.insert((parent.clone(), op.method)) {
            continue;
        }
        let mut authorization = AuthorizationType::None;
        let mut authorizer = None;
        let mut api_key_required = false;
        for s in doc.security(op) {
            if s.is_sigv4() {
                authorization = AuthorizationType::AwsIam;
            } else if s.is_api_key() {
                api_key_required = true;
            } else if let Some(a) = s.authorizer() {
                match authorizer_of(&s, a, t) {
                    Ok(config) => {
                        authorization = match config.kind {
                            AuthorizerKind::CognitoUserPools => AuthorizationType::CognitoUserPools,
                            _ => AuthorizationType::Custom,
                        };
                        authorizer = Some(config.id.clone());
                        // One authorizer per scheme, as the import creates them.
                        if model.apigw.authorizer(t.api_id, &config.id).is_none() {
                            model.apigw.authorizers.push(config);
                        }
                    }
                    Err(reason) => b.errors.push((
                        format!("{at}.securitySchemes.{}", s.name),
                        ErrorKind::Invalid { reason },
                    )),
                }
            }
        }
        let integration = match operation.get("x-amazon-apigateway-integration") {
            None | Some(Value::Null) => None,
            Some(Value::Object(x)) => {
                let x_at = format!("{}.x-amazon-apigateway-integration", op.at);
                integration(x, &x_at, b.errors)
            }
            Some(other) => {
                b.errors.push((
                    format!("{}.x-amazon-apigateway-integration", op.at),
                    ErrorKind::WrongType {
                        expected: "an object",
                        found: type_name(other),
                    },
                ));
                None
            }
        };
        let Some(http_method) = MethodKey::parse(op.method) else {
            continue;
        };
        model.apigw.methods.push(MethodConfig {
            logical_id: t.logical_id.to_string(),
            rest_api_id: t.api_id.to_string(),
            resource_id: parent,
            http_method,
            authorization,
            integration,
            authorizer_id: authorizer,
            api_key_required,
            origin: MethodOrigin::OpenApi { at: op.at.clone() },
        });
    }
}

/// The authorizer of a security scheme's `x-amazon-apigateway-authorizer`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html>):
/// `type` `token` (the default), `request` or `cognito_user_pools`; `identitySource` (comma
/// separated for `request`), else the scheme's header (`name`, `in: header`).
fn authorizer_of(
    s: &SecurityUse<'_>,
    a: &Value,
    t: &RestTarget<'_>,
) -> Result<AuthorizerConfig, String> {
    let kind = match a
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("token") => AuthorizerKind::Token,
        Some("request") => AuthorizerKind::Request,
        Some("cognito_user_pools") => AuthorizerKind::CognitoUserPools,
        Some(other) => {
            return Err(format!(
                "Invalid authorizer type {other:?}: token, request or cognito_user_pools"
            ));
        }
    };
    let mut identity_sources: Vec<String> = a
        .get("identitySource")
        .and_then(Value::as_str)
        .map(comma_list)
        .unwrap_or_default();
    if identity_sources.is_empty() && kind != AuthorizerKind::Request {
        let header = s
            .scheme
            .filter(|x| x.get("in").and_then(Value::as_str) == Some("header"))
            .and_then(|x| x.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("Authorization");
        identity_sources.push(format!("method.request.header.{header}"));
    }
    Ok(AuthorizerConfig {
        logical_id: t.logical_id.to_string(),
        id: short_id(&format!("{}/authorizer/{}", t.api_id, s.name), 6),
        rest_api_id: t.api_id.to_string(),
        name: s.name.to_string(),
        kind,
        identity_sources,
    })
}

/// `x-amazon-apigateway-integration` key -> `AWS::ApiGateway::Method` `Integration` key (the
/// same API fields, in CloudFormation's spelling).
const INTEGRATION_KEYS: &[(&str, &str)] = &[
    ("type", "Type"),
    ("httpMethod", "IntegrationHttpMethod"),
    ("uri", "Uri"),
    ("connectionType", "ConnectionType"),
    ("connectionId", "ConnectionId"),
    ("integrationTarget", "IntegrationTarget"),
    ("timeoutInMillis", "TimeoutInMillis"),
    ("requestTemplates", "RequestTemplates"),
    ("requestParameters", "RequestParameters"),
    ("passthroughBehavior", "PassthroughBehavior"),
    ("credentials", "Credentials"),
    ("contentHandling", "ContentHandling"),
    ("cacheNamespace", "CacheNamespace"),
    ("cacheKeyParameters", "CacheKeyParameters"),
    ("tlsConfig", "TlsConfig"),
];

/// `responses` entry key -> `IntegrationResponses[i]` key.
const RESPONSE_KEYS: &[(&str, &str)] = &[
    ("statusCode", "StatusCode"),
    ("responseTemplates", "ResponseTemplates"),
    ("responseParameters", "ResponseParameters"),
    ("contentHandling", "ContentHandling"),
];

/// The `x-amazon-apigateway-integration` object in `Integration`'s spelling, and the `responses`
/// keys in the order of `IntegrationResponses`.
fn as_cfn_integration(x: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    for (k, v) in x {
        let Some((_, cfn)) = INTEGRATION_KEYS.iter().find(|(o, _)| o == k) else {
            continue;
        };
        // The extension writes enum values in lower case (`http_proxy`, `when_no_match`).
        let v = match (*cfn, v) {
            (
                "Type" | "IntegrationHttpMethod" | "PassthroughBehavior" | "ConnectionType",
                Value::String(s),
            ) => {
                json!(s.to_ascii_uppercase())
            }
            _ => v.clone(),
        };
        out.insert(cfn.to_string(), v);
    }
    let mut keys = Vec::new();
    if let Some(Value::Object(responses)) = x.get("responses") {
        let mut list = Vec::new();
        for (pattern, r) in responses {
            let mut entry = Map::new();
            if let Value::Object(r) = r {
                for (k, v) in r {
                    if let Some((_, cfn)) = RESPONSE_KEYS.iter().find(|(o, _)| o == k) {
                        entry.insert(cfn.to_string(), v.clone());
                    }
                }
            }
            if pattern != "default" {
                entry.insert("SelectionPattern".into(), json!(pattern));
            }
            list.push(Value::Object(entry));
            keys.push(pattern.clone());
        }
        out.insert("IntegrationResponses".into(), Value::Array(list));
    } else if let Some(other) = x.get("responses") {
        out.insert("IntegrationResponses".into(), other.clone());
    }
    (out, keys)
}

/// Maps an error path under `Integration`'s spelling back to the body's keys.
fn body_path(x_at: &str, cfn_path: &str, response_keys: &[String]) -> String {
    let Some(rest) = cfn_path.strip_prefix(x_at) else {
        return cfn_path.to_string();
    };
    let rest = rest.trim_start_matches('.');
    if rest.is_empty() {
        return x_at.to_string();
    }
    let (first, tail) = rest.split_once('.').unwrap_or((rest, ""));
    let mapped = if let Some(i) = first
        .strip_prefix("IntegrationResponses[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|i| i.parse::<usize>().ok())
    {
        let key = response_keys.get(i).cloned().unwrap_or_default();
        let (t0, t1) = tail.split_once('.').unwrap_or((tail, ""));
        let inner = RESPONSE_KEYS
            .iter()
            .find(|(_, c)| *c == t0)
            .map(|(o, _)| o.to_string())
            .unwrap_or_default();
        let mut p = format!("responses.{key}");
        if !inner.is_empty() {
            p = format!("{p}.{inner}");
            if !t1.is_empty() {
                p = format!("{p}.{t1}");
            }
        }
        return format!("{x_at}.{p}");
    } else if first == "IntegrationResponses" {
        "responses".to_string()
    } else {
        INTEGRATION_KEYS
            .iter()
            .find(|(_, c)| *c == first)
            .map(|(o, _)| o.to_string())
            .unwrap_or_else(|| first.to_string())
    };
    if tail.is_empty() {
        format!("{x_at}.{mapped}")
    } else {
        format!("{x_at}.{mapped}.{tail}")
    }
}

/// Reads an `x-amazon-apigateway-integration` object with the `Integration` reader; errors name
/// the body's keys.
fn integration(
    x: &Map<String, Value>,
    x_at: &str,
    errors: &mut Vec<PropError>,
) -> Option<crate::apigw::rest_api::IntegrationConfig> {
    let (cfn, keys) = as_cfn_integration(x);
    let mut own = Vec::new();
    let out = {
        let mut r = Props::new(&cfn, x_at, &mut own);
        super::apigw::integration(&mut r)
    };
    for (path, kind) in own {
        let kind = match kind {
            ErrorKind::Missing { name } => ErrorKind::Missing {
                name: INTEGRATION_KEYS
                    .iter()
                    .find(|(_, c)| *c == name)
                    .map(|(o, _)| o.to_string())
                    .unwrap_or(name),
            },
            other => other,
        };
        errors.push((body_path(x_at, &path, &keys), kind));
    }
    out
}

/// The template path of a method's integration property (`cfn_key` in `Integration`'s
/// spelling, e.g. `ConnectionId`), for cross-resource errors.
pub(super) fn integration_path(origin: &MethodOrigin, cfn_key: &str) -> String {
    match origin {
        MethodOrigin::Template => format!("Properties.Integration.{cfn_key}"),
        MethodOrigin::OpenApi { at } => {
            let x_at = format!("{at}.x-amazon-apigateway-integration");
            body_path(&x_at, &format!("{x_at}.{cfn_key}"), &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn operations_and_security_of_both_versions() {
        let d = doc(json!({
            "swagger": "2.0",
            "security": [{"sig": []}],
            "securityDefinitions": {"sig": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
                                     "key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
            "paths": {"/a": {"get": {}, "parameters": [], "x-amazon-apigateway-any-method": {"security": []}},
                      "/b": {"post": {"security": [{"key": []}]}}}
        }));
        let d = Document::new(&d);
        assert_eq!(d.version, Some(Version::Swagger2));
        let mut errors = Vec::new();
        let ops = d.operations("Properties.Body", 10, "too many", &mut errors);
        let names: Vec<_> = ops.iter().map(|o| (o.path, o.method)).collect();
        assert_eq!(names, [("/a", "GET"), ("/a", "ANY"), ("/b", "POST")]);
        assert!(d.security(&ops[0])[0].is_sigv4());
        assert!(d.security(&ops[1]).is_empty());
        assert!(d.security(&ops[2])[0].is_api_key());
        assert_eq!(ops[2].at, "Properties.Body.paths./b.post");
        assert!(d.operations("B", 2, "too many", &mut errors).len() == 2);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn base_path_of_both_versions() {
        let two = doc(json!({"swagger": "2.0", "basePath": "/a/b"}));
        assert_eq!(Document::new(&two).base_path().as_deref(), Some("/a/b"));
        let var = doc(
            json!({"openapi": "3.0.1", "servers": [{"url": "https://x/{basePath}", "variables": {"basePath": {"default": "/v1"}}}]}),
        );
        assert_eq!(Document::new(&var).base_path().as_deref(), Some("/v1"));
        let url =
            doc(json!({"openapi": "3.0.1", "servers": [{"url": "https://x.example.com/prod/v2"}]}));
        assert_eq!(Document::new(&url).base_path().as_deref(), Some("/prod/v2"));
        let none = doc(json!({"openapi": "3.0.1", "servers": [{"url": "https://x.example.com/"}]}));
        assert_eq!(Document::new(&none).base_path(), None);
    }

    #[test]
    fn integration_errors_name_the_body_keys() {
        let x = "P.Body.paths./.get.x-amazon-apigateway-integration";
        assert_eq!(body_path(x, &format!("{x}.Uri"), &[]), format!("{x}.uri"));
        assert_eq!(
            body_path(
                x,
                &format!("{x}.IntegrationResponses[1].StatusCode"),
                &["default".into(), "4\\d{2}".into()]
            ),
            format!("{x}.responses.4\\d{{2}}.statusCode")
        );
        assert_eq!(
            integration_path(
                &MethodOrigin::OpenApi {
                    at: "P.Body.paths./.get".into()
                },
                "ConnectionId"
            ),
            format!("{x}.connectionId")
        );
    }
}
