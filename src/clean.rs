//! The raster Tesseract reads, made readable. A page's archive copy keeps the
//! scanner's bytes; this module only builds the gray images recognition is
//! tried on: the page brought to the text size Tesseract reads best, and the
//! cleaned versions of a worn page (background flattened, then adaptively
//! binarized and despeckled). Which of them is kept is decided per page by
//! `reading`, from recognition evidence: cleaning that helps a photocopy can
//! ruin a clean scan, so nothing here is applied blindly.

use crate::lept::Pix;
use crate::raster::{histogram_of, max_filter, nth_level, Gray};

/// Pages are recognized at least at this resolution: real 150-200 dpi
/// scans read better enlarged to it (see BENCHMARKS.md).
pub(crate) const OCR_DPI: f32 = 300.0;

/// How a page's recognition raster was cleaned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cleaning {
    /// The page as scanned (turned, levelled, maybe enlarged).
    None,
    /// Background flattened to white, contrast stretched.
    Normalized,
    /// Background flattened, then Sauvola binarization and despeckling.
    Binarized,
    /// The faint grays of print showing through from the back of the
    /// sheet lifted to paper ([`lift`]).
    Lifted,
    /// Background flattened ([`normalize`]), then its faint grays lifted to
    /// paper ([`lift`]): a photo in shade or showing its back through.
    NormalizedLifted,
    /// A bilevel page with its letters' edges softened to gray
    /// ([`soften`]).
    Softened,
    /// Binarized, then its bent lines straightened ([`dewarp`]), one
    /// shift per column.
    Dewarped,
    /// Binarized, then its lines straightened in [`DEWARP_BANDS`] bands of
    /// rows (lines fanning out on a photo taken at a slant).
    DewarpedInBands,
    /// Dark marks with no sharp edge near them (a copier's blurred ghost
    /// of another sheet) lifted to paper ([`lift_blurred`]).
    BlurLifted,
}

impl Cleaning {
    /// The page flag the manifest records, if any.
    pub(crate) fn flag(self) -> Option<crate::flags::PageFlag> {
        match self {
            Cleaning::None => None,
            Cleaning::Binarized => Some(crate::flags::PageFlag::Binarized),
            Cleaning::Normalized | Cleaning::NormalizedLifted => Some(crate::flags::PageFlag::Cleaned),
            Cleaning::Lifted => Some(crate::flags::PageFlag::ShowThrough),
            Cleaning::Softened => Some(crate::flags::PageFlag::Softened),
            Cleaning::Dewarped | Cleaning::DewarpedInBands => Some(crate::flags::PageFlag::Dewarped),
            Cleaning::BlurLifted => Some(crate::flags::PageFlag::BlurredMarksLifted),
        }
    }
}

/// Pages under this resolution are enlarged before reading. Enlarging pages
/// of 150 to 200 dpi made real-dev read worse (recall 0.935 → 0.909), so only
/// pages too coarse for Tesseract's line finder are.
const UPSCALE_BELOW_DPI: f32 = 120.0;

/// The factor that brings a page of `dpi` to [`OCR_DPI`] when it is under
/// [`UPSCALE_BELOW_DPI`]; otherwise 1.
pub(crate) fn upscale_factor(dpi: f32) -> f32 {
    if dpi >= UPSCALE_BELOW_DPI {
        1.0
    } else {
        (OCR_DPI / dpi).min(4.0)
    }
}

/// The paper's level of a page (or part of one) whose levels `hist` counts:
/// their 90th percentile.
fn paper_level(hist: &[u64; 256]) -> u8 {
    nth_level(hist, hist.iter().sum::<u64>() * 9 / 10)
}

/// The level of its darkest ink: the 1st percentile of its levels.
fn ink_level(hist: &[u64; 256]) -> u8 {
    nth_level(hist, hist.iter().sum::<u64>() / 100)
}

/// How far a blurred page's strokes are sharpened once enlarged
/// ([`upscale`]): the half-width of the mean each pixel is set against, in
/// pixels of the page before it was enlarged, and how much of the
/// difference is added.
const UPSCALE_SHARPEN_HALF: f32 = 1.5;
const UPSCALE_SHARPEN: f32 = 1.0;

/// A coarse page whose edges are less steep than this ([`edge_steepness`])
/// is blurred, and sharpened once enlarged. A 576×960 JPEG of a letter
/// (76 dpi) measures 0.75-0.96 as sent, and 0.41-0.42 out of focus;
/// real-dev's pages cut to 960 px measure 0.68-0.91 (0.68: a phone photo),
/// and 0.16-0.36 blurred by a Gaussian of 1.2 px.
pub(crate) const SOFT_EDGES: f32 = 0.55;

/// `g` enlarged by `factor`, its strokes sharpened when `sharpen`, or None
/// when Leptonica cannot. Leptonica enlarges by linear interpolation, which
/// leaves a blurred page's letters softer still: their tone marks run into
/// the letters ("và đào" read "vả đảo", "dịch" read "địch"). Sharpened, an
/// out-of-focus copy of a 576×960 JPEG of a Đà Nẵng letter read 0.747 →
/// 0.845 recall with the `tesseract` CLI and 0.772 → 0.857 through sohoa;
/// real-dev's pages cut to 960 px and blurred, 0.400 → 0.527. Half-widths
/// of 1.5 to 2.5 source pixels and amounts of 1 to 1.5 read alike; under 1
/// pixel gained half as much. Pages that are not blurred are not sharpened:
/// through sohoa the JPEG as sent read 0.961 → 0.941, its tone marks
/// thickened.
pub(crate) fn upscale(g: &Gray, factor: f32, sharpen: bool) -> Option<Gray> {
    let big = Pix::from_gray(g)?.scale(factor)?.to_gray8()?;
    let big = if sharpen { big.unsharp((UPSCALE_SHARPEN_HALF * factor).round() as i32, UPSCALE_SHARPEN)? } else { big };
    big.to_gray()
}

