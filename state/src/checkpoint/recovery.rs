//! Recovery, as pure functions of the logs: [`decide`] looks only at which batch ids each log
//! holds and says what the query does next; [`resolve`] adds the logged contents (offsets,
//! watermark, pinned settings). No I/O here, so every combination can be tested without disk;
//! [`Checkpoint::recover`](super::Checkpoint::recover) is the shell that reads the files.
//!
//! The write protocol (`docs/checkpoint-format.md`) keeps two invariants that decide checks:
//! each log's ids are contiguous, and the commit log is the offset log's range or a suffix of it
//! ending at the latest batch or one before it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::entry::{CommitEntry, OffsetEntry, PinnedConf};
use super::error::RecoveryError;

/// What the logs' batch ids say the query does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing was logged: start at batch 0.
    Fresh,
    /// `offsets/<batch>` exists and `commits/<batch>` does not: run the batch again with exactly
    /// its logged offsets.
    Rerun {
        /// The batch to re-run.
        batch: u64,
    },
    /// Both logs end at `next - 1`: construct batch `next` (at least 1).
    Resume {
        /// The batch to construct.
        next: u64,
    },
}

impl Decision {
    /// The batch the query runs next.
    pub fn batch(&self) -> u64 {
        match *self {
            Decision::Fresh => 0,
            Decision::Rerun { batch } => batch,
            Decision::Resume { next } => next,
        }
    }

    /// The offset-log and commit-log batches whose contents [`resolve`] needs.
    pub fn needs(&self) -> (Vec<u64>, Option<u64>) {
        match *self {
            Decision::Fresh => (vec![], None),
            Decision::Rerun { batch: 0 } => (vec![0], None),
            Decision::Rerun { batch } => (vec![batch - 1, batch], None),
            Decision::Resume { next } => {
                let last = next.saturating_sub(1);
                (vec![last], Some(last))
            }
        }
    }
}

fn check_contiguous(log: &'static str, ids: &BTreeSet<u64>) -> Result<(), RecoveryError> {
    let mut prev: Option<u64> = None;
    for &id in ids {
        if let Some(p) = prev.filter(|&p| p + 1 != id) {
            return Err(RecoveryError::Gap { log, missing: p + 1, below: p, above: id });
        }
        prev = Some(id);
    }
    Ok(())
}

/// Decides from the batch ids present in `offsets/` and `commits/`. Every pair of sets the
/// write protocol can leave (at any crash point, with any purging) is accepted; every other pair
/// is refused, naming what is wrong.
pub fn decide(offsets: &BTreeSet<u64>, commits: &BTreeSet<u64>) -> Result<Decision, RecoveryError> {
    if let Some(&batch) = commits.iter().find(|c| !offsets.contains(c)) {
        return Err(RecoveryError::CommitWithoutOffsets { batch });
    }
    check_contiguous("offsets", offsets)?;
    check_contiguous("commits", commits)?;
    let Some(&latest) = offsets.last() else { return Ok(Decision::Fresh) };
    let first = *offsets.first().expect("non-empty");
    match commits.last() {
        Some(&c) if c == latest => Ok(Decision::Resume { next: latest + 1 }),
        Some(&c) if c + 1 == latest => Ok(Decision::Rerun { batch: latest }),
        Some(&c) => Err(RecoveryError::UncommittedBatches { first_uncommitted: c + 1, latest }),
        None if first < latest => {
            Err(RecoveryError::UncommittedBatches { first_uncommitted: first, latest })
        }
        // Purging always keeps the newest commit, so an empty commit log means nothing was
        // committed; a lone later batch lacks the offsets it would start from.
        None if latest > 0 => Err(RecoveryError::MissingStartOffsets { batch: latest }),
        None => Ok(Decision::Rerun { batch: 0 }),
    }
}

/// Where the next batch starts and ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextBatch {
    /// Batch 0 of a new checkpoint; the sources choose its end offsets.
    Fresh,
    /// Re-run `batch` reading exactly from `start` to `end`, both as logged.
    Rerun {
        /// The batch id.
        batch: u64,
        /// The previous batch's offsets; `None` for batch 0 (every source from its beginning).
        start: Option<OffsetEntry>,
        /// The batch's own logged offsets.
        end: OffsetEntry,
    },
    /// Construct `batch` starting from `start`, the last committed batch's offsets.
    Next {
        /// The batch id.
        batch: u64,
        /// Where its reading starts.
        start: OffsetEntry,
    },
}

