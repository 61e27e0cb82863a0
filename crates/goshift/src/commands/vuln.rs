//! `goshift vuln sync` and `goshift vuln check`.

pub(crate) mod check;
pub(crate) mod sync;