/// How steep the page's edges are: the step between neighbouring pixels
/// that only a two-hundredth of steps exceed, as a share of the page's
/// contrast (its 90th against its 1st percentile of gray). On a coarse page
/// a letter's edge is one or two pixels wide, so a sharp page's steepest
/// steps span most of its contrast, and a blurred page's under half of it.
pub(crate) fn edge_steepness(g: &Gray) -> f32 {
    let (w, h) = (g.width as usize, g.height as usize);
    if w < 2 || h < 2 {
        return 1.0;
    }
    let mut steps = [0u64; 256];
    let rows = || g.data.chunks_exact(w);
    for row in rows() {
        for pair in row.windows(2) {
            steps[pair[0].abs_diff(pair[1]) as usize] += 1;
        }
    }
    for (above, below) in rows().zip(rows().skip(1)) {
        for (a, b) in above.iter().zip(below) {
            steps[a.abs_diff(*b) as usize] += 1;
        }
    }
    let levels = g.histogram();
    let contrast = f32::from(paper_level(&levels)) - f32::from(ink_level(&levels));
    if contrast < 1.0 {
        return 1.0;
    }
    let n_steps: u64 = steps.iter().sum();
    f32::from(nth_level(&steps, n_steps - n_steps / 200)) / contrast
}

/// Bilevel pages from this resolution up are also read softened
/// ([`soften`]). At 200 dpi a 3×3 mean blurs tone marks together: read
/// softened whatever they gave, real-dev's two G4 scans lost them (Ủy →
/// Uy, sổ → sô; CER 0.067 → 0.081, 0.162 → 0.193), and
/// `bench/real-copies bilevel` (200 dpi) read 0.933 → 0.928 recall.
pub(crate) const SOFTEN_FROM_DPI: f32 = 250.0;

/// A bilevel page (a fax, a G4 scan: every pixel black or white) with its
/// letters' edges softened to gray, as a scanner's gray image has them, or
/// None when the page is not bilevel. Tesseract reads the hard staircase
/// edges of a bilevel image worse: ocrmypdf-resources' `linn.png` (300
/// dpi) recall 0.884 → 0.912 with a 3×3 mean, 0.906 with a Gaussian of
/// 0.7 px, 0.899 as `pdftoppm` renders it.
pub(crate) fn soften(g: &Gray) -> Option<Gray> {
    if !is_bilevel(g) {
        return None;
    }
    Pix::from_gray(g)?.blur(1)?.to_gray()
}

/// Whether every pixel of the page is one of two levels (black or white).
pub(crate) fn is_bilevel(g: &Gray) -> bool {
    g.histogram().iter().filter(|&&n| n > 0).count() == 2
}

/// How unevenly lit the paper is: the page cut in 8 × 10 tiles (its outer
/// twentieth left out: scanner lids and desks), each tile's paper level (the
/// 90th percentile of a sample of its pixels), and the spread between the
/// lighter and darker tenth of those levels. Every scan of real-dev and
/// corpus-dev spreads under 5, phone photos 42-58, photocopy-dev's copy
/// shaded from one side (a copier's lamp) 89: there Tesseract's own
/// threshold loses the shaded text.
pub(crate) fn background_spread(g: &Gray) -> u8 {
    let (w, h) = (g.width as usize, g.height as usize);
    if w < 80 || h < 100 {
        return 0;
    }
    let (x0, x1, y0, y1) = (w / 20, w - w / 20, h / 20, h - h / 20);
    let (cols, rows) = (8, 10);
    let mut levels: Vec<u8> = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        for c in 0..cols {
            let (tx0, tx1) = (x0 + (x1 - x0) * c / cols, x0 + (x1 - x0) * (c + 1) / cols);
            let (ty0, ty1) = (y0 + (y1 - y0) * r / rows, y0 + (y1 - y0) * (r + 1) / rows);
            let sample =
                (ty0..ty1).step_by(4).flat_map(|y| g.data[y * w + tx0..y * w + tx1].iter().step_by(4).copied());
            let hist = histogram_of(sample);
            if hist.iter().sum::<u64>() == 0 {
                continue;
            }
            levels.push(paper_level(&hist));
        }
    }
    if levels.len() < 10 {
        return 0;
    }
    levels.sort_unstable();
    let n = levels.len();
    levels[n - 1 - n / 10] - levels[n / 10]
}

/// Background flattened, then levels stretched so that the paper is white
/// and the darkest ink black: faint toner on a gray photocopy becomes print.
pub(crate) fn normalize(g: &Gray) -> Option<Gray> {
    let mut g = g.clone();
    flatten_streaks(&mut g);
    let mut flat = Pix::from_gray(&g)?.background_norm()?.to_gray()?;
    stretch(&mut flat);
    Some(flat)
}

