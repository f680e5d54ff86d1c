//! The concurrency models, one file each. A model is an I/O driver around [`proto::Conn`]:
//! it decides how to wait for sockets and never parses a message itself.

pub mod compio;
pub mod glommio;
pub mod may;
pub mod mio;
pub mod monoio;
pub mod poll;
pub mod reactor_pool;
pub mod select;
pub mod smol;
pub mod thread_per_core;
pub mod threads;
pub mod tokio;
pub mod uring;

use std::net::TcpListener;

use crate::config::Model;
use crate::context::Context;

/// Runs `model` on `listener` until `ctx.shutdown` fires and every connection is closed.
pub fn run(model: Model, listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    match model {
        Model::Threads => threads::run(listener, ctx),
        Model::Select => select::run(listener, ctx),
        Model::Poll => poll::run(listener, ctx),
        Model::Mio => mio::run(listener, ctx),
        Model::Tokio => tokio::run(listener, ctx, tokio::Flavor::MultiThread),
        Model::TokioCurrentThread => tokio::run(listener, ctx, tokio::Flavor::CurrentThread),
        Model::ThreadPerCore => thread_per_core::run(listener, ctx),
        Model::ReactorPool => reactor_pool::run(listener, ctx),
        Model::Uring => uring::run(listener, ctx),
        Model::Monoio => monoio::run(listener, ctx),
        Model::Smol => smol::run(listener, ctx),
        Model::Compio => compio::run(listener, ctx),
        Model::Glommio => glommio::run(listener, ctx),
        Model::May => may::run(listener, ctx),
    }
}
