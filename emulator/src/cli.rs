//! The `vpcgate` command line: argument parsing and the top of each command. The binary's `main`
//! only calls [`run`]; tests call it with the same arguments a container or a user would.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What the binary runs once `serve` answers (its `main` releases the executable's pages only
/// the start touched: the crate itself has no unsafe code).
static ON_READY: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets what runs once `serve` is ready to answer (at most once per process).
pub fn on_ready(f: fn()) {
    let _ = ON_READY.set(f);
}

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
        stacks: crate::scenario::stacks::StackArgs,
    },
    /// Serve the emulated AWS APIs on one local listener for real clients (AWS CLI, boto3, SDKs).
    ///
    /// Step Functions (JSON 1.0), EventBridge connections (JSON 1.1), CloudFormation (query
    /// protocol: aws cloudformation deploy works) and vpcgate's own
    /// /_vpcgate/ endpoints (health, ca.pem, world, reset). Requests are SigV4-signed: test /
    /// test or the example key (AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)
    /// sign as the account root, a scenario IAM user's key as that user; any other key is taken
    /// as the root of its account (a 12-digit key id names the account) unless
    /// --strict-credentials. The credential scope's Region selects the Region.
    Serve {
        /// Scenario files to load (default: the bundled seed.json, the seed's two stacks with both
        /// patterns).
        #[arg(long = "scenario", value_name = "FILE")]
        scenarios: Vec<PathBuf>,
        /// Address to listen on (loopback unless you ask otherwise: a non-loopback address also
        /// needs --allow-remote).
        #[arg(long, default_value = "127.0.0.1:4566")]
        listen: std::net::SocketAddr,
        /// Allow --listen on an address other hosts can reach (a container's 0.0.0.0, say).
        /// Anyone who can reach it can then call the emulated APIs.
        #[arg(long)]
        allow_remote: bool,
        /// Include the scenario users' secret access keys in /_vpcgate/world.
        #[arg(long)]
        expose_secrets: bool,
        /// Accept unsigned requests as the account root (quick local use).
        #[arg(long)]
        no_sigv4: bool,
        /// Refuse access keys vpcgate holds no secret for (UnrecognizedClientException, as
        /// AWS), instead of accepting them as the root of their account.
        #[arg(long)]
        strict_credentials: bool,
        /// Log level of the one line per request (and the rest) on stderr: error, warn, info,
        /// debug, trace or off; default info, or VPCGATE_LOG / RUST_LOG (a tracing filter).
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
        /// The world's clock: `virtual` (the default) jumps to the next timer whenever every
        /// piece of work in flight waits only on a timer (a 60 s time-out takes no wall time) and
        /// holds while anything real is in flight; `real` keeps wall time.
        #[arg(long, value_enum, default_value = "virtual")]
        clock: ClockMode,
        /// How many threads the world answers on with the virtual clock (default: the host's
        /// available cores). Each is a world runtime of its own (a shard: its own virtual
        /// clock); a request and everything it causes stays on one; the world's state is one.
        /// 1 runs everything on one world thread. With `--clock real` the world runs on the
        /// listener's runtime, which uses every core already.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        world_threads: Option<u16>,
        /// Or: run CloudFormation templates as stacks (with --environment for what the account
        /// already has) instead of a scenario; --environment alone starts with no stacks, for
        /// `aws cloudformation deploy`.
        #[command(flatten)]
        stacks: crate::scenario::stacks::StackArgs,
        /// Where the emulated root CA is kept, so clients trust it once across runs
        /// (default: $VPCGATE_HOME/ca, else ~/.vpcgate/ca).
        #[arg(long, value_name = "DIR")]
        ca_dir: Option<PathBuf>,
        /// Map a public origin to your own process, for public EventBridge connections (API
        /// destinations, HTTP Tasks): https://api.example.com=http://127.0.0.1:8080 (repeatable;
        /// as the environment's PublicEndpoints).
        #[arg(long = "public-endpoint", value_name = "URL=TARGET")]
        public_endpoints: Vec<String>,
    },
    /// Check that a running `vpcgate serve` answers (exit 0) or not (exit 1): a healthcheck for
    /// containers that have no curl.
    Ping {
        /// The serve address.
        #[arg(default_value = "127.0.0.1:4566")]
        addr: std::net::SocketAddr,
    },
    /// Print the emulated public root CA certificate (PEM) that `serve`'s certificates chain to,
    /// so your own clients can trust it (made and kept in --ca-dir the first time).
    Ca {
        /// Where the root is kept (default: $VPCGATE_HOME/ca, else ~/.vpcgate/ca).
        #[arg(long, value_name = "DIR")]
        ca_dir: Option<PathBuf>,
    },
    /// Print the hop-by-hop trace of one case of a scenario: which component, which rule
    /// matched, why a request was dropped.
    Explain {
        /// The scenario file.
        scenario: PathBuf,
        /// The case name (see the file's Vpcgate.Cases).
        case: String,
        /// Print the trace as JSON (same as --format json).
        #[arg(long)]
        json: bool,
        /// How to print the path: text (the default), json, mermaid (a sequence diagram that
        /// GitHub renders in Markdown: the refusing hop crossed out) or svg (the path drawn as
        /// serve's trace viewer draws it: the refusing hop red, the virtual time on an axis).
        #[arg(long, value_enum, default_value = "text")]
        format: ExplainFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The log filter: `--log-level`, else `VPCGATE_LOG`, else `RUST_LOG`, else `info`.
fn init_tracing(level: Option<&str>) {
    let filter = level
        .and_then(|l| tracing_subscriber::EnvFilter::try_new(l).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_env("VPCGATE_LOG").ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: CI logs and files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn default_scenarios() -> PathBuf {
    PathBuf::from("scenarios")
}

/// Runs the command line `args` (the first item is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let level = match &cli.command {
        Command::Serve { log_level, .. } => log_level.clone(),
        _ => None,
    };
    if let Some(l) = &level
        && !["error", "warn", "info", "debug", "trace", "off"].contains(&l.as_str())
    {
        eprintln!("vpcgate: --log-level {l}: one of error, warn, info, debug, trace, off");
        return ExitCode::from(2);
    }
    init_tracing(level.as_deref());
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
                vec![PathBuf::from(crate::bundled::ROOT)]
            };
            let files = match crate::check::collect(&paths) {
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
                outcomes.extend(crate::check::run_file(f));
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
            print!("{}", crate::check::table(&outcomes));
            if outcomes.iter().all(|o| o.passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Serve {
            scenarios,
            world_threads,
            listen,
            allow_remote,
            expose_secrets,
            no_sigv4,
            strict_credentials,
            log_level: _,
            clock,
            stacks,
            ca_dir,
            public_endpoints,
        } => {
            if !listen.ip().is_loopback() && !allow_remote {
                eprintln!(
                    "vpcgate serve: {listen} is reachable from other hosts; vpcgate listens on loopback \
                     unless you also pass --allow-remote (then anyone who reaches it can call the \
                     emulated APIs{})",
                    if no_sigv4 {
                        ", unsigned, as the account root"
                    } else {
                        ""
                    }
                );
                return ExitCode::from(2);
            }
            if !listen.ip().is_loopback() {
                tracing::warn!(
                    "listening on {listen}, reachable from other hosts (--allow-remote){}",
                    if no_sigv4 {
                        "; with --no-sigv4 anyone who reaches it acts as the account root"
                    } else {
                        ""
                    }
                );
            }
            serve(ServeArgs {
                clock,
                world_threads: world_threads.map_or_else(
                    || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                    usize::from,
                ),
                scenarios,
                stacks,
                listen,
                auth: if no_sigv4 {
                    crate::edge::AuthMode::Off
                } else {
                    crate::edge::AuthMode::Verify
                },
                unknown_keys: if strict_credentials {
                    crate::edge::UnknownKeys::Refuse
                } else {
                    crate::edge::UnknownKeys::AcceptAsRoot
                },
                expose_secrets,
                ca_dir: ca_dir.unwrap_or_else(default_ca_dir),
                public_endpoints,
            })
        }
        Command::Ping { addr } => ping(addr),
        Command::Ca { ca_dir } => {
            let dir = ca_dir.unwrap_or_else(default_ca_dir);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                match crate::pki::Pki::load_or_create(&dir, &crate::clock::Clock::system()) {
                    Ok(pki) => {
                        print!("{}", pki.root_pem());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("vpcgate ca: {e}");
                        ExitCode::from(1)
                    }
                }
            })
        }
        Command::Explain {
            scenario,
            case,
            json,
            format,
            output,
        } => {
            let format = if json { ExplainFormat::Json } else { format };
            let s = match crate::scenario::Scenario::load(&scenario) {
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
            let outcomes = crate::check::run_scenario(&s, Some(&case));
            let Some(o) = outcomes.first() else {
                eprintln!("vpcgate explain: nothing ran");
                return ExitCode::from(2);
            };
            let title = format!("{} / {}: {}", o.scenario, o.case, o.summary);
            let text = match format {
                ExplainFormat::Mermaid => o.trace.to_mermaid(&title),
                ExplainFormat::Svg => o.trace.to_svg(&title),
                ExplainFormat::Json => {
                    let doc = serde_json::json!({
                        "scenario": o.scenario, "case": o.case, "passed": o.passed, "summary": o.summary,
                        "elapsedSeconds": o.elapsed.as_secs_f64(), "result": o.result, "trace": o.trace.hops(),
                        "failures": o.failures,
                    });
                    format!(
                        "{}\n",
                        serde_json::to_string_pretty(&doc).unwrap_or_default()
                    )
                }
                ExplainFormat::Text => {
                    let mut t = format!(
                        "{} / {}: {} after {:.3} s of virtual time\n\n{}\nresult: {}\n",
                        o.scenario,
                        o.case,
                        o.summary,
                        o.elapsed.as_secs_f64(),
                        o.trace.render(),
                        serde_json::to_string_pretty(&o.result).unwrap_or_default()
                    );
                    for f in &o.failures {
                        t.push_str(&format!("expectation not met: {f}\n"));
                    }
                    t
                }
            };
            match &output {
                Some(path) => {
                    if let Err(e) = std::fs::write(path, text) {
                        eprintln!("vpcgate explain: cannot write {}: {e}", path.display());
                        return ExitCode::from(2);
                    }
                }
                None => print!("{text}"),
            }
            if o.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The scenario `serve` runs: the file given, else the bundled seed setup (both patterns),
/// written out with the templates it names.
fn load_scenario(path: Option<&PathBuf>) -> Result<crate::scenario::Scenario, String> {
    match path {
        Some(p) => crate::scenario::Scenario::load(p).map_err(|e| e.to_string()),
        // The scenario built into the binary, read where it is.
        None => crate::scenario::Scenario::load(&crate::bundled::default_scenario())
            .map_err(|e| e.to_string()),
    }
}

/// `$VPCGATE_HOME/ca`, else `~/.vpcgate/ca`, else `./.vpcgate/ca`.
fn default_ca_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("VPCGATE_HOME") {
        return PathBuf::from(home).join("ca");
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".vpcgate")
        .join("ca")
}

/// What `serve` was asked for.
/// `explain --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExplainFormat {
    /// One hop per line.
    Text,
    /// The outcome and the hops as JSON.
    Json,
    /// A Mermaid sequence diagram.
    Mermaid,
    /// The path drawn as SVG (the same drawing as `serve`'s trace viewer).
    Svg,
}

/// `serve --clock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ClockMode {
    /// Jump over time-outs and waits when nothing real is in flight.
    Virtual,
    /// Wall time.
    Real,
}

