//! The interpreter: runs blocks of states, with data flow, Retry/Catch, Parallel and Map.

use super::choice;
use super::definition::{
    Block, Catcher, Kind, NumSpec, OptPath, QueryLanguage, Retrier, State, StrSpec,
};
use super::error::{StatesError, names};
use super::history::{Details, History, Member, not_truncated, resource_parts};
use super::path::JsonPath;
use super::template::{Env, Tmpl};
use super::{ContextObject, ExecutionConfig, TaskHandler, TaskInvocation};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Variables visible at one nesting level. Parallel branches and Map iterations get a
/// child scope: they read outer variables, and their own assignments stay inside
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
#[derive(Debug, Default)]
pub(crate) struct Scope {
    parent: Option<Arc<Scope>>,
    vars: Mutex<Map<String, Value>>,
}

impl Scope {
    pub(crate) fn root(initial: Map<String, Value>) -> Arc<Scope> {
        Arc::new(Scope {
            parent: None,
            vars: Mutex::new(initial),
        })
    }
    /// The execution's own scope: its states are the top-level ones.
    pub(crate) fn is_root(&self) -> bool {
        self.parent.is_none()
    }
    fn child(self: &Arc<Self>) -> Arc<Scope> {
        Arc::new(Scope {
            parent: Some(self.clone()),
            vars: Mutex::new(Map::new()),
        })
    }
    pub(crate) fn snapshot(&self) -> Map<String, Value> {
        let mut out = match &self.parent {
            Some(p) => p.snapshot(),
            None => Map::new(),
        };
        for (k, v) in self.vars.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            out.insert(k.clone(), v.clone());
        }
        out
    }
    fn commit(&self, assigned: Map<String, Value>) {
        let mut g = self.vars.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in assigned {
            g.insert(k, v);
        }
    }
}

/// The position of one thread of execution in the history (`previousEventId`).
#[derive(Debug)]
pub(crate) struct Cursor(AtomicU64);

impl Cursor {
    pub(crate) fn new(at: u64) -> Self {
        Cursor(AtomicU64::new(at))
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    pub(crate) fn set(&self, v: u64) {
        self.0.store(v, Ordering::SeqCst)
    }
}

/// What TestState's DEBUG level reports, filled in while the state runs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Inspection {
    pub(crate) data: Map<String, Value>,
    pub(crate) retry: Option<(usize, f64)>,
    pub(crate) catch_index: Option<usize>,
    pub(crate) next_state: Option<String>,
}

/// Shared state of one run.
pub(crate) struct Ctx<'a> {
    pub(crate) handler: &'a dyn TaskHandler,
    pub(crate) cfg: &'a ExecutionConfig,
    pub(crate) history: Arc<Mutex<History>>,
    pub(crate) rng: Mutex<StdRng>,
    /// TestState mode: do not wait and retry; record what would happen instead.
    pub(crate) inspection: Option<Mutex<Inspection>>,
    /// The top-level state running now and its input (where a redrive starts again).
    pub(crate) current_top: Mutex<Option<(String, Value)>>,
    /// The branches / iterations of the top-level Parallel or Map running now that succeeded,
    /// by index, with their outputs (a redrive does not run them again).
    pub(crate) top_done: Mutex<BTreeMap<usize, Value>>,
    /// A redrive's saved successes: the state it restarts and its branches / iterations that
    /// succeeded before (taken by that state's first attempt).
    pub(crate) redrive_done: Mutex<Option<(String, BTreeMap<usize, Value>)>>,
    /// The context object's parts that stay the same for the whole execution ([`Self::context`]).
    pub(crate) context_base: Arc<super::context::ContextBase>,
    /// The JSON text of the top-level block's output once it ended (the execution's output,
    /// serialized once for `ExecutionSucceeded` and the quota).
    pub(crate) final_text: Mutex<Option<Arc<str>>>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

/// Where a state sends the execution.
#[derive(Debug)]
pub(crate) enum Flow {
    Next(String),
    End,
}

fn now_ts(ctx: &Ctx<'_>) -> f64 {
    crate::clock::epoch_seconds(ctx.cfg.clock.now())
}

/// `$$.State.EnteredTime`'s text of the clock reading `t`.
fn iso_of(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn now_millis(ctx: &Ctx<'_>) -> i64 {
    ctx.cfg.clock.now_utc().timestamp_millis()
}

impl Ctx<'_> {
    /// For a top-level Parallel or Map about to run its branches / iterations: the ones a
    /// redrive need not run again (RedriveExecution "reschedules and redrives only the
    /// iterations and branches that failed or aborted", API_RedriveExecution.html). Only the
    /// first attempt after the redrive gets them; the state's record of successes starts over.
    pub(crate) fn redrive_skips(&self, state: &str, top: bool) -> BTreeMap<usize, Value> {
        if !top {
            return BTreeMap::new();
        }
        self.top_done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut g = self.redrive_done.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_ref() {
            Some((name, _)) if name == state => g.take().map(|(_, d)| d).unwrap_or_default(),
            _ => BTreeMap::new(),
        }
    }

    /// Notes that branch / iteration `i` of the top-level state succeeded with `out`.
    pub(crate) fn note_done(&self, top: bool, i: usize, out: &Value) {
        if top {
            self.top_done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(i, out.clone());
        }
    }

    pub(crate) fn event(
        &self,
        cur: &Cursor,
        ty: &'static str,
        key: Option<&'static str>,
        details: impl Into<super::history::Details>,
    ) -> u64 {
        self.event_at(cur, ty, key, details, now_ts(self))
    }

    /// [`Ctx::event`] at the timestamp `ts`: events written one after the other, with no
    /// wait between them, share one clock reading (each reading is a lock on `serve`'s
    /// virtual clock, whose readings cannot move between them anyway: it only moves when
    /// the runtime's thread is between tasks).
    pub(crate) fn event_at(
        &self,
        cur: &Cursor,
        ty: &'static str,
        key: Option<&'static str>,
        details: impl Into<super::history::Details>,
        ts: f64,
    ) -> u64 {
        let id = self.history.lock().unwrap_or_else(|e| e.into_inner()).push(
            ts,
            ty,
            cur.get(),
            key,
            details,
        );
        cur.set(id);
        id
    }

    /// The 25,000-event quota: the execution fails with `States.Runtime` once its history
    /// is full (service-quotas.html, "Maximum execution history size").
    pub(crate) fn check_history(&self) -> Result<(), StatesError> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if h.exceeded() {
            return Err(StatesError::new(
                names::RUNTIME,
                format!(
                    "The execution reached the maximum number of history events ({}).",
                    h.cap
                ),
            ));
        }
        Ok(())
    }

    fn inspect(&self, key: &str, v: &Value) {
        if let Some(i) = &self.inspection {
            i.lock()
                .unwrap_or_else(|e| e.into_inner())
                .data
                .insert(key.to_string(), Value::String(v.to_string()));
        }
    }

    /// What `$$` of `state` (entered at `entered`, after `retry` retries, in Map iteration
    /// `item`, waiting on `token`) is made of.
    fn context_parts(
        &self,
        state: &str,
        entered: &str,
        retry: u32,
        item: Option<&(usize, Value)>,
        token: Option<&str>,
    ) -> super::context::ContextParts {
        super::context::ContextParts {
            base: self.context_base.clone(),
            state: state.to_string(),
            entered: entered.to_string(),
            retry,
            item: item.cloned(),
            token: token.map(str::to_string),
        }
    }

    /// `$$` of a state, written out when first read.
    fn lazy_context(
        &self,
        state: &str,
        entered: &str,
        retry: u32,
        item: Option<&(usize, Value)>,
        token: Option<&str>,
    ) -> Arc<ContextObject> {
        Arc::new(ContextObject::lazy(
            self.context_parts(state, entered, retry, item, token),
        ))
    }

    /// The 256 KiB payload quota (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>):
    /// exceeding it raises `States.DataLimitExceeded`, with AWS's cause naming the state (or,
    /// for a task's result, the resource type) and no figures (AWS-recorded: LocalStack
    /// error_handling/test_states_errors.snapshot.json, test_start_large_input and
    /// test_service_task_lambada_data_limit_exceeded_on_large_utf8_response).
    fn check_size(&self, v: &Value, who: &str) -> Result<(), StatesError> {
        if serialized_len_exceeds(v, self.cfg.payload_limit_bytes) {
            return Err(data_limit_exceeded(who));
        }
        Ok(())
    }

    /// [`Self::check_size`] of a value already serialized as `text`.
    fn text_too_big(&self, text: &str, who: &str) -> Result<(), StatesError> {
        if text.len() > self.cfg.payload_limit_bytes {
            return Err(data_limit_exceeded(who));
        }
        Ok(())
    }
}