/// Streaks a copier's drum or a fax draws across the whole page: each row
/// (then each column) is divided by its own paper level, the 60th
/// percentile of its pixels (text covers far less of a row than that).
/// The columns' histograms are gathered row by row and each row or column
/// is mapped through a table: walking the page by column had made this
/// half of the analysis copy's cost.
fn flatten_streaks(g: &mut Gray) {
    let (w, h) = (g.width as usize, g.height as usize);
    if w < 8 || h < 8 || g.data.len() != w * h {
        return;
    }
    let level = |hist: &[u64; 256], n: usize| nth_level(hist, (n * 6 / 10) as u64).max(32) as u32;
    let divide_by = |bg: u32| -> [u8; 256] { std::array::from_fn(|v| ((v as u32 * 255) / bg).min(255) as u8) };
    for row in g.data.chunks_exact_mut(w) {
        let map = divide_by(level(&crate::raster::histogram_of_slice(row), w));
        row.iter_mut().for_each(|v| *v = map[*v as usize]);
    }
    // Counted level by column (`counts[level * w + x]`): a row of paper
    // then counts into one run of memory, not into a table per column.
    let mut counts = vec![0u32; w * 256];
    for row in g.data.chunks_exact(w) {
        for (x, &v) in row.iter().enumerate() {
            counts[v as usize * w + x] += 1;
        }
    }
    let maps: Vec<[u8; 256]> =
        (0..w).map(|x| divide_by(level(&std::array::from_fn(|v| u64::from(counts[v * w + x])), h))).collect();
    for row in g.data.chunks_exact_mut(w) {
        for (v, map) in row.iter_mut().zip(&maps) {
            *v = map[*v as usize];
        }
    }
}

/// Maps the paper level (the median: most of a page is paper) to white and
/// the 1st percentile (ink) to black, linearly.
fn stretch(g: &mut Gray) {
    let hist = g.histogram();
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return;
    }
    // The level at or under which `share` of the pixels lie.
    let level = |share: f64| nth_level(&hist, ((share * total as f64).ceil() as u64).saturating_sub(1)) as i32;
    let (lo, hi) = (level(0.01), level(0.5));
    if hi - lo < 16 {
        return;
    }
    stretch_between(g, lo, hi);
}

/// Maps level `lo` and under to black, `hi` and over to white, and the
/// levels between linearly. `lo < hi`.
fn stretch_between(g: &mut Gray, lo: i32, hi: i32) {
    let map: [u8; 256] = std::array::from_fn(|v| ((v as i32 - lo) * 255 / (hi - lo)).clamp(0, 255) as u8);
    for v in &mut g.data {
        *v = map[*v as usize];
    }
}

/// How far under the paper's level a pixel is ink rather than something
/// fainter: print showing through from the back of thin paper, 20% as dark
/// as the front's, stands 40-50 levels under white.
const FAINT_DEPTH: u8 = 80;

/// How far under the paper's level a pixel is no longer paper (a scanner's
/// noise stays within it).
const PAPER_NOISE: u8 = 12;

/// Faint pixels per ink pixel from which a scan shows its back through,
/// counted on the page shrunk to half (2 × 2 averaged: a paper's grain is
/// smoothed away, a stroke is not). On a clean scan the faint pixels are
/// mostly the letters' soft edges: real-dev's scans, and copies of them
/// turned, askew, framed or tinted, hold 0.10-1.16 of them per ink pixel,
/// the same pages with their back showing through at a fifth of its
/// strength (`bench/real-copies bleed`) 1.59-1.86, except bilevel scans,
/// whose letters have no soft edges (0.99-1.02).
const SHOW_THROUGH_FAINT_PER_INK: f64 = 1.2;

/// Faint pixels away from any ink (more than [`NEAR_INK`] pixels of the
/// shrunk page) per ink pixel from which a scan shows its back through
/// whatever its letters' edges: those clean pages hold 0.04-0.59, bilevel
/// scans showing through 0.61-0.82 (some are missed).
const SHOW_THROUGH_APART_PER_INK: f64 = 0.7;

/// The least span from the darkest ink (1st percentile) to the paper's
/// level of a page that may show through: on a faded copy (ink at 110 on
/// paper at 235) the faint pixels are its own letters, which lifting took
/// away (`bench/real-copies faded` 03: recall 0.983 → 0.953).
const SHOW_THROUGH_MIN_CONTRAST: u8 = 160;

/// How near ink (in pixels of the page shrunk to half) a faint pixel is
/// the ink's own edge.
const NEAR_INK: usize = 1;

/// How far under the paper's level [`lift`] makes white.
const LIFT_DEPTH: u8 = 40;

/// Whether a page of good contrast shows faint print beside its ink far
/// more than letters' edges give: the back of thin paper showing through,
/// mirrored. The paper's level is the 90th percentile of the page's levels.
/// Measured on the page shrunk to half, its outer twentieth left out.
/// Highlighted, folded, underexposed and blurred copies also hold such
/// grays and pass; `reading` keeps the lifted reading only where it reads
/// better.
pub(crate) fn shows_through(g: &Gray) -> bool {
    let g = &inner(&g.shrink(2));
    let hist = g.histogram();
    let n: u64 = hist.iter().sum();
    let (w, h) = (g.width as usize, g.height as usize);
    if n == 0 || g.data.len() != w * h {
        return false;
    }
    let paper = paper_level(&hist);
    if paper.saturating_sub(ink_level(&hist)) < SHOW_THROUGH_MIN_CONTRAST {
        return false;
    }
    let (ink_below, faint_below) = (paper.saturating_sub(FAINT_DEPTH), paper.saturating_sub(PAPER_NOISE));
    let ink: u64 = hist[..ink_below as usize].iter().sum();
    let faint: u64 = hist[ink_below as usize..faint_below as usize].iter().sum();
    if ink == 0 {
        return false;
    }
    if faint as f64 >= SHOW_THROUGH_FAINT_PER_INK * ink as f64 {
        return true;
    }
    if (faint as f64) < SHOW_THROUGH_APART_PER_INK * ink as f64 {
        return false;
    }
    // Ink's neighbourhood: each row's ink widened by NEAR_INK, then each
    // column's.
    let mut near = vec![false; w * h];
    for (row, out) in g.data.chunks_exact(w).zip(near.chunks_exact_mut(w)) {
        for (x, _) in row.iter().enumerate().filter(|(_, &v)| v < ink_below) {
            out[x.saturating_sub(NEAR_INK)..(x + NEAR_INK + 1).min(w)].fill(true);
        }
    }
    let mut apart = 0u64;
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(NEAR_INK), (y + NEAR_INK + 1).min(h));
        for x in 0..w {
            let v = g.data[y * w + x];
            if v >= ink_below && v < faint_below && !(y0..y1).any(|yy| near[yy * w + x]) {
                apart += 1;
            }
        }
    }
    apart as f64 >= SHOW_THROUGH_APART_PER_INK * ink as f64
}

