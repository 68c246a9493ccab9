//! The reports put in the output artifact: the run as JSON, and a self-contained HTML page (what will run
//! or ran, the findings, the timings), like the forecast and deploy reports of the tool this replaces.

use crate::deploy::{Report, Status};
use crate::render;

pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page with no external resources.
pub fn html(report: &Report) -> String {
    let title = format!("db-deploy {} — {}", report.mode.as_str(), escape(&report.target));
    let status_class = match report.status {
        Status::Ok => "ok",
        Status::Paused => "warn",
        Status::RulesFailed | Status::Invalid | Status::MigrationFailed => "bad",
    };
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse;margin:1rem 0}}\
         td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}\
         .ok{{color:#17692e}}.warn{{color:#8a5a00}}.bad{{color:#a4161a}}code{{font-family:ui-monospace,monospace}}\
         </style></head><body>\n<h1>{title}</h1>\n<p class=\"{status_class}\"><strong>{}</strong></p>\n\
         <p>Engine: {} · schema before: {} · schema now: {} · total {} ms</p>\n",
        escape(&render::summary(report)),
        report.dialect,
        escape(report.version_before.as_deref().unwrap_or("none")),
        escape(report.schema_version.as_deref().unwrap_or("none")),
        report.total_millis
    );
    if !report.problems.is_empty() {
        page.push_str("<h2>History problems</h2>\n<ul>\n");
        for problem in &report.problems {
            page.push_str(&format!("<li>{}</li>\n", escape(problem)));
        }
        page.push_str("</ul>\n");
    }
    page.push_str(&format!(
        "<h2>Forecast</h2>\n<p>{} scripts, {} statements: {} errors, {} warnings, {} suppressed.</p>\n",
        report.forecast.scripts,
        report.forecast.statements,
        report.forecast.errors(),
        report.forecast.warnings(),
        report.forecast.suppressed.len()
    ));
    if !report.forecast.findings.is_empty() || !report.forecast.suppressed.is_empty() {
        page.push_str("<table><tr><th>Severity</th><th>File:line</th><th>Rule</th><th>Message</th></tr>\n");
        for f in &report.forecast.findings {
            let class = if f.severity == crate::forecast::Severity::Error { "bad" } else { "warn" };
            page.push_str(&format!(
                "<tr><td class=\"{class}\">{}</td><td><code>{}:{}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
                f.severity,
                escape(&f.file),
                f.line,
                f.rule_id,
                escape(&f.message)
            ));
        }
        for s in &report.forecast.suppressed {
            let f = &s.finding;
            page.push_str(&format!(
                "<tr><td>suppressed</td><td><code>{}:{}</code></td><td><code>{}</code></td><td>{} (reason: {})</td></tr>\n",
                escape(&f.file),
                f.line,
                f.rule_id,
                escape(&f.message),
                escape(&s.reason)
            ));
        }
        page.push_str("</table>\n");
    }
    let ran: Vec<&str> = report.applied.iter().map(|s| s.script.as_str()).collect();
    page.push_str("<h2>Migrations</h2>\n<table><tr><th>Migration</th><th>Script</th><th>Statements</th><th>Transaction</th><th>State</th><th>Time</th></tr>\n");
    for step in &report.pending {
        let applied = report.applied.iter().find(|a| a.migration == step.migration);
        let failed = report.failure.as_ref().is_some_and(|f| f.migration == step.migration);
        let (state, class) = match (applied, failed) {
            (Some(_), _) => ("applied", "ok"),
            (None, true) => ("failed", "bad"),
            (None, false) if ran.is_empty() && report.mode != crate::deploy::Mode::Deploy => ("would run", ""),
            (None, false) => ("not applied", "warn"),
        };
        page.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{class}\">{state}</td><td>{}</td></tr>\n",
            escape(&step.migration),
            escape(&step.script),
            step.statements,
            if step.in_transaction { "yes" } else { "no" },
            applied.and_then(|a| a.millis).map(|ms| format!("{ms} ms")).unwrap_or_default()
        ));
    }
    page.push_str("</table>\n");
    if let Some(failure) = &report.failure {
        page.push_str(&format!(
            "<h2 class=\"bad\">Failure</h2>\n<p><code>{}:{}</code>: {}</p>\n",
            escape(&failure.script),
            failure.line,
            escape(&failure.error)
        ));
    }
    page.push_str("</body></html>\n");
    page
}
