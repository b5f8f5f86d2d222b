//! The call log and per-action counters.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// One call as the mock saw it. Parameters are the operation's only: no AccessKeyId,
/// Signature, SignatureNonce, SecurityToken or other common parameter.
#[derive(Clone, Debug, Serialize)]
pub struct CallRecord {
    /// 1 for the first call, then increasing.
    pub seq: u64,
    /// Wall-clock time the call arrived (RFC 3339 in JSON).
    pub time: chrono::DateTime<chrono::Utc>,
    /// `Vpc`, `Ecs`, `Slb`, or empty when the call never got that far.
    pub product: String,
    /// The action (empty if missing).
    pub action: String,
    /// The API version (empty if missing).
    pub version: String,
    /// `V1` or `V3`.
    pub signature: &'static str,
    /// The operation parameters.
    pub params: BTreeMap<String, String>,
    /// The HTTP status answered (0 when the connection was dropped before the call ran; with a
    /// lost reply, the status of the answer that never left).
    pub status: u16,
    /// The error code, `None` on success.
    pub code: Option<String>,
    /// The answer's RequestId.
    pub request_id: String,
    /// Whether the call ran but its answer was lost on purpose (the `lost` fault).
    pub reply_lost: bool,
}

impl CallRecord {
    /// Whether the call succeeded.
    pub fn ok(&self) -> bool {
        self.status == 200
    }
}

/// How often one action was called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActionCount {
    /// Every call.
    pub total: u64,
    /// Calls answered 200.
    pub ok: u64,
    /// Calls answered with an error or dropped.
    pub errors: u64,
}

/// A bounded call log (oldest records fall off) and counters that never reset by themselves.
#[derive(Debug)]
pub struct CallLog {
    records: VecDeque<CallRecord>,
    capacity: usize,
    counters: BTreeMap<String, ActionCount>,
    seq: u64,
}

impl CallLog {
    /// A log keeping at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self { records: VecDeque::new(), capacity, counters: BTreeMap::new(), seq: 0 }
    }

    /// Appends a record (its `seq` is assigned here).
    pub fn push(&mut self, mut rec: CallRecord) {
        self.seq += 1;
        rec.seq = self.seq;
        let c = self.counters.entry(rec.action.clone()).or_default();
        c.total += 1;
        if rec.ok() {
            c.ok += 1;
        } else {
            c.errors += 1;
        }
        if self.capacity == 0 {
            return;
        }
        if self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(rec);
    }

    /// The records kept, oldest first.
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.iter().cloned().collect()
    }

    /// Counters per action.
    pub fn counters(&self) -> BTreeMap<String, ActionCount> {
        self.counters.clone()
    }

    /// Forgets every record and counter.
    pub fn clear(&mut self) {
        self.records.clear();
        self.counters.clear();
    }
}
