//! One thread per worker, each with its own SO_REUSEPORT listener and its own runtime: the shape
//! of the thread-per-core runtimes (monoio, glommio, compio). Every runtime is built before any
//! worker accepts, so a runtime that cannot start fails the server at once, and the fds the
//! runtimes need are taken before clients can use them up.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use anyhow::{anyhow, Context as _};

use crate::context::Context;
use crate::listener::bind;

/// `workers` listeners on `listener`'s port: `listener` itself, then one SO_REUSEPORT sibling
/// for each other worker. All are bound before any is used, so a failure is reported at once.
pub fn reuse_port_listeners(
    listener: TcpListener,
    ctx: &Context,
) -> anyhow::Result<Vec<TcpListener>> {
    let addr = listener.local_addr()?;
    let mut listeners = vec![listener];
    for i in 1..ctx.config.workers.max(1) {
        let l = bind(addr, ctx.config.backlog, true)
            .with_context(|| format!("worker {i}: cannot bind SO_REUSEPORT listener on {addr}"))?;
        listeners.push(l);
    }
    Ok(listeners)
}

/// Runs `serve(runtime, worker, listener, ctx)` on one thread per listener, where `build(worker)`
/// makes the thread's runtime on that thread (runtimes are not `Send`). No worker serves until
/// every runtime is built; if one fails, none serves and its error is returned. A worker whose
/// `serve` fails triggers shutdown, so the server exits instead of serving on with a dead
/// listener.
pub fn run_per_worker<R, B, S>(
    name: &str,
    listeners: Vec<TcpListener>,
    ctx: &Context,
    build: B,
    serve: S,
) -> anyhow::Result<()>
where
    B: Fn(usize) -> anyhow::Result<R> + Send + Sync + Clone + 'static,
    S: Fn(R, usize, TcpListener, Context) -> anyhow::Result<()> + Send + Sync + Clone + 'static,
{
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut handles = Vec::new();
    let mut gates = Vec::new();
    for (worker, listener) in listeners.into_iter().enumerate() {
        let (go_tx, go_rx) = mpsc::channel::<bool>();
        let (ready_tx, build, serve, ctx) =
            (ready_tx.clone(), build.clone(), serve.clone(), ctx.clone());
        let spawned = thread::Builder::new()
            .name(format!("{name}-{worker}"))
            .spawn(move || -> anyhow::Result<()> {
                let runtime = match build(worker) {
                    Ok(rt) => {
                        let _ = ready_tx.send(Ok(()));
                        rt
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                if !go_rx.recv().unwrap_or(false) {
                    return Ok(());
                }
                let served = serve(runtime, worker, listener, ctx.clone());
                if served.is_err() {
                    ctx.shutdown.trigger();
                }
                served
            });
        match spawned {
            Ok(h) => {
                handles.push(h);
                gates.push(go_tx);
            }
            Err(e) => {
                drop(gates);
                join_all(handles)?;
                return Err(anyhow!("cannot spawn worker thread {worker}: {e}"));
            }
        }
    }
    drop(ready_tx);
    let mut build_error = None;
    for ready in ready_rx.iter().take(handles.len()) {
        if let Err(e) = ready {
            build_error
                .get_or_insert(e.context(format!("a {name} worker cannot start its runtime")));
        }
    }
    let go = build_error.is_none();
    for gate in gates {
        let _ = gate.send(go);
    }
    let joined = join_all(handles);
    match build_error {
        Some(e) => Err(e),
        None => joined,
    }
}

/// Joins every worker (even after one failed, so none outlives the model) and returns the first
/// error.
fn join_all(handles: Vec<thread::JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
    let mut first_err = None;
    for (worker, h) in handles.into_iter().enumerate() {
        let result = match h.join() {
            Ok(r) => r.with_context(|| format!("worker {worker} failed")),
            Err(_) => Err(anyhow!("worker {worker} panicked")),
        };
        if let Err(e) = result {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
