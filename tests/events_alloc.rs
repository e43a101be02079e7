//! Issue 18: what one EventBridge delivery waiting for its API destination's rate-limit slot
//! costs in memory (`vpcgate serve` holds up to `MAX_PENDING_DELIVERIES` of them).
//!
//! This binary counts live heap bytes with a global allocator (hence a binary of its own, as
//! `jsonata_alloc`): PutEvents of matching events for a destination at 1 invocation a second, on
//! a paused clock, so that every delivery stays waiting; the live bytes they add, per delivery,
//! are the event (shared by its rules and targets) and its place in the destination's queue
//! (`vpcgate::events::queue`).

use std::sync::Arc;
use vpcgate_tests::counting_alloc::{Counting, live};

use serde_json::json;
use vpcgate::edge::{AuthMode, Edge};
use vpcgate_tests::edge_call::json_call;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bound a waiting delivery of the benchmark's event stays under (the event's own JSON
/// included): 10,000 of them then hold under 10 MB. Before the queue (session 7), each was a
/// task with its future and trace: 9,077 bytes by this count.
const MAX_BYTES_PER_WAITING_DELIVERY: isize = 1024;

#[test]
fn a_delivery_waiting_for_its_slot_costs_under_a_kilobyte() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let s = vpcgate_tests::scenario("eventbridge-rate-limit.json");
        let (model, world) = vpcgate_tests::world(&s);
        let edge = Arc::new(Edge::new(world, AuthMode::Off));
        let host = format!("events.{}.amazonaws.com", model.region);
        let put = |calls: usize| {
            let edge = edge.clone();
            let host = host.clone();
            async move {
                // One entry a call, as the load benchmark's PutEvents.
                for call in 0..calls {
                    let entries = [json!({"Source": "com.example.orders", "DetailType": "OrderPlaced",
                                          "Detail": json!({"orderId": format!("o-{call}"), "amount": 42}).to_string()})];
                    let (status, answer) =
                        json_call(&edge, &host, "AWSEvents.PutEvents", &json!({"Entries": entries}))
                            .await;
                    assert_eq!(status, 200);
                    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
                }
            }
        };
        // Warm-up: the queue and its drainer, the first invocation's connection, caches.
        put(1000).await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let world = edge.world();
        let queued = world.events.queued_deliveries();
        let before = live();
        put(2000).await;
        // Everything spawned runs up to its wait (the next slot is a second away).
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let after = live();
        let added = world.events.queued_deliveries() - queued;
        assert_eq!(added, 2000, "the deliveries still wait for their slots");
        let per = (after - before) / added as isize;
        eprintln!(
            "{added} waiting deliveries: live heap {before} -> {after} bytes, {per} bytes each ({} in the queue itself)",
            vpcgate::events::queue::WAITING_BYTES
        );
        assert!(
            per < MAX_BYTES_PER_WAITING_DELIVERY,
            "{per} live heap bytes per waiting delivery"
        );
    });
}
