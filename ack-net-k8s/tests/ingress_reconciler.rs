//! `IngressReconciler::reconcile_all` against a real kube-apiserver and etcd
//! (`ack_net_k8s::testenv`, one of the test's own: it lists Nodes cluster-wide) with the load
//! balancer on ack-net-mock: the Ingresses of ack-net's class are routed, a broken one is
//! left out with an Event and no address, another class's is not touched; a second round
//! writes nothing; a renewed TLS Secret is upload, switch, delete; a deleted Ingress leaves the
//! load balancer before its finalizer goes.

mod apiserver;
mod ingress_common;
mod service_common;

use ack_net_k8s::ingress::{IngressReconciler, Problem, INGRESS_CONTROLLER, INGRESS_FINALIZER};
use ack_net_mock::renewed_sample_certificate;
use ack_net_slb::binding::ingress::{IngressOwner, IngressPlanOptions};
use ack_net_slb::binding::DrainPolicy;
use apiserver::{client, create, namespace, own, ready_node};
use ingress_common::{group_of, load_balancer, node_port_service, reaches, tls_secret};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{json, Value};
use service_common::cloud;

fn path(prefix: &str, svc: &str) -> Value {
    json!({"path": prefix, "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}})
}

fn address(ing: &Ingress) -> Option<String> {
    ing.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.ip.clone()
}

#[tokio::test]
async fn ingresses_of_the_class_are_routed_and_leave_through_the_finalizer() {
    let env = own().await;
    let kube = client(&env).await;
    let cloud = cloud(2).await;
    let (lb, lb_address) = load_balancer(&cloud).await;
    let lb_address = lb_address.to_string();

    namespace(&kube, "shop").await;
    for (i, id) in cloud.instances.iter().enumerate() {
        ready_node(&kube, &format!("n{i}"), id).await;
    }
    create::<IngressClass>(
        Api::all(kube.clone()),
        json!({"metadata": {"name": "ack-net"}, "spec": {"controller": INGRESS_CONTROLLER}}),
    )
    .await;
    create::<IngressClass>(
        Api::all(kube.clone()),
        json!({"metadata": {"name": "other"}, "spec": {"controller": "example.com/other"}}),
    )
    .await;
    create::<Service>(Api::namespaced(kube.clone(), "shop"), node_port_service("web", 30080)).await;
    create::<Secret>(Api::namespaced(kube.clone(), "shop"), tls_secret("www-tls", "www.example.com")).await;
    let ingresses: Api<Ingress> = Api::namespaced(kube.clone(), "shop");
    let make = |name: &str, class: &str, svc: &str| {
        json!({"metadata": {"name": name}, "spec": {"ingressClassName": class,
            "tls": [{"hosts": ["www.example.com"], "secretName": "www-tls"}],
            "rules": [{"host": "www.example.com", "http": {"paths": [path(if svc == "web" { "/" } else { "/shop" }, svc)]}}]}})
    };
    create(ingresses.clone(), make("web", "ack-net", "web")).await;
    create(ingresses.clone(), make("broken", "ack-net", "gone")).await;
    create(ingresses.clone(), make("theirs", "other", "web")).await;

    let owner = IngressOwner::new("c-ingress", "ack-net");
    let reconciler = IngressReconciler::new(kube.clone(), cloud.slb.clone(), owner.clone(), lb.clone())
        .with_plan_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()));

    let round = reconciler.reconcile_all().await.expect("first round");
    assert_eq!(round.served.iter().collect::<Vec<_>>(), ["shop/web"]);
    assert!(
        round.problems["shop/broken"].iter().any(|p| matches!(p, Problem::Invalid(m) if m.contains("shop/gone"))),
        "{:?}",
        round.problems
    );
    assert!(round.report.writes() > 0);

    let web_group = group_of(&cloud, &lb, &owner, "web").await.expect("web's group");
    let reaches = |port: u16, path: &str| reaches(&cloud, &lb, port, "www.example.com", path);
    assert_eq!(reaches(80, "/cart"), web_group);
    assert_eq!(reaches(443, "/cart"), web_group);

    let get = |name: &'static str| {
        let ingresses = ingresses.clone();
        async move { ingresses.get(name).await.expect("ingress") }
    };
    let web = get("web").await;
    assert_eq!(address(&web).as_deref(), Some(lb_address.as_str()));
    assert!(web.metadata.finalizers.iter().flatten().any(|f| f == INGRESS_FINALIZER));
    let broken = get("broken").await;
    assert_eq!(address(&broken), None, "an Ingress left out has no address");
    let theirs = get("theirs").await;
    assert_eq!(address(&theirs), None);
    assert!(theirs.metadata.finalizers.is_none(), "another class's Ingress is not touched");

    let events: Api<Event> = Api::namespaced(kube.clone(), "shop");
    let listed = events.list(&ListParams::default()).await.expect("events").items;
    let about = |name: &str, reason: &str| {
        listed.iter().any(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name) && e.reason.as_deref() == Some(reason)
        })
    };
    assert!(about("broken", "IngressNotServed"), "{listed:?}");
    assert!(about("web", "EnsuredLoadBalancer"), "{listed:?}");

    let again = reconciler.reconcile_all().await.expect("second round");
    assert_eq!(again.report.writes(), 0, "converged: {:?}", again.report);
    assert_eq!(get("web").await.metadata.resource_version, web.metadata.resource_version, "no Kubernetes write");

    // The Secret is renewed: the new certificate is uploaded, the listener switched, the old one deleted.
    let renewed = renewed_sample_certificate();
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), "shop");
    let data = json!({"stringData": {"tls.crt": renewed.certificate, "tls.key": renewed.private_key}});
    secrets.patch("www-tls", &PatchParams::default(), &Patch::Merge(&data)).await.expect("renew");
    let rotated = reconciler.reconcile_all().await.expect("round after the renewal");
    let calls: Vec<(&str, u64)> = rotated.report.calls.iter().map(|(a, n)| (*a, *n)).collect();
    assert_eq!(
        calls,
        [("DeleteServerCertificate", 1), ("SetLoadBalancerHTTPSListenerAttribute", 1), ("UploadServerCertificate", 1)]
    );
    let certificates = cloud.slb.certificates().describe().send().await.expect("certificates");
    assert_eq!(certificates.len(), 1, "only the renewed certificate is left: {certificates:?}");
    assert_eq!(reaches(443, "/cart"), web_group);

    ingresses.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(get("web").await.metadata.deletion_timestamp.is_some(), "the finalizer holds it");
    let gone = reconciler.reconcile_all().await.expect("round after the delete");
    assert!(gone.served.is_empty());
    assert!(gone.report.writes() > 0);
    assert!(ingresses.get_opt("web").await.expect("get").is_none(), "the finalizer is removed");
    assert_eq!(group_of(&cloud, &lb, &owner, "web").await, None, "web's group is gone");
    assert_ne!(reaches(80, "/cart"), web_group);
}

