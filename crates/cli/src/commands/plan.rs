use std::io::Write;

use headsweep_spec::display_value;

use crate::args::PlanArgs;
use crate::table;

pub fn run(a: PlanArgs) -> anyhow::Result<()> {
    let (sweep, runs) = super::prepare(&a.file)?;
    let slots = super::slots(&a.devices)?;
    let mut header = vec!["#".to_string(), "run".into(), "seed".into()];
    header.extend(sweep.axes.iter().cloned());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = vec![
                (i + 1).to_string(),
                r.id[..12].to_string(),
                r.config.seed.to_string(),
            ];
            row.extend(r.axes.iter().map(|(_, v)| display_value(v)));
            row
        })
        .collect();
    let mut out = format!("sweep {} ({})\n", sweep.name(), a.file.display());
    out += &table::render(&header, &rows);
    out += &format!(
        "\n{} runs: {} grid point(s) × {} seed(s)\ndevice plan: {}\n",
        runs.len(),
        sweep.points.len(),
        sweep.seeds.len(),
        super::describe_slots(&slots[..slots.len().min(runs.len().max(1))])
    );
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
