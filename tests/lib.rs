//! Shared helpers for the integration tests.

use std::path::PathBuf;

use vpcgate::clock::Clock;
use vpcgate::model::Model;
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::world::World;

/// A path inside the repository (`repo("scenarios/pattern-b.json")`).
pub fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The repository's `scenarios/` folder.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Loads `scenarios/<name>`.
pub fn scenario(name: &str) -> Scenario {
    Scenario::load(&scenarios_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Builds the model and the world of a scenario, with its pinned clock.
pub fn world(s: &Scenario) -> (Model, World) {
    let (model, _) = s
        .build(&StackLinks::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = match s.clock_start().unwrap() {
        Some(t) => Clock::pinned(t),
        None => Clock::system(),
    };
    let world = World::build(model.clone(), clock).unwrap_or_else(|e| panic!("{e}"));
    (model, world)
}

pub mod edge_call;
pub mod fuzz;
