//! `NetworkPolicyReconciler::run` against a real kube-apiserver and etcd
//! (`ack_net_k8s::testenv`), with Calico's `projectcalico.org/v3` kinds served as CRDs and a
//! sink that records what would be loaded into nftables. The test plays the scheduler and the
//! kubelet (pods get `spec.nodeName`, and their IPs through the status subresource).

mod apiserver;

use std::sync::{Arc, Mutex};

use ack_net_k8s::netpol::enforce::{EnforceError, NetworkPolicyReconciler, RuleSink};
use apiserver::{client, create, namespace, patch_status, shared, until};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::json;

const NODE: &str = "netpol-node";
const NS: &str = "shop";

/// Records every ruleset it is asked to load.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn loads(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
    fn last(&self) -> String {
        self.loads().last().cloned().unwrap_or_default()
    }
}

impl RuleSink for Recorder {
    fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
        self.0.lock().expect("not poisoned").push(ruleset.to_owned());
        Ok(())
    }

    /// Nothing was ever loaded into a kernel: no table is in force.
    fn in_force(&self, _table: &str) -> Result<bool, EnforceError> {
        Ok(false)
    }
}

/// Calico's three kinds in `projectcalico.org/v3`, as CRDs that keep every field.
async fn calico_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (kind, plural, scope) in [
        ("NetworkPolicy", "networkpolicies", "Namespaced"),
        ("GlobalNetworkPolicy", "globalnetworkpolicies", "Cluster"),
        ("Tier", "tiers", "Cluster"),
    ] {
        create(
            crds.clone(),
            json!({
                "metadata": {"name": format!("{plural}.projectcalico.org")},
                "spec": {
                    "group": "projectcalico.org", "scope": scope,
                    "names": {"kind": kind, "plural": plural},
                    "versions": [{"name": "v3", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
                }
            }),
        )
        .await;
        let established = || {
            let crds = crds.clone();
            async move {
                let crd = crds.get(&format!("{plural}.projectcalico.org")).await.expect("get the CRD");
                crd.status
                    .and_then(|s| s.conditions)
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"))
            }
        };
        assert!(until(20, established).await, "CRD {plural} established");
    }
}

async fn pod(pods: &Api<Pod>, name: &str, app: &str, node: &str, ip: &str) {
    create(
        pods.clone(),
        json!({
            "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}
        }),
    )
    .await;
    patch_status(pods, name, json!({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})).await;
}

fn calico_api(client: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let resource: ApiResource =
        NetworkPolicyReconciler::calico_v3().into_iter().find(|r| r.kind == kind).expect("a Calico kind");
    if kind == "NetworkPolicy" {
        Api::namespaced_with(client.clone(), NS, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    }
}

async fn apply(api: &Api<DynamicObject>, value: serde_json::Value) {
    let name = value["metadata"]["name"].as_str().expect("a name").to_owned();
    let object: DynamicObject = serde_json::from_value(value).expect("an object");
    api.patch(&name, &PatchParams::apply("netpol-test").force(), &Patch::Apply(&object)).await.expect("apply");
}

#[tokio::test]
async fn the_nodes_rules_follow_the_cluster_and_refusals_are_events() {
    let client = client(shared().await).await;
    calico_crds(&client).await;
    namespace(&client, NS).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    pod(&pods, "web", "web", NODE, "10.0.0.1").await;
    pod(&pods, "db", "db", NODE, "10.0.0.2").await;
    pod(&pods, "batch", "batch", "another-node", "10.0.1.3").await;

    let sink = Recorder::default();
    let reconciler =
        NetworkPolicyReconciler::new(client.clone(), NODE, |pod| Some(format!("if-{}", pod.metadata.name.as_deref()?)))
            .with_calico(NetworkPolicyReconciler::calico_v3())
            .with_sink(sink.clone());
    let agent = tokio::spawn(reconciler.run());

    // Once every watch has listed: the first load (built, then put in force), with no pod
    // isolated.
    assert!(until(20, || async { sink.loads().len() >= 2 }).await, "a first load");
    assert!(!sink.loads()[0].contains("jump"), "no policy, no chain: {}", sink.loads()[0]);

    // A Kubernetes policy isolates db: db (on this node) gets a chain, batch (elsewhere) none.
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), NS);
    create(
        policies.clone(),
        json!({"metadata": {"name": "db-from-web"}, "spec": {"podSelector": {"matchLabels": {"app": "db"}},
               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}}),
    )
    .await;
    assert!(until(10, || async { sink.last().contains("\"if-db\" : jump") }).await, "db isolated: {}", sink.last());
    assert!(sink.last().contains("10.0.0.1/32"), "web is the allowed peer: {}", sink.last());

    // A Calico policy the engine cannot enforce exactly: an Event on it, and nothing loaded.
    let loads = sink.loads().len();
    let calico_policies = calico_api(&client, "NetworkPolicy");
    apply(
        &calico_policies,
        json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
               "metadata": {"name": "web-http", "namespace": NS},
               "spec": {"selector": "app == 'web'",
                        "ingress": [{"action": "Allow", "http": {"methods": ["GET"]}}]}}),
    )
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), NS);
    let refused = || {
        let events = events.clone();
        async move {
            events.list(&Default::default()).await.expect("events").items.iter().any(|e| {
                e.reason.as_deref() == Some("PolicyRefused")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web-http")
                    && e.note.as_deref().is_some_and(|n| n.contains("http"))
            })
        }
    };
    assert!(until(10, refused).await, "a PolicyRefused Event on web-http");
    assert_eq!(sink.loads().len(), loads, "a refused policy loads nothing");

    // A GlobalNetworkPolicy denying web's egress to a CIDR: web gets an egress chain, the CIDR
    // a set.
    apply(
        &calico_api(&client, "GlobalNetworkPolicy"),
        json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "web-out"},
               "spec": {"selector": "app == 'web'", "types": ["Egress"],
                        "egress": [{"action": "Deny", "destination": {"nets": ["192.0.2.0/24"]}}, {"action": "Allow"}]}}),
    )
    .await;
    assert!(
        until(10, || async { sink.last().contains("\"if-web\" : jump") && sink.last().contains("192.0.2.0/24") }).await,
        "web's egress chain: {}",
        sink.last()
    );

    // An unrelated change (a label no selector reads) loads nothing.
    let loads = sink.loads().len();
    pods.patch("batch", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"shard": "7"}}})))
        .await
        .expect("label");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.loads().len(), loads, "the same rules are not loaded again");

    // Removing the Kubernetes policy: db's chain goes.
    policies.delete("db-from-web", &DeleteParams::default()).await.expect("delete");
    let unmapped = "delete element inet ack_net_policy ingress { \"if-db\" }";
    assert!(until(10, || async { sink.last().contains(unmapped) }).await, "db open again: {}", sink.last());

    // The first load built the table and put it in force; every later one was an update of
    // what changed.
    let loads = sink.loads();
    assert!(loads[0].contains("delete table inet ack_net_policy;"), "{}", loads[0]);
    assert!(loads[1].starts_with("add chain inet ack_net_policy forward { type filter hook forward"), "{}", loads[1]);
    assert!(loads[2..].iter().all(|l| !l.contains("table inet")), "{loads:#?}");
    agent.abort();
}
