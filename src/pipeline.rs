//! The run: scan → decode → preprocess → OCR → PDF → manifest, for every
//! dossier of the input. This is the one place where work is spread over
//! threads (a rayon pool of `jobs` workers, each with its own Tesseract engine
//! created once, kept by `engines`) and the one place that turns a dossier's
//! page records (made by `page`) and stage results into its manifest record.
//! A page that fails becomes an error record; a dossier never stops the batch. A run is three steps, `survey` (walk, lock, names), `digitize`
//! (the dossiers, in parallel) and `finish` (manifest, portal, report); a
//! sharded night runs the same steps in separate processes: `plan` is the
//! survey, each `run_shard` digitizes its part, `merge` finishes.

use crate::assemble::{self, ForPdf, ReadDossier, Target};
use crate::decode;
use crate::engines;
use crate::error::RunError;
use crate::layout::Layout;
use crate::manifest::{
    DossierRecord, DossierStatus, InputError, Manifest, MissingDossier, PageRecord, Settings, Summary,
};
use crate::page::{error_page, inject_fault, open_dossier, pages_to_read, panic_text, process_page, OpenedDossier};
use crate::rules::Rules;
use crate::scan::{self, DossierDir};
use crate::shard::{Plan, Planned, ShardSpec};
use crate::spool::Spool;
use crate::state;
use crate::{fsutil, Options, Progress};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Finds the second reader and loads it on every worker. Its absence from
/// the default folders is not an error: the run reads with Tesseract alone,
/// after one warning. A folder the user named that does not hold it is bad
/// usage, so that a typo in a nightly job is not a silent loss of accuracy.
fn start_second_readers(pool: &rayon::ThreadPool, opts: &Options, progress: &dyn Progress) -> Result<bool, RunError> {
    if !opts.second_reader {
        return Ok(false);
    }
    let fail = |e: String| match &opts.second_reader_dir {
        Some(d) => Err(RunError::Usage(format!("second reader in {}: {e}", d.display()))),
        None => {
            progress.warn(&format!("second reader not used ({e}); reading with Tesseract alone"));
            Ok(false)
        }
    };
    let files = match crate::aster::locate(opts.second_reader_dir.as_deref()) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let results = pool.broadcast(|_| engines::load_second(&files));
    match results.into_iter().find_map(Result::err) {
        None => {
            if crate::lexicon::installed().is_none() {
                progress.warn(&format!(
                    "no Vietnamese syllable list at {} (Debian package hunspell-vi): words with a \
                     misread mark that no Vietnamese word has are not read again",
                    crate::lexicon::DEFAULT_PATH
                ));
            }
            if crate::frequency::installed().is_none() {
                progress.warn(&format!(
                    "no syllable frequencies ({} in {}; scripts/install-deps puts it there): a tone \
                     misread into a rarer real word (vả for và) is not put right",
                    crate::frequency::FILE,
                    crate::frequency::DEFAULT_DIRS.join(" or ")
                ));
            }
            Ok(true)
        }
        Some(e) => {
            pool.broadcast(|_| engines::unload_second());
            fail(e)
        }
    }
}

/// Creates every worker's engine at once, in parallel (loading the model is
/// the slow part), and so checks that Tesseract and its language data work
/// before any page is read.
fn start_engines(pool: &rayon::ThreadPool, opts: &Options) -> Result<(), RunError> {
    let results = pool.broadcast(|_| engines::with_engine(opts, |_| ()));
    match results.into_iter().find_map(Result::err) {
        None => Ok(()),
        Some(e) => {
            let installed = crate::ocr::installed_languages(opts.tessdata.as_deref());
            let listed = if installed.is_empty() { "none found".to_string() } else { installed.join(", ") };
            Err(RunError::MissingDependency {
                what: format!("Tesseract language data for '{}' ({e}; installed languages: {listed})", opts.lang),
                install: install_hint(&opts.lang),
            })
        }
    }
}

fn install_hint(lang: &str) -> String {
    let pkgs: Vec<String> =
        lang.split('+').map(|l| format!("tesseract-ocr-{}", l.replace('_', "-").to_lowercase())).collect();
    format!("sudo apt-get install tesseract-ocr {}", pkgs.join(" "))
}

/// Loads the pipeline `path` names, or the built-in one.
pub fn load_pipeline(path: Option<&Path>) -> Result<Rules, RunError> {
    match path {
        Some(p) => Rules::load(p),
        None => Ok(Rules::builtin()),
    }
    .map_err(|e| RunError::Usage(e.to_string()))
}

