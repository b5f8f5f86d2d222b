//! CreateNetworkInterface.

use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::{Product, RpcRequest};

use super::{NetworkInterface, NetworkInterfaces};
use crate::common::{add_tags, validate_client_token, validate_tags, validate_text, with_client_token};
use crate::{EcsClient, Error, InstanceId, SecurityGroupId, Tag, VSwitchId, WaitPolicy};

/// The most security groups one ENI belongs to.
pub const MAX_SECURITY_GROUPS: usize = 5;

impl NetworkInterfaces {
    /// CreateNetworkInterface in `vswitch_id`; add at least one security group.
    pub fn create(&self, vswitch_id: impl AsRef<str>) -> CreateNetworkInterface {
        CreateNetworkInterface::new(self.client.clone(), vswitch_id.as_ref().to_owned(), None)
    }

    /// CreateNetworkInterface in a VSwitch described by ack-net-vpc: asking for IPv6 on a
    /// VSwitch without IPv6 is then refused before any call.
    pub fn create_in(&self, vswitch: &ack_net_vpc::VSwitch) -> CreateNetworkInterface {
        let has_ipv6 = vswitch.enabled_ipv6 || !vswitch.ipv6_cidr_block.is_empty();
        CreateNetworkInterface::new(self.client.clone(), vswitch.vswitch_id.to_string(), Some(has_ipv6))
    }
}

/// A CreateNetworkInterface request. The new ENI is `Available`; attach it with
/// [`NetworkInterfaces::attach`], or create and attach in one crash-safe step with
/// [`CreateNetworkInterface::send_and_attach`].
///
/// ```no_run
/// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
/// use ack_net_eni::Tag;
/// let eni = ecs
///     .network_interfaces()
///     .create("vsw-bp1s5fnvk4gn2tws03624")
///     .security_group("sg-bp67acfmxazb4p")
///     .secondary_ip_count(5)
///     .tag(Tag::new("owner", "my-cni"))
///     .client_token("node-1-eni-1")
///     .send()
///     .await?;
/// println!("{} {} {:?}", eni.id, eni.mac, eni.secondary_ips);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateNetworkInterface {
    pub(super) client: EcsClient,
    vswitch_id: String,
    vswitch_has_ipv6: Option<bool>,
    security_groups: Vec<String>,
    primary_ip: Option<Ipv4Addr>,
    secondary_ip_count: Option<u32>,
    secondary_ips: Vec<Ipv4Addr>,
    ipv6_count: Option<u32>,
    ipv6_addresses: Vec<Ipv6Addr>,
    pub(super) tags: Vec<Tag>,
    name: Option<String>,
    description: Option<String>,
    pub(super) client_token: Option<String>,
}

impl CreateNetworkInterface {
    fn new(client: EcsClient, vswitch_id: String, vswitch_has_ipv6: Option<bool>) -> Self {
        Self {
            client,
            vswitch_id,
            vswitch_has_ipv6,
            security_groups: Vec::new(),
            primary_ip: None,
            secondary_ip_count: None,
            secondary_ips: Vec::new(),
            ipv6_count: None,
            ipv6_addresses: Vec::new(),
            tags: Vec::new(),
            name: None,
            description: None,
            client_token: None,
        }
    }

    /// Adds a security group (1 to 5, all in the VSwitch's VPC).
    pub fn security_group(mut self, id: impl AsRef<str>) -> Self {
        self.security_groups.push(id.as_ref().to_owned());
        self
    }

