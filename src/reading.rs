//! How one page is read: which turn, which cleaning, which resolution and
//! which segmentation the recognizer sees, decided from recognition evidence
//! rather than from the page's look alone. A clean scan is read once, as it
//! is, by layout analysis (enlarged to the resolution Tesseract reads best); a
//! photo is also read as one block of lines, and a doubtful scan only so. A
//! scan showing the back of its sheet through is also read with those faint
//! grays lifted to paper. A page whose paper is lit unevenly (shaded from
//! one side) is also read with its background flattened, and such a photo
//! also flattened with its faint grays lifted. A page read with low
//! confidence, whose orientation the text's shape could not tell, or that is
//! below 150 dpi is tried again on a strip of the page in the other turns and
//! with cleaning (a page read under 50 has its cleanings read whole: the
//! strip may miss the streaks that made it unreadable), and the best full
//! reading is kept; a turn or a cleaning that lowers the page's confidence is
//! never kept (a photo's turn or cleaning so found, read as one block, is
//! read by layout analysis too). Lines Tesseract read down the page (a page
//! lying on its side, read well at a confidence that hides the turn) count as
//! unread when readings are compared. A gray scan still read doubtfully is
//! also read with blurred marks (a copier's ghost of another sheet) lifted to
//! paper. A ruled table's cells read doubtfully are read again without the
//! rules beside them. A photo's line the kept reading read unsure is taken
//! from another of its readings that read it clearly better. Words whose
//! marks or digits Tesseract may have misread are asked about again by the
//! second reader (`second`). Last, words that are neither plausible
//! Vietnamese nor confidently read (stamps, signatures, rules) are dropped
//! (`junk`).
//!
//! The recognizer is a closure, so this module knows no engine.

use crate::clean::{self, Cleaning};
use crate::combs;
use crate::error::PageErrorKind as K;
use crate::junk::{self, JUNK_CONF};
use crate::model::{BBox, Geometry, OcrPage, Segmentation};
use crate::preprocess;
use crate::raster::Gray;
use crate::second::{self, Crops, ReadWord};
use crate::syllable;
use crate::tables;

/// Changes whenever the same page may be read differently: part of the
/// settings fingerprint, so that a new version redoes what it reads better.
pub(crate) const VERSION: u32 = 35;

/// A page read at this mean confidence or better is kept as first read.
const GOOD_CONF: f32 = 80.0;
/// Under this, the other quarter turns are tried too, not only 180°.
const LOST_CONF: f32 = 50.0;
/// A turn found by reading is kept only if the page then reads at least
/// this confidently (and clearly better than before).
const TURN_MIN_CONF: f32 = 45.0;
/// ... or at least this much more confidently than before (a worn
/// low-resolution page turned right may still read under 45).
const TURN_CONF_GAIN: f32 = 10.0;
/// Pages under this resolution have their orientation checked by reading.
const LOW_DPI: f32 = 150.0;
/// A scan under [`LOW_DPI`], its turn and cleaning settled by reading it as
/// one block, is read again by layout analysis in that geometry, and that
/// reading is kept unless it holds less than this share of the block's
/// plausible text ([`quality`]): layout analysis reads a letterhead's two
/// columns one after the other and leaves out what lies in stamps and
/// figures, where one block of lines reads them across as junk.
const LAYOUT_SHARE: f32 = 0.95;
/// A page whose paper levels spread this much (see
/// [`clean::background_spread`]) is also read with its background flattened.
const UNEVEN_PAPER: u8 = 40;
/// A photo whose lines stand this share of its height or more from
/// straight (lines fanning out on a page photographed at a slant, a curled
/// sheet) is also read with them straightened, whatever its confidence.
const PHOTO_BEND: f32 = 1.0 / 200.0;
/// How much more plausible text a photo's flattened and lifted reading must
/// hold to be kept.
const PHOTO_LIFT_GAIN: f32 = 0.1;
/// How much more plausible text a reading with blurred marks lifted must
/// hold to be kept: on `bench/real-copies fax`'s 05, a standard fax whose
/// stretched rows are soft, it held 3% more and lost words (recall 0.419 →
/// 0.405); on the copy crossed by a ghost, 3.6 times as much.
const BLUR_LIFT_GAIN: f32 = 0.1;

/// Recognizes a gray raster at a resolution; boxes come back divided by the
/// scale (the third argument).
pub(crate) type Recognize<'a> = dyn FnMut(&Gray, f32, f32, Segmentation) -> Result<OcrPage, K> + 'a;

/// What reading a page gave, and what it took.
pub(crate) struct Reading {
    /// Words with boxes in the upright, deskewed page at source resolution.
    pub page: OcrPage,
    pub geometry: Geometry,
    pub cleaning: Cleaning,
    /// How the recognizer found the lines (layout analysis unless reading
    /// the page as one block read better).
    pub segmentation: Segmentation,
    pub upscaled: bool,
    /// Enlarged and sharpened: a blurred coarse page.
    pub sharpened: bool,
    /// The turn was changed by recognition evidence.
    pub turned: bool,
    /// The page was tried more than once.
    pub retried: bool,
    pub junk_dropped: usize,
    /// Words whose diacritics the second reader corrected.
    pub second_reader_fixes: usize,
    /// Rows of boxed digits read apart ([`combs`]).
    pub combs_read: usize,
    /// Words found where the page's reading had left text unread.
    pub missed_words_read: usize,
    /// Cells of a ruled table whose words were taken from the table read
    /// with its rules whited out ([`tables`]).
    pub cells_read: usize,
    /// Lines taken from a reading not kept that read them better.
    pub lines_taken: usize,
}

/// How much real text a reading holds: characters of plausible words
/// weighted by confidence, less half the characters of implausible ones,
/// counting only lines read along the page ([`read_down`]).
pub(crate) fn quality(p: &OcrPage) -> f32 {
    words_quality(along(p))
}

/// How confidently a reading was read along the page: the mean confidence
/// of its words, those of lines read down the page ([`read_down`]) counted
/// as read at 0 (0 when it has no word).
fn confidence(p: &OcrPage) -> f32 {
    let confs = p.lines.iter().flat_map(|l| {
        let down = read_down(l);
        l.words.iter().map(move |w| (if down { 0.0 } else { w.conf }, w))
    });
    crate::model::mean_by_length(confs).unwrap_or(0.0)
}

/// Tesseract reads the lines of a page lying on its side down the page, one
/// word under the other, and reads them well: real-dev 12 sent through a
/// chat app (a blurred 679 × 960 page on its side) read all its 25 lines so,
/// at a confidence of 77.7, where turned upright it reads 68.0 as one block
/// and its text keeps its order. A line taller than wide that holds two
/// words or three characters was read down: it adds nothing to a reading's
/// quality and its words count as read at 0 in its confidence, so that the
/// turn is tried and kept.
fn read_down(l: &crate::model::OcrLine) -> bool {
    let (w, h) = (l.bbox[2] - l.bbox[0], l.bbox[3] - l.bbox[1]);
    h > w && (l.words.len() >= 2 || l.words.iter().map(|w| w.text.chars().count()).sum::<usize>() >= 3)
}

/// The words of a reading's lines read along the page ([`read_down`]).
fn along(p: &OcrPage) -> impl Iterator<Item = &crate::model::OcrWord> {
    p.lines.iter().filter(|l| !read_down(l)).flat_map(|l| &l.words)
}

