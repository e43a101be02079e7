//! The trace viewer: a page `serve` answers at `/_vpcgate/ui` and the JSON feed it reads.
//!
//! - `GET /_vpcgate/ui` — the page (HTML, CSS and a little JavaScript from `edge/ui/`, embedded
//!   in the binary with `include_str!`; nothing is loaded from anywhere else);
//! - `GET /_vpcgate/executions` — the recent executions (Standard and Express, started with
//!   StartExecution or StartSyncExecution) and data-plane requests (execute-api), newest first:
//!   status, error, virtual and wall duration, the hop that refused;
//! - `GET /_vpcgate/trace/{id}` — one of them: its states (from the execution's history) and its
//!   hops ([`crate::trace::Trace::to_json`]); `?format=svg` draws the path
//!   ([`crate::trace::svg`], the renderer `explain --format svg` uses), `&state=<name>` only the
//!   hops of one Task state. `{id}` is the feed's id or an execution ARN;
//! - `GET /_vpcgate/topology` — the world's VPCs, subnets, ENIs (load balancers, resource
//!   gateways, endpoints, VPC links by their owners), gateways and what lives outside the VPCs;
//!   `?format=svg` draws it.
//!
//! They follow the rules of every `/_vpcgate/*` endpoint ([`super::LocalEndpoint`]): answered
//! only for a loopback `Host`, so a page elsewhere cannot read them through DNS rebinding. They
//! carry no secrets: no execution input or output, no keys; trace messages are redacted where
//! the hop is made ([`crate::trace::redact`]).
//!
//! The log ([`Activity`]) keeps the newest [`MAX_ENTRIES`]; it holds each entry's trace handle,
//! so a running execution's hops show up as they are made.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Body, plain};
use crate::asl::{ExecutionOutcome, LiveHistory};
use crate::clock::{Clock, epoch_seconds};
use crate::sfn::execution::{ExecutionRecord, Watch, Watched, status_name};
use crate::trace::svg::{self, xml_text};
use crate::trace::{Hop, Trace};
use crate::world::World;

/// Most entries the viewer's log keeps (the oldest go first).
pub const MAX_ENTRIES: usize = 200;

const INDEX_HTML: &str = include_str!("ui/index.html");
const UI_CSS: &str = include_str!("ui/ui.css");
const UI_JS: &str = include_str!("ui/ui.js");

/// What an entry of the log is.
#[derive(Clone, Debug)]
enum What {
    /// The execution's ARN, name and state machine ARN.
    Execution { texts: Texts, kind: &'static str },
    /// The request's method, API and stage, and path.
    Request { texts: Texts },
}

impl What {
    fn texts_mut(&mut self) -> &mut Texts {
        match self {
            What::Execution { texts, .. } | What::Request { texts } => texts,
        }
    }
}

/// What an entry is, before its texts are written.
enum Kind {
    /// An execution of this type.
    Execution(&'static str),
    /// A data-plane request.
    Request,
}

impl Kind {
    fn with(self, texts: Texts) -> What {
        match self {
            Kind::Execution(kind) => What::Execution { texts, kind },
            Kind::Request => What::Request { texts },
        }
    }
}

/// Three texts of an entry in one allocation (an entry is made for every execution and
/// request; the entry that leaves the log lends the new one its memory, this string's too).
#[derive(Clone, Debug, Default)]
struct Texts {
    all: String,
    ends: [usize; 2],
}

impl Texts {
    fn new(parts: [&str; 3]) -> Self {
        let mut texts = Self::default();
        texts.refill(parts);
        texts
    }

    /// Writes `parts` over the texts (in the string's memory when it is large enough).
    fn refill(&mut self, parts: [&str; 3]) {
        self.all.clear();
        self.all.reserve(parts.iter().map(|p| p.len()).sum());
        for (i, part) in parts.iter().enumerate() {
            self.all.push_str(part);
            if let Some(end) = self.ends.get_mut(i) {
                *end = self.all.len();
            }
        }
    }

