//! Key fields from the recognized text, by declarative rules. A pipeline file
//! (`pipelines/*.toml`, format in docs/pipelines.md, loaded by `rules`) lists
//! fields; each field has a kind (how its value is normalized and checked) and
//! rules (a printed label and the pattern of the value after it). This module
//! exists so that a new document type is a new TOML file, not new code.
//!
//! Labels are matched on folded text (no diacritics, lower case) with an edit
//! distance that grows with the label's length, because OCR drops marks and
//! misreads letters ("Ho va tcn"). Values are taken from the recognized text as
//! printed. A value that fails its check is kept with a flag and a lower
//! confidence; a field no rule finds is absent: a wrong value is worse than a
//! missing one.

use crate::catalog::Catalog;
use crate::flags::FieldFlag;
use crate::model::{BBox, OcrLine, OcrPage, OcrWord};
use crate::rules::{Field, Kind, Rule, Rules};
use crate::syllable::fold;
use crate::values::{cccd_matches_birth_year, collapse, normalize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A field found in a dossier, as the manifest records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FieldValue {
    pub value: String,
    /// 0..1
    pub confidence: f32,
    /// 1-based page of the dossier (the manifest's page `index`).
    pub page: usize,
    /// Box of the value's words on that page: pixels of the upright, deskewed
    /// page at source resolution.
    pub bbox: BBox,
    /// The text the value was read from, as recognized.
    pub source_text: String,
    pub flags: Vec<FieldFlag>,
    /// Other values found for the field when pages disagree (flag `conflict`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    /// "correction" when a clerk set the value (`OUT/corrections.jsonl`),
    /// "folder" when it was read from the dossier's folder name (no page
    /// gave it), "catalog" when the office's procedure list set it (see
    /// `catalog`), "dossier_code" for a date taken from inside the dossier
    /// code (`from_code_date`: no page gave it); absent when OCR read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What OCR read, kept when a correction or the procedure list replaced
    /// it (null: not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_value: Option<String>,
    /// A clerk said the dossier does not hold this field: settled, empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Alternative {
    pub value: String,
    pub confidence: f32,
    pub page: usize,
    pub source_text: String,
    /// Box of the value's words on its page, as the field's `bbox`
    /// (zero in manifests written before sohoa recorded it).
    #[serde(default)]
    pub bbox: BBox,
}

/// Text of one or more lines with, for each char, the word it belongs to.
struct Span<'a> {
    chars: Vec<char>,
    folded: Vec<char>,
    word_at: Vec<Option<usize>>,
    words: Vec<&'a OcrWord>,
}

