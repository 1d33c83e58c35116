//! "Did you mean …?" hints for misspelt names (options, fields, kinds).

/// The candidate closest to `word`, when it is close enough to be a likely typo: at most two
/// edits away (one for words of up to four characters), ignoring case; ties go to the first.
///
/// ```
/// use rill_core::did_you_mean;
/// assert_eq!(did_you_mean("slidin", ["sliding", "fixed"]), Some("sliding"));
/// assert_eq!(did_you_mean("Count", ["count", "sum"]), Some("count"));
/// assert_eq!(did_you_mean("xyz", ["count", "sum"]), None);
/// ```
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&lower, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance over characters where a swap of two neighbours counts as one edit
/// (optimal string alignment: `kye` is one edit from `key`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // three rows: i-2, i-1, i
    let mut rows = vec![vec![0usize; b.len() + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur][0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
        }
    }
    rows[a.len() % 3][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_not() {
        assert_eq!(did_you_mean("keyy", ["path", "key", "time"]), Some("key"));
        assert_eq!(did_you_mean("tme", ["path", "key", "time"]), Some("time"));
        assert_eq!(did_you_mean("ab", ["xy"]), None);
        assert_eq!(
            did_you_mean("agregate_by_key", ["aggregate_by_key", "map"]),
            Some("aggregate_by_key")
        );
        assert_eq!(did_you_mean("kye", ["path", "key", "time"]), Some("key"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("kye", "key"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }
}
