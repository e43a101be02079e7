//! What the edge hands the components below it: itself as the emulated services behind EC2's
//! public and interface endpoints ([`crate::ec2::Services`]), and the current world to the
//! instances' proxies ([`crate::proxy::Worlds`]).

use std::sync::{Arc, Weak};

use bytes::Bytes;
use http_body_util::Full;

use super::Edge;
use super::wire::{self, Body, JsonError};
use crate::ec2::{ServiceFuture, Services};
use crate::world::World;

impl Services for Edge {
    fn execute_api(self: Arc<Self>, req: http::Request<Bytes>) -> ServiceFuture {
        Box::pin(async move {
            let (parts, body) = self.apigw().handle(req).await.into_parts();
            http::Response::from_parts(parts, Full::new(body))
        })
    }

    fn aws(self: Arc<Self>, parts: http::request::Parts, body: Bytes) -> ServiceFuture {
        Box::pin(super::handle_parts(self, parts, body))
    }

    fn access_denied(&self, json_version: &str, message: String) -> http::Response<Body> {
        wire::error(
            json_version,
            &JsonError::client("AccessDeniedException", message),
        )
    }
}

impl Edge {
    /// Hands the edge to the current world's interface endpoints' and public endpoints'
    /// listeners ([`crate::ec2::Ec2::attach`]). They keep only a weak reference: dropping the
    /// edge stops their answers.
    pub fn attach_endpoints(self: &Arc<Self>) {
        let weak: Weak<Edge> = Arc::downgrade(self);
        self.world().ec2.attach(weak);
    }
}

impl crate::proxy::Worlds for Edge {
    type World = World;

    fn current(&self) -> World {
        self.world()
    }

    fn attach_endpoints(self: &Arc<Self>) {
        Edge::attach_endpoints(self);
    }
}
