//! Addresses, read unit by unit. A Vietnamese address names its
//! administrative units from the smallest up ("Xóm 7, xã Xuân Thành, huyện
//! Xuân Trường, tỉnh Nam Định"). A worn copy loses a unit's name ("Xóm xã
//! Xuân Thành": the 7 and its comma are gone) or the address's end at the
//! page's edge ("…, tỉnh"), and reads a speck after a unit's word as a colon
//! ("tỉnh:Nam Định"). This module finds the units of a value read, tidies
//! that separator, fills a unit left without its name from another page's
//! reading of the same address or from a line of the dossier that names the
//! same units before it (a birthplace, a hometown), and says when a unit is
//! still without one. It never invents a name: a name comes from a reading
//! of the dossier.

use crate::syllable::fold;

/// Unit words, folded (no marks, lower case), longest first, with their
/// level: 1 hamlet or block, 2 commune or ward, 3 district, 4 province.
/// "thành phố" is a district's or a province's; 3 is enough to follow a ward.
const UNITS: [(&str, u8); 16] = [
    ("to dan pho", 1),
    ("khu pho", 1),
    ("thi tran", 2),
    ("thi xa", 3),
    ("thanh pho", 3),
    ("xom", 1),
    ("thon", 1),
    ("ap", 1),
    ("ban", 1),
    ("to", 1),
    ("xa", 2),
    ("phuong", 2),
    ("huyen", 3),
    ("quan", 3),
    ("tinh", 4),
    ("khom", 1),
];

/// One unit of an address: its folded unit word, the char index after the
/// word, and the char span of its name (None: the unit has no name).
#[derive(Debug)]
struct Unit {
    key: &'static str,
    word_end: usize,
    name: Option<(usize, usize)>,
    /// The char index of the word after the unit's word, if any, and whether
    /// a comma stands before it.
    next: Option<(usize, bool)>,
}

/// The units of `chars` (an NFC value). A unit's word counts where a part of
/// the address starts (the value's start or after a comma), or, in lower
/// case, where it names a larger unit than the part's last one: "Xóm xã
/// Xuân Thành" is a hamlet without a name, but "thôn Xóm Mới" is one hamlet.
fn units(chars: &[char]) -> Vec<Unit> {
    let folded = fold(&chars.iter().collect::<String>());
    if folded.len() != chars.len() {
        return Vec::new();
    }
    // Words: runs of letters and digits, with whether a comma precedes them.
    let mut words: Vec<(usize, usize, bool)> = Vec::new();
    let mut comma = true;
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let s = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            words.push((s, i, comma));
            comma = false;
        } else {
            comma |= chars[i] == ',';
            i += 1;
        }
    }
    let word = |k: usize| folded[words[k].0..words[k].1].iter().collect::<String>();
    let unit_at = |k: usize| {
        UNITS.iter().find_map(|&(key, level)| {
            let parts: Vec<&str> = key.split(' ').collect();
            // The words of a unit of two or three ("thành phố") stand in one part.
            (k + parts.len() <= words.len()
                && parts.iter().enumerate().all(|(j, p)| word(k + j) == *p && (j == 0 || !words[k + j].2)))
            .then_some((key, level, parts.len()))
        })
    };
    // Which words start a unit.
    let mut marks: Vec<Option<(&'static str, usize)>> = vec![None; words.len()];
    let (mut level, mut k) = (0u8, 0usize);
    while k < words.len() {
        let starts_part = words[k].2;
        if starts_part {
            level = 0;
        }
        match unit_at(k) {
            Some((key, l, n)) if starts_part || (chars[words[k].0].is_lowercase() && l > level) => {
                marks[k] = Some((key, n));
                level = l;
                k += n;
            }
            _ => k += 1,
        }
    }
    let mut out = Vec::new();
    for (k, mark) in marks.iter().enumerate() {
        let Some((key, n)) = *mark else { continue };
        let first = k + n;
        let mut last = first;
        while last < words.len() && marks[last].is_none() && (last == first || !words[last].2) {
            last += 1;
        }
        // A name starts after the unit's word, without a comma between.
        let name = (last > first && !words[first].2).then(|| (words[first].0, words[last - 1].1));
        out.push(Unit { key, word_end: words[first - 1].1, name, next: words.get(first).map(|w| (w.0, w.2)) });
    }
    out
}

