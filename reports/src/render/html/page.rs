//! The page around the HTML reports: escaping, the document shell with its
//! inline style sheet and script, and the pieces the three pages share
//! (summary cards, the filter bar, bars in table cells).
//!
//! Everything the page needs is inline: no stylesheet, script, font or image
//! is fetched, and the page's Content-Security-Policy (`default-src 'none'`)
//! makes the browser refuse any request it would make anyway.

use std::fmt::{self, Write as _};

use d2h_rules::Severity;

/// Text made safe for HTML content and quoted attribute values: `&`, `<`,
/// `>`, `"` and `'` become entities, and control characters other than tab
/// and newline become `�` (as in the terminal renderers).
pub(crate) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_unsafe_control(c)) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or('\u{FFFD}');
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                _ => f.write_char('\u{FFFD}')?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

fn is_unsafe_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// The class and the label of a severity.
pub(crate) fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

/// A page under construction: its body is appended to, then wrapped.
pub(crate) struct Page {
    title: String,
    body: String,
}

impl Page {
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            body: String::new(),
        }
    }

    /// Appends markup (already escaped where it holds text).
    pub fn push(&mut self, html: impl AsRef<str>) {
        self.body.push_str(html.as_ref());
    }

    /// Appends formatted markup.
    pub fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        // Writing into a String cannot fail.
        let _ = self.body.write_fmt(args);
    }

    /// The whole document.
    pub fn finish(self) -> String {
        let mut doc = String::with_capacity(self.body.len() + STYLE.len() + SCRIPT.len() + 1024);
        doc.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        doc.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        doc.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n",
        );
        doc.push_str("<meta name=\"generator\" content=\"d2h ");
        doc.push_str(env!("CARGO_PKG_VERSION"));
        doc.push_str("\">\n");
        let _ = writeln!(doc, "<title>{}</title>", Esc(&self.title));
        doc.push_str("<style>\n");
        doc.push_str(STYLE);
        doc.push_str("</style>\n</head>\n<body>\n");
        doc.push_str(&self.body);
        doc.push_str("<script>\n");
        doc.push_str(SCRIPT);
        doc.push_str("</script>\n</body>\n</html>\n");
        doc
    }
}

/// One summary card: a figure and what it counts.
pub(crate) fn card(page: &mut Page, class: &str, value: impl fmt::Display, label: &str) {
    page.push_fmt(format_args!(
        "<div class=\"card {class}\"><span class=\"value\">{value}</span><span class=\"label\">{}</span></div>\n",
        Esc(label)
    ));
}

/// A horizontal bar of stacked segments, each `(class, count)`, scaled so
/// that `max` fills the cell.
pub(crate) fn bar(segments: &[(&str, usize)], max: usize) -> String {
    let mut html = String::from("<span class=\"bar\">");
    for (class, count) in segments {
        if *count == 0 || max == 0 {
            continue;
        }
        // Tenths of a percent, computed in integers: the same bytes on every machine.
        let permille = count * 1000 / max;
        let _ = write!(
            html,
            "<span class=\"seg {class}\" style=\"width:{}.{}%\" title=\"{count} {class}\"></span>",
            permille / 10,
            permille % 10
        );
    }
    html.push_str("</span>");
    html
}

/// One `<select>` of the filter bar.
pub(crate) struct Filter {
    /// The items' attribute is `data-NAME`.
    pub name: &'static str,
    pub label: &'static str,
    /// `(value, text)` of each option but "all".
    pub options: Vec<(String, String)>,
}

/// The filter bar: one `<select>` per filter; each item of the page carries
/// `data-NAME` attributes, and the script hides the items whose attribute
/// differs from a chosen option. `noun` names what is counted.
pub(crate) fn filters(page: &mut Page, noun: &str, total: usize, selects: &[Filter]) {
    page.push("<form class=\"filters\" id=\"filters\">\n");
    for Filter { name, label, options } in selects {
        page.push_fmt(format_args!(
            "<label>{} <select name=\"{name}\" id=\"filter-{name}\"><option value=\"\">all</option>",
            Esc(label)
        ));
        for (value, text) in options {
            page.push_fmt(format_args!("<option value=\"{}\">{}</option>", Esc(value), Esc(text)));
        }
        page.push("</select></label>\n");
    }
    page.push_fmt(format_args!(
        "<button type=\"reset\" id=\"filter-reset\">reset</button>\n<span class=\"shown\">showing <b id=\"shown\">{total}</b> of {total} {}</span>\n</form>\n",
        Esc(noun)
    ));
}

