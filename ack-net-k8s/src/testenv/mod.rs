//! A real Kubernetes API server for tests, like controller-runtime's envtest (feature
//! `testenv`).
//!
//! [`TestEnv::start`] runs `etcd` and `kube-apiserver` on free loopback ports in a temporary
//! directory, with a generated admin token, service-account signing keys and a kubeconfig;
//! waits for `/readyz`; and hands out [`kube::Client`]s. Dropping the `TestEnv` stops both
//! programs and removes the directory. They also die with the test process, however it ends
//! (a panic, a kill): each runs under a small `sh` watchdog that kills it once the test
//! process's end of a pipe closes. [`TestEnv::shared`] is one environment for all the tests
//! of a test binary (each test still gets its own client, on its own runtime).
//!
//! There is no controller-manager, scheduler or kubelet: a test plays those parts (it sets
//! `spec.nodeName`, writes a pod's phase through the status subresource, creates
//! EndpointSlices, deletes a pod with a grace period of zero). The `ServiceAccount` admission
//! plugin is off, so pods need no ServiceAccount object; tokens for a ServiceAccount come from
//! the TokenRequest API ([`TestEnv::service_account_token`]). Authorization is RBAC: the admin
//! is in `system:masters`.
//!
//! # The two programs
//!
//! [`Binaries::locate`] takes them from `ACK_NET_KUBE_APISERVER` and `ACK_NET_ETCD` when both are
//! set. Otherwise it builds them with Go from the Go module `testenv/` of the ack-net
//! repository (Kubernetes v1.37.2, etcd v3.7.0; `ACK_NET_TESTENV_GO_MODULE` names another
//! directory) into `target/testenv/` once: a file lock there makes concurrent test binaries
//! wait for one build; progress goes to stderr. Without Go and without the variables,
//! starting fails with an error that says what to install or set.
//!
//! # Example
//!
//! ```no_run
//! use ack_net_k8s::testenv::TestEnv;
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, PostParams};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let env = TestEnv::shared().await?;
//! let client = env.client().await?;
//! let maps: Api<ConfigMap> = Api::namespaced(client, "default");
//! let cm: ConfigMap = serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}}))?;
//! maps.create(&PostParams::default(), &cm).await?;
//! # Ok(()) }
//! ```

mod binaries;
mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

pub use binaries::Binaries;
use process::Supervised;

/// How long the API server may take to become ready (it takes seconds; a loaded machine with
/// two cores has taken half a minute).
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How often readiness is probed.
const READY_POLL: Duration = Duration::from_millis(200);
/// How many times a start is tried again when a program exits early (a port taken between
/// choosing it and binding it).
const START_ATTEMPTS: usize = 3;
/// The Service cluster IP range of the API server.
pub const SERVICE_CLUSTER_IP_RANGE: &str = "10.0.0.0/24";

/// What went wrong starting the test environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestEnvError {
    /// Neither prebuilt programs nor Go to build them: the message says what to install or set.
    #[error("{0}")]
    MissingPrerequisite(String),
    /// `go build` of one of the programs failed.
    #[error("`go build` of {package} failed ({status}); its output is above on stderr")]
    Build {
        /// The Go package.
        package: String,
        /// How `go build` ended.
        status: std::process::ExitStatus,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A program exited while starting.
    #[error("{program} exited while starting ({status}); the end of its log {log}:\n{tail}")]
    Exited {
        /// `etcd` or `kube-apiserver`.
        program: &'static str,
        /// How it ended.
        status: std::process::ExitStatus,
        /// Its log file.
        log: String,
        /// The last lines of its log.
        tail: String,
    },
    /// The API server was not ready in time.
    #[error("kube-apiserver was not ready after {waited:?} (last answer: {last}); the end of its log {log}:\n{tail}")]
    NotReady {
        /// How long it was given.
        waited: Duration,
        /// The last answer of `/readyz`, or the last error.
        last: String,
        /// Its log file.
        log: String,
        /// The last lines of its log.
        tail: String,
    },
    /// A client could not be made from the kubeconfig.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// A call to the API server failed.
    #[error("kube-apiserver: {0}")]
    Kube(#[from] kube::Error),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestEnvError {
    let context = context.into();
    move |source| TestEnvError::Io { context, source }
}

/// A running etcd and kube-apiserver; see the [module documentation](self).
pub struct TestEnv {
    dir: PathBuf,
    kubeconfig: Kubeconfig,
    server: String,
    started_in: Duration,
    // Field order is drop order: the API server stops before etcd.
    apiserver: Supervised,
    etcd: Supervised,
}

impl std::fmt::Debug for TestEnv {
    // No kubeconfig here: it holds the admin token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("dir", &self.dir)
            .field("server", &self.server)
            .field("started_in", &self.started_in)
            .finish_non_exhaustive()
    }
}