/// `value` with a colon or semicolon read between a unit's word and its name
/// made a space: "tỉnh:Nam Định" → "tỉnh Nam Định".
pub(crate) fn tidy(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    for u in units(&chars).iter().rev() {
        let Some((next, false)) = u.next else { continue };
        let gap = &chars[u.word_end..next];
        if gap.iter().any(|c| matches!(c, ':' | ';')) {
            chars.splice(u.word_end..next, [' ']);
        }
    }
    chars.into_iter().collect()
}

/// `value` with each unit it leaves without a name given the name another
/// reading of the same address gives it (`others`, best first), and whether
/// a unit is still without one. A reading counts as the same address when it
/// gives one of the value's other units the same name (marks aside).
pub(crate) fn complete(value: &str, others: &[&str]) -> (String, bool) {
    let chars: Vec<char> = value.chars().collect();
    let own = units(&chars);
    let named = |chars: &[char], us: &[Unit]| -> Vec<(&'static str, String)> {
        us.iter().filter_map(|u| u.name.map(|(s, e)| (u.key, chars[s..e].iter().collect::<String>()))).collect()
    };
    let own_named = named(&chars, &own);
    let same = |a: &str, b: &str| fold(a) == fold(b);
    // The other readings of the same address, each as its named units, best first.
    let agreeing: Vec<Vec<(&'static str, String)>> = others
        .iter()
        .map(|o| {
            let oc: Vec<char> = o.chars().collect();
            named(&oc, &units(&oc))
        })
        .filter(|theirs| theirs.iter().any(|(k, n)| own_named.iter().any(|(ok, on)| ok == k && same(on, n))))
        .collect();
    fill(chars, &own, |_, i| {
        agreeing.iter().find_map(|theirs| theirs.iter().find(|(k, _)| *k == own[i].key).map(|(_, n)| n.clone()))
    })
}

/// `chars` (a value whose units are `own`) with each unit left without a name
/// given the one `name_for` finds for it (called with the value's chars, in
/// which the units before it stand unchanged, and the unit's index), and
/// whether a unit is still without one.
fn fill(mut chars: Vec<char>, own: &[Unit], name_for: impl Fn(&[char], usize) -> Option<String>) -> (String, bool) {
    let mut incomplete = false;
    for (i, u) in own.iter().enumerate().rev() {
        if u.name.is_some() {
            continue;
        }
        match name_for(&chars, i) {
            Some(name) => {
                // Before a word that is no part of this unit's name, a comma.
                let comma = matches!(u.next, Some((_, false)));
                let ins = format!(" {name}{}", if comma { "," } else { "" });
                chars.splice(u.word_end..u.word_end, ins.chars());
            }
            None => incomplete = true,
        }
    }
    (chars.into_iter().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "), incomplete)
}

/// Named units of an address right before a unit without a name that
/// another line must give, in the same order and with the same names, for
/// its name of that unit to be taken: the commune and the district before a
/// province (a district's name may recur in another province, not with the
/// same commune).
const LINE_CONTEXT_UNITS: usize = 2;

/// Words a unit's name taken from another line may have ("Bà Rịa Vũng
/// Tàu"); more is a line that runs on past the address.
const LINE_NAME_MAX_WORDS: usize = 4;

/// `value` with each unit it leaves without a name given the name that a line
/// elsewhere in the dossier (`lines`: another field's address, a birthplace,
/// a decision's text) gives the same unit after the same named units ("…,
/// huyện Xuân Trường, tỉnh" cut at the page's edge, and "Quê quán: xã Xuân
/// Tiến, huyện Xuân Trường, tỉnh Nam Định" on the same form), and whether a
/// unit is still without one. Where the lines spell it differently, the
/// spelling most lines give (the first of equals) is taken.
pub(crate) fn complete_from_lines(value: &str, lines: &[String]) -> (String, bool) {
    let chars: Vec<char> = value.chars().collect();
    let own = units(&chars);
    fill(chars, &own, |chars, i| {
        // The named units right before it, nearest last.
        let before: Vec<(&'static str, String)> = own[..i]
            .iter()
            .rev()
            .map_while(|b| b.name.map(|(s, e)| (b.key, chars[s..e].iter().collect::<String>())))
            .take(LINE_CONTEXT_UNITS)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if before.is_empty() || before.len() < LINE_CONTEXT_UNITS.min(i) {
            return None;
        }
        let mut found: Vec<(String, usize)> = Vec::new();
        for name in lines.iter().flat_map(|line| names_after(line, &before, own[i].key)) {
            match found.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => found.push((name, 1)),
            }
        }
        let best = found.iter().map(|(_, c)| *c).max()?;
        found.into_iter().find(|(_, c)| *c == best).map(|(name, _)| name)
    })
}

/// The names `line` gives unit `key` where it follows the units `before`
/// (key, name) in that order, each named the same (marks aside). The line is
/// read from where the first of them starts up to a full stop, a colon or a
/// semicolon (the next label).
fn names_after(line: &str, before: &[(&'static str, String)], key: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let folded = fold(line);
    if folded.len() != chars.len() {
        return Vec::new();
    }
    let first: Vec<char> = before[0].0.chars().collect();
    let mut out = Vec::new();
    for start in 0..chars.len() {
        let at_word = start == 0 || !chars[start - 1].is_alphanumeric();
        let end = start + first.len();
        if !at_word || end >= chars.len() || folded[start..end] != first[..] || chars[end].is_alphanumeric() {
            continue;
        }
        let stop = chars[start..].iter().position(|c| matches!(c, '.' | ':' | ';')).map_or(chars.len(), |p| start + p);
        let part = &chars[start..stop];
        let theirs = units(part);
        let n = before.len();
        if theirs.len() <= n {
            continue;
        }
        let same_before = theirs[..n].iter().zip(before).all(|(t, (k, name))| {
            t.key == *k && t.name.is_some_and(|(s, e)| fold(&part[s..e].iter().collect::<String>()) == fold(name))
        });
        let next = &theirs[n];
        if let (true, true, Some((s, e))) = (same_before, next.key == key, next.name) {
            let name: String = part[s..e].iter().collect();
            if name.split_whitespace().count() <= LINE_NAME_MAX_WORDS && name.split_whitespace().all(name_word) {
                out.push(name);
            }
        }
    }
    out
}

/// A word of a unit's name as printed: a number ("phường 5"), a dash ("Bà
/// Rịa - Vũng Tàu"), or a capitalized Vietnamese syllable, not a speck read
/// as a letter ("tỉnh Ñ").
fn name_word(w: &str) -> bool {
    w.chars().all(|c| c.is_ascii_digit())
        || matches!(w, "-" | "–")
        || (w.chars().next().is_some_and(char::is_uppercase) && crate::syllable::syllable(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_without_its_name_is_filled_from_the_same_address_read_elsewhere() {
        let worn = "Xóm xã Xuân Thành, huyện Xuân Trường, tỉnh Nam Định";
        let other = "Xóm 7, kã Xuân Thành, huyện Xuân Trường, tính Nam Đinh";
        assert_eq!(
            complete(worn, &[other]),
            ("Xóm 7, xã Xuân Thành, huyện Xuân Trường, tỉnh Nam Định".to_string(), false)
        );
        // Not from another address, and not invented: the unit stays empty.
        let elsewhere = "Xóm 2, xã Hải An, huyện Hải Hậu, tỉnh Nam Định Mới";
        assert_eq!(complete(worn, &[elsewhere]), (worn.to_string(), true));
        assert_eq!(complete(worn, &[]), (worn.to_string(), true));
        // The address's end cut at the page's edge.
        let cut = "Xóm 5, xã Xuân Tiến, huyện Xuân Trường, tỉnh";
        assert_eq!(complete(cut, &[]), (cut.to_string(), true));
        let whole = "Xóm 5, xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Định";
        assert_eq!(complete(cut, &[whole]), (whole.to_string(), false));
    }

    #[test]
    fn a_unit_cut_at_the_edge_is_named_by_another_line_giving_the_same_units() {
        let cut = "Xóm 5, xã Xuân Tiến, huyện Xuân Trường, tỉnh";
        let whole = "Xóm 5, xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Định";
        let lines = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        // photocopy-dev 5939's birth-registration form.
        let form = lines(&[
            "Nơi cư trú: Xóm 5, xã Xuân Tiến, huyện Xuân Trường, tỉnh",
            "Nơi sinh: Trạm y tế xã Xuân Tiến, huyện Xuân Trường, tỉnh Ñ",
            "Quê quán: xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Định. Dân tộc: Kinh",
        ]);
        assert_eq!(complete_from_lines(cut, &form), (whole.to_string(), false));
        // Not from another commune's line (a district's name may recur in
        // another province), not past the address, and not invented.
        for other in [
            "Quê quán: xã Hải An, huyện Xuân Trường, tỉnh Thái Bình",
            "Nơi sinh: xã Xuân Tiến, huyện Xuân Trường, tỉnh",
            "xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Định Dân tộc Kinh Quốc tịch Việt Nam",
            "Xuân Tiến, Xuân Trường, Nam Định",
        ] {
            assert_eq!(complete_from_lines(cut, &lines(&[other])), (cut.to_string(), true), "{other}");
        }
        // Where lines disagree, most lines win.
        let two = lines(&[
            "xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Đinh",
            "xã Xuân Tiến, huyện Xuân Trường, tỉnh Nam Định",
            "xa Xuan Tien, huyen Xuan Truong, tinh Nam Định",
        ]);
        assert_eq!(complete_from_lines(cut, &two), (whole.to_string(), false));
        // A unit with fewer named units before it than the context needs:
        // only a district given, it must be the value's first unit.
        assert_eq!(
            complete_from_lines("huyện Xuân Trường, tỉnh", &lines(&["huyện Xuân Trường, tỉnh Nam Định"])),
            ("huyện Xuân Trường, tỉnh Nam Định".to_string(), false)
        );
        assert_eq!(complete_from_lines("Xóm xã Xuân Thành", &form), ("Xóm xã Xuân Thành".to_string(), true));
    }

    #[test]
    fn names_that_hold_a_unit_word_are_names() {
        for v in [
            "Xóm 3, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định",
            "thôn Xóm Mới, xã Quang Trung, huyện Quan Sơn, tỉnh Thanh Hóa",
            "Số 12 đường Tô Hiến Thành, phường 5, quận 10, thành phố Hồ Chí Minh",
            "Tổ dân phố 3, thị trấn Xuân Trường, huyện Xuân Trường, tỉnh Nam Định",
            "Khu phố Tân Lập, phường Đông Hòa, thành phố Dĩ An, tỉnh Bình Dương",
            "Ấp 4, xã Tân Thạnh, huyện Thới Lai, thành phố Cần Thơ",
            "123 Lê Lợi, Quận 1",
            "Thôn Bến Thành, phố Huế, quận Hai Bà Trưng, thành phố Hà Nội",
        ] {
            assert_eq!(complete(v, &[]), (v.to_string(), false), "{v}");
            assert_eq!(tidy(v), v);
        }
    }

    #[test]
    fn a_colon_read_after_a_unit_word_is_tidied() {
        assert_eq!(
            tidy("Xóm 3, xã Xuân Ninh, huyện: Xuân Trường, tỉnh:Nam Định"),
            "Xóm 3, xã Xuân Ninh, huyện Xuân Trường, tỉnh Nam Định"
        );
        // Not a colon before a comma, nor one after a name.
        assert_eq!(tidy("Nơi ở: Xóm 3"), "Nơi ở: Xóm 3");
    }
}
