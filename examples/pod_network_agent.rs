//! A node agent on kube-rs: every pod scheduled on this node gets an address from the node's
//! warm `IpPool` (keyed by pod UID, journaled in a file), written back as the annotation
//! `k8s.ack-net.io/pod-network`; deleted pods give theirs back, and the pool's GC is fed with
//! the live pods. It serves the CNI plugin (`cni_plugin`) on a Unix socket
//! (`$ACK_NET_AGENT_SOCKET`, default `/run/ack-net/agent.sock`, owner-only): an ADD gets the
//! same address under the same UID key, a DEL gives it back.
//!
//! It needs a Kubernetes cluster (the current kubeconfig context, or in-cluster config) and
//! talks to the embedded mock cloud unless `ACK_NET_ENDPOINT` is set. The node is `$NODE_NAME`
//! (from the downward API), or the cluster's first node. Against a real account, name the
//! pods' network with `ACK_NET_VSWITCH_ID` and `ACK_NET_SECURITY_GROUP_ID`; the instance and
//! its type come from `ACK_NET_INSTANCE_ID` and `ACK_NET_INSTANCE_TYPE`, else from the Node
//! (its provider id and `node.kubernetes.io/instance-type` label). `deploy/pod-network-agent.yaml`
//! deploys it. Without a cluster it says so and exits.
//!
//! With `--testenv` it runs a scripted scenario instead, on a real kube-apiserver of its own
//! (`ack_net_k8s::testenv`) and the embedded mock: a Node, pods added (the scenario plays the
//! kubelet, writing their phase and IP through the status subresource, and the container
//! runtime's CNI plugin, asking the socket) and removed; it checks the annotations and the
//! pool's addresses at each step and fails if any is wrong (CI runs it).
//!
//! ```sh
//! NODE_NAME=cn-hangzhou.192.168.0.10 cargo run --example pod_network_agent
//! cargo run --example pod_network_agent -- --testenv
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use ack_net_eni::agent::{self, AgentClient, PodRef, PoolAgent};
use ack_net_eni::pool::{FileStore, IpPool, MemoryStore, PoolConfig, PoolOwner};
use ack_net_examples::{demo_network, wait_until, BoxError, Cloud};
use ack_net_k8s::pod::{PodNetworkAnnotation, PodNetworkReconciler};
use ack_net_k8s::testenv::TestEnv;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("set {name} to run against a real account").into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|a| a == "--testenv") {
        return scenario().await;
    }
    let kube = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            println!(
                "no Kubernetes cluster to watch ({e}); point KUBECONFIG at one to run the agent, or pass --testenv \
                 for the scripted scenario on a test API server"
            );
            return Ok(());
        }
    };
    let node = match std::env::var("NODE_NAME") {
        Ok(node) => node,
        Err(_) => {
            let nodes = Api::<Node>::all(kube.clone()).list(&ListParams::default().limit(1)).await?;
            nodes.items.into_iter().next().and_then(|n| n.metadata.name).ok_or("the cluster has no node")?
        }
    };
    let cloud = Cloud::connect().await?;
    let config = if cloud.mock.is_some() {
        demo_pool_config(&cloud, &node).await?
    } else {
        // The instance and its type: from the environment, else from the Node object (its
        // provider id `REGION.INSTANCE` and its instance-type label).
        let described = Api::<Node>::all(kube.clone()).get(&node).await?;
        let instance = env("ACK_NET_INSTANCE_ID").or_else(|e| {
            let provider = described.spec.as_ref().and_then(|s| s.provider_id.clone()).ok_or(e)?;
            Ok::<_, BoxError>(provider.rsplit('.').next().unwrap_or_default().to_owned())
        })?;
        let instance_type = env("ACK_NET_INSTANCE_TYPE").or_else(|e| {
            let labels = described.metadata.labels.as_ref();
            labels.and_then(|l| l.get("node.kubernetes.io/instance-type").cloned()).ok_or(e)
        })?;
        PoolConfig::new(
            PoolOwner { cluster_id: env("ACK_CLUSTER_ID")?, pool_id: node.clone() },
            instance.parse()?,
            instance_type.parse()?,
        )
        .vswitch(env("ACK_NET_VSWITCH_ID")?.parse()?)
        .security_group(env("ACK_NET_SECURITY_GROUP_ID")?.parse()?)
    };
    let journal = std::env::var("ACK_NET_POOL_JOURNAL").unwrap_or_else(|_| "ack-net-pool.json".to_owned());
    let store = Arc::new(FileStore::open(&journal).await?);
    let pool = IpPool::builder(config.warm_band(2, 8)).ecs(cloud.rpc.clone()).store(store).start().await?;
    let socket = std::env::var("ACK_NET_AGENT_SOCKET").unwrap_or_else(|_| agent::DEFAULT_SOCKET.to_owned());
    let listener = agent::bind(std::path::Path::new(&socket)).map_err(|e| {
        format!("the CNI socket {socket}: {e} (set ACK_NET_AGENT_SOCKET to a path this user may create)")
    })?;
    tokio::spawn(agent::serve(listener, Arc::new(PoolAgent::new(pool.clone()))));
    println!("pod network agent for node {node}: pool on {}, journal {journal}, CNI socket {socket}", cloud.describe());

    PodNetworkReconciler::new(kube, pool, node).run().await?;
    Ok(())
}

