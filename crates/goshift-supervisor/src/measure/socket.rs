//! Listening sockets and the connections a generation took from them, read from the kernel's
//! TCP tables in `/proc`.
//!
//! For a socket in `LISTEN` state (`st` `0A`), the `rx_queue` column of `/proc/net/tcp{,6}` is
//! the accept queue's current length (connections the kernel completed that nobody accepted
//! yet; the kernel prints `sk_ack_backlog` there). A socket's inode is the `st_ino` of any fd open on it, so the
//! supervisor finds its own listeners' rows without matching addresses.

use std::collections::HashSet;
use std::os::fd::AsRawFd;

/// One row of a TCP table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRow {
    /// The local port.
    pub local_port: u16,
    /// The state: `0x0A` listening, `0x01` established.
    pub state: u8,
    /// `tx_queue`: bytes not yet acknowledged (0 for a listener).
    pub tx_queue: u64,
    /// `rx_queue`: for a listener, connections waiting to be accepted.
    pub rx_queue: u64,
    /// The socket's inode; 0 for a connection no process holds yet (one waiting in a
    /// listener's accept queue).
    pub inode: u64,
    /// The remote end: the address as the table's hex digits read as a number, and the port.
    pub remote: (u128, u16),
}

/// `TCP_LISTEN` in the kernel's numbering.
pub const LISTEN: u8 = 0x0A;
/// `TCP_ESTABLISHED`.
pub const ESTABLISHED: u8 = 0x01;

/// Parses `/proc/net/tcp` or `/proc/net/tcp6`; rows that do not parse are skipped.
pub fn parse_tcp_table(text: &str) -> Vec<TcpRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(fields.get(1)?.rsplit_once(':')?.1, 16).ok()?;
            let (remote_address, remote_port) = fields.get(2)?.rsplit_once(':')?;
            let remote = (
                u128::from_str_radix(remote_address, 16).ok()?,
                u16::from_str_radix(remote_port, 16).ok()?,
            );
            let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
            let (tx, rx) = fields.get(4)?.split_once(':')?;
            Some(TcpRow {
                local_port,
                state,
                tx_queue: u64::from_str_radix(tx, 16).ok()?,
                rx_queue: u64::from_str_radix(rx, 16).ok()?,
                inode: fields.get(9)?.parse().ok()?,
                remote,
            })
        })
        .collect()
}

/// The rows of `/proc/PID/net/tcp` and `tcp6` (of this process's network namespace when
/// `pid` is `None`).
pub fn tables(pid: Option<u32>) -> Vec<TcpRow> {
    let base = pid.map_or_else(|| "/proc/self/net".to_owned(), |p| format!("/proc/{p}/net"));
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| goshift_fs::fs::read_to_string(format!("{base}/{t}")).ok())
        .flat_map(|text| parse_tcp_table(&text))
        .collect()
}

/// The inode of the socket an fd is open on.
pub fn socket_inode(socket: &impl AsRawFd) -> std::io::Result<u64> {
    let path = format!("/proc/self/fd/{}", socket.as_raw_fd());
    let target = goshift_fs::fs::read_link(&path)?;
    target
        .to_str()
        .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "fd {} is not a socket: {}",
                    socket.as_raw_fd(),
                    target.display()
                ),
            )
        })
}

/// The connections waiting in the accept queue of a listening TCP socket of this process, or
/// `None` when it is not in the tables as a listener.
pub fn accept_queue(listener: &impl AsRawFd) -> std::io::Result<Option<u64>> {
    let inode = socket_inode(listener)?;
    Ok(tables(None)
        .into_iter()
        .find(|row| row.inode == inode && row.state == LISTEN)
        .map(|row| row.rx_queue))
}

/// `TCP_CLOSE_WAIT`: the client closed its end.
pub const CLOSE_WAIT: u8 = 0x08;

/// Connections by their remote end (see [`TcpRow::remote`]).
pub type Remotes = HashSet<(u128, u16)>;

