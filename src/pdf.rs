//! The searchable PDF: each page is the scanner's image, unchanged, with an
//! invisible text layer over it, word by word on the line's baseline. This
//! module exists to keep everything about PDF output in one place: image
//! XObjects built from [`Embed`] payloads, the glyphless CID font whose
//! ToUnicode map makes Vietnamese extract in NFC, and the page geometry that
//! puts each recognized word over its pixels even on turned or skewed scans.
//!
//! Orientation is corrected with the page's /Rotate, skew by turning the words
//! with the ink; the image bytes are never decoded and re-encoded here.
//!
//! Objects go to the output as they are made (`lopdf::Writer` serializes
//! each one, this module frames them and writes the cross-reference table),
//! so a PDF of sixty 2.5 MB scans holds one page's image in memory at a
//! time, not the file.

use crate::model::{Geometry, OcrPage};
use crate::payload::{Color, Embed};
use lopdf::{dictionary, Dictionary, Object, ObjectId, Stream, StringFormat};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Write;

/// Ascent and descent of the glyphless font, in thousandths of the size.
const ASCENT: f32 = 0.8;
const DESCENT: f32 = 0.2;
/// Advance width of every glyph, in thousandths of the size.
const ADVANCE: f32 = 0.5;

/// What a finished PDF says about itself.
pub(crate) struct DocInfo<'a> {
    /// dc:title and the Info Title.
    pub title: &'a str,
    /// Set when the PDF derives from digitally signed files it cannot carry
    /// the signatures of.
    pub derivative_note: Option<&'a str>,
    /// Write PDF/A-2b (XMP, output intent); plain PDF otherwise.
    pub pdfa: bool,
    /// Values of `pdfa::PROPERTIES` (Nghị định 30/2020 document metadata).
    pub metadata: BTreeMap<String, String>,
    pub created: time::OffsetDateTime,
    /// Where the file goes, relative to OUT: with the title and the time it
    /// makes the document ID, which is then the same for the same output
    /// (a sharded night and a plain run write the same bytes).
    pub path: &'a str,
}

fn uuid_text(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// One page to write.
pub(crate) struct PageIn<'a> {
    pub embed: &'a Embed,
    /// Resolution of the raster the page was read on (`geometry`'s pixels,
    /// square).
    pub dpi: f32,
    pub geometry: Geometry,
    pub ocr: Option<&'a OcrPage>,
}

/// Builds one PDF, page by page, writing each object as it comes.
pub(crate) struct PdfWriter<W: Write> {
    out: W,
    /// Bytes written so far: the next object's offset.
    pos: u64,
    /// Each object's offset, by object number - 1 (0 until written).
    offsets: Vec<u64>,
    pages_id: ObjectId,
    font_id: ObjectId,
    kids: Vec<Object>,
    cids: BTreeMap<char, u16>,
    show_text: bool,
    /// Images already written, by a hash of their bytes and form: pages
    /// that show the same image (a PDF whose pages share one scan) share
    /// one image object, so the file grows with the images, not the pages.
    images: std::collections::HashMap<[u8; 32], ObjectId>,
}

