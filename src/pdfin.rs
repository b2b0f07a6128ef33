//! Scanned PDFs as input. A scanner's PDF page is usually one image drawn over
//! the whole page; this module finds that image and hands it to the pipeline as
//! a [`Decoded`] page like any other file, with the image's own bytes kept for
//! the archive copy. It exists apart from `decode` because PDF is a container
//! with its own object model, not an image format.
//!
//! Supported: pages that draw exactly one image, encoded as JPEG (DCTDecode),
//! CCITT G4 (CCITTFaxDecode with K < 0) or Flate (gray, RGB, indexed, 1 or 8
//! bits). Any text already on the page is ignored: sohoa does its own OCR.
//! Anything else (several images, vector drawings only, JBIG2, JPEG 2000,
//! encrypted files) is a per-page error naming the reason; nothing is rasterized.

use crate::decode::{self, Color, Decoded, Embed};
use crate::error::PageErrorKind as K;
use crate::raster::Gray;
use lopdf::{Dictionary, Document, Object, ObjectId};

fn load(bytes: &[u8]) -> Result<Document, K> {
    let doc = Document::load_mem(bytes).map_err(|e| K::Corrupt(format!("PDF cannot be read: {e}")))?;
    if doc.is_encrypted() {
        return Err(K::Unsupported("the PDF is encrypted".into()));
    }
    Ok(doc)
}

pub fn page_count(bytes: &[u8]) -> Result<u32, K> {
    let doc = load(bytes)?;
    let n = doc.get_pages().len() as u32;
    if n == 0 {
        return Err(K::Corrupt("the PDF has no pages".into()));
    }
    Ok(n)
}

pub fn decode_page(bytes: &[u8], frame: u32) -> Result<Decoded, K> {
    let doc = load(bytes)?;
    let pages = doc.get_pages();
    let page_id = *pages.get(&(frame + 1)).ok_or_else(|| K::Corrupt(format!("the PDF has no page {}", frame + 1)))?;
    let (image_id, ctm) = single_image(&doc, page_id)?;
    let stream = match doc.get_object(image_id) {
        Ok(Object::Stream(s)) => s,
        _ => return Err(K::Corrupt("the page's image is not a stream".into())),
    };
    let dict = &stream.dict;
    let int = |k: &[u8]| dict.get(k).ok().and_then(|o| deref(&doc, o).as_i64().ok());
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

    let filters: Vec<Vec<u8>> = match dict.get(b"Filter").map(|o| deref(&doc, o)) {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a.iter().filter_map(|o| deref(&doc, o).as_name().ok().map(|n| n.to_vec())).collect(),
        _ => vec![],
    };
    let bits = int(b"BitsPerComponent").unwrap_or(8);
    let image_mask = matches!(dict.get(b"ImageMask"), Ok(Object::Boolean(true)));
    let color = if image_mask { Some(Color::Gray) } else { color_of(&doc, dict) };
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
            let gray = decode::jpeg_gray(&data)?;
            let inverted = color == Color::Cmyk && has_inverted_decode(&doc, dict);
            Ok(Decoded {
                gray,
                dpi,
                dpi_from_page: true,
                embed: Embed::Jpeg { data, width: w, height: h, color, adobe_inverted: inverted },
            })
        }
        [b"CCITTFaxDecode"] => {
            let parms = decode_parms(&doc, dict);
            let p = |k: &[u8]| parms.and_then(|d| d.get(k).ok()).map(|o| deref(&doc, o));
            let k = p(b"K").and_then(|o| o.as_i64().ok()).unwrap_or(0);
            if k >= 0 {
                return Err(K::Unsupported("CCITT Group 3 images in PDFs are not supported yet".into()));
            }
            let black_is_1 = matches!(p(b"BlackIs1"), Some(Object::Boolean(true)));
            // A /Decode [1 0] array swaps black and white as well.
            let decode_inv = has_inverted_decode(&doc, dict);
            let cols = p(b"Columns").and_then(|o| o.as_i64().ok()).unwrap_or(1728) as u32;
            let invert = black_is_1 ^ decode_inv;
            let gray = decode::g4_to_gray(&stream.content, cols, h, invert)?;
            let gray = if cols != w { crop_width(&gray, w) } else { gray };
            let embed = if decode_inv || cols != w {
                decode::bilevel_g4(&gray)
            } else {
                Embed::G4 { data: stream.content.clone(), width: w, height: h, black_is_1 }
            };
            Ok(Decoded { gray, dpi, dpi_from_page: true, embed })
        }
        [b"FlateDecode"] | [] => {
            let raw = stream
                .decompressed_content_with_limit(decode::MAX_PIXELS as usize * 4)
                .or_else(|_| if filters.is_empty() { Ok(stream.content.clone()) } else { Err(()) })
                .map_err(|_| K::Corrupt("the page's image data cannot be inflated".into()))?;
            let gray = raw_to_gray(&doc, dict, &raw, w, h, bits as u32, color, image_mask)?;
            let embed = if gray_is_bilevel(bits as u32) {
                decode::bilevel_g4(&gray)
            } else {
                flate_gray_or_rgb(&doc, dict, &raw, &gray, w, h, bits as u32, color)
            };
            Ok(Decoded { gray, dpi, dpi_from_page: true, embed })
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

fn gray_is_bilevel(bits: u32) -> bool {
    bits == 1
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
    let zl = |d: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).expect("write to Vec");
        e.finish().expect("write to Vec")
    };
    let plain_rgb = color == Some(Color::Rgb)
        && bits == 8
        && indexed_palette(doc, dict).is_none()
        && !has_inverted_decode(doc, dict);
    if plain_rgb && raw.len() >= (w * h * 3) as usize {
        return Embed::Flate {
            data: zl(&raw[..(w * h * 3) as usize]),
            width: w,
            height: h,
            color: Color::Rgb,
            bits: 8,
            png_predictor: false,
            palette: None,
        };
    }
    if let (Some(p), 8) = (indexed_palette(doc, dict), bits) {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for &i in &raw[..(w * h) as usize] {
            let i = i as usize * 3;
            rgb.extend_from_slice(p.get(i..i + 3).unwrap_or(&[255, 255, 255]));
        }
        return Embed::Flate {
            data: zl(&rgb),
            width: w,
            height: h,
            color: Color::Rgb,
            bits: 8,
            png_predictor: false,
            palette: None,
        };
    }
    Embed::Flate {
        data: zl(&gray.data),
        width: w,
        height: h,
        color: Color::Gray,
        bits: 8,
        png_predictor: false,
        palette: None,
    }
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

