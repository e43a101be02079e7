//! API Gateway's control plane (`apigateway.<region>.amazonaws.com`), read-only: the REST JSON
//! operations that list what the scenario deployed.
//!
//! | operation | request | response |
//! |---|---|---|
//! | GetRestApis | `GET /restapis` | `{"item": [RestApi]}` |
//! | GetRestApi | `GET /restapis/{id}` | `RestApi` |
//! | GetResources | `GET /restapis/{id}/resources` | `{"item": [Resource]}` |
//! | GetStages | `GET /restapis/{id}/stages` | `{"item": [Stage]}` |
//! | GetStage | `GET /restapis/{id}/stages/{name}` | `Stage` |
//! | GetDeployments | `GET /restapis/{id}/deployments` | `{"item": [Deployment]}` |
//! | GetDeployment | `GET /restapis/{id}/deployments/{id}` | `Deployment` |
//! | GetVpcLinks | `GET /vpclinks` | `{"item": [VpcLink]}` (VPC links v1) |
//! | GetVpcLink | `GET /vpclinks/{id}` | `VpcLink` (`status` `AVAILABLE` with `statusMessage` `Your vpc link is ready for use`, or `FAILED`) |
//!
//! Shapes and member names from the API reference
//! (<https://docs.aws.amazon.com/apigateway/latest/api/API_GetRestApis.html>, `API_RestApi.html`,
//! `API_Resource.html`, `API_Stage.html`, `API_Deployment.html`): lists are `item` on the wire,
//! timestamps epoch seconds. Requests are SigV4-signed for service `apigateway` and authorized
//! as `apigateway:GET` on `arn:aws:apigateway:<region>::<path>`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/security_iam_service-with-iam.html>).
//! Errors are REST JSON: status, `x-amzn-ErrorType`, `{"message": …}` — `NotFoundException`
//! `Invalid API identifier specified <account>:<id>` (404), `AccessDeniedException` (403),
//! signature errors (403). Writes (POST, PUT, PATCH, DELETE) are not emulated: 400
//! `BadRequestException` saying so.
//!
//! This is what seed 001's VPC Lambda calls with `boto3.client('apigateway').get_rest_apis()`:
//! no VPC endpoint carries it, so from a private subnet it answers only through a NAT gateway.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};

use super::wire::{self, Body};
use super::{Call, Edge};
use crate::apigw::EndpointType;
use crate::world::World;

/// Whether a request (no `X-Amz-Target`) is for the control plane: `/restapis` or below it,
/// not API Gateway's `/restapis/{id}/{stage}/_user_request_/` path form.
pub fn is_control_plane(path: &str) -> bool {
    ((path == "/restapis" || path.starts_with("/restapis/")) && !path.contains("/_user_request_"))
        || path == "/vpclinks"
        || path.starts_with("/vpclinks/")
}

