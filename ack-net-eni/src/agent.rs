//! The node agent's socket (Unix): the small, versioned protocol between a CNI plugin and the
//! node agent that holds the node's [`IpPool`], with its [`AgentClient`] (every call bounded by
//! a timeout) and its server ([`bind`], [`serve`]).
//!
//! One request per connection, one JSON object per line each way, each carrying
//! [`PROTOCOL_VERSION`]; a message of another version is refused with [`AgentError::Version`].
//! The plugin asks for the pod's network ([`Request::Add`]), sets up the datapath, and on DEL
//! looks the network up ([`Request::Get`]), tears the datapath down and gives the address back
//! ([`Request::Release`]), in that order, so that an address is never handed out again while
//! the node still routes it to the old pod.
//!
//! An ADD whose answer cannot be delivered (the plugin gave up waiting and hung up) is
//! released by the server at once: a slow agent loses no address. [`PoolAgent`] is the agent
//! over an [`IpPool`], keyed like `ack_net_k8s`'s pod reconciler (the pod's UID).
//!
//! ```no_run
//! use std::sync::Arc;
//! use ack_net_eni::agent::{self, AgentClient, PodRef, PoolAgent};
//! # async fn demo(pool: ack_net_eni::IpPool) -> Result<(), Box<dyn std::error::Error>> {
//! // The agent:
//! let listener = agent::bind("/run/ack-net/agent.sock".as_ref())?;
//! tokio::spawn(agent::serve(listener, Arc::new(PoolAgent::new(pool))));
//!
//! // The plugin:
//! let client = AgentClient::new("/run/ack-net/agent.sock").timeout(std::time::Duration::from_secs(5));
//! let pod = PodRef::new("default", "web-0", "c0ffee", "eth0").uid("5f7c1c1e-0d1f-4a5b-8c1e-000000000001");
//! let net = client.add(&pod).await?;
//! println!("{} on {}", net.ipv4, net.eni_id);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::pod_network::PodNetwork;
use crate::pool::{IpPool, PoolError, Released};

/// The version of the protocol; both sides put it in every message.
pub const PROTOCOL_VERSION: u32 = 1;
/// Where the agent listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/ack-net/agent.sock";
/// How long the client waits for an answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest message either side reads (bytes, the newline included).
pub const MAX_MESSAGE: usize = 256 * 1024;
/// How long the server waits for a connected client's request.
const REQUEST_WAIT: Duration = Duration::from_secs(10);
/// Longest namespace, pod name or UID (a DNS subdomain).
const MAX_NAME: usize = 253;
/// Longest container id.
const MAX_CONTAINER_ID: usize = 256;

/// Why a request failed, on either side of the socket; it travels on the wire as the answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentError {
    /// Bad input, refused before anything was allocated or sent.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was wrong.
        what: String,
        /// Why.
        reason: String,
    },
    /// The other side speaks another version of the protocol.
    #[error("the node agent protocol version {theirs} is not this side's version {ours}")]
    Version {
        /// This side's version.
        ours: u32,
        /// The other side's.
        theirs: u32,
    },
    /// Nobody listens on the socket (the agent is down, or the path is wrong).
    #[error("the node agent at {path} is not reachable: {reason}")]
    Unavailable {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// The agent did not answer within the client's timeout.
    #[error("no answer from the node agent within {millis} ms")]
    Timeout {
        /// The timeout, in milliseconds.
        millis: u64,
    },
    /// A message that is not the protocol (not JSON, too long, an unexpected answer).
    #[error("malformed node agent message: {reason}")]
    Protocol {
        /// What was wrong.
        reason: String,
    },
    /// The pool could not give (or take back) the address.
    #[error("the pod address pool: {message}")]
    Pool {
        /// The pool's error.
        message: String,
        /// The pool is exhausted (a quota or no VSwitch room).
        exhausted: bool,
        /// A later attempt may work (throttling, a deadline).
        retryable: bool,
    },
}

impl AgentError {
    fn invalid(what: &str, reason: impl Into<String>) -> Self {
        AgentError::InvalidInput { what: what.to_owned(), reason: reason.into() }
    }

