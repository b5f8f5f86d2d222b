//! The pool's journal: every cloud mutation is recorded with its ClientToken before the
//! call and settled after, and every pod allocation is recorded, so that a restarted pool
//! finishes or rolls back what was interrupted and never hands an address out twice.
//!
//! [`MemoryStore`] keeps it in memory (tests, or a process that lives as long as its pods);
//! [`FileStore`] in one JSON file, rewritten atomically on every change (a temporary file,
//! fsynced, renamed over the old one, and the directory fsynced).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use crate::{EniId, VSwitchId};

/// A cloud mutation the pool is about to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
#[non_exhaustive]
pub enum IntentOp {
    /// CreateNetworkInterface (then attach): the ENI carries the intent's token as a tag.
    CreateEni {
        /// The VSwitch.
        vswitch_id: VSwitchId,
        /// Secondary IPv4 addresses.
        secondary_ipv4: u32,
        /// IPv6 addresses.
        ipv6: u32,
    },
    /// AssignPrivateIpAddresses.
    AssignIpv4 {
        /// The ENI.
        eni_id: EniId,
        /// How many.
        count: u32,
    },
    /// AssignIpv6Addresses.
    AssignIpv6 {
        /// The ENI.
        eni_id: EniId,
        /// How many.
        count: u32,
    },
    /// UnassignPrivateIpAddresses / UnassignIpv6Addresses.
    Unassign {
        /// The ENI.
        eni_id: EniId,
        /// IPv4 addresses.
        ipv4: Vec<Ipv4Addr>,
        /// IPv6 addresses.
        ipv6: Vec<Ipv6Addr>,
    },
    /// Detach and delete an ENI.
    DeleteEni {
        /// The ENI.
        eni_id: EniId,
    },
}

/// A journaled intent: the operation and its ClientToken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Intent {
    /// The ClientToken of the call (unique: the journal's key).
    pub token: String,
    /// What is about to be done.
    pub op: IntentOp,
}

impl Intent {
    /// An intent.
    pub fn new(token: impl Into<String>, op: IntentOp) -> Self {
        Self { token: token.into(), op }
    }
}

/// A pod's address, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PodRecord {
    /// The pod key.
    pub pod: String,
    /// The ENI holding the address.
    pub eni_id: EniId,
    /// The IPv4 address.
    pub ipv4: Ipv4Addr,
    /// The IPv6 address (dual stack).
    pub ipv6: Option<Ipv6Addr>,
}

impl PodRecord {
    /// A record.
    pub fn new(pod: impl Into<String>, eni_id: EniId, ipv4: Ipv4Addr, ipv6: Option<Ipv6Addr>) -> Self {
        Self { pod: pod.into(), eni_id, ipv4, ipv6 }
    }
}

/// Everything a store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreSnapshot {
    /// Intents begun and not settled, in the order they were begun.
    pub intents: Vec<Intent>,
    /// Pod allocations, by pod key.
    pub allocations: BTreeMap<String, PodRecord>,
}

impl StoreSnapshot {
    fn apply(&mut self, change: Change) {
        match change {
            Change::Begin(i) => {
                self.intents.retain(|x| x.token != i.token);
                self.intents.push(i);
            }
            Change::Settle(t) => self.intents.retain(|x| x.token != t),
            Change::Put(r) => {
                self.allocations.insert(r.pod.clone(), r);
            }
            Change::Remove(p) => {
                self.allocations.remove(&p);
            }
        }
    }
}

enum Change {
    Begin(Intent),
    Settle(String),
    Put(PodRecord),
    Remove(String),
}

/// Where a pool journals. Each method is atomic: once it returns `Ok`, the change survives
/// a crash; if it fails, nothing changed.
#[async_trait]
pub trait PoolStore: Send + Sync {
    /// Everything recorded.
    async fn load(&self) -> Result<StoreSnapshot, StoreError>;
    /// Records an intent before its call is made.
    async fn begin(&self, intent: &Intent) -> Result<(), StoreError>;
    /// Settles an intent after its call (whatever the outcome).
    async fn settle(&self, token: &str) -> Result<(), StoreError>;
    /// Records (or replaces) a pod's allocation.
    async fn put_allocation(&self, record: &PodRecord) -> Result<(), StoreError>;
    /// Forgets a pod's allocation (nothing if there is none).
    async fn remove_allocation(&self, pod: &str) -> Result<(), StoreError>;
}

/// A journal in memory. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<StoreSnapshot>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What it holds now.
    pub fn snapshot(&self) -> StoreSnapshot {
        self.lock().clone()
    }

    /// Replaces what it holds (for tests that tamper with a journal).
    pub fn replace(&self, snapshot: StoreSnapshot) {
        *self.lock() = snapshot;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoreSnapshot> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn change(&self, c: Change) -> Result<(), StoreError> {
        self.lock().apply(c);
        Ok(())
    }
}

#[async_trait]
impl PoolStore for MemoryStore {
    async fn load(&self) -> Result<StoreSnapshot, StoreError> {
        Ok(self.snapshot())
    }
    async fn begin(&self, intent: &Intent) -> Result<(), StoreError> {
        self.change(Change::Begin(intent.clone()))
    }
    async fn settle(&self, token: &str) -> Result<(), StoreError> {
        self.change(Change::Settle(token.to_owned()))
    }
    async fn put_allocation(&self, record: &PodRecord) -> Result<(), StoreError> {
        self.change(Change::Put(record.clone()))
    }
    async fn remove_allocation(&self, pod: &str) -> Result<(), StoreError> {
        self.change(Change::Remove(pod.to_owned()))
    }
}

