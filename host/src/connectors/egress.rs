//! Where a channel's plugin may send HTTP requests, enforced on every hop.
//!
//! The contract:
//! - A request's URL must match the channel's allowlist: the operator's `allowed_hosts`
//!   when the channel lists any, otherwise the hosts the plugin declares.
//! - Redirects are followed only hop by hop: each `Location` is checked like the first
//!   URL (at most 10 hops); a hop that fails the check ends the request with [`Refused`].
//!   reqwest drops `Authorization` and cookies when a hop changes host, port or scheme.
//! - Only public addresses are reached, checked after DNS resolution (the client's
//!   resolver drops every other address; a name left with none is refused) and on literal
//!   IP URLs. The exception is a host the operator's `allowed_hosts` names exactly, without
//!   a wildcard (the emulator on 127.0.0.1, a proxy on the private network): for a name,
//!   any address it resolves to; for an IP, on that pattern's scheme and port. A plugin's
//!   declared hosts never reach internal addresses.
//! - No proxy from the environment: the checks above must see the real destination. A
//!   proxy the operator names (`[server] proxy`) carries every request instead; the
//!   allowlist is still checked on each target's URL (and redirect), the proxy's own
//!   address may be internal, and refusing internal targets by name becomes the proxy's
//!   job: the host no longer resolves them (a literal internal IP is still refused here).
//! - A refusal is kept for the channel's status ([`Egress::last_refusal`]) and logged by
//!   the caller with its channel and plugin; its text names the host and why, never a
//!   path or query, which may carry credentials.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use super::address::{self, Kind};
use super::allowlist::Pattern;

/// Most redirects followed for one request.
const MAX_HOPS: usize = 10;

/// Why a request (or one of its redirects) was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The origin (`scheme://host[:port]`), or the bare name for a DNS refusal.
    host: String,
    why: Why,
    /// It was a redirect's target.
    redirect: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    /// No allowlist pattern matches.
    NotAllowed,
    /// The address is internal and the operator did not name the host.
    Address {
        ip: IpAddr,
        kind: Kind,
        /// Found by DNS rather than written in the URL.
        resolved: bool,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.redirect {
            f.write_str("a redirect was refused: ")?;
        }
        let host = &self.host;
        match &self.why {
            Why::NotAllowed => write!(f, "host of `{host}` is not on this channel's allowed_hosts"),
            Why::Address { ip, kind, resolved } => {
                let is = if *resolved { "resolves to" } else { "is" };
                write!(
                    f,
                    "host of `{host}` is refused: it {is} {ip}, {}; only a host that the \
                     channel's allowed_hosts names exactly may be internal",
                    kind.words()
                )
            }
        }
    }
}

impl std::error::Error for Refused {}

/// A proxy all outbound requests go through (`[server] proxy`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProxySetting {
    url: reqwest::Url,
}

impl ProxySetting {
    /// Reads `[server] proxy`: an `http://` or `https://` address with a host.
    pub fn parse(text: &str) -> Result<ProxySetting> {
        let url = reqwest::Url::parse(text.trim()).map_err(|_| {
            anyhow::anyhow!("[server] proxy is not an address such as http://proxy.example:3128")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            anyhow::bail!(
                "[server] proxy must be an http:// or https:// address such as http://proxy.example:3128"
            );
        }
        Ok(ProxySetting { url })
    }

    /// The proxy's host name, as the resolver is asked for it.
    fn host(&self) -> String {
        self.url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    }
}

/// What a channel's plugin may call.
#[derive(Debug, Default)]
pub(crate) struct Policy {
    /// Every URL must match one of these.
    allowed: Vec<Pattern>,
    /// The operator's patterns naming one host: those hosts may be internal.
    named: Vec<Pattern>,
    /// The operator's proxy's host, which may be internal too.
    proxy_host: Option<String>,
}

impl Policy {
    /// The operator's `allowed_hosts` when there are any, else the plugin's declared ones.
    pub(crate) fn new(operator: Vec<Pattern>, declared: Vec<Pattern>) -> Policy {
        if operator.is_empty() {
            return Policy {
                allowed: declared,
                named: Vec::new(),
                proxy_host: None,
            };
        }
        let named = operator.iter().filter(|p| p.is_exact()).cloned().collect();
        Policy {
            allowed: operator,
            named,
            proxy_host: None,
        }
    }

