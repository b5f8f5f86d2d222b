//! DescribeHealthStatus: the health of the backends behind a load balancer's listeners.

use std::net::IpAddr;

use ack_net_core::{Product, RpcRequest};
use serde::Deserialize;

use crate::backend::opt_ip;
use crate::common::{check_port, wrapped};
use crate::types::{HealthStatus, ListenerProtocol};
use crate::{Error, LoadBalancerId, SlbClient};

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
    #[serde(rename = "ServerId", deserialize_with = "ack_net_core::de::string")]
    pub server_id: String,
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

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "BackendServers", default, deserialize_with = "wrapped")]
    backends: Vec<BackendHealth>,
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
        let mut req = RpcRequest::read(Product::Slb, "DescribeHealthStatus").param("LoadBalancerId", load_balancer_id);
        if let Some((port, protocol)) = listener {
            check_port("ListenerPort", port)?;
            req = req.param("ListenerPort", port).param("ListenerProtocol", protocol);
        }
        let a: Answer = self.client.call(req).await?;
        Ok(a.backends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let a: Answer = serde_json::from_str(
            r#"{"BackendServers":{"BackendServer":[{"ListenerPort":80,"Protocol":"tcp","ServerId":"eni-a",
                "ServerIp":"10.0.0.1","Port":8080,"ServerHealthStatus":"abnormal"},
                {"ListenerPort":"80","Protocol":"tcp","ServerId":"i-b","ServerIp":"","Port":"80","ServerHealthStatus":"normal"}]}}"#,
        )
        .unwrap();
        assert_eq!(a.backends[0].status, HealthStatus::Abnormal);
        assert_eq!(a.backends[1].server_ip, None);
    }
}
