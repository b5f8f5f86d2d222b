//! The ECS client.

use std::sync::Arc;

use ack_net_core::RpcClient;

use crate::eni::NetworkInterfaces;
use crate::instance_type::{InstanceTypes, LimitsCache};
use crate::security_group::SecurityGroups;

/// The ECS API (version 2014-05-26) as pod networking uses it: ENIs, instance types and
/// security groups. Cheap to clone; clones share the [`RpcClient`] (its connections, retry
/// budget, rate limits and observers) and the instance-type limits cache.
///
/// ```no_run
/// use ack_net_core::{Credentials, RpcClient};
/// use ack_net_eni::EcsClient;
/// # async fn demo() -> Result<(), ack_net_eni::Error> {
/// let rpc = RpcClient::builder()
///     .region("cn-hangzhou")
///     .credentials(Credentials::new("testid", "testsecret"))
///     .endpoint("http://127.0.0.1:18080")
///     .build()?;
/// let ecs = EcsClient::new(rpc);
/// let limits = ecs.instance_types().limits(&"ecs.g7.large".parse()?).await?;
/// println!("{} pods per node", limits.max_pods_multi_ip());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EcsClient {
    rpc: RpcClient,
    limits: Arc<LimitsCache>,
}

impl EcsClient {
    /// An ECS client over `rpc`.
    pub fn new(rpc: RpcClient) -> Self {
        Self { rpc, limits: Arc::new(LimitsCache::default()) }
    }

    /// The RPC client underneath.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// ENIs: create, attach, detach, delete, describe, addresses, waiters and the crash-safe
    /// compound operations.
    pub fn network_interfaces(&self) -> NetworkInterfaces {
        NetworkInterfaces::new(self.clone())
    }

    /// Instance types and their ENI and address quotas (cached).
    pub fn instance_types(&self) -> InstanceTypes {
        InstanceTypes::new(self.clone())
    }

    /// Security groups and their rules, and the rule converger.
    pub fn security_groups(&self) -> SecurityGroups {
        SecurityGroups::new(self.clone())
    }

    pub(crate) fn limits_cache(&self) -> &LimitsCache {
        &self.limits
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A client that is never used to send (for `to_request` tests).
    pub(crate) fn client() -> EcsClient {
        client_at("http://127.0.0.1:9")
    }

    /// A client sending to `url`, without rate limits or retries.
    pub(crate) fn client_at(url: &str) -> EcsClient {
        let rpc = ack_net_mock::client_builder_at(url).build().expect("test client");
        EcsClient::new(rpc)
    }

    /// The parameters of a request, without `RegionId` (added at send time).
    pub(crate) fn params(req: &ack_net_core::RpcRequest) -> Vec<(String, String)> {
        req.get_params().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}
