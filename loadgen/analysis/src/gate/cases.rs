//! What the gate runs: each model in the configuration that isolates its code best, and each
//! multi-worker model also as users run it, with its real worker count.
//!
//! - **pinned** (every model): both servers share CPU 0, both loadgens CPU 1, when the machine
//!   has two CPUs or more. A server pinned to one CPU sees one CPU, so a multi-worker model
//!   runs one worker there: the duet then measures its per-message path, not its
//!   cross-thread one.
//! - **N workers** (models with `--workers`, [`Model::uses_workers`]), N the machine's CPUs, the
//!   worker count these models default to: work stealing, cross-thread wake-ups and the pool's
//!   hand-offs are measured. Either ([`MultiWorker`]) both servers keep CPU 0 and get
//!   `--workers N` (`cpu 0, 2 workers`: the duet's isolation kept, the workers taking turns on
//!   one CPU), or the servers may use every CPU (`unpinned, 2 workers`: as users run them, the
//!   loadgens on the last CPU).
//!
//! Every verdict names its case: `tokio` is the pinned one, `tokio [cpu 0, 2 workers]` the
//! other.

use results_model::Model;

use super::record::case_label;

/// Where a multi-worker model's second case runs its N workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MultiWorker {
    /// Servers on CPU 0 with `--workers N`; loadgens on CPU 1.
    SharedCpu,
    /// Servers on any CPU (default workers: one per CPU); loadgens on the last CPU.
    Unpinned,
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
    /// Server arguments of both sides (`--workers N`).
    pub server_args: Vec<String>,
    /// CPUs the loadgens are pinned to (`None`: any).
    pub loadgen_pin: Option<Vec<usize>>,
}

impl Case {
    /// The label verdicts and the failures file use.
    pub fn label(&self) -> String {
        case_label(&self.model, &self.config)
    }

    /// The configuration in words: "mio: servers on CPU 0, loadgens on CPU 1".
    pub fn describe(&self) -> String {
        let cpus = |pin: &Option<Vec<usize>>| match pin {
            None => "any CPU".to_string(),
            Some(list) => {
                let names: Vec<String> = list.iter().map(usize::to_string).collect();
                format!("CPU {}", names.join(","))
            }
        };
        let args = if self.server_args.is_empty() {
            String::new()
        } else {
            format!(" with {}", self.server_args.join(" "))
        };
        format!(
            "{}: servers on {}{args}, loadgens on {}",
            self.label(),
            cpus(&self.server_pin),
            cpus(&self.loadgen_pin)
        )
    }
}

/// The cases for `models` on a machine of `cpus` CPUs, multi-worker ones also as `multi`; `pin`
/// false leaves every process free (one case per model then: with nothing pinned, every model
/// already has every CPU).
pub fn cases(models: &[String], cpus: usize, pin: bool, multi: MultiWorker) -> Vec<Case> {
    let pinned = pin && cpus >= 2;
    let mut out = Vec::new();
    for model in models {
        out.push(Case {
            model: model.clone(),
            config: String::new(),
            server_pin: pinned.then(|| vec![0]),
            server_args: Vec::new(),
            loadgen_pin: pinned.then(|| vec![1]),
        });
        let workers = Model::from_name(model).is_some_and(Model::uses_workers);
        if pinned && workers {
            out.push(match multi {
                MultiWorker::SharedCpu => Case {
                    model: model.clone(),
                    config: format!("cpu 0, {cpus} workers"),
                    server_pin: Some(vec![0]),
                    server_args: vec!["--workers".into(), cpus.to_string()],
                    loadgen_pin: Some(vec![1]),
                },
                MultiWorker::Unpinned => Case {
                    model: model.clone(),
                    config: format!("unpinned, {cpus} workers"),
                    server_pin: None,
                    server_args: Vec::new(),
                    loadgen_pin: Some(vec![cpus - 1]),
                },
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
        let all = cases(&models, 2, true, MultiWorker::Unpinned);
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
        assert_eq!(cases(&models, 1, true, MultiWorker::SharedCpu).len(), 1);
        assert_eq!(
            cases(&models, 2, false, MultiWorker::SharedCpu)[0].server_pin,
            None
        );
    }
}
