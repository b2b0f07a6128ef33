//! Ruled tables. Tesseract's layout analysis reads the text of a ruled
//! table's wide cells but leaves the short ones unread or reads them with
//! the rules beside them: the scores and row numbers of a school's marking
//! table (real-dev 07: "15", "5", "1." not in the text at all; 06: "5" read
//! "Š", "10" read "Ío"), although a person reads them first. A table is
//! found on the raster read by its rules (long horizontal and vertical ink
//! runs), its cells are the areas the rules close in, and the table is read
//! again with its rules whited out as one block of lines; [`crate::reading`]
//! then takes that reading for a cell the page read doubtfully (empty, or
//! with an unsure or implausible word) when it is sure and holds more
//! plausible text.
//! Reading each cell on its own raster was tried and dropped: a lone "1."
//! or "2." in a cell, with no line around it to size it by, came back as
//! "là" and "Ti".

use crate::raster::Gray;

/// A ruled table on a raster: its cells and the raster of its area with the
/// rules whited out.
pub(crate) struct Table {
    /// Cells, in raster pixels: left, top, right, bottom (rules excluded).
    pub(crate) cells: Vec<[u32; 4]>,
    /// The cells' area, rules whited out.
    pub(crate) unruled: Gray,
    /// Where `unruled`'s corner lies in the raster.
    pub(crate) origin: (u32, u32),
}

/// A rule is at least this share of the page's width (horizontal) ...
const H_RULE_SHARE: usize = 30;
/// ... or of its height (vertical); a tall letter's stem is shorter.
const V_RULE_SHARE: usize = 60;
/// Cells are traced on blocks of this many pixels a side, a block with any
/// rule pixel in it being rule: the tracing then costs a sixteenth.
const BLOCK: usize = 4;
/// Rules are whited out this far around them: a rule's gray fringe read
/// as a letter's stroke is the junk this is for.
const FRINGE: usize = 4;

/// A run of ink long enough to be a rule: left, top, right, bottom
/// (inclusive), in raster pixels.
type Run = [usize; 4];

/// The ruled table of a page raster at `dpi`, if it has one: two cells or
/// more.
pub(crate) fn find(g: &Gray, dpi: f32) -> Option<Table> {
    let (w, h) = (g.width as usize, g.height as usize);
    if w < 200 || h < 200 || g.data.len() != w * h {
        return None;
    }
    let (rows, cols) = rule_runs(g, crate::raster::rule_level(g));
    // A box needs two rules each way, and a rule is a run a row (or a
    // column) thick.
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    let runs: Vec<Run> = rows.into_iter().chain(cols).collect();
    let cells = cells(&runs, w, h, dpi);
    if cells.len() < 2 {
        return None;
    }
    let x0 = cells.iter().map(|c| c[0]).min()?;
    let y0 = cells.iter().map(|c| c[1]).min()?;
    let x1 = cells.iter().map(|c| c[2]).max()?;
    let y1 = cells.iter().map(|c| c[3]).max()?;
    let mut unruled = g.crop(x0 as f32, y0 as f32, x1 as f32, y1 as f32)?;
    for r in &runs {
        let f = FRINGE as f32;
        let at = |v: usize, o: u32| v as f32 - o as f32;
        unruled.fill(at(r[0], x0) - f, at(r[1], y0) - f, at(r[2], x0) + 1.0 + f, at(r[3], y0) + 1.0 + f, 255);
    }
    Some(Table { cells, unruled, origin: (x0, y0) })
}

/// The ink runs (pixels darker than `t`) long enough to be rules: a
/// [`H_RULE_SHARE`]th of the width along rows, and a [`V_RULE_SHARE`]th of
/// the height down columns, gaps of two pixels bridged (a scanned rule
/// breaks). One pass over the rows, the columns followed by their state.
fn rule_runs(g: &Gray, t: u8) -> (Vec<Run>, Vec<Run>) {
    let (w, h) = (g.width as usize, g.height as usize);
    let (min_h, min_v) = ((w / H_RULE_SHARE).max(1), (h / V_RULE_SHARE).max(1));
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    // Per column: first and last row of the run going on (MAX: none).
    let mut start = vec![usize::MAX; w];
    let mut end = vec![0usize; w];
    for y in 0..h {
        let row = &g.data[y * w..(y + 1) * w];
        let mut run = (usize::MAX, 0);
        for (x, &v) in row.iter().enumerate() {
            if v >= t {
                continue;
            }
            if run.0 == usize::MAX || x > run.1 + 3 {
                if run.0 != usize::MAX && run.1 + 1 - run.0 >= min_h {
                    rows.push([run.0, y, run.1, y]);
                }
                run.0 = x;
            }
            run.1 = x;
            if start[x] == usize::MAX || y > end[x] + 3 {
                if start[x] != usize::MAX && end[x] + 1 - start[x] >= min_v {
                    cols.push([x, start[x], x, end[x]]);
                }
                start[x] = y;
            }
            end[x] = y;
        }
        if run.0 != usize::MAX && run.1 + 1 - run.0 >= min_h {
            rows.push([run.0, y, run.1, y]);
        }
    }
    for x in 0..w {
        if start[x] != usize::MAX && end[x] + 1 - start[x] >= min_v {
            cols.push([x, start[x], x, end[x]]);
        }
    }
    (rows, cols)
}