#[tokio::test]
async fn run_routes_an_ingress_created_while_it_runs() {
    let env = own().await;
    let kube = client(&env).await;
    let cloud = cloud(1).await;
    let (lb, lb_address) = load_balancer(&cloud).await;
    let lb_address = lb_address.to_string();
    namespace(&kube, "shop").await;
    ready_node(&kube, "n0", &cloud.instances[0]).await;
    create::<IngressClass>(
        Api::all(kube.clone()),
        json!({"metadata": {"name": "ack-net", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
               "spec": {"controller": INGRESS_CONTROLLER}}),
    )
    .await;
    create::<Service>(Api::namespaced(kube.clone(), "shop"), node_port_service("web", 30080)).await;
    let owner = IngressOwner::new("c-run", "ack-net");
    let reconciler = IngressReconciler::new(kube.clone(), cloud.slb.clone(), owner.clone(), lb.clone())
        .with_plan_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()));
    let controller = tokio::spawn(reconciler.run());

    // No ingressClassName: the default class, ack-net's.
    let ingresses: Api<Ingress> = Api::namespaced(kube.clone(), "shop");
    create(
        ingresses.clone(),
        json!({"metadata": {"name": "web"}, "spec": {"rules": [{"host": "www.example.com", "http": {"paths": [path("/", "web")]}}]}}),
    )
    .await;
    let routed = apiserver::until(30, || {
        let ingresses = ingresses.clone();
        let want = lb_address.clone();
        async move { ingresses.get("web").await.ok().and_then(|i| address(&i)) == Some(want) }
    })
    .await;
    controller.abort();
    assert!(routed, "the Ingress got the load balancer's address within 30 s");
    let web_group = group_of(&cloud, &lb, &owner, "web").await.expect("web's group");
    assert_eq!(reaches(&cloud, &lb, 80, "www.example.com", "/"), web_group);
}

