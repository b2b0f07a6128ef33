//! The `sohoa` command: parses arguments, runs the library, maps the outcome
//! to an exit code. No pipeline logic lives here.
//!
//! Exit codes: 0 every dossier ok; 1 the batch finished with partial or failed
//! dossiers; 2 bad usage or input; 3 a missing dependency (Tesseract or its
//! language data); 4 the output could not be written (full disk, permissions);
//! 5 another run is using the output folder; 6 the input looks gone; 7 the
//! portal refused; 8 the shards cannot be merged yet.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sohoa::{manifest::DossierStatus, manifest::PageStatus, DossierRecord, Options, PageRecord, Progress, RunError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "sohoa",
    version,
    about = "Digitize scanned dossiers into searchable PDFs and manifests",
    after_long_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Exit codes and files, for `--help` and the manual page.
const AFTER_HELP: &str = "Exit status: 0 every dossier ok; 1 the batch finished with partial or failed \
dossiers; 2 bad usage, input or config file; 3 a missing dependency (Tesseract or its language data, or poppler when there are PDFs to read); \
4 the output could not be written; 5 another run is using the output folder; 6 the input looks \
gone (an unmounted share) and nothing was changed; 7 (push) the portal could not be reached or \
refused the login, and nothing was sent; 8 (merge) the shards are not ready (one runs, is missing, \
unfinished or from another plan, or two claim one dossier) and nothing was changed. A shard \
(run --shard) exits 0 once its part is done.

Files: /etc/sohoa/sohoa.toml, the settings `sohoa run` reads when given no INPUT; \
OUT/manifest.json, OUT/report.html, OUT/portal/, OUT/dossiers/.";

