//! The progress display: a spinner on stderr, only when stderr is a terminal and not
//! `--quiet`, so pipes and CI logs stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `work`, redrawing `status()` on stderr ten times a second meanwhile (when shown).
pub fn with_progress<T>(quiet: bool, status: impl Fn() -> String + Sync, work: impl FnOnce() -> T) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return work();
    }
    let done = AtomicBool::new(false);
    /// Stops the spinner however `work` ends: a panic must not leave the scope waiting for it.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            while !done.load(Ordering::Relaxed) {
                bar.set_message(status());
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let _stop = StopOnDrop(&done);
        work()
    })
}
