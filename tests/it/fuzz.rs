//! A short, seeded slice of the parsers' fuzzer (`vpcgate_tests::fuzz`): every target, a few
//! thousand mutated inputs, no panic. The long run is `cargo run --release -p vpcgate-tests --bin
//! fuzz` (README, "Limits").

use std::time::Duration;

#[test]
fn every_parser_survives_a_seeded_slice_of_mutated_inputs() {
    let targets = vpcgate_tests::fuzz::targets();
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "scenario-json",
            "template-yaml",
            "environment",
            "asl",
            "jsonpath",
            "jsonata",
            "iam-policy",
            "sigv4"
        ]
    );
    for t in &targets {
        assert!(!t.corpus.is_empty(), "{}: empty corpus", t.name);
        let count = if std::env::var_os("CI").is_some() {
            1500
        } else {
            600
        };
        let r = vpcgate_tests::fuzz::run(t, count, 20261206, Duration::from_secs(60));
        assert!(
            r.panics.is_empty(),
            "{}: panicked on {:?}",
            t.name,
            r.panics
        );
    }
}
