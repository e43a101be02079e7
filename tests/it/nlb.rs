//! Network Load Balancers and REST API VPC links v1 (issue 15; issue 16's HTTP API -> NLB
//! listener): the bundled scenarios, and what a case cannot state — the NLB's data plane seen
//! from a client ENI (DNS, TCP, TLS termination, security groups, client IP preservation),
//! health checks on tokio's paused clock, the documented `Fn::GetAtt` shapes, ELBv2's load
//! errors. No test opens a host socket.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vpcgate::model::Model;
use vpcgate::nlb::TargetState;
use vpcgate::scenario::{Scenario, StackLinks};
use vpcgate::trace::Trace;
use vpcgate_tests::edge_call::send;

/// API Gateway's control-plane host in the NLB scenarios' Region.
const APIGW: &str = "apigateway.ap-northeast-1.amazonaws.com";
use vpcgate::vpc::{Eni, Source};
use vpcgate::world::World;
use vpcgate_tests::scenario;
use vpcgate_tests::world as build_world;

fn fixture(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/nlb")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bundled_nlb_and_vpc_link_v1_scenarios_pass() {
    for file in [
        "pattern-b-vpc-link-v1.json",
        "nlb-sg-blocks.json",
        "nlb-no-healthy-targets.json",
        "http-api-nlb.json",
    ] {
        vpcgate_tests::all_cases_pass(&scenario(file));
    }
}

#[test]
fn a_vpc_link_v1_whose_target_is_an_alb_is_failed_and_the_api_answers_500() {
    vpcgate_tests::all_cases_pass(&fixture("vpc-link-v1-to-alb.json"));
}

#[test]
fn elbv2_refuses_a_tls_listener_without_certificate_and_an_alb_group_that_is_not_tcp() {
    let err = fixture("tls-listener-without-certificate.json")
        .build(&StackLinks::default())
        .map(|_| ())
        .expect_err("load error")
        .to_string();
    assert!(
        err.contains("A certificate must be specified for TLS listeners"),
        "{err}"
    );
    assert!(
        err.contains("A target group of type 'alb' must use the TCP protocol"),
        "{err}"
    );
}

fn output(model: &Model, name: &str) -> String {
    let v = &model.outputs[name];
    v.get("Value")
        .unwrap_or(v)
        .as_str()
        .unwrap_or_else(|| panic!("output {name}: {v}"))
        .to_string()
}