/// `p` made absolute with symlinks resolved, also when its last parts do
/// not exist yet (the output folder before its first run).
fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            return rest.iter().rev().fold(c, |acc: PathBuf, part| acc.join(part));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses a run whose input holds no dossier, or lacks more than
/// `opts.max_missing` of the dossiers the last run into OUT recorded.
fn check_not_vanished(opts: &Options, dossiers: &[scan::DossierDir], prev: Option<&Manifest>) -> Result<(), RunError> {
    if opts.max_missing >= 1.0 {
        return Ok(());
    }
    let vanished = |reason: String| Err(RunError::InputVanished { path: opts.input.clone(), reason });
    if dossiers.is_empty() {
        return vanished("holds no dossier (is the share mounted?)".into());
    }
    let Some(prev) = prev else { return Ok(()) };
    let here: std::collections::HashSet<&str> = dossiers.iter().map(|d| d.rel.as_str()).collect();
    let before = prev.dossiers.len();
    let missing = prev.dossiers.iter().filter(|d| !here.contains(d.source.as_str())).count();
    if before > 0 && missing as f64 > opts.max_missing * before as f64 {
        return vanished(format!(
            "{missing} of the {before} dossiers of the last run are missing (more than {:.0}%; is the share mounted?)",
            opts.max_missing * 100.0
        ));
    }
    Ok(())
}

/// What digitizing needs besides the dossiers, decided before any page is
/// read: the rules, OUT, the last run's records, every output name, the
/// settings key (a plain run's survey makes it; a shard takes it from the plan).
struct Work {
    rules: Rules,
    out_abs: PathBuf,
    prev: HashMap<String, DossierRecord>,
    layout: Layout,
    settings_key: String,
}

/// What the survey of a night found: the work, and the dossiers, the walk's
/// errors and the last manifest for the plan or the finishing step.
struct Night {
    work: Work,
    dossiers: Vec<DossierDir>,
    walk_errors: Vec<InputError>,
    prev_manifest: Option<Manifest>,
    started_at: String,
}

impl Work {
    /// Whether the last run's record `prev` stands for this night: the
    /// same fingerprint, nothing to retry, its files in OUT and still in
    /// this night's layout.
    fn can_carry(&self, prev: &DossierRecord, digest: &str, out: &Path) -> bool {
        state::reusable(prev, digest, out) && self.layout.still_fits(prev)
    }
}

/// The checks every run, plan and shard makes on its arguments: the rules
/// load, the language is a name, INPUT is a folder and OUT is not inside it
/// (nor it inside OUT). Returns the rules, INPUT and OUT made absolute.
fn checked(opts: &Options) -> Result<(Rules, PathBuf, PathBuf), RunError> {
    if !opts.input.is_dir() {
        return Err(RunError::BadInput { path: opts.input.clone(), reason: "not a folder (or cannot be read)".into() });
    }
    if opts.lang.is_empty() || opts.lang.contains(|c: char| c == '/' || c.is_whitespace()) {
        return Err(RunError::Usage(format!("invalid language '{}'", opts.lang)));
    }
    let rules = load_pipeline(opts.pipeline.as_deref())?;
    let input_abs = opts
        .input
        .canonicalize()
        .map_err(|e| RunError::BadInput { path: opts.input.clone(), reason: e.to_string() })?;
    let out_abs = resolved(&opts.out);
    if out_abs.starts_with(&input_abs) || input_abs.starts_with(&out_abs) {
        return Err(RunError::Usage(format!(
            "the input {} and the output {} overlap (one is inside the other{}); choose an output folder outside the input",
            opts.input.display(),
            opts.out.display(),
            if out_abs == input_abs { ", or they are the same" } else { "" }
        )));
    }
    crate::lept::silence();
    Ok((rules, input_abs, out_abs))
}