impl<W: Write> PdfWriter<W> {
    /// `show_text` outlines each word of the text layer in red (for checking
    /// its placement by eye).
    pub(crate) fn new(out: W, show_text: bool) -> std::io::Result<PdfWriter<W>> {
        let mut w = PdfWriter {
            out,
            pos: 0,
            offsets: Vec::new(),
            pages_id: (0, 0),
            font_id: (0, 0),
            kids: Vec::new(),
            cids: BTreeMap::new(),
            show_text,
            images: Default::default(),
        };
        // The binary comment (bytes above 127) that PDF/A asks for.
        w.emit(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        w.pages_id = w.reserve();
        w.font_id = w.reserve();
        Ok(w)
    }

    fn emit(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// A number for an object written later.
    fn reserve(&mut self) -> ObjectId {
        self.offsets.push(0);
        (self.offsets.len() as u32, 0)
    }

    /// Writes object `id`, framed as `Document::save` frames it.
    fn put(&mut self, id: ObjectId, o: &Object) -> std::io::Result<()> {
        self.offsets[id.0 as usize - 1] = self.pos;
        let mut b = Vec::with_capacity(64);
        write!(b, "{} 0 obj\n{}", id.0, if lopdf::Writer::need_separator(o) { " " } else { "" })?;
        self.emit(&b)?;
        let mut counted = Counted { out: &mut self.out, n: 0 };
        lopdf::Writer::write_object(&mut counted, o)?;
        self.pos += counted.n;
        let end = if lopdf::Writer::need_end_separator(o) { " \nendobj\n" } else { "\nendobj\n" };
        self.emit(end.as_bytes())
    }

    fn add(&mut self, o: impl Into<Object>) -> std::io::Result<ObjectId> {
        let id = self.reserve();
        self.put(id, &o.into())?;
        Ok(id)
    }

    pub(crate) fn add_page(&mut self, p: &PageIn) -> std::io::Result<()> {
        // The page's size is the raster it was read on, at `dpi`: the
        // image's own pixels unless they were stretched to square ones (a
        // standard fax), and the image is drawn to fill it either way.
        let (w_px, h_px) = (p.geometry.src_w, p.geometry.src_h);
        let k = 72.0 / p.dpi;
        let (pw, ph) = (w_px as f32 * k, h_px as f32 * k);
        let key = p.embed.digest();
        let image_id = match self.images.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.add(image_stream(p.embed))?;
                self.images.insert(key, id);
                id
            }
        };
        // Deskew by drawing the unchanged image turned about the page centre
        // (clockwise by the skew), on a page grown to hold all of it.
        let phi = -p.geometry.skew_deg.to_radians();
        let (c, s) = (phi.cos(), phi.sin());
        let (cx, cy) = (pw / 2.0, ph / 2.0);
        let (mx, my) = (((pw * c.abs() + ph * s.abs()) - pw) / 2.0, ((pw * s.abs() + ph * c.abs()) - ph) / 2.0);
        let mut content = format!(
            "q {} {} {} {} {} {} cm /Im0 Do Q\n",
            num(pw * c),
            num(pw * s),
            num(-ph * s),
            num(ph * c),
            num(cx - cx * c + cy * s),
            num(cy - cx * s - cy * c)
        );
        if let Some(ocr) = p.ocr {
            content.push_str(&self.text_layer(ocr, &p.geometry, p.dpi, h_px));
        }
        let mut stream = Stream::new(Dictionary::new(), content.into_bytes());
        // Compression of a short stream we just wrote cannot fail meaningfully;
        // an uncompressed stream is still valid.
        let _ = stream.compress();
        let content_id = self.add(stream)?;
        let mut page = dictionary! {
            "Type" => "Page",
            "Parent" => self.pages_id,
            "MediaBox" => vec![Object::Real(-mx), Object::Real(-my), Object::Real(pw + mx), Object::Real(ph + my)],
            "Resources" => dictionary! {
                "XObject" => dictionary! { "Im0" => image_id },
                "Font" => dictionary! { "F1" => self.font_id },
            },
            "Contents" => content_id,
        };
        if p.geometry.rotation != 0 {
            page.set("Rotate", p.geometry.rotation as i64);
        }
        let id = self.add(page)?;
        self.kids.push(id.into());
        Ok(())
    }

