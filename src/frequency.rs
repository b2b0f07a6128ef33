//! How common each Vietnamese syllable is. On a coarse or blurred page a
//! tone misread turns one real word into another ("trưởng" read "trướng",
//! "và" read "vả", "để" read "đễ"), and both are listed, so `lexicon` cannot
//! tell them apart; the second reader hesitates between the two marks as a
//! person would, and a person then takes the word that is written a hundred
//! times more often. wordfreq (PyPI, Apache-2.0 code, CC-BY-SA 4.0 data)
//! ships such counts for Vietnamese in `small_vi.msgpack.gz`;
//! `scripts/install-deps` takes that one file out of the wheel, and sohoa
//! reads it where it was put and carries none of it. This module exists
//! apart from `lexicon`, which says whether a word exists, because its answer
//! is a weight, from another file that may be absent: without it, nothing
//! here is asked and the reading is what it was.

use crate::syllable::{letters, syllable_letters, tone_key};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// Where wordfreq's list is looked for: where `scripts/install-deps` puts
/// it, then where a package would, then where the Debian package does.
pub(crate) const DEFAULT_DIRS: [&str; 3] =
    ["/usr/local/share/sohoa/wordfreq", "/usr/share/sohoa/wordfreq", "/usr/lib/sohoa/wordfreq"];
/// The list's file name, as wordfreq names it.
pub(crate) const FILE: &str = "small_vi.msgpack.gz";
/// What a syllable the list does not hold costs: rarer than any it holds
/// (its rarest are at 600 centibels).
const UNSEEN_CB: u16 = 700;

/// Syllable frequencies as wordfreq gives them: how many centibels under 1
/// (0 the commonest, 100 ten times rarer), by each syllable's letters
/// without tone (lower case) and its tone, as `lexicon` keys them, so the
/// old and new place of a tone mark are one syllable.
pub(crate) struct Frequencies {
    /// For each spelling without tone, its syllables (the spelling listed,
    /// its tone, its centibels), one per tone: a syllable's frequency, and
    /// the words a misread tone can turn it into.
    by_tone: HashMap<String, Vec<(String, Option<char>, u16)>>,
    /// The list's size and digest (see [`identity`]).
    identity: String,
}

impl Frequencies {
    /// Frequencies of the syllables in `buckets`: the words of bucket `i`
    /// are `i` centibels under 1 (wordfreq's format). Words that are not
    /// one syllable (numbers, foreign words) are left out.
    pub(crate) fn from_buckets<S: AsRef<str>>(buckets: &[Vec<S>]) -> Frequencies {
        let mut by_tone = HashMap::<String, Vec<(String, Option<char>, u16)>>::new();
        for (i, bucket) in buckets.iter().enumerate() {
            let c = u16::try_from(i).unwrap_or(u16::MAX);
            for w in bucket {
                let w: String = w.as_ref().nfc().collect::<String>().to_lowercase();
                if !syllable_letters(&w) {
                    continue;
                }
                let (letters, tone) = tone_key(&w);
                // The commoner of two places of one tone mark counts.
                let syllables = by_tone.entry(letters).or_default();
                if !syllables.iter().any(|(_, t, _)| *t == tone) {
                    syllables.push((w, tone, c));
                }
            }
        }
        Frequencies { by_tone, identity: String::new() }
    }

    /// How rare `word` (one syllable, any case, punctuation around it
    /// aside) is, in centibels under 1; [`UNSEEN_CB`] when not listed.
    pub(crate) fn cb(&self, word: &str) -> u16 {
        let (toneless, tone) = tone_key(letters(word));
        let syllables = self.by_tone.get(&toneless).map_or(&[][..], Vec::as_slice);
        syllables.iter().find(|(_, t, _)| *t == tone).map_or(UNSEEN_CB, |&(_, _, c)| c)
    }

    /// The commonest other syllable that is `word` with another tone or
    /// one where it has none ("và" for "vả", "kiểm" for "kiêm": what a
    /// coarse page's misread tones make), and how rare it is.
    pub(crate) fn commonest_other_tone(&self, word: &str) -> Option<(&str, u16)> {
        let (toneless, tone) = tone_key(letters(word));
        let others = self.by_tone.get(&toneless)?.iter().filter(|(_, t, _)| *t != tone && t.is_some());
        others.min_by_key(|(_, _, c)| *c).map(|(a, _, c)| (a.as_str(), *c))
    }
}

/// The list read from the first of [`DEFAULT_DIRS`] that holds it, once per
/// process, or None when none does or it cannot be read.
pub(crate) fn installed() -> Option<&'static Frequencies> {
    static FREQUENCIES: OnceLock<Option<Frequencies>> = OnceLock::new();
    FREQUENCIES.get_or_init(|| locate().and_then(|p| load(&p).ok())).as_ref()
}

/// The installed list's path, if any.
pub(crate) fn locate() -> Option<PathBuf> {
    DEFAULT_DIRS.iter().map(|d| Path::new(d).join(FILE)).find(|p| p.is_file())
}

/// What the installed list is, for the settings every output depends on:
/// its size and digest, or "absent".
pub(crate) fn identity() -> String {
    installed().map_or_else(|| "absent".to_string(), |f| f.identity.clone())
}

