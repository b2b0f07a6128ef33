//! Recognition with Tesseract. This module owns the Tesseract handle and turns
//! its TSV output (level 4 lines, level 5 words, with boxes and confidences)
//! into the engine-neutral [`OcrPage`]. One [`Engine`] serves one worker thread
//! for the whole run: loading the language model costs more than a page.
//!
//! Tesseract links OpenMP; with more than one engine per process it must run
//! single-threaded (`OMP_THREAD_LIMIT=1` in the environment at process start),
//! which the binary sees to. Nothing here knows about files or dossiers.

use crate::error::PageErrorKind as K;
use crate::model::{OcrLine, OcrPage, OcrWord, Segmentation};
use crate::raster::Gray;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tesseract_sys as t;
use unicode_normalization::UnicodeNormalization;

/// Why an engine could not start: the language data is missing or unreadable.
#[derive(Debug, thiserror::Error)]
#[error("Tesseract could not load language '{lang}' (data path {datapath}); is its traineddata installed?")]
pub(crate) struct EngineError {
    pub lang: String,
    pub datapath: String,
}

/// Where Tesseract looks for language data when no folder is given: the
/// TESSDATA_PREFIX variable, then Debian's and the usual install folders.
fn default_tessdata_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
        let p = PathBuf::from(p);
        dirs.push(p.join("tessdata"));
        dirs.push(p);
    }
    for d in [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// The languages whose data is installed (`<lang>.traineddata`, without the
/// orientation model `osd`), sorted, for the message when a language is not.
pub(crate) fn installed_languages(datapath: Option<&Path>) -> Vec<String> {
    let dirs = match datapath {
        Some(d) => vec![d.to_path_buf()],
        None => default_tessdata_dirs(),
    };
    let mut langs: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".traineddata")).map(str::to_string))
        .filter(|l| l != "osd")
        .collect();
    langs.sort();
    langs.dedup();
    langs
}

/// What decides how Tesseract reads, for the settings fingerprint: the
/// library's version and, for each language of `lang`, the size of the
/// traineddata file it will load (another model gives other words).
pub(crate) fn reader_identity(datapath: Option<&Path>, lang: &str) -> String {
    // SAFETY: TessVersion returns a pointer to a static NUL-terminated
    // string owned by the library, valid for the life of the process.
    let version = unsafe {
        let v = t::TessVersion();
        if v.is_null() {
            String::new()
        } else {
            CStr::from_ptr(v).to_string_lossy().into_owned()
        }
    };
    let dirs = match datapath {
        Some(d) => vec![d.to_path_buf()],
        None => default_tessdata_dirs(),
    };
    let models: Vec<String> = lang
        .split('+')
        .map(|l| {
            let size = dirs.iter().find_map(|d| std::fs::metadata(d.join(format!("{l}.traineddata"))).ok());
            format!("{l}:{}", size.map_or("none".to_string(), |m| m.len().to_string()))
        })
        .collect();
    format!("tesseract {version} {}", models.join(" "))
}

/// A Tesseract instance, initialized once for a language.
pub(crate) struct Engine {
    api: *mut t::TessBaseAPI,
    osd: Option<*mut t::TessBaseAPI>,
    datapath: Option<PathBuf>,
}

// SAFETY: a TessBaseAPI may move between threads; it is never used from two
// threads at once (the engine is owned by one worker).
unsafe impl Send for Engine {}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: the handles were made by `init_api`, are owned by this
        // engine alone, and are ended and deleted once, here.
        unsafe {
            t::TessBaseAPIEnd(self.api);
            t::TessBaseAPIDelete(self.api);
            if let Some(o) = self.osd {
                t::TessBaseAPIEnd(o);
                t::TessBaseAPIDelete(o);
            }
        }
    }
}

fn init_api(datapath: Option<&Path>, lang: &str) -> Result<*mut t::TessBaseAPI, EngineError> {
    let err = || EngineError {
        lang: lang.to_string(),
        datapath: datapath.map(|p| p.display().to_string()).unwrap_or_else(|| "default".into()),
    };
    let c_lang = CString::new(lang).map_err(|_| err())?;
    let c_path = match datapath {
        Some(p) => Some(CString::new(p.to_string_lossy().as_bytes()).map_err(|_| err())?),
        None => None,
    };
    // SAFETY: the C strings outlive the calls; a handle whose init failed is deleted before returning, so no handle leaks or is used twice.
    unsafe {
        let api = t::TessBaseAPICreate();
        let rc = t::TessBaseAPIInit2(
            api,
            c_path.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            c_lang.as_ptr(),
            t::TessOcrEngineMode_OEM_LSTM_ONLY,
        );
        if rc != 0 {
            t::TessBaseAPIDelete(api);
            return Err(err());
        }
        // Tesseract's diagnostics would interleave with progress output.
        let (k, v) = (c"debug_file", c"/dev/null");
        t::TessBaseAPISetVariable(api, k.as_ptr(), v.as_ptr());
        Ok(api)
    }
}

