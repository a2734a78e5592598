//! `vrrp_strict` (and `no_accept`): the VIP of a non-owner MASTER takes
//! the traffic the box balances for it and nothing else, through vigil's
//! nftables filter (`net::no_accept`). In namespaces: a client reaches a
//! listener on the VIP's balanced port, and not one on another port of
//! the VIP (dropped: no answer at all), nor does a ping of the VIP get an
//! answer, while the box's own address answers everything; a reload that
//! moves the virtual server to another port moves what passes; the tables
//! go when vigil stops. And a batch the kernel refuses leaves the table in
//! force as it was (one transaction), naming the message refused.
//!
//! The host kernel has no IPVS, so the "balanced" port is served by a
//! local listener here: the filter's accept is what is under test (it
//! sits before IPVS's hooks; the lab runs IPVS behind it).
//!
//! Needs root, iproute2, nftables' `nft` (to read the tables back),
//! python3 and ping.

use crate::support::{netns, peers};

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use netns::{require_program, serial, Lab, Netns, Proc};
use peers::{first_state, start_vigil_with, vigil_bin};

const VIP: &str = "192.168.1.200";
const WITHIN: Duration = Duration::from_secs(5);

fn conf(port: u16) -> String {
    format!(
        "global_defs {{
    vrrp_strict
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 71
    priority 100
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {VIP}/32
    }}
}}
virtual_server {VIP} {port} {{
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server 192.168.1.9 {port} {{
        weight 1
    }}
}}
"
    )
}

/// A web server on the VIP's `port` in `ns`.
fn listen(lab: &Lab, ns: &Netns, port: u16) -> Proc {
    let dir = lab.path("www");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "hello\n").unwrap();
    let d = dir.to_str().unwrap();
    let p = port.to_string();
    let args = [
        "python3",
        "-m",
        "http.server",
        "--bind",
        VIP,
        "--directory",
        d,
        &p,
    ];
    ns.spawn(
        &format!("web :{port}"),
        &args,
        &lab.path(&format!("web{port}.log")),
    )
}

/// An HTTP GET from the client to VIP:port; the status line, or why not.
fn get(client: &Netns, port: u16) -> Result<String, String> {
    let addr = SocketAddr::new(VIP.parse::<IpAddr>().unwrap(), port);
    client.enter(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(700))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok(out.lines().next().unwrap_or_default().to_owned())
    })
}

