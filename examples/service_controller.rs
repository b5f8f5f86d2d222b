//! A custom `type: LoadBalancer` Service controller on kube-rs: every Service in the cluster
//! gets a load balancer through ack-net's ServiceBinding (finalizer, plan and apply, status,
//! Events, backoff), with pod (ENI) backends resolved through ECS. Replicas elect a leader
//! through the Lease `ack-net-service-controller` in `$POD_NAMESPACE` (default `kube-system`),
//! so several can run; `deploy/service-controller.yaml` deploys it.
//!
//! It needs a Kubernetes cluster (the current kubeconfig context, or in-cluster config) and
//! talks to the embedded mock cloud unless `ACK_NET_ENDPOINT` is set (`aliyun` for the real
//! one). Without a reachable cluster it says so and exits.
//!
//! With `--testenv` it runs a scripted scenario instead, on a real kube-apiserver of its own
//! (`ack_net_k8s::testenv`) and the embedded mock: two Nodes, a Service with EndpointSlices
//! whose pods come and go, then the Service deleted; it checks the load balancer, the
//! Service's status and finalizer at each step and fails if any is wrong (CI runs it).
//!
//! With `ACK_NET_NAMING=ccm` it marks load balancers as ACK's own cloud controller manager
//! (CCM) does, so that it adopts those CCM made (give it the ACK cluster id) and CCM can take
//! over what it makes.
//!
//! ```sh
//! ACK_CLUSTER_ID=c-mine cargo run --example service_controller
//! ACK_CLUSTER_ID=c-0123456789abcdef ACK_NET_NAMING=ccm cargo run --example service_controller
//! cargo run --example service_controller -- --testenv
//! ```

use std::sync::Arc;

use ack_net_core::RpcClient;
use ack_net_eni::EcsClient;
use ack_net_examples::{demo_network, wait_until, BoxError, Cloud, DEMO_INSTANCE_TYPE};
use ack_net_k8s::service::{ServiceConfig, ServiceReconciler, FINALIZER};
use ack_net_k8s::testenv::TestEnv;
use ack_net_slb::binding::Naming;
use ack_net_slb::SlbClient;
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cluster_id = std::env::var("ACK_CLUSTER_ID").unwrap_or_else(|_| "c-ack-net-demo".to_owned());
    let naming = match std::env::var("ACK_NET_NAMING").as_deref() {
        Ok("ccm") => Naming::Ccm,
        Ok("ack-net") | Ok("") | Err(_) => Naming::AckNet,
        Ok(other) => return Err(format!("ACK_NET_NAMING={other:?}: expected ccm or ack-net").into()),
    };
    if std::env::args().any(|a| a == "--testenv") {
        return scenario(&cluster_id, naming).await;
    }
    let Some(kube) = ack_net_examples::cluster_or_explain().await else { return Ok(()) };
    let cloud = Cloud::connect().await?;
    println!("Service controller for cluster {cluster_id}, load balancers on {}", cloud.describe());
    controller(kube, cloud.rpc, &cluster_id, naming).await
}

/// The controller: runs while this replica leads; losing the Lease stops it with an error (and
/// the process exits, to be restarted as a candidate).
async fn controller(kube: kube::Client, rpc: RpcClient, cluster_id: &str, naming: Naming) -> Result<(), BoxError> {
    let elector = ack_net_examples::leader_elector(kube.clone(), "ack-net-service-controller")?;
    let cfg = ServiceConfig::new(cluster_id).with_naming(naming);
    let controller =
        ServiceReconciler::new(kube, SlbClient::new(rpc.clone()), cfg).with_eni_lookup(Arc::new(EcsClient::new(rpc)));
    elector.run(controller.run()).await??;
    Ok(())
}

