//! One page of a dossier, from its file to its manifest record: the file
//! opened (a PDF parsed once for all its pages, an image counted from its
//! head), the page decoded, its resolution found, blank or dark pages told
//! apart, and the rest read by `reading` with this worker's engines. Exists
//! so that `pipeline` deals in dossiers and threads and this in one page;
//! what a page gives the PDF writer waits here, as `PageOut`. A decoder's
//! panic becomes the page's error, never the run's.

use crate::decode;
use crate::engines::{has_second, with_engine, with_second};
use crate::error::{PageError, PageErrorKind};
use crate::flags::PageFlag;
use crate::manifest::{PageRecord, PageStatus, TextSource};
use crate::model::{Geometry, OcrPage};
use crate::payload::{Decoded, Embed, Origin};
use crate::preprocess;
use crate::raster::Gray;
use crate::Options;
use std::path::{Path, PathBuf};

/// One page's outcome before it goes into the PDF.
pub(crate) struct PageOut {
    pub(crate) record: PageRecord,
    /// What the PDF writer needs; None for pages in error.
    pub(crate) pdf: Option<(Embed, f32, Geometry, Option<OcrPage>)>,
}

/// What a caught panic said.
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// Fault injection for the tests, honoured only in debug builds (the tests'
/// and developers'; a release build ignores it): `SOHOA_FAULT` holds
/// comma-separated `decode:<page file name>` (panics inside that page's
/// decoder) and `dossier:<dossier folder>` (panics while that dossier is
/// processed), so that the panic catchers (`guarded` here, the dossier's in
/// `pipeline`) are exercised for real.
pub(crate) fn inject_fault(kind: &str, name: &str) -> bool {
    #[cfg(debug_assertions)]
    if let Ok(v) = std::env::var("SOHOA_FAULT") {
        if v.split(',').any(|f| f.strip_prefix(kind).and_then(|r| r.strip_prefix(':')) == Some(name)) {
            panic!("injected fault ({kind} {name})");
        }
    }
    let _ = (kind, name);
    false
}

/// Runs `f`, turning a panic inside a decoder into a page error.
fn guarded<T>(f: impl FnOnce() -> Result<T, PageError>) -> Result<T, PageError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(PageError::new(
            PathBuf::new(),
            None,
            PageErrorKind::Corrupt(format!("the decoder gave up: {}", panic_text(&*p))),
        )),
    }
}

/// The record of a page that could not be read, with its error.
pub(crate) fn error_page(index: usize, name: &str, frame: u32, e: &PageError) -> PageOut {
    PageOut {
        record: PageRecord {
            index,
            source: name.to_string(),
            frame,
            status: PageStatus::Error,
            error: Some(e.kind.to_string()),
            error_class: Some(e.kind.class()),
            width_px: 0,
            height_px: 0,
            dpi: 0,
            rotation: 0,
            skew_deg: 0.0,
            ocr_confidence: None,
            words: 0,
            flags: vec![],
            pdf_page: None,
            text_source: None,
            source_sha256: None,
            junk_words: None,
        },
        pdf: None,
    }
}

/// How many pages a file will give, for the plan's weights and the order
/// in which dossiers are handed out, reading as
/// little as it can: a TIFF or PDF is opened, any other picture is one page
/// from its first bytes. A file that cannot be read counts one (it costs its
/// shard a try).
pub(crate) fn pages_to_read(path: &Path) -> u64 {
    use std::io::Read;
    let mut head = Vec::with_capacity(1024);
    let read = std::fs::File::open(path).and_then(|f| f.take(1024).read_to_end(&mut head));
    match (read, decode::sniff(&head)) {
        (Ok(_), Ok(decode::Format::Tiff | decode::Format::Pdf)) => {
            guarded(|| open_file(path, &mut Vec::new())).map_or(1, |(_, n)| u64::from(n))
        }
        _ => 1,
    }
}

/// How a file's pages are read.
pub(crate) enum Opened {
    /// An image file, decoded page by page from the file.
    Image,
    /// A PDF parsed once for all its pages.
    Pdf(Box<lopdf::Document>),
    /// A PDF larger than `pdfin::WHOLE_PDF_MAX`, read a page at a time.
    LargePdf,
}

/// A dossier's files opened, each once.
pub(crate) struct OpenedDossier {
    /// Every page to read, in order: its file (by index) and frame, or the
    /// error that kept its file from opening (the file's one page then).
    pub(crate) units: Vec<(usize, Option<u32>, Result<(), PageError>)>,
    /// Each file as opened (a PDF parsed once for all its pages).
    pub(crate) files: Vec<Opened>,
    /// The digitally signed PDFs, by file index, whose originals are kept.
    pub(crate) signed: Vec<(usize, Vec<crate::signatures::Signature>)>,
    /// The pages found beyond one per file (for the progress counts).
    pub(crate) extra_pages: usize,
}

