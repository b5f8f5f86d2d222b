//! Route entries and the pod-CIDR route converger against ack-net-mock: convergence, no-op
//! re-runs, changes, unmanaged entries, an interrupted converge re-run, faults, paging.

mod common;

use ack_net_core::ErrorInfo;

use std::collections::BTreeMap;
use std::time::Duration;

use ack_net_core::RetryPolicy;
use ack_net_mock::FaultSpec;
use ack_net_mock::MockCloud;
use ack_net_vpc::pod_routes::ConvergeReport;
use ack_net_vpc::{NextHopType, PodRouteConverger, RouteEntryStatus, RouteEntryType, RouteTableId};
use common::{env, env_with, fast_retries, quick_wait, route_table_of, seed_instance, seed_vpc, seed_vswitch, Env};
use futures_util::TryStreamExt;
use ipnet::Ipv4Net;

struct Cluster {
    env: Env,
    table: String,
    table_id: RouteTableId,
    nodes: Vec<String>,
}

async fn cluster(env: Env, nodes: usize) -> Cluster {
    let vpc = seed_vpc(&env.mock, "10.0.0.0/16");
    let vsw = seed_vswitch(&env.mock, &vpc, "cn-hangzhou-h", "10.0.0.0/20");
    let nodes = (0..nodes).map(|_| seed_instance(&env.mock, &vsw)).collect();
    let table = route_table_of(&env.mock, &vpc);
    let table_id = table.parse().expect("a route table id");
    Cluster { env, table, table_id, nodes }
}

fn pod_cidr(i: usize) -> Ipv4Net {
    format!("172.20.{i}.0/24").parse().unwrap()
}

/// Custom Instance routes in the mock's table: destination -> instance.
fn custom_routes(c: &Cluster) -> BTreeMap<String, String> {
    c.env.mock.with_state(|s| {
        s.vpc.route_tables[&c.table]
            .entries
            .iter()
            .filter(|e| e.kind == "Custom" && e.next_hop_type == "Instance")
            .map(|e| (e.destination.clone(), e.next_hop_id.clone()))
            .collect()
    })
}

