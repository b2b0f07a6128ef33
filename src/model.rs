//! The engine-neutral page model. Recognition fills it; the PDF writer, the
//! field extractor, the manifest and the report only ever read it, so none of
//! them knows which OCR engine ran. It also holds [`Geometry`], the one
//! definition of how the recognized (upright, deskewed) page maps back onto the
//! scanner's pixels.

/// An axis-aligned box `[x0, y0, x1, y1]` in pixels of the upright, deskewed
/// page at the source resolution; y grows downwards.
pub type BBox = [f32; 4];

/// The smallest box holding both.
pub fn union(a: BBox, b: BBox) -> BBox {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

/// The centre of box `b` lies in `area` (a word counted in a box drawn
/// round it: a comb, a table cell).
pub(crate) fn centre_in(b: &BBox, area: &BBox) -> bool {
    let (x, y) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    area[0] <= x && x <= area[2] && area[1] <= y && y <= area[3]
}

/// The box round some words; None for none.
pub(crate) fn words_box(words: &[OcrWord]) -> Option<BBox> {
    let first = words.first()?.bbox;
    Some(words.iter().fold(first, |a, w| union(a, w.bbox)))
}

/// Mean confidence (0..100) of some words, weighted by word length; None
/// for none.
pub(crate) fn mean_confidence_of<'a>(words: impl IntoIterator<Item = &'a OcrWord>) -> Option<f32> {
    mean_by_length(words.into_iter().map(|w| (w.conf, w)))
}

/// Mean of confidences (0..100) given with their words, weighted by word
/// length (a word may be given a confidence other than its own); None for
/// none.
pub(crate) fn mean_by_length<'a>(confs: impl IntoIterator<Item = (f32, &'a OcrWord)>) -> Option<f32> {
    let (mut sum, mut n) = (0f64, 0f64);
    for (conf, w) in confs {
        let k = w.text.chars().count().max(1) as f64;
        sum += conf as f64 * k;
        n += k;
    }
    (n > 0.0).then(|| (sum / n) as f32)
}

/// Two boxes `[x0, y0, x1, y1]` (page or raster pixels) share some area.
pub(crate) fn overlaps<T: PartialOrd>(a: &[T; 4], b: &[T; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// A word as the second reader heard it: its text (NFC), the lowest
/// probability of its characters, and for each character, the characters
/// the reader weighed at that place, most likely first, with their
/// probabilities (empty when the reader gives none).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Heard {
    pub text: String,
    pub p: f32,
    pub choices: Vec<Vec<(char, f32)>>,
}

impl Heard {
    /// A reading with no other characters weighed.
    #[cfg(test)]
    pub(crate) fn plain(text: &str, p: f32) -> Heard {
        Heard { text: text.to_string(), p, choices: Vec::new() }
    }
}

#[derive(Clone, Debug, Default)]
pub struct OcrPage {
    /// Size of the upright page in source pixels.
    pub width: u32,
    pub height: u32,
    pub lines: Vec<OcrLine>,
}

#[derive(Clone, Debug)]
pub struct OcrLine {
    pub bbox: BBox,
    pub words: Vec<OcrWord>,
}

#[derive(Clone, Debug)]
pub struct OcrWord {
    /// NFC text.
    pub text: String,
    pub bbox: BBox,
    /// 0..100
    pub conf: f32,
}

impl OcrPage {
    pub fn word_count(&self) -> usize {
        self.lines.iter().map(|l| l.words.len()).sum()
    }

    /// Mean word confidence (0..100), weighted by word length.
    pub fn mean_confidence(&self) -> Option<f32> {
        mean_confidence_of(self.lines.iter().flat_map(|l| &l.words))
    }

    /// Moves every box by (-dx, -dy).
    pub fn shift(&mut self, dx: f32, dy: f32) {
        let mv = |b: &mut BBox| {
            b[0] -= dx;
            b[2] -= dx;
            b[1] -= dy;
            b[3] -= dy;
        };
        for l in &mut self.lines {
            mv(&mut l.bbox);
            l.words.iter_mut().for_each(|w| mv(&mut w.bbox));
        }
    }

    /// Drops the words whose middle lies inside `area`, and lines left empty.
    pub fn remove_words_in(&mut self, area: BBox) {
        for l in &mut self.lines {
            l.words.retain(|w| !centre_in(&w.bbox, &area));
        }
        self.lines.retain(|l| !l.words.is_empty());
    }

    /// Puts a word read apart (boxed digits) on the line it stands on, in
    /// its place from the left, or on a line of its own between the lines
    /// above and below it.
    pub fn insert_word(&mut self, word: OcrWord) {
        let b = word.bbox;
        let cy = (b[1] + b[3]) / 2.0;
        let on = self.lines.iter_mut().filter(|l| l.bbox[1] <= cy && cy <= l.bbox[3]).min_by(|a, c| {
            let d = |l: &OcrLine| ((l.bbox[1] + l.bbox[3]) / 2.0 - cy).abs();
            d(a).total_cmp(&d(c))
        });
        match on {
            Some(line) => {
                let at = line.words.iter().position(|w| w.bbox[0] > b[0]).unwrap_or(line.words.len());
                line.words.insert(at, word);
                line.bbox =
                    [line.bbox[0].min(b[0]), line.bbox[1].min(b[1]), line.bbox[2].max(b[2]), line.bbox[3].max(b[3])];
            }
            None => {
                let at = self.lines.iter().position(|l| l.bbox[1] > b[1]).unwrap_or(self.lines.len());
                self.lines.insert(at, OcrLine { bbox: b, words: vec![word] });
            }
        }
    }

    /// Puts a line read apart (a table cell's) on the page: joined to the
    /// line beside it on the same row (a table row read cell by cell), or
    /// on its own between the lines above and below it.
    pub fn insert_line(&mut self, line: OcrLine) {
        let b = line.bbox;
        let h = b[3] - b[1];
        let beside = self.lines.iter_mut().find(|l| {
            let shared = l.bbox[3].min(b[3]) - l.bbox[1].max(b[1]);
            let apart = l.words.iter().all(|w| w.bbox[2] <= b[0] || w.bbox[0] >= b[2]);
            apart && shared * 2.0 >= h.min(l.bbox[3] - l.bbox[1])
        });
        match beside {
            Some(l) => {
                l.bbox = union(l.bbox, b);
                l.words.extend(line.words);
                l.words.sort_by(|a, c| a.bbox[0].total_cmp(&c.bbox[0]));
            }
            None => {
                let at = self.lines.iter().position(|l| l.bbox[1] > b[1]).unwrap_or(self.lines.len());
                self.lines.insert(at, line);
            }
        }
    }

    /// The page's text, a line per line, words separated by spaces.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(&l.text());
            s.push('\n');
        }
        s
    }
}

