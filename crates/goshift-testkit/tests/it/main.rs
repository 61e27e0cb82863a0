//! Checks over the whole workspace's source.

mod function_length;
