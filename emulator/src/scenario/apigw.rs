//! Typed conversion of the API Gateway CloudFormation types into [`crate::apigw`]'s model:
//! `AWS::ApiGateway::RestApi`, `::Resource`, `::Method`, `::Deployment`, `::Stage` and
//! `AWS::ApiGatewayV2::VpcLink`.
//!
//! `convert` reads one resource's properties with the checks API Gateway makes when it is
//! created (messages as `CreateRestApi`, `PutIntegration`, … word them where known);
//! `finish` checks what only the whole stack can tell: every id a method, stage or deployment
//! names exists, a VPC link and its load balancer share a VPC, a deployment has methods.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::error::ErrorKind;
use super::props::{PropError, Props, attr, comma_list, reference};
use super::template::ResolvedResource;
use crate::apigw::rest_api::{
    AuthorizationType, AuthorizerConfig, AuthorizerKind, Connection, DEFAULT_INTEGRATION_TIMEOUT,
    DEFAULT_MAX_INTEGRATION_TIMEOUT_MS, DeploymentConfig, EndpointType, IntegrationConfig,
    IntegrationKind, IntegrationResponseConfig, MIN_INTEGRATION_TIMEOUT_MS, MethodConfig,
    MethodKey, MethodOrigin, ResourceConfig, RestApiConfig, SelectionPattern, StageConfig,
    VpcLinkConfig,
};
use crate::iam::{Policy, PolicyKind};
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGatewayV2::VpcLink",
    "AWS::ApiGateway::VpcLink",
];

/// Converts one API Gateway resource into `model.apigw`; returns its errors (path, kind).
pub(crate) fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    let reference = reference(r);
    let attr = |k: &str| attr(r, k);
    let id = r.logical_id.clone();
    match r.ty.as_str() {
        "AWS::ApiGateway::RestApi" => {
            rest_api(&mut p, model, id, reference, attr("RootResourceId"))
        }
        "AWS::ApiGateway::Resource" => {
            let rest_api_id = p.str("RestApiId").unwrap_or_default();
            let parent_id = p.str("ParentId").unwrap_or_default();
            if let Some(path_part) = p.str("PathPart") {
                if !valid_path_part(&path_part) {
                    // CreateResource's message for a bad path part.
                    p.invalid(
                        "PathPart",
                        format!(
                            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. Got {path_part:?}"
                        ),
                    );
                }
                model.apigw.resources.push(ResourceConfig {
                    logical_id: id,
                    id: reference,
                    rest_api_id,
                    parent_id,
                    path_part,
                });
            }
        }
        "AWS::ApiGateway::Method" => method(&mut p, model, id),
        "AWS::ApiGateway::Deployment" => {
            let rest_api_id = p.str("RestApiId").unwrap_or_default();
            let stage_name = p.opt_str("StageName");
            if p.has("StageDescription") {
                p.invalid(
                    "StageDescription",
                    "StageDescription is not emulated: declare an AWS::ApiGateway::Stage",
                );
            }
            model.apigw.deployments.push(DeploymentConfig {
                logical_id: id,
                id: reference,
                rest_api_id,
                stage_name,
            });
        }
        "AWS::ApiGateway::Stage" => {
            let rest_api_id = p.str("RestApiId").unwrap_or_default();
            let deployment_id = p.str("DeploymentId").unwrap_or_default();
            let name = p.str("StageName").unwrap_or_default();
            if !name.is_empty()
                && !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                p.invalid("StageName", "Stage name only allows a-zA-Z0-9_ and hyphen");
            }
            let tracing_enabled = p.opt_bool("TracingEnabled").unwrap_or(false);
            model.apigw.stages.push(StageConfig {
                logical_id: id,
                rest_api_id,
                name,
                deployment_id,
                tracing_enabled,
            });
        }
        "AWS::ApiGateway::VpcLink" => return super::nlb::vpc_link_v1(r, model),
        "AWS::ApiGateway::Authorizer" => {
            // Loaded; vpcgate runs no Lambda function and has no user pool (apigw::auth says
            // what a request gets).
            let rest_api_id = p.str("RestApiId").unwrap_or_default();
            let name = p.str("Name").unwrap_or_default();
            let kind = match p.str("Type").as_deref() {
                Some("TOKEN") => Some(AuthorizerKind::Token),
                Some("REQUEST") => Some(AuthorizerKind::Request),
                Some("COGNITO_USER_POOLS") => Some(AuthorizerKind::CognitoUserPools),
                Some(other) => {
                    p.invalid(
                        "Type",
                        format!("Invalid authorizer type specified: {other}. Valid options: TOKEN, REQUEST, COGNITO_USER_POOLS"),
                    );
                    None
                }
                None => None,
            };
            let identity_sources: Vec<String> = p
                .opt_str("IdentitySource")
                .map(|t| comma_list(&t))
                .unwrap_or_default();
            if let Some(kind) = kind {
                if identity_sources.is_empty() && kind != AuthorizerKind::Request {
                    // CreateAuthorizer requires it for TOKEN and COGNITO_USER_POOLS.
                    p.missing("IdentitySource");
                }
                model.apigw.authorizers.push(AuthorizerConfig {
                    logical_id: id,
                    id: reference,
                    rest_api_id,
                    name,
                    kind,
                    identity_sources,
                });
            }
        }
        "AWS::ApiGatewayV2::VpcLink" => {
            let name = p.str("Name").unwrap_or_default();
            let subnet_ids = p.str_list("SubnetIds");
            if subnet_ids.is_empty() && !p.has("SubnetIds") {
                p.missing("SubnetIds");
            }
            let mut security_groups = p.str_list("SecurityGroupIds");
            let mut vpc_id = String::new();
            for (i, s) in subnet_ids.iter().enumerate() {
                match super::network::subnet(model, s) {
                    Some(sub) if vpc_id.is_empty() || vpc_id == sub.vpc_id => {
                        vpc_id = sub.vpc_id.clone()
                    }
                    Some(_) => p.invalid(
                        &format!("SubnetIds[{i}]"),
                        "all subnets of a VPC link must be in one VPC",
                    ),
                    None => p.invalid(
                        &format!("SubnetIds[{i}]"),
                        format!("The subnet ID '{s}' does not exist"),
                    ),
                }
            }
            if security_groups.is_empty() && !vpc_id.is_empty() {
                security_groups.push(super::network::default_group(model, &vpc_id));
            }
            model.apigw.vpc_links.push(VpcLinkConfig {
                logical_id: id,
                id: reference,
                name,
                vpc_id,
                subnet_ids,
                security_groups,
            });
        }
        _ => {}
    }
    errors
}

