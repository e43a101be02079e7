//! vpcgate
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

pub mod clock;
pub mod dns;
pub mod pki;
pub mod trace;
pub mod vpc;
