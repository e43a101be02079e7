//! EventBridge (`awsJson1_1`, target prefix `AWSEvents`)
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html>):
//! connections (CreateConnection, DescribeConnection, UpdateConnection, DeleteConnection,
//! ListConnections) here; buses, rules, targets, PutEvents, TestEventPattern and API
//! destinations in [`super::events_bus_api`].

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};

use super::Call;
use super::events_bus_api::wire;
use super::wire::{JsonError, epoch};
use crate::events::error::EventBridgeError;
use crate::events::{Authorization, ConnectionConfig, HttpParameters, Parameter};

/// Dispatches one operation.
pub fn call<'a>(
    cx: &'a Call<'a>,
    op: &'a str,
    input: Value,
) -> Pin<Box<dyn Future<Output = Result<Value, JsonError>> + Send + 'a>> {
    Box::pin(async move {
        match op {
            "CreateConnection" => create(cx, &input),
            "DescribeConnection" => describe(cx, &input),
            "UpdateConnection" => update(cx, &input),
            "DeleteConnection" => delete(cx, &input),
            "ListConnections" => list(cx, &input),
            op if super::events_bus_api::handles(op) => super::events_bus_api::call(cx, op, &input),
            other => Err(wire(EventBridgeError::UnknownOperation {
                op: other.into(),
            })),
        }
    })
}

/// When UpdateConnection last changed `name` (API_DescribeConnection.html, `LastModifiedTime`:
/// "A time stamp for the time that the connection was last modified").
fn modified(cx: &Call<'_>, name: &str) -> Option<std::time::SystemTime> {
    cx.state
        .connection_modified
        .read()
        .expect("lock")
        .get(name)
        .copied()
}

/// When CreateConnection made `name` (API_DescribeConnection.html, `CreationTime`).
fn created(cx: &Call<'_>, name: &str) -> Option<std::time::SystemTime> {
    cx.state
        .connection_times
        .read()
        .expect("lock")
        .get(name)
        .copied()
}

fn validation(msg: impl Into<String>) -> JsonError {
    wire(EventBridgeError::validation(msg))
}

fn name_of(input: &Value) -> Result<String, JsonError> {
    let name = input
        .get("Name")
        .and_then(Value::as_str)
        .ok_or_else(|| validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"))?;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )));
    }
    Ok(name.to_string())
}

/// The scope's connection `name`, or `ResourceNotFoundException`.
fn connection(cx: &Call<'_>, name: &str) -> Result<ConnectionConfig, JsonError> {
    cx.world
        .connections
        .by_name_in(&cx.scope.region, &cx.scope.account, name)
        .map_err(|_| wire(EventBridgeError::ConnectionMissing { name: name.into() }))
}

fn params(v: Option<&Value>) -> Vec<Parameter> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|p| {
                    Some(Parameter {
                        key: p.get("Key")?.as_str()?.to_string(),
                        value: p.get("Value")?.as_str()?.to_string(),
                        is_value_secret: p
                            .get("IsValueSecret")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn http_params(v: Option<&Value>) -> HttpParameters {
    HttpParameters {
        headers: params(v.and_then(|x| x.get("HeaderParameters"))),
        query: params(v.and_then(|x| x.get("QueryStringParameters"))),
        body: params(v.and_then(|x| x.get("BodyParameters"))),
    }
}

fn authorization(kind: &str, auth: &Value) -> Result<Authorization, JsonError> {
    // A required string member, by its dotted path below `AuthParameters` (the path is also
    // the message's name for it).
    let s = |path: &str| -> Result<String, JsonError> {
        path.split('.')
            .try_fold(auth, |v, key| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| validation(format!("{path} is required for AuthorizationType {kind}")))
    };
    match kind {
        "API_KEY" => Ok(Authorization::ApiKey {
            name: s("ApiKeyAuthParameters.ApiKeyName")?,
            value: s("ApiKeyAuthParameters.ApiKeyValue")?,
        }),
        "BASIC" => Ok(Authorization::Basic {
            username: s("BasicAuthParameters.Username")?,
            password: s("BasicAuthParameters.Password")?,
        }),
        "OAUTH_CLIENT_CREDENTIALS" => Ok(Authorization::OAuthClientCredentials {
            authorization_endpoint: s("OAuthParameters.AuthorizationEndpoint")?,
            http_method: s("OAuthParameters.HttpMethod")?,
            client_id: s("OAuthParameters.ClientParameters.ClientID")?,
            client_secret: s("OAuthParameters.ClientParameters.ClientSecret")?,
            oauth_parameters: http_params(
                auth.get("OAuthParameters")
                    .and_then(|p| p.get("OAuthHttpParameters")),
            ),
        }),
        other => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
        ))),
    }
}

