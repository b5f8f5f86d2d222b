//! NetworkPolicies and Calico policies enforced with nftables, proven with packets: three pods
//! on a node of the mock's data plane (the pod datapath of ack-net-eni), the tiered engine's
//! compiled rules rendered by `CalicoRuleSet::to_nftables` and loaded with `nft -f` into the
//! node, then TCP and ICMP probes between the pods and to an instance in another VSwitch agree
//! with the policy engine, row by row; a reload is idempotent, and removing a policy takes
//! effect for new connections.
//!
//! `harness = false`: `main` enters the user and network namespace sandbox first. Needs `nft`
//! (nftables) and `ping` (iputils-ping). Every probe is bounded (one-second timeouts).

#[cfg(target_os = "linux")]
#[allow(dead_code)]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    fabric_support::run(&[("policies_hold_for_real_packets", |n| Box::pin(tests::policies(n)))])
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

    use ack_net_eni::datapath::{self, host_veth_name, PodInterface};
    use ack_net_eni::pod_network::PodNetwork;
    use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing, Traffic};
    use ack_net_k8s::netpol::{Peer, PolicyEngine};
    use ack_net_mock::fabric::Netns;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use serde_json::json;

    use crate::fabric_support::*;

    const PODS: [(&str, &str); 3] = [("web", "web"), ("db", "db"), ("batch", "batch")];
    const PORT: u16 = 8080;

    /// Kubernetes: only web reaches db, on 8080. Calico, before it (order 10): batch may not
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

    fn engine(nets: &[PodNetwork], node_ip: Ipv4Addr, instance: Ipv4Addr, with_egress_deny: bool) -> CalicoEngine {
        let pods: Vec<Pod> = PODS
            .iter()
            .zip(nets)
            .map(|((name, app), net)| {
                serde_json::from_value(json!({
                    "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                    "status": {"podIPs": [{"ip": net.ipv4.addr().to_string()}], "hostIPs": [{"ip": node_ip.to_string()}]}
                }))
                .expect("a pod")
            })
            .collect();
        let kube: NetworkPolicy = serde_json::from_value(json!({
            "metadata": {"namespace": "shop", "name": "db-from-web"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": PORT}]}]}
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

    fn load(node: &Netns, engine: &CalicoEngine) -> String {
        let text =
            engine.compile().to_nftables("ack_net_policy", |ns, name| Some(host_veth_name(&format!("{ns}/{name}"))));
        nft(node, &["-f", "-"], &text);
        nft(node, &["list", "table", "inet", "ack_net_policy"], "")
    }

    fn ping(from: &Netns, to: Ipv4Addr) -> bool {
        from.output(Command::new("ping").args(["-n", "-q", "-c1", "-W1", &to.to_string()]))
            .expect("running ping")
            .status
            .success()
    }

    pub async fn policies(n: Net) {
        let pool = n.pool(&n.nodes[0], "node-a").await;
        let mut nets = Vec::new();
        for (name, _) in PODS {
            nets.push(PodNetwork::setup(&pool, &format!("shop/{name}")).await.expect("an address"));
        }
        n.settle().await;
        let node = n.node(&n.nodes[0]);
        let pods: Vec<Netns> = PODS.iter().map(|_| Netns::new().expect("a pod namespace")).collect();
        for (net, pod) in nets.iter().zip(&pods) {
            let iface = PodInterface::new(pod.path(), "eth0").expect("an interface");
            node.run(|| datapath::setup(net, &iface)).expect("a thread in the node").expect("setup");
        }
        let instance = &n.nodes[2]; // in the other VSwitch: through the vRouter
        let ips: Vec<Ipv4Addr> = nets.iter().map(|n| n.ipv4.addr()).collect();
        // Before any policy: everything flows (the probes themselves work).
        assert!(tcp_probe(&pods[2], &pods[1], ips[1], PORT), "batch -> db before the policies");

        let engine = engine(&nets, n.nodes[0].ip, instance.ip, true);
        let listed = load(&node, &engine);
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
        let out = Peer::Ip(IpAddr::V4(instance.ip));
        assert!(!engine.allowed(peer(2), out, Traffic::tcp(PORT)).unwrap());
        assert!(!tcp_probe(&pods[2], &n.node(instance), instance.ip, PORT), "batch's egress to the instance is denied");
        assert!(tcp_probe(&pods[0], &n.node(instance), instance.ip, PORT), "web reaches the instance");

        // A reload of the same policies is the same ruleset.
        assert_eq!(load(&node, &engine), listed, "reloading is idempotent");

        // The global policy removed: batch's new connections to the instance pass.
        let without = self::engine(&nets, n.nodes[0].ip, instance.ip, false);
        load(&node, &without);
        assert!(without.allowed(peer(2), out, Traffic::tcp(PORT)).unwrap());
        assert!(tcp_probe(&pods[2], &n.node(instance), instance.ip, PORT), "after the policy went");
        assert!(!tcp_probe(&pods[2], &pods[1], ips[1], PORT), "db stays isolated");
    }
}
