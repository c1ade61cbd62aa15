//! Names that become parts of file paths: sweep names and run identities.
//! Checked where they are read — from a sweep file, and again from a store
//! that anyone with write access could have filled — before any path is
//! built from them.

use crate::IDENTITY_LEN;

/// The longest sweep name: it names files and Slurm jobs.
pub const MAX_SWEEP_NAME: usize = 100;

/// A name that cannot be used where it would become part of a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("sweep name {0:?} must be 1 to {MAX_SWEEP_NAME} letters, digits, '_', '-' or '.', not starting with '.' or '-'")]
    Sweep(String),
    #[error("{0:?} is not a run identity ({IDENTITY_LEN} lowercase hex digits)")]
    RunId(String),
}

/// A sweep name: 1 to [`MAX_SWEEP_NAME`] ASCII letters, digits, `_`, `-`
/// or `.`, not starting with `.` (no `..`, no hidden files) or `-` (no
/// option lookalikes).
pub fn check_sweep_name(name: &str) -> Result<(), NameError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SWEEP_NAME
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(NameError::Sweep(name.chars().take(120).collect()))
    }
}

/// A run identity: exactly [`IDENTITY_LEN`] lowercase hex digits.
pub fn check_run_id(id: &str) -> Result<(), NameError> {
    if id.len() == IDENTITY_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(NameError::RunId(id.chars().take(80).collect()))
    }
}

/// The first 12 characters of a run identity, as tables show it; safe on a
/// malformed identity read from a store (shorter, or not ASCII).
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(12).map_or(id, |(i, _)| &id[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_names_that_could_leave_a_folder_are_refused() {
        for good in ["tiny", "age_sex-heads.v2", "a", &"x".repeat(MAX_SWEEP_NAME)] {
            assert!(check_sweep_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-rf",
            "a/b",
            "../up",
            "a b",
            "ä",
            "a\0b",
            &"x".repeat(MAX_SWEEP_NAME + 1),
        ] {
            assert!(check_sweep_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_ids_never_split_or_overrun() {
        assert_eq!(short_id(&"ab".repeat(32)), "abababababab");
        assert_eq!(short_id("x"), "x");
        assert_eq!(short_id("ääääääääääääää"), "ääääääääääää");
    }

    #[test]
    fn run_ids_are_hex_of_the_identity_length() {
        let good = "0123456789abcdef".repeat(4);
        assert!(check_run_id(&good).is_ok());
        for bad in [
            "../../etc/passwd".to_string(),
            good.to_uppercase(),
            good[..63].to_string(),
            format!("{good}0"),
            format!("{}/x", &good[..62]),
        ] {
            assert!(check_run_id(&bad).is_err(), "{bad:?}");
        }
    }
}
