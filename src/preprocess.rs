//! Page cleaning before recognition: resolution check, blank-page detection,
//! orientation (0/90/180/270) and deskew. It exists so that Tesseract always
//! sees an upright, level page at a resolution it reads well, while the
//! scanner's pixels stay untouched for the archive copy: this module only
//! decides the [`Geometry`] and builds the raster that OCR reads.
//!
//! Orientation is found cheaply from the text's own shape (Leptonica's
//! ascender/descender count on each axis); Tesseract's orientation detection
//! costs more than recognizing the page, so the pipeline asks for it only when
//! this module says it cannot tell.

use crate::lept::Pix;
use crate::model::Geometry;
use crate::raster::{nth_level, otsu, Gray};

/// The minimum resolution Thông tư 05/2025/TT-BNV sets for administrative papers.
pub(crate) const MIN_DPI: f32 = 200.0;

/// The resolutions a file may declare and be believed.
const DECLARED_DPI: std::ops::RangeInclusive<f32> = 50.0..=4800.0;

/// Pages whose two resolutions differ by more than this ratio are stretched
/// to square pixels before anything else: a standard fax is 204 × 98 dpi,
/// and read as it is its letters are squashed to half their height (real-dev
/// 04 as such a fax: confidence 49.5 against 93.4 as a fine fax). A fine fax
/// (204 × 196) is left as it is.
const UNEQUAL_DPI: f32 = 1.1;

/// A page of unequal resolutions `dpi` (across, down) with its coarser axis
/// enlarged to the finer one's resolution, and that resolution; None when
/// the two are near enough equal, implausible, or Leptonica cannot scale.
pub(crate) fn square_pixels(g: &Gray, dpi: (f32, f32)) -> Option<(Gray, f32)> {
    let (dx, dy) = dpi;
    let (lo, hi) = (dx.min(dy), dx.max(dy));
    if !(DECLARED_DPI.contains(&lo) && DECLARED_DPI.contains(&hi) && hi / lo > UNEQUAL_DPI && hi / lo <= 4.0) {
        return None;
    }
    let g = Pix::from_gray(g)?.scale_xy(hi / dx, hi / dy)?.to_gray8()?.to_gray()?;
    Some((g, hi))
}

/// Paper sizes in millimetres (short side, long side).
const PAPERS: [(&str, f32, f32); 7] = [
    ("A4", 210.0, 297.0),
    ("A5", 148.0, 210.0),
    ("A3", 297.0, 420.0),
    ("B5", 176.0, 250.0),
    ("B4", 250.0, 353.0),
    ("Letter", 215.9, 279.4),
    ("Legal", 215.9, 355.6),
];
const STANDARD_DPI: [f32; 9] = [72.0, 96.0, 100.0, 150.0, 200.0, 240.0, 300.0, 400.0, 600.0];

/// The resolution a page is taken at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Resolution {
    pub dpi: f32,
    /// True when the file's own value was missing or implausible.
    pub estimated: bool,
}

/// Takes the file's resolution when it makes the page a plausible paper size
/// (or, with `from_page`, whenever it is in range: a PDF page's size is real);
/// otherwise estimates it from A4 (or A5) proportions.
pub(crate) fn resolution(width: u32, height: u32, declared: Option<(f32, f32)>, from_page: bool) -> Resolution {
    let (short, long) = (width.min(height) as f32, width.max(height) as f32);
    if let Some((dx, dy)) = declared {
        let d = (dx + dy) / 2.0;
        let square = (dx - dy).abs() / d < 0.02;
        if DECLARED_DPI.contains(&d) && square && (from_page || is_paper(short / d * 25.4, long / d * 25.4)) {
            return Resolution { dpi: d, estimated: false };
        }
    }
    // From A4 first, then A5: the first that lands on a standard scanner value.
    let mut guess = None;
    for (_, ps, pl) in PAPERS.iter().take(2) {
        let d = (short / (ps / 25.4) + long / (pl / 25.4)) / 2.0;
        if let Some(s) = STANDARD_DPI.iter().find(|&&s| (s - d).abs() / s < 0.03) {
            guess = Some(*s);
            break;
        }
        guess.get_or_insert(d);
    }
    let dpi = guess.unwrap_or(300.0).clamp(50.0, 2400.0);
    Resolution { dpi, estimated: true }
}