    fn protocol(reason: impl std::fmt::Display) -> Self {
        AgentError::Protocol { reason: reason.to_string() }
    }

    /// Whether trying again later may work (the agent is down, slow or the pool is refilling).
    pub fn is_temporary(&self) -> bool {
        match self {
            AgentError::Unavailable { .. } | AgentError::Timeout { .. } => true,
            AgentError::Pool { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

impl From<PoolError> for AgentError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::InvalidInput { what, reason } => AgentError::invalid(what, reason),
            e => AgentError::Pool {
                message: e.to_string(),
                exhausted: e.exhausted().is_some(),
                retryable: matches!(e, PoolError::Throttled { .. } | PoolError::Timeout { .. }),
            },
        }
    }
}

/// The pod a request is about, as the container runtime names it (CNI_ARGS, CNI_CONTAINERID,
/// CNI_NETNS, CNI_IFNAME).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PodRef {
    /// The pod's namespace (`K8S_POD_NAMESPACE`).
    pub namespace: String,
    /// The pod's name (`K8S_POD_NAME`).
    pub name: String,
    /// The pod's UID (`K8S_POD_UID`), when the runtime gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The sandbox container's id.
    pub container_id: String,
    /// The pod's network namespace (absent on a DEL whose namespace is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<PathBuf>,
    /// The pod's interface name.
    pub ifname: String,
}

fn check_text(what: &str, value: &str, max: usize) -> Result<(), AgentError> {
    if value.is_empty() || value.len() > max || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AgentError::invalid(what, format!("{value:?} must be 1 to {max} bytes without spaces")));
    }
    Ok(())
}

impl PodRef {
    /// A pod by namespace, name, sandbox container id and interface name.
    pub fn new(namespace: &str, name: &str, container_id: &str, ifname: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: None,
            container_id: container_id.to_owned(),
            netns: None,
            ifname: ifname.to_owned(),
        }
    }

    /// Sets the pod's UID.
    pub fn uid(mut self, uid: &str) -> Self {
        self.uid = Some(uid.to_owned());
        self
    }

    /// Sets the pod's network namespace.
    pub fn netns(mut self, netns: impl Into<PathBuf>) -> Self {
        self.netns = Some(netns.into());
        self
    }

    /// The pool key: the UID when known (as `ack_net_k8s`'s reconciler keys pods, so both find
    /// the same address), else `namespace/name`.
    ///
    /// ```
    /// use ack_net_eni::agent::PodRef;
    /// assert_eq!(PodRef::new("default", "web-0", "c1", "eth0").key(), "default/web-0");
    /// assert_eq!(PodRef::new("default", "web-0", "c1", "eth0").uid("u-1").key(), "u-1");
    /// ```
    pub fn key(&self) -> String {
        self.uid.clone().unwrap_or_else(|| format!("{}/{}", self.namespace, self.name))
    }

    /// Checks every field (the client does before sending, the server on receipt).
    pub fn validate(&self) -> Result<(), AgentError> {
        check_text("pod namespace", &self.namespace, MAX_NAME)?;
        check_text("pod name", &self.name, MAX_NAME)?;
        if self.namespace.contains('/') || self.name.contains('/') {
            return Err(AgentError::invalid("pod name", "a namespace or name has no '/'"));
        }
        if let Some(uid) = &self.uid {
            check_text("pod UID", uid, MAX_NAME)?;
        }
        check_text("container id", &self.container_id, MAX_CONTAINER_ID)?;
        check_ifname(&self.ifname)?;
        if let Some(netns) = &self.netns {
            if !netns.is_absolute() {
                return Err(AgentError::invalid("network namespace", format!("{} is not absolute", netns.display())));
            }
        }
        Ok(())
    }

    fn attachment(&self) -> Attachment {
        Attachment { container_id: self.container_id.clone(), ifname: self.ifname.clone() }
    }
}

fn check_ifname(name: &str) -> Result<(), AgentError> {
    crate::common::ifname_problem(name).map_or(Ok(()), |reason| Err(AgentError::invalid("interface name", reason)))
}