/// [`quality`] of some words.
fn words_quality<'a>(words: impl IntoIterator<Item = &'a crate::model::OcrWord>) -> f32 {
    quality_counting(words, |_| true)
}

/// [`words_quality`] counting letters and digits only: a run of dots
/// glued to a date (a form's leader) is no more text.
fn letters_quality(words: &[crate::model::OcrWord]) -> f32 {
    quality_counting(words, |c| c.is_alphanumeric())
}

/// Characters (those `counts`) of plausible words weighted by confidence,
/// less half those of implausible ones.
fn quality_counting<'a>(words: impl IntoIterator<Item = &'a crate::model::OcrWord>, counts: fn(&char) -> bool) -> f32 {
    let mut q = 0.0;
    for w in words {
        let n = w.text.chars().filter(counts).count() as f32;
        if syllable::plausible(&w.text) {
            q += n * w.conf / 100.0;
        } else {
            q -= 0.5 * n;
        }
    }
    q
}

/// Reads a page. `g` is the source raster at `dpi` (`photo`: read as a
/// photo is, its resolution guessed, see `preprocess::taken_as_photo`);
/// `rotation` is what the text's shape said (None: it could not tell) and
/// `skew_deg` the skew measured for it.
///
/// Each step below may read the page again, and keeps that reading only
/// when it holds more plausible text ([`quality`]) than the one kept.
pub(crate) fn read_page(
    g: &Gray,
    dpi: f32,
    photo: bool,
    rotation: Option<u32>,
    skew_deg: f32,
    recognize: &mut Recognize,
    second: Option<&mut ReadWord>,
) -> Result<Reading, K> {
    let k = clean::upscale_factor(dpi);
    let geometry = Geometry { src_w: g.width, src_h: g.height, rotation: rotation.unwrap_or(0), skew_deg };
    // A scan whose turn is in doubt is read as one block (layout analysis
    // takes a worn copy's speckled lines for pictures, and reads a page
    // lying on its side with a confidence that hides the turn).
    let in_doubt = rotation.is_none() || dpi < LOW_DPI;
    let segmentation = if in_doubt && !photo { Segmentation::OneBlock } else { Segmentation::Auto };
    let sharpen = k > 1.0 && clean::edge_steepness(g) < clean::SOFT_EDGES;
    let src = Source { g, dpi, k, sharpen };
    let mut seen = Seen::new();
    let first = read_full(&src, &geometry, Cleaning::None, segmentation, recognize, &mut seen)?;
    let doubtful = in_doubt || confidence(&first.page) < GOOD_CONF;
    let mut a = Attempts {
        src,
        photo,
        recognize,
        seen,
        full: first,
        reading: Reading::first(geometry, segmentation, k > 1.0, sharpen),
        other: None,
        aside: Vec::new(),
    };
    if segmentation == Segmentation::Auto && (photo || doubtful) {
        a.read_as_one_block(doubtful)?;
    }
    let conf = a.conf();
    let sure = !(in_doubt || conf < GOOD_CONF);
    // A bilevel page (a G4 scan, a fax) of 250 dpi or more is also read
    // with its letters' edges softened to gray (ocrmypdf-resources'
    // `ccitt.pdf`: recall 0.884 → 0.912; at 200 dpi softening loses tone
    // marks, see [`clean::SOFTEN_FROM_DPI`]).
    if dpi >= clean::SOFTEN_FROM_DPI && clean::is_bilevel(g) {
        a.try_cleaning(Cleaning::Softened)?;
    }
    // A scan of thin paper shows the back's print through, mirrored and
    // faint; Tesseract's own threshold, pulled up by it, thickens the
    // letters and loses tone marks (về → vê, Ủy → Uy). Such a scan is also
    // read with those grays lifted to paper (real-copies' `bleed`: 0.955 /
    // 0.948 / CER 0.107 → 0.960 / 0.951 / 0.104). Keeping it whenever it
    // read nearly as well gained more there but lost up to 0.018 of a
    // document's recall on highlighted and blurred copies, which the check
    // also takes for show-through.
    if !photo && !doubtful && clean::shows_through(g) {
        a.try_cleaning(Cleaning::Lifted)?;
    }
    if (photo || sure) && clean::background_spread(g) >= UNEVEN_PAPER {
        a.try_flattened()?;
    }
    if !sure {
        a.reading.retried = true;
        a.try_turns_and_cleanings(conf, rotation.is_none())?;
    }
    let r = &a.reading;
    if r.retried && !r.turned && r.geometry.rotation != 0 && a.conf() < TURN_MIN_CONF {
        a.try_as_scanned()?;
    }
    if a.reading.retried && !photo && a.conf() < GOOD_CONF && !clean::is_bilevel(g) {
        a.try_blur_lifted()?;
    }
    if dpi < LOW_DPI && !photo && a.reading.segmentation == Segmentation::OneBlock {
        a.try_layout_analysis()?;
    }
    if photo && a.full.bent.is_none() {
        a.try_straightened()?;
    }
    a.finish(second)
}

impl Reading {
    /// What the first reading of a page took.
    fn first(geometry: Geometry, segmentation: Segmentation, upscaled: bool, sharpened: bool) -> Reading {
        Reading {
            page: OcrPage::default(),
            geometry,
            cleaning: Cleaning::None,
            segmentation,
            upscaled,
            sharpened,
            turned: false,
            retried: false,
            junk_dropped: 0,
            second_reader_fixes: 0,
            combs_read: 0,
            missed_words_read: 0,
            cells_read: 0,
            lines_taken: 0,
        }
    }
}

/// A page being read: the reading kept so far, what was done to get it, and
/// what reading the page again needs. The steps of [`read_page`] are its
/// methods.
struct Attempts<'a, 'r, 'f> {
    src: Source<'a>,
    photo: bool,
    recognize: &'r mut Recognize<'f>,
    seen: Seen,
    /// The reading kept so far.
    full: Full,
    /// How it was read; its page is put in by [`Attempts::finish`].
    reading: Reading,
    /// A photo's reading in the other segmentation, and the geometry it was
    /// read in.
    other: Option<(OcrPage, Geometry)>,
    /// A photo's readings made and not kept (none straightened), with their
    /// geometry: a line one of them read better is taken from it
    /// ([`take_better_lines`]).
    aside: Vec<(OcrPage, Geometry)>,
}

