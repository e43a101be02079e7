//! `cargo run --release -p vpcgate-tests --bin fuzz -- [TARGET…] [--count N] [--seed S]`: the
//! parsers' mutation fuzzer at length (see `vpcgate_tests::fuzz`). Prints one line per target with
//! inputs/s; exits 1 if any input made a parser panic, 3 if one hung (the watchdog's limit).

use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut count, mut seed, mut names) = (1_000_000u64, 1u64, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count = args.next().and_then(|v| v.parse().ok()).expect("--count N"),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            name => names.push(name.to_string()),
        }
    }
    let targets = vpcgate_tests::fuzz::targets();
    let mut failed = false;
    println!(
        "{:<15} {:>10} {:>9} {:>11} panics",
        "target", "inputs", "seconds", "inputs/s"
    );
    for t in targets
        .iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
    {
        let r = vpcgate_tests::fuzz::run(t, count, seed, Duration::from_secs(10));
        println!(
            "{:<15} {:>10} {:>9.1} {:>11.0} {}",
            r.target,
            r.inputs,
            r.seconds,
            r.rate(),
            r.panics.len()
        );
        for p in &r.panics {
            eprintln!("fuzz {}: PANIC on input:\n{p}\n", r.target);
            failed = true;
        }
    }
    std::process::exit(i32::from(failed));
}
