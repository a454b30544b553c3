//! The demo's synthetic customers: now and then one of them writes on every platform, so
//! an agent who signs in sees work arrive without typing customers' messages themselves.

use std::net::SocketAddr;
use std::time::Duration;

use super::{APPLE_BUSINESS_ID, PAGE_ID};

/// Starts every platform's synthetic customers.
pub fn start(emulator: SocketAddr) {
    tokio::spawn(traffic(emulator));
    tokio::spawn(messenger_traffic(emulator));
    tokio::spawn(apple_traffic(emulator));
    tokio::spawn(whatsapp_traffic(emulator));
    tokio::spawn(x_traffic(emulator));
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

/// Synthetic WhatsApp customers writing to the demo number.
async fn whatsapp_traffic(emulator: SocketAddr) {
    const CUSTOMERS: &[(&str, &str, &str)] = &[
        (
            "Iris Kovač",
            "15550101010",
            "Hi! Has order 7781 left the warehouse?",
        ),
        (
            "João Silva",
            "5511987654321",
            "Vocês entregam no sábado? 🚚",
        ),
        (
            "Kim Park",
            "15550102020",
            "The zipper on my new bag broke 😕",
        ),
    ];
    let client = client();
    let url = format!("http://{emulator}/_emulator/whatsapp/messages");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(40)).await;
        let (name, from, text) = CUSTOMERS[i % CUSTOMERS.len()];
        let body = serde_json::json!({ "phone_number_id": super::WHATSAPP_PHONE_NUMBER_ID, "from": from,
            "name": name, "type": "text", "text": text });
        let _ = client.post(&url).json(&body).send().await;
    }
}

/// Synthetic tweets mentioning the demo keyword.
async fn x_traffic(emulator: SocketAddr) {
    const TWEETS: &[(&str, &str)] = &[
        (
            "lena_w",
            "acmecorp my parcel says delivered but it is not here 🤔",
        ),
        (
            "mo_builds",
            "Big thanks to acmecorp support, fixed in 5 minutes! 🙌",
        ),
        ("nina_r", "acmecorp do the winter boots run small?"),
    ];
    let client = client();
    let url = format!("http://{emulator}/_emulator/x/tweets");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(50)).await;
        let (handle, text) = TWEETS[i % TWEETS.len()];
        let body = serde_json::json!({ "author_handle": handle, "text": text, "lang": "en" });
        let _ = client.post(&url).json(&body).send().await;
    }
}

/// Synthetic customers: a new post now and then, and comments under it.
async fn traffic(emulator: SocketAddr) {
    const CUSTOMERS: &[(&str, &str)] = &[
        ("Ann Lee", "My order #1042 still hasn't shipped. Any news?"),
        ("Bo Chen", "Love the new jackets! Do you ship to Canada? 🇨🇦"),
        (
            "Chloé Martin",
            "La fermeture éclair de mon sac est cassée 😞",
        ),
        ("Dev Patel", "Is the store on Main St open on Sunday?"),
        ("Eva Novak", "Third time asking: where is my refund??"),
    ];
    let client = client();
    let url = format!("http://{emulator}/_emulator/facebook/comments");
    let mut i = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let (name, text) = CUSTOMERS[i % CUSTOMERS.len()];
        i += 1;
        let post = client
            .post(&url)
            .json(&serde_json::json!({ "page_id": PAGE_ID, "author_name": "Acme Outfitters", "author_id": PAGE_ID, "text": format!("Weekly update #{i}: new arrivals are in!") }))
            .send()
            .await;
        let Ok(post) = post else { continue };
        let Ok(body) = post.json::<serde_json::Value>().await else {
            continue;
        };
        let Some(post_id) = body["post_id"].as_str() else {
            continue;
        };
        let _ = client
            .post(&url)
            .json(&serde_json::json!({ "page_id": PAGE_ID, "post_id": post_id, "parent_id": post_id, "author_name": name, "text": text }))
            .send()
            .await;
    }
}

/// Synthetic Messenger customers: now and then one writes to the demo page, one of them
/// coming from an ad (its referral becomes metadata of the message).
async fn messenger_traffic(emulator: SocketAddr) {
    const CUSTOMERS: &[(&str, &str)] = &[
        (
            "Farah Haddad",
            "Hi, can I still return the boots I bought last week?",
        ),
        ("Gus Olsen", "Saw your ad: is the parka waterproof? 🧥"),
        ("Hana Sato", "配送状況を教えてください 📦"),
    ];
    let client = client();
    let url = format!("http://{emulator}/_emulator/messenger/messages");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(35)).await;
        let (name, text) = CUSTOMERS[i % CUSTOMERS.len()];
        let mut body = serde_json::json!({ "page_id": PAGE_ID, "name": name, "text": text });
        if i % CUSTOMERS.len() == 1 {
            body["referral"] = serde_json::json!({ "ref": "parka-spring", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD" });
        }
        let _ = client.post(&url).json(&body).send().await;
    }
}

/// Synthetic Apple Messages customers: now and then one writes to the demo business.
async fn apple_traffic(emulator: SocketAddr) {
    const TEXTS: &[&str] = &[
        "Hi! Can I change the size of my order #2210?",
        "Do you have the rain jacket in green? 🌧️",
        "Mon colis est arrivé abîmé 📦",
    ];
    let client = client();
    let url = format!("http://{emulator}/_emulator/apple/messages");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(45)).await;
        let body = serde_json::json!({ "business_id": APPLE_BUSINESS_ID, "source_id": format!("urn:mbid:demo-customer-{}", i % 3), "type": "text", "body": TEXTS[i % TEXTS.len()] });
        let _ = client.post(&url).json(&body).send().await;
    }
}
