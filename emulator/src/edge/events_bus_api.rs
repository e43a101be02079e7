//! EventBridge's buses, rules, targets, events and API destinations on `serve` (`awsJson1_1`,
//! `AWSEvents.<Operation>`): CreateEventBus, DescribeEventBus, ListEventBuses, DeleteEventBus,
//! PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule, PutTargets,
//! ListTargetsByRule, RemoveTargets, ListRuleNamesByTarget, PutEvents, TestEventPattern,
//! CreateApiDestination, DescribeApiDestination, UpdateApiDestination, DeleteApiDestination,
//! ListApiDestinations (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html>).
//!
//! The state lives in the world's [`crate::events::EventBridge`]; errors are
//! [`EventBridgeError`]s, mapped to the wire by [`EventBridgeError::wire`]. PutEvents answers once
//! the entries are accepted; the deliveries run after it on the world's runtime, as work in
//! flight for `serve`'s virtual clock.

use std::sync::Arc;

use serde_json::{Value, json};

use super::wire::{JsonError, epoch};
use super::{Call, ScopeState};
use crate::events::api_destination::ApiDestinationConfig;
use crate::events::bus::{DEFAULT_BUS, bus_name};
use crate::events::error::EventBridgeError;
use crate::events::paging;
use crate::events::pattern::EventPattern;
use crate::events::rule::{RuleConfig, RuleState, TargetConfig};
use crate::events::target::{ExecutionStarter, deliver, is_api_destination};
use crate::world::World;

const OPS: &[&str] = &[
    "CreateEventBus",
    "DescribeEventBus",
    "ListEventBuses",
    "DeleteEventBus",
    "PutRule",
    "DescribeRule",
    "ListRules",
    "DeleteRule",
    "EnableRule",
    "DisableRule",
    "PutTargets",
    "ListTargetsByRule",
    "RemoveTargets",
    "ListRuleNamesByTarget",
    "PutEvents",
    "TestEventPattern",
    "CreateApiDestination",
    "DescribeApiDestination",
    "UpdateApiDestination",
    "DeleteApiDestination",
    "ListApiDestinations",
];

/// Whether this module answers `op`.
pub fn handles(op: &str) -> bool {
    OPS.contains(&op)
}

/// EventBridge's errors on the wire: [`crate::events::error::wire`], the one mapping.
impl From<EventBridgeError> for JsonError {
    fn from(e: EventBridgeError) -> Self {
        let w = e.wire();
        JsonError {
            status: w.status,
            code: w.code.to_string(),
            message: w.message,
        }
    }
}

pub(super) fn wire(e: EventBridgeError) -> JsonError {
    e.into()
}

/// A page of `items` as `input`'s `Limit` / `NextToken` ask ([`paging::page`]), put under `key`
/// with the `NextToken` while more remain.
pub(super) fn paged(
    op: &str,
    key: &str,
    items: Vec<Value>,
    input: &Value,
) -> Result<Value, JsonError> {
    let page = paging::page(op, items, input).map_err(wire)?;
    let mut out = json!({ key: page.items });
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

fn str_field<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

fn required<'a>(input: &'a Value, key: &str, wire_name: &str) -> Result<&'a str, JsonError> {
    str_field(input, key).ok_or_else(|| {
        wire(EventBridgeError::validation(format!(
            "1 validation error detected: Value null at '{wire_name}' failed to satisfy constraint: Member must not be null"
        )))
    })
}

