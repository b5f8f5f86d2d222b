//! Credentials and the providers that supply them.
//!
//! - [`StaticProvider`]: fixed AccessKeys;
//! - [`EnvProvider`]: `ALIBABA_CLOUD_ACCESS_KEY_ID`, `_ACCESS_KEY_SECRET`, `_SECURITY_TOKEN`;
//! - [`ProfileProvider`]: the Alibaba Cloud CLI's `~/.aliyun/config.json`;
//! - [`EcsRamRoleProvider`]: the instance's RAM role, from the (token-protected) metadata service;
//! - [`OidcProvider`]: RRSA, ACK's pod identity, through STS `AssumeRoleWithOIDC`;
//! - [`DefaultChain`]: all of them in the official SDKs' order;
//! - [`CachingProvider`]: refreshes expiring credentials ahead of expiry, once for all callers.
//!
//! Every provider reads the environment through an [`Env`], so tests never touch the
//! process's, and no provider prints a secret in `Debug`, logs or errors.
//!
//! ```no_run
//! use ack_net_core::credentials::DefaultChain;
//! use ack_net_core::RpcClient;
//! # fn demo() -> Result<(), ack_net_core::Error> {
//! let client = RpcClient::builder().region("cn-hangzhou").credentials_provider(DefaultChain::new()).build()?;
//! # let _ = client; Ok(()) }
//! ```

mod cache;
mod chain;
mod ecs_ram_role;
mod env;
mod oidc;
mod profile;

pub use cache::{CachingProvider, CachingProviderBuilder, Clock, DEFAULT_REFRESH_MARGIN, DEFAULT_RETRY_AFTER_FAILURE};
pub use chain::{ChainProvider, DefaultChain, DefaultChainBuilder};
pub use ecs_ram_role::{EcsRamRoleProvider, EcsRamRoleProviderBuilder, DEFAULT_METADATA_URL};
pub use env::{Env, EnvProvider};
pub use oidc::{OidcProvider, OidcProviderBuilder, DEFAULT_STS_ENDPOINT};
pub use profile::{Profile, ProfileFile, ProfileProvider, ProfileProviderBuilder};

/// The environment variables the providers read.
pub mod vars {
    pub use super::ecs_ram_role::{ECS_METADATA, ECS_METADATA_DISABLED};
    pub use super::env::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, SECURITY_TOKEN};
    pub use super::oidc::{
        OIDC_PROVIDER_ARN, OIDC_TOKEN_FILE, ROLE_ARN, ROLE_SESSION_NAME, STS_ENDPOINT, STS_REGION, VPC_ENDPOINT_ENABLED,
    };
    pub use super::profile::{CLI_PROFILE_DISABLED, PROFILE};
}

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::Hmac;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::Sha256;

use crate::error::Error;
use crate::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};

/// An AccessKey pair, optionally with an STS security token and an expiry.
///
/// `Debug` never prints the secret or the token. Cheap to clone: clones share one
/// allocation, and with it the HMAC key state that V1 signing derives from the secret once.
///
/// ```
/// let c = ack_net_core::Credentials::new("LTAI5tExample", "very-secret");
/// assert!(!format!("{c:?}").contains("very-secret"));
/// ```
#[derive(Clone)]
pub struct Credentials(Arc<CredentialsInner>);

#[derive(Clone)]
struct CredentialsInner {
    access_key_id: String,
    access_key_secret: SecretString,
    security_token: Option<SecretString>,
    expiration: Option<DateTime<Utc>>,
    /// HMAC-SHA1 keyed with `secret + "&"` (the V1 key), built on first use: each signature
    /// then clones this state instead of hashing the key again.
    v1_key: OnceLock<Hmac<Sha1>>,
    /// HMAC-SHA256 keyed with the secret (the V3 key), likewise.
    v3_key: OnceLock<Hmac<Sha256>>,
}

impl Credentials {
    /// Long-term AccessKey credentials. Use [`Credentials::validate`] (the client does) to
    /// check their form.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self(Arc::new(CredentialsInner {
            access_key_id: access_key_id.into(),
            access_key_secret: SecretString::from(access_key_secret.into()),
            security_token: None,
            expiration: None,
            v1_key: OnceLock::new(),
            v3_key: OnceLock::new(),
        }))
    }

    /// Adds an STS security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.0).security_token = Some(SecretString::from(token.into()));
        self
    }

    /// Sets when these credentials stop working.
    pub fn with_expiration(mut self, at: DateTime<Utc>) -> Self {
        Arc::make_mut(&mut self.0).expiration = Some(at);
        self
    }

    /// The AccessKeyId (not a secret, but still redacted from server messages we log).
    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    /// The AccessKey secret.
    pub fn access_key_secret(&self) -> &SecretString {
        &self.0.access_key_secret
    }

    /// The STS security token, if any.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.0.security_token.as_ref()
    }

    /// When these credentials expire, if they do.
    pub fn expiration(&self) -> Option<DateTime<Utc>> {
        self.0.expiration
    }

    /// The V1 signing key state: HMAC-SHA1 keyed with `secret + "&"`, ready for the string
    /// to sign (clone it, then update and finalize the clone).
    pub(crate) fn v1_key(&self) -> &Hmac<Sha1> {
        self.0.v1_key.get_or_init(|| crate::sign::v1::keyed(self.0.access_key_secret.expose_secret()))
    }

    /// The V3 signing key state: HMAC-SHA256 keyed with the secret.
    pub(crate) fn v3_key(&self) -> &Hmac<Sha256> {
        self.0.v3_key.get_or_init(|| crate::sign::v3::keyed(self.0.access_key_secret.expose_secret()))
    }

    /// Whether they expire within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.0.expiration.is_some_and(|e| e - margin <= now)
    }

    /// Checks the form: a non-empty AccessKeyId of letters, digits, `.`, `_` or `-`, and a
    /// non-empty secret.
    pub fn validate(&self) -> Result<(), Error> {
        let id = &self.0.access_key_id;
        if id.is_empty() {
            return Err(Error::invalid_input("AccessKeyId", "must not be empty"));
        }
        if id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(Error::invalid_input(
                "AccessKeyId",
                "must be 1-128 characters of letters, digits, '.', '_' or '-'",
            ));
        }
        if self.0.access_key_secret.expose_secret().is_empty() {
            return Err(Error::invalid_input("AccessKeySecret", "must not be empty"));
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.0.access_key_id)
            .field("access_key_secret", &"** redacted **")
            .field("security_token", &self.0.security_token.as_ref().map(|_| "** redacted **"))
            .field("expiration", &self.0.expiration)
            .finish()
    }
}

