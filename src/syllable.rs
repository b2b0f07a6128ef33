//! Is a recognized word something a Vietnamese administrative page can
//! print? A Vietnamese syllable (onset, vowel cluster, final consonant, one
//! tone mark), an upper-case abbreviation (UBND, QĐ), a number, a date or a
//! document code (123/QĐ-UBND, 000.00.20.H40-231204-0001), or ordinary
//! punctuation. Stamps, signatures, table rules and speckle come out of
//! Tesseract as tokens that are none of these (`|`, `^`, `w`, `0ÿ`), so this
//! is what tells junk from text when confidence alone cannot, and what scores
//! competing readings of one page. It knows no words, only their shape:
//! nothing here comes from a dictionary.

use unicode_normalization::UnicodeNormalization;

/// Tone marks as combining characters (grave, acute, tilde, hook, dot below).
pub(crate) const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// The word without its tone marks (its roofs, horns and bar kept).
pub(crate) fn toneless(w: &str) -> String {
    w.nfd().filter(|c| !TONES.contains(c)).nfc().collect()
}

/// A word's letters without their tone, lower case, and its tone mark (the
/// first if a misreading gave it two): how the word lists (`lexicon`,
/// `frequency`) key a syllable, so that "hoà" and "hòa", the old and new
/// place of the mark, are one.
pub(crate) fn tone_key(word: &str) -> (String, Option<char>) {
    let lower = word.to_lowercase();
    let tone = lower.nfd().find(|c| TONES.contains(c));
    (toneless(&lower), tone)
}

/// How many Vietnamese marks the word carries: roofs, horns, breves, tones
/// and the bar of đ.
pub(crate) fn marks(word: &str) -> usize {
    word.nfd().filter(|&c| ('\u{300}'..='\u{36f}').contains(&c) || c == 'đ' || c == 'Đ').count()
}

/// A letter without its marks, lower case (đ counts as d): what labels are
/// matched on and what two readings of a word must agree on.
pub(crate) fn base_letter(c: char) -> char {
    let base = match c {
        'đ' | 'Đ' => 'd',
        _ => std::iter::once(c).nfd().next().unwrap_or(c),
    };
    base.to_lowercase().next().unwrap_or(base)
}

/// Folds text for matching labels and listed names: no diacritics, đ→d,
/// lower case; one output char per input char, so positions carry over.
pub(crate) fn fold(s: &str) -> Vec<char> {
    s.nfc().map(base_letter).collect()
}

const ONSETS: [&str; 27] = [
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g", "h", "k", "l", "m",
    "n", "p", "r", "s", "t", "v", "x",
];

const FINALS: [&str; 8] = ["ch", "ng", "nh", "c", "m", "n", "p", "t"];

/// Vowel clusters of Vietnamese rhymes, tone marks removed.
const NUCLEI: [&str; 47] = [
    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia",
    "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "oo", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ưu",
    "ươ", "iêu", "yêu", "oai", "oay", "uôi", "ươi",
];
const NUCLEI_MORE: [&str; 8] = ["ươu", "uya", "uyê", "uyu", "oao", "oeo", "uây", "yê"];

/// Dashes a list's item may start with.
const DASHES: [char; 3] = ['-', '–', '—'];

/// Punctuation a printed page uses on its own (a dash between words, an
/// ellipsis in a form).
const LONE_PUNCT: &str = "-–—.,:;…/()\"'“”";

/// A word's letters and digits: the word without the punctuation, dotted
/// leader or stop around it.
pub(crate) fn letters(w: &str) -> &str {
    w.trim_matches(|c: char| !c.is_alphanumeric())
}

/// Characters that may surround a word.
fn is_edge_punct(c: char) -> bool {
    ",.;:!?\"'()[]“”‘’…*".contains(c)
}

/// The word's shape is one a Vietnamese page prints (see the module's text):
/// what competing readings of a page are scored by.
pub(crate) fn plausible(word: &str) -> bool {
    shape(word, false)
}

/// As `plausible`, and also words joined by a dash or after a list's dash
/// and names run together (see `shape`): what an unsure word must be to stay
/// in the text. Kept apart from `plausible` because counting these in a
/// reading's score moved one page of a real decision to a worse reading
/// (bench/real-copies askew9, 06: recall 0.981 → 0.978).
pub(crate) fn print(word: &str) -> bool {
    shape(word, true)
}

