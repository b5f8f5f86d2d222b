//! OIDC / RRSA (ACK's pod identity): STS `AssumeRoleWithOIDC` with a projected token file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::cache::CachingProvider;
use super::ecs_ram_role::parse_expiration;
use super::env::Env;
use super::{excerpt, Credentials, CredentialsProvider, ServiceTransport};
use crate::error::{ApiError, Error};
use crate::sign::HttpMethod;
use crate::transport::{HttpRequest, Transport};
use crate::{Network, RegionId};

/// `ALIBABA_CLOUD_ROLE_ARN`: the RAM role to assume.
pub const ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`: the cluster's OIDC identity provider.
pub const OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// `ALIBABA_CLOUD_OIDC_TOKEN_FILE`: the path of the projected service account token.
pub const OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// `ALIBABA_CLOUD_ROLE_SESSION_NAME`: the role session name (optional).
pub const ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// `ALIBABA_CLOUD_STS_ENDPOINT`: the STS endpoint, a host or an `http(s)://` URL (optional).
pub const STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";
/// `ALIBABA_CLOUD_STS_REGION`: use the regional STS endpoint `sts.<region>.aliyuncs.com`.
pub const STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`: with `ALIBABA_CLOUD_STS_REGION`, use the
/// VPC-internal `sts-vpc.<region>.aliyuncs.com`.
pub const VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";

/// The public STS endpoint.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com";

const MIN_DURATION: u32 = 900;
const MAX_DURATION: u32 = 43_200;

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Credentials of a RAM role assumed with the pod's OIDC token (RRSA): an unsigned STS
/// `AssumeRoleWithOIDC` call, POSTed as a form. The token file is read again at each
/// refresh (the kubelet rotates it).
///
/// [`OidcProviderBuilder::build`] returns it wrapped in a [`CachingProvider`].
///
/// ```no_run
/// use ack_net_core::credentials::{Env, OidcProvider};
/// # fn demo() -> Result<(), ack_net_core::Error> {
/// // In a pod with RRSA enabled, the three variables are injected.
/// if let Some(builder) = OidcProvider::from_env(&Env::process()) {
///     let provider = builder.role_session_name("my-controller").build()?;
///     # let _ = provider;
/// }
/// # Ok(()) }
/// ```
pub struct OidcProvider {
    transport: ServiceTransport,
    endpoint: Url,
    role_arn: String,
    oidc_provider_arn: String,
    token_file: PathBuf,
    role_session_name: String,
    duration_seconds: u32,
    policy: Option<String>,
    clock: Clock,
}

/// Builds an [`OidcProvider`].
#[must_use]
pub struct OidcProviderBuilder {
    role_arn: String,
    oidc_provider_arn: String,
    token_file: PathBuf,
    role_session_name: Option<String>,
    duration_seconds: u32,
    policy: Option<String>,
    endpoint: Option<String>,
    sts_region: Option<String>,
    vpc_endpoint: bool,
    timeout: Duration,
    connect_timeout: Duration,
    clock: Clock,
    transport: Option<Arc<dyn Transport>>,
}

impl OidcProviderBuilder {
    /// The role session name (`ack-net-<milliseconds>` by default): 2 to 64 letters, digits,
    /// `.`, `@`, `-` or `_`.
    pub fn role_session_name(mut self, name: impl Into<String>) -> Self {
        self.role_session_name = Some(name.into());
        self
    }

    /// How long the credentials last, in seconds: 900 (15 minutes) up to the role's maximum;
    /// 3600 by default.
    pub fn duration_seconds(mut self, seconds: u32) -> Self {
        self.duration_seconds = seconds;
        self
    }

    /// A policy further restricting the role's permissions (a JSON document).
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    /// The STS endpoint: a host (`sts.cn-hangzhou.aliyuncs.com`, HTTPS) or an `http(s)://` URL.
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Use the regional STS endpoint of `region` (when no endpoint is given).
    pub fn sts_region(mut self, region: impl Into<String>) -> Self {
        self.sts_region = Some(region.into());
        self
    }

    /// With [`sts_region`](Self::sts_region), use the VPC-internal endpoint.
    pub fn vpc_endpoint(mut self, vpc: bool) -> Self {
        self.vpc_endpoint = vpc;
        self
    }

    /// How long the STS call may take (10 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (5 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The transport the STS call goes through (by default the one of the client the
    /// provider serves, if it was given one, else a reqwest transport of its own).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Replaces the clock that timestamps the STS call (tests).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The provider, cached (see [`CachingProvider`]).
    pub fn build(self) -> Result<CachingProvider<OidcProvider>, Error> {
        Ok(CachingProvider::new(self.build_uncached()?))
    }

