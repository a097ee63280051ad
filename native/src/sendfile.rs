//! Zero-copy transfer of file regions into TCP sockets on a few dedicated epoll threads.
//!
//! Node's libuv thread pool must never wait on a socket (DESIGN.md), so every transfer is
//! driven here: `sendfile` until EAGAIN, then wait for EPOLLOUT on this module's own epoll
//! instance. Submissions arrive through a queue whose wake-up is an eventfd. The socket and
//! file fds of a transfer are duplicates made by the caller; the transfer owns them and
//! closes them when it completes, so a socket closed by JS mid-transfer cannot have its fd
//! number reused under us.
//!
//! Ownership rule: once `strand_sendfile_submit` is called, the fds belong to the engine
//! whatever the result. On an error return the fds are already closed and the callback is
//! not called; otherwise the callback is called exactly once, on the epoll thread, after the
//! fds are closed. A file fd may appear in several regions; it is closed once.

#![allow(non_camel_case_types)]

use crate::sys;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

// Status codes of strand.h (kept local so this module does not depend on lib.rs's layout).
const OK: i32 = 0;
const E_IO: i32 = -1;
const E_INVALID_ARG: i32 = -6;
const E_TIMEOUT: i32 = -8;
const E_PEER: i32 = -9;

/// Mirrors `strand_send_region` in strand.h.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct strand_send_region {
    pub file_fd: i32,
    pub position: u32,
    pub length: u32,
}

/// Mirrors `strand_send_cb` in strand.h.
pub type strand_send_cb = Option<unsafe extern "C" fn(ctx: *mut c_void, status: i32, bytes_sent: u64, msg: *const c_char)>;

/// Bytes one transfer may move per turn before the others get theirs (fairness on fast links).
const TURN_BUDGET_BYTES: u64 = 4 << 20;
/// epoll data value reserved for the wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;

struct Transfer {
    socket_fd: c_int,
    regions: Vec<strand_send_region>,
    region_index: usize,
    /// Bytes already sent of regions[region_index].
    region_sent: u32,
    bytes_sent: u64,
    timeout: Option<Duration>,
    last_progress: Instant,
    registered: bool,
    cb: unsafe extern "C" fn(*mut c_void, i32, u64, *const c_char),
    ctx: *mut c_void,
}

// The ctx pointer is opaque to us and handed back only on the epoll thread; the caller
// promised it may be used there.
unsafe impl Send for Transfer {}

struct Engine {
    queue: Mutex<Vec<Transfer>>,
    wake_fd: c_int,
}

/// Threads that drive transfers (STRAND_SENDFILE_THREADS, 1 to 16). A sendfile from a file
/// that is not in the page cache blocks its thread on the disk; with several threads the
/// disk serves several reads at once (measured here: 16 cold 128 MiB files read one after
/// another 429 MB/s, four at a time 1,357 MB/s).
const DEFAULT_THREADS: usize = 4;
const MAX_THREADS: usize = 16;

struct Engines {
    all: Vec<&'static Engine>,
    next: AtomicUsize,
}

static ENGINES: OnceLock<Result<Engines, String>> = OnceLock::new();

/// Records `msg` as the thread's strand_last_error() text and returns `code`.
fn set_error(code: i32, msg: String) -> i32 {
    crate::set_last_error(&msg);
    code
}

fn os_error(what: &str) -> String {
    format!("{}: {}", what, std::io::Error::from_raw_os_error(sys::errno()))
}

/// Duplicates `fd` with close-on-exec, returning the new fd or STRAND_E_*.
#[no_mangle]
pub extern "C" fn strand_dup_fd(fd: i32) -> i32 {
    if fd < 0 {
        return set_error(E_INVALID_ARG, format!("cannot duplicate fd {}", fd));
    }
    let dup = unsafe { sys::fcntl(fd, sys::F_DUPFD_CLOEXEC, 0 as c_int) };
    if dup < 0 {
        let code = if sys::errno() == 9 { E_INVALID_ARG } else { E_IO }; // EBADF: caller error
        return set_error(code, os_error(&format!("dup of fd {}", fd)));
    }
    dup
}

/// The engine for the next transfer, round-robin. A socket's transfers never overlap (the
/// caller waits for each one), so any thread may take any of them without reordering bytes.
fn engine() -> Result<&'static Engine, String> {
    let engines = ENGINES.get_or_init(start_engines).as_ref().map_err(|e| e.clone())?;
    let i = engines.next.fetch_add(1, Ordering::Relaxed) % engines.all.len();
    Ok(engines.all[i])
}

