//! Classic BPF programs for the socket filter, compiled from tcpdump syntax by libpcap
//! (`pcap_open_dead` for Ethernet, `pcap_compile`), whose few functions are declared here.
//!
//! libpcap is loaded at run time, the first time a filter is compiled, not linked: building
//! wiretape needs no libpcap development package, and the binary runs where libpcap is not
//! installed, as long as no `--filter` is asked for. A filter without libpcap is a
//! [`SourceError::Config`] that says which package provides it.

use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::sync::{Mutex, OnceLock};

use crate::source::SourceError;

/// One classic BPF instruction (`struct sock_filter`, `struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A classic BPF program for `SO_ATTACH_FILTER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfProgram(pub Vec<BpfInsn>);

/// `BPF_RET | BPF_K`: return the constant `k` (bytes to keep; 0 drops the packet).
const BPF_RET_K: u16 = 0x06;

/// The kernel's limit on a classic program's length (`BPF_MAXINSNS`, linux/bpf_common.h).
pub(super) const BPF_MAXINSNS: usize = 4096;

impl BpfProgram {
    /// Accepts every packet, keeping at most `snaplen` bytes.
    pub fn accept_all(snaplen: u32) -> Self {
        BpfProgram(vec![BpfInsn {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: snaplen,
        }])
    }

    /// Drops every packet.
    pub fn drop_all() -> Self {
        Self::accept_all(0)
    }

    /// The instructions as the kernel's `struct sock_filter`s.
    pub(super) fn to_sock_filters(&self) -> Vec<libc::sock_filter> {
        self.0
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect()
    }
}

/// `DLT_EN10MB` (pcap/dlt.h).
const DLT_EN10MB: c_int = 1;
/// `PCAP_NETMASK_UNKNOWN` (pcap/pcap.h): `ip broadcast` is refused rather than guessed.
const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// `struct bpf_program` (pcap/bpf.h).
#[repr(C)]
struct PcapBpfProgram {
    bf_len: c_uint,
    bf_insns: *mut BpfInsn,
}

/// `pcap_t`, opaque.
#[repr(C)]
struct PcapT {
    _private: [u8; 0],
}

/// The libpcap functions the compiler needs, resolved from the shared library.
struct Libpcap {
    open_dead: unsafe extern "C" fn(linktype: c_int, snaplen: c_int) -> *mut PcapT,
    compile: unsafe extern "C" fn(
        p: *mut PcapT,
        fp: *mut PcapBpfProgram,
        expr: *const c_char,
        optimize: c_int,
        netmask: u32,
    ) -> c_int,
    freecode: unsafe extern "C" fn(fp: *mut PcapBpfProgram),
    geterr: unsafe extern "C" fn(p: *mut PcapT) -> *mut c_char,
    close: unsafe extern "C" fn(p: *mut PcapT),
    /// Keeps the library mapped for as long as the pointers above are used (forever).
    _lib: libloading::Library,
}

