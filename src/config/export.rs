//! Export: a [`Config`] written back as canonical keepalived.conf text.
//!
//! Owns: the one canonical spelling of every keyword and value, which the
//! parser reads back so that `import(export(c)) == c`. Layout: four spaces
//! per level, one statement per line, a blank line between top-level
//! blocks. Only values that differ from the model's defaults are written,
//! except the few statements that are always written for readability
//! (`state`, `interface`, `virtual_router_id`, `priority`, `advert_int`;
//! `delay_loop`, `lvs_sched`, `lvs_method`, `protocol`).
//!
//! Must not: validate (an invalid model is written as it stands), fail, or
//! panic; touch the file system (callers store the text).
//!
//! Quoting: a token that is empty, holds whitespace (Unicode), `{`, `}`,
//! `"` or `\`, or starts with `#` or `!` is written in double quotes with
//! `\"` and `\\` escaped; every other token is written bare.

use super::bounds::{IfName, Millis};
use super::model::*;
use std::fmt::{self, Display, Write as _};
use std::net::{IpAddr, Ipv4Addr};

/// The canonical text of `c`. Never fails and never panics.
pub fn export(c: &Config) -> String {
    // Sized for what a real server takes at the least (its line and its
    // `}`), so a big table's text is not copied at every doubling.
    let reals: usize = c.virtual_servers.iter().map(|v| v.real_servers.len()).sum();
    let mut w = Writer {
        out: String::with_capacity(4096 + 40 * reals),
        depth: 0,
    };
    w.line(&[&"# vigil canonical config"]);
    if c.global != GlobalDefs::default() {
        w.blank();
        global_defs(&mut w, &c.global);
    }
    if let Some(a) = &c.appliance {
        w.blank();
        appliance(&mut w, a);
    }
    if let Some(b) = &c.bgp {
        w.blank();
        bgp(&mut w, b);
    }
    if !c.static_routes.is_empty() || !c.static_rules.is_empty() {
        w.blank();
        w.list("static_routes", &c.static_routes);
        w.list("static_rules", &c.static_rules);
    }
    for s in &c.vrrp_scripts {
        w.blank();
        vrrp_script(&mut w, s);
    }
    for f in &c.track_files {
        w.blank();
        track_file(&mut w, f);
    }
    for p in &c.track_processes {
        w.blank();
        track_process(&mut w, p);
    }
    for g in &c.vrrp_sync_groups {
        w.blank();
        sync_group(&mut w, g);
    }
    for i in &c.vrrp_instances {
        w.blank();
        vrrp_instance(&mut w, i, c.global.vmac_prefix.as_ref());
    }
    for g in &c.virtual_server_groups {
        w.blank();
        virtual_server_group(&mut w, g);
    }
    for vs in &c.virtual_servers {
        w.blank();
        virtual_server(&mut w, vs);
    }
    w.out
}

// ---------------------------------------------------------------------------
// Writer and token formats

