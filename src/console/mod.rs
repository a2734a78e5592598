//! The console: the command-line interface an operator uses on the serial
//! console (ttyS0) or any terminal, `vigil console`.
//!
//! Owns: the line editor (`line`). The command interpreter, login and the
//! candidate config plug into it from beside it.
//! Must not: edit config files behind the daemon's back (it speaks over the
//! control socket).

pub mod line;
