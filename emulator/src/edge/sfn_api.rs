//! The Step Functions API (`awsJson1_0`, target prefix `AWSStepFunctions`).
//!
//! Operations, fields and errors as the Step Functions API reference gives them
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html>):
//! CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine,
//! ListStateMachines, StartExecution, StartSyncExecution, DescribeExecution, StopExecution,
//! ListExecutions, GetExecutionHistory, TestState, ValidateStateMachineDefinition;
//! RedriveExecution; activities (CreateActivity, DescribeActivity, ListActivities, DeleteActivity,
//! GetActivityTask) and task tokens (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};

use super::sfn_error::{Rule, Shown, StepFunctionsError as E};
use super::wire::{Answer, JsonError, WriteJson, epoch, write_epoch, write_str};
use super::{Call, StateMachineEntry};
use crate::asl::{self, ExecutionConfig, InspectionLevel, TestStateOptions};
use crate::model::{StateMachine, StateMachineType};
use crate::sfn::execution::{ExecutionRecord, Start, WorldTasks, execution_principal, status_name};
use crate::trace::Trace;

/// Dispatches one operation; a refusal is answered as [`super::sfn_error::wire`] maps it.
pub fn call<'a>(
    c: &'a Call<'a>,
    op: &'a str,
    input: Value,
) -> Pin<Box<dyn Future<Output = Result<Value, JsonError>> + Send + 'a>> {
    Box::pin(async move { answer(c, op, input).await.map(Answer::into_value) })
}

/// [`call`] for the wire: StartSyncExecution's answer, sent with every execution, is written
/// straight to bytes when the response is made ([`SyncAnswer`]); the others are values.
pub fn answer<'a>(
    c: &'a Call<'a>,
    op: &'a str,
    input: Value,
) -> Pin<Box<dyn Future<Output = Result<Answer, JsonError>> + Send + 'a>> {
    Box::pin(async move {
        let out = if op == "StartSyncExecution" {
            start_sync_execution(c, &input).await
        } else {
            dispatch(c, op, input).await.map(Answer::Value)
        };
        out.map_err(|e| super::sfn_error::wire(&e))
    })
}

async fn dispatch(c: &Call<'_>, op: &str, input: Value) -> Result<Value, E> {
    match op {
        "CreateStateMachine" => create_state_machine(c, &input),
        "DescribeStateMachine" => describe_state_machine(c, &input),
        "UpdateStateMachine" => update_state_machine(c, &input),
        "DeleteStateMachine" => delete_state_machine(c, &input),
        "ListStateMachines" => list_state_machines(c),
        "StartExecution" => start_execution(c, &input),
        "StartSyncExecution" => start_sync_execution(c, &input)
            .await
            .map(Answer::into_value),
        "DescribeExecution" => describe_execution(c, &input),
        "StopExecution" => stop_execution(c, &input),
        "ListExecutions" => list_executions(c, &input),
        "GetExecutionHistory" => get_execution_history(c, &input),
        "TestState" => test_state(c, &input).await,
        "ValidateStateMachineDefinition" => validate_state_machine_definition(c, &input),
        "RedriveExecution" => redrive_execution(c, &input),
        "CreateActivity" => create_activity(c, &input),
        "DescribeActivity" => describe_activity(c, &input),
        "ListActivities" => list_activities(c),
        "DeleteActivity" => delete_activity(c, &input),
        "GetActivityTask" => get_activity_task(c, &input).await,
        "SendTaskSuccess" => send_task(c, &input, "states:SendTaskSuccess"),
        "SendTaskFailure" => send_task(c, &input, "states:SendTaskFailure"),
        "SendTaskHeartbeat" => send_task(c, &input, "states:SendTaskHeartbeat"),
        op if super::sfn_map_run_api::OPERATIONS.contains(&op) => {
            super::sfn_map_run_api::call(c, op, &input)
        }
        other => Err(E::UnknownOperation {
            op: other.to_string(),
        }),
    }
}

pub(super) fn field<'a>(input: &'a Value, name: &str) -> Result<&'a str, E> {
    match input.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(E::invalid(name, Shown::Omitted, Rule::String)),
        None => Err(E::invalid(name, Shown::Null, Rule::NotNull)),
    }
}

fn opt_field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

/// `Invalid Arn: 'Invalid ARN prefix: abc'` for a string that is no ARN at all (AWS's answer to
/// `describe_state_machine(stateMachineArn="abc")`, recorded in botodto's README and several SDK
/// test fakes).
fn check_arn_prefix(arn: &str) -> Result<(), E> {
    if arn.starts_with("arn:") {
        Ok(())
    } else {
        Err(E::ArnPrefix {
            arn: arn.to_string(),
        })
    }
}

/// `Invalid Arn: 'Resource type not valid in this context: …'` unless the ARN is `ok`.
fn of_type(ok: bool, arn: &str) -> Result<(), E> {
    if ok {
        Ok(())
    } else {
        Err(E::ArnResourceType {
            arn: arn.to_string(),
        })
    }
}

