//! SQLite's migrations (see the parent module for how they run).

/// The migrations, oldest first. Never edit a released entry: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: people, stations, workgroups, channels, interactions, transcript, outbox.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        display_name  TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        rights        TEXT NOT NULL DEFAULT '[]',
        skills        TEXT NOT NULL DEFAULT '{}',
        utilization   TEXT NOT NULL DEFAULT '{}',
        station       TEXT,
        status        TEXT NOT NULL DEFAULT 'away',
        status_at     INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE stations (
        id     INTEGER PRIMARY KEY,
        name   TEXT NOT NULL UNIQUE,
        rights TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE sessions (
        token      TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL
    );
    CREATE TABLE workgroups (
        id               INTEGER PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        alert_timeout_ms INTEGER NOT NULL DEFAULT 30000,
        utilization      TEXT NOT NULL DEFAULT '{}',
        sl_target_s      INTEGER NOT NULL DEFAULT 60,
        wrapup_codes     TEXT NOT NULL DEFAULT '[]',
        wrapup_required  INTEGER NOT NULL DEFAULT 0,
        wrapup_timeout_ms INTEGER NOT NULL DEFAULT 120000
    );
    CREATE TABLE workgroup_members (
        workgroup_id INTEGER NOT NULL REFERENCES workgroups(id) ON DELETE CASCADE,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (workgroup_id, user_id)
    );
    CREATE TABLE channel_cursors (
        channel    TEXT PRIMARY KEY,
        cursor     TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE plugin_kv (
        channel TEXT NOT NULL,
        key     TEXT NOT NULL,
        value   BLOB NOT NULL,
        PRIMARY KEY (channel, key)
    );
    CREATE TABLE interactions (
        id               INTEGER PRIMARY KEY,
        channel          TEXT NOT NULL,
        thread_id        TEXT NOT NULL,
        media_type       TEXT NOT NULL,
        state            TEXT NOT NULL,
        workgroup        TEXT NOT NULL,
        priority         INTEGER NOT NULL DEFAULT 0,
        assigned_to      INTEGER REFERENCES users(id),
        customer_id      TEXT NOT NULL,
        customer_name    TEXT NOT NULL,
        workflow_version INTEGER NOT NULL DEFAULT 0,
        skills           TEXT,
        preferred_agent  INTEGER,
        preferred_until  INTEGER,
        transfer_to      INTEGER,
        answered_at      INTEGER,
        abandoned        INTEGER NOT NULL DEFAULT 0,
        wrapup_code      TEXT,
        wrapup_pending   INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL,
        queued_at        INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    -- At most one live interaction per thread: the join-or-create of ingest relies on it.
    CREATE UNIQUE INDEX interactions_live_thread ON interactions(channel, thread_id)
        WHERE state <> 'disconnected';
    CREATE INDEX interactions_state ON interactions(state);
    CREATE TABLE messages (
        id                  INTEGER PRIMARY KEY,
        channel             TEXT NOT NULL,
        platform_message_id TEXT NOT NULL,
        interaction_id      INTEGER REFERENCES interactions(id),
        thread_id           TEXT NOT NULL,
        parent_id           TEXT,
        direction           TEXT NOT NULL,
        visibility          TEXT NOT NULL,
        author_id           TEXT NOT NULL,
        author_name         TEXT NOT NULL,
        author_handle       TEXT,
        text                TEXT NOT NULL,
        attachments         TEXT NOT NULL DEFAULT '[]',
        language            TEXT,
        from_business       INTEGER NOT NULL DEFAULT 0,
        deleted             INTEGER NOT NULL DEFAULT 0,
        created_at          INTEGER NOT NULL,
        stored_at           INTEGER NOT NULL,
        UNIQUE (channel, platform_message_id)
    );
    CREATE INDEX messages_interaction ON messages(interaction_id);
    CREATE TABLE interaction_events (
        id             INTEGER PRIMARY KEY,
        interaction_id INTEGER NOT NULL REFERENCES interactions(id),
        at             INTEGER NOT NULL,
        kind           TEXT NOT NULL,
        state          TEXT NOT NULL,
        user_id        INTEGER,
        detail         TEXT
    );
    CREATE INDEX interaction_events_ix ON interaction_events(interaction_id);
    CREATE TABLE outbound (
        id                  INTEGER PRIMARY KEY,
        idempotency_key     TEXT NOT NULL UNIQUE,
        interaction_id      INTEGER NOT NULL REFERENCES interactions(id),
        channel             TEXT NOT NULL,
        thread_id           TEXT NOT NULL,
        reply_to            TEXT,
        recipient_id        TEXT,
        visibility          TEXT NOT NULL,
        text                TEXT NOT NULL,
        author_user_id      INTEGER,
        state               TEXT NOT NULL,
        attempts            INTEGER NOT NULL DEFAULT 0,
        platform_message_id TEXT,
        last_error          TEXT,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
    );
    CREATE INDEX outbound_pending ON outbound(state) WHERE state = 'pending';
    "#,
    // 2: workflow effects: attributes, buffered and grouped interactions, timers, send
    // retries chosen by the script.
    r#"
    ALTER TABLE interactions ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE interactions ADD COLUMN group_key TEXT;
    ALTER TABLE interactions ADD COLUMN buffer_thread TEXT;
    ALTER TABLE interactions ADD COLUMN buffer_agent INTEGER;
    -- A buffered interaction waits beside the routable one of its thread.
    DROP INDEX interactions_live_thread;
    CREATE UNIQUE INDEX interactions_live_thread ON interactions(channel, thread_id)
        WHERE state NOT IN ('disconnected', 'buffered');
    CREATE INDEX interactions_customer ON interactions(channel, customer_id);
    CREATE INDEX interactions_group ON interactions(channel, group_key) WHERE group_key IS NOT NULL;
    CREATE TABLE workflow_timers (
        id             INTEGER PRIMARY KEY,
        interaction_id INTEGER NOT NULL REFERENCES interactions(id),
        kind           TEXT NOT NULL,
        name           TEXT NOT NULL DEFAULT '',
        every_ms       INTEGER NOT NULL DEFAULT 0,
        due_at         INTEGER NOT NULL
    );
    CREATE INDEX workflow_timers_due ON workflow_timers(due_at);
    ALTER TABLE messages ADD COLUMN followers INTEGER;
    ALTER TABLE messages ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE outbound ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 6;
    ALTER TABLE outbound ADD COLUMN backoff_ms INTEGER NOT NULL DEFAULT 500;
    -- Issue 5: templates, sender handles, list pickers; delivery statuses.
    ALTER TABLE outbound ADD COLUMN extras TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE outbound ADD COLUMN delivery TEXT;
    ALTER TABLE outbound ADD COLUMN delivery_error TEXT;
    CREATE INDEX outbound_platform_id ON outbound(channel, platform_message_id);
    -- A status can arrive before the send that caused it is recorded as sent.
    CREATE TABLE early_deliveries (
        channel             TEXT NOT NULL,
        platform_message_id TEXT NOT NULL,
        state               TEXT NOT NULL,
        error               TEXT,
        at                  INTEGER NOT NULL
    );
    CREATE INDEX early_deliveries_id ON early_deliveries(channel, platform_message_id);
    "#,
    // 3: channels administrators create through the API (config-file channels are not
    // stored); `config` is the channel's settings as JSON, secrets included.
    r#"
    CREATE TABLE channels (
        name       TEXT PRIMARY KEY,
        config     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    "#,
    // 4: who transferred an interaction, from which workgroup, with what note (shown to the
    // agent who receives it).
    r#"
    ALTER TABLE interactions ADD COLUMN transferred_by INTEGER;
    ALTER TABLE interactions ADD COLUMN transferred_by_name TEXT;
    ALTER TABLE interactions ADD COLUMN transferred_from TEXT;
    ALTER TABLE interactions ADD COLUMN transfer_note TEXT;
    ALTER TABLE interactions ADD COLUMN transferred_at INTEGER;
    "#,
    // 5: durable follow-up work, recorded in the transaction of the write it follows
    // (routing a new interaction, the workflow's `on_disconnect`) and carried out by the
    // job worker, which resumes what is unfinished at start. `claimed_until` lets one
    // worker at a time hold a job (several hosts will share one database).
    r#"
    CREATE TABLE jobs (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL,
        interaction_id INTEGER NOT NULL,
        due_at         INTEGER NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT,
        failed_at      INTEGER,
        claimed_until  INTEGER,
        created_at     INTEGER NOT NULL
    );
    CREATE INDEX jobs_due ON jobs(failed_at, due_at);
    ALTER TABLE workflow_timers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workflow_timers ADD COLUMN last_error TEXT;
    ALTER TABLE workflow_timers ADD COLUMN failed_at INTEGER;
    "#,
    // 6: replies exactly once. `state` gains `attempting` (written before the platform
    // call, so a crash during it is seen at start) and `unknown` (it may or may not have
    // reached the platform: the agent decides). `next_attempt_at`: when a pending reply
    // is due (a retry's backoff, a rate limit's reset), kept here so the schedule
    // survives restarts and can be shared by several hosts. `last_attempt_at`: when it
    // was last tried, the RPC-cache window (also shared, hence here).
    r#"
    ALTER TABLE outbound ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbound ADD COLUMN last_attempt_at INTEGER;
    CREATE INDEX outbound_due ON outbound(next_attempt_at) WHERE state = 'pending';
    CREATE INDEX outbound_recent ON outbound(channel, last_attempt_at);
    "#,
    // 7: sessions keep only a hash of their token (a copy of the database signs nobody
    // in) and when they were last used (idle expiry). Sessions of earlier versions
    // are dropped: their users sign in again.
    r#"
    DROP TABLE sessions;
    CREATE TABLE sessions (
        token_hash   TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        created_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    "#,
    // 8: the audit log: sign-ins, failed sign-ins and every change administrators and
    // supervisors make (never a secret value).
    r#"
    CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        actor_id  INTEGER,
        actor     TEXT NOT NULL,
        client    TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT,
        status    INTEGER,
        detail    TEXT
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    "#,
    // 9: a buffer's deadline for the agent it waits for (`buffer` with `max_wait_ms`).
    // A buffer still waiting at its deadline goes to anyone as its own interaction beside
    // the one the agent has (`split_off`): a thread has at most one routable interaction
    // besides those.
    r#"
    ALTER TABLE interactions ADD COLUMN buffer_until INTEGER;
    ALTER TABLE interactions ADD COLUMN split_off INTEGER NOT NULL DEFAULT 0;
    DROP INDEX interactions_live_thread;
    CREATE UNIQUE INDEX interactions_live_thread ON interactions(channel, thread_id)
        WHERE state NOT IN ('disconnected', 'buffered') AND split_off = 0;
    "#,
    // 10: hosts sharing the store and their leases (`store::cluster`).
    r#"
    CREATE TABLE cluster_hosts (
        host_id      TEXT PRIMARY KEY,
        address      TEXT NOT NULL,
        started_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        stopped_at   INTEGER,
        channels     TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE cluster_leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        epoch      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    "#,
    // 11: sign-in throttling kept in the store, so the wait a host imposed holds on the
    // host that leads after it (every sign-in of a cluster is checked on its leader).
    r#"
    CREATE TABLE login_failures (
        key      TEXT PRIMARY KEY,
        count    INTEGER NOT NULL,
        until_ms INTEGER NOT NULL
    );
    CREATE INDEX login_failures_until ON login_failures(until_ms);
    "#,
    // 12: standard responses: answers administrators write once for agents to insert,
    // for everyone (`workgroup` NULL) or one workgroup's members.
    r#"
    CREATE TABLE responses (
        id         INTEGER PRIMARY KEY,
        title      TEXT NOT NULL,
        text       TEXT NOT NULL,
        workgroup  TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX responses_title ON responses(COALESCE(workgroup, ''), title);
    "#,
    // 13: historical reports. Each state change records the workgroup the interaction is
    // in after it (so a transfer's segments can be told apart); a finished interaction is
    // summed up into one row per segment (a stretch in one workgroup's queue and with the
    // agent who took it there), and `reported` marks it done so a host that missed one
    // (an older host during a rolling upgrade) can catch up. Agents' status changes are
    // kept for the time each one spent in each status.
    r#"
    ALTER TABLE interaction_events ADD COLUMN workgroup TEXT;
    ALTER TABLE interactions ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX interactions_unreported ON interactions(id)
        WHERE state = 'disconnected' AND reported = 0;
    CREATE TABLE report_segments (
        interaction_id INTEGER NOT NULL,
        seq            INTEGER NOT NULL,
        workgroup      TEXT NOT NULL,
        agent_id       INTEGER,
        channel        TEXT NOT NULL,
        media_type     TEXT NOT NULL,
        entered_at     INTEGER NOT NULL,
        answered_at    INTEGER,
        ended_at       INTEGER NOT NULL,
        abandoned      INTEGER NOT NULL,
        in_target      INTEGER NOT NULL,
        connected_ms   INTEGER NOT NULL,
        held_ms        INTEGER NOT NULL,
        wrapup_ms      INTEGER NOT NULL,
        transfer_in    INTEGER NOT NULL,
        transfer_out   INTEGER NOT NULL,
        wrapup_code    TEXT,
        PRIMARY KEY (interaction_id, seq)
    );
    CREATE INDEX report_segments_entered ON report_segments(entered_at);
    CREATE TABLE agent_status_log (
        id      INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        status  TEXT NOT NULL,
        at      INTEGER NOT NULL
    );
    CREATE INDEX agent_status_log_at ON agent_status_log(at);
    CREATE INDEX agent_status_log_user ON agent_status_log(user_id, at);
    "#,
    // 14: contacts: one per platform identity (a channel's customer id, or its keyed hash
    // where the channel keeps no personal data), several identities linked into one
    // person; each interaction knows its identity. `store_keys` holds the hash's key,
    // made once and shared by every host. The thread index serves the earlier
    // conversation shown beside an interaction.
    r#"
    CREATE TABLE contacts (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL DEFAULT '',
        notes      TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE contact_identities (
        id         INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL,
        channel    TEXT NOT NULL,
        key        TEXT NOT NULL,
        hashed     INTEGER NOT NULL DEFAULT 0,
        name       TEXT,
        handle     TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (channel, key)
    );
    CREATE INDEX contact_identities_contact ON contact_identities(contact_id);
    ALTER TABLE interactions ADD COLUMN identity_id INTEGER;
    CREATE INDEX interactions_identity ON interactions(identity_id);
    CREATE INDEX messages_thread ON messages(channel, thread_id);
    CREATE TABLE store_keys (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 15: retention: when an interaction's content and personal data were removed (by the
    // retention period or by erasing its customer); the index finds what is due.
    r#"
    ALTER TABLE interactions ADD COLUMN purged_at INTEGER;
    CREATE INDEX interactions_purge ON interactions(channel, updated_at)
        WHERE purged_at IS NULL AND state = 'disconnected';
    "#,
    // 16: search by trigrams: any part of a message's text, author name or handle, in any
    // case (Unicode's, not only ASCII's), in any script (Chinese and Japanese have no
    // spaces to split words on). The index follows the messages through triggers, so a
    // host of the previous version keeps it right too; it is built once from what is there.
    // `secure-delete`: a removed or changed text leaves the index at once (retention and
    // erasure leave no fragment of it behind).
    r#"
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, author_name, author_handle,
        content = 'messages', content_rowid = 'id',
        tokenize = 'trigram case_sensitive 0'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text, author_name, author_handle)
        VALUES (new.id, new.text, new.author_name, new.author_handle);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, author_name, author_handle)
        VALUES ('delete', old.id, old.text, old.author_name, old.author_handle);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, author_name, author_handle ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, author_name, author_handle)
        VALUES ('delete', old.id, old.text, old.author_name, old.author_handle);
        INSERT INTO messages_fts (rowid, text, author_name, author_handle)
        VALUES (new.id, new.text, new.author_name, new.author_handle);
    END;
    INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    "#,
    // 17: attachment files: one row per file a customer sent (downloaded by the host) or
    // an agent sends; the bytes are stored by content hash beside the database.
    r#"
    CREATE TABLE media (
        id            INTEGER PRIMARY KEY,
        channel       TEXT NOT NULL,
        message_id    INTEGER,
        outbound_id   INTEGER,
        position      INTEGER NOT NULL,
        state         TEXT NOT NULL,
        source        TEXT NOT NULL DEFAULT '{}',
        file_name     TEXT,
        content_hash  TEXT,
        size          INTEGER,
        content_type  TEXT,
        error         TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       INTEGER,
        claimed_until INTEGER,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX media_message ON media(message_id, position) WHERE message_id IS NOT NULL;
    CREATE UNIQUE INDEX media_outbound ON media(outbound_id, position) WHERE outbound_id IS NOT NULL;
    CREATE INDEX media_due ON media(next_at) WHERE state = 'pending';
    CREATE INDEX media_hash ON media(content_hash) WHERE content_hash IS NOT NULL;
    "#,
    // 18: paused channels, and what arrives for them while paused (or while their resume
    // drains): kept in arrival order, each platform message once, until routed.
    r#"
    CREATE TABLE channel_pauses (
        channel    TEXT PRIMARY KEY,
        paused_at  INTEGER NOT NULL,
        paused_by  TEXT NOT NULL,
        resumed_at INTEGER,
        resumed_by TEXT
    );
    CREATE TABLE held_events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        channel     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        message_id  TEXT,
        target      TEXT NOT NULL,
        author      TEXT,
        event       TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        error       TEXT,
        UNIQUE (channel, message_id)
    );
    CREATE INDEX held_events_channel ON held_events(channel, id);
    CREATE INDEX held_events_target ON held_events(channel, target);
    "#,
];
