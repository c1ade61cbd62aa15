//! Charts as SVG, written directly: deterministic text that any browser or
//! vector editor opens, with no font or native library needed to make it.

use std::fmt::Write;

use headsweep_metrics::ReliabilityBin;

/// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBar {
    /// ± one sample standard deviation.
    Std,
    /// The 95% Student-t confidence interval.
    Ci,
}

/// One mean with its error bar, at category `x`, in series `hue`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub x: String,
    pub hue: Option<String>,
    pub mean: f64,
    /// `(low, high)` of the error bar, when defined.
    pub bar: Option<(f64, f64)>,
    pub n: usize,
}

/// A line: `(x, y)` points in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" step for about `n` ticks over `span`.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    }
}

fn fmt_tick(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    // A tick at zero reached by adding steps can be −1e-17: print "0", not "-0".
    let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

/// Renders an SVG chart to PNG at `scale`× its size, with the system's
/// fonts. Fails when no font is installed, since the text would be lost.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, crate::ReportError> {
    use resvg::{tiny_skia, usvg};
    let err = |m: String| crate::ReportError::Png(m);
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    if opt.fontdb.is_empty() {
        return Err(crate::ReportError::NoFont);
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| err(e.to_string()))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| err("empty chart".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| err("chart too large".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| err(format!("encoding PNG: {e}")))
}

struct Frame {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    lo: f64,
    hi: f64,
}

impl Frame {
    fn y(&self, v: f64) -> f64 {
        self.y0 + self.h - (v - self.lo) / (self.hi - self.lo) * self.h
    }
}

/// Axes box, horizontal grid lines with y ticks, and the y label.
fn y_axis(svg: &mut String, f: &Frame, label: &str) {
    let step = tick_step(f.hi - f.lo, 5.0);
    let mut t = (f.lo / step).ceil() * step;
    while t <= f.hi + step * 1e-9 {
        let y = f.y(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/>"##,
            f.x0,
            f.x0 + f.w
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"#,
            f.x0 - 6.0,
            y + 4.0,
            fmt_tick(t, step)
        );
        t += step;
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        f.x0, f.y0, f.w, f.h
    );
    let cy = f.y0 + f.h / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{cy:.1}" transform="rotate(-90 {:.1} {cy:.1})" text-anchor="middle" font-size="13">{}</text>"#,
        f.x0 - 52.0,
        f.x0 - 52.0,
        esc(label)
    );
}

fn open(w: f64, h: f64, title: &str) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    svg
}

fn legend(svg: &mut String, x: f64, y: f64, entries: &[(String, &str, bool)]) {
    for (i, (label, color, dashed)) in entries.iter().enumerate() {
        let yy = y + 18.0 * i as f64;
        let dash = if *dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{color}" stroke-width="2.5"{dash}/>"#,
            x + 22.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
            x + 28.0,
            yy + 4.0,
            esc(label)
        );
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.08;
    (lo - pad, hi + pad)
}

/// Means with error bars per category of `x`, one colour per `hue`.
pub fn metric_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    hue_label: Option<&str>,
    points: &[MetricPoint],
) -> String {
    let mut xs: Vec<&str> = Vec::new();
    let mut hues: Vec<Option<&str>> = Vec::new();
    for p in points {
        if !xs.contains(&p.x.as_str()) {
            xs.push(&p.x);
        }
        if !hues.contains(&p.hue.as_deref()) {
            hues.push(p.hue.as_deref());
        }
    }
    let legend_w = if hue_label.is_some() { 190.0 } else { 0.0 };
    let (w, h) = (
        160.0 + (110.0 * xs.len() as f64).max(360.0) + legend_w,
        460.0,
    );
    let (lo, hi) = range(points.iter().flat_map(|p| {
        [
            p.mean,
            p.bar.map_or(p.mean, |b| b.0),
            p.bar.map_or(p.mean, |b| b.1),
        ]
    }));
    let f = Frame {
        x0: 90.0,
        y0: 50.0,
        w: w - 90.0 - 30.0 - legend_w,
        h: h - 50.0 - 80.0,
        lo,
        hi,
    };
    let mut svg = open(w, h, title);
    y_axis(&mut svg, &f, y_label);
    let band = f.w / xs.len().max(1) as f64;
    for (i, x) in xs.iter().enumerate() {
        let cx = f.x0 + band * (i as f64 + 0.5);
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
            f.y0 + f.h + 18.0,
            esc(x)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
        f.x0 + f.w / 2.0,
        f.y0 + f.h + 44.0,
        esc(x_label)
    );
    let slot = band * 0.7 / hues.len().max(1) as f64;
    for p in points {
        let i = xs.iter().position(|x| *x == p.x).expect("collected");
        let k = hues
            .iter()
            .position(|h| *h == p.hue.as_deref())
            .expect("collected");
        let cx = f.x0 + band * (i as f64 + 0.15) + slot * (k as f64 + 0.5);
        let color = PALETTE[k % PALETTE.len()];
        if let Some((a, b)) = p.bar {
            let _ = writeln!(
                svg,
                r#"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="{color}" stroke-width="1.5"/>"#,
                f.y(a),
                f.y(b)
            );
            for v in [a, b] {
                let _ = writeln!(
                    svg,
                    r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="1.5"/>"#,
                    cx - 5.0,
                    f.y(v),
                    cx + 5.0,
                    f.y(v)
                );
            }
        }
        let _ = writeln!(
            svg,
            r#"<circle cx="{cx:.1}" cy="{:.1}" r="4.5" fill="{color}"><title>{}: {:.4} (n={})</title></circle>"#,
            f.y(p.mean),
            esc(&p.x),
            p.mean,
            p.n
        );
    }
    if let Some(label) = hue_label {
        let lx = f.x0 + f.w + 20.0;
        let _ = writeln!(
            svg,
            r#"<text x="{lx:.1}" y="{:.1}" font-size="13" font-weight="bold">{}</text>"#,
            f.y0 + 10.0,
            esc(label)
        );
        let entries: Vec<(String, &str, bool)> = hues
            .iter()
            .enumerate()
            .map(|(k, h)| {
                (
                    h.unwrap_or("").to_string(),
                    PALETTE[k % PALETTE.len()],
                    false,
                )
            })
            .collect();
        legend(&mut svg, lx, f.y0 + 30.0, &entries);
    }
    svg + "</svg>\n"
}