impl Attempts<'_, '_, '_> {
    /// Reads the page in one geometry, cleaning and segmentation.
    fn read(&mut self, geom: &Geometry, c: Cleaning, way: Segmentation) -> Result<Full, K> {
        read_full(&self.src, geom, c, way, self.recognize, &mut self.seen)
    }

    /// Reads a raster already made ([`read_made`]).
    fn read_made(&mut self, geom: &Geometry, made: (Raster, f32), way: Segmentation) -> Result<Full, K> {
        read_made(&self.src, geom, made, way, self.recognize, &mut self.seen)
    }

    /// The mean confidence of the reading kept.
    fn conf(&self) -> f32 {
        confidence(&self.full.page)
    }

    /// Keeps `f`, read with cleaning `c`, if it holds more plausible text.
    fn keep_if_better(&mut self, f: Full, c: Cleaning) {
        let geom = self.reading.geometry;
        if quality(&f.page) > quality(&self.full.page) {
            let before = std::mem::replace(&mut self.full, f);
            self.set_aside(&before, geom);
            self.reading.cleaning = c;
        } else {
            self.set_aside(&f, geom);
        }
    }

    /// Notes a photo's reading not kept, made in `geom`, for
    /// [`take_better_lines`].
    fn set_aside(&mut self, f: &Full, geom: Geometry) {
        if self.photo && f.bent.is_none() {
            self.aside.push((f.page.clone(), geom));
        }
    }

    /// Layout analysis may leave whole regions of a photo unread at a good
    /// confidence (dim light, boxed digits): a photo is read as one block of
    /// lines too, and the reading holding more plausible text is kept. A
    /// scan layout analysis read doubtfully is read as one block whatever
    /// that holds.
    fn read_as_one_block(&mut self, doubtful: bool) -> Result<(), K> {
        let geom = self.reading.geometry;
        // The raster just read, read again.
        let made = ((self.full.raster.clone(), self.full.offset, None), self.full.scale);
        let block = self.read_made(&geom, made, Segmentation::OneBlock)?;
        self.keep_better_way(block, Segmentation::OneBlock, doubtful && !self.photo);
        Ok(())
    }

    /// Keeps `f`, the page read in the other segmentation `way`, when it
    /// holds more plausible text than the reading kept, or `anyway`. The
    /// reading not kept is set aside, and on a photo is the other reading
    /// ([`fill_unread`]).
    fn keep_better_way(&mut self, mut f: Full, way: Segmentation, anyway: bool) {
        let geom = self.reading.geometry;
        if anyway || quality(&f.page) > quality(&self.full.page) {
            std::mem::swap(&mut self.full, &mut f);
            self.reading.segmentation = way;
        }
        self.set_aside(&f, geom);
        self.other = (self.photo && f.bent.is_none()).then_some((f.page, geom));
    }

    /// Reads the page again with cleaning `c`, in the geometry and
    /// segmentation kept, and keeps what holds more plausible text.
    fn try_cleaning(&mut self, c: Cleaning) -> Result<(), K> {
        let (geom, way) = (self.reading.geometry, self.reading.segmentation);
        let cleaned = self.read(&geom, c, way)?;
        self.keep_if_better(cleaned, c);
        Ok(())
    }

    /// A page shaded from one side reads well where its paper is light and
    /// not at all where it is dark, and its confidence does not show what
    /// was left unread: such a page is also read with its background
    /// flattened. A photo lit unevenly is read so whatever its confidence,
    /// by layout analysis and as one block: in dim light, or with the back
    /// of the sheet showing through, Tesseract's own threshold takes the
    /// faint mirrored print for text and loses the line beside it
    /// (real-copies' `bleed`, doc 10: recall 0.815 → 0.938).
    fn try_flattened(&mut self) -> Result<(), K> {
        let photo = self.photo;
        let geom = self.reading.geometry;
        let own = [self.reading.segmentation];
        let ways: &[Segmentation] = if photo { &[Segmentation::Auto, Segmentation::OneBlock] } else { &own };
        let mut replaced = None;
        let made = raster_or_as_is(&self.src, &geom, Cleaning::Normalized);
        for &way in ways {
            let flat = self.read_made(&geom, made.clone(), way)?;
            if quality(&flat.page) > quality(&self.full.page) {
                let before = std::mem::replace(&mut self.full, flat);
                self.set_aside(&before, geom);
                if photo {
                    replaced.get_or_insert(before);
                }
                self.reading.cleaning = Cleaning::Normalized;
                self.reading.segmentation = way;
            } else {
                self.set_aside(&flat, geom);
            }
        }
        // Flattened, a photo still holds faint grays that pull Tesseract's
        // threshold up (the back of thin paper showing through, a dim or
        // shaded part of the sheet): it is read with them lifted to paper
        // too, and that kept when it reads clearly better (by a tenth: a
        // lifted reading only a little better lost words on blurred and
        // underexposed photos). Photos of 14 real-copies sets: recall 0.9504
        // → 0.9525; `bleed`'s 09: 0.917 → 0.972.
        if photo {
            let lifted = self.read(&geom, Cleaning::NormalizedLifted, self.reading.segmentation)?;
            let q = quality(&self.full.page);
            if quality(&lifted.page) > q + PHOTO_LIFT_GAIN * q.abs() {
                let before = std::mem::replace(&mut self.full, lifted);
                self.set_aside(&before, geom);
                replaced.get_or_insert(before);
                self.reading.cleaning = Cleaning::NormalizedLifted;
            } else {
                self.set_aside(&lifted, geom);
            }
        }
        // Layout analysis of a flattened photo may drop a whole line the
        // photo as taken read surely (real-dev 09's "5. Số điện thoại liên
        // hệ:.......0979391725", and with it the phone field): such lines are
        // put back before what is left unread is looked for.
        if let Some(before) = replaced {
            self.reading.missed_words_read += fill_unread(&mut self.full.page, &before.page);
        }
        Ok(())
    }

    /// A page read with low confidence, whose turn the text's shape could
    /// not tell (`unsure`), or under [`LOW_DPI`] is tried in the other turns
    /// and with cleaning ([`retry`]); `conf` is how confidently it was read
    /// first. A better reading found is kept, read as one block.
    fn try_turns_and_cleanings(&mut self, conf: f32, unsure: bool) -> Result<(), K> {
        let geometry = self.reading.geometry;
        let found = retry(&self.src, conf, unsure, &self.full, &geometry, self.recognize, &mut self.seen)?;
        if let Some((f, geom, c)) = found {
            self.reading.turned = geom.rotation != geometry.rotation;
            self.reading.geometry = geom;
            self.reading.cleaning = c;
            self.reading.segmentation = Segmentation::OneBlock;
            self.full = f;
            if self.photo {
                self.read_by_layout_too()?;
            }
        }
        Ok(())
    }

    /// A photo is read by layout analysis and as one block, and each reads
    /// some lines the other does not ([`take_better_lines`],
    /// [`fill_unread`]); a turn or cleaning found by reading is read as one
    /// block, so it is read by layout analysis too, and the reading holding
    /// more plausible text kept. On the Đà Nẵng letters' out-of-focus copy
    /// (69, see BENCHMARKS.md), turned by reading, one block read "viên, báo
    /// cáo về Sở Giáo dục" as "Mac bo" and layout analysis read it whole.
    fn read_by_layout_too(&mut self) -> Result<(), K> {
        let geom = self.reading.geometry;
        let auto = self.read(&geom, self.reading.cleaning, Segmentation::Auto)?;
        self.keep_better_way(auto, Segmentation::Auto, false);
        Ok(())
    }

    /// A turn that reading cannot confirm on an unreadable page is not
    /// trusted: the text's shape misleads on noise, and scans are mostly fed
    /// upright. Such a page stays as scanned unless that reads worse.
    fn try_as_scanned(&mut self) -> Result<(), K> {
        let geom = geometry_for(self.src.g, self.src.dpi, 0);
        let upright = self.read(&geom, self.reading.cleaning, self.reading.segmentation)?;
        let upright_conf = confidence(&upright.page);
        if upright_conf > self.conf() && quality(&upright.page) >= quality(&self.full.page) {
            self.reading.geometry = geom;
            self.reading.turned = true;
            self.full = upright;
        }
        Ok(())
    }

    /// A worn copy still read doubtfully may be crossed by a copier's
    /// blurred ghost of another sheet, which no cleaning above takes away:
    /// it is read with blurred marks lifted to paper, in the turn kept, by
    /// layout analysis and as one block, and that kept when it reads
    /// clearly better ([`BLUR_LIFT_GAIN`]).
    fn try_blur_lifted(&mut self) -> Result<(), K> {
        let geom = self.reading.geometry;
        let made = raster_or_as_is(&self.src, &geom, Cleaning::BlurLifted);
        for way in [Segmentation::Auto, Segmentation::OneBlock] {
            let lifted = self.read_made(&geom, made.clone(), way)?;
            let q = quality(&self.full.page);
            if quality(&lifted.page) > q + BLUR_LIFT_GAIN * q.abs() {
                self.full = lifted;
                self.reading.cleaning = Cleaning::BlurLifted;
                self.reading.segmentation = way;
            }
        }
        Ok(())
    }

    /// A low-resolution scan's turn and cleaning are settled by one block of
    /// lines; its text is read by layout analysis unless that loses text
    /// ([`LAYOUT_SHARE`]).
    fn try_layout_analysis(&mut self) -> Result<(), K> {
        let geom = self.reading.geometry;
        let auto = self.read(&geom, self.reading.cleaning, Segmentation::Auto)?;
        let block_q = quality(&self.full.page);
        if quality(&auto.page) >= block_q - (1.0 - LAYOUT_SHARE) * block_q.abs() {
            let block = std::mem::replace(&mut self.full, auto);
            self.reading.segmentation = Segmentation::Auto;
            self.other = block.bent.is_none().then_some((block.page, geom));
        }
        Ok(())
    }

    /// A photo taken at a slant reads at a good confidence that hides the
    /// lines it broke where they fan out: one whose lines stand far from
    /// straight ([`PHOTO_BEND`]) is read straightened too, and that kept if
    /// it reads better.
    fn try_straightened(&mut self) -> Result<(), K> {
        let far = clean::dewarp(&self.full.raster, clean::DEWARP_BANDS)
            .is_some_and(|(_, bend)| bend.size >= PHOTO_BEND * self.full.raster.height as f32);
        if !far {
            return Ok(());
        }
        let (geom, way) = (self.reading.geometry, self.reading.segmentation);
        let straight = self.read(&geom, Cleaning::DewarpedInBands, way)?;
        if straight.bent.is_some() {
            self.keep_if_better(straight, Cleaning::DewarpedInBands);
        }
        Ok(())
    }

    /// The reading kept, completed: boxed digits read on other readings,
    /// table cells read without their rules, a photo's lines left unread,
    /// marks and digits asked about again by the second reader, words put
    /// back where they stand on the page, the words of its dates put right
    /// by the date's form, and junk dropped.
    fn finish(mut self, mut second: Option<&mut ReadWord>) -> Result<Reading, K> {
        let (dpi, photo) = (self.src.dpi, self.photo);
        let mut full = self.full;
        let mut reading = self.reading;
        // Which of a photo's readings holds more turns on its JPEG noise, and
        // each reads some lines better: a line the kept one read unsure that
        // another read clearly better, in the same turn, is taken from it
        // (photos of real-copies, two draws: recall 0.9508 → 0.9530 and
        // real-dev 11 0.936 → 0.957; on scans it is not done).
        if photo && full.bent.is_none() {
            for (other, _) in self.aside.iter().filter(|a| a.1 == reading.geometry) {
                reading.lines_taken += take_better_lines(&mut full.page, other);
            }
        }
        full.carry_combs(&reading.geometry, &self.seen);
        reading.combs_read = full.combs_read();
        reading.cells_read = read_cells(&mut full, dpi, self.recognize)?;
        // Only a photo: on the scans of the three dev sets this found nothing.
        if photo {
            reading.missed_words_read += read_missed(&mut full, dpi, self.recognize)?;
        }
        if let Some(second) = second.as_deref_mut() {
            reading.second_reader_fixes = second::ask_about_marks(
                &mut full.page,
                Crops { raster: &full.raster, scale: full.scale, offset: full.offset },
                second,
                crate::lexicon::installed(),
                crate::frequency::installed(),
            );
        }
        if let Some(bend) = full.bent.take() {
            unbend(&mut full.page, &bend, full.scale, full.offset);
        }
        reading.page = full.page;
        // The two readings of a photo leave different lines unread (layout
        // analysis a line between rows of boxed digits, one block a name
        // beside a dotted leader): each line the other read surely where the
        // page kept has no word is put in, when the page was not turned
        // since.
        if let Some((other, _)) = self.other.take().filter(|o| o.1 == reading.geometry) {
            reading.missed_words_read += fill_unread(&mut reading.page, &other);
        }
        if let Some(second) = second.filter(|_| second::has_misread_number(&reading.page)) {
            // Read again from the page as scanned, in the geometry kept.
            let ((raster, offset, _), s) = raster_or_as_is(&self.src, &reading.geometry, Cleaning::None);
            reading.second_reader_fixes +=
                second::read_misread_numbers(&mut reading.page, Crops { raster: &raster, scale: s, offset }, second);
        }
        crate::phrases::settle(&mut reading.page);
        crate::phrases::join_broken_numbers(&mut reading.page);
        reading.junk_dropped = junk::drop_junk(&mut reading.page);
        Ok(reading)
    }
}