/// Supplies credentials for each call. Implementations cache and refresh as they need;
/// the client asks before every attempt.
#[async_trait]
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// Credentials valid for a call made now.
    async fn credentials(&self) -> Result<Credentials, Error>;

    /// Credentials valid for a call made now that the provider holds already (fixed or
    /// freshly cached ones), without waiting; `None` sends the caller to
    /// [`CredentialsProvider::credentials`]. The client tries this first on every attempt.
    fn credentials_now(&self) -> Option<Credentials> {
        None
    }

    /// Hands the provider the [`Transport`] of the client it serves: a provider that calls a
    /// service (the metadata service, STS) sends through it from then on, unless its builder
    /// gave it a transport of its own; providers that wrap others pass it on. The client's
    /// builder calls this with a transport given to it ([`RpcClientBuilder::transport`]). By
    /// default it does nothing.
    ///
    /// [`RpcClientBuilder::transport`]: crate::RpcClientBuilder::transport
    fn use_transport(&self, transport: &Arc<dyn Transport>) {
        let _ = transport;
    }
}

#[async_trait]
impl<P: CredentialsProvider + ?Sized> CredentialsProvider for Arc<P> {
    async fn credentials(&self) -> Result<Credentials, Error> {
        (**self).credentials().await
    }

    fn credentials_now(&self) -> Option<Credentials> {
        (**self).credentials_now()
    }

    fn use_transport(&self, transport: &Arc<dyn Transport>) {
        (**self).use_transport(transport)
    }
}

/// Fixed credentials.
#[derive(Clone, Debug)]
pub struct StaticProvider(Credentials);

impl StaticProvider {
    /// Always answers with `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self(credentials)
    }
}

#[async_trait]
impl CredentialsProvider for StaticProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        Ok(self.0.clone())
    }

    fn credentials_now(&self) -> Option<Credentials> {
        Some(self.0.clone())
    }
}

impl From<Credentials> for StaticProvider {
    fn from(c: Credentials) -> Self {
        Self(c)
    }
}

/// Security Token Service, which [`OidcProvider`] calls (`AssumeRoleWithOIDC`): the one
/// product core itself describes, because its credential providers call it.
pub const STS: crate::Product = crate::Product::new("sts", "2015-04-01");

/// The HTTP seam of the providers that call a service (the metadata service, STS): the
/// transport their builder or the client they serve gave them
/// ([`CredentialsProvider::use_transport`]), else a reqwest transport of their own; every
/// request bounded by the provider's timeout.
struct ServiceTransport {
    given: OnceLock<Arc<dyn Transport>>,
    own: Arc<dyn Transport>,
    timeout: Duration,
}

impl ServiceTransport {
    /// `given`, if any, else its own reqwest transport (through a proxy only if `use_proxy`:
    /// the link-local metadata service is never reached through one).
    fn new(
        given: Option<Arc<dyn Transport>>,
        connect_timeout: Duration,
        timeout: Duration,
        use_proxy: bool,
    ) -> Result<Self, Error> {
        let own: Arc<dyn Transport> = if use_proxy {
            Arc::new(ReqwestTransport::new(connect_timeout, 1)?)
        } else {
            Arc::new(ReqwestTransport::without_proxy(connect_timeout, 1)?)
        };
        let transport = ServiceTransport { given: OnceLock::new(), own, timeout };
        if let Some(given) = given {
            transport.adopt(&given);
        }
        Ok(transport)
    }

    /// Sends through `transport` from now on, unless a transport was given already.
    fn adopt(&self, transport: &Arc<dyn Transport>) {
        // The first one given wins: the builder's, then the client's.
        let _ = self.given.set(transport.clone());
    }

    /// Sends `request`; the error says why no status came back.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let transport = self.given.get().unwrap_or(&self.own);
        match tokio::time::timeout(self.timeout, transport.send(request)).await {
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            Ok(Err(failure)) => Err(failure.message),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

impl fmt::Debug for ServiceTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceTransport")
            .field("transport", self.given.get().unwrap_or(&self.own))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// At most `max` characters of `s`, for error messages quoting a server's answer.
fn excerpt(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts() {
        assert_eq!(excerpt("  short ", 10), "short");
        assert_eq!(excerpt("ééééé", 3), "ééé...");
    }

    #[test]
    fn debug_redacts() {
        let c = Credentials::new("id", "s3cr3t").with_security_token("t0k3n");
        let d = format!("{c:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("t0k3n"), "{d}");
    }

    #[test]
    fn validation() {
        assert!(Credentials::new("", "x").validate().is_err());
        assert!(Credentials::new("bad id", "x").validate().is_err());
        assert!(Credentials::new("LTAI", "").validate().is_err());
        assert!(Credentials::new("STS.NUxx-y_z", "x").validate().is_ok());
    }
}