/// The one image XObject a page draws, and the CTM in force when it is drawn.
fn single_image(doc: &Document, page_id: ObjectId) -> Result<(ObjectId, [f32; 6]), K> {
    let content = doc
        .get_page_content_with_limit(page_id, 64 << 20)
        .map_err(|e| K::Corrupt(format!("page content cannot be read: {e}")))?;
    let ops = lopdf::content::Content::decode(&content)
        .map_err(|_| K::Corrupt("page content cannot be parsed".into()))?
        .operations;
    let xobjects = page_xobjects(doc, page_id);
    let mut stack: Vec<[f32; 6]> = Vec::new();
    let mut ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut images = Vec::new();
    let mut forms = 0;
    let mut vector = 0;
    for op in &ops {
        match op.operator.as_str() {
            "q" => stack.push(ctm),
            "Q" => ctm = stack.pop().unwrap_or(ctm),
            "cm" if op.operands.len() == 6 => {
                let m: Vec<f32> = op.operands.iter().map(|o| o.as_float().unwrap_or(0.0)).collect();
                ctm = mul(&[m[0], m[1], m[2], m[3], m[4], m[5]], &ctm);
            }
            "Do" => {
                let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                    continue;
                };
                if let Some((_, id)) = xobjects.iter().find(|(n, _)| n.as_slice() == name) {
                    match doc.get_object(*id) {
                        Ok(Object::Stream(s))
                            if s.dict.get(b"Subtype").and_then(|o| o.as_name()).ok() == Some(b"Image") =>
                        {
                            images.push((*id, ctm))
                        }
                        _ => forms += 1,
                    }
                }
            }
            "BI" => forms += 1,
            "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "S" | "s" => vector += 1,
            _ => {}
        }
    }
    match (images.len(), forms) {
        (1, 0) => Ok(images[0]),
        (0, 0) if vector > 0 => Err(K::Unsupported("the page has vector drawings but no scanned image".into())),
        (0, 0) => Err(K::Unsupported("the page has no scanned image".into())),
        (n, f) => Err(K::Unsupported(format!(
            "the page is not one scanned image ({n} images, {f} other objects); not supported yet"
        ))),
    }
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
