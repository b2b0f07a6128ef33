//! What the second reader (AsterOCR's line network, `aster`) is asked about
//! and what is taken from it. Tesseract's main error on Vietnamese print is a
//! stacked diacritic lost (cấp read câp, thể read thê), and on worn forms a
//! phone or CCCD number with a digit too many or a letter among its digits.
//! This module exists apart from `reading`, which decides how a page is read,
//! because which words are worth a second look, and when the second reader's
//! answer is taken (the same letters with other marks, the commoner of two
//! such words, a number near the one read, every character likely), is one
//! policy with its own measures (BENCHMARKS: asks and words changed per set).
//! It sees words, a raster and a closure: it knows no engine.

use crate::frequency::Frequencies;
use crate::lexicon::Lexicon;
use crate::model::{BBox, Heard, OcrPage, OcrWord};
use crate::raster::Gray;
use crate::syllable;

/// Where the second reader's crops are cut from: the page's raster as read,
/// at `scale` times the page's pixels, the page's origin at `offset`.
#[derive(Clone, Copy)]
pub(crate) struct Crops<'a> {
    pub raster: &'a Gray,
    pub scale: f32,
    pub offset: (f32, f32),
}

impl Crops<'_> {
    /// A word's crop: its box (page pixels) with a margin of a sixth of its
    /// height.
    fn of(&self, b: BBox) -> Option<Gray> {
        let (s, (dx, dy)) = (self.scale, self.offset);
        let (x0, y0, x1, y1) = ((b[0] + dx) * s, (b[1] + dy) * s, (b[2] + dx) * s, (b[3] + dy) * s);
        let m = ((y1 - y0) / 6.0).max(2.0);
        self.raster.crop(x0 - m, y0 - m, x1 + m, y1 + m)
    }
}

/// A word with no mark at all is asked about only when read under this
/// confidence (the one a page is kept at as first read): on the dev sets the
/// marks of a surely read unmarked word were never what Tesseract missed.
const PLAIN_CONF: f32 = 80.0;

/// The second reader: reads one word's crop, giving its text and the lowest
/// probability of its characters.
pub(crate) type ReadWord<'a> = dyn FnMut(&Gray) -> Option<Heard> + 'a;

/// Sure words (see [`SURE_CONF`]) are asked about under this confidence;
/// above it, only those whose roofed vowel (â ê ô ă ơ ư) carries no tone
/// mark, since Tesseract drops the mark stacked on a roof while staying sure
/// of the word (thể→thê at 97).
const SECOND_CONF: f32 = 95.0;
/// Words read at this confidence or more are asked about only on a page
/// where the second reader corrected a mark among the words read under it:
/// on a page whose marks Tesseract reads right, asking costs as much as
/// recognizing the page and corrects nothing (corpus-dev: 2 words in 840
/// asked; real-dev, where every page has such a correction: none lost).
const SURE_CONF: f32 = 90.0;
/// The sure words of a page are asked about when the unsure ones had this
/// many marks corrected: a page with one such correction had one sure word
/// in 221 asked corrected on corpus-dev (real-dev: 4 in 75, against 103 in
/// 757 on pages with two or more).
const MARKS_LOST: usize = 2;
/// The second reader's reading is taken when all its characters are at
/// least this likely.
const SECOND_MIN_P: f32 = 0.5;

