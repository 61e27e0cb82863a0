//! No function in the workspace is longer than [`LIMIT`] lines (ARCHITECTURE.md, "Tests").

mod scan;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The longest a function may be, from the line of its `fn` to its closing brace.
const LIMIT: usize = 80;

/// What every crate keeps its Rust code in, besides a `build.rs` at its root.
const CODE_DIRS: [&str; 5] = ["src", "tests", "examples", "benches", "fuzz"];

#[test]
fn workspace_functions_fit_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap();
    let files = rust_files(&root);
    let this_file = root.join(file!());
    assert!(
        files.contains(&this_file),
        "the walk of {} missed {}, so it cannot be trusted",
        root.display(),
        this_file.display()
    );
    let long = too_long(&root, &files);
    assert!(
        long.is_empty(),
        "functions over {LIMIT} lines; split each into named steps (STYLE.md):\n{long}"
    );
}

#[test]
fn a_long_function_is_reported_with_its_path_line_name_and_length() {
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("crates/demo/src");
    std::fs::create_dir_all(&src).unwrap();
    // The `fn` line and the closing brace make LIMIT + 1 lines of one and LIMIT of the other.
    let body = "    let _ = 1;\n".repeat(LIMIT - 1);
    let fits = "    let _ = 1;\n".repeat(LIMIT - 2);
    let source = format!("\nfn long() {{\n{body}}}\nfn fits() {{\n{fits}}}\n");
    std::fs::write(src.join("lib.rs"), &source).unwrap();
    let files = rust_files(root.path());

    let long = too_long(root.path(), &files);
    assert_eq!(
        long,
        format!("crates/demo/src/lib.rs:2 long ({} lines)\n", LIMIT + 1)
    );
}

/// One `path:line name (N lines)` line for each function over the limit, with paths
/// relative to `root`.
fn too_long(root: &Path, files: &[PathBuf]) -> String {
    let mut report = String::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap().display().to_string();
        let source = std::fs::read_to_string(file).unwrap();
        let functions = scan::functions(&source).unwrap_or_else(|error| {
            panic!("{relative}: {error}; the matcher in function_length/scan.rs needs a fix")
        });
        for function in functions {
            if function.lines > LIMIT {
                let (line, name, lines) = (function.line, function.name, function.lines);
                writeln!(report, "{relative}:{line} {name} ({lines} lines)").unwrap();
            }
        }
    }
    report
}

/// Every `.rs` file of every crate under `root/crates`, sorted.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in entries(&root.join("crates"))
        .into_iter()
        .filter(|path| path.is_dir())
    {
        for dir in CODE_DIRS {
            collect(&krate.join(dir), &mut files);
        }
        files.extend(entries(&krate).into_iter().filter(|path| is_rust(path)));
    }
    files.sort();
    files
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for path in entries(dir) {
        if path.is_dir() && !path.ends_with("target") {
            collect(&path, files);
        } else if is_rust(&path) {
            files.push(path);
        }
    }
}

/// The entries of `dir`, none when it does not exist.
fn entries(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => panic!("cannot list {}: {error}", dir.display()),
    }
}

fn is_rust(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|extension| extension == "rs")
}
