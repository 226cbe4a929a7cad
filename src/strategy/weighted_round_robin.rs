//! `weighted_round_robin`: TODO (being written).

use super::{Cluster, Setup, Strategy, StrategyError};
use crate::model::Request;

#[derive(Debug)]
pub struct WeightedRoundRobin;

impl Strategy for WeightedRoundRobin {
    const NAME: &'static str = "weighted_round_robin";
    const SUMMARY: &'static str = "TODO";

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        todo!()
    }

    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        todo!()
    }
}
