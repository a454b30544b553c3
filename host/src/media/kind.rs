//! What a file is, from its bytes rather than from what anyone says about it.
//!
//! A downloaded file must be what its attachment claims (a photo must be an image): a
//! platform's error page or a swapped file is refused instead of being shown as a
//! broken picture. Types a browser would run (HTML, SVG, scripts) are never kept as
//! such: they are stored as plain bytes to download.

/// The type the bytes show (`image/png`), when they show one.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    infer::get(head).map(|t| t.mime_type())
}

/// The content type to keep for a file of attachment `kind`, from the type the bytes
/// show and the one declared (the platform's header or the attachment's), or why the
/// file is refused, in plain words.
pub(crate) fn check(
    kind: &str,
    sniffed: Option<&str>,
    declared: Option<&str>,
) -> Result<String, String> {
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| d.contains('/'));
    let family = |t: &str| t.split('/').next().unwrap_or("").to_owned();
    let wanted = match kind {
        "image" | "sticker" => Some("image"),
        "video" => Some("video"),
        "audio" => Some("audio"),
        _ => None,
    };
    match (wanted, sniffed) {
        (Some(want), Some(is)) => {
            let fam = family(is);
            // Voice notes come in MP4 and WebM containers as often as in audio ones.
            let fits = fam == want || (want == "audio" && fam == "video");
            if fits {
                Ok(is.to_owned())
            } else {
                Err(format!("the file is not {} (it is {is})", a_kind(want)))
            }
        }
        (Some(want), None) => Err(format!(
            "the file is not {} (its type cannot be recognised)",
            a_kind(want)
        )),
        (None, Some(is)) if is_active(is) => Ok("application/octet-stream".into()),
        (None, Some(is)) => Ok(is.to_owned()),
        (None, None) => Ok(declared
            .filter(|d| !is_active(d))
            .unwrap_or_else(|| "application/octet-stream".into())),
    }
}

fn a_kind(family: &str) -> &'static str {
    match family {
        "image" => "an image",
        "video" => "a video",
        _ => "audio",
    }
}

/// Types a browser would run rather than show: never kept as such.
fn is_active(t: &str) -> bool {
    t.contains("html")
        || t.contains("xml")
        || t.contains("javascript")
        || t.starts_with("text/css")
        || t == "image/svg+xml"
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n";
    const HTML: &[u8] = b"<!DOCTYPE html><html><script>alert(1)</script>";

    #[test]
    fn a_photo_must_be_an_image() {
        assert_eq!(sniff(PNG), Some("image/png"));
        assert_eq!(check("image", sniff(PNG), None).unwrap(), "image/png");
        // The platform says JPEG; the bytes win.
        assert_eq!(
            check("image", sniff(PNG), Some("image/jpeg")).unwrap(),
            "image/png"
        );
        let err = check("image", sniff(PDF), Some("image/jpeg")).unwrap_err();
        assert_eq!(err, "the file is not an image (it is application/pdf)");
        let err = check("image", sniff(HTML), Some("image/png")).unwrap_err();
        assert_eq!(err, "the file is not an image (it is text/html)");
        let err = check("image", sniff(b"\0\0\0\0 no magic"), Some("image/png")).unwrap_err();
        assert!(err.contains("cannot be recognised"), "{err}");
    }

    #[test]
    fn documents_keep_what_they_are_and_never_become_pages() {
        assert_eq!(check("file", sniff(PDF), None).unwrap(), "application/pdf");
        assert_eq!(
            check(
                "file",
                sniff(b"plain words"),
                Some("text/plain; charset=utf-8")
            )
            .unwrap(),
            "text/plain"
        );
        assert_eq!(
            check("file", sniff(HTML), Some("text/html")).unwrap(),
            "application/octet-stream"
        );
        assert_eq!(
            check("file", None, Some("image/svg+xml")).unwrap(),
            "application/octet-stream"
        );
        assert_eq!(
            check("file", None, Some("nonsense")).unwrap(),
            "application/octet-stream"
        );
    }

    #[test]
    fn only_media_is_shown_inline() {
        use crate::model::attachment::{inline, kind_of};
        assert!(inline("image/png"));
        assert!(inline("video/mp4"));
        assert!(!inline("application/pdf"));
        assert!(!inline("image/svg+xml"));
        assert!(!inline("text/html"));
        assert_eq!(kind_of("image/jpeg"), "image");
        assert_eq!(kind_of("application/pdf"), "file");
    }
}
