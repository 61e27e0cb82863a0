//! The `bin/` directory: `go`, `gofmt` and `go<version>` links to the goshift executable.
//!
//! The `go` proxy behind these names resolves which toolchain to run; this module only keeps
//! the set of names equal to the set of installed versions. Each link is replaced atomically
//! and only when it differs, so readers always find a working name.

use std::path::Path;

use goshift_fs::fs;
use goshift_version::GoVersion;

use crate::error::{IoContext, StoreError};
use crate::layout::{Store, StoreLock};

impl Store {
    /// Makes `bin/go`, `bin/gofmt` and `bin/go<version>` (one per installed version) links
    /// to `goshift_exe`, and removes `bin/go<version>` links of versions no longer installed.
    pub fn refresh_links(&self, _lock: &StoreLock, goshift_exe: &Path) -> Result<(), StoreError> {
        let bin = self.bin_dir();
        goshift_fs::ensure_private_dir(&bin).at("create the directory", &bin)?;
        let installed = self.installed_versions()?;
        let mut wanted: Vec<String> = vec!["go".to_owned(), "gofmt".to_owned()];
        wanted.extend(installed.iter().map(GoVersion::toolchain_name));
        for name in &wanted {
            let link = bin.join(name);
            let current = fs::read_link(&link).ok();
            if current.as_deref() != Some(goshift_exe) {
                goshift_fs::replace_symlink(goshift_exe, &link).at("link", &link)?;
            }
        }
        for entry in fs::read_dir(&bin).at("list", &bin)? {
            let entry = entry.at("list", &bin)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_version_link = name
                .strip_prefix("go")
                .is_some_and(|v| GoVersion::parse(v).is_ok());
            if is_version_link
                && !wanted.contains(&name)
                && entry.file_type().at("inspect", entry.path())?.is_symlink()
            {
                fs::remove_file(entry.path()).at("remove", entry.path())?;
            }
        }
        Ok(())
    }
}
