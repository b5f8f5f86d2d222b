//! DescribeNetworkInterfaces with every filter, one page or a `Stream` over all.

use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::de;
use ack_net_core::listing::token_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use serde::Deserialize;

use super::{EniStatus, EniType, NetworkInterface, NetworkInterfaces};
use crate::common::{add_tags, validate_page_size, wrapped, MAX_TAGS};
use crate::{EcsClient, EniId, Error, InstanceId, SecurityGroupId, Tag, VSwitchId, VpcId};

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
        DescribeNetworkInterfaces {
            client: self.client.clone(),
            ids: Vec::new(),
            vpc_id: None,
            vswitch_id: None,
            instance_id: None,
            status: None,
            eni_type: None,
            tags: Vec::new(),
            primary_ip: None,
            private_ips: Vec::new(),
            ipv6: Vec::new(),
            name: None,
            security_group_id: None,
            max_results: None,
            next_token: None,
        }
    }
}

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
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeNetworkInterfaces {
    client: EcsClient,
    ids: Vec<String>,
    vpc_id: Option<String>,
    vswitch_id: Option<String>,
    instance_id: Option<String>,
    status: Option<EniStatus>,
    eni_type: Option<EniType>,
    tags: Vec<Tag>,
    primary_ip: Option<Ipv4Addr>,
    private_ips: Vec<Ipv4Addr>,
    ipv6: Vec<Ipv6Addr>,
    name: Option<String>,
    security_group_id: Option<String>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

impl DescribeNetworkInterfaces {
    /// Only these ENIs (`NetworkInterfaceId.N`, at most 100).
    pub fn ids<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, ids: I) -> Self {
        self.ids.extend(ids.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// Only ENIs of this VPC.
    pub fn vpc_id(mut self, id: impl AsRef<str>) -> Self {
        self.vpc_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only ENIs of this VSwitch.
    pub fn vswitch_id(mut self, id: impl AsRef<str>) -> Self {
        self.vswitch_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only ENIs on this instance.
    pub fn instance_id(mut self, id: impl AsRef<str>) -> Self {
        self.instance_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only ENIs in this status.
    pub fn status(mut self, status: EniStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only ENIs of this type.
    pub fn eni_type(mut self, t: EniType) -> Self {
        self.eni_type = Some(t);
        self
    }

    /// Only ENIs with this tag (an empty value matches any value); all tags must match.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// Only the ENI with this primary address.
    pub fn primary_ip(mut self, ip: Ipv4Addr) -> Self {
        self.primary_ip = Some(ip);
        self
    }

    /// Only ENIs holding one of these IPv4 addresses (`PrivateIpAddress.N`).
    pub fn private_ips(mut self, ips: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.private_ips.extend(ips);
        self
    }

    /// Only ENIs holding one of these IPv6 addresses (`Ipv6Address.N`).
    pub fn ipv6_addresses(mut self, ips: impl IntoIterator<Item = Ipv6Addr>) -> Self {
        self.ipv6.extend(ips);
        self
    }

    /// Only ENIs of this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only ENIs in this security group.
    pub fn security_group_id(mut self, id: impl AsRef<str>) -> Self {
        self.security_group_id = Some(id.as_ref().to_owned());
        self
    }

    /// `MaxResults`: the page size (10-500). [`DescribeNetworkInterfaces::into_stream`] uses
    /// 500 unless set.
    pub fn max_results(mut self, n: u32) -> Self {
        self.max_results = Some(n);
        self
    }

    /// `NextToken`: the page after the one that answered this token.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        if self.ids.len() > MAX_IDS {
            return Err(Error::invalid_input("NetworkInterfaceId", format!("at most {MAX_IDS} ids in one call")));
        }
        let ids = self.ids.iter().map(|i| EniId::new(i.as_str())).collect::<Result<Vec<_>, _>>()?;
        let mut req =
            RpcRequest::read(Product::Ecs, "DescribeNetworkInterfaces").list_param("NetworkInterfaceId", &ids);
        if let Some(id) = &self.vpc_id {
            req = req.param("VpcId", VpcId::new(id.as_str())?);
        }
        if let Some(id) = &self.vswitch_id {
            req = req.param("VSwitchId", VSwitchId::new(id.as_str())?);
        }
        if let Some(id) = &self.instance_id {
            req = req.param("InstanceId", InstanceId::new(id.as_str())?);
        }
        if let Some(id) = &self.security_group_id {
            req = req.param("SecurityGroupId", SecurityGroupId::new(id.as_str())?);
        }
        if let Some(n) = self.max_results {
            validate_page_size("MaxResults", n, MIN_RESULTS, MAX_RESULTS)?;
        }
        if self.next_token.as_deref() == Some("") {
            return Err(Error::invalid_input("NextToken", "must not be empty"));
        }
        if self.tags.iter().any(|t| t.key.is_empty()) {
            return Err(Error::invalid_input("Tag.Key", "must not be empty"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(Error::invalid_input("Tag", format!("at most {MAX_TAGS} tags")));
        }
        req = req
            .opt_param("Status", self.status.as_ref())
            .opt_param("Type", self.eni_type.as_ref())
            .opt_param("PrimaryIpAddress", self.primary_ip)
            .list_param("PrivateIpAddress", &self.private_ips)
            .list_param("Ipv6Address", &self.ipv6)
            .opt_param("NetworkInterfaceName", self.name.as_deref())
            .opt_param("MaxResults", self.max_results)
            .opt_param("NextToken", self.next_token.as_deref());
        Ok(add_tags(req, &self.tags))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<NetworkInterfacePage, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching ENI, over all pages (ignores [`DescribeNetworkInterfaces::next_token`]).
    /// Invalid input is the stream's only item.
    pub fn into_stream(mut self) -> BoxStream<'static, Result<NetworkInterface, Error>> {
        self.max_results = Some(self.max_results.unwrap_or(MAX_RESULTS));
        self.next_token = None;
        let request = self.to_request();
        token_stream(self.client.rpc().clone(), request, |page: NetworkInterfacePage| {
            (page.network_interfaces, page.next_token)
        })
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
            .ids(["eni-1", "eni-2"])
            .vswitch_id("vsw-1")
            .instance_id("i-1")
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
        assert!(d().ids(["sg-1"]).to_request().is_err());
        assert!(d().vpc_id("vsw-1").to_request().is_err());
        let many: Vec<String> = (0..101).map(|i| format!("eni-{i}")).collect();
        assert!(d().ids(many).to_request().is_err());
        assert!(d().tag(Tag::new("", "v")).to_request().is_err());
    }
}
