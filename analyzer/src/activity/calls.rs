//! The window's events grouped by call, so that each call is replayed once however often it
//! was made.
//!
//! Two events are the same call when everything the replay reads is equal: the account whose
//! log holds them, the region, the event source and name, the principal, the request values
//! kept and the resources named. Only `eventTime`, `eventID` and `errorCode` may differ, and
//! no request context holds those (a failed call is counted apart, never replayed apart). A
//! pipeline's nightly launches with the same settings, a partner's daily `AssumeRole` of the
//! same role from the same session: each is one call with a count, its first and last time and
//! its earliest events (the examples a report shows).
//!
//! The grouping is built once per analysis and every placement round replays the calls, not
//! the events. Nothing about the result depends on the grouping (a [`super::Summary`] adds up
//! the same counts, times and examples either way) or on the thread count.
//!
//! Measured A/B (`cargo xtask bench-replay`, 1,000 accounts, 1M events, 2 cores, medians of
//! 3, the binaries of before and after in turn, 7 December 2026): with the default workload
//! (100,000 distinct generated calls, each made ten times) 3.0 to 3.2 s of replay per million
//! events before, 0.92 to 0.99 s after; with every event a distinct call
//! (`--distinct 1000000`, 837,375 calls) 2.0 to 2.7 s before, 3.0 to 3.1 s after: the
//! grouping (about 0.35 s) is then pure cost. How often real calls repeat decides which side
//! an organization is on; see `documentation/ACTIVITY.md`.

#![expect(
    clippy::disallowed_types,
    reason = "`Table::at` is a hash table looked up, never iterated: the order of nothing depends on it"
)]

use std::collections::hash_map::{Entry, HashMap};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher as _, Hash, Hasher};

use headroom_schemas::AccountId;
use headroom_schemas::activity::{Event, Principal};
use rayon::prelude::*;

use super::EXAMPLES;

/// One call: the events of the window that differ only in time, ID and error code.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// How many events.
    pub count: u64,
    /// Of those, how many failed (carry an `errorCode`).
    pub failed: u64,
    /// The latest `eventTime`.
    pub last_seen: &'a str,
    /// The earliest few events, by time then ID (at least one, at most [`EXAMPLES`]).
    pub earliest: Vec<&'a Event>,
    /// Where its first event is in the window: calls are replayed in the order of the
    /// events, so that each worker reads its own stretch of them.
    first: usize,
}

impl<'a> Call<'a> {
    fn new(event: &'a Event, first: usize) -> Self {
        Self {
            first,
            count: 1,
            failed: u64::from(event.error_code.is_some()),
            last_seen: &event.time,
            earliest: vec![event],
        }
    }

    /// Counts one more event of the call.
    fn add(&mut self, event: &'a Event) {
        self.count += 1;
        self.failed += u64::from(event.error_code.is_some());
        self.last_seen = self.last_seen.max(&event.time);
        let at = self.earliest.partition_point(|e| order(e) <= order(event));
        if at < EXAMPLES {
            self.earliest.insert(at, event);
            self.earliest.truncate(EXAMPLES);
        }
    }

    /// Its earliest event: what the request context is built from.
    pub fn event(&self) -> &'a Event {
        self.earliest[0]
    }

    /// The earliest `eventTime`.
    pub fn first_seen(&self) -> &'a str {
        &self.event().time
    }
}

/// The order of examples: by time, then ID.
fn order(event: &Event) -> (&str, &str) {
    (&event.time, &event.id)
}

/// The window's calls.
#[derive(Debug, Clone, Default)]
pub struct Calls<'a> {
    /// Every call, in the order of their first events.
    pub calls: Vec<Call<'a>>,
    /// The event source and name of every call (`ec2.amazonaws.com`, `RunInstances`).
    pub sources: BTreeSet<(&'a str, &'a str)>,
    /// Events grouped.
    pub events: u64,
}

/// What makes two events one call (see the module documentation), as a key, with its hash
/// computed once: a table that grows hashes the hash.
#[derive(Clone, Copy)]
struct Key<'a> {
    hash: u64,
    event: &'a Event,
}

impl<'a> Key<'a> {
    /// Hashes the fields that tell calls apart in practice (who, what, on which resource and
    /// with which values); equality compares them all.
    fn new(event: &'a Event) -> Self {
        let mut state = foldhash::fast::FixedState::default().build_hasher();
        (
            &event.account,
            &event.name,
            &event.principal.arn,
            &event.resources,
        )
            .hash(&mut state);
        for values in event.parameters.values() {
            values.hash(&mut state);
        }
        Self {
            hash: state.finish(),
            event,
        }
    }

