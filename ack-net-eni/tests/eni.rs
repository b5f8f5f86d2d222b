//! Every ENI call against the mock: create, describe (filters, pages, stream), get, attach,
//! detach, delete, addresses, waiters, capacity errors and bad input.

mod common;

use ack_net_core::ErrorInfo;

use std::net::Ipv4Addr;
use std::time::Duration;

use ack_net_eni::{
    EniId, EniStatus, EniType, Error, InstanceId, Removed, Tag, VSwitchId, VpcId, WaitPolicy, WaitTimeout,
};
use common::{env, wait};
use futures_util::TryStreamExt;

#[tokio::test]
async fn create_get_and_describe_with_filters() {
    let e = env("ecs.g7.large").await;
    let eni = e
        .create()
        .secondary_ip_count(3)
        .tag(Tag::new("owner", "eni-tests"))
        .name("pods-1")
        .description("pod addresses")
        .client_token("create-1")
        .send()
        .await
        .unwrap();
    assert_eq!(eni.status, EniStatus::Available);
    assert_eq!(eni.eni_type, EniType::Secondary);
    assert_eq!(eni.secondary_ips.len(), 3);
    assert_eq!(eni.vswitch_id.as_str(), e.vsw);
    assert_eq!(eni.security_group_ids, vec![e.sg.clone()]);
    assert_eq!(eni.tag("owner"), Some("eni-tests"));
    assert_eq!(eni.name, "pods-1");
    assert_eq!(eni.instance_id, None);

    let got = e.ecs.network_interfaces().get(&eni.id).await.unwrap();
    assert_eq!(got.id, eni.id);
    assert_eq!(got.mac, eni.mac);
    assert_eq!(got.secondary_ips, eni.secondary_ips);
    assert_eq!(got.vpc_id.as_ref().map(|v| v.as_str()), Some(e.vpc.as_str()));

    let enis = e.ecs.network_interfaces();
    let one = |d: ack_net_eni::eni::DescribeNetworkInterfaces| async move {
        d.send().await.unwrap().network_interfaces.into_iter().map(|n| n.id).collect::<Vec<_>>()
    };
    assert_eq!(one(enis.describe().tag(Tag::new("owner", "eni-tests"))).await, vec![eni.id.clone()]);
    assert_eq!(one(enis.describe().tag(Tag::new("owner", ""))).await, vec![eni.id.clone()]);
    assert!(one(enis.describe().tag(Tag::new("owner", "else"))).await.is_empty());
    assert_eq!(one(enis.describe().ids([eni.id.clone()])).await, vec![eni.id.clone()]);
    assert_eq!(one(enis.describe().name("pods-1")).await, vec![eni.id.clone()]);
    assert_eq!(one(enis.describe().primary_ip(eni.primary_ip)).await, vec![eni.id.clone()]);
    assert_eq!(one(enis.describe().private_ips([eni.secondary_ips[1]])).await, vec![eni.id.clone()]);
    assert_eq!(one(enis.describe().status(EniStatus::Available)).await, vec![eni.id.clone()]);
    assert_eq!(
        one(enis.describe().eni_type(EniType::Secondary).vswitch_id(e.vsw.parse::<VSwitchId>().unwrap())).await,
        vec![eni.id.clone()]
    );
    assert_eq!(
        one(enis.describe().vpc_id(e.vpc.parse::<VpcId>().unwrap()).eni_type(EniType::Secondary)).await,
        vec![eni.id.clone()]
    );
    assert_eq!(one(enis.describe().security_group_id(&e.sg)).await.len(), 2, "the instance's primary ENI too");
    let primary = enis.describe().instance_id(&e.instance).send().await.unwrap().network_interfaces;
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0].eni_type, EniType::Primary);
    assert_eq!(primary[0].device_index, Some(0));
    assert!(primary[0].is_in_use_on(&e.instance));
}

