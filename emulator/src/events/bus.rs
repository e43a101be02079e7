//! Event buses and what lives on them: the registry of buses, rules and API destinations per
//! (Region, account), and PutEvents' acceptance of entries
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html>).
//!
//! Every account and Region has the `default` bus; custom buses are created. PutEvents takes
//! at most [`MAX_ENTRIES`] entries of at most [`MAX_REQUEST_SIZE`] bytes in all (sized as AWS
//! documents), checks each entry (a failed entry has `ErrorCode`/`ErrorMessage`, the others an
//! `EventId`, `FailedEntryCount` counts the failures) and matches each accepted event against the
//! bus's enabled rules; the deliveries ([`super::target`]) run after the answer.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::api_destination::ApiDestinationConfig;
use super::error::EventBridgeError;
use super::rule::{RuleConfig, RuleState, TargetConfig};
use super::target::DeliveryRecord;

/// The bus every account and Region has.
pub const DEFAULT_BUS: &str = "default";
/// PutEvents: "Entries … Array Members: Minimum number of 1 item. Maximum number of 10 items."
pub const MAX_ENTRIES: usize = 10;
/// "The total entry size must be less than 256KB" (eb-putevent-size.html).
pub const MAX_REQUEST_SIZE: usize = 256 * 1024;
/// How many finished deliveries the registry remembers (vpcgate's bound).
pub const MAX_DELIVERY_LOG: usize = 1000;

/// Deliveries a world holds in flight at most (waiting for a rate-limit slot or a retry): past
/// it, PutEvents still answers, and each new delivery is logged as failed at once instead of
/// queued (vpcgate's bound, README's Limits: AWS holds an event for up to
/// `MaximumEventAgeInSeconds`, 24 hours by default, which a laptop's memory cannot).
pub const MAX_PENDING_DELIVERIES: usize = 10_000;

/// An event bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBusConfig {
    /// `Name`.
    pub name: String,
    /// `arn:aws:events:<region>:<account>:event-bus/<name>`.
    pub arn: String,
    /// `Description`.
    pub description: Option<String>,
    /// When it was made.
    pub created: SystemTime,
}

/// What a scenario declares: buses, rules (with targets) and API destinations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventsModel {
    /// Custom buses (region and account from their ARNs).
    pub buses: Vec<EventBusConfig>,
    /// Rules.
    pub rules: Vec<RuleConfig>,
    /// API destinations.
    pub api_destinations: Vec<ApiDestinationConfig>,
    /// Public origins mapped to the user's own processes (the environment's `PublicEndpoints`):
    /// where public connections' calls to them go ([`super::public`]).
    pub public_endpoints: Vec<super::public::PublicEndpoint>,
}

#[derive(Clone, Debug, Default)]
struct Scope {
    buses: BTreeMap<String, EventBusConfig>,
    /// By (bus, rule name).
    /// Shared with the deliveries in flight ([`Matched::rule`]); changed by copy on write.
    rules: BTreeMap<(String, String), Arc<RuleConfig>>,
    destinations: BTreeMap<String, ApiDestinationConfig>,
}

/// (Region, account) of an ARN.
fn arn_scope(arn: &str) -> (String, String) {
    let mut parts = arn.split(':');
    let region = parts.nth(3).unwrap_or_default().to_string();
    let account = parts.next().unwrap_or_default().to_string();
    (region, account)
}

/// The bus name of `EventBusName` (a name or an ARN).
pub fn bus_name(v: Option<&str>) -> String {
    match v {
        None | Some("") => DEFAULT_BUS.to_string(),
        Some(s) => match s.split_once(":event-bus/") {
            Some((_, name)) => name.to_string(),
            None => s.to_string(),
        },
    }
}

/// EventBridge's state in every account and Region.
#[derive(Debug, Default)]
pub struct EventBridge {
    scopes: RwLock<BTreeMap<(String, String), Scope>>,
    /// The next free invocation slot of each API destination (its rate limit), by ARN.
    pub(crate) slots: Mutex<HashMap<String, tokio::time::Instant>>,
    log: Mutex<VecDeque<DeliveryRecord>>,
    /// Deliveries in flight ([`MAX_PENDING_DELIVERIES`]).
    pending: AtomicUsize,
    /// The API destinations' queues of deliveries waiting for a slot ([`super::queue`]).
    pub(crate) queues: super::queue::Queues,
}