    fn get(&self) -> (&str, &str, &str) {
        let [a, b] = self.ends;
        (&self.all[..a], &self.all[a..b], &self.all[b..])
    }
}

/// An entry's status: an execution's (`SUCCEEDED`, …) or a request's HTTP status, written out
/// when the feed asks.
#[derive(Clone, Copy, Debug)]
enum Status {
    Execution(&'static str),
    Http(u16),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Execution(name) => f.write_str(name),
            Status::Http(code) => write!(f, "{code}"),
        }
    }
}

/// How an entry ended.
#[derive(Clone, Debug)]
struct End {
    status: Status,
    error: Option<String>,
    cause: Option<String>,
    virtual_time: Duration,
    wall_time: Duration,
}

/// One execution or data-plane request the viewer lists.
#[derive(Debug)]
struct Entry {
    id: u64,
    what: What,
    /// Emulated time at the start (the world's clock: what DescribeExecution says).
    start_date: SystemTime,
    /// Host time at the start (wall duration).
    started_host: SystemTime,
    /// Virtual time at the start.
    started: tokio::time::Instant,
    trace: Trace,
    history: Option<LiveHistory>,
    end: Mutex<Option<End>>,
}

/// The viewer's log of recent executions and data-plane requests.
#[derive(Debug)]
pub struct Activity {
    clock: Clock,
    next: AtomicU64,
    entries: Mutex<VecDeque<Arc<Entry>>>,
}

/// A data-plane request being answered ([`Activity::request`]); [`RequestEntry::finish`] records
/// its answer.
#[derive(Debug)]
pub struct RequestEntry {
    entry: Arc<Entry>,
    clock: Clock,
}

impl RequestEntry {
    /// The trace the request records into.
    pub fn trace(&self) -> Trace {
        self.entry.trace.clone()
    }

    /// The request was answered with `status`.
    pub fn finish(self, status: u16) {
        let (virtual_time, wall_time) = self.entry.durations(&self.clock);
        let end = End {
            status: Status::Http(status),
            error: None,
            cause: None,
            virtual_time,
            wall_time,
        };
        *self.entry.end.lock().expect("lock") = Some(end);
    }
}

impl Entry {
    /// The virtual and the wall time since the entry started (one set of clock readings).
    fn durations(&self, clock: &Clock) -> (Duration, Duration) {
        let at = clock.readings();
        (
            at.instant.saturating_duration_since(self.started),
            at.host
                .duration_since(self.started_host)
                .unwrap_or_default(),
        )
    }
}

fn host_elapsed(clock: &Clock, since: SystemTime) -> Duration {
    clock.host_now().duration_since(since).unwrap_or_default()
}

impl Activity {
    /// An empty log whose wall durations are read from `clock`'s host time.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            next: AtomicU64::new(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Logs an entry of `kind` with the texts `parts`. When the log is full its oldest entry
    /// leaves it, and when nothing else holds that entry any more (nearly always: the log keeps
    /// the newest 200) the new entry is written into its memory: one allocation fewer per
    /// execution and request, and memory the allocator need not hand back and out again. What
    /// the old entry held (a whole trace and history) is freed outside the log's lock.
    fn push(
        &self,
        kind: Kind,
        parts: [&str; 3],
        trace: Trace,
        history: Option<LiveHistory>,
    ) -> Arc<Entry> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let at = self.clock.readings();
        let entry = |what| Entry {
            id,
            what,
            start_date: at.now,
            started_host: at.host,
            started: at.instant,
            trace,
            history,
            end: Mutex::new(None),
        };
        let mut oldest = {
            let mut entries = self.entries.lock().expect("lock");
            if entries.len() >= MAX_ENTRIES {
                entries.pop_front()
            } else {
                None
            }
        };
        let new = match oldest.as_mut().and_then(Arc::get_mut) {
            Some(slot) => {
                let mut texts = std::mem::take(slot.what.texts_mut());
                texts.refill(parts);
                *slot = entry(kind.with(texts));
                oldest.take().expect("the oldest entry")
            }
            None => Arc::new(entry(kind.with(Texts::new(parts)))),
        };
        drop(oldest);
        let mut entries = self.entries.lock().expect("lock");
        entries.push_back(new.clone());
        // Others may have pushed meanwhile.
        let evicted: Vec<_> = (MAX_ENTRIES..entries.len())
            .filter_map(|_| entries.pop_front())
            .collect();
        drop(entries);
        drop(evicted);
        new
    }

