//! One milter connection's state, advanced by the callbacks in `server`. It decides; the
//! callbacks do the protocol I/O. A connection carries several messages: `mail` starts a new one.

use std::net::IpAddr;
use std::sync::Arc;

use crate::spam::headers::parse_fields;
use crate::spam::verdict::{ScoreReport, ScoredTest, Verdict, decide, tagged_subject};
use crate::spam::{PolicyDirectory, PolicyValues};

use super::settings::MilterSettings;

/// What to answer to one RCPT.
#[derive(Debug, Clone, PartialEq)]
pub enum RcptAnswer {
    Continue,
    /// 452 4.5.3: this recipient's policy differs from the first recipient's.
    DeferDifferentPolicy,
}

/// The header edits and the final answer for one message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EomPlan {
    /// (name, 1-based index among headers of that name), highest index first.
    pub delete: Vec<(String, i32)>,
    pub add: Vec<(String, String)>,
    /// New value of the first `Subject` header, as bytes (an 8-bit Subject keeps its bytes);
    /// `add` holds a new Subject when there was none.
    pub change_subject: Option<Vec<u8>>,
    /// 550 5.7.1 with this text.
    pub reject: Option<String>,
}

/// Longest header value kept for the milter's own use (Postfix's header_size_limit is 100 KiB).
const MAX_KEPT_VALUE: usize = 8 * 1024;

#[derive(Debug)]
pub struct Session {
    settings: Arc<MilterSettings>,
    /// Snapshot taken at MAIL, so one message sees one consistent directory even if the lead
    /// swaps in a new one meanwhile.
    directory: Arc<PolicyDirectory>,
    /// The connecting client is a trusted relay: its `X-Spam-*` headers are kept.
    trusted_client: bool,
    pub queue_id: Option<String>,
    /// Resolved policies of the accepted recipients of the current message.
    recipients: Vec<PolicyValues>,
    /// The headers the milter acts on (`X-Spam*` and `Subject`), in order, values as sent;
    /// cut at `MAX_KEPT_VALUE` so that a flood of headers stays bounded.
    headers: Vec<(String, Vec<u8>)>,
    /// Headers and body as the rule engine reads them; emptied once the size cap is passed.
    message: Vec<u8>,
    body_started: bool,
    size: usize,
    oversized: bool,
    /// The MTA agreed not to wait for answers to the stages that always continue (see
    /// `server::QUIET_STAGES`): those must then answer `Noreply`.
    pub quiet: bool,
    /// RCPT is quiet too: the MTA agreed not to wait for its answer, which is always "continue"
    /// unless recipients with differing policies are deferred (`one_policy_per_transaction`).
    pub quiet_rcpt: bool,
}

impl Session {
    /// A connection's session, from negotiation on; `connect` says who the client is.
    pub fn new(settings: Arc<MilterSettings>, directory: Arc<PolicyDirectory>) -> Session {
        Session {
            settings,
            directory,
            trusted_client: false,
            queue_id: None,
            recipients: Vec::new(),
            headers: Vec::new(),
            message: Vec::new(),
            body_started: false,
            quiet: false,
            quiet_rcpt: false,
            size: 0,
            oversized: false,
        }
    }

    /// CONNECT: the client's address and the name the MTA verified for it (Postfix: the
    /// forward-confirmed reverse name, or `unknown`), which decide whether it is a trusted relay.
    pub fn connect(&mut self, client: Option<IpAddr>, verified_name: Option<&str>) {
        self.trusted_client = self.settings.trusts(client, verified_name);
        // a milter connection the MTA reuses for another client starts clean
        self.reset_message();
    }

    /// MAIL FROM: a new message on this connection.
    pub fn mail(&mut self, directory: Arc<PolicyDirectory>) {
        self.directory = directory;
        self.reset_message();
    }

    fn reset_message(&mut self) {
        self.queue_id = None;
        self.recipients.clear();
        self.headers.clear();
        self.message.clear();
        self.body_started = false;
        self.size = 0;
        self.oversized = false;
    }

    pub fn rcpt(&mut self, address: &str) -> RcptAnswer {
        let policy = self.directory.effective_policy(address).values();
        if self.settings.one_policy_per_transaction {
            if let Some(first) = self.recipients.first() {
                if *first != policy {
                    return RcptAnswer::DeferDifferentPolicy;
                }
            }
        }
        self.recipients.push(policy);
        RcptAnswer::Continue
    }

