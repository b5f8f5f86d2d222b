//! Chains of providers, and the default chain in the official SDKs' order.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::ecs_ram_role::{EcsRamRoleProvider, ECS_METADATA, ECS_METADATA_DISABLED};
use super::env::{Env, EnvProvider};
use super::oidc::{OidcProvider, OIDC_PROVIDER_ARN, OIDC_TOKEN_FILE, ROLE_ARN};
use super::profile::{ProfileProvider, CLI_PROFILE_DISABLED};
use super::{Credentials, CredentialsProvider};
use crate::error::Error;

enum Step {
    Active(Arc<dyn CredentialsProvider>),
    /// Left out of this chain, and why (reported in the chain's error).
    Skipped(String),
    /// Configured but unusable, and why.
    Broken(String),
}

const NONE: usize = usize::MAX;

/// Providers tried in order: the first that yields credentials wins, and is asked directly
/// from then on. When none yields, the error lists what each said.
///
/// ```
/// use ack_net_core::credentials::{ChainProvider, Env, EnvProvider};
/// use ack_net_core::{Credentials, CredentialsProvider, StaticProvider};
/// # async fn demo() -> Result<(), ack_net_core::Error> {
/// let chain = ChainProvider::new()
///     .with("environment", EnvProvider::with_env(Env::from_map::<_, String, String>([])))
///     .with("fallback", StaticProvider::new(Credentials::new("LTAIfallback", "secret")));
/// assert_eq!(chain.credentials().await?.access_key_id(), "LTAIfallback");
/// # Ok(()) }
/// ```
pub struct ChainProvider {
    steps: Vec<(String, Step)>,
    winner: AtomicUsize,
}

impl ChainProvider {
    /// An empty chain.
    pub fn new() -> Self {
        Self { steps: Vec::new(), winner: AtomicUsize::new(NONE) }
    }

    /// Adds `provider` as the next step, named `name` in errors.
    pub fn with(self, name: impl Into<String>, provider: impl CredentialsProvider + 'static) -> Self {
        self.with_arc(name, Arc::new(provider))
    }

    /// Adds a shared provider as the next step.
    pub fn with_arc(mut self, name: impl Into<String>, provider: Arc<dyn CredentialsProvider>) -> Self {
        self.steps.push((name.into(), Step::Active(provider)));
        self
    }

    /// Records a step that is left out, and why: the chain's error says so.
    pub fn skipped(mut self, name: impl Into<String>, reason: impl Into<String>) -> Self {
        self.steps.push((name.into(), Step::Skipped(reason.into())));
        self
    }

    /// Records a step that is configured but cannot work (bad settings): it fails in turn.
    pub fn broken(mut self, name: impl Into<String>, error: &Error) -> Self {
        self.steps.push((name.into(), Step::Broken(message(error))));
        self
    }

    /// The names of the steps that are tried, in order.
    pub fn active(&self) -> Vec<&str> {
        self.steps.iter().filter(|(_, s)| matches!(s, Step::Active(_))).map(|(n, _)| n.as_str()).collect()
    }

    /// The name of the step that yielded credentials, once one has.
    pub fn winner(&self) -> Option<&str> {
        self.steps.get(self.winner.load(Ordering::Acquire)).map(|(n, _)| n.as_str())
    }
}

impl Default for ChainProvider {
    fn default() -> Self {
        Self::new()
    }
}

