//! Exports `png_set_compression_level` from the sohoa executable, so that
//! the dynamic linker binds Leptonica's calls to sohoa's definition (see
//! `src/lept.rs`: Tesseract's in-memory line PNGs are stored, not deflated).
fn main() {
    println!("cargo::rustc-link-arg-bin=sohoa=-Wl,--export-dynamic-symbol=png_set_compression_level");
}
