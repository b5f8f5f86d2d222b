//! VPCs and VSwitches against ack-net-mock: every call, tags, client tokens, paging, waiters,
//! faults and bad input.

mod common;

use ack_net_core::ErrorInfo;

use std::time::Duration;

use ack_net_core::RetryPolicy;
use ack_net_mock::FaultSpec;
use ack_net_mock::MockCloud;
use ack_net_vpc::cidr::plan_vswitches;
use ack_net_vpc::{Error, ResourceStatus, RouteTableType, Tag, VSwitchId, VpcId, WaitPolicy, WaitTimeout, ZoneId};
use common::{env, env_with, fast_retries, id, quick_wait, seed_vpc, seed_vswitch};
use futures_util::TryStreamExt;

#[tokio::test]
async fn vpc_and_vswitch_lifecycle() {
    let e = env().await;
    let c = &e.client;
    let vpc = c
        .vpcs()
        .create()
        .cidr_block("10.0.0.0/8")
        .name("lifecycle")
        .description("made by a test")
        .tag(Tag::new("team", "net"))
        .send_and_wait(&quick_wait())
        .await
        .unwrap();
    assert_eq!(vpc.status, ResourceStatus::Available);
    assert_eq!(vpc.vpc_name, "lifecycle");
    assert_eq!(vpc.cidr_block.to_string(), "10.0.0.0/8");
    assert_eq!(vpc.tags, vec![Tag::new("team", "net")]);
    assert_eq!(vpc.route_table_ids.len(), 1);
    assert!(vpc.vrouter_id.is_some());

    // Two VSwitches in two zones, planned.
    let zones: Vec<(ZoneId, u8)> = vec![("cn-hangzhou-h".parse().unwrap(), 20), ("cn-hangzhou-i".parse().unwrap(), 24)];
    let mut created = Vec::new();
    for p in plan_vswitches(vpc.cidr_block, &[], &zones).unwrap() {
        let vsw = c
            .vswitches()
            .create(&vpc.vpc_id, &p.zone_id, p.cidr)
            .name(format!("pods-{}", p.zone_id))
            .tag(Tag::new("role", "pods"))
            .send_and_wait(&quick_wait())
            .await
            .unwrap();
        assert_eq!(vsw.zone_id, p.zone_id);
        assert_eq!(vsw.cidr_block, p.cidr);
        assert_eq!(vsw.vpc_id, vpc.vpc_id);
        created.push(vsw);
    }
    assert_eq!(created[0].available_ip_address_count, 4092, "a /20 less the 4 reserved");
    assert_eq!(created[1].available_ip_address_count, 252);

    // Renamed, described; an unknown VSwitch is not found, a bad name never sent.
    c.vswitches().modify(&created[0].vswitch_id).name("renamed").description("d").send().await.unwrap();
    let renamed = c.vswitches().get(&created[0].vswitch_id).await.unwrap();
    assert_eq!((renamed.vswitch_name.as_str(), renamed.description.as_str()), ("renamed", "d"));
    assert!(c.vswitches().modify(&id("vsw-nothere")).name("x").send().await.unwrap_err().is_not_found());
    assert!(c.vswitches().modify(&created[0].vswitch_id).name("http://x").to_request().unwrap_err().is_invalid_input());

    // Describe: by VPC, by zone, by tag; attributes.
    let all: Vec<_> = c.vswitches().describe().vpc_id(&vpc.vpc_id).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 2);
    let in_i =
        c.vswitches().describe().vpc_id(&vpc.vpc_id).zone_id(id::<ZoneId>("cn-hangzhou-i")).send().await.unwrap();
    assert_eq!(in_i.total_count, 1);
    assert_eq!(in_i.vswitches[0].vswitch_id, created[1].vswitch_id);
    let tagged = c.vswitches().describe().tag(Tag::new("role", "pods")).send().await.unwrap();
    assert_eq!(tagged.total_count, 2);
    let attrs = c.vswitches().get(&created[0].vswitch_id).await.unwrap();
    assert_eq!(attrs.route_table.unwrap().route_table_id.as_ref(), vpc.route_table_ids.first());
    let by_tag = c.vpcs().describe().tag(Tag::new("team", "net")).send().await.unwrap();
    assert_eq!(by_tag.vpcs.len(), 1);
    assert_eq!(c.vpcs().describe().tag(Tag::new("team", "other")).send().await.unwrap().total_count, 0);
    let v = c.vpcs().get(&vpc.vpc_id).await.unwrap();
    assert_eq!(v.vswitch_ids.len(), 2);

    // The VPC renamed and described; an unknown one is not found, a bad name never sent.
    c.vpcs().modify(&vpc.vpc_id).name("renamed-vpc").description("the pods' VPC").send().await.unwrap();
    let v = c.vpcs().get(&vpc.vpc_id).await.unwrap();
    assert_eq!((v.vpc_name.as_str(), v.description.as_str()), ("renamed-vpc", "the pods' VPC"));
    assert!(c.vpcs().modify(&id("vpc-nothere")).name("x").send().await.unwrap_err().is_not_found());
    assert!(c.vpcs().modify(&vpc.vpc_id).name("x".repeat(129)).to_request().unwrap_err().is_invalid_input());

    // The route table.
    let tables: Vec<_> = c.route_tables().describe().vpc_id(&vpc.vpc_id).into_stream().try_collect().await.unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].route_table_type, Some(RouteTableType::System));
    assert_eq!(tables[0].vswitch_ids.len(), 2);

    // A VPC with VSwitches cannot go; without, it can.
    let err = c.vpcs().delete(&vpc.vpc_id).send().await.unwrap_err();
    assert!(err.code().unwrap().starts_with("DependencyViolation"), "{err}");
    for v in &created {
        c.vswitches().delete(&v.vswitch_id).send().await.unwrap();
    }
    assert!(c.vswitches().get(&created[0].vswitch_id).await.unwrap_err().is_not_found());
    c.vpcs().delete(&vpc.vpc_id).send().await.unwrap();
    assert!(c.vpcs().get(&vpc.vpc_id).await.unwrap_err().is_not_found());
    let err = c.vpcs().delete(&vpc.vpc_id).send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn client_tokens_make_creates_idempotent() {
    let e = env().await;
    let c = &e.client;
    let a = c.vpcs().create().cidr_block("192.168.0.0/16").client_token("vpc-intent-1").send().await.unwrap();
    let b = c.vpcs().create().cidr_block("192.168.0.0/16").client_token("vpc-intent-1").send().await.unwrap();
    assert_eq!(a.vpc_id, b.vpc_id, "same token, same VPC");
    let err = c.vpcs().create().cidr_block("172.16.0.0/16").client_token("vpc-intent-1").send().await.unwrap_err();
    assert!(err.is_code("IdempotentParameterMismatch"), "{err}");
    let s1 = c
        .vswitches()
        .create(&a.vpc_id, &id("cn-hangzhou-h"), "192.168.0.0/24")
        .client_token("vsw-1")
        .send()
        .await
        .unwrap();
    let s2 = c
        .vswitches()
        .create(&a.vpc_id, &id("cn-hangzhou-h"), "192.168.0.0/24")
        .client_token("vsw-1")
        .send()
        .await
        .unwrap();
    assert_eq!(s1.vswitch_id, s2.vswitch_id);
    let vpcs = c.vpcs().describe().send().await.unwrap();
    assert_eq!(vpcs.total_count, 1);
}

