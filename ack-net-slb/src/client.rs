//! The SLB client.

use ack_net_core::{RpcClient, RpcRequest};
use serde::de::DeserializeOwned;

use crate::certificate::Certificates;
use crate::domain_extension::DomainExtensions;
use crate::health::Health;
use crate::listener::Listeners;
use crate::load_balancer::LoadBalancers;
use crate::master_slave::MasterSlaveGroups;
use crate::rule::Rules;
use crate::tags::Tags;
use crate::vserver_group::VServerGroups;
use crate::Error;

/// The most backends the API reference allows per Add/Remove/Set call, and the default
/// batch size.
pub const DEFAULT_BATCH_SIZE: usize = 20;

/// The SLB (CLB) API, version 2014-05-15. Cheap to clone; clones share the [`RpcClient`] (its
/// connections, retry budget, rate limits and observers).
///
/// ```no_run
/// use ack_net_core::{Credentials, RpcClient};
/// use ack_net_slb::{AddressType, InstanceSpec, SlbClient};
/// # async fn demo() -> Result<(), ack_net_slb::Error> {
/// let rpc = RpcClient::builder()
///     .region("cn-hangzhou")
///     .credentials(Credentials::new("testid", "testsecret"))
///     .endpoint("http://127.0.0.1:18080")
///     .build()?;
/// let slb = SlbClient::new(rpc);
/// let lb = slb.load_balancers().create().address_type(AddressType::Internet).spec(InstanceSpec::S1Small).send().await?;
/// println!("{} at {}", lb.load_balancer_id, lb.address);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SlbClient {
    rpc: RpcClient,
    batch_size: usize,
}

impl SlbClient {
    /// An SLB client over `rpc`, sending at most [`DEFAULT_BATCH_SIZE`] backends per call.
    pub fn new(rpc: RpcClient) -> Self {
        Self { rpc, batch_size: DEFAULT_BATCH_SIZE }
    }

    /// Sets how many backends one Add/Remove/Set/Modify call carries (at least 1); longer
    /// lists are split into several calls. The API reference allows 20; some accounts are
    /// allowed more.
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// How many backends one call carries.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The RPC client underneath.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// Load balancers: create, describe, delete, protect, rename, resize, wait.
    pub fn load_balancers(&self) -> LoadBalancers {
        LoadBalancers::new(self.clone())
    }

    /// Listeners of every protocol, described by one [`ListenerSpec`](crate::ListenerSpec).
    pub fn listeners(&self) -> Listeners {
        Listeners::new(self.clone())
    }

    /// VServer groups and their backends.
    pub fn vserver_groups(&self) -> VServerGroups {
        VServerGroups::new(self.clone())
    }

    /// Master/slave server groups.
    pub fn master_slave_groups(&self) -> MasterSlaveGroups {
        MasterSlaveGroups::new(self.clone())
    }

    /// Layer-7 forwarding rules.
    pub fn rules(&self) -> Rules {
        Rules::new(self.clone())
    }

    /// Tags of load balancers (TagResources, UntagResources, ListTagResources).
    pub fn tags(&self) -> Tags {
        Tags::new(self.clone())
    }

    /// Backend health (DescribeHealthStatus).
    pub fn health(&self) -> Health {
        Health::new(self.clone())
    }

    /// Server certificates for HTTPS listeners, and CA certificates.
    pub fn certificates(&self) -> Certificates {
        Certificates::new(self.clone())
    }

    /// Domain extensions (SNI certificates) of HTTPS listeners.
    pub fn domain_extensions(&self) -> DomainExtensions {
        DomainExtensions::new(self.clone())
    }

    pub(crate) async fn call<T: DeserializeOwned>(&self, req: RpcRequest) -> Result<T, Error> {
        Ok(self.rpc.call(req).await?)
    }

    /// Calls an action whose answer only matters as success.
    pub(crate) async fn call_unit(&self, req: RpcRequest) -> Result<(), Error> {
        let _: serde::de::IgnoredAny = self.call(req).await?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A client that is never used to send (for `to_request` tests).
    pub(crate) fn client() -> SlbClient {
        client_at("http://127.0.0.1:9")
    }

    /// A client sending to `url`, without rate limits or retries.
    pub(crate) fn client_at(url: &str) -> SlbClient {
        let rpc = ack_net_mock::client_builder_at(url).build().expect("client");
        SlbClient::new(rpc)
    }

    /// The parameters of a request, as a map.
    pub(crate) fn params(req: &RpcRequest) -> std::collections::BTreeMap<String, String> {
        req.get_params().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}