fn as_strings(w: &BTreeMap<Ipv4Net, String>) -> BTreeMap<String, String> {
    w.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn converger(c: &Cluster) -> PodRouteConverger {
    PodRouteConverger::new(c.env.client.clone(), &c.table_id)
        .cluster_cidr("172.20.0.0/16".parse().unwrap())
        .round_delay(Duration::from_millis(5))
}

fn writes(r: &ConvergeReport) -> u32 {
    r.calls.get("CreateRouteEntry").copied().unwrap_or(0) + r.calls.get("DeleteRouteEntry").copied().unwrap_or(0)
}

#[tokio::test]
async fn route_entry_calls() {
    let c = cluster(env().await, 1).await;
    let rt = c.env.client.route_tables();
    let created = rt
        .create_entry(&c.table_id, "172.20.0.0/24")
        .next_hop(NextHopType::Instance, &c.nodes[0])
        .name("node0")
        .send()
        .await
        .unwrap();
    let entry = rt.wait_until_entry_available(&c.table_id, &created.route_entry_id, &quick_wait()).await.unwrap();
    assert_eq!(entry.entry_type, Some(RouteEntryType::Custom));
    assert_eq!(entry.status, RouteEntryStatus::Available);
    assert_eq!(entry.route_entry_name, "node0");
    assert_eq!(entry.single_next_hop().unwrap().next_hop_id, c.nodes[0]);
    let custom: Vec<_> = rt
        .describe_entries(&c.table_id)
        .route_entry_type(RouteEntryType::Custom)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(custom.len(), 1);
    let all: Vec<_> = rt.describe_entries(&c.table_id).into_stream().try_collect().await.unwrap();
    assert!(all.iter().any(|e| e.entry_type == Some(RouteEntryType::System)), "system entries are listed too");
    // Duplicates and unknown instances are the cloud's to refuse.
    let dup = rt.create_entry(&c.table_id, "172.20.0.0/24").next_hop(NextHopType::Instance, &c.nodes[0]).send().await;
    assert!(dup.unwrap_err().is_code("RouterEntryConflict.Duplicated"));
    let ghost = rt.create_entry(&c.table_id, "172.20.1.0/24").next_hop(NextHopType::Instance, "i-ghost").send().await;
    assert!(ghost.unwrap_err().is_not_found());
    // Delete by destination and next hop.
    rt.delete_entry(&c.table_id).destination_cidr_block("172.20.0.0/24").next_hop_id(&c.nodes[0]).send().await.unwrap();
    let left: Vec<_> = rt
        .describe_entries(&c.table_id)
        .route_entry_type(RouteEntryType::Custom)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty());
    let gone = rt.delete_entry(&c.table_id).route_entry_id(&created.route_entry_id).send().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[tokio::test]
async fn converges_then_reruns_as_a_no_op() {
    let c = cluster(env().await, 5).await;
    let wanted: BTreeMap<Ipv4Net, String> = c.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    let conv = converger(&c);
    let plan = conv.plan(&wanted).await.unwrap();
    assert_eq!((plan.create.len(), plan.delete.len()), (5, 0));
    let r = conv.converge(&wanted).await.unwrap();
    assert!(r.is_converged());
    assert_eq!(r.created.len(), 5);
    assert_eq!(r.calls.get("DescribeRouteEntryList"), Some(&1));
    assert_eq!(r.calls.get("CreateRouteEntry"), Some(&5));
    assert_eq!(r.total_calls(), 6);
    assert_eq!(custom_routes(&c), as_strings(&wanted));

    let again = conv.converge(&wanted).await.unwrap();
    assert!(again.created.is_empty() && again.deleted.is_empty());
    assert_eq!(writes(&again), 0, "a converged table needs no writes");
    assert_eq!(again.total_calls(), 1);
}

#[tokio::test]
async fn follows_changes_and_leaves_other_routes_alone() {
    let c = cluster(env().await, 4).await;
    let rt = c.env.client.route_tables();
    // Routes it must not touch: another hop type, and an instance route outside the cluster CIDR.
    rt.create_entry(&c.table_id, "192.168.0.0/24").next_hop(NextHopType::HaVip, "havip-1").send().await.unwrap();
    rt.create_entry(&c.table_id, "0.0.0.0/0").next_hop(NextHopType::Instance, &c.nodes[3]).send().await.unwrap();
    let mut wanted: BTreeMap<Ipv4Net, String> = (0..3).map(|i| (pod_cidr(i), c.nodes[i].clone())).collect();
    let conv = converger(&c);
    conv.converge(&wanted).await.unwrap();

    // Node 1 leaves, node 3 joins, node 0's CIDR moves to node 2... and 172.20.2.0/24 to node 3.
    wanted.remove(&pod_cidr(1));
    wanted.insert(pod_cidr(0), c.nodes[2].clone());
    wanted.insert(pod_cidr(2), c.nodes[3].clone());
    wanted.insert(pod_cidr(7), c.nodes[3].clone());
    let r = conv.converge(&wanted).await.unwrap();
    assert!(r.is_converged(), "{r:?}");
    assert_eq!(r.deleted.len(), 3, "node 1's, and the two that moved");
    assert_eq!(r.created.len(), 3);
    let mut expected = as_strings(&wanted);
    expected.insert("0.0.0.0/0".into(), c.nodes[3].clone());
    assert_eq!(custom_routes(&c), expected);
    let havip = c
        .env
        .mock
        .with_state(|s| s.vpc.route_tables[&c.table].entries.iter().any(|e| e.destination == "192.168.0.0/24"));
    assert!(havip);

    // A wanted CIDR held by an unmanaged route is a conflict, reported, not forced.
    rt.create_entry(&c.table_id, "172.20.9.0/24").next_hop(NextHopType::HaVip, "havip-2").send().await.unwrap();
    wanted.insert(pod_cidr(9), c.nodes[0].clone());
    let r = conv.converge(&wanted).await.unwrap();
    assert_eq!(r.conflicts.len(), 1);
    assert!(!r.is_converged());
    assert_eq!(writes(&r), 0);
}

#[tokio::test]
async fn permanent_refusals_are_reported_and_not_retried() {
    let c = cluster(env().await, 2).await;
    let mut wanted: BTreeMap<Ipv4Net, String> = (0..2).map(|i| (pod_cidr(i), c.nodes[i].clone())).collect();
    wanted.insert(pod_cidr(5), "i-ghost".into());
    let r = converger(&c).converge(&wanted).await.unwrap();
    assert_eq!(r.created.len(), 2);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].destination, pod_cidr(5));
    assert!(r.failed[0].error.contains("InvalidInstanceId.NotFound"), "{}", r.failed[0].error);
    assert_eq!(r.calls.get("CreateRouteEntry"), Some(&3), "the refused one was tried once");
    // Bad input never reaches the cloud.
    let calls = c.env.mock.calls().len();
    let mut bad = wanted.clone();
    bad.insert("172.20.0.0/16".parse().unwrap(), c.nodes[0].clone());
    assert!(converger(&c).converge(&bad).await.unwrap_err().is_invalid_input());
    let mut outside = BTreeMap::new();
    outside.insert("10.9.0.0/24".parse::<Ipv4Net>().unwrap(), c.nodes[0].clone());
    assert!(converger(&c).converge(&outside).await.unwrap_err().is_invalid_input());
    assert!("vsw-123".parse::<RouteTableId>().is_err(), "a converger takes a checked table id");
    assert_eq!(c.env.mock.calls().len(), calls);
}