// Parsed once per process: the size of the Run variant does not matter.
#[allow(clippy::large_enum_variant)]
/// The options of a night's work, shared by `run` and `plan` (a shard must
/// be run with its plan's).
#[derive(clap::Args)]
struct RunArgs {
    /// Folder tree of scans; each folder holding page files is a dossier
    /// (default: `input` of the config file).
    input: Option<PathBuf>,
    /// Output folder (PDFs under OUT/dossiers, OUT/manifest.json)
    /// (default: `output` of the config file).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Settings file (TOML; keys: input, output, jobs, lang, tessdata,
    /// page_timeout, pipeline, pdfa, second_reader, second_reader_dir,
    /// max_missing, log_file, log_json, quiet).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads [default: number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Tesseract language [default: vie].
    #[arg(long)]
    lang: Option<String>,
    /// Folder with Tesseract's traineddata files.
    #[arg(long)]
    tessdata: Option<PathBuf>,
    /// Seconds after which one page's OCR is abandoned as an error [default: 120].
    #[arg(long, value_name = "SECONDS")]
    page_timeout: Option<f64>,
    /// No progress output (for cron).
    #[arg(long, short)]
    quiet: bool,
    /// Field extraction rules (default: the built-in pipelines/tthc.toml).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// PDF/A-2b output (on) or plain PDF (off) [default: on].
    #[arg(long, value_parser = ["on", "off"])]
    pdfa: Option<String>,
    /// Redo every dossier, even those unchanged since the last run into OUT.
    #[arg(long)]
    force: bool,
    /// Also write one JSON object per event (dossier, page, error, summary) to FILE.
    #[arg(long, value_name = "FILE")]
    log_json: Option<PathBuf>,
    /// Also append a plain-text log of the run (dossiers, errors, summary,
    /// with local times) to FILE.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Draw the text layer visibly, to check its placement.
    #[arg(long, hide = true)]
    show_text_layer: bool,
    /// Folder of the second reader (asternet.onnx, vocab.json,
    /// libonnxruntime.so); default /usr/local/share/sohoa/asterocr, then
    /// /usr/share/sohoa/asterocr, then /usr/lib/sohoa/asterocr.
    #[arg(long, value_name = "DIR")]
    second_reader: Option<PathBuf>,
    /// Read with Tesseract alone, without the second reader.
    #[arg(long, conflicts_with = "second_reader")]
    no_second_reader: bool,
    /// Refuse the run (exit 6) when the input holds no dossier or more
    /// than this fraction of the last run's dossiers are missing from it
    /// (an unmounted share); 1 never refuses [default: 0.5].
    #[arg(long, value_name = "FRACTION")]
    max_missing: Option<f64>,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild OUT/report.html and OUT/report.csv from OUT/manifest.json (no OCR).
    Report {
        out: PathBuf,
        /// The pipeline the run used, for its required fields (default: built in).
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Digitize every dossier folder under INPUT into OUT.
    ///
    /// Settings may come from a file (--config FILE, or /etc/sohoa/sohoa.toml
    /// when neither INPUT nor --config is given); the command line overrides it.
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Do shard I of N of the plan in OUT (`sohoa plan`), 0-based; with N
        /// alone, I comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
        /// Exits 0 once its part is done: the merge reports the dossiers.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Freeze tonight's work for N shards in OUT/plan.json: the dossiers,
    /// their fingerprints and output folders, a page-weighted assignment.
    ///
    /// Then run `sohoa run INPUT --out OUT --shard I/N` for every I (on any
    /// machine sharing INPUT and OUT, with the same options), and `sohoa merge OUT`.
    Plan {
        #[command(flatten)]
        args: RunArgs,
        /// Number of shards.
        #[arg(long, value_name = "N")]
        shards: usize,
    },
    /// Write the manifest, portal files and report from the finished shards
    /// of OUT's plan (the same outputs as a plain run). Refuses (exit 8)
    /// while a shard runs, or when one is missing, unfinished or from another
    /// plan, or two claim one dossier.
    Merge {
        out: PathBuf,
        /// Print nothing when every dossier is ok (for cron and batch jobs).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Send the exported dossiers (OUT/portal) to the portal's sync endpoint:
    /// only those changed since it last accepted them.
    ///
    /// The endpoint, credentials file and unit code come from the config
    /// file's [portal] section (--config FILE, or /etc/sohoa/sohoa.toml).
    Push {
        /// Output folder of `sohoa run` (default: `output` of the config file).
        out: Option<PathBuf>,
        /// Settings file with a [portal] section.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Correct one field of one dossier (a clerk's check), kept in
    /// OUT/corrections.jsonl and applied by every later run; refreshes the
    /// manifest, portal files and report at once (no OCR).
    Correct {
        out: PathBuf,
        /// The dossier's code (ma_ho_so) or its folder under the input.
        #[arg(long)]
        dossier: String,
        /// The field's name in the pipeline (e.g. ho_ten).
        #[arg(long)]
        field: String,
        /// The right value (checked like a value read by OCR).
        #[arg(long, required_unless_present = "absent")]
        value: Option<String>,
        /// The dossier does not hold this field (with no --value, or --value '').
        #[arg(long)]
        absent: bool,
        /// Who corrects (default: the login name).
        #[arg(long)]
        by: Option<String>,
        /// Keep a value that fails the field's checks.
        #[arg(long)]
        force: bool,
        /// The pipeline the run used (default: built in).
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// The verification station: a web page where clerks check and correct
    /// the fields of the dossiers held back for review (in Vietnamese).
    Review {
        out: PathBuf,
        /// Address to listen on; any address other than loopback needs --token-file.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// A file holding the access token every request must carry (readable
        /// by its owner only).
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// The pipeline the run used (default: built in).
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Write the manual pages (man: sohoa.1, sohoa-run.1, sohoa-report.1)
    /// or a shell completion script into DIR (for packaging).
    #[command(hide = true)]
    Generate {
        #[arg(value_parser = ["man", "bash", "zsh", "fish"])]
        what: String,
        dir: PathBuf,
    },
}

fn main() {
    ensure_start_environment();
    quiet_panics();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Command::Report { out, pipeline } => report(&out, pipeline.as_deref()),
        Command::Generate { what, dir } => generate(&what, &dir),
        Command::Correct { out, dossier, field, value, absent, by, force, pipeline } => {
            let by = by
                .or_else(|| std::env::var("SUDO_USER").ok())
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            if absent && value.as_deref().is_some_and(|v| !v.is_empty()) {
                usage("--absent says the dossier does not hold the field: give no --value (or --value '')");
            }
            let value = if absent { None } else { value };
            let req = sohoa::corrections::Request {
                dossier: &dossier,
                field: &field,
                value: value.as_deref(),
                by: &by,
                force,
            };
            correct(&out, &req, pipeline.as_deref())
        }
        Command::Review { out, listen, token_file, pipeline } => review(&out, listen, token_file, pipeline.as_deref()),
        Command::Push { out, config } => push(out, config),
        Command::Merge { out, quiet } => {
            let reporter = Reporter::new(quiet, None);
            let r = sohoa::merge(&out, &reporter);
            reporter.finish();
            match r {
                Ok(m) => night_done(&m, &reporter, quiet, &out),
                Err(e) => stopped(&reporter, &e),
            }
        }
        Command::Run { args, shard: None } => night(args, Mode::Run),
        Command::Run { args, shard: Some(s) } => {
            match sohoa::ShardSpec::parse(&s, |v| std::env::var(v).ok().filter(|x| !x.is_empty())) {
                Ok(spec) => night(args, Mode::Shard(spec)),
                Err(e) => usage(&e),
            }
        }
        Command::Plan { args, shards } => night(args, Mode::Plan(shards)),
    };
    std::process::exit(code);
}

/// `sohoa report`: the report rebuilt from the manifest.
fn report(out: &std::path::Path, pipeline: Option<&std::path::Path>) -> i32 {
    let r = sohoa::pipeline::load_pipeline(pipeline).and_then(|rules| sohoa::report::rebuild(out, &rules));
    match r {
        Ok(_) => {
            eprintln!("sohoa: wrote {} and {}", out.join("report.html").display(), out.join("report.csv").display());
            0
        }
        Err(e) => failed(&e),
    }
}

/// `sohoa correct`: one clerk's correction, said as old -> new.
fn correct(out: &std::path::Path, req: &sohoa::corrections::Request, pipeline: Option<&std::path::Path>) -> i32 {
    let r = sohoa::pipeline::load_pipeline(pipeline).and_then(|rules| sohoa::corrections::correct(out, &rules, req));
    match r {
        Ok((c, warnings)) => {
            for w in warnings {
                eprintln!("sohoa: warning: {w}");
            }
            eprintln!(
                "sohoa: {} of {}: {} -> {} (by {})",
                c.field,
                c.dossier,
                c.old.as_deref().unwrap_or("(not found)"),
                c.new.as_deref().unwrap_or("(not in the dossier)"),
                c.by
            );
            0
        }
        Err(e) => failed(&e),
    }
}

/// `sohoa review`: the verification station, until stopped.
fn review(
    out: &std::path::Path,
    listen: String,
    token_file: Option<PathBuf>,
    pipeline: Option<&std::path::Path>,
) -> i32 {
    let token = match token_file.as_deref().map(read_token).transpose() {
        Ok(t) => t,
        Err(e) => usage(&e),
    };
    let by = std::env::var("USER").unwrap_or_else(|_| "cán bộ".into());
    let opts = sohoa::review::ReviewOptions { listen, token, by_default: by };
    let r = sohoa::pipeline::load_pipeline(pipeline).and_then(|rules| {
        sohoa::review::serve(out, &rules, &opts, &|addr| {
            eprintln!("sohoa: review station at http://{addr}/ (Ctrl-C to stop)")
        })
    });
    match r {
        Ok(()) => 0,
        Err(e) => failed(&e),
    }
}

/// What a night's command does with its run options.
enum Mode {
    Run,
    Plan(usize),
    Shard(sohoa::ShardSpec),
}

/// The run options from the command line over the settings file, with
/// how the night reports: said plainly, a log file, a JSON log.
struct Night {
    opts: Options,
    quiet: bool,
    log_json: Option<PathBuf>,
    log_file: Option<PathBuf>,
}

/// The command line over the settings file (the packaged service's when
/// the command line names neither input nor file); bad values are usage
/// errors.
fn night_settings(args: RunArgs) -> Night {
    let RunArgs {
        input,
        out,
        config,
        jobs,
        lang,
        tessdata,
        page_timeout,
        quiet,
        pipeline,
        pdfa,
        force,
        log_json,
        log_file,
        show_text_layer,
        second_reader,
        no_second_reader,
        max_missing,
    } = args;
    let config_path = config.or_else(|| {
        let default = PathBuf::from(sohoa::config::DEFAULT_PATH);
        (input.is_none() && default.is_file()).then_some(default)
    });
    let cfg = match config_path.as_deref().map(sohoa::config::RunConfig::load).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => usage(&e.to_string()),
    };
    let Some(input) = input.or(cfg.input) else {
        usage(&format!(
            "no input folder: give INPUT, or `input` in a config file (--config FILE, or {})",
            sohoa::config::DEFAULT_PATH
        ))
    };
    let Some(out) = out.or(cfg.output) else {
        usage("no output folder: give --out OUT, or `output` in the config file")
    };
    let mut opts = Options::new(input, out);
    if let Some(j) = jobs.or(cfg.jobs) {
        if j == 0 {
            usage("--jobs must be at least 1");
        }
        opts.jobs = j;
    }
    if let Some(l) = lang.or(cfg.lang) {
        opts.lang = l;
    }
    opts.tessdata = tessdata.or(cfg.tessdata);
    let page_timeout = page_timeout.or(cfg.page_timeout).unwrap_or(120.0);
    if !(page_timeout.is_finite() && page_timeout > 0.0) {
        usage("--page-timeout must be a positive number of seconds");
    }
    opts.page_timeout = Duration::from_secs_f64(page_timeout.min(86_400.0));
    opts.show_text_layer = show_text_layer;
    opts.pipeline = pipeline.or(cfg.pipeline);
    opts.pdfa = match pdfa {
        Some(p) => p == "on",
        None => cfg.pdfa.unwrap_or(true),
    };
    opts.force = force;
    opts.second_reader = !no_second_reader && (second_reader.is_some() || cfg.second_reader.unwrap_or(true));
    opts.second_reader_dir = second_reader.or(cfg.second_reader_dir);
    let max_missing = max_missing.or(cfg.max_missing).unwrap_or(0.5);
    if !(0.0..=1.0).contains(&max_missing) {
        usage("--max-missing must be a fraction from 0 to 1");
    }
    opts.max_missing = max_missing;
    Night {
        opts,
        quiet: quiet || cfg.quiet.unwrap_or(false),
        log_json: log_json.or(cfg.log_json),
        log_file: log_file.or(cfg.log_file),
    }
}

/// `sohoa run`, `sohoa run --shard` and `sohoa plan`; the exit code.
fn night(args: RunArgs, mode: Mode) -> i32 {
    let Night { opts, quiet, log_json, log_file } = night_settings(args);
    let log_file = match log_file.map(|p| open_log(&p).map_err(|e| (p, e))).transpose() {
        Ok(f) => f,
        Err((p, e)) => {
            eprintln!("sohoa: cannot write the log file {}: {e}", p.display());
            return 4;
        }
    };
    let reporter = Reporter::new(quiet, log_file);
    let json_log = match log_json.as_deref().map(sohoa::events::JsonLog::create).transpose() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sohoa: cannot write the JSON log {}: {e}", log_json.unwrap_or_default().display());
            return 4;
        }
    };
    let both;
    let progress: &dyn Progress = match &json_log {
        Some(l) => {
            both = sohoa::events::Both(&reporter, l);
            &both
        }
        None => &reporter,
    };
    match mode {
        Mode::Run => {
            let r = sohoa::run(&opts, progress);
            reporter.finish();
            match r {
                Ok(m) => night_done(&m, &reporter, quiet, &opts.out),
                Err(e) => stopped(&reporter, &e),
            }
        }
        Mode::Plan(n) => {
            let r = sohoa::plan(&opts, n, progress);
            reporter.finish();
            match r {
                Ok(p) => {
                    let line = plan_summary(&p, &opts.out);
                    reporter.log(&line);
                    if !quiet {
                        eprintln!("sohoa: {line}");
                    }
                    0
                }
                Err(e) => stopped(&reporter, &e),
            }
        }
        Mode::Shard(spec) => {
            let r = sohoa::run_shard(&opts, spec, progress);
            reporter.finish();
            match r {
                Ok(o) => {
                    let s = &o.summary;
                    let line = format!(
                        "shard {}/{} of plan {}: {} dossiers ({} ok, {} partial, {} failed; {} carried over, {} done \
                         by an earlier try), {} pages read; `sohoa merge {}` once every shard is done",
                        spec.index,
                        spec.count,
                        o.plan_id,
                        s.dossiers,
                        s.dossiers_ok,
                        s.dossiers_partial,
                        s.dossiers_failed,
                        s.dossiers_reused,
                        o.already_done,
                        s.pages_ocr,
                        opts.out.display()
                    );
                    reporter.log(&line);
                    if !quiet {
                        eprintln!("sohoa: {line}");
                    }
                    // The shard did its part: partial and failed dossiers are
                    // the merge's to report (a scheduler must not hold the
                    // merge back).
                    0
                }
                Err(e) => stopped(&reporter, &e),
            }
        }
    }
}

/// A run that stopped: said, logged, and its exit code.
fn stopped(reporter: &Reporter, e: &RunError) -> ! {
    reporter.log(&format!("stopped: {e}"));
    std::process::exit(failed(e));
}

/// A command that failed: said, and its exit code.
fn failed(e: &RunError) -> i32 {
    eprintln!("sohoa: {e}");
    exit_code(e)
}

/// Says how a night (a run or a merge) went; its exit code.
fn night_done(m: &sohoa::Manifest, reporter: &Reporter, quiet: bool, out: &std::path::Path) -> i32 {
    let s = &m.summary;
    let summary = format!(
        "{} dossiers ({} ok, {} partial, {} failed), {} pages ({} ok, {} blank, {} error, {} low dpi) -> {}",
        s.dossiers,
        s.dossiers_ok,
        s.dossiers_partial,
        s.dossiers_failed,
        s.pages,
        s.pages_ok,
        s.pages_blank,
        s.pages_error,
        s.pages_low_dpi,
        out.join("manifest.json").display()
    );
    reporter.log(&format!("done: {summary}"));
    if !quiet {
        eprintln!("sohoa: {summary}");
    }
    // Under cron, output is mail: nothing when all went well, a
    // short list of what needs a person otherwise.
    print_attention(m, reporter, quiet);
    if s.dossiers_partial + s.dossiers_failed > 0 {
        1
    } else {
        0
    }
}

/// One line about a plan: its id, the work and how it is spread.
fn plan_summary(p: &sohoa::Plan, out: &std::path::Path) -> String {
    let mut per = vec![(0usize, 0u64); p.shards];
    for d in &p.dossiers {
        per[d.shard].0 += 1;
        per[d.shard].1 += d.pages;
    }
    let carried = p.dossiers.iter().filter(|d| d.carried_over).count();
    let pages: u64 = p.dossiers.iter().map(|d| d.pages).sum();
    let shards: Vec<String> =
        per.iter().enumerate().map(|(i, (d, pg))| format!("{i}: {d} dossiers, {pg} pages")).collect();
    format!(
        "plan {}: {} dossiers ({} to read, {} pages; {} carried over) in {} shards ({}) -> {}",
        p.plan_id,
        p.dossiers.len(),
        p.dossiers.len() - carried,
        pages,
        carried,
        p.shards,
        shards.join("; "),
        out.join("plan.json").display()
    )
}

/// `sohoa push`: 0 when everything changed was accepted (or nothing
/// changed), 1 when some dossier was held back, refused or not delivered.
fn push(out: Option<PathBuf>, config: Option<PathBuf>) -> i32 {
    let path = config.unwrap_or_else(|| PathBuf::from(sohoa::config::DEFAULT_PATH));
    let cfg = match sohoa::config::RunConfig::load(&path) {
        Ok(c) => c,
        Err(e) => usage(&e.to_string()),
    };
    let Some(out) = out.or(cfg.output) else { usage("no output folder: give OUT, or `output` in the config file") };
    let Some(portal) = cfg.portal else {
        usage(&format!("config file {}: no [portal] section (auth_url, sync_url, credentials_file)", path.display()))
    };
    match sohoa::push::push(&out, &portal, &|line| eprintln!("sohoa: {line}")) {
        Ok(r) => {
            eprintln!(
                "sohoa: push: {} sent, {} unchanged, {} held back, {} refused, {} not delivered",
                r.sent.len(),
                r.unchanged,
                r.held.len(),
                r.refused.len(),
                r.failed.len()
            );
            if r.all_sent() {
                0
            } else {
                1
            }
        }
        Err(e) => failed(&e),
    }
}

/// Panics inside a dossier or a decoder are caught by the library and
/// reported as that dossier's or page's error (manifest, report, the attention
/// list): the default hook's "thread panicked at" lines would only print past
/// `--quiet`. A panic anywhere else is a bug that stops the run: that one is
/// said, on stderr, as an internal error.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if std::thread::current().name() == Some("main") {
            eprintln!("sohoa: internal error, please report it: {info}");
        }
    }));
}

