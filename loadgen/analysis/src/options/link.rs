//! `--link-delay` and `--link-jitter`, shared by `loadgen run` and `loadgen sweep`.

use clap::Args;
use results_model::Link;
use serde::{Deserialize, Serialize};

use super::text::HumanDuration;

/// Options of the delayed link between loadgen and the server it starts.
#[derive(Args, Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkArgs {
    /// Put `echo-proxy` between the clients and the server loadgen starts, delaying every
    /// byte this long each way (a round trip adds twice this), e.g. 10ms. Needs echo-proxy next
    /// to loadgen (`cargo build --release -p servers-proxy`); refused with --addr.
    #[arg(long, value_name = "DUR")]
    #[serde(default)]
    pub link_delay: Option<HumanDuration>,
    /// Uniform jitter around --link-delay, each way (e.g. 1ms: 9 to 11 ms).
    #[arg(long, value_name = "DUR", requires = "link_delay")]
    #[serde(default)]
    pub link_jitter: Option<HumanDuration>,
}

impl LinkArgs {
    /// The link these options ask for; `None` without `--link-delay`.
    pub fn link(&self) -> Option<Link> {
        self.link_delay.map(|delay| Link {
            delay: delay.get(),
            jitter: self.link_jitter.unwrap_or_default().get(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        link: LinkArgs,
    }

    #[test]
    fn delay_and_jitter_make_a_link() {
        let cmd =
            Cmd::try_parse_from(["x", "--link-delay", "10ms", "--link-jitter", "1ms"]).unwrap();
        let link = cmd.link.link().unwrap();
        assert_eq!(link.delay, Duration::from_millis(10));
        assert_eq!(link.jitter, Duration::from_millis(1));
        assert_eq!(Cmd::try_parse_from(["x"]).unwrap().link.link(), None);
        assert!(
            Cmd::try_parse_from(["x", "--link-jitter", "1ms"]).is_err(),
            "jitter needs a delay"
        );
    }
}
