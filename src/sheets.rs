//! The lists clerks open in Excel, as `.xlsx` beside their CSVs: a CSV
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
