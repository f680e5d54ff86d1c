//! Where loadgen's threads and the server's go: a default thread count that leaves a server
//! started on the same machine the CPUs it needs, and a warning when the two together ask for
//! more CPUs than they may run on (two busy threads sharing one CPU queue behind each other,
//! and the wait shows up as server latency).

use results_model::Model;

use results_model::config::{RunConfig, Target};

/// CPUs this process may run on (its affinity mask), at least 1.
pub fn allowed_cpus() -> usize {
    nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .count()
        })
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Busy threads a model's server runs with on `cpus` CPUs (`workers` when given): one for the
/// single-loop models, half the CPUs (at least one) for the multi-threaded ones, which
/// spread over every CPU but share them with the load generator.
pub(crate) fn server_threads(model: Model, workers: Option<usize>, cpus: usize) -> usize {
    match model {
        Model::Select | Model::Poll | Model::Mio | Model::TokioCurrentThread | Model::Uring => 1,
        Model::Tokio
        | Model::ThreadPerCore
        | Model::ReactorPool
        | Model::Threads
        | Model::Monoio
        | Model::Smol
        | Model::Compio
        | Model::Glommio
        | Model::May => workers.unwrap_or(cpus.div_ceil(2)).max(1),
    }
}

/// Default loadgen worker threads: every CPU against an external server; with a child server
/// of `model`, the CPUs it leaves (at least one).
pub fn default_threads(model: Option<Model>, cpus: usize) -> usize {
    match model {
        Some(m) => cpus.saturating_sub(server_threads(m, None, cpus)).max(1),
        None => cpus.max(1),
    }
}

/// Default threads against an external server at `addr`: on loopback the server shares this
/// machine, so it keeps at least one CPU; elsewhere every CPU.
pub fn default_threads_for_addr(addr: std::net::SocketAddr, cpus: usize) -> usize {
    if addr.ip().is_loopback() {
        cpus.saturating_sub(1).max(1)
    } else {
        cpus.max(1)
    }
}

/// `--workers N` among a child server's arguments.
fn workers_arg(args: &[String]) -> Option<usize> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--workers=") {
            return v.parse().ok();
        }
        if a == "--workers" {
            return it.next().and_then(|v| v.parse().ok());
        }
    }
    None
}

/// Warnings about threads that must share CPUs during `config`'s run.
pub(crate) fn warnings(config: &RunConfig, threads: usize, cpus: usize) -> Vec<String> {
    let Target::Spawn {
        model,
        server_args,
        server_pin,
        ..
    } = &config.target
    else {
        return Vec::new();
    };
    let Some(m) = Model::from_name(model) else {
        return Vec::new();
    };
    let server_cpus = server_pin.as_ref().map_or(cpus, Vec::len).max(1);
    let server = server_threads(m, workers_arg(server_args), server_cpus);
    let mut out = Vec::new();
    match (&config.pin, server_pin) {
        (Some(pin), Some(spin)) if pin.iter().all(|c| !spin.contains(c)) => {
            if threads > pin.len() {
                out.push(format!(
                    "{threads} loadgen threads share {} pinned CPU(s): they queue behind each \
                     other and their lateness reads as server latency",
                    pin.len()
                ));
            }
            if server > spin.len() {
                out.push(format!(
                    "{server} busy server threads share {} pinned CPU(s): latency includes \
                     their wait for each other",
                    spin.len()
                ));
            }
        }
        _ if threads + server > cpus => out.push(format!(
            "{threads} loadgen threads + {server} busy server thread(s) exceed the {cpus} CPU(s) \
             they run on: whoever waits for a CPU adds latency (try --threads {} or --pin / \
             --server-pin on separate CPUs)",
            cpus.saturating_sub(server).max(1)
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_threads_leave_the_server_its_cpus() {
        assert_eq!(default_threads(Some(Model::Mio), 2), 1);
        assert_eq!(default_threads(Some(Model::Tokio), 2), 1);
        assert_eq!(default_threads(Some(Model::Mio), 8), 7);
        assert_eq!(default_threads(Some(Model::Tokio), 8), 4);
        assert_eq!(default_threads(None, 2), 2);
        assert_eq!(default_threads(Some(Model::Mio), 1), 1);
        let local = "127.0.0.1:7".parse().unwrap();
        let remote = "10.0.0.1:7".parse().unwrap();
        assert_eq!(default_threads_for_addr(local, 2), 1);
        assert_eq!(default_threads_for_addr(remote, 2), 2);
    }

    #[test]
    fn oversubscription_is_warned_about() {
        let mut c = RunConfig::new("tokio", 10);
        assert_eq!(warnings(&c, 1, 2).len(), 0);
        assert_eq!(warnings(&c, 2, 2).len(), 1);
        if let Target::Spawn {
            server_args,
            server_pin,
            ..
        } = &mut c.target
        {
            *server_args = vec!["--workers".into(), "2".into()];
            *server_pin = Some(vec![0]);
        }
        c.pin = Some(vec![1]);
        let w = warnings(&c, 1, 2);
        assert_eq!(w.len(), 1, "two tokio workers pinned to one CPU: {w:?}");
        assert!(w[0].contains("2 busy server threads"));
        assert_eq!(workers_arg(&["--workers=3".to_string()]), Some(3));
    }
}
