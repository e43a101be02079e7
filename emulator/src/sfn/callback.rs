//! Task tokens: the callback pattern (`.waitForTaskToken`) and activities wait on a token that
//! SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat answer
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>).
//!
//! A waiting task holds the virtual clock (crate::clock): it waits on a real client, so the
//! clock must not jump past its `HeartbeatSeconds` or `TimeoutSeconds` while nothing else runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::StatesError;
use crate::asl::error::names;

/// What a client sends for a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure: the task's error and cause (either may be absent).
    Failure {
        /// `error`.
        error: Option<String>,
        /// `cause`.
        cause: Option<String>,
    },
    /// SendTaskHeartbeat: the task is alive; its `HeartbeatSeconds` start again.
    Heartbeat,
}

/// Why a Send* call was refused (mapped to AWS's wire errors in `edge::sfn_api`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The string is no token Step Functions issued.
    #[error("Invalid Token: 'Invalid token'")]
    InvalidToken,
    /// A token Step Functions issued whose task has ended (answered, timed out, stopped).
    #[error("Task Timed Out: 'Provided task does not exist anymore'")]
    TaskTimedOut,
}

/// The tokens of one world's waiting tasks.
#[derive(Debug, Default)]
pub struct Callbacks {
    waiting: Mutex<HashMap<String, mpsc::UnboundedSender<Signal>>>,
}

impl Callbacks {
    /// Starts waiting on `token`; the wait ends when the returned [`Waiter`] is dropped.
    pub fn register(self: &Arc<Self>, token: &str) -> Waiter {
        let (tx, rx) = mpsc::unbounded_channel();
        self.waiting
            .lock()
            .expect("lock")
            .insert(token.to_string(), tx);
        Waiter {
            owner: self.clone(),
            token: token.to_string(),
            rx,
        }
    }

    /// Delivers a client's answer to the task waiting on `token`.
    pub fn send(&self, token: &str, signal: Signal) -> Result<(), CallbackError> {
        if !crate::asl::is_task_token(token) {
            return Err(CallbackError::InvalidToken);
        }
        let mut waiting = self.waiting.lock().expect("lock");
        let Some(tx) = waiting.get(token) else {
            return Err(CallbackError::TaskTimedOut);
        };
        let last = !matches!(signal, Signal::Heartbeat);
        if tx.send(signal).is_err() {
            waiting.remove(token);
            return Err(CallbackError::TaskTimedOut);
        }
        if last {
            // A token is answered once: a second SendTaskSuccess finds no task.
            waiting.remove(token);
        }
        Ok(())
    }
}

/// One task waiting on its token.
#[derive(Debug)]
pub struct Waiter {
    owner: Arc<Callbacks>,
    token: String,
    rx: mpsc::UnboundedReceiver<Signal>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.owner.waiting.lock().expect("lock").remove(&self.token);
    }
}

impl Waiter {
    /// Waits for SendTaskSuccess or SendTaskFailure. With `heartbeat`, a gap longer than it
    /// between heartbeats (counted from the call) fails the task with
    /// `States.HeartbeatTimeout` (concepts-error-handling.html). The state's `TimeoutSeconds`
    /// is the interpreter's.
    pub async fn wait(mut self, heartbeat: Option<Duration>) -> Result<Value, StatesError> {
        loop {
            let next = async {
                match heartbeat {
                    Some(h) => tokio::time::timeout(h, self.rx.recv()).await.ok(),
                    None => Some(self.rx.recv().await),
                }
            };
            match next.await {
                None => return Err(StatesError::named(names::HEARTBEAT_TIMEOUT)),
                Some(None) => return Err(StatesError::named(names::TIMEOUT)),
                Some(Some(Signal::Heartbeat)) => continue,
                Some(Some(Signal::Success(v))) => return Ok(v),
                Some(Some(Signal::Failure { error, cause })) => {
                    return Err(StatesError {
                        error: error.unwrap_or_default(),
                        cause,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[tokio::test(start_paused = true)]
    async fn heartbeats_keep_a_task_alive_and_their_absence_ends_it() {
        let cb = Arc::new(Callbacks::default());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let token = crate::asl::new_task_token(&mut rng);
        let w = cb.register(&token);
        let cb2 = cb.clone();
        let t2 = token.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(8)).await;
                cb2.send(&t2, Signal::Heartbeat).unwrap();
            }
            tokio::time::sleep(Duration::from_secs(8)).await;
            cb2.send(&t2, Signal::Success(serde_json::json!({"ok": 1})))
                .unwrap();
        });
        let start = tokio::time::Instant::now();
        let v = w.wait(Some(Duration::from_secs(10))).await.unwrap();
        assert_eq!(v, serde_json::json!({"ok": 1}));
        assert_eq!(start.elapsed(), Duration::from_secs(32));
        // Answered: the token is gone.
        assert_eq!(
            cb.send(&token, Signal::Heartbeat),
            Err(CallbackError::TaskTimedOut)
        );
        assert_eq!(
            cb.send("not-a-token", Signal::Heartbeat),
            Err(CallbackError::InvalidToken)
        );
        let token = crate::asl::new_task_token(&mut rng);
        let w = cb.register(&token);
        let e = w.wait(Some(Duration::from_secs(10))).await.unwrap_err();
        assert_eq!(e.error, names::HEARTBEAT_TIMEOUT);
    }
}
