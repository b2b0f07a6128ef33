//! A dossier's read pages made into what the night keeps of it: its fields
//! (by `extract`) and documents (by `documents`), its PDF and one PDF per
//! document, streamed from the spool a page at a time, its digitally signed
//! originals copied byte for byte, and its manifest record. `pipeline` reads
//! the pages, in parallel, and hands them here in the dossier's order; this
//! module starts no thread and reads no page, so that what a dossier's
//! outputs hold is decided in one place, once every page is read.

use crate::documents;
use crate::error::RunError;
use crate::extract;
use crate::fsutil;
use crate::layout::Layout;
use crate::manifest::{DossierRecord, DossierStatus, OriginalRecord, PageRecord, PageStatus};
use crate::model::{Geometry, OcrPage};
use crate::payload::Embed;
use crate::pdf::{DocInfo, PageIn, PdfWriter};
use crate::rules::Rules;
use crate::scan::DossierDir;
use crate::signatures::Signature;
use crate::spool::{Spool, Spooled};
use crate::Options;
use std::collections::BTreeMap;
use std::path::Path;

/// A read page as it waits for the PDFs: its image in the spool, its
/// resolution, geometry and text.
pub(crate) type ForPdf = (Spooled, f32, Geometry, Option<OcrPage>);

/// A dossier as its pages were read: each page's record and, when it has an
/// image, what its PDF page needs; the digitally signed PDFs among its
/// files (by file index) with their signatures; the spool holding the
/// pages' images.
pub(crate) struct ReadDossier<'a> {
    pub(crate) dir: &'a DossierDir,
    pub(crate) pages: Vec<(PageRecord, Option<ForPdf>)>,
    pub(crate) signed: Vec<(usize, Vec<Signature>)>,
    pub(crate) spool: Spool,
}

/// Where and how the dossier's outputs are written.
pub(crate) struct Target<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) rules: &'a Rules,
    pub(crate) out: &'a Path,
    pub(crate) layout: &'a Layout,
    /// When the dossier was digitized (the manifest's time).
    pub(crate) digitized_at: String,
}

/// A page bound for the PDFs, by its index in the dossier.
struct PdfPage {
    index: usize,
    embed: Spooled,
    dpi: f32,
    geometry: Geometry,
    ocr: Option<OcrPage>,
}

/// The dossier's record, its PDFs written. A dossier none of whose pages has
/// an image is failed, with nothing written but its signed originals; an
/// output that cannot be written is an error that stops the run.
pub(crate) fn dossier(read: ReadDossier, t: Target) -> Result<DossierRecord, RunError> {
    let d = read.dir;
    // Pages in dossier order; those with an image go into the PDFs.
    let mut pages = Vec::with_capacity(read.pages.len());
    let mut pdf_pages = Vec::with_capacity(read.pages.len());
    for (mut record, pdf) in read.pages {
        if let Some((embed, dpi, geometry, ocr)) = pdf {
            record.pdf_page = Some(pdf_pages.len() + 1);
            pdf_pages.push(PdfPage { index: record.index, embed, dpi, geometry, ocr });
        }
        pages.push(record);
    }
    let recognized: Vec<(usize, &OcrPage)> =
        pdf_pages.iter().filter_map(|p| p.ocr.as_ref().map(|o| (p.index, o))).collect();
    let fields = extract::extract_in(t.rules, &recognized, Some(&d.rel));
    let text_of = |i: usize| pdf_pages.iter().find(|p| p.index == i).and_then(|p| p.ocr.as_ref());
    let page_texts: Vec<documents::PageText> =
        pages.iter().map(|p| (p.index, if p.status == PageStatus::Ok { text_of(p.index) } else { None })).collect();
    let docs = documents::split(t.rules, &page_texts);
    let errors = pages.iter().filter(|p| p.status == PageStatus::Error).count();
    let mut rec = DossierRecord {
        source: d.rel.clone(),
        status: if errors == 0 { DossierStatus::Ok } else { DossierStatus::Partial },
        pdf: None,
        pdf_sha256: None,
        pdf_bytes: None,
        pages,
        fingerprint: None,
        fields,
        documents: Vec::new(),
        skipped_files: d.skipped.clone(),
        originals: keep_signed_originals(d, read.signed, t.out, t.layout)?,
        error: None,
        digitized_at: Some(t.digitized_at.clone()),
        corrections_to_confirm: Vec::new(),
    };
    if pdf_pages.is_empty() {
        rec.status = DossierStatus::Failed;
        rec.error = Some("no page of the dossier could be read".into());
        return Ok(rec);
    }
    write_pdfs(&mut rec, docs, &pdf_pages, &read.spool, &t)?;
    Ok(rec)
}