/// Whether a page is read as a photo is (several ways, see `reading`):
/// its resolution had to be guessed, and it is not all black and white. A
/// guessed resolution on a page of black and white pixels is a scan's or a
/// fax's wrong tag, not a photo's (no camera takes such a page): it is read
/// as a scan is (corpus-dev's 6862 page 4: 2.1 s → 1.4 s, its CER lower).
pub(crate) fn taken_as_photo(g: &Gray, res: Resolution) -> bool {
    res.estimated && !crate::clean::is_bilevel(g)
}

fn is_paper(short_mm: f32, long_mm: f32) -> bool {
    PAPERS.iter().any(|(_, s, l)| (short_mm - s).abs() / s < 0.06 && (long_mm - l).abs() / l < 0.06)
}

/// What page analysis found.
#[derive(Clone, Debug)]
pub(crate) struct Analysis {
    pub blank: bool,
    /// Clockwise rotation that makes the page upright, if the text told.
    pub rotation: Option<u32>,
    pub skew_deg: f32,
}

/// Binarization threshold of a page (levels below it are ink): Otsu's, kept
/// below the paper level.
fn ink_threshold(g: &Gray) -> u8 {
    let hist = g.histogram();
    otsu(&hist).saturating_add(1).min(paper_level(&hist).saturating_sub(40))
}

fn paper_level(hist: &[u64; 256]) -> u8 {
    // The 90th percentile of brightness (the level a tenth of the pixels
    // reach or pass): the paper, whatever the dust.
    let total: u64 = hist.iter().sum();
    nth_level(hist, total - total.div_ceil(10))
}

/// Blank pages: almost no ink away from the edges (where punch holes and
/// scanner shadows are). `g` at any resolution; `dpi` its resolution.
pub(crate) fn ink_ratio(g: &Gray, dpi: f32) -> f32 {
    // Work near 100 dpi: dust specks average away, text strokes do not.
    let f = ((dpi / 100.0).round() as u32).max(1);
    let s = g.shrink(f);
    let hist = s.histogram();
    // Ink is 70 levels darker than the paper, or, on paper darker than 200
    // (a photo taken in dim light), 35% darker: a legible form photographed
    // at paper level 78 had its text at 7-29 and was taken for blank. A
    // near-black ground is no paper: such a page (a negative) stays blank
    // here and is told apart by `has_dark_ground`.
    let paper = paper_level(&hist);
    let darker = if paper < NEAR_BLACK { 70 } else { 70.min(paper as u32 * 35 / 100) as u8 };
    let thresh = paper.saturating_sub(darker);
    let (w, h) = (s.width as usize, s.height as usize);
    let (mx, my) = (w / 12, h / 20);
    let mut dark = 0usize;
    let mut total = 0usize;
    for y in my..h - my {
        let row = &s.data[y * w..(y + 1) * w];
        for &v in &row[mx..w - mx] {
            total += 1;
            // A dark pixel counts only inside a run of dark pixels: text, not dust.
            dark += (v < thresh) as usize;
        }
    }
    if total == 0 {
        return 0.0;
    }
    dark as f32 / total as f32
}

/// Levels under this are near-black: a ground, not paper.
const NEAR_BLACK: u8 = 48;

/// Whether a page that would pass for blank has a dark ground instead of
/// paper: a negative (light marks on near-black, as from a microfilm reader or
/// a scanner set wrong) or a page dark all over (the lid open, a failed
/// capture). Blank detection takes the ground for the paper, so without this
/// both would be recorded as blank backs.
pub(crate) fn has_dark_ground(g: &Gray, dpi: f32) -> bool {
    let f = ((dpi / 50.0).round() as u32).max(1);
    let hist = g.shrink(f).histogram();
    let total: u64 = hist.iter().sum();
    let pct = |q: u64| {
        let mut acc = 0;
        for (v, &c) in hist.iter().enumerate() {
            acc += c;
            if acc * 100 >= total * q {
                return v as i32;
            }
        }
        255
    };
    let (lo, mid, hi) = (pct(2), pct(50), pct(99));
    // A near-black ground, marks far brighter than it and nothing darker: a
    // dark photocopy or fax has a gray ground with its marks below it.
    let negative = mid < NEAR_BLACK as i32 && hi - mid > 120 && mid - lo < 16;
    let bright: u64 = hist[96..].iter().sum();
    let dark: u64 = hist[..NEAR_BLACK as usize].iter().sum();
    let dark_all_over = dark * 100 >= total * 98 && bright * 1000 < total;
    negative || dark_all_over
}

