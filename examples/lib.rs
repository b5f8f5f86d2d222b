//! Shared set-up for the ack-net examples: every example talks to the embedded mock cloud
//! unless `ACK_NET_ENDPOINT` names another endpoint.

use ack_net_core::{CallStats, DefaultChain, Error as CoreError, RpcClient};
use ack_net_mock::MockCloud;

/// Where an example's calls go, and what they cost.
pub struct Cloud {
    /// The client every example call goes through.
    pub rpc: RpcClient,
    /// Calls made, per action.
    pub stats: CallStats,
    /// The embedded mock, when no endpoint was given.
    pub mock: Option<MockCloud>,
}

/// The boxed error examples return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Cloud {
    /// Connects to `ACK_NET_ENDPOINT` with credentials from the standard chain (region from
    /// `ALIBABA_CLOUD_REGION_ID`, default `cn-hangzhou`), or starts the embedded mock cloud
    /// (seeded, so runs are reproducible) and uses its test credentials.
    pub async fn connect() -> Result<Cloud, BoxError> {
        let stats = CallStats::new();
        let region = std::env::var("ALIBABA_CLOUD_REGION_ID").unwrap_or_else(|_| "cn-hangzhou".to_owned());
        match std::env::var("ACK_NET_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => {
                let rpc = RpcClient::builder()
                    .region(&region)
                    .endpoint(&endpoint)
                    .credentials_provider(DefaultChain::new())
                    .observer(stats.clone())
                    .build()?;
                Ok(Cloud { rpc, stats, mock: None })
            }
            _ => {
                let mock = MockCloud::builder().seed(42).start().await?;
                let rpc = Self::mock_client(&mock, &region, &stats)?;
                Ok(Cloud { rpc, stats, mock: Some(mock) })
            }
        }
    }

    /// A client for `mock` with its default test credentials.
    pub fn mock_client(mock: &MockCloud, region: &str, stats: &CallStats) -> Result<RpcClient, CoreError> {
        RpcClient::builder()
            .region(region)
            .endpoint(&mock.url())
            .credentials(ack_net_core::Credentials::new("testid", "testsecret"))
            .observer(stats.clone())
            .build()
    }

    /// Where the calls go, for printing.
    pub fn describe(&self) -> String {
        match &self.mock {
            Some(m) => format!("the embedded mock cloud at {}", m.url()),
            None => "the endpoint in ACK_NET_ENDPOINT".to_owned(),
        }
    }
}
