//! A custom `type: LoadBalancer` Service controller on kube-rs: every Service in the cluster
//! gets a load balancer through ack-net's ServiceBinding (finalizer, plan and apply, status,
//! Events, backoff), with pod (ENI) backends resolved through ECS. Replicas elect a leader
//! through the Lease `kube-system/ack-net-service-controller`, so several can run.
//!
//! It needs a Kubernetes cluster (the current kubeconfig context, or in-cluster config) and
//! talks to the embedded mock cloud unless `ACK_NET_ENDPOINT` is set (`aliyun` for the real
//! one). Without a reachable cluster it says so and exits.
//!
//! With `ACK_NET_NAMING=ccm` it marks load balancers as ACK's own cloud controller manager
//! (CCM) does, so that it adopts those CCM made (give it the ACK cluster id) and CCM can take
//! over what it makes.
//!
//! ```sh
//! ACK_CLUSTER_ID=c-mine cargo run --example service_controller
//! ACK_CLUSTER_ID=c-0123456789abcdef ACK_NET_NAMING=ccm cargo run --example service_controller
//! ```

use std::sync::Arc;

use ack_net_eni::EcsClient;
use ack_net_examples::{BoxError, Cloud};
use ack_net_k8s::leader::{LeaderElector, LeaseConfig};
use ack_net_k8s::service::{ServiceConfig, ServiceReconciler};
use ack_net_slb::binding::Naming;
use ack_net_slb::SlbClient;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cluster_id = std::env::var("ACK_CLUSTER_ID").unwrap_or_else(|_| "c-ack-net-demo".to_owned());
    let naming = match std::env::var("ACK_NET_NAMING").as_deref() {
        Ok("ccm") => Naming::Ccm,
        Ok("ack-net") | Ok("") | Err(_) => Naming::AckNet,
        Ok(other) => return Err(format!("ACK_NET_NAMING={other:?}: expected ccm or ack-net").into()),
    };
    let kube = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            println!("no Kubernetes cluster to watch ({e}); point KUBECONFIG at one to run the controller");
            return Ok(());
        }
    };
    let cloud = Cloud::connect().await?;
    println!("Service controller for cluster {cluster_id}, load balancers on {}", cloud.describe());

    let lease = LeaseConfig::new("kube-system", "ack-net-service-controller", LeaseConfig::identity_from_env());
    let elector = LeaderElector::new(kube.clone(), lease)?;
    let cfg = ServiceConfig::new(cluster_id).with_naming(naming);
    let controller = ServiceReconciler::new(kube, SlbClient::new(cloud.rpc.clone()), cfg)
        .with_eni_lookup(Arc::new(EcsClient::new(cloud.rpc.clone())));
    // Runs while this replica leads; losing the Lease stops it with an error (and the process
    // exits, to be restarted as a candidate).
    elector.run(controller.run()).await??;
    Ok(())
}
