//! Reading page files. This module exists so that every other stage sees one
//! thing, a `payload::Decoded` page: an 8-bit gray raster for analysis and OCR, the
//! resolution the file declares, and an `Embed` payload that the PDF writer
//! puts in the archive copy. The payload is the scanner's own bytes wherever the
//! format allows it (JPEG as DCTDecode, CCITT G4 as CCITTFaxDecode, PNG's zlib
//! stream with its predictor); an HEIC or AVIF photo as the JPEG libheif makes
//! of it; anything else is stored losslessly.
//!
//! Files are recognized by their first bytes, not their names. Image sizes are
//! checked from the header before any pixel is decoded, so a header that claims
//! 60000×60000 pixels costs nothing.

use crate::error::{PageError, PageErrorKind as K};
use crate::payload::{Color, Decoded, Embed};
use crate::raster::Gray;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

/// The largest page sohoa decodes: an A3 sheet at 600 dpi is 70 Mpx.
pub(crate) const MAX_PIXELS: u64 = 100_000_000;
/// The largest side accepted (also bounded by CCITT's 16-bit line width).
pub(crate) const MAX_SIDE: u64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Tiff,
    Pdf,
    /// A Windows bitmap (old scanner software, Paint).
    Bmp,
    /// A WebP picture (saved from a phone app or a browser).
    WebP,
    /// A GIF (old fax software).
    Gif,
    /// A JPEG 2000 picture (an archive's scanner): a JP2 file or a bare
    /// codestream.
    Jp2,
    /// An HEIC/HEIF photo (an iPhone's own format) or an AVIF picture:
    /// turned into a JPEG by libheif's `heif-convert` ([`decode_heif`]).
    Heif,
}

impl Format {
    /// The `image` crate's name for a format it decodes whole
    /// ([`decode_other`]); None for the formats read here by their parts.
    fn whole(self) -> Option<image::ImageFormat> {
        match self {
            Format::Bmp => Some(image::ImageFormat::Bmp),
            Format::WebP => Some(image::ImageFormat::WebP),
            Format::Gif => Some(image::ImageFormat::Gif),
            Format::Jpeg | Format::Png | Format::Tiff | Format::Pdf | Format::Jp2 | Format::Heif => None,
        }
    }
}

/// Recognizes a file by its first bytes.
pub(crate) fn sniff(bytes: &[u8]) -> Result<Format, K> {
    if bytes.is_empty() {
        return Err(K::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Ok(Format::Tiff);
    }
    if bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    // A bitmap's info header is 12 to 124 bytes long: "BM" alone starts text too.
    if bytes.starts_with(b"BM")
        && bytes
            .get(14..18)
            .is_some_and(|h| matches!(u32::from_le_bytes([h[0], h[1], h[2], h[3]]), 12 | 40 | 52 | 56 | 64 | 108 | 124))
    {
        return Ok(Format::Bmp);
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Ok(Format::WebP);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(Format::Gif);
    }
    if bytes.starts_with(b"\0\0\0\x0CjP  \r\n\x87\n") || bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Ok(Format::Jp2);
    }
    if is_heif(bytes) {
        return Ok(Format::Heif);
    }
    let head = &bytes[..bytes.len().min(64)];
    let what = if head.iter().all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b)) {
        "the file holds text, not an image".to_string()
    } else {
        format!("unknown file signature {:02x?}", &head[..head.len().min(8)])
    };
    Err(K::Unsupported(what))
}

/// An HEIF file by its major brand: an iPhone's HEIC photo, a still or a
/// sequence, or an AVIF picture.
fn is_heif(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"ftyp")
        && matches!(
            bytes.get(8..12),
            Some(b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif" | b"avis")
        )
}

/// The error for a PDF given to the image decoders: PDFs are read by
/// `pdfin` (which `pipeline` calls for them), never here.
fn not_an_image() -> K {
    K::Unsupported("a PDF is not an image file; its pages are read by pdfin".into())
}

/// How much of a file is read to recognize it and find its image's size.
const HEAD: u64 = 1 << 20;

/// A file's first bytes (up to [`HEAD`]) and its length: what is known
/// before a file is read whole, if it ever is.
pub(crate) struct Head {
    pub bytes: Vec<u8>,
    pub len: u64,
}

pub(crate) fn head(file: &mut std::fs::File) -> std::io::Result<Head> {
    let len = file.metadata()?.len();
    let mut bytes = Vec::with_capacity(HEAD.min(len) as usize);
    file.rewind()?;
    file.by_ref().take(HEAD).read_to_end(&mut bytes)?;
    file.rewind()?;
    Ok(Head { bytes, len })
}

/// How many pages an image file holds (frames of a TIFF, else 1), read
/// from its head and, for a TIFF, its directories.
pub(crate) fn page_count(file: std::fs::File, head: &Head) -> Result<u32, K> {
    match sniff(&head.bytes)? {
        Format::Jpeg | Format::Png | Format::Bmp | Format::WebP | Format::Gif | Format::Jp2 | Format::Heif => Ok(1),
        Format::Tiff => tiff_page_count(std::io::BufReader::new(file)),
        Format::Pdf => Err(not_an_image()),
    }
}

