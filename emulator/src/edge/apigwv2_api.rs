//! API Gateway v2's control plane (`apigateway.<region>.amazonaws.com/v2/…`), read-only: the REST
//! JSON operations boto3's `apigatewayv2` client uses to find the scenario's HTTP APIs.
//!
//! | operation | request | response |
//! |---|---|---|
//! | GetApis | `GET /v2/apis` | `{"items": [Api]}` |
//! | GetApi | `GET /v2/apis/{id}` | `Api` |
//! | GetRoutes | `GET /v2/apis/{id}/routes` | `{"items": [Route]}` |
//! | GetIntegrations | `GET /v2/apis/{id}/integrations` | `{"items": [Integration]}` |
//! | GetStages | `GET /v2/apis/{id}/stages` | `{"items": [Stage]}` |
//! | GetStage | `GET /v2/apis/{id}/stages/{name}` | `Stage` |
//! | GetAuthorizers | `GET /v2/apis/{id}/authorizers` | `{"items": [Authorizer]}` |
//!
//! Member names are the wire's camelCase
//! (<https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis.html>, `apis-apiid.html`,
//! `apis-apiid-routes.html`, `apis-apiid-integrations.html`, `apis-apiid-stages.html`,
//! `apis-apiid-authorizers.html`); timestamps ISO 8601. SigV4 for service `apigateway`,
//! authorized as `apigateway:GET` on `arn:aws:apigateway:<region>::<path>`. Errors: 404
//! `NotFoundException` `{"message": "Invalid API identifier specified <account>:<id>"}` [I: the
//! v1 wording], writes 400 `BadRequestException` (not emulated).

use serde_json::{Value, json};

use super::Call;
use super::apigw_api::{list_or_item, not_emulated, respond};
use super::wire::Body;
use crate::apigw::http_api::{HttpConnection, RouteAuth};

/// The read operations v2 emulates (named in the refusal of the others).
pub(super) const READS: &str =
    "GetApis, GetApi, GetRoutes, GetIntegrations, GetStages, GetStage, GetAuthorizers";

/// Whether a request is for the v2 control plane.
pub fn is_control_plane(path: &str) -> bool {
    path == "/v2/apis" || path.starts_with("/v2/apis/")
}

/// Answers one v2 control-plane request ([`super::apigw_api::handle`] opens it).
pub(super) fn answer(call: &Call<'_>, path: &str) -> http::Response<Body> {
    let visible = call.in_world_scope();
    let region = call.scope.region.clone();
    let world = &call.world;
    let h = &world.model.apigw.http;
    let account = &call.scope.account;
    let created = world
        .clock
        .now_utc()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let api_json = |a: &crate::apigw::http_api::HttpApiConfig| {
        json!({
            "apiId": a.id,
            "name": a.name,
            "protocolType": "HTTP",
            "apiEndpoint": format!("https://{}.execute-api.{region}.amazonaws.com", a.id),
            "apiKeySelectionExpression": "$request.header.x-api-key",
            "routeSelectionExpression": "$request.method $request.path",
            "disableExecuteApiEndpoint": a.disable_execute_api_endpoint,
            "createdDate": created,
        })
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = |what: &str, id: &str| super::apigw_api::not_found(account, what, id);
    match segments.as_slice() {
        ["v2", "apis"] => respond(
            200,
            None,
            &json!({"items": h.apis.iter().filter(|_| visible).map(api_json).collect::<Vec<_>>()}),
        ),
        ["v2", "apis", id, rest @ ..] => {
            let Some(api) = h.api(id).filter(|_| visible) else {
                return not_found("API", id);
            };
            match rest {
                [] => respond(200, None, &api_json(api)),
                ["routes"] => {
                    let items: Vec<Value> = h
                        .routes
                        .iter()
                        .filter(|r| r.api_id == api.id)
                        .map(|r| {
                            let mut v = json!({
                                "routeId": r.id,
                                "routeKey": r.key.to_string(),
                                "authorizationType": r.auth.as_str(),
                                "apiKeyRequired": false,
                            });
                            if let Some(i) = &r.integration_id {
                                v["target"] = json!(format!("integrations/{i}"));
                            }
                            if let RouteAuth::Jwt {
                                authorizer_id,
                                scopes,
                            } = &r.auth
                            {
                                v["authorizerId"] = json!(authorizer_id);
                                v["authorizationScopes"] = json!(scopes);
                            }
                            v
                        })
                        .collect();
                    respond(200, None, &json!({ "items": items }))
                }
                ["integrations"] => {
                    let items: Vec<Value> = h
                        .integrations
                        .iter()
                        .filter(|i| i.api_id == api.id)
                        .map(|i| {
                            let mut v = json!({
                                "integrationId": i.id,
                                "integrationType": "HTTP_PROXY",
                                "integrationMethod": i.method.as_ref().map(|m| m.as_str()).unwrap_or("ANY"),
                                "payloadFormatVersion": i.payload_format_version,
                                "timeoutInMillis": i.timeout.as_millis() as u64,
                                "requestParameters": i.request_parameters.iter().map(|m| (m.key.clone(), json!(m.value))).collect::<serde_json::Map<_, _>>(),
                            });
                            match &i.connection {
                                HttpConnection::Internet { uri } => {
                                    v["connectionType"] = json!("INTERNET");
                                    v["integrationUri"] = json!(uri);
                                }
                                HttpConnection::VpcLink {
                                    vpc_link_id,
                                    listener_arn,
                                    ..
                                } => {
                                    v["connectionType"] = json!("VPC_LINK");
                                    v["connectionId"] = json!(vpc_link_id);
                                    v["integrationUri"] = json!(listener_arn);
                                }
                                HttpConnection::NotEmulated {
                                    integration_type,
                                    uri,
                                } => {
                                    v["integrationType"] = json!(integration_type);
                                    v["integrationUri"] = json!(uri);
                                }
                            }
                            if i.request_parameters.is_empty() {
                                v.as_object_mut().map(|o| o.remove("requestParameters"));
                            }
                            v
                        })
                        .collect();
                    respond(200, None, &json!({ "items": items }))
                }
                ["authorizers"] => {
                    let items: Vec<Value> = h
                        .authorizers
                        .iter()
                        .filter(|a| a.api_id == api.id)
                        .map(|a| {
                            json!({
                                "authorizerId": a.id,
                                "authorizerType": "JWT",
                                "name": a.name,
                                "identitySource": [a.identity_source],
                                "jwtConfiguration": {"issuer": a.issuer, "audience": a.audience},
                            })
                        })
                        .collect();
                    respond(200, None, &json!({ "items": items }))
                }
                ["stages", name @ ..] => {
                    let stages: Vec<Value> = h
                        .stages
                        .iter()
                        .filter(|s| s.api_id == api.id)
                        .map(|s| {
                            let mut v = json!({
                                "stageName": s.name,
                                "autoDeploy": s.auto_deploy,
                                "stageVariables": s.variables,
                                "createdDate": created,
                                "lastUpdatedDate": created,
                                "defaultRouteSettings": {"detailedMetricsEnabled": false},
                                "routeSettings": {},
                                "tags": {},
                            });
                            if let Some(d) = &s.deployment_id {
                                v["deploymentId"] = json!(d);
                            }
                            v
                        })
                        .collect();
                    list_or_item(account, path, ("items", "stageName", "stage"), stages, name)
                }
                _ => not_emulated(path),
            }
        }
        _ => not_emulated(path),
    }
}
