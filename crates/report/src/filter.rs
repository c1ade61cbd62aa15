//! `--where` filters over runs: comparisons of axis values (by dotted name)
//! and metrics (`HEAD.METRIC` on the test split, or `SPLIT.HEAD.METRIC`)
//! with `=, !=, <, <=, >, >=, IN (…)`, combined with AND, OR and
//! parentheses (AND binds tighter). Values are numbers, quoted strings or
//! bare words. Both sides numeric → numeric comparison, else text.

use crate::data::RunData;
use crate::ReportError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        match self {
            Op::Eq => ord.is_eq(),
            Op::Ne => ord.is_ne(),
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
        }
    }
}

/// A value in a filter or a run: a number where the text reads as one
/// (parsed once), else text.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    /// The number and the text it was read from.
    Num(f64, String),
    Text(String),
}

impl Literal {
    fn of(text: &str) -> Literal {
        match text.parse::<f64>() {
            Ok(v) => Literal::Num(v, text.to_string()),
            Err(_) => Literal::Text(text.to_string()),
        }
    }

    fn number(v: f64) -> Literal {
        Literal::Num(v, v.to_string())
    }

    /// Numbers compare as numbers, anything else as text.
    fn cmp(&self, other: &Literal) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Literal::Num(a, _), Literal::Num(b, _)) => a.partial_cmp(b),
            (a, b) => Some(a.text().cmp(b.text())),
        }
    }

    fn text(&self) -> &str {
        match self {
            Literal::Num(_, s) | Literal::Text(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(Op),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    In,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cmp {
        name: String,
        at: usize,
        op: Op,
        value: Literal,
    },
    In {
        name: String,
        at: usize,
        values: Vec<Literal>,
    },
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    expr: Expr,
}

const SPLITS: [&str; 3] = ["train", "val", "test"];

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, ReportError> {
        let toks = lex(text)?;
        let mut p = Parser { text, toks, pos: 0 };
        let expr = p.or()?;
        if p.pos < p.toks.len() {
            return Err(p.error_at_token("unexpected text after the end of the filter"));
        }
        Ok(Filter {
            text: text.to_string(),
            expr,
        })
    }

    /// Checks every name against the sweep's axes and heads: a name that is
    /// neither an axis nor `HEAD.METRIC` / `SPLIT.HEAD.METRIC` of a known
    /// head is an error at its position. (Task names cannot be `sweep`,
    /// `data`, `model` or `train`, so `model.x` is never a metric.)
    pub fn check(&self, axes: &[String], heads: &[String]) -> Result<(), ReportError> {
        for (name, at) in self.names() {
            let known_head = metric_key(name).is_some_and(|(_, h, _)| heads.contains(&h));
            if !(axes.iter().any(|a| a == name) || known_head) {
                return Err(error(
                    &self.text,
                    at,
                    &format!("{name:?} is neither an axis ({}) nor HEAD.METRIC / SPLIT.HEAD.METRIC of a head ({})", axes.join(", "), heads.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Every name that could be a metric, as (split, head, metric): what a
    /// caller must read for [`Filter::matches`] to see it. (An axis such as
    /// `train.lr` reads as one too; it matches no stored metric.)
    pub fn metric_keys(&self) -> Vec<(String, String, String)> {
        self.names()
            .into_iter()
            .filter_map(|(name, _)| metric_key(name))
            .collect()
    }

    /// Every name the filter compares, with its position, left to right.
    fn names(&self) -> Vec<(&str, usize)> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<(&'a str, usize)>) {
            match e {
                Expr::Or(v) | Expr::And(v) => v.iter().for_each(|x| walk(x, out)),
                Expr::Cmp { name, at, .. } | Expr::In { name, at, .. } => out.push((name, *at)),
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    pub fn matches(&self, run: &RunData) -> bool {
        eval(&self.expr, run)
    }
}

fn metric_key(name: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [h, m] => Some(("test".into(), h.to_string(), m.to_string())),
        [s, h, m] if SPLITS.contains(s) => Some((s.to_string(), h.to_string(), m.to_string())),
        _ => None,
    }
}

fn lookup(run: &RunData, name: &str) -> Option<Literal> {
    if let Some(v) = run.axis(name) {
        return Some(Literal::of(v));
    }
    let (s, h, m) = metric_key(name)?;
    run.metric(&s, &h, &m).map(Literal::number)
}

fn compare(have: &Literal, op: Op, want: &Literal) -> bool {
    have.cmp(want).is_some_and(|ord| op.holds(ord))
}

fn eval(e: &Expr, run: &RunData) -> bool {
    match e {
        Expr::Or(v) => v.iter().any(|x| eval(x, run)),
        Expr::And(v) => v.iter().all(|x| eval(x, run)),
        Expr::Cmp {
            name, op, value, ..
        } => lookup(run, name).is_some_and(|have| compare(&have, *op, value)),
        Expr::In { name, values, .. } => {
            lookup(run, name).is_some_and(|have| values.iter().any(|v| compare(&have, Op::Eq, v)))
        }
    }
}

fn error(text: &str, at: usize, message: &str) -> ReportError {
    let column = text[..at.min(text.len())].chars().count() + 1;
    ReportError::Filter {
        message: message.to_string(),
        column,
        text: text.to_string(),
        caret: format!("{}^", " ".repeat(column - 1)),
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ReportError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        let start = i;
        match c {
            ' ' | '\t' | '\n' => {
                i += 1;
                continue;
            }
            '(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, i));
                i += 1;
            }
            '=' => {
                out.push((Tok::Op(Op::Eq), i));
                i += 1;
            }
            '!' if b.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Op(Op::Ne), i));
                i += 2;
            }
            '<' | '>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    ('>', true) => Op::Ge,
                    _ => Op::Gt,
                };
                out.push((Tok::Op(op), i));
                i += if eq { 2 } else { 1 };
            }
            '\'' | '"' => {
                let close = text[i + 1..]
                    .find(c)
                    .ok_or_else(|| error(text, start, "unterminated string"))?;
                out.push((Tok::Str(text[i + 1..i + 1 + close].to_string()), start));
                i += close + 2;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '.') && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
                out.push((Tok::Num(text[start..i].to_string()), start));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-'))
                {
                    i += 1;
                }
                let word = &text[start..i];
                out.push((
                    match word.to_ascii_uppercase().as_str() {
                        "AND" => Tok::And,
                        "OR" => Tok::Or,
                        "IN" => Tok::In,
                        _ => Tok::Ident(word.to_string()),
                    },
                    start,
                ));
            }
            _ => return Err(error(text, start, &format!("unexpected character {c:?}"))),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.text.len(), |t| t.1)
    }

    fn error_at_token(&self, message: &str) -> ReportError {
        error(self.text, self.at(), message)
    }

    fn or(&mut self) -> Result<Expr, ReportError> {
        let mut v = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, ReportError> {
        let mut v = vec![self.atom()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            v.push(self.atom()?);
        }
        Ok(if v.len() == 1 {
            v.pop().expect("one")
        } else {
            Expr::And(v)
        })
    }

    fn value(&mut self) -> Result<Literal, ReportError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) | Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok(Literal::of(&s))
            }
            _ => Err(self.error_at_token("expected a value (a number, a quoted string or a word)")),
        }
    }

    fn atom(&mut self) -> Result<Expr, ReportError> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.error_at_token("expected ')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                let at = self.at();
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Op(op)) => {
                        self.pos += 1;
                        let value = self.value()?;
                        Ok(Expr::Cmp {
                            name,
                            at,
                            op,
                            value,
                        })
                    }
                    Some(Tok::In) => {
                        self.pos += 1;
                        if self.peek() != Some(&Tok::LParen) {
                            return Err(self.error_at_token("expected '(' after IN"));
                        }
                        self.pos += 1;
                        let mut values = vec![self.value()?];
                        while self.peek() == Some(&Tok::Comma) {
                            self.pos += 1;
                            values.push(self.value()?);
                        }
                        if self.peek() != Some(&Tok::RParen) {
                            return Err(self.error_at_token("expected ',' or ')' in the IN list"));
                        }
                        self.pos += 1;
                        Ok(Expr::In { name, at, values })
                    }
                    _ => Err(self.error_at_token(
                        "expected a comparison (=, !=, <, <=, >, >=) or IN after the name",
                    )),
                }
            }
            _ => Err(self.error_at_token("expected a name (an axis or HEAD.METRIC) or '('")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_keys_name_what_matching_reads() {
        let f = Filter::parse("sex.f1 > 0.5 and (val.age.mae < 1 or model.head_depth IN (0, 1))")
            .unwrap();
        let key = |s: &str, h: &str, m: &str| (s.to_string(), h.to_string(), m.to_string());
        assert_eq!(
            f.metric_keys(),
            [
                key("test", "sex", "f1"),
                key("val", "age", "mae"),
                // An axis reads as a key too, and matches no metric.
                key("test", "model", "head_depth"),
            ]
        );
    }

    fn run(arch: &str, depth: &str, acc: f64) -> RunData {
        let mut r = RunData {
            axes: vec![
                ("model.architecture".into(), arch.into()),
                ("model.head_depth".into(), depth.into()),
            ],
            ..Default::default()
        };
        r.metrics
            .insert(("test".into(), "age".into(), "accuracy".into()), acc);
        r.metrics
            .insert(("val".into(), "age".into(), "accuracy".into()), acc - 0.1);
        r
    }

    fn keep(f: &str, r: &RunData) -> bool {
        let f = Filter::parse(f).unwrap();
        f.check(
            &["model.architecture".into(), "model.head_depth".into()],
            &["age".into(), "sex".into(), "joint".into()],
        )
        .unwrap();
        f.matches(r)
    }

    #[test]
    fn comparisons_in_and_or_parentheses() {
        let r = run("multi_head", "2", 0.55);
        assert!(keep("model.architecture = multi_head", &r));
        assert!(keep(
            "model.architecture = 'multi_head' AND model.head_depth >= 1",
            &r
        ));
        assert!(!keep("model.architecture != multi_head", &r));
        assert!(keep("model.head_depth IN (0, 2)", &r));
        assert!(keep(
            "age.accuracy > 0.5 and (model.head_depth = 0 or model.head_depth = 2)",
            &r
        ));
        assert!(!keep("val.age.accuracy > 0.5", &r));
        assert!(keep("val.age.accuracy <= 0.46", &r));
        // Numeric, not textual: 10 > 9.
        assert!(keep("model.head_depth < 10", &r));
        // OR binds looser than AND.
        assert!(keep(
            "model.head_depth = 7 AND age.accuracy > 9 OR model.architecture = multi_head",
            &r
        ));
        // A metric the run lacks matches nothing.
        assert!(!keep("sex.accuracy > 0", &r));
    }

    #[test]
    fn malformed_filters_point_at_the_position() {
        let e = Filter::parse("model.head_depth = ")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "filter: expected a value (a number, a quoted string or a word) at column 20"
            ),
            "{e}"
        );
        assert!(e.ends_with("                     ^"), "{e}");
        let e = Filter::parse("(a = 1 OR b = 2").unwrap_err().to_string();
        assert!(e.contains("expected ')' at column 16"), "{e}");
        let e = Filter::parse("a == 1").unwrap_err().to_string();
        assert!(
            e.contains("expected a value") && e.contains("column 4"),
            "{e}"
        );
        let e = Filter::parse("a IN 1, 2").unwrap_err().to_string();
        assert!(e.contains("expected '(' after IN at column 6"), "{e}");
        let e = Filter::parse("a = 1 b").unwrap_err().to_string();
        assert!(
            e.contains("unexpected text after the end of the filter at column 7"),
            "{e}"
        );
        let e = Filter::parse("a = 'x").unwrap_err().to_string();
        assert!(e.contains("unterminated string at column 5"), "{e}");
        let f = Filter::parse("x.y.z.w = 1").unwrap();
        let e = f
            .check(&["model.head_depth".into()], &["age".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"x.y.z.w\" is neither an axis") && e.contains("column 1"),
            "{e}"
        );
        let f = Filter::parse("age.accuracy > 0 AND model.width = 1").unwrap();
        let e = f
            .check(&["model.head_depth".into()], &["age".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"model.width\" is neither an axis") && e.contains("column 22"),
            "{e}"
        );
    }
}
