//! Typed conversion of `AWS::Events::EventBus`, `AWS::Events::Rule` and
//! `AWS::Events::ApiDestination` into [`crate::events::EventsModel`]
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html>).
//!
//! The properties are read with the checks the EventBridge API makes (PutRule's pattern
//! validation, PutTargets' target checks, CreateApiDestination's constraints), so a template
//! fails to load with the message the API would give; `finish` checks what only the whole stack
//! tells (a rule's bus, an API destination's connection).

use serde_json::{Map, Value};

use super::props::{PropError, attr, invalid_at as invalid, reference};
use super::template::ResolvedResource;
use crate::events::api_destination::ApiDestinationConfig;
use crate::events::bus::{DEFAULT_BUS, EventBusConfig, bus_name};
use crate::events::error::EventBridgeError;
use crate::events::pattern::EventPattern;
use crate::events::rule::{RuleConfig, RuleState, TargetConfig};
use crate::model::Model;

/// The resource types this module converts.
pub const TYPES: &[&str] = &[
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::Events::ApiDestination",
];

fn s<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    props.get(key).and_then(Value::as_str)
}

/// Converts one resource.
pub fn convert(r: &ResolvedResource, model: &mut Model) -> Vec<PropError> {
    let props = &r.properties;
    let name = reference(r);
    let (region, account) = (model.region.clone(), model.account.clone());
    let mut errors = Vec::new();
    match r.ty.as_str() {
        "AWS::Events::EventBus" => {
            if name == DEFAULT_BUS {
                errors.push(invalid("Name", EventBridgeError::BusExists { name }));
                return errors;
            }
            if let Err(e) = RuleConfig::check_name(&name) {
                errors.push(invalid("Name", e));
            }
            model.events.buses.push(EventBusConfig {
                arn: format!("arn:aws:events:{region}:{account}:event-bus/{name}"),
                name,
                description: s(props, "Description").map(str::to_string),
                created: std::time::SystemTime::UNIX_EPOCH,
            });
        }
        "AWS::Events::Rule" => {
            if let Err(e) = RuleConfig::check_name(&name) {
                errors.push(invalid("Name", e));
            }
            let bus = bus_name(s(props, "EventBusName"));
            // CloudFormation takes EventPattern as a JSON object or its text.
            let pattern = match props.get("EventPattern") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text.clone()),
                Some(v) => Some(v.to_string()),
            };
            let pattern = match pattern.map(|t| EventPattern::parse(&t)).transpose() {
                Ok(p) => p,
                Err(e) => {
                    errors.push(invalid("EventPattern", e));
                    None
                }
            };
            let schedule = s(props, "ScheduleExpression").map(str::to_string);
            if pattern.is_none() && schedule.is_none() && errors.is_empty() {
                errors.push(invalid(
                    "EventPattern",
                    "Parameter(s) EventPattern or ScheduleExpression must be specified.",
                ));
            }
            let state = RuleState::parse(s(props, "State")).unwrap_or_else(|e| {
                errors.push(invalid("State", e));
                RuleState::Enabled
            });
            let mut rule = RuleConfig {
                arn: RuleConfig::arn_for(&region, &account, &bus, &name),
                name,
                bus,
                pattern,
                schedule,
                state,
                description: s(props, "Description").map(str::to_string),
                role_arn: s(props, "RoleArn").map(str::to_string),
                targets: Vec::new(),
            };
            let targets = props
                .get("Targets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut parsed = Vec::new();
            for (i, t) in targets.iter().enumerate() {
                match TargetConfig::from_json(i + 1, t) {
                    Ok(t) => parsed.push(t),
                    Err(e) => errors.push(invalid(&format!("Targets[{i}]"), e)),
                }
            }
            if let Err(e) = rule.put_targets(parsed) {
                errors.push(invalid("Targets", e));
            }
            model.events.rules.push(rule);
        }
        "AWS::Events::ApiDestination" => {
            let arn = attr(r, "Arn");
            match ApiDestinationConfig::from_props(&name, &arn, &Value::Object(props.clone())) {
                Ok(d) => model.events.api_destinations.push(d),
                Err(e) => errors.push(invalid("", e)),
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
            .find(|r| TYPES.contains(&r.ty.as_str()) && r.physical.reference.as_str() == Some(name))
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