/// `v` as compact JSON text (what `Value`'s `Display` writes), shared: written into a scratch
/// buffer the thread keeps, then copied once into its own allocation of the exact size (a
/// payload's text is made for every state and task; growing a fresh string to a few KB took
/// four or five allocations).
pub(crate) fn json_text(v: &Value) -> Arc<str> {
    /// Larger buffers are let go after use rather than kept by the thread.
    const KEEP: usize = 64 * 1024;
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        // Writing a `Value` into a `Vec` cannot fail (string keys, no I/O).
        let _ = serde_json::to_writer(&mut *buf, v);
        let text: Arc<str> = std::str::from_utf8(buf).unwrap_or_default().into();
        if buf.capacity() > KEEP {
            *buf = Vec::new();
        }
        text
    })
}

/// `States.DataLimitExceeded` naming the state or task (see [`Ctx::check_size`]).
fn data_limit_exceeded(who: &str) -> StatesError {
    StatesError::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
    )
}

/// Whether `v` written as JSON is longer than `limit` bytes, counted without building the text
/// (the check runs on every state's input and output: the string was 2 % of an execution) and
/// stopping as soon as the limit is passed.
fn serialized_len_exceeds(v: &Value, limit: usize) -> bool {
    struct Count {
        n: usize,
        limit: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.n += buf.len();
            if self.n > self.limit {
                // Stops the serializer: the answer is known.
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count { n: 0, limit };
    serde_json::to_writer(&mut count, v).is_err() && count.n > limit
}

fn state_type(k: &Kind) -> &'static str {
    match k {
        Kind::Pass { .. } => "Pass",
        Kind::Task { .. } => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait { .. } => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map(_) => "Map",
    }
}

/// `<Type>StateEntered` / `<Type>StateExited` without formatting a new name each time.
fn state_event(ty: &'static str, what: &'static str) -> &'static str {
    macro_rules! names {
        ($($t:literal),*) => {
            match (ty, what) {
                $(($t, "StateEntered") => concat!($t, "StateEntered"),
                  ($t, "StateExited") => concat!($t, "StateExited"),)*
                _ => "StateEvent",
            }
        };
    }
    names!(
        "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"
    )
}

/// Runs a block from `StartAt` to an end; returns the block's output.
pub(crate) fn run_block<'a>(
    ctx: &'a Ctx<'a>,
    block: &'a Block,
    input: Value,
    scope: Arc<Scope>,
    item: Option<Arc<(usize, Value)>>,
    cur: Arc<Cursor>,
) -> BoxFuture<'a, Result<Value, StatesError>> {
    run_block_from(ctx, block, None, input, None, scope, item, cur, false)
}

/// [`run_block`] starting at `start` (a redrive) or `StartAt`; with `top`, the state being run
/// and its input are noted in the context as the execution's redrive point, and the output's
/// JSON text is left in [`Ctx::final_text`]. `input_text` is the input's text, if known.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_block_from<'a>(
    ctx: &'a Ctx<'a>,
    block: &'a Block,
    start: Option<&'a str>,
    input: Value,
    input_text: Option<Arc<str>>,
    scope: Arc<Scope>,
    item: Option<Arc<(usize, Value)>>,
    cur: Arc<Cursor>,
    top: bool,
) -> BoxFuture<'a, Result<Value, StatesError>> {
    async move {
        let mut name = start.unwrap_or(block.start_at.as_str());
        let mut input = input;
        let mut input_text = input_text;
        loop {
            let Some(st) = block.states.get(name) else {
                return Err(StatesError::new(
                    names::RUNTIME,
                    format!("state '{name}' does not exist"),
                ));
            };
            if top {
                *ctx.current_top.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((name.to_string(), input.clone()));
                ctx.top_done
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
            }
            let (flow, out, out_text) = run_state(
                ctx,
                st,
                input,
                input_text.take(),
                &scope,
                item.as_deref(),
                &cur,
            )
            .await?;
            ctx.check_history()?;
            match flow {
                Flow::End => {
                    if top {
                        *ctx.final_text.lock().unwrap_or_else(|p| p.into_inner()) = Some(out_text);
                    }
                    return Ok(out);
                }
                Flow::Next(n) => {
                    // A loop of Pass/Choice states never waits on anything: yield between
                    // states so StopExecution, the execution time cap and other requests get
                    // their turn (issue 11). (Not after the last one: a branch that ended has
                    // succeeded, also for a redrive's record of it.)
                    tokio::task::yield_now().await;
                    name = block
                        .states
                        .get_key_value(&n)
                        .map(|(k, _)| k.as_str())
                        .unwrap_or("");
                    if name.is_empty() {
                        return Err(StatesError::new(
                            names::RUNTIME,
                            format!("state '{n}' does not exist"),
                        ));
                    }
                    input = out;
                    input_text = Some(out_text);
                }
            }
        }
    }
    .boxed()
}

/// Does retrier/catcher name `n` match error `e`?
/// `States.ALL` matches everything except `States.DataLimitExceeded` and `States.Runtime`;
/// `States.TaskFailed` everything except `States.Timeout` (and those two);
/// `States.Runtime` is never retried nor caught
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub(crate) fn error_matches(n: &str, e: &str) -> bool {
    if e == names::RUNTIME {
        return false;
    }
    if n == e {
        return true;
    }
    match n {
        names::ALL => e != names::DATA_LIMIT_EXCEEDED,
        names::TASK_FAILED => e != names::DATA_LIMIT_EXCEEDED && e != names::TIMEOUT,
        _ => false,
    }
}

/// The wait before the next retry: `IntervalSeconds * BackoffRate^n`, capped at
/// `MaxDelaySeconds`, and with `JitterStrategy: FULL` a uniform draw in `[0, delay]`.
pub(crate) fn backoff_seconds(r: &Retrier, retries_done: u32, rng: &mut StdRng) -> f64 {
    let mut d = r.interval_seconds * r.backoff_rate.powi(retries_done.min(1000) as i32);
    if !d.is_finite() {
        d = f64::MAX;
    }
    if let Some(m) = r.max_delay_seconds {
        d = d.min(m);
    }
    d = d.min(99_999_999.0 * 1000.0);
    if r.full_jitter {
        d = rng.random_range(0.0..=d);
    }
    d
}

