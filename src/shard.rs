//! Sharding one night over several machines that share OUT (Slurm array
//! tasks, Kubernetes Indexed Job pods), without a scheduler of sohoa's own:
//! `sohoa plan` freezes the night's work in `OUT/plan.json` (the dossiers,
//! their fingerprints and output folders, a page-weighted assignment to N
//! shards, and a plan id); `sohoa run --shard I/N` does shard I and keeps its
//! records in `OUT/shards/I.jsonl`, then marks it finished in
//! `OUT/shards/I.done.json`; `sohoa merge` checks that every shard of this
//! plan finished and that none still runs, and hands their records to the
//! same finishing step as a plain run. This module owns those files and the
//! checks on them; it reads no page and starts no thread (`pipeline` does).

use crate::error::RunError;
use crate::fsutil;
use crate::manifest::{DossierRecord, InputError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

pub(crate) const PLAN_FILE: &str = "plan.json";
pub(crate) const SHARDS_DIR: &str = "shards";

/// The night's work, frozen: what every shard and the merge agree on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// Names this plan; every shard's files carry it.
    pub plan_id: String,
    /// When the plan was made (the merged manifest's `started_at`).
    pub created_at: String,
    /// The input as the plan was given it (the manifest's `input`).
    pub input: String,
    pub shards: usize,
    /// What shapes the outputs besides the files (language, pipeline, PDF/A,
    /// reading, sohoa's version): a shard run with other settings is refused.
    pub settings: String,
    pub lang: String,
    pub jobs: usize,
    /// The pipeline file (absolute), None for the built-in one.
    pub pipeline: Option<PathBuf>,
    pub dossiers: Vec<Planned>,
    /// Parts of the input the walk could not read (for the manifest).
    #[serde(default)]
    pub input_errors: Vec<InputError>,
}

/// One dossier of the plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Planned {
    pub source: String,
    pub shard: usize,
    /// Pages to read (0 for a dossier carried over unchanged).
    pub pages: u64,
    pub fingerprint: Option<String>,
    /// Unchanged since the last run: carried over, not read again.
    pub carried_over: bool,
    /// Its folder under OUT/dossiers (decided once for every shard).
    pub dir: String,
    /// The hash suffix its names take when they meet another's.
    pub tag: String,
}

/// Which shard this process does: `index` of `count`, 0-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl ShardSpec {
    /// Reads `I/N`, or `N` alone with the index from the scheduler's
    /// environment (`SLURM_ARRAY_TASK_ID`, then `JOB_COMPLETION_INDEX`).
    /// The count is never taken from the environment: Slurm says 1 when a
    /// single index is resubmitted.
    pub fn parse(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<ShardSpec, String> {
        let number = |t: &str, what: &str| {
            t.trim().parse::<usize>().map_err(|_| format!("--shard {s}: {what} '{t}' is not a whole number"))
        };
        let (index, count) = match s.split_once('/') {
            Some((i, n)) => (number(i, "index")?, number(n, "count")?),
            None => {
                let count = number(s, "count")?;
                let (var, value) = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]
                    .iter()
                    .find_map(|v| env(v).map(|x| (*v, x)))
                    .ok_or_else(|| {
                        format!(
                            "--shard {s} gives no index: give I/{s}, or run it as a Slurm array task \
                             (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job pod (JOB_COMPLETION_INDEX)"
                        )
                    })?;
                (number(&value, var)?, count)
            }
        };
        if count == 0 {
            return Err(format!("--shard {s}: the count must be at least 1"));
        }
        if index >= count {
            return Err(format!("--shard {s}: index {index} is not below the count {count} (indexes start at 0)"));
        }
        Ok(ShardSpec { index, count })
    }
}

/// Spreads dossiers of `weights` pages over `n` shards: heaviest first, each
/// to the least loaded shard (ties to the lower index), so that shards end
/// together. Deterministic: the same weights give the same shards.
pub(crate) fn assign(weights: &[u64], n: usize) -> Vec<usize> {
    let n = n.max(1);
    let mut load = vec![0u64; n];
    let mut shard = vec![0; weights.len()];
    for (i, _) in heaviest_first(weights, |w| **w) {
        let (s, _) = load.iter().enumerate().min_by_key(|(s, l)| (**l, *s)).expect("n >= 1");
        shard[i] = s;
        load[s] += weights[i];
    }
    shard
}

/// `items` with their indices, heaviest first by `weight`, ties in their
/// order: how dossiers are spread over shards, and handed out to a run's
/// workers (so that a night does not end on one worker reading a large
/// dossier alone).
pub(crate) fn heaviest_first<T>(items: impl IntoIterator<Item = T>, weight: impl Fn(&T) -> u64) -> Vec<(usize, T)> {
    let mut order: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    // A stable sort: equals keep their order.
    order.sort_by_key(|(_, t)| std::cmp::Reverse(weight(t)));
    order
}

