//! Per-project Go: go.mod, go.work, `.go-version` and `.tool-versions` files, and which toolchain runs where.
//!
//! [`parse_go_mod`] and [`parse_go_work`] are the one parser of Go's module files, shared by
//! toolchain resolution, `goshift mod` and the CI gate. [`resolve`] applies goshift's
//! resolution rules to a directory and returns a [`Resolution`]: the version and the
//! [`Source`] that chose it. [`default_godebug`] applies Go's rules for a main package's
//! default GODEBUG to a toolchain's [`GodebugTable`], and [`impact`] turns the facts about an
//! upgrade into a report and a verdict. The crate does no I/O of its own: files are read through a
//! closure, installed versions come from a [`Toolchains`] implementation.
//!
//! ```
//! use std::path::Path;
//! use goshift_project::{parse_go_mod, resolve, Request, Selection, Toolchains};
//! use goshift_version::GoVersion;
//!
//! let file = parse_go_mod(Path::new("go.mod"), "module example.com/m\n\ngo 1.22\n").unwrap();
//! assert_eq!(file.go.unwrap().version.to_string(), "1.22");
//!
//! struct Store;
//! impl Toolchains for Store {
//!     fn default_version(&mut self) -> Option<GoVersion> { "1.21.13".parse().ok() }
//!     fn installed(&mut self) -> Vec<GoVersion> {
//!         vec!["1.21.13".parse().unwrap(), "1.22.10".parse().unwrap()]
//!     }
//! }
//! let mut read = |path: &Path| -> std::io::Result<Option<String>> {
//!     Ok((path == Path::new("/p/go.mod")).then(|| "module m\ngo 1.22\n".to_owned()))
//! };
//! let request = Request {
//!     go_version: None,
//!     gotoolchain: None,
//!     gotoolchain_file: None,
//!     gowork: None,
//!     selection: Selection::NewestInstalled,
//!     start: Path::new("/p"),
//! };
//! let resolution = resolve(&request, &mut read, &mut Store).unwrap();
//! assert_eq!(resolution.version.to_string(), "1.22.10");
//! ```
#![warn(missing_docs)]

mod discover;
mod go_version_file;
mod godebug;
mod gotoolchain;
pub mod impact;
mod lex;
mod modfile;
mod resolve;
pub mod tool_versions;

pub use discover::{FoundFile, GoWorkSetting, ProjectFiles, ReadError, discover};
pub use go_version_file::{GoVersionFileError, GoVersionPin, parse_go_version_file};
pub use godebug::{
    DefaultGodebug, GoDebugDirective, GoFileHeader, GodebugOrigin, GodebugOverride, GodebugSetting,
    GodebugTable, GodebugTableError, default_godebug, parse_go_file_header,
};
pub use gotoolchain::{GoToolchain, GoToolchainError};
pub use modfile::{
    FileKind, GoLine, Godebug, ModFile, ModFileError, ModulePath, ModuleVersion, PathLine, Replace,
    ReplaceSide, Require, Retract, ToolchainLine, Use, is_valid_module_version, parse,
    parse_go_mod, parse_go_work,
};
pub use resolve::{
    Directive, GOSHIFT_GO_VERSION, MetBy, Request, Requirement, Resolution, ResolveError,
    Selection, Source, Toolchains, resolve, show_path,
};
