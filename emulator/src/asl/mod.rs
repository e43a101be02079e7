//! Amazon States Language interpreter.
//!
//! * [`StateMachine::parse`] validates a definition once (all problems at once, AWS style).
//! * [`run`] executes it against a [`TaskHandler`] on tokio's clock and returns an
//!   [`ExecutionOutcome`] with the `GetExecutionHistory`-shaped history.
//! * [`test_state`] runs one state the way the TestState API does.
//!
//! Every AWS behaviour implemented here cites its developer-guide page next to the code.

mod choice;
mod context;
mod definition;
mod distributed;
pub mod error;
mod history;
mod interp;
mod intrinsics;
mod jsonata;
mod path;
mod template;

pub use context::ContextObject;
pub use definition::{QueryLanguage, StateMachine};
pub use distributed::{
    ChildExecution, DEFAULT_DISTRIBUTED_CONCURRENCY, MAX_MAP_RUN_CHILDREN, MapRunControl,
    MapRunCounts, MapRunInfo, MapRunObserver, MapRunState, MapRunStatus,
};
pub use error::{DefinitionError, Diagnostic, StatesError};
pub use history::HistoryEvent;
pub use interp::is_activity;

use crate::clock::Clock;
use interp::{Ctx, Cursor, Inspection, Scope};
use rand::SeedableRng;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Implemented by the rest of vpcgate: runs one Task state's resource.
///
/// The interpreter hands *every* `Resource` string to the handler, unchanged; the handler
/// decides which are emulated and returns a [`StatesError`] (e.g. `States.TaskFailed`)
/// for the others. The future is awaited under the state's `TimeoutSeconds`; dropping it
/// means the task was cancelled (timeout, StopExecution, a sibling branch failed).
pub trait TaskHandler: Send + Sync {
    /// Runs the task and returns its result (the raw result, before `ResultSelector`).
    fn invoke<'a>(
        &'a self,
        call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>>;

    /// Checked before the task is scheduled (no event yet): an activity that does not exist
    /// fails the state with `States.Runtime` here, as AWS does.
    fn precheck(&self, _state_name: &str, _resource: &str) -> Result<(), StatesError> {
        Ok(())
    }

    /// Who watches the Map Runs of Distributed Map states (`None`: nobody; the children
    /// still run).
    fn map_runs(&self) -> Option<&dyn MapRunObserver> {
        None
    }
}

/// One Task invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInvocation {
    /// The Task state's name.
    pub state_name: String,
    /// The `Resource` string, e.g. `arn:aws:states:::http:invoke`.
    pub resource: String,
    /// `Parameters` (JSONPath, `.$` resolved) or `Arguments` (JSONata) after evaluation;
    /// the effective input when neither is given. Shared by the state's attempts.
    pub parameters: Arc<Value>,
    /// The state's `TimeoutSeconds` / `TimeoutSecondsPath` (the interpreter enforces it too).
    pub timeout: Option<Duration>,
    /// The state's `Credentials` field, evaluated.
    pub credentials: Option<Value>,
    /// 0 for the first try, n for the n-th retry.
    pub attempt: u32,
    /// The context object (`$$`) at this point (`State.RetryCount` = `attempt`), shared with
    /// the state that runs the task and written out when first read.
    pub context: Arc<ContextObject>,
    /// The state's `HeartbeatSeconds` / `HeartbeatSecondsPath` (the handler enforces it on
    /// tasks that wait for a token).
    pub heartbeat: Option<Duration>,
    /// The task token (`$$.Task.Token`) of a `.waitForTaskToken` or activity task.
    pub task_token: Option<String>,
    /// Where the handler adds the events it sees happen (`TaskSubmitted`, `ActivityStarted`).
    pub events: EventSink,
}

/// Bytes of randomness in a task token (base64url, 64 characters).
const TOKEN_BYTES: usize = 48;

