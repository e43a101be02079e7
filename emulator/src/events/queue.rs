//! API destination deliveries waiting for their rate-limit slot, as `serve` runs them: one
//! queue per API destination (and world thread), drained by one task that starts each
//! delivery only when its slot comes
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html>).
//!
//! An API destination takes at most `InvocationRateLimitPerSecond` invocations a second; past
//! it EventBridge holds the events and keeps trying within the target's retry window
//! ("if you set the invocation rate maximum to a value lower the rate necessary to send all
//! events … some events may not be delivered within the 24-hour retry window",
//! API_CreateApiDestination.html). So a waiting delivery is only data — [`Waiting`]: the
//! event as JSON text (shared by its targets), the rule and target, how many attempts it made
//! and when it joined the queue — and not a task, a future or a trace: up to
//! [`super::bus::MAX_PENDING_DELIVERIES`] of them cost [`WAITING_BYTES`] each in the queue, and
//! their events' text (tests/events_alloc.rs: about 370 bytes a delivery in all for the load
//! benchmark's event, where a waiting task with its future and trace took about 10 KB).
//!
//! When a delivery's slot comes the drainer runs what needs no waiting ([`super::target`]: the
//! target's role, `events:InvokeApiDestination`, the connection and its secret; a failure there
//! ends the delivery and uses no slot), takes the slot and starts the invocation; the
//! invocations in flight are driven by the drainer itself. A failed invocation that AWS retries
//! waits its back-off in the queue's retry heap, then rejoins the queue at its back (it takes the
//! next free slot, as a new event would), with the hops of its earlier attempts; the retry
//! policy (`MaximumRetryAttempts`, `MaximumEventAgeInSeconds`), the dead-letter queue and the
//! deliveries log are [`super::target`]'s, shared with [`super::target::deliver`]. A delivery
//! whose first slot comes after its target's `MaximumEventAgeInSeconds` is not sent: it is logged
//! as failed without an attempt (`VPCGATE_EVENT_AGE_EXCEEDED`, README's fidelity notes).
//!
//! The queue belongs to the world thread (shard) whose PutEvents filled it, as everything a
//! request causes stays on its shard ([`crate::clock`]); the rate limit's slots are shared by the
//! shards ([`super::bus::EventBridge`]). The drainer holds the clock's work while it has
//! anything to do, so `serve`'s virtual clock jumps to the next slot, as it did to each waiting
//! delivery's timer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::bus::{Matched, Parked, ParkedEvent};
use super::target::{
    self, DeliveryResult, Host, Ready, after_failure, finish, matched_hop, unrenderable,
};
use crate::trace::{Trace, Verdict};

/// A delivery waiting for its slot (or, in the retry heap, for its back-off to end).
pub(crate) struct Waiting {
    /// The delivery, its event as JSON text ([`Matched::park`]).
    p: Parked,
    /// Attempts made so far.
    attempts: u32,
    /// When it joined the queue (a retry: when its back-off ended).
    queued: Instant,
    /// A retried delivery's state; `None` before the first attempt.
    retry: Option<Box<Retrying>>,
}

/// What a delivery keeps between attempts.
struct Retrying {
    /// When the delivery began (its event's age counts from it).
    since: Instant,
    /// Its hops so far, and when that trace began.
    trace: Trace,
    origin: Instant,
}

/// A retry in the heap, by due time then arrival.
struct Due {
    at: Instant,
    seq: u64,
    w: Waiting,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct QueueState {
    /// Deliveries waiting for a slot, in order.
    waiting: VecDeque<Waiting>,
    /// Retries waiting for their back-off to end (earliest first).
    retries: BinaryHeap<Reverse<Due>>,
    seq: u64,
    /// Whether a drainer runs.
    running: bool,
}

impl QueueState {
    /// Moves the retries whose back-off ended by `now` to the back of the queue.
    fn wake_retries(&mut self, now: Instant) {
        while self.retries.peek().is_some_and(|Reverse(d)| d.at <= now) {
            if let Some(Reverse(d)) = self.retries.pop() {
                self.waiting.push_back(d.w);
            }
        }
    }
}

/// One API destination's queue on one world thread.
#[derive(Default)]
struct DestQueue {
    state: Mutex<QueueState>,
    /// Wakes the drainer when a delivery joins.
    joined: Notify,
}

/// The queues of a world's API destinations, by (destination ARN, world thread).
#[derive(Default)]
pub struct Queues(Mutex<HashMap<(String, usize), Arc<DestQueue>>>);

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues").finish_non_exhaustive()
    }
}

impl Queues {
    /// Deliveries waiting for a slot or a retry in all the queues.
    pub fn waiting(&self) -> usize {
        let queues: Vec<Arc<DestQueue>> = self.0.lock().expect("lock").values().cloned().collect();
        queues
            .iter()
            .map(|q| {
                let st = q.state.lock().expect("lock");
                st.waiting.len() + st.retries.len()
            })
            .sum()
    }
}

