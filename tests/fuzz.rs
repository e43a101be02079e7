//! A mutation fuzzer for vpcgate's parsers, on stable Rust.
//!
//! Each target starts from a corpus of real inputs (the bundled scenarios, the seed's templates,
//! AWS-recorded ASL definitions, SigV4-signed requests) and feeds the parser mutated copies:
//! bytes flipped, inserted, deleted and duplicated, tokens of the format spliced in, and
//! nesting bombs (`[[[[…`, `((((…`). A parser passes when every input comes back as `Ok` or `Err`:
//! a panic is a finding (the input is printed), and so is an input that takes longer than the
//! watchdog's limit (a hang). The run is deterministic for a seed.
//!
//! `cargo run --release -p vpcgate-tests --bin fuzz -- [TARGET…] [--count N] [--seed S]` runs it
//! at length and prints inputs/s; the test suite runs a short seeded slice of every target.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A small, fast, seeded generator (xorshift64*): the same seed gives the same inputs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// A parser's entry point: one input in, the result dropped.
pub type Parser = Box<dyn Fn(&[u8]) + Send + Sync>;

/// One parser under test.
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// Real inputs to start from.
    pub corpus: Vec<Vec<u8>>,
    /// Tokens of the format, spliced into inputs.
    pub tokens: &'static [&'static str],
    /// Runs the parser on one input (its result is dropped: only panics and hangs count).
    pub run: Parser,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("corpus", &self.corpus.len())
            .finish()
    }
}

/// What a run found.
#[derive(Debug)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Inputs run.
    pub inputs: u64,
    /// Seconds of wall time.
    pub seconds: f64,
    /// Inputs that made the parser panic (at most a few, each as lossy UTF-8).
    pub panics: Vec<String>,
}

impl Report {
    /// Inputs per second.
    pub fn rate(&self) -> f64 {
        self.inputs as f64 / self.seconds.max(1e-9)
    }
}

/// A mutated copy of a corpus entry.
pub fn mutate(rng: &mut Rng, target: &Target) -> Vec<u8> {
    let mut input = target.corpus[rng.below(target.corpus.len())].clone();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next_u64() as u8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            3 if len > 0 => {
                // Duplicate a slice (repeated keys, repeated elements).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let piece: Vec<u8> = input[i..i + n].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, piece);
            }
            4 | 5 if !target.tokens.is_empty() => {
                let token = target.tokens[rng.below(target.tokens.len())].as_bytes();
                let at = rng.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            6 => {
                // A nesting bomb: an opener repeated hundreds or thousands of times.
                let opener: &[u8] = [
                    b"[".as_slice(),
                    b"{\"a\":",
                    b"(",
                    b"- ",
                    b"$.a",
                    b"{% ",
                    b"!!",
                ][rng.below(7)];
                let times = 100 + rng.below(5_000);
                let at = rng.below(len + 1);
                let bomb: Vec<u8> = opener
                    .iter()
                    .copied()
                    .cycle()
                    .take(opener.len() * times)
                    .collect();
                input.splice(at..at, bomb);
            }
            7 => {
                // Splice the tail of another corpus entry.
                let other = &target.corpus[rng.below(target.corpus.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            8 if len > 0 => {
                // An interesting number where a digit was.
                if let Some(i) = (0..len)
                    .map(|k| (k + rng.below(len)) % len)
                    .find(|i| input[*i].is_ascii_digit())
                {
                    let n = [
                        "-1",
                        "0",
                        "1e308",
                        "-9223372036854775809",
                        "18446744073709551616",
                        "NaN",
                        "1e-400",
                        "99999999999999999999",
                    ][rng.below(8)];
                    input.splice(i..i + 1, n.bytes());
                }
            }
            _ => {}
        }
    }
    input.truncate(1 << 20);
    input
}

/// Runs `count` mutated inputs through `target` from `seed`. A watchdog ends the process (exit
/// code 3) with the input if one runs longer than `hang_after`.
pub fn run(target: &Target, count: u64, seed: u64, hang_after: Duration) -> Report {
    let current: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (current, done, finished) = (current.clone(), done.clone(), finished.clone());
        let name = target.name;
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            let step = Duration::from_millis(100);
            let mut still = Duration::ZERO;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                let now = done.load(Ordering::Relaxed);
                if now == last {
                    still += step;
                    if still >= hang_after {
                        let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                        eprintln!(
                            "fuzz {name}: HANG: one input ran longer than {hang_after:?} ({} bytes):\n{}",
                            input.len(),
                            String::from_utf8_lossy(&input[..input.len().min(2048)])
                        );
                        std::process::exit(3);
                    }
                } else {
                    still = Duration::ZERO;
                    last = now;
                }
            }
        })
    };
    // Silent only for this thread's expected panics: other tests running in the same process
    // keep their panic messages (a process-wide silent hook hid another test's failure in CI).
    let previous_hook: std::sync::Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
        std::sync::Arc::from(std::panic::take_hook());
    let fuzzing = std::thread::current().id();
    let delegate = previous_hook.clone();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != fuzzing {
            delegate(info);
        }
    }));
    let mut rng = Rng::new(seed);
    let mut panics = Vec::new();
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
    // a throughput figure, not the emulator's clock
    let started = std::time::Instant::now();
    for i in 0..count {
        let input = mutate(&mut rng, target);
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err() && panics.len() < 5 {
            panics.push(String::from_utf8_lossy(&input[..input.len().min(4096)]).into_owned());
        }
        done.store(i + 1, Ordering::Relaxed);
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| previous_hook(info)));
    finished.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    Report {
        target: target.name,
        inputs: count,
        seconds,
        panics,
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path, ext: &[&str], out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ext.contains(&e))
            && let Ok(bytes) = std::fs::read(&p)
        {
            out.push(bytes);
        }
    }
}

