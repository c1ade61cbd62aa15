use std::io::Write;

use headsweep_store::{now_ms, Access, Store};

use crate::args::StatusArgs;
use headsweep_report::aligned;

pub fn run(a: StatusArgs) -> anyhow::Result<()> {
    super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let sweeps = match a.sweep {
            Some(s) if store.has_sweep(&s).await? => vec![s],
            Some(s) => anyhow::bail!("no sweep named {s:?} in {}", a.store.db),
            None => store.sweeps().await?,
        };
        let mut out = String::new();
        if sweeps.is_empty() {
            out += &format!("no sweeps in {}\n", a.store.db);
        }
        for s in sweeps {
            let c = store.counts(&s).await?;
            out += &format!(
                "sweep {s}: {} runs — {} done, {} failed, {} running, {} pending\n",
                c.total(),
                c.done,
                c.failed,
                c.running,
                c.pending
            );
            let pruned = super::pruned::stored(&store, &s).await?.len();
            if pruned > 0 {
                out += &format!(
                    "  {pruned} of the done runs are trial runs where pruning stopped their trial (`runs` marks them pruned)\n"
                );
            }
            let hosts = store.by_host(&s).await?;
            let mut names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
            names.dedup();
            if names.len() > 1 || !hosts.is_empty() {
                for h in names {
                    let parts: Vec<String> = hosts
                        .iter()
                        .filter(|x| x.host == h)
                        .map(|x| format!("{} {}", x.runs, x.status))
                        .collect();
                    out += &format!("  on {h}: {}\n", parts.join(", "));
                }
            }
            let running = store.running(&s).await?;
            if !running.is_empty() {
                let now = now_ms();
                let rows: Vec<Vec<String>> = running
                    .iter()
                    .map(|r| {
                        vec![
                            headsweep_spec::short_id(&r.id).to_string(),
                            r.host.clone(),
                            r.device.clone(),
                            r.worker.clone(),
                            format!("{:.0} s", (now - r.started_ms) as f64 / 1000.0),
                            format!("{:.0} s", (r.lease_expires_ms - now) as f64 / 1000.0),
                        ]
                    })
                    .collect();
                let header: Vec<String> =
                    ["running", "host", "device", "worker", "for", "lease left"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                out += &aligned(&header, &rows);
            }
            for f in store.failed(&s).await? {
                out += &format!("failed {}: {}\n", headsweep_spec::short_id(&f.id), f.error);
            }
        }
        std::io::stdout().write_all(out.as_bytes())?;
        Ok(())
    })
}
