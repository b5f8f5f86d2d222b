//! What the NetworkPolicy packet test and the datapath bench share: pods wired by the datapath
//! on a node of the mock's fabric, a rule sink inside the node, and a fast TCP echo probe.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

    fn in_force(&self, table: &str) -> Result<bool, EnforceError> {
        self.0
            .run(|| NftCommand::default().in_force(table))
            .map_err(|e| EnforceError::Load { reason: format!("entering the node: {e}") })?
    }
}

/// A node's sink that counts the transactions it took.
pub struct Counting(pub InNode, pub AtomicUsize);

impl RuleSink for Counting {
    fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
        self.0.load(ruleset)?;
        self.1.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn in_force(&self, table: &str) -> Result<bool, EnforceError> {
        self.0.in_force(table)
    }
}

/// The host side of a pod's veth, as the datapath named it.
pub fn interface(namespace: &str, name: &str) -> String {
    host_veth_name(&format!("{namespace}/{name}"))
}

/// Pods of namespace `shop`, each `(name, node index)`, wired by the datapath on their node of
/// the fabric (one pool per node): their networks and namespaces, and the nodes' namespaces.
pub async fn wire(n: &Net, placement: &[(&str, usize)]) -> (Vec<PodNetwork>, Vec<Arc<Netns>>, Vec<Netns>) {
    let mut pools = std::collections::BTreeMap::new();
    let mut nets = Vec::new();
    for &(name, node) in placement {
        if let std::collections::btree_map::Entry::Vacant(e) = pools.entry(node) {
            e.insert(n.pool(&n.nodes[node], &format!("node-{node}")).await);
        }
        nets.push(PodNetwork::setup(&pools[&node], &format!("shop/{name}")).await.expect("an address"));
    }
    n.settle().await;
    let nodes: Vec<Arc<Netns>> = (0..n.nodes.len()).map(|i| n.node(&n.nodes[i])).collect();
    let pods: Vec<Netns> = placement.iter().map(|_| Netns::new().expect("a pod namespace")).collect();
    for ((net, pod), &(_, node)) in nets.iter().zip(&pods).zip(placement) {
        let iface = PodInterface::new(pod.path(), "eth0").expect("an interface");
        nodes[node].run(|| datapath::setup(net, &iface)).expect("a thread in the node").expect("setup");
    }
    (nets, nodes, pods)
}

/// Whether a UDP datagram from `from` to `ip:port`, answered by an echo in `at`, comes back
/// within 200 ms.
pub fn udp_probe(from: &Netns, at: &Netns, ip: Ipv4Addr, port: u16) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    let server = serve_udp(at, port, stop.clone(), Duration::from_secs(5));
    let answered = udp_answers(from, ip, port);
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    answered
}

/// Whether a new TCP connection from `from` to `ip:port`, answered by an echo in `at`, is
/// answered within 200 ms.
pub fn tcp_probe_fast(from: &Netns, at: &Netns, ip: Ipv4Addr, port: u16) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    let server = serve(at, port, stop.clone(), Duration::from_secs(5));
    let answered = connects(from, ip, port);
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    answered
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
                Err(_) => std::thread::sleep(Duration::from_micros(100)),
            }
        }
    })
}

/// Whether a new TCP connection from `from` to `ip:port` is answered within 200 ms.
pub fn connects(from: &Netns, ip: Ipv4Addr, port: u16) -> bool {
    connects_within(from, ip, port, Duration::from_millis(200))
}

/// Whether a new TCP connection from `from` to `ip:port` is answered within `timeout` (for
/// the connection and again for the echo).
pub fn connects_within(from: &Netns, ip: Ipv4Addr, port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((ip, port));
    from.run(|| -> std::io::Result<bool> {
        let mut s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        Ok(b == *b"x")
    })
    .expect("a thread in the namespace")
    .unwrap_or(false)
}

/// A UDP echo server in `at` on `port`, answering until `stop` is set, for at most `lifetime`.
pub fn serve_udp(at: &Netns, port: u16, stop: Arc<AtomicBool>, lifetime: Duration) -> std::thread::JoinHandle<()> {
    let socket = at.run(|| UdpSocket::bind(("0.0.0.0", port))).expect("a thread in the namespace").expect("binding");
    socket.set_read_timeout(Some(Duration::from_millis(20))).expect("a timeout");
    std::thread::spawn(move || {
        let deadline = Instant::now() + lifetime;
        let mut b = [0u8; 8];
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            if let Ok((len, peer)) = socket.recv_from(&mut b) {
                let _ = socket.send_to(&b[..len], peer);
            }
        }
    })
}

/// Whether a UDP datagram from `from` to `ip:port` is echoed within 200 ms.
pub fn udp_answers(from: &Netns, ip: Ipv4Addr, port: u16) -> bool {
    from.run(|| -> std::io::Result<bool> {
        let s = UdpSocket::bind(("0.0.0.0", 0))?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        s.send_to(b"u", (ip, port))?;
        let mut b = [0u8; 8];
        let (len, _) = s.recv_from(&mut b)?;
        Ok(&b[..len] == b"u")
    })
    .expect("a thread in the namespace")
    .unwrap_or(false)
}
