//! Delivering a matched event to a rule's target
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html>).
//!
//! One delivery: EventBridge assumes the target's role (its trust policy must allow
//! `events.amazonaws.com` with the rule as `aws:SourceArn`), the role must allow the target's
//! action (`events:InvokeApiDestination` on the API destination, `states:StartExecution` on the
//! state machine), then:
//! - an API destination is called along its connection — the same path and credentials as the
//!   HTTP Task ([`super::invoke`]): private connections through VPC Lattice and the resource
//!   gateway — with EventBridge's own headers, the target's `HttpParameters` under the
//!   connection's (the connection wins), at most `InvocationRateLimitPerSecond` calls a second,
//!   each answered within [`API_DESTINATION_TIMEOUT`];
//! - a state machine gets an execution with the rule's input ([`ExecutionStarter`]).
//!
//! Failures that AWS retries (time-outs, socket failures, 401, 407, 409, 429 and 5xx answers,
//! eb-api-destinations.html "API destination error handling") are retried per the target's
//! `RetryPolicy` on tokio's clock, with exponential back-off; the others fail at once. A final
//! failure is recorded (trace, [`super::bus::EventBridge::deliveries`]) and names the
//! dead-letter queue when one is configured (a placeholder: no queue is emulated).

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use super::bus::{EventBridge, Matched};
use super::invoke::{self, InvokeErrorKind, Invoker, Reach, append_query, encode_pairs, merge};
use super::rule::TargetConfig;
use crate::iam::{DenialFormat, Principal, RequestContext, ServiceAssumption};
use crate::secrets::SecretsManager;
use crate::trace::{Trace, Verdict};

/// What a delivery is handed by the composition root ([`crate::world`] implements it): the
/// connection's invocation path ([`Reach`]), the buses with their delivery log and rate-limit
/// slots, and the secrets the connections keep their credentials in. A state machine target is
/// reached through an [`ExecutionStarter`] the caller gives, since Step Functions sits above
/// EventBridge.
pub trait Host: Reach {
    /// EventBridge: API destinations, rate-limit slots, the delivery log.
    fn eventbridge(&self) -> &EventBridge;
    /// Secrets Manager (the connections' secrets).
    fn secrets(&self) -> &SecretsManager;
}

/// "EventBridge requests to an API destination endpoint must have a maximum client execution
/// timeout of 5 seconds" (eb-api-destinations.html).
pub const API_DESTINATION_TIMEOUT: Duration = Duration::from_secs(5);
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
/// fidelity: AWS documents "exponential back off and jitter" without numbers; vpcgate waits
/// 1 s, 2 s, 4 s … capped at 5 minutes, without jitter, so runs repeat (README).
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The largest response body read from an API destination.
const MAX_RESPONSE: usize = 1024 * 1024;

/// Starts Step Functions executions for state machine targets: the edge's state machines on
/// `serve` (in the background, as StartExecution does), the scenario's in `vpcgate check` (run
/// to their end, so a case can show them). The handle EventBridge is given to reach Step
/// Functions, which sits above it; the starter knows the world it starts executions in.
#[async_trait::async_trait]
pub trait ExecutionStarter: Send + Sync {
    /// Starts an execution of `state_machine_arn` with `input`; the execution's ARN, or
    /// (error code, message) when there is no such machine or the input is refused.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        input: Value,
    ) -> Result<String, (String, String)>;
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryResult {
    /// The target took the event.
    Delivered {
        /// An API destination's HTTP status.
        status: Option<u16>,
        /// An API destination's response body (text).
        body: Option<String>,
        /// A state machine target's execution ARN.
        execution_arn: Option<String>,
    },
    /// The target did not take it.
    Failed {
        /// `ERROR_CODE` as the dead-letter message would carry it.
        code: String,
        /// `ERROR_MESSAGE`.
        message: String,
        /// The last HTTP status, if the endpoint answered.
        status: Option<u16>,
    },
}

