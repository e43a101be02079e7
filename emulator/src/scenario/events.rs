//! The EventBridge family: `AWS::Events::Connection` into the model's connections, and
//! `AWS::Events::EventBus`, `AWS::Events::Rule` and `AWS::Events::ApiDestination` into
//! [`crate::events::EventsModel`]
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html>).
//!
//! The properties are read with the checks the EventBridge API makes (PutRule's pattern
//! validation, PutTargets' target checks, CreateApiDestination's constraints), so a template
//! fails to load with the message the API would give; `finish` checks what only the whole stack
//! tells (a rule's bus, an API destination's connection).

use serde_json::Value;

use super::error::ErrorKind;
use super::props::{PropError, Props, attr, invalid_at as invalid, reference};
use super::template::ResolvedResource;
use crate::events::api_destination::ApiDestinationConfig;
use crate::events::bus::{DEFAULT_BUS, EventBusConfig, bus_name};
use crate::events::error::EventBridgeError;
use crate::events::pattern::EventPattern;
use crate::events::rule::{RuleConfig, RuleState, TargetConfig};
use crate::events::{Authorization, ConnectionConfig, HttpParameters, Parameter};
use crate::lattice::ResourceDefinition;
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::Events::ApiDestination",
    "AWS::Events::Connection",
];

/// Converts one resource.
pub fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let name = reference(r);
    let (region, account) = (model.region.clone(), model.account.clone());
    let mut errors = Vec::new();
    let mut p = Props::of(r, &mut errors);
    match r.ty.as_str() {
        "AWS::Events::EventBus" => {
            if name == DEFAULT_BUS {
                p.invalid("Name", EventBridgeError::BusExists { name }.to_string());
                return errors;
            }
            if let Err(e) = RuleConfig::check_name(&name) {
                p.invalid("Name", e.to_string());
            }
            model.events.buses.push(EventBusConfig {
                arn: format!("arn:aws:events:{region}:{account}:event-bus/{name}"),
                name,
                description: p.opt_str("Description"),
                created: std::time::SystemTime::UNIX_EPOCH,
            });
        }
        "AWS::Events::Rule" => {
            if let Err(e) = RuleConfig::check_name(&name) {
                p.invalid("Name", e.to_string());
            }
            let bus = bus_name(p.opt_str("EventBusName").as_deref());
            // CloudFormation takes EventPattern as a JSON object or its text.
            let pattern = match p.get("EventPattern") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(v) => Some(v.to_string()),
            };
            let pattern = match pattern.map(|t| EventPattern::parse(&t)).transpose() {
                Ok(pattern) => pattern,
                Err(e) => {
                    p.invalid("EventPattern", e.to_string());
                    None
                }
            };
            let schedule = p.opt_str("ScheduleExpression");
            if pattern.is_none() && schedule.is_none() && p.errors.is_empty() {
                p.invalid(
                    "EventPattern",
                    "Parameter(s) EventPattern or ScheduleExpression must be specified.",
                );
            }
            let state = match RuleState::parse(p.opt_str("State").as_deref()) {
                Ok(state) => state,
                Err(e) => {
                    p.invalid("State", e.to_string());
                    RuleState::Enabled
                }
            };
            let mut rule = RuleConfig {
                arn: RuleConfig::arn_for(&region, &account, &bus, &name),
                name,
                bus,
                pattern,
                schedule,
                state,
                description: p.opt_str("Description"),
                role_arn: p.opt_str("RoleArn"),
                targets: Vec::new(),
            };
            // Each target as PutTargets reads it (its own messages, 1-based like the API's).
            let targets = p.get("Targets").and_then(Value::as_array);
            let mut parsed = Vec::new();
            for (i, t) in targets.into_iter().flatten().enumerate() {
                match TargetConfig::from_json(i + 1, t) {
                    Ok(t) => parsed.push(t),
                    Err(e) => p.invalid(&format!("Targets[{i}]"), e.to_string()),
                }
            }
            if let Err(e) = rule.put_targets(parsed) {
                p.invalid("Targets", e.to_string());
            }
            model.events.rules.push(rule);
        }
        "AWS::Events::Connection" => {
            let (arn, secret_arn) = (attr(r, "Arn"), attr(r, "SecretArn"));
            connection(&mut p, model, &r.logical_id, &name, &arn, &secret_arn);
        }
        "AWS::Events::ApiDestination" => {
            let arn = attr(r, "Arn");
            match ApiDestinationConfig::from_props(&name, &arn, &Value::Object(p.map.clone())) {
                Ok(d) => model.events.api_destinations.push(d),
                Err(e) => p.invalid("", e.to_string()),
            }
        }
        _ => {}
    }
    errors
}

