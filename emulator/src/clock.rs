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
//!
//! # Shards (`serve --world-threads N`)
//!
//! With N > 1 the world runs on N such runtimes, one thread each (the *shards*), so requests are
//! answered on every core; the world itself stays one value that every shard reads. Each shard
//! has its own gate ([`VirtualTime::sharded`]) and the rules above hold per shard:
//! - a shard's clock jumps only when all the work on *that* shard waits on timers; work counts on
//!   the shard it runs on ([`Clock::work`] on a world thread, [`Clock::work_on`] from the
//!   listener, which picks the shard of each request);
//! - a hold (anything real in flight) closes *every* shard's gate: whatever waits on a real
//!   socket may be awaited from any shard;
//! - a request and everything it causes stays on its shard: its execution, the execution's
//!   HTTP Task and its redrive, the EventBridge deliveries of a PutEvents, and every in-memory
//!   connection it opens (a listener in the virtual network serves a connection on the runtime
//!   that dialled it: `vpc::Network::serve`; kept-alive connections are pooled per shard). A
//!   shard never waits on another shard's timers. Background loops built with the world (health
//!   checks, instances' proxies) run on shard 0;
//! - the ticker moves every shard's clock on with the host's time, so each shard's tokio clock
//!   reads host time plus the time-outs *it* skipped. Wall-clock readings ([`Clock::now`]) add
//!   the time-outs the other shards skipped, and never go back across shards: one wall clock
//!   for the whole world, monotonic for every resource whichever shard writes it, on which a
//!   shard's own waits last at least as long as they did on its timers.
//!
//! With one shard (`--world-threads 1`) everything is as above without the sharding:
//! [`Clock::now`] is exactly the runtime's clock. Tests' `start_paused` runtimes have no gate.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A wall clock driven by tokio's monotonic clock.
#[derive(Clone, Debug)]
pub struct Clock {
    base: SystemTime,
    origin: tokio::time::Instant,
    virtual_time: Option<Arc<VirtualTime>>,
}

