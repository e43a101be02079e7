//! The in-process benches' fixed-iteration mode, shared by `start_sync` and `rest_request`.
//!
//! `VPCGATE_BENCH_ITERS=<n>` runs each row `n` times (after the warm-up call the bench's set-up
//! made) and exits before criterion starts: under `valgrind --tool=callgrind` (or `--tool=dhat`)
//! the difference between `n` and `0` divided by `n` is the instructions (allocations) of one
//! call; `VPCGATE_BENCH_ROW=<name>` runs that row alone. The wall time per call is printed for
//! A/B comparisons of a change (the instruction count is the figure that does not drift).

use std::hint::black_box;

/// Runs the fixed-iteration mode when `VPCGATE_BENCH_ITERS` is set (then exits); otherwise
/// returns and criterion runs.
pub fn run_if_asked<T>(rt: &tokio::runtime::Runtime, rows: &[(&str, T)], call: impl AsyncFn(&T)) {
    let Some(n) = std::env::var("VPCGATE_BENCH_ITERS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return;
    };
    let only = std::env::var("VPCGATE_BENCH_ROW").ok();
    for (name, row) in rows
        .iter()
        .filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name))
    {
        rt.block_on(async {
            let started = tokio::time::Instant::now();
            for _ in 0..n {
                call(black_box(row)).await;
            }
            eprintln!(
                "{name}: {:.2} µs per call over {n}",
                started.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
            );
        });
    }
    std::process::exit(0);
}
