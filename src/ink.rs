//! What recognition reads of a colour page. Seal red and a pen's blue cross
//! the very lines they certify, and a phone photo's paper is tinted by its
//! light: read by luminance, all of these become dark strokes and junk words.
//! This module makes one gray raster of a colour page in which seal ink and a
//! signature's blue are paper and a photo's ink is darkest against its paper.
//! It is kept apart from `decode`, which reads file formats, because these
//! rules are measured on real paper (BENCHMARKS.md) and change with it; the
//! archive copy never passes through here.

/// The gray levels recognition sees for packed RGB pixels: each pixel's
/// luminance, except in a camera's picture (`camera`: no resolution
/// declared) of paper that is not white (dim or tinted light), where it is
/// each pixel's darkest channel, which keeps the ink darkest against the
/// paper: on real-dev's three photos of a form recall rose from 0.896 /
/// 0.890 / 0.886 to 0.903 / 0.932 / 0.921. On white scans the darkest channel
/// brought a seal's rim back as words, and on a scanned worn colour copy it
/// turned the speckle into text (CER 0.74 → 4.2). Seal ink fades to paper
/// either way (see [`luma`]), and so does a pen's blue ([`blue_is_pen`]).
pub(crate) fn rgb_gray(rgb: &[u8], width: u32, camera: bool) -> Vec<u8> {
    let darkest = camera && paper_level(rgb) < WHITE_PAPER;
    // Where the pen's blue is, on a page whose blue is a pen's; else empty.
    let ink: Vec<bool> =
        if blue_is_pen(rgb) { rgb.chunks_exact(3).map(|p| blue_ink(p[0], p[1], p[2])).collect() } else { Vec::new() };
    let mut gray: Vec<u8> = rgb
        .chunks_exact(3)
        .enumerate()
        .map(|(i, p)| {
            let (r, g, b) = (p[0], p[1], p[2]);
            if ink.get(i) == Some(&true) {
                pen_lifted(r, g, b)
            } else if darkest {
                darkest_channel(r, g, b)
            } else {
                luma(r, g, b)
            }
        })
        .collect();
    if !ink.is_empty() {
        lift_pen_edges(&mut gray, &ink, width as usize);
    }
    gray
}

/// How far from a pen's blue its stroke's edge reaches (pixels).
const PEN_EDGE: usize = 2;

/// A pen stroke's edge, ink and paper mixed and smeared by JPEG, is hardly
/// blue; left as it is, a handwritten "37" beside "Số:" stays as a hollow
/// outline that is read with the label as junk ("Số:" read "ý" on real-dev
/// 03 and on an unseen decision). Pixels within [`PEN_EDGE`] of pen ink and
/// lighter than print's core (100) become paper.
fn lift_pen_edges(gray: &mut [u8], ink: &[bool], width: usize) {
    if width == 0 {
        return;
    }
    let pen: Vec<u8> = ink.iter().map(|&b| u8::from(b)).collect();
    let near = crate::raster::max_filter(&pen, width, gray.len() / width, PEN_EDGE);
    for ((v, &n), &i) in gray.iter_mut().zip(&near).zip(ink) {
        if n != 0 && !i && *v >= 100 {
            *v = 255;
        }
    }
}

/// Blue ink: bluer than it is red or green by more than seal ink is red,
/// and not dark (black print, whose channels agree, never is).
#[inline]
fn blue_ink(r: u8, g: u8, b: u8) -> bool {
    let (ri, gi, bi) = (r as i32, g as i32, b as i32);
    bi - ri.max(gi) > SEAL_CHROMA && bi >= 140
}

/// Whether the page's blue ink is a pen's (a signature across the seal and
/// the signer's title, a handwritten number) rather than its print: a
/// sample's blue ink pixels under a quarter of its black ones. On every page
/// of real-dev and on `bench/real-copies stamp-signed` the blue is under 3%
/// of the black; on a page printed in blue (`blue`) it is all the ink, and
/// is read as print.
fn blue_is_pen(rgb: &[u8]) -> bool {
    let (mut blue, mut black) = (0u64, 0u64);
    for p in rgb.chunks_exact(3).step_by(7) {
        let (r, g, b) = (p[0], p[1], p[2]);
        if blue_ink(r, g, b) {
            blue += 1;
        } else if r.max(g).max(b) - r.min(g).min(b) < 40 && luma(r, g, b) < 140 {
            black += 1;
        }
    }
    blue > 0 && blue * 4 < black
}

/// A pen's blue pixel as recognition sees it: paper. At its brightest
/// channel, as a seal's red is taken, a ballpoint stroke is still 150–160
/// gray and reads as a stroke (tried: `stamp-signed` 05 fell 0.957 → 0.930);
/// lifted by its chroma it is white, while black print under it, whose
/// channels agree, is not blue ink and stays black.
#[inline]
fn pen_lifted(r: u8, g: u8, b: u8) -> u8 {
    let (hi, lo) = (r.max(g).max(b), r.min(g).min(b));
    hi.saturating_add(hi - lo)
}

