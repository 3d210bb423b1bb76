//! Nothing in `pipeline/src` outside `transfer.rs` moves data between the
//! host and the device by itself: every device-to-host read and every upload
//! of host data must go through the transfer gate, and the candle ops that
//! upload host data on every call behind the gate's back (a comparison with a
//! host scalar, `cumsum`) are replaced by `device_ops`.
//! (Unit-test modules, from `#[cfg(test)]` to the end of a file, are exempt.)

use std::path::{Path, PathBuf};

/// Device-to-host reads. Allowed as gate methods (`gate.to_vec1(`).
const READS: &[&str] = &[
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

/// Host-to-device constructors and copies of host data, forbidden outright:
/// the gate's methods for them have other names (`upload_vec`,
/// `upload_slice`, `upload`). Making a tensor on the device from nothing
/// (`Tensor::zeros`, `Tensor::full`, `Tensor::arange`, `zeros_like`) is not
/// on the list.
const UPLOADS: &[&str] = &[
    "Tensor::new(",
    "Tensor::from_vec(",
    "Tensor::from_slice(",
    "Tensor::from_iter(",
    "Tensor::from_raw_buffer(",
    ".to_device(",
    "safetensors::load(",
    "from_mmaped_safetensors",
    "memcpy_htod",
    "memcpy_stod",
    "clone_htod",
    "htod_copy",
    "htod_sync_copy",
];

/// Tensor methods that, given a host scalar (`t.ge(0.5)`), upload it on every
/// call. Allowed with a tensor operand (`t.ge(&u)`: candle takes tensors by
/// reference), so only a first argument not starting with `&` is an offence.
const SCALAR_OPERAND: &[&str] = &[".ge(", ".gt(", ".le(", ".lt(", ".eq(", ".ne(", ".maximum(", ".minimum("];

/// candle ops that build host data and upload it on every call (`cumsum`
/// multiplies by a triangle made from a host-filled `arange`).
const HIDDEN_UPLOADS: &[&str] = &[".cumsum("];

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

/// `(line, pattern)` of every offence in `code`.
fn offences(code: &str) -> Vec<(usize, &'static str)> {
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for &pattern in READS {
        for (at, _) in code.match_indices(pattern) {
            if !via_gate(code, at) {
                out.push((line_of(at), pattern));
            }
        }
    }
    for &pattern in UPLOADS.iter().chain(HIDDEN_UPLOADS) {
        for (at, _) in code.match_indices(pattern) {
            out.push((line_of(at), pattern));
        }
    }
    for &pattern in SCALAR_OPERAND {
        for (at, _) in code.match_indices(pattern) {
            if !code[at + pattern.len()..].trim_start().starts_with('&') {
                out.push((line_of(at), pattern));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn only_the_transfer_gate_moves_data_between_host_and_device() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found {} files", files.len());
    let mut found = Vec::new();
    for file in files {
        if file.ends_with("transfer.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for (line, pattern) in offences(&code) {
            found.push(format!("{}:{line}: {pattern}", file.display()));
        }
    }
    assert!(found.is_empty(), "transfers outside the gate:\n{}", found.join("\n"));
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
    assert_eq!(offences(&code), vec![(1, ".to_vec1")]);
}

#[test]
fn the_checker_catches_a_direct_upload_and_allows_device_made_tensors() {
    let code = code_of(concat!(
        "let a = Tensor::new(&[1f32, 2.], &dev)?;\n",
        "let b = Tensor::from_vec(v, (2, 2), &dev)?;\n",
        "let c = candle_core::Tensor::from_slice(&v, 4, &dev)?;\n",
        "let d = host\n    .to_device(&dev)?;\n",
        "let e = safetensors::load(path, &dev)?;\n",
        "let z = Tensor::zeros((2, 2), DType::F32, &dev)?;\n",
        "let r = Tensor::arange(0u32, 4, &dev)?;\n",
        "let f = Tensor::full(1f32, 4, &dev)?.zeros_like()?;\n",
        "let g = gate.upload_vec(v, 4, &dev, SYMBOL, \"v\")?; // Tensor::from_vec\n",
        "let h = reader.upload(&host, &dev, SYMBOL, \"h\")?;\n",
    ));
    assert_eq!(
        offences(&code),
        vec![
            (1, "Tensor::new("),
            (2, "Tensor::from_vec("),
            (3, "Tensor::from_slice("),
            (5, ".to_device("),
            (6, "safetensors::load("),
        ]
    );
}

#[test]
fn the_checker_catches_host_scalar_operands_and_cumsum() {
    let code = code_of(concat!(
        "let a = t.ge(0.5)?;\n",
        "let b = t.ge(&u)?;\n",
        "let c = t\n    .le( f64::from(age))?;\n",
        "let d = t.broadcast_ge(&u)?.broadcast_minimum(&v)?;\n",
        "let e = t.ne(0f32)?.maximum(&z)?;\n",
        "let f = x.cumsum(0)?;\n",
        "let g = ge_const(&t, 0.5)?;\n",
        "let h = cumsum_1d(&x)?;\n",
    ));
    assert_eq!(
        offences(&code),
        vec![(1, ".ge("), (4, ".le("), (6, ".ne("), (7, ".cumsum(")]
    );
}
