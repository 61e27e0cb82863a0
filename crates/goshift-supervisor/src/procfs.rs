//! Connection counts read from `/proc`: a process's socket inodes matched against the
//! kernel's TCP tables. No sampling, no extra privileges for our own children.

use std::collections::HashSet;

/// Established TCP connections held by `pid`; with `local_port`, only those on that port.
pub(crate) fn established_connections(pid: u32, local_port: Option<u16>) -> usize {
    let Ok(entries) = goshift_fs::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    let inodes: HashSet<u64> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| goshift_fs::fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let text = target.to_str()?.to_owned();
            text.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    if inodes.is_empty() {
        return 0;
    }
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| goshift_fs::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .map(|text| count_established(&text, &inodes, local_port))
        .sum()
}

fn count_established(table: &str, inodes: &HashSet<u64>, local_port: Option<u16>) -> usize {
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "01" {
                return false;
            }
            let port_ok = local_port.is_none_or(|port| {
                fields[1]
                    .rsplit_once(':')
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
                    == Some(port)
            });
            port_ok && fields[9].parse().is_ok_and(|inode| inodes.contains(&inode))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_our_own_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let me = std::process::id();
        assert_eq!(established_connections(me, Some(port)), 1);
        assert!(established_connections(me, None) >= 2);
    }
}