/// One accepted event matched by one rule, for each of its targets.
#[derive(Clone, Debug)]
pub struct Matched {
    /// The event as targets see it (one copy for all its rules and targets).
    pub event: Arc<Value>,
    /// The rule (shared with the bus, as it was when the event matched).
    pub rule: Arc<RuleConfig>,
    /// Which of the rule's targets.
    target: usize,
}

impl Matched {
    /// The target.
    pub fn target(&self) -> &TargetConfig {
        // `target` indexes the rule's targets: put_events makes it from them, and the rule is
        // this one, frozen in its Arc.
        &self.rule.targets[self.target]
    }

    /// The same delivery with its event as JSON text where that gives back the same event: what
    /// a delivery waiting for its slot keeps ([`super::queue`]). The text is a few hundred bytes
    /// where the parsed event takes a few kilobytes (a map, its index and a string per key and
    /// value). `text` is the event's form already made for another of its targets.
    pub(crate) fn park(self, text: Option<ParkedEvent>) -> Parked {
        let event = text.unwrap_or_else(|| ParkedEvent::of(&self.event));
        Parked {
            event,
            rule: self.rule,
            target: self.target,
        }
    }
}

/// An event as a waiting delivery keeps it ([`Matched::park`]).
#[derive(Clone, Debug)]
pub(crate) enum ParkedEvent {
    /// Its JSON text.
    Text(Arc<str>),
    /// The event itself: one with a fractional number, which serde_json's parser (without
    /// `float_roundtrip`) may read back one unit in the last place off.
    Parsed(Arc<Value>),
}

impl ParkedEvent {
    /// The form of `event` to keep.
    pub(crate) fn of(event: &Arc<Value>) -> Self {
        fn has_float(v: &Value) -> bool {
            match v {
                Value::Number(n) => n.is_f64(),
                Value::Array(a) => a.iter().any(has_float),
                Value::Object(o) => o.values().any(has_float),
                _ => false,
            }
        }
        if has_float(event) {
            ParkedEvent::Parsed(event.clone())
        } else {
            ParkedEvent::Text(Arc::from(event.to_string()))
        }
    }
}

/// A [`Matched`] with its event kept small ([`Matched::park`]).
#[derive(Clone, Debug)]
pub(crate) struct Parked {
    /// The event (shared by its targets).
    pub(crate) event: ParkedEvent,
    rule: Arc<RuleConfig>,
    target: usize,
}

impl Parked {
    /// The target.
    pub(crate) fn target(&self) -> &TargetConfig {
        &self.rule.targets[self.target]
    }

    /// The delivery with its event parsed again.
    pub(crate) fn unpark(&self) -> Matched {
        let event = match &self.event {
            // The text is the event's own serialization, without fractional numbers: it parses
            // back to the same value.
            ParkedEvent::Text(t) => Arc::new(serde_json::from_str(t).unwrap_or_default()),
            ParkedEvent::Parsed(v) => v.clone(),
        };
        Matched {
            event,
            rule: self.rule.clone(),
            target: self.target,
        }
    }
}

impl EventBridge {
    /// The registry a scenario declares.
    pub fn from_model(model: &EventsModel) -> Self {
        let me = Self::default();
        {
            let mut scopes = me.scopes.write().expect("lock");
            for b in &model.buses {
                scopes
                    .entry(arn_scope(&b.arn))
                    .or_default()
                    .buses
                    .insert(b.name.clone(), b.clone());
            }
            for r in &model.rules {
                scopes
                    .entry(arn_scope(&r.arn))
                    .or_default()
                    .rules
                    .insert((r.bus.clone(), r.name.clone()), Arc::new(r.clone()));
            }
            for d in &model.api_destinations {
                scopes
                    .entry(arn_scope(&d.arn))
                    .or_default()
                    .destinations
                    .insert(d.name.clone(), d.clone());
            }
        }
        me
    }