/// Asks the second reader about the words Tesseract is unsure of, and takes
/// its reading where it differs only in diacritics (the same letters
/// otherwise) and is confident. Unsure: read under [`SURE_CONF`] (a word
/// with no mark at all only under [`PLAIN_CONF`]: its marks are never what
/// Tesseract missed on the dev sets); then, if that corrected marks on
/// [`MARKS_LOST`] unsure words or more, the marked words read under
/// [`SECOND_CONF`] and the sure words whose roof may have lost its tone
/// mark. Always asked: a sure name-like word (capital, then small letters,
/// beside another capitalized word: a sentence's first word is no name)
/// whose roof has no tone mark, and a sure syllable that cannot be without a
/// tone ([`syllable::tone_lost`]). An unsure word with no mark is asked only
/// when its letters spell a syllable (junk such as `theO` or `s` was most of
/// the photocopies' 401 such asks). A sure word takes only a reading with more
/// marks (what Tesseract loses is a stacked mark; taking fewer turned
/// "tỉnh" into "tinh" on photocopies), and a sure word's text the second
/// reader left as it was on this page is not asked again (corpus-dev:
/// "Xuân" asked 115 times, never changed). With the installed `lexicon`: a
/// marked syllable it does not list ("đõi", "khắn", "điễm": marks misread
/// on a coarse or blurred page) is always asked, and takes a listed reading
/// of its letters whatever its marks; a listed word never takes an unlisted
/// reading (the network read "dõi" as "đõi"). With the installed syllable
/// `frequencies`: a sure word is asked with the sure words when its letters
/// with another tone are [`RARER_CB`] commoner ("vả" beside "và"), and a word
/// that would otherwise keep its reading, or take one under one in 100,000
/// words, takes the [`commoner`] spelling when it is the likeliest; names
/// beside a name are left to the rules above. Returns how many words
/// changed.
pub(crate) fn ask_about_marks(
    page: &mut OcrPage,
    crops: Crops,
    second: &mut ReadWord,
    lexicon: Option<&Lexicon>,
    frequencies: Option<&Frequencies>,
) -> usize {
    let unknown = |text: &str| lexicon.is_some_and(|l| l.lacks(text));
    let rare = |text: &str| {
        frequencies.is_some_and(|f| f.commonest_other_tone(text).is_some_and(|(_, c)| c + RARER_CB <= f.cb(text)))
    };
    let mut kept: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut ask = |w: &mut OcrWord, sure: bool, named: bool| -> bool {
        if sure && kept.contains(&w.text) {
            return false;
        }
        let Some(crop) = crops.of(w.bbox) else { return false };
        let Some(heard) = second(&crop) else { return false };
        let (text, p) = (heard.text.as_str(), heard.p);
        // A word no Vietnamese has takes any listed reading of its letters;
        // when the reader hears it unlisted too, the likeliest listed word
        // among the characters it weighed.
        let misread = unknown(&w.text);
        let listed = match lexicon {
            Some(l) if misread && unknown(text) => listed_choice(l, &w.text, &heard),
            _ => None,
        };
        // Names are not written as often as words are: no frequency for them.
        let weigh = |read: &str| match frequencies.filter(|_| !named) {
            Some(f) => commoner(f, lexicon, w, &heard, read),
            None => None,
        };
        let taken = match listed.or_else(|| same_letters(&w.text, text)) {
            Some(t)
                if (p >= SECOND_MIN_P || (misread && !unknown(&t)))
                    && t != w.text
                    && (!sure || syllable::marks(&t) > syllable::marks(&w.text) || (misread && !unknown(&t)))
                    && (misread || !unknown(&t))
                    && !syllable::wrong_tone(&t) =>
            {
                // A rare word taken gives way to a much commoner spelling
                // about as likely ("đễ" heard where "để" is written).
                match frequencies {
                    Some(f) if f.cb(&t) >= RARE_CB => weigh(&t).unwrap_or(t),
                    _ => t,
                }
            }
            // Nothing taken: Tesseract's own reading may be the rare word.
            _ => match weigh(&w.text) {
                Some(t) => t,
                None => {
                    if sure {
                        kept.insert(w.text.clone());
                    }
                    return false;
                }
            },
        };
        if taken == w.text {
            return false;
        }
        w.text = taken;
        true
    };
    // Unsure words corrected (what opens the sure words to asking), then
    // every word changed; words asked on their own count only in the latter.
    let (mut fixed, mut names) = (0, 0);
    let mut sure = Vec::new();
    let mut i = 0;
    for line in &mut page.lines {
        for j in 0..line.words.len() {
            let titled = |k: Option<usize>| k.and_then(|k| line.words.get(k)).is_some_and(|n| title_case(&n.text));
            let in_name = titled(j.checked_sub(1)) || titled(Some(j + 1));
            let w = &mut line.words[j];
            i += 1;
            if !w.text.chars().any(char::is_alphabetic) {
                continue;
            }
            let marked = syllable::marks(&w.text) > 0;
            // A capital that opens a sentence (Tôi, Căn cứ, Nơi cấp) is no
            // name: only one among capitals is.
            let named = title_case(&w.text) && in_name;
            if w.conf >= SURE_CONF {
                // A stop-final syllable without a tone has lost its mark,
                // and a name (Trân for Trần) is what a field is made of and
                // no dictionary can put its mark back: both always asked.
                // A word whose tone makes it a rarer word than another
                // tone would is asked with the sure words: on a page whose
                // marks Tesseract reads right it is as often right.
                if syllable::tone_lost(&w.text) || (named && bare_roof(&w.text)) || unknown(&w.text) {
                    names += usize::from(ask(w, true, named));
                } else if (marked && (w.conf < SECOND_CONF || bare_roof(&w.text))) || (!named && rare(&w.text)) {
                    sure.push((i - 1, named));
                }
            } else if (marked || (w.conf < PLAIN_CONF && syllable::syllable_letters(&w.text))) && ask(w, false, named) {
                fixed += 1;
            }
        }
    }
    if fixed >= MARKS_LOST {
        for (i, w) in page.lines.iter_mut().flat_map(|l| l.words.iter_mut()).enumerate() {
            let asked = sure.binary_search_by_key(&i, |&(k, _)| k).ok().map(|k| sure[k].1);
            if asked.is_some_and(|named| ask(w, true, named)) {
                fixed += 1;
            }
        }
    }
    fixed + names
}

