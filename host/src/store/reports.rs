//! Read-only queries for supervisors: live counts, arrivals per minute and the interaction
//! search. User input only ever reaches SQL as bound parameters; the statement text is
//! assembled from fixed fragments chosen by which filters are set.

use crate::store::Tx;
use crate::store::Value;
use anyhow::{Context, Result};

use crate::model::interaction::{Interaction, MediaType, State};
use crate::store::queries::{INTERACTION_COLUMN_COUNT, INTERACTION_COLUMNS, interaction_from_row};

/// One minute, in ms.
pub const MINUTE_MS: i64 = 60_000;

/// How many characters of the first customer message a search result shows.
pub const PREVIEW_CHARS: usize = 140;

/// The states that count as active: everything but `disconnected`. Listed (rather than
/// `<> 'disconnected'`) so SQLite can use the index on `state`.
const ACTIVE_STATES: &str = "('buffered', 'queued', 'alerting', 'connected', 'held')";

/// The active interactions of one media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    /// Conversation or direct message.
    pub media_type: MediaType,
    /// How many are not disconnected.
    pub count: i64,
    /// Id of the oldest one.
    pub oldest_id: i64,
    /// When the oldest one was created, unix ms.
    pub oldest_created_at: i64,
}

/// Active interactions per media type; a type without any is absent.
pub fn active_by_media(conn: &Tx) -> Result<Vec<Active>> {
    // The oldest of each type is the first by (created_at, id): a tie on the time is
    // broken the same way on both engines.
    let sql = format!(
        "SELECT a.media_type, a.n,
            (SELECT o.id FROM interactions o
             WHERE o.media_type = a.media_type AND o.state IN {ACTIVE_STATES}
             ORDER BY o.created_at, o.id LIMIT 1),
            a.oldest
         FROM (SELECT media_type, count(*) AS n, min(created_at) AS oldest FROM interactions
               WHERE state IN {ACTIVE_STATES} GROUP BY media_type) a"
    );
    let mut stmt = conn.prepare(&sql).context("preparing active counts")?;
    let rows = stmt.query_map((), |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (media, count, oldest_id, oldest_created_at) = row?;
        // A media type this build does not know is not one the API reports on.
        if let Some(media_type) = MediaType::parse(&media) {
            out.push(Active {
                media_type,
                count,
                oldest_id,
                oldest_created_at,
            });
        }
    }
    Ok(out)
}

/// Interactions created and first answered per minute since `since` (unix ms), each as
/// `(start of minute, count)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteCounts {
    /// Created in that minute.
    pub arrivals: Vec<(i64, i64)>,
    /// First picked up in that minute.
    pub answered: Vec<(i64, i64)>,
}

/// Arrivals and answers per minute from `since` on.
pub fn per_minute(conn: &Tx, since: i64) -> Result<MinuteCounts> {
    Ok(MinuteCounts {
        arrivals: minute_counts(conn, "created_at", since).context("arrivals per minute")?,
        answered: minute_counts(conn, "answered_at", since).context("answers per minute")?,
    })
}

/// `column` is one of two fixed names, never user input.
fn minute_counts(conn: &Tx, column: &'static str, since: i64) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT {column} - {column} % {MINUTE_MS} AS minute, count(*) FROM interactions
         WHERE {column} >= ?1 GROUP BY minute"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// What an interaction search asks for. Every field that is set narrows the result
/// (they combine with AND); text matches are substrings in any case (a trigram index;
/// below three characters, ASCII's case on SQLite).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchFilter {
    /// Only this media type.
    pub media_type: Option<MediaType>,
    /// Only this media type too: what a platform filter implies (Messenger is the
    /// Facebook channel's direct messages). Kept apart so both must hold.
    pub platform_media_type: Option<MediaType>,
    /// Only these channels (a platform filter); an empty list matches nothing.
    pub channels_in: Option<Vec<String>>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this workgroup.
    pub workgroup: Option<String>,
    /// Only interactions assigned (or last assigned) to this username.
    pub agent: Option<String>,
    /// Only this state.
    pub state: Option<State>,
    /// Only interactions not ended (any state but disconnected).
    pub active: bool,
    /// Created at or after, unix ms.
    pub from: Option<i64>,
    /// Created before, unix ms.
    pub to: Option<i64>,
    /// Substring of the customer's name or of any message's author name or handle.
    pub author: Option<String>,
    /// Substring of any message's text.
    pub text: Option<String>,
    /// Only interactions whose workflow failed, so they took the channel's route.
    pub workflow_fallback: bool,
    /// At most this many items.
    pub limit: i64,
    /// Skip this many items first.
    pub offset: i64,
}