/// Tries the other turns and cleanings on a strip of the page, then reads
/// the whole page the best way found. Returns that reading when it is better
/// than `first` (a turn must also raise the mean confidence).
fn retry(
    src: &Source,
    conf: f32,
    unsure: bool,
    first: &Full,
    geometry: &Geometry,
    recognize: &mut Recognize,
    seen: &mut Seen,
) -> Result<Option<(Full, Geometry, Cleaning)>, K> {
    // Turns and cleanings are read as one block of lines: on a worn or
    // turned page layout analysis takes text for pictures, and the turn it
    // favours is not always the right one.
    let segmentation = Segmentation::OneBlock;
    let Source { g, dpi, k, .. } = *src;
    let r0 = geometry.rotation;
    let mut turns = vec![r0, (r0 + 180) % 360];
    if unsure || conf < LOST_CONF {
        turns.extend([(r0 + 90) % 360, (r0 + 270) % 360]);
    }
    let mut trials = Vec::new();
    for &r in &turns {
        let geom = if r == r0 { *geometry } else { geometry_for(g, dpi, r) };
        let cleanings: &[Cleaning] = if r == r0 {
            &[Cleaning::None, Cleaning::Normalized, Cleaning::Binarized]
        } else {
            &[Cleaning::None, Cleaning::Binarized]
        };
        for &c in cleanings {
            let Some((raster, _, _)) = raster_for(src, &geom, c) else { continue };
            // A page turned as scanned whose lines are bent is also tried
            // with them straightened (from the binarized raster, at hand).
            let bent = (r == r0 && c == Cleaning::Binarized).then(|| clean::dewarp(&raster, 1)).flatten().map(|b| b.0);
            for (raster, c) in std::iter::once((raster, c)).chain(bent.map(|b| (b, Cleaning::Dewarped))) {
                let q = match recognize(&strip_of(&raster), dpi * k, k, segmentation) {
                    Ok(p) => quality(&p),
                    Err(K::OcrTimeout(s)) => return Err(K::OcrTimeout(s)),
                    Err(_) => continue,
                };
                trials.push((q, geom, c));
            }
        }
    }
    // The first reading's own strip is among the trials (r0, no cleaning).
    trials.sort_by(|a, b| b.0.total_cmp(&a.0));
    let base_q = quality(&first.page);
    let base_conf = confidence(&first.page);
    let mut tries: Vec<(Geometry, Cleaning)> = trials.into_iter().take(2).map(|(_, g, c)| (g, c)).collect();
    // On a page read this poorly the strip may not show where the junk came
    // from (a copier's streaks below the text): the cleanings are read whole.
    if conf < LOST_CONF {
        for c in [Cleaning::Normalized, Cleaning::Binarized] {
            if !tries.iter().any(|t| t.0.rotation == r0 && t.1 == c) {
                tries.push((*geometry, c));
            }
        }
    } else if tries.first().is_some_and(|t| t.0.rotation == r0 && t.1 == Cleaning::None) {
        return Ok(None);
    }
    let mut best: Option<(Full, Geometry, Cleaning)> = None;
    let mut best_q = base_q;
    for (geom, c) in tries {
        if geom.rotation == r0 && c == Cleaning::None {
            continue;
        }
        let full = read_full(src, &geom, c, segmentation, recognize, seen)?;
        let (q, pc) = (quality(&full.page), confidence(&full.page));
        let turn_ok = (pc >= TURN_MIN_CONF || pc >= base_conf + TURN_CONF_GAIN)
            && pc >= base_conf
            && q >= 1.5 * base_q.max(0.0) + 20.0;
        if q > best_q && (geom.rotation == r0 || turn_ok) {
            best_q = q;
            best = Some((full, geom, c));
            if conf >= LOST_CONF {
                break;
            }
        }
    }
    Ok(best)
}