#[tokio::test]
async fn pagination_across_pages() {
    let e = env("ecs.g7.large").await;
    let mut made = Vec::new();
    for i in 0..23 {
        made.push(e.create().tag(Tag::new("batch", "b1")).client_token(format!("page-{i}")).send().await.unwrap().id);
    }
    e.stats.reset();
    let all: Vec<_> = e
        .ecs
        .network_interfaces()
        .describe()
        .tag(Tag::new("batch", "b1"))
        .max_results(10)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.iter().map(|n| n.id.clone()).collect::<Vec<_>>(), made);
    assert_eq!(e.stats.calls("DescribeNetworkInterfaces"), 3);

    // By hand, with the token.
    let p1 = e.ecs.network_interfaces().describe().tag(Tag::new("batch", "b1")).max_results(20).send().await.unwrap();
    assert_eq!(p1.network_interfaces.len(), 20);
    assert_eq!(p1.total_count, Some(23));
    let p2 = e
        .ecs
        .network_interfaces()
        .describe()
        .tag(Tag::new("batch", "b1"))
        .max_results(20)
        .next_token(&p1.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(p2.network_interfaces.len(), 3);
    assert!(p2.next_token.is_empty());
}

#[tokio::test]
async fn attach_detach_delete_with_waiters() {
    let e = env("ecs.g7.large").await;
    let enis = e.ecs.network_interfaces();
    let eni = e.create().send().await.unwrap();
    enis.attach(&eni.id, &e.instance).send().await.unwrap();
    let seen = enis.get(&eni.id).await.unwrap();
    assert_eq!(seen.status, EniStatus::Attaching);
    assert_eq!(seen.instance_id.as_ref(), Some(&e.instance));
    let attached = enis.wait_until_in_use(&eni.id, &e.instance, &wait()).await.unwrap();
    assert_eq!(attached.device_index, Some(1));

    // Deleting an attached ENI is refused (and retryable by class: the state may change).
    let refused = enis.delete(&eni.id).send().await.unwrap_err();
    assert!(refused.is_code("InvalidOperation.InvalidEniState"), "{refused}");

    assert_eq!(enis.detach(&eni.id, &e.instance).send().await.unwrap(), Removed::Now);
    assert_eq!(enis.get(&eni.id).await.unwrap().status, EniStatus::Detaching);
    let available = enis.wait_until_available(&eni.id, &wait()).await.unwrap();
    assert_eq!(available.instance_id, None);

    assert_eq!(enis.delete(&eni.id).send().await.unwrap(), Removed::Now);
    enis.wait_until_gone(&eni.id, &wait()).await.unwrap();
    assert_eq!(enis.delete(&eni.id).send().await.unwrap(), Removed::Already);
    assert!(enis.get(&eni.id).await.unwrap_err().is_not_found());
    // Detaching from an instance that does not exist counts as done.
    let other = e.create().send().await.unwrap();
    assert_eq!(enis.detach(&other.id, &"i-doesnotexist".parse().unwrap()).send().await.unwrap(), Removed::Already);
}

#[tokio::test]
async fn a_waiter_times_out_with_what_it_saw() {
    let e = env("ecs.g7.large").await;
    let eni = e.create().send().await.unwrap();
    let short =
        WaitPolicy::new(Duration::from_millis(300)).with_backoff(Duration::from_millis(20), Duration::from_millis(50));
    match e.ecs.network_interfaces().wait_until_in_use(&eni.id, &e.instance, &short).await {
        Err(Error::WaitTimeout(WaitTimeout { last_seen, .. })) => assert_eq!(last_seen, "Available"),
        other => panic!("{other:?}"),
    }
    let err = e.ecs.network_interfaces().wait_until_gone(&eni.id, &short).await.unwrap_err();
    assert_eq!(err.class(), ack_net_core::ErrorClass::Timeout);
}

#[tokio::test]
async fn secondary_addresses() {
    let e = env("ecs.g7.large").await; // 6 addresses per ENI: 5 secondary once attached
    let enis = e.ecs.network_interfaces();
    let eni = e.create().send().await.unwrap();
    let got = enis.assign_private_ips(&eni.id).count(2).client_token("assign-1").send().await.unwrap();
    assert_eq!(got.len(), 2);
    let wanted = Ipv4Addr::new(192, 168, 1, 200);
    assert_eq!(enis.assign_private_ips(&eni.id).addresses([wanted]).send().await.unwrap(), vec![wanted]);
    let now = enis.get(&eni.id).await.unwrap();
    assert_eq!(now.secondary_ips.len(), 3);
    assert!(now.secondary_ips.contains(&wanted));

    assert_eq!(enis.unassign_private_ips(&eni.id, [got[0]]).send().await.unwrap(), Removed::Now);
    assert_eq!(enis.unassign_private_ips(&eni.id, [got[0]]).send().await.unwrap(), Removed::Already);
    // One still there, one gone: the one still there is removed all the same.
    assert_eq!(enis.unassign_private_ips(&eni.id, [got[0], got[1]]).send().await.unwrap(), Removed::Now);
    assert_eq!(enis.get(&eni.id).await.unwrap().secondary_ips, vec![wanted]);

    // The instance type's quota, once attached: a capacity error.
    enis.attach(&eni.id, &e.instance).send().await.unwrap();
    enis.wait_until_in_use(&eni.id, &e.instance, &wait()).await.unwrap();
    enis.assign_private_ips(&eni.id).count(4).send().await.unwrap();
    let full = enis.assign_private_ips(&eni.id).count(1).send().await.unwrap_err();
    assert!(full.is_capacity(), "{full}");
    assert!(full.is_code("InvalidOperation.Ipv4CountExceeded"));

    // An ENI that is gone: unassigning is done.
    assert_eq!(
        enis.unassign_private_ips(&"eni-doesnotexist".parse().unwrap(), [wanted]).send().await.unwrap(),
        Removed::Already
    );
}