    fn text_layer(&mut self, ocr: &OcrPage, geom: &Geometry, dpi: f32, src_h: u32) -> String {
        let k = 72.0 / dpi;
        // The page shows the image turned level (see `add_page`), so words
        // sit on level baselines: only the quarter turn applies here.
        let flat = Geometry { skew_deg: 0.0, ..*geom };
        let to_pdf = |x: f32, y: f32| {
            let (sx, sy) = flat.to_source(x, y);
            (sx * k, (src_h as f32 - sy) * k)
        };
        let mut out = String::from("BT\n3 Tr\n");
        let mut boxes = String::new();
        for line in &ocr.lines {
            let lh = (line.bbox[3] - line.bbox[1]).max(1.0);
            let baseline = line.bbox[3] - DESCENT * lh;
            for (i, word) in line.words.iter().enumerate() {
                let last = i + 1 == line.words.len();
                let x0 = word.bbox[0];
                let x1 = if last { word.bbox[2] } else { line.words[i + 1].bbox[0] };
                let mut text = word.text.clone();
                if !last {
                    text.push(' ');
                }
                let n = text.chars().count();
                if n == 0 || x1 <= x0 {
                    continue;
                }
                let p0 = to_pdf(x0, baseline);
                let p1 = to_pdf(x1, baseline);
                let pu = to_pdf(x0, baseline - lh);
                let (dx, dy) = (p1.0 - p0.0, p1.1 - p0.1);
                let width = (dx * dx + dy * dy).sqrt();
                let size = ((pu.0 - p0.0).powi(2) + (pu.1 - p0.1).powi(2)).sqrt();
                if width <= 0.0 || size <= 0.0 {
                    continue;
                }
                let (cx, cy) = (dx / width, dy / width);
                let tz = 100.0 * width / (n as f32 * ADVANCE * size);
                let mut hex = String::with_capacity(n * 4);
                for c in text.chars() {
                    let next = self.cids.len() as u16 + 1;
                    let cid = *self.cids.entry(c).or_insert(next);
                    hex.push_str(&format!("{cid:04X}"));
                }
                if self.show_text {
                    // The outline each word's glyph box covers, for checking by eye.
                    let (ux, uy) = (-cy * size, cx * size);
                    let corner = |a: f32, b: f32| (p0.0 + dx * a + ux * b, p0.1 + dy * a + uy * b);
                    let pts = [corner(0.0, -DESCENT), corner(1.0, -DESCENT), corner(1.0, ASCENT), corner(0.0, ASCENT)];
                    boxes.push_str(&format!("{} {} m ", num(pts[0].0), num(pts[0].1)));
                    for (x, y) in &pts[1..] {
                        boxes.push_str(&format!("{} {} l ", num(*x), num(*y)));
                    }
                    boxes.push_str("s\n");
                }
                out.push_str(&format!(
                    "/F1 {} Tf {} Tz {} {} {} {} {} {} Tm <{}> Tj\n",
                    num(size),
                    num(tz),
                    num(cx),
                    num(cy),
                    num(-cy),
                    num(cx),
                    num(p0.0),
                    num(p0.1),
                    hex
                ));
            }
        }
        out.push_str("ET\n");
        if !boxes.is_empty() {
            out.push_str(&format!("q 1 0 0 RG 0.5 w\n{boxes}Q\n"));
        }
        out
    }

