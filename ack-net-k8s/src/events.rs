//! Kubernetes Events (`events.k8s.io/v1`) about the objects a reconciler looks after
//! (Services, Pods).
//!
//! Like kube-runtime's `Recorder`, a repeat of an Event within six minutes becomes a
//! series (its count goes up) instead of a new object; unlike it, the note is part of what
//! makes two Events the same, so a new error is never hidden behind the count of an older
//! one. Request ids in a note (`[RequestId ...]`, from cloud errors) do not count: each retry
//! of the same failing call has a new one, and would otherwise be a new Event every time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{EventType, Reporter};
use kube::Resource;
use serde_json::json;

/// How long a repeat joins the earlier Event's series.
const SERIES_WINDOW: Duration = Duration::from_secs(360);
/// The longest note the Events API takes.
const MAX_NOTE: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    regarding: (Option<String>, Option<String>, Option<String>),
    kind: &'static str,
    reason: String,
    note: String,
}

struct Sent {
    name: String,
    count: i32,
    at: tokio::time::Instant,
}

/// Publishes Events as one reporter.
pub(crate) struct Events {
    client: kube::Client,
    reporter: Reporter,
    sent: Mutex<HashMap<Key, Sent>>,
}

/// `note` without its `[RequestId ...]` parts: what makes two notes the same.
fn without_request_ids(note: &str) -> String {
    const MARK: &str = " [RequestId ";
    let mut out = String::with_capacity(note.len());
    let mut rest = note;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        match rest[at..].find(']') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn short(note: String) -> String {
    if note.len() <= MAX_NOTE {
        return note;
    }
    let mut cut = MAX_NOTE - 3;
    while !note.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &note[..cut])
}

impl Events {
    pub(crate) fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self { client, reporter, sent: Mutex::new(HashMap::new()) }
    }

    /// Records an Event about `object` (a new one, or the next of a series).
    pub(crate) async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) -> Result<(), kube::Error> {
        self.publish_about(object.object_ref(&()), type_, reason, action, note).await
    }

    /// Records an Event about the object `regarding` refers to (any kind, e.g. a dynamic one).
    pub(crate) async fn publish_about(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) -> Result<(), kube::Error> {
        let ns = regarding.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let kind = match type_ {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        };
        let note = short(note);
        let key = Key {
            regarding: (regarding.namespace.clone(), regarding.name.clone(), regarding.uid.clone()),
            kind,
            reason: reason.to_owned(),
            note: without_request_ids(&note),
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let now = tokio::time::Instant::now();
        // The lock is never held across a call.
        let repeat = {
            let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
            sent.retain(|_, s| now.duration_since(s.at) < SERIES_WINDOW);
            sent.get_mut(&key).map(|s| {
                s.count += 1;
                s.at = now;
                (s.name.clone(), s.count)
            })
        };
        if let Some((name, count)) = repeat {
            let patch = json!({"series": {"count": count, "lastObservedTime": MicroTime(Timestamp::now())}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            return Ok(());
        }
        let stamp = Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                namespace: Some(ns.clone()),
                name: Some(format!("{}.{:x}", regarding.name.as_deref().unwrap_or("object"), stamp.as_nanosecond())),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(stamp)),
            action: Some(action.to_owned()),
            reason: Some(reason.to_owned()),
            note: Some(note),
            type_: Some(kind.to_owned()),
            regarding: Some(regarding),
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter.instance.clone().unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            series: None::<EventSeries>,
            ..Event::default()
        };
        let created = api.create(&PostParams::default(), &event).await?;
        let name = created.metadata.name.or(event.metadata.name).unwrap_or_default();
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).insert(key, Sent { name, count: 1, at: now });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::without_request_ids;

    #[test]
    fn request_ids_do_not_make_notes_differ() {
        let a = "CreateLoadBalancer: ServiceUnavailable (503): busy [RequestId 1A-2B]";
        let b = "CreateLoadBalancer: ServiceUnavailable (503): busy [RequestId 3C-4D]";
        assert_eq!(without_request_ids(a), without_request_ids(b));
        assert_eq!(without_request_ids(a), "CreateLoadBalancer: ServiceUnavailable (503): busy");
        assert_ne!(
            without_request_ids(a),
            without_request_ids("CreateLoadBalancer: Forbidden (403): no [RequestId 1A-2B]")
        );
        assert_eq!(without_request_ids("x [RequestId 1] y [RequestId 2] z"), "x y z");
        assert_eq!(without_request_ids("cut [RequestId 1"), "cut");
        assert_eq!(without_request_ids("no id"), "no id");
    }
}
