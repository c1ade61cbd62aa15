//! The store on a real SQLite file.

use headsweep_store::{
    Access, Attribution, Cell, ClassRow, ConfusionRow, Export, MetricRow, NewRun, NewSweep,
    PredictionRow, RunMetric, RunResults, RunStatus, Store, Worker,
};

fn sweep(name: &str) -> NewSweep {
    NewSweep {
        name: name.into(),
        file_path: format!("{name}.toml"),
        file_text: "[sweep]".into(),
        axes: vec!["train.loss".into()],
        code_version: "test".into(),
        host: "h".into(),
    }
}

fn runs(ids: &[&str]) -> Vec<NewRun> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| NewRun {
            id: id.to_string(),
            config: format!("{{\"n\":{i}}}"),
            seed: i as i64,
            point: 0,
            axes: vec![("train.loss".into(), "ce".into(), None)],
            fuse_key: None,
            role: headsweep_spec::Role::Run,
            trial: None,
        })
        .collect()
}

fn worker(name: &str) -> Worker {
    Worker {
        name: name.into(),
        host: "h".into(),
        pid: std::process::id() as i64,
        device: "cpu".into(),
        threads: 1,
    }
}

fn results() -> RunResults {
    RunResults {
        parameters: 10,
        best_epoch: 2,
        epochs_run: 3,
        duration_s: 0.5,
        metrics: vec![MetricRow {
            split: "test".into(),
            head: "sex".into(),
            metric: "accuracy".into(),
            value: Some(0.75),
        }],
        predictions: vec![PredictionRow {
            sample: "s1".into(),
            head: "sex".into(),
            true_class: Some(1),
            predicted_class: 1,
            probabilities: "[0.25,0.75]".into(),
            raw: "[-1.0,1.0]".into(),
        }],
        ..Default::default()
    }
}

/// The stores every test runs against: a new SQLite file, and a new
/// PostgreSQL database when HEADSWEEP_TEST_PG_URL names a server (a URL
/// whose user may create databases).
async fn databases(dir: &tempfile::TempDir) -> Vec<String> {
    let mut out = vec![dir.path().join("sub/h.db").to_str().unwrap().to_string()];
    match std::env::var("HEADSWEEP_TEST_PG_URL") {
        Ok(admin) => {
            use sqlx::Connection;
            let name = format!(
                "hs_test_{}_{}",
                std::process::id(),
                NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            );
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("HEADSWEEP_TEST_PG_URL must accept connections");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            let base = admin
                .rsplit_once('/')
                .map_or(admin.as_str(), |(b, _)| b)
                .to_string();
            out.push(format!("{base}/{name}"));
        }
        Err(_) => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                println!("PostgreSQL store tests skipped: HEADSWEEP_TEST_PG_URL is not set")
            });
        }
    }
    out
}

static NEXT_DB: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[tokio::test]
async fn register_keeps_existing_runs_and_replaces_the_sweep_set() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        assert_eq!(
            s.register(&sweep("a"), &runs(&["r1", "r2"])).await.unwrap(),
            2
        );
        let c = s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        assert!(s.complete(&c.id, "w", "v", &results()).await.unwrap());
        // Registering again with one old and one new run.
        assert_eq!(
            s.register(&sweep("a"), &runs(&["r1", "r3"])).await.unwrap(),
            1
        );
        let rows = s.runs("a").await.unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.id.as_str(), r.status.as_str()))
                .collect::<Vec<_>>(),
            [("r1", "done"), ("r3", "pending")]
        );
        assert_eq!(rows[0].axes, [("train.loss".to_string(), "ce".to_string())]);
        // Another sweep shares r1.
        s.register(&sweep("b"), &runs(&["r1"])).await.unwrap();
        assert_eq!(s.counts("b").await.unwrap().done, 1);
        assert_eq!(
            s.forget_sweep("a").await.unwrap(),
            2,
            "r2 and r3 go, r1 stays for b"
        );
        assert_eq!(s.counts("b").await.unwrap().done, 1);
        assert_eq!(
            s.split_metrics("b", "test").await.unwrap(),
            [RunMetric {
                run: "r1".into(),
                split: "test".into(),
                head: "sex".into(),
                metric: "accuracy".into(),
                value: Some(0.75)
            }]
        );
    }
}

#[tokio::test]
async fn a_run_is_claimed_once_and_finished_by_its_holder_only() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("a"), &runs(&["r1"])).await.unwrap();
        let c = s.claim("a", &worker("w1"), 60_000).await.unwrap().unwrap();
        assert_eq!((c.id.as_str(), c.seed), ("r1", 0));
        assert!(s.claim("a", &worker("w2"), 60_000).await.unwrap().is_none());
        assert!(
            !s.complete("r1", "w2", "v", &results()).await.unwrap(),
            "not the holder"
        );
        assert!(s.heartbeat("r1", "w1", 60_000).await.unwrap());
        assert!(!s.heartbeat("r1", "w2", 60_000).await.unwrap());
        assert!(s.complete("r1", "w1", "v", &results()).await.unwrap());
        assert_eq!(s.counts("a").await.unwrap().done, 1);
        assert!(
            !s.complete("r1", "w1", "v", &results()).await.unwrap(),
            "done is final"
        );
    }
}