#[tokio::test]
async fn ipv6_addresses() {
    let e = env("ecs.g7.large").await;
    let enis = e.ecs.network_interfaces();
    let eni = enis.create(&e.vsw6.parse().unwrap()).security_group(&e.sg).ipv6_count(1).send().await.unwrap();
    assert_eq!(eni.ipv6.len(), 1);
    let more = enis.assign_ipv6(&eni.id).count(2).send().await.unwrap();
    assert_eq!(more.len(), 2);
    assert_eq!(enis.get(&eni.id).await.unwrap().ipv6.len(), 3);
    assert_eq!(enis.describe().ipv6_addresses([more[0]]).send().await.unwrap().network_interfaces.len(), 1);
    assert_eq!(enis.unassign_ipv6(&eni.id, [more[0]]).send().await.unwrap(), Removed::Now);
    assert_eq!(enis.unassign_ipv6(&eni.id, [more[0]]).send().await.unwrap(), Removed::Already);

    // IPv6 on a VSwitch without it: the API refuses; when the VSwitch is known, we refuse first.
    let plain = e.create().send().await.unwrap();
    let err = enis.assign_ipv6(&plain.id).count(1).send().await.unwrap_err();
    assert!(err.is_code("InvalidVSwitch.Ipv6NotTurnOn"), "{err}");
    let vpc = ack_net_vpc::VpcClient::new(e.ecs.rpc().clone());
    let plain_vsw = vpc.vswitches().get(&e.vsw.parse().unwrap()).await.unwrap();
    e.stats.reset();
    let err = enis.create_in(&plain_vsw).security_group(&e.sg).ipv6_count(1).send().await.unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert_eq!(e.stats.total(), 0);
    let v6_vsw = vpc.vswitches().get(&e.vsw6.parse().unwrap()).await.unwrap();
    assert_eq!(enis.create_in(&v6_vsw).security_group(&e.sg).ipv6_count(1).send().await.unwrap().ipv6.len(), 1);
}

#[tokio::test]
async fn capacity_and_bad_input() {
    let e = env("ecs.g6.large").await; // 2 ENIs: the primary and one more
    let enis = e.ecs.network_interfaces();
    let first = e.create().send().await.unwrap();
    enis.attach(&first.id, &e.instance).send().await.unwrap();
    let second = e.create().send().await.unwrap();
    let err = enis.attach(&second.id, &e.instance).send().await.unwrap_err();
    assert!(err.is_capacity(), "{err}");
    assert!(err.is_code("EniPerInstanceLimitExceeded"));

    e.stats.reset();
    let many: Vec<Ipv4Addr> = (1..=11).map(|i| Ipv4Addr::new(192, 168, 1, 100 + i)).collect();
    assert!(enis.assign_private_ips(&second.id).addresses(many).send().await.unwrap_err().is_invalid_input());
    assert!(enis.assign_private_ips(&second.id).count(11).send().await.unwrap_err().is_invalid_input());
    assert!(Error::from("sg-1".parse::<InstanceId>().unwrap_err()).is_invalid_input());
    assert!(Error::from("i-123".parse::<EniId>().unwrap_err()).is_invalid_input());
    assert!(enis.create(&"vsw-1".parse().unwrap()).send().await.unwrap_err().is_invalid_input(), "no security group");
    assert!(enis.describe().max_results(5).send().await.unwrap_err().is_invalid_input());
    assert_eq!(e.stats.total(), 0, "bad input never reaches the API");
}
