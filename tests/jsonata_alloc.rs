//! Issue 11 (last item): JSONata evaluations must not leak.
//!
//! jsonata-rs keeps every value in a bumpalo arena, and bumpalo never runs `Drop`, so each
//! value that owned heap data (built-in names, lambda ASTs and frames, transformer ASTs)
//! leaked about 4 KB per evaluation; a soak with the hostile workload grew 14 % in ten minutes.
//! The vendored crate (vendor/jsonata-rs/VENDORED.md) keeps no heap data in arena values.
//!
//! This binary counts live heap bytes with a global allocator (hence a binary of its own: the
//! `it` binary's other tests would allocate meanwhile) and runs thousands of evaluations through
//! vpcgate's own TestState path (parse, the big-stack pool, evaluation, conversion): the live
//! bytes after the run must equal those after a warm-up, up to a small slack for allocator and
//! thread-pool bookkeeping that does not scale with the number of evaluations.

use vpcgate_tests::counting_alloc::{Counting, live};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `expr` as a JSONata Pass state's Output through TestState `n` times; returns the last
/// outcome's status and error.
fn run(rt: &tokio::runtime::Runtime, expr: &str, n: usize) -> (String, Option<String>) {
    let def = serde_json::json!({
        "QueryLanguage": "JSONata", "Type": "Pass", "End": true,
        "Output": format!("{{% {expr} %}}"),
    })
    .to_string();
    let input =
        serde_json::json!({"n": [1, 2, 3, 4, 5], "name": "vpcgate", "o": {"a": 1, "b": [true]}});
    let mut last = (String::new(), None);
    for _ in 0..n {
        let out = rt
            .block_on(vpcgate::asl::test_state(
                &def,
                input.clone(),
                vpcgate::asl::TestStateOptions::default(),
                &NoTasks,
            ))
            .expect("the definition is valid");
        last = (out.status.as_str().to_string(), out.error);
    }
    last
}

struct NoTasks;

impl vpcgate::asl::TaskHandler for NoTasks {
    fn invoke<'a>(
        &'a self,
        _call: vpcgate::asl::TaskInvocation,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<serde_json::Value, vpcgate::asl::StatesError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async { unreachable!("Pass states call no task") })
    }
}

/// Live heap bytes after `n` more runs of `expr`, minus those before.
fn growth(rt: &tokio::runtime::Runtime, expr: &str, warm: usize, n: usize) -> (isize, String) {
    run(rt, expr, warm);
    let before = live();
    let (status, error) = run(rt, expr, n);
    let after = live();
    eprintln!("{n} evaluations of {expr:.40}…: live heap {before} -> {after} bytes");
    (after - before, format!("{status} {error:?}"))
}

/// What the evaluations may leave behind in total, independent of their number (the pool
/// recycles its threads, tokio and the allocator keep some bookkeeping).
const SLACK_BYTES: isize = 64 * 1024;

#[test]
fn jsonata_evaluations_do_not_leak() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Lambdas (closures over frames), a transformer, composition (the `~>` chain lambda),
    // regular expressions, higher-order built-ins and vpcgate's own functions.
    let heavy = "( $f := function($x){ $x * 2 }; \
        $g := $f ~> $f; \
        $m := $map($states.input.n, $f); \
        $t := $states.input.o ~> | $ | {'c': $sum($m)}, ['a'] |; \
        {'m': $m, 'g': $g(3), 't': $t, \
         'r': $reduce($m, function($a, $b){ $a + $b }), \
         'f': $filter($states.input.n, function($v){ $v % 2 = 0 }), \
         's': $sort($states.input.n, function($a, $b){ $a < $b }), \
         'x': $match('abab', /b/).index, 'c': $contains($states.input.name, /gate/), \
         'u': $uppercase($states.input.name), 'p': $partition($m, 2), \
         'h': $hash('x', 'SHA-256') } )";
    let (grew, last) = growth(&rt, heavy, 200, 20_000);
    assert!(last.starts_with("SUCCEEDED"), "{last}");
    assert!(
        grew < SLACK_BYTES,
        "20,000 evaluations left {grew} live heap bytes behind (about {} per evaluation)",
        grew / 20_000
    );
}

/// The hostile expressions of scripts/soak.py end in budget errors; those paths must not leak
/// either (deep recursion builds thousands of frames and lambdas before the depth limit).
/// Fewer runs (each deep one is slow in a debug build) and a larger slack: the pool retires a
/// thread after every deep job, and threads starting and ending around the two readings move
/// the count by up to about 100 KB either way; the leak this guards against was about 4 KB
/// per evaluation, 1.2 MB over these runs.
#[test]
fn failing_jsonata_evaluations_do_not_leak() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for expr in [
        "( $s := function($n){ $n = 0 ? 0 : $n + $s($n - 1) }; $s(100000) )",
        "$pad('', 1000000000)",
        "$match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /(a+)+$/)",
    ] {
        let (grew, last) = growth(&rt, expr, 20, 300);
        assert!(
            grew < 4 * SLACK_BYTES,
            "{expr}: 300 evaluations ({last}) left {grew} live heap bytes behind"
        );
    }
}
