//! Words a fixed phrase of administrative paper settles. Decree 30/2020 has
//! every paper write its dates as "ngày dd tháng mm năm yyyy" and cite other
//! papers as "số 83/2014/NĐ-CP", and a page holds many of both. Tesseract
//! reads a speck over "năm" as a mark ("nặm", "măm" on an italic speckled
//! scan), a worn "tháng" as "thang", "số" as "sổ"; each is a word a
//! Vietnamese reader knows (the junk filter keeps it, the second reader is
//! not asked) and only the phrase around it says what it must be. This
//! module exists apart from `junk`, which drops words, because it changes a
//! word by its neighbours: between a day, a month and a year, or before a
//! paper's number, only one word can stand, so a word close to it is it.
//! The same print puts right a word Tesseract read with capitals inside it,
//! digits it read as letters, a paper's number or a year it read as two
//! words and a date's word it read run into its number.

use crate::junk::JUNK_CONF;
use crate::model::{OcrPage, OcrWord};
use crate::syllable::{fold, letters};

/// Puts right the words of the page's set phrases, written dates, paper
/// numbers and article headings, read in order across lines (a date may
/// break after its day):
/// - a set phrase ([`SET_PHRASES`]) read with other marks is written with
///   its own;
/// - the word after "tháng" and a month and before a year is "năm"; the word
///   after "ngày" and a day and before a month and "năm" is "tháng"; the word
///   before a day and "tháng", a month, "năm" and a year is "ngày", when its
///   letters, without their marks, are one letter off that word;
/// - "số" read with another tone ("sổ") before a paper's number (digits and
///   a slash: "83/2014/NĐ-CP", "10/TTr-HĐND") is "số";
/// - "Điều" read with other marks opening a line before a number ("Điêu 3.")
///   is "Điều", an article's heading;
/// - a word read with capitals after a small letter ("gỠ") is written in
///   one case ([`one_case`]);
/// - "Nơi nhận:" opening a line, a letter off, is "Nơi nhận:"
///   ([`recipients_heading`]);
/// - a sure word or a code of digits and letters that look like digits
///   ("l4", "Í0", "COVID-L9"), a day or month so read between a date's
///   words, and "I" after "Điều", are those digits
///   ([`digits_read_as_letters`]);
/// - a date's word run into its number ("ngày23") is two words
///   ([`part_glued_dates`]).
///
/// The word's case (upper, capitalized) and the punctuation around it are
/// kept. Returns how many words were changed or parted.
pub(crate) fn settle(p: &mut OcrPage) -> usize {
    part_glued_dates(p)
        + one_case(p)
        + digits_read_as_letters(p)
        + set_phrases(p)
        + dates_and_numbers(p)
        + recipients_heading(p)
}

/// A date's word and its number read as one word ("Hà Nội, ngày23 tháng
/// 4" on real-dev 01, "ngày 26tháng 7" on the Đà Nẵng letters,
/// "ngày82tháng") are made the words they are; print never writes a
/// syllable against a digit. Each part takes the share of the word's box its
/// characters do. Returns how many words were parted.
fn part_glued_dates(p: &mut OcrPage) -> usize {
    let mut parted = 0;
    for line in &mut p.lines {
        let mut wi = 0;
        while wi < line.words.len() {
            let w = &line.words[wi];
            let Some(parts) = glued_date(&w.text) else {
                wi += 1;
                continue;
            };
            let [x0, y0, x1, y1] = w.bbox;
            let total = w.text.chars().count() as f32;
            let mut at = 0.0;
            let words: Vec<OcrWord> = parts
                .iter()
                .map(|t| {
                    let share = t.chars().count() as f32 / total * (x1 - x0);
                    let b = [x0 + at, y0, x0 + at + share, y1];
                    at += share;
                    OcrWord { text: t.clone(), bbox: b, conf: w.conf }
                })
                .collect();
            let n = words.len();
            line.words.splice(wi..=wi, words);
            wi += n;
            parted += 1;
        }
    }
    parted
}

/// The parts of a word of a date's words ("ngày", "tháng", "năm") and
/// numbers of one to four digits run together, with the punctuation around
/// it on the first and last part; `None` for any other word.
fn glued_date(w: &str) -> Option<Vec<String>> {
    let (before, core, after) = edges(w);
    let mut runs: Vec<String> = Vec::new();
    for c in core.chars() {
        match runs.last_mut() {
            Some(run) if run.chars().last().is_some_and(|l| l.is_ascii_digit()) == c.is_ascii_digit() => run.push(c),
            _ => runs.push(c.to_string()),
        }
    }
    let date_word = |r: &str| ["ngày", "tháng", "năm"].contains(&r.to_lowercase().as_str());
    let fits = |r: &String| if r.as_bytes()[0].is_ascii_digit() { r.len() <= 4 } else { date_word(r) };
    if runs.len() < 2 || !runs.iter().all(fits) {
        return None;
    }
    runs[0].insert_str(0, before);
    if let Some(last) = runs.last_mut() {
        last.push_str(after);
    }
    Some(runs)
}

/// The digit a letter or mark Tesseract reads among digits stands for.
/// "Š" is no Vietnamese letter: it is a worn "5".
fn digit_for(c: char) -> Option<char> {
    match c {
        'l' | 'I' | 'Í' | 'L' | ']' => Some('1'),
        'O' => Some('0'),
        'Š' => Some('5'),
        _ => None,
    }
}

