//! A small safe wrapper over the few Leptonica calls sohoa uses (skew search,
//! text orientation, rotation, scaling). Leptonica is already linked through
//! Tesseract and is fast; this module keeps every `unsafe` block about it in
//! one place. It knows nothing of pages, dossiers or files.

use crate::raster::Gray;
use leptonica_sys as l;

/// Silences Leptonica's messages on stderr: every failure it reports reaches
/// the caller as a null result, which sohoa turns into a page error.
pub(crate) fn silence() {
    // SAFETY: sets a process-wide integer; no pointer is passed.
    unsafe { l::setMsgSeverity(l::L_SEVERITY_NONE as i32) };
}

/// libpng's `png_set_compression_level`, defined by this executable so that
/// the PNGs Leptonica writes are stored uncompressed.
///
/// Tesseract hands every text line to its LSTM as a PNG that Leptonica
/// writes in memory and reads straight back (`ImageData::SetPix` and
/// `GetPix`), compressed at zlib's default level. That PNG never leaves
/// the process, yet zlib's deflate was 3.5% of a corpus-dev night's CPU
/// (620 lines written). The link exports this symbol (see `build.rs`), so
/// the dynamic linker binds Leptonica's call here, ahead of libpng; it
/// passes libpng's own function level 0 (stored). The pixels are the same,
/// so is every word read. sohoa writes no PNG through libpng itself.
#[no_mangle]
pub extern "C" fn png_set_compression_level(png: *mut libc::c_void, _level: libc::c_int) {
    type SetLevel = unsafe extern "C" fn(*mut libc::c_void, libc::c_int);
    static LIBPNG: std::sync::OnceLock<Option<SetLevel>> = std::sync::OnceLock::new();
    let real = LIBPNG.get_or_init(|| {
        // SAFETY: dlsym is given a NUL-terminated name and the RTLD_NEXT
        // pseudo-handle; it returns the next definition of the symbol in
        // load order (libpng's, present since its caller links it) or null.
        let f = unsafe { libc::dlsym(libc::RTLD_NEXT, c"png_set_compression_level".as_ptr()) };
        // SAFETY: a non-null address of `png_set_compression_level` is
        // libpng's function of this signature (`void (png_structrp, int)`).
        (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, SetLevel>(f) })
    });
    if let Some(set) = real {
        // SAFETY: `png` is the write structure libpng's caller passed us,
        // handed on unchanged; 0 is a valid zlib level (Z_NO_COMPRESSION).
        unsafe { set(png, 0) }
    }
}

/// An owned Leptonica image, destroyed on drop.
pub(crate) struct Pix(*mut l::PIX);

// SAFETY: a PIX owned by one `Pix` is never shared; Leptonica's functions used
// here are reentrant on distinct images.
unsafe impl Send for Pix {}

impl Drop for Pix {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: `self.0` is non-null and owned by this `Pix` alone; it is destroyed once, here.
            unsafe { l::pixDestroy(&mut self.0) };
        }
    }
}

impl Pix {
    fn wrap(p: *mut l::PIX) -> Option<Pix> {
        if p.is_null() {
            None
        } else {
            Some(Pix(p))
        }
    }

    /// Copies an 8-bit gray raster into a new 8 bpp PIX.
    pub(crate) fn from_gray(g: &Gray) -> Option<Pix> {
        // SAFETY: plain integers in, a new image or null out (null is handled by `wrap`).
        let pix = Pix::wrap(unsafe { l::pixCreate(g.width as i32, g.height as i32, 8) })?;
        // SAFETY: `pix` is a new 8 bpp image of g's size; each row is `wpl`
        // 32-bit words, so every slice made here lies inside its data.
        unsafe {
            let wpl = l::pixGetWpl(pix.0) as usize;
            let data = l::pixGetData(pix.0) as *mut u8;
            for y in 0..g.height as usize {
                let row = &g.data[y * g.width as usize..(y + 1) * g.width as usize];
                let dst = std::slice::from_raw_parts_mut(data.add(y * wpl * 4), wpl * 4);
                write_row_8(row, dst);
            }
        }
        Some(pix)
    }

