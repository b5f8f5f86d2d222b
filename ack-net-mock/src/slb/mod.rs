//! SLB 2014-05-15: load balancers, listeners, VServer and master/slave groups, rules,
//! certificates, tags, health status.
//!
//! CONTRACT used by the server part (do not change the signatures): `SlbState::dump`.

use crate::error::HandlerResult;
use crate::handler::Req;
use crate::state::State;

/// The SLB product's state.
#[derive(Debug, Default)]
pub struct SlbState {}

impl SlbState {
    /// The state as JSON, for the state dump.
    pub fn dump(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

/// Handles an SLB action; `None` when the action is not an SLB action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    let _ = (state, req);
    None
}