/// How sure a word found on what a page's reading left unread must be.
const MISSED_CONF: f32 = 85.0;
/// How many sure, plausible words a line found there must hold.
const MISSED_MIN_WORDS: usize = 3;

/// Layout analysis may leave lines of a photographed form unread (between
/// rows of boxed digits, under a shadow) at a good confidence. The words
/// read are whited out of the raster and what is left is read as sparse
/// text; a line found there is kept when [`MISSED_MIN_WORDS`] or more of its
/// words are sure and plausible and they are three quarters of it (what is
/// found among a signature's strokes, a table's rules or dotted leaders is
/// neither). Returns how many words were added.
fn read_missed(full: &mut Full, dpi: f32, recognize: &mut Recognize) -> Result<usize, K> {
    let (s, (dx, dy)) = (full.scale, full.offset);
    let mut rest = full.raster.clone();
    for w in full.page.lines.iter().flat_map(|l| &l.words) {
        let b = w.bbox;
        let m = ((b[3] - b[1]) * 0.2).max(2.0);
        rest.fill((b[0] + dx) * s - m, (b[1] + dy) * s - m, (b[2] + dx) * s + m, (b[3] + dy) * s + m, 255);
    }
    let mut found = match recognize(&rest, dpi * s, s, Segmentation::Sparse) {
        Ok(p) => p,
        Err(K::OcrTimeout(t)) => return Err(K::OcrTimeout(t)),
        Err(_) => return Ok(0),
    };
    found.shift(dx, dy);
    let mut added = 0;
    for line in found.lines {
        let good = line.words.iter().filter(|w| sure_found(w)).count();
        if good < MISSED_MIN_WORDS || 4 * good < 3 * line.words.len() {
            continue;
        }
        for w in line.words {
            full.page.insert_word(w);
            added += 1;
        }
    }
    Ok(added)
}

/// Puts in `page` the runs of words of `other`'s lines (another reading of
/// the same raster) that stand where `page` has no word and hold
/// [`MISSED_MIN_WORDS`] or more sure, plausible words; their junk goes with
/// the page's ([`junk::drop_junk`]).
/// Returns how many words were added.
fn fill_unread(page: &mut OcrPage, other: &OcrPage) -> usize {
    let mut added = 0;
    for line in &other.lines {
        // A line read as one block may run across two columns of which the
        // page read one: its runs of words where the page has none count.
        let taken = |w: &crate::model::OcrWord| {
            page.lines.iter().flat_map(|l| &l.words).any(|p| crate::model::overlaps(&p.bbox, &w.bbox))
        };
        let mut runs: Vec<Vec<crate::model::OcrWord>> = vec![Vec::new()];
        for w in &line.words {
            if taken(w) {
                runs.push(Vec::new());
            } else if let Some(run) = runs.last_mut() {
                run.push(w.clone());
            }
        }
        for words in runs {
            if words.iter().filter(|w| sure_found(w)).count() < MISSED_MIN_WORDS {
                continue;
            }
            let bbox = words.iter().map(|w| w.bbox).reduce(crate::model::union).unwrap_or(line.bbox);
            added += words.len();
            page.insert_line(crate::model::OcrLine { bbox, words });
        }
    }
    added
}

/// A line of another reading is taken for the page's when it holds this
/// much more plausible text ([`letters_quality`]), and one character more,
/// read no less confidently.
const LINE_GAIN: f32 = 0.1;

/// Two lines stand at the same place: they share most of their height and
/// most of their width.
fn same_line(a: &BBox, b: &BBox) -> bool {
    let v = a[3].min(b[3]) - a[1].max(b[1]);
    let h = a[2].min(b[2]) - a[0].max(b[0]);
    let (ha, hb) = (a[3] - a[1], b[3] - b[1]);
    let (wa, wb) = (a[2] - a[0], b[2] - b[0]);
    v >= 0.6 * ha.max(hb) && h >= 0.8 * wa.max(wb)
}

/// How many letters and digits of some words were read unsure (under
/// [`JUNK_CONF`]).
fn unsure_letters(words: &[crate::model::OcrWord]) -> usize {
    words.iter().filter(|w| w.conf < JUNK_CONF).map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count()).sum()
}

/// Takes for each line of `page` the words `other` (another reading of the
/// page in the same geometry) read on the same line, when that line alone
/// stands there in both and `other` read it clearly better: more plausible
/// letters ([`LINE_GAIN`]), no less confidently, with at most half the
/// letters read unsure (a line the page read with no unsure letter stays:
/// on photos a sure line's rival, with more plausible syllables, was mostly
/// noise read as "la Tô cuc"). Returns how many lines were taken.
fn take_better_lines(page: &mut OcrPage, other: &OcrPage) -> usize {
    let mut taken = 0;
    let boxes: Vec<BBox> = page.lines.iter().map(|l| l.bbox).collect();
    for (i, line) in page.lines.iter_mut().enumerate() {
        let mut matches = other.lines.iter().filter(|o| same_line(&line.bbox, &o.bbox));
        let (Some(o), None) = (matches.next(), matches.next()) else { continue };
        if boxes.iter().enumerate().any(|(j, b)| j != i && same_line(b, &o.bbox)) {
            continue;
        }
        let (q, qo) = (letters_quality(&line.words), letters_quality(&o.words));
        let (d, d_o) = (unsure_letters(&line.words), unsure_letters(&o.words));
        let conf = |ws| crate::model::mean_confidence_of(ws).unwrap_or(0.0);
        if qo > q + LINE_GAIN * q.abs() + 1.0 && conf(&o.words) >= conf(&line.words) && 2 * d_o <= d && d > 0 {
            line.words = o.words.clone();
            line.bbox = o.bbox;
            taken += 1;
        }
    }
    taken
}

