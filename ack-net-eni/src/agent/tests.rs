use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncWriteExt as _;

use super::*;
use crate::pod_network::sample as network;

/// An agent over a map, whose ADD takes `add_takes`; it records the releases.
#[derive(Default)]
struct Fake {
    held: Mutex<HashMap<String, (PodRef, PodNetwork)>>,
    add_takes: Duration,
    released: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Agent for Fake {
    async fn add(&self, pod: &PodRef) -> Result<PodNetwork, AgentError> {
        tokio::time::sleep(self.add_takes).await;
        let mut held = self.held.lock().unwrap();
        let next = u8::try_from(held.len() + 10).unwrap();
        let entry = held.entry(pod.key()).or_insert_with(|| (pod.clone(), network(&pod.key(), next)));
        Ok(entry.1.clone())
    }
    async fn get(&self, pod: &PodRef) -> Result<Option<PodNetwork>, AgentError> {
        Ok(self.held.lock().unwrap().get(&pod.key()).map(|(_, n)| n.clone()))
    }
    async fn release(&self, pod: &PodRef) -> Result<Option<Ipv4Addr>, AgentError> {
        self.released.lock().unwrap().push(pod.key());
        Ok(self.held.lock().unwrap().remove(&pod.key()).map(|(_, n)| n.ipv4.addr()))
    }
    async fn gc(&self, valid: &[Attachment]) -> Result<Vec<StalePod>, AgentError> {
        let held = self.held.lock().unwrap();
        Ok(held
            .values()
            .filter(|(p, _)| !valid.contains(&p.attachment()))
            .map(|(p, n)| StalePod { pod: p.clone(), network: Some(n.clone()) })
            .collect())
    }
    async fn status(&self) -> Result<AgentStatus, AgentError> {
        Ok(AgentStatus { ready: true, idle: 3, in_use: u32::try_from(self.held.lock().unwrap().len()).unwrap() })
    }
}

/// A fresh directory for a socket, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "ack-net-agent-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&d);
        Dir(d)
    }
    fn socket(&self) -> PathBuf {
        self.0.join("agent.sock")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(dir: &Dir, agent: Arc<Fake>) -> AgentClient {
    let listener = bind(&dir.socket()).expect("binding the socket");
    tokio::spawn(serve(listener, agent));
    AgentClient::new(dir.socket()).timeout(Duration::from_secs(5))
}

fn pod(name: &str) -> PodRef {
    PodRef::new("default", name, &format!("c-{name}"), "eth0").uid(&format!("uid-{name}")).netns("/var/run/netns/x")
}

/// Sends raw bytes to the socket and reads the raw answer.
async fn raw(path: &Path, bytes: &[u8]) -> Value {
    let mut s = UnixStream::connect(path).await.expect("connecting");
    s.write_all(bytes).await.expect("writing");
    let line = read_line(&mut s).await.expect("an answer");
    serde_json::from_slice(&line).expect("JSON")
}

#[tokio::test]
async fn every_request_round_trips() {
    let dir = Dir::new();
    let fake = Arc::new(Fake::default());
    let client = start(&dir, fake.clone());
    let (a, b) = (pod("web-0"), pod("web-1"));
    let net = client.add(&a).await.expect("add");
    assert_eq!(net.pod, "uid-web-0", "keyed by UID");
    assert_eq!(client.add(&a).await.expect("a repeated add"), net, "idempotent");
    client.add(&b).await.expect("add");
    assert_eq!(client.get(&a).await.expect("get"), Some(net.clone()));
    let stale = client.gc(&[b.attachment()]).await.expect("gc");
    assert_eq!(stale, vec![StalePod { pod: a.clone(), network: Some(net.clone()) }]);
    assert_eq!(client.status().await.expect("status"), AgentStatus { ready: true, idle: 3, in_use: 2 });
    assert_eq!(client.release(&a).await.expect("release"), Some(net.ipv4.addr()));
    assert_eq!(client.release(&a).await.expect("a repeated release"), None);
    assert_eq!(client.get(&a).await.expect("get"), None);
}

#[tokio::test]
async fn the_socket_is_its_owners_only() {
    let dir = Dir::new();
    let _client = start(&dir, Arc::new(Fake::default()));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.socket()), 0o600);
    assert_eq!(mode(&dir.0), 0o700, "the directory made for it");
    // A socket left by an earlier run is replaced; another file is not touched.
    bind(&dir.socket()).expect("rebinding over a stale socket");
    let file = dir.0.join("not-a-socket");
    std::fs::write(&file, "x").unwrap();
    assert_eq!(bind(&file).expect_err("a regular file").kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[tokio::test]
async fn bad_input_is_refused_before_it_is_sent() {
    // Nobody listens there: a refusal that says "invalid" was made before connecting.
    let client = AgentClient::new("/nonexistent/agent.sock");
    let bad = [
        PodRef::new("default", "web-0", "c1", "an-ifname-too-long"),
        PodRef::new("default", "web-0", "c1", "eth/0"),
        PodRef::new("", "web-0", "c1", "eth0"),
        PodRef::new("default", "a b", "c1", "eth0"),
        PodRef::new("default", "web-0", "", "eth0"),
        PodRef::new("default", "web-0", "c1", "eth0").uid(""),
        PodRef::new("default", "web-0", "c1", "eth0").netns("relative/path"),
        PodRef::new("a/b", "web-0", "c1", "eth0"),
    ];
    for p in &bad {
        let e = client.add(p).await.expect_err("bad input");
        assert!(matches!(e, AgentError::InvalidInput { .. }), "{p:?}: {e}");
        assert!(!e.is_temporary());
    }
}

#[tokio::test]
async fn the_server_refuses_malformed_requests() {
    let dir = Dir::new();
    let fake = Arc::new(Fake::default());
    let _client = start(&dir, fake.clone());
    let s = dir.socket();
    let r = raw(&s, b"not json\n").await;
    assert_eq!((r["reply"].as_str(), r["error"]["kind"].as_str()), (Some("error"), Some("protocol")), "{r}");
    let r = raw(&s, b"{\"version\":1,\"op\":\"add\",\"pod\":{\"namespace\":\"d\"}}\n").await;
    assert_eq!(r["error"]["kind"], "protocol", "a missing field: {r}");
    let bad_ifname = serde_json::json!({"version": 1, "op": "add",
        "pod": {"namespace": "d", "name": "p", "container_id": "c", "ifname": "an-ifname-too-long"}});
    let r = raw(&s, format!("{bad_ifname}\n").as_bytes()).await;
    assert_eq!(
        (r["error"]["kind"].as_str(), r["error"]["what"].as_str()),
        (Some("invalid_input"), Some("interface name"))
    );
    let mut long = vec![b' '; MAX_MESSAGE + 10];
    long.push(b'\n');
    let r = raw(&s, &long).await;
    assert_eq!(r["error"]["kind"], "protocol", "too long: {r}");
    assert!(fake.held.lock().unwrap().is_empty(), "nothing was allocated");
}

#[tokio::test]
async fn another_protocol_version_is_refused_both_ways() {
    let dir = Dir::new();
    let fake = Arc::new(Fake::default());
    let _client = start(&dir, fake.clone());
    // A newer plugin talks to this agent.
    let r = raw(&dir.socket(), b"{\"version\":2,\"op\":\"status\"}\n").await;
    assert_eq!(r["version"], PROTOCOL_VERSION);
    assert_eq!(r["error"], serde_json::json!({"kind": "version", "ours": 1, "theirs": 2}));
    let r = raw(&dir.socket(), b"{\"op\":\"status\"}\n").await;
    assert_eq!(r["error"]["kind"], "protocol", "no version: {r}");
    // This plugin talks to a newer agent.
    let other = Dir::new();
    let listener = bind(&other.socket()).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let _ = read_line(&mut s).await;
        s.write_all(b"{\"version\":2,\"reply\":\"something_new\"}\n").await.unwrap();
    });
    let e = AgentClient::new(other.socket()).status().await.expect_err("another version");
    assert_eq!(e, AgentError::Version { ours: 1, theirs: 2 });
}

