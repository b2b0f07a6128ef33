//! Output names: decides, before anything is written, where each dossier's
//! files go under OUT, so that no two dossiers and no two kept originals ever
//! share a name. Folder names are made safe (`scan::safe_file_name`), and
//! safe names can meet: the same name in NFC and NFD, `hs:01` and `hs_01`,
//! `hs02.` and `hs02`, two undecodable names, `HS` and `hs` on a filesystem
//! that folds case; and a dossier's PDF `zz/HS/HS.pdf` can be another
//! dossier's folder (`zz/HS/HS.pdf/`). Names are compared after all of that
//! (case folded always, so an archive copied to a folding filesystem stays
//! whole); the first claimant keeps the plain name and every other one gets
//! `~` and eight hex digits of a hash of its raw path, which does not change
//! from night to night. A dossier that had a name in the last run keeps it
//! while it is free, so a folder that appears later never renames an older
//! one's archive copy.

use crate::manifest::DossierRecord;
use crate::scan::{self, path_tag as tag, DossierDir};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where each dossier's output goes, relative to OUT's `dossiers/` and
/// `originals/` folders.
pub(crate) struct Layout {
    /// Dossier source → its folder (without the `dossiers/` prefix).
    dirs: HashMap<String, String>,
    /// Every folder the layout makes, and its ancestors, case folded.
    folders: HashSet<String>,
    /// Folded folder → the folded names of the folders directly in it.
    children: HashMap<String, Vec<String>>,
    /// Dossier source → the hash suffix of its raw path.
    tags: HashMap<String, String>,
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// A dossier's folder before collisions are resolved.
fn plain(rel: &str) -> String {
    rel.split('/').map(scan::safe_file_name).collect::<Vec<_>>().join("/")
}

/// `name` (a file name) with `~tag` before its extension.
fn tagged(name: &str, tag: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}~{tag}.{ext}"),
        _ => format!("{name}~{tag}"),
    }
}

impl Layout {
    /// Plans the folders of `dossiers`; `prev` holds the last run's records
    /// by source, whose folders are kept while free.
    pub(crate) fn plan(dossiers: &[DossierDir], prev: &HashMap<String, DossierRecord>) -> Layout {
        let mut taken: HashMap<String, String> = HashMap::new(); // folded dir → source
        let mut dirs = HashMap::new();
        let mut tags = HashMap::new();
        for d in dossiers {
            tags.insert(d.rel.clone(), tag(&d.dir));
        }
        // The last run's names first, while they are this dossier's plain name.
        for d in dossiers {
            let p = plain(&d.rel);
            let had = prev.get(&d.rel).and_then(previous_dir).is_some_and(|old| old == p);
            if had && !taken.contains_key(&fold(&p)) {
                taken.insert(fold(&p), d.rel.clone());
                dirs.insert(d.rel.clone(), p);
            }
        }
        for d in dossiers {
            if dirs.contains_key(&d.rel) {
                continue;
            }
            let p = plain(&d.rel);
            let mut dir = p.clone();
            let mut n = 1;
            while taken.contains_key(&fold(&dir)) {
                dir = format!("{p}~{}", tags[&d.rel]);
                if n > 1 {
                    dir.push_str(&format!("-{n}"));
                }
                n += 1;
            }
            taken.insert(fold(&dir), d.rel.clone());
            dirs.insert(d.rel.clone(), dir);
        }
        Layout::with(dirs, tags)
    }

    /// The layout a plan decided (`sohoa plan`), for its shards.
    pub(crate) fn from_plan(planned: &[crate::shard::Planned]) -> Layout {
        let dirs = planned.iter().map(|p| (p.source.clone(), p.dir.clone())).collect();
        let tags = planned.iter().map(|p| (p.source.clone(), p.tag.clone())).collect();
        Layout::with(dirs, tags)
    }

    /// A dossier's folder and tag, for the plan.
    pub(crate) fn entry(&self, rel: &str) -> (String, String) {
        (self.dir(rel), self.tag_of(rel))
    }

