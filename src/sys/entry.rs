//! The C entry point. `no_main` (see main.rs): the C runtime calls this `main` directly,
//! so argv is read raw, as the C runtime passes it; std's `args` is not set up.

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::OsStringExt;

// Under `cargo test` the test harness brings its own `main`.
#[cfg_attr(not(test), unsafe(export_name = "main"))]
#[cfg_attr(test, allow(dead_code))]
extern "C" fn c_main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    let args = (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the C runtime passes argc valid pointers in argv.
            let arg = unsafe { *argv.wrapping_add(i) };
            // SAFETY: each a valid, NUL-terminated string that lives as long as the process.
            unsafe { CStr::from_ptr(arg) }
        })
        .map(|s| OsString::from_vec(s.to_bytes().to_vec()))
        .collect::<Vec<_>>();
    libc::c_int::from(crate::exit_status(&args))
}
