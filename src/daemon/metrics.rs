//! Starting the metrics endpoint (`global_defs { metrics { listen } }`),
//! again after it stopped, and on the new address when a reload changes
//! it.
//!
//! Owns: [`MetricsSide`]: the address the endpoint runs on and its task's
//! id. Must not: serve or render (`metrics::serve` and `metrics::render`
//! do).

use std::net::SocketAddr;
use std::sync::Arc;

use super::supervisor::{Kind, Supervisor, TaskId};
use crate::config::model::Config;
use crate::control::{Change, Published};

/// The task's name with the supervisor.
pub(super) const TASK: &str = "metrics";

pub(super) struct MetricsSide {
    listen: Option<SocketAddr>,
    published: Arc<Published>,
    id: Option<TaskId>,
}

impl MetricsSide {
    /// Starts the endpoint when `config` asks for one.
    pub(super) fn start(config: &Config, published: Arc<Published>, sup: &Supervisor) -> Self {
        let mut side = MetricsSide {
            listen: config.global.metrics.map(|m| m.listen),
            published,
            id: None,
        };
        side.spawn(sup);
        side
    }

    /// Starts the task again after it stopped.
    pub(super) fn restart(&mut self, sup: &Supervisor) {
        self.spawn(sup);
    }

    /// A committed config: when its `listen` differs, the endpoint stops
    /// and (unless it is gone) binds the new address; `None` when nothing
    /// changed.
    pub(super) fn reload(&mut self, config: &Config, sup: &Supervisor) -> Option<Change> {
        let listen = config.global.metrics.map(|m| m.listen);
        if listen == self.listen {
            return None;
        }
        if let Some(id) = self.id.take() {
            sup.stop(id);
        }
        self.listen = listen;
        self.spawn(sup);
        Some(Change::Metrics {
            listen: listen.map(|a| a.to_string()),
        })
    }

    fn spawn(&mut self, sup: &Supervisor) {
        let Some(listen) = self.listen else {
            return;
        };
        let published = self.published.clone();
        let id = sup.spawn(TASK, Kind::Metrics, move |hb| {
            crate::metrics::serve::serve(listen, published, hb)
        });
        self.id = Some(id);
    }
}