/// A page is blank under this share of dark pixels.
pub(crate) const BLANK_INK: f32 = 0.0015;

/// Analyses a page: blank or not, orientation and skew. `fallback` is asked
/// for the orientation (of a ~150 dpi copy, with its resolution) only when the
/// text's shape does not tell.
pub(crate) fn analyse(g: &Gray, dpi: f32, fallback: impl FnOnce(&Gray, f32) -> Option<u32>) -> Analysis {
    let ink = ink_ratio(g, dpi);
    if ink < BLANK_INK {
        return Analysis { blank: true, rotation: Some(0), skew_deg: 0.0 };
    }
    // Orientation and skew on a ~150 dpi binary image.
    let (small, small_dpi, thresh) = analysis_copy(g, dpi);
    let rotation = Pix::from_gray(&small)
        .and_then(|p| p.threshold(thresh))
        .and_then(|b| orientation(&b))
        .or_else(|| fallback(&small, small_dpi));
    let skew_deg = skew_of_small(&small, thresh, rotation.unwrap_or(0));
    Analysis { blank: false, rotation, skew_deg }
}

/// The ~150 dpi copy page analysis works on, its resolution and its ink
/// threshold. The background is flattened first, so that a photocopy's
/// shadow or gray paper is not taken for ink.
fn analysis_copy(g: &Gray, dpi: f32) -> (Gray, f32, i32) {
    let f = ((dpi / 150.0).round() as u32).max(1);
    let small = g.shrink(f);
    let small = crate::clean::normalize(&small).unwrap_or(small);
    let thresh = ink_threshold(&small) as i32;
    (small, dpi / f as f32, thresh)
}

/// The widest skew searched, degrees either way. Leptonica's default, 7,
/// left a page fed 9 degrees askew unlevelled (measured 0; real-dev's pages
/// so turned read 0.842 recall against 0.961 at 2 degrees).
const MAX_SKEW_DEG: f32 = 15.0;

fn skew_of_small(small: &Gray, thresh: i32, rotation: u32) -> f32 {
    let upright = small.rotate_cw(rotation / 90);
    Pix::from_gray(&upright)
        .and_then(|p| p.threshold(thresh))
        .and_then(|b| b.find_skew(MAX_SKEW_DEG))
        .filter(|&(a, conf)| conf >= 2.0 && a.abs() >= 0.1)
        .map(|(a, _)| a)
        .unwrap_or(0.0)
}

/// The skew of the page once turned clockwise by `rotation`.
pub(crate) fn skew_of(g: &Gray, dpi: f32, rotation: u32) -> f32 {
    let (small, _, thresh) = analysis_copy(g, dpi);
    skew_of_small(&small, thresh, rotation)
}

/// Clockwise rotation making the text upright, or None when unsure.
fn orientation(bin: &Pix) -> Option<u32> {
    let (up, left) = bin.orient_confidences()?;
    orientation_of(up, left)
}

/// The decision on Leptonica's two confidences (text pointing up against
/// down, and left against right). A turn needs a clear count (8, and 2.5
/// times the other direction's); the page as scanned, which is how nearly
/// every page is fed, needs less: 5 and 2.5 times, or 10 and 1.8 times.
/// Measured on the three dev sets and `cardinal.pdf`: every page the weaker
/// rule calls upright had been sent to Tesseract's OSD (0.15 s a page) and
/// found upright there; the nearest page that is not (a fax page lying on
/// its side: 6.7 against 3.4) stays undecided.
fn orientation_of(up: f32, left: f32) -> Option<u32> {
    const MIN_CONF: f32 = 8.0;
    const MIN_RATIO: f32 = 2.5;
    let (au, al) = (up.abs(), left.abs());
    if au >= MIN_CONF && au >= MIN_RATIO * al {
        Some(if up > 0.0 { 0 } else { 180 })
    } else if al >= MIN_CONF && al >= MIN_RATIO * au {
        // Text pointing left (rotated counter-clockwise) needs a clockwise turn.
        Some(if left > 0.0 { 90 } else { 270 })
    } else if (up >= 5.0 && up >= MIN_RATIO * al) || (up >= 10.0 && up >= 1.8 * al) {
        Some(0)
    } else {
        None
    }
}

