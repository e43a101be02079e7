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
//! `serve` runs its world on a current-thread tokio runtime built with a paused clock
//! ([`VirtualTime`]). A paused runtime advances its clock to the next timer whenever it has
//! nothing else to do, unless a blocking task is running (tokio's `spawn_blocking` inhibits the
//! auto-advance while it runs). vpcgate decides, per runtime, when the clock may jump — the
//! *gate*:
//! - while no work is in flight (no request being answered, no execution running), the clock is
//!   resumed (`tokio::time::resume`): it runs with the host's time, so an idle world's periodic
//!   timers (health checks) keep the host's pace and do not race ahead;
//! - when work arrives the runtime's own thread freezes it again (`tokio::time::pause`), and
//!   resumes it when the last piece ends — no other thread is involved, so answering a request
//!   costs no wake-up of another thread;
//! - while anything real is in flight ([`Clock::hold`]: a connection to a user's own service
//!   behind a load balancer, a client tunnelled through an instance's proxy), a blocking task
//!   keeps a frozen clock from jumping.
//!
//! Otherwise — work in flight and every piece of it waiting on a timer — the clock jumps to the
//! next timer: a 60 s time-out takes no wall time. While frozen, a ticker adds the host's time
//! that passed (every 10 ms, and when the clock resumes), so the clock always reads the host's
//! time plus the time-outs it skipped. SigV4 skew is judged against the host's time
//! ([`Clock::host_now`]), so a client signing with its own clock stays valid after any number
//! of skipped time-outs.
//!
//! # Shards (`serve --world-threads N`)
//!
//! With N > 1 the world runs on N such runtimes, one thread each (the *shards*), so requests are
//! answered on every core; the world itself stays one value that every shard reads. Each shard
//! has its own gate ([`VirtualTime::sharded`]) and the rules above hold per shard:
//! - a shard's clock jumps only when all the work on *that* shard waits on timers; work counts on
//!   the shard it runs on ([`Clock::work`] on a world thread, [`Clock::work_on`] naming it: the
//!   edge serves each host connection on one shard, in turn);
//! - a hold (anything real in flight) closes *every* shard's gate: whatever waits on a real
//!   socket may be awaited from any shard;
//! - a request and everything it causes stays on its shard: its execution, the execution's
//!   HTTP Task and its redrive, the EventBridge deliveries of a PutEvents, and every in-memory
//!   connection it opens (a listener in the virtual network serves a connection on the runtime
//!   that dialled it: `vpc::Network::serve`; kept-alive connections are pooled per shard). A
//!   shard never waits on another shard's timers. Background loops built with the world (health
//!   checks, instances' proxies) run on shard 0;
//! - every shard's clock keeps the host's time (resumed, or paid by the ticker), so each shard's tokio clock
//!   reads host time plus the time-outs *it* skipped (its timers, durations). Wall-clock
//!   readings ([`Clock::now`]) on a shard are its own clock plus what it *caught up*: when
//!   another shard has skipped more time-outs than this one, this shard's readings jump ahead
//!   by the difference (never back). So every shard's readings run on one world clock — host
//!   time plus the most any shard skipped — within the ticker's step (10 ms, the time a shard
//!   takes to apply a tick the others applied); readings on one shard never go back, and a wait
//!   lasts exactly its length in them unless another shard overtook this one meanwhile (then
//!   longer). Two executions waiting an hour side by side on two shards both show an hour, one
//!   after the other an hour each (vpcgate's choice: one world clock over per-shard timelines;
//!   an execution's records, written on its own shard, are monotonic).
//!
//! With one shard (`--world-threads 1`) everything is as above without the sharding:
//! [`Clock::now`] is exactly the runtime's clock. Tests' `start_paused` runtimes have no gate.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Three readings taken at once ([`Clock::readings`]).
#[derive(Clone, Copy, Debug)]
pub struct Readings {
    /// [`Clock::now`].
    pub now: SystemTime,
    /// [`Clock::host_now`].
    pub host: SystemTime,
    /// tokio's clock.
    pub instant: tokio::time::Instant,
}

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
    /// With several shards, the world's skipped time (ns): the most any shard's wall-clock
    /// readings run ahead of the host's ([`VirtualTime::catch_up`]).
    skipped: AtomicU64,
    /// Host time when the clock was made (for [`Clock::host_now`]).
    host_base: SystemTime,
    host_origin: std::time::Instant,
}