/// An answer in API Gateway's REST-JSON shape (v1 and v2 control planes alike).
pub(super) fn respond(status: u16, error_type: Option<&str>, body: &Value) -> http::Response<Body> {
    let mut b = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-amzn-RequestId", wire::request_id());
    if let Some(t) = error_type {
        b = b.header("x-amzn-ErrorType", t);
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

/// An error in API Gateway's REST-JSON shape: `x-amzn-ErrorType` and `{"message": …}`.
pub(super) fn error(
    status: u16,
    error_type: &str,
    message: impl Into<String>,
) -> http::Response<Body> {
    respond(
        status,
        Some(error_type),
        &json!({ "message": message.into() }),
    )
}

/// `NotFoundException` (404): `Invalid <what> identifier specified <account>:<id>`.
pub(super) fn not_found(account: &str, what: &str, id: &str) -> http::Response<Body> {
    error(
        404,
        "NotFoundException",
        format!("Invalid {what} identifier specified {account}:{id}"),
    )
}

/// A GET below the control plane vpcgate does not answer.
pub(super) fn not_emulated(path: &str) -> http::Response<Body> {
    error(
        400,
        "BadRequestException",
        format!("vpcgate: GET {path} is not emulated"),
    )
}

/// A collection (`rest` empty: `{<list_key>: items}`) or one item of it whose `key` member is
/// `rest`'s one segment (else `NotFoundException` for `what`).
pub(super) fn list_or_item(
    account: &str,
    path: &str,
    (list_key, key, what): (&str, &str, &str),
    items: Vec<Value>,
    rest: &[&str],
) -> http::Response<Body> {
    match rest {
        [] => respond(200, None, &json!({ list_key: items })),
        [id] => match items.iter().find(|s| s[key] == *id) {
            Some(s) => respond(200, None, s),
            None => not_found(account, what, id),
        },
        _ => not_found(account, "resource", path),
    }
}

/// The read operations v1 emulates (named in the refusal of the others).
const READS: &str = "GetRestApis, GetRestApi, GetResources, GetStages, GetStage, GetDeployments, GetDeployment, GetVpcLinks, GetVpcLink";

/// The opening both API Gateway control planes share: the SigV4 caller, GET only (the read
/// operations `reads` names are the emulated ones), `apigateway:GET` on
/// `arn:aws:apigateway:<region>::<path>`. The call and the path without its trailing `/`, or the
/// refusal to send.
fn read_only_call<'a>(
    edge: &'a Edge,
    world: World,
    parts: &http::request::Parts,
    body: &Bytes,
    reads: &str,
) -> Result<(Call<'a>, String), Box<http::Response<Body>>> {
    let (principal, scope) = edge
        .authenticate(&world, parts, body, "apigateway")
        .map_err(|e| {
            let w = crate::sigv4::wire(&e, crate::sigv4::Protocol::RestJson);
            Box::new(error(w.status.as_u16(), w.code, w.message))
        })?;
    let call = Call {
        edge,
        context: super::request_context(&world, &scope, Some(&parts.extensions)),
        state: edge.scope_state(&scope),
        world,
        principal,
        scope,
    };
    let path = parts.uri.path().trim_end_matches('/').to_string();
    if parts.method != http::Method::GET {
        return Err(Box::new(error(
            400,
            "BadRequestException",
            format!(
                "vpcgate: {} {path} is not emulated (the read-only {reads} are)",
                parts.method
            ),
        )));
    }
    let resource = format!("arn:aws:apigateway:{}::{path}", call.scope.region);
    call.authorize("apigateway:GET", &resource)
        .map_err(|e| Box::new(error(403, "AccessDeniedException", e.message)))?;
    Ok((call, path))
}

/// Answers one control-plane request: v1's (`/restapis`, `/vpclinks`) here, v2's (`/v2/apis`) in
/// [`super::apigwv2_api`], after the same opening ([`read_only_call`]).
pub fn handle(
    edge: &Edge,
    world: World,
    parts: &http::request::Parts,
    body: &Bytes,
) -> http::Response<Body> {
    let v2 = super::apigwv2_api::is_control_plane(parts.uri.path());
    let reads = if v2 { super::apigwv2_api::READS } else { READS };
    match read_only_call(edge, world, parts, body, reads) {
        Ok((call, path)) if v2 => super::apigwv2_api::answer(&call, &path),
        Ok((call, path)) => answer(&call, &path),
        Err(refusal) => *refusal,
    }
}

/// GetRestApis, GetRestApi, GetResources, GetStages, GetStage, GetDeployments, GetDeployment,
/// GetVpcLinks, GetVpcLink.
fn answer(call: &Call<'_>, path: &str) -> http::Response<Body> {
    // The scenario's REST APIs live in its account and Region only.
    let visible = call.in_world_scope();
    let world = &call.world;
    let gw = &world.model.apigw;
    let account = &call.scope.account;
    let created = wire::epoch(world.clock.now());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let api_json = |api: &crate::apigw::RestApiConfig| {
        let mut v = json!({
            "id": api.id,
            "name": api.name,
            "createdDate": created,
            "apiKeySource": "HEADER",
            "endpointConfiguration": {"types": [api.endpoint_type.as_str()]},
            "disableExecuteApiEndpoint": false,
            "rootResourceId": api.root_resource_id,
        });
        let vpce: Vec<&String> = world
            .model
            .ec2
            .api_endpoint_associations
            .iter()
            .filter(|(a, _)| a == &api.id)
            .map(|(_, v)| v)
            .collect();
        if api.endpoint_type == EndpointType::Private {
            v["endpointConfiguration"]["vpcEndpointIds"] = json!(vpce);
        }
        if let Some(policy) = &api.policy {
            v["policy"] = json!(policy.to_string());
        }
        v
    };
    let find = |id: &str| gw.rest_api(id).filter(|_| visible);
    let not_found = |what: &str, id: &str| not_found(account, what, id);
    // VPC links v1 (API_VpcLink.html): id, name, targetArns, status, statusMessage.
    let link_json = |l: &crate::apigw::VpcLinkV1| {
        json!({
            "id": l.config.id,
            "name": l.config.name,
            "targetArns": l.config.target_arns,
            "status": l.status.as_str(),
            "statusMessage": match &l.status {
                crate::apigw::VpcLinkStatus::Available => "Your vpc link is ready for use".to_string(),
                crate::apigw::VpcLinkStatus::Failed { message } => message.clone(),
            },
            "tags": {},
        })
    };
    match segments.as_slice() {
        ["vpclinks"] => respond(
            200,
            None,
            &json!({"item": world
                .apigw
                .vpc_links_v1()
                .iter()
                .filter(|_| visible)
                .map(|l| link_json(l))
                .collect::<Vec<_>>()}),
        ),
        // unconfirmed: GetVpcLink's message for an unknown id.
        ["vpclinks", id] => match world.apigw.vpc_link_v1(id).filter(|_| visible) {
            Some(l) => respond(200, None, &link_json(&l)),
            None => not_found("VPC link", id),
        },
        ["restapis"] => respond(
            200,
            None,
            &json!({"item": gw.rest_apis.iter().filter(|_| visible).map(api_json).collect::<Vec<_>>()}),
        ),
        ["restapis", id, rest @ ..] => {
            let Some(api) = find(id) else {
                return not_found("API", id);
            };
            match rest {
                [] => respond(200, None, &api_json(api)),
                ["resources"] => {
                    let mut items = vec![json!({"id": api.root_resource_id, "path": "/"})];
                    for r in gw.resources.iter().filter(|r| r.rest_api_id == api.id) {
                        items.push(json!({
                            "id": r.id,
                            "parentId": r.parent_id,
                            "pathPart": r.path_part,
                            "path": gw.resource_path(&api.id, &r.id).unwrap_or_default(),
                        }));
                    }
                    for item in &mut items {
                        let rid = item["id"].as_str().unwrap_or_default().to_string();
                        let methods: serde_json::Map<String, Value> = gw
                            .methods
                            .iter()
                            .filter(|m| m.rest_api_id == api.id && m.resource_id == rid)
                            .map(|m| {
                                (
                                    m.http_method.to_string(),
                                    json!({
                                        "httpMethod": m.http_method.to_string(),
                                        "authorizationType": m.authorization.as_str(),
                                    }),
                                )
                            })
                            .collect();
                        if !methods.is_empty() {
                            item["resourceMethods"] = Value::Object(methods);
                        }
                    }
                    respond(200, None, &json!({ "item": items }))
                }
                ["stages", name @ ..] => {
                    let stages: Vec<Value> = gw
                        .stages
                        .iter()
                        .filter(|s| s.rest_api_id == api.id)
                        .map(|s| (s.name.clone(), s.deployment_id.clone(), s.tracing_enabled))
                        .chain(
                            gw.deployments
                                .iter()
                                .filter(|d| d.rest_api_id == api.id)
                                .filter_map(|d| {
                                    d.stage_name.clone().map(|n| (n, d.id.clone(), false))
                                }),
                        )
                        .map(|(n, d, t)| {
                            json!({
                                "stageName": n,
                                "deploymentId": d,
                                "tracingEnabled": t,
                                "cacheClusterEnabled": false,
                                "cacheClusterStatus": "NOT_AVAILABLE",
                                "methodSettings": {},
                                "createdDate": created,
                                "lastUpdatedDate": created,
                            })
                        })
                        .collect();
                    list_or_item(account, path, ("item", "stageName", "stage"), stages, name)
                }
                ["deployments", dep @ ..] => {
                    let deployments: Vec<Value> = gw
                        .deployments
                        .iter()
                        .filter(|d| d.rest_api_id == api.id)
                        .map(|d| json!({"id": d.id, "createdDate": created}))
                        .collect();
                    list_or_item(
                        account,
                        path,
                        ("item", "id", "deployment"),
                        deployments,
                        dep,
                    )
                }
                _ => not_emulated(path),
            }
        }
        _ => not_emulated(path),
    }
}