fn thread_count() -> usize {
    sys::env_threads("STRAND_SENDFILE_THREADS", DEFAULT_THREADS, MAX_THREADS)
}

fn start_engines() -> Result<Engines, String> {
    let mut all = Vec::new();
    for i in 0..thread_count() {
        all.push(start_engine(i)?);
    }
    Ok(Engines { all, next: AtomicUsize::new(0) })
}

fn start_engine(index: usize) -> Result<&'static Engine, String> {
    let epfd = unsafe { sys::epoll_create1(sys::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(os_error("epoll_create1"));
    }
    let wake_fd = unsafe { sys::eventfd(0, sys::EFD_CLOEXEC | sys::EFD_NONBLOCK) };
    if wake_fd < 0 {
        let msg = os_error("eventfd");
        unsafe { sys::close(epfd) };
        return Err(msg);
    }
    let mut ev = sys::epoll_event { events: sys::EPOLLIN, u64: WAKE_TOKEN };
    if unsafe { sys::epoll_ctl(epfd, sys::EPOLL_CTL_ADD, wake_fd, &mut ev) } < 0 {
        let msg = os_error("epoll_ctl(eventfd)");
        unsafe {
            sys::close(wake_fd);
            sys::close(epfd);
        }
        return Err(msg);
    }
    // Lives as long as the process, like its thread.
    let eng: &'static Engine = Box::leak(Box::new(Engine { queue: Mutex::new(Vec::new()), wake_fd }));
    std::thread::Builder::new()
        .name(format!("strand-send-{index}"))
        .spawn(move || run_loop(epfd, wake_fd, eng))
        .map_err(|e| format!("cannot start a sendfile thread: {}", e))?;
    Ok(eng)
}

fn close_fds(socket_fd: c_int, regions: &[strand_send_region]) {
    if socket_fd >= 0 {
        unsafe { sys::close(socket_fd) };
    }
    for (i, r) in regions.iter().enumerate() {
        if r.file_fd >= 0 && !regions[..i].iter().any(|p| p.file_fd == r.file_fd) {
            unsafe { sys::close(r.file_fd) };
        }
    }
}

/// Queues a transfer of `regions` (in order) into `socket_fd`. See the module doc for fd ownership.
#[no_mangle]
pub unsafe extern "C" fn strand_sendfile_submit(
    socket_fd: i32,
    regions: *const strand_send_region,
    n: usize,
    timeout_ms: i64,
    cb: strand_send_cb,
    ctx: *mut c_void,
) -> i32 {
    let list: Vec<strand_send_region> = if n == 0 {
        Vec::new()
    } else if regions.is_null() {
        if socket_fd >= 0 {
            sys::close(socket_fd);
        }
        return set_error(E_INVALID_ARG, "sendfile: regions is null".into());
    } else {
        std::slice::from_raw_parts(regions, n).to_vec()
    };
    let fail = |code: i32, msg: String| {
        close_fds(socket_fd, &list);
        set_error(code, msg)
    };
    let cb = match cb {
        Some(cb) => cb,
        None => return fail(E_INVALID_ARG, "sendfile: callback is null".into()),
    };
    if socket_fd < 0 {
        return fail(E_INVALID_ARG, format!("sendfile: bad socket fd {}", socket_fd));
    }
    if let Some(r) = list.iter().find(|r| r.file_fd < 0) {
        return fail(E_INVALID_ARG, format!("sendfile: bad file fd {}", r.file_fd));
    }
    // The epoll thread must never block on the socket. Node's sockets are non-blocking
    // already (the dup shares the file description); setting the flag again is harmless.
    let flags = sys::fcntl(socket_fd, sys::F_GETFL);
    if flags < 0 {
        return fail(E_INVALID_ARG, os_error("sendfile: socket fd"));
    }
    if flags & sys::O_NONBLOCK == 0 && sys::fcntl(socket_fd, sys::F_SETFL, flags | sys::O_NONBLOCK) < 0 {
        return fail(E_IO, os_error("sendfile: set O_NONBLOCK"));
    }
    let eng = match engine() {
        Ok(e) => e,
        Err(msg) => return fail(E_IO, msg),
    };
    let transfer = Transfer {
        socket_fd,
        regions: list.clone(),
        region_index: 0,
        region_sent: 0,
        bytes_sent: 0,
        timeout: if timeout_ms > 0 { Some(Duration::from_millis(timeout_ms as u64)) } else { None },
        last_progress: Instant::now(),
        registered: false,
        cb,
        ctx,
    };
    eng.queue.lock().unwrap_or_else(|p| p.into_inner()).push(transfer);
    let one: u64 = 1;
    // A full eventfd counter (EAGAIN) still means the thread is due to wake: ignore it.
    sys::write(eng.wake_fd, &one as *const u64 as *const c_void, 8);
    OK
}

