//! The indymilter side: sockets, callbacks, scoring with a timeout, the failure action, reloads.

use std::ffi::CString;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context as TaskContext, Poll};

use indymilter::{Actions, Callbacks, Context, ContextActions, EomContext, MacroStage, NegotiateContext, ProtoOpts, SetErrorReply, SocketInfo, Status};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tracing::{error, info, warn};

use super::session::{EomPlan, RcptAnswer, Session};
use super::settings::{FailureAction, MilterSettings, MilterSocket};
use crate::spam::PolicyDirectory;
use crate::spam::verdict::ScoreReport;

/// Scores one message. The milter only needs the total and the tests; the rule engine
/// implements it, and tests plug in their own.
pub trait Scorer: Send + Sync + 'static {
    fn score(&self, message: &[u8]) -> ScoreReport;

    /// Scores, or gives up (`None`) once `deadline` has passed. Scorers that cannot stop early
    /// run to the end; the milter drops a late answer either way.
    fn score_until(&self, message: &[u8], _deadline: std::time::Instant) -> Option<ScoreReport> {
        Some(self.score(message))
    }
}

/// What every connection shares. The scorer and the directory are swapped whole
/// (`replace_*`): a message in flight keeps the `Arc` it started with.
pub struct MilterState {
    settings: Arc<MilterSettings>,
    scorer: RwLock<Arc<dyn Scorer>>,
    directory: RwLock<Arc<PolicyDirectory>>,
    /// One permit per core: messages beyond that wait their turn instead of all scoring at
    /// once, which made every one of them slower (8 connections: p99 scoring 22 ms for 2 ms of
    /// work) and cost throughput in context switches and evicted caches.
    scoring_slots: Arc<tokio::sync::Semaphore>,
}

impl MilterState {
    pub fn new(settings: MilterSettings, scorer: Arc<dyn Scorer>, directory: PolicyDirectory) -> Arc<MilterState> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(MilterState { settings: Arc::new(settings), scorer: RwLock::new(scorer), directory: RwLock::new(Arc::new(directory)), scoring_slots: Arc::new(tokio::sync::Semaphore::new(cores)) })
    }

    pub fn settings(&self) -> &MilterSettings {
        &self.settings
    }

    pub fn replace_scorer(&self, scorer: Arc<dyn Scorer>) {
        *self.scorer.write().unwrap_or_else(|e| e.into_inner()) = scorer;
    }

    pub fn replace_directory(&self, directory: PolicyDirectory) {
        *self.directory.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(directory);
    }

    fn new_session(&self) -> Session {
        Session::new(self.settings.clone(), self.directory())
    }

    fn scorer(&self) -> Arc<dyn Scorer> {
        self.scorer.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn directory(&self) -> Arc<PolicyDirectory> {
        self.directory.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A bound milter socket. TCP connections get TCP_NODELAY: the milter protocol is many small
/// request/reply pairs, and Nagle's algorithm adds ~40 ms to each message behind Postfix.
pub enum MilterListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

pub enum MilterStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl MilterListener {
    /// Binds `settings.listen`; a stale unix socket file is replaced.
    pub async fn bind(settings: &MilterSettings) -> io::Result<MilterListener> {
        match &settings.listen {
            MilterSocket::Inet(addr) => Ok(MilterListener::Tcp(TcpListener::bind(*addr).await?)),
            MilterSocket::Unix(path) => {
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    use std::os::unix::fs::FileTypeExt;
                    if meta.file_type().is_socket() {
                        std::fs::remove_file(path)?;
                    } else {
                        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists and is not a socket", path.display())));
                    }
                }
                let listener = UnixListener::bind(path)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(settings.socket_mode))?;
                Ok(MilterListener::Unix(listener))
            }
        }
    }
}

impl MilterListener {
    /// The bound TCP address (tests bind port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            MilterListener::Tcp(l) => l.local_addr().ok(),
            MilterListener::Unix(_) => None,
        }
    }
}

impl indymilter::Listener for MilterListener {
    type Io = MilterStream;

    fn poll_accept(&mut self, cx: &mut TaskContext<'_>) -> Poll<io::Result<MilterStream>> {
        match self {
            MilterListener::Tcp(l) => TcpListener::poll_accept(l, cx).map_ok(|(s, _)| {
                let _ = s.set_nodelay(true);
                MilterStream::Tcp(s)
            }),
            MilterListener::Unix(l) => UnixListener::poll_accept(l, cx).map_ok(|(s, _)| MilterStream::Unix(s)),
        }
    }
}

