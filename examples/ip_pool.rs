//! The warm IP pool of one node: warm-up, pods served from memory, a burst that refills in
//! batches, release with cooldown, garbage collection of pods that are gone, and a restart
//! that rebuilds the pool from its journal without handing any address out twice.
//!
//! ```sh
//! cargo run --example ip_pool
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_eni::pool::{IpPool, MemoryStore, PoolConfig, PoolOwner};
use ack_net_examples::{demo_network, BoxError, Cloud};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cloud = Cloud::connect().await?;
    println!("IP pool against {}\n", cloud.describe());
    let net = demo_network(&cloud, "ack-net-ip-pool").await?;
    let node = net.node()?;
    let config = PoolConfig::new(
        PoolOwner { cluster_id: "c-demo".into(), pool_id: format!("pool-{}", node.id) },
        node.id.clone(),
        node.instance_type.clone(),
    )
    .vswitches(net.vswitches.iter().map(|v| v.vswitch_id.clone()))
    .security_group(net.security_group.clone())
    .warm_band(3, 10)
    .cooldown(Duration::from_millis(200))
    .gc_grace(Duration::ZERO, Duration::ZERO);
    // The journal: a FileStore (atomic, fsynced) on a real node; memory is enough here.
    let store = Arc::new(MemoryStore::new());

    let pool = IpPool::builder(config.clone()).ecs(cloud.rpc.clone()).store(store.clone()).start().await?;
    let t = Instant::now();
    let first = pool.allocate("default/a").await?;
    println!(
        "\ncold allocate: {} on {} in {:.0?} (the pool warmed up on demand)",
        first.ipv4,
        first.eni_id,
        t.elapsed()
    );

    let calls = cloud.stats.total();
    let t = Instant::now();
    for i in 0..2 {
        pool.allocate(&format!("default/warm-{i}")).await?;
    }
    println!("warm allocates: 2 pods in {:.0?}, {} API calls", t.elapsed(), cloud.stats.total() - calls);
    let again = pool.allocate("default/a").await?;
    println!("CNI ADD retried for default/a: same address {} (idempotent per pod)", again.ipv4);

    let calls = cloud.stats.total();
    let t = Instant::now();
    let burst: Vec<_> = (0..20)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.allocate(&format!("burst/p{i}")).await })
        })
        .collect();
    for b in burst {
        b.await??;
    }
    println!(
        "burst of 20 pods in {:.0?} with {} API calls (batched, ENIs prepared concurrently)",
        t.elapsed(),
        cloud.stats.total() - calls
    );
    let m = pool.metrics();
    println!("pool: {} in use, {} idle, {} ENIs", m.in_use, m.idle, m.enis);

    // Eleven burst pods (p1, p10-p19) went away without a CNI DEL: GC with the live pod set returns them.
    let live: Vec<String> = pool.pods().into_iter().filter(|p| !p.starts_with("burst/p1")).collect();
    let report = pool.gc(&live).await?;
    println!(
        "gc: released {} gone pods, deleted {} unused ENIs",
        report.released_pods.len(),
        report.deleted_enis.len()
    );

    // A crash: drop the pool and start a new one on the same journal. Pods keep their addresses.
    drop(pool);
    let pool = IpPool::builder(config).ecs(cloud.rpc.clone()).store(store).start().await?;
    let after = pool.allocate("default/a").await?;
    println!("after restart default/a still has {} ({} pods recovered)", after.ipv4, pool.pods().len());
    assert_eq!(after.ipv4, first.ipv4);

    println!("\nAPI calls made:\n{}", cloud.stats);
    Ok(())
}