impl Default for SearchFilter {
    fn default() -> Self {
        SearchFilter {
            media_type: None,
            platform_media_type: None,
            channels_in: None,
            channel: None,
            workgroup: None,
            agent: None,
            state: None,
            active: false,
            from: None,
            to: None,
            author: None,
            text: None,
            workflow_fallback: false,
            limit: 50,
            offset: 0,
        }
    }
}

/// A WHERE clause (empty, or starting with ` WHERE `) and its values in placeholder order.
#[derive(Debug, Default)]
pub struct Where {
    /// The SQL text: only fixed fragments and `?` placeholders.
    pub sql: String,
    /// One value per `?`, in order.
    pub values: Vec<Value>,
}

impl Where {
    fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(clause);
        self.values.extend(values);
    }
}

/// Builds the WHERE clause of a search over `interactions i`.
pub fn where_clause(f: &SearchFilter, postgres: bool) -> Where {
    let mut w = Where::default();
    let text = |s: &str| Value::Text(s.to_owned());
    for media in [f.media_type, f.platform_media_type].into_iter().flatten() {
        w.add("i.media_type = ?", [text(media.as_str())]);
    }
    if let Some(channels) = &f.channels_in {
        add_channels_in(&mut w, channels);
    }
    let equals = [
        ("i.channel = ?", &f.channel),
        ("i.workgroup = ?", &f.workgroup),
        (
            "i.assigned_to IN (SELECT id FROM users WHERE username = ?)",
            &f.agent,
        ),
    ];
    for (clause, value) in equals {
        if let Some(v) = value {
            w.add(clause, [text(v)]);
        }
    }
    if let Some(state) = f.state {
        w.add("i.state = ?", [text(state.as_str())]);
    }
    if f.active {
        w.add(&format!("i.state IN {ACTIVE_STATES}"), []);
    }
    if f.workflow_fallback {
        // The attributes are JSON text on both engines; each reads a key its own way.
        let has_fallback = if postgres {
            "(i.attributes::jsonb -> 'workflow_fallback') IS NOT NULL"
        } else {
            "json_extract(i.attributes, '$.workflow_fallback') IS NOT NULL"
        };
        w.add(has_fallback, []);
    }
    if let Some(from) = f.from {
        w.add("i.created_at >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = f.to {
        w.add("i.created_at < ?", [Value::Integer(to)]);
    }
    if let Some(author) = &f.author {
        let p = like_pattern(author);
        let messages = if let Some(phrase) = fts_phrase(author).filter(|_| !postgres) {
            w.values.push(text(&p));
            w.values
                .push(text(&format!("{{author_name author_handle}} : {phrase}")));
            "(i.customer_name LIKE ? ESCAPE '\\' OR i.id IN (SELECT m.interaction_id FROM messages m
                WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)))"
                .to_owned()
        } else {
            w.values.extend([text(&p), text(&p), text(&p)]);
            "(i.customer_name LIKE ? ESCAPE '\\' OR i.id IN (SELECT m.interaction_id FROM messages m
                WHERE m.author_name LIKE ? ESCAPE '\\' OR m.author_handle LIKE ? ESCAPE '\\'))"
                .to_owned()
        };
        w.add(&messages, []);
    }
    if let Some(needle) = &f.text {
        match fts_phrase(needle).filter(|_| !postgres) {
            Some(phrase) => w.add(
                "i.id IN (SELECT m.interaction_id FROM messages m
                    WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))",
                [text(&format!("text : {phrase}"))],
            ),
            // PostgreSQL: `ILIKE` (the engine's `LIKE`) is served by the pg_trgm index.
            None => w.add(
                "i.id IN (SELECT m.interaction_id FROM messages m WHERE m.text LIKE ? ESCAPE '\\')",
                [text(&like_pattern(needle))],
            ),
        }
    }
    w
}