/// Indented line writer. Tokens are `Display`; free text goes through
/// [`Q`] so it is quoted when it has to be.
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn line(&mut self, words: &[&dyn Display]) {
        self.words(words);
        self.out.push('\n');
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }

    /// The indent, then `words` separated by spaces.
    fn words(&mut self, words: &[&dyn Display]) {
        self.indent();
        for (n, word) in words.iter().enumerate() {
            if n > 0 {
                self.out.push(' ');
            }
            // Writing to a String cannot fail.
            let _ = write!(self.out, "{word}");
        }
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    /// `words... {` and one level deeper.
    fn open(&mut self, words: &[&dyn Display]) {
        self.words(words);
        self.out
            .push_str(if words.is_empty() { "{\n" } else { " {\n" });
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.words(&[]);
        self.out.push_str("}\n");
    }

    /// `kw value` when `v` is `Some`.
    fn opt<T: Display>(&mut self, kw: &str, v: Option<T>) {
        if let Some(v) = v {
            self.line(&[&kw, &v]);
        }
    }

    /// `kw value` when `v` differs from `default`.
    fn non_default<T: Display + PartialEq>(&mut self, kw: &str, v: T, default: T) {
        if v != default {
            self.line(&[&kw, &v]);
        }
    }

    /// A flag keyword alone means true.
    fn flag(&mut self, kw: &str, on: bool) {
        if on {
            self.line(&[&kw]);
        }
    }

    /// `Option<bool>`: `kw` for true, `kw false` for false, nothing for None.
    fn tri(&mut self, kw: &str, v: Option<bool>) {
        match v {
            Some(true) => self.line(&[&kw]),
            Some(false) => self.line(&[&kw, &"false"]),
            None => {}
        }
    }

    fn text(&mut self, kw: &str, v: Option<&String>) {
        self.opt(kw, v.map(|s| Q(s)));
    }

    fn script(&mut self, kw: &str, s: Option<&Script>) {
        self.opt(kw, s.map(ScriptArgs));
    }

    /// `kw { item... }` one item per line; nothing when empty.
    fn list<T: Display>(&mut self, kw: &str, items: &[T]) {
        if items.is_empty() {
            return;
        }
        self.open(&[&kw]);
        for it in items {
            self.line(&[it]);
        }
        self.close();
    }
}

/// A free-text token, quoted when it would not read back as one bare token.
struct Q<'a>(&'a str);

pub(crate) fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.starts_with(['#', '!'])
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '{' | '}' | '"' | '\\'))
}

impl Display for Q<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !needs_quotes(self.0) {
            return f.write_str(self.0);
        }
        f.write_char('"')?;
        for c in self.0.chars() {
            if matches!(c, '"' | '\\') {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

/// A script's argv, each token quoted as needed, space-separated.
struct ScriptArgs<'a>(&'a Script);

impl Display for ScriptArgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, a) in self.0.argv.iter().enumerate() {
            if n > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{}", Q(a))?;
        }
        Ok(())
    }
}

/// `v`'s decimal digits, pushed onto `out`.
fn push_decimal(out: &mut String, mut v: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&d| char::from(d)));
}

/// `a` as a dotted quad, pushed onto `out`.
fn push_v4(out: &mut String, a: Ipv4Addr) {
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, u32::from(octet));
    }
}

/// `addr/prefix`.
struct Cidr(IpAddr, u8);

impl Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// `on` / `off`.
fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// IPv4 persistence granularity as a dotted netmask (prefixes over 32 are
/// clamped: the validator refuses them, export must not panic).
fn netmask4(prefix: u8) -> Ipv4Addr {
    let p = u32::from(prefix.min(32));
    Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0))
}

/// Status code ranges: `200` or `200-299`, space-separated.
struct StatusCodes<'a>(&'a [(u16, u16)]);

impl Display for StatusCodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, &(lo, hi)) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_char(' ')?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// 32 lowercase hex characters.
struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

// ---------------------------------------------------------------------------
// global_defs