/// A fresh task token (`$$.Task.Token`): base64url of 48 random bytes from the execution's RNG.
pub fn new_task_token(rng: &mut dyn rand::RngCore) -> String {
    use base64::Engine;
    let mut b = [0u8; TOKEN_BYTES];
    rng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Whether a string has the shape of a token [`new_task_token`] makes.
pub fn is_task_token(s: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .is_ok_and(|b| b.len() == TOKEN_BYTES)
}

/// Adds events to the running execution's history, after the task's own.
#[derive(Clone)]
pub struct EventSink {
    pub(crate) history: Arc<Mutex<history::History>>,
    pub(crate) cur: Arc<Cursor>,
    pub(crate) clock: Clock,
}

impl EventSink {
    /// Adds one event (`key` names its details member); returns its id.
    pub fn emit(&self, ty: &'static str, key: Option<&'static str>, details: Value) -> u64 {
        let ts = crate::clock::epoch_seconds(self.clock.now());
        let id = self.history.lock().unwrap_or_else(|e| e.into_inner()).push(
            ts,
            ty,
            self.cur.get(),
            key,
            details,
        );
        self.cur.set(id);
        id
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

impl PartialEq for EventSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.history, &other.history) && Arc::ptr_eq(&self.cur, &other.cur)
    }
}

/// Standard or Express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionType {
    /// Standard workflow.
    #[default]
    Standard,
    /// Express workflow: at most five minutes
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html>).
    Express,
}

/// Everything about one execution that is not in the definition.
#[derive(Debug, Clone)]
pub struct ExecutionConfig {
    /// Standard or Express.
    pub execution_type: ExecutionType,
    /// `$$.Execution.Id`.
    pub execution_arn: String,
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.StateMachine.Id`.
    pub state_machine_arn: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// `$$.Execution.RoleArn` and `ExecutionStarted.roleArn`.
    pub role_arn: String,
    /// The wall clock (base time advanced by tokio's clock).
    pub clock: Clock,
    /// `$$.Execution.StartTime`; `None` = the clock's reading when [`run`] starts.
    pub start_time: Option<SystemTime>,
    /// `$$.Execution.RedriveCount`.
    pub redrive_count: u32,
    /// A redrive: start at this point instead of `StartAt` (the `input` given to [`run`] is the
    /// point's state input).
    pub redrive_from: Option<RedrivePoint>,
    /// State input/output size limit in bytes (256 KiB = 262,144 by default).
    pub payload_limit_bytes: usize,
    /// The Express duration cap (5 minutes by default).
    pub express_max_duration: Duration,
    /// The Standard duration cap: one year; past it the execution times out
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>,
    /// "Maximum execution time").
    pub standard_max_duration: Duration,
    /// Most history events of one execution: 25,000, after which it fails with
    /// `States.Runtime` (service-quotas.html, "Maximum execution history size").
    pub max_history_events: usize,
    /// Where the events go while the execution runs (GetExecutionHistory of a running
    /// execution reads it).
    pub history: LiveHistory,
    /// Seed for Retry jitter, `States.MathRandom` and `States.UUID`; `None` = OS entropy.
    pub rng_seed: Option<u64>,
    /// Region for history events; `None` = taken from the execution ARN.
    pub region: Option<String>,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig::of(
            ExecutionIdentity {
                execution_type: ExecutionType::Standard,
                execution_arn: "arn:aws:states:us-east-1:123456789012:execution:vpcgate:local"
                    .into(),
                execution_name: "local".into(),
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:vpcgate"
                    .into(),
                state_machine_name: "vpcgate".into(),
                role_arn: "arn:aws:iam::123456789012:role/vpcgate".into(),
            },
            Clock::default(),
        )
    }
}

/// Which execution an [`ExecutionConfig`] is for.
#[derive(Debug)]
pub struct ExecutionIdentity {
    /// STANDARD or EXPRESS.
    pub execution_type: ExecutionType,
    /// `$$.Execution.Id`.
    pub execution_arn: String,
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.StateMachine.Id`.
    pub state_machine_arn: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
}

impl ExecutionConfig {
    /// The configuration of the execution `id` on `clock`, every limit at AWS's default
    /// (what `Default` gives, without making the placeholder names first).
    pub fn of(id: ExecutionIdentity, clock: Clock) -> Self {
        let ExecutionIdentity {
            execution_type,
            execution_arn,
            execution_name,
            state_machine_arn,
            state_machine_name,
            role_arn,
        } = id;
        ExecutionConfig {
            execution_type,
            execution_arn,
            execution_name,
            state_machine_arn,
            state_machine_name,
            role_arn,
            clock,
            start_time: None,
            redrive_count: 0,
            redrive_from: None,
            payload_limit_bytes: 256 * 1024,
            express_max_duration: Duration::from_secs(300),
            standard_max_duration: Duration::from_secs(365 * 24 * 3600),
            max_history_events: 25_000,
            history: LiveHistory::default(),
            rng_seed: None,
            region: None,
        }
    }
}