/// `wide` also takes words joined by an en or em dash ("played—only"), an
/// item glued to its list's dash ("-Căn") and names run together
/// (VietinBank).
fn shape(word: &str, wide: bool) -> bool {
    let w = word.trim_matches(is_edge_punct);
    if w.is_empty() {
        return !word.is_empty() && word.chars().all(|c| LONE_PUNCT.contains(c));
    }
    if w.chars().all(|c| LONE_PUNCT.contains(c)) {
        return true;
    }
    if w.contains([':', '(', ')']) {
        return glued(w);
    }
    if w.chars().any(|c| c.is_ascii_digit()) {
        return w.chars().all(|c| c.is_ascii_alphanumeric() || "Đđ./-:,()%".contains(c));
    }
    // Letters, maybe joined by hyphens or slashes (QĐ-UBND, Lê-nin), and
    // abbreviations by stops (TP.HCM); a document symbol's slash may stand
    // first, its number written by hand before it ("Số: 68 /QĐ-UBND"; a
    // symbol has its hyphen: a signature's "/VV" stays junk). When `wide`,
    // also joined by en or em dashes ("năm—tháng"), and after one list dash
    // glued to the item's first word ("-Căn"; a dash and one letter, "—Ă",
    // is a seal's stroke, and dashes, a chart's rule).
    let w = w.strip_prefix('/').filter(|s| s.contains('-')).unwrap_or(w);
    let w = match w.strip_prefix(DASHES).unwrap_or(w) {
        rest if wide && rest.chars().take(2).filter(|c| c.is_alphabetic()).count() == 2 => rest,
        _ => w,
    };
    let joins: &[char] = if wide { &['-', '/', '–', '—'] } else { &['-', '/'] };
    w.split(joins).all(|part| {
        !part.is_empty()
            && (syllable(part) || abbreviation(part) || foreign(part, wide) || part.split('.').all(abbreviation))
    })
}

/// A form's label glued to its value or to a footnote's number, as
/// printed ("gửi(1):Công", "tên:Hà", "Số:123/QĐ"), or a code with a colon
/// ("10:30"): each part plausible on its own, a part of letters two
/// letters long at least (junk such as "E:U" is not), a footnote's number
/// no more than two digits.
fn glued(w: &str) -> bool {
    let parts: Vec<&str> = w.split([':', '(', ')']).filter(|p| !p.is_empty()).collect();
    if parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit() || "./-,%".contains(c))) {
        // Numbers alone ("10:30", "(2024)"): as before.
        return w.chars().all(|c| c.is_ascii_alphanumeric() || "Đđ./-:,()%".contains(c));
    }
    parts.iter().all(|p| {
        let footnote = p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit());
        footnote || (p.chars().filter(|c| c.is_alphanumeric()).count() >= 2 && plausible(p))
    })
}

/// A word of another Latin-script language as pages print them (Capture,
/// Email, Desktop): four or more unaccented letters with a vowel, in lower
/// case, capitalized or all capitals; or a name run together of such words
/// (VietinBank, TPBank, LinnSequencer), each capitalized word of it three
/// letters long at least. Junk from stamps and rules is short, has symbols or
/// mixes cases at random (rRrr, IlIl), so this keeps names and English terms
/// without letting it in.
fn foreign(w: &str, run_together_too: bool) -> bool {
    let n = w.chars().count();
    let letters = w.chars().all(|c| c.is_ascii_alphabetic());
    let vowel = w.chars().any(|c| "aeiouyAEIOUY".contains(c));
    let tail_lower = w.chars().skip(1).all(|c| c.is_ascii_lowercase());
    let all_upper = w.chars().all(|c| c.is_ascii_uppercase());
    (4..=20).contains(&n) && letters && vowel && (tail_lower || all_upper || (run_together_too && run_together(w)))
}

