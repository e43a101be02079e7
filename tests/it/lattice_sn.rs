//! VPC Lattice service networks (seed 004), hop by hop, through the library entry point
//! `lattice::service_network::request`.
//!
//! Sources the assertions follow:
//! - headers toward the target: <https://docs.aws.amazon.com/vpc-lattice/latest/ug/http-targets.html>;
//! - SigV4 with `UNSIGNED-PAYLOAD`: <https://docs.aws.amazon.com/vpc-lattice/latest/ug/sigv4-authenticated-requests.html>;
//! - auth policies and the Invoke resource `<service ARN>/<path>`:
//!   <https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html>;
//! - health checks: <https://docs.aws.amazon.com/vpc-lattice/latest/ug/target-group-health-checks.html>;
//! - access log fields: <https://docs.aws.amazon.com/vpc-lattice/latest/ug/monitoring-access-logs.html>.

use std::time::Duration;

use serde_json::Value;
use vpcgate::lattice::service_network::{
    ClientRequest, LatticeSnError, client_eni, credentials_for, request,
};
use vpcgate::lattice::target_group::TargetStatus;
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::{scenario, world};

fn service_url(world: &World, path: &str) -> String {
    let svc = &world.model.lattice.services[0];
    format!("https://{}{path}", svc.dns_name)
}