/// Decodes page `frame` (0-based) of an image file. A TIFF is read by its
/// directories and the page's strips; a JPEG or PNG is read whole only when
/// its size fits the image its header declares ([`check_file_size`]).
pub(crate) fn decode(path: &Path, frame: u32) -> Result<Decoded, PageError> {
    let err = |k| PageError::new(path, Some(frame), k);
    let mut file = std::fs::File::open(path).map_err(|e| err(K::Io(e)))?;
    let head = head(&mut file).map_err(|e| err(K::Io(e)))?;
    let format = sniff(&head.bytes).map_err(err)?;
    if format == Format::Tiff {
        return decode_tiff(std::io::BufReader::new(file), frame, head.len).map_err(err);
    }
    if format == Format::Heif {
        return decode_heif(path).map_err(err);
    }
    check_file_size(format, &head).map_err(err)?;
    let bytes = if head.len <= HEAD {
        head.bytes
    } else {
        let mut bytes = Vec::with_capacity(head.len as usize);
        file.take(head.len).read_to_end(&mut bytes).map_err(|e| err(K::Io(e)))?;
        bytes
    };
    decode_bytes(bytes, frame).map_err(err)
}

/// Refuses a JPEG or PNG file much larger than the pixels its header
/// declares (a 1 GB file behind a small image holds something else), before
/// it is read: what is read whole is bounded by the page.
fn check_file_size(format: Format, head: &Head) -> Result<(), K> {
    let raw = match format {
        Format::Jpeg => jpeg_dims(&head.bytes).map(|(w, h, c)| w * h * c),
        Format::Png => png_dims(&head.bytes).map(|(w, h, bits)| w * h * bits / 8),
        Format::Jp2 => jp2_dims(&head.bytes).map(|(w, h)| w * h * 4),
        f => f.whole().and_then(|f| {
            let (w, h) = image::ImageReader::with_format(Cursor::new(&head.bytes), f).into_dimensions().ok()?;
            Some(w as u64 * h as u64 * 4)
        }),
    };
    // Without a size in the head the largest page is the bound.
    let raw = raw.unwrap_or(MAX_PIXELS * 4);
    let limit = raw + raw / 2 + (1 << 20);
    if head.len > limit {
        return Err(K::Limit(format!(
            "the file is {} MB, more than its {}-MB image can take (it holds something else)",
            head.len >> 20,
            raw >> 20
        )));
    }
    Ok(())
}

/// Width, height and components from a JPEG's frame header, if it lies in `b`.
fn jpeg_dims(b: &[u8]) -> Option<(u64, u64, u64)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        let m = *b.get(i + 1)?;
        if b[i] != 0xFF {
            return None;
        }
        if m == 0xFF || m == 0xD8 || (0xD0..=0xD7).contains(&m) || m == 0x01 {
            i += if m == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if matches!(m, 0xC0..=0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC {
            let seg = b.get(i + 4..i + 10)?;
            let h = u16::from_be_bytes([seg[1], seg[2]]) as u64;
            let w = u16::from_be_bytes([seg[3], seg[4]]) as u64;
            return Some((w, h, seg[5] as u64));
        }
        i += 2 + len;
    }
    None
}

/// Width, height and bits per pixel from a PNG's header chunk.
fn png_dims(b: &[u8]) -> Option<(u64, u64, u64)> {
    let d = b.get(16..26)?;
    let (w, h) = (u32::from_be_bytes([d[0], d[1], d[2], d[3]]), u32::from_be_bytes([d[4], d[5], d[6], d[7]]));
    let channels = match d[9] {
        0 | 3 => 1,
        4 => 2,
        2 => 3,
        6 => 4,
        _ => return None,
    };
    Some((w as u64, h as u64, channels * (d[8] as u64).max(8)))
}

pub(crate) fn decode_bytes(bytes: Vec<u8>, frame: u32) -> Result<Decoded, K> {
    match sniff(&bytes)? {
        Format::Jpeg => decode_jpeg(bytes),
        Format::Png => decode_png(bytes),
        Format::Tiff => {
            let len = bytes.len() as u64;
            decode_tiff(Cursor::new(bytes), frame, len)
        }
        Format::Pdf => Err(not_an_image()),
        Format::Bmp => decode_other(bytes, image::ImageFormat::Bmp),
        Format::WebP => decode_other(bytes, image::ImageFormat::WebP),
        Format::Gif => decode_other(bytes, image::ImageFormat::Gif),
        Format::Jp2 => decode_jp2(bytes),
        // No PDF filter holds one: an HEIF picture is only ever a file.
        Format::Heif => Err(K::Unsupported("an HEIC/AVIF picture is read from its own file only".into())),
    }
}