#[tokio::test]
async fn an_absent_agent_is_a_temporary_error() {
    let dir = Dir::new();
    let e = AgentClient::new(dir.socket()).add(&pod("web-0")).await.expect_err("nobody listens");
    assert!(matches!(e, AgentError::Unavailable { .. }), "{e}");
    assert!(e.is_temporary());
}

#[tokio::test(start_paused = true)]
async fn a_slow_agent_times_out_and_releases_what_it_allocated() {
    let dir = Dir::new();
    let fake = Arc::new(Fake { add_takes: Duration::from_secs(30), ..Fake::default() });
    let listener = bind(&dir.socket()).unwrap();
    tokio::spawn(serve(listener, fake.clone()));
    let client = AgentClient::new(dir.socket()).timeout(Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    let e = client.add(&pod("web-0")).await.expect_err("the agent is slow");
    assert_eq!(e, AgentError::Timeout { millis: 2000 });
    assert!(e.is_temporary());
    assert_eq!(started.elapsed(), Duration::from_secs(2), "it gave up at its timeout");
    // The agent finishes the ADD later, cannot deliver it and gives the address back.
    for _ in 0..60 {
        if !fake.released.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(*fake.released.lock().unwrap(), vec!["uid-web-0".to_owned()]);
    assert!(fake.held.lock().unwrap().is_empty(), "nothing is left allocated");
}

#[test]
fn pool_errors_keep_their_meaning() {
    let e = AgentError::from(PoolError::Timeout { waited: Duration::from_secs(1), last_error: None });
    assert!(e.is_temporary(), "{e}");
    let e = AgentError::from(PoolError::Exhausted(crate::pool::ExhaustedReason::IpQuota));
    assert!(matches!(e, AgentError::Pool { exhausted: true, retryable: false, .. }), "{e}");
    let e = AgentError::from(PoolError::InvalidInput { what: "pod key", reason: "empty".into() });
    assert!(matches!(e, AgentError::InvalidInput { .. }), "{e}");
}
