//! The Alibaba Cloud CLI's profile file, `~/.aliyun/config.json`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::ecs_ram_role::EcsRamRoleProvider;
use super::env::Env;
use super::oidc::OidcProvider;
use super::{Credentials, CredentialsProvider, StaticProvider};
use crate::error::Error;

/// `ALIBABA_CLOUD_PROFILE`: the profile to use instead of the file's `current`.
pub const PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// `ALIBABA_CLOUD_CLI_PROFILE_DISABLED`: `true` removes the profile step from the default
/// chain.
pub const CLI_PROFILE_DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";

const NAME: &str = "profile";
const SUPPORTED: &str = "AK, StsToken, EcsRamRole, OIDC";

/// The CLI's configuration file: the `current` profile's name and the profiles.
#[derive(Deserialize)]
pub struct ProfileFile {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<Profile>,
}

/// One profile of the CLI's configuration file. `Debug` shows no secret.
#[derive(Deserialize, Clone)]
pub struct Profile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    access_key_id: Option<String>,
    #[serde(default)]
    access_key_secret: Option<String>,
    #[serde(default)]
    sts_token: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    ram_role_name: Option<String>,
    #[serde(default)]
    ram_role_arn: Option<String>,
    #[serde(default)]
    ram_session_name: Option<String>,
    #[serde(default)]
    expired_seconds: Option<serde_json::Value>,
    #[serde(default)]
    oidc_provider_arn: Option<String>,
    #[serde(default)]
    oidc_token_file: Option<String>,
    #[serde(default)]
    sts_region: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ProfileFile {
    /// Parses the file's JSON. Errors give the position, never the content (it holds secrets).
    pub fn parse(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| {
            Error::credentials(
                NAME,
                format!(
                    "the profile file is not the CLI's JSON ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The `current` profile's name, if the file names one.
    pub fn current(&self) -> Option<&str> {
        non_empty(&self.current)
    }

    /// The profiles.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile named `name`.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile to use: `explicit`, else `ALIBABA_CLOUD_PROFILE` in `env`, else
    /// `current`, else `default`.
    pub fn select(&self, explicit: Option<&str>, env: &Env) -> Result<&Profile, Error> {
        let from_env = env.get(PROFILE);
        let name = explicit.or(from_env.as_deref().map(str::trim)).or_else(|| self.current()).unwrap_or("default");
        self.profile(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
            Error::credentials(NAME, format!("no profile named {name:?} (the file has {known:?})"))
        })
    }
}

impl fmt::Debug for ProfileFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileFile").field("current", &self.current).field("profiles", &self.profiles).finish()
    }
}

/// Where the profile's providers that call a service send their requests.
#[derive(Clone, Debug, Default)]
struct Services {
    metadata_url: Option<String>,
    sts_endpoint: Option<String>,
}

impl Profile {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The credentials mode (`AK`, `StsToken`, `EcsRamRole`, `OIDC`, `RamRoleArn`, ...).
    pub fn mode(&self) -> Option<&str> {
        non_empty(&self.mode)
    }

    /// The profile's default region.
    pub fn region_id(&self) -> Option<&str> {
        non_empty(&self.region_id)
    }

    fn field<'a>(&self, value: &'a Option<String>, field: &str) -> Result<&'a str, Error> {
        let mode = self.mode().unwrap_or_default();
        non_empty(value)
            .ok_or_else(|| Error::credentials(NAME, format!("profile {:?} (mode {mode}) has no {field}", self.name)))
    }

    fn access_keys(&self) -> Result<Credentials, Error> {
        let id = self.field(&self.access_key_id, "access_key_id")?;
        let secret = self.field(&self.access_key_secret, "access_key_secret")?;
        Ok(Credentials::new(id, secret))
    }

    fn checked(&self, credentials: Credentials) -> Result<Arc<dyn CredentialsProvider>, Error> {
        credentials.validate().map_err(|e| Error::credentials(NAME, format!("profile {:?}: {e}", self.name)))?;
        Ok(Arc::new(StaticProvider::new(credentials)))
    }

    /// The provider this profile describes.
    fn provider(&self, services: &Services) -> Result<Arc<dyn CredentialsProvider>, Error> {
        let in_profile = |e: Error| Error::credentials(NAME, format!("profile {:?}: {e}", self.name));
        match self.mode() {
            Some("AK") => self.checked(self.access_keys()?),
            Some("StsToken") => {
                let token = self.field(&self.sts_token, "sts_token")?;
                self.checked(self.access_keys()?.with_security_token(token))
            }
            Some("EcsRamRole") => {
                let mut builder = EcsRamRoleProvider::builder();
                if let Some(role) = non_empty(&self.ram_role_name) {
                    builder = builder.role_name(role);
                }
                if let Some(url) = &services.metadata_url {
                    builder = builder.metadata_url(url.clone());
                }
                Ok(Arc::new(builder.build().map_err(in_profile)?))
            }
            Some("OIDC") => {
                let mut builder = OidcProvider::builder(
                    self.field(&self.ram_role_arn, "ram_role_arn")?,
                    self.field(&self.oidc_provider_arn, "oidc_provider_arn")?,
                    self.field(&self.oidc_token_file, "oidc_token_file")?,
                );
                if let Some(name) = non_empty(&self.ram_session_name) {
                    builder = builder.role_session_name(name);
                }
                if let Some(seconds) = self.duration_seconds()? {
                    builder = builder.duration_seconds(seconds);
                }
                if let Some(region) = non_empty(&self.sts_region) {
                    builder = builder.sts_region(region);
                }
                if let Some(endpoint) = &services.sts_endpoint {
                    builder = builder.sts_endpoint(endpoint.clone());
                }
                Ok(Arc::new(builder.build().map_err(in_profile)?))
            }
            Some(other) => Err(Error::credentials(
                NAME,
                format!(
                    "profile {:?} uses mode {other:?}, which ack-net does not support (supported: {SUPPORTED})",
                    self.name
                ),
            )),
            None => {
                Err(Error::credentials(NAME, format!("profile {:?} has no mode (supported: {SUPPORTED})", self.name)))
            }
        }
    }

    /// `expired_seconds`, a number or a string of digits; 0 means the default.
    fn duration_seconds(&self) -> Result<Option<u32>, Error> {
        let seconds = match &self.expired_seconds {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match seconds.map(u32::try_from) {
            Some(Ok(0)) => Ok(None),
            Some(Ok(n)) => Ok(Some(n)),
            _ => Err(Error::credentials(
                NAME,
                format!("profile {:?}: expired_seconds is not a number of seconds", self.name),
            )),
        }
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &self.access_key_secret.as_ref().map(|_| "** redacted **"))
            .field("sts_token", &self.sts_token.as_ref().map(|_| "** redacted **"))
            .field("region_id", &self.region_id)
            .finish_non_exhaustive()
    }
}

