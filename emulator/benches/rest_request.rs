//! One signed REST API request (and one HTTP API request) through `serve`'s request handler,
//! in process: the load benchmark's `rest` and `http-api` rows without the host socket — the
//! front door, `/restapis/{id}/prod/_user_request_/` routing, SigV4 verification, IAM
//! (`execute-api:Invoke`, the resource policy), the VPC link through the virtual network and
//! the HTTP/1.1 exchange with the internal ALB's fixed response.
//!
//! `VPCGATE_BENCH_ITERS=<n>` runs each row `n` times after one warm-up call and exits before
//! criterion starts: under `valgrind --tool=callgrind` (or `--tool=dhat`), the difference
//! between `n` and `0` divided by `n` is the instructions (allocations) of one request
//! (README, load-benchmark section); `VPCGATE_BENCH_ROW=rest` (or `http-api`) runs that row
//! alone.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use vpcgate::clock::Clock;
use vpcgate::edge::{AuthMode, Edge, handle_parts};
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::sigv4::{Credentials, EXECUTE_API, SigningSettings, sign_request};
use vpcgate::world::World;

mod fixed;

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn send(edge: &Arc<Edge>, req: http::Request<Bytes>) -> u16 {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let resp = handle_parts(edge.clone(), parts, body).await;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(status == 200, "{status}: {body:?}");
    status
}

/// The world of `scenario` (the seed's stacks for `rest`, as `serve` loads them by default),
/// its edge, and a signed GET of its first API's `prod` stage root
/// by the path form a local endpoint mounts (as scripts/bench.py sends it).
fn row(rt: &tokio::runtime::Runtime, scenario: &str) -> (Arc<Edge>, http::Request<Bytes>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    // Scenarios name their environment files relative to their directory.
    std::env::set_current_dir(&dir).unwrap();
    let s = Scenario::load(&dir.join(scenario)).unwrap();
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    let api = model
        .apigw
        .rest_apis
        .first()
        .map(|a| a.id.clone())
        .or_else(|| model.apigw.http.apis.first().map(|a| a.id.clone()))
        .unwrap_or_else(|| panic!("an API in {scenario}"));
    rt.block_on(async {
        let world = World::build(model.clone(), Clock::system()).unwrap();
        let edge = Arc::new(Edge::new(world, AuthMode::Verify));
        let mut req = http::Request::get(format!(
            "http://127.0.0.1:4566/restapis/{api}/prod/_user_request_/"
        ))
        .header("host", "127.0.0.1:4566")
        .body(Bytes::new())
        .unwrap();
        sign_request(
            &mut req,
            &Credentials::new(KEY, SECRET),
            &model.region,
            EXECUTE_API,
            Clock::system().host_now(),
            &SigningSettings::default(),
        )
        .unwrap();
        send(&edge, req.clone()).await;
        (edge, req)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = [
        ("rest", row(&rt, "seed.json")),
        ("http-api", row(&rt, "pattern-b-http-api.json")),
    ];
    fixed::run_if_asked(&rt, &rows, async |(edge, req)| {
        send(edge, req.clone()).await;
    });
    let mut group = c.benchmark_group("API request in process");
    for (name, (edge, req)) in &rows {
        group.bench_function(*name, |b| {
            b.iter(|| rt.block_on(send(edge, black_box(req.clone()))))
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
