//! `loadgen explain RUN.json`: where the server's and loadgen's CPU went per message, from
//! what the result recorded ([`text`]), for results of any readable schema version ([`command`]).

pub mod command;
pub mod text;
