//! The one in-memory raster the pipeline passes between stages: 8-bit gray,
//! row-major, no padding. Colour stays in the scanner's bytes (see `decode`),
//! so recognition and page analysis only ever need luminance.

/// An 8-bit gray image; 0 is black, 255 is white.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Gray {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Gray {
    /// The pixels inside `[x0, x1) × [y0, y1)`, clamped to the image; None
    /// when nothing of the box is inside.
    pub(crate) fn crop(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> Option<Gray> {
        let cl = |v: f32, hi: u32| (v.max(0.0) as u32).min(hi);
        let (x0, x1) = (cl(x0, self.width), cl(x1.ceil(), self.width));
        let (y0, y1) = (cl(y0, self.height), cl(y1.ceil(), self.height));
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let w = self.width as usize;
        let mut data = Vec::with_capacity(((x1 - x0) * (y1 - y0)) as usize);
        for y in y0 as usize..y1 as usize {
            data.extend_from_slice(self.data.get(y * w + x0 as usize..y * w + x1 as usize)?);
        }
        Some(Gray { width: x1 - x0, height: y1 - y0, data })
    }

    /// Sets the pixels of the box (clipped to the raster) to `v`.
    pub(crate) fn fill(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, v: u8) {
        let cl = |v: f32, hi: u32| (v.max(0.0) as usize).min(hi as usize);
        let (x0, x1) = (cl(x0, self.width), cl(x1.ceil(), self.width));
        let (y0, y1) = (cl(y0, self.height), cl(y1.ceil(), self.height));
        let w = self.width as usize;
        for y in y0..y1 {
            if let Some(row) = self.data.get_mut(y * w + x0..y * w + x1.max(x0)) {
                row.fill(v);
            }
        }
    }

    pub(crate) fn new(width: u32, height: u32, fill: u8) -> Gray {
        Gray { width, height, data: vec![fill; width as usize * height as usize] }
    }

    /// Turns the image clockwise by `quarters` × 90°.
    pub(crate) fn rotate_cw(&self, quarters: u32) -> Gray {
        let (w, h) = (self.width as usize, self.height as usize);
        match quarters % 4 {
            0 => self.clone(),
            2 => {
                let mut data = self.data.clone();
                data.reverse();
                Gray { width: self.width, height: self.height, data }
            }
            q => {
                // Destination is h wide and w high.
                let mut data = vec![0u8; w * h];
                for y in 0..h {
                    let row = &self.data[y * w..(y + 1) * w];
                    for (x, &v) in row.iter().enumerate() {
                        let (nx, ny) = if q == 1 { (h - 1 - y, x) } else { (y, w - 1 - x) };
                        data[ny * h + nx] = v;
                    }
                }
                Gray { width: self.height, height: self.width, data }
            }
        }
    }

    /// Shrinks by an integer factor, averaging each block. The usual
    /// factors (2 to 4) are unrolled: this runs on every page twice.
    pub(crate) fn shrink(&self, factor: u32) -> Gray {
        let f = factor.max(1) as usize;
        if f == 1 {
            return self.clone();
        }
        let (w, h) = (self.width as usize / f, self.height as usize / f);
        let mut data = vec![0u8; w.max(1) * h.max(1)];
        match f {
            2 => self.shrink_into::<2>(w, h, &mut data),
            3 => self.shrink_into::<3>(w, h, &mut data),
            4 => self.shrink_into::<4>(w, h, &mut data),
            _ => {
                let mut acc = vec![0u32; w];
                for y in 0..h {
                    acc.iter_mut().for_each(|a| *a = 0);
                    for dy in 0..f {
                        let row = &self.data[(y * f + dy) * self.width as usize..];
                        for (x, a) in acc.iter_mut().enumerate() {
                            for dx in 0..f {
                                *a += row[x * f + dx] as u32;
                            }
                        }
                    }
                    for x in 0..w {
                        data[y * w + x] = (acc[x] / (f * f) as u32) as u8;
                    }
                }
            }
        }
        Gray { width: w.max(1) as u32, height: h.max(1) as u32, data }
    }

    fn shrink_into<const F: usize>(&self, w: usize, h: usize, data: &mut [u8]) {
        let stride = self.width as usize;
        let mut acc = vec![0u32; w];
        for y in 0..h {
            acc.iter_mut().for_each(|a| *a = 0);
            for dy in 0..F {
                let start = (y * F + dy) * stride;
                let row = &self.data[start..start + w * F];
                for (a, block) in acc.iter_mut().zip(row.chunks_exact(F)) {
                    *a += block.iter().map(|&v| v as u32).sum::<u32>();
                }
            }
            for (d, a) in data[y * w..(y + 1) * w].iter_mut().zip(&acc) {
                *d = (a / (F * F) as u32) as u8;
            }
        }
    }

    /// Histogram of gray levels.
    pub(crate) fn histogram(&self) -> [u64; 256] {
        histogram_of_slice(&self.data)
    }
}

/// Each value of a `w` x `h` plane replaced by the largest within `reach`
/// of it (a square): a dilation, rows then columns.
pub(crate) fn max_filter(v: &[u8], w: usize, h: usize, reach: usize) -> Vec<u8> {
    let mut rows = vec![0u8; w * h];
    for (src, dst) in v.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        for (x, d) in dst.iter_mut().enumerate() {
            *d = src[x.saturating_sub(reach)..(x + reach + 1).min(w)].iter().copied().max().unwrap_or(0);
        }
    }
    let mut out = vec![0u8; w * h];
    for (y, dst) in out.chunks_exact_mut(w).enumerate() {
        for yy in y.saturating_sub(reach)..(y + reach + 1).min(h) {
            for (o, &r) in dst.iter_mut().zip(&rows[yy * w..(yy + 1) * w]) {
                *o = (*o).max(r);
            }
        }
    }
    out
}