    /// The fields the replay reads. Naming every field: one added to `Event` must be put on
    /// one side or the other here.
    #[expect(clippy::type_complexity, reason = "a tuple of the event's fields")]
    fn fields(
        &self,
    ) -> (
        &AccountId,
        &str,
        &str,
        &str,
        &Principal,
        &BTreeMap<String, Vec<String>>,
        &[String],
    ) {
        let Event {
            account,
            time: _,
            id: _,
            region,
            source,
            name,
            principal,
            error_code: _,
            parameters,
            resources,
        } = self.event;
        (
            account, region, source, name, principal, parameters, resources,
        )
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.fields() == other.fields()
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The calls of some events, by key (never iterated: the order of `calls` is the order of
/// first meeting, and nothing depends on it).
#[derive(Default)]
struct Table<'a> {
    at: HashMap<Key<'a>, usize, foldhash::fast::FixedState>,
    calls: Vec<Call<'a>>,
    sources: BTreeSet<(&'a str, &'a str)>,
}

impl<'a> Table<'a> {
    /// Adds the event of `key`, the `position`th of the window.
    fn add(&mut self, key: Key<'a>, position: usize) {
        match self.at.entry(key) {
            Entry::Occupied(at) => self.calls[*at.get()].add(key.event),
            Entry::Vacant(at) => {
                at.insert(self.calls.len());
                self.calls.push(Call::new(key.event, position));
                let source = (key.event.source.as_str(), key.event.name.as_str());
                if !self.sources.contains(&source) {
                    self.sources.insert(source);
                }
            }
        }
    }
}

/// Groups `events` by call. Each event's key is hashed once, in parallel; then each worker
/// groups the events of its share of the hashes, so no two workers meet the same call and no
/// table is merged into another.
pub fn group(events: &[Event]) -> Calls<'_> {
    let keys: Vec<Key<'_>> = events
        .par_iter()
        .with_min_len(1 << 12)
        .map(Key::new)
        .collect();
    let parts = rayon::current_num_threads().max(1) as u64;
    let tables: Vec<Table<'_>> = (0..parts)
        .into_par_iter()
        .map(|part| {
            let mut table = Table::default();
            for (position, key) in keys.iter().enumerate() {
                if key.hash % parts == part {
                    table.add(*key, position);
                }
            }
            table
        })
        .collect();
    let mut out = Calls {
        events: events.len() as u64,
        ..Calls::default()
    };
    for table in tables {
        out.calls.extend(table.calls);
        out.sources.extend(table.sources);
    }
    out.calls.par_sort_unstable_by_key(|call| call.first);
    out
}

#[cfg(test)]
mod tests {
    use headroom_schemas::activity::Event;

    use super::group;

    fn event(id: &str, time: &str, arn: &str, error: Option<&str>) -> Event {
        serde_json::from_value(serde_json::json!({
            "account": "111111111111",
            "time": time,
            "id": id,
            "region": "us-east-1",
            "source": "iam.amazonaws.com",
            "name": "CreateUser",
            "principal": {"type": "AssumedRole", "arn": arn, "account": "111111111111"},
            "error_code": error,
            "parameters": {"userName": ["alice"]},
        }))
        .expect("an event")
    }

    #[test]
    fn events_differing_only_in_time_id_and_error_are_one_call() {
        let a = "arn:aws:sts::111111111111:assumed-role/ci/one";
        let b = "arn:aws:sts::111111111111:assumed-role/ci/two";
        let mut events = vec![
            event("e5", "2026-01-05T00:00:00Z", a, None),
            event("e1", "2026-01-01T00:00:00Z", a, Some("AccessDenied")),
            event("e3", "2026-01-03T00:00:00Z", a, None),
            event("e2", "2026-01-02T00:00:00Z", b, None),
            event("e4", "2026-01-04T00:00:00Z", a, None),
            event("e0", "2026-01-04T00:00:00Z", a, None),
        ];
        // Many copies, so that the grouping runs on every worker.
        for i in 0..40_000 {
            events.push(event(&format!("x{i:05}"), "2026-01-09T00:00:00Z", a, None));
        }
        let mut calls = group(&events).calls;
        calls.sort_by_key(|c| c.count);
        assert_eq!(calls.len(), 2, "one call per session ARN");
        let (other, call) = (&calls[0], &calls[1]);
        assert_eq!((other.count, other.event().id.as_str()), (1, "e2"));
        assert_eq!(call.count, 40_005);
        assert_eq!(call.failed, 1);
        assert_eq!(call.first_seen(), "2026-01-01T00:00:00Z");
        assert_eq!(call.last_seen, "2026-01-09T00:00:00Z");
        let earliest: Vec<&str> = call.earliest.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(earliest, ["e1", "e3", "e0"], "by time, then ID");
        assert_eq!(call.event().id, "e1");
    }
}
