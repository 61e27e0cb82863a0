//! Who may change an environment.
//!
//! An environment's table may name the people allowed to change it:
//!
//! ```toml
//! [environments.prod]
//! may_change = ["alice", "group:release"]
//! ```
//!
//! A plain entry is a user name, `group:NAME` a group; a person may change the environment
//! when their user is listed or one of their groups is. Without `may_change`, anyone may. The
//! caller says who is acting ([`Person`], from the operating system); the check is the same
//! for a local change on a machine of that environment and a fleet change aimed at it.

use std::fmt;
use std::ops::Range;

use serde::Serialize;
use toml::Spanned;

use crate::Policy;

/// The people an environment's `may_change` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changers {
    /// User names.
    pub users: Vec<String>,
    /// Group names (written `group:NAME`).
    pub groups: Vec<String>,
}

/// Who is acting: a user and the groups they are in.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// The user name.
    pub user: &'a str,
    /// The names of the user's groups.
    pub groups: &'a [String],
}

/// Whether a person may change an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission<'a> {
    /// The environment names no one: anyone may change it.
    Anyone,
    /// The person is named, as a user or through a group (the entry that matched).
    Named(String),
    /// The person is not named; these are the people who are.
    Refused(&'a Changers),
}

impl Changers {
    /// Reads `may_change` entries, reporting each bad one through `problem`.
    pub(crate) fn parse(
        entries: Vec<Spanned<String>>,
        whole: Range<usize>,
        problem: &mut impl FnMut(Range<usize>, String),
    ) -> Self {
        let mut changers = Self {
            users: Vec::new(),
            groups: Vec::new(),
        };
        if entries.is_empty() {
            problem(
                whole,
                "`may_change` is empty, so nobody could change this environment: list users and `group:NAME`s, or remove it to let anyone".to_owned(),
            );
        }
        for entry in entries {
            let span = entry.span();
            let text = entry.into_inner();
            let (list, name) = match text.strip_prefix("group:") {
                Some(group) => (&mut changers.groups, group),
                None => (&mut changers.users, text.as_str()),
            };
            if is_account_name(name) {
                list.push(name.to_owned());
            } else {
                problem(
                    span,
                    format!(
                        "`{text}` in `may_change` is not a user or `group:NAME`: names hold letters, digits, `.`, `_` and `-`"
                    ),
                );
            }
        }
        changers
    }

    /// The entry that admits `person`, if any.
    pub fn admits(&self, person: Person<'_>) -> Option<String> {
        if self.users.iter().any(|user| user == person.user) {
            return Some(person.user.to_owned());
        }
        self.groups
            .iter()
            .find(|group| person.groups.contains(group))
            .map(|group| format!("group:{group}"))
    }
}

impl fmt::Display for Changers {
    /// `alice, bob, group:release`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users = self.users.iter().map(String::clone);
        let groups = self.groups.iter().map(|g| format!("group:{g}"));
        let all: Vec<String> = users.chain(groups).collect();
        f.write_str(&all.join(", "))
    }
}

impl Policy {
    /// Whether `person` may change `environment`.
    pub fn may_change(&self, environment: &str, person: Person<'_>) -> Permission<'_> {
        let Some(changers) = self
            .environments
            .get(environment)
            .and_then(|e| e.may_change.as_ref())
        else {
            return Permission::Anyone;
        };
        match changers.admits(person) {
            Some(entry) => Permission::Named(entry),
            None => Permission::Refused(changers),
        }
    }
}

/// A user or group name as account databases allow: 1 to 64 of `A-Z a-z 0-9 . _ -`, not
/// starting with `-`.
fn is_account_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[environments.prod]
may_change = ["alice", "group:release"]

[environments.dev]
"#;

    #[test]
    fn users_and_groups_named_by_an_environment_may_change_it_and_nobody_else() {
        let policy = Policy::parse(POLICY, "policy.toml").unwrap();
        let none: Vec<String> = Vec::new();
        let release = vec!["staff".to_owned(), "release".to_owned()];
        let alice = Person {
            user: "alice",
            groups: &none,
        };
        let bob = Person {
            user: "bob",
            groups: &none,
        };
        let carol = Person {
            user: "carol",
            groups: &release,
        };
        assert_eq!(
            policy.may_change("prod", alice),
            Permission::Named("alice".to_owned())
        );
        assert_eq!(
            policy.may_change("prod", carol),
            Permission::Named("group:release".to_owned())
        );
        let Permission::Refused(changers) = policy.may_change("prod", bob) else {
            panic!("bob may change prod");
        };
        assert_eq!(changers.to_string(), "alice, group:release");
        // An environment without `may_change`, or one the policy does not name: anyone.
        assert_eq!(policy.may_change("dev", bob), Permission::Anyone);
        assert_eq!(policy.may_change("qa", bob), Permission::Anyone);
    }

    #[test]
    fn bad_entries_and_an_empty_list_are_reported_with_their_place() {
        let text = "[environments.prod]\nmay_change = [\"alice\", \"group:\", \"bo b\"]\n\n[environments.qa]\nmay_change = []\n";
        let error = Policy::parse(text, "policy.toml").unwrap_err().to_string();
        assert!(
            error.contains("2:24: `group:` in `may_change` is not a user or `group:NAME`"),
            "{error}"
        );
        assert!(error.contains("2:34: `bo b` in `may_change`"), "{error}");
        assert!(
            error.contains("5:14: `may_change` is empty, so nobody could change"),
            "{error}"
        );
    }
}
