//! Distributed Map: a Map state whose iterations run as child executions of a Map Run
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
//!
//! The interpreter runs each child as an execution of its own (its own history, ARN and
//! context object) on the same clock and task handler as the parent; whoever embeds the
//! interpreter watches Map Runs and children through [`MapRunObserver`] (the `serve` API's
//! DescribeMapRun, ListMapRuns, UpdateMapRun, and ListExecutions with `mapRunArn`), and changes
//! a running Map Run through its [`MapRunControl`].

use super::definition::{Batcher, Distributed, NumSpec, State, StateMachine};
use super::error::{StatesError, names};
use super::interp::{Ctx, Cursor};
use super::template::Env;
use super::{ExecutionConfig, ExecutionOutcome, ExecutionStatus, LiveHistory, StopHandle};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Most child executions one Map Run starts in vpcgate (after batching). AWS starts up to
/// 10,000 at a time and has no total bound; vpcgate bounds the total so a hostile definition
/// cannot make one request hold unbounded memory (README, Limits).
pub const MAX_MAP_RUN_CHILDREN: usize = 10_000;

/// The concurrency of a Map Run whose `MaxConcurrency` is 0 (unset): 10,000 child executions
/// at a time (state-map-distributed.html, "MaxConcurrency").
pub const DEFAULT_DISTRIBUTED_CONCURRENCY: u64 = 10_000;

/// A Map Run's status (API_DescribeMapRun.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRunStatus {
    /// Children still run.
    Running,
    /// Every child succeeded, or the failures stayed within the tolerated threshold.
    Succeeded,
    /// The tolerated failure threshold was exceeded (or the run could not start).
    Failed,
    /// The parent execution stopped while the Map Run ran.
    Aborted,
}

impl MapRunStatus {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            MapRunStatus::Running => "RUNNING",
            MapRunStatus::Succeeded => "SUCCEEDED",
            MapRunStatus::Failed => "FAILED",
            MapRunStatus::Aborted => "ABORTED",
        }
    }
}

/// DescribeMapRun's `itemCounts` / `executionCounts` (API_MapRunItemCounts.html,
/// API_MapRunExecutionCounts.html).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapRunCounts {
    /// Not started yet.
    pub pending: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Stopped (by StopExecution, or by Step Functions when the Map Run failed).
    pub aborted: u64,
    /// All of them.
    pub total: u64,
}

impl MapRunCounts {
    /// The API object (`resultsWritten` is 0: vpcgate has no ResultWriter).
    pub fn to_json(&self) -> Value {
        json!({
            "pending": self.pending,
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timedOut": self.timed_out,
            "aborted": self.aborted,
            "total": self.total,
            "resultsWritten": 0,
        })
    }
    fn start(&mut self, n: u64) {
        self.pending = self.pending.saturating_sub(n);
        self.running += n;
    }
    fn end(&mut self, n: u64, status: ExecutionStatus) {
        self.running = self.running.saturating_sub(n);
        match status {
            ExecutionStatus::Succeeded => self.succeeded += n,
            ExecutionStatus::Failed => self.failed += n,
            ExecutionStatus::TimedOut => self.timed_out += n,
            ExecutionStatus::Aborted => self.aborted += n,
        }
    }
}

/// The settings UpdateMapRun changes, and the state DescribeMapRun reads.
#[derive(Debug, Clone)]
pub struct MapRunState {
    /// `maxConcurrency` (0 = the default, 10,000).
    pub max_concurrency: u64,
    /// `toleratedFailureCount` (`None` = not set: AWS reports 0).
    pub tolerated_failure_count: Option<u64>,
    /// `toleratedFailurePercentage` (`None` = not set: AWS reports 0.0).
    pub tolerated_failure_percentage: Option<f64>,
    /// Status.
    pub status: MapRunStatus,
    /// When it ended.
    pub stop_date: Option<SystemTime>,
    /// Per item.
    pub items: MapRunCounts,
    /// Per child execution.
    pub executions: MapRunCounts,
}

/// A running Map Run's shared state: UpdateMapRun writes, the Map state reads.
#[derive(Debug)]
pub struct MapRunControl {
    state: Mutex<MapRunState>,
    changed: tokio::sync::Notify,
}

