//! Starting the tracked-script task (`vrrp_script`), again after it
//! stopped, and anew when a reload changes the scripts.
//!
//! Owns: [`ScriptSide`]: the plan the task runs, the table every instance
//! task and `vigil status` read (kept across restarts), and the running
//! task's id. Must not: run scripts (`track::task` does) or apply weights
//! (the instance machines do).

use std::collections::HashMap;
use std::path::Path;

use tokio::sync::watch;

use super::supervisor::{Kind, Supervisor, TaskId};
use crate::config::model::Config;
use crate::track::file;
use crate::track::task::{self, Planned, Polled};
use crate::track::{State, Table};

/// The task's name with the supervisor.
pub(super) const TASK: &str = "track scripts";

pub(super) struct ScriptSide {
    plan: Vec<Planned>,
    polled: Polled,
    security: bool,
    table: watch::Sender<Table>,
    id: Option<TaskId>,
}

fn plan(config: &Config) -> Vec<Planned> {
    task::plan(config, Path::new("/etc/passwd"), Path::new("/etc/group"))
}

impl ScriptSide {
    /// Plans `config`'s tracked scripts and starts their task (none when
    /// nothing is tracked).
    pub(super) fn start(config: &Config, sup: &Supervisor) -> Self {
        let plan = plan(config);
        let polled = Polled::of(config);
        init_files(polled.files());
        let table = watch::channel(task::initial_table(&plan, &polled, &HashMap::new())).0;
        let mut side = ScriptSide {
            plan,
            polled,
            security: config.global.enable_script_security,
            table,
            id: None,
        };
        side.spawn(sup, HashMap::new());
        side
    }

    /// What instance tasks read.
    pub(super) fn receiver(&self) -> watch::Receiver<Table> {
        self.table.subscribe()
    }

    /// Starts the task (again, after it stopped): every script keeps the
    /// state the table holds.
    pub(super) fn restart(&mut self, sup: &Supervisor) {
        let carried = self.states(|_| true);
        self.spawn(sup, carried);
    }

    /// A committed config: when its tracked scripts differ from the
    /// running ones, the task starts again with them; a script whose
    /// definition is unchanged keeps its state. Returns whether it did.
    pub(super) fn reload(&mut self, config: &Config, sup: &Supervisor) -> bool {
        let new = plan(config);
        let polled = Polled::of(config);
        let security = config.global.enable_script_security;
        if same(&new, &self.plan) && security == self.security && polled.same(&self.polled) {
            return false;
        }
        if polled.files() != self.polled.files() {
            init_files(polled.files());
        }
        self.polled = polled;
        let old = std::mem::replace(&mut self.plan, new);
        let kept = |name: &str| {
            let find = |p: &[Planned]| p.iter().find(|s| s.name == name).map(key);
            find(&old).is_some() && find(&old) == find(&self.plan)
        };
        let carried = self.states(kept);
        self.security = security;
        if let Some(id) = self.id.take() {
            sup.stop(id);
        }
        self.spawn(sup, carried);
        true
    }

    fn states(&self, keep: impl Fn(&str) -> bool) -> HashMap<String, State> {
        self.table
            .borrow()
            .iter()
            .filter(|s| s.state != State::Init && keep(&s.name))
            .map(|s| (s.name.clone(), s.state))
            .collect()
    }

    fn spawn(&mut self, sup: &Supervisor, carried: HashMap<String, State>) {
        self.table
            .send_replace(task::initial_table(&self.plan, &self.polled, &carried));
        if self.plan.is_empty() && self.polled.is_empty() {
            return;
        }
        let (plan, security, table) = (self.plan.clone(), self.security, self.table.clone());
        let polled = self.polled.clone();
        let id = sup.spawn(TASK, Kind::Track, move |hb| {
            task::run(plan, polled, security, carried, table, hb)
        });
        self.id = Some(id);
    }
}

/// `init_file` of each tracked file (a failure is logged: the file then
/// reads as missing, 0).
fn init_files(files: &[file::Planned]) {
    for f in files {
        if let Err(e) = file::init(f) {
            tracing::warn!(track_file = %f.name, file = %f.path.display(), error = %e, "init_file: cannot write the file");
        }
    }
}

/// What decides a script's behaviour, for comparing plans.
fn key(p: &Planned) -> String {
    format!("{:?}{:?}{:?}{:?}", p.spec, p.argv, p.timeout, p.run_as)
}

fn same(a: &[Planned], b: &[Planned]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.name == y.name && key(x) == key(y))
}