/// Runs `work` with the state's retriers. Returns the final error when retries are spent.
/// [`with_retry`] for a Parallel or Map state: each attempt runs with its own handles to the
/// state's cursor and scope, and whether the state is the execution's top level with the
/// branches or iterations a redrive skips ([`Ctx::redrive_skips`]).
async fn retry_in<'a, Fut>(
    ctx: &'a Ctx<'a>,
    st: &'a State,
    cur: &Arc<Cursor>,
    scope: &Arc<Scope>,
    work: impl Fn(Arc<Cursor>, Arc<Scope>, (bool, BTreeMap<usize, Value>)) -> Fut,
) -> Result<Value, StatesError>
where
    Fut: Future<Output = Result<Value, StatesError>> + Send + 'a,
{
    with_retry(ctx, st, move |_attempt| {
        let top = scope.is_root();
        let skips = ctx.redrive_skips(&st.name, top);
        work(cur.clone(), scope.clone(), (top, skips)).boxed()
    })
    .await
}

async fn with_retry<'a>(
    ctx: &'a Ctx<'a>,
    st: &'a State,
    mut work: impl FnMut(u32) -> BoxFuture<'a, Result<Value, StatesError>>,
) -> Result<Value, StatesError> {
    let mut counts = vec![0u32; st.retry.len()];
    let mut attempt = 0u32;
    loop {
        match work(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let found = st
                    .retry
                    .iter()
                    .position(|r| r.error_equals.iter().any(|n| error_matches(n, &e.error)));
                let Some(i) = found else { return Err(e) };
                let r = &st.retry[i];
                if counts[i] >= r.max_attempts {
                    return Err(e);
                }
                let delay = {
                    let mut rng = ctx.rng.lock().unwrap_or_else(|p| p.into_inner());
                    backoff_seconds(r, counts[i], &mut rng)
                };
                if let Some(insp) = &ctx.inspection {
                    // TestState reports RETRIABLE instead of waiting.
                    insp.lock().unwrap_or_else(|p| p.into_inner()).retry = Some((i, delay));
                    return Err(e);
                }
                counts[i] += 1;
                attempt += 1;
                tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
            }
        }
    }
}

/// The largest `TimeoutSeconds`, `HeartbeatSeconds` and `Seconds` ASL accepts.
const MAX_SECONDS: f64 = 99_999_999.0;

fn resolve_num(spec: &NumSpec, env: &Env<'_>, field: &str) -> Result<f64, StatesError> {
    let v = match spec {
        NumSpec::Fixed(n) => return Ok(*n),
        NumSpec::Path(p) => return resolve_num_path(p, env, field),
        NumSpec::Expr(e) => env.jsonata(e, field)?,
    };
    // The literal fields are capped at 99999999 seconds at definition time; values read from
    // a path or an expression get the same cap here (issue 11: `TimeoutSecondsPath` = 1e20
    // panicked in `Duration::from_secs_f64`).
    v.as_f64()
        .filter(|f| *f >= 0.0 && *f <= MAX_SECONDS)
        .ok_or_else(|| {
            StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!("{}The value of the field '{field}' must be a non-negative number no greater than 99999999, got {v}", state_prefix(env.state)),
            )
        })
}

/// A `…Path` number field (`SecondsPath`, `TimeoutSecondsPath`, `HeartbeatSecondsPath`,
/// `MaxConcurrencyPath`, `ToleratedFailureCountPath`, `ToleratedFailurePercentagePath`), checked
/// and worded as AWS does (AWS-recorded: LocalStack base/test_wait.snapshot.json,
/// test_base_wait_seconds_path; scenarios/test_base_scenarios.snapshot.json for the Map fields
/// and TimeoutSecondsPath).
fn resolve_num_path(p: &JsonPath, env: &Env<'_>, field: &str) -> Result<f64, StatesError> {
    let runtime =
        |msg: String| StatesError::new(names::RUNTIME, format!("{}{msg}", state_prefix(env.state)));
    let path = p.as_str();
    let Some(v) = env.root_doc(p).and_then(|d| p.select(d)) else {
        return Err(runtime(if field == "Seconds" {
            format!("The SecondsPath parameter does not reference an input value: {path}")
        } else {
            format!(
                "Invalid path '{path}' : No results for path: {}",
                p.normalized()
            )
        }));
    };
    let raw = match &v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match field {
        "Seconds" => {
            let n = v.as_i64().ok_or_else(|| {
                runtime(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {path} == {raw}"
                ))
            })?;
            if n < 0 {
                return Err(runtime(format!(
                    "The SecondsPath parameter references a negative value: {path} == {raw}"
                )));
            }
            if n as f64 > MAX_SECONDS {
                return Err(runtime(format!(
                    "The SecondsPath parameter references a value greater than 99999999: {path} == {raw}"
                )));
            }
            Ok(n as f64)
        }
        "MaxConcurrency" | "ToleratedFailureCount" => {
            // An integer, or a string holding one (the recorded MaxConcurrencyPath case reads
            // the variable "1").
            let n = match &v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                runtime(format!(
                    "The {field}Path field refers to value \"{raw}\" which is not a valid integer: {path}"
                ))
            })?;
            if n < 0 {
                return Err(runtime(format!("{field} cannot be negative.")));
            }
            Ok(n as f64)
        }
        "ToleratedFailurePercentage" => {
            let f = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => None,
            }
            .ok_or_else(|| {
                runtime(format!(
                    "The {field}Path field refers to value \"{raw}\" which is not a valid float: {path}"
                ))
            })?;
            if !(0.0..=100.0).contains(&f) {
                return Err(runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.".to_string(),
                ));
            }
            Ok(f)
        }
        _ => v
            .as_f64()
            .filter(|f| *f >= 0.0 && *f <= MAX_SECONDS)
            .ok_or_else(|| {
                runtime(format!(
                    "The value of the field '{field}Path' must be a non-negative number no greater than 99999999, got {raw}"
                ))
            }),
    }
}

fn resolve_str(spec: &StrSpec, env: &Env<'_>, field: &str) -> Result<String, StatesError> {
    let v = match spec {
        StrSpec::Fixed(s) => return Ok(s.clone()),
        StrSpec::Path(p) => env.resolve(p, &format!("{field}Path"))?,
        StrSpec::Expr(e) => env.jsonata(e, field)?,
        StrSpec::Intrinsic(call) => {
            let mut rng = env.rng.lock().unwrap_or_else(|e| e.into_inner());
            let path_field = format!("{field}Path");
            super::intrinsics::eval(call, &|p| env.resolve(p, &path_field), &mut *rng)?
        }
    };
    match v {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn apply_input_path(run: &StateRun<'_>, p: &OptPath, raw: &Value) -> Result<Value, StatesError> {
    match p {
        OptPath::Default => Ok(raw.clone()),
        // "If InputPath is null, the state receives an empty JSON object {}".
        OptPath::Null => Ok(Value::Object(Map::new())),
        OptPath::Path(path) => path_or_runtime(run, path, raw),
    }
}

/// Selects with a path whose root may be the document (`$`), the context object (`$$`) or a
/// variable (`$name`): InputPath, OutputPath and ItemsPath take all three
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>; AWS-recorded:
/// LocalStack assign/test_assign_reference_variables.snapshot.json, BASE_REFERENCE_IN_INPUTPATH).
/// A miss is `States.Runtime` worded as AWS words it ("Invalid path '$.x' : No results for
/// path: $['x']", scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath).
fn path_or_runtime(run: &StateRun<'_>, path: &JsonPath, doc: &Value) -> Result<Value, StatesError> {
    let root = match &path.root {
        super::path::Root::Input => Some(doc),
        super::path::Root::Context => Some(run.context.value()),
        super::path::Root::Variable(v) => run.vars.get(v),
    };
    root.and_then(|d| path.select(d)).ok_or_else(|| {
        StatesError::new(
            names::RUNTIME,
            format!(
                "{}Invalid path '{}' : No results for path: {}",
                state_prefix(&run.st.name),
                path.as_str(),
                path.normalized()
            ),
        )
    })
}

/// The opening of AWS's runtime causes: "An error occurred while executing the state 'X'. ";
/// [`run_state`] adds "(entered at the event id #N)" once the error leaves the state.
pub(crate) fn state_prefix(state: &str) -> String {
    format!("An error occurred while executing the state '{state}'. ")
}

/// Adds the id of the state's `…StateEntered` event to a cause opened by [`state_prefix`], as
/// AWS writes it: "An error occurred while executing the state 'X' (entered at the event id
/// #2). …" (AWS-recorded throughout LocalStack's stepfunctions snapshots).
fn locate(mut e: StatesError, state: &str, entered_id: u64) -> StatesError {
    let prefix = state_prefix(state);
    if let Some(c) = &e.cause
        && let Some(rest) = c.strip_prefix(&prefix)
    {
        e.cause = Some(format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {rest}"
        ));
    }
    e
}

fn apply_result_path(
    p: &OptPath,
    raw: &Value,
    result: Value,
    st: &State,
) -> Result<Value, StatesError> {
    match p {
        OptPath::Default => Ok(result),
        // ResultPath null discards the result and passes the state input through.
        OptPath::Null => Ok(raw.clone()),
        OptPath::Path(path) => {
            let mut out = raw.clone();
            path.set(&mut out, result).map_err(|_| {
                StatesError::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "An error occurred while executing the state '{}'. Unable to apply ResultPath \"{}\" to input \"{}\"",
                        st.name,
                        path.as_str(),
                        raw
                    ),
                )
            })?;
            Ok(out)
        }
    }
}