/// An attachment the container runtime still uses (CNI GC's `cni.dev/valid-attachments`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attachment {
    /// The sandbox container's id.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// The interface name.
    #[serde(rename = "ifname")]
    pub ifname: String,
}

/// A pod the agent set up whose attachment the runtime no longer lists: the plugin tears its
/// datapath down and releases it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StalePod {
    /// The pod.
    pub pod: PodRef,
    /// Its network, if it still holds an address.
    pub network: Option<PodNetwork>,
}

/// The agent's readiness (CNI STATUS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentStatus {
    /// Whether an ADD can be served now.
    pub ready: bool,
    /// Idle addresses in the pool.
    pub idle: u32,
    /// Addresses in use.
    pub in_use: u32,
}

/// A request to the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Allocate (idempotently) the pod's network.
    Add {
        /// The pod.
        pod: PodRef,
    },
    /// The pod's network, if it holds one (CNI DEL and CHECK).
    Get {
        /// The pod.
        pod: PodRef,
    },
    /// Give the pod's address back (after its datapath is gone).
    Release {
        /// The pod.
        pod: PodRef,
    },
    /// The pods set up for attachments the runtime no longer lists (CNI GC).
    Gc {
        /// The attachments in use.
        valid: Vec<Attachment>,
    },
    /// Whether the agent can serve an ADD (CNI STATUS).
    Status,
}

impl Request {
    fn validate(&self) -> Result<(), AgentError> {
        match self {
            Request::Add { pod } | Request::Get { pod } | Request::Release { pod } => pod.validate(),
            Request::Gc { .. } | Request::Status => Ok(()),
        }
    }
}

/// The agent's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// The pod's network (to Add, and to Get when it holds one).
    Network {
        /// The network.
        network: PodNetwork,
    },
    /// The pod holds no address (to Get).
    NoNetwork,
    /// The address given back, or none when the pod held none (to Release).
    Released {
        /// The address.
        address: Option<Ipv4Addr>,
    },
    /// The stale pods (to Gc).
    Stale {
        /// The pods.
        pods: Vec<StalePod>,
    },
    /// The agent's readiness (to Status).
    Status {
        /// It.
        status: AgentStatus,
    },
    /// The request failed.
    Error {
        /// Why.
        error: AgentError,
    },
}

/// One line: the message with the protocol version.
fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, AgentError> {
    let mut v = serde_json::to_value(message).map_err(AgentError::protocol)?;
    v.as_object_mut()
        .ok_or_else(|| AgentError::protocol("a message is a JSON object"))?
        .insert("version".into(), PROTOCOL_VERSION.into());
    let mut line = serde_json::to_vec(&v).map_err(AgentError::protocol)?;
    line.push(b'\n');
    Ok(line)
}

/// Parses one line, refusing another protocol version before reading the rest.
fn decode<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, AgentError> {
    let v: Value = serde_json::from_slice(line).map_err(AgentError::protocol)?;
    let theirs = v.get("version").and_then(Value::as_u64).ok_or_else(|| AgentError::protocol("no version"))?;
    if theirs != u64::from(PROTOCOL_VERSION) {
        return Err(AgentError::Version { ours: PROTOCOL_VERSION, theirs: u32::try_from(theirs).unwrap_or(u32::MAX) });
    }
    serde_json::from_value(v).map_err(AgentError::protocol)
}