/// Panels side by side, each a set of curves over epochs with its y label.
pub fn curves_svg(title: &str, panels: &[(String, Vec<Curve>)]) -> String {
    let panel_w = 420.0;
    let (w, h) = (panel_w * panels.len() as f64 + 40.0, 500.0);
    let mut svg = open(w, h, title);
    for (p, (label, curves)) in panels.iter().enumerate() {
        let (lo, hi) = range(curves.iter().flat_map(|c| c.points.iter().map(|pt| pt.1)));
        let f = Frame {
            x0: 90.0 + panel_w * p as f64,
            y0: 50.0,
            w: panel_w - 110.0,
            h: 280.0,
            lo,
            hi,
        };
        y_axis(&mut svg, &f, label);
        let max_x = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|pt| pt.0))
            .fold(1.0, f64::max);
        let min_x = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|pt| pt.0))
            .fold(max_x, f64::min);
        let span = (max_x - min_x).max(1.0);
        let px = |x: f64| f.x0 + (x - min_x) / span * f.w;
        let step = tick_step(span, 5.0).max(1.0);
        let mut t = (min_x / step).ceil() * step;
        while t <= max_x + 1e-9 {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
                px(t),
                f.y0 + f.h + 18.0,
                t
            );
            t += step;
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">epoch</text>"#,
            f.x0 + f.w / 2.0,
            f.y0 + f.h + 40.0
        );
        let mut entries = Vec::new();
        for (k, c) in curves.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let path: Vec<String> = c
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), f.y(*y)))
                .collect();
            let dash = if c.dashed {
                r#" stroke-dasharray="5 3""#
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                path.join(" ")
            );
            entries.push((c.label.clone(), color, c.dashed));
        }
        legend(&mut svg, f.x0, f.y0 + f.h + 64.0, &entries);
    }
    svg + "</svg>\n"
}

/// A reliability diagram: per series, the accuracy of each confidence bin
/// against its mean confidence (empty bins left out), the diagonal of
/// perfect calibration dashed, and each series' ECE in the legend.
pub fn calibration_svg(title: &str, series: &[(String, Vec<ReliabilityBin>)]) -> String {
    let (w, h) = (560.0, 480.0 + 18.0 * series.len() as f64);
    let mut svg = open(w, h, title);
    let f = Frame {
        x0: 90.0,
        y0: 50.0,
        w: 360.0,
        h: 360.0,
        lo: 0.0,
        hi: 1.0,
    };
    y_axis(&mut svg, &f, "accuracy");
    let px = |x: f64| f.x0 + x * f.w;
    for i in 0..=5 {
        let t = f64::from(i) / 5.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{t:.1}</text>"#,
            px(t),
            f.y0 + f.h + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">confidence (predicted class's probability)</text>"#,
        f.x0 + f.w / 2.0,
        f.y0 + f.h + 40.0
    );
    let _ = writeln!(
        svg,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="4 4"/>"##,
        px(0.0),
        f.y(0.0),
        px(1.0),
        f.y(1.0)
    );
    let mut entries = Vec::new();
    for (k, (label, bins)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64, usize)> = bins
            .iter()
            .filter_map(|b| Some((b.confidence?, b.accuracy?, b.count)))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|(c, a, _)| format!("{:.1},{:.1}", px(*c), f.y(*a)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (c, a, n) in &pts {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"><title>{}: confidence {c:.3}, accuracy {a:.3}, n={n}</title></circle>"#,
                px(*c),
                f.y(*a),
                esc(label)
            );
        }
        let n: usize = bins.iter().map(|b| b.count).sum();
        let ece: f64 = bins
            .iter()
            .filter_map(|b| {
                Some(b.count as f64 / n.max(1) as f64 * (b.accuracy? - b.confidence?).abs())
            })
            .sum();
        entries.push((format!("{label} (ECE {ece:.3}, n={n})"), color, false));
    }
    legend(&mut svg, f.x0, f.y0 + f.h + 62.0, &entries);
    svg + "</svg>\n"
}