fn apply_output_path(run: &StateRun<'_>, p: &OptPath, v: Value) -> Result<Value, StatesError> {
    match p {
        OptPath::Default => Ok(v),
        // "If OutputPath is null, the output is an empty object {}".
        OptPath::Null => Ok(Value::Object(Map::new())),
        OptPath::Path(path) => path_or_runtime(run, path, &v),
    }
}

/// A state's or catcher's `Assign`, if any, evaluated in `env`.
fn assign_in(t: Option<&Tmpl>, env: &Env<'_>) -> Result<Option<Map<String, Value>>, StatesError> {
    t.map(|a| eval_assign(a, env)).transpose()
}

/// A state's or catcher's JSONata `Output` evaluated in `env`, or `default` without one.
fn output_in(t: Option<&Tmpl>, env: &Env<'_>, default: Value) -> Result<Value, StatesError> {
    match t {
        Some(o) => o.eval(env, "Output"),
        None => Ok(default),
    }
}

/// Evaluates `Assign` (all expressions see the state-entry values of the variables).
fn eval_assign(t: &Tmpl, env: &Env<'_>) -> Result<Map<String, Value>, StatesError> {
    match t.eval(env, "Assign")? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

struct StateRun<'a> {
    ctx: &'a Ctx<'a>,
    st: &'a State,
    raw: Value,
    vars: Map<String, Value>,
    /// `$$` at the state's entry (retry 0), shared with its task's first attempt.
    context: Arc<ContextObject>,
    entered: String,
    /// The id of the state's `…StateEntered` event.
    entered_id: u64,
    /// The state's task token (`$$.Task.Token`), when it waits on one.
    task_token: Option<String>,
    item: Option<&'a (usize, Value)>,
    /// The JSON text of the task result that succeeded, as its `TaskSucceeded` event holds it:
    /// the state's output text too when the output is that result unchanged
    /// ([`passes_result_through`]), so it is not serialized again.
    result_text: Mutex<Option<Arc<str>>>,
}

/// Whether a work state's output is its result unchanged: no `ResultSelector`, `ResultPath` or
/// `OutputPath` in JSONPath, no `Output` in JSONata.
fn passes_result_through(st: &State) -> bool {
    match st.ql {
        QueryLanguage::Jsonata => st.output.is_none(),
        _ => {
            st.result_selector.is_none()
                && matches!(st.result_path, OptPath::Default)
                && matches!(st.output_path, OptPath::Default)
        }
    }
}

impl<'a> StateRun<'a> {
    fn env<'b>(&'b self, input: &'b Value, states: &'b Value) -> Env<'b> {
        Env {
            input,
            context: &self.context,
            vars: &self.vars,
            states,
            now_millis: now_millis(self.ctx),
            rng: &self.ctx.rng,
            state: &self.st.name,
        }
    }
    /// The effective input: the raw input in JSONata, `InputPath` applied in JSONPath.
    fn effective_input(&self) -> Result<Value, StatesError> {
        if self.st.ql == QueryLanguage::Jsonata {
            Ok(self.raw.clone())
        } else {
            apply_input_path(self, &self.st.input_path, &self.raw)
        }
    }
    /// `$states` (`input`, `context`, and `result` or `errorOutput`): only JSONata reads it,
    /// so a JSONPath state gets `null` without copying its input and context.
    fn states_var(&self, extra: Option<(&str, Value)>) -> Value {
        if self.st.ql != QueryLanguage::Jsonata {
            return Value::Null;
        }
        let mut m = Map::new();
        m.insert("input".into(), self.raw.clone());
        m.insert("context".into(), self.context.value().clone());
        if let Some((k, v)) = extra {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }
}

/// An activity ARN (`arn:aws:states:<region>:<account>:activity:<name>`).
pub fn is_activity(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.split(':').nth(5) == Some("activity")
}

/// Whether a Task waits on a task token: the callback pattern (`.waitForTaskToken`) and
/// activities, whose token `$$.Task.Token` gives
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>).
fn waits_for_token(st: &State) -> bool {
    matches!(&st.kind, Kind::Task { resource, .. } if resource.ends_with(".waitForTaskToken") || is_activity(resource))
}