/// The review station's access token, from a file only its owner can read.
fn read_token(path: &std::path::Path) -> Result<String, String> {
    let bad = |why: String| format!("token file {}: {why}", path.display());
    let t = sohoa::fsutil::read_private(path).map_err(bad)?.trim().to_string();
    if t.len() < 16 {
        return Err(bad("the token must be at least 16 characters".into()));
    }
    Ok(t)
}

/// Bad usage: the message and exit code 2.
fn usage(message: &str) -> ! {
    eprintln!("sohoa: {message}");
    std::process::exit(2);
}

/// Writes the manual pages or a completion script, made from the argument
/// definitions above, into `dir` (`scripts/package` calls this).
fn generate(what: &str, dir: &std::path::Path) -> i32 {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let result = std::fs::create_dir_all(dir).and_then(|()| match what {
        "man" => clap_mangen::generate_to(cmd, dir),
        shell => {
            let shell = match shell {
                "bash" => clap_complete::Shell::Bash,
                "zsh" => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            clap_complete::generate_to(shell, &mut cmd.clone(), "sohoa", dir).map(|_| ())
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sohoa: {}: {e}", dir.display());
            4
        }
    }
}

/// The dossiers that failed or are partial, and the input that could not be
/// read, one line each: into the log file, and on stderr with `--quiet`.
fn print_attention(m: &sohoa::manifest::Manifest, reporter: &Reporter, print: bool) {
    use sohoa::manifest::DossierStatus;
    let bad: Vec<_> = m.dossiers.iter().filter(|d| d.status != DossierStatus::Ok).collect();
    if bad.is_empty() && m.input_errors.is_empty() {
        return;
    }
    let mut lines = vec![format!("{} of {} dossiers need attention:", bad.len(), m.dossiers.len())];
    for d in bad {
        let status = if d.status == DossierStatus::Failed { "failed" } else { "partial" };
        let first = d.pages.iter().find_map(|p| p.error.as_deref()).unwrap_or("");
        lines.push(format!("  {status}: {} ({first})", d.source));
    }
    for e in &m.input_errors {
        lines.push(format!("  not read: {} ({})", e.path, e.error));
    }
    for (i, line) in lines.iter().enumerate() {
        reporter.log(line);
        if print {
            eprintln!("{}{line}", if i == 0 { "sohoa: " } else { "" });
        }
    }
}

fn exit_code(e: &RunError) -> i32 {
    match e {
        RunError::Usage(_) | RunError::BadInput { .. } => 2,
        RunError::MissingDependency { .. } => 3,
        RunError::Output { .. } => 4,
        RunError::Busy { .. } => 5,
        RunError::InputVanished { .. } => 6,
        RunError::Portal { .. } => 7,
        RunError::MergeRefused { .. } => 8,
    }
}

/// Environment the process must start with, because libraries read it when
/// they load, before `main`:
/// - Tesseract's OpenMP reads OMP_THREAD_LIMIT: one thread per engine, one
///   engine per worker (about 3x faster than engines fighting over threads);
/// - glibc's malloc reads its thresholds: page rasters (several MB each) are
///   then reused from the heap instead of being mapped and unmapped for every
///   page, which cost 0.8 s of kernel time per corpus run with two workers
///   (BENCHMARKS.md).
///
/// Values the user set are kept.
const START_ENV: [(&str, &str); 3] =
    [("OMP_THREAD_LIMIT", "1"), ("MALLOC_MMAP_THRESHOLD_", "134217728"), ("MALLOC_TRIM_THRESHOLD_", "268435456")];

/// Restarts the process once with `START_ENV` set, when some of it is missing.
fn ensure_start_environment() {
    let missing: Vec<(&str, &str)> = START_ENV.iter().copied().filter(|(k, _)| std::env::var_os(k).is_none()).collect();
    if missing.is_empty() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).envs(missing).exec();
            eprintln!("sohoa: warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR may be slower");
        }
    }
}

