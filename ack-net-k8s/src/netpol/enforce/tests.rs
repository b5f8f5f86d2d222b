//! `render`: what a node loads, and what it refuses, without an API server.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;

const NODE: &str = "node-a";

fn reconciler() -> NetworkPolicyReconciler {
    // `render` makes no call; the client (which needs a runtime to be made) is never used.
    let client = kube::Client::new(
        tower_test::mock::pair::<http::Request<kube::client::Body>, http::Response<kube::client::Body>>().0,
        "default",
    );
    NetworkPolicyReconciler::new(client, NODE, |pod| Some(format!("if-{}", pod.metadata.name.as_deref()?)))
}

fn pod(name: &str, app: &str, ip: &str, node: &str) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"podIPs": [{"ip": ip}]}
        }))
        .expect("a pod"),
    )
}

fn calico(value: Value) -> Arc<DynamicObject> {
    Arc::new(serde_json::from_value(value).expect("a dynamic object"))
}

/// Calico: nothing reaches `db` from `batch`.
fn deny_batch(extra: Value) -> Arc<DynamicObject> {
    let mut rule = json!({"action": "Deny", "source": {"selector": "app == 'batch'"}});
    if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
        rule.extend(extra.clone());
    }
    calico(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
        "metadata": {"namespace": "shop", "name": "db-no-batch", "uid": "u-1"},
        "spec": {"selector": "app == 'db'", "ingress": [rule, {"action": "Pass"}]}
    }))
}

fn cluster(calico: Vec<Arc<DynamicObject>>) -> ClusterObjects {
    ClusterObjects {
        pods: vec![
            pod("web", "web", "10.0.0.1", NODE),
            pod("db", "db", "10.0.0.2", NODE),
            pod("batch", "batch", "10.0.1.3", "node-b"),
        ],
        calico,
        ..ClusterObjects::default()
    }
}

#[tokio::test]
async fn only_this_nodes_selected_pods_get_chains() {
    let mut objects = cluster(vec![deny_batch(json!({}))]);
    objects.pods.push(pod("db-b", "db", "10.0.1.4", "node-b"));
    let rules = reconciler().render(&objects).expect("rendered");
    assert!(rules.refused.is_empty());
    let text = rules.table.to_text();
    assert!(text.contains("\"if-db\" : jump"), "{text}");
    assert!(!text.contains("if-db-b"), "another node's pod is filtered here: {text}");
    assert!(!text.contains("if-web"), "a pod no policy selects has a chain: {text}");
    // batch, on another node, stays a peer: its address is in a set.
    assert!(text.contains("10.0.1.3/32"), "{text}");
}

#[tokio::test]
async fn an_unrepresentable_policy_is_refused_and_adds_nothing() {
    let r = reconciler();
    let without = r.render(&cluster(vec![])).expect("rendered");
    let http = deny_batch(json!({"http": {"methods": ["GET"]}}));
    let rules = r.render(&cluster(vec![http])).expect("rendered");
    assert_eq!(rules.refused.len(), 1, "{:?}", rules.refused);
    let refusal = &rules.refused[0];
    assert!(!refusal.kept_previous);
    assert_eq!(refusal.object.kind.as_deref(), Some("NetworkPolicy"));
    assert_eq!(refusal.object.name.as_deref(), Some("db-no-batch"));
    assert!(refusal.error.contains("http"), "{}", refusal.error);
    assert_eq!(rules.table, without.table, "a refused policy changed the rules");
}

#[tokio::test]
async fn a_refused_update_keeps_the_version_accepted_before() {
    let r = reconciler();
    let good = r.render(&cluster(vec![deny_batch(json!({}))])).expect("rendered");
    let rules = r.render(&cluster(vec![deny_batch(json!({"http": {"paths": [{"exact": "/"}]}}))])).expect("rendered");
    assert_eq!(rules.refused.len(), 1);
    assert!(rules.refused[0].kept_previous);
    assert_eq!(rules.table, good.table, "the deny must stay in force");
    assert!(rules.refused[0].to_string().contains("previously accepted version stays"));

    // Deleted, then re-created invalid: nothing is remembered.
    let empty = r.render(&cluster(vec![])).expect("rendered");
    let again = r.render(&cluster(vec![deny_batch(json!({"http": {"methods": ["GET"]}}))])).expect("rendered");
    assert!(!again.refused[0].kept_previous);
    assert_eq!(again.table, empty.table);
    assert_ne!(good.table, empty.table, "the deny policy must change the rules");
}

#[tokio::test]
async fn strict_parsing_refuses_unknown_fields() {
    let typo = calico(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "typo"},
        "spec": {"selector": "all()", "ingres": []}
    }));
    let lenient = reconciler().render(&cluster(vec![typo.clone()])).expect("rendered");
    assert!(lenient.refused.is_empty(), "{:?}", lenient.refused);
    let strict = reconciler().with_parsing(Parsing::Strict).render(&cluster(vec![typo])).expect("rendered");
    assert_eq!(strict.refused.len(), 1);
    assert!(strict.refused[0].error.contains("spec.ingres"), "{}", strict.refused[0].error);
}

#[tokio::test]
async fn an_inconsistent_cluster_is_an_error_not_rules() {
    let mut objects = cluster(vec![]);
    objects.pods.push(pod("twin", "web", "10.0.0.1", NODE));
    assert!(matches!(reconciler().render(&objects), Err(EnforceError::Cluster(_))));
}