/// The pool of the examples' first node (the embedded mock has one, as a standalone mock
/// started with `--preload-instances`).
async fn demo_pool_config(cloud: &Cloud, node: &str) -> Result<PoolConfig, BoxError> {
    let net = demo_network(cloud, "ack-net-pod-agent").await?;
    let instance = net.node()?;
    Ok(PoolConfig::new(
        PoolOwner { cluster_id: "c-demo".into(), pool_id: node.to_owned() },
        instance.id.clone(),
        instance.instance_type.clone(),
    )
    .vswitches(net.vswitches.iter().map(|v| v.vswitch_id.clone()))
    .security_group(net.security_group.clone()))
}

/// The scripted scenario of `--testenv`: the agent against a test API server and the embedded
/// mock, the scenario playing the scheduler and the kubelet.
async fn scenario() -> Result<(), BoxError> {
    let env = TestEnv::start().await?;
    let kube = env.client().await?;
    let node = "node-0";
    Api::<Node>::all(kube.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": node}}))?)
        .await?;
    let cloud = Cloud::connect().await?;
    let config = demo_pool_config(&cloud, node).await?;
    let store = Arc::new(MemoryStore::new());
    let pool = IpPool::builder(config.warm_band(2, 8)).ecs(cloud.rpc.clone()).store(store).start().await?;
    // The CNI plugin's socket, in a directory of the scenario's own.
    let dir = std::env::temp_dir().join(format!("ack-net-pod-agent-{}", std::process::id()));
    let socket = dir.join("agent.sock");
    tokio::spawn(agent::serve(agent::bind(&socket)?, Arc::new(PoolAgent::new(pool.clone()))));
    let running = {
        let (kube, pool) = (kube.clone(), pool.clone());
        tokio::spawn(async move { PodNetworkReconciler::new(kube, pool, node).run().await.map_err(|e| e.to_string()) })
    };

    // Three pods scheduled on the node (and one elsewhere): each gets an address.
    let pods: Api<Pod> = Api::namespaced(kube.clone(), "default");
    let mut uids = Vec::new();
    for (name, on) in [("web-0", node), ("web-1", node), ("web-2", node), ("remote", "node-9")] {
        let pod = json!({"metadata": {"name": name},
                         "spec": {"nodeName": on, "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}});
        let created = pods.create(&PostParams::default(), &serde_json::from_value(pod)?).await?;
        uids.push(created.metadata.uid.ok_or("the server gave no uid")?);
    }
    let annotation = |name: &'static str| {
        let pods = pods.clone();
        async move { Ok::<_, BoxError>(pods.get(name).await.map(|p| PodNetworkAnnotation::of(&p))?) }
    };
    wait_until("addresses for the three pods", 60, || async {
        Ok(annotation("web-0").await?.is_some()
            && annotation("web-1").await?.is_some()
            && annotation("web-2").await?.is_some())
    })
    .await?;
    if annotation("remote").await?.is_some() {
        return Err("a pod of another node got an address".into());
    }
    let held: HashSet<String> = pool.pods();
    if held != uids[..3].iter().cloned().collect() {
        return Err(format!("the pool holds addresses for {held:?}").into());
    }
    // The kubelet starts them with those addresses (its runtime's CNI ADD gets the same one over
    // the socket); each is an address of one of the node's ENIs.
    let cni = AgentClient::new(&socket);
    for (name, uid) in ["web-0", "web-1", "web-2"].into_iter().zip(&uids) {
        let a = annotation(name).await?.ok_or("annotation gone")?;
        let ip = a.ipv4.addr();
        if !pool.addresses().iter().any(|(eni, held, _)| *eni == a.eni_id && *held == ip) {
            return Err(format!("{name}'s address {ip} is not on ENI {}", a.eni_id).into());
        }
        let pod = PodRef::new("default", name, &format!("sandbox-{name}"), "eth0").uid(uid);
        let added = cni.add(&pod).await?;
        if added.ipv4.addr() != ip || cni.get(&pod).await?.map(|n| n.ipv4) != Some(added.ipv4) {
            return Err(format!("the CNI ADD of {name} got {}, the annotation says {ip}", added.ipv4).into());
        }
        let status =
            json!({"status": {"phase": "Running", "podIP": ip.to_string(), "podIPs": [{"ip": ip.to_string()}]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await?;
        println!("pod default/{name}: {ip} on {}", a.eni_id);
    }

    // web-0 finishes, web-1 is deleted (the kubelet completes it at once): their addresses go back.
    let done = json!({"status": {"phase": "Succeeded"}});
    pods.patch_status("web-0", &PatchParams::default(), &Patch::Merge(&done)).await?;
    pods.delete("web-1", &DeleteParams::default().grace_period(0)).await?;
    let left: HashSet<String> = [uids[2].clone()].into();
    wait_until("the addresses of web-0 and web-1 released", 30, || async { Ok(pool.pods() == left) }).await?;
    // The rest go too.
    for name in ["web-0", "web-2", "remote"] {
        pods.delete(name, &DeleteParams::default().grace_period(0)).await?;
    }
    wait_until("every address released", 30, || async { Ok(pool.pods().is_empty()) }).await?;
    if running.is_finished() {
        return Err(format!("the agent stopped: {:?}", running.await).into());
    }
    running.abort();
    let _ = std::fs::remove_dir_all(&dir);
    println!("pods gone: every address released; the scenario passed");
    Ok(())
}
