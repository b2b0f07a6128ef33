//! The page and field flags of the manifest, as enums: the stages that set
//! a flag and the modules that read one (report, portal, review, the
//! attention list) name it by variant, so a typo is a compile error, not a
//! flag that is silently never seen. In the manifest they are the same
//! snake_case strings as always (a contract); a string this version does not
//! know (an older or newer sohoa wrote it) is kept as written, never a
//! manifest that fails to load. They sort by their text, as the strings did.

/// Declares a flag enum whose variants are written as the given strings.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A flag this version does not know, kept as it was written.
            Other(String),
        }

        impl $name {
            /// The flag as the manifest writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => Self::$variant,)*
                    _ => Self::Other(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(f: $name) -> String {
                f.as_str().to_string()
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What the manifest says about how a page was read.
    PageFlag {
        /// Under 200 dpi (Thông tư 05/2025/TT-BNV's minimum).
        LowDpi = "low_dpi",
        /// The file declares no usable resolution; it was estimated.
        DpiEstimated = "dpi_estimated",
        /// The file's two resolutions differ (a standard fax, 204 × 98 dpi):
        /// the page was stretched to square pixels; its width and height
        /// in pixels are the stretched page's.
        UnequalResolution = "unequal_resolution",
        /// A PDF page rendered by poppler (not the file's own image).
        Rendered = "rendered",
        /// Neither the text-shape check nor recognition was sure of the turn.
        OrientationUncertain = "orientation_uncertain",
        /// The turn was chosen by recognition (confidence of the candidates).
        OrientationByRecognition = "orientation_by_recognition",
        /// Enlarged before recognition (a coarse page).
        Upscaled = "upscaled",
        /// Enlarged and sharpened before recognition (a blurred coarse
        /// page).
        Sharpened = "sharpened",
        /// Background flattened for recognition.
        Cleaned = "cleaned",
        /// Binarized for recognition.
        Binarized = "binarized",
        /// Bent lines straightened for recognition.
        Dewarped = "dewarped",
        /// Print showing through from the back of the sheet faded into the
        /// paper for recognition.
        ShowThrough = "show_through",
        /// Dark marks with no sharp edge (a copier's blurred ghost of
        /// another sheet) lifted to paper for recognition.
        BlurredMarksLifted = "blurred_marks_lifted",
        /// A bilevel page (a G4 scan, a fax) read with its letters' edges
        /// softened to gray.
        Softened = "softened",
        /// The second reader changed some words.
        SecondReader = "second_reader",
        /// Read as one block of lines, not by layout analysis (a photo
        /// whose layout analysis left regions unread).
        OneBlock = "one_block",
        /// Boxed digits (a CCCD's twelve boxes) read apart from the page.
        BoxedDigits = "boxed_digits",
        /// Lines the page's reading left unread were found by reading again
        /// what it had not read, or taken from the page's other reading
        /// (a photographed form, a scan under 150 dpi).
        MissedTextRead = "missed_text_read",
        /// Cells of a ruled table read with the table's rules whited out.
        TableCellsRead = "table_cells_read",
        /// Lines taken from another reading of the page (another cleaning
        /// or segmentation, same turn) that read them clearly better.
        LinesFromOtherReading = "lines_from_other_reading",
    }
}

string_enum! {
    /// Why a field's value is doubtful: a failed check, or pages that disagree.
    FieldFlag {
        /// Pages give different values (see `alternatives`).
        Conflict = "conflict",
        InvalidName = "invalid_name",
        InvalidDossierCode = "invalid_dossier_code",
        InvalidDateInCode = "invalid_date_in_code",
        InvalidIdLength = "invalid_id_length",
        UnknownProvinceCode = "unknown_province_code",
        InvalidDate = "invalid_date",
        ImplausibleDate = "implausible_date",
        InvalidPhone = "invalid_phone",
        UnknownPhonePrefix = "unknown_phone_prefix",
        InvalidProcedureCode = "invalid_procedure_code",
        InvalidTime = "invalid_time",
        /// An address's unit (xóm, xã, huyện, tỉnh…) without its name, which
        /// no other page's reading of the address gave.
        IncompleteAddress = "incomplete_address",
        /// The CCCD's century, sex and year digits disagree with the birth date.
        IdBirthMismatch = "id_birth_mismatch",
        /// The date inside the dossier code is not the date received.
        CodeDateMismatch = "code_date_mismatch",
        /// The date promised is before the date received.
        BeforeReceived = "before_received",
        /// The procedure code read is listed for another procedure than the
        /// name read (the pipeline's `[catalog]`).
        ProcedureNameMismatch = "procedure_name_mismatch",
        /// No page gave the procedure: its code and name are those of the
        /// form the dossier holds (the pipeline's `[catalog.forms]`), or of
        /// the listed name its application's subject line (V/v) gives.
        ProcedureFromForm = "procedure_from_form",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_and_write_as_the_manifest_strings() {
        let flags: Vec<PageFlag> = serde_json::from_str(r#"["low_dpi","a_flag_from_elsewhere"]"#).unwrap();
        assert_eq!(flags, [PageFlag::LowDpi, PageFlag::Other("a_flag_from_elsewhere".into())]);
        assert_eq!(serde_json::to_string(&flags).unwrap(), r#"["low_dpi","a_flag_from_elsewhere"]"#);
        let mut f = vec![FieldFlag::UnknownProvinceCode, FieldFlag::Conflict, FieldFlag::InvalidDate];
        f.sort();
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"["conflict","invalid_date","unknown_province_code"]"#);
    }
}