/// Writes the dossier's PDF and one PDF per document, `<ma_ho_so>.<NN>.pdf`
/// beside it, and records them in `rec`.
fn write_pdfs(
    rec: &mut DossierRecord,
    mut docs: Vec<documents::Document>,
    pdf_pages: &[PdfPage],
    spool: &Spool,
    t: &Target,
) -> Result<(), RunError> {
    let code = rec.fields.get(t.rules.code_field()).filter(|f| f.flags.is_empty()).map(|f| f.value.clone());
    let note = (!rec.originals.is_empty()).then(|| {
        let names: Vec<&str> = rec.originals.iter().map(|o| o.source.as_str()).collect();
        format!(
            "Bản số hóa (bản sao dẫn xuất) của tệp có chữ ký số: {}. Bản này không mang chữ ký số của bản gốc; \
             bản gốc được lưu nguyên vẹn. Derivative copy of digitally signed input; it does not carry the signature.",
            names.join(", ")
        )
    });
    let created = creation_time();
    // Writes the pages `which` (dossier indexes) as one PDF at `rel`.
    let write = |which: &dyn Fn(usize) -> bool, rel: &str, title: &str, metadata: BTreeMap<String, String>| {
        let info = DocInfo { title, derivative_note: note.as_deref(), pdfa: t.opts.pdfa, metadata, created, path: rel };
        let path = t.out.join(rel);
        fsutil::write_atomic_with(&path, |file| {
            let mut writer = PdfWriter::new(file, t.opts.show_text_layer)?;
            for p in pdf_pages.iter().filter(|p| which(p.index)) {
                let embed: &Embed = &spool.get(&p.embed)?;
                writer.add_page(&PageIn { embed, dpi: p.dpi, geometry: p.geometry, ocr: p.ocr.as_ref() })?;
            }
            writer.finish(&info).map(|_| ())
        })
        .map_err(|e| RunError::Output { path, source: e })
    };
    let rel = t.layout.pdf_path(&rec.source, code.as_deref());
    let title = code.clone().unwrap_or_else(|| rec.source.clone());
    let written = write(&|_| true, &rel, &title, BTreeMap::new())?;
    rec.pdf_sha256 = Some(written.sha256);
    rec.pdf_bytes = Some(written.bytes);
    rec.pdf = Some(rel.clone());
    let stem = rel.strip_suffix(".pdf").unwrap_or(&rel).to_string();
    for doc in &mut docs {
        if !doc.pages.iter().any(|i| pdf_pages.iter().any(|p| p.index == *i)) {
            continue;
        }
        let doc_rel = format!("{stem}.{:02}.pdf", doc.ordinal);
        let title = if doc.title.is_empty() { title.clone() } else { doc.title.clone() };
        let pages_of = doc.pages.clone();
        let written = write(&|i| pages_of.contains(&i), &doc_rel, &title, doc.metadata.clone())?;
        doc.pdf_sha256 = Some(written.sha256);
        doc.pdf = Some(doc_rel);
    }
    rec.documents = docs;
    Ok(())
}

/// The time written into the PDFs: now, or `SOURCE_DATE_EPOCH` when set
/// (the reproducible-builds convention: two runs over the same scans then
/// write the same bytes, which is how the tests compare a sharded night
/// with a plain run).
fn creation_time() -> time::OffsetDateTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(|| {
            let now = time::OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        })
}

/// Copies every digitally signed PDF of the dossier, byte for byte, to
/// OUT/originals/<dossier>/: any rewrite would break its signature.
fn keep_signed_originals(
    d: &DossierDir,
    signed: Vec<(usize, Vec<Signature>)>,
    out: &Path,
    layout: &Layout,
) -> Result<Vec<OriginalRecord>, RunError> {
    let names: Vec<(&Path, &str)> =
        signed.iter().map(|(i, _)| (d.files[*i].path.as_path(), d.files[*i].name.as_str())).collect();
    let paths = layout.original_paths(&d.rel, &names);
    let mut kept = Vec::new();
    for ((i, signatures), rel) in signed.into_iter().zip(paths) {
        let f = &d.files[i];
        let path = out.join(&rel);
        // Copied as it is read, never held whole.
        let written =
            fsutil::write_atomic_with(&path, |w| std::io::copy(&mut std::fs::File::open(&f.path)?, w).map(|_| ()))
                .map_err(|e| RunError::Output { path: path.clone(), source: e })?;
        kept.push(OriginalRecord {
            source: f.name.clone(),
            path: rel,
            sha256: written.sha256,
            signed: true,
            signatures,
        });
    }
    Ok(kept)
}
