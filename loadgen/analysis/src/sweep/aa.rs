//! `loadgen sweep --aa MODEL`: one model run twice per client count, as two cells.
//!
//! The twin is an ordinary cell (same configuration, same seeds) that runs right after its
//! model's cell in every repeat; only its result files differ (`mio.aa-100c-64B-r1.json`), and
//! the report names it `mio (A/A)`. The paired difference of the two is the machine's noise
//! floor: what any comparison on this machine must exceed to mean something.

use results_model::Model;

use crate::sweep_dir::names::AA_FILE_TAG;

/// One cell to run: its name in file names (`mio`, or `mio.aa` for an A/A twin), model and
/// client count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PlannedCell {
    pub(super) name: String,
    pub(super) model: Model,
    pub(super) clients: usize,
}

/// The cells to run, each A/A twin right after its model's cell so that both meet the same
/// machine state in every repeat.
pub(super) fn with_aa_twins(runnable: &[(Model, usize)], aa: Option<Model>) -> Vec<PlannedCell> {
    let mut cells = Vec::with_capacity(runnable.len() + 2);
    for &(model, clients) in runnable {
        let name = model.name().to_string();
        cells.push(PlannedCell {
            name: name.clone(),
            model,
            clients,
        });
        if aa == Some(model) {
            cells.push(PlannedCell {
                name: format!("{name}{AA_FILE_TAG}"),
                model,
                clients,
            });
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_runs_right_after_its_model() {
        let cells = with_aa_twins(
            &[(Model::Mio, 1), (Model::Tokio, 1), (Model::Mio, 10)],
            Some(Model::Mio),
        );
        let names: Vec<_> = cells
            .iter()
            .map(|c| format!("{}@{}", c.name, c.clients))
            .collect();
        assert_eq!(
            names,
            ["mio@1", "mio.aa@1", "tokio@1", "mio@10", "mio.aa@10"]
        );
        assert_eq!(with_aa_twins(&[(Model::Mio, 1)], None).len(), 1);
    }
}