/// `g` without its outer twentieth on every side, where a scanner's lid
/// and a sheet's edge leave grays of their own (corpus-dev's 2705 page 1).
fn inner(g: &Gray) -> Gray {
    let (w, h) = (g.width as usize, g.height as usize);
    let (x0, y0) = (w / 20, h / 20);
    let (iw, ih) = (w - 2 * x0, h - 2 * y0);
    let mut out = Gray::new(iw as u32, ih as u32, 255);
    for (y, row) in out.data.chunks_exact_mut(iw.max(1)).enumerate() {
        let start = (y0 + y) * w + x0;
        row.copy_from_slice(&g.data[start..start + iw]);
    }
    out
}

/// The page with every level from [`LIFT_DEPTH`] under its paper's up made
/// white and the darker ones stretched over the whole range: print showing
/// through from the back fades into the paper, and Tesseract's own
/// threshold, no longer pulled up by it, keeps the letters thin and their
/// tone marks apart (`vê` for `về` on a copy showing through).
pub(crate) fn lift(g: &Gray) -> Gray {
    let cut = i32::from(paper_level(&g.histogram()).saturating_sub(LIFT_DEPTH)).max(64);
    let mut out = g.clone();
    stretch_between(&mut out, 0, cut);
    out
}

/// The spread, in pixels, of the blur a sharp edge is measured against in
/// [`lift_blurred`].
const BLUR_SIGMA: f32 = 1.5;
/// A pixel this far from its blurred self, in gray levels, lies on a sharp
/// edge.
const SHARP_EDGE: u8 = 30;
/// How far from a sharp edge, in pixels, a dark pixel is still print.
const EDGE_REACH: usize = 2;
/// Pixels this light or lighter are paper to [`lift_blurred`].
const INK_BELOW: u8 = 200;

/// The page with every dark pixel that has no sharp edge within
/// [`EDGE_REACH`] pixels made white. Printed letters, even worn, have sharp
/// edges; a copier's ghost of another sheet (rows of dark blurred dashes
/// over and between the lines, `photocopy-dev` 4407's second page) has
/// none, and Tesseract reads it as junk and loses the letters it crosses.
/// Letters crossing a ghost keep their edges and stay, where the ghost is
/// light enough to leave them any contrast (as it is for a person).
pub(crate) fn lift_blurred(g: &Gray) -> Gray {
    let (w, h) = (g.width as usize, g.height as usize);
    if w == 0 || h == 0 || g.data.len() != w * h {
        return g.clone();
    }
    let near = max_filter(&sharpness(g, BLUR_SIGMA), w, h, EDGE_REACH);
    let mut out = g.clone();
    for (v, &e) in out.data.iter_mut().zip(&near) {
        if *v < INK_BELOW && e < SHARP_EDGE {
            *v = 255;
        }
    }
    out
}

/// How far each pixel stands, in gray levels, from the page blurred by a
/// Gaussian of `sigma` pixels (three sigmas each side, edges repeated; one
/// pass over rows, one over columns). Kept in bytes: a page of 35 Mpx (A4
/// at 600 dpi) needs about 140 MB here, not 560 in floats.
fn sharpness(g: &Gray, sigma: f32) -> Vec<u8> {
    let (w, h) = (g.width as usize, g.height as usize);
    let r = (3.0 * sigma).ceil() as isize;
    let taps: Vec<f32> = (-r..=r).map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| t / sum).collect();
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    // The rows' blur in 1/256 of a level: rounded to whole levels, it moved
    // photocopy-dev 4407's ghost across the edge threshold (CER 0.169 → 0.245).
    let mut rows = vec![0u16; w * h];
    for (src, dst) in g.data.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        for (x, d) in dst.iter_mut().enumerate() {
            let v: f32 =
                taps.iter().enumerate().map(|(k, t)| t * f32::from(src[clamp(x as isize + k as isize - r, w)])).sum();
            *d = (v * 256.0).round().clamp(0.0, 65535.0) as u16;
        }
    }
    let mut out = vec![0u8; w * h];
    let mut acc = vec![0f32; w];
    for (y, dst) in out.chunks_exact_mut(w).enumerate() {
        acc.fill(0.0);
        for (k, t) in taps.iter().enumerate() {
            let yy = clamp(y as isize + k as isize - r, h);
            for (a, &v) in acc.iter_mut().zip(&rows[yy * w..(yy + 1) * w]) {
                *a += t * f32::from(v) / 256.0;
            }
        }
        // Whole levels down, so that `< SHARP_EDGE` means what it says.
        for ((d, &a), &v) in dst.iter_mut().zip(&acc).zip(&g.data[y * w..(y + 1) * w]) {
            *d = (f32::from(v) - a).abs().floor().min(255.0) as u8;
        }
    }
    out
}