/// Progress on a terminal (a bar), plain lines otherwise, nothing with --quiet.
struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
    dossiers_done: AtomicUsize,
    dossiers_total: AtomicUsize,
    /// The plain-text log file (`--log-file`), written whatever `--quiet` says.
    log: Option<Log>,
}

/// An appended log file whose lines start with the local time.
struct Log {
    file: std::sync::Mutex<std::fs::File>,
    offset: time::UtcOffset,
}

/// Opens FILE for appending (creating it and its folder). The local offset
/// is read here, while the process has one thread (the time crate refuses to
/// read it later).
fn open_log(path: &std::path::Path) -> std::io::Result<Log> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    Ok(Log { file: std::sync::Mutex::new(file), offset })
}

impl Reporter {
    fn new(quiet: bool, log: Option<Log>) -> Reporter {
        if quiet {
            return Reporter { bar: None, plain: false, dossiers_done: 0.into(), dossiers_total: 0.into(), log };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} pages, {msg} ({per_sec}, ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Reporter { bar: Some(bar), plain: false, dossiers_done: 0.into(), dossiers_total: 0.into(), log }
        } else {
            Reporter { bar: None, plain: true, dossiers_done: 0.into(), dossiers_total: 0.into(), log }
        }
    }

    /// Appends one line to the log file, if there is one. A log that cannot
    /// be written does not stop the run (the manifest is the record).
    fn log(&self, line: &str) {
        use std::io::Write;
        let Some(log) = &self.log else { return };
        let now = time::OffsetDateTime::now_utc().to_offset(log.offset);
        let fmt = time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        );
        let stamp = now.format(&fmt).unwrap_or_default();
        if let Ok(mut f) = log.file.lock() {
            let _ = writeln!(f, "{stamp} {line}");
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Reporter {
    fn start(&self, dossiers: usize, pages: usize) {
        if let Some(b) = &self.bar {
            b.set_length(pages as u64);
            b.set_message(format!("0/{dossiers} dossiers"));
            self.dossiers_total.store(dossiers, Ordering::Relaxed);
        } else if self.plain {
            eprintln!("sohoa: {dossiers} dossiers, {pages} page files");
        }
        self.log(&format!("start: {dossiers} dossiers, {pages} page files"));
    }
    fn add_pages(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc_length(n as u64);
        }
    }
    fn page_done(&self, dossier: &str, p: &PageRecord) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
        if p.status == PageStatus::Error {
            let msg = format!(
                "sohoa: error: {dossier}/{} (page {}): {}",
                p.source,
                p.frame + 1,
                p.error.as_deref().unwrap_or("")
            );
            self.log(msg.trim_start_matches("sohoa: "));
            match &self.bar {
                Some(b) => b.println(msg),
                None if self.plain => eprintln!("{msg}"),
                None => {}
            }
        }
    }
    fn dossier_done(&self, d: &DossierRecord) {
        let status = match d.status {
            DossierStatus::Ok => "ok",
            DossierStatus::Partial => "partial",
            DossierStatus::Failed => "failed",
        };
        if let Some(b) = &self.bar {
            let done = self.dossiers_done.fetch_add(1, Ordering::Relaxed) + 1;
            b.set_message(format!("{done}/{} dossiers", self.dossiers_total.load(Ordering::Relaxed)));
        } else if self.plain {
            eprintln!("sohoa: {status}: {} ({} pages)", d.source, d.pages.len());
        }
        self.log(&format!("{status}: {} ({} pages)", d.source, d.pages.len()));
    }
    fn warn(&self, message: &str) {
        // With --quiet, warnings are in the manifest, the report and the logs.
        self.log(&format!("warning: {message}"));
        match &self.bar {
            Some(b) => b.println(format!("sohoa: warning: {message}")),
            None if self.plain => eprintln!("sohoa: warning: {message}"),
            None => {}
        }
    }
}
