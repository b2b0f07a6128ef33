//! ARCHITECTURE.md's invariants that can be read off the source, as tests.
//! Each reads `src/` (outside unit tests and comments) and fails naming the
//! file and what it found, so that an invariant broken by a change is said
//! where it was broken, not discovered by a reader months later. These do
//! not run the binary; `tests/cli.rs` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The source files of the library and binary: name, whole text.
fn sources() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(root().join("src"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    v.sort();
    v
}

/// A file's code: without its unit tests (`#[cfg(test)]` onwards) and
/// without comment lines.
fn code_of(text: &str) -> String {
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or("");
    before_tests.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The files whose code uses `needle` as the start of a path or call (`ort::`
/// is not `report::`).
fn users_of(needle: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (name, text) in sources() {
        let code = code_of(&text);
        let used = code
            .match_indices(needle)
            .any(|(i, _)| !code[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_'));
        if used {
            found.insert(name);
        }
    }
    found
}

/// Fails when a file outside `allowed` uses `needle`.
fn only_in(needle: &str, allowed: &[&str], why: &str) {
    let bad: Vec<String> = users_of(needle).into_iter().filter(|f| !allowed.contains(&f.as_str())).collect();
    assert!(bad.is_empty(), "`{needle}` used in src/{} — only {allowed:?} may ({why})", bad.join(", src/"));
}

/// The modules each module uses (`crate::<module>`, also in grouped
/// imports), outside its unit tests.
fn module_uses() -> BTreeMap<String, BTreeSet<String>> {
    let srcs = sources();
    let names: Vec<String> = srcs.iter().map(|(n, _)| n.trim_end_matches(".rs").to_string()).collect();
    let mut uses = BTreeMap::new();
    for (file, text) in &srcs {
        let me = file.trim_end_matches(".rs").to_string();
        let code = code_of(text);
        let mut set = BTreeSet::new();
        let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                for part in group.split('}').next().unwrap_or("").split(',') {
                    set.insert(ident(part.trim()));
                }
            } else {
                set.insert(ident(rest));
            }
        }
        set.retain(|m| m != &me && names.contains(m));
        uses.insert(me, set);
    }
    uses
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    // A depth-first walk never meets a module that is still on its path.
    fn walk(m: &str, uses: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
        if let Some(i) = path.iter().position(|x| x == m) {
            panic!("import cycle: {} -> {m}", path[i..].join(" -> "));
        }
        if !done.insert(m.to_string()) {
            return;
        }
        path.push(m.to_string());
        for next in uses.get(m).into_iter().flatten() {
            walk(next, uses, path, done);
        }
        path.pop();
    }
    let uses = module_uses();
    let mut done = BTreeSet::new();
    for m in uses.keys() {
        walk(m, &uses, &mut Vec::new(), &mut done);
    }
}

#[test]
fn flags_are_named_by_their_variant_outside_the_flags_module() {
    // Every flag string `flags.rs` declares (`Variant = "text",`).
    let decl = std::fs::read_to_string(root().join("src/flags.rs")).unwrap();
    let names: Vec<String> = decl
        .lines()
        .filter_map(|l| l.trim().split_once(" = \"").map(|(_, rest)| rest.trim_end_matches("\",").to_string()))
        .collect();
    assert!(names.len() > 20, "{names:?}");
    for name in &names {
        // `words` gives each its Vietnamese label by the string the manifest
        // holds; `main` has a command-line option named `second_reader`.
        only_in(&format!("\"{name}\""), &["flags.rs", "words.rs", "main.rs"], "name a flag by its variant");
    }
}

#[test]
fn the_pdf_writer_and_the_readers_never_import_each_other() {
    let uses = module_uses();
    for reader in ["decode", "pdfin"] {
        assert!(!uses["pdf"].contains(reader), "pdf imports {reader}: they meet in payload");
        assert!(!uses[reader].contains("pdf"), "{reader} imports pdf: they meet in payload");
    }
}

#[test]
fn the_colour_rules_only_make_what_recognition_reads() {
    // `ink` turns a colour page's pixels into the gray OCR reads: it opens
    // no file, starts nothing and never sees the archive copy's payload.
    let uses = module_uses();
    let beyond: Vec<&String> = uses["ink"].iter().filter(|m| m.as_str() != "raster").collect();
    assert!(beyond.is_empty(), "ink uses {beyond:?}: it may use only raster");
    let (_, text) = sources().into_iter().find(|(n, _)| n == "ink.rs").expect("src/ink.rs");
    let code = code_of(&text);
    for needle in ["std::fs", "std::process", "Embed"] {
        assert!(!code.contains(needle), "src/ink.rs uses {needle}: it only makes what recognition reads");
    }
}

#[test]
fn each_foreign_library_and_tool_is_reached_from_one_module() {
    only_in("tesseract_sys", &["ocr.rs"], "Tesseract's C API");
    only_in("leptonica_sys", &["lept.rs"], "Leptonica's C API");
    only_in("ort::", &["aster.rs"], "ONNX Runtime");
    only_in("clap", &["main.rs"], "the library never sees clap");
    only_in("ureq", &["push.rs"], "the only network client");
    only_in("tiny_http", &["review.rs"], "the only listener");
    only_in("Command::new", &["poppler.rs", "main.rs"], "poppler runs tools; main restarts itself");
    only_in("libc::", &["poppler.rs", "lept.rs"], "the tools' memory limit; libpng's level for Leptonica's PNGs");
    only_in("WalkDir::new", &["scan.rs", "state.rs"], "scan walks the input, state cleans OUT's temporaries");
    only_in("vi_VN.dic", &["lexicon.rs"], "the syllable list is read where hunspell-vi installs it");
    only_in("small_vi.msgpack", &["frequency.rs"], "the syllable frequencies are read where install-deps puts them");
    only_in("rmp::", &["frequency.rs"], "MessagePack is wordfreq's format, read in one place");
}

#[test]
fn no_word_list_is_carried_in_the_repository() {
    // hunspell-vi's syllable list is GPL, wordfreq's frequencies CC-BY-SA:
    // both are read where they are installed (src/lexicon.rs,
    // src/frequency.rs), never copied here. A list of a thousand lines of
    // single lower-case words would be one.
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root())
        .into_iter()
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some("target" | ".git")))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "dic" || x == "aff" || x == "msgpack")
            || path.to_str().is_some_and(|p| p.ends_with(".msgpack.gz"))
        {
            found.push(path.display().to_string());
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let words =
            text.lines().filter(|l| !l.is_empty() && l.chars().all(|c| c.is_alphabetic() && !c.is_uppercase())).count();
        if words >= 1000 {
            found.push(format!("{} ({words} lines of one word)", path.display()));
        }
    }
    assert!(found.is_empty(), "word lists in the repository: {found:?}");
}