/// A role ARN (`arn:aws:iam::<account>:role/<name>`), as CreateStateMachine and TestState take.
fn check_role_arn(arn: &str) -> Result<(), E> {
    check_arn_prefix(arn)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    of_type(ok, arn)
}

pub use crate::sfn::role::{CANNOT_ASSUME_ROLE, STATES_PRINCIPAL};

/// What CreateStateMachine and UpdateStateMachine check of the role they are given: the caller
/// may pass it (`iam:PassRole` with `iam:PassedToService`, not asked of the account root:
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>), and Step
/// Functions may assume it for this machine (the role exists and its trust policy allows
/// `sts:AssumeRole` to `states.amazonaws.com` with this `aws:SourceArn`/`aws:SourceAccount`).
/// Roles of accounts vpcgate holds no IAM for are not checked (README, fidelity notes).
fn check_role_passable(c: &Call<'_>, role_arn: &str, machine_arn: &str) -> Result<(), E> {
    let ctx = c
        .context
        .clone()
        .with(crate::iam::keys::IAM_PASSED_TO_SERVICE, STATES_PRINCIPAL);
    c.authorize_with("iam:PassRole", role_arn, &ctx)?;
    if !c.world.iam.governs(role_arn) {
        return Ok(());
    }
    c.world
        .iam
        .service_assumes(
            role_arn,
            &crate::iam::ServiceAssumption {
                service: STATES_PRINCIPAL,
                source_arn: machine_arn,
                source_account: &c.scope.account,
                region: &c.scope.region,
                now: Some(c.world.clock.now_utc()),
            },
            &Trace::disabled(),
        )
        .map(|_| ())
        .map_err(|_| E::CannotAssumeRole)
}

