//! The running world is a value that `serve` rebuilds and swaps while it keeps answering (issue
//! 12): runtime deploys, `POST /_vpcgate/reset`. A request keeps the world it started on, so a
//! rebuild in the middle of requests fails none of them, and what the APIs made (state machines,
//! executions) lives beside the world and outlasts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use vpcgate::edge::{AuthMode, Edge};
use vpcgate_tests::edge_call::json_call;
use vpcgate_tests::{scenario, world};

async fn call(edge: &Arc<Edge>, region: &str, op: &str, body: Value) -> (u16, Value) {
    let host = format!("states.{region}.amazonaws.com");
    json_call(edge, &host, &format!("AWSStepFunctions.{op}"), &body).await
}

/// Pattern B (REST API -> VPC link -> internal ALB) run as 24 executions, 12 synchronous on an
/// EXPRESS copy of the seed's machine and 12 STANDARD ones, while the world is rebuilt from its
/// model at every turn of the scheduler until they are answered: every one succeeds with the ALB's fixed response.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn rebuilding_the_world_while_executions_are_in_flight_fails_none() {
    let s = scenario("pattern-b.json");
    let (model, world) = world(&s);
    let region = model.region.clone();
    let seed = model
        .state_machines
        .iter()
        .find(|m| m.name == "eb-demo-pattern-b-apigw")
        .expect("the seed's Pattern B machine")
        .clone();
    let edge = Arc::new(Edge::new(world, AuthMode::Off));

    // Made through the API: lives beside the world, not in it.
    let (status, made) = call(
        &edge,
        &region,
        "CreateStateMachine",
        json!({"name": "rebuild-express", "definition": seed.definition,
               "roleArn": seed.role_arn, "type": "EXPRESS"}),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let express = made["stateMachineArn"].as_str().unwrap().to_string();

    let done = Arc::new(AtomicUsize::new(0));
    let mut sync = Vec::new();
    let mut standard = Vec::new();
    for i in 0..12 {
        let (e, r, arn, d) = (edge.clone(), region.clone(), express.clone(), done.clone());
        sync.push(tokio::spawn(async move {
            let answer = call(
                &e,
                &r,
                "StartSyncExecution",
                json!({"stateMachineArn": arn, "input": "{}"}),
            )
            .await;
            d.fetch_add(1, Ordering::SeqCst);
            answer
        }));
        let (e, r, arn) = (edge.clone(), region.clone(), seed.arn.clone());
        standard.push(tokio::spawn(async move {
            call(
                &e,
                &r,
                "StartExecution",
                json!({"stateMachineArn": arn, "name": format!("during-rebuild-{i}")}),
            )
            .await
        }));
    }

    // Rebuild between the requests' steps: each swap lands while they wait on the network.
    // One rebuild per turn of the scheduler, until the synchronous executions are answered: each
    // lands while they are somewhere on the path (the in-memory network yields at every hop).
    let before = edge.world();
    let mut finished_at_swap = Vec::new();
    while done.load(Ordering::SeqCst) < 12 && finished_at_swap.len() < 1_000 {
        finished_at_swap.push(done.load(Ordering::SeqCst));
        edge.swap_world(model.clone())
            .expect("the seed's model rebuilds");
        tokio::task::yield_now().await;
    }
    // The first swap comes before the requests are first polled; every later one while they are
    // on their way (they had started on the world before it, and not all had finished).
    assert_eq!(finished_at_swap[0], 0, "{finished_at_swap:?}");
    let while_in_flight = finished_at_swap[1..].iter().filter(|&&n| n < 12).count();
    assert!(while_in_flight >= 1, "{finished_at_swap:?}");
    let after = edge.world();
    assert!(
        !Arc::ptr_eq(&before.iam, &after.iam),
        "the world requests start on now is a new one"
    );

    for t in sync {
        let (status, out) = t.await.unwrap();
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["status"], "SUCCEEDED", "{out}");
        let output: Value = serde_json::from_str(out["output"].as_str().unwrap()).unwrap();
        assert_eq!(output["StatusCode"], 200, "{output}");
    }
    let mut arns = Vec::new();
    for t in standard {
        let (status, out) = t.await.unwrap();
        assert_eq!(status, 200, "{out}");
        arns.push(out["executionArn"].as_str().unwrap().to_string());
    }
    for arn in arns {
        let mut described = json!(null);
        for _ in 0..120 {
            let (status, d) = call(
                &edge,
                &region,
                "DescribeExecution",
                json!({"executionArn": arn}),
            )
            .await;
            assert_eq!(status, 200, "{d}");
            described = d;
            if described["status"] != "RUNNING" {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(described["status"], "SUCCEEDED", "{described}");
    }

    // The machine made through the API outlasted every world, and still runs on the newest.
    let (status, out) = call(
        &edge,
        &region,
        "StartSyncExecution",
        json!({"stateMachineArn": express, "input": "{}"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
}
