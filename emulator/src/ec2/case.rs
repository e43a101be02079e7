//! `Request` cases sent `From` an instance: the request leaves the instance's ENI, resolves with
//! its VPC's DNS, follows its subnet's routes and security groups, and reaches whatever answers —
//! an interface endpoint, a public endpoint over a NAT or internet gateway, an ALB.
//!
//! ```json
//! {"Name": "inside", "Request": {"From": "Client", "Api": "PrivateApi", "Stage": "prod"},
//!  "Expect": {"OutputIncludes": {"StatusCode": 200, "Body": {"message": "Private API executed!!"}}}}
//! {"Name": "control-plane-without-nat",
//!  "Request": {"From": "Client", "Url": "https://apigateway.ap-northeast-1.amazonaws.com/restapis",
//!              "Sign": {"As": "LambdaRole", "Service": "apigateway"}, "TimeoutSeconds": 60},
//!  "Expect": {"OutputIncludes": {"Error": "TIMEOUT"}, "ElapsedSeconds": 60}}
//! ```
//!
//! A response reads as for direct `Request` cases (`StatusCode`, `StatusText`, `Headers`,
//! `Body`). A request that gets no response reads `{"Error": …, "Message": …}` with the error as
//! a client reports it: `NXDOMAIN` (curl: "Could not resolve host", exit 6), `TIMEOUT` (nothing
//! answered within `TimeoutSeconds`: curl exit 28, botocore `ConnectTimeoutError`), `REFUSED`
//! (curl exit 7), `TLS` (curl exit 60), `HTTP`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::OpenError;
use crate::apigw::case::{CaseError, RequestCase, build, response_json};
use crate::dns::ResolveError;
use crate::edge::{AuthMode, Edge};
use crate::trace::{Trace, Verdict};
use crate::world::World;

/// botocore's default connect time-out, the default `TimeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends a case's request from its instance and returns the output (see the module docs).
/// The world's endpoints are attached to a fresh edge for the duration of the case.
pub async fn run(world: &World, case: &RequestCase, trace: &Trace) -> Result<Value, CaseError> {
    let from = case.from.clone().unwrap_or_default();
    let Some(instance) = world.ec2.instance(&from) else {
        return Err(CaseError::Invalid {
            what: "From (an AWS::EC2::Instance logical id or id)",
            value: from,
        });
    };
    let req = build(world, case)?;
    let edge = Arc::new(Edge::new(world.clone(), AuthMode::Verify));
    super::attach(&edge);
    let timeout = case
        .timeout_seconds
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT);
    trace.info(
        "client",
        format!(
            "{} {} from {} ({}, {})",
            req.method(),
            req.uri(),
            instance.config.logical_id,
            instance.config.id,
            instance.eni.ip
        ),
    );
    let result = tokio::time::timeout(timeout, super::request(world, &instance, req, trace)).await;
    drop(edge);
    Ok(match result {
        Ok(Ok(resp)) => response_json(&resp),
        Ok(Err(e)) => {
            let code = match &e {
                OpenError::Resolve(ResolveError::NxDomain { .. })
                | OpenError::Resolve(ResolveError::NoData { .. }) => "NXDOMAIN",
                OpenError::Resolve(_) | OpenError::NoResolver { .. } => "RESOLVE",
                OpenError::Refused(_) | OpenError::Lattice { .. } => "REFUSED",
                OpenError::Tls { .. } => "TLS",
                OpenError::InvalidRequest { .. } | OpenError::Http { .. } => "HTTP",
            };
            trace.hop("client", Verdict::Fail, format!("{code}: {e}"));
            json!({"Error": code, "Message": e.to_string()})
        }
        Err(_) => {
            let message = format!(
                "no answer within {:.3} s (the client's time-out)",
                timeout.as_secs_f64()
            );
            trace.hop("client", Verdict::Fail, format!("TIMEOUT: {message}"));
            json!({"Error": "TIMEOUT", "Message": message})
        }
    })
}