/// ASCII letters that are capitalized words of three letters or more, run
/// together, maybe after capitals (TPBank: "TP", "Bank"), at least two words
/// or a word after capitals.
fn run_together(w: &str) -> bool {
    let b = w.as_bytes();
    let caps = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    // A bank's or firm's initials are a few (TP, MB); a frame's edge read
    // as "WEETPRriofrngirig" is not a name.
    if caps > 4 {
        return false;
    }
    // The capitals before the first word leave it its own capital.
    let mut i = caps.saturating_sub(1);
    let mut words = usize::from(caps > 1);
    while i < b.len() {
        let lower = b[i + 1..].iter().take_while(|c| c.is_ascii_lowercase()).count();
        if !b[i].is_ascii_uppercase() || lower < 2 {
            return false;
        }
        words += 1;
        i += 1 + lower;
    }
    words >= 2
}

/// An upper-case abbreviation of Vietnamese letters without tone marks
/// (UBND, HĐND, QĐ, TTHC), two to eight letters.
fn abbreviation(w: &str) -> bool {
    let n = w.chars().count();
    (2..=8).contains(&n) && w.chars().all(|c| c.is_ascii_uppercase() || c == 'Đ')
}

/// One Vietnamese syllable, in any case, with at most one tone mark.
pub(crate) fn syllable(w: &str) -> bool {
    let lower = w.to_lowercase();
    let mut tones = 0;
    let base: String = lower
        .nfd()
        .filter(|c| {
            let t = TONES.contains(c);
            tones += t as usize;
            !t
        })
        .nfc()
        .collect();
    if tones > 1 || base.is_empty() || base.chars().count() > 7 {
        return false;
    }
    !mixed_case(w) && rhyme(&base, |n| NUCLEI.contains(&n) || NUCLEI_MORE.contains(&n))
}

/// Mixed case inside a word (hOa) is not print, except all capitals.
fn mixed_case(w: &str) -> bool {
    w.chars().skip(1).any(char::is_uppercase) && w.chars().skip(1).any(char::is_lowercase)
}

/// After its onset, `base` is a nucleus that `nucleus_ok` takes, then a
/// final consonant or none.
fn rhyme(base: &str, nucleus_ok: impl Fn(&str) -> bool) -> bool {
    let rest = strip_onset(base);
    FINALS
        .iter()
        .copied()
        .chain(std::iter::once(""))
        .any(|fin| rest.strip_suffix(fin).is_some_and(|n| !n.is_empty() && nucleus_ok(n)))
}

/// The finals after which Vietnamese takes only sắc or nặng.
const STOP_FINALS: [&str; 4] = ["p", "t", "c", "ch"];

fn stop_final(w: &str) -> bool {
    let lower = w.to_lowercase();
    STOP_FINALS.iter().any(|f| lower.ends_with(f))
}

/// The word's letters, every mark aside, spell a Vietnamese syllable: what a
/// word that lost its marks can be (thang for tháng, QUYET for QUYẾT), and
/// what junk (UBND read at 60, theO, s) is not.
pub(crate) fn syllable_letters(word: &str) -> bool {
    let w = word.trim_matches(is_edge_punct);
    if w.is_empty() || mixed_case(w) || !w.chars().all(char::is_alphabetic) {
        return false;
    }
    let base: String = w.chars().map(base_letter).collect();
    rhyme(&base, |nucleus| NUCLEI.iter().chain(&NUCLEI_MORE).any(|n| n.chars().map(base_letter).eq(nucleus.chars())))
}

/// A syllable ending in p, t, c or ch with a tone it cannot carry (grave,
/// hook or tilde: bìt, cẩp): a misreading, never Vietnamese.
pub(crate) fn wrong_tone(word: &str) -> bool {
    word.trim_matches(is_edge_punct)
        .split(['-', '/'])
        .any(|w| stop_final(w) && w.nfd().any(|c| matches!(c, '\u{300}' | '\u{303}' | '\u{309}')))
}

/// A syllable ending in p, t, c or ch carries a tone mark (sắc or nặng) in
/// Vietnamese: without one (câp, Quyêt, tôt) the mark was lost in reading.
pub(crate) fn tone_lost(word: &str) -> bool {
    let w = word.trim_matches(is_edge_punct);
    !w.nfd().any(|c| TONES.contains(&c)) && syllable(w) && stop_final(w)
}

