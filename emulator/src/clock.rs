//! Wall-clock time that follows tokio's clock.
//!
//! vpcgate never reads `SystemTime::now()` or `std::time::Instant` in its components: durations
//! come from tokio's clock (so `#[tokio::test(start_paused = true)]` runs a 60 s timeout in
//! milliseconds), and wall-clock time (SigV4 skew checks, execution timestamps, `$$.State.EnteredTime`)
//! comes from a [`Clock`], which is a fixed base time advanced by tokio's clock. A test pins the base
//! (the SigV4 suite signs at 2015-08-30T12:36:00Z) and every later reading moves with virtual time,
//! the way aws-sigv4 takes its signing time as a parameter.

use std::time::{Duration, SystemTime};

/// A wall clock driven by tokio's monotonic clock.
#[derive(Clone, Debug)]
pub struct Clock {
    base: SystemTime,
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock that starts at the host's current time.
    #[allow(clippy::disallowed_methods)] // the one place that reads the host's wall clock
    pub fn system() -> Self {
        Self::pinned(SystemTime::now())
    }

    /// A clock that reads `at` now and moves on with tokio's clock.
    pub fn pinned(at: SystemTime) -> Self {
        Self {
            base: at,
            origin: tokio::time::Instant::now(),
        }
    }

    /// A clock pinned at `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        Self::pinned(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// The current wall-clock time.
    pub fn now(&self) -> SystemTime {
        self.base + self.origin.elapsed()
    }

    /// The current time as a UTC `chrono` timestamp.
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::from(self.now())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pinned_clock_moves_with_virtual_time() {
        let clock = Clock::at_unix(1_440_938_160); // 2015-08-30T12:36:00Z
        assert_eq!(clock.now_utc().to_rfc3339(), "2015-08-30T12:36:00+00:00");
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now_utc().to_rfc3339(), "2015-08-30T13:36:00+00:00");
    }
}
