//! Evaluation metrics: instance matching at an IoU threshold and the
//! quantities reported for segmentation and classification.

use super::raster::Region;

/// Result of matching predicted instances to ground-truth instances.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceMatch {
    /// `(predicted index, truth index, IoU)` for every match, by truth index.
    pub pairs: Vec<(usize, usize, f64)>,
    pub predicted: usize,
    pub truth: usize,
}

impl InstanceMatch {
    pub fn true_positives(&self) -> usize {
        self.pairs.len()
    }

    pub fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.pairs.len() as f64 / self.truth as f64
        }
    }

    pub fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.pairs.len() as f64 / self.predicted as f64
        }
    }

    /// The predicted instance matched to truth `t`, if any.
    pub fn predicted_for(&self, t: usize) -> Option<usize> {
        self.pairs.iter().find(|p| p.1 == t).map(|p| p.0)
    }
}

/// Greedy one-to-one matching by decreasing IoU, keeping pairs with
/// IoU >= `threshold` (for a threshold of at least 0.5 the matching is unique).
pub fn match_instances(predicted: &[Region], truth: &[Region], threshold: f64) -> InstanceMatch {
    let mut candidates = Vec::new();
    for (p, pr) in predicted.iter().enumerate() {
        for (t, tr) in truth.iter().enumerate() {
            let b1 = pr.bbox;
            let b2 = tr.bbox;
            let disjoint = b1.x >= b2.x + b2.w
                || b2.x >= b1.x + b1.w
                || b1.y >= b2.y + b2.h
                || b2.y >= b1.y + b1.h;
            if disjoint {
                continue;
            }
            let iou = pr.iou(tr);
            if iou >= threshold {
                candidates.push((p, t, iou));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut used_p = vec![false; predicted.len()];
    let mut used_t = vec![false; truth.len()];
    let mut pairs = Vec::new();
    for (p, t, iou) in candidates {
        if !used_p[p] && !used_t[t] {
            used_p[p] = true;
            used_t[t] = true;
            pairs.push((p, t, iou));
        }
    }
    pairs.sort_by_key(|p| p.1);
    InstanceMatch {
        pairs,
        predicted: predicted.len(),
        truth: truth.len(),
    }
}

/// Average precision at one IoU threshold (COCO-style 101-point
/// interpolation) over several images, from scored predictions.
/// `images` holds, per image, `(scores of predictions, match)`.
pub fn average_precision(images: &[(Vec<f64>, InstanceMatch)]) -> f64 {
    let mut all = Vec::new();
    let mut total_truth = 0;
    for (scores, m) in images {
        total_truth += m.truth;
        for (i, &s) in scores.iter().enumerate() {
            let tp = m.pairs.iter().any(|p| p.0 == i);
            all.push((s, tp));
        }
    }
    if total_truth == 0 {
        return 1.0;
    }
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut curve = Vec::new();
    for (_, hit) in all {
        if hit {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        curve.push((tp / total_truth as f64, tp / (tp + fp)));
    }
    // Precision envelope, then sample at 101 recall points.
    for i in (0..curve.len().saturating_sub(1)).rev() {
        curve[i].1 = curve[i].1.max(curve[i + 1].1);
    }
    (0..=100)
        .map(|k| {
            let r = k as f64 / 100.0;
            curve.iter().find(|(rec, _)| *rec >= r).map_or(0.0, |c| c.1)
        })
        .sum::<f64>()
        / 101.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: usize, y: usize, s: usize) -> Region {
        let px: Vec<(usize, usize)> = (y..y + s)
            .flat_map(|yy| (x..x + s).map(move |xx| (xx, yy)))
            .collect();
        Region::from_pixels(&px)
    }

    #[test]
    fn matching_counts_and_ap() {
        let truth = vec![square(0, 0, 10), square(20, 0, 10), square(40, 0, 10)];
        let pred = vec![square(1, 0, 10), square(20, 0, 10), square(70, 0, 5)];
        let m = match_instances(&pred, &truth, 0.5);
        assert_eq!(m.true_positives(), 2);
        assert!((m.recall() - 2.0 / 3.0).abs() < 1e-9);
        assert!((m.precision() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(m.predicted_for(1), Some(1));
        assert_eq!(m.predicted_for(2), None);
        let ap = average_precision(&[(vec![0.9, 0.8, 0.1], m.clone())]);
        assert!((ap - (67.0 / 101.0)).abs() < 0.02, "{ap}");
        let perfect = match_instances(&truth, &truth, 0.5);
        assert!((average_precision(&[(vec![1.0; 3], perfect)]) - 1.0).abs() < 1e-9);
    }
}
