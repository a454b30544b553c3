//! Attachment files in an S3-compatible bucket (`[media.s3]`), against moto's local S3
//! server: a customer's photo is downloaded into the bucket and served from it, an
//! agent's file goes into it and reaches the platform whole, and nothing half-written or
//! temporary stays behind; the folder is not used at all.

use serde_json::json;
use sha2::Digest;
use switchboard::media::scratch::ScratchBucket;

use crate::attachments::{attachments, picked_up, png, raw_get, reply_with_file};
use crate::harness::{World, wait_until};
use crate::messenger::messenger_says;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_the_bucket_both_ways() {
    let bucket = tokio::task::spawn_blocking(ScratchBucket::create)
        .await
        .unwrap()
        .expect("a local S3 bucket (moto)");
    let s3 = bucket.config();
    let world = World::start(|c| c.media.s3 = Some(s3)).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Bo", "text": "see the dent",
                "attachments": [{"type": "image"}] }),
    )
    .await;
    let id = picked_up(&agent).await;
    let list = attachments(&agent, id, true).await;
    assert_eq!(list[0]["state"], "stored", "{list:?}");
    let original = world
        .http
        .get(format!(
            "http://{}/_emulator/meta-cdn/photo.png",
            world.emulator_addr
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let served = raw_get(
        &world,
        list[0]["url"].as_str().unwrap(),
        Some(agent.token()),
    )
    .await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(
        served.bytes().await.unwrap(),
        original,
        "served whole from the bucket"
    );

    let (status, sent) = reply_with_file(&world, &agent, id, "private", "label.png", png()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent", "{sent}");
    let uploads: serde_json::Value = world.emulator_json("/_emulator/messenger/uploads").await;
    assert_eq!(
        uploads[0]["sha256"],
        hex::encode(sha2::Sha256::digest(png())),
        "the agent's file reached the platform whole from the bucket"
    );

    // Both files are in the bucket under their hash, and once the downloads settle (the
    // page's echo of the agent's image is fetched too, as the same bytes) nothing
    // temporary stays; the data folder holds no media at all.
    let hash = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
    let mut expected = vec![
        format!("switchboard/{}/{}", &hash(&original)[..2], hash(&original)),
        format!("switchboard/{}/{}", &hash(&png())[..2], hash(&png())),
    ];
    expected.sort();
    let bucket = std::sync::Arc::new(bucket);
    let keys = wait_until("the bucket holds both files and nothing else", || {
        let (bucket, expected) = (bucket.clone(), expected.clone());
        async move {
            let keys = tokio::task::spawn_blocking(move || bucket.keys().unwrap())
                .await
                .unwrap();
            (keys == expected).then_some(keys)
        }
    })
    .await;
    assert_eq!(keys, expected);
    assert!(
        !world._dir.path().join("data/media").exists(),
        "no file went to the folder"
    );
}