impl MapRunControl {
    fn new(state: MapRunState) -> Self {
        MapRunControl {
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
        }
    }
    /// A copy of the state.
    pub fn state(&self) -> MapRunState {
        self.lock().clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, MapRunState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// UpdateMapRun: changes what is given; a running Map Run starts more children at once
    /// or fails at the next child that ends past the new threshold
    /// (API_UpdateMapRun.html).
    pub fn update(
        &self,
        max_concurrency: Option<u64>,
        tolerated_failure_count: Option<u64>,
        tolerated_failure_percentage: Option<f64>,
    ) {
        let mut s = self.lock();
        if let Some(m) = max_concurrency {
            s.max_concurrency = m;
        }
        if let Some(c) = tolerated_failure_count {
            s.tolerated_failure_count = Some(c);
        }
        if let Some(p) = tolerated_failure_percentage {
            s.tolerated_failure_percentage = Some(p);
        }
        drop(s);
        self.changed.notify_one();
    }
    /// Whether `failed` failures out of `total` items exceed the threshold: with neither
    /// field set, any failure does; with one or both, exceeding either does
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html>:
    /// "The default percentage value is zero, which means that the workflow fails if any one
    /// of its child workflow executions fails or times out").
    fn exceeded(&self, failed: u64, total: u64) -> bool {
        let s = self.lock();
        let by_count = s.tolerated_failure_count.map(|c| failed > c);
        let by_pct = s
            .tolerated_failure_percentage
            .map(|p| total > 0 && (failed as f64 * 100.0 / total as f64) > p);
        match (by_count, by_pct) {
            (None, None) => failed > 0,
            (c, p) => c.unwrap_or(false) || p.unwrap_or(false),
        }
    }
}

/// A Map Run as it starts.
#[derive(Debug, Clone)]
pub struct MapRunInfo {
    /// `arn:aws:states:<region>:<account>:mapRun:<state machine>/<label or UUID>:<UUID>`.
    pub map_run_arn: String,
    /// The parent execution.
    pub execution_arn: String,
    /// The children's state machine: `<parent state machine ARN>/<label or UUID>`.
    pub state_machine_arn: String,
    /// When it started.
    pub start_date: SystemTime,
}

/// A child execution as it starts.
#[derive(Debug, Clone)]
pub struct ChildExecution {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>/<label or UUID>:<UUID>`
    /// (`express:` for EXPRESS children).
    pub arn: String,
    /// Its name (a UUID).
    pub name: String,
    /// The children's state machine ARN.
    pub state_machine_arn: String,
    /// The Map Run.
    pub map_run_arn: String,
    /// STANDARD or EXPRESS.
    pub execution_type: super::ExecutionType,
    /// Its input.
    pub input: Value,
    /// When it started.
    pub start_date: SystemTime,
    /// Its history while it runs.
    pub history: LiveHistory,
    /// Stops it (StopExecution of the child).
    pub stop: StopHandle,
}

/// Watches Map Runs (implemented by whoever keeps executions: `serve`'s store).
pub trait MapRunObserver: Send + Sync {
    /// A Map Run started; `control` stays valid for its whole life.
    fn map_run_started(&self, run: &MapRunInfo, control: Arc<MapRunControl>);
    /// A child execution started.
    fn child_started(&self, child: &ChildExecution);
    /// A child execution ended (also called for a child abandoned because its parent stopped:
    /// then `outcome` is ABORTED).
    fn child_ended(&self, arn: &str, outcome: &ExecutionOutcome);
}

/// A UUID from the execution's RNG (deterministic under a seed, as `States.UUID` is).
fn uuid(ctx: &Ctx<'_>) -> String {
    let mut bytes = [0u8; 16];
    {
        use rand::RngCore;
        let mut rng = ctx.rng.lock().unwrap_or_else(|p| p.into_inner());
        rng.fill_bytes(&mut bytes);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Groups the items into batches: `{"Items": [...], ...BatchInput}` of at most
/// `MaxItemsPerBatch` items and `MaxInputBytesPerBatch` bytes (an item larger than the byte
/// limit travels alone) (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html>).
pub(crate) fn batch(
    items: Vec<Value>,
    b: &Batcher,
    env: &Env<'_>,
    resolve: &dyn Fn(&NumSpec, &Env<'_>, &str) -> Result<f64, StatesError>,
) -> Result<Vec<Value>, StatesError> {
    let max_items = b
        .max_items
        .as_ref()
        .map(|s| resolve(s, env, "MaxItemsPerBatch"))
        .transpose()?
        .map(|n| n.max(1.0) as usize)
        .unwrap_or(usize::MAX);
    let max_bytes = b
        .max_bytes
        .as_ref()
        .map(|s| resolve(s, env, "MaxInputBytesPerBatch"))
        .transpose()?
        .map(|n| n.max(1.0) as usize)
        .unwrap_or(usize::MAX);
    let batch_input = match &b.batch_input {
        Some(t) => match t.eval(env, "BatchInput")? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    let wrap = |items: Vec<Value>| {
        let mut m = Map::new();
        m.insert("Items".into(), Value::Array(items));
        if !batch_input.is_empty() {
            m.insert("BatchInput".into(), Value::Object(batch_input.clone()));
        }
        Value::Object(m)
    };
    // The batch as JSON: the envelope's bytes, then the items' with commas between them.
    let envelope = serde_json::to_string(&wrap(Vec::new()))
        .map(|s| s.len())
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut cur: Vec<Value> = Vec::new();
    let mut cur_bytes = envelope;
    for it in items {
        let n = serde_json::to_string(&it).map(|s| s.len()).unwrap_or(0);
        // Each item after the first adds a comma.
        if !cur.is_empty() && (cur.len() >= max_items || cur_bytes + 1 + n > max_bytes) {
            out.push(wrap(std::mem::take(&mut cur)));
            cur_bytes = envelope;
        }
        cur_bytes += n + usize::from(!cur.is_empty());
        cur.push(it);
    }
    if !cur.is_empty() {
        out.push(wrap(cur));
    }
    Ok(out)
}

/// Marks a child ABORTED if its future is dropped before it ends (the parent was stopped or
/// timed out: AWS stops the children of a Map Run whose parent stops).
struct ChildGuard<'a> {
    observer: Option<&'a dyn MapRunObserver>,
    arn: String,
    history: LiveHistory,
    clock: crate::clock::Clock,
    start: SystemTime,
    control: Arc<MapRunControl>,
    size: u64,
    done: bool,
}

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        {
            let mut s = self.control.lock();
            s.executions.end(1, ExecutionStatus::Aborted);
            s.items.end(self.size, ExecutionStatus::Aborted);
        }
        let Some(obs) = self.observer else { return };
        let ts = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as f64
            / 1000.0;
        let events = {
            let mut h = self.history.0.lock().unwrap_or_else(|p| p.into_inner());
            let last = h.last().map_or(0, |e| e.id);
            h.push(
                ts,
                "ExecutionAborted",
                last,
                Some("executionAbortedEventDetails"),
                json!({}),
            );
            h.to_vec().into()
        };
        let outcome = ExecutionOutcome {
            redrive_point: None,
            status: ExecutionStatus::Aborted,
            output: None,
            error: None,
            cause: None,
            history: events,
            start_date: self.start,
            stop_date: self.clock.now(),
        };
        obs.child_ended(&self.arn, &outcome);
    }
}

/// Sets the Map Run ABORTED if the Map state's future is dropped while it runs.
struct RunGuard {
    control: Arc<MapRunControl>,
    clock: crate::clock::Clock,
    done: bool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if !self.done {
            let mut s = self.control.lock();
            s.status = MapRunStatus::Aborted;
            s.stop_date = Some(self.clock.now());
        }
    }
}

/// Runs one Distributed Map's Map Run: `MapStateStarted`, `MapRunStarted`, the children, then
/// `MapRunSucceeded` or `MapRunFailed` and `MapStateSucceeded` / `MapStateFailed` (AWS-recorded:
/// LocalStack scenarios/test_base_scenarios.snapshot.json, test_map_state_legacy_config_distributed
/// and test_map_item_reader_csv_headers_decl_duplicate_headers; `MapStateExited` follows
/// `MapRunSucceeded`, not `MapStateSucceeded`, as recorded there). `sizes[i]` is the number of
/// items child `i` carries (1 without an ItemBatcher).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_map_run<'a>(
    ctx: &'a Ctx<'a>,
    st: &'a State,
    processor: &'a StateMachine,
    dist: &'a Distributed,
    inputs: Vec<Value>,
    sizes: Vec<u64>,
    cur: &Arc<Cursor>,
    settings: (u64, Option<u64>, Option<f64>),
    (top, skips): (bool, std::collections::BTreeMap<usize, Value>),
) -> Result<Value, StatesError> {
    let items_total: u64 = sizes.iter().sum();
    ctx.event(
        cur,
        "MapStateStarted",
        Some("mapStateStartedEventDetails"),
        json!({"length": items_total}),
    );
    let cfg = ctx.cfg;
    let label = dist.label.clone().unwrap_or_else(|| uuid(ctx));
    let map_run_arn = format!(
        "{}/{label}:{}",
        cfg.state_machine_arn
            .replacen(":stateMachine:", ":mapRun:", 1),
        uuid(ctx)
    );
    let child_sm_arn = format!("{}/{label}", cfg.state_machine_arn);
    let n = inputs.len();
    let control = Arc::new(MapRunControl::new(MapRunState {
        max_concurrency: settings.0,
        tolerated_failure_count: settings.1,
        tolerated_failure_percentage: settings.2,
        status: MapRunStatus::Running,
        stop_date: None,
        items: MapRunCounts {
            pending: items_total,
            total: items_total,
            ..Default::default()
        },
        executions: MapRunCounts {
            pending: n as u64,
            total: n as u64,
            ..Default::default()
        },
    }));
    let observer = ctx.handler.map_runs();
    if let Some(o) = observer {
        o.map_run_started(
            &MapRunInfo {
                map_run_arn: map_run_arn.clone(),
                execution_arn: cfg.execution_arn.clone(),
                state_machine_arn: child_sm_arn.clone(),
                start_date: cfg.clock.now(),
            },
            control.clone(),
        );
    }
    let mut guard = RunGuard {
        control: control.clone(),
        clock: cfg.clock.clone(),
        done: false,
    };
    ctx.event(
        cur,
        "MapRunStarted",
        Some("mapRunStartedEventDetails"),
        json!({"mapRunArn": map_run_arn}),
    );
    let finish = |status: MapRunStatus| {
        let mut s = control.lock();
        s.status = status;
        s.stop_date = Some(cfg.clock.now());
    };
    if n > MAX_MAP_RUN_CHILDREN {
        let e = StatesError::new(
            names::RUNTIME,
            format!(
                "{}The Map Run would start {n} child executions; vpcgate starts at most {MAX_MAP_RUN_CHILDREN} per Map Run",
                super::interp::state_prefix(&st.name)
            ),
        );
        return Err(fail_run(ctx, cur, &mut guard, &finish, e));
    }
    let kind_word = match dist.execution_type {
        super::ExecutionType::Standard => "execution",
        super::ExecutionType::Express => "express",
    };
    let child_base = format!(
        "{}/{label}",
        cfg.execution_arn
            .rsplit_once(':')
            .map(|(head, _)| head)
            .unwrap_or(&cfg.execution_arn)
            .replacen(":execution:", &format!(":{kind_word}:"), 1)
            .replacen(":express:", &format!(":{kind_word}:"), 1)
    );
    let sm_name = format!("{}/{label}", cfg.state_machine_name);
    let mut results: Vec<Option<Result<Value, StatesError>>> = (0..n).map(|_| None).collect();
    let mut stops: Vec<Option<StopHandle>> = (0..n).map(|_| None).collect();
    let mut arns: Vec<String> = Vec::with_capacity(n);
    let mut running: futures::stream::FuturesUnordered<BoxFuture<'_, (usize, ExecutionOutcome)>> =
        futures::stream::FuturesUnordered::new();
    let mut next = 0usize;
    let mut failed_items = 0u64;
    let mut failure: Option<StatesError> = None;
    let mut inputs = inputs.into_iter();
    loop {
        let limit = match control.lock().max_concurrency {
            0 => DEFAULT_DISTRIBUTED_CONCURRENCY,
            m => m,
        } as usize;
        while failure.is_none() && running.len() < limit && next < n {
            let i = next;
            next += 1;
            let input = inputs.next().unwrap_or(Value::Null);
            arns.push(String::new());
            if let Some(v) = skips.get(&i) {
                // Succeeded before the parent's redrive: not run again (redrive-map-run.html:
                // the redriven Map Run reruns the unsuccessful child executions).
                let mut s = control.lock();
                s.executions.start(1);
                s.executions.end(1, ExecutionStatus::Succeeded);
                s.items.start(sizes[i]);
                s.items.end(sizes[i], ExecutionStatus::Succeeded);
                drop(s);
                ctx.note_done(top, i, v);
                results[i] = Some(Ok(v.clone()));
                continue;
            }
            let name = uuid(ctx);
            let arn = format!("{child_base}:{name}");
            arns[i] = arn.clone();
            let seed = {
                use rand::RngCore;
                ctx.rng.lock().unwrap_or_else(|p| p.into_inner()).next_u64()
            };
            let config = ExecutionConfig {
                execution_type: dist.execution_type,
                execution_arn: arn.clone(),
                execution_name: name.clone(),
                state_machine_arn: child_sm_arn.clone(),
                state_machine_name: sm_name.clone(),
                role_arn: cfg.role_arn.clone(),
                clock: cfg.clock.clone(),
                start_time: Some(cfg.clock.now()),
                redrive_count: 0,
                redrive_from: None,
                payload_limit_bytes: cfg.payload_limit_bytes,
                express_max_duration: cfg.express_max_duration,
                standard_max_duration: cfg.standard_max_duration,
                max_history_events: cfg.max_history_events,
                history: LiveHistory::default(),
                rng_seed: Some(seed),
                region: Some(cfg.region()),
            };
            let (handle, signal) = super::stop_channel();
            stops[i] = Some(handle.clone());
            {
                let mut s = control.lock();
                s.executions.start(1);
                s.items.start(sizes[i]);
            }
            if let Some(o) = observer {
                o.child_started(&ChildExecution {
                    arn: arn.clone(),
                    name,
                    state_machine_arn: child_sm_arn.clone(),
                    map_run_arn: map_run_arn.clone(),
                    execution_type: dist.execution_type,
                    input: input.clone(),
                    start_date: cfg.clock.now(),
                    history: config.history.clone(),
                    stop: handle,
                });
            }
            let g = ChildGuard {
                observer,
                arn,
                history: config.history.clone(),
                clock: cfg.clock.clone(),
                start: cfg.clock.now(),
                control: control.clone(),
                size: sizes[i],
                done: false,
            };
            let handler = ctx.handler;
            running.push(Box::pin(async move {
                // The whole guard moves in (not only the field written below).
                let mut g = g;
                let child: BoxFuture<'_, ExecutionOutcome> =
                    Box::pin(super::run(processor, input, config, handler, signal));
                let outcome = child.await;
                g.done = true;
                (i, outcome)
            }));
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((i, outcome)) = running.next() => {
                stops[i] = None;
                {
                    let mut s = control.lock();
                    s.executions.end(1, outcome.status);
                    s.items.end(sizes[i], outcome.status);
                }
                if let Some(o) = observer {
                    o.child_ended(&arns[i], &outcome);
                }
                let r = match outcome.status {
                    ExecutionStatus::Succeeded => {
                        let v = outcome.output.unwrap_or(Value::Null);
                        ctx.note_done(top, i, &v);
                        Ok(v)
                    }
                    _ => {
                        failed_items += sizes[i];
                        Err(StatesError {
                            error: outcome.error.unwrap_or_default(),
                            cause: outcome.cause,
                        })
                    }
                };
                results[i] = Some(r);
            }
            _ = control.changed.notified() => {}
        }
        if failure.is_none() && control.exceeded(failed_items, items_total) {
            // AWS's error and cause (AWS-recorded: LocalStack
            // test_state/test_state_configuration.snapshot.json, test_map_state_failure_count;
            // maprun-fail-threshold.html): the children still running are stopped.
            failure = Some(StatesError::new(
                names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                "The specified tolerated failure threshold was exceeded",
            ));
            for h in stops.iter().flatten() {
                h.stop(None, None);
            }
        }
    }
    if let Some(e) = failure {
        return Err(fail_run(ctx, cur, &mut guard, &finish, e));
    }
    let run_end = ctx.event(cur, "MapRunSucceeded", None, Value::Null);
    finish(MapRunStatus::Succeeded);
    guard.done = true;
    ctx.event(cur, "MapStateSucceeded", None, Value::Null);
    cur.set(run_end);
    Ok(Value::Array(
        results
            .into_iter()
            .map(|r| match r {
                Some(Ok(v)) => v,
                Some(Err(e)) => e.to_error_output(),
                None => Value::Null,
            })
            .collect(),
    ))
}

fn fail_run(
    ctx: &Ctx<'_>,
    cur: &Arc<Cursor>,
    guard: &mut RunGuard,
    finish: &dyn Fn(MapRunStatus),
    e: StatesError,
) -> StatesError {
    let mut d = Map::new();
    if !e.error.is_empty() {
        d.insert("error".into(), json!(e.error));
    }
    if let Some(c) = &e.cause {
        d.insert("cause".into(), json!(c));
    }
    ctx.event(
        cur,
        "MapRunFailed",
        Some("mapRunFailedEventDetails"),
        Value::Object(d),
    );
    finish(MapRunStatus::Failed);
    guard.done = true;
    ctx.event(cur, "MapStateFailed", None, Value::Null);
    e
}