/// A word found where a reading had left text unread that counts as text:
/// read at [`MISSED_CONF`] or more, with a letter or digit, plausible.
fn sure_found(w: &crate::model::OcrWord) -> bool {
    w.conf >= MISSED_CONF && w.text.chars().any(char::is_alphanumeric) && syllable::plausible(&w.text)
}

/// Reads a ruled table's cells again with the rules whited out ([`tables`])
/// and, cell by cell, takes that reading in place of the page's when it
/// holds more plausible text (boxed digits read apart are left as they
/// are). Returns how many cells were taken.
fn read_cells(full: &mut Full, dpi: f32, recognize: &mut Recognize) -> Result<usize, K> {
    // A straightened raster's rules no longer stand where the page's do.
    if full.bent.is_some() {
        return Ok(0);
    }
    let Some(table) = tables::find(&full.raster, dpi * full.scale) else {
        return Ok(0);
    };
    let (s, (dx, dy)) = (full.scale, full.offset);
    let mut read = match recognize(&table.unruled, dpi * s, s, Segmentation::OneBlock) {
        Ok(p) => p,
        Err(K::OcrTimeout(t)) => return Err(K::OcrTimeout(t)),
        Err(_) => return Ok(0),
    };
    read.shift(dx - table.origin.0 as f32 / s, dy - table.origin.1 as f32 / s);
    let mut taken = 0;
    for cell in &table.cells {
        let area = cell.map(|v| v as f32 / s);
        let area = [area[0] - dx, area[1] - dy, area[2] - dx, area[3] - dy];
        if full.combs.iter().any(|c| crate::model::overlaps(&c.area, &area)) {
            continue;
        }
        let inside = |w: &&crate::model::OcrWord| crate::model::centre_in(&w.bbox, &area);
        let old = words_quality(full.page.lines.iter().flat_map(|l| &l.words).filter(inside));
        let new: Vec<crate::model::OcrLine> = read
            .lines
            .iter()
            .filter_map(|l| {
                // A rule's remnant read unsurely as a dash or a stroke
                // ("5 _", "7 —") is left out, as the junk filter would.
                let mark = |w: &crate::model::OcrWord| w.conf < JUNK_CONF && !w.text.chars().any(char::is_alphanumeric);
                let words: Vec<_> = l.words.iter().filter(inside).filter(|w| !mark(w)).cloned().collect();
                Some(crate::model::OcrLine { bbox: crate::model::words_box(&words)?, words })
            })
            .collect();
        // Punctuation alone is no reading: the cell read empty (a map's
        // roads close in areas too, and gave a lone dash where the page
        // had read nothing; junk read in a form's empty box goes).
        let new = if new.iter().flat_map(|l| &l.words).any(|w| w.text.chars().any(char::is_alphanumeric)) {
            new
        } else {
            Vec::new()
        };
        // Only a cell the page read doubtfully (empty, or a word in it
        // implausible or unsure), and only for a clearly better reading, by
        // half a sure character (a lone digit read at 90% is worth 0.9): a
        // paragraph layout analysis read well keeps its lines as found.
        let doubtful = {
            let mut words = full.page.lines.iter().flat_map(|l| &l.words).filter(inside).peekable();
            words.peek().is_none() || words.any(|w| w.conf < JUNK_CONF || !syllable::plausible(&w.text))
        };
        // Every word of it read surely: a photographed form's empty table,
        // read without its rules, gives specks and dotted leaders as
        // words, some of them plausible.
        let sure = new.iter().flat_map(|l| &l.words).all(|w| w.conf >= JUNK_CONF);
        if doubtful && sure && words_quality(new.iter().flat_map(|l| &l.words)) > old + 0.5 {
            full.page.remove_words_in(area);
            for l in new {
                full.page.insert_line(l);
            }
            taken += 1;
        }
    }
    Ok(taken)
}

/// The geometry of the page turned by `rotation`, with skew measured anew.
fn geometry_for(g: &Gray, dpi: f32, rotation: u32) -> Geometry {
    let skew_deg = preprocess::skew_of(g, dpi, rotation);
    Geometry { src_w: g.width, src_h: g.height, rotation, skew_deg }
}

/// The page as scanned, at `dpi`, and the enlargement `k` it is read at.
#[derive(Clone, Copy)]
struct Source<'a> {
    g: &'a Gray,
    dpi: f32,
    /// How much the page is enlarged for reading.
    k: f32,
    /// Whether it is sharpened once enlarged (a blurred coarse page,
    /// [`clean::SOFT_EDGES`]).
    sharpen: bool,
}

/// [`raster_for`], and the scale it is read at; where Leptonica could not
/// enlarge or clean, the page as it is, at its own scale.
fn raster_or_as_is(src: &Source, geom: &Geometry, c: Cleaning) -> (Raster, f32) {
    match raster_for(src, geom, c) {
        Some(r) => (r, src.k),
        None => {
            let (r, off) = preprocess::ocr_input(src.g, geom);
            ((r, off, None), 1.0)
        }
    }
}

/// A raster to read, the offset of the upright page inside it (source
/// pixels) and, when its lines were straightened, how they were bent.
type Raster = (Gray, (f32, f32), Option<clean::Bend>);

/// The raster recognition reads for a geometry and cleaning, enlarged by
/// `k`.
fn raster_for(src: &Source, geom: &Geometry, c: Cleaning) -> Option<Raster> {
    let Source { g, dpi, k, sharpen } = *src;
    // Softened before it is levelled: levelling grays a bilevel page's
    // edges itself.
    let soft = match c {
        Cleaning::Softened => Some(clean::soften(g)?),
        // Before enlarging: the edges it looks for are the scan's.
        Cleaning::BlurLifted => Some(clean::lift_blurred(g)),
        _ => None,
    };
    let (input, off) = preprocess::ocr_input(soft.as_ref().unwrap_or(g), geom);
    let input = if k > 1.0 { clean::upscale(&input, k, sharpen)? } else { input };
    let (input, bent) = match c {
        Cleaning::None | Cleaning::Softened | Cleaning::BlurLifted => (input, None),
        Cleaning::Normalized => (clean::normalize(&input)?, None),
        Cleaning::Binarized => (clean::binarize(&input, dpi * k)?, None),
        Cleaning::Lifted => (clean::lift(&input), None),
        Cleaning::NormalizedLifted => (clean::lift(&clean::normalize(&input)?), None),
        Cleaning::Dewarped | Cleaning::DewarpedInBands => {
            let bands = if c == Cleaning::Dewarped { 1 } else { clean::DEWARP_BANDS };
            let (r, bend) = clean::dewarp(&clean::binarize(&input, dpi * k)?, bands)?;
            (r, Some(bend))
        }
    };
    Some((input, off, bent))
}