/// A name as CreateStateMachine and StartExecution check it: past 80 characters the model's
/// length constraint (a `ValidationException`, the text moto and recorded SDK tests show);
/// forbidden characters `InvalidName`.
fn check_name(name: &str) -> Result<(), E> {
    if name.chars().count() > 80 {
        return Err(E::invalid(
            "name",
            Shown::Value(crate::sigv4::echo(name).into_owned()),
            Rule::MaxLength(80),
        ));
    }
    if !valid_name(name) {
        return Err(E::InvalidName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// `Invalid Arn: '…'` for ARNs of the wrong shape.
pub(super) fn check_arn(arn: &str, kind: &str) -> Result<(), E> {
    check_arn_prefix(arn)?;
    let ok = arn.starts_with("arn:aws:states:")
        && arn
            .split(':')
            .nth(5)
            .is_some_and(|k| k == kind || (kind == "execution" && k == "express"));
    of_type(ok, arn)
}

fn no_state_machine(arn: &str) -> E {
    E::StateMachineDoesNotExist {
        arn: arn.to_string(),
    }
}

pub(super) fn no_execution(arn: &str) -> E {
    E::ExecutionDoesNotExist {
        arn: arn.to_string(),
    }
}

fn state_machine(c: &Call<'_>, arn: &str) -> Result<StateMachineEntry, E> {
    with_state_machine(c, arn, StateMachineEntry::clone)
}

/// The type of the state machine `arn`, as [`state_machine`] finds it, without copying it.
fn state_machine_kind(c: &Call<'_>, arn: &str) -> Result<StateMachineType, E> {
    with_state_machine(c, arn, |e| e.machine.kind)
}

/// `read` of the state machine `arn` (`StateMachineDoesNotExist` when there is none).
fn with_state_machine<T>(
    c: &Call<'_>,
    arn: &str,
    read: impl FnOnce(&StateMachineEntry) -> T,
) -> Result<T, E> {
    check_arn(arn, "stateMachine")?;
    c.state
        .state_machines
        .read()
        .expect("lock")
        .get(arn)
        .map(read)
        .ok_or_else(|| no_state_machine(arn))
}

/// Checks a definition as CreateStateMachine does.
/// CreateStateMachine's and UpdateStateMachine's check: the diagnostics
/// ValidateStateMachineDefinition lists, as one `InvalidDefinition`
/// ("Invalid State Machine Definition: 'CODE: message at /path'", AWS-recorded in LocalStack's
/// test_sfn_api_express.snapshot.json).
fn validate_definition(definition: &str, kind: StateMachineType) -> Result<(), E> {
    asl::StateMachine::parse(definition)?;
    let diagnostics = asl::validate(definition, kind == StateMachineType::Express);
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(asl::DefinitionError::Invalid { diagnostics }.into())
    }
}

/// ValidateStateMachineDefinition (API_ValidateStateMachineDefinition.html): `result` OK or
/// FAIL, `diagnostics` with severity, code, message and location (location left out when
/// there is none), `truncated` past `maxResults`. vpcgate's diagnostics are all ERRORs, so
/// `severity: WARNING` returns the same list. Shapes AWS-recorded in LocalStack's
/// test_sfn_api_validation.snapshot.json.
fn validate_state_machine_definition(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let definition = field(input, "definition")?;
    c.authorize("states:ValidateStateMachineDefinition", "*")?;
    let express = machine_type(input)? == StateMachineType::Express;
    if let Some(sev) = opt_field(input, "severity")
        && sev != "ERROR"
        && sev != "WARNING"
    {
        return Err(E::invalid(
            "severity",
            Shown::Value(sev.to_string()),
            Rule::OneOf("[ERROR, WARNING]"),
        ));
    }
    let max = match input.get("maxResults").and_then(Value::as_i64) {
        None | Some(0) => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(E::invalid(
                "maxResults",
                Shown::Value(n.to_string()),
                Rule::AtMost(100.0),
            ));
        }
    };
    let all = asl::validate(definition, express);
    let truncated = all.len() > max;
    let diagnostics: Vec<Value> = all
        .iter()
        .take(max)
        .map(|d| {
            let mut m = Map::new();
            m.insert("severity".into(), json!("ERROR"));
            m.insert("code".into(), json!(d.code));
            m.insert("message".into(), json!(d.message));
            if !d.location.is_empty() {
                m.insert("location".into(), json!(d.location));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json!({
        "result": if all.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": truncated,
    }))
}

fn valid_name(name: &str) -> bool {
    // Names: 1-80 characters, no whitespace, brackets, wildcards or special characters
    // (API_CreateStateMachine.html, "name").
    !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

/// `type`: STANDARD (the default) or EXPRESS.
fn machine_type(input: &Value) -> Result<StateMachineType, E> {
    match opt_field(input, "type").unwrap_or("STANDARD") {
        "STANDARD" => Ok(StateMachineType::Standard),
        "EXPRESS" => Ok(StateMachineType::Express),
        other => Err(E::invalid(
            "type",
            Shown::Value(other.to_string()),
            Rule::OneOf("[STANDARD, EXPRESS]"),
        )),
    }
}

fn create_state_machine(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let name = field(input, "name")?;
    let definition = field(input, "definition")?;
    let role_arn = field(input, "roleArn")?;
    let kind = machine_type(input)?;
    check_name(name)?;
    check_role_arn(role_arn)?;
    let arn = c.scope.arn("states", &format!("stateMachine:{name}"));
    c.authorize("states:CreateStateMachine", &arn)?;
    validate_definition(definition, kind)?;
    check_role_passable(c, role_arn, &arn)?;
    let mut machines = c.state.state_machines.write().expect("lock");
    if let Some(existing) = machines.get(&arn) {
        // Creating the same machine again is idempotent; anything else is a conflict.
        if existing.machine.definition == definition
            && existing.machine.role_arn == role_arn
            && existing.machine.kind == kind
        {
            return Ok(json!({"stateMachineArn": arn, "creationDate": epoch(existing.created)}));
        }
        return Err(E::StateMachineAlreadyExists { arn });
    }
    let created = c.world.clock.now();
    let extra = json!({
        "loggingConfiguration": input.get("loggingConfiguration").cloned().unwrap_or(json!({"level": "OFF", "includeExecutionData": false})),
        "tracingConfiguration": input.get("tracingConfiguration").cloned().unwrap_or(json!({"enabled": false})),
    });
    machines.insert(
        arn.clone(),
        StateMachineEntry {
            machine: StateMachine {
                logical_id: name.to_string(),
                name: name.to_string(),
                arn: arn.clone(),
                role_arn: role_arn.to_string(),
                definition: definition.to_string(),
                kind,
            },
            created,
            extra,
        },
    );
    Ok(json!({"stateMachineArn": arn, "creationDate": epoch(created)}))
}

fn describe_state_machine(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "stateMachineArn")?;
    let entry = state_machine(c, arn)?;
    c.authorize("states:DescribeStateMachine", arn)?;
    let m = &entry.machine;
    let mut out = json!({
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": m.definition,
        "roleArn": m.role_arn,
        "type": m.kind.as_str(),
        "creationDate": epoch(entry.created),
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    });
    if let (Value::Object(o), Value::Object(extra)) = (&mut out, &entry.extra) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

fn update_state_machine(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "stateMachineArn")?;
    state_machine(c, arn)?;
    c.authorize("states:UpdateStateMachine", arn)?;
    let definition = opt_field(input, "definition");
    let role = opt_field(input, "roleArn");
    if definition.is_none()
        && role.is_none()
        && input.get("loggingConfiguration").is_none()
        && input.get("tracingConfiguration").is_none()
    {
        return Err(E::MissingRequiredParameter);
    }
    if let Some(d) = definition {
        let kind = state_machine(c, arn)?.machine.kind;
        validate_definition(d, kind)?;
    }
    if let Some(r) = role {
        check_role_arn(r)?;
        check_role_passable(c, r, arn)?;
    }
    let now = c.world.clock.now();
    let mut machines = c.state.state_machines.write().expect("lock");
    let entry = machines.get_mut(arn).ok_or_else(|| no_state_machine(arn))?;
    if let Some(d) = definition {
        entry.machine.definition = d.to_string();
    }
    if let Some(r) = role {
        entry.machine.role_arn = r.to_string();
    }
    // UpdateStateMachine replaces the logging and tracing configurations it is given
    // (API_UpdateStateMachine.html); DescribeStateMachine returns them.
    for key in ["loggingConfiguration", "tracingConfiguration"] {
        if let Some(v) = input.get(key) {
            if !entry.extra.is_object() {
                entry.extra = json!({});
            }
            entry.extra[key] = v.clone();
        }
    }
    c.state.executions.invalidate(arn);
    Ok(json!({"updateDate": epoch(now)}))
}

fn delete_state_machine(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "stateMachineArn")?;
    check_arn(arn, "stateMachine")?;
    c.authorize("states:DeleteStateMachine", arn)?;
    // Deleting a machine that does not exist succeeds (the call is idempotent).
    c.state.state_machines.write().expect("lock").remove(arn);
    c.state.executions.invalidate(arn);
    Ok(json!({}))
}

fn list_state_machines(c: &Call<'_>) -> Result<Value, E> {
    c.authorize("states:ListStateMachines", "*")?;
    let machines = c.state.state_machines.read().expect("lock");
    let list: Vec<Value> = machines
        .values()
        .map(|e| json!({"stateMachineArn": e.machine.arn, "name": e.machine.name, "type": e.machine.kind.as_str(), "creationDate": epoch(e.created)}))
        .collect();
    Ok(json!({"stateMachines": list}))
}

/// The `input` member's length limit on StartExecution, StartSyncExecution and TestState:
/// 262,144 characters (API_StartExecution.html and API_TestState.html, "input": "Length
/// Constraints: Maximum length of 262144"); longer fails the request's validation.
pub const MAX_INPUT_CHARS: usize = 262_144;

fn execution_input(input: &Value) -> Result<Value, E> {
    match input.get("input") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::String(s))
            if s.len() > MAX_INPUT_CHARS && s.chars().count() > MAX_INPUT_CHARS =>
        {
            Err(E::invalid(
                "input",
                Shown::Omitted,
                Rule::MaxLength(MAX_INPUT_CHARS),
            ))
        }
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| E::InvalidExecutionInput {
            reason: e.to_string(),
        }),
        Some(_) => Err(E::invalid("input", Shown::Omitted, Rule::String)),
    }
}