/// One finished delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// The event's id.
    pub event_id: String,
    /// The rule's ARN.
    pub rule_arn: String,
    /// The target's id.
    pub target_id: String,
    /// The target's ARN.
    pub target_arn: String,
    /// Attempts made.
    pub attempts: u32,
    /// The outcome.
    pub result: DeliveryResult,
    /// The dead-letter queue the event went to (placeholder), if any.
    pub dead_letter_arn: Option<String>,
    /// The hops of this delivery, rendered (`/_vpcgate/events/deliveries`).
    pub trace: String,
}

impl DeliveryRecord {
    /// The record as JSON (`vpcgate check` output, `/_vpcgate/events/deliveries`).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "EventId": self.event_id,
            "RuleArn": self.rule_arn,
            "TargetId": self.target_id,
            "TargetArn": self.target_arn,
            "Attempts": self.attempts,
        });
        match &self.result {
            DeliveryResult::Delivered {
                status,
                body,
                execution_arn,
            } => {
                v["Status"] = json!("DELIVERED");
                if let Some(s) = status {
                    v["StatusCode"] = json!(s);
                }
                if let Some(b) = body {
                    v["ResponseBody"] = serde_json::from_str(b).unwrap_or_else(|_| json!(b));
                }
                if let Some(e) = execution_arn {
                    v["ExecutionArn"] = json!(e);
                }
            }
            DeliveryResult::Failed {
                code,
                message,
                status,
            } => {
                v["Status"] = json!("FAILED");
                v["ErrorCode"] = json!(code);
                v["ErrorMessage"] = json!(message);
                if let Some(s) = status {
                    v["StatusCode"] = json!(s);
                }
            }
        }
        if let Some(d) = &self.dead_letter_arn {
            v["DeadLetterArn"] = json!(d);
        }
        v
    }
}

/// One attempt's failure: whether AWS retries it.
pub(crate) struct Attempt {
    code: &'static str,
    message: String,
    status: Option<u16>,
    retry: bool,
}

impl Attempt {
    fn fatal(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: None,
            retry: false,
        }
    }
}

/// The session EventBridge gets from the target's role, or why not.
fn assume(host: &dyn Host, m: &Matched, trace: &Trace) -> Result<Principal, Attempt> {
    let Some(role_arn) = &m.target().role_arn else {
        return Err(Attempt::fatal(
            "NO_PERMISSIONS",
            format!(
                "Target {} has no RoleArn: EventBridge needs a role to invoke {}",
                m.target().id,
                m.target().arn
            ),
        ));
    };
    let region = m.rule.arn.split(':').nth(3).unwrap_or_default();
    let account = m.rule.arn.split(':').nth(4).unwrap_or_default();
    if host.iam().governs(role_arn) {
        host.iam()
            .service_assumes(
                role_arn,
                &ServiceAssumption {
                    service: "events.amazonaws.com",
                    source_arn: &m.rule.arn,
                    source_account: account,
                    region,
                    now: Some(host.clock().now_utc()),
                },
                trace,
            )
            .map_err(|e| {
                Attempt::fatal(
                    "NO_PERMISSIONS",
                    format!("EventBridge could not assume role {role_arn}: {e}"),
                )
            })?;
    }
    Ok(Principal::session_of(
        role_arn,
        &format!("events-{}", &m.target().id),
    ))
}

fn authorize(
    host: &dyn Host,
    principal: &Principal,
    action: &str,
    resource: &str,
    region: &str,
    trace: &Trace,
) -> Result<(), Attempt> {
    let ctx = RequestContext::for_request(host.clock().now_utc(), region);
    host.iam()
        .authorize(
            principal,
            action,
            resource,
            &ctx,
            None,
            &[],
            DenialFormat::PolicyType,
            trace,
        )
        .map(|_| ())
        .map_err(|d| Attempt::fatal("NO_PERMISSIONS", d.message))
}

/// Whether AWS retries an API destination's HTTP answer (eb-api-destinations.html: "retries
/// requests … 401, 407, 409, 429, and 5xx"; other 4xx and 1xx/3xx are not retried).
pub fn retried_status(status: u16) -> bool {
    matches!(status, 401 | 407 | 409 | 429) || (500..600).contains(&status)
}

