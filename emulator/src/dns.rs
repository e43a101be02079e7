//! In-VPC DNS: a resolver per VPC, served by hickory.
//!
//! Each VPC has an Amazon-provided resolver at its range's base address plus two
//! (<https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html>). vpcgate serves it
//! with a hickory-server [`Catalog`] holding the VPC's private hosted zones (Route 53 private zones
//! associated with the VPC), the internal ALBs' names (`internal-<name>-<id>.<region>.elb.amazonaws.com`,
//! A records of the nodes' addresses) and an empty root zone so that any other name gets an
//! authoritative NXDOMAIN — the emulated world has no internet to recurse to.
//!
//! Lookups go through hickory-resolver over the DNS wire protocol: the resolver's UDP socket is an
//! in-memory one ([`VpcRuntime`]) whose datagrams are handed to the catalog as raw bytes, so the
//! query and answer are real DNS messages but no host socket is opened (a host socket would let a
//! paused tokio clock jump ahead while it waits). Security groups do not filter traffic to the
//! Amazon DNS server (<https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html>),
//! so resolution applies none.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::{DnsUdpSocket, RuntimeProvider, TokioHandle, TokioTime};
use hickory_resolver::net::xfer::Protocol;
use hickory_resolver::net::{BufDnsStreamHandle, NetError};
use hickory_server::server::{Request, RequestHandler, ResponseHandle};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::sync::mpsc;

use crate::trace::{Detail, Trace, Verdict};

/// Time-to-live of the records vpcgate synthesises (ALB names use 60 s in AWS).
const DEFAULT_TTL: u32 = 60;

/// A record to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(std::net::Ipv6Addr),
    /// An alias to another name.
    Cname(String),
    /// Text.
    Txt(String),
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// The owner name (absolute, with or without the trailing dot).
    pub name: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

/// A zone: its apex and records.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    /// The apex, e.g. `example.com`.
    pub origin: String,
    /// The records.
    pub records: Vec<DnsRecord>,
}

/// Why a zone could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    /// A name is not a valid DNS name.
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A record lies outside its zone.
    #[error("record {name} is outside zone {zone}")]
    OutOfZone {
        /// The record's name.
        name: String,
        /// The zone.
        zone: String,
    },
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The name does not exist (NXDOMAIN).
    #[error("{name} does not resolve: NXDOMAIN from the VPC resolver {server}")]
    NxDomain {
        /// The name asked for.
        name: String,
        /// The resolver.
        server: IpAddr,
    },
    /// The name exists but has no address record.
    #[error("{name} has no {record_type} record (NOERROR, no data) at the VPC resolver {server}")]
    NoData {
        /// The name asked for.
        name: String,
        /// The record type asked for.
        record_type: String,
        /// The resolver.
        server: IpAddr,
    },
    /// Any other failure (malformed name, server failure).
    #[error("resolving {name} failed: {reason}")]
    Failed {
        /// The name asked for.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

fn name(s: &str) -> Result<Name, ZoneError> {
    let fqdn = if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    };
    Name::from_ascii(&fqdn).map_err(|e| ZoneError::InvalidName {
        name: s.to_string(),
        reason: e.to_string(),
    })
}

fn handler_for(zone: &Zone) -> Result<InMemoryZoneHandler, ZoneError> {
    let origin = name(&zone.origin)?;
    let mut handler =
        InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    let serial = 1;
    let soa = SOA::new(
        name("ns-1536.awsdns-00.co.uk")?,
        name("awsdns-hostmaster.amazon.com")?,
        serial,
        7200,
        900,
        1_209_600,
        86400,
    );
    handler.upsert_mut(
        Record::from_rdata(origin.clone(), 900, RData::SOA(soa)),
        serial,
    );
    for record in &zone.records {
        let owner = name(&record.name)?;
        if !origin.zone_of(&owner) {
            return Err(ZoneError::OutOfZone {
                name: record.name.clone(),
                zone: zone.origin.clone(),
            });
        }
        let rdata = match &record.data {
            RecordData::A(ip) => RData::A(A(*ip)),
            RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
            RecordData::Cname(target) => RData::CNAME(CNAME(name(target)?)),
            RecordData::Txt(text) => RData::TXT(TXT::new(vec![text.clone()])),
        };
        handler.upsert_mut(Record::from_rdata(owner, record.ttl, rdata), serial);
    }
    Ok(handler)
}