const STYLE: &str = r#":root { --critical: #c62828; --medium: #e08a00; --low: #2e7d32; --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header { padding: 18px 28px 8px; border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 2px 0; color: var(--muted); }
main { padding: 8px 28px 40px; max-width: 1280px; }
section { margin-top: 22px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; background: #fff; }
.card .value { display: block; font-size: 22px; font-weight: 600; }
.card .label { color: var(--muted); }
.card.critical .value { color: var(--critical); }
.card.medium .value { color: var(--medium); }
.card.low .value { color: var(--low); }
.sentence { font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-flex; width: 260px; height: 12px; background: var(--soft); border-radius: 2px; overflow: hidden; vertical-align: middle; }
.seg { display: block; height: 100%; }
.seg.critical, .seg.runtime-only { background: var(--critical); }
.seg.medium, .seg.static-only { background: var(--medium); }
.seg.low, .seg.confirmed, .seg.fixed { background: var(--low); }
.seg.new { background: var(--critical); }
.seg.known { background: #8c959f; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; }
.plot { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px; background: #fff; }
.plot svg { display: block; }
.note { color: var(--muted); }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.critical { background: var(--critical); }
.badge.medium { background: var(--medium); }
.badge.low { background: var(--low); }
.badge.other { background: #8c959f; }
.badge.new { background: var(--accent); }
.filters { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 14px; align-items: center; padding: 8px 10px; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
.filters select { max-width: 280px; }
.shown { margin-left: auto; color: var(--muted); }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.finding.critical { border-left-color: var(--critical); }
.finding.medium { border-left-color: var(--medium); }
.finding.low { border-left-color: var(--low); }
.finding h3 { margin: 0 0 6px; font-size: 14px; font-weight: 600; }
.finding .where { color: var(--muted); font-weight: 400; }
.finding dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0 0; }
.finding dt { color: var(--muted); }
.finding dd { margin: 0; }
pre.frame { margin: 4px 0; padding: 6px 0; background: var(--soft); border-radius: 4px; overflow-x: auto; }
pre.frame .ln { display: inline-block; min-width: 4.5em; padding: 0 10px 0 6px; text-align: right; color: var(--muted); user-select: none; }
pre.frame .site { background: #ffebe9; }
pre.frame mark { background: #ffd8b5; color: inherit; border-radius: 2px; }
button.file-link { border: 0; background: none; padding: 0; color: var(--accent); cursor: pointer; font: inherit; text-align: left; }
button.file-link:hover { text-decoration: underline; }
[hidden] { display: none !important; }
footer { margin-top: 30px; color: var(--muted); }
"#;

/// Filters: every element with `data-item` is shown when each chosen filter
/// equals its `data-NAME` attribute; buttons with `data-set-NAME` pick that
/// filter's value and bring the filters into view.
const SCRIPT: &str = r#"(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var selects = Array.prototype.slice.call(form.querySelectorAll("select"));
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
  var shown = document.getElementById("shown");
  function apply() {
    var count = 0;
    items.forEach(function (item) {
      var visible = selects.every(function (select) {
        return select.value === "" || item.getAttribute("data-" + select.name) === select.value;
      });
      item.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
  }
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  selects.forEach(function (select) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-set-" + select.name + "]"), function (button) {
      button.addEventListener("click", function () {
        select.value = button.getAttribute("data-set-" + select.name);
        apply();
        form.scrollIntoView({ block: "start" });
      });
    });
  });
  apply();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            Esc("</script><img src=x onerror='a(\"b\")'>&\x1b[1m\tok\n").to_string(),
            "&lt;/script&gt;&lt;img src=x onerror=&#39;a(&quot;b&quot;)&#39;&gt;&amp;\u{FFFD}[1m\tok\n"
        );
        assert_eq!(Esc("掩码：plain").to_string(), "掩码：plain");
    }

    #[test]
    fn bars_are_scaled_in_integers() {
        let html = bar(&[("critical", 1), ("medium", 0), ("low", 2)], 3);
        assert!(html.contains("seg critical\" style=\"width:33.3%\""), "{html}");
        assert!(html.contains("seg low\" style=\"width:66.6%\""), "{html}");
        assert!(!html.contains("medium"), "{html}");
        assert_eq!(bar(&[("critical", 5)], 0), "<span class=\"bar\"></span>");
    }
}