    /// Decodes JPEG 2000 bytes (through OpenJPEG, which Leptonica links).
    pub(crate) fn read_jp2k(bytes: &[u8]) -> Option<Pix> {
        // SAFETY: the pointer and length come from one live slice; Leptonica only reads it and returns a new image or null.
        Pix::wrap(unsafe { l::pixReadMemJp2k(bytes.as_ptr(), bytes.len(), 1, std::ptr::null_mut(), 0, 0) })
    }

    /// Encodes the image as a lossless JPEG 2000 file (tests make pages with it).
    #[cfg(test)]
    pub(crate) fn write_jp2k(&self) -> Option<Vec<u8>> {
        let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
        // SAFETY: `self.0` is a valid PIX; Leptonica allocates `data` with its own allocator, copied out and freed with lept_free below.
        unsafe {
            if l::pixWriteMemJp2k(&mut data, &mut size, self.0, 100, 0, 0, 0) != 0 || data.is_null() {
                return None;
            }
            let out = std::slice::from_raw_parts(data, size).to_vec();
            l::lept_free(data.cast());
            Some(out)
        }
    }

    /// The horizontal and vertical resolution the image carries, if any.
    pub(crate) fn resolution(&self) -> Option<(f32, f32)> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; these only read its header.
        let (x, y) = unsafe { (l::pixGetXRes(self.0), l::pixGetYRes(self.0)) };
        (x > 0 && y > 0).then_some((x as f32, y as f32))
    }

    /// Any depth to 8 bpp gray.
    pub(crate) fn to_gray8(&self) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; a new image or null comes back, the input is not freed.
        Pix::wrap(unsafe { l::pixConvertTo8(self.0, 0) })
    }

    /// Copies an 8 bpp PIX back into a gray raster.
    pub(crate) fn to_gray(&self) -> Option<Gray> {
        // SAFETY: `self.0` is a valid PIX; its depth is checked to be 8 first; rows of `wpl` words lie inside its data, and `out` has w*h bytes.
        unsafe {
            if l::pixGetDepth(self.0) != 8 {
                return None;
            }
            let w = l::pixGetWidth(self.0) as usize;
            let h = l::pixGetHeight(self.0) as usize;
            let wpl = l::pixGetWpl(self.0) as usize;
            let data = l::pixGetData(self.0) as *const u8;
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                let src = std::slice::from_raw_parts(data.add(y * wpl * 4), wpl * 4);
                read_row_8(src, &mut out[y * w..(y + 1) * w]);
            }
            Some(Gray { width: w as u32, height: h as u32, data: out })
        }
    }

    /// Binarizes an 8 bpp image at a fixed threshold (pixels below are ink).
    pub(crate) fn threshold(&self, thresh: i32) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; a new image or null comes back.
        Pix::wrap(unsafe { l::pixThresholdToBinary(self.0, thresh) })
    }

    /// Skew angle in degrees and the search confidence, for a 1 bpp image,
    /// searched within `range` degrees either way (Leptonica's `pixFindSkew`
    /// searches 7; its reductions, step and precision are kept). A positive
    /// angle means the lines rise to the right; turning the image clockwise
    /// by it levels them.
    pub(crate) fn find_skew(&self, range: f32) -> Option<(f32, f32)> {
        let (mut angle, mut conf) = (0f32, 0f32);
        // SAFETY: `self.0` is a valid PIX; the out-pointers are to live locals.
        let rc = unsafe { l::pixFindSkewSweepAndSearch(self.0, &mut angle, &mut conf, 4, 2, range, 1.0, 0.01) };
        (rc == 0).then_some((angle, conf))
    }

    /// Text orientation confidences for a 1 bpp image: (up, left), as
    /// Leptonica's `pixOrientDetect` gives them.
    pub(crate) fn orient_confidences(&self) -> Option<(f32, f32)> {
        let (mut up, mut left) = (0f32, 0f32);
        // SAFETY: `self.0` is a valid PIX; the out-pointers are to live locals.
        let rc = unsafe { l::pixOrientDetect(self.0, &mut up, &mut left, 0, 0) };
        (rc == 0).then_some((up, left))
    }

    /// Scales an image by `factor`: Leptonica's `pixScale`, which reduces
    /// by area mapping with sharpening and enlarges by linear interpolation,
    /// sharpened only for factors under 1.4.
    pub(crate) fn scale(&self, factor: f32) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; Leptonica returns a
        // new image or null and never frees its input.
        Pix::wrap(unsafe { l::pixScale(self.0, factor, factor) })
    }

    /// Scales an image by `sx` across and `sy` down (as [`Pix::scale`]).
    pub(crate) fn scale_xy(&self, sx: f32, sy: f32) -> Option<Pix> {
        // SAFETY: as in `scale`.
        Pix::wrap(unsafe { l::pixScale(self.0, sx, sy) })
    }

    /// Flattens the background of an 8 bpp image to white (shadows, gray
    /// paper, a photocopier's uneven toner), Leptonica's default tiling.
    pub(crate) fn background_norm(&self) -> Option<Pix> {
        // SAFETY: as in `scale`; null masks mean "none".
        Pix::wrap(unsafe { l::pixBackgroundNormSimple(self.0, std::ptr::null_mut(), std::ptr::null_mut()) })
    }

    /// Sauvola's adaptive binarization of an 8 bpp image: `half` is the
    /// half-width of the local window, `k` the usual factor (about 0.34).
    pub(crate) fn sauvola(&self, half: i32, k: f32) -> Option<Pix> {
        let mut out: *mut l::PIX = std::ptr::null_mut();
        // SAFETY: `self.0` is valid; Leptonica writes a new image (or null)
        // into `out`, which `wrap` then owns; the threshold image is not asked for.
        let rc = unsafe { l::pixSauvolaBinarizeTiled(self.0, half, k, 1, 1, std::ptr::null_mut(), &mut out) };
        if rc != 0 {
            if !out.is_null() {
                // SAFETY: `out` was allocated by Leptonica and is ours.
                unsafe { l::pixDestroy(&mut out) };
            }
            return None;
        }
        Pix::wrap(out)
    }

    /// Removes connected components of a 1 bpp image smaller than `w`×`h`
    /// pixels in both directions (toner specks).
    pub(crate) fn despeckle(&self, w: i32, h: i32) -> Option<Pix> {
        let mut changed = 0;
        // SAFETY: `self.0` is valid; Leptonica returns a new image or null.
        Pix::wrap(unsafe {
            l::pixSelectBySize(self.0, w, h, 8, l::L_SELECT_IF_EITHER as i32, l::L_SELECT_IF_GTE as i32, &mut changed)
        })
    }

    /// The connected components of a 1 bpp image at least `w`×`h` pixels
    /// whose ink fills at least `fill` of their box: the black blobs a
    /// photocopier or fax leaves (shadows, folds), not frames or text.
    pub(crate) fn blobs(&self, w: i32, h: i32, fill: f32) -> Option<Pix> {
        let mut changed = 0;
        // SAFETY: `self.0` is valid; each call returns a new image or null,
        // owned by the `Pix` that wraps it.
        let big = Pix::wrap(unsafe {
            l::pixSelectBySize(self.0, w, h, 8, l::L_SELECT_IF_BOTH as i32, l::L_SELECT_IF_GTE as i32, &mut changed)
        })?;
        // SAFETY: as above, on the image just made.
        Pix::wrap(unsafe { l::pixSelectByAreaFraction(big.0, fill, 8, l::L_SELECT_IF_GTE as i32, &mut changed) })
    }

    /// This 1 bpp image less the ink of `mask` (same size).
    pub(crate) fn minus(&self, mask: &Pix) -> Option<Pix> {
        // SAFETY: both are valid images owned by their `Pix`; a null
        // destination asks for a new image.
        Pix::wrap(unsafe { l::pixSubtract(std::ptr::null_mut(), self.0, mask.0) })
    }

    /// Each pixel of an 8 bpp image replaced by the mean of the
    /// (2`half`+1)² pixels around it (Leptonica's block convolution).
    pub(crate) fn blur(&self, half: i32) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; Leptonica returns a
        // new image or null and never frees its input.
        Pix::wrap(unsafe { l::pixBlockconv(self.0, half, half) })
    }

    /// An 8 bpp image sharpened by unsharp masking: each pixel plus `fract`
    /// times its difference from the mean of the (2`half`+1)² pixels around
    /// it, clipped to 0..=255.
    pub(crate) fn unsharp(&self, half: i32, fract: f32) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; Leptonica returns a
        // new image (a copy when there is nothing to do) or null, and never
        // frees its input.
        Pix::wrap(unsafe { l::pixUnsharpMaskingGray(self.0, half, fract) })
    }

    /// Rotates an 8 bpp image clockwise by `radians` about its centre,
    /// bringing in white. The canvas grows so that no pixel is lost, with the
    /// image staying centred.
    pub(crate) fn rotate(&self, radians: f32) -> Option<Pix> {
        // SAFETY: `self.0` is a valid PIX owned by `self`; these only read its header.
        let (w, h) = unsafe { (l::pixGetWidth(self.0), l::pixGetHeight(self.0)) };
        // SAFETY: `self.0` is a valid PIX owned by `self`; a new image or null comes back.
        Pix::wrap(unsafe {
            l::pixRotate(self.0, radians, l::L_ROTATE_AREA_MAP as i32, l::L_BRING_IN_WHITE as i32, w, h)
        })
    }
}