/// The bytes one waiting delivery takes in its queue (the event it shares with its other
/// targets aside).
pub const WAITING_BYTES: usize = std::mem::size_of::<Waiting>();

/// Queues each of `matched` (matched events for API destination targets, their places among the
/// deliveries in flight already taken) for its destination's next slot, in order.
pub fn enqueue_all<H>(host: &H, matched: Vec<Matched>)
where
    H: Host + Clone + 'static,
{
    // An event's deliveries come one after another: its text is made once for them.
    let mut last: Option<(Arc<serde_json::Value>, ParkedEvent)> = None;
    for m in matched {
        let text = match &last {
            Some((event, text)) if Arc::ptr_eq(event, &m.event) => text.clone(),
            _ => {
                let text = ParkedEvent::of(&m.event);
                last = Some((m.event.clone(), text.clone()));
                text
            }
        };
        enqueue(host, m.park(Some(text)));
    }
}

/// Queues `p` for its destination's next slot; starts the queue's drainer on this world thread
/// if none runs.
fn enqueue<H>(host: &H, p: Parked)
where
    H: Host + Clone + 'static,
{
    let shard = crate::clock::current_shard().unwrap_or(0);
    let queue = host
        .eventbridge()
        .queues
        .0
        .lock()
        .expect("lock")
        .entry((p.target().arn.clone(), shard))
        .or_default()
        .clone();
    let start = {
        let mut st = queue.state.lock().expect("lock");
        st.waiting.push_back(Waiting {
            p,
            attempts: 0,
            queued: Instant::now(),
            retry: None,
        });
        !std::mem::replace(&mut st.running, true)
    };
    if start {
        // Deliveries are work in flight: serve's virtual clock skips their waits (slots,
        // back-offs) only when nothing real is pending (crate::clock).
        let work = host.clock().work();
        tokio::spawn(drain(host.clone(), queue, work));
    } else {
        queue.joined.notify_one();
    }
}

/// An invocation in flight: the delivery and what its attempt gives.
struct InFlight {
    p: Parked,
    m: Matched,
    attempts: u32,
    since: Instant,
    trace: Trace,
    origin: Instant,
}

type Sent = (InFlight, Result<(u16, String), target::Attempt>);

/// What the drainer does next.
enum Next {
    /// Start this delivery: its slot has come.
    Start(Waiting),
    /// Wait for the next slot or retry (if any), an invocation's answer or a new delivery.
    Wait(Option<Instant>),
    /// Nothing left: the drainer ends.
    Done,
}

