//! Wildcard matching as CloudFront path patterns and IAM's `ArnLike` condition do it: `*` matches any
//! run of characters (the empty one included), `?` exactly one. Iterative, remembering only the last
//! `*` (the glob algorithm of Russ Cox's "Glob Matching Can Be Simple And Fast Too"): at most
//! |pattern|·|value| steps and no recursion, so no request path can exhaust the stack.

/// Whether `value` matches `pattern`.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    // After a `*`: where the pattern resumes, and the next value position to retry from.
    let mut retry: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                retry = Some((p + 1, v + 1));
                p += 1;
            }
            Some('?') => {
                p += 1;
                v += 1;
            }
            Some(c) if *c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match retry {
                // The last `*` swallows one more character and the rest is tried again.
                Some((resume, next)) => {
                    p = resume;
                    v = next;
                    retry = Some((resume, next + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn stars_and_question_marks() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "/chatbot"));
        assert!(wildcard_match("/chatbot", "/chatbot"));
        assert!(!wildcard_match("/chatbot", "/chatbot/"));
        assert!(wildcard_match("/api/*", "/api/x/y"));
        assert!(!wildcard_match("/api/*", "/chatbot"));
        assert!(wildcard_match("/v?/x", "/v1/x"));
        assert!(!wildcard_match("/v?/x", "/v/x"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("*a*a*a*b", "aaaaaaaaaaaab"));
        assert!(
            wildcard_match("/caf?", "/café"),
            "? is one character, not one byte"
        );
        assert!(wildcard_match(
            "arn:aws:cloudfront::123:distribution/*",
            "arn:aws:cloudfront::123:distribution/E1"
        ));
    }

    #[test]
    fn a_long_value_against_a_hostile_pattern_neither_recurses_nor_explodes() {
        // The recursive matcher this replaced overflowed the stack at opt-level 0 on a few KB of path.
        let value = "a".repeat(64 * 1024);
        assert!(wildcard_match("*", &value));
        assert!(!wildcard_match("*a*a*a*a*a*b", &value));
        assert!(wildcard_match("a*a*a*a", &value));
    }
}