#[test]
fn parallelism_lives_in_pipeline() {
    only_in("rayon", &["pipeline.rs"], "one pool, in one place");
    only_in("thread::spawn", &["poppler.rs"], "poppler's pipe readers; the workers are pipeline's pool");
    only_in("thread::scope", &[], "threads are pipeline's pool");
    // Each worker keeps its engines for the run: they are made in one place.
    only_in("Engine::new(", &["engines.rs"], "a worker's Tesseract engine is made once, by engines");
    only_in("Reader::load(", &["engines.rs"], "a worker's second reader is loaded once, by engines");
    // A dossier's outputs are made once all its pages are read.
    only_in("process_page(", &["page.rs", "pipeline.rs"], "pages are read by pipeline's workers");
    only_in("assemble::dossier(", &["pipeline.rs"], "pipeline hands a dossier's pages over once all are read");
    for needle in ["crate::page", "process_page(", "read_page(", "crate::engines"] {
        assert!(!users_of(needle).contains("assemble.rs"), "src/assemble.rs uses `{needle}`: it reads no page");
    }
}

#[test]
fn input_files_are_never_read_whole_but_by_the_readers_that_bound_them() {
    // Whole reads: sohoa's own small files (manifest, plan, journals,
    // corrections, push bodies, the pipeline file), the second reader's
    // model, the word lists, and a PDF up to pdfin::WHOLE_PDF_MAX (pdfin, page's
    // open_file). Page files are read through decode's bounded readers;
    // fingerprints hash as they read.
    only_in(
        "fs::read(",
        &[
            "aster.rs",
            "corrections.rs",
            "frequency.rs",
            "lexicon.rs",
            "page.rs",
            "pdfin.rs",
            "pipeline.rs",
            "push.rs",
            "report.rs",
            "review.rs",
            "shard.rs",
            "state.rs",
        ],
        "a page file is read by the page, never whole by a new module",
    );
    for stage in ["decode.rs", "scan.rs", "preprocess.rs", "pdf.rs", "spool.rs"] {
        assert!(!users_of("fs::read(").contains(stage), "src/{stage} reads a file whole");
    }
}