/// Tells the execution store the scope's machines, for `states:startExecution` tasks of the
/// execution about to start.
fn know_machines(c: &Call<'_>) {
    // The version first, then the list (a write moves the version on under the lock, so a
    // list read after it is at least as new: learned again at the next start at worst).
    let version = c.state.state_machines.version();
    let machines = c.state.state_machines.read().expect("lock");
    c.state
        .executions
        .know_machines_of(version, machines.values().map(|e| &e.machine));
}

fn start_execution(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "stateMachineArn")?;
    let entry = state_machine(c, arn)?;
    c.authorize("states:StartExecution", arn)?;
    let exec_input = execution_input(input)?;
    let name = opt_field(input, "name").map(str::to_string);
    if let Some(n) = &name {
        check_name(n)?;
    }
    know_machines(c);
    let (exec_arn, start) = c.state.executions.start_watched(
        &c.world,
        &entry.machine,
        Start::new(exec_input, name).watched(c.edge.activity.clone()),
    )?;
    Ok(json!({"executionArn": exec_arn, "startDate": epoch(start)}))
}

fn outcome_fields(out: &mut Map<String, Value>, record: &ExecutionRecord) {
    if let Some(o) = &record.outcome {
        out.insert("stopDate".into(), epoch(o.stop_date));
        if let Some(output) = o.output_text() {
            out.insert("output".into(), Value::String(output.into_owned()));
            out.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(e) = &o.error {
            out.insert("error".into(), json!(e));
        }
        if let Some(c) = &o.cause {
            out.insert("cause".into(), json!(c));
        }
    }
}

async fn start_sync_execution(c: &Call<'_>, input: &Value) -> Result<Answer, E> {
    let arn = field(input, "stateMachineArn")?;
    // The machine's type alone is read here; the machine itself is shared from the
    // executions' store once it knows the scope's machines (no copy per execution).
    let kind = state_machine_kind(c, arn)?;
    c.authorize("states:StartSyncExecution", arn)?;
    if kind != StateMachineType::Express {
        return Err(E::StateMachineTypeNotSupported);
    }
    let exec_input = execution_input(input)?;
    let name = opt_field(input, "name").map(str::to_string);
    know_machines(c);
    // The scope's machine as it is now; the store's shared copy when it is that one (it is,
    // unless an update or another start changed the store's in between).
    let machine = {
        let machines = c.state.state_machines.read().expect("lock");
        let entry = machines.get(arn).ok_or_else(|| no_state_machine(arn))?;
        match c.state.executions.machine(arn) {
            Some(known) if *known == entry.machine => known,
            _ => std::sync::Arc::new(entry.machine.clone()),
        }
    };
    let input_text = exec_input.to_string();
    let record = c
        .state
        .executions
        .run_sync_watched(
            &c.world,
            &machine,
            Start::new(exec_input, name).watched(c.edge.activity.clone()),
        )
        .await?;
    Ok(Answer::Written(Box::new(SyncAnswer::new(
        record, input_text,
    ))))
}

/// StartSyncExecution's answer (API_StartSyncExecution.html): `executionArn`,
/// `stateMachineArn`, `name`, `startDate`, `status`, `input`, `inputDetails`, then what the
/// outcome has (`stopDate`, `output`, `outputDetails`, `error`, `cause`: [`outcome_fields`]'s
/// members, in its order) and `billingDetails`. Written straight to bytes: the answer of
/// every execution, whose `output` (the execution's output text, kept by its history) would
/// otherwise be copied into a map of a dozen owned members, serialized and freed.
///
/// It keeps only what it writes: the rest of the record (the output as a value, the trace)
/// is let go where the execution ran, as before, rather than on the thread that writes the
/// answer (`serve` writes it on its listener's runtime); the output's text is read from the
/// history, which the viewer shares.
struct SyncAnswer {
    arn: String,
    state_machine_arn: String,
    name: String,
    start_date: std::time::SystemTime,
    status: &'static str,
    /// The execution's input as JSON text.
    input_text: String,
    stop_date: std::time::SystemTime,
    /// The history, whose last event records the output's text ([`asl::recorded_output`]).
    history: std::sync::Arc<[asl::HistoryEvent]>,
    /// The output as JSON text, when the history does not record it (not the case for an
    /// execution that succeeded), or none.
    output: Option<Output>,
    error: Option<String>,
    cause: Option<String>,
    billed_ms: u128,
}

/// Where [`SyncAnswer`]'s output text is.
enum Output {
    /// In the history's last event.
    Recorded,
    /// Written out.
    Text(String),
}

/// An Express execution's billed duration: its run time rounded up to the next 100 ms, at
/// least 100 ms (StartSyncExecution's `billingDetails.billedDurationInMilliseconds`).
fn billed_ms(o: &crate::asl::ExecutionOutcome) -> u128 {
    o.stop_date
        .duration_since(o.start_date)
        .unwrap_or_default()
        .as_millis()
        .div_ceil(100)
        .max(1)
        * 100
}

impl SyncAnswer {
    /// The answer of the finished execution `record` whose input was `input_text`.
    fn new(mut record: ExecutionRecord, input_text: String) -> Self {
        let o = record.outcome.take().expect("run_sync finishes");
        let billed_ms = billed_ms(&o);
        Self {
            arn: std::mem::take(&mut record.arn),
            state_machine_arn: std::mem::take(&mut record.state_machine_arn),
            name: std::mem::take(&mut record.name),
            start_date: record.start_date,
            status: status_name(o.status),
            input_text,
            stop_date: o.stop_date,
            output: o.output.as_ref().map(|v| {
                if asl::recorded_output(&o.history).is_some() {
                    Output::Recorded
                } else {
                    Output::Text(v.to_string())
                }
            }),
            history: o.history,
            error: o.error,
            cause: o.cause,
            billed_ms,
        }
    }
}

impl WriteJson for SyncAnswer {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"executionArn\":");
        write_str(out, &self.arn);
        out.extend_from_slice(b",\"stateMachineArn\":");
        write_str(out, &self.state_machine_arn);
        out.extend_from_slice(b",\"name\":");
        write_str(out, &self.name);
        out.extend_from_slice(b",\"startDate\":");
        write_epoch(out, self.start_date);
        out.extend_from_slice(b",\"status\":");
        write_str(out, self.status);
        out.extend_from_slice(b",\"input\":");
        write_str(out, &self.input_text);
        out.extend_from_slice(b",\"inputDetails\":{\"included\":true},\"stopDate\":");
        write_epoch(out, self.stop_date);
        let output = match &self.output {
            Some(Output::Recorded) => asl::recorded_output(&self.history),
            Some(Output::Text(text)) => Some(text.as_str()),
            None => None,
        };
        if let Some(output) = output {
            out.extend_from_slice(b",\"output\":");
            write_str(out, output);
            out.extend_from_slice(b",\"outputDetails\":{\"included\":true}");
        }
        if let Some(e) = &self.error {
            out.extend_from_slice(b",\"error\":");
            write_str(out, e);
        }
        if let Some(c) = &self.cause {
            out.extend_from_slice(b",\"cause\":");
            write_str(out, c);
        }
        out.extend_from_slice(
            b",\"billingDetails\":{\"billedMemoryUsedInMB\":64,\"billedDurationInMilliseconds\":",
        );
        let _ = serde_json::to_writer(&mut *out, &self.billed_ms);
        out.extend_from_slice(b"}}");
    }
}