    fn read<T>(&self, region: &str, account: &str, f: impl FnOnce(Option<&Scope>) -> T) -> T {
        let scopes = self.scopes.read().expect("lock");
        f(scopes.get(&(region.to_string(), account.to_string())))
    }

    fn write<T>(&self, region: &str, account: &str, f: impl FnOnce(&mut Scope) -> T) -> T {
        let mut scopes = self.scopes.write().expect("lock");
        f(scopes
            .entry((region.to_string(), account.to_string()))
            .or_default())
    }

    /// A bus (the default bus always exists).
    pub fn bus(
        &self,
        region: &str,
        account: &str,
        name: &str,
        now: SystemTime,
    ) -> Result<EventBusConfig, EventBridgeError> {
        if name == DEFAULT_BUS {
            return Ok(EventBusConfig {
                name: DEFAULT_BUS.into(),
                arn: format!("arn:aws:events:{region}:{account}:event-bus/default"),
                description: None,
                created: now,
            });
        }
        self.read(region, account, |s| {
            s.and_then(|s| s.buses.get(name).cloned()).ok_or_else(|| {
                EventBridgeError::BusNotFound {
                    name: name.to_string(),
                }
            })
        })
    }

    /// CreateEventBus.
    pub fn create_bus(
        &self,
        region: &str,
        account: &str,
        name: &str,
        description: Option<String>,
        now: SystemTime,
    ) -> Result<EventBusConfig, EventBridgeError> {
        if name == DEFAULT_BUS {
            return Err(EventBridgeError::BusExists { name: name.into() });
        }
        self.write(region, account, |s| {
            if s.buses.contains_key(name) {
                return Err(EventBridgeError::BusExists { name: name.into() });
            }
            let bus = EventBusConfig {
                name: name.to_string(),
                arn: format!("arn:aws:events:{region}:{account}:event-bus/{name}"),
                description,
                created: now,
            };
            s.buses.insert(name.to_string(), bus.clone());
            Ok(bus)
        })
    }