/// An error's message without the `credentials from X:` prefix.
fn message(error: &Error) -> String {
    match error {
        Error::Credentials { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl CredentialsProvider for ChainProvider {
    async fn credentials(&self) -> Result<Credentials, Error> {
        // The provider that won keeps answering (as in the official SDKs): its cache and
        // its errors are what matter from then on.
        if let Some((_, Step::Active(provider))) = self.steps.get(self.winner.load(Ordering::Acquire)) {
            return provider.credentials().await;
        }
        let mut said = Vec::with_capacity(self.steps.len());
        for (index, (name, step)) in self.steps.iter().enumerate() {
            match step {
                Step::Active(provider) => match provider.credentials().await {
                    Ok(credentials) => {
                        tracing::debug!(provider = %name, "credentials found");
                        self.winner.store(index, Ordering::Release);
                        return Ok(credentials);
                    }
                    Err(e) => said.push(format!("{name}: {}", message(&e))),
                },
                Step::Skipped(reason) => said.push(format!("{name}: skipped ({reason})")),
                Step::Broken(reason) => said.push(format!("{name}: {reason}")),
            }
        }
        if said.is_empty() {
            return Err(Error::credentials("chain", "the chain has no providers"));
        }
        Err(Error::credentials("chain", format!("no provider yielded credentials: {}", said.join("; "))))
    }

    fn credentials_now(&self) -> Option<Credentials> {
        match self.steps.get(self.winner.load(Ordering::Acquire)) {
            Some((_, Step::Active(provider))) => provider.credentials_now(),
            _ => None,
        }
    }

    fn use_transport(&self, transport: &Arc<dyn crate::Transport>) {
        for (_, step) in &self.steps {
            if let Step::Active(provider) = step {
                provider.use_transport(transport);
            }
        }
    }
}

impl fmt::Debug for ChainProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, step) in &self.steps {
            match step {
                Step::Active(provider) => list.entry(&format_args!("{name}: {provider:?}")),
                Step::Skipped(reason) => list.entry(&format_args!("{name}: skipped ({reason})")),
                Step::Broken(reason) => list.entry(&format_args!("{name}: broken ({reason})")),
            };
        }
        list.finish()
    }
}

/// The default credentials chain, in the official SDKs' order:
///
/// 1. `environment`: [`EnvProvider`];
/// 2. `oidc`: [`OidcProvider`] (RRSA), only when `ALIBABA_CLOUD_ROLE_ARN`,
///    `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and `ALIBABA_CLOUD_OIDC_TOKEN_FILE` are all set;
/// 3. `profile`: [`ProfileProvider`], unless `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`;
/// 4. `ecs-ram-role`: [`EcsRamRoleProvider`], only when `ALIBABA_CLOUD_ECS_METADATA` names
///    the role or [`DefaultChainBuilder::ecs_ram_role`] enables it, and not when
///    `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`.
///
/// The first that yields wins and answers from then on; the OIDC and ECS providers are cached.
///
/// ```
/// use ack_net_core::credentials::{DefaultChain, Env};
/// let env = Env::from_map([("ALIBABA_CLOUD_ECS_METADATA", "WorkerRole")]);
/// let chain = DefaultChain::builder().env(env).build();
/// assert_eq!(chain.steps(), ["environment", "profile", "ecs-ram-role"]);
/// ```
#[derive(Debug)]
pub struct DefaultChain(ChainProvider);

/// Builds a [`DefaultChain`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct DefaultChainBuilder {
    env: Option<Env>,
    home: Option<PathBuf>,
    profile_path: Option<PathBuf>,
    ecs_ram_role: Option<bool>,
    metadata_url: Option<String>,
    sts_endpoint: Option<String>,
}

impl DefaultChainBuilder {
    /// The environment every step reads (the process's by default).
    pub fn env(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// The home directory of the CLI profile file (default: from the environment).
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// The CLI profile file itself.
    pub fn profile_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.profile_path = Some(path.into());
        self
    }

    /// Whether to end with the ECS RAM role step (discovering the role when
    /// `ALIBABA_CLOUD_ECS_METADATA` does not name it). By default it is there only when
    /// that variable is set.
    pub fn ecs_ram_role(mut self, enabled: bool) -> Self {
        self.ecs_ram_role = Some(enabled);
        self
    }