/// Answers one operation.
pub fn call(cx: &Call<'_>, op: &str, input: &Value) -> Result<Value, JsonError> {
    let (region, account) = (cx.scope.region.as_str(), cx.scope.account.as_str());
    let eb = &cx.world.events;
    let now = cx.world.clock.now();
    match op {
        "CreateEventBus" => {
            let name = required(input, "Name", "name")?;
            RuleConfig::check_name(name).map_err(wire)?;
            let arn = cx.scope.arn("events", &format!("event-bus/{name}"));
            cx.authorize("events:CreateEventBus", &arn)?;
            let bus = eb
                .create_bus(
                    region,
                    account,
                    name,
                    str_field(input, "Description").map(str::to_string),
                    now,
                )
                .map_err(wire)?;
            Ok(json!({"EventBusArn": bus.arn}))
        }
        "DescribeEventBus" => {
            let name = bus_name(str_field(input, "Name"));
            let bus = eb.bus(region, account, &name, now).map_err(wire)?;
            cx.authorize("events:DescribeEventBus", &bus.arn)?;
            let mut out = json!({"Name": bus.name, "Arn": bus.arn, "CreationTime": epoch(bus.created), "LastModifiedTime": epoch(bus.created)});
            if let Some(d) = bus.description {
                out["Description"] = json!(d);
            }
            Ok(out)
        }
        "ListEventBuses" => {
            cx.authorize("events:ListEventBuses", "*")?;
            let prefix = str_field(input, "NamePrefix").unwrap_or("");
            let buses: Vec<Value> = eb
                .list_buses(region, account, now)
                .into_iter()
                .filter(|b| b.name.starts_with(prefix))
                .map(|b| json!({"Name": b.name, "Arn": b.arn, "CreationTime": epoch(b.created), "LastModifiedTime": epoch(b.created)}))
                .collect();
            paged(op, "EventBuses", buses, input)
        }
        "DeleteEventBus" => {
            let name = required(input, "Name", "name")?;
            cx.authorize(
                "events:DeleteEventBus",
                &cx.scope.arn("events", &format!("event-bus/{name}")),
            )?;
            eb.delete_bus(region, account, name).map_err(wire)?;
            Ok(json!({}))
        }
        "PutRule" => put_rule(cx, input),
        "DescribeRule" => {
            let (bus, name) = rule_key(input)?;
            let rule = eb.rule(region, account, &bus, &name).map_err(wire)?;
            cx.authorize("events:DescribeRule", &rule.arn)?;
            let mut out = rule_json(&rule);
            out["CreatedBy"] = json!(account);
            Ok(out)
        }
        "ListRules" => {
            let bus = bus_name(str_field(input, "EventBusName"));
            eb.bus(region, account, &bus, now).map_err(wire)?;
            cx.authorize("events:ListRules", "*")?;
            let prefix = str_field(input, "NamePrefix").unwrap_or("");
            let rules: Vec<Value> = eb
                .rules(region, account, &bus)
                .iter()
                .filter(|r| r.name.starts_with(prefix))
                .map(|r| rule_json(r))
                .collect();
            paged(op, "Rules", rules, input)
        }
        "DeleteRule" => {
            let (bus, name) = rule_key(input)?;
            cx.authorize(
                "events:DeleteRule",
                &RuleConfig::arn_for(region, account, &bus, &name),
            )?;
            let force = input.get("Force").and_then(Value::as_bool).unwrap_or(false);
            eb.delete_rule(region, account, &bus, &name, force)
                .map_err(wire)?;
            Ok(json!({}))
        }
        "EnableRule" | "DisableRule" => {
            let (bus, name) = rule_key(input)?;
            cx.authorize(
                &format!("events:{op}"),
                &RuleConfig::arn_for(region, account, &bus, &name),
            )?;
            let state = if op == "EnableRule" {
                RuleState::Enabled
            } else {
                RuleState::Disabled
            };
            eb.update_rule(region, account, &bus, &name, |r| {
                r.state = state;
                Ok(())
            })
            .map_err(wire)?;
            Ok(json!({}))
        }
        "PutTargets" => {
            let (bus, name) = rule_key_field(input, "Rule")?;
            cx.authorize(
                "events:PutTargets",
                &RuleConfig::arn_for(region, account, &bus, &name),
            )?;
            let targets = input
                .get("Targets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let parsed = targets
                .iter()
                .enumerate()
                .map(|(i, t)| TargetConfig::from_json(i + 1, t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(wire)?;
            eb.update_rule(region, account, &bus, &name, |r| r.put_targets(parsed))
                .map_err(wire)?;
            Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
        }
        "ListTargetsByRule" => {
            let (bus, name) = rule_key_field(input, "Rule")?;
            let rule = eb.rule(region, account, &bus, &name).map_err(wire)?;
            cx.authorize("events:ListTargetsByRule", &rule.arn)?;
            let targets: Vec<Value> = rule.targets.iter().map(|t| t.raw.clone()).collect();
            paged(op, "Targets", targets, input)
        }
        "RemoveTargets" => {
            let (bus, name) = rule_key_field(input, "Rule")?;
            cx.authorize(
                "events:RemoveTargets",
                &RuleConfig::arn_for(region, account, &bus, &name),
            )?;
            let ids = crate::events::rule::strings(input.get("Ids"));
            eb.update_rule(region, account, &bus, &name, |r| {
                r.targets.retain(|t| !ids.contains(&t.id));
                Ok(())
            })
            .map_err(wire)?;
            Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
        }
        "ListRuleNamesByTarget" => {
            let arn = required(input, "TargetArn", "targetArn")?;
            cx.authorize("events:ListRuleNamesByTarget", "*")?;
            let bus = bus_name(str_field(input, "EventBusName"));
            let names: Vec<Value> = eb
                .rules(region, account, &bus)
                .into_iter()
                .filter(|r| r.targets.iter().any(|t| t.arn == arn))
                .map(|r| json!(r.name))
                .collect();
            paged(op, "RuleNames", names, input)
        }
        "PutEvents" => put_events(cx, input),
        "TestEventPattern" => {
            let pattern = required(input, "EventPattern", "eventPattern")?;
            let event = required(input, "Event", "event")?;
            let p = self::pattern(pattern)?;
            // test_plain_string_payload / test_array_event_payload (recorded against AWS).
            let event: Value = match serde_json::from_str(event) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return Err(wire(EventBridgeError::validation(
                        "Parameter Event is not valid.",
                    )));
                }
            };
            Ok(json!({"Result": p.matches(&event)}))
        }
        "CreateApiDestination" | "UpdateApiDestination" => {
            let name = required(input, "Name", "name")?;
            RuleConfig::check_name(name).map_err(wire)?;
            let existing = eb.destination(region, account, name).ok();
            let arn = match (&existing, op) {
                (Some(d), "UpdateApiDestination") => d.arn.clone(),
                (None, "UpdateApiDestination") => {
                    return Err(wire(EventBridgeError::ApiDestinationNotFound {
                        name: name.into(),
                    }));
                }
                _ => cx.scope.arn(
                    "events",
                    &format!("api-destination/{name}/{}", uuid::Uuid::new_v4()),
                ),
            };
            cx.authorize(&format!("events:{op}"), &arn)?;
            let mut props = input.clone();
            if let Some(d) = &existing
                && let Some(map) = props.as_object_mut()
            {
                // UpdateApiDestination keeps what it does not name.
                map.entry("ConnectionArn")
                    .or_insert(json!(d.connection_arn));
                map.entry("InvocationEndpoint").or_insert(json!(d.endpoint));
                map.entry("HttpMethod").or_insert(json!(d.method));
                map.entry("InvocationRateLimitPerSecond")
                    .or_insert(json!(d.rate_limit));
            }
            let d = ApiDestinationConfig::from_props(name, &arn, &props).map_err(wire)?;
            if cx.world.connections.by_arn(&d.connection_arn).is_err() {
                return Err(wire(EventBridgeError::ConnectionNotFound {
                    name: d.connection_arn.clone(),
                }));
            }
            if op == "CreateApiDestination" {
                eb.create_destination(region, account, d).map_err(wire)?;
            } else {
                eb.replace_destination(region, account, d);
            }
            Ok(
                json!({"ApiDestinationArn": arn, "ApiDestinationState": "ACTIVE", "CreationTime": epoch(now), "LastModifiedTime": epoch(now)}),
            )
        }
        "DescribeApiDestination" => {
            let name = required(input, "Name", "name")?;
            // test_api_destinations_and_connection: describe-api-destination-not-found-error.
            let d = eb
                .destination(region, account, name)
                .map_err(|_| wire(EventBridgeError::ApiDestinationMissing { name: name.into() }))?;
            cx.authorize("events:DescribeApiDestination", &d.arn)?;
            Ok(destination_json(&d, now, true))
        }
        "ListApiDestinations" => {
            cx.authorize("events:ListApiDestinations", "*")?;
            let prefix = str_field(input, "NamePrefix").unwrap_or("");
            let list: Vec<Value> = eb
                .destinations(region, account)
                .iter()
                .filter(|d| d.name.starts_with(prefix))
                .map(|d| destination_json(d, now, false))
                .collect();
            paged(op, "ApiDestinations", list, input)
        }
        "DeleteApiDestination" => {
            let name = required(input, "Name", "name")?;
            let d = eb.destination(region, account, name).map_err(wire)?;
            cx.authorize("events:DeleteApiDestination", &d.arn)?;
            eb.delete_destination(region, account, name).map_err(wire)?;
            Ok(json!({}))
        }
        other => Err(wire(EventBridgeError::UnknownOperation {
            op: other.into(),
        })),
    }
}

fn destination_json(d: &ApiDestinationConfig, now: std::time::SystemTime, describe: bool) -> Value {
    let mut out = json!({
        "ApiDestinationArn": d.arn,
        "Name": d.name,
        "ApiDestinationState": "ACTIVE",
        "ConnectionArn": d.connection_arn,
        "InvocationEndpoint": d.endpoint,
        "HttpMethod": d.method,
        "InvocationRateLimitPerSecond": d.rate_limit,
        "CreationTime": epoch(now),
        "LastModifiedTime": epoch(now),
    });
    if describe && let Some(desc) = &d.description {
        out["Description"] = json!(desc);
    }
    out
}

/// Parses an `EventPattern` parameter: past its length constraint a `ValidationException` as
/// AWS's request validation words it, else the pattern's own checks.
fn pattern(text: &str) -> Result<EventPattern, JsonError> {
    let max = crate::events::pattern::MAX_PATTERN_LENGTH;
    if text.chars().count() > max {
        let shown: String = text.chars().take(64).collect();
        return Err(wire(EventBridgeError::validation(format!(
            "1 validation error detected: Value '{shown}...' at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ))));
    }
    EventPattern::parse(text).map_err(|e| wire(EventBridgeError::Pattern(e)))
}

fn rule_key(input: &Value) -> Result<(String, String), JsonError> {
    rule_key_field(input, "Name")
}

fn rule_key_field(input: &Value, key: &str) -> Result<(String, String), JsonError> {
    let name = required(input, key, &key.to_ascii_lowercase())?;
    Ok((bus_name(str_field(input, "EventBusName")), name.to_string()))
}

/// DescribeRule's and ListRules' view of a rule.
fn rule_json(r: &RuleConfig) -> Value {
    let mut out =
        json!({"Name": r.name, "Arn": r.arn, "State": r.state.as_str(), "EventBusName": r.bus});
    if let Some(p) = &r.pattern {
        out["EventPattern"] = json!(p.text());
    }
    if let Some(s) = &r.schedule {
        out["ScheduleExpression"] = json!(s);
    }
    if let Some(d) = &r.description {
        out["Description"] = json!(d);
    }
    if let Some(role) = &r.role_arn {
        out["RoleArn"] = json!(role);
    }
    out
}

fn put_rule(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let (region, account) = (cx.scope.region.as_str(), cx.scope.account.as_str());
    let (bus, name) = rule_key(input)?;
    RuleConfig::check_name(&name).map_err(wire)?;
    cx.world
        .events
        .bus(region, account, &bus, cx.world.clock.now())
        .map_err(wire)?;
    let arn = RuleConfig::arn_for(region, account, &bus, &name);
    cx.authorize("events:PutRule", &arn)?;
    let pattern = str_field(input, "EventPattern")
        .map(self::pattern)
        .transpose()?;
    let schedule = str_field(input, "ScheduleExpression").map(str::to_string);
    if pattern.is_none() && schedule.is_none() {
        return Err(wire(EventBridgeError::validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        )));
    }
    if schedule.is_some() && bus != DEFAULT_BUS {
        return Err(wire(EventBridgeError::validation(
            "ScheduleExpression is supported only on the default event bus.",
        )));
    }
    let rule = RuleConfig {
        name,
        arn,
        bus,
        pattern,
        schedule,
        state: RuleState::parse(str_field(input, "State")).map_err(wire)?,
        description: str_field(input, "Description").map(str::to_string),
        role_arn: str_field(input, "RoleArn").map(str::to_string),
        targets: Vec::new(),
    };
    let arn = cx.world.events.put_rule(region, account, rule);
    Ok(json!({"RuleArn": arn}))
}

/// Starts executions of the state machines `serve` knows in one scope.
struct ScopeStarter {
    state: Arc<ScopeState>,
    world: World,
}

#[async_trait::async_trait]
impl ExecutionStarter for ScopeStarter {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: Value,
    ) -> Result<String, (String, String)> {
        let machine = self
            .state
            .state_machines
            .read()
            .expect("lock")
            .get(state_machine_arn)
            .map(|e| e.machine.clone())
            .ok_or_else(|| {
                (
                    "StateMachineDoesNotExist".to_string(),
                    format!("State Machine Does Not Exist: '{state_machine_arn}'"),
                )
            })?;
        self.state
            .executions
            .start(&self.world, &machine, input, None)
            .map(|(arn, _)| arn)
            .map_err(|e| ("StartExecution".to_string(), e.to_string()))
    }
}

fn put_events(cx: &Call<'_>, input: &Value) -> Result<Value, JsonError> {
    let entries = input
        .get("Entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for e in entries {
        let bus = bus_name(str_field(e, "EventBusName"));
        cx.authorize(
            "events:PutEvents",
            &cx.scope.arn("events", &format!("event-bus/{bus}")),
        )?;
    }
    let (answer, matched) = cx
        .world
        .events
        .put_events(
            &cx.scope.region,
            &cx.scope.account,
            entries,
            cx.world.clock.now(),
        )
        .map_err(wire)?;
    if !matched.is_empty() && !cx.world.events.reserve_deliveries(matched.len()) {
        // Past vpcgate's bound on deliveries in flight: logged as failed, not queued.
        for m in &matched {
            crate::events::target::backlog_full(&cx.world, m);
        }
    } else if !matched.is_empty() {
        // API destinations' deliveries wait for their rate-limit slot in their destination's
        // queue, as data (crate::events::queue); the others run now.
        let (queued, direct): (Vec<_>, Vec<_>) = matched
            .into_iter()
            .partition(|m| is_api_destination(&m.target().arn));
        crate::events::queue::enqueue_all(&cx.world, queued);
        if !direct.is_empty() {
            let world = cx.world.clone();
            let starter = ScopeStarter {
                state: cx.state.clone(),
                world: world.clone(),
            };
            // Deliveries are work in flight: serve's virtual clock skips their back-off waits
            // only when nothing real is pending (crate::clock).
            let work = world.clock.work();
            tokio::spawn(async move {
                let trace = crate::trace::Trace::new();
                for m in &direct {
                    deliver(&world, Some(&starter), m, &trace).await;
                }
                world.events.release_deliveries(direct.len());
                drop(work);
            });
        }
    }
    Ok(answer)
}