/// Reads one line of at most [`MAX_MESSAGE`] bytes.
async fn read_line(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Result<Vec<u8>, AgentError> {
    let mut line = Vec::new();
    let mut limited = BufReader::new(stream).take(MAX_MESSAGE as u64);
    limited.read_until(b'\n', &mut line).await.map_err(AgentError::protocol)?;
    if line.last() != Some(&b'\n') {
        let why = if line.len() >= MAX_MESSAGE { "longer than the limit" } else { "cut short" };
        return Err(AgentError::protocol(format!("a message {why} ({} bytes)", line.len())));
    }
    Ok(line)
}

/// The plugin's side: one connection per call, each bounded by the timeout (connecting,
/// sending and waiting for the answer).
#[derive(Clone, Debug)]
pub struct AgentClient {
    path: PathBuf,
    timeout: Duration,
}

impl AgentClient {
    /// A client of the agent listening at `path`, with [`DEFAULT_TIMEOUT`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), timeout: DEFAULT_TIMEOUT }
    }

    /// Sets the timeout of each call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The pod's network, allocated if it has none yet (idempotent).
    pub async fn add(&self, pod: &PodRef) -> Result<PodNetwork, AgentError> {
        match self.call(&Request::Add { pod: pod.clone() }).await? {
            Reply::Network { network } => Ok(network),
            other => Err(unexpected(&other)),
        }
    }

    /// The pod's network, if it holds an address.
    pub async fn get(&self, pod: &PodRef) -> Result<Option<PodNetwork>, AgentError> {
        match self.call(&Request::Get { pod: pod.clone() }).await? {
            Reply::Network { network } => Ok(Some(network)),
            Reply::NoNetwork => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    /// Gives the pod's address back; `None` when it held none (idempotent).
    pub async fn release(&self, pod: &PodRef) -> Result<Option<Ipv4Addr>, AgentError> {
        match self.call(&Request::Release { pod: pod.clone() }).await? {
            Reply::Released { address } => Ok(address),
            other => Err(unexpected(&other)),
        }
    }

    /// The pods set up for attachments not in `valid`.
    pub async fn gc(&self, valid: &[Attachment]) -> Result<Vec<StalePod>, AgentError> {
        match self.call(&Request::Gc { valid: valid.to_vec() }).await? {
            Reply::Stale { pods } => Ok(pods),
            other => Err(unexpected(&other)),
        }
    }

    /// The agent's readiness.
    pub async fn status(&self) -> Result<AgentStatus, AgentError> {
        match self.call(&Request::Status).await? {
            Reply::Status { status } => Ok(status),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends `request` (checked first: bad input never leaves the process) and reads the answer.
    pub async fn call(&self, request: &Request) -> Result<Reply, AgentError> {
        request.validate()?;
        let line = encode(request)?;
        let exchange = async {
            let mut stream = UnixStream::connect(&self.path)
                .await
                .map_err(|e| AgentError::Unavailable { path: self.path.clone(), reason: e.to_string() })?;
            stream.write_all(&line).await.map_err(AgentError::protocol)?;
            decode::<Reply>(&read_line(&mut stream).await?)
        };
        let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(AgentError::Timeout { millis }),
            Ok(Ok(Reply::Error { error })) => Err(error),
            Ok(r) => r,
        }
    }
}

fn unexpected(reply: &Reply) -> AgentError {
    AgentError::protocol(format!("an unexpected answer: {reply:?}"))
}

/// What the agent does for each request; [`serve`] speaks the protocol around it.
#[async_trait::async_trait]
pub trait Agent: Send + Sync {
    /// The pod's network, allocated if it has none yet (idempotent).
    async fn add(&self, pod: &PodRef) -> Result<PodNetwork, AgentError>;
    /// The pod's network, if it holds an address.
    async fn get(&self, pod: &PodRef) -> Result<Option<PodNetwork>, AgentError>;
    /// Gives the pod's address back (idempotent): the address, or `None` if it held none.
    async fn release(&self, pod: &PodRef) -> Result<Option<Ipv4Addr>, AgentError>;
    /// The pods set up for attachments not in `valid`.
    async fn gc(&self, valid: &[Attachment]) -> Result<Vec<StalePod>, AgentError>;
    /// Whether an ADD can be served now.
    async fn status(&self) -> Result<AgentStatus, AgentError>;
}

/// The agent over an [`IpPool`]: pods keyed by [`PodRef::key`]; it remembers the attachments
/// it served (container id and interface) for [`Agent::gc`]. After a restart it knows only the
/// attachments served since (the pool's journal keeps the addresses; pods that are gone are
/// released by the Kubernetes side's GC).
#[derive(Debug)]
pub struct PoolAgent {
    pool: IpPool,
    attachments: Mutex<HashMap<String, PodRef>>,
}

impl PoolAgent {
    /// The agent of `pool`.
    pub fn new(pool: IpPool) -> Self {
        Self { pool, attachments: Mutex::new(HashMap::new()) }
    }

    /// Its pool.
    pub fn pool(&self) -> &IpPool {
        &self.pool
    }

    fn attachments(&self) -> std::sync::MutexGuard<'_, HashMap<String, PodRef>> {
        self.attachments.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Agent for PoolAgent {
    async fn add(&self, pod: &PodRef) -> Result<PodNetwork, AgentError> {
        let net = PodNetwork::setup(&self.pool, &pod.key()).await?;
        self.attachments().insert(pod.key(), pod.clone());
        Ok(net)
    }

    async fn get(&self, pod: &PodRef) -> Result<Option<PodNetwork>, AgentError> {
        Ok(PodNetwork::held(&self.pool, &pod.key())?)
    }

    async fn release(&self, pod: &PodRef) -> Result<Option<Ipv4Addr>, AgentError> {
        let released = PodNetwork::teardown(&self.pool, &pod.key()).await?;
        self.attachments().remove(&pod.key());
        Ok(match released {
            Released::Released(ip) => Some(ip),
            _ => None,
        })
    }

    async fn gc(&self, valid: &[Attachment]) -> Result<Vec<StalePod>, AgentError> {
        let stale: Vec<PodRef> =
            self.attachments().values().filter(|p| !valid.contains(&p.attachment())).cloned().collect();
        stale.into_iter().map(|pod| Ok(StalePod { network: PodNetwork::held(&self.pool, &pod.key())?, pod })).collect()
    }

    async fn status(&self) -> Result<AgentStatus, AgentError> {
        let m = self.pool.metrics();
        Ok(AgentStatus {
            ready: m.idle > 0 || m.coming > 0 || m.in_use < self.pool.policy().max_pods,
            idle: m.idle,
            in_use: m.in_use,
        })
    }
}

/// Binds the agent's socket at `path`, readable and writable by its owner only (0600; a
/// missing parent directory is made 0700). A socket left by an earlier run is replaced; any
/// other file there is an error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves `agent` on `listener` until the listener fails: each connection on a task of its
/// own, one request each.
pub async fn serve(listener: UnixListener, agent: Arc<dyn Agent>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let agent = agent.clone();
        tokio::spawn(async move { handle(stream, &*agent).await });
    }
}

/// Answers one connection. An ADD whose answer cannot be written (the client is gone) is
/// released again.
async fn handle(mut stream: UnixStream, agent: &dyn Agent) {
    let request = match tokio::time::timeout(REQUEST_WAIT, read_line(&mut stream)).await {
        Ok(Ok(line)) => decode::<Request>(&line).and_then(|r| r.validate().map(|()| r)),
        Ok(Err(e)) => Err(e),
        Err(_) => return,
    };
    let reply = match &request {
        Err(error) => Reply::Error { error: error.clone() },
        Ok(request) => answer(agent, request).await.unwrap_or_else(|error| Reply::Error { error }),
    };
    let line = encode(&reply).or_else(|error| encode(&Reply::Error { error }));
    let delivered = match line {
        Ok(line) => stream.write_all(&line).await.is_ok() && stream.flush().await.is_ok(),
        Err(_) => false,
    };
    if let (Ok(Request::Add { pod }), Reply::Network { network }, false) = (&request, &reply, delivered) {
        match agent.release(pod).await {
            Ok(_) => {
                tracing::warn!(pod = %pod.key(), ip = %network.ipv4, "the plugin hung up before the answer: released")
            }
            Err(e) => tracing::warn!(pod = %pod.key(), error = %e, "the plugin hung up; releasing failed"),
        }
    }
}

async fn answer(agent: &dyn Agent, request: &Request) -> Result<Reply, AgentError> {
    Ok(match request {
        Request::Add { pod } => Reply::Network { network: agent.add(pod).await? },
        Request::Get { pod } => match agent.get(pod).await? {
            Some(network) => Reply::Network { network },
            None => Reply::NoNetwork,
        },
        Request::Release { pod } => Reply::Released { address: agent.release(pod).await? },
        Request::Gc { valid } => Reply::Stale { pods: agent.gc(valid).await? },
        Request::Status => Reply::Status { status: agent.status().await? },
    })
}

#[cfg(test)]
mod tests;