/// Runs one state; returns where to go and the state output (an error names the state and the
/// event it entered with, [`locate`]).
///
/// `raw_text` is the input's JSON text when the caller has it (the previous state's output
/// text, the execution's input): each payload is serialized once, for the history and the
/// payload quota alike. The output's text comes back with the output.
pub(crate) async fn run_state<'a>(
    ctx: &'a Ctx<'a>,
    st: &'a State,
    raw: Value,
    raw_text: Option<Arc<str>>,
    scope: &Arc<Scope>,
    item: Option<&'a (usize, Value)>,
    cur: &Arc<Cursor>,
) -> Result<(Flow, Value, Arc<str>), StatesError> {
    let run = async move {
        let ty = state_type(&st.kind);
        // One reading for `$$.State.EnteredTime` and the entered event's timestamp.
        let entered_at = ctx.cfg.clock.now();
        let entered = iso_of(entered_at);
        // The input as the history shows it; its length is also what the payload quota
        // measures (one serialization for both).
        let raw_text = raw_text.unwrap_or_else(|| json_text(&raw));
        let raw_too_big = ctx.text_too_big(&raw_text, &st.name);
        // The state's name, written in its entered and exited events (one shared text).
        let name: Arc<str> = st.name.as_str().into();
        let entered_id = ctx.event_at(
            cur,
            state_event(ty, "StateEntered"),
            Some("stateEnteredEventDetails"),
            Details::Members(vec![
                ("name", Arc::clone(&name).into()),
                ("input", raw_text.into()),
                ("inputDetails", Member::NotTruncated),
            ]),
            crate::clock::epoch_seconds(entered_at),
        );
        ctx.inspect("input", &raw);
        let task_token = waits_for_token(st).then(|| {
            let mut rng = ctx.rng.lock().unwrap_or_else(|p| p.into_inner());
            super::new_task_token(&mut *rng)
        });
        let context = ctx.lazy_context(&st.name, &entered, 0, item, task_token.as_deref());
        let run = StateRun {
            ctx,
            st,
            vars: scope.snapshot(),
            task_token,
            context,
            entered,
            entered_id,
            item,
            raw,
            result_text: Mutex::new(None),
        };
        let at = |e: StatesError| (e, entered_id);
        raw_too_big.map_err(at)?;
        let res = match &st.kind {
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map(_) => {
                run_work_state(&run, scope, cur).await
            }
            Kind::Pass { result } => run_pass(&run, result.as_ref()),
            Kind::Wait { seconds, timestamp } => {
                run_wait(&run, seconds.as_ref(), timestamp.as_ref()).await
            }
            Kind::Choice { rules, default } => run_choice(&run, rules, default.as_deref()),
            Kind::Succeed => run_succeed(&run),
            Kind::Fail { error, cause } => {
                let env_states = run.states_var(None);
                let env = run.env(&run.raw, &env_states);
                let err = match error
                    .as_ref()
                    .map(|s| resolve_str(s, &env, "Error"))
                    .transpose()
                {
                    Ok(e) => e,
                    Err(e) => return Err(at(e)),
                };
                let cause = match cause
                    .as_ref()
                    .map(|s| resolve_str(s, &env, "Cause"))
                    .transpose()
                {
                    Ok(c) => c,
                    Err(e) => return Err(at(e)),
                };
                return Err(at(StatesError {
                    error: err.unwrap_or_default(),
                    cause,
                }));
            }
        };
        let (flow, out, assigned) = res.map_err(at)?;
        let result_text = run
            .result_text
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let out_text = match result_text {
            Some(t) if passes_result_through(st) => t,
            _ => json_text(&out),
        };
        ctx.text_too_big(&out_text, &st.name).map_err(at)?;
        let mut exited = vec![
            ("name", name.into()),
            ("output", out_text.clone().into()),
            ("outputDetails", Member::NotTruncated),
        ];
        if let Some(a) = &assigned
            && !a.is_empty()
        {
            let strs: Map<String, Value> = a
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect();
            exited.push(("assignedVariables", Value::Object(strs).into()));
            exited.push(("assignedVariablesDetails", Member::NotTruncated));
        }
        if ty != "Fail" {
            ctx.event(
                cur,
                state_event(ty, "StateExited"),
                Some("stateExitedEventDetails"),
                Details::Members(exited),
            );
        }
        if let Some(a) = assigned {
            if let Some(insp) = &ctx.inspection {
                let mut all = run.vars.clone();
                for (k, v) in &a {
                    all.insert(k.clone(), v.clone());
                }
                insp.lock().unwrap_or_else(|p| p.into_inner()).data.insert(
                    "variables".into(),
                    Value::String(Value::Object(all).to_string()),
                );
            }
            scope.commit(a);
        }
        if let Some(insp) = &ctx.inspection
            && let Flow::Next(n) = &flow
        {
            insp.lock().unwrap_or_else(|p| p.into_inner()).next_state = Some(n.clone());
        }
        Ok((flow, out, out_text))
    };
    let result: Result<(Flow, Value, Arc<str>), (StatesError, u64)> = run.await;
    result.map_err(|(e, entered_id)| locate(e, &st.name, entered_id))
}

type StateResult = Result<(Flow, Value, Option<Map<String, Value>>), StatesError>;

fn flow_of(st: &State) -> Flow {
    match &st.next {
        Some(n) => Flow::Next(n.clone()),
        None => Flow::End,
    }
}

fn run_pass(run: &StateRun<'_>, result: Option<&Value>) -> StateResult {
    let st = run.st;
    if st.ql == QueryLanguage::Jsonata {
        let states = run.states_var(None);
        let env = run.env(&run.raw, &states);
        let assigned = assign_in(st.assign.as_ref(), &env)?;
        let out = output_in(st.output.as_ref(), &env, run.raw.clone())?;
        return Ok((flow_of(st), out, assigned));
    }
    let effective = apply_input_path(run, &st.input_path, &run.raw)?;
    run.ctx.inspect("afterInputPath", &effective);
    let states = Value::Null;
    let env = run.env(&effective, &states);
    let res = match (result, &st.parameters) {
        (Some(r), _) => r.clone(),
        (None, Some(p)) => p.eval(&env, "Parameters")?,
        (None, None) => effective.clone(),
    };
    run.ctx.inspect("afterParameters", &res);
    run.ctx.inspect("result", &res);
    let assigned = {
        let env = run.env(&res, &states);
        assign_in(st.assign.as_ref(), &env)?
    };
    let out = apply_result_path(&st.result_path, &run.raw, res, st)?;
    run.ctx.inspect("afterResultPath", &out);
    let out = apply_output_path(run, &st.output_path, out)?;
    Ok((flow_of(st), out, assigned))
}

fn run_succeed(run: &StateRun<'_>) -> StateResult {
    let st = run.st;
    if st.ql == QueryLanguage::Jsonata {
        let states = run.states_var(None);
        let env = run.env(&run.raw, &states);
        let out = output_in(st.output.as_ref(), &env, run.raw.clone())?;
        return Ok((Flow::End, out, None));
    }
    let effective = apply_input_path(run, &st.input_path, &run.raw)?;
    let out = apply_output_path(run, &st.output_path, effective)?;
    Ok((Flow::End, out, None))
}

