//! Each worker's readers: its Tesseract engine and, when the run has one,
//! its second reader, kept in the worker thread for the whole run because
//! loading a model costs more than reading a page. This module holds them
//! and nothing else, so that `page` reads with them and `pipeline` starts
//! them on its workers without either importing the other; it starts no
//! thread itself.

use crate::error::PageErrorKind;
use crate::ocr::Engine;
use crate::Options;
use std::cell::RefCell;

thread_local! {
    /// The worker's engine, created on its first page and kept for the run.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The worker's second reader, when the run has one.
    static SECOND: RefCell<Option<crate::aster::Reader>> = const { RefCell::new(None) };
}

/// Runs `f` with this worker's engine, created on first use.
pub(crate) fn with_engine<T>(opts: &Options, f: impl FnOnce(&mut Engine) -> T) -> Result<T, PageErrorKind> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let e = Engine::new(opts.tessdata.as_deref(), &opts.lang).map_err(|e| PageErrorKind::Ocr(e.to_string()))?;
            *slot = Some(e);
        }
        Ok(f(slot.as_mut().expect("engine set above")))
    })
}

/// Runs `f` with this worker's second reader; None when it has none.
pub(crate) fn with_second<T>(f: impl FnOnce(&mut crate::aster::Reader) -> T) -> Option<T> {
    SECOND.with(|cell| cell.borrow_mut().as_mut().map(f))
}

/// Whether this worker has a second reader.
pub(crate) fn has_second() -> bool {
    SECOND.with(|cell| cell.borrow().is_some())
}

/// Loads the second reader from `files` into this worker, unless it has one.
pub(crate) fn load_second(files: &crate::aster::Files) -> Result<(), String> {
    SECOND.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(crate::aster::Reader::load(files)?);
        }
        Ok(())
    })
}

/// Drops this worker's second reader (the run reads with Tesseract alone).
pub(crate) fn unload_second() {
    SECOND.with(|cell| cell.borrow_mut().take());
}
