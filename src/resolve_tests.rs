//! Unit tests of `resolve.rs`: the hosts file, the search order, the
//! answer checks, and whole lookups against a DNS server on 127.0.0.1
//! that this test runs (nothing leaves the machine).

use super::*;
use simple_dns::rdata::{A, AAAA};
use simple_dns::ResourceRecord;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn hosts_file_gives_every_address_of_a_name_or_alias_in_file_order() {
    let text = "127.0.0.1 localhost\n\
                # 10.0.0.9 mail\n\
                10.0.0.5   mail.example.org mail   # the relay\n\
                2001:db8::5 mail\n\
                bad-address mail\n";
    assert_eq!(
        hosts_lookup(text, "MAIL"),
        [
            "10.0.0.5".parse::<IpAddr>().unwrap(),
            "2001:db8::5".parse().unwrap()
        ]
    );
    assert_eq!(
        hosts_lookup(text, "mail.example.org."),
        ["10.0.0.5".parse::<IpAddr>().unwrap()]
    );
    assert!(hosts_lookup(text, "relay").is_empty());
}

#[test]
fn search_domains_come_first_for_a_short_name_and_after_for_a_long_one() {
    let search = vec!["lan.example.".to_owned(), "example".to_owned()];
    assert_eq!(
        candidates("lb2", 1, &search),
        ["lb2.lan.example", "lb2.example", "lb2"]
    );
    assert_eq!(
        candidates("lb2.dc1", 1, &search),
        ["lb2.dc1", "lb2.dc1.lan.example", "lb2.dc1.example"]
    );
    assert_eq!(candidates("lb2.dc1.", 1, &search), ["lb2.dc1"]);
    assert_eq!(candidates("lb2", 1, &[]), ["lb2"]);
}

#[test]
fn host_names_are_told_from_addresses_and_junk() {
    for ok in ["lb2", "mail.example.org", "mail.example.org.", "a-b.c_d"] {
        assert!(is_host_name(ok), "{ok}");
    }
    for bad in [
        "",
        "10.0.0.1",
        "::1",
        "10.0.0.256",
        "-lead",
        "a..b",
        "sp ace",
        "x/24",
    ] {
        assert!(!is_host_name(bad), "{bad}");
    }
    assert!(!is_host_name(&"a".repeat(64)));
    assert_eq!(
        Resolver::Table(BTreeMap::new()).resolve("10.0.0.256"),
        Err(ResolveError::BadName)
    );
}

fn answer(query: &[u8], rcode: RCODE, addrs: &[IpAddr], id_delta: u16) -> Vec<u8> {
    let q = Packet::parse(query).unwrap();
    let mut r = Packet::new_reply(q.id().wrapping_add(id_delta));
    *r.rcode_mut() = rcode;
    r.questions = q.questions.clone();
    let name = q.questions[0].qname.clone();
    let want = q.questions[0].qtype;
    for a in addrs {
        let rdata = match *a {
            IpAddr::V4(v4) if want == TYPE::A.into() => RData::A(A {
                address: u32::from(v4),
            }),
            IpAddr::V6(v6) if want == TYPE::AAAA.into() => RData::AAAA(AAAA {
                address: u128::from(v6),
            }),
            _ => continue,
        };
        r.answers
            .push(ResourceRecord::new(name.clone(), CLASS::IN, 60, rdata));
    }
    r.build_bytes_vec().unwrap()
}

/// A DNS server on 127.0.0.1 answering `names` (lower case, without the
/// final dot); NXDOMAIN for others. `forge_first`: each query gets a reply
/// with a wrong id first. Returns its port and a count of queries.
fn server(names: Vec<(&'static str, Vec<IpAddr>)>, forge_first: bool) -> (u16, Arc<AtomicUsize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            seen.fetch_add(1, Ordering::SeqCst);
            let q = Packet::parse(&buf[..n]).unwrap();
            let asked = q.questions[0].qname.to_string().to_ascii_lowercase();
            let found = names.iter().find(|(n, _)| *n == asked);
            let (rcode, addrs) = match found {
                Some((_, a)) => (RCODE::NoError, a.clone()),
                None => (RCODE::NameError, Vec::new()),
            };
            if forge_first {
                let forged = answer(&buf[..n], RCODE::NoError, &["6.6.6.6".parse().unwrap()], 1);
                sock.send_to(&forged, from).unwrap();
            }
            sock.send_to(&answer(&buf[..n], rcode, &addrs, 0), from)
                .unwrap();
        }
    });
    (port, count)
}