impl tokio::io::AsyncRead for MilterStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MilterStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            MilterStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for MilterStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MilterStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            MilterStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MilterStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            MilterStream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MilterStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            MilterStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Serves the milter protocol on `listener` until `shutdown` completes.
pub async fn run(listener: MilterListener, state: Arc<MilterState>, shutdown: impl std::future::Future) -> io::Result<()> {
    let config = indymilter::Config { max_connections: 1024, ..Default::default() };
    indymilter::run(listener, callbacks(state), config, shutdown).await
}

/// How the scorer is rebuilt on reload: load the rule files again (on a blocking thread).
pub type ScorerLoader = Arc<dyn Fn() -> Result<Arc<dyn Scorer>, String> + Send + Sync>;

/// Loads the rules again and swaps them in; a failed load keeps the rules in use.
pub async fn reload(state: &MilterState, load: &ScorerLoader, why: &str) {
    let load = load.clone();
    match tokio::task::spawn_blocking(move || load()).await {
        Ok(Ok(scorer)) => {
            state.replace_scorer(scorer);
            info!("rules reloaded ({why})");
        }
        Ok(Err(e)) => error!("rules reload ({why}) failed, keeping the rules in use: {e}"),
        Err(e) => error!("rules reload ({why}) failed, keeping the rules in use: {e}"),
    }
}

/// Installs the SIGHUP handler now (so a signal sent right after this returns is not fatal)
/// and returns the task that reloads the scorer on every SIGHUP. A failed load keeps the rules
/// in use and logs why; connections are not touched (each message keeps its scorer).
pub fn reload_on_sighup(state: Arc<MilterState>, load: ScorerLoader) -> io::Result<impl std::future::Future<Output = ()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            reload(&state, &load, "SIGHUP").await;
        }
    })
}

/// Reloads the scorer when a rule file under `paths` changes (polled every `interval`:
/// rule updates replace whole directories, which inotify-style watching handles poorly).
/// The files as they are when this is called count as loaded.
pub fn reload_on_rule_change(state: Arc<MilterState>, load: ScorerLoader, paths: Vec<std::path::PathBuf>, interval: std::time::Duration) -> impl std::future::Future<Output = ()> {
    let mut seen = rule_files_fingerprint(&paths);
    async move {
        loop {
            tokio::time::sleep(interval).await;
            let now = rule_files_fingerprint(&paths);
            if now != seen {
                seen = now;
                reload(&state, &load, "rule files changed").await;
            }
        }
    }
}

/// (path, length, modification time) of every file under `paths`, sorted.
fn rule_files_fingerprint(paths: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else {
            out.push((p, meta.len(), meta.modified().ok()));
        }
    }
    out.sort();
    out
}

fn client_ip(info: &SocketInfo) -> Option<IpAddr> {
    match info {
        SocketInfo::Inet(addr) => Some(addr.ip()),
        _ => None,
    }
}

fn macro_value<T: Send>(cx: &Context<T>, name: &str) -> Option<String> {
    let name = CString::new(name).ok()?;
    cx.macros.get(&name).map(|v| v.to_string_lossy().into_owned())
}

/// The stages whose answer is always "continue", declared no-reply when the MTA offers that
/// (Postfix does): the MTA then does not wait for a round trip after every header and body chunk,
/// most of its side of a milter conversation. End of message answers; RCPT answers only when
/// it may defer (see `negotiate`).
const QUIET_STAGES: ProtoOpts = ProtoOpts::NOREPLY_CONNECT
    .union(ProtoOpts::NOREPLY_HELO)
    .union(ProtoOpts::NOREPLY_MAIL)
    .union(ProtoOpts::NOREPLY_DATA)
    .union(ProtoOpts::NOREPLY_HEADER)
    .union(ProtoOpts::NOREPLY_EOH)
    .union(ProtoOpts::NOREPLY_BODY)
    .union(ProtoOpts::NOREPLY_UNKNOWN);

/// The connection's session: made at negotiation, so the fallback only serves an MTA that
/// skipped it.
fn session_of<'a>(data: &'a mut Option<Session>, state: &MilterState) -> &'a mut Session {
    data.get_or_insert_with(|| state.new_session())
}

