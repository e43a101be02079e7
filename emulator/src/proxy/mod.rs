//! Proxies on host loopback ports that put a real client (curl, boto3, a browser) inside a VPC:
//! one HTTP proxy and one SOCKS5 proxy per instance. Traffic leaves from the instance's ENI,
//! names resolve with that VPC's resolver, and what the VPC cannot reach behaves as in AWS
//! ([`crate::ec2::connect`]).
//!
//! - [`http`]: `CONNECT host:port` tunnels (HTTPS through a proxy) and absolute-URI requests
//!   (`GET http://host/path`).
//! - [`socks`]: SOCKS5 (RFC 1928), no authentication, `CONNECT` to a name (resolved by the VPC:
//!   `socks5h://` in curl) or an address.
//!
//! How failures reach the client (docs/vpc-clients.md):
//!
//! | in the VPC | HTTP proxy | curl | SOCKS5 | curl (`socks5h`) |
//! |---|---|---|---|---|
//! | dropped (no route, a security group) | no answer to `CONNECT` | `(28)` after its time-out | no reply | `(28)` |
//! | NXDOMAIN | `502 Bad Gateway` | `(56) CONNECT tunnel failed, response 502` | reply 4 host unreachable | `(97)` |
//! | reset (no listener) | `502 Bad Gateway` | `(56)` | reply 5 connection refused | `(97)` |
//!
//! Start them with [`start_all`] once `serve`'s edge exists (it implements [`Worlds`]); it also
//! attaches the edge to the endpoints' listeners ([`crate::ec2::Ec2::attach`]).

pub mod http;
pub mod socks;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::ec2::{Fabric, ProxyPorts};

/// Where the proxies find the world a request runs on: `serve`'s edge, whose world a reset
/// rebuilds while the proxies keep their ports.
pub trait Worlds: Send + Sync + 'static {
    /// A handle to a running world.
    type World: Fabric + 'static;
    /// The current world.
    fn current(&self) -> Self::World;
    /// Hands the emulated services to the current world's endpoint listeners
    /// ([`crate::ec2::Ec2::attach`]).
    fn attach_endpoints(self: &Arc<Self>);
}

/// The proxies of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyInfo {
    /// The instance's logical id.
    pub logical_id: String,
    /// `i-…`.
    pub instance_id: String,
    /// Its private address.
    pub private_ip: IpAddr,
    /// The HTTP proxy's host address.
    pub http: SocketAddr,
    /// The SOCKS5 proxy's host address.
    pub socks: SocketAddr,
}

impl fmt::Display for ProxyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "instance {} ({}, {}): HTTP proxy http://{} SOCKS5 proxy socks5h://{}",
            self.logical_id, self.instance_id, self.private_ip, self.http, self.socks
        )
    }
}

/// Opens an HTTP and a SOCKS5 proxy on 127.0.0.1 (ephemeral ports) for every instance of the
/// edge's world, attaches the edge to the endpoints ([`Worlds::attach_endpoints`]) and returns
/// what was opened, in the instances' order. `serve` prints these and `/_vpcgate/world` lists
/// them.
pub async fn start_all<W: Worlds>(edge: &Arc<W>) -> std::io::Result<Vec<ProxyInfo>> {
    start_all_on(edge, IpAddr::V4(Ipv4Addr::LOCALHOST), None).await
}

/// [`start_all`] on `host`, with ports from `first_port` on (two per instance: HTTP, then
/// SOCKS5) or ephemeral ones.
pub async fn start_all_on<W: Worlds>(
    edge: &Arc<W>,
    host: IpAddr,
    first_port: Option<u16>,
) -> std::io::Result<Vec<ProxyInfo>> {
    edge.attach_endpoints();
    let world = edge.current();
    let ec2 = world.ec2();
    let mut out = Vec::new();
    for (i, instance) in ec2.instances().iter().enumerate() {
        let port = |k: u16| first_port.map(|p| p + 2 * i as u16 + k).unwrap_or(0);
        let http_listener = TcpListener::bind(SocketAddr::new(host, port(0))).await?;
        let socks_listener = TcpListener::bind(SocketAddr::new(host, port(1))).await?;
        let info = ProxyInfo {
            logical_id: instance.config.logical_id.clone(),
            instance_id: instance.config.id.clone(),
            private_ip: instance.eni.ip,
            http: http_listener.local_addr()?,
            socks: socks_listener.local_addr()?,
        };
        ec2.set_proxy(
            &instance.config.id,
            ProxyPorts {
                http: info.http,
                socks: info.socks,
            },
        );
        tokio::spawn(http::run(http_listener, edge.clone(), instance.clone()));
        tokio::spawn(socks::run(socks_listener, edge.clone(), instance.clone()));
        out.push(info);
    }
    Ok(out)
}

/// The current world, the instance as it has it (a reset rebuilds the world; the proxy stays)
/// and the instance's label for the log.
fn current<W: Worlds>(
    worlds: &W,
    instance: Arc<crate::ec2::Instance>,
) -> (W::World, Arc<crate::ec2::Instance>, String) {
    let world = worlds.current();
    let instance = world
        .ec2()
        .instance(&instance.config.id)
        .unwrap_or(instance);
    let label = format!("{} ({})", instance.config.logical_id, instance.eni.ip);
    (world, instance, label)
}

/// The instances with their proxies, for `GET /_vpcgate/world`.
pub fn world_json<F: Fabric>(world: &F) -> Value {
    let ec2 = world.ec2();
    Value::Array(
        ec2.instances()
            .iter()
            .map(|i| {
                let proxy = ec2.proxy(&i.config.id);
                json!({
                    "logicalId": i.config.logical_id,
                    "id": i.config.id,
                    "vpcId": i.config.vpc_id,
                    "subnetId": i.config.subnet_id,
                    "privateIp": i.eni.ip.to_string(),
                    "publicIp": i.public_ip.map(|p| p.to_string()),
                    "httpProxy": proxy.as_ref().map(|p| p.http.to_string()),
                    "socksProxy": proxy.as_ref().map(|p| p.socks.to_string()),
                })
            })
            .collect(),
    )
}

/// The interface endpoints with their DNS names and addresses, for `GET /_vpcgate/world`.
pub fn endpoints_json<F: Fabric>(world: &F) -> Value {
    Value::Array(
        world
            .ec2()
            .endpoints()
            .iter()
            .map(|e| {
                json!({
                    "logicalId": e.config.logical_id,
                    "id": e.config.id,
                    "serviceName": e.config.service_name,
                    "vpcId": e.config.vpc_id,
                    "privateDnsEnabled": e.config.private_dns,
                    "dnsName": e.regional_name(),
                    "zonalDnsNames": e.zonal_names().into_iter().map(|(n, _)| n).collect::<Vec<_>>(),
                    "addresses": e.enis.iter().map(|n| n.ip.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