/// Credentials from a profile of the Alibaba Cloud CLI's `~/.aliyun/config.json`.
///
/// The profile is the one named on the builder, else `ALIBABA_CLOUD_PROFILE`, else the
/// file's `current`. Modes `AK` and `StsToken` give the profile's keys; `EcsRamRole` and
/// `OIDC` give a cached [`EcsRamRoleProvider`] / [`OidcProvider`] configured from the profile;
/// any other mode is an error naming it. The file is read at the first call that succeeds
/// and not again.
///
/// ```no_run
/// use ack_net_core::credentials::ProfileProvider;
/// use ack_net_core::CredentialsProvider;
/// # async fn demo() -> Result<(), ack_net_core::Error> {
/// let provider = ProfileProvider::builder().profile("dev").build();
/// let credentials = provider.credentials().await?;
/// # let _ = credentials; Ok(()) }
/// ```
pub struct ProfileProvider {
    path: Option<PathBuf>,
    profile: Option<String>,
    env: Env,
    services: Services,
    resolved: tokio::sync::OnceCell<Arc<dyn CredentialsProvider>>,
    /// The transport handed to the profile's provider once it is resolved.
    transport: std::sync::OnceLock<Arc<dyn crate::Transport>>,
}

/// Builds a [`ProfileProvider`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ProfileProviderBuilder {
    env: Option<Env>,
    home: Option<PathBuf>,
    path: Option<PathBuf>,
    profile: Option<String>,
    services: Services,
}

