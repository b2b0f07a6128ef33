//! A page as the readers give it and the writer takes it: the `Decoded`
//! page (gray raster for analysis and OCR, declared resolution, origin, a
//! born-digital page's own text) and its `Embed` payload, the image bytes that
//! go into the archive copy. It exists apart from the readers (`decode`,
//! `pdfin`) and the writer (`pdf`) so that neither imports the other: they
//! meet here.

use crate::raster::Gray;
use std::io::Write;

/// Colour space of an embedded image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Color {
    Gray,
    Rgb,
    Cmyk,
}

impl Color {
    pub(crate) fn components(self) -> u8 {
        match self {
            Color::Gray => 1,
            Color::Rgb => 3,
            Color::Cmyk => 4,
        }
    }
}

/// The image as it goes into the PDF.
#[derive(Clone, Debug)]
pub(crate) enum Embed {
    /// JPEG bytes, unchanged.
    Jpeg { data: Vec<u8>, width: u32, height: u32, color: Color, adobe_inverted: bool },
    /// JPEG 2000 bytes, unchanged (PDF's JPXDecode).
    Jpx { data: Vec<u8>, width: u32, height: u32 },
    /// CCITT Group 4 bytes, unchanged. `black_is_1` as in PDF's CCITTFaxDecode.
    G4 { data: Vec<u8>, width: u32, height: u32, black_is_1: bool },
    /// A zlib stream of pixel rows. `png_predictor` means rows carry PNG filter
    /// bytes (the stream is a PNG file's IDAT data, unchanged).
    Flate {
        data: Vec<u8>,
        width: u32,
        height: u32,
        color: Color,
        bits: u8,
        png_predictor: bool,
        palette: Option<Vec<u8>>,
    },
}

impl Embed {
    /// Lossless 8-bit RGB pixels (Flate).
    pub(crate) fn flate_rgb(rgb: &[u8], width: u32, height: u32) -> Embed {
        Embed::Flate { data: zlib(rgb), width, height, color: Color::Rgb, bits: 8, png_predictor: false, palette: None }
    }

    /// Lossless 8-bit gray pixels (Flate).
    pub(crate) fn flate_gray(gray: &[u8], width: u32, height: u32) -> Embed {
        Embed::Flate {
            data: zlib(gray),
            width,
            height,
            color: Color::Gray,
            bits: 8,
            png_predictor: false,
            palette: None,
        }
    }

    /// A hash of the image's form and bytes: equal digests, equal images.
    pub(crate) fn digest(&self) -> [u8; 32] {
        use sha2::Digest;
        let (form, data) = match self {
            Embed::Jpeg { data, width, height, color, adobe_inverted } => {
                (format!("jpeg {width} {height} {color:?} {adobe_inverted}"), data)
            }
            Embed::Jpx { data, width, height } => (format!("jpx {width} {height}"), data),
            Embed::G4 { data, width, height, black_is_1 } => (format!("g4 {width} {height} {black_is_1}"), data),
            Embed::Flate { data, width, height, color, bits, png_predictor, palette } => {
                (format!("flate {width} {height} {color:?} {bits} {png_predictor} {palette:?}"), data)
            }
        };
        let mut h = sha2::Sha256::new();
        h.update(form.as_bytes());
        h.update([0]);
        h.update(data);
        h.finalize().into()
    }

    /// The image bytes, for holding elsewhere (`spool`) while the page's
    /// form stays here.
    pub(crate) fn data_mut(&mut self) -> &mut Vec<u8> {
        match self {
            Embed::Jpeg { data, .. } | Embed::Jpx { data, .. } | Embed::G4 { data, .. } | Embed::Flate { data, .. } => {
                data
            }
        }
    }

    pub(crate) fn size(&self) -> (u32, u32) {
        match self {
            Embed::Jpeg { width, height, .. }
            | Embed::Jpx { width, height, .. }
            | Embed::G4 { width, height, .. }
            | Embed::Flate { width, height, .. } => (*width, *height),
        }
    }
}

/// One decoded page.
pub(crate) struct Decoded {
    pub gray: Gray,
    /// Resolution (x, y) in dots per inch as the file declares it, if it does.
    pub dpi: Option<(f32, f32)>,
    /// True when `dpi` comes from the page's physical size (a PDF page), which
    /// is kept as it is rather than checked against paper sizes.
    pub dpi_from_page: bool,
    pub embed: Embed,
    pub origin: Origin,
    /// The page's own text, for born-digital PDF pages (not OCRed).
    pub text: Option<crate::model::OcrPage>,
}

/// Where a page's image comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The file's own image.
    Image,
    /// A PDF page rendered to an image (drawings over a scan, encodings read
    /// only by the renderer, born-digital pages).
    Rendered,
}

impl Decoded {
    pub(crate) fn new(gray: Gray, dpi: Option<(f32, f32)>, dpi_from_page: bool, embed: Embed) -> Decoded {
        Decoded { gray, dpi, dpi_from_page, embed, origin: Origin::Image, text: None }
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("write to Vec");
    enc.finish().expect("write to Vec")
}