async fn run_wait(
    run: &StateRun<'_>,
    seconds: Option<&NumSpec>,
    timestamp: Option<&StrSpec>,
) -> StateResult {
    let st = run.st;
    let jsonata = st.ql == QueryLanguage::Jsonata;
    let effective = run.effective_input()?;
    let states = run.states_var(None);
    let (dur, assigned, out) = {
        let env = run.env(&effective, &states);
        let dur = if let Some(s) = seconds {
            Duration::from_secs_f64(resolve_num(s, &env, "Seconds")?)
        } else if let Some(t) = timestamp {
            let ts = resolve_str(t, &env, "Timestamp")?;
            let at = choice::parse_ts(&ts).ok_or_else(|| {
                StatesError::new(
                    if jsonata { names::QUERY_EVALUATION_ERROR } else { names::RUNTIME },
                    // AWS's wording (AWS-recorded: LocalStack base/test_wait.snapshot.json,
                    // test_wait_timestamppath: "The TimestampPath parameter does not reference
                    // a valid ISO-8601 extended offset date-time format string: $.p == v").
                    match t {
                        StrSpec::Path(p) => format!("{}The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {ts}", state_prefix(&st.name), p.as_str()),
                        _ => format!("{}The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {ts}", state_prefix(&st.name)),
                    },
                )
            })?;
            let now = run.ctx.cfg.clock.now_utc();
            (at.with_timezone(&chrono::Utc) - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
        } else {
            Duration::ZERO
        };
        let assigned = assign_in(st.assign.as_ref(), &env)?;
        let out = if jsonata {
            output_in(st.output.as_ref(), &env, run.raw.clone())?
        } else {
            apply_output_path(run, &st.output_path, effective.clone())?
        };
        (dur, assigned, out)
    };
    if run.ctx.inspection.is_none() {
        tokio::time::sleep(dur).await;
    }
    Ok((flow_of(st), out, assigned))
}

fn run_choice(
    run: &StateRun<'_>,
    rules: &[super::definition::ChoiceRule],
    default: Option<&str>,
) -> StateResult {
    let st = run.st;
    let jsonata = st.ql == QueryLanguage::Jsonata;
    let effective = run.effective_input()?;
    let states = run.states_var(None);
    let env = run.env(&effective, &states);
    let mut chosen: Option<(&str, Option<&Tmpl>, Option<&Tmpl>)> = None;
    for r in rules {
        if choice::eval(&r.cond, &env)? {
            chosen = Some((r.next.as_str(), r.assign.as_ref(), r.output.as_ref()));
            break;
        }
    }
    let (next, rule_assign, rule_output) = match chosen {
        Some(c) => c,
        None => match default {
            Some(d) => (d, None, None),
            None => {
                return Err(StatesError::new(
                    names::NO_CHOICE_MATCHED,
                    format!("No Matches! (state '{}')", st.name),
                ));
            }
        },
    };
    let mut assigned = assign_in(st.assign.as_ref(), &env)?;
    if let Some(a) = rule_assign {
        let m = eval_assign(a, &env)?;
        assigned.get_or_insert_with(Map::new).extend(m);
    }
    let out = if jsonata {
        match rule_output.or(st.output.as_ref()) {
            Some(o) => o.eval(&env, "Output")?,
            None => run.raw.clone(),
        }
    } else {
        apply_output_path(run, &st.output_path, effective)?
    };
    Ok((Flow::Next(next.to_string()), out, assigned))
}

/// Task, Parallel and Map: input processing, the work (with Retry), output processing,
/// and Catch around all of it.
async fn run_work_state(run: &StateRun<'_>, scope: &Arc<Scope>, cur: &Arc<Cursor>) -> StateResult {
    let st = run.st;
    match run_work_inner(run, scope, cur).await {
        Ok(r) => Ok(r),
        Err(e) => {
            // The output is not the task's result now.
            run.result_text
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            // A caught error's Cause reads as the uncaught one would.
            let e = locate(e, &st.name, run.entered_id);
            let Some((idx, c)) = st
                .catch
                .iter()
                .enumerate()
                .find(|(_, c)| c.error_equals.iter().any(|n| error_matches(n, &e.error)))
            else {
                return Err(e);
            };
            if let Some(insp) = &run.ctx.inspection {
                let mut g = insp.lock().unwrap_or_else(|p| p.into_inner());
                if g.retry.is_some() {
                    return Err(e);
                }
                g.catch_index = Some(idx);
            }
            apply_catch(run, c, &e)
        }
    }
}

fn apply_catch(run: &StateRun<'_>, c: &Catcher, e: &StatesError) -> StateResult {
    let st = run.st;
    let err_out = e.to_error_output();
    if st.ql == QueryLanguage::Jsonata {
        let states = run.states_var(Some(("errorOutput", err_out.clone())));
        let env = run.env(&run.raw, &states);
        let assigned = assign_in(c.assign.as_ref(), &env)?;
        let out = output_in(c.output.as_ref(), &env, err_out)?;
        return Ok((Flow::Next(c.next.clone()), out, assigned));
    }
    let states = Value::Null;
    let assigned = {
        let env = run.env(&err_out, &states);
        assign_in(c.assign.as_ref(), &env)?
    };
    let out = match &c.result_path {
        OptPath::Default => err_out,
        p => apply_result_path(p, &run.raw, err_out, st)?,
    };
    run.ctx.inspect("afterResultPath", &out);
    Ok((Flow::Next(c.next.clone()), out, assigned))
}

async fn run_work_inner(run: &StateRun<'_>, scope: &Arc<Scope>, cur: &Arc<Cursor>) -> StateResult {
    let st = run.st;
    let ctx = run.ctx;
    let jsonata = st.ql == QueryLanguage::Jsonata;
    let states_in = run.states_var(None);
    // 1. Input processing.
    let effective = run.effective_input()?;
    if !jsonata {
        ctx.inspect("afterInputPath", &effective);
    }
    let params = {
        let env = run.env(&effective, &states_in);
        match (&st.kind, jsonata) {
            // A Map's Parameters is its ItemSelector, applied per item.
            (Kind::Map(_), false) => effective.clone(),
            (_, false) => match &st.parameters {
                Some(p) => p.eval(&env, "Parameters")?,
                None => effective.clone(),
            },
            (_, true) => match &st.arguments {
                Some(a) => a.eval(&env, "Arguments")?,
                None => run.raw.clone(),
            },
        }
    };
    ctx.inspect(
        if jsonata {
            "afterArguments"
        } else {
            "afterParameters"
        },
        &params,
    );
    ctx.check_size(&params, &st.name)?;

    // 2. The work, retried.
    let result = match &st.kind {
        Kind::Task {
            resource,
            timeout,
            heartbeat,
            credentials,
        } => {
            let env = run.env(&effective, &states_in);
            let timeout_s = timeout
                .as_ref()
                .map(|t| resolve_num(t, &env, "TimeoutSeconds"))
                .transpose()?;
            let heartbeat_s = heartbeat
                .as_ref()
                .map(|t| resolve_num(t, &env, "HeartbeatSeconds"))
                .transpose()?;
            let creds = credentials
                .as_ref()
                .map(|c| c.eval(&env, "Credentials"))
                .transpose()?;
            let (resource_type, resource_name, region) = resource_parts(resource);
            // Shared with each attempt's invocation rather than copied into it.
            let params = &Arc::new(params);
            let creds = &creds;
            // Each is written in three events of each attempt: one shared text.
            let resource_type: &Arc<str> = &resource_type.into();
            let resource_name: &Arc<str> = &resource_name.into();
            let region: &Arc<str> = &match region {
                Some(r) => r.into(),
                None => ctx.cfg.region().into(),
            };
            let activity = is_activity(resource);
            let token = run.task_token.clone();
            let token = &token;
            with_retry(ctx, st, move |attempt| {
                let cur = cur.clone();
                async move {
                    ctx.handler.precheck(&st.name, resource)?;
                    // Activities have their own events (AWS-recorded: LocalStack
                    // activities/test_activities.snapshot.json): ActivityScheduled with the
                    // input, ActivityStarted when a worker takes it, then
                    // ActivitySucceeded / ActivityFailed / ActivityTimedOut.
                    let (ok_ty, ok_key, fail_ty, fail_key, out_ty, out_key) = if activity {
                        (
                            "ActivitySucceeded",
                            "activitySucceededEventDetails",
                            "ActivityFailed",
                            "activityFailedEventDetails",
                            "ActivityTimedOut",
                            "activityTimedOutEventDetails",
                        )
                    } else {
                        (
                            "TaskSucceeded",
                            "taskSucceededEventDetails",
                            "TaskFailed",
                            "taskFailedEventDetails",
                            "TaskTimedOut",
                            "taskTimedOutEventDetails",
                        )
                    };
                    let base = |mut d: Value| {
                        if !activity {
                            d["resourceType"] = json!(&**resource_type);
                            d["resource"] = json!(&**resource_name);
                        }
                        d
                    };
                    // The scheduled event's time limits, after its other members.
                    let timed = |mut sched: Value| {
                        if let Some(t) = timeout_s {
                            sched["timeoutInSeconds"] = json!(t as u64);
                        }
                        if let Some(h) = heartbeat_s {
                            sched["heartbeatInSeconds"] = json!(h as u64);
                        }
                        sched
                    };
                    if activity {
                        let sched = timed(json!({
                            "resource": resource,
                            "input": params.to_string(),
                            "inputDetails": not_truncated(),
                        }));
                        ctx.event(
                            &cur,
                            "ActivityScheduled",
                            Some("activityScheduledEventDetails"),
                            sched,
                        );
                    } else {
                        // Members in the order `timed` and the credentials add them.
                        let mut sched = Vec::with_capacity(7);
                        sched.push(("resourceType", Arc::clone(resource_type).into()));
                        sched.push(("resource", Arc::clone(resource_name).into()));
                        sched.push(("region", Arc::clone(region).into()));
                        sched.push(("parameters", params.to_string().into()));
                        if let Some(t) = timeout_s {
                            sched.push(("timeoutInSeconds", Value::from(t as u64).into()));
                        }
                        if let Some(h) = heartbeat_s {
                            sched.push(("heartbeatInSeconds", Value::from(h as u64).into()));
                        }
                        if let Some(Value::Object(c)) = creds
                            && let Some(r) = c.get("RoleArn")
                        {
                            sched.push(("taskCredentials", json!({"roleArn": r}).into()));
                        }
                        // Scheduled and started at once: one clock reading.
                        let ts = now_ts(ctx);
                        ctx.event_at(
                            &cur,
                            "TaskScheduled",
                            Some("taskScheduledEventDetails"),
                            Details::Members(sched),
                            ts,
                        );
                        ctx.event_at(
                            &cur,
                            "TaskStarted",
                            Some("taskStartedEventDetails"),
                            Details::Members(vec![
                                ("resourceType", Arc::clone(resource_type).into()),
                                ("resource", Arc::clone(resource_name).into()),
                            ]),
                            ts,
                        );
                    }
                    // The first attempt's `$$` is the state's; a retry's counts the retries.
                    let context = if attempt == 0 {
                        run.context.clone()
                    } else {
                        ctx.lazy_context(
                            &st.name,
                            &run.entered,
                            attempt,
                            run.item,
                            token.as_deref(),
                        )
                    };
                    let call = TaskInvocation {
                        state_name: st.name.clone(),
                        resource: resource.clone(),
                        parameters: Arc::clone(params),
                        timeout: timeout_s.map(Duration::from_secs_f64),
                        heartbeat: heartbeat_s.map(Duration::from_secs_f64),
                        credentials: creds.clone(),
                        attempt,
                        context,
                        task_token: token.clone(),
                        events: super::EventSink {
                            history: ctx.history.clone(),
                            cur: cur.clone(),
                            clock: ctx.cfg.clock.clone(),
                        },
                    };
                    let fut = ctx.handler.invoke(call);
                    let outcome = match timeout_s {
                        Some(t) => {
                            match tokio::time::timeout(Duration::from_secs_f64(t), fut).await {
                                Ok(r) => r,
                                Err(_) => {
                                    let e = StatesError::named(names::TIMEOUT);
                                    ctx.event(
                                        &cur,
                                        out_ty,
                                        Some(out_key),
                                        base(json!({"error": e.error})),
                                    );
                                    return Err(e);
                                }
                            }
                        }
                        None => fut.await,
                    };
                    match outcome {
                        Ok(v) => {
                            // One text for the task's event, the state's and the next state's
                            // input (shared, not copied).
                            let text = json_text(&v);
                            if let Err(e) = ctx.text_too_big(
                                &text,
                                if activity { resource } else { resource_type },
                            ) {
                                ctx.event(
                                    &cur,
                                    fail_ty,
                                    Some(fail_key),
                                    base(json!({"error": e.error, "cause": e.cause})),
                                );
                                return Err(e);
                            }
                            *run.result_text.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(text.clone());
                            let mut members = Vec::with_capacity(4);
                            members.push(("output", text.into()));
                            members.push(("outputDetails", Member::NotTruncated));
                            if !activity {
                                members.push(("resourceType", Arc::clone(resource_type).into()));
                                members.push(("resource", Arc::clone(resource_name).into()));
                            }
                            ctx.event(&cur, ok_ty, Some(ok_key), Details::Members(members));
                            Ok(v)
                        }
                        Err(e) => {
                            let mut d = Map::new();
                            if !e.error.is_empty() {
                                d.insert("error".into(), json!(e.error));
                            }
                            if let Some(c) = &e.cause {
                                d.insert("cause".into(), json!(c));
                            }
                            // A task past its TimeoutSeconds or HeartbeatSeconds timed out.
                            let timed_out =
                                e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT;
                            let (ty, key) = if timed_out {
                                (out_ty, out_key)
                            } else {
                                (fail_ty, fail_key)
                            };
                            ctx.event(&cur, ty, Some(key), base(Value::Object(d)));
                            Err(e)
                        }
                    }
                }
                .boxed()
            })
            .await?
        }
        Kind::Parallel { branches } => {
            let params = &params;
            retry_in(
                ctx,
                st,
                cur,
                scope,
                move |cur, scope, (top, skips)| async move {
                    ctx.event(&cur, "ParallelStateStarted", None, Value::Null);
                    let start = cur.get();
                    let futs = branches.iter().enumerate().map(|(i, b)| {
                        let bcur = Arc::new(Cursor::new(start));
                        let saved = skips.get(&i).cloned();
                        let scope = scope.child();
                        async move {
                            let out = match saved {
                                Some(v) => v,
                                None => {
                                    run_block(ctx, b, params.clone(), scope, None, bcur).await?
                                }
                            };
                            ctx.note_done(top, i, &out);
                            Ok::<Value, StatesError>(out)
                        }
                    });
                    match futures::future::try_join_all(futs).await {
                        Ok(outs) => {
                            ctx.event(&cur, "ParallelStateSucceeded", None, Value::Null);
                            Ok(Value::Array(outs))
                        }
                        Err(e) => {
                            ctx.event(&cur, "ParallelStateFailed", None, Value::Null);
                            Err(e)
                        }
                    }
                },
            )
            .await?
        }
        Kind::Map(m) => {
            let env = run.env(&effective, &states_in);
            let items = if jsonata {
                match &m.items {
                    Some(t) => t.eval(&env, "Items")?,
                    None => run.raw.clone(),
                }
            } else {
                match &m.items_path {
                    OptPath::Path(p) => path_or_runtime(run, p, &effective)?,
                    _ => effective.clone(),
                }
            };
            ctx.inspect("afterItemsPath", &items);
            let Value::Array(items) = items else {
                return Err(StatesError::new(
                    if jsonata {
                        names::QUERY_EVALUATION_ERROR
                    } else {
                        names::RUNTIME
                    },
                    format!(
                        "An error occurred while executing the state '{}'. The Map state's items must be a JSON array",
                        st.name
                    ),
                ));
            };
            let max_conc = m
                .max_concurrency
                .as_ref()
                .map(|s| resolve_num(s, &env, "MaxConcurrency"))
                .transpose()?
                .unwrap_or(0.0) as usize;
            let tol_count = m
                .tolerated_count
                .as_ref()
                .map(|s| resolve_num(s, &env, "ToleratedFailureCount"))
                .transpose()?;
            let tol_pct = m
                .tolerated_percentage
                .as_ref()
                .map(|s| resolve_num(s, &env, "ToleratedFailurePercentage"))
                .transpose()?;
            // Each iteration's input: ItemSelector (or legacy Parameters) evaluated with
            // `$$.Map.Item.Index`/`Value`, else the item itself
            // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemselector.html).
            let mut inputs = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                let v = match &m.item_selector {
                    Some(sel) => {
                        let ctxobj = ContextObject::ready(
                            ctx.context_parts(
                                &st.name,
                                &run.entered,
                                0,
                                Some(&(i, it.clone())),
                                None,
                            )
                            .build(),
                        );
                        let mut states = states_in.clone();
                        states["context"] = ctxobj.value().clone();
                        let env = Env {
                            input: &effective,
                            context: &ctxobj,
                            vars: &run.vars,
                            states: &states,
                            now_millis: now_millis(ctx),
                            rng: &ctx.rng,
                            state: &st.name,
                        };
                        sel.eval(&env, "ItemSelector")?
                    }
                    None => it.clone(),
                };
                inputs.push(v);
            }
            ctx.inspect("afterItemSelector", &Value::Array(inputs.clone()));
            if let Some(dist) = &m.distributed {
                let (inputs, sizes) = match &dist.batcher {
                    Some(b) => {
                        let batches = super::distributed::batch(inputs, b, &env, &resolve_num)?;
                        let sizes = batches
                            .iter()
                            .map(|b| {
                                b.get("Items")
                                    .and_then(Value::as_array)
                                    .map_or(0, |a| a.len() as u64)
                            })
                            .collect();
                        (batches, sizes)
                    }
                    None => {
                        let sizes = vec![1; inputs.len()];
                        (inputs, sizes)
                    }
                };
                let machine = super::definition::StateMachine {
                    block: m.processor.clone(),
                    timeout_seconds: None,
                    query_language: st.ql,
                    comment: None,
                };
                let settings = (max_conc as u64, tol_count.map(|c| c as u64), tol_pct);
                let (machine, inputs, sizes) = (&machine, &inputs, &sizes);
                return retry_in(
                    ctx,
                    st,
                    cur,
                    scope,
                    move |cur, _scope, redrive| async move {
                        super::distributed::run_map_run(
                            ctx,
                            st,
                            machine,
                            dist,
                            inputs.clone(),
                            sizes.clone(),
                            &cur,
                            settings,
                            redrive,
                        )
                        .await
                    },
                )
                .await
                .and_then(|result| finish_work(run, result));
            }
            let inputs = &inputs;
            retry_in(ctx, st, cur, scope, move |cur, scope, redrive| async move {
                run_map(
                    ctx,
                    st,
                    &m.processor,
                    inputs,
                    &scope,
                    &cur,
                    max_conc,
                    tol_count,
                    tol_pct,
                    redrive,
                )
                .await
            })
            .await?
        }
        _ => return Err(StatesError::new(names::RUNTIME, "not a work state")),
    };
    finish_work(run, result)
}

