//! Minimum-cost assignment (Hungarian algorithm with potentials, O(n^2 m)).

/// Assigns each of `n` rows to a distinct column of an `n x m` cost matrix
/// (`n <= m`, row-major) minimising the total cost. Returns the column of
/// each row, or `None` when `n > m` or the matrix has the wrong size.
/// Non-finite costs are treated as very large.
pub fn assign_min_cost(costs: &[f64], n: usize, m: usize) -> Option<Vec<usize>> {
    if n > m || costs.len() != n * m {
        return None;
    }
    if n == 0 {
        return Some(Vec::new());
    }
    const BIG: f64 = 1e12;
    let cost = |i: usize, j: usize| {
        let c = costs[i * m + j];
        if c.is_finite() { c } else { BIG }
    };
    // 1-based arrays as in the classic formulation; column 0 is virtual.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rng::Rng;

    fn brute(costs: &[f64], n: usize, m: usize) -> f64 {
        fn rec(i: usize, n: usize, m: usize, used: &mut Vec<bool>, costs: &[f64]) -> f64 {
            if i == n {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..m {
                if !used[j] {
                    used[j] = true;
                    best = best.min(costs[i * m + j] + rec(i + 1, n, m, used, costs));
                    used[j] = false;
                }
            }
            best
        }
        rec(0, n, m, &mut vec![false; m], costs)
    }

    #[test]
    fn matches_brute_force_and_is_a_permutation() {
        let mut rng = Rng::new(5);
        for _ in 0..200 {
            let n = 1 + rng.below(5);
            let m = n + rng.below(3);
            let costs: Vec<f64> = (0..n * m).map(|_| rng.range(0.0, 10.0).round()).collect();
            let a = assign_min_cost(&costs, n, m).unwrap();
            let mut cols = a.clone();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), n);
            let total: f64 = a.iter().enumerate().map(|(i, &j)| costs[i * m + j]).sum();
            assert!((total - brute(&costs, n, m)).abs() < 1e-9);
        }
        assert!(assign_min_cost(&[1.0, 2.0], 2, 1).is_none());
    }
}
