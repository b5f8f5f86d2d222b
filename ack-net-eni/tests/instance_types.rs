//! Instance types against the mock: describe, paging, and the single-flight limits cache.

mod common;

use ack_net_core::ErrorInfo;

use ack_net_eni::{Error, InstanceTypeId};
use common::env;
use futures_util::TryStreamExt;

#[tokio::test]
async fn describe_and_page() {
    let e = env("ecs.g7.large").await;
    let types = e.ecs.instance_types();
    let page = types
        .describe()
        .instance_types(["ecs.g7.large".parse().unwrap(), "ecs.c7.2xlarge".parse().unwrap()])
        .send()
        .await
        .unwrap();
    assert_eq!(page.instance_types.len(), 2);
    let g7 = page.instance_types.iter().find(|t| t.instance_type_id.as_str() == "ecs.g7.large").unwrap();
    assert_eq!((g7.eni_quantity, g7.eni_private_ip_address_quantity), (3, 6));
    assert!(g7.eni_trunk_supported);

    let all: Vec<_> = types.describe().max_results(3).into_stream().try_collect().await.unwrap();
    assert!(all.len() > 3);
    assert_eq!(e.stats.calls("DescribeInstanceTypes") as usize, 1 + all.len().div_ceil(3));
}

#[tokio::test]
async fn limits_are_fetched_once_however_many_ask() {
    let e = env("ecs.g7.large").await;
    let types = e.ecs.instance_types();
    let c7: InstanceTypeId = "ecs.c7.2xlarge".parse().unwrap();
    let asks = (0..32).map(|_| {
        let (t, c7) = (types.clone(), c7.clone());
        tokio::spawn(async move { t.limits(&c7).await })
    });
    for r in futures_util::future::join_all(asks).await {
        let l = r.unwrap().unwrap();
        assert_eq!(l.max_pods_multi_ip(), 60);
        assert_eq!(l.adapters, 4);
    }
    assert_eq!(e.stats.calls("DescribeInstanceTypes"), 1);
    assert!(types.cached(&c7).is_some());
    // A clone of the client shares the cache.
    e.ecs.clone().instance_types().limits(&c7).await.unwrap();
    assert_eq!(e.stats.calls("DescribeInstanceTypes"), 1);
    types.clear_cache();
    let l = types.limits(&"ecs.g6.large".parse().unwrap()).await.unwrap();
    assert_eq!((l.adapters, l.ipv4_per_adapter, l.max_pods_multi_ip()), (2, 6, 6));
    assert_eq!(e.stats.calls("DescribeInstanceTypes"), 2);

    // Unknown types are typed errors, not cached; malformed ones never reach the API.
    let nope: InstanceTypeId = "ecs.nope.large".parse().unwrap();
    match types.limits(&nope).await {
        Err(Error::UnknownInstanceType(t)) => assert_eq!(t, "ecs.nope.large"),
        other => panic!("{other:?}"),
    }
    assert!(types.limits(&nope).await.is_err());
    assert_eq!(e.stats.calls("DescribeInstanceTypes"), 4);
    assert!(Error::from("g7.large".parse::<InstanceTypeId>().unwrap_err()).is_invalid_input());
    assert_eq!(e.stats.calls("DescribeInstanceTypes"), 4);
}
