//! Nothing in `pipeline/src` outside `transfer.rs` calls candle's host-read
//! APIs: every device-to-host read must go through the transfer gate.
//! (Unit-test modules, from `#[cfg(test)]` to the end of a file, are exempt.)

use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    ".to_vec0",
    ".to_vec1",
    ".to_vec2",
    ".to_vec3",
    ".to_scalar",
    "to_device(&Device::Cpu)",
    "to_device(&candle_core::Device::Cpu)",
    ".synchronize(",
    "safetensors::save",
    ".save_safetensors(",
    "memcpy_dtov",
    "memcpy_dtoh",
    "dtoh_sync_copy",
    "clone_dtoh",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A gate method call (`gate.to_vec1(`, `log.to_scalar(`, `reader.to_vec2(`,
/// also split over lines by rustfmt) is allowed: the receiver is the gate or
/// one of its readers.
fn via_gate(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end();
    ["gate", "log", "reader"]
        .iter()
        .any(|receiver| before.ends_with(receiver))
}

/// The file's code: up to its `#[cfg(test)]` module, `//` comments blanked.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

#[test]
fn only_the_transfer_gate_reads_the_device() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found {} files", files.len());
    let mut offences = Vec::new();
    for file in files {
        if file.ends_with("transfer.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for pattern in FORBIDDEN {
            for (at, _) in code.match_indices(pattern) {
                if !via_gate(&code, at) {
                    let line = code[..at].matches('\n').count() + 1;
                    offences.push(format!("{}:{line}: {pattern}", file.display()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "host reads outside the gate:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_checker_catches_a_direct_read() {
    let code = code_of(
        "let v = scores.to_vec1::<f32>()?;\nlet w = self\n    .gate\n    .to_vec1::<f32>(&s)?;\n// x.to_scalar()\n",
    );
    let hits: Vec<bool> = code
        .match_indices(".to_vec1")
        .map(|(at, _)| via_gate(&code, at))
        .collect();
    assert_eq!(hits, vec![false, true]);
    assert!(!code.contains("to_scalar"));
    let tests = code_of("fn f() {}\n#[cfg(test)]\nmod tests { x.to_vec1() }\n");
    assert!(!tests.contains("to_vec1"));
}
