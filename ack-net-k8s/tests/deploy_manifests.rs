//! The manifests of `deploy/` on a real kube-apiserver (`ack_net_k8s::testenv`): they apply
//! (server-side, with strict field validation), and each component then does its whole job
//! with their ServiceAccounts' own tokens, so that a permission missing from a ClusterRole or
//! Role fails here. The workloads themselves do not run (the test environment has no
//! controller-manager or kubelet); the test runs what their containers run, configured as the
//! manifests configure it.

mod apiserver;
mod service_common;

use std::path::Path;
use std::sync::Arc;

use ack_net_eni::pool::MemoryStore;
use ack_net_k8s::leader::{LeaderElector, LeaseConfig};
use ack_net_k8s::pod::{PodNetworkAnnotation, PodNetworkReconciler};
use ack_net_k8s::service::{ServiceConfig, ServiceReconciler, FINALIZER};
use ack_net_k8s::testenv::TestEnv;
use apiserver::{client, create, own, ready_node, until};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use kube::ResourceExt;
use serde::Deserialize;
use serde_json::json;
use service_common::{cloud, eventually, pool_world, service};

const NS: &str = "ack-net-system";

/// Applies every object of the YAML file `deploy/NAME` (server-side, strict).
async fn apply(client: &kube::Client, name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut params = PatchParams::apply("ack-net-deploy-test").force();
    params.field_validation = Some(kube::api::ValidationDirective::Strict);
    for doc in serde_norway::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(doc).expect("YAML");
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject = serde_json::from_value(value).expect("a Kubernetes object");
        let gvk = GroupVersionKind::try_from(obj.types.as_ref().expect("apiVersion and kind")).expect("gvk");
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.expect("a served kind");
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(client.clone(), obj.namespace().as_deref().expect("a namespace"), &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        api.patch(&obj.name_any(), &params, &Patch::Apply(&obj))
            .await
            .unwrap_or_else(|e| panic!("{name}: {} {}: {e}", gvk.kind, obj.name_any()));
    }
}

/// A client with the token of ServiceAccount `ack-net-system/NAME`.
async fn as_service_account(env: &TestEnv, name: &str) -> kube::Client {
    let token = env.service_account_token(NS, name).await.expect("a token");
    assert!(!token.is_empty());
    env.client_with_token(&token).await.expect("client")
}

/// One load balancer on `cloud`, made by the replica holding Lease `lease` (`replica-a`), which
/// recorded an `EnsuredLoadBalancer` Event in `default`.
async fn led_and_reported(admin: &kube::Client, cloud: &service_common::Cloud, lease: &str) {
    assert_eq!(cloud.load_balancers().len(), 1);
    let lease = Api::<Lease>::namespaced(admin.clone(), NS).get(lease).await.expect("lease");
    assert_eq!(lease.spec.and_then(|s| s.holder_identity).as_deref(), Some("replica-a"));
    let events = Api::<k8s_openapi::api::events::v1::Event>::namespaced(admin.clone(), "default");
    let ensured = || async {
        let list = events.list(&ListParams::default()).await.expect("events");
        list.items.iter().any(|e| e.reason.as_deref() == Some("EnsuredLoadBalancer"))
    };
    assert!(until(10, ensured).await, "no Event through the ServiceAccount");
}

fn is_forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> bool {
    matches!(r, Err(kube::Error::Api(s)) if s.code == 403)
}

