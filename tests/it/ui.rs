//! The trace viewer (issue 20): its JSON feed and drawings answered in process, its loopback-only
//! rule, `explain --format svg`, and the page itself in a real browser (Debian's headless
//! Chromium, which scripts/test.sh installs) while `serve` runs the seed's gotcha.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use vpcgate::edge::{AuthMode, Edge};
use vpcgate_tests::edge_call::send;
use vpcgate_tests::{scenario, world};

const GOTCHA: &str = "gotcha-narrowed-gateway-sg.json";

/// The id of the security group of the seed's resource gateway in `model`.
fn gateway_group(model: &vpcgate::model::Model) -> String {
    model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "ResourceGatewaySecurityGroup")
        .expect("the seed names its gateway's group ResourceGatewaySecurityGroup")
        .id
        .to_string()
}

async fn request(
    edge: &Arc<Edge>,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, Bytes) {
    let a = send(edge, method, host, path, headers, body.to_string()).await;
    (a.status, a.headers, a.body)
}

async fn get_json(edge: &Arc<Edge>, path: &str) -> Value {
    let (status, headers, body) = request(edge, "GET", "localhost:4566", path, &[], "").await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json", "{path}");
    serde_json::from_slice(&body).unwrap()
}

async fn start_execution(edge: &Arc<Edge>, state_machine_arn: &str) -> String {
    let (status, _, body) = request(
        edge,
        "POST",
        "states.ap-northeast-1.amazonaws.com",
        "/",
        &[
            ("x-amz-target", "AWSStepFunctions.StartExecution"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        &json!({"stateMachineArn": state_machine_arn}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["executionArn"].as_str().unwrap().to_string()
}

/// Waits (in virtual time) until the feed's newest entry is no longer running.
async fn finished(edge: &Arc<Edge>) -> Value {
    for _ in 0..600 {
        let feed = get_json(edge, "/_vpcgate/executions").await;
        if feed["entries"][0]["running"] == json!(false) {
            return feed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the execution did not finish within 300 s of virtual time");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_feed_lists_the_gotcha_with_the_gateway_group_that_dropped_it() {
    let s = scenario(GOTCHA);
    let (model, world) = world(&s);
    let group = gateway_group(&model);
    let sm = model.state_machines[0].arn.clone();
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let arn = start_execution(&edge, &sm).await;

    let feed = finished(&edge).await;
    let e = &feed["entries"][0];
    assert_eq!(e["kind"], "execution");
    assert_eq!(e["executionArn"], json!(arn));
    assert_eq!(e["status"], "FAILED");
    assert_eq!(e["error"], "States.Http.Socket");
    // The HTTP Task's 60 s went by in virtual time.
    assert_eq!(e["virtualMs"], 60_000, "{e}");
    assert_eq!(e["refusedBy"]["component"], "sg");
    assert_eq!(e["refusedBy"]["verdict"], "DROP");
    assert_eq!(e["refusedBy"]["state"], "CallPrivateApi");
    let rule = e["refusedBy"]["rule"].as_str().unwrap();
    assert!(rule.contains(&group), "{rule} names {group}");
    assert!(
        e["refusedBy"]["address"]
            .as_str()
            .unwrap()
            .contains("resource gateway"),
        "{e}"
    );

    // One entry, by its id and by its ARN: the states from the history and the hops.
    let id = e["id"].as_str().unwrap();
    let doc = get_json(&edge, &format!("/_vpcgate/trace/{id}")).await;
    let by_arn = get_json(
        &edge,
        &format!("/_vpcgate/trace/{}", arn.replace(':', "%3A")),
    )
    .await;
    assert_eq!(doc["id"], by_arn["id"]);
    let task = doc["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "CallPrivateApi")
        .unwrap_or_else(|| panic!("{}", doc["states"]));
    assert_eq!(task["type"], "Task");
    assert_eq!(task["refused"], true);
    assert_eq!(task["enteredMs"], 0);
    assert_eq!(task["exitedMs"], 60_000, "{task}");
    let hops = doc["trace"]["hops"].as_array().unwrap();
    let deciding = doc["trace"]["decidingHop"].as_u64().unwrap() as usize;
    assert_eq!(hops[deciding]["component"], "sg");
    assert_eq!(hops[deciding]["state"], "CallPrivateApi");
    assert_eq!(doc["trace"]["elapsedMs"], 60_000);
    // The IAM hops name the statement that allowed them.
    assert!(
        hops.iter().any(|h| h["component"] == "iam"
            && h["rule"]
                .as_str()
                .unwrap_or_default()
                .contains("Statement[")),
        "{hops:?}"
    );

    // The same path drawn, for one state: the red box names the group.
    let (status, headers, svg) = request(
        &edge,
        "GET",
        "127.0.0.1:4566",
        &format!("/_vpcgate/trace/{id}?format=svg&state=CallPrivateApi"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    let svg = String::from_utf8(svg.to_vec()).unwrap();
    let red = red_box(&svg);
    assert!(red.contains(&group), "{red}");
    assert!(svg.contains("+60.000 s of virtual time"), "{svg}");

    // Unknown ids are a 404 in vpcgate's JSON shape.
    let (status, _, body) =
        request(&edge, "GET", "localhost", "/_vpcgate/trace/999", &[], "").await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("no recent execution"));
}

/// The `<g>` of the hop that decided (`class="hop … deciding"`) in a drawing or a dumped DOM.
fn red_box(doc: &str) -> &str {
    let start = doc
        .find("deciding\"")
        .unwrap_or_else(|| panic!("no deciding hop in:\n{doc}"));
    let rest = &doc[start..];
    &rest[..rest.find("</g>").unwrap()]
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn data_plane_requests_are_listed_with_their_hops() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let api = &model.apigw.rest_apis[0];
    let stage = model
        .apigw
        .stages
        .iter()
        .find(|st| st.rest_api_id == api.id)
        .unwrap()
        .name
        .clone();
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let host = format!("{}.execute-api.ap-northeast-1.amazonaws.com", api.id);
    let (status, _, _) = request(&edge, "GET", &host, &format!("/{stage}/"), &[], "").await;
    let feed = get_json(&edge, "/_vpcgate/executions").await;
    let e = &feed["entries"][0];
    assert_eq!(e["kind"], "request");
    assert_eq!(e["method"], "GET");
    assert_eq!(e["path"], format!("/{stage}/"));
    assert_eq!(e["status"], status.to_string());
    assert_eq!(e["running"], false);
    assert!(e["hops"].as_u64().unwrap() > 0, "{e}");
    let doc = get_json(
        &edge,
        &format!("/_vpcgate/trace/{}", e["id"].as_str().unwrap()),
    )
    .await;
    assert!(
        doc["trace"]["hops"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["component"] == "apigw"),
        "{doc}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_viewer_answers_only_a_loopback_host_and_carries_no_secrets() {
    let s = scenario(GOTCHA);
    let (model, world) = world(&s);
    // The connections' secrets hold a value the test can look for.
    const SECRET: &str = "vpcgate-ui-test-secret-4242";
    fn plant(v: &mut Value) {
        match v {
            Value::String(s) if s == "dummy" => *s = SECRET.into(),
            Value::Object(o) => o.values_mut().for_each(plant),
            Value::Array(a) => a.iter_mut().for_each(plant),
            _ => {}
        }
    }
    for c in &model.connections {
        let mut value = world.secrets.get(&c.secret_arn).unwrap().value;
        plant(&mut value);
        assert!(value.to_string().contains(SECRET), "{value}");
        world.secrets.put_at(&c.secret_arn, &c.secret_name, value);
    }
    let sm = model.state_machines[0].arn.clone();
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    start_execution(&edge, &sm).await;
    finished(&edge).await;
    let paths = [
        "/_vpcgate/ui",
        "/_vpcgate/ui/ui.js",
        "/_vpcgate/ui/ui.css",
        "/_vpcgate/executions",
        "/_vpcgate/trace/1",
        "/_vpcgate/trace/1?format=svg",
        "/_vpcgate/topology",
        "/_vpcgate/topology?format=svg",
    ];
    for path in paths {
        // DNS rebinding: a page served from evil.example resolving to 127.0.0.1.
        for host in ["evil.example", "evil.example:4566", "10.1.2.3:4566"] {
            let (status, _, body) = request(&edge, "GET", host, path, &[], "").await;
            assert_eq!(status, 403, "{path} for Host {host}");
            assert!(String::from_utf8_lossy(&body).contains("loopback Host"));
        }
        for host in [
            "localhost:4566",
            "127.0.0.1:4566",
            "[::1]:4566",
            "127.0.0.1",
        ] {
            let (status, headers, body) = request(&edge, "GET", host, path, &[], "").await;
            assert_eq!(status, 200, "{path} for Host {host}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert!(
                headers["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .contains("script-src 'self'"),
                "{path}"
            );
            // The connection's API key (its secret) never reaches the viewer, nor the root's
            // secret key.
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains(SECRET), "{path} leaks the API key");
            assert!(!text.contains("wJalrXUtnFEMI"), "{path} leaks the root key");
        }
    }
    // The page loads its script and style from serve alone.
    let (_, _, page) = request(&edge, "GET", "localhost", "/_vpcgate/ui", &[], "").await;
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains(r#"<script src="/_vpcgate/ui/ui.js""#));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_topology_draws_the_gateway_eni_with_its_group() {
    let s = scenario(GOTCHA);
    let (model, world) = world(&s);
    let group = gateway_group(&model);
    let gateway_eni = world
        .net
        .enis()
        .into_iter()
        .find(|e| e.groups.iter().any(|g| g.as_str() == group))
        .unwrap();
    let edge = Arc::new(Edge::new(world, AuthMode::Off));
    let t = get_json(&edge, "/_vpcgate/topology").await;
    let vpc = &t["vpcs"][0];
    assert_eq!(vpc["id"], json!(model.vpcs[0].id));
    let enis: Vec<&Value> = vpc["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["enis"].as_array().unwrap())
        .collect();
    let gw = enis
        .iter()
        .find(|e| e["ip"] == json!(gateway_eni.ip.to_string()))
        .unwrap();
    assert!(
        gw["owner"].as_str().unwrap().contains("resource gateway"),
        "{gw}"
    );
    assert!(
        gw["securityGroups"][0]
            .as_str()
            .unwrap()
            .starts_with(&group)
    );
    assert!(
        enis.iter().any(|e| e["owner"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ELB app/")),
        "{enis:?}"
    );
    let (_, _, svg) = request(
        &edge,
        "GET",
        "localhost",
        "/_vpcgate/topology?format=svg",
        &[],
        "",
    )
    .await;
    let svg = String::from_utf8_lossy(&svg);
    assert!(
        svg.contains(&format!("data-ip=\"{}\"", gateway_eni.ip)),
        "{svg}"
    );
}

/// A scenario's model, without building its world (which needs a runtime).
fn model_of(s: &vpcgate::scenario::Scenario) -> vpcgate::model::Model {
    s.build(&Default::default()).unwrap().0
}

#[test]
fn explain_writes_the_same_drawing_as_an_svg_file() {
    let s = scenario(GOTCHA);
    let model = model_of(&s);
    let group = gateway_group(&model);
    let out = std::env::temp_dir().join(format!("vpcgate-explain-{}.svg", std::process::id()));
    let code = vpcgate::cli::run([
        "vpcgate".to_string(),
        "explain".into(),
        vpcgate_tests::scenarios_dir()
            .join(GOTCHA)
            .display()
            .to_string(),
        "times-out-after-60s".into(),
        "--format".into(),
        "svg".into(),
        "--output".into(),
        out.display().to_string(),
    ]);
    // The case passes (it expects the time-out).
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let svg = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(red_box(&svg).contains(&group));
    assert!(svg.contains("60.000 s after sg DROPPED"), "{svg}");
    // The renderer is shared: the same hops give the same drawing as the viewer's.
    let outcome = &vpcgate::check::run_scenario(&s, Some("times-out-after-60s"))[0];
    let title = format!(
        "{} / {}: {}",
        outcome.scenario, outcome.case, outcome.summary
    );
    assert_eq!(
        svg,
        vpcgate::trace::svg::render(&outcome.trace.hops(), &title)
    );
}

// ---------------------------------------------------------------------------------------------
// In a real browser.

/// Debian's Chromium (`apt-get install chromium`; scripts/test.sh installs it), or
/// `$VPCGATE_CHROMIUM`.
fn chromium() -> String {
    let bin = std::env::var("VPCGATE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&bin).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "{bin} not found: install Debian's chromium (scripts/test.sh does: apt-get install chromium)"
    );
    bin
}

/// Runs headless Chromium at 1280 x 800 on `url` once the page's scripts have had 8 s of its
/// virtual time (polls, fetches, drawing); `what` is `--dump-dom` or `--screenshot=<file>`.
fn browse(url: &str, what: &str) -> String {
    let profile = tempdir("vpcgate-chromium");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1280,800",
            "--virtual-time-budget=8000",
            &format!("--user-data-dir={}", profile.display()),
            what,
            url,
        ])
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempdir(prefix: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of `url` as `name` in the test's target folder, and in docs/img when
/// `VPCGATE_UPDATE_SCREENSHOTS` is set (how the README's pictures are made).
fn screenshot(url: &str, name: &str) {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    browse(url, &format!("--screenshot={}", file.display()));
    let png = std::fs::read(&file).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", file.display());
    if std::env::var_os("VPCGATE_UPDATE_SCREENSHOTS").is_some() {
        let docs = format!("{}/../docs/img/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(&docs, &png).unwrap();
    }
}

/// Starts one execution of `state_machine` with boto3 against `serve` at `ep`; returns its ARN.
fn start_with_boto3(ep: &str, state_machine: &str) -> String {
    let out = crate::serve_conventions::py(
        r#"
import sys, vpcgate_client as v
ep, name = sys.argv[1], sys.argv[2]
v.wait_healthy(ep)
sfn = v.client("stepfunctions", ep, region="ap-northeast-1")
arn = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name][0]
v.emit({"executionArn": sfn.start_execution(stateMachineArn=arn)["executionArn"]})
"#,
        &[ep, state_machine],
    );
    out["executionArn"].as_str().unwrap().to_string()
}

#[test]
fn chromium_shows_the_gotchas_red_hop_naming_the_gateway_group() {
    let s = scenario(GOTCHA);
    let model = model_of(&s);
    let group = gateway_group(&model);
    let path = vpcgate_tests::scenarios_dir().join(GOTCHA);
    let ep = crate::serve_conventions::serve(&["--scenario", path.to_str().unwrap()]);
    let arn = start_with_boto3(&ep, "eb-demo-pattern-a-private");
    // The page opens the execution from its address (Enter on a list entry does the same).
    let url = format!("{ep}/_vpcgate/ui#e/{}", arn.replace(':', "%3A"));
    let dom = browse(&url, "--dump-dom");
    let red = red_box(&dom);
    assert!(red.contains("DROPPED"), "{red}");
    assert!(red.contains(&group), "the red hop names {group}:\n{red}");
    // The summary above the drawing says the same in words, and the list shows the failure.
    assert!(dom.contains("class=\"refused-by\""), "{dom}");
    assert!(dom.contains("States.Http.Socket"), "{dom}");
    // The world's topology is drawn beside it, the gateway's ENI marked red.
    assert!(dom.contains("class=\"eni hit-red\""), "{dom}");
    screenshot(&url, "ui-gotcha-narrowed-gateway-sg.png");
}

#[test]
fn chromium_shows_pattern_a_succeeding_through_the_alb() {
    let ep = crate::serve_conventions::serve(&[]);
    let arn = start_with_boto3(&ep, "eb-demo-pattern-a-private");
    let url = format!("{ep}/_vpcgate/ui#e/{}", arn.replace(':', "%3A"));
    let dom = browse(&url, "--dump-dom");
    assert!(dom.contains("badge st-SUCCEEDED"), "{dom}");
    assert!(!dom.contains("deciding\""), "no hop refused:\n{dom}");
    assert!(dom.contains("data-component=\"alb\""), "{dom}");
    assert!(dom.contains("data-component=\"tls\""), "{dom}");
    screenshot(&url, "ui-pattern-a.png");
}

#[test]
fn the_keyboard_alone_opens_an_execution_and_picks_a_state() {
    // Selenium drives Debian's chromium through Debian's chromedriver (scripts/test.sh installs
    // them): Tab reaches the list, Enter opens, Tab reaches the state buttons, Enter picks.
    let path = vpcgate_tests::scenarios_dir().join(GOTCHA);
    let ep = crate::serve_conventions::serve(&["--scenario", path.to_str().unwrap()]);
    let arn = start_with_boto3(&ep, "eb-demo-pattern-a-private");
    let out = Command::new("python3")
        .arg(format!(
            "{}/clients/ui_keyboard.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(&ep)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "ui_keyboard.py failed (pip install selenium; apt-get install chromium-driver):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The list is the first thing Tab reaches.
    assert_eq!(v["tabsToFirstEntry"], 1, "{v}");
    assert_eq!(v["focusedTitle"], "FAILED eb-demo-pattern-a-private", "{v}");
    assert_eq!(
        v["hash"],
        format!("#e/{}", v["focusedEntry"].as_str().unwrap())
    );
    assert_eq!(v["detailTitle"], "FAILED eb-demo-pattern-a-private");
    // Enter moves the focus to what it opened.
    assert_eq!(v["focusAfterEnter"], "detail");
    let picked = v["stateButtonsReached"].as_array().unwrap();
    assert!(!picked.is_empty(), "{v}");
    assert_eq!(v["selectedState"][0], *picked.last().unwrap(), "{v}");
    let name = arn.rsplit(':').next().unwrap();
    assert!(v["traceTitle"].as_str().unwrap().contains(name), "{v}");
    // Nothing wider than a 1280-pixel window.
    assert_eq!(v["scrollWidth"], v["innerWidth"], "{v}");
}

#[test]
fn chromium_shows_the_red_hop_while_the_gotcha_still_runs() {
    // On wall time (`--clock real`) the HTTP Task waits its 60 s for real: the page, loaded
    // meanwhile, lists the execution as RUNNING and already draws the hop that dropped it.
    let s = scenario(GOTCHA);
    let group = gateway_group(&model_of(&s));
    let path = vpcgate_tests::scenarios_dir().join(GOTCHA);
    let ep =
        crate::serve_conventions::serve(&["--scenario", path.to_str().unwrap(), "--clock", "real"]);
    let arn = start_with_boto3(&ep, "eb-demo-pattern-a-private");
    let url = format!("{ep}/_vpcgate/ui#e/{}", arn.replace(':', "%3A"));
    let dom = browse(&url, "--dump-dom");
    assert!(dom.contains("badge st-RUNNING"), "{dom}");
    assert!(red_box(&dom).contains(&group), "{dom}");
}

#[test]
fn the_drawing_shows_where_api_gateways_29_seconds_went() {
    // Pattern B with the VPC link's group missing port 80: the SYN is dropped at the VPC link's
    // ENI and API Gateway answers 504 after its 29 s integration time-out.
    let s = scenario("pattern-b-sg-blocks-80.json");
    let outcome = &vpcgate::check::run_scenario(&s, Some("task-times-out"))[0];
    let svg = outcome.trace.to_svg("pattern B");
    let red = red_box(&svg);
    assert!(red.contains("data-component=\"sg\""), "{red}");
    assert!(red.contains("no egress rule of [sg-"), "{red}");
    assert!(
        svg.contains("+29.000 s of virtual time: no answer came"),
        "{svg}"
    );
    assert!(svg.contains("29.000 s after sg DROPPED"), "{svg}");
}
