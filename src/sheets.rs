//! The lists clerks open in Excel: CSVs with a UTF-8 BOM, and `.xlsx` copies
//! beside them, because a CSV
//! double-clicked in Excel loses the leading zero of every ID and phone number
//! (036184001234 becomes 36184001234) and may evaluate text that looks like a
//! formula. Here every cell is a text cell, so IDs, phones and codes keep
//! their digits and OCR text that starts with `=` stays text; the header row
//! is frozen and filterable. It exists so that both list formats (CSV by
//! the `csv` crate, xlsx by rust_xlsxwriter) are written one way for the
//! portal's lists and the report's table.

use crate::error::RunError;
use crate::fsutil::write_atomic;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

/// The byte order mark that makes Excel read a CSV as UTF-8 (without it,
/// "Nguyễn" shows as "Nguyá»…n" on a Vietnamese Windows PC).
pub(crate) const BOM: &str = "\u{FEFF}";

/// A CSV cell's text, never read as a formula by a spreadsheet (OCR text
/// can start with `=`): such text gets a leading `'`.
fn defused(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// A CSV file for Excel: the BOM, the header, the rows (CRLF line ends,
/// quoting by the `csv` crate, cells defused).
pub(crate) fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(BOM.as_bytes().to_vec());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(header.iter().map(|h| defused(h).into_owned()));
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| defused(c).into_owned()));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// One sheet of a workbook: its name, header and rows of text.
pub(crate) struct Sheet<'a> {
    pub name: &'a str,
    pub header: &'a [&'a str],
    pub rows: &'a [Vec<String>],
}

/// Writes `path` (atomically) with one worksheet per `Sheet`.
pub(crate) fn write(path: &Path, sheets: &[Sheet]) -> Result<(), RunError> {
    let fail = |e: String| RunError::Output { path: path.to_path_buf(), source: std::io::Error::other(e) };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for s in sheets {
        let ws = book.add_worksheet();
        ws.set_name(s.name).map_err(|e| fail(e.to_string()))?;
        let mut widths: Vec<usize> = s.header.iter().map(|h| h.chars().count()).collect();
        for (c, h) in s.header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(|e| fail(e.to_string()))?;
        }
        for (r, row) in s.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                // Excel's limit for one cell; longer text is cut, not refused.
                let cell: String = cell.chars().take(32_767).collect();
                ws.write_string((r + 1) as u32, c as u16, &cell).map_err(|e| fail(e.to_string()))?;
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w).clamp(8, 60) as f64 + 2.0).map_err(|e| fail(e.to_string()))?;
        }
        ws.set_freeze_panes(1, 0).map_err(|e| fail(e.to_string()))?;
        let last_col = s.header.len().saturating_sub(1) as u16;
        ws.autofilter(0, 0, s.rows.len() as u32, last_col).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = book.save_to_buffer().map_err(|e| fail(e.to_string()))?;
    write_atomic(path, &bytes).map_err(|e| RunError::Output { path: path.to_path_buf(), source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let text = csv_text(&["a", "b"], &[vec!["Xóm 3, xã Xuân Ninh".into(), "=HYPERLINK(\"x\")".into()]]);
        assert_eq!(text, "\u{FEFF}a,b\r\n\"Xóm 3, xã Xuân Ninh\",\"'=HYPERLINK(\"\"x\"\")\"\r\n");
        let text = csv_text(&["x"], &[vec!["plain".into()], vec!["dòng 1\ndòng 2".into()]]);
        assert_eq!(text, "\u{FEFF}x\r\nplain\r\n\"dòng 1\ndòng 2\"\r\n");
    }
}
