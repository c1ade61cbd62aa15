//! HTML scaffolding shared by every page: the styled, self-contained
//! document (styles and the table-sorting script inline, nothing fetched),
//! escaping, and tables.

use std::fmt::Write;

use crate::table::Table;

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25rem 0.55rem; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; cursor: pointer; position: sticky; top: 0; }
td:first-child, th:first-child { text-align: left; }
tbody tr:hover { background: #f7faff; }
strong { color: #0b5394; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.charts svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-size: 0.85rem; }
.wide { overflow-x: auto; }
.error { color: #b00020; font-weight: bold; }
.done { color: #1b7f3b; } .running { color: #0b5394; } .failed { color: #b00020; } .pending { color: #777; }
form label { display: inline-block; margin: 0.2rem 0.8rem 0.2rem 0; }
small { color: #555; }
";

/// Clicking a header sorts its table by that column (numbers by value).
const SORT: &str = "
document.querySelectorAll('table').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0]; if (!body) return;
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
      var key = function (r) { var s = (r.cells[i] || {}).textContent || ''; var v = parseFloat(s.replace('−', '-')); return isNaN(v) ? s : v; };
      rows.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
";

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A complete HTML5 document: `body` (HTML) under an `<h1>` of `title`.
pub fn html_document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{body}\n<script>{SORT}</script>\n</body>\n</html>\n",
        t = escape(title)
    )
}

pub(crate) fn table_html(t: &Table) -> String {
    table_html_linked(t, usize::MAX, "")
}

/// A table whose column `link` holds names that `prefix` + name links to.
pub(crate) fn table_html_linked(t: &Table, link: usize, prefix: &str) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, v) in r.iter().enumerate() {
            let text = match v {
                crate::table::Value::Real(x) => format!("{x:.4}"),
                other => other.text(),
            };
            if i == link {
                let _ = write!(
                    out,
                    "<td><a href=\"{prefix}{t}\">{t}</a></td>",
                    t = escape(&text)
                );
            } else {
                let _ = write!(out, "<td>{}</td>", escape(&text));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