    /// Writes the font, page tree, catalog, cross-reference table and
    /// trailer, and gives the output back.
    pub(crate) fn finish(mut self, info: &DocInfo) -> std::io::Result<W> {
        self.write_font()?;
        let count = self.kids.len() as i64;
        let kids = std::mem::take(&mut self.kids);
        self.put(self.pages_id, &dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into())?;
        let producer = format!("sohoa {}", env!("CARGO_PKG_VERSION"));
        let fmt = time::format_description::well_known::Rfc3339;
        let xmp_date = info.created.format(&fmt).unwrap_or_default();
        let pdf_date = format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
            info.created.year(),
            info.created.month() as u8,
            info.created.day(),
            info.created.hour(),
            info.created.minute(),
            info.created.second()
        );
        // A document ID from what identifies this file: its place, title,
        // time and content size.
        let mut h = sha2::Sha256::new();
        h.update(info.path.as_bytes());
        h.update([0]);
        h.update(info.title.as_bytes());
        h.update([0]);
        h.update(xmp_date.as_bytes());
        h.update(self.offsets.len().to_le_bytes());
        let id: Vec<u8> = h.finalize()[..16].to_vec();
        let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => self.pages_id };
        let mut info_dict = dictionary! {
            "Title" => Object::String(utf16_text(info.title), StringFormat::Hexadecimal),
            "Producer" => Object::string_literal(producer.clone()),
            "CreationDate" => Object::string_literal(pdf_date.clone()),
            "ModDate" => Object::string_literal(pdf_date),
        };
        let mut extra = info.metadata.clone();
        if let Some(note) = info.derivative_note {
            info_dict.set("SohoaDerivativeNote", Object::String(utf16_text(note), StringFormat::Hexadecimal));
            extra.insert("DerivativeNote".into(), note.to_string());
        }
        if info.pdfa {
            let uuid = uuid_text(&id);
            let xmp = crate::pdfa::xmp(info.title, &producer, &xmp_date, &format!("uuid:{uuid}"), &extra);
            let meta = self.add(
                Stream::new(dictionary! { "Type" => "Metadata", "Subtype" => "XML" }, xmp).with_compression(false),
            )?;
            let mut icc = Stream::new(dictionary! { "N" => 3 }, crate::pdfa::srgb_icc());
            let _ = icc.compress();
            let icc_id = self.add(icc)?;
            let intent = dictionary! {
                "Type" => "OutputIntent",
                "S" => "GTS_PDFA1",
                "OutputConditionIdentifier" => Object::string_literal("sRGB IEC61966-2.1"),
                "Info" => Object::string_literal("sRGB IEC61966-2.1"),
                "DestOutputProfile" => icc_id,
            };
            catalog.set("Metadata", meta);
            catalog.set("OutputIntents", vec![Object::Dictionary(intent)]);
        }
        let catalog = self.add(catalog)?;
        let info_id = self.add(info_dict)?;
        let id_str = Object::String(id, StringFormat::Hexadecimal);
        let trailer = dictionary! {
            "Size" => self.offsets.len() as i64 + 1,
            "Root" => catalog,
            "Info" => info_id,
            "ID" => vec![id_str.clone(), id_str],
        };
        let xref_at = self.pos;
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1).into_bytes();
        for off in &self.offsets {
            writeln!(table, "{off:010} 00000 n ")?;
        }
        table.extend_from_slice(b"trailer\n");
        lopdf::Writer::write_object(&mut table, &trailer.into())?;
        write!(table, "\nstartxref\n{xref_at}\n%%EOF\n")?;
        self.emit(&table)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_font(&mut self) -> std::io::Result<()> {
        let mut ttf = Stream::new(dictionary! {}, glyphless_ttf());
        let _ = ttf.compress();
        let len1 = glyphless_ttf().len() as i64;
        ttf.dict.set("Length1", len1);
        let ttf_id = self.add(ttf)?;
        let descriptor = self.add(dictionary! {
            "Type" => "FontDescriptor",
            "FontName" => "GlyphLessFont",
            "Flags" => 5,
            "FontBBox" => vec![0.into(), Object::Integer(-(DESCENT * 1000.0) as i64), Object::Integer((ADVANCE * 1000.0) as i64), Object::Integer((ASCENT * 1000.0) as i64)],
            "ItalicAngle" => 0,
            "Ascent" => (ASCENT * 1000.0) as i64,
            "Descent" => -(DESCENT * 1000.0) as i64,
            "CapHeight" => (ASCENT * 1000.0) as i64,
            "StemV" => 80,
            "FontFile2" => ttf_id,
        })?;
        // Every CID draws glyph 1 (the font's only real glyph).
        let max_cid = self.cids.len();
        let mut map = vec![0u8; (max_cid + 1) * 2];
        for c in 1..=max_cid {
            map[c * 2 + 1] = 1;
        }
        let mut map_stream = Stream::new(dictionary! {}, map);
        let _ = map_stream.compress();
        let map_id = self.add(map_stream)?;
        let cid_font = self.add(dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType2",
            "BaseFont" => "GlyphLessFont",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "FontDescriptor" => descriptor,
            "DW" => (ADVANCE * 1000.0) as i64,
            "CIDToGIDMap" => map_id,
        })?;
        let mut cmap = Stream::new(dictionary! {}, to_unicode_cmap(&self.cids).into_bytes());
        let _ = cmap.compress();
        let cmap_id = self.add(cmap)?;
        self.put(
            self.font_id,
            &Object::Dictionary(dictionary! {
                "Type" => "Font",
                "Subtype" => "Type0",
                "BaseFont" => "GlyphLessFont",
                "Encoding" => "Identity-H",
                "DescendantFonts" => vec![cid_font.into()],
                "ToUnicode" => cmap_id,
            }),
        )
    }
}