/// The DNS server of one VPC: a hickory catalog answering raw DNS messages.
#[derive(Clone)]
pub struct DnsServer {
    catalog: Arc<Catalog>,
    address: IpAddr,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl DnsServer {
    /// Builds the server at `address` for `zones`; an empty root zone is added so that names
    /// outside every zone get NXDOMAIN.
    pub fn new(address: IpAddr, zones: &[Zone]) -> Result<Self, ZoneError> {
        let mut catalog = Catalog::new();
        let root = Zone {
            origin: ".".into(),
            records: Vec::new(),
        };
        for zone in std::iter::once(&root).chain(zones) {
            let handler = handler_for(zone)?;
            let origin = LowerName::new(&name(&zone.origin)?);
            let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
            catalog.upsert(origin, vec![handler]);
        }
        Ok(Self {
            catalog: Arc::new(catalog),
            address,
        })
    }

    /// The server's address in its VPC.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Answers one DNS message (wire format) from `src`; `None` when the bytes are not a query.
    pub async fn answer(&self, raw: Vec<u8>, src: SocketAddr) -> Option<Vec<u8>> {
        let request = Request::from_bytes(raw, src, Protocol::Udp).ok()?;
        let (stream, mut responses) = BufDnsStreamHandle::new(src);
        let handle = ResponseHandle::new(src, stream, Protocol::Udp);
        self.catalog
            .handle_request::<_, TokioTime>(&request, handle)
            .await;
        let message = responses.next().await?;
        Some(message.bytes().to_vec())
    }

    /// A resolver that asks this server over the DNS wire protocol, from `client` (the ENI doing
    /// the lookup).
    pub fn resolver(&self, client: IpAddr) -> VpcResolver {
        VpcResolver {
            server: self.clone(),
            client,
            per_shard: Arc::default(),
        }
    }

    /// A hickory resolver asking this server from `client`: its exchange task runs on the
    /// runtime of its first lookup.
    fn hickory_resolver(&self, client: IpAddr) -> Resolver<VpcRuntime> {
        let runtime = VpcRuntime {
            server: self.clone(),
            client,
            handle: TokioHandle::default(),
        };
        let config =
            ResolverConfig::from_parts(None, vec![], vec![NameServerConfig::udp(self.address)]);
        let mut builder = Resolver::builder_with_config(config, runtime);
        let opts = builder.options_mut();
        // Answers come from memory at once; one try, no cache, so that the trace shows every
        // query and a changed zone takes effect on the next request.
        opts.cache_size = 0;
        opts.attempts = 1;
        opts.timeout = Duration::from_secs(5);
        opts.preserve_intermediates = true;
        opts.ndots = 0;
        opts.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        opts.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4Only;
        builder.build().expect("resolver options are valid")
    }
}

/// A resolver bound to one VPC's DNS server.
///
/// hickory runs a resolver's exchange with its server as a task on the runtime of its first
/// lookup; under `serve`'s sharded world (`crate::clock`, shards) each shard gets a resolver of
/// its own, so a lookup never waits on another world thread.
#[derive(Clone)]
pub struct VpcResolver {
    server: DnsServer,
    client: IpAddr,
    per_shard: Arc<Mutex<Vec<Option<Resolver<VpcRuntime>>>>>,
}

impl std::fmt::Debug for VpcResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpcResolver")
            .field("server", &self.server.address)
            .finish_non_exhaustive()
    }
}

