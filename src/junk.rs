//! Words a page's reading should not keep: table rules and separator lines
//! read as text, a seal's or a signature's strokes read as letters, junk run
//! into a form's dotted leaders. Tesseract reads every mark on a page as
//! something; a person reading the page skips them. This module exists apart
//! from `reading`, which decides how a page is read, because what counts as
//! junk is one rule applied to every reading: a word that is a rule, or a word
//! read under [`JUNK_CONF`] that is not plausible print (`syllable`). It also
//! measures a line again once junk leaves it, since the text layer sizes its
//! letters by the line.

use crate::model::OcrPage;
use crate::syllable;

/// An implausible word read under this confidence is junk.
pub(crate) const JUNK_CONF: f32 = 60.0;

/// Removes junk words: table rules and separator lines read as text
/// (`----`, `|`, `_`), whatever their confidence, and words read with low
/// confidence that are implausible or a lone toned vowel (a seal's or a
/// signature's stroke read as `ộ`). A table rule stuck to a word (`|u`) is
/// cut off first. Returns how many words went.
pub(crate) fn drop_junk(p: &mut OcrPage) -> usize {
    let mut n = 0;
    for l in &mut p.lines {
        let before = l.words.len();
        let mut changed = false;
        for w in l.words.iter_mut() {
            changed |= w.conf >= JUNK_CONF && trim_rules(w);
            if w.conf < JUNK_CONF && !syllable::print(&w.text) {
                changed |= salvage_before_leaders(w);
            }
        }
        l.words.retain(|w| !junk(w));
        n += before - l.words.len();
        // A tall junk word (a seal's stroke) made the line tall; the text
        // layer sizes its letters by the line, so it is measured again,
        // without a word over twice the line's median height (a stamp's
        // letters read into the line: the text layer's letters would stand
        // over the next line's, and a PDF reader would merge the two).
        let tall = tall_words(l);
        if changed || l.words.len() < before || tall.iter().any(|&t| t) {
            let mut kept = l.words.iter().zip(&tall).filter(|(_, &t)| !t).map(|(w, _)| w.bbox);
            if let Some(first) = kept.next() {
                l.bbox = kept.fold(first, crate::model::union);
            }
        }
    }
    p.lines.retain(|l| !l.words.is_empty());
    part_overlapping_lines(p);
    n
}

/// Two lines, one over the other, whose boxes overlap by more than a third
/// of the shorter (a stamp's words read into a title's line and into the
/// line under it) are measured by their words' median top and bottom: the
/// text layer sizes its letters by the line, and a PDF reader takes letters
/// that overlap for one line ("kết" and "QUYẾT" read as "kếtQUYẾT").
fn part_overlapping_lines(p: &mut OcrPage) {
    let n = p.lines.len();
    let mut overlapping = vec![false; n];
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (p.lines[i].bbox, p.lines[j].bbox);
            let across = a[0] < b[2] && b[0] < a[2];
            let shared = a[3].min(b[3]) - a[1].max(b[1]);
            if across && shared * 3.0 > (a[3] - a[1]).min(b[3] - b[1]) {
                (overlapping[i], overlapping[j]) = (true, true);
            }
        }
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    };
    for (l, _) in p.lines.iter_mut().zip(overlapping).filter(|(l, o)| *o && l.words.len() >= 2) {
        let top = median(l.words.iter().map(|w| w.bbox[1]).collect());
        let bottom = median(l.words.iter().map(|w| w.bbox[3]).collect());
        if let (Some(top), Some(bottom)) = (top, bottom) {
            if bottom > top {
                (l.bbox[1], l.bbox[3]) = (top, bottom);
            }
        }
    }
}

/// Which words of the line stand over twice its median word height.
fn tall_words(l: &crate::model::OcrLine) -> Vec<bool> {
    let h = |w: &crate::model::OcrWord| w.bbox[3] - w.bbox[1];
    let mut heights: Vec<f32> = l.words.iter().map(h).collect();
    heights.sort_by(f32::total_cmp);
    let median = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    l.words.iter().map(|w| l.words.len() >= 3 && h(w) > 2.0 * median).collect()
}

fn junk(w: &crate::model::OcrWord) -> bool {
    let low = w.conf < JUNK_CONF;
    rule(&w.text)
        || (low && (!syllable::print(&w.text) || lone_toned_vowel(&w.text) || w.text.contains(|c| RULE.contains(c))))
}

/// Characters of table rules and separator lines, never of print.
const RULE: &str = "|_⁄\\~`^=";

/// The word is made of rule characters and dashes only, and is not one dash
/// (a dash between words is print: "Độc lập - Tự do").
fn rule(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| RULE.contains(c) || "-–—".contains(c)) && !matches!(text, "-" | "–" | "—")
}

/// Cuts rule characters off both ends of a surely read word, and its box
/// by their share. Says whether it cut.
fn trim_rules(w: &mut crate::model::OcrWord) -> bool {
    let chars: Vec<char> = w.text.chars().collect();
    let is_rule = |c: &char| RULE.contains(*c);
    let head = chars.iter().take_while(|c| is_rule(c)).count();
    if head == chars.len() {
        return false;
    }
    let tail = chars.iter().rev().take_while(|c| is_rule(c)).count();
    if head + tail == 0 {
        return false;
    }
    let (n, b) = (chars.len() as f32, w.bbox);
    let unit = (b[2] - b[0]) / n;
    w.bbox[0] = b[0] + unit * head as f32;
    w.bbox[2] = b[2] - unit * tail as f32;
    w.text = chars[head..chars.len() - tail].iter().collect();
    true
}