#[tokio::test]
async fn listings_stream_over_several_pages() {
    let e = env().await;
    let vpc = seed_vpc(&e.mock, "10.0.0.0/8");
    for i in 0..25 {
        seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", &format!("10.0.{i}.0/24"));
    }
    for i in 0..11 {
        seed_vpc(&e.mock, &format!("192.168.{i}.0/24"));
    }
    let c = &e.client;
    e.stats.reset();
    let all: Vec<_> =
        c.vswitches().describe().vpc_id(id::<VpcId>(&vpc)).page_size(10).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 25);
    let mut ids: Vec<_> = all.iter().map(|v| v.vswitch_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "no VSwitch twice");
    assert_eq!(e.stats.calls("DescribeVSwitches"), 3);
    let pages = e.mock.calls_of("DescribeVSwitches");
    let numbers: Vec<&str> = pages.iter().map(|c| c.params["PageNumber"].as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3"]);

    let pages: Vec<_> =
        c.vswitches().describe().vpc_id(id::<VpcId>(&vpc)).page_size(10).into_pages().try_collect().await.unwrap();
    let sizes: Vec<_> = pages.iter().map(|p| (p.page_number, p.vswitches.len())).collect();
    assert_eq!(sizes, [(1, 10), (2, 10), (3, 5)], "pages as the API answered them");

    let page2 = c.vswitches().describe().vpc_id(id::<VpcId>(&vpc)).page_size(10).page_number(3).send().await.unwrap();
    assert_eq!((page2.total_count, page2.page_number, page2.vswitches.len()), (25, 3, 5));

    let vpcs: Vec<_> = c.vpcs().describe().page_size(5).into_stream().try_collect().await.unwrap();
    assert_eq!(vpcs.len(), 12);
    assert_eq!(e.stats.calls("DescribeVpcs"), 3);
    let tables: Vec<_> = c.route_tables().describe().page_size(5).into_stream().try_collect().await.unwrap();
    assert_eq!(tables.len(), 12);
    assert_eq!(e.stats.calls("DescribeRouteTableList"), 3);
}