/// An HEIC or AVIF photo, as the JPEG that libheif's `heif-convert` makes of
/// its primary image (turned as the photo is shown): its gray is read, and
/// the JPEG goes to the archive copy (PDF/A has no place for HEIF). Without
/// `heif-convert` the page is an error saying what to install, and is read
/// the next night once it is there (a transient error).
fn decode_heif(path: &Path) -> Result<Decoded, K> {
    // The JPEG is read as any page file is, its size checked first.
    let (_dir, jpeg) = crate::poppler::heif_to_jpeg(path)?;
    let d = decode(&jpeg, 0).map_err(|e| e.kind)?;
    match d.embed {
        Embed::Jpeg { .. } => Ok(d),
        _ => Err(K::Corrupt("heif-convert did not give a JPEG".into())),
    }
}

pub(crate) fn check_size(width: u64, height: u64) -> Result<(), K> {
    if width == 0 || height == 0 {
        return Err(K::Corrupt(format!("image has no pixels ({width}x{height})")));
    }
    if width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS {
        return Err(K::TooLarge { width, height, limit: MAX_PIXELS });
    }
    Ok(())
}

fn image_limits() -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE as u32);
    l.max_image_height = Some(MAX_SIDE as u32);
    l.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    l
}

fn image_error(e: image::ImageError) -> K {
    match e {
        image::ImageError::Limits(l) => K::Corrupt(format!("image exceeds decoding limits: {l}")),
        other => K::Corrupt(other.to_string()),
    }
}

/// Converts any decoded image to gray, compositing transparency over white.
/// `camera`: the file declares no resolution, as a camera's picture does.
fn to_gray(img: &image::DynamicImage, camera: bool) -> Gray {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    let data = match img {
        D::ImageLuma8(g) => g.as_raw().clone(),
        _ if img.color().has_alpha() => {
            let rgba = img.to_rgba8();
            let rgb: Vec<u8> = rgba
                .pixels()
                .flat_map(|p| {
                    let [r, g, b, a] = p.0;
                    [r, g, b].map(|c| over_white(c, a))
                })
                .collect();
            crate::ink::rgb_gray(&rgb, w, camera)
        }
        D::ImageRgb8(rgb) => crate::ink::rgb_gray(rgb.as_raw(), w, camera),
        _ => img.to_luma8().into_raw(),
    };
    Gray { width: w, height: h, data }
}

/// A colour channel of a pixel of opacity `a`, composited over white paper.
#[inline]
fn over_white(c: u8, a: u8) -> u8 {
    ((c as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8
}

// ---------------------------------------------------------------- JPEG

/// What the JPEG markers say before the scan data.
#[derive(Debug, Default)]
pub(crate) struct JpegInfo {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub dpi: Option<(f32, f32)>,
    pub adobe: bool,
}

/// Walks JPEG markers up to the first scan.
pub(crate) fn jpeg_info(b: &[u8]) -> Result<JpegInfo, K> {
    let mut info = JpegInfo::default();
    let mut i = 2;
    let mut have_sof = false;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return Err(K::Corrupt("JPEG marker expected".into()));
        }
        let m = b[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        if m == 0xD8 || (0xD0..=0xD7).contains(&m) || m == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if len < 2 || i + 2 + len > b.len() {
            return Err(K::Corrupt("truncated JPEG header".into()));
        }
        let seg = &b[i + 4..i + 2 + len];
        match m {
            0xE0 if seg.starts_with(b"JFIF\0") && seg.len() >= 12 => {
                let units = seg[7];
                let xd = u16::from_be_bytes([seg[8], seg[9]]) as f32;
                let yd = u16::from_be_bytes([seg[10], seg[11]]) as f32;
                info.dpi = match units {
                    1 => Some((xd, yd)),
                    2 => Some((xd * 2.54, yd * 2.54)),
                    _ => None,
                };
            }
            0xEE if seg.starts_with(b"Adobe") => info.adobe = true,
            0xC0..=0xCF if m != 0xC4 && m != 0xC8 && m != 0xCC => {
                if seg.len() < 6 {
                    return Err(K::Corrupt("truncated JPEG frame header".into()));
                }
                info.height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
                info.width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
                info.components = seg[5];
                have_sof = true;
            }
            0xDA => {
                // The scan data must end with an EOI marker, or the file was cut short.
                if !b[i..].windows(2).any(|w| w == [0xFF, 0xD9]) {
                    return Err(K::Corrupt("JPEG data is cut short (no end-of-image marker)".into()));
                }
                break;
            }
            _ => {}
        }
        i += 2 + len;
    }
    if !have_sof {
        return Err(K::Corrupt("JPEG has no frame header (truncated?)".into()));
    }
    Ok(info)
}

fn decode_jpeg(bytes: Vec<u8>) -> Result<Decoded, K> {
    let info = jpeg_info(&bytes)?;
    check_size(info.width as u64, info.height as u64)?;
    let color = match info.components {
        1 => Color::Gray,
        3 => Color::Rgb,
        4 => Color::Cmyk,
        n => return Err(K::Unsupported(format!("JPEG with {n} colour components"))),
    };
    let gray = jpeg_gray(&bytes, info.dpi.is_none())?;
    let embed = Embed::Jpeg {
        width: info.width,
        height: info.height,
        color,
        adobe_inverted: color == Color::Cmyk && info.adobe,
        data: bytes,
    };
    Ok(Decoded::new(gray, info.dpi, false, embed))
}

/// Decodes JPEG bytes to gray (used for JPEG files and DCT images in PDFs;
/// `camera` as for [`to_gray`]).
pub(crate) fn jpeg_gray(bytes: &[u8], camera: bool) -> Result<Gray, K> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Jpeg);
    reader.limits(image_limits());
    let img = reader.decode().map_err(image_error)?;
    Ok(to_gray(&img, camera))
}