struct ServeArgs {
    clock: ClockMode,
    /// Shards of the virtual-time world (at least 1).
    world_threads: usize,
    scenarios: Vec<PathBuf>,
    stacks: crate::scenario::stacks::StackArgs,
    listen: std::net::SocketAddr,
    auth: crate::edge::AuthMode,
    unknown_keys: crate::edge::UnknownKeys,
    expose_secrets: bool,
    ca_dir: PathBuf,
    public_endpoints: Vec<String>,
}

fn serve(args: ServeArgs) -> ExitCode {
    let ServeArgs {
        clock: clock_mode,
        world_threads,
        scenarios,
        stacks,
        listen,
        auth,
        unknown_keys,
        expose_secrets,
        ca_dir,
        public_endpoints,
    } = args;
    let started = tokio::time::Instant::now();
    let mut mapped = Vec::new();
    for arg in &public_endpoints {
        let parsed = arg
            .split_once('=')
            .ok_or_else(|| "expected URL=TARGET".to_string())
            .and_then(|(url, target)| crate::events::public::PublicEndpoint::parse(url, target));
        match parsed {
            Ok(p) => mapped.push(p),
            Err(e) => {
                eprintln!("vpcgate serve: --public-endpoint {arg}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if scenarios.len() > 1 {
        eprintln!(
            "vpcgate serve: one --scenario at a time for now (use a scenario that Extends another to combine)"
        );
        return ExitCode::from(2);
    }
    let stack_mode = !stacks.is_empty() || stacks.environment.is_some();
    if stack_mode && !scenarios.is_empty() {
        eprintln!("vpcgate serve: give either --scenario or --stack / --environment, not both");
        return ExitCode::from(2);
    }
    let from_scenario = !stack_mode;
    // --stack / --environment: the world starts as the environment alone and the stacks are
    // deployed through the CloudFormation API's own path (so DescribeStacks shows them and a
    // later deploy sees them); they are also checked as `vpcgate check --stack` does (beside
    // the deploy, see `precheck`), for every error with its file, line and column.
    let mut start_stacks: Vec<crate::scenario::stacks::StackSpec> = Vec::new();
    let mut environment = None;
    // `vpcgate check --stack`'s load of the same stacks, for every error with its file, line
    // and column.
    let mut to_check: Option<crate::scenario::stacks::StackArgs> = None;
    let (label, model) = if stack_mode {
        let names = if stacks.is_empty() {
            String::from("no stacks yet (deploy with the CloudFormation API)")
        } else {
            to_check = Some(stacks.clone());
            let names: Vec<&str> = stacks.stacks.iter().map(|s| s.name.as_str()).collect();
            format!("stacks {}", names.join(", "))
        };
        let mut env = match &stacks.environment {
            Some(p) => match crate::scenario::stacks::Environment::load(p) {
                Ok(e) => e,
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(2);
                }
            },
            None => crate::scenario::stacks::Environment::default(),
        };
        env.public_endpoints.extend(mapped.iter().cloned());
        // --bind flags join the environment's Bindings for every deploy.
        env.bindings.extend(stacks.binds.iter().cloned());
        let base = crate::scenario::stacks::environment_model(&env);
        let model = match crate::scenario::stacks::deploy(&base, &env, &[]) {
            Ok(l) => l.model,
            Err(e) => {
                eprint!("{e}");
                return ExitCode::from(2);
            }
        };
        for spec in &stacks.stacks {
            let mut spec = spec.clone();
            for o in stacks.parameters.iter().filter(|o| o.stack == spec.name) {
                spec.parameters.insert(o.key.clone(), o.value.clone());
            }
            start_stacks.push(spec);
        }
        environment = Some(env);
        (names, model)
    } else {
        let scenario = match load_scenario(scenarios.first()) {
            Ok(s) => s,
            Err(e) => {
                eprint!("{e}");
                return ExitCode::from(2);
            }
        };
        match scenario.build(&crate::scenario::StackLinks::default()) {
            Ok((mut m, _)) => {
                m.events.public_endpoints.extend(mapped.iter().cloned());
                (scenario.file.clone(), m)
            }
            Err(e) => {
                eprint!("{e}");
                return ExitCode::from(2);
            }
        }
    };
    // The world's runtimes: with the virtual clock, `world_threads` paused current-thread
    // runtimes (the shards), each driven by its own thread (crate::clock); the world is built on
    // shard 0, where its background loops run. With `--clock real`, the listener's. Their threads
    // start first, and build their runtimes while this one builds the listener's.
    let shards = world_threads.max(1);
    let starting_shards = match clock_mode {
        ClockMode::Real => None,
        ClockMode::Virtual => {
            let (tx, rx) = std::sync::mpsc::channel();
            for shard in 0..shards {
                let tx = tx.clone();
                std::thread::Builder::new()
                    .name(if shard == 0 {
                        "vpcgate-world".into()
                    } else {
                        format!("vpcgate-world-{shard}")
                    })
                    .spawn(move || {
                        let world_rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .start_paused(true)
                            .build()
                            .expect("the world's runtime");
                        crate::clock::enter_shard(shard);
                        let _ = tx.send((shard, world_rt.handle().clone()));
                        world_rt.block_on(std::future::pending::<()>());
                    })
                    .expect("the world's thread");
            }
            Some(rx)
        }
    };
    // The listener's runtime (real time: client connections, their read time-outs).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let world_rt = starting_shards.map(|rx| {
        // (The threads keep their senders: take one message from each.)
        let mut handles: Vec<(usize, tokio::runtime::Handle)> = rx.iter().take(shards).collect();
        handles.sort_by_key(|(shard, _)| *shard);
        let handles: Vec<tokio::runtime::Handle> = handles.into_iter().map(|(_, h)| h).collect();
        let gate = crate::clock::VirtualTime::sharded(handles.clone());
        gate.tick_with_host_time(std::time::Duration::from_millis(10));
        (handles, gate)
    });
    // The check runs on its own thread while the world is built and the stacks deploy (it takes
    // as long as both on a cold start); its verdict is awaited before `serve` answers, and its
    // errors are the ones printed when both fail. It starts after the runtimes' threads: on two
    // cores it delayed their start by about half a millisecond.
    let precheck = to_check.map(|check| std::thread::spawn(move || check.load().map(|_| ())));
    rt.block_on(async move {
        let made = match &world_rt {
            None => make_world(model, &ca_dir, crate::clock::Clock::system()).await,
            Some((handles, gate)) => {
                let (ca_dir, gate) = (ca_dir.clone(), gate.clone());
                // Built inside shard 0's runtime: its health checks and timers live there.
                handles[0]
                    .spawn(async move {
                        make_world(model, &ca_dir, crate::clock::Clock::virtual_from_host(gate))
                            .await
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("the world did not start: {e}")))
            }
        };
        let world = match made {
            Ok(w) => w,
            Err(e) => {
                eprintln!("vpcgate serve: {e}");
                return ExitCode::from(1);
            }
        };
        let listener = match crate::edge::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("vpcgate serve: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        // (--stack loading lists what is not emulated itself, once.)
        for n in world.model.not_emulated.iter().filter(|_| from_scenario) {
            tracing::warn!(
                "not emulated: {} ({}): Ref/GetAtt give placeholders",
                n.logical_id,
                n.resource_type
            );
        }
        let mut edge = crate::edge::Edge::new(world, auth)
            .with_unknown_keys(unknown_keys)
            .with_local(crate::edge::LocalEndpoint {
                expose_secrets,
                listen: listener.local_addr().ok(),
            });
        if let Some(env) = environment {
            edge = edge.with_environment(env);
        }
        if let Some((handles, _)) = &world_rt {
            edge = edge.with_world_runtimes(handles.clone());
        }
        let edge = std::sync::Arc::new(edge);
        // Stacks are deployed where the world runs (its listeners and timers live there).
        let deployed = match &world_rt {
            None => crate::edge::cfn_api::deploy_at_start(&edge, &start_stacks),
            Some((handles, _)) => {
                let (edge, start_stacks) = (edge.clone(), start_stacks.clone());
                handles[0]
                    .spawn(async move {
                        crate::edge::cfn_api::deploy_at_start(&edge, &start_stacks)
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("the stacks did not deploy: {e}")))
            }
        };
        // (A check that panicked gives no verdict: the deploy's result decides.)
        if let Some(Ok(Err(e))) = precheck.map(std::thread::JoinHandle::join) {
            eprint!("{e}");
            return ExitCode::from(2);
        }
        if let Err(e) = deployed {
            eprintln!("vpcgate serve: {e}");
            return ExitCode::from(2);
        }
        edge.mark_start();
        for sm in &edge.world().model.state_machines {
            tracing::info!("state machine {} ({})", sm.arn, sm.kind.as_str());
        }
        // A place to stand in each instance's subnet: HTTP and SOCKS5 proxies on loopback.
        let proxies = match &world_rt {
            None => crate::proxy::start_all(&edge).await,
            Some((handles, _)) => {
                // On shard 0: tunnels into the VPCs run where the world was built.
                let edge = edge.clone();
                handles[0]
                    .spawn(async move { crate::proxy::start_all(&edge).await })
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            }
        };
        match proxies {
            Ok(proxies) => {
                for p in &proxies {
                    println!("{p}");
                }
            }
            Err(e) => {
                eprintln!("vpcgate serve: cannot open the instance proxies: {e}");
                return ExitCode::from(1);
            }
        }
        tracing::info!(
            "vpcgate serving {} on http://{addr} (ready in {} ms); sign with test / test or {} / {}, any Region",
            label,
            started.elapsed().as_millis(),
            crate::authz::ROOT_ACCESS_KEY_ID,
            crate::authz::ROOT_SECRET_ACCESS_KEY
        );
        println!("vpcgate listening on http://{addr}");
        if let Some(f) = ON_READY.get() {
            // Off the accept loop's way: the first request need not wait for it.
            let f = *f;
            std::thread::spawn(f);
        }
        crate::edge::run(listener, edge, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        ExitCode::SUCCESS
    })
}

/// The world of `model` on `clock`, under the root CA kept in `ca_dir`.
async fn make_world(
    model: crate::model::Model,
    ca_dir: &std::path::Path,
    clock: crate::clock::Clock,
) -> Result<crate::world::World, String> {
    let pki = crate::pki::Pki::load_or_create(ca_dir, &clock)
        .map_err(|e| format!("{e} (use --ca-dir to put the root CA elsewhere)"))?;
    crate::world::World::build_with_pki(model, clock, pki).map_err(|e| e.to_string())
}

fn ping(addr: std::net::SocketAddr) -> ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result: Result<u16, String> = rt.block_on(async {
        let attempt = async {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let req = http::Request::get("/_vpcgate/health")
                .header(http::header::HOST, addr.to_string())
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .map_err(|e| e.to_string())?;
            let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
            Ok(resp.status().as_u16())
        };
        tokio::time::timeout(std::time::Duration::from_secs(3), attempt)
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".into()))
    });
    match result {
        Ok(200) => {
            println!("vpcgate at {addr} is healthy");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("vpcgate at {addr} answered {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("vpcgate at {addr}: {e}");
            ExitCode::from(1)
        }
    }
}