/// The histogram of a slice of levels. A page is mostly paper of one
/// level, and counting every pixel into one table makes each count wait on
/// the one before it: four tables, summed at the end, count a page in a
/// third of the time (profiled: `rule_level` alone was 2.4% of a run).
pub(crate) fn histogram_of_slice(levels: &[u8]) -> [u64; 256] {
    let mut h = [0u64; 256];
    // u32 counts, flushed before they could overflow.
    for block in levels.chunks(1 << 30) {
        let mut t = [[0u32; 256]; 4];
        let mut quads = block.chunks_exact(4);
        for q in &mut quads {
            t[0][q[0] as usize] += 1;
            t[1][q[1] as usize] += 1;
            t[2][q[2] as usize] += 1;
            t[3][q[3] as usize] += 1;
        }
        for &v in quads.remainder() {
            t[0][v as usize] += 1;
        }
        for (v, c) in h.iter_mut().enumerate() {
            *c += t.iter().map(|t| u64::from(t[v])).sum::<u64>();
        }
    }
    h
}

/// The histogram of some levels.
pub(crate) fn histogram_of(levels: impl IntoIterator<Item = u8>) -> [u64; 256] {
    let mut h = [0u64; 256];
    for v in levels {
        h[v as usize] += 1;
    }
    h
}

/// The `k`-th smallest (from 0) of the levels counted in `hist`, as sorting
/// them would give; 255 when fewer than `k + 1` are counted. Percentiles of
/// a page's levels are taken this way: counting is linear and leaves the
/// pixels as they are.
pub(crate) fn nth_level(hist: &[u64; 256], k: u64) -> u8 {
    let mut acc = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > k {
            return v as u8;
        }
    }
    255
}

/// The level under which a pixel is a ruled line's ink: rules are thin and
/// a photo blurs them, so they are lighter than Otsu's ink (its level and
/// below), but clearly darker than the paper (the median level). Boxed
/// digits' rules and ruled tables' are found by it.
pub(crate) fn rule_level(g: &Gray) -> u8 {
    let hist = g.histogram();
    let paper = nth_level(&hist, g.data.len() as u64 / 2);
    ((otsu(&hist) as u16 + 1 + paper as u16) / 2) as u8
}

/// Otsu's threshold of a histogram.
pub(crate) fn otsu(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 128;
    }
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0f64, 0f64, -1f64, 128u8);
    for (t, &count) in hist.iter().enumerate() {
        w0 += count as f64;
        if w0 == 0.0 {
            continue;
        }
        let w1 = total as f64 - w0;
        if w1 == 0.0 {
            break;
        }
        sum0 += t as f64 * count as f64;
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_every_level_whatever_the_length() {
        for n in [0usize, 1, 3, 4, 5, 1021] {
            let levels: Vec<u8> = (0..n).map(|i| if i % 7 == 0 { (i * 31 % 256) as u8 } else { 255 }).collect();
            let mut naive = [0u64; 256];
            levels.iter().for_each(|&v| naive[v as usize] += 1);
            assert_eq!(histogram_of_slice(&levels), naive, "{n} levels");
        }
    }

    #[test]
    fn shrink_averages_each_block_whatever_the_factor() {
        let mut g = Gray::new(29, 17, 0);
        for (i, v) in g.data.iter_mut().enumerate() {
            *v = (i * 37 % 251) as u8;
        }
        for f in 2..=5u32 {
            let s = g.shrink(f);
            let (w, fu) = (s.width as usize, f as usize);
            assert_eq!((s.width, s.height), (29 / f, 17 / f));
            for y in 0..s.height as usize {
                for x in 0..w {
                    let sum: u32 = (0..fu * fu).map(|k| g.data[(y * fu + k / fu) * 29 + x * fu + k % fu] as u32).sum();
                    assert_eq!(s.data[y * w + x] as u32, sum / (f * f), "factor {f} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn nth_level_is_what_sorting_gives() {
        let levels: Vec<u8> = (0..997u32).map(|i| ((i * 7919) % 251) as u8).collect();
        let hist = histogram_of(levels.iter().copied());
        let mut sorted = levels.clone();
        sorted.sort_unstable();
        for k in [0, 1, 99, 498, 897, 996] {
            assert_eq!(nth_level(&hist, k as u64), sorted[k], "{k}");
        }
        assert_eq!(nth_level(&hist, 997), 255);
    }

    fn sample() -> Gray {
        // 3 wide, 2 high: 0 1 2 / 3 4 5
        Gray { width: 3, height: 2, data: vec![0, 1, 2, 3, 4, 5] }
    }

    #[test]
    fn rotates_clockwise() {
        let r = sample().rotate_cw(1);
        assert_eq!((r.width, r.height), (2, 3));
        assert_eq!(r.data, vec![3, 0, 4, 1, 5, 2]);
        let r3 = sample().rotate_cw(3);
        assert_eq!(r3.data, vec![2, 5, 1, 4, 0, 3]);
        assert_eq!(sample().rotate_cw(2).data, vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(sample().rotate_cw(1).rotate_cw(3), sample());
    }

    #[test]
    fn otsu_splits_two_levels() {
        let mut h = [0u64; 256];
        h[20] = 100;
        h[220] = 900;
        let t = otsu(&h);
        assert!((20..220).contains(&t));
    }
}
