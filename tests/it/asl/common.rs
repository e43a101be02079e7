//! Shared test helpers: a scripted TaskHandler and the fixture loader.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;
use vpcgate::asl::{StatesError, TaskHandler, TaskInvocation};

/// The one base path every fixture is loaded from.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/asl");

/// One fixture case.
pub struct Fixture {
    pub name: String,
    pub definition: String,
    pub input: Value,
    pub expected: Value,
    pub tasks: Value,
    pub source: String,
}

/// Loads `fixtures/asl/<name>/...`.
pub fn load(name: &str) -> Fixture {
    let dir = format!("{FIXTURES}/{name}");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}"));
    let json = |f: &str| -> Value {
        read(f)
            .ok()
            .map(|s| serde_json::from_str(&s).expect("fixture JSON"))
            .unwrap_or(Value::Null)
    };
    Fixture {
        name: name.to_string(),
        definition: read("definition.json").expect("definition.json"),
        input: json("input.json"),
        expected: json("expected.json"),
        tasks: json("tasks.json"),
        source: read("source.txt").expect("source.txt").trim().to_string(),
    }
}

/// Responds per state name from a script: `[{"result": ..} | {"error": .., "cause": ..}
/// | {"delay": secs, ..} | {"result_bytes": n}]`; the last entry repeats. States without a
/// script echo their parameters.
#[derive(Default)]
pub struct ScriptedHandler {
    pub script: Value,
    pub calls: Mutex<HashMap<String, Vec<TaskInvocation>>>,
}

impl ScriptedHandler {
    pub fn new(script: Value) -> Self {
        Self {
            script,
            calls: Mutex::new(HashMap::new()),
        }
    }
    pub fn count(&self, state: &str) -> usize {
        self.calls.lock().unwrap().get(state).map_or(0, Vec::len)
    }
    pub fn first_params(&self, state: &str) -> Option<Value> {
        self.calls
            .lock()
            .unwrap()
            .get(state)
            .and_then(|v| v.first().map(|c| (*c.parameters).clone()))
    }
}

impl TaskHandler for ScriptedHandler {
    fn invoke<'a>(
        &'a self,
        call: TaskInvocation,
    ) -> Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>> {
        Box::pin(async move {
            let n = {
                let mut g = self.calls.lock().unwrap();
                let v = g.entry(call.state_name.clone()).or_default();
                v.push(call.clone());
                v.len() - 1
            };
            let Some(list) = self.script.get(&call.state_name).and_then(|l| l.as_array()) else {
                return Ok((*call.parameters).clone());
            };
            let step = list.get(n).or(list.last()).cloned().unwrap_or(json!({}));
            if let Some(d) = step.get("delay").and_then(Value::as_f64) {
                tokio::time::sleep(Duration::from_secs_f64(d)).await;
            }
            if let Some(e) = step.get("error").and_then(Value::as_str) {
                return Err(StatesError {
                    error: e.to_string(),
                    cause: step
                        .get("cause")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
            if let Some(b) = step.get("result_bytes").and_then(Value::as_u64) {
                return Ok(Value::String("x".repeat(b as usize)));
            }
            Ok(step.get("result").cloned().unwrap_or(Value::Null))
        })
    }
}