enum Step {
    Done,
    /// The socket buffer is full: wait for EPOLLOUT.
    Blocked,
    /// The turn budget is spent: run again after the others.
    Yield,
    Failed(i32, String),
}

fn drive(t: &mut Transfer) -> Step {
    let mut turn_bytes = 0u64;
    while t.region_index < t.regions.len() {
        let r = t.regions[t.region_index];
        if t.region_sent >= r.length {
            t.region_index += 1;
            t.region_sent = 0;
            continue;
        }
        if turn_bytes >= TURN_BUDGET_BYTES {
            return Step::Yield;
        }
        let mut off: sys::off_t = r.position as sys::off_t + t.region_sent as sys::off_t;
        let want = (r.length - t.region_sent) as usize;
        let n = unsafe { sys::sendfile(t.socket_fd, r.file_fd, &mut off, want) };
        if n > 0 {
            t.region_sent += n as u32;
            t.bytes_sent += n as u64;
            turn_bytes += n as u64;
            t.last_progress = Instant::now();
            continue;
        }
        if n == 0 {
            // sendfile returns 0 only at end of file: the region lies past the file's end
            // (truncated under us). Sending less than promised would corrupt the stream.
            return Step::Failed(
                E_IO,
                format!(
                    "sendfile: file ends before the region (fd {}, position {}, length {}, sent {})",
                    r.file_fd, r.position, r.length, t.region_sent
                ),
            );
        }
        match sys::errno() {
            sys::EINTR => continue,
            sys::EAGAIN => return Step::Blocked,
            e @ (sys::EPIPE | sys::ECONNRESET) => {
                return Step::Failed(
                    E_PEER,
                    format!(
                        "sendfile: peer closed the connection after {} bytes ({})",
                        t.bytes_sent,
                        std::io::Error::from_raw_os_error(e)
                    ),
                )
            }
            e => {
                return Step::Failed(
                    E_IO,
                    format!("sendfile after {} bytes: {}", t.bytes_sent, std::io::Error::from_raw_os_error(e)),
                )
            }
        }
    }
    Step::Done
}

fn complete(epfd: c_int, mut t: Transfer, status: i32, msg: &str) {
    if t.registered {
        // Explicit removal: Node still holds the socket's file description, so closing our
        // dup alone would leave the registration alive in this epoll set.
        unsafe { sys::epoll_ctl(epfd, sys::EPOLL_CTL_DEL, t.socket_fd, std::ptr::null_mut()) };
        t.registered = false;
    }
    close_fds(t.socket_fd, &t.regions);
    let text = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    unsafe { (t.cb)(t.ctx, status, t.bytes_sent, text.as_ptr()) };
}

fn arm(epfd: c_int, token: u64, t: &mut Transfer) -> Result<(), String> {
    let mut ev = sys::epoll_event {
        events: sys::EPOLLOUT | sys::EPOLLONESHOT,
        u64: token,
    };
    let op = if t.registered { sys::EPOLL_CTL_MOD } else { sys::EPOLL_CTL_ADD };
    if unsafe { sys::epoll_ctl(epfd, op, t.socket_fd, &mut ev) } < 0 {
        return Err(os_error("sendfile: epoll_ctl"));
    }
    t.registered = true;
    Ok(())
}