/// What shapes a dossier's output besides its files: sohoa's version and
/// reading rules, the language and the models read with (Tesseract's
/// version and traineddata, the second reader's network, or its absence),
/// the pipeline's text, PDF/A, the visible text layer. Equal keys (and equal
/// files) mean equal outputs, so it is part of every fingerprint, and a
/// shard run with another key than its plan's is refused. (`--page-timeout`
/// is not in it: a page that ran out of time is an error retried anyway;
/// `--jobs` changes no output.)
fn settings_key(opts: &Options) -> String {
    let pipeline_text = match &opts.pipeline {
        Some(p) => std::fs::read(p).unwrap_or_default(),
        None => crate::rules::DEFAULT_PIPELINE.as_bytes().to_vec(),
    };
    let second = match opts.second_reader {
        false => "off".to_string(),
        true => crate::aster::locate(opts.second_reader_dir.as_deref())
            .map_or_else(|_| "absent".to_string(), |f| f.identity()),
    };
    format!(
        "sohoa {}|lang {}|{}|pdfa {}|reading {}|second reader {}|lexicon {}|frequencies {}|text layer shown {}|pipeline {}",
        env!("CARGO_PKG_VERSION"),
        opts.lang,
        crate::ocr::reader_identity(opts.tessdata.as_deref(), &opts.lang),
        opts.pdfa,
        crate::reading::VERSION,
        second,
        crate::lexicon::identity(),
        crate::frequency::identity(),
        opts.show_text_layer,
        hex(&Sha256::digest(&pipeline_text))
    )
}

/// Walks the input, compares it with the last run, takes OUT's lock and
/// decides every output name: the first half of a plain run and of a plan.
/// Nothing under OUT is touched before the input is known to be there.
fn survey(opts: &Options, progress: &dyn Progress) -> Result<(Night, state::Lock), RunError> {
    let started_at = now();
    let (rules, input_abs, out_abs) = checked(opts)?;
    // The input is walked and compared with the last run before OUT is
    // touched: an unmounted share must not become an empty night.
    let (dossiers, walk_errors) = scan::find_dossiers(&input_abs);
    let (first_read, stamp) = state::read_manifest(&opts.out);
    check_not_vanished(opts, &dossiers, first_read.as_ref())?;
    std::fs::create_dir_all(&opts.out).map_err(|e| RunError::Output { path: opts.out.clone(), source: e })?;
    let lock = state::Lock::acquire(&opts.out)?;
    state::clean_temporaries(&opts.out);
    // Under the lock, the manifest is read again only if another run
    // replaced it meanwhile (a large manifest is parsed once per run).
    let prev_manifest =
        if state::manifest_stamp(&opts.out) == stamp { first_read } else { state::read_manifest(&opts.out).0 };
    let prev = state::previous_records(prev_manifest.as_ref(), &opts.out);
    // Every output name is decided here, before anything is written.
    let layout = Layout::plan(&dossiers, &prev);
    layout.clear_the_way(&opts.out);
    for e in &walk_errors {
        progress.warn(&format!("cannot read part of the input: {}: {}", e.path, e.error));
    }
    let settings_key = settings_key(opts);
    let work = Work { rules, out_abs, prev, layout, settings_key };
    let night = Night { work, dossiers, walk_errors, prev_manifest, started_at };
    Ok((night, lock))
}

fn worker_pool(opts: &Options) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .thread_name(|i| format!("sohoa-worker-{i}"))
        .build()
        .map_err(|e| RunError::Usage(format!("cannot start {} workers: {e}", opts.jobs)))
}

/// A dossier finished (or carried over: the flag) is handed to this before
/// it counts as done: the journal that lets a killed run lose nothing.
type Sink<'a> = dyn Fn(&DossierRecord, bool) -> Result<(), RunError> + Sync + 'a;

