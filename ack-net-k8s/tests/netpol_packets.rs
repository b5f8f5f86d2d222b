//! NetworkPolicies and Calico policies enforced with nftables, proven with packets: three pods
//! on a node of the mock's data plane (the pod datapath of ack-net-eni), the tiered engine's
//! compiled rules rendered by `CalicoRuleSet::to_nftables` and loaded with `nft -f` into the
//! node, then TCP and ICMP probes between the pods and to an instance in another VSwitch agree
//! with the policy engine, row by row; a reload is idempotent, and removing a policy takes
//! effect for new connections. Then the same with the `NetworkPolicyReconciler` running
//! against a real kube-apiserver (`ack_net_k8s::testenv`): policies created and deleted
//! through the API change which connections pass, and the time it takes is printed.
//!
//! `harness = false`: `main` finds the API server's programs, then enters the user and
//! network namespace sandbox. Needs `nft` (nftables), `ping` (iputils-ping) and the testenv's
//! Go build. Every probe is bounded (one-second timeouts, bounded retries).

#[cfg(target_os = "linux")]
mod apiserver;
#[cfg(target_os = "linux")]
#[allow(dead_code)]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the other packet tests")]
mod netpol_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with the benchmarks")]
#[path = "../benches/netpol_world/mod.rs"]
mod netpol_world;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    if !apiserver::binaries_before_sandbox() {
        return std::process::ExitCode::FAILURE;
    }
    fabric_support::run(&[
        ("policies_hold_for_real_packets", |n| Box::pin(tests::policies(n))),
        ("the_reconciler_keeps_the_rules_current", |n| Box::pin(tests::reconciled(n))),
        ("a_110_pod_node_loads_in_steps_without_a_window", |n| Box::pin(tests::many_pods(n))),
        ("log_rules_write_to_an_nflog_group", |n| Box::pin(tests::nflog(n))),
    ])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the NetworkPolicy packet tests need Linux (network namespaces and nftables); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::io::Write as _;
    use std::net::{IpAddr, Ipv4Addr};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use ack_net_eni::pod_network::PodNetwork;
    use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, LogTarget, NftTable, Parsing, Traffic};
    use ack_net_k8s::netpol::enforce::{load_table, EnforceError, NetworkPolicyReconciler, RuleSink};
    use ack_net_k8s::netpol::{Peer, PolicyEngine};
    use ack_net_k8s::testenv::TestEnv;
    use ack_net_mock::fabric::Netns;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use kube::api::{Api, DeleteParams};
    use serde_json::json;

    use crate::apiserver::{create, namespace, patch_status};
    use crate::fabric_support::*;
    use crate::netpol_support::*;

    /// (name, app label, node index): web and db on the first node, batch on the second (same
    /// VSwitch), so that batch's traffic crosses the fabric between nodes.
    const PODS: [(&str, &str, usize); 3] = [("web", "web", 0), ("db", "db", 0), ("batch", "batch", 1)];
    const PORT: u16 = 8080;

    /// Kubernetes: only web reaches db, on its port named `http` (8080). Calico, before it (order 10): batch may not
    /// ping web; a global policy denies batch's egress to the instance's address.
    fn calico(instance: Ipv4Addr, with_egress_deny: bool) -> String {
        let mut yaml = String::from(
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: no-ping-from-batch, namespace: shop}\n\
             spec:\n  order: 10\n  selector: app == 'web'\n  ingress:\n  \
             - {action: Deny, protocol: ICMP, source: {selector: app == 'batch'}}\n  - {action: Pass}\n",
        );
        if with_egress_deny {
            yaml.push_str(&format!(
                "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: batch-stays-in}}\n\
                 spec:\n  order: 20\n  selector: app == 'batch'\n  types: [Egress]\n  egress:\n  \
                 - {{action: Deny, destination: {{nets: ['{instance}/32']}}}}\n  - {{action: Allow}}\n"
            ));
        }
        yaml
    }

    fn engine(nets: &[PodNetwork], node_ips: &[Ipv4Addr], instance: Ipv4Addr, with_egress_deny: bool) -> CalicoEngine {
        let pods: Vec<Pod> = PODS
            .iter()
            .zip(nets)
            .map(|((name, app, node), net)| {
                serde_json::from_value(json!({
                    "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": PORT}]}]},
                    "status": {"podIPs": [{"ip": net.ipv4.addr().to_string()}], "hostIPs": [{"ip": node_ips[*node].to_string()}]}
                }))
                .expect("a pod")
            })
            .collect();
        let kube: NetworkPolicy = serde_json::from_value(json!({
            "metadata": {"namespace": "shop", "name": "db-from-web"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]}]}
        }))
        .expect("a policy");
        let cluster = PolicyEngine::new([], &pods, [&kube]).expect("a cluster");
        let resources =
            CalicoResource::from_yaml(&calico(instance, with_egress_deny), Parsing::Strict).expect("resources");
        CalicoEngine::new(cluster, [], &resources).expect("an engine")
    }

    fn nft(node: &Netns, args: &[&str], input: &str) -> String {
        let mut child = node
            .run(|| {
                Command::new("nft")
                    .args(args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
            })
            .expect("a thread in the node")
            .expect("running nft");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("writing the ruleset");
        let out = child.wait_with_output().expect("nft");
        assert!(out.status.success(), "nft {args:?}: {}\n{input}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn table(engine: &CalicoEngine) -> NftTable {
        engine.compile().nft_table("ack_net_policy", |ns, name| Some(interface(ns, name)))
    }

    /// Loads `text` into the nodes of the pods; the table as the first node's kernel lists it.
    fn load_text(nodes: &[Arc<Netns>], text: &str) -> String {
        for node in nodes {
            InNode(node.clone()).load(text).expect("nft -f");
        }
        nft(&nodes[0], &["list", "table", "inet", "ack_net_policy"], "")
    }

    /// Loads the whole table into the nodes (a node's map only ever matches its own pods'
    /// interfaces, so every node can take the same table).
    fn load(nodes: &[Arc<Netns>], engine: &CalicoEngine) -> String {
        load_text(nodes, &table(engine).to_text())
    }

    /// The kernel's listing as its sets, maps and chains, whatever their order.
    fn blocks(listing: &str) -> std::collections::BTreeSet<String> {
        let (mut out, mut block) = (std::collections::BTreeSet::new(), String::new());
        for line in listing.lines().filter(|l| !l.trim().is_empty()) {
            if line.starts_with("\t}") {
                out.insert(std::mem::take(&mut block));
            } else if line.starts_with('\t') {
                block.push_str(line.trim());
                block.push('\n');
            }
        }
        out
    }

    fn ping(from: &Netns, to: Ipv4Addr) -> bool {
        from.output(Command::new("ping").args(["-n", "-q", "-c1", "-W1", &to.to_string()]))
            .expect("running ping")
            .status
            .success()
    }

    pub async fn policies(n: Net) {
        let (nets, all_nodes, pods) = wire(&n, &PODS.map(|p| (p.0, p.2))).await;
        let nodes = &all_nodes[..2];
        let node_ips: Vec<Ipv4Addr> = n.nodes.iter().map(|n| n.ip).collect();
        let instance = &n.nodes[2]; // in the other VSwitch: through the vRouter
        let ips: Vec<Ipv4Addr> = nets.iter().map(|n| n.ipv4.addr()).collect();
        // Before any policy: everything flows (the probes themselves work).
        assert!(tcp_probe(&pods[2], &pods[1], ips[1], PORT), "batch -> db before the policies");

        let engine = engine(&nets, &node_ips, instance.ip, true);
        let listed = load(nodes, &engine);
        let peer = |i: usize| Peer::Ip(IpAddr::V4(ips[i]));
        // (from, to, what the policies say): the meaning of the policies above, written out.
        let tcp_rows = [
            (0, 1, true),  // web -> db:8080, the Kubernetes policy allows
            (2, 1, false), // batch -> db, db is isolated
            (1, 0, true),  // db -> web: web's Calico policy passes TCP to the default tier, where nothing selects web
            (2, 0, true),  // batch -> web on TCP: only ICMP is denied
            (0, 2, true),  // batch is not isolated for ingress
        ];
        for (from, to, expected) in tcp_rows {
            assert_eq!(
                engine.allowed(peer(from), peer(to), Traffic::tcp(PORT)).unwrap(),
                expected,
                "engine {from}->{to}"
            );
            assert_eq!(tcp_probe(&pods[from], &pods[to], ips[to], PORT), expected, "TCP {from} -> {to}\n{listed}");
        }
        let icmp_rows = [(2, 0, false), (1, 0, true), (0, 2, true), (0, 1, false)];
        for (from, to, expected) in icmp_rows {
            assert_eq!(
                engine.allowed(peer(from), peer(to), Traffic::icmp(8, 0)).unwrap(),
                expected,
                "engine icmp {from}->{to}"
            );
            assert_eq!(ping(&pods[from], ips[to]), expected, "ping {from} -> {to}\n{listed}");
        }
        // UDP: db's policy names TCP 8080 only; web's Calico policy denies only ICMP.
        let udp_rows = [(0, 1, false), (2, 0, true), (1, 2, true), (2, 1, false)];
        for (from, to, expected) in udp_rows {
            assert_eq!(
                engine.allowed(peer(from), peer(to), Traffic::udp(PORT)).unwrap(),
                expected,
                "engine udp {from}->{to}"
            );
            assert_eq!(udp_probe(&pods[from], &pods[to], ips[to], PORT), expected, "UDP {from} -> {to}\n{listed}");
        }
        let out = Peer::Ip(IpAddr::V4(instance.ip));
        assert!(!engine.allowed(peer(2), out, Traffic::tcp(PORT)).unwrap());
        assert!(!tcp_probe(&pods[2], &n.node(instance), instance.ip, PORT), "batch's egress to the instance is denied");
        assert!(tcp_probe(&pods[0], &n.node(instance), instance.ip, PORT), "web reaches the instance");

        // A reload of the same policies is the same ruleset.
        assert_eq!(load(nodes, &engine), listed, "reloading is idempotent");

        // The global policy removed, as an update of what changed: batch's new connections to
        // the instance pass; the kernel's table is the one a whole load gives.
        let without = self::engine(&nets, &node_ips, instance.ip, false);
        let update = table(&without).update_from(&table(&engine));
        assert!(!update.contains("table inet"), "an update, not a replacement: {update}");
        let updated = load_text(nodes, &update);
        assert_eq!(blocks(&updated), blocks(&load(nodes, &without)), "update:\n{update}");
        // And back: the update that adds the global policy again equals the whole table.
        let updated = load_text(nodes, &table(&engine).update_from(&table(&without)));
        assert_eq!(blocks(&updated), blocks(&listed), "updating back");
        load_text(nodes, &update);
        assert!(without.allowed(peer(2), out, Traffic::tcp(PORT)).unwrap());
        assert!(tcp_probe(&pods[2], &n.node(instance), instance.ip, PORT), "after the policy went");
        assert!(!tcp_probe(&pods[2], &pods[1], ips[1], PORT), "db stays isolated");
    }

    /// Polls `probe` every 20 ms until it answers `want`, at most 250 times; the time it took.
    fn until_probe(want: bool, mut probe: impl FnMut() -> bool) -> Option<Duration> {
        let start = Instant::now();
        for _ in 0..250 {
            if probe() == want {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub async fn reconciled(n: Net) {
        let (nets, nodes, pods) = wire(&n, &PODS.map(|p| (p.0, p.2))).await;
        let env = TestEnv::start_with(crate::apiserver::binaries()).await.expect("the API server");
        let client = env.client().await.expect("a client");
        namespace(&client, "shop").await;
        let api: Api<Pod> = Api::namespaced(client.clone(), "shop");
        for ((name, app, node), net) in PODS.iter().zip(&nets) {
            let spec = json!({"nodeName": format!("node-{node}"),
                              "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]});
            create(api.clone(), json!({"metadata": {"name": name, "labels": {"app": app}}, "spec": spec})).await;
            let ip = net.ipv4.addr().to_string();
            patch_status(&api, name, json!({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})).await;
        }
        // One agent per node, each filtering its own pods.
        let agents: Vec<_> = [0, 1]
            .into_iter()
            .map(|i| {
                let reconciler = NetworkPolicyReconciler::new(client.clone(), format!("node-{i}"), |pod| {
                    Some(interface(pod.metadata.namespace.as_deref()?, pod.metadata.name.as_deref()?))
                })
                .with_sink(InNode(nodes[i].clone()));
                tokio::spawn(reconciler.run())
            })
            .collect();
        let ips: Vec<Ipv4Addr> = nets.iter().map(|n| n.ipv4.addr()).collect();
        let (web, db, batch) = (&pods[0], &pods[1], &pods[2]);
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(db, PORT + 1, stop.clone(), Duration::from_secs(60));
        let probes = |from: &Netns| connects(from, ips[1], PORT + 1);
        assert!(until_probe(true, || probes(batch)).is_some(), "batch -> db before any policy");

        // Created through the API: only web may reach db. The probes run on a blocking thread.
        let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "shop");
        create(
            policies.clone(),
            json!({"metadata": {"name": "db-from-web"},
                   "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}}),
        )
        .await;
        let took = tokio::task::block_in_place(|| until_probe(false, || probes(batch)));
        let took = took.expect("batch -> db denied after the policy was created (bounded probes)");
        println!("a created policy denied new connections after {} ms", took.as_millis());
        assert!(tokio::task::block_in_place(|| probes(web)), "web -> db still allowed");

        // Deleted through the API: batch's new connections pass again.
        policies.delete("db-from-web", &DeleteParams::default()).await.expect("delete");
        let took = tokio::task::block_in_place(|| until_probe(true, || probes(batch)));
        let took = took.expect("batch -> db allowed after the policy was deleted (bounded probes)");
        println!("a deleted policy stopped denying after {} ms", took.as_millis());

        // batch's egress closed (enforced by the other node's agent), then opened again.
        create(
            policies.clone(),
            json!({"metadata": {"name": "batch-no-egress"},
                   "spec": {"podSelector": {"matchLabels": {"app": "batch"}}, "policyTypes": ["Egress"]}}),
        )
        .await;
        let took = tokio::task::block_in_place(|| until_probe(false, || probes(batch)));
        took.expect("batch's egress denied on its node (bounded probes)");
        assert!(tokio::task::block_in_place(|| probes(web)), "web -> db unaffected");
        policies.delete("batch-no-egress", &DeleteParams::default()).await.expect("delete");
        let took = tokio::task::block_in_place(|| until_probe(true, || probes(batch)));
        took.expect("batch's egress open again (bounded probes)");
        stop.store(true, Ordering::Relaxed);
        server.join().expect("the server");
        for agent in agents {
            agent.abort();
        }
    }

    /// Passes loads to a node until `left` of them were made, then fails them: an agent that
    /// stops half way.
    struct Stops {
        node: InNode,
        left: std::sync::atomic::AtomicUsize,
    }

    impl RuleSink for Stops {
        fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
            if self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1)).is_err() {
                return Err(EnforceError::Load { reason: "the agent stopped".into() });
            }
            self.node.load(ruleset)
        }

        fn in_force(&self, table: &str) -> Result<bool, EnforceError> {
            self.node.in_force(table)
        }
    }

    /// The benchmarks' cluster of 1,000 pods (100 Kubernetes and 20 Calico policies) with the
    /// three fabric pods in namespace `shop`, where db takes connections from the apps
    /// `allowed`; the table of the first node, which hosts web, db and 108 of the 1,000 pods.
    fn hundred_and_ten(nets: &[PodNetwork], allowed: &[&str]) -> NftTable {
        let world = crate::netpol_world::cluster();
        let mut namespaces = world.namespaces.clone();
        namespaces.push(serde_json::from_value(json!({"metadata": {"name": "shop"}})).expect("a namespace"));
        let mut pods = world.pods.clone();
        for ((name, app, _), net) in PODS.iter().zip(nets) {
            pods.push(
                serde_json::from_value(json!({
                    "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                    "status": {"podIPs": [{"ip": net.ipv4.addr().to_string()}]}
                }))
                .expect("a pod"),
            );
        }
        let mut policies = world.policies.clone();
        policies.push(
            serde_json::from_value(json!({
                "metadata": {"namespace": "shop", "name": "db"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                         "ingress": [{"from": [{"podSelector": {"matchExpressions": [
                             {"key": "app", "operator": "In", "values": allowed}]}}]}]}
            }))
            .expect("a policy"),
        );
        let kube = PolicyEngine::new(&namespaces, &pods, &policies).expect("a cluster");
        let engine = CalicoEngine::new(kube, [], &crate::netpol_world::calico()).expect("an engine");
        let here: std::collections::HashSet<(String, String)> = world.pods[..108]
            .iter()
            .map(|p| (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default()))
            .chain([("shop".to_owned(), "web".to_owned()), ("shop".to_owned(), "db".to_owned())])
            .collect();
        engine.compile().nft_table("ack_net_policy", |ns, name| {
            here.contains(&(ns.to_owned(), name.to_owned())).then(|| interface(ns, name))
        })
    }

    /// The policy tables of a node, as `nft list tables` names them.
    fn tables(node: &Netns) -> Vec<String> {
        let listing = nft(node, &["list", "tables"], "");
        listing.lines().map(|l| l.trim().to_owned()).filter(|l| l.starts_with("table inet ack_net_policy")).collect()
    }

    pub async fn many_pods(n: Net) {
        let (nets, nodes, pods) = wire(&n, &PODS.map(|p| (p.0, p.2))).await;
        let node = &nodes[0];
        let db = nets[1].ipv4.addr();
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&pods[1], PORT, stop.clone(), Duration::from_secs(300));
        let (web, batch) = (&pods[0], &pods[2]);
        tokio::task::block_in_place(|| {
            let table = hundred_and_ten(&nets, &["web"]);
            let text = table.to_text();
            let rules = text.lines().filter(|l| l.starts_with("\t\t") && !l.contains("elements")).count();
            assert!(table.chain_count() > 2 * 100, "{} chains", table.chain_count());
            let counting = Counting(InNode(node.clone()), 0.into());
            let started = Instant::now();
            let loaded = load_table(&counting, &table).expect("110 pods loaded");
            println!(
                "110 pods on the node: {} chains, {rules} rules, {} bytes, loaded whole in {} transactions, {} ms",
                table.chain_count(),
                text.len(),
                counting.1.load(Ordering::SeqCst),
                started.elapsed().as_millis()
            );
            assert_eq!(loaded.name(), "ack_net_policy", "nothing was in force: the table's own name");
            assert_eq!(tables(node), ["table inet ack_net_policy"]);
            assert!(connects(web, db, PORT), "web -> db allowed");
            assert!(!connects(batch, db, PORT), "batch -> db denied");

            // Whole reloads (an agent restarting) while batch keeps trying: never a moment in
            // which its connection passes. Three probes at a time, each waiting 25 ms.
            let (reloading, passed, probed) = (AtomicBool::new(true), AtomicBool::new(false), AtomicUsize::new(0));
            let mut names = Vec::new();
            std::thread::scope(|scope| {
                for _ in 0..3 {
                    scope.spawn(|| {
                        // Bounded: 2,000 probes of at most 50 ms each per thread.
                        for _ in 0..2_000 {
                            if !reloading.load(Ordering::SeqCst) {
                                break;
                            }
                            if connects_within(batch, db, PORT, Duration::from_millis(25)) {
                                passed.store(true, Ordering::SeqCst);
                            }
                            probed.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
                for _ in 0..4 {
                    names.push(load_table(&InNode(node.clone()), &table).expect("reloaded").name().to_owned());
                }
                reloading.store(false, Ordering::SeqCst);
            });
            assert!(!passed.load(Ordering::SeqCst), "batch -> db passed during a reload");
            println!("{} denied probes during 4 whole reloads of the 110-pod table", probed.load(Ordering::SeqCst));
            assert!(probed.load(Ordering::SeqCst) >= 12, "the probes ran during the reloads");
            assert_eq!(names, ["ack_net_policy_twin", "ack_net_policy", "ack_net_policy_twin", "ack_net_policy"]);
            assert!(connects(web, db, PORT), "web -> db allowed after the reloads");

            // The agent stops after two transactions of a load that would let batch in: the old
            // rules stay in force, the half-built table is inert.
            let open = hundred_and_ten(&nets, &["web", "batch"]);
            let stops = Stops { node: InNode(node.clone()), left: 2.into() };
            load_table(&stops, &open).expect_err("stopped half way");
            assert_eq!(tables(node), ["table inet ack_net_policy", "table inet ack_net_policy_twin"]);
            assert!(
                !counting.in_force("ack_net_policy_twin").expect("listed"),
                "the half-built table has no base chain"
            );
            assert!(!connects(batch, db, PORT), "batch -> db still denied: the old rules are in force");
            assert!(connects(web, db, PORT), "web -> db still allowed");

            // Restarted: the half-built table is rebuilt and switched in; batch gets in.
            let loaded = load_table(&InNode(node.clone()), &open).expect("loaded after the restart");
            assert_eq!(loaded.name(), "ack_net_policy_twin");
            assert_eq!(tables(node), ["table inet ack_net_policy_twin"]);
            assert!(until_probe(true, || connects(batch, db, PORT)).is_some(), "batch -> db allowed by the new rules");

            // Updates stay incremental: back to web only is one transaction on the table in force.
            let update = table.renamed(loaded.name()).update_from(&loaded);
            assert!(!update.contains("table inet"), "an update, not a replacement: {update}");
            InNode(node.clone()).load(&update).expect("one update transaction");
            assert!(!connects(batch, db, PORT), "batch -> db denied after the update");
            assert!(connects(web, db, PORT), "web -> db allowed after the update");
        });
        stop.store(true, Ordering::Relaxed);
        server.join().expect("the server");
    }

    /// An NFLOG group bound on a `NETLINK_NETFILTER` socket of a namespace: the messages of
    /// `nfnetlink_log` (`include/uapi/linux/netfilter/nfnetlink_log.h`), built and read by hand.
    struct Nflog(netlink_sys::Socket);

    impl Nflog {
        /// `NFNL_SUBSYS_ULOG << 8`.
        const ULOG: u16 = 4 << 8;

        fn bind(node: &Netns, group: u16) -> Nflog {
            let socket = node
                .run(|| netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER))
                .expect("a thread in the node")
                .expect("a NETLINK_NETFILTER socket");
            let mut socket = Nflog(socket);
            socket.0.bind_auto().expect("bound");
            // NFULNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK; nfgenmsg (AF_UNSPEC, v0, the group
            // big-endian); NFULA_CFG_CMD = NFULNL_CFG_CMD_BIND.
            let mut message = Vec::new();
            message.extend_from_slice(&28u32.to_ne_bytes());
            message.extend_from_slice(&(Self::ULOG | 1).to_ne_bytes());
            message.extend_from_slice(&(1u16 | 4).to_ne_bytes());
            message.extend_from_slice(&[0; 8]); // sequence, port
            message.extend_from_slice(&[0, 0]);
            message.extend_from_slice(&group.to_be_bytes());
            message.extend_from_slice(&5u16.to_ne_bytes());
            message.extend_from_slice(&1u16.to_ne_bytes());
            message.extend_from_slice(&[1, 0, 0, 0]);
            socket.0.send(&message, 0).expect("sent the bind");
            let ack = socket.next(Duration::from_secs(1)).expect("an answer to the bind");
            // NLMSG_ERROR with error 0.
            assert_eq!(u16::from_ne_bytes([ack[4], ack[5]]), 2, "an ack: {ack:?}");
            assert_eq!(i32::from_ne_bytes([ack[16], ack[17], ack[18], ack[19]]), 0, "binding the group: {ack:?}");
            socket
        }

        /// The next message, waiting at most `wait` (polled every 10 ms).
        fn next(&self, wait: Duration) -> Option<Vec<u8>> {
            self.0.set_non_blocking(true).expect("non-blocking");
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                let mut buf = Vec::with_capacity(65_536);
                match self.0.recv(&mut buf, 0) {
                    Ok(_) => return Some(buf),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            None
        }

        /// The prefixes (NFULA_PREFIX) of the packets logged within `wait`.
        fn prefixes(&self, wait: Duration) -> Vec<String> {
            let mut out = Vec::new();
            let deadline = Instant::now() + wait;
            while let Some(buf) = self.next(deadline.saturating_duration_since(Instant::now())) {
                let mut at = 0;
                while at + 20 <= buf.len() {
                    let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
                    let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                    if len < 20 || at + len > buf.len() {
                        break;
                    }
                    // NFULNL_MSG_PACKET: attributes after the header and the nfgenmsg.
                    let mut a = at + 20;
                    while kind == Self::ULOG && a + 4 <= at + len {
                        let alen = usize::from(u16::from_ne_bytes([buf[a], buf[a + 1]]));
                        let atype = u16::from_ne_bytes([buf[a + 2], buf[a + 3]]) & 0x3fff;
                        if alen < 4 || a + alen > at + len {
                            break;
                        }
                        if atype == 10 {
                            let text = &buf[a + 4..a + alen];
                            let text = text.split(|b| *b == 0).next().unwrap_or_default();
                            out.push(String::from_utf8_lossy(text).into_owned());
                        }
                        a += alen.div_ceil(4) * 4;
                    }
                    at += len.div_ceil(4) * 4;
                }
            }
            out
        }
    }

    pub async fn nflog(n: Net) {
        let (nets, nodes, pods) = wire(&n, &PODS.map(|p| (p.0, p.2))).await;
        let db = nets[1].ipv4.addr();
        let pod_objects: Vec<Pod> = PODS
            .iter()
            .zip(&nets)
            .map(|((name, app, _), net)| {
                serde_json::from_value(json!({
                    "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                    "status": {"podIPs": [{"ip": net.ipv4.addr().to_string()}]}
                }))
                .expect("a pod")
            })
            .collect();
        let calico = CalicoResource::from_yaml(
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
             spec:\n  selector: app == 'db'\n  ingress:\n  - {action: Log, source: {selector: app == 'web'}}\n  \
             - {action: Allow}\n",
            Parsing::Strict,
        )
        .expect("a policy");
        let engine = CalicoEngine::new(PolicyEngine::new([], &pod_objects, []).expect("a cluster"), [], &calico)
            .expect("an engine");
        let table = engine
            .compile()
            .nft_table_logging("ack_net_policy", LogTarget::Nflog(7), |ns, name| Some(interface(ns, name)));
        let text = table.to_text();
        let prefix = text
            .split("log prefix \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("a log rule: {text}"))
            .to_owned();
        let node = &nodes[0];
        load_table(&InNode(node.clone()), &table).expect("loaded");
        let stop = Arc::new(AtomicBool::new(false));
        let server = serve(&pods[1], PORT, stop.clone(), Duration::from_secs(60));
        tokio::task::block_in_place(|| {
            let log = Nflog::bind(node, 7);
            assert!(connects(&pods[2], db, PORT), "batch -> db: allowed, not logged");
            assert!(connects(&pods[0], db, PORT), "web -> db: logged, then allowed");
            // The kernel sends a group's messages when 100 wait or after one second.
            let prefixes = log.prefixes(Duration::from_millis(2_500));
            // The SYN is logged (later packets are established and never reach the chain).
            assert_eq!(prefixes, [prefix], "what NFLOG group 7 received");
            println!("NFLOG group 7 received {prefixes:?}");
        });
        stop.store(true, Ordering::Relaxed);
        server.join().expect("the server");
    }
}
