//! The assignment kernel on the GPU (feature `cuda`): a batch of 64 problems
//! of 300 × 300 timed with CUDA events, and the problems and the kernel's
//! answers written out so `benches/lsa_scipy.py` can check them against
//! `scipy.optimize.linear_sum_assignment` and time scipy on the same data.
//!
//!     lsa_gpu OUT_DIR [BATCH ROWS COLS RUNS SAMPLE]
//!
//! Writes OUT_DIR/bench.bin (the timed batch) and OUT_DIR/sample.bin (SAMPLE,
//! default 1,000,
//! problems of varied shapes with ties and forbidden pairs), each a sequence
//! of problems `rows: u32, cols: u32, costs: rows*cols f32, answer: rows i64`
//! (little endian), and OUT_DIR/bench.json with the timings.

#[cfg(not(feature = "cuda"))]
fn main() {
    eprintln!("lsa_gpu needs the `cuda` feature (scripts/build-cuda.sh --tests)");
    std::process::exit(2);
}

#[cfg(feature = "cuda")]
fn main() {
    if let Err(e) = gpu::main() {
        eprintln!("lsa_gpu: {e}");
        std::process::exit(1);
    }
}

#[cfg(feature = "cuda")]
#[path = "../tests/common/rng.rs"]
mod rng;

#[cfg(feature = "cuda")]
mod gpu {
    use std::io::Write;
    use std::path::PathBuf;

    use candle_core::cuda_backend::cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT;
    use candle_core::{Device, Tensor};
    use d2h_pipeline::matcher::lsa::AssignOp;
    use d2h_pipeline::matcher::FORBIDDEN;

    use crate::rng::Rng;

    type Error = Box<dyn std::error::Error>;

    fn arg(args: &[String], i: usize, default: usize) -> Result<usize, Error> {
        match args.get(i) {
            Some(s) => s.parse().map_err(|_| format!("argument {i}: not a count: {s}").into()),
            None => Ok(default),
        }
    }

    fn write_problems(
        out: &mut impl Write,
        rows: usize,
        cols: usize,
        costs: &[f32],
        answers: &[i64],
    ) -> std::io::Result<()> {
        for (b, answer) in answers.chunks(rows).enumerate() {
            out.write_all(&(rows as u32).to_le_bytes())?;
            out.write_all(&(cols as u32).to_le_bytes())?;
            for c in &costs[b * rows * cols..(b + 1) * rows * cols] {
                out.write_all(&c.to_le_bytes())?;
            }
            for a in answer {
                out.write_all(&a.to_le_bytes())?;
            }
        }
        Ok(())
    }

    fn solve_on(dev: &Device, costs: &[f32], shape: (usize, usize, usize)) -> Result<Vec<i64>, Error> {
        let t = Tensor::from_slice(costs, shape, &Device::Cpu)?.to_device(dev)?;
        let out = t.apply_op1_no_bwd(&AssignOp { forbidden: FORBIDDEN })?;
        Ok(out.flatten_all()?.to_vec1::<i64>()?)
    }

    pub fn main() -> Result<(), Error> {
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        let dir = PathBuf::from(
            args.first()
                .ok_or("usage: lsa_gpu OUT_DIR [BATCH ROWS COLS RUNS SAMPLE]")?,
        );
        let batch = arg(&args, 1, 64)?;
        let rows = arg(&args, 2, 300)?;
        let cols = arg(&args, 3, 300)?;
        let runs = arg(&args, 4, 20)?;
        let sample_problems = arg(&args, 5, 1000)?;
        std::fs::create_dir_all(&dir)?;
        let dev = Device::new_cuda(0)?;
        let Device::Cuda(cuda) = &dev else { unreachable!() };
        let stream = cuda.cuda_stream();

        // The timed batch: uniform costs in [0, 1), as scipy's own benchmarks use.
        let mut rng = Rng(0x00c0_ffee_1234_5678);
        let costs: Vec<f32> = (0..batch * rows * cols).map(|_| rng.unit()).collect();
        let input = Tensor::from_slice(&costs, (batch, rows, cols), &Device::Cpu)?.to_device(&dev)?;
        let op = AssignOp { forbidden: FORBIDDEN };
        // Warm-up: NVRTC compile and module load happen on the first launch.
        let compile = std::time::Instant::now();
        let first = input.apply_op1_no_bwd(&op)?;
        stream.synchronize()?;
        let first_ms = compile.elapsed().as_secs_f64() * 1e3;
        drop(first);
        let mut times = Vec::with_capacity(runs);
        let mut answer = None;
        for _ in 0..runs {
            let start = stream.record_event(Some(CU_EVENT_DEFAULT))?;
            let out = input.apply_op1_no_bwd(&op)?;
            let end = stream.record_event(Some(CU_EVENT_DEFAULT))?;
            times.push(f64::from(start.elapsed_ms(&end)?));
            answer = Some(out);
        }
        times.sort_by(f64::total_cmp);
        let answers = answer.ok_or("no runs")?.flatten_all()?.to_vec1::<i64>()?;
        let mut bench = std::io::BufWriter::new(std::fs::File::create(dir.join("bench.bin"))?);
        write_problems(&mut bench, rows, cols, &costs, &answers)?;
        bench.flush()?;

        // The sample: problems of varied shapes and cost styles.
        let mut sample = std::io::BufWriter::new(std::fs::File::create(dir.join("sample.bin"))?);
        let mut written = 0;
        while written < sample_problems {
            let (b, r, c) = (10, 1 + rng.below(120) as usize, 1 + rng.below(120) as usize);
            let style = rng.below(3);
            let data: Vec<f32> = (0..b * r * c)
                .map(|_| match style {
                    0 => rng.unit() * 100.0,
                    1 => rng.below(4) as f32,
                    _ if rng.below(3) == 0 => FORBIDDEN,
                    _ => rng.unit(),
                })
                .collect();
            let answers = solve_on(&dev, &data, (b, r, c))?;
            write_problems(&mut sample, r, c, &data, &answers)?;
            written += b;
        }
        sample.flush()?;

        let median = times[times.len() / 2];
        let json = format!(
            "{{\"batch\": {batch}, \"rows\": {rows}, \"cols\": {cols}, \"runs\": {runs}, \
             \"gpu_ms_median\": {median:.4}, \"gpu_ms_min\": {:.4}, \"gpu_ms_max\": {:.4}, \
             \"first_launch_ms\": {first_ms:.1}, \"sample_problems\": {written}}}\n",
            times[0],
            times[times.len() - 1]
        );
        std::fs::write(dir.join("bench.json"), &json)?;
        print!("{json}");
        Ok(())
    }
}
