//! Load balancers against ack-net-mock: create, describe (paged and streamed), get, the
//! Set/Modify calls, delete protection, delete (not-found is success), the waiter, tags.

mod common;

use ack_net_core::ErrorInfo;

use std::time::Duration;

use ack_net_slb::{
    AddressType, Error, InstanceSpec, InternetChargeType, LoadBalancerStatus, ModificationProtectionStatus,
    NetworkType, Removed, Tag, WaitPolicy, WaitTimeout,
};
use common::*;
use futures_util::TryStreamExt;

#[tokio::test]
async fn lifecycle_of_an_internet_load_balancer() {
    let Env { mock: _mock, slb, stats } = env().await;
    let lbs = slb.load_balancers();
    let created = lbs
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S1Small)
        .name("svc-web")
        .internet_charge_type(InternetChargeType::PayByBandwidth)
        .bandwidth(10)
        .master_zone_id("cn-hangzhou-h".parse().unwrap())
        .slave_zone_id("cn-hangzhou-i".parse().unwrap())
        .delete_protection(true)
        .modification_protection(ModificationProtectionStatus::ConsoleProtection, Some("managed".into()))
        .tag(Tag::new("cluster", "c1"))
        .client_token("create-svc-web")
        .send()
        .await
        .unwrap();
    assert_eq!(created.name, "svc-web");
    assert_eq!(created.network_type, Some(NetworkType::Classic));
    // The same ClientToken does not create a second one.
    let again = lbs
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S1Small)
        .name("svc-web")
        .internet_charge_type(InternetChargeType::PayByBandwidth)
        .bandwidth(10)
        .master_zone_id("cn-hangzhou-h".parse().unwrap())
        .slave_zone_id("cn-hangzhou-i".parse().unwrap())
        .delete_protection(true)
        .modification_protection(ModificationProtectionStatus::ConsoleProtection, Some("managed".into()))
        .tag(Tag::new("cluster", "c1"))
        .client_token("create-svc-web")
        .send()
        .await
        .unwrap();
    assert_eq!(again.load_balancer_id, created.load_balancer_id);

    let id = created.load_balancer_id;
    let lb = lbs.get(&id).await.unwrap();
    assert_eq!(lb.status, LoadBalancerStatus::Active);
    assert_eq!(lb.spec, Some(InstanceSpec::S1Small));
    assert_eq!(lb.bandwidth, Some(10));
    assert_eq!(lb.internet_charge_type, Some(InternetChargeType::PayByBandwidth));
    assert_eq!(lb.master_zone_id.as_ref().map(|z| z.as_str()), Some("cn-hangzhou-h"));
    assert!(lb.delete_protection);
    assert_eq!(lb.modification_protection_status, Some(ModificationProtectionStatus::ConsoleProtection));
    assert_eq!(lb.modification_protection_reason.as_deref(), Some("managed"));
    assert_eq!(lb.tags, vec![Tag::new("cluster", "c1")]);

    // Protected: the delete is refused with the API's code.
    let e = lbs.delete(&id).await.unwrap_err();
    assert!(e.is_code("OperationDenied.DeleteProtectionIsOn"), "{e}");

    lbs.set_name(&id, "svc-web-2").send().await.unwrap();
    lbs.set_modification_protection(&id, ModificationProtectionStatus::NonProtection, None).send().await.unwrap();
    lbs.modify_internet_spec(&id, Some(InternetChargeType::PayByTraffic), None).send().await.unwrap();
    lbs.modify_instance_spec(&id, InstanceSpec::S3Small).send().await.unwrap();
    lbs.set_delete_protection(&id, false).send().await.unwrap();
    let lb = lbs.get(&id).await.unwrap();
    assert_eq!(lb.name, "svc-web-2");
    assert_eq!(lb.spec, Some(InstanceSpec::S3Small));
    assert_eq!(lb.internet_charge_type, Some(InternetChargeType::PayByTraffic));
    assert!(!lb.delete_protection);

    assert_eq!(lbs.delete(&id).await.unwrap(), Removed::Now, "deleted by this call");
    assert_eq!(lbs.delete(&id).await.unwrap(), Removed::Already, "already gone is success");
    assert!(lbs.get(&id).await.unwrap_err().is_not_found());
    assert_eq!(stats.calls("CreateLoadBalancer"), 2);
}

