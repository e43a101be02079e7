//! Executions: a state machine's definition run by the ASL interpreter, with its Task states
//! handed to the integrations vpcgate emulates.
//!
//! The execution runs as a session of its role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`);
//! every task asks IAM as that session. Tasks whose resource vpcgate does not emulate fail with a
//! clear `States.TaskFailed` naming the resource (never a panic).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::Value;

use super::activity::{Activities, PendingTask};
use super::callback::Callbacks;
use super::{Host, StateMachine, StateMachineType, StatesError, TaskContext, http};
use crate::asl::{
    ExecutionConfig, ExecutionIdentity, ExecutionOutcome, ExecutionStatus, ExecutionType,
    HistoryEvent, LiveHistory, StateMachine as Definition, StopHandle, StopSignal, TaskHandler,
    TaskInvocation, run, stop_channel,
};
use crate::iam::Principal;
use crate::trace::{Trace, Verdict};

/// The HTTP Task resource.
pub const HTTP_INVOKE: &str = "arn:aws:states:::http:invoke";
/// Step Functions' own integration: starting an execution of another state machine.
pub const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";
/// The optimized API Gateway integration (Pattern B).
pub const APIGATEWAY_INVOKE: &str = "arn:aws:states:::apigateway:invoke";

/// The principal an execution runs as: a session of its role.
pub fn execution_principal(role_arn: &str, session: &str) -> Principal {
    Principal::session_of(role_arn, session)
}

/// Runs each Task of one execution against the world.
pub struct WorldTasks {
    world: Arc<dyn Host>,
    /// The execution's role session (with the principal it runs as), ended when the execution's tasks are dropped (it ended).
    session: super::session::ExecutionSession,
    state_machine_arn: String,
    trace: Trace,
    capture: Option<std::sync::Mutex<Option<super::http::HttpCapture>>>,
    callbacks: Arc<Callbacks>,
    activities: Arc<Activities>,
    executions: std::sync::Weak<Executions>,
    map_runs: Option<Arc<super::map_run::MapRuns>>,
}

impl std::fmt::Debug for WorldTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldTasks")
            .field("state_machine_arn", &self.state_machine_arn)
            .finish_non_exhaustive()
    }
}

impl Drop for WorldTasks {
    /// The execution ended (or was forgotten): its role session ends with it.
    fn drop(&mut self) {
        self.session.end(self.world.iam());
    }
}

impl WorldTasks {
    /// Tasks of an execution of `state_machine_arn` running as `principal`, tracing into `trace`.
    pub fn new(
        world: &dyn Host,
        principal: Principal,
        state_machine_arn: String,
        trace: Trace,
    ) -> Self {
        Self {
            world: world.shared(),
            session: super::session::ExecutionSession::new(principal),
            state_machine_arn,
            trace,
            capture: None,
            callbacks: Arc::default(),
            activities: Arc::default(),
            executions: std::sync::Weak::new(),
            map_runs: None,
        }
    }

    /// Reports the Map Runs of Distributed Map states (and their children) to this store.
    pub fn with_map_runs(mut self, map_runs: Arc<super::map_run::MapRuns>) -> Self {
        self.map_runs = Some(map_runs);
        self
    }

    /// Lets `states:startExecution` tasks start executions in this store.
    pub fn with_executions(mut self, executions: &Arc<Executions>) -> Self {
        self.executions = Arc::downgrade(executions);
        self
    }