fn set_image(api: *mut t::TessBaseAPI, g: &Gray, dpi: f32) {
    // SAFETY: `api` is a live handle; `g.data` holds width*height bytes (one byte per pixel, stride = width) and outlives recognition, which ends before `g` is dropped.
    unsafe {
        t::TessBaseAPISetImage(api, g.data.as_ptr(), g.width as i32, g.height as i32, 1, g.width as i32);
        // An unknown resolution (0) lets Tesseract estimate it from the
        // text's size, which beats a guess from the paper's proportions.
        if dpi > 0.0 {
            t::TessBaseAPISetSourceResolution(api, dpi.round().max(70.0) as i32);
        }
    }
}

impl Engine {
    /// Loads `lang` (e.g. "vie") from `datapath` or Tesseract's default folder.
    pub(crate) fn new(datapath: Option<&Path>, lang: &str) -> Result<Engine, EngineError> {
        let api = init_api(datapath, lang)?;
        Ok(Engine { api, osd: None, datapath: datapath.map(Path::to_path_buf) })
    }

    /// Recognizes an upright page. Boxes come back in `g`'s pixels divided by
    /// `scale` (the source resolution). Past `timeout` the page is an error.
    pub(crate) fn recognize(
        &mut self,
        g: &Gray,
        dpi: f32,
        scale: f32,
        segmentation: Segmentation,
        timeout: Duration,
    ) -> Result<OcrPage, K> {
        // Tesseract's library reads one block of lines unless told (its
        // command line analyses the layout).
        let psm = match segmentation {
            Segmentation::Auto => t::TessPageSegMode_PSM_AUTO,
            Segmentation::OneBlock => t::TessPageSegMode_PSM_SINGLE_BLOCK,
            Segmentation::Sparse => t::TessPageSegMode_PSM_SPARSE_TEXT,
        };
        // SAFETY: `self.api` is a live handle; the mode is one of Tesseract's own constants.
        unsafe { t::TessBaseAPISetPageSegMode(self.api, psm) };
        set_image(self.api, g, dpi);
        let started = Instant::now();
        // SAFETY: `self.api` is a live handle with an image set; the monitor is created and deleted here; the text pointer is checked for null, copied, then freed with Tesseract's own function.
        let tsv = unsafe {
            let monitor = t::TessMonitorCreate();
            t::TessMonitorSetDeadlineMSecs(monitor, timeout.as_millis().min(i32::MAX as u128) as i32);
            let rc = t::TessBaseAPIRecognize(self.api, monitor);
            t::TessMonitorDelete(monitor);
            if rc != 0 {
                t::TessBaseAPIClear(self.api);
                return Err(if started.elapsed() >= timeout {
                    K::OcrTimeout(timeout.as_secs_f32())
                } else {
                    K::Ocr("Tesseract could not recognize the page".into())
                });
            }
            let p = t::TessBaseAPIGetTsvText(self.api, 0);
            if p.is_null() {
                t::TessBaseAPIClear(self.api);
                return Err(K::Ocr("Tesseract returned no text".into()));
            }
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            t::TessDeleteText(p);
            t::TessBaseAPIClear(self.api);
            s
        };
        let (w, h) = ((g.width as f32 / scale).round() as u32, (g.height as f32 / scale).round() as u32);
        Ok(parse_tsv(&tsv, w, h, 1.0 / scale))
    }

