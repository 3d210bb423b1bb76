//! Counts the facts the Python front end keeps for a tree (a profiling aid, not a test).
fn main() {
    let root = std::env::args().nth(1).expect("usage: fact_stats DIR");
    let policy = d2h_auditor::Policy::default();
    let (mut files, mut calls, mut sites, mut functions, mut args) = (0, 0, 0, 0, 0);
    for e in ignore::WalkBuilder::new(&root).build().flatten() {
        if e.path().extension().is_some_and(|x| x == "py") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if let Ok(facts) = d2h_auditor::python::analyze("x.py", &text, &policy) {
                files += 1;
                calls += facts.calls.len();
                sites += facts.sites.len();
                functions += facts.functions.len();
                args += facts.calls.iter().map(|c| c.args.len()).sum::<usize>();
            }
        }
    }
    println!("files {files} functions {functions} calls {calls} (args kept {args}) sites {sites}");
    println!(
        "size_of CallSite {} Site {} FunctionFacts {}",
        std::mem::size_of::<d2h_auditor::model::CallSite>(),
        std::mem::size_of::<d2h_auditor::model::Site>(),
        std::mem::size_of::<d2h_auditor::model::FunctionFacts>()
    );
}
