//! Loading a whole table in as many transactions as the kernel takes, with no moment in which
//! a packet meets no rules, half-built rules, or a mix of two rulesets.
//!
//! A node's table and its twin (`<table>_twin`) take turns: the whole table is built under the
//! name that is not in force, in as many transactions as needed; none of them changes what a
//! packet meets, since only the `forward` base chain sends packets into a table and the build
//! does not make one. Then one small transaction adds the new table's base chain and deletes the
//! old table. If the agent stops between two build transactions, the old table stays in force
//! and the half-built one is inert (it has no base chain); the next whole load finds which of
//! the two is in force ([`RuleSink::in_force`]) and starts by deleting the other.

use super::{EnforceError, RuleSink};
use crate::netpol::calico::NftTable;

/// The most the first build transaction carries, in [`Statement::weight`] units (rules); when
/// the kernel refuses a transaction (unprivileged `nft` cannot raise its netlink socket's buffer
/// above the default 212,992 bytes, about 400 rules), it is split in halves until it fits.
///
/// [`Statement::weight`]: crate::netpol::calico::Statement::weight
const FIRST_TRANSACTION: usize = 512;

/// The name `table` alternates with when it is loaded whole: `<table>_twin`.
///
/// ```
/// assert_eq!(ack_net_k8s::netpol::enforce::twin("ack_net_policy"), "ack_net_policy_twin");
/// ```
pub fn twin(table: &str) -> String {
    format!("{table}_twin")
}

/// Loads `table` whole: builds it under whichever of its name and its [`twin`] is not in force,
/// in transactions the kernel accepts, then puts it in force and deletes the other in one
/// transaction. Returns the table as it is loaded (under the name it got), the base of later
/// updates ([`NftTable::update_from`]).
///
/// No build transaction changes what a packet meets: only the `forward` base chain sends packets
/// into a table, and the build does not make one. If the agent stops between two build
/// transactions, the old table stays in force and the half-built one is inert; the next whole
/// load finds which of the two is in force ([`RuleSink::in_force`]) and starts by deleting the
/// other.
///
/// ```no_run
/// use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing};
/// use ack_net_k8s::netpol::enforce::{load_table, NftCommand};
/// use ack_net_k8s::netpol::PolicyEngine;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
///     "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
///     "status": {"podIPs": [{"ip": "10.0.0.2"}]}
/// }))?;
/// let calico = CalicoResource::from_yaml(
///     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
///      spec: {selector: app == 'db', ingress: [{action: Deny, source: {nets: [203.0.113.0/24]}}, {action: Allow}]}",
///     Parsing::Strict,
/// )?;
/// let rules = CalicoEngine::new(PolicyEngine::new([], [&pod], [])?, [], &calico)?.compile();
/// let table = rules.nft_table("ack_net_policy", |_ns, name| Some(format!("veth-{name}")));
/// let loaded = load_table(&NftCommand::default(), &table)?;
/// println!("in force as inet {}", loaded.name());
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The sink's error when the tables cannot be read, a single statement is refused, or the
/// switch is; the table in force before stays in force.
pub fn load_table(sink: &dyn RuleSink, table: &NftTable) -> Result<NftTable, EnforceError> {
    let (name, other) = (table.name().to_owned(), twin(table.name()));
    // Build the name that is not in force (the first one when neither or both are: a table in
    // force is always complete, so deleting one of two is safe).
    let (target, retired) =
        if sink.in_force(&name)? && !sink.in_force(&other)? { (other, name) } else { (name, other) };
    let built = table.renamed(&target);
    let statements = built.build();
    let (mut limit, mut next) = (FIRST_TRANSACTION, 0);
    while next < statements.len() {
        let (mut end, mut weight) = (next, 0);
        while end < statements.len() && (end == next || weight + statements[end].weight <= limit) {
            weight += statements[end].weight;
            end += 1;
        }
        let text: String = statements[next..end].iter().map(|s| format!("{}\n", s.text)).collect();
        match sink.load(&text) {
            Ok(()) => next = end,
            Err(e) if end - next > 1 => {
                tracing::debug!(table = %target, statements = end - next, error = %e, "a build transaction was refused; halving it");
                limit = (weight / 2).max(1);
            }
            Err(e) => return Err(e),
        }
    }
    sink.load(&built.switch_text(&retired))?;
    Ok(built)
}