    /// Logs a data-plane request (`method`, the API and stage, `path`), with a fresh trace for it to record into.
    pub fn request(&self, method: &str, api: &str, path: &str) -> RequestEntry {
        RequestEntry {
            entry: self.push(
                Kind::Request,
                [clipped(method, 16), clipped(api, 256), clipped(path, 1024)],
                Trace::new(),
                None,
            ),
            clock: self.clock.clone(),
        }
    }

    fn find(&self, id: &str) -> Option<Arc<Entry>> {
        let entries = self.entries.lock().expect("lock");
        let by_number = id.parse::<u64>().ok();
        entries
            .iter()
            .rev()
            .find(|e| {
                Some(e.id) == by_number
                    || matches!(&e.what, What::Execution { texts, .. } if texts.get().0 == id)
            })
            .cloned()
    }

    /// The feed of `/_vpcgate/executions`: newest first.
    pub fn feed(&self) -> Value {
        let entries: Vec<Arc<Entry>> = self
            .entries
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .cloned()
            .collect();
        json!({
            "entries": entries.iter().map(|e| self.summary(e)).collect::<Vec<_>>(),
            "maxEntries": MAX_ENTRIES,
        })
    }

    fn summary(&self, e: &Entry) -> Value {
        let end = e.end.lock().expect("lock").clone();
        let (hops, deciding) = e.trace.outline();
        let deciding = deciding.as_ref().map(hop_brief);
        let mut v = match &e.what {
            What::Execution { texts, kind } => {
                let (arn, name, state_machine_arn) = texts.get();
                json!({
                "kind": "execution",
                "title": state_machine_arn.rsplit(':').next().unwrap_or_default(),
                "executionArn": arn,
                "name": name,
                "stateMachineArn": state_machine_arn,
                "type": kind,
                })
            }
            What::Request { texts } => {
                let (method, api, path) = texts.get();
                json!({
                    "kind": "request",
                    "title": format!("{method} {path}"),
                    "method": method,
                    "api": api,
                    "path": path,
                })
            }
        };
        let (status, virtual_time, wall_time) = match &end {
            Some(end) => (end.status.to_string(), end.virtual_time, end.wall_time),
            None => (
                "RUNNING".to_string(),
                e.started.elapsed(),
                host_elapsed(&self.clock, e.started_host),
            ),
        };
        let o = v.as_object_mut().expect("an object");
        o.insert("id".into(), json!(e.id.to_string()));
        o.insert("status".into(), json!(status));
        o.insert("running".into(), json!(end.is_none()));
        o.insert("startDate".into(), json!(epoch_seconds(e.start_date)));
        o.insert("virtualMs".into(), json!(virtual_time.as_millis() as u64));
        o.insert("wallMs".into(), json!(wall_time.as_millis() as u64));
        o.insert("hops".into(), json!(hops));
        o.insert("refusedBy".into(), deciding.unwrap_or(Value::Null));
        if let Some(end) = &end {
            o.insert("error".into(), json!(end.error));
            o.insert("cause".into(), json!(end.cause));
        }
        v
    }

    /// The document of `/_vpcgate/trace/{id}`.
    fn trace_doc(&self, e: &Entry) -> Value {
        let mut doc = self.summary(e);
        let o = doc.as_object_mut().expect("an object");
        o.insert("trace".into(), e.trace.to_json());
        o.insert("states".into(), json!(states(e)));
        doc
    }
}

