//! EventBridge: connections, buses, rules, event patterns, input transformers, API destinations
//! and the deliveries to targets — one module per noun.
//!
//! - [`connection`]: connections (credentials for HTTP Tasks and API destinations, private
//!   connections through VPC Lattice); [`invoke`]: the invocation path they share;
//!   [`public`]: where public connections' calls go on the emulated internet.
//! - [`bus`]: buses, the registry of rules and API destinations, PutEvents' acceptance.
//! - [`rule`]: rules and targets; [`pattern`]: event patterns; [`transformer`]: what a target
//!   receives; [`api_destination`]: API destinations; [`target`]: delivering with retries;
//!   [`queue`]: the deliveries waiting for an API destination's rate-limit slot.
//! - [`error`]: EventBridge's errors and their wire form; [`paging`]: `Limit`/`NextToken`.

pub mod api_destination;
pub mod bus;
pub mod connection;
pub mod error;
pub mod invoke;
pub mod paging;
pub mod pattern;
pub mod public;
pub mod queue;
pub mod rule;
pub mod target;
pub mod transformer;

pub use bus::{EventBridge, EventsModel};
pub use connection::*;
