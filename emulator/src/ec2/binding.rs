//! Bindings: compute vpcgate does not run (an ECS service's tasks, an EC2 instance, a Lambda
//! function) bound to the user's own process on this machine's loopback.
//!
//! vpcgate's feature, not AWS's: `--bind LogicalId=http://127.0.0.1:8080` or the environment
//! file's `Bindings`. A bound instance or ECS task keeps its place in the VPC — an ENI in its
//! subnet with its security groups — and a relay listens on that ENI at the ports its target
//! groups name: a load balancer node or Lattice reaches the ENI through the virtual network
//! (security groups checked at both ends, as for any target), and the relay carries the
//! connection's bytes to the user's process. A bound Lambda function has no ENI: its target
//! groups forward to the process directly (the request as HTTP, not as a Lambda event).
//!
//! ```text
//! alb node / lattice ──▶ vpc::Network (SG egress, SG ingress) ──▶ task or instance ENI :port
//!   ──▶ relay ──▶ 127.0.0.1:<the user's port> (a real socket; the virtual clock holds)
//! ```

use std::net::{Ipv4Addr, SocketAddr};

use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::trace::Verdict;
use crate::vpc::{Eni, Inbound, Network};

/// Where a bound resource sits in the VPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// An EC2 instance: its own primary ENI (made by [`super::Ec2::start`]).
    Instance {
        /// The instance's logical id.
        logical_id: String,
    },
    /// An ECS service's task (`awsvpc` network mode): an ENI of its own.
    Task {
        /// `AwsvpcConfiguration.Subnets[0]`.
        subnet_id: String,
        /// The task's private address (chosen when the scenario loads, so target groups can
        /// name it).
        ip: Ipv4Addr,
        /// `AwsvpcConfiguration.SecurityGroups`.
        security_groups: Vec<String>,
    },
    /// No place in a VPC (a Lambda function): targets name the process directly.
    Direct,
}

/// One binding, as the model describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingConfig {
    /// The bound resource's logical id.
    pub logical_id: String,
    /// Its resource type.
    pub resource_type: String,
    /// The user's process (a loopback address).
    pub local: SocketAddr,
    /// Where it sits.
    pub placement: Placement,
    /// The ports its target groups name (a relay listens on each).
    pub ports: Vec<u16>,
}

/// Starts the relays of every binding that has an ENI; `eni_of` gives an instance's ENI by
/// logical id.
pub(crate) fn start(
    net: &Network,
    bindings: &[BindingConfig],
    clock: &Clock,
    eni_of: impl Fn(&str) -> Option<std::sync::Arc<Eni>>,
    tasks: &mut JoinSet<()>,
) -> Result<(), super::StartError> {
    for b in bindings {
        let eni = match &b.placement {
            Placement::Direct => continue,
            Placement::Instance { logical_id } => match eni_of(logical_id) {
                Some(eni) => eni,
                None => continue,
            },
            Placement::Task {
                subnet_id,
                ip,
                security_groups,
            } => net
                .create_eni_at(
                    subnet_id,
                    std::net::IpAddr::V4(*ip),
                    security_groups.clone(),
                    format!("ECS task of {} (bound to {})", b.logical_id, b.local),
                )
                .map_err(|source| super::StartError::Eni {
                    owner: b.logical_id.clone(),
                    source,
                })?,
        };
        for &port in &b.ports {
            let local = b.local;
            let clock = clock.clone();
            let owner = b.logical_id.clone();
            // Served on the dialler's runtime (vpc::Network::serve); listens until the task
            // holding it is aborted.
            let serving = net.serve(&eni, port, move |inbound| {
                tokio::spawn(relay(inbound, local, clock.clone(), owner.clone()));
            });
            tasks.spawn(async move {
                let _serving = serving;
                std::future::pending::<()>().await
            });
        }
    }
    Ok(())
}

/// Carries one connection's bytes between the virtual network and the user's process.
async fn relay(inbound: Inbound, local: SocketAddr, clock: Clock, owner: String) {
    // A real socket: the virtual clock holds while it is open (crate::clock), so a slow process
    // is not timed out by skipped time.
    let _hold = clock.hold();
    let Inbound {
        mut stream,
        local: at,
        trace,
        ..
    } = inbound;
    match tokio::net::TcpStream::connect(local).await {
        Ok(mut real) => {
            trace.pass(
                "binding",
                format!("{owner} at {at}: relayed to the bound process {local}"),
            );
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut real).await;
        }
        Err(e) => {
            // Nothing listening on the user's port: the connection is reset, as a task whose
            // process is not listening resets it (the load balancer answers 502).
            trace.hop(
                "binding",
                Verdict::Refuse,
                format!("{owner} at {at}: the bound process {local} refused: {e}"),
            );
        }
    }
}
