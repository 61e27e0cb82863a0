//! Any bytes: reading a function table must return, whatever offsets a fake header holds, and
//! every function it reports must have a package and a symbol.
#![no_main]

use goshift_binary::symbols::symbols_from_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(symbols) = symbols_from_bytes(data) {
        for name in symbols.names() {
            assert!(name.contains('.'), "{name}");
        }
    }
});
