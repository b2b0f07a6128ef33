//! The office's list of procedures (danh mục thủ tục hành chính: a code of
//! the national database and its name), used to make a dossier's procedure
//! code and name agree with each other and with the list. A one-stop office
//! receives a few dozen procedures, each code naming one procedure, so a name
//! OCR read with a wrong tone ("Cấp bán sao …") or a code it misread
//! ("2.099908") is put right from the other field instead of going to the
//! portal wrong or being held back for a clerk. This module exists apart from
//! `extract` because it reads no page: it only compares values with a list;
//! `extract` applies what it says to the fields.
//!
//! A name matches a listed name when both, folded (no diacritics, lower
//! case, letters and digits only), are within one edit per six characters and
//! no other listed name is as near. What it does, in order:
//! - the name matches an entry: the name takes the list's spelling; the code
//!   takes the entry's when it was not read, or read as a code not on the
//!   list; a listed code of another procedure is kept and flagged
//!   `procedure_name_mismatch` (which of the two is wrong, a clerk says);
//! - no name was read and the code is listed: the name is the entry's.
//!
//! - neither was read, and a page opens with the title of a form only one
//!   listed procedure uses (`forms`), or with an application's subject that
//!   is a listed name ("V/v: đăng ký thường trú"): code and name are that
//!   procedure's, the code flagged `procedure_from_form` for a clerk to
//!   confirm.
//!
//! A value set from the list has source "catalog" and keeps what OCR read in
//! `ocr_value` (absent when OCR read nothing). A code not on the list with no
//! name to match is kept as read: the list is the office's, and may be short.

use std::collections::BTreeMap;

/// The `source` of a field value taken from the procedure list.
pub const CATALOG_SOURCE: &str = "catalog";

/// The pipeline's `[catalog]`: which fields hold the procedure's code and
/// name, and the office's procedures (code = name).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub code_field: String,
    pub name_field: String,
    #[serde(default)]
    pub procedures: BTreeMap<String, String>,
    /// Forms that only one of the office's procedures uses, by title
    /// (`"Tờ khai đăng ký khai sinh" = "1.001193"`): a dossier whose pages
    /// give neither the procedure's code nor its name takes its form's.
    #[serde(default)]
    pub forms: BTreeMap<String, String>,
}

/// What the list says of a code and a name read from a dossier: the values
/// to set (None: keep what was read, or nothing), and whether the code read
/// is listed for another procedure than the name read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Settled<'a> {
    pub code: Option<&'a str>,
    pub name: Option<&'a str>,
    pub mismatch: bool,
}

