//! NetworkPolicy enforcement in the kernel, measured in a user and network namespace sandbox on
//! the mock's fabric (no root, the host untouched):
//!
//! - programming a node's rules from scratch in a cluster of 1,000 pods (100 Kubernetes and 20
//!   Calico policies), the node hosting 110 of them, and all 1,000: [`load_table`], which
//!   builds the table in as many transactions as the sandbox's `nft` takes (it cannot raise its
//!   netlink socket's send buffer: `SO_SNDBUFFORCE` needs `CAP_NET_ADMIN` in the initial
//!   namespace, so a transaction is limited to the default 212,992 bytes, about 400 rules) and
//!   switches it in with one more. The sizes and transaction counts are printed;
//! - one pod added to the 110-pod node: rendering the cluster again and the update transaction
//!   (`NftTable::update_from`), and loading it;
//! - new TCP connections per second from one pod to another through a filter whose ingress
//!   allows 1, 100 or 1,000 peer addresses: the per-packet cost does not grow with the peers
//!   (they are one interval set).
//!
//! `cargo bench -p ack-net-k8s --bench netpol_datapath -- --warm-up-time 1 --measurement-time 3`
//! (needs `nft` and `ping`: `apt-get install nftables iputils-ping`).

#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the fabric tests")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the packet test")]
#[path = "../tests/netpol_support/mod.rs"]
mod netpol_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the engine benchmarks")]
mod netpol_world;

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the datapath benchmarks need Linux (network namespaces and nftables)");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = ack_net_mock::fabric::enter_sandbox() {
        eprintln!("cannot enter the namespace sandbox: {e}");
        std::process::exit(1);
    }
    let mut c = criterion::Criterion::default().configure_from_args();
    bench::program(&mut c);
    bench::probes(&mut c);
    c.final_summary();
}

