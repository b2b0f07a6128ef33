//! What a value of each field kind looks like: how a raw reading is
//! normalized (digits of an ID, `yyyy-mm-dd` of a date in figures or in
//! words, the dots of a dossier code) and which checks it must pass (a real
//! date, a known province code, a phone prefix in use). It exists apart from
//! `extract`, which finds where a value is printed, so that the two can be
//! read and tested alone, and so that a clerk's correction (`corrections`)
//! is checked exactly as a reading is.

use crate::flags::FieldFlag;
use crate::rules::Kind;
use crate::syllable::fold;
use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Hours and minutes of "09 giờ 15 phút", "9 gio 15", "9h15", "09:15".
fn parse_time(raw: &str) -> Option<(u32, u32)> {
    let nums: Vec<u32> = raw
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m) = match nums[..] {
        [h] => (h, 0),
        [h, m] => (h, m),
        _ => return None,
    };
    (h < 24 && m < 60).then_some((h, m))
}

pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Normalizes a raw value by kind; returns it with the flags of failed checks.
pub(crate) fn normalize(kind: Kind, raw: &str) -> (String, Vec<FieldFlag>) {
    let raw: String = raw.nfc().collect();
    let mut flags = Vec::new();
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let text = |s: &str| collapse(s.trim_end_matches(['.', ',', ';', ':', ' ']));
    let value = match kind {
        Kind::Text => text(&raw),
        Kind::Address => crate::address::tidy(&text(&raw)),
        Kind::PersonName => {
            let mut v = collapse(raw.trim_matches(|c: char| !c.is_alphabetic()));
            // The honorific is not part of the name (also when OCR lost its marks).
            for h in ["Ông ", "Bà ", "Ong ", "Ba ", "ông ", "bà "] {
                if v.starts_with(h) && v[h.len()..].split(' ').count() >= 2 {
                    v = v[h.len()..].to_string();
                    break;
                }
            }
            let words = v.split(' ').count();
            if !(2..=6).contains(&words) || v.chars().any(|c| !(c.is_alphabetic() || c == ' ')) {
                flags.push(FieldFlag::InvalidName);
            }
            v
        }
        Kind::DossierCode => {
            let v: String = raw
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == ':' || c == ',' { '.' } else { c.to_ascii_uppercase() })
                .collect();
            let re = Regex::new(r"^[0-9A-Z]+(\.[0-9A-Z]+)*-([0-9]{6})-[0-9]{4}$").expect("valid");
            match re.captures(&v) {
                Some(c) => {
                    let d = &c[2];
                    let num = |r: std::ops::Range<usize>| d.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
                    let (y, m, dd) = (2000 + num(0..2) as i32, num(2..4), num(4..6));
                    if !valid_date(y, m, dd) {
                        flags.push(FieldFlag::InvalidDateInCode);
                    }
                }
                None => flags.push(FieldFlag::InvalidDossierCode),
            }
            v
        }
        Kind::Cccd => {
            let v = digits(&raw);
            if v.len() != 12 {
                flags.push(FieldFlag::InvalidIdLength);
            } else if !v.get(0..3).is_some_and(|p| PROVINCE_CODES.contains(&p)) {
                flags.push(FieldFlag::UnknownProvinceCode);
            }
            v
        }
        Kind::Date | Kind::BirthDate => match parse_date(&raw) {
            Some((y, m, d)) => {
                let this_year = time::OffsetDateTime::now_utc().year();
                let latest = if kind == Kind::BirthDate { this_year } else { this_year + 2 };
                if !(1900..=latest).contains(&y) {
                    flags.push(FieldFlag::ImplausibleDate);
                }
                format!("{y:04}-{m:02}-{d:02}")
            }
            None => {
                flags.push(FieldFlag::InvalidDate);
                collapse(&raw)
            }
        },
        Kind::Time => match parse_time(&raw) {
            Some((h, m)) => format!("{h:02}:{m:02}"),
            None => {
                flags.push(FieldFlag::InvalidTime);
                collapse(&raw)
            }
        },
        Kind::Phone => {
            let v = digits(&raw);
            if v.len() != 10 || !v.starts_with('0') {
                flags.push(FieldFlag::InvalidPhone);
            } else if !PHONE_PREFIXES.iter().any(|p| v.starts_with(p)) {
                flags.push(FieldFlag::UnknownPhonePrefix);
            }
            v
        }
        Kind::ProcedureCode => {
            let v: String = raw
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == ',' || c == ':' { '.' } else { c })
                .collect();
            if !Regex::new(r"^[0-9]\.[0-9]{6}$").expect("valid").is_match(&v) {
                flags.push(FieldFlag::InvalidProcedureCode);
            }
            v
        }
        Kind::DocNumber => raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase(),
    };
    (value, flags)
}

