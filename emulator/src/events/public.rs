//! Public connections: where a connection without a resource configuration sends its requests.
//!
//! AWS sends them over the internet. The emulated world's internet is an emulator convention
//! (README, "EventBridge" → "Public connections"):
//! - the public AWS endpoints vpcgate serves ([`crate::ec2::internet`]): the
//!   `{api-id}.execute-api.{region}.amazonaws.com` name of every REGIONAL or EDGE REST API and
//!   of every HTTP API, and the JSON APIs' names (`states.…`, `events.…`, …) — reached in memory
//!   over TLS with the emulated public CA, exactly as from a public subnet;
//! - public origins the environment maps to the user's own process on this machine
//!   (`PublicEndpoints: [{"Url": "https://api.example.com", "Target": "http://127.0.0.1:8080"}]`,
//!   read by `scenario::public_endpoints`): a real loopback socket, plain HTTP (the TLS of the
//!   public origin ends at the mapping, as at a TLS-terminating proxy);
//! - nothing else: the name does not resolve, and the call fails as a socket failure
//!   (`States.Http.Socket` for the HTTP Task, a retried `SDK_CLIENT_ERROR` for an API
//!   destination).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::apigw::ApiGateway;
use crate::ec2::Internet;

/// Most public origins one environment maps (a bound on the lookup).
pub const MAX_PUBLIC_ENDPOINTS: usize = 100;

/// A public origin mapped to a process of the user's on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicEndpoint {
    /// The origin as written (`https://api.example.com`).
    pub url: String,
    /// Its host, lowercase.
    pub host: String,
    /// Its port (443 unless the URL names one).
    pub port: u16,
    /// Where requests to it go: a loopback address and port (plain HTTP).
    pub target: SocketAddr,
}

impl PublicEndpoint {
    /// Reads one mapping: `url` an `https://host[:port]` origin, `target` an
    /// `http://<loopback address>:<port>` URL. The error is the reason, for the loader's message.
    pub fn parse(url: &str, target: &str) -> Result<Self, String> {
        let origin: http::Uri = url
            .parse()
            .map_err(|e| format!("Url {url:?} is not a URL: {e}"))?;
        if origin.scheme_str() != Some("https") {
            return Err(format!(
                "Url {url:?} must be an https:// origin (connections call HTTPS endpoints only)"
            ));
        }
        let host = origin
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("Url {url:?} has no host"))?
            .to_ascii_lowercase();
        if origin.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(format!(
                "Url {url:?} must be an origin (https://host[:port]) without a path or query"
            ));
        }
        if host.ends_with(".amazonaws.com") {
            return Err(format!(
                "Url {url:?} is an AWS name: the public AWS endpoints vpcgate serves are reached without a mapping"
            ));
        }
        let port = origin.port_u16().unwrap_or(443);
        let to: http::Uri = target
            .parse()
            .map_err(|e| format!("Target {target:?} is not a URL: {e}"))?;
        if to.scheme_str() != Some("http") {
            return Err(format!(
                "Target {target:?} must be an http:// URL of a process on this machine"
            ));
        }
        let ip: IpAddr = to
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .map(|h| if h == "localhost" { "127.0.0.1" } else { h })
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| {
                format!("Target {target:?} must name a loopback address (127.0.0.1 or [::1])")
            })?;
        if !ip.is_loopback() {
            return Err(format!(
                "Target {target:?} is not on this machine's loopback: vpcgate never connects to another host"
            ));
        }
        let Some(target_port) = to.port_u16() else {
            return Err(format!("Target {target:?} must name a port"));
        };
        if to.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(format!("Target {target:?} must not have a path or query"));
        }
        Ok(Self {
            url: url.to_string(),
            host,
            port,
            target: SocketAddr::new(ip, target_port),
        })
    }
}

/// Where a public host name leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicRoute {
    /// A public AWS endpoint of the emulated internet (its address).
    Aws(Ipv4Addr),
    /// A process of the user's, by the environment's mapping.
    Local(PublicEndpoint),
    /// Nothing: the name does not resolve.
    Unresolved,
}

/// What the emulated internet holds: handed down by the caller (the connection's invoker).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PublicNames<'a> {
    /// The environment's mappings.
    pub(crate) mappings: &'a [PublicEndpoint],
    /// The public AWS endpoints.
    pub(crate) internet: &'a Internet,
    /// API Gateway (which execute-api names are public).
    pub(crate) apigw: &'a ApiGateway,
    /// The world's Region.
    pub(crate) region: &'a str,
}

/// Resolves `host:port` on the emulated internet: the environment's mappings first (an exact
/// host and port), then the public AWS names the world serves.
pub(crate) fn route(names: PublicNames<'_>, host: &str, port: u16) -> PublicRoute {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(m) = names
        .mappings
        .iter()
        .take(MAX_PUBLIC_ENDPOINTS)
        .find(|m| m.host == host && m.port == port)
    {
        return PublicRoute::Local(m.clone());
    }
    if let Some(ip) = aws_address(names, &host) {
        return PublicRoute::Aws(ip);
    }
    PublicRoute::Unresolved
}

/// The public address of an AWS name the world serves, as the public DNS answers it: the JSON
/// APIs' names, and `{api-id}.execute-api.{region}.amazonaws.com` for a REST API that is not
/// PRIVATE or an HTTP API (HTTP APIs are always public, apigateway/latest/developerguide/
/// http-api-vs-rest.html).
fn aws_address(names: PublicNames<'_>, host: &str) -> Option<Ipv4Addr> {
    let internet = names.internet;
    let label = host.strip_suffix(&format!(".{}.amazonaws.com", names.region))?;
    if let Some(api_id) = label.strip_suffix(".execute-api") {
        let public_rest = names
            .apigw
            .api(api_id)
            .is_some_and(|a| a.endpoint_type != crate::apigw::EndpointType::Private);
        let http = names.apigw.http_api(api_id).is_some();
        return (public_rest || http)
            .then(|| internet.service("execute-api").map(|s| s.ip))
            .flatten();
    }
    internet
        .service(label)
        .filter(|s| s.target == crate::ec2::internet::Target::Aws)
        .map(|s| s.ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_is_an_https_origin_to_a_loopback_http_port() {
        let m = PublicEndpoint::parse("https://API.example.com", "http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.target),
            ("api.example.com", 443, "127.0.0.1:8080".parse().unwrap())
        );
        let m = PublicEndpoint::parse("https://api.example.com:8443/", "http://[::1]:9").unwrap();
        assert_eq!((m.port, m.target), (8443, "[::1]:9".parse().unwrap()));
    }

    #[test]
    fn a_mapping_refuses_other_hosts_schemes_and_paths() {
        for (url, target, reason) in [
            (
                "http://api.example.com",
                "http://127.0.0.1:8080",
                "https://",
            ),
            (
                "https://api.example.com/v1",
                "http://127.0.0.1:8080",
                "origin",
            ),
            (
                "https://api.example.com",
                "http://10.0.0.1:8080",
                "loopback",
            ),
            (
                "https://api.example.com",
                "https://127.0.0.1:8080",
                "http://",
            ),
            ("https://api.example.com", "http://127.0.0.1", "port"),
            (
                "https://api.example.com",
                "http://example.org:80",
                "loopback",
            ),
            (
                "https://abc.execute-api.ap-northeast-1.amazonaws.com",
                "http://127.0.0.1:1",
                "AWS name",
            ),
        ] {
            let e = PublicEndpoint::parse(url, target).unwrap_err();
            assert!(e.contains(reason), "{url} -> {target}: {e}");
        }
    }
}
