//! The reconciler's Kubernetes writes to Services (the finalizer and the status) and to pods
//! (their readiness gate); and the spec that deletes a Service's binding.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ack_net_slb::binding::{InstanceSpec, LoadBalancerAttributes, LoadBalancerSpec};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::service::annotations::{self as keys, ServiceAnnotations};
use crate::service::{Error, ServiceConfig};

/// The finalizer the reconciler puts on the Services it serves, so that it can remove their
/// load balancer before they go.
pub const FINALIZER: &str = "service.ack-net.io/load-balancer";

/// The field manager of the reconciler's patches.
const MANAGER: &str = super::CONTROLLER_NAME;

fn api(client: &kube::Client, service: &Service) -> Api<Service> {
    Api::namespaced(client.clone(), service.metadata.namespace.as_deref().unwrap_or("default"))
}

fn name(service: &Service) -> &str {
    service.metadata.name.as_deref().unwrap_or_default()
}

pub(super) fn has_finalizer(service: &Service) -> bool {
    service.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

/// Sets `metadata.finalizers` with the object's resourceVersion as a precondition: a
/// concurrent change makes the API server answer 409 and the reconcile runs again.
async fn set_finalizers(client: &kube::Client, service: &Service, finalizers: Vec<String>) -> Result<Service, Error> {
    let patch = json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": service.metadata.resource_version}
    });
    let pp = PatchParams { field_manager: Some(MANAGER.to_owned()), ..PatchParams::default() };
    Ok(api(client, service).patch(name(service), &pp, &Patch::Merge(&patch)).await?)
}

pub(super) async fn add_finalizer(client: &kube::Client, service: &Service) -> Result<Service, Error> {
    let mut f = service.metadata.finalizers.clone().unwrap_or_default();
    f.push(FINALIZER.to_owned());
    set_finalizers(client, service, f).await
}

pub(super) async fn remove_finalizer(client: &kube::Client, service: &Service) -> Result<Service, Error> {
    let f = service.metadata.finalizers.clone().unwrap_or_default().into_iter().filter(|f| f != FINALIZER).collect();
    set_finalizers(client, service, f).await
}

fn current_ingress(service: &Service) -> Vec<(Option<String>, Option<String>)> {
    let ingress = service.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|l| l.ingress.as_ref());
    ingress.map(|i| i.iter().map(|i| (i.ip.clone(), i.hostname.clone())).collect()).unwrap_or_default()
}

/// Sets `status.loadBalancer.ingress` to `address`, or to `hostname` when the Service
/// gives one (CCM's `hostname` annotation: kube-proxy then does not bind the address on
/// the nodes, so that traffic from inside the cluster goes through the load balancer),
/// unless it already is.
pub(super) async fn set_ingress(
    client: &kube::Client,
    service: &Service,
    address: IpAddr,
    hostname: Option<&str>,
) -> Result<(), Error> {
    let (want, entry) = match hostname {
        Some(h) => ((None, Some(h.to_owned())), json!({"hostname": h})),
        None => ((Some(address.to_string()), None), json!({"ip": address.to_string()})),
    };
    if current_ingress(service) == [want] {
        return Ok(());
    }
    let patch = json!({"status": {"loadBalancer": {"ingress": [entry]}}});
    let pp = PatchParams { field_manager: Some(MANAGER.to_owned()), ..PatchParams::default() };
    api(client, service).patch_status(name(service), &pp, &Patch::Merge(&patch)).await?;
    Ok(())
}

/// Empties `status.loadBalancer` (the Service no longer wants a load balancer).
pub(super) async fn clear_status(client: &kube::Client, service: &Service) -> Result<(), Error> {
    if current_ingress(service).is_empty() {
        return Ok(());
    }
    let patch = json!({"status": {"loadBalancer": {"ingress": null}}});
    let pp = PatchParams { field_manager: Some(MANAGER.to_owned()), ..PatchParams::default() };
    api(client, service).patch_status(name(service), &pp, &Patch::Merge(&patch)).await?;
    Ok(())
}

/// The spec that deletes a Service's binding. Only the annotations deletion depends on are
/// read (`id`, `preserve-lb-on-delete`), so that a Service whose other annotations went bad
/// can still be deleted; one of those two being invalid is an error, since guessing could
/// delete a load balancer meant to stay.
pub(super) fn deletion_spec(service: &Service, cfg: &ServiceConfig) -> Result<LoadBalancerSpec, Error> {
    let relevant: BTreeMap<String, String> = service
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| {
            [keys::ID, keys::PRESERVE_LB_ON_DELETE].iter().any(|known| {
                let suffix = known.strip_prefix(keys::PREFIX).unwrap_or(known);
                **k == *known || **k == format!("{}{suffix}", keys::LEGACY_PREFIX)
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let a = ServiceAnnotations::parse(&relevant)?;
    let owner = cfg.owner(service);
    Ok(match a.load_balancer.id {
        Some(id) => LoadBalancerSpec::reuse(owner, id),
        // The attributes do not matter for deleting: the load balancer is found by its tags.
        None => LoadBalancerSpec::create(owner, LoadBalancerAttributes::internet(InstanceSpec::S1Small))
            .preserve_on_delete(a.load_balancer.preserve_on_delete),
    })
}

/// The pod `namespace/name`, or `None` when it is gone.
pub(super) async fn get_pod(client: &kube::Client, namespace: &str, name: &str) -> Result<Option<Pod>, Error> {
    Ok(Api::<Pod>::namespaced(client.clone(), namespace).get_opt(name).await?)
}

/// Sets the pod's readiness gate condition `gate` to `True` (a strategic merge of
/// `status.conditions`, which merges by type: the kubelet's conditions stay). A pod that is
/// gone has no gate to open.
pub(super) async fn open_gate(client: &kube::Client, namespace: &str, pod: &str, gate: &str) -> Result<(), Error> {
    let patch = json!({"status": {"conditions": [{
        "type": gate,
        "status": "True",
        "reason": "LoadBalancerServing",
        "message": "every VServer group of the Service holds the pod's backend with its weight",
    }]}});
    let pp = PatchParams { field_manager: Some(MANAGER.to_owned()), ..PatchParams::default() };
    match Api::<Pod>::namespaced(client.clone(), namespace).patch_status(pod, &pp, &Patch::Strategic(&patch)).await {
        // Gone meanwhile: there is no gate to open.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other.map(|_| ()).map_err(Error::from),
    }
}
