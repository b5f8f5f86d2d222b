//! The environment as an injectable value, and the provider that reads AccessKeys from it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Credentials, CredentialsProvider};
use crate::error::Error;

/// `ALIBABA_CLOUD_ACCESS_KEY_ID`.
pub const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// `ALIBABA_CLOUD_ACCESS_KEY_SECRET`.
pub const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// `ALIBABA_CLOUD_SECURITY_TOKEN`.
pub const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// Where providers read environment variables: the process environment, or a fixed map
/// (tests, or a configuration that must not depend on the process).
///
/// Empty values count as unset, as in the official SDKs.
///
/// ```
/// use ack_net_core::credentials::Env;
/// let env = Env::from_map([("ALIBABA_CLOUD_PROFILE", "dev"), ("HOME", "/home/me")]);
/// assert_eq!(env.get("ALIBABA_CLOUD_PROFILE").as_deref(), Some("dev"));
/// assert_eq!(env.get("ALIBABA_CLOUD_ACCESS_KEY_ID"), None);
/// ```
#[derive(Clone)]
pub struct Env(Source);

#[derive(Clone)]
enum Source {
    Process,
    Map(Arc<BTreeMap<String, String>>),
}

impl Env {
    /// The process environment, read at each lookup.
    pub fn process() -> Self {
        Env(Source::Process)
    }

    /// A fixed set of variables; everything else is unset.
    pub fn from_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env(Source::Map(Arc::new(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect())))
    }

    /// The value of `name`, or `None` when it is unset, empty or not valid UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.0 {
            Source::Process => std::env::var(name).ok(),
            Source::Map(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Whether `name` is set to a true value (`true`, `1`, `yes`, any case).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }

    /// The user's home directory: `HOME`, else `USERPROFILE` (Windows).
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.get("HOME").or_else(|| self.get("USERPROFILE")).map(PathBuf::from)
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::process()
    }
}

impl fmt::Debug for Env {
    // Values may be secrets: show only where they come from and the names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Process => f.write_str("Env::Process"),
            Source::Map(map) => f.debug_tuple("Env::Map").field(&map.keys().collect::<Vec<_>>()).finish(),
        }
    }
}

/// AccessKeys from `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and the
/// optional `ALIBABA_CLOUD_SECURITY_TOKEN`, read at each call.
///
/// ```
/// use ack_net_core::credentials::{Env, EnvProvider};
/// use ack_net_core::CredentialsProvider;
/// # async fn demo() -> Result<(), ack_net_core::Error> {
/// let env = Env::from_map([
///     ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tExample"),
///     ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
/// ]);
/// let c = EnvProvider::with_env(env).credentials().await?;
/// assert_eq!(c.access_key_id(), "LTAI5tExample");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct EnvProvider {
    env: Env,
}

impl EnvProvider {
    /// The provider name used in errors.
    pub const NAME: &'static str = "environment";

    /// Reads the process environment.
    pub fn new() -> Self {
        Self { env: Env::process() }
    }

    /// Reads `env`.
    pub fn with_env(env: Env) -> Self {
        Self { env }
    }

    /// The credentials the environment holds now.
    pub fn read(&self) -> Result<Credentials, Error> {
        let id = self.env.get(ACCESS_KEY_ID);
        let secret = self.env.get(ACCESS_KEY_SECRET);
        let (id, secret) = match (id, secret) {
            (Some(id), Some(secret)) => (id, secret),
            (None, None) => {
                return Err(Error::credentials(
                    Self::NAME,
                    format!("{ACCESS_KEY_ID} and {ACCESS_KEY_SECRET} are not set"),
                ))
            }
            (Some(_), None) => {
                return Err(Error::credentials(
                    Self::NAME,
                    format!("{ACCESS_KEY_ID} is set but {ACCESS_KEY_SECRET} is not"),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::credentials(
                    Self::NAME,
                    format!("{ACCESS_KEY_SECRET} is set but {ACCESS_KEY_ID} is not"),
                ))
            }
        };
        let mut credentials = Credentials::new(id.trim(), secret);
        if let Some(token) = self.env.get(SECURITY_TOKEN) {
            credentials = credentials.with_security_token(token);
        }
        credentials.validate().map_err(|e| Error::credentials(Self::NAME, e))?;
        Ok(credentials)
    }
}

#[async_trait]
impl CredentialsProvider for EnvProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        self.read()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::ErrorClass;
    use crate::ErrorInfo;