impl ExecutionConfig {
    /// The region for history events.
    pub fn region(&self) -> String {
        if let Some(r) = &self.region {
            return r.clone();
        }
        self.execution_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
            .to_string()
    }
}

/// The history of an execution, shared with whoever wants to read it while it runs.
#[derive(Debug, Clone, Default)]
pub struct LiveHistory(Arc<Mutex<history::History>>);

impl LiveHistory {
    /// A copy of the events so far, oldest first.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).to_vec()
    }
}

/// Final status of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Reached a terminal state normally.
    Succeeded,
    /// Failed with an error.
    Failed,
    /// Hit the execution `TimeoutSeconds` or the Express cap.
    TimedOut,
    /// Stopped with StopExecution.
    Aborted,
}

impl ExecutionStatus {
    /// The API spelling (`SUCCEEDED`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// Where RedriveExecution starts a failed, timed-out or aborted execution again: the
/// top-level state that was running, with its input and the variables of that moment
/// (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html: "redrive
/// restarts the execution from the unsuccessful step"). A Parallel or Map that failed runs
/// again only its branches / iterations that did not succeed.
#[derive(Debug, Clone)]
pub struct RedrivePoint {
    /// The state's name.
    pub state: String,
    /// Its input.
    pub input: Value,
    /// The top-level variables.
    pub variables: Map<String, Value>,
    /// `$$.Execution.Input` (the original input).
    pub execution_input: Value,
    /// The history so far (the redrive appends to it).
    pub history: Vec<HistoryEvent>,
    /// When the state is a Parallel or Map: its branches / iterations that succeeded, by
    /// index, with their outputs; the redrive runs only the others (API_RedriveExecution.html).
    pub done: std::collections::BTreeMap<usize, Value>,
}

/// What [`run`] returns.
#[derive(Debug, Clone)]
pub struct ExecutionOutcome {
    /// Where a redrive would start (`None` for SUCCEEDED).
    pub redrive_point: Option<RedrivePoint>,
    /// Final status.
    pub status: ExecutionStatus,
    /// Output (for SUCCEEDED), else `None`.
    pub output: Option<Value>,
    /// Error name (FAILED, TIMED_OUT, ABORTED when given).
    pub error: Option<String>,
    /// Cause.
    pub cause: Option<String>,
    /// The history, oldest first (shared with the execution's [`LiveHistory`]).
    pub history: Arc<[HistoryEvent]>,
    /// Start time (clock reading).
    pub start_date: SystemTime,
    /// Stop time (clock reading).
    pub stop_date: SystemTime,
}

impl ExecutionOutcome {
    /// The history as the `events` array of a `GetExecutionHistory` response.
    pub fn history_json(&self) -> Value {
        Value::Array(self.history.iter().map(HistoryEvent::to_json).collect())
    }

    /// The output as JSON text (DescribeExecution's and StartSyncExecution's `output`): the
    /// text the `ExecutionSucceeded` event holds, already serialized, else the output written
    /// out.
    pub fn output_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        let output = self.output.as_ref()?;
        Some(match recorded_output(&self.history) {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => std::borrow::Cow::Owned(output.to_string()),
        })
    }
}

/// The output text a finished execution's history records (its `ExecutionSucceeded` event's),
/// if it does.
pub fn recorded_output(history: &[HistoryEvent]) -> Option<&str> {
    history
        .last()
        .filter(|e| e.event_type == "ExecutionSucceeded")
        .and_then(|e| e.detail_str("executionSucceededEventDetails", "output"))
}

/// The history of an execution that started and succeeded with the output text `output`.
#[cfg(test)]
pub(crate) fn succeeded_history(output: &str) -> Arc<[HistoryEvent]> {
    let mut h = history::History::default();
    h.push(0.0, "ExecutionStarted", 0, None, Value::Null);
    h.push(
        1.0,
        "ExecutionSucceeded",
        1,
        Some("executionSucceededEventDetails"),
        history::Details::Members(vec![
            ("output", history::Member::Text(output.into())),
            ("outputDetails", history::Member::NotTruncated),
        ]),
    );
    h.close()
}

