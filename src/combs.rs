//! Boxed digits: the comb fields of printed forms, such as the twelve boxes
//! of a citizen's ID number on the CT01 residence form. Tesseract reads a
//! row of boxes as rules and letters ("lo 7 9 4 E 9 ME [o ]"), since the box
//! borders stand as close to the digits as their own strokes, and the label
//! beside the comb is sometimes lost with it. A comb is found on the raster
//! read (two long horizontal rules with evenly spaced verticals between them,
//! six cells or more, the rules ending at the first and last box) and read
//! apart: the ink of its cells set side by side on clean paper, read as one
//! line, and taken in place of the words read inside the comb only when it
//! gives one digit per filled cell. An empty comb's words are dropped (its
//! rules read as junk). Whiting combs out before reading the page was tried
//! and dropped: it changed how Tesseract laid out the rest of a photographed
//! form and lost more words than the comb gave (real-dev 10: 0.925 → 0.918).

use crate::raster::{otsu, Gray};

/// A row of boxes, in raster pixels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Comb {
    /// The outer box: left, top, right, bottom (rules included).
    pub(crate) outer: [u32; 4],
    /// Rows inside the rules.
    inner_y: (u32, u32),
    /// Columns inside each cell, left to right.
    cells: Vec<(u32, u32)>,
}

/// Fewest cells a comb has (a date has 8, an ID 12, a tax code 10).
const MIN_CELLS: usize = 6;

/// The combs of a page raster.
pub(crate) fn find(g: &Gray) -> Vec<Comb> {
    let (w, h) = (g.width as usize, g.height as usize);
    if w < 100 || h < 100 || g.data.len() != w * h {
        return Vec::new();
    }
    let t = crate::raster::rule_level(g);
    // A rule not quite level (a photo's perspective) breaks into pieces
    // a row apart: pieces of a thirtieth of the page are joined, and a rule
    // is kept when it spans a tenth.
    let min_run = w / 30;
    // Long dark runs, row by row (gaps of 2 pixels bridged: a photographed
    // rule breaks), grouped into rules over neighbouring rows.
    let mut rules: Vec<Rule> = Vec::new();
    for y in 0..h {
        let row = &g.data[y * w..(y + 1) * w];
        let mut x = 0;
        while x < w {
            if row[x] >= t {
                x += 1;
                continue;
            }
            let start = x;
            let mut end = x;
            while x < w && (row[x] < t || (x + 2 < w && (row[x + 1] < t || row[x + 2] < t))) {
                if row[x] < t {
                    end = x;
                }
                x += 1;
            }
            if end + 1 - start >= min_run {
                add_run(&mut rules, y, start, end);
            }
            x = x.max(end + 1);
        }
    }
    rules.retain(|r| r.y1 - r.y0 <= h / 100 + 4 && r.x1 - r.x0 >= w / 10);
    let mut combs: Vec<Comb> = Vec::new();
    for (i, top) in rules.iter().enumerate() {
        for bottom in &rules[i + 1..] {
            if let Some(c) = comb_between(g, t, top, bottom) {
                if !combs.iter().any(|o| crate::model::overlaps(&o.outer, &c.outer)) {
                    combs.push(c);
                }
            }
        }
    }
    combs
}

#[derive(Debug)]
struct Rule {
    y0: usize,
    y1: usize,
    x0: usize,
    x1: usize,
    /// The columns its last row's runs span: a run joins a rule next to
    /// where the rule last was, not anywhere along all it has swallowed (a
    /// photo's dark table, dark in every row, would take in every rule).
    last: (usize, usize),
}

fn add_run(rules: &mut Vec<Rule>, y: usize, x0: usize, x1: usize) {
    let len = x1 - x0;
    for r in rules.iter_mut().rev() {
        if y > r.y1 + 2 {
            break;
        }
        // A rule that is not quite level steps down a row now and then.
        let (lx0, lx1) = r.last;
        let overlap = x1.min(lx1).saturating_sub(x0.max(lx0));
        let touching = x0 <= lx1 + 20 && lx0 <= x1 + 20;
        if overlap * 2 >= len.min(lx1 - lx0) || touching {
            r.last = if r.y1 == y { (lx0.min(x0), lx1.max(x1)) } else { (x0, x1) };
            r.y1 = y;
            r.x0 = r.x0.min(x0);
            r.x1 = r.x1.max(x1);
            return;
        }
    }
    rules.push(Rule { y0: y, y1: y, x0, x1, last: (x0, x1) });
}

