//! The second reader: AsterOCR's Vietnamese line recognizer (MIT; the
//! `asternet.onnx` network and its `vocab.json`, shipped inside the PyPI
//! package `asterocr`), run in-process through ONNX Runtime, whose library is
//! loaded at run time from the PyPI `onnxruntime` wheel (Debian has none, and
//! nothing may be downloaded). Tesseract's main error on clean Vietnamese
//! print is a lost mark on stacked diacritics (cấp→câp); this network reads
//! those marks well, so `reading` asks it about the words Tesseract is unsure
//! of. This is the only code about ONNX Runtime; it knows nothing of pages.
//!
//! Everything lives in one folder: `asternet.onnx`, `vocab.json` and
//! `libonnxruntime.so*` (put there by `scripts/install-deps`).

use crate::model::Heard;
use crate::raster::Gray;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the second reader is looked for when no folder is given.
pub(crate) const DEFAULT_DIRS: [&str; 3] =
    ["/usr/local/share/sohoa/asterocr", "/usr/share/sohoa/asterocr", "/usr/lib/sohoa/asterocr"];

/// The network's input height; width follows the crop's aspect.
const HEIGHT: u32 = 32;
/// The network's positional encoding holds 256 time steps of 4 columns.
const MAX_WIDTH: u32 = 1000;

/// The files of the second reader, found.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    model: PathBuf,
    vocab: PathBuf,
    runtime: PathBuf,
}

impl Files {
    /// What tells one model from another, for the settings fingerprint:
    /// the sizes of the network and its vocabulary.
    pub(crate) fn identity(&self) -> String {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        format!("asternet {} vocab {}", size(&self.model), size(&self.vocab))
    }
}

/// Finds the second reader's files in `dir`, or in the default folders.
pub(crate) fn locate(dir: Option<&Path>) -> Result<Files, String> {
    let dirs: Vec<PathBuf> = match dir {
        Some(d) => vec![d.to_path_buf()],
        None => DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
    };
    for d in &dirs {
        let (model, vocab) = (d.join("asternet.onnx"), d.join("vocab.json"));
        if !model.is_file() || !vocab.is_file() {
            continue;
        }
        let runtime = std::fs::read_dir(d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so")))
            .min();
        match runtime {
            Some(runtime) => return Ok(Files { model, vocab, runtime }),
            None => return Err(format!("{}: no libonnxruntime.so beside asternet.onnx", d.display())),
        }
    }
    let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!("asternet.onnx and vocab.json not found in {}", list.join(" or ")))
}

static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// One recognizer: a session on one thread (intra-op threads 1, like the
/// Tesseract engines) and the network's alphabet.
pub(crate) struct Reader {
    session: ort::session::Session,
    vocab: Vec<String>,
}