/// Whether `uri` is an HTTP(S) URL with a host, as an HTTP integration's endpoint must be;
/// records API Gateway's message at `key` when it is not (REST's `Uri`, HTTP APIs'
/// `IntegrationUri`).
pub(super) fn http_endpoint(c: &mut Props<'_>, key: &str, uri: &str) -> bool {
    match uri.parse::<http::Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some() => {
            true
        }
        _ => {
            c.invalid(
                key,
                format!("Invalid HTTP endpoint specified for URI: {uri}"),
            );
            false
        }
    }
}

/// API Gateway's answer to a policy that is not a JSON object (CreateRestApi, PutRestApi).
pub(super) const INVALID_POLICY: &str =
    "Invalid policy document. Please check the policy syntax and try again.";

/// `PathPart`: a literal of `a-zA-Z0-9._-` (and `:`, `@`, …, which API Gateway also takes),
/// `{name}` or the greedy `{name+}`.
pub(super) fn valid_path_part(part: &str) -> bool {
    if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let name = inner.strip_suffix('+').unwrap_or(inner);
        return !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    }
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:@~".contains(c))
}

fn rest_api(
    p: &mut Props<'_>,
    model: &mut Model,
    logical_id: String,
    id: String,
    root_resource_id: String,
) {
    if p.has("CloneFrom") {
        p.invalid(
            "CloneFrom",
            "CloneFrom is not emulated: declare the API's resources and methods, or give its OpenAPI definition as Body",
        );
    }
    if let Some(Value::Object(loc)) = p.map.get("BodyS3Location") {
        // The definition lives in S3, which a template loaded offline cannot read.
        let s = |k: &str| loc.get(k).and_then(Value::as_str).unwrap_or("?");
        p.invalid(
            "BodyS3Location",
            format!(
                "BodyS3Location s3://{}/{} cannot be read offline: map it to a local file in the environment file's S3Objects, or give the OpenAPI definition inline as Body (in SAM, DefinitionBody, or DefinitionUri with a local file path, which vpcgate inlines as sam package would upload it)",
                s("Bucket"),
                s("Key")
            ),
        );
    } else if p.has("BodyS3Location") {
        p.invalid(
            "BodyS3Location",
            "BodyS3Location cannot be read offline: give the OpenAPI definition inline as Body",
        );
    }
    // Parameters: PutRestApi's import parameters (`endpointConfigurationTypes`, `basepath`,
    // `ignore`, ...); Mode: overwrite or merge, the same outcome when CloudFormation creates the
    // API (nothing exists to merge with).
    let parameters = p.string_map("Parameters");
    match p.opt_str("Mode").as_deref() {
        None | Some("overwrite") | Some("merge") => {}
        Some(other) => p.invalid(
            "Mode",
            format!("Invalid mode {other:?}: overwrite or merge"),
        ),
    }
    let base_path = match parameters.get("basepath").map(String::as_str) {
        None | Some("ignore") => super::openapi::BasePathMode::Ignore,
        Some("prepend") => super::openapi::BasePathMode::Prepend,
        Some("split") => super::openapi::BasePathMode::Split,
        Some(other) => {
            p.invalid(
                "Parameters.basepath",
                format!("Invalid basepath {other:?}: ignore, prepend or split"),
            );
            super::openapi::BasePathMode::Ignore
        }
    };
    let body = match p.object("Body") {
        Some((path, m)) => {
            let mut b = p.child(path, m);
            Some((b.path.clone(), m, super::openapi::rest_body(&mut b)))
        }
        None => None,
    };
    // `Name` is required only when no OpenAPI definition names the API (info.title).
    let name = match (&body, p.opt_str("Name")) {
        (_, Some(name)) => name,
        (Some((_, _, b)), None) => b.title.clone().unwrap_or_else(|| logical_id.clone()),
        (None, None) => p.str("Name").unwrap_or_default(),
    };
    let endpoint_types_param = parameters.get("endpointConfigurationTypes");
    let mut endpoint_type = EndpointType::Edge;
    if let Some(types) = endpoint_types_param {
        match types.as_str() {
            "REGIONAL" => endpoint_type = EndpointType::Regional,
            "EDGE" => endpoint_type = EndpointType::Edge,
            "PRIVATE" => endpoint_type = EndpointType::Private,
            other => p.invalid(
                "Parameters.endpointConfigurationTypes",
                format!("Invalid endpoint configuration type {other:?}: EDGE, REGIONAL or PRIVATE"),
            ),
        }
    }
    // EndpointConfiguration.Types overrides the import's endpointConfigurationTypes.
    if let Some((path, m)) = p.object("EndpointConfiguration") {
        let mut c = p.child(path, m);
        let types = c.str_list("Types");
        match types.as_slice() {
            [] => {}
            [one] => match one.as_str() {
                "REGIONAL" => endpoint_type = EndpointType::Regional,
                "EDGE" => endpoint_type = EndpointType::Edge,
                "PRIVATE" => endpoint_type = EndpointType::Private,
                other => c.invalid(
                    "Types[0]",
                    format!(
                        "1 validation error detected: Value '[{other}]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]"
                    ),
                ),
            },
            _ => c.invalid("Types", "Only one endpoint type may be specified"),
        }
    }
    let policy = p.json_document(
        "Policy",
        INVALID_POLICY,
        "a policy document (object or JSON text)",
    );
    // The Policy property overrides the body's x-amazon-apigateway-policy.
    let policy = policy.or_else(|| body.as_ref().and_then(|(_, _, b)| b.policy.clone()));
    let policy = policy.map(|doc| expand_shorthand(doc, &model.region, &model.account, &id));
    if let Some(doc) = &policy
        && let Err(e) = Policy::parse(doc, PolicyKind::ResourceBased)
    {
        p.invalid("Policy", format!("{} (at {})", e.aws_message(), e.path()));
    }
    if let Some((path, m, b)) = body {
        // vpcEndpointIds of the body, unless EndpointConfiguration.VpcEndpointIds gives them
        // (read with the EC2 endpoints, scenario::ec2).
        let property_ids = p
            .map
            .get("EndpointConfiguration")
            .and_then(|e| e.get("VpcEndpointIds"))
            .is_some();
        if !property_ids {
            for v in b.vpc_endpoint_ids {
                model.ec2.api_endpoint_associations.push((id.clone(), v));
            }
        }
        let mut r = p.child(path, m);
        super::openapi::import_rest(
            &mut r,
            model,
            &super::openapi::RestTarget {
                logical_id: &logical_id,
                api_id: &id,
                root_resource_id: &root_resource_id,
                base_path,
            },
        );
    }
    model.apigw.rest_apis.push(RestApiConfig {
        logical_id,
        id,
        name,
        endpoint_type,
        policy,
        root_resource_id,
    });
}

