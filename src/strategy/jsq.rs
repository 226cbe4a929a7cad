//! `jsq`: join the shortest queue.

use super::count_index::Fewest;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// Sends each request to the backend with the fewest requests in system (in service plus
/// waiting), looking at every backend. Ties go to the lowest index after the last choice
/// (rotating), so identical idle backends share work evenly.
///
/// Cost: a scan that stops at the first empty backend; when the scans grow long (no empty
/// backends: several workers each, a high load), an index of the counts (`count_index`),
/// with the same choices.
#[derive(Debug)]
pub struct Jsq {
    last: usize,
    fewest: Fewest,
}

impl Strategy for Jsq {
    const NAME: &'static str = "jsq";
    const SUMMARY: &'static str = "join the shortest queue: fewest requests in system (ties rotate)";
    const MODELS: &'static str = "textbook oracle: join the shortest queue";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(Jsq { last: 0, fewest: Fewest::default() })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        self.fewest.choose(request.arrival, &mut self.last, cluster)
    }
}
