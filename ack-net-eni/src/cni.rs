//! A CNI 1.x plugin over the node agent (Linux, feature `datapath`): the network
//! configuration ([`NetConf`]), the `CNI_*` environment ([`CniEnv`]), the spec's errors
//! ([`CniError`] and its codes), and [`run`], which dispatches ADD, DEL, CHECK, VERSION, GC and
//! STATUS (1.1) like the reference `skel.PluginMain`.
//!
//! - ADD asks the agent ([`crate::agent`]) for the pod's network, sets up the datapath
//!   ([`crate::datapath::setup`]) and prints the result; if the setup fails it gives the address
//!   back, so a failed ADD leaves nothing behind.
//! - DEL looks the network up, tears the datapath down, then releases the address (a DEL for
//!   a pod that has nothing, or whose namespace is gone, succeeds).
//! - CHECK verifies the datapath ([`crate::datapath::check`]) and the address of `prevResult`.
//! - GC tears down and releases the pods whose attachment is not in `cni.dev/valid-attachments`
//!   (all of them when the list is absent, as libcni's `GCNetworkList` without arguments
//!   means); STATUS asks whether the agent can serve an ADD.
//!
//! Bad input is an error before the agent is asked: malformed JSON (code 6), another
//! `cniVersion` (1), a missing variable, a namespace path outside the namespace directories
//! (`/var/run/netns/`, `/run/netns/`, `/proc/PID/ns/net`, `/proc/PID/fd/N`) or one that is
//! not a namespace, a bad interface name (4), a namespace that does not exist (3). An agent
//! that is down or slower than `agentTimeoutMs` is code 11 (try again later).
//!
//! The network configuration, besides `cniVersion`, `name` and `type`:
//!
//! ```json
//! {"cniVersion": "1.1.0", "name": "ack-net", "type": "cni_plugin",
//!  "agentSocket": "/run/ack-net/agent.sock", "agentTimeoutMs": 5000, "mtu": 1500}
//! ```
//!
//! The pod is named by `CNI_ARGS` (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, `K8S_POD_UID`), as
//! the kubelet's runtimes pass it.
//!
//! ```
//! use ack_net_eni::cni::{run, CniEnv};
//! let env = CniEnv::from_vars([("CNI_COMMAND", "VERSION")]).unwrap();
//! let out = run(&env, br#"{"cniVersion": "1.1.0"}"#);
//! assert_eq!(out.code, 0);
//! assert!(out.stdout.contains("supportedVersions"));
//! ```

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::{AgentClient, AgentError, Attachment, PodRef, DEFAULT_SOCKET, DEFAULT_TIMEOUT};
use crate::datapath::{self, DatapathError, PodInterface};

/// The CNI versions this plugin speaks (GC and STATUS need 1.1.0).
pub const SUPPORTED_VERSIONS: [&str; 2] = ["1.0.0", "1.1.0"];
/// The newest of [`SUPPORTED_VERSIONS`].
pub const LATEST_VERSION: &str = "1.1.0";
/// The directories where runtimes pin network namespaces (besides `/proc`).
pub const NETNS_DIRS: [&str; 2] = ["/var/run/netns/", "/run/netns/"];
/// The longest `agentTimeoutMs`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// The spec's well-known error codes (1-99) and this plugin's own (100 and up).
pub mod code {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in the network configuration.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables.
    pub const INVALID_ENVIRONMENT: u32 = 4;
    /// I/O failure.
    pub const IO_FAILURE: u32 = 5;
    /// Failed to decode content.
    pub const DECODE: u32 = 6;
    /// Invalid network config.
    pub const INVALID_CONFIG: u32 = 7;
    /// Try again later.
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// The plugin is not available (STATUS).
    pub const NOT_AVAILABLE: u32 = 50;
    /// The node agent refused or misunderstood the request.
    pub const AGENT: u32 = 100;
    /// The pod's datapath could not be set up or torn down.
    pub const DATAPATH: u32 = 101;
    /// CHECK found the pod's network not as it should be.
    pub const CHECK_FAILED: u32 = 102;
    /// The node's address pool is exhausted.
    pub const POOL_EXHAUSTED: u32 = 103;
}