/// The needle as an FTS5 phrase (`"…"`, quotes doubled), which the trigram index matches
/// as a substring in any case; `None` below three characters, which make no trigram (those
/// are searched with `LIKE`, whose case folding is ASCII's).
fn fts_phrase(needle: &str) -> Option<String> {
    (needle.chars().count() >= 3).then(|| format!("\"{}\"", needle.replace('"', "\"\"")))
}

fn add_channels_in(w: &mut Where, channels: &[String]) {
    if channels.is_empty() {
        // No channel speaks the platform: nothing can match.
        w.add("1 = 0", []);
        return;
    }
    let marks = vec!["?"; channels.len()].join(", ");
    w.add(
        &format!("i.channel IN ({marks})"),
        channels.iter().map(|c| Value::Text(c.clone())),
    );
}

/// `%needle%` with LIKE's wildcards in the needle taken literally (escape `\`).
pub fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// One search result.
#[derive(Debug, Clone)]
pub struct Found {
    /// The interaction.
    pub interaction: Interaction,
    /// Its first customer message that the platform has not removed, cut to
    /// [`PREVIEW_CHARS`] characters; `None` without one.
    pub preview: Option<String>,
}

/// The interactions a filter matches: how many in all, and one page of them, newest first.
pub fn search(conn: &Tx, f: &SearchFilter) -> Result<(i64, Vec<Found>)> {
    let w = where_clause(f, conn.is_postgres());
    let from = "FROM interactions i";
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) {from}{}", w.sql),
            crate::store::params_from_iter(&w.values),
            |r| r.get(0),
        )
        .context("counting search results")?;
    let sql = format!(
        "SELECT {INTERACTION_COLUMNS},
            (SELECT m.text FROM messages m
             WHERE m.interaction_id = i.id AND m.direction = 'inbound' AND m.deleted = 0
             ORDER BY m.created_at, m.id LIMIT 1)
         {from}{} ORDER BY i.created_at DESC, i.id DESC LIMIT ? OFFSET ?",
        w.sql
    );
    let mut values = w.values;
    values.extend([Value::Integer(f.limit), Value::Integer(f.offset)]);
    let mut stmt = conn.prepare(&sql).context("preparing search")?;
    let rows = stmt.query_map(crate::store::params_from_iter(&values), |r| {
        Ok(Found {
            interaction: interaction_from_row(r)?,
            preview: r
                .get::<_, Option<String>>(INTERACTION_COLUMN_COUNT)?
                .map(|t| cut(&t, PREVIEW_CHARS)),
        })
    })?;
    let items = rows
        .collect::<anyhow::Result<_>>()
        .context("reading search results")?;
    Ok((total, items))
}

