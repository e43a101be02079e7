//! Execution history in the JSON shape `GetExecutionHistory` returns.
//!
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>:
//! each event has `timestamp`, `type`, `id`, `previousEventId` and one `...EventDetails`
//! member; payloads (`input`, `output`, `parameters`) are JSON *strings*, each with a
//! `...Details: {"truncated": false}` companion. `timestamp` is written as epoch seconds
//! with a fractional part, the way the JSON protocol sends timestamps on the wire.

use serde::Serialize;
use serde_json::{Map, Value};

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Epoch seconds (fractional).
    pub timestamp: f64,
    /// Event type, e.g. `TaskStateEntered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// 1-based id.
    pub id: u64,
    /// The id of the event this one follows on its own thread of execution (0 for the first).
    #[serde(rename = "previousEventId")]
    pub previous_event_id: u64,
    /// The details member, e.g. `stateEnteredEventDetails`, and its value.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    /// The whole event as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
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
        event_type: &str,
        previous: u64,
        details_key: Option<&str>,
        details: Value,
    ) -> u64 {
        let id = self.len() as u64 + self.dropped + 1;
        if self.exceeded() && !event_type.starts_with("Execution") {
            self.dropped += 1;
            return id;
        }
        let mut m = Map::new();
        if let Some(k) = details_key {
            m.insert(k.to_string(), details);
        }
        self.events.push(HistoryEvent {
            timestamp,
            event_type: event_type.to_string(),
            id,
            previous_event_id: previous,
            details: m,
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
/// Other ARNs give (service, whole ARN); anything else gives ("unknown", the string).
pub(crate) fn resource_parts(resource: &str) -> (String, String, Option<String>) {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "states" {
        let region = (!parts[3].is_empty()).then(|| parts[3].to_string());
        return (parts[5].to_string(), parts[6..].join(":"), region);
    }
    if parts.len() >= 6 && parts[0] == "arn" {
        let region = (!parts[3].is_empty()).then(|| parts[3].to_string());
        return (parts[2].to_string(), resource.to_string(), region);
    }
    ("unknown".to_string(), resource.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