/// A CNI error, printed on stdout as the spec's `{cniVersion, code, msg, details}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("CNI error {code}: {msg}{}", if details.is_empty() { String::new() } else { format!(" ({details})") })]
#[non_exhaustive]
pub struct CniError {
    /// The version of the configuration (the latest when it is not known).
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    /// The code (see [`code`]).
    pub code: u32,
    /// A short message.
    pub msg: String,
    /// More detail.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl CniError {
    /// An error with `code` and `msg`.
    pub fn new(code: u32, msg: impl Into<String>) -> Self {
        Self { cni_version: LATEST_VERSION.to_owned(), code, msg: msg.into(), details: String::new() }
    }

    /// With details.
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    fn env(msg: impl Into<String>) -> Self {
        Self::new(code::INVALID_ENVIRONMENT, msg)
    }
}

impl From<AgentError> for CniError {
    fn from(e: AgentError) -> Self {
        let c = match &e {
            AgentError::InvalidInput { .. } => code::INVALID_ENVIRONMENT,
            AgentError::Pool { exhausted: true, .. } => code::POOL_EXHAUSTED,
            e if e.is_temporary() => code::TRY_AGAIN_LATER,
            _ => code::AGENT,
        };
        CniError::new(c, "the node agent").details(e.to_string())
    }
}

impl From<DatapathError> for CniError {
    fn from(e: DatapathError) -> Self {
        let c = match &e {
            DatapathError::InvalidInput { .. } => code::INVALID_CONFIG,
            DatapathError::Netns { .. } => code::UNKNOWN_CONTAINER,
            _ => code::DATAPATH,
        };
        CniError::new(c, "the pod datapath").details(e.to_string())
    }
}

/// A CNI command (`CNI_COMMAND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// ADD.
    Add,
    /// DEL.
    Del,
    /// CHECK.
    Check,
    /// GC (1.1).
    Gc,
    /// STATUS (1.1).
    Status,
    /// VERSION.
    Version,
}

impl std::str::FromStr for Command {
    type Err = CniError;
    fn from_str(s: &str) -> Result<Self, CniError> {
        Ok(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            other => return Err(CniError::env(format!("unknown CNI_COMMAND {other:?}"))),
        })
    }
}

