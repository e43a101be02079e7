//! vpcgate
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

pub mod alb;
pub mod asl;
pub mod authz;
pub mod bundled;
pub mod check;
pub mod clock;
pub mod dns;
pub mod events;
pub mod iam;
pub mod lattice;
pub mod model;
pub mod pki;
pub mod scenario;
pub mod secrets;
pub mod sfn;
pub mod sigv4;
pub mod trace;
pub mod vpc;
pub mod world;