/// Expands the `execute-api:/stage/METHOD/path` shorthand API Gateway accepts in a REST API's
/// resource policy to `arn:aws:execute-api:<region>:<account>:<api-id>/stage/METHOD/path`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html>:
/// the console and `PutRestApi` store the expanded form). A self-`Ref` from the policy to the
/// API would be a circular dependency in CloudFormation, which is why templates use it.
pub fn expand_shorthand(mut doc: Value, region: &str, account: &str, api_id: &str) -> Value {
    let expand = |v: &mut Value| {
        let mut one = |s: &mut Value| {
            if let Value::String(text) = s
                && let Some(rest) = text.strip_prefix("execute-api:")
            {
                *text = format!("arn:aws:execute-api:{region}:{account}:{api_id}{rest}");
            }
        };
        match v {
            Value::Array(items) => items.iter_mut().for_each(&mut one),
            other => one(other),
        }
    };
    if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
        for st in statements {
            for key in ["Resource", "NotResource"] {
                if let Some(v) = st.get_mut(key) {
                    expand(v);
                }
            }
        }
    } else if let Some(st @ Value::Object(_)) = doc.get_mut("Statement") {
        for key in ["Resource", "NotResource"] {
            if let Some(v) = st.get_mut(key) {
                expand(v);
            }
        }
    }
    doc
}