impl Reader {
    pub(crate) fn load(files: &Files) -> Result<Reader, String> {
        let env = ENV
            .get_or_init(|| {
                ort::init_from(&files.runtime)
                    .map_err(|e| format!("{}: {e}", files.runtime.display()))?
                    .with_name("sohoa")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| format!("ONNX Runtime: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let vocab = read_vocab(&files.vocab)?;
        let session = ort::session::Session::builder(env)
            // No memory arena nor memory pattern: crops vary in width, and
            // an arena sized for the widest stays for the run on every worker.
            .and_then(|b| {
                Ok(b.with_intra_threads(1)?
                    .with_inter_threads(1)?
                    .with_memory_pattern(false)?
                    .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])?)
            })
            .and_then(|mut b| b.commit_from_file(&files.model))
            .map_err(|e| format!("{}: {e}", files.model.display()))?;
        Ok(Reader { session, vocab })
    }

    /// Reads one crop (dark text on light paper, one line or word): its
    /// text (NFC), the lowest probability of its characters and the
    /// characters weighed at each place.
    pub(crate) fn read(&mut self, crop: &Gray) -> Option<Heard> {
        if crop.width < 2 || crop.height < 2 {
            return None;
        }
        let (data, w) = prepare(crop)?;
        let input = ort::value::Tensor::from_array(([1usize, 3, HEIGHT as usize, w as usize], data)).ok()?;
        let outputs = self.session.run(ort::inputs!["images" => input]).ok()?;
        let (shape, logp) = outputs[0].try_extract_tensor::<f32>().ok()?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let (t, c) = (*dims.first()? as usize, *dims.get(2)? as usize);
        if c != self.vocab.len() || logp.len() < t * c {
            return None;
        }
        Some(ctc_greedy(logp, t, c, &self.vocab))
    }
}

fn read_vocab(path: &Path) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    struct V {
        chars: Vec<String>,
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: V = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(v.chars)
}

/// The network's input: the crop padded by 2 columns of paper each side,
/// scaled to 32 rows (a long crop a little wider, as AsterOCR does), as three
/// equal planes of values in 0..1. Returns the data and its width.
fn prepare(crop: &Gray) -> Option<(Vec<f32>, u32)> {
    let (w, h) = (crop.width + 4, crop.height);
    let mut padded = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    for y in 0..crop.height {
        for x in 0..crop.width {
            let v = *crop.data.get((y * crop.width + x) as usize)?;
            padded.put_pixel(x + 2, y, image::Luma([v]));
        }
    }
    let aspect = w as f32 / h as f32;
    let widen = if aspect > 3.0 { (1.0 + (aspect - 3.0) * 0.02).min(1.25) } else { 1.0 };
    let nw = ((HEIGHT as f32 / h as f32) * w as f32 * widen) as u32;
    let nw = (nw.max(16).div_ceil(4) * 4).min(MAX_WIDTH);
    let small = image::imageops::resize(&padded, nw, HEIGHT, image::imageops::FilterType::Triangle);
    let plane: Vec<f32> = small.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    let mut data = Vec::with_capacity(plane.len() * 3);
    for _ in 0..3 {
        data.extend_from_slice(&plane);
    }
    Some((data, nw))
}

/// How many characters are kept as weighed at each place of a reading.
const CHOICES: usize = 4;

/// Best-path CTC decoding: the likeliest symbol of each time step, repeats
/// merged and blanks (symbol 0) dropped, with the lowest probability among
/// the characters kept. Each character's choices are the likeliest
/// non-blank symbols of the step where it was likeliest (kept only when
/// every symbol read is one character, so that places line up with the
/// NFC text).
fn ctc_greedy(logp: &[f32], t: usize, c: usize, vocab: &[String]) -> Heard {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    let (mut prev, mut min_p) = (0usize, 1.0f32);
    // For each character read: its symbol, the step it was likeliest at.
    let mut places: Vec<(usize, usize, f32)> = Vec::new();
    for (k, step) in logp.chunks_exact(c).take(t).enumerate() {
        let (best, lp) = step.iter().enumerate().fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        if best != 0 && best != prev {
            out.push_str(&vocab[best]);
            min_p = min_p.min(lp.exp());
            places.push((best, k, lp));
        } else if best != 0 {
            if let Some(last) = places.last_mut().filter(|l| lp > l.2) {
                *last = (best, k, lp);
            }
        }
        prev = best;
    }
    let text: String = out.nfc().collect();
    let single = places.iter().all(|&(s, _, _)| vocab[s].chars().count() == 1);
    let choices = if single && text.chars().count() == places.len() {
        places
            .iter()
            .map(|&(_, k, _)| {
                let step = &logp[k * c..(k + 1) * c];
                let mut ranked: Vec<(usize, f32)> = step.iter().copied().enumerate().skip(1).collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                ranked
                    .into_iter()
                    .take(CHOICES)
                    .filter_map(|(i, lp)| vocab[i].chars().next().map(|ch| (ch, lp.exp())))
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    Heard { p: if out.is_empty() { 0.0 } else { min_p }, text, choices }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let vocab: Vec<String> = ["<blank>", "c", "ấ", "p"].iter().map(|s| s.to_string()).collect();
        let l = |i: usize| {
            let mut v = vec![-9.0f32; 4];
            v[i] = -0.01;
            v
        };
        let logp: Vec<f32> = [1, 1, 0, 2, 2, 0, 3, 0].iter().flat_map(|&i| l(i)).collect();
        let h = ctc_greedy(&logp, 8, 4, &vocab);
        assert_eq!(h.text, "cấp");
        assert!(h.p > 0.98);
        // Each place weighs its characters, the one read first.
        assert_eq!(h.choices.len(), 3);
        assert_eq!(h.choices[1][0].0, 'ấ');
    }

    #[test]
    fn missing_folder_says_where_it_looked() {
        let e = locate(Some(Path::new("/nonexistent/sohoa"))).unwrap_err();
        assert!(e.contains("/nonexistent/sohoa"), "{e}");
    }
}