/// The scripted scenario of `--testenv`: the controller against a test API server and the
/// embedded mock, the test playing the kubelets and the EndpointSlice controller.
async fn scenario(cluster_id: &str, naming: Naming) -> Result<(), BoxError> {
    let env = TestEnv::start().await?;
    let kube = env.client().await?;
    let cloud = Cloud::connect_with(None, "cn-hangzhou", None).await?;
    let mock = cloud.mock.as_ref().ok_or("the scenario runs on the embedded mock")?;
    let net = demo_network(&cloud, "ack-net-service-controller").await?;
    let mut instances = vec![net.node.clone().ok_or("the mock made no node")?];
    let second = mock.create_instance(ack_net_mock::InstanceSeed {
        region_id: "cn-hangzhou".into(),
        zone_id: net.vswitches[0].zone_id.to_string(),
        instance_type: DEMO_INSTANCE_TYPE.into(),
        vswitch_id: net.vswitches[0].vswitch_id.to_string(),
        security_group_ids: vec![net.security_group.to_string()],
        instance_id: None,
    })?;
    instances.push(second["InstanceId"].as_str().ok_or("the mock did not name the instance")?.to_owned());

    // Two Ready Nodes, as their kubelets would register them.
    let nodes: Api<Node> = Api::all(kube.clone());
    for (i, instance) in instances.iter().enumerate() {
        let name = format!("node-{i}");
        let node = json!({"metadata": {"name": name}, "spec": {"providerID": format!("cn-hangzhou.{instance}")}});
        nodes.create(&PostParams::default(), &serde_json::from_value(node)?).await?;
        let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(&ready)).await?;
    }
    println!("Service controller for cluster {cluster_id}, load balancers on {}", cloud.describe());
    let running = {
        let (kube, rpc, cluster_id) = (kube.clone(), cloud.rpc.clone(), cluster_id.to_owned());
        tokio::spawn(async move { controller(kube, rpc, &cluster_id, naming).await.map_err(|e| e.to_string()) })
    };

    // A Service whose pods run on node-0 only (externalTrafficPolicy Local).
    Api::<Namespace>::all(kube.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "shop"}}))?)
        .await?;
    let services: Api<Service> = Api::namespaced(kube.clone(), "shop");
    let service = json!({
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    });
    services.create(&PostParams::default(), &serde_json::from_value(service)?).await?;
    let slices: Api<EndpointSlice> = Api::namespaced(kube.clone(), "shop");
    let pods_on = |nodes: &[&str]| -> Result<EndpointSlice, BoxError> {
        let endpoints: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| json!({"addresses": [format!("10.9.0.{}", i + 1)], "nodeName": node, "conditions": {"ready": true}}))
            .collect();
        Ok(serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": endpoints
        }))?)
    };
    let apply = PatchParams::apply("endpointslice-controller").force();
    slices.patch("web-1", &apply, &Patch::Apply(pods_on(&["node-0"])?)).await?;

    // The load balancer, its backends (the nodes with pods), the address in the status.
    let backends = || -> Vec<String> {
        let dump = mock.with_state(|s| s.slb.dump());
        let mut ids: Vec<String> = dump["VServerGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["backends"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["server_id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    let load_balancers = || mock.with_state(|s| s.slb.dump())["LoadBalancers"].as_array().map_or(0, Vec::len);
    let node_ids = |of: &[usize]| -> Vec<String> {
        let mut ids: Vec<String> = of.iter().map(|i| instances[*i].clone()).collect();
        ids.sort();
        ids
    };
    wait_until("a load balancer with node-0 behind it", 60, || async {
        Ok(load_balancers() == 1 && backends() == node_ids(&[0]))
    })
    .await?;
    let address =
        mock.with_state(|s| s.slb.dump())["LoadBalancers"][0]["address"].as_str().unwrap_or_default().to_owned();
    wait_until("the address in the Service's status", 30, || async {
        let svc = services.get("web").await?;
        let ingress = svc.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
        Ok(ingress.first().and_then(|i| i.ip.as_deref()) == Some(address.as_str())
            && svc.metadata.finalizers.is_some_and(|f| f.contains(&FINALIZER.to_owned())))
    })
    .await?;
    println!("Service shop/web: load balancer at {address}, backends {:?}", backends());

    // Pods come on node-1, then leave node-0.
    slices.patch("web-1", &apply, &Patch::Apply(pods_on(&["node-0", "node-1"])?)).await?;
    wait_until("node-1 behind the load balancer", 30, || async { Ok(backends() == node_ids(&[0, 1])) }).await?;
    slices.patch("web-1", &apply, &Patch::Apply(pods_on(&["node-1"])?)).await?;
    wait_until("node-0 out of the load balancer", 30, || async { Ok(backends() == node_ids(&[1])) }).await?;
    println!("pods moved: backends {:?}", backends());

    // The Service goes: the load balancer is deleted, then the finalizer lets the Service go.
    services.delete("web", &DeleteParams::default()).await?;
    wait_until("the Service gone", 30, || async { Ok(services.get_opt("web").await?.is_none()) }).await?;
    if load_balancers() != 0 {
        return Err("the Service is gone but its load balancer is not".into());
    }
    if running.is_finished() {
        return Err(format!("the controller stopped: {:?}", running.await).into());
    }
    running.abort();
    println!("Service deleted: load balancer gone, finalizer removed; the scenario passed");
    Ok(())
}