    /// Adds security groups.
    pub fn security_groups<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, ids: I) -> Self {
        self.security_groups.extend(ids.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// `PrimaryIpAddress`: a specific free address of the VSwitch (the lowest free one
    /// otherwise).
    pub fn primary_ip(mut self, ip: Ipv4Addr) -> Self {
        self.primary_ip = Some(ip);
        self
    }

    /// `SecondaryPrivateIpAddressCount`: this many secondary IPv4 addresses.
    pub fn secondary_ip_count(mut self, n: u32) -> Self {
        self.secondary_ip_count = Some(n);
        self
    }

    /// `PrivateIpAddress.N`: these secondary IPv4 addresses.
    pub fn secondary_ips(mut self, ips: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.secondary_ips.extend(ips);
        self
    }

    /// `Ipv6AddressCount`: this many IPv6 addresses (the VSwitch must have IPv6).
    pub fn ipv6_count(mut self, n: u32) -> Self {
        self.ipv6_count = Some(n);
        self
    }

    /// `Ipv6Address.N`: these IPv6 addresses.
    pub fn ipv6_addresses(mut self, ips: impl IntoIterator<Item = Ipv6Addr>) -> Self {
        self.ipv6_addresses.extend(ips);
        self
    }

    /// Declares whether the VSwitch has IPv6, when the caller knows (see
    /// [`NetworkInterfaces::create_in`]): asking for IPv6 on one without is then refused
    /// before any call.
    pub fn vswitch_has_ipv6(mut self, has_ipv6: bool) -> Self {
        self.vswitch_has_ipv6 = Some(has_ipv6);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// `NetworkInterfaceName` (at most 128 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `Description` (at most 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `ClientToken`: the same token and parameters create the ENI only once. Derive it
    /// from your intent (`node-1/eni-2`) so that a restarted process does not create a
    /// second ENI; [`CreateNetworkInterface::send_and_attach`] also tags the ENI with it.
    /// One is generated per call otherwise (and reused by the client's retries).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first: the ids' kinds, 1-5
    /// distinct security groups, a count or a list of addresses (not both, no repeats),
    /// IPv6 only on a VSwitch with IPv6 (when known), tags, name, description and token.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let vswitch_id = VSwitchId::new(self.vswitch_id.as_str())?;
        if self.security_groups.is_empty() {
            return Err(Error::invalid_input("SecurityGroupIds", "an ENI needs at least one security group"));
        }
        if self.security_groups.len() > MAX_SECURITY_GROUPS {
            return Err(Error::invalid_input(
                "SecurityGroupIds",
                format!("at most {MAX_SECURITY_GROUPS} security groups, not {}", self.security_groups.len()),
            ));
        }
        let mut groups: Vec<SecurityGroupId> = Vec::with_capacity(self.security_groups.len());
        for g in &self.security_groups {
            let g = SecurityGroupId::new(g.as_str())?;
            if groups.contains(&g) {
                return Err(Error::invalid_input("SecurityGroupIds", format!("{g} is given twice")));
            }
            groups.push(g);
        }
        if self.secondary_ip_count.is_some() && !self.secondary_ips.is_empty() {
            return Err(Error::invalid_input(
                "SecondaryPrivateIpAddressCount",
                "give a count or a list of secondary addresses, not both",
            ));
        }
        for (i, ip) in self.secondary_ips.iter().enumerate() {
            if self.secondary_ips[..i].contains(ip) || Some(*ip) == self.primary_ip {
                return Err(Error::invalid_input("PrivateIpAddress", format!("{ip} is given twice")));
            }
        }
        if self.ipv6_count.is_some() && !self.ipv6_addresses.is_empty() {
            return Err(Error::invalid_input("Ipv6AddressCount", "give a count or a list of IPv6 addresses, not both"));
        }
        for (i, ip) in self.ipv6_addresses.iter().enumerate() {
            if self.ipv6_addresses[..i].contains(ip) {
                return Err(Error::invalid_input("Ipv6Address", format!("{ip} is given twice")));
            }
        }
        let wants_ipv6 = self.ipv6_count.unwrap_or(0) > 0 || !self.ipv6_addresses.is_empty();
        if wants_ipv6 && self.vswitch_has_ipv6 == Some(false) {
            return Err(Error::invalid_input("Ipv6AddressCount", format!("VSwitch {vswitch_id} has no IPv6 block")));
        }
        validate_tags(&self.tags)?;
        if let Some(n) = &self.name {
            validate_text("NetworkInterfaceName", n, 128)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 256)?;
        }
        let mut req = RpcRequest::idempotent_write(Product::Ecs, "CreateNetworkInterface")
            .param("VSwitchId", &vswitch_id)
            .list_param("SecurityGroupIds", &groups)
            .opt_param("PrimaryIpAddress", self.primary_ip)
            .opt_param("SecondaryPrivateIpAddressCount", self.secondary_ip_count.filter(|n| *n > 0))
            .list_param("PrivateIpAddress", &self.secondary_ips)
            .opt_param("Ipv6AddressCount", self.ipv6_count.filter(|n| *n > 0))
            .list_param("Ipv6Address", &self.ipv6_addresses)
            .opt_param("NetworkInterfaceName", self.name.as_deref())
            .opt_param("Description", self.description.as_deref());
        req = add_tags(req, &self.tags);
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request; answers the new ENI (`Available`).
    pub async fn send(self) -> Result<NetworkInterface, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Creates the ENI and attaches it to `instance_id`, waiting until it is `InUse`: see
    /// [`NetworkInterfaces::create_and_attach`]. Set a [`client_token`](Self::client_token)
    /// derived from your intent to make a re-run after a crash find the same ENI.
    pub async fn send_and_attach(
        self,
        instance_id: impl AsRef<str>,
        policy: &WaitPolicy,
    ) -> Result<NetworkInterface, Error> {
        let instance = InstanceId::new(instance_id.as_ref())?;
        if let Some(t) = &self.client_token {
            validate_client_token(t)?;
        }
        let enis = NetworkInterfaces::new(self.client.clone());
        enis.create_and_attach(self, &instance, policy).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    fn create() -> CreateNetworkInterface {
        client().network_interfaces().create("vsw-1").security_group("sg-1")
    }

    #[test]
    fn builds_the_parameters() {
        let req = create()
            .security_group("sg-2")
            .primary_ip(Ipv4Addr::new(10, 0, 0, 9))
            .secondary_ip_count(3)
            .ipv6_count(1)
            .tag(Tag::new("k", "v"))
            .name("pods")
            .client_token("tok-1")
            .to_request()
            .unwrap();
        let p = params(&req);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("VSwitchId"), Some("vsw-1"));
        assert_eq!(get("SecurityGroupIds.1"), Some("sg-1"));
        assert_eq!(get("SecurityGroupIds.2"), Some("sg-2"));
        assert_eq!(get("PrimaryIpAddress"), Some("10.0.0.9"));
        assert_eq!(get("SecondaryPrivateIpAddressCount"), Some("3"));
        assert_eq!(get("Ipv6AddressCount"), Some("1"));
        assert_eq!(get("Tag.1.Key"), Some("k"));
        assert_eq!(get("NetworkInterfaceName"), Some("pods"));
        assert_eq!(req.idempotency(), &ack_net_core::Idempotency::ClientToken(Some("tok-1".into())));
    }

    #[test]
    fn refuses_bad_input() {
        let c = client();
        assert!(c.network_interfaces().create("vsw-1").to_request().is_err(), "no security group");
        assert!(c.network_interfaces().create("vpc-1").security_group("sg-1").to_request().is_err());
        assert!(create().security_group("i-1").to_request().is_err());
        assert!(create().security_group("sg-1").to_request().is_err(), "twice");
        assert!(create().security_groups(["sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]).to_request().is_err());
        assert!(create().secondary_ip_count(2).secondary_ips([Ipv4Addr::new(10, 0, 0, 1)]).to_request().is_err());
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        assert!(create().secondary_ips([ip, ip]).to_request().is_err());
        assert!(create().primary_ip(ip).secondary_ips([ip]).to_request().is_err());
        assert!(create().ipv6_count(1).vswitch_has_ipv6(false).to_request().unwrap_err().is_invalid_input());
        assert!(create().ipv6_count(1).vswitch_has_ipv6(true).to_request().is_ok());
        assert!(create().client_token("a b").to_request().is_err());
        assert!(create().name("http://x").to_request().is_err());
    }
}
