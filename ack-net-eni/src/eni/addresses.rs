//! Secondary IPv4 and IPv6 addresses of an ENI: AssignPrivateIpAddresses,
//! UnassignPrivateIpAddresses, AssignIpv6Addresses, UnassignIpv6Addresses.

use std::fmt::Display;
use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::de::Wrapped;
use ack_net_core::{Product, RpcRequest};
use serde::Deserialize;

use super::NetworkInterfaces;
use crate::common::{already_removed, with_client_token, Removed, MAX_ADDRESSES_PER_CALL};
use crate::{EcsClient, EniId, Error};

impl NetworkInterfaces {
    /// AssignPrivateIpAddresses: a [`count`](AssignPrivateIpAddresses::count) or a
    /// [`list`](AssignPrivateIpAddresses::addresses) of 1 to 10 secondary IPv4 addresses.
    /// An attached ENI holds what its instance type allows (`EniPrivateIpAddressQuantity`,
    /// the primary address included), an unattached one 10; beyond that the call fails with
    /// a capacity error (`InvalidOperation.Ipv4CountExceeded`).
    pub fn assign_private_ips(&self, eni_id: impl AsRef<str>) -> AssignPrivateIpAddresses {
        AssignPrivateIpAddresses(Assign::new(self.client.clone(), eni_id.as_ref()))
    }

    /// UnassignPrivateIpAddresses: returns secondary IPv4 addresses to the VSwitch. An
    /// address that is not on the ENI (`InvalidIp.IpUnassigned`) or an ENI that is gone
    /// counts as removed.
    pub fn unassign_private_ips(
        &self,
        eni_id: impl AsRef<str>,
        ips: impl IntoIterator<Item = Ipv4Addr>,
    ) -> UnassignPrivateIpAddresses {
        UnassignPrivateIpAddresses(Unassign::new(self.client.clone(), eni_id.as_ref(), ips))
    }

    /// AssignIpv6Addresses: a count or a list of 1 to 10 IPv6 addresses; the ENI's VSwitch
    /// must have IPv6.
    pub fn assign_ipv6(&self, eni_id: impl AsRef<str>) -> AssignIpv6Addresses {
        AssignIpv6Addresses(Assign::new(self.client.clone(), eni_id.as_ref()))
    }

    /// UnassignIpv6Addresses; an address not on the ENI counts as removed.
    pub fn unassign_ipv6(
        &self,
        eni_id: impl AsRef<str>,
        ips: impl IntoIterator<Item = Ipv6Addr>,
    ) -> UnassignIpv6Addresses {
        UnassignIpv6Addresses(Unassign::new(self.client.clone(), eni_id.as_ref(), ips))
    }
}

#[derive(Clone, Debug)]
struct Assign<A> {
    client: EcsClient,
    eni_id: String,
    count: Option<u32>,
    addresses: Vec<A>,
    client_token: Option<String>,
}

impl<A: Display + PartialEq> Assign<A> {
    fn new(client: EcsClient, eni_id: &str) -> Self {
        Self { client, eni_id: eni_id.to_owned(), count: None, addresses: Vec::new(), client_token: None }
    }

    fn to_request(&self, action: &'static str, count_name: &str, list_name: &str) -> Result<RpcRequest, Error> {
        let id = EniId::new(self.eni_id.as_str())?;
        let n = match (self.count, self.addresses.len()) {
            (Some(_), l) if l > 0 => {
                return Err(Error::invalid_input(count_name, format!("give a count or {list_name}.N, not both")))
            }
            (Some(c), _) => c as usize,
            (None, l) => l,
        };
        if n == 0 {
            return Err(Error::invalid_input(count_name, "ask for at least one address"));
        }
        if n > MAX_ADDRESSES_PER_CALL {
            return Err(Error::invalid_input(
                count_name,
                format!("at most {MAX_ADDRESSES_PER_CALL} addresses in one call, not {n}"),
            ));
        }
        for (i, a) in self.addresses.iter().enumerate() {
            if self.addresses[..i].contains(a) {
                return Err(Error::invalid_input(list_name, format!("{a} is given twice")));
            }
        }
        let req = RpcRequest::idempotent_write(Product::Ecs, action)
            .param("NetworkInterfaceId", id)
            .opt_param(count_name, self.count)
            .list_param(list_name, &self.addresses);
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }
}