fn system(dir: &Path, port: u16, resolv: &str, hosts: &str) -> Resolver {
    std::fs::write(dir.join("resolv.conf"), resolv).unwrap();
    std::fs::write(dir.join("hosts"), hosts).unwrap();
    Resolver::System(System {
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
        port,
        deadline: None,
    })
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigil-resolve-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn dns_answers_a_name_through_the_search_list_and_ignores_forged_ids() {
    let v4: IpAddr = "192.0.2.7".parse().unwrap();
    let v6: IpAddr = "2001:db8::7".parse().unwrap();
    let (port, _) = server(vec![("lb2.lan.example", vec![v6, v4])], true);
    let dir = tmp("search");
    let r = system(
        &dir,
        port,
        "search lan.example\nnameserver 127.0.0.1\noptions timeout:1\n",
        "127.0.0.1 localhost\n",
    );
    assert_eq!(r.resolve("lb2"), Ok(vec![v4, v6]));
    // The hosts file comes first.
    let r = system(&dir, port, "nameserver 127.0.0.1\n", "10.9.9.9 lb2\n");
    assert_eq!(r.resolve("LB2"), Ok(vec!["10.9.9.9".parse().unwrap()]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dns_says_which_server_knows_no_such_name() {
    let (port, _) = server(vec![], false);
    let dir = tmp("nx");
    let r = system(&dir, port, "nameserver 127.0.0.1\n", "");
    let e = r.resolve("nowhere.example").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "not in {}, and DNS server 127.0.0.1 knows no address for it",
            dir.join("hosts").display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_silent_server_is_given_up_after_timeout_times_attempts() {
    // Bound, never read from: the queries go unanswered.
    let mute = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    let dir = tmp("mute");
    let r = system(
        &dir,
        port,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        "",
    );
    let t0 = Instant::now();
    let e = r.resolve("lb2.example.").unwrap_err();
    let took = t0.elapsed();
    assert!(
        matches!(
            e,
            ResolveError::NoAnswer {
                timeout: 1,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    // One A query, one second; AAAA is not asked once A got nothing.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(mute);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A server on `addr` that reads and never answers; counts the queries.
fn mute(addr: &str) -> (UdpSocket, Arc<AtomicUsize>) {
    let sock = UdpSocket::bind(addr).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let (reader, seen) = (sock.try_clone().unwrap(), count.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while reader.recv_from(&mut buf).is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (sock, count)
}

#[test]
fn at_a_prompt_a_silent_resolver_fails_within_the_deadline_each_server_asked_once() {
    // Two silent servers, a search list, resolv.conf's longest waits:
    // 3 names x 2 servers x 3 attempts x 5 s without a deadline.
    let (first, asked_first) = mute("127.0.0.1:0");
    let port = first.local_addr().unwrap().port();
    let (_second, asked_second) = mute(&format!("127.0.0.2:{port}"));
    let dir = tmp("deadline");
    std::fs::write(
        dir.join("resolv.conf"),
        "search a.example b.example\nnameserver 127.0.0.1\nnameserver 127.0.0.2\n\
         options timeout:5 attempts:3\n",
    )
    .unwrap();
    std::fs::write(dir.join("hosts"), "").unwrap();
    let r = Resolver::System(System {
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
        port,
        deadline: Some(Duration::from_millis(600)),
    });
    let t0 = Instant::now();
    let e = r.resolve("smtp").unwrap_err();
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // Each server had its half of the deadline for the first name.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(asked_first.load(Ordering::SeqCst), 1);
    assert_eq!(asked_second.load(Ordering::SeqCst), 1);
    let text = e.to_string();
    assert!(
        text.contains("the resolver did not answer: no DNS server replied (127.0.0.1:")
            && text.contains(
                "gave up after 0.6 s, one attempt each), so whether the name exists is unknown"
            ),
        "{text}"
    );
    assert_eq!(
        Resolver::interactive(),
        Resolver::System(System {
            deadline: Some(INTERACTIVE_DEADLINE),
            ..System::default()
        })
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_server_that_cannot_be_reached_is_told_from_a_silent_one() {
    // A port nobody listens on: the kernel refuses at once.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tmp("refused");
    let r = system(&dir, port, "nameserver 127.0.0.1\noptions timeout:1\n", "");
    let e = r.resolve("lb2.example.").unwrap_err();
    assert!(
        matches!(
            e,
            ResolveError::Unreachable {
                reason: io::ErrorKind::ConnectionRefused,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains(&format!(
            "the resolver did not answer: no DNS server could be reached (127.0.0.1:{port}: connection refused)"
        )),
        "{e}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_stray_datagram_is_not_an_answer() {
    let name = Name::new("lb2.example").unwrap();
    let mut q = Packet::new_query(7);
    q.questions.push(Question::new(
        name.clone(),
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    ));
    let query = q.build_bytes_vec().unwrap();
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let good = answer(&query, RCODE::NoError, &[a], 0);
    assert!(matches!(reply(&good, 7, &name, TYPE::A), Some(Reply::Addrs(v)) if v == [a]));
    let wrong_id = answer(&query, RCODE::NoError, &[a], 1);
    assert!(reply(&wrong_id, 7, &name, TYPE::A).is_none());
    let other = Name::new("lb3.example").unwrap();
    assert!(reply(&good, 7, &other, TYPE::A).is_none());
    assert!(reply(&good, 7, &name, TYPE::AAAA).is_none());
    // The query itself (no RESPONSE flag) and garbage.
    assert!(reply(&query, 7, &name, TYPE::A).is_none());
    assert!(reply(&[0xff; 5], 7, &name, TYPE::A).is_none());
}