/// A pinned setting whose configured value differs: the pinned value is kept (Spark logs a
/// warning in this case, `setSessionConf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedSettingKept {
    /// The setting's key, e.g. [`NUM_PARTITIONS_KEY`](super::NUM_PARTITIONS_KEY).
    pub key: String,
    /// The value in the checkpoint, which stays in force.
    pub pinned: String,
    /// The value the restart was configured with, which is ignored.
    pub configured: String,
}

impl fmt::Display for PinnedSettingKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} in the checkpoint; the configured value {} is ignored because it is \
             pinned for the checkpoint's life (state is laid out by it)",
            self.key, self.pinned, self.configured
        )
    }
}

/// The outcome of recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// What runs next.
    pub next: NextBatch,
    /// The settings in force: the checkpoint's pinned ones, plus configured keys it lacks.
    pub conf: PinnedConf,
    /// The event-time watermark the next batch starts from.
    pub watermark_ms: i64,
    /// Configured settings overridden by the checkpoint, for the engine to report.
    pub notes: Vec<PinnedSettingKept>,
}

impl Recovery {
    /// The id of the batch that runs next.
    pub fn batch(&self) -> u64 {
        match &self.next {
            NextBatch::Fresh => 0,
            NextBatch::Rerun { batch, .. } | NextBatch::Next { batch, .. } => *batch,
        }
    }
}