#[cfg(target_os = "linux")]
mod bench {
    use std::hint::black_box;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, NftTable, Parsing};
    use ack_net_k8s::netpol::enforce::{load_table, RuleSink};
    use ack_net_k8s::netpol::PolicyEngine;
    use ack_net_mock::fabric::Netns;
    use criterion::Criterion;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    use crate::netpol_support::{connects, interface, serve, wire, Counting, InNode};
    use crate::netpol_world::{calico, cluster, from_json};

    const TABLE: &str = "ack_net_policy";
    /// The pods of the node that gets one more.
    const NODE_PODS: usize = 110;

    /// The rules of the node hosting the first `node_pods` pods of the cluster (and the added
    /// pod, if `pods` has it).
    fn table(
        pods: &[Pod],
        cluster: &crate::netpol_world::Cluster,
        calico: &[CalicoResource],
        node_pods: usize,
    ) -> NftTable {
        let kube = PolicyEngine::new(&cluster.namespaces, pods, &cluster.policies).expect("a valid cluster");
        let engine = CalicoEngine::new(kube, [], calico).expect("valid resources");
        let local: std::collections::HashSet<(String, String)> = pods[..node_pods]
            .iter()
            .chain(pods.get(cluster.pods.len()))
            .map(|p| (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default()))
            .collect();
        engine
            .compile()
            .nft_table(TABLE, |ns, name| local.contains(&(ns.to_owned(), name.to_owned())).then(|| interface(ns, name)))
    }

    pub fn program(c: &mut Criterion) {
        let cluster = cluster();
        let calico = calico();
        let node = Arc::new(Netns::new().expect("a node namespace"));
        let sink = Counting(InNode(node), AtomicUsize::new(0));
        let mut group = c.benchmark_group("netpol_datapath");
        group.sample_size(10);
        for node_pods in [NODE_PODS, 1_000] {
            let t = table(&cluster.pods, &cluster, &calico, node_pods);
            let text = t.to_text();
            sink.1.store(0, Ordering::Relaxed);
            load_table(&sink, &t).expect("loaded whole");
            eprintln!(
                "netpol_datapath: {node_pods} of 1,000 pods on the node: {} chains, {} sets, {} rules, {} bytes; loaded whole in {} transactions",
                t.chain_count(),
                t.set_count(),
                text.lines().filter(|l| l.starts_with("\t\t") && !l.contains("elements")).count(),
                text.len(),
                sink.1.load(Ordering::Relaxed)
            );
            group.bench_function(format!("program_node_{node_pods}_of_1000_pods_from_scratch"), |b| {
                b.iter(|| load_table(&sink, black_box(&t)).expect("loaded whole"));
            });
        }
        let before = table(&cluster.pods, &cluster, &calico, NODE_PODS);
        let mut pods = cluster.pods.clone();
        pods.push(from_json(json!({
            "metadata": {"namespace": "ns3", "name": "added", "labels": {"app": "app1", "tier": "be", "version": "v1"}},
            "spec": {"containers": [{"name": "main", "ports": [{"name": "http", "containerPort": 8001}]}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.250.250"}]}
        })));
        let after = table(&pods, &cluster, &calico, NODE_PODS);
        let loaded = load_table(&sink, &before).expect("loaded whole");
        let after_loaded = after.renamed(loaded.name());
        let (forward, back) = (after_loaded.update_from(&loaded), loaded.update_from(&after_loaded));
        eprintln!(
            "netpol_datapath: {NODE_PODS} of 1,000 pods on the node: {} bytes whole; one pod added: an update of {} lines, {} bytes",
            before.to_text().len(),
            forward.lines().count(),
            forward.len()
        );
        group.bench_function("render_and_diff_one_pod_added", |b| {
            b.iter(|| table(black_box(&pods), &cluster, &calico, NODE_PODS).update_from(&before).len());
        });
        let mut added = false;
        group.bench_function("load_update_one_pod_added", |b| {
            // Alternately adds and removes the pod: each iteration is one update transaction.
            b.iter(|| {
                sink.load(if added { &back } else { &forward }).expect("nft -f");
                added = !added;
            });
        });
        group.finish();
    }

    /// A table where `db`'s ingress allows `peers` addresses (web's among them).
    fn allowing(peers: usize, web: Ipv4Addr, db_pod: &Pod, web_pod: &Pod) -> NftTable {
        let mut nets = vec![format!("{web}/32")];
        nets.extend(
            (1..peers).map(|i| format!("{}/32", Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + i as u32))),
        );
        let policy = CalicoResource::from_value(
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
                   "metadata": {"name": "db", "namespace": "shop"},
                   "spec": {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"nets": nets}}]}}),
            Parsing::Strict,
        )
        .expect("a policy");
        let kube = PolicyEngine::new([], [db_pod, web_pod], []).expect("a cluster");
        let engine = CalicoEngine::new(kube, [], [&policy]).expect("an engine");
        engine.compile().nft_table(TABLE, |ns, name| Some(interface(ns, name)))
    }

    pub fn probes(c: &mut Criterion) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let n = rt.block_on(crate::fabric_support::Net::new());
        let (nets, nodes, pods) = rt.block_on(wire(&n, &[("web", 0), ("db", 0)]));
        let (web, db) = (nets[0].ipv4.addr(), nets[1].ipv4.addr());
        let pod = |name: &str, app: &str, ip: Ipv4Addr| -> Pod {
            from_json(json!({"metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                             "status": {"podIPs": [{"ip": ip.to_string()}]}}))
        };
        let (web_pod, db_pod) = (pod("web", "web", web), pod("db", "db", db));
        let stop = Arc::new(AtomicBool::new(false));
        // Bounded: ten minutes covers any measurement time given on the command line.
        let server = serve(&pods[1], 9000, stop.clone(), std::time::Duration::from_secs(600));
        let sink = InNode(nodes[0].clone());
        let mut group = c.benchmark_group("netpol_datapath_new_tcp_connection");
        for peers in [1, 100, 1_000] {
            sink.load(&allowing(peers, web, &db_pod, &web_pod).to_text()).expect("nft -f");
            assert!(connects(&pods[0], db, 9000), "web reaches db through the filter");
            group.bench_function(format!("allowed_peers_{peers}"), |b| {
                b.iter(|| assert!(connects(&pods[0], db, 9000)));
            });
        }
        group.finish();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = server.join();
    }
}