/// Letters and digits of a name, folded, single-spaced.
fn key(s: &str) -> String {
    let folded: String =
        crate::syllable::fold(s).into_iter().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Catalog {
    /// A form whose procedure is not on the list, as an error message.
    pub(crate) fn check_forms(&self) -> Result<(), String> {
        match self.forms.iter().find(|(_, code)| !self.procedures.contains_key(*code)) {
            Some((title, code)) => {
                Err(format!("[catalog.forms] \"{title}\" names {code}, which [catalog.procedures] does not list"))
            }
            None => Ok(()),
        }
    }

    /// The listed procedure (code, name) a page's title line names: the
    /// line's letters and digits, folded, are exactly a listed form's title
    /// ("Tờ khai đăng ký lại khai sinh" is another procedure's form), or an
    /// application's subject ("V/v: đăng ký thường trú", "Về việc …") is
    /// exactly a listed procedure's name.
    pub(crate) fn by_form(&self, line: &str) -> Option<(&str, &str)> {
        let k = key(line);
        if let Some(code) = self.forms.iter().find(|(title, _)| key(title) == k).map(|(_, c)| c.as_str()) {
            return self.procedures.get_key_value(code).map(|(c, n)| (c.as_str(), n.as_str()));
        }
        let subject = k.strip_prefix("v v ").or_else(|| k.strip_prefix("ve viec "))?;
        self.procedures.iter().find(|(_, n)| key(n) == subject).map(|(c, n)| (c.as_str(), n.as_str()))
    }

    /// The listed procedure (code, name) a name read by OCR names: the
    /// nearest listed name within one edit per six characters, when no other
    /// is as near.
    pub(crate) fn by_name(&self, read: &str) -> Option<(&str, &str)> {
        let k = key(read);
        if k.is_empty() {
            return None;
        }
        let mut scored: Vec<(usize, &str, &str)> =
            self.procedures.iter().map(|(c, n)| (strsim::levenshtein(&k, &key(n)), c.as_str(), n.as_str())).collect();
        scored.sort_by_key(|s| s.0);
        let (best, code, name) = *scored.first()?;
        let unique = scored.get(1).is_none_or(|s| s.0 > best);
        (unique && best <= key(name).chars().count() / 6).then_some((code, name))
    }

    /// What to set, given the name read (and the other names pages gave for
    /// it) and the code read (see the module's comment).
    pub(crate) fn settle(&self, name: Option<&str>, other_names: &[&str], code: Option<&str>) -> Settled<'_> {
        let entry = name.and_then(|n| self.by_name(n));
        // Pages that name different listed procedures: a clerk decides.
        if other_names.iter().any(|a| self.by_name(a).is_some_and(|e| Some(e) != entry)) {
            return Settled::default();
        }
        match entry {
            Some((c, n)) => {
                let name = (name != Some(n)).then_some(n);
                match code {
                    Some(read) if read == c => Settled { code: None, name, mismatch: false },
                    Some(read) if self.procedures.contains_key(read) => Settled { code: None, name, mismatch: true },
                    _ => Settled { code: Some(c), name, mismatch: false },
                }
            }
            None if name.is_none() => Settled {
                code: None,
                name: code.and_then(|c| self.procedures.get_key_value(c)).map(|(_, n)| n.as_str()),
                mismatch: false,
            },
            None => Settled::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog {
            code_field: "c".into(),
            name_field: "n".into(),
            procedures: BTreeMap::new(),
            forms: BTreeMap::new(),
        };
        for (code, name) in [
            ("1.001193", "Đăng ký khai sinh"),
            ("1.003200", "Đăng ký khai tử"),
            ("1.004873", "Cấp bản sao trích lục hộ tịch"),
            ("2.000908", "Chứng thực bản sao từ bản chính giấy tờ, văn bản"),
        ] {
            c.procedures.insert(code.into(), name.into());
        }
        c
    }

    fn settled<'a>(code: Option<&'a str>, name: Option<&'a str>, mismatch: bool) -> Settled<'a> {
        Settled { code, name, mismatch }
    }

    #[test]
    fn a_misread_name_takes_the_lists_spelling_and_gives_the_code() {
        let c = catalog();
        assert_eq!(
            c.settle(Some("Cấp bán sao trích lục hộ tịch"), &[], None),
            settled(Some("1.004873"), Some("Cấp bản sao trích lục hộ tịch"), false)
        );
    }

    #[test]
    fn a_code_not_on_the_list_is_put_right_by_the_name() {
        let c = catalog();
        let name = "Chứng thực bản sao từ bản chính giấy tờ, văn bản";
        assert_eq!(c.settle(Some(name), &[], Some("2.099908")), settled(Some("2.000908"), None, false));
    }

    #[test]
    fn values_that_agree_with_the_list_stay_as_read() {
        let c = catalog();
        assert_eq!(c.settle(Some("Đăng ký khai sinh"), &[], Some("1.001193")), Settled::default());
    }

    #[test]
    fn a_listed_code_of_another_procedure_is_flagged_not_replaced() {
        let c = catalog();
        assert_eq!(c.settle(Some("Đăng ký khai sinh"), &[], Some("1.003200")), settled(None, None, true));
    }

    #[test]
    fn pages_naming_different_procedures_change_nothing() {
        let c = catalog();
        assert_eq!(c.settle(Some("Đăng ký khai sinh"), &["Đăng ký khai tủ"], None), Settled::default());
        // Another page's garbled reading of the same name is no objection.
        let s = c.settle(Some("Đăng ký khai sinh"), &["Đăng ký khai sỉnh", "Dang ky x"], None);
        assert_eq!(s, settled(Some("1.001193"), None, false));
    }

    #[test]
    fn near_names_never_match_each_other() {
        let c = catalog();
        // "khai sinh" and "khai tử" are too far apart, and a name between two
        // entries matches neither.
        assert_eq!(c.by_name("Đăng ký khai tử").map(|e| e.0), Some("1.003200"));
        assert_eq!(c.by_name("Đăng ký kết hôn"), None);
        assert_eq!(c.by_name("Đăng ký khai"), None);
        assert_eq!(c.by_name("..."), None);
    }

    #[test]
    fn a_listed_code_gives_the_name_no_page_read() {
        let c = catalog();
        assert_eq!(c.settle(None, &[], Some("1.001193")), settled(None, Some("Đăng ký khai sinh"), false));
        // A code not on the list, with no name, is kept and gives nothing.
        assert_eq!(c.settle(None, &[], Some("1.999999")), Settled::default());
        // An empty list says nothing.
        assert_eq!(Catalog::default().settle(Some("Cấp bán sao trích lục hộ tịch"), &[], None), Settled::default());
    }
}