/// A journal in one JSON file. Every change rewrites the file atomically: the new content
/// goes to `<file>.tmp`, is fsynced, renamed over the file, and the directory is fsynced;
/// a crash leaves the old or the new content, never a mix. Changes are applied one at a
/// time, in order, on tokio's blocking pool; a change whose caller was cancelled still
/// completes (or not) as a whole.
///
/// ```no_run
/// # async fn demo() -> Result<(), ack_net_eni::pool::StoreError> {
/// use ack_net_eni::pool::{FileStore, PoolStore};
/// let store = FileStore::open("/var/lib/my-cni/pool.json").await?;
/// println!("{} pods recorded", store.load().await?.allocations.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FileStore {
    inner: Arc<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    path: PathBuf,
    data: Mutex<StoreSnapshot>,
}

impl FileStore {
    /// Opens the store at `path`, reading what it holds (an absent file is an empty store;
    /// its directory must exist).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let p = path.clone();
        let data = tokio::task::spawn_blocking(move || read(&p))
            .await
            .map_err(|e| StoreError::Other(format!("the store's reader failed: {e}")))??;
        Ok(Self { inner: Arc::new(FileInner { path, data: Mutex::new(data) }) })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn change(&self, c: Change) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut data = inner.data.lock().unwrap_or_else(|p| p.into_inner());
            let mut next = data.clone();
            next.apply(c);
            write_atomically(&inner.path, &next)?;
            *data = next;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Other(format!("the store's writer failed: {e}")))?
    }
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), source }
}

fn read(path: &Path) -> Result<StoreSnapshot, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt { path: path.display().to_string(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreSnapshot::default()),
        Err(e) => Err(io(path, e)),
    }
}

fn write_atomically(path: &Path, data: &StoreSnapshot) -> Result<(), StoreError> {
    use std::io::Write;
    let bytes = serde_json::to_vec(data).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(&bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Makes the rename durable (a directory can be opened read-only and fsynced on Unix).
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all().map_err(|e| io(&dir, e))?;
    }
    Ok(())
}

#[async_trait]
impl PoolStore for FileStore {
    async fn load(&self) -> Result<StoreSnapshot, StoreError> {
        Ok(self.inner.data.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
    async fn begin(&self, intent: &Intent) -> Result<(), StoreError> {
        self.change(Change::Begin(intent.clone())).await
    }
    async fn settle(&self, token: &str) -> Result<(), StoreError> {
        self.change(Change::Settle(token.to_owned())).await
    }
    async fn put_allocation(&self, record: &PodRecord) -> Result<(), StoreError> {
        self.change(Change::Put(record.clone())).await
    }
    async fn remove_allocation(&self, pod: &str) -> Result<(), StoreError> {
        self.change(Change::Remove(pod.to_owned())).await
    }
}

#[async_trait]
impl<T: PoolStore + ?Sized> PoolStore for Arc<T> {
    async fn load(&self) -> Result<StoreSnapshot, StoreError> {
        (**self).load().await
    }
    async fn begin(&self, intent: &Intent) -> Result<(), StoreError> {
        (**self).begin(intent).await
    }
    async fn settle(&self, token: &str) -> Result<(), StoreError> {
        (**self).settle(token).await
    }
    async fn put_allocation(&self, record: &PodRecord) -> Result<(), StoreError> {
        (**self).put_allocation(record).await
    }
    async fn remove_allocation(&self, pod: &str) -> Result<(), StoreError> {
        (**self).remove_allocation(pod).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ack-net-pool-{}-{}", name, uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("pool.json")
    }

    async fn exercise(store: &dyn PoolStore) {
        let eni: EniId = "eni-1".parse().unwrap();
        let i = Intent::new("t1", IntentOp::AssignIpv4 { eni_id: eni.clone(), count: 3 });
        store.begin(&i).await.unwrap();
        store.begin(&Intent::new("t2", IntentOp::DeleteEni { eni_id: eni.clone() })).await.unwrap();
        store.put_allocation(&PodRecord::new("ns/a", eni.clone(), Ipv4Addr::new(10, 0, 0, 2), None)).await.unwrap();
        store.put_allocation(&PodRecord::new("ns/b", eni.clone(), Ipv4Addr::new(10, 0, 0, 3), None)).await.unwrap();
        store.settle("t2").await.unwrap();
        store.remove_allocation("ns/b").await.unwrap();
        store.remove_allocation("ns/zzz").await.unwrap();
        let s = store.load().await.unwrap();
        assert_eq!(s.intents, vec![i]);
        assert_eq!(s.allocations.keys().collect::<Vec<_>>(), ["ns/a"]);
    }

    #[tokio::test]
    async fn memory_store() {
        let s = MemoryStore::new();
        exercise(&s).await;
        assert_eq!(s.snapshot().allocations.len(), 1);
    }

    #[tokio::test]
    async fn file_store_survives_reopening_and_leaves_no_temp_file() {
        let path = temp_path("reopen");
        let s = FileStore::open(&path).await.unwrap();
        exercise(&s).await;
        let again = FileStore::open(&path).await.unwrap();
        assert_eq!(again.load().await.unwrap(), s.load().await.unwrap());
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn file_store_reports_corruption_and_io_errors() {
        let path = temp_path("corrupt");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(FileStore::open(&path).await, Err(StoreError::Corrupt { .. })));
        std::fs::remove_file(&path).unwrap();
        let s = FileStore::open(&path).await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
        let r = s.settle("x").await;
        assert!(matches!(r, Err(StoreError::Io { .. })), "{r:?}");
    }
}