/// A group is the first claimable run and more with its fusion key, up to
/// the limit, in sweep order; runs without a key go alone.
#[tokio::test]
async fn a_group_claim_takes_runs_with_the_same_fusion_key() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let mut rs = runs(&["a1", "b1", "a2", "a3", "n1", "a4"]);
        for r in &mut rs {
            r.fuse_key = match &r.id[..1] {
                "n" => None,
                k => Some(k.to_string()),
            };
        }
        s.register(&sweep("g"), &rs).await.unwrap();
        // The group's order is the database's (PostgreSQL's RETURNING has none).
        let ids = |g: Vec<headsweep_store::Claimed>| {
            let mut v = g.into_iter().map(|c| c.id).collect::<Vec<_>>();
            v.sort();
            v
        };
        let g = s.claim_group("g", &worker("w1"), 60_000, 3).await.unwrap();
        assert_eq!(ids(g), ["a1", "a2", "a3"]);
        let g = s.claim_group("g", &worker("w2"), 60_000, 3).await.unwrap();
        assert_eq!(ids(g), ["b1"]);
        let g = s.claim_group("g", &worker("w2"), 60_000, 3).await.unwrap();
        assert_eq!(ids(g), ["n1"], "a run without a key is claimed alone");
        let g = s.claim_group("g", &worker("w2"), 60_000, 3).await.unwrap();
        assert_eq!(ids(g), ["a4"]);
        assert!(s
            .claim_group("g", &worker("w2"), 60_000, 3)
            .await
            .unwrap()
            .is_empty());
        // Each claimed run is held by its claimer, and its results record the fusion.
        let mut r = results();
        r.fused = 3;
        r.flops = 1e9;
        r.train_seconds = 2.0;
        assert!(s.complete("a2", "w1", "v", &r).await.unwrap());
        assert!(!s.complete("a4", "w1", "v", &r).await.unwrap());
        let t = s
            .query_read_only("SELECT sweep, runs, flops FROM v_throughput")
            .await
            .unwrap();
        assert_eq!(t.rows.len(), 1, "{t:?}");
        let r = s
            .query_read_only("SELECT flops_per_s FROM v_run_throughput WHERE run = 'a2'")
            .await
            .unwrap();
        // 1e9 FLOPs in a third of 2 s.
        assert_eq!(r.rows.len(), 1, "{r:?}");
        match &r.rows[0][0] {
            headsweep_store::Cell::Real(v) => assert!((v - 1.5e9).abs() < 1.0, "{v}"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_holder_loses_it() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("a"), &runs(&["r1"])).await.unwrap();
        s.claim("a", &worker("w1"), -1).await.unwrap().unwrap();
        let again = s.claim("a", &worker("w2"), 60_000).await.unwrap().unwrap();
        assert_eq!(again.id, "r1");
        assert!(!s.heartbeat("r1", "w1", 60_000).await.unwrap());
        assert!(!s.complete("r1", "w1", "v", &results()).await.unwrap());
        assert!(s.complete("r1", "w2", "v", &results()).await.unwrap());
    }
}

#[tokio::test]
async fn release_fail_retry_and_reclaim_of_dead_workers() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("a"), &runs(&["r1", "r2", "r3"]))
            .await
            .unwrap();
        let c1 = s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        s.release(&c1.id, "w").await.unwrap();
        assert_eq!(s.counts("a").await.unwrap().pending, 3);
        let c1 = s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        s.fail(&c1.id, "w", "non-finite training loss")
            .await
            .unwrap();
        let failed = s.failed("a").await.unwrap();
        assert_eq!(
            (failed[0].id.as_str(), failed[0].error.as_str()),
            ("r1", "non-finite training loss")
        );
        // A worker whose process is gone.
        let mut dead = worker("dead");
        dead.pid = 999_999_999;
        s.claim("a", &dead, 60_000).await.unwrap().unwrap();
        assert_eq!(
            s.reclaim_dead("a", "h", |pid| pid != 999_999_999)
                .await
                .unwrap(),
            1
        );
        assert_eq!(s.retry_failed("a").await.unwrap(), 1);
        assert_eq!(
            s.counts("a").await.unwrap(),
            headsweep_store::StatusCounts {
                pending: 3,
                ..Default::default()
            }
        );
    }
}

#[tokio::test]
async fn rerun_deletes_results_and_prefixes_resolve() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let id = "0123456789abcdef";
        s.register(&sweep("a"), &runs(&[id])).await.unwrap();
        s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        s.complete(id, "w", "v", &results()).await.unwrap();
        assert_eq!(s.resolve_run("01234567").await.unwrap(), [id]);
        assert!(s.resolve_run("0123").await.is_err(), "too short");
        assert_eq!(s.rerun(&[id.to_string()]).await.unwrap(), 1);
        assert_eq!(s.counts("a").await.unwrap().pending, 1);
        assert!(s.split_metrics("a", "test").await.unwrap().is_empty());
    }
}

/// A run sent back to pending without its results deleted (a store edited
/// by hand, or written otherwise): finishing it again replaces them.
#[tokio::test]
async fn finishing_a_run_replaces_results_left_behind() {
    use sqlx::Connection;
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("h.db");
    let s = Store::open(db.to_str().unwrap()).await.unwrap();
    let id = "0123456789abcdef";
    s.register(&sweep("a"), &runs(&[id])).await.unwrap();
    s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
    s.complete(id, "w", "v", &results()).await.unwrap();
    let mut conn = sqlx::sqlite::SqliteConnection::connect(db.to_str().unwrap())
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET status = 'pending', worker = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
    let mut again = results();
    again.metrics[0].value = Some(0.5);
    assert!(s.complete(id, "w", "v", &again).await.unwrap());
    let m = s.split_metrics("a", "test").await.unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].value, Some(0.5));
}