/// The areas the rules close in, traced on blocks of [`BLOCK`] pixels:
/// connected rule-free areas that touch no edge of the raster, fill most of
/// their box (a cell is a rectangle), and are neither tiny nor most of the
/// page (a frame around the page). In raster pixels, a block's width
/// inside the rules.
fn cells(runs: &[Run], w: usize, h: usize, dpi: f32) -> Vec<[u32; 4]> {
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let mut rule = vec![false; bw * bh];
    for r in runs {
        for by in r[1] / BLOCK..=r[3] / BLOCK {
            rule[by * bw + r[0] / BLOCK..=by * bw + r[2] / BLOCK].fill(true);
        }
    }
    let min_side = ((dpi / 15.0).max(12.0) as usize).div_ceil(BLOCK);
    let mut seen = rule.clone();
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for first in 0..bw * bh {
        if seen[first] {
            continue;
        }
        seen[first] = true;
        stack.push(first);
        let (mut x0, mut y0, mut x1, mut y1) = (bw, bh, 0, 0);
        let mut area = 0usize;
        while let Some(p) = stack.pop() {
            let (x, y) = (p % bw, p / bw);
            area += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let near = [
                (x > 0).then(|| p - 1),
                (x + 1 < bw).then_some(p + 1),
                (y > 0).then(|| p - bw),
                (y + 1 < bh).then_some(p + bw),
            ];
            for q in near.into_iter().flatten() {
                if !seen[q] {
                    seen[q] = true;
                    stack.push(q);
                }
            }
        }
        let (cw, ch) = (x1 + 1 - x0, y1 + 1 - y0);
        let edge = x0 == 0 || y0 == 0 || x1 + 1 == bw || y1 + 1 == bh;
        let page = cw * 10 > bw * 9 && ch * 2 > bh;
        if edge || page || cw < min_side || ch < min_side || area * 10 < cw * ch * 8 {
            continue;
        }
        let px = |b: usize, n: usize| (b * BLOCK).min(n) as u32;
        out.push([px(x0, w), px(y0, h), px(x1 + 1, w), px(y1 + 1, h)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with a 3 × 2 ruled table, each cell holding an ink blob.
    fn ruled() -> Gray {
        let mut g = Gray::new(900, 1200, 250);
        for y in [300.0, 420.0, 540.0] {
            g.fill(100.0, y, 800.0, y + 3.0, 10);
        }
        for x in [100.0, 300.0, 797.0] {
            g.fill(x, 300.0, x + 3.0, 543.0, 10);
        }
        g.fill(180.0, 350.0, 200.0, 365.0, 0);
        g
    }

    #[test]
    fn finds_the_cells_a_grid_closes_in() {
        let t = find(&ruled(), 300.0).expect("a table");
        assert_eq!(t.cells.len(), 4, "{:?}", t.cells);
        // Each cell lies between its rules, the rules' fringe left out.
        let first = t.cells.iter().min_by_key(|c| (c[1], c[0])).unwrap();
        assert!(first[0] >= 103 && first[0] <= 110 && first[2] <= 300 && first[2] >= 292, "{first:?}");
        // The rules are white in the raster read, the cell's ink is not.
        let (ox, oy) = t.origin;
        let at = |x: u32, y: u32| t.unruled.data[((y - oy) * t.unruled.width + (x - ox)) as usize];
        assert_eq!(at(301, 360), 255);
        assert_eq!(at(190, 360), 0);
    }

    #[test]
    fn text_without_rules_is_no_table() {
        let mut g = Gray::new(900, 1200, 250);
        for i in 0..20 {
            let y = 100.0 + 40.0 * i as f32;
            for j in 0..30 {
                let x = 100.0 + 22.0 * j as f32;
                g.fill(x, y, x + 12.0, y + 25.0, 0);
            }
        }
        assert!(find(&g, 300.0).is_none());
        // One box (a framed title) is no table either.
        g.fill(50.0, 900.0, 850.0, 903.0, 0);
        g.fill(50.0, 1000.0, 850.0, 1003.0, 0);
        g.fill(50.0, 900.0, 53.0, 1003.0, 0);
        g.fill(847.0, 900.0, 850.0, 1003.0, 0);
        assert!(find(&g, 300.0).is_none());
    }
}