/// What only the whole stack tells: each rule's bus exists, each API destination's connection
/// exists. Errors are `(logical id, path, kind)` as the other converters give them.
pub fn finish(model: &Model, resolved: &[ResolvedResource]) -> Vec<(String, PropError)> {
    let logical = |name: &str| {
        resolved
            .iter()
            .find(|r| {
                r.ty != "AWS::Events::Connection"
                    && TYPES.contains(&r.ty.as_str())
                    && r.physical.reference.as_str() == Some(name)
            })
            .map(|r| r.logical_id.clone())
            .unwrap_or_else(|| name.to_string())
    };
    let mut out = Vec::new();
    for r in &model.events.rules {
        if r.bus != DEFAULT_BUS && !model.events.buses.iter().any(|b| b.name == r.bus) {
            out.push((
                logical(&r.name),
                invalid(
                    "EventBusName",
                    EventBridgeError::BusNotFound {
                        name: r.bus.clone(),
                    },
                ),
            ));
        }
    }
    for d in &model.events.api_destinations {
        if !model.connections.iter().any(|c| c.arn == d.connection_arn) {
            out.push((
                logical(&d.name),
                invalid(
                    "ConnectionArn",
                    EventBridgeError::ConnectionNotFound {
                        name: d.connection_arn.clone(),
                    },
                ),
            ));
        }
    }
    out
}

fn parameters(p: &mut Props<'_>, key: &str) -> Vec<Parameter> {
    let mut out = Vec::new();
    for (path, m) in p.objects(key) {
        let mut c = p.child(path, m);
        let (Some(k), Some(v)) = (c.str("Key"), c.str("Value")) else {
            continue;
        };
        let secret = matches!(c.get("IsValueSecret"), Some(Value::Bool(true)))
            || c.opt_str("IsValueSecret").as_deref() == Some("true");
        out.push(Parameter {
            key: k,
            value: v,
            is_value_secret: secret,
        });
    }
    out
}

fn http_parameters(p: &mut Props<'_>, key: &str) -> HttpParameters {
    match p.object(key) {
        Some((path, m)) => {
            let mut c = p.child(path, m);
            HttpParameters {
                headers: parameters(&mut c, "HeaderParameters"),
                query: parameters(&mut c, "QueryStringParameters"),
                body: parameters(&mut c, "BodyParameters"),
            }
        }
        None => HttpParameters::default(),
    }
}