fn get(world: &World, path: &str, sign_as: Option<&str>) -> ClientRequest {
    ClientRequest {
        method: "GET".into(),
        url: service_url(world, path),
        credentials: sign_as.map(|who| credentials_for(world, who).unwrap()),
        ..ClientRequest::default()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn seed_004_service_a_reaches_service_b_signed_by_its_role() {
    let s = scenario("seed-004-fixed.json");
    let (model, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let trace = Trace::new();
    let mut req = get(&world, "/orders?id=7", Some("ServiceAInvokeRole"));
    // Identity headers from the caller are stripped: they cannot be spoofed.
    req.headers = vec![(
        "x-amzn-lattice-identity".into(),
        "Principal=arn:aws:iam::999999999999:root".into(),
    )];
    let resp = request(&world, &from, &req, &trace).await;
    println!("{}", trace.render());
    let resp = resp.unwrap();
    assert_eq!(resp.status, 200);
    let echo: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(echo["workload"], "ServiceBInstance");
    assert_eq!(echo["path"], "/orders?id=7");
    let h = &echo["headers"];
    let vpc_a = &model
        .vpcs
        .iter()
        .find(|v| v.logical_id == "ServiceAVPC")
        .unwrap()
        .id;
    let svc = &model.lattice.services[0];
    let sn = &model.lattice.service_networks[0];
    let tg = &model.lattice.target_groups[0];
    assert_eq!(h["x-forwarded-for"], from.ip.to_string());
    assert_eq!(h["x-forwarded-port"], "443");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(
        h["x-amzn-lattice-network"],
        format!("SourceVpcArn=arn:aws:ec2:ap-northeast-1:123456789012:vpc/{vpc_a}")
    );
    assert_eq!(
        h["x-amzn-lattice-target"],
        format!(
            "ServiceArn={};ServiceNetworkArn={};TargetGroupArn={}",
            svc.arn, sn.arn, tg.arn
        )
    );
    let identity = h["x-amzn-lattice-identity"].as_str().unwrap();
    assert!(
        identity.starts_with("Principal=arn:aws:sts::123456789012:assumed-role/")
            && identity.ends_with(";SessionName=vpcgate-client;"),
        "{identity}"
    );
    assert!(!identity.contains("999999999999"));
    // The target saw the request from Lattice's link-local range, not from the client.
    assert!(echo["peer"].as_str().unwrap().starts_with("169.254.171."));
    // One access log entry, in the subscription's file too.
    let (als, entry) = world.lattice.access_log().last().cloned().unwrap();
    assert_eq!(entry["responseCode"], 200);
    assert_eq!(entry["serviceNetworkArn"], sn.arn.as_str());
    assert_eq!(entry["serviceArn"], svc.arn.as_str());
    assert_eq!(entry["targetGroupArn"], tg.arn.as_str());
    assert_eq!(entry["sourceVpcId"], vpc_a.as_str());
    assert_eq!(
        entry["sourceIpPort"].as_str().unwrap().split(':').next(),
        Some(from.ip.to_string().as_str())
    );
    assert_eq!(
        entry["targetIpPort"].as_str().unwrap().split(':').nth(1),
        Some("443")
    );
    assert_eq!(entry["serverNameIndication"], svc.dns_name.as_str());
    assert_eq!(entry["authDeniedReason"], "-");
    assert!(
        entry["callerPrincipal"]
            .as_str()
            .unwrap()
            .contains("assumed-role")
    );
    let sub = world
        .lattice
        .access_log_subscriptions()
        .iter()
        .find(|a| a.id == als)
        .unwrap();
    let text = std::fs::read_to_string(&sub.file).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["startTime"], entry["startTime"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn unsigned_requests_are_anonymous_and_get_aws_access_denied_text() {
    let s = scenario("seed-004-fixed.json");
    let (model, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let resp = request(&world, &from, &get(&world, "/orders", None), &Trace::new())
        .await
        .unwrap();
    assert_eq!(resp.status, 403);
    assert_eq!(resp.headers["content-type"], "text/plain");
    let svc = &model.lattice.services[0];
    assert_eq!(
        String::from_utf8_lossy(&resp.body),
        format!(
            "AccessDeniedException: User: anonymous is not authorized to perform: vpc-lattice-svcs:Invoke on resource: {}/orders because no network-based policy allows the vpc-lattice-svcs:Invoke action",
            svc.arn
        )
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_payload_signature_is_not_what_lattice_checks() {
    // "VPC Lattice does not support payload signing": a signature whose canonical request
    // names UNSIGNED-PAYLOAD verifies; a forged signature does not.
    let s = scenario("seed-004-fixed.json");
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let mut req = get(&world, "/orders", Some("ServiceAInvokeRole"));
    req.method = "POST".into();
    req.body = "{\"item\": 1}".into();
    let ok = request(&world, &from, &req, &Trace::new()).await.unwrap();
    assert_eq!(ok.status, 200);
    let mut creds = req.credentials.clone().unwrap();
    creds.secret_access_key = "not-the-secret".into();
    req.credentials = Some(creds);
    let bad = request(&world, &from, &req, &Trace::new()).await.unwrap();
    assert_eq!(bad.status, 403);
    assert!(
        String::from_utf8_lossy(&bad.body).starts_with(
            "InvalidSignatureException: The request signature we calculated does not match"
        ),
        "{:?}",
        bad.body
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_unassociated_vpc_cannot_resolve_the_service_name() {
    let s = scenario("seed-004-fixed.json");
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceCInstance").unwrap();
    let err = request(
        &world,
        &from,
        &get(&world, "/orders", Some("ServiceAInvokeRole")),
        &Trace::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LatticeSnError::Resolve(_)), "{err}");
    assert!(err.to_string().contains("NXDOMAIN"), "{err}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_seed_as_written_drops_service_a_at_the_association_group() {
    let s = scenario("seed-004-service-network.json");
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let mut req = get(&world, "/orders", Some("ServiceAInvokeRole"));
    req.timeout = Some(Duration::from_secs(60));
    let trace = Trace::new();
    let start = tokio::time::Instant::now();
    let err = request(&world, &from, &req, &trace).await.unwrap_err();
    assert!(matches!(err, LatticeSnError::Timeout { .. }), "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    let drop = trace
        .hops()
        .into_iter()
        .find(|h| h.verdict == vpcgate::trace::Verdict::Drop)
        .unwrap();
    assert!(
        drop.message.contains("ServiceAVPCAssociation"),
        "{}",
        drop.message
    );
    // Health checks from Lattice's range are dropped by service B's group as written (it admits
    // only VPC A's range): the target never becomes healthy.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let health = world.lattice.target_health("ServiceBTargetGroup");
    assert_eq!(health[0].1.status, TargetStatus::Unhealthy, "{health:?}");
    assert!(
        health[0].1.last.contains("HealthCheckTimeoutSeconds"),
        "{health:?}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_target_turns_unhealthy_after_the_threshold_of_failed_checks_at_the_interval() {
    let s = scenario("seed-004-fixed.json");
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let health = || {
        world.lattice.target_health("ServiceBTargetGroup")[0]
            .1
            .clone()
    };
    assert_eq!(health().status, TargetStatus::Healthy);
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let workload = world.lattice.workload("ServiceBInstance").unwrap();
    workload.set_health_status(500);
    // The seed: HealthCheckIntervalSeconds 30, UnhealthyThresholdCount 2, HealthyThresholdCount 2.
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
    // measuring wall time is the point
    let wall = std::time::Instant::now();
    let virtual_start = tokio::time::Instant::now();
    let mut became_unhealthy = None;
    while virtual_start.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if health().status == TargetStatus::Unhealthy {
            became_unhealthy = Some(virtual_start.elapsed());
            break;
        }
        // Still in service after one failure.
        assert_eq!(health().status, TargetStatus::Healthy);
    }
    // Checks run at 30 s and 60 s after the first round; the second failure takes it out.
    let became_unhealthy = became_unhealthy.expect("the target never became unhealthy");
    assert!(
        became_unhealthy > Duration::from_secs(60)
            && became_unhealthy <= Duration::from_millis(60_100),
        "{became_unhealthy:?}"
    );
    // The deciding check ran at exactly 60 virtual seconds (the world, and the flip, at 0).
    assert_eq!(health().last_at, Some(Duration::from_secs(60)));
    assert_eq!(health().failures, 2);
    assert!(
        wall.elapsed() < Duration::from_millis(2000),
        "60 virtual seconds took {} ms of wall time",
        wall.elapsed().as_millis()
    );
    let served_before = workload.requests();
    let resp = request(
        &world,
        &from,
        &get(&world, "/orders", Some("ServiceAInvokeRole")),
        &Trace::new(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, 503);
    assert_eq!(
        workload.requests(),
        served_before,
        "no traffic to an unhealthy target"
    );
    let (_, entry) = world.lattice.access_log().last().cloned().unwrap();
    assert_eq!(entry["failureReason"], "NoHealthyTargets");
    // Back in service after HealthyThresholdCount (2) successes.
    workload.set_health_status(200);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(health().status, TargetStatus::Healthy);
    let resp = request(
        &world,
        &from,
        &get(&world, "/orders", Some("ServiceAInvokeRole")),
        &Trace::new(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, 200);
}

/// A small network with auth NONE, an HTTP listener, an IP target group and a rule matching
/// method and header.
const OPEN_NETWORK: &str = r#"{
  "Vpcgate": {"Region": "us-east-1", "Clock": "2026-06-14T03:00:00Z",
    "Lattice": {"Workloads": [{"Instance": "Backend", "Port": 8080}]}},
  "Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.5.0.0/16"}},
    "ClientSubnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.5.1.0/24"}},
    "BackendSubnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.5.2.0/24"}},
    "BackendSg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "backend", "VpcId": {"Ref": "Vpc"},
      "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIp": "169.254.171.0/24"}]}},
    "Backend": {"Type": "AWS::EC2::Instance", "Properties": {"SubnetId": {"Ref": "BackendSubnet"}, "SecurityGroupIds": [{"Ref": "BackendSg"}]}},
    "Network": {"Type": "AWS::VpcLattice::ServiceNetwork", "Properties": {"Name": "open"}},
    "Svc": {"Type": "AWS::VpcLattice::Service", "Properties": {"Name": "echo"}},
    "Tg": {"Type": "AWS::VpcLattice::TargetGroup", "Properties": {"Type": "IP",
      "Config": {"Port": 8080, "Protocol": "HTTP", "VpcIdentifier": {"Ref": "Vpc"}, "HealthCheck": {"Path": "/health"}},
      "Targets": [{"Id": "10.5.2.4"}]}},
    "Listener": {"Type": "AWS::VpcLattice::Listener", "Properties": {"ServiceIdentifier": {"Ref": "Svc"}, "Protocol": "HTTP",
      "DefaultAction": {"Forward": {"TargetGroups": [{"TargetGroupIdentifier": {"Ref": "Tg"}}]}}}},
    "Canary": {"Type": "AWS::VpcLattice::Rule", "Properties": {"ServiceIdentifier": {"Ref": "Svc"}, "ListenerIdentifier": {"Ref": "Listener"},
      "Priority": 1, "Match": {"HttpMatch": {"Method": "POST", "HeaderMatches": [{"Name": "X-Canary", "Match": {"Exact": "yes"}}]}},
      "Action": {"FixedResponse": {"StatusCode": 500}}}},
    "SvcAssoc": {"Type": "AWS::VpcLattice::ServiceNetworkServiceAssociation", "Properties": {"ServiceIdentifier": {"Ref": "Svc"}, "ServiceNetworkIdentifier": {"Ref": "Network"}}},
    "VpcAssoc": {"Type": "AWS::VpcLattice::ServiceNetworkVpcAssociation", "Properties": {"VpcIdentifier": {"Ref": "Vpc"}, "ServiceNetworkIdentifier": {"Ref": "Network"}}}
  }
}"#;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn auth_none_http_listener_ip_targets_and_rules() {
    let s = vpcgate::scenario::Scenario::parse(OPEN_NETWORK, "open.json").unwrap();
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let svc = &world.model.lattice.services[0];
    let from = client_eni(&world, &world.model.vpcs[0].subnets[0].id).unwrap();
    let req = |method: &str, canary: Option<&str>| ClientRequest {
        method: method.into(),
        url: format!("http://{}/items", svc.dns_name),
        headers: canary
            .map(|v| vec![("x-canary".to_string(), v.to_string())])
            .unwrap_or_default(),
        ..ClientRequest::default()
    };
    let ok = request(&world, &from, &req("GET", None), &Trace::new())
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let echo: Value = serde_json::from_slice(&ok.body).unwrap();
    assert_eq!(echo["headers"]["x-forwarded-proto"], "http");
    assert_eq!(echo["headers"]["x-forwarded-port"], "80");
    assert!(echo["headers"]["x-amzn-lattice-identity"].is_null());
    // Header values match case-insensitively unless CaseSensitive: the rule answers 500.
    let fixed = request(&world, &from, &req("POST", Some("YES")), &Trace::new())
        .await
        .unwrap();
    assert_eq!(fixed.status, 500);
    assert!(fixed.body.is_empty());
    // The method must match too.
    let get = request(&world, &from, &req("GET", Some("yes")), &Trace::new())
        .await
        .unwrap();
    assert_eq!(get.status, 200);
}

