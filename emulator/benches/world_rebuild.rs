//! Rebuilding the running world (issue 12: "Rebuilding the seed's world must take < 20 ms"):
//! `World::build_with_pki` of the seed's model (`scenarios/seed.json`, both patterns: the two
//! stacks on their environment) under the running world's root CA — what a runtime deploy and
//! `POST /_vpcgate/reset` do — and the same through `Edge::swap_world`, which also carries over
//! what the APIs made.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use vpcgate::clock::Clock;
use vpcgate::edge::{AuthMode, Edge};
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::world::World;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/seed.json");
    let s = Scenario::load(&path).unwrap();
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    let _guard = rt.enter();
    let world = World::build(model.clone(), Clock::system()).unwrap();
    c.bench_function("world_rebuild/seed_build_with_pki", |b| {
        b.iter(|| {
            let pki = world.pki.same_root().unwrap();
            World::build_with_pki(model.clone(), world.clock.clone(), pki).unwrap()
        })
    });
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    c.bench_function("world_rebuild/seed_swap_world", |b| {
        b.iter(|| edge.swap_world(model.clone()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