/// Leptonica stores pixels in 32-bit words, most significant byte first; on a
/// little-endian host byte `x` of a row lives at `x ^ 3`.
#[cfg(target_endian = "little")]
fn write_row_8(row: &[u8], dst: &mut [u8]) {
    // Whole words at once: the compiler turns these into byte swaps.
    let mut words = row.chunks_exact(4);
    for (w, d) in (&mut words).zip(dst.chunks_exact_mut(4)) {
        d.copy_from_slice(&u32::from_le_bytes([w[0], w[1], w[2], w[3]]).to_be_bytes());
    }
    let done = row.len() - words.remainder().len();
    for (j, &v) in words.remainder().iter().enumerate() {
        dst[(done + j) ^ 3] = v;
    }
}

#[cfg(target_endian = "little")]
fn read_row_8(src: &[u8], row: &mut [u8]) {
    let n = row.len();
    let mut words = row.chunks_exact_mut(4);
    for (r, s) in (&mut words).zip(src.chunks_exact(4)) {
        r.copy_from_slice(&u32::from_le_bytes([s[0], s[1], s[2], s[3]]).to_be_bytes());
    }
    let tail = words.into_remainder();
    let done = n - tail.len();
    for (j, v) in tail.iter_mut().enumerate() {
        *v = src[(done + j) ^ 3];
    }
}