thread_local! {
    /// The shard whose thread this is ([`enter_shard`]); `None` off the world's threads.
    static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Marks the calling thread as the one driving shard `shard`'s runtime (`serve` calls it on
/// each world thread before it runs its runtime): [`Clock::work`] made here counts on that
/// shard's gate, and [`current_shard`] names it.
pub fn enter_shard(shard: usize) {
    SHARD.with(|s| s.set(Some(shard)));
}

/// The shard whose runtime the calling thread drives, if any ([`enter_shard`]).
pub fn current_shard() -> Option<usize> {
    SHARD.with(Cell::get)
}

/// The gates of `serve`'s paused world runtimes — one per shard (world thread) — and the time
/// they skipped: whether each clock may jump to its next timer (see the module docs).
#[derive(Debug)]
#[allow(clippy::disallowed_types)] // the host's own clock, read for SigV4 only
pub struct VirtualTime {
    shards: Vec<Gate>,
    /// Holds in flight ([`Clock::hold`]): while any, no shard's clock jumps.
    holds: AtomicUsize,
    /// With several shards, the latest wall-clock reading any of them made (ns after the Unix
    /// epoch): readings never go back across shards.
    high_water: AtomicU64,
    /// Host time when the clock was made (for [`Clock::host_now`]).
    host_base: SystemTime,
    host_origin: std::time::Instant,
}

/// One shard's gate.
#[derive(Debug)]
struct Gate {
    runtime: tokio::runtime::Handle,
    state: Mutex<GateState>,
    /// The time-outs this shard's clock skipped, in ns, as its last wall-clock reading saw them
    /// (never decreases): what the other shards' readings add.
    skipped: AtomicU64,
}

#[derive(Debug, Default)]
struct GateState {
    work: usize,
    /// The running blocking task that keeps the clock from jumping, if any.
    blocker: Option<std::sync::mpsc::Sender<()>>,
}

impl Gate {
    fn update(&self, st: &mut GateState, held: bool) {
        let closed = st.work == 0 || held;
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
}

impl VirtualTime {
    /// The gate of `runtime`, a current-thread runtime built with `start_paused(true)`; closed
    /// until work arrives.
    pub fn new(runtime: tokio::runtime::Handle) -> Arc<Self> {
        Self::sharded(vec![runtime])
    }

    /// The gates of `runtimes`, one per shard (shard `i` is `runtimes[i]`, whose thread calls
    /// [`enter_shard`]`(i)`), each a current-thread runtime built with `start_paused(true)`;
    /// closed until work arrives.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // host time, for SigV4 only
    pub fn sharded(runtimes: Vec<tokio::runtime::Handle>) -> Arc<Self> {
        let vt = Arc::new(Self {
            shards: runtimes
                .into_iter()
                .map(|runtime| Gate {
                    runtime,
                    state: Mutex::new(GateState::default()),
                    skipped: AtomicU64::new(0),
                })
                .collect(),
            holds: AtomicUsize::new(0),
            high_water: AtomicU64::new(0),
            host_base: SystemTime::now(),
            host_origin: std::time::Instant::now(),
        });
        for gate in &vt.shards {
            gate.update(&mut gate.state.lock().expect("gate lock"), false);
        }
        vt
    }

    /// How many shards (world runtimes) there are.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Shard `shard`'s runtime.
    pub fn runtime(&self, shard: usize) -> Option<&tokio::runtime::Handle> {
        self.shards.get(shard).map(|g| &g.runtime)
    }

    fn gate(&self, shard: usize) -> &Gate {
        // `shards` is never empty; an index past it (a thread of another process's shards) is
        // shard 0's.
        self.shards.get(shard).unwrap_or(&self.shards[0])
    }

    fn change_work(&self, shard: usize, work: isize) {
        let gate = self.gate(shard);
        let mut st = gate.state.lock().expect("gate lock");
        st.work = st.work.saturating_add_signed(work);
        // Read under the gate's lock: a hold that changes after this read updates this gate
        // itself once it takes the lock (see `change_holds`).
        let held = self.holds.load(Ordering::SeqCst) > 0;
        gate.update(&mut st, held);
    }

    fn change_holds(&self, holds: isize) {
        let before = if holds >= 0 {
            self.holds.fetch_add(holds.unsigned_abs(), Ordering::SeqCst)
        } else {
            self.holds.fetch_sub(holds.unsigned_abs(), Ordering::SeqCst)
        };
        let after = before.saturating_add_signed(holds);
        if (before > 0) != (after > 0) {
            for gate in &self.shards {
                let mut st = gate.state.lock().expect("gate lock");
                let held = self.holds.load(Ordering::SeqCst) > 0;
                gate.update(&mut st, held);
            }
        }
    }

    /// Whether the clock of the calling thread's shard (shard 0 off the world's threads) may
    /// jump now (work in flight, nothing real).
    pub fn open(&self) -> bool {
        self.open_on(current_shard().unwrap_or(0))
    }

    /// Whether shard `shard`'s clock may jump now.
    pub fn open_on(&self, shard: usize) -> bool {
        self.gate(shard)
            .state
            .lock()
            .expect("gate lock")
            .blocker
            .is_none()
    }

    /// Moves every shard's clock on with the host's time: every `tick` of host time, each clock
    /// advances by the host time that passed. Runs until the runtimes shut down.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // host time is the point
    pub fn tick_with_host_time(self: &Arc<Self>, tick: Duration) {
        let runtimes: Vec<tokio::runtime::Handle> =
            self.shards.iter().map(|g| g.runtime.clone()).collect();
        std::thread::Builder::new()
            .name("vpcgate-clock".into())
            .spawn(move || {
                let mut last = std::time::Instant::now();
                loop {
                    std::thread::sleep(tick);
                    let now = std::time::Instant::now();
                    let delta = now - last;
                    last = now;
                    let advanced: Vec<_> = runtimes
                        .iter()
                        .map(|rt| rt.spawn(async move { tokio::time::advance(delta).await }))
                        .collect();
                    for a in advanced {
                        if futures::executor::block_on(a).is_err() {
                            return;
                        }
                    }
                }
            })
            .expect("a clock thread");
    }

    /// The time-outs the calling thread's shard skipped so far: how far its tokio clock runs
    /// ahead of the host's (a paused runtime's clock starts at the host's instant it was built
    /// at and moves by the ticker and by jumps), published for the other shards' readings.
    #[allow(clippy::disallowed_methods)] // host time: what the shard's clock is compared with
    fn publish_skipped(&self, shard: usize) {
        let ahead = tokio::time::Instant::now()
            .into_std()
            .saturating_duration_since(std::time::Instant::now());
        let ns = u64::try_from(ahead.as_nanos()).unwrap_or(u64::MAX);
        self.gate(shard).skipped.fetch_max(ns, Ordering::Relaxed);
    }

    /// The time-outs skipped by the shards other than `shard` (all of them for `None`).
    fn skipped_elsewhere(&self, shard: Option<usize>) -> Duration {
        let ns = self
            .shards
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != shard)
            .map(|(_, g)| g.skipped.load(Ordering::Relaxed))
            .fold(0u64, u64::saturating_add);
        Duration::from_nanos(ns)
    }
}

/// Work in flight on a virtual clock (a request being answered, an execution running): while
/// any exists on a shard and nothing real holds the clock, that shard's clock jumps to its next
/// timer.
#[derive(Debug)]
#[must_use = "the work ends when the guard is dropped"]
pub struct Work(Option<(Arc<VirtualTime>, usize)>);

impl Drop for Work {
    fn drop(&mut self) {
        if let Some((vt, shard)) = &self.0 {
            vt.change_work(*shard, -1);
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
            vt.change_holds(-1);
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

    /// Marks work in flight on the calling thread's shard until the guard drops (no-op on a
    /// clock that is not virtual). Off the world's threads, shard 0's: a caller that hands the
    /// work to another shard names it ([`Clock::work_on`]).
    pub fn work(&self) -> Work {
        self.work_on(current_shard().unwrap_or(0))
    }

    /// Marks work in flight on shard `shard` until the guard drops (no-op on a clock that is not
    /// virtual): what runs there next, handed over from another thread.
    pub fn work_on(&self, shard: usize) -> Work {
        Work(self.virtual_time.as_ref().map(|vt| {
            vt.change_work(shard, 1);
            (vt.clone(), shard)
        }))
    }

    /// Holds every shard's clock while something real is in flight (no-op on a clock that is
    /// not virtual).
    pub fn hold(&self) -> Hold {
        if let Some(vt) = &self.virtual_time {
            vt.change_holds(1);
        }
        Hold(self.virtual_time.clone())
    }

    /// The gates of `serve`'s world runtimes, if this clock is virtual.
    pub fn virtual_time(&self) -> Option<&Arc<VirtualTime>> {
        self.virtual_time.as_ref()
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
    ///
    /// On a virtual clock with several shards: this shard's own reading (host time and the
    /// time-outs it skipped) plus the time-outs the other shards skipped, and never before any
    /// reading another shard made (see the module docs).
    pub fn now(&self) -> SystemTime {
        let own = self.base + self.origin.elapsed();
        let Some(vt) = self.virtual_time.as_ref().filter(|vt| vt.shards.len() > 1) else {
            return own;
        };
        let shard = current_shard();
        if let Some(k) = shard {
            vt.publish_skipped(k);
        }
        let reading = own + vt.skipped_elsewhere(shard);
        let ns = reading
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let last = vt.high_water.fetch_max(ns, Ordering::Relaxed);
        if last > ns {
            SystemTime::UNIX_EPOCH + Duration::from_nanos(last)
        } else {
            reading
        }
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
