//! A dossier is several documents: the receipt, the application or declaration
//! form, copies of identity papers, the result. The archive (Thông tư
//! 05/2025/TT-BNV) and the portal (TaiLieuNop) list them one by one. This
//! module splits a dossier's pages into documents, by titles and headers
//! declared in the pipeline TOML, classifies each, and reads its metadata as
//! Nghị định 30/2020 Phụ lục VI names it. It reads only the OCR model.

use crate::extract;
use crate::model::OcrPage;
use crate::rules::Rules;
use crate::syllable::fold;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::extract::TITLE_LINES;
/// How many lines from the top a header may stand on.
const HEADER_LINES: usize = 4;

/// One document of a dossier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Document {
    /// 1-based position in the dossier.
    pub ordinal: usize,
    /// Type from the pipeline's `[[document]]` list, or "khac" (other).
    #[serde(rename = "type")]
    pub kind: String,
    /// The title line as recognized ("" when the document has none).
    pub title: String,
    /// Dossier page indexes (the manifest's page `index`).
    pub pages: Vec<usize>,
    pub pdf: Option<String>,
    pub pdf_sha256: Option<String>,
    /// Nghị định 30/2020 Phụ lục VI metadata, where known: TypeName,
    /// CodeNumber, CodeNotation, IssuedDate (yyyy-mm-dd), OrganName, Subject,
    /// PageAmount.
    pub metadata: BTreeMap<String, String>,
}

/// A page as the splitter sees it: its index and its text, if any (blank and
/// unreadable pages have none and belong to the document before them).
pub(crate) type PageText<'a> = (usize, Option<&'a OcrPage>);

/// Text without the stray marks OCR leaves around it.
fn clean(s: &str) -> String {
    s.trim_matches(|c: char| !c.is_alphanumeric()).to_string()
}

/// The document type and title line a page opens, if it opens one.
fn opening(pipeline: &Rules, page: &OcrPage) -> Option<(String, String)> {
    let n = page.lines.len().min(TITLE_LINES);
    for spec in &pipeline.documents {
        for i in 0..n {
            let text = page.lines[i].text();
            let folded = fold(&text);
            if spec.titles.iter().any(|t| extract::find_label(t, &folded, true).is_some()) {
                return Some((spec.kind.clone(), clean(&text)));
            }
        }
    }
    let headed = (0..page.lines.len().min(HEADER_LINES)).any(|i| {
        pipeline.document_headers.iter().any(|h| extract::find_label(h, &fold(&page.lines[i].text()), false).is_some())
    });
    headed.then(|| ("khac".to_string(), String::new()))
}

/// Splits pages (in dossier order) into documents. The first page always
/// opens one; blank and unreadable pages join the document before them.
pub(crate) fn split(pipeline: &Rules, pages: &[PageText]) -> Vec<Document> {
    let mut docs: Vec<Document> = Vec::new();
    for &(index, text) in pages {
        let opens = text.and_then(|p| opening(pipeline, p));
        match (opens, docs.last_mut()) {
            (None, Some(d)) => d.pages.push(index),
            (opens, _) => {
                let (kind, title) = opens.unwrap_or_else(|| ("khac".into(), String::new()));
                docs.push(Document {
                    ordinal: docs.len() + 1,
                    kind,
                    title,
                    pages: vec![index],
                    pdf: None,
                    pdf_sha256: None,
                    metadata: BTreeMap::new(),
                });
            }
        }
    }
    for d in &mut docs {
        let texts: Vec<(usize, &OcrPage)> =
            pages.iter().filter(|(i, _)| d.pages.contains(i)).filter_map(|(i, p)| p.map(|p| (*i, p))).collect();
        d.metadata = metadata(pipeline, d, &texts);
    }
    docs
}