    /// `arn:aws:states:::states:startExecution` (and `.sync`, `.sync:2`) on a vpcgate state
    /// machine: starts the child execution, records `TaskSubmitted`, and with `.sync` waits for
    /// it, returning its DescribeExecution fields (`.sync:2`: Input and Output as JSON; `.sync`:
    /// as strings); a child that does not succeed fails the task with `States.TaskFailed` and
    /// those fields as the cause (AWS-recorded: LocalStack callback/test_callback.snapshot.json,
    /// test_start_execution_sync, _sync2, _sync_delegate_failure).
    async fn start_execution(
        &self,
        ctx: &TaskContext<'_>,
        call: &TaskInvocation,
        mode: &str,
    ) -> Result<Value, StatesError> {
        use serde_json::json;
        let Some(store) = self.executions.upgrade() else {
            return Err(not_emulated(&call.resource));
        };
        let p = &call.parameters;
        let Some(arn) = p.get("StateMachineArn").and_then(Value::as_str) else {
            return Err(ctx.bad_parameters(p, "StateMachineArn must be a string"));
        };
        let Some(sm) = store.machine(arn) else {
            return Err(StatesError::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!(
                    "State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist)"
                ),
            ));
        };
        let input = match p.get("Input") {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| ctx.bad_parameters(p, &format!("Input is not JSON: {e}")))?,
            Some(v) => v.clone(),
        };
        let name = p.get("Name").and_then(Value::as_str).map(str::to_string);
        let (child, start) = store
            .start(&*self.world, &sm, input.clone(), name)
            .map_err(|e| StatesError::new("StepFunctions.SfnException", e.to_string()))?;
        let millis = |t: SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64
        };
        let submitted = json!({"ExecutionArn": child, "StartDate": millis(start)});
        if mode.is_empty() {
            return Ok(submitted);
        }
        let resource = format!("startExecution{mode}");
        call.events.emit(
            "TaskSubmitted",
            Some("taskSubmittedEventDetails"),
            json!({"resourceType": "states", "resource": resource, "output": submitted.to_string(), "outputDetails": {"truncated": false}}),
        );
        // Stopping the parent (or the task timing out) stops the child it waits for
        // (connect-to-resource.html#connect-sync: Step Functions stops the job it runs when the
        // task is stopped).
        let mut stop_child = StopOnDrop {
            store: store.clone(),
            arn: child.clone(),
            armed: true,
        };
        let r = store.wait_ended(&child).await;
        stop_child.armed = false;
        let r = r.ok_or_else(|| {
            StatesError::new("States.TaskFailed", "the child execution was forgotten")
        })?;
        let o = r.outcome.as_ref().expect("ended");
        let v2 = mode == ".sync:2";
        let as_field = |v: &Value| if v2 { v.clone() } else { json!(v.to_string()) };
        let mut out = serde_json::Map::new();
        out.insert("ExecutionArn".into(), json!(r.arn));
        out.insert("Input".into(), as_field(&r.input));
        out.insert("InputDetails".into(), json!({"Included": true}));
        out.insert("Name".into(), json!(r.name));
        if let Some(output) = &o.output {
            out.insert("Output".into(), as_field(output));
            out.insert("OutputDetails".into(), json!({"Included": true}));
        }
        out.insert("StartDate".into(), json!(millis(r.start_date)));
        out.insert("StateMachineArn".into(), json!(r.state_machine_arn));
        out.insert("Status".into(), json!(r.status()));
        out.insert("StopDate".into(), json!(millis(o.stop_date)));
        if o.status == ExecutionStatus::Succeeded {
            return Ok(Value::Object(out));
        }
        if let Some(e) = &o.error {
            out.insert("Error".into(), json!(e));
        }
        if let Some(c) = &o.cause {
            out.insert("Cause".into(), json!(c));
        }
        Err(StatesError::new(
            "States.TaskFailed",
            Value::Object(out).to_string(),
        ))
    }

    /// Waits for task tokens and queues activity tasks in these stores (the world's, so
    /// SendTask* and GetActivityTask reach them).
    pub fn with_callbacks(
        mut self,
        callbacks: Arc<Callbacks>,
        activities: Arc<Activities>,
    ) -> Self {
        self.callbacks = callbacks;
        self.activities = activities;
        self
    }

    /// `.waitForTaskToken`: runs the integration (whose parameters carry `$$.Task.Token`),
    /// records `TaskSubmitted` with its response, then waits for SendTaskSuccess/Failure
    /// (AWS-recorded: LocalStack callback/test_callback.snapshot.json).
    async fn wait_for_token(
        &self,
        ctx: &TaskContext<'_>,
        call: &TaskInvocation,
    ) -> Result<Value, StatesError> {
        let base = call.resource.trim_end_matches(".waitForTaskToken");
        let token = call.task_token.clone().unwrap_or_default();
        // Registered before the integration runs: its receiver may answer at once.
        let waiter = self.callbacks.register(&token);
        let _hold = self.world.clock().hold();
        let submitted = match base {
            APIGATEWAY_INVOKE => super::apigw::invoke(ctx, &call.parameters).await?,
            other => return Err(not_emulated(&format!("{other}.waitForTaskToken"))),
        };
        let (ty, name) = call
            .resource
            .strip_prefix("arn:aws:states:::")
            .and_then(|r| r.split_once(':'))
            .unwrap_or(("", call.resource.as_str()));
        call.events.emit(
            "TaskSubmitted",
            Some("taskSubmittedEventDetails"),
            serde_json::json!({"resourceType": ty, "resource": name, "output": submitted.to_string(), "outputDetails": {"truncated": false}}),
        );
        waiter.wait(call.heartbeat).await
    }

    /// An activity task: queued for GetActivityTask, `ActivityStarted` when a worker takes it,
    /// then the worker's SendTask* (concepts-activities.html; events AWS-recorded in LocalStack
    /// activities/test_activities.snapshot.json). `HeartbeatSeconds` counts from the start.
    async fn run_activity(&self, call: &TaskInvocation) -> Result<Value, StatesError> {
        let token = call.task_token.clone().unwrap_or_default();
        let waiter = self.callbacks.register(&token);
        let _hold = self.world.clock().hold();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.activities.schedule(
            &call.resource,
            PendingTask {
                token,
                input: call.parameters.to_string(),
                started: tx,
            },
        );
        if !queued {
            return Err(no_activity(&call.state_name, &call.resource));
        }
        let worker = match rx.await {
            Ok(w) => w,
            // Deleted before a worker came: the state waits for its TimeoutSeconds.
            Err(_) => std::future::pending().await,
        };
        let mut details = serde_json::Map::new();
        if let Some(w) = worker {
            details.insert("workerName".into(), Value::String(w));
        }
        call.events.emit(
            "ActivityStarted",
            Some("activityStartedEventDetails"),
            Value::Object(details),
        );
        waiter.wait(call.heartbeat).await
    }

    /// Also records the raw HTTP exchange of HTTP Tasks (TestState `TRACE`).
    pub fn capturing(mut self) -> Self {
        self.capture = Some(std::sync::Mutex::new(None));
        self
    }

    /// The raw HTTP exchange of the last HTTP Task, when capturing.
    pub fn captured(&self) -> Option<super::http::HttpCapture> {
        self.capture
            .as_ref()
            .and_then(|c| c.lock().expect("capture lock").clone())
    }
}

impl TaskHandler for WorldTasks {
    fn map_runs(&self) -> Option<&dyn crate::asl::MapRunObserver> {
        self.map_runs
            .as_deref()
            .map(|m| m as &dyn crate::asl::MapRunObserver)
    }