/// The lengths of the numbers a form holds: a phone number's and a CCCD's.
const NUMBER_LENGTHS: [usize; 2] = [10, 12];

/// Whether a word's text, a form's dotted leader or a stop beside it aside
/// (`core`), is such a number misread: all digits and one off its length,
/// or of its length with one or two letters among its digits.
fn misread_number(core: &str) -> bool {
    let n = core.len();
    let digits = core.bytes().filter(u8::is_ascii_digit).count();
    let letters = core.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits + letters != n || digits == 0 {
        return false;
    }
    if letters == 0 {
        NUMBER_LENGTHS.iter().any(|&l| n + 1 == l || n == l + 1)
    } else {
        NUMBER_LENGTHS.contains(&n) && letters <= 2
    }
}

/// Whether any word of the page looks like a misread phone or CCCD number:
/// the raster [`read_misread_numbers`] needs is made only then.
pub(crate) fn has_misread_number(page: &OcrPage) -> bool {
    page.lines.iter().flat_map(|l| &l.words).any(|w| misread_number(syllable::letters(&w.text)))
}

/// A number misread ([`misread_number`]) has lost or gained a digit (a
/// copier's speck read as one: photocopy-dev 0539's CCCD read
/// 0361856589759), or had digits read as letters (1848's 036300622874 read
/// 036100622H74). The second reader reads it again from `raster`, the page as
/// scanned in the geometry kept (`reading` makes it): cleaning that made the page's text
/// legible thins a worn copy's digits (on the flattened raster it read
/// 0539's ID 036185589759 unsure, on the scan the right 036186589759 at
/// 0.81). Its reading is taken when it is sure, all digits, of a number's
/// length and near the page's: one digit more or less, or at most two
/// characters changed. Returns how many words changed.
pub(crate) fn read_misread_numbers(page: &mut OcrPage, crops: Crops, second: &mut ReadWord) -> usize {
    let mut fixed = 0;
    for w in
        page.lines.iter_mut().flat_map(|l| l.words.iter_mut()).filter(|w| misread_number(syllable::letters(&w.text)))
    {
        let Some(crop) = crops.of(w.bbox) else { continue };
        let Some(Heard { text, p, .. }) = second(&crop) else { continue };
        let (was, read) = (syllable::letters(&w.text), syllable::letters(&text));
        let number = read.bytes().all(|b| b.is_ascii_digit()) && NUMBER_LENGTHS.contains(&read.len());
        if p >= SECOND_MIN_P && number && (one_digit_apart(was, read) || changed(was, read) <= 2) {
            w.text = w.text.replacen(was, read, 1);
            fixed += 1;
        }
    }
    fixed
}

/// How many characters two strings of one length differ in (any other
/// pair: more than any length).
fn changed(a: &str, b: &str) -> usize {
    if a.len() != b.len() {
        return usize::MAX;
    }
    a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count()
}

/// Whether one of two strings is the other with one byte more (digits:
/// one character).
fn one_digit_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
    long.len() == short.len() + 1 && (0..long.len()).any(|i| long[..i] == short[..i] && long[i + 1..] == short[i..])
}

/// The word is written as a name is: a capital, then small letters
/// (punctuation around it aside).
fn title_case(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    let mut chars = w.chars();
    chars.next().is_some_and(char::is_uppercase) && chars.clone().next().is_some() && chars.all(char::is_lowercase)
}

/// The word has a roofed vowel (circumflex, breve or horn) and no tone
/// mark: where a stacked mark Tesseract did not see would be.
fn bare_roof(word: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let (mut roof, mut tone) = (false, false);
    for c in word.nfd() {
        roof |= matches!(c, '\u{302}' | '\u{306}' | '\u{31b}');
        tone |= syllable::TONES.contains(&c);
    }
    roof && !tone
}

/// A character the second reader weighed is tried in a word only when at
/// least this likely.
const CHOICE_MIN_P: f32 = 0.05;
/// At most this many spellings are tried from the characters weighed.
const CHOICE_TRIES: usize = 256;

