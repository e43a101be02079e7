//! Typed conversion of the HTTP API (API Gateway v2) CloudFormation types into
//! [`crate::apigw::http_api`]'s model: `AWS::ApiGatewayV2::Api` (with routes and integrations
//! from an OpenAPI `Body`, or quick create's `Target`), `::Route`, `::Integration`, `::Stage`,
//! `::Authorizer`, `::Deployment` (the VPC link is [`super::apigw`]'s).
//!
//! Checks as CreateApi, CreateRoute, CreateIntegration, CreateStage and CreateAuthorizer make
//! them (BadRequestException texts where known, [I] otherwise); `finish` checks the references
//! across resources.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::error::ErrorKind;
use super::openapi::short_id;
use super::props::{PropError, Props, reference, strings};
use super::template::ResolvedResource;
use crate::apigw::http_api::api::{MAX_TIMEOUT_MS, MIN_TIMEOUT_MS};
use crate::apigw::http_api::mapping::ParameterMapping;
use crate::apigw::http_api::route::RouteKey;
use crate::apigw::http_api::{
    HttpApiConfig, HttpConnection, HttpIntegrationConfig, HttpRouteConfig, HttpStageConfig,
    JwtAuthorizerConfig, RouteAuth,
};
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Deployment",
];

/// The most paths × methods an OpenAPI `Body` may declare (HTTP APIs' quota: 300 routes per
/// API, http-api-quotas.html).
pub const MAX_ROUTES: usize = 300;

