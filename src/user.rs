//! `--user USER[:GROUP]` → the ids the child switches to, read from the image's own
//! `/etc/passwd` and `/etc/group`.
//!
//! No NSS: reaper is a static binary, and a container's users are its files. The files are
//! read before the clone; the parsing is pure and unit-tested. This module makes no
//! system call but the two reads: reaper's own ids are read, and the switch made in the
//! child, by `spawn`.
//!
//! The files are read as glibc reads them (a missing trailing field is empty, what follows
//! the last one is ignored), so that an entry the C library, runc and gosu accept is
//! accepted here too.
//!
//! Fail closed: a spec that names no entry, an entry looked for that does not parse (by
//! its name or by its uid), or an id that does not fit is an error before anything runs,
//! never a silent fallback to root or to the root group.
//! `4294967295` is refused as an id: it is `(uid_t)-1`, which `setresuid` takes for
//! "leave unchanged", so the child would stay root.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, shown};

/// Longer names are refused outright: Linux's `LOGIN_NAME_MAX` is 256 with the NUL.
pub const MAX_NAME: usize = 255;

/// Whom the child becomes, as prepared before the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The spec as given, shown for messages.
    pub spec: String,
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups. With a GROUP named, that group alone (gosu, Docker and
    /// runc give no other). Without, as `initgroups` sets them: the gid first, then every
    /// group of `/etc/group` that lists the user, in file order, each once.
    pub groups: Vec<u32>,
    /// `HOME=<home>` when the user has a passwd entry: the child gets it if `HOME` is unset.
    pub home: Option<CString>,
}

/// Who reaper itself runs as, read before the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Real, effective and saved uid.
    pub uids: [u32; 3],
    /// Real, effective and saved gid.
    pub gids: [u32; 3],
    pub groups: Vec<u32>,
}

impl Current {
    /// reaper's uids and gids are all the ones `id` asks for: no id needs switching
    /// (`docker run --user 1000`, Kubernetes' `runAsUser`, with `REAPER_USER` in the image).
    pub fn has_ids_of(&self, id: &Identity) -> bool {
        self.uids == [id.uid; 3] && self.gids == [id.gid; 3]
    }

    /// reaper's supplementary groups are `id`'s, in any order.
    pub fn has_groups_of(&self, id: &Identity) -> bool {
        let set = |g: &[u32]| {
            let mut g = g.to_vec();
            g.sort_unstable();
            g.dedup();
            g
        };
        set(&self.groups) == set(&id.groups)
    }

    /// "uid 1000, gid 1000", or each of real/effective/saved when they differ.
    pub fn describe(&self) -> String {
        let ids = |ids: [u32; 3]| match ids {
            [r, e, s] if r == e && e == s => r.to_string(),
            [r, e, s] => format!("{r}/{e}/{s} (real/effective/saved)"),
        };
        format!("uid {}, gid {}", ids(self.uids), ids(self.gids))
    }
}

/// One `/etc/passwd` entry, as far as the switch needs it.
#[derive(Debug, PartialEq, Eq)]
struct Passwd<'a> {
    name: &'a [u8],
    uid: u32,
    gid: u32,
    home: &'a [u8],
}

/// Reads `/etc/passwd` and `/etc/group` and resolves `spec`. A missing file is an empty
/// one (numeric ids need no entry); any other read error is reported.
pub fn lookup(spec: &OsStr) -> Result<Identity, Error> {
    let read = |path: &str| match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::other(format!(
            "cannot read {path} for --user '{}': {}",
            shown(spec.as_bytes()),
            Error::from(e)
        ))),
    };
    resolve(spec.as_bytes(), &read("/etc/passwd")?, &read("/etc/group")?)
}

/// What an entry is looked up by.
#[derive(Clone, Copy)]
enum Key<'a> {
    Name(&'a [u8]),
    Id(u32),
}