async fn drain<H: Host + Clone + 'static>(
    host: H,
    queue: Arc<DestQueue>,
    work: crate::clock::Work,
) {
    let host: &dyn Host = &host;
    let mut inflight = FuturesUnordered::new();
    let mut started = 0u32;
    loop {
        let now = Instant::now();
        let next = {
            let mut st = queue.state.lock().expect("lock");
            st.wake_retries(now);
            let retry_due = st.retries.peek().map(|Reverse(d)| d.at);
            match st.waiting.front() {
                None if retry_due.is_none() && inflight.is_empty() => {
                    st.running = false;
                    Next::Done
                }
                None => Next::Wait(retry_due),
                Some(w) => match next_slot(host, &w.p.target().arn, now) {
                    slot if slot <= now => match st.waiting.pop_front() {
                        Some(w) => Next::Start(w),
                        None => Next::Wait(retry_due),
                    },
                    slot => Next::Wait(Some(retry_due.map_or(slot, |r| r.min(slot)))),
                },
            }
        };
        match next {
            Next::Done => break,
            Next::Start(w) => {
                if let Some(fut) = start(host, w, now, &queue) {
                    inflight.push(fut);
                }
                // Many deliveries can start at once (slots that passed while the thread was
                // busy, checks that fail without a slot): let the thread's other work run.
                started += 1;
                if started.is_multiple_of(64) {
                    tokio::task::yield_now().await;
                }
            }
            Next::Wait(wake) => {
                started = 0;
                tokio::select! {
                    Some((d, result)) = inflight.next(), if !inflight.is_empty() => {
                        answered(host, d, result, &queue);
                    }
                    _ = sleep_until(wake), if wake.is_some() => {}
                    _ = queue.joined.notified() => {}
                }
            }
        }
    }
    drop(work);
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The time of the destination's next free slot (its rate limit's slots are shared by the
/// world threads): `now` when it is free now.
fn next_slot(host: &dyn Host, arn: &str, now: Instant) -> Instant {
    let slots = host.eventbridge().slots.lock().expect("lock");
    slots.get(arn).copied().filter(|s| *s > now).unwrap_or(now)
}

/// Takes the destination's slot due by `now`: the next one comes `1 / per_second` after it (the
/// slot itself, not `now`, so a late wake does not slow the rate). Returns the slot's time.
fn take_slot(host: &dyn Host, arn: &str, per_second: u32, now: Instant) -> Instant {
    let gap = Duration::from_secs(1) / per_second.max(1);
    let mut slots = host.eventbridge().slots.lock().expect("lock");
    let slot = slots
        .get(arn)
        .copied()
        .filter(|s| *s + gap > now)
        .unwrap_or(now)
        .min(now);
    slots.insert(arn.to_string(), slot + gap);
    slot
}

/// Starts a delivery whose slot has come: the checks, then (they passed) the slot taken and the
/// invocation's future; or the delivery's end.
fn start<'h>(
    host: &'h dyn Host,
    w: Waiting,
    now: Instant,
    queue: &Arc<DestQueue>,
) -> Option<futures::future::BoxFuture<'h, Sent>> {
    let Waiting {
        p,
        mut attempts,
        queued,
        retry,
    } = w;
    let m = p.unpark();
    let (trace, origin, since) = match retry {
        Some(r) => (r.trace, r.origin, r.since),
        None => {
            let trace = Trace::new();
            matched_hop(&m, &trace);
            (trace, now, queued)
        }
    };
    let end = |m: &Matched, attempts: u32, result: DeliveryResult, trace: &Trace| {
        done(host, m, attempts, result, trace, origin, since);
    };
    let t = m.target();
    let age = now.saturating_duration_since(since);
    if attempts == 0 && age >= t.retry.max_age {
        let message = format!(
            "the event waited {} s for a rate-limit slot of {}, past the target's MaximumEventAgeInSeconds ({} s): it is not sent",
            age.as_secs(),
            t.arn,
            t.retry.max_age.as_secs()
        );
        trace.hop("events", Verdict::Fail, message.clone());
        let result = DeliveryResult::Failed {
            code: "VPCGATE_EVENT_AGE_EXCEEDED".to_string(),
            message,
            status: None,
        };
        end(&m, attempts, result, &trace);
        return None;
    }
    let Some(body) = t.input.try_render(&m.event, &m.rule.arn, &m.rule.name) else {
        let result = unrenderable(t, &trace);
        end(&m, attempts, result, &trace);
        return None;
    };
    attempts += 1;
    let ready: Ready = match target::prepare(host, &m, &trace) {
        Ok(r) => r,
        Err(a) => {
            match after_failure(t, attempts, age, a, &trace) {
                Ok(wait) => requeue(queue, p, attempts, since, trace, origin, now + wait),
                Err(result) => end(&m, attempts, result, &trace),
            }
            return None;
        }
    };
    let slot = take_slot(host, ready.arn(), ready.rate_limit(), now);
    if slot > queued {
        trace.info(
            "events",
            format!(
                "rate limit {}/s: waits {} ms for a slot",
                ready.rate_limit(),
                (slot - queued).as_millis()
            ),
        );
    }
    Some(Box::pin(async move {
        let result = target::send(host, &m, &ready, &body, &trace).await;
        let d = InFlight {
            p,
            m,
            attempts,
            since,
            trace,
            origin,
        };
        (d, result)
    }))
}

/// An invocation's answer: the delivery's end, or its retry queued after the back-off.
fn answered(
    host: &dyn Host,
    d: InFlight,
    result: Result<(u16, String), target::Attempt>,
    queue: &Arc<DestQueue>,
) {
    let InFlight {
        p,
        m,
        attempts,
        since,
        trace,
        origin,
    } = d;
    let now = Instant::now();
    let result = match result {
        Ok((status, text)) => DeliveryResult::Delivered {
            status: Some(status),
            body: Some(text),
            execution_arn: None,
        },
        Err(a) => match after_failure(m.target(), attempts, now - since, a, &trace) {
            Ok(wait) => {
                requeue(queue, p, attempts, since, trace, origin, now + wait);
                return;
            }
            Err(result) => result,
        },
    };
    done(host, &m, attempts, result, &trace, origin, since);
}

/// Puts a delivery to retry in the queue's retry heap until `at`.
fn requeue(
    queue: &Arc<DestQueue>,
    p: Parked,
    attempts: u32,
    since: Instant,
    trace: Trace,
    origin: Instant,
    at: Instant,
) {
    let mut st = queue.state.lock().expect("lock");
    st.seq += 1;
    let seq = st.seq;
    st.retries.push(Reverse(Due {
        at,
        seq,
        w: Waiting {
            p,
            attempts,
            queued: at,
            retry: Some(Box::new(Retrying {
                since,
                trace,
                origin,
            })),
        },
    }));
}

/// Ends a delivery: logs it (its hops timed from the delivery's start, as
/// [`super::target::deliver`]'s are) and gives back its place among the deliveries in flight.
fn done(
    host: &dyn Host,
    m: &Matched,
    attempts: u32,
    result: DeliveryResult,
    trace: &Trace,
    origin: Instant,
    since: Instant,
) {
    let record = finish(
        m,
        attempts,
        result,
        trace,
        0,
        origin.saturating_duration_since(since),
    );
    host.eventbridge().record(record);
    host.eventbridge().release_deliveries(1);
}
