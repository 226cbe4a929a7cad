//! Chart 7: the theory overlay on the mean-response chart. Where a closed form exists for a
//! strategy (M/M/c, M/G/1, M/G/1-PS, random dispatch to independent queues, the power-of-d
//! mean-field limit), it is drawn as a dashed line in the strategy's colour, labelled with
//! the model, so a reader can see at a glance how close the simulation came.

use super::Context;

/// One strategy's theoretical mean response time (seconds) against x.
pub struct Line {
    pub strategy: usize,
    pub model: String,
    pub points: Vec<(f64, f64)>,
}

/// The theory lines of the slice: one per strategy that has a finite prediction at two or
/// more points (a single point would not read as a line).
pub fn lines(ctx: &Context<'_>) -> Vec<Line> {
    (0..ctx.strategies().len())
        .filter_map(|s| {
            let mut model = String::new();
            let points: Vec<(f64, f64)> = ctx
                .slice
                .iter()
                .filter_map(|&i| {
                    let t = ctx.results.points[i].theory.get(s)?.as_ref()?;
                    model.clone_from(&t.model);
                    (t.mean_response.is_finite() && t.mean_response > 0.0).then_some((ctx.x(i), t.mean_response))
                })
                .collect();
            (points.len() >= 2).then_some(Line { strategy: s, model, points })
        })
        .collect()
}

/// The legend entry of a line: `random: theory (M/M/1)`.
pub fn label(ctx: &Context<'_>, line: &Line) -> String {
    format!("{}: theory ({})", ctx.strategies()[line.strategy], line.model)
}

/// Legend entries of every theory line.
pub fn legend(ctx: &Context<'_>) -> Vec<String> {
    lines(ctx).iter().map(|l| label(ctx, l)).collect()
}
