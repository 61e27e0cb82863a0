//! Archive fixtures: a raw tar.gz builder and a tiny fake Go distribution.
//!
//! [`TarBuilder`] writes tar headers byte by byte, so it can produce the hostile entries a
//! well-behaved tar library refuses to create (absolute paths, `..`, links leaving the root,
//! device files). [`FakeGo`] builds a Go distribution small enough for every test: its
//! `go/bin/go` is a POSIX shell script that answers `go version`, `go env` and `go build`.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Tar entry type flags (POSIX ustar `typeflag`).
pub mod kind {
    /// Regular file.
    pub const FILE: u8 = b'0';
    /// Hard link.
    pub const HARD_LINK: u8 = b'1';
    /// Symbolic link.
    pub const SYMLINK: u8 = b'2';
    /// Character device.
    pub const CHAR_DEVICE: u8 = b'3';
    /// Block device.
    pub const BLOCK_DEVICE: u8 = b'4';
    /// Directory.
    pub const DIR: u8 = b'5';
    /// FIFO.
    pub const FIFO: u8 = b'6';
}

/// Builds a tar archive entry by entry, without validating anything.
#[derive(Debug, Clone, Default)]
pub struct TarBuilder {
    data: Vec<u8>,
}

impl TarBuilder {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory entry.
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        self.entry(kind::DIR, path, "", mode, b"")
    }

    /// Adds a regular file.
    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) -> &mut Self {
        self.entry(kind::FILE, path, "", mode, contents)
    }

    /// Adds a symbolic link `path -> target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.entry(kind::SYMLINK, path, target, 0o777, b"")
    }

    /// Adds a hard link `path` to the earlier entry `target` (an archive path).
    pub fn hard_link(&mut self, path: &str, target: &str) -> &mut Self {
        self.entry(kind::HARD_LINK, path, target, 0o644, b"")
    }

    /// Adds any entry. Paths and link names longer than 100 bytes get a GNU long-name
    /// entry first.
    pub fn entry(
        &mut self,
        typeflag: u8,
        path: &str,
        link: &str,
        mode: u32,
        contents: &[u8],
    ) -> &mut Self {
        if link.len() > 100 {
            self.long_name(b'K', link);
        }
        if path.len() > 100 {
            self.long_name(b'L', path);
        }
        let header = header(
            typeflag,
            path.as_bytes(),
            link.as_bytes(),
            mode,
            contents.len(),
        );
        self.data.extend_from_slice(&header);
        self.push_padded(contents);
        self
    }

    /// Appends raw bytes (for corrupt-header tests).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.data.extend_from_slice(bytes);
        self
    }

    /// The archive with its end-of-archive marker (two zero blocks).
    pub fn tar(&self) -> Vec<u8> {
        let mut data = self.data.clone();
        data.extend_from_slice(&[0; 1024]);
        data
    }

    /// The archive without an end-of-archive marker.
    pub fn tar_unterminated(&self) -> Vec<u8> {
        self.data.clone()
    }

    /// The terminated archive, gzip-compressed.
    pub fn tar_gz(&self) -> Vec<u8> {
        gzip(&self.tar())
    }

    fn long_name(&mut self, typeflag: u8, name: &str) {
        let mut contents = name.as_bytes().to_vec();
        contents.push(0);
        let header = header(typeflag, b"././@LongLink", b"", 0o644, contents.len());
        self.data.extend_from_slice(&header);
        self.push_padded(&contents);
    }

    fn push_padded(&mut self, contents: &[u8]) {
        self.data.extend_from_slice(contents);
        let padding = (512 - contents.len() % 512) % 512;
        self.data.extend(std::iter::repeat_n(0, padding));
    }
}

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// One 512-byte ustar header. Names are truncated to their field; long ones are carried by
/// the preceding GNU long-name entry.
fn header(typeflag: u8, path: &[u8], link: &[u8], mode: u32, size: usize) -> [u8; 512] {
    let mut block = [0u8; 512];
    let put = |block: &mut [u8; 512], offset: usize, width: usize, value: &[u8]| {
        let len = value.len().min(width);
        block[offset..offset + len].copy_from_slice(&value[..len]);
    };
    let octal = |value: u64, width: usize| format!("{value:0>w$o}\0", w = width - 1).into_bytes();
    put(&mut block, 0, 100, path);
    put(&mut block, 100, 8, &octal(u64::from(mode), 8));
    put(&mut block, 108, 8, &octal(0, 8));
    put(&mut block, 116, 8, &octal(0, 8));
    put(&mut block, 124, 12, &octal(size as u64, 12));
    put(&mut block, 136, 12, &octal(1_700_000_000, 12));
    block[156] = typeflag;
    put(&mut block, 157, 100, link);
    put(&mut block, 257, 8, b"ustar\x0000");
    put(&mut block, 265, 32, b"root");
    put(&mut block, 297, 32, b"root");
    // The checksum is computed with its own field read as spaces.
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    put(&mut block, 148, 8, format!("{sum:06o}\0 ").as_bytes());
    block
}