/// Digitizes `selected` (the whole night, or one shard's part): carries over
/// what is unchanged since the last run (`work.prev`) and what this shard
/// already finished (`finished`, with its carried-over flag), reads the
/// rest in parallel, heaviest first (`planned_pages`: the pages a plan
/// counted, by dossier; the others are counted here). Returns each
/// dossier's record and whether it was carried over. The second half of
/// every run, sharded or not.
fn digitize(
    opts: &Options,
    work: &Work,
    selected: &[&DossierDir],
    planned_pages: &HashMap<&str, u64>,
    finished: &HashMap<String, (DossierRecord, bool)>,
    sink: &Sink,
    progress: &dyn Progress,
) -> Result<Vec<(DossierRecord, bool)>, RunError> {
    let total_files: usize = selected.iter().map(|d| d.files.len()).sum();
    progress.start(selected.len(), total_files);
    let pool = worker_pool(opts)?;
    let abort = std::sync::atomic::AtomicBool::new(false);
    let first_error: std::sync::Mutex<Option<RunError>> = std::sync::Mutex::new(None);
    let fail = |e: RunError| {
        abort.store(true, std::sync::atomic::Ordering::SeqCst);
        first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
    };
    // First the fingerprints: what is unchanged since the last run is carried
    // over, and only what is left needs Tesseract.
    enum Carry<'r> {
        /// Read it now.
        No,
        /// The last run's record stands.
        Over(&'r DossierRecord),
        /// This shard finished it before it was stopped (record, carried over).
        Done(&'r DossierRecord, bool),
    }
    // With each plan, the pages left to read (what orders the hand-out).
    let plans: Vec<(Option<state::Fingerprint>, Carry, u64)> = pool.install(|| {
        selected
            .par_iter()
            .map(|d| {
                let fp = state::fingerprint(d, &work.settings_key).ok();
                let carry = match (&fp, finished.get(&d.rel), work.prev.get(&d.rel)) {
                    (Some(fp), Some((r, over)), _) if r.fingerprint.as_deref() == Some(&fp.digest) => {
                        Carry::Done(r, *over)
                    }
                    (Some(fp), _, Some(p)) if !opts.force && work.can_carry(p, &fp.digest, &opts.out) => Carry::Over(p),
                    _ => Carry::No,
                };
                let pages = match carry {
                    Carry::No => planned_pages
                        .get(d.rel.as_str())
                        .copied()
                        .unwrap_or_else(|| d.files.iter().map(|f| pages_to_read(&f.path)).sum()),
                    _ => 0,
                };
                (fp, carry, pages)
            })
            .collect()
    });
    if !opts.lang.split('+').any(|l| l == "vie") {
        progress.warn(&format!(
            "language '{}' is not Vietnamese (vie): names, addresses and titles are read without their diacritics \
             and exported so; run with --lang vie",
            opts.lang
        ));
    }
    let to_read = selected.iter().zip(&plans).filter(|(_, (_, c, _))| matches!(c, Carry::No));
    if to_read.clone().any(|(d, _)| d.files.iter().any(|f| f.name.to_lowercase().ends_with(".pdf"))) {
        crate::poppler::check_installed().map_err(|e| RunError::MissingDependency {
            what: format!("poppler-utils, which reads the PDF pages that are not a single scan ({e})"),
            install: "sudo apt-get install poppler-utils".into(),
        })?;
    }
    if to_read.clone().next().is_some() {
        start_engines(&pool, opts)?;
        start_second_readers(&pool, opts, progress)?;
    }
    // One dossier: carried over, or read now. None when the night stops.
    let digitize_one =
        |d: &DossierDir, fp: Option<state::Fingerprint>, carry: Carry| -> Option<(DossierRecord, bool)> {
            if abort.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            let carried = |p: &DossierRecord| {
                progress.add_pages(p.pages.len().saturating_sub(d.files.len()));
                for page in &p.pages {
                    progress.page_done(&d.rel, page);
                }
                progress.dossier_done(p);
            };
            match carry {
                Carry::Done(p, over) => {
                    carried(p);
                    return Some((p.clone(), over));
                }
                Carry::Over(p) => {
                    if let Err(e) = sink(p, true) {
                        fail(e);
                        return None;
                    }
                    carried(p);
                    return Some((p.clone(), true));
                }
                Carry::No => {}
            }
            let hashes: Vec<Option<String>> = match &fp {
                Some(fp) => fp.files.iter().cloned().map(Some).collect(),
                None => vec![None; d.files.len()],
            };
            progress.dossier_started(&d.rel);
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                process_dossier(d, &hashes, opts, &work.rules, &work.out_abs, &work.layout, progress)
            }))
            .unwrap_or_else(|p| Ok(crashed_dossier(d, &panic_text(&*p))));
            match done {
                Ok(mut r) => {
                    r.fingerprint = fp.map(|f| f.digest);
                    if let Err(e) = sink(&r, false) {
                        fail(e);
                        return None;
                    }
                    progress.dossier_done(&r);
                    Some((r, false))
                }
                Err(e) => {
                    fail(e);
                    None
                }
            }
        };
    // Dossiers are handed out heaviest first (most pages to read; then in
    // their order), each to the next worker free, so that the night does not
    // end on one worker reading a large dossier while the others wait
    // (rayon's own split would also start the second half of the night at
    // once). Their records are put back in the night's order.
    let handed = crate::shard::heaviest_first(plans, |p| p.2);
    let mut results: Vec<(usize, (DossierRecord, bool))> = pool.install(|| {
        handed
            .into_iter()
            .par_bridge()
            .filter_map(|(i, (fp, carry, _))| digitize_one(selected[i], fp, carry).map(|r| (i, r)))
            .collect()
    });
    drop(pool);
    results.sort_unstable_by_key(|r| r.0);
    let results: Vec<(DossierRecord, bool)> = results.into_iter().map(|r| r.1).collect();
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        // What finished is in the journal; the previous manifest stands.
        return Err(e);
    }
    Ok(results)
}

