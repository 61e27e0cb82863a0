//! Where everything lives under the fleet's prefix (see `docs/fleet.md`).
//!
//! ```text
//! <prefix>hosts/<host>                          HostStatus, the last the agent reported
//! <prefix>alive/<host>                          Alive, bound to the agent's lease
//! <prefix>env/<env>/toolchain                   DesiredToolchain
//! <prefix>env/<env>/rollouts/<service>          Rollout (the newest one)
//! <prefix>env/<env>/progress/<host>/<service>   HostProgress in the service's newest rollout
//! <prefix>env/<env>/slots/<service>/<n>         Slot, bound to the holder's lease
//! <prefix>history/<env>/<service>/<id>          Rollout, once replaced by a newer one
//! <prefix>audit/<time>-<user>                   a copy of an operator's audit record
//! ```
//!
//! An agent watches `<prefix>env/<env>/` only: other hosts' status never wakes it. Every key
//! an agent writes alone starts with a prefix that names its host (`hosts/<host>`,
//! `alive/<host>`, `env/<env>/progress/<host>/`), so etcd's role-based access can confine it.

use crate::FleetError;

/// The default prefix.
pub const DEFAULT_PREFIX: &str = "/goshift/";

/// The key layout under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

/// What a key under the prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// A host's status.
    Host {
        /// The host.
        host: String,
    },
    /// A host's liveness key.
    Alive {
        /// The host.
        host: String,
    },
    /// An environment's desired toolchain.
    Toolchain {
        /// The environment.
        environment: String,
    },
    /// A service's rollout in an environment.
    Rollout {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
    },
    /// A host's progress in a rollout.
    Progress {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// The host.
        host: String,
    },
    /// A rollout slot.
    Slot {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// The slot's number.
        number: u32,
    },
    /// A finished rollout.
    History {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
        /// The rollout's id.
        id: String,
    },
    /// A mirrored audit record.
    Audit,
    /// Anything else (ignored).
    Other,
}

