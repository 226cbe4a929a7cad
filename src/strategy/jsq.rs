//! `jsq`: join the shortest queue.

use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError, rotating_argmin};
use crate::model::Request;

/// Sends each request to the backend with the fewest requests in system (in service plus
/// waiting), looking at every backend. Ties go to the lowest index after the last choice
/// (rotating), so identical idle backends share work evenly.
#[derive(Debug)]
pub struct Jsq {
    last: usize,
}

impl Strategy for Jsq {
    const NAME: &'static str = "jsq";
    const SUMMARY: &'static str = "join the shortest queue: fewest requests in system (ties rotate)";
    const MODELS: &'static str = "textbook oracle: join the shortest queue";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::AsksUntilIdle;

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(Jsq { last: 0 })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, cluster: &mut C) -> usize {
        let n = cluster.len();
        rotating_argmin(
            n,
            &mut self.last,
            |i| {
                cluster.scanning(i);
                cluster.in_system(i)
            },
            |a, b| a < b,
            |&count| count == 0,
        )
    }
}