/// `part` written in digits, when it is not empty and each of its
/// characters is a digit or looks like one ([`digit_for`]).
fn looks_like_digits(part: &str) -> Option<String> {
    let looks = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit() || digit_for(c).is_some());
    looks.then(|| part.chars().map(|c| digit_for(c).unwrap_or(c)).collect())
}

/// `part` (digits and letters, no slash, hyphen or dot) written in digits,
/// when it holds a digit (or "Š") and every other character of it looks
/// like one.
fn as_digits(part: &str) -> Option<String> {
    looks_like_digits(part).filter(|_| part.chars().any(|c| c.is_ascii_digit() || c == 'Š'))
}

/// A sure word (read at [`JUNK_CONF`] or more) whose parts between
/// slashes, hyphens and dots hold digits and letters that look like digits
/// is written with those parts' digits: "trước l4 giờ" (five copies of a
/// Đà Nẵng letter), "ngày Í0", "I4/03/2005" on real-copies' worn and
/// photographed decisions and forms, "COVID-L9" and "Công văn số
/// I899/SGDĐT-CTrTT" on the Đà Nẵng letters, "Š." numbering a section. No
/// Vietnamese word holds a digit, and a code's letters are others ("H40",
/// "QĐ", "CO2"). An unsure one is left to the junk filter (a seal's strokes
/// read "l4"), unless it is a code the filter keeps as read ("COVID-L9",
/// "I899/SGDĐT-CTrTT" read unsure on the chat app's copy) or a date's words
/// stand on both sides of it ("tháng l1 năm 2022", "ngày /0 tháng 01": a
/// day or month is what it can only be, and "/" there is a "1"'s stroke).
fn digits_read_as_letters(p: &mut OcrPage) -> usize {
    let places = word_places(p);
    let mut changed = 0;
    for (k, &(li, wi)) in places.iter().enumerate() {
        let word = |i: usize| places.get(i).map(|&(li, wi)| p.lines[li].words[wi].text.as_str());
        let between = |before: &str, after: &str| {
            k > 0 && word(k - 1).is_some_and(|b| is_word(b, before)) && word(k + 1).is_some_and(|a| is_word(a, after))
        };
        let w = &p.lines[li].words[wi];
        let top = if between("ngày", "tháng") {
            31
        } else if between("tháng", "năm") {
            12
        } else {
            0
        };
        let slot = w.text.trim_end_matches(|c: char| ",.;:)!".contains(c));
        let day_or_month = (top > 0)
            .then(|| {
                let stroke = slot.strip_prefix('/').filter(|d| !d.is_empty());
                as_digits(&stroke.map(|d| format!("1{d}")).unwrap_or_else(|| slot.to_string()))
            })
            .flatten()
            .filter(|d| number(d).is_some_and(|n| (1..=top).contains(&n)))
            .map(|d| format!("{d}{}", &w.text[slot.len()..]));
        // "tại Điều I": an article is numbered in digits (Decree 30/2020),
        // and a lone "I" or "l" after its word is a "1".
        let article =
            (k > 0 && word(k - 1).is_some_and(|b| is_word(b, "điều")) && matches!(letters(&w.text), "I" | "l"))
                .then(|| with_letters(&w.text, "1"));
        let code = w.text.contains(['/', '-']) && crate::syllable::print(&w.text);
        let fixed = day_or_month.or(article).or_else(|| {
            (w.conf >= JUNK_CONF || code).then(|| with_letters(&w.text, &parts_as_digits(letters(&w.text))))
        });
        if let Some(fixed) = fixed.filter(|f| *f != w.text) {
            p.lines[li].words[wi].text = fixed;
            changed += 1;
        }
    }
    changed
}

/// `core` with each of its parts between slashes, hyphens and dots that
/// [`as_digits`] reads as digits written so.
fn parts_as_digits(core: &str) -> String {
    core.split_inclusive(['/', '-', '.'])
        .map(|part| {
            let (body, cut) = part.strip_suffix(['/', '-', '.']).map_or((part, ""), |b| (b, &part[b.len()..]));
            as_digits(body).map_or_else(|| part.to_string(), |d| format!("{d}{cut}"))
        })
        .collect()
}

/// "Nơi nhận:", the heading of a paper's list of recipients, opening a line
/// and read a letter off in either word ("Mới nhận:", "Noi nhện:", "Nơi
/// nhậm:" on worn and photographed copies of real-dev's decisions), is
/// written as printed. Not before a number ("Mới nhận: 35", a count), and
/// not "Người nhận:", a form's label, two letters off.
fn recipients_heading(p: &mut OcrPage) -> usize {
    let near = |w: &str, want: &str| is_word(w, want) || settled(w, want).is_some();
    let mut changed = 0;
    for line in &mut p.lines {
        let [first, second, rest @ ..] = line.words.as_mut_slice() else { continue };
        let capital = letters(&first.text).chars().next().is_some_and(char::is_uppercase);
        let count = rest.first().is_some_and(|w| w.text.starts_with(|c: char| c.is_ascii_digit()));
        if !capital || count || !second.text.ends_with(':') || !near(&first.text, "nơi") || !near(&second.text, "nhận")
        {
            continue;
        }
        for (w, want) in [(first, "nơi"), (second, "nhận")] {
            if let Some(fixed) = settled(&w.text, want) {
                w.text = fixed;
                changed += 1;
            }
        }
    }
    changed
}

