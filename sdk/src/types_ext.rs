//! Convenience methods on the generated WIT types.

use crate::{
    Account, Attachment, Author, Cipher, ConfigKey, ConnectorError, Event, FileKey, FileLimit,
    HttpRequest, HttpResponse, MediaDownload, MediaUpload, Outbound, PollResult, ReplyWindow,
    SourceStatus, TextCounting, TextLimit, Visibility, WebhookOutcome, webhook,
};

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl ConfigKey {
    /// A setting the connector reads with [`config::get`](crate::config::get), as written
    /// in the channel's `[channels.settings]`: optional, with no default, until
    /// [`required`](ConfigKey::required) or [`with_default`](ConfigKey::with_default) say
    /// otherwise.
    ///
    /// ```
    /// # use switchboard_sdk::ConfigKey;
    /// let key = ConfigKey::setting("page_id", "The page whose comments this channel takes.")
    ///     .required()
    ///     .label("Page ID")
    ///     .where_to_find("Your page → About → Page transparency → Page ID.");
    /// assert!(key.required && !key.secret);
    /// ```
    pub fn setting(name: &str, description: &str) -> Self {
        ConfigKey {
            name: name.into(),
            description: description.into(),
            required: false,
            secret: false,
            default_value: None,
            label: None,
            where_to_find: None,
        }
    }

    /// A credential the connector reads with [`config::secret`](crate::config::secret), as
    /// written in `[channels.secrets]`: never logged, never shown back, a password field
    /// in the admin desktop.
    pub fn secret(name: &str, description: &str) -> Self {
        ConfigKey {
            secret: true,
            ..ConfigKey::setting(name, description)
        }
    }

    /// The channel is refused while this key is missing.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The value used when the key is not set.
    pub fn with_default(mut self, value: &str) -> Self {
        self.default_value = Some(value.into());
        self
    }

    /// What the platform's own console calls this value ("Page access token"); the admin
    /// desktop labels the field with it.
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Where the administrator finds or makes the value on the platform, in plain steps.
    pub fn where_to_find(mut self, steps: &str) -> Self {
        self.where_to_find = Some(steps.into());
        self
    }

    /// A key from positional flags. Prefer [`setting`](ConfigKey::setting) or
    /// [`secret`](ConfigKey::secret) with the builder methods: two booleans in a row are
    /// easy to swap.
    #[deprecated(since = "0.2.0", note = "use ConfigKey::setting or ConfigKey::secret")]
    pub fn new(
        name: &str,
        description: &str,
        required: bool,
        secret: bool,
        default: Option<&str>,
    ) -> Self {
        ConfigKey {
            required,
            secret,
            default_value: default.map(Into::into),
            ..ConfigKey::setting(name, description)
        }
    }
}

impl Account {
    /// The account `id` called `name`, with no warning.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Account {
            id: id.into(),
            name: name.into(),
            warnings: Vec::new(),
        }
    }

    /// Adds something the administrator should know although the credentials work.
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

impl HttpRequest {
    /// A request with no headers and an empty body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (its name is stored in lower case).
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.headers
            .push((name.as_ref().to_ascii_lowercase(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8 text.
    pub fn body_text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.body)
    }

    /// The URL's path, without the query string.
    pub fn path(&self) -> &str {
        self.url.split(['?', '#']).next().unwrap_or("")
    }

    /// The decoded query parameters of the URL, in order.
    pub fn query(&self) -> Vec<(String, String)> {
        webhook::query(self)
    }

    /// The first query parameter called `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        webhook::query_param(self, name)
    }
}

impl HttpResponse {
    /// A response with a status, no headers and an empty body.
    pub fn empty(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::empty(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into())
    }

