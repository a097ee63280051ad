//! The few libc functions std does not expose, declared once (no libc crate: DESIGN.md).
//! Linux x86_64 / aarch64 ABI.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_int, c_long, c_uint, c_void};

pub type size_t = usize;
pub type ssize_t = isize;
pub type off_t = i64;

pub const PROT_READ: c_int = 0x1;
pub const PROT_WRITE: c_int = 0x2;
pub const MAP_SHARED: c_int = 0x01;
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;
pub const MS_SYNC: c_int = 4;

pub const F_DUPFD_CLOEXEC: c_int = 1030;
pub const F_GETFL: c_int = 3;
pub const F_SETFL: c_int = 4;
pub const O_NONBLOCK: c_int = 0o4000;

pub const EPOLL_CLOEXEC: c_int = 0o2000000;
pub const EPOLL_CTL_ADD: c_int = 1;
pub const EPOLL_CTL_DEL: c_int = 2;
pub const EPOLL_CTL_MOD: c_int = 3;
pub const EPOLLIN: u32 = 0x001;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLONESHOT: u32 = 1 << 30;

pub const EFD_CLOEXEC: c_int = 0o2000000;
pub const EFD_NONBLOCK: c_int = 0o4000;

pub const EAGAIN: c_int = 11;
pub const EINTR: c_int = 4;
pub const EPIPE: c_int = 32;
pub const ECONNRESET: c_int = 104;
pub const EOPNOTSUPP: c_int = 95;

pub const RLIMIT_NOFILE: c_int = 7;
pub const RLIM_INFINITY: u64 = !0u64;

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}

/// struct epoll_event is packed on x86_64 only.
#[cfg(target_arch = "x86_64")]
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct epoll_event {
    pub events: u32,
    pub u64: u64,
}
#[cfg(not(target_arch = "x86_64"))]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct epoll_event {
    pub events: u32,
    pub u64: u64,
}

extern "C" {
    pub fn mmap(addr: *mut c_void, len: size_t, prot: c_int, flags: c_int, fd: c_int, off: off_t) -> *mut c_void;
    pub fn munmap(addr: *mut c_void, len: size_t) -> c_int;
    pub fn msync(addr: *mut c_void, len: size_t, flags: c_int) -> c_int;
    pub fn sendfile(out_fd: c_int, in_fd: c_int, offset: *mut off_t, count: size_t) -> ssize_t;
    pub fn epoll_create1(flags: c_int) -> c_int;
    pub fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) -> c_int;
    pub fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int;
    pub fn eventfd(initval: c_uint, flags: c_int) -> c_int;
    pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    pub fn close(fd: c_int) -> c_int;
    pub fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    pub fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    pub fn pread(fd: c_int, buf: *mut c_void, count: size_t, offset: off_t) -> ssize_t;
    pub fn fsync(fd: c_int) -> c_int;
    pub fn fdatasync(fd: c_int) -> c_int;
    pub fn __errno_location() -> *mut c_int;
    pub fn sysconf(name: c_int) -> c_long;
    pub fn fallocate(fd: c_int, mode: c_int, offset: off_t, len: off_t) -> c_int;
    pub fn getrlimit(resource: c_int, rlim: *mut rlimit) -> c_int;
    pub fn setrlimit(resource: c_int, rlim: *const rlimit) -> c_int;
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    unsafe { *__errno_location() }
}

// Added for the segment writer: gathered positional writes (header copies + batch bodies).
#[repr(C)]
pub struct iovec {
    pub iov_base: *mut c_void,
    pub iov_len: size_t,
}

extern "C" {
    pub fn pwritev(fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t) -> ssize_t;
}

// glibc's malloc knobs (malloc.h, mallopt). Not in musl: callers go through the cfg'd wrappers in lib.rs.
pub const M_MMAP_THRESHOLD: c_int = -3;
pub const M_ARENA_MAX: c_int = -8;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    pub fn mallopt(param: c_int, value: c_int) -> c_int;
}

/// A whole number from environment variable `name`, clamped to min..=max; `default` when
/// unset or not a number.
pub fn env_number(name: &str, default: u64, min: u64, max: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok()).map(|n| n.clamp(min, max)).unwrap_or(default)
}

/// A thread count from environment variable `name`, clamped to 1..=max; `default` when unset
/// or not a number.
pub fn env_threads(name: &str, default: usize, max: usize) -> usize {
    env_number(name, default as u64, 1, max as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_numbers_are_clamped_and_default_when_unset_or_bad() {
        // names of their own: tests run in parallel and share the environment
        assert_eq!(env_number("STRAND_TEST_ENV_NUMBER_UNSET", 50, 0, 100), 50);
        std::env::set_var("STRAND_TEST_ENV_NUMBER_ZERO", " 0 ");
        assert_eq!(env_number("STRAND_TEST_ENV_NUMBER_ZERO", 50, 0, 100), 0);
        assert_eq!(env_threads("STRAND_TEST_ENV_NUMBER_ZERO", 2, 16), 1);
        std::env::set_var("STRAND_TEST_ENV_NUMBER_BIG", "5000");
        assert_eq!(env_number("STRAND_TEST_ENV_NUMBER_BIG", 50, 0, 100), 100);
        assert_eq!(env_threads("STRAND_TEST_ENV_NUMBER_BIG", 2, 16), 16);
        std::env::set_var("STRAND_TEST_ENV_NUMBER_BAD", "-3");
        assert_eq!(env_number("STRAND_TEST_ENV_NUMBER_BAD", 50, 0, 100), 50);
        assert_eq!(env_threads("STRAND_TEST_ENV_NUMBER_BAD", 2, 16), 2);
    }
}
