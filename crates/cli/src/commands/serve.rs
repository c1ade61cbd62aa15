//! `headsweep serve`: a local, read-only web view of a store. Requests are
//! read through the store crate and rendered by the report crate's pages;
//! this module only routes and maps failures to status codes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use headsweep_metrics::Metric;
use headsweep_report::{
    compare, confusion_svg, curve_panels, curves_svg, error_page, metric_points, metric_svg,
    run_page, sweep_page, sweeps_page, ErrorBar, Progress, RunView, SweepView, Table, Value,
};
use headsweep_spec::RunStatus;
use headsweep_store::{Access, StatusCounts, Store};

use super::report::{curve_points, sweep_data_for, Needed};
use crate::args::{AdjustArg, ComparisonArgs, PoolArg, ServeArgs};

/// Runs listed per page of a sweep.
const PAGE_SIZE: usize = 50;
/// The most of a training log a run page shows.
const LOG_TAIL_BYTES: u64 = 16 * 1024;

struct App {
    store: Store,
    results: PathBuf,
}

/// Why a request got no page.
enum Fail {
    NotFound(String),
    Bad(String),
    Internal(String),
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        Fail::Internal(format!("{e:#}"))
    }
}

impl From<headsweep_store::StoreError> for Fail {
    fn from(e: headsweep_store::StoreError) -> Self {
        Fail::Internal(e.to_string())
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            Fail::NotFound(m) => (StatusCode::NOT_FOUND, m),
            Fail::Bad(m) => (StatusCode::BAD_REQUEST, m),
            Fail::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        (code, Html(error_page(code.as_u16(), &msg))).into_response()
    }
}

pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let results = super::results_dir(&a.store.db, a.results.as_ref());
        let app = Arc::new(App { store, results });
        let router = Router::new()
            .route("/", get(index))
            .route("/sweep/{name}", get(sweep))
            .route("/run/{id}", get(run_view))
            .fallback(|| async { Fail::NotFound("no such page".into()) })
            .with_state(app);
        let listener = tokio::net::TcpListener::bind((a.bind.as_str(), a.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", a.bind, a.port))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "serving {} read-only on http://{addr}/ (Ctrl-C stops)",
            headsweep_store::redact(&a.store.db)
        );
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })
}

fn progress(c: StatusCounts) -> Progress {
    Progress {
        pending: c.pending,
        running: c.running,
        done: c.done,
        failed: c.failed,
    }
}

async fn index(State(app): State<Arc<App>>) -> Result<Html<String>, Fail> {
    let mut sweeps = Vec::new();
    for name in app.store.sweeps().await? {
        let c = app.store.counts(&name).await?;
        sweeps.push((name, progress(c)));
    }
    Ok(Html(sweeps_page(
        &headsweep_store::redact(app.store.url()),
        &sweeps,
    )))
}

