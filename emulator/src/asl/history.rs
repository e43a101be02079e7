//! Execution history in the JSON shape `GetExecutionHistory` returns.
//!
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>:
//! each event has `timestamp`, `type`, `id`, `previousEventId` and one `...EventDetails`
//! member; payloads (`input`, `output`, `parameters`) are JSON *strings*, each with a
//! `...Details: {"truncated": false}` companion. `timestamp` is written as epoch seconds
//! with a fractional part, the way the JSON protocol sends timestamps on the wire.

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::Value;

/// One history event.
///
/// The type and the details member's name are the interpreter's constants, and an event has
/// at most one details member: nothing per event is allocated but the details themselves
/// (a whole execution's history is built and freed with each Express execution).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Epoch seconds (fractional).
    pub timestamp: f64,
    /// Event type, e.g. `TaskStateEntered`.
    pub event_type: &'static str,
    /// 1-based id.
    pub id: u64,
    /// The id of the event this one follows on its own thread of execution (0 for the first).
    pub previous_event_id: u64,
    /// The details member, e.g. `stateEnteredEventDetails`, and its value.
    details: Option<(&'static str, Details)>,
}

/// An event's details object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Details {
    /// Any JSON value (the rarer events).
    Value(Value),
    /// An object of these members, in this order: the common events (states entered and
    /// exited, tasks, the execution's start and end) are written this way, without a map,
    /// a key string or a hash per member.
    Members(Vec<(&'static str, Member)>),
}

/// One member of [`Details::Members`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    /// A JSON value.
    Value(Value),
    /// A JSON string whose text is shared (a payload the next state, the task's event and the
    /// execution's end all show).
    Text(std::sync::Arc<str>),
    /// `{"truncated": false}`, the companion of every payload (vpcgate never truncates one).
    NotTruncated,
}

impl From<std::sync::Arc<str>> for Member {
    fn from(s: std::sync::Arc<str>) -> Self {
        Member::Text(s)
    }
}

impl From<Value> for Details {
    fn from(v: Value) -> Self {
        Details::Value(v)
    }
}

impl From<String> for Member {
    fn from(s: String) -> Self {
        Member::Value(Value::String(s))
    }
}

impl From<Value> for Member {
    fn from(v: Value) -> Self {
        Member::Value(v)
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Details::Value(v) => v.serialize(serializer),
            Details::Members(members) => {
                let mut m = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

impl Serialize for Member {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Value(v) => v.serialize(serializer),
            Member::Text(t) => serializer.serialize_str(t),
            Member::NotTruncated => {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry("truncated", &false)?;
                m.end()
            }
        }
    }
}

/// `{"timestamp", "type", "id", "previousEventId", <details member>}` in that order.
impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(4 + usize::from(self.details.is_some())))?;
        m.serialize_entry("timestamp", &self.timestamp)?;
        m.serialize_entry("type", self.event_type)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("previousEventId", &self.previous_event_id)?;
        if let Some((k, v)) = &self.details {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl HistoryEvent {
    /// The whole event as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The string member `field` of the details member named `key` (the `name` of the
    /// `stateEnteredEventDetails`, ...), if the event has it.
    pub fn detail_str(&self, key: &str, field: &str) -> Option<&str> {
        match &self.details {
            Some((k, Details::Value(v))) if *k == key => v.get(field).and_then(Value::as_str),
            Some((k, Details::Members(members))) if *k == key => members
                .iter()
                .find(|(n, _)| *n == field)
                .and_then(|(_, m)| match m {
                    Member::Value(v) => v.as_str(),
                    Member::Text(t) => Some(t),
                    Member::NotTruncated => None,
                }),
            _ => None,
        }
    }
}

/// The growing list of events.
///
/// At most `cap` events are kept (AWS: 25,000, after which the execution fails;
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>, "Maximum
/// execution history size"). Events past the cap are counted, not stored, except the
/// execution's own closing event, so memory stays bounded whatever a state does.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// The events of a run that ended ([`History::close`]), shared with its outcome; any
    /// event added later follows in `events`.
    pub(crate) closed: Option<std::sync::Arc<[HistoryEvent]>>,
    pub(crate) events: Vec<HistoryEvent>,
    /// 0 = no cap.
    pub(crate) cap: usize,
    /// Events that were not stored because the cap was reached.
    pub(crate) dropped: u64,
}

impl History {
    /// Appends an event and returns its id.
    pub(crate) fn push(
        &mut self,
        timestamp: f64,
        event_type: &'static str,
        previous: u64,
        details_key: Option<&'static str>,
        details: impl Into<Details>,
    ) -> u64 {
        let id = self.len() as u64 + self.dropped + 1;
        if self.exceeded() && !event_type.starts_with("Execution") {
            self.dropped += 1;
            return id;
        }
        self.events.push(HistoryEvent {
            timestamp,
            event_type,
            id,
            previous_event_id: previous,
            details: details_key.map(|k| (k, details.into())),
        });
        id
    }
}

impl History {
    /// Has the execution reached its cap?
    pub(crate) fn exceeded(&self) -> bool {
        self.cap > 0 && self.len() >= self.cap
    }

    /// The events stored.
    pub(crate) fn len(&self) -> usize {
        self.closed.as_ref().map_or(0, |c| c.len()) + self.events.len()
    }

    /// The last event stored.
    pub(crate) fn last(&self) -> Option<&HistoryEvent> {
        self.events
            .last()
            .or_else(|| self.closed.as_ref().and_then(|c| c.last()))
    }

    /// Starts over empty (or from `events`, a redrive's).
    pub(crate) fn reset(&mut self, events: Vec<HistoryEvent>) {
        self.closed = None;
        self.events = events;
        self.dropped = 0;
    }