fn execution(c: &Call<'_>, arn: &str) -> Result<ExecutionRecord, E> {
    check_arn(arn, "execution")?;
    c.state.executions.get(arn).ok_or_else(|| no_execution(arn))
}

fn describe_execution(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "executionArn")?;
    let record = execution(c, arn)?;
    c.authorize("states:DescribeExecution", arn)?;
    let mut out = Map::new();
    out.insert("executionArn".into(), json!(record.arn));
    out.insert("stateMachineArn".into(), json!(record.state_machine_arn));
    out.insert("name".into(), json!(record.name));
    out.insert("status".into(), json!(record.status()));
    out.insert("startDate".into(), epoch(record.start_date));
    out.insert("input".into(), json!(record.input.to_string()));
    out.insert("inputDetails".into(), json!({"included": true}));
    outcome_fields(&mut out, &record);
    if let Some(m) = &record.map_run_arn {
        out.insert("mapRunArn".into(), json!(m));
    }
    // redriveCount, redriveDate, redriveStatus and redriveStatusReason
    // (API_DescribeExecution.html; "Execution is SUCCEEDED and cannot be redriven" AWS-recorded
    // in LocalStack's stepfunctions snapshots).
    out.insert("redriveCount".into(), json!(record.redrive_count));
    if let Some(d) = record.redrive_date {
        out.insert("redriveDate".into(), epoch(d));
    }
    let (status, reason) = c.state.executions.redrive_status(arn, c.world.clock.now());
    out.insert("redriveStatus".into(), json!(status));
    if let Some(r) = reason {
        out.insert("redriveStatusReason".into(), json!(r));
    }
    Ok(Value::Object(out))
}