/// A query parameter, or empty.
fn param(q: &HashMap<String, String>, k: &str) -> String {
    q.get(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn list(s: &str) -> Option<Vec<String>> {
    (!s.is_empty()).then(|| s.split(',').map(|x| x.trim().to_string()).collect())
}

async fn sweep(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Html<String>, Fail> {
    if headsweep_spec::check_sweep_name(&name).is_err() || !app.store.has_sweep(&name).await? {
        return Err(Fail::NotFound(format!(
            "no sweep named {name:?} in this store"
        )));
    }
    let page: usize = match q.get("page") {
        None => 0,
        Some(p) => p
            .parse()
            .map_err(|_| Fail::Bad(format!("page={p:?}: expected a page number")))?,
    };
    let mut metrics = param(&q, "metrics");
    let added = param(&q, "metric");
    if !added.is_empty() && !metrics.split(',').any(|m| m.trim() == added) {
        metrics = if metrics.is_empty() {
            added
        } else {
            format!("{metrics},{added}")
        };
    }
    let (rows, baseline, select_by) = (
        param(&q, "rows"),
        param(&q, "baseline"),
        param(&q, "select_by"),
    );
    let args = ComparisonArgs {
        rows: list(&rows),
        metrics: list(&metrics),
        split: "test".into(),
        baseline: list(&baseline),
        select_by: (!select_by.is_empty()).then(|| select_by.clone()),
        adjust: if baseline.is_empty() {
            AdjustArg::None
        } else {
            AdjustArg::Holm
        },
        pool: PoolArg::Seed,
        margin: None,
    };
    // A malformed request is the client's error; a comparison the data
    // cannot make (no done run yet) is shown on the page.
    let opts = super::compare::options(&args).map_err(|e| Fail::Bad(format!("{e:#}")))?;
    let data = sweep_data_for(&app.store, &name, Some(&Needed::of(&opts))).await?;
    let rounds = super::seeds::for_compare(&app.store, &name).await?;
    let opts = headsweep_report::CompareOptions { rounds, ..opts };
    let comparison = compare(&data, &opts);
    if let Err(e) = &comparison {
        if !matches!(e, headsweep_report::ReportError::NoRuns(_)) {
            return Err(Fail::Bad(e.to_string()));
        }
    }
    let chart = comparison.as_ref().ok().and_then(|c| {
        let col = c.columns.first()?;
        let x = c.row_axes.first()?;
        // The runs the table's rows hold (after any selection).
        let data = c.shown(&data);
        let points = metric_points(
            &data,
            (&c.split, &col.head, col.metric.name()),
            x,
            c.row_axes.get(1).map(String::as_str),
            ErrorBar::Ci,
        );
        (!points.is_empty()).then(|| {
            metric_svg(
                &format!(
                    "{}.{}, test split, mean and 95% CI over seeds",
                    col.head, col.metric
                ),
                x,
                &format!("{}.{}", col.head, col.metric),
                c.row_axes.get(1).map(String::as_str),
                &points,
            )
        })
    });
    let pages = data.runs.len().div_ceil(PAGE_SIZE);
    if page > 0 && page >= pages {
        return Err(Fail::NotFound(format!(
            "page {page}: the sweep has {pages} pages of runs"
        )));
    }
    let mut columns = vec!["run".to_string(), "seed".into(), "status".into()];
    columns.extend(data.axes.iter().cloned());
    let runs = Table {
        columns,
        rows: data
            .runs
            .iter()
            .skip(page * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|r| {
                let mut row = vec![
                    Value::Text(headsweep_spec::short_id(&r.id).to_string()),
                    Value::Int(r.seed),
                    Value::Text(r.status.to_string()),
                ];
                row.extend(
                    data.axes
                        .iter()
                        .map(|a| Value::Text(r.axis(a).unwrap_or("").to_string())),
                );
                row
            })
            .collect(),
    };
    let mut hosts = Table {
        columns: vec!["host".into(), "status".into(), "runs".into()],
        rows: Vec::new(),
    };
    for h in app.store.by_host(&name).await? {
        hosts.rows.push(vec![
            Value::Text(h.host),
            Value::Text(h.status.to_string()),
            Value::Int(i64::try_from(h.runs).unwrap_or(i64::MAX)),
        ]);
    }
    let mut metric_choices = Vec::new();
    for h in data.heads() {
        for m in Metric::ALL {
            if data
                .runs
                .iter()
                .any(|r| r.metric("test", &h, m.name()).is_some())
            {
                metric_choices.push(format!("{h}.{m}"));
            }
        }
    }
    let view = SweepView {
        progress: progress(app.store.counts(&name).await?),
        name,
        hosts,
        rows,
        metrics,
        baseline,
        select_by,
        metric_choices,
        comparison: comparison.map_err(|e| e.to_string()),
        chart,
        runs,
        page,
        pages,
    };
    Ok(Html(sweep_page(&view)))
}

async fn run_view(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Html<String>, Fail> {
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.len() < 8 {
        return Err(Fail::Bad(format!(
            "{id:?}: a run is named by at least 8 hex digits of its identity"
        )));
    }
    let run = match app.store.resolve_run(&id).await?.as_slice() {
        [] => return Err(Fail::NotFound(format!("no run {id:?} in this store"))),
        [one] => one.clone(),
        many => {
            return Err(Fail::Bad(format!(
                "{id:?} matches {} runs; give more of the identity",
                many.len()
            )))
        }
    };
    let stored = app
        .store
        .run_config(&run)
        .await?
        .ok_or_else(|| Fail::NotFound(format!("no run {id:?} in this store")))?;
    let config = serde_json::from_str::<serde_json::Value>(&stored.config)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(stored.config);
    let (error, provenance) = app.store.run_outcome(&run).await?;
    let provenance = provenance.map(|p| {
        serde_json::from_str::<serde_json::Value>(&p)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(p)
    });
    let mut metrics = Table {
        columns: vec![
            "split".into(),
            "head".into(),
            "metric".into(),
            "value".into(),
        ],
        rows: Vec::new(),
    };
    for m in app.store.run_metrics(&run).await? {
        metrics.rows.push(vec![
            Value::Text(m.split),
            Value::Text(m.head),
            Value::Text(m.metric),
            m.value.map_or(Value::Null, Value::Real),
        ]);
    }
    let curve_rows = curve_points(&app.store, &run).await?;
    let short = headsweep_spec::short_id(&run).to_string();
    let curves = (!curve_rows.is_empty())
        .then(|| curves_svg(&format!("run {short}"), &curve_panels(&curve_rows)));
    let mut confusion = Vec::new();
    for head in app.store.heads_of(&run).await? {
        let m = app.store.confusion(&run, "test", &head).await?;
        if !m.classes.is_empty() {
            confusion.push(confusion_svg(
                &format!("{head} head"),
                &m.classes,
                &m.counts,
            ));
        }
    }
    let log_tail = log_tail(&app, &run).await;
    Ok(Html(run_page(&RunView {
        id: short,
        status: stored.status.to_string(),
        error: error.filter(|_| stored.status == RunStatus::Failed),
        config,
        provenance,
        metrics,
        curves,
        confusion,
        log_tail,
    })))
}

/// The end of the run's training log, when its folder is on this machine.
async fn log_tail(app: &App, run: &str) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let files = app.store.files(&app.results).await.ok()?;
    let path = files.run(run).ok()?.join("train.log");
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))
        .ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}