/// The connections to `port` in an accept queue, by their remote end, held by no process yet
/// (inode 0): `(waiting, abandoned)`, the established ones and those whose client gave up
/// (`CLOSE_WAIT`; they stay queued until accepted). A connection seen waiting at one look and
/// neither waiting nor abandoned at the next was accepted.
pub fn queued_connections(port: u16) -> (Remotes, Remotes) {
    let mut waiting = Remotes::new();
    let mut abandoned = Remotes::new();
    for row in tables(None) {
        if row.local_port != port || row.inode != 0 {
            continue;
        }
        match row.state {
            ESTABLISHED => {
                waiting.insert(row.remote);
            }
            CLOSE_WAIT => {
                abandoned.insert(row.remote);
            }
            _ => {}
        }
    }
    (waiting, abandoned)
}

/// The inodes of the established TCP connections on `port` that `pid` holds open.
pub fn held_connections(pid: u32, port: u16) -> HashSet<u64> {
    let Ok(entries) = goshift_fs::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    let open: HashSet<u64> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| goshift_fs::fs::read_link(entry.path()).ok())
        .filter_map(|t| {
            t.to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    tables(Some(pid))
        .into_iter()
        .filter(|row| {
            row.state == ESTABLISHED && row.local_port == port && open.contains(&row.inode)
        })
        .map(|row| row.inode)
        .collect()
}

/// Counts the connections a generation accepted: every connection inode seen in its fd table
/// once is one accepted connection, however short-lived its stay between two looks (a
/// connection accepted and closed between two looks is missed: the counter is a lower bound,
/// enough to tell "accepts" from "accepts nothing").
#[derive(Debug, Default)]
pub struct AcceptedCounter {
    seen: HashSet<u64>,
}

impl AcceptedCounter {
    /// Takes in the connections held now; returns the count so far.
    pub fn update(&mut self, held: &HashSet<u64>) -> u64 {
        self.seen.extend(held);
        self.seen.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000080:00000003 00:00000000 00000000  1000        0 424242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 434343 1 0000000000000000 20 4 30 10 -1
   2: garbage
";

    #[test]
    fn parses_listen_and_established_rows() {
        let rows = parse_tcp_table(TABLE);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            TcpRow {
                local_port: 8080,
                state: LISTEN,
                tx_queue: 128,
                rx_queue: 3,
                inode: 424_242,
                remote: (0, 0),
            }
        );
        assert_eq!(rows[1].state, ESTABLISHED);
        assert_eq!(rows[1].inode, 434_343);
        assert_eq!(rows[1].remote, (0x0100_007F, 0xC350));
    }

    #[test]
    fn a_real_listener_queues_connections_nobody_accepts() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            accept_queue(&listener).unwrap(),
            Some(0),
            "listed as a listener"
        );
        let _clients: Vec<TcpStream> = (0..3)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        // The kernel completes the handshakes into the queue before connect returns.
        assert_eq!(accept_queue(&listener).unwrap(), Some(3));
        assert_eq!(queued_connections(port).0.len(), 3);
        let (_server, from) = listener.accept().unwrap();
        assert_eq!(accept_queue(&listener).unwrap(), Some(2));
        let (waiting, _) = queued_connections(port);
        assert_eq!(waiting.len(), 2);
        assert!(
            !waiting.iter().any(|(_, p)| *p == from.port()),
            "the accepted one no longer waits"
        );
        let me = std::process::id();
        let held = held_connections(me, port);
        assert_eq!(held.len(), 1, "the one accepted connection");
        let mut counter = AcceptedCounter::default();
        assert_eq!(counter.update(&held), 1);
        assert_eq!(counter.update(&held), 1, "seen again, counted once");
        let (_second, _) = listener.accept().unwrap();
        assert_eq!(counter.update(&held_connections(me, port)), 2);
    }

    #[test]
    fn a_file_is_not_a_socket() {
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(
            socket_inode(&file)
                .unwrap_err()
                .to_string()
                .contains("not a socket")
        );
    }
}