/// Each spelling of `word`'s letters from the characters the second reader
/// weighed at each place (its base letter `word`'s, the likeliest or at
/// least [`CHOICE_MIN_P`] likely), with the sum of their log probabilities.
/// With `own`, `word`'s own character is tried at each place too, at
/// probability `own` where the reader did not weigh it. None when the
/// reader's text does not spell `word`'s letters or the spellings are more
/// than [`CHOICE_TRIES`].
fn spellings(word: &str, heard: &Heard, own: Option<f32>) -> Option<Vec<(String, f32)>> {
    let letters: Vec<char> = word.chars().collect();
    if heard.choices.len() != letters.len() || same_letters(word, &heard.text).is_none() {
        return None;
    }
    let options: Vec<Vec<(char, f32)>> = letters
        .iter()
        .zip(&heard.choices)
        .map(|(&l, weighed)| {
            let base = syllable::base_letter(l);
            let mut fits: Vec<(char, f32)> = weighed
                .iter()
                .enumerate()
                .filter(|&(i, &(c, q))| syllable::base_letter(c) == base && (i == 0 || q >= CHOICE_MIN_P))
                .map(|(_, &cq)| cq)
                .collect();
            let heard_own = fits.iter().any(|&(c, _)| c.to_lowercase().eq(l.to_lowercase()));
            match own {
                Some(p) if !heard_own => fits.push((l, p)),
                None if fits.is_empty() => fits.push((l, 1.0)),
                _ => {}
            }
            fits
        })
        .collect();
    if options.iter().map(Vec::len).try_fold(1usize, |n, k| n.checked_mul(k)).is_none_or(|n| n > CHOICE_TRIES) {
        return None;
    }
    let mut out = Vec::new();
    let mut pick = vec![0usize; options.len()];
    loop {
        let spelled: String = pick.iter().zip(&options).map(|(&i, o)| o[i].0).collect();
        if let Some(t) = same_letters(word, &spelled) {
            out.push((t, pick.iter().zip(&options).map(|(&i, o)| o[i].1.max(f32::MIN_POSITIVE).ln()).sum()));
        }
        // The next combination, as an odometer.
        let mut k = 0;
        while k < pick.len() {
            pick[k] += 1;
            if pick[k] < options[k].len() {
                break;
            }
            pick[k] = 0;
            k += 1;
        }
        if k == pick.len() {
            return Some(out);
        }
    }
}

/// The likeliest spelling of `word`'s letters, each character one the
/// second reader weighed at its place (its base letter `word`'s), that the
/// lexicon lists; None when none is.
fn listed_choice(lexicon: &Lexicon, word: &str, heard: &Heard) -> Option<String> {
    let listed = spellings(word, heard, None)?.into_iter().filter(|(t, _)| !lexicon.lacks(t));
    listed.max_by(|a, b| a.1.total_cmp(&b.1)).map(|(t, _)| t)
}

/// A spelling is taken for its frequency only when it is at least this
/// many centibels commoner than the reading it replaces (about three times
/// as common): on the Đà Nẵng letters, 100 (ten times) corrected fewer
/// words and changed no more right ones (BENCHMARKS).
const RARER_CB: u16 = 50;
/// A reading the second reader gave is weighed against commoner spellings
/// only when it is this rare (under one word in 100,000): "đễ", "sảng",
/// "khuyển", not "cổng" or "quyền", which it reads right more often.
const RARE_CB: u16 = 500;
/// What a character Tesseract read and the second reader did not weigh at
/// all is taken to be worth to the second reader.
const UNHEARD_P: f32 = 0.001;
/// How much Tesseract's confidence in its reading weighs against the second
/// reader's probabilities: this many times its log odds.
const TESSERACT_WEIGHT: f32 = 2.0;

