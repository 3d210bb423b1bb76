//! Frame sources.
//!
//! [`SyntheticVideo`] draws a deterministic video on the device: a fixed
//! textured background and sprite colours (generated from the seed on the
//! host and uploaded once, when the video is built) and a few coloured discs
//! and rectangles that bounce around and occlude each other. Each frame is
//! built from device ops whose parameters are kernel arguments, so producing a
//! frame reads nothing back and uploads nothing.
//!
//! [`StillImage`] decodes an image file (binary PPM `P6` or PGM `P5`) once on
//! the host, uploads it once, resizes it on the device to the pipeline's size
//! and then serves that frame.
//!
//! Those uploads go through a transfer [`Gate`] (D2H007): the pipeline's
//! (`with_gate`, `open_with_gate`: recorded in its setup phase, in its
//! report) or the source's own (`new`, `open`), which [`SyntheticVideo::gate`]
//! and [`StillImage::gate`] return.

use std::fmt;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::device_ops::{arange_on_device, le_const};
use crate::error::{PipelineError, Result};
use crate::summary::TensorSummary;
use crate::symbol;
use crate::transfer::Gate;
use crate::weights::SplitMix64;
use crate::MAX_SIZE;

/// Anything that hands out `(1, 3, S, S)` f32 frames in `[0, 1]` on a device.
pub trait FrameSource {
    fn next_frame(&mut self) -> Result<Tensor>;
}

#[derive(Debug, Clone)]
enum Kind {
    Disc { radius: f64 },
    Rect { half_w: f64, half_h: f64 },
}

#[derive(Clone)]
struct Sprite {
    kind: Kind,
    colour: Tensor,
    start: (f64, f64),
    velocity: (f64, f64),
}

/// A deterministic synthetic video of moving, occluding shapes.
#[derive(Clone)]
pub struct SyntheticVideo {
    size: usize,
    xs: Tensor,
    ys: Tensor,
    background: Tensor,
    sprites: Vec<Sprite>,
    frame: u64,
    gate: Gate,
}

impl fmt::Debug for Sprite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sprite")
            .field("kind", &self.kind)
            .field("colour", &TensorSummary(&self.colour))
            .field("start", &self.start)
            .field("velocity", &self.velocity)
            .finish()
    }
}

impl fmt::Debug for SyntheticVideo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyntheticVideo")
            .field("size", &self.size)
            .field("background", &TensorSummary(&self.background))
            .field("sprites", &self.sprites)
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

/// A source's frame side: `16..=MAX_SIZE` (checked before anything is allocated).
fn check_source_size(name: &'static str, size: usize) -> Result<()> {
    if !(16..=MAX_SIZE).contains(&size) {
        return Err(PipelineError::OutOfRange {
            name,
            value: size,
            expected: format!("from 16 to {MAX_SIZE}"),
        });
    }
    Ok(())
}

/// Bounces `start + velocity * t` inside `[lo, hi]` (a triangle wave).
fn bounce(start: f64, velocity: f64, t: f64, lo: f64, hi: f64) -> f64 {
    let span = (hi - lo).max(1e-9);
    let p = (start - lo + velocity * t).rem_euclid(2.0 * span);
    lo + if p > span { 2.0 * span - p } else { p }
}

impl SyntheticVideo {
    /// `shapes` sprites on `size × size` frames, all derived from `seed`; the
    /// uploads are recorded in a gate of the video's own.
    pub fn new(size: usize, shapes: usize, seed: u64, device: &Device) -> Result<Self> {
        Self::with_gate(size, shapes, seed, device, &Gate::new())
    }

