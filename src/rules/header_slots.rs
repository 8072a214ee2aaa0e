//! Header requests numbered at load, answered once per message into slots that rules borrow.
//!
//! Each distinct request a rule set makes (`From:addr`, `ALL`, a `mimeheader`'s
//! `Content-Type:raw`...) gets a slot when the rule set is built. A message answers a slot on
//! the first rule that asks, into a `OnceLock`; every later rule borrows the value. Scoring so
//! takes no lock, hashes no name and copies no value per header rule: a keyed cache behind a
//! `Mutex` that cloned the value for each rule (the whole header block for `ALL`) cost about a
//! tenth of scoring.
//!
//! Requests no rule registered (an eval that builds one from its arguments, a view built alone
//! in a test) go through a keyed cache behind a lock: the same values, only slower.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::mime_header::MimeHeaderRequest;

/// A header request's slot in its rule set's [`HeaderRequests`]. A rule holds the default
/// (slot 0) until the rule set numbers it: rules compile in parallel, so numbering waits until
/// they are back in definition order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeaderSlot(usize);

/// A `mimeheader` request's slot in its rule set's [`HeaderRequests`] (default as above).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MimeHeaderSlot(usize);

/// Every header request of a rule set, in slot order. Immutable once the rule set is built.
#[derive(Debug, Default)]
pub struct HeaderRequests {
    requests: Vec<String>,
    by_request: HashMap<String, HeaderSlot>,
    mime: Vec<MimeHeaderRequest>,
    mime_by_request: HashMap<(String, bool), MimeHeaderSlot>,
}

impl HeaderRequests {
    /// The slot of `request`, a new one the first time it is seen.
    pub fn register(&mut self, request: &str) -> HeaderSlot {
        if let Some(&slot) = self.by_request.get(request) {
            return slot;
        }
        let slot = HeaderSlot(self.requests.len());
        self.requests.push(request.to_string());
        self.by_request.insert(request.to_string(), slot);
        slot
    }

    pub fn register_mime(&mut self, request: &MimeHeaderRequest) -> MimeHeaderSlot {
        let key = (request.name.clone(), request.raw);
        if let Some(&slot) = self.mime_by_request.get(&key) {
            return slot;
        }
        let slot = MimeHeaderSlot(self.mime.len());
        self.mime.push(request.clone());
        self.mime_by_request.insert(key, slot);
        slot
    }

    pub fn find(&self, request: &str) -> Option<HeaderSlot> {
        self.by_request.get(request).copied()
    }
}

/// One message's answers to its rule set's header requests.
#[derive(Debug, Default)]
pub struct HeaderCache {
    requests: Arc<HeaderRequests>,
    values: Box<[OnceLock<Option<Vec<u8>>>]>,
    mime_values: Box<[OnceLock<Vec<Option<Vec<u8>>>>]>,
    /// Requests outside `requests`; the lock is held only to look one up or insert it (two
    /// threads asking at once may both work the value out: the same value).
    unregistered: Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl HeaderCache {
    pub fn new(requests: Arc<HeaderRequests>) -> HeaderCache {
        let values = (0..requests.requests.len()).map(|_| OnceLock::new()).collect();
        let mime_values = (0..requests.mime.len()).map(|_| OnceLock::new()).collect();
        HeaderCache { requests, values, mime_values, unregistered: Mutex::default() }
    }

    /// The value of `slot`, computed by `answer(request)` on first use.
    pub fn slot(&self, slot: HeaderSlot, answer: impl FnOnce(&str) -> Option<Vec<u8>>) -> Option<&[u8]> {
        self.values[slot.0].get_or_init(|| answer(&self.requests.requests[slot.0])).as_deref()
    }

    pub fn mime_slot(&self, slot: MimeHeaderSlot, answer: impl FnOnce(&MimeHeaderRequest) -> Vec<Option<Vec<u8>>>) -> &[Option<Vec<u8>>] {
        self.mime_values[slot.0].get_or_init(|| answer(&self.requests.mime[slot.0]))
    }

    pub fn find(&self, request: &str) -> Option<HeaderSlot> {
        self.requests.find(request)
    }

    /// The value of a request no rule registered, answered once per message.
    pub fn unregistered(&self, request: &str, answer: impl FnOnce(&str) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
        if let Some(v) = self.unregistered.lock().unwrap_or_else(PoisonError::into_inner).get(request) {
            return v.clone();
        }
        // answered without the lock held: an answer may ask for other headers
        let v = answer(request);
        self.unregistered.lock().unwrap_or_else(PoisonError::into_inner).insert(request.to_string(), v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::message::MessageView;

    #[test]
    fn slots_and_the_keyed_path_answer_what_header_get_answers() {
        let msg = b"From: A <a@example.com>\nTo: b@example.com, c@example.com\nSubject: hi\nReceived: from x by y\n\nbody\n";
        let mut view = MessageView::parse(msg);
        let mut requests = HeaderRequests::default();
        let from = requests.register("From:addr");
        let missing = requests.register("X-Missing");
        assert_eq!(requests.register("From:addr"), from);
        requests.register("ALL");
        view.use_header_requests(Arc::new(requests));
        assert!(view.header(from).is_some_and(|v| v.starts_with(b"a@example.com")));
        assert_eq!(view.header(missing), None);
        // registered (borrowed from a slot) and unregistered (keyed) requests alike
        for request in ["From:addr", "ALL", "X-Missing", "Subject", "To:addr", "ToCc:addr"] {
            assert_eq!(view.get(request).map(|v| v.into_owned()), crate::rules::header_get::get(&view, request), "{request}");
        }
    }
}
