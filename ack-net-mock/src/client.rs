//! Clients for the mock: the AccessKey it accepts by default and an [`RpcClientBuilder`] already
//! pointed at it.

use ack_net_core::{Credentials, RateLimits, RetryPolicy, RpcClient, RpcClientBuilder};

/// The AccessKey id the mock accepts when none is configured.
pub const TEST_ACCESS_KEY_ID: &str = "testid";
/// The AccessKey secret the mock accepts when none is configured.
pub const TEST_ACCESS_KEY_SECRET: &str = "testsecret";
/// The region of [`client_builder_at`]'s clients (the mock serves every region it knows).
pub const TEST_REGION: &str = "cn-hangzhou";

/// An [`RpcClient`] builder for a server at `url` (a standalone mock, or any test server that
/// speaks the RPC protocol): the mock's default AccessKey, region `cn-hangzhou`, no client-side
/// rate limits and no retries. Every setting can still be changed before `build`.
/// [`MockCloud::client_builder`](crate::MockCloud::client_builder) is the same for an embedded
/// mock.
///
/// ```
/// use ack_net_core::RetryPolicy;
///
/// let client = ack_net_mock::client_builder_at("http://127.0.0.1:18080")
///     .retry_policy(RetryPolicy::default())
///     .build()?;
/// assert_eq!(client.region().as_str(), "cn-hangzhou");
/// # Ok::<(), ack_net_core::Error>(())
/// ```
pub fn client_builder_at(url: &str) -> RpcClientBuilder {
    RpcClient::builder()
        .region(TEST_REGION)
        .credentials(Credentials::new(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET))
        .endpoint(url)
        .rate_limits(RateLimits::unlimited())
        .retry_policy(RetryPolicy::no_retry())
}
