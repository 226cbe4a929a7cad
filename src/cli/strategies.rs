//! `lbsim strategies`: what can go in `[balancer] strategies`.

use anyhow::Result;

pub fn list() -> Result<()> {
    let all = lbsim::strategy::list();
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for info in all {
        println!("{:width$}  {}", info.name, info.summary);
        println!("{:width$}    models: {}", "", info.models);
        for p in info.params {
            println!("{:width$}    {} — {}", "", p.name, p.help);
        }
        println!("{:width$}    needs: {}", "", info.needs.describe());
        let dearer: Vec<String> =
            info.pick_cost_with.iter().map(|(param, cost)| format!("; {} with {param}", cost.describe())).collect();
        let weighted = info.indexed_when.describe();
        println!("{:width$}    work per pick: {}{weighted}{}", "", info.pick_cost.describe(), dearer.concat());
    }
    Ok(())
}
