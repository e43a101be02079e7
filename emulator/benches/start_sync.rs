//! One StartSyncExecution of an EXPRESS state machine through `serve`'s request handler, in
//! process (the load benchmark's `sync-b` and `sync-a` rows without the host socket): the
//! signed front request, the interpreter, the task and its inner request — Pattern B (a whole
//! signed REST request in memory) and Pattern A (HTTP Task -> private connection -> Lattice ->
//! TLS to the ALB).
//!
//! `VPCGATE_BENCH_ITERS=<n>` runs each row `n` times after one warm-up call and exits before
//! criterion starts: under `valgrind --tool=callgrind`, the difference between `n` and `0`
//! divided by `n` is the instructions of one execution (README, load-benchmark section);
//! `VPCGATE_BENCH_ROW=sync-b` (or `sync-a`) runs that row alone.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use vpcgate::clock::Clock;
use vpcgate::edge::{AuthMode, Edge, handle_parts};
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::sigv4::{Credentials, SigningSettings, sign_request};
use vpcgate::world::World;

mod fixed;

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A signed Step Functions request (`X-Amz-Target: AWSStepFunctions.<op>`).
fn signed(region: &str, op: &str, body: &serde_json::Value) -> http::Request<Bytes> {
    let mut req = http::Request::post("http://127.0.0.1:4566/")
        .header("host", "127.0.0.1:4566")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AWSStepFunctions.{op}"))
        .body(Bytes::from(body.to_string()))
        .unwrap();
    sign_request(
        &mut req,
        &Credentials::new(KEY, SECRET),
        region,
        "states",
        Clock::system().host_now(),
        &SigningSettings::default(),
    )
    .unwrap();
    req
}

async fn send(edge: &Arc<Edge>, req: http::Request<Bytes>) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let resp = handle_parts(edge.clone(), parts, body).await;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// The world of `scenario`, its edge, and a signed StartSyncExecution of an EXPRESS copy of
/// its state machine `machine` (created through the API, as scripts/bench.py does).
fn row(
    rt: &tokio::runtime::Runtime,
    scenario: &str,
    machine: &str,
) -> (Arc<Edge>, http::Request<Bytes>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    // Scenarios name their environment files relative to their directory.
    std::env::set_current_dir(&dir).unwrap();
    let s = Scenario::load(&dir.join(scenario)).unwrap();
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    rt.block_on(async {
        let world = World::build(model.clone(), Clock::system()).unwrap();
        let edge = Arc::new(Edge::new(world, AuthMode::Verify));
        let sm = model
            .state_machines
            .iter()
            .find(|m| m.logical_id == machine)
            .unwrap_or_else(|| panic!("{machine} in {scenario}"));
        let (status, created) = send(
            &edge,
            signed(
                &model.region,
                "CreateStateMachine",
                &serde_json::json!({"name": format!("bench-{}", sm.name), "definition": sm.definition,
                       "roleArn": sm.role_arn, "type": "EXPRESS"}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        let arn = created["stateMachineArn"].as_str().unwrap().to_string();
        let req = signed(
            &model.region,
            "StartSyncExecution",
            &serde_json::json!({"stateMachineArn": arn, "input": "{}"}),
        );
        let (status, out) = send(&edge, req.clone()).await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["status"], "SUCCEEDED", "{out}");
        (edge, req)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = [
        ("sync-b", row(&rt, "pattern-b.json", "StateMachineB")),
        ("sync-a", row(&rt, "pattern-a.json", "StateMachineA")),
    ];
    fixed::run_if_asked(&rt, &rows, async |(edge, req)| {
        let (status, _) = send(edge, req.clone()).await;
        assert_eq!(status, 200);
    });
    let mut group = c.benchmark_group("StartSyncExecution in process");
    for (name, (edge, req)) in &rows {
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (status, _) = send(edge, black_box(req.clone())).await;
                    assert_eq!(status, 200);
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