/// A StopExecution request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StopRequest {
    /// The `error` given to StopExecution.
    pub error: Option<String>,
    /// The `cause` given to StopExecution.
    pub cause: Option<String>,
}

/// The sending half: call [`StopHandle::stop`] to abort the execution.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<tokio::sync::watch::Sender<Option<StopRequest>>>);

/// The receiving half, passed to [`run`].
#[derive(Debug, Clone)]
pub struct StopSignal {
    rx: tokio::sync::watch::Receiver<Option<StopRequest>>,
    /// Keeps the sender of [`StopSignal::never`] alive without leaking it.
    _keep: Option<Arc<tokio::sync::watch::Sender<Option<StopRequest>>>>,
}

/// Makes a StopExecution channel (a tokio `watch`, so one handle can stop at any time).
pub fn stop_channel() -> (StopHandle, StopSignal) {
    let (tx, rx) = tokio::sync::watch::channel(None);
    (StopHandle(Arc::new(tx)), StopSignal { rx, _keep: None })
}

impl StopHandle {
    /// Requests the stop (idempotent; the first request wins).
    pub fn stop(&self, error: Option<String>, cause: Option<String>) {
        self.0.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(StopRequest { error, cause });
                true
            } else {
                false
            }
        });
    }
}

impl StopSignal {
    /// A signal that never fires.
    pub fn never() -> StopSignal {
        let (tx, rx) = tokio::sync::watch::channel(None);
        StopSignal {
            rx,
            _keep: Some(Arc::new(tx)),
        }
    }
    async fn wait(mut self) -> StopRequest {
        loop {
            if let Some(r) = self.rx.borrow().clone() {
                return r;
            }
            if self.rx.changed().await.is_err() {
                // Sender gone without a stop: never fire.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl StateMachine {
    /// Parses and validates a definition (every problem, with its JSON pointer).
    pub fn parse(definition: &str) -> Result<StateMachine, DefinitionError> {
        definition::parse(definition)
    }
}

/// ValidateStateMachineDefinition's verdict: every diagnostic of the definition, plus the
/// Express-only ones when `express` (API_ValidateStateMachineDefinition.html; shapes
/// AWS-recorded in LocalStack's test_sfn_api_validation.snapshot.json). Empty = valid.
pub fn validate(definition: &str, express: bool) -> Vec<Diagnostic> {
    if definition.trim().is_empty() {
        return vec![Diagnostic {
            code: "SCHEMA_VALIDATION_FAILED",
            message: "Definition must be a valid JSON object".into(),
            location: String::new(),
        }];
    }
    match StateMachine::parse(definition) {
        Ok(m) => {
            let mut out = Vec::new();
            if express {
                definition::express_diagnostics(&m.block, "", &mut out);
            } else {
                // The EXPRESS children of a Distributed Map hold what an Express machine may.
                definition::express_child_diagnostics(&m.block, "", &mut out);
            }
            out
        }
        Err(DefinitionError::Invalid { diagnostics }) => diagnostics,
        Err(DefinitionError::InvalidJson {
            message,
            line,
            column,
        }) => vec![Diagnostic {
            code: "INVALID_JSON_DESCRIPTION",
            message: format!("{message} at (line {line}, column {column})"),
            location: format!("(line {line}, column {column})"),
        }],
    }
}

/// The execution's random source (States.UUID, States.MathRandom, retry jitter): seeded from
/// the thread's generator, itself seeded from the OS once, rather than a `getrandom` system
/// call per execution.
fn make_rng(seed: Option<u64>) -> rand::rngs::StdRng {
    match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s),
        None => rand::rngs::StdRng::from_rng(&mut rand::rng()),
    }
}

/// Runs an execution to completion (or timeout / stop) on tokio's clock.
///
/// The returned future is `Send`, so callers may `tokio::spawn` it (with owned arguments).
pub async fn run(
    machine: &StateMachine,
    input: Value,
    config: ExecutionConfig,
    handler: &dyn TaskHandler,
    stop: StopSignal,
) -> ExecutionOutcome {
    let start_date = config.start_time.unwrap_or_else(|| config.clock.now());
    let start_time = chrono::DateTime::<chrono::Utc>::from(start_date)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    config
        .history
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .cap = config.max_history_events;
    let last_id = {
        // One run per config: a reused config starts an empty history; a redrive goes on
        // from the history it ended with.
        let mut h = config.history.0.lock().unwrap_or_else(|p| p.into_inner());
        h.reset(
            config
                .redrive_from
                .as_ref()
                .map_or_else(Vec::new, |p| p.history.clone()),
        );
        h.last().map_or(0, |e| e.id)
    };
    let ctx = Ctx {
        handler,
        cfg: &config,
        history: config.history.0.clone(),
        rng: Mutex::new(make_rng(config.rng_seed)),
        inspection: None,
        current_top: Mutex::new(None),
        top_done: Mutex::new(Default::default()),
        redrive_done: Mutex::new(
            config
                .redrive_from
                .as_ref()
                .map(|p| (p.state.clone(), p.done.clone())),
        ),
        context_base: Arc::new(context::ContextBase::new(
            &config,
            config
                .redrive_from
                .as_ref()
                .map_or_else(|| input.clone(), |p| p.execution_input.clone()),
            start_time,
        )),
        final_text: Mutex::new(None),
    };
    let cur = Arc::new(Cursor::new(last_id));
    // The input's text: the history's and the first state's (serialized once).
    let input_text = match &config.redrive_from {
        Some(_) => None,
        None => Some(interp::json_text(&input)),
    };
    match &config.redrive_from {
        // RedriveExecution: `ExecutionRedriven` with the new count, then the failed state again
        // (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html).
        Some(_) => ctx.event(
            &cur,
            "ExecutionRedriven",
            Some("executionRedrivenEventDetails"),
            json!({"redriveCount": config.redrive_count}),
        ),
        None => ctx.event(
            &cur,
            "ExecutionStarted",
            Some("executionStartedEventDetails"),
            history::Details::Members(vec![
                (
                    "input",
                    input_text
                        .clone()
                        .map_or(history::Member::Value(Value::Null), history::Member::Text),
                ),
                ("inputDetails", history::Member::NotTruncated),
                ("roleArn", config.role_arn.clone().into()),
            ]),
        ),
    };
    // Execution TimeoutSeconds and the Express five-minute cap both end in TIMED_OUT with
    // States.Timeout (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html).
    // A Standard execution past one year times out the same way (service-quotas.html).
    let cap = match config.execution_type {
        ExecutionType::Express => config.express_max_duration,
        ExecutionType::Standard => config.standard_max_duration,
    };
    let limit = Some(
        machine
            .timeout_seconds
            .map_or(cap, |t| Duration::from_secs(t).min(cap)),
    );
    let (start, vars) = match &config.redrive_from {
        Some(p) => (Some(p.state.as_str()), p.variables.clone()),
        None => (None, Map::new()),
    };
    let scope = Scope::root(vars);
    let body = interp::run_block_from(
        &ctx,
        &machine.block,
        start,
        input,
        input_text,
        scope.clone(),
        None,
        cur.clone(),
        true,
    );
    let timer = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    enum End {
        Done(Result<Value, StatesError>),
        Timeout,
        Stop(StopRequest),
    }
    let end = tokio::select! {
        r = body => End::Done(r),
        _ = timer => End::Timeout,
        s = stop.wait() => End::Stop(s),
    };
    let (status, output, error, cause) = match end {
        End::Done(Ok(out)) => {
            let text = ctx
                .final_text
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_else(|| interp::json_text(&out));
            match ctx.check_output(&text) {
                Ok(()) => {
                    ctx.event(
                        &cur,
                        "ExecutionSucceeded",
                        Some("executionSucceededEventDetails"),
                        history::Details::Members(vec![
                            ("output", text.into()),
                            ("outputDetails", history::Member::NotTruncated),
                        ]),
                    );
                    (ExecutionStatus::Succeeded, Some(out), None, None)
                }
                Err(e) => fail_event(&ctx, &cur, e),
            }
        }
        End::Done(Err(e)) => fail_event(&ctx, &cur, e),
        End::Timeout => {
            let cause = "The execution timed out".to_string();
            ctx.event(
                &cur,
                "ExecutionTimedOut",
                Some("executionTimedOutEventDetails"),
                json!({"error": "States.Timeout", "cause": cause}),
            );
            (
                ExecutionStatus::TimedOut,
                None,
                Some("States.Timeout".to_string()),
                Some(cause),
            )
        }
        End::Stop(s) => {
            let mut d = Map::new();
            if let Some(e) = &s.error {
                d.insert("error".into(), json!(e));
            }
            if let Some(c) = &s.cause {
                d.insert("cause".into(), json!(c));
            }
            ctx.event(
                &cur,
                "ExecutionAborted",
                Some("executionAbortedEventDetails"),
                Value::Object(d),
            );
            (ExecutionStatus::Aborted, None, s.error, s.cause)
        }
    };
    let history = ctx
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .close();
    let redrive_point = if status == ExecutionStatus::Succeeded {
        None
    } else {
        ctx.current_top
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|(state, input)| RedrivePoint {
                state,
                input,
                variables: scope.snapshot(),
                execution_input: ctx.context_base.input.clone(),
                history: history.to_vec(),
                done: std::mem::take(&mut *ctx.top_done.lock().unwrap_or_else(|p| p.into_inner())),
            })
    };
    ExecutionOutcome {
        redrive_point,
        status,
        output,
        error,
        cause,
        history,
        start_date,
        stop_date: config.clock.now(),
    }
}