    fn with(dirs: HashMap<String, String>, tags: HashMap<String, String>) -> Layout {
        let mut folders = HashSet::new();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for dir in dirs.values() {
            let mut acc = String::new();
            for part in dir.split('/') {
                let parent = fold(&acc);
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(part);
                if folders.insert(fold(&acc)) {
                    children.entry(parent).or_default().push(fold(part));
                }
            }
        }
        Layout { dirs, folders, children, tags }
    }

    fn dir(&self, rel: &str) -> String {
        self.dirs.get(rel).cloned().unwrap_or_else(|| plain(rel))
    }

    /// Whether a file at `path` (relative to `dossiers/` or `originals/`)
    /// would stand where the layout needs a folder.
    fn is_folder(&self, path: &str) -> bool {
        self.folders.contains(&fold(path))
    }

    /// The dossier PDF's path relative to OUT, named `name` (its code, or
    /// its folder's name) unless that or one of its document PDFs
    /// (`name.NN.pdf`) would stand where another dossier's folder is.
    pub(crate) fn pdf_path(&self, rel: &str, name: Option<&str>) -> String {
        let dir = self.dir(rel);
        let base = match name {
            Some(c) => scan::safe_file_name(c),
            None => dir.rsplit('/').next().unwrap_or("dossier").to_string(),
        };
        // Only the folders directly in `dir` can meet its PDFs' names.
        let inside = self.children.get(&fold(&dir)).map(Vec::as_slice).unwrap_or(&[]);
        let clashes = |stem: &str| {
            let prefix = fold(&format!("{stem}."));
            inside.iter().any(|f| f.starts_with(&prefix) && f.ends_with(".pdf"))
        };
        let stem = if clashes(&base) { format!("{base}~{}", self.tag_of(rel)) } else { base };
        format!("dossiers/{dir}/{stem}.pdf")
    }

    fn tag_of(&self, rel: &str) -> String {
        self.tags.get(rel).cloned().unwrap_or_else(|| tag(Path::new(rel)))
    }

    /// Paths relative to OUT for a dossier's kept originals, one per file
    /// (`files`: the raw paths and NFC names), distinct even when two names
    /// become one, and never where a folder must be.
    pub(crate) fn original_paths(&self, rel: &str, files: &[(&Path, &str)]) -> Vec<String> {
        let dir = self.dir(rel);
        let mut used: HashSet<String> = HashSet::new();
        files
            .iter()
            .map(|(raw, name)| {
                let safe = scan::safe_file_name(name);
                let mut pick = safe.clone();
                let mut n = 1;
                while used.contains(&fold(&pick)) || self.is_folder(&format!("{dir}/{pick}")) {
                    let t = tag(raw);
                    pick = if n == 1 { tagged(&safe, &t) } else { tagged(&safe, &format!("{t}-{n}")) };
                    n += 1;
                }
                used.insert(fold(&pick));
                format!("originals/{dir}/{pick}")
            })
            .collect()
    }

    /// Whether a record of the last run still fits: its files are in this
    /// dossier's folder and none stands where a folder is needed now.
    pub(crate) fn still_fits(&self, prev: &DossierRecord) -> bool {
        let dir = self.dir(&prev.source);
        let in_dir = |p: &str, root: &str| {
            p.strip_prefix(root)
                .and_then(|p| p.strip_prefix(dir.as_str()))
                .and_then(|p| p.strip_prefix('/'))
                .is_some_and(|name| !name.contains('/') && !self.is_folder(&format!("{dir}/{name}")))
        };
        prev.pdf.iter().chain(prev.documents.iter().filter_map(|d| d.pdf.as_ref())).all(|p| in_dir(p, "dossiers/"))
            && prev.originals.iter().all(|o| in_dir(&o.path, "originals/"))
    }