/// One shard's gate.
#[derive(Debug)]
struct Gate {
    runtime: tokio::runtime::Handle,
    /// `runtime`'s id: whether the calling thread is inside it ([`Gate::on_runtime`]).
    runtime_id: tokio::runtime::Id,
    state: Mutex<GateState>,
    /// The time-outs this shard's clock skipped (ns), as its wall-clock readings saw them
    /// (never decreases).
    skipped: AtomicU64,
    /// The time (ns) this shard's readings added to catch up with other shards that had
    /// skipped further.
    caught_up: AtomicU64,
}

#[derive(Debug)]
#[allow(clippy::disallowed_types)] // host time, owed to a frozen clock
struct GateState {
    work: usize,
    /// Whether the shard's tokio clock is frozen (`tokio::time::pause`): it is while work is in
    /// flight there, and then jumps to the next timer whenever the shard is idle (unless a
    /// blocker runs); otherwise it runs with the host's time (`tokio::time::resume`). Only the
    /// shard's own thread freezes or resumes it.
    frozen: bool,
    /// While frozen: the host instant up to which the host's time has been added to the clock
    /// (the ticker and resuming add the rest, so the clock keeps the host's time plus the
    /// time-outs it skipped).
    paid_until: std::time::Instant,
    /// A frozen clock's running blocking task that keeps it from jumping (tokio's
    /// `spawn_blocking` inhibits the auto-advance while it runs), if any: while something real is
    /// in flight, or while the shard's work ended off its thread and the shard has not resumed
    /// its clock yet.
    blocker: Option<std::sync::mpsc::Sender<()>>,
    /// A change made off the shard's thread waits for the shard to apply it ([`Gate::sync`]).
    sync_queued: bool,
}

impl Gate {
    /// Whether the calling thread is running the shard's runtime (then it may freeze or resume
    /// the clock).
    fn on_runtime(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime_id)
    }

    /// Brings the gate in line with its work and the holds. On the shard's thread it freezes
    /// the clock when work arrives and resumes it when the work is done — no other thread
    /// involved, which is what every request does; off it, it asks the shard to (`sync`), and
    /// meanwhile keeps a frozen clock from jumping with a blocker.
    fn update(&self, st: &mut GateState, held: bool, vt: &Arc<VirtualTime>, shard: usize) {
        let want_frozen = st.work > 0;
        if want_frozen != st.frozen {
            if self.on_runtime() {
                if want_frozen {
                    tokio::time::pause();
                    st.paid_until = host_instant();
                } else {
                    self.pay(st);
                    tokio::time::resume();
                }
                st.frozen = want_frozen;
            } else if !st.sync_queued {
                st.sync_queued = true;
                let vt = vt.clone();
                drop(self.runtime.spawn(async move { vt.sync(shard) }));
            }
        }
        let inhibit = st.frozen && (held || st.work == 0);
        if inhibit && st.blocker.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            // Inhibits the paused clock's auto-advance until it returns.
            drop(self.runtime.spawn_blocking(move || {
                let _ = rx.recv();
            }));
            st.blocker = Some(tx);
        } else if !inhibit && let Some(tx) = st.blocker.take() {
            let _ = tx.send(());
        }
    }

    /// On the shard's thread, a frozen clock gets the host's time that passed since it was last
    /// paid (the ticker calls this every tick; resuming calls it last).
    fn pay(&self, st: &mut GateState) {
        if !st.frozen || !self.on_runtime() {
            return;
        }
        let now = host_instant();
        let owed = now.saturating_duration_since(st.paid_until);
        st.paid_until = now;
        if !owed.is_zero() {
            // `advance` moves the clock when first polled (then yields): one poll is the move.
            let _ = futures::FutureExt::now_or_never(tokio::time::advance(owed));
        }
    }
}

