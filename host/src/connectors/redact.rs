//! Keeping credentials out of what the host says: every URL the host writes into a log
//! line, an error or a status goes through [`url`] (no user-info, no values of
//! credential-like query parameters), and every text that came from a plugin or a platform
//! goes through [`secrets`], which blanks the channel's own secret values wherever they
//! appear (plain, percent-encoded or form-encoded), whatever the plugin did with them.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// What a removed credential is shown as.
pub(crate) const MASK: &str = "[redacted]";

/// Secrets shorter than this are not searched for: they would blank ordinary words, and
/// no platform issues credentials that short.
const MIN_SECRET_LEN: usize = 4;

/// Query parameters whose values are credentials: matched on the lower-cased name.
fn credential_like(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "token",
        "secret",
        "key",
        "pass",
        "pwd",
        "auth",
        "sig",
        "credential",
        "session",
        "code",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// `url` as it may be written down: user-info dropped, the values of credential-like query
/// parameters (`access_token`, `api_key`, `hub.verify_token`, ...) replaced by a mask.
pub(crate) fn url(url: &reqwest::Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = clean
            .query_pairs()
            .map(|(k, v)| {
                let v = if credential_like(&k) {
                    MASK.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.set_fragment(None);
    clean.to_string()
}

/// Like [`url`] for a text that may not parse as a URL: one that does not is shown only
/// up to its query.
pub(crate) fn url_text(text: &str) -> String {
    match text.parse::<reqwest::Url>() {
        Ok(parsed) => url(&parsed),
        Err(_) => {
            let head = text.split(['?', '#']).next().unwrap_or_default();
            match head.split_once("://") {
                Some((scheme, rest)) => {
                    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
                    format!("{scheme}://{rest}")
                }
                None => head.to_owned(),
            }
        }
    }
}

/// `text` with every value of `secrets` (and its URL-encoded forms) replaced by a mask.
pub(crate) fn secrets<'t>(secrets: &BTreeMap<String, String>, text: &'t str) -> Cow<'t, str> {
    let mut out = Cow::Borrowed(text);
    for value in secrets.values() {
        if value.len() < MIN_SECRET_LEN {
            continue;
        }
        let encoded = urlencoding::encode(value);
        let form = encoded.replace("%20", "+");
        for form in [value.as_str(), encoded.as_ref(), form.as_str()] {
            if out.contains(form) {
                out = Cow::Owned(out.replace(form, MASK));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_userinfo_and_credential_values_but_keep_the_rest() {
        let u: reqwest::Url =
            "https://me:pw@graph.example.com/v19.0/1001/feed?fields=a,b&access_token=SECRET1&limit=5&hub.verify_token=v&API_KEY=k#frag"
                .parse()
                .unwrap();
        let shown = url(&u);
        for gone in [
            "me:",
            "pw@",
            "SECRET1",
            "verify_token=v",
            "API_KEY=k",
            "frag",
        ] {
            assert!(!shown.contains(gone), "{gone} in {shown}");
        }
        for kept in [
            "graph.example.com/v19.0/1001/feed",
            "limit=5",
            "fields=a%2Cb",
        ] {
            assert!(shown.contains(kept), "{kept} not in {shown}");
        }
        assert_eq!(
            url(&"http://127.0.0.1:9090/x".parse().unwrap()),
            "http://127.0.0.1:9090/x"
        );
        assert_eq!(
            url_text("http://u:p@h:1/a b?token=z"),
            "http://h:1/a%20b?token=%5Bredacted%5D"
        );
        assert_eq!(url_text("::not a url?token=z"), "::not a url");
    }

    #[test]
    fn secret_values_are_blanked_in_every_encoding() {
        let mut map = BTreeMap::new();
        map.insert("access_token".into(), "SECRET page/token+1".into());
        map.insert("short".into(), "ab".into());
        let text = "plain SECRET page/token+1, query SECRET%20page%2Ftoken%2B1, \
                    form SECRET+page%2Ftoken%2B1, ab stays";
        let clean = secrets(&map, text);
        assert!(!clean.contains("SECRET"), "{clean}");
        assert_eq!(clean.matches(MASK).count(), 3, "{clean}");
        assert!(clean.contains("ab stays"));
        assert!(matches!(secrets(&map, "nothing here"), Cow::Borrowed(_)));
    }
}
