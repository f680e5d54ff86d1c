//! Opening client connections, and the two OS limits that decide how many there can be: file
//! descriptors and ephemeral ports.
//!
//! Every client is a socket, so the fd soft limit caps the clients per process; it is checked
//! before anything starts, with a message saying what to change. Loopback connections to one
//! destination share ~28k ephemeral ports per source address, so past that (or as soon as the
//! kernel says EADDRNOTAVAIL) clients bind source addresses spread over 127.0.0.2, .3, ...:
//! every address in 127.0.0.0/8 is local on Linux.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Domain, Protocol, Socket, Type};

/// Ephemeral ports per source address past which clients are spread (the machine has
/// 32768–60999 = 28,232; a little is left for everything else).
pub(crate) const PORTS_PER_SOURCE: usize = 28_000;

/// Whether a non-blocking connect finished: Ok(true) connected, Ok(false) still in progress.
pub(crate) fn outcome(stream: &mio::net::TcpStream) -> io::Result<bool> {
    if let Some(err) = stream.take_error()? {
        return Err(err);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// File descriptors a loadgen process needs besides its clients' sockets (epoll instances,
/// timers, pipes to the child, stdio, /proc reads), generously.
pub(crate) const FD_OVERHEAD: u64 = 64;

/// Starts a non-blocking connect to `target`, from `source` if given. The connection completes
/// (or fails) later; the caller waits for writability.
pub(crate) fn start(target: SocketAddr, source: Option<IpAddr>) -> io::Result<mio::net::TcpStream> {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    // Echo messages are small and latency is the measure: never let Nagle hold one back.
    socket.set_tcp_nodelay(true)?;
    if let Some(ip) = source {
        // Pick the port at connect() time, so ports are shared across destinations.
        let _ = nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::IpBindAddressNoPort,
            &true,
        );
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

/// Which source address each client binds: none (the kernel's choice) until spreading is on.
#[derive(Debug)]
pub(crate) struct SourceAddrs {
    /// Spreading is possible only towards loopback IPv4.
    loopback_v4: bool,
    /// How many addresses (127.0.0.2 ..) clients are spread over.
    count: u64,
    spreading: AtomicBool,
}

impl SourceAddrs {
    /// The plan for `clients` connecting to `target`: spread from the start when one source
    /// address cannot have that many ports.
    pub fn new(target: SocketAddr, clients: usize) -> Self {
        let loopback_v4 = matches!(target.ip(), IpAddr::V4(ip) if ip.is_loopback());
        SourceAddrs {
            loopback_v4,
            count: (clients.div_ceil(PORTS_PER_SOURCE / 2) as u64).clamp(2, 250),
            spreading: AtomicBool::new(loopback_v4 && clients > PORTS_PER_SOURCE),
        }
    }

    /// The source address client `id` binds, if any.
    pub fn for_client(&self, id: u64) -> Option<IpAddr> {
        if !self.spreading.load(Ordering::Relaxed) {
            return None;
        }
        Some(IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (id % self.count) as u8,
        )))
    }

    /// Called on EADDRNOTAVAIL: returns true if spreading was possible and is now on (retry).
    pub fn start_spreading(&self) -> bool {
        self.loopback_v4 && !self.spreading.swap(true, Ordering::Relaxed)
    }

    /// How many source addresses are in use.
    pub fn in_use(&self) -> u64 {
        if self.spreading.load(Ordering::Relaxed) {
            self.count
        } else {
            1
        }
    }
}

/// The fd limits of this process: (soft, hard).
pub fn fd_limits() -> io::Result<(u64, u64)> {
    let (soft, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    Ok((soft, hard))
}

/// Checks that `clients` sockets fit under the fd soft limit `soft` (hard limit `hard`), for
/// loadgen and, when `child` is set, for the echo-server child, which inherits the same limit.
/// The error says exactly what to change.
pub fn check_fd_limit(clients: usize, soft: u64, hard: u64, child: bool) -> Result<(), String> {
    let need = clients as u64 + FD_OVERHEAD;
    if need <= soft {
        return Ok(());
    }
    let max_clients = soft.saturating_sub(FD_OVERHEAD).max(1);
    let processes = (clients as u64).div_ceil(max_clients);
    let per_process = (clients as u64).div_ceil(processes);
    let who = if child {
        "loadgen (and the echo-server child, which inherits its limit) each need"
    } else {
        "loadgen needs"
    };
    let raise = if need <= hard {
        format!("  - raise the soft limit: run `ulimit -n {need}` in this shell first (hard limit {hard})")
    } else {
        format!(
            "  - raise the limit: `ulimit -n {need}` needs a hard limit of at least {need} \
             (it is {hard}; raising it takes root / CAP_SYS_RESOURCE or limits.conf)"
        )
    };
    Err(format!(
        "too many clients for the file-descriptor limit: {who} about {need} fds \
         ({clients} client sockets + {FD_OVERHEAD}), but `ulimit -n` is {soft}.\n\
         Do one of:\n{raise}\n\
         \x20 - use fewer clients: --clients {max_clients} or less\n\
         \x20 - split the load over {processes} loadgen processes of --clients {per_process}, each \
         with its own limit, against one server (start it yourself and pass --addr HOST:PORT), \
         then combine their JSON with `loadgen merge A.json B.json ... -o all.json`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_limit_message_says_what_to_change() {
        assert!(check_fd_limit(1000, 20_000, 20_000, true).is_ok());
        let msg = check_fd_limit(30_000, 20_000, 20_000, true).unwrap_err();
        assert!(msg.contains("ulimit -n"), "{msg}");
        assert!(msg.contains("--clients 19936"), "{msg}");
        assert!(
            msg.contains("2 loadgen processes of --clients 15000"),
            "{msg}"
        );
        assert!(msg.contains("loadgen merge"), "{msg}");
        let msg = check_fd_limit(2000, 1024, 4096, false).unwrap_err();
        assert!(msg.contains("ulimit -n 2064"), "{msg}");
    }

    #[test]
    fn a_spread_client_connects_from_its_source_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = listener.local_addr().unwrap();
        let source = IpAddr::from([127, 0, 0, 3]);
        let _stream = start(target, Some(source)).unwrap();
        // The connect completes in the kernel's backlog; accept shows who connected.
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let peer = loop {
            match listener.accept() {
                Ok((_conn, peer)) => break peer,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("no connection within 5 s: {e}"),
            }
        };
        assert_eq!(peer.ip(), source);
    }

    #[test]
    fn spreads_only_towards_loopback_and_when_needed() {
        let lo = SocketAddr::from(([127, 0, 0, 1], 7));
        let few = SourceAddrs::new(lo, 100);
        assert_eq!(few.for_client(5), None);
        assert!(few.start_spreading());
        assert!(!few.start_spreading(), "only once");
        assert_eq!(few.for_client(5), Some(IpAddr::from([127, 0, 0, 3])));
        let many = SourceAddrs::new(lo, 50_000);
        assert_eq!(many.in_use(), 4);
        let remote = SourceAddrs::new(SocketAddr::from(([10, 0, 0, 1], 7)), 50_000);
        assert_eq!(remote.for_client(1), None);
        assert!(!remote.start_spreading());
    }
}
