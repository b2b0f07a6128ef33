//! Finding the dossiers: walks the input tree and lists, for every folder that
//! directly holds page files, its pages in natural order ("scan 2" before
//! "scan 10"). It exists so that what counts as a dossier and as a page is
//! decided in one place. It reads names only, never file contents.

use crate::manifest::InputError;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Extensions taken as page files (lower case).
/// HEIC and AVIF pictures are read through libheif's `heif-convert`
/// (`decode::decode_heif`); where it is missing each is a page whose error
/// says what to install, never a page left out unseen.
pub(crate) const PAGE_EXTENSIONS: [&str; 17] = [
    "jpg", "jpeg", "jpe", "png", "tif", "tiff", "pdf", "jfif", "bmp", "webp", "gif", "heic", "heif", "avif", "jp2",
    "j2k", "jpf",
];

/// What a file left unread is, when it is a document a citizen handed in
/// (a Word file, a spreadsheet, an archive of scans, a camera's RAW picture)
/// rather than a note beside the pages: such a file holds content nobody
/// digitized, so it is named in the report and, in a folder with no page,
/// as input not read. `None` for any other file (`notes.txt`, `truth.json`).
/// Each kind says, in English and in Vietnamese, what a clerk should do.
pub(crate) fn unread_document(name: &str) -> Option<(&'static str, &'static str)> {
    let ext = Path::new(name).extension().and_then(|e| e.to_str())?.to_lowercase();
    UNREAD_DOCUMENTS.iter().find(|(exts, ..)| exts.contains(&ext.as_str())).map(|(_, en, vi)| (*en, *vi))
}

/// The documents of [`unread_document`]: extensions, then what to do in
/// English (input errors) and in Vietnamese (the report).
const UNREAD_DOCUMENTS: [(&[&str], &str, &str); 6] = [
    (
        &["doc", "docx", "odt", "rtf"],
        "a Word document, not a page: print it to PDF into the folder and run again",
        "văn bản Word, không phải trang quét: in ra PDF vào thư mục hồ sơ rồi chạy lại",
    ),
    (
        &["xls", "xlsx", "ods"],
        "a spreadsheet, not a page: print it to PDF into the folder and run again",
        "bảng tính, không phải trang quét: in ra PDF vào thư mục hồ sơ rồi chạy lại",
    ),
    (
        &["ppt", "pptx", "odp"],
        "a presentation, not a page: print it to PDF into the folder and run again",
        "bản trình chiếu, không phải trang quét: in ra PDF vào thư mục hồ sơ rồi chạy lại",
    ),
    (
        &["zip", "rar", "7z"],
        "an archive, not read: extract its pages into the folder and run again",
        "tệp nén, không đọc được: giải nén các trang vào thư mục hồ sơ rồi chạy lại",
    ),
    (
        &["djvu", "xps", "oxps"],
        "a document format that is not read: save it as PDF and run again",
        "định dạng tài liệu không đọc được: lưu thành PDF rồi chạy lại",
    ),
    (
        &["dng", "cr2", "cr3", "nef", "arw", "orf", "rw2"],
        "a camera's RAW picture, not read: save it as JPEG and run again",
        "ảnh RAW của máy ảnh, không đọc được: lưu thành JPEG rồi chạy lại",
    ),
];

/// A dossier folder and its page files.
#[derive(Clone, Debug)]
pub(crate) struct DossierDir {
    /// Absolute or input-relative path of the folder as found on disk.
    pub dir: PathBuf,
    /// Path relative to the input, `/`-separated, NFC.
    pub rel: String,
    /// Page files in natural order.
    pub files: Vec<PageFile>,
    /// Other files in the folder that are not pages (listed, not read).
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct PageFile {
    pub path: PathBuf,
    /// File name, NFC.
    pub name: String,
}

/// Hidden and system files that are never pages.
pub(crate) fn is_ignored(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || matches!(lower.as_str(), "desktop.ini" | "thumbs.db" | "ehthumbs.db" | "icon\r")
}

fn is_page_file(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PAGE_EXTENSIONS.contains(&e.to_lowercase().as_str()))
}