#[test]
fn get_att_of_an_nlb_its_listener_and_target_group_are_shaped_as_aws_gives_them() {
    let (model, _) = fixture("tls-listener.json")
        .build(&StackLinks::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let arn = output(&model, "Arn");
    let prefix =
        "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/net/eb-demo-nlb/";
    assert!(arn.starts_with(prefix), "{arn}");
    let id = &arn[prefix.len()..];
    assert_eq!(id.len(), 16);
    assert_eq!(output(&model, "FullName"), format!("net/eb-demo-nlb/{id}"));
    assert_eq!(output(&model, "Name"), "eb-demo-nlb");
    // <name>-<16 hex>.elb.<region>.amazonaws.com, no `internal-` prefix for an internal NLB.
    let dns = output(&model, "Dns");
    let host = dns
        .strip_suffix(".elb.ap-northeast-1.amazonaws.com")
        .unwrap_or_else(|| panic!("{dns}"));
    let hash = host.strip_prefix("eb-demo-nlb-").unwrap();
    assert!(
        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{dns}"
    );
    // The NLB column of the ELB endpoints page, not the ALB's Z14GRHDCWA56QT.
    assert_eq!(output(&model, "Zone"), "Z31USIVHYNEOWT");
    assert!(
        output(&model, "ListenerArn").contains(&format!(":listener/net/eb-demo-nlb/{id}/")),
        "listener arn"
    );
    assert!(output(&model, "TgFullName").starts_with("targetgroup/"));
    // The loaded NLB: internal, one node per subnet, no security groups.
    let lb = &model.nlb.load_balancers[0];
    assert!(lb.internal && lb.security_groups.is_empty() && lb.enforce_sg_on_private_link);
    assert_eq!(lb.subnets.len(), 3);
    let tg = model
        .nlb
        .target_groups
        .iter()
        .find(|t| t.logical_id == "IpTargets")
        .unwrap();
    assert!(tg.preserve_client_ip, "the attribute turns it on");
    assert_eq!(tg.health_check.matcher, vec![(200, 299)]);
    assert_eq!(tg.health_check.timeout, Duration::from_secs(6));
}

/// A client ENI in the NLB's first subnet, carrying the ALB's group (egress: all).
fn client(model: &Model, world: &World) -> Arc<Eni> {
    let lb = &model.nlb.load_balancers[0];
    let group = model
        .security_groups
        .iter()
        .find(|g| g.logical_id == "AlbSecurityGroup")
        .unwrap()
        .id
        .clone();
    world
        .net
        .create_eni(&lb.subnets[0].0, vec![group], "test client")
        .unwrap()
}

async fn get<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: nlb.example.com\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_client_resolves_the_nlb_name_to_its_nodes_and_reaches_the_alb_behind_it() {
    let s = scenario("pattern-b-vpc-link-v1.json");
    let (model, world) = build_world(&s);
    let lb = &model.nlb.load_balancers[0];
    let eni = client(&model, &world);
    let trace = Trace::new();
    let mut ips = world.dns[&lb.vpc_id]
        .resolver(eni.ip)
        .lookup_ipv4(&lb.dns_name, &trace)
        .await
        .unwrap();
    ips.sort();
    let running = world.nlbs.get(&lb.arn).unwrap();
    let mut nodes: Vec<_> = running.nodes.iter().map(|n| n.ip).collect();
    nodes.sort();
    assert_eq!(ips, nodes);
    let stream = world
        .net
        .connect(
            &Source::Eni(eni.clone()),
            &lb.vpc_id,
            SocketAddr::new(ips[0], 80),
            &trace,
        )
        .await
        .unwrap();
    let answer = get(stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(r#"{"status":"ok","source":"internal-alb"}"#),
        "{answer}"
    );
    assert!(answer.to_ascii_lowercase().contains("server: awselb/2.0"));
    // An NLB created without security groups filters nothing; the alb target sees the node.
    let text = trace.render();
    assert!(text.contains("has no security groups"), "{text}");
    assert!(text.contains("target sees the node's address"), "{text}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_tls_listener_terminates_tls_with_its_acm_certificate() {
    let s = fixture("tls-listener.json");
    let (model, world) = build_world(&s);
    let lb = &model.nlb.load_balancers[0];
    let node = world.nlbs.get(&lb.arn).unwrap().nodes[0].ip;
    let eni = client(&model, &world);
    let trace = Trace::new();
    let tcp = world
        .net
        .connect(
            &Source::Eni(eni),
            &lb.vpc_id,
            SocketAddr::new(node, 443),
            &trace,
        )
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(world.tls_client.clone());
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("nlb.example.com").unwrap();
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let answer = get(tls).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        trace
            .render()
            .contains("listener TLS:443 terminated TLS from")
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_nlb_security_group_drops_what_it_does_not_admit() {
    let s = scenario("nlb-sg-blocks.json");
    let (model, world) = build_world(&s);
    let lb = &model.nlb.load_balancers[0];
    let node = world.nlbs.get(&lb.arn).unwrap().nodes[0].ip;
    let eni = client(&model, &world);
    let trace = Trace::new();
    // tcp/80 is not admitted: the SYN goes unanswered.
    let dropped = tokio::time::timeout(
        Duration::from_secs(10),
        world.net.connect(
            &Source::Eni(eni.clone()),
            &lb.vpc_id,
            SocketAddr::new(node, 80),
            &trace,
        ),
    )
    .await;
    assert!(dropped.is_err(), "dropped, not answered");
    // tcp/443 is admitted but no listener is there: reset.
    let refused = world
        .net
        .connect(
            &Source::Eni(eni),
            &lb.vpc_id,
            SocketAddr::new(node, 443),
            &trace,
        )
        .await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn health_checks_run_on_the_virtual_clock() {
    // A TCP check of an instance that listens on nothing: refused every 10 s, unhealthy after the
    // second failure.
    let s = scenario("nlb-no-healthy-targets.json");
    let (model, world) = build_world(&s);
    let tg = model
        .nlb
        .target_groups
        .iter()
        .find(|t| t.name == "eb-demo-nlb-to-instance")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let health = world.nlbs.health.group(&tg.arn);
    assert_eq!(health.len(), 1);
    let (label, h) = &health[0];
    assert!(label.starts_with("i-") && label.ends_with(":80"), "{label}");
    assert_eq!(h.state, TargetState::Unhealthy, "{h:?}");
    assert_eq!(h.checks, 2);
    assert!(h.last.contains("refused"), "{}", h.last);
    // The empty group has no target to report.
    let empty = model
        .nlb
        .target_groups
        .iter()
        .find(|t| t.name == "eb-demo-nlb-empty")
        .unwrap();
    assert!(world.nlbs.health.group(&empty.arn).is_empty());

    // An alb target answering 200 on `/` passes its first check at once; an ip target no ENI
    // holds times out (HTTP: 6 s) three times; a group no listener uses stays `unused`.
    let s = fixture("tls-listener.json");
    let (model, world) = build_world(&s);
    let find = |name: &str| {
        model
            .nlb
            .target_groups
            .iter()
            .find(|t| t.logical_id == name)
            .unwrap()
            .arn
            .clone()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alb = world.nlbs.health.group(&find("NlbToAlb"));
    assert_eq!(alb[0].1.state, TargetState::Healthy, "{alb:?}");
    assert_eq!(alb[0].1.last, "HTTP 200 on /");
    let unused = world.nlbs.health.group(&find("IpTargets"));
    assert_eq!(unused[0].1.state, TargetState::Unused);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_instance_target_sees_the_client_address_and_fails_open_when_unhealthy() {
    let s = scenario("nlb-no-healthy-targets.json");
    let (model, world) = build_world(&s);
    tokio::time::sleep(Duration::from_secs(15)).await;
    let lb = &model.nlb.load_balancers[0];
    let node = world.nlbs.get(&lb.arn).unwrap().nodes[0].ip;
    let eni = client(&model, &world);
    let trace = Trace::new();
    let stream = world
        .net
        .connect(
            &Source::Eni(eni.clone()),
            &lb.vpc_id,
            SocketAddr::new(node, 80),
            &trace,
        )
        .await
        .unwrap();
    // The instance resets: the client's connection closes without an answer.
    let answer = get(stream).await;
    assert!(answer.is_empty(), "{answer}");
    let text = trace.render();
    assert!(
        text.contains("no healthy target; the NLB fails open"),
        "{text}"
    );
    assert!(
        text.contains(&format!("allows tcp/80 from {} (client", eni.ip)),
        "client IP preserved for an instance target: {text}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_control_plane_lists_vpc_links_v1_with_their_status() {
    let s = fixture("vpc-link-v1-to-alb.json");
    let (model, world) = build_world(&s);
    let id = model.apigw.vpc_links_v1[0].id.clone();
    let edge = Arc::new(vpcgate::edge::Edge::new(
        world,
        vpcgate::edge::AuthMode::Off,
    ));
    let get = |path: String| {
        let edge = edge.clone();
        async move {
            let a = send(&edge, "GET", APIGW, &path, &[], "").await;
            (a.status, a.json())
        }
    };
    let (status, list) = get("/vpclinks".into()).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["item"][0]["id"], id.as_str());
    assert_eq!(list["item"][0]["name"], "eb-demo-vpc-link-v1");
    assert_eq!(list["item"][0]["status"], "FAILED");
    let (status, one) = get(format!("/vpclinks/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        one["targetArns"][0]
            .as_str()
            .unwrap()
            .contains(":loadbalancer/app/")
    );
    let (status, missing) = get("/vpclinks/nope99".into()).await;
    assert_eq!(status, 404, "{missing}");

    let (model, world) = build_world(&scenario("pattern-b-vpc-link-v1.json"));
    let edge = Arc::new(vpcgate::edge::Edge::new(
        world,
        vpcgate::edge::AuthMode::Off,
    ));
    let path = format!("/vpclinks/{}", model.apigw.vpc_links_v1[0].id);
    let v = send(&edge, "GET", APIGW, &path, &[], "").await.json();
    assert_eq!(v["status"], "AVAILABLE");
    assert_eq!(v["statusMessage"], "Your vpc link is ready for use");
}