macro_rules! assign_setters {
    ($t:ident, $addr:ty) => {
        impl $t {
            /// Asks for this many addresses (1-10), chosen by the VSwitch.
            pub fn count(mut self, n: u32) -> Self {
                self.0.count = Some(n);
                self
            }

            /// Asks for these addresses (1-10, free in the ENI's VSwitch).
            pub fn addresses(mut self, ips: impl IntoIterator<Item = $addr>) -> Self {
                self.0.addresses.extend(ips);
                self
            }

            /// `ClientToken`: the same token and parameters assign only once.
            pub fn client_token(mut self, token: impl Into<String>) -> Self {
                self.0.client_token = Some(token.into());
                self
            }
        }
    };
}

/// An AssignPrivateIpAddresses request; answers the addresses assigned.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct AssignPrivateIpAddresses(Assign<Ipv4Addr>);
assign_setters!(AssignPrivateIpAddresses, Ipv4Addr);

#[derive(Deserialize)]
struct AssignedV4 {
    #[serde(rename = "AssignedPrivateIpAddressesSet", default)]
    set: Option<AssignedV4Set>,
}

#[derive(Deserialize)]
struct AssignedV4Set {
    #[serde(rename = "PrivateIpSet", default)]
    ips: Wrapped<Ipv4Addr>,
}

impl AssignPrivateIpAddresses {
    /// The request as it will be sent; checks first: the id, 1-10 addresses, a count or a
    /// list (not both), no address twice, the token.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        self.0.to_request("AssignPrivateIpAddresses", "SecondaryPrivateIpAddressCount", "PrivateIpAddress")
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<Ipv4Addr>, Error> {
        let req = self.to_request()?;
        let r: AssignedV4 = self.0.client.call(req).await?;
        Ok(r.set.map(|s| s.ips.into_inner()).unwrap_or_default())
    }
}

/// An AssignIpv6Addresses request; answers the addresses assigned.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct AssignIpv6Addresses(Assign<Ipv6Addr>);
assign_setters!(AssignIpv6Addresses, Ipv6Addr);

#[derive(Deserialize)]
struct AssignedV6 {
    #[serde(rename = "Ipv6Sets", default)]
    ips: Wrapped<Ipv6Addr>,
}

impl AssignIpv6Addresses {
    /// The request as it will be sent; checks as for IPv4.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        self.0.to_request("AssignIpv6Addresses", "Ipv6AddressCount", "Ipv6Address")
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<Ipv6Addr>, Error> {
        let req = self.to_request()?;
        let r: AssignedV6 = self.0.client.call(req).await?;
        Ok(r.ips.into_inner())
    }
}

#[derive(Clone, Debug)]
struct Unassign<A> {
    client: EcsClient,
    eni_id: String,
    addresses: Vec<A>,
}

impl<A: Display + PartialEq + Copy> Unassign<A> {
    fn new(client: EcsClient, eni_id: &str, ips: impl IntoIterator<Item = A>) -> Self {
        Self { client, eni_id: eni_id.to_owned(), addresses: ips.into_iter().collect() }
    }

    fn request(&self, action: &'static str, list_name: &str, addresses: &[A]) -> Result<RpcRequest, Error> {
        let id = EniId::new(self.eni_id.as_str())?;
        if addresses.is_empty() {
            return Err(Error::invalid_input(list_name, "name at least one address"));
        }
        for (i, a) in addresses.iter().enumerate() {
            if addresses[..i].contains(a) {
                return Err(Error::invalid_input(list_name, format!("{a} is given twice")));
            }
        }
        Ok(RpcRequest::write(Product::Ecs, action).param("NetworkInterfaceId", id).list_param(list_name, addresses))
    }