/// A writer that counts what goes through it.
struct Counted<'a, W: Write> {
    out: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(b)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn image_stream(e: &Embed) -> Stream {
    let device = |c: Color| -> Object {
        match c {
            Color::Gray => "DeviceGray".into(),
            Color::Rgb => "DeviceRGB".into(),
            Color::Cmyk => "DeviceCMYK".into(),
        }
    };
    let (dict, data) = match e {
        Embed::Jpeg { data, width, height, color, adobe_inverted } => {
            let mut d = dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => *width as i64, "Height" => *height as i64,
                "ColorSpace" => device(*color), "BitsPerComponent" => 8,
                "Filter" => "DCTDecode",
            };
            if *adobe_inverted {
                d.set("Decode", [1, 0, 1, 0, 1, 0, 1, 0].iter().map(|&v| Object::Integer(v)).collect::<Vec<_>>());
            }
            (d, data.clone())
        }
        Embed::Jpx { data, width, height } => (
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => *width as i64, "Height" => *height as i64,
                "Filter" => "JPXDecode",
            },
            data.clone(),
        ),
        Embed::G4 { data, width, height, black_is_1 } => (
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => *width as i64, "Height" => *height as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1,
                "Filter" => "CCITTFaxDecode",
                "DecodeParms" => dictionary! {
                    "K" => -1, "Columns" => *width as i64, "Rows" => *height as i64,
                    "BlackIs1" => *black_is_1,
                },
            },
            data.clone(),
        ),
        Embed::Flate { data, width, height, color, bits, png_predictor, palette } => {
            let cs = match palette {
                Some(p) => Object::Array(vec![
                    "Indexed".into(),
                    "DeviceRGB".into(),
                    Object::Integer((p.len() / 3).max(1) as i64 - 1),
                    Object::String(p.clone(), StringFormat::Hexadecimal),
                ]),
                None => device(*color),
            };
            let mut d = dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => *width as i64, "Height" => *height as i64,
                "ColorSpace" => cs, "BitsPerComponent" => *bits as i64,
                "Filter" => "FlateDecode",
            };
            if *png_predictor {
                let colors = if palette.is_some() { 1 } else { color.components() as i64 };
                d.set(
                    "DecodeParms",
                    dictionary! { "Predictor" => 15, "Colors" => colors, "BitsPerComponent" => *bits as i64, "Columns" => *width as i64 },
                );
            }
            (d, data.clone())
        }
    };
    Stream::new(dict, data).with_compression(false)
}

/// A number for a content stream: short, never in exponent form.
fn num(v: f32) -> String {
    let s = format!("{:.3}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

fn utf16_text(s: &str) -> Vec<u8> {
    let mut v = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_be_bytes());
    }
    v
}

