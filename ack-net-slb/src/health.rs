//! DescribeHealthStatus: the health of the backends behind a load balancer's listeners.

use std::net::IpAddr;

use serde::Deserialize;

use crate::backend::opt_ip;
use crate::common::{check_port, wrapped};
use crate::types::{HealthStatus, ListenerProtocol};
use crate::{Error, LoadBalancerId, ServerId, SlbClient};

/// The health of one backend behind one listener.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BackendHealth {
    /// `ListenerPort`.
    #[serde(rename = "ListenerPort", deserialize_with = "ack_net_core::de::number")]
    pub listener_port: u16,
    /// `Protocol` of the listener.
    #[serde(rename = "Protocol")]
    pub protocol: ListenerProtocol,
    /// `ServerId`.
    #[serde(rename = "ServerId")]
    pub server_id: ServerId,
    /// `ServerIp`.
    #[serde(rename = "ServerIp", default, deserialize_with = "opt_ip")]
    pub server_ip: Option<IpAddr>,
    /// `Port`: the backend port.
    #[serde(rename = "Port", deserialize_with = "ack_net_core::de::number")]
    pub port: u16,
    /// `ServerHealthStatus`.
    #[serde(rename = "ServerHealthStatus")]
    pub status: HealthStatus,
}

/// DescribeHealthStatus; from [`SlbClient::health`].
#[derive(Clone, Debug)]
pub struct Health {
    client: SlbClient,
}

/// What DescribeHealthStatus answers.
#[derive(Clone, Debug, Deserialize)]
pub struct HealthList {
    /// The backends with their health.
    #[serde(rename = "BackendServers", default, deserialize_with = "wrapped")]
    pub backends: Vec<BackendHealth>,
}

impl Health {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// The health of every backend of every listener of the load balancer, or of one
    /// listener when `listener` gives its port and protocol.
    pub async fn describe(
        &self,
        load_balancer_id: &LoadBalancerId,
        listener: Option<(u16, ListenerProtocol)>,
    ) -> Result<Vec<BackendHealth>, Error> {
        let (port, protocol) = listener.unzip();
        DescribeHealthStatus::new(self.client.rpc(), load_balancer_id.clone(), port, protocol).send().await
    }
}

ack_net_core::operation! {
    /// A DescribeHealthStatus request (see [`Health::describe`]).
    pub(crate) struct DescribeHealthStatus: crate::SLB, "DescribeHealthStatus", read
        -> Vec<BackendHealth> as HealthList => |l: HealthList| l.backends, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        port: Option<u16> = "ListenerPort";
        protocol: Option<ListenerProtocol> = "ListenerProtocol";
    }
    optional {}
    check: |op: &Self| match op.port {
        Some(p) => check_port("ListenerPort", p).map(drop),
        None => Ok(()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let a: HealthList = serde_json::from_str(
            r#"{"BackendServers":{"BackendServer":[{"ListenerPort":80,"Protocol":"tcp","ServerId":"eni-a",
                "ServerIp":"10.0.0.1","Port":8080,"ServerHealthStatus":"abnormal"},
                {"ListenerPort":"80","Protocol":"tcp","ServerId":"i-b","ServerIp":"","Port":"80","ServerHealthStatus":"normal"}]}}"#,
        )
        .unwrap();
        assert_eq!(a.backends[0].status, HealthStatus::Abnormal);
        assert_eq!(a.backends[1].server_ip, None);
    }
}