pub(crate) fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Walks `input` (absolute, symlinks resolved). A symlink is followed only
/// when it leads to a place inside `input`: a link to a folder elsewhere
/// would put files from outside the share into the archive, so it is
/// reported instead. Folders that cannot be read and links not followed are
/// returned as errors beside the dossiers.
pub(crate) fn find_dossiers(input: &Path) -> (Vec<DossierDir>, Vec<InputError>) {
    let mut by_dir: std::collections::BTreeMap<PathBuf, DossierDir> = Default::default();
    let outside = std::cell::RefCell::new(Vec::new());
    let walker = walkdir::WalkDir::new(input).follow_links(true).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        let hidden = e.depth() > 0 && name.starts_with('.');
        if hidden {
            return false;
        }
        if e.depth() > 0 && e.path_is_symlink() {
            let inside = e.path().canonicalize().is_ok_and(|t| t.starts_with(input));
            if !inside {
                outside.borrow_mut().push(InputError {
                    path: rel_path(input, e.path()),
                    error: "a link to outside the input, not followed".into(),
                });
                return false;
            }
        }
        true
    });
    let mut errors = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(|p| rel_path(input, p)).unwrap_or_default();
                let error = match e.io_error() {
                    Some(io) => format!("cannot be read: {io}"),
                    None => e.to_string(),
                };
                errors.push(InputError { path, error });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let name = nfc(&entry.file_name().to_string_lossy());
        let Some(dir) = entry.path().parent() else {
            continue;
        };
        if is_ignored(&name) {
            continue;
        }
        let d = by_dir.entry(dir.to_path_buf()).or_insert_with(|| DossierDir {
            dir: dir.to_path_buf(),
            rel: rel_path(input, dir),
            files: Vec::new(),
            skipped: Vec::new(),
        });
        if is_page_file(&name) {
            d.files.push(PageFile { path: entry.path().to_path_buf(), name });
        } else {
            d.skipped.push(name);
        }
    }
    // A folder with no page is no dossier; the documents in it were handed in
    // and would otherwise vanish from every list.
    for d in by_dir.values().filter(|d| d.files.is_empty()) {
        for name in &d.skipped {
            if let Some((why, _)) = unread_document(name) {
                errors.push(InputError { path: rel_path(input, &d.dir.join(name)), error: why.to_string() });
            }
        }
    }
    let mut out: Vec<DossierDir> = by_dir.into_values().filter(|d| !d.files.is_empty()).collect();
    for d in &mut out {
        d.files.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        d.skipped.sort();
    }
    out.sort_by(|a, b| natural_cmp(&a.rel, &b.rel).then_with(|| a.dir.cmp(&b.dir)));
    distinct_sources(&mut out);
    errors.extend(outside.into_inner());
    (out, errors)
}