/// Background flattened and levels stretched (as [`normalize`]), then
/// Sauvola-binarized, black blobs of half an inch and more (a copier's
/// shadows) and specks smaller than about 1/100 inch removed; returned
/// as 0/255 gray. `dpi` is `g`'s resolution.
pub(crate) fn binarize(g: &Gray, dpi: f32) -> Option<Gray> {
    let flat = Pix::from_gray(&normalize(g)?)?;
    let half = ((dpi / 300.0) * 25.0).round().max(8.0) as i32;
    let bin = flat.sauvola(half, 0.34)?;
    // Blobs are found on a global threshold, where they are solid; Sauvola
    // leaves only their outline, which the solid mask then removes too.
    let blob = (dpi / 2.0).round() as i32;
    let blobs = flat.threshold(128)?.blobs(blob, blob, 0.4)?;
    let speck = ((dpi / 100.0).round() as i32).max(2);
    bin.minus(&blobs)?.despeckle(speck, speck)?.to_gray8()?.to_gray()
}

/// Columns of a page in which the shift of the lines is measured.
const DEWARP_STRIPS: usize = 24;

/// Bands of rows in which [`dewarp`] measures the columns' shifts apart
/// when asked to, on a page of [`DEWARP_BAND_MIN_ROWS`] rows or more: a
/// page photographed at a slant has its lines fanning out (sloping one way
/// at the top and the other at the bottom), which no single shift per
/// column straightens. A worn copy's curl is the same down the page and is
/// measured worse on a quarter of its faint lines (photocopy-dev's CER
/// 0.2227 → 0.2269 in bands), so it is measured over the whole height.
pub(crate) const DEWARP_BANDS: usize = 4;

/// Pages shorter than this many rows per band are measured as one band.
const DEWARP_BAND_MIN_ROWS: usize = 300;

/// How far the lines of a page stand from straight, and how to straighten
/// them: for each band of rows (centred at `rows`), each pixel column's
/// shift (a pixel at row y of the straightened page was at row y + shift).
#[derive(Clone)]
pub(crate) struct Bend {
    rows: Vec<f32>,
    shifts: Vec<Vec<f32>>,
    /// The largest shift left once the page's own slope (skew) is taken
    /// off, in pixels.
    pub(crate) size: f32,
}

impl Bend {
    /// The shift at column `x`, row `y` of the straightened page: the
    /// bands' shifts taken linearly between their centres.
    pub(crate) fn at(&self, x: usize, y: f32) -> f32 {
        let col = |b: usize| self.shifts[b].get(x.min(self.shifts[b].len().saturating_sub(1))).copied().unwrap_or(0.0);
        let Some(j) = self.rows.iter().position(|&r| r > y) else {
            return col(self.rows.len() - 1);
        };
        if j == 0 {
            return col(0);
        }
        let t = (y - self.rows[j - 1]) / (self.rows[j] - self.rows[j - 1]);
        col(j - 1) * (1.0 - t) + col(j) * t
    }
}

/// Each strip's shift in rows `y0..y1` of binarized `g` (strips of `sw`
/// columns), summed from the inkiest strip, against which its neighbours'
/// row profiles of ink are matched up to `reach` rows either way.
fn strip_shifts(g: &Gray, y0: usize, y1: usize, sw: usize, reach: i64) -> Option<[f32; DEWARP_STRIPS]> {
    let w = g.width as usize;
    let h = y1 - y0;
    // Ink per row in each column, smoothed over 3 rows.
    let profiles: Vec<Vec<f32>> = (0..DEWARP_STRIPS)
        .map(|i| {
            let raw: Vec<f32> = (y0..y1)
                .map(|y| g.data[y * w + i * sw..y * w + (i + 1) * sw].iter().filter(|&&v| v < 128).count() as f32)
                .collect();
            (0..h).map(|y| raw[y.saturating_sub(1)..(y + 2).min(h)].iter().sum()).collect()
        })
        .collect();
    let ink: Vec<f32> = profiles.iter().map(|p| p.iter().sum()).collect();
    let most = ink.iter().copied().fold(0.0, f32::max);
    if most <= 0.0 {
        return None;
    }
    let shift_between = |a: &[f32], b: &[f32]| -> i64 {
        let mut best = (f32::MIN, 0);
        for s in -reach..=reach {
            let score: f32 = (0..h as i64)
                .filter(|&y| y + s >= 0 && y + s < h as i64)
                .map(|y| a[y as usize] * b[(y + s) as usize])
                .sum();
            if score > best.0 {
                best = (score, s);
            }
        }
        best.1
    };
    let ref_i = ink.iter().enumerate().fold(0, |m, (i, &v)| if v > ink[m] { i } else { m });
    let inked = |i: usize| ink[i] >= 0.1 * most;
    let mut shifts = [0i64; DEWARP_STRIPS];
    for i in ref_i + 1..DEWARP_STRIPS {
        shifts[i] =
            shifts[i - 1] + if inked(i) && inked(i - 1) { shift_between(&profiles[i - 1], &profiles[i]) } else { 0 };
    }
    for i in (0..ref_i).rev() {
        shifts[i] =
            shifts[i + 1] - if inked(i) && inked(i + 1) { shift_between(&profiles[i], &profiles[i + 1]) } else { 0 };
    }
    Some(shifts.map(|s| s as f32))
}

