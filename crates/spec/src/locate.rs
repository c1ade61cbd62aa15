//! Turning a key path such as `tasks[0].bins` into a line and column, so that
//! errors found after parsing still point into the file.

use toml_edit::{ImDocument, Item, Table, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl From<&str> for Step {
    fn from(k: &str) -> Self {
        Step::Key(k.to_string())
    }
}

impl From<usize> for Step {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// Renders a path as it would be written in the file: `tasks[0].bins`.
pub fn render(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) if s.is_empty() => s.push_str(k),
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

/// The byte offset of the deepest element of `path` present in `text`: the
/// key itself where the path ends at a key, else the element.
pub fn offset(text: &str, path: &[Step]) -> Option<usize> {
    let doc = ImDocument::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for step in path {
        let next = match (step, node) {
            (Step::Key(k), Node::Table(t)) | (Step::Key(k), Node::Item(Item::Table(t))) => {
                best = t
                    .key(k)
                    .and_then(|key| key.span())
                    .map(|s| s.start)
                    .or(best);
                t.get(k).map(Node::Item)
            }
            (Step::Key(k), Node::Item(Item::Value(Value::InlineTable(t))))
            | (Step::Key(k), Node::Value(Value::InlineTable(t))) => {
                best = t
                    .key(k)
                    .and_then(|key| key.span())
                    .map(|s| s.start)
                    .or(best);
                t.get(k).map(Node::Value)
            }
            (Step::Index(i), Node::Item(Item::ArrayOfTables(a))) => a.get(*i).map(|t| {
                best = t.span().map(|s| s.start).or(best);
                Node::Table(t)
            }),
            (Step::Index(i), Node::Item(Item::Value(Value::Array(a))))
            | (Step::Index(i), Node::Value(Value::Array(a))) => a.get(*i).map(|v| {
                best = v.span().map(|s| s.start).or(best);
                Node::Value(v)
            }),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    best
}

/// The key path of the innermost value whose span holds `offset`: the key
/// a type error at that position is about.
pub fn path_at(text: &str, offset: usize) -> Option<Vec<Step>> {
    fn within(span: Option<std::ops::Range<usize>>, offset: usize) -> bool {
        span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
    }
    fn value(v: &Value, offset: usize, path: &mut Vec<Step>) -> bool {
        if !within(v.span(), offset) {
            return false;
        }
        match v {
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(Step::Index(i));
                    if value(x, offset, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            Value::InlineTable(t) => {
                for (k, x) in t.iter() {
                    path.push(Step::Key(k.to_string()));
                    if value(x, offset, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            _ => {}
        }
        true
    }
    fn table(t: &Table, offset: usize, path: &mut Vec<Step>) -> bool {
        for (k, item) in t.iter() {
            path.push(Step::Key(k.to_string()));
            let found = match item {
                Item::Value(v) => value(v, offset, path),
                Item::Table(t) => table(t, offset, path),
                Item::ArrayOfTables(a) => a.iter().enumerate().any(|(i, t)| {
                    path.push(Step::Index(i));
                    let found = table(t, offset, path);
                    if !found {
                        path.pop();
                    }
                    found
                }),
                Item::None => false,
            };
            if found {
                return true;
            }
            path.pop();
        }
        false
    }
    let doc = ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    table(doc.as_table(), offset, &mut path).then_some(path)
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "[train]\nlr = 0.1\n\n[[tasks]]\nname = \"a\"\n\n[[tasks]]\nname = \"b\"\nbins = [1, 0]\n";

    #[test]
    fn finds_keys_in_tables_and_arrays_of_tables() {
        let at = |path: &[Step]| line_col(TEXT, offset(TEXT, path).unwrap());
        assert_eq!(at(&["train".into(), "lr".into()]), (2, 1));
        assert_eq!(at(&["tasks".into(), 1.into(), "bins".into()]), (9, 1));
        assert_eq!(
            at(&["tasks".into(), 1.into(), "bins".into(), 1.into()]),
            (9, 12)
        );
        let off = TEXT.find("[1, 0]").unwrap() + 4;
        assert_eq!(
            path_at(TEXT, off),
            Some(vec!["tasks".into(), 1.into(), "bins".into(), 1.into()])
        );
        assert_eq!(
            path_at(TEXT, TEXT.find("0.1").unwrap()),
            Some(vec!["train".into(), "lr".into()])
        );
        // A key that is absent points at its closest present parent.
        assert_eq!(at(&["train".into(), "epochs".into()]), (1, 2));
        assert_eq!(
            render(&["tasks".into(), 1.into(), "bins".into()]),
            "tasks[1].bins"
        );
    }
}
