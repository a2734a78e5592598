//! MISC_CHECK in a running daemon: a script testing for a file takes a
//! real server down and up, and a `misc_dynamic` script's weight shows in
//! `vigil status --json`'s ipvs table (`dynamic_weight`). The kernel's
//! table itself needs ip_vs (the host has none: `weight` stays null here;
//! `health_misc` and `ipvs::machine`'s tests hold the in-place edit to
//! the in-memory kernel).
//!
//! Needs root and iproute2 (scripts/install-deps).

use crate::support::{netns, peers};

use std::path::Path;
use std::time::Duration;

use netns::{serial, Lab};
use peers::{start_vigil_with, Daemon};

/// `#!/bin/sh`: exit with the number in `$1`, 1 when it is missing.
const BY_FILE: &str = "#!/bin/sh\n[ -e \"$1\" ] || exit 1\nexit \"$(cat \"$1\")\"\n";

fn conf(flag: &Path, prog: &Path, code: &Path) -> String {
    format!(
        "vrrp_instance VI_M {{
    interface eth0
    virtual_router_id 19
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        192.168.1.200/24
    }}
}}
virtual_server 192.168.1.200 80 {{
    delay_loop 0.2
    lvs_method DR
    protocol TCP
    real_server 192.168.1.11 80 {{
        MISC_CHECK {{
            misc_path \"/usr/bin/test -e {flag}\"
            misc_timeout 2
            warmup 0
        }}
    }}
    real_server 192.168.1.12 80 {{
        weight 5
        MISC_CHECK {{
            misc_path \"{prog} {code}\"
            misc_dynamic
            misc_timeout 2
            warmup 0
        }}
    }}
}}
",
        flag = flag.display(),
        prog = prog.display(),
        code = code.display(),
    )
}

/// The ipvs table's entry for `dest`.
fn dest<'a>(v: &'a serde_json::Value, addr: &str) -> &'a serde_json::Value {
    v["ipvs"]["services"][0]["dests"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["dest"] == addr))
        .unwrap_or(&serde_json::Value::Null)
}

fn wait(d: &Daemon, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    d.wait_status(what, Duration::from_secs(10), ok);
}

#[test]
fn misc_check_toggles_a_real_server_and_misc_dynamic_weight_shows_in_status() {
    use std::os::unix::fs::PermissionsExt as _;
    let _g = serial();
    let lab = Lab::new(1);
    let (flag, code) = (lab.path("misc-up"), lab.path("misc-code"));
    let prog = lab.path("misc-check.sh");
    std::fs::write(&prog, BY_FILE).unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&code, b"0").unwrap();
    let d = start_vigil_with(&lab, 0, &conf(&flag, &prog, &code), "misc");

    let a = "192.168.1.11:80";
    wait(&d, "the file-less server DOWN", |v| {
        dest(v, a)["health"] == "down" && dest(v, a)["last"] == "program exited with status 1"
    });
    std::fs::write(&flag, b"").unwrap();
    wait(&d, "the server UP once the file exists", |v| {
        dest(v, a)["health"] == "up"
    });
    std::fs::remove_file(&flag).unwrap();
    wait(&d, "the server DOWN again", |v| {
        dest(v, a)["health"] == "down"
    });

    let b = "192.168.1.12:80";
    wait(&d, "exit 0: up, no dynamic weight", |v| {
        dest(v, b)["health"] == "up" && dest(v, b)["dynamic_weight"].is_null()
    });
    std::fs::write(&code, b"42").unwrap();
    wait(&d, "exit 42: dynamic weight 40", |v| {
        dest(v, b)["health"] == "up" && dest(v, b)["dynamic_weight"] == 40
    });
    std::fs::write(&code, b"1").unwrap();
    wait(&d, "exit 1: down", |v| dest(v, b)["health"] == "down");
    std::fs::write(&code, b"0").unwrap();
    wait(&d, "exit 0: up, keeping weight 40", |v| {
        dest(v, b)["health"] == "up" && dest(v, b)["dynamic_weight"] == 40
    });
}
