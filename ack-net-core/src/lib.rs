//! # ack-net-core
//!
//! The foundation of the ack-net crates: it knows how to call *an* Alibaba Cloud RPC action,
//! and nothing of what the actions mean.
//!
//! - [`Credentials`] and [`CredentialsProvider`]s (static, environment, CLI profile, ECS RAM
//!   role, OIDC/RRSA, and the default chain);
//! - [`sign`]: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256) signing as pure functions;
//! - [`Endpoint`] resolution per [`Product`], region and network, with an override;
//! - [`RpcClient`]: serialize, sign, send, classify, retry with backoff and a budget,
//!   rate-limit per action, and report every call to a [`CallObserver`];
//! - [`Error`] with an [`ErrorClass`] derived from the API's `Code`;
//! - [`paginate`]: `Stream`s over PageNumber and NextToken listings;
//! - [`de`]: decoding helpers for the API's list wrapping and stringly numbers.
//!
//! ```no_run
//! use ack_net_core::{Credentials, Product, RpcClient, RpcRequest};
//!
//! # async fn demo() -> Result<(), ack_net_core::Error> {
//! let client = RpcClient::builder()
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("testid", "testsecret"))
//!     .endpoint("http://127.0.0.1:18080")
//!     .build()?;
//! let vpcs: serde_json::Value = client
//!     .call(RpcRequest::read(Product::Vpc, "DescribeVpcs").param("PageSize", 50))
//!     .await?;
//! println!("{vpcs}");
//! # Ok(()) }
//! ```

pub mod client;
pub mod credentials;
pub mod de;
mod deadline;
pub mod endpoint;
pub mod error;
pub mod metrics;
pub mod paginate;
pub mod params;
pub mod rate_limit;
pub mod region;
pub mod request;
pub mod retry;
pub mod sign;
pub mod transport;

pub use client::{RpcClient, RpcClientBuilder};
pub use credentials::{
    CachingProvider, Credentials, CredentialsProvider, DefaultChain, EcsRamRoleProvider, Env, EnvProvider,
    OidcProvider, ProfileProvider, StaticProvider,
};
pub use endpoint::{Endpoint, Network, Product};
pub use error::{classify, ApiError, Error, ErrorClass, TransportErrorKind};
pub use metrics::{CallEvent, CallObserver, CallOutcome, CallStats};
pub use params::Params;
pub use rate_limit::RateLimits;
pub use region::{RegionId, ZoneId};
pub use request::{Idempotency, RpcRequest};
pub use retry::{RetryBudget, RetryPolicy};
pub use sign::{HttpMethod, SignatureVersion};
pub use transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};

/// `Result` with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
