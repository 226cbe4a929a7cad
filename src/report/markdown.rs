use super::{RenderedChart, findings::Findings};
use crate::results::SweepResults;
pub fn render(_r: &SweepResults, _f: &Findings, _c: &[RenderedChart]) -> String {
    String::new()
}
