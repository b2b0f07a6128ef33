//! The lists clerks open in Excel: CSVs with a UTF-8 BOM, and `.xlsx` copies
//! beside them, because a CSV
//! double-clicked in Excel loses the leading zero of every ID and phone number
//! (036184001234 becomes 36184001234) and may evaluate text that looks like a
//! formula. Here every cell is a text cell, so IDs, phones and codes keep
//! their digits and OCR text that starts with `=` stays text; the header row
//! is frozen and filterable. It exists apart from the CSV writers because
//! the xlsx format (rust_xlsxwriter) is the only thing it knows.

use crate::error::RunError;
use crate::fsutil::write_atomic;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

/// The byte order mark that makes Excel read a CSV as UTF-8 (without it,
/// "Nguyễn" shows as "Nguyá»…n" on a Vietnamese Windows PC).
pub const BOM: &str = "\u{FEFF}";

/// A CSV cell: quoted when needed, and never read as a formula by a
/// spreadsheet (OCR text can start with `=`).
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A CSV file for Excel: the BOM, the header, the rows.
pub(crate) fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("{BOM}{}", csv_row(header));
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        s.push_str(&csv_row(&cells));
    }
    s
}

pub(crate) fn csv_row(cells: &[&str]) -> String {
    let mut r = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    r.push_str("\r\n");
    r
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
        assert_eq!(csv_cell("Xóm 3, xã Xuân Ninh"), "\"Xóm 3, xã Xuân Ninh\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