/// What the finishing step needs besides the records.
struct Closing<'a> {
    out: &'a Path,
    input: String,
    started_at: String,
    lang: String,
    jobs: usize,
    rules: &'a Rules,
    prev_manifest: Option<&'a Manifest>,
    walk_errors: Vec<InputError>,
}

/// Turns the night's records into the manifest, the portal files and the
/// report: the clerks' corrections applied, the dossiers whose folder is
/// gone kept on record. The end of a plain run and of a merge.
fn finish(c: Closing, results: Vec<(DossierRecord, bool)>, progress: &dyn Progress) -> Result<Manifest, RunError> {
    let mut summary = Summary::default();
    let mut records = Vec::with_capacity(results.len());
    for (r, reused) in results {
        summary.add_outcome(&r, reused, true);
        records.push(r);
    }
    records.sort_by(|a, b| scan::natural_cmp(&a.source, &b.source));
    // Clerks' corrections last across runs (or wait for confirmation when
    // the pages changed).
    let corrections = crate::corrections::load(c.out);
    if !corrections.is_empty() {
        for r in &mut records {
            crate::corrections::apply(r, &corrections);
        }
    }
    // Dossiers seen before whose folder is gone stay on record.
    let present: std::collections::HashSet<&str> = records.iter().map(|r| r.source.as_str()).collect();
    let mut missing: Vec<MissingDossier> = Vec::new();
    if let Some(m) = c.prev_manifest {
        for old in &m.missing_dossiers {
            if !present.contains(old.source.as_str()) {
                missing.push(old.clone());
            }
        }
        for d in &m.dossiers {
            if !present.contains(d.source.as_str()) && !missing.iter().any(|x| x.source == d.source) {
                missing.push(MissingDossier {
                    source: d.source.clone(),
                    missing_since: c.started_at.clone(),
                    last_record: d.clone(),
                });
            }
        }
    }
    for m in &missing {
        progress.warn(&format!("dossier folder no longer in the input: {}", m.source));
    }
    summary.dossiers_missing = missing.len();
    let manifest = Manifest {
        sohoa_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: c.started_at,
        finished_at: now(),
        input: c.input,
        settings: Settings { lang: c.lang, jobs: c.jobs, pipeline: c.rules.name.clone() },
        summary,
        dossiers: records,
        missing_dossiers: missing,
        input_errors: c.walk_errors,
    };
    for w in crate::portal::export(c.out, &manifest, c.rules)? {
        progress.warn(&w);
    }
    crate::report::write_with(c.out, &manifest, c.rules, &|thumbs| {
        // Each thumbnail is a poppler run: `jobs` at once.
        match rayon::ThreadPoolBuilder::new().num_threads(c.jobs.max(1)).build() {
            Ok(pool) => pool.install(|| thumbs.par_iter().map(crate::report::render_thumb).collect()),
            Err(_) => thumbs.iter().map(crate::report::render_thumb).collect(),
        }
    })?;
    let path = c.out.join("manifest.json");
    fsutil::write_atomic(&path, &crate::manifest::to_json(&manifest))
        .map_err(|e| RunError::Output { path, source: e })?;
    progress.finished(&manifest.summary);
    Ok(manifest)
}

/// `sohoa run`: the whole night in this process. The same steps as a plan,
/// its shards and their merge, without the files between them.
pub fn run(opts: &Options, progress: &dyn Progress) -> Result<Manifest, RunError> {
    let (night, _lock) = survey(opts, progress)?;
    // A plan not merged is superseded by this run.
    crate::shard::remove_plan(&opts.out);
    let journal = state::Journal::open(&opts.out)?;
    let sink = |r: &DossierRecord, carried: bool| if carried { Ok(()) } else { journal.append(r) };
    let all: Vec<&DossierDir> = night.dossiers.iter().collect();
    let results = digitize(opts, &night.work, &all, &HashMap::new(), &HashMap::new(), &sink, progress)?;
    let closing = Closing {
        out: &opts.out,
        input: opts.input.display().to_string(),
        started_at: night.started_at.clone(),
        lang: opts.lang.clone(),
        jobs: opts.jobs,
        rules: &night.work.rules,
        prev_manifest: night.prev_manifest.as_ref(),
        walk_errors: night.walk_errors.clone(),
    };
    let manifest = finish(closing, results, progress)?;
    journal.remove();
    Ok(manifest)
}

