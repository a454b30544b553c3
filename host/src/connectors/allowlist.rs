//! Which hosts a plugin may call: `scheme://host[:port]`, `*` as a whole wildcard label
//! (`https://*.facebook.com`). Paths are refused in patterns; an empty list denies all.

use anyhow::{Result, bail};

/// One allowed origin pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Pattern {
    /// Parses `scheme://host[:port]`.
    pub fn parse(text: &str) -> Result<Pattern> {
        let Some((scheme, rest)) = text.split_once("://") else {
            bail!("`{text}`: expected scheme://host[:port]");
        };
        if scheme != "http" && scheme != "https" {
            bail!("`{text}`: scheme must be http or https");
        }
        if rest.contains('/') {
            bail!("`{text}`: paths are not allowed, only scheme://host[:port]");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| anyhow::anyhow!("`{text}`: bad port"))?;
                (h, Some(port))
            }
            _ => (rest, None),
        };
        if host.is_empty() {
            bail!("`{text}`: host is empty");
        }
        let mut host = host.to_ascii_lowercase();
        // An IP is written the way URLs write it (`[::ffff:127.0.0.1]` is
        // `[::ffff:7f00:1]` in a URL), so it matches the URLs that name it.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::IpAddr>().is_ok()
            && let Some(url_host) = format!("http://{host}/")
                .parse::<reqwest::Url>()
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
        {
            host = url_host;
        }
        Ok(Pattern {
            scheme: scheme.into(),
            host,
            port,
        })
    }

    /// Whether `url` is allowed by this pattern.
    pub fn allows(&self, url: &reqwest::Url) -> bool {
        if url.scheme() != self.scheme {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let port = url.port_or_known_default();
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        if port != Some(self.port.unwrap_or(default_port)) {
            return false;
        }
        host_matches(&self.host, &host.to_ascii_lowercase())
    }
}

impl Pattern {
    /// Names one host, without a wildcard label.
    pub(crate) fn is_exact(&self) -> bool {
        !self.host.split('.').any(|label| label == "*")
    }

    /// The host part, lower case (`*.facebook.com`, `127.0.0.1`, `[::1]`).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.len() == h.len() && p.iter().zip(&h).all(|(p, h)| *p == "*" || p == h)
}

/// Whether any pattern allows `url`.
pub fn allowed(patterns: &[Pattern], url: &reqwest::Url) -> bool {
    patterns.iter().any(|p| p.allows(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        s.parse().unwrap()
    }

    #[test]
    fn matches_scheme_host_port_and_wildcards() {
        let p = Pattern::parse("https://*.facebook.com").unwrap();
        assert!(p.allows(&url("https://graph.facebook.com/v19.0/1/feed")));
        assert!(!p.allows(&url("http://graph.facebook.com/")));
        assert!(!p.allows(&url("https://evil.com/?graph.facebook.com")));
        assert!(!p.allows(&url("https://a.b.facebook.com/")));
        let local = Pattern::parse("http://127.0.0.1:9090").unwrap();
        assert!(local.allows(&url("http://127.0.0.1:9090/1001/feed")));
        assert!(!local.allows(&url("http://127.0.0.1:9091/")));
        assert!(!allowed(&[], &url("http://127.0.0.1:9090/")));
        assert!(local.is_exact() && !p.is_exact());
        assert_eq!(local.host(), "127.0.0.1");
    }

    #[test]
    fn refuses_paths_and_bad_schemes() {
        assert!(Pattern::parse("https://x.com/path").is_err());
        assert!(Pattern::parse("ftp://x.com").is_err());
        assert!(Pattern::parse("x.com").is_err());
    }
}