fn strip_onset(base: &str) -> &str {
    for o in ONSETS {
        if let Some(rest) = base.strip_prefix(o) {
            // "gi" before a consonant is g + i (gìn: the i is the vowel).
            if o == "gi" && !rest.starts_with(|c: char| "aăâeêoôơuưy".contains(c)) {
                return &base[1..];
            }
            return rest;
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_that_lost_its_marks_still_spells_a_syllable() {
        for w in ["thang", "QUYET", "Tran", "nguoi", "Nguyên", "tháng,", "đuoc"] {
            assert!(syllable_letters(w), "{w}");
        }
        for w in ["UBND", "theO", "s", "QLHC", "0ÿ", "ww", "12", ""] {
            assert!(!syllable_letters(w), "{w}");
        }
    }

    #[test]
    fn a_stop_final_without_a_tone_lost_its_mark() {
        for w in ["câp", "Quyêt", "tôt,", "viêc", "sach"] {
            assert!(tone_lost(w), "{w}");
        }
        for w in ["cấp", "Quyết", "tốt", "Xuân", "Văn", "thông", "UBND", "việc"] {
            assert!(!tone_lost(w), "{w}");
        }
        for w in ["bìt", "cẩp", "tõt,"] {
            assert!(wrong_tone(w), "{w}");
        }
        for w in ["bít", "cấp", "tột", "bìa", "thông", "điễm/học"] {
            assert!(!wrong_tone(w), "{w}");
        }
    }

    #[test]
    fn vietnamese_words_are_plausible() {
        for w in [
            "Nguyễn",
            "Thị",
            "Hồng",
            "CỘNG",
            "HÒA",
            "nghĩa",
            "khuya",
            "giấy",
            "gìn",
            "quyết",
            "định",
            "Số:",
            "ngày",
            "tháng",
            "năm",
            "(1)",
            "UBND",
            "QĐ-UBND",
            "123/QĐ-UBND",
            "000.00.20.H40-231204-0001",
            "07/05/2024",
            "-",
            "Độc",
            "lập",
            "-",
            "Tự",
            "do",
            "phúc",
            "người",
            "khuyến",
            "xã",
            "huyện",
            "tỉnh",
            "Đăng",
            "ký",
            "a",
            "y",
            "oanh",
            "TTHC",
            "chứng",
            "khoán",
            "thuở",
            "Điều",
            "1.",
            "khoản",
            // A label glued to its footnote or its value.
            "gửi(1):Công",
            "gửi):Công",
            "tên:Hà",
            "10:30",
            "Số:123/QĐ-UBND",
            "TP.HCM",
            "/QĐ-UBND",
        ] {
            assert!(plausible(w), "{w}");
        }
        // Junk with a colon or brackets stays junk.
        for w in
            ["E:U", "ĩ(1):ớ", "(x)ĩ", "a:b", "ớ:Công", "gửi(1):Cxqz", "T.HCM", "TP..HCM", "//QĐ-UBND", "/VV", "/WVW"]
        {
            assert!(!plausible(w), "{w}");
        }
    }

    #[test]
    fn words_of_other_languages_are_plausible() {
        for w in ["Capture", "Desktop", "email", "KODAK"] {
            assert!(plausible(w), "{w}");
        }
        for w in ["w", "Cpt", "rRrr", "0ÿ"] {
            assert!(!plausible(w), "{w}");
        }
    }

    #[test]
    fn words_joined_by_a_dash_and_names_run_together_are_print_but_not_scored() {
        for w in ["VietinBank", "TPBank", "LinnSequencer", "played—only", "năm–tháng", "-Căn", "—existing"] {
            assert!(print(w), "{w}");
            assert!(!plausible(w), "{w}");
        }
        for w in ["Capture", "Nguyễn", "QĐ-UBND", "07/05/2024"] {
            assert!(print(w), "{w}");
        }
        // A seal's stroke after a dash, a chart's rule, random cases.
        for w in [
            "-w",
            "—ÿ",
            "-|",
            "—Ă",
            "———Percentage",
            "IlIl",
            "BaNk",
            "LinnS",
            "AbCd",
            "xBank",
            "WEETPRriofrngirig",
            "w",
            "0ÿ",
        ] {
            assert!(!print(w), "{w}");
        }
    }

    #[test]
    fn junk_is_not() {
        for w in ["|", "^", "w", "g", "0ÿ", "~", "==", "hOa", "ffi", "Wj", "lll", "xyz", "ẩẫ", "trng", "ji"] {
            assert!(!plausible(w), "{w}");
        }
    }
}