fn connection(
    p: &mut Props<'_>,
    model: &mut Model,
    id: &str,
    name: &str,
    arn: &str,
    secret_arn: &str,
) {
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        || name.is_empty()
        || name.len() > 64
    {
        p.invalid("Name", format!("1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"));
    }
    let kind = p.str("AuthorizationType").unwrap_or_default();
    let Some((path, auth)) = p.object("AuthParameters") else {
        p.missing("AuthParameters");
        return;
    };
    let mut a = p.child(path, auth);
    let authorization = match kind.as_str() {
        "API_KEY" => match a.object("ApiKeyAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                match (c.str("ApiKeyName"), c.str("ApiKeyValue")) {
                    (Some(name), Some(value)) => Some(Authorization::ApiKey { name, value }),
                    _ => None,
                }
            }
            None => {
                a.missing_as(
                    "ApiKeyAuthParameters",
                    "ApiKeyAuthParameters (AuthorizationType is API_KEY)",
                );
                None
            }
        },
        "BASIC" => match a.object("BasicAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                match (c.str("Username"), c.str("Password")) {
                    (Some(username), Some(password)) => {
                        Some(Authorization::Basic { username, password })
                    }
                    _ => None,
                }
            }
            None => {
                a.missing_as(
                    "BasicAuthParameters",
                    "BasicAuthParameters (AuthorizationType is BASIC)",
                );
                None
            }
        },
        "OAUTH_CLIENT_CREDENTIALS" => match a.object("OAuthParameters") {
            Some((path, m)) => {
                let mut c = a.child(path, m);
                let endpoint = c.str("AuthorizationEndpoint");
                let method = c.str("HttpMethod");
                if let Some(m) = &method
                    && !["GET", "POST", "PUT"].contains(&m.as_str())
                {
                    c.invalid("HttpMethod", format!("{m:?} is not one of GET, POST, PUT"));
                }
                if let Some(e) = &endpoint
                    && !e.starts_with("https://")
                {
                    c.invalid(
                        "AuthorizationEndpoint",
                        format!("{e:?} must be an HTTPS URL"),
                    );
                }
                let (id_, secret) = match c.object("ClientParameters") {
                    Some((path, m)) => {
                        let mut cp = c.child(path, m);
                        (cp.str("ClientID"), cp.str("ClientSecret"))
                    }
                    None => {
                        c.missing("ClientParameters");
                        (None, None)
                    }
                };
                let oauth_parameters = http_parameters(&mut c, "OAuthHttpParameters");
                match (endpoint, method, id_, secret) {
                    (
                        Some(authorization_endpoint),
                        Some(http_method),
                        Some(client_id),
                        Some(client_secret),
                    ) => Some(Authorization::OAuthClientCredentials {
                        authorization_endpoint,
                        http_method,
                        client_id,
                        client_secret,
                        oauth_parameters,
                    }),
                    _ => None,
                }
            }
            None => {
                a.fail(
                    "OAuthParameters",
                    ErrorKind::Missing {
                        name: "OAuthParameters (AuthorizationType is OAUTH_CLIENT_CREDENTIALS)"
                            .into(),
                    },
                );
                None
            }
        },
        other => {
            a.invalid(
                "",
                format!("1 validation error detected: Value '{other}' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"),
            );
            None
        }
    };
    let invocation_parameters = http_parameters(&mut a, "InvocationHttpParameters");
    let mut resource_configuration_arn = None;
    if let Some((path, m)) = p.object("InvocationConnectivityParameters") {
        let mut c = p.child(path, m);
        if let Some((path, m)) = c.object("ResourceParameters") {
            let mut r = c.child(path, m);
            if let Some(rc) = r.str("ResourceConfigurationArn") {
                match model.resource_configurations.iter().find(|x| x.arn == rc) {
                    None => r.invalid("ResourceConfigurationArn", format!("resource configuration {rc} is not in this scenario")),
                    Some(x) if matches!(x.definition, ResourceDefinition::Ip { .. }) => r.invalid(
                        "ResourceConfigurationArn",
                        format!(
                            "resource configuration {} ({}) names an IP address: a connection's resource configuration must name a domain, since HTTP Tasks reach private APIs only by public domain name with a publicly trusted certificate",
                            x.name, x.definition
                        ),
                    ),
                    Some(_) => resource_configuration_arn = Some(rc),
                }
            }
        }
    }
    let Some(authorization) = authorization else {
        return;
    };
    let secret_name = secret_arn
        .split_once(":secret:")
        .map(|(_, n)| n.rsplit_once('-').map(|(n, _)| n).unwrap_or(n))
        .unwrap_or_default()
        .to_string();
    model.connections.push(ConnectionConfig {
        logical_id: id.to_string(),
        name: name.to_string(),
        arn: arn.to_string(),
        secret_arn: secret_arn.to_string(),
        secret_name,
        authorization,
        invocation_parameters,
        resource_configuration_arn,
        description: p.opt_str("Description"),
    });
}