    /// Sends; "already gone" answers count as success. When several addresses are named and
    /// the API refuses the call because one is not on the ENI, each is removed on its own so
    /// that the others are not left behind.
    async fn send(self, action: &'static str, list_name: &str) -> Result<Removed, Error> {
        let req = self.request(action, list_name, &self.addresses)?;
        match self.client.rpc().call::<serde_json::Value>(req).await {
            Ok(_) => return Ok(Removed::Now),
            Err(e) if e.is_code("InvalidIp.IpUnassigned") && self.addresses.len() > 1 => {}
            Err(e) if already_removed(&e) => return Ok(Removed::Already),
            Err(e) => return Err(e.into()),
        }
        let mut removed = Removed::Already;
        for a in &self.addresses {
            let req = self.request(action, list_name, std::slice::from_ref(a))?;
            // Asking again is safe ("already gone" is success), so an answer lost on the way
            // (the address may be gone) is asked again here rather than by starting over.
            for attempt in 1.. {
                match self.client.rpc().call::<serde_json::Value>(req.clone()).await {
                    Ok(_) => removed = Removed::Now,
                    Err(e) if already_removed(&e) => {}
                    Err(e) if e.is_retryable() && attempt < SINGLE_ADDRESS_ATTEMPTS => continue,
                    Err(e) => return Err(e.into()),
                }
                break;
            }
        }
        Ok(removed)
    }
}

/// How often one address of a split unassignment is asked for before the error is returned.
const SINGLE_ADDRESS_ATTEMPTS: u32 = 3;

/// An UnassignPrivateIpAddresses request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct UnassignPrivateIpAddresses(Unassign<Ipv4Addr>);

impl UnassignPrivateIpAddresses {
    /// The request as it will be sent; checks the id and the addresses first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        self.0.request("UnassignPrivateIpAddresses", "PrivateIpAddress", &self.0.addresses)
    }

    /// Sends the request: [`Removed::Already`] when nothing was on the ENI any more.
    pub async fn send(self) -> Result<Removed, Error> {
        self.0.send("UnassignPrivateIpAddresses", "PrivateIpAddress").await
    }
}

/// An UnassignIpv6Addresses request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct UnassignIpv6Addresses(Unassign<Ipv6Addr>);

impl UnassignIpv6Addresses {
    /// The request as it will be sent; checks the id and the addresses first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        self.0.request("UnassignIpv6Addresses", "Ipv6Address", &self.0.addresses)
    }

    /// Sends the request: [`Removed::Already`] when nothing was on the ENI any more.
    pub async fn send(self) -> Result<Removed, Error> {
        self.0.send("UnassignIpv6Addresses", "Ipv6Address").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn at_most_ten_per_assign() {
        let enis = client().network_interfaces();
        assert!(enis.assign_private_ips("eni-1").count(10).to_request().is_ok());
        let e = enis.assign_private_ips("eni-1").count(11).to_request().unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
        let many: Vec<Ipv4Addr> = (1..=11).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert!(enis.assign_private_ips("eni-1").addresses(many).to_request().is_err());
        assert!(enis.assign_private_ips("eni-1").to_request().is_err(), "nothing asked");
        assert!(enis.assign_private_ips("eni-1").count(0).to_request().is_err());
        assert!(enis.assign_ipv6("eni-1").count(11).to_request().is_err());
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        assert!(enis.assign_private_ips("eni-1").count(1).addresses([ip]).to_request().is_err());
        assert!(enis.assign_private_ips("eni-1").addresses([ip, ip]).to_request().is_err());
        assert!(enis.assign_private_ips("bad").count(1).to_request().is_err());
    }

    #[test]
    fn parameters() {
        let enis = client().network_interfaces();
        let req = enis.assign_private_ips("eni-1").addresses([Ipv4Addr::new(10, 0, 0, 7)]).to_request().unwrap();
        let p = params(&req);
        assert!(p.contains(&("PrivateIpAddress.1".into(), "10.0.0.7".into())));
        let req = enis.unassign_ipv6("eni-1", ["2408::1".parse().unwrap()]).to_request().unwrap();
        assert!(params(&req).contains(&("Ipv6Address.1".into(), "2408::1".into())));
        assert!(enis.unassign_private_ips("eni-1", []).to_request().is_err());
    }

    #[test]
    fn decodes_answers() {
        let r: AssignedV4 = serde_json::from_str(
            r#"{"AssignedPrivateIpAddressesSet":{"NetworkInterfaceId":"eni-1","PrivateIpSet":{"PrivateIpAddress":["10.0.0.2","10.0.0.3"]}}}"#,
        )
        .unwrap();
        assert_eq!(r.set.unwrap().ips.len(), 2);
        let r: AssignedV6 = serde_json::from_str(r#"{"Ipv6Sets":{"Ipv6Address":["2408::2"]}}"#).unwrap();
        assert_eq!(r.ips.len(), 1);
    }
}