/// The platform of this machine in Go's names, as go.dev archive names spell it.
pub fn host_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "armv6l",
        other => other,
    };
    (os, arch)
}

/// A fake Go distribution, `fake_go("1.22.10")` for the plain one.
///
/// `go/bin/go` is a shell script:
/// - `go version` prints `go version go1.22.10 linux/amd64` (the host platform);
/// - `go env KEY…` prints `GOROOT` (the real directory above `bin/`), `GOVERSION`, `GOOS`,
///   `GOARCH`, `GOPATH`, `GOCACHE`, `GOMODCACHE`, `GOTOOLCHAIN`, `GOFLAGS`, `GOPROXY`, `CGO_ENABLED`,
///   one per line; `go env` alone prints them all as `KEY='value'`;
/// - `go build [-o OUT] [PKG]` in a directory with `go.mod` writes an executable script
///   printing `hello from go1.22.10`; `go run .` prints that line itself;
/// - anything else fails with exit status 2.
#[derive(Debug, Clone)]
#[must_use]
pub struct FakeGo {
    version: String,
    reported: Option<String>,
    build_fails: bool,
    version_file: Option<String>,
}

/// The archive of a working fake Go `version` (`1.22.10` or `go1.22.10`).
pub fn fake_go(version: &str) -> Vec<u8> {
    FakeGo::new(version).archive()
}

impl FakeGo {
    /// A working fake of Go `version`.
    pub fn new(version: &str) -> Self {
        Self {
            version: version.trim_start_matches("go").to_owned(),
            reported: None,
            build_fails: false,
            version_file: None,
        }
    }

    /// Makes `go version` and `go env GOVERSION` report another version (a broken smoke test).
    pub fn reporting(mut self, version: &str) -> Self {
        self.reported = Some(version.trim_start_matches("go").to_owned());
        self
    }

    /// Makes `go build` and `go run` fail.
    pub fn failing_build(mut self) -> Self {
        self.build_fails = true;
        self
    }

    /// Replaces the contents of `go/VERSION`.
    pub fn version_file(mut self, contents: &str) -> Self {
        self.version_file = Some(contents.to_owned());
        self
    }

    /// The entries of the distribution, to extend before packing.
    pub fn tar(&self) -> TarBuilder {
        let mut tar = TarBuilder::new();
        let version_file = self
            .version_file
            .clone()
            .unwrap_or_else(|| format!("go{}\ntime 2024-12-03T17:13:05Z\n", self.version));
        tar.dir("go/", 0o755)
            .file("go/VERSION", 0o644, version_file.as_bytes())
            .file("go/LICENSE", 0o644, b"Fake Go distribution for tests.\n")
            .dir("go/bin/", 0o755)
            .file("go/bin/go", 0o755, self.go_script().as_bytes())
            .file("go/bin/gofmt", 0o755, GOFMT_SCRIPT.as_bytes())
            .dir("go/src/", 0o755)
            .dir("go/src/fmt/", 0o755)
            .file(
                "go/src/fmt/print.go",
                0o644,
                b"package fmt\n\nfunc Println(a ...any) {}\n",
            )
            .file(
                "go/src/runtime/extern.go",
                0o644,
                b"package runtime\n\nfunc GOROOT() string { return \"\" }\n",
            )
            .dir("go/pkg/", 0o755)
            .file("go/pkg/include/asm_ppc64x.h", 0o644, b"// header\n");
        tar
    }