    /// All the events, oldest first, as one shared list: the outcome's history and what the
    /// live history's readers see from now on (the events are moved, not copied).
    pub(crate) fn close(&mut self) -> std::sync::Arc<[HistoryEvent]> {
        let all: std::sync::Arc<[HistoryEvent]> = match self.closed.take() {
            None => std::mem::take(&mut self.events).into(),
            Some(c) if self.events.is_empty() => c,
            Some(c) => c
                .iter()
                .cloned()
                .chain(std::mem::take(&mut self.events))
                .collect(),
        };
        self.closed = Some(all.clone());
        all
    }

    /// A copy of the events, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<HistoryEvent> {
        match &self.closed {
            None => self.events.clone(),
            Some(c) => c.iter().chain(&self.events).cloned().collect(),
        }
    }
}

/// `{"truncated": false}` — vpcgate never truncates payloads.
pub(crate) fn not_truncated() -> Value {
    serde_json::json!({"truncated": false})
}

/// Splits a Task `Resource` into the history's `resourceType` and `resource`:
/// `arn:aws:states:::http:invoke` -> (`http`, `invoke`),
/// `arn:aws:states:::lambda:invoke.waitForTaskToken` -> (`lambda`, `invoke.waitForTaskToken`).
/// Other ARNs give (service, whole ARN); anything else gives ("unknown", the string). The
/// parts are slices of `resource` (every Task attempt of every execution splits it).
pub(crate) fn resource_parts(resource: &str) -> (&str, &str, Option<&str>) {
    // The first six `:`-separated parts, and the rest after the sixth `:` as one.
    let mut split = resource.splitn(7, ':');
    let parts: [Option<&str>; 7] = std::array::from_fn(|_| split.next());
    let region = parts[3].filter(|r| !r.is_empty());
    match parts {
        [
            Some("arn"),
            _,
            Some("states"),
            _,
            _,
            Some(service),
            Some(rest),
        ] => (service, rest, region),
        [Some("arn"), _, Some(service), _, _, Some(_), _] => (service, resource, region),
        _ => ("unknown", resource, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GetExecutionHistory's bytes do not depend on how an event's details were built: the
    /// member list writes what the equivalent JSON object writes, in the same order.
    #[test]
    fn member_details_serialize_as_the_json_object_would() {
        let mut h = History::default();
        h.push(
            1.5,
            "TaskStateEntered",
            0,
            Some("stateEnteredEventDetails"),
            serde_json::json!({"name": "S", "input": "{}", "inputDetails": not_truncated()}),
        );
        h.push(
            1.5,
            "TaskStateEntered",
            0,
            Some("stateEnteredEventDetails"),
            Details::Members(vec![
                ("name", "S".to_string().into()),
                ("input", std::sync::Arc::<str>::from("{}").into()),
                ("inputDetails", Member::NotTruncated),
            ]),
        );
        h.push(2.0, "PassStateExited", 1, None, Value::Null);
        let [a, b, c] = &h.events[..] else {
            panic!("three events")
        };
        let a_text = serde_json::to_string(a).unwrap();
        assert_eq!(
            a_text,
            r#"{"timestamp":1.5,"type":"TaskStateEntered","id":1,"previousEventId":0,"stateEnteredEventDetails":{"name":"S","input":"{}","inputDetails":{"truncated":false}}}"#
        );
        assert_eq!(
            serde_json::to_string(b).unwrap(),
            a_text.replace(r#""id":1"#, r#""id":2"#)
        );
        assert_eq!(
            b.to_json()["stateEnteredEventDetails"],
            a.to_json()["stateEnteredEventDetails"]
        );
        assert_eq!(b.detail_str("stateEnteredEventDetails", "name"), Some("S"));
        assert_eq!(a.detail_str("stateEnteredEventDetails", "name"), Some("S"));
        assert_eq!(b.detail_str("stateExitedEventDetails", "name"), None);
        assert_eq!(
            serde_json::to_string(c).unwrap(),
            r#"{"timestamp":2.0,"type":"PassStateExited","id":3,"previousEventId":1}"#
        );
    }

    #[test]
    fn resources() {
        assert_eq!(resource_parts("arn:aws:states:::http:invoke").0, "http");
        assert_eq!(resource_parts("arn:aws:states:::http:invoke").1, "invoke");
        assert_eq!(
            resource_parts("arn:aws:states:::apigateway:invoke").0,
            "apigateway"
        );
        assert_eq!(
            resource_parts("arn:aws:states:::lambda:invoke.waitForTaskToken").1,
            "invoke.waitForTaskToken"
        );
        assert_eq!(resource_parts("").0, "unknown");
        assert_eq!(resource_parts(":::::::::").0, "unknown");
        // A states ARN's resource is everything after its sixth `:`; its region, if any.
        assert_eq!(
            resource_parts("arn:aws:states:us-west-2::activity:a:b"),
            ("activity", "a:b", Some("us-west-2"))
        );
        // Other ARNs: the service and the whole ARN.
        assert_eq!(
            resource_parts("arn:aws:lambda:us-east-1:123456789012:function:f"),
            (
                "lambda",
                "arn:aws:lambda:us-east-1:123456789012:function:f",
                Some("us-east-1")
            )
        );
        assert_eq!(
            resource_parts("arn:aws:sns:::t"),
            ("sns", "arn:aws:sns:::t", None)
        );
        assert_eq!(
            resource_parts("arn:aws:states:::x"),
            ("states", "arn:aws:states:::x", None)
        );
        assert_eq!(
            resource_parts("arn:aws:sns::"),
            ("unknown", "arn:aws:sns::", None)
        );
    }
}
