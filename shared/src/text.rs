//! Fitting text into the CodePipeline API's length limits, always with an explicit marker.
//!
//! Lengths are counted in characters (Unicode scalar values), as the API documents them.

/// Cuts `text` to at most `max` characters; a cut text ends with `… [truncated N characters]`.
pub fn truncate(text: &str, max: usize) -> String {
    let len = text.chars().count();
    if len <= max {
        return text.to_string();
    }
    // The marker's own length depends on N; compute it for the worst case (N = len).
    let marker_for = |omitted: usize| format!("… [truncated {omitted} characters]");
    let reserve = marker_for(len).chars().count();
    if max <= reserve {
        return text.chars().take(max).collect();
    }
    let keep = max - reserve;
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&marker_for(len - keep));
    out
}

/// Joins `header` and as many `lines` as fit in `max` characters, then `... and N more <noun>`.
/// Lines are kept whole and in order, so put the most important first.
pub fn fit_lines(header: &str, lines: &[String], max: usize, noun: &str) -> String {
    let mut out = header.to_string();
    for (index, line) in lines.iter().enumerate() {
        let remaining = lines.len() - index;
        // Room needed: this line, plus the marker if more lines follow after it.
        let marker_after = if remaining > 1 { more_marker(remaining - 1, noun).chars().count() + 1 } else { 0 };
        let needed = usize::from(!out.is_empty()) + line.chars().count() + marker_after;
        if out.chars().count() + needed > max {
            let marker = more_marker(remaining, noun);
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&marker);
            return truncate(&out, max);
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    truncate(&out, max)
}

fn more_marker(count: usize, noun: &str) -> String {
    format!("... and {count} more {noun}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(truncate("hello", 5), "hello");
    }

    #[test]
    fn long_text_gets_a_marker_and_fits() {
        let text = "x".repeat(3000);
        let cut = truncate(&text, 2048);
        let len = cut.chars().count();
        assert!((2046..=2048).contains(&len), "{len}");
        let omitted = 3000 - cut.chars().take_while(|c| *c == 'x').count();
        assert!(cut.ends_with(&format!("… [truncated {omitted} characters]")), "{}", &cut[2000..]);
    }

    #[test]
    fn multibyte_text_is_cut_on_characters() {
        let text = "é".repeat(100);
        let cut = truncate(&text, 50);
        assert!((48..=50).contains(&cut.chars().count()));
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn lines_fit_with_a_count_of_the_rest() {
        let lines: Vec<String> = (1..=100).map(|i| format!("finding {i:03} xxxxxxxxxx")).collect();
        let text = fit_lines("3 errors:", &lines, 200, "findings");
        assert!(text.chars().count() <= 200, "{}", text.len());
        assert!(text.starts_with("3 errors:\nfinding 001"));
        let last = text.lines().last().expect("last");
        let shown = text.lines().filter(|l| l.starts_with("finding")).count();
        assert_eq!(last, format!("... and {} more findings", 100 - shown));
    }

    #[test]
    fn all_lines_fit_without_marker() {
        let lines = vec!["a".to_string(), "b".to_string()];
        assert_eq!(fit_lines("h", &lines, 100, "findings"), "h\na\nb");
        assert_eq!(fit_lines("", &lines, 100, "findings"), "a\nb");
    }
}