/// Waits for the API destination's next invocation slot (its `InvocationRateLimitPerSecond`).
async fn rate_limit(host: &dyn Host, arn: &str, per_second: u32, trace: &Trace) {
    let gap = Duration::from_secs(1) / per_second.max(1);
    let wait_until = {
        let mut slots = host.eventbridge().slots.lock().expect("lock");
        let now = tokio::time::Instant::now();
        let slot = slots.get(arn).copied().filter(|s| *s > now).unwrap_or(now);
        slots.insert(arn.to_string(), slot + gap);
        slot
    };
    if wait_until > tokio::time::Instant::now() {
        trace.info(
            "events",
            format!(
                "rate limit {per_second}/s: waits {} ms for a slot",
                (wait_until - tokio::time::Instant::now()).as_millis()
            ),
        );
        tokio::time::sleep_until(wait_until).await;
    }
}

/// An API destination invocation whose checks passed ([`prepare`]): the session of the
/// target's role, the destination and its connection with the secret's credentials.
pub(crate) struct Ready {
    principal: Principal,
    dest: super::api_destination::ApiDestinationConfig,
    conn: super::ConnectionConfig,
}

impl Ready {
    /// The destination's `InvocationRateLimitPerSecond`.
    pub(crate) fn rate_limit(&self) -> u32 {
        self.dest.rate_limit
    }

    /// The destination's ARN (its rate limit's key).
    pub(crate) fn arn(&self) -> &str {
        &self.dest.arn
    }
}

/// What an API destination invocation checks before it takes a rate-limit slot, all without
/// waiting: the role EventBridge assumes, the destination, `events:InvokeApiDestination`, the
/// connection and its secret. A failure here is final (no retry) and uses no slot.
pub(crate) fn prepare(host: &dyn Host, m: &Matched, trace: &Trace) -> Result<Ready, Attempt> {
    let principal = assume(host, m, trace)?;
    let dest = host
        .eventbridge()
        .destination_by_arn(&m.target().arn)
        .ok_or_else(|| {
            Attempt::fatal(
                "RESOURCE_NOT_FOUND",
                format!("API destination {} does not exist", m.target().arn),
            )
        })?;
    let region = m.rule.arn.split(':').nth(3).unwrap_or_default();
    authorize(
        host,
        &principal,
        "events:InvokeApiDestination",
        &dest.arn,
        region,
        trace,
    )?;
    let conn = host
        .connections()
        .by_arn(&dest.connection_arn)
        .map_err(|e| Attempt::fatal("RESOURCE_NOT_FOUND", e.to_string()))?;
    // EventBridge reads the connection's secret itself (its service-linked role), not with the
    // target's role (eb-target-connection.html).
    let secret = host
        .secrets()
        .get(&conn.secret_arn)
        .map_err(|e| Attempt::fatal("SDK_CLIENT_ERROR", e.to_string()))?;
    let conn = conn.with_secret(&secret.value);
    Ok(Ready {
        principal,
        dest,
        conn,
    })
}

