//! Finding the ENI that holds a pod's address, for `eni` backends.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ack_net_core::EniId;
use async_trait::async_trait;
use futures_util::TryStreamExt;

use crate::service::{BoxError, Error};

/// Pod address to the id of the ENI holding it.
pub type EniMap = HashMap<IpAddr, EniId>;

/// Finds the ENIs that hold pod addresses. [`ack_net_eni::EcsClient`] implements it with
/// DescribeNetworkInterfaces (100 addresses a call); an [`EniMap`] implements it from memory
/// (tests, or a cache the caller keeps, such as one fed by a node agent's IP pool).
///
/// ```
/// use std::net::IpAddr;
/// use ack_net_k8s::service::{EniLookup, EniMap};
///
/// # async fn demo() -> Result<(), ack_net_k8s::service::BoxError> {
/// let ip: IpAddr = "10.0.1.7".parse()?;
/// let known = EniMap::from([(ip, "eni-bp1abc".parse()?)]);
/// let found = known.enis_for(&[ip, "10.0.1.8".parse()?]).await?;
/// assert_eq!(found.get(&ip).map(|e| e.as_str()), Some("eni-bp1abc"));
/// assert_eq!(found.len(), 1, "addresses no ENI holds are left out");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait EniLookup: Send + Sync {
    /// The ENI holding each of `ips`; addresses no ENI holds are left out of the answer.
    async fn enis_for(&self, ips: &[IpAddr]) -> Result<EniMap, BoxError>;
}

#[async_trait]
impl EniLookup for EniMap {
    async fn enis_for(&self, ips: &[IpAddr]) -> Result<EniMap, BoxError> {
        Ok(ips.iter().filter_map(|ip| self.get(ip).map(|e| (*ip, e.clone()))).collect())
    }
}

/// The most addresses one DescribeNetworkInterfaces call filters on.
const ADDRESSES_PER_CALL: usize = 100;

#[async_trait]
impl EniLookup for ack_net_eni::EcsClient {
    async fn enis_for(&self, ips: &[IpAddr]) -> Result<EniMap, BoxError> {
        let wanted: BTreeSet<IpAddr> = ips.iter().copied().collect();
        let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = wanted.iter().partition(|ip| ip.is_ipv4());
        let mut out = EniMap::new();
        for chunk in v4.chunks(ADDRESSES_PER_CALL) {
            let addrs = chunk.iter().filter_map(|ip| match ip {
                IpAddr::V4(a) => Some(*a),
                IpAddr::V6(_) => None,
            });
            let enis: Vec<_> =
                self.network_interfaces().describe().private_ips(addrs).into_stream().try_collect().await?;
            for eni in enis {
                for a in eni.ipv4_addresses() {
                    if wanted.contains(&IpAddr::V4(a)) {
                        out.insert(IpAddr::V4(a), eni.id.clone());
                    }
                }
            }
        }
        for chunk in v6.chunks(ADDRESSES_PER_CALL) {
            let addrs = chunk.iter().filter_map(|ip| match ip {
                IpAddr::V6(a) => Some(*a),
                IpAddr::V4(_) => None,
            });
            let enis: Vec<_> =
                self.network_interfaces().describe().ipv6_addresses(addrs).into_stream().try_collect().await?;
            for eni in enis {
                for a in &eni.ipv6 {
                    if wanted.contains(&IpAddr::V6(*a)) {
                        out.insert(IpAddr::V6(*a), eni.id.clone());
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Looks up the ENIs of `ips` through `lookup`, as the crate's [`Error`].
pub async fn lookup_enis(lookup: &dyn EniLookup, ips: &[IpAddr]) -> Result<EniMap, Error> {
    if ips.is_empty() {
        return Ok(EniMap::new());
    }
    lookup.enis_for(ips).await.map_err(Error::EniLookup)
}
