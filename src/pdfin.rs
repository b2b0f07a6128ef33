//! Scanned PDFs as input, as offices really have them. This module turns each
//! PDF page into a [`Decoded`] page like any other file. It exists apart from
//! `decode` because PDF is a container with its own object model, and because
//! a PDF page may be a scan, a scan with things drawn over it, or born digital.
//!
//! - A page that draws one image and nothing visible over it is read from that
//!   image, whose bytes go to the archive copy unchanged: JPEG (DCTDecode, also
//!   behind Flate), JPEG 2000 (JPXDecode, decoded with OpenJPEG through
//!   Leptonica), CCITT G4, Flate (gray, RGB, indexed; 1 to 8 bits).
//! - Any other page with a scanned image (an image seen through a mask, whose
//!   page shows only what the mask lets through, a signature stamp or received-stamp
//!   drawn over the scan, vector marks, JBIG2 or other encodings this module does
//!   not read) is rendered by poppler's `pdftoppm` at the scan's own resolution,
//!   and that image is OCRed. Measured here, `pdftoppm` renders such an A4 page at
//!   300 dpi in well under the time OCR takes, and reads JBIG2 and every filter.
//! - A page with visible text and no page-sized image is born digital: it is
//!   rendered for the archive copy, and its own text (with positions, from
//!   `pdftotext -bbox-layout`) becomes the text layer instead of OCR.
//!
//! Invisible text already on a scanned page (a scanner's OCR layer, often
//! garbage) is never read: sohoa OCRs the image. Encrypted or unreadable files
//! are errors naming the reason.

use crate::decode;
use crate::error::PageErrorKind as K;
use crate::model::{OcrLine, OcrPage, OcrWord};
use crate::payload::{Color, Decoded, Embed, Origin};
use crate::poppler::run_tool;
use crate::raster::Gray;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// Parses a PDF once, so that all its pages are read from one parse.
pub(crate) fn open(bytes: &[u8]) -> Result<Document, K> {
    load(bytes)
}

/// The most one object or cross-reference stream may inflate to. A scanned
/// dossier's object streams hold a few hundred small dictionaries (kilobytes);
/// a cross-reference stream of 1 MiB lists 150,000 objects. Parsed, one MiB
/// of the smallest objects takes ~100 MB for a moment, which is the bound.
const MAX_STREAM_INFLATED: usize = 1 << 20;

/// What all of a PDF's objects may take in memory once parsed (stream data
/// apart, which is the file's own size), estimated as they are loaded: a
/// small file whose object streams inflate to millions of objects is refused
/// here instead of taking the machine's memory.
const MAX_OBJECTS_MEMORY: usize = 64 << 20;

