//! The web desktop: one page per role (agent, supervisor, administrator) plus the sign-in
//! page, and the stylesheet and ES modules they share.
//!
//! The files live in `host/src/web/{pages,assets}` and are compiled into the binary, so
//! the one `switchboard` file serves them with no build step. Set `SWITCHBOARD_WEB_DIR`
//! to that folder to serve them from disk instead: an edit shows on the next page load.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::app::App;

/// A file of the desktop: its path under `web/` and its compiled-in text.
struct File {
    path: &'static str,
    text: &'static str,
}

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(File { path: $path, text: include_str!($path) }),*]
    };
}

/// Every file the desktop is made of.
const FILES: &[File] = files![
    "pages/login.html",
    "pages/agent.html",
    "pages/supervisor.html",
    "pages/admin.html",
    "pages/reports.html",
    "assets/app.css",
    "assets/api.js",
    "assets/ui.js",
    "assets/login.js",
    "assets/agent.js",
    "assets/transcript.js",
    "assets/linkify.js",
    "assets/attachments.js",
    "assets/customer.js",
    "assets/reply.js",
    "assets/replyfiles.js",
    "assets/replytemplates.js",
    "assets/replyextras.js",
    "assets/textlength.js",
    "assets/supervisor.js",
    "assets/admin.js",
    "assets/adminkit.js",
    "assets/channels.js",
    "assets/privacy.js",
    "assets/scripts.js",
    "assets/reports.js",
    "assets/chart.js",
    "assets/favicon.svg",
    // uPlot, pinned by tests/browser/package-lock.json; `vendor.test.mjs` checks that these
    // copies are byte for byte the ones `npm ci` installs there.
    "assets/vendor/uPlot.esm.js",
    "assets/vendor/uPlot.min.css",
];

/// The desktop's routes: `/` signs in, `/agent`, `/supervisor`, `/reports`, `/admin`, `/assets/*`
/// (vendored libraries under `/assets/vendor/`).
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { page("login") }))
        .route("/agent", get(|| async { page("agent") }))
        .route("/supervisor", get(|| async { page("supervisor") }))
        .route("/admin", get(|| async { page("admin") }))
        .route("/reports", get(|| async { page("reports") }))
        .route(
            "/agent.html",
            get(|| async { Redirect::permanent("/agent") }),
        )
        // Browsers ask for it whatever the page links; answer with the same icon.
        .route(
            "/favicon.ico",
            get(|| async { serve("assets/favicon.svg") }),
        )
        // Only paths listed in FILES are answered, so a wildcard cannot reach other files.
        .route("/assets/{*file}", get(asset))
}

fn page(name: &str) -> Response {
    serve(&format!("pages/{name}.html"))
}

async fn asset(Path(file): Path<String>) -> Response {
    serve(&format!("assets/{file}"))
}

/// Answers with a desktop file, from disk when `SWITCHBOARD_WEB_DIR` is set.
fn serve(path: &str) -> Response {
    let Some(file) = FILES.iter().find(|f| f.path == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let text = match std::env::var_os("SWITCHBOARD_WEB_DIR") {
        Some(dir) => match std::fs::read_to_string(PathBuf::from(dir).join(file.path)) {
            Ok(text) => text,
            Err(e) => {
                tracing::warn!(file = file.path, error = %e, "web file not readable from SWITCHBOARD_WEB_DIR; serving the built-in one");
                file.text.to_string()
            }
        },
        None => file.text.to_string(),
    };
    let kind = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            // Pages are small and change with the binary; always revalidate.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_a_page_links_is_served() {
        for f in FILES
            .iter()
            .filter(|f| f.path.ends_with(".html") || f.path.ends_with(".js"))
        {
            for link in f.text.split("/assets/").skip(1) {
                let name: String = link
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
                    .collect();
                if name.is_empty() || !name.contains('.') {
                    continue;
                }
                assert!(
                    FILES.iter().any(|g| g.path == format!("assets/{name}")),
                    "{} links /assets/{name}, which is not served",
                    f.path
                );
            }
        }
    }

    #[test]
    fn unknown_files_are_not_found() {
        assert_eq!(
            serve("assets/../../Cargo.toml").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(serve("assets/app.css").status(), StatusCode::OK);
        assert_eq!(
            serve("assets/vendor/../app.css").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_favicon_is_an_svg_every_role_page_links() {
        let res = serve("assets/favicon.svg");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/svg+xml");
        for page in ["pages/supervisor.html", "pages/admin.html"] {
            let text = FILES.iter().find(|f| f.path == page).unwrap().text;
            assert!(
                text.contains(
                    r#"<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">"#
                ),
                "{page} does not link the favicon"
            );
        }
    }
}
