//! `least_work_left`: TODO (being written).

use super::{Cluster, Setup, Strategy, StrategyError};
use crate::model::Request;

#[derive(Debug)]
pub struct LeastWorkLeft;

impl Strategy for LeastWorkLeft {
    const NAME: &'static str = "least_work_left";
    const SUMMARY: &'static str = "TODO";

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        todo!()
    }

    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        todo!()
    }
}