thread_local! {
    /// The estimate of [`MAX_OBJECTS_MEMORY`] for the PDF this thread loads
    /// (lopdf's filter is a plain `fn`, so its count lives here).
    static LOADED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Roughly what a parsed object takes: its node, its items, its bytes.
fn object_cost(o: &Object) -> usize {
    const NODE: usize = 64;
    NODE + match o {
        Object::Array(a) => a.iter().map(object_cost).sum(),
        Object::Dictionary(d) => d.iter().map(|(k, v)| k.len() + object_cost(v)).sum(),
        Object::Stream(s) => s.dict.iter().map(|(k, v)| k.len() + object_cost(v)).sum(),
        Object::String(b, _) | Object::Name(b) => b.len(),
        _ => 0,
    }
}

/// How many PDF tokens `b` holds, roughly: runs of regular characters and
/// delimiters.
fn tokens(b: &[u8]) -> usize {
    let delimiter = |c: u8| b"[]<>()/{}%".contains(&c);
    let space = |c: u8| b" \t\r\n\x0c\0".contains(&c);
    let mut n = 0;
    let mut in_word = false;
    for &c in b {
        if delimiter(c) {
            n += 1;
            in_word = false;
        } else if space(c) {
            in_word = false;
        } else if !in_word {
            n += 1;
            in_word = true;
        }
    }
    n
}

/// lopdf's load filter: counts each object against the budget and drops
/// every object once it is spent (the load is then refused).
fn budget(id: ObjectId, o: &mut Object) -> Option<(ObjectId, Object)> {
    if LOADED.with(|c| c.get()) > MAX_OBJECTS_MEMORY {
        return None;
    }
    // An object stream is sized before lopdf parses its members, which for
    // the smallest objects takes ~500 bytes per token (measured: one MiB of
    // `0 0 0 …` held ~260 MB for a moment); its members are then counted as
    // they come out of it, like any other object. (Its data is inflated
    // here and again by lopdf: at most 1 MiB each.)
    if let Some(st) = o.as_stream().ok().filter(|st| st.dict.has_type(b"ObjStm")) {
        let parsing = st.get_plain_content_with_limit(MAX_STREAM_INFLATED).map_or(0, |plain| tokens(&plain) * 512);
        if parsing > MAX_OBJECTS_MEMORY {
            LOADED.with(|c| c.set(usize::MAX));
            return None;
        }
    }
    let cost = object_cost(o);
    let spent = LOADED.with(|c| {
        let total = c.get().saturating_add(cost);
        c.set(total);
        total
    });
    if spent > MAX_OBJECTS_MEMORY {
        return None;
    }
    // lopdf keeps `o` for an object read from the file and the returned copy
    // for a member of an object stream, which is never a stream: a stream's
    // data is not copied for nothing.
    Some((id, if o.as_stream().is_ok() { Object::Null } else { o.clone() }))
}

fn load(bytes: &[u8]) -> Result<Document, K> {
    LOADED.with(|c| c.set(0));
    let options = lopdf::LoadOptions {
        filter: Some(budget),
        max_decompressed_size: Some(MAX_STREAM_INFLATED),
        ..Default::default()
    };
    let loaded = Document::load_mem_with_options(bytes, options);
    if LOADED.with(|c| c.replace(0)) > MAX_OBJECTS_MEMORY {
        return Err(K::Limit(format!(
            "the PDF's objects take more than {} MiB once unpacked (object streams that inflate to millions of objects)",
            MAX_OBJECTS_MEMORY >> 20
        )));
    }
    let doc = loaded.map_err(|e| match e {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => K::Limit(format!(
            "one of the PDF's object or cross-reference streams inflates to more than {} MiB",
            MAX_STREAM_INFLATED >> 20
        )),
        e => K::Corrupt(format!("PDF cannot be read: {e}")),
    })?;
    if doc.is_encrypted() {
        return Err(K::Unsupported("the PDF is encrypted".into()));
    }
    Ok(doc)
}

/// The largest PDF parsed whole: lopdf holds the file and a copy of its
/// streams, so a PDF costs about twice its size while its pages are read.
/// A larger one is read a page at a time ([`decode_page_alone`]).
pub(crate) const WHOLE_PDF_MAX: u64 = 64 << 20;

/// Page `frame` of a PDF too large to parse whole: poppler's `pdfseparate`
/// copies that page (its objects, images unchanged) into a PDF of its own,
/// which is read like any other. Memory is then bounded by the page.
pub(crate) fn decode_page_alone(path: &Path, frame: u32) -> Result<Decoded, K> {
    let (_dir, one) = crate::poppler::separate(path, frame + 1)?;
    let bytes = std::fs::read(&one).map_err(K::Io)?;
    decode_page_of(&load(&bytes)?, &one, 0)
}

/// Page `frame` of the PDF at `path`: parsed whole when it is small, read
/// alone when it is larger than [`WHOLE_PDF_MAX`].
pub(crate) fn decode_file_page(path: &Path, frame: u32) -> Result<Decoded, K> {
    if std::fs::metadata(path).map_err(K::Io)?.len() > WHOLE_PDF_MAX {
        return decode_page_alone(path, frame);
    }
    let bytes = std::fs::read(path).map_err(K::Io)?;
    decode_page_of(&load(&bytes)?, path, frame)
}

/// Page `frame` of a parsed PDF (`path` is where poppler reads it from).
pub(crate) fn decode_page_of(doc: &Document, path: &Path, frame: u32) -> Result<Decoded, K> {
    let pages = doc.get_pages();
    let page_id = *pages.get(&(frame + 1)).ok_or_else(|| K::Corrupt(format!("the PDF has no page {}", frame + 1)))?;
    let survey = survey_page(doc, page_id)?;
    if let Some((id, ctm)) = survey.lone_image() {
        match image_page(doc, id, ctm) {
            // An encoding read here: the scanner's bytes go through.
            Ok(d) => return Ok(d),
            // Otherwise poppler renders it below.
            Err(K::Unsupported(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let media = media_size(doc, page_id);
    if survey.visible_text > 0 && !survey.has_page_image(media) {
        return born_digital(path, frame, media);
    }
    if survey.images.is_empty() && survey.visible_text == 0 && survey.vector == 0 && survey.others == 0 {
        return Err(K::Unsupported("the page is empty: no image, text or drawing".into()));
    }
    let dpi = survey.scan_dpi(doc).unwrap_or(300.0);
    let mut d = render(path, frame, dpi, media)?;
    d.origin = Origin::Rendered;
    // A lone JPEG 2000 scan rendered pixel for pixel keeps its own bytes.
    if let Some((id, _)) = survey.lone_image() {
        if let Some(jpx) = jpx_stream(doc, id) {
            if jpx.size() == (d.gray.width, d.gray.height) {
                d.embed = jpx;
                d.origin = Origin::Image;
            }
        }
    }
    Ok(d)
}

/// An image seen through a mask (a PNG's transparency made a soft mask, a
/// stencil or colour-key mask): the page shows the paper wherever the mask
/// hides the image, and may show text only in the mask's shape, so neither
/// its pixels nor its bytes are what the page shows; poppler renders that.
fn seen_through_mask(image: &Dictionary) -> bool {
    image.has(b"SMask") || image.has(b"Mask")
}

fn jpx_stream(doc: &Document, id: ObjectId) -> Option<Embed> {
    let st = doc.get_object(id).ok()?.as_stream().ok()?;
    if seen_through_mask(&st.dict) {
        return None;
    }
    let filter = st.dict.get(b"Filter").ok().and_then(|f| match f {
        Object::Name(n) => Some(n.clone()),
        Object::Array(a) if a.len() == 1 => a[0].as_name().ok().map(|n| n.to_vec()),
        _ => None,
    })?;
    if filter != b"JPXDecode" {
        return None;
    }
    let w = st.dict.get(b"Width").ok()?.as_i64().ok()? as u32;
    let h = st.dict.get(b"Height").ok()?.as_i64().ok()? as u32;
    Some(Embed::Jpx { data: st.content.clone(), width: w, height: h })
}

/// Reads the page from its one image; `Unsupported` when that image's
/// encoding is not one this module reads.
fn image_page(doc: &Document, image_id: ObjectId, ctm: [f32; 6]) -> Result<Decoded, K> {
    let stream = match doc.get_object(image_id) {
        Ok(Object::Stream(s)) => s,
        _ => return Err(K::Corrupt("the page's image is not a stream".into())),
    };
    let dict = &stream.dict;
    if seen_through_mask(dict) {
        return Err(K::Unsupported("an image seen through a mask".into()));
    }
    let int = |k: &[u8]| dict.get(k).ok().and_then(|o| deref(doc, o).as_i64().ok());
    let (w, h) = (int(b"Width").unwrap_or(0), int(b"Height").unwrap_or(0));
    if w <= 0 || h <= 0 {
        return Err(K::Corrupt("the page's image has no size".into()));
    }
    decode::check_size(w as u64, h as u64)?;
    let (w, h) = (w as u32, h as u32);
    // Drawn size in points: the lengths of the CTM's column vectors.
    let dw = (ctm[0] * ctm[0] + ctm[1] * ctm[1]).sqrt();
    let dh = (ctm[2] * ctm[2] + ctm[3] * ctm[3]).sqrt();
    let dpi = (dw > 1.0 && dh > 1.0).then(|| (w as f32 * 72.0 / dw, h as f32 * 72.0 / dh));

    let filters: Vec<Vec<u8>> = match dict.get(b"Filter").map(|o| deref(doc, o)) {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a.iter().filter_map(|o| deref(doc, o).as_name().ok().map(|n| n.to_vec())).collect(),
        _ => vec![],
    };
    let bits = int(b"BitsPerComponent").unwrap_or(8);
    let image_mask = matches!(dict.get(b"ImageMask"), Ok(Object::Boolean(true)));
    let color = if image_mask { Some(Color::Gray) } else { color_of(doc, dict) };
    match filters.iter().map(|f| f.as_slice()).collect::<Vec<_>>().as_slice() {
        [b"DCTDecode"] | [b"FlateDecode", b"DCTDecode"] => {
            let data = if filters.len() == 2 { inflate(&stream.content)? } else { stream.content.clone() };
            let info = decode::jpeg_info(&data)?;
            let color = match info.components {
                1 => Color::Gray,
                3 => Color::Rgb,
                4 => Color::Cmyk,
                n => return Err(K::Unsupported(format!("JPEG with {n} components"))),
            };
            let gray = decode::jpeg_gray(&data, false)?;
            let inverted = color == Color::Cmyk && has_inverted_decode(doc, dict);
            Ok(Decoded::new(
                gray,
                dpi,
                true,
                Embed::Jpeg { data, width: w, height: h, color, adobe_inverted: inverted },
            ))
        }
        [b"JPXDecode"] => {
            // What OpenJPEG through Leptonica cannot read, poppler renders.
            let (gray, _) = crate::decode::jpx_gray(&stream.content)?;
            if (gray.width, gray.height) != (w, h) {
                return Err(K::Corrupt(format!(
                    "JPEG 2000 image is {}x{}, its dictionary says {w}x{h}",
                    gray.width, gray.height
                )));
            }
            Ok(Decoded::new(gray, dpi, true, Embed::Jpx { data: stream.content.clone(), width: w, height: h }))
        }
        [b"CCITTFaxDecode"] => {
            let parms = decode_parms(doc, dict);
            let p = |k: &[u8]| parms.and_then(|d| d.get(k).ok()).map(|o| deref(doc, o));
            let k = p(b"K").and_then(|o| o.as_i64().ok()).unwrap_or(0);
            if k >= 0 {
                return Err(K::Unsupported("CCITT Group 3 images in PDFs are not supported yet".into()));
            }
            let black_is_1 = matches!(p(b"BlackIs1"), Some(Object::Boolean(true)));
            // A /Decode [1 0] array swaps black and white as well.
            let decode_inv = has_inverted_decode(doc, dict);
            let cols = p(b"Columns").and_then(|o| o.as_i64().ok()).unwrap_or(1728) as u32;
            let invert = black_is_1 ^ decode_inv;
            let gray = decode::g4_to_gray(&stream.content, cols, h, invert)?;
            let gray = if cols != w { crop_width(&gray, w) } else { gray };
            let embed = if decode_inv || cols != w {
                decode::bilevel_g4(&gray)
            } else {
                Embed::G4 { data: stream.content.clone(), width: w, height: h, black_is_1 }
            };
            Ok(Decoded::new(gray, dpi, true, embed))
        }
        [b"FlateDecode"] | [] => {
            let raw = stream
                .decompressed_content_with_limit(decode::MAX_PIXELS as usize * 4)
                .or_else(|_| if filters.is_empty() { Ok(stream.content.clone()) } else { Err(()) })
                .map_err(|_| K::Corrupt("the page's image data cannot be inflated".into()))?;
            let gray = raw_to_gray(doc, dict, &raw, w, h, bits as u32, color, image_mask)?;
            let embed = if bits == 1 {
                decode::bilevel_g4(&gray)
            } else {
                flate_gray_or_rgb(doc, dict, &raw, &gray, w, h, bits as u32, color)
            };
            Ok(Decoded::new(gray, dpi, true, embed))
        }
        other => {
            let names: Vec<String> = other.iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect();
            Err(K::Unsupported(format!("page image encoded with {} is not supported yet", names.join(" + "))))
        }
    }
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, K> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(decode::MAX_PIXELS * 4)
        .read_to_end(&mut out)
        .map_err(|e| K::Corrupt(format!("the page's image data cannot be inflated: {e}")))?;
    Ok(out)
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
}

fn decode_parms<'a>(doc: &'a Document, dict: &'a Dictionary) -> Option<&'a Dictionary> {
    match dict.get(b"DecodeParms").map(|o| deref(doc, o)) {
        Ok(Object::Dictionary(d)) => Some(d),
        Ok(Object::Array(a)) => a.first().and_then(|o| deref(doc, o).as_dict().ok()),
        _ => None,
    }
}

fn has_inverted_decode(doc: &Document, dict: &Dictionary) -> bool {
    match dict.get(b"Decode").map(|o| deref(doc, o)) {
        Ok(Object::Array(a)) => a.first().and_then(|o| o.as_float().ok()).is_some_and(|v| v > 0.5),
        _ => false,
    }
}

/// The colour space's family as far as the pixels go.
fn color_of(doc: &Document, dict: &Dictionary) -> Option<Color> {
    let cs = deref(doc, dict.get(b"ColorSpace").ok()?);
    match cs {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"CalGray" | b"G" => Some(Color::Gray),
            b"DeviceRGB" | b"CalRGB" | b"RGB" => Some(Color::Rgb),
            b"DeviceCMYK" | b"CMYK" => Some(Color::Cmyk),
            _ => None,
        },
        Object::Array(a) => {
            let family = a.first().and_then(|o| deref(doc, o).as_name().ok())?;
            match family {
                b"ICCBased" => {
                    let s = a.get(1).map(|o| deref(doc, o))?.as_stream().ok()?;
                    match s.dict.get(b"N").ok().and_then(|o| o.as_i64().ok()) {
                        Some(1) => Some(Color::Gray),
                        Some(3) => Some(Color::Rgb),
                        Some(4) => Some(Color::Cmyk),
                        _ => None,
                    }
                }
                b"CalGray" => Some(Color::Gray),
                b"CalRGB" | b"Lab" => Some(Color::Rgb),
                b"Indexed" | b"I" => Some(Color::Rgb),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The palette of an Indexed colour space as RGB triples.
fn indexed_palette(doc: &Document, dict: &Dictionary) -> Option<Vec<u8>> {
    let a = deref(doc, dict.get(b"ColorSpace").ok()?).as_array().ok()?;
    let family = deref(doc, a.first()?).as_name().ok()?;
    if family != b"Indexed" && family != b"I" {
        return None;
    }
    let base = color_of_base(doc, a.get(1)?)?;
    let lookup = match deref(doc, a.get(3)?) {
        Object::String(s, _) => s.clone(),
        Object::Stream(s) => s.decompressed_content().unwrap_or_else(|_| s.content.clone()),
        _ => return None,
    };
    match base {
        Color::Rgb => Some(lookup),
        Color::Gray => Some(lookup.iter().flat_map(|&g| [g, g, g]).collect()),
        Color::Cmyk => None,
    }
}

fn color_of_base(doc: &Document, o: &Object) -> Option<Color> {
    let mut d = Dictionary::new();
    d.set("ColorSpace", deref(doc, o).clone());
    color_of(doc, &d)
}

#[allow(clippy::too_many_arguments)]
fn raw_to_gray(
    doc: &Document,
    dict: &Dictionary,
    raw: &[u8],
    w: u32,
    h: u32,
    bits: u32,
    color: Option<Color>,
    image_mask: bool,
) -> Result<Gray, K> {
    let palette = indexed_palette(doc, dict);
    let comps = if palette.is_some() { 1 } else { color.map(|c| c.components() as u32).unwrap_or(0) };
    if comps == 0 {
        return Err(K::Unsupported("page image colour space is not supported".into()));
    }
    if !matches!(bits, 1 | 2 | 4 | 8) {
        return Err(K::Unsupported(format!("page image with {bits} bits per component")));
    }
    let stride = (w as usize * comps as usize * bits as usize).div_ceil(8);
    if raw.len() < stride * h as usize {
        return Err(K::Corrupt("page image holds fewer rows than it declares".into()));
    }
    let inverted = has_inverted_decode(doc, dict) ^ image_mask;
    let maxv = (1u32 << bits) - 1;
    let sample = |row: &[u8], i: usize| -> u32 {
        match bits {
            8 => row[i] as u32,
            _ => {
                let bit = i * bits as usize;
                ((row[bit / 8] >> (8 - bits as usize - bit % 8)) as u32) & maxv
            }
        }
    };
    let mut g = Gray::new(w, h, 255);
    for y in 0..h as usize {
        let row = &raw[y * stride..(y + 1) * stride];
        for x in 0..w as usize {
            let v = if let Some(p) = &palette {
                let i = sample(row, x) as usize * 3;
                if i + 2 < p.len() {
                    (p[i] as u32 * 299 + p[i + 1] as u32 * 587 + p[i + 2] as u32 * 114) / 1000
                } else {
                    255
                }
            } else {
                match comps {
                    1 => sample(row, x) * 255 / maxv,
                    3 => {
                        let (r, gg, b) = (sample(row, x * 3), sample(row, x * 3 + 1), sample(row, x * 3 + 2));
                        (r * 299 + gg * 587 + b * 114) / 1000 * 255 / maxv
                    }
                    _ => {
                        let (c, m, yy, k) = (
                            sample(row, x * 4),
                            sample(row, x * 4 + 1),
                            sample(row, x * 4 + 2),
                            sample(row, x * 4 + 3),
                        );
                        let inv = |v: u32| (maxv - v.min(maxv)) * (maxv - k.min(maxv)) / maxv;
                        (inv(c) * 299 + inv(m) * 587 + inv(yy) * 114) / 1000 * 255 / maxv
                    }
                }
            };
            g.data[y * w as usize + x] = if inverted { 255 - v.min(255) as u8 } else { v.min(255) as u8 };
        }
    }
    Ok(g)
}

/// Re-embeds a Flate image losslessly in a colour space sohoa writes itself.
#[allow(clippy::too_many_arguments)]
fn flate_gray_or_rgb(
    doc: &Document,
    dict: &Dictionary,
    raw: &[u8],
    gray: &Gray,
    w: u32,
    h: u32,
    bits: u32,
    color: Option<Color>,
) -> Embed {
    let plain_rgb = color == Some(Color::Rgb)
        && bits == 8
        && indexed_palette(doc, dict).is_none()
        && !has_inverted_decode(doc, dict);
    if plain_rgb && raw.len() >= (w * h * 3) as usize {
        return Embed::flate_rgb(&raw[..(w * h * 3) as usize], w, h);
    }
    if let (Some(p), 8) = (indexed_palette(doc, dict), bits) {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for &i in &raw[..(w * h) as usize] {
            let i = i as usize * 3;
            rgb.extend_from_slice(p.get(i..i + 3).unwrap_or(&[255, 255, 255]));
        }
        return Embed::flate_rgb(&rgb, w, h);
    }
    Embed::flate_gray(&gray.data, w, h)
}

fn crop_width(g: &Gray, w: u32) -> Gray {
    let mut out = Gray::new(w, g.height, 255);
    for y in 0..g.height as usize {
        let n = (w.min(g.width)) as usize;
        out.data[y * w as usize..y * w as usize + n]
            .copy_from_slice(&g.data[y * g.width as usize..y * g.width as usize + n]);
    }
    out
}

/// What a page's content draws.
#[derive(Debug, Default)]
struct Survey {
    /// Image XObjects with the CTM in force when each is drawn.
    images: Vec<(ObjectId, [f32; 6])>,
    /// Form XObjects and inline images.
    others: usize,
    /// Painted paths.
    vector: usize,
    /// Paths painted after the first image (marks over the scan).
    vector_after_image: usize,
    /// Text shown in a visible render mode (not 3, not 7).
    visible_text: usize,
}

impl Survey {
    /// The page is one image and nothing visible over it.
    fn lone_image(&self) -> Option<(ObjectId, [f32; 6])> {
        (self.images.len() == 1 && self.others == 0 && self.vector_after_image == 0 && self.visible_text == 0)
            .then(|| self.images[0])
    }

    /// Drawn area of each image in square points.
    fn areas(&self) -> impl Iterator<Item = (f32, &(ObjectId, [f32; 6]))> {
        self.images.iter().map(|im| {
            let m = im.1;
            ((m[0] * m[3] - m[1] * m[2]).abs(), im)
        })
    }

    /// Some image covers half the page or more: the page is a scan.
    fn has_page_image(&self, media: (f32, f32)) -> bool {
        self.areas().any(|(a, _)| a >= 0.5 * media.0 * media.1)
    }

    /// Resolution of the largest image as drawn, when there is one: the
    /// scan's own resolution, at which the page is rendered.
    fn scan_dpi(&self, doc: &Document) -> Option<f32> {
        let (area, (id, m)) = self.areas().max_by(|a, b| a.0.total_cmp(&b.0))?;
        let drawn_w = (m[0] * m[0] + m[1] * m[1]).sqrt();
        if area < 1.0 || drawn_w < 1.0 {
            return None;
        }
        let w = doc.get_object(*id).ok()?.as_stream().ok()?.dict.get(b"Width").ok()?.as_i64().ok()?;
        Some(w as f32 * 72.0 / drawn_w)
    }
}

/// The largest page content parsed operator by operator: lopdf holds ~570
/// bytes per operator (measured: 66 MB of `0 0 m` took 6.3 GB), so one MiB
/// costs at most ~100 MB. A scan's content is a few bytes; a text page's
/// tens of kilobytes.
const MAX_SURVEYED_CONTENT: usize = 1 << 20;

fn survey_page(doc: &Document, page_id: ObjectId) -> Result<Survey, K> {
    let content = doc
        .get_page_content_with_limit(page_id, 64 << 20)
        .map_err(|e| K::Corrupt(format!("page content cannot be read: {e}")))?;
    if content.len() > MAX_SURVEYED_CONTENT {
        // Not a scan: a drawing this large is rendered by poppler (held to
        // the page's time and memory limits), and read for its own text if
        // it shows any.
        let shows_text = content.windows(2).any(|w| w == b"Tj" || w == b"TJ");
        return Ok(Survey { others: 1, vector: 1, visible_text: usize::from(shows_text), ..Survey::default() });
    }
    let ops = lopdf::content::Content::decode(&content)
        .map_err(|_| K::Corrupt("page content cannot be parsed".into()))?
        .operations;
    let xobjects = page_xobjects(doc, page_id);
    // Graphics state: CTM and text render mode.
    let mut stack: Vec<([f32; 6], i64)> = Vec::new();
    let (mut ctm, mut mode) = ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], 0i64);
    let mut s = Survey::default();
    for op in &ops {
        match op.operator.as_str() {
            "q" => stack.push((ctm, mode)),
            "Q" => (ctm, mode) = stack.pop().unwrap_or((ctm, mode)),
            "cm" if op.operands.len() == 6 => {
                let m: Vec<f32> = op.operands.iter().map(|o| o.as_float().unwrap_or(0.0)).collect();
                ctm = mul(&[m[0], m[1], m[2], m[3], m[4], m[5]], &ctm);
            }
            "Tr" => mode = op.operands.first().and_then(|o| o.as_i64().ok()).unwrap_or(0),
            "Tj" | "TJ" | "'" | "\"" if mode != 3 && mode != 7 => s.visible_text += 1,
            "Do" => {
                let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                    continue;
                };
                if let Some((_, id)) = xobjects.iter().find(|(n, _)| n.as_slice() == name) {
                    match doc.get_object(*id) {
                        Ok(Object::Stream(st))
                            if st.dict.get(b"Subtype").and_then(|o| o.as_name()).ok() == Some(b"Image") =>
                        {
                            s.images.push((*id, ctm))
                        }
                        _ => s.others += 1,
                    }
                }
            }
            "BI" => s.others += 1,
            "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "S" | "s" => {
                s.vector += 1;
                if !s.images.is_empty() {
                    s.vector_after_image += 1;
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The page's size in points (MediaBox, inherited through the page tree).
fn media_size(doc: &Document, page_id: ObjectId) -> (f32, f32) {
    let mut node = doc.get_dictionary(page_id).ok();
    for _ in 0..32 {
        let Some(d) = node else { break };
        if let Ok(Object::Array(a)) = d.get(b"MediaBox").map(|o| deref(doc, o)) {
            let v: Vec<f32> = a.iter().map(|o| deref(doc, o).as_float().unwrap_or(0.0)).collect();
            if v.len() == 4 {
                return ((v[2] - v[0]).abs().max(1.0), (v[3] - v[1]).abs().max(1.0));
            }
        }
        node = d.get(b"Parent").ok().and_then(|o| o.as_reference().ok()).and_then(|id| doc.get_dictionary(id).ok());
    }
    (595.0, 842.0)
}

/// The resolution at which to render a page: at most `MAX_PIXELS`.
fn render_dpi(wanted: f32, media: (f32, f32)) -> f32 {
    let px = |d: f32| (media.0 / 72.0 * d) * (media.1 / 72.0 * d);
    let mut dpi = wanted.clamp(72.0, 600.0);
    while dpi > 36.0 && px(dpi) > decode::MAX_PIXELS as f32 {
        dpi *= 0.8;
    }
    dpi.round()
}

/// Renders page `frame` with poppler at `dpi`.
fn render(path: &Path, frame: u32, dpi: f32, media: (f32, f32)) -> Result<Decoded, K> {
    let dpi = render_dpi(dpi, media);
    let n = (frame + 1).to_string();
    let r = format!("{dpi}");
    let file = path.to_str().ok_or_else(|| K::Unsupported("the file name is not valid UTF-8".into()))?;
    let png = run_tool("pdftoppm", &["-f", &n, "-l", &n, "-r", &r, "-png", "-singlefile", file])?;
    if png.is_empty() {
        return Err(K::Corrupt("pdftoppm rendered nothing for this page".into()));
    }
    let mut d = decode::decode_bytes(png, 0)?;
    d.dpi = Some((dpi, dpi));
    d.dpi_from_page = true;
    d.origin = Origin::Rendered;
    Ok(d)
}

/// A born-digital page: rendered for the archive copy, with its own text.
fn born_digital(path: &Path, frame: u32, media: (f32, f32)) -> Result<Decoded, K> {
    let mut d = render(path, frame, 200.0, media)?;
    let dpi = d.dpi.map(|x| x.0).unwrap_or(200.0);
    let n = (frame + 1).to_string();
    let file = path.to_str().ok_or_else(|| K::Unsupported("the file name is not valid UTF-8".into()))?;
    let xhtml = run_tool("pdftotext", &["-f", &n, "-l", &n, "-bbox-layout", file, "-"])?;
    let text = String::from_utf8_lossy(&xhtml);
    d.text = Some(parse_bbox_layout(&text, dpi / 72.0, d.gray.width, d.gray.height));
    Ok(d)
}

/// Lines and words of `pdftotext -bbox-layout` (XHTML, read by quick-xml:
/// entities and character references resolved), boxes scaled by `k`. What
/// does not parse ends the page's text there.
fn parse_bbox_layout(xhtml: &str, k: f32, width: u32, height: u32) -> OcrPage {
    use quick_xml::events::{BytesStart, Event};
    let bbox = |e: &BytesStart| {
        let attr = |name: &str| -> f32 {
            e.try_get_attribute(name)
                .ok()
                .flatten()
                .and_then(|a| std::str::from_utf8(&a.value).ok().and_then(|v| v.parse().ok()))
                .unwrap_or(0.0)
        };
        [attr("xMin") * k, attr("yMin") * k, attr("xMax") * k, attr("yMax") * k]
    };
    let mut page = OcrPage { width, height, lines: Vec::new() };
    let mut reader = quick_xml::Reader::from_str(xhtml);
    let mut line: Option<OcrLine> = None;
    let mut word: Option<([f32; 4], String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.name().as_ref() {
                b"line" => line = Some(OcrLine { bbox: bbox(&e), words: Vec::new() }),
                b"word" => word = Some((bbox(&e), String::new())),
                _ => {}
            },
            Ok(Event::Text(t)) => {
                if let Some((_, text)) = word.as_mut() {
                    text.push_str(&t.decode().unwrap_or_default());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, text)) = word.as_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        text.push(c);
                    } else if let Some(s) =
                        r.decode().ok().and_then(|name| quick_xml::escape::resolve_predefined_entity(&name))
                    {
                        text.push_str(s);
                    }
                }
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                b"word" => {
                    if let (Some((bbox, text)), Some(l)) = (word.take(), line.as_mut()) {
                        let text: String = text.nfc().collect();
                        if !text.trim().is_empty() {
                            l.words.push(OcrWord { text, bbox, conf: 100.0 });
                        }
                    }
                }
                b"line" => {
                    if let Some(l) = line.take().filter(|l| !l.words.is_empty()) {
                        page.lines.push(l);
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Output cut short keeps the words of its last line.
    if let Some(l) = line.filter(|l| !l.words.is_empty()) {
        page.lines.push(l);
    }
    page
}

fn page_xobjects(doc: &Document, page_id: ObjectId) -> Vec<(Vec<u8>, ObjectId)> {
    let mut out = Vec::new();
    let Ok((direct, ids)) = doc.get_page_resources(page_id) else {
        return out;
    };
    let mut dicts: Vec<&Dictionary> = direct.into_iter().collect();
    dicts.extend(ids.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
    for res in dicts {
        if let Ok(x) = res.get(b"XObject").map(|o| deref(doc, o)) {
            if let Ok(d) = x.as_dict() {
                for (k, v) in d.iter() {
                    if let Ok(id) = v.as_reference() {
                        if !out.iter().any(|(n, _)| n == k) {
                            out.push((k.clone(), id));
                        }
                    }
                }
            }
        }
    }
    out
}

fn mul(a: &[f32; 6], b: &[f32; 6]) -> [f32; 6] {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_seen_through_a_mask_is_not_read_beneath_it() {
        use lopdf::dictionary;
        // A 2 × 2 gray image, uncompressed, drawn over 144 × 144 pt.
        let mut doc = Document::with_version("1.5");
        let image = |extra: Option<(&str, Object)>| {
            let mut dict = dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            };
            if let Some((k, v)) = extra {
                dict.set(k, v);
            }
            lopdf::Stream::new(dict, vec![0, 255, 255, 0])
        };
        let ctm = [144.0, 0.0, 0.0, 144.0, 0.0, 0.0];
        let plain = doc.add_object(image(None));
        let d = image_page(&doc, plain, ctm).expect("a plain gray image is read");
        assert_eq!((d.gray.width, d.gray.height), (2, 2));
        let mask = doc.add_object(image(None));
        for extra in [("SMask", Object::Reference(mask)), ("Mask", Object::Array(vec![0.into(), 10.into()]))] {
            let masked = doc.add_object(image(Some(extra)));
            assert!(matches!(image_page(&doc, masked, ctm), Err(K::Unsupported(_))), "left to poppler's render");
        }
        // Nor does the archive copy take a JPEG 2000 image's bytes in place of
        // poppler's render when a mask hides part of it.
        let jpx = |extra: Option<(&str, Object)>| {
            let mut s = image(extra);
            s.dict.set("Filter", "JPXDecode");
            s
        };
        let plain = doc.add_object(jpx(None));
        assert!(jpx_stream(&doc, plain).is_some());
        let masked = doc.add_object(jpx(Some(("SMask", Object::Reference(mask)))));
        assert!(jpx_stream(&doc, masked).is_none());
    }

    #[test]
    fn bbox_layout_words_come_with_their_entities_resolved() {
        let xhtml = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x.dtd"><html><body><doc>
<page width="595" height="842"><flow><block><line xMin="72" yMin="70" xMax="300" yMax="85">
<word xMin="72" yMin="70" xMax="120" yMax="85">R&amp;D</word>
<word xMin="126" yMin="70" xMax="156" yMax="85">Ti&#7871;p&#x20;nh&#x1EAD;n</word>
<word xMin="160" yMin="70" xMax="200" yMax="85">&lt;x&gt; &quot;y&quot;</word>
<word xMin="210" yMin="70" xMax="220" yMax="85">  </word>
</line><line xMin="72" yMin="90" xMax="80" yMax="99"><word xMin="72" yMin="90" xMax="80" yMax="99">c&#x0302;</word></line>
</block></flow></page></doc></body></html>"#;
        let page = parse_bbox_layout(xhtml, 2.0, 1190, 1684);
        assert_eq!(page.lines.len(), 2);
        let words: Vec<&str> = page.lines[0].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, ["R&D", "Tiếp nhận", "<x> \"y\""]);
        assert_eq!(page.lines[0].words[1].bbox, [252.0, 140.0, 312.0, 170.0]);
        assert_eq!(page.lines[1].words[0].text, "ĉ", "NFC");
        // Cut short: what came before stays.
        let cut = &xhtml[..xhtml.find("<word xMin=\"160\"").unwrap() + 20];
        let cut = parse_bbox_layout(cut, 1.0, 10, 10);
        assert_eq!(cut.lines.len(), 1);
        assert_eq!(cut.lines[0].words.len(), 2, "the words before the cut are kept");
    }
}
