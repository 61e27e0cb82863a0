//! Every environment variable goshift reads, in one place.

/// The registry of environment variables. Code reads variables by these names only, so this
/// list is the complete documentation of goshift's environment.
#[derive(Debug)]
pub struct EnvVars;

impl EnvVars {
    /// goshift's home: the toolchain store, audit log and lock. Default
    /// `$XDG_DATA_HOME/goshift`, else `~/.local/share/goshift`.
    pub const GOSHIFT_HOME: &'static str = "GOSHIFT_HOME";
    /// goshift's cache: verified archives kept for reinstalls without download. Default
    /// `$XDG_CACHE_HOME/goshift`, else `~/.cache/goshift`.
    pub const GOSHIFT_CACHE_DIR: &'static str = "GOSHIFT_CACHE_DIR";
    /// The release index URL (`https://…`, `file://…`, or loopback `http://…`). Default
    /// `https://go.dev/dl/?mode=json&include=all`.
    pub const GOSHIFT_INDEX_URL: &'static str = "GOSHIFT_INDEX_URL";
    /// Base URL archives are downloaded from instead of the index's host. Hashes still come
    /// from the index.
    pub const GOSHIFT_MIRROR: &'static str = "GOSHIFT_MIRROR";
    /// Allows plain `http://` URLs that are not loopback when set to `1`.
    pub const GOSHIFT_ALLOW_HTTP: &'static str = "GOSHIFT_ALLOW_HTTP";
    /// How long to wait for the store lock, in seconds or a duration like `30s`. Default 60s.
    pub const GOSHIFT_LOCK_TIMEOUT: &'static str = "GOSHIFT_LOCK_TIMEOUT";
    /// The longest reading the release index may take, all of it, a duration like `30s`.
    /// Default 60s.
    pub const GOSHIFT_INDEX_TIMEOUT: &'static str = "GOSHIFT_INDEX_TIMEOUT";
    /// The longest a download may take, a duration like `20m`. Default 1h.
    pub const GOSHIFT_DOWNLOAD_TIMEOUT: &'static str = "GOSHIFT_DOWNLOAD_TIMEOUT";
    /// The slowest average rate a download may keep, in bytes per second, checked from 10
    /// seconds in; `0` turns the check off. Default 4096.
    pub const GOSHIFT_DOWNLOAD_MIN_RATE: &'static str = "GOSHIFT_DOWNLOAD_MIN_RATE";
    /// Forces the Go version the `go` proxy runs (exact version).
    pub const GOSHIFT_GO_VERSION: &'static str = "GOSHIFT_GO_VERSION";
    /// The machine's environment name for policy evaluation (`prod`, `ci`, …).
    pub const GOSHIFT_ENV: &'static str = "GOSHIFT_ENV";
    /// Path of the policy file.
    pub const GOSHIFT_POLICY: &'static str = "GOSHIFT_POLICY";
    /// Platform override for installs, as `GOOS/GOARCH` (e.g. `linux/arm64`). Default: this
    /// machine.
    pub const GOSHIFT_PLATFORM: &'static str = "GOSHIFT_PLATFORM";
    /// Test-only: the name of a store phase (`staged`, `unpacked`, `smoke-tested`,
    /// `manifest-written`, `published`, `default-switched`, `history-written`, `removed`) at
    /// which a mutating command stops and waits to be killed, after printing `paused at
    /// <phase>` to stderr. The crash tests use it to kill at exact points. Added in 0.1.0.
    pub const GOSHIFT_TEST_PAUSE: &'static str = "GOSHIFT_TEST_PAUSE";
    /// The supervisor's service file for `goshift supervise`. Default
    /// `$XDG_CONFIG_HOME/goshift/supervisor.toml`.
    pub const GOSHIFT_SUPERVISOR_CONFIG: &'static str = "GOSHIFT_SUPERVISOR_CONFIG";
    /// The supervisor's control socket. Default `$GOSHIFT_HOME/run/supervisor.sock`.
    pub const GOSHIFT_SUPERVISOR_SOCKET: &'static str = "GOSHIFT_SUPERVISOR_SOCKET";
    /// Set by a supervisor for the new process of its own re-exec (`goshift supervise
    /// --reload`, `SIGHUP`): the descriptor of the sealed state it hands over. Not to be set
    /// by hand.
    pub const GOSHIFT_HANDOFF_FD: &'static str = "GOSHIFT_HANDOFF_FD";
    /// The service manager's notification socket (set by systemd for `Type=notify`); the
    /// supervisor reports `READY=1`, `RELOADING=1`, `STOPPING=1` and `STATUS=` there.
    pub const NOTIFY_SOCKET: &'static str = "NOTIFY_SOCKET";
    /// systemd socket activation: how many listening sockets were passed to `goshift
    /// supervise`, from fd 3 (with `LISTEN_PID` and `LISTEN_FDNAMES`).
    pub const LISTEN_FDS: &'static str = "LISTEN_FDS";
    /// systemd socket activation: the process the sockets of `LISTEN_FDS` are for.
    pub const LISTEN_PID: &'static str = "LISTEN_PID";
    /// systemd socket activation: the names of the sockets of `LISTEN_FDS`, colon-separated
    /// (`SERVICE.LISTENER` to match a listener of the service file).
    pub const LISTEN_FDNAMES: &'static str = "LISTEN_FDNAMES";
    /// Proxy for downloads from remote hosts (`http://host:port`); never used for loopback
    /// mirrors.
    pub const HTTPS_PROXY: &'static str = "HTTPS_PROXY";
    /// Go's own toolchain selection, honoured by the `go` proxy while resolving.
    pub const GOTOOLCHAIN: &'static str = "GOTOOLCHAIN";
    /// Go's workspace file: `off` ignores go.work, a path names it. Honoured by the `go`
    /// proxy while resolving.
    pub const GOWORK: &'static str = "GOWORK";
    /// Go's root directory. The `go` proxy sets it for the toolchain it runs; `goshift
    /// doctor` reports a stale value in the environment.
    pub const GOROOT: &'static str = "GOROOT";
    /// Go's workspace for installed commands; `goshift doctor` checks `$GOPATH/bin` is on
    /// `PATH`.
    pub const GOPATH: &'static str = "GOPATH";
    /// Go's module cache (default `$GOPATH/pkg/mod`); `goshift gate` reads dependencies'
    /// go.mod files there.
    pub const GOMODCACHE: &'static str = "GOMODCACHE";
    /// The file `go env -w` writes to; `goshift doctor` reads it for a stored `GOTOOLCHAIN`.
    pub const GOENV: &'static str = "GOENV";
    /// Whether cgo is on; `goshift doctor` checks a C compiler exists when it is.
    pub const CGO_ENABLED: &'static str = "CGO_ENABLED";
    /// The C compiler cgo uses.
    pub const CC: &'static str = "CC";
    /// How many times the `go` proxy has exec'd in this chain of processes. Set by the proxy
    /// for its child; past 100 the proxy stops, because a toolchain's `go` that leads back
    /// to the proxy would otherwise loop forever.
    pub const GOSHIFT_PROXY_DEPTH: &'static str = "GOSHIFT_PROXY_DEPTH";
    /// Set by the `goshift` shell function of `goshift init` (to `bash` or `zsh`) for the
    /// goshift it runs: `goshift doctor` then knows the shell forgets a remembered `go`.
    pub const GOSHIFT_SHELL_HOOK: &'static str = "GOSHIFT_SHELL_HOOK";
    /// `debug` turns on goshift's `debug:` lines on stderr, as `-v` does (`off` or unset: none).
    pub const GOSHIFT_LOG: &'static str = "GOSHIFT_LOG";
    /// The user's shell, for the hint of `goshift doctor`.
    pub const SHELL: &'static str = "SHELL";
    /// Disables colour when set to anything non-empty.
    pub const NO_COLOR: &'static str = "NO_COLOR";
    /// The user's home directory.
    pub const HOME: &'static str = "HOME";
    /// XDG data directory.
    pub const XDG_DATA_HOME: &'static str = "XDG_DATA_HOME";
    /// XDG config directory.
    pub const XDG_CONFIG_HOME: &'static str = "XDG_CONFIG_HOME";
    /// XDG cache directory.
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";
    /// Directories searched for executables.
    pub const PATH: &'static str = "PATH";
}