#[cfg(target_endian = "big")]
fn write_row_8(row: &[u8], dst: &mut [u8]) {
    dst[..row.len()].copy_from_slice(row);
}

#[cfg(target_endian = "big")]
fn read_row_8(src: &[u8], row: &mut [u8]) {
    let n = row.len();
    row.copy_from_slice(&src[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Gray;

    #[test]
    fn gray_round_trips_through_pix() {
        let g = Gray { width: 7, height: 3, data: (0..21u8).collect() };
        let back = Pix::from_gray(&g).unwrap().to_gray().unwrap();
        assert_eq!(back.data, g.data);
    }

    #[test]
    fn each_pixel_lands_where_leptonica_reads_it() {
        let g = Gray { width: 7, height: 3, data: (0..21u8).map(|v| v * 11).collect() };
        let pix = Pix::from_gray(&g).unwrap();
        for y in 0..3 {
            for x in 0..7 {
                let mut v = 0u32;
                // SAFETY: `pix.0` is a valid 7×3 image owned by `pix`; (x, y) lies inside it; `v` is a live local.
                assert_eq!(unsafe { l::pixGetPixel(pix.0, x, y, &mut v) }, 0);
                assert_eq!(v, u32::from(g.data[(y * 7 + x) as usize]), "({x}, {y})");
            }
        }
    }
}