#[tokio::test]
async fn waiters_see_pending_then_available() {
    let e = env_with(MockCloud::builder().seed(2).pending_delay(Duration::from_millis(300)), fast_retries()).await;
    let c = &e.client;
    let created = c.vpcs().create().cidr_block("10.0.0.0/16").send().await.unwrap();
    let now = c.vpcs().get(&created.vpc_id).await.unwrap();
    assert_eq!(now.status, ResourceStatus::Pending);
    // A VSwitch cannot be made in a Pending VPC.
    let err = c.vswitches().create(&created.vpc_id, &id("cn-hangzhou-h"), "10.0.0.0/24").send().await.unwrap_err();
    assert!(err.code().is_some_and(|c| c.starts_with("Incorrect")), "{err}");
    let vpc = c.vpcs().wait_until_available(&created.vpc_id, &quick_wait()).await.unwrap();
    assert_eq!(vpc.status, ResourceStatus::Available);
    assert!(e.stats.calls("DescribeVpcs") >= 3, "looked more than once");

    let before = e.stats.calls("DescribeVSwitchAttributes");
    let vsw = c
        .vswitches()
        .create(&vpc.vpc_id, &id("cn-hangzhou-h"), "10.0.0.0/24")
        .send_and_wait(&quick_wait())
        .await
        .unwrap();
    assert_eq!(vsw.status, ResourceStatus::Available);
    assert!(e.stats.calls("DescribeVSwitchAttributes") - before >= 2);

    // Too short a timeout: a typed timeout naming the last status seen.
    let slow = c.vpcs().create().cidr_block("10.1.0.0/16").send().await.unwrap();
    let policy =
        WaitPolicy::new(Duration::from_millis(100)).with_backoff(Duration::from_millis(20), Duration::from_millis(20));
    match c.vpcs().wait_until_available(&slow.vpc_id, &policy).await.unwrap_err() {
        Error::WaitTimeout(WaitTimeout { resource, last_seen, waited, .. }) => {
            assert_eq!((resource, last_seen.as_str()), ("VPC", "Pending"));
            assert!(waited < Duration::from_millis(300), "{waited:?}");
        }
        other => panic!("{other}"),
    }
    // A VSwitch that does not exist is waited for until the deadline ("not found" may be lag).
    let err = c.vswitches().wait_until_available(&id("vsw-doesnotexist"), &policy).await.unwrap_err();
    assert!(matches!(err, Error::WaitTimeout(WaitTimeout { ref last_seen, .. }) if last_seen == "not found"), "{err}");
}

