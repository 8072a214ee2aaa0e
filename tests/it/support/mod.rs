//! Helpers shared by the integration tests.

pub mod db;
//! Real peers for the integration tests, each a private instance in a tempdir.
pub mod postfix;
