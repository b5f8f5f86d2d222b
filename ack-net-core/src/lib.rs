//! # ack-net-core
//!
//! The foundation of the ack-net crates: it knows how to call *an* Alibaba Cloud RPC action,
//! and nothing of what the actions mean.
//!
//! - [`Credentials`] and [`CredentialsProvider`]s (static, environment, CLI profile, ECS RAM
//!   role, OIDC/RRSA, and the default chain);
//! - [`sign`]: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256) signing as pure functions;
//! - [`Product`]: the descriptor (code, API version, endpoint rules, recommended rates) that
//!   each product crate defines for its product (core lists none; it defines only [`STS`], which
//!   its credential providers call), and [`Endpoint`] resolution per product, region and
//!   network, with an override;
//! - [`RpcClient`]: serialize, sign, send, classify, retry with backoff and a budget,
//!   rate-limit per action, and report every call to a [`CallObserver`];
//! - [`Error`] with an [`ErrorClass`] derived from the API's `Code`;
//! - [`paginate`]: `Stream`s over PageNumber and NextToken listings, and [`listing`] for
//!   the product crates' PageNumber requests;
//! - [`de`]: decoding helpers for the API's list wrapping and stringly numbers;
//! - [`operation`](mod@operation): one way to declare an API operation ([`operation!`]): its fields are
//!   its parameters, and it gets typed setters, `to_request`, `send`, `into_stream` and
//!   `into_pages`;
//! - [`wait`]: the waiters' polling loop and [`wait::WaitPolicy`];
//! - the ids several products share ([`VpcId`], [`VSwitchId`], [`InstanceId`], [`EniId`]),
//!   next to [`RegionId`] and [`ZoneId`];
//! - [`input`] and [`tag`]: the input checks (names, page sizes, client tokens, tags) every
//!   product shares.
//!
//! The client sends through a [`Transport`]; leave it out to reach Alibaba Cloud over HTTPS,
//! or hand it one of your own, as this example does to answer without a network:
//!
//! ```
//! use std::sync::Arc;
//!
//! use ack_net_core::transport::{HttpRequest, HttpResponse, Transport, TransportFailure};
//! use ack_net_core::{Credentials, Product, RpcClient, RpcRequest};
//!
//! /// The VPC API (the descriptor `ack_net_vpc::VPC` is).
//! const VPC: Product = Product::new("vpc", "2016-04-28");
//!
//! /// Answers every call with one VPC.
//! #[derive(Debug)]
//! struct OneVpc;
//!
//! #[async_trait::async_trait]
//! impl Transport for OneVpc {
//!     async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
//!         // Signed, with the parameters in the query string or the form body.
//!         let sent = format!("{}?{}", request.url, String::from_utf8_lossy(&request.body));
//!         assert!(sent.contains("Action=DescribeVpcs"), "{sent}");
//!         let body = r#"{"RequestId":"r-1","TotalCount":1,"Vpcs":{"Vpc":[{"VpcId":"vpc-1"}]}}"#;
//!         Ok(HttpResponse { status: 200, body: body.into() })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ack_net_core::Error> {
//! let client = RpcClient::builder()
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("testid", "testsecret"))
//!     .transport(Arc::new(OneVpc))
//!     .build()?;
//! let vpcs: serde_json::Value = client
//!     .call(RpcRequest::read(VPC, "DescribeVpcs").param("PageSize", 50))
//!     .await?;
//! assert_eq!(vpcs["Vpcs"]["Vpc"][0]["VpcId"], "vpc-1");
//! # Ok(()) }
//! ```

pub mod client;
pub mod credentials;
pub mod de;
mod deadline;
pub mod endpoint;
pub mod error;
mod ids;
pub mod input;
pub mod listing;
pub mod metrics;
pub mod operation;
pub mod paginate;
pub mod params;
pub mod rate_limit;
pub mod region;
pub mod request;
pub mod retry;
pub mod sign;
pub mod tag;
pub mod transport;
pub mod wait;

/// Locks `mutex`, taking the data over from a thread that panicked while holding it: every
/// lock in the crate guards counters or caches that stay consistent between statements, so a
/// panic elsewhere must not turn into a panic of every later call.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub use client::{RpcClient, RpcClientBuilder};
pub use credentials::{
    CachingProvider, Credentials, CredentialsProvider, DefaultChain, EcsRamRoleProvider, Env, EnvProvider,
    OidcProvider, ProfileProvider, StaticProvider, STS,
};
pub use endpoint::{Endpoint, Network, Product};
pub use error::{classify, ApiError, Error, ErrorClass, ErrorInfo, TransportErrorKind};
pub use ids::{EniId, InstanceId, VSwitchId, VpcId};
pub use metrics::{CallEvent, CallObserver, CallOutcome, CallStats};
pub use operation::Removed;
pub use params::Params;
pub use rate_limit::RateLimits;
pub use region::{RegionId, ZoneId};
pub use request::{Idempotency, RpcRequest};
pub use retry::{RetryBudget, RetryPolicy};
pub use sign::{HttpMethod, SignatureVersion};
pub use tag::Tag;
pub use transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};

/// `Result` with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    #[test]
    fn a_lock_poisoned_by_a_panic_still_locks() {
        let m = std::sync::Arc::new(std::sync::Mutex::new(1));
        let held = m.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("poisons the lock");
        })
        .join();
        assert!(panicked.is_err() && m.is_poisoned());
        *super::lock(&m) += 1;
        assert_eq!(*super::lock(&m), 2);
    }
}