/// Sends one invocation of a [`prepare`]d API destination (its rate-limit slot taken) and reads
/// the answer.
pub(crate) async fn send(
    host: &dyn Host,
    m: &Matched,
    ready: &Ready,
    body: &str,
    trace: &Trace,
) -> Result<(u16, String), Attempt> {
    let Ready {
        principal,
        dest,
        conn,
    } = ready;
    // Dynamic path parameters: a value starting with `$.` is a JSON path into the original event
    // (eb-targets.html, "Dynamic path parameters"), as are header and query values.
    let resolve = |v: &String| -> String {
        if v.starts_with("$.") {
            super::transformer::JsonPath::parse(v)
                .and_then(|p| p.select(&m.event))
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .unwrap_or_default()
        } else {
            v.clone()
        }
    };
    let path_values: Vec<String> = m.target().http.path_values.iter().map(resolve).collect();
    let url = dest.url(&path_values);
    let parsed =
        invoke::url_lite::parse(&url).map_err(|e| Attempt::fatal("SDK_CLIENT_ERROR", e))?;
    trace.info(
        "events",
        format!(
            "API destination {}: {} {url} via connection {}",
            dest.name, dest.method, conn.name
        ),
    );
    let inv = Invoker {
        reach: host,
        principal,
        trace,
    };
    let mut headers: Vec<(String, String)> = m
        .target()
        .http
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), resolve(v)))
        .collect();
    merge(&mut headers, &conn.invocation_parameters.headers, true);
    let mut query: Vec<(String, String)> = m
        .target()
        .http
        .query
        .iter()
        .map(|(k, v)| (k.clone(), resolve(v)))
        .collect();
    merge(&mut query, &conn.invocation_parameters.query, false);
    let attempt_err = |e: invoke::InvokeError| Attempt {
        code: match e.kind {
            InvokeErrorKind::AccessDenied => "NO_PERMISSIONS",
            _ => "SDK_CLIENT_ERROR",
        },
        retry: matches!(e.kind, InvokeErrorKind::Socket),
        message: e.message,
        status: None,
    };
    // Boxed, as is the exchange below: the invocations in flight (super::queue) hold only what
    // they reached.
    Box::pin(invoke::credentials(&inv, conn, &mut headers))
        .await
        .map_err(attempt_err)?;
    // EventBridge's own headers (eb-api-destinations.html, "API destination HTTP headers").
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    headers.push((
        "User-Agent".into(),
        "Amazon/EventBridge/ApiDestinations".into(),
    ));
    headers.push(("Range".into(), format!("bytes=0-{}", MAX_RESPONSE - 1)));
    headers.push(("Accept-Encoding".into(), "gzip,deflate".into()));
    let mut path = parsed.path_and_query.clone();
    append_query(
        &mut path,
        &encode_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    let method = Method::from_bytes(dest.method.as_bytes()).unwrap_or(Method::POST);
    let send_body = !matches!(method, Method::GET | Method::HEAD);
    let exchange = Box::pin(invoke::exchange(
        &inv,
        conn,
        &parsed.host,
        parsed.port,
        method,
        &path,
        &headers,
        if send_body {
            Bytes::from(body.to_string())
        } else {
            Bytes::new()
        },
    ));
    let resp = match tokio::time::timeout(API_DESTINATION_TIMEOUT, exchange).await {
        Ok(r) => r.map_err(attempt_err)?,
        Err(_) => {
            trace.hop(
                "events",
                Verdict::Fail,
                format!(
                    "no answer from {url} within {} s",
                    API_DESTINATION_TIMEOUT.as_secs()
                ),
            );
            return Err(Attempt {
                code: "SDK_CLIENT_ERROR",
                message: format!(
                    "Unable to invoke ApiDestination endpoint: the request timed out after {} seconds",
                    API_DESTINATION_TIMEOUT.as_secs()
                ),
                status: None,
                retry: true,
            });
        }
    };
    let status = resp.status.as_u16();
    let text = String::from_utf8_lossy(&resp.body).to_string();
    if matches!(status, 401 | 407)
        && !matches!(
            conn.authorization,
            super::Authorization::OAuthClientCredentials { .. }
        )
    {
        // Basic and API key connections are de-authorized by a 401 or 407
        // (eb-target-connection-deauthorize.html).
        host.connections().deauthorize(&conn.arn);
    } else if matches!(status, 401 | 407) {
        host.connections().forget_token(&conn.arn);
    }
    if resp.status.is_success() {
        trace.pass(
            "events",
            format!("API destination {} answered {status}", dest.name),
        );
        Ok((status, text))
    } else {
        trace.hop(
            "events",
            Verdict::Fail,
            format!("API destination {} answered {status}", dest.name),
        );
        Err(Attempt {
            code: "SDK_CLIENT_ERROR",
            message: format!(
                "Unable to invoke ApiDestination endpoint: The endpoint responded with {status} {}",
                resp.status.canonical_reason().unwrap_or("")
            ),
            status: Some(status),
            retry: retried_status(status),
        })
    }
}