/// Many connections, each its own pool as separate processes would have:
/// every run is claimed by exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_take_each_run_exactly_once() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let ids: Vec<String> = (0..60).map(|i| format!("run{i:03}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        s.register(&sweep("a"), &runs(&refs)).await.unwrap();
        let mut tasks = Vec::new();
        for w in 0..6 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let s = Store::open(&db).await.unwrap();
                let me = worker(&format!("w{w}"));
                let mut mine = Vec::new();
                while let Some(c) = s.claim("a", &me, 60_000).await.unwrap() {
                    assert!(s.complete(&c.id, &me.name, "v", &results()).await.unwrap());
                    mine.push(c.id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        assert_eq!(all, ids, "each run exactly once");
        assert_eq!(s.counts("a").await.unwrap().done, 60);
    }
}

/// Processes opening a new store at once race to migrate it; none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_all_succeed() {
    for _ in 0..5 {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("new.db");
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let p = path.clone();
                tokio::spawn(async move { Store::open(p.to_str().unwrap()).await.map(|_| ()) })
            })
            .collect();
        for o in opens {
            o.await.unwrap().unwrap();
        }
    }
}

/// Both backends get the same tables, columns and views from the one set
/// of migrations (compared when a PostgreSQL server is configured).
#[tokio::test]
async fn sqlite_and_postgresql_schemas_match() {
    let d = tempfile::tempdir().unwrap();
    let dbs = databases(&d).await;
    if dbs.len() < 2 {
        println!("skipped: HEADSWEEP_TEST_PG_URL is not set");
        return;
    }
    let mut columns = Vec::new();
    for db in &dbs {
        let s = Store::open(db).await.unwrap();
        let sql = if s.is_sqlite() {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY t, c"
        } else {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY t, c"
        };
        let rows = s.query_read_only(sql).await.unwrap();
        let list: Vec<String> = rows
            .rows
            .iter()
            .map(|r| format!("{:?}.{:?}", r[0], r[1]))
            .collect();
        assert!(list.len() > 60, "{db}: {} columns", list.len());
        columns.push(list);
    }
    assert_eq!(columns[0], columns[1]);
}

/// Results with a NULL in some position and a number there in the next
/// run's rows both store (PostgreSQL refused the number once a statement
/// had been prepared with the NULL).
#[tokio::test]
async fn nulls_and_numbers_in_the_same_column_both_store() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("n"), &runs(&["n1", "n2"])).await.unwrap();
        for (id, precision) in [("n1", None), ("n2", Some(0.5))] {
            let c = s.claim("n", &worker("w"), 60_000).await.unwrap().unwrap();
            assert_eq!(c.id, id);
            let mut r = results();
            r.classes = (0..3)
                .map(|k| headsweep_store::ClassRow {
                    split: "test".into(),
                    head: "sex".into(),
                    class_index: k,
                    class: format!("c{k}"),
                    tp: 1,
                    fp: 0,
                    fn_: 0,
                    tn: 1,
                    support: 1,
                    precision,
                    recall: Some(1.0),
                    f1: precision,
                })
                .collect();
            assert!(s.complete(id, "w", "v", &r).await.unwrap(), "{id}");
        }
        assert_eq!(s.counts("n").await.unwrap().done, 2);
    }
}

/// A store made before store folders: migrations 1–4 only, with a run.
async fn old_store(path: &std::path::Path) {
    store_before(path, "0005").await;
}

/// A store made with the migrations numbered below `first_missing`, with a
/// run `00aa`.
async fn store_before(path: &std::path::Path, first_missing: &str) {
    use sqlx::ConnectOptions;
    let migrations = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().file_name();
        if f.to_str().unwrap() < first_missing {
            std::fs::copy(src.join(&f), migrations.path().join(&f)).unwrap();
        }
    }
    let m = sqlx::migrate::Migrator::new(migrations.path())
        .await
        .unwrap();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    m.run(&mut conn).await.unwrap();
    sqlx::query(
        "INSERT INTO runs (id, config, seed, status, created_ms) VALUES ('00aa', '{}', 0, 'done', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn stores_made_before_store_folders_keep_their_files_where_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    old_store(&old).await;
    let results = dir.path();
    // Read-only, before migrating: the shared layout.
    let s = Store::open_with(old.to_str().unwrap(), Access::Read)
        .await
        .unwrap();
    assert!(!s.files(results).await.unwrap().owned());
    s.close().await;
    // Migrated: still the shared layout, and its run is still there.
    let s = Store::open(old.to_str().unwrap()).await.unwrap();
    let files = s.files(results).await.unwrap();
    assert!(!files.owned());
    assert_eq!(files.runs(), results.join("runs"));
    assert_eq!(s.resolve_run("00aa0000").await.unwrap().len(), 0);
    let id = "0123456789abcdef".repeat(4);
    assert_eq!(files.run(&id).unwrap(), results.join("runs").join(&id));
    s.close().await;
    // A new store in the same folder gets a folder of its own, and keeps it.
    let new = dir.path().join("new.db");
    let s = Store::open(new.to_str().unwrap()).await.unwrap();
    let files = s.files(results).await.unwrap();
    assert!(files.owned());
    assert!(files.runs().starts_with(results.join("stores")));
    s.close().await;
    let again = Store::open(new.to_str().unwrap()).await.unwrap();
    assert_eq!(again.files(results).await.unwrap(), files);
    // Two new stores never share a folder.
    let other = Store::open(dir.path().join("other.db").to_str().unwrap())
        .await
        .unwrap();
    assert_ne!(other.files(results).await.unwrap().runs(), files.runs());
}