/// A work state's output processing: ResultSelector, ResultPath, OutputPath (JSONata:
/// Output), and Assign.
fn finish_work(run: &StateRun<'_>, result: Value) -> StateResult {
    let st = run.st;
    let ctx = run.ctx;
    let jsonata = st.ql == QueryLanguage::Jsonata;
    ctx.inspect("result", &result);

    // 3. Output processing.
    if jsonata {
        let states = run.states_var(Some(("result", result.clone())));
        let env = run.env(&run.raw, &states);
        let assigned = assign_in(st.assign.as_ref(), &env)?;
        let out = output_in(st.output.as_ref(), &env, result)?;
        return Ok((flow_of(st), out, assigned));
    }
    let states = Value::Null;
    let selected = match &st.result_selector {
        Some(sel) => {
            let env = run.env(&result, &states);
            sel.eval(&env, "ResultSelector")?
        }
        None => result,
    };
    ctx.inspect("afterResultSelector", &selected);
    let assigned = {
        let env = run.env(&selected, &states);
        assign_in(st.assign.as_ref(), &env)?
    };
    let out = apply_result_path(&st.result_path, &run.raw, selected, st)?;
    ctx.inspect("afterResultPath", &out);
    let out = apply_output_path(run, &st.output_path, out)?;
    Ok((flow_of(st), out, assigned))
}

