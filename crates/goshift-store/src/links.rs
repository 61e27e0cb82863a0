//! The `bin/` directory: `go`, `gofmt` and `go<version>` links to the goshift executable.
//!
//! The `go` proxy behind these names resolves which toolchain to run; this module only keeps
//! the set of names equal to the set of installed versions. Each link is replaced atomically
//! and only when it differs, so readers always find a working name.

use std::path::Path;

use goshift_fs::Kind;
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::{Store, StoreLock};

impl Store {
    /// Makes `bin/go`, `bin/gofmt` and `bin/go<version>` (one per installed version) links
    /// to `goshift_exe`, and removes `bin/go<version>` links of versions no longer installed.
    pub fn refresh_links(&self, lock: &StoreLock, goshift_exe: &Path) -> Result<(), StoreError> {
        let bin = &lock.dirs.bin;
        let mut wanted: Vec<String> = vec!["go".to_owned(), "gofmt".to_owned()];
        for name in lock
            .dirs
            .toolchains
            .names()
            .at("list", lock.dirs.toolchains.path())?
        {
            let version = name
                .to_str()
                .and_then(|n| n.strip_prefix("go"))
                .and_then(|v| GoVersion::parse(v).ok());
            if let Some(version) = version
                && lock.dirs.is_installed(&version)?
            {
                wanted.push(version.toolchain_name());
            }
        }
        for name in &wanted {
            let current = bin.read_link(name).ok();
            if current.as_deref() != Some(goshift_exe) {
                bin.replace_symlink(goshift_exe, name)
                    .at("link", bin.join(name))?;
            }
        }
        for (name, kind) in bin.entries().at("list", bin.path())? {
            let Ok(name) = name.into_string() else {
                continue;
            };
            let is_version_link = name
                .strip_prefix("go")
                .is_some_and(|v| GoVersion::parse(v).is_ok());
            if !is_version_link || wanted.contains(&name) {
                continue;
            }
            let path = bin.join(&name);
            let kind = match kind {
                Some(kind) => Some(kind),
                None => bin.entry(&name).at("inspect", &path)?.map(|e| e.kind),
            };
            if kind == Some(Kind::Link) {
                bin.remove_file(&name).at("remove", path)?;
            }
        }
        Ok(())
    }
}