    fn precheck(&self, state_name: &str, resource: &str) -> Result<(), StatesError> {
        if crate::asl::is_activity(resource) && !self.activities.exists(resource) {
            return Err(no_activity(state_name, resource));
        }
        Ok(())
    }

    fn invoke<'a>(
        &'a self,
        call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>> {
        Box::pin(async move {
            // Every hop this task makes, down to the listener behind the ALB, is marked with
            // its state (the viewer draws one path per task).
            let trace = self.trace.scoped(&call.state_name);
            let ctx = TaskContext {
                world: &*self.world,
                principal: self.session.principal(),
                session: Some(&self.session),
                state_machine_arn: &self.state_machine_arn,
                state_name: &call.state_name,
                entered_event_id: 2,
                trace: &trace,
                capture: self.capture.as_ref(),
            };
            if call.attempt > 0 {
                trace.info(
                    "sfn",
                    format!("state {}: retry #{}", call.state_name, call.attempt),
                );
            }
            let resource = call.resource.as_str();
            let result = match resource {
                HTTP_INVOKE => http::invoke(&ctx, &call.parameters).await,
                APIGATEWAY_INVOKE => super::apigw::invoke(&ctx, &call.parameters).await,
                r if crate::asl::is_activity(r) => self.run_activity(&call).await,
                r if r.starts_with(START_EXECUTION) => {
                    let mode = &r[START_EXECUTION.len()..];
                    if ["", ".sync", ".sync:2"].contains(&mode) {
                        self.start_execution(&ctx, &call, mode).await
                    } else {
                        Err(not_emulated(r))
                    }
                }
                r if r.ends_with(".waitForTaskToken") => self.wait_for_token(&ctx, &call).await,
                other => {
                    trace.hop(
                        "sfn",
                        Verdict::Fail,
                        format!("Task resource {other} is not emulated by vpcgate"),
                    );
                    Err(not_emulated(other))
                }
            };
            if let Err(e) = &result {
                trace.hop(
                    "sfn",
                    Verdict::Fail,
                    format!(
                        "state {} failed: {} ({})",
                        call.state_name,
                        e.error,
                        e.cause.as_deref().unwrap_or("")
                    ),
                );
            }
            result
        })
    }
}

/// How long after it closed an execution may be redriven: 14 days (API_RedriveExecution.html:
/// "executions ... that didn't complete successfully in the last 14 days").
pub const REDRIVE_WINDOW: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// Most redrives of one execution: 1,000 (the hard limit AWS documents for redriving a Map
/// Run, redrive-map-run.html, applied to executions as well; README, fidelity notes).
pub const MAX_REDRIVES: u32 = 1_000;

/// The longest an execution may stay open, redrives included: one year (API_RedriveExecution.html:
/// "has not exceeded the max open time of one year").
const MAX_OPEN: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// Why `r` cannot be redriven at `now`, as DescribeExecution's `redriveStatusReason` and
/// RedriveExecution's `ExecutionNotRedrivable` word it (API_DescribeExecution.html lists the
/// reasons: "Execution is SUCCEEDED and cannot be redriven", "Execution redrivable period
/// exceeded.", "Execution has exceeded the max execution time."); `None` = redrivable.
fn not_redrivable(r: &ExecutionRecord, now: SystemTime) -> Option<String> {
    let Some(o) = &r.outcome else {
        return Some("Execution is RUNNING and cannot be redriven".to_string());
    };
    if r.kind != StateMachineType::Standard || o.redrive_point.is_none() {
        return Some(format!(
            "Execution is {} and cannot be redriven",
            r.status()
        ));
    }
    if now.duration_since(o.stop_date).unwrap_or_default() > REDRIVE_WINDOW {
        return Some("Execution redrivable period exceeded.".to_string());
    }
    if now.duration_since(r.start_date).unwrap_or_default() > MAX_OPEN {
        return Some("Execution has exceeded the max execution time.".to_string());
    }
    if r.redrive_count >= MAX_REDRIVES {
        return Some(format!(
            "Execution has been redriven the maximum number of times ({MAX_REDRIVES})."
        ));
    }
    None
}

/// Stops a `.sync` child execution when the task waiting for it is dropped.
struct StopOnDrop {
    store: Arc<Executions>,
    arn: String,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.store.stop(&self.arn, None, None);
        }
    }
}

fn not_emulated(resource: &str) -> StatesError {
    StatesError::new(
        "States.TaskFailed",
        format!(
            "The resource '{resource}' is not emulated by vpcgate (emulated: {HTTP_INVOKE}, {APIGATEWAY_INVOKE}, {APIGATEWAY_INVOKE}.waitForTaskToken, activities)"
        ),
    )
}

/// AWS's `States.Runtime` for a Task whose activity does not exist (AWS-recorded: LocalStack
/// activities/test_activities.snapshot.json, test_activity_task_on_deleted).
fn no_activity(state: &str, arn: &str) -> StatesError {
    StatesError::new(
        "States.Runtime",
        format!(
            "An error occurred while executing the state '{state}'. The activity {arn} does not exist."
        ),
    )
}

