//! The VSwitch capacity view over the real client and ack-net-mock: choice by policy, local
//! consumption between refreshes, TTL refresh, exhaustion handling.

mod common;

use std::time::Duration;

use ack_net_mock::FaultSpec;
use ack_net_vpc::capacity::is_vswitch_full;
use ack_net_vpc::{Error, SelectPolicy, VSwitchCapacityView, VSwitchId};
use common::{env, seed_vpc, seed_vswitch};

#[tokio::test]
async fn picks_by_policy_and_spreads_between_refreshes() {
    let e = env().await;
    let vpc = seed_vpc(&e.mock, "10.0.0.0/16");
    // 60, 28 and 12 free addresses.
    let big: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.0.0/26").parse().unwrap();
    let mid: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.1.0/27").parse().unwrap();
    let small: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.2.0/28").parse().unwrap();
    let ids = [small.clone(), mid.clone(), big.clone()];

    let most = VSwitchCapacityView::new(e.client.clone(), ids.clone(), SelectPolicy::MostFree);
    assert_eq!(most.reserve(40).await.unwrap(), big, "60 free");
    assert_eq!(most.reserve(10).await.unwrap(), mid, "28 now beats the 20 left locally in the big one");
    assert_eq!(most.reserve(10).await.unwrap(), big);
    assert_eq!(most.reserve(12).await.unwrap(), mid, "18 left");
    let snap = most.snapshot().await;
    let free: Vec<u64> = snap.iter().map(|s| s.free).collect();
    assert_eq!(free, [12, 6, 10]);
    assert!(matches!(most.reserve(13).await, Err(Error::NoVSwitchAvailable { wanted: 13, vswitches: 3 })));
    assert_eq!(e.stats.calls("DescribeVSwitchAttributes"), 3, "one refresh: one call per VSwitch");

    let ordered = VSwitchCapacityView::new(e.client.clone(), ids, SelectPolicy::Ordered);
    assert_eq!(ordered.reserve(12).await.unwrap(), small);
    assert_eq!(ordered.reserve(1).await.unwrap(), mid, "the small one is used up locally");
    assert_eq!(ordered.snapshot().await[0].zone_id.as_ref().unwrap().as_str(), "cn-hangzhou-h");
}

#[tokio::test]
async fn refreshes_after_the_ttl_and_handles_exhaustion() {
    let e = env().await;
    let vpc = seed_vpc(&e.mock, "10.0.0.0/16");
    let a: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.0.0/27").parse().unwrap();
    let b: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.1.0/28").parse().unwrap();
    let view = VSwitchCapacityView::new(e.client.clone(), [a.clone(), b.clone()], SelectPolicy::MostFree)
        .with_ttl(Duration::from_millis(200));
    assert_eq!(view.reserve(1).await.unwrap(), a);

    // Someone else fills `a` in the cloud; the view still believes its counts.
    e.mock.with_state(|s| while s.vpc.allocate_ipv4(a.as_str(), None).is_ok() {});
    assert_eq!(view.reserve(1).await.unwrap(), a, "stale until the TTL passes");
    // The cloud refuses the allocation: the caller marks `a` exhausted.
    let refused = e.mock.with_state(|s| s.vpc.allocate_ipv4(a.as_str(), None)).unwrap_err();
    assert!(is_vswitch_full(&refused.code), "{}", refused.code);
    view.mark_exhausted(&a, Duration::from_secs(60)).await;
    assert_eq!(view.reserve(1).await.unwrap(), b);

    // After the TTL the counts are fresh: `a` reports 0 anyway.
    pass_time(Duration::from_millis(250)).await;
    let calls = e.stats.calls("DescribeVSwitchAttributes");
    assert_eq!(view.reserve(1).await.unwrap(), b);
    assert_eq!(e.stats.calls("DescribeVSwitchAttributes"), calls + 2, "refreshed both");
    let snap = view.snapshot().await;
    assert_eq!((snap[0].free, snap[0].exhausted), (0, true));
    assert_eq!(snap[1].free, 12 - 1);
}

#[tokio::test]
async fn survives_a_failing_source_with_old_counts_and_skips_deleted_vswitches() {
    let e = env().await;
    let vpc = seed_vpc(&e.mock, "10.0.0.0/16");
    let a: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.0.0/27").parse().unwrap();
    let b: VSwitchId = seed_vswitch(&e.mock, &vpc, "cn-hangzhou-h", "10.0.1.0/28").parse().unwrap();
    let view = VSwitchCapacityView::new(e.client.clone(), [a.clone(), b.clone()], SelectPolicy::MostFree)
        .with_ttl(Duration::from_millis(100));
    assert_eq!(view.reserve(1).await.unwrap(), a);
    e.mock.set_fault("DescribeVSwitchAttributes", FaultSpec::server_error(1.0)).unwrap();
    pass_time(Duration::from_millis(150)).await;
    assert_eq!(view.reserve(1).await.unwrap(), a, "refresh failed: the old counts serve");
    e.mock.clear_faults();
    e.client.vswitches().delete(&a).send().await.unwrap();
    assert!(view.refresh().await.is_ok());
    assert_eq!(view.reserve(1).await.unwrap(), b, "a deleted VSwitch is skipped");
    assert!(!view.snapshot().await[0].found);
}

/// Moves the tokio clock (which the view's TTLs read) forward by `d` at once, without waiting:
/// paused only for the jump, so that the calls to the mock on loopback keep real time.
async fn pass_time(d: Duration) {
    tokio::time::pause();
    tokio::time::advance(d).await;
    tokio::time::resume();
}
