//! CreateNetworkInterface.

use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::input::validate_opt_text;

use super::{NetworkInterface, NetworkInterfaces, INTENT_TAG_KEY};
use crate::common::{validate_client_token, validate_tags};
use crate::{EcsClient, Error, InstanceId, SecurityGroupId, Tag, VSwitchId, WaitPolicy};

/// The most security groups one ENI belongs to.
pub const MAX_SECURITY_GROUPS: usize = 5;

impl NetworkInterfaces {
    /// CreateNetworkInterface in `vswitch_id`; add at least one security group.
    pub fn create(&self, vswitch_id: &VSwitchId) -> CreateNetworkInterface {
        CreateNetworkInterface::new(self.client.rpc(), vswitch_id.clone())
    }

    /// CreateNetworkInterface in a VSwitch described by ack-net-vpc: asking for IPv6 on a
    /// VSwitch without IPv6 is then refused before any call.
    pub fn create_in(&self, vswitch: &ack_net_vpc::VSwitch) -> CreateNetworkInterface {
        let has_ipv6 = vswitch.enabled_ipv6 || !vswitch.ipv6_cidr_block.is_empty();
        self.create(&vswitch.vswitch_id).vswitch_has_ipv6(has_ipv6)
    }
}

ack_net_core::operation! {
    /// A CreateNetworkInterface request. The new ENI is `Available`; attach it with
    /// [`NetworkInterfaces::attach`], or create and attach in one crash-safe step with
    /// [`CreateNetworkInterface::send_and_attach`]. Checked first: 1-5 distinct security
    /// groups, a count or a list of addresses (not both, no repeats), IPv6 only on a VSwitch
    /// with IPv6 (when known), tags, name, description and token.
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// use ack_net_eni::{SecurityGroupId, Tag, VSwitchId};
    /// let vswitch: VSwitchId = "vsw-bp1s5fnvk4gn2tws03624".parse()?;
    /// let group: SecurityGroupId = "sg-bp67acfmxazb4p".parse()?;
    /// let eni = ecs
    ///     .network_interfaces()
    ///     .create(&vswitch)
    ///     .security_group(&group)
    ///     .secondary_ip_count(5)
    ///     .tag(Tag::new("owner", "my-cni"))
    ///     .client_token("node-1-eni-1")
    ///     .send()
    ///     .await?;
    /// println!("{} {} {:?}", eni.id, eni.mac, eni.secondary_ips);
    /// # Ok(()) }
    /// ```
    pub struct CreateNetworkInterface: crate::ECS, "CreateNetworkInterface", idempotent_write
        -> NetworkInterface, Error;
    required {
        vswitch_id: VSwitchId = "VSwitchId";
    }
    optional {
        /// Adds security groups (1 to 5 in all, in the VSwitch's VPC).
        security_groups: Vec<SecurityGroupId> = "SecurityGroupIds" => extend(SecurityGroupId), push security_group;
        /// `PrimaryIpAddress`: a specific free address of the VSwitch (the lowest free one
        /// otherwise).
        primary_ip: Option<Ipv4Addr> = "PrimaryIpAddress" => set(Ipv4Addr);
        /// `SecondaryPrivateIpAddressCount`: this many secondary IPv4 addresses (0 asks for none).
        secondary_ip_count: Option<u32> = "SecondaryPrivateIpAddressCount" => by_hand(u32);
        /// `PrivateIpAddress.N`: these secondary IPv4 addresses.
        secondary_ips: Vec<Ipv4Addr> = "PrivateIpAddress" => extend(Ipv4Addr), push secondary_ip;
        /// `Ipv6AddressCount`: this many IPv6 addresses (the VSwitch must have IPv6; 0 asks
        /// for none).
        ipv6_count: Option<u32> = "Ipv6AddressCount" => by_hand(u32);
        /// `Ipv6Address.N`: these IPv6 addresses.
        ipv6_addresses: Vec<Ipv6Addr> = "Ipv6Address" => extend(Ipv6Addr), push ipv6_address;
        /// Tags for the new ENI.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
        /// `NetworkInterfaceName` (at most 128 characters).
        name: Option<String> = "NetworkInterfaceName" => into(String);
        /// `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
    }
    local {
        /// Whether the VSwitch has IPv6, when known.
        vswitch_has_ipv6: Option<bool>;
    }
    check: Self::check_input;
}

impl CreateNetworkInterface {
    /// `SecondaryPrivateIpAddressCount`: this many secondary IPv4 addresses (0 asks for none).
    pub fn secondary_ip_count(mut self, n: u32) -> Self {
        self.secondary_ip_count = Some(n).filter(|n| *n > 0);
        self
    }

