//! The store's SQL, as PostgreSQL reads it. Done once per query text and kept with the
//! prepared statement.
//!
//! - `?N` becomes `$N`, and a bare `?` the next number, as SQLite numbers them.
//! - `+?N` (a unary plus SQLite needs to keep a plan prepared; see the store's module
//!   notes) becomes `$N`: PostgreSQL has no unary plus on text.
//! - `LIKE` becomes `ILIKE`: SQLite's `LIKE` ignores the case of ASCII letters and the
//!   search relies on that.
//!
//! Text in quotes and comments is copied as it is.

pub(super) fn to_postgres(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut max = 0u32;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let end = quoted_end(b, i);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                let end = sql[i..].find('\n').map_or(b.len(), |n| i + n);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'+' if b.get(i + 1) == Some(&b'?') && unary(&out) => i += 1,
            b'?' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                let n = if end > start {
                    sql[start..end].parse().unwrap_or(0)
                } else {
                    max + 1
                };
                max = max.max(n);
                out.push('$');
                out.push_str(&n.to_string());
                i = end;
            }
            _ if word_at(b, i, b"LIKE") => {
                out.push_str("ILIKE");
                i += 4;
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Where the quoted text starting at `start` ends (after its closing quote; a doubled
/// quote is part of the text).
fn quoted_end(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Whether a `+` written after `out` is a unary plus: nothing it could add to stands
/// before it (an operator, an opening parenthesis, or a keyword such as `LIMIT`).
fn unary(out: &str) -> bool {
    let before = out.trim_end();
    match before.bytes().last() {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || c == b'_' => {
            let word = before
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("");
            KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k))
        }
        Some(c) => !(c == b')' || c == b'\'' || c == b'"'),
    }
}

/// Keywords a value may follow.
const KEYWORDS: &[&str] = &[
    "LIMIT", "OFFSET", "AND", "OR", "NOT", "WHEN", "THEN", "ELSE", "SELECT", "WHERE", "IS", "IN",
    "LIKE", "BETWEEN", "RETURN", "VALUES", "SET", "ON",
];

/// Whether the keyword `word` (any case) stands at `i` as a whole word.
fn word_at(b: &[u8], i: usize, word: &[u8]) -> bool {
    let end = i + word.len();
    end <= b.len()
        && b[i..end].eq_ignore_ascii_case(word)
        && (i == 0 || !is_word(b[i - 1]))
        && (end == b.len() || !is_word(b[end]))
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn parameters_become_numbered_and_quotes_stay_as_written() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2 LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $3"
        );
        assert_eq!(
            to_postgres("UPDATE t SET x = ?3 WHERE id = ?1 AND y = +?2 ORDER BY z LIMIT +?"),
            "UPDATE t SET x = $3 WHERE id = $1 AND y = $2 ORDER BY z LIMIT $4"
        );
        assert_eq!(
            to_postgres("SELECT '?1 it''s LIKE', \"a?\" FROM t WHERE n LIKE ?1 ESCAPE '\\'"),
            "SELECT '?1 it''s LIKE', \"a?\" FROM t WHERE n ILIKE $1 ESCAPE '\\'"
        );
        // A binary plus is kept; a word containing LIKE is not a keyword.
        assert_eq!(
            to_postgres("SELECT n +?1, unlikely FROM t -- LIKE ?\nWHERE a = ?"),
            "SELECT n +$1, unlikely FROM t -- LIKE ?\nWHERE a = $2"
        );
    }
}
