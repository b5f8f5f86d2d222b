//! From a request off the wire to an answer: parameters, signature, routing by `Version`
//! and `Action`, fault injection, ClientToken idempotency, the product handler, the call log.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};

use crate::auth::{self, Credentials, Incoming, NonceStore, Parsed};
use crate::calls::{CallLog, CallRecord};
use crate::error::{HandlerResult, MockError};
use crate::faults::{Faults, Injected};
use crate::handler::Req;
use crate::state::State;

/// The products the mock serves, with their API version: the mock's own list (core lists no
/// products; the product crates' descriptors, `ack_net_vpc::VPC` and the others, name the same
/// versions, which the tests that call the mock through them check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Product {
    /// VPC 2016-04-28.
    Vpc,
    /// ECS 2014-05-26.
    Ecs,
    /// SLB 2014-05-15.
    Slb,
}

impl Product {
    /// The product a version string belongs to.
    pub fn from_version(v: &str) -> Option<Self> {
        match v {
            "2016-04-28" => Some(Product::Vpc),
            "2014-05-26" => Some(Product::Ecs),
            "2014-05-15" => Some(Product::Slb),
            _ => None,
        }
    }

    /// `Vpc`, `Ecs` or `Slb`.
    pub fn name(self) -> &'static str {
        match self {
            Product::Vpc => "Vpc",
            Product::Ecs => "Ecs",
            Product::Slb => "Slb",
        }
    }

    /// The central host name, used as `HostId`.
    pub fn host(self) -> &'static str {
        match self {
            Product::Vpc => "vpc.aliyuncs.com",
            Product::Ecs => "ecs.aliyuncs.com",
            Product::Slb => "slb.aliyuncs.com",
        }
    }
}

/// (product, action, ClientToken).
type TokenKey = (Product, String, String);
/// The parameters of the first call with a token, and its answer.
type TokenEntry = (BTreeMap<String, String>, Value);

/// What the lock protects: the cloud and the ClientTokens it has honoured.
#[derive(Debug)]
pub struct World {
    /// The simulated cloud.
    pub state: State,
    /// (product, action, ClientToken) -> (parameters, first successful answer).
    tokens: HashMap<TokenKey, TokenEntry>,
}

/// Everything the server shares between connections.
#[derive(Debug)]
pub struct Core {
    world: Mutex<World>,
    creds: Credentials,
    nonces: Mutex<NonceStore>,
    faults: Mutex<Faults>,
    calls: Mutex<CallLog>,
    /// What the data plane last reported, for the state dump (`None` without one).
    fabric: Mutex<Option<Value>>,
    request_seq: AtomicU64,
    seed: u64,
}

/// How the server answers one request.
#[derive(Debug)]
pub enum Outcome {
    /// An HTTP answer.
    Respond {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Drop,
}

/// Locks a mutex, recovering from poisoning (a panicking handler must not take the mock down).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Core {
    /// A core over `state`.
    pub fn new(state: State, creds: Credentials, faults: Faults, call_log_capacity: usize, seed: u64) -> Self {
        Self {
            world: Mutex::new(World { state, tokens: HashMap::new() }),
            creds,
            nonces: Mutex::new(NonceStore::default()),
            faults: Mutex::new(faults),
            calls: Mutex::new(CallLog::new(call_log_capacity)),
            fabric: Mutex::new(None),
            request_seq: AtomicU64::new(0),
            seed,
        }
    }