/// The `CNI_*` environment of one invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CniEnv {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID`.
    pub container_id: Option<String>,
    /// `CNI_NETNS`.
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`.
    pub ifname: Option<String>,
    /// `CNI_ARGS`, as `KEY=VALUE` pairs.
    pub args: Vec<(String, String)>,
}

impl CniEnv {
    /// From this process's environment.
    pub fn from_env() -> Result<Self, CniError> {
        Self::from_vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// From variables (only the `CNI_*` ones are read; empty ones count as absent).
    ///
    /// ```
    /// use ack_net_eni::cni::{CniEnv, Command};
    /// let env = CniEnv::from_vars([
    ///     ("CNI_COMMAND", "ADD"),
    ///     ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0"),
    /// ])
    /// .unwrap();
    /// assert_eq!(env.command, Command::Add);
    /// assert_eq!(env.arg("K8S_POD_NAME"), Some("web-0"));
    /// assert!(CniEnv::from_vars([("CNI_COMMAND", "ADD"), ("CNI_ARGS", "no-equals-sign")]).is_err());
    /// ```
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, CniError> {
        let mut get = std::collections::HashMap::new();
        for (k, v) in vars {
            if k.as_ref().starts_with("CNI_") && !v.as_ref().is_empty() {
                get.insert(k.as_ref().to_owned(), v.as_ref().to_owned());
            }
        }
        let command = get.remove("CNI_COMMAND").ok_or_else(|| CniError::env("CNI_COMMAND is not set"))?.parse()?;
        let mut args = Vec::new();
        for pair in get.get("CNI_ARGS").map(String::as_str).unwrap_or_default().split(';').filter(|p| !p.is_empty()) {
            let (k, v) =
                pair.split_once('=').ok_or_else(|| CniError::env(format!("CNI_ARGS: {pair:?} is not KEY=VALUE")))?;
            args.push((k.to_owned(), v.to_owned()));
        }
        Ok(Self {
            command,
            container_id: get.remove("CNI_CONTAINERID"),
            netns: get.remove("CNI_NETNS").map(PathBuf::from),
            ifname: get.remove("CNI_IFNAME"),
            args,
        })
    }

    /// The value of `key` in `CNI_ARGS`.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn need<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, CniError> {
        value.as_deref().ok_or_else(|| CniError::env(format!("{name} is not set")))
    }

    /// The pod, from `CNI_ARGS` and the container id, interface and namespace.
    fn pod(&self) -> Result<PodRef, CniError> {
        let arg = |k: &str| self.arg(k).ok_or_else(|| CniError::env(format!("CNI_ARGS has no {k}")));
        let mut pod = PodRef::new(
            arg("K8S_POD_NAMESPACE")?,
            arg("K8S_POD_NAME")?,
            Self::need(&self.container_id, "CNI_CONTAINERID")?,
            Self::need(&self.ifname, "CNI_IFNAME")?,
        );
        if let Some(uid) = self.arg("K8S_POD_UID") {
            pod = pod.uid(uid);
        }
        if let Some(netns) = &self.netns {
            pod = pod.netns(netns);
        }
        pod.validate()?;
        Ok(pod)
    }

    /// `CNI_NETNS`, checked with [`check_netns`]; `exists`: the namespace must be there.
    fn netns(&self, exists: bool) -> Result<&Path, CniError> {
        let netns = self.netns.as_deref().ok_or_else(|| CniError::env("CNI_NETNS is not set"))?;
        check_netns(netns, exists)?;
        Ok(netns)
    }
}

/// The network configuration on stdin (the fields this plugin reads; others are ignored).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct NetConf {
    /// `cniVersion`.
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    /// `name`.
    pub name: String,
    /// `type`.
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// `agentSocket`: the node agent's socket ([`DEFAULT_SOCKET`]).
    #[serde(rename = "agentSocket", default)]
    pub agent_socket: Option<PathBuf>,
    /// `agentTimeoutMs`: how long to wait for the agent ([`DEFAULT_TIMEOUT`]).
    #[serde(rename = "agentTimeoutMs", default)]
    pub agent_timeout_ms: Option<u64>,
    /// `mtu` of the pod's interface and the ENI (1500).
    #[serde(default)]
    pub mtu: Option<u32>,
    /// `cni.dev/valid-attachments` (GC; libcni also sends it as `cni.dev/attachments`).
    #[serde(rename = "cni.dev/valid-attachments", alias = "cni.dev/attachments", default)]
    pub valid_attachments: Option<Vec<Attachment>>,
    /// `prevResult` (CHECK, DEL).
    #[serde(rename = "prevResult", default)]
    pub prev_result: Option<Value>,
}

impl NetConf {
    /// Parses and checks the configuration: not JSON is [`code::DECODE`], an unsupported
    /// `cniVersion` [`code::INCOMPATIBLE_VERSION`], a missing or wrong field
    /// [`code::INVALID_CONFIG`].
    ///
    /// ```
    /// use ack_net_eni::cni::{code, NetConf};
    /// let conf = NetConf::parse(br#"{"cniVersion": "1.0.0", "name": "n", "type": "cni_plugin"}"#).unwrap();
    /// assert_eq!(conf.cni_version, "1.0.0");
    /// assert_eq!(NetConf::parse(b"{").unwrap_err().code, code::DECODE);
    /// assert_eq!(NetConf::parse(br#"{"cniVersion": "0.3.1", "name": "n", "type": "t"}"#).unwrap_err().code, code::INCOMPATIBLE_VERSION);
    /// ```
    pub fn parse(stdin: &[u8]) -> Result<Self, CniError> {
        let v: Value = serde_json::from_slice(stdin)
            .map_err(|e| CniError::new(code::DECODE, "the network configuration is not JSON").details(e.to_string()))?;
        let version = supported_version(&v)?;
        let invalid =
            |msg: String| CniError { cni_version: version.clone(), ..CniError::new(code::INVALID_CONFIG, msg) };
        let conf: NetConf = serde_json::from_value(v).map_err(|e| invalid(format!("network configuration: {e}")))?;
        if conf.name.is_empty() {
            return Err(invalid("network configuration: empty name".into()));
        }
        if let Some(ms) = conf.agent_timeout_ms {
            if ms == 0 || Duration::from_millis(ms) > MAX_TIMEOUT {
                return Err(invalid(format!("agentTimeoutMs {ms} is not between 1 and {}", MAX_TIMEOUT.as_millis())));
            }
        }
        if let Some(mtu) = conf.mtu {
            if !(576..=65535).contains(&mtu) {
                return Err(invalid(format!("mtu {mtu} is not between 576 and 65535")));
            }
        }
        Ok(conf)
    }