    /// One header as the MTA sends it: raw bytes (a header in Latin-1 or broken UTF-8 reaches
    /// the rule engine as it was sent, as SpamAssassin reads it), folded with bare LF.
    pub fn header(&mut self, name: &[u8], value: &[u8]) {
        let mut line = Vec::with_capacity(name.len() + value.len() + 8);
        line.extend_from_slice(name);
        line.extend_from_slice(b": ");
        // the engine gets CRLF throughout: a bare LF (folding) becomes CRLF, CRLF stays
        let mut bytes = value.iter().peekable();
        while let Some(&b) = bytes.next() {
            match b {
                b'\r' if bytes.peek() == Some(&&b'\n') => {}
                b'\n' => line.extend_from_slice(b"\r\n"),
                b => line.push(b),
            }
        }
        line.extend_from_slice(b"\r\n");
        self.append(&line);
        let spam_header = name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case(b"x-spam"));
        if spam_header || name.eq_ignore_ascii_case(b"subject") {
            let value = &value[..value.len().min(MAX_KEPT_VALUE)];
            self.headers.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        }
    }

    pub fn body(&mut self, chunk: &[u8]) {
        if !self.body_started {
            self.body_started = true;
            self.append(b"\r\n");
        }
        self.append(chunk);
    }

    fn append(&mut self, bytes: &[u8]) {
        self.size += bytes.len();
        if self.size > self.settings.max_message_size {
            if !self.oversized {
                self.oversized = true;
                self.message = Vec::new();
            }
            return;
        }
        self.message.extend_from_slice(bytes);
    }

    pub fn oversized(&self) -> bool {
        self.oversized
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// The message for the rule engine (taken: the session does not need it afterwards).
    pub fn take_message(&mut self) -> Vec<u8> {
        if !self.body_started {
            self.message.extend_from_slice(b"\r\n");
        }
        std::mem::take(&mut self.message)
    }

    /// The score a trusted relay already wrote, when configured to use it.
    pub fn trusted_score(&self) -> Option<ScoreReport> {
        if !(self.trusted_client && self.settings.use_trusted_scores) {
            return None;
        }
        let fields: Vec<(String, String)> = self.headers.iter().map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned())).collect();
        let parsed = parse_fields(&fields);
        let score = parsed.score?;
        let tests = parsed.tests.iter().map(|t| ScoredTest { name: t.name.clone(), score: t.score.unwrap_or(0.0) }).collect();
        Some(ScoreReport { score, tests })
    }

    /// Spam headers to delete: every `X-Spam*` header unless the client is trusted.
    fn forged_headers(&self) -> Vec<(String, i32)> {
        if self.trusted_client {
            return Vec::new();
        }
        let mut counts: Vec<(String, i32)> = Vec::new();
        let mut delete = Vec::new();
        for (name, _) in &self.headers {
            let lname = name.to_ascii_lowercase();
            let index = match counts.iter_mut().find(|(n, _)| *n == lname) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((lname.clone(), 1));
                    1
                }
            };
            if lname.starts_with("x-spam") {
                delete.push((name.clone(), index));
            }
        }
        // Deleting from the last one keeps the earlier indexes valid.
        delete.reverse();
        delete
    }

    /// The plan for a message that was scored (`report`), or not (`None`: too large).
    pub fn plan(&self, report: Option<&ScoreReport>, reused_upstream: bool) -> EomPlan {
        let mut plan = EomPlan { delete: self.forged_headers(), ..Default::default() };
        let Some(report) = report else {
            plan.add.push(("X-Mailward-Scan".into(), format!("skipped, message larger than {} bytes", self.settings.max_message_size)));
            return plan;
        };
        let recipients = if self.recipients.is_empty() { vec![self.directory.server_default().clone()] } else { self.recipients.clone() };
        let verdict: Verdict = decide(report, &recipients);
        if verdict.reject {
            plan.reject = Some(format!("message refused as spam (score {})", crate::spam::policy::fmt_score(report.score)));
            return plan;
        }
        // The upstream headers stay; adding ours would give two of each.
        if !reused_upstream {
            plan.add = verdict.headers;
        }
        if let Some(tag) = verdict.subject_tag {
            match self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("subject")) {
                Some((_, subject)) => {
                    let new = tagged_subject(subject, &tag);
                    if new != *subject {
                        plan.change_subject = Some(new);
                    }
                }
                None => plan.add.push(("Subject".into(), tag.trim_end().to_string())),
            }
        }
        plan
    }
}
