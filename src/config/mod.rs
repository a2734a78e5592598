//! The configuration: a typed model, keepalived.conf import and export, and
//! validation with `file:line:col` errors.
//!
//! Text -> [`syntax`] (tokens and a tree of statements) -> [`parse`] (the
//! typed model) -> [`validate`] (cross-field checks) -> an immutable
//! [`Config`]. [`export`] writes a model back as canonical text.

pub mod bounds;
pub mod error;
pub mod export;
pub mod model;
pub mod wire;

pub use model::Config;
