//! The hand-written NetworkPolicy truth table (`netpol_truth_table.rs`) executed with packets:
//! every address the table names (its pods', its nodes' 192.168.0.10 and .20, the outside
//! addresses of its rows) is a network namespace wired by the pod datapath on one node of the
//! mock's fabric, with the table's own address; for each case the tiered engine's rules are
//! loaded into the node with `nft -f` (every pod's interface mapped, so the egress of `ops/far`,
//! a pod of another node, is judged where its node would judge it), and every row is a new
//! TCP connection or UDP datagram that must pass exactly when the row says ALLOW.
//!
//! Rows that cannot be expressed with packets here, skipped and counted by reason:
//! - SCTP rows (the sandbox's kernel may lack SCTP; the engine-level table covers them);
//! - IPv6 rows (the fabric's pods are IPv4 only);
//! - rows from or to `prod/pending`, a pod without an address (nothing to send to or from).
//!
//! `harness = false`: `main` enters the namespace sandbox first. Needs `nft`, `ping` and `ip`.
//! Probes are bounded: 200 ms each.

#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "the harness serves several test binaries")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the packet test")]
mod netpol_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, unused_imports, reason = "the engine-level checks are its own tests")]
#[path = "netpol_truth_table.rs"]
mod truth_table;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    fabric_support::run(&[("truth_table_rows_hold_for_packets", |n| Box::pin(tests::rows(n)))])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the truth-table packet test needs Linux (network namespaces and nftables); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::net::{IpAddr, Ipv4Addr};
    use std::process::Command;
    use std::sync::Arc;

    use ack_net_eni::datapath::{self, PodInterface};
    use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource};
    use ack_net_k8s::netpol::enforce::RuleSink;
    use ack_net_k8s::netpol::Protocol;
    use ack_net_mock::fabric::Netns;
    use serde_json::Value;

    use crate::fabric_support::Net;
    use crate::netpol_support::{interface, tcp_probe_fast, udp_probe, wire, InNode};
    use crate::truth_table::{self, Check, Runner};

    /// Collects the literal addresses of the rows.
    #[derive(Default)]
    struct Addresses(RefCell<BTreeSet<Ipv4Addr>>);

    impl Runner for Addresses {
        fn run(&self, _case: &str, _policies: &[Value], checks: &[Check]) {
            for &(from, to, ..) in checks {
                for end in [from, to] {
                    if let Ok(ip) = end.parse::<Ipv4Addr>() {
                        self.0.borrow_mut().insert(ip);
                    }
                }
            }
        }
    }

    /// An end of a row on the fabric.
    enum End {
        /// The namespace with this address.
        At(Ipv4Addr),
        /// Not expressible with packets, and why.
        Skip(&'static str),
    }

    /// Executes rows with packets between the endpoints.
    struct Packets {
        node: Arc<Netns>,
        endpoints: HashMap<Ipv4Addr, Netns>,
        /// Each pod's IPv4 address (`None`: it has none), and whether it is on the host network.
        pods: HashMap<String, (Option<Ipv4Addr>, bool)>,
        probes: RefCell<usize>,
        skipped: RefCell<BTreeMap<&'static str, usize>>,
        disagreements: RefCell<Vec<String>>,
    }

    impl Packets {
        fn end(&self, end: &str) -> End {
            if end.contains('/') {
                return match self.pods[end] {
                    (Some(ip), _) => End::At(ip),
                    (None, _) => End::Skip("a pod without an address"),
                };
            }
            match end.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => End::At(ip),
                _ => End::Skip("IPv6 (the fabric's pods are IPv4 only)"),
            }
        }
    }

    /// The datapath's key of the endpoint with address `ip`.
    fn key(ip: Ipv4Addr) -> String {
        format!("tt/{ip}")
    }

    impl Runner for Packets {
        fn run(&self, case: &str, policies: &[Value], checks: &[Check]) {
            let (cluster, _) = truth_table::build(policies);
            let none: [CalicoResource; 0] = [];
            let engine = CalicoEngine::new(cluster, [], &none).expect("an engine");
            let table =
                engine.compile().nft_table("ack_net_policy", |ns, name| match self.pods[&format!("{ns}/{name}")] {
                    (Some(ip), false) => Some(interface("tt", &ip.to_string())),
                    _ => None,
                });
            InNode(self.node.clone()).load(&table.to_text()).expect("nft -f");
            for &(from, to, port, protocol, expected) in checks {
                let (from_ip, to_ip) = match (self.end(from), self.end(to), protocol) {
                    (_, _, Protocol::Sctp) => {
                        *self.skipped.borrow_mut().entry("SCTP (the sandbox's kernel may lack it)").or_default() += 1;
                        continue;
                    }
                    (End::Skip(why), _, _) | (_, End::Skip(why), _) => {
                        *self.skipped.borrow_mut().entry(why).or_default() += 1;
                        continue;
                    }
                    (End::At(f), End::At(t), _) => (f, t),
                };
                let (at, source) = (&self.endpoints[&to_ip], &self.endpoints[&from_ip]);
                let got = if protocol == Protocol::Udp {
                    udp_probe(source, at, to_ip, port)
                } else {
                    tcp_probe_fast(source, at, to_ip, port)
                };
                *self.probes.borrow_mut() += 1;
                if got != expected {
                    self.disagreements.borrow_mut().push(format!(
                        "{case}: {from} -> {to} {port}/{protocol}: the table says {}, the kernel {}",
                        if expected { "allow" } else { "deny" },
                        if got { "allowed" } else { "denied" }
                    ));
                }
            }
        }
    }

    pub async fn rows(n: Net) {
        let collected = Addresses::default();
        truth_table::every_case(&collected);
        let mut addresses = collected.0.into_inner();
        let mut pods = HashMap::new();
        for pod in truth_table::pods() {
            let ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ips.as_ref())
                .and_then(|ips| ips.iter().find_map(|ip| ip.ip.parse::<Ipv4Addr>().ok()));
            addresses.extend(ip);
            let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
            let name = format!(
                "{}/{}",
                pod.metadata.namespace.as_deref().unwrap_or_default(),
                pod.metadata.name.as_deref().unwrap_or_default()
            );
            pods.insert(name, (ip, host_network));
        }

        // One address from the pool gives the node's ENI, gateway and routes; every endpoint
        // is wired like a pod with its own address.
        let (nets, nodes, _anchor) = wire(&n, &[("anchor", 0)]).await;
        let node = nodes[0].clone();
        let mut endpoints = HashMap::new();
        for &ip in &addresses {
            let mut net = nets[0].clone();
            net.pod = key(ip);
            net.ipv4 = ipnet::Ipv4Net::new(ip, 32).expect("a /32");
            let ns = Netns::new().expect("an endpoint namespace");
            let iface = PodInterface::new(ns.path(), "eth0").expect("an interface");
            node.run(|| datapath::setup(&net, &iface)).expect("a thread in the node").expect("setup");
            // The runtime's part (CNI's loopback plugin): a pod reaches its own address over lo.
            let up = ns.output(Command::new("ip").args(["link", "set", "lo", "up"])).expect("running ip");
            assert!(up.status.success(), "lo up: {}", String::from_utf8_lossy(&up.stderr));
            endpoints.insert(ip, ns);
        }
        let packets = Packets {
            node,
            endpoints,
            pods,
            probes: RefCell::new(0),
            skipped: RefCell::default(),
            disagreements: RefCell::default(),
        };
        tokio::task::block_in_place(|| truth_table::every_case(&packets));
        let (probes, skipped) = (packets.probes.into_inner(), packets.skipped.into_inner());
        let disagreements = packets.disagreements.into_inner();
        println!("{probes} rows of the truth table probed with packets; not expressible: {skipped:?}");
        assert!(probes > 100, "the table was executed: {probes} rows");
        assert!(disagreements.is_empty(), "{} rows disagree:\n{}", disagreements.len(), disagreements.join("\n"));
    }
}
