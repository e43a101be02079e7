//! The `vpcgate` command line. It only parses arguments; the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vpcgate: run AWS private-connectivity workflows offline.
///
/// vpcgate emulates, on your machine and with no AWS account, the two ways a Step Functions
/// workflow reaches an internal ALB in an isolated VPC: the HTTP Task through a private
/// EventBridge connection and VPC Lattice (Pattern A), and the API Gateway integration through a
/// REST API and a VPC link (Pattern B) — with security groups, in-VPC DNS, TLS, IAM, SigV4 and
/// the 60 s / 29 s time-outs on the path. Scenarios are CloudFormation-shaped JSON files.
#[derive(Debug, Parser)]
#[command(name = "vpcgate", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios and check their expected outcomes; exits 1 if any case fails.
    ///
    /// Each case runs in a fresh emulated world on a virtual clock: a 60-second time-out takes
    /// milliseconds. With no paths, runs `./scenarios/`, or the seed's scenarios built into the
    /// binary when there is no such folder.
    Check {
        /// Scenario files or folders (default: scenarios/).
        paths: Vec<PathBuf>,
        /// Print the hop-by-hop trace of every case, not only of failures.
        #[arg(long)]
        verbose: bool,
        /// With --stack: load CloudFormation templates (YAML or JSON) in order and report what
        /// they create, or every error with its line, before anything runs.
        #[command(flatten)]
        stacks: vpcgate::scenario::stacks::StackArgs,
    },
    /// Print the hop-by-hop trace of one case of a scenario: which component, which rule
    /// matched, why a request was dropped.
    Explain {
        /// The scenario file.
        scenario: PathBuf,
        /// The case name (see the file's Vpcgate.Cases).
        case: String,
        /// Print the trace as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VPCGATE_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn default_scenarios() -> PathBuf {
    PathBuf::from("scenarios")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Check {
            paths,
            verbose,
            stacks,
        } => {
            if !stacks.is_empty() {
                // Templates given on the command line: load them (no cases to run).
                return match stacks.load() {
                    Ok(loaded) => {
                        print!("{}", loaded.render());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprint!("{e}");
                        ExitCode::from(2)
                    }
                };
            }
            let paths = if !paths.is_empty() {
                paths
            } else if default_scenarios().is_dir() {
                vec![default_scenarios()]
            } else {
                // Not in a checkout: run the scenarios built into the binary.
                let dir =
                    std::env::temp_dir().join(format!("vpcgate-scenarios-{}", std::process::id()));
                match vpcgate::bundled::extract(&dir) {
                    Ok(d) => vec![d],
                    Err(e) => {
                        eprintln!("vpcgate check: cannot write the bundled scenarios: {e}");
                        return ExitCode::from(2);
                    }
                }
            };
            let files = match vpcgate::check::collect(&paths) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("vpcgate check: {e}");
                    return ExitCode::from(2);
                }
            };
            if files.is_empty() {
                eprintln!("vpcgate check: no scenario files (*.json) under {paths:?}");
                return ExitCode::from(2);
            }
            let mut outcomes = Vec::new();
            for f in &files {
                outcomes.extend(vpcgate::check::run_file(f));
            }
            if verbose {
                for o in &outcomes {
                    println!("== {} / {}\n{}", o.scenario, o.case, o.trace.render());
                }
            } else {
                for o in outcomes
                    .iter()
                    .filter(|o| !o.passed && !o.trace.hops().is_empty())
                {
                    println!(
                        "== trace of {} / {}\n{}",
                        o.scenario,
                        o.case,
                        o.trace.render()
                    );
                }
            }
            print!("{}", vpcgate::check::table(&outcomes));
            if outcomes.iter().all(|o| o.passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Explain {
            scenario,
            case,
            json,
        } => {
            let s = match vpcgate::scenario::Scenario::load(&scenario) {
                Ok(s) => s,
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(2);
                }
            };
            if s.settings.expect_load_error.is_none()
                && !s.settings.cases.iter().any(|c| c.name == case)
            {
                let names: Vec<&str> = s.settings.cases.iter().map(|c| c.name.as_str()).collect();
                eprintln!(
                    "vpcgate explain: {} has no case {case:?} (cases: {})",
                    scenario.display(),
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
            let outcomes = vpcgate::check::run_scenario(&s, Some(&case));
            let Some(o) = outcomes.first() else {
                eprintln!("vpcgate explain: nothing ran");
                return ExitCode::from(2);
            };
            if json {
                let doc = serde_json::json!({
                    "scenario": o.scenario, "case": o.case, "passed": o.passed, "summary": o.summary,
                    "elapsedSeconds": o.elapsed.as_secs_f64(), "result": o.result, "trace": o.trace.hops(),
                    "failures": o.failures,
                });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{} / {}: {} after {:.3} s of virtual time\n",
                    o.scenario,
                    o.case,
                    o.summary,
                    o.elapsed.as_secs_f64()
                );
                print!("{}", o.trace.render());
                println!(
                    "\nresult: {}",
                    serde_json::to_string_pretty(&o.result).unwrap_or_default()
                );
                for f in &o.failures {
                    println!("expectation not met: {f}");
                }
            }
            if o.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}