    /// Tesseract's own orientation detection (slow: use only when the cheap
    /// check cannot tell). Returns the clockwise turn that makes the page
    /// upright and Tesseract's confidence.
    pub(crate) fn detect_orientation(&mut self, g: &Gray, dpi: f32) -> Option<(u32, f32)> {
        if self.osd.is_none() {
            let api = init_api(self.datapath.as_deref(), "osd").ok()?;
            // SAFETY: `api` was just created by `init_api` and is live.
            unsafe { t::TessBaseAPISetPageSegMode(api, t::TessPageSegMode_PSM_OSD_ONLY) };
            // Tesseract classifies up to five times this many characters in
            // four turns each (50 by default): 0.75 s a page on this
            // machine's cores, as much as reading it. With 20 it takes half
            // that, and on the dev sets and ocrmypdf-resources (40 pages
            // asked) it gave the same turn wherever it was sure enough to be
            // used (confidence 1 or more).
            // SAFETY: `api` is live; both strings are static and NUL-terminated.
            unsafe { t::TessBaseAPISetVariable(api, c"min_characters_to_try".as_ptr(), c"20".as_ptr()) };
            self.osd = Some(api);
        }
        let api = self.osd?;
        set_image(api, g, dpi);
        let (mut deg, mut conf, mut script, mut sconf) = (0i32, 0f32, std::ptr::null(), 0f32);
        // SAFETY: `api` is a live handle with an image set; the out-pointers are to live locals; `script` is not read.
        let ok = unsafe {
            let ok = t::TessBaseAPIDetectOrientationScript(api, &mut deg, &mut conf, &mut script, &mut sconf);
            t::TessBaseAPIClear(api);
            ok
        };
        // `deg` is how far the page was turned clockwise; undo it.
        (ok != 0).then(|| (((360 - deg.rem_euclid(360)) % 360) as u32, conf))
    }
}

/// Parses Tesseract's TSV into lines of words, scaling boxes by `k`.
pub(crate) fn parse_tsv(tsv: &str, width: u32, height: u32, k: f32) -> OcrPage {
    let mut page = OcrPage { width, height, lines: Vec::new() };
    let mut key = (0u32, 0u32, 0u32, 0u32);
    for row in tsv.lines() {
        let f: Vec<&str> = row.splitn(12, '\t').collect();
        if f.len() < 11 {
            continue;
        }
        let num = |i: usize| f[i].trim().parse::<f32>().unwrap_or(0.0);
        let level = num(0) as u32;
        let this = (num(2) as u32, num(3) as u32, num(4) as u32, num(1) as u32);
        let bbox = [num(6) * k, num(7) * k, (num(6) + num(8)) * k, (num(7) + num(9)) * k];
        match level {
            4 => {
                page.lines.push(OcrLine { bbox, words: Vec::new() });
                key = this;
            }
            5 => {
                let text = no_eth(&f.get(11).copied().unwrap_or("").trim().nfc().collect::<String>());
                if text.is_empty() {
                    continue;
                }
                if this != key || page.lines.is_empty() {
                    page.lines.push(OcrLine { bbox, words: Vec::new() });
                    key = this;
                }
                let line = page.lines.last_mut().expect("pushed above");
                line.words.push(OcrWord { text, bbox, conf: num(10).max(0.0) });
            }
            _ => {}
        }
    }
    page.lines.retain(|l| !l.words.is_empty());
    page
}

/// Tesseract's Vietnamese model reads Đ as "ĐÐ" now and then (QĐÐ-UBND,
/// NLĐÐ: the Icelandic eth after the Vietnamese D with stroke, one glyph
/// read twice); Vietnamese has no eth, so it goes after a Đ and is a Đ
/// elsewhere.
fn no_eth(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let prev = out.chars().last();
        match c {
            'Ð' | 'ð' if matches!(prev, Some('Đ' | 'đ')) => {}
            'Ð' => out.push('Đ'),
            'ð' => out.push('đ'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eth_read_after_a_vietnamese_d_goes_and_is_a_d_elsewhere() {
        assert_eq!(no_eth("QĐÐ-THPTCT"), "QĐ-THPTCT");
        assert_eq!(no_eth("NLĐÐ"), "NLĐ");
        assert_eq!(no_eth("Ðiều"), "Điều");
        assert_eq!(no_eth("đðã"), "đã");
        assert_eq!(no_eth("Quyết"), "Quyết");
    }

    #[test]
    fn tsv_groups_words_into_lines_and_normalizes() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   4\t1\t1\t1\t1\t0\t10\t20\t200\t30\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t50\t30\t96.5\tHo\u{0323}\n\
                   5\t1\t1\t1\t1\t2\t70\t20\t60\t30\t91\tvà\n\
                   4\t1\t1\t1\t2\t0\t10\t60\t100\t30\t-1\t\n\
                   5\t1\t1\t1\t2\t1\t10\t60\t100\t30\t88\ttên\n";
        let p = parse_tsv(tsv, 100, 100, 0.5);
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].words[0].text, "Họ");
        assert_eq!(p.lines[0].words[1].bbox, [35.0, 10.0, 65.0, 25.0]);
        assert_eq!(p.text(), "Họ và\ntên\n");
    }
}