    /// ListEventBuses: the default bus and the custom ones, by name.
    pub fn list_buses(&self, region: &str, account: &str, now: SystemTime) -> Vec<EventBusConfig> {
        let mut out = vec![
            self.bus(region, account, DEFAULT_BUS, now)
                .expect("default bus"),
        ];
        self.read(region, account, |s| {
            if let Some(s) = s {
                out.extend(s.buses.values().cloned());
            }
        });
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// DeleteEventBus (its rules go with it). Deleting a bus that does not exist succeeds, as
    /// AWS's DeleteEventBus is idempotent.
    pub fn delete_bus(
        &self,
        region: &str,
        account: &str,
        name: &str,
    ) -> Result<(), EventBridgeError> {
        if name == DEFAULT_BUS {
            return Err(EventBridgeError::DeleteDefaultBus);
        }
        self.write(region, account, |s| {
            s.buses.remove(name);
            s.rules.retain(|(b, _), _| b != name);
        });
        Ok(())
    }

    /// PutRule: creates or updates (targets are kept); returns the rule's ARN.
    pub fn put_rule(&self, region: &str, account: &str, mut rule: RuleConfig) -> String {
        self.write(region, account, |s| {
            let key = (rule.bus.clone(), rule.name.clone());
            if let Some(old) = s.rules.get(&key) {
                rule.targets = old.targets.clone();
            }
            let arn = rule.arn.clone();
            s.rules.insert(key, Arc::new(rule));
            arn
        })
    }

    /// A rule on a bus.
    pub fn rule(
        &self,
        region: &str,
        account: &str,
        bus: &str,
        name: &str,
    ) -> Result<RuleConfig, EventBridgeError> {
        self.read(region, account, |s| {
            s.and_then(|s| {
                s.rules
                    .get(&(bus.to_string(), name.to_string()))
                    .map(|r| RuleConfig::clone(r))
            })
            .ok_or_else(|| EventBridgeError::RuleNotFound {
                name: name.to_string(),
                bus: bus.to_string(),
            })
        })
    }

    /// Changes a rule in place.
    pub fn update_rule<T>(
        &self,
        region: &str,
        account: &str,
        bus: &str,
        name: &str,
        f: impl FnOnce(&mut RuleConfig) -> Result<T, EventBridgeError>,
    ) -> Result<T, EventBridgeError> {
        self.write(region, account, |s| {
            let rule = s
                .rules
                .get_mut(&(bus.to_string(), name.to_string()))
                .ok_or_else(|| EventBridgeError::RuleNotFound {
                    name: name.to_string(),
                    bus: bus.to_string(),
                })?;
            f(Arc::make_mut(rule))
        })
    }

    /// The rules of a bus, by name.
    pub fn rules(&self, region: &str, account: &str, bus: &str) -> Vec<Arc<RuleConfig>> {
        self.read(region, account, |s| {
            s.map(|s| {
                s.rules
                    .iter()
                    .filter(|((b, _), _)| b == bus)
                    .map(|(_, r)| r.clone())
                    .collect()
            })
            .unwrap_or_default()
        })
    }

    /// DeleteRule: refused while it has targets unless `force`; absent rules are fine (AWS's
    /// DeleteRule is idempotent).
    pub fn delete_rule(
        &self,
        region: &str,
        account: &str,
        bus: &str,
        name: &str,
        force: bool,
    ) -> Result<(), EventBridgeError> {
        self.write(region, account, |s| {
            let key = (bus.to_string(), name.to_string());
            if let Some(r) = s.rules.get(&key)
                && !r.targets.is_empty()
                && !force
            {
                return Err(EventBridgeError::RuleHasTargets);
            }
            s.rules.remove(&key);
            Ok(())
        })
    }

    /// Adds an API destination (CreateApiDestination); a taken name is refused.
    pub fn create_destination(
        &self,
        region: &str,
        account: &str,
        d: ApiDestinationConfig,
    ) -> Result<(), EventBridgeError> {
        self.write(region, account, |s| {
            if s.destinations.contains_key(&d.name) {
                return Err(EventBridgeError::ApiDestinationExists { name: d.name });
            }
            s.destinations.insert(d.name.clone(), d);
            Ok(())
        })
    }

    /// Replaces an API destination (UpdateApiDestination).
    pub fn replace_destination(&self, region: &str, account: &str, d: ApiDestinationConfig) {
        self.write(region, account, |s| {
            s.destinations.insert(d.name.clone(), d);
        })
    }

    /// An API destination by name.
    pub fn destination(
        &self,
        region: &str,
        account: &str,
        name: &str,
    ) -> Result<ApiDestinationConfig, EventBridgeError> {
        self.read(region, account, |s| {
            s.and_then(|s| s.destinations.get(name).cloned())
                .ok_or_else(|| EventBridgeError::ApiDestinationNotFound { name: name.into() })
        })
    }

    /// An API destination by ARN (name and uuid must match).
    pub fn destination_by_arn(&self, arn: &str) -> Option<ApiDestinationConfig> {
        let (region, account) = arn_scope(arn);
        let name = arn.split_once(":api-destination/")?.1.split('/').next()?;
        self.destination(&region, &account, name)
            .ok()
            .filter(|d| d.arn == arn)
    }

    /// The API destinations of a scope, by name.
    pub fn destinations(&self, region: &str, account: &str) -> Vec<ApiDestinationConfig> {
        self.read(region, account, |s| {
            s.map(|s| s.destinations.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Deletes an API destination.
    pub fn delete_destination(
        &self,
        region: &str,
        account: &str,
        name: &str,
    ) -> Result<(), EventBridgeError> {
        self.write(region, account, |s| {
            s.destinations
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| EventBridgeError::ApiDestinationNotFound { name: name.into() })
        })
    }

    /// Takes over what the API made on `old` (buses, rules with their targets, API destinations
    /// whose ARNs neither `old_model` nor this registry's own model declare), as a deploy builds a
    /// new world: control-plane writes survive it (DESIGN.md, "worlds that change at run time").
    pub fn carry_over(&self, old: &EventBridge, old_model: &EventsModel) {
        let declared: std::collections::BTreeSet<&str> = old_model
            .buses
            .iter()
            .map(|b| b.arn.as_str())
            .chain(old_model.rules.iter().map(|r| r.arn.as_str()))
            .chain(old_model.api_destinations.iter().map(|d| d.arn.as_str()))
            .collect();
        let old_scopes = old.scopes.read().expect("lock").clone();
        let mut mine = self.scopes.write().expect("lock");
        for (key, scope) in old_scopes {
            let into = mine.entry(key).or_default();
            for (name, b) in scope.buses {
                if !declared.contains(b.arn.as_str()) {
                    into.buses.entry(name).or_insert(b);
                }
            }
            for (k, r) in scope.rules {
                if !declared.contains(r.arn.as_str()) {
                    into.rules.entry(k).or_insert(r);
                }
            }
            for (name, d) in scope.destinations {
                if !declared.contains(d.arn.as_str()) {
                    into.destinations.entry(name).or_insert(d);
                }
            }
        }
    }

    /// Takes `n` places among the deliveries in flight; `false` (and nothing taken) past
    /// [`MAX_PENDING_DELIVERIES`].
    pub fn reserve_deliveries(&self, n: usize) -> bool {
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p + n <= MAX_PENDING_DELIVERIES).then_some(p + n)
            })
            .is_ok()
    }

    /// Gives back `n` places taken by [`EventBridge::reserve_deliveries`].
    pub fn release_deliveries(&self, n: usize) {
        self.pending.fetch_sub(n, Ordering::AcqRel);
    }

    /// Deliveries in flight now.
    pub fn pending_deliveries(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Deliveries waiting in the API destinations' queues now, for a slot or a retry
    /// ([`super::queue`]): the rest of those in flight are being sent.
    pub fn queued_deliveries(&self) -> usize {
        self.queues.waiting()
    }

    /// Remembers a finished delivery (the oldest are forgotten past [`MAX_DELIVERY_LOG`]).
    pub fn record(&self, d: DeliveryRecord) {
        let mut log = self.log.lock().expect("lock");
        log.push_back(d);
        while log.len() > MAX_DELIVERY_LOG {
            log.pop_front();
        }
    }

    /// The finished deliveries, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.log.lock().expect("lock").iter().cloned().collect()
    }

    /// `{"Deliveries": [...]}`: each finished delivery's JSON ([`DeliveryRecord::to_json`]) with
    /// its hops as `Trace` lines, oldest first (`/_vpcgate/events/deliveries`). Written record by
    /// record: the log's [`MAX_DELIVERY_LOG`] records as one JSON value, a string and a map
    /// entry per hop, would take several times the text's size at once.
    pub fn deliveries_json(&self) -> String {
        let records = self.deliveries();
        let mut out = String::from("{\"Deliveries\":[");
        for (i, d) in records.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut v = d.to_json();
            v["Trace"] = json!(d.trace.lines().collect::<Vec<_>>());
            out.push_str(&v.to_string());
        }
        out.push_str("]}");
        out
    }