/// `sohoa plan`: freezes tonight's work for `shards` shards in OUT/plan.json
/// (fingerprints, output folders, a page-weighted assignment; the dossiers
/// carried over unchanged weigh almost nothing).
pub fn plan(opts: &Options, shards: usize, progress: &dyn Progress) -> Result<Plan, RunError> {
    if shards == 0 {
        return Err(RunError::Usage("--shards must be at least 1".into()));
    }
    let (night, _lock) = survey(opts, progress)?;
    let pool = worker_pool(opts)?;
    let surveyed: Vec<(Option<String>, bool, u64)> = pool.install(|| {
        night
            .dossiers
            .par_iter()
            .map(|d| {
                // Only a dossier the last run recorded can be carried over:
                // a new one is not read here (its shard fingerprints it), so
                // that planning a backlog does not read every byte twice.
                let prev = night.work.prev.get(&d.rel).filter(|_| !opts.force);
                let fp = prev.and_then(|_| state::fingerprint(d, &night.work.settings_key).ok()).map(|f| f.digest);
                let carried = match (&fp, prev) {
                    (Some(fp), Some(p)) => night.work.can_carry(p, fp, &opts.out),
                    _ => false,
                };
                let pages = if carried { 0 } else { d.files.iter().map(|f| pages_to_read(&f.path)).sum() };
                (fp, carried, pages)
            })
            .collect()
    });
    drop(pool);
    let weights: Vec<u64> = surveyed.iter().map(|(_, _, pages)| pages * 100 + 1).collect();
    let assignment = crate::shard::assign(&weights, shards);
    let dossiers: Vec<Planned> = night
        .dossiers
        .iter()
        .zip(surveyed)
        .zip(assignment)
        .map(|((d, (fingerprint, carried_over, pages)), shard)| {
            let (dir, tag) = night.work.layout.entry(&d.rel);
            Planned { source: d.rel.clone(), shard, pages, fingerprint, carried_over, dir, tag }
        })
        .collect();
    let plan = Plan {
        plan_id: crate::shard::plan_id(&night.work.settings_key, shards, &dossiers),
        created_at: night.started_at.clone(),
        input: opts.input.display().to_string(),
        shards,
        settings: night.work.settings_key.clone(),
        lang: opts.lang.clone(),
        jobs: opts.jobs,
        pipeline: opts.pipeline.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        dossiers,
        input_errors: night.walk_errors.clone(),
    };
    crate::shard::write_plan(&opts.out, &plan)?;
    Ok(plan)
}

/// What one shard did.
pub struct ShardOutcome {
    pub plan_id: String,
    pub summary: Summary,
    /// Dossiers this shard found already finished by an earlier try.
    pub already_done: usize,
}

