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
    /// The execution's input (`$$.Execution.Input`).
    pub(crate) input: Value,
    /// The execution's ARN, name, role ARN and start time and the state machine's ARN and
    /// name, in one allocation ([`Texts`]): every execution makes a base, few read it.
    texts: Texts,
    redrive_count: u32,
}

/// Six texts in one string, each ending where `ends` says (the last at the end).
#[derive(Debug)]
struct Texts {
    all: Box<str>,
    ends: [usize; 5],
}

impl Texts {
    fn new(parts: [&str; 6]) -> Self {
        let mut all = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; 5];
        for (i, part) in parts.iter().enumerate() {
            all.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = all.len();
            }
        }
        Self {
            all: all.into_boxed_str(),
            ends,
        }
    }

    /// Text `i` (0 to 5).
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends.get(i).copied().unwrap_or(self.all.len());
        &self.all[start..end]
    }
}

impl ContextBase {
    /// The base of an execution configured by `cfg` whose input is `input`, started at
    /// `start_time` (ISO 8601 with milliseconds).
    pub(crate) fn new(cfg: &ExecutionConfig, input: Value, start_time: String) -> Self {
        ContextBase {
            value: OnceLock::new(),
            input,
            texts: Texts::new([
                &cfg.execution_arn,
                &cfg.execution_name,
                &cfg.role_arn,
                &start_time,
                &cfg.state_machine_arn,
                &cfg.state_machine_name,
            ]),
            redrive_count: cfg.redrive_count,
        }
    }

    /// `State` keeps its place between `Execution` and `StateMachine` (the object's key order
    /// is what `$$` shows).
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            let t = |i| self.texts.get(i);
            json!({
                "Execution": {
                    "Id": t(0),
                    "Input": self.input,
                    "Name": t(1),
                    "RoleArn": t(2),
                    "StartTime": t(3),
                    "RedriveCount": self.redrive_count,
                },
                "State": null,
                "StateMachine": {"Id": t(4), "Name": t(5)},
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
            role_arn: "arn:aws:iam::123456789012:role/R".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
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
        // Each of the execution's texts in its place.
        assert_eq!(
            c["Execution"],
            json!({"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Input": {"a": 1},
                   "Name": "e", "RoleArn": "arn:aws:iam::123456789012:role/R",
                   "StartTime": "2026-01-01T00:00:00.000Z", "RedriveCount": 0})
        );
        assert_eq!(
            c["StateMachine"],
            json!({"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "Name": "m"})
        );
        assert!(std::ptr::eq(c.value(), c.value()));
    }
}