#[test]
fn fixed_responses_other_than_404_and_500_are_load_errors() {
    let text = OPEN_NETWORK.replace("\"StatusCode\": 500", "\"StatusCode\": 200");
    let s = vpcgate::scenario::Scenario::parse(&text, "open.json").unwrap();
    let err = s
        .build(&vpcgate::scenario::StackLinks::default())
        .unwrap_err();
    let e = &err.0[0];
    assert_eq!(e.logical_id.as_deref(), Some("Canary"));
    assert_eq!(e.path, "Properties.Action.FixedResponse.StatusCode");
    assert!(e.to_string().contains("Only 404 and 500"), "{e}");
}

/// VPC Lattice keeps its connection to a target open (vpc::pool): a second request goes over the
/// first one's connection (no new security-group checks at the target), the target still
/// answers it and sees Lattice's headers; health checks open connections of their own.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_second_request_reuses_lattices_connection_to_the_target() {
    let s = scenario("seed-004-fixed.json");
    let (_, world) = world(&s);
    world.lattice.settled().await;
    let from = client_eni(&world, "ServiceAInstance").unwrap();
    let mut traces = Vec::new();
    for path in ["/orders?id=1", "/orders?id=2"] {
        let trace = Trace::new();
        let resp = request(
            &world,
            &from,
            &get(&world, path, Some("ServiceAInvokeRole")),
            &trace,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", trace.render()));
        assert_eq!(resp.status, 200);
        let echo: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(echo["path"], path);
        assert!(echo["peer"].as_str().unwrap().starts_with("169.254.171."));
        traces.push(trace.render());
    }
    assert_eq!(
        (world.net.pool().opened(), world.net.pool().reused()),
        (1, 1)
    );
    assert!(
        traces[1].contains("the kept-alive connection to target"),
        "{}",
        traces[1]
    );
}