/// One vowel with a tone mark, alone (ộ, ằ): a real word when read surely
/// (ý, ở), a stroke of a seal or a signature when not.
fn lone_toned_vowel(text: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let w = text.trim_matches(|c: char| !c.is_alphanumeric());
    let mut letters = w.chars();
    let (Some(c), None) = (letters.next(), letters.next()) else { return false };
    std::iter::once(c).nfd().any(|m| syllable::TONES.contains(&m))
}

/// A form's filled-in word run into the dotted or dashed leader after it
/// (`Mỹ.........-----:--`) is read as one junk word; the word before the
/// leader is kept, its box cut to its share of the characters.
fn salvage_before_leaders(w: &mut crate::model::OcrWord) -> bool {
    let chars: Vec<char> = w.text.chars().collect();
    let leader = |c: char| ".-_…:".contains(c);
    // The leader starts at the first run of at least three leader characters.
    let Some(at) = (0..chars.len()).find(|&i| chars[i..].iter().take(3).filter(|&&c| leader(c)).count() == 3) else {
        return false;
    };
    let head: String = chars[..at].iter().collect();
    if head.trim().is_empty() || !syllable::plausible(&head) {
        return false;
    }
    let share = at as f32 / chars.len() as f32;
    w.bbox[2] = w.bbox[0] + (w.bbox[2] - w.bbox[0]) * share;
    w.text = head;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_word, OcrLine, OcrWord};

    #[test]
    fn a_word_run_into_a_forms_leader_is_kept_and_junk_is_not() {
        let mut p = OcrPage {
            lines: vec![OcrLine {
                words: vec![
                    test_word("Thạnh", 0.0, 50.0, 90.0),
                    test_word("Mỹ........---:--++se", 60.0, 260.0, 30.0),
                    test_word("|^w", 270.0, 290.0, 20.0),
                    test_word("..........", 300.0, 400.0, 20.0),
                    test_word("ộ", 410.0, 420.0, 35.0),
                    test_word("ý", 430.0, 440.0, 96.0),
                    test_word("-------", 450.0, 550.0, 95.0),
                    test_word("-", 560.0, 570.0, 95.0),
                    test_word("|Hải", 580.0, 620.0, 90.0),
                ],
                bbox: [0.0, 0.0, 400.0, 20.0],
            }],
            ..Default::default()
        };
        assert_eq!(drop_junk(&mut p), 3, "only the stamp's junk and the rule go");
        let texts: Vec<&str> = p.lines[0].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Thạnh", "Mỹ", "..........", "ý", "-", "Hải"]);
        let hai = &p.lines[0].words[5];
        assert_eq!(hai.bbox[0], 590.0, "the rule's share of the box is cut off");
        let my = &p.lines[0].words[1];
        assert!(my.bbox[2] > 60.0 && my.bbox[2] < 90.0, "the box is cut to the word: {:?}", my.bbox);
    }

    #[test]
    fn lines_a_stamp_made_overlap_are_measured_by_their_own_words() {
        let w =
            |t: &str, x0: f32, y0: f32, y1: f32| OcrWord { text: t.into(), bbox: [x0, y0, x0 + 60.0, y1], conf: 95.0 };
        // A title with a stamp's big letters read into it, and the line
        // under it with a stamp's stroke: Tesseract's boxes overlap.
        let mut p = OcrPage {
            width: 1300,
            height: 600,
            lines: vec![
                OcrLine {
                    bbox: [125.0, 394.0, 1021.0, 463.0],
                    words: vec![
                        w("ĐẾN", 125.0, 430.0, 463.0),
                        w("QUYẾT", 769.0, 400.0, 443.0),
                        w("ĐỊNH", 917.0, 394.0, 448.0),
                    ],
                },
                OcrLine {
                    bbox: [211.0, 408.0, 1233.0, 490.0],
                    words: vec![
                        OcrWord { conf: 4.6, ..w("áp", 211.0, 416.0, 481.0) },
                        w("Phê", 553.0, 454.0, 482.0),
                        w("chuẩn", 627.0, 446.0, 482.0),
                        w("kết", 741.0, 446.0, 481.0),
                        w("quả", 802.0, 454.0, 490.0),
                    ],
                },
                // A line apart is left as Tesseract measured it.
                OcrLine {
                    bbox: [100.0, 540.0, 400.0, 580.0],
                    words: vec![w("Căn", 100.0, 545.0, 575.0), w("cứ", 200.0, 548.0, 575.0)],
                },
            ],
        };
        drop_junk(&mut p);
        let (a, b) = (p.lines[0].bbox, p.lines[1].bbox);
        assert!(a[3] - b[1] < (b[3] - b[1]) / 3.0, "{a:?} {b:?}");
        assert_eq!(p.lines[2].bbox, [100.0, 540.0, 400.0, 580.0]);
        // A word over twice the line's height is left out of its measure.
        let mut q = OcrPage {
            lines: vec![OcrLine {
                bbox: [0.0, 0.0, 400.0, 120.0],
                words: vec![
                    w("Số", 0.0, 80.0, 110.0),
                    w("BH", 100.0, 0.0, 120.0),
                    w("729", 200.0, 82.0, 110.0),
                    w("QĐ", 300.0, 80.0, 112.0),
                ],
            }],
            ..Default::default()
        };
        drop_junk(&mut q);
        assert_eq!(q.lines[0].bbox, [0.0, 80.0, 360.0, 112.0]);
    }
}