impl Keys {
    /// The layout under `prefix`, which must start and end with `/`.
    pub fn new(prefix: &str) -> Result<Self, FleetError> {
        if !prefix.starts_with('/') || !prefix.ends_with('/') || prefix.contains("//") {
            return Err(FleetError::BadName {
                what: "the fleet's key prefix",
                name: prefix.to_owned(),
                reason: "it must start and end with `/`, like `/goshift/`",
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every host's status.
    pub fn hosts(&self) -> String {
        format!("{}hosts/", self.prefix)
    }

    /// A host's status.
    pub fn host(&self, host: &str) -> String {
        format!("{}hosts/{host}", self.prefix)
    }

    /// Every live host's liveness key.
    pub fn alive_all(&self) -> String {
        format!("{}alive/", self.prefix)
    }

    /// A host's liveness key, bound to its agent's lease.
    pub fn alive(&self, host: &str) -> String {
        format!("{}alive/{host}", self.prefix)
    }

    /// Everything an agent of `environment` watches.
    pub fn environment(&self, environment: &str) -> String {
        format!("{}env/{environment}/", self.prefix)
    }

    /// The desired toolchain of an environment.
    pub fn toolchain(&self, environment: &str) -> String {
        format!("{}env/{environment}/toolchain", self.prefix)
    }

    /// The rollout of `service` in `environment`.
    pub fn rollout(&self, environment: &str, service: &str) -> String {
        format!("{}env/{environment}/rollouts/{service}", self.prefix)
    }

    /// A host's progress in the rollout of `service`.
    pub fn progress(&self, environment: &str, service: &str, host: &str) -> String {
        format!("{}env/{environment}/progress/{host}/{service}", self.prefix)
    }

    /// A rollout slot.
    pub fn slot(&self, environment: &str, service: &str, number: u32) -> String {
        format!("{}env/{environment}/slots/{service}/{number}", self.prefix)
    }

    /// The finished rollouts of `service`.
    pub fn history_all(&self, environment: &str, service: &str) -> String {
        format!("{}history/{environment}/{service}/", self.prefix)
    }

    /// A finished rollout.
    pub fn history(&self, environment: &str, service: &str, id: &str) -> String {
        format!("{}{id}", self.history_all(environment, service))
    }

    /// The audit mirror.
    pub fn audit_all(&self) -> String {
        format!("{}audit/", self.prefix)
    }

    /// One mirrored audit record.
    pub fn audit(&self, id: &str) -> String {
        format!("{}audit/{id}", self.prefix)
    }

    /// What `key` is.
    pub fn kind(&self, key: &str) -> KeyKind {
        let Some(rest) = key.strip_prefix(&self.prefix) else {
            return KeyKind::Other;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let owned = |s: &str| s.to_owned();
        match parts.as_slice() {
            ["hosts", host] => KeyKind::Host { host: owned(host) },
            ["alive", host] => KeyKind::Alive { host: owned(host) },
            ["env", environment, "toolchain"] => KeyKind::Toolchain {
                environment: owned(environment),
            },
            ["env", environment, "rollouts", service] => KeyKind::Rollout {
                environment: owned(environment),
                service: owned(service),
            },
            ["env", environment, "progress", host, service] => KeyKind::Progress {
                environment: owned(environment),
                service: owned(service),
                host: owned(host),
            },
            ["env", environment, "slots", service, number] => match number.parse() {
                Ok(number) => KeyKind::Slot {
                    environment: owned(environment),
                    service: owned(service),
                    number,
                },
                Err(_) => KeyKind::Other,
            },
            ["history", environment, service, id] => KeyKind::History {
                environment: owned(environment),
                service: owned(service),
                id: owned(id),
            },
            ["audit", _] => KeyKind::Audit,
            _ => KeyKind::Other,
        }
    }
}

/// Checks a host, environment or service name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting
/// with `.` or `-`.
pub fn check_name(what: &'static str, name: &str) -> Result<(), FleetError> {
    let bad = |reason| {
        Err(FleetError::BadName {
            what,
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 64 {
        return bad("it must have 1 to 64 characters");
    }
    if name.starts_with(['.', '-']) {
        return bad("it must not start with `.` or `-`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("it may hold only letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_kind() {
        let keys = Keys::new("/goshift/").unwrap();
        assert_eq!(
            keys.kind(&keys.host("h1")),
            KeyKind::Host { host: "h1".into() }
        );
        assert_eq!(
            keys.kind(&keys.toolchain("prod")),
            KeyKind::Toolchain {
                environment: "prod".into()
            }
        );
        assert_eq!(
            keys.kind(&keys.rollout("prod", "api")),
            KeyKind::Rollout {
                environment: "prod".into(),
                service: "api".into()
            }
        );
        assert_eq!(
            keys.kind(&keys.progress("prod", "api", "h1")),
            KeyKind::Progress {
                environment: "prod".into(),
                service: "api".into(),
                host: "h1".into()
            }
        );
        assert_eq!(
            keys.kind(&keys.slot("prod", "api", 3)),
            KeyKind::Slot {
                environment: "prod".into(),
                service: "api".into(),
                number: 3
            }
        );
        assert_eq!(
            keys.kind(&keys.history("prod", "api", "r1")),
            KeyKind::History {
                environment: "prod".into(),
                service: "api".into(),
                id: "r1".into()
            }
        );
        assert_eq!(keys.kind(&keys.audit("x")), KeyKind::Audit);
        assert_eq!(
            keys.kind(&keys.alive("h1")),
            KeyKind::Alive { host: "h1".into() }
        );
        assert_eq!(keys.kind("/other/hosts/h1"), KeyKind::Other);
        assert_eq!(keys.kind("/goshift/env/prod/slots/api/x"), KeyKind::Other);
        assert!(
            keys.toolchain("prod")
                .starts_with(&keys.environment("prod"))
        );
        assert!(!keys.host("h1").starts_with(&keys.environment("prod")));
    }

    #[test]
    fn prefixes_and_names_are_checked() {
        assert!(Keys::new("goshift").is_err());
        assert!(Keys::new("/goshift").is_err());
        assert!(Keys::new("/a//b/").is_err());
        assert!(check_name("a host", "web-1.example").is_ok());
        assert!(check_name("a host", "").is_err());
        assert!(check_name("a host", "a/b").is_err());
        assert!(check_name("a host", ".hidden").is_err());
        assert!(check_name("a host", &"x".repeat(65)).is_err());
    }
}