/// `dd/mm/yyyy` (also `.` or `-`), or `ngày dd tháng mm năm yyyy`. One
/// separator may have been read as "1" between two-digit numbers (a worn
/// slash): `26/0712000`, `26107/2000`.
fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let f: String = fold(s).into_iter().collect();
    let mut nums: Vec<&str> = f.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    match nums[..] {
        [d, my] if my.len() == 7 && my.as_bytes()[2] == b'1' => nums = vec![d, &my[..2], &my[3..]],
        [dm, y] if dm.len() == 5 && dm.as_bytes()[2] == b'1' => nums = vec![&dm[..2], &dm[3..], y],
        _ => {}
    }
    if nums.len() != 3 {
        return None;
    }
    let (d, m, y) = (nums[0].parse().ok()?, nums[1].parse().ok()?, nums[2].parse().ok()?);
    if nums[2].len() != 4 {
        return None;
    }
    valid_date(y, m, d).then_some((y, m, d))
}

fn valid_date(y: i32, m: u32, d: u32) -> bool {
    let Ok(month) = time::Month::try_from(m as u8) else { return false };
    d >= 1 && d <= month.length(y) as u32 && m >= 1
}

/// Province codes of the personal ID (Thông tư 59/2021/TT-BCA, Phụ lục I).
const PROVINCE_CODES: [&str; 63] = [
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024", "025",
    "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045", "046", "048",
    "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
];

/// Mobile prefixes in use, and 02x for fixed lines.
const PHONE_PREFIXES: [&str; 37] = [
    "032", "033", "034", "035", "036", "037", "038", "039", "052", "055", "056", "058", "059", "070", "076", "077",
    "078", "079", "081", "082", "083", "084", "085", "086", "087", "088", "089", "090", "091", "092", "093", "094",
    "096", "097", "098", "099", "02",
];

/// The century-and-sex digit (0/1: 1900s, 2/3: 2000s, 4/5: 2100s…) and the
/// two year digits of a 12-digit ID agree with the birth year.
pub(crate) fn cccd_matches_birth_year(id: &str, year: i32) -> bool {
    let b = id.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let century = 1900 + 100 * ((b[3] - b'0') as i32 / 2);
    let yy = ((b[4] - b'0') * 10 + (b[5] - b'0')) as i32;
    century + yy == year
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_normalizes_and_checks() {
        let ok = |k, raw: &str, want: &str| {
            let (v, flags) = normalize(k, raw);
            assert_eq!((v.as_str(), flags), (want, vec![]), "{k:?} {raw:?}");
        };
        let bad = |k, raw: &str, flag: &str| {
            let (_, flags) = normalize(k, raw);
            assert!(flags.iter().any(|f| f.as_str() == flag), "{k:?} {raw:?}: {flags:?}");
        };
        ok(Kind::Text, "  Đăng ký   kết hôn. ", "Đăng ký kết hôn");
        ok(Kind::PersonName, "Bà Nguyễn Thị Hoa", "Nguyễn Thị Hoa");
        ok(Kind::PersonName, "Ong Lê Văn Tâm", "Lê Văn Tâm");
        bad(Kind::PersonName, "Nguyễn 3 Hoa", "invalid_name");
        ok(Kind::DossierCode, "000:00.20.h40-231204-0001", "000.00.20.H40-231204-0001");
        bad(Kind::DossierCode, "000.00.20.H40-231304-0001", "invalid_date_in_code");
        bad(Kind::DossierCode, "000.00.20.H40-2312-0001", "invalid_dossier_code");
        ok(Kind::Cccd, "036.184.001 234", "036184001234");
        bad(Kind::Cccd, "03618400123", "invalid_id_length");
        bad(Kind::Cccd, "003184001234", "unknown_province_code");
        ok(Kind::Date, "04/12/2023", "2023-12-04");
        ok(Kind::Date, "ngày 4 tháng 12 năm 2023", "2023-12-04");
        bad(Kind::Date, "30/02/2023", "invalid_date");
        bad(Kind::Date, "01/01/1850", "implausible_date");
        bad(Kind::BirthDate, "01/01/2999", "implausible_date");
        ok(Kind::Phone, "0912 345.678", "0912345678");
        bad(Kind::Phone, "091234567", "invalid_phone");
        bad(Kind::Phone, "0112345678", "unknown_phone_prefix");
        ok(Kind::ProcedureCode, "1 : 001193", "1.001193");
        bad(Kind::ProcedureCode, "1.0011", "invalid_procedure_code");
        ok(Kind::DocNumber, "1267 / qđ - ubnd", "1267/QĐ-UBND");
        ok(Kind::Time, "09 giờ 15 phút", "09:15");
        ok(Kind::Time, "9h5", "09:05");
        ok(Kind::Time, "14 gio", "14:00");
        bad(Kind::Time, "25 giờ 10", "invalid_time");
    }

    #[test]
    fn dates_in_words() {
        assert_eq!(parse_date("ngày 04 tháng 12 năm 2023"), Some((2023, 12, 4)));
        assert_eq!(parse_date("4/12/2023"), Some((2023, 12, 4)));
        assert_eq!(parse_date("31/02/2023"), None);
        // A worn slash read as "1", between two-digit numbers only.
        assert_eq!(parse_date("26/0712000"), Some((2000, 7, 26)));
        assert_eq!(parse_date("26107/2000"), Some((2000, 7, 26)));
        assert_eq!(parse_date("2/712000"), None);
        assert_eq!(parse_date("2610712000"), None);
    }
}