fn method(p: &mut Props<'_>, model: &mut Model, logical_id: String) {
    let rest_api_id = p.str("RestApiId").unwrap_or_default();
    let resource_id = p.str("ResourceId").unwrap_or_default();
    let http_method = match p.str("HttpMethod") {
        Some(text) => match MethodKey::parse(&text) {
            Some(m) => Some(m),
            None => {
                p.invalid(
                    "HttpMethod",
                    format!("Invalid HttpMethod specified. Valid options are ANY,DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT. Got {text:?}"),
                );
                None
            }
        },
        None => None,
    };
    let authorization = match p.opt_str("AuthorizationType").as_deref() {
        None | Some("NONE") => AuthorizationType::None,
        Some("AWS_IAM") => AuthorizationType::AwsIam,
        Some("CUSTOM") => AuthorizationType::Custom,
        Some("COGNITO_USER_POOLS") => AuthorizationType::CognitoUserPools,
        Some(other) => {
            p.invalid(
                "AuthorizationType",
                format!("Invalid authorization type specified: {other}. Valid options: NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS"),
            );
            AuthorizationType::None
        }
    };
    let authorizer_id = p.opt_str("AuthorizerId");
    if matches!(
        authorization,
        AuthorizationType::Custom | AuthorizationType::CognitoUserPools
    ) && authorizer_id.is_none()
    {
        // PutMethod: CUSTOM and COGNITO_USER_POOLS name their authorizer.
        p.invalid(
            "AuthorizerId",
            format!(
                "Invalid authorizer ID specified: {} methods need AuthorizerId",
                authorization.as_str()
            ),
        );
    }
    // Usage plans are not emulated: a method that requires a key answers 403 Forbidden.
    let api_key_required = p.opt_bool("ApiKeyRequired").unwrap_or(false);
    let integration = match p.object("Integration") {
        Some((path, m)) => {
            let mut c = p.child(path, m);
            integration(&mut c)
        }
        None => None,
    };
    if let Some(http_method) = http_method {
        model.apigw.methods.push(MethodConfig {
            logical_id,
            rest_api_id,
            resource_id,
            http_method,
            authorization,
            integration,
            authorizer_id: authorizer_id.filter(|_| {
                matches!(
                    authorization,
                    AuthorizationType::Custom | AuthorizationType::CognitoUserPools
                )
            }),
            api_key_required,
            origin: MethodOrigin::Template,
        });
    }
}