/// Polls until a GET to `port` is answered.
fn wait_open(client: &Netns, port: u16) {
    let t0 = std::time::Instant::now();
    loop {
        match get(client, port) {
            Ok(line) if line.contains("200") => return,
            r => assert!(t0.elapsed() < WITHIN, "VIP:{port} never answered: {r:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The connection is not refused but never answered: the filter dropped it.
fn assert_dropped(client: &Netns, port: u16) {
    match get(client, port) {
        Err(e) => assert!(
            e.contains("timed out") || e.contains("os error 110") || e.contains("os error 11"),
            "VIP:{port}: want a silent drop (timeout), got {e}"
        ),
        Ok(line) => panic!("VIP:{port} answered {line:?} through the filter"),
    }
}

fn pings(client: &Netns, to: &str) -> bool {
    let out = client.command(&["ping", "-c", "1", "-W", "1", to]).output();
    out.is_ok_and(|o| o.status.success())
}

fn nft_list(ns: &Netns) -> String {
    String::from_utf8_lossy(&ns.exec(&["nft", "list", "ruleset"]).stdout).into_owned()
}

#[test]
fn strict_vip_takes_balanced_traffic_only() {
    let _g = serial();
    require_program("nft", "apt-get install nftables");
    let lab = Lab::with_client(1);
    let node = &lab.nodes[0].ns;
    let client = &lab.client.as_ref().expect("client").ns;
    let mut n1 = start_vigil_with(&lab, 0, &conf(80), "n1");
    n1.wait_status("MASTER", WITHIN, |v| first_state(v) == "MASTER");
    let table = nft_list(node);
    assert!(
        table.contains("table ip vigil") && table.contains(VIP),
        "filter: {table}"
    );
    // Killed on drop.
    let _web = [80, 22, 8080].map(|port| listen(&lab, node, port));
    wait_open(client, 80);
    assert_dropped(client, 22);
    assert_dropped(client, 8080);
    assert!(!pings(client, VIP), "the VIP answered a ping");
    assert!(
        pings(client, "192.168.1.1"),
        "the box's own address must answer"
    );

    // The virtual server moves to 8080: so does what passes.
    std::fs::write(&n1.conf, conf(8080)).unwrap();
    let out = Command::new(vigil_bin())
        .args(["reload", "--control"])
        .arg(&n1.control)
        .output()
        .unwrap();
    // (The reload as a whole reports a failure here: the host has no
    // IPVS to program. The filter's part is applied all the same.)
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no_accept filter applied"),
        "reload said: {said}"
    );
    wait_open(client, 8080);
    assert_dropped(client, 80);

    // A deliberate stop takes the tables away.
    n1.stop();
    let table = nft_list(node);
    assert!(!table.contains("vigil"), "left behind: {table}");
}

/// A batch the kernel refuses changes nothing: the table put before it
/// stays whole, and the error names the message refused.
#[test]
fn a_refused_batch_leaves_the_filter_in_force() {
    use vigil::net::nft::{self, Chain, Expr, Family, NftError, Reg, Set, Table, Verdict};
    let _g = serial();
    require_program("nft", "apt-get install nftables");
    let ns = Netns::new();
    let table = |set_named: &'static str| Table {
        family: Family::Ip,
        name: "vigil",
        sets: vec![Set {
            name: "vips",
            key_type: 7,
            key_len: 4,
            elements: vec![vec![192, 0, 2, 1]],
        }],
        chains: vec![Chain {
            name: "in",
            hook: 1,
            priority: -1,
            rules: vec![vec![
                Expr::Payload {
                    base: nft::Base::Network,
                    offset: 16,
                    len: 4,
                    dreg: Reg(0),
                },
                Expr::Lookup {
                    set: set_named,
                    sreg: Reg(0),
                },
                Expr::Verdict(Verdict::Drop),
            ]],
        }],
    };
    let good = table("vips");
    let bad = table("no_such_set");
    let applied = ns.enter(move || {
        let first = nft::apply(&nft::transaction(&[(Family::Ip, "vigil", Some(&good))]));
        let second = nft::apply(&nft::transaction(&[(Family::Ip, "vigil", Some(&bad))]));
        (first, second)
    });
    assert!(applied.0.is_ok(), "{:?}", applied.0);
    match applied.1 {
        Err(NftError::Refused { what, .. }) => assert_eq!(what, "rule 1 of chain in"),
        other => panic!("want the rule refused, got {other:?}"),
    }
    let listed = nft_list(&ns);
    assert!(
        listed.contains("192.0.2.1") && listed.contains("ip daddr @vips drop"),
        "the first table must be intact: {listed}"
    );
}

/// The tables a killed run left go at the next start, also when the new
/// config guards nothing; and the read that tells a start whether any is
/// there (most starts have none, and skip the removal's transaction)
/// sees each family's table.
#[test]
fn a_start_removes_the_tables_an_earlier_run_left() {
    use vigil::net::nft::{self, Family};
    let _g = serial();
    require_program("nft", "apt-get install nftables");
    let ns = Netns::new();
    let read = |tables: &'static [(Family, &'static str)]| {
        ns.enter(move || nft::any_table(tables))
            .expect("the read of the tables")
    };
    const BOTH: &[(Family, &str)] = &[(Family::Ip, "vigil"), (Family::Ip6, "vigil")];
    assert!(!read(BOTH), "a fresh namespace has no table");
    assert!(ns
        .exec(&["nft", "add", "table", "ip6", "vigil"])
        .status
        .success());
    assert!(read(BOTH));
    assert!(read(&[(Family::Ip6, "vigil")]));
    assert!(!read(&[(Family::Ip, "vigil")]), "the other family's");
    assert!(!read(&[(Family::Ip6, "other")]), "another name");

    // An earlier run's table (as a SIGKILL leaves it), and a config
    // without a filter.
    let lab = Lab::new(1);
    let node = &lab.nodes[0].ns;
    assert!(node
        .exec(&["nft", "add", "table", "ip", "vigil"])
        .status
        .success());
    let plain = conf(80).replace("    vrrp_strict\n", "");
    let mut n1 = start_vigil_with(&lab, 0, &plain, "n1");
    n1.wait_status("MASTER", WITHIN, |v| first_state(v) == "MASTER");
    let table = nft_list(node);
    assert!(!table.contains("vigil"), "left behind: {table}");
    n1.stop();
}