    /// A client of the agent this configuration names.
    pub fn agent(&self) -> AgentClient {
        let socket = self.agent_socket.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
        AgentClient::new(socket).timeout(self.agent_timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis))
    }

    fn at_least_1_1(&self) -> Result<(), CniError> {
        if self.cni_version == "1.0.0" {
            return Err(self.error(CniError::new(code::INCOMPATIBLE_VERSION, "GC and STATUS need cniVersion 1.1.0")));
        }
        Ok(())
    }

    /// `e` in this configuration's version.
    fn error(&self, e: CniError) -> CniError {
        CniError { cni_version: self.cni_version.clone(), ..e }
    }
}

/// The `cniVersion` of a configuration, if it is one this plugin speaks.
fn supported_version(v: &Value) -> Result<String, CniError> {
    let version = v
        .get("cniVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| CniError::new(code::INVALID_CONFIG, "the network configuration has no cniVersion"))?;
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(CniError::new(code::INCOMPATIBLE_VERSION, format!("cniVersion {version} is not supported"))
            .details(format!("supported: {SUPPORTED_VERSIONS:?}")));
    }
    Ok(version.to_owned())
}

/// Checks a namespace path: absolute, without `..`, in [`NETNS_DIRS`] or `/proc`
/// (`/proc/PID/ns/net`, `/proc/PID/task/TID/ns/net`, `/proc/PID/fd/N`), and, when `exists`,
/// there and a namespace (its file system is nsfs).
///
/// ```
/// use std::path::Path;
/// use ack_net_eni::cni::{check_netns, code};
/// assert_eq!(check_netns(Path::new("/etc/passwd"), false).unwrap_err().code, code::INVALID_ENVIRONMENT);
/// assert_eq!(check_netns(Path::new("/run/netns/../../etc/passwd"), false).unwrap_err().code, code::INVALID_ENVIRONMENT);
/// assert!(check_netns(Path::new("/var/run/netns/cni-1234"), false).is_ok());
/// assert_eq!(check_netns(Path::new("/var/run/netns/cni-gone"), true).unwrap_err().code, code::UNKNOWN_CONTAINER);
/// ```
pub fn check_netns(path: &Path, exists: bool) -> Result<(), CniError> {
    let outside =
        || CniError::env(format!("CNI_NETNS {} is outside the network namespace directories", path.display()));
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return Err(outside());
    }
    let text = path.to_str().ok_or_else(outside)?;
    let in_dir = NETNS_DIRS.iter().any(|d| text.strip_prefix(d).is_some_and(|rest| !rest.is_empty()));
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = text.split('/').skip(1).collect();
    let in_proc = match parts.as_slice() {
        ["proc", pid, "ns", "net"] => numeric(pid),
        ["proc", pid, "task", tid, "ns", "net"] => numeric(pid) && numeric(tid),
        ["proc", pid, "fd", fd] => numeric(pid) && numeric(fd),
        _ => false,
    };
    if !in_dir && !in_proc {
        return Err(outside());
    }
    if exists {
        let fs = nix::sys::statfs::statfs(path).map_err(|e| {
            CniError::new(code::UNKNOWN_CONTAINER, format!("the network namespace {} does not exist", path.display()))
                .details(e.to_string())
        })?;
        if fs.filesystem_type() != nix::sys::statfs::NSFS_MAGIC {
            return Err(CniError::env(format!("CNI_NETNS {} is not a namespace", path.display())));
        }
    }
    Ok(())
}