async fn attempt(
    host: &dyn Host,
    starter: Option<&dyn ExecutionStarter>,
    m: &Matched,
    body: &str,
    trace: &Trace,
) -> Result<DeliveryResult, Attempt> {
    // Only the targets that need a role assume one (API destinations, state machines): "For
    // Lambda, Amazon SNS, Amazon SQS, and Amazon CloudWatch Logs resources, EventBridge uses
    // resource-based policies" and a target of theirs has no RoleArn
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html), so
    // such a target is not refused for lacking one: it meets "vpcgate does not deliver" below.
    let service = m.target().arn.split(':').nth(2).unwrap_or_default();
    let region = m.rule.arn.split(':').nth(3).unwrap_or_default();
    if is_api_destination(&m.target().arn) {
        let ready = prepare(host, m, trace)?;
        rate_limit(host, ready.arn(), ready.rate_limit(), trace).await;
        let (status, text) = send(host, m, &ready, body, trace).await?;
        return Ok(DeliveryResult::Delivered {
            status: Some(status),
            body: Some(text),
            execution_arn: None,
        });
    }
    if service == "states" && m.target().arn.contains(":stateMachine:") {
        let principal = assume(host, m, trace)?;
        authorize(
            host,
            &principal,
            "states:StartExecution",
            &m.target().arn,
            region,
            trace,
        )?;
        let Some(starter) = starter else {
            return Err(Attempt::fatal(
                "RESOURCE_NOT_FOUND",
                "no state machines are known here",
            ));
        };
        let input: Value = serde_json::from_str(body).unwrap_or_else(|_| json!(body));
        let arn = starter
            .start_execution(&m.target().arn, input)
            .await
            .map_err(|(code, message)| {
                Attempt::fatal(
                    if code == "StateMachineDoesNotExist" {
                        "RESOURCE_NOT_FOUND"
                    } else {
                        "SDK_CLIENT_ERROR"
                    },
                    format!("{code}: {message}"),
                )
            })?;
        trace.pass("events", format!("started execution {arn}"));
        return Ok(DeliveryResult::Delivered {
            status: None,
            body: None,
            execution_arn: Some(arn),
        });
    }
    Err(Attempt::fatal(
        "SDK_CLIENT_ERROR",
        format!(
            "vpcgate does not deliver to {service} targets ({})",
            m.target().arn
        ),
    ))
}

/// Whether a target's ARN names an API destination (delivered along its connection at its
/// rate limit).
pub fn is_api_destination(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("events") && arn.contains(":api-destination/")
}

/// The wait before retry `n` (1-based).
pub fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF
        .checked_mul(1u32 << (n - 1).min(20))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

/// Logs a matched event that is not delivered because the world already holds
/// [`super::bus::MAX_PENDING_DELIVERIES`] deliveries in flight (vpcgate's bound; README, Limits).
pub fn backlog_full(host: &dyn Host, m: &Matched) {
    let record = DeliveryRecord {
        event_id: m.event["id"].as_str().unwrap_or_default().to_string(),
        rule_arn: m.rule.arn.clone(),
        target_id: m.target().id.clone(),
        target_arn: m.target().arn.clone(),
        attempts: 0,
        result: DeliveryResult::Failed {
            code: "VPCGATE_BACKLOG_FULL".to_string(),
            message: format!(
                "vpcgate holds at most {} deliveries in flight (waiting for a rate-limit slot or a retry); this one was not queued",
                super::bus::MAX_PENDING_DELIVERIES
            ),
            status: None,
        },
        dead_letter_arn: m.target().dead_letter_arn.clone(),
        trace: String::new(),
    };
    host.eventbridge().record(record);
}

/// The first hop of a delivery: which rule matched which event, for which target.
pub(crate) fn matched_hop(m: &Matched, trace: &Trace) {
    let t = m.target();
    trace.info(
        "events",
        format!(
            "rule {} matched event {}: target {} ({})",
            m.rule.name,
            m.event["id"].as_str().unwrap_or_default(),
            t.id,
            t.arn
        ),
    );
}

/// The end of a delivery whose target's `InputTemplate` cannot be rendered for the event.
pub(crate) fn unrenderable(t: &TargetConfig, trace: &Trace) -> DeliveryResult {
    // fidelity: AWS sends nothing (LocalStack's recorded `..._not_valid` cases see no
    // message); vpcgate records it as a failed delivery without an attempt (README).
    let message = format!(
        "The InputTemplate of target {} puts an object or array where the template cannot hold one: the event is not sent",
        t.id
    );
    trace.hop("events", Verdict::Fail, message.clone());
    DeliveryResult::Failed {
        code: "SDK_CLIENT_ERROR".to_string(),
        message,
        status: None,
    }
}