impl<'a> Span<'a> {
    fn new(lines: &[&'a OcrLine]) -> Span<'a> {
        let mut s = Span { chars: Vec::new(), folded: Vec::new(), word_at: Vec::new(), words: Vec::new() };
        for w in lines.iter().flat_map(|l| &l.words) {
            if !s.chars.is_empty() {
                s.chars.push(' ');
                s.word_at.push(None);
            }
            let i = s.words.len();
            s.words.push(w);
            for c in w.text.chars() {
                s.chars.push(c);
                s.word_at.push(Some(i));
            }
        }
        s.folded = s.chars.iter().map(|&c| crate::syllable::base_letter(c)).collect();
        s
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    /// Words covering chars `from..to`: their box and mean confidence (0..1).
    fn words_in(&self, from: usize, to: usize) -> (BBox, f32) {
        let mut idx: Vec<usize> = self.word_at[from..to].iter().flatten().copied().collect();
        idx.dedup();
        let mut bbox = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        let mut conf = 0.0;
        for &i in &idx {
            let b = self.words[i].bbox;
            bbox = crate::model::union(bbox, b);
            conf += self.words[i].conf;
        }
        if idx.is_empty() {
            return ([0.0; 4], 0.0);
        }
        (bbox, conf / idx.len() as f32 / 100.0)
    }
}

/// Finds `label` in `text` allowing a few edits; returns (start, end, edits)
/// of the best occurrence that starts and ends at word boundaries.
pub fn find_label(label: &[char], text: &[char], line_start: bool) -> Option<(usize, usize, usize)> {
    let (m, n) = (label.len(), text.len());
    if m == 0 || n == 0 {
        return None;
    }
    let max_edits = if m <= 4 { 0 } else { (m / 6).max(1) };
    // Sellers' algorithm: edit distance with a free start in `text`.
    let mut prev: Vec<usize> = vec![0; n + 1];
    let mut prev_start: Vec<usize> = (0..=n).collect();
    let mut cur = vec![0; n + 1];
    let mut cur_start = vec![0; n + 1];
    for i in 1..=m {
        cur[0] = i;
        cur_start[0] = 0;
        for j in 1..=n {
            let cost = (label[i - 1] != text[j - 1]) as usize;
            let mut best = (prev[j - 1] + cost, prev_start[j - 1]);
            if prev[j] + 1 < best.0 {
                best = (prev[j] + 1, prev_start[j]);
            }
            if cur[j - 1] + 1 < best.0 {
                best = (cur[j - 1] + 1, cur_start[j - 1]);
            }
            cur[j] = best.0;
            cur_start[j] = best.1;
        }
        std::mem::swap(&mut prev, &mut cur);
        std::mem::swap(&mut prev_start, &mut cur_start);
    }
    let boundary_before = |s: usize| s == 0 || !text[s - 1].is_alphanumeric();
    let boundary_after = |e: usize| e == n || !text[e].is_alphanumeric();
    let mut found: Option<(usize, usize, usize)> = None;
    for j in 1..=n {
        let (d, s) = (prev[j], prev_start[j]);
        if d > max_edits || !boundary_before(s) || !boundary_after(j) {
            continue;
        }
        if line_start && text[..s].iter().any(|c| c.is_alphanumeric()) {
            continue;
        }
        if found.is_none_or(|(_, _, fd)| d < fd) {
            found = Some((s, j, d));
        }
    }
    found
}

/// One value a rule read.
#[derive(Clone, Debug)]
struct Candidate {
    value: String,
    confidence: f32,
    page: usize,
    bbox: BBox,
    source_text: String,
    flags: Vec<FieldFlag>,
}

/// Extracts every field of `pipeline` from a dossier's recognized pages
/// (`(page index, page)`, 1-based as in the manifest).
pub fn extract(pipeline: &Rules, pages: &[(usize, &OcrPage)]) -> BTreeMap<String, FieldValue> {
    extract_in(pipeline, pages, None)
}

/// The `source` of a field read from the dossier's folder name.
pub const FOLDER_SOURCE: &str = "folder";

/// As [`extract`], for the dossier whose folder is `folder` (relative to
/// INPUT): a field no page gives is read from the folder's name where the
/// field has a `from_folder` pattern and the value passes its kind's checks
/// (the receipt of a worn fax unreadable, its folder named by the code).
/// What a page reads always comes first: the folder's name is the clerk's
/// typing, the page is the record. A field with `from_code_date` that no
/// page gives then takes the date inside the dossier code ([`from_code_date`]).
pub fn extract_in(pipeline: &Rules, pages: &[(usize, &OcrPage)], folder: Option<&str>) -> BTreeMap<String, FieldValue> {
    let other_person: Vec<bool> = pages.iter().map(|(_, p)| is_other_person_page(pipeline, p)).collect();
    let name = folder.and_then(|f| f.rsplit('/').next()).unwrap_or("");
    let mut out = BTreeMap::new();
    for field in &pipeline.fields {
        let found = read_field(field, pages, &other_person).or_else(|| from_folder(field, name));
        if let Some(v) = found {
            out.insert(field.name.clone(), v);
        }
    }
    let code_date = out.get(pipeline.code_field()).and_then(from_code_date);
    for field in pipeline.fields.iter().filter(|f| f.from_code_date) {
        if let (false, Some(v)) = (out.contains_key(&field.name), &code_date) {
            out.insert(field.name.clone(), v.clone());
        }
    }
    apply_catalog(&pipeline.catalog, &mut out);
    procedure_from_form(&pipeline.catalog, pages, &mut out);
    cross_check(&mut out);
    out
}

/// Neither the procedure's code nor its name read: a page whose title is a
/// form only one listed procedure uses (`[catalog.forms]`), or whose
/// subject line ("V/v: …") is a listed procedure's name, gives both, from
/// the list, the code flagged `procedure_from_form` (a dossier the portal
/// would receive on an inference waits for a clerk). Forms of two
/// procedures in one dossier give nothing.
fn procedure_from_form(catalog: &Catalog, pages: &[(usize, &OcrPage)], fields: &mut BTreeMap<String, FieldValue>) {
    if catalog.procedures.is_empty()
        || fields.contains_key(&catalog.code_field)
        || fields.contains_key(&catalog.name_field)
    {
        return;
    }
    let mut found: Option<((&str, &str), FieldValue)> = None;
    for &(index, page) in pages {
        for line in page.lines.iter().take(TITLE_LINES) {
            let text = line.text();
            let Some(procedure) = catalog.by_form(&text) else { continue };
            match &found {
                Some((p, _)) if *p != procedure => return,
                Some(_) => {}
                None => {
                    let conf = line.words.iter().map(|w| w.conf).sum::<f32>() / line.words.len().max(1) as f32 / 100.0;
                    let v = FieldValue {
                        value: String::new(),
                        confidence: round3(conf),
                        page: index,
                        bbox: line.bbox,
                        source_text: text,
                        flags: Vec::new(),
                        alternatives: Vec::new(),
                        source: Some(crate::catalog::CATALOG_SOURCE.into()),
                        ocr_value: None,
                        absent: false,
                    };
                    found = Some((procedure, v));
                }
            }
        }
    }
    let Some(((code, name), v)) = found else { return };
    let mut code_value = FieldValue { value: code.to_string(), ..v.clone() };
    flag(&mut code_value, FieldFlag::ProcedureFromForm);
    fields.insert(catalog.code_field.clone(), code_value);
    fields.insert(catalog.name_field.clone(), FieldValue { value: name.to_string(), ..v });
}

/// Puts the procedure's code and name right by the office's list
/// (`catalog`): a value set from the list has source "catalog" and keeps what
/// OCR read in `ocr_value`; a code listed for another procedure than the name
/// is flagged `procedure_name_mismatch`.
fn apply_catalog(catalog: &Catalog, fields: &mut BTreeMap<String, FieldValue>) {
    if catalog.procedures.is_empty() {
        return;
    }
    let read = |k: &str| fields.get(k).filter(|f| f.source.is_none());
    let name = read(&catalog.name_field);
    let others: Vec<&str> = name.map(|f| f.alternatives.iter().map(|a| a.value.as_str()).collect()).unwrap_or_default();
    let settled =
        catalog.settle(name.map(|f| f.value.as_str()), &others, read(&catalog.code_field).map(|f| f.value.as_str()));
    let (code, name, mismatch) = (settled.code.map(str::to_string), settled.name.map(str::to_string), settled.mismatch);
    if let Some(v) = code {
        set_from_catalog(fields, &catalog.code_field, v, &catalog.name_field);
    }
    if let Some(v) = name {
        set_from_catalog(fields, &catalog.name_field, v, &catalog.code_field);
    }
    if mismatch {
        if let Some(f) = fields.get_mut(&catalog.code_field) {
            flag(f, FieldFlag::ProcedureNameMismatch);
        }
    }
}

/// Sets `field` to the list's `value`: the value OCR read (if any) goes to
/// `ocr_value`; page, box and source text are those of the reading, or of
/// the `other` field's when nothing was read.
fn set_from_catalog(fields: &mut BTreeMap<String, FieldValue>, field: &str, value: String, other: &str) {
    let Some(from) = fields.get(field).or_else(|| fields.get(other)) else { return };
    let ocr_value = fields.get(field).map(|f| f.value.clone());
    let v = FieldValue {
        value,
        confidence: from.confidence,
        page: from.page,
        bbox: from.bbox,
        source_text: from.source_text.clone(),
        flags: Vec::new(),
        alternatives: Vec::new(),
        source: Some(crate::catalog::CATALOG_SOURCE.into()),
        ocr_value,
        absent: false,
    };
    fields.insert(field.to_string(), v);
}

/// The field read from a folder's name, when its pattern matches there and
/// the value is valid.
fn from_folder(field: &Field, name: &str) -> Option<FieldValue> {
    let caps = field.from_folder.as_ref()?.captures(name)?;
    let m = caps.name("v").or_else(|| caps.get(0))?;
    let (value, flags) = normalize(field.kind, m.as_str());
    (flags.is_empty() && !value.is_empty()).then(|| FieldValue {
        value,
        confidence: 0.9,
        page: 0,
        bbox: [0.0; 4],
        source_text: name.to_string(),
        flags,
        alternatives: Vec::new(),
        source: Some(FOLDER_SOURCE.into()),
        ocr_value: None,
        absent: false,
    })
}

/// How many lines from the top of a page a title may stand on (a
/// document's, read by `documents`; a form's, read here).
pub(crate) const TITLE_LINES: usize = 10;

/// The `source` of a date taken from inside the dossier code.
pub const CODE_DATE_SOURCE: &str = "dossier_code";

/// The date inside a dossier code (`000.00.20.H40-231204-0001`: 2023-12-04,
/// the day the one-stop office received the dossier and numbered it), as a
/// field read from there: page, box and confidence are the code's. None when
/// the code carries a flag (it failed a check, or pages disagree on it).
fn from_code_date(code: &FieldValue) -> Option<FieldValue> {
    if !code.flags.is_empty() || code.absent {
        return None;
    }
    Some(FieldValue {
        value: date_in_code(&code.value)?,
        confidence: code.confidence,
        page: code.page,
        bbox: code.bbox,
        source_text: code.value.clone(),
        flags: Vec::new(),
        alternatives: Vec::new(),
        source: Some(CODE_DATE_SOURCE.into()),
        ocr_value: None,
        absent: false,
    })
}

/// The date inside a valid dossier code, `yyyy-mm-dd`.
pub(crate) fn date_in_code(code: &str) -> Option<String> {
    let d = code.rsplit('-').nth(1).filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()))?;
    let (value, flags) = normalize(Kind::Date, &format!("{}/{}/20{}", &d[4..6], &d[2..4], &d[0..2]));
    (flags.is_empty() && !value.is_empty()).then_some(value)
}

/// One field of `pipeline` alone (no checks between fields), or None when
/// the pipeline has no such field or no rule reads it.
pub fn extract_field(pipeline: &Rules, name: &str, pages: &[(usize, &OcrPage)]) -> Option<FieldValue> {
    let field = pipeline.fields.iter().find(|f| f.name == name)?;
    let other_person: Vec<bool> = pages.iter().map(|(_, p)| is_other_person_page(pipeline, p)).collect();
    read_field(field, pages, &other_person)
}

/// Reads one field on every page; `other_person[i]` says whether page i is
/// about someone other than the applicant.
fn read_field(field: &Field, pages: &[(usize, &OcrPage)], other_person: &[bool]) -> Option<FieldValue> {
    let mut cands = Vec::new();
    for (&(index, page), &other) in pages.iter().zip(other_person) {
        for li in 0..page.lines.len() {
            // One value per line and field: the most specific label wins.
            for rule in &field.rules {
                if rule.applicant && other {
                    continue;
                }
                if let Some(c) = apply_rule(rule, field.kind, page, li, index) {
                    cands.push(c);
                    break;
                }
            }
        }
    }
    let mut value = decide(cands)?;
    if field.kind == Kind::Address {
        complete_address(&mut value, pages);
    }
    Some(value)
}

/// An address's unit left without its name ("Xóm xã Xuân Thành") takes the
/// name that another page's reading of the same address gives it (most
/// confident first; the value stays flagged `conflict`), else the name a
/// line of the dossier gives it after the same named units (an address cut
/// at the page's edge, "…, huyện Xuân Trường, tỉnh", and the form's "Quê
/// quán: …, huyện Xuân Trường, tỉnh Nam Định"); a unit still without one
/// flags `incomplete_address`.
fn complete_address(f: &mut FieldValue, pages: &[(usize, &OcrPage)]) {
    let mut others: Vec<&Alternative> = f.alternatives.iter().collect();
    others.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let others: Vec<&str> = others.iter().map(|a| a.value.as_str()).collect();
    let (mut value, mut incomplete) = crate::address::complete(&f.value, &others);
    if incomplete {
        let lines: Vec<String> = pages.iter().flat_map(|(_, p)| p.lines.iter().map(|l| l.text())).collect();
        (value, incomplete) = crate::address::complete_from_lines(&value, &lines);
    }
    f.value = value;
    if incomplete {
        flag(f, FieldFlag::IncompleteAddress);
    }
}

fn is_other_person_page(pipeline: &Rules, page: &OcrPage) -> bool {
    if pipeline.other_person_titles.is_empty() {
        return false;
    }
    page.lines.iter().take(8).any(|l| {
        let f = fold(&l.text());
        pipeline.other_person_titles.iter().any(|t| find_label(t, &f, false).is_some())
    })
}

fn apply_rule(rule: &Rule, kind: Kind, page: &OcrPage, li: usize, index: usize) -> Option<Candidate> {
    let line = &page.lines[li];
    let first = Span::new(&[line]);
    let (_, end, edits) = find_label(&rule.label, &first.folded, rule.line_start)?;
    let mut lines = vec![line];
    let next = page.lines.get(li + 1);
    let rest_blank = first.chars[end..].iter().all(|c| !c.is_alphanumeric());
    if let Some(next) = next {
        // The value starts on the next line, or wraps onto it.
        let labelled = next.words.iter().flat_map(|w| w.text.chars()).take(40).any(|c| c == ':');
        if (rest_blank && !labelled) || (rule.continues && continues_onto(page, line, &first.chars[end..], next)) {
            lines.push(next);
        }
    }
    let span = Span::new(&lines);
    // Skip the separator after the label.
    let mut start = end;
    while start < span.chars.len() && matches!(span.chars[start], ':' | ';' | '.' | ',' | ' ' | '_' | '|') {
        start += 1;
    }
    let rest = span.text(start, span.chars.len());
    let caps = rule.pattern.captures(&rest)?;
    let m = caps.name("v").unwrap_or_else(|| caps.get(0).expect("group 0 exists"));
    let (value, mut flags) = normalize(kind, m.as_str());
    // Where the value stands in the text (an honorific dropped, say).
    let (mut from, mut to) = (m.start(), m.end());
    if let Some(k) = m.as_str().find(value.as_str()) {
        (from, to) = (m.start() + k, m.start() + k + value.len());
    }
    let (from, to) = (start + rest[..from].chars().count(), start + rest[..to].chars().count());
    let (bbox, ocr_conf) = span.words_in(from, to);
    let label_quality = 1.0 - 0.5 * edits as f32 / rule.label.len().max(1) as f32;
    let mut confidence = ocr_conf * label_quality;
    if !flags.is_empty() {
        confidence *= 0.5;
    }
    if value.is_empty() {
        return None;
    }
    flags.sort();
    Some(Candidate { value, confidence, page: index, bbox, source_text: span.text(0, span.chars.len()), flags })
}

/// A value goes on to the next line when that line carries no label of its
/// own and the value was cut: it ends with a comma, its line runs to the right
/// margin, or the next line starts in lower case or with an administrative
/// unit.
fn continues_onto(page: &OcrPage, line: &OcrLine, value_so_far: &[char], next: &OcrLine) -> bool {
    let next_text = next.text();
    if next_text.chars().take(40).any(|c| c == ':') || next.bbox[1] < line.bbox[1] {
        return false;
    }
    let ends_comma = value_so_far.iter().rev().find(|c| !c.is_whitespace()) == Some(&',');
    let first = next_text.chars().next().is_some_and(|c| c.is_lowercase());
    let folded: String = fold(&next_text).into_iter().collect();
    let unit =
        ["xa ", "huyen ", "tinh ", "phuong ", "quan ", "thanh pho ", "thi tran "].iter().any(|u| folded.starts_with(u));
    let (left, right) = page.lines.iter().fold((f32::MAX, f32::MIN), |(l, r), x| (l.min(x.bbox[0]), r.max(x.bbox[2])));
    let at_margin = line.bbox[2] >= right - 0.08 * (right - left);
    ends_comma || first || unit || at_margin
}

/// Groups candidates by value: agreement raises confidence, disagreement keeps
/// every value and flags `conflict`.
fn decide(cands: Vec<Candidate>) -> Option<FieldValue> {
    if cands.is_empty() {
        return None;
    }
    let key = |v: &str| collapse(&v.to_lowercase());
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for c in cands {
        match groups.iter_mut().find(|g| key(&g[0].value) == key(&c.value)) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    let score = |g: &Vec<Candidate>| 1.0 - g.iter().map(|c| 1.0 - c.confidence.clamp(0.0, 0.99)).product::<f32>();
    // Clean readings first, then how many pages agree, then confidence.
    groups.sort_by(|a, b| {
        let clean = |g: &Vec<Candidate>| g.iter().any(|c| c.flags.is_empty());
        clean(b).cmp(&clean(a)).then(b.len().cmp(&a.len())).then(score(b).total_cmp(&score(a)))
    });
    let best = &groups[0];
    let lead = best.iter().max_by(|a, b| a.confidence.total_cmp(&b.confidence)).expect("non-empty group");
    let mut flags: Vec<FieldFlag> = lead.flags.clone();
    let mut confidence = score(best);
    let alternatives: Vec<Alternative> = groups[1..]
        .iter()
        .flat_map(|g| g.iter())
        .map(|c| Alternative {
            value: c.value.clone(),
            confidence: round3(c.confidence),
            page: c.page,
            source_text: c.source_text.clone(),
            bbox: c.bbox.map(|v| v.round()),
        })
        .collect();
    if !alternatives.is_empty() {
        flags.push(FieldFlag::Conflict);
        confidence *= 0.5;
    }
    Some(FieldValue {
        value: lead.value.clone(),
        confidence: round3(confidence),
        page: lead.page,
        bbox: lead.bbox.map(|v| v.round()),
        source_text: lead.source_text.clone(),
        flags,
        alternatives,
        source: None,
        ocr_value: None,
        absent: false,
    })
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn flag(f: &mut FieldValue, name: FieldFlag) {
    if !f.flags.contains(&name) {
        f.flags.push(name);
        f.confidence = round3(f.confidence * 0.5);
    }
}

/// Checks between fields: the ID against the birth date, the code's date
/// against the date received, the date promised after the date received.
fn cross_check(fields: &mut BTreeMap<String, FieldValue>) {
    let date = |fields: &BTreeMap<String, FieldValue>, k: &str| fields.get(k).and_then(|f| ymd(&f.value));
    agree_id_and_birth_year(fields);
    if let (Some((Some(y), _, _)), Some(id)) =
        (date(fields, "ngay_sinh"), fields.get("so_dinh_danh").map(|f| f.value.clone()))
    {
        if id.len() == 12 && !cccd_matches_birth_year(&id, y) {
            if let Some(f) = fields.get_mut("so_dinh_danh") {
                flag(f, FieldFlag::IdBirthMismatch);
            }
        }
    }
    let received = date(fields, "ngay_tiep_nhan");
    if let (Some((Some(y), Some(m), Some(d))), Some(code)) = (received, fields.get("ma_ho_so").map(|f| f.value.clone()))
    {
        let parts: Vec<&str> = code.rsplitn(3, '-').collect();
        if parts.len() == 3 && parts[1] != format!("{:02}{m:02}{d:02}", y % 100) {
            if let Some(f) = fields.get_mut("ma_ho_so") {
                flag(f, FieldFlag::CodeDateMismatch);
            }
        }
    }
    if let (Some(r), Some(due)) = (received, date(fields, "ngay_hen_tra")) {
        if due < r {
            if let Some(f) = fields.get_mut("ngay_hen_tra") {
                flag(f, FieldFlag::BeforeReceived);
            }
        }
    }
}

/// Year, month and day of a date value as `normalize` writes it
/// (`yyyy-mm-dd`); None for a value of another length (one that failed).
fn ymd(v: &str) -> Option<(Option<i32>, Option<u32>, Option<u32>)> {
    (v.len() == 10).then(|| {
        (
            v.get(0..4).and_then(|x| x.parse::<i32>().ok()),
            v.get(5..7).and_then(|x| x.parse::<u32>().ok()),
            v.get(8..10).and_then(|x| x.parse::<u32>().ok()),
        )
    })
}

/// Pages that disagree on the birth date or the ID, one of whose values
/// agrees with the other field while the value kept does not: the agreeing
/// value is kept, the other becomes the alternative ("sinh ngày 06/11/1965"
/// on the application, 1985 on the decision, ID 036185…: 1985). The field
/// stays flagged `conflict`, for a clerk to see.
fn agree_id_and_birth_year(fields: &mut BTreeMap<String, FieldValue>) {
    let year = |v: &str| ymd(v).and_then(|d| d.0);
    let (Some(birth), Some(id)) = (fields.get("ngay_sinh"), fields.get("so_dinh_danh")) else { return };
    let agree = |b: &str, i: &str| year(b).is_some_and(|y| cccd_matches_birth_year(i, y));
    if agree(&birth.value, &id.value) {
        return;
    }
    // Another birth date that agrees with the ID, else another ID that agrees with the date.
    let swap = match birth.alternatives.iter().position(|a| agree(&a.value, &id.value)) {
        Some(k) => Some(("ngay_sinh", k)),
        None => id.alternatives.iter().position(|a| agree(&birth.value, &a.value)).map(|k| ("so_dinh_danh", k)),
    };
    if let Some((name, k)) = swap {
        if let Some(f) = fields.get_mut(name) {
            let alt = f.alternatives.remove(k);
            let old = Alternative {
                value: std::mem::replace(&mut f.value, alt.value),
                confidence: f.confidence,
                page: std::mem::replace(&mut f.page, alt.page),
                source_text: std::mem::replace(&mut f.source_text, alt.source_text),
                bbox: std::mem::replace(&mut f.bbox, alt.bbox),
            };
            f.alternatives.insert(0, old);
            f.confidence = round3(alt.confidence * 0.5);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_page as page;
    use crate::rules::DEFAULT_PIPELINE;
    use std::path::Path;

    fn fields(lines: &[&str]) -> BTreeMap<String, FieldValue> {
        let p = page(lines);
        extract(&Rules::builtin(), &[(1, &p)])
    }

    #[test]
    fn a_code_no_page_gives_is_read_from_a_folder_named_by_it() {
        let rules = Rules::builtin();
        let blank = crate::model::test_page(&["Tờ khai", "Họ và tên: ..."]);
        let f = extract_in(&rules, &[(1, &blank)], Some("2024/01/000.00.20.H40-240112-5849 Bùi Thanh Dung"));
        let code = &f["ma_ho_so"];
        assert_eq!(
            (code.value.as_str(), code.page, code.source.as_deref()),
            ("000.00.20.H40-240112-5849", 0, Some(FOLDER_SOURCE))
        );
        assert!(code.flags.is_empty());
        // A folder name that is no valid code (its date is no date) gives nothing.
        assert!(!extract_in(&rules, &[(1, &blank)], Some("2024/000.00.20.H40-241399-5849")).contains_key("ma_ho_so"));
        assert!(!extract_in(&rules, &[(1, &blank)], Some("240619-1848 Phạm Phương Dung")).contains_key("ma_ho_so"));
        // What a page reads comes first.
        let receipt = crate::model::test_page(&["Mã hồ sơ: 000.00.20.H40-240112-0001"]);
        let f = extract_in(&rules, &[(1, &receipt)], Some("000.00.20.H40-240112-5849"));
        assert_eq!(
            (f["ma_ho_so"].value.as_str(), f["ma_ho_so"].source.as_deref()),
            ("000.00.20.H40-240112-0001", None)
        );
    }

    #[test]
    fn a_procedure_no_page_gives_is_its_forms_flagged_for_a_clerk() {
        let rules = Rules::builtin();
        let form = crate::model::test_page(&["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "TỜ KHAI ĐĂNG KÝ KHAI SINH"]);
        let worn = crate::model::test_page(&["...", "Họ và tên: ..."]);
        let f = extract_in(&rules, &[(1, &worn), (2, &form)], None);
        let (code, name) = (&f["ma_thu_tuc"], &f["ten_thu_tuc"]);
        assert_eq!((code.value.as_str(), name.value.as_str()), ("1.001193", "Đăng ký khai sinh"));
        assert_eq!((code.page, code.source.as_deref()), (2, Some(crate::catalog::CATALOG_SOURCE)));
        assert_eq!(code.flags, vec![FieldFlag::ProcedureFromForm]);
        assert_eq!(code.source_text, "TỜ KHAI ĐĂNG KÝ KHAI SINH");
        // Another procedure's form, however near its title: nothing.
        let again = crate::model::test_page(&["TỜ KHAI ĐĂNG KÝ LẠI KHAI SINH"]);
        assert!(!extract_in(&rules, &[(1, &again)], None).contains_key("ma_thu_tuc"));
        // An application's subject naming a listed procedure.
        let app = crate::model::test_page(&["ĐƠN ĐỀ NGHỊ", "V/v: đăng ký thường trú", "Kính gửi: …"]);
        let f = extract_in(&rules, &[(1, &worn), (2, &app)], None);
        assert_eq!(
            (f["ma_thu_tuc"].value.as_str(), f["ten_thu_tuc"].value.as_str()),
            ("1.001022", "Đăng ký thường trú")
        );
        assert_eq!(f["ma_thu_tuc"].flags, vec![FieldFlag::ProcedureFromForm]);
        let vague = crate::model::test_page(&["ĐƠN ĐỀ NGHỊ", "V/v: đăng ký thường trú cho con"]);
        assert!(!extract_in(&rules, &[(1, &vague)], None).contains_key("ma_thu_tuc"));
        // Forms of two procedures: nothing.
        let death = crate::model::test_page(&["TỜ KHAI ĐĂNG KÝ KHAI TỬ"]);
        assert!(!extract_in(&rules, &[(1, &form), (2, &death)], None).contains_key("ma_thu_tuc"));
        // A procedure a page gives comes first.
        let receipt = crate::model::test_page(&["Mã thủ tục: 1.004873"]);
        let f = extract_in(&rules, &[(1, &receipt), (2, &form)], None);
        assert_eq!((f["ma_thu_tuc"].value.as_str(), f["ma_thu_tuc"].flags.len()), ("1.004873", 0));
        // A form naming a procedure the list lacks is refused when loaded.
        let toml = DEFAULT_PIPELINE.replace("= \"1.003200\"\n\"Tờ khai cấp", "= \"9.999999\"\n\"Tờ khai cấp");
        assert_ne!(toml, DEFAULT_PIPELINE);
        let e = Rules::parse(&toml, "p.toml").unwrap_err().to_string();
        assert!(e.contains("9.999999") && e.contains("catalog.forms"), "{e}");
    }

    #[test]
    fn a_receipt_date_no_page_gives_is_the_date_inside_the_code() {
        let rules = Rules::builtin();
        let blank = crate::model::test_page(&["Tờ khai", "Họ và tên: ..."]);
        // The code from the folder, the date from the code.
        let f = extract_in(&rules, &[(1, &blank)], Some("2024/01/000.00.20.H40-240112-5849"));
        let date = &f["ngay_tiep_nhan"];
        assert_eq!(
            (date.value.as_str(), date.page, date.source.as_deref(), date.source_text.as_str()),
            ("2024-01-12", 0, Some(CODE_DATE_SOURCE), "000.00.20.H40-240112-5849")
        );
        assert!(date.flags.is_empty() && date.confidence == f["ma_ho_so"].confidence);
        // A code read on a page gives its page and box.
        let receipt = crate::model::test_page(&["Mã hồ sơ: 000.00.20.H40-231204-0001"]);
        let f = extract_in(&rules, &[(2, &receipt)], None);
        assert_eq!((f["ngay_tiep_nhan"].value.as_str(), f["ngay_tiep_nhan"].page), ("2023-12-04", 2));
        // A date a page gives comes first (the code's own date disagrees: flagged).
        let both = crate::model::test_page(&[
            "Mã hồ sơ: 000.00.20.H40-231204-0001",
            "Thời gian nhận hồ sơ: 09 giờ 15 phút, ngày 05/12/2023",
        ]);
        let f = extract_in(&rules, &[(1, &both)], None);
        assert_eq!((f["ngay_tiep_nhan"].value.as_str(), f["ngay_tiep_nhan"].source.as_deref()), ("2023-12-05", None));
        assert!(f["ma_ho_so"].flags.contains(&FieldFlag::CodeDateMismatch));
        // No code, or a code that fails its checks: no date.
        assert!(!extract_in(&rules, &[(1, &blank)], None).contains_key("ngay_tiep_nhan"));
        let bad = crate::model::test_page(&["Mã hồ sơ: 000.00.20.H40-231304-0001"]);
        assert!(!extract_in(&rules, &[(1, &bad)], None).contains_key("ngay_tiep_nhan"));
        assert_eq!(date_in_code("000.00.20.H40-240229-0007").as_deref(), Some("2024-02-29"));
        assert_eq!(date_in_code("000.00.20.H40-230229-0007"), None);
        // Only a date may take it.
        let toml = DEFAULT_PIPELINE.replace(
            "name = \"ho_ten\"\nkind = \"person_name\"",
            "name = \"ho_ten\"\nkind = \"person_name\"\nfrom_code_date = true",
        );
        assert_ne!(toml, DEFAULT_PIPELINE);
        let e = Rules::parse(&toml, "p.toml").unwrap_err().to_string();
        assert!(e.contains("ho_ten") && e.contains("from_code_date"), "{e}");
    }

    #[test]
    fn folding_keeps_positions() {
        let f: String = fold("Họ và Tên ĐƯỜNG").into_iter().collect();
        assert_eq!(f, "ho va ten duong");
    }

    #[test]
    fn labels_match_without_diacritics_and_with_ocr_noise() {
        let label = fold("Tiếp nhận hồ sơ của");
        assert!(find_label(&label, &fold("Tiep nhan ho so cua: Ba X"), false).is_some());
        assert!(find_label(&label, &fold("Tiếp nhận hồ sợ cùa: Bà X"), false).is_some());
        assert!(find_label(&label, &fold("Tiep nhăn hô so cüa: X"), false).is_some());
        assert!(find_label(&label, &fold("Nội dung yêu cầu giải quyết"), false).is_none());
        // Short labels must match exactly and at word boundaries.
        assert!(find_label(&fold("Số"), &fold("Sốt cao"), true).is_none());
        assert!(find_label(&fold("Số"), &fold("Số: 12/QĐ-UBND"), true).is_some());
    }

    #[test]
    fn digits_of_other_scripts_never_panic() {
        // Full-width and Arabic-Indic digits (a born-digital PDF may carry
        // them) are not read as numbers, and nothing panics on them.
        let f = fields(&[
            "Mã hồ sơ: 000.00.20.H40-２３１２０４-０００１",
            "Mã hồ sơ: 000.00.20.H40-٢٣١٢٠٤-٠٠٠١",
            "Số định danh cá nhân: ０３６１８４００１２３４",
            "Sinh ngày: ١٢/٠٣/١٩٨٤",
            "Thời gian nhận hồ sơ: ０９ giờ 15 phút, ngày ０４/12/2023",
            "Mã thủ tục: ١.٠٠١٠٢٢",
        ]);
        for (k, v) in &f {
            assert!(v.value.is_ascii() || k == "ma_ho_so", "{k}: {}", v.value);
        }
        for kind in
            [Kind::DossierCode, Kind::Cccd, Kind::Date, Kind::BirthDate, Kind::Phone, Kind::ProcedureCode, Kind::Time]
        {
            for raw in
                ["２３１２０４", "٢٣١٢٠٤-٠٠٠١", "000.00.20.H40-２３１２０４-０００１", "０３６１８４００１２３４"]
            {
                let _ = normalize(kind, raw);
            }
        }
    }

    #[test]
    fn label_rules_read_values() {
        let f = fields(&[
            "Mã hồ sơ: 000:00.20.H40-231204-0001",
            "Tiếp nhận hồ sơ của: Bà Nguyễn Thị Hoa",
            "Số định danh cá nhân: 036 184 001 234",
            "Sinh ngày: 12/03/1984",
            "Số điện thoại liên hệ: 0912 345 678",
            "Địa chỉ thường trú: Xóm 3, xã Xuân Ninh,",
            "huyện Xuân Trường, tỉnh Nam Định",
            "Nội dung yêu cầu giải quyết: Đăng ký thường trú",
            "Mã thủ tục: 1.001022",
            "Thời gian nhận hồ sơ: 09 giờ 15 phút, ngày 04/12/2023",
            "Thời gian trả kết quả giải quyết hồ sơ: ngày 06/12/2023",
            "Số: 1267/QĐ-UBND",
        ]);
        let v = |k: &str| f.get(k).map(|x| x.value.as_str()).unwrap_or("<missing>");
        assert_eq!(v("ma_ho_so"), "000.00.20.H40-231204-0001");
        assert_eq!(v("ho_ten"), "Nguyễn Thị Hoa");
        assert_eq!(v("so_dinh_danh"), "036184001234");
        assert_eq!(v("ngay_sinh"), "1984-03-12");
        assert_eq!(v("so_dien_thoai"), "0912345678");
        assert_eq!(v("dia_chi"), "Xóm 3, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định");
        assert_eq!(v("ten_thu_tuc"), "Đăng ký thường trú");
        assert_eq!(v("ma_thu_tuc"), "1.001022");
        assert_eq!(v("ngay_tiep_nhan"), "2023-12-04");
        assert_eq!(v("ngay_hen_tra"), "2023-12-06");
        assert_eq!(v("so_ky_hieu"), "1267/QĐ-UBND");
        for (k, x) in &f {
            assert!(x.flags.is_empty(), "{k}: {:?}", x.flags);
            assert!(x.confidence > 0.5 && x.confidence <= 1.0, "{k}: {}", x.confidence);
            assert_eq!(x.page, 1);
        }
        assert_eq!(f["ho_ten"].bbox, [300.0, 30.0, 440.0, 50.0], "the name's words, not the honorific");
    }

    #[test]
    fn labels_whose_start_is_worn_still_read_their_values() {
        let f = fields(&[
            "ận hồ sơ của: Bà Bùi Thanh Diệu Dung",
            "dien thoại: 0904478711",
            "Ội dung yêu cầu giải quyết: Xác nhận tình trạng hôn nhân",
            "ã thủ tục: 1.004227",
            "in trả kết quả giải quyết hồ sơ: ngày 14/01/2024",
            "chỉ thường trú: Xóm 8, xã Xuân Ngọc, huyện Xuân Trường, tỉnh Nam Định",
        ]);
        let v = |k: &str| f.get(k).map(|x| x.value.as_str()).unwrap_or("<missing>");
        assert_eq!(v("ho_ten"), "Bùi Thanh Diệu Dung");
        assert_eq!(v("so_dien_thoai"), "0904478711");
        assert_eq!(v("ten_thu_tuc"), "Xác nhận tình trạng hôn nhân");
        assert_eq!(v("ma_thu_tuc"), "1.004227");
        assert_eq!(v("ngay_hen_tra"), "2024-01-14");
        assert_eq!(v("dia_chi"), "Xóm 8, xã Xuân Ngọc, huyện Xuân Trường, tỉnh Nam Định");
        for line in
            ["chỉ: Xóm 4, xã Xuân Tiến", "cư trú: Xóm 4, xã Xuân Tiến", "hỉ thường trú: thôn Xóm Mới, xã Xuân Tiến"]
        {
            assert!(fields(&[line])["dia_chi"].value.ends_with("xã Xuân Tiến"), "{line}");
        }
        // The same words where they name no such value.
        for line in [
            "Tôi làm đơn này kính đề nghị Ủy ban nhân dân huyện xem xét, giải quyết thủ tục chứng thực",
            "Về việc giải quyết hồ sơ đăng ký khai sinh",
            "2. Giấy tờ tùy thân của người yêu cầu: 01 bản sao",
            "Bộ phận tiếp nhận và trả kết quả UBND huyện Xuân Trường",
            "Căn cứ Nghị định số 45/2020/NĐ-CP ngày 08 tháng 4 năm 2020 của Chính",
            "Chủ tịch UBND xã chỉ đạo các cơ quan có liên quan",
            "số định danh cá nhân 036057039317, thường trú tại Xóm 2, xã Xuân Vinh, huyện",
        ] {
            let f = fields(&[line]);
            for k in ["ho_ten", "so_dien_thoai", "ten_thu_tuc", "ma_thu_tuc", "ngay_hen_tra", "dia_chi"] {
                assert!(!f.contains_key(k), "{line}: {k} {:?}", f.get(k));
            }
        }
    }

    #[test]
    fn labels_that_lost_their_diacritics_still_match() {
        let f = fields(&[
            "Tiep nhan ho so cua: Ong Lê Văn Tâm",
            "So dinh danh ca nhan: 036095011223",
            "Ma thu tuc: 1.001193",
        ]);
        assert_eq!(f["ho_ten"].value, "Lê Văn Tâm");
        assert_eq!(f["so_dinh_danh"].value, "036095011223");
        assert_eq!(f["ma_thu_tuc"].value, "1.001193");
    }

    #[test]
    fn an_id_whose_labels_start_a_copier_wore_away_is_still_read() {
        let f = fields(&["Sinh ngày: 27/03/1967", "danh cá nhân: 036067729117"]);
        assert_eq!(f["so_dinh_danh"].value, "036067729117");
        // Nothing else is taken for it: a line without the label's end.
        assert!(!fields(&["Số hồ sơ nhân: 036067729117"]).contains_key("so_dinh_danh"));
    }

    #[test]
    fn failed_checks_flag_and_keep() {
        let f = fields(&["Số định danh cá nhân: 999184001234", "Sinh ngày: 31/02/1984", "Số điện thoại: 0112345678"]);
        assert!(f["so_dinh_danh"].flags.contains(&FieldFlag::from("unknown_province_code".to_string())));
        assert!(f["so_dinh_danh"].confidence < 0.5);
        assert!(f["ngay_sinh"].flags.contains(&FieldFlag::from("invalid_date".to_string())));
        assert!(f["so_dien_thoai"].flags.contains(&FieldFlag::from("unknown_phone_prefix".to_string())));
    }

    #[test]
    fn id_must_agree_with_birth_year() {
        assert!(cccd_matches_birth_year("036184001234", 1984));
        assert!(cccd_matches_birth_year("036320559936", 2020));
        assert!(!cccd_matches_birth_year("036084001234", 2084));
        let f = fields(&["Số định danh cá nhân: 036084001234", "Sinh ngày: 12/03/1994"]);
        assert!(f["so_dinh_danh"].flags.contains(&FieldFlag::from("id_birth_mismatch".to_string())));
    }

    #[test]
    fn code_date_must_agree_with_date_received() {
        let f = fields(&["Mã hồ sơ: 000.00.20.H40-231205-0001", "Thời gian nhận hồ sơ: ngày 04/12/2023"]);
        assert!(f["ma_ho_so"].flags.contains(&FieldFlag::from("code_date_mismatch".to_string())));
    }

    #[test]
    fn pages_that_disagree_keep_both_values() {
        let p1 = page(&["Tiếp nhận hồ sơ của: Ông Trần Văn Bình"]);
        let p2 = page(&["Tôi tên là: Trần Văn Bính"]);
        let p3 = page(&["Chấp thuận đề nghị của ông Trần Văn Bình, sinh ngày 21/09/1979"]);
        let f = extract(&Rules::builtin(), &[(1, &p1), (2, &p2), (3, &p3)]);
        let n = &f["ho_ten"];
        assert_eq!(n.value, "Trần Văn Bình");
        assert!(n.flags.contains(&FieldFlag::from("conflict".to_string())));
        assert_eq!(n.alternatives.len(), 1);
        assert_eq!(n.alternatives[0].value, "Trần Văn Bính");
        // Agreement without conflict raises confidence above one reading.
        let f = extract(&Rules::builtin(), &[(1, &p1), (3, &p3)]);
        let one = extract(&Rules::builtin(), &[(1, &p1)]);
        assert!(f["ho_ten"].confidence > one["ho_ten"].confidence);
    }

    #[test]
    fn an_address_a_worn_page_read_without_a_unit_name_takes_it_from_another_page() {
        // 1848 of the photocopy set: the receipt lost "7," and the form misread marks.
        let p1 = page(&["Địa chỉ: Xóm xã Xuân Thành, huyện Xuân Trường, tỉnh:Nam Định"]);
        let p3 = page(&["Địa chỉ thường trú: Xóm 7, kã Xuân Thành, huyện Xuân Trường, tính Nam Đinh"]);
        let f = extract(&Rules::builtin(), &[(1, &p1), (3, &p3)]);
        let a = &f["dia_chi"];
        assert_eq!(a.value, "Xóm 7, xã Xuân Thành, huyện Xuân Trường, tỉnh Nam Định");
        assert_eq!((a.page, a.flags.as_slice(), a.alternatives.len()), (1, &[FieldFlag::Conflict][..], 1));
        // Alone, the worn reading keeps what it read and says a name is missing.
        let f = extract(&Rules::builtin(), &[(1, &p1)]);
        assert_eq!(f["dia_chi"].value, "Xóm xã Xuân Thành, huyện Xuân Trường, tỉnh Nam Định");
        assert_eq!(f["dia_chi"].flags, [FieldFlag::IncompleteAddress]);
    }

    #[test]
    fn a_date_before_the_sex_is_a_birth_date_when_its_label_is_worn() {
        // photocopy-dev 4407: "Sinh" worn away, and a slash with it.
        let f = fields(&["2T. xY 3 it ngày: 27/03 1967 Giới tính: Nam", "Số định danh cá nhân: 036067729117"]);
        assert_eq!(f["ngay_sinh"].value, "1967-03-27");
        assert!(f["ngay_sinh"].flags.is_empty(), "{:?}", f["ngay_sinh"]);
        assert_eq!(fields(&["NGÀY 05/02/1990 GIỚI TÍNH: NỮ"])["ngay_sinh"].value, "1990-02-05");
        // Any other date on a line is not.
        for line in [
            "Xuân Trường, ngày 01 tháng 03 năm 2023",
            "Ngày cấp: 18/11/2017 Nơi cấp: Cục Cảnh sát QLHC về TTXH",
            "Thời gian nhận hồ sơ: 10 giờ 30 phút, ngày 12/01/2024",
            "ngày 12/01/2024 Giấy tờ tùy thân",
        ] {
            assert!(!fields(&[line]).contains_key("ngay_sinh"), "{line}");
        }
    }

    #[test]
    fn birth_registration_child_is_not_the_applicant() {
        let f = fields(&[
            "TỜ KHAI ĐĂNG KÝ KHAI SINH",
            "Họ, chữ đệm, tên người yêu cầu: Đỗ Thị Hồng Lan",
            "Giấy tờ tùy thân: Căn cước công dân số 036189215871",
            "Họ, chữ đệm, tên: PHẠM KIM TUYẾT",
            "Ngày, tháng, năm sinh: 13/01/2022",
            "Sinh ngày: 13/01/2022",
        ]);
        assert_eq!(f["ho_ten"].value, "Đỗ Thị Hồng Lan");
        assert_eq!(f["so_dinh_danh"].value, "036189215871");
        assert!(!f.contains_key("ngay_sinh"), "{:?}", f.get("ngay_sinh"));
    }

    #[test]
    fn worked_example_reads_the_certificate() {
        let p = Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/example-hon-nhan.toml")).unwrap();
        let page = page(&[
            "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
            "Số: 125/XNHN",
            "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai",
            "Giấy này có giá trị sử dụng đến ngày: 15/12/2024",
        ]);
        let f = extract(&p, &[(1, &page)]);
        assert_eq!(f["tinh_trang_hon_nhan"].value, "Chưa đăng ký kết hôn với ai");
        assert_eq!(f["gia_tri_den_ngay"].value, "2024-12-15");
        assert_eq!(f["so_ky_hieu"].value, "125/XNHN");
    }

    #[test]
    fn a_date_whose_slash_wore_to_a_one_is_read() {
        let f = fields(&["Sinh ngày: 26/0712000 Giới tính: Nữ"]);
        assert_eq!(f["ngay_sinh"].value, "2000-07-26");
        assert!(f["ngay_sinh"].flags.is_empty());
    }

    #[test]
    fn the_procedure_list_puts_a_misread_code_and_name_right() {
        let f = fields(&["Nội dung yêu cầu giải quyết: Cấp bán sao trích lục hộ tịch", "Mã thủ tục: 1.004878"]);
        let (code, name) = (&f["ma_thu_tuc"], &f["ten_thu_tuc"]);
        assert_eq!(
            (code.value.as_str(), code.source.as_deref(), code.ocr_value.as_deref()),
            ("1.004873", Some(crate::catalog::CATALOG_SOURCE), Some("1.004878"))
        );
        assert!(code.flags.is_empty());
        assert_eq!(
            (name.value.as_str(), name.ocr_value.as_deref(), name.page),
            ("Cấp bản sao trích lục hộ tịch", Some("Cấp bán sao trích lục hộ tịch"), 1)
        );
        // Nothing read: nothing set.
        assert!(!fields(&["Mã thủ tục: 1.999999"]).contains_key("ten_thu_tuc"));
        // A code listed for another procedure is kept, flagged.
        let f = fields(&["Nội dung yêu cầu giải quyết: Đăng ký khai sinh", "Mã thủ tục: 1.003200"]);
        assert_eq!(f["ma_thu_tuc"].value, "1.003200");
        assert_eq!(f["ma_thu_tuc"].flags, [FieldFlag::ProcedureNameMismatch]);
        assert_eq!(f["ten_thu_tuc"].source, None);
    }

    #[test]
    fn pages_that_disagree_keep_the_value_the_id_agrees_with() {
        let p1 = page(&["Sinh ngày: 06/11/1965 Giới tính: Nữ", "Số định danh cá nhân: 036185438072"]);
        let p2 = page(&[
            "Chấp thuận đề nghị của bà Phan Thùy Trang, sinh ngày 06/11/1985, số định danh cá nhân 036185438072",
        ]);
        let f = extract(&Rules::builtin(), &[(1, &p1), (2, &p2)]);
        let b = &f["ngay_sinh"];
        assert_eq!((b.value.as_str(), b.page), ("1985-11-06", 2));
        assert_eq!(b.alternatives.iter().map(|a| (a.value.as_str(), a.page)).collect::<Vec<_>>(), [("1965-11-06", 1)]);
        assert!(b.flags.contains(&FieldFlag::Conflict));
        assert!(f["so_dinh_danh"].flags.is_empty(), "{:?}", f["so_dinh_danh"].flags);
        // With no value that agrees, the ID is flagged as before.
        let f = extract(&Rules::builtin(), &[(1, &p1)]);
        assert_eq!(f["ngay_sinh"].value, "1965-11-06");
        assert!(f["so_dinh_danh"].flags.contains(&FieldFlag::IdBirthMismatch));
    }
}
