//! Options as text: durations as humans write them (`500ms`), and the serde forms a saved plan
//! uses, so that `sweep.json` reads like the command line that made it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration read and written as humans write it (`10s`, `500ms`, `1m`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&humantime::format_duration(self.0), f)
    }
}

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(HumanDuration)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("bad duration {text:?}: {e}")))
    }
}

/// A value saved as its `Display` text and read back with `FromStr` (a protocol, an SLO).
pub mod display {
    use super::*;

    /// Writes `value` as its text.
    pub fn serialize<T: fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a value from its text.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("bad value {text:?}: {e}")))
    }
}

/// An optional value saved as its `Display` text (`null` when absent).
pub mod display_opt {
    use super::*;

    /// Writes `value` as its text, or `null`.
    pub fn serialize<T: fmt::Display, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional value from its text.
    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
        D: Deserializer<'de>,
    {
        Option::<String>::deserialize(d)?
            .map(|text| {
                text.parse()
                    .map_err(|e| serde::de::Error::custom(format!("bad value {text:?}: {e}")))
            })
            .transpose()
    }
}

/// Models saved by name (`"mio"`).
pub mod models {
    use results_model::Model;

    use super::*;

    /// Writes the models' names.
    pub fn serialize<S: Serializer>(models: &[Model], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(models.iter().map(|m| m.name()))
    }

    /// Reads models from their names.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Model>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| from_name(name))
            .collect()
    }

    /// The model called `name`, or a serde error naming it.
    pub(super) fn from_name<E: serde::de::Error>(name: &str) -> Result<Model, E> {
        Model::from_name(name).ok_or_else(|| E::custom(format!("unknown model {name:?}")))
    }
}

/// An optional model saved by name.
pub mod model_opt {
    use results_model::Model;

    use super::*;

    /// Writes the model's name, or `null`.
    pub fn serialize<S: Serializer>(model: &Option<Model>, s: S) -> Result<S::Ok, S::Error> {
        match model {
            Some(m) => s.serialize_str(m.name()),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional model from its name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Model>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|name| models::from_name(&name))
            .transpose()
    }
}

/// An optional CPU list saved as its CPU numbers (`[0, 2]`).
pub mod cpus_opt {
    use results_model::CpuList;

    use super::*;

    /// Writes the CPU numbers, or `null`.
    pub fn serialize<S: Serializer>(cpus: &Option<CpuList>, s: S) -> Result<S::Ok, S::Error> {
        cpus.as_ref().map(|c| &c.0).serialize(s)
    }

    /// Reads an optional CPU list from its numbers.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CpuList>, D::Error> {
        Ok(Option::<Vec<usize>>::deserialize(d)?.map(CpuList))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_write_as_humans_do() {
        let d: HumanDuration = "500ms".parse().unwrap();
        assert_eq!(d.get(), Duration::from_millis(500));
        assert_eq!(d.to_string(), "500ms");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"500ms\"");
        let back: HumanDuration = serde_json::from_str("\"1m\"").unwrap();
        assert_eq!(back.get(), Duration::from_secs(60));
        assert!(serde_json::from_str::<HumanDuration>("\"soon\"").is_err());
    }
}