#[test]
fn files_are_written_only_by_the_modules_that_own_them() {
    // Whole files: written to a temporary and renamed, by the modules that
    // own an output.
    only_in(
        "write_atomic(",
        &["fsutil.rs", "pipeline.rs", "portal.rs", "report.rs", "sheets.rs", "corrections.rs", "shard.rs"],
        "outputs are written whole, by their owners",
    );
    only_in(
        "write_atomic_with(",
        &["fsutil.rs", "assemble.rs"],
        "PDFs and signed originals are streamed to disk, by assemble",
    );
    only_in("tempfile", &["spool.rs", "poppler.rs"], "the spool's unnamed file, and pdfseparate's page of a large PDF");
    only_in("File::create(", &["fsutil.rs"], "only write_atomic creates files");
    only_in("fs::write(", &[], "a plain write can leave half a file");
    only_in("fs::rename(", &["fsutil.rs"], "only write_atomic renames");
    // Appended and synced, or locks: the journals, logs and lock files.
    only_in(
        "OpenOptions::new(",
        &["state.rs", "shard.rs", "corrections.rs", "push.rs", "events.rs", "main.rs"],
        "locks, journals and the logs a user names",
    );
    // Removed: temporaries, superseded shard files, portal files no longer
    // exported, PDFs standing where a folder must be, a finished journal.
    only_in(
        "remove_file(",
        &["fsutil.rs", "state.rs", "shard.rs", "portal.rs", "layout.rs"],
        "nothing else in OUT is ever removed",
    );
    only_in("remove_dir", &[], "no folder is removed");
    // The stages that only compute write nothing at all.
    for stage in ["decode.rs", "preprocess.rs", "ocr.rs", "extract.rs", "documents.rs", "pdf.rs", "reading.rs"] {
        for needle in
            ["write_atomic(", "write_atomic_with(", "tempfile", "OpenOptions::new(", "remove_file(", "create_dir"]
        {
            assert!(!users_of(needle).contains(stage), "src/{stage} uses `{needle}`: stages write no file");
        }
    }
}

#[test]
fn every_unsafe_block_says_why_it_is_sound() {
    // The three foreign libraries, and poppler's memory limit (setrlimit
    // in the child before exec).
    let ffi = ["ocr.rs", "lept.rs", "aster.rs", "poppler.rs"];
    for (name, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        let mut since_safety: Option<usize> = None;
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if t.starts_with("// SAFETY:") {
                since_safety = Some(0);
                continue;
            }
            if t.starts_with("//") {
                continue;
            }
            if t.contains("unsafe {") || t.contains("unsafe impl") || t.contains("unsafe fn") {
                assert!(ffi.contains(&name.as_str()), "src/{name}:{}: unsafe outside {ffi:?}", i + 1);
                assert!(
                    since_safety.is_some_and(|n| n <= 2),
                    "src/{name}:{}: unsafe without a // SAFETY: comment just above",
                    i + 1
                );
                since_safety = None;
            } else if let Some(n) = since_safety.as_mut() {
                *n += 1;
            }
        }
    }
}