/// The spelling of `w`'s letters to take instead of `read` because it is
/// [`RARER_CB`] commoner and, of all spellings the second reader weighed
/// (and Tesseract's), the likeliest: the second reader's log probabilities,
/// plus the spelling's log frequency, plus for Tesseract's own reading
/// [`TESSERACT_WEIGHT`] times the log odds of its confidence. A spelling the
/// lexicon lacks, or with fewer marks than Tesseract's (a mark lost is what
/// the second reader is asked to put back, never to take away), is not
/// tried. None when `read` is the likeliest or not that much rarer.
fn commoner(f: &Frequencies, lexicon: Option<&Lexicon>, w: &OcrWord, heard: &Heard, read: &str) -> Option<String> {
    if !syllable::syllable_letters(&w.text) {
        return None;
    }
    let c = w.conf.clamp(1.0, 99.0);
    let own_weight = TESSERACT_WEIGHT * (c / (100.0 - c)).ln();
    let per_cb = std::f32::consts::LN_10 / 100.0;
    let marks = syllable::marks(&w.text);
    let best = spellings(&w.text, heard, Some(UNHEARD_P))?
        .into_iter()
        .filter(|(t, _)| *t == w.text || (!lexicon.is_some_and(|l| l.lacks(t)) && syllable::marks(t) >= marks))
        .map(|(t, heard_ln)| {
            let own = if t == w.text { own_weight } else { 0.0 };
            (heard_ln + own - f32::from(f.cb(&t)) * per_cb, t)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?
        .1;
    (best != read && !syllable::wrong_tone(&best) && f.cb(&best) + RARER_CB <= f.cb(read)).then_some(best)
}

/// When `other` spells the same letters as `word` with other diacritics,
/// `other`'s diacritics in `word`'s letter case; otherwise None.
fn same_letters(word: &str, other: &str) -> Option<String> {
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), other.chars().collect());
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| syllable::base_letter(*x) != syllable::base_letter(*y)) {
        return None;
    }
    let out: String = a
        .iter()
        .zip(&b)
        .map(|(x, y)| if x.is_uppercase() { y.to_uppercase().collect::<String>() } else { y.to_lowercase().collect() })
        .collect();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_line, test_word, OcrLine, OcrWord};

    /// Runs the second pass on one line of words, the second reader
    /// answering from `answers` in the order it is asked; returns what was
    /// asked and the words after.
    fn second_on(words: Vec<OcrWord>, answers: &[&str]) -> (Vec<String>, Vec<String>) {
        let (asked, out, _) = second_counted(words, answers);
        (asked, out)
    }

    /// As [`second_on`], with how many words `ask_about_marks` says it changed.
    fn second_counted(words: Vec<OcrWord>, answers: &[&str]) -> (Vec<String>, Vec<String>, usize) {
        second_with(words, answers, None)
    }

    /// As [`second_counted`], with a lexicon.
    fn second_with(
        words: Vec<OcrWord>,
        answers: &[&str],
        lexicon: Option<&Lexicon>,
    ) -> (Vec<String>, Vec<String>, usize) {
        let mut page =
            OcrPage { width: 600, height: 40, lines: vec![OcrLine { bbox: [0.0, 0.0, 600.0, 20.0], words }] };
        let raster = Gray::new(600, 40, 255);
        let mut asked = Vec::new();
        let mut read = |_: &Gray| {
            let a = answers.get(asked.len()).copied().unwrap_or("?");
            asked.push(a.to_string());
            Some(Heard::plain(a, 0.99))
        };
        let changed = ask_about_marks(
            &mut page,
            Crops { raster: &raster, scale: 1.0, offset: (0.0, 0.0) },
            &mut read,
            lexicon,
            None,
        );
        (asked, page.lines[0].words.iter().map(|w| w.text.clone()).collect(), changed)
    }

    #[test]
    fn sure_words_are_asked_only_on_a_page_whose_unsure_marks_were_corrected() {
        let words = || {
            vec![
                test_word("thê", 0.0, 50.0, 97.0),
                test_word("câp", 60.0, 110.0, 85.0),
                test_word("theo", 120.0, 170.0, 92.0),
                test_word("Nam", 180.0, 230.0, 70.0),
                test_word("123", 240.0, 290.0, 10.0),
                test_word("đên", 300.0, 350.0, 88.0),
            ]
        };
        // The unsure marked words and the unsure plain one are asked; "câp"
        // and "đên" are corrected, so the sure bare roof "thê" is asked too;
        // the sure plain "theo" and the number never.
        let (asked, out) = second_on(words(), &["cấp", "Nam", "đến", "thể"]);
        assert_eq!(asked.len(), 4, "{asked:?}");
        assert_eq!(out, ["thể", "cấp", "theo", "Nam", "123", "đến"]);
        // One correction among the unsure: the sure words are left alone.
        let (asked, out) = second_on(words(), &["cấp", "Nam", "đên"]);
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert_eq!(out, ["thê", "cấp", "theo", "Nam", "123", "đên"]);
        // ... but a sure name whose roof has no tone mark is always asked,
        // and once the second reader left it as it was, not again.
        let names = vec![
            test_word("Trân", 0.0, 50.0, 97.0),
            test_word("Văn", 60.0, 110.0, 97.0),
            test_word("Văn", 120.0, 170.0, 97.0),
            test_word("Trân", 180.0, 230.0, 97.0),
        ];
        let (asked, out, changed) = second_counted(names, &["Trần", "Văn", "Trân"]);
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert_eq!(out, ["Trần", "Văn", "Văn", "Trân"]);
        // The name changed counts as a word the second reader changed.
        assert_eq!(changed, 1);
        assert!(title_case("Trân,") && !title_case("TRÂN") && !title_case("trân") && !title_case("T"));
        // A capital that opens a sentence is no name: asked only with the
        // page's other sure words.
        let opening = vec![test_word("Căn", 0.0, 50.0, 97.0), test_word("cứ", 60.0, 110.0, 97.0)];
        let (asked, _) = second_on(opening, &["Căn"]);
        assert!(asked.is_empty(), "{asked:?}");
    }

    #[test]
    fn a_sure_word_takes_only_a_reading_with_more_marks() {
        // (Stop-final syllables without a tone are always asked.)
        let (asked, out) = second_on(vec![test_word("Tôt", 0.0, 50.0, 92.0)], &["Tot"]);
        assert_eq!((asked.len(), out), (1, vec!["Tôt".to_string()]));
        let (_, out) = second_on(vec![test_word("câp", 0.0, 50.0, 97.0)], &["cấp"]);
        assert_eq!(out, ["cấp"]);
        // An unsure word takes the other reading either way.
        let (_, out) = second_on(vec![test_word("tỉnh", 0.0, 50.0, 70.0)], &["tinh"]);
        assert_eq!(out, ["tinh"]);
    }

    #[test]
    fn a_marked_word_no_vietnamese_has_is_asked_and_takes_only_a_listed_reading() {
        let lex = Lexicon::from_dic("5\ndõi\nkhẩn\ntheo\nđiểm\nkhần\n");
        // Sure, with as many marks as its answer: without the lexicon it is
        // not even asked; with it, asked, and the listed reading taken.
        let word = || vec![test_word("khắn", 0.0, 50.0, 97.0)];
        let (asked, out, _) = second_with(word(), &["khẩn"], None);
        assert_eq!((asked.len(), out), (0, vec!["khắn".to_string()]));
        let (asked, out, changed) = second_with(word(), &["khẩn"], Some(&lex));
        assert_eq!((asked.len(), out, changed), (1, vec!["khẩn".to_string()], 1));
        // Fewer marks than read ("đõi" → "dõi"), punctuation kept.
        let (_, out, _) = second_with(vec![test_word("đõi,", 0.0, 50.0, 95.0)], &["dõi,"], Some(&lex));
        assert_eq!(out, ["dõi,"]);
        // An unlisted answer is not taken for an unlisted word...
        let (_, out, _) = second_with(vec![test_word("điễm", 0.0, 50.0, 95.0)], &["điễm"], Some(&lex));
        assert_eq!(out, ["điễm"]);
        // ... nor for a listed one, however unsure (the network read "dõi"
        // as "đõi"); without the lexicon it was.
        let unsure = || vec![test_word("theo", 0.0, 50.0, 97.0), test_word("dõi", 60.0, 110.0, 60.0)];
        let (_, out, _) = second_with(unsure(), &["đõi"], Some(&lex));
        assert_eq!(out, ["theo", "dõi"]);
        let (_, out, _) = second_with(unsure(), &["đõi"], None);
        assert_eq!(out, ["theo", "đõi"]);
        // Abbreviations and words with no mark are not the lexicon's to judge.
        assert!(!lex.lacks("UBND") && !lex.lacks("theo") && !lex.lacks("khẩn;"));
        assert!(lex.lacks("khắn;") && lex.lacks("(Đõi"));
    }

    #[test]
    fn an_unlisted_word_heard_unlisted_takes_the_likeliest_listed_spelling_the_reader_weighed() {
        let lex = Lexicon::from_dic("4\nđiểm\nđiếm\ndõi\nđòi\n");
        let sure = |c: char| vec![(c, 0.99)];
        // "điêm" read, "điễm" heard; at the tone's place the reader weighed
        // ể at 0.3 and ế at 0.1: the listed "điểm" is likelier than "điếm".
        let heard = Heard {
            text: "điễm".into(),
            p: 0.6,
            choices: vec![sure('đ'), sure('i'), vec![('ễ', 0.6), ('ể', 0.3), ('ế', 0.1)], sure('m')],
        };
        assert_eq!(listed_choice(&lex, "điêm", &heard).as_deref(), Some("điểm"));
        // Case kept; a character weighed under CHOICE_MIN_P is not tried.
        let faint =
            Heard { choices: vec![sure('đ'), sure('i'), vec![('ễ', 0.9), ('ể', 0.04)], sure('m')], ..heard };
        assert_eq!(listed_choice(&lex, "ĐIÊM", &faint), None);
        let heard = Heard {
            text: "đõi".into(),
            p: 0.5,
            choices: vec![vec![('đ', 0.5), ('d', 0.45), ('a', 0.05)], sure('õ'), sure('i')],
        };
        assert_eq!(listed_choice(&lex, "Đõi", &heard).as_deref(), Some("Dõi"));
        // Through the second pass: a sure unlisted word heard unlisted.
        let mut page = OcrPage {
            width: 600,
            height: 40,
            lines: vec![OcrLine { bbox: [0.0, 0.0, 600.0, 20.0], words: vec![test_word("đõi,", 0.0, 50.0, 95.0)] }],
        };
        let raster = Gray::new(600, 40, 255);
        let mut read = |_: &Gray| {
            Some(Heard {
                text: "đõi,".into(),
                p: 0.4,
                choices: vec![vec![('đ', 0.6), ('d', 0.4)], sure('õ'), sure('i'), sure(',')],
            })
        };
        let crops = Crops { raster: &raster, scale: 1.0, offset: (0.0, 0.0) };
        assert_eq!(ask_about_marks(&mut page, crops, &mut read, Some(&lex), None), 1);
        assert_eq!(page.lines[0].words[0].text, "dõi,");
    }

    #[test]
    fn high_confidence_words_go_to_the_second_reader_only_where_a_stacked_mark_may_be_lost() {
        for w in ["thê", "tiên", "sô", "Đông", "tăng", "ưu"] {
            assert!(bare_roof(w), "{w}");
        }
        for w in ["thể", "tiền", "số", "theo", "Chính", "của", "ý"] {
            assert!(!bare_roof(w), "{w}");
        }
    }

    /// Runs [`read_misread_numbers`] on one line of words, the second reader
    /// answering `answer` at `p`; returns what was asked and the words after.
    fn misread_numbers_on(texts: &[&str], answer: &str, p: f32) -> (usize, Vec<String>) {
        let raster = Gray::new(600, 40, 255);
        let mut page = OcrPage { width: 600, height: 40, lines: vec![test_line(10.0, texts, 70.0)] };
        let mut asked = 0;
        let mut read = |_: &Gray| {
            asked += 1;
            Some(Heard::plain(answer, p))
        };
        read_misread_numbers(&mut page, Crops { raster: &raster, scale: 1.0, offset: (0.0, 0.0) }, &mut read);
        (asked, page.lines[0].words.iter().map(|w| w.text.clone()).collect())
    }

    #[test]
    fn a_number_misread_is_read_again_and_only_a_sure_near_reading_taken() {
        // A CCCD read with a speck as a thirteenth digit.
        let (asked, out) = misread_numbers_on(&["CCCD:", "0361856589759"], "036186589759", 0.81);
        assert_eq!((asked, out[1].as_str()), (1, "036186589759"));
        // A CCCD with a digit read as a letter and another as a wrong digit.
        let (_, out) = misread_numbers_on(&["CCCD:", "036100622H74"], ": 036300622874", 0.59);
        assert_eq!(out[1], "036300622874");
        // A phone number that lost a digit, a form's leader before it.
        let (_, out) = misread_numbers_on(&["SĐT:", "....091269433."], "091269 4332.", 0.9);
        assert_eq!(out[1], "....091269433.");
        let (_, out) = misread_numbers_on(&["SĐT:", "....091269433."], "0912694332.", 0.9);
        assert_eq!(out[1], "....0912694332.");
        // Unsure, too far from the page's reading, or not all digits: the
        // page's reading stays.
        for (answer, p) in [("036186589759", 0.3), ("036186589700", 0.9), ("03618658975O", 0.9)] {
            assert_eq!(misread_numbers_on(&["0361856589759"], answer, p).1, ["0361856589759"]);
        }
        assert_eq!(misread_numbers_on(&["03610062HH74"], "036300699874", 0.9).1, ["03610062HH74"]);
        // Numbers read whole, dates, codes and words are not asked about.
        let words = ["036186589759", "0912694332", "27/03/1967", "1.001193", "000.00.20.H40-230821-0539", "Nam"];
        assert_eq!(misread_numbers_on(&words, "0", 0.9).0, 0);
    }

    #[test]
    fn one_digit_apart_means_one_character_more_anywhere() {
        assert!(one_digit_apart("0361856589759", "036186589759"));
        assert!(one_digit_apart("12", "312") && one_digit_apart("123", "12") && one_digit_apart("1", ""));
        assert!(!one_digit_apart("123", "123") && !one_digit_apart("1234", "12") && !one_digit_apart("123", "124"));
    }

    /// Frequencies of `words`, each at its centibels under 1.
    fn frequencies(words: &[(&str, usize)]) -> Frequencies {
        let mut buckets: Vec<Vec<&str>> = vec![Vec::new(); 701];
        for &(w, cb) in words {
            buckets[cb].push(w);
        }
        Frequencies::from_buckets(&buckets)
    }

    /// The second pass on one line of `words` with frequencies, the second
    /// reader hearing what `hear` gives for the word asked; returns the
    /// words after.
    fn second_weighed(words: Vec<OcrWord>, f: &Frequencies, hear: impl Fn(usize) -> Heard) -> Vec<String> {
        let mut page =
            OcrPage { width: 600, height: 40, lines: vec![OcrLine { bbox: [0.0, 0.0, 600.0, 20.0], words }] };
        let raster = Gray::new(600, 40, 255);
        let mut asked = 0;
        let mut read = |_: &Gray| {
            asked += 1;
            Some(hear(asked - 1))
        };
        let crops = Crops { raster: &raster, scale: 1.0, offset: (0.0, 0.0) };
        ask_about_marks(&mut page, crops, &mut read, None, Some(f));
        page.lines[0].words.iter().map(|w| w.text.clone()).collect()
    }

    #[test]
    fn a_tone_misread_into_a_rarer_word_takes_the_commoner_spelling_the_reader_weighed() {
        let f = frequencies(&[
            ("và", 183),
            ("vả", 444),
            ("quyền", 308),
            ("quyển", 424),
            ("đề", 307),
            ("để", 228),
            ("đễ", 564),
        ]);
        let sure = |c: char| vec![(c, 0.99)];
        // A page where two unsure words' marks were corrected (so its sure
        // words are asked too), then `word` read at `conf`.
        let page = |word: &str, conf: f32| {
            let mut words = vec![test_word("câp", 0.0, 40.0, 70.0), test_word("thê", 50.0, 90.0, 70.0)];
            words.push(test_word(word, 100.0, 140.0, conf));
            words
        };
        let then = |text: &'static str, choices: Vec<Vec<(char, f32)>>| {
            move |k: usize| match k {
                0 => Heard::plain("cấp", 0.99),
                1 => Heard::plain("thể", 0.99),
                _ => Heard { text: text.into(), p: 0.8, choices: choices.clone() },
            }
        };
        // "vả" read sure (91): asked because "và" is far commoner; the reader
        // hears "và" (ả at 0.16): the commoner spelling is taken although
        // it has no more marks.
        let va = then("và", vec![sure('v'), vec![('à', 0.82), ('ả', 0.16)]]);
        assert_eq!(second_weighed(page("vả", 91.0), &f, &va), ["cấp", "thể", "và"]);
        // Alone, on a page whose marks Tesseract reads right, it is not asked.
        assert_eq!(second_weighed(vec![test_word("vả", 0.0, 40.0, 91.0)], &f, |_| va(2)), ["vả"]);
        // Without frequencies, a sure word takes no reading with as many marks.
        let (_, out) = second_on(page("vả", 91.0), &["cấp", "thể", "và"]);
        assert_eq!(out, ["cấp", "thể", "vả"]);
        // "Quyển" read at 97, the reader hearing "Quyền" (ể at 0.24):
        // Tesseract's confidence outweighs the commoner word.
        let quyen = then("Quyền", vec![sure('Q'), sure('u'), sure('y'), vec![('ề', 0.76), ('ể', 0.24)], sure('n')]);
        assert_eq!(second_weighed(page("Quyển", 97.0), &f, &quyen), ["cấp", "thể", "Quyển"]);
        // "đề" read unsure (77), "đễ" heard surely: the rare reading the
        // reader gives yields to the commoner spelling Tesseract read.
        let de = |_| Heard {
            text: "đễ".into(),
            p: 0.91,
            choices: vec![sure('đ'), vec![('ễ', 0.91), ('ế', 0.06), ('ề', 0.02), ('ể', 0.01)]],
        };
        assert_eq!(second_weighed(vec![test_word("đề", 0.0, 40.0, 77.0)], &f, de), ["đề"]);
        // A name beside another is not weighed by how often words are written.
        let mut words = page("Vả", 91.0);
        words.insert(2, test_word("Nguyễn", 92.0, 98.0, 96.0));
        let name = then("Và", vec![sure('V'), vec![('à', 0.82), ('ả', 0.16)]]);
        assert_eq!(second_weighed(words, &f, &name), ["cấp", "thể", "Nguyễn", "Vả"]);
    }
}