/// A word that opens with a small letter and holds capitals after it ("gặp
/// gỠ", "Công văn sỐ 4869", "tháng... nĂM") is written in one case when its
/// letters spell a Vietnamese syllable: in capitals when the words on both
/// sides of it in its line are ("CỘNG HÒA xA HỘI"), otherwise in small
/// letters. Print mixes case inside a word only in a paper's code ("TTr",
/// "CTr"), which opens with a capital. Tesseract reads a tall stacked mark
/// as a capital's (the plain CLI read that "gỡ" "ĐỠ").
fn one_case(p: &mut OcrPage) -> usize {
    let mut changed = 0;
    for line in &mut p.lines {
        let capitals: Vec<Option<bool>> = line
            .words
            .iter()
            .map(|w| {
                let l = letters(&w.text);
                l.chars().any(char::is_alphabetic).then(|| !l.chars().any(char::is_lowercase))
            })
            .collect();
        for wi in 0..line.words.len() {
            let w = &mut line.words[wi];
            let core = letters(&w.text);
            let mut chars = core.chars();
            let opens_small = chars.next().is_some_and(char::is_lowercase);
            if !opens_small || !chars.any(char::is_uppercase) || !core.chars().all(char::is_alphabetic) {
                continue;
            }
            let before = capitals[..wi].iter().rev().find_map(|c| *c);
            let after = capitals[wi + 1..].iter().find_map(|c| *c);
            let written =
                if before == Some(true) && after == Some(true) { core.to_uppercase() } else { core.to_lowercase() };
            if crate::syllable::syllable(&written) {
                w.text = with_letters(&w.text, &written);
                changed += 1;
            }
        }
    }
    changed
}

/// Joins a paper's number that Tesseract read as two words at its hyphen
/// ("Công văn số 4869/UBND-" ending a line and "SYT" opening the next,
/// "Nghị quyết số 80-" "NQ/TW", "51/2025/TT-" "-BCA"): the first word, digits
/// then a hyphen, takes the second, a code of capitals, when the two hold a
/// slash. Vietnamese breaks no word at a line's end, and every copy of the
/// Đà Nẵng letters and the unseen decrees writes such a number whole. A year
/// after "năm" read as two words in the same line ([`broken_year`]) is
/// joined too. The joined word spans both words' boxes in one line and
/// keeps the first's across two; a line left without words goes. Returns how
/// many numbers were joined.
pub(crate) fn join_broken_numbers(p: &mut OcrPage) -> usize {
    let mut joined = 0;
    let mut li = 0;
    while li < p.lines.len() {
        let mut wi = 0;
        while wi < p.lines[li].words.len() {
            let next = if wi + 1 < p.lines[li].words.len() {
                Some((li, wi + 1))
            } else {
                (li + 1 < p.lines.len() && !p.lines[li + 1].words.is_empty()).then_some((li + 1, 0))
            };
            let Some((nl, nw)) = next else {
                wi += 1;
                continue;
            };
            let first = &p.lines[li].words[wi].text;
            let second = &p.lines[nl].words[nw].text;
            let year =
                (wi > 0 && nl == li).then(|| broken_year(&p.lines[li].words[wi - 1].text, first, second)).flatten();
            if let Some(whole) = broken_number(first, second).or(year) {
                p.lines[li].words[wi].text = whole;
                let taken = p.lines[nl].words.remove(nw);
                if nl == li {
                    let w = &mut p.lines[li].words[wi];
                    w.bbox = crate::model::union(w.bbox, taken.bbox);
                }
                if let Some(b) = crate::model::words_box(&p.lines[nl].words) {
                    p.lines[nl].bbox = b;
                }
                joined += 1;
                continue;
            }
            wi += 1;
        }
        li += 1;
    }
    p.lines.retain(|l| !l.words.is_empty());
    joined
}

/// `first` and `second` written as one year after "năm" ("Kế hoạch năm
/// 201 I." on two real-dev decisions): `first` one to three digits,
/// `second` the rest of the year's four, in digits or letters that look like
/// them, punctuation after it kept.
fn broken_year(before: &str, first: &str, second: &str) -> Option<String> {
    let tail = second.trim_end_matches(|c: char| ",.;:)".contains(c));
    let digits = format!("{first}{}", looks_like_digits(tail)?);
    let year = (is_word(before, "năm") && first.bytes().all(|b| b.is_ascii_digit()) && digits.len() == 4)
        .then(|| number(&digits))
        .flatten()?;
    (1900..=2099).contains(&year).then(|| format!("{digits}{}", &second[tail.len()..]))
}

/// `first` and `second` written as one paper's number, when `first` is
/// digits, then letters, slashes and hyphens, ending in a hyphen
/// ("4869/UBND-", "80-"), `second` a code of at least two capitals, digits,
/// slashes and hyphens ("SYT", "NQ/TW", "-BCA", "BCT."), and the two hold a
/// slash.
fn broken_number(first: &str, second: &str) -> Option<String> {
    let code_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | 'Đ' | 'đ');
    let opens_with_digit = first.chars().next().is_some_and(|c| c.is_ascii_digit());
    if !opens_with_digit || !first.ends_with('-') || !first.chars().all(code_char) {
        return None;
    }
    let tail = second.strip_prefix('-').unwrap_or(second);
    let code = tail.trim_end_matches(|c: char| ",.;:)".contains(c));
    let capitals = code.chars().filter(|c| c.is_uppercase()).count();
    if !code.chars().next().is_some_and(char::is_uppercase) || capitals < 2 || !code.chars().all(code_char) {
        return None;
    }
    (first.contains('/') || code.contains('/')).then(|| format!("{first}{tail}"))
}