#[tokio::test]
async fn waiters_survive_throttling_and_5xx() {
    // No retries in the client: the waiter alone must ride out the faults.
    let e = env_with(
        MockCloud::builder()
            .seed(3)
            .pending_delay(Duration::from_millis(100))
            .fault("DescribeVpcs", FaultSpec::throttle(0.4).with_server_error(0.3))
            .fault("DescribeVSwitchAttributes", FaultSpec::throttle(0.4).with_server_error(0.3)),
        RetryPolicy::no_retry(),
    )
    .await;
    let c = &e.client;
    let vpc = c.vpcs().create().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc = c.vpcs().wait_until_available(&vpc.vpc_id, &quick_wait()).await.unwrap();
    let vsw = c.vswitches().create(&vpc.vpc_id, &id("cn-hangzhou-h"), "10.0.0.0/24").send().await.unwrap();
    c.vswitches().wait_until_available(&vsw.vswitch_id, &quick_wait()).await.unwrap();
    let faulted = e.mock.calls().iter().filter(|c| c.code.as_deref().is_some_and(|c| !c.is_empty())).count();
    assert!(faulted > 0, "faults were injected");
}

#[tokio::test]
async fn client_retries_carry_creates_through_faults() {
    let e = env_with(
        MockCloud::builder().seed(4).fault("*", FaultSpec::throttle(0.3).with_server_error(0.2)),
        fast_retries().with_attempt_limit(10),
    )
    .await;
    let c = &e.client;
    let vpc = c.vpcs().create().cidr_block("10.0.0.0/16").send_and_wait(&quick_wait()).await.unwrap();
    for i in 0..5 {
        c.vswitches()
            .create(&vpc.vpc_id, &id("cn-hangzhou-h"), format!("10.0.{i}.0/24"))
            .send_and_wait(&quick_wait())
            .await
            .unwrap();
    }
    let all: Vec<_> = c.vswitches().describe().vpc_id(&vpc.vpc_id).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 5, "retried creates made each VSwitch exactly once");
    assert_eq!(e.mock.with_state(|s| s.vpc.vpcs.len()), 1);
    assert!(e.stats.snapshot().values().any(|c| c.errors > 0), "faults were seen");
}

#[tokio::test]
async fn bad_input_is_rejected_before_or_by_the_cloud() {
    let e = env().await;
    let c = &e.client;
    let vpc = seed_vpc(&e.mock, "10.0.0.0/16");
    seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.0.0/24");
    e.mock.clear_calls();

    // Caught before any call.
    let local = [
        c.vswitches().create(&id(&vpc), &id("cn-beijing-a"), "10.0.1.0/24").send().await.unwrap_err(),
        Error::from("vtb-123".parse::<VpcId>().unwrap_err()),
        c.vswitches().create(&id(&vpc), &id("cn-hangzhou-h"), "10.0.1.1/24").send().await.unwrap_err(),
        c.vswitches().create(&id(&vpc), &id("cn-hangzhou-h"), "10.0.0.0/30").send().await.unwrap_err(),
        c.vpcs().create().cidr_block("127.0.0.0/8").send().await.unwrap_err(),
        Error::from("vpc-123".parse::<VSwitchId>().unwrap_err()),
    ];
    assert!(matches!(local[0], Error::ZoneNotInRegion { .. }));
    for err in &local {
        assert!(err.is_invalid_input(), "{err}");
    }
    assert!(e.mock.calls().is_empty(), "nothing reached the cloud");

    // Only the cloud knows: a zone the region lacks, a block outside the VPC or overlapping.
    let zone = c.vswitches().create(&id(&vpc), &id("cn-hangzhou-z"), "10.0.1.0/24").send().await.unwrap_err();
    assert!(zone.is_code("InvalidZoneId.NotFound"), "{zone}");
    let outside = c.vswitches().create(&id(&vpc), &id("cn-hangzhou-h"), "10.1.0.0/24").send().await.unwrap_err();
    assert!(outside.is_code("InvalidCidrBlock.Malformed"), "{outside}");
    let overlap = c.vswitches().create(&id(&vpc), &id("cn-hangzhou-h"), "10.0.0.128/25").send().await.unwrap_err();
    assert!(overlap.is_code("InvalidCidrBlock.Overlapped"), "{overlap}");
    let missing =
        c.vswitches().create(&id("vpc-nothere"), &id("cn-hangzhou-h"), "10.0.1.0/24").send().await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}
