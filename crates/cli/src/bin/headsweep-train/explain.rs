use anyhow::{bail, Context};
use headsweep_model::{explain, parse_device, ClassChoice, ExplainOptions, Method, Reference};
use headsweep_report::{Table, Value};
use headsweep_spec::RunConfig;
use headsweep_store::{Access, Attribution, RunStatus, Store};

use headsweep_cli::args::{ExplainArgs, MethodArg, ReferenceArg, TableFormatArg};
use headsweep_cli::commands::report::{emit, one_run};
use headsweep_cli::commands::runs::table_format;

pub fn run(a: ExplainArgs) -> anyhow::Result<()> {
    let device = parse_device(&a.device)?;
    let known = a
        .truth
        .as_deref()
        .map(headsweep_data::read_truth)
        .transpose()?;
    let results = headsweep_cli::commands::results_dir(&a.store.db, a.results.as_ref());
    let (run, config, files) = headsweep_cli::commands::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let run = one_run(&store, &a.run).await?;
        let stored = store.run_config(&run).await?.expect("resolved above");
        if stored.status != RunStatus::Done {
            bail!(
                "run {} is {}; only a done run has saved weights",
                headsweep_spec::short_id(&run),
                stored.status
            );
        }
        let files = store.files(&results).await?;
        anyhow::Ok((run, stored.config, files))
    })?;
    let config: RunConfig =
        serde_json::from_str(&config).context("reading the run's stored configuration")?;
    let weights = files.run(&run)?.join("best.safetensors");
    if !weights.exists() {
        bail!(
            "no saved weights at {} (pass --results if they were moved)",
            weights.display()
        );
    }
    let data =
        headsweep_data::load(&config.data, &config.tasks).context("loading the run's data")?;
    let head = a
        .head
        .clone()
        .unwrap_or_else(|| config.tasks[0].name.clone());
    let method = match a.method {
        MethodArg::Ig => Method::IntegratedGradients {
            steps: a.steps as usize,
        },
        MethodArg::Saliency => Method::Saliency,
        MethodArg::GradInput => Method::GradInput,
    };
    let opts = ExplainOptions {
        head: head.clone(),
        class: if a.class == "true" {
            ClassChoice::True
        } else {
            ClassChoice::Named(a.class.clone())
        },
        method,
        reference: match a.reference {
            ReferenceArg::Zero => Reference::Zero,
            ReferenceArg::Mean => Reference::Mean,
        },
        device,
    };
    let mut e = explain(&config, &data, &weights, &opts)?;
    // A user's list of known features replaces the generator's truth.
    let mut known_note = None;
    if let (Some(list), Some(path)) = (&known, &a.truth) {
        let for_head: std::collections::HashSet<&str> = list
            .iter()
            .filter(|k| k.head.as_deref().is_none_or(|h| h == head))
            .map(|k| k.feature.as_str())
            .collect();
        let present: std::collections::HashSet<&str> =
            data.feature_names.iter().map(String::as_str).collect();
        let absent = for_head.iter().filter(|f| !present.contains(**f)).count();
        for f in &mut e.ranked {
            f.truth = Some(
                if for_head.contains(f.feature.as_str()) {
                    "known"
                } else {
                    "other"
                }
                .into(),
            );
        }
        known_note = Some(format!(
            "{}: {} features listed for head {head}, {absent} of them not in the data",
            path.display(),
            for_head.len()
        ));
    }
    let top = (a.top as usize).min(e.ranked.len());
    let has_truth = e.ranked.iter().any(|f| f.truth.is_some());
    let mut columns = vec![
        "rank".to_string(),
        "feature".into(),
        "mean_abs".into(),
        "mean".into(),
    ];
    if has_truth {
        columns.push("truth".into());
    }
    let rows = e.ranked[..top]
        .iter()
        .map(|f| {
            let mut r = vec![
                Value::Int(f.rank as i64),
                Value::Text(f.feature.clone()),
                Value::Real(f.mean_abs),
                Value::Real(f.mean),
            ];
            if has_truth {
                r.push(f.truth.clone().map_or(Value::Null, Value::Text));
            }
            r
        })
        .collect();
    let table = Table { columns, rows };
    let method = match a.method {
        MethodArg::Ig => format!("integrated gradients, {} steps", a.steps),
        MethodArg::Saliency => "saliency".into(),
        MethodArg::GradInput => "gradient × input".into(),
    };
    let reference = if a.reference == ReferenceArg::Mean {
        "training means"
    } else {
        "raw zeros"
    };
    // Kept in the store for reports, which do not load libtorch; a store
    // that cannot be written only loses that.
    let ranking: Vec<Attribution> = e.ranked[..top]
        .iter()
        .map(|f| Attribution {
            rank: f.rank as i64,
            feature: f.feature.clone(),
            mean_abs: f.mean_abs,
            mean: f.mean,
            truth: f.truth.clone(),
        })
        .collect();
    let described = format!("{method}, {}, reference {reference}", e.target);
    let saved = headsweep_cli::commands::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Existing).await?;
        store
            .save_attributions(&run, &head, &described, &ranking)
            .await?;
        anyhow::Ok(())
    });
    if let Err(err) = saved {
        tracing::warn!("the ranking was not stored ({err:#}); reports will not show it");
    }
    let text = if a.format == TableFormatArg::Table {
        let mut head_lines = format!(
            "run {} head {head}: {method}, {}, reference {reference}, {} test samples\n",
            headsweep_spec::short_id(&run),
            e.target,
            e.samples
        );
        if let Some((gap, scale)) = e.completeness_gap {
            head_lines += &format!("completeness: mean |F(x) − F(x′) − Σ IG| = {gap:.3e} (mean |F(x) − F(x′)| = {scale:.3e})\n");
        }
        if has_truth {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for f in &e.ranked[..top] {
                let t = f.truth.clone().unwrap_or_default();
                match counts.iter_mut().find(|(k, _)| *k == t) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((t, 1)),
                }
            }
            let parts: Vec<String> = counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
            let against = match &a.truth {
                Some(p) => p.display().to_string(),
                None => "the generator's ground truth".into(),
            };
            head_lines += &format!("top {top} against {against}: {}\n", parts.join(", "));
            if let Some(n) = &known_note {
                head_lines += &format!("{n}\n");
            }
        }
        head_lines + "\n" + &table.render(table_format(a.format))
    } else {
        table.render(table_format(a.format))
    };
    emit(None, &text)
}