/// Opens every file of the dossier: a PDF is parsed here, other files are
/// only counted. A file that cannot be opened is one page in error.
pub(crate) fn open_dossier(d: &crate::scan::DossierDir) -> OpenedDossier {
    let mut opened = OpenedDossier {
        units: Vec::new(),
        files: Vec::with_capacity(d.files.len()),
        signed: Vec::new(),
        extra_pages: 0,
    };
    for (i, f) in d.files.iter().enumerate() {
        let mut signatures = Vec::new();
        let (doc, count) = match guarded(|| open_file(&f.path, &mut signatures)) {
            Ok((doc, n)) => (doc, Ok(n)),
            Err(e) => (Opened::Image, Err(e)),
        };
        if !signatures.is_empty() {
            opened.signed.push((i, signatures));
        }
        opened.files.push(doc);
        match count {
            Ok(n) => {
                opened.extra_pages += (n as usize).saturating_sub(1);
                opened.units.extend((0..n).map(|k| (i, Some(k), Ok(()))));
            }
            Err(e) => opened.units.push((i, None, Err(e))),
        }
    }
    opened
}

/// A file's pages: a PDF parsed (and its digital signatures put in
/// `signatures`), an image file counted from its head and directories, a
/// large PDF counted by poppler.
fn open_file(path: &Path, signatures: &mut Vec<crate::signatures::Signature>) -> Result<(Opened, u32), PageError> {
    let err = |k| PageError::new(path, None, k);
    let io = |e| err(PageErrorKind::Io(e));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let head = decode::head(&mut file).map_err(io)?;
    if decode::sniff(&head.bytes).ok() != Some(decode::Format::Pdf) {
        return decode::page_count(file, &head).map(|n| (Opened::Image, n)).map_err(err);
    }
    let large = head.len > crate::pdfin::WHOLE_PDF_MAX;
    // A large PDF is read whole only if it may be signed (its original must
    // be kept byte for byte, and the signature parser reads the whole file).
    if large && !holds(file, b"/ByteRange").map_err(io)? {
        return crate::poppler::page_count(path).map(|n| (Opened::LargePdf, n)).map_err(err);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    // A hostile file must not stop the run: a panic in the signature parser
    // means no signature was found.
    *signatures = std::panic::catch_unwind(|| crate::signatures::signatures(&bytes)).unwrap_or_default();
    if large {
        return crate::poppler::page_count(path).map(|n| (Opened::LargePdf, n)).map_err(err);
    }
    let doc = crate::pdfin::open(&bytes).map_err(err)?;
    match doc.get_pages().len() as u32 {
        0 => Err(err(PageErrorKind::Corrupt("the PDF has no pages".into()))),
        n => Ok((Opened::Pdf(Box::new(doc)), n)),
    }
}

/// Whether `needle` occurs in the file, read a MiB at a time.
fn holds(file: std::fs::File, needle: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        carry.drain(..carry.len().saturating_sub(needle.len()));
    }
}