impl OcrLine {
    /// The line's words, separated by spaces.
    pub fn text(&self) -> String {
        self.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// How the recognizer finds the page's text: by analysing its layout into
/// blocks, columns and lines (what `tesseract` on the command line does), or
/// as one block of lines. Layout analysis reads letters, headers of two
/// blocks and seals' surroundings far better; one block keeps the lines of
/// a form photographed in dim light or a ruled table that layout analysis
/// takes for pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Segmentation {
    /// Layout analysis (Tesseract's page segmentation mode 3).
    Auto,
    /// One block of lines (mode 6, the library's default).
    OneBlock,
    /// As much text as can be found, in no particular order (mode 11): what
    /// is left of a page once its read words are whited out.
    Sparse,
}

/// How the upright, deskewed page relates to the source image.
///
/// The source image (`src_w` × `src_h` pixels, as the file stores it) is turned
/// clockwise by `rotation` degrees (0, 90, 180, 270) to stand upright, then
/// turned clockwise by `skew_deg` about its centre to level the text lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    pub src_w: u32,
    pub src_h: u32,
    pub rotation: u32,
    /// Measured skew of the printed lines, degrees; positive when they rise to
    /// the right (counter-clockwise) as the page stands upright.
    pub skew_deg: f32,
}

impl Geometry {
    pub fn identity(w: u32, h: u32) -> Geometry {
        Geometry { src_w: w, src_h: h, rotation: 0, skew_deg: 0.0 }
    }

    /// Size of the upright page.
    pub fn upright_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 {
            (self.src_h, self.src_w)
        } else {
            (self.src_w, self.src_h)
        }
    }

    /// Maps a point of the upright, deskewed page to source pixel coordinates.
    pub fn to_source(&self, x: f32, y: f32) -> (f32, f32) {
        let (uw, uh) = self.upright_size();
        let (cx, cy) = (uw as f32 / 2.0, uh as f32 / 2.0);
        // Undo the clockwise deskew turn: turn counter-clockwise (y down).
        let t = -self.skew_deg.to_radians();
        let (dx, dy) = (x - cx, y - cy);
        let (ux, uy) = (cx + dx * t.cos() - dy * t.sin(), cy + dx * t.sin() + dy * t.cos());
        let (w, h) = (self.src_w as f32, self.src_h as f32);
        match self.rotation {
            90 => (uy, h - ux),
            180 => (w - ux, h - uy),
            270 => (w - uy, ux),
            _ => (ux, uy),
        }
    }
}

/// A page of the given lines, words 50 px apart, 30 px between lines, for
/// tests of the stages that read the model.
#[cfg(test)]
pub fn test_page(lines: &[&str]) -> OcrPage {
    let mut p = OcrPage { width: 1000, height: 1000, lines: vec![] };
    for (i, l) in lines.iter().enumerate() {
        let y = i as f32 * 30.0;
        let words = l
            .split(' ')
            .enumerate()
            .map(|(k, w)| OcrWord {
                text: w.to_string(),
                bbox: [k as f32 * 50.0, y, k as f32 * 50.0 + 40.0, y + 20.0],
                conf: 95.0,
            })
            .collect();
        p.lines.push(OcrLine { bbox: [0.0, y, 900.0, y + 20.0], words });
    }
    p
}

