//! Activities: tasks that workers poll for with GetActivityTask and answer with SendTask*
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html>).
//!
//! A Task state whose `Resource` is an activity ARN queues one task here; GetActivityTask
//! long-polls (60 s on the world's clock, API_GetActivityTask.html: "the maximum time for
//! each request is 60 seconds") and hands it to one worker, with its token and input.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, oneshot};

/// How long GetActivityTask waits for a task before answering with none.
pub const LONG_POLL: Duration = Duration::from_secs(60);

/// A task waiting for a worker.
#[derive(Debug)]
pub struct PendingTask {
    /// Its token.
    pub token: String,
    /// Its input (the state's effective parameters), as the JSON text GetActivityTask returns.
    pub input: String,
    /// Told the worker's name when one picks the task up.
    pub started: oneshot::Sender<Option<String>>,
}

/// One activity.
#[derive(Debug)]
pub struct Activity {
    /// Its name.
    pub name: String,
    /// CreateActivity's time.
    pub created: SystemTime,
    queue: VecDeque<PendingTask>,
}

/// The activities of one (account, Region).
#[derive(Debug, Default)]
pub struct Activities {
    by_arn: Mutex<BTreeMap<String, Activity>>,
    arrived: Notify,
}

/// What a worker got from GetActivityTask.
#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    /// The task token.
    pub token: String,
    /// The input JSON text.
    pub input: String,
}

impl Activities {
    /// CreateActivity: creating an existing name again returns the first creation date
    /// (idempotent, AWS-recorded in LocalStack's test_sfn_api_activities.snapshot.json).
    pub fn create(&self, arn: &str, name: &str, now: SystemTime) -> SystemTime {
        let mut m = self.by_arn.lock().expect("lock");
        m.entry(arn.to_string())
            .or_insert_with(|| Activity {
                name: name.to_string(),
                created: now,
                queue: VecDeque::new(),
            })
            .created
    }

    /// DescribeActivity: name and creation date.
    pub fn describe(&self, arn: &str) -> Option<(String, SystemTime)> {
        let m = self.by_arn.lock().expect("lock");
        m.get(arn).map(|a| (a.name.clone(), a.created))
    }

    /// ListActivities: every activity, by ARN.
    pub fn list(&self) -> Vec<(String, String, SystemTime)> {
        let m = self.by_arn.lock().expect("lock");
        m.iter()
            .map(|(arn, a)| (arn.clone(), a.name.clone(), a.created))
            .collect()
    }

    /// DeleteActivity (idempotent). Queued tasks are dropped: their states time out.
    pub fn delete(&self, arn: &str) {
        self.by_arn.lock().expect("lock").remove(arn);
    }

    /// Whether the activity exists.
    pub fn exists(&self, arn: &str) -> bool {
        self.by_arn.lock().expect("lock").contains_key(arn)
    }

    /// Queues a task; false when the activity does not exist.
    pub fn schedule(&self, arn: &str, task: PendingTask) -> bool {
        let mut m = self.by_arn.lock().expect("lock");
        let Some(a) = m.get_mut(arn) else {
            return false;
        };
        a.queue.push_back(task);
        drop(m);
        self.arrived.notify_waiters();
        true
    }

    fn take(&self, arn: &str, worker: Option<&str>) -> Option<Handed> {
        let mut m = self.by_arn.lock().expect("lock");
        let a = m.get_mut(arn)?;
        while let Some(t) = a.queue.pop_front() {
            // A task whose state already ended (timed out, stopped) is skipped.
            if t.started.send(worker.map(str::to_string)).is_ok() {
                return Some(Handed {
                    token: t.token,
                    input: t.input,
                });
            }
        }
        None
    }

    /// GetActivityTask: the next task of the activity, waiting up to [`LONG_POLL`] for one;
    /// `None` when none came.
    pub async fn poll(&self, arn: &str, worker: Option<&str>) -> Option<Handed> {
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(h) = self.take(arn, worker) {
                return Some(h);
            }
            if !self.exists(arn) {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_poll_waits_sixty_seconds_then_answers_none_and_a_queued_task_goes_to_one_worker() {
        let acts = std::sync::Arc::new(Activities::default());
        let arn = "arn:aws:states:us-east-1:123456789012:activity:a";
        acts.create(arn, "a", SystemTime::UNIX_EPOCH);
        let start = tokio::time::Instant::now();
        assert_eq!(acts.poll(arn, None).await, None);
        assert_eq!(start.elapsed(), LONG_POLL);
        let a2 = acts.clone();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            a2.schedule(
                arn,
                PendingTask {
                    token: "t".into(),
                    input: "{}".into(),
                    started: tx,
                },
            );
        });
        let got = acts.poll(arn, Some("w1")).await.unwrap();
        assert_eq!(got.token, "t");
        assert_eq!(rx.await.unwrap(), Some("w1".to_string()));
    }
}
