//! A delayed link between loadgen and the server it starts: `echo-proxy` in between, holding
//! every byte for a delay (± jitter) in each direction, so a round trip takes twice the delay.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The delay stage put between the clients and a server loadgen starts (`--link-delay`,
/// `--link-jitter`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Link {
    /// One-way delay, each direction (a round trip adds twice this).
    #[serde(rename = "delay_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub delay: Duration,
    /// Uniform jitter around the delay, each direction (delay ± jitter).
    #[serde(rename = "jitter_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub jitter: Duration,
}

impl Link {
    /// `10ms ± 1ms each way (echo-proxy)`, for summaries.
    pub fn describe(&self) -> String {
        let ms = |d: Duration| {
            let ms = d.as_secs_f64() * 1e3;
            if ms.fract() == 0.0 {
                format!("{ms:.0}ms")
            } else {
                format!("{ms}ms")
            }
        };
        if self.jitter.is_zero() {
            format!("{} each way (echo-proxy)", ms(self.delay))
        } else {
            format!(
                "{} ± {} each way (echo-proxy)",
                ms(self.delay),
                ms(self.jitter)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_and_round_trips() {
        let link = Link {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(1),
        };
        assert_eq!(link.describe(), "10ms ± 1ms each way (echo-proxy)");
        let json = serde_json::to_string(&link).unwrap();
        assert_eq!(json, r#"{"delay_s":0.01,"jitter_s":0.001}"#);
        assert_eq!(serde_json::from_str::<Link>(&json).unwrap(), link);
        let half = Link {
            delay: Duration::from_micros(2500),
            jitter: Duration::ZERO,
        };
        assert_eq!(half.describe(), "2.5ms each way (echo-proxy)");
    }

    #[test]
    fn a_link_needs_a_server_loadgen_starts() {
        let link = Link {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        };
        let mut config = crate::RunConfig::new("mio", 1);
        config.link = Some(link);
        assert!(config.validate().is_ok());
        config.target = crate::Target::External {
            addr: ([127, 0, 0, 1], 7).into(),
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("--link-delay") && err.contains("echo-proxy"),
            "{err}"
        );
    }
}