    /// `Ipv6AddressCount`: this many IPv6 addresses (the VSwitch must have IPv6; 0 asks for
    /// none).
    pub fn ipv6_count(mut self, n: u32) -> Self {
        self.ipv6_count = Some(n).filter(|n| *n > 0);
        self
    }

    /// Declares whether the VSwitch has IPv6, when the caller knows (see
    /// [`NetworkInterfaces::create_in`]): asking for IPv6 on one without is then refused
    /// before any call.
    pub fn vswitch_has_ipv6(mut self, has_ipv6: bool) -> Self {
        self.vswitch_has_ipv6 = Some(has_ipv6);
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        let groups = &self.security_groups;
        if groups.is_empty() {
            return Err(Error::invalid_input("SecurityGroupIds", "an ENI needs at least one security group"));
        }
        if groups.len() > MAX_SECURITY_GROUPS {
            return Err(Error::invalid_input(
                "SecurityGroupIds",
                format!("at most {MAX_SECURITY_GROUPS} security groups, not {}", groups.len()),
            ));
        }
        if let Some(g) = groups.iter().enumerate().find_map(|(i, g)| groups[..i].contains(g).then_some(g)) {
            return Err(Error::invalid_input("SecurityGroupIds", format!("{g} is given twice")));
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
        let wants_ipv6 = self.ipv6_count.is_some() || !self.ipv6_addresses.is_empty();
        if wants_ipv6 && self.vswitch_has_ipv6 == Some(false) {
            return Err(Error::invalid_input(
                "Ipv6AddressCount",
                format!("VSwitch {} has no IPv6 block", self.vswitch_id),
            ));
        }
        validate_tags(&self.tags)?;
        validate_opt_text("NetworkInterfaceName", &self.name, 128)?;
        Ok(validate_opt_text("Description", &self.description, 256)?)
    }

    /// The client token of a crash-safe create (the one set, or a new one), with the ENI
    /// tagged [`INTENT_TAG_KEY`]`=<token>`; a different value under that key is refused.
    pub(super) fn with_intent(mut self) -> Result<(Self, String), Error> {
        let token = match self.client_token.clone() {
            Some(t) => t,
            None => format!("ack-net-{}", uuid::Uuid::new_v4()),
        };
        validate_client_token(&token)?;
        if let Some(t) = self.tags.iter().find(|t| t.key == INTENT_TAG_KEY) {
            if t.value != token {
                return Err(Error::invalid_input(
                    "Tag",
                    format!("{INTENT_TAG_KEY} is set by create_and_attach to the client token, not {:?}", t.value),
                ));
            }
        } else {
            self.tags.push(Tag::new(INTENT_TAG_KEY, token.as_str()));
        }
        self.client_token = Some(token.clone());
        self.to_request()?;
        Ok((self, token))
    }

    /// Creates the ENI and attaches it to `instance_id`, waiting until it is `InUse`: see
    /// [`NetworkInterfaces::create_and_attach`]. Set a [`client_token`](Self::client_token)
    /// derived from your intent to make a re-run after a crash find the same ENI.
    pub async fn send_and_attach(
        self,
        instance_id: &InstanceId,
        policy: &WaitPolicy,
    ) -> Result<NetworkInterface, Error> {
        if let Some(t) = &self.client_token {
            validate_client_token(t)?;
        }
        let enis = NetworkInterfaces::new(EcsClient::new(self.rpc.clone()));
        enis.create_and_attach(self, instance_id, policy).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};
    use ack_net_core::ErrorInfo;

    fn sg(id: &str) -> SecurityGroupId {
        id.parse().unwrap()
    }

    fn create() -> CreateNetworkInterface {
        client().network_interfaces().create(&"vsw-1".parse().unwrap()).security_group(sg("sg-1"))
    }

    #[test]
    fn builds_the_parameters() {
        let req = create()
            .security_group(sg("sg-2"))
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
        assert!(c.network_interfaces().create(&"vsw-1".parse().unwrap()).to_request().is_err(), "no security group");
        assert!("vpc-1".parse::<VSwitchId>().is_err());
        assert!("i-1".parse::<SecurityGroupId>().is_err());
        assert!(create().security_group(sg("sg-1")).to_request().is_err(), "twice");
        assert!(create().security_groups(["sg-2", "sg-3", "sg-4", "sg-5", "sg-6"].map(sg)).to_request().is_err());
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