impl Watch for Activity {
    fn started(&self, record: &ExecutionRecord) -> Watched {
        let entry = self.push(
            Kind::Execution(record.kind.as_str()),
            [&record.arn, &record.name, &record.state_machine_arn],
            record.trace.clone(),
            record.live.clone(),
        );
        Some(entry)
    }

    fn ended(&self, watched: Watched, arn: &str, outcome: &ExecutionOutcome) {
        // The entry `started` handed back (no search of the log by ARN); an execution whose
        // start was not seen here is looked for.
        let entry = match watched.and_then(|w| w.downcast::<Entry>().ok()) {
            Some(entry) => entry,
            None => match self.find(arn) {
                Some(entry) => entry,
                None => return,
            },
        };
        let (virtual_time, wall_time) = entry.durations(&self.clock);
        let end = End {
            status: Status::Execution(status_name(outcome.status)),
            error: outcome.error.clone(),
            cause: outcome.cause.clone(),
            virtual_time,
            wall_time,
        };
        *entry.end.lock().expect("lock") = Some(end);
    }
}

fn hop_brief(h: &Hop) -> Value {
    json!({
        "component": h.component,
        "verdict": h.verdict,
        "message": h.message,
        "address": h.address,
        "rule": h.rule,
        "state": h.state.as_deref(),
        "atMs": h.at_ms,
    })
}

/// The states an execution entered, from its history (`<Type>StateEntered` /
/// `<Type>StateExited`, and the Task's own `TaskFailed`/`TaskSucceeded`...), with the hops each
/// made.
fn states(e: &Entry) -> Vec<Value> {
    let Some(history) = &e.history else {
        return Vec::new();
    };
    let events = history.events();
    let origin = events.first().map_or(0.0, |ev| ev.timestamp);
    let hops = e.trace.hops();
    let mut out: Vec<serde_json::Map<String, Value>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for ev in &events {
        let at_ms = ((ev.timestamp - origin) * 1000.0).max(0.0).round() as u64;
        if let Some(kind) = ev.event_type.strip_suffix("StateEntered") {
            let name = ev
                .detail_str("stateEnteredEventDetails", "name")
                .unwrap_or_default()
                .to_string();
            let mut m = serde_json::Map::new();
            m.insert(
                "hops".into(),
                json!(
                    hops.iter()
                        .filter(|h| h.state.as_deref() == Some(name.as_str()))
                        .count()
                ),
            );
            m.insert(
                "refused".into(),
                json!(hops.iter().any(|h| h.state.as_deref() == Some(name.as_str()) && svg::stops(h.verdict))),
            );
            m.insert("name".into(), json!(name));
            m.insert("type".into(), json!(kind));
            m.insert("enteredMs".into(), json!(at_ms));
            m.insert("exitedMs".into(), Value::Null);
            m.insert("outcome".into(), json!("RUNNING"));
            open.push(out.len());
            out.push(m);
        } else if ev.event_type.ends_with("StateExited") {
            let name = ev
                .detail_str("stateExitedEventDetails", "name")
                .unwrap_or_default();
            if let Some(pos) = open
                .iter()
                .rposition(|&i| out[i].get("name").and_then(Value::as_str) == Some(name))
            {
                let i = open.remove(pos);
                out[i].insert("exitedMs".into(), json!(at_ms));
                out[i].insert("outcome".into(), json!("EXITED"));
            }
        } else if ev.event_type.ends_with("Failed")
            || ev.event_type.ends_with("TimedOut")
            || ev.event_type.ends_with("Aborted")
        {
            // A failure closes the innermost open state (the Task that failed, then the
            // execution).
            if let Some(&i) = open.last() {
                out[i].insert("outcome".into(), json!(ev.event_type));
                out[i].insert("exitedMs".into(), json!(at_ms));
                open.pop();
            }
        }
    }
    out.into_iter().map(Value::Object).collect()
}