fn fail_event(
    ctx: &Ctx<'_>,
    cur: &Cursor,
    e: StatesError,
) -> (
    ExecutionStatus,
    Option<Value>,
    Option<String>,
    Option<String>,
) {
    // A Fail state without Error/Cause fails the execution with neither: the event details
    // are `{}` and DescribeExecution has no error or cause (AWS-recorded: LocalStack
    // base/test_base.snapshot.json, test_state_fail_empty).
    let error = Some(e.error).filter(|e| !e.is_empty());
    let mut d = Map::new();
    if let Some(err) = &error {
        d.insert("error".into(), json!(err));
    }
    if let Some(c) = &e.cause {
        d.insert("cause".into(), json!(c));
    }
    ctx.event(
        cur,
        "ExecutionFailed",
        Some("executionFailedEventDetails"),
        Value::Object(d),
    );
    (ExecutionStatus::Failed, None, error, e.cause)
}

impl Ctx<'_> {
    /// The execution's output, written as `text`, within the payload quota.
    fn check_output(&self, text: &str) -> Result<(), StatesError> {
        let n = text.len();
        if n > self.cfg.payload_limit_bytes {
            return Err(StatesError::new(
                error::names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The execution output is {n} bytes, over the limit of {} bytes",
                    self.cfg.payload_limit_bytes
                ),
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// TestState

/// TestState `inspectionLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    /// Output, status, next state.
    #[default]
    Info,
    /// Plus the data-flow steps (`inspectionData`).
    Debug,
}

/// TestState status (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStateStatus {
    /// The state succeeded.
    Succeeded,
    /// The state failed and nothing caught it.
    Failed,
    /// The state failed and a retrier would retry it.
    Retriable,
    /// The state failed and a catcher caught it.
    CaughtError,
}

impl TestStateStatus {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            TestStateStatus::Succeeded => "SUCCEEDED",
            TestStateStatus::Failed => "FAILED",
            TestStateStatus::Retriable => "RETRIABLE",
            TestStateStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// TestState options.
#[derive(Debug, Clone, Default)]
pub struct TestStateOptions {
    /// INFO or DEBUG.
    pub inspection_level: InspectionLevel,
    /// Variables set up before the state runs (TestState `variables`).
    pub variables: Map<String, Value>,
    /// Execution-level settings (clock, ARNs, seed).
    pub config: ExecutionConfig,
    /// The state's name (TestState `stateName`); defaults to `"TestState"`.
    pub state_name: Option<String>,
}

/// TestState response.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStateOutcome {
    /// Status.
    pub status: TestStateStatus,
    /// Output (SUCCEEDED or CAUGHT_ERROR).
    pub output: Option<Value>,
    /// Error name.
    pub error: Option<String>,
    /// Cause.
    pub cause: Option<String>,
    /// Next state (SUCCEEDED or CAUGHT_ERROR).
    pub next_state: Option<String>,
    /// `inspectionData` at DEBUG level: `input`, `afterInputPath`, `afterParameters`,
    /// `result`, `afterResultSelector`, `afterResultPath`, `afterArguments`, `variables`
    /// (JSON strings, as the API returns them) and `errorDetails`.
    pub inspection_data: Option<Value>,
}

impl TestStateOutcome {
    /// The response body of the TestState API.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(o) = &self.output {
            m.insert("output".into(), json!(o.to_string()));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        if let Some(n) = &self.next_state {
            m.insert("nextState".into(), json!(n));
        }
        if let Some(i) = &self.inspection_data {
            m.insert("inspectionData".into(), i.clone());
        }
        Value::Object(m)
    }
}

