//! Error types: one enum per concern, each variant naming what failed and carrying the data.

use std::io;
use std::path::PathBuf;

/// A service file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read the service file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("the service file is invalid: {message}")]
    Syntax {
        /// The parser's message, with line and column.
        message: String,
    },
    /// The `[services.NAME.analysis]` section cannot be used.
    #[error("service `{service}`: {source}")]
    Analysis {
        /// The service.
        service: String,
        /// What is wrong with the section.
        #[source]
        source: crate::analysis::AnalysisError,
    },
    /// No `[services.NAME]` table.
    #[error("the service file defines no services (add a `[services.NAME]` table)")]
    NoServices,
    /// A service name with characters other than letters, digits, `-` and `_`.
    #[error("service name `{name}` is invalid: use letters, digits, `-` and `_`")]
    BadServiceName {
        /// The name.
        name: String,
    },
    /// A listener name that is empty, too long or contains `:` or spaces.
    #[error(
        "service `{service}`: listener name `{name}` is invalid (1 to 255 printable characters, no `:` or spaces)"
    )]
    BadListenerName {
        /// The service.
        service: String,
        /// The name.
        name: String,
    },
    /// `admin = "NAME"` with a name `LISTEN_FDNAMES` cannot carry.
    #[error(
        "service `{service}`: admin listener name `{name}` is invalid (1 to 255 printable characters, no `:` or spaces)"
    )]
    BadAdminName {
        /// The service.
        service: String,
        /// The name.
        name: String,
    },
    /// The admin listener would be passed under a listener's name.
    #[error(
        "service `{service}`: the admin listener's name `{name}` is also a listener's name (rename the listener, or set `admin = \"OTHER\"`)"
    )]
    AdminNameTaken {
        /// The service.
        service: String,
        /// The name.
        name: String,
    },
    /// `admin = false` with a probe that needs the admin listener.
    #[error(
        "service `{service}`: `ready.http` and `ready.tcp` probe the admin listener, which `admin = false` turns off (remove `admin = false`, or use `ready.notify` alone)"
    )]
    AdminNeeded {
        /// The service.
        service: String,
    },
    /// Two listeners with one name.
    #[error("service `{service}`: listener `{name}` is defined twice")]
    DuplicateListener {
        /// The service.
        service: String,
        /// The name.
        name: String,
    },
    /// An address that does not parse.
    #[error(
        "`{field}`: `{address}` is not a listen address (use `tcp://IP:PORT`, `tcp://[IPv6]:PORT` or `unix:/path`)"
    )]
    BadAddress {
        /// Where in the file.
        field: String,
        /// The text.
        address: String,
    },
    /// A Unix socket mode that is not octal.
    #[error("service `{service}`: mode `{mode}` is not an octal file mode like `0660`")]
    BadMode {
        /// The service.
        service: String,
        /// The text.
        mode: String,
    },
    /// A duration that does not parse.
    #[error(
        "service `{service}`: `{field}` = `{value}` is not a duration ({reason}); write e.g. `500ms` or `30s`"
    )]
    BadDuration {
        /// The service.
        service: String,
        /// The field.
        field: String,
        /// The text.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// `bake` set to zero.
    #[error(
        "service `{service}`: `bake` = `{value}` is zero; remove `bake` to stop the old generation as soon as the new one is ready, or give a period such as `10s`"
    )]
    ZeroBake {
        /// The service.
        service: String,
        /// The text.
        value: String,
    },
    /// An unknown or refused stop signal.
    #[error(
        "service `{service}`: stop signal `{signal}` is not allowed (use SIGTERM, SIGINT, SIGHUP, SIGUSR1 or SIGUSR2; SIGQUIT makes Go dump its stacks)"
    )]
    BadSignal {
        /// The service.
        service: String,
        /// The text.
        signal: String,
    },
    /// A probe path that does not start with `/`.
    #[error("service `{service}`: probe path `{path}` must start with `/`")]
    BadProbePath {
        /// The service.
        service: String,
        /// The path.
        path: String,
    },
    /// All readiness sources are off.
    #[error(
        "service `{service}`: no readiness source (set `ready.notify`, `ready.http` or `ready.tcp`)"
    )]
    NoReadiness {
        /// The service.
        service: String,
    },
}