static SHARED: tokio::sync::OnceCell<TestEnv> = tokio::sync::OnceCell::const_new();

impl TestEnv {
    /// Starts etcd and kube-apiserver (building them first if needed, see [`Binaries::locate`])
    /// and waits until the API server is ready.
    pub async fn start() -> Result<TestEnv, TestEnvError> {
        let binaries = tokio::task::spawn_blocking(Binaries::locate)
            .await
            .map_err(|e| TestEnvError::MissingPrerequisite(format!("locating the binaries panicked: {e}")))??;
        Self::start_with(&binaries).await
    }

    /// Starts etcd and kube-apiserver from these binaries and waits until the API server is
    /// ready.
    pub async fn start_with(binaries: &Binaries) -> Result<TestEnv, TestEnvError> {
        let mut attempt = 1;
        loop {
            match Self::start_once(binaries).await {
                Err(TestEnvError::Exited { .. }) if attempt < START_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// One environment for the whole test process, started by the first caller; the others
    /// wait for it. It is never dropped: its programs end with the process (see the [module
    /// documentation](self)).
    pub async fn shared() -> Result<&'static TestEnv, TestEnvError> {
        SHARED.get_or_try_init(TestEnv::start).await
    }

    async fn start_once(binaries: &Binaries) -> Result<TestEnv, TestEnvError> {
        let began = Instant::now();
        let dir = process::temp_dir()?;
        let [etcd_client, etcd_peer, secure] = process::free_ports::<3>()?;
        let etcd_data = dir.join("etcd");
        let etcd_url = format!("http://127.0.0.1:{etcd_client}");
        let peer_url = format!("http://127.0.0.1:{etcd_peer}");
        let etcd = Supervised::spawn(
            "etcd",
            &binaries.etcd,
            &[
                "--name=testenv".into(),
                format!("--data-dir={}", etcd_data.display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=testenv={peer_url}"),
                // Test data: durability is not worth an fsync per write.
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
            &dir,
            // The last program to die removes the directory when the process dies first.
            Some(&dir),
        )?;

        let token = process::random_hex(32)?;
        let tokens = dir.join("tokens.csv");
        // token,user,uid,"groups"
        process::write_private(&tokens, format!("{token},testenv-admin,testenv-admin,\"system:masters\"\n"))?;
        let (sa_key, sa_pub) = (dir.join("service-account.key"), dir.join("service-account.pub"));
        let (private, public) = process::ec_key_pair_pem()?;
        process::write_private(&sa_key, private)?;
        process::write_private(&sa_pub, public)?;
        let certs = dir.join("certs");
        let apiserver = Supervised::spawn(
            "kube-apiserver",
            &binaries.kube_apiserver,
            &[
                format!("--etcd-servers={etcd_url}"),
                format!("--cert-dir={}", certs.display()),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                // The `kubernetes` Service's endpoints cannot be a loopback address.
                "--endpoint-reconciler-type=none".into(),
                format!("--secure-port={secure}"),
                format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
                format!("--token-auth-file={}", tokens.display()),
                "--authorization-mode=RBAC".into(),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                format!("--service-account-key-file={}", sa_pub.display()),
                format!("--service-account-signing-key-file={}", sa_key.display()),
                "--disable-admission-plugins=ServiceAccount".into(),
                "--allow-privileged=true".into(),
            ],
            &dir,
            None,
        )?;
        let server = format!("https://127.0.0.1:{secure}");
        let mut env =
            TestEnv { dir, kubeconfig: Kubeconfig::default(), server, started_in: Duration::ZERO, apiserver, etcd };
        env.kubeconfig = env.wait_ready(&certs.join("apiserver.crt"), &token).await?;
        let path = env.kubeconfig_path();
        let text = serde_json::to_string_pretty(
            &env.kubeconfig_json(&process::read_ca(&certs.join("apiserver.crt"))?, &token),
        )
        .map_err(|e| TestEnvError::Kubeconfig(e.to_string()))?;
        process::write_private(&path, text)?;
        env.started_in = began.elapsed();
        binaries::progress(&format!("testenv: kube-apiserver ready at {} after {:.1?}", env.server, env.started_in));
        Ok(env)
    }

    fn kubeconfig_json(&self, ca_pem: &str, token: &str) -> serde_json::Value {
        use base64::Engine as _;
        json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "testenv", "cluster": {
                "server": self.server,
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(ca_pem),
            }}],
            "users": [{"name": "testenv-admin", "user": {"token": token}}],
            "contexts": [{"name": "testenv", "context": {"cluster": "testenv", "user": "testenv-admin"}}],
            "current-context": "testenv",
        })
    }

