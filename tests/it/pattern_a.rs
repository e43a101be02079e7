//! Pattern A of seed 000, hop by hop.

use serde_json::json;
use vpcgate::iam::Principal;
use vpcgate::model::Model;
use vpcgate::sfn::{StatesError, TaskContext, http};
use vpcgate::trace::Trace;
use vpcgate::world::World;
use vpcgate_tests::{scenario, world};

/// The seed's HTTP Task (`CallPrivateApi` of StateMachineA, as PatternARole) once, with `trace`.
async fn call_private_api(
    world: &World,
    model: &Model,
    trace: &Trace,
) -> Result<serde_json::Value, StatesError> {
    let sm = model.state_machine("StateMachineA").unwrap();
    let conn = &model
        .connections
        .iter()
        .find(|c| c.name == "eb-demo-private-connection")
        .unwrap()
        .arn;
    let ctx = TaskContext {
        world,
        principal: &Principal::assumed_role(&model.account, "PatternARole", "test"),
        session: None,
        state_machine_arn: &sm.arn,
        state_name: "CallPrivateApi",
        entered_event_id: 2,
        trace,
        capture: None,
    };
    http::invoke(
        &ctx,
        &json!({"ApiEndpoint": "https://eb-demo.example.com/", "Method": "GET", "Authentication": {"ConnectionArn": conn}}),
    )
    .await
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn http_task_reaches_the_internal_alb_through_the_resource_gateway() {
    let s = scenario("pattern-a.json");
    let (model, world) = world(&s);
    let trace = Trace::new();
    let out = call_private_api(&world, &model, &trace).await;
    println!("{}", trace.render());
    let out = out.unwrap();
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(
        out["ResponseBody"],
        json!({"status": "ok", "source": "internal-alb"})
    );
    assert_eq!(out["Headers"]["server"], json!(["awselb/2.0"]));
    assert_eq!(
        out["Headers"]["content-type"],
        json!(["application/json; charset=utf-8"])
    );
}

/// Lattice keeps the private connection's TLS connection to the ALB open (vpc::pool): the second
/// HTTP Task reuses it — one TLS handshake, one certificate check — while the IAM check of
/// `vpc-lattice-svcs:Invoke` still runs per request, and the ALB's hops land in each task's trace.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_second_http_task_reuses_the_tls_connection() {
    let s = scenario("pattern-a.json");
    let (model, world) = world(&s);
    let mut traces = Vec::new();
    for _ in 0..2 {
        let trace = Trace::new();
        let out = call_private_api(&world, &model, &trace)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", trace.render()));
        assert_eq!(out["StatusCode"], 200);
        traces.push(trace.render());
    }
    assert_eq!(
        (world.net.pool().opened(), world.net.pool().reused()),
        (1, 1)
    );
    assert!(
        traces[0].contains("handshake with eb-demo.example.com"),
        "{}",
        traces[0]
    );
    assert!(!traces[1].contains("handshake with"), "{}", traces[1]);
    assert!(
        traces[1].contains("the kept-alive TLS connection"),
        "{}",
        traces[1]
    );
    for t in &traces {
        assert!(
            t.contains("vpc-lattice-svcs:Invoke"),
            "IAM per request:\n{t}"
        );
        assert!(
            t.contains("fixed-response 200"),
            "the ALB's hop in each trace:\n{t}"
        );
    }
}
