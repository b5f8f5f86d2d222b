//! What the NetworkPolicy packet test and the datapath bench share: pods wired by the datapath
//! on a node of the mock's fabric, a rule sink inside the node, and a fast TCP echo probe.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_eni::datapath::{self, host_veth_name, PodInterface};
use ack_net_eni::pod_network::PodNetwork;
use ack_net_k8s::netpol::enforce::{EnforceError, NftCommand, RuleSink};
use ack_net_mock::fabric::Netns;

use crate::fabric_support::Net;

/// Loads rulesets with `nft -f` inside a node's namespace.
pub struct InNode(pub Arc<Netns>);

impl RuleSink for InNode {
    fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
        self.0
            .run(|| NftCommand::default().load(ruleset))
            .map_err(|e| EnforceError::Load { reason: format!("entering the node: {e}") })?
    }
}

/// The host side of a pod's veth, as the datapath named it.
pub fn interface(namespace: &str, name: &str) -> String {
    host_veth_name(&format!("{namespace}/{name}"))
}

/// Pods of namespace `shop` wired by the datapath on the first node: their networks, the
/// node's namespace and the pods' namespaces.
pub async fn wire(n: &Net, names: &[&str]) -> (Vec<PodNetwork>, Arc<Netns>, Vec<Netns>) {
    let pool = n.pool(&n.nodes[0], "node-a").await;
    let mut nets = Vec::new();
    for name in names {
        nets.push(PodNetwork::setup(&pool, &format!("shop/{name}")).await.expect("an address"));
    }
    n.settle().await;
    let node = n.node(&n.nodes[0]);
    let pods: Vec<Netns> = names.iter().map(|_| Netns::new().expect("a pod namespace")).collect();
    for (net, pod) in nets.iter().zip(&pods) {
        let iface = PodInterface::new(pod.path(), "eth0").expect("an interface");
        node.run(|| datapath::setup(net, &iface)).expect("a thread in the node").expect("setup");
    }
    (nets, node, pods)
}

/// An echo server in `at` on `port`, accepting until `stop` is set, for at most `lifetime`.
pub fn serve(at: &Netns, port: u16, stop: Arc<AtomicBool>, lifetime: Duration) -> std::thread::JoinHandle<()> {
    let listener =
        at.run(|| TcpListener::bind(("0.0.0.0", port))).expect("a thread in the namespace").expect("listening");
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + lifetime;
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut b = [0u8; 1];
                    if s.read_exact(&mut b).is_ok() {
                        let _ = s.write_all(&b);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

/// Whether a new TCP connection from `from` to `ip:port` is answered within 200 ms.
pub fn connects(from: &Netns, ip: Ipv4Addr, port: u16) -> bool {
    let addr = SocketAddr::from((ip, port));
    from.run(|| -> std::io::Result<bool> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        s.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        Ok(b == *b"x")
    })
    .expect("a thread in the namespace")
    .unwrap_or(false)
}