pub(super) fn integration(c: &mut Props<'_>) -> Option<IntegrationConfig> {
    let ty = c.str("Type")?;
    let timeout = match c.opt_str("TimeoutInMillis") {
        None => DEFAULT_INTEGRATION_TIMEOUT,
        Some(text) => match text.parse::<u64>() {
            Ok(ms)
                if (MIN_INTEGRATION_TIMEOUT_MS..=DEFAULT_MAX_INTEGRATION_TIMEOUT_MS)
                    .contains(&ms) =>
            {
                Duration::from_millis(ms)
            }
            _ => {
                // PutIntegration's BadRequestException; the upper bound is the account's quota.
                c.invalid(
                    "TimeoutInMillis",
                    format!(
                        "Timeout should be between {MIN_INTEGRATION_TIMEOUT_MS} ms and {DEFAULT_MAX_INTEGRATION_TIMEOUT_MS} ms"
                    ),
                );
                DEFAULT_INTEGRATION_TIMEOUT
            }
        },
    };
    let kind = match ty.as_str() {
        "HTTP_PROXY" => {
            let http_method = match c.str("IntegrationHttpMethod") {
                Some(text) => match MethodKey::parse(&text) {
                    Some(m) => m,
                    None => {
                        c.invalid(
                            "IntegrationHttpMethod",
                            format!("Invalid HttpMethod specified. Valid options are ANY,DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT. Got {text:?}"),
                        );
                        return None;
                    }
                },
                // PutIntegration requires it for HTTP integrations.
                None => return None,
            };
            let uri = c.str("Uri")?;
            if !http_endpoint(c, "Uri", &uri) {
                return None;
            }
            let connection = match c.opt_str("ConnectionType").as_deref() {
                None | Some("INTERNET") => Connection::Internet,
                Some("VPC_LINK") => {
                    let vpc_link_id = c.str("ConnectionId").unwrap_or_default();
                    // Empty for a VPC link v1 (its NLB is the target); a V2 link needs one
                    // (checked in `finish`, once every link is known).
                    let target_arn = c.opt_str("IntegrationTarget").unwrap_or_default();
                    Connection::VpcLink {
                        vpc_link_id,
                        target_arn,
                    }
                }
                Some(other) => {
                    c.invalid(
                        "ConnectionType",
                        format!("Invalid connection type specified: {other}. Valid options: INTERNET, VPC_LINK"),
                    );
                    return None;
                }
            };
            IntegrationKind::HttpProxy {
                http_method,
                uri,
                connection,
            }
        }
        "MOCK" => {
            let request_templates = c.string_map("RequestTemplates");
            let mut responses = Vec::new();
            for (path, m) in c.objects("IntegrationResponses") {
                let mut r = c.child(path, m);
                let Some(status) = r.str("StatusCode") else {
                    continue;
                };
                let Ok(status_code) = status.parse::<u16>() else {
                    r.invalid("StatusCode", format!("Invalid status code {status:?}"));
                    continue;
                };
                if !(100..=599).contains(&status_code) {
                    r.invalid("StatusCode", format!("Invalid status code {status:?}"));
                    continue;
                }
                let selection_pattern = match r
                    .opt_str("SelectionPattern")
                    .filter(|s| !s.is_empty())
                {
                    None => None,
                    Some(text) => match SelectionPattern::parse(&text) {
                        Some(p) => Some(p),
                        None => {
                            r.invalid(
                                "SelectionPattern",
                                format!("Invalid selection pattern specified: {text} (vpcgate matches literals, ., \\d, [..], |, *, +, ?, {{n}}, {{n,m}})"),
                            );
                            continue;
                        }
                    },
                };
                let response_templates = r.string_map("ResponseTemplates");
                let mut response_headers = BTreeMap::new();
                for (k, v) in r.string_map("ResponseParameters") {
                    let Some(name) = k.strip_prefix("method.response.header.") else {
                        r.invalid(
                            "ResponseParameters",
                            format!("Invalid mapping expression specified: {k}"),
                        );
                        continue;
                    };
                    match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                        Some(value) => {
                            response_headers.insert(name.to_string(), value.to_string());
                        }
                        None => r.invalid(
                            "ResponseParameters",
                            format!("only static values ('...') are emulated in MOCK response parameters, got {v}"),
                        ),
                    }
                }
                responses.push(IntegrationResponseConfig {
                    status_code,
                    selection_pattern,
                    response_templates,
                    response_headers,
                });
            }
            IntegrationKind::Mock {
                request_templates,
                responses,
            }
        }
        // Loaded as CloudFormation deploys them; a request gets API Gateway's answer for an
        // integration it cannot reach (apigw::integration). PutIntegration requires a Uri for
        // these types.
        "AWS" | "AWS_PROXY" | "HTTP" => {
            let integration_type = match ty.as_str() {
                "AWS" => "AWS",
                "AWS_PROXY" => "AWS_PROXY",
                _ => "HTTP",
            };
            let uri = c.str("Uri")?;
            IntegrationKind::NotEmulated {
                integration_type,
                uri,
            }
        }
        other => {
            c.invalid(
                "Type",
                format!("Invalid integration type specified: {other}. Valid options: HTTP, HTTP_PROXY, AWS, AWS_PROXY, MOCK"),
            );
            return None;
        }
    };
    Some(IntegrationConfig { kind, timeout })
}

