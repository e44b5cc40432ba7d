//! Parsing the `--fib-inputs` and `--get-inputs` SPECs.
//!
//! A SPEC is either a Python-style range `START..END[:STEP]`, with END excluded (the
//! article's `range(1000, 1800, 100)` is `1000..1800:100`), or a comma-separated list.

use crate::limits::{MAX_TASKS, thousands};

/// The most values a SPEC may expand to: the limit on tasks per experiment
/// ([`MAX_TASKS`]), since every value is at least one task. A range is counted before
/// it is expanded, so `0..18446744073709551615` allocates nothing.
pub const MAX_ITEMS: usize = MAX_TASKS;

/// Why a SPEC was refused. Each message quotes the SPEC (the first 40 characters of a
/// long one) and says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A part that should be a number is not one.
    #[error(
        "bad SPEC `{spec}`: `{text}` is not a non-negative integer \
         (expected START..END[:STEP] or a comma list such as 34,35,36)"
    )]
    NotANumber {
        /// The whole SPEC.
        spec: String,
        /// The part that is not a number.
        text: String,
    },
    /// A range with a step of 0.
    #[error("bad SPEC `{spec}`: the step must be at least 1")]
    ZeroStep {
        /// The whole SPEC.
        spec: String,
    },
    /// A range whose END is not above its START.
    #[error("bad SPEC `{spec}`: the range is empty (END is excluded, so it must be above START)")]
    EmptyRange {
        /// The whole SPEC.
        spec: String,
    },
    /// More values than [`MAX_ITEMS`].
    #[error(
        "bad SPEC `{shown}`: {count} values is too many (at most {}, the limit on tasks \
         per experiment)",
        thousands(MAX_ITEMS as u128)
    )]
    TooMany {
        /// The SPEC, cut short if long: a long list is not repeated back in full.
        shown: String,
        /// How many values it would expand to.
        count: u64,
    },
}

/// Parses a SPEC into its values.
///
/// ```
/// use pools::spec::parse;
/// assert_eq!(parse("34..42").unwrap(), (34..42).collect::<Vec<u64>>());
/// assert_eq!(parse("1000..1800:100").unwrap().len(), 8);
/// assert_eq!(parse("5,3,9").unwrap(), [5, 3, 9]);
/// assert!(parse("42..34").is_err());
/// ```
pub fn parse(spec: &str) -> Result<Vec<u64>, SpecError> {
    let spec = spec.trim();
    let values = match spec.split_once("..") {
        Some((start, rest)) => {
            let (end, step) = match rest.split_once(':') {
                Some((end, step)) => (end, number(step, spec)?),
                None => (rest, 1),
            };
            let (start, end) = (number(start, spec)?, number(end, spec)?);
            if step == 0 {
                return Err(SpecError::ZeroStep { spec: spec.into() });
            }
            if start >= end {
                return Err(SpecError::EmptyRange { spec: spec.into() });
            }
            let count = (end - start).div_ceil(step);
            if count > MAX_ITEMS as u64 {
                return Err(too_many(spec, count));
            }
            // `step` fits in a usize: on 32-bit targets a larger step gives one value.
            let step = usize::try_from(step).unwrap_or(usize::MAX);
            (start..end).step_by(step).collect()
        }
        None => {
            // A list is no longer than the text typed, but is held to the same limit.
            let count = spec.split(',').count();
            if count > MAX_ITEMS {
                return Err(too_many(spec, count as u64));
            }
            spec.split(',')
                .map(|item| number(item, spec))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(values)
}

fn too_many(spec: &str, count: u64) -> SpecError {
    // A long list is not repeated back in full.
    let mut shown: String = spec.chars().take(40).collect();
    if shown.len() < spec.len() {
        shown.push('…');
    }
    SpecError::TooMany { shown, count }
}

fn number(text: &str, spec: &str) -> Result<u64, SpecError> {
    text.trim().parse().map_err(|_| SpecError::NotANumber {
        spec: spec.into(),
        text: text.trim().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn ranges_exclude_their_end_like_python() {
        assert_eq!(parse("34..42").unwrap(), [34, 35, 36, 37, 38, 39, 40, 41]);
        assert_eq!(
            parse("1000..1800:100").unwrap(),
            [1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700]
        );
        assert_eq!(parse(" 1..2 ").unwrap(), [1]);
    }

    #[test]
    fn lists_keep_their_order() {
        assert_eq!(parse("41, 34,40").unwrap(), [41, 34, 40]);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, hint) in [
            ("", "is not a non-negative integer"),
            ("a..b", "`a` is not"),
            ("5..5", "the range is empty"),
            ("1..9:0", "the step must be"),
            ("1,,2", "`` is not"),
            ("-3", "`-3` is not"),
            ("1..5000000000", "is too many"),
            (
                "0..18446744073709551615",
                "18446744073709551615 values is too many",
            ),
            ("0..18446744073709551615:1", "at most 1,000,000"),
        ] {
            let err = parse(spec).unwrap_err().to_string();
            assert!(err.contains(hint), "{spec:?}: {err}");
        }
    }

    /// The limit is exact, for ranges and lists alike.
    #[test]
    fn a_spec_may_have_max_items_values_and_no_more() {
        assert_eq!(parse("0..1000000").unwrap().len(), super::MAX_ITEMS);
        assert!(
            parse("0..1000001")
                .unwrap_err()
                .to_string()
                .contains("1000001 values is too many")
        );
        let list = vec!["1"; super::MAX_ITEMS + 1].join(",");
        let err = parse(&list).unwrap_err().to_string();
        assert!(err.contains("1000001 values is too many"), "{err}");
        assert!(err.len() < 200, "the message repeats the whole list");
    }
}