/// Puts the words read on a straightened raster back where they stand on
/// the page: each word down by the shift at its centre (`bend` in raster
/// pixels, `scale` raster pixels per page pixel, `offset` the page's corner
/// in the raster, in page pixels).
fn unbend(page: &mut OcrPage, bend: &clean::Bend, scale: f32, offset: (f32, f32)) {
    for line in &mut page.lines {
        for w in &mut line.words {
            let x = ((w.bbox[0] + w.bbox[2]) / 2.0 + offset.0) * scale;
            let y = ((w.bbox[1] + w.bbox[3]) / 2.0 + offset.1) * scale;
            let s = bend.at(x.max(0.0) as usize, y) / scale;
            w.bbox[1] += s;
            w.bbox[3] += s;
        }
        if let Some(b) = crate::model::words_box(&line.words) {
            line.bbox = b;
        }
    }
}

/// A full reading with the raster it was read from.
struct Full {
    page: OcrPage,
    raster: Gray,
    /// Raster pixels per source pixel.
    scale: f32,
    /// Where the upright page's corner lies in the raster, in source pixels.
    offset: (f32, f32),
    /// Rows of boxed digits put in place of the page's reading of them.
    combs: Vec<CombRead>,
    /// How the raster's lines were bent when they were straightened: the
    /// words stand there until [`unbend`] at the end.
    bent: Option<clean::Bend>,
}

/// Reads the page in one geometry and cleaning, boxed digits apart; the
/// combs it reads are also noted in `seen`.
fn read_full(
    src: &Source,
    geom: &Geometry,
    c: Cleaning,
    segmentation: Segmentation,
    recognize: &mut Recognize,
    seen: &mut Seen,
) -> Result<Full, K> {
    read_made(src, geom, raster_or_as_is(src, geom, c), segmentation, recognize, seen)
}

/// Reads a raster made for one geometry and cleaning ([`raster_or_as_is`],
/// with its scale), as [`read_full`] does: a raster read in two
/// segmentations is made once.
fn read_made(
    src: &Source,
    geom: &Geometry,
    made: (Raster, f32),
    segmentation: Segmentation,
    recognize: &mut Recognize,
    seen: &mut Seen,
) -> Result<Full, K> {
    let dpi = src.dpi;
    let ((raster, offset, bent), scale) = made;
    // Boxed digits are read apart, on their own strip, and take the place
    // of what the page's reading made of them (not on a straightened
    // raster: its boxes are no longer where the page's are).
    let found = if bent.is_some() { Vec::new() } else { combs::find(&raster) };
    let strips: Vec<_> = found.iter().map(|c| (c.outer, combs::strip(&raster, c))).collect();
    let mut page = recognize(&raster, dpi * scale, scale, segmentation)?;
    let mut read_here = Vec::new();
    for (outer, strip) in strips {
        let [x0, y0, x1, y1] = outer.map(|v| v as f32 / scale);
        let area = [x0 - offset.0, y0 - offset.1, x1 - offset.0, y1 - offset.1];
        let Some((strip, filled)) = strip else {
            read_here.push(CombRead { area, digits: None });
            continue;
        };
        let read = match recognize(&strip, dpi * scale, 1.0, Segmentation::OneBlock) {
            Ok(p) => p,
            Err(K::OcrTimeout(s)) => return Err(K::OcrTimeout(s)),
            Err(_) => continue,
        };
        if let Some(text) = combs::digits(&read.text(), filled) {
            read_here.push(CombRead { area, digits: Some((text, read.mean_confidence().unwrap_or(0.0))) });
        }
    }
    page.shift(offset.0, offset.1);
    (page.width, page.height) = geom.upright_size();
    let mut full = Full { page, raster, scale, offset, combs: Vec::new(), bent };
    for c in read_here {
        seen.push((*geom, c.clone()));
        full.put_comb(c);
    }
    Ok(full)
}

/// Boxed digits read on one reading, in the page's pixels: the digits and
/// their confidence, or None for an empty comb (its rules read as junk).
#[derive(Clone, Debug)]
struct CombRead {
    area: BBox,
    digits: Option<(String, f32)>,
}

/// The combs read on every reading of a page, with the geometry each was
/// read in: a comb's rules may stand out only on a cleaned copy (a photo
/// lit from one side), while the reading kept is another.
type Seen = Vec<(Geometry, CombRead)>;

impl Full {
    /// Puts a comb's digits in place of what the reading made of them.
    fn put_comb(&mut self, c: CombRead) {
        self.page.remove_words_in(c.area);
        if let Some((text, conf)) = &c.digits {
            self.page.insert_word(crate::model::OcrWord { text: text.clone(), bbox: c.area, conf: *conf });
        }
        self.combs.push(c);
    }

    /// Puts in the combs read on other readings in the same geometry where
    /// this one found none. Only combs whose digits were read: a comb found
    /// empty on a dim copy may hold digits this reading read, and its words
    /// would go.
    fn carry_combs(&mut self, geom: &Geometry, seen: &Seen) {
        for (g, c) in seen {
            if g == geom && c.digits.is_some() && !self.combs.iter().any(|o| crate::model::overlaps(&o.area, &c.area)) {
                self.put_comb(c.clone());
            }
        }
    }

    /// Rows of boxed digits read apart (empty ones aside).
    fn combs_read(&self) -> usize {
        self.combs.iter().filter(|c| c.digits.is_some()).count()
    }
}

