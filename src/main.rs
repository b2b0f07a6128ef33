//! The `sohoa` command: parses arguments, runs the library, maps the outcome
//! to an exit code. No pipeline logic lives here.
//!
//! Exit codes: 0 every dossier ok; 1 the batch finished with partial or failed
//! dossiers; 2 bad usage or input; 3 a missing dependency (Tesseract or its
//! language data); 4 the output could not be written (full disk, permissions);
//! 5 another run is using the output folder.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sohoa::{manifest::DossierStatus, manifest::PageStatus, DossierRecord, Options, PageRecord, Progress, RunError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "sohoa", version, about = "Digitize scanned dossiers into searchable PDFs and manifests")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    Run {
        /// Folder tree of scans; each folder holding page files is a dossier.
        input: PathBuf,
        /// Output folder (PDFs under OUT/dossiers, OUT/manifest.json).
        #[arg(long)]
        out: PathBuf,
        /// Worker threads (default: number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Tesseract language.
        #[arg(long, default_value = "vie")]
        lang: String,
        /// Folder with Tesseract's traineddata files.
        #[arg(long)]
        tessdata: Option<PathBuf>,
        /// Seconds after which one page's OCR is abandoned as an error.
        #[arg(long, default_value_t = 120.0)]
        page_timeout: f64,
        /// No progress output (for cron).
        #[arg(long, short)]
        quiet: bool,
        /// Field extraction rules (default: the built-in pipelines/tthc.toml).
        #[arg(long)]
        pipeline: Option<PathBuf>,
        /// PDF/A-2b output (on) or plain PDF (off).
        #[arg(long, value_parser = ["on", "off"], default_value = "on")]
        pdfa: String,
        /// Redo every dossier, even those unchanged since the last run into OUT.
        #[arg(long)]
        force: bool,
        /// Also write one JSON object per event (dossier, page, error, summary) to FILE.
        #[arg(long, value_name = "FILE")]
        log_json: Option<PathBuf>,
        /// Draw the text layer visibly, to check its placement.
        #[arg(long, hide = true)]
        show_text_layer: bool,
        /// Folder of the second reader (asternet.onnx, vocab.json,
        /// libonnxruntime.so); default /usr/local/share/sohoa/asterocr, then
        /// /usr/share/sohoa/asterocr.
        #[arg(long, value_name = "DIR")]
        second_reader: Option<PathBuf>,
        /// Read with Tesseract alone, without the second reader.
        #[arg(long, conflicts_with = "second_reader")]
        no_second_reader: bool,
        /// Refuse the run (exit 6) when the input holds no dossier or more
        /// than this fraction of the last run's dossiers are missing from it
        /// (an unmounted share); 1 never refuses.
        #[arg(long, value_name = "FRACTION", default_value_t = 0.5)]
        max_missing: f64,
    },
}

