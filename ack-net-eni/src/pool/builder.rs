//! The parts an [`IpPool`] is started from, by name.

use std::sync::Arc;

use ack_net_core::RpcClient;
use ack_net_vpc::VSwitchSource;

use super::{EcsPoolCloud, IpPool, PoolCloud, PoolConfig, PoolError, PoolStore};

/// Builds an [`IpPool`]: from [`IpPool::builder`]. Give it the cloud ([`IpPoolBuilder::ecs`],
/// or [`IpPoolBuilder::cloud`] and [`IpPoolBuilder::capacity`] of your own) and the journal
/// ([`IpPoolBuilder::store`]), then [`IpPoolBuilder::start`].
#[must_use = "a builder does nothing until started"]
pub struct IpPoolBuilder {
    config: PoolConfig,
    cloud: Option<Arc<dyn PoolCloud>>,
    capacity: Option<Arc<dyn VSwitchSource>>,
    store: Option<Arc<dyn PoolStore>>,
}

impl IpPoolBuilder {
    pub(super) fn new(config: PoolConfig) -> Self {
        Self { config, cloud: None, capacity: None, store: None }
    }

    /// The ECS and VPC APIs of `rpc` make the calls and report the VSwitches' free addresses
    /// (an [`EcsPoolCloud`]).
    pub fn ecs(self, rpc: RpcClient) -> Self {
        let (cloud, capacity) = EcsPoolCloud::new(rpc).into_arcs();
        self.cloud(cloud).capacity(capacity)
    }

    /// The cloud operations the pool makes, of your own (a cache, a second account, a fault
    /// injector in tests).
    pub fn cloud(mut self, cloud: Arc<dyn PoolCloud>) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// What reports the free addresses of the VSwitches, of your own.
    pub fn capacity(mut self, capacity: Arc<dyn VSwitchSource>) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// The journal: a [`FileStore`](super::FileStore) on a node, a
    /// [`MemoryStore`](super::MemoryStore) in tests.
    pub fn store(mut self, store: Arc<dyn PoolStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts the pool (see [`IpPool`]'s start-up); an [`PoolError::InvalidConfig`] names
    /// a missing part.
    pub async fn start(self) -> Result<IpPool, PoolError> {
        let missing = |part: &str| PoolError::InvalidConfig(format!("the pool builder has no {part}"));
        let cloud = self.cloud.ok_or_else(|| missing("cloud (call .ecs(rpc) or .cloud(..))"))?;
        let capacity = self.capacity.ok_or_else(|| missing("capacity source (call .ecs(rpc) or .capacity(..))"))?;
        let store = self.store.ok_or_else(|| missing("store (call .store(..))"))?;
        IpPool::start_parts(self.config, cloud, capacity, store).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{MemoryStore, PoolOwner};

    fn config() -> PoolConfig {
        PoolConfig::new(
            PoolOwner { cluster_id: "c-1".into(), pool_id: "pool-1".into() },
            "i-1".parse().unwrap(),
            "ecs.g7.large".parse().unwrap(),
        )
    }

    #[tokio::test]
    async fn a_missing_part_is_a_typed_error_naming_it() {
        let e = IpPool::builder(config()).store(Arc::new(MemoryStore::new())).start().await.err().unwrap();
        assert!(matches!(&e, PoolError::InvalidConfig(m) if m.contains("cloud")), "{e}");
        let rpc = ack_net_core::RpcClient::builder()
            .region("cn-hangzhou")
            .credentials(ack_net_core::Credentials::new("id", "secret"))
            .endpoint("http://127.0.0.1:9")
            .build()
            .unwrap();
        let e = IpPool::builder(config()).ecs(rpc).start().await.err().unwrap();
        assert!(matches!(&e, PoolError::InvalidConfig(m) if m.contains("store")), "{e}");
    }
}