#[tokio::test]
async fn a_missing_store_is_not_created_by_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such.db");
    for access in [Access::Read, Access::Existing] {
        let e = Store::open_with(path.to_str().unwrap(), access)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no store at"), "{e}");
    }
    assert!(!dir.path().join("no").exists());
}

/// A ranking replaces the previous one of the same method, sits beside
/// other methods', and goes when the run is trained again.
#[tokio::test]
async fn attributions_are_kept_per_method_and_dropped_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("a.db").to_str().unwrap())
        .await
        .unwrap();
    let sweep = NewSweep {
        name: "a".into(),
        file_path: "a.toml".into(),
        file_text: String::new(),
        axes: Vec::new(),
        code_version: "test".into(),
        host: "test".into(),
    };
    let id = "ab".repeat(32);
    s.register(
        &sweep,
        &[NewRun {
            id: id.clone(),
            config: "{}".into(),
            seed: 0,
            point: 0,
            axes: Vec::new(),
            fuse_key: None,
            role: headsweep_spec::Role::Run,
            trial: None,
        }],
    )
    .await
    .unwrap();
    let ranked = |names: &[&str]| -> Vec<Attribution> {
        names
            .iter()
            .enumerate()
            .map(|(i, f)| Attribution {
                rank: i as i64 + 1,
                feature: (*f).into(),
                mean_abs: 1.0 / (i as f64 + 1.0),
                mean: 0.1,
                truth: (i == 0).then(|| "age".to_string()),
            })
            .collect()
    };
    s.save_attributions(&id, "age", "ig", &ranked(&["cg1", "cg2", "cg3"]))
        .await
        .unwrap();
    s.save_attributions(&id, "age", "ig", &ranked(&["cg9", "cg8"]))
        .await
        .unwrap();
    s.save_attributions(&id, "age", "saliency", &ranked(&["cg5"]))
        .await
        .unwrap();
    let got = s.attributions(&id, "age").await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "ig");
    let names: Vec<&str> = got[0].1.iter().map(|a| a.feature.as_str()).collect();
    assert_eq!(names, ["cg9", "cg8"], "replaced, in rank order");
    assert_eq!(got[0].1[0].truth.as_deref(), Some("age"));
    assert!(s.attributions(&id, "sex").await.unwrap().is_empty());
    s.rerun(std::slice::from_ref(&id)).await.unwrap();
    assert!(
        s.attributions(&id, "age").await.unwrap().is_empty(),
        "a run trained again has new weights"
    );
}

/// The reads behind compare, report and serve: metrics filtered by split
/// and name, the names present, a run's predictions, outcome and metrics,
/// and a sweep's provenance and file — on SQLite and PostgreSQL alike.
#[tokio::test]
async fn filtered_and_per_run_reads() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("m"), &runs(&["m1"])).await.unwrap();
        let c = s.claim("m", &worker("w"), 60_000).await.unwrap().unwrap();
        let mut r = results();
        let m = |split: &str, metric: &str, v: f64| MetricRow {
            split: split.into(),
            head: "sex".into(),
            metric: metric.into(),
            value: Some(v),
        };
        r.metrics = vec![
            m("test", "accuracy", 0.75),
            m("val", "accuracy", 0.7),
            m("test", "ece", 0.1),
        ];
        r.provenance = Some("{\"headsweep\":\"t\"}".into());
        assert!(s.complete(&c.id, "w", "v", &r).await.unwrap());
        let strs = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(s.all_metrics("m").await.unwrap().len(), 3);
        let one = s
            .some_metrics("m", &strs(&["test"]), &strs(&["accuracy"]))
            .await
            .unwrap();
        assert_eq!((one.len(), one[0].value), (1, Some(0.75)));
        let both = s
            .some_metrics("m", &strs(&["val", "test"]), &strs(&["accuracy"]))
            .await
            .unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(
            s.some_metrics("m", &[], &strs(&["ece"]))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            s.metric_names("m", "test").await.unwrap(),
            [
                ("sex".to_string(), "accuracy".to_string()),
                ("sex".into(), "ece".into())
            ]
        );
        let p = s.predictions_of("m1", "sex").await.unwrap();
        assert_eq!(
            (p.len(), p[0].true_class, p[0].predicted_class),
            (1, Some(1), 1)
        );
        assert_eq!(
            s.run_outcome("m1").await.unwrap(),
            (None, r.provenance.clone())
        );
        assert_eq!(s.run_metrics("m1").await.unwrap().len(), 3);
        assert_eq!(
            s.provenance_counts("m").await.unwrap(),
            [(r.provenance.clone(), 1)]
        );
        assert_eq!(s.sweep_file("m").await.unwrap().as_deref(), Some("[sweep]"));
        assert_eq!(s.sweep_file("nope").await.unwrap(), None);
    }
}

