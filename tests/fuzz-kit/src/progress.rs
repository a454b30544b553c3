//! A progress bar per parser for long local runs (`progress` feature), else nothing.
//! The fuzz tests of one binary run in parallel: their bars share one `MultiProgress`.

#[cfg(feature = "progress")]
static BARS: std::sync::OnceLock<indicatif::MultiProgress> = std::sync::OnceLock::new();

/// Shows how many cases ran, on stderr, when asked for and built with `progress`.
pub(crate) struct Bar {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn new(name: &str, total: u64, wanted: bool) -> Bar {
        #[cfg(feature = "progress")]
        {
            let bar = wanted.then(|| {
                let style = indicatif::ProgressStyle::with_template(
                    "{prefix:>16} {bar:30} {pos}/{len} cases {per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                let bar = indicatif::ProgressBar::new(total)
                    .with_style(style)
                    .with_prefix(name.to_string());
                BARS.get_or_init(indicatif::MultiProgress::new).add(bar)
            });
            Bar { bar }
        }
        #[cfg(not(feature = "progress"))]
        Bar {}
    }

    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn set(&self, done: u64) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    pub(crate) fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
