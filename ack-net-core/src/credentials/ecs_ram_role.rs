//! The ECS instance's RAM role, from the token-protected instance metadata service.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::cache::CachingProvider;
use super::env::Env;
use super::{excerpt, Credentials, CredentialsProvider, ServiceTransport};
use crate::error::Error;
use crate::sign::HttpMethod;
use crate::transport::{HttpRequest, Transport};

/// `ALIBABA_CLOUD_ECS_METADATA`: the RAM role name; setting it enables the ECS RAM role step
/// of the default chain.
pub const ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// `ALIBABA_CLOUD_ECS_METADATA_DISABLED`: `true` removes the ECS RAM role step from the
/// default chain.
pub const ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";

/// The instance metadata service.
pub const DEFAULT_METADATA_URL: &str = "http://100.100.100.200";

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const MAX_TOKEN_TTL: Duration = Duration::from_secs(21_600);

/// Credentials of the RAM role attached to the ECS instance this runs on.
///
/// Each fetch asks the metadata service for a session token
/// (`PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds`), then, with the
/// token in `X-aliyun-ecs-metadata-token`, discovers the role name when none was given
/// (`GET /latest/meta-data/ram/security-credentials/`) and reads the role's credentials
/// (`GET .../security-credentials/<role>`). Timeouts are short: off ECS, the service does not
/// answer.
///
/// [`EcsRamRoleProviderBuilder::build`] returns it wrapped in a [`CachingProvider`]: the
/// credentials are refreshed ahead of their `Expiration`, not fetched per call.
///
/// ```no_run
/// use ack_net_core::credentials::EcsRamRoleProvider;
/// use ack_net_core::RpcClient;
/// # fn demo() -> Result<(), ack_net_core::Error> {
/// let provider = EcsRamRoleProvider::builder().role_name("KubernetesWorkerRole").build()?;
/// let client = RpcClient::builder().region("cn-hangzhou").credentials_provider(provider).build()?;
/// # let _ = client; Ok(()) }
/// ```
pub struct EcsRamRoleProvider {
    transport: ServiceTransport,
    base: String,
    role_name: Option<String>,
    discovered_role: Mutex<Option<String>>,
    token_ttl: Duration,
    allow_imds_v1: bool,
}

/// Builds an [`EcsRamRoleProvider`].
#[derive(Clone, Debug)]
#[must_use]
pub struct EcsRamRoleProviderBuilder {
    role_name: Option<String>,
    metadata_url: String,
    token_ttl: Duration,
    timeout: Duration,
    connect_timeout: Duration,
    allow_imds_v1: bool,
    transport: Option<Arc<dyn Transport>>,
}

impl Default for EcsRamRoleProviderBuilder {
    fn default() -> Self {
        Self {
            role_name: None,
            metadata_url: DEFAULT_METADATA_URL.to_owned(),
            token_ttl: MAX_TOKEN_TTL,
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            allow_imds_v1: false,
            transport: None,
        }
    }
}

impl EcsRamRoleProviderBuilder {
    /// The RAM role name; when not given, the provider asks the metadata service.
    pub fn role_name(mut self, name: impl Into<String>) -> Self {
        self.role_name = Some(name.into());
        self
    }

    /// The metadata service's base URL ([`DEFAULT_METADATA_URL`] by default; tests point it
    /// at a local server).
    pub fn metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_url = url.into();
        self
    }

    /// How long a metadata session token lives (1 s to 6 h; 6 h by default).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// How long each metadata request may take (2 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The transport the metadata requests go through (by default the one of the client the
    /// provider serves, if it was given one, else a reqwest transport that never uses a proxy).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How long connecting may take (1 s by default; the provider's own transport only).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// When the service will not hand out a session token, read the credentials without one
    /// (IMDSv1). Off by default: the token protects against SSRF.
    pub fn allow_imds_v1(mut self, allow: bool) -> Self {
        self.allow_imds_v1 = allow;
        self
    }

    /// The provider, cached (see [`CachingProvider`]).
    pub fn build(self) -> Result<CachingProvider<EcsRamRoleProvider>, Error> {
        Ok(CachingProvider::new(self.build_uncached()?))
    }

    /// The provider without a cache: every call asks the metadata service.
    pub fn build_uncached(self) -> Result<EcsRamRoleProvider, Error> {
        let base = Url::parse(&self.metadata_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::invalid_input(
                    "metadata URL",
                    format!("{:?} must be an http:// or https:// URL with a host", self.metadata_url),
                )
            })?;
        if let Some(role) = &self.role_name {
            check_role_name(role).map_err(|reason| Error::invalid_input("ECS RAM role name", reason))?;
        }
        let ttl = self.token_ttl.as_secs();
        if ttl == 0 || self.token_ttl > MAX_TOKEN_TTL {
            return Err(Error::invalid_input("metadata token TTL", "must be 1 to 21600 seconds"));
        }
        Ok(EcsRamRoleProvider {
            transport: ServiceTransport::new(self.transport, self.connect_timeout, self.timeout, false)?,
            base: base.as_str().trim_end_matches('/').to_owned(),
            role_name: self.role_name,
            discovered_role: Mutex::new(None),
            token_ttl: self.token_ttl,
            allow_imds_v1: self.allow_imds_v1,
        })
    }
}