/// Reads page `frame` of the file at `path` (the dossier's `index`-th page,
/// `name` in the manifest): a record whatever happens, and what the PDFs
/// need unless the page could not be decoded.
pub(crate) fn process_page(
    index: usize,
    path: &Path,
    name: &str,
    frame: u32,
    file: &Opened,
    opts: &Options,
) -> PageOut {
    // A PDF page's tools are held to the page's time limit.
    let pdf_page = |read: &dyn Fn() -> Result<Decoded, PageErrorKind>| {
        crate::poppler::with_time_limit(opts.page_timeout, read).map_err(|k| PageError::new(path, Some(frame), k))
    };
    let read = || match file {
        _ if inject_fault("decode", name) => unreachable!("inject_fault panics when it returns true"),
        Opened::Pdf(doc) => pdf_page(&|| crate::pdfin::decode_page_of(doc, path, frame)),
        Opened::LargePdf => pdf_page(&|| crate::pdfin::decode_page_alone(path, frame)),
        Opened::Image => decode::decode(path, frame),
    };
    let mut decoded: Decoded = match guarded(read) {
        Ok(d) => d,
        Err(e) => return error_page(index, name, frame, &e),
    };
    let mut flags = Vec::new();
    // A standard fax's pixels are twice as tall as wide: the page is read,
    // and drawn in its PDFs, as square pixels.
    if let Some((square, dpi)) = decoded.dpi.and_then(|dpi| preprocess::square_pixels(&decoded.gray, dpi)) {
        decoded.gray = square;
        decoded.dpi = Some((dpi, dpi));
        flags.push(PageFlag::UnequalResolution);
    }
    let (w, h) = (decoded.gray.width, decoded.gray.height);
    let res = preprocess::resolution(w, h, decoded.dpi, decoded.dpi_from_page);
    if res.dpi.round() < preprocess::MIN_DPI {
        flags.push(PageFlag::LowDpi);
    }
    if res.estimated {
        flags.push(PageFlag::DpiEstimated);
    }
    if decoded.origin == Origin::Rendered {
        flags.push(PageFlag::Rendered);
    }
    let blank_record = |status, flags| PageRecord {
        index,
        source: name.to_string(),
        frame,
        status,
        error: None,
        width_px: w,
        height_px: h,
        dpi: res.dpi.round() as u32,
        rotation: 0,
        skew_deg: 0.0,
        ocr_confidence: None,
        words: 0,
        flags,
        pdf_page: None,
        text_source: None,
        source_sha256: None,
        junk_words: None,
        error_class: None,
    };
    if let Some(text) = decoded.text {
        // Born digital: the page's own text, not OCR.
        let mut record = blank_record(PageStatus::Ok, flags);
        record.words = text.word_count();
        record.text_source = Some(TextSource::Pdf);
        if text.lines.is_empty() {
            record.status = PageStatus::Blank;
        }
        return PageOut { record, pdf: Some((decoded.embed, res.dpi, Geometry::identity(w, h), Some(text))) };
    }
    let analysis = preprocess::analyse(&decoded.gray, res.dpi, |small, small_dpi| {
        with_engine(opts, |e| e.detect_orientation(small, small_dpi))
            .ok()
            .flatten()
            .filter(|(_, conf)| *conf >= 1.0)
            .map(|(r, _)| r)
    });
    let mut record = blank_record(PageStatus::Ok, flags);
    if analysis.blank && preprocess::has_dark_ground(&decoded.gray, res.dpi) {
        // A dark ground (a negative, a failed scan) is not a blank back. A
        // negative is not read inverted yet: the test for it also caught a
        // worn fax, so it is only asked of pages that would pass for blank.
        record.status = PageStatus::Error;
        record.error = Some("the page is dark all over: a negative or a failed scan, not read".into());
        record.error_class = Some(crate::error::ErrorClass::Permanent);
        return PageOut { record, pdf: Some((decoded.embed, res.dpi, Geometry::identity(w, h), None)) };
    }
    if analysis.blank {
        record.status = PageStatus::Blank;
        return PageOut { record, pdf: Some((decoded.embed, res.dpi, Geometry::identity(w, h), None)) };
    }
    // An estimated resolution is not told to Tesseract: it measures the text.
    let known = !res.estimated;
    let mut recognize = |g: &Gray, dpi: f32, scale: f32, segmentation| {
        let dpi = if known { dpi } else { 0.0 };
        with_engine(opts, |e| e.recognize(g, dpi, scale, segmentation, opts.page_timeout)).and_then(|r| r)
    };
    let second = has_second();
    let mut read_word = |g: &Gray| with_second(|r| r.read(g)).flatten();
    let photo = preprocess::taken_as_photo(&decoded.gray, res);
    let read = crate::reading::read_page(
        &decoded.gray,
        res.dpi,
        photo,
        analysis.rotation,
        analysis.skew_deg,
        &mut recognize,
        if second { Some(&mut read_word) } else { None },
    );
    drop(decoded.gray);
    match read {
        Ok(reading) => {
            let geom = reading.geometry;
            if analysis.rotation.is_none() && !reading.turned {
                record.flags.push(PageFlag::OrientationUncertain);
            }
            for (on, flag) in [
                (reading.upscaled, Some(PageFlag::Upscaled)),
                (reading.sharpened, Some(PageFlag::Sharpened)),
                (reading.turned, Some(PageFlag::OrientationByRecognition)),
                (reading.second_reader_fixes > 0, Some(PageFlag::SecondReader)),
                (reading.segmentation == crate::model::Segmentation::OneBlock, Some(PageFlag::OneBlock)),
                (true, reading.cleaning.flag()),
                (reading.combs_read > 0, Some(PageFlag::BoxedDigits)),
                (reading.missed_words_read > 0, Some(PageFlag::MissedTextRead)),
                (reading.cells_read > 0, Some(PageFlag::TableCellsRead)),
                (reading.lines_taken > 0, Some(PageFlag::LinesFromOtherReading)),
            ] {
                if let (true, Some(f)) = (on, flag) {
                    record.flags.push(f);
                }
            }
            record.rotation = geom.rotation;
            record.skew_deg = (geom.skew_deg * 100.0).round() / 100.0;
            let page = reading.page;
            record.words = page.word_count();
            record.junk_words = Some(reading.junk_dropped);
            record.text_source = Some(TextSource::Ocr);
            record.ocr_confidence = page.mean_confidence().map(|c| (c * 10.0).round() / 10.0);
            PageOut { record, pdf: Some((decoded.embed, res.dpi, geom, Some(page))) }
        }
        Err(kind) => {
            // The image is good: keep it in the PDF, without text.
            let geom =
                Geometry { src_w: w, src_h: h, rotation: analysis.rotation.unwrap_or(0), skew_deg: analysis.skew_deg };
            record.rotation = geom.rotation;
            record.skew_deg = (geom.skew_deg * 100.0).round() / 100.0;
            record.status = PageStatus::Error;
            record.error = Some(kind.to_string());
            record.error_class = Some(kind.class());
            PageOut { record, pdf: Some((decoded.embed, res.dpi, geom, None)) }
        }
    }
}
