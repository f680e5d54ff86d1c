//! What the gate runs: each model in the configuration that isolates its code best, and each
//! multi-worker model also as users run it, with its real worker count.
//!
//! - **pinned** (every model): both servers share CPU 0, both loadgens CPU 1, when the machine
//!   has two CPUs or more. A server pinned to one CPU sees one CPU, so a multi-worker model
//!   runs one worker there: the duet then measures its per-message path, not its
//!   cross-thread one.
//! - **unpinned, N workers** (models with `--workers`, [`Model::uses_workers`]): the servers may
//!   use every CPU and run their default worker count (one per CPU), so work stealing,
//!   cross-thread wake-ups and the pool's hand-offs are measured; the loadgens stay on the last
//!   CPU.
//!
//! Every verdict names its case: `tokio` is the pinned one, `tokio [unpinned, 2 workers]` the
//! other.

use results_model::Model;

use super::record::case_label;

/// The configuration label of the unpinned multi-worker case.
fn workers_label(cpus: usize) -> String {
    format!("unpinned, {cpus} workers")
}

/// One model in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The concurrency model.
    pub model: String,
    /// Empty for the pinned case, else the configuration's label.
    pub config: String,
    /// CPUs the servers are pinned to (`None`: any).
    pub server_pin: Option<Vec<usize>>,
    /// CPUs the loadgens are pinned to (`None`: any).
    pub loadgen_pin: Option<Vec<usize>>,
}

impl Case {
    /// The label verdicts and the failures file use.
    pub fn label(&self) -> String {
        case_label(&self.model, &self.config)
    }
}

/// The cases for `models` on a machine of `cpus` CPUs; `pin` false leaves every process free
/// (one case per model then: with nothing pinned, every model already has every CPU).
pub fn cases(models: &[String], cpus: usize, pin: bool) -> Vec<Case> {
    let pinned = pin && cpus >= 2;
    let mut out = Vec::new();
    for model in models {
        out.push(Case {
            model: model.clone(),
            config: String::new(),
            server_pin: pinned.then(|| vec![0]),
            loadgen_pin: pinned.then(|| vec![1]),
        });
        let multi = Model::from_name(model).is_some_and(Model::uses_workers);
        if pinned && multi {
            out.push(Case {
                model: model.clone(),
                config: workers_label(cpus),
                server_pin: None,
                loadgen_pin: Some(vec![cpus - 1]),
            });
        }
    }
    out
}

/// The case `label` names among `all`.
pub fn find<'a>(all: &'a [Case], label: &str) -> Option<&'a Case> {
    all.iter().find(|c| c.label() == label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_worker_models_also_run_unpinned_with_every_worker() {
        let models: Vec<String> = ["mio", "tokio", "reactor-pool", "thread-per-core"]
            .map(String::from)
            .into();
        let all = cases(&models, 2, true);
        let labels: Vec<String> = all.iter().map(Case::label).collect();
        assert_eq!(
            labels,
            [
                "mio",
                "tokio",
                "tokio [unpinned, 2 workers]",
                "reactor-pool",
                "reactor-pool [unpinned, 2 workers]",
                "thread-per-core",
                "thread-per-core [unpinned, 2 workers]",
            ]
        );
        let tokio = find(&all, "tokio [unpinned, 2 workers]").unwrap();
        assert_eq!(
            (tokio.server_pin.clone(), tokio.loadgen_pin.clone()),
            (None, Some(vec![1]))
        );
        assert_eq!(find(&all, "mio").unwrap().server_pin, Some(vec![0]));
    }

    #[test]
    fn one_cpu_or_no_pinning_runs_one_case_per_model() {
        let models: Vec<String> = ["tokio".to_string()].into();
        assert_eq!(cases(&models, 1, true).len(), 1);
        assert_eq!(cases(&models, 2, false)[0].server_pin, None);
    }
}