impl ProfileProviderBuilder {
    /// The environment (for `ALIBABA_CLOUD_PROFILE` and the home directory); the process's
    /// by default.
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The home directory whose `.aliyun/config.json` is read (default: from the environment).
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// The configuration file itself (overrides the home directory).
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The profile to use, whatever `ALIBABA_CLOUD_PROFILE` and `current` say.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The metadata service URL for `EcsRamRole` profiles (tests).
    pub fn ecs_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.services.metadata_url = Some(url.into());
        self
    }

    /// The STS endpoint for `OIDC` profiles (overrides the profile's `sts_region`).
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.services.sts_endpoint = Some(endpoint.into());
        self
    }

    /// The provider. Nothing is read until the first call.
    pub fn build(self) -> ProfileProvider {
        let env = self.env.unwrap_or_default();
        let path = self
            .path
            .or_else(|| self.home.or_else(|| env.home_dir()).map(|home| home.join(".aliyun").join("config.json")));
        ProfileProvider {
            path,
            profile: self.profile,
            env,
            services: self.services,
            resolved: tokio::sync::OnceCell::new(),
            transport: std::sync::OnceLock::new(),
        }
    }
}

impl ProfileProvider {
    /// The provider name used in errors.
    pub const NAME: &'static str = NAME;

    /// A builder (process environment, `$HOME/.aliyun/config.json`).
    pub fn builder() -> ProfileProviderBuilder {
        ProfileProviderBuilder::default()
    }

    /// The file this provider reads, if a home directory is known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    async fn resolve(&self) -> Result<Arc<dyn CredentialsProvider>, Error> {
        let path = self.path.as_ref().ok_or_else(|| {
            Error::credentials(NAME, "no home directory (HOME is not set), so no ~/.aliyun/config.json")
        })?;
        let text = tokio::fs::read_to_string(path).await.map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound { "no file".to_owned() } else { e.to_string() };
            Error::credentials(NAME, format!("cannot read {}: {what}", path.display()))
        })?;
        let file = ProfileFile::parse(&text)
            .map_err(|e| Error::credentials(NAME, format!("{}: {}", path.display(), strip(&e))))?;
        let profile = file.select(self.profile.as_deref(), &self.env)?;
        tracing::debug!(path = %path.display(), profile = profile.name(), mode = ?profile.mode(), "using a CLI profile");
        let provider = profile.provider(&self.services)?;
        if let Some(transport) = self.transport.get() {
            provider.use_transport(transport);
        }
        Ok(provider)
    }
}