fn main() {
    ensure_start_environment();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let command = cli.command;
    if let Command::Report { out, pipeline } = command {
        let r =
            sohoa::pipeline::load_pipeline(pipeline.as_deref()).and_then(|rules| sohoa::report::rebuild(&out, &rules));
        match r {
            Ok(_) => {
                eprintln!(
                    "sohoa: wrote {} and {}",
                    out.join("report.html").display(),
                    out.join("report.csv").display()
                );
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("sohoa: {e}");
                std::process::exit(exit_code(&e));
            }
        }
    }
    let Command::Run {
        input,
        out,
        jobs,
        lang,
        tessdata,
        page_timeout,
        quiet,
        pipeline,
        pdfa,
        force,
        log_json,
        show_text_layer,
        second_reader,
        no_second_reader,
        max_missing,
    } = command
    else {
        unreachable!("report handled above")
    };
    let mut opts = Options::new(input, out);
    if let Some(j) = jobs {
        if j == 0 {
            eprintln!("sohoa: --jobs must be at least 1");
            std::process::exit(2);
        }
        opts.jobs = j;
    }
    opts.lang = lang;
    opts.tessdata = tessdata;
    if !(page_timeout.is_finite() && page_timeout > 0.0) {
        eprintln!("sohoa: --page-timeout must be a positive number of seconds");
        std::process::exit(2);
    }
    opts.page_timeout = Duration::from_secs_f64(page_timeout.min(86_400.0));
    opts.show_text_layer = show_text_layer;
    opts.pipeline = pipeline;
    opts.pdfa = pdfa == "on";
    opts.force = force;
    opts.second_reader = !no_second_reader;
    opts.second_reader_dir = second_reader;
    if !(0.0..=1.0).contains(&max_missing) {
        eprintln!("sohoa: --max-missing must be a fraction from 0 to 1");
        std::process::exit(2);
    }
    opts.max_missing = max_missing;

    let reporter = Reporter::new(quiet);
    let json_log = match log_json.as_deref().map(sohoa::events::JsonLog::create).transpose() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sohoa: cannot write the JSON log {}: {e}", log_json.unwrap_or_default().display());
            std::process::exit(4);
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
    match sohoa::run(&opts, progress) {
        Ok(m) => {
            reporter.finish();
            let s = &m.summary;
            if !quiet {
                eprintln!(
                    "sohoa: {} dossiers ({} ok, {} partial, {} failed), {} pages ({} ok, {} blank, {} error, {} low dpi) -> {}",
                    s.dossiers, s.dossiers_ok, s.dossiers_partial, s.dossiers_failed, s.pages, s.pages_ok, s.pages_blank,
                    s.pages_error, s.pages_low_dpi, opts.out.join("manifest.json").display()
                );
            }
            if quiet {
                // Under cron, output is mail: nothing when all went well, a
                // short list of what needs a person otherwise.
                print_attention(&m);
            }
            std::process::exit(if s.dossiers_partial + s.dossiers_failed > 0 { 1 } else { 0 });
        }
        Err(e) => {
            reporter.finish();
            eprintln!("sohoa: {e}");
            std::process::exit(exit_code(&e));
        }
    }
}

/// The dossiers that failed or are partial, and the input that could not be
/// read, one line each (for `--quiet`).
fn print_attention(m: &sohoa::manifest::Manifest) {
    use sohoa::manifest::DossierStatus;
    let bad: Vec<_> = m.dossiers.iter().filter(|d| d.status != DossierStatus::Ok).collect();
    if bad.is_empty() && m.input_errors.is_empty() {
        return;
    }
    eprintln!("sohoa: {} of {} dossiers need attention:", bad.len(), m.dossiers.len());
    for d in bad {
        let status = if d.status == DossierStatus::Failed { "failed" } else { "partial" };
        let first = d.pages.iter().find_map(|p| p.error.as_deref()).unwrap_or("");
        eprintln!("  {status}: {} ({first})", d.source);
    }
    for e in &m.input_errors {
        eprintln!("  not read: {} ({})", e.path, e.error);
    }
}

fn exit_code(e: &RunError) -> i32 {
    match e {
        RunError::Usage(_) | RunError::BadInput { .. } => 2,
        RunError::MissingDependency { .. } => 3,
        RunError::Output { .. } => 4,
        RunError::Busy { .. } => 5,
        RunError::InputVanished { .. } => 6,
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
}

impl Reporter {
    fn new(quiet: bool) -> Reporter {
        if quiet {
            return Reporter { bar: None, plain: false, dossiers_done: 0.into(), dossiers_total: 0.into() };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} pages, {msg} ({per_sec}, ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Reporter { bar: Some(bar), plain: false, dossiers_done: 0.into(), dossiers_total: 0.into() }
        } else {
            Reporter { bar: None, plain: true, dossiers_done: 0.into(), dossiers_total: 0.into() }
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
    }
    fn warn(&self, message: &str) {
        // With --quiet, warnings are in the manifest, the report and --log-json.
        match &self.bar {
            Some(b) => b.println(format!("sohoa: warning: {message}")),
            None if self.plain => eprintln!("sohoa: warning: {message}"),
            None => {}
        }
    }
}
