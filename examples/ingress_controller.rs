//! An Ingress controller on kube-rs: the Ingresses of ack-net's IngressClass (controller
//! `ack-net.io/ingress-controller`) become the layer 7 of one load balancer (HTTP 80, HTTPS
//! 443 with the TLS Secrets' certificates, forwarding rules to a VServer group per Service
//! port) through ack-net's IngressBinding, with a finalizer, status and Events. Replicas elect
//! a leader through the Lease `ack-net-ingress-controller` in `$POD_NAMESPACE` (default
//! `kube-system`).
//!
//! It needs a Kubernetes cluster (the current kubeconfig context, or in-cluster config). It
//! serves the load balancer in `ACK_NET_INGRESS_LB`; when that is unset, the one the
//! Ingresses' annotations make (the Service annotations: `address-type`, `vswitch-id`,
//! `spec`, `id`, ...; `ACK_NET_VSWITCH_ID` is the default VSwitch of intranet ones), created
//! with ownership tags and deleted with the last Ingress. ENI-mode Services' pods are found
//! on their ENIs. It talks to the embedded mock cloud unless `ACK_NET_ENDPOINT` is set
//! (`aliyun` for the real one). Without a reachable cluster it says so and exits.
//!
//! With `--testenv` it runs a scripted scenario instead, on a real kube-apiserver of its own
//! (`ack_net_k8s::testenv`) and the embedded mock: a Node, a Service, a TLS Secret and an
//! Ingress; it checks where requests go, the Ingress's status and finalizer, then deletes the
//! Ingress and checks its rules are gone, and fails if any step is wrong (CI runs it).
//!
//! ```sh
//! ACK_CLUSTER_ID=c-mine ACK_NET_INGRESS_LB=lb-... ACK_NET_ENDPOINT=aliyun cargo run --example ingress_controller
//! cargo run --example ingress_controller -- --testenv
//! ```

use ack_net_eni::EcsClient;
use ack_net_examples::{demo_network, wait_until, BoxError, Cloud};
use ack_net_k8s::ingress::{IngressReconciler, INGRESS_CONTROLLER, INGRESS_FINALIZER};
use ack_net_k8s::service::ServiceConfig;
use ack_net_mock::MockCloud;
use ack_net_slb::binding::ingress::{IngressOwner, IngressPlanOptions, ServiceRef};
use ack_net_slb::binding::DrainPolicy;
use ack_net_slb::{AddressType, InstanceSpec, LoadBalancerId, SlbClient, VSwitchId};
use k8s_openapi::api::core::v1::{Namespace, Node, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cluster_id = std::env::var("ACK_CLUSTER_ID").unwrap_or_else(|_| "c-ack-net-demo".to_owned());
    if std::env::args().any(|a| a == "--testenv") {
        return scenario(&cluster_id).await;
    }
    let Some(kube) = ack_net_examples::cluster_or_explain().await else { return Ok(()) };
    let cloud = Cloud::connect().await?;
    let slb = SlbClient::new(cloud.rpc.clone());
    let lb = match std::env::var("ACK_NET_INGRESS_LB").ok().filter(|v| !v.is_empty()) {
        Some(id) => Some(id.parse::<LoadBalancerId>()?),
        None => None,
    };
    let vswitch = match std::env::var("ACK_NET_VSWITCH_ID").ok().filter(|v| !v.is_empty()) {
        Some(id) => Some(id.parse::<VSwitchId>()?),
        None => None,
    };
    let serves = lb.as_ref().map_or_else(|| "from the Ingresses' annotations".to_owned(), ToString::to_string);
    println!("Ingress controller for cluster {cluster_id}, load balancer {serves} on {}", cloud.describe());
    let options = IngressPlanOptions::default().with_batch_size(slb.batch_size());
    let ecs = EcsClient::new(cloud.rpc.clone());
    controller(kube, slb, ecs, &cluster_id, lb, vswitch, options).await
}

async fn new_load_balancer(slb: &SlbClient) -> Result<LoadBalancerId, BoxError> {
    let made =
        slb.load_balancers().create().address_type(AddressType::Internet).spec(InstanceSpec::S2Small).send().await?;
    Ok(made.load_balancer_id)
}

/// The controller: runs while this replica leads.
async fn controller(
    kube: kube::Client,
    slb: SlbClient,
    ecs: EcsClient,
    cluster_id: &str,
    lb: Option<LoadBalancerId>,
    vswitch: Option<VSwitchId>,
    options: IngressPlanOptions,
) -> Result<(), BoxError> {
    let elector = ack_net_examples::leader_elector(kube.clone(), "ack-net-ingress-controller")?;
    let owner = IngressOwner::new(cluster_id, "ack-net");
    let reconciler = match lb {
        Some(lb) => IngressReconciler::new(kube, slb, owner, lb),
        None => {
            let mut cfg = ServiceConfig::new(cluster_id);
            if let Some(v) = vswitch {
                cfg = cfg.with_vswitch(v);
            }
            IngressReconciler::from_annotations(kube, slb, owner, cfg)
        }
    }
    .with_eni_lookup(std::sync::Arc::new(ecs))
    .with_plan_options(options);
    elector.run(reconciler.run()).await?;
    Ok(())
}

async fn create<K>(api: &Api<K>, value: Value) -> Result<K, BoxError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    Ok(api.create(&PostParams::default(), &serde_json::from_value(value)?).await?)
}

