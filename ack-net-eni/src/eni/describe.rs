//! DescribeNetworkInterfaces with every filter, one page or a `Stream` over all.

use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::de;
use serde::Deserialize;

use super::{EniStatus, EniType, NetworkInterface, NetworkInterfaces};
use crate::common::{validate_page_size, wrapped, MAX_TAGS};
use crate::{EniId, Error, InstanceId, SecurityGroupId, Tag, VSwitchId, VpcId};

/// The smallest `MaxResults` DescribeNetworkInterfaces accepts.
pub const MIN_RESULTS: u32 = 10;
/// The largest `MaxResults` DescribeNetworkInterfaces accepts.
pub const MAX_RESULTS: u32 = 500;
/// The most ids one call may name.
const MAX_IDS: usize = 100;

impl NetworkInterfaces {
    /// DescribeNetworkInterfaces: one page with [`DescribeNetworkInterfaces::send`], every
    /// match with [`DescribeNetworkInterfaces::into_stream`].
    pub fn describe(&self) -> DescribeNetworkInterfaces {
        DescribeNetworkInterfaces::new(self.client.rpc())
    }
}

ack_net_core::operation! {
    /// A DescribeNetworkInterfaces request. Filters combine with AND; list filters match any
    /// of their values.
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// use futures_util::TryStreamExt;
    /// use ack_net_eni::{EniStatus, Tag};
    /// let leftovers: Vec<_> = ecs
    ///     .network_interfaces()
    ///     .describe()
    ///     .tag(Tag::new("owner", "my-cni"))
    ///     .status(EniStatus::Available)
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub struct DescribeNetworkInterfaces: crate::ECS, "DescribeNetworkInterfaces", read
        -> NetworkInterfacePage, Error;
    required {}
    optional {
        /// Only these ENIs (`NetworkInterfaceId.N`, at most 100).
        ids: Vec<EniId> = "NetworkInterfaceId" => extend(EniId), push id;
        /// Only ENIs of this VPC.
        vpc_id: Option<VpcId> = "VpcId" => into(VpcId);
        /// Only ENIs of this VSwitch.
        vswitch_id: Option<VSwitchId> = "VSwitchId" => into(VSwitchId);
        /// Only ENIs on this instance.
        instance_id: Option<InstanceId> = "InstanceId" => into(InstanceId);
        /// Only ENIs in this security group.
        security_group_id: Option<SecurityGroupId> = "SecurityGroupId" => into(SecurityGroupId);
        /// Only ENIs in this status.
        status: Option<EniStatus> = "Status" => set(EniStatus);
        /// Only ENIs of this type.
        eni_type: Option<EniType> = "Type" => set(EniType);
        /// Only the ENI with this primary address.
        primary_ip: Option<Ipv4Addr> = "PrimaryIpAddress" => set(Ipv4Addr);
        /// Only ENIs holding one of these IPv4 addresses (`PrivateIpAddress.N`).
        private_ips: Vec<Ipv4Addr> = "PrivateIpAddress" => extend(Ipv4Addr), push private_ip;
        /// Only ENIs holding one of these IPv6 addresses (`Ipv6Address.N`).
        ipv6_addresses: Vec<Ipv6Addr> = "Ipv6Address" => extend(Ipv6Addr), push ipv6_address;
        /// Only ENIs of this name.
        name: Option<String> = "NetworkInterfaceName" => into(String);
        /// Only ENIs with these tags (an empty value matches any value); all tags must match.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: Self::check_input;
    pages: token(MAX_RESULTS), network_interfaces: NetworkInterface, next_token;
}

impl DescribeNetworkInterfaces {
    /// At most 100 ids, `MaxResults` 10-500, tags with keys.
    fn check_input(&self) -> Result<(), Error> {
        if self.ids.len() > MAX_IDS {
            return Err(Error::invalid_input("NetworkInterfaceId", format!("at most {MAX_IDS} ids in one call")));
        }
        if let Some(n) = self.paging.max_results {
            validate_page_size("MaxResults", n, MIN_RESULTS, MAX_RESULTS)?;
        }
        if self.tags.iter().any(|t| t.key.is_empty()) {
            return Err(Error::invalid_input("Tag.Key", "must not be empty"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(Error::invalid_input("Tag", format!("at most {MAX_TAGS} tags")));
        }
        Ok(())
    }
}

/// One page of DescribeNetworkInterfaces.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct NetworkInterfacePage {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The ENIs on this page.
    #[serde(rename = "NetworkInterfaceSets", default, deserialize_with = "wrapped")]
    pub network_interfaces: Vec<NetworkInterface>,
    /// The token of the next page; empty on the last.
    #[serde(rename = "NextToken", default, deserialize_with = "de::string")]
    pub next_token: String,
    /// How many ENIs match, when the API says.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::opt_number")]
    pub total_count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn filters_become_parameters() {
        let req = client()
            .network_interfaces()
            .describe()
            .ids(["eni-1", "eni-2"].map(|i| i.parse().unwrap()))
            .vswitch_id("vsw-1".parse::<VSwitchId>().unwrap())
            .instance_id("i-1".parse::<InstanceId>().unwrap())
            .status(EniStatus::InUse)
            .eni_type(EniType::Secondary)
            .tag(Tag::new("k", "v"))
            .private_ips([Ipv4Addr::new(10, 0, 0, 1)])
            .max_results(10)
            .to_request()
            .unwrap();
        let p = params(&req);
        for (k, v) in [
            ("NetworkInterfaceId.2", "eni-2"),
            ("VSwitchId", "vsw-1"),
            ("InstanceId", "i-1"),
            ("Status", "InUse"),
            ("Type", "Secondary"),
            ("Tag.1.Key", "k"),
            ("Tag.1.Value", "v"),
            ("PrivateIpAddress.1", "10.0.0.1"),
            ("MaxResults", "10"),
        ] {
            assert!(p.contains(&(k.to_owned(), v.to_owned())), "{k}: {p:?}");
        }
    }

    #[test]
    fn bad_filters_are_refused() {
        let d = || client().network_interfaces().describe();
        assert!(d().max_results(9).to_request().is_err());
        assert!(d().max_results(501).to_request().is_err());
        assert!("sg-1".parse::<EniId>().is_err());
        assert!("vsw-1".parse::<VpcId>().is_err());
        let many: Vec<EniId> = (0..101).map(|i| format!("eni-{i}").parse().unwrap()).collect();
        assert!(d().ids(many).to_request().is_err());
        assert!(d().tag(Tag::new("", "v")).to_request().is_err());
    }
}