    /// Whether `url` may be requested (its name, if any, is checked again once resolved).
    pub(crate) fn check(&self, url: &reqwest::Url) -> Result<(), Refused> {
        let refused = |why| Refused {
            host: url.origin().ascii_serialization(),
            why,
            redirect: false,
        };
        if !self.allowed.iter().any(|p| p.allows(url)) {
            return Err(refused(Why::NotAllowed));
        }
        // The URL parser writes IPv4 in dotted form (`2130706433` is `127.0.0.1`) and
        // IPv6 in brackets.
        let host = url.host_str().unwrap_or_default();
        let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        else {
            return Ok(());
        };
        match address::kind(ip) {
            Some(kind) if !self.named.iter().any(|p| p.allows(url)) => Err(refused(Why::Address {
                ip,
                kind,
                resolved: false,
            })),
            _ => Ok(()),
        }
    }

    /// Whether redirect number `hop` (1 for the first) to `next` may be followed.
    fn check_hop(
        &self,
        next: &reqwest::Url,
        hop: usize,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if hop > MAX_HOPS {
            return Err(format!("more than {MAX_HOPS} redirects").into());
        }
        self.check(next).map_err(|mut r| {
            r.redirect = true;
            Box::new(r) as _
        })
    }

    /// The addresses of `name` a request may connect to.
    fn filter(&self, name: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
        if self.named.iter().any(|p| p.host() == name) {
            return Ok(addrs);
        }
        // The operator named the proxy: it may be on the private network.
        if self.proxy_host.as_deref() == Some(name) {
            return Ok(addrs);
        }
        let first_internal = addrs
            .iter()
            .find_map(|a| address::kind(a.ip()).map(|kind| (a.ip(), kind)));
        let public: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| address::kind(a.ip()).is_none())
            .collect();
        match first_internal {
            Some((ip, kind)) if public.is_empty() => Err(Refused {
                host: name.to_owned(),
                why: Why::Address {
                    ip,
                    kind,
                    resolved: true,
                },
                redirect: false,
            }),
            _ => Ok(public),
        }
    }
}

/// Resolves names with the system resolver and keeps only the addresses the policy allows.
struct Guarded(Arc<Policy>);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let kept = policy.filter(&name, found)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// A refusal as the channel's status shows it.
#[derive(Clone, Debug)]
pub(crate) struct Refusal {
    /// Unix ms.
    pub at: i64,
    /// [`Refused`]'s text.
    pub message: String,
}

/// A channel's outbound HTTP: its policy, the client that enforces it on every hop, and
/// the last refusal.
pub struct Egress {
    /// The operator's `allowed_hosts`.
    operator: Vec<Pattern>,
    /// The operator's proxy (`[server] proxy`), which carries every request.
    proxy: Option<ProxySetting>,
    policy: Arc<Policy>,
    client: reqwest::Client,
    last_refusal: Arc<Mutex<Option<Refusal>>>,
}

impl Egress {
    /// The egress of a channel whose operator lists `operator` (none yet declared), with
    /// every request through `proxy` when the operator names one.
    pub(crate) fn new(operator: Vec<Pattern>, proxy: Option<ProxySetting>) -> Result<Egress> {
        Egress::build(operator, Vec::new(), proxy, Arc::default())
    }

    /// Nothing may be called (a plugin being described or parsing a sample).
    pub(crate) fn closed() -> Result<Egress> {
        Egress::new(Vec::new(), None)
    }