fn check_role_name(role: &str) -> Result<(), String> {
    if role.is_empty() || role.len() > 64 {
        return Err("must be 1 to 64 characters".to_owned());
    }
    if !role.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')) {
        return Err(format!("{role:?} may hold only letters, digits, '.', '_', '-' and '@'"));
    }
    Ok(())
}

/// The metadata service's answer for a role.
#[derive(Deserialize)]
struct RoleCredentials {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "AccessKeyId")]
    access_key_id: Option<String>,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: Option<String>,
    #[serde(rename = "SecurityToken")]
    security_token: Option<String>,
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
}

impl EcsRamRoleProvider {
    /// The provider name used in errors.
    pub const NAME: &'static str = "ecs-ram-role";

    /// A builder with the defaults (role discovered, [`DEFAULT_METADATA_URL`]).
    pub fn builder() -> EcsRamRoleProviderBuilder {
        EcsRamRoleProviderBuilder::default()
    }

    /// A builder with the role name from `ALIBABA_CLOUD_ECS_METADATA`, when set.
    pub fn from_env(env: &Env) -> EcsRamRoleProviderBuilder {
        let builder = Self::builder();
        match env.get(ECS_METADATA) {
            Some(role) => builder.role_name(role.trim()),
            None => builder,
        }
    }

    fn fail(&self, message: impl fmt::Display) -> Error {
        Error::credentials(Self::NAME, message)
    }

    /// A session token, or `None` when the service refused one and IMDSv1 is allowed.
    async fn session_token(&self) -> Result<Option<String>, Error> {
        let url = format!("{}{TOKEN_PATH}", self.base);
        let headers = vec![(TOKEN_TTL_HEADER.to_owned(), self.token_ttl.as_secs().to_string())];
        let request = HttpRequest { method: HttpMethod::Put, url: url.clone(), headers, body: Vec::new() };
        let failure = match self.transport.send(request).await {
            Ok(response) if (200..300).contains(&response.status) => {
                let token = String::from_utf8_lossy(&response.body);
                let token = token.trim();
                if token.is_empty() {
                    "the metadata service answered an empty session token".to_owned()
                } else {
                    return Ok(Some(token.to_owned()));
                }
            }
            Ok(response) => format!("the metadata service refused a session token (HTTP {})", response.status),
            Err(e) => format!("cannot get a metadata session token from {url}: {e}"),
        };
        if self.allow_imds_v1 {
            tracing::warn!(reason = %failure, "reading ECS RAM role credentials without a metadata token (IMDSv1)");
            Ok(None)
        } else {
            Err(self.fail(failure))
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<(u16, String), Error> {
        let url = format!("{}{path}", self.base);
        let headers = token.map(|token| (TOKEN_HEADER.to_owned(), token.to_owned())).into_iter().collect();
        let request = HttpRequest { method: HttpMethod::Get, url: url.clone(), headers, body: Vec::new() };
        let response = (self.transport.send(request).await)
            .map_err(|e| self.fail(format!("cannot reach the metadata service at {url}: {e}")))?;
        Ok((response.status, String::from_utf8_lossy(&response.body).into_owned()))
    }

    async fn role(&self, token: Option<&str>) -> Result<String, Error> {
        if let Some(role) = &self.role_name {
            return Ok(role.clone());
        }
        if let Some(role) = self.discovered_role.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(role);
        }
        let (status, body) = self.get(CREDENTIALS_PATH, token).await?;
        if status != 200 {
            return Err(self.fail(format!(
                "cannot discover the instance's RAM role (HTTP {status}): {}; is a RAM role attached to the instance?",
                excerpt(&body, 200)
            )));
        }
        let role =
            body.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned).ok_or_else(|| {
                self.fail("no RAM role is attached to this instance (the metadata service listed none)")
            })?;
        check_role_name(&role)
            .map_err(|reason| self.fail(format!("the metadata service listed a role that {reason}")))?;
        *self.discovered_role.lock().unwrap_or_else(PoisonError::into_inner) = Some(role.clone());
        Ok(role)
    }