    /// The metadata service URL of the ECS step (tests).
    pub fn ecs_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_url = Some(url.into());
        self
    }

    /// The STS endpoint of the OIDC step (overrides `ALIBABA_CLOUD_STS_ENDPOINT`).
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sts_endpoint = Some(endpoint.into());
        self
    }

    /// The chain. Settings that cannot work (a malformed ARN in the environment...) make
    /// their step fail in turn, with the reason, rather than failing here.
    pub fn build(self) -> DefaultChain {
        let env = self.env.unwrap_or_default();
        let mut chain = ChainProvider::new().with(EnvProvider::NAME, EnvProvider::with_env(env.clone()));

        chain = match OidcProvider::from_env(&env) {
            Some(builder) => {
                let builder = match &self.sts_endpoint {
                    Some(endpoint) => builder.sts_endpoint(endpoint.clone()),
                    None => builder,
                };
                match builder.build() {
                    Ok(provider) => chain.with(OidcProvider::NAME, provider),
                    Err(e) => chain.broken(OidcProvider::NAME, &e),
                }
            }
            None => chain.skipped(
                OidcProvider::NAME,
                format!("{ROLE_ARN}, {OIDC_PROVIDER_ARN} and {OIDC_TOKEN_FILE} are not all set"),
            ),
        };

        chain = if env.is_true(CLI_PROFILE_DISABLED) {
            chain.skipped(ProfileProvider::NAME, format!("{CLI_PROFILE_DISABLED} is set"))
        } else {
            let mut builder = ProfileProvider::builder().env(env.clone());
            if let Some(home) = self.home {
                builder = builder.home(home);
            }
            if let Some(path) = self.profile_path {
                builder = builder.path(path);
            }
            if let Some(url) = &self.metadata_url {
                builder = builder.ecs_metadata_url(url.clone());
            }
            if let Some(endpoint) = &self.sts_endpoint {
                builder = builder.sts_endpoint(endpoint.clone());
            }
            chain.with(ProfileProvider::NAME, builder.build())
        };

        let ecs_enabled = self.ecs_ram_role.unwrap_or_else(|| env.get(ECS_METADATA).is_some());
        chain = if env.is_true(ECS_METADATA_DISABLED) {
            chain.skipped(EcsRamRoleProvider::NAME, format!("{ECS_METADATA_DISABLED} is set"))
        } else if !ecs_enabled {
            chain.skipped(
                EcsRamRoleProvider::NAME,
                format!("not enabled: set {ECS_METADATA} to the role name, or enable it on the chain"),
            )
        } else {
            let mut builder = EcsRamRoleProvider::from_env(&env);
            if let Some(url) = &self.metadata_url {
                builder = builder.metadata_url(url.clone());
            }
            match builder.build() {
                Ok(provider) => chain.with(EcsRamRoleProvider::NAME, provider),
                Err(e) => chain.broken(EcsRamRoleProvider::NAME, &e),
            }
        };
        DefaultChain(chain)
    }
}

impl DefaultChain {
    /// The chain over the process environment and home directory.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder, to inject the environment, home directory and service URLs.
    pub fn builder() -> DefaultChainBuilder {
        DefaultChainBuilder::default()
    }

    /// The names of the steps that are tried, in order.
    pub fn steps(&self) -> Vec<&str> {
        self.0.active()
    }

    /// The name of the step that yielded credentials, once one has.
    pub fn winner(&self) -> Option<&str> {
        self.0.winner()
    }
}

impl Default for DefaultChain {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl CredentialsProvider for DefaultChain {
    async fn credentials(&self) -> Result<Credentials, Error> {
        self.0.credentials().await
    }

    fn credentials_now(&self) -> Option<Credentials> {
        self.0.credentials_now()
    }

    fn use_transport(&self, transport: &Arc<dyn crate::Transport>) {
        self.0.use_transport(transport);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::env::{ACCESS_KEY_ID, ACCESS_KEY_SECRET};
    use crate::credentials::profile::PROFILE;
    use crate::credentials::StaticProvider;
    use crate::ErrorClass;
    use crate::ErrorInfo;

    const PROFILE_FILE: &str = r#"{"current":"default","profiles":[
        {"name":"default","mode":"AK","access_key_id":"LTAIprofile","access_key_secret":"s3cr3t-profile"},
        {"name":"odd","mode":"External"}]}"#;

