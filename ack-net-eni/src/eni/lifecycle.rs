//! AttachNetworkInterface, DetachNetworkInterface, DeleteNetworkInterface.

use ack_net_core::operation::Ack;
use ack_net_core::ErrorInfo;

use super::NetworkInterfaces;
use crate::common::already_removed;
use crate::{EniId, Error, InstanceId};

impl NetworkInterfaces {
    /// AttachNetworkInterface: asynchronous; the ENI is `Attaching`, then `InUse` (wait
    /// with [`NetworkInterfaces::wait_until_in_use`]). The ENI must be `Available` and in
    /// the instance's zone and VPC; the instance type bounds how many ENIs it holds
    /// (`EniPerInstanceLimitExceeded`, a capacity error).
    pub fn attach(&self, eni_id: &EniId, instance_id: &InstanceId) -> AttachNetworkInterface {
        AttachNetworkInterface::new(self.client.rpc(), eni_id.clone(), instance_id.clone())
    }

    /// DetachNetworkInterface: asynchronous; the ENI is `Detaching`, then `Available`. A
    /// primary ENI cannot be detached.
    pub fn detach(&self, eni_id: &EniId, instance_id: &InstanceId) -> DetachNetworkInterface {
        DetachNetworkInterface::new(self.client.rpc(), eni_id.clone(), instance_id.clone())
    }

    /// DeleteNetworkInterface: only an `Available` ENI; its addresses go back to the
    /// VSwitch. An ENI that does not exist counts as deleted.
    pub fn delete(&self, eni_id: &EniId) -> DeleteNetworkInterface {
        DeleteNetworkInterface::new(self.client.rpc(), eni_id.clone())
    }
}

ack_net_core::operation! {
    /// An AttachNetworkInterface request.
    pub struct AttachNetworkInterface: crate::ECS, "AttachNetworkInterface", write -> () as Ack => |_| (), Error;
    required {
        eni_id: EniId = "NetworkInterfaceId";
        instance_id: InstanceId = "InstanceId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A DetachNetworkInterface request. An ENI or instance that no longer exists
    /// (`InvalidEniId.NotFound`, `InvalidEcsId.NotFound`) counts as detached:
    /// [`Removed::Already`](crate::Removed::Already).
    pub struct DetachNetworkInterface: crate::ECS, "DetachNetworkInterface", write -> Ack, Error;
    required {
        eni_id: EniId = "NetworkInterfaceId";
        instance_id: InstanceId = "InstanceId";
    }
    optional {}
    gone: |e: &Error| matches!(e, Error::Api(e) if already_removed(e));
}

ack_net_core::operation! {
    /// A DeleteNetworkInterface request. An ENI that does not exist counts as deleted:
    /// [`Removed::Already`](crate::Removed::Already).
    pub struct DeleteNetworkInterface: crate::ECS, "DeleteNetworkInterface", write -> Ack, Error;
    required {
        eni_id: EniId = "NetworkInterfaceId";
    }
    optional {}
    gone: |e: &Error| e.is_code("InvalidEniId.NotFound");
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::{client, params};
    use crate::{EniId, InstanceId};

    #[test]
    fn ids_are_checked_before_any_call() {
        let enis = client().network_interfaces();
        let (eni, instance): (EniId, InstanceId) = ("eni-1".parse().unwrap(), "i-1".parse().unwrap());
        assert!(enis.attach(&eni, &instance).to_request().is_ok());
        assert!("i-1".parse::<EniId>().is_err() && "eni-1".parse::<InstanceId>().is_err());
        assert!("sg-1".parse::<InstanceId>().is_err());
        assert!("eni 1".parse::<EniId>().is_err());
        let p = params(&enis.delete(&eni).to_request().unwrap());
        assert_eq!(p, vec![("NetworkInterfaceId".to_owned(), "eni-1".to_owned())]);
    }
}