/// `USER[:GROUP]` against the contents of `/etc/passwd` and `/etc/group`. Names are bytes,
/// as in the files: they need not be UTF-8.
pub fn resolve(spec: &[u8], passwd: &[u8], group: &[u8]) -> Result<Identity, Error> {
    let shown_spec = shown(spec);
    let bad = |why: String| Error::usage(format!("--user '{shown_spec}': {why}"));
    let (user, group_spec) = match spec.iter().position(|&c| c == b':') {
        Some(colon) => (&spec[..colon], Some(&spec[colon + 1..])),
        None => (spec, None),
    };
    check_name(user, "user").map_err(bad)?;
    if let Some(g) = group_spec {
        check_name(g, "group").map_err(bad)?;
    }
    let entry = match numeric(user, "uid").map_err(bad)? {
        Some(uid) => find_passwd(passwd, Key::Id(uid)).map_err(bad)?,
        None => Some(
            find_passwd(passwd, Key::Name(user))
                .map_err(bad)?
                .ok_or_else(|| bad(format!("no user '{}' in /etc/passwd", shown(user))))?,
        ),
    };
    let uid = match &entry {
        Some(e) => e.uid,
        None => numeric(user, "uid").map_err(bad)?.unwrap_or(0),
    };
    let gid = match group_spec {
        Some(g) => match numeric(g, "gid").map_err(bad)? {
            Some(gid) => gid,
            None => find_group_gid(group, g)
                .map_err(bad)?
                .ok_or_else(|| bad(format!("no group '{}' in /etc/group", shown(g))))?,
        },
        // As Docker's and gosu's `--user 1000`: no entry, no group given, the root group.
        None => entry.as_ref().map_or(0, |e| e.gid),
    };
    let mut groups = vec![gid];
    // With a group named, that group alone, as Docker and su-exec set it (gosu sets an
    // empty list: the same access, the gid being that group): no group of /etc/group is
    // added behind the back of whoever named one.
    if let (None, Some(e)) = (group_spec, &entry) {
        for g in member_of(group, e.name) {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    let home = match &entry {
        Some(e) => Some(
            CString::new([b"HOME=", e.home].concat())
                .map_err(|_| bad("a NUL byte in its home directory".into()))?,
        ),
        None => None,
    };
    Ok(Identity {
        spec: shown_spec.clone(),
        uid,
        gid,
        groups,
        home,
    })
}

fn check_name(name: &[u8], what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("empty {what}"));
    }
    if name.len() > MAX_NAME {
        return Err(format!("{what} name longer than {MAX_NAME} bytes"));
    }
    Ok(())
}

/// `Some(id)` when `word` is all digits; an error when it is, but does not fit an id.
fn numeric(word: &[u8], what: &str) -> Result<Option<u32>, String> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    parse_id(word)
        .map(Some)
        .ok_or_else(|| format!("{what} '{}' is not an id from 0 to 4294967294", shown(word)))
}

/// A decimal id from 0 to 2^32 - 2; `(uid_t)-1` means "unchanged" to the kernel.
fn parse_id(field: &[u8]) -> Option<u32> {
    if field.is_empty() || field.len() > 10 || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = field.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0'));
    u32::try_from(n).ok().filter(|&id| id != u32::MAX)
}

/// Lines of a passwd or group file that are entries: blank lines, `#` comments and the
/// NIS `+`/`-` lines (which only NSS understands) are not.
fn entries(file: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    file.split(|&c| c == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.is_empty() && !matches!(l[0], b'#' | b'+' | b'-'))
}

/// Field `n` (from 0) of a line, empty when the line has fewer: glibc's parser reads a
/// missing trailing field as an empty one.
fn field(line: &[u8], n: usize) -> &[u8] {
    line.split(|&c| c == b':').nth(n).unwrap_or_default()
}

