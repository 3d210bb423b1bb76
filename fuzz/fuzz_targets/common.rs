//! Shared by the front-end targets: run one file through a front end and the
//! project pass the way `d2h audit` does.

use std::sync::Arc;

use d2h_auditor::model::FileFacts;
use d2h_auditor::project::Project;
use d2h_auditor::python::AnalysisError;
use d2h_auditor::{source, Policy};

/// The stack `d2h audit` gives its analysis threads (`ANALYSIS_STACK_BYTES`):
/// the fuzzer's own main thread has far less, and would overflow on inputs the
/// binary handles.
const STACK_BYTES: usize = 256 * 1024 * 1024;

type Analyze = fn(&str, &str, &Policy) -> Result<FileFacts, AnalysisError>;

/// Decodes `data` like a file read from disk, analyses it as `path`, and on
/// success computes its findings (suppression comments included).
pub fn run(data: &[u8], path: &'static str, analyze: Analyze) {
    let Ok(text) = source::decode(data.to_vec()) else {
        return;
    };
    let worker = std::thread::Builder::new().stack_size(STACK_BYTES).spawn(move || {
        let policy = Policy::default();
        match analyze(path, &text, &policy) {
            Ok(facts) => {
                let files = [facts];
                let project = Project::new(&files, &policy);
                let shared: Arc<str> = Arc::from(text.as_str());
                let findings = project.findings(0, &|| Some(Arc::clone(&shared)));
                for f in &findings {
                    assert!(f.line >= 1 && f.column >= 1, "{f:?}");
                    assert!(
                        (f.end_line, f.end_column) >= (f.line, f.column),
                        "end before start: {f:?}"
                    );
                }
            }
            Err(err) => {
                assert!(err.line >= 1 && err.column >= 1, "{err:?}");
                assert!(!err.to_string().is_empty());
            }
        }
    });
    // A panic in the worker is the finding: re-raise it on the fuzzer's thread.
    if let Err(panic) = worker.expect("spawn").join() {
        std::panic::resume_unwind(panic);
    }
}
