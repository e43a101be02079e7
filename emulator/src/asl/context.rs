//! The context object (`$$`,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>),
//! written out the first time a state reads it: most states never do (`$$.…` paths, JSONata's
//! `$states.context`, a task's invocation), and building it for every state was about 2 % of a
//! StartSyncExecution.

use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

use super::ExecutionConfig;

/// The parts of `$$` that stay the same for a whole execution (`Execution`, `StateMachine`),
/// written out once, when a state first reads `$$`.
#[derive(Debug)]
pub(crate) struct ContextBase {
    value: OnceLock<Value>,
    execution_arn: String,
    /// The execution's input (`$$.Execution.Input`).
    pub(crate) input: Value,
    name: String,
    role_arn: String,
    start_time: String,
    redrive_count: u32,
    state_machine_arn: String,
    state_machine_name: String,
}

impl ContextBase {
    /// The base of an execution configured by `cfg` whose input is `input`, started at
    /// `start_time` (ISO 8601 with milliseconds).
    pub(crate) fn new(cfg: &ExecutionConfig, input: Value, start_time: String) -> Self {
        ContextBase {
            value: OnceLock::new(),
            execution_arn: cfg.execution_arn.clone(),
            input,
            name: cfg.execution_name.clone(),
            role_arn: cfg.role_arn.clone(),
            start_time,
            redrive_count: cfg.redrive_count,
            state_machine_arn: cfg.state_machine_arn.clone(),
            state_machine_name: cfg.state_machine_name.clone(),
        }
    }

    /// `State` keeps its place between `Execution` and `StateMachine` (the object's key order
    /// is what `$$` shows).
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            json!({
                "Execution": {
                    "Id": self.execution_arn,
                    "Input": self.input,
                    "Name": self.name,
                    "RoleArn": self.role_arn,
                    "StartTime": self.start_time,
                    "RedriveCount": self.redrive_count,
                },
                "State": null,
                "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name},
            })
        })
    }
}

/// What one state's `$$` is made of.
#[derive(Debug, Clone)]
pub(crate) struct ContextParts {
    pub(crate) base: Arc<ContextBase>,
    /// `State.Name`.
    pub(crate) state: String,
    /// `State.EnteredTime`.
    pub(crate) entered: String,
    /// `State.RetryCount`.
    pub(crate) retry: u32,
    /// `Map.Item` (index, value) in a Map iteration.
    pub(crate) item: Option<(usize, Value)>,
    /// `Task.Token`.
    pub(crate) token: Option<String>,
}

impl ContextParts {
    /// `$$` written out.
    pub(crate) fn build(&self) -> Value {
        let mut c = self.base.value().clone();
        c["State"] =
            json!({"EnteredTime": self.entered, "Name": self.state, "RetryCount": self.retry});
        if let (Some((i, v)), Some(o)) = (&self.item, c.as_object_mut()) {
            // `Source` says where the item came from; a Map over the state input reads
            // `STATE_DATA` (input-output-contextobject.html).
            o.insert(
                "Map".into(),
                json!({"Item": {"Index": i, "Value": v, "Source": "STATE_DATA"}}),
            );
        }
        if let Some(t) = &self.token {
            c["Task"] = json!({"Token": t});
        }
        c
    }
}

/// The context object (`$$`) of a state, written out when first read; it reads as the
/// [`Value`] it stands for (`call.context["State"]["RetryCount"]`).
pub struct ContextObject {
    value: OnceLock<Value>,
    parts: Option<ContextParts>,
}

impl ContextObject {
    /// `$$` made of `parts`, written out when first read.
    pub(crate) fn lazy(parts: ContextParts) -> Self {
        ContextObject {
            value: OnceLock::new(),
            parts: Some(parts),
        }
    }

    /// `$$` already written out.
    pub fn ready(value: Value) -> Self {
        ContextObject {
            value: OnceLock::from(value),
            parts: None,
        }
    }

    /// The object as JSON.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| match &self.parts {
            Some(p) => p.build(),
            None => Value::Null,
        })
    }
}

impl std::ops::Deref for ContextObject {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.value()
    }
}

impl Clone for ContextObject {
    fn clone(&self) -> Self {
        ContextObject {
            value: self.value.clone(),
            parts: self.parts.clone(),
        }
    }
}

impl PartialEq for ContextObject {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl std::fmt::Debug for ContextObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.value(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written out when read, with the keys in the order `$$` shows them, and only once.
    #[test]
    fn the_context_object_is_written_out_when_first_read() {
        let cfg = ExecutionConfig {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
            execution_name: "e".into(),
            ..ExecutionConfig::default()
        };
        let base = Arc::new(ContextBase::new(
            &cfg,
            json!({"a": 1}),
            "2026-01-01T00:00:00.000Z".into(),
        ));
        let c = ContextObject::lazy(ContextParts {
            base,
            state: "S".into(),
            entered: "2026-01-01T00:00:01.000Z".into(),
            retry: 2,
            item: Some((3, json!("x"))),
            token: Some("t".into()),
        });
        assert!(c.value.get().is_none(), "nothing written before a read");
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["Execution", "State", "StateMachine", "Map", "Task"]);
        assert_eq!(c["State"]["RetryCount"], json!(2));
        assert_eq!(c["Execution"]["Input"], json!({"a": 1}));
        assert_eq!(c["Map"]["Item"]["Value"], json!("x"));
        assert_eq!(c["Task"]["Token"], json!("t"));
        assert!(std::ptr::eq(c.value(), c.value()));
    }
}