/// Turns and levels the page as `geom` says: the raster that OCR reads.
///
/// Levelling grows the canvas so that no pixel is lost; the second value is
/// where the upright page's top-left corner lies in it (subtract it from
/// recognized boxes). Pages are recognized at their own resolution: measured
/// on the corpus, enlarging 150 dpi scans to 300 dpi made Tesseract read dust
/// as letters (CER 0.026 against 0.016 without).
pub(crate) fn ocr_input(g: &Gray, geom: &Geometry) -> (Gray, (f32, f32)) {
    let upright = g.rotate_cw(geom.rotation / 90);
    if geom.skew_deg.abs() < 0.05 {
        return (upright, (0.0, 0.0));
    }
    let (w, h) = (upright.width, upright.height);
    match Pix::from_gray(&upright).and_then(|p| p.rotate(geom.skew_deg.to_radians())).and_then(|p| p.to_gray()) {
        Some(level) => {
            let off = ((level.width as f32 - w as f32) / 2.0, (level.height as f32 - h as f32) / 2.0);
            (level, off)
        }
        None => (upright, (0.0, 0.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 150 dpi page of "text": lines of word-sized dark blocks.
    fn printed_page() -> Gray {
        let mut g = Gray::new(1240, 1754, 250);
        for (i, y) in (150..1550).step_by(36).enumerate() {
            let mut x = 120 + (i % 3) * 20;
            let mut k = i;
            while x < 1100 {
                let w = 30 + (k * 37) % 70;
                g.fill(x as f32, y as f32, (x + w) as f32, (y + 14) as f32, 20);
                x += w + 14;
                k += 1;
            }
        }
        g
    }

    #[test]
    fn a_page_fed_far_askew_is_measured_to_be_levelled() {
        let page = printed_page();
        // 7 degrees is as far as Leptonica's own default looks: 9 and 12
        // went unmeasured (0) and such pages read far worse.
        for tilt in [2.0f32, -5.0, 9.0, -12.0] {
            let (tilted, _) = ocr_input(&page, &Geometry { skew_deg: tilt, ..Geometry::identity(1240, 1754) });
            let found = skew_of(&tilted, 150.0, 0);
            assert!((found + tilt).abs() < 0.5, "tilted {tilt}, measured {found}");
        }
    }

    #[test]
    fn a_standard_fax_is_stretched_to_square_pixels() {
        let fax = Gray::new(1728, 1143, 255);
        let (g, dpi) = square_pixels(&fax, (204.0, 98.0)).expect("a standard fax is stretched");
        assert_eq!((g.width, dpi), (1728, 204.0));
        assert!(g.height.abs_diff(2379) <= 1, "{}", g.height);
        // Across, too; a fine fax and square pixels are left as they are,
        // and so is a ratio no scanner gives.
        assert_eq!(
            square_pixels(&Gray::new(100, 200, 255), (100.0, 200.0)).map(|(g, d)| (g.width, g.height, d)),
            Some((200, 200, 200.0))
        );
        assert!(square_pixels(&fax, (204.0, 196.0)).is_none());
        assert!(square_pixels(&fax, (300.0, 300.0)).is_none());
        assert!(square_pixels(&fax, (400.0, 72.0)).is_none());
    }

    #[test]
    fn declared_resolution_kept_when_plausible() {
        let r = resolution(2481, 3507, Some((300.0, 300.0)), false);
        assert_eq!(r, Resolution { dpi: 300.0, estimated: false });
        let r = resolution(3507, 2481, Some((300.0, 300.0)), false);
        assert!(!r.estimated);
    }

    #[test]
    fn only_a_page_of_grays_whose_resolution_was_guessed_is_taken_as_a_photo() {
        let mut page = Gray::new(100, 140, 255);
        page.fill(10.0, 10.0, 60.0, 20.0, 0);
        let (guessed, declared) =
            (Resolution { dpi: 300.0, estimated: true }, Resolution { dpi: 300.0, estimated: false });
        assert!(!taken_as_photo(&page, guessed), "black and white: a scan with a wrong tag");
        page.fill(10.0, 30.0, 60.0, 40.0, 120);
        assert!(taken_as_photo(&page, guessed));
        assert!(!taken_as_photo(&page, declared));
    }

    #[test]
    fn implausible_resolution_estimated_from_a4() {
        // A 150 dpi A4 frame whose file says 200 dpi.
        let r = resolution(1240, 1753, Some((200.0, 200.0)), false);
        assert_eq!(r, Resolution { dpi: 150.0, estimated: true });
        let r = resolution(1654, 2338, None, false);
        assert_eq!(r, Resolution { dpi: 200.0, estimated: true });
        let r = resolution(1654, 2338, Some((1.0, 1.0)), false);
        assert_eq!(r.dpi, 200.0);
    }

    #[test]
    fn a_form_photographed_in_dim_light_is_not_blank() {
        // Lines of text as on a form, on white paper and on paper that came
        // out at level 78 with its ink at 20: both hold text; paper alone
        // (with a little noise) does not.
        let page = |paper: u8, ink: u8| {
            let mut g = Gray::new(850, 1200, paper);
            for y in (150..1050).step_by(40) {
                g.fill(80.0, y as f32, 770.0, y as f32 + 6.0, ink);
            }
            g
        };
        assert!(ink_ratio(&page(245, 20), 100.0) >= BLANK_INK);
        assert!(ink_ratio(&page(78, 20), 100.0) >= BLANK_INK, "a dim photo's text is ink");
        let mut noisy = Gray::new(850, 1200, 78);
        for (i, v) in noisy.data.iter_mut().enumerate() {
            *v = 70 + (i * 7919 % 17) as u8;
        }
        assert!(ink_ratio(&noisy, 100.0) < BLANK_INK, "dim paper alone is blank");
    }

    #[test]
    fn a_dark_ground_is_told_from_paper() {
        // A form line on paper, the same as a negative, and a page dark all over.
        let line = |ground: u8, ink: u8| {
            let mut g = Gray::new(400, 600, ground);
            for y in 100..110 {
                for x in 50..350 {
                    g.data[y * 400 + x] = ink;
                }
            }
            g
        };
        assert!(!has_dark_ground(&line(245, 20), 100.0));
        assert!(has_dark_ground(&line(10, 235), 100.0));
        assert!(has_dark_ground(&Gray::new(400, 600, 12), 100.0));
    }

    #[test]
    fn an_upright_page_needs_less_evidence_than_a_turn() {
        // Pages of the dev sets that Leptonica's counts had left to OSD,
        // and OSD found upright.
        for (up, left) in [(6.7, -1.4), (7.1, -1.0), (5.5, -0.4), (11.3, -6.2), (15.4, -7.9), (12.0, -5.5)] {
            assert_eq!(orientation_of(up, left), Some(0), "{up} {left}");
        }
        // A fax page lying on its side (6.7 / 3.4), weak counts either way,
        // and the same weak counts pointing down or sideways: undecided.
        for (up, left) in [(6.7, 3.4), (6.9, 4.9), (2.8, -0.5), (-6.7, -1.4), (1.0, 7.1), (-2.8, -6.3)] {
            assert_eq!(orientation_of(up, left), None, "{up} {left}");
        }
        // Clear counts decide every turn, as before.
        assert_eq!(orientation_of(-20.7, 5.8), Some(180));
        assert_eq!(orientation_of(5.9, 13.6), None);
        assert_eq!(orientation_of(-5.5, -20.8), Some(270));
        assert_eq!(orientation_of(1.0, 19.0), Some(90));
    }

    #[test]
    fn white_page_is_blank() {
        let mut g = Gray::new(1654, 2338, 245);
        // dust and a punch-hole shadow near the edge
        for (x, y) in [(300, 400), (900, 1500), (1200, 200)] {
            g.data[y * 1654 + x] = 40;
        }
        for y in 1100..1200 {
            for x in 40..100 {
                g.data[y * 1654 + x] = 150;
            }
        }
        let a = analyse(&g, 200.0, |_, _| None);
        assert!(a.blank, "ink {}", ink_ratio(&g, 200.0));
    }
}
