//! The fleet's errors.

/// A failure to talk to etcd.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No member URL was given.
    #[error("no etcd endpoint is configured")]
    NoEndpoints,
    /// A member URL is not `http://host:port` or `https://host:port`.
    #[error("`{endpoint}` is not an etcd client URL such as `http://127.0.0.1:2379`")]
    BadEndpoint {
        /// What was given.
        endpoint: String,
    },
    /// A TLS file could not be used.
    #[error("{what} cannot be used: {reason}")]
    Tls {
        /// Which file.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// No member answered within the time allowed.
    #[error("etcd is unreachable at {endpoints}: {reason}")]
    Unreachable {
        /// The members tried.
        endpoints: String,
        /// What each one said.
        reason: String,
    },
    /// A member answered with an error.
    #[error("etcd at {endpoint} refused the request: {message}")]
    Server {
        /// The member.
        endpoint: String,
        /// etcd's message.
        message: String,
    },
    /// The revision asked for was compacted away.
    #[error("the revision asked for was compacted by etcd")]
    Compacted,
    /// A reply was not what the gateway sends.
    #[error("etcd sent {what} goshift cannot read: {reason}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// A failure of a fleet operation.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// etcd failed.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
    /// Someone else changed the key since it was read.
    #[error(
        "`{key}` was changed by {changed_by} at {changed_at} (revision {revision}) after you read it at revision {read_revision}"
    )]
    Conflict {
        /// The key.
        key: String,
        /// Who wrote the value that is there now.
        changed_by: String,
        /// When.
        changed_at: String,
        /// The key's revision now (0: deleted).
        revision: i64,
        /// The revision the change was based on.
        read_revision: i64,
    },
    /// A value in etcd does not parse.
    #[error("the value of `{key}` in etcd is not valid: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A name cannot be part of a key.
    #[error("`{name}` cannot be {what}: {reason}")]
    BadName {
        /// What the name is for.
        what: &'static str,
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// There is no rollout of the service in the environment.
    #[error("there is no rollout of `{service}` in environment `{environment}`")]
    NoRollout {
        /// The environment.
        environment: String,
        /// The service.
        service: String,
    },
    /// A rollout cannot go from its state to the one asked for.
    #[error("the rollout {id} of `{service}` is {state}, so it cannot be {wanted}")]
    RolloutState {
        /// The service.
        service: String,
        /// The rollout's id.
        id: String,
        /// Its state.
        state: String,
        /// What was asked.
        wanted: &'static str,
    },
}
