//! `--user USER[:GROUP]` → the ids the child switches to, read from the image's own
//! `/etc/passwd` and `/etc/group`.
//!
//! No NSS: reaper is a static binary, and a container's users are its files. The files are
//! read before the clone; the parsing is pure and unit-tested. This module makes no
//! system call but the two reads: the switch itself happens in the child (`spawn`).
//!
//! Fail closed: a spec that names no entry, an entry that does not parse, or an id that
//! does not fit is an error before anything runs, never a silent fallback to root.
//! `4294967295` is refused as an id: it is `(uid_t)-1`, which `setresuid` takes for
//! "leave unchanged", so the child would stay root.

use std::ffi::CString;

use crate::error::Error;

/// Longer names are refused outright: Linux's `LOGIN_NAME_MAX` is 256 with the NUL.
pub const MAX_NAME: usize = 255;

/// Whom the child becomes, as prepared before the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The spec as given, for messages.
    pub spec: String,
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups, as `initgroups` would set them: the gid first, then every
    /// group of `/etc/group` that lists the user, in file order, each once.
    pub groups: Vec<u32>,
    /// `HOME=<home>` when the user has a passwd entry: the child gets it if `HOME` is unset.
    pub home: Option<CString>,
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
pub fn lookup(spec: &str) -> Result<Identity, Error> {
    let read = |path: &str| match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::other(format!(
            "cannot read {path} for --user '{}': {}",
            crate::error::one_line(spec),
            Error::from(e)
        ))),
    };
    resolve(spec, &read("/etc/passwd")?, &read("/etc/group")?)
}

/// `USER[:GROUP]` against the contents of `/etc/passwd` and `/etc/group`.
pub fn resolve(spec: &str, passwd: &[u8], group: &[u8]) -> Result<Identity, Error> {
    let bad =
        |why: String| Error::usage(crate::error::one_line(&format!("--user '{spec}': {why}")));
    let (user, group_spec) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    check_name(user, "user").map_err(bad)?;
    if let Some(g) = group_spec {
        check_name(g, "group").map_err(bad)?;
    }
    let entry = match numeric(user, "uid").map_err(bad)? {
        Some(uid) => find_passwd(passwd, |e| e.uid == uid, None).map_err(bad)?,
        None => Some(
            find_passwd(passwd, |e| e.name == user.as_bytes(), Some(user.as_bytes()))
                .map_err(bad)?
                .ok_or_else(|| bad(format!("no user '{user}' in /etc/passwd")))?,
        ),
    };
    let uid = match &entry {
        Some(e) => e.uid,
        None => numeric(user, "uid").map_err(bad)?.unwrap_or(0),
    };
    let gid = match group_spec {
        Some(g) => match numeric(g, "gid").map_err(bad)? {
            Some(gid) => gid,
            None => find_group_gid(group, g.as_bytes())
                .map_err(bad)?
                .ok_or_else(|| bad(format!("no group '{g}' in /etc/group")))?,
        },
        // As Docker's and gosu's `--user 1000`: no entry, no group given, the root group.
        None => entry.as_ref().map_or(0, |e| e.gid),
    };
    let mut groups = vec![gid];
    if let Some(e) = &entry {
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
        spec: spec.to_string(),
        uid,
        gid,
        groups,
        home,
    })
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("empty {what}"));
    }
    if name.len() > MAX_NAME {
        return Err(format!("{what} name longer than {MAX_NAME} bytes"));
    }
    Ok(())
}