/// The band of a page where body text usually is: rows from 20% to 55%.
fn strip_of(g: &Gray) -> Gray {
    let (y0, y1) = (g.height as usize / 5, g.height as usize * 55 / 100);
    let w = g.width as usize;
    Gray { width: g.width, height: (y1 - y0) as u32, data: g.data[y0 * w..y1 * w].to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_line, test_word, OcrLine, OcrWord};

    /// A reading of `page` from `raster`, at the page's scale, nothing
    /// read apart.
    fn full_of(page: OcrPage, raster: Gray) -> Full {
        Full { page, raster, scale: 1.0, offset: (0.0, 0.0), combs: Vec::new(), bent: None }
    }

    #[test]
    fn lines_read_down_a_page_on_its_side_add_no_quality_and_count_as_unsure() {
        // A line read down the page: its words one under the other.
        let down = |x: f32, texts: &[&str]| {
            let words: Vec<OcrWord> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| OcrWord {
                    text: (*t).into(),
                    bbox: [x, i as f32 * 40.0, x + 24.0, i as f32 * 40.0 + 30.0],
                    conf: 95.0,
                })
                .collect();
            OcrLine { bbox: [x, 0.0, x + 24.0, texts.len() as f32 * 40.0 - 10.0], words }
        };
        let on_its_side = OcrPage {
            lines: vec![down(0.0, &["Độc", "lập", "Tự", "do"]), down(40.0, &["QUYẾT"]), down(80.0, &["Về", "việc"])],
            ..Default::default()
        };
        assert_eq!(quality(&on_its_side), 0.0);
        assert_eq!(confidence(&on_its_side), 0.0);
        // Along the page the same words count; a lone short word taller
        // than wide ("l", "1") is no line read down.
        let mut upright = OcrPage {
            lines: vec![test_line(0.0, &["Độc", "lập", "Tự", "do"], 60.0), test_line(40.0, &["Về", "việc"], 60.0)],
            ..Default::default()
        };
        upright
            .lines
            .push(OcrLine { bbox: [200.0, 0.0, 206.0, 20.0], words: vec![test_word("l", 200.0, 206.0, 90.0)] });
        let (q, conf) = (quality(&upright), confidence(&upright));
        assert!(q > 5.0, "{q}");
        // 16 characters at 60, one at 90.
        assert!((conf - 1050.0 / 17.0).abs() < 0.01, "{conf}");
        // Lines read down add no quality, and their 21 characters count as
        // read at 0.
        upright.lines.extend(on_its_side.lines);
        assert_eq!(quality(&upright), q);
        assert!((confidence(&upright) - 1050.0 / 38.0).abs() < 0.01, "{}", confidence(&upright));
    }

    #[test]
    fn a_line_the_other_reading_read_surely_where_the_page_has_none_is_put_in() {
        let mut page = OcrPage {
            lines: vec![test_line(0.0, &["Họ", "và", "tên"], 95.0), test_line(90.0, &["Ngày", "cấp"], 95.0)],
            ..Default::default()
        };
        let other = OcrPage {
            lines: vec![
                // Where the page has words: not put in, however sure.
                test_line(2.0, &["Hộ", "và", "tên", "Nam"], 97.0),
                // Between boxed digits, unread on the page: put in.
                test_line(45.0, &["Số", "điện", "thoại", "liên", "hệ"], 95.0),
                // Two sure words only (a stamp's, a signature's): not.
                test_line(130.0, &["Nơi", "cấp", "|^w"], 96.0),
                // Unsure: not.
                test_line(170.0, &["xã", "Xuân", "Hồng"], 60.0),
            ],
            ..Default::default()
        };
        assert_eq!(fill_unread(&mut page, &other), 5);
        let lines: Vec<String> = page.lines.iter().map(|l| l.text()).collect();
        assert_eq!(lines, ["Họ và tên", "Số điện thoại liên hệ", "Ngày cấp"]);
    }

    #[test]
    fn what_the_reading_left_is_read_again_and_only_sure_lines_are_kept() {
        // A page read at scale 2 with its corner 10 px into the raster: one
        // line read, the words' ink dark in the raster.
        let page = OcrPage {
            width: 300,
            height: 100,
            lines: vec![OcrLine { bbox: [0.0, 0.0, 100.0, 20.0], words: vec![test_word("Ngày", 0.0, 40.0, 95.0)] }],
        };
        let mut raster = Gray::new(620, 220, 255);
        raster.fill(20.0, 20.0, 100.0, 60.0, 0);
        let mut full = Full { scale: 2.0, offset: (10.0, 10.0), ..full_of(page, raster) };
        let line = |y: f32, words: &[(&str, f32)]| OcrLine {
            bbox: [0.0, y, 300.0, y + 20.0],
            words: words
                .iter()
                .enumerate()
                .map(|(i, &(t, c))| OcrWord {
                    text: t.into(),
                    bbox: [i as f32 * 50.0, y, i as f32 * 50.0 + 40.0, y + 20.0],
                    conf: c,
                })
                .collect(),
        };
        let mut seen = None;
        let mut recognize = |g: &Gray, _: f32, scale: f32, seg: Segmentation| -> Result<OcrPage, K> {
            assert_eq!((seg, scale), (Segmentation::Sparse, 2.0));
            seen = Some(g.data.iter().all(|&v| v == 255));
            Ok(OcrPage {
                width: 310,
                height: 110,
                lines: vec![
                    line(60.0, &[("5.", 97.0), ("Số", 96.0), ("điện", 95.0), ("thoại:", 93.0)]),
                    line(80.0, &[("lÑ", 95.0), ("Số", 95.0), ("|", 95.0), ("hu", 91.0)]),
                    line(90.0, &[("Giới", 70.0), ("tính:", 97.0), ("Nữ", 96.0)]),
                ],
            })
        };
        assert_eq!(read_missed(&mut full, 150.0, &mut recognize).unwrap(), 4);
        assert_eq!(seen, Some(true), "the words read are whited out before reading again");
        assert_eq!(full.page.text(), "Ngày\n5. Số điện thoại:\n");
        assert_eq!(full.page.lines[1].words[0].bbox, [-10.0, 50.0, 30.0, 70.0], "boxes are the page's");
    }

    #[test]
    fn a_line_another_reading_read_clearly_better_is_taken_alone() {
        let mut page = OcrPage {
            width: 400,
            height: 200,
            lines: vec![
                test_line(0.0, &["Họ", "tên:", "Nguyễn"], 70.0),
                test_line(40.0, &["ýi|", "#w", "chủ"], 40.0),
                test_line(80.0, &["Ngày", "sinh"], 50.0),
            ],
        };
        let other = OcrPage {
            width: 400,
            height: 200,
            lines: vec![
                // Read more surely, but the page read no word of it
                // unsure: it stays.
                test_line(0.0, &["Họ", "tên:", "Nguyên"], 96.0),
                // Read clearly better: taken.
                test_line(41.0, &["Ý", "kiến", "chủ"], 90.0),
                // Better, but two lines of the other reading stand there:
                // which one is the page's line cannot be told.
                test_line(78.0, &["Ngày", "sinh:"], 96.0),
                test_line(82.0, &["Ngày", "sinh:"], 96.0),
            ],
        };
        assert_eq!(take_better_lines(&mut page, &other), 1);
        assert_eq!(page.text(), "Họ tên: Nguyễn\nÝ kiến chủ\nNgày sinh\n");
        // A line spanning only part of the page's is not the same line.
        let mut page = OcrPage { width: 400, height: 200, lines: vec![test_line(0.0, &["a|", "#", "w", "ü"], 30.0)] };
        let half = OcrPage { width: 400, height: 200, lines: vec![test_line(0.0, &["Số", "nhà"], 95.0)] };
        assert_eq!(take_better_lines(&mut page, &half), 0);
    }

    #[test]
    fn a_comb_read_on_another_reading_in_the_same_geometry_is_carried_over() {
        let geom = Geometry::identity(600, 100);
        let page = OcrPage {
            width: 600,
            height: 100,
            lines: vec![OcrLine {
                bbox: [0.0, 0.0, 600.0, 20.0],
                words: vec![
                    test_word("Số:", 0.0, 40.0, 95.0),
                    test_word("lo", 200.0, 220.0, 40.0),
                    test_word("[o", 260.0, 280.0, 30.0),
                ],
            }],
        };
        let mut full = full_of(page, Gray::new(600, 100, 255));
        let comb = |x0: f32, digits: Option<&str>| CombRead {
            area: [x0, 0.0, x0 + 200.0, 20.0],
            digits: digits.map(|d| (d.to_string(), 90.0)),
        };
        let turned = Geometry { rotation: 180, ..geom };
        let seen: Seen = vec![
            (geom, comb(0.0, None)),
            (geom, comb(190.0, Some("0794"))),
            (geom, comb(200.0, Some("9999"))),
            (turned, comb(400.0, Some("1234"))),
        ];
        full.carry_combs(&geom, &seen);
        assert_eq!(full.page.text(), "Số: 0794\n", "one comb per place, none from another turn, no empty one");
        assert_eq!(full.combs_read(), 1);
    }
}
