//! Clients inside a VPC (docs/vpc-clients.md): real clients — curl, Python's urllib, boto3 —
//! driven through the per-instance HTTP and SOCKS5 proxies of `serve`, and the library API on a
//! paused clock for the time-outs.
//!
//! Sources: seed 001 (the execute-api endpoint carries invocations only; the control plane
//! answers through a NAT gateway), seed 002 (StartSyncExecution through a sync-states endpoint),
//! seed 003 (a PRIVATE REST API: `{"message":"Private API executed!!"}` from the instance,
//! `curl: (6) Could not resolve host` from outside).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use vpcgate::clock::Clock;
use vpcgate::edge::{AuthMode, Edge};
use vpcgate::proxy::ProxyInfo;
use vpcgate::scenario::StackLinks;
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::scenario;

/// A running `serve` of a bundled scenario with its proxies, on a runtime of its own (real time).
struct Served {
    addr: SocketAddr,
    proxies: Vec<ProxyInfo>,
    ca: PathBuf,
    world: World,
}

impl Served {
    fn proxy(&self, logical_id: &str) -> &ProxyInfo {
        self.proxies
            .iter()
            .find(|p| p.logical_id == logical_id)
            .unwrap_or_else(|| panic!("no proxy for {logical_id}: {:?}", self.proxies))
    }
}

fn serve(name: &str) -> Served {
    let s = scenario(name);
    let (model, _) = s.build(&StackLinks::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // Real clients sign with the host's time: the world runs on it too.
            let world = World::build(model, Clock::system()).unwrap();
            let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
            let proxies = vpcgate::proxy::start_all(&edge).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((listener.local_addr().unwrap(), proxies, world))
                .unwrap();
            vpcgate::edge::run(listener, edge, std::future::pending()).await;
        });
    });
    let (addr, proxies, world) = rx.recv().unwrap();
    // The CA is made per start: fetch it from the running server, as a user would.
    // Under the build's own temporary folder (cargo cleans it), not the system's.
    let ca = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "vpcgate-ca-{}-{}.pem",
        std::process::id(),
        addr.port()
    ));
    let out = Command::new("curl")
        .args(["-sS", "-o"])
        .arg(&ca)
        .arg(format!("http://{addr}/_vpcgate/ca.pem"))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Served {
        addr,
        proxies,
        ca,
        world,
    }
}

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS"])
        .args(args)
        .output()
        .expect("curl runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn api_host(w: &World, logical: &str) -> String {
    let api = w.model.apigw.find_rest_api(logical).unwrap();
    format!("{}.execute-api.{}.amazonaws.com", api.id, w.model.region)
}

