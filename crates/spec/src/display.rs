//! How a setting's value reads in labels and tables.

/// A JSON value as a person would write it: strings without quotes.
pub fn display_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
