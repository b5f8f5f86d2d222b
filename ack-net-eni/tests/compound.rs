//! The compound operations against the mock: create_and_attach and detach_and_delete,
//! including a crash between their two steps and a failed attach.

mod common;

use ack_net_core::ErrorInfo;

use std::time::Duration;

use ack_net_eni::{Cleanup, EniStatus, Error, Removed, Tag, INTENT_TAG_KEY};
use common::{env, wait};

#[tokio::test]
async fn create_and_attach_then_detach_and_delete() {
    let e = env("ecs.g7.large").await;
    let eni = e
        .create()
        .secondary_ip_count(2)
        .client_token("node-a-eni-1")
        .send_and_attach(&e.instance, &wait())
        .await
        .unwrap();
    assert!(eni.is_in_use_on(&e.instance));
    assert_eq!(eni.tag(INTENT_TAG_KEY), Some("node-a-eni-1"));
    assert_eq!(eni.secondary_ips.len(), 2);
    assert_eq!(e.mock.count("CreateNetworkInterface"), 1);
    assert_eq!(e.mock.count("AttachNetworkInterface"), 1);

    // Run again: nothing new.
    let again = e
        .create()
        .secondary_ip_count(2)
        .client_token("node-a-eni-1")
        .send_and_attach(&e.instance, &wait())
        .await
        .unwrap();
    assert_eq!(again.id, eni.id);
    assert_eq!(e.mock.count("CreateNetworkInterface"), 1);
    assert_eq!(e.mock.count("AttachNetworkInterface"), 1);
    let found = e.ecs.network_interfaces().find_by_intent("node-a-eni-1").await.unwrap().unwrap();
    assert_eq!(found.id, eni.id);

    let done = e.ecs.network_interfaces().detach_and_delete(&eni.id, &wait()).await.unwrap();
    assert_eq!(done.detached_from.as_ref(), Some(&e.instance));
    assert_eq!(done.deleted, Removed::Now);
    assert!(e.ecs.network_interfaces().find_by_intent("node-a-eni-1").await.unwrap().is_none());
    // And again: already gone is success.
    let again = e.ecs.network_interfaces().detach_and_delete(&eni.id, &wait()).await.unwrap();
    assert_eq!(again.deleted, Removed::Already);
    assert_eq!(e.mock.count("DetachNetworkInterface"), 1);
    assert_eq!(e.mock.count("DeleteNetworkInterface"), 1);
}

#[tokio::test]
async fn create_and_attach_resumes_after_a_crash_between_create_and_attach() {
    let e = env("ecs.g7.large").await;
    // Step one as create_and_attach does it (ClientToken and intent tag), then "crash".
    let created =
        e.create().tag(Tag::new(INTENT_TAG_KEY, "node-b-eni-1")).client_token("node-b-eni-1").send().await.unwrap();
    assert_eq!(created.status, EniStatus::Available);
    // The re-run finds that ENI and attaches it instead of creating a second one.
    let eni = e.create().client_token("node-b-eni-1").send_and_attach(&e.instance, &wait()).await.unwrap();
    assert_eq!(eni.id, created.id);
    assert!(eni.is_in_use_on(&e.instance));
    assert_eq!(e.mock.count("CreateNetworkInterface"), 1);
    assert_eq!(
        e.ecs
            .network_interfaces()
            .describe()
            .tag(Tag::new(INTENT_TAG_KEY, ""))
            .send()
            .await
            .unwrap()
            .network_interfaces
            .len(),
        1
    );
}

#[tokio::test]
async fn create_and_attach_resumes_after_being_dropped_mid_attach() {
    let e = env("ecs.g7.large").await;
    e.mock.set_ecs_delays(Duration::from_millis(600), Duration::from_millis(100));
    // The future is dropped while it waits for the attach to settle.
    let dropped = tokio::time::timeout(
        Duration::from_millis(250),
        e.create().client_token("node-c-eni-1").send_and_attach(&e.instance, &wait()),
    )
    .await;
    assert!(dropped.is_err(), "the operation was cut short");
    assert_eq!(e.mock.count("AttachNetworkInterface"), 1);
    let eni = e.create().client_token("node-c-eni-1").send_and_attach(&e.instance, &wait()).await.unwrap();
    assert!(eni.is_in_use_on(&e.instance));
    assert_eq!(e.mock.count("CreateNetworkInterface"), 1);
    assert_eq!(e.mock.count("AttachNetworkInterface"), 1, "the attach in flight was waited for, not repeated");
}

