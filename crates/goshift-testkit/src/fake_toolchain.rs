//! Fake Go toolchains in a sandbox's store, for tests of resolution and the `go` proxy.
//!
//! A fake toolchain has the store's layout (`toolchains/go<version>/bin/go`, `bin/gofmt`,
//! `VERSION`, and its manifest `manifests/go<version>.json`, without which goshift never runs
//! a tree); its `go` and `gofmt` are shell scripts that print one line:
//! `fake go<version> ARGS… | GOTOOLCHAIN=… GOROOT=… pid=…` (`fake gofmt<version>` for
//! gofmt), then exit with the status in `FAKE_GO_EXIT` (0 when unset). When the first
//! argument is `cat`, they copy stdin to stdout first.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

use crate::TestContext;

impl TestContext {
    /// Creates a fake toolchain `go<version>` in the sandbox's store.
    pub fn fake_toolchain(&self, version: &str) -> PathBuf {
        let root = self.home().join("toolchains").join(format!("go{version}"));
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).expect("failed to create a fake toolchain");
        std::fs::write(
            root.join("VERSION"),
            format!("go{version}\ntime 2024-01-01T00:00:00Z\n"),
        )
        .expect("failed to write VERSION");
        for tool in ["go", "gofmt"] {
            let script = format!(
                "#!/bin/sh\nif [ \"$1\" = cat ]; then cat; fi\necho \"fake {tool}{version} $* | GOTOOLCHAIN=$GOTOOLCHAIN GOROOT=$GOROOT pid=$$\"\nexit \"${{FAKE_GO_EXIT:-0}}\"\n"
            );
            let path = bin.join(tool);
            std::fs::write(&path, script).expect("failed to write a fake tool");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("failed to make a fake tool executable");
        }
        // An imported tree's manifest, with no entries: enough to be installed, and
        // `goshift verify` would name every file as added.
        let manifests = self.home().join("manifests");
        std::fs::create_dir_all(&manifests).expect("failed to create the manifests directory");
        let manifest = serde_json::json!({
            "version": version,
            "source": { "kind": "import", "path": root },
            "verification": "imported",
            "archive_sha256": null,
            "archive_size": null,
            "installed_at": "2024-01-01T00:00:00Z",
            "smoke_test": "skipped",
            "entries": [],
        });
        std::fs::write(
            manifests.join(format!("go{version}.json")),
            format!("{manifest:#}\n"),
        )
        .expect("failed to write a fake manifest");
        root
    }

    /// Points the store's `default` link at `go<version>` (a relative link, as the store
    /// writes it).
    pub fn set_default_toolchain(&self, version: &str) {
        let link = self.home().join("default");
        let _ = std::fs::remove_file(&link);
        symlink(format!("toolchains/go{version}"), &link).expect("failed to link the default");
    }

    /// Creates the proxies `bin/go`, `bin/gofmt` and `bin/go<version>` for each given
    /// version, as links to the goshift executable under test. Returns the `bin` directory.
    pub fn link_proxies(&self, versions: &[&str]) -> PathBuf {
        let bin = self.home().join("bin");
        std::fs::create_dir_all(&bin).expect("failed to create the proxy directory");
        let names = ["go".to_owned(), "gofmt".to_owned()]
            .into_iter()
            .chain(versions.iter().map(|v| format!("go{v}")));
        for name in names {
            let link = bin.join(name);
            let _ = std::fs::remove_file(&link);
            symlink(&self.binary, &link).expect("failed to link a proxy");
        }
        bin
    }

    /// The `PATH` a shell set up by `goshift init` would have: the proxies first.
    pub fn path_with_proxies(&self) -> std::ffi::OsString {
        let system = std::env::var_os("PATH").unwrap_or_default();
        std::env::join_paths(
            std::iter::once(self.home().join("bin")).chain(std::env::split_paths(&system)),
        )
        .expect("PATH entries never contain `:` here")
    }
}

impl TestContext {
    /// A command for any `program` with the same scrubbed environment and working directory
    /// as [`TestContext::command`], plus the proxies first on `PATH`.
    pub fn sandboxed(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let template = self.command();
        let mut command = std::process::Command::new(program);
        command.env_clear();
        for (key, value) in template.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        command.env("PATH", self.path_with_proxies());
        command.current_dir(self.work());
        command
    }
}