/// A 3-class head's test-split classes and its confusion matrix, cell by
/// cell, zeros included, as a run stores them.
fn three_classes(r: &mut RunResults, counts: [[i64; 3]; 3]) {
    for k in 0..3 {
        r.classes.push(ClassRow {
            split: "test".into(),
            head: "age".into(),
            class_index: k,
            class: format!("c{k}"),
            tp: 0,
            fp: 0,
            fn_: 0,
            tn: 0,
            support: 0,
            precision: None,
            recall: None,
            f1: None,
        });
        for p in 0..3 {
            r.confusion.push(ConfusionRow {
                split: "test".into(),
                head: "age".into(),
                true_class: k,
                predicted_class: p,
                count: counts[k as usize][p as usize],
            });
        }
    }
}

/// (true, predicted, count) of every cell `export` gives, in its order;
/// `export_each` must give the same rows, one at a time.
async fn exported_cells(s: &Store, sweep: &str) -> Vec<(i64, i64, i64)> {
    let rows = s.export(sweep, Export::Confusion).await.unwrap();
    let mut streamed = Vec::new();
    let (columns, n) = s
        .export_each(sweep, Export::Confusion, |columns, cells| {
            assert_eq!(columns, rows.columns);
            streamed.push(cells);
            Ok::<_, headsweep_store::StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!((columns, n), (rows.columns.clone(), rows.rows.len()));
    assert_eq!(streamed, rows.rows);
    assert_eq!(
        rows.columns,
        [
            "run",
            "split",
            "head",
            "true_class",
            "predicted_class",
            "count"
        ]
    );
    rows.rows
        .iter()
        .map(|r| match (&r[3], &r[4], &r[5]) {
            (Cell::Int(t), Cell::Int(p), Cell::Int(n)) => (*t, *p, *n),
            other => panic!("not three integers: {other:?}"),
        })
        .collect()
}

const COUNTS: [[i64; 3]; 3] = [[4, 0, 1], [0, 0, 0], [2, 0, 3]];

fn dense(counts: [[i64; 3]; 3]) -> Vec<(i64, i64, i64)> {
    (0..3)
        .flat_map(|t| (0..3).map(move |p| (t, p, counts[t as usize][p as usize])))
        .collect()
}

#[tokio::test]
async fn confusion_keeps_nonzero_cells_and_reads_back_every_cell() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("a"), &runs(&["r1"])).await.unwrap();
        let c = s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        let mut r = results();
        three_classes(&mut r, COUNTS);
        assert!(s.complete(&c.id, "w", "v", &r).await.unwrap());
        let stored = s
            .query_read_only("SELECT COUNT(*) FROM confusion_cells")
            .await
            .unwrap();
        assert_eq!(stored.rows, [[Cell::Int(4)]], "the four nonzero cells");
        assert_eq!(exported_cells(&s, "a").await, dense(COUNTS));
        let m = s.confusion("r1", "test", "age").await.unwrap();
        assert_eq!(m.classes, ["c0", "c1", "c2"]);
        let as_u64 = COUNTS.map(|row| row.map(|n| n as u64).to_vec()).to_vec();
        assert_eq!(m.counts, as_u64);
    }
}

#[tokio::test]
async fn an_old_store_with_dense_confusion_tables_reads_the_same_after_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    old_store(&old).await;
    {
        use sqlx::{ConnectOptions, Executor};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&old)
            .connect()
            .await
            .unwrap();
        conn.execute("INSERT INTO sweeps VALUES ('o', 'o.toml', '', '[]', 0, 0, 'v', 'h')")
            .await
            .unwrap();
        conn.execute(
            "INSERT INTO sweep_runs (sweep, run, point, position) VALUES ('o', '00aa', 0, 0)",
        )
        .await
        .unwrap();
        for (t, p, n) in dense(COUNTS) {
            if p == 0 {
                conn.execute(
                    format!("INSERT INTO class_metrics (run, split, head, class_index, class, tp, fp, fn, tn, support) VALUES ('00aa', 'test', 'age', {t}, 'c{t}', 0, 0, 0, 0, 0)").as_str(),
                )
                .await
                .unwrap();
            }
            conn.execute(
                format!("INSERT INTO confusion VALUES ('00aa', 'test', 'age', {t}, {p}, {n})")
                    .as_str(),
            )
            .await
            .unwrap();
        }
    }
    let s = Store::open(old.to_str().unwrap()).await.unwrap();
    assert_eq!(exported_cells(&s, "o").await, dense(COUNTS));
    let kept = s
        .query_read_only("SELECT COUNT(*) FROM confusion_cells")
        .await
        .unwrap();
    assert_eq!(kept.rows, [[Cell::Int(4)]]);
    // Its runs were grid runs: they read back as such.
    let rows = s.runs("o").await.unwrap();
    assert_eq!(rows[0].role, headsweep_spec::Role::Run);
}