fn text(input: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(input)
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "1e999",
    "-0",
    "\"\":",
    "{\"Ref\":\"X\"}",
    "{\"Fn::GetAtt\":[\"A\",\"B\"]}",
    "{\"Fn::Sub\":\"${A}\"}",
    "{\"Fn::If\":[\"C\",1,2]}",
];

const YAML_TOKENS: &[&str] = &[
    "\n",
    "  ",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!Ref ",
    "!GetAtt ",
    "!Sub ",
    "!If ",
    "!Join ",
    "{",
    "}",
    "[",
    "]",
    "? ",
    "|\n",
    ">\n",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "!!binary ",
    "<<: *a\n",
    "\t",
    "'",
    "\"",
];

/// Every target, with its corpus.
pub fn targets() -> Vec<Target> {
    let root = repo();
    let mut scenarios = Vec::new();
    files(&root.join("scenarios"), &["json"], &mut scenarios);
    let mut templates = Vec::new();
    files(
        &root.join("tests/fixtures/templates"),
        &["yaml", "yml", "json"],
        &mut templates,
    );
    let mut definitions = Vec::new();
    for dir in std::fs::read_dir(root.join("tests/fixtures/asl"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(b) = std::fs::read(dir.path().join("definition.json")) {
            definitions.push(b);
        }
    }
    definitions.sort();
    let policies: Vec<Vec<u8>> = [
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"states:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["s3:Get*","execute-api:Invoke"],"NotResource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"ForAnyValue:StringLike":{"aws:PrincipalTag/team":"a*"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"Bool":{"aws:SecureTransport":"false"},"NumericLessThanEquals":{"s3:max-keys":"10"},"ArnLike":{"aws:SourceArn":"arn:aws:states:*:*:stateMachine:*"},"Null":{"aws:SourceVpce":"true"}}}]}"#,
        r#"{"Statement":{"Sid":"A","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root","*"]},"Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/*"}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let environments: Vec<Vec<u8>> = vec![
        std::fs::read(root.join("tests/fixtures/templates/seed-000/environment.json")).unwrap_or_default(),
        b"Region: ap-northeast-1\nAccountId: '123456789012'\nVpcs:\n  - VpcId: vpc-1\n    CidrBlock: 10.0.0.0/16\n    Subnets:\n      - SubnetId: subnet-1\n        CidrBlock: 10.0.1.0/24\n        AvailabilityZone: ap-northeast-1a\nHostedZones:\n  - Name: example.com\n    VpcIds: [vpc-1]\n    Records:\n      - Name: a.example.com\n        Type: CNAME\n        Value: {Stack: s, Output: O}\n".to_vec(),
    ];
    let jsonpaths: Vec<Vec<u8>> = [
        "$",
        "$.a.b[0]",
        "$['a.b']",
        "$.a[*].b",
        "$..c",
        "$.a[?(@.b > 1)]",
        "$.a[1:3]",
        "$$.Execution.Input",
        "$x.y",
        "States.Format('{}', $.a)",
        "States.ArrayRange(1, 10, 2)",
        "States.MathAdd($.a, 1)",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let jsonata: Vec<Vec<u8>> = [
        "$states.input.a + 1",
        "$count($states.input.items[price > 10])",
        "( $f := function($n){ $n < 2 ? $n : $f($n-1) }; $f(10) )",
        "$match('abc', /b+/)",
        "{'a': [1,2,3].($ * 2)}",
        "$reduce([1,2,3], function($a, $b){ $a + $b })",
        "$string($now())",
        "\"a\" & $uppercase('b')",
        "$states.context.Execution.Id",
        "[1..5]",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let sigv4 = signed_requests();
    vec![
        Target {
            name: "scenario-json",
            corpus: scenarios,
            tokens: JSON_TOKENS,
            run: Box::new(|b| {
                let _ = vpcgate::scenario::Scenario::parse(&text(b), "fuzz.json")
                    .and_then(|s| s.build(&Default::default()).map(|_| ()));
            }),
        },
        Target {
            name: "template-yaml",
            corpus: templates,
            tokens: YAML_TOKENS,
            run: Box::new(|b| {
                let _ = vpcgate::scenario::yaml::parse_template(&text(b), "fuzz.yaml");
            }),
        },
        Target {
            name: "environment",
            corpus: environments,
            tokens: YAML_TOKENS,
            run: Box::new(|b| {
                let _ = vpcgate::scenario::stacks::Environment::parse(&text(b), "fuzz.yaml");
            }),
        },
        Target {
            name: "asl",
            corpus: definitions,
            tokens: &[
                "\"Type\":\"Map\",",
                "\"Type\":\"Parallel\",",
                "\"Next\":\"X\",",
                "\"End\":true,",
                "\"$.a\"",
                "\"States.Format('{}')\"",
                "\"{% $a %}\"",
                "\"QueryLanguage\":\"JSONata\",",
                "\"Retry\":[{}],",
                "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"X\"}],",
                "\"Choices\":[{}],",
                "\"TimeoutSeconds\":99999999999,",
                "\"Assign\":{\"a\":1},",
                "\"ItemProcessor\":{},",
            ],
            run: Box::new(|b| {
                let _ = vpcgate::asl::StateMachine::parse(&text(b));
            }),
        },
        Target {
            name: "jsonpath",
            corpus: jsonpaths,
            tokens: &[
                "$", ".", "[", "]", "'", "\\'", "*", "..", "?(", "@", ")", ":", "States.", "(",
                ",", "\"", "\\\\",
            ],
            run: Box::new(|b| {
                // A path or intrinsic in every place a definition takes one.
                let p = serde_json::to_string(&text(b)).unwrap_or_default();
                let def = format!(
                    r#"{{"StartAt":"P","States":{{"P":{{"Type":"Pass","InputPath":{p},"Parameters":{{"a.$":{p}}},"ResultSelector":{{"b.$":{p}}},"OutputPath":{p},"End":true}}}}}}"#
                );
                let _ = vpcgate::asl::StateMachine::parse(&def);
            }),
        },
        Target {
            name: "jsonata",
            corpus: jsonata,
            tokens: &[
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "$",
                "$$",
                "function($x){",
                "}",
                "?",
                ":",
                "..",
                "~>",
                "&",
                "'",
                "\"",
                "/a+/",
                "*",
                "**",
                "%",
                "and",
                "or",
                ".",
                ":=",
            ],
            run: Box::new(|b| {
                let e = serde_json::to_string(&format!("{{% {} %}}", text(b))).unwrap_or_default();
                let def = format!(
                    r#"{{"QueryLanguage":"JSONata","StartAt":"P","States":{{"P":{{"Type":"Pass","Output":{e},"End":true}}}}}}"#
                );
                let _ = vpcgate::asl::StateMachine::parse(&def);
            }),
        },
        Target {
            name: "iam-policy",
            corpus: policies,
            tokens: JSON_TOKENS,
            run: Box::new(|b| {
                use vpcgate::iam::{Policy, PolicyKind};
                let t = text(b);
                let _ = Policy::parse_str(&t, PolicyKind::IdentityBased);
                let _ = Policy::parse_str(&t, PolicyKind::ResourceBased);
            }),
        },
        Target {
            name: "sigv4",
            corpus: sigv4,
            tokens: &[
                "AWS4-HMAC-SHA256 ",
                "Credential=",
                "SignedHeaders=",
                "Signature=",
                ", ",
                "/",
                ";",
                "=",
                "%2F",
                "%",
                "X-Amz-Expires=",
                "X-Amz-Date=",
                "&",
                "?",
                "\r\n",
                "host",
                "x-amz-date",
                "x-amz-security-token",
            ],
            run: Box::new(verify_mutated),
        },
    ]
}

/// Signed requests as `METHOD TARGET\nheader: value\n…\n\nbody` text (query- and header-signed).
fn signed_requests() -> Vec<Vec<u8>> {
    use vpcgate::sigv4::{Credentials, SignatureLocation, SigningSettings, sign_request};
    let creds = Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: None,
    };
    let at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let mut out = Vec::new();
    for (method, uri, location) in [
        (
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            SignatureLocation::Headers,
        ),
        (
            "POST",
            "https://example.amazonaws.com/a/b/../c%20d",
            SignatureLocation::Headers,
        ),
        (
            "GET",
            "https://example.amazonaws.com/prod/items?x=1",
            SignatureLocation::QueryString,
        ),
    ] {
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "example.amazonaws.com")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .body(b"{\"a\":1}".to_vec())
            .expect("a request");
        let settings = SigningSettings {
            location,
            ..SigningSettings::default()
        };
        if sign_request(&mut req, &creds, "us-east-1", "execute-api", at, &settings).is_err() {
            continue;
        }
        let mut s = format!(
            "{} {}\n",
            req.method(),
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        for (n, v) in req.headers() {
            s.push_str(&format!("{n}: {}\n", v.to_str().unwrap_or("")));
        }
        s.push('\n');
        s.push_str(&String::from_utf8_lossy(req.body()));
        out.push(s.into_bytes());
    }
    out
}

/// Rebuilds a request from the mutated text (what does not form a request is dropped, as hyper
/// would drop it) and verifies it.
fn verify_mutated(input: &[u8]) {
    use vpcgate::sigv4::{Credentials, Incoming, VerifyPolicy};
    let t = text(input);
    let (head, body) = t.split_once("\n\n").unwrap_or((&t, ""));
    let mut lines = head.lines();
    let Some((method, target)) = lines.next().and_then(|l| l.split_once(' ')) else {
        return;
    };
    let Ok(mut builder) = http::Request::builder()
        .method(method)
        .uri(target)
        .body(())
        .map(|r| r.into_parts().0)
    else {
        return;
    };
    for line in lines {
        if let Some((n, v)) = line.split_once(": ")
            && let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(n.as_bytes()),
                http::HeaderValue::from_str(v),
            )
        {
            builder.headers.append(n, v);
        }
    }
    let at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let _ = vpcgate::sigv4::verify(
        &Incoming::from_parts(&builder, body.as_bytes()),
        at,
        &VerifyPolicy::execute_api("us-east-1"),
        |key| {
            (key == "AKIDEXAMPLE").then(|| Credentials {
                access_key_id: key.into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
            })
        },
    );
}