/// The plan id: a hash of what the plan decides, so that making the same
/// plan twice gives the same id.
pub(crate) fn plan_id(settings: &str, shards: usize, dossiers: &[Planned]) -> String {
    let mut h = Sha256::new();
    h.update(settings.as_bytes());
    h.update((shards as u64).to_le_bytes());
    for d in dossiers {
        h.update(d.source.as_bytes());
        h.update([0]);
        h.update(d.fingerprint.as_deref().unwrap_or("-").as_bytes());
        h.update((d.shard as u64).to_le_bytes());
        h.update(d.dir.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// OUT/plan.json, or why there is none to use.
pub(crate) fn read_plan(out: &Path) -> Result<Plan, String> {
    let path = out.join(PLAN_FILE);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("no plan in {} (make one with `sohoa plan INPUT --out OUT --shards N`)", out.display())
        }
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is damaged: {e}", path.display()))
}

/// Writes the plan and removes the shard files of any other plan (their
/// records are either merged already or belong to a night given up).
pub(crate) fn write_plan(out: &Path, plan: &Plan) -> Result<(), RunError> {
    let dir = out.join(SHARDS_DIR);
    if read_plan(out).is_ok_and(|old| old.plan_id != plan.plan_id) {
        remove_shard_records(out);
    }
    std::fs::create_dir_all(&dir).map_err(|e| RunError::Output { path: dir.clone(), source: e })?;
    let path = out.join(PLAN_FILE);
    let json = serde_json::to_vec_pretty(plan).expect("plain data serializes");
    fsutil::write_atomic(&path, &json).map_err(|e| RunError::Output { path, source: e })
}

/// Removes the plan and every shard file: a plain run supersedes them.
pub(crate) fn remove_plan(out: &Path) {
    let _ = std::fs::remove_file(out.join(PLAN_FILE));
    remove_shard_records(out);
}

/// Removes the shards' journals and done marks (their locks stay, as
/// OUT's does).
fn remove_shard_records(out: &Path) {
    for e in std::fs::read_dir(out.join(SHARDS_DIR)).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jsonl") || name.ends_with(".done.json") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub(crate) fn journal_path(out: &Path, shard: usize) -> PathBuf {
    out.join(SHARDS_DIR).join(format!("{shard}.jsonl"))
}

fn done_path(out: &Path, shard: usize) -> PathBuf {
    out.join(SHARDS_DIR).join(format!("{shard}.done.json"))
}

/// The lock a shard holds while it runs (a second worker on the same index
/// waits for it; the merge refuses while one is held).
pub(crate) fn lock_path(out: &Path, shard: usize) -> PathBuf {
    out.join(SHARDS_DIR).join(format!("{shard}.lock"))
}

/// The first line of a shard's journal: whose records follow.
#[derive(Serialize, Deserialize)]
struct Header {
    plan_id: String,
    shard: usize,
}

/// One finished dossier in a shard's journal.
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Carried over from the last run (no OCR), for the summary.
    pub carried_over: bool,
    pub record: DossierRecord,
}

/// What a shard's journal holds: the plan it was written for and its
/// entries, the last one per dossier (a line cut short by a kill is skipped).
pub(crate) fn read_journal(path: &Path) -> Option<(String, Vec<Entry>)> {
    let f = std::fs::File::open(path).ok()?;
    let mut lines = std::io::BufReader::new(f).lines().map_while(Result::ok);
    let header: Header = serde_json::from_str(&lines.next()?).ok()?;
    let mut by_source: BTreeMap<String, Entry> = BTreeMap::new();
    for line in lines {
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            by_source.insert(e.record.source.clone(), e);
        }
    }
    Some((header.plan_id, by_source.into_values().collect()))
}

/// A shard's journal, opened for appending; started afresh when it holds
/// another plan's records.
pub(crate) struct ShardJournal(crate::state::Journal);

impl ShardJournal {
    /// Opens shard `shard`'s journal for `plan_id` and returns what it
    /// already holds for that plan.
    pub(crate) fn open(out: &Path, plan_id: &str, shard: usize) -> Result<(ShardJournal, Vec<Entry>), RunError> {
        let path = journal_path(out, shard);
        let kept = match read_journal(&path) {
            Some((id, entries)) if id == plan_id => Some(entries),
            _ => None,
        };
        let journal = crate::state::Journal::at(&path, kept.is_none())?;
        if kept.is_none() {
            journal.append_line(&Header { plan_id: plan_id.to_string(), shard })?;
        }
        Ok((ShardJournal(journal), kept.unwrap_or_default()))
    }

    pub(crate) fn append(&self, record: &DossierRecord, carried_over: bool) -> Result<(), RunError> {
        #[derive(Serialize)]
        struct EntryRef<'a> {
            carried_over: bool,
            record: &'a DossierRecord,
        }
        self.0.append_line(&EntryRef { carried_over, record })
    }
}