    /// The provider without a cache: every call assumes the role again.
    pub fn build_uncached(self) -> Result<OidcProvider, Error> {
        check_arn("RoleArn", &self.role_arn, ":role/")?;
        check_arn("OIDCProviderArn", &self.oidc_provider_arn, ":oidc-provider/")?;
        if self.token_file.as_os_str().is_empty() {
            return Err(Error::invalid_input("OIDC token file", "must not be empty"));
        }
        if !(MIN_DURATION..=MAX_DURATION).contains(&self.duration_seconds) {
            return Err(Error::invalid_input(
                "DurationSeconds",
                format!("{} is outside {MIN_DURATION}..={MAX_DURATION}", self.duration_seconds),
            ));
        }
        let role_session_name = match self.role_session_name {
            Some(name) => name,
            None => format!("ack-net-{}", (self.clock)().timestamp_millis()),
        };
        let name_ok = (2..=64).contains(&role_session_name.len())
            && role_session_name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'));
        if !name_ok {
            return Err(Error::invalid_input(
                "RoleSessionName",
                format!("{role_session_name:?} must be 2 to 64 letters, digits, '.', '@', '-' or '_'"),
            ));
        }
        let endpoint = match (self.endpoint, self.sts_region) {
            (Some(endpoint), _) => endpoint,
            (None, Some(region)) => {
                let region = RegionId::new(&region)
                    .map_err(|_| Error::invalid_input("STS region", format!("{region:?} is not a region id")))?;
                let network = if self.vpc_endpoint { Network::Vpc } else { Network::Public };
                format!("https://{}", super::STS.host(&region, network))
            }
            (None, None) => DEFAULT_STS_ENDPOINT.to_owned(),
        };
        let endpoint = parse_endpoint(&endpoint)?;
        Ok(OidcProvider {
            transport: ServiceTransport::new(self.transport, self.connect_timeout, self.timeout, true)?,
            endpoint,
            role_arn: self.role_arn,
            oidc_provider_arn: self.oidc_provider_arn,
            token_file: self.token_file,
            role_session_name,
            duration_seconds: self.duration_seconds,
            policy: self.policy,
            clock: self.clock,
        })
    }
}

fn check_arn(what: &str, arn: &str, kind: &str) -> Result<(), Error> {
    if !arn.starts_with("acs:ram::") || !arn.contains(kind) || arn.chars().any(char::is_whitespace) {
        return Err(Error::invalid_input(
            what,
            format!("{arn:?} is not an ARN of the form acs:ram::<account>{kind}<name>"),
        ));
    }
    Ok(())
}

fn parse_endpoint(endpoint: &str) -> Result<Url, Error> {
    let endpoint = endpoint.trim();
    let with_scheme = if endpoint.contains("://") { endpoint.to_owned() } else { format!("https://{endpoint}") };
    Url::parse(&with_scheme)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| Error::invalid_input("STS endpoint", format!("{endpoint:?} is not a host or an http(s):// URL")))
}

#[derive(Deserialize)]
struct AssumeRoleAnswer {
    #[serde(rename = "Credentials")]
    credentials: Option<StsCredentials>,
}

#[derive(Deserialize)]
struct StsCredentials {
    #[serde(rename = "AccessKeyId")]
    access_key_id: Option<String>,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: Option<String>,
    #[serde(rename = "SecurityToken")]
    security_token: Option<String>,
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
}

impl OidcProvider {
    /// The provider name used in errors.
    pub const NAME: &'static str = "oidc";

