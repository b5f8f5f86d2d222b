//! A node agent on kube-rs: every pod scheduled on this node gets an address from the node's
//! warm `IpPool` (keyed by pod UID, journaled in a file), written back as the annotation
//! `k8s.ack-net.io/pod-network` for the CNI plugin; deleted pods give theirs back, and the
//! pool's GC is fed with the live pods.
//!
//! It needs a Kubernetes cluster (the current kubeconfig context, or in-cluster config) and
//! talks to the embedded mock cloud unless `ACK_NET_ENDPOINT` is set. The node is `$NODE_NAME`
//! (from the downward API), or the cluster's first node. Against a real account, name the
//! instance and its network with `ACK_NET_INSTANCE_ID`, `ACK_NET_INSTANCE_TYPE`,
//! `ACK_NET_VSWITCH_ID` and `ACK_NET_SECURITY_GROUP_ID`. Without a cluster it says so and exits.
//!
//! ```sh
//! NODE_NAME=cn-hangzhou.192.168.0.10 cargo run --example pod_network_agent
//! ```

use std::sync::Arc;

use ack_net_eni::pool::{FileStore, IpPool, PoolConfig, PoolOwner};
use ack_net_examples::{demo_network, BoxError, Cloud, DEMO_INSTANCE_TYPE};
use ack_net_k8s::pod::PodNetworkReconciler;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("set {name} to run against a real account").into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let kube = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            println!("no Kubernetes cluster to watch ({e}); point KUBECONFIG at one to run the agent");
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
        let net = demo_network(&cloud, "ack-net-pod-agent").await?;
        let instance = net.node.clone().ok_or("the mock made no instance")?;
        PoolConfig::new(
            PoolOwner { cluster_id: "c-demo".into(), pool_id: node.clone() },
            instance.parse()?,
            DEMO_INSTANCE_TYPE.parse()?,
        )
        .vswitches(net.vswitches.iter().map(|v| v.vswitch_id.clone()))
        .security_group(net.security_group.clone())
    } else {
        PoolConfig::new(
            PoolOwner { cluster_id: env("ACK_CLUSTER_ID")?, pool_id: node.clone() },
            env("ACK_NET_INSTANCE_ID")?.parse()?,
            env("ACK_NET_INSTANCE_TYPE")?.parse()?,
        )
        .vswitch(env("ACK_NET_VSWITCH_ID")?.parse()?)
        .security_group(env("ACK_NET_SECURITY_GROUP_ID")?.parse()?)
    };
    let journal = std::env::var("ACK_NET_POOL_JOURNAL").unwrap_or_else(|_| "ack-net-pool.json".to_owned());
    let store = Arc::new(FileStore::open(&journal).await?);
    let pool = IpPool::builder(config.warm_band(2, 8)).ecs(cloud.rpc.clone()).store(store).start().await?;
    println!("pod network agent for node {node}: pool on {}, journal {journal}", cloud.describe());

    PodNetworkReconciler::new(kube, pool, node).run().await?;
    Ok(())
}
