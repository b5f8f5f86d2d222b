//! AttachNetworkInterface, DetachNetworkInterface, DeleteNetworkInterface.

use ack_net_core::{Product, RpcRequest};

use super::NetworkInterfaces;
use crate::common::{already_removed, Removed};
use crate::{EcsClient, EniId, Error, InstanceId};

impl NetworkInterfaces {
    /// AttachNetworkInterface: asynchronous; the ENI is `Attaching`, then `InUse` (wait
    /// with [`NetworkInterfaces::wait_until_in_use`]). The ENI must be `Available` and in
    /// the instance's zone and VPC; the instance type bounds how many ENIs it holds
    /// (`EniPerInstanceLimitExceeded`, a capacity error).
    pub fn attach(&self, eni_id: impl AsRef<str>, instance_id: impl AsRef<str>) -> AttachNetworkInterface {
        AttachNetworkInterface {
            client: self.client.clone(),
            eni_id: eni_id.as_ref().to_owned(),
            instance_id: instance_id.as_ref().to_owned(),
        }
    }

    /// DetachNetworkInterface: asynchronous; the ENI is `Detaching`, then `Available`. A
    /// primary ENI cannot be detached.
    pub fn detach(&self, eni_id: impl AsRef<str>, instance_id: impl AsRef<str>) -> DetachNetworkInterface {
        DetachNetworkInterface {
            client: self.client.clone(),
            eni_id: eni_id.as_ref().to_owned(),
            instance_id: instance_id.as_ref().to_owned(),
        }
    }

    /// DeleteNetworkInterface: only an `Available` ENI; its addresses go back to the
    /// VSwitch. An ENI that does not exist counts as deleted.
    pub fn delete(&self, eni_id: impl AsRef<str>) -> DeleteNetworkInterface {
        DeleteNetworkInterface { client: self.client.clone(), eni_id: eni_id.as_ref().to_owned() }
    }
}

/// An AttachNetworkInterface request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct AttachNetworkInterface {
    client: EcsClient,
    eni_id: String,
    instance_id: String,
}

impl AttachNetworkInterface {
    /// The request as it will be sent; checks the ids first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        Ok(RpcRequest::write(Product::Ecs, "AttachNetworkInterface")
            .param("NetworkInterfaceId", EniId::new(self.eni_id.as_str())?)
            .param("InstanceId", InstanceId::new(self.instance_id.as_str())?))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        let _: serde_json::Value = self.client.call(req).await?;
        Ok(())
    }
}

/// A DetachNetworkInterface request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DetachNetworkInterface {
    client: EcsClient,
    eni_id: String,
    instance_id: String,
}

impl DetachNetworkInterface {
    /// The request as it will be sent; checks the ids first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        Ok(RpcRequest::write(Product::Ecs, "DetachNetworkInterface")
            .param("NetworkInterfaceId", EniId::new(self.eni_id.as_str())?)
            .param("InstanceId", InstanceId::new(self.instance_id.as_str())?))
    }

    /// Sends the request. An ENI or instance that no longer exists
    /// (`InvalidEniId.NotFound`, `InvalidEcsId.NotFound`) counts as detached:
    /// [`Removed::Already`].
    pub async fn send(self) -> Result<Removed, Error> {
        let req = self.to_request()?;
        match self.client.rpc().call::<serde_json::Value>(req).await {
            Ok(_) => Ok(Removed::Now),
            Err(e) if already_removed(&e) => Ok(Removed::Already),
            Err(e) => Err(e.into()),
        }
    }
}

/// A DeleteNetworkInterface request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DeleteNetworkInterface {
    client: EcsClient,
    eni_id: String,
}

impl DeleteNetworkInterface {
    /// The request as it will be sent; checks the id first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        Ok(RpcRequest::write(Product::Ecs, "DeleteNetworkInterface")
            .param("NetworkInterfaceId", EniId::new(self.eni_id.as_str())?))
    }

    /// Sends the request. An ENI that does not exist counts as deleted: [`Removed::Already`].
    pub async fn send(self) -> Result<Removed, Error> {
        let req = self.to_request()?;
        match self.client.rpc().call::<serde_json::Value>(req).await {
            Ok(_) => Ok(Removed::Now),
            Err(e) if e.is_code("InvalidEniId.NotFound") => Ok(Removed::Already),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::{client, params};

    #[test]
    fn ids_are_checked_before_any_call() {
        let enis = client().network_interfaces();
        assert!(enis.attach("eni-1", "i-1").to_request().is_ok());
        assert!(enis.attach("i-1", "eni-1").to_request().is_err());
        assert!(enis.detach("eni-1", "sg-1").to_request().is_err());
        assert!(enis.delete("eni 1").to_request().is_err());
        let p = params(&enis.delete("eni-1").to_request().unwrap());
        assert_eq!(p, vec![("NetworkInterfaceId".to_owned(), "eni-1".to_owned())]);
    }
}
