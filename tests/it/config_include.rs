//! `include` with globs at import level: files are read in sorted order at
//! the place of the include, and errors point into the included file.

use std::fs;
use vigil::config::import_file;

#[test]
fn glob_includes_assemble_one_config_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("conf.d")).unwrap();
    fs::write(
        d.join("keepalived.conf"),
        "global_defs {\n    router_id LB\n}\ninclude conf.d/*.conf\n",
    )
    .unwrap();
    let vi = |name: &str, vrid: u8| {
        format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    virtual_ipaddress {{\n        10.0.0.{vrid}\n    }}\n}}\n")
    };
    fs::write(d.join("conf.d/20-b.conf"), vi("VI_B", 2)).unwrap();
    fs::write(d.join("conf.d/10-a.conf"), vi("VI_A", 1)).unwrap();
    fs::write(d.join("conf.d/README"), "not included").unwrap();
    let imp = import_file(&d.join("keepalived.conf"), false).unwrap();
    let names: Vec<&str> = imp
        .config
        .vrrp_instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["VI_A", "VI_B"]);
    assert_eq!(imp.config.global.router_id.as_deref(), Some("LB"));
}

#[test]
fn errors_in_an_included_file_point_into_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("main.conf"), "include part.conf\n").unwrap();
    fs::write(d.join("part.conf"), "global_defs {\n    router_idd LB\n}\n").unwrap();
    let err = import_file(&d.join("main.conf"), false).unwrap_err();
    let msgs: Vec<String> = err.errors.iter().map(|e| e.to_string()).collect();
    let part = d.join("part.conf");
    assert_eq!(
        msgs,
        [format!(
            "{}:2:5: error: unknown keyword 'router_idd' in global_defs (did you mean 'router_id'?)",
            part.display()
        )]
    );
}

#[test]
fn an_empty_glob_warns_and_a_cycle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.conf"), "include none/*.conf\n").unwrap();
    let imp = import_file(&d.join("a.conf"), false).unwrap();
    assert_eq!(imp.warnings.len(), 1);
    assert!(imp.warnings[0]
        .to_string()
        .ends_with("include none/*.conf: the pattern matched no file"));

    fs::write(d.join("b.conf"), "include c.conf\n").unwrap();
    fs::write(d.join("c.conf"), "include b.conf\n").unwrap();
    let err = import_file(&d.join("b.conf"), false).unwrap_err();
    assert!(
        err.errors[0]
            .to_string()
            .contains("would include itself (cycle)"),
        "{:?}",
        err.errors
    );
}