/// The connection's state: private connections are ACTIVE, OAuth ones AUTHORIZED once a token
/// was fetched (AUTHORIZING before), others AUTHORIZED
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-states.html>).
fn state(connections: &crate::events::Connections, c: &ConnectionConfig) -> &'static str {
    if connections.is_deauthorized(&c.arn) {
        // De-authorized by a failed token refresh or a 401/407 (eb-target-connection-deauthorize).
        "DEAUTHORIZED"
    } else {
        authorized_state(c)
    }
}

/// The state of a connection that is authorized: just created, or updated (which authorizes it
/// again).
fn authorized_state(c: &ConnectionConfig) -> &'static str {
    if c.resource_configuration_arn.is_some() {
        "ACTIVE"
    } else {
        "AUTHORIZED"
    }
}

fn private_arn(cx: &Call<'_>, input: &Value) -> Result<Option<String>, JsonError> {
    let Some(arn) = input
        .get("InvocationConnectivityParameters")
        .and_then(|p| p.get("ResourceParameters"))
        .and_then(|p| p.get("ResourceConfigurationArn"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    if !cx.world.resource_configurations.contains_key(arn) {
        return Err(validation(format!(
            "Resource configuration {arn} does not exist."
        )));
    }
    Ok(Some(arn.to_string()))
}

fn create(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let name = name_of(input)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let arn = cx.scope.arn("events", &format!("connection/{name}/{uuid}"));
    cx.authorize("events:CreateConnection", &arn)?;
    if cx
        .world
        .connections
        .by_name_in(&cx.scope.region, &cx.scope.account, &name)
        .is_ok()
    {
        return Err(wire(EventBridgeError::ConnectionExists { name }));
    }
    let kind = input
        .get("AuthorizationType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let auth = input.get("AuthParameters").cloned().unwrap_or(json!({}));
    let authorization = authorization(kind, &auth)?;
    let secret_name = format!("events!connection/{name}/{}", uuid::Uuid::new_v4());
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(6)
        .collect();
    let config = ConnectionConfig {
        logical_id: name.clone(),
        name: name.clone(),
        arn: arn.clone(),
        secret_arn: cx
            .scope
            .arn("secretsmanager", &format!("secret:{secret_name}-{suffix}")),
        secret_name: secret_name.clone(),
        authorization,
        invocation_parameters: http_params(auth.get("InvocationHttpParameters")),
        resource_configuration_arn: private_arn(cx, input)?,
        description: input
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    cx.world
        .secrets
        .put_at(&config.secret_arn, &secret_name, config.secret_value());
    let now = cx.world.clock.now();
    cx.state
        .connection_modified
        .write()
        .expect("lock")
        .remove(&name);
    cx.state
        .connection_times
        .write()
        .expect("lock")
        .insert(name, now);
    let st = authorized_state(&config);
    cx.world.connections.put(config);
    Ok(
        json!({"ConnectionArn": arn, "ConnectionState": st, "CreationTime": epoch(now), "LastModifiedTime": epoch(now)}),
    )
}

fn auth_description(c: &ConnectionConfig) -> Value {
    let mut out = Map::new();
    match &c.authorization {
        Authorization::ApiKey { name, .. } => {
            out.insert("ApiKeyAuthParameters".into(), json!({"ApiKeyName": name}));
        }
        Authorization::Basic { username, .. } => {
            out.insert("BasicAuthParameters".into(), json!({"Username": username}));
        }
        Authorization::OAuthClientCredentials {
            authorization_endpoint,
            http_method,
            client_id,
            ..
        } => {
            out.insert(
                "OAuthParameters".into(),
                json!({"AuthorizationEndpoint": authorization_endpoint, "HttpMethod": http_method, "ClientParameters": {"ClientID": client_id}}),
            );
        }
    }
    let inv = &c.invocation_parameters;
    if !(inv.headers.is_empty() && inv.query.is_empty() && inv.body.is_empty()) {
        // Secret values are not returned (API_DescribeConnection: ConnectionHttpParameters).
        let show = |ps: &[Parameter]| -> Vec<Value> {
            ps.iter()
                .map(|p| {
                    if p.is_value_secret {
                        json!({"Key": p.key, "IsValueSecret": true})
                    } else {
                        json!({"Key": p.key, "Value": p.value, "IsValueSecret": false})
                    }
                })
                .collect()
        };
        out.insert(
            "InvocationHttpParameters".into(),
            json!({"HeaderParameters": show(&inv.headers), "QueryStringParameters": show(&inv.query), "BodyParameters": show(&inv.body)}),
        );
    }
    Value::Object(out)
}

fn describe(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let name = name_of(input)?;
    let c = connection(cx, &name)?;
    cx.authorize("events:DescribeConnection", &c.arn)?;
    let when = created(cx, &name).unwrap_or_else(|| cx.world.clock.now());
    let mut out = json!({
        "ConnectionArn": c.arn,
        "Name": c.name,
        "ConnectionState": state(&cx.world.connections, &c),
        "AuthorizationType": c.authorization.kind(),
        "SecretArn": c.secret_arn,
        "AuthParameters": auth_description(&c),
        "CreationTime": epoch(when),
        "LastModifiedTime": epoch(modified(cx, &name).unwrap_or(when)),
        "LastAuthorizedTime": epoch(when),
    });
    if let Some(d) = &c.description {
        out["Description"] = json!(d);
    }
    if let Some(rc) = &c.resource_configuration_arn {
        out["InvocationConnectivityParameters"] =
            json!({"ResourceParameters": {"ResourceConfigurationArn": rc}});
    }
    Ok(out)
}

fn update(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let name = name_of(input)?;
    let mut c = connection(cx, &name)?;
    cx.authorize("events:UpdateConnection", &c.arn)?;
    if let Some(d) = input.get("Description").and_then(Value::as_str) {
        c.description = Some(d.to_string());
    }
    if let Some(auth) = input.get("AuthParameters") {
        let kind = input
            .get("AuthorizationType")
            .and_then(Value::as_str)
            .unwrap_or(c.authorization.kind());
        c.authorization = authorization(kind, auth)?;
        if let Some(inv) = auth.get("InvocationHttpParameters") {
            c.invocation_parameters = http_params(Some(inv));
        }
    }
    if input.get("InvocationConnectivityParameters").is_some() {
        c.resource_configuration_arn = private_arn(cx, input)?;
    }
    cx.world
        .secrets
        .put_at(&c.secret_arn, &c.secret_name, c.secret_value());
    let now = cx.world.clock.now();
    let created = created(cx, &name).unwrap_or(now);
    // Updating authorizes the connection again.
    let st = authorized_state(&c);
    let arn = c.arn.clone();
    cx.world.connections.put(c);
    cx.state
        .connection_modified
        .write()
        .expect("lock")
        .insert(name.clone(), now);
    Ok(
        json!({"ConnectionArn": arn, "ConnectionState": st, "CreationTime": epoch(created), "LastModifiedTime": epoch(now), "LastAuthorizedTime": epoch(now)}),
    )
}

fn delete(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let name = name_of(input)?;
    let c = connection(cx, &name)?;
    cx.authorize("events:DeleteConnection", &c.arn)?;
    cx.world
        .connections
        .remove_in(&cx.scope.region, &cx.scope.account, &name);
    cx.world.secrets.delete(&c.secret_arn);
    cx.state
        .connection_modified
        .write()
        .expect("lock")
        .remove(&name);
    let created = cx
        .state
        .connection_times
        .write()
        .expect("lock")
        .remove(&name)
        .unwrap_or_else(|| cx.world.clock.now());
    let now = cx.world.clock.now();
    Ok(
        json!({"ConnectionArn": c.arn, "ConnectionState": "DELETING", "CreationTime": epoch(created), "LastModifiedTime": epoch(now), "LastAuthorizedTime": epoch(created)}),
    )
}

fn list(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    cx.authorize("events:ListConnections", "*")?;
    let prefix = input
        .get("NamePrefix")
        .and_then(Value::as_str)
        .unwrap_or("");
    let times = cx.state.connection_times.read().expect("lock");
    let list: Vec<Value> = cx
        .world
        .connections
        .list_in(&cx.scope.region, &cx.scope.account)
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| {
            let when = times.get(&c.name).copied().unwrap_or_else(|| cx.world.clock.now());
            let last = modified(cx, &c.name).unwrap_or(when);
            json!({"ConnectionArn": c.arn, "Name": c.name, "ConnectionState": state(&cx.world.connections, c), "AuthorizationType": c.authorization.kind(), "CreationTime": epoch(when), "LastModifiedTime": epoch(last), "LastAuthorizedTime": epoch(when)})
        })
        .collect();
    drop(times);
    super::events_bus_api::paged("ListConnections", "Connections", list, input)
}
