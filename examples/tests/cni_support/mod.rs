//! Shared by tests/cni.rs and benches/cni.rs: the compiled plugin, pods, executing the plugin
//! as a container runtime does, and a node agent's pool.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::{IpPool, PoolConfig, PoolOwner};
use ack_net_eni::SecurityGroupId;
use ack_net_mock::fabric::Netns;
use serde_json::{json, Value};

/// The compiled plugin: `target/PROFILE/examples/cni_plugin`, which `cargo test` builds
/// with the examples.
pub fn plugin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the test's own path: {e}"))?;
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("examples").join("cni_plugin"))
        .ok_or("the test runs outside a target directory")?;
    if !path.is_file() {
        return Err(format!(
            "{} is missing: `cargo test` builds it with the examples (or `cargo build --example cni_plugin`)",
            path.display()
        ));
    }
    Ok(path)
}

/// A directory of the test's own, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("ack-net-cni-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a scratch directory");
        Scratch(d)
    }

    /// A directory `name` in it, made.
    pub fn sub(&self, name: &str) -> PathBuf {
        let d = self.0.join(name);
        std::fs::create_dir_all(&d).expect("a scratch subdirectory");
        d
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A pod: a network namespace, named like the kubelet names it.
pub struct Pod {
    /// The pod's name.
    pub name: String,
    /// Its network namespace.
    pub ns: Arc<Netns>,
}

impl Pod {
    pub fn new(name: &str) -> Pod {
        Pod { name: name.to_owned(), ns: Arc::new(Netns::new().expect("a pod namespace")) }
    }

    pub fn key(&self) -> String {
        format!("uid-{}", self.name)
    }

    pub fn args(&self) -> String {
        format!("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={};K8S_POD_UID={}", self.name, self.key())
    }

    /// The environment a container runtime gives the plugin for this pod.
    pub fn env(&self, command: &str) -> Vec<(String, String)> {
        let plugin_dir = plugin().expect("the plugin").parent().expect("its directory").to_owned();
        [
            ("CNI_COMMAND", command.to_owned()),
            ("CNI_CONTAINERID", format!("sandbox-{}", self.name)),
            ("CNI_NETNS", self.ns.path().display().to_string()),
            ("CNI_IFNAME", "eth0".to_owned()),
            ("CNI_ARGS", self.args()),
            ("CNI_PATH", plugin_dir.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Runs `program` in `node`'s namespace with exactly `env` (and PATH) and `stdin`: its exit
/// status and its stdout as JSON (`Null` when empty).
pub async fn exec(node: &Arc<Netns>, program: Vec<String>, env: Vec<(String, String)>, stdin: String) -> (bool, Value) {
    let node = node.clone();
    let out = tokio::task::spawn_blocking(move || {
        node.run(|| -> io::Result<std::process::Output> {
            let mut child = Command::new(&program[0])
                .args(&program[1..])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(env)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            child.stdin.take().expect("stdin").write_all(stdin.as_bytes())?;
            child.wait_with_output()
        })
    })
    .await
    .expect("the blocking task")
    .expect("a thread in the node")
    .expect("running the program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"))
    };
    if !out.status.success() && !out.stderr.is_empty() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), v)
}

/// Executes the plugin as a container runtime does.
pub async fn cni(node: &Arc<Netns>, env: Vec<(String, String)>, conf: &Value) -> (bool, Value) {
    let plugin = plugin().expect("the plugin").display().to_string();
    exec(node, vec![plugin], env, conf.to_string()).await
}

/// The pool of the node `instance` (of `instance_type`, in `vswitch`), its ENIs in `group`,
/// keeping `warm` addresses ready.
pub fn pool_config(
    instance: &str,
    instance_type: &str,
    vswitch: &str,
    group: &SecurityGroupId,
    warm: u32,
) -> PoolConfig {
    PoolConfig::new(
        PoolOwner { cluster_id: "c-cni".into(), pool_id: instance.to_owned() },
        instance.parse().expect("an instance id"),
        instance_type.parse().expect("a type"),
    )
    .vswitch(vswitch.parse().expect("a VSwitch id"))
    .security_group(group.clone())
    .warm_band(warm, warm)
}

/// Waits (at most ten seconds) until `pool` has `warm` addresses ready, idle or cooling down
/// (a restarted pool rests what it cannot vouch for), and nothing in flight.
pub async fn warm_up(pool: &IpPool, warm: u32) {
    let warmed = |p: &IpPool| p.metrics().idle + p.metrics().cooling >= warm && p.is_quiet();
    for _ in 0..200 {
        if warmed(pool) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pool did not warm up: {:?}", pool.metrics());
}

/// The network configuration of the plugin talking to the agent at `socket`.
pub fn netconf(socket: &Path) -> Value {
    json!({"cniVersion": "1.1.0", "name": "ack-net", "type": "cni_plugin",
           "agentSocket": socket, "agentTimeoutMs": 10000, "mtu": 1500})
}