/// What an invocation prints on stdout, and its exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// The result or the error, as JSON (empty for a successful DEL, CHECK, GC or STATUS).
    pub stdout: String,
    /// 0 on success, else 1.
    pub code: u8,
}

/// Runs one CNI invocation: `env` and the configuration on `stdin` to what goes to stdout.
pub fn run(env: &CniEnv, stdin: &[u8]) -> Output {
    let outcome = dispatch(env, stdin);
    match outcome {
        Ok(None) => Output { stdout: String::new(), code: 0 },
        Ok(Some(v)) => Output { stdout: v.to_string(), code: 0 },
        Err(e) => Output { stdout: serde_json::to_string(&e).unwrap_or_default(), code: 1 },
    }
}

/// The plugin's `main`: reads the environment and stdin, prints the result or error.
pub fn main() -> std::process::ExitCode {
    use std::io::{Read as _, Write as _};
    let mut stdin = Vec::new();
    let out = match (CniEnv::from_env(), std::io::stdin().read_to_end(&mut stdin)) {
        (Ok(env), Ok(_)) => run(&env, &stdin),
        (Err(e), _) => Output { stdout: serde_json::to_string(&e).unwrap_or_default(), code: 1 },
        (_, Err(e)) => {
            let e = CniError::new(code::IO_FAILURE, "reading stdin").details(e.to_string());
            Output { stdout: serde_json::to_string(&e).unwrap_or_default(), code: 1 }
        }
    };
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(out.stdout.as_bytes()).and_then(|()| stdout.flush());
    std::process::ExitCode::from(if written.is_ok() { out.code } else { 1 })
}

fn dispatch(env: &CniEnv, stdin: &[u8]) -> Result<Option<Value>, CniError> {
    if env.command == Command::Version {
        return Ok(Some(version(stdin)));
    }
    let conf = NetConf::parse(stdin)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CniError::new(code::IO_FAILURE, "starting a runtime").details(e.to_string()))?;
    let agent = conf.agent();
    let r = match env.command {
        Command::Add => add(env, &conf, &agent, &rt).map(Some),
        Command::Del => del(env, &agent, &rt).map(|()| None),
        Command::Check => check(env, &conf, &agent, &rt).map(|()| None),
        Command::Gc => conf.at_least_1_1().and_then(|()| gc(&conf, &agent, &rt)).map(|()| None),
        Command::Status => conf.at_least_1_1().and_then(|()| status(&agent, &rt)).map(|()| None),
        Command::Version => Ok(Some(version(stdin))),
    };
    r.map_err(|e| conf.error(e))
}

/// VERSION: the versions this plugin speaks, in the asked version when it is one of them.
fn version(stdin: &[u8]) -> Value {
    let asked = serde_json::from_slice::<Value>(stdin).ok().and_then(|v| supported_version(&v).ok());
    serde_json::json!({
        "cniVersion": asked.as_deref().unwrap_or(LATEST_VERSION),
        "supportedVersions": SUPPORTED_VERSIONS,
    })
}

fn interface(netns: &Path, env: &CniEnv, mtu: Option<u32>) -> Result<PodInterface, CniError> {
    let ifname = CniEnv::need(&env.ifname, "CNI_IFNAME")?;
    let iface = PodInterface::new(netns, ifname).map_err(|e| CniError::env(e.to_string()))?;
    Ok(iface.mtu(mtu.unwrap_or(1500)))
}

