//! A progress bar on standard error for audits that run longer than a second,
//! drawn only on a terminal: piped output and CI logs stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use d2h_auditor::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const DELAY: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(80);

/// Draws the bar while alive; dropping it clears the bar.
pub struct ProgressGuard {
    finished: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Whether a bar may be drawn: standard error is a terminal and `--quiet` is off.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// Watches `progress`; after [`DELAY`] without finishing, shows a bar.
pub fn start(progress: Arc<Progress>, enabled: bool) -> ProgressGuard {
    let finished = Arc::new(AtomicBool::new(false));
    let thread = enabled.then(|| {
        let finished = Arc::clone(&finished);
        std::thread::spawn(move || draw(&progress, &finished))
    });
    ProgressGuard { finished, thread }
}

fn draw(progress: &Progress, finished: &AtomicBool) {
    let started = Instant::now();
    while started.elapsed() < DELAY {
        if finished.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(TICK);
    }
    let bar = ProgressBar::with_draw_target(
        Some(progress.total.load(Ordering::Relaxed) as u64),
        ProgressDrawTarget::stderr(),
    );
    let style = ProgressStyle::with_template("{spinner} auditing {pos}/{len} files {wide_bar} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    while !finished.load(Ordering::Relaxed) {
        bar.set_length(progress.total.load(Ordering::Relaxed) as u64);
        bar.set_position(progress.done.load(Ordering::Relaxed) as u64);
        std::thread::sleep(TICK);
    }
    bar.finish_and_clear();
}

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