    /// Polls until the serving certificate exists and `/readyz` answers `ok`; the kubeconfig.
    async fn wait_ready(&mut self, cert: &Path, token: &str) -> Result<Kubeconfig, TestEnvError> {
        let began = Instant::now();
        let mut last = String::from("no serving certificate yet");
        let mut ready: Option<(Kubeconfig, kube::Client)> = None;
        while began.elapsed() < READY_TIMEOUT {
            self.etcd.check_running()?;
            self.apiserver.check_running()?;
            if ready.is_none() {
                if let Ok(ca) = process::read_ca(cert) {
                    let kubeconfig = Kubeconfig::from_yaml(&self.kubeconfig_json(&ca, token).to_string())
                        .map_err(|e| TestEnvError::Kubeconfig(e.to_string()))?;
                    let client = client_for(kubeconfig.clone()).await?;
                    ready = Some((kubeconfig, client));
                }
            }
            if let Some((kubeconfig, client)) = &ready {
                let request = http::Request::get("/readyz").body(Vec::new()).expect("a static request");
                match client.request_text(request).await {
                    Ok(text) if text.trim() == "ok" => return Ok(kubeconfig.clone()),
                    Ok(text) => last = text,
                    Err(e) => last = e.to_string(),
                }
            }
            tokio::time::sleep(READY_POLL).await;
        }
        Err(TestEnvError::NotReady {
            waited: READY_TIMEOUT,
            last,
            log: self.apiserver.log().display().to_string(),
            tail: self.apiserver.log_tail(),
        })
    }

    /// A client with the admin credential (group `system:masters`), on the current runtime.
    pub async fn client(&self) -> Result<kube::Client, TestEnvError> {
        client_for(self.kubeconfig.clone()).await
    }

    /// A client that authenticates with `token` (e.g. a ServiceAccount's, from
    /// [`service_account_token`](Self::service_account_token)) instead of the admin's.
    pub async fn client_with_token(&self, token: &str) -> Result<kube::Client, TestEnvError> {
        let mut kubeconfig = self.kubeconfig.clone();
        for user in &mut kubeconfig.auth_infos {
            if let Some(auth) = user.auth_info.as_mut() {
                auth.token = Some(token.to_owned().into());
            }
        }
        client_for(kubeconfig).await
    }

    /// A token of ServiceAccount `namespace/name` (which must exist) from the TokenRequest API,
    /// valid for an hour.
    pub async fn service_account_token(&self, namespace: &str, name: &str) -> Result<String, TestEnvError> {
        use k8s_openapi::api::authentication::v1::TokenRequest;
        use k8s_openapi::api::core::v1::ServiceAccount;
        let accounts: kube::Api<ServiceAccount> = kube::Api::namespaced(self.client().await?, namespace);
        let request: TokenRequest = serde_json::from_value(json!({"spec": {"expirationSeconds": 3600}}))
            .map_err(|e| TestEnvError::Kubeconfig(e.to_string()))?;
        let created = accounts.create_token_request(name, &Default::default(), &request).await?;
        created.status.and_then(|s| s.token).filter(|t| !t.is_empty()).ok_or_else(|| {
            TestEnvError::Kubeconfig(format!("the TokenRequest for {namespace}/{name} returned no token"))
        })
    }

    /// The kubeconfig file (JSON, which is YAML) with the admin credential, for `kubectl
    /// --kubeconfig`.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The API server's URL, `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The temporary directory holding etcd's data, the certificates, the logs
    /// (`etcd.log`, `kube-apiserver.log`) and the kubeconfig.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long starting took, from launching etcd to a ready API server.
    pub fn startup_time(&self) -> Duration {
        self.started_in
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.apiserver.stop();
        self.etcd.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn client_for(kubeconfig: Kubeconfig) -> Result<kube::Client, TestEnvError> {
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| TestEnvError::Kubeconfig(e.to_string()))?;
    Ok(kube::Client::try_from(config)?)
}