impl VpcResolver {
    /// The resolver of the calling thread's shard (made at its first lookup there).
    fn inner(&self) -> Resolver<VpcRuntime> {
        let shard = crate::clock::current_shard().unwrap_or(0);
        let mut per_shard = self.per_shard.lock().expect("resolver lock");
        if per_shard.len() <= shard {
            per_shard.resize_with(shard + 1, || None);
        }
        per_shard[shard]
            .get_or_insert_with(|| self.server.hickory_resolver(self.client))
            .clone()
    }

    /// Resolves `host` to its IPv4 addresses, following CNAME chains, and records the answer
    /// (with every CNAME on the way) in `trace`.
    pub async fn lookup_ipv4(
        &self,
        host: &str,
        trace: &Trace,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let fqdn = if host.ends_with('.') {
            host.to_string()
        } else {
            format!("{host}.")
        };
        match self.inner().lookup_ip(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut chain = Vec::new();
                for record in lookup.as_lookup().answers() {
                    if let RData::CNAME(target) = &record.data {
                        chain.push(format!("{} CNAME {}", record.name, target.0));
                    }
                }
                let ips: Vec<IpAddr> = lookup.iter().collect();
                let ips_text: Vec<String> = ips.iter().map(ToString::to_string).collect();
                chain.push(format!("A {}", ips_text.join(", ")));
                trace.hop_with(
                    "dns",
                    Verdict::Pass,
                    || {
                        Detail::at(format!("resolver {}", self.server.address))
                            .rule(chain.join(" -> "))
                    },
                    format!("{host} via {}: {}", self.server.address, chain.join(" -> ")),
                );
                Ok(ips)
            }
            Err(e) => {
                let err = self.classify(host, &e);
                trace.hop_with(
                    "dns",
                    Verdict::Fail,
                    || Detail::at(format!("resolver {}", self.server.address)),
                    err.to_string(),
                );
                Err(err)
            }
        }
    }

    fn classify(&self, host: &str, e: &NetError) -> ResolveError {
        if let NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(nr)) = e {
            return if nr.response_code == ResponseCode::NXDomain {
                ResolveError::NxDomain {
                    name: host.to_string(),
                    server: self.server.address,
                }
            } else {
                ResolveError::NoData {
                    name: host.to_string(),
                    record_type: RecordType::A.to_string(),
                    server: self.server.address,
                }
            };
        }
        ResolveError::Failed {
            name: host.to_string(),
            reason: e.to_string(),
        }
    }
}

/// hickory's runtime for a VPC: UDP datagrams go to the VPC's [`DnsServer`] in memory; TCP is
/// refused (answers are small, so hickory never needs to fall back to it).
#[derive(Clone)]
pub struct VpcRuntime {
    server: DnsServer,
    client: IpAddr,
    // hickory spawns its exchange tasks into this handle's JoinSet; it must outlive them.
    handle: TokioHandle,
}

impl std::fmt::Debug for VpcRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpcRuntime")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl RuntimeProvider for VpcRuntime {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = MemoryUdpSocket;
    type Tcp = hickory_resolver::net::runtime::iocompat::AsyncIoTokioAsStd<tokio::io::DuplexStream>;

    fn create_handle(&self) -> Self::Handle {
        self.handle.clone()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        _bind_addr: Option<SocketAddr>,
        _timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Tcp, io::Error>>>> {
        Box::pin(async move {
            Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("the emulated resolver {server_addr} answers over UDP only"),
            ))
        })
    }

    fn bind_udp(
        &self,
        _local_addr: SocketAddr,
        _server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Udp, io::Error>>>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let socket = MemoryUdpSocket {
            server: self.server.clone(),
            local: SocketAddr::new(self.client, 53_000),
            tx,
            rx: Mutex::new(rx),
        };
        Box::pin(async move { Ok(socket) })
    }
}