/// Straightens the bent lines of a binarized page (a copy curled at its
/// edge, a sheet that waves, a page photographed at a slant): in each band
/// of rows, each narrow column is moved up or down so its lines meet its
/// neighbour's, the shift found by matching the columns' row profiles of
/// ink, in `bands` bands of rows (1 or [`DEWARP_BANDS`]). Returns the page
/// and its [`Bend`]; None when the lines are straight already (no column
/// moves 3 pixels or more from the page's own slope) or cannot be measured.
pub(crate) fn dewarp(g: &Gray, bands: usize) -> Option<(Gray, Bend)> {
    let (w, h) = (g.width as usize, g.height as usize);
    let sw = w / DEWARP_STRIPS;
    if sw < 8 || h < 200 || g.data.len() != w * h {
        return None;
    }
    let reach = (h / 150).max(4) as i64;
    let bands = if h >= bands * DEWARP_BAND_MIN_ROWS { bands.max(1) } else { 1 };
    // Bands overlap by a quarter of a band either way, so a line cut by a
    // band's edge is whole in one of them.
    let bh = h / bands;
    let mut rows = Vec::with_capacity(bands);
    let mut measured = Vec::with_capacity(bands);
    for b in 0..bands {
        let (y0, y1) =
            if bands == 1 { (0, h) } else { ((b * bh).saturating_sub(bh / 4), ((b + 1) * bh + bh / 4).min(h)) };
        if let Some(s) = strip_shifts(g, y0, y1, sw, reach) {
            rows.push((y0 + y1) as f32 / 2.0);
            measured.push(s);
        }
    }
    let measured_bands = measured.len();
    if measured_bands == 0 {
        return None;
    }
    // What one straight slope explains is skew, not a bend: the bands'
    // slopes are averaged and taken off, so lines fanning out remain.
    let n = DEWARP_STRIPS as f32;
    let mx = (n - 1.0) / 2.0;
    let var: f32 = (0..DEWARP_STRIPS).map(|i| (i as f32 - mx).powi(2)).sum();
    let slope_of = |s: &[f32; DEWARP_STRIPS]| {
        let my = s.iter().sum::<f32>() / n;
        s.iter().enumerate().map(|(i, &v)| (i as f32 - mx) * (v - my)).sum::<f32>() / var
    };
    let slope = measured.iter().map(slope_of).sum::<f32>() / measured.len() as f32;
    let mut size = 0.0f32;
    for s in &mut measured {
        let my = s.iter().sum::<f32>() / n;
        for (i, v) in s.iter().enumerate() {
            size = size.max((v - my - slope * (i as f32 - mx)).abs());
        }
        // The columns are moved by their whole shift (the slope too); the
        // bands, each measured from its own inkiest column, are made to
        // agree on average.
        if measured_bands > 1 {
            s.iter_mut().for_each(|v| *v -= my);
        }
    }
    if size < 3.0 {
        return None;
    }
    // Each pixel column's shift, read between the strips' centres.
    let centre = |i: usize| (i * sw + sw / 2) as f32;
    let shifts: Vec<Vec<f32>> = measured
        .iter()
        .map(|s| {
            (0..w)
                .map(|x| {
                    let fx = x as f32;
                    let i = ((fx - sw as f32 / 2.0) / sw as f32).floor().clamp(0.0, n - 2.0) as usize;
                    let t = ((fx - centre(i)) / sw as f32).clamp(0.0, 1.0);
                    s[i] * (1.0 - t) + s[i + 1] * t
                })
                .collect()
        })
        .collect();
    let bend = Bend { rows, shifts, size };
    let mut out = Gray::new(g.width, g.height, 255);
    for y in 0..h {
        for x in 0..w {
            let from = y as i64 + bend.at(x, y as f32).round() as i64;
            if from >= 0 && from < h as i64 {
                out.data[y * w + x] = g.data[from as usize * w + x];
            }
        }
    }
    Some((out, bend))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of 30 lines of dashes (letters' ink), line `l`'s rows at
    /// `bend(x, l)` below where they would be.
    fn lined_page(bend: impl Fn(usize, usize) -> i64) -> Gray {
        let (w, h) = (1200usize, 1600usize);
        let mut g = Gray::new(w as u32, h as u32, 255);
        for line in 0..30 {
            for x in 100..1100 {
                if x % 14 < 9 {
                    for y in 0..16 {
                        g.data[(140 + line as i64 * 45 + bend(x, line) + y) as usize * w + x] = 0;
                    }
                }
            }
        }
        g
    }

    /// Whether the ink at columns `a` and `b` of `g` stands mostly in the
    /// same rows.
    fn level(g: &Gray, a: usize, b: usize) -> bool {
        let rows = |x: usize| -> Vec<usize> { (0..1600).filter(|&y| g.data[y * 1200 + x] == 0).collect() };
        let (left, right) = (rows(a), rows(b));
        let common = left.iter().filter(|y| right.contains(y)).count();
        eprintln!("{} of {} rows shared", common, right.len());
        common * 10 >= right.len() * 7
    }

    #[test]
    fn bent_lines_are_straightened_and_straight_ones_left() {
        for bands in [1, DEWARP_BANDS] {
            assert!(dewarp(&lined_page(|_, _| 0), bands).is_none(), "straight lines");
            assert!(dewarp(&lined_page(|x, _| x as i64 / 60), bands).is_none(), "a slope is skew, not a bend");
        }
        // The left quarter of every line lies up to 20 rows lower (a curl).
        let curl = |x: usize, _| if x < 300 { (300 - x) as i64 / 15 } else { 0 };
        let page = lined_page(curl);
        assert!(!level(&page, 130, 1000));
        let (out, bend) = dewarp(&page, 1).expect("a bend");
        assert!(level(&out, 130, 1000));
        let (s130, s1000) = (bend.at(130, 800.0), bend.at(1000, 800.0));
        assert!(s130 >= 8.0 && s1000.abs() <= 2.0, "{} {}", s130, s1000);
    }

    #[test]
    fn lines_fanning_out_are_straightened() {
        // A page photographed at a slant: the top lines rise to the right,
        // the bottom ones fall, by up to 14 rows across the page; the page's
        // slope on average is none.
        let fan = |x: usize, line: usize| (line as i64 - 15) * (600 - x as i64) / 500;
        let page = lined_page(fan);
        assert!(!level(&page, 130, 1000));
        // One shift per column cannot straighten them.
        assert!(!dewarp(&page, 1).is_some_and(|(out, _)| level(&out, 130, 1000)));
        let (out, bend) = dewarp(&page, DEWARP_BANDS).expect("lines fanning out");
        assert!(bend.size >= 8.0, "{}", bend.size);
        assert!(level(&out, 130, 1000), "straightened");
        // The top's columns and the bottom's move opposite ways.
        let (top, bottom) = (bend.at(130, 200.0) - bend.at(1000, 200.0), bend.at(130, 1400.0) - bend.at(1000, 1400.0));
        assert!(top * bottom < 0.0, "{} {}", top, bottom);
    }

    #[test]
    fn upscale_only_below_ocr_resolution() {
        assert_eq!(upscale_factor(300.0), 1.0);
        assert_eq!(upscale_factor(150.0), 1.0);
        assert_eq!(upscale_factor(100.0), 3.0);
        assert_eq!(upscale_factor(50.0), 4.0);
    }

    /// A coarse page of short strokes, two pixels wide and three apart;
    /// where `blur` spreads each stroke's ink over its neighbours.
    fn coarse_strokes(blur: bool) -> Gray {
        let (w, h) = (300usize, 400usize);
        let mut g = Gray::new(w as u32, h as u32, 240);
        for line in 0..20 {
            for x in (20..280).filter(|x| x % 5 < 2) {
                for y in 0..8 {
                    g.data[(20 + line * 18 + y) * w + x] = 20;
                }
            }
        }
        if blur {
            g = Pix::from_gray(&g).unwrap().blur(1).unwrap().to_gray().unwrap();
        }
        g
    }

    #[test]
    fn a_blurred_coarse_page_is_told_by_its_edges_and_sharpened_once_enlarged() {
        let (sharp, soft) = (coarse_strokes(false), coarse_strokes(true));
        assert!(edge_steepness(&sharp) > SOFT_EDGES, "{}", edge_steepness(&sharp));
        assert!(edge_steepness(&soft) < SOFT_EDGES, "{}", edge_steepness(&soft));
        // Flat paper has no edges to judge by, and is not taken for blurred.
        assert!(edge_steepness(&Gray::new(50, 50, 255)) >= SOFT_EDGES);
        let plain = upscale(&soft, 3.0, false).unwrap();
        let sharpened = upscale(&soft, 3.0, true).unwrap();
        assert_eq!((sharpened.width, sharpened.height), (900, 1200));
        // Sharpening darkens the strokes' cores and lightens the paper beside.
        let darkest = |g: &Gray| *g.data.iter().min().unwrap();
        let lightest = |g: &Gray| *g.data.iter().max().unwrap();
        assert!(darkest(&sharpened) < darkest(&plain), "{} {}", darkest(&sharpened), darkest(&plain));
        assert!(lightest(&sharpened) >= lightest(&plain));
    }

    #[test]
    fn only_a_bilevel_page_is_softened() {
        let mut bilevel = Gray::new(60, 40, 255);
        bilevel.fill(20.0, 10.0, 24.0, 30.0, 0);
        let soft = soften(&bilevel).expect("a bilevel page is softened");
        assert_eq!((soft.width, soft.height), (60, 40));
        // The stroke's edge turns gray; its middle and the paper stay.
        let at = |g: &Gray, x: usize, y: usize| g.data[y * 60 + x];
        assert!((1..255).contains(&at(&soft, 20, 20)) && (1..255).contains(&at(&soft, 19, 20)));
        assert_eq!((at(&soft, 22, 20), at(&soft, 5, 5)), (0, 255));
        // A gray scan already has soft edges.
        let mut gray = bilevel.clone();
        gray.fill(24.0, 10.0, 25.0, 30.0, 128);
        assert!(soften(&gray).is_none());
        // Paper alone is not bilevel.
        assert!(soften(&Gray::new(60, 40, 255)).is_none());
    }

    #[test]
    fn streaks_are_flattened_by_row_then_by_column() {
        // The plain definition: each row, then each column, divided by its
        // 60th percentile (at least 32), pixel by pixel.
        let plain = |g: &Gray| {
            let (w, h) = (g.width as usize, g.height as usize);
            let mut d = g.data.clone();
            let level = |mut v: Vec<u8>| {
                v.sort_unstable();
                (v[v.len() * 6 / 10] as u32).max(32)
            };
            for y in 0..h {
                let bg = level(d[y * w..(y + 1) * w].to_vec());
                d[y * w..(y + 1) * w].iter_mut().for_each(|v| *v = ((*v as u32 * 255) / bg).min(255) as u8);
            }
            for x in 0..w {
                let bg = level((0..h).map(|y| d[y * w + x]).collect());
                (0..h).for_each(|y| d[y * w + x] = ((d[y * w + x] as u32 * 255) / bg).min(255) as u8);
            }
            d
        };
        let mut seed = 7u32;
        for (w, h) in [(37u32, 23u32), (120, 90), (8, 8)] {
            let mut g = Gray::new(w, h, 0);
            for (i, v) in g.data.iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                // Paper with a streak every 7th column and a darker band of rows.
                let base = if (i % w as usize).is_multiple_of(7) { 150 } else { 235 };
                *v = (base - (seed >> 16) % 40 - if (i / w as usize) % 11 < 3 { 60 } else { 0 }) as u8;
            }
            let want = plain(&g);
            flatten_streaks(&mut g);
            assert_eq!(g.data, want, "{w}x{h}");
        }
    }

    #[test]
    fn a_page_shaded_from_one_side_spreads_and_even_paper_does_not() {
        let (w, h) = (400u32, 500u32);
        let mut even = Gray::new(w, h, 240);
        // Lines of text: dark rows, as much in every tile.
        for y in (0..h).filter(|y| y % 20 < 4) {
            for x in 0..w {
                even.data[(y * w + x) as usize] = 30;
            }
        }
        let mut shaded = even.clone();
        for y in 0..h {
            for x in 0..w {
                let v = &mut shaded.data[(y * w + x) as usize];
                *v = (*v as u32 * (400 - x / 2) / 400) as u8;
            }
        }
        assert!(background_spread(&even) < 5, "{}", background_spread(&even));
        assert!(background_spread(&shaded) >= 40, "{}", background_spread(&shaded));
    }

    /// A page of lines of black "letters" with soft gray edges (none when
    /// `bilevel`), and, when `back` is given, a fainter mirrored print of
    /// that level between them.
    fn printed_page(back: Option<u8>, bilevel: bool) -> Gray {
        let (w, h) = (600u32, 800u32);
        let mut g = Gray::new(w, h, 250);
        for y in 0..h {
            for x in 0..w {
                let v = &mut g.data[(y * w + x) as usize];
                let (in_line, in_letter) = (y % 40 < 12, x % 10 < 6);
                if in_line && in_letter {
                    let edge = y % 40 == 0 || y % 40 == 11 || x % 10 == 0 || x % 10 == 5;
                    *v = if edge && !bilevel { 170 } else { 20 };
                } else if let Some(b) = back.filter(|_| (y + 20) % 40 < 12 && (x + 3) % 10 < 6) {
                    *v = b;
                }
            }
        }
        g
    }

    #[test]
    fn print_showing_through_is_found_and_lifted_to_paper() {
        assert!(!shows_through(&printed_page(None, false)), "a letter's soft edges are not the back");
        assert!(!shows_through(&printed_page(None, true)));
        assert!(!shows_through(&Gray::new(100, 100, 255)), "a blank page");
        // A bilevel scan's letters have no soft edges: its back's print is
        // found apart from them.
        assert!(shows_through(&printed_page(Some(205), true)));
        let through = printed_page(Some(205), false);
        assert!(shows_through(&through));
        // Faded (ink at 110 on paper at 232): its faint grays are its own
        // letters' and are left.
        let mut faded = through.clone();
        faded.data.iter_mut().for_each(|v| *v = 110 + (u32::from(*v) * 125 / 255) as u8);
        assert!(!shows_through(&faded));
        let lifted = lift(&through);
        let at = |g: &Gray, x: u32, y: u32| g.data[(y * g.width + x) as usize];
        assert!(at(&lifted, 1, 25) >= 245, "the back's print becomes paper: {}", at(&lifted, 1, 25));
        assert_eq!(at(&lifted, 8, 15), 255, "and so does the paper");
        assert!(at(&lifted, 2, 5) < 30, "ink stays ink");
        assert!(!shows_through(&lifted));
    }

    #[test]
    fn blurred_marks_are_lifted_and_sharp_strokes_kept() {
        // A ghost: a dark dash blurred as a copier blurs another sheet's
        // print; beside it and across it, sharp strokes of print.
        let mut ghost = Gray::new(120, 60, 250);
        ghost.fill(20.0, 24.0, 100.0, 36.0, 110);
        let mut page = Pix::from_gray(&ghost).and_then(|p| p.blur(4)).and_then(|p| p.to_gray()).unwrap();
        page.fill(10.0, 10.0, 12.0, 50.0, 20);
        page.fill(60.0, 10.0, 62.0, 50.0, 20);
        let out = lift_blurred(&page);
        let at = |g: &Gray, x: u32, y: u32| g.data[(y * g.width + x) as usize];
        assert!(at(&page, 40, 30) < 150, "the ghost is dark before");
        assert_eq!(at(&out, 40, 30), 255, "and lifted to paper after");
        assert_eq!(at(&out, 11, 30), 20, "a stroke beside it stays");
        assert_eq!(at(&out, 61, 30), 20, "and one across it");
        assert_eq!(at(&out, 5, 5), at(&page, 5, 5), "paper stays as it is");
    }

    #[test]
    fn binarize_flattens_a_shadow() {
        // A dark gradient (a photocopier's shadow) with a black bar of "text".
        let (w, h) = (300u32, 200u32);
        let mut g = Gray::new(w, h, 255);
        for y in 0..h {
            for x in 0..w {
                g.data[(y * w + x) as usize] = (120 + x * 130 / w) as u8;
            }
        }
        for y in 90..110 {
            for x in 50..250 {
                g.data[(y * w + x) as usize] = 20;
            }
        }
        let b = binarize(&g, 300.0).unwrap();
        assert_eq!((b.width, b.height), (w, h));
        assert_eq!(b.data[(100 * w + 150) as usize], 0, "text stays black");
        assert_eq!(b.data[(20 * w + 20) as usize], 255, "shadow becomes paper");
    }
}