fn stop_execution(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "executionArn")?;
    execution(c, arn)?;
    c.authorize("states:StopExecution", arn)?;
    c.state.executions.stop(
        arn,
        opt_field(input, "error").map(str::to_string),
        opt_field(input, "cause").map(str::to_string),
    );
    Ok(json!({"stopDate": epoch(c.world.clock.now())}))
}

fn list_executions(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    if input.get("mapRunArn").is_some() {
        return super::sfn_map_run_api::list_child_executions(c, input);
    }
    let arn = field(input, "stateMachineArn")?;
    state_machine(c, arn)?;
    c.authorize("states:ListExecutions", arn)?;
    let filter = opt_field(input, "statusFilter");
    let list: Vec<Value> = c
        .state
        .executions
        .list(arn)
        .iter()
        .filter(|r| filter.is_none_or(|f| f == r.status()))
        .map(|r| Value::Object(execution_list_item(r)))
        .collect();
    Ok(json!({"executions": list}))
}

/// An `ExecutionListItem` (API_ExecutionListItem.html) without `mapRunArn`.
pub(super) fn execution_list_item(r: &ExecutionRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(r.arn));
    m.insert("stateMachineArn".into(), json!(r.state_machine_arn));
    m.insert("name".into(), json!(r.name));
    m.insert("status".into(), json!(r.status()));
    m.insert("startDate".into(), epoch(r.start_date));
    if let Some(o) = &r.outcome {
        m.insert("stopDate".into(), epoch(o.stop_date));
    }
    m
}

fn get_execution_history(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "executionArn")?;
    execution(c, arn)?;
    c.authorize("states:GetExecutionHistory", arn)?;
    // While the execution runs, the events so far (issue 11: it answered [] until the end).
    let mut events: Vec<Value> = c
        .state
        .executions
        .history(arn)
        .unwrap_or_default()
        .iter()
        .map(|e| e.to_json())
        .collect();
    if input.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
        events.reverse();
    }
    Ok(json!({"events": events}))
}