#[tokio::test]
async fn the_manifests_apply_and_each_component_works_with_its_own_service_account() {
    let env = own().await;
    let admin = client(&env).await;
    for file in ["namespace.yaml", "config.yaml", "service-controller.yaml", "pod-network-agent.yaml"] {
        apply(&admin, file).await;
    }
    let deployment = Api::<Deployment>::namespaced(admin.clone(), NS).get("ack-net-service-controller").await;
    assert_eq!(deployment.expect("deployment").spec.replicas, Some(2));
    let daemonset = Api::<DaemonSet>::namespaced(admin.clone(), NS).get("ack-net-pod-network-agent").await;
    let pod_spec = daemonset.expect("daemonset").spec.template.spec.expect("pod spec");
    assert_eq!(pod_spec.host_network, Some(true));

    // The Service controller, as its Deployment runs it: leader election in its namespace,
    // then the reconciler, with nothing but its ServiceAccount's permissions.
    let controller = as_service_account(&env, "ack-net-service-controller").await;
    assert!(is_forbidden(Api::<Secret>::namespaced(controller.clone(), NS).list(&ListParams::default()).await));
    let services_as_controller: Api<Service> = Api::namespaced(controller.clone(), "default");
    assert!(is_forbidden(services_as_controller.delete("web", &DeleteParams::default()).await));
    let cloud = cloud(1).await;
    ready_node(&admin, "n0", &cloud.instances[0]).await;
    let elector =
        LeaderElector::new(controller.clone(), LeaseConfig::new(NS, "ack-net-service-controller", "replica-a"))
            .expect("config");
    let reconciler = ServiceReconciler::new(controller, cloud.slb.clone(), ServiceConfig::new("c-1"));
    let running = tokio::spawn(async move { elector.run(reconciler.run()).await });

    let services: Api<Service> = Api::namespaced(admin.clone(), "default");
    let mut svc = service(json!({}), json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]));
    svc["metadata"]["namespace"] = json!("default");
    create(services.clone(), svc).await;
    let served = || async {
        let svc = services.get("web").await.expect("get");
        let ingress = svc.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
        !ingress.is_empty() && svc.metadata.finalizers.is_some_and(|f| f.contains(&FINALIZER.to_owned()))
    };
    assert!(until(30, served).await, "no load balancer through the ServiceAccount (see the RBAC rules)");
    led_and_reported(&admin, &cloud, "ack-net-service-controller").await;
    services.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(until(30, || async { services.get_opt("web").await.expect("get").is_none() }).await, "finalizer kept");
    assert!(cloud.load_balancers().is_empty());
    assert!(!running.is_finished(), "the controller stopped: {:?}", running.await);
    running.abort();

    // The node agent, as its DaemonSet runs it.
    let agent = as_service_account(&env, "ack-net-pod-network-agent").await;
    assert!(is_forbidden(Api::<Service>::namespaced(agent.clone(), "default").list(&ListParams::default()).await));
    let w = pool_world("n0").await;
    let pool = w.pool(w.config(), Arc::new(MemoryStore::new())).await;
    let running = tokio::spawn(PodNetworkReconciler::new(agent, pool.clone(), "n0").run());
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let pod = create(
        pods.clone(),
        json!({"metadata": {"name": "web-0"},
               "spec": {"nodeName": "n0", "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}),
    )
    .await;
    let uid = pod.metadata.uid.expect("uid");
    let annotated = || async { pods.get("web-0").await.ok().as_ref().and_then(PodNetworkAnnotation::of).is_some() };
    assert!(until(30, annotated).await, "no annotation through the ServiceAccount (see the RBAC rules)");
    assert!(pool.pods().contains(&uid));
    pods.delete("web-0", &DeleteParams::default().grace_period(0)).await.expect("delete");
    assert!(eventually(30, || pool.pods().is_empty()).await, "the address was not released");
    assert!(!running.is_finished(), "the agent stopped: {:?}", running.await);
    running.abort();
}

#[tokio::test]
async fn the_ingress_controller_works_with_its_own_service_account() {
    use ack_net_k8s::ingress::{IngressReconciler, INGRESS_CONTROLLER, INGRESS_FINALIZER};
    use ack_net_slb::binding::ingress::{IngressOwner, IngressPlanOptions};
    use ack_net_slb::binding::DrainPolicy;
    use k8s_openapi::api::networking::v1::{Ingress, IngressClass};

    let env = own().await;
    let admin = client(&env).await;
    for file in ["namespace.yaml", "config.yaml", "ingress-controller.yaml"] {
        apply(&admin, file).await;
    }
    let deployment = Api::<Deployment>::namespaced(admin.clone(), NS).get("ack-net-ingress-controller").await;
    assert_eq!(deployment.expect("deployment").spec.replicas, Some(2));

    // As its Deployment runs it: leader election, then the reconciler whose load balancer the
    // Ingresses' annotations make, with nothing but its ServiceAccount's permissions.
    let controller = as_service_account(&env, "ack-net-ingress-controller").await;
    assert!(is_forbidden(
        Api::<Service>::namespaced(controller.clone(), "default").delete("x", &Default::default()).await
    ));
    assert!(is_forbidden(Api::<Pod>::namespaced(controller.clone(), "default").list(&ListParams::default()).await));
    let cloud = cloud(1).await;
    ready_node(&admin, "n0", &cloud.instances[0]).await;
    let elector =
        LeaderElector::new(controller.clone(), LeaseConfig::new(NS, "ack-net-ingress-controller", "replica-a"))
            .expect("config");
    let reconciler = IngressReconciler::from_annotations(
        controller,
        cloud.slb.clone(),
        IngressOwner::new("c-1", "ack-net"),
        ServiceConfig::new("c-1"),
    )
    .with_eni_lookup(Arc::new(cloud.ecs.clone()))
    .with_plan_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()));
    let running = tokio::spawn(async move { elector.run(reconciler.run()).await });

    create(
        Api::<IngressClass>::all(admin.clone()),
        json!({"metadata": {"name": "ack-net"}, "spec": {"controller": INGRESS_CONTROLLER}}),
    )
    .await;
    create(
        Api::<Service>::namespaced(admin.clone(), "default"),
        json!({"metadata": {"name": "web"},
               "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}}),
    )
    .await;
    let ingresses: Api<Ingress> = Api::namespaced(admin.clone(), "default");
    create(
        ingresses.clone(),
        json!({"metadata": {"name": "web"}, "spec": {"ingressClassName": "ack-net", "rules": [{"host": "www.example.com",
               "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                   "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}),
    )
    .await;
    let served = || async {
        let ing = ingresses.get("web").await.expect("get");
        let ingress = ing.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
        !ingress.is_empty() && ing.metadata.finalizers.is_some_and(|f| f.contains(&INGRESS_FINALIZER.to_owned()))
    };
    assert!(until(30, served).await, "no load balancer through the ServiceAccount (see the RBAC rules)");
    led_and_reported(&admin, &cloud, "ack-net-ingress-controller").await;
    ingresses.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(until(30, || async { ingresses.get_opt("web").await.expect("get").is_none() }).await, "finalizer kept");
    assert!(eventually(10, || cloud.load_balancers().is_empty()).await, "the load balancer made for it stays");
    assert!(!running.is_finished(), "the controller stopped: {:?}", running.await);
    running.abort();
}
