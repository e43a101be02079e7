//! Wall-clock time that follows tokio's clock.
//!
//! vpcgate never reads `SystemTime::now()` or `std::time::Instant` in its components: durations
//! come from tokio's clock (so `#[tokio::test(start_paused = true)]` runs a 60 s timeout in
//! milliseconds), and wall-clock time (SigV4 skew checks, execution timestamps, `$$.State.EnteredTime`)
//! comes from a [`Clock`], which is a fixed base time advanced by tokio's clock. A test pins the base
//! (the SigV4 suite signs at 2015-08-30T12:36:00Z) and every later reading moves with virtual time,
//! the way aws-sigv4 takes its signing time as a parameter.

//!
//! # Virtual time for real clients (`vpcgate serve`)
//!
//! `serve` runs its world on a current-thread tokio runtime whose clock is paused
//! ([`VirtualTime`]). Such a runtime advances its clock to the next timer whenever it has
//! nothing else to do, unless a blocking task is running (tokio's `spawn_blocking` inhibits the
//! auto-advance while it runs). vpcgate keeps one such blocking task — the *gate* — in place
//! whenever the clock must not jump:
//! - while no work is in flight (no request being answered, no execution running), so an idle
//!   world's periodic timers (health checks) do not race ahead;
//! - while anything real is in flight ([`Clock::hold`]): a connection to a user's own service
//!   behind a load balancer, a client tunnelled through an instance's proxy.
//!
//! Otherwise — work in flight and every piece of it waiting on a timer — the clock jumps to the
//! next timer: a 60 s time-out takes no wall time. Besides the jumps, a ticker moves the clock on
//! with the host's time, so an idle world keeps the time of day. SigV4 skew is judged against
//! the host's time ([`Clock::host_now`]), so a client signing with its own clock stays valid after
//! any number of skipped time-outs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A wall clock driven by tokio's monotonic clock.
#[derive(Clone, Debug)]
pub struct Clock {
    base: SystemTime,
    origin: tokio::time::Instant,
    virtual_time: Option<Arc<VirtualTime>>,
}

/// The gate of a paused world runtime: whether its clock may jump to the next timer (see the
/// module docs).
#[derive(Debug)]
#[allow(clippy::disallowed_types)] // the host's own clock, read for SigV4 only
pub struct VirtualTime {
    runtime: tokio::runtime::Handle,
    state: Mutex<GateState>,
    /// Host time when the clock was made (for [`Clock::host_now`]).
    host_base: SystemTime,
    host_origin: std::time::Instant,
}

#[derive(Debug, Default)]
struct GateState {
    work: usize,
    holds: usize,
    /// The running blocking task that keeps the clock from jumping, if any.
    blocker: Option<std::sync::mpsc::Sender<()>>,
}

impl VirtualTime {
    /// The gate of `runtime`, a current-thread runtime built with `start_paused(true)`; closed
    /// until work arrives.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // host time, for SigV4 only
    pub fn new(runtime: tokio::runtime::Handle) -> Arc<Self> {
        let vt = Arc::new(Self {
            runtime,
            state: Mutex::new(GateState::default()),
            host_base: SystemTime::now(),
            host_origin: std::time::Instant::now(),
        });
        vt.update(&mut vt.state.lock().expect("gate lock"));
        vt
    }

    fn update(&self, st: &mut GateState) {
        let closed = st.work == 0 || st.holds > 0;
        if closed && st.blocker.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            // Inhibits the paused clock's auto-advance until it returns.
            drop(self.runtime.spawn_blocking(move || {
                let _ = rx.recv();
            }));
            st.blocker = Some(tx);
        } else if !closed && let Some(tx) = st.blocker.take() {
            let _ = tx.send(());
        }
    }

    fn change(self: &Arc<Self>, work: isize, holds: isize) {
        let mut st = self.state.lock().expect("gate lock");
        st.work = st.work.saturating_add_signed(work);
        st.holds = st.holds.saturating_add_signed(holds);
        self.update(&mut st);
    }

    /// Whether the clock may jump now (work in flight, nothing real).
    pub fn open(&self) -> bool {
        self.state.lock().expect("gate lock").blocker.is_none()
    }

    /// Moves the world's clock on with the host's time: every `tick` of host time, the clock
    /// advances by the host time that passed. Runs until the runtime shuts down.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // host time is the point
    pub fn tick_with_host_time(self: &Arc<Self>, tick: Duration) {
        let runtime = self.runtime.clone();
        std::thread::Builder::new()
            .name("vpcgate-clock".into())
            .spawn(move || {
                let mut last = std::time::Instant::now();
                loop {
                    std::thread::sleep(tick);
                    let now = std::time::Instant::now();
                    let delta = now - last;
                    last = now;
                    let advanced = runtime.spawn(async move { tokio::time::advance(delta).await });
                    if futures::executor::block_on(advanced).is_err() {
                        return;
                    }
                }
            })
            .expect("a clock thread");
    }
}

/// Work in flight on a virtual clock (a request being answered, an execution running): while
/// any exists and nothing real holds the clock, it jumps to the next timer.
#[derive(Debug)]
#[must_use = "the work ends when the guard is dropped"]
pub struct Work(Option<Arc<VirtualTime>>);

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(vt) = &self.0 {
            vt.change(-1, 0);
        }
    }
}

/// Something real in flight (a host socket): the virtual clock does not jump until it ends.
#[derive(Debug)]
#[must_use = "the hold ends when the guard is dropped"]
pub struct Hold(Option<Arc<VirtualTime>>);

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(vt) = &self.0 {
            vt.change(0, -1);
        }
    }
}

/// The host's time at which a real client's request arrived (a request extension): SigV4 skew
/// is judged against it rather than the world's virtual time.
#[derive(Clone, Copy, Debug)]
pub struct HostTime(pub SystemTime);

/// A host socket that holds the virtual clock for as long as it is open.
#[derive(Debug)]
pub struct Held<T> {
    inner: T,
    _hold: Hold,
}

impl<T> Held<T> {
    /// `inner`, holding `hold` until it is dropped.
    pub fn new(inner: T, hold: Hold) -> Self {
        Self { inner, _hold: hold }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Held<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Held<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
            virtual_time: None,
        }
    }

    /// The host's current time on a clock whose tokio clock is paused and gated by `gate`
    /// (`serve`'s virtual time). Must be made inside that runtime.
    pub fn virtual_from_host(gate: Arc<VirtualTime>) -> Self {
        Self {
            base: gate.host_base,
            origin: tokio::time::Instant::now(),
            virtual_time: Some(gate),
        }
    }

    /// Marks work in flight until the guard drops (no-op on a clock that is not virtual).
    pub fn work(&self) -> Work {
        if let Some(vt) = &self.virtual_time {
            vt.change(1, 0);
        }
        Work(self.virtual_time.clone())
    }

    /// Holds the clock while something real is in flight (no-op on a clock that is not virtual).
    pub fn hold(&self) -> Hold {
        if let Some(vt) = &self.virtual_time {
            vt.change(0, 1);
        }
        Hold(self.virtual_time.clone())
    }

    /// The host's time, for checks against clients' own clocks (SigV4 skew): the same as
    /// [`Clock::now`] unless the clock is virtual, whose time runs ahead of the host's by the
    /// time-outs it skipped.
    pub fn host_now(&self) -> SystemTime {
        match &self.virtual_time {
            Some(vt) => vt.host_base + vt.host_origin.elapsed(),
            None => self.now(),
        }
    }

    /// Whether this clock is `serve`'s virtual clock.
    pub fn is_virtual(&self) -> bool {
        self.virtual_time.is_some()
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
