//! Progress on stderr: an indicatif spinner on a terminal, plain lines elsewhere.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget};

use crate::config::Progress;

/// Shows what seed is doing.
#[derive(Debug)]
pub(crate) struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Reporter {
    pub fn new(mode: Progress) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        match mode {
            Progress::Quiet => Reporter {
                bar: None,
                plain: false,
            },
            Progress::Auto if tty => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(120));
                Reporter {
                    bar: Some(bar),
                    plain: false,
                }
            }
            Progress::Auto | Progress::Plain => Reporter {
                bar: None,
                plain: true,
            },
        }
    }

    /// The step now in progress.
    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        } else if self.plain {
            eprintln!("seed: {message}");
        }
    }

    /// A step done (kept on screen).
    pub fn done(&self, message: impl Into<String>) {
        let message = message.into();
        if let Some(bar) = &self.bar {
            bar.println(format!("✓ {message}"));
        } else if self.plain {
            eprintln!("seed: ✓ {message}");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}