/// After failed attempt number `attempts` of a delivery begun `age` ago: the wait before the
/// next attempt when AWS retries it (a retried failure, attempts left, and the event still
/// younger than `MaximumEventAgeInSeconds` when the wait ends), else the delivery's end.
pub(crate) fn after_failure(
    t: &TargetConfig,
    attempts: u32,
    age: Duration,
    a: Attempt,
    trace: &Trace,
) -> Result<Duration, DeliveryResult> {
    let retries_left = attempts <= t.retry.max_attempts;
    let wait = backoff(attempts);
    let young = age + wait < t.retry.max_age;
    if a.retry && retries_left && young {
        trace.info(
            "events",
            format!(
                "attempt {attempts} failed ({}): retry in {} s",
                a.message,
                wait.as_secs()
            ),
        );
        return Ok(wait);
    }
    trace.hop(
        "events",
        Verdict::Fail,
        format!(
            "delivery to {} failed after {attempts} attempt(s): {} {}",
            t.id, a.code, a.message
        ),
    );
    Err(DeliveryResult::Failed {
        code: a.code.to_string(),
        message: a.message,
        status: a.status,
    })
}

/// Ends a delivery: names the dead-letter queue of a failed one; its record for the world's
/// EventBridge log, with its hops (from `first_hop` of `trace`; each hop's time moved on by
/// `shift`, the time between the delivery's start and the trace's).
pub(crate) fn finish(
    m: &Matched,
    attempts: u32,
    result: DeliveryResult,
    trace: &Trace,
    first_hop: usize,
    shift: Duration,
) -> DeliveryRecord {
    let t = m.target();
    let dead_letter_arn = match (&result, &t.dead_letter_arn) {
        (DeliveryResult::Failed { .. }, Some(dlq)) => {
            trace.info(
                "events",
                format!("event sent to dead-letter queue {dlq} (not emulated: recorded only)"),
            );
            Some(dlq.clone())
        }
        _ => None,
    };
    let shift_ms = shift.as_millis() as u64;
    DeliveryRecord {
        event_id: m.event["id"].as_str().unwrap_or_default().to_string(),
        rule_arn: m.rule.arn.clone(),
        target_id: t.id.clone(),
        target_arn: t.arn.clone(),
        attempts,
        result,
        dead_letter_arn,
        trace: trace
            .hops()
            .into_iter()
            .skip(first_hop)
            .map(|mut h| {
                h.at_ms += shift_ms;
                h.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Delivers one matched event to one target, retrying per its policy; records the outcome in
/// the world's EventBridge log. (`serve` queues its API destination deliveries instead:
/// [`super::queue`].)
pub async fn deliver(
    host: &dyn Host,
    starter: Option<&dyn ExecutionStarter>,
    m: &Matched,
    trace: &Trace,
) -> DeliveryRecord {
    let t: &TargetConfig = m.target();
    let rendered = t.input.try_render(&m.event, &m.rule.arn, &m.rule.name);
    matched_hop(m, trace);
    let start = tokio::time::Instant::now();
    let first_hop = trace.hops().len().saturating_sub(1);
    let mut attempts = 0;
    let result = loop {
        let Some(body) = &rendered else {
            break unrenderable(t, trace);
        };
        attempts += 1;
        match attempt(host, starter, m, body, trace).await {
            Ok(r) => break r,
            Err(a) => match after_failure(t, attempts, start.elapsed(), a, trace) {
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(end) => break end,
            },
        }
    };
    let record = finish(m, attempts, result, trace, first_hop, Duration::ZERO);
    host.eventbridge().record(record.clone());
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn retried_statuses_follow_the_documented_list() {
        for s in [401, 407, 409, 429, 500, 503] {
            assert!(retried_status(s), "{s}");
        }
        for s in [400, 403, 404, 302] {
            assert!(!retried_status(s), "{s}");
        }
    }
}