    #[test]
    fn reads_access_keys_and_token() {
        let env = Env::from_map([(ACCESS_KEY_ID, "LTAIabc"), (ACCESS_KEY_SECRET, "s3cr3t"), (SECURITY_TOKEN, "t0k")]);
        let c = EnvProvider::with_env(env).read().unwrap();
        assert_eq!(c.access_key_id(), "LTAIabc");
        assert_eq!(c.access_key_secret().expose_secret(), "s3cr3t");
        assert_eq!(c.security_token().map(|t| t.expose_secret().to_owned()).as_deref(), Some("t0k"));
        assert_eq!(c.expiration(), None);
    }

    #[test]
    fn token_is_optional() {
        let env = Env::from_map([(ACCESS_KEY_ID, "LTAIabc"), (ACCESS_KEY_SECRET, "s3cr3t"), (SECURITY_TOKEN, "")]);
        let c = EnvProvider::with_env(env).read().unwrap();
        assert!(c.security_token().is_none());
    }

    #[test]
    fn missing_or_partial_is_a_typed_error() {
        let none = EnvProvider::with_env(Env::from_map::<_, String, String>([])).read().unwrap_err();
        assert_eq!(none.class(), ErrorClass::Credentials);
        assert!(none.to_string().contains("are not set"), "{none}");

        let only_id = EnvProvider::with_env(Env::from_map([(ACCESS_KEY_ID, "LTAIabc")])).read().unwrap_err();
        assert!(only_id.to_string().contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"), "{only_id}");

        let only_secret = EnvProvider::with_env(Env::from_map([(ACCESS_KEY_SECRET, "s3cr3t")])).read().unwrap_err();
        assert!(only_secret.to_string().contains("ACCESS_KEY_ID is not"), "{only_secret}");
        assert!(!only_secret.to_string().contains("s3cr3t"));

        let empty = EnvProvider::with_env(Env::from_map([(ACCESS_KEY_ID, " "), (ACCESS_KEY_SECRET, "x")])).read();
        assert!(empty.is_err());
    }

    #[test]
    fn malformed_access_key_id_is_rejected_without_echoing_the_secret() {
        let env = Env::from_map([(ACCESS_KEY_ID, "bad id!"), (ACCESS_KEY_SECRET, "s3cr3t")]);
        let e = EnvProvider::with_env(env).read().unwrap_err();
        assert_eq!(e.class(), ErrorClass::Credentials);
        assert!(e.to_string().contains("AccessKeyId"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"));
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Env::from_map([(ACCESS_KEY_ID, "LTAIabc"), (ACCESS_KEY_SECRET, "s3cr3t")]);
        let d = format!("{:?}", EnvProvider::with_env(env));
        assert!(!d.contains("s3cr3t") && !d.contains("LTAIabc"), "{d}");
        assert!(d.contains(ACCESS_KEY_SECRET), "{d}");
    }

    #[test]
    fn home_and_flags() {
        let env = Env::from_map([("USERPROFILE", "C:\\Users\\me"), ("FLAG", "True"), ("OFF", "false")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("C:\\Users\\me")));
        assert!(env.is_true("FLAG"));
        assert!(!env.is_true("OFF"));
        assert!(!env.is_true("MISSING"));
        let env = Env::from_map([("HOME", "/home/me"), ("USERPROFILE", "C:\\Users\\me")]);
        assert_eq!(env.home_dir(), Some(PathBuf::from("/home/me")));
    }
}