// ---------------------------------------------------------------- PNG

struct PngInfo {
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    interlaced: bool,
    dpi: Option<(f32, f32)>,
    idat: Vec<u8>,
    palette: Option<Vec<u8>>,
    has_trns: bool,
}

fn png_info(b: &[u8]) -> Result<PngInfo, K> {
    let mut i = 8;
    let mut info = PngInfo {
        width: 0,
        height: 0,
        bit_depth: 0,
        color_type: 0,
        interlaced: false,
        dpi: None,
        idat: Vec::new(),
        palette: None,
        has_trns: false,
    };
    let mut seen_ihdr = false;
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let kind = &b[i + 4..i + 8];
        let end = i + 8 + len;
        if end > b.len() {
            return Err(K::Corrupt("truncated PNG".into()));
        }
        let d = &b[i + 8..end];
        match kind {
            b"IHDR" if d.len() >= 13 => {
                info.width = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                info.height = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
                info.bit_depth = d[8];
                info.color_type = d[9];
                info.interlaced = d[12] != 0;
                seen_ihdr = true;
                check_size(info.width as u64, info.height as u64)?;
            }
            b"pHYs" if d.len() >= 9 && d[8] == 1 => {
                let x = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as f32 * 0.0254;
                let y = u32::from_be_bytes([d[4], d[5], d[6], d[7]]) as f32 * 0.0254;
                info.dpi = Some((x, y));
            }
            b"PLTE" => info.palette = Some(d.to_vec()),
            b"tRNS" => info.has_trns = true,
            b"IDAT" => info.idat.extend_from_slice(d),
            b"IEND" => break,
            _ => {}
        }
        i = end + 4; // skip CRC
    }
    if !seen_ihdr {
        return Err(K::Corrupt("PNG has no header chunk".into()));
    }
    Ok(info)
}

fn decode_png(bytes: Vec<u8>) -> Result<Decoded, K> {
    let info = png_info(&bytes)?;
    let mut reader = image::ImageReader::with_format(Cursor::new(&bytes), image::ImageFormat::Png);
    reader.limits(image_limits());
    let img = reader.decode().map_err(image_error)?;
    let gray = to_gray(&img, info.dpi.is_none());
    // Pass the zlib stream through where PDF can read it as it is: no alpha,
    // no interlacing, no transparency key.
    let passthrough = !info.interlaced
        && !info.has_trns
        && match info.color_type {
            0 => true,
            2 => info.bit_depth == 8 || info.bit_depth == 16,
            3 => info.palette.is_some(),
            _ => false,
        };
    let (w, h) = (info.width, info.height);
    let embed = if passthrough {
        Embed::Flate {
            data: info.idat,
            width: w,
            height: h,
            color: if info.color_type == 0 { Color::Gray } else { Color::Rgb },
            bits: info.bit_depth,
            png_predictor: true,
            palette: if info.color_type == 3 { info.palette } else { None },
        }
    } else if img.color().has_color() {
        let rgb = flatten_rgb(&img);
        Embed::flate_rgb(&rgb, w, h)
    } else {
        Embed::flate_gray(&gray.data, w, h)
    };
    Ok(Decoded::new(gray, info.dpi, false, embed))
}

/// RGB over a white background.
fn flatten_rgb(img: &image::DynamicImage) -> Vec<u8> {
    if !img.color().has_alpha() {
        return img.to_rgb8().into_raw();
    }
    let rgba = img.to_rgba8();
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for p in rgba.pixels() {
        let a = p.0[3] as u32;
        for c in &p.0[..3] {
            out.push(((*c as u32 * a + 255 * (255 - a)) / 255) as u8);
        }
    }
    out
}

// ---------------------------------------------------------- BMP, WebP, GIF