/// The host's monotonic time (the one place besides the ticker that reads it).
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn host_instant() -> std::time::Instant {
    std::time::Instant::now()
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
                    runtime_id: runtime.id(),
                    runtime,
                    state: Mutex::new(GateState {
                        work: 0,
                        // Built paused: each shard resumes its clock once it runs (idle).
                        frozen: true,
                        paid_until: host_instant(),
                        blocker: None,
                        sync_queued: false,
                    }),
                    skipped: AtomicU64::new(0),
                    caught_up: AtomicU64::new(0),
                })
                .collect(),
            holds: AtomicUsize::new(0),
            skipped: AtomicU64::new(0),
            host_base: SystemTime::now(),
            host_origin: std::time::Instant::now(),
        });
        for (shard, gate) in vt.shards.iter().enumerate() {
            gate.update(
                &mut gate.state.lock().expect("gate lock"),
                false,
                &vt,
                shard,
            );
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

    /// Shard `shard`'s gate and its index; an index past the shards (a thread of other shards)
    /// is shard 0's.
    fn gate(&self, shard: usize) -> Option<(&Gate, usize)> {
        match self.shards.get(shard) {
            Some(g) => Some((g, shard)),
            None => self.shards.first().map(|g| (g, 0)),
        }
    }

    fn change_work(self: &Arc<Self>, shard: usize, work: isize) {
        let Some((gate, shard)) = self.gate(shard) else {
            return;
        };
        let mut st = gate.state.lock().expect("gate lock");
        st.work = st.work.saturating_add_signed(work);
        // Read under the gate's lock: a hold that changes after this read updates this gate
        // itself once it takes the lock (see `change_holds`).
        let held = self.holds.load(Ordering::SeqCst) > 0;
        gate.update(&mut st, held, self, shard);
    }

    /// On shard `shard`'s thread: applies what changed off it.
    fn sync(self: &Arc<Self>, shard: usize) {
        if let Some((gate, shard)) = self.gate(shard) {
            let mut st = gate.state.lock().expect("gate lock");
            st.sync_queued = false;
            let held = self.holds.load(Ordering::SeqCst) > 0;
            gate.update(&mut st, held, self, shard);
        }
    }

    /// On shard `shard`'s thread, every tick: a frozen clock gets the host's time that passed.
    fn tick(self: &Arc<Self>, shard: usize) {
        if let Some((gate, _)) = self.gate(shard) {
            gate.pay(&mut gate.state.lock().expect("gate lock"));
        }
    }

    fn change_holds(self: &Arc<Self>, holds: isize) {
        let before = if holds >= 0 {
            self.holds.fetch_add(holds.unsigned_abs(), Ordering::SeqCst)
        } else {
            self.holds.fetch_sub(holds.unsigned_abs(), Ordering::SeqCst)
        };
        let after = before.saturating_add_signed(holds);
        if (before > 0) != (after > 0) {
            for (shard, gate) in self.shards.iter().enumerate() {
                let mut st = gate.state.lock().expect("gate lock");
                let held = self.holds.load(Ordering::SeqCst) > 0;
                gate.update(&mut st, held, self, shard);
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
        self.gate(shard).is_some_and(|(g, _)| {
            let st = g.state.lock().expect("gate lock");
            st.frozen && st.work > 0 && st.blocker.is_none()
        })
    }

    /// Moves every shard's clock on with the host's time while it is frozen (work in flight):
    /// every `tick` of host time, each frozen clock gets the host time that passed since it was
    /// last paid (a clock that is not frozen runs with the host's time by itself). Runs until
    /// the runtimes shut down or the gates are dropped.
    #[allow(clippy::disallowed_methods)] // host time is the point
    pub fn tick_with_host_time(self: &Arc<Self>, tick: Duration) {
        let vt = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("vpcgate-clock".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(tick);
                    let Some(vt) = vt.upgrade() else {
                        return;
                    };
                    let paid: Vec<_> = (0..vt.shards.len())
                        .filter(|&k| vt.shards[k].state.lock().expect("gate lock").frozen)
                        .map(|k| {
                            let v = vt.clone();
                            vt.shards[k].runtime.spawn(async move { v.tick(k) })
                        })
                        .collect();
                    drop(vt);
                    for p in paid {
                        if futures::executor::block_on(p).is_err() {
                            return;
                        }
                    }
                }
            })
            .expect("a clock thread");
    }

    /// How far (ns) the wall-clock readings of the calling thread's shard run ahead of its own
    /// clock (see the module docs): what it caught up with, once the time-outs another shard
    /// skipped outgrew its own. Off the world's threads, the world's skipped time.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // host time, to compare with
    fn catch_up(&self, tokio_now: tokio::time::Instant) -> Option<Duration> {
        let world = self.skipped.load(Ordering::Acquire);
        let gate = current_shard().and_then(|k| self.shards.get(k))?;
        // A paused runtime's clock starts at the host instant it was built at and moves by the
        // ticker (host time, a tick late at most) and by its jumps: how far it runs ahead of the
        // host's is the time-outs it skipped (never taken back: a late tick is not a skip).
        let ahead = tokio_now
            .into_std()
            .saturating_duration_since(std::time::Instant::now());
        let ahead = u64::try_from(ahead.as_nanos()).unwrap_or(u64::MAX);
        // Read before writing: most readings change nothing, and a read-modify-write would
        // take the cache line from the other shards' threads every time.
        let seen = gate.skipped.load(Ordering::Relaxed);
        let own = if ahead > seen {
            gate.skipped.fetch_max(ahead, Ordering::Relaxed).max(ahead)
        } else {
            seen
        };
        let mut caught_up = gate.caught_up.load(Ordering::Relaxed);
        let mine = own.saturating_add(caught_up);
        if mine < world {
            // Another shard skipped further: this one's readings catch up with it (only this
            // shard's thread writes its `caught_up`).
            caught_up += world - mine;
            gate.caught_up.store(caught_up, Ordering::Relaxed);
        } else if mine > world {
            self.skipped.fetch_max(mine, Ordering::AcqRel);
        }
        Some(Duration::from_nanos(caught_up))
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
    /// On a virtual clock with several shards: this shard's own clock, caught up with any shard
    /// that skipped further (see the module docs).
    pub fn now(&self) -> SystemTime {
        // One reading of tokio's clock (under `serve` it takes the runtime's clock lock).
        self.at(tokio::time::Instant::now())
    }

    /// [`Clock::now`], [`Clock::host_now`] and tokio's instant, read together: one reading of
    /// tokio's clock serves all three unless the clock is virtual (whose host time is read
    /// from the host). For what records a start or an end in all three (the viewer's entries).
    pub fn readings(&self) -> Readings {
        let instant = tokio::time::Instant::now();
        let now = self.at(instant);
        let host = match &self.virtual_time {
            Some(_) => self.host_now(),
            None => now,
        };
        Readings { now, host, instant }
    }

    /// The wall-clock time when tokio's clock reads `tokio_now`.
    fn at(&self, tokio_now: tokio::time::Instant) -> SystemTime {
        let own = self.base + tokio_now.saturating_duration_since(self.origin);
        match &self.virtual_time {
            Some(vt) if vt.shards.len() > 1 => match vt.catch_up(tokio_now) {
                Some(caught_up) => own + caught_up,
                // Off the world's threads: the host's time and the world's skipped time.
                None => {
                    vt.host_base
                        + vt.host_origin.elapsed()
                        + Duration::from_nanos(vt.skipped.load(Ordering::Acquire))
                }
            },
            _ => own,
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

/// Seconds since the Unix epoch with millisecond precision, as AWS's JSON protocols write a
/// timestamp (`1440938160.123`) and as history events carry theirs; 0 before the epoch.
pub fn epoch_seconds(t: SystemTime) -> f64 {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
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

    /// Two paused world runtimes (shards) on threads of their own, ended when the guard drops.
    struct Shards {
        handles: Vec<tokio::runtime::Handle>,
        stops: Vec<tokio::sync::oneshot::Sender<()>>,
    }

    impl Drop for Shards {
        fn drop(&mut self) {
            for stop in self.stops.drain(..) {
                let _ = stop.send(());
            }
        }
    }

    fn shards(n: usize) -> Shards {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut stops = Vec::new();
        for shard in 0..n {
            let tx = tx.clone();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>(); // not a blocking task: it would keep the clock from jumping
            stops.push(stop);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .expect("runtime");
                enter_shard(shard);
                tx.send((shard, rt.handle().clone())).expect("send");
                rt.block_on(async move {
                    let _ = stopped.await;
                });
            });
        }
        let mut handles: Vec<_> = rx.iter().take(n).collect();
        handles.sort_by_key(|(shard, _)| *shard);
        Shards {
            handles: handles.into_iter().map(|(_, h)| h).collect(),
            stops,
        }
    }

    fn on<T: Send + 'static>(
        rt: &tokio::runtime::Handle,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        futures::executor::block_on(rt.spawn(f)).expect("task")
    }

    /// tokio's timer wheel counts whole milliseconds: a sleep may end within one of its length.
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_shard_skips_its_own_time_outs_and_the_others_catch_up_with_it() {
        let shards = shards(2);
        let vt = VirtualTime::sharded(shards.handles.clone());
        // The clocks follow the host's time, as under `serve` (the ticker ends with the runtimes).
        vt.tick_with_host_time(Duration::from_millis(10));
        let (h0, h1) = (&shards.handles[0], &shards.handles[1]);
        let clock = on(h0, {
            let vt = vt.clone();
            async move { Clock::virtual_from_host(vt) }
        });
        // Shard 0 has work in flight and waits an hour: its clock jumps, the wait lasts an hour
        // in its readings; shard 1, idle, skipped nothing.
        let c = clock.clone();
        let (before, after) = on(h0, async move {
            let _work = c.work();
            let before = c.now();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            (before, c.now())
        });
        let waited = after.duration_since(before).expect("monotonic");
        assert!(
            waited + MS >= Duration::from_secs(3600) && waited < Duration::from_secs(3601),
            "{waited:?}"
        );
        // Shard 1's next reading catches up with the hour shard 0 skipped, and its own minute
        // lasts a minute after that.
        let c = clock.clone();
        let (caught_up, later) = on(h1, async move {
            let _work = c.work();
            let caught_up = c.now();
            tokio::time::sleep(Duration::from_secs(60)).await;
            (caught_up, c.now())
        });
        assert!(
            caught_up + Duration::from_secs(1) >= after,
            "{caught_up:?} is not within a second of {after:?}"
        );
        let minute = later.duration_since(caught_up).expect("monotonic");
        assert!(
            minute + MS >= Duration::from_secs(60) && minute < Duration::from_secs(61),
            "{minute:?}"
        );
        // Work counts on the shard it names (handed over from another thread, it opens the
        // gate once the shard runs: anything it runs next comes after); a hold closes every
        // shard's gate.
        let work = clock.work_on(1);
        on(h1, async {});
        assert!(vt.open_on(1) && !vt.open_on(0));
        let hold = clock.hold();
        assert!(!vt.open_on(1) && !vt.open_on(0));
        drop(hold);
        assert!(vt.open_on(1));
        drop(work);
        assert!(!vt.open_on(1));
    }
}