/// Cross-resource checks, once every API Gateway resource is converted: (logical id, error).
pub(crate) fn finish(model: &Model) -> Vec<(String, PropError)> {
    let gw = &model.apigw;
    let mut errors = Vec::new();
    let mut push = |id: &str, path: &str, reason: String| {
        errors.push((
            id.to_string(),
            (path.to_string(), ErrorKind::Invalid { reason }),
        ))
    };
    for r in &gw.resources {
        if gw.rest_api(&r.rest_api_id).is_none() {
            push(
                &r.logical_id,
                "Properties.RestApiId",
                format!("Invalid REST API identifier specified: {}", r.rest_api_id),
            );
        } else if gw.resource_path(&r.rest_api_id, &r.id).is_none() {
            push(
                &r.logical_id,
                "Properties.ParentId",
                format!("Invalid Resource identifier specified: {}", r.parent_id),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    for m in &gw.methods {
        let Some(api) = gw.rest_api(&m.rest_api_id) else {
            push(
                &m.logical_id,
                "Properties.RestApiId",
                format!("Invalid REST API identifier specified: {}", m.rest_api_id),
            );
            continue;
        };
        if m.resource_id != api.root_resource_id
            && !gw
                .resources
                .iter()
                .any(|r| r.id == m.resource_id && r.rest_api_id == api.id)
        {
            push(
                &m.logical_id,
                "Properties.ResourceId",
                format!("Invalid Resource identifier specified: {}", m.resource_id),
            );
        }
        if let Some(a) = &m.authorizer_id
            && gw.authorizer(&m.rest_api_id, a).is_none()
        {
            push(
                &m.logical_id,
                "Properties.AuthorizerId",
                format!("Invalid authorizer ID specified: {a}"),
            );
        }
        if !seen.insert((
            m.rest_api_id.clone(),
            m.resource_id.clone(),
            m.http_method.clone(),
        )) {
            push(
                &m.logical_id,
                "Properties.HttpMethod",
                format!("Method already exists for this resource: {}", m.http_method),
            );
        }
        let Some(IntegrationConfig {
            kind:
                IntegrationKind::HttpProxy {
                    connection:
                        Connection::VpcLink {
                            vpc_link_id,
                            target_arn,
                        },
                    ..
                },
            ..
        }) = &m.integration
        else {
            continue;
        };
        if gw.vpc_links_v1.iter().any(|l| &l.id == vpc_link_id) {
            // A VPC link v1 names its NLB itself (`TargetArns`); its status decides at run time.
            continue;
        }
        let link = gw.vpc_links.iter().find(|l| &l.id == vpc_link_id);
        if link.is_none() {
            push(
                &m.logical_id,
                &super::openapi::integration_path(&m.origin, "ConnectionId"),
                format!("Invalid VPC link identifier specified: {vpc_link_id}"),
            );
        }
        if target_arn.is_empty() {
            if link.is_some() {
                push(
                    &m.logical_id,
                    "Properties.Integration.IntegrationTarget",
                    format!(
                        "An integration target (the load balancer or listener ARN) is required for a VPC link V2 ({vpc_link_id})"
                    ),
                );
            }
            continue;
        }
        let lb = model.load_balancer_behind(target_arn);
        match (lb, link) {
            (None, _) => push(
                &m.logical_id,
                &super::openapi::integration_path(&m.origin, "IntegrationTarget"),
                format!(
                    "Invalid integration target specified: {target_arn} is not a load balancer or listener in this scenario"
                ),
            ),
            (Some((name, vpc_id)), Some(link)) if vpc_id != link.vpc_id => push(
                &m.logical_id,
                &super::openapi::integration_path(&m.origin, "IntegrationTarget"),
                format!(
                    "the load balancer {name} is in {vpc_id} but VPC link {} is in {}",
                    link.id, link.vpc_id
                ),
            ),
            _ => {}
        }
    }
    for d in &gw.deployments {
        if gw.rest_api(&d.rest_api_id).is_none() {
            push(
                &d.logical_id,
                "Properties.RestApiId",
                format!("Invalid REST API identifier specified: {}", d.rest_api_id),
            );
            continue;
        }
        let methods: Vec<&MethodConfig> = gw
            .methods
            .iter()
            .filter(|m| m.rest_api_id == d.rest_api_id)
            .collect();
        if methods.is_empty() {
            // CreateDeployment's BadRequestException.
            push(
                &d.logical_id,
                "",
                "The REST API doesn't contain any methods".into(),
            );
        }
        for m in methods {
            if m.integration.is_none() {
                push(
                    &d.logical_id,
                    "",
                    format!(
                        "No integration defined for method (method {} of {})",
                        m.http_method,
                        match &m.origin {
                            MethodOrigin::Template => m.logical_id.clone(),
                            // The operation of the API's OpenAPI body.
                            MethodOrigin::OpenApi { at } => format!("{} {at}", m.logical_id),
                        }
                    ),
                );
            }
        }
    }
    for s in &gw.stages {
        match gw.deployments.iter().find(|d| d.id == s.deployment_id) {
            None => push(
                &s.logical_id,
                "Properties.DeploymentId",
                format!(
                    "Invalid deployment identifier specified: {}",
                    s.deployment_id
                ),
            ),
            Some(d) if d.rest_api_id != s.rest_api_id => push(
                &s.logical_id,
                "Properties.DeploymentId",
                format!(
                    "deployment {} belongs to REST API {}, not {}",
                    d.id, d.rest_api_id, s.rest_api_id
                ),
            ),
            Some(_) => {}
        }
        if gw.deployments.iter().any(|d| {
            d.rest_api_id == s.rest_api_id && d.stage_name.as_deref() == Some(s.name.as_str())
        }) {
            push(
                &s.logical_id,
                "Properties.StageName",
                format!("Stage already exists: {}", s.name),
            );
        }
    }
    for l in &gw.vpc_links {
        for (i, g) in l.security_groups.iter().enumerate() {
            if !model.security_groups.iter().any(|sg| &sg.id == g) {
                push(
                    &l.logical_id,
                    &format!("Properties.SecurityGroupIds[{i}]"),
                    format!("The security group '{g}' does not exist"),
                );
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shorthand_resources_expand_to_full_arns() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/prod/GET/"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "NotResource": ["execute-api:/*", "arn:aws:execute-api:us-east-1:1:x/*"]}
        ]});
        let out = expand_shorthand(doc, "ap-northeast-1", "123456789012", "a1b2c3d4e5");
        assert_eq!(
            out["Statement"][0]["Resource"],
            "arn:aws:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/prod/GET/"
        );
        assert_eq!(
            out["Statement"][1]["NotResource"],
            json!([
                "arn:aws:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/*",
                "arn:aws:execute-api:us-east-1:1:x/*"
            ])
        );
    }

    #[test]
    fn path_parts() {
        for ok in ["items", "{id}", "{proxy+}", "v1.2", "a-b_c"] {
            assert!(valid_path_part(ok), "{ok}");
        }
        for bad in ["", "a/b", "{}", "{+}", "{a", "a b"] {
            assert!(!valid_path_part(bad), "{bad}");
        }
    }
}