/// A bitmap, WebP or GIF page (a GIF's first frame): decoded whole and
/// kept losslessly, none of them having a form a PDF carries as it is. A
/// bitmap's resolution is its header's; WebP and GIF declare none.
fn decode_other(bytes: Vec<u8>, format: image::ImageFormat) -> Result<Decoded, K> {
    let (w, h) = image::ImageReader::with_format(Cursor::new(&bytes), format).into_dimensions().map_err(image_error)?;
    check_size(w as u64, h as u64)?;
    let mut reader = image::ImageReader::with_format(Cursor::new(&bytes), format);
    reader.limits(image_limits());
    let img = reader.decode().map_err(image_error)?;
    let dpi = if format == image::ImageFormat::Bmp { bmp_dpi(&bytes) } else { None };
    let gray = to_gray(&img, dpi.is_none());
    // The archive keeps the file's pixels (over white where transparent);
    // a palette or RGB file of gray pixels (a bilevel scan saved as a
    // bitmap) is kept gray: a third of the bytes, the same page.
    let embed = if img.color().has_color() || img.color().has_alpha() {
        let rgb = flatten_rgb(&img);
        if rgb.chunks_exact(3).any(|p| p[0] != p[1] || p[1] != p[2]) {
            Embed::flate_rgb(&rgb, w, h)
        } else {
            Embed::flate_gray(&rgb.chunks_exact(3).map(|p| p[0]).collect::<Vec<u8>>(), w, h)
        }
    } else {
        Embed::flate_gray(&gray.data, w, h)
    };
    Ok(Decoded::new(gray, dpi, false, embed))
}

/// A JPEG 2000 page: decoded as a PDF's JPXDecode image is ([`jpx_gray`]).
fn decode_jp2(bytes: Vec<u8>) -> Result<Decoded, K> {
    let (w, h) = jp2_dims(&bytes).ok_or_else(|| K::Corrupt("JPEG 2000 picture without an image header".into()))?;
    check_size(w, h)?;
    let (gray, dpi) = jpx_gray(&bytes)?;
    let (w, h) = (gray.width, gray.height);
    // A JP2 file goes into the archive copy as it is; a bare codestream has
    // no colour box, which PDF/A asks of a JPEG 2000 image: its gray pixels
    // are kept losslessly instead.
    let embed = if bytes.starts_with(&[0xFF, 0x4F]) {
        Embed::flate_gray(&gray.data, w, h)
    } else {
        Embed::Jpx { data: bytes, width: w, height: h }
    };
    Ok(Decoded::new(gray, dpi, false, embed))
}

/// Decodes JPEG 2000 bytes (a JP2 file, a bare codestream or a PDF's
/// JPXDecode stream) to gray through Leptonica (OpenJPEG), with the
/// resolution they carry. What Leptonica cannot read is `Unsupported` (a
/// PDF's page is then rendered by poppler).
pub(crate) fn jpx_gray(bytes: &[u8]) -> Result<(Gray, Option<(f32, f32)>), K> {
    // OpenJPEG decodes a damaged or cut-short codestream to a flat image
    // without complaint, which would pass for a blank page: a codestream
    // must end with its end marker (FFD9).
    let end = bytes.iter().rposition(|b| !b" \r\n\t".contains(b)).map_or(0, |i| i + 1);
    if !bytes[..end].ends_with(&[0xFF, 0xD9]) {
        return Err(K::Corrupt("JPEG 2000 image is damaged or cut short (no end-of-codestream marker)".into()));
    }
    let pix = crate::lept::Pix::read_jp2k(bytes)
        .ok_or_else(|| K::Unsupported("JPEG 2000 image not readable by Leptonica".into()))?;
    let gray = pix
        .to_gray8()
        .and_then(|g| g.to_gray())
        .ok_or_else(|| K::Corrupt("the JPEG 2000 image cannot be converted to gray".into()))?;
    Ok((gray, pix.resolution()))
}

/// A JPEG 2000 picture's size from its header, before any pixel is
/// decoded: a JP2 file's image header box, or a bare codestream's SIZ
/// marker (the image area less its offset).
fn jp2_dims(b: &[u8]) -> Option<(u64, u64)> {
    let be = |i: usize| b.get(i..i + 4).map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as u64);
    if b.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some((be(8)?.checked_sub(be(16)?)?, be(12)?.checked_sub(be(20)?)?));
    }
    let at = b[..b.len().min(HEAD as usize)].windows(4).position(|w| w == b"ihdr")? + 4;
    Some((be(at + 4)?, be(at)?))
}

/// A bitmap's resolution from its info header's pixels per metre (none
/// when 0 or implausible).
fn bmp_dpi(b: &[u8]) -> Option<(f32, f32)> {
    let le = |i: usize| b.get(i..i + 4).map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]]));
    let header = le(14)?;
    if header < 40 {
        return None;
    }
    let (x, y) = (le(38)? as f32 * 0.0254, le(42)? as f32 * 0.0254);
    ((50.0..=2400.0).contains(&x) && (50.0..=2400.0).contains(&y)).then(|| (x.round(), y.round()))
}

// ---------------------------------------------------------------- TIFF

fn tiff_decoder<R: Read + Seek>(r: R) -> Result<tiff::decoder::Decoder<R>, K> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = (MAX_PIXELS * 4) as usize;
    limits.intermediate_buffer_size = (MAX_PIXELS * 4) as usize;
    tiff::decoder::Decoder::new(r).map(|d| d.with_limits(limits)).map_err(tiff_error)
}

