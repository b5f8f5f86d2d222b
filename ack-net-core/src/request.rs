//! One RPC call, before it is signed.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::endpoint::Product;
use crate::params::Params;
use crate::sign::HttpMethod;

/// Whether, and how, a call may be repeated safely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: retried on any retryable error.
    ReadOnly,
    /// A write that carries a `ClientToken`: retried on any retryable error, every attempt
    /// with the same token. `None` asks the client to generate one (a UUID) for this call.
    ClientToken(Option<String>),
    /// A write the API cannot deduplicate: retried only when the request surely was not
    /// processed (throttled, nonce reused, connection never made).
    Unsafe,
}

/// An RPC call: product, action, parameters and how it may be retried.
///
/// `RegionId` is added from the client's region unless the request sets it or opts out
/// with [`RpcRequest::without_region`].
///
/// ```
/// use ack_net_core::{Product, RpcRequest};
/// const VPC: Product = Product::new("vpc", "2016-04-28"); // ack_net_vpc::VPC
/// let req = RpcRequest::idempotent_write(VPC, "CreateVpc")
///     .param("CidrBlock", "192.168.0.0/16")
///     .client_token("create-vpc-demo-1");
/// assert_eq!(req.action(), "CreateVpc");
/// assert_eq!(req.version(), "2016-04-28");
/// ```
#[derive(Clone)]
pub struct RpcRequest {
    pub(crate) product: Product,
    pub(crate) action: Cow<'static, str>,
    pub(crate) version: Cow<'static, str>,
    pub(crate) params: Params,
    pub(crate) idempotency: Idempotency,
    pub(crate) method: Option<HttpMethod>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) with_region: bool,
}

impl RpcRequest {
    fn new(product: Product, action: impl Into<Cow<'static, str>>, idempotency: Idempotency) -> Self {
        Self {
            product,
            action: action.into(),
            version: Cow::Borrowed(product.version()),
            params: Params::new(),
            idempotency,
            method: None,
            timeout: None,
            with_region: true,
        }
    }

    /// A read-only call (`Describe*`, `List*`).
    pub fn read(product: Product, action: impl Into<Cow<'static, str>>) -> Self {
        Self::new(product, action, Idempotency::ReadOnly)
    }

    /// A mutating call whose action accepts a `ClientToken`; the client generates one unless
    /// [`RpcRequest::client_token`] sets it.
    pub fn idempotent_write(product: Product, action: impl Into<Cow<'static, str>>) -> Self {
        Self::new(product, action, Idempotency::ClientToken(None))
    }

    /// A mutating call without a `ClientToken`.
    pub fn write(product: Product, action: impl Into<Cow<'static, str>>) -> Self {
        Self::new(product, action, Idempotency::Unsafe)
    }

    /// Sets the `ClientToken` (at most 64 ASCII characters; checked when sent). Use a token
    /// derived from your own intent to make a call idempotent across process restarts.
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.idempotency = Idempotency::ClientToken(Some(token.into()));
        self
    }

    /// Adds or replaces a parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl fmt::Display) -> Self {
        self.params.insert(name, value);
        self
    }

    /// Adds a parameter when `value` is `Some`.
    pub fn opt_param<V: fmt::Display>(mut self, name: &str, value: Option<V>) -> Self {
        self.params.opt(name, value);
        self
    }

    /// Adds a flattened list `prefix.1`, `prefix.2`, ...
    pub fn list_param<I>(mut self, prefix: &str, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        self.params.list(prefix, items);
        self
    }

    /// Replaces all parameters.
    pub fn params(mut self, params: Params) -> Self {
        self.params = params;
        self
    }

    /// The parameters, for in-place edits.
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The parameters.
    pub fn get_params(&self) -> &Params {
        &self.params
    }

    /// Overrides the HTTP method (the client's default otherwise).
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Overrides the API version (the product's otherwise).
    pub fn with_version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.version = version.into();
        self
    }

    /// Overrides the client's per-attempt timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Does not add `RegionId` from the client's region.
    pub fn without_region(mut self) -> Self {
        self.with_region = false;
        self
    }

    /// The product.
    pub fn product(&self) -> Product {
        self.product
    }

    /// The action name.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The API version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How the call may be retried.
    pub fn idempotency(&self) -> &Idempotency {
        &self.idempotency
    }

    /// Whether the call changes state.
    pub fn is_write(&self) -> bool {
        self.idempotency != Idempotency::ReadOnly
    }
}

impl fmt::Debug for RpcRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcRequest")
            .field("product", &self.product)
            .field("action", &self.action)
            .field("version", &self.version)
            .field("params", &self.params)
            .field("idempotency", &self.idempotency)
            .finish()
    }
}