/// Phrases of administrative paper whose letters, without their marks, no
/// other words share (checked against 146,000 words of Vietnamese
/// Wikipedia and documents: "tự do" alone also folds as "từ đó", "việt
/// nam" as "Việt năm", "thông tư" as "thống tự", "thành phố" as "thành
/// Phó", so those stand only inside a longer phrase or not at all). Each
/// phrase's other spellings among wordfreq's common syllables were read
/// too, and these are left out for a phrase they spell: "nắm bắt" ("năm
/// bắt đầu"), "chỉ đạo" ("chị Đào"), "sẵn sàng" ("khách sạn sang trọng"),
/// "đề xuất" ("để xuất khẩu"), "theo dõi" ("theo đối tượng"), "cán bộ" ("cần
/// bổ sung"), "thủ trưởng" ("thứ trưởng"), "nhân viên" ("nhận viện trợ"),
/// "đơn vị" ("đơn vì"), "văn phòng" ("vẫn phòng ngừa"); "phổ thông"
/// stands only after "học" ("thành phố thông minh"), "nắm bắt" before
/// "tình hình". "về việc" (a letter's subject, "V/v") is read only so in
/// 469,000 words of nom-vn's Vietnamese texts.
const SET_PHRASES: [&str; 102] = [
    "kính gửi",
    "về việc",
    "để kịp thời",
    "nắm bắt tình hình",
    "về phòng chống",
    "tự do hạnh phúc",
    "ban nhân dân tỉnh",
    "một số điều",
    "sửa đổi",
    "bổ sung",
    "căn cứ",
    "ban nhân dân",
    "đồng nhân dân",
    "kể từ ngày",
    "hồ sơ",
    "đăng ký",
    "chủ tịch",
    "chính phủ",
    "tổ chức",
    "xã hội chủ nghĩa",
    "chủ nghĩa việt nam",
    "độc lập tự do",
    "hạnh phúc",
    "văn bản",
    "thi hành",
    "quy định",
    "quyết định",
    "trách nhiệm",
    "hiệu lực",
    "chi tiết",
    "kinh tế",
    "thay đổi",
    "giáo dục",
    "kế hoạch",
    "tổ quốc",
    "thường trú",
    "tạm trú",
    "khai sinh",
    "chứng thực",
    "giải quyết",
    "thủ tục",
    "hành chính",
    "điện thoại",
    "tiếp nhận",
    "quốc tịch",
    "kết quả",
    "nhiệm vụ",
    "quyền hạn",
    "dân tộc",
    "hộ khẩu",
    "căn cước",
    "giới tính",
    "địa chỉ",
    "kiểm tra",
    "y tế",
    "ý kiến",
    "giám sát",
    "đảm bảo",
    "tất cả",
    "yêu cầu",
    "đào tạo",
    "báo cáo",
    "thực hiện",
    "triển khai",
    "phối hợp",
    "học sinh",
    "sinh viên",
    "giáo viên",
    "trường học",
    "kịp thời",
    "hướng dẫn",
    "phòng chống",
    "chặt chẽ",
    "đại học",
    "học phổ thông",
    "nhà nước",
    "quản lý",
    "giáo dục và đào tạo",
    "tình hình",
    "thường xuyên",
    "phục vụ",
    "tốt nghiệp",
    "điều kiện",
    "hoạt động",
    "tăng cường",
    "xử lý",
    "chủ động",
    "an toàn",
    "thông tin",
    "huy động",
    "đội ngũ",
    "khẩn trương",
    "biểu hiện",
    "rà soát",
    "chuẩn bị",
    "nghiêm túc",
    "khuyến cáo",
    "tổng hợp",
    "tham mưu",
    "lãnh đạo",
    "công văn",
    "ngoài công lập",
];

/// A set phrase read with other marks ("sửa đỗi", "bỗ sung", "Căn cú",
/// "nhân đân") is written with its own, word by word; punctuation alone
/// between its words ("Độc lập - Tự do") is passed over. A phrase read
/// with no mark at all is left as it is.
fn set_phrases(p: &mut OcrPage) -> usize {
    let places: Vec<(usize, usize)> = p
        .lines
        .iter()
        .enumerate()
        .flat_map(|(li, l)| l.words.iter().enumerate().map(move |(wi, w)| (li, wi, w)))
        .filter(|(_, _, w)| !letters(&w.text).is_empty())
        .map(|(li, wi, _)| (li, wi))
        .collect();
    let folded: Vec<Vec<char>> = places.iter().map(|&(li, wi)| fold(letters(&p.lines[li].words[wi].text))).collect();
    let mut changed = 0;
    for phrase in SET_PHRASES {
        let want: Vec<&str> = phrase.split(' ').collect();
        let want_folded: Vec<Vec<char>> = want.iter().map(|w| fold(w)).collect();
        for k in 0..places.len().saturating_sub(want.len() - 1) {
            if (0..want.len()).any(|i| folded[k + i] != want_folded[i]) {
                continue;
            }
            // A phrase with no mark at all was printed without them ("CONG
            // HOA XA HOI CHU NGHIA"): it is left as printed.
            let read = |i: usize| &p.lines[places[k + i].0].words[places[k + i].1].text;
            if (0..want.len()).all(|i| read(i).is_ascii()) {
                continue;
            }
            for (i, w) in want.iter().enumerate() {
                let (li, wi) = places[k + i];
                let word = &mut p.lines[li].words[wi];
                if !is_word(&word.text, w) {
                    word.text = cased(&word.text, w);
                    changed += 1;
                }
            }
        }
    }
    changed
}