/// Runs one state definition the way the TestState API does: no retries or waits are
/// performed; a retriable error reports `RETRIABLE`, a caught one `CAUGHT_ERROR`.
/// Parallel and Map run their branches (AWS's TestState rejects them without a mock; vpcgate
/// runs them through the handler instead).
pub async fn test_state(
    state_definition: &str,
    input: Value,
    options: TestStateOptions,
    handler: &dyn TaskHandler,
) -> Result<TestStateOutcome, DefinitionError> {
    let name = options
        .state_name
        .clone()
        .unwrap_or_else(|| "TestState".to_string());
    let st = definition::parse_single_state(state_definition, &name)?;
    let config = options.config.clone();
    let start_date = config.start_time.unwrap_or_else(|| config.clock.now());
    let ctx = Ctx {
        handler,
        cfg: &config,
        history: Arc::new(Mutex::new(history::History::default())),
        rng: Mutex::new(make_rng(config.rng_seed)),
        inspection: Some(Mutex::new(Inspection::default())),
        current_top: Mutex::new(None),
        top_done: Mutex::new(Default::default()),
        redrive_done: Mutex::new(None),
        context_base: Arc::new(context::ContextBase::new(
            &config,
            input.clone(),
            chrono::DateTime::<chrono::Utc>::from(start_date)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )),
        final_text: Mutex::new(None),
    };
    let scope = Scope::root(options.variables.clone());
    let cur = Arc::new(Cursor::new(0));
    let res = interp::run_state(&ctx, &st, input, None, &scope, None, &cur)
        .await
        .map(|(flow, out, _)| (flow, out));
    let insp = ctx
        .inspection
        .as_ref()
        .map(|i| i.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_default();
    let mut data = insp.data.clone();
    if !data.contains_key("variables") {
        data.insert(
            "variables".into(),
            json!(Value::Object(options.variables.clone()).to_string()),
        );
    }
    let mut err_details = Map::new();
    if let Some((i, d)) = insp.retry {
        err_details.insert("retryIndex".into(), json!(i));
        err_details.insert(
            "retryBackoffIntervalSeconds".into(),
            json!(d.round() as i64),
        );
    }
    if let Some(i) = insp.catch_index {
        err_details.insert("catchIndex".into(), json!(i));
    }
    if !err_details.is_empty() {
        data.insert("errorDetails".into(), Value::Object(err_details));
    }
    let inspection_data =
        (options.inspection_level == InspectionLevel::Debug).then_some(Value::Object(data));
    Ok(match res {
        Ok((flow, out)) => {
            let next_state = match flow {
                interp::Flow::Next(n) => Some(n),
                interp::Flow::End => None,
            };
            if let Some(ci) = insp.catch_index {
                let _ = ci;
                TestStateOutcome {
                    status: TestStateStatus::CaughtError,
                    output: Some(out.clone()),
                    error: out
                        .get("Error")
                        .and_then(|e| e.as_str())
                        .map(str::to_string),
                    cause: out
                        .get("Cause")
                        .and_then(|e| e.as_str())
                        .map(str::to_string),
                    next_state,
                    inspection_data,
                }
            } else {
                TestStateOutcome {
                    status: TestStateStatus::Succeeded,
                    output: Some(out),
                    error: None,
                    cause: None,
                    next_state,
                    inspection_data,
                }
            }
        }
        Err(e) => TestStateOutcome {
            status: if insp.retry.is_some() {
                TestStateStatus::Retriable
            } else {
                TestStateStatus::Failed
            },
            output: None,
            error: Some(e.error),
            cause: e.cause,
            next_state: None,
            inspection_data,
        },
    })
}
