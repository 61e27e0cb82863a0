//! The CI gate's report model.
