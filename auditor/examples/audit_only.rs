//! Runs a full audit with the system allocator and prints the summary (a profiling aid).
fn main() {
    let root = std::env::args().nth(1).expect("usage: audit_only DIR [THREADS]");
    let threads = std::env::args().nth(2).and_then(|t| t.parse().ok());
    let options = d2h_auditor::AuditOptions {
        threads,
        ..Default::default()
    };
    let outcome = d2h_auditor::audit(&[root.into()], &options).expect("audit");
    println!("{:?}", outcome.report.summary);
}
