//! The pipeline file, loaded and checked: the fields to read (kind, label,
//! value pattern, where else a field may come from), the document types, the
//! portal's settings and the office's procedure list. It exists apart from
//! `extract`, which reads fields from pages, so that what an office writes in
//! its TOML and how a page is read are two files: a newcomer changing the
//! format does not wade through label matching, and `extract` sees rules
//! already compiled (labels folded, patterns anchored, longer labels first).
//! Every error names the file and the field.

use crate::catalog::Catalog;
use crate::syllable::fold;
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in pipeline, `pipelines/tthc.toml`.
pub const DEFAULT_PIPELINE: &str = include_str!("../pipelines/tthc.toml");

/// Why a pipeline file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot read pipeline {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("pipeline {path} is not valid TOML for sohoa: {message}")]
    Parse { path: String, message: String },
    #[error("pipeline {path}, field '{field}', rule '{label}': bad pattern: {message}")]
    Pattern { path: String, field: String, label: String, message: String },
}

/// How a field's value is normalized and checked.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Free text, whitespace folded.
    Text,
    /// An address in administrative units ("Xóm 7, xã …, huyện …, tỉnh …"),
    /// as text; a unit left without its name is filled from another page's
    /// reading of the same address, else flagged.
    Address,
    /// A person's name as printed, without honorific.
    PersonName,
    /// `<agency>-<yyMMdd>-<NNNN>` (Thông tư 01/2018/TT-VPCP).
    DossierCode,
    /// 12-digit personal ID (căn cước công dân).
    Cccd,
    /// A date, normalized to yyyy-mm-dd.
    Date,
    /// A birth date: a date not in the future.
    BirthDate,
    /// 10 digits starting with 0.
    Phone,
    /// Procedure code such as 1.001193.
    ProcedureCode,
    /// Number and symbol of a document, such as 1267/QĐ-UBND.
    DocNumber,
    /// A time of day ("09 giờ 15 phút", "9h15", "09:15"), normalized to HH:MM.
    Time,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    pipeline: Meta,
    #[serde(default)]
    field: Vec<FieldSpec>,
    #[serde(default)]
    document: Vec<DocumentFile>,
    #[serde(default)]
    portal: PortalSettings,
    #[serde(default)]
    catalog: Catalog,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentFile {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    titles: Vec<String>,
}

/// A document type: how its title reads, and its name (TypeName).
#[derive(Debug)]
pub struct DocumentType {
    pub kind: String,
    pub name: String,
    pub titles: Vec<Vec<char>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    other_person_pages: Option<TitleList>,
    /// Header lines that open a document whatever its title (the national
    /// motto of Nghị định 30/2020).
    #[serde(default)]
    document_headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TitleList {
    titles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    name: String,
    kind: Kind,
    #[serde(default)]
    required: bool,
    /// A pattern read at the start of the dossier's folder name, for a
    /// dossier whose pages do not give the field.
    #[serde(default)]
    from_folder: Option<String>,
    /// A `date` field that no page gives takes the date inside the dossier
    /// code (`<agency>-<yyMMdd>-<NNNN>`, the day the dossier was received).
    #[serde(default)]
    from_code_date: bool,
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    label: String,
    pattern: String,
    #[serde(default)]
    applicant: bool,
    #[serde(default)]
    continues: bool,
    #[serde(default)]
    line_start: bool,
}

/// What the pipeline file's `[portal]` table says about the fields no scan
/// carries: values for every dossier, values per procedure (keyed by MaTTHC,
/// overriding), MaThanhPhanHoSo per document type, and the public base URL
/// under which OUT is served to the portal.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// e.g. "https://sohoa.xuantruong.namdinh.gov.vn/out/": a PDF's path
    /// under OUT is appended (percent-encoded). Without it, paths stay
    /// relative to OUT and `sohoa push` refuses to send.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub values: SyncValues,
    #[serde(default)]
    pub procedures: BTreeMap<String, SyncValues>,
    /// MaThanhPhanHoSo per document type of the pipeline's `[[document]]`.
    #[serde(default)]
    pub documents: BTreeMap<String, String>,
    /// Which of the pipeline's fields fills which of the sync's
    /// (`[portal.fields]`); the built-in names by default.
    #[serde(default)]
    pub fields: SyncFields,
}