/// The answer of a stage in `QUIET_STAGES`.
fn go_on(session: Option<&Session>) -> Status {
    if session.is_some_and(|s| s.quiet) { Status::Noreply } else { Status::Continue }
}

fn callbacks(state: Arc<MilterState>) -> Callbacks<Session> {
    let (s0, s1, s2, s3, s4, s5, s6, s7) = (state.clone(), state.clone(), state.clone(), state.clone(), state.clone(), state.clone(), state.clone(), state);
    Callbacks::new()
        .on_negotiate(move |cx, _actions, opts| {
            let state = s0.clone();
            Box::pin(async move { negotiate(cx, opts, &state) })
        })
        .on_connect(move |cx, host, info| {
            let state = s1.clone();
            Box::pin(async move {
                let session = session_of(&mut cx.data, &state);
                session.connect(client_ip(&info), host.to_str().ok());
                go_on(Some(session))
            })
        })
        .on_helo(|cx, _| Box::pin(async move { go_on(cx.data.as_ref()) }))
        .on_mail(move |cx, _args| {
            let state = s2.clone();
            Box::pin(async move {
                let session = session_of(&mut cx.data, &state);
                session.mail(state.directory());
                go_on(Some(session))
            })
        })
        .on_rcpt(move |cx, args| {
            let state = s3.clone();
            Box::pin(async move {
                let address = args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
                let queue_id = macro_value(cx, "i");
                let session = session_of(&mut cx.data, &state);
                if queue_id.is_some() {
                    session.queue_id = queue_id;
                }
                match session.rcpt(&address) {
                    RcptAnswer::Continue if session.quiet_rcpt => Status::Noreply,
                    RcptAnswer::Continue => Status::Continue,
                    RcptAnswer::DeferDifferentPolicy => {
                        let _ = cx.reply.set_error_reply("452", Some("4.5.3"), ["this recipient has a different spam policy: send it in a separate transaction"]);
                        Status::Tempfail
                    }
                }
            })
        })
        .on_data(|cx| Box::pin(async move { go_on(cx.data.as_ref()) }))
        .on_header(move |cx, name, value| {
            let state = s4.clone();
            Box::pin(async move {
                let session = session_of(&mut cx.data, &state);
                session.header(name.to_bytes(), value.to_bytes());
                go_on(Some(session))
            })
        })
        .on_eoh(|cx| Box::pin(async move { go_on(cx.data.as_ref()) }))
        .on_body(move |cx, chunk| {
            let state = s5.clone();
            Box::pin(async move {
                let session = session_of(&mut cx.data, &state);
                session.body(&chunk);
                go_on(Some(session))
            })
        })
        .on_eom(move |cx| {
            let state = s6.clone();
            Box::pin(async move { eom(cx, state).await })
        })
        .on_abort(move |cx| {
            let state = s7.clone();
            Box::pin(async move {
                if let Some(session) = cx.data.as_mut() {
                    session.mail(state.directory());
                }
                Status::Continue
            })
        })
        .on_close(|_| Box::pin(async { Status::Continue }))
        .on_unknown(|cx, _| Box::pin(async move { go_on(cx.data.as_ref()) }))
}

fn negotiate(cx: &mut NegotiateContext<Session>, offered: ProtoOpts, state: &MilterState) -> Status {
    // Assign, not |=: the field starts as everything the MTA offers.
    cx.requested_actions = Actions::ADD_HEADER | Actions::CHANGE_HEADER;
    if let Ok(i) = CString::new("i") {
        cx.requested_macros.insert(MacroStage::Rcpt, i.clone());
        cx.requested_macros.insert(MacroStage::Eom, i);
    }
    let quiet = offered.contains(QUIET_STAGES);
    if quiet {
        cx.requested_opts |= QUIET_STAGES;
    }
    // RCPT answers only to defer a recipient with a different policy; otherwise the MTA need not
    // wait for it (Postfix's smtpd otherwise waits a round trip per recipient before its 250)
    let quiet_rcpt = !state.settings.one_policy_per_transaction && offered.contains(ProtoOpts::NOREPLY_RCPT);
    if quiet_rcpt {
        cx.requested_opts |= ProtoOpts::NOREPLY_RCPT;
    }
    // the connection's session starts here, so the stages know whether to answer
    let mut session = state.new_session();
    session.quiet = quiet;
    session.quiet_rcpt = quiet_rcpt;
    cx.data = Some(session);
    Status::Continue
}