    fn temp_home() -> PathBuf {
        let home = std::env::temp_dir().join(format!("ack-net-chain-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(home.join(".aliyun")).unwrap();
        std::fs::write(home.join(".aliyun/config.json"), PROFILE_FILE).unwrap();
        home
    }

    const RRSA: [(&str, &str); 3] = [
        (ROLE_ARN, "acs:ram::1:role/r"),
        (OIDC_PROVIDER_ARN, "acs:ram::1:oidc-provider/p"),
        (OIDC_TOKEN_FILE, "/nonexistent/ack-net/token"),
    ];

    #[test]
    fn steps_follow_the_environment() {
        let chain = DefaultChain::builder().env(Env::from_map::<_, String, String>([])).build();
        assert_eq!(chain.steps(), ["environment", "profile"]);
        let chain = DefaultChain::builder().env(Env::from_map(RRSA)).ecs_ram_role(true).build();
        assert_eq!(chain.steps(), ["environment", "oidc", "profile", "ecs-ram-role"]);
        let mut vars = RRSA.to_vec();
        vars.extend([(CLI_PROFILE_DISABLED, "true"), (ECS_METADATA, "Role"), (ECS_METADATA_DISABLED, "true")]);
        let chain = DefaultChain::builder().env(Env::from_map(vars)).build();
        assert_eq!(chain.steps(), ["environment", "oidc"]);
        let bad = Env::from_map([(ROLE_ARN, "not-an-arn"), RRSA[1], RRSA[2]]);
        assert_eq!(DefaultChain::builder().env(bad).build().steps(), ["environment", "profile"]);
    }

    #[tokio::test]
    async fn environment_comes_before_everything() {
        let home = temp_home();
        let mut vars = RRSA.to_vec();
        vars.extend([(ACCESS_KEY_ID, "LTAIenv"), (ACCESS_KEY_SECRET, "s3cr3t-env")]);
        // The OIDC token file does not exist and the metadata URL is unreachable: any call
        // past the environment would fail.
        let chain = DefaultChain::builder()
            .env(Env::from_map(vars))
            .home(&home)
            .ecs_ram_role(true)
            .ecs_metadata_url("http://127.0.0.1:9")
            .build();
        assert_eq!(chain.credentials().await.unwrap().access_key_id(), "LTAIenv");
        assert_eq!(chain.winner(), Some("environment"));
        std::fs::remove_dir_all(home).unwrap();
    }

    #[tokio::test]
    async fn failing_oidc_falls_through_to_the_profile() {
        let home = temp_home();
        let chain = DefaultChain::builder().env(Env::from_map(RRSA)).home(&home).build();
        assert_eq!(chain.credentials().await.unwrap().access_key_id(), "LTAIprofile");
        assert_eq!(chain.winner(), Some("profile"));
        // The winner answers from now on, even after the file is gone.
        std::fs::remove_dir_all(&home).unwrap();
        assert_eq!(chain.credentials().await.unwrap().access_key_id(), "LTAIprofile");
    }

    #[tokio::test]
    async fn errors_list_every_step_without_secrets() {
        let home = temp_home();
        let env = Env::from_map([(PROFILE, "odd"), (ACCESS_KEY_SECRET, "s3cr3t-env")]);
        let chain = DefaultChain::builder().env(env).home(&home).build();
        let e = chain.credentials().await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Credentials);
        let text = e.to_string();
        for part in ["environment: ", "oidc: skipped", "profile: ", "\"External\"", "ecs-ram-role: skipped"] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
        let order: Vec<usize> =
            ["environment:", "oidc:", "profile:", "ecs-ram-role:"].iter().map(|p| text.find(p).unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_eq!(chain.winner(), None);
        std::fs::remove_dir_all(home).unwrap();
    }

    #[tokio::test]
    async fn generic_chain_takes_the_first_that_yields() {
        let chain = ChainProvider::new()
            .skipped("off", "because")
            .with("a", StaticProvider::new(Credentials::new("LTAIa", "s")))
            .with("b", StaticProvider::new(Credentials::new("LTAIb", "s")));
        assert_eq!(chain.active(), ["a", "b"]);
        // Nothing is held until a provider has won (the client then awaits `credentials`).
        assert!(chain.credentials_now().is_none());
        assert_eq!(chain.credentials().await.unwrap().access_key_id(), "LTAIa");
        assert_eq!(chain.winner(), Some("a"));
        assert_eq!(chain.credentials_now().unwrap().access_key_id(), "LTAIa");
        let empty = ChainProvider::new().credentials().await.unwrap_err();
        assert!(empty.to_string().contains("no providers"), "{empty}");
    }

    #[test]
    fn debug_lists_steps_without_secrets() {
        let chain = ChainProvider::new().with("static", StaticProvider::new(Credentials::new("LTAIa", "s3cr3t")));
        let d = format!("{chain:?}");
        assert!(d.contains("static") && !d.contains("s3cr3t"), "{d}");
    }
}