#[tokio::test]
async fn an_interrupted_converge_finishes_on_the_next_run() {
    let c = cluster(env().await, 8).await;
    let wanted: BTreeMap<Ipv4Net, String> = c.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    // Slow creates, and the run dropped while its third create is in flight.
    c.env.mock.set_fault("CreateRouteEntry", FaultSpec::latency(Duration::from_millis(30))).unwrap();
    let conv = converger(&c);
    let third_create = async {
        while c.env.mock.count("CreateRouteEntry") < 3 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        r = conv.converge(&wanted) => panic!("the run was meant to be interrupted: {r:?}"),
        () = third_create => {}
    }
    // A create already in flight may still land; let it, then look.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let partial = custom_routes(&c).len();
    assert!(partial > 0 && partial < 8, "{partial} routes after the interruption");
    c.env.mock.clear_faults();

    let r = conv.converge(&wanted).await.unwrap();
    assert!(r.is_converged());
    assert_eq!(r.created.len(), 8 - partial, "only what was missing");
    assert_eq!(custom_routes(&c), as_strings(&wanted));
}

#[tokio::test]
async fn waits_out_a_busy_route_table() {
    // New entries stay Pending for a while and the table refuses writes meanwhile
    // (IncorrectRouteEntryStatus), as the real one does.
    let c = cluster(env().await, 4).await;
    c.env.mock.set_pending_delay(Duration::from_millis(150));
    let wanted: BTreeMap<Ipv4Net, String> = c.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    let r = converger(&c).converge(&wanted).await.unwrap();
    assert!(r.is_converged());
    assert_eq!(r.created.len(), 4);
    assert!(r.calls["CreateRouteEntry"] > 4, "some writes met a busy table and were retried: {:?}", r.calls);
    assert_eq!(custom_routes(&c), as_strings(&wanted));
}

#[tokio::test]
async fn converges_through_throttling_and_5xx() {
    // The client retries reads and token-carrying creates; DeleteRouteEntry has no token, so
    // its 5xx come back to the converger, which tries again (a repeat is harmless: not found
    // counts as deleted).
    let c = cluster(env_with(MockCloud::builder().seed(6), fast_retries().with_attempt_limit(3)).await, 6).await;
    let mut wanted: BTreeMap<Ipv4Net, String> =
        c.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    let conv = converger(&c).max_rounds(6);
    conv.converge(&wanted).await.unwrap();
    c.env.mock.set_fault("*", FaultSpec::throttle(0.3).with_server_error(0.3)).unwrap();
    for i in 0..3 {
        wanted.remove(&pod_cidr(i));
    }
    wanted.insert(pod_cidr(20), c.nodes[0].clone());
    let r = conv.converge(&wanted).await.unwrap();
    assert!(r.is_converged(), "{r:?}");
    c.env.mock.clear_faults();
    assert_eq!(custom_routes(&c), as_strings(&wanted));
    let faulted = c
        .env
        .mock
        .calls()
        .iter()
        .filter(|x| {
            x.code.as_deref().is_some_and(|code| {
                code.starts_with("Throttling") || code == "ServiceUnavailable" || code == "InternalError"
            })
        })
        .count();
    assert!(faulted > 0);

    // And with no client retries at all, the converger's own retries carry it.
    let bare = env_with(
        MockCloud::builder().seed(7).fault("*", FaultSpec::throttle(0.2).with_server_error(0.2)),
        RetryPolicy::no_retry(),
    )
    .await;
    let c2 = cluster(bare, 4).await;
    let wanted2: BTreeMap<Ipv4Net, String> =
        c2.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    let r = converger(&c2).max_rounds(10).converge(&wanted2).await.unwrap();
    assert!(r.is_converged(), "{r:?}");
    c2.env.mock.clear_faults();
    assert_eq!(custom_routes(&c2), as_strings(&wanted2));
}

#[tokio::test]
async fn lists_a_table_over_several_pages() {
    let c = cluster(env().await, 120).await;
    let wanted: BTreeMap<Ipv4Net, String> = c.nodes.iter().enumerate().map(|(i, n)| (pod_cidr(i), n.clone())).collect();
    let conv = converger(&c);
    let r = conv.converge(&wanted).await.unwrap();
    assert_eq!(r.created.len(), 120);
    let again = conv.converge(&wanted).await.unwrap();
    assert_eq!(again.calls.get("DescribeRouteEntryList"), Some(&2), "over 100 entries: two pages");
    assert_eq!(writes(&again), 0);
    let streamed: Vec<_> = c
        .env
        .client
        .route_tables()
        .describe_entries(&c.table_id)
        .max_result(50)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(streamed.len() > 120);
}
