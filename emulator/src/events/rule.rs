//! Rules and their targets
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html>).
//!
//! A rule on a bus has an event pattern (or a schedule, accepted and never fired: vpcgate has
//! no scheduler), a state, and up to five targets. A target is an ARN (an API destination or a
//! state machine are delivered; others are accepted and recorded as not emulated), the role
//! EventBridge assumes for it, what it receives ([`TargetInput`]), its `RetryPolicy`, a
//! dead-letter queue ARN (a placeholder) and `HttpParameters` for API destinations.

use std::time::Duration;

use serde_json::Value;

use super::error::EventBridgeError;
use super::pattern::EventPattern;
use super::transformer::TargetInput;

/// "You can add up to five targets to a rule" (eb-rules.html; PutTargets answers
/// LimitExceededException past it).
pub const MAX_TARGETS: usize = 5;

/// `RetryPolicy.MaximumRetryAttempts` default: 185 ("By default, EventBridge retries sending
/// the event for 24 hours and up to 185 times", eb-rule-retry-policy.html).
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 185;
/// `RetryPolicy.MaximumEventAgeInSeconds` default: 24 hours.
pub const DEFAULT_EVENT_AGE: Duration = Duration::from_secs(86_400);

/// `ENABLED` or `DISABLED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleState {
    /// The rule matches events.
    Enabled,
    /// The rule matches nothing.
    Disabled,
}

impl RuleState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
        }
    }

    /// Reads `State` (absent: ENABLED).
    pub fn parse(v: Option<&str>) -> Result<Self, EventBridgeError> {
        match v {
            None | Some("ENABLED") => Ok(Self::Enabled),
            Some("DISABLED") => Ok(Self::Disabled),
            // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is about CloudTrail events only.
            Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") => Ok(Self::Enabled),
            Some(other) => Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            ))),
        }
    }
}

/// `RetryPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `MaximumRetryAttempts` (0–185).
    pub max_attempts: u32,
    /// `MaximumEventAgeInSeconds` (60–86400).
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_RETRY_ATTEMPTS,
            max_age: DEFAULT_EVENT_AGE,
        }
    }
}

/// `HttpParameters` of a target (API destinations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetHttp {
    /// `PathParameterValues`.
    pub path_values: Vec<String>,
    /// `HeaderParameters`.
    pub headers: Vec<(String, String)>,
    /// `QueryStringParameters`.
    pub query: Vec<(String, String)>,
}

/// One target of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetConfig {
    /// `Id`.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `RoleArn`.
    pub role_arn: Option<String>,
    /// What the target receives.
    pub input: TargetInput,
    /// `RetryPolicy`.
    pub retry: RetryPolicy,
    /// `DeadLetterConfig.Arn` (accepted; the queue is not emulated).
    pub dead_letter_arn: Option<String>,
    /// `HttpParameters`.
    pub http: TargetHttp,
    /// The target as given (ListTargetsByRule answers it back).
    pub raw: Value,
}

/// The strings of a JSON array (other members and a missing array: none).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn number(v: Option<&Value>) -> Option<u64> {
    v.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

impl TargetConfig {
    /// Reads one entry of PutTargets' `Targets` (or a CloudFormation rule's `Targets`);
    /// `index` is its 1-based position for AWS's validation messages.
    pub fn from_json(index: usize, t: &Value) -> Result<Self, EventBridgeError> {
        let id = t.get("Id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            // test_put_target_id_validation (recorded against AWS).
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '{id}' at 'targets.{index}.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
            )));
        }
        if id.len() > 64 {
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '{id}' at 'targets.{index}.member.id' failed to satisfy constraint: Member must have length less than or equal to 64"
            )));
        }
        let arn = t.get("Arn").and_then(Value::as_str).unwrap_or_default();
        if arn.is_empty() {
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value null at 'targets.{index}.member.arn' failed to satisfy constraint: Member must not be null"
            )));
        }
        let input = TargetInput::from_target(id, t)?;
        let mut retry = RetryPolicy::default();
        if let Some(p) = t.get("RetryPolicy") {
            if let Some(n) = number(p.get("MaximumRetryAttempts")) {
                if n > 185 {
                    return Err(EventBridgeError::validation(format!(
                        "1 validation error detected: Value '{n}' at 'targets.{index}.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"
                    )));
                }
                retry.max_attempts = n as u32;
            }
            if let Some(n) = number(p.get("MaximumEventAgeInSeconds")) {
                if !(60..=86_400).contains(&n) {
                    return Err(EventBridgeError::validation(format!(
                        "1 validation error detected: Value '{n}' at 'targets.{index}.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value {}",
                        if n < 60 {
                            "greater than or equal to 60"
                        } else {
                            "less than or equal to 86400"
                        }
                    )));
                }
                retry.max_age = Duration::from_secs(n);
            }
        }
        let http = t.get("HttpParameters");
        Ok(Self {
            id: id.to_string(),
            arn: arn.to_string(),
            role_arn: t.get("RoleArn").and_then(Value::as_str).map(str::to_string),
            input,
            retry,
            dead_letter_arn: t
                .get("DeadLetterConfig")
                .and_then(|d| d.get("Arn"))
                .and_then(Value::as_str)
                .map(str::to_string),
            http: TargetHttp {
                path_values: strings(http.and_then(|h| h.get("PathParameterValues"))),
                headers: string_map(http.and_then(|h| h.get("HeaderParameters"))),
                query: string_map(http.and_then(|h| h.get("QueryStringParameters"))),
            },
            raw: t.clone(),
        })
    }
}

/// A rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleConfig {
    /// `Name`.
    pub name: String,
    /// `arn:aws:events:<region>:<account>:rule/<name>` (default bus) or `rule/<bus>/<name>`.
    pub arn: String,
    /// The bus name.
    pub bus: String,
    /// `EventPattern`.
    pub pattern: Option<EventPattern>,
    /// `ScheduleExpression` (accepted; not fired).
    pub schedule: Option<String>,
    /// `State`.
    pub state: RuleState,
    /// `Description`.
    pub description: Option<String>,
    /// `RoleArn` of the rule itself.
    pub role_arn: Option<String>,
    /// The targets, in the order they were put.
    pub targets: Vec<TargetConfig>,
}

impl RuleConfig {
    /// The rule's ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` on others.
    pub fn arn_for(region: &str, account: &str, bus: &str, name: &str) -> String {
        if bus == super::bus::DEFAULT_BUS {
            format!("arn:aws:events:{region}:{account}:rule/{name}")
        } else {
            format!("arn:aws:events:{region}:{account}:rule/{bus}/{name}")
        }
    }

    /// Checks a rule name as PutRule does.
    pub fn check_name(name: &str) -> Result<(), EventBridgeError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
            )));
        }
        if name.len() > 64 {
            return Err(EventBridgeError::validation(format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64"
            )));
        }
        Ok(())
    }

    /// Puts targets: replaces those with the same id, adds the rest; more than
    /// [`MAX_TARGETS`] in all is refused.
    pub fn put_targets(&mut self, targets: Vec<TargetConfig>) -> Result<(), EventBridgeError> {
        let mut next = self.targets.clone();
        for t in targets {
            match next.iter_mut().find(|x| x.id == t.id) {
                Some(slot) => *slot = t,
                None => next.push(t),
            }
        }
        if next.len() > MAX_TARGETS {
            return Err(EventBridgeError::TooManyTargets);
        }
        self.targets = next;
        Ok(())
    }
}