fn tiff_error(e: tiff::TiffError) -> K {
    match e {
        tiff::TiffError::UnsupportedError(u) => K::Unsupported(format!("TIFF: {u}")),
        tiff::TiffError::IoError(io) => K::Corrupt(format!("TIFF truncated: {io}")),
        other => K::Corrupt(format!("TIFF: {other}")),
    }
}

fn tiff_page_count<R: Read + Seek>(r: R) -> Result<u32, K> {
    let mut d = tiff_decoder(r)?;
    let mut n = 1;
    while d.more_images() {
        d.next_image().map_err(tiff_error)?;
        n += 1;
        if n > 10_000 {
            return Err(K::Corrupt("TIFF claims more than 10000 pages".into()));
        }
    }
    Ok(n)
}

/// Page `frame` of a TIFF of `len` bytes, read from its directories and
/// that page's strips only.
fn decode_tiff<R: Read + Seek>(r: R, frame: u32, len: u64) -> Result<Decoded, K> {
    use tiff::tags::Tag;
    let mut d = tiff_decoder(r)?;
    d.seek_to_image(frame as usize).map_err(tiff_error)?;
    let (w, h) = d.dimensions().map_err(tiff_error)?;
    check_size(w as u64, h as u64)?;
    let dpi = tiff_dpi(&mut d);
    let compression = d.find_tag_unsigned::<u16>(Tag::Compression).ok().flatten().unwrap_or(1);
    let photometric = d.find_tag_unsigned::<u16>(Tag::PhotometricInterpretation).ok().flatten().unwrap_or(0);
    let bps = d.find_tag_unsigned::<u16>(Tag::BitsPerSample).ok().flatten().unwrap_or(1);
    let fill_order = d.find_tag_unsigned::<u16>(Tag::FillOrder).ok().flatten().unwrap_or(1);
    if compression == 4 && bps == 1 && fill_order == 1 && photometric <= 1 {
        let offsets = d.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_error)?;
        let counts = d.get_tag_u64_vec(Tag::StripByteCounts).map_err(tiff_error)?;
        let rows_per_strip = d.find_tag_unsigned::<u32>(Tag::RowsPerStrip).ok().flatten().unwrap_or(h).max(1);
        // G4 never takes more than a few bits per pixel.
        let total: u64 = counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
        if total > w as u64 * h as u64 + (1 << 20) {
            return Err(K::Limit(format!("the page's G4 strips claim {} MB for a {w}x{h} page", total >> 20)));
        }
        let mut strips: Vec<Vec<u8>> = Vec::new();
        for (&o, &c) in offsets.iter().zip(&counts) {
            if o.saturating_add(c) > len {
                return Err(K::Corrupt("TIFF strip lies past the end of the file (truncated?)".into()));
            }
            let mut s = vec![0; c as usize];
            let inner = d.inner();
            inner
                .seek(std::io::SeekFrom::Start(o))
                .and_then(|_| inner.read_exact(&mut s))
                .map_err(|e| K::Corrupt(format!("TIFF strip cannot be read: {e}")))?;
            strips.push(s);
        }
        if strips.is_empty() {
            return Err(K::Corrupt("TIFF has no image data".into()));
        }
        // In TIFF, fax "white" runs are value 0; BlackIsZero makes them black.
        let invert = photometric == 1;
        let mut gray = Gray::new(w, 0, 255);
        for (i, s) in strips.iter().enumerate() {
            let rows = rows_per_strip.min(h - (i as u32 * rows_per_strip).min(h));
            let part = g4_to_gray(s, w, rows, invert)?;
            gray.data.extend_from_slice(&part.data);
            gray.height += part.height;
        }
        if gray.height != h {
            return Err(K::Corrupt(format!("TIFF G4 data holds {} of {} rows", gray.height, h)));
        }
        let embed = if strips.len() == 1 {
            Embed::G4 { data: strips.swap_remove(0), width: w, height: h, black_is_1: invert }
        } else {
            bilevel_g4(&gray)
        };
        return Ok(Decoded::new(gray, dpi, false, embed));
    }
    let ct = d.colortype().map_err(tiff_error)?;
    let img = d.read_image().map_err(tiff_error)?;
    let tiff::decoder::DecodingResult::U8(buf) = img else {
        return Err(K::Unsupported(format!("TIFF sample format {ct:?}")));
    };
    let (gray, embed) = match ct {
        tiff::ColorType::Gray(8) => {
            let g = Gray { width: w, height: h, data: buf };
            let e = Embed::flate_gray(&g.data, w, h);
            (g, e)
        }
        tiff::ColorType::Gray(1) => {
            let stride = (w as usize).div_ceil(8);
            if buf.len() < stride * h as usize {
                return Err(K::Corrupt("TIFF holds fewer rows than it declares".into()));
            }
            let mut g = Gray::new(w, h, 255);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let bit = (buf[y * stride + x / 8] >> (7 - x % 8)) & 1;
                    g.data[y * w as usize + x] = if bit == 1 { 255 } else { 0 };
                }
            }
            let e = bilevel_g4(&g);
            (g, e)
        }
        tiff::ColorType::RGB(8) => {
            let g = Gray { width: w, height: h, data: crate::ink::rgb_gray(&buf, w, false) };
            let e = Embed::flate_rgb(&buf, w, h);
            (g, e)
        }
        tiff::ColorType::RGBA(8) => {
            let mut rgb = Vec::with_capacity(buf.len() / 4 * 3);
            for p in buf.chunks_exact(4) {
                let a = p[3];
                for c in &p[..3] {
                    rgb.push(over_white(*c, a));
                }
            }
            let g = Gray { width: w, height: h, data: crate::ink::rgb_gray(&rgb, w, false) };
            let e = Embed::flate_rgb(&rgb, w, h);
            (g, e)
        }
        other => return Err(K::Unsupported(format!("TIFF colour type {other:?}"))),
    };
    Ok(Decoded::new(gray, dpi, false, embed))
}

