//! The digital signatures of input PDFs (signature dictionaries with a
//! ByteRange): who signed and when. It exists apart from `pdfin` (which turns
//! pages into rasters) because a signature is about the file, not a page:
//! sohoa's PDF is a derivative that cannot carry it, so `pipeline` keeps a
//! signed file byte for byte under OUT/originals and the manifest names its
//! signers. Text strings are decoded by lopdf (PDFDocEncoding, UTF-16BE,
//! UTF-8), dates from the PDF form to RFC 3339.

use lopdf::{Dictionary, Document, Object};
use unicode_normalization::UnicodeNormalization;

/// A digital signature found in a PDF.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// The signer's name as the signature dictionary gives it.
    pub signer: Option<String>,
    /// Signing time, RFC 3339, when given.
    pub signed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The digital signatures of a PDF (signature dictionaries with a ByteRange).
/// A file that cannot be read has none.
pub(crate) fn signatures(bytes: &[u8]) -> Vec<Signature> {
    if !bytes.windows(10).any(|w| w == b"/ByteRange") {
        return Vec::new();
    }
    let Ok(doc) = Document::load_mem(bytes) else { return Vec::new() };
    let mut found = Vec::new();
    let mut check = |d: &Dictionary| {
        if d.has(b"ByteRange") && d.has(b"Contents") {
            let text = |k: &[u8]| {
                let o = d.get(k).ok()?;
                let o = match o {
                    Object::Reference(id) => doc.get_object(*id).ok()?,
                    o => o,
                };
                lopdf::decode_text_string(o).ok().map(|t| t.nfc().collect::<String>())
            };
            found.push(Signature {
                signer: text(b"Name"),
                signed_at: text(b"M").and_then(|m| pdf_date(&m)),
                reason: text(b"Reason"),
            });
        }
    };
    for o in doc.objects.values() {
        let d = match o {
            Object::Dictionary(d) => d,
            Object::Stream(st) => &st.dict,
            _ => continue,
        };
        check(d);
        for (_, v) in d.iter() {
            if let Object::Dictionary(inner) = v {
                check(inner);
            }
        }
    }
    found
}

/// `D:YYYYMMDDHHmmSS+07'00'` to RFC 3339.
fn pdf_date(s: &str) -> Option<String> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return None;
    }
    let part = |i: usize, d: &str| digits.get(i..i + 2).unwrap_or(d).to_string();
    let rest = &s[digits.len()..];
    let zone = match rest.chars().next() {
        Some(c @ ('+' | '-')) => {
            let z: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            format!("{c}{}:{}", z.get(0..2).unwrap_or("00"), z.get(2..4).unwrap_or("00"))
        }
        _ => "Z".into(),
    };
    Some(format!(
        "{}-{}-{}T{}:{}:{}{}",
        &digits[0..4],
        &digits[4..6],
        &digits[6..8],
        part(8, "00"),
        part(10, "00"),
        part(12, "00"),
        zone
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_dates() {
        assert_eq!(pdf_date("D:20241203091500+07'00'").as_deref(), Some("2024-12-03T09:15:00+07:00"));
        assert_eq!(pdf_date("D:20241203").as_deref(), Some("2024-12-03T00:00:00Z"));
        assert_eq!(pdf_date("D:2024"), None);
    }
}
