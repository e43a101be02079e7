//! The integration timeout as a tower layer.
//!
//! API Gateway waits `TimeoutInMillis` (50 ms to 29 s, 29 s by default) for the integration —
//! connecting through the VPC link included — and then answers 504 with
//! `{"message": "Endpoint request timed out"}`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html>;
//! the body is recorded, research Q14). The timer is tokio's, so a paused test clock runs the
//! 29 s in no wall time. The timeout comes from the matched method ([`super::Invocation`]).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tower::{Layer, Service};

use super::rest_api::DEFAULT_INTEGRATION_TIMEOUT;
use super::{ApiGatewayError, Invocation, LayerFuture, Next};
use crate::trace::{Trace, Verdict};

/// The integration did not answer within its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("integration did not answer within {} ms", .after.as_millis())]
pub struct Elapsed {
    /// The timeout that passed.
    pub after: Duration,
}

/// Bounds the inner service by the method's integration timeout.
pub fn layer() -> IntegrationTimeoutLayer {
    IntegrationTimeoutLayer
}

/// See [`layer`].
#[derive(Clone, Copy, Debug, Default)]
pub struct IntegrationTimeoutLayer;

impl<S> Layer<S> for IntegrationTimeoutLayer {
    type Service = IntegrationTimeout<S>;
    fn layer(&self, inner: S) -> Self::Service {
        IntegrationTimeout { inner }
    }
}

/// See [`layer`].
#[derive(Clone, Debug)]
pub struct IntegrationTimeout<S> {
    inner: S,
}

impl<S: Next> Service<http::Request<Bytes>> for IntegrationTimeout<S> {
    type Response = http::Response<Bytes>;
    type Error = ApiGatewayError;
    type Future = LayerFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ApiGatewayError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let invocation = req.extensions().get::<Arc<Invocation>>().cloned();
        let after = invocation
            .as_ref()
            .and_then(|i| i.route.method.integration.as_ref())
            .map(|i| i.timeout)
            .unwrap_or(DEFAULT_INTEGRATION_TIMEOUT);
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(after, fut).await {
                Ok(result) => result,
                Err(_) => {
                    if let Some(inv) = invocation {
                        timed_out(&inv.trace, after);
                    }
                    Err(Elapsed { after }.into())
                }
            }
        })
    }
}

/// The hop of an integration that did not answer within its `TimeoutInMillis` (REST and HTTP
/// APIs alike).
pub(crate) fn timed_out(trace: &Trace, after: Duration) {
    trace.hop_fmt(
        "apigw",
        Verdict::Fail,
        format_args!(
            "integration timeout: no response within {} ms (TimeoutInMillis)",
            after.as_millis()
        ),
    );
}