async fn test_state(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let definition = field(input, "definition")?;
    let role_arn = opt_field(input, "roleArn").unwrap_or_default().to_string();
    c.authorize("states:TestState", "*")?;
    let level = match opt_field(input, "inspectionLevel").unwrap_or("INFO") {
        "INFO" => InspectionLevel::Info,
        "DEBUG" | "TRACE" => InspectionLevel::Debug,
        other => {
            return Err(E::invalid(
                "inspectionLevel",
                Shown::Value(other.to_string()),
                Rule::OneOf("[INFO, DEBUG, TRACE]"),
            ));
        }
    };
    let trace_level = opt_field(input, "inspectionLevel") == Some("TRACE");
    let reveal = input.get("revealSecrets").and_then(Value::as_bool) == Some(true);
    if trace_level {
        // TRACE shows the raw HTTP exchange and is for HTTP Tasks only (API_TestState.html).
        let state: Value = serde_json::from_str(definition).unwrap_or(Value::Null);
        if state.get("Resource").and_then(Value::as_str) != Some(crate::sfn::execution::HTTP_INVOKE)
        {
            return Err(E::TraceNeedsHttpTask);
        }
    }
    if reveal {
        if !trace_level {
            return Err(E::RevealSecretsNeedsTrace);
        }
        // Revealing secrets needs states:RevealSecrets (test-state-isolation.html).
        c.authorize("states:RevealSecrets", "*")?;
    }
    let state_input = execution_input(input)?;
    let variables = match input.get("variables").and_then(Value::as_str) {
        Some(s) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(E::VariablesNotObject);
            }
        },
        None => Map::new(),
    };
    let config = ExecutionConfig {
        execution_arn: c.scope.arn("states", "execution:TestStateMachine:test"),
        execution_name: "test".into(),
        state_machine_arn: c.scope.arn("states", "stateMachine:TestStateMachine"),
        state_machine_name: "TestStateMachine".into(),
        role_arn: role_arn.clone(),
        clock: c.world.clock.clone(),
        region: Some(c.scope.region.clone()),
        ..ExecutionConfig::default()
    };
    let options = TestStateOptions {
        inspection_level: level,
        variables,
        config: config.clone(),
        state_name: opt_field(input, "stateName").map(str::to_string),
    };
    let tasks = WorldTasks::new(
        &c.world,
        execution_principal(&role_arn, "TestState"),
        config.state_machine_arn.clone(),
        Trace::new(),
    )
    .capturing();
    let outcome = asl::test_state(definition, state_input, options, &tasks).await?;
    let mut out = outcome.to_json();
    if trace_level && let Some(capture) = tasks.captured() {
        let (request, response) = capture.inspection(reveal);
        if !out.get("inspectionData").is_some_and(Value::is_object) {
            out["inspectionData"] = json!({});
        }
        out["inspectionData"]["request"] = request;
        out["inspectionData"]["response"] = response;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Activities and task tokens (issue 19). Wire shapes and errors AWS-recorded in LocalStack's
// test_sfn_api_activities.snapshot.json and activities/test_activities.snapshot.json.

fn no_activity(arn: &str) -> E {
    E::ActivityDoesNotExist {
        arn: arn.to_string(),
    }
}

fn create_activity(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let name = field(input, "name")?;
    check_name(name)?;
    let arn = c.scope.arn("states", &format!("activity:{name}"));
    c.authorize("states:CreateActivity", &arn)?;
    let created = c
        .state
        .executions
        .activities
        .create(&arn, name, c.world.clock.now());
    Ok(json!({"activityArn": arn, "creationDate": epoch(created)}))
}

fn describe_activity(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "activityArn")?;
    check_arn(arn, "activity")?;
    c.authorize("states:DescribeActivity", arn)?;
    let (name, created) = c
        .state
        .executions
        .activities
        .describe(arn)
        .ok_or_else(|| no_activity(arn))?;
    Ok(json!({
        "activityArn": arn,
        "name": name,
        "creationDate": epoch(created),
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }))
}

fn list_activities(c: &Call<'_>) -> Result<Value, E> {
    c.authorize("states:ListActivities", "*")?;
    let list: Vec<Value> = c
        .state
        .executions
        .activities
        .list()
        .into_iter()
        .map(|(arn, name, created)| {
            json!({"activityArn": arn, "name": name, "creationDate": epoch(created)})
        })
        .collect();
    Ok(json!({"activities": list}))
}

fn delete_activity(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "activityArn")?;
    check_arn(arn, "activity")?;
    c.authorize("states:DeleteActivity", arn)?;
    c.state.executions.activities.delete(arn);
    Ok(json!({}))
}

/// GetActivityTask: long-polls up to 60 s on the world's clock; no task gives `{}` (the SDKs
/// read an absent `taskToken` as "no task").
async fn get_activity_task(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    let arn = field(input, "activityArn")?;
    check_arn(arn, "activity")?;
    c.authorize("states:GetActivityTask", arn)?;
    let activities = c.state.executions.activities.clone();
    if !activities.exists(arn) {
        return Err(no_activity(arn));
    }
    let worker = opt_field(input, "workerName");
    Ok(match activities.poll(arn, worker).await {
        Some(h) => json!({"taskToken": h.token, "input": h.input}),
        None => json!({}),
    })
}

/// SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat
/// (API_SendTaskSuccess.html: `taskToken` 1..2048 characters; `output` JSON).
fn send_task(c: &Call<'_>, input: &Value, action: &str) -> Result<Value, E> {
    use crate::sfn::callback::Signal;
    let token = field(input, "taskToken")?;
    if token.is_empty() || token.chars().count() > 2048 {
        return Err(E::invalid(
            "taskToken",
            Shown::Omitted,
            Rule::LengthBetween(1, 2048),
        ));
    }
    c.authorize(action, "*")?;
    let signal = match action {
        "states:SendTaskSuccess" => {
            let out = field(input, "output")?;
            let v: Value = serde_json::from_str(out).map_err(|e| E::InvalidOutput {
                reason: e.to_string(),
            })?;
            Signal::Success(v)
        }
        "states:SendTaskFailure" => Signal::Failure {
            error: opt_field(input, "error").map(str::to_string),
            cause: opt_field(input, "cause").map(str::to_string),
        },
        _ => Signal::Heartbeat,
    };
    c.state.executions.callbacks.send(token, signal)?;
    Ok(json!({}))
}