/// A confusion matrix heat map: rows true classes, columns predicted;
/// colour is the share of the row, the number the count.
pub fn confusion_svg(title: &str, classes: &[String], counts: &[Vec<u64>]) -> String {
    let k = classes.len().max(1);
    let cell = (560.0 / k as f64).clamp(22.0, 60.0);
    let (x0, y0) = (150.0, 60.0);
    let (w, h) = (
        (x0 + cell * k as f64 + 40.0).max(title.chars().count() as f64 * 9.5 + 40.0),
        y0 + cell * k as f64 + 130.0,
    );
    let mut svg = open(w, h, title);
    let font = (cell * 0.32).clamp(8.0, 14.0);
    for (t, row) in counts.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (p, &n) in row.iter().enumerate() {
            let share = if total > 0 {
                n as f64 / total as f64
            } else {
                0.0
            };
            // White to deep blue.
            let (r, g, b) = (
                255.0 - share * 247.0,
                255.0 - share * 207.0,
                255.0 - share * 148.0,
            );
            let (x, y) = (x0 + cell * p as f64, y0 + cell * t as f64);
            let _ = writeln!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="rgb({r:.0},{g:.0},{b:.0})" stroke="#ffffff"><title>true {} → predicted {}: {n}</title></rect>"##,
                esc(&classes[t]),
                esc(&classes[p])
            );
            let ink = if share > 0.5 { "white" } else { "#222" };
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{font:.0}" fill="{ink}">{n}</text>"#,
                x + cell / 2.0,
                y + cell / 2.0 + font / 3.0
            );
        }
    }
    for (i, c) in classes.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="{font:.0}">{}</text>"#,
            x0 - 6.0,
            y0 + cell * (i as f64 + 0.5) + font / 3.0,
            esc(c)
        );
        let (x, y) = (x0 + cell * (i as f64 + 0.5), y0 + cell * k as f64 + 8.0);
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{y:.1}" transform="rotate(45 {x:.1} {y:.1})" font-size="{font:.0}">{}</text>"#,
            esc(c)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">predicted class</text>"#,
        x0 + cell * k as f64 / 2.0,
        h - 14.0
    );
    let cy = y0 + cell * k as f64 / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="22" y="{cy:.1}" transform="rotate(-90 22 {cy:.1})" text-anchor="middle" font-size="13">true class</text>"#
    );
    svg + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_rendering_has_the_chart_size() {
        let svg = confusion_svg("sex", &["F".into(), "M".into()], &[vec![9, 1], vec![0, 10]]);
        match svg_to_png(&svg, 1.0) {
            Ok(png) => {
                assert_eq!(&png[1..4], b"PNG");
                // Width and height from the IHDR chunk.
                let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
                assert!(w > 200, "{w}");
            }
            Err(e) => println!("skipped: {e}"),
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(1.0, 5.0), 0.2);
        assert_eq!(tick_step(0.07, 5.0), 0.01);
        assert_eq!(tick_step(42.0, 5.0), 10.0);
        assert_eq!(fmt_tick(0.25, 0.05), "0.25");
        assert_eq!(fmt_tick(-1e-17, 0.2), "0.0");
    }

    #[test]
    fn metric_chart() {
        let p = |x: &str, hue: &str, mean: f64| MetricPoint {
            x: x.into(),
            hue: Some(hue.into()),
            mean,
            bar: Some((mean - 0.02, mean + 0.02)),
            n: 3,
        };
        insta::assert_snapshot!(metric_svg(
            "age accuracy",
            "model.head_depth",
            "test age.accuracy",
            Some("train.loss"),
            &[
                p("0", "bce", 0.5),
                p("0", "ce", 0.55),
                p("1", "bce", 0.52),
                p("1", "c<e", 0.6)
            ]
        ));
    }

    #[test]
    fn curves_chart() {
        let c = |label: &str, k: f64, dashed| Curve {
            label: label.into(),
            points: (1..=4).map(|e| (e as f64, k / e as f64)).collect(),
            dashed,
        };
        insta::assert_snapshot!(curves_svg(
            "run abc",
            &[(
                "loss".into(),
                vec![c("train", 1.0, true), c("val", 1.2, false)]
            )]
        ));
    }

    #[test]
    fn confusion_chart() {
        insta::assert_snapshot!(confusion_svg(
            "sex",
            &["F".into(), "M".into()],
            &[vec![9, 1], vec![0, 10]]
        ));
    }

    #[test]
    fn calibration_chart() {
        let bins =
            headsweep_metrics::reliability(&[0.9, 0.95, 0.6, 0.3], &[true, false, true, false]);
        let svg = calibration_svg("c", &[("ce".into(), bins.clone()), ("bce".into(), bins)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // 0.9 and 0.95 fall in bins 13 and 14: four non-empty bins per series.
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains("ce (ECE ") && svg.contains("n=4)"));
    }
}