    /// PutEvents: checks the request and each entry, and matches the accepted events against
    /// the enabled rules of their buses. Returns the answer and what to deliver.
    pub fn put_events(
        &self,
        region: &str,
        account: &str,
        entries: &[Value],
        now: SystemTime,
    ) -> Result<(Value, Vec<Matched>), EventBridgeError> {
        if entries.is_empty() || entries.len() > MAX_ENTRIES {
            let shown: Vec<String> = entries.iter().map(java_entry).collect();
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '[{}]' at 'entries' failed to satisfy constraint: Member must have length {} {MAX_ENTRIES}",
                shown.join(", "),
                if entries.is_empty() {
                    "greater than or equal to 1, less than or equal to"
                } else {
                    "less than or equal to"
                }
            )));
        }
        if entries.iter().map(entry_size).sum::<usize>() > MAX_REQUEST_SIZE {
            // test_put_event_with_too_big_detail (recorded against AWS).
            return Err(EventBridgeError::validation(
                "Total size of the entries in the request is over the limit.",
            ));
        }
        // A bus that does not exist refuses the whole request
        // (test_put_events_nonexistent_event_bus).
        for e in entries {
            let bus = bus_name(e.get("EventBusName").and_then(Value::as_str));
            if bus != DEFAULT_BUS {
                self.bus(region, account, &bus, now)?;
            }
        }
        let mut results = Vec::new();
        let mut failed = 0;
        let mut matched = Vec::new();
        for e in entries {
            match envelope(e, region, account, now) {
                Err((code, message)) => {
                    failed += 1;
                    results.push(json!({"ErrorCode": code, "ErrorMessage": message}));
                }
                Ok(event) => {
                    results.push(json!({"EventId": event["id"]}));
                    let bus = bus_name(e.get("EventBusName").and_then(Value::as_str));
                    let event = Arc::new(event);
                    for rule in self.rules(region, account, &bus) {
                        if rule.state != RuleState::Enabled {
                            continue;
                        }
                        let Some(p) = &rule.pattern else { continue };
                        if !p.matches(&event) {
                            continue;
                        }
                        for target in 0..rule.targets.len() {
                            matched.push(Matched {
                                event: event.clone(),
                                rule: rule.clone(),
                                target,
                            });
                        }
                    }
                }
            }
        }
        Ok((
            json!({"FailedEntryCount": failed, "Entries": results}),
            matched,
        ))
    }
}