#[test]
fn curl_through_the_instance_http_proxy_reaches_the_private_api() {
    let s = serve("seed-003-private-api.json");
    let host = api_host(&s.world, "privateApi");
    let p = s.proxy("ec2Instance");
    let out = curl(&[
        "--proxy",
        &format!("http://{}", p.http),
        "--cacert",
        s.ca.to_str().unwrap(),
        &format!("https://{host}/prod/"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Seed 003's transcript: {"message":"Private API executed!!"}
    assert_eq!(text(&out.stdout), r#"{"message":"Private API executed!!"}"#);

    // The same through SOCKS5 with the name resolved by the VPC (socks5h).
    let out = curl(&[
        "--proxy",
        &format!("socks5h://{}", p.socks),
        "--cacert",
        s.ca.to_str().unwrap(),
        &format!("https://{host}/prod/items"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), r#"{"message":"Private API executed!!"}"#);

    // /_vpcgate/world reports the proxies.
    let out = curl(&[&format!("http://{}/_vpcgate/world", s.addr)]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let inst = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["logicalId"] == "ec2Instance")
        .unwrap()
        .clone();
    assert_eq!(inst["httpProxy"], p.http.to_string());
    assert_eq!(inst["socksProxy"], p.socks.to_string());
    assert_eq!(inst["privateIp"], p.private_ip.to_string());
    assert!(inst["id"].as_str().unwrap().starts_with("i-"));
}

#[test]
fn from_outside_the_name_does_not_resolve_and_the_proxy_says_so() {
    let s = serve("seed-003-private-api.json");
    let host = api_host(&s.world, "privateApi");
    let p = s.proxy("Outsider");
    // HTTP proxy: the CONNECT is answered 502 (a forward proxy's answer to a DNS failure); curl
    // reports the failed tunnel (exit 56).
    let out = curl(&[
        "--proxy",
        &format!("http://{}", p.http),
        "--cacert",
        s.ca.to_str().unwrap(),
        &format!("https://{host}/prod/"),
    ]);
    assert_eq!(out.status.code(), Some(56), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("CONNECT tunnel failed, response 502"),
        "{}",
        text(&out.stderr)
    );
    // The proxy's answer names the cause.
    let out = curl(&[
        "-i",
        "--proxy",
        &format!("http://{}", p.http),
        "--proxytunnel",
        &format!("http://{host}:443/"),
    ]);
    assert!(
        text(&out.stdout)
            .to_ascii_lowercase()
            .contains("x-vpcgate-error: nxdomain"),
        "{}",
        text(&out.stdout)
    );
    // The absolute-URI form (plain http://) is sent by the proxy itself: the same answer.
    let out = curl(&[
        "-i",
        "--proxy",
        &format!("http://{}", p.http),
        &format!("http://{host}/prod/"),
    ]);
    let head = text(&out.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 502"), "{head}");
    assert!(head.contains("x-vpcgate-error: nxdomain"), "{head}");
    // SOCKS5: reply 4 (host unreachable); curl cannot complete the SOCKS5 connection (exit 97).
    let out = curl(&[
        "--proxy",
        &format!("socks5h://{}", p.socks),
        "--cacert",
        s.ca.to_str().unwrap(),
        &format!("https://{host}/prod/"),
    ]);
    assert_eq!(out.status.code(), Some(97), "{}", text(&out.stderr));
}

#[test]
fn what_the_vpc_drops_keeps_the_client_waiting_until_its_timeout() {
    let s = serve("seed-003-endpoint-sg-narrowed.json");
    let host = api_host(&s.world, "privateApi");
    let p = s.proxy("ec2Instance");
    let started = tokio::time::Instant::now();
    let out = curl(&[
        "--connect-timeout",
        "2",
        "--proxy",
        &format!("http://{}", p.http),
        "--cacert",
        s.ca.to_str().unwrap(),
        &format!("https://{host}/prod/"),
    ]);
    // curl: (28) … timed out: the endpoint's group drops the SYN; the proxy never answers.
    assert_eq!(out.status.code(), Some(28), "{}", text(&out.stderr));
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn python_urllib_through_the_proxy() {
    let s = serve("seed-003-private-api.json");
    let host = api_host(&s.world, "privateApi");
    let p = s.proxy("ec2Instance");
    let script = r#"
import ssl, sys, urllib.request
proxy, ca, url = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({"https": proxy, "http": proxy}),
    urllib.request.HTTPSHandler(context=ctx))
with opener.open(url, timeout=10) as r:
    print(r.status, r.read().decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(format!("http://{}", p.http))
        .arg(&s.ca)
        .arg(format!("https://{host}/prod/"))
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"200 {"message":"Private API executed!!"}"#
    );
}

const BOTO3: &str = r#"
import json, sys, boto3, botocore
from botocore.config import Config
proxy, ca, what = sys.argv[1:4]
cfg = Config(proxies={"https": proxy}, connect_timeout=2, read_timeout=10,
             retries={"max_attempts": 1, "mode": "standard"})
kw = dict(region_name="ap-northeast-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", config=cfg, verify=ca)
try:
    if what == "get_rest_apis":
        r = boto3.client("apigateway", **kw).get_rest_apis()
        print(json.dumps({"names": [i["name"] for i in r["items"]],
                          "types": [i["endpointConfiguration"]["types"] for i in r["items"]]}))
    else:
        arn, payload = sys.argv[4:6]
        r = boto3.client("stepfunctions", **kw).start_sync_execution(stateMachineArn=arn, input=payload)
        print(json.dumps({"status": r["status"], "outputIsString": isinstance(r["output"], str),
                          "output": json.loads(r["output"])}))
except botocore.exceptions.BotoCoreError as e:
    print(json.dumps({"error": type(e).__name__}))
"#;

fn boto3(args: &[&str]) -> Value {
    let out = Command::new("python3")
        .args(["-c", BOTO3])
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "boto3 script failed:\n{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", text(&out.stdout)))
}

#[test]
fn boto3_get_rest_apis_answers_through_the_nat_gateway_only() {
    // Seed 001: the Lambda's get_rest_apis() from the private subnet, through the NAT gateway.
    let s = serve("seed-001-nat.json");
    let p = s.proxy("LambdaEni");
    let out = boto3(&[
        &format!("http://{}", p.http),
        s.ca.to_str().unwrap(),
        "get_rest_apis",
    ]);
    assert_eq!(out["names"], serde_json::json!(["seed001-private-api"]));
    assert_eq!(out["types"], serde_json::json!([["PRIVATE"]]));

    // Without the NAT route the connection never completes. In the VPC botocore reports
    // ConnectTimeoutError; through the HTTP proxy its TCP connection (to the proxy) succeeds and
    // the CONNECT answer never comes, which urllib3 reports as a read time-out within the
    // connect time-out (docs/vpc-clients.md).
    let s = serve("seed-001-no-nat.json");
    let p = s.proxy("LambdaEni");
    let started = tokio::time::Instant::now();
    let out = boto3(&[
        &format!("http://{}", p.http),
        s.ca.to_str().unwrap(),
        "get_rest_apis",
    ]);
    let error = out["error"].as_str().unwrap_or_default();
    assert!(
        error == "ConnectTimeoutError" || error == "ReadTimeoutError",
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 2 s connect time-out decided"
    );
}

#[test]
fn boto3_start_sync_execution_through_the_sync_states_endpoint() {
    // Seed 002: botocore sends StartSyncExecution to sync-states.<region>.amazonaws.com, which
    // the endpoint's private DNS answers inside the VPC that has no NAT gateway.
    let s = serve("seed-002-express-from-vpc.json");
    let p = s.proxy("LambdaEni");
    let arn = s.world.model.state_machines[0].arn.clone();
    let out = boto3(&[
        &format!("http://{}", p.http),
        s.ca.to_str().unwrap(),
        "start_sync_execution",
        &arn,
        r#"{"apiEndpoint": "https://example.com/", "method": "GET"}"#,
    ]);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["outputIsString"], true);
    assert_eq!(out["output"]["StatusCode"], 206);
    assert_eq!(out["output"]["RequestedEndpoint"], "https://example.com/");
}

// ---------------------------------------------------------------------------------------------
// The library API on a paused clock (no host sockets).
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn no_route_never_completes_and_the_callers_timer_decides() {
    let (_, world) = vpcgate_tests::world(&scenario("seed-001-no-nat.json"));
    let instance = world.ec2.instance("LambdaEni").unwrap();
    let trace = Trace::new();
    let start = tokio::time::Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        vpcgate::ec2::connect(
            &world,
            &instance,
            "apigateway.ap-northeast-1.amazonaws.com",
            443,
            &trace,
        ),
    )
    .await;
    assert!(r.is_err(), "a connection with no route must never complete");
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    let hops = trace.render();
    assert!(hops.contains("A 198.51.100.13"), "{hops}");
    assert!(hops.contains("no route to 198.51.100.13"), "{hops}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn names_outside_every_zone_fail_at_once_and_a_port_without_listener_is_refused() {
    let (_, world) = vpcgate_tests::world(&scenario("seed-003-private-api.json"));
    let outsider = world.ec2.instance("Outsider").unwrap();
    let trace = Trace::new();
    let host = api_host(&world, "privateApi");
    let err = vpcgate::ec2::connect(&world, &outsider, &host, 443, &trace)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            vpcgate::ec2::OpenError::Resolve(vpcgate::dns::ResolveError::NxDomain { .. })
        ),
        "{err}"
    );
    // The endpoint's ENI listens on 443 only: 80 is reset.
    let inside = world.ec2.instance("ec2Instance").unwrap();
    let err = vpcgate::ec2::connect(&world, &inside, &host, 80, &trace)
        .await
        .unwrap_err();
    assert!(matches!(err, vpcgate::ec2::OpenError::Refused(_)), "{err}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_request_from_the_instance_carries_aws_source_vpce() {
    let (_, world) = vpcgate_tests::world(&scenario("seed-003-private-api.json"));
    let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
    edge.attach_endpoints();
    let instance = world.ec2.instance("ec2Instance").unwrap();
    let endpoint = world.ec2.endpoint("privateApiVpcEndpoint").unwrap();
    let host = api_host(&world, "privateApi");
    let trace = Trace::new();
    // The endpoint-specific host form {api-id}-{vpce-id}.execute-api… (the private zone's
    // wildcard answers it here).
    let api = host.split('.').next().unwrap();
    let vpce_host = host.replacen(api, &format!("{api}-{}", endpoint.config.id), 1);
    let req = http::Request::get(format!("https://{vpce_host}/prod/"))
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = vpcgate::ec2::request(&world, &instance, req, &trace)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", trace.render());
    assert_eq!(
        resp.body().as_ref(),
        br#"{"message":"Private API executed!!"}"#
    );
    let hops = trace.render();
    assert!(hops.contains("endpoint-specific host name"), "{hops}");
    assert!(
        hops.contains(&format!(
            "private api {api} reached through {}",
            endpoint.config.id
        )),
        "{hops}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_instance_reaches_a_lattice_service_through_its_vpc() {
    // Seed 004's client instance: the service's name resolves to a Lattice address and the
    // instance's connection goes through the service network (an unsigned call is refused by
    // the auth policy, which is Lattice answering, not a hang).
    let (_, world) = vpcgate_tests::world(&scenario("seed-004-fixed.json"));
    world.lattice.settled().await;
    let instance = world.ec2.instance("ServiceAInstance").unwrap();
    let service = world
        .model
        .lattice
        .services
        .iter()
        .find(|s| s.logical_id == "ServiceBLatticeService")
        .unwrap();
    let req = http::Request::get(format!("https://{}/orders", service.dns_name))
        .body(bytes::Bytes::new())
        .unwrap();
    let trace = Trace::new();
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        vpcgate::ec2::request(&world, &instance, req, &trace),
    )
    .await
    .expect("Lattice answers")
    .unwrap();
    assert_eq!(resp.status(), 403, "{}", trace.render());
}

#[test]
fn the_proxies_refuse_bad_ports_and_the_instances_own_loopback_at_once() {
    // A CONNECT needs a real port (none, 0 or past 65535 is a bad request, never a guess of 443),
    // and 127.0.0.1 is the instance's own loopback, where nothing listens: refused at once,
    // never a hang and never the host's loopback.
    let s = serve("seed-003-private-api.json");
    let p = s.proxy("Outsider");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = |request: String| {
        rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(p.http).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 2048];
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .expect("an answer within 5 s")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
        })
    };
    for target in ["example.com:99999", "example.com:0", "example.com:-1"] {
        let head = answer(format!(
            "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
        ));
        assert!(head.starts_with("http/1.1 400"), "{target}: {head}");
    }
    let head = answer("CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".into());
    assert!(head.starts_with("http/1.1 502"), "{head}");
    assert!(head.contains("x-vpcgate-error: refused"), "{head}");
    // SOCKS5 to the loopback: curl gets the refusal (not its own time-out, exit 28).
    let out = curl(&[
        "--max-time",
        "5",
        "--proxy",
        &format!("socks5h://{}", p.socks),
        "http://127.0.0.1:9/",
    ]);
    assert_eq!(out.status.code(), Some(97), "{}", text(&out.stderr));
}