/// The ToUnicode CMap of the CIDs used, in blocks of at most 100 entries.
fn to_unicode_cmap(cids: &BTreeMap<char, u16>) -> String {
    let mut pairs: Vec<(u16, char)> = cids.iter().map(|(&c, &cid)| (cid, c)).collect();
    pairs.sort();
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in pairs.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, c) in chunk {
            let mut buf = [0u16; 2];
            let hex: String = c.encode_utf16(&mut buf).iter().map(|u| format!("{u:04X}")).collect();
            s.push_str(&format!("<{cid:04X}> <{hex}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// A TrueType font with one empty glyph of width 500/1000 em, so that the
/// text layer has real, embeddable metrics and draws nothing.
pub(crate) fn glyphless_ttf() -> Vec<u8> {
    fn be16(v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&x.to_be_bytes());
    }
    fn be32(v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&x.to_be_bytes());
    }
    let adv = (ADVANCE * 1000.0) as u16;
    let asc = (ASCENT * 1000.0) as i16;
    let desc = -(DESCENT * 1000.0) as i16;
    let mut head = Vec::new();
    be32(&mut head, 0x0001_0000);
    be32(&mut head, 0x0001_0000);
    be32(&mut head, 0); // checkSumAdjustment, set below
    be32(&mut head, 0x5F0F_3CF5);
    be16(&mut head, 0x000B);
    be16(&mut head, 1000);
    head.extend_from_slice(&[0; 16]); // created, modified
    for v in [0i16, desc, adv as i16, asc] {
        be16(&mut head, v as u16);
    }
    be16(&mut head, 0); // macStyle
    be16(&mut head, 3); // lowestRecPPEM
    be16(&mut head, 2); // fontDirectionHint
    be16(&mut head, 0); // indexToLocFormat: short
    be16(&mut head, 0);

    let mut hhea = Vec::new();
    be32(&mut hhea, 0x0001_0000);
    for v in [asc, desc, 0] {
        be16(&mut hhea, v as u16);
    }
    be16(&mut hhea, adv);
    for v in [0i16, 0, adv as i16, 1, 0, 0, 0, 0, 0, 0, 0] {
        be16(&mut hhea, v as u16);
    }
    be16(&mut hhea, 2); // numberOfHMetrics

    let mut maxp = Vec::new();
    be32(&mut maxp, 0x0001_0000);
    be16(&mut maxp, 2);
    for v in [0u16, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0] {
        be16(&mut maxp, v);
    }

    let mut hmtx = Vec::new();
    for _ in 0..2 {
        be16(&mut hmtx, adv);
        be16(&mut hmtx, 0);
    }
    let loca = vec![0u8; 6];
    let glyf = vec![0u8; 4];

    let mut cmap = Vec::new();
    for v in [0u16, 1, 3, 1] {
        be16(&mut cmap, v);
    }
    be32(&mut cmap, 12);
    for v in [4u16, 24, 0, 2, 2, 0, 0, 0xFFFF, 0, 0xFFFF, 1, 0] {
        be16(&mut cmap, v);
    }

    let family: Vec<u8> = "GlyphLessFont".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let mut name = Vec::new();
    let ids = [1u16, 4, 6];
    be16(&mut name, 0);
    be16(&mut name, ids.len() as u16);
    be16(&mut name, 6 + 12 * ids.len() as u16);
    for id in ids {
        for v in [3u16, 1, 0x409, id, family.len() as u16, 0] {
            be16(&mut name, v);
        }
    }
    name.extend_from_slice(&family);

    let mut post = Vec::new();
    be32(&mut post, 0x0003_0000);
    be32(&mut post, 0);
    be16(&mut post, (-100i16) as u16);
    be16(&mut post, 50);
    be32(&mut post, 1);
    post.extend_from_slice(&[0; 16]);

    let mut os2 = Vec::new();
    be16(&mut os2, 1); // version
    be16(&mut os2, adv);
    be16(&mut os2, 400);
    be16(&mut os2, 5);
    be16(&mut os2, 0); // fsType: installable embedding
    os2.extend_from_slice(&[0; 20]); // sub/superscript, strikeout
    be16(&mut os2, 0); // sFamilyClass
    os2.extend_from_slice(&[0; 10]); // panose
    os2.extend_from_slice(&[0; 16]); // unicode ranges
    os2.extend_from_slice(b"SOHA");
    be16(&mut os2, 0x40);
    be16(&mut os2, 0x20);
    be16(&mut os2, 0xFFFF);
    for v in [asc, desc, 0] {
        be16(&mut os2, v as u16);
    }
    be16(&mut os2, asc as u16);
    be16(&mut os2, (-desc) as u16);
    os2.extend_from_slice(&[0; 8]);

    let tables: [(&[u8; 4], Vec<u8>); 10] = [
        (b"OS/2", os2),
        (b"cmap", cmap),
        (b"glyf", glyf),
        (b"head", head),
        (b"hhea", hhea),
        (b"hmtx", hmtx),
        (b"loca", loca),
        (b"maxp", maxp),
        (b"name", name),
        (b"post", post),
    ];
    fn checksum(d: &[u8]) -> u32 {
        d.chunks(4).fold(0u32, |acc, c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            acc.wrapping_add(u32::from_be_bytes(b))
        })
    }
    let mut out = Vec::new();
    be32(&mut out, 0x0001_0000);
    be16(&mut out, tables.len() as u16);
    be16(&mut out, 128);
    be16(&mut out, 3);
    be16(&mut out, tables.len() as u16 * 16 - 128);
    let mut offset = 12 + 16 * tables.len();
    let mut body = Vec::new();
    let mut head_at = 0;
    for (tag, data) in &tables {
        out.extend_from_slice(*tag);
        be32(&mut out, checksum(data));
        be32(&mut out, offset as u32);
        be32(&mut out, data.len() as u32);
        if *tag == b"head" {
            head_at = 12 + 16 * tables.len() + body.len();
        }
        body.extend_from_slice(data);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        offset = 12 + 16 * tables.len() + body.len();
    }
    out.extend_from_slice(&body);
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out[head_at + 8..head_at + 12].copy_from_slice(&adjust.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmap_blocks_hold_at_most_100_entries() {
        let cids: BTreeMap<char, u16> = "abcdefghijklmnopqrstuvwxyzàáạảãăắằẳẵặâấầẩẫậđèéẹẻẽêếềểễệìíịỉĩòóọỏõôốồổỗộơớờởỡợùúụủũưứừửữựỳýỵỷỹABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i as u16 + 1))
            .collect();
        let s = to_unicode_cmap(&cids);
        assert!(s.contains("100 beginbfchar"));
        assert!(s.contains(&format!("{} beginbfchar", cids.len() - 100)));
        assert!(s.contains("<1EA1>"), "ạ mapped");
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(1e-7), "0");
    }

    #[test]
    fn font_is_well_formed() {
        let f = glyphless_ttf();
        assert_eq!(&f[..4], &[0, 1, 0, 0]);
        assert_eq!(f.len() % 4, 0);
    }
}