fn run_loop(epfd: c_int, wake_fd: c_int, eng: &'static Engine) {
    let mut waiting: HashMap<u64, Transfer> = HashMap::new();
    let mut runnable: Vec<u64> = Vec::new();
    let mut next_token: u64 = 0;
    let mut events = [sys::epoll_event { events: 0, u64: 0 }; 64];
    let mut incoming: Vec<Transfer> = Vec::new();
    loop {
        let timeout_ms = if !runnable.is_empty() {
            0
        } else {
            let now = Instant::now();
            waiting
                .values()
                .filter_map(|t| t.timeout.map(|d| (t.last_progress + d).saturating_duration_since(now)))
                .min()
                .map(|d| d.as_millis().min(i32::MAX as u128) as c_int + 1)
                .unwrap_or(-1)
        };
        let ready = unsafe { sys::epoll_wait(epfd, events.as_mut_ptr(), events.len() as c_int, timeout_ms) };
        let ready = if ready < 0 { 0 } else { ready as usize }; // EINTR: just loop
        let mut hangups: Vec<u64> = Vec::new();
        for ev in &events[..ready] {
            let (token, flags) = (ev.u64, ev.events);
            if token == WAKE_TOKEN {
                let mut counter: u64 = 0;
                unsafe { sys::read(wake_fd, &mut counter as *mut u64 as *mut c_void, 8) };
                std::mem::swap(&mut incoming, &mut *eng.queue.lock().unwrap_or_else(|p| p.into_inner()));
                for t in incoming.drain(..) {
                    let token = next_token;
                    next_token += 1;
                    waiting.insert(token, t);
                    runnable.push(token);
                }
            } else {
                if flags & (sys::EPOLLHUP | sys::EPOLLERR) != 0 {
                    hangups.push(token);
                }
                runnable.push(token);
            }
        }
        let turn = std::mem::take(&mut runnable);
        for token in turn {
            let Some(t) = waiting.get_mut(&token) else { continue };
            let step = drive(t);
            let step = match step {
                // A hangup that still leaves sendfile blocked will never unblock.
                Step::Blocked if hangups.contains(&token) => {
                    Step::Failed(E_PEER, format!("sendfile: peer hung up after {} bytes", t.bytes_sent))
                }
                s => s,
            };
            match step {
                Step::Blocked => {
                    if let Err(msg) = arm(epfd, token, t) {
                        let t = waiting.remove(&token).unwrap();
                        complete(epfd, t, E_IO, &msg);
                    }
                }
                Step::Yield => runnable.push(token),
                Step::Done => {
                    let t = waiting.remove(&token).unwrap();
                    complete(epfd, t, OK, "");
                }
                Step::Failed(code, msg) => {
                    let t = waiting.remove(&token).unwrap();
                    complete(epfd, t, code, &msg);
                }
            }
        }
        // Transfers whose peer made no room for longer than their timeout.
        let now = Instant::now();
        let expired: Vec<u64> = waiting
            .iter()
            .filter(|(tok, t)| !runnable.contains(tok) && t.timeout.map_or(false, |d| now.duration_since(t.last_progress) >= d))
            .map(|(tok, _)| *tok)
            .collect();
        for token in expired {
            let t = waiting.remove(&token).unwrap();
            let msg = format!(
                "sendfile: the peer read nothing for {} ms ({} bytes sent)",
                t.timeout.unwrap().as_millis(),
                t.bytes_sent
            );
            complete(epfd, t, E_TIMEOUT, &msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::io::AsRawFd;
    use std::sync::mpsc;

    struct Outcome {
        status: i32,
        bytes: u64,
        msg: String,
    }

    unsafe extern "C" fn on_done(ctx: *mut c_void, status: i32, bytes: u64, msg: *const c_char) {
        let tx = Box::from_raw(ctx as *mut mpsc::Sender<Outcome>);
        let msg = std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned();
        let _ = tx.send(Outcome { status, bytes, msg });
    }

    fn tcp_pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (s, c)
    }

    fn temp_file(name: &str, bytes: &[u8]) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("strand-sendfile-{}-{}", std::process::id(), name));
        std::fs::write(&path, bytes).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    fn submit(sock: &TcpStream, regions: &[(i32, u32, u32)], timeout_ms: i64) -> mpsc::Receiver<Outcome> {
        let (tx, rx) = mpsc::channel();
        let sock_fd = strand_dup_fd(sock.as_raw_fd());
        assert!(sock_fd >= 0);
        let list: Vec<strand_send_region> = regions
            .iter()
            .map(|&(fd, position, length)| strand_send_region { file_fd: strand_dup_fd(fd), position, length })
            .collect();
        let ctx = Box::into_raw(Box::new(tx)) as *mut c_void;
        let rc = unsafe { strand_sendfile_submit(sock_fd, list.as_ptr(), list.len(), timeout_ms, Some(on_done), ctx) };
        assert_eq!(rc, 0);
        rx
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    fn last_error_message() -> String {
        unsafe { std::ffi::CStr::from_ptr(crate::strand_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn dup_rejects_bad_fd() {
        assert_eq!(strand_dup_fd(-1), E_INVALID_ARG);
        assert_eq!(strand_dup_fd(1 << 29), E_INVALID_ARG);
        assert!(last_error_message().contains("dup"));
    }

    #[test]
    fn sends_regions_in_order_and_closes_dups() {
        let a = pattern(3 << 20, 1);
        let b = pattern(100_000, 7);
        let fa = temp_file("a", &a);
        let fb = temp_file("b", &b);
        let (server, mut client) = tcp_pair();
        let regions = [(fa.as_raw_fd(), 10, 2_000_000), (fb.as_raw_fd(), 0, 100_000), (fa.as_raw_fd(), 0, 5)];
        let rx = submit(&server, &regions, 10_000);
        let total = 2_000_000 + 100_000 + 5;
        let mut got = vec![0u8; total];
        client.read_exact(&mut got).unwrap();
        let out = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(out.status, 0, "{}", out.msg);
        assert_eq!(out.bytes, total as u64);
        let mut want = a[10..2_000_010].to_vec();
        want.extend_from_slice(&b);
        want.extend_from_slice(&a[..5]);
        assert!(got == want, "bytes differ");
        // The originals are still open and usable: only the dups were closed.
        let mut server = server;
        server.write_all(b"!").unwrap();
        let mut one = [0u8; 1];
        client.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"!");
    }

    #[test]
    fn empty_transfer_completes() {
        let (server, _client) = tcp_pair();
        let rx = submit(&server, &[], 1000);
        let out = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((out.status, out.bytes), (0, 0));
    }

    #[test]
    fn region_past_end_of_file_fails() {
        let f = temp_file("short", &pattern(100, 3));
        let (server, _client) = tcp_pair();
        let rx = submit(&server, &[(f.as_raw_fd(), 50, 100)], 1000);
        let out = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(out.status, E_IO);
        assert!(out.msg.contains("file ends"), "{}", out.msg);
    }

    #[test]
    fn peer_closing_mid_transfer_fails_with_peer() {
        let data = pattern(64 << 20, 5);
        let f = temp_file("big", &data);
        let (server, mut client) = tcp_pair();
        let rx = submit(&server, &[(f.as_raw_fd(), 0, data.len() as u32)], 30_000);
        let mut some = vec![0u8; 100_000];
        client.read_exact(&mut some).unwrap();
        assert!(some[..] == data[..100_000]);
        drop(client); // unread data queued: the kernel answers with a reset
        let out = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(out.status, E_PEER, "{}", out.msg);
        assert!(out.bytes >= 100_000 && out.bytes < data.len() as u64);
        assert!(out.msg.contains("peer"), "{}", out.msg);
    }

    #[test]
    fn peer_that_stops_reading_times_out() {
        let data = pattern(64 << 20, 9);
        let f = temp_file("stall", &data);
        let (server, _client) = tcp_pair();
        let rx = submit(&server, &[(f.as_raw_fd(), 0, data.len() as u32)], 200);
        let out = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(out.status, E_TIMEOUT, "{}", out.msg);
        assert!(out.bytes > 0 && out.bytes < data.len() as u64);
    }

    #[test]
    fn many_concurrent_transfers() {
        let data = pattern(1 << 20, 11);
        let f = temp_file("many", &data);
        let mut pairs = Vec::new();
        for i in 0..16u32 {
            let (server, client) = tcp_pair();
            let off = i * 1000;
            let rx = submit(&server, &[(f.as_raw_fd(), off, 500_000)], 10_000);
            pairs.push((server, client, rx, off as usize));
        }
        let handles: Vec<_> = pairs
            .into_iter()
            .map(|(server, mut client, rx, off)| {
                let want = data[off..off + 500_000].to_vec();
                std::thread::spawn(move || {
                    let mut got = vec![0u8; 500_000];
                    client.read_exact(&mut got).unwrap();
                    assert!(got == want);
                    let out = rx.recv_timeout(Duration::from_secs(30)).unwrap();
                    assert_eq!(out.status, 0, "{}", out.msg);
                    drop(server);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn submit_with_bad_fd_is_rejected() {
        let (tx, _rx) = mpsc::channel::<Outcome>();
        let ctx = Box::into_raw(Box::new(tx)) as *mut c_void;
        let region = strand_send_region { file_fd: -1, position: 0, length: 1 };
        let (server, _client) = tcp_pair();
        let sock_fd = strand_dup_fd(server.as_raw_fd());
        let rc = unsafe { strand_sendfile_submit(sock_fd, &region, 1, 0, Some(on_done), ctx) };
        assert_eq!(rc, E_INVALID_ARG);
        // On an error return the callback never runs: reclaim ctx ourselves.
        drop(unsafe { Box::from_raw(ctx as *mut mpsc::Sender<Outcome>) });
        assert!(last_error_message().contains("bad file fd"));
    }
}
