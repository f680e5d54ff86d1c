//! Which shard this process is, from `--shard I/N` or, without it, from the environment a
//! Kubernetes Indexed Job gives each pod: `JOB_COMPLETION_INDEX` (the pod's index) with
//! `LOADGEN_SHARDS` (the job's completions, set in the manifest).

use anyhow::{bail, Context};
use results_model::ShardSpec;

/// The shard index a Kubernetes Indexed Job gives each pod.
pub(crate) const INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// How many shards the run has (set beside [`INDEX_VAR`]).
pub(crate) const COUNT_VAR: &str = "LOADGEN_SHARDS";

/// The shard to run: `flag` when given, else the one `JOB_COMPLETION_INDEX` and `LOADGEN_SHARDS` name (read
/// through `env`), else none. Only one of the two variables set, or an index not below the
/// count, is an error.
pub fn resolve(
    flag: Option<ShardSpec>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<ShardSpec>> {
    if flag.is_some() {
        return Ok(flag);
    }
    let (index, count) = (env(INDEX_VAR), env(COUNT_VAR));
    let (index, count) = match (index, count) {
        (None, None) => return Ok(None),
        (Some(index), Some(count)) => (index, count),
        (Some(_), None) => bail!(
            "{INDEX_VAR} is set but {COUNT_VAR} is not: set {COUNT_VAR} to the number of shards \
             (the Indexed Job's completions), or pass --shard I/N"
        ),
        (None, Some(_)) => bail!(
            "{COUNT_VAR} is set but {INDEX_VAR} is not: set {INDEX_VAR} to this shard's index \
             (0-based), or pass --shard I/N"
        ),
    };
    let parse = |name: &str, v: &str| {
        v.trim()
            .parse::<usize>()
            .with_context(|| format!("{name}={v:?} is not a whole number"))
    };
    let (index, count) = (parse(INDEX_VAR, &index)?, parse(COUNT_VAR, &count)?);
    ShardSpec::new(index, count)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{INDEX_VAR}={index}, {COUNT_VAR}={count}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let flag = Some(ShardSpec::new(1, 2).unwrap());
        let vars = [(INDEX_VAR, "0"), (COUNT_VAR, "4")];
        assert_eq!(resolve(flag, env(&vars)).unwrap(), flag);
    }

    #[test]
    fn both_variables_give_the_shard() {
        let vars = [(INDEX_VAR, "3"), (COUNT_VAR, "4")];
        assert_eq!(
            resolve(None, env(&vars)).unwrap(),
            Some(ShardSpec::new(3, 4).unwrap())
        );
        assert_eq!(resolve(None, env(&[])).unwrap(), None);
    }

    #[test]
    fn one_variable_alone_or_a_bad_index_is_an_error() {
        let err = |vars: &[(&str, &str)]| resolve(None, env(vars)).unwrap_err().to_string();
        let e = err(&[(INDEX_VAR, "0")]);
        assert!(e.contains("LOADGEN_SHARDS is not"), "{e}");
        let e = err(&[(COUNT_VAR, "2")]);
        assert!(e.contains("JOB_COMPLETION_INDEX is not"), "{e}");
        let e = err(&[(INDEX_VAR, "2"), (COUNT_VAR, "2")]);
        assert!(e.contains("not below the shard count 2"), "{e}");
        let e = err(&[(INDEX_VAR, "x"), (COUNT_VAR, "2")]);
        assert!(e.contains("not a whole number"), "{e}");
        let e = err(&[(INDEX_VAR, "0"), (COUNT_VAR, "0")]);
        assert!(e.contains("at least 1 shard"), "{e}");
    }
}