/// The names libpcap's runtime library goes by: Debian's and most distributions' package
/// (`libpcap0.8`) installs `libpcap.so.0.8`; others ship `libpcap.so.1`; the unversioned name
/// comes with the development package.
const LIBPCAP_NAMES: &[&str] = &["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

impl Libpcap {
    fn load() -> Result<Libpcap, String> {
        let mut errors = Vec::new();
        for name in LIBPCAP_NAMES {
            // SAFETY: loading libpcap runs its (trivial) initialisers; it is a C library
            // with no constructors that depend on the process's state.
            match unsafe { libloading::Library::new(*name) } {
                Ok(lib) => return Self::resolve(lib).map_err(|e| format!("{name}: {e}")),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(errors.join("; "))
    }

    fn resolve(lib: libloading::Library) -> Result<Libpcap, libloading::Error> {
        // SAFETY: each symbol is declared with the signature pcap/pcap.h gives it (stable
        // since libpcap 0.8); the pointers are copied out and used only while `_lib` keeps
        // the library loaded.
        unsafe {
            Ok(Libpcap {
                open_dead: *lib.get(b"pcap_open_dead\0")?,
                compile: *lib.get(b"pcap_compile\0")?,
                freecode: *lib.get(b"pcap_freecode\0")?,
                geterr: *lib.get(b"pcap_geterr\0")?,
                close: *lib.get(b"pcap_close\0")?,
                _lib: lib,
            })
        }
    }

    /// libpcap, loaded once; the error says what to install.
    fn get() -> Result<&'static Libpcap, SourceError> {
        static LIB: OnceLock<Result<Libpcap, String>> = OnceLock::new();
        LIB.get_or_init(Libpcap::load).as_ref().map_err(|e| {
            SourceError::Config(format!(
                "a capture filter needs libpcap at run time, which could not be loaded \
                 (install it: `apt install libpcap0.8` on Debian and Ubuntu, \
                 `dnf install libpcap` on Fedora): {e}"
            ))
        })
    }
}

/// libpcap before 1.8 had a compiler with global state; serialise to be safe with any
/// version (compiling is rare and fast).
static COMPILER: Mutex<()> = Mutex::new(());

/// A `pcap_t` from `pcap_open_dead`, closed on drop.
struct DeadHandle(*mut PcapT, &'static Libpcap);

impl Drop for DeadHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from pcap_open_dead, is not null, and is closed once.
        unsafe { (self.1.close)(self.0) };
    }
}

/// Compiles a tcpdump filter expression for Ethernet frames, with libpcap's optimiser and an
/// unknown netmask; every "accept" returns `snaplen`, which is how the kernel is told to cut
/// long packets (AF_PACKET has no other snaplen). The instructions are copied out of
/// libpcap. A syntax error gives [`SourceError::Config`] with libpcap's message.
///
/// The program tests a frame as the kernel holds it when the filter runs, which is not
/// always the frame on the wire: the kernel removes the outer VLAN tag of a received frame
/// before packet sockets see it (the AF_PACKET source puts it back afterwards). So on a live
/// socket `vlan` primitives do not match a received tagged frame, and `udp port 4242` does
/// match one whose payload is UDP to port 4242. libpcap avoids this for its own live handles
/// with BPF extensions (`SKF_AD_VLAN_TAG_PRESENT`) that it only generates for a live Linux
/// handle, not for the dead handle used here. Programs are compiled for Ethernet: on a raw-IP
/// interface (tun) bring your own [`BpfProgram`].
pub fn compile_filter(expr: &str, snaplen: u32) -> Result<BpfProgram, SourceError> {
    let c_expr = CString::new(expr)
        .map_err(|_| SourceError::Config(format!("filter {expr:?}: contains a NUL byte")))?;
    let snaplen = c_int::try_from(snaplen).unwrap_or(c_int::MAX);
    let pcap = Libpcap::get()?;
    let _guard = COMPILER.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: plain constructor; a null return is handled below.
    let handle = unsafe { (pcap.open_dead)(DLT_EN10MB, snaplen) };
    if handle.is_null() {
        return Err(SourceError::Config(format!(
            "filter {expr:?}: pcap_open_dead failed (out of memory)"
        )));
    }
    let handle = DeadHandle(handle, pcap);
    let mut prog = PcapBpfProgram {
        bf_len: 0,
        bf_insns: std::ptr::null_mut(),
    };
    // SAFETY: handle is a live pcap_t, prog a writable bpf_program, c_expr a NUL-terminated
    // string that outlives the call.
    let rc = unsafe {
        (pcap.compile)(
            handle.0,
            &mut prog,
            c_expr.as_ptr(),
            1,
            PCAP_NETMASK_UNKNOWN,
        )
    };
    if rc != 0 {
        // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer, valid until
        // the next libpcap call on the handle; it is copied out at once.
        let msg = unsafe { CStr::from_ptr((pcap.geterr)(handle.0)) }
            .to_string_lossy()
            .into_owned();
        return Err(SourceError::Config(format!("filter {expr:?}: {msg}")));
    }
    let insns = if prog.bf_insns.is_null() || prog.bf_len == 0 {
        Vec::new()
    } else {
        // SAFETY: on success libpcap's bf_insns points at bf_len instructions laid out as
        // `struct bpf_insn`, which BpfInsn mirrors (repr(C): u16, u8, u8, u32).
        unsafe { std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize) }.to_vec()
    };
    // SAFETY: prog was filled by a successful pcap_compile and is freed once.
    unsafe { (pcap.freecode)(&mut prog) };
    Ok(BpfProgram(insns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_all_is_one_return() {
        assert_eq!(
            compile_filter("", 96).unwrap(),
            BpfProgram::accept_all(96),
            "an empty expression accepts everything, cut to the snaplen"
        );
    }

    #[test]
    fn udp_port_program_returns_the_snaplen() {
        let prog = compile_filter("udp and port 4242", 1500).unwrap();
        assert!(prog.0.len() > 5);
        assert!(prog.0.iter().any(|i| i.code == BPF_RET_K && i.k == 1500));
        assert!(prog.0.iter().any(|i| i.code == BPF_RET_K && i.k == 0));
        assert!(prog.0.iter().any(|i| i.k == 4242));
    }

    #[test]
    fn bad_expressions_name_the_expression_and_libpcap_s_reason() {
        let err = compile_filter("bogus syntax ((", 65535)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("filter \"bogus syntax ((\": "), "{err}");
        assert!(err.contains("syntax error"), "{err}");
        let err = compile_filter("a\0b", 65535).unwrap_err().to_string();
        assert!(err.contains("NUL"), "{err}");
    }
}