/// Whether `path` is one the open page fetches by itself, every second (logged at debug level).
pub fn polled(path: &str) -> bool {
    path.starts_with("/_vpcgate/ui")
        || path == "/_vpcgate/executions"
        || path == "/_vpcgate/topology"
        || path.starts_with("/_vpcgate/trace/")
}

/// The page and its feed; `None` for any other path (the caller answers it).
pub fn answer(
    activity: &Activity,
    world: &World,
    req: &http::Request<Bytes>,
) -> Option<http::Response<Body>> {
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if req.method() != http::Method::GET {
        return None;
    }
    let resp = match path {
        "/_vpcgate/ui" | "/_vpcgate/ui/" => asset("text/html; charset=utf-8", INDEX_HTML),
        "/_vpcgate/ui/ui.css" => asset("text/css; charset=utf-8", UI_CSS),
        "/_vpcgate/ui/ui.js" => asset("text/javascript; charset=utf-8", UI_JS),
        "/_vpcgate/executions" => json_doc(&activity.feed()),
        "/_vpcgate/topology" => {
            if param("format").as_deref() == Some("svg") {
                svg_doc(topology_svg(world))
            } else {
                json_doc(&topology(world))
            }
        }
        p if let Some(raw) = p.strip_prefix("/_vpcgate/trace/") => {
            let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            let Some(entry) = activity.find(&id) else {
                return Some(plain(
                    404,
                    "application/json",
                    json!({"message": format!("vpcgate: no recent execution or request {} (the viewer keeps the newest {MAX_ENTRIES})", xml_text(&id, 200))}).to_string(),
                ));
            };
            if param("format").as_deref() == Some("svg") {
                let state = param("state");
                let hops: Vec<Hop> = entry
                    .trace
                    .hops()
                    .into_iter()
                    .filter(|h| {
                        state
                            .as_deref()
                            .is_none_or(|s| h.state.as_deref() == Some(s))
                    })
                    .collect();
                let title = match (&entry.what, &state) {
                    (What::Execution { texts, .. }, Some(s)) => {
                        let (_, name, state_machine_arn) = texts.get();
                        format!(
                            "{} / {name}: state {s}",
                            state_machine_arn.rsplit(':').next().unwrap_or_default()
                        )
                    }
                    (What::Execution { texts, .. }, None) => {
                        let (_, name, state_machine_arn) = texts.get();
                        format!(
                            "{} / {name}",
                            state_machine_arn.rsplit(':').next().unwrap_or_default()
                        )
                    }
                    (What::Request { texts }, _) => {
                        let (method, _, path) = texts.get();
                        format!("{method} {path}")
                    }
                };
                svg_doc(svg::render(&hops, &title))
            } else {
                json_doc(&activity.trace_doc(&entry))
            }
        }
        _ => return None,
    };
    Some(resp)
}

/// A response with the headers every viewer answer carries: nothing cached, no sniffing, no
/// framing by other pages, scripts and styles only from `serve` itself.
fn with_headers(mut resp: http::Response<Body>) -> http::Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", http::HeaderValue::from_static("DENY"));
    h.insert(
        "referrer-policy",
        http::HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        http::header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    resp
}

fn asset(content_type: &str, body: &'static str) -> http::Response<Body> {
    with_headers(plain(
        200,
        content_type,
        Bytes::from_static(body.as_bytes()),
    ))
}

fn json_doc(v: &Value) -> http::Response<Body> {
    with_headers(plain(200, "application/json", v.to_string()))
}

fn svg_doc(svg: String) -> http::Response<Body> {
    with_headers(plain(200, "image/svg+xml", svg))
}

// ---------------------------------------------------------------------------------------------
// The world's topology.

