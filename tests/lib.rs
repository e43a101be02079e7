//! Shared helpers for the integration tests.

use std::path::PathBuf;

use vpcgate::check::{CaseOutcome, run_scenario};
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

/// Runs every case of `s` through `check`'s runner and asserts each passed (naming the case, its
/// failures, result and trace when one did not); returns the outcomes.
pub fn all_cases_pass(s: &Scenario) -> Vec<CaseOutcome> {
    let outcomes = run_scenario(s, None);
    assert_eq!(outcomes.len(), s.settings.cases.len());
    for o in &outcomes {
        assert!(
            o.passed,
            "{} / {}: {:?}\nresult {}\n{}",
            o.scenario,
            o.case,
            o.failures,
            o.result,
            o.trace.render()
        );
    }
    outcomes
}

/// [`all_cases_pass`] for `scenarios/<file>`.
pub fn run_all(file: &str) -> Vec<CaseOutcome> {
    all_cases_pass(&scenario(file))
}

pub mod counting_alloc;
pub mod edge_call;
pub mod fuzz;