/// `name:password:uid:gid:gecos:home:shell`, read as glibc's parser reads it: the name,
/// uid and gid must be there; a missing gecos, home or shell is empty (`app:x:1000:1000::/home/app`,
/// without the shell, is a good entry) and what follows the shell is ignored.
fn parse_passwd(line: &[u8]) -> Result<Passwd<'_>, &'static str> {
    let name = field(line, 0);
    if name.is_empty() || name.len() > MAX_NAME {
        return Err("bad name");
    }
    Ok(Passwd {
        name,
        uid: parse_id(field(line, 2)).ok_or("bad uid")?,
        gid: parse_id(field(line, 3)).ok_or("bad gid")?,
        home: field(line, 5),
    })
}

/// The first entry under `key`, as `getpwnam`/`getpwuid` find it. Malformed lines are
/// skipped, as the C library does, except one that is the entry looked for (its name, or
/// its uid): that one is an error, so that an entry that cannot be used is reported, never
/// read as missing (which, for a uid, would mean the root group).
fn find_passwd<'a>(file: &'a [u8], key: Key) -> Result<Option<Passwd<'a>>, String> {
    for (n, line) in entries(file) {
        let is_key = |name: &[u8], uid: Option<u32>| match key {
            Key::Name(wanted) => name == wanted,
            Key::Id(wanted) => uid == Some(wanted),
        };
        match parse_passwd(line) {
            Ok(e) if is_key(e.name, Some(e.uid)) => return Ok(Some(e)),
            Ok(_) => {}
            Err(why) if is_key(field(line, 0), parse_id(field(line, 2))) => {
                return Err(format!("malformed /etc/passwd line {n} ({why})"));
            }
            Err(_) => {}
        }
    }
    Ok(None)
}

/// `name:password:gid:member,member,...`, as glibc reads it: a missing member list is an
/// empty one; what follows it is ignored.
fn parse_group(line: &[u8]) -> Option<(&[u8], u32, impl Iterator<Item = &[u8]>)> {
    let name = field(line, 0);
    if name.is_empty() {
        return None;
    }
    let gid = parse_id(field(line, 2))?;
    let members = field(line, 3)
        .split(|&c| c == b',')
        .filter(|m| !m.is_empty());
    Some((name, gid, members))
}

/// The gid of group `name`; a malformed line under that name is an error.
fn find_group_gid(file: &[u8], name: &[u8]) -> Result<Option<u32>, String> {
    for (n, line) in entries(file) {
        match parse_group(line) {
            Some((g, gid, _)) if g == name => return Ok(Some(gid)),
            Some(_) => {}
            None if field(line, 0) == name => {
                return Err(format!("malformed /etc/group line {n}"));
            }
            None => {}
        }
    }
    Ok(None)
}

