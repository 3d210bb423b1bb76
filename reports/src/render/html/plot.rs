//! The HTML report's plots, drawn by plotters into SVG strings.
//!
//! plotters is built without its font features: text is laid out with its
//! fixed estimate of glyph widths and left to the browser's `sans-serif`, so
//! the SVG does not depend on the fonts of the machine that renders it, and
//! every coordinate is an integer pixel: the same bytes on every machine.

use std::io;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

/// Severity and comparison colours (the page's style sheet uses the same).
pub(crate) const CRITICAL: RGBColor = RGBColor(198, 40, 40);
pub(crate) const MEDIUM: RGBColor = RGBColor(224, 138, 0);
pub(crate) const LOW: RGBColor = RGBColor(46, 125, 50);
pub(crate) const ACCENT: RGBColor = RGBColor(9, 105, 218);
pub(crate) const PURPLE: RGBColor = RGBColor(130, 80, 223);
pub(crate) const GREY: RGBColor = RGBColor(140, 149, 159);

const WIDTH: u32 = 560;
const HEIGHT: u32 = 300;
/// Points drawn per line at most: longer runs are reduced to each bucket's
/// lowest and highest frame, so spikes survive.
const MAX_POINTS: usize = 1200;

fn draw_error<E: std::fmt::Display>(err: E) -> io::Error {
    io::Error::other(format!("cannot draw a plot: {err}"))
}

/// A series of stacked bars: its legend, colour and one value per category.
pub(crate) struct Stack<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub values: Vec<f64>,
}

/// A line over the frames of a run.
pub(crate) struct Line<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    /// One value per frame, frame 1 first.
    pub values: &'a [f64],
}

/// A horizontal dashed line (a percentile) across the whole run.
pub(crate) struct Level {
    pub label: String,
    pub color: RGBColor,
    pub value: f64,
}

/// The x axis of a bar chart: category `i` spans `i..i + 1`, and its label
/// sits at `i + 0.5` (plotters' segmented integer axes add an empty segment,
/// and misplace a single category).
struct Categories(usize);

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (span * value / self.0.max(1) as f64).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0.max(1) as f64
    }
}