#[tokio::test]
async fn the_annotations_make_the_load_balancer_whose_backends_may_be_eni_mode_pods() {
    use ack_net_k8s::service::annotations;
    use ack_net_k8s::service::ServiceConfig;
    use ack_net_slb::binding::{CLUSTER_TAG, SERVICE_TAG};
    use ack_net_slb::BackendType;
    use k8s_openapi::api::discovery::v1::EndpointSlice;

    let env = own().await;
    let kube = client(&env).await;
    let cloud = cloud(2).await;
    namespace(&kube, "shop").await;
    for (i, id) in cloud.instances.iter().enumerate() {
        ready_node(&kube, &format!("n{i}"), id).await;
    }
    create::<IngressClass>(
        Api::all(kube.clone()),
        json!({"metadata": {"name": "ack-net", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
               "spec": {"controller": INGRESS_CONTROLLER}}),
    )
    .await;
    // An ENI-mode Service: its pods' addresses are on the instances' primary ENIs.
    create::<Service>(
        Api::namespaced(kube.clone(), "shop"),
        json!({"metadata": {"name": "pods", "annotations": {annotations::BACKEND_TYPE: "eni"}},
               "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}),
    )
    .await;
    let endpoints: Vec<Value> = cloud
        .enis
        .iter()
        .enumerate()
        .map(|(i, (_, ip))| json!({"addresses": [ip.to_string()], "nodeName": format!("n{i}"), "conditions": {"ready": true}}))
        .collect();
    create::<EndpointSlice>(
        Api::namespaced(kube.clone(), "shop"),
        json!({"metadata": {"name": "pods-1", "labels": {"kubernetes.io/service-name": "pods"}},
               "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
               "endpoints": endpoints}),
    )
    .await;
    let ingresses: Api<Ingress> = Api::namespaced(kube.clone(), "shop");
    create(
        ingresses.clone(),
        json!({"metadata": {"name": "web", "annotations": {
                   annotations::SPEC: "slb.s2.small", annotations::NAME: "shop-ingress",
                   annotations::ACL_STATUS: "on", annotations::ACL_ID: "acl-bp1office", annotations::ACL_TYPE: "white",
                   annotations::SCHEDULER: "wlc"}},
               "spec": {"rules": [{"host": "pods.example.com", "http": {"paths": [path("/", "pods")]}}]}}),
    )
    .await;

    let owner = IngressOwner::new("c-annotations", "ack-net");
    let reconciler = IngressReconciler::from_annotations(
        kube.clone(),
        cloud.slb.clone(),
        owner.clone(),
        ServiceConfig::new("c-annotations"),
    )
    .with_eni_lookup(std::sync::Arc::new(cloud.ecs.clone()))
    .with_plan_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()));

    let round = reconciler.reconcile_all().await.expect("first round");
    assert_eq!(round.load_balancer_report.calls.get("CreateLoadBalancer"), Some(&1), "{round:?}");
    let lb = round.load_balancer_id.clone().expect("a load balancer");
    let made = cloud.slb.load_balancers().get(&lb).await.expect("attributes");
    assert_eq!(made.name, "shop-ingress");
    assert_eq!(made.spec.as_ref().map(ToString::to_string).as_deref(), Some("slb.s2.small"));
    let tags: Vec<(String, String)> = made.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    assert!(tags.contains(&(CLUSTER_TAG.to_owned(), "c-annotations".to_owned())), "{tags:?}");
    assert!(tags.contains(&(SERVICE_TAG.to_owned(), "ingress/ack-net".to_owned())), "{tags:?}");
    let web = ingresses.get("web").await.expect("web");
    assert_eq!(address(&web), Some(made.address.to_string()));
    let http = cloud.slb.listeners().get(&lb, 80, ack_net_slb::ListenerProtocol::Http).await.expect("listener");
    let acl = http.spec.acl.expect("the annotated ACL");
    assert_eq!((acl.acl_id.as_str(), acl.kind), ("acl-bp1office", ack_net_slb::AclType::White));
    assert!(
        round.problems["shop/web"].iter().any(|p| matches!(p, Problem::Annotation(m) if m.contains("scheduler"))),
        "an annotation that means nothing here is reported: {:?}",
        round.problems
    );

    // The pods, on their ENIs, are the group's backends, and the rule reaches the group.
    let group = cloud
        .slb
        .vserver_groups()
        .describe(&lb)
        .send()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.name == owner.group_name(&ack_net_slb::binding::ingress::ServiceRef::new("shop", "pods", "80")))
        .expect("the group of shop/pods");
    let backends = cloud.slb.vserver_groups().get(&group.vserver_group_id).await.expect("group").backends;
    let mut held: Vec<(String, String, u16)> =
        backends.iter().map(|b| (b.server_id.clone(), b.server_ip.unwrap().to_string(), b.port)).collect();
    held.sort();
    let mut want: Vec<(String, String, u16)> =
        cloud.enis.iter().map(|(eni, ip)| (eni.clone(), ip.to_string(), 8080)).collect();
    want.sort();
    assert_eq!(held, want);
    assert!(backends.iter().all(|b| b.kind == BackendType::Eni), "{backends:?}");
    assert_eq!(reaches(&cloud, &lb, 80, "pods.example.com", "/x"), group.vserver_group_id.to_string());

    let again = reconciler.reconcile_all().await.expect("second round");
    assert_eq!(again.report.writes() + again.load_balancer_report.writes(), 0, "converged: {again:?}");
    assert_eq!(again.load_balancer_id.as_ref(), Some(&lb), "found again by its tags");

    // The last Ingress goes: its rules, then the load balancer made for it.
    ingresses.delete("web", &DeleteParams::default()).await.expect("delete");
    let gone = reconciler.reconcile_all().await.expect("round after the delete");
    assert_eq!(gone.load_balancer_report.calls.get("DeleteLoadBalancer"), Some(&1), "{gone:?}");
    assert_eq!(gone.load_balancer_id, None);
    assert!(cloud.slb.load_balancers().get(&lb).await.is_err(), "deleted");
    assert!(ingresses.get_opt("web").await.expect("get").is_none(), "the finalizer is removed");
}