/// Nghị định 30/2020 Phụ lục VI metadata read from a document's pages.
fn metadata(pipeline: &Rules, d: &Document, pages: &[(usize, &OcrPage)]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let type_name =
        pipeline.documents.iter().find(|t| t.kind == d.kind).map(|t| t.name.clone()).unwrap_or_else(|| d.title.clone());
    if !type_name.is_empty() {
        m.insert("TypeName".into(), type_name);
    }
    m.insert("PageAmount".into(), d.pages.len().to_string());
    let Some(&(_, first)) = pages.first() else { return m };
    if let Some(f) = extract::extract_field(pipeline, "so_ky_hieu", pages).filter(|f| f.flags.is_empty()) {
        if let Some((num, notation)) = f.value.split_once('/') {
            m.insert("CodeNumber".into(), num.to_string());
            m.insert("CodeNotation".into(), notation.to_string());
        }
    }
    let date = Regex::new(r",\s*ngay\s+([0-9]{1,2})\s+thang\s+([0-9]{1,2})\s+nam\s+([0-9]{4})").expect("valid");
    let subject = Regex::new(r"^(?:v/v|ve viec)\s*[:.]?\s*").expect("valid");
    for i in 0..first.lines.len() {
        let text = first.lines[i].text();
        let folded: String = fold(&text).into_iter().collect();
        if !m.contains_key("IssuedDate") {
            if let Some(c) = date.captures(&folded) {
                let (d, mo, y) = (c[1].parse::<u32>().unwrap_or(0), c[2].parse::<u32>().unwrap_or(0), &c[3]);
                if (1..=31).contains(&d) && (1..=12).contains(&mo) {
                    m.insert("IssuedDate".into(), format!("{y}-{mo:02}-{d:02}"));
                }
            }
        }
        if !m.contains_key("Subject") {
            if let Some(c) = subject.find(&folded) {
                let rest: String = text.chars().skip(folded[..c.end()].chars().count()).collect();
                if !clean(&rest).is_empty() {
                    m.insert("Subject".into(), clean(&rest));
                }
            }
        }
    }
    // The issuing body heads the page's left column, above the motto's column.
    let mut organ = Vec::new();
    for i in 0..first.lines.len().min(2) {
        let text = first.lines[i].text();
        let folded: String = fold(&text).into_iter().collect();
        let cut = ["cong hoa", "doc lap"].iter().filter_map(|k| folded.find(k)).min().unwrap_or(folded.len());
        let part: String = text.chars().take(folded[..cut].chars().count()).collect();
        let part = part.trim().trim_end_matches(['-', '_', '|']).trim();
        if !part.is_empty() && part.chars().filter(|c| c.is_alphabetic()).all(|c| !c.is_lowercase()) {
            organ.push(part.to_string());
        }
    }
    if !organ.is_empty() {
        m.insert("OrganName".into(), organ.join(" "));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_page as page;

    #[test]
    fn pages_split_into_documents_with_metadata() {
        let receipt = page(&[
            "UBND HUYỆN XUÂN TRƯỜNG CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "BỘ PHẬN MỘT CỬA Độc lập - Tự do - Hạnh phúc",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            "Mã hồ sơ: 000.00.20.H40-230302-3658",
            "Xuân Trường, ngày 02 tháng 03 năm 2023",
        ]);
        let more = page(&["Thành phần hồ sơ (tiếp theo)", "3. Bản sao giấy khai sinh"]);
        let decision = page(&[
            "ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "HUYỆN XUÂN TRƯỜNG Độc lập - Tự do - Hạnh phúc",
            "Số: 2364/QĐ-UBND Xuân Trường, ngày 04 tháng 03 năm 2023",
            "QUYẾT ĐỊNH",
            "Về việc giải quyết hồ sơ đăng ký kết hôn",
        ]);
        let p = Rules::builtin();
        let docs = split(&p, &[(1, Some(&receipt)), (2, Some(&more)), (3, None), (4, Some(&decision)), (5, None)]);
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].kind.as_str(), docs[0].pages.clone()), ("giay_tiep_nhan", vec![1, 2, 3]));
        assert_eq!((docs[1].kind.as_str(), docs[1].pages.clone()), ("quyet_dinh", vec![4, 5]));
        assert_eq!(docs[1].ordinal, 2);
        let m = &docs[1].metadata;
        assert_eq!(m["TypeName"], "Quyết định");
        assert_eq!((m["CodeNumber"].as_str(), m["CodeNotation"].as_str()), ("2364", "QĐ-UBND"));
        assert_eq!(m["IssuedDate"], "2023-03-04");
        assert_eq!(m["OrganName"], "ỦY BAN NHÂN DÂN HUYỆN XUÂN TRƯỜNG");
        assert_eq!(m["Subject"], "giải quyết hồ sơ đăng ký kết hôn");
        assert_eq!(m["PageAmount"], "2");
        assert_eq!(docs[0].metadata["IssuedDate"], "2023-03-02");
        assert_eq!(docs[0].metadata["OrganName"], "UBND HUYỆN XUÂN TRƯỜNG BỘ PHẬN MỘT CỬA");
    }

    #[test]
    fn a_motto_header_opens_a_document_of_unknown_type() {
        let p = Rules::builtin();
        let a = page(&["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "BẢN CAM KẾT"]);
        let b = page(&["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY ỦY QUYỀN"]);
        let docs = split(&p, &[(1, Some(&a)), (2, Some(&b))]);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].kind, "khac");
    }
}