fn add(env: &CniEnv, conf: &NetConf, agent: &AgentClient, rt: &tokio::runtime::Runtime) -> Result<Value, CniError> {
    let netns = env.netns(true)?;
    let pod = env.pod()?;
    let net = rt.block_on(agent.add(&pod))?;
    let iface = interface(netns, env, conf.mtu)?;
    if let Err(e) = datapath::setup(&net, &iface) {
        // The setup undid its steps; the address goes back too.
        let mut e = CniError::from(e);
        if let Err(r) = rt.block_on(agent.release(&pod)) {
            e.details = format!("{}; giving the address back failed too: {r}", e.details);
        }
        return Err(e);
    }
    let mut result = net
        .cni_result(iface.ifname(), netns.to_str())
        .map_err(|e| CniError::new(code::INVALID_CONFIG, "the result").details(e.to_string()))?;
    result["cniVersion"] = conf.cni_version.clone().into();
    Ok(result)
}

fn del(env: &CniEnv, agent: &AgentClient, rt: &tokio::runtime::Runtime) -> Result<(), CniError> {
    // The namespace may be gone already; a given path must still be a namespace path.
    if let Some(netns) = &env.netns {
        check_netns(netns, false)?;
    }
    let pod = env.pod()?;
    if let Some(net) = rt.block_on(agent.get(&pod))? {
        let netns = env.netns.clone().unwrap_or_else(|| PathBuf::from("/"));
        datapath::teardown(&net, &interface(&netns, env, None)?)?;
    }
    rt.block_on(agent.release(&pod))?;
    Ok(())
}

fn check(env: &CniEnv, conf: &NetConf, agent: &AgentClient, rt: &tokio::runtime::Runtime) -> Result<(), CniError> {
    let netns = env.netns(true)?;
    let pod = env.pod()?;
    let net = rt.block_on(agent.get(&pod))?.ok_or_else(|| {
        CniError::new(code::UNKNOWN_CONTAINER, format!("the agent holds no address for {}", pod.key()))
    })?;
    if let Some(prev) = &conf.prev_result {
        // Every address of the pod (IPv4, and IPv6 for dual stack).
        for want in std::iter::once(net.ipv4.to_string()).chain(net.ipv6.map(|a| a.to_string())) {
            let listed = prev["ips"].as_array().is_some_and(|ips| ips.iter().any(|ip| ip["address"] == want.as_str()));
            if !listed {
                return Err(CniError::new(
                    code::CHECK_FAILED,
                    format!("prevResult does not list the pod's address {want}"),
                ));
            }
        }
    }
    let missing = datapath::check(&net, &interface(netns, env, conf.mtu)?)?;
    if !missing.is_empty() {
        return Err(CniError::new(code::CHECK_FAILED, "the pod's network is incomplete")
            .details(format!("missing: {missing:?}")));
    }
    Ok(())
}

fn gc(conf: &NetConf, agent: &AgentClient, rt: &tokio::runtime::Runtime) -> Result<(), CniError> {
    // Absent, as libcni sends it when its caller names no valid attachment: none is valid.
    let valid = conf.valid_attachments.as_deref().unwrap_or_default();
    let mut failed = Vec::new();
    for stale in rt.block_on(agent.gc(valid))? {
        let done = match &stale.network {
            Some(net) => PodInterface::new("/", &stale.pod.ifname)
                .map_err(CniError::from)
                .and_then(|iface| datapath::teardown(net, &iface).map_err(CniError::from)),
            None => Ok(()),
        }
        .and_then(|()| rt.block_on(agent.release(&stale.pod)).map(|_| ()).map_err(CniError::from));
        if let Err(e) = done {
            failed.push(format!("{}: {e}", stale.pod.key()));
        }
    }
    if !failed.is_empty() {
        return Err(CniError::new(code::DATAPATH, "GC could not clean up every stale pod").details(failed.join("; ")));
    }
    Ok(())
}

fn status(agent: &AgentClient, rt: &tokio::runtime::Runtime) -> Result<(), CniError> {
    let status = rt
        .block_on(agent.status())
        .map_err(|e| CniError::new(code::NOT_AVAILABLE, "the node agent is not available").details(e.to_string()))?;
    if !status.ready {
        return Err(CniError::new(code::NOT_AVAILABLE, "the node agent cannot allocate an address now")
            .details(format!("{} idle, {} in use", status.idle, status.in_use)));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