#[derive(Debug, thiserror::Error)]
enum EomError {
    #[error("scoring took longer than {0:?}")]
    Timeout(std::time::Duration),
    #[error("scoring failed: {0}")]
    Scorer(String),
    #[error("cannot edit the message: {0}")]
    Action(String),
}

async fn eom(cx: &mut EomContext<Session>, state: Arc<MilterState>) -> Status {
    let Some(mut session) = cx.data.take() else {
        return failure(cx, &state, None, "end of message without a session");
    };
    if let Some(i) = cx.macros.get(c"i") {
        session.queue_id = Some(i.to_string_lossy().into_owned());
    }
    let queue_id = session.queue_id.clone();
    let result = score_and_plan(&mut session, &state).await;
    let status = match result {
        Ok(plan) => match apply(cx, &plan).await {
            Ok(status) => status,
            Err(e) => failure(cx, &state, queue_id.as_deref(), &e.to_string()),
        },
        Err(e) => failure(cx, &state, queue_id.as_deref(), &e.to_string()),
    };
    cx.data = Some(session);
    status
}

async fn score_and_plan(session: &mut Session, state: &MilterState) -> Result<EomPlan, EomError> {
    if session.oversized() {
        warn!(queue_id = session.queue_id.as_deref().unwrap_or("-"), size = session.size(), "message larger than max_message_size passed unscored");
        return Ok(session.plan(None, false));
    }
    if let Some(report) = session.trusted_score() {
        return Ok(session.plan(Some(&report), true));
    }
    let message = session.take_message();
    let scorer = state.scorer();
    let timeout = state.settings.scoring_timeout;
    // Scoring is CPU work: off the async threads. The rule engine stops itself at the deadline,
    // so a timed-out message does not keep a thread busy; the async timeout also covers a
    // scorer that cannot stop early (its late answer is dropped).
    let deadline = std::time::Instant::now() + timeout;
    let scoring = async {
        // the wait for a core counts against the timeout: an overloaded milter answers with the
        // failure action in time rather than holding Postfix past its milter timeouts
        let slot = Arc::clone(&state.scoring_slots).acquire_owned().await.map_err(|e| EomError::Scorer(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            scorer.score_until(&message, deadline)
        })
        .await
        .map_err(|join| EomError::Scorer(join.to_string()))
    };
    let report = match tokio::time::timeout(timeout, scoring).await {
        Err(_) | Ok(Ok(None)) => return Err(EomError::Timeout(timeout)),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Some(report))) => report,
    };
    if !report.score.is_finite() {
        return Err(EomError::Scorer(format!("score is not a number: {}", report.score)));
    }
    Ok(session.plan(Some(&report), false))
}

async fn apply(cx: &mut EomContext<Session>, plan: &EomPlan) -> Result<Status, EomError> {
    if let Some(text) = &plan.reject {
        cx.reply.set_error_reply("550", Some("5.7.1"), [text.as_str()]).map_err(|e| EomError::Action(e.to_string()))?;
        return Ok(Status::Reject);
    }
    let act = |e: indymilter::ActionError| EomError::Action(e.to_string());
    for (name, index) in &plan.delete {
        cx.actions.change_header(name.as_str(), *index, None::<CString>).await.map_err(act)?;
    }
    if let Some(subject) = &plan.change_subject {
        // the MTA sent it NUL-terminated, so it holds no NUL
        let subject = CString::new(subject.clone()).map_err(|e| EomError::Action(e.to_string()))?;
        cx.actions.change_header("Subject", 1, Some(subject)).await.map_err(act)?;
    }
    for (name, value) in &plan.add {
        cx.actions.add_header(name.as_str(), value.as_str()).await.map_err(act)?;
    }
    Ok(Status::Continue)
}

fn failure(cx: &mut EomContext<Session>, state: &MilterState, queue_id: Option<&str>, why: &str) -> Status {
    let queue_id = queue_id.unwrap_or("-");
    match state.settings.failure_action {
        FailureAction::Tempfail => {
            error!(queue_id, "{why}: answering tempfail");
            let _ = cx.reply.set_error_reply("451", Some("4.7.1"), ["temporary failure of the spam filter, try again later"]);
            Status::Tempfail
        }
        FailureAction::Accept => {
            error!(queue_id, "{why}: accepting the message unscored");
            Status::Accept
        }
    }
}
