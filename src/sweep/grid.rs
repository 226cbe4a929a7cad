//! The grid: the Cartesian product of the axes, first axis slowest.
//!
//! A point's index is its position in the grid. It is also a component of every seed at that
//! point, so it must not depend on anything but the axes (not on shards, jobs or order of
//! completion).

use crate::results::Axis;

/// The points of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    pub fn new(axes: Vec<Axis>) -> Self {
        Grid { axes }
    }

    /// Number of points (1 with no axes: the file as written).
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Never true: a grid without axes has one point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The axis values of point `index`, in axis order.
    pub fn values(&self, index: usize) -> Vec<f64> {
        self.positions(index).into_iter().zip(&self.axes).map(|(k, axis)| axis.values[k]).collect()
    }

    /// Which value of each axis point `index` takes (0-based), in axis order.
    pub fn positions(&self, index: usize) -> Vec<usize> {
        let mut rest = index;
        let mut out = vec![0; self.axes.len()];
        // Last axis fastest: peel indices off from the end.
        for (slot, axis) in out.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len();
            *slot = rest % n;
            rest /= n;
        }
        out
    }

    /// Every point's values, in grid order.
    pub fn points(&self) -> Vec<Vec<f64>> {
        (0..self.len()).map(|i| self.values(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(path: &str, values: &[f64]) -> Axis {
        Axis { path: path.into(), values: values.to_vec() }
    }

    #[test]
    fn the_first_axis_varies_slowest() {
        let g = Grid::new(vec![axis("a", &[1.0, 2.0]), axis("b", &[10.0, 20.0, 30.0])]);
        assert_eq!(g.len(), 6);
        assert_eq!(g.points()[0], vec![1.0, 10.0]);
        assert_eq!(g.points()[1], vec![1.0, 20.0]);
        assert_eq!(g.points()[3], vec![2.0, 10.0]);
        assert_eq!(g.points()[5], vec![2.0, 30.0]);
    }

    #[test]
    fn no_axes_is_one_point() {
        let g = Grid::new(Vec::new());
        assert_eq!(g.len(), 1);
        assert_eq!(g.values(0), Vec::<f64>::new());
    }
}
