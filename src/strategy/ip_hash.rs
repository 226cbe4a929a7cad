//! `ip_hash`: TODO (being written).

use super::{Cluster, Setup, Strategy, StrategyError};
use crate::model::Request;

#[derive(Debug)]
pub struct IpHash;

impl Strategy for IpHash {
    const NAME: &'static str = "ip_hash";
    const SUMMARY: &'static str = "TODO";

    fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
        todo!()
    }

    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        todo!()
    }
}