/// RedriveExecution (API_RedriveExecution.html): a FAILED, TIMED_OUT or ABORTED Standard
/// execution starts again from the state that did not succeed; others are
/// `ExecutionNotRedrivable` with the reason DescribeExecution gives.
fn redrive_execution(c: &Call<'_>, input: &Value) -> Result<Value, E> {
    use crate::sfn::execution::RedriveError;
    let arn = field(input, "executionArn")?;
    let record = execution(c, arn)?;
    c.authorize("states:RedriveExecution", arn)?;
    let entry = state_machine(c, &record.state_machine_arn)?;
    let date = c
        .state
        .executions
        .redrive(&c.world, &entry.machine, arn)
        .map_err(|e| match e {
            RedriveError::NoExecution => no_execution(arn),
            RedriveError::NotRedrivable(reason) => E::ExecutionNotRedrivable { reason },
        })?;
    Ok(json!({"redriveDate": epoch(date)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::{ExecutionOutcome, ExecutionStatus};
    use std::time::{Duration, UNIX_EPOCH};

    /// The answer as a map of values, the way StartSyncExecution built it before it was
    /// written straight to bytes.
    fn as_value(record: &ExecutionRecord, input_text: &str) -> Value {
        let o = record.outcome.as_ref().expect("finished");
        let billed_ms = billed_ms(o);
        let mut out = Map::new();
        out.insert("executionArn".into(), json!(record.arn));
        out.insert("stateMachineArn".into(), json!(record.state_machine_arn));
        out.insert("name".into(), json!(record.name));
        out.insert("startDate".into(), epoch(record.start_date));
        out.insert("status".into(), json!(status_name(o.status)));
        out.insert("input".into(), json!(input_text));
        out.insert("inputDetails".into(), json!({"included": true}));
        outcome_fields(&mut out, record);
        out.insert(
            "billingDetails".into(),
            json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms}),
        );
        Value::Object(out)
    }

    /// StartSyncExecution's answer, written straight to bytes, is the text of the map of
    /// values it used to build, byte for byte: member order, timestamps, escapes, a success's
    /// output and a failure's error and cause.
    #[test]
    fn the_start_sync_answer_is_written_as_its_value_would_be() {
        let start = UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
        let outcomes = [
            (
                ExecutionStatus::Succeeded,
                Some(
                    json!({"Headers": {"Content-Type": ["application/json"]}, "ResponseBody": {"a": "é\n\"\\\u{1}"}, "StatusCode": 200}),
                ),
                None,
                None,
            ),
            (
                ExecutionStatus::Failed,
                None,
                Some("ApiGateway.403".to_string()),
                Some("{\"message\":\"Missing Authentication Token\"}".to_string()),
            ),
            (ExecutionStatus::Aborted, None, None, None),
        ];
        let no_history = || std::sync::Arc::from(Vec::new());
        let outcomes = outcomes
            .map(|(status, output, error, cause)| (status, output, error, cause, no_history()));
        // A success whose history records the output's text: that text is the answer's.
        let recorded = (
            ExecutionStatus::Succeeded,
            Some(json!({"a": 1})),
            None,
            None,
            crate::asl::succeeded_history("{\"recorded\":\"text\"}"),
        );
        for (status, output, error, cause, history) in outcomes.into_iter().chain([recorded]) {
            let record = ExecutionRecord {
                arn: "arn:aws:states:us-east-1:123456789012:express:m:n-\"1\"".into(),
                name: "n-\"1\"".into(),
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
                kind: StateMachineType::Express,
                input: json!({"k": [1, 2.5, "\t"]}),
                start_date: start,
                outcome: Some(ExecutionOutcome {
                    redrive_point: None,
                    status,
                    output,
                    error,
                    cause,
                    history,
                    start_date: start,
                    stop_date: start + Duration::from_millis(1234),
                }),
                live: None,
                trace: Trace::disabled(),
                redrive_count: 0,
                redrive_date: None,
                map_run_arn: None,
            };
            let input_text = json!({"k": [1, 2.5, "\t"]}).to_string();
            let expected = as_value(&record, &input_text).to_string();
            let answer = SyncAnswer::new(record, input_text);
            if answer.history.len() == 2 {
                assert!(expected.contains(r#""output":"{\"recorded\":\"text\"}""#));
            }
            let mut written = Vec::new();
            answer.write_json(&mut written);
            assert_eq!(String::from_utf8(written).expect("UTF-8"), expected);
        }
    }
}