    /// The locked world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// The locked fault rules.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// The locked call log.
    pub fn calls(&self) -> MutexGuard<'_, CallLog> {
        lock(&self.calls)
    }

    /// The data plane's last report (see [`crate::fabric`]).
    pub fn fabric_report(&self) -> MutexGuard<'_, Option<Value>> {
        lock(&self.fabric)
    }

    /// A request id: deterministic given the seed and the number of requests so far.
    pub fn next_request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.seed ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let b = splitmix(a ^ 0xdead_beef);
        let hex = format!("{a:016X}{b:016X}");
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }

    /// Answers one API request. `sleep` is how the caller waits (tokio's sleep in the server).
    pub async fn process(&self, incoming: &Incoming<'_>) -> Outcome {
        let request_id = self.next_request_id();
        let time = chrono::Utc::now();
        let parsed = auth::parse(incoming);
        let mut record = CallRecord {
            seq: 0,
            time,
            product: String::new(),
            action: parsed.action.clone().unwrap_or_default(),
            version: parsed.version.clone().unwrap_or_default(),
            signature: parsed.style.as_str(),
            params: BTreeMap::new(),
            status: 0,
            code: None,
            request_id: request_id.clone(),
            reply_lost: false,
        };
        let host_default = incoming
            .headers
            .iter()
            .find(|(n, _)| n == "host")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "127.0.0.1".into());
        let routed = self.route(incoming, &parsed, time);
        let (product, action) = match routed {
            Ok(x) => x,
            Err(e) => {
                record.params = parsed.params;
                return self.finish(record, Err(e), &request_id, &host_default);
            }
        };
        record.product = product.name().to_owned();
        let host = product.host();

        let (delay, injected) = {
            let mut f = self.faults();
            if f.is_empty() {
                (Duration::ZERO, Injected::Pass)
            } else {
                f.decide(&action)
            }
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let lost = match injected {
            Injected::LoseReply(hang) => Some(hang),
            _ => None,
        };
        let result = match injected {
            Injected::Pass | Injected::LoseReply(_) => {
                let (result, params) = self.execute(product, &action, parsed);
                record.params = params;
                result
            }
            Injected::Error(e) => {
                record.params = parsed.params;
                Err(e)
            }
            Injected::Drop => {
                record.params = parsed.params;
                self.calls().push(record);
                return Outcome::Drop;
            }
            Injected::Hang(d) => {
                record.params = parsed.params;
                tokio::time::sleep(d).await;
                self.calls().push(record);
                return Outcome::Drop;
            }
        };
        if let Some(hang) = lost {
            record.reply_lost = true;
            // The call took effect (and its ClientToken answer is kept); only the reply is lost.
            let _ = self.finish(record, result, &request_id, host);
            if let Some(d) = hang {
                tokio::time::sleep(d).await;
            }
            return Outcome::Drop;
        }
        self.finish(record, result, &request_id, host)
    }

    fn route(
        &self,
        incoming: &Incoming<'_>,
        parsed: &Parsed,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Product, String), MockError> {
        let action = parsed.action.clone().ok_or_else(|| missing_common("Action"))?;
        let version = parsed.version.clone().ok_or_else(|| missing_common("Version"))?;
        auth::authenticate(&self.creds, &self.nonces, incoming, parsed, now)?;
        let product = Product::from_version(&version).ok_or_else(|| action_not_found(&action, &version))?;
        Ok((product, action))
    }

    /// Runs the action; gives the parameters back for the call log.
    fn execute(&self, product: Product, action: &str, parsed: Parsed) -> (HandlerResult, BTreeMap<String, String>) {
        let req = Req {
            action: action.to_owned(),
            version: parsed.version.unwrap_or_default(),
            params: parsed.params,
            now: tokio::time::Instant::now(),
        };
        let result = self.execute_req(product, action, &req);
        (result, req.params)
    }

    fn execute_req(&self, product: Product, action: &str, req: &Req) -> HandlerResult {
        let token = req.opt_str("ClientToken").map(str::to_owned);
        if let Some(t) = &token {
            if t.len() > 64 || !t.is_ascii() {
                return Err(MockError::invalid_param("ClientToken", "at most 64 ASCII characters"));
            }
        }
        let fingerprint = || {
            let mut p = req.params.clone();
            p.remove("ClientToken");
            p
        };
        let mut world = self.world();
        if let Some(t) = &token {
            if let Some((params, answer)) = world.tokens.get(&(product, action.to_owned(), t.clone())) {
                return if *params == fingerprint() {
                    Ok(answer.clone())
                } else {
                    Err(MockError::bad_request(
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request.",
                    ))
                };
            }
        }
        let state = &mut world.state;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| dispatch(state, product, req)))
            .unwrap_or_else(|_| Err(MockError::new(500, "InternalError", "The mock's handler panicked.")));
        if let (Some(t), Ok(answer)) = (token, &result) {
            world.tokens.insert((product, action.to_owned(), t), (fingerprint(), answer.clone()));
        }
        result
    }

    fn finish(&self, mut record: CallRecord, result: HandlerResult, request_id: &str, host: &str) -> Outcome {
        let (status, body) = match result {
            Ok(mut v) => {
                if let Value::Object(m) = &mut v {
                    m.insert("RequestId".into(), Value::String(request_id.to_owned()));
                } else {
                    v = json!({ "RequestId": request_id });
                }
                (200, v)
            }
            Err(e) => {
                record.code = Some(e.code.clone());
                (e.status, e.body(request_id, host))
            }
        };
        record.status = status;
        self.calls().push(record);
        Outcome::Respond { status, body: serde_json::to_vec(&body).unwrap_or_default() }
    }
}

fn missing_common(name: &str) -> MockError {
    MockError::bad_request(
        "MissingParameter",
        format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
    )
}

fn action_not_found(action: &str, version: &str) -> MockError {
    MockError::not_found(
        "InvalidAction.NotFound",
        format!("Specified api \"{action}\" of version \"{version}\" is not found, please check your url and method."),
    )
}

/// Runs `req` against the product (the generic DescribeRegions/DescribeZones first).
pub fn dispatch(state: &mut State, product: Product, req: &Req) -> HandlerResult {
    if let Some(r) = crate::catalog::handle(state, product, req) {
        return r;
    }
    let r = match product {
        Product::Vpc => crate::vpc::handle(state, req),
        Product::Ecs => crate::ecs::handle(state, req),
        Product::Slb => crate::slb::handle(state, req),
    };
    r.unwrap_or_else(|| Err(action_not_found(&req.action, &req.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_deterministic_uuids() {
        let a = Core::new(State::new(1), Credentials::default(), Faults::new(1), 10, 1);
        let b = Core::new(State::new(1), Credentials::default(), Faults::new(1), 10, 1);
        let (x, y) = (a.next_request_id(), b.next_request_id());
        assert_eq!(x, y);
        assert_eq!(x.len(), 36);
        assert_ne!(x, a.next_request_id());
    }
}