fn global_defs(w: &mut Writer, g: &GlobalDefs) {
    let d = GlobalDefs::default();
    w.open(&[&"global_defs"]);
    w.text("router_id", g.router_id.as_ref());
    let emails: Vec<Q> = g.notification_email.iter().map(|s| Q(s)).collect();
    w.list("notification_email", &emails);
    w.text(
        "notification_email_from",
        g.notification_email_from.as_ref(),
    );
    if let Some(s) = &g.smtp_server {
        match s.port {
            25 => w.line(&[&"smtp_server", &s.addr]),
            p => w.line(&[&"smtp_server", &s.addr, &p]),
        }
    }
    w.non_default(
        "smtp_connect_timeout",
        g.smtp_connect_timeout,
        d.smtp_connect_timeout,
    );
    w.tri("smtp_alert", g.smtp_alert);
    w.non_default(
        "vrrp_version",
        g.vrrp_version.number(),
        d.vrrp_version.number(),
    );
    w.non_default("vrrp_mcast_group4", g.vrrp_mcast_group4, DEFAULT_MCAST4);
    w.non_default("vrrp_mcast_group6", g.vrrp_mcast_group6, DEFAULT_MCAST6);
    let (o, dg) = (&g.garp, &d.garp);
    garp(
        w,
        "vrrp_",
        &GarpOverride {
            master_delay: Some(o.master_delay).filter(|v| *v != dg.master_delay),
            master_repeat: Some(o.master_repeat).filter(|v| *v != dg.master_repeat),
            master_refresh: Some(o.master_refresh).filter(|v| *v != dg.master_refresh),
            master_refresh_repeat: Some(o.master_refresh_repeat)
                .filter(|v| *v != dg.master_refresh_repeat),
            interval: Some(o.interval).filter(|v| *v != dg.interval),
            gna_interval: Some(o.gna_interval).filter(|v| *v != dg.gna_interval),
        },
    );
    if let Some(s) = &g.lvs_sync_daemon {
        lvs_sync_daemon(w, s);
    }
    let t = &g.lvs_timeouts;
    let mut words: Vec<&dyn Display> = vec![&"lvs_timeouts"];
    push_opts(
        &mut words,
        [
            (&"tcp", t.tcp.as_ref().map(dyn_ref)),
            (&"tcpfin", t.tcpfin.as_ref().map(dyn_ref)),
            (&"udp", t.udp.as_ref().map(dyn_ref)),
        ],
    );
    if words.len() > 1 {
        w.line(&words);
    }
    run_as(w, "script_user", g.script_user.as_ref());
    w.flag("enable_script_security", g.enable_script_security);
    w.opt("vmac_prefix", g.vmac_prefix.as_ref().map(|p| Q(p.as_str())));
    if let Some(m) = &g.metrics {
        w.open(&[&"metrics"]);
        w.line(&[&"listen", &m.listen]);
        w.close();
    }
    w.close();
}

fn dyn_ref<T: Display>(v: &T) -> &dyn Display {
    v
}

