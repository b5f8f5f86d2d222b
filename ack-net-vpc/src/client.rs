//! The VPC client.

use ack_net_core::RpcClient;

use crate::route_table::RouteTables;
use crate::vpc::Vpcs;
use crate::vswitch::VSwitches;

/// The VPC API (version 2016-04-28): VPCs, VSwitches and route tables. Cheap to clone; clones
/// share the [`RpcClient`] (its connections, retry budget, rate limits and observers).
///
/// ```no_run
/// use ack_net_core::{Credentials, RpcClient};
/// use ack_net_vpc::VpcClient;
/// # async fn demo() -> Result<(), ack_net_vpc::Error> {
/// let rpc = RpcClient::builder()
///     .region("cn-hangzhou")
///     .credentials(Credentials::new("testid", "testsecret"))
///     .endpoint("http://127.0.0.1:18080")
///     .build()?;
/// let client = VpcClient::new(rpc);
/// let created = client.vpcs().create().cidr_block("10.0.0.0/8").name("demo").send().await?;
/// println!("created {}", created.vpc_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct VpcClient {
    rpc: RpcClient,
}

impl VpcClient {
    /// A VPC client over `rpc`.
    pub fn new(rpc: RpcClient) -> Self {
        Self { rpc }
    }

    /// The RPC client underneath.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// VPCs: create, describe, delete, wait.
    pub fn vpcs(&self) -> Vpcs {
        Vpcs::new(self.clone())
    }

    /// VSwitches: create, describe, delete, wait.
    pub fn vswitches(&self) -> VSwitches {
        VSwitches::new(self.clone())
    }

    /// Route tables and their entries.
    pub fn route_tables(&self) -> RouteTables {
        RouteTables::new(self.clone())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A client that is never used to send (for `to_request` tests).
    pub(crate) fn client() -> VpcClient {
        client_at("http://127.0.0.1:9")
    }

    /// A client sending to `url`, without rate limits or retries.
    pub(crate) fn client_at(url: &str) -> VpcClient {
        let rpc = ack_net_mock::client_builder_at(url).build().expect("test client");
        VpcClient::new(rpc)
    }

    /// A valid id (or zone) of the type the test needs.
    pub(crate) fn id<T: std::str::FromStr>(s: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        s.parse().expect("a valid id")
    }

    /// The parameters of a request, without `RegionId` (added at send time).
    pub(crate) fn params(req: &ack_net_core::RpcRequest) -> Vec<(String, String)> {
        req.get_params().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}
