//! The run's settings from a file (`/etc/sohoa/sohoa.toml` on an office
//! server), so that a nightly timer starts the run with no options on its
//! command line and an IT officer changes one file, not a unit. It exists
//! apart from `main` because the file is a contract with that officer: every
//! key is named here, an unknown key (a typo that would otherwise be ignored
//! until the night it mattered) is an error naming it, and relative paths are
//! taken from the file's own folder, not from wherever the run was started.
//! The command line overrides the file, key by key; `main` does that merge.

use crate::error::RunError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the packaged service's settings live; read when `sohoa run` is given
/// neither an input folder nor `--config`.
pub const DEFAULT_PATH: &str = "/etc/sohoa/sohoa.toml";

/// The settings of a run, each optional: a key left out takes the command
/// line's value, then the built-in default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Folder tree of scans (the mounted share).
    pub input: Option<PathBuf>,
    /// Output folder (PDFs, manifest, portal files, report).
    pub output: Option<PathBuf>,
    /// Worker threads; the number of cores when absent.
    pub jobs: Option<usize>,
    /// Tesseract language, e.g. "vie".
    pub lang: Option<String>,
    /// Folder holding `<lang>.traineddata`.
    pub tessdata: Option<PathBuf>,
    /// Seconds after which one page is abandoned as an error.
    pub page_timeout: Option<f64>,
    /// Field extraction rules and the portal's codes (a pipeline TOML file).
    pub pipeline: Option<PathBuf>,
    /// PDF/A-2b (true, the default) or plain PDF (false).
    pub pdfa: Option<bool>,
    /// Ask the second reader about words Tesseract is unsure of (default true).
    pub second_reader: Option<bool>,
    /// Folder of the second reader's files.
    pub second_reader_dir: Option<PathBuf>,
    /// Refuse the run when more than this fraction of the last run's
    /// dossiers are missing from the input (an unmounted share).
    pub max_missing: Option<f64>,
    /// Plain-text log of the run, appended to (one line per dossier, error
    /// and summary, with local times).
    pub log_file: Option<PathBuf>,
    /// One JSON object per event, appended to.
    pub log_json: Option<PathBuf>,
    /// Print only what needs a person (for cron mail).
    pub quiet: Option<bool>,
    /// Where `sohoa push` sends the portal files (`[portal]`).
    pub portal: Option<crate::push::PushConfig>,
}

impl RunConfig {
    /// Reads and checks a settings file. Errors name the file, and for an
    /// unknown key or a wrong type, the key and its line.
    pub fn load(path: &Path) -> Result<RunConfig, RunError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RunError::Usage(format!("config file {}: {e}", path.display())))?;
        let mut c: RunConfig = toml::from_str(&text)
            .map_err(|e| RunError::Usage(format!("config file {}: {}", path.display(), e.to_string().trim_end())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut c.input,
            &mut c.output,
            &mut c.tessdata,
            &mut c.pipeline,
            &mut c.second_reader_dir,
            &mut c.log_file,
            &mut c.log_json,
        ]
        .into_iter()
        .flatten()
        .chain(c.portal.as_mut().map(|p| &mut p.credentials_file))
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` as `sohoa.toml` in a fresh folder that is removed when
    /// the returned guard drops.
    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sohoa.toml");
        std::fs::write(&f, text).unwrap();
        (dir, f)
    }

    #[test]
    fn relative_paths_are_taken_from_the_files_folder() {
        let (dir, f) = write("input = \"scans\"\noutput = \"/var/lib/sohoa/out\"\njobs = 2\npdfa = false\n");
        let c = RunConfig::load(&f).unwrap();
        assert_eq!(c.input, Some(dir.path().join("scans")));
        assert_eq!(c.output, Some(PathBuf::from("/var/lib/sohoa/out")));
        assert_eq!(c.jobs, Some(2));
        assert_eq!(c.pdfa, Some(false));
        assert_eq!(c.lang, None);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let (_dir, f) = write("input = \"/srv/scans\"\njbos = 2\n");
        let e = RunConfig::load(&f).unwrap_err().to_string();
        assert!(e.contains("jbos") && e.contains("sohoa.toml"), "{e}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let (_dir, f) = write("jobs = \"two\"\n\n\n");
        let e = RunConfig::load(&f).unwrap_err().to_string();
        assert!(e.contains("jobs"), "{e}");
    }
}