/// Appends `kw value` for each pair whose value is `Some`.
fn push_opts<'a, const N: usize>(
    words: &mut Vec<&'a dyn Display>,
    pairs: [(&'static &'static str, Option<&'a dyn Display>); N],
) {
    for (kw, v) in pairs {
        if let Some(v) = v {
            words.push(kw);
            words.push(v);
        }
    }
}

fn lvs_sync_daemon(w: &mut Writer, s: &LvsSyncDaemon) {
    sync_daemon_line(w, "lvs_sync_daemon", s);
}

/// `kw INTERFACE [INSTANCE] [id N] ...`: the instance only when one leads
/// (the `bgp` block's `sync_daemon` has none).
fn sync_daemon_line(w: &mut Writer, kw: &str, s: &LvsSyncDaemon) {
    let (ifname, name) = (Q(s.interface.as_str()), Q(&s.vrrp_instance));
    let mut words: Vec<&dyn Display> = vec![&kw, &ifname];
    if !s.vrrp_instance.is_empty() {
        words.push(&name);
    }
    push_opts(
        &mut words,
        [
            (&"id", s.id.as_ref().map(dyn_ref)),
            (&"maxlen", s.maxlen.as_ref().map(dyn_ref)),
            (&"port", s.port.as_ref().map(dyn_ref)),
            (&"ttl", s.ttl.as_ref().map(dyn_ref)),
            (&"group", s.group.as_ref().map(dyn_ref)),
        ],
    );
    w.line(&words);
}

/// The gratuitous-ARP keywords that are `Some`, with `prefix` (`vrrp_` in
/// global_defs, empty in an instance).
fn garp(w: &mut Writer, prefix: &str, o: &GarpOverride) {
    let kw = |k: &str| format!("{prefix}{k}");
    w.opt(&kw("garp_master_delay"), o.master_delay);
    w.opt(&kw("garp_master_repeat"), o.master_repeat);
    w.opt(&kw("garp_master_refresh"), o.master_refresh);
    w.opt(&kw("garp_master_refresh_repeat"), o.master_refresh_repeat);
    w.opt(&kw("garp_interval"), o.interval);
    w.opt(&kw("gna_interval"), o.gna_interval);
}

// ---------------------------------------------------------------------------
// VRRP

fn notify(w: &mut Writer, n: &Notify) {
    w.script("notify", n.notify.as_ref());
    w.script("notify_master", n.master.as_ref());
    w.script("notify_backup", n.backup.as_ref());
    w.script("notify_fault", n.fault.as_ref());
    w.script("notify_stop", n.stop.as_ref());
}

fn sync_group(w: &mut Writer, g: &SyncGroup) {
    w.open(&[&"vrrp_sync_group", &Q(&g.name)]);
    w.open(&[&"group"]);
    for name in &g.group {
        w.line(&[&Q(name)]);
    }
    w.close();
    track_scripts(w, &g.track_script);
    track_lines(w, "track_file", &g.track_file);
    track_lines(w, "track_process", &g.track_process);
    notify(w, &g.notify);
    w.tri("smtp_alert", g.smtp_alert);
    w.close();
}

fn vrrp_script(w: &mut Writer, s: &VrrpScript) {
    w.open(&[&"vrrp_script", &Q(&s.name)]);
    w.line(&[&"script", &ScriptArgs(&s.script)]);
    w.line(&[&"interval", &s.interval]);
    w.opt("timeout", s.timeout);
    match (s.weight, s.reverse) {
        (0, false) => {}
        (wt, false) => w.line(&[&"weight", &wt]),
        (wt, true) => w.line(&[&"weight", &wt, &"reverse"]),
    }
    w.non_default("rise", s.rise, 1);
    w.non_default("fall", s.fall, 1);
    run_as(w, "user", s.user.as_ref());
    w.flag("init_fail", s.init_fail);
    w.close();
}

/// `kw USER [GROUP]`.
fn run_as(w: &mut Writer, kw: &str, u: Option<&ScriptUser>) {
    let Some(u) = u else { return };
    match &u.group {
        Some(g) => w.line(&[&kw, &Q(&u.user), &Q(g)]),
        None => w.line(&[&kw, &Q(&u.user)]),
    }
}

fn track_file(w: &mut Writer, f: &TrackFile) {
    w.open(&[&"track_file", &Q(&f.name)]);
    w.line(&[&"file", &Q(&f.file)]);
    match f.reverse {
        true => w.line(&[&"weight", &f.weight, &"reverse"]),
        false if f.weight != 1 => w.line(&[&"weight", &f.weight]),
        false => {}
    }
    match f.init {
        Some(InitFile {
            value,
            overwrite: true,
        }) => w.line(&[&"init_file", &value, &"overwrite"]),
        Some(InitFile { value, .. }) => w.line(&[&"init_file", &value]),
        None => {}
    }
    w.close();
}

fn track_process(w: &mut Writer, p: &TrackProcess) {
    w.open(&[&"vrrp_track_process", &Q(&p.name)]);
    let words: Vec<Q> = p.process.iter().map(|s| Q(s)).collect();
    let mut line: Vec<&dyn Display> = vec![&"process"];
    line.extend(words.iter().map(|q| q as &dyn Display));
    w.line(&line);
    match p.param_match {
        Some(ParamMatch::Exact) => w.line(&[&"param_match"]),
        Some(ParamMatch::Partial) => w.line(&[&"param_match", &"partial"]),
        Some(ParamMatch::Initial) => w.line(&[&"param_match", &"initial"]),
        None => {}
    }
    match p.reverse {
        true => w.line(&[&"weight", &p.weight, &"reverse"]),
        false if p.weight != 0 => w.line(&[&"weight", &p.weight]),
        false => {}
    }
    w.non_default("quorum", p.quorum, 1);
    w.opt("quorum_max", p.quorum_max);
    w.opt("fork_delay", p.fork_delay);
    w.opt("terminate_delay", p.terminate_delay);
    w.flag("full_command", p.full_command);
    w.close();
}

fn track_scripts(w: &mut Writer, list: &[TrackScript]) {
    track_lines(w, "track_script", list);
}

fn track_lines(w: &mut Writer, kw: &str, list: &[TrackScript]) {
    if list.is_empty() {
        return;
    }
    w.open(&[&kw]);
    for t in list {
        let name = Q(&t.name);
        match (t.weight, t.reverse) {
            (None, _) => w.line(&[&name]),
            (Some(wt), None) => w.line(&[&name, &"weight", &wt]),
            (Some(wt), Some(true)) => w.line(&[&name, &"weight", &wt, &"reverse"]),
            (Some(wt), Some(false)) => w.line(&[&name, &"weight", &wt, &"noreverse"]),
        }
    }
    w.close();
}

/// `vmac_prefix`: a vmac named as the prefix names it is written bare.
fn vrrp_instance(w: &mut Writer, i: &VrrpInstance, vmac_prefix: Option<&IfName>) {
    w.open(&[&"vrrp_instance", &Q(&i.name)]);
    let state = match i.state {
        InitialState::Master => "MASTER",
        InitialState::Backup => "BACKUP",
    };
    w.line(&[&"state", &state]);
    w.line(&[&"interface", &Q(i.interface.as_str())]);
    w.line(&[&"virtual_router_id", &i.virtual_router_id]);
    w.line(&[&"priority", &i.priority]);
    w.line(&[&"advert_int", &i.advert_int]);
    w.opt("version", i.version.map(VrrpVersion::number));
    if let Some(k) = &i.authentication {
        w.open(&[&"authentication"]);
        w.line(&[&"auth_type", &"PASS"]);
        w.line(&[&"auth_pass", &Q(k.as_str())]);
        w.close();
    }
    vips(w, "virtual_ipaddress", &i.virtual_ipaddress);
    vips(
        w,
        "virtual_ipaddress_excluded",
        &i.virtual_ipaddress_excluded,
    );
    w.opt("unicast_src_ip", i.unicast_src_ip);
    w.list("unicast_peer", &i.unicast_peer);
    w.opt("unicast_ttl", i.unicast_ttl);
    w.flag("dont_track_primary", i.dont_track_primary);
    if let Some(v) = &i.use_vmac {
        let prefixed = vmac_prefix.and_then(|p| vmac_default_name(Some(p), i.virtual_router_id));
        match v.name.as_ref().filter(|n| prefixed.as_ref() != Some(*n)) {
            Some(n) => w.line(&[&"use_vmac", &Q(n.as_str())]),
            None => w.line(&[&"use_vmac"]),
        }
        w.flag("vmac_xmit_base", v.xmit_base);
    }
    w.list("virtual_routes", &i.virtual_routes);
    w.list("virtual_rules", &i.virtual_rules);
    w.flag("nopreempt", i.nopreempt);
    w.non_default("preempt_delay", i.preempt_delay, Millis(0));
    w.flag("strict_mode", i.strict);
    // Strict mode's default is no_accept below priority 255: say accept.
    w.flag("accept", i.strict && i.accept && i.priority != 255);
    w.flag("no_accept", !i.accept);
    if !i.track_interface.is_empty() {
        w.open(&[&"track_interface"]);
        for t in &i.track_interface {
            match t.weight {
                Some(wt) => w.line(&[&Q(t.name.as_str()), &"weight", &wt]),
                None => w.line(&[&Q(t.name.as_str())]),
            }
        }
        w.close();
    }
    track_scripts(w, &i.track_script);
    track_lines(w, "track_file", &i.track_file);
    track_lines(w, "track_process", &i.track_process);
    notify(w, &i.notify);
    w.script("notify_arp_theft", i.notify_arp_theft.as_ref());
    w.tri("smtp_alert", i.smtp_alert);
    garp(w, "", &i.garp);
    w.close();
}

fn vips(w: &mut Writer, kw: &str, vips: &[Vip]) {
    if vips.is_empty() {
        return;
    }
    w.open(&[&kw]);
    for v in vips {
        let cidr = Cidr(v.addr, v.prefix);
        let dev = v.dev.as_ref().map(|d| Q(d.as_str()));
        let label = v.label.as_ref().map(|l| Q(l.as_str()));
        let mut words: Vec<&dyn Display> = vec![&cidr];
        push_opts(
            &mut words,
            [
                (&"dev", dev.as_ref().map(dyn_ref)),
                (&"label", label.as_ref().map(dyn_ref)),
                (&"brd", v.brd.as_ref().map(dyn_ref)),
                (&"scope", v.scope.as_ref().map(dyn_ref)),
            ],
        );
        if v.no_track {
            words.push(&"no_track");
        }
        w.line(&words);
    }
    w.close();
}

// ---------------------------------------------------------------------------
// IPVS

fn virtual_server_group(w: &mut Writer, g: &VirtualServerGroup) {
    w.open(&[&"virtual_server_group", &Q(&g.name)]);
    for m in &g.members {
        match *m {
            GroupMember::Fwmark(mark) => w.line(&[&"fwmark", &mark]),
            GroupMember::Addr { first, last, port } => {
                let addr = match (first, last) {
                    (_, None) => first.to_string(),
                    (IpAddr::V4(_), Some(l)) => format!("{first}-{l}"),
                    (IpAddr::V6(_), Some(l)) => format!("{first}-{l:x}"),
                };
                w.line(&[&addr, &port]);
            }
        }
    }
    w.close();
}

fn virtual_server(w: &mut Writer, vs: &VirtualServer) {
    match &vs.group {
        Some(g) => w.open(&[&"virtual_server", &"group", &Q(g)]),
        None => w.open(&[&"virtual_server", &vs.key]),
    }
    if let ServiceKey::Fwmark { ipv6: true, .. } = vs.key {
        w.line(&[&"ip_family", &"inet6"]);
    }
    w.line(&[&"delay_loop", &vs.delay_loop]);
    w.line(&[&"lvs_sched", &vs.scheduler]);
    for (n, _) in vs.flags.sched.iter().enumerate().filter(|(_, on)| **on) {
        w.line(&[&ServiceFlags::keyword(vs.scheduler, n)]);
    }
    w.flag("ops", vs.flags.ops);
    w.line(&[&"lvs_method", &vs.method]);
    w.line(&[&"protocol", &vs.protocol]);
    w.opt("persistence_timeout", vs.persistence_timeout);
    if let Some(p) = vs.persistence_granularity {
        if vs.key.is_ipv6() {
            w.line(&[&"persistence_granularity", &p]);
        } else {
            w.line(&[&"persistence_granularity", &netmask4(p)]);
        }
    }
    let d = VirtualServer::new(vs.key);
    w.non_default("quorum", vs.quorum, d.quorum);
    w.non_default("hysteresis", vs.hysteresis, d.hysteresis);
    w.script("quorum_up", vs.quorum_up.as_ref());
    w.script("quorum_down", vs.quorum_down.as_ref());
    if let Some(s) = &vs.sorry_server {
        match s.port {
            Some(p) => w.line(&[&"sorry_server", &s.addr, &p]),
            None => w.line(&[&"sorry_server", &s.addr]),
        }
    }
    w.flag("sorry_server_inhibit", vs.sorry_server_inhibit);
    w.flag("inhibit_on_failure", vs.inhibit_on_failure);
    w.flag("alpha", vs.alpha);
    w.flag("omega", vs.omega);
    w.flag("ha_suspend", vs.ha_suspend);
    w.text("virtualhost", vs.virtualhost.as_ref());
    if let Some(on) = vs.dr_path_check {
        w.line(&[&"dr_path_check", &if on { "on" } else { "off" }]);
    }
    match (vs.anycast, vs.key, &vs.group) {
        (None, ..) => {}
        (Some(a), ServiceKey::Addr { addr, .. }, None) if a == addr => w.line(&[&"anycast"]),
        (Some(a), ..) => w.line(&[&"anycast", &a]),
    }
    for rs in &vs.real_servers {
        real_server(w, rs);
    }
    w.close();
}

fn real_server(w: &mut Writer, rs: &RealServer) {
    // Written without the formatting machinery: a config has one such
    // line for each of up to 100,000 destinations, and every start from
    // the store exports them all (its check, `daemon::source`).
    w.indent();
    w.out.push_str("real_server ");
    match rs.addr {
        IpAddr::V4(a) => push_v4(&mut w.out, a),
        IpAddr::V6(a) => {
            let _ = write!(w.out, "{a}");
        }
    }
    if let Some(p) = rs.port {
        w.out.push(' ');
        push_decimal(&mut w.out, u32::from(p));
    }
    w.out.push_str(" {\n");
    w.depth += 1;
    w.non_default(
        "weight",
        rs.weight,
        RealServer::new(rs.addr, rs.port).weight,
    );
    w.tri("inhibit_on_failure", rs.inhibit_on_failure);
    w.opt("lvs_method", rs.method);
    w.opt("uthreshold", rs.uthreshold);
    w.opt("lthreshold", rs.lthreshold);
    w.script("notify_up", rs.notify_up.as_deref());
    w.script("notify_down", rs.notify_down.as_deref());
    w.text("virtualhost", rs.virtualhost.as_deref());
    for c in &rs.checkers {
        checker(w, c);
    }
    w.close();
}

fn checker(w: &mut Writer, c: &Checker) {
    w.open(&[&c.kind.keyword()]);
    w.opt("connect_ip", c.connect_ip);
    w.opt("connect_port", c.connect_port);
    w.opt("bindto", c.bindto);
    let d = Checker::new(c.kind.clone());
    w.non_default("connect_timeout", c.connect_timeout, d.connect_timeout);
    w.non_default("retry", c.retry, d.retry);
    w.non_default(
        "delay_before_retry",
        c.delay_before_retry,
        d.delay_before_retry,
    );
    w.opt("delay_loop", c.delay_loop);
    w.opt("warmup", c.warmup);
    match &c.kind {
        CheckKind::Tcp => {}
        CheckKind::Http(h) | CheckKind::Ssl(h) => {
            w.text("virtualhost", h.virtualhost.as_ref());
            w.non_default("http_protocol", h.protocol.keyword(), "1.0");
            // sni_name turns SNI on when read; `enable_sni off` after it
            // turns it off again.
            w.text("sni_name", h.sni_name.as_ref());
            match (h.enable_sni, h.sni_name.is_some()) {
                (true, false) => w.line(&[&"enable_sni"]),
                (false, true) => w.line(&[&"enable_sni", &"off"]),
                _ => {}
            }
            for u in &h.urls {
                w.open(&[&"url"]);
                w.line(&[&"path", &Q(&u.path)]);
                if !u.status_code.is_empty() {
                    w.line(&[&"status_code", &StatusCodes(&u.status_code)]);
                }
                w.opt("digest", u.digest.as_ref().map(|d| Hex(d)));
                w.text("virtualhost", u.virtualhost.as_ref());
                w.close();
            }
        }
        CheckKind::Ws(ws) => {
            w.line(&[&"path", &Q(&ws.path)]);
            w.text("virtualhost", ws.virtualhost.as_ref());
            w.text("origin", ws.origin.as_ref());
            w.text("subprotocol", ws.subprotocol.as_ref());
        }
        CheckKind::Misc(m) => {
            w.line(&[&"misc_path", &ScriptArgs(&m.path)]);
            w.opt("misc_timeout", m.timeout);
            w.flag("misc_dynamic", m.dynamic);
            run_as(w, "user", m.user.as_ref());
        }
    }
    w.close();
}

// ---------------------------------------------------------------------------
// appliance

fn appliance(w: &mut Writer, a: &Appliance) {
    let d = Appliance::default();
    w.open(&[&"appliance"]);
    w.text("hostname", a.hostname.as_ref());
    for i in &a.interfaces {
        w.open(&[&"interface", &Q(i.name.as_str())]);
        for ad in &i.addresses {
            w.line(&[&"address", &Cidr(ad.addr, ad.prefix)]);
        }
        w.opt("mtu", i.mtu);
        for r in &i.routes {
            let dest: &dyn Display = if r.dest.prefix == 0 {
                &"default"
            } else {
                &Cidr(r.dest.addr, r.dest.prefix)
            };
            w.line(&[&"route", dest, &"via", &r.via]);
        }
        w.opt("arp_ignore", i.arp_ignore);
        w.opt("arp_announce", i.arp_announce);
        w.close();
    }
    w.non_default("ip_forward", on_off(a.ip_forward), on_off(d.ip_forward));
    if a.ipvs != d.ipvs {
        let s = &a.ipvs;
        w.open(&[&"ipvs"]);
        w.line(&[&"expire_nodest_conn", &on_off(s.expire_nodest_conn)]);
        w.line(&[
            &"expire_quiescent_template",
            &on_off(s.expire_quiescent_template),
        ]);
        w.line(&[&"conn_reuse_mode", &s.conn_reuse_mode]);
        w.line(&[&"sloppy_tcp", &on_off(s.sloppy_tcp)]);
        w.close();
    }
    if a.watchdog != d.watchdog {
        w.open(&[&"watchdog"]);
        w.line(&[&"device", &Q(&a.watchdog.device)]);
        w.line(&[&"timeout", &a.watchdog.timeout]);
        w.script("notify_reset", a.watchdog.notify_reset.as_ref());
        w.close();
    }
    if let Some(h) = &a.console_password_hash {
        w.open(&[&"console"]);
        w.line(&[&"password_hash", &Q(h)]);
        w.close();
    }
    w.close();
}

// ---------------------------------------------------------------------------
// bgp

fn bgp(w: &mut Writer, b: &Bgp) {
    let d = Bgp::new(b.local_as, b.router_id);
    w.open(&[&"bgp"]);
    w.line(&[&"local_as", &b.local_as]);
    w.line(&[&"router_id", &b.router_id]);
    for n in &b.neighbors {
        w.open(&[&"neighbor", &n.address]);
        w.line(&[&"remote_as", &n.remote_as]);
        w.text("password", n.password.as_ref());
        w.flag("bfd", n.bfd);
        w.opt("source_address", n.source_address);
        w.opt("multihop", n.multihop);
        w.opt("hold_time", n.hold_time);
        w.close();
    }
    for (asn, value) in &b.communities {
        w.line(&[&"community", &format_args!("{asn}:{value}")]);
    }
    match b.drain {
        BgpDrain::Withdraw => {}
        BgpDrain::Prepend(n) => w.line(&[&"drain", &"prepend", &n]),
    }
    w.non_default("bfd_interval", b.bfd_interval, d.bfd_interval);
    w.non_default("bfd_multiplier", b.bfd_multiplier, d.bfd_multiplier);
    if let Some(s) = &b.sync_daemon {
        sync_daemon_line(w, "sync_daemon", s);
    }
    for (kw, path, default) in [
        ("bird_socket", &b.bird_socket, &d.bird_socket),
        ("bird_config", &b.bird_config, &d.bird_config),
    ] {
        if path != default {
            w.line(&[&kw, &Q(path)]);
        }
    }
    w.close();
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