#[tokio::test]
async fn axes_of_numbers_and_text_and_trials_with_and_without_index_register() {
    // On PostgreSQL a statement kept prepared after binding NULL refused a
    // number in that position: a grid with a text and a numeric axis, or
    // a search's evaluation runs beside its trials, failed to register.
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let mut rs = runs(&["x1", "x2", "x3"]);
        for (i, r) in rs.iter_mut().enumerate() {
            r.axes = vec![
                ("train.loss".into(), "ce".into(), None),
                (
                    "train.lr".into(),
                    format!("0.{i}1"),
                    Some(0.01 + i as f64 / 10.0),
                ),
            ];
            r.fuse_key = (i == 1).then(|| "k".into());
        }
        rs[1].role = headsweep_spec::Role::Trial;
        rs[1].trial = Some(0);
        s.register(&sweep("a"), &rs).await.unwrap();
        s.register(&sweep("a"), &rs).await.unwrap();
        let rows = s.runs("a").await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[2].axes[1],
            ("train.lr".to_string(), "0.21".to_string())
        );
    }
}

#[tokio::test]
async fn search_roles_and_objective_values_read_back() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let mut rs = runs(&["t0", "t1", "e0"]);
        rs[0].role = headsweep_spec::Role::Trial;
        rs[0].trial = Some(0);
        rs[1].role = headsweep_spec::Role::Trial;
        rs[1].trial = Some(1);
        rs[2].role = headsweep_spec::Role::Evaluate;
        s.register(&sweep("a"), &rs).await.unwrap();
        let roles: Vec<_> = s.runs("a").await.unwrap().iter().map(|r| r.role).collect();
        assert_eq!(
            roles,
            [
                headsweep_spec::Role::Trial,
                headsweep_spec::Role::Trial,
                headsweep_spec::Role::Evaluate
            ]
        );
        let c = s.claim("a", &worker("w"), 60_000).await.unwrap().unwrap();
        assert!(s.complete(&c.id, "w", "v", &results()).await.unwrap());
        let ids: Vec<String> = ["t0", "t1", "e0"].map(String::from).to_vec();
        let v = s.run_values(&ids, "test", "sex", "accuracy").await.unwrap();
        assert_eq!(v.len(), 1, "only the finished run has a value");
        assert_eq!(v[&c.id], 0.75);
        assert!(s
            .run_values(&ids, "val", "sex", "accuracy")
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn a_group_completes_in_one_transaction_and_skips_runs_it_lost() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("g"), &runs(&["r1", "r2", "r3"]))
            .await
            .unwrap();
        let a = s.claim("g", &worker("w"), 60_000).await.unwrap().unwrap();
        let b = s.claim("g", &worker("w"), 60_000).await.unwrap().unwrap();
        // The third is another worker's: `w` cannot complete it.
        let c = s.claim("g", &worker("x"), 60_000).await.unwrap().unwrap();
        let r = results();
        let done = s
            .complete_group("w", "v", &[(&a.id, &r), (&c.id, &r), (&b.id, &r)])
            .await
            .unwrap();
        assert_eq!(done, [true, false, true]);
        let status: Vec<(String, RunStatus)> = s
            .runs("g")
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.status))
            .collect();
        assert!(status.contains(&(a.id.clone(), RunStatus::Done)));
        assert!(status.contains(&(b.id.clone(), RunStatus::Done)));
        assert!(status.contains(&(c.id.clone(), RunStatus::Running)));
        // Only the completed runs have results.
        let metrics = s.split_metrics("g", "test").await.unwrap();
        let mut with: Vec<&str> = metrics.iter().map(|m| m.run.as_str()).collect();
        with.sort();
        let mut expected = vec![a.id.as_str(), b.id.as_str()];
        expected.sort();
        assert_eq!(with, expected);
    }
}

/// A group's rows are written a table at a time, many runs to a
/// statement: each row still lands with its own run, and nothing is lost
/// where a statement ends mid-run.
#[tokio::test]
async fn a_groups_rows_land_with_their_own_runs() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("g"), &runs(&["r1", "r2", "r3"]))
            .await
            .unwrap();
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(s.claim("g", &worker("w"), 60_000).await.unwrap().unwrap());
        }
        // 301 metrics a run (5 values a row): statements of whole rows
        // end inside a run.
        let of = |i: usize| RunResults {
            metrics: (0..301)
                .map(|m| MetricRow {
                    split: "test".into(),
                    head: "sex".into(),
                    metric: format!("m{m}"),
                    value: Some(i as f64 + m as f64 / 1000.0),
                })
                .collect(),
            ..results()
        };
        let r: Vec<RunResults> = (0..3).map(of).collect();
        let group: Vec<(&str, &RunResults)> = held.iter().map(|c| c.id.as_str()).zip(&r).collect();
        assert_eq!(
            s.complete_group("w", "v", &group).await.unwrap(),
            [true, true, true]
        );
        let metrics = s.split_metrics("g", "test").await.unwrap();
        assert_eq!(metrics.len(), 3 * 301);
        for m in &metrics {
            let i = held.iter().position(|c| c.id == m.run).unwrap();
            let k: usize = m.metric[1..].parse().unwrap();
            assert_eq!(m.value, Some(i as f64 + k as f64 / 1000.0), "{m:?}");
        }
    }
}

