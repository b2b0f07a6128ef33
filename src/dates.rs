//! The words of a written date put right by the date's own form. Decree
//! 30/2020 has every administrative paper write its dates as "ngày dd tháng mm
//! năm yyyy", and a page cites many such dates. Tesseract reads a speck over
//! "năm" as a mark ("nặm", "măm" on an italic speckled scan) or a worn
//! "tháng" as "thảng"; each is a word a Vietnamese reader knows (the junk
//! filter keeps it, the second reader is not asked) and only the phrase
//! around it says what it must be. This module exists apart from `junk`,
//! which drops words, because it changes a word by its neighbours: between a
//! day, a month and a year only one word can stand, so a word one letter
//! off it (its letters compared without marks) is that word.

use crate::model::OcrPage;
use crate::syllable::fold;

/// Puts right the words of the page's written dates, read in order across
/// lines (a date may break after its day): the word after "tháng" and a
/// month and before a year is "năm"; the word after "ngày" and a day and
/// before a month and "năm" is "tháng"; the word before a day and "tháng",
/// a month, "năm" and a year is "ngày". The word is changed only when its
/// letters, without their marks, are one letter off the word the phrase
/// needs; its case (upper, capitalized) and the punctuation around it are
/// kept. Returns how many words were changed.
pub(crate) fn settle_dates(p: &mut OcrPage) -> usize {
    let places: Vec<(usize, usize)> =
        p.lines.iter().enumerate().flat_map(|(li, l)| (0..l.words.len()).map(move |wi| (li, wi))).collect();
    let text = |p: &OcrPage, k: usize| -> String {
        let (li, wi) = places[k];
        p.lines[li].words[wi].text.clone()
    };
    let mut changed = 0;
    for k in 0..places.len() {
        let at = |i: usize| (k + i < places.len()).then(|| text(p, k + i));
        let is = |i: usize, want: &str| at(i).is_some_and(|w| is_word(&w, want));
        let num =
            |i: usize, lo: u32, hi: u32| at(i).is_some_and(|w| number(&w).is_some_and(|n| (lo..=hi).contains(&n)));
        let (slot, want) = if is(0, "tháng") && num(1, 1, 12) && num(3, 1900, 2099) {
            (2, "năm")
        } else if is(0, "ngày") && num(1, 1, 31) && num(3, 1, 12) && is(4, "năm") {
            (2, "tháng")
        } else if num(1, 1, 31) && is(2, "tháng") && num(3, 1, 12) && is(4, "năm") && num(5, 1900, 2099) {
            (0, "ngày")
        } else {
            continue;
        };
        let (li, wi) = places[k + slot];
        let w = &mut p.lines[li].words[wi];
        if let Some(fixed) = settled(&w.text, want) {
            w.text = fixed;
            changed += 1;
        }
    }
    changed
}

/// The word's letters: the word without the punctuation around it.
fn letters(w: &str) -> &str {
    w.trim_matches(|c: char| !c.is_alphanumeric())
}

/// The word is `want` (any case, punctuation around it).
fn is_word(w: &str, want: &str) -> bool {
    letters(w).to_lowercase() == want
}

/// The number a word of digits says (punctuation after it allowed: a year
/// ends a clause).
fn number(w: &str) -> Option<u32> {
    let d = w.trim_end_matches(|c: char| ",.;:)".contains(c));
    (!d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.parse().ok()).flatten()
}

/// `w` made `want` when its letters are one letter off it without marks and
/// are not already it: `want` in the case `w` was read in, with `w`'s
/// punctuation around it.
fn settled(w: &str, want: &str) -> Option<String> {
    let core = letters(w);
    if core.is_empty() || core.to_lowercase() == want || !one_off(&fold(core), &fold(want)) {
        return None;
    }
    let upper = core.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase);
    let capital = core.chars().next().is_some_and(char::is_uppercase);
    let word = if upper && core.chars().count() > 1 {
        want.to_uppercase()
    } else if capital {
        let mut c = want.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
    } else {
        want.to_string()
    };
    let start = w.find(core).unwrap_or(0);
    Some(format!("{}{word}{}", &w[..start], &w[start + core.len()..]))
}

/// At most one letter substituted, added or left out.
fn one_off(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => a.iter().zip(b).filter(|(x, y)| x != y).count() <= 1,
        1 => {
            let head = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[head..] == long[head + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_line, test_page};

    fn settle(lines: &[&str]) -> (Vec<String>, usize) {
        let mut p = test_page(lines);
        let n = settle_dates(&mut p);
        (p.lines.iter().map(|l| l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")).collect(), n)
    }

    #[test]
    fn a_dates_misread_word_is_the_word_its_place_needs() {
        for (read, want) in [
            ("ngày 13 tháng 3 nặm 2025 của Bộ", "ngày 13 tháng 3 năm 2025 của Bộ"),
            ("tháng 3 măm 2025", "tháng 3 năm 2025"),
            ("ngày 02 tháng 02 nằm 2023.", "ngày 02 tháng 02 năm 2023."),
            ("NGÀY 15 THÁNG 11 NAM 2024", "NGÀY 15 THÁNG 11 NĂM 2024"),
            ("Hà Nội, ngày 28 thảng 4 năm 2026", "Hà Nội, ngày 28 tháng 4 năm 2026"),
            ("Hà Nội, ngáy 28 tháng 4 năm 2026", "Hà Nội, ngày 28 tháng 4 năm 2026"),
            ("Hà Nội, Ngay 28 tháng 4 năm 2026", "Hà Nội, Ngày 28 tháng 4 năm 2026"),
            ("ngày 1 tháng 6 (năn) 2022", "ngày 1 tháng 6 (năm) 2022"),
        ] {
            assert_eq!(settle(&[read]).0, vec![want.to_string()], "{read}");
        }
        // A date broken after its day, across two lines.
        assert_eq!(
            settle(&["Thông tư ngày 13", "tháng 3 nặm 2025"]),
            (vec!["Thông tư ngày 13".into(), "tháng 3 năm 2025".into()], 1)
        );
    }

    #[test]
    fn words_not_in_a_date_or_far_from_its_word_stay() {
        for read in [
            "ngày 13 tháng 3 năm 2025",
            "tháng 3 năm: 2023",
            // Not a month, not a year, not one letter off.
            "tháng 13 nặm 2025",
            "tháng 3 nặm 25",
            "tháng 3 và 2025",
            "tháng 3 nguồn 2025",
            "Sau 30 ngày kể từ tháng 3",
            "ngày 13 tháng 3",
            "số 12 thằng 3 năm 2025",
        ] {
            assert_eq!(settle(&[read]), (vec![read.to_string()], 0), "{read}");
        }
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["tháng", "3"], 90.0));
        assert_eq!(settle_dates(&mut p), 0);
    }
}