/// The world's network as the viewer draws it: each VPC with its subnets and the ENIs in them
/// (owner, address, groups), its internet and NAT gateways and gateway endpoints; and what lives
/// outside the VPCs (Step Functions state machines, EventBridge connections, VPC Lattice
/// resource configurations, API Gateway REST APIs).
pub fn topology(w: &World) -> Value {
    let enis = w.net.enis();
    let group_name = |id: &str| {
        w.model
            .security_groups
            .iter()
            .find(|g| g.id.as_str() == id)
            .map(|g| format!("{id} ({})", g.logical_id))
            .unwrap_or_else(|| id.to_string())
    };
    let vpcs: Vec<Value> = w
        .model
        .vpcs
        .iter()
        .map(|v| {
            let igws: Vec<&str> = w
                .model
                .ec2
                .attachments
                .iter()
                .filter(|a| a.vpc_id == v.id)
                .map(|a| a.internet_gateway_id.as_str())
                .collect();
            let gateway_endpoints: Vec<Value> = w
                .model
                .ec2
                .vpc_endpoints
                .iter()
                .filter(|e| {
                    e.vpc_id == v.id
                        && matches!(e.kind, crate::ec2::VpcEndpointType::Gateway)
                })
                .map(|e| json!({"id": e.id, "service": e.service_name}))
                .collect();
            json!({
                "id": v.id,
                "logicalId": v.logical_id,
                "cidr": v.cidr.to_string(),
                "internetGateways": igws,
                "gatewayEndpoints": gateway_endpoints,
                "subnets": v.subnets.iter().map(|s| json!({
                    "id": s.id,
                    "cidr": s.cidr.to_string(),
                    "availabilityZone": s.availability_zone,
                    "natGateways": w.model.ec2.nat_gateways.iter().filter(|n| n.subnet_id == s.id).map(|n| n.id.clone()).collect::<Vec<_>>(),
                    "enis": enis.iter().filter(|e| e.subnet_id == s.id).map(|e| json!({
                        "id": e.id,
                        "ip": e.ip.to_string(),
                        "owner": e.description,
                        "securityGroups": e.groups.iter().map(|g| group_name(g.as_str())).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "region": w.model.region,
        "accountId": w.model.account,
        "vpcs": vpcs,
        "outside": {
            "stateMachines": w.model.state_machines.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "connections": w.model.connections.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "resourceConfigurations": w.model.resource_configurations.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            "loadBalancers": w.model.load_balancers.iter().map(|l| json!({"name": l.name, "dnsName": l.dns_name, "internal": l.internal})).collect::<Vec<_>>(),
            "restApis": w.model.apigw.rest_apis.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        },
    })
}

/// Width of the topology drawing.
pub const TOPOLOGY_WIDTH: u32 = 340;
/// Most ENIs drawn per subnet (the rest are counted).
const MAX_ENIS_DRAWN: usize = 40;

/// [`topology`] drawn: VPC boxes holding subnet boxes holding one row per ENI (its owner,
/// address and groups); each ENI row carries `data-ip`, which the page marks when a trace's hop
/// names that address.
pub fn topology_svg(w: &World) -> String {
    use std::fmt::Write as _;
    let t = topology(w);
    let width = TOPOLOGY_WIDTH;
    // Characters of 11-pixel DejaVu Sans that fit a line inside a subnet box.
    let chars = ((width - 60) as f64 / 7.0) as usize;
    let mut body = String::new();
    let mut y = 40u32;
    let list = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let outside = &t["outside"];
    let mut outside_lines = Vec::new();
    for (label, key) in [
        ("Step Functions", "stateMachines"),
        ("EventBridge connections", "connections"),
        ("Lattice resource configs", "resourceConfigurations"),
        ("API Gateway", "restApis"),
    ] {
        let names = list(outside, key);
        if !names.is_empty() {
            outside_lines.push(format!("{label}: {}", names.join(", ")));
        }
    }
    if !outside_lines.is_empty() {
        let h = 26 + 15 * outside_lines.len() as u32;
        let _ = writeln!(
            body,
            r##"<g class="outside"><rect x="8" y="{y}" width="{}" height="{h}" rx="6" fill="#f6f3fb" stroke="#7e57c2"/><text x="16" y="{}" font-weight="bold">outside the VPCs (AWS services)</text>"##,
            width - 16,
            y + 16
        );
        for (i, l) in outside_lines.iter().enumerate() {
            let _ = writeln!(
                body,
                r##"<text x="16" y="{}" font-size="11">{}</text>"##,
                y + 32 + 15 * i as u32,
                xml_text(l, chars)
            );
        }
        body.push_str("</g>\n");
        y += h + 10;
    }
    for v in t["vpcs"].as_array().into_iter().flatten() {
        let top = y;
        let mut inner = String::new();
        y += 34;
        for s in v["subnets"].as_array().into_iter().flatten() {
            let s_top = y;
            let mut rows = String::new();
            y += 20;
            for n in list(s, "natGateways") {
                let _ = writeln!(
                    rows,
                    r##"<text x="28" y="{}" font-size="11" fill="#555">NAT gateway {}</text>"##,
                    y + 10,
                    xml_text(&n, chars)
                );
                y += 15;
            }
            let enis = s["enis"].as_array().cloned().unwrap_or_default();
            for e in enis.iter().take(MAX_ENIS_DRAWN) {
                let ip = e["ip"].as_str().unwrap_or_default();
                let owner = e["owner"].as_str().unwrap_or_default();
                let groups = list(e, "securityGroups").join(", ");
                let _ = writeln!(
                    rows,
                    r##"<g class="eni" data-ip="{}" data-eni="{}"><title>{} {} — {}; groups {}</title><rect x="24" y="{}" width="{}" height="32" rx="4" fill="#ffffff" stroke="#607d8b"/><text x="30" y="{}" font-size="11" font-weight="bold">{} {}</text><text x="30" y="{}" font-size="10" fill="#444">{}</text></g>"##,
                    xml_text(ip, 64),
                    xml_text(e["id"].as_str().unwrap_or_default(), 64),
                    xml_text(e["id"].as_str().unwrap_or_default(), 64),
                    xml_text(ip, 64),
                    xml_text(owner, 200),
                    xml_text(&groups, 400),
                    y,
                    width - 48,
                    y + 13,
                    xml_text(ip, 64),
                    xml_text(owner, chars.saturating_sub(16)),
                    y + 26,
                    xml_text(&format!("SG {groups}"), chars),
                );
                y += 36;
            }
            if enis.len() > MAX_ENIS_DRAWN {
                let _ = writeln!(
                    rows,
                    r##"<text x="28" y="{}" font-size="11">… {} more ENIs</text>"##,
                    y + 10,
                    enis.len() - MAX_ENIS_DRAWN
                );
                y += 15;
            }
            let _ = writeln!(
                inner,
                r##"<g class="subnet"><rect x="18" y="{s_top}" width="{}" height="{}" rx="4" fill="#f1f8e9" stroke="#689f38" stroke-dasharray="4,2"/><text x="24" y="{}" font-size="11" fill="#33691e">{}</text>{rows}</g>"##,
                width - 36,
                y - s_top + 4,
                s_top + 14,
                xml_text(
                    &format!(
                        "subnet {} {} {}",
                        s["id"].as_str().unwrap_or_default(),
                        s["cidr"].as_str().unwrap_or_default(),
                        s["availabilityZone"].as_str().unwrap_or_default()
                    ),
                    chars
                ),
            );
            y += 10;
        }
        let mut extras = list(v, "internetGateways")
            .into_iter()
            .map(|g| format!("internet gateway {g}"))
            .collect::<Vec<_>>();
        for e in v["gatewayEndpoints"].as_array().into_iter().flatten() {
            extras.push(format!(
                "gateway endpoint {} ({})",
                e["id"].as_str().unwrap_or_default(),
                e["service"].as_str().unwrap_or_default()
            ));
        }
        for x in &extras {
            let _ = writeln!(
                inner,
                r##"<text x="20" y="{}" font-size="11" fill="#0d47a1">{}</text>"##,
                y + 4,
                xml_text(x, chars)
            );
            y += 15;
        }
        let _ = writeln!(
            body,
            r##"<g class="vpc"><rect x="8" y="{top}" width="{}" height="{}" rx="8" fill="#f7fbff" stroke="#1565c0" stroke-width="1.5"/><text x="16" y="{}" font-weight="bold" fill="#0d47a1">{}</text>{inner}</g>"##,
            width - 16,
            y - top + 6,
            top + 20,
            xml_text(
                &format!(
                    "VPC {} {} ({})",
                    v["id"].as_str().unwrap_or_default(),
                    v["cidr"].as_str().unwrap_or_default(),
                    v["logicalId"].as_str().unwrap_or_default()
                ),
                chars
            ),
        );
        y += 16;
    }
    let height = y + 8;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="vg-topology" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="vg-topo-title" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">
<title id="vg-topo-title">The world's network: {} {}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="24" font-size="14" font-weight="bold">World {} {}</text>
{body}</svg>
"##,
        xml_text(t["accountId"].as_str().unwrap_or_default(), 20),
        xml_text(t["region"].as_str().unwrap_or_default(), 30),
        xml_text(t["accountId"].as_str().unwrap_or_default(), 20),
        xml_text(t["region"].as_str().unwrap_or_default(), 30),
    )
}

/// `text`'s first `max` characters (a text of at most `max` bytes whole).
fn clipped(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log keeps the newest [`MAX_ENTRIES`], newest first. A new entry is written into the
    /// memory of the oldest when nothing else holds it, and shows only its own texts and state;
    /// an entry still held when it leaves the log stays as it was.
    #[tokio::test]
    async fn the_log_keeps_the_newest_entries_and_reuses_the_oldest() {
        let log = Activity::new(Clock::at_unix(1_700_000_000));
        let held = log.request("GET", "api stage held", "/held");
        for i in 0..MAX_ENTRIES + 5 {
            log.request("POST", "api stage s", &format!("/p{i}"))
                .finish(201);
        }
        let feed = log.feed();
        let entries = feed["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), MAX_ENTRIES);
        for (k, e) in entries.iter().enumerate() {
            let i = MAX_ENTRIES + 4 - k;
            assert_eq!(e["path"], format!("/p{i}"));
            assert_eq!(e["title"], format!("POST /p{i}"));
            assert_eq!(e["api"], "api stage s");
            assert_eq!(e["status"], "201");
            assert_eq!(e["running"], false);
            // Ids count up with every entry (the held one was 1).
            assert_eq!(e["id"], (i + 2).to_string());
        }
        // The held entry left the log with its own texts.
        match &held.entry.what {
            What::Request { texts } => assert_eq!(texts.get(), ("GET", "api stage held", "/held")),
            other => panic!("{other:?}"),
        }
        held.finish(404);

        // The oldest entry, finished and held by nothing else, lends the new one its memory.
        let oldest = Arc::as_ptr(log.entries.lock().expect("lock").front().expect("full"));
        let fresh = log.request("PUT", "api stage t", "/new");
        assert!(std::ptr::eq(Arc::as_ptr(&fresh.entry), oldest));
        let feed = log.feed();
        let newest = &feed["entries"][0];
        assert_eq!(newest["title"], "PUT /new");
        assert_eq!(newest["api"], "api stage t");
        assert_eq!(newest["status"], "RUNNING");
        assert_eq!(newest["running"], true);
        assert_eq!(newest["id"], (MAX_ENTRIES + 7).to_string());
        assert_eq!(feed["entries"].as_array().map(Vec::len), Some(MAX_ENTRIES));
    }
}