/// The mark a shard leaves when it did all its part.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Done {
    pub plan_id: String,
    pub shard: usize,
    pub shards: usize,
    pub dossiers: usize,
    pub finished_at: String,
    /// The machine it ran on (for the people reading a failed merge).
    pub host: String,
}

pub(crate) fn clear_done(out: &Path, shard: usize) {
    let _ = std::fs::remove_file(done_path(out, shard));
}

pub(crate) fn write_done(out: &Path, done: &Done) -> Result<(), RunError> {
    let path = done_path(out, done.shard);
    let json = serde_json::to_vec_pretty(done).expect("plain data serializes");
    fsutil::write_atomic(&path, &json).map_err(|e| RunError::Output { path, source: e })
}

/// This machine's name, for the done mark.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Every shard's entries, checked: all shards of `plan` finished, none from
/// another plan, no dossier claimed by two. `running(i)` tells whether
/// shard i's lock is held now. The refusal lists every problem found.
pub(crate) fn collect(out: &Path, plan: &Plan, running: &dyn Fn(usize) -> bool) -> Result<Vec<Entry>, RunError> {
    let mut problems = Vec::new();
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    let rerun = |i: usize| format!("run it again: sohoa run INPUT --out OUT --shard {i}/{}", plan.shards);
    for i in 0..plan.shards {
        if running(i) {
            problems.push(format!("shard {i} still runs"));
            continue;
        }
        let done: Option<Done> = std::fs::read(done_path(out, i)).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let journal = read_journal(&journal_path(out, i));
        match (&done, &journal) {
            (None, None) => problems.push(format!("shard {i} has not run ({})", rerun(i))),
            (None, Some(_)) => problems.push(format!("shard {i} did not finish (stopped or killed; {})", rerun(i))),
            (Some(d), _) if d.plan_id != plan.plan_id => problems.push(format!(
                "shard {i} is from another plan ({}, this plan is {}; {})",
                d.plan_id,
                plan.plan_id,
                rerun(i)
            )),
            (Some(_), Some((id, _))) if *id != plan.plan_id => problems.push(format!(
                "shard {i}'s records are from another plan ({id}, this plan is {}; {})",
                plan.plan_id,
                rerun(i)
            )),
            (Some(_), None) => problems.push(format!("shard {i}'s records are missing ({})", rerun(i))),
            (Some(_), Some(_)) => {
                let (_, list) = journal.expect("matched Some");
                entries.extend(list.into_iter().map(|e| (i, e)));
            }
        }
    }
    let mut claimed: HashMap<&str, usize> = HashMap::new();
    for (i, e) in &entries {
        if let Some(j) = claimed.insert(e.record.source.as_str(), *i) {
            if j != *i {
                problems.push(format!("dossier {} is claimed by shards {j} and {i}", e.record.source));
            }
        }
    }
    if !problems.is_empty() {
        return Err(RunError::MergeRefused { out: out.to_path_buf(), problems });
    }
    Ok(entries.into_iter().map(|(_, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_read_from_the_argument_or_the_scheduler() {
        let none = |_: &str| None;
        assert_eq!(ShardSpec::parse("2/4", none), Ok(ShardSpec { index: 2, count: 4 }));
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "3".to_string());
        assert_eq!(ShardSpec::parse("4", slurm), Ok(ShardSpec { index: 3, count: 4 }));
        let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "1".to_string());
        assert_eq!(ShardSpec::parse("2", k8s), Ok(ShardSpec { index: 1, count: 2 }));
        for bad in ["4/4", "x/2", "0", "1/0", "-1/2"] {
            assert!(ShardSpec::parse(bad, none).is_err(), "{bad}");
        }
        assert!(ShardSpec::parse("4", none).unwrap_err().contains("SLURM_ARRAY_TASK_ID"));
        assert!(ShardSpec::parse("4", |_| Some("7".into())).is_err());
    }

    #[test]
    fn heavy_dossiers_are_spread_and_the_shards_end_together() {
        let w = [10, 1, 7, 3, 3, 6, 0, 2];
        let s = assign(&w, 3);
        let mut load = [0u64; 3];
        for (i, &x) in w.iter().enumerate() {
            load[s[i]] += x;
        }
        assert_eq!(load.iter().sum::<u64>(), 32);
        assert!(load.iter().max().unwrap() - load.iter().min().unwrap() <= 2, "{load:?}");
        assert_eq!(assign(&w, 3), s, "deterministic");
        assert_eq!(assign(&w, 1), vec![0; w.len()]);
    }

    #[test]
    fn the_heaviest_go_first_and_equals_keep_their_order() {
        let order = |w: &[u64]| heaviest_first(w, |x| **x).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(order(&[3, 0, 5, 3, 5, 1]), vec![2, 4, 0, 3, 5, 1]);
        assert_eq!(order(&[]), Vec::<usize>::new());
    }
}
