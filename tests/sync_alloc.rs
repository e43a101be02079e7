//! Issue 18: StartSyncExecution's memory does not grow with the number of executions (the
//! issue measured 302 MiB after a load of Pattern B, growing).
//!
//! This binary counts live heap bytes with a global allocator (hence a binary of its own, as
//! `events_alloc`): StartSyncExecution of the seed's Pattern B machine (apigateway:invoke ->
//! REST API -> VPC link -> ALB) and Pattern A machine (HTTP Task -> private connection ->
//! Lattice -> TLS -> ALB) as EXPRESS machines, as the load benchmark runs them. After a warm-up
//! past every bounded log (the viewer's entries, the execution records, the per-thread memos),
//! more executions add nothing but what those bounds allow.

use std::sync::Arc;
use vpcgate_tests::counting_alloc::{Counting, live};

use serde_json::json;
use vpcgate::edge::{AuthMode, Edge};
use vpcgate_tests::edge_call::json_call;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Executions run before the live heap is read: past the viewer's log
/// (`vpcgate::edge::ui::MAX_ENTRIES`) and the execution records
/// (`vpcgate::sfn::execution::MAX_RECORDS`), so that each is full.
const WARM_UP: usize = vpcgate::sfn::execution::MAX_RECORDS + vpcgate::edge::ui::MAX_ENTRIES;

/// The live heap is read every `STEP` executions, `READINGS` times per window, over two
/// windows. A window spans more than one cycle of the bounded logs' turnover (the live heap
/// swings by about 40 KB with a period of about 3,500 Pattern B executions, as entries of
/// different sizes replace each other), so each window's lowest reading is the same floor
/// unless something grows.
const STEP: usize = 500;
const READINGS: usize = 8;

/// How far the second window's floor may sit above the first's: the floors of successive
/// cycles differ by about 5 KB. A leak of four bytes per execution would exceed it (a leaked
/// allocation is at least 16).
const MAX_GROWTH_BYTES: isize = 16 * 1024;

/// The tests of this binary run one at a time: the count of live bytes is the process's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn flat(scenario: &str, machine: &str) {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = vpcgate_tests::scenario(scenario);
        let (model, world) = vpcgate_tests::world(&s);
        let edge = Arc::new(Edge::new(world, AuthMode::Off));
        let host = format!("states.{}.amazonaws.com", model.region);
        let sm = model
            .state_machines
            .iter()
            .find(|m| m.logical_id == machine)
            .unwrap_or_else(|| panic!("{machine} in {scenario}"));
        let (status, created) = json_call(
            &edge,
            &host,
            "AWSStepFunctions.CreateStateMachine",
            &json!({"name": format!("express-{}", sm.name), "definition": sm.definition,
                    "roleArn": sm.role_arn, "type": "EXPRESS"}),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        let start = json!({"stateMachineArn": created["stateMachineArn"], "input": "{}"});
        let run = |n: usize| {
            let (edge, host, start) = (edge.clone(), host.clone(), start.clone());
            async move {
                for _ in 0..n {
                    let (status, out) =
                        json_call(&edge, &host, "AWSStepFunctions.StartSyncExecution", &start)
                            .await;
                    assert_eq!(status, 200, "{out}");
                    assert_eq!(out["status"], "SUCCEEDED", "{out}");
                }
            }
        };
        run(WARM_UP).await;
        let mut readings = Vec::with_capacity(2 * READINGS);
        for _ in 0..2 * READINGS {
            run(STEP).await;
            readings.push(live());
        }
        let (first, second) = readings.split_at(READINGS);
        let floor = |w: &[isize]| *w.iter().min().unwrap();
        let growth = floor(second) - floor(first);
        eprintln!(
            "{scenario}: live heap every {STEP} executions {readings:?}; floors {} -> {} ({growth:+})",
            floor(first),
            floor(second)
        );
        assert!(
            growth < MAX_GROWTH_BYTES,
            "{} executions of {machine} raised the live heap's floor by {growth} bytes",
            READINGS * STEP
        );
    });
}

#[test]
fn pattern_b_sync_executions_keep_the_live_heap_flat() {
    flat("pattern-b.json", "StateMachineB");
}

#[test]
fn pattern_a_sync_executions_keep_the_live_heap_flat() {
    flat("pattern-a.json", "StateMachineA");
}