    /// The same channel once its plugin declared its hosts: they apply when the operator
    /// listed none. The last refusal is shared.
    pub(crate) fn with_declared(&self, declared: Vec<Pattern>) -> Result<Egress> {
        Egress::build(
            self.operator.clone(),
            declared,
            self.proxy.clone(),
            self.last_refusal.clone(),
        )
    }

    fn build(
        operator: Vec<Pattern>,
        declared: Vec<Pattern>,
        proxy: Option<ProxySetting>,
        last_refusal: Arc<Mutex<Option<Refusal>>>,
    ) -> Result<Egress> {
        let policy = Arc::new(Policy {
            proxy_host: proxy.as_ref().map(ProxySetting::host),
            ..Policy::new(operator.clone(), declared)
        });
        let hops = policy.clone();
        crate::connectors::install_crypto();
        let builder = match &proxy {
            Some(proxy) => reqwest::Client::builder()
                .proxy(reqwest::Proxy::all(proxy.url.clone()).context("[server] proxy")?),
            None => reqwest::Client::builder().no_proxy(),
        };
        let client = builder
            .dns_resolver(Arc::new(Guarded(policy.clone())))
            .redirect(redirect::Policy::custom(move |attempt| {
                let hop = attempt.previous().len();
                match hops.check_hop(attempt.url(), hop) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .build()
            .context("building the plugin HTTP client")?;
        Ok(Egress {
            operator,
            proxy,
            policy,
            client,
            last_refusal,
        })
    }

    /// Whether `url` may be requested; refusals are recorded.
    pub(crate) fn check(&self, url: &reqwest::Url) -> Result<(), Refused> {
        self.policy.check(url).inspect_err(|r| self.record(r))
    }

    /// The client that enforces the policy on redirects and resolved addresses.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Whether the operator listed no host (the plugin's declared ones apply).
    pub(crate) fn operator_listed_none(&self) -> bool {
        self.operator.is_empty()
    }

    /// The refusal behind a failed request, if it was one; it is recorded.
    pub(crate) fn refusal_in(&self, e: &reqwest::Error) -> Option<Refused> {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = source {
            if let Some(r) = err.downcast_ref::<Refused>() {
                self.record(r);
                return Some(r.clone());
            }
            source = err.source();
        }
        None
    }

    fn record(&self, refused: &Refused) {
        *self.last_refusal.lock().unwrap() = Some(Refusal {
            at: crate::clock::now_ms(),
            message: refused.to_string(),
        });
    }

    /// The newest refusal, for the channel's status.
    pub(crate) fn last_refusal(&self) -> Option<Refusal> {
        self.last_refusal.lock().unwrap().clone()
    }
}

/// A request's failure without its URL (whose query may hold a credential): what failed
/// and its causes, `error sending request: client error (Connect): tcp connect error: …`.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    let top = e.to_string();
    // reqwest writes the URL as ` for url (…)` in its own text; `without_url` needs
    // ownership, so the text is cut instead.
    let mut text = match top.find(" for url (") {
        Some(at) => top[..at].to_owned(),
        None => top,
    };
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let part = err.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn url(s: &str) -> reqwest::Url {
        s.parse().unwrap()
    }

    fn patterns(list: &[&str]) -> Vec<Pattern> {
        list.iter().map(|p| Pattern::parse(p).unwrap()).collect()
    }

    fn operator(list: &[&str]) -> Policy {
        Policy::new(patterns(list), Vec::new())
    }

    #[test]
    fn an_internal_ip_passes_only_when_the_operator_names_it_with_its_port() {
        let p = operator(&["http://127.0.0.1:9090", "http://*.*.*.*", "http://*:81"]);
        assert_eq!(
            p.check(&url("http://127.0.0.1:9090/v19.0/1001/feed")),
            Ok(())
        );
        for (target, kind) in [
            ("http://127.0.0.1/", Kind::Loopback),
            ("http://169.254.169.254/latest/meta-data", Kind::LinkLocal),
            ("http://10.1.2.3/", Kind::Private),
            ("http://100.64.0.1/", Kind::Shared),
            ("http://0.0.0.0/", Kind::Unspecified),
            ("http://2130706433/", Kind::Loopback),
        ] {
            let refused = p.check(&url(target)).unwrap_err();
            assert!(
                matches!(refused.why, Why::Address { kind: k, resolved: false, .. } if k == kind),
                "{target}: {refused}"
            );
        }
        assert_eq!(
            p.check(&url("http://93.184.215.14/")),
            Ok(()),
            "public, on a wildcard"
        );
        let refused = p.check(&url("http://127.0.0.1:9091/")).unwrap_err();
        assert_eq!(refused.why, Why::NotAllowed);
        assert_eq!(
            refused.to_string(),
            "host of `http://127.0.0.1:9091` is not on this channel's allowed_hosts"
        );
        let text = p
            .check(&url("http://169.254.169.254/"))
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("host of `http://169.254.169.254` is refused: it is 169.254.169.254, a link-local address"),
            "{text}"
        );

        let v6 = operator(&["http://[::FFFF:127.0.0.1]:9090", "http://*:9091"]);
        assert_eq!(
            v6.check(&url("http://[::ffff:127.0.0.1]:9090/")),
            Ok(()),
            "named exactly"
        );
        assert!(
            operator(&["http://*:9091"])
                .check(&url("http://[::ffff:7f00:1]:9091/"))
                .is_err()
        );
        assert!(
            operator(&["http://*:80"])
                .check(&url("http://[::1]/"))
                .is_err()
        );
    }

    #[test]
    fn a_plugins_declared_hosts_never_reach_internal_addresses() {
        let declared = Policy::new(Vec::new(), patterns(&["http://127.0.0.1:9090"]));
        let refused = declared.check(&url("http://127.0.0.1:9090/")).unwrap_err();
        assert!(matches!(
            refused.why,
            Why::Address {
                kind: Kind::Loopback,
                ..
            }
        ));
        assert!(
            declared
                .filter("localhost", vec!["127.0.0.1:0".parse().unwrap()])
                .is_err()
        );
        let ignored = Policy::new(
            patterns(&["https://graph.facebook.com"]),
            patterns(&["http://x.test"]),
        );
        assert_eq!(
            ignored.check(&url("http://x.test/")).unwrap_err().why,
            Why::NotAllowed,
            "the operator's list wins"
        );
    }

    #[test]
    fn resolved_internal_addresses_are_dropped_unless_the_name_is_named() {
        let p = operator(&["http://*:8080", "http://emulator:9090"]);
        let addrs = |list: &[&str]| {
            list.iter()
                .map(|a| a.parse().unwrap())
                .collect::<Vec<SocketAddr>>()
        };
        let refused = p
            .filter("localhost", addrs(&["127.0.0.1:0", "[::1]:0"]))
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "host of `localhost` is refused: it resolves to 127.0.0.1, a loopback address; \
             only a host that the channel's allowed_hosts names exactly may be internal"
        );
        assert_eq!(
            p.filter("mixed", addrs(&["10.0.0.5:0", "93.184.215.14:0"]))
                .unwrap(),
            addrs(&["93.184.215.14:0"]),
            "only the public address is used"
        );
        assert!(
            p.filter("meta", addrs(&["[::ffff:169.254.169.254]:0"]))
                .is_err()
        );
        assert_eq!(
            p.filter("emulator", addrs(&["172.18.0.2:0"]))
                .unwrap()
                .len(),
            1
        );
        assert!(p.filter("nothing", Vec::new()).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        // `localhost` comes from the hosts file: no packet leaves the machine.
        let refused = Guarded(Arc::new(operator(&["http://*:8080"])))
            .resolve(Name::from_str("localhost").unwrap())
            .await;
        let e = refused.err().expect("refused");
        assert!(e.downcast_ref::<Refused>().is_some(), "{e}");
        let named = Guarded(Arc::new(operator(&["http://localhost:8080"])))
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .expect("named exactly");
        assert!(named.into_iter().any(|a| a.ip().is_loopback()));
    }

    #[test]
    fn every_redirect_hop_is_checked_and_their_number_bounded() {
        let p = operator(&["https://graph.example.com", "https://*.cdn.example.com"]);
        assert!(p.check_hop(&url("https://a.cdn.example.com/x"), 1).is_ok());
        for target in [
            "http://127.0.0.1:9091/",
            "http://169.254.169.254/",
            "https://evil.example.org/",
        ] {
            let e = p.check_hop(&url(target), 1).unwrap_err();
            let refused = e.downcast_ref::<Refused>().expect("a refusal");
            assert!(
                refused.redirect
                    && refused
                        .to_string()
                        .starts_with("a redirect was refused: host of"),
                "{refused}"
            );
        }
        assert!(
            p.check_hop(&url("https://graph.example.com/"), MAX_HOPS)
                .is_ok()
        );
        let e = p
            .check_hop(&url("https://graph.example.com/"), MAX_HOPS + 1)
            .unwrap_err();
        assert!(e.to_string().contains("redirects"), "{e}");
    }

    /// A loopback server answering `/ok` and redirecting `/go` to `to`; counts requests.
    async fn server(to: String, hits: Arc<std::sync::atomic::AtomicUsize>) -> SocketAddr {
        use axum::routing::get;
        let app = axum::Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/go",
                get(move || async move { axum::response::Redirect::to(&to) }),
            )
            .layer(axum::middleware::from_fn(
                move |req, next: axum::middleware::Next| {
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async move { next.run(req).await }
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn the_client_checks_every_redirect_before_following_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let trap_hits = Arc::new(AtomicUsize::new(0));
        let trap = server("/ok".into(), trap_hits.clone()).await;
        let hits = Arc::new(AtomicUsize::new(0));
        let allowed = server(format!("http://{trap}/ok"), hits.clone()).await;
        let egress = Egress::new(patterns(&[&format!("http://{allowed}")]), None).unwrap();
        let e = egress
            .client()
            .get(format!("http://{allowed}/go"))
            .send()
            .await
            .unwrap_err();
        let refused = egress.refusal_in(&e).expect("the redirect was refused");
        assert_eq!(
            refused.to_string(),
            format!(
                "a redirect was refused: host of `http://{trap}` is not on this channel's allowed_hosts"
            )
        );
        assert_eq!(egress.last_refusal().unwrap().message, refused.to_string());
        assert_eq!(
            (
                hits.load(Ordering::SeqCst),
                trap_hits.load(Ordering::SeqCst)
            ),
            (1, 0)
        );
        let ok = egress
            .client()
            .get(format!("http://{allowed}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "fine");

        // Allowed by a wildcard, the other port is still loopback: refused all the same.
        let wildcard = format!("http://*.*.*.*:{}", trap.port());
        let wide = Egress::new(patterns(&[&format!("http://{allowed}"), &wildcard]), None).unwrap();
        let e = wide
            .client()
            .get(format!("http://{allowed}/go"))
            .send()
            .await
            .unwrap_err();
        let refused = wide.refusal_in(&e).expect("refused");
        assert!(
            refused.to_string().contains("a loopback address"),
            "{refused}"
        );
        assert_eq!(trap_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_failed_request_says_why_without_its_url() {
        let egress = Egress::new(patterns(&["http://127.0.0.1:1"]), None).unwrap();
        let e = egress
            .client()
            .get("http://127.0.0.1:1/feed?access_token=SECRET-in-url")
            .send()
            .await
            .unwrap_err();
        let text = error_text(&e);
        assert!(
            !text.contains("SECRET") && !text.contains("/feed"),
            "{text}"
        );
        assert!(text.contains("connect"), "{text}");
        assert!(egress.refusal_in(&e).is_none());
    }
}
