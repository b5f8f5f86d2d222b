//! Instance types: DescribeInstanceTypes, and [`InstanceTypeLimits`], the ENI and address
//! quotas pod networking sizes itself by, cached per client with one request per type
//! however many callers ask at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ack_net_core::de;
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::common::{validate_page_size, wrapped};
use crate::{EcsClient, Error, InstanceTypeId};

/// The largest `MaxResults` DescribeInstanceTypes accepts.
pub const MAX_RESULTS: u32 = 1600;
/// The most instance types one DescribeInstanceTypes call may name.
pub const MAX_TYPES_PER_CALL: usize = 10;

/// An instance type as DescribeInstanceTypes answers it (the fields networking needs).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct InstanceType {
    /// The name, e.g. `ecs.g7.large`.
    #[serde(rename = "InstanceTypeId")]
    pub instance_type_id: InstanceTypeId,
    /// The family, e.g. `ecs.g7`.
    #[serde(rename = "InstanceTypeFamily", default, deserialize_with = "de::string")]
    pub family: String,
    /// vCPUs.
    #[serde(rename = "CpuCoreCount", default, deserialize_with = "de::number")]
    pub cpu_core_count: u32,
    /// Memory in GiB.
    #[serde(rename = "MemorySize", default)]
    pub memory_size: f64,
    /// ENIs an instance holds, its primary ENI included (`EniQuantity`).
    #[serde(rename = "EniQuantity", default, deserialize_with = "de::number")]
    pub eni_quantity: u32,
    /// IPv4 addresses per ENI, the primary address included (`EniPrivateIpAddressQuantity`).
    #[serde(rename = "EniPrivateIpAddressQuantity", default, deserialize_with = "de::number")]
    pub eni_private_ip_address_quantity: u32,
    /// IPv6 addresses per ENI (`EniIpv6AddressQuantity`; 0 without IPv6 support).
    #[serde(rename = "EniIpv6AddressQuantity", default, deserialize_with = "de::number")]
    pub eni_ipv6_address_quantity: u32,
    /// ENIs including trunk member ENIs (`EniTotalQuantity`).
    #[serde(rename = "EniTotalQuantity", default, deserialize_with = "de::number")]
    pub eni_total_quantity: u32,
    /// Whether a trunk ENI is supported (`EniTrunkSupported`).
    #[serde(rename = "EniTrunkSupported", default, deserialize_with = "de::boolean")]
    pub eni_trunk_supported: bool,
}

/// The network quotas of an instance type, in pod-networking terms.
///
/// ```
/// use ack_net_eni::InstanceTypeLimits;
/// let l = InstanceTypeLimits::new("ecs.g7.large".parse().unwrap(), 3, 6, 6, 11, true);
/// assert_eq!(l.secondary_adapters(), 2);
/// assert_eq!(l.max_pods_multi_ip(), 12); // (3 - 1) * 6
/// assert_eq!(l.member_adapters(), 8);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct InstanceTypeLimits {
    /// The instance type.
    pub instance_type: InstanceTypeId,
    /// ENIs (adapters) an instance holds, its primary ENI included.
    pub adapters: u32,
    /// IPv4 addresses per adapter, the primary address included.
    pub ipv4_per_adapter: u32,
    /// IPv6 addresses per adapter.
    pub ipv6_per_adapter: u32,
    /// Adapters including trunk member ENIs.
    pub total_adapters: u32,
    /// Whether trunking (member ENIs) is supported.
    pub trunk: bool,
}

impl InstanceTypeLimits {
    /// Limits from their parts (as DescribeInstanceTypes names them: `EniQuantity`,
    /// `EniPrivateIpAddressQuantity`, `EniIpv6AddressQuantity`, `EniTotalQuantity`,
    /// `EniTrunkSupported`).
    pub fn new(
        instance_type: InstanceTypeId,
        adapters: u32,
        ipv4_per_adapter: u32,
        ipv6_per_adapter: u32,
        total_adapters: u32,
        trunk: bool,
    ) -> Self {
        Self { instance_type, adapters, ipv4_per_adapter, ipv6_per_adapter, total_adapters, trunk }
    }

    /// ENIs besides the primary one: those that carry pod addresses.
    pub fn secondary_adapters(&self) -> u32 {
        self.adapters.saturating_sub(1)
    }

    /// Secondary IPv4 addresses one adapter holds besides its primary address.
    pub fn secondary_ipv4_per_adapter(&self) -> u32 {
        self.ipv4_per_adapter.saturating_sub(1)
    }

    /// Trunk member ENIs an instance holds (0 without trunking).
    pub fn member_adapters(&self) -> u32 {
        if self.trunk {
            self.total_adapters.saturating_sub(self.adapters)
        } else {
            0
        }
    }

    /// Pods per node in multi-IP (shared ENI) mode: `(EniQuantity - 1) *
    /// EniPrivateIpAddressQuantity` (the primary ENI is the node's own).
    pub fn max_pods_multi_ip(&self) -> u32 {
        self.secondary_adapters().saturating_mul(self.ipv4_per_adapter)
    }

    /// IPv6 pod addresses per node in multi-IP mode.
    pub fn max_ipv6_pods_multi_ip(&self) -> u32 {
        self.secondary_adapters().saturating_mul(self.ipv6_per_adapter)
    }
}

impl From<&InstanceType> for InstanceTypeLimits {
    fn from(t: &InstanceType) -> Self {
        Self {
            instance_type: t.instance_type_id.clone(),
            adapters: t.eni_quantity,
            ipv4_per_adapter: t.eni_private_ip_address_quantity,
            ipv6_per_adapter: t.eni_ipv6_address_quantity,
            total_adapters: t.eni_total_quantity,
            trunk: t.eni_trunk_supported,
        }
    }
}