/// Reads wordfreq's gzipped MessagePack list: an array whose first item is
/// a header map and whose others are the buckets, arrays of words. An
/// error says which file and why.
pub(crate) fn load(path: &Path) -> Result<Frequencies, String> {
    use std::io::Read;
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let packed = std::fs::read(path).map_err(|e| at(&e))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice()).read_to_end(&mut bytes).map_err(|e| at(&e))?;
    let buckets = buckets(&bytes).map_err(|e| at(&e))?;
    let mut f = Frequencies::from_buckets(&buckets);
    if f.by_tone.is_empty() {
        return Err(at(&"no syllables"));
    }
    f.identity = crate::lexicon::file_identity(&packed);
    Ok(f)
}

/// The buckets of wordfreq's MessagePack list (its header skipped).
fn buckets(mut bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    use rmp::decode;
    let rd = &mut bytes;
    let n = decode::read_array_len(rd).map_err(|e| format!("not a wordfreq list: {e}"))?;
    let header = decode::read_map_len(rd).map_err(|e| format!("no wordfreq header: {e}"))?;
    for _ in 0..header * 2 {
        skip_scalar(rd)?;
    }
    let mut out = Vec::new();
    for _ in 1..n {
        let len = decode::read_array_len(rd).map_err(|e| format!("bucket {}: {e}", out.len()))?;
        let mut words = Vec::new();
        for _ in 0..len {
            words.push(read_string(rd)?);
        }
        out.push(words);
    }
    Ok(out)
}

fn read_string(rd: &mut &[u8]) -> Result<String, String> {
    let len = rmp::decode::read_str_len(rd).map_err(|e| format!("a word: {e}"))? as usize;
    let s = rd.get(..len).ok_or("a word runs past the end")?;
    let word = std::str::from_utf8(s).map_err(|e| format!("a word: {e}"))?.to_string();
    *rd = &rd[len..];
    Ok(word)
}

/// Skips a header key or value: wordfreq writes strings and integers there.
fn skip_scalar(rd: &mut &[u8]) -> Result<(), String> {
    use rmp::Marker;
    match rmp::decode::read_marker(rd).map_err(|_| "the header ends early".to_string())? {
        Marker::FixStr(n) => *rd = rd.get(usize::from(n)..).ok_or("the header ends early")?,
        Marker::Str8 | Marker::Str16 | Marker::Str32 => {
            return Err("a long string in the header".to_string());
        }
        Marker::FixPos(_) | Marker::FixNeg(_) | Marker::True | Marker::False | Marker::Null => {}
        Marker::U8 | Marker::I8 => *rd = rd.get(1..).ok_or("the header ends early")?,
        Marker::U16 | Marker::I16 => *rd = rd.get(2..).ok_or("the header ends early")?,
        Marker::U32 | Marker::I32 => *rd = rd.get(4..).ok_or("the header ends early")?,
        m => return Err(format!("an unexpected {m:?} in the header")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syllable_costs_its_bucket_and_finds_its_commoner_spellings() {
        let f = Frequencies::from_buckets(&[vec!["và"], vec!["va"], vec!["vả", "hòa", "2020", "Xiaomi"]]);
        assert_eq!(f.cb("và"), 0);
        assert_eq!(f.cb("Vả,"), 2);
        assert_eq!(f.cb("hoà"), 2, "the old place of the tone is the same syllable");
        assert_eq!(f.cb("vá"), UNSEEN_CB);
        assert_eq!(f.commonest_other_tone("vả"), Some(("và", 0)));
        assert_eq!(f.commonest_other_tone("và"), Some(("vả", 2)));
        assert_eq!(f.commonest_other_tone("va"), Some(("và", 0)));
        assert_eq!(f.commonest_other_tone("vâ"), None, "another roof is not another tone");
        assert_eq!(f.commonest_other_tone("ba"), None);
        assert_eq!(f.cb("2020"), UNSEEN_CB, "only syllables are kept");
    }

    #[test]
    fn wordfreqs_format_is_read_and_a_broken_file_is_an_error_naming_it() {
        use std::io::Write;
        // [{"format": "cB", "version": 1}, ["và"], [], ["vả"]]
        let mut mp = Vec::new();
        rmp::encode::write_array_len(&mut mp, 4).unwrap();
        rmp::encode::write_map_len(&mut mp, 2).unwrap();
        rmp::encode::write_str(&mut mp, "format").unwrap();
        rmp::encode::write_str(&mut mp, "cB").unwrap();
        rmp::encode::write_str(&mut mp, "version").unwrap();
        rmp::encode::write_uint(&mut mp, 1).unwrap();
        for bucket in [&["và"][..], &[], &["vả"]] {
            rmp::encode::write_array_len(&mut mp, bucket.len() as u32).unwrap();
            for w in bucket {
                rmp::encode::write_str(&mut mp, w).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&mp).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let f = load(&path).unwrap();
        assert_eq!((f.cb("và"), f.cb("vả")), (0, 2));
        assert!(f.identity.contains("bytes"), "{}", f.identity);
        std::fs::write(&path, b"not gzip").unwrap();
        let e = load(&path).err().unwrap();
        assert!(e.contains(FILE), "{e}");
    }
}
