//! `switchboard-bench search`: a million messages (four per interaction, text from a small
//! vocabulary, one word in ten thousand rare), then the interaction search for a rare word,
//! a common one, a word in Japanese and a customer's name, through the host's own search,
//! on SQLite and PostgreSQL. The baseline, measured in the same run on the same data, is
//! the search as it was before the trigram index: `LIKE` over every message.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use switchboard::store::reports::{self, SearchFilter};
use switchboard::store::scratch::ScratchPostgres;
use switchboard::store::{Store, StoreOptions, StoreUrl};

/// Flags of `switchboard-bench search`.
#[derive(clap::Args, Debug)]
pub(crate) struct SearchArgs {
    /// Messages in the store.
    #[arg(long, default_value_t = 1_000_000)]
    messages: i64,
    /// Runs of each search (the median is shown).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only this engine (`sqlite` or `postgres`).
    #[arg(long)]
    only: Option<String>,
}

const START: i64 = 1_764_547_200_000;

async fn generate(store: &Store, messages: i64) -> Result<()> {
    let interactions = messages / 4;
    let chunk = 100_000;
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(messages as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    store
        .write(move |c| {
            c.execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {interactions})
                 INSERT INTO interactions (id, channel, thread_id, media_type, state, workgroup,
                     customer_id, customer_name, created_at, queued_at, updated_at, reported)
                 SELECT i, 'ch' || (i % 4), 't' || i, 'social_conversation', 'disconnected', 'wg' || (i % 10),
                     'c' || i, 'Customer ' || i, {START} + i * 1000, {START} + i * 1000, {START} + i * 1000, 1
                 FROM n"
            ))?;
            Ok(())
        })
        .await?;
    let mut first = 1;
    while first <= messages {
        let last = (first + chunk - 1).min(messages);
        store
            .write(move |c| {
                c.execute_batch(&format!(
                    "WITH RECURSIVE n(i) AS (SELECT CAST({first} AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})
                     INSERT INTO messages (channel, platform_message_id, interaction_id, thread_id, direction,
                         visibility, author_id, author_name, text, created_at, stored_at)
                     SELECT 'ch' || (((i - 1) / 4 + 1) % 4), 'm' || i, (i - 1) / 4 + 1, 't' || ((i - 1) / 4 + 1),
                         'inbound', 'public', 'a' || i, 'Customer ' || ((i - 1) / 4 + 1),
                         'order ' || i || ' ' || CASE i % 7 WHEN 0 THEN 'my parcel is late again'
                             WHEN 1 THEN 'I would like a refund please' WHEN 2 THEN 'where is my order'
                             WHEN 3 THEN 'the colour is wrong' WHEN 4 THEN '配送が遅れています'
                             WHEN 5 THEN 'thanks for the help' ELSE 'can I change the size' END
                         || CASE WHEN i % 10007 = 0 THEN ' Zanzibar' ELSE '' END,
                         {START} + i * 250, {START} + i * 250
                     FROM n"
                ))?;
                Ok(())
            })
            .await?;
        progress.set_position(last as u64);
        first = last + 1;
    }
    progress.finish_and_clear();
    store.write(|c| c.execute_batch("ANALYZE")).await?;
    Ok(())
}

async fn time_search(store: &Store, runs: usize, filter: SearchFilter) -> Result<(Duration, i64)> {
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..runs {
        let f = filter.clone();
        let began = Instant::now();
        total = store.read(move |c| Ok(reports::search(c, &f)?.0)).await?;
        times.push(began.elapsed());
    }
    Ok((crate::Percentiles::of(&mut times).median, total))
}

async fn time_scan(store: &Store, runs: usize, word: &'static str) -> Result<(Duration, i64)> {
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..runs {
        let began = Instant::now();
        total = store
            .read(move |c| {
                // `+` keeps any index out: the search as it was, a pass over every message.
                Ok(c.query_row(
                    &format!(
                        "SELECT count(DISTINCT interaction_id) FROM messages WHERE (text || '') LIKE '%{word}%'"
                    ),
                    (),
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await?;
        times.push(began.elapsed());
    }
    Ok((crate::Percentiles::of(&mut times).median, total))
}

async fn engine(name: &str, url: StoreUrl, args: &SearchArgs) -> Result<()> {
    let store = Store::open_url(&url, &StoreOptions::default())?;
    eprintln!("{name}: writing {} messages", args.messages);
    let began = Instant::now();
    generate(&store, args.messages).await?;
    eprintln!(
        "{name}: written and indexed in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (base, base_n) = time_scan(&store, args.runs, "Zanzibar").await?;
    println!("\n{name}: {} messages", args.messages);
    println!(
        "  {:<44} {:>10} {:>10} {:>8}",
        "case", "matches", "median ms", "× base"
    );
    println!(
        "  {:<44} {:>10} {:>10.1} {:>8}",
        "baseline: LIKE over every message (rare word)",
        base_n,
        ms(base),
        "1.0"
    );
    let page = |text: Option<&str>, author: Option<&str>| SearchFilter {
        text: text.map(str::to_owned),
        author: author.map(str::to_owned),
        limit: 50,
        ..SearchFilter::default()
    };
    for (label, filter) in [
        (
            "a rare word, any case (zanzibar)",
            page(Some("zanzibar"), None),
        ),
        ("a common word (refund, 1 in 7)", page(Some("refund"), None)),
        (
            "Japanese without spaces (配送が遅れ)",
            page(Some("配送が遅れ"), None),
        ),
        (
            "a customer's name (Customer 123456)",
            page(None, Some("Customer 123456")),
        ),
    ] {
        let (t, n) = time_search(&store, args.runs, filter).await?;
        anyhow::ensure!(n > 0, "{label}: nothing found");
        println!(
            "  {:<44} {:>10} {:>10.1} {:>8.2}",
            label,
            n,
            ms(t),
            ms(t) / ms(base).max(0.001)
        );
    }
    Ok(())
}

/// Runs the bench on each engine and prints the figures.
pub(crate) async fn run(args: SearchArgs) -> Result<()> {
    anyhow::ensure!(args.messages >= 1000, "--messages must be at least 1000");
    let only = args.only.as_deref();
    if only.is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir()?;
        engine(
            "SQLite",
            StoreUrl::Sqlite(dir.path().join("bench.db")),
            &args,
        )
        .await?;
    }
    if only.is_none_or(|o| o == "postgres") {
        let db = ScratchPostgres::create().context("a scratch PostgreSQL database")?;
        engine("PostgreSQL", StoreUrl::Postgres(db.url().to_owned()), &args).await?;
    }
    Ok(())
}