fn tiff_dpi<R: std::io::Read + std::io::Seek>(d: &mut tiff::decoder::Decoder<R>) -> Option<(f32, f32)> {
    use tiff::tags::Tag;
    let rational = |v: tiff::decoder::ifd::Value| -> Option<f32> {
        use tiff::decoder::ifd::Value as V;
        match v {
            V::Rational(n, den) if den != 0 => Some(n as f32 / den as f32),
            V::Float(f) => Some(f),
            V::Double(f) => Some(f as f32),
            V::Short(s) => Some(s as f32),
            V::Unsigned(u) => Some(u as f32),
            _ => None,
        }
    };
    let x = rational(d.find_tag(Tag::XResolution).ok()??)?;
    let y = d.find_tag(Tag::YResolution).ok().flatten().and_then(rational).unwrap_or(x);
    let unit = d.find_tag_unsigned::<u16>(Tag::ResolutionUnit).ok().flatten().unwrap_or(2);
    match unit {
        2 => Some((x, y)),
        3 => Some((x * 2.54, y * 2.54)),
        _ => None,
    }
}

/// Decodes CCITT G4 data. `invert` swaps the meaning of the fax colours.
pub(crate) fn g4_to_gray(data: &[u8], width: u32, rows: u32, invert: bool) -> Result<Gray, K> {
    if width > u16::MAX as u32 || rows > u16::MAX as u32 {
        return Err(K::TooLarge { width: width as u64, height: rows as u64, limit: MAX_PIXELS });
    }
    let mut g = Gray { width, height: 0, data: Vec::with_capacity(width as usize * rows as usize) };
    let (black, white) = if invert { (255u8, 0u8) } else { (0u8, 255u8) };
    let ok = fax::decoder::decode_g4(data.iter().copied(), width as u16, Some(rows as u16), |line| {
        g.data.extend(fax::decoder::pels(line, width as u16).map(|c| match c {
            fax::Color::Black => black,
            fax::Color::White => white,
        }));
        g.height += 1;
    });
    if ok.is_none() || g.height != rows {
        return Err(K::Corrupt(format!("CCITT G4 data is damaged (decoded {} of {} rows)", g.height, rows)));
    }
    Ok(g)
}

/// The payload as PDF/A with an sRGB output intent allows it: DeviceCMYK
/// needs a CMYK intent, so a CMYK JPEG is stored as lossless RGB of its
/// decoded pixels (the one case where the scanner's bytes cannot go through).
pub(crate) fn for_pdfa(e: Embed) -> Embed {
    match e {
        Embed::Jpeg { ref data, width, height, color: Color::Cmyk, .. } => {
            let mut reader = image::ImageReader::with_format(Cursor::new(data), image::ImageFormat::Jpeg);
            reader.limits(image_limits());
            match reader.decode() {
                Ok(img) => Embed::flate_rgb(&img.to_rgb8().into_raw(), width, height),
                Err(_) => e,
            }
        }
        other => other,
    }
}