    /// Fetches the role's credentials now (no cache).
    pub async fn fetch(&self) -> Result<Credentials, Error> {
        let token = self.session_token().await?;
        let role = self.role(token.as_deref()).await?;
        let (status, body) = self.get(&format!("{CREDENTIALS_PATH}{role}"), token.as_deref()).await?;
        if status == 404 {
            return Err(self.fail(format!("RAM role {role:?} is not attached to this instance (HTTP 404)")));
        }
        if status != 200 {
            return Err(self.fail(format!("cannot read the credentials of role {role:?} (HTTP {status})")));
        }
        // The body holds secrets: never quote it.
        let answer: RoleCredentials = serde_json::from_str(&body).map_err(|e| {
            self.fail(format!(
                "the credentials of role {role:?} are not the documented JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        match answer.code.as_deref() {
            Some("Success") => {}
            Some(code) => {
                return Err(self.fail(format!("the metadata service answered Code {code:?} for role {role:?}")))
            }
            None => return Err(self.fail(format!("the credentials of role {role:?} have no Code"))),
        }
        let missing = |field: &str| self.fail(format!("the credentials of role {role:?} have no {field}"));
        let id = answer.access_key_id.filter(|s| !s.is_empty()).ok_or_else(|| missing("AccessKeyId"))?;
        let secret = answer.access_key_secret.filter(|s| !s.is_empty()).ok_or_else(|| missing("AccessKeySecret"))?;
        let token = answer.security_token.filter(|s| !s.is_empty()).ok_or_else(|| missing("SecurityToken"))?;
        let expiration = answer.expiration.ok_or_else(|| missing("Expiration"))?;
        let expiration = parse_expiration(&expiration)
            .ok_or_else(|| self.fail(format!("Expiration {expiration:?} of role {role:?} is not an RFC 3339 time")))?;
        let credentials = Credentials::new(id, secret).with_security_token(token).with_expiration(expiration);
        credentials.validate().map_err(|e| self.fail(e))?;
        Ok(credentials)
    }
}

/// Parses an `Expiration` (`2030-01-01T00:00:00Z`).
pub(super) fn parse_expiration(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

#[async_trait]
impl CredentialsProvider for EcsRamRoleProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        self.fetch().await
    }

    fn use_transport(&self, transport: &Arc<dyn Transport>) {
        self.transport.adopt(transport);
    }
}

impl fmt::Debug for EcsRamRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcsRamRoleProvider")
            .field("metadata_url", &self.base)
            .field("role_name", &self.role_name)
            .field("token_ttl", &self.token_ttl)
            .field("allow_imds_v1", &self.allow_imds_v1)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks_its_input() {
        assert!(EcsRamRoleProvider::builder().metadata_url("not a url").build_uncached().is_err());
        assert!(EcsRamRoleProvider::builder().metadata_url("ftp://x").build_uncached().is_err());
        assert!(EcsRamRoleProvider::builder().role_name("a/b").build_uncached().is_err());
        assert!(EcsRamRoleProvider::builder().role_name("").build_uncached().is_err());
        assert!(EcsRamRoleProvider::builder().token_ttl(Duration::ZERO).build_uncached().is_err());
        assert!(EcsRamRoleProvider::builder().token_ttl(Duration::from_secs(21_601)).build_uncached().is_err());
        let p = EcsRamRoleProvider::builder().metadata_url("http://127.0.0.1:9/").build_uncached().unwrap();
        assert_eq!(p.base, "http://127.0.0.1:9");
    }

    #[test]
    fn role_from_env() {
        let env = Env::from_map([(ECS_METADATA, "WorkerRole")]);
        let p = EcsRamRoleProvider::from_env(&env).build_uncached().unwrap();
        assert_eq!(p.role_name.as_deref(), Some("WorkerRole"));
        let p = EcsRamRoleProvider::from_env(&Env::from_map::<_, String, String>([])).build_uncached().unwrap();
        assert_eq!(p.role_name, None);
    }

    #[test]
    fn expirations() {
        assert_eq!(parse_expiration("2030-01-01T00:00:00Z").unwrap().timestamp(), 1_893_456_000);
        assert!(parse_expiration("tomorrow").is_none());
    }
}