    /// An `application/json` response with `value` serialized as its body.
    pub fn json<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Self::empty(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    /// Adds a header (its name is stored in lower case).
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.headers
            .push((name.as_ref().to_ascii_lowercase(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl WebhookOutcome {
    /// An answer to the platform together with the events its request carried.
    pub fn new(response: HttpResponse, events: Vec<Event>) -> Self {
        WebhookOutcome { response, events }
    }

    /// An answer that carries no events (a handshake, a rejected request).
    pub fn respond(response: HttpResponse) -> Self {
        Self::new(response, Vec::new())
    }
}

impl PollResult {
    /// A page of events and the cursor the next poll starts from.
    pub fn new(events: Vec<Event>, next_cursor: Option<String>) -> Self {
        PollResult {
            events,
            next_cursor,
            sources: Vec::new(),
        }
    }

    /// The same result with how each source fared, for the channel's status.
    pub fn with_sources(mut self, sources: Vec<SourceStatus>) -> Self {
        self.sources = sources;
        self
    }
}

impl SourceStatus {
    /// A source that answered.
    pub fn ok(name: impl Into<String>) -> Self {
        SourceStatus {
            name: name.into(),
            error: None,
            retry_at: None,
            warnings: Vec::new(),
        }
    }

    /// A source that failed this time, with why in plain words (never a secret).
    pub fn failed(name: impl Into<String>, error: impl Into<String>) -> Self {
        SourceStatus {
            error: Some(error.into()),
            ..SourceStatus::ok(name)
        }
    }

    /// The same status, asked again no sooner than `retry_at` (unix ms).
    pub fn retry_at(mut self, retry_at: i64) -> Self {
        self.retry_at = Some(retry_at);
        self
    }

    /// The same status with a problem in part of its answer.
    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    /// True when the source answered (its warnings aside).
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

impl ReplyWindow {
    /// Anything may be sent, with no time limit.
    pub fn open() -> Self {
        ReplyWindow {
            free_form: true,
            templates: false,
            until: None,
            note: None,
        }
    }

    /// Free text may be sent until `until` (unix ms).
    pub fn open_until(until: i64) -> Self {
        ReplyWindow {
            until: Some(until),
            ..ReplyWindow::open()
        }
    }

    /// Nothing may be sent, for the reason given.
    pub fn closed(note: impl Into<String>) -> Self {
        ReplyWindow {
            free_form: false,
            templates: false,
            until: None,
            note: Some(note.into()),
        }
    }
}

impl TextLimit {
    /// At most `max` Unicode code points for `visibility` replies (most platforms).
    pub fn code_points(visibility: Visibility, max: u32) -> Self {
        TextLimit {
            visibility,
            max,
            counting: TextCounting::CodePoints,
        }
    }

    /// At most `max` by X's weighted count for `visibility` replies.
    pub fn x_weighted(visibility: Visibility, max: u32) -> Self {
        TextLimit {
            visibility,
            max,
            counting: TextCounting::XWeighted,
        }
    }
}

impl Outbound {
    /// A plain text reply in `thread_id` (no template, default sender, no list).
    pub fn text(
        thread_id: impl Into<String>,
        visibility: Visibility,
        text: impl Into<String>,
    ) -> Self {
        Outbound {
            thread_id: thread_id.into(),
            reply_to: None,
            recipient_id: None,
            visibility,
            text: text.into(),
            last_customer_at: None,
            template: None,
            from_handle: None,
            list_items: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Attachment {
    /// A file the host downloads from `url` (an image, a voice note, a document).
    pub fn at_url(kind: impl Into<String>, url: impl Into<String>) -> Self {
        Attachment {
            url: Some(url.into()),
            ..Attachment::of_kind(kind)
        }
    }

    /// A file the platform names by its own media id (WhatsApp), which
    /// [`Connector::media_request`](crate::Connector::media_request) turns into a download.
    pub fn with_media_id(kind: impl Into<String>, media_id: impl Into<String>) -> Self {
        Attachment {
            media_id: Some(media_id.into()),
            ..Attachment::of_kind(kind)
        }
    }

    /// Content of `kind` without a file yet (a contact card, a share); add what it says
    /// with [`with_detail`](Attachment::with_detail). A kind the connector does not know
    /// is passed this way with the platform's raw type, so nothing is dropped.
    pub fn of_kind(kind: impl Into<String>) -> Self {
        Attachment {
            kind: kind.into(),
            url: None,
            mime_type: None,
            caption: None,
            media_id: None,
            file_name: None,
            size: None,
            details: Vec::new(),
        }
    }

    /// A location, with its coordinates as the platform wrote them.
    pub fn location(latitude: impl ToString, longitude: impl ToString) -> Self {
        Attachment::of_kind("location")
            .with_detail("latitude", latitude.to_string())
            .with_detail("longitude", longitude.to_string())
    }

    /// Adds one detail (`name`, `address`, `phone`, `title`, `url`, ...); an empty value
    /// is left out.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.details.push((key.into(), value));
        }
        self
    }

    /// Sets the caption or title.
    pub fn with_caption(mut self, caption: Option<String>) -> Self {
        self.caption = caption.filter(|c| !c.is_empty());
        self
    }

    /// Sets the MIME type.
    pub fn with_mime_type(mut self, mime: Option<String>) -> Self {
        self.mime_type = mime.filter(|m| !m.is_empty());
        self
    }

    /// Sets the file name.
    pub fn with_file_name(mut self, name: Option<String>) -> Self {
        self.file_name = name.filter(|n| !n.is_empty());
        self
    }

    /// The value of detail `key`, if given.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl FileLimit {
    /// Files of `kind` up to `max_bytes` in `visibility` replies, of the given MIME types
    /// (empty: any type of this kind).
    pub fn new(visibility: Visibility, kind: &str, max_bytes: u64, mime_types: &[&str]) -> Self {
        FileLimit {
            visibility,
            kind: kind.into(),
            max_bytes,
            mime_types: mime_types.iter().map(|m| m.to_string()).collect(),
        }
    }
}

impl MediaUpload {
    /// The file as the raw body of `request` (its MIME type as `content-type`).
    pub fn raw(request: HttpRequest) -> Self {
        MediaUpload {
            request,
            form: Vec::new(),
            file_field: None,
            encrypt: None,
            state: None,
        }
    }

    /// The file as field `file_field` of a `multipart/form-data` body, after `form`.
    pub fn multipart(request: HttpRequest, form: Vec<(String, String)>, file_field: &str) -> Self {
        MediaUpload {
            request,
            form,
            file_field: Some(file_field.into()),
            encrypt: None,
            state: None,
        }
    }

    /// Asks the host to encrypt the file with `cipher` and a fresh key of its own; `send`
    /// finds the key in [`OutboundFile::upload_key`](crate::OutboundFile::upload_key).
    pub fn encrypted(mut self, cipher: Cipher) -> Self {
        self.encrypt = Some(cipher);
        self
    }

    /// Keeps `state` for `send`, which finds it in
    /// [`OutboundFile::upload_state`](crate::OutboundFile::upload_state).
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }
}

impl MediaDownload {
    /// The bytes at `request` are encrypted with `key`: the host decrypts them.
    pub fn decrypted_with(mut self, key: FileKey) -> Self {
        self.decrypt = Some(key);
        self
    }
}

impl From<HttpRequest> for MediaDownload {
    /// A download whose bytes come as they are.
    fn from(request: HttpRequest) -> Self {
        MediaDownload {
            request,
            decrypt: None,
        }
    }
}

impl FileKey {
    /// An AES-256 key in counter mode with a zero IV (Apple Messages' files).
    pub fn aes256_ctr(key: Vec<u8>) -> Self {
        FileKey {
            cipher: Cipher::Aes256Ctr,
            key,
            iv: Vec::new(),
        }
    }
}

impl Author {
    /// An author with an id and a display name and no handle.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Author {
            id: id.into(),
            name: name.into(),
            handle: None,
            followers: None,
        }
    }
}

impl ConnectorError {
    /// The error's text (for `rate-limited`, a sentence with the delay).
    pub fn message(&self) -> String {
        match self {
            ConnectorError::InvalidConfig(m)
            | ConnectorError::Unauthorized(m)
            | ConnectorError::Transient(m)
            | ConnectorError::Rejected(m)
            | ConnectorError::Unsupported(m) => m.clone(),
            ConnectorError::RateLimited(ms) => format!("rate limited for {ms} ms"),
        }
    }

    /// True for the errors the host retries (`transient`, `rate-limited`).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::Transient(_) | ConnectorError::RateLimited(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_builders_and_accessors() {
        let req = HttpRequest::new("GET", "/hook/fb?hub.mode=subscribe&x=a%20b#frag")
            .with_header("X-Hub-Signature-256", "sha256=00")
            .with_body("héllo");
        assert_eq!(req.header("x-hub-signature-256"), Some("sha256=00"));
        assert_eq!(req.header("X-HUB-SIGNATURE-256"), Some("sha256=00"));
        assert_eq!(req.headers[0].0, "x-hub-signature-256");
        assert_eq!(req.path(), "/hook/fb");
        assert_eq!(req.query_param("hub.mode").as_deref(), Some("subscribe"));
        assert_eq!(req.query_param("x").as_deref(), Some("a b"));
        assert_eq!(req.body_text(), Ok("héllo"));
    }

    #[test]
    fn response_builders() {
        let r = HttpResponse::text(200, "EVENT_RECEIVED");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"EVENT_RECEIVED");
        assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert!(r.is_success());
        let j = HttpResponse::json(400, &serde_json::json!({"error": "x"}));
        assert!(!j.is_success());
        assert_eq!(j.header("content-type"), Some("application/json"));
        let v: serde_json::Value = j.json_body().unwrap();
        assert_eq!(v["error"], "x");
        assert_eq!(HttpResponse::empty(204).body_text(), "");
        let o = WebhookOutcome::respond(HttpResponse::empty(403));
        assert!(o.events.is_empty());
    }

    #[test]
    fn retryable_errors() {
        assert!(ConnectorError::Transient("x".into()).is_retryable());
        assert!(ConnectorError::RateLimited(1).is_retryable());
        assert!(!ConnectorError::Rejected("x".into()).is_retryable());
    }
}