/// A bilevel raster (values below 128 are black) encoded as CCITT G4:
/// lossless, and the most compact form PDF readers know for such pages.
pub(crate) fn bilevel_g4(g: &Gray) -> Embed {
    use fax::{encoder::Encoder, Color as C, VecWriter};
    let w = g.width as usize;
    let mut enc = Encoder::new(VecWriter::with_capacity(g.data.len() / 16));
    for row in g.data.chunks_exact(w.max(1)) {
        // Writing into a Vec cannot fail.
        let _ = enc.encode_line(row.iter().map(|&v| if v < 128 { C::Black } else { C::White }), g.width as u16);
    }
    let data = match enc.finish() {
        Ok(writer) => writer.finish(),
        Err(never) => match never {},
    };
    Embed::G4 { data, width: g.width, height: g.height, black_is_1: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_rejects_text_and_empty() {
        assert!(matches!(sniff(b""), Err(K::Empty)));
        match sniff(b"hello, this is not a jpeg") {
            Err(K::Unsupported(m)) => assert!(m.contains("text")),
            _ => panic!("text accepted"),
        }
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0").unwrap(), Format::Jpeg);
    }

    #[test]
    fn bitmaps_webp_gif_jpeg_2000_and_heif_are_pictures() {
        let mut bmp = Vec::new();
        image::GrayImage::from_pixel(8, 4, image::Luma([200]))
            .write_to(&mut Cursor::new(&mut bmp), image::ImageFormat::Bmp)
            .unwrap();
        assert_eq!(sniff(&bmp).unwrap(), Format::Bmp);
        // 11811 pixels per metre is 300 dpi.
        bmp[38..42].copy_from_slice(&11811i32.to_le_bytes());
        bmp[42..46].copy_from_slice(&11811i32.to_le_bytes());
        let d = decode_bytes(bmp, 0).unwrap();
        assert_eq!((d.gray.width, d.gray.height, d.dpi), (8, 4, Some((300.0, 300.0))));
        assert!(d.gray.data.iter().all(|&v| v == 200));
        assert!(matches!(d.embed, Embed::Flate { color: Color::Gray, .. }), "a gray bitmap stays gray");
        assert!(matches!(sniff(b"BM is how this note starts"), Err(K::Unsupported(m)) if m.contains("text")));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8L").unwrap(), Format::WebP);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0").unwrap(), Format::Gif);
        let page = Gray { width: 40, height: 30, data: (0..1200).map(|i| if i % 7 == 0 { 0 } else { 255 }).collect() };
        let jp2 = crate::lept::Pix::from_gray(&page).and_then(|p| p.write_jp2k()).unwrap();
        assert_eq!((sniff(&jp2).unwrap(), jp2_dims(&jp2)), (Format::Jp2, Some((40, 30))));
        let d = decode_bytes(jp2.clone(), 0).unwrap();
        assert!(d.gray.data == page.data, "the page as encoded");
        assert!(matches!(&d.embed, Embed::Jpx { data, width: 40, height: 30 } if *data == jp2), "kept as it is");
        assert!(
            matches!(decode_bytes(jp2[..jp2.len() - 40].to_vec(), 0), Err(K::Corrupt(m)) if m.contains("cut short"))
        );
        for head in [&b"\0\0\0\x18ftypheic\0\0\0\0"[..], &b"\0\0\0\x1cftypavif\0\0\0\0"[..]] {
            assert_eq!(sniff(head).unwrap(), Format::Heif);
        }
        assert!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0").is_err(), "an MP4 video is no page");
    }

    #[test]
    fn size_check_refuses_huge_headers() {
        assert!(matches!(check_size(60000, 60000), Err(K::TooLarge { .. })));
        assert!(check_size(2481, 3507).is_ok());
        assert!(check_size(0, 10).is_err());
    }

    #[test]
    fn g4_round_trips() {
        let mut g = Gray::new(37, 5, 255);
        for (i, v) in g.data.iter_mut().enumerate() {
            if (i * 7) % 5 == 0 || i % 11 == 3 {
                *v = 0;
            }
        }
        let Embed::G4 { data, black_is_1, .. } = bilevel_g4(&g) else { panic!("G4 expected") };
        assert!(!black_is_1);
        assert_eq!(g4_to_gray(&data, 37, 5, false).unwrap(), g);
    }

    #[test]
    fn lzw_deflate_and_multipage_tiffs_decode_losslessly() {
        use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};
        let gray: Vec<u8> = (0..64 * 48).map(|i| (i * 7 % 251) as u8).collect();
        let rgb: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 3 % 256) as u8).collect();
        let mut bytes = Vec::new();
        {
            let mut enc = TiffEncoder::new(Cursor::new(&mut bytes)).unwrap().with_compression(Compression::Lzw);
            enc.write_image::<colortype::Gray8>(64, 48, &gray).unwrap();
            let mut enc = enc.with_compression(Compression::Deflate(DeflateLevel::Balanced));
            enc.write_image::<colortype::RGB8>(64, 48, &rgb).unwrap();
        }
        assert_eq!(tiff_page_count(Cursor::new(&bytes)).unwrap(), 2);
        let p0 = decode_bytes(bytes.clone(), 0).unwrap();
        assert_eq!(p0.gray.data, gray);
        let p1 = decode_bytes(bytes, 1).unwrap();
        assert!(matches!(p1.embed, Embed::Flate { color: Color::Rgb, bits: 8, .. }));
        assert_eq!(p1.gray.data, crate::ink::rgb_gray(&rgb, 64, false));
    }

    #[test]
    fn truncated_jpeg_header_is_an_error() {
        assert!(jpeg_info(b"\xFF\xD8\xFF\xE0\x00\x10JFIF").is_err());
    }
}
