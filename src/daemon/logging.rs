//! Logging: the global tracing subscriber, to journald or stderr.
//!
//! Owns: where log lines go and the level filter. Must not: log anything
//! itself or be called twice expecting a change (the first subscriber
//! stays).

use std::path::Path;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    /// journald if its socket exists, else stderr.
    Auto,
    Stderr,
    Journald,
}

const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// Installs the global subscriber. Returns where logs go.
pub fn init_logging(level: tracing::Level, to: LogTo) -> &'static str {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = LevelFilter::from_level(level);
    let journald = match to {
        LogTo::Stderr => false,
        LogTo::Journald => true,
        LogTo::Auto => Path::new(JOURNALD_SOCKET).exists(),
    };
    if journald {
        if let Ok(layer) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(layer.with_syslog_identifier("vigil".into()))
                .try_init();
            return "journald";
        }
    }
    let fmt = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    "stderr"
}
