//! `[media]`: where attachment files are kept (a folder, or an S3-compatible bucket with
//! `[media.s3]`) and how large they may be.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;

/// `[media]`: attachment files the host downloads from the platforms and agents send.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// The folder files are kept in, by content hash (default: `media` in
    /// `[server] data_dir`). Hosts sharing a PostgreSQL store must share it too (a
    /// mounted network folder), since any host may download a file and any may serve it;
    /// or they keep files in a bucket (`[media.s3]`), which replaces the folder.
    pub dir: Option<PathBuf>,
    /// The largest file downloaded or accepted from an agent, in MiB (default 100, the
    /// largest document WhatsApp carries).
    #[serde(default = "default_media_max_mib")]
    pub max_mib: u64,
    /// This host's address as the platforms reach it (`https://support.example.com`), for
    /// platforms that take an agent's file by link rather than by upload (Instagram): the
    /// host then gives them a signed link that works for one hour. Unset: such platforms
    /// take no files. Overridden by `SWITCHBOARD_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// Keep files in an S3-compatible bucket instead of `dir`.
    pub s3: Option<S3Config>,
}

fn default_media_max_mib() -> u64 {
    100
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            dir: None,
            max_mib: default_media_max_mib(),
            public_url: None,
            s3: None,
        }
    }
}

/// `[media.s3]`: an S3-compatible bucket (Amazon S3, MinIO, Ceph, Cloudflare R2...) every
/// host of a cluster reaches.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket, which must exist.
    pub bucket: String,
    /// The service's address for a store other than Amazon's
    /// (`https://minio.example.com:9000`); requests then name the bucket in the path.
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// A folder in the bucket to keep the files under (default: the bucket's top).
    #[serde(default)]
    pub prefix: String,
    /// The access key; `env:NAME` reads it from the environment. Unset (with the secret):
    /// the standard `AWS_*` variables, then the machine's role.
    pub access_key_id: Option<String>,
    /// The secret key; `env:NAME` reads it from the environment.
    pub secret_access_key: Option<String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "withheld"),
            )
            .finish()
    }
}

impl MediaConfig {
    /// Reads `env:` references of the bucket's keys.
    pub(super) fn resolve_env(&mut self) -> Result<()> {
        if let Some(s3) = self.s3.as_mut() {
            for (name, value) in [
                ("access_key_id", &mut s3.access_key_id),
                ("secret_access_key", &mut s3.secret_access_key),
            ] {
                if let Some(v) = value.as_mut() {
                    *v = super::resolve_env(v)
                        .map_err(|e| anyhow::anyhow!("[media.s3] {name}: {e:#}"))?;
                }
            }
        }
        Ok(())
    }

    /// What can be checked before starting.
    pub(super) fn validate(&self) -> Result<()> {
        if let Some(url) = &self.public_url {
            let parsed = reqwest::Url::parse(url).map_err(|_| {
                anyhow::anyhow!(
                    "[media] public_url `{url}` is not an address such as https://support.example.com"
                )
            })?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
                bail!(
                    "[media] public_url `{url}` must be an http(s) address such as https://support.example.com"
                );
            }
        }
        let Some(s3) = &self.s3 else { return Ok(()) };
        if s3.bucket.trim().is_empty() {
            bail!("[media.s3] bucket is empty: name the bucket the files go in");
        }
        if let Some(endpoint) = &s3.endpoint {
            let ok = reqwest::Url::parse(endpoint)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                bail!(
                    "[media.s3] endpoint `{endpoint}` must be an http(s) address such as https://minio.example.com:9000"
                );
            }
        }
        if s3.access_key_id.is_some() != s3.secret_access_key.is_some() {
            bail!(
                "[media.s3] access_key_id and secret_access_key go together: set both, or neither to use the AWS_* variables or the machine's role"
            );
        }
        if self.dir.is_some() {
            bail!(
                "[media] dir and [media.s3] both say where files go: keep one (files go in the bucket with [media.s3])"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(toml_text: &str) -> Result<MediaConfig> {
        let mut m: MediaConfig = toml::from_str(toml_text)?;
        m.resolve_env()?;
        m.validate()?;
        Ok(m)
    }

    #[test]
    fn a_bucket_is_read_checked_and_its_secret_never_printed() {
        let m = media(
            r#"
            [s3]
            bucket = "files"
            endpoint = "http://127.0.0.1:9000"
            access_key_id = "id"
            secret_access_key = "very-secret"
            "#,
        )
        .unwrap();
        let s3 = m.s3.as_ref().unwrap();
        assert_eq!((s3.region.as_str(), s3.prefix.as_str()), ("us-east-1", ""));
        assert!(!format!("{m:?}").contains("very-secret"));

        let refused = |text: &str| media(text).unwrap_err().to_string();
        assert!(refused("[s3]\nbucket = \" \"").contains("bucket is empty"));
        assert!(
            refused("[s3]\nbucket = \"b\"\nendpoint = \"minio:9000\"").contains("http(s) address")
        );
        assert!(refused("[s3]\nbucket = \"b\"\naccess_key_id = \"id\"").contains("go together"));
        assert!(refused("dir = \"/srv/media\"\n[s3]\nbucket = \"b\"").contains("keep one"));
        assert!(
            refused("[s3]\nbucket = \"b\"\nsecret_access_key = \"env:SWITCHBOARD_NO_SUCH_VAR\"\naccess_key_id = \"x\"")
                .contains("SWITCHBOARD_NO_SUCH_VAR")
        );
        assert!(
            media("[s3]\nbucket = \"b\"\nregoin = \"x\"").is_err(),
            "unknown keys are refused"
        );
    }
}
