//! Every scenario in `scenarios/` runs and meets its stated expectations — the same check
//! `vpcgate check scenarios/` makes.

use vpcgate::check::{collect, run_file, table};
use vpcgate_tests::scenarios_dir;

#[test]
fn every_bundled_scenario_meets_its_expectations() {
    let files = collect(&[scenarios_dir()]).unwrap();
    assert!(
        files.len() >= 13,
        "scenarios/ holds the seed's cases ({} files found)",
        files.len()
    );
    let outcomes: Vec<_> = files.iter().flat_map(|f| run_file(f)).collect();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in &failed {
        eprintln!(
            "trace of {} / {}:\n{}",
            o.scenario,
            o.case,
            o.trace.render()
        );
    }
    assert!(failed.is_empty(), "\n{}", table(&outcomes));
}

#[test]
fn the_narrowed_gateway_group_times_out_at_sixty_virtual_seconds() {
    let s = vpcgate_tests::scenario("gotcha-narrowed-gateway-sg.json");
    let outcome = &vpcgate::check::run_scenario(&s, None)[0];
    assert_eq!(outcome.elapsed, std::time::Duration::from_secs(60));
    assert_eq!(outcome.result["error"], "States.Http.Socket");
    let drop = outcome
        .trace
        .hops()
        .into_iter()
        .find(|h| h.verdict == vpcgate::trace::Verdict::Drop)
        .unwrap();
    assert_eq!(drop.component, "sg");
    assert!(drop.message.contains("169.254.171.10"), "{}", drop.message);
}

#[test]
fn explain_as_mermaid_crosses_out_the_gateway_security_group() {
    // `vpcgate explain --format mermaid` on the seed's gotcha: a sequence diagram whose dropping
    // hop is the gateway's security group, crossed out and noted.
    let s = vpcgate_tests::scenario("gotcha-narrowed-gateway-sg.json");
    let outcomes = vpcgate::check::run_scenario(&s, Some("times-out-after-60s"));
    let diagram = outcomes[0].trace.to_mermaid("gotcha");
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    assert!(diagram.contains("    participant sg\n"), "{diagram}");
    let dropped = diagram
        .lines()
        .find(|l| l.contains("-xsg: "))
        .unwrap_or_else(|| panic!("no crossed arrow to sg:\n{diagram}"));
    assert!(
        dropped.contains("DROP") && dropped.contains("sg-"),
        "{dropped}"
    );
    assert!(diagram.contains("Note over sg: dropped here"), "{diagram}");
    assert!(diagram.contains("60.000s FAIL"), "{diagram}");
    // One statement per line: no message breaks Mermaid's syntax.
    assert!(diagram.lines().all(|l| !l.contains(';')), "{diagram}");
}

/// Outside a checkout, `vpcgate check` runs the scenarios built into the binary, read where they
/// are: every one passes, and nothing is written to the temporary folder (each run used to copy
/// the bundle into a new `vpcgate-scenarios-<pid>` folder there and leave it behind).
#[test]
fn check_outside_a_checkout_runs_the_bundle_without_writing_it() {
    let dir = std::env::temp_dir().join(format!("vpcgate-no-checkout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vpcgate-cli"))
        .arg("check")
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same cases and outcomes as the checkout's `scenarios/`, all passing.
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let checkout = std::process::Command::new(env!("CARGO_BIN_EXE_vpcgate-cli"))
        .arg("check")
        .arg(scenarios_dir())
        .output()
        .unwrap();
    // (Load errors name the file: `<bundled>/x.json` there, the checkout's path here.)
    let checkout = String::from_utf8_lossy(&checkout.stdout)
        .replace(&format!("{}/", scenarios_dir().display()), "<bundled>/");
    assert_eq!(stdout, checkout);
    for name in ["vpcgate-scenarios", "vpcgate-bundled"] {
        let left = std::env::temp_dir().join(format!("{name}-{pid}"));
        assert!(!left.exists(), "{} was written", left.display());
    }
}