/// A word from `x0` to `x1` on a line 20 px high at the top, read at `conf`,
/// for tests.
#[cfg(test)]
pub fn test_word(text: &str, x0: f32, x1: f32, conf: f32) -> OcrWord {
    OcrWord { text: text.into(), bbox: [x0, 0.0, x1, 20.0], conf }
}

/// A line of words at height `y`, each 40 px wide and 50 px apart, read at
/// `conf`, for tests.
#[cfg(test)]
pub fn test_line(y: f32, texts: &[&str], conf: f32) -> OcrLine {
    let words: Vec<OcrWord> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| OcrWord { text: (*t).into(), bbox: [i as f32 * 50.0, y, i as f32 * 50.0 + 40.0, y + 20.0], conf })
        .collect();
    OcrLine { bbox: words_box(&words).unwrap_or_default(), words }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_maps_corners_back() {
        // A 100x50 landscape source turned 90° clockwise stands 50x100.
        let g = Geometry { src_w: 100, src_h: 50, rotation: 90, skew_deg: 0.0 };
        assert_eq!(g.upright_size(), (50, 100));
        // The upright top-left corner was the source's bottom-left.
        assert_eq!(g.to_source(0.0, 0.0), (0.0, 50.0));
        let g = Geometry { src_w: 100, src_h: 50, rotation: 270, skew_deg: 0.0 };
        assert_eq!(g.to_source(0.0, 0.0), (100.0, 0.0));
        let g = Geometry { src_w: 100, src_h: 50, rotation: 180, skew_deg: 0.0 };
        assert_eq!(g.to_source(0.0, 0.0), (100.0, 50.0));
    }

    #[test]
    fn a_cell_line_joins_its_row_or_stands_between_lines() {
        let w =
            |t: &str, x0: f32, y0: f32| OcrWord { text: t.into(), bbox: [x0, y0, x0 + 40.0, y0 + 20.0], conf: 90.0 };
        let line = |words: Vec<OcrWord>| OcrLine { bbox: words_box(&words).unwrap(), words };
        let mut p = OcrPage {
            width: 1000,
            height: 500,
            lines: vec![line(vec![w("Hồ", 100.0, 100.0), w("sơ", 150.0, 100.0)]), line(vec![w("a.", 100.0, 200.0)])],
        };
        // The row's score cell, right of its text: on the row's line.
        p.insert_line(line(vec![w("15", 800.0, 102.0)]));
        // The row number, left of it.
        p.insert_line(line(vec![w("1", 20.0, 98.0)]));
        // A line of its own between the two rows.
        p.insert_line(line(vec![w("Tổng", 100.0, 150.0)]));
        assert_eq!(p.text(), "1 Hồ sơ 15\nTổng\na.\n");
        // A cell line over a word already on the row stands on its own.
        p.insert_line(line(vec![w("x", 110.0, 200.0)]));
        assert_eq!(p.lines.len(), 4);
    }

    #[test]
    fn a_comb_reading_takes_the_place_of_the_words_inside_it() {
        let w =
            |t: &str, x0: f32, y0: f32| OcrWord { text: t.into(), bbox: [x0, y0, x0 + 40.0, y0 + 20.0], conf: 50.0 };
        let mut p = OcrPage {
            width: 1000,
            height: 500,
            lines: vec![
                OcrLine {
                    bbox: [0.0, 100.0, 900.0, 120.0],
                    words: vec![
                        w("4.", 0.0, 100.0),
                        w("Số:", 50.0, 100.0),
                        w("lo", 400.0, 100.0),
                        w("ME", 600.0, 100.0),
                    ],
                },
                OcrLine { bbox: [400.0, 200.0, 900.0, 220.0], words: vec![w("[I1", 400.0, 200.0)] },
            ],
        };
        // The comb spans x 380..900 on the first line; the second line's
        // junk lies in an empty comb.
        p.remove_words_in([380.0, 95.0, 900.0, 125.0]);
        p.insert_word(OcrWord { text: "079422096902".into(), bbox: [380.0, 95.0, 900.0, 125.0], conf: 90.0 });
        p.remove_words_in([380.0, 195.0, 900.0, 225.0]);
        assert_eq!(p.text().trim(), "4. Số: 079422096902");
        assert_eq!(p.lines.len(), 1);
        // No line where the comb stands: a line of its own, in reading order.
        p.insert_word(OcrWord { text: "0123456".into(), bbox: [380.0, 40.0, 900.0, 70.0], conf: 90.0 });
        assert_eq!(p.lines[0].words[0].text, "0123456");
    }

    #[test]
    fn geometry_undoes_skew_about_centre() {
        let g = Geometry { src_w: 100, src_h: 100, rotation: 0, skew_deg: 90.0 };
        let (x, y) = g.to_source(100.0, 50.0);
        assert!((x - 50.0).abs() < 1e-3 && (y - 0.0).abs() < 1e-3, "{x} {y}");
    }
}