/// A group whose rows cannot be stored (two values for one metric) fails
/// whole, its runs still running; storing them again, correctly, keeps
/// nothing of the failed attempt (its statements were made before the
/// lock).
#[tokio::test]
async fn a_failed_group_leaves_nothing_for_the_next() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        s.register(&sweep("g"), &runs(&["r1", "r2"])).await.unwrap();
        let a = s.claim("g", &worker("w"), 60_000).await.unwrap().unwrap();
        let b = s.claim("g", &worker("w"), 60_000).await.unwrap().unwrap();
        let good = results();
        let mut bad = results();
        bad.metrics.push(bad.metrics[0].clone());
        bad.metrics.push(MetricRow {
            metric: "only_in_the_failed_attempt".into(),
            ..bad.metrics[0].clone()
        });
        let failed = s
            .complete_group("w", "v", &[(&a.id, &good), (&b.id, &bad)])
            .await;
        assert!(failed.is_err(), "{db}: {failed:?}");
        let running = s.runs("g").await.unwrap();
        assert!(
            running.iter().all(|r| r.status == RunStatus::Running),
            "{db}: {running:?}"
        );
        assert!(s.split_metrics("g", "test").await.unwrap().is_empty());
        assert_eq!(
            s.complete_group("w", "v", &[(&b.id, &good), (&a.id, &good)])
                .await
                .unwrap(),
            [true, true]
        );
        let stored = s.split_metrics("g", "test").await.unwrap();
        let per_run = good.metrics.iter().filter(|m| m.split == "test").count();
        assert_eq!(stored.len(), 2 * per_run, "{db}: {stored:?}");
        assert!(stored
            .iter()
            .all(|m| m.metric != "only_in_the_failed_attempt"));
    }
}

/// Every result table of a store written before result rows were keyed
/// (migration 0010) reads the same after migrating; runs are keyed in the
/// order they were created, a new run gets the next key, and forgetting a
/// run still removes its results.
#[tokio::test]
async fn results_written_before_result_keys_read_the_same_after_migrating() {
    use sqlx::{ConnectOptions, Executor};
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    store_before(&old, "0010").await;
    const TABLES: [&str; 6] = [
        "metrics",
        "class_metrics",
        "confusion",
        "confusion_cells",
        "curves",
        "predictions",
    ];
    let mut before = Vec::new();
    {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&old)
            .connect()
            .await
            .unwrap();
        for sql in [
            "INSERT INTO runs (id, config, seed, status, created_ms) VALUES ('00bb', '{}', 1, 'done', 5)",
            "INSERT INTO sweeps VALUES ('o', 'o.toml', '', '[]', 0, 0, 'v', 'h')",
            "INSERT INTO sweep_runs (sweep, run, point, position) VALUES ('o', '00aa', 0, 0), ('o', '00bb', 0, 1)",
            "INSERT INTO metrics VALUES ('00aa', 'test', 'age', 'accuracy', 0.5), ('00bb', 'test', 'age', 'accuracy', NULL), ('00bb', 'val', 'joint', 'loss', 1.25)",
            "INSERT INTO class_metrics VALUES ('00aa', 'test', 'age', 0, 'a', 1, 0, 1, 2, 2, 1.0, 0.5, 0.6666666666666666), ('00aa', 'test', 'age', 1, 'b', 2, 1, 0, 1, 2, 0.6666666666666666, 1.0, 0.8)",
            "INSERT INTO confusion_cells VALUES ('00aa', 'test', 'age', 0, 0, 1), ('00aa', 'test', 'age', 0, 1, 1), ('00aa', 'test', 'age', 1, 1, 2)",
            "INSERT INTO curves VALUES ('00aa', 1, 'val', 'joint', 'loss', 2.5), ('00bb', 2, 'train', 'joint', 'loss', 0.125)",
            "INSERT INTO predictions VALUES ('00aa', 's1', 'age', 1, 1, '[0.25,0.75]', '[-1.0,1.0]'), ('00bb', 's2', 'age', NULL, 0, '[0.5,0.5]', '[0.0,0.0]')",
        ] {
            conn.execute(sql).await.unwrap();
        }
        for t in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            before.push(format!("{}", rows.len()));
        }
    }
    let s = Store::open(old.to_str().unwrap()).await.unwrap();
    let read = |t: &str| format!("SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5");
    let mut after = Vec::new();
    for t in TABLES {
        after.push(format!(
            "{}",
            s.query_read_only(&read(t)).await.unwrap().rows.len()
        ));
    }
    assert_eq!(after, before, "row counts of {TABLES:?}");
    assert_eq!(
        s.query_read_only(&read("metrics")).await.unwrap().rows,
        [
            vec![
                Cell::Text("00aa".into()),
                Cell::Text("test".into()),
                Cell::Text("age".into()),
                Cell::Text("accuracy".into()),
                Cell::Real(0.5)
            ],
            vec![
                Cell::Text("00bb".into()),
                Cell::Text("test".into()),
                Cell::Text("age".into()),
                Cell::Text("accuracy".into()),
                Cell::Null
            ],
            vec![
                Cell::Text("00bb".into()),
                Cell::Text("val".into()),
                Cell::Text("joint".into()),
                Cell::Text("loss".into()),
                Cell::Real(1.25)
            ],
        ]
    );
    assert_eq!(
        exported_cells(&s, "o").await,
        [(0, 0, 1), (0, 1, 1), (1, 0, 0), (1, 1, 2)]
    );
    let p = s
        .query_read_only("SELECT run, true_class, probabilities, raw FROM predictions ORDER BY run")
        .await
        .unwrap();
    assert_eq!(
        p.rows[1],
        [
            Cell::Text("00bb".into()),
            Cell::Null,
            Cell::Text("[0.5,0.5]".into()),
            Cell::Text("[0.0,0.0]".into())
        ]
    );
    let keys = s
        .query_read_only("SELECT id, key FROM runs ORDER BY key")
        .await
        .unwrap();
    assert_eq!(
        keys.rows,
        [
            [Cell::Text("00aa".into()), Cell::Int(1)],
            [Cell::Text("00bb".into()), Cell::Int(2)]
        ]
    );
    // A run registered now is keyed after them, and its results store.
    s.register(&sweep("n"), &runs(&["00cc"])).await.unwrap();
    s.claim("n", &worker("w"), 60_000).await.unwrap().unwrap();
    assert!(s.complete("00cc", "w", "v", &results()).await.unwrap());
    let key = s
        .query_read_only("SELECT key FROM runs WHERE id = '00cc'")
        .await
        .unwrap();
    assert_eq!(key.rows, [[Cell::Int(3)]]);
    assert_eq!(s.split_metrics("n", "test").await.unwrap().len(), 1);
    // Forgetting a run removes its rows from every keyed table.
    assert_eq!(s.forget_runs(&["00aa".into()]).await.unwrap(), 1);
    for t in [
        "result_metrics",
        "result_class_metrics",
        "result_confusion_cells",
        "result_curves",
        "result_predictions",
    ] {
        let left = s
            .query_read_only(&format!("SELECT COUNT(*) FROM {t} WHERE run_key = 1"))
            .await
            .unwrap();
        assert_eq!(left.rows, [[Cell::Int(0)]], "{t}");
    }
}

