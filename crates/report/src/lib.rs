//! Turning stored results into what people publish: comparison tables over
//! seeds with paired tests, run listings with filters, generic tables in
//! several formats, and SVG charts.
//!
//! **This crate never opens the database**: the binary reads rows through
//! the store crate and hands them over as [`SweepData`] or [`Table`]. Every
//! exporter is a pure function from data to text, so each format has a
//! snapshot test that does not depend on training.

mod calibration;
mod classes;
mod compare;
mod data;
mod error;
mod filter;
mod format;
mod html;
mod page;
mod plot;
mod site;
mod table;
mod views;

pub use calibration::{reliability_of, PredictionRef};
pub use classes::{add_confusion, class_table};
pub use compare::{
    compare, level_text, Adjust, Cell, Column, CompareOptions, Comparison, Paired, Pool, Row,
    RowSeeds, SeedRounds, DEFAULT_METRICS,
};
pub use data::{CurvePoint, MetricKey, RunData, SweepData};
pub use error::ReportError;
pub use filter::Filter;
pub use format::{render_comparison, ComparisonFormat};
pub use headsweep_metrics::Direction;
pub use html::html_document;
pub use page::{Chart, Highlight, Report};
pub use plot::{
    calibration_svg, confusion_svg, curves_svg, metric_svg, svg_to_png, Curve, ErrorBar,
    MetricPoint,
};
pub use site::{
    error_page, run_page, sweep_page, sweeps_page, Progress, RunView, SweepView, REFRESH_SECONDS,
};
pub use table::{aligned, fixed4, text_table, Align, RowWriter, Table, TableFormat, Value};
pub use views::{curve_panels, metric_points, run_summary, runs_table};