    /// A builder for the role `role_arn`, assumed with the token in `token_file` issued by
    /// `oidc_provider_arn`.
    pub fn builder(
        role_arn: impl Into<String>,
        oidc_provider_arn: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> OidcProviderBuilder {
        OidcProviderBuilder {
            role_arn: role_arn.into(),
            oidc_provider_arn: oidc_provider_arn.into(),
            token_file: token_file.into(),
            role_session_name: None,
            duration_seconds: 3600,
            policy: None,
            endpoint: None,
            sts_region: None,
            vpc_endpoint: false,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            clock: Arc::new(Utc::now),
            transport: None,
        }
    }

    /// A builder from `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, or `None` unless all three are set. Also reads
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME`, `ALIBABA_CLOUD_STS_ENDPOINT`,
    /// `ALIBABA_CLOUD_STS_REGION` and `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`.
    pub fn from_env(env: &Env) -> Option<OidcProviderBuilder> {
        let mut builder = Self::builder(
            env.get(ROLE_ARN)?.trim(),
            env.get(OIDC_PROVIDER_ARN)?.trim(),
            env.get(OIDC_TOKEN_FILE)?.trim(),
        );
        builder.role_session_name = env.get(ROLE_SESSION_NAME).map(|s| s.trim().to_owned());
        builder.endpoint = env.get(STS_ENDPOINT);
        builder.sts_region = env.get(STS_REGION).map(|s| s.trim().to_owned());
        builder.vpc_endpoint = env.is_true(VPC_ENDPOINT_ENABLED);
        Some(builder)
    }

    fn fail(&self, message: impl fmt::Display) -> Error {
        Error::credentials(Self::NAME, message)
    }

    async fn read_token(&self) -> Result<String, Error> {
        let path = self.token_file.display();
        let token = tokio::fs::read_to_string(&self.token_file)
            .await
            .map_err(|e| self.fail(format!("cannot read the OIDC token file {path}: {e}")))?;
        let token = token.trim();
        if token.is_empty() {
            return Err(self.fail(format!("the OIDC token file {path} is empty")));
        }
        Ok(token.to_owned())
    }

    /// The form of one `AssumeRoleWithOIDC` call.
    fn form(&self, token: &str) -> String {
        let timestamp = (self.clock)().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = uuid::Uuid::new_v4().to_string();
        let duration = self.duration_seconds.to_string();
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", "AssumeRoleWithOIDC")
            .append_pair("Version", super::STS.version())
            .append_pair("Format", "JSON")
            .append_pair("Timestamp", &timestamp)
            .append_pair("SignatureNonce", &nonce)
            .append_pair("RoleArn", &self.role_arn)
            .append_pair("OIDCProviderArn", &self.oidc_provider_arn)
            .append_pair("OIDCToken", token)
            .append_pair("RoleSessionName", &self.role_session_name)
            .append_pair("DurationSeconds", &duration);
        if let Some(policy) = &self.policy {
            form.append_pair("Policy", policy);
        }
        form.finish()
    }

    /// Assumes the role now (no cache), with the token file as it is now.
    pub async fn fetch(&self) -> Result<Credentials, Error> {
        let token = self.read_token().await?;
        // Whatever STS answers, the token never goes into an error.
        let redact = |s: &str| s.replace(&token, "***");
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")];
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: self.endpoint.to_string(),
            headers: headers.map(|(name, value)| (name.to_owned(), value.to_owned())).into(),
            body: self.form(&token).into_bytes(),
        };
        let response = (self.transport.send(request).await)
            .map_err(|e| self.fail(redact(&format!("cannot reach STS at {}: {e}", self.endpoint))))?;
        let status = response.status;
        let body = String::from_utf8_lossy(&response.body);
        if status != 200 {
            return Err(self.fail(match serde_json::from_str::<ApiError>(&body) {
                Ok(api) if !api.code.is_empty() => redact(&format!(
                    "STS AssumeRoleWithOIDC failed: {} (HTTP {status}): {} [RequestId {}]",
                    api.code, api.message, api.request_id
                )),
                _ => redact(&format!("STS AssumeRoleWithOIDC failed (HTTP {status}): {}", excerpt(&body, 200))),
            }));
        }
        // A success body holds secrets: never quote it.
        let answer: AssumeRoleAnswer = serde_json::from_str(&body).map_err(|e| {
            self.fail(format!("the STS answer is not the documented JSON (line {}, column {})", e.line(), e.column()))
        })?;
        let sts = answer.credentials.ok_or_else(|| self.fail("the STS answer has no Credentials"))?;
        let missing = |field: &str| self.fail(format!("the STS answer has no Credentials.{field}"));
        let id = sts.access_key_id.filter(|s| !s.is_empty()).ok_or_else(|| missing("AccessKeyId"))?;
        let secret = sts.access_key_secret.filter(|s| !s.is_empty()).ok_or_else(|| missing("AccessKeySecret"))?;
        let security_token = sts.security_token.filter(|s| !s.is_empty()).ok_or_else(|| missing("SecurityToken"))?;
        let expiration = sts.expiration.ok_or_else(|| missing("Expiration"))?;
        let expiration = parse_expiration(&expiration)
            .ok_or_else(|| self.fail(format!("Credentials.Expiration {expiration:?} is not an RFC 3339 time")))?;
        let credentials = Credentials::new(id, secret).with_security_token(security_token).with_expiration(expiration);
        credentials.validate().map_err(|e| self.fail(e))?;
        Ok(credentials)
    }
}

#[async_trait]
impl CredentialsProvider for OidcProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        self.fetch().await
    }

    fn use_transport(&self, transport: &Arc<dyn Transport>) {
        self.transport.adopt(transport);
    }
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("endpoint", &self.endpoint.as_str())
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("token_file", &self.token_file)
            .field("role_session_name", &self.role_session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OidcProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProviderBuilder")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("token_file", &self.token_file)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "acs:ram::1234567890:role/test-role";
    const IDP: &str = "acs:ram::1234567890:oidc-provider/ack-rrsa-c1";

    fn env(extra: &[(&str, &str)]) -> Env {
        let mut vars = vec![(ROLE_ARN, ROLE), (OIDC_PROVIDER_ARN, IDP), (OIDC_TOKEN_FILE, "/var/run/token")];
        vars.extend_from_slice(extra);
        Env::from_map(vars)
    }

    #[test]
    fn from_env_needs_all_three() {
        assert!(OidcProvider::from_env(&env(&[])).is_some());
        for missing in [ROLE_ARN, OIDC_PROVIDER_ARN, OIDC_TOKEN_FILE] {
            let vars = [(ROLE_ARN, ROLE), (OIDC_PROVIDER_ARN, IDP), (OIDC_TOKEN_FILE, "/t")];
            let env = Env::from_map(vars.into_iter().filter(|(k, _)| *k != missing));
            assert!(OidcProvider::from_env(&env).is_none(), "{missing}");
        }
    }

    #[test]
    fn endpoints() {
        let p = OidcProvider::from_env(&env(&[])).unwrap().build_uncached().unwrap();
        assert_eq!(p.endpoint.as_str(), "https://sts.aliyuncs.com/");
        let p = OidcProvider::from_env(&env(&[(STS_REGION, "cn-shanghai")])).unwrap().build_uncached().unwrap();
        assert_eq!(p.endpoint.as_str(), "https://sts.cn-shanghai.aliyuncs.com/");
        let e = env(&[(STS_REGION, "cn-shanghai"), (VPC_ENDPOINT_ENABLED, "true")]);
        let p = OidcProvider::from_env(&e).unwrap().build_uncached().unwrap();
        assert_eq!(p.endpoint.as_str(), "https://sts-vpc.cn-shanghai.aliyuncs.com/");
        let e = env(&[(STS_REGION, "cn-shanghai"), (STS_ENDPOINT, "http://127.0.0.1:8080")]);
        let p = OidcProvider::from_env(&e).unwrap().build_uncached().unwrap();
        assert_eq!(p.endpoint.as_str(), "http://127.0.0.1:8080/");
        let p = OidcProvider::from_env(&env(&[])).unwrap().sts_endpoint("sts.example.com").build_uncached().unwrap();
        assert_eq!(p.endpoint.as_str(), "https://sts.example.com/");
        assert!(OidcProvider::from_env(&env(&[])).unwrap().sts_endpoint("ftp://x").build_uncached().is_err());
        assert!(OidcProvider::from_env(&env(&[(STS_REGION, "cn/../x")])).unwrap().build_uncached().is_err());
    }

    #[test]
    fn input_is_checked() {
        let b = || OidcProvider::from_env(&env(&[])).unwrap();
        assert!(b().duration_seconds(899).build_uncached().is_err());
        assert!(b().duration_seconds(900).build_uncached().is_ok());
        assert!(b().duration_seconds(43_201).build_uncached().is_err());
        assert!(b().role_session_name("x").build_uncached().is_err());
        assert!(b().role_session_name("has space").build_uncached().is_err());
        assert!(OidcProvider::builder("role", IDP, "/t").build_uncached().is_err());
        assert!(OidcProvider::builder(ROLE, ROLE, "/t").build_uncached().is_err());
        assert!(OidcProvider::builder(ROLE, IDP, "").build_uncached().is_err());
        let p = OidcProvider::from_env(&env(&[(ROLE_SESSION_NAME, "from-env")])).unwrap().build_uncached().unwrap();
        assert_eq!(p.role_session_name, "from-env");
        let p = b().build_uncached().unwrap();
        assert!(p.role_session_name.starts_with("ack-net-"), "{}", p.role_session_name);
    }

    #[test]
    fn form_has_every_parameter() {
        let p =
            OidcProvider::from_env(&env(&[])).unwrap().role_session_name("s1").policy("{}").build_uncached().unwrap();
        let form = p.form("tok+en/=");
        let pairs: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
        assert_eq!(pairs["Action"], "AssumeRoleWithOIDC");
        assert_eq!(pairs["Version"], "2015-04-01");
        assert_eq!(pairs["Format"], "JSON");
        assert_eq!(pairs["RoleArn"], ROLE);
        assert_eq!(pairs["OIDCProviderArn"], IDP);
        assert_eq!(pairs["OIDCToken"], "tok+en/=");
        assert_eq!(pairs["RoleSessionName"], "s1");
        assert_eq!(pairs["DurationSeconds"], "3600");
        assert_eq!(pairs["Policy"], "{}");
        assert_eq!(pairs["SignatureNonce"].len(), 36);
        assert!(DateTime::parse_from_rfc3339(&pairs["Timestamp"]).is_ok());
        assert!(!pairs.contains_key("Signature"));
    }

    #[test]
    fn debug_shows_no_token() {
        let p = OidcProvider::from_env(&env(&[])).unwrap().build_uncached().unwrap();
        let d = format!("{p:?}");
        assert!(d.contains("test-role") && d.contains("/var/run/token"), "{d}");
    }
}