/// A write waits for another connection's write lock (trying again until
/// it is free) instead of failing with SQLITE_BUSY, and goes ahead once it
/// is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_another_connections_write_lock() {
    use sqlx::{Connection, Executor};
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("h.db");
    let s = Store::open(db.to_str().unwrap()).await.unwrap();
    let mut other = sqlx::sqlite::SqliteConnection::connect(db.to_str().unwrap())
        .await
        .unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();
    other
        .execute("INSERT INTO store_info (key, value) VALUES ('held', 'yes')")
        .await
        .unwrap();
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = released.clone();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        other.execute("COMMIT").await.unwrap();
        other.close().await.unwrap();
    });
    s.register(&sweep("a"), &runs(&["0123456789abcdef"]))
        .await
        .unwrap();
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "the write went ahead while another connection held the lock"
    );
    holder.await.unwrap();
    assert_eq!(s.counts("a").await.unwrap().pending, 1);
}

/// Registering again keeps each run's key and gives new runs larger ones;
/// a run registered without a fusion key gets the one it is registered
/// with now, and a run that has one keeps it.
#[tokio::test]
async fn registering_keys_new_runs_and_fills_in_missing_fusion_keys() {
    let d = tempfile::tempdir().unwrap();
    for db in databases(&d).await {
        let s = Store::open(&db).await.unwrap();
        let mut first = runs(&["aa01", "aa02", "aa03"]);
        first[2].fuse_key = Some("j".into());
        assert_eq!(s.register(&sweep("a"), &first).await.unwrap(), 3);
        let mut again = runs(&["aa01", "aa02", "aa03", "aa04"]);
        again[0].fuse_key = Some("k".into());
        again[2].fuse_key = Some("k".into());
        again[3].fuse_key = Some("k".into());
        assert_eq!(s.register(&sweep("b"), &again).await.unwrap(), 1);
        let rows = s
            .query_read_only("SELECT id, key, fuse_key FROM runs ORDER BY id")
            .await
            .unwrap()
            .rows;
        let text = |t: &str| Cell::Text(t.into());
        assert_eq!(
            rows.iter()
                .map(|r| (r[0].clone(), r[2].clone()))
                .collect::<Vec<_>>(),
            [
                (text("aa01"), text("k")),
                (text("aa02"), Cell::Null),
                (text("aa03"), text("j")),
                (text("aa04"), text("k")),
            ],
            "{db}"
        );
        let keys: Vec<i64> = rows
            .iter()
            .map(|r| match r[1] {
                Cell::Int(k) => k,
                ref other => panic!("key {other:?}"),
            })
            .collect();
        assert_eq!(&keys[..3], [1, 2, 3], "{db}");
        assert!(keys[3] > 3, "{db}: {keys:?}");
        // Every run of both sweeps, with its axis values, is registered.
        assert_eq!(s.runs("a").await.unwrap().len(), 3);
        assert_eq!(s.runs("b").await.unwrap().len(), 4);
    }
}

/// A store a newer headsweep migrated is refused for writing with an error
/// that says so, at once rather than after retrying.
#[tokio::test]
async fn a_store_from_a_newer_version_is_refused_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("h.db");
    let s = Store::open(db.to_str().unwrap()).await.unwrap();
    s.close().await;
    {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::sqlite::SqliteConnection::connect(db.to_str().unwrap())
            .await
            .unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let e = Store::open(db.to_str().unwrap()).await.unwrap_err();
    assert!(
        matches!(e, headsweep_store::StoreError::Newer { version: 9999, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("newer headsweep"), "{e}");
    // Reading it needs no migration.
    let r = Store::open_with(db.to_str().unwrap(), Access::Read)
        .await
        .unwrap();
    assert_eq!(r.counts("none").await.unwrap().done, 0);
}