/// A round upper bound for an axis that must show `max` (1 when nothing is above 0).
fn axis_top(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if max * 1.05 <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Bars, one per category, stacked from the series in order (the first at
/// the bottom); `y_label` formats the axis' values.
pub(crate) fn stacked_bars(
    title: &str,
    categories: &[String],
    stacks: &[Stack<'_>],
    y_desc: &str,
    y_label: &dyn Fn(f64) -> String,
) -> io::Result<String> {
    let n = categories.len().max(1);
    let total = |i: usize| {
        stacks
            .iter()
            .map(|s| s.values.get(i).copied().unwrap_or(0.0))
            .sum::<f64>()
    };
    let top = axis_top((0..n).map(total).fold(0.0, f64::max));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(72)
            .build_cartesian_2d(Categories(n), 0f64..top)
            .map_err(draw_error)?;
        let label_of = |v: &f64| categories.get(v.floor() as usize).cloned().unwrap_or_default();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .x_labels(n)
            .x_label_formatter(&label_of)
            .y_labels(6)
            .y_label_formatter(&|v| y_label(*v))
            .y_desc(y_desc)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        for (k, stack) in stacks.iter().enumerate() {
            let color = stack.color;
            let bars = (0..categories.len()).filter_map(|i| {
                let value = stack.values.get(i).copied().unwrap_or(0.0);
                if value <= 0.0 {
                    return None;
                }
                let base: f64 = stacks[..k]
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                    .sum();
                let x = i as f64;
                Some(Rectangle::new(
                    [(x + 0.12, base), (x + 0.88, base + value)],
                    color.filled(),
                ))
            });
            chart
                .draw_series(bars)
                .map_err(draw_error)?
                .label(stack.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        if stacks.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// `(frame, value)` points of `values` (frame 1 first), at most
/// [`MAX_POINTS`]: above that, each bucket of frames gives its lowest and
/// highest value, in frame order.
fn points(values: &[f64]) -> Vec<(f64, f64)> {
    if values.len() <= MAX_POINTS {
        return values.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)).collect();
    }
    let bucket = values.len().div_ceil(MAX_POINTS / 2);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for (b, chunk) in values.chunks(bucket).enumerate() {
        let first = b * bucket;
        let (mut lo, mut hi) = (0, 0);
        for (i, v) in chunk.iter().enumerate() {
            if *v < chunk[lo] {
                lo = i;
            }
            if *v > chunk[hi] {
                hi = i;
            }
        }
        for i in if lo <= hi { [lo, hi] } else { [hi, lo] } {
            out.push(((first + i + 1) as f64, chunk[i]));
        }
    }
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Values over the frames of a run: lines, dashed levels across the run,
/// and the warm-up frames shaded.
pub(crate) fn over_frames(
    title: &str,
    y_desc: &str,
    lines: &[Line<'_>],
    levels: &[Level],
    warmup: u64,
    y_label: &dyn Fn(f64) -> String,
) -> io::Result<String> {
    let frames = lines.iter().map(|l| l.values.len()).max().unwrap_or(0).max(2) as f64;
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .chain(levels.iter().map(|l| l.value))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    // Headroom above the highest value for the legend (upper right).
    let top = axis_top(max * 1.3);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(1f64..frames, 0f64..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .x_labels(8)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("frame")
            .y_labels(6)
            .y_label_formatter(&|v| y_label(*v))
            .y_desc(y_desc)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        if warmup > 0 {
            let end = (warmup as f64 + 0.5).min(frames);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(1.0, 0.0), (end, top)],
                    GREY.mix(0.15).filled(),
                )))
                .map_err(draw_error)?
                .label(format!("warm-up ({warmup} frames)"))
                .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], GREY.mix(0.3).filled()));
        }
        for line in lines {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(points(line.values), color.stroke_width(2)))
                .map_err(draw_error)?
                .label(line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
        }
        for level in levels {
            let color = level.color;
            let style = color.stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new(
                    [(1.0, level.value), (frames, level.value)],
                    6,
                    4,
                    style,
                ))
                .map_err(draw_error)?
                .label(level.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_and_above_the_maximum() {
        assert_eq!(axis_top(0.0), 1.0);
        assert_eq!(axis_top(f64::NAN), 1.0);
        assert_eq!(axis_top(7.0), 8.0);
        assert_eq!(axis_top(23.0), 25.0);
        assert_eq!(axis_top(100.0), 120.0);
        for max in [0.3, 4.9, 57.0, 1234.5, 9.9e9] {
            assert!(axis_top(max) >= max, "{max}");
        }
    }

    #[test]
    fn long_runs_keep_each_buckets_extremes() {
        let short = [1.0, 5.0, 2.0];
        assert_eq!(points(&short), vec![(1.0, 1.0), (2.0, 5.0), (3.0, 2.0)]);
        let mut long = vec![1.0; 100_000];
        long[54_321] = 99.0;
        long[77_777] = -3.0;
        let reduced = points(&long);
        assert!(reduced.len() <= MAX_POINTS, "{}", reduced.len());
        assert!(reduced.contains(&(54_322.0, 99.0)));
        assert!(reduced.contains(&(77_778.0, -3.0)));
        assert!(reduced.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn plots_are_svg_and_the_same_twice() {
        let categories = vec!["D2H001".to_string(), "D2H002".to_string()];
        let stacks = [
            Stack {
                label: "critical",
                color: CRITICAL,
                values: vec![3.0, 1.0],
            },
            Stack {
                label: "low",
                color: LOW,
                values: vec![0.0, 2.0],
            },
        ];
        let draw = || stacked_bars("by rule", &categories, &stacks, "findings", &|v| format!("{v:.0}")).unwrap();
        let svg = draw();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(">\nD2H002\n</text>"), "{svg}");
        // One label per category, none empty; one bar per value above 0
        // (and one legend swatch per series).
        assert_eq!(svg.matches(">\nD2H001\n</text>").count(), 1, "{svg}");
        assert!(!svg.contains(">\n\n</text>"), "{svg}");
        assert_eq!(svg.matches("fill=\"#C62828\" stroke=\"none\"").count(), 2 + 1, "{svg}");
        assert_eq!(svg.matches("fill=\"#2E7D32\" stroke=\"none\"").count(), 1 + 1, "{svg}");
        // A single category is labelled in the middle of the plot.
        let one = stacked_bars("one", &categories[..1], &stacks[..1], "findings", &|v| {
            format!("{v:.0}")
        })
        .unwrap();
        let label = one.find(">\nD2H001\n</text>").unwrap();
        let tag = &one[one[..label].rfind("<text x=\"").unwrap() + 9..];
        let x: i32 = tag[..tag.find('"').unwrap()].parse().unwrap();
        assert!((300..=360).contains(&x), "{x}: {one}");
        assert_eq!(svg, draw());
        let values = [2.0, 3.0, 2.5];
        let line = over_frames(
            "latency",
            "ms",
            &[Line {
                label: "latency",
                color: ACCENT,
                values: &values,
            }],
            &[Level {
                label: "p50 2.5 ms".into(),
                color: PURPLE,
                value: 2.5,
            }],
            1,
            &|v| format!("{v:.1}"),
        )
        .unwrap();
        assert!(line.contains("<polyline"), "{line}");
        assert!(line.contains("\np50 2.5 ms\n"), "{line}");
    }
}