/// An in-memory UDP socket whose datagrams to the VPC resolver are answered by its catalog.
pub struct MemoryUdpSocket {
    server: DnsServer,
    local: SocketAddr,
    tx: mpsc::UnboundedSender<(Vec<u8>, SocketAddr)>,
    rx: Mutex<mpsc::UnboundedReceiver<(Vec<u8>, SocketAddr)>>,
}

impl std::fmt::Debug for MemoryUdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryUdpSocket")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl DnsUdpSocket for MemoryUdpSocket {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut rx = self.rx.lock().expect("udp socket lock");
        match rx.poll_recv(cx) {
            Poll::Ready(Some((data, from))) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Poll::Ready(Ok((n, from)))
            }
            Poll::Ready(None) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "socket closed",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_send_to(
        &self,
        _cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        // A datagram to anything but the VPC resolver is lost, as on a real network.
        if target.ip() == self.server.address() && target.port() == 53 {
            let server = self.server.clone();
            let tx = self.tx.clone();
            let raw = buf.to_vec();
            let src = self.local;
            tokio::spawn(async move {
                if let Some(answer) = server.answer(raw, src).await {
                    let _ = tx.send((answer, target));
                }
            });
        }
        Poll::Ready(Ok(buf.len()))
    }
}

/// The records of a zone built from `(name, data)` pairs with the default TTL.
pub fn records(pairs: impl IntoIterator<Item = (String, RecordData)>) -> Vec<DnsRecord> {
    pairs
        .into_iter()
        .map(|(name, data)| DnsRecord {
            name,
            ttl: DEFAULT_TTL,
            data,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> DnsServer {
        let zones = vec![
            Zone {
                origin: "example.com".into(),
                records: records([(
                    "eb-demo.example.com".to_string(),
                    RecordData::Cname(
                        "internal-eb-demo-alb-123456789.ap-northeast-1.elb.amazonaws.com".into(),
                    ),
                )]),
            },
            Zone {
                origin: "internal-eb-demo-alb-123456789.ap-northeast-1.elb.amazonaws.com".into(),
                records: records([
                    (
                        "internal-eb-demo-alb-123456789.ap-northeast-1.elb.amazonaws.com"
                            .to_string(),
                        RecordData::A("192.168.0.4".parse().unwrap()),
                    ),
                    (
                        "internal-eb-demo-alb-123456789.ap-northeast-1.elb.amazonaws.com"
                            .to_string(),
                        RecordData::A("192.168.16.4".parse().unwrap()),
                    ),
                ]),
            },
        ];
        DnsServer::new("192.168.0.2".parse().unwrap(), &zones).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn cname_chain_resolves_to_the_alb_nodes() {
        let resolver = server().resolver("192.168.0.10".parse().unwrap());
        let trace = Trace::new();
        let mut ips = resolver
            .lookup_ipv4("eb-demo.example.com", &trace)
            .await
            .unwrap();
        ips.sort();
        assert_eq!(
            ips,
            vec![
                "192.168.0.4".parse::<IpAddr>().unwrap(),
                "192.168.16.4".parse().unwrap()
            ]
        );
        let hop = &trace.hops()[0];
        assert!(
            hop.message.contains("CNAME internal-eb-demo-alb"),
            "{}",
            hop.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn missing_names_are_nxdomain_not_a_hang() {
        let resolver = server().resolver("192.168.0.10".parse().unwrap());
        let trace = Trace::new();
        let err = resolver
            .lookup_ipv4("missing.example.com", &trace)
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
        let err = resolver
            .lookup_ipv4("www.amazon.com", &trace)
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::NxDomain { .. }), "{err:?}");
    }

    #[test]
    fn records_outside_their_zone_are_rejected() {
        let zone = Zone {
            origin: "example.com".into(),
            records: records([(
                "www.example.org".to_string(),
                RecordData::A("10.0.0.1".parse().unwrap()),
            )]),
        };
        let err = DnsServer::new("10.0.0.2".parse().unwrap(), &[zone]).unwrap_err();
        assert!(matches!(err, ZoneError::OutOfZone { .. }));
    }
}