/// The gids of the groups that list `user` as a member, in file order (malformed lines
/// skipped, as `getgrouplist` does).
fn member_of(file: &[u8], user: &[u8]) -> Vec<u32> {
    entries(file)
        .filter_map(|(_, line)| parse_group(line))
        .filter_map(|(_, gid, mut members)| members.any(|m| m == user).then_some(gid))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\n\
        # a comment\n\
        \n\
        +nis\n\
        app:x:1000:1000:App,,,:/home/app:/bin/sh\n\
        other:x:1001:1001::/home/other:/bin/sh\n\
        broken:x:12:\n\
        huge:x:4294967296:1::/:/bin/sh\n\
        app:x:2000:2000::/shadowed:/bin/sh\n\
        crlf:x:1002:1002::/home/crlf:/bin/sh\r\n\
        six:x:1003:1003::/home/six\n\
        extra:x:1004:1004::/home/extra:/bin/sh:more:fields\n\
        four:x:1005:1005\n\
        badgid:x:1006:zz::/home/badgid:/bin/sh\n\
        badgid2:x:1006:1006::/later:/bin/sh\n\
        \xffbin\xfe:x:1007:1007::/home/\xff:/bin/sh\n";
    const GROUP: &[u8] = b"root:x:0:\n\
        app:x:1000:\n\
        staff:x:50:other,app\n\
        audio:x:29:app\n\
        dup:x:29:app\n\
        video:x:44:appx,xapp\n\
        bad:x:nope:app\n\
        self:x:1000:app\n\
        broken:x\n\
        short:x:60\n\
        long:x:61:six:more\n\
        \xffgr:x:62:\xffbin\xfe\n";

    fn ok(spec: &str) -> Identity {
        resolve(spec.as_bytes(), PASSWD, GROUP).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn err(spec: &str) -> String {
        match resolve(spec.as_bytes(), PASSWD, GROUP) {
            Err(e) => {
                assert_eq!(e.status(), 2, "{e}");
                assert!(!e.to_string().contains('\n'));
                e.to_string()
            }
            Ok(id) => panic!("{spec} should fail, gave {id:?}"),
        }
    }

    #[test]
    fn names_give_the_entry_and_the_groups_that_list_it() {
        let id = ok("app");
        assert_eq!((id.uid, id.gid), (1000, 1000));
        assert_eq!(
            id.groups,
            [1000, 50, 29],
            "gid first, then file order, each once"
        );
        assert_eq!(id.home.as_deref(), Some(c"HOME=/home/app"));
        assert_eq!(ok("root").groups, [0]);
        assert_eq!(ok("crlf").home.as_deref(), Some(c"HOME=/home/crlf"));
    }

    #[test]
    fn numeric_ids_need_no_entry_but_use_one() {
        let id = ok("1000");
        assert_eq!((id.uid, id.gid, id.groups.len()), (1000, 1000, 3));
        assert_eq!(id.home.as_deref(), Some(c"HOME=/home/app"));
        let id = ok("4242");
        assert_eq!((id.uid, id.gid), (4242, 0));
        assert_eq!((id.groups, id.home), (vec![0], None));
        let id = ok("4242:4343");
        assert_eq!((id.uid, id.gid, id.groups), (4242, 4343, vec![4343]));
        assert_eq!(ok("4294967294").uid, 4294967294);
        assert_eq!(ok("0").uid, 0);
    }

    /// As gosu and Docker: `USER:GROUP` is that group alone, not the groups that list USER.
    #[test]
    fn a_group_named_is_the_only_group() {
        let id = ok("app:staff");
        assert_eq!((id.uid, id.gid), (1000, 50));
        assert_eq!(id.groups, [50]);
        let id = ok("other:7");
        assert_eq!((id.uid, id.gid, id.groups), (1001, 7, vec![7]));
        let id = ok("1000:1000");
        assert_eq!((id.uid, id.gid, id.groups), (1000, 1000, vec![1000]));
        assert_eq!(id.home.as_deref(), Some(c"HOME=/home/app"));
    }

    /// glibc (`getent passwd`), runc and gosu read these lines; a numeric uid that finds
    /// one gets its gid and home, never the root group.
    #[test]
    fn entries_are_read_as_glibc_reads_them() {
        for spec in ["six", "1003"] {
            let id = ok(spec);
            assert_eq!((id.uid, id.gid, id.groups), (1003, 1003, vec![1003, 61]));
            assert_eq!(id.home.as_deref(), Some(c"HOME=/home/six"), "{spec}");
        }
        let id = ok("1004");
        assert_eq!(
            (id.gid, id.home.as_deref()),
            (1004, Some(c"HOME=/home/extra"))
        );
        let id = ok("four");
        assert_eq!(
            (id.uid, id.gid, id.home.as_deref()),
            (1005, 1005, Some(c"HOME="))
        );
        assert_eq!(ok("app:short").groups, [60]);
        // An entry found by its uid that cannot be used fails closed.
        assert!(err("1006").contains("malformed /etc/passwd line 14 (bad gid)"));
        assert!(err("12").contains("malformed /etc/passwd line 7 (bad gid)"));
    }

    #[test]
    fn names_need_not_be_utf8() {
        let id = resolve(b"\xffbin\xfe", PASSWD, GROUP).unwrap();
        assert_eq!((id.uid, id.gid, id.groups), (1007, 1007, vec![1007, 62]));
        assert_eq!(id.spec, "\\xffbin\\xfe");
        assert_eq!(id.home.as_deref(), Some(c"HOME=/home/\xff"));
        assert_eq!(resolve(b"app:\xffgr", PASSWD, GROUP).unwrap().groups, [62]);
        let e = resolve(b"\xfe", PASSWD, GROUP).unwrap_err();
        assert!(e.to_string().contains("no user '\\xfe'"), "{e}");
    }

    #[test]
    fn who_reaper_is() {
        let id = ok("app");
        let me = Current {
            uids: [1000; 3],
            gids: [1000; 3],
            groups: vec![29, 50, 1000, 29],
        };
        assert!(me.has_ids_of(&id) && me.has_groups_of(&id));
        assert_eq!(me.describe(), "uid 1000, gid 1000");
        let other = Current {
            uids: [1000, 1000, 0],
            groups: vec![1000],
            ..me
        };
        assert!(!other.has_ids_of(&id) && !other.has_groups_of(&id));
        assert_eq!(
            other.describe(),
            "uid 1000/1000/0 (real/effective/saved), gid 1000"
        );
    }

    #[test]
    fn errors_name_the_spec_and_the_reason() {
        assert!(err("nobody").contains("no user 'nobody' in /etc/passwd"));
        assert!(err("app:nogroup").contains("no group 'nogroup' in /etc/group"));
        assert!(err("broken").contains("malformed /etc/passwd line 7"));
        assert!(err("huge").contains("malformed /etc/passwd line 8 (bad uid)"));
        assert!(err("app:broken").contains("malformed /etc/group line 9"));
        assert!(err("app:bad").contains("malformed /etc/group line 7"));
        assert!(err(&"a".repeat(256)).contains("longer than 255"));
        assert!(err(&format!("app:{}", "g".repeat(256))).contains("longer than 255"));
        assert!(err("4294967295").contains("not an id"), "(uid_t)-1");
        assert!(err("4294967296").contains("not an id"));
        assert!(err("99999999999999999999").contains("not an id"));
        assert!(err("app:4294967295").contains("gid '4294967295'"));
        assert!(err("").contains("empty user"));
        assert!(err(":app").contains("empty user"));
        assert!(err("app:").contains("empty group"));
        assert!(err("x\ny").contains("'x\\ny'"), "one line");
        // The name exactly at the limit is merely unknown.
        assert!(err(&"a".repeat(255)).contains("no user"));
    }

    #[test]
    fn ids_and_lines() {
        assert_eq!(parse_id(b"0"), Some(0));
        assert_eq!(parse_id(b"007"), Some(7));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"0x10",
            b"4294967295",
            b"12345678901",
        ] {
            assert_eq!(parse_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            parse_passwd(b"a:x:1:2::/h:").map(|e| e.home),
            Ok(&b"/h"[..])
        );
        assert_eq!(parse_passwd(b"a:x:1:2::/h").map(|e| e.home), Ok(&b"/h"[..]));
        assert_eq!(
            parse_passwd(b"a:x:1:2::/h::").map(|e| e.home),
            Ok(&b"/h"[..])
        );
        assert_eq!(parse_passwd(b"a:x:1:2").map(|e| e.home), Ok(&b""[..]));
        assert!(parse_passwd(b"a:x:1").is_err());
        assert!(parse_passwd(b"a:x:1:").is_err());
        assert!(parse_passwd(b":x:1:2::/h:/bin/sh").is_err());
        assert!(parse_passwd(b"a:x:1:-1::/h:/bin/sh").is_err());
        assert_eq!(member_of(GROUP, b"app"), [50, 29, 29, 1000]);
        assert_eq!(member_of(GROUP, b"six"), [61]);
        assert_eq!(member_of(GROUP, b"nobody"), [] as [u32; 0]);
        assert_eq!(member_of(b"", b"app"), [] as [u32; 0]);
    }
}
