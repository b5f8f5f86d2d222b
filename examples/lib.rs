//! Shared set-up for the ack-net examples: every example talks to the embedded mock cloud
//! unless `ACK_NET_ENDPOINT` names another endpoint.

use std::sync::Arc;

use ack_net_core::{CallEvent, CallObserver, CallStats, Credentials, DefaultChain, RpcClient};
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
    /// Connects to `ACK_NET_ENDPOINT` (`aliyun` for Alibaba Cloud's own endpoints, or a URL)
    /// with credentials from the standard chain (region from `ALIBABA_CLOUD_REGION_ID`,
    /// default `cn-hangzhou`), or starts the embedded mock cloud
    /// (seeded, so runs are reproducible) and uses its test credentials.
    pub async fn connect() -> Result<Cloud, BoxError> {
        let region = std::env::var("ALIBABA_CLOUD_REGION_ID").unwrap_or_else(|_| "cn-hangzhou".to_owned());
        let endpoint = std::env::var("ACK_NET_ENDPOINT").ok().filter(|e| !e.is_empty());
        Self::connect_with(endpoint.as_deref(), &region, None).await
    }

    /// Like [`Cloud::connect`], with the endpoint (`None`: the embedded mock), the region and
    /// one more observer given explicitly.
    pub async fn connect_with(
        endpoint: Option<&str>,
        region: &str,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<Cloud, BoxError> {
        let stats = CallStats::new();
        let mut builder = RpcClient::builder().region(region).observer(stats.clone());
        if let Some(o) = observer {
            builder = builder.observer(ObserverRef(o));
        }
        match endpoint {
            Some(endpoint) => {
                // `aliyun`: Alibaba Cloud's own endpoints for the region; anything else is a URL
                // that receives every product's calls (a proxy, a private gateway, the mock binary).
                if endpoint != "aliyun" {
                    builder = builder.endpoint(endpoint);
                }
                let rpc = builder.credentials_provider(DefaultChain::new()).build()?;
                Ok(Cloud { rpc, stats, mock: None })
            }
            None => {
                let mock = MockCloud::builder().seed(42).start().await?;
                let rpc =
                    builder.endpoint(&mock.url()).credentials(Credentials::new("testid", "testsecret")).build()?;
                Ok(Cloud { rpc, stats, mock: Some(mock) })
            }
        }
    }

    /// Where the calls go, for printing.
    pub fn describe(&self) -> String {
        match &self.mock {
            Some(m) => format!("the embedded mock cloud at {}", m.url()),
            None => format!("{:?}", self.rpc.endpoint()),
        }
    }
}

/// Shares an observer the caller keeps.
#[derive(Debug)]
struct ObserverRef(Arc<dyn CallObserver>);

impl CallObserver for ObserverRef {
    fn on_attempt(&self, event: &CallEvent<'_>) {
        self.0.on_attempt(event);
    }
}
