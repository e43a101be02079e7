//! The SOCKS5 proxy of an instance (RFC 1928): method 0 (no authentication), command
//! `CONNECT`, addresses as IPv4 or a domain name — which the VPC's resolver resolves (curl's
//! `socks5h://`, botocore's `socks5h` proxies).
//!
//! Replies (RFC 1928 §6): `0` succeeded (bound address: the instance's), `4` host unreachable
//! for a name that does not resolve, `5` connection refused for a reset, `1` general failure
//! otherwise, `7` for other commands, `8` for IPv6 addresses. A connection the VPC drops gets no
//! reply: the client's time-out decides.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Worlds;
use crate::dns::ResolveError;
use crate::ec2::{Fabric, Instance, OpenError};
use crate::trace::Trace;

/// RFC 1928 reply codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reply {
    /// `X'00'` succeeded.
    Succeeded = 0,
    /// `X'01'` general SOCKS server failure.
    GeneralFailure = 1,
    /// `X'04'` host unreachable.
    HostUnreachable = 4,
    /// `X'05'` connection refused.
    ConnectionRefused = 5,
    /// `X'07'` command not supported.
    CommandNotSupported = 7,
    /// `X'08'` address type not supported.
    AddressTypeNotSupported = 8,
}

/// The reply for a connection that failed at once.
pub fn reply_for(e: &OpenError) -> Reply {
    match e {
        OpenError::Resolve(ResolveError::NxDomain { .. } | ResolveError::NoData { .. }) => {
            Reply::HostUnreachable
        }
        OpenError::Refused(_) => Reply::ConnectionRefused,
        _ => Reply::GeneralFailure,
    }
}

/// Serves the proxy on `listener` for `instance` until the runtime stops.
pub(crate) async fn run<W: Worlds>(listener: TcpListener, edge: Arc<W>, instance: Arc<Instance>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let hold = edge.current().clock().hold();
        let (edge, instance) = (edge.clone(), instance.clone());
        // A real client tunnelled into the VPC: the virtual clock holds while it is connected.
        tokio::spawn(async move {
            serve(stream, edge, instance).await;
            drop(hold);
        });
    }
}

fn reply(code: Reply, bound: Option<(Ipv4Addr, u16)>) -> [u8; 10] {
    let (ip, port) = bound.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
    let o = ip.octets();
    let p = port.to_be_bytes();
    [5, code as u8, 0, 1, o[0], o[1], o[2], o[3], p[0], p[1]]
}

async fn serve<W: Worlds>(mut client: TcpStream, edge: Arc<W>, instance: Arc<Instance>) {
    // Greeting: VER NMETHODS METHODS.
    let mut head = [0u8; 2];
    if client.read_exact(&mut head).await.is_err() || head[0] != 5 {
        return;
    }
    let mut methods = vec![0u8; head[1] as usize];
    if client.read_exact(&mut methods).await.is_err() {
        return;
    }
    if !methods.contains(&0) {
        let _ = client.write_all(&[5, 0xff]).await;
        return;
    }
    if client.write_all(&[5, 0]).await.is_err() {
        return;
    }
    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    let mut req = [0u8; 4];
    if client.read_exact(&mut req).await.is_err() || req[0] != 5 {
        return;
    }
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            if client.read_exact(&mut a).await.is_err() {
                return;
            }
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            if client.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut name = vec![0u8; len[0] as usize];
            if client.read_exact(&mut name).await.is_err() {
                return;
            }
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut rest = [0u8; 18];
            let _ = client.read_exact(&mut rest).await;
            let _ = client
                .write_all(&reply(Reply::AddressTypeNotSupported, None))
                .await;
            return;
        }
        _ => {
            let _ = client
                .write_all(&reply(Reply::AddressTypeNotSupported, None))
                .await;
            return;
        }
    };
    let mut port = [0u8; 2];
    if client.read_exact(&mut port).await.is_err() {
        return;
    }
    let port = u16::from_be_bytes(port);
    if req[1] != 1 {
        let _ = client
            .write_all(&reply(Reply::CommandNotSupported, None))
            .await;
        return;
    }
    let (world, instance, label) = super::current(&*edge, instance);
    let trace = Trace::new();
    tracing::info!("socks5 {label}: CONNECT {host}:{port}");
    match crate::ec2::connect(&world, &instance, &host, port, &trace).await {
        Ok(mut stream) => {
            let bound = match instance.eni.ip {
                IpAddr::V4(v4) => Some((v4, 49152)),
                IpAddr::V6(_) => None,
            };
            if client
                .write_all(&reply(Reply::Succeeded, bound))
                .await
                .is_err()
            {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut stream).await;
            tracing::debug!("socks5 tunnel to {host}:{port} closed:\n{}", trace.render());
        }
        Err(e) => {
            let code = reply_for(&e);
            tracing::info!("socks5 {label}: CONNECT {host}:{port} failed ({code:?}): {e}");
            let _ = client.write_all(&reply(code, None)).await;
        }
    }
}