/// Written dates, "số" before a paper's number and an article's heading.
fn dates_and_numbers(p: &mut OcrPage) -> usize {
    let places = word_places(p);
    let mut changed = 0;
    for k in 0..places.len() {
        let word = |i: usize| places.get(k + i).map(|&(li, wi)| p.lines[li].words[wi].text.as_str());
        let is = |i: usize, want: &str| word(i).is_some_and(|w| is_word(w, want));
        let num = |i: usize, lo: u32, hi: u32| word(i).and_then(number).is_some_and(|n| (lo..=hi).contains(&n));
        let (slot, want) = if word(0).is_some_and(paper_number_word) && word(1).is_some_and(paper_number) {
            (0, "số")
        } else if places[k].1 == 0 && word(0).is_some_and(article_word) && num(1, 1, 999) {
            // An article's heading: "Điêu 3." opening a line.
            (0, "điều")
        } else if is(0, "tháng") && num(1, 1, 12) && num(3, 1900, 2099) {
            (2, "năm")
        } else if is(0, "ngày") && num(1, 1, 31) && num(3, 1, 12) && is(4, "năm") {
            (2, "tháng")
        } else if num(1, 1, 31) && is(2, "tháng") && num(3, 1, 12) && is(4, "năm") && num(5, 1900, 2099) {
            (0, "ngày")
        } else {
            continue;
        };
        let (li, wi) = places[k + slot];
        let w = &mut p.lines[li].words[wi];
        if let Some(fixed) = settled(&w.text, want) {
            w.text = fixed;
            changed += 1;
        }
    }
    changed
}

/// The word is `want` (any case, punctuation around it).
fn is_word(w: &str, want: &str) -> bool {
    letters(w).to_lowercase() == want
}

/// The number a word of digits says (punctuation after it allowed: a year
/// ends a clause).
fn number(w: &str) -> Option<u32> {
    let d = w.trim_end_matches(|c: char| ",.;:)".contains(c));
    (!d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.parse().ok()).flatten()
}

/// "số" read with another tone: "sổ", "sỗ", "sồ", "sộ", "sô".
fn paper_number_word(w: &str) -> bool {
    let l = letters(w).to_lowercase();
    l != "số" && crate::syllable::toneless(&l) == "sô"
}

/// "Điều" read with other marks ("Điêu"), capitalized as a heading is.
fn article_word(w: &str) -> bool {
    let l = letters(w);
    l.chars().next().is_some_and(char::is_uppercase) && l.to_lowercase() != "điều" && fold(l) == fold("điều")
}

/// A paper's number: digits, a slash, then more (`83/2014/NĐ-CP`).
fn paper_number(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && w[digits..].strip_prefix('/').is_some_and(|rest| rest.chars().next().is_some_and(char::is_alphanumeric))
}

/// `w` made `want` when its letters are one letter off it without marks
/// (substituted, added or left out) and are not already it.
fn settled(w: &str, want: &str) -> Option<String> {
    let core = letters(w);
    if core.is_empty() || is_word(w, want) || strsim::generic_levenshtein(&fold(core), &fold(want)) > 1 {
        return None;
    }
    Some(cased(w, want))
}

/// Where each word of the page stands, (line, word), in reading order
/// across lines: a date or a number's words may break after any of them.
fn word_places(p: &OcrPage) -> Vec<(usize, usize)> {
    p.lines.iter().enumerate().flat_map(|(li, l)| (0..l.words.len()).map(move |wi| (li, wi))).collect()
}

/// `w` as the punctuation before its letters ([`letters`]), the letters,
/// and the punctuation after them.
fn edges(w: &str) -> (&str, &str, &str) {
    let core = letters(w);
    let start = w.find(core).unwrap_or(0);
    (&w[..start], core, &w[start + core.len()..])
}

/// `w` with its letters ([`letters`]) written `new`, the punctuation around
/// them kept.
fn with_letters(w: &str, new: &str) -> String {
    let (before, _, after) = edges(w);
    format!("{before}{new}{after}")
}

/// `want` in the case `w`'s letters were read in (upper, capitalized), with
/// `w`'s punctuation around it.
fn cased(w: &str, want: &str) -> String {
    let core = letters(w);
    // Upper case when every letter after the first is ("xA HỘI" in a
    // heading), capitalized when the first is.
    let upper = core.chars().skip(1).filter(|c| c.is_alphabetic()).all(char::is_uppercase);
    let capital = core.chars().next().is_some_and(char::is_uppercase);
    let word = if upper && core.chars().count() > 1 {
        want.to_uppercase()
    } else if capital {
        let mut c = want.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
    } else {
        want.to_string()
    };
    with_letters(w, &word)
}