/// Eight hex digits of the SHA-256 of a path's raw bytes: tells apart, the
/// same way every night, names that are one once made text.
pub(crate) fn path_tag(raw: &Path) -> String {
    use sha2::{Digest, Sha256};
    use std::os::unix::ffi::OsStrExt;
    Sha256::digest(raw.as_os_str().as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Two folders whose names are one after NFC (or after undecodable bytes
/// are replaced) would be one dossier in the manifest: every one after the
/// first gets `#` and eight hex digits of its raw path's hash, stable from
/// night to night.
fn distinct_sources(dossiers: &mut [DossierDir]) {
    let mut seen = std::collections::HashSet::new();
    for d in dossiers.iter_mut() {
        if !seen.insert(d.rel.clone()) {
            d.rel = format!("{}#{}", d.rel, path_tag(&d.dir));
            seen.insert(d.rel.clone());
        }
    }
}

fn rel_path(input: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(input).unwrap_or(dir);
    let parts: Vec<String> = rel.components().map(|c| nfc(&c.as_os_str().to_string_lossy())).collect();
    if parts.is_empty() {
        // The input folder itself is the dossier.
        return nfc(&input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dossier".into()));
    }
    parts.join("/")
}

/// Natural order: digit runs compare as numbers, the rest case-insensitively.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let mut n1 = String::new();
                while let Some(c) = x.peek().copied().filter(char::is_ascii_digit) {
                    n1.push(c);
                    x.next();
                }
                let mut n2 = String::new();
                while let Some(d) = y.peek().copied().filter(char::is_ascii_digit) {
                    n2.push(d);
                    y.next();
                }
                let (t1, t2) = (n1.trim_start_matches('0'), n2.trim_start_matches('0'));
                let o = t1.len().cmp(&t2.len()).then_with(|| t1.cmp(t2));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(c), Some(d)) => {
                let o = c.to_lowercase().cmp(d.to_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
                x.next();
                y.next();
            }
        }
    }
}

/// A string made safe as one file name component: no separators, no control
/// characters, no `.`/`..`, no names Windows reserves.
pub(crate) fn safe_file_name(s: &str) -> String {
    let mut out: String =
        nfc(s).chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).collect();
    out = out.trim_matches(|c: char| c == '.' || c.is_whitespace()).to_string();
    if out.is_empty() {
        out = "_".into();
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    // Keep within common file name limits (bytes), on a char boundary.
    while out.len() > 200 {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["scan 10.jpg", "scan 2.jpg", "Scan 1.jpg", "trang_3.png", "001.tif", "02.tif"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["001.tif", "02.tif", "Scan 1.jpg", "scan 2.jpg", "scan 10.jpg", "trang_3.png"]);
    }

    #[test]
    fn system_files_ignored() {
        for n in ["desktop.ini", "Thumbs.db", ".DS_Store", "._001.jpg", "~$x.docx"] {
            assert!(is_ignored(n), "{n}");
        }
        assert!(!is_ignored("001.jpg"));
    }

    #[test]
    fn handed_in_documents_are_named_and_a_folder_of_them_is_input_not_read() {
        let root = std::env::temp_dir().join(format!("sohoa-scan-docs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (dir, name) in [
            ("A", "001.jpg"),
            ("A", "đơn.DOCX"),
            ("A", "notes.txt"),
            ("B", "ho_so.zip"),
            ("B", "readme.txt"),
            ("C", "notes.txt"),
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join(name), b"x").unwrap();
        }
        std::fs::write(root.join("tờ khai.xlsx"), b"x").unwrap();
        let (dossiers, errors) = find_dossiers(&root);
        let _ = std::fs::remove_dir_all(&root);
        // A keeps both files beside its page in skipped_files, as before.
        assert_eq!(dossiers.len(), 1);
        assert_eq!(dossiers[0].skipped, ["notes.txt", "đơn.DOCX"]);
        assert!(unread_document("đơn.DOCX").is_some_and(|(en, vi)| en.contains("Word") && vi.contains("Word")));
        assert_eq!(unread_document("notes.txt"), None);
        assert_eq!(unread_document("scan"), None);
        // B's archive and the input's own spreadsheet are input not read;
        // C (a note alone) and B's readme are not.
        let mut paths: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.error.as_str())).collect();
        paths.sort();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert_eq!(paths[0].0, "B/ho_so.zip");
        assert!(paths[0].1.contains("extract"), "{}", paths[0].1);
        assert_eq!(paths[1].0, "tờ khai.xlsx");
        assert!(paths[1].1.contains("spreadsheet"), "{}", paths[1].1);
    }

    #[test]
    fn names_cannot_escape() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name(".."), "_");
        assert_eq!(safe_file_name("CON"), "_CON");
        assert_eq!(safe_file_name("a\u{0}b\nc"), "a_b_c");
        assert_eq!(safe_file_name("Lê Thành Tuấn"), "Lê Thành Tuấn");
        // NFD in, NFC out
        assert_eq!(safe_file_name("Le\u{0302}\u{0301}"), "Lế");
    }
}
