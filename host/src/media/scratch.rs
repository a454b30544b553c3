//! A throwaway S3-compatible bucket for tests: a local `moto_server` (moto, from PyPI) on
//! a free loopback port with one empty bucket, stopped when the handle is dropped.
//! `cargo xtask test` installs moto and says where it is in `SWITCHBOARD_MOTO_SERVER`;
//! otherwise `moto_server` must be on `PATH`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::config::S3Config;

/// A local S3 service with one bucket of its own.
pub struct ScratchBucket {
    child: Child,
    port: u16,
    bucket: String,
}

impl ScratchBucket {
    /// Starts the service and creates an empty bucket.
    pub fn create() -> Result<ScratchBucket> {
        let server =
            std::env::var("SWITCHBOARD_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting `{server}`: the bucket tests need moto's S3 server \
                     (`cargo xtask test` installs it; or `pip install 'moto[server]'` \
                     and put moto_server on PATH, or name it in SWITCHBOARD_MOTO_SERVER)"
                )
            })?;
        let bucket = format!("switchboard-test-{:08x}", rand::random::<u32>());
        let mut scratch = ScratchBucket {
            child,
            port,
            bucket,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = scratch.child.try_wait()? {
                bail!("`{server}` stopped at start ({status})");
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("`{server}` did not answer on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let path = format!("/{}", scratch.bucket);
        let (status, _) = scratch.request("PUT", &path)?;
        if status != 200 {
            bail!("creating the bucket answered {status}");
        }
        Ok(scratch)
    }

    /// `[media.s3]` for this bucket, with the keys moto takes.
    pub fn config(&self) -> S3Config {
        S3Config {
            bucket: self.bucket.clone(),
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: "us-east-1".into(),
            prefix: "switchboard".into(),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
        }
    }

    /// The names of every object in the bucket, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        let (status, body) = self.request("GET", &format!("/{}?list-type=2", self.bucket))?;
        if status != 200 {
            bail!("listing the bucket answered {status}");
        }
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_owned()))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// One plain HTTP/1.1 request (moto takes unsigned ones): status and body.
    fn request(&self, method: &str, path: &str) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("an answer without a status")?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}

impl Drop for ScratchBucket {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