    /// [`SyntheticVideo::new`], recording the uploads in `gate` (a
    /// pipeline's, so that they show in its report).
    pub fn with_gate(size: usize, shapes: usize, seed: u64, device: &Device, gate: &Gate) -> Result<Self> {
        check_source_size("video size", size)?;
        let mut rng = SplitMix64::new(seed);
        let s = size as f64;
        let coords = arange_on_device(size, DType::F32, device)?;
        let xs = coords
            .reshape((1, 1, 1, size))?
            .broadcast_as((1, 1, size, size))?
            .contiguous()?;
        let ys = coords
            .reshape((1, 1, size, 1))?
            .broadcast_as((1, 1, size, size))?
            .contiguous()?;
        // A smooth gradient plus a little seeded texture, built once on the host.
        let mut bg = Vec::with_capacity(3 * size * size);
        for c in 0..3 {
            for y in 0..size {
                for x in 0..size {
                    let g = 0.15 + 0.2 * (x + y * (c + 1)) as f64 / (s * (c as f64 + 2.0));
                    bg.push((g + 0.05 * rng.next_f64()) as f32);
                }
            }
        }
        let background = gate.upload_vec(bg, (1, 3, size, size), device, symbol!(), "background")?; // d2h-site: setup-video-background
        let sprites = (0..shapes)
            .map(|i| {
                let kind = if i % 2 == 0 {
                    Kind::Disc {
                        radius: s * (0.06 + 0.08 * rng.next_f64()),
                    }
                } else {
                    Kind::Rect {
                        half_w: s * (0.05 + 0.1 * rng.next_f64()),
                        half_h: s * (0.05 + 0.1 * rng.next_f64()),
                    }
                };
                let colour: Vec<f32> = (0..3).map(|_| (0.3 + 0.7 * rng.next_f64()) as f32).collect();
                let colour = gate.upload_vec(colour, (1, 3, 1, 1), device, symbol!(), "sprite colour")?; // d2h-site: setup-video-colour
                let colour = colour.broadcast_as((1, 3, size, size))?.contiguous()?;
                let speed = s / 64.0;
                Ok(Sprite {
                    kind,
                    colour,
                    start: (s * rng.next_f64(), s * rng.next_f64()),
                    velocity: (
                        speed * (2.0 * rng.next_f64() - 1.0) * 2.0,
                        speed * (2.0 * rng.next_f64() - 1.0) * 2.0,
                    ),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SyntheticVideo {
            size,
            xs,
            ys,
            background,
            sprites,
            frame: 0,
            gate: gate.clone(),
        })
    }

    /// The gate the video's uploads were recorded in.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The frame side.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Frame `t` (independent of the frames drawn before).
    pub fn frame(&self, t: u64) -> Result<Tensor> {
        let s = self.size as f64;
        let mut frame = self.background.clone();
        for sprite in &self.sprites {
            let cx = bounce(sprite.start.0, sprite.velocity.0, t as f64, 0.0, s - 1.0);
            let cy = bounce(sprite.start.1, sprite.velocity.1, t as f64, 0.0, s - 1.0);
            let dx = self.xs.affine(1.0, -cx)?;
            let dy = self.ys.affine(1.0, -cy)?;
            let inside = match sprite.kind {
                Kind::Disc { radius } => le_const(&(dx.sqr()? + dy.sqr()?)?, radius * radius)?,
                Kind::Rect { half_w, half_h } => (le_const(&dx.abs()?, half_w)? * le_const(&dy.abs()?, half_h)?)?,
            };
            let inside = inside.broadcast_as((1, 3, self.size, self.size))?;
            frame = inside.where_cond(&sprite.colour, &frame)?;
        }
        Ok(frame)
    }
}

impl FrameSource for SyntheticVideo {
    fn next_frame(&mut self) -> Result<Tensor> {
        let frame = self.frame(self.frame)?;
        self.frame += 1;
        Ok(frame)
    }
}

/// One image, decoded once and served as every frame.
#[derive(Clone)]
pub struct StillImage {
    frame: Tensor,
    gate: Gate,
}

impl fmt::Debug for StillImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StillImage")
            .field("frame", &TensorSummary(&self.frame))
            .finish_non_exhaustive()
    }
}

impl StillImage {
    /// Loads a binary PPM (`P6`) or PGM (`P5`) file with maxval ≤ 255 and
    /// resizes it (bilinear, on the device) to `size × size`; the upload is
    /// recorded in a gate of the image's own.
    pub fn open(path: &Path, size: usize, device: &Device) -> Result<Self> {
        Self::open_with_gate(path, size, device, &Gate::new())
    }