#[cfg(test)]
mod tests {
    use super::SET_PHRASES;
    use crate::model::{test_line, test_page};
    use unicode_normalization::UnicodeNormalization;

    fn settle_lines(lines: &[&str]) -> (Vec<String>, usize) {
        let mut p = test_page(lines);
        let n = super::settle(&mut p);
        (p.lines.iter().map(|l| l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")).collect(), n)
    }

    /// Each `(read, want)` line settles to `want`, and each of `kept`
    /// stays as read with no word changed.
    fn assert_settles(changed: &[(&str, &str)], kept: &[&str]) {
        for (read, want) in changed {
            assert_eq!(settle_lines(&[read]).0, vec![want.to_string()], "{read}");
        }
        for read in kept {
            assert_eq!(settle_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
    }

    #[test]
    fn a_dates_misread_word_is_the_word_its_place_needs() {
        for (read, want) in [
            ("ngày 13 tháng 3 nặm 2025 của Bộ", "ngày 13 tháng 3 năm 2025 của Bộ"),
            ("tháng 3 măm 2025", "tháng 3 năm 2025"),
            ("ngày 02 tháng 02 nằm 2023.", "ngày 02 tháng 02 năm 2023."),
            ("NGÀY 15 THÁNG 11 NAM 2024", "NGÀY 15 THÁNG 11 NĂM 2024"),
            ("Hà Nội, ngày 28 thảng 4 năm 2026", "Hà Nội, ngày 28 tháng 4 năm 2026"),
            ("Hà Nội, ngáy 28 tháng 4 năm 2026", "Hà Nội, ngày 28 tháng 4 năm 2026"),
            ("Hà Nội, Ngay 28 tháng 4 năm 2026", "Hà Nội, Ngày 28 tháng 4 năm 2026"),
            ("ngày 1 tháng 6 (năn) 2022", "ngày 1 tháng 6 (năm) 2022"),
        ] {
            assert_eq!(settle_lines(&[read]).0, vec![want.to_string()], "{read}");
        }
        // A date broken after its day, across two lines.
        assert_eq!(
            settle_lines(&["Thông tư ngày 13", "tháng 3 nặm 2025"]),
            (vec!["Thông tư ngày 13".into(), "tháng 3 năm 2025".into()], 1)
        );
    }

    #[test]
    fn a_set_phrase_read_with_other_marks_is_written_with_its_own() {
        for (read, want) in [
            ("được sửa đỗi, bỗ sung bởi", "được sửa đổi, bổ sung bởi"),
            ("SỬA ĐÔI, BỖ SUNG MỘT SỐ ĐIỀU", "SỬA ĐỔI, BỔ SUNG MỘT SỐ ĐIỀU"),
            ("Căn cú Luật", "Căn cứ Luật"),
            ("CỘNG HÒA xA HỘI CHÚ NGHĨA VIỆT NĂM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
            ("Độc lập - Tư đo - Hạnh phức", "Độc lập - Tự do - Hạnh phúc"),
            ("Ủy ban nhân đân huyện", "Ủy ban nhân dân huyện"),
            ("HỖ SƠ ĐĂNG KÝ", "HỒ SƠ ĐĂNG KÝ"),
            ("Sở Giáo dục và Đảo tạo", "Sở Giáo dục và Đào tạo"),
            ("kiêm tra, giảm sát chặt chê", "kiểm tra, giám sát chặt chẽ"),
            ("giáo viên, học sình", "giáo viên, học sinh"),
            ("trung học phố thông", "trung học phổ thông"),
            ("chỉ đạo rả soát", "chỉ đạo rà soát"),
            ("CHỦ TỊCH ỦY BAN NHÂN DÂN TÍNH HẢI DƯƠNG", "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH HẢI DƯƠNG"),
            ("Độc Tập - Tự đo - Hạnh phúc", "Độc Tập - Tự do - Hạnh phúc"),
        ] {
            assert_eq!(settle_lines(&[read]).0, vec![want.to_string()], "{read}");
        }
        // Across a line's end.
        assert_eq!(settle_lines(&["Thông tư sửa", "đỗi"]).0, vec!["Thông tư sửa".to_string(), "đổi".into()]);
        // Letters that other words share stand, and so does a phrase
        // printed without marks.
        for read in [
            "từ đó",
            "Đại Việt năm 1010",
            "hệ thống tự động",
            "trở thành Phó",
            "sửa đồ",
            "XA HOI CHU NGHIA",
            "năm bắt đầu",
            "chị Đào",
            "thành phố thông minh",
            "khách sạn sang trọng",
            "để xuất khẩu",
            "theo đối tượng",
            "hồ sơ cần bổ sung",
            "THỨ TRƯỞNG",
            "nhận viện trợ",
            "đơn vì",
        ] {
            assert_eq!(settle_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
    }

    #[test]
    fn only_words_text_changes() {
        // Words are put right in place: none added, dropped or moved, and a
        // phrase's own words are written as the list spells them (NFC).
        let read = ["Căn cú Luật ngày 13", "tháng 3 nặm 2025, sửa đỗi, bỗ sung", "Nghị định sổ 83/2014/NĐ-CP"];
        let before = test_page(&read);
        let mut after = before.clone();
        assert_eq!(super::settle(&mut after), 5);
        for (a, b) in before.lines.iter().zip(&after.lines) {
            assert_eq!(a.bbox, b.bbox);
            assert_eq!(a.words.len(), b.words.len());
            for (x, y) in a.words.iter().zip(&b.words) {
                assert_eq!((x.bbox, x.conf), (y.bbox, y.conf));
            }
        }
        for phrase in SET_PHRASES {
            assert_eq!(phrase.nfc().collect::<String>(), phrase, "{phrase}");
            assert!(phrase.contains(' ') && phrase == phrase.to_lowercase(), "{phrase}");
        }
    }

    #[test]
    fn a_word_read_with_capitals_after_a_small_letter_is_written_small() {
        assert_settles(
            &[
                ("không gian gặp gỠ, trao đổi", "không gian gặp gỡ, trao đổi"),
                ("Công văn sỐ 4869/UBND-", "Công văn số 4869/UBND-"),
                ("tháng... nĂM..", "tháng... năm.."),
                ("CỘNG HÒA xÃ HỘI", "CỘNG HÒA XÃ HỘI"),
                ("ỦY BAN NHÂN DÂN tỈNH", "ỦY BAN NHÂN DÂN tỉnh"),
            ],
            // Codes open with a capital; junk that spells no syllable stays.
            &["Tờ trình số 10/TTr-HĐND", "CTr/TU", "tAHg", "VNeTraffic", "iPhone"],
        );
    }

    #[test]
    fn the_recipients_heading_read_a_letter_off_is_noi_nhan() {
        assert_settles(
            &[
                ("Mới nhận:", "Nơi nhận:"),
                ("Noi nhện: GIÁM ĐỐC", "Nơi nhận: GIÁM ĐỐC"),
                ("Nơi nhậm:", "Nơi nhận:"),
                ("/Vơi nhận:", "/Nơi nhận:"),
            ],
            &["Nơi nhận:", "Người nhận:", "Mới nhận: 35", "Mới nhận hồ sơ", "hồ sơ mới nhận:", "Nơi ở:"],
        );
    }

    #[test]
    fn letters_read_for_digits_among_digits_are_digits() {
        assert_settles(
            &[
                ("trước l4 giờ 00", "trước 14 giờ 00"),
                ("ngày Í0 tháng I1 năm 2O25", "ngày 10 tháng 11 năm 2025"),
                ("sinh: I4/03/2005.......", "sinh: 14/03/2005......."),
                ("ngày 17 tháng l1!", "ngày 17 tháng 11!"),
            ],
            &[
                "Mục I.",
                "H40-231204-0001",
                "OI",
                "Il",
                "CO2",
                "A1",
                "Điều II",
                "Chương I",
                "ngày I tháng",
                "ngày / tháng",
            ],
        );
        assert_settles(
            &[
                ("dịch COVID-L9, Sở", "dịch COVID-19, Sở"),
                ("Công văn số I899/SGDĐT-CTrTT.", "Công văn số 1899/SGDĐT-CTrTT."),
                ("Š. Công tác theo dõi", "5. Công tác theo dõi"),
                ("có tên tại Điều I căn cứ", "có tên tại Điều 1 căn cứ"),
            ],
            &["COVID-19", "QĐ-UBND", "CT-TTg", "TT&TT", "L.T.B"],
        );
        // An unsure day or month between a date's words is read as one.
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["ngày", "/0", "tháng", "l1", "năm", "2011"], 40.0));
        p.lines.push(test_line(40.0, &["ngày", "l4", "tháng", "l3,", "năm"], 40.0));
        assert_eq!(super::settle(&mut p), 3);
        let read: Vec<&str> = p.lines.iter().flat_map(|l| l.words.iter().map(|w| w.text.as_str())).collect();
        assert_eq!(read, ["ngày", "10", "tháng", "11", "năm", "2011", "ngày", "14", "tháng", "l3,", "năm"]);
        // An unsure one is left to the junk filter.
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["l4"], 40.0));
        assert_eq!(super::settle(&mut p), 0);
        // Unless it is a code the junk filter keeps as read.
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["số", "I899/SGDĐT-CTrTT.", "COVID-L9,"], 40.0));
        assert_eq!(super::settle(&mut p), 2);
        let read: Vec<&str> = p.lines[0].words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(read, ["số", "1899/SGDĐT-CTrTT.", "COVID-19,"]);
    }

    fn join_lines(lines: &[&str]) -> (Vec<String>, usize) {
        let mut p = test_page(lines);
        let n = super::join_broken_numbers(&mut p);
        (p.lines.iter().map(|l| l.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")).collect(), n)
    }

    #[test]
    fn a_papers_number_broken_at_its_hyphen_is_joined() {
        assert_eq!(
            join_lines(&["tại Công văn số 4869/UBND-", "SYT ngày 12"]),
            (vec!["tại Công văn số 4869/UBND-SYT".to_string(), "ngày 12".into()], 1)
        );
        assert_eq!(join_lines(&["Nghị quyết số 80- NQ/TW ngày"]).0, vec!["Nghị quyết số 80-NQ/TW ngày"]);
        assert_eq!(join_lines(&["Thông tư số 51/2025/TT- -BCA"]).0, vec!["Thông tư số 51/2025/TT-BCA"]);
        assert_eq!(join_lines(&["số 18/2025/TT-", "BCT."]), (vec!["số 18/2025/TT-BCT.".to_string()], 1));
        // A line left without words goes; the joined word keeps its box.
        let mut p = test_page(&["số 4017/TTr-", "BNNMT", "của Bộ"]);
        let b = p.lines[0].words[1].bbox;
        super::join_broken_numbers(&mut p);
        assert_eq!(p.lines.len(), 2);
        assert_eq!((p.lines[0].words[1].text.as_str(), p.lines[0].words[1].bbox), ("4017/TTr-BNNMT", b));
        // Not a code: a range of years, a dash before a heading, a code
        // without a slash, a word of small letters.
        for read in [
            "giai đoạn 2021- 2025",
            "năm 2020- UBND huyện",
            "Độc lập - Tự do -",
            "số 12/QĐ- Ủy ban",
            "số 12/QĐ- ubnd",
            "mục 3- Hà Nội",
        ] {
            assert_eq!(join_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
    }

    #[test]
    fn a_year_read_as_two_words_after_nam_is_joined() {
        assert_eq!(join_lines(&["theo Kế hoạch năm 201 I."]), (vec!["theo Kế hoạch năm 2011.".to_string()], 1));
        assert_eq!(join_lines(&["năm 20 25; Căn cứ"]).0, vec!["năm 2025; Căn cứ"]);
        assert_eq!(join_lines(&["NĂM 201 l"]).0, vec!["NĂM 2011"]);
        for read in ["năm 201", "năm 2 học sinh", "năm 20 người", "năm 2015 I", "tổng 201 I", "năm 201", "năm 30 12"]
        {
            assert_eq!(join_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
        // Not across lines.
        assert_eq!(join_lines(&["năm 201", "I."]).1, 0);
        // The year spans both words' boxes.
        let mut p = test_page(&["năm 201 I."]);
        super::join_broken_numbers(&mut p);
        assert_eq!(p.lines[0].words[1].bbox, [50.0, 0.0, 140.0, 20.0]);
    }

    #[test]
    fn a_dates_word_run_into_its_number_is_parted() {
        assert_settles(
            &[
                ("Hà Nội, ngày23 tháng 4 năm 2026", "Hà Nội, ngày 23 tháng 4 năm 2026"),
                ("Đà Nẵng, ngày 26tháng 7 năm 2020", "Đà Nẵng, ngày 26 tháng 7 năm 2020"),
                ("ngày82tháng", "ngày 82 tháng"),
                ("(năm2020)", "(năm 2020)"),
            ],
            &["ngày", "H40", "ngày 23", "tháng12345", "xã23", "2023"],
        );
        // Each part takes its share of the box.
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["năm2020."], 90.0));
        super::settle(&mut p);
        let parts: Vec<(&str, [f32; 4])> = p.lines[0].words.iter().map(|w| (w.text.as_str(), w.bbox)).collect();
        assert_eq!(parts, [("năm", [0.0, 10.0, 15.0, 30.0]), ("2020.", [15.0, 10.0, 40.0, 30.0])]);
    }

    #[test]
    fn an_articles_heading_is_dieu() {
        assert_eq!(settle_lines(&["Điêu 3. Chánh Văn phòng", "ĐIÊU 12"]).0, vec!["Điều 3. Chánh Văn phòng", "ĐIỀU 12"]);
        for read in ["nghệ thuật Điêu 3", "điêu 3.", "Điêu khắc", "Điêu 2025"] {
            assert_eq!(settle_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
    }

    #[test]
    fn so_before_a_papers_number_is_so() {
        for (read, want) in [
            ("Căn cứ Nghị định sổ 83/2014/NĐ-CP", "Căn cứ Nghị định số 83/2014/NĐ-CP"),
            ("Tờ trình sổ 10/TTr-HĐND", "Tờ trình số 10/TTr-HĐND"),
            ("Sỗ 12/QĐ-UBND", "Số 12/QĐ-UBND"),
            ("LUẬT SỔ 48/2014/QH13", "LUẬT SỐ 48/2014/QH13"),
        ] {
            assert_eq!(settle_lines(&[read]), (vec![want.to_string()], 1), "{read}");
        }
        for read in ["sổ hộ khẩu số 123", "sổ 12", "sơ 12/QĐ", "số 83/2014/NĐ-CP", "sổ /2014", "so 12/QĐ"]
        {
            assert_eq!(settle_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
    }

    #[test]
    fn words_not_in_a_date_or_far_from_its_word_stay() {
        for read in [
            "ngày 13 tháng 3 năm 2025",
            "tháng 3 năm: 2023",
            // Not a month, not a year, not one letter off.
            "tháng 13 nặm 2025",
            "tháng 3 nặm 25",
            "tháng 3 và 2025",
            "tháng 3 nguồn 2025",
            "Sau 30 ngày kể từ tháng 3",
            "ngày 13 tháng 3",
            "số 12 thằng 3 năm 2025",
        ] {
            assert_eq!(settle_lines(&[read]), (vec![read.to_string()], 0), "{read}");
        }
        let mut p = test_page(&[]);
        p.lines.push(test_line(10.0, &["tháng", "3"], 90.0));
        assert_eq!(super::settle(&mut p), 0);
    }
}