#[allow(clippy::too_many_arguments)]
async fn run_map<'a>(
    ctx: &'a Ctx<'a>,
    st: &'a State,
    processor: &'a Block,
    inputs: &'a [Value],
    scope: &Arc<Scope>,
    cur: &Arc<Cursor>,
    max_conc: usize,
    tol_count: Option<f64>,
    tol_pct: Option<f64>,
    (top, skips): (bool, BTreeMap<usize, Value>),
) -> Result<Value, StatesError> {
    ctx.event(
        cur,
        "MapStateStarted",
        Some("mapStateStartedEventDetails"),
        json!({"length": inputs.len()}),
    );
    let start = cur.get();
    let n = inputs.len();
    let limit = if max_conc == 0 { n.max(1) } else { max_conc };
    let tolerant = tol_count.is_some() || tol_pct.is_some();
    let mut futs: Vec<BoxFuture<'a, Result<Value, StatesError>>> = Vec::with_capacity(n);
    for (i, input) in inputs.iter().enumerate() {
        let scope = scope.child();
        if let Some(v) = skips.get(&i).cloned() {
            // Succeeded before the redrive: not run again.
            futs.push(
                async move {
                    ctx.note_done(top, i, &v);
                    Ok(v)
                }
                .boxed(),
            );
            continue;
        }
        futs.push(
            async move {
                let icur = Arc::new(Cursor::new(start));
                ctx.event(
                    &icur,
                    "MapIterationStarted",
                    Some("mapIterationStartedEventDetails"),
                    json!({"name": st.name, "index": i}),
                );
                let item = Arc::new((i, input.clone()));
                let r = run_block(
                    ctx,
                    processor,
                    input.clone(),
                    scope,
                    Some(item),
                    icur.clone(),
                )
                .await;
                if let Ok(v) = &r {
                    ctx.note_done(top, i, v);
                }
                match &r {
                    Ok(_) => ctx.event(
                        &icur,
                        "MapIterationSucceeded",
                        Some("mapIterationSucceededEventDetails"),
                        json!({"name": st.name, "index": i}),
                    ),
                    Err(_) => ctx.event(
                        &icur,
                        "MapIterationFailed",
                        Some("mapIterationFailedEventDetails"),
                        json!({"name": st.name, "index": i}),
                    ),
                };
                r
            }
            .boxed(),
        );
    }
    let iterations = futures::stream::iter(futs).buffered(limit);
    let result = if !tolerant {
        // Without a tolerance, the first failed iteration fails the Map (others are dropped).
        use futures::TryStreamExt;
        iterations
            .try_collect::<Vec<Value>>()
            .await
            .map(Value::Array)
    } else {
        let all: Vec<Result<Value, StatesError>> = iterations.collect().await;
        let failed = all.iter().filter(|r| r.is_err()).count();
        let over_count = tol_count.is_some_and(|c| failed as f64 > c);
        let over_pct = tol_pct.is_some_and(|p| n > 0 && (failed as f64 * 100.0 / n as f64) > p);
        if over_count || over_pct {
            // AWS's cause, without figures (AWS-recorded: LocalStack
            // test_state/test_state_configuration.snapshot.json, test_map_state_failure_count).
            Err(StatesError::new(
                names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                "The specified tolerated failure threshold was exceeded",
            ))
        } else {
            Ok(Value::Array(
                all.into_iter()
                    .map(|r| r.unwrap_or_else(|e| e.to_error_output()))
                    .collect(),
            ))
        }
    };
    match &result {
        Ok(_) => ctx.event(cur, "MapStateSucceeded", None, Value::Null),
        Err(_) => ctx.event(cur, "MapStateFailed", None, Value::Null),
    };
    result
}

#[cfg(test)]
mod size_tests {
    use super::serialized_len_exceeds;
    use serde_json::json;

    #[test]
    fn the_payload_size_check_counts_the_json_text_exactly() {
        for v in [
            json!(null),
            json!({"a": [1, 2.5, "é\"\n"], "b": {"c": true}}),
            json!("x".repeat(1000)),
        ] {
            let n = serde_json::to_string(&v).unwrap().len();
            assert!(
                !serialized_len_exceeds(&v, n),
                "{v}: exactly the limit is allowed"
            );
            assert!(
                serialized_len_exceeds(&v, n - 1),
                "{v}: one byte over is not"
            );
        }
    }
}
