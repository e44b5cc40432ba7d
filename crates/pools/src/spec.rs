//! Parsing the `--fib-inputs` and `--get-inputs` SPECs.
//!
//! A SPEC is either a Python-style range `START..END[:STEP]`, with END excluded (the
//! article's `range(1000, 1800, 100)` is `1000..1800:100`), or a comma-separated list.

/// The most values a SPEC may expand to: far more than any experiment here needs,
/// and far less than would exhaust memory.
pub const MAX_ITEMS: usize = 10_000_000;

/// Parses a SPEC into its values.
///
/// ```
/// use pools::spec::parse;
/// assert_eq!(parse("34..42").unwrap(), (34..42).collect::<Vec<u64>>());
/// assert_eq!(parse("1000..1800:100").unwrap().len(), 8);
/// assert_eq!(parse("5,3,9").unwrap(), [5, 3, 9]);
/// assert!(parse("42..34").is_err());
/// ```
pub fn parse(spec: &str) -> Result<Vec<u64>, String> {
    let spec = spec.trim();
    let values = match spec.split_once("..") {
        Some((start, rest)) => {
            let (end, step) = match rest.split_once(':') {
                Some((end, step)) => (end, number(step, spec)?),
                None => (rest, 1),
            };
            let (start, end) = (number(start, spec)?, number(end, spec)?);
            if step == 0 {
                return Err(format!("bad SPEC `{spec}`: the step must be at least 1"));
            }
            if start >= end {
                return Err(format!(
                    "bad SPEC `{spec}`: the range is empty (END is excluded, so it must be above START)"
                ));
            }
            let count = (end - start).div_ceil(step);
            if count > MAX_ITEMS as u64 {
                return Err(format!(
                    "bad SPEC `{spec}`: {count} values is too many (at most {MAX_ITEMS})"
                ));
            }
            (start..end).step_by(step as usize).collect()
        }
        None => spec
            .split(',')
            .map(|item| number(item, spec))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(values)
}

fn number(text: &str, spec: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "bad SPEC `{spec}`: `{}` is not a non-negative integer \
             (expected START..END[:STEP] or a comma list such as 34,35,36)",
            text.trim()
        )
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
        ] {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(hint), "{spec:?}: {err}");
        }
    }
}