    /// The distribution as a `.tar.gz`.
    pub fn archive(&self) -> Vec<u8> {
        self.tar().tar_gz()
    }

    fn go_script(&self) -> String {
        let (os, arch) = host_platform();
        let reported = self.reported.as_deref().unwrap_or(&self.version);
        GO_SCRIPT
            .replace("@REPORTED@", &format!("go{reported}"))
            .replace("@GOOS@", os)
            .replace("@GOARCH@", arch)
            .replace("@BUILD_FAILS@", if self.build_fails { "1" } else { "0" })
    }
}

const GO_SCRIPT: &str = r#"#!/bin/sh
# A stand-in for the go command, used by goshift's tests.
set -eu
GOROOT=$(cd "$(dirname "$0")/.." && pwd -P)
REPORTED='@REPORTED@'
GOOS='@GOOS@'
GOARCH='@GOARCH@'
BUILD_FAILS='@BUILD_FAILS@'

env_value() {
    case "$1" in
        GOROOT) echo "$GOROOT" ;;
        GOVERSION) echo "$REPORTED" ;;
        GOOS) echo "$GOOS" ;;
        GOARCH) echo "$GOARCH" ;;
        GOPATH) echo "${GOPATH:-${HOME:-/nonexistent}/go}" ;;
        GOCACHE) echo "${GOCACHE:-${HOME:-/nonexistent}/.cache/go-build}" ;;
        GOMODCACHE) echo "${GOMODCACHE:-${GOPATH:-${HOME:-/nonexistent}/go}/pkg/mod}" ;;
        GOTOOLCHAIN) echo "${GOTOOLCHAIN:-auto}" ;;
        GOFLAGS) echo "${GOFLAGS:-}" ;;
        GOPROXY) echo "${GOPROXY:-https://proxy.golang.org,direct}" ;;
        CGO_ENABLED) echo "0" ;;
        *) echo "" ;;
    esac
}

hello() {
    printf '#!/bin/sh\necho "hello from %s"\n' "$REPORTED"
}

need_module() {
    if [ ! -f go.mod ]; then
        echo "go: go.mod file not found in current directory or any parent directory" >&2
        exit 1
    fi
    if [ "$BUILD_FAILS" = 1 ]; then
        echo "fake go: build failed on purpose" >&2
        exit 1
    fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
    version)
        echo "go version $REPORTED $GOOS/$GOARCH"
        ;;
    env)
        if [ $# -eq 0 ]; then
            for key in GOARCH GOCACHE GOFLAGS GOMODCACHE GOOS GOPATH GOPROXY GOROOT GOTOOLCHAIN GOVERSION CGO_ENABLED; do
                echo "$key='$(env_value "$key")'"
            done
        else
            for key in "$@"; do
                env_value "$key"
            done
        fi
        ;;
    build)
        need_module
        out=$(basename "$PWD")
        while [ $# -gt 0 ]; do
            case "$1" in
                -o) out=$2; shift 2 ;;
                -o=*) out=${1#-o=}; shift ;;
                *) shift ;;
            esac
        done
        hello > "$out"
        chmod 755 "$out"
        ;;
    run)
        need_module
        echo "hello from $REPORTED"
        ;;
    *)
        echo "go $command: unknown command" >&2
        echo "Run 'go help' for usage." >&2
        exit 2
        ;;
esac
"#;

const GOFMT_SCRIPT: &str = r#"#!/bin/sh
# A stand-in for gofmt: copies its input.
if [ $# -eq 0 ]; then
    exec cat
fi
for file in "$@"; do
    case "$file" in
        -*) ;;
        *) cat "$file" ;;
    esac
done
"#;