#[tokio::test]
async fn a_failed_attach_leaves_nothing_behind() {
    let e = env("ecs.g6.large").await; // room for one secondary ENI
    e.create().client_token("node-d-eni-1").send_and_attach(&e.instance, &wait()).await.unwrap();
    let err = e.create().client_token("node-d-eni-2").send_and_attach(&e.instance, &wait()).await.unwrap_err();
    match &err {
        Error::AttachFailed { cleanup: Cleanup::Deleted, source, .. } => {
            assert!(source.is_code("EniPerInstanceLimitExceeded"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_capacity());
    assert!(err.to_string().contains("the new ENI was deleted"), "{err}");
    assert!(e.ecs.network_interfaces().find_by_intent("node-d-eni-2").await.unwrap().is_none());
    assert_eq!(e.mock.count("DeleteNetworkInterface"), 1);

    // An ENI of this intent attached elsewhere is not taken over.
    let other = e.another_instance("ecs.g7.large");
    let elsewhere = e.create().client_token("node-d-eni-3").send_and_attach(&other, &wait()).await.unwrap();
    let err = e.create().client_token("node-d-eni-3").send_and_attach(&e.instance, &wait()).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedState { .. }), "{err:?}");
    assert!(e.ecs.network_interfaces().get(&elsewhere.id).await.unwrap().is_in_use_on(&other));
}

#[tokio::test]
async fn detach_and_delete_resumes_after_a_crash_between_detach_and_delete() {
    let e = env("ecs.g7.large").await;
    let enis = e.ecs.network_interfaces();
    let eni = e.create().client_token("node-e-eni-1").send_and_attach(&e.instance, &wait()).await.unwrap();
    // Step one, then "crash" while it is still Detaching.
    enis.detach(&eni.id, &e.instance).send().await.unwrap();
    assert_eq!(enis.get(&eni.id).await.unwrap().status, EniStatus::Detaching);
    let done = enis.detach_and_delete(&eni.id, &wait()).await.unwrap();
    assert_eq!(done.deleted, Removed::Now);
    assert_eq!(e.mock.count("DetachNetworkInterface"), 1, "not detached twice");
    assert!(enis.get(&eni.id).await.unwrap_err().is_not_found());

    // Dropped mid-wait, then re-run.
    e.mock.set_ecs_delays(Duration::from_millis(100), Duration::from_millis(600));
    let eni = e.create().client_token("node-e-eni-2").send_and_attach(&e.instance, &wait()).await.unwrap();
    let cut = tokio::time::timeout(Duration::from_millis(200), enis.detach_and_delete(&eni.id, &wait())).await;
    assert!(cut.is_err());
    let done = enis.detach_and_delete(&eni.id, &wait()).await.unwrap();
    assert_eq!(done.deleted, Removed::Now);
    assert_eq!(e.mock.count("DetachNetworkInterface"), 2);

    // A primary ENI is refused, before any write.
    let primary = enis.describe().instance_id(&e.instance).send().await.unwrap().network_interfaces.remove(0);
    let err = enis.detach_and_delete(&primary.id, &wait()).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedState { .. }), "{err:?}");
}

#[tokio::test]
async fn detach_and_delete_waits_for_an_attach_in_flight() {
    let e = env("ecs.g7.large").await;
    let enis = e.ecs.network_interfaces();
    let eni = e.create().send().await.unwrap();
    enis.attach(&eni.id, &e.instance).send().await.unwrap();
    let done = enis.detach_and_delete(&eni.id, &wait()).await.unwrap();
    assert_eq!(done.detached_from.as_ref(), Some(&e.instance));
    assert_eq!(done.deleted, Removed::Now);
}