/// One cell per instance type: the first caller fetches, the others wait for its answer.
#[derive(Debug, Default)]
pub(crate) struct LimitsCache {
    cells: Mutex<HashMap<InstanceTypeId, Arc<OnceCell<InstanceTypeLimits>>>>,
}

impl LimitsCache {
    fn cell(&self, id: &InstanceTypeId) -> Arc<OnceCell<InstanceTypeLimits>> {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.entry(id.clone()).or_default().clone()
    }
}

/// Instance-type operations; from [`EcsClient::instance_types`].
#[derive(Clone, Debug)]
pub struct InstanceTypes {
    client: EcsClient,
}

impl InstanceTypes {
    pub(crate) fn new(client: EcsClient) -> Self {
        Self { client }
    }

    /// DescribeInstanceTypes: one page with [`DescribeInstanceTypes::send`], all with
    /// [`DescribeInstanceTypes::into_stream`].
    pub fn describe(&self) -> DescribeInstanceTypes {
        DescribeInstanceTypes::new(self.client.rpc())
    }

    /// The limits of `instance_type`, from the client's cache or one DescribeInstanceTypes
    /// call. However many tasks ask for the same type at once, one request is sent; a
    /// failed request is not cached (the next caller tries again). An instance type the API
    /// does not know is [`Error::UnknownInstanceType`].
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// let l = ecs.instance_types().limits(&"ecs.g7.large".parse()?).await?;
    /// println!("{} ENIs x {} addresses: {} pods", l.adapters, l.ipv4_per_adapter, l.max_pods_multi_ip());
    /// # Ok(()) }
    /// ```
    pub async fn limits(&self, id: &InstanceTypeId) -> Result<InstanceTypeLimits, Error> {
        let cell = self.client.limits_cache().cell(id);
        let limits = cell
            .get_or_try_init(|| async {
                let page = self.describe().instance_type(id).send().await?;
                page.instance_types
                    .iter()
                    .find(|t| &t.instance_type_id == id)
                    .map(InstanceTypeLimits::from)
                    .ok_or_else(|| Error::UnknownInstanceType(id.to_string()))
            })
            .await?;
        Ok(limits.clone())
    }

    /// The cached limits of `instance_type`, without any call.
    pub fn cached(&self, instance_type: &InstanceTypeId) -> Option<InstanceTypeLimits> {
        self.client.limits_cache().cell(instance_type).get().cloned()
    }

    /// Forgets every cached limit.
    pub fn clear_cache(&self) {
        self.client.limits_cache().cells.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

ack_net_core::operation! {
    /// A DescribeInstanceTypes request (NextToken paging).
    pub struct DescribeInstanceTypes: crate::ECS, "DescribeInstanceTypes", read -> InstanceTypePage, Error;
    required {}
    optional {
        /// Only these types (`InstanceTypes.N`, at most 10).
        instance_types: Vec<InstanceTypeId> = "InstanceTypes" => extend(InstanceTypeId), push instance_type;
        /// Only this family (`ecs.g7`).
        family: Option<String> = "InstanceTypeFamily" => into(String);
        /// `MaxResults` (1-1600).
        max_results: Option<u32> = "MaxResults" => set(u32);
    }
    check: Self::check_input;
    pages: token, instance_types: InstanceType, next_token;
}

impl DescribeInstanceTypes {
    fn check_input(&self) -> Result<(), Error> {
        if self.instance_types.len() > MAX_TYPES_PER_CALL {
            return Err(Error::invalid_input(
                "InstanceTypes",
                format!("at most {MAX_TYPES_PER_CALL} types in one call"),
            ));
        }
        if let Some(n) = self.max_results {
            validate_page_size("MaxResults", n, 1, MAX_RESULTS)?;
        }
        Ok(())
    }
}

/// One page of DescribeInstanceTypes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct InstanceTypePage {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The types on this page.
    #[serde(rename = "InstanceTypes", default, deserialize_with = "wrapped")]
    pub instance_types: Vec<InstanceType>,
    /// The token of the next page; empty on the last.
    #[serde(rename = "NextToken", default, deserialize_with = "de::string")]
    pub next_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::client;

    #[test]
    fn limits_from_a_type() {
        let t: InstanceType = serde_json::from_str(
            r#"{"InstanceTypeId":"ecs.c7.2xlarge","InstanceTypeFamily":"ecs.c7","CpuCoreCount":8,"MemorySize":16.0,
                "EniQuantity":4,"EniPrivateIpAddressQuantity":20,"EniIpv6AddressQuantity":"20",
                "EniTotalQuantity":31,"EniTrunkSupported":true}"#,
        )
        .unwrap();
        let l = InstanceTypeLimits::from(&t);
        assert_eq!(l.max_pods_multi_ip(), 60);
        assert_eq!(l.secondary_ipv4_per_adapter(), 19);
        assert_eq!(l.member_adapters(), 27);
        assert_eq!(l.max_ipv6_pods_multi_ip(), 60);
        let no_trunk = InstanceTypeLimits { trunk: false, ..l };
        assert_eq!(no_trunk.member_adapters(), 0);
    }

    #[test]
    fn requests_are_checked() {
        let t = client().instance_types();
        let g7: InstanceTypeId = "ecs.g7.large".parse().unwrap();
        assert!(t.describe().instance_type(&g7).to_request().is_ok());
        assert!("g7.large".parse::<InstanceTypeId>().is_err());
        let many: Vec<InstanceTypeId> = (0..11).map(|i| format!("ecs.g7.x{i}").parse().unwrap()).collect();
        assert!(t.describe().instance_types(many).to_request().is_err());
        assert!(t.describe().max_results(0).to_request().is_err());
        assert!(t.describe().max_results(1601).to_request().is_err());
    }
}
