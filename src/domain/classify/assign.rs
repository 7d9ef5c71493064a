//! Whole-cell assignment of chromosome objects to karyogram places.
//!
//! Each object takes one place; the total cost (sum of -ln p of the object's
//! class at its place, plus penalties) is minimised over the whole cell at
//! once by the Hungarian algorithm. Places: two regular places per autosome,
//! the sex chromosomes by evidence (two X places and one Y place, all
//! regular, so XX, XY and X alone are all penalty-free), surplus places
//! (trisomy candidates) that cost an extra `surplus_penalty`, and an
//! "unassigned" place per object at a fixed cost for objects that fit nothing.
//! So two objects share a pair's two places and a third one must beat every
//! alternative by the penalty before a class ends up with three while
//! another has one.

use serde::{Deserialize, Serialize};

use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass};

use super::Prediction;
use super::hungarian::assign_min_cost;

/// The kind of place an object was assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// One of the class's expected places.
    Regular(ChromosomeClass),
    /// An extra copy of the class (trisomy candidate).
    Surplus(ChromosomeClass),
    /// Fits no class well enough.
    Unassigned,
}

impl Placement {
    pub fn class(self) -> Option<ChromosomeClass> {
        match self {
            Self::Regular(c) | Self::Surplus(c) => Some(c),
            Self::Unassigned => None,
        }
    }
}

/// Costs of the assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignParams {
    /// Extra cost (nats) of a third (or further) copy of a class.
    pub surplus_penalty: f64,
    /// Cost (nats) of leaving an object unassigned.
    pub unassigned_cost: f64,
    /// Surplus places per class.
    pub surplus_places: usize,
    /// Cost (nats) of the second X place and of the Y place: an object must
    /// look like a sex chromosome by at least this much to fill them, so a
    /// female cell's free Y place (or a male cell's free second X place) does
    /// not attract autosomes. Both cost the same, so XX and XY are equally
    /// likely a priori.
    pub sex_place_cost: f64,
}

impl Default for AssignParams {
    fn default() -> Self {
        Self {
            surplus_penalty: 2.5,
            unassigned_cost: 9.0,
            surplus_places: 2,
            sex_place_cost: 1.0,
        }
    }
}

/// Assigns every prediction to a place; the result is parallel to `predictions`.
pub fn assign_cell(predictions: &[Prediction], params: &AssignParams) -> Vec<Placement> {
    let n = predictions.len();
    if n == 0 {
        return Vec::new();
    }
    // (place, extra cost of the place)
    let mut places = Vec::new();
    for c in ChromosomeClass::all() {
        let regular: &[f64] = match c {
            ChromosomeClass::X => &[0.0, params.sex_place_cost],
            ChromosomeClass::Y => &[params.sex_place_cost],
            _ => &[0.0, 0.0],
        };
        places.extend(regular.iter().map(|&cost| (Placement::Regular(c), cost)));
        places.extend(std::iter::repeat_n(
            (Placement::Surplus(c), params.surplus_penalty),
            params.surplus_places,
        ));
    }
    places.extend(std::iter::repeat_n(
        (Placement::Unassigned, params.unassigned_cost),
        n,
    ));
    let m = places.len();
    let mut costs = vec![0.0; n * m];
    for (i, pred) in predictions.iter().enumerate() {
        for (j, (place, extra)) in places.iter().enumerate() {
            costs[i * m + j] = extra
                + match place {
                    Placement::Regular(c) | Placement::Surplus(c) => {
                        -pred.probabilities[c.index()].max(1e-12).ln()
                    }
                    Placement::Unassigned => 0.0,
                };
        }
    }
    match assign_min_cost(&costs, n, m) {
        Some(cols) => cols.into_iter().map(|j| places[j].0).collect(),
        None => vec![Placement::Unassigned; n],
    }
}

/// Number of objects placed in each class (regular + surplus).
pub fn class_counts(placements: &[Placement]) -> [usize; CLASS_COUNT] {
    let mut counts = [0; CLASS_COUNT];
    for p in placements {
        if let Some(c) = p.class() {
            counts[c.index()] += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chromosome::Polarity;

    fn pred(main: usize, p_main: f64, second: usize) -> Prediction {
        let p_second = (1.0 - p_main) * 0.8;
        let mut probabilities = [(1.0 - p_main - p_second) / 22.0; CLASS_COUNT];
        probabilities[main] = p_main;
        probabilities[second] = p_second;
        Prediction {
            probabilities,
            polarity: Polarity::PUp,
            polarity_confidence: 1.0,
            embedding: vec![],
        }
    }

    #[test]
    fn the_whole_cell_decides_an_ambiguous_object() {
        // Three objects look most like 21, one of them nearly as much like 22,
        // and only one object looks like 22: the cell says 21,21,22,22.
        let preds = vec![
            pred(20, 0.7, 21),
            pred(20, 0.7, 21),
            pred(20, 0.5, 21),
            pred(21, 0.7, 20),
        ];
        let places = assign_cell(&preds, &AssignParams::default());
        let counts = class_counts(&places);
        assert_eq!(counts[20], 2);
        assert_eq!(counts[21], 2);
        assert_eq!(
            places[2],
            Placement::Regular(ChromosomeClass::autosome(22).unwrap())
        );
    }

    #[test]
    fn a_confident_third_copy_becomes_surplus() {
        let preds = vec![pred(20, 0.95, 21), pred(20, 0.95, 21), pred(20, 0.95, 5)];
        let places = assign_cell(&preds, &AssignParams::default());
        assert_eq!(class_counts(&places)[20], 3);
        assert_eq!(
            places
                .iter()
                .filter(|p| matches!(p, Placement::Surplus(_)))
                .count(),
            1
        );
        assert!(assign_cell(&[], &AssignParams::default()).is_empty());
    }
}