/// Up to `limit` matches of a filter that come after `after` (a `(created_at, id)` already
/// read) in the search's order, newest first: an export reads every match a page at a
/// time, never holding them all.
pub fn search_after(
    conn: &Tx,
    f: &SearchFilter,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Found>> {
    let mut w = where_clause(f, conn.is_postgres());
    if let Some((at, id)) = after {
        w.add(
            "(i.created_at < ? OR (i.created_at = ? AND i.id < ?))",
            [Value::Integer(at), Value::Integer(at), Value::Integer(id)],
        );
    }
    let sql = format!(
        "SELECT {INTERACTION_COLUMNS},
            (SELECT m.text FROM messages m
             WHERE m.interaction_id = i.id AND m.direction = 'inbound' AND m.deleted = 0
             ORDER BY m.created_at, m.id LIMIT 1)
         FROM interactions i{} ORDER BY i.created_at DESC, i.id DESC LIMIT ?",
        w.sql
    );
    let mut values = w.values;
    values.push(Value::Integer(limit));
    let mut stmt = conn.prepare(&sql).context("preparing the export")?;
    let rows = stmt.query_map(crate::store::params_from_iter(&values), |r| {
        Ok(Found {
            interaction: interaction_from_row(r)?,
            preview: r
                .get::<_, Option<String>>(INTERACTION_COLUMN_COUNT)?
                .map(|t| cut(&t, PREVIEW_CHARS)),
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// The first `max` characters of `text` (never splits a character).
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::params;

    fn db() -> (crate::store::testing::TestDb, Tx) {
        let db = crate::store::testing::db();
        let conn = db.tx();
        conn.execute(
            "INSERT INTO users (id, username, display_name, password_hash) VALUES (7, 'agent1', 'A', '')",
            (),
        )
        .unwrap();
        (db, conn)
    }

    /// Inserts an interaction; returns its id.
    fn ix(conn: &Tx, channel: &str, media: &str, state: &str, created: i64) -> i64 {
        conn.query_row(
            "INSERT INTO interactions (channel, thread_id, media_type, state, workgroup,
                customer_id, customer_name, created_at, queued_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'Social', 'c', 'Carla Customer', ?5, ?5, ?5)
             RETURNING id",
            params![channel, format!("t{created}"), media, state, created],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn msg(conn: &Tx, id: i64, direction: &str, author: &str, text: &str, at: i64) {
        conn.execute(
            "INSERT INTO messages (channel, platform_message_id, interaction_id, thread_id,
                direction, visibility, author_id, author_name, author_handle, text, created_at, stored_at)
             VALUES ('fb', ?1, ?2, 't', ?3, 'public', 'a', ?4, ?5, ?6, ?7, ?7)",
            params![
                format!("m{id}-{at}"),
                id,
                direction,
                author,
                format!("@{}", author.to_lowercase()),
                text,
                at
            ],
        )
        .unwrap();
    }

    fn ids(conn: &Tx, f: &SearchFilter) -> Vec<i64> {
        search(conn, f)
            .unwrap()
            .1
            .iter()
            .map(|x| x.interaction.id)
            .collect()
    }

    #[test]
    fn no_filter_means_no_where_clause() {
        let w = where_clause(&SearchFilter::default(), false);
        assert_eq!(w.sql, "");
        assert!(w.values.is_empty());
    }

    #[test]
    fn each_filter_adds_one_clause_with_bound_values_only() {
        let f = SearchFilter {
            media_type: Some(MediaType::SocialConversation),
            channel: Some("x'; DROP TABLE users; --".into()),
            agent: Some("agent1".into()),
            from: Some(10),
            to: Some(20),
            text: Some("50%_off".into()),
            ..SearchFilter::default()
        };
        let w = where_clause(&f, false);
        assert!(!w.sql.contains("DROP"), "user input stays out of the SQL");
        assert_eq!(w.sql.matches('?').count(), w.values.len());
        assert!(w.sql.starts_with(" WHERE "), "{}", w.sql);
        assert_eq!(w.values[0], Value::Text("social_conversation".into()));
        assert_eq!(w.values[1], Value::Text("x'; DROP TABLE users; --".into()));
        assert_eq!(w.values[3], Value::Integer(10));
        assert_eq!(
            w.values[5],
            Value::Text("text : \"50%_off\"".into()),
            "a trigram phrase"
        );
        let pg = where_clause(&f, true);
        assert_eq!(
            pg.values[5],
            Value::Text("%50\\%\\_off%".into()),
            "a LIKE pattern"
        );
    }

    #[test]
    fn an_export_reads_every_match_page_after_page_in_the_search_order() {
        let (_db, conn) = db();
        // Two share a creation time: the id breaks the tie, as the search orders them.
        let made: Vec<i64> = [5, 3, 3, 9, 1]
            .iter()
            .map(|&t| {
                ix(
                    &conn,
                    "fb",
                    "social_conversation",
                    "disconnected",
                    t * 1_000,
                )
            })
            .collect();
        let f = SearchFilter {
            limit: 50,
            ..SearchFilter::default()
        };
        let mut read = Vec::new();
        let mut after = None;
        loop {
            let page = search_after(&conn, &f, after, 2).unwrap();
            read.extend(page.iter().map(|x| x.interaction.id));
            match page.last() {
                Some(last) if page.len() == 2 => {
                    after = Some((last.interaction.created_at, last.interaction.id))
                }
                _ => break,
            }
        }
        assert_eq!(
            read,
            ids(&conn, &f),
            "the same rows in the same order, none twice"
        );
        assert_eq!(read.len(), made.len());
    }

    #[test]
    fn text_is_found_in_any_case_and_script_as_a_substring() {
        let (_db, conn) = db();
        let a = ix(&conn, "fb", "social_conversation", "queued", 1_000);
        let b = ix(&conn, "fb", "social_conversation", "queued", 2_000);
        let c = ix(&conn, "fb", "social_conversation", "queued", 3_000);
        msg(&conn, a, "inbound", "Ann", "Ünïcode ÉCOLE de Paris", 1_000);
        msg(&conn, b, "inbound", "Bo", "東京都の天気は晴れ", 2_000);
        msg(
            &conn,
            c,
            "inbound",
            "Cy",
            "50% off, \"quoted\" and a_b",
            3_000,
        );
        let find = |needle: &str| {
            let f = SearchFilter {
                text: Some(needle.into()),
                limit: 10,
                ..SearchFilter::default()
            };
            ids(&conn, &f)
        };
        assert_eq!(find("école"), [a], "case beyond ASCII");
        let by_author = SearchFilter {
            author: Some("@BO".into()),
            limit: 10,
            ..SearchFilter::default()
        };
        assert_eq!(ids(&conn, &by_author), [b], "by handle, through the index");
        assert_eq!(find("ünïCODE"), [a]);
        assert_eq!(find("京都の"), [b], "no spaces to split on");
        assert_eq!(find("天気"), [b], "two characters: no trigram, still found");
        assert_eq!(find("0% o"), [c], "wildcards are text");
        assert_eq!(find("\"quoted\""), [c], "quotes are text");
        assert_eq!(find("a_b"), [c]);
        assert!(find("axb").is_empty());
        assert!(
            find("paris de").is_empty(),
            "a substring, not words in any order"
        );
        // A changed text is found by its new words only.
        conn.execute(
            "UPDATE messages SET text = 'bonjour' WHERE interaction_id = ?1",
            [a],
        )
        .unwrap();
        assert!(find("école").is_empty());
        assert_eq!(find("BONJOUR"), [a]);
    }

    #[test]
    fn a_platform_with_no_channel_matches_nothing() {
        let (_db, conn) = db();
        ix(&conn, "fb", "social_conversation", "queued", 1);
        let f = SearchFilter {
            channels_in: Some(vec![]),
            ..SearchFilter::default()
        };
        assert!(ids(&conn, &f).is_empty());
        let f = SearchFilter {
            channels_in: Some(vec!["wa".into(), "fb".into()]),
            ..SearchFilter::default()
        };
        assert_eq!(ids(&conn, &f).len(), 1);
    }

    #[test]
    fn filters_combine_with_and_newest_first_with_pages() {
        let (_db, conn) = db();
        let a = ix(&conn, "fb", "social_conversation", "queued", 1_000);
        let b = ix(&conn, "fb", "social_direct_message", "connected", 2_000);
        let c = ix(&conn, "wa", "social_direct_message", "disconnected", 3_000);
        conn.execute("UPDATE interactions SET assigned_to = 7 WHERE id = ?1", [b])
            .unwrap();
        msg(
            &conn,
            a,
            "inbound",
            "Zoë Quill",
            "Where is my ORDER?",
            1_000,
        );
        msg(&conn, b, "inbound", "Bo", "refund please", 2_000);
        msg(&conn, b, "outbound", "Acme", "on it", 2_100);
        msg(&conn, c, "inbound", "Cy", "hello", 3_000);
        let all = SearchFilter::default();
        assert_eq!(ids(&conn, &all), vec![c, b, a]);
        let by = |f: SearchFilter| ids(&conn, &f);
        let dm = Some(MediaType::SocialDirectMessage);
        assert_eq!(
            by(SearchFilter {
                media_type: dm,
                ..all.clone()
            }),
            vec![c, b]
        );
        let both = SearchFilter {
            media_type: Some(MediaType::SocialConversation),
            platform_media_type: dm,
            ..all.clone()
        };
        assert!(by(both).is_empty(), "both media filters must hold");
        assert_eq!(
            by(SearchFilter {
                text: Some("order".into()),
                ..all.clone()
            }),
            vec![a]
        );
        assert_eq!(
            by(SearchFilter {
                text: Some("ON IT".into()),
                ..all.clone()
            }),
            vec![b]
        );
        assert_eq!(
            by(SearchFilter {
                author: Some("QUILL".into()),
                ..all.clone()
            }),
            vec![a]
        );
        assert_eq!(
            by(SearchFilter {
                author: Some("@cy".into()),
                ..all.clone()
            }),
            vec![c]
        );
        assert_eq!(
            by(SearchFilter {
                author: Some("carla".into()),
                ..all.clone()
            }),
            vec![c, b, a],
            "the customer's name counts"
        );
        assert_eq!(
            by(SearchFilter {
                agent: Some("agent1".into()),
                ..all.clone()
            }),
            vec![b]
        );
        assert_eq!(
            by(SearchFilter {
                state: Some(State::Queued),
                ..all.clone()
            }),
            vec![a]
        );
        assert_eq!(
            by(SearchFilter {
                channel: Some("wa".into()),
                ..all.clone()
            }),
            vec![c]
        );
        let range = SearchFilter {
            from: Some(2_000),
            to: Some(3_000),
            ..all.clone()
        };
        assert_eq!(by(range), vec![b], "from inclusive, to exclusive");
        let page = SearchFilter {
            limit: 1,
            offset: 1,
            ..all.clone()
        };
        let (total, items) = search(&conn, &page).unwrap();
        assert_eq!((total, items.len(), items[0].interaction.id), (3, 1, b));
        let wildcard = SearchFilter {
            text: Some("%".into()),
            ..all
        };
        assert!(by(wildcard).is_empty(), "% is a literal character");
    }

    #[test]
    fn the_preview_is_the_first_customer_message_cut_on_a_character() {
        let (_db, conn) = db();
        let a = ix(&conn, "fb", "social_conversation", "queued", 1);
        msg(&conn, a, "outbound", "Acme", "we wrote first", 1);
        msg(&conn, a, "inbound", "Ann", &"é".repeat(200), 2);
        msg(&conn, a, "inbound", "Ann", "second", 3);
        let empty = ix(&conn, "fb", "social_conversation", "queued", 5);
        let (_, items) = search(&conn, &SearchFilter::default()).unwrap();
        assert_eq!(items[0].interaction.id, empty);
        assert_eq!(items[0].preview, None);
        assert_eq!(items[1].preview, Some("é".repeat(PREVIEW_CHARS)));
    }

    #[test]
    fn cut_keeps_short_texts_whole() {
        assert_eq!(cut("héllo", 3), "hél");
        assert_eq!(cut("héllo", 5), "héllo");
        assert_eq!(cut("", 5), "");
    }

    #[test]
    fn active_counts_skip_finished_work_and_name_the_oldest() {
        let (_db, conn) = db();
        ix(&conn, "fb", "social_conversation", "disconnected", 1);
        let oldest = ix(&conn, "fb", "social_conversation", "held", 2);
        ix(&conn, "fb", "social_conversation", "queued", 3);
        let dm = ix(&conn, "wa", "social_direct_message", "buffered", 4);
        let mut active = active_by_media(&conn).unwrap();
        active.sort_by_key(|a| a.media_type.as_str());
        assert_eq!(
            active,
            vec![
                Active {
                    media_type: MediaType::SocialConversation,
                    count: 2,
                    oldest_id: oldest,
                    oldest_created_at: 2
                },
                Active {
                    media_type: MediaType::SocialDirectMessage,
                    count: 1,
                    oldest_id: dm,
                    oldest_created_at: 4
                },
            ]
        );
    }

    #[test]
    fn minutes_count_arrivals_and_first_answers_apart() {
        let (_db, conn) = db();
        let a = ix(&conn, "fb", "social_conversation", "connected", 60_000 + 5);
        ix(
            &conn,
            "fb",
            "social_conversation",
            "queued",
            60_000 + 59_999,
        );
        ix(&conn, "fb", "social_conversation", "queued", 120_000);
        ix(&conn, "fb", "social_conversation", "queued", 10);
        conn.execute(
            "UPDATE interactions SET answered_at = 180001 WHERE id = ?1",
            [a],
        )
        .unwrap();
        let mut counts = per_minute(&conn, 60_000).unwrap();
        counts.arrivals.sort();
        assert_eq!(counts.arrivals, vec![(60_000, 2), (120_000, 1)]);
        assert_eq!(counts.answered, vec![(180_000, 1)]);
    }
}