/// The pipeline's field that fills each sync field read from the scans:
/// field names live in the pipeline TOML, not in the code that exports them.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct SyncFields {
    /// The dossier code (also the PDFs' name).
    pub MaHoSo: String,
    pub MaTTHC: String,
    pub TenTTHC: String,
    pub ChuHoSo: String,
    pub SoGiayToChuHoSo: String,
    pub SoDienThoai: String,
    pub NgayTiepNhan: String,
    pub GioTiepNhan: String,
    pub NgayHenTra: String,
    pub GioHenTra: String,
}

impl Default for SyncFields {
    fn default() -> Self {
        SyncFields {
            MaHoSo: "ma_ho_so".into(),
            MaTTHC: "ma_thu_tuc".into(),
            TenTTHC: "ten_thu_tuc".into(),
            ChuHoSo: "ho_ten".into(),
            SoGiayToChuHoSo: "so_dinh_danh".into(),
            SoDienThoai: "so_dien_thoai".into(),
            NgayTiepNhan: "ngay_tiep_nhan".into(),
            GioTiepNhan: "gio_tiep_nhan".into(),
            NgayHenTra: "ngay_hen_tra".into(),
            GioHenTra: "gio_hen_tra".into(),
        }
    }
}

impl SyncFields {
    /// The sync fields a body cannot go without, with the pipeline field
    /// that fills each.
    pub(crate) fn required(&self) -> [(&'static str, &str); 5] {
        [
            ("MaHoSo", &self.MaHoSo),
            ("MaTTHC", &self.MaTTHC),
            ("TenTTHC", &self.TenTTHC),
            ("ChuHoSo", &self.ChuHoSo),
            ("NgayTiepNhan", &self.NgayTiepNhan),
        ]
    }
}

/// The sync's fields that come from the office's settings, in the sync's
/// own names.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct SyncValues {
    pub MaLinhVuc: Option<String>,
    pub TenLinhVuc: Option<String>,
    pub LoaiDoiTuong: Option<String>,
    pub TrangThaiHoSo: Option<String>,
    pub HinhThuc: Option<String>,
    pub DonViXuLy: Option<String>,
    pub KenhThucHien: Option<String>,
    pub NoiNopHoSo: Option<String>,
}

impl PortalSettings {
    /// The value of a settings field for a procedure: its own, else the
    /// common one, else "".
    pub(crate) fn value(&self, procedure: &str, get: impl Fn(&SyncValues) -> &Option<String>) -> String {
        self.procedures
            .get(procedure)
            .and_then(|v| get(v).clone())
            .or_else(|| get(&self.values).clone())
            .unwrap_or_default()
    }
}

/// A pipeline file's rules, loaded and checked: fields, document types,
/// portal settings. (Named `Rules`, not `Pipeline`, so that it is not taken
/// for the `pipeline` module, which is the run.)
#[derive(Debug)]
pub struct Rules {
    pub name: String,
    pub fields: Vec<Field>,
    pub(crate) other_person_titles: Vec<Vec<char>>,
    /// Document types, most specific title first.
    pub documents: Vec<DocumentType>,
    pub document_headers: Vec<Vec<char>>,
    /// The portal's fields that no scan carries (`[portal]`).
    pub portal: PortalSettings,
    /// The office's procedures, code and name (`[catalog]`).
    pub(crate) catalog: Catalog,
}

#[derive(Debug)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
    pub(crate) rules: Vec<Rule>,
    /// Read at the start of the dossier's folder name when no page gives
    /// the field (a folder named by its dossier code).
    pub(crate) from_folder: Option<Regex>,
    /// Takes the date inside the dossier code when no page gives the field.
    pub(crate) from_code_date: bool,
}

/// One way a field is printed: its label (folded) and the value's pattern
/// (anchored after the label), compiled from a `[[field.rule]]`.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) label: Vec<char>,
    pub(crate) pattern: Regex,
    /// Read only on the applicant's pages (not a child's or a deceased's).
    pub(crate) applicant: bool,
    /// The value may run onto the next line.
    pub(crate) continues: bool,
    /// The label only counts at the start of a line.
    pub(crate) line_start: bool,
}

impl Rules {
    /// The built-in default pipeline.
    pub fn builtin() -> Rules {
        Rules::parse(DEFAULT_PIPELINE, "pipelines/tthc.toml (built in)").expect("the built-in pipeline is valid")
    }

