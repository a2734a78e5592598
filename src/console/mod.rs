//! The configuration console (`vigil console`): what an operator types on
//! the serial line or a terminal.
//!
//! Owns: the candidate configuration (`candidate`). Must not: touch the
//! running config or the store except through the control socket.

pub mod candidate;
