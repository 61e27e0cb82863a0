//! Fuzzes the go.mod and go.work parser: no input may panic it, and what it accepts must be
//! self-consistent (line numbers inside the file, versions that re-parse).
#![no_main]

use std::path::Path;

use goshift_project::{FileKind, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    for kind in [FileKind::GoMod, FileKind::GoWork] {
        match parse(kind, Path::new("go.mod"), text) {
            Ok(file) => {
                let _ = file.go_version(kind);
                if let Some(go) = &file.go {
                    assert!(go.line >= 1 && go.line <= lines);
                }
                if let Some(toolchain) = &file.toolchain {
                    assert!(toolchain.line <= lines);
                    assert!(toolchain.version().is_none_or(|v| v.is_ok()));
                }
                for require in &file.require {
                    assert!(goshift_project::is_valid_module_version(&require.version));
                    assert!(require.line >= 1 && require.line <= lines);
                }
            }
            Err(error) => assert!(error.line >= 1 && error.line <= lines.max(1)),
        }
    }
});