#[test]
fn every_module_says_why_it_exists_and_is_on_the_codemap() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for (name, text) in sources() {
        assert!(text.starts_with("//!"), "src/{name} does not open with a //! paragraph");
        assert!(arch.contains(&format!("src/{name}")), "src/{name} is not on ARCHITECTURE.md's codemap");
    }
    for line in arch.lines().filter(|l| l.starts_with("- `src/")) {
        let file = line.trim_start_matches("- `").split('`').next().unwrap();
        assert!(root().join(file).is_file(), "ARCHITECTURE.md's codemap names {file}, which is gone");
    }
}

#[test]
fn the_manifest_key_snapshot_only_grows() {
    // `tests/cli.rs` checks a real run's keys against the snapshot; here,
    // that the snapshot itself never loses a key the history of this file
    // had (a removed line is a contract break), when git is at hand.
    let Ok(o) = std::process::Command::new("git")
        .args(["log", "-p", "--format=", "--", "tests/manifest-keys.txt"])
        .current_dir(root())
        .output()
    else {
        eprintln!("skipped: git is not installed");
        return;
    };
    if !o.status.success() {
        eprintln!("skipped: not a git checkout");
        return;
    }
    let now: BTreeSet<String> = std::fs::read_to_string(root().join("tests/manifest-keys.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let history = String::from_utf8_lossy(&o.stdout);
    let ever: BTreeSet<String> = history
        .lines()
        .filter_map(|l| l.strip_prefix('+'))
        .filter(|l| !l.starts_with("++") && !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let removed: Vec<&String> = ever.difference(&now).collect();
    assert!(removed.is_empty(), "manifest keys removed from the snapshot (a contract break): {removed:?}");
}

#[test]
fn only_what_the_binary_needs_is_public() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let main = std::fs::read_to_string(root().join("src/main.rs")).unwrap();
    // The manifest's own types live in these; the binary reads the manifest.
    let manifest_types = ["manifest", "extract", "flags", "error", "model"];
    for line in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
        let m = line.trim_end_matches(';');
        assert!(
            main.contains(&format!("sohoa::{m}")) || manifest_types.contains(&m),
            "src/lib.rs: `pub mod {m}` but the binary does not use it: make it `mod {m}` (pub(crate) items)"
        );
    }
}

#[test]
fn field_names_live_in_the_pipeline_toml() {
    // The built-in pipeline's field names (`[[field]]` then `name = "..."`).
    let toml = std::fs::read_to_string(root().join("pipelines/tthc.toml")).unwrap();
    let names: Vec<&str> = toml
        .split("[[field]]")
        .skip(1)
        .filter_map(|b| b.trim_start().strip_prefix("name = \"").and_then(|r| r.split('"').next()))
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let allowed: &[&str] = match name {
            // The needs_review.csv column is named after the code (a file contract).
            "ma_ho_so" => &["rules.rs", "extract.rs", "words.rs", "portal.rs"],
            // Nghị định 30's document number, which `documents` reads itself.
            "so_ky_hieu" => &["extract.rs", "words.rs", "documents.rs"],
            // rules: `[portal.fields]` defaults; extract: the cross-field
            // checks; words: the Vietnamese labels.
            _ => &["rules.rs", "extract.rs", "words.rs"],
        };
        only_in(&format!("\"{name}\""), allowed, "name fields through the pipeline's [portal.fields]");
    }
}

#[test]
fn html_is_written_by_templates_not_strings() {
    // A tag opened inside a Rust string literal: HTML assembled by hand.
    for (name, text) in sources() {
        let code = code_of(&text);
        for tag in ["\"<tr", "\"<td", "\"<table", "\"<li>", "\"<html", "\"<p>", "\"<h1>", "\"<div", "\"<form", "\"<img"]
        {
            assert!(
                !code.contains(tag),
                "src/{name} builds HTML from strings ({tag}): write it in a maud html! template"
            );
        }
    }
}
