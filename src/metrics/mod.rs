//! The Prometheus endpoint (`global_defs { metrics { listen ADDR:PORT } }`):
//! what `vigil status` gathers, as text format 0.0.4 over HTTP.
//!
//! Owns: the exposition (`render`, pure: a `control::Status` and the
//! process's own facts to text), the process facts read from `/proc/self`
//! (`process`) and the HTTP task that serves them (`serve`). Must not:
//! hold state of its own or read a machine (it reads what the control
//! server reads, `control::Published`), or listen anywhere but the one
//! configured address.

pub mod process;
pub mod render;
pub mod serve;