/// The message of a credentials error without its `credentials from profile:` prefix.
fn strip(e: &Error) -> String {
    match e {
        Error::Credentials { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl CredentialsProvider for ProfileProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        let provider = self.resolved.get_or_try_init(|| self.resolve()).await?;
        provider.credentials().await
    }

    fn use_transport(&self, transport: &Arc<dyn crate::Transport>) {
        if self.transport.set(transport.clone()).is_ok() {
            if let Some(provider) = self.resolved.get() {
                provider.use_transport(transport);
            }
        }
    }
}

impl fmt::Debug for ProfileProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileProvider")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .field("resolved", &self.resolved.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::ErrorClass;
    use crate::ErrorInfo;

    const FILE: &str = r#"{
        "current": "dev",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIdefault", "access_key_secret": "s3cr3t-default",
             "region_id": "cn-hangzhou", "output_format": "json", "language": "en", "expired_seconds": 0},
            {"name": "dev", "mode": "StsToken", "access_key_id": "STS.dev", "access_key_secret": "s3cr3t-dev",
             "sts_token": "t0k3n-dev", "region_id": "cn-beijing"},
            {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "WorkerRole"},
            {"name": "rrsa", "mode": "OIDC", "ram_role_arn": "acs:ram::123:role/r",
             "oidc_provider_arn": "acs:ram::123:oidc-provider/p", "oidc_token_file": "/t", "expired_seconds": "1800"},
            {"name": "chain", "mode": "RamRoleArn", "access_key_id": "LTAIx", "access_key_secret": "s"},
            {"name": "nomode", "access_key_id": "LTAIx", "access_key_secret": "s"},
            {"name": "nokey", "mode": "AK", "access_key_id": "LTAIx", "access_key_secret": ""},
            {"name": "notoken", "mode": "StsToken", "access_key_id": "LTAIx", "access_key_secret": "s"}
        ],
        "meta_path": ""
    }"#;

    fn none() -> Env {
        Env::from_map::<_, String, String>([])
    }

    async fn creds(file: &ProfileFile, name: &str) -> Result<Credentials, Error> {
        file.select(Some(name), &none())?.provider(&Services::default())?.credentials().await
    }

    #[test]
    fn selection_order() {
        let file = ProfileFile::parse(FILE).unwrap();
        assert_eq!(file.current(), Some("dev"));
        assert_eq!(file.select(None, &none()).unwrap().name(), "dev");
        let env = Env::from_map([(PROFILE, "ecs")]);
        assert_eq!(file.select(None, &env).unwrap().name(), "ecs");
        assert_eq!(file.select(Some("default"), &env).unwrap().name(), "default");
        let e = file.select(Some("missing"), &none()).unwrap_err();
        assert!(e.to_string().contains("\"missing\"") && e.to_string().contains("\"default\""), "{e}");
        let no_current = ProfileFile::parse(r#"{"profiles":[{"name":"default","mode":"AK"}]}"#).unwrap();
        assert_eq!(no_current.select(None, &none()).unwrap().name(), "default");
    }

    #[tokio::test]
    async fn ak_and_sts_token_modes() {
        let file = ProfileFile::parse(FILE).unwrap();
        let ak = creds(&file, "default").await.unwrap();
        assert_eq!(ak.access_key_id(), "LTAIdefault");
        assert_eq!(ak.access_key_secret().expose_secret(), "s3cr3t-default");
        assert!(ak.security_token().is_none());
        let sts = creds(&file, "dev").await.unwrap();
        assert_eq!(sts.access_key_id(), "STS.dev");
        assert_eq!(sts.security_token().unwrap().expose_secret(), "t0k3n-dev");
        assert_eq!(file.profile("dev").unwrap().region_id(), Some("cn-beijing"));
    }

    #[test]
    fn service_modes_build_their_providers() {
        let file = ProfileFile::parse(FILE).unwrap();
        let ecs = file.profile("ecs").unwrap().provider(&Services::default()).unwrap();
        assert!(format!("{ecs:?}").contains("WorkerRole"), "{ecs:?}");
        let rrsa = file.profile("rrsa").unwrap().provider(&Services::default()).unwrap();
        let d = format!("{rrsa:?}");
        assert!(d.contains("acs:ram::123:role/r") && d.contains("1800"), "{d}");
    }

    #[tokio::test]
    async fn unsupported_and_incomplete_profiles_are_typed_errors() {
        let file = ProfileFile::parse(FILE).unwrap();
        let e = creds(&file, "chain").await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Credentials);
        assert!(e.to_string().contains("\"RamRoleArn\"") && e.to_string().contains("not support"), "{e}");
        let e = creds(&file, "nomode").await.unwrap_err();
        assert!(e.to_string().contains("no mode"), "{e}");
        let e = creds(&file, "nokey").await.unwrap_err();
        assert!(e.to_string().contains("access_key_secret"), "{e}");
        let e = creds(&file, "notoken").await.unwrap_err();
        assert!(e.to_string().contains("sts_token"), "{e}");
    }

    #[test]
    fn parse_errors_do_not_quote_the_file() {
        let e =
            ProfileFile::parse(r#"{"profiles": [{"name": "x", "access_key_secret": 12, "mode": "s3cr3t"#).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Credentials);
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = ProfileFile::parse(r#"{"profiles": [{"name": "x", "access_key_secret": ["s3cr3t"]}]}"#).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn debug_redacts() {
        let file = ProfileFile::parse(FILE).unwrap();
        let d = format!("{file:?}");
        assert!(!d.contains("s3cr3t") && !d.contains("t0k3n"), "{d}");
        assert!(d.contains("LTAIdefault"), "{d}");
    }

    #[tokio::test]
    async fn provider_reads_the_file_under_home_once() {
        let home = std::env::temp_dir().join(format!("ack-net-profile-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(home.join(".aliyun")).unwrap();
        std::fs::write(home.join(".aliyun/config.json"), FILE).unwrap();
        let env = Env::from_map([("HOME", home.to_str().unwrap()), (PROFILE, "default")]);
        let provider = ProfileProvider::builder().env(env).build();
        assert_eq!(provider.path(), Some(home.join(".aliyun/config.json").as_path()));
        assert_eq!(provider.credentials().await.unwrap().access_key_id(), "LTAIdefault");
        // Read once: later edits are not seen.
        std::fs::remove_file(home.join(".aliyun/config.json")).unwrap();
        assert_eq!(provider.credentials().await.unwrap().access_key_id(), "LTAIdefault");
        std::fs::remove_dir_all(&home).unwrap();

        let e = ProfileProvider::builder().env(none()).build().credentials().await.unwrap_err();
        assert!(e.to_string().contains("no home directory"), "{e}");
        let e = ProfileProvider::builder().env(none()).home(&home).build().credentials().await.unwrap_err();
        assert!(e.to_string().contains("no file"), "{e}");
    }
}