    /// [`StillImage::open`], recording the upload in `gate` (a pipeline's,
    /// so that it shows in its report).
    pub fn open_with_gate(path: &Path, size: usize, device: &Device, gate: &Gate) -> Result<Self> {
        check_source_size("image frame size", size)?;
        let bytes = std::fs::read(path)?;
        let bad = |message: String| PipelineError::Image {
            path: path.display().to_string(),
            message,
        };
        let Netpbm {
            channels,
            width,
            height,
            maxval,
            pixels,
        } = decode_netpbm(&bytes).map_err(bad)?;
        let image = gate.upload_slice(pixels, (height, width, channels), device, symbol!(), "image")?; // d2h-site: setup-still-image
                                                                                                       // Samples run from 0 to the file's maxval (not always 255).
        let image = image
            .permute((2, 0, 1))?
            .to_dtype(DType::F32)?
            .affine(1.0 / maxval as f64, 0.0)?
            .unsqueeze(0)?;
        let image = if channels == 1 {
            image.broadcast_as((1, 3, height, width))?.contiguous()?
        } else {
            image
        };
        let frame = image.upsample_bilinear2d(size, size, false)?;
        Ok(StillImage {
            frame,
            gate: gate.clone(),
        })
    }

    /// The gate the image's upload was recorded in.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The frame.
    pub fn frame(&self) -> &Tensor {
        &self.frame
    }
}

impl FrameSource for StillImage {
    fn next_frame(&mut self) -> Result<Tensor> {
        Ok(self.frame.clone())
    }
}

/// A decoded binary PPM/PGM header and its pixel bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Netpbm<'a> {
    channels: usize,
    width: usize,
    height: usize,
    /// The largest sample value, `1..=255`: samples scale by `1 / maxval`.
    maxval: usize,
    pixels: &'a [u8],
}

/// Decodes a binary PPM (`P6`) or PGM (`P5`) with one byte per sample.
/// Every size derived from the header is checked: a header announcing more
/// pixels than the file holds, or sizes whose sum overflows, is an error.
fn decode_netpbm(bytes: &[u8]) -> std::result::Result<Netpbm<'_>, String> {
    let channels = match bytes.get(..2) {
        Some(b"P6") => 3,
        Some(b"P5") => 1,
        _ => return Err("not a binary PPM (P6) or PGM (P5) file".to_string()),
    };
    let mut at = 2;
    let mut fields = [0usize; 3];
    for field in &mut fields {
        // Skip whitespace and comments.
        loop {
            match bytes.get(at) {
                Some(b) if b.is_ascii_whitespace() => at += 1,
                Some(b'#') => {
                    while bytes.get(at).is_some_and(|&b| b != b'\n') {
                        at += 1;
                    }
                }
                _ => break,
            }
        }
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        *field = std::str::from_utf8(&bytes[start..at])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "malformed header".to_string())?;
    }
    let [width, height, maxval] = fields;
    if width == 0 || height == 0 {
        return Err("empty image".to_string());
    }
    if maxval == 0 || maxval > 255 {
        return Err(format!("maxval {maxval} is not supported (1..=255)"));
    }
    // Exactly one whitespace byte separates the header from the pixels.
    if !bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        return Err("malformed header: no whitespace after maxval".to_string());
    }
    at += 1;
    let too_large = || format!("image too large: {width} x {height} x {channels} samples");
    let len = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .ok_or_else(too_large)?;
    let end = at.checked_add(len).ok_or_else(too_large)?;
    let pixels = bytes.get(at..end).ok_or_else(|| {
        format!(
            "truncated: expected {len} bytes of pixels, the file has {}",
            bytes.len() - at
        )
    })?;
    Ok(Netpbm {
        channels,
        width,
        height,
        maxval,
        pixels,
    })
}