/// `sohoa run --shard I/N`: does shard I of OUT's plan beside the other
/// shards (they share OUT's lock; a second worker on the same shard waits
/// for the first, then finds its work done). Its records go to its own
/// journal; the manifest is the merge's to write.
pub fn run_shard(opts: &Options, spec: ShardSpec, progress: &dyn Progress) -> Result<ShardOutcome, RunError> {
    let (rules, input_abs, out_abs) = checked(opts)?;
    let plan = crate::shard::read_plan(&opts.out).map_err(RunError::Usage)?;
    if plan.shards != spec.count {
        return Err(RunError::Usage(format!(
            "the plan in {} has {} shards, not {}: run --shard I/{} (or plan again)",
            opts.out.display(),
            plan.shards,
            spec.count,
            plan.shards
        )));
    }
    let key = settings_key(opts);
    if key != plan.settings {
        return Err(RunError::Usage(format!(
            "this shard's settings are not the plan's: run it with the options the plan was made with \
             (plan: {}; this run: {key})",
            plan.settings
        )));
    }
    let mine: std::collections::HashSet<&str> =
        plan.dossiers.iter().filter(|d| d.shard == spec.index).map(|d| d.source.as_str()).collect();
    let (dossiers, _) = scan::find_dossiers(&input_abs);
    let selected: Vec<&DossierDir> = dossiers.iter().filter(|d| mine.contains(d.rel.as_str())).collect();
    let gone = mine.len() - selected.len();
    if gone > 0 && (selected.is_empty() || gone as f64 > opts.max_missing * mine.len() as f64) {
        return Err(RunError::InputVanished {
            path: opts.input.clone(),
            reason: format!(
                "{gone} of this shard's {} planned dossiers are missing (is the share mounted?)",
                mine.len()
            ),
        });
    }
    let _out_lock = state::Lock::share(&opts.out)?;
    let _lock = state::Lock::wait_for(&crate::shard::lock_path(&opts.out, spec.index))?;
    crate::shard::clear_done(&opts.out, spec.index);
    let (prev_manifest, _) = state::read_manifest(&opts.out);
    let prev = state::previous_records(prev_manifest.as_ref(), &opts.out);
    let (journal, kept) = crate::shard::ShardJournal::open(&opts.out, &plan.plan_id, spec.index)?;
    let finished: HashMap<String, (DossierRecord, bool)> =
        kept.into_iter().map(|e| (e.record.source.clone(), (e.record, e.carried_over))).collect();
    let work = Work { rules, out_abs, prev, layout: Layout::from_plan(&plan.dossiers), settings_key: key };
    let sink = |r: &DossierRecord, carried: bool| journal.append(r, carried);
    // What the plan counted (not for a dossier it meant to carry over: it
    // weighs nothing there).
    let planned_pages: HashMap<&str, u64> = plan
        .dossiers
        .iter()
        .filter(|d| d.shard == spec.index && !d.carried_over)
        .map(|d| (d.source.as_str(), d.pages))
        .collect();
    let results = digitize(opts, &work, &selected, &planned_pages, &finished, &sink, progress)?;
    // Kept from the journal: the same record (same fingerprint) as before.
    let kept = |r: &DossierRecord| finished.get(&r.source).is_some_and(|(f, _)| f.fingerprint == r.fingerprint);
    let already_done = results.iter().filter(|(r, _)| kept(r)).count();
    let mut summary = Summary::default();
    for (r, carried) in &results {
        summary.add_outcome(r, *carried, !kept(r));
    }
    crate::shard::write_done(
        &opts.out,
        &crate::shard::Done {
            plan_id: plan.plan_id.clone(),
            shard: spec.index,
            shards: spec.count,
            dossiers: results.len(),
            finished_at: now(),
            host: crate::shard::host_name(),
        },
    )?;
    Ok(ShardOutcome { plan_id: plan.plan_id, summary, already_done })
}

/// `sohoa merge OUT`: once every shard of OUT's plan has finished, writes
/// the manifest, portal files and report from their records, exactly as a
/// plain run would. Refuses (nothing written) while a shard runs, when one
/// is missing or from another plan, or when two claim one dossier.
pub fn merge(out: &Path, progress: &dyn Progress) -> Result<Manifest, RunError> {
    if !out.is_dir() {
        return Err(RunError::Usage(format!("{} is not an output folder", out.display())));
    }
    let refused = |problem: String| RunError::MergeRefused { out: out.to_path_buf(), problems: vec![problem] };
    let running = |i: usize| state::Lock::is_held(&crate::shard::lock_path(out, i));
    let _lock = match state::Lock::acquire(out) {
        Ok(l) => l,
        Err(busy @ RunError::Busy { .. }) => {
            // Shards share OUT's lock: tell which ones hold it.
            let plan = crate::shard::read_plan(out).map_err(refused)?;
            let live: Vec<String> = (0..plan.shards).filter(|&i| running(i)).map(|i| i.to_string()).collect();
            return Err(match live.len() {
                0 => busy,
                1 => refused(format!("shard {} still runs", live[0])),
                _ => refused(format!("shards {} still run", live.join(", "))),
            });
        }
        Err(e) => return Err(e),
    };
    let plan = crate::shard::read_plan(out).map_err(refused)?;
    let entries = crate::shard::collect(out, &plan, &running)?;
    let rules = load_pipeline(plan.pipeline.as_deref())?;
    state::clean_temporaries(out);
    let (prev_manifest, _) = state::read_manifest(out);
    let results = entries.into_iter().map(|e| (e.record, e.carried_over)).collect();
    let closing = Closing {
        out,
        input: plan.input.clone(),
        started_at: plan.created_at.clone(),
        lang: plan.lang.clone(),
        jobs: plan.jobs,
        rules: &rules,
        prev_manifest: prev_manifest.as_ref(),
        walk_errors: plan.input_errors.clone(),
    };
    finish(closing, results, progress)
}

