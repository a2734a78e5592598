//! `vigil console`: the box's command line, on the serial console in place
//! of a login shell and on any terminal.
//!
//! Owns: wiring the line editor, the candidate config, the interpreter
//! and the login to a terminal and the control socket. Must not: edit a
//! config file or the store behind the daemon's back: every change is a
//! commit request on the control socket.

pub mod candidate;
pub mod line;
pub mod login;
pub mod words;
