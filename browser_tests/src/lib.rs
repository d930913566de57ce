//! Nothing but tests: `tests/report_html.rs` opens `report.html` in headless Chromium. See the
//! test's module doc for what it needs (`chromium`, `chromedriver`) and how it finds them.
