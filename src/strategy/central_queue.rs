//! `central_queue`: TODO (being written).

use super::{Cluster, Setup, Strategy, StrategyError};
use crate::model::Request;

#[derive(Debug)]
pub struct CentralQueue;

impl Strategy for CentralQueue {
    const NAME: &'static str = "central_queue";
    const SUMMARY: &'static str = "TODO";

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        todo!()
    }

    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        todo!()
    }
}
