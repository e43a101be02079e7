//! Pattern A throughput and start-up: one HTTP Task execution end to end (IAM, connection
//! secret, Lattice, SGs, in-VPC DNS over the wire, TLS handshake, ALB), sequential and 64 at a
//! time; and building the world from the bundled scenario.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vpcgate::clock::Clock;
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::sfn::execution::Executions;
use vpcgate::world::World;

fn model() -> vpcgate::model::Model {
    // The bundled scenario names its environment file relative to the scenarios directory.
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
        .expect("the scenarios directory");
    let (name, text) = vpcgate::bundled::SCENARIOS[0];
    let s = Scenario::parse(text, name).unwrap();
    s.build(&StackLinks::default()).unwrap().0
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let model = model();

    c.bench_function("startup: parse + build the pattern-a world", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (name, text) = vpcgate::bundled::SCENARIOS[0];
                let m = Scenario::parse(text, name)
                    .unwrap()
                    .build(&StackLinks::default())
                    .unwrap()
                    .0;
                World::build(m, Clock::system()).unwrap()
            })
        })
    });

    let world = rt.block_on(async { World::build(model.clone(), Clock::system()).unwrap() });
    let sm = world.model.state_machine("StateMachineA").unwrap().clone();
    let executions = Arc::new(Executions::new());
    let mut group = c.benchmark_group("pattern A execution");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one at a time", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = executions
                    .run_sync(&world, &sm, serde_json::json!({}), None)
                    .await
                    .unwrap();
                assert_eq!(r.status(), "SUCCEEDED");
            })
        })
    });
    eprintln!(
        "kept-alive connections: {} opened, {} reuses",
        world.net.pool().opened(),
        world.net.pool().reused()
    );
    group.throughput(Throughput::Elements(64));
    group.bench_function("64 concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..64 {
                    let (world, sm, executions) = (world.clone(), sm.clone(), executions.clone());
                    set.spawn(async move {
                        executions
                            .run_sync(&world, &sm, serde_json::json!({}), None)
                            .await
                            .unwrap()
                            .status()
                    });
                }
                while let Some(s) = set.join_next().await {
                    assert_eq!(s.unwrap(), "SUCCEEDED");
                }
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