/// The comb whose top and bottom rules these are, if they are one.
fn comb_between(g: &Gray, t: u8, top: &Rule, bottom: &Rule) -> Option<Comb> {
    let w = g.width as usize;
    let (y0, y1) = (top.y1 + 2, bottom.y0.checked_sub(2)?);
    let band = y1.checked_sub(y0)? + 1;
    let (x0, x1) = (top.x0.max(bottom.x0), top.x1.min(bottom.x1));
    let (la, lb) = (top.x1 - top.x0, bottom.x1 - bottom.x0);
    if band < 12 || band > w / 12 || x1 <= x0 || (x1 - x0) * 10 < la.max(lb) * 8 {
        return None;
    }
    // Columns dark over most of the band: the verticals.
    // (A column with its neighbours: a vertical not quite upright, or
    // thinner than the blur, wanders by a pixel.)
    let dark_at = |x: usize, y: usize| (x.saturating_sub(1)..=(x + 1).min(w - 1)).any(|x| g.data[y * w + x] < t);
    let dark_col = |x: usize| (y0..=y1).filter(|&y| dark_at(x, y)).count() * 10 >= band * 7;
    let mut seps: Vec<(usize, usize)> = Vec::new();
    for x in top.x0.min(bottom.x0).saturating_sub(3)..(top.x1.max(bottom.x1) + 4).min(w) {
        if dark_col(x) {
            match seps.last_mut() {
                Some(s) if s.1 + 1 >= x => s.1 = x,
                _ => seps.push((x, x)),
            }
        }
    }
    if seps.len() < MIN_CELLS + 1 || seps.iter().any(|s| s.1 - s.0 > band / 4 + 2) {
        return None;
    }
    let centres: Vec<f32> = seps.iter().map(|s| (s.0 + s.1) as f32 / 2.0).collect();
    let gaps: Vec<f32> = centres.windows(2).map(|p| p[1] - p[0]).collect();
    let mut sorted = gaps.clone();
    sorted.sort_by(f32::total_cmp);
    let m = sorted[sorted.len() / 2];
    let even = gaps.iter().all(|&d| d >= 0.8 * m && d <= 1.2 * m);
    if !even || m < 0.5 * band as f32 || m > 2.0 * band as f32 {
        return None;
    }
    // The rules run on past the last vertical found: a box was missed, and
    // a comb read short would give a wrong number.
    let (first, last) = (centres[0], centres[centres.len() - 1]);
    if (x0 as f32) < first - m / 2.0 || (x1 as f32) > last + m / 2.0 {
        return None;
    }
    let margin = ((m / 12.0) as usize).max(2);
    let cells = seps.windows(2).map(|p| ((p[0].1 + 1 + margin) as u32, (p[1].0 - margin) as u32)).collect();
    Some(Comb {
        outer: [seps[0].0 as u32, top.y0 as u32, seps[seps.len() - 1].1 as u32 + 1, bottom.y1 as u32 + 1],
        inner_y: ((y0 + margin) as u32, (y1 - margin.min(y1 - y0)) as u32),
        cells,
    })
}

/// The ink of the comb's filled cells side by side on white paper, each
/// glyph a small gap from the next, and how many cells were filled; None
/// when every cell is empty.
pub(crate) fn strip(g: &Gray, c: &Comb) -> Option<(Gray, usize)> {
    let w = g.width as usize;
    let (y0, y1) = (c.inner_y.0 as usize, c.inner_y.1 as usize);
    let band = y1.checked_sub(y0)? + 1;
    // Paper and ink as the cells show them (a dim photo's paper is gray);
    // Otsu's class of ink is its level and below.
    let inside = |&(a, b): &(u32, u32)| {
        (y0..=y1).flat_map(move |y| (a as usize..=(b as usize).min(w - 1)).map(move |x| y * w + x))
    };
    let hist = crate::raster::histogram_of(c.cells.iter().flat_map(inside).map(|i| g.data[i]));
    let total: u64 = hist.iter().sum();
    let paper = u32::from(crate::raster::nth_level(&hist, total / 2)).max(1);
    // Ink is clearly darker than the paper: in an empty comb Otsu splits
    // the paper's own grain.
    let t = otsu(&hist).saturating_add(1).min((paper * 65 / 100) as u8);
    // Each filled cell's ink columns.
    let mut glyphs: Vec<(usize, usize)> = Vec::new();
    for &(cx0, cx1) in &c.cells {
        let ink: Vec<usize> =
            (cx0 as usize..=(cx1 as usize).min(w - 1)).filter(|&x| (y0..=y1).any(|y| g.data[y * w + x] < t)).collect();
        let rows: Vec<usize> = (y0..=y1).filter(|&y| ink.iter().any(|&x| g.data[y * w + x] < t)).collect();
        let dark: usize = ink.iter().map(|&x| (y0..=y1).filter(|&y| g.data[y * w + x] < t).count()).sum();
        // A speck or the edge of a rule is not a digit: a digit stands a
        // third of the box high and has some ink.
        let tall = rows.last().zip(rows.first()).is_some_and(|(b, a)| (b - a + 1) * 3 >= band);
        if tall && dark >= band {
            glyphs.push((ink[0], ink[ink.len() - 1]));
        }
    }
    if glyphs.is_empty() {
        return None;
    }
    let (gap, pad) = (band / 6 + 1, band / 2);
    let width = glyphs.iter().map(|(a, b)| b - a + 1).sum::<usize>() + gap * (glyphs.len() - 1) + 2 * pad;
    let height = band + 2 * pad;
    let mut out = Gray::new(width as u32, height as u32, 255);
    let mut x = pad;
    for &(a, b) in &glyphs {
        for y in y0..=y1 {
            let src = &g.data[y * w + a..=y * w + b];
            let dst = (y - y0 + pad) * width + x;
            for (o, &v) in out.data[dst..dst + src.len()].iter_mut().zip(src) {
                *o = (u32::from(v) * 255 / paper).min(255) as u8;
            }
        }
        x += b - a + 1 + gap;
    }
    Some((out, glyphs.len()))
}