/// Converts one resource into `model.apigw.http`; returns its errors.
pub(crate) fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let reference = reference(r);
    let id = r.logical_id.clone();
    let http = &mut model.apigw.http;
    match r.ty.as_str() {
        "AWS::ApiGatewayV2::Api" => {
            match p.opt_str("ProtocolType").as_deref() {
                Some("HTTP") => {}
                None if p.has("Body") => {}
                None => p.missing("ProtocolType"),
                Some("WEBSOCKET") => {
                    p.invalid("ProtocolType", "WEBSOCKET APIs are not emulated (HTTP is)")
                }
                Some(other) => p.invalid(
                    "ProtocolType",
                    format!("Invalid protocol type {other}: HTTP or WEBSOCKET"),
                ),
            }
            if p.has("BodyS3Location") {
                p.invalid(
                    "BodyS3Location",
                    "BodyS3Location cannot be read offline: map it to a local file in the environment file's S3Objects, or give the OpenAPI definition as Body",
                );
            }
            let name = p
                .opt_str("Name")
                .or_else(|| {
                    p.map
                        .get("Body")
                        .and_then(|b| b.pointer("/info/title"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| id.clone());
            let disable = p.opt_bool("DisableExecuteApiEndpoint").unwrap_or(false);
            http.apis.push(HttpApiConfig {
                logical_id: id.clone(),
                id: reference.clone(),
                name,
                disable_execute_api_endpoint: disable,
            });
            if let Some((path, body)) = p.object("Body") {
                let mut b = p.child(path, body);
                openapi(&mut b, http, &reference);
            }
            // Quick create: Target (+ RouteKey) makes an integration, a route and an
            // auto-deployed $default stage (aws-resource-apigatewayv2-api.html, "Target").
            if let Some(target) = p.opt_str("Target") {
                let key_text = p.opt_str("RouteKey").unwrap_or_else(|| "$default".into());
                match RouteKey::parse(&key_text) {
                    Ok(key) => {
                        let integration_id = short_id(&format!("{reference}/quick"), 7);
                        http.integrations.push(HttpIntegrationConfig {
                            logical_id: format!("{id}.Target"),
                            id: integration_id.clone(),
                            api_id: reference.clone(),
                            method: None,
                            connection: HttpConnection::Internet { uri: target },
                            timeout: crate::apigw::http_api::api::DEFAULT_TIMEOUT,
                            payload_format_version: "1.0".into(),
                            request_parameters: Vec::new(),
                        });
                        http.routes.push(HttpRouteConfig {
                            logical_id: format!("{id}.RouteKey"),
                            id: short_id(&format!("{reference}/quick-route"), 7),
                            api_id: reference.clone(),
                            key,
                            auth: RouteAuth::None,
                            integration_id: Some(integration_id),
                        });
                        http.stages.push(HttpStageConfig {
                            logical_id: format!("{id}.$default"),
                            api_id: reference,
                            name: "$default".into(),
                            auto_deploy: true,
                            deployment_id: None,
                            variables: BTreeMap::new(),
                        });
                    }
                    Err(e) => p.invalid("RouteKey", e),
                }
            }
        }
        "AWS::ApiGatewayV2::Route" => {
            let api_id = p.str("ApiId").unwrap_or_default();
            let Some(key_text) = p.str("RouteKey") else {
                return errors;
            };
            let key = match RouteKey::parse(&key_text) {
                Ok(k) => k,
                Err(e) => {
                    p.invalid("RouteKey", e);
                    return errors;
                }
            };
            let scopes = p.str_list("AuthorizationScopes");
            let auth = match p.opt_str("AuthorizationType").as_deref() {
                None | Some("NONE") => RouteAuth::None,
                Some("AWS_IAM") => RouteAuth::AwsIam,
                Some("JWT") => match p.opt_str("AuthorizerId") {
                    Some(authorizer_id) => RouteAuth::Jwt {
                        authorizer_id,
                        scopes,
                    },
                    None => {
                        p.invalid("AuthorizerId", "AuthorizerId is required for JWT routes");
                        RouteAuth::None
                    }
                },
                Some("CUSTOM") => {
                    p.invalid(
                        "AuthorizationType",
                        "Lambda (CUSTOM) authorizers are not emulated (NONE, AWS_IAM, JWT are)",
                    );
                    RouteAuth::None
                }
                Some(other) => {
                    p.invalid(
                        "AuthorizationType",
                        format!("Invalid authorization type {other}: NONE, AWS_IAM, CUSTOM, JWT"),
                    );
                    RouteAuth::None
                }
            };
            let integration_id = match p.opt_str("Target") {
                None => None,
                Some(t) => match t.strip_prefix("integrations/") {
                    Some(i) if !i.is_empty() => Some(i.to_string()),
                    _ => {
                        p.invalid(
                            "Target",
                            format!("Invalid target {t}: integrations/{{IntegrationId}}"),
                        );
                        None
                    }
                },
            };
            http.routes.push(HttpRouteConfig {
                logical_id: id,
                id: reference,
                api_id,
                key,
                auth,
                integration_id,
            });
        }
        "AWS::ApiGatewayV2::Integration" => {
            let api_id = p.str("ApiId").unwrap_or_default();
            let props = IntegrationProps {
                ty: p.str("IntegrationType"),
                uri: p.opt_str("IntegrationUri"),
                method: p.opt_str("IntegrationMethod"),
                connection_type: p.opt_str("ConnectionType"),
                connection_id: p.opt_str("ConnectionId"),
                timeout: p.opt_str("TimeoutInMillis"),
                payload: p.opt_str("PayloadFormatVersion"),
                server_name: p
                    .map
                    .get("TlsConfig")
                    .and_then(|t| t.get("ServerNameToVerify"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parameters: p.string_map("RequestParameters"),
            };
            if let Some(i) = integration(&mut p, props, id, reference, api_id) {
                http.integrations.push(i);
            }
        }
        "AWS::ApiGatewayV2::Stage" => {
            let api_id = p.str("ApiId").unwrap_or_default();
            let name = p.str("StageName").unwrap_or_default();
            if name != "$default"
                && !name.is_empty()
                && !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                p.invalid(
                    "StageName",
                    "Stage name only allows a-zA-Z0-9_ and hyphen, or $default",
                );
            }
            let auto_deploy = p.opt_bool("AutoDeploy").unwrap_or(false);
            let deployment_id = p.opt_str("DeploymentId");
            let variables = p.string_map("StageVariables");
            http.stages.push(HttpStageConfig {
                logical_id: id,
                api_id,
                name,
                auto_deploy,
                deployment_id,
                variables,
            });
        }
        "AWS::ApiGatewayV2::Authorizer" => {
            let api_id = p.str("ApiId").unwrap_or_default();
            let name = p.str("Name").unwrap_or_default();
            match p.str("AuthorizerType").as_deref() {
                Some("JWT") => {}
                Some("REQUEST") => {
                    p.invalid(
                        "AuthorizerType",
                        "Lambda (REQUEST) authorizers are not emulated (JWT is)",
                    );
                    return errors;
                }
                Some(other) => {
                    p.invalid(
                        "AuthorizerType",
                        format!("Invalid authorizer type {other}: REQUEST or JWT"),
                    );
                    return errors;
                }
                None => return errors,
            }
            let sources = p.str_list("IdentitySource");
            let identity_source = sources
                .first()
                .cloned()
                .unwrap_or_else(|| "$request.header.Authorization".into());
            if !identity_source.starts_with("$request.header.")
                && !identity_source.starts_with("$request.querystring.")
            {
                p.invalid(
                    "IdentitySource",
                    format!("Invalid identity source {identity_source}: a JWT authorizer reads $request.header.<name> or $request.querystring.<name>"),
                );
            }
            let Some((path, jwt)) = p.object("JwtConfiguration") else {
                p.missing("JwtConfiguration");
                return errors;
            };
            let mut j = p.child(path, jwt);
            let issuer = j.str("Issuer").unwrap_or_default();
            let audience = j.str_list("Audience");
            if audience.is_empty() {
                j.missing("Audience");
            }
            http.authorizers.push(JwtAuthorizerConfig {
                logical_id: id,
                id: reference,
                api_id,
                name,
                issuer,
                audience,
                identity_source,
            });
        }
        _ => {
            // AWS::ApiGatewayV2::Deployment: stages name it; nothing else to keep.
            let _ = p.str("ApiId");
        }
    }
    errors
}

struct IntegrationProps {
    ty: Option<String>,
    uri: Option<String>,
    method: Option<String>,
    connection_type: Option<String>,
    connection_id: Option<String>,
    timeout: Option<String>,
    payload: Option<String>,
    server_name: Option<String>,
    parameters: BTreeMap<String, String>,
}

fn integration(
    c: &mut Props<'_>,
    props: IntegrationProps,
    logical_id: String,
    id: String,
    api_id: String,
) -> Option<HttpIntegrationConfig> {
    let ty = props.ty?;
    match ty.to_ascii_uppercase().as_str() {
        "HTTP_PROXY" => {}
        "AWS_PROXY" => {
            // Lambda functions and AWS service integrations do not run here: the integration
            // loads (CloudFormation deploys it) and answers as an unreachable one.
            let timeout = props
                .timeout
                .and_then(|t| t.parse::<u64>().ok())
                .filter(|ms| (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(ms))
                .map(Duration::from_millis)
                .unwrap_or(crate::apigw::http_api::api::DEFAULT_TIMEOUT);
            return Some(HttpIntegrationConfig {
                logical_id,
                id,
                api_id,
                method: None,
                connection: HttpConnection::NotEmulated {
                    integration_type: "AWS_PROXY".into(),
                    uri: props.uri.unwrap_or_default(),
                },
                timeout,
                payload_format_version: props.payload.unwrap_or_else(|| "2.0".into()),
                request_parameters: Vec::new(),
            });
        }
        _ => {
            c.invalid(
                "IntegrationType",
                format!("Invalid integration type {ty}: HTTP_PROXY or AWS_PROXY for HTTP APIs"),
            );
            return None;
        }
    }
    let timeout = match props.timeout {
        None => crate::apigw::http_api::api::DEFAULT_TIMEOUT,
        Some(text) => match text.parse::<u64>() {
            Ok(ms) if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) => Duration::from_millis(ms),
            _ => {
                c.invalid(
                    "TimeoutInMillis",
                    format!(
                        "Timeout must be between {MIN_TIMEOUT_MS} ms and {MAX_TIMEOUT_MS} ms (got {text})"
                    ),
                );
                return None;
            }
        },
    };
    let payload_format_version = props.payload.unwrap_or_else(|| "1.0".into());
    if payload_format_version != "1.0" {
        // http-api-develop-integrations-http.html: HTTP proxy integrations use 1.0.
        c.invalid(
            "PayloadFormatVersion",
            format!(
                "PayloadFormatVersion {payload_format_version} is not supported for HTTP_PROXY integrations: 1.0"
            ),
        );
        return None;
    }
    let method = match props.method.as_deref() {
        None | Some("ANY") => None,
        Some(m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS")) => {
            http::Method::from_bytes(m.as_bytes()).ok()
        }
        Some(other) => {
            c.invalid("IntegrationMethod", format!("Invalid HTTP method {other}"));
            return None;
        }
    };
    let Some(uri) = props.uri else {
        c.missing("IntegrationUri");
        return None;
    };
    let connection = match props.connection_type.as_deref() {
        None | Some("INTERNET") => {
            if !super::apigw::http_endpoint(c, "IntegrationUri", &uri) {
                return None;
            }
            HttpConnection::Internet { uri }
        }
        Some("VPC_LINK") => {
            let Some(vpc_link_id) = props.connection_id else {
                c.missing("ConnectionId");
                return None;
            };
            if !uri.starts_with("arn:") || !uri.contains(":listener/") {
                c.invalid(
                    "IntegrationUri",
                    format!(
                        "Invalid integration URI {uri}: a private integration names an ALB or NLB listener ARN (Cloud Map services are not emulated)"
                    ),
                );
                return None;
            }
            HttpConnection::VpcLink {
                vpc_link_id,
                listener_arn: uri,
                server_name_to_verify: props.server_name,
            }
        }
        Some(other) => {
            c.invalid(
                "ConnectionType",
                format!("Invalid connection type {other}: INTERNET or VPC_LINK"),
            );
            return None;
        }
    };
    let mut request_parameters = Vec::new();
    for (k, v) in &props.parameters {
        match ParameterMapping::parse(k, v) {
            Ok(m) => request_parameters.push(m),
            Err(e) => c.invalid("RequestParameters", e),
        }
    }
    Some(HttpIntegrationConfig {
        logical_id,
        id,
        api_id,
        method,
        connection,
        timeout,
        payload_format_version,
        request_parameters,
    })
}

/// Routes, integrations and JWT authorizers from an OpenAPI 3 `Body`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-open-api.html>,
/// `x-amazon-apigateway-integration`, `x-amazon-apigateway-any-method`, security schemes with
/// `x-amazon-apigateway-authtype: awsSigv4` or `x-amazon-apigateway-authorizer` of type `jwt`).
fn openapi(b: &mut Props<'_>, http: &mut crate::apigw::http_api::HttpApiModel, api_id: &str) {
    let doc = super::openapi::Document::new(b.map);
    for (name, scheme) in doc.schemes() {
        if let Some(a) = scheme.get("x-amazon-apigateway-authorizer")
            && a.get("type").and_then(Value::as_str) == Some("jwt")
        {
            let jwt = a.get("jwtConfiguration").cloned().unwrap_or(Value::Null);
            http.authorizers.push(JwtAuthorizerConfig {
                logical_id: format!("{api_id}.{name}"),
                id: short_id(&format!("{api_id}/authorizer/{name}"), 6),
                api_id: api_id.to_string(),
                name: name.clone(),
                issuer: jwt
                    .get("issuer")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                audience: strings(jwt.get("audience")),
                identity_source: a
                    .get("identitySource")
                    .and_then(Value::as_str)
                    .unwrap_or("$request.header.Authorization")
                    .to_string(),
            });
        }
    }
    let body_at = b.path.clone();
    let ops = doc.operations(
        &body_at,
        MAX_ROUTES,
        &format!("more than {MAX_ROUTES} routes (HTTP APIs' quota)"),
        b.errors,
    );
    for op in ops {
        let at = op.at.clone();
        let key_text = if op.path == "$default" {
            "$default".to_string()
        } else {
            format!("{} {}", op.method, op.path)
        };
        let key = match RouteKey::parse(&key_text) {
            Ok(k) => k,
            Err(e) => {
                b.errors.push((at, ErrorKind::Invalid { reason: e }));
                continue;
            }
        };
        let Some(o) = op.op else { continue };
        let mut auth = RouteAuth::None;
        for s in doc.security(&op) {
            if s.is_sigv4() {
                auth = RouteAuth::AwsIam;
            } else if s.authorizer().is_some() {
                auth = RouteAuth::Jwt {
                    authorizer_id: short_id(&format!("{api_id}/authorizer/{}", s.name), 6),
                    scopes: s.scopes.clone(),
                };
            }
        }
        let integration_id = match o.get("x-amazon-apigateway-integration") {
            Some(Value::Object(x)) => {
                let mut r =
                    Props::new(x, format!("{at}.x-amazon-apigateway-integration"), b.errors);
                let s = |k: &str| {
                    x.get(k).and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                };
                let props = IntegrationProps {
                    ty: s("type").or(Some("".into())),
                    uri: s("uri"),
                    method: s("httpMethod"),
                    connection_type: s("connectionType"),
                    connection_id: s("connectionId"),
                    timeout: s("timeoutInMillis"),
                    payload: s("payloadFormatVersion"),
                    server_name: x
                        .get("tlsConfig")
                        .and_then(|t| t.get("serverNameToVerify"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    parameters: x
                        .get("requestParameters")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let iid = short_id(&format!("{api_id}/integration/{key_text}"), 7);
                integration(&mut r, props, at.clone(), iid.clone(), api_id.to_string()).map(|i| {
                    http.integrations.push(i);
                    iid
                })
            }
            _ => None,
        };
        http.routes.push(HttpRouteConfig {
            logical_id: at,
            id: short_id(&format!("{api_id}/route/{key_text}"), 7),
            api_id: api_id.to_string(),
            key,
            auth,
            integration_id,
        });
    }
}

/// Cross-resource checks: (logical id, error).
pub(crate) fn finish(model: &Model) -> Vec<(String, PropError)> {
    let h = &model.apigw.http;
    let mut errors = Vec::new();
    let mut push = |id: &str, path: &str, reason: String| {
        errors.push((
            id.to_string(),
            (path.to_string(), ErrorKind::Invalid { reason }),
        ))
    };
    let mut seen = std::collections::HashSet::new();
    for r in &h.routes {
        if h.api(&r.api_id).is_none() {
            push(
                &r.logical_id,
                "Properties.ApiId",
                format!("Invalid API identifier specified {}", r.api_id),
            );
            continue;
        }
        if !seen.insert((r.api_id.clone(), r.key.to_string())) {
            push(
                &r.logical_id,
                "Properties.RouteKey",
                format!(
                    "Unable to create route {}: the specified route already exists",
                    r.key
                ),
            );
        }
        if let Some(i) = &r.integration_id
            && !h
                .integrations
                .iter()
                .any(|x| &x.id == i && x.api_id == r.api_id)
        {
            push(
                &r.logical_id,
                "Properties.Target",
                format!("Invalid integration identifier specified {i}"),
            );
        }
        if let RouteAuth::Jwt { authorizer_id, .. } = &r.auth
            && !h
                .authorizers
                .iter()
                .any(|a| &a.id == authorizer_id && a.api_id == r.api_id)
        {
            push(
                &r.logical_id,
                "Properties.AuthorizerId",
                format!("Invalid authorizer identifier specified {authorizer_id}"),
            );
        }
    }
    for i in &h.integrations {
        if h.api(&i.api_id).is_none() {
            push(
                &i.logical_id,
                "Properties.ApiId",
                format!("Invalid API identifier specified {}", i.api_id),
            );
        }
        if let HttpConnection::VpcLink {
            vpc_link_id,
            listener_arn,
            ..
        } = &i.connection
        {
            let link = model.apigw.vpc_links.iter().find(|l| &l.id == vpc_link_id);
            if link.is_none() {
                push(
                    &i.logical_id,
                    "Properties.ConnectionId",
                    format!("Invalid VPC link identifier specified {vpc_link_id}"),
                );
            }
            let lb = model.listener_load_balancer(listener_arn);
            match (lb, link) {
                (None, _) => push(
                    &i.logical_id,
                    "Properties.IntegrationUri",
                    format!(
                        "Invalid integration URI {listener_arn}: not a listener in this scenario"
                    ),
                ),
                (Some((name, vpc_id)), Some(link)) if vpc_id != link.vpc_id => push(
                    &i.logical_id,
                    "Properties.IntegrationUri",
                    format!(
                        "the load balancer {name} is in {vpc_id} but VPC link {} is in {}",
                        link.id, link.vpc_id
                    ),
                ),
                _ => {}
            }
        }
    }
    let mut stages = std::collections::HashSet::new();
    for s in &h.stages {
        if h.api(&s.api_id).is_none() {
            push(
                &s.logical_id,
                "Properties.ApiId",
                format!("Invalid API identifier specified {}", s.api_id),
            );
        }
        if !stages.insert((s.api_id.clone(), s.name.clone())) {
            push(
                &s.logical_id,
                "Properties.StageName",
                format!("Stage already exists: {}", s.name),
            );
        }
    }
    for a in &h.authorizers {
        if h.api(&a.api_id).is_none() {
            push(
                &a.logical_id,
                "Properties.ApiId",
                format!("Invalid API identifier specified {}", a.api_id),
            );
        }
    }
    errors
}

/// `Vpcgate.Jwks`: issuer -> JWKS document (`{"keys": [...]}`); every key an RSA key with `n`
/// and `e`.
pub(crate) fn apply_jwks(
    jwks: &BTreeMap<String, Value>,
    model: &mut Model,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (issuer, doc) in jwks {
        let at = format!("Vpcgate.Jwks.{issuer}");
        match doc.get("keys").and_then(Value::as_array) {
            Some(keys) => {
                for (i, k) in keys.iter().enumerate() {
                    let ok = k.get("kty").and_then(Value::as_str) == Some("RSA")
                        && k.get("n").and_then(Value::as_str).is_some()
                        && k.get("e").and_then(Value::as_str).is_some();
                    if !ok {
                        errors.push((
                            format!("{at}.keys[{i}]"),
                            "an RSA JSON Web Key with kty, n and e (RS256 is what HTTP API JWT authorizers verify)".to_string(),
                        ));
                    }
                }
            }
            None => errors.push((at, "a JWKS document: {\"keys\": [...]}".to_string())),
        }
        model.apigw.http.jwks.insert(issuer.clone(), doc.clone());
    }
    errors
}