/// An entry as AWS's Java service prints it in the "at 'entries'" message.
fn java_entry(e: &Value) -> String {
    let s = |k: &str| {
        e.get(k)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_else(|| "null".into())
    };
    format!(
        "PutEventsRequestEntry(time={}, source={}, resources={}, detailType={}, detail={}, eventBusName={}, traceHeader={}, kmsKeyIdentifier=null, internalMetadata=null)",
        s("Time"),
        s("Source"),
        s("Resources"),
        s("DetailType"),
        s("Detail"),
        s("EventBusName"),
        s("TraceHeader")
    )
}

/// An entry's size as eb-putevent-size.html counts it: 14 bytes for `Time`, the UTF-8 bytes of
/// `Source`, `DetailType` and `Detail`, and of each `Resources` entry.
pub fn entry_size(e: &Value) -> usize {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map_or(0, str::len);
    let time = if e.get("Time").is_some() { 14 } else { 0 };
    let resources: usize = e
        .get("Resources")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::len).sum())
        .unwrap_or(0);
    time + s("Source") + s("DetailType") + s("Detail") + resources
}

/// The event targets see: `version`, `id`, `detail-type`, `source`, `account`, `time`,
/// `region`, `resources`, `detail` (eb-events-structure.html); or the entry's
/// (ErrorCode, ErrorMessage), as LocalStack recorded them from AWS.
fn envelope(
    e: &Value,
    region: &str,
    account: &str,
    now: SystemTime,
) -> Result<Value, (&'static str, String)> {
    let req = |k: &str| -> Result<String, (&'static str, String)> {
        match e.get(k).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err((
                "InvalidArgument",
                format!("Parameter {k} is not valid. Reason: {k} is a required argument."),
            )),
        }
    };
    let source = req("Source")?;
    let detail_type = req("DetailType")?;
    let detail_text = req("Detail")?;
    if source.starts_with("aws.") {
        // Only AWS services put events with an `aws.` source (eb-events.html).
        return Err((
            "NotAuthorizedForSourceException",
            "Not authorized for the source.".into(),
        ));
    }
    let detail: Value = match serde_json::from_str(&detail_text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err(("MalformedDetail", "Detail is malformed.".into())),
    };
    let time = match e.get("Time") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs as i64, 0))
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
        _ => chrono::DateTime::<chrono::Utc>::from(now)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    let mut out = Map::new();
    out.insert("version".into(), json!("0"));
    out.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    out.insert("detail-type".into(), json!(detail_type));
    out.insert("source".into(), json!(source));
    out.insert("account".into(), json!(account));
    out.insert("time".into(), json!(time));
    out.insert("region".into(), json!(region));
    out.insert(
        "resources".into(),
        e.get("Resources").cloned().unwrap_or(json!([])),
    );
    out.insert("detail".into(), detail);
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge() -> EventBridge {
        EventBridge::default()
    }

    /// test_put_events_without_source / _without_detail / _malformed_detail (recorded).
    #[test]
    fn entries_fail_one_by_one_with_aws_codes() {
        let (answer, _) = bridge()
            .put_events(
                "us-east-1",
                "123456789012",
                &[
                    json!({"DetailType": "t", "Detail": "{}"}),
                    json!({"Source": "s", "DetailType": "t"}),
                    json!({"Source": "s", "DetailType": "t", "Detail": "\"x\""}),
                    json!({"Source": "s", "DetailType": "t", "Detail": "{}"}),
                ],
                SystemTime::UNIX_EPOCH,
            )
            .unwrap();
        assert_eq!(answer["FailedEntryCount"], 3);
        assert_eq!(
            answer["Entries"][0],
            json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."})
        );
        assert_eq!(
            answer["Entries"][1]["ErrorMessage"],
            "Parameter Detail is not valid. Reason: Detail is a required argument."
        );
        assert_eq!(
            answer["Entries"][2],
            json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
        );
        assert!(answer["Entries"][3]["EventId"].is_string());
    }

    /// `/_vpcgate/events/deliveries`' text, written record by record, is the JSON value it was
    /// built as before.
    #[test]
    fn the_deliveries_log_is_written_record_by_record() {
        use super::super::target::DeliveryResult;
        let b = bridge();
        assert_eq!(b.deliveries_json(), r#"{"Deliveries":[]}"#);
        for (i, result) in [
            DeliveryResult::Delivered {
                status: Some(200),
                body: Some("{\"ok\":true}".into()),
                execution_arn: None,
            },
            DeliveryResult::Failed {
                code: "SDK_CLIENT_ERROR".into(),
                message: "m".into(),
                status: Some(503),
            },
        ]
        .into_iter()
        .enumerate()
        {
            b.record(DeliveryRecord {
                event_id: format!("e-{i}"),
                rule_arn: "arn:aws:events:r:a:rule/x".into(),
                target_id: "t".into(),
                target_arn: "arn:aws:events:r:a:api-destination/d/u".into(),
                attempts: 1,
                result,
                dead_letter_arn: None,
                trace: "   0.000s  events   info   one\n   1.000s  events   pass   two".into(),
            });
        }
        let built = json!({"Deliveries": b.deliveries().iter().map(|d| {
            let mut v = d.to_json();
            v["Trace"] = json!(d.trace.lines().collect::<Vec<_>>());
            v
        }).collect::<Vec<_>>()});
        let written: Value = serde_json::from_str(&b.deliveries_json()).unwrap();
        assert_eq!(written, built);
        assert_eq!(
            written["Deliveries"][1]["Trace"][1],
            "   1.000s  events   pass   two"
        );
    }

    #[test]
    fn a_new_world_keeps_what_the_api_made() {
        let declared = EventsModel {
            buses: vec![EventBusConfig {
                name: "declared".into(),
                arn: "arn:aws:events:r:a:event-bus/declared".into(),
                description: None,
                created: SystemTime::UNIX_EPOCH,
            }],
            ..EventsModel::default()
        };
        let old = {
            let b = EventBridge::from_model(&declared);
            b.create_bus("r", "a", "made", None, SystemTime::UNIX_EPOCH)
                .unwrap();
            b
        };
        // The new stack no longer declares `declared`; `made` came from the API.
        let new = EventBridge::default();
        new.carry_over(&old, &declared);
        assert!(new.bus("r", "a", "made", SystemTime::UNIX_EPOCH).is_ok());
        assert!(
            new.bus("r", "a", "declared", SystemTime::UNIX_EPOCH)
                .is_err()
        );
    }

    #[test]
    fn request_limits_refuse_the_whole_request() {
        let b = bridge();
        let e = json!({"Source": "s", "DetailType": "t", "Detail": "{}"});
        let err = b
            .put_events("r", "a", &vec![e.clone(); 11], SystemTime::UNIX_EPOCH)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("Member must have length less than or equal to 10")
        );
        let big = json!({"Source": "s", "DetailType": "t", "Detail": format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_REQUEST_SIZE))});
        let err = b
            .put_events("r", "a", &[big], SystemTime::UNIX_EPOCH)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Total size of the entries in the request is over the limit."
        );
        let other =
            json!({"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"});
        let err = b
            .put_events("r", "a", &[other], SystemTime::UNIX_EPOCH)
            .unwrap_err();
        assert_eq!(err.to_string(), "Event bus nope does not exist.");
    }
}