    /// Removes files of earlier runs that stand where this run needs a
    /// folder (a dossier's PDF named like a folder that appeared since).
    /// Only PDFs under OUT/dossiers and OUT/originals are touched.
    pub(crate) fn clear_the_way(&self, out: &Path) {
        for root in ["dossiers", "originals"] {
            for dir in self.dirs.values() {
                let mut acc = out.join(root);
                for part in dir.split('/') {
                    acc.push(part);
                    if part.to_lowercase().ends_with(".pdf") && acc.is_file() {
                        let _ = std::fs::remove_file(&acc);
                    }
                }
            }
        }
    }
}

/// The folder (without `dossiers/`) a record of the last run wrote into.
fn previous_dir(r: &DossierRecord) -> Option<String> {
    let pdf = r.pdf.as_deref()?;
    let rest = pdf.strip_prefix("dossiers/")?;
    rest.rsplit_once('/').map(|(dir, _)| dir.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn dossier(raw: &str) -> DossierDir {
        DossierDir { dir: PathBuf::from(raw), rel: scan::nfc(raw), files: vec![], skipped: vec![] }
    }

    #[test]
    fn no_ocr_text_can_move_a_pdf_out_of_its_folder() {
        let l = Layout::plan(&[dossier("2023/12/hs1")], &HashMap::new());
        for code in ["../../../etc/passwd", "..", "/abs/path", "a\\..\\b", "CON", "x\u{0}y\nz", "..\\..\\win"] {
            let rel = l.pdf_path("2023/12/hs1", Some(code));
            assert!(rel.starts_with("dossiers/2023/12/hs1/"), "{code:?} -> {rel}");
            let name = &rel["dossiers/2023/12/hs1/".len()..];
            assert!(!name.contains('/') && !name.contains('\\') && !name.starts_with('.'), "{code:?} -> {rel}");
            assert!(!name.chars().any(char::is_control), "{code:?} -> {rel}");
            let p = std::path::Path::new(&rel);
            assert!(p.components().all(|c| matches!(c, std::path::Component::Normal(_))), "{rel}");
        }
        assert_eq!(l.pdf_path("2023/12/hs1", None), "dossiers/2023/12/hs1/hs1.pdf");
        assert_eq!(
            l.pdf_path("2023/12/hs1", Some("000.00.20.H40-231204-0001")),
            "dossiers/2023/12/hs1/000.00.20.H40-231204-0001.pdf"
        );
    }

    #[test]
    fn names_that_meet_after_cleaning_get_distinct_stable_folders() {
        let ds = [dossier("hs:01"), dossier("hs_01"), dossier("hs02."), dossier("hs02"), dossier("HS"), dossier("hs")];
        let l = Layout::plan(&ds, &HashMap::new());
        let dirs: HashSet<String> = ds.iter().map(|d| fold(&l.dir(&d.rel))).collect();
        assert_eq!(dirs.len(), ds.len(), "{:?}", l.dirs);
        assert_eq!(l.dir("hs:01"), "hs_01");
        assert!(l.dir("hs_01").starts_with("hs_01~"));
        // The same plan tomorrow, and with the last run's names kept.
        let again = Layout::plan(&ds, &HashMap::new());
        assert_eq!(again.dirs, l.dirs);
    }

    #[test]
    fn a_pdf_never_stands_where_another_dossiers_folder_is() {
        let ds = [dossier("zz/HS"), dossier("zz/HS/HS.pdf"), dossier("zz/HS/HS.01.pdf")];
        let l = Layout::plan(&ds, &HashMap::new());
        let pdf = l.pdf_path("zz/HS", None);
        assert!(pdf.starts_with("dossiers/zz/HS/HS~") && pdf.ends_with(".pdf"), "{pdf}");
        assert_eq!(l.pdf_path("zz/HS/HS.pdf", None), "dossiers/zz/HS/HS.pdf/HS.pdf.pdf");
        let o = l.original_paths("zz/HS", &[(Path::new("a/HS.pdf"), "HS.pdf"), (Path::new("b/hs.pdf"), "hs.pdf")]);
        assert!(o[0].starts_with("originals/zz/HS/HS~") && o[1].starts_with("originals/zz/HS/hs~"), "{o:?}");
        assert_ne!(fold(&o[0]), fold(&o[1]));
    }
}
