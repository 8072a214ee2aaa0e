//! `eval:` functions implemented natively, with SpamAssassin's semantics, one file per family
//! (as SpamAssassin's plugins group them). Any other function is reported as unsupported at load
//! time and never hits.
//!
//! Each family answers `supports(function, args)` with `None` when the function is not its own,
//! and `run` with `None` likewise; a new family adds one line to each chain below.

mod addr_lists;
mod dates;
pub mod freemail_body;
mod header;
mod html;
mod image;
mod mime;
mod ratware;
mod recipients;
mod relays;

use super::engine::RuleSet;
use super::message::MessageView;

pub fn is_supported(function: &str, args: &[String]) -> bool {
    header::supports(function, args)
        .or_else(|| mime::supports(function, args))
        .or_else(|| html::supports(function, args))
        .or_else(|| image::supports(function, args))
        .or_else(|| relays::supports(function, args))
        .or_else(|| dates::supports(function, args))
        .or_else(|| recipients::supports(function, args))
        .or_else(|| ratware::supports(function, args))
        .or_else(|| addr_lists::supports(function, args))
        .unwrap_or(false)
}

pub fn run(function: &str, args: &[String], view: &MessageView, set: &RuleSet) -> f64 {
    let hit = header::run(function, args, view, set)
        .or_else(|| mime::run(function, args, view, set))
        .or_else(|| html::run(function, args, view, set))
        .or_else(|| image::run(function, args, view, set))
        .or_else(|| relays::run(function, args, view, set))
        .or_else(|| dates::run(function, args, view, set))
        .or_else(|| recipients::run(function, args, view, set))
        .or_else(|| ratware::run(function, args, view, set))
        .or_else(|| addr_lists::run(function, args, view, set))
        .unwrap_or(false);
    if hit { 1.0 } else { 0.0 }
}