/// `Some(id)` when `word` is all digits; an error when it is, but does not fit an id.
fn numeric(word: &str, what: &str) -> Result<Option<u32>, String> {
    if word.is_empty() || !word.bytes().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    parse_id(word.as_bytes())
        .map(Some)
        .ok_or_else(|| format!("{what} '{word}' is not an id from 0 to 4294967294"))
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

/// `name:password:uid:gid:gecos:home:shell`.
fn parse_passwd(line: &[u8]) -> Result<Passwd<'_>, &'static str> {
    let fields: Vec<&[u8]> = line.split(|&c| c == b':').collect();
    if fields.len() != 7 {
        return Err("not 7 fields");
    }
    if fields[0].is_empty() || fields[0].len() > MAX_NAME {
        return Err("bad name");
    }
    Ok(Passwd {
        name: fields[0],
        uid: parse_id(fields[2]).ok_or("bad uid")?,
        gid: parse_id(fields[3]).ok_or("bad gid")?,
        home: fields[5],
    })
}

/// The first entry that `wanted` accepts, as `getpwnam`/`getpwuid` find it. Malformed
/// lines are skipped, as the C library does, except one under the name looked for: that
/// one is an error, so that a broken entry is reported rather than read as missing.
fn find_passwd<'a>(
    file: &'a [u8],
    wanted: impl Fn(&Passwd) -> bool,
    name: Option<&[u8]>,
) -> Result<Option<Passwd<'a>>, String> {
    for (n, line) in entries(file) {
        match parse_passwd(line) {
            Ok(e) if wanted(&e) => return Ok(Some(e)),
            Ok(_) => {}
            Err(why) if name.is_some_and(|name| first_field(line) == name) => {
                return Err(format!("malformed /etc/passwd line {n} ({why})"));
            }
            Err(_) => {}
        }
    }
    Ok(None)
}

fn first_field(line: &[u8]) -> &[u8] {
    line.split(|&c| c == b':').next().unwrap_or_default()
}

/// `name:password:gid:member,member,...`: the name, gid and members.
fn parse_group(line: &[u8]) -> Option<(&[u8], u32, impl Iterator<Item = &[u8]>)> {
    let fields: Vec<&[u8]> = line.split(|&c| c == b':').collect();
    if fields.len() != 4 || fields[0].is_empty() {
        return None;
    }
    let gid = parse_id(fields[2])?;
    let members = fields[3].split(|&c| c == b',').filter(|m| !m.is_empty());
    Some((fields[0], gid, members))
}

/// The gid of group `name`; a malformed line under that name is an error.
fn find_group_gid(file: &[u8], name: &[u8]) -> Result<Option<u32>, String> {
    for (n, line) in entries(file) {
        match parse_group(line) {
            Some((g, gid, _)) if g == name => return Ok(Some(gid)),
            Some(_) => {}
            None if first_field(line) == name => {
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
        crlf:x:1002:1002::/home/crlf:/bin/sh\r\n";
    const GROUP: &[u8] = b"root:x:0:\n\
        app:x:1000:\n\
        staff:x:50:other,app\n\
        audio:x:29:app\n\
        dup:x:29:app\n\
        video:x:44:appx,xapp\n\
        bad:x:nope:app\n\
        self:x:1000:app\n\
        broken:x\n";

    fn ok(spec: &str) -> Identity {
        resolve(spec, PASSWD, GROUP).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn err(spec: &str) -> String {
        match resolve(spec, PASSWD, GROUP) {
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

    #[test]
    fn a_group_replaces_the_primary_one() {
        let id = ok("app:staff");
        assert_eq!((id.uid, id.gid), (1000, 50));
        assert_eq!(id.groups, [50, 29, 1000]);
        let id = ok("other:7");
        assert_eq!((id.uid, id.gid, id.groups), (1001, 7, vec![7, 50]));
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
        assert!(parse_passwd(b"a:x:1:2::/h").is_err());
        assert!(parse_passwd(b"a:x:1:2::/h::").is_err());
        assert!(parse_passwd(b":x:1:2::/h:/bin/sh").is_err());
        assert!(parse_passwd(b"a:x:1:-1::/h:/bin/sh").is_err());
        assert_eq!(member_of(GROUP, b"app"), [50, 29, 29, 1000]);
        assert_eq!(member_of(GROUP, b"nobody"), [] as [u32; 0]);
        assert_eq!(member_of(b"", b"app"), [] as [u32; 0]);
    }
}