/// Paper under this luminance is not white (scanners give 250-255).
const WHITE_PAPER: u8 = 235;

/// The paper's luminance: the 60th percentile of a sample of the pixels
/// (text covers well under 40% of a page).
fn paper_level(rgb: &[u8]) -> u8 {
    let hist = crate::raster::histogram_of(rgb.chunks_exact(3).step_by(61).map(|p| luma(p[0], p[1], p[2])));
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return 0;
    }
    crate::raster::nth_level(&hist, (n * 6).div_ceil(10) - 1)
}

#[inline]
fn darkest_channel(r: u8, g: u8, b: u8) -> u8 {
    if seal(r, g, b) {
        return r.max(g).max(b);
    }
    r.min(g).min(b)
}

/// The gray level recognition sees for a colour pixel: its luminance, except
/// for seal ink. A red seal stamped over the text would otherwise read as
/// dark strokes; taken at its brightest channel it fades to paper while black
/// print, whose channels agree, stays black. (A pen's blue is taken out by
/// the page, [`blue_is_pen`]: blue is also some forms' print.)
#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    if seal(r, g, b) {
        return r.max(g).max(b);
    }
    ((r as u32 * 299 + g as u32 * 587 + b as u32 * 114 + 500) / 1000) as u8
}

#[inline]
fn seal(r: u8, g: u8, b: u8) -> bool {
    let (ri, gi, bi) = (r as i32, g as i32, b as i32);
    let red = ri - gi.max(bi);
    red > SEAL_CHROMA && ri >= 140
}

const SEAL_CHROMA: i32 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photos_tinted_paper_is_made_gray_by_its_darkest_channel_and_a_scan_by_luminance() {
        // Blue ink (30, 60, 160) on paper: 70% paper, 30% ink.
        let page = |paper: [u8; 3]| -> Vec<u8> {
            (0..100).flat_map(|i| if i % 10 < 7 { paper } else { [30, 60, 160] }).collect()
        };
        let scan = rgb_gray(&page([255, 255, 255]), 10, true);
        assert_eq!((scan[0], scan[9]), (255, luma(30, 60, 160)), "white paper: luminance");
        let photo = rgb_gray(&page([200, 215, 225]), 10, true);
        assert_eq!((photo[0], photo[9]), (200, 30), "a camera's bluish paper: the darkest channel");
        let worn = rgb_gray(&page([200, 215, 225]), 10, false);
        assert_eq!(worn[9], luma(30, 60, 160), "a scan of gray paper: luminance");
        // Red seal ink fades to paper either way.
        assert_eq!(rgb_gray(&[200, 215, 225, 200, 215, 225, 220, 40, 40], 3, true)[2], 220);
    }

    #[test]
    fn a_pens_blue_across_black_print_is_paper_but_blue_print_stays_ink() {
        // White paper, black print (20, 20, 25) on 30% of it, and a
        // ballpoint's blue (57, 66, 160) on 3%, or printed in blue (the
        // blue on 30%, no black).
        let page = |black: usize, blue: usize| -> Vec<u8> {
            (0..1000)
                .flat_map(|i| match i % 100 {
                    k if k < black => [20, 20, 25],
                    k if k < black + blue => [57, 66, 160],
                    _ => [255, 255, 255],
                })
                .collect()
        };
        let signed = rgb_gray(&page(30, 3), 1000, false);
        assert_eq!((signed[0], signed[30], signed[99]), (luma(20, 20, 25), 255, 255), "the pen's strokes are paper");
        let printed = rgb_gray(&page(0, 30), 1000, false);
        assert_eq!(printed[0], luma(57, 66, 160), "blue print is read as print");
        assert!(!blue_is_pen(&page(30, 0)), "no blue ink at all: nothing to take out");
        // A stroke's edge, hardly blue (JPEG smears ink into paper), is
        // paper too, beside the stroke only; black print beside it stays.
        // Ten rows of black print, then a row with print, an edge, the
        // stroke and, 4 pixels off, a gray that is no edge.
        let mut row = [[255u8, 255, 255]; 10];
        row[2] = [20, 20, 25];
        row[4] = [150, 150, 165];
        row[5] = [57, 66, 160];
        row[9] = [150, 150, 165];
        let mut rgb: Vec<u8> = (0..100).flat_map(|_| [20, 20, 25]).collect();
        rgb.extend(row.iter().flatten());
        let gray = rgb_gray(&rgb, 10, false);
        assert_eq!(gray[95], luma(20, 20, 25), "black print just over the stroke stays");
        let edge = &gray[100..];
        assert_eq!((edge[2], edge[4], edge[5], edge[9]), (luma(20, 20, 25), 255, 255, luma(150, 150, 165)), "{edge:?}");
    }
}
