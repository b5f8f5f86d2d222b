//! Credentials and the providers that supply them.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// An AccessKey pair, optionally with an STS security token and an expiry.
///
/// `Debug` never prints the secret or the token.
///
/// ```
/// let c = ack_net_core::Credentials::new("LTAI5tExample", "very-secret");
/// assert!(!format!("{c:?}").contains("very-secret"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: SecretString,
    security_token: Option<SecretString>,
    expiration: Option<DateTime<Utc>>,
}

impl Credentials {
    /// Long-term AccessKey credentials. Use [`Credentials::validate`] (the client does) to
    /// check their form.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: SecretString::from(access_key_secret.into()),
            security_token: None,
            expiration: None,
        }
    }

    /// Adds an STS security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(SecretString::from(token.into()));
        self
    }

    /// Sets when these credentials stop working.
    pub fn with_expiration(mut self, at: DateTime<Utc>) -> Self {
        self.expiration = Some(at);
        self
    }

    /// The AccessKeyId (not a secret, but still redacted from server messages we log).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The AccessKey secret.
    pub fn access_key_secret(&self) -> &SecretString {
        &self.access_key_secret
    }

    /// The STS security token, if any.
    pub fn security_token(&self) -> Option<&SecretString> {
        self.security_token.as_ref()
    }

    /// When these credentials expire, if they do.
    pub fn expiration(&self) -> Option<DateTime<Utc>> {
        self.expiration
    }

    /// Whether they expire within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expiration.is_some_and(|e| e - margin <= now)
    }

    /// Checks the form: a non-empty AccessKeyId of letters, digits, `.`, `_` or `-`, and a
    /// non-empty secret.
    pub fn validate(&self) -> Result<(), Error> {
        let id = &self.access_key_id;
        if id.is_empty() {
            return Err(Error::invalid_input("AccessKeyId", "must not be empty"));
        }
        if id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(Error::invalid_input(
                "AccessKeyId",
                "must be 1-128 characters of letters, digits, '.', '_' or '-'",
            ));
        }
        if self.access_key_secret.expose_secret().is_empty() {
            return Err(Error::invalid_input("AccessKeySecret", "must not be empty"));
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"** redacted **")
            .field("security_token", &self.security_token.as_ref().map(|_| "** redacted **"))
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Supplies credentials for each call. Implementations cache and refresh as they need;
/// the client asks before every attempt.
#[async_trait]
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// Credentials valid for a call made now.
    async fn credentials(&self) -> Result<Credentials, Error>;
}

#[async_trait]
impl<P: CredentialsProvider + ?Sized> CredentialsProvider for Arc<P> {
    async fn credentials(&self) -> Result<Credentials, Error> {
        (**self).credentials().await
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
}

impl From<Credentials> for StaticProvider {
    fn from(c: Credentials) -> Self {
        Self(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
