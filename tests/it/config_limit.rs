//! The one limit of a config's size (issue 19): the largest table the
//! bounds allow (`DESTINATIONS_MAX` destinations, every port, weight and
//! timeout different, so the flash cannot compress it away) is checked,
//! imported into a store the size of the image's `config` partition,
//! loaded by a daemon from that store, and shown whole by `vigil status`;
//! one real server more is refused at its line, naming the bound, and
//! nothing is written.
//!
//! Needs root (the daemon runs in a network namespace).

use crate::support::netns::{self, serial, Lab, Proc};
use crate::support::peers::vigil_bin;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vigil::config::bounds::DESTINATIONS_MAX;

const REALS: usize = 100;

/// `services` NAT services of `reals` real servers each, values varied by
/// a fixed-seed generator; `extra` real servers more on the last one.
fn table(services: usize, reals: usize, extra: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut out = String::from(
        "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n \
         priority 100\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
    );
    let mut g: usize = 0;
    for v in 0..services {
        out += &format!(
            "virtual_server 172.16.{}.{} 80 {{\n delay_loop 3600\n lvs_sched wrr\n lvs_method NAT\n protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        let n = reals + if v + 1 == services { extra } else { 0 };
        for _ in 0..n {
            g += 1;
            out += &format!(
                " real_server 10.{}.{}.{} {} {{\n  weight {}\n  TCP_CHECK {{\n   connect_timeout {}\n  }}\n }}\n",
                g >> 16,
                (g >> 8) & 255,
                g & 255,
                1024 + next(64_000),
                1 + next(100),
                1 + next(10)
            );
        }
        out += "}\n";
    }
    out
}

fn vigil(args: &[&str]) -> Output {
    Command::new(vigil_bin())
        .args(args)
        .output()
        .expect("run vigil")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn the_largest_table_fits_the_flash_loads_and_shows_and_one_more_is_refused_at_its_line() {
    netns::require_env();
    let _serial = serial();
    let lab = Lab::new(1);
    let services = DESTINATIONS_MAX / REALS;
    let conf = lab.path("largest.conf");
    std::fs::write(&conf, table(services, REALS, 0)).expect("write conf");
    // The image's config partition: 4 MiB.
    let store = lab.path("flash.img");
    std::fs::write(&store, vec![0u8; 4 << 20]).expect("blank store");
    let out = vigil(&["config", "import", p(&conf), "--store", p(&store)]);
    assert!(out.status.success(), "{}", text(&out));

    // One real server more: refused at its service's line, nothing written.
    let over = lab.path("over.conf");
    let over_text = table(services, REALS, 1);
    let line = 1 + over_text
        .lines()
        .position(|l| {
            l.starts_with(&format!("virtual_server 172.16.{}.", (services - 1) / 250))
                && l.contains(&format!(".{} 80 {{", (services - 1) % 250 + 1))
        })
        .expect("the last service");
    std::fs::write(&over, over_text).expect("write conf");
    let before = std::fs::read(&store).expect("read store");
    let out = vigil(&["config", "import", p(&over), "--store", p(&store)]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let want = format!(
        "{}:{line}:1: error: virtual_server 172.16.{}.{} 80: its real servers bring the config to {} destinations",
        over.display(),
        (services - 1) / 250,
        (services - 1) % 250 + 1,
        DESTINATIONS_MAX + 1
    );
    assert!(said.contains(&want), "{said}");
    assert!(
        said.contains(&format!("at most {DESTINATIONS_MAX} (DESTINATIONS_MAX)")),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&store).expect("read store"),
        before,
        "nothing written"
    );

    // The daemon loads it from the store; its status shows all of it.
    let control = lab.path("control.sock");
    let mut daemon: Proc = lab.nodes[0].ns.spawn(
        "vigil at the bound",
        &[
            p(&vigil_bin()),
            "run",
            "--store",
            p(&store),
            "--control",
            p(&control),
            "--log-to",
            "stderr",
        ],
        &lab.path("daemon.log"),
    );
    let t0 = Instant::now();
    let status = loop {
        let out = vigil(&["status", "--json", "--control", p(&control)]);
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("status json");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120) && daemon.alive(),
            "no status: {}\n{}",
            text(&out),
            daemon.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("config_limit: status after {:?}", t0.elapsed());
    let services_shown = status["ipvs"]["services"].as_array().expect("services");
    let dests: usize = services_shown
        .iter()
        .map(|s| s["dests"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!((services_shown.len(), dests), (services, DESTINATIONS_MAX));
    daemon.terminate(Duration::from_secs(10));
}
