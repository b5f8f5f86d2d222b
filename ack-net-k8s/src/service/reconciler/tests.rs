use std::collections::BTreeMap;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use serde_json::json;

use super::run::{eligibility_changes, service_of};
use super::*;
use crate::service::annotations;
use crate::service::NodeFilter;
use ack_net_slb::binding::LoadBalancerSource;

#[test]
fn backoff_doubles_up_to_the_longest_delay() {
    let b = Backoff::default();
    let secs: Vec<u64> = (0..=8).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(secs, vec![5, 5, 10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(b.delay(u32::MAX), b.max, "no overflow");
    let tiny = Backoff { min: Duration::from_millis(1), max: Duration::from_secs(1) };
    assert_eq!(tiny.delay(40), Duration::from_secs(1));
}

fn node(name: &str, id: &str, ready: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"providerID": format!("cn-hangzhou.{id}")},
        "status": {"conditions": [{"type": "Ready", "status": ready}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn only_eligibility_changes_trigger_a_reconcile_of_all() {
    use watcher::Event::*;
    let events = vec![
        Ok(Init),
        Ok(InitApply(node("a", "i-a", "True"))),
        Ok(InitApply(node("b", "i-b", "False"))),
        Ok(InitDone),                         // 1: the first list
        Ok(Apply(node("a", "i-a", "True"))),  // a heartbeat
        Ok(Apply(node("c", "i-c", "False"))), // a new node that cannot serve
        Ok(Apply(node("b", "i-b", "True"))),  // 2: b becomes Ready
        Ok(Apply(node("b", "i-b2", "True"))), // 3: another instance behind b
        Err(watcher::Error::NoResourceVersion),
        Ok(Delete(node("c", "i-c", "False"))), // never served
        Ok(Delete(node("b", "i-b2", "True"))), // 4
        Ok(Init),
        Ok(InitApply(node("a", "i-a", "True"))),
        Ok(InitDone), // the same set again: nothing
        Ok(Init),
        Ok(InitDone), // 5: everything gone
    ];
    let triggers = eligibility_changes(futures_util::stream::iter(events), NodeFilter::default()).count().await;
    assert_eq!(triggers, 5);
}

#[test]
fn endpoint_slices_map_to_their_service() {
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web-x", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "endpoints": []
    }))
    .unwrap();
    let r = service_of(&slice).unwrap();
    assert_eq!((r.name.as_str(), r.namespace.as_deref()), ("web", Some("shop")));
    let mut orphan = slice.clone();
    orphan.metadata.labels = None;
    assert!(service_of(&orphan).is_none());
}

fn svc(annotations: BTreeMap<&str, &str>) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web", "uid": "u-1", "annotations": annotations},
        "spec": {"type": "LoadBalancer"}
    }))
    .unwrap()
}

#[test]
fn deletion_reads_only_what_deletion_needs() {
    let cfg = ServiceConfig::new("c-1");
    // A broken annotation elsewhere does not block deletion.
    let s = svc(BTreeMap::from([(annotations::SCHEDULER, "fastest"), (annotations::PRESERVE_LB_ON_DELETE, "on")]));
    let spec = k8s::deletion_spec(&s, &cfg).unwrap();
    assert!(spec.preserve_on_delete);
    assert_eq!(spec.owner.service(), "shop/web");
    assert_eq!(spec.owner.uid(), Some("u-1"));
    let legacy = "service.beta.kubernetes.io/alicloud-loadbalancer-id";
    let spec = k8s::deletion_spec(&svc(BTreeMap::from([(legacy, "lb-bp1x")])), &cfg).unwrap();
    assert_eq!(spec.load_balancer, LoadBalancerSource::Reuse("lb-bp1x".parse().unwrap()));
    // Guessing whether to keep the load balancer is not an option.
    let bad = svc(BTreeMap::from([(annotations::PRESERVE_LB_ON_DELETE, "maybe")]));
    assert!(matches!(k8s::deletion_spec(&bad, &cfg), Err(Error::InvalidAnnotation { .. })));
}
