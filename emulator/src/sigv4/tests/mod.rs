//! Tests that travel with the module: AWS's test suite, interoperability with signers written
//! elsewhere (`aws-sigv4`, botocore), and API Gateway's error messages.

mod aws_sigv4;
mod botocore;
mod errors;
mod fixture;
mod suite;
