//! Kubernetes' NetworkPolicy conformance table (`tests/netpol_conformance/`, upstream's
//! `network_policy.go` cases and reachability matrices) executed with packets: the case's pods
//! (`x/a` ... `z/c`) are network namespaces wired by the pod datapath on two nodes of the mock's
//! fabric (namespaces `x` and `z` on the first, `y` on the second, so that cross-namespace
//! traffic also crosses nodes), each serving TCP and UDP echo on ports 80 and 81. For every
//! state of every case, the tiered engine's rules are loaded into both nodes with `nft -f`,
//! and every (from, to) pair of every matrix is probed with a new connection (TCP) or datagram
//! (UDP): the answer must be upstream's. The SCTP cases are checked by the engine-level table
//! only (the sandbox's kernel may lack SCTP).
//!
//! `harness = false`: `main` enters the namespace sandbox first. Needs `nft` and `ping`.
//! Probes are bounded: 200 ms each, 16 at a time.

#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the engine-level table")]
#[path = "netpol_conformance/main.rs"]
mod conformance;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "the harness serves several test binaries")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the packet test")]
mod netpol_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    fabric_support::run(&[("upstream_matrices_hold_for_packets", |n| Box::pin(tests::matrices(n)))])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the conformance packet test needs Linux (network namespaces and nftables); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::collections::HashMap;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use ack_net_k8s::netpol::enforce::RuleSink;
    use ack_net_k8s::netpol::Protocol;

    use crate::conformance::{cases, engines, ADDRESSES, NAMESPACES};
    use crate::fabric_support::Net;
    use crate::netpol_support::{connects, interface, serve, serve_udp, udp_answers, wire, InNode};

    const PORTS: [u16; 2] = [80, 81];

    pub async fn matrices(n: Net) {
        let names: Vec<String> =
            NAMESPACES.iter().flat_map(|ns| ["a", "b", "c"].map(|p| format!("{ns}/{p}"))).collect();
        // The datapath keys pods `shop/<name>`: name them `x-a` ... there.
        let placement: Vec<(String, usize)> =
            names.iter().map(|full| (full.replace('/', "-"), usize::from(full.starts_with('y')))).collect();
        let borrowed: Vec<(&str, usize)> = placement.iter().map(|(n, i)| (n.as_str(), *i)).collect();
        let (nets, nodes, pods) = wire(&n, &borrowed).await;
        let addresses: HashMap<String, Ipv4Addr> =
            names.iter().cloned().zip(nets.iter().map(|n| n.ipv4.addr())).collect();
        ADDRESSES.set(addresses.clone()).expect("set once");
        let by_name: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();

        let stop = Arc::new(AtomicBool::new(false));
        let lifetime = Duration::from_secs(1800);
        let mut servers = Vec::new();
        for pod in &pods {
            for port in PORTS {
                servers.push(serve(pod, port, stop.clone(), lifetime));
                servers.push(serve_udp(pod, port, stop.clone(), lifetime));
            }
        }
        let nodes = &nodes[..2];
        let (mut matrices, mut probes, mut disagreements) = (0, 0, Vec::new());
        for case in cases().iter().filter(|c| !c.protocols.contains(&Protocol::Sctp)) {
            for snapshot in &case.snapshots {
                // The engine's rules, with every pod's interface named: each node's map only
                // matches the interfaces it has.
                let engine = engines(case, snapshot).calico;
                // The conformance pods are x/a...; the datapath keyed them shop/x-a...
                let text = engine
                    .compile()
                    .to_nftables("ack_net_policy", |ns, name| Some(interface("shop", &format!("{ns}-{name}"))));
                for node in nodes {
                    InNode(node.clone()).load(&text).expect("nft -f");
                }
                for probe in &snapshot.probes {
                    matrices += 1;
                    let by_name = &by_name;
                    let pairs: Vec<(usize, usize, bool)> = probe
                        .reach
                        .pods
                        .iter()
                        .enumerate()
                        .flat_map(|(i, from)| {
                            probe
                                .reach
                                .pods
                                .iter()
                                .enumerate()
                                .filter(move |(j, _)| *j != i)
                                .map(move |(j, to)| (by_name[from], by_name[to], probe.reach.expected[i][j]))
                        })
                        .collect();
                    let results: Vec<(usize, usize, bool, bool)> = tokio::task::block_in_place(|| {
                        std::thread::scope(|s| {
                            let handles: Vec<_> = pairs
                                .chunks(pairs.len().div_ceil(16).max(1))
                                .map(|chunk| {
                                    let pods = &pods;
                                    let addresses = &addresses;
                                    let names = &names;
                                    s.spawn(move || {
                                        chunk
                                            .iter()
                                            .map(|&(f, t, want)| {
                                                let ip = addresses[&names[t]];
                                                let got = match probe.protocol {
                                                    Protocol::Tcp => connects(&pods[f], ip, probe.port),
                                                    _ => udp_answers(&pods[f], ip, probe.port),
                                                };
                                                (f, t, want, got)
                                            })
                                            .collect::<Vec<_>>()
                                    })
                                })
                                .collect();
                            handles.into_iter().flat_map(|h| h.join().expect("a probe thread")).collect()
                        })
                    });
                    for (f, t, want, got) in results {
                        probes += 1;
                        if want != got {
                            disagreements.push(format!(
                                "{} [{}]: {} -> {} {}/{}: upstream expects {}, the kernel {}",
                                case.it,
                                snapshot.state,
                                names[f],
                                names[t],
                                probe.port,
                                probe.protocol,
                                if want { "allow" } else { "deny" },
                                if got { "allowed" } else { "denied" }
                            ));
                        }
                    }
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for server in servers {
            let _ = server.join();
        }
        println!("{matrices} upstream matrices, {probes} probes with packets");
        assert!(matrices > 40, "the table was executed");
        assert!(disagreements.is_empty(), "{} probes disagree:\n{}", disagreements.len(), disagreements.join("\n"));
    }
}
