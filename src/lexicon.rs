//! Which marked syllables Vietnamese has. The shape check (`syllable`)
//! knows onsets, vowels and finals, so it takes "đõi", "khắn", "quyễn" and
//! "điễm" for syllables: each is a tone or roof misread on a coarse or
//! blurred page, and no Vietnamese word. Debian's `hunspell-vi` lists the
//! language's 6,631 syllables; it is GPL, so sohoa reads it where the
//! package installs it and carries none of it. This module exists apart
//! from `syllable`, which knows no words, because its answer comes from a
//! file that may be absent: without it, nothing here is asked and the
//! reading is what it was.

use crate::syllable::{marks, syllable_letters, tone_key};
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

/// Where Debian's `hunspell-vi` puts its word list.
pub(crate) const DEFAULT_PATH: &str = "/usr/share/hunspell/vi_VN.dic";

/// The syllables of a hunspell word list, each kept as its letters with
/// their roofs and hooks but no tone, lower case, and its tone mark: so
/// "hoà" and "hòa", "thuỷ" and "thủy" (the old and new place of the mark)
/// are one syllable.
pub(crate) struct Lexicon {
    known: HashSet<(String, Option<char>)>,
    /// The list's size and digest (see [`identity`]).
    identity: String,
}

impl Lexicon {
    /// A lexicon of the words of a hunspell `.dic` text: a count on the
    /// first line, then a word per line, its affix flags after a slash.
    pub(crate) fn from_dic(text: &str) -> Lexicon {
        let known = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split('/').next())
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(tone_key)
            .collect();
        Lexicon { known, identity: String::new() }
    }

    /// Whether `word` (one syllable, any case, NFC) is a listed syllable.
    pub(crate) fn knows(&self, word: &str) -> bool {
        self.known.contains(&tone_key(word))
    }

    /// A marked syllable (punctuation around it aside) that the list does
    /// not hold ("đõi", "khắn"): a mark misread. Abbreviations, numbers and
    /// words with no mark are not the list's to judge.
    pub(crate) fn lacks(&self, word: &str) -> bool {
        let w = crate::syllable::letters(word);
        marks(w) > 0 && syllable_letters(w) && !self.knows(w)
    }
}

/// The lexicon read from [`DEFAULT_PATH`] once per process, or None when
/// it is not installed or cannot be read.
pub(crate) fn installed() -> Option<&'static Lexicon> {
    static LEXICON: OnceLock<Option<Lexicon>> = OnceLock::new();
    LEXICON.get_or_init(|| load(Path::new(DEFAULT_PATH)).ok()).as_ref()
}

/// What the installed lexicon is, for the settings every output depends on:
/// its size and its words' digest, or "absent". A lexicon installed or
/// updated reads some pages differently, so their dossiers are done again.
pub(crate) fn identity() -> String {
    installed().map_or_else(|| "absent".to_string(), |l| l.identity.clone())
}

/// Reads a hunspell word list; an error says which file and why.
pub(crate) fn load(path: &Path) -> Result<Lexicon, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lex = Lexicon::from_dic(&text);
    if lex.known.is_empty() {
        return Err(format!("{}: no words", path.display()));
    }
    lex.identity = file_identity(text.as_bytes());
    Ok(lex)
}

/// A word list file's identity for the settings key: its size and the
/// start of its SHA-256.
pub(crate) fn file_identity(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    format!("{} bytes {:02x}{:02x}{:02x}{:02x}", bytes.len(), digest[0], digest[1], digest[2], digest[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syllable_is_known_whatever_its_case_and_the_place_of_its_tone() {
        let lex = Lexicon::from_dic("4\nhoà\nthủy\nđiểm/A\nnăng\n");
        for w in ["hoà", "hòa", "HÒA", "thuỷ", "thủy", "Điểm", "năng"] {
            assert!(lex.knows(w), "{w}");
        }
        for w in ["điễm", "nãng", "hoá", "thuy", "đõi"] {
            assert!(!lex.knows(w), "{w}");
        }
        // What it lacks: marked syllables only, punctuation aside.
        assert!(lex.lacks("điễm,") && lex.lacks("(Nãng") && lex.lacks("đoi"));
        assert!(!lex.lacks("thuy") && !lex.lacks("UBND") && !lex.lacks("HÒA;") && !lex.lacks("123"));
    }
}