#[tokio::test]
async fn an_intranet_load_balancer_takes_its_vip_from_the_vswitch() {
    let Env { mock, slb, .. } = env().await;
    let vsw = vswitch(&mock);
    let created = slb
        .load_balancers()
        .create()
        .address_type(AddressType::Intranet)
        .vswitch_id(vsw.clone())
        .pay_by_clcu()
        .address("10.1.0.100".parse().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(created.address.to_string(), "10.1.0.100");
    assert_eq!(created.vswitch_id.as_ref(), Some(&vsw));
    let lb = slb.load_balancers().get(&created.load_balancer_id).await.unwrap();
    assert_eq!(lb.address_type, AddressType::Intranet);
    assert_eq!(lb.spec, None);
    assert_eq!(lb.instance_charge_type, Some(ack_net_slb::InstanceChargeType::PayByClcu));
    assert!(lb.vpc_id.is_some());
    let found = slb.load_balancers().describe().vswitch_id(vsw).send().await.unwrap();
    assert_eq!(found.load_balancers.len(), 1);
}

#[tokio::test]
async fn describe_pages_and_streams() {
    let Env { mock: _mock, slb, stats } = env().await;
    for i in 0..25 {
        let mut c = slb.load_balancers().create().name(format!("lb-{}", i % 3));
        if i % 5 == 0 {
            c = c.tag(Tag::new("team", "net"));
        }
        c.send().await.unwrap();
    }
    stats.reset();
    let all: Vec<_> = slb.load_balancers().describe().page_size(10).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(stats.calls("DescribeLoadBalancers"), 3, "3 pages of 10, no empty fourth");
    let page = slb.load_balancers().describe().page_size(10).page_number(3).send().await.unwrap();
    assert_eq!((page.load_balancers.len(), page.total_count), (5, Some(25)));
    let tagged: Vec<_> =
        slb.load_balancers().describe().tag(Tag::new("team", "net")).into_stream().try_collect().await.unwrap();
    assert_eq!(tagged.len(), 5);
    let named = slb.load_balancers().describe().name("lb-1").send().await.unwrap();
    assert_eq!(named.load_balancers.len(), 8);
    let two =
        slb.load_balancers().describe().id(&all[0].load_balancer_id).id(&all[7].load_balancer_id).send().await.unwrap();
    assert_eq!(two.load_balancers.len(), 2);
}

#[tokio::test]
async fn waits_until_active() {
    let Env { mock, slb, stats } = env().await;
    mock.with_state(|s| s.slb.set_delays(Duration::from_millis(300), Duration::ZERO));
    let id = internet_lb(&slb).await;
    assert_eq!(slb.load_balancers().get(&id).await.unwrap().status, LoadBalancerStatus::Inactive);
    let t0 = std::time::Instant::now();
    let lb = slb.load_balancers().wait_until_active(&id, &quick_wait()).await.unwrap();
    assert_eq!(lb.status, LoadBalancerStatus::Active);
    assert!(t0.elapsed() >= Duration::from_millis(250), "{:?}", t0.elapsed());
    assert!(stats.calls("DescribeLoadBalancerAttribute") >= 3);

    // Stopped on purpose: the waiter gives up at its deadline and says what it saw.
    slb.load_balancers().set_status(&id, LoadBalancerStatus::Inactive).send().await.unwrap();
    let short =
        WaitPolicy::new(Duration::from_millis(200)).with_backoff(Duration::from_millis(20), Duration::from_millis(40));
    match slb.load_balancers().wait_until_active(&id, &short).await.unwrap_err() {
        Error::WaitTimeout(WaitTimeout { last_seen, wanted, .. }) => {
            assert_eq!((last_seen.as_str(), wanted.as_str()), ("inactive", "active"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn tags_and_list_tag_resources() {
    let Env { mock: _mock, slb, .. } = env().await;
    let a = internet_lb(&slb).await;
    let b = internet_lb(&slb).await;
    let tags = slb.tags();
    tags.tag(&[a.clone(), b.clone()], &[Tag::new("cluster", "c1"), Tag::new("svc", "web")]).send().await.unwrap();
    let of_a: Vec<_> = tags.list().resource_id(&a).into_stream().try_collect().await.unwrap();
    assert_eq!(of_a.len(), 2);
    let with_tag: Vec<_> = tags.list().tag(Tag::new("cluster", "c1")).into_stream().try_collect().await.unwrap();
    assert_eq!(with_tag.len(), 4);
    tags.untag(std::slice::from_ref(&a), &["svc"]).send().await.unwrap();
    tags.untag_all(std::slice::from_ref(&b)).send().await.unwrap();
    assert_eq!(slb.load_balancers().get(&a).await.unwrap().tags, vec![Tag::new("cluster", "c1")]);
    assert!(slb.load_balancers().get(&b).await.unwrap().tags.is_empty());
    let missing: ack_net_slb::LoadBalancerId = "lb-doesnotexist".parse().unwrap();
    let e = tags.tag(&[missing], &[Tag::new("k", "v")]).send().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
