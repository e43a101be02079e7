//! The Amazon States Language interpreter: conformance cases from the Step Functions developer
//! guide (fixtures under `tests/fixtures/asl/`) and execution semantics on tokio's paused clock.

mod budgets;
mod common;
mod conformance;
mod distributed;
mod execution;
mod recorded;
mod redrive;