/// Completes `decision` with the logged contents it [`needs`](Decision::needs): `offsets` and
/// `commits` map batch ids to entries (extra entries are ignored). `configured` is what this
/// start was configured with; `num_sources` how many sources the query has now.
pub fn resolve(
    decision: Decision,
    offsets: &BTreeMap<u64, OffsetEntry>,
    commits: &BTreeMap<u64, CommitEntry>,
    configured: &PinnedConf,
    num_sources: usize,
) -> Result<Recovery, RecoveryError> {
    let offset = |batch: u64| {
        offsets.get(&batch).ok_or(RecoveryError::EntryNotSupplied { log: "offsets", batch })
    };
    let (next, logged, logged_batch, watermark_ms) = match decision {
        Decision::Fresh => {
            return Ok(Recovery {
                next: NextBatch::Fresh,
                conf: configured.clone(),
                watermark_ms: 0,
                notes: Vec::new(),
            });
        }
        Decision::Rerun { batch } => {
            let end = offset(batch)?.clone();
            let start = if batch == 0 { None } else { Some(offset(batch - 1)?.clone()) };
            let (conf, wm) = (end.conf.clone(), end.batch_watermark_ms);
            (NextBatch::Rerun { batch, start, end }, conf, batch, wm)
        }
        Decision::Resume { next } => {
            let last = next.saturating_sub(1);
            let start = offset(last)?.clone();
            let commit = commits
                .get(&last)
                .ok_or(RecoveryError::EntryNotSupplied { log: "commits", batch: last })?;
            let wm = start.batch_watermark_ms.max(commit.next_batch_watermark_ms);
            let conf = start.conf.clone();
            (NextBatch::Next { batch: next, start }, conf, last, wm)
        }
    };
    let logged_sources = offset(logged_batch)?.offsets.len();
    if logged_sources != num_sources {
        return Err(RecoveryError::SourceCountChanged {
            batch: logged_batch,
            logged: logged_sources,
            configured: num_sources,
        });
    }
    let mut notes = Vec::new();
    let mut conf = logged;
    for (key, value) in configured.settings() {
        match conf.get(key) {
            Some(pinned) if pinned != value => notes.push(PinnedSettingKept {
                key: key.clone(),
                pinned: pinned.to_owned(),
                configured: value.clone(),
            }),
            Some(_) => {}
            None => conf = conf.with(key.clone(), value.clone()),
        }
    }
    Ok(Recovery { next, conf, watermark_ms, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::entry::{NUM_PARTITIONS_KEY, SourceOffset};

    /// Batch ids 0..MAX_BATCHES, so every subset of them is a bit pattern.
    const MAX_BATCHES: u64 = 5;

    fn set(bits: u32) -> BTreeSet<u64> {
        (0..MAX_BATCHES).filter(|b| bits & (1 << b) != 0).collect()
    }

    type Logs = (BTreeSet<u64>, BTreeSet<u64>);

    /// Runs the engine's write protocol from a crash image whose true state is `at`, up to batch
    /// `MAX_BATCHES - 1`, purging to keep `keep` committed batches (`None`: never), and records
    /// every image a crash after each file operation leaves, with the decision it must produce.
    fn continue_run(logs: &Logs, at: Decision, keep: Option<u64>, out: &mut Vec<(Logs, Decision)>) {
        let (mut offsets, mut commits) = logs.clone();
        let (mut batch, mut logged) = match at {
            Decision::Fresh => (0, false),
            Decision::Rerun { batch } => (batch, true),
            Decision::Resume { next } => (next, false),
        };
        while batch < MAX_BATCHES {
            if !logged {
                offsets.insert(batch);
                out.push(((offsets.clone(), commits.clone()), Decision::Rerun { batch }));
            }
            commits.insert(batch);
            let done = Decision::Resume { next: batch + 1 };
            out.push(((offsets.clone(), commits.clone()), done));
            if let Some(k) = keep {
                let threshold = (batch + 1).saturating_sub(k);
                // Commits first, each log oldest first: what Checkpoint::purge does.
                while let Some(&old) = commits.first().filter(|&&c| c < threshold) {
                    commits.remove(&old);
                    out.push(((offsets.clone(), commits.clone()), done));
                }
                while let Some(&old) = offsets.first().filter(|&&o| o < threshold) {
                    offsets.remove(&old);
                    out.push(((offsets.clone(), commits.clone()), done));
                }
            }
            batch += 1;
            logged = false;
        }
    }

    /// Every (offsets, commits) pair some sequence of crashes and restarts can leave, with the
    /// decision it must produce; restarts may change the retention.
    fn reachable() -> BTreeMap<Logs, Decision> {
        let keeps = [None, Some(1), Some(2), Some(3), Some(4), Some(5)];
        let empty: Logs = Default::default();
        let mut out = BTreeMap::from([(empty.clone(), Decision::Fresh)]);
        let mut queue = vec![(empty, Decision::Fresh)];
        while let Some((logs, at)) = queue.pop() {
            for keep in keeps {
                let mut images = Vec::new();
                continue_run(&logs, at, keep, &mut images);
                for (image, want) in images {
                    match out.insert(image.clone(), want) {
                        None => queue.push((image, want)),
                        Some(prev) => assert_eq!(prev, want, "{image:?} is ambiguous"),
                    }
                }
            }
        }
        out
    }

    #[test]
    fn decide_accepts_exactly_the_reachable_logs() {
        let reachable = reachable();
        assert!(reachable.len() > 40, "the simulation covers too little: {}", reachable.len());
        let mut accepted = 0;
        for o in 0..(1u32 << MAX_BATCHES) {
            for c in 0..(1u32 << MAX_BATCHES) {
                let (offsets, commits) = (set(o), set(c));
                let got = decide(&offsets, &commits);
                match reachable.get(&(offsets.clone(), commits.clone())) {
                    Some(&want) => {
                        assert_eq!(got, Ok(want), "offsets {offsets:?} commits {commits:?}");
                        accepted += 1;
                    }
                    None => assert!(
                        got.is_err(),
                        "unreachable offsets {offsets:?} commits {commits:?} accepted as {got:?}"
                    ),
                }
            }
        }
        assert_eq!(accepted, reachable.len());
    }

    #[test]
    fn refusals_name_the_problem() {
        let s = |v: &[u64]| v.iter().copied().collect::<BTreeSet<u64>>();
        assert_eq!(
            decide(&s(&[0, 1]), &s(&[0, 2])),
            Err(RecoveryError::CommitWithoutOffsets { batch: 2 })
        );
        assert_eq!(
            decide(&s(&[0, 2, 3]), &s(&[0])),
            Err(RecoveryError::Gap { log: "offsets", missing: 1, below: 0, above: 2 })
        );
        assert_eq!(
            decide(&s(&[0, 1, 2, 3]), &s(&[0, 2, 3])),
            Err(RecoveryError::Gap { log: "commits", missing: 1, below: 0, above: 2 })
        );
        assert_eq!(
            decide(&s(&[0, 1, 2, 3]), &s(&[0, 1])),
            Err(RecoveryError::UncommittedBatches { first_uncommitted: 2, latest: 3 })
        );
        assert_eq!(decide(&s(&[3]), &s(&[])), Err(RecoveryError::MissingStartOffsets { batch: 3 }));
        let msg = decide(&s(&[0, 1]), &s(&[0, 2])).unwrap_err().to_string();
        assert_eq!(msg, "commits/2 exists but offsets/2 does not");
        let msg = RecoveryError::MissingStartOffsets { batch: 3 }.to_string();
        assert!(msg.contains("offsets/2"), "{msg}");
    }

    fn entry(wm: i64, parts: u32, sources: usize) -> OffsetEntry {
        OffsetEntry {
            batch_watermark_ms: wm,
            batch_timestamp_ms: 1000 + wm,
            conf: PinnedConf::new(parts, "xxh3-64/seed=42", 1),
            offsets: (0..sources)
                .map(|i| Some(SourceOffset::from_json(&i.to_string()).unwrap()))
                .collect(),
        }
    }

    #[test]
    fn resolve_fills_in_offsets_watermark_and_pinned_conf() {
        let offsets = BTreeMap::from([(3, entry(30, 4, 2)), (4, entry(40, 4, 2))]);
        let commits = BTreeMap::from([(4, CommitEntry { next_batch_watermark_ms: 45 })]);
        let configured = PinnedConf::new(8, "xxh3-64/seed=42", 1).with("ember.extra", "x");

        let r = resolve(Decision::Resume { next: 5 }, &offsets, &commits, &configured, 2).unwrap();
        assert_eq!(r.next, NextBatch::Next { batch: 5, start: offsets[&4].clone() });
        assert_eq!((r.batch(), r.watermark_ms), (5, 45));
        assert_eq!(r.conf.num_partitions(), 4, "the pinned partition count is kept");
        assert_eq!(r.conf.get("ember.extra"), Some("x"), "unpinned settings are taken");
        assert_eq!(
            r.notes,
            vec![PinnedSettingKept {
                key: NUM_PARTITIONS_KEY.into(),
                pinned: "4".into(),
                configured: "8".into()
            }]
        );
        assert!(r.notes[0].to_string().contains("ember.stateful.numPartitions is 4"));

        let r = resolve(Decision::Rerun { batch: 4 }, &offsets, &commits, &configured, 2).unwrap();
        assert_eq!(
            r.next,
            NextBatch::Rerun {
                batch: 4,
                start: Some(offsets[&3].clone()),
                end: offsets[&4].clone()
            }
        );
        assert_eq!(r.watermark_ms, 40);

        let same = PinnedConf::new(4, "xxh3-64/seed=42", 1);
        let r = resolve(Decision::Rerun { batch: 4 }, &offsets, &commits, &same, 2).unwrap();
        assert!(r.notes.is_empty());

        let r = resolve(Decision::Fresh, &offsets, &commits, &configured, 2).unwrap();
        assert_eq!((r.next, r.conf, r.watermark_ms), (NextBatch::Fresh, configured.clone(), 0));

        assert_eq!(
            resolve(Decision::Resume { next: 5 }, &offsets, &commits, &configured, 3),
            Err(RecoveryError::SourceCountChanged { batch: 4, logged: 2, configured: 3 })
        );
        assert_eq!(
            resolve(Decision::Resume { next: 4 }, &offsets, &commits, &configured, 2),
            Err(RecoveryError::EntryNotSupplied { log: "commits", batch: 3 })
        );
        let zero = BTreeMap::from([(0, entry(0, 4, 1))]);
        let r = resolve(Decision::Rerun { batch: 0 }, &zero, &commits, &configured, 1).unwrap();
        assert_eq!(r.next, NextBatch::Rerun { batch: 0, start: None, end: zero[&0].clone() });
    }

    #[test]
    fn needs_lists_what_resolve_reads() {
        assert_eq!(Decision::Fresh.needs(), (vec![], None));
        assert_eq!(Decision::Rerun { batch: 0 }.needs(), (vec![0], None));
        assert_eq!(Decision::Rerun { batch: 3 }.needs(), (vec![2, 3], None));
        assert_eq!(Decision::Resume { next: 3 }.needs(), (vec![2], Some(2)));
    }
}
