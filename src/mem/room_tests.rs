//! Unit tests of `room.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;

fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
    let map: HashMap<PathBuf, String> = entries
        .iter()
        .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
        .collect();
    move |p: &Path| map.get(p).cloned()
}

#[test]
fn mem_available_is_read_in_bytes() {
    let meminfo =
        "MemTotal:       1000000 kB\nMemFree:          20000 kB\nMemAvailable:     51200 kB\n";
    assert_eq!(mem_available(meminfo), Some(51200 * 1024));
    assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
}

#[test]
fn the_room_under_a_cgroup_v2_limit_is_its_max_less_its_use() {
    let read = files(&[
        ("/cg/system.slice/vigil.service/memory.max", "536870912\n"),
        (
            "/cg/system.slice/vigil.service/memory.current",
            "402653184\n",
        ),
    ]);
    let room = cgroup_room("0::/system.slice/vigil.service\n", Path::new("/cg"), &read);
    assert_eq!(room, Some(128 << 20));
    let unlimited = files(&[
        ("/cg/a/memory.max", "max\n"),
        ("/cg/a/memory.current", "1\n"),
    ]);
    assert_eq!(cgroup_room("0::/a\n", Path::new("/cg"), &unlimited), None);
}

#[test]
fn the_room_under_a_cgroup_v1_limit_skips_other_controllers() {
    let read = files(&[
        ("/cg/memory/box/memory.limit_in_bytes", "104857600\n"),
        ("/cg/memory/box/memory.usage_in_bytes", "94371840\n"),
    ]);
    let text = "5:devices:/box\n4:memory:/box\n0::/\n";
    assert_eq!(cgroup_room(text, Path::new("/cg"), &read), Some(10 << 20));
    // v1's "no limit" is a page-rounded i64::MAX.
    let read = files(&[(
        "/cg/memory/box/memory.limit_in_bytes",
        "9223372036854771712\n",
    )]);
    assert_eq!(cgroup_room(text, Path::new("/cg"), &read), None);
    assert_eq!(cgroup_room("garbage", Path::new("/cg"), &read), None);
}

#[test]
fn a_reload_is_refused_only_on_a_figure_short_of_its_need() {
    let need = reload_need(100_000);
    assert_eq!(need, (8 << 20) + 100_000 * 1024);
    assert!(check(100_000, None).is_ok(), "nothing read: go on");
    assert!(check(100_000, Some(need)).is_ok());
    let e = check(100_000, Some(need - 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "not enough memory for this config: its reload needs about {} MB at its peak \
             (100000 destinations), this box has {} MB available; nothing was changed",
            need >> 20,
            (need - 1) >> 20
        )
    );
}