#[tokio::test]
async fn the_rules_are_the_same_text_each_time() {
    let r = reconciler();
    let objects = cluster(vec![deny_batch(json!({}))]);
    let first = r.render(&objects).expect("rendered");
    let mut shuffled = objects.clone();
    shuffled.pods.reverse();
    assert_eq!(r.render(&shuffled).expect("rendered").table, first.table);
}

#[test]
fn nft_command_says_what_to_install() {
    let error = NftCommand::with_program("/nonexistent/nft").load("").expect_err("no such program");
    assert!(error.to_string().contains("apt-get install nftables"), "{error}");
}

/// A kernel as far as [`load_table`] can tell: it refuses transactions of more than `limit`
/// lines, knows which tables have a base chain, and records what it accepted.
struct Kernel {
    limit: usize,
    in_force: std::sync::Mutex<HashSet<String>>,
    loads: std::sync::Mutex<Vec<String>>,
}

impl Kernel {
    fn new(limit: usize, in_force: &[&str]) -> Self {
        Self {
            limit,
            in_force: std::sync::Mutex::new(in_force.iter().map(|t| (*t).to_owned()).collect()),
            loads: std::sync::Mutex::default(),
        }
    }
}

impl RuleSink for Kernel {
    fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
        if ruleset.lines().count() > self.limit {
            return Err(EnforceError::Load { reason: "Message too long".into() });
        }
        let mut in_force = self.in_force.lock().expect("not poisoned");
        for line in ruleset.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words[..] {
                ["add", "chain", "inet", table, "forward", ..] => drop(in_force.insert(table.to_owned())),
                ["delete", "table", "inet", table] => drop(in_force.remove(table)),
                _ => {}
            }
        }
        self.loads.lock().expect("not poisoned").push(ruleset.to_owned());
        Ok(())
    }

    fn in_force(&self, table: &str) -> Result<bool, EnforceError> {
        Ok(self.in_force.lock().expect("not poisoned").contains(table))
    }
}

fn big_table() -> NftTable {
    let mut objects = cluster(vec![deny_batch(json!({}))]);
    for i in 0..60 {
        objects.pods.push(pod(&format!("db{i}"), "db", &format!("10.0.2.{i}"), NODE));
    }
    reconciler().render(&objects).expect("rendered").table
}

#[tokio::test]
async fn a_table_larger_than_a_transaction_is_built_in_steps_then_switched_in_one() {
    let table = big_table();
    let kernel = Kernel::new(100, &[]);
    let loaded = load_table(&kernel, &table).expect("loaded");
    assert_eq!(loaded, table, "nothing was in force: the table keeps its name");
    let loads = kernel.loads.lock().expect("not poisoned").clone();
    assert!(loads.len() > 3, "{} transactions", loads.len());
    let (switch, build) = loads.split_last().expect("loads");
    assert!(build.iter().all(|t| !t.contains("hook")), "a build step made the table judge packets");
    assert!(build[0].starts_with("table inet ack_net_policy; delete table inet ack_net_policy;"), "{}", build[0]);
    // The build is the whole table: every line of its statements, in order.
    let statements: Vec<String> = table.build().into_iter().map(|s| s.text).collect();
    assert_eq!(build.concat().lines().collect::<Vec<_>>(), statements);
    assert!(switch.starts_with("add chain inet ack_net_policy forward"), "{switch}");
    assert!(switch.ends_with("delete table inet ack_net_policy_twin\n"), "{switch}");
    assert_eq!(*kernel.in_force.lock().expect("not poisoned"), HashSet::from(["ack_net_policy".to_owned()]));

    // The next whole load goes to the twin, and retires the table in force.
    let again = load_table(&kernel, &table).expect("loaded");
    assert_eq!(again.name(), "ack_net_policy_twin");
    assert_eq!(again, table.renamed("ack_net_policy_twin"));
    assert_eq!(*kernel.in_force.lock().expect("not poisoned"), HashSet::from(["ack_net_policy_twin".to_owned()]));
}

#[tokio::test]
async fn a_half_built_table_is_rebuilt_and_the_one_in_force_kept_until_the_switch() {
    // A crash left the twin half built (no base chain): it is the one rebuilt.
    let kernel = Kernel::new(100, &["ack_net_policy"]);
    let loaded = load_table(&kernel, &big_table()).expect("loaded");
    assert_eq!(loaded.name(), "ack_net_policy_twin");
    let loads = kernel.loads.lock().expect("not poisoned").clone();
    assert!(loads[0].starts_with("table inet ack_net_policy_twin; delete table inet ack_net_policy_twin;"));
    assert!(loads[..loads.len() - 1].iter().all(|t| !t.contains("table inet ack_net_policy\n")));
}

#[tokio::test]
async fn a_statement_no_transaction_takes_is_an_error_and_nothing_switches() {
    let kernel = Kernel::new(0, &["ack_net_policy"]);
    let error = load_table(&kernel, &big_table()).expect_err("nothing fits");
    assert!(error.to_string().contains("Message too long"), "{error}");
    assert_eq!(*kernel.in_force.lock().expect("not poisoned"), HashSet::from(["ack_net_policy".to_owned()]));
}
