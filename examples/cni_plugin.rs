//! A CNI 1.x plugin for ACK pod networking (Linux): the container runtime executes it with the
//! `CNI_*` environment and the network configuration on stdin; it asks the node agent
//! (`pod_network_agent`, over its Unix socket) for the pod's address and sets up the pod's
//! network namespace in Terway's veth policy-routing layout. Everything it does is
//! `ack_net_eni::cni` (ADD, DEL, CHECK, VERSION, GC, STATUS; the spec's errors on stdout).
//!
//! Install it as `/opt/cni/bin/ack-net` with a configuration such as
//! `/etc/cni/net.d/10-ack-net.conflist`:
//!
//! ```json
//! {"cniVersion": "1.1.0", "name": "ack-net",
//!  "plugins": [{"type": "ack-net", "agentSocket": "/run/ack-net/agent.sock", "agentTimeoutMs": 5000, "mtu": 1500}]}
//! ```
//!
//! By hand (the node agent listening):
//!
//! ```sh
//! cargo build --example cni_plugin
//! ip netns add demo
//! echo '{"cniVersion": "1.1.0", "name": "ack-net", "type": "ack-net"}' | \
//!   CNI_COMMAND=ADD CNI_CONTAINERID=demo CNI_NETNS=/var/run/netns/demo CNI_IFNAME=eth0 \
//!   CNI_ARGS='K8S_POD_NAMESPACE=default;K8S_POD_NAME=demo' target/debug/examples/cni_plugin
//! ```

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    ack_net_eni::cni::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    println!(r#"{{"cniVersion": "1.1.0", "code": 4, "msg": "this CNI plugin needs Linux"}}"#);
    std::process::ExitCode::FAILURE
}