/// The digits read from a comb's strip, kept only as one digit per filled
/// cell.
pub(crate) fn digits(text: &str, filled: usize) -> Option<String> {
    let d: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (d.chars().count() == filled && d.chars().all(|c| c.is_ascii_digit())).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with a label's worth of ink and a comb of `n` cells of 40 px,
    /// `digit` drawn as a bar in the filled ones.
    fn page_with_comb(n: u32, filled: &[bool]) -> Gray {
        let (w, h) = (1200u32, 400u32);
        let mut g = Gray::new(w, h, 235);
        let mut dark = |x: u32, y: u32| g.data[(y * w + x) as usize] = 20;
        let (left, top, cell, high) = (300u32, 150u32, 40u32, 44u32);
        for x in left..=left + n * cell {
            for t in 0..3 {
                dark(x, top + t);
                dark(x, top + high + t);
            }
        }
        for k in 0..=n {
            for y in top..top + high + 3 {
                for t in 0..3 {
                    dark(left + k * cell + t, y);
                }
            }
        }
        for (k, &f) in filled.iter().enumerate() {
            if f {
                let x = left + k as u32 * cell + 17;
                for y in top + 12..top + 34 {
                    for t in 0..4 {
                        dark(x + t, y);
                    }
                }
            }
        }
        // Some text to the left: short marks, no rule.
        for x in (40..260).step_by(9) {
            for y in 160..180 {
                dark(x, y);
            }
        }
        g
    }

    #[test]
    fn a_row_of_even_boxes_is_a_comb_and_its_filled_cells_are_read_apart() {
        let mut filled = vec![true; 12];
        filled[11] = false;
        let g = page_with_comb(12, &filled);
        let combs = find(&g);
        assert_eq!(combs.len(), 1, "{combs:?}");
        let c = &combs[0];
        assert_eq!(c.cells.len(), 12);
        assert!(c.outer[0] <= 300 && c.outer[2] >= 780 && c.outer[1] <= 150 && c.outer[3] >= 196, "{:?}", c.outer);
        let (s, n) = strip(&g, c).expect("filled cells");
        assert_eq!(n, 11);
        assert!(s.width < 11 * 40, "the glyphs are set closer than the boxes: {}", s.width);
    }

    #[test]
    fn a_dark_table_beside_the_paper_does_not_swallow_the_rules() {
        // A photographed form on a dark table: the table shows above the
        // paper across the whole photo and beside it in every row.
        let mut g = page_with_comb(12, &[true; 12]);
        for y in 0..400 {
            for x in (0..1200).filter(|&x| y < 30 || !(120..1080).contains(&x)) {
                g.data[y * 1200 + x] = 40;
            }
        }
        let combs = find(&g);
        assert_eq!(combs.len(), 1, "{combs:?}");
        assert_eq!(combs[0].cells.len(), 12);
    }

    #[test]
    fn an_empty_comb_gives_no_strip_and_too_few_or_uneven_boxes_are_no_comb() {
        let g = page_with_comb(12, &[]);
        let combs = find(&g);
        assert_eq!(combs.len(), 1);
        assert!(strip(&g, &combs[0]).is_none());
        assert!(find(&page_with_comb(4, &[])).is_empty(), "four boxes are a table, not a comb");
        // A table row: cells of uneven widths.
        let mut t = Gray::new(1200, 400, 235);
        let xs = [100u32, 180, 420, 470, 700, 760, 1000, 1100];
        for x in 100..=1100 {
            for d in 0..3 {
                t.data[((150 + d) * 1200 + x) as usize] = 20;
                t.data[((194 + d) * 1200 + x) as usize] = 20;
            }
        }
        for &x in &xs {
            for y in 150..197 {
                t.data[(y * 1200 + x) as usize] = 20;
            }
        }
        assert!(find(&t).is_empty());
    }

    #[test]
    fn a_reading_counts_only_as_one_digit_per_filled_cell() {
        assert_eq!(digits("079422096902", 12).as_deref(), Some("079422096902"));
        assert_eq!(digits("0794 2209 6902", 12).as_deref(), Some("079422096902"));
        assert_eq!(digits("07942209690", 12), None);
        assert_eq!(digits("0794E2096902", 12), None);
    }
}