/// The name of the VServer group a request reaches on the mock (empty when none).
async fn reaches(
    mock: &MockCloud,
    slb: &SlbClient,
    lb: &LoadBalancerId,
    port: u16,
    host: &str,
    path: &str,
) -> Result<String, BoxError> {
    let route = mock.with_state(|s| s.slb.route(lb.as_str(), port, host, path));
    let Some(id) = route.as_ref().and_then(|r| r.vserver_group_id()) else { return Ok(String::new()) };
    let groups = slb.vserver_groups().describe(lb).send().await?;
    Ok(groups.into_iter().find(|g| g.vserver_group_id.as_str() == id).map(|g| g.name).unwrap_or_default())
}

/// The scripted scenario of `--testenv`.
async fn scenario(cluster_id: &str) -> Result<(), BoxError> {
    let env = ack_net_k8s::testenv::TestEnv::start().await?;
    let kube = env.client().await?;
    let cloud = Cloud::connect().await?;
    let mock = cloud.mock.as_ref().ok_or("the scenario runs on the embedded mock")?;
    let net = demo_network(&cloud, "ack-net-ingress-controller").await?;
    let instance = net.node()?.id.clone();
    let slb = SlbClient::new(cloud.rpc.clone());
    let lb = new_load_balancer(&slb).await?;
    let address = slb.load_balancers().get(&lb).await?.address.to_string();

    // A Ready Node, as its kubelet would register it.
    let nodes: Api<Node> = Api::all(kube.clone());
    create(&nodes, json!({"metadata": {"name": "node-0"}, "spec": {"providerID": format!("cn-hangzhou.{instance}")}}))
        .await?;
    let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    nodes.patch_status("node-0", &PatchParams::default(), &Patch::Merge(&ready)).await?;

    println!("Ingress controller for cluster {cluster_id}, load balancer {lb} on {}", cloud.describe());
    let running = {
        let (kube, slb, cluster_id, lb) = (kube.clone(), slb.clone(), cluster_id.to_owned(), lb.clone());
        let ecs = EcsClient::new(cloud.rpc.clone());
        // No draining: the scenario's backends serve no connections.
        let options = IngressPlanOptions::default().with_batch_size(slb.batch_size()).with_drain(DrainPolicy::none());
        tokio::spawn(async move {
            controller(kube, slb, ecs, &cluster_id, Some(lb), None, options).await.map_err(|e| e.to_string())
        })
    };

    create(&Api::<Namespace>::all(kube.clone()), json!({"metadata": {"name": "shop"}})).await?;
    create(
        &Api::<IngressClass>::all(kube.clone()),
        json!({"metadata": {"name": "ack-net"}, "spec": {"controller": INGRESS_CONTROLLER}}),
    )
    .await?;
    for (name, port) in [("web", 30080), ("api", 30081)] {
        create(
            &Api::<Service>::namespaced(kube.clone(), "shop"),
            json!({"metadata": {"name": name}, "spec": {"type": "NodePort",
                "ports": [{"name": "http", "port": 80, "nodePort": port, "protocol": "TCP"}]}}),
        )
        .await?;
    }
    let sample = ack_net_mock::sample_certificate("www.example.com").ok_or("the mock's sample certificate")?;
    create(
        &Api::<Secret>::namespaced(kube.clone(), "shop"),
        json!({"metadata": {"name": "www-tls"}, "type": "kubernetes.io/tls",
               "stringData": {"tls.crt": sample.certificate, "tls.key": sample.private_key}}),
    )
    .await?;
    let path = |p: &str, svc: &str| json!({"path": p, "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}});
    let ingresses: Api<Ingress> = Api::namespaced(kube.clone(), "shop");
    create(
        &ingresses,
        json!({"metadata": {"name": "shop"}, "spec": {"ingressClassName": "ack-net",
            "tls": [{"hosts": ["www.example.com"], "secretName": "www-tls"}],
            "rules": [{"host": "www.example.com", "http": {"paths": [path("/", "web"), path("/api", "api")]}}]}}),
    )
    .await?;

    wait_until("the load balancer's address in the Ingress's status", 60, || async {
        let ing = ingresses.get("shop").await?;
        let lb_status = ing.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
        Ok(lb_status.first().and_then(|i| i.ip.as_deref()) == Some(address.as_str())
            && ing.metadata.finalizers.is_some_and(|f| f.contains(&INGRESS_FINALIZER.to_owned())))
    })
    .await?;
    let owner = IngressOwner::new(cluster_id, "ack-net");
    let group_of = |svc: &str| owner.group_name(&ServiceRef::new("shop", svc, "80"));
    for (port, p, want) in
        [(80, "/cart", "web"), (443, "/cart", "web"), (443, "/api/users", "api"), (80, "/apis", "web")]
    {
        let group = reaches(mock, &slb, &lb, port, "www.example.com", p).await?;
        if group != group_of(want) {
            return Err(format!("port {port} www.example.com{p} reaches {group:?}, not Service shop/{want}").into());
        }
        println!("port {port:>3} www.example.com{p:<11} -> {group}");
    }

    // The Ingress goes: its rules leave the load balancer, then the finalizer lets it go.
    ingresses.delete("shop", &DeleteParams::default()).await?;
    wait_until("the Ingress gone", 30, || async { Ok(ingresses.get_opt("shop").await?.is_none()) }).await?;
    let group = reaches(mock, &slb, &lb, 443, "www.example.com", "/api/users").await?;
    if group == group_of("api") || group == group_of("web") {
        return Err(format!("the Ingress is gone but requests still reach {group}").into());
    }
    if running.is_finished() {
        return Err(format!("the controller stopped: {:?}", running.await).into());
    }
    running.abort();
    println!("Ingress deleted: rules gone, finalizer removed; the scenario passed");
    Ok(())
}