/// One finished or running execution.
#[derive(Clone, Debug)]
pub struct ExecutionRecord {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>` (Express:
    /// `express:` instead of `execution:`).
    pub arn: String,
    /// The name.
    pub name: String,
    /// The state machine.
    pub state_machine_arn: String,
    /// Its type.
    pub kind: StateMachineType,
    /// The input.
    pub input: Value,
    /// When it started.
    pub start_date: SystemTime,
    /// The outcome, once finished.
    pub outcome: Option<ExecutionOutcome>,
    /// The history while it runs (`None` once finished: the outcome holds it then).
    pub live: Option<LiveHistory>,
    /// The hop-by-hop trace.
    pub trace: Trace,
    /// RedriveExecution calls so far (`redriveCount`).
    pub redrive_count: u32,
    /// The last RedriveExecution (`redriveDate`).
    pub redrive_date: Option<SystemTime>,
    /// The Map Run that started this child execution (DescribeExecution's `mapRunArn`).
    pub map_run_arn: Option<String>,
}

impl ExecutionRecord {
    /// The record of a Distributed Map's STANDARD child execution as it starts.
    pub fn of_child(child: &crate::asl::ChildExecution) -> Self {
        ExecutionRecord {
            arn: child.arn.clone(),
            name: child.name.clone(),
            state_machine_arn: child.state_machine_arn.clone(),
            kind: StateMachineType::Standard,
            input: child.input.clone(),
            start_date: child.start_date,
            outcome: None,
            live: Some(child.history.clone()),
            trace: Trace::disabled(),
            redrive_count: 0,
            redrive_date: None,
            map_run_arn: Some(child.map_run_arn.clone()),
        }
    }

    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub fn status(&self) -> &'static str {
        match self.outcome.as_ref().map(|o| o.status) {
            None => "RUNNING",
            Some(s) => status_name(s),
        }
    }
}

/// The API name of a status.
pub fn status_name(s: ExecutionStatus) -> &'static str {
    match s {
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Aborted => "ABORTED",
    }
}

/// Why an execution could not start.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StartError {
    /// `StateMachineDoesNotExist`.
    #[error("State Machine Does Not Exist: '{arn}'")]
    NoStateMachine {
        /// What was asked for.
        arn: String,
    },
    /// `InvalidDefinition` (only for state machines created at run time).
    #[error("{message}")]
    InvalidDefinition {
        /// AWS's message.
        message: String,
    },
    /// `ExecutionAlreadyExists`.
    #[error("Execution Already Exists: '{arn}'")]
    AlreadyExists {
        /// The execution ARN.
        arn: String,
    },
}

/// Why RedriveExecution refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RedriveError {
    /// `ExecutionDoesNotExist`.
    #[error("Execution Does Not Exist")]
    NoExecution,
    /// `ExecutionNotRedrivable`, with AWS's reason ("Execution is SUCCEEDED and cannot be
    /// redriven", AWS-recorded in LocalStack's stepfunctions snapshots).
    #[error("{0}")]
    NotRedrivable(String),
}

/// The Region and account of an ARN (`arn:aws:<service>:<region>:<account>:…`).
fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let region = parts.nth(3).filter(|r| !r.is_empty())?;
    let account = parts.next().filter(|a| !a.is_empty())?;
    Some((region, account))
}

/// Watches executions start and end (`serve`'s trace viewer keeps its list of recent
/// executions this way, Express ones included, which AWS keeps no describable record of).
pub trait Watch: Send + Sync {
    /// `record` is about to run (its trace and live history are the ones it runs with); what
    /// it hands back is handed to [`Watch::ended`] (the watcher's own entry for it).
    fn started(&self, record: &ExecutionRecord) -> Watched;
    /// The execution `arn` ended with `outcome`.
    fn ended(&self, watched: Watched, arn: &str, outcome: &ExecutionOutcome);
}

/// What a [`Watch`] keeps of an execution between its start and its end.
pub type Watched = Option<Arc<dyn std::any::Any + Send + Sync>>;

/// Most execution records kept in memory. AWS keeps closed Standard executions for 90 days
/// (service-quotas.html, "Execution history retention time"); vpcgate keeps this many and
/// forgets the oldest finished ones first, so a client looping StartExecution cannot grow
/// the process without bound. Running executions are never forgotten.
pub const MAX_RECORDS: usize = 1_000;

/// Finished executions whose hop-by-hop trace is kept (the newest); older records keep their
/// history and outcome but drop the trace, the bulk of a record.
pub const MAX_TRACED: usize = 256;

/// What a start of an execution asks for: StartExecution's `input` and `name`, and who
/// watches it (the execution feed of `serve`), if anyone.
pub struct Start {
    /// The execution's input.
    pub input: Value,
    /// Its name (`None`: a generated UUID).
    pub name: Option<String>,
    /// Told when it starts and ends.
    pub watch: Option<Arc<dyn Watch>>,
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Start")
            .field("input", &self.input)
            .field("name", &self.name)
            .field("watched", &self.watch.is_some())
            .finish()
    }
}

impl Start {
    /// A start nobody watches.
    pub fn new(input: Value, name: Option<String>) -> Self {
        Start {
            input,
            name,
            watch: None,
        }
    }

    /// The same start, told to `watch`.
    pub fn watched(self, watch: Arc<dyn Watch>) -> Self {
        Start {
            watch: Some(watch),
            ..self
        }
    }
}

/// The name of the `n`th execution started without one: a version-4-shaped UUID whose fields
/// all come from the counter (`0000002a-002a-402a-a02a-00000000002a`), so names are stable
/// from run to run. Written by the `uuid` crate's formatter (a padded `format!` of five fields
/// cost more than the rest of a start's bookkeeping).
fn counter_name(n: u64) -> String {
    match u32::try_from(n) {
        Ok(low) => {
            let sub = (n % 0xfff) as u16;
            let node = n.to_be_bytes();
            uuid::Uuid::from_fields(
                low,
                (n % 0xffff) as u16,
                0x4000 | sub,
                &[
                    0xa0 | (sub >> 8) as u8,
                    sub as u8,
                    node[2],
                    node[3],
                    node[4],
                    node[5],
                    node[6],
                    node[7],
                ],
            )
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .to_owned()
        }
        // Past 2^32 starts the first field takes more than eight digits.
        Err(_) => format!(
            "{n:08x}-{:04x}-4{:03x}-a{:03x}-{n:012x}",
            n % 0xffff,
            n % 0xfff,
            n % 0xfff
        ),
    }
}

/// The executions of a world, and the parsed definitions of its state machines.
#[derive(Debug, Default)]
pub struct Executions {
    definitions: Mutex<BTreeMap<String, Arc<Definition>>>,
    records: Mutex<BTreeMap<String, ExecutionRecord>>,
    /// Finished Standard executions, oldest first: the order they are forgotten and their
    /// traces dropped in.
    finished: Mutex<std::collections::VecDeque<String>>,
    stops: Mutex<BTreeMap<String, StopHandle>>,
    counter: Mutex<u64>,
    /// Task tokens of waiting tasks (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).
    pub callbacks: Arc<Callbacks>,
    /// Activities (CreateActivity, GetActivityTask, …).
    pub activities: Arc<Activities>,
    /// The state machines `states:startExecution` tasks may start (the scope's, as of the
    /// parent's start).
    machines: Mutex<BTreeMap<String, Arc<StateMachine>>>,
    /// The version of the caller's list of machines last learned
    /// ([`Executions::know_machines_of`]; 0: none yet).
    known_version: std::sync::atomic::AtomicU64,
    /// Woken whenever an execution ends (`.sync` waits on it).
    ended: tokio::sync::Notify,
    /// Map Runs of Distributed Map states and their child executions.
    pub map_runs: Arc<super::map_run::MapRuns>,
}

impl Executions {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn definition(&self, sm: &StateMachine) -> Result<Arc<Definition>, StartError> {
        let mut defs = self.definitions.lock().expect("lock");
        if let Some(d) = defs.get(&sm.arn) {
            return Ok(d.clone());
        }
        let parsed = Arc::new(Definition::parse(&sm.definition).map_err(|e| {
            StartError::InvalidDefinition {
                message: e.to_string(),
            }
        })?);
        defs.insert(sm.arn.clone(), parsed.clone());
        Ok(parsed)
    }

    /// Notes the state machines a `states:startExecution` task may start.
    ///
    /// Runs at every start: a machine already known as it is is not copied again (copying every
    /// machine's definition text was about 1 % of a StartSyncExecution).
    pub fn know_machines<'a>(&self, machines: impl IntoIterator<Item = &'a StateMachine>) {
        let mut m = self.machines.lock().expect("lock");
        for sm in machines {
            // The machine StartSyncExecution took from this store is itself: no comparison.
            let known = m
                .get(&sm.arn)
                .is_some_and(|k| std::ptr::eq(&**k, sm) || **k == *sm);
            if !known {
                m.insert(sm.arn.clone(), Arc::new(sm.clone()));
            }
        }
    }

    /// [`Self::know_machines`] of the caller's list at `version` (a number the list's owner
    /// changes with every change to it, never 0), skipped when that version is the one last
    /// learned: a start does not compare every machine of its scope with the known ones.
    pub fn know_machines_of<'a>(
        &self,
        version: u64,
        machines: impl IntoIterator<Item = &'a StateMachine>,
    ) {
        use std::sync::atomic::Ordering;
        if self.known_version.load(Ordering::Acquire) == version {
            return;
        }
        self.know_machines(machines);
        self.known_version.store(version, Ordering::Release);
    }

    /// A known state machine (shared, not copied: StartSyncExecution takes it at every start).
    pub fn machine(&self, arn: &str) -> Option<Arc<StateMachine>> {
        self.machines.lock().expect("lock").get(arn).cloned()
    }

    /// Waits until the execution `arn` has ended; its record.
    pub async fn wait_ended(&self, arn: &str) -> Option<ExecutionRecord> {
        loop {
            let notified = self.ended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let r = self.get(arn)?;
            if r.outcome.is_some() {
                return Some(r);
            }
            notified.await;
        }
    }

    /// Forgets the cached definition of a state machine (after an update).
    pub fn invalidate(&self, arn: &str) {
        self.definitions.lock().expect("lock").remove(arn);
    }

    fn next_name(&self) -> String {
        let c = {
            let mut c = self.counter.lock().expect("lock");
            *c += 1;
            *c
        };
        counter_name(c)
    }

    /// The tasks of an execution named `name` of `sm`: run as a session of its role, waiting
    /// for task tokens and activities in this store, reporting Map Runs to it.
    fn tasks(&self, world: &dyn Host, sm: &StateMachine, name: &str, trace: Trace) -> WorldTasks {
        // This store's task tokens and activities from the start (`WorldTasks::new` would make
        // empty ones first).
        let principal = execution_principal(&sm.role_arn, name);
        WorldTasks {
            world: world.shared(),
            session: super::session::ExecutionSession::new(principal),
            state_machine_arn: sm.arn.clone(),
            trace,
            capture: None,
            callbacks: self.callbacks.clone(),
            activities: self.activities.clone(),
            executions: std::sync::Weak::new(),
            map_runs: Some(self.map_runs.clone()),
        }
    }

    fn prepare(
        &self,
        world: &dyn Host,
        sm: &StateMachine,
        input: &Value,
        name: Option<String>,
    ) -> Result<(Arc<Definition>, ExecutionConfig, ExecutionRecord), StartError> {
        let definition = self.definition(sm)?;
        let name = name.unwrap_or_else(|| self.next_name());
        let kind_word = match sm.kind {
            StateMachineType::Standard => "execution",
            StateMachineType::Express => "express",
        };
        // The execution lives where its state machine does (a machine `serve` made in another
        // account or Region than the world's).
        let (region, account) =
            arn_region_account(&sm.arn).unwrap_or((world.region(), world.account()));
        let region = region.to_string();
        let arn = format!(
            "arn:aws:states:{region}:{account}:{kind_word}:{}:{name}",
            sm.name
        );
        if self.records.lock().expect("lock").contains_key(&arn) {
            return Err(StartError::AlreadyExists { arn });
        }
        let start = world.clock().now();
        let config = ExecutionConfig {
            start_time: Some(start),
            region: Some(region),
            ..ExecutionConfig::of(
                ExecutionIdentity {
                    execution_type: match sm.kind {
                        StateMachineType::Standard => ExecutionType::Standard,
                        StateMachineType::Express => ExecutionType::Express,
                    },
                    execution_arn: arn.clone(),
                    execution_name: name.clone(),
                    state_machine_arn: sm.arn.clone(),
                    state_machine_name: sm.name.clone(),
                    role_arn: sm.role_arn.clone(),
                },
                world.clock().clone(),
            )
        };
        let record = ExecutionRecord {
            arn,
            name,
            state_machine_arn: sm.arn.clone(),
            kind: sm.kind,
            input: input.clone(),
            start_date: start,
            outcome: None,
            live: Some(config.history.clone()),
            trace: Trace::new(),
            redrive_count: 0,
            redrive_date: None,
            map_run_arn: None,
        };
        // The opening hop of every execution (run_sync's and start's alike).
        record.trace.info_fmt(
            "sfn",
            format_args!(
                "execution {} of {} ({}) starts",
                record.name,
                sm.name,
                sm.kind.as_str()
            ),
        );
        Ok((definition, config, record))
    }

    /// Runs an execution to its end (a store without an `Arc`: its `states:startExecution`
    /// tasks cannot start children; [`Self::run_sync_watched`] can).
    pub async fn run_sync(
        &self,
        world: &dyn Host,
        sm: &StateMachine,
        input: Value,
        name: Option<String>,
    ) -> Result<ExecutionRecord, StartError> {
        self.run_sync_inner(world, sm, input, name, None, None)
            .await
    }

    /// [`Self::run_sync`], telling [`Start::watch`] when it starts and ends; its
    /// `states:startExecution` tasks start executions in this store (StartSyncExecution,
    /// `vpcgate check`), of the world's state machines and those already known.
    pub async fn run_sync_watched(
        self: &Arc<Self>,
        world: &dyn Host,
        sm: &StateMachine,
        start: Start,
    ) -> Result<ExecutionRecord, StartError> {
        self.know_machines(world.state_machines().iter().chain([sm]));
        let Start { input, name, watch } = start;
        self.run_sync_inner(world, sm, input, name, watch, Some(self))
            .await
    }

    async fn run_sync_inner(
        &self,
        world: &dyn Host,
        sm: &StateMachine,
        input: Value,
        name: Option<String>,
        watch: Option<Arc<dyn Watch>>,
        shared: Option<&Arc<Self>>,
    ) -> Result<ExecutionRecord, StartError> {
        let (definition, config, mut record) = self.prepare(world, sm, &input, name)?;
        let watched = watch.as_ref().and_then(|w| w.started(&record));
        let tasks = self.tasks(world, sm, &record.name, record.trace.clone());
        let tasks = match shared {
            Some(store) => tasks.with_executions(store),
            None => tasks,
        };

        let outcome = run(&definition, input, config, &tasks, StopSignal::never()).await;
        record.trace.info_fmt(
            "sfn",
            format_args!(
                "execution {} ends {}",
                record.name,
                status_name(outcome.status)
            ),
        );
        if let Some(w) = &watch {
            w.ended(watched, &record.arn, &outcome);
        }
        record.outcome = Some(outcome);
        record.live = None;
        // Express executions are not kept: DescribeExecution and GetExecutionHistory do not
        // serve them (Express history goes to CloudWatch Logs only).
        if sm.kind == StateMachineType::Standard {
            let arn = record.arn.clone();
            self.keep(record.clone());
            let mut records = self.records.lock().expect("lock");
            self.finish(&mut records, arn);
        }
        Ok(record)
    }

    /// Starts an execution in the background (StartExecution) and returns its ARN and start date.
    pub fn start(
        self: &Arc<Self>,
        world: &dyn Host,
        sm: &StateMachine,
        input: Value,
        name: Option<String>,
    ) -> Result<(String, SystemTime), StartError> {
        self.start_watched(world, sm, Start::new(input, name))
    }

    /// [`Self::start`], telling [`Start::watch`] when it starts and ends.
    pub fn start_watched(
        self: &Arc<Self>,
        world: &dyn Host,
        sm: &StateMachine,
        start: Start,
    ) -> Result<(String, SystemTime), StartError> {
        self.know_machines(world.state_machines().iter().chain([sm]));
        let Start { input, name, watch } = start;
        let (definition, config, record) = self.prepare(world, sm, &input, name)?;
        let exec_name = record.name.clone();
        let watched = watch.as_ref().and_then(|w| w.started(&record));
        let arn = record.arn.clone();
        let start = record.start_date;
        let (handle, signal) = stop_channel();
        self.stops.lock().expect("lock").insert(arn.clone(), handle);
        let tasks = self
            .tasks(world, sm, &record.name, record.trace.clone())
            .with_executions(self);
        let express = sm.kind == StateMachineType::Express;
        self.keep(record);
        let store = self.clone();
        let key = arn.clone();
        // A running execution is work in flight: on serve's virtual clock, its waits and
        // time-outs are skipped when nothing real is in flight (crate::clock).
        let work = world.clock().work();
        tokio::spawn(async move {
            let outcome = run(&definition, input, config, &tasks, signal).await;
            tasks.trace.info(
                "sfn",
                format!("execution {exec_name} ends {}", status_name(outcome.status)),
            );
            if let Some(w) = &watch {
                w.ended(watched, &key, &outcome);
            }
            drop(work);
            let mut records = store.records.lock().expect("lock");
            if express {
                // AWS keeps no describable record of an Express execution once it ends.
                records.remove(&key);
            } else if let Some(r) = records.get_mut(&key) {
                r.outcome = Some(outcome);
                r.live = None;
                store.finish(&mut records, key.clone());
            }
            drop(records);
            store.stops.lock().expect("lock").remove(&key);
            store.ended.notify_waiters();
        });
        Ok((arn, start))
    }

    /// RedriveExecution: starts a FAILED, TIMED_OUT or ABORTED Standard execution again from
    /// the state that did not succeed, in the same history, with `redriveCount` one higher
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html). Returns
    /// the redrive date.
    pub fn redrive(
        self: &Arc<Self>,
        world: &dyn Host,
        sm: &StateMachine,
        arn: &str,
    ) -> Result<SystemTime, RedriveError> {
        let now = world.clock().now();
        let definition = self.definition(sm).map_err(|_| {
            RedriveError::NotRedrivable(
                self.redrive_status(arn, now)
                    .1
                    .unwrap_or_else(|| "Execution cannot be redriven".to_string()),
            )
        })?;
        let (point, mut config, count) = {
            let mut records = self.records.lock().expect("lock");
            let r = records.get_mut(arn).ok_or(RedriveError::NoExecution)?;
            if let Some(reason) = not_redrivable(r, now) {
                return Err(RedriveError::NotRedrivable(reason));
            }
            let Some(point) = r.outcome.as_ref().and_then(|o| o.redrive_point.clone()) else {
                return Err(RedriveError::NotRedrivable(format!(
                    "Execution is {} and cannot be redriven",
                    r.status()
                )));
            };
            r.redrive_count += 1;
            r.redrive_date = Some(world.clock().now());
            r.outcome = None;
            let config = ExecutionConfig {
                execution_type: ExecutionType::Standard,
                execution_arn: r.arn.clone(),
                execution_name: r.name.clone(),
                state_machine_arn: sm.arn.clone(),
                state_machine_name: sm.name.clone(),
                role_arn: sm.role_arn.clone(),
                clock: world.clock().clone(),
                start_time: Some(r.start_date),
                region: arn_region_account(arn).map(|(reg, _)| reg.to_string()),
                redrive_count: r.redrive_count,
                ..ExecutionConfig::default()
            };
            r.live = Some(config.history.clone());
            (point, config, r.redrive_count)
        };
        let _ = count;
        let input = point.input.clone();
        config.redrive_from = Some(point);
        let date = world.clock().now();
        let (handle, signal) = stop_channel();
        self.stops
            .lock()
            .expect("lock")
            .insert(arn.to_string(), handle);
        let name = arn.rsplit(':').next().unwrap_or("").to_string();
        let trace = self.get(arn).map(|r| r.trace).unwrap_or_default();
        let tasks = self.tasks(world, sm, &name, trace).with_executions(self);
        let store = self.clone();
        let key = arn.to_string();
        let work = world.clock().work();
        tokio::spawn(async move {
            let outcome = run(&definition, input, config, &tasks, signal).await;
            drop(work);
            let mut records = store.records.lock().expect("lock");
            if let Some(r) = records.get_mut(&key) {
                r.outcome = Some(outcome);
                r.live = None;
            }
            drop(records);
            store.stops.lock().expect("lock").remove(&key);
            store.ended.notify_waiters();
        });
        Ok(date)
    }

    /// DescribeExecution's `redriveStatus` and `redriveStatusReason` at `now`.
    pub fn redrive_status(&self, arn: &str, now: SystemTime) -> (&'static str, Option<String>) {
        let records = self.records.lock().expect("lock");
        match records.get(arn) {
            Some(r) => match not_redrivable(r, now) {
                None => ("REDRIVABLE", None),
                Some(reason) => ("NOT_REDRIVABLE", Some(reason)),
            },
            None => ("NOT_REDRIVABLE", None),
        }
    }

    /// Stores a record; past [`MAX_RECORDS`] the oldest finished executions are forgotten.
    fn keep(&self, record: ExecutionRecord) {
        let mut records = self.records.lock().expect("lock");
        records.insert(record.arn.clone(), record);
        let mut finished = self.finished.lock().expect("lock");
        while records.len() > MAX_RECORDS {
            let Some(oldest) = finished.pop_front() else {
                break;
            };
            records.remove(&oldest);
        }
    }

    /// Notes that `arn` finished: it joins the forgetting order, and the trace of the finished
    /// execution [`MAX_TRACED`] places back is dropped.
    fn finish(&self, records: &mut BTreeMap<String, ExecutionRecord>, arn: String) {
        let mut finished = self.finished.lock().expect("lock");
        finished.push_back(arn);
        if finished.len() > MAX_TRACED
            && let Some(old) = finished.get(finished.len() - 1 - MAX_TRACED)
            && let Some(r) = records.get_mut(old)
        {
            r.trace = Trace::disabled();
        }
    }

    /// The history of an execution: as it stands while it runs, complete once it ended.
    pub fn history(&self, arn: &str) -> Option<Vec<HistoryEvent>> {
        let records = self.records.lock().expect("lock");
        let child;
        let r = match records.get(arn) {
            Some(r) => r,
            None => {
                child = self.map_runs.child(arn)?;
                &child
            }
        };
        Some(match (&r.outcome, &r.live) {
            (Some(o), _) => o.history.to_vec(),
            (None, Some(live)) => live.events(),
            (None, None) => Vec::new(),
        })
    }

    /// Stops a running execution; returns false when it is not running.
    pub fn stop(&self, arn: &str, error: Option<String>, cause: Option<String>) -> bool {
        let handle = self.stops.lock().expect("lock").remove(arn);
        match handle {
            Some(handle) => {
                handle.stop(error, cause);
                true
            }
            None => self.map_runs.stop_child(arn, error, cause),
        }
    }

    /// Stops every running execution (`POST /_vpcgate/reset`); returns how many there were.
    pub fn stop_all(&self) -> usize {
        let handles: Vec<StopHandle> = std::mem::take(&mut *self.stops.lock().expect("lock"))
            .into_values()
            .collect();
        let n = handles.len();
        for h in handles {
            h.stop(None, None);
        }
        n
    }

    /// An execution by ARN (a Distributed Map's child executions included).
    pub fn get(&self, arn: &str) -> Option<ExecutionRecord> {
        let r = self.records.lock().expect("lock").get(arn).cloned();
        r.or_else(|| self.map_runs.child(arn))
    }

    /// All executions of a state machine, newest first.
    pub fn list(&self, state_machine_arn: &str) -> Vec<ExecutionRecord> {
        let mut v: Vec<ExecutionRecord> = self
            .records
            .lock()
            .expect("lock")
            .values()
            .filter(|r| r.state_machine_arn == state_machine_arn)
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.start_date));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scope's machines are learned again only when their version moves: the same version
    /// is not compared machine by machine at every start, a new one is.
    #[test]
    fn machines_are_learned_again_only_at_a_new_version() {
        let machine = |definition: &str| StateMachine {
            logical_id: "M".into(),
            name: "m".into(),
            arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            definition: definition.into(),
            kind: StateMachineType::Standard,
        };
        let store = Executions::default();
        let (first, changed) = (machine("{\"v\":1}"), machine("{\"v\":2}"));
        store.know_machines_of(1, [&first]);
        assert_eq!(
            store.machine(&first.arn).unwrap().definition,
            first.definition
        );
        store.know_machines_of(1, [&changed]);
        assert_eq!(
            store.machine(&first.arn).unwrap().definition,
            first.definition
        );
        store.know_machines_of(2, [&changed]);
        assert_eq!(
            store.machine(&first.arn).unwrap().definition,
            changed.definition
        );
    }

    /// The names of executions started without one keep their shape: the counter in every
    /// field (as `format!` wrote them before the `uuid` crate did).
    #[test]
    fn counter_names_are_the_counter_in_a_uuid_shape() {
        for n in [
            1u64,
            0x2a,
            0xfff,
            0x1000,
            0xffff,
            0x10000,
            123_456_789,
            u64::from(u32::MAX),
        ] {
            assert_eq!(
                counter_name(n),
                format!(
                    "{n:08x}-{:04x}-4{:03x}-a{:03x}-{n:012x}",
                    n % 0xffff,
                    n % 0xfff,
                    n % 0xfff
                ),
                "{n}"
            );
        }
        assert_eq!(counter_name(0x2a), "0000002a-002a-402a-a02a-00000000002a");
        assert_eq!(
            counter_name(1 << 32),
            "100000000-0001-4100-a100-000100000000"
        );
    }

    fn failed_record(redrive_count: u32) -> ExecutionRecord {
        let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        ExecutionRecord {
            arn: "arn:aws:states:us-east-1:123456789012:execution:m:x".into(),
            name: "x".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            kind: StateMachineType::Standard,
            input: serde_json::json!({}),
            start_date: t0,
            outcome: Some(ExecutionOutcome {
                redrive_point: Some(crate::asl::RedrivePoint {
                    state: "F".into(),
                    input: serde_json::json!({}),
                    variables: Default::default(),
                    execution_input: serde_json::json!({}),
                    history: Vec::new(),
                    done: Default::default(),
                }),
                status: ExecutionStatus::Failed,
                output: None,
                error: None,
                cause: None,
                history: Vec::new().into(),
                start_date: t0,
                stop_date: t0,
            }),
            live: None,
            trace: Trace::disabled(),
            redrive_count,
            redrive_date: None,
            map_run_arn: None,
        }
    }

    /// An execution is redriven at most MAX_REDRIVES (1,000) times; then it is not redrivable,
    /// with vpcgate's reason (README, fidelity notes).
    #[test]
    fn redrives_are_limited_to_one_thousand() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_100);
        assert_eq!(not_redrivable(&failed_record(999), now), None);
        assert_eq!(
            not_redrivable(&failed_record(MAX_REDRIVES), now).as_deref(),
            Some("Execution has been redriven the maximum number of times (1000).")
        );
    }

    #[test]
    fn the_execution_runs_as_a_session_of_its_role() {
        let p = execution_principal(
            "arn:aws:iam::123456789012:role/service/PatternARole",
            "exec-1",
        );
        assert_eq!(
            p.arn(),
            "arn:aws:sts::123456789012:assumed-role/PatternARole/exec-1"
        );
        assert_eq!(
            p.principal_arn().as_deref(),
            Some("arn:aws:iam::123456789012:role/service/PatternARole")
        );
    }
}