    pub fn load(path: &Path) -> Result<Rules, PipelineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PipelineError::Read { path: path.display().to_string(), source: e })?;
        Rules::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Rules, PipelineError> {
        let file: PipelineFile =
            toml::from_str(text).map_err(|e| PipelineError::Parse { path: path.into(), message: e.to_string() })?;
        let mut fields = Vec::new();
        for f in file.field {
            let mut rules = Vec::new();
            for r in f.rule {
                // A value follows its label: the pattern is anchored there.
                let pattern = Regex::new(&format!("^(?:{})", r.pattern)).map_err(|e| PipelineError::Pattern {
                    path: path.into(),
                    field: f.name.clone(),
                    label: r.label.clone(),
                    message: e.to_string(),
                })?;
                rules.push(Rule {
                    label: fold(&r.label),
                    pattern,
                    applicant: r.applicant,
                    continues: r.continues,
                    line_start: r.line_start,
                });
            }
            // Longer labels first: "Địa chỉ thường trú" before "Địa chỉ".
            rules.sort_by_key(|r| std::cmp::Reverse(r.label.len()));
            let from_folder = match &f.from_folder {
                Some(p) => Some(Regex::new(&format!("^(?:{p})")).map_err(|e| PipelineError::Pattern {
                    path: path.into(),
                    field: f.name.clone(),
                    label: "from_folder".into(),
                    message: e.to_string(),
                })?),
                None => None,
            };
            if f.from_code_date && f.kind != Kind::Date {
                return Err(PipelineError::Parse {
                    path: path.into(),
                    message: format!("field '{}': from_code_date needs kind = \"date\"", f.name),
                });
            }
            fields.push(Field {
                name: f.name,
                kind: f.kind,
                required: f.required,
                rules,
                from_folder,
                from_code_date: f.from_code_date,
            });
        }
        let other_person_titles =
            file.pipeline.other_person_pages.map(|t| t.titles.iter().map(|s| fold(s)).collect()).unwrap_or_default();
        let mut documents: Vec<DocumentType> = file
            .document
            .into_iter()
            .map(|d| DocumentType { kind: d.kind, name: d.name, titles: d.titles.iter().map(|t| fold(t)).collect() })
            .collect();
        documents.sort_by_key(|d| std::cmp::Reverse(d.titles.iter().map(Vec::len).max().unwrap_or(0)));
        let document_headers = file.pipeline.document_headers.iter().map(|t| fold(t)).collect();
        file.catalog.check_forms().map_err(|message| PipelineError::Parse { path: path.into(), message })?;
        Ok(Rules {
            name: file.pipeline.name,
            fields,
            other_person_titles,
            documents,
            document_headers,
            portal: file.portal,
            catalog: file.catalog,
        })
    }

    pub fn required_fields(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(|f| f.required).map(|f| f.name.as_str())
    }

    /// Whether the pipeline reads a field of this name.
    pub(crate) fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    /// The sync fields the portal needs that no field of the pipeline fills
    /// (`[portal.fields]` names a field the pipeline does not read).
    pub(crate) fn unfilled_sync_fields(&self) -> Vec<(&'static str, &str)> {
        self.portal.fields.required().into_iter().filter(|(_, f)| !self.has_field(f)).collect()
    }

    /// The field holding the dossier code (`[portal.fields] MaHoSo`).
    pub(crate) fn code_field(&self) -> &str {
        &self.portal.fields.MaHoSo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_pipeline_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                Rules::load(&e.path()).unwrap_or_else(|err| panic!("{err}"));
                n += 1;
            }
        }
        assert!(n >= 2);
    }

    #[test]
    fn bad_pipelines_are_refused_with_the_reason() {
        let e = Rules::parse(
            "[pipeline]\nname='x'\n[[field]]\nname='a'\nkind='text'\n[[field.rule]]\nlabel='A'\npattern='('\n",
            "x.toml",
        );
        assert!(matches!(e, Err(PipelineError::Pattern { .. })));
        let e = Rules::parse("[pipeline]\nname='x'\n[[field]]\nname='a'\nkind='nope'\n", "x.toml");
        assert!(matches!(e, Err(PipelineError::Parse { .. })));
    }
}