/// A binary that cannot become a release, or a release store problem.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The binary is missing or unreadable.
    #[error("failed to read the binary `{}`", path.display())]
    Read {
        /// The binary.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No execute permission.
    #[error("`{}` is not executable (mode {mode:o}); run `chmod +x` on it", path.display())]
    NotExecutable {
        /// The binary.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// Neither an ELF executable nor a `#!` script.
    #[error("`{}` is not an executable program: {reason}", path.display())]
    NotAProgram {
        /// The binary.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An ELF for another OS or architecture.
    #[error("`{}` is built for {found}, but this machine runs {expected}", path.display())]
    WrongPlatform {
        /// The binary.
        path: PathBuf,
        /// What the ELF header says.
        found: String,
        /// What this machine is.
        expected: String,
    },
    /// The binary's bytes changed between hashing and copying.
    #[error(
        "`{}` changed while it was being staged; stage it again once it is completely written",
        path.display()
    )]
    Changed {
        /// The binary.
        path: PathBuf,
    },
    /// No release with that id.
    #[error("service `{service}` has no release `{id}`")]
    UnknownRelease {
        /// The service.
        service: String,
        /// The id.
        id: String,
    },
    /// The store could not be written or read.
    #[error("failed to update the release store at `{}`", path.display())]
    Store {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The supervisor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound.
    #[error("service `{service}`: failed to listen on `{address}`")]
    Bind {
        /// The service.
        service: String,
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A release problem (missing binary, wrong platform…).
    #[error("service `{service}`: the binary cannot be used")]
    Release {
        /// The service.
        service: String,
        /// The cause.
        #[source]
        source: ReleaseError,
    },
    /// Another supervisor already owns the control socket.
    #[error("another supervisor is running on the control socket `{}`", path.display())]
    AlreadyRunning {
        /// The socket.
        path: PathBuf,
    },
    /// The sockets the service manager passed cannot be used.
    #[error("the sockets passed by the service manager cannot be used")]
    Activation {
        /// The cause.
        #[source]
        source: ActivationError,
    },
    /// The state a predecessor handed over by re-exec cannot be adopted.
    #[error("the handoff from the previous supervisor process cannot be adopted: {message}")]
    Handoff {
        /// Why.
        message: String,
    },
    /// The run directory, control socket or metrics listener could not be set up.
    #[error("failed to set up `{what}`")]
    Setup {
        /// What.
        what: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Talking to a running supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing listens on the control socket.
    #[error("no supervisor is listening on `{}`", path.display())]
    NotRunning {
        /// The socket.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The connection broke or the answer was not understood.
    #[error("the supervisor's answer could not be read")]
    Protocol {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The supervisor refused the request.
    #[error("{message}")]
    Refused {
        /// Its message.
        message: String,
    },
}

/// Sockets passed by the service manager (`LISTEN_FDS`) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` is not a count.
    #[error("LISTEN_FDS is `{value}`, not a count of descriptors (check the unit's sockets)")]
    BadCount {
        /// The text.
        value: String,
    },
    /// `LISTEN_FDNAMES` does not name every descriptor.
    #[error(
        "LISTEN_FDNAMES `{names}` does not name exactly the {count} descriptors of LISTEN_FDS (check FileDescriptorName= in the socket units)"
    )]
    NameCount {
        /// `LISTEN_FDS`.
        count: usize,
        /// The text.
        names: String,
    },
    /// A descriptor `LISTEN_FDS` counts is not open.
    #[error("fd {fd} is counted in LISTEN_FDS but is not open")]
    NotOpen {
        /// The descriptor.
        fd: i32,
    },
    /// A descriptor could not be inspected.
    #[error("failed to inspect the passed socket `{name}`")]
    Socket {
        /// Its name.
        name: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A passed socket does not listen where the service file says.
    #[error(
        "the socket passed as `{name}` is {actual}, but the service file says `{expected}` (make the socket unit's ListenStream= and the service file agree)"
    )]
    Mismatch {
        /// Its name.
        name: String,
        /// What it is.
        actual: String,
        /// What the service file says.
        expected: String,
    },
}