/// Now, UTC, RFC 3339 (the manifest's times).
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Digitizes one dossier. Page and file problems go into the record; an
/// output that cannot be written is an error that stops the run.
fn process_dossier(
    d: &DossierDir,
    file_hashes: &[Option<String>],
    opts: &Options,
    rules: &Rules,
    out: &Path,
    layout: &Layout,
    progress: &dyn Progress,
) -> Result<DossierRecord, RunError> {
    inject_fault("dossier", &d.rel);
    let OpenedDossier { units, files: pdfs, signed, extra_pages } = open_dossier(d);
    if extra_pages > 0 {
        progress.add_pages(extra_pages);
    }
    // Each page's image waits on disk for the PDFs, not in memory.
    let spool = Spool::new(out).map_err(|e| RunError::Output { path: out.to_path_buf(), source: e })?;
    // One page per task, so that a worker left idle at the end of the night
    // takes the next page of a dossier another worker is still reading
    // (rayon otherwise hands a worker the rest of a dossier as one piece).
    let outs: Vec<(PageRecord, Option<ForPdf>)> = units
        .into_par_iter()
        .with_max_len(1)
        .enumerate()
        .map(|(idx, (fi, frame, counted))| {
            let f = &d.files[fi];
            let mut out = match counted {
                Err(e) => error_page(idx + 1, &f.name, 0, &e),
                Ok(()) => process_page(idx + 1, &f.path, &f.name, frame.unwrap_or(0), &pdfs[fi], opts),
            };
            out.record.source_sha256 = file_hashes.get(fi).cloned().flatten();
            progress.page_done(&d.rel, &out.record);
            let pdf = match out.pdf {
                Some((embed, dpi, geom, ocr)) => {
                    let embed = if opts.pdfa { decode::for_pdfa(embed) } else { embed };
                    Some((spool.put(embed)?, dpi, geom, ocr))
                }
                None => None,
            };
            Ok((out.record, pdf))
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e| RunError::Output { path: out.to_path_buf(), source: e })?;
    drop(pdfs);
    let read = ReadDossier { dir: d, pages: outs, signed, spool };
    assemble::dossier(read, Target { opts, rules, out, layout, digitized_at: now() })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The record of a dossier whose processing hit a bug: failed, with the
/// reason, so that the batch goes on and the dossier is redone next time.
fn crashed_dossier(d: &DossierDir, why: &str) -> DossierRecord {
    DossierRecord {
        source: d.rel.clone(),
        status: DossierStatus::Failed,
        pdf: None,
        pdf_sha256: None,
        pdf_bytes: None,
        pages: Vec::new(),
        fingerprint: None,
        fields: Default::default(),
        documents: Vec::new(),
        skipped_files: d.skipped.clone(),
        originals: Vec::new(),
        error: Some(format!("internal error, please report it: {why}")),
        digitized_at: Some(now()),
        corrections_to_confirm: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_that_changes_the_output_changes_the_settings_key() {
        let base = Options::new("in", "out");
        let key = settings_key(&base);
        let dir = std::env::temp_dir().join(format!("sohoa-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vie.traineddata"), b"another model").unwrap();
        std::fs::write(dir.join("rules.toml"), b"name = \"x\"\n").unwrap();
        type Change<'a> = Box<dyn Fn(&mut Options) + 'a>;
        let changed: [(&str, Change); 7] = [
            ("lang", Box::new(|o| o.lang = "eng".into())),
            ("tessdata", Box::new(|o| o.tessdata = Some(dir.clone()))),
            ("pdfa", Box::new(|o| o.pdfa = false)),
            ("second reader off", Box::new(|o| o.second_reader = false)),
            ("second reader elsewhere", Box::new(|o| o.second_reader_dir = Some(dir.clone()))),
            ("text layer shown", Box::new(|o| o.show_text_layer = true)),
            ("pipeline", Box::new(|o| o.pipeline = Some(dir.join("rules.toml")))),
        ];
        let installed = crate::aster::locate(None).is_ok();
        for (what, change) in changed {
            if what == "second reader elsewhere" && !installed {
                continue; // absent here and absent there: the same output
            }
            let mut o = base.clone();
            change(&mut o);
            assert_ne!(settings_key(&o), key, "{what} changes the output but not the key");
        }
        // What changes no output changes no key.
        let mut o = base.clone();
        o.jobs = 7;
        o.force = true;
        o.max_missing = 1.0;
        assert_eq!(settings_key(&o), key);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
