//! Times parse-only over a tree, for comparison with a full audit (not a test).
use std::time::Instant;
fn main() {
    let root = std::env::args().nth(1).expect("usage: parse_only DIR");
    let mut files = Vec::new();
    for e in ignore::WalkBuilder::new(&root).build().flatten() {
        if e.path().extension().is_some_and(|x| x == "py") {
            files.push(std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    let t = Instant::now();
    let mut n = 0;
    for f in &files {
        if ruff_python_parser::parse_module(f).is_ok() {
            n += 1;
        }
    }
    println!("parsed {n}/{} files in {:?} (1 thread)", files.len(), t.elapsed());
}
