//! Text from snapshots, configurations and the command line made safe to show on one line.
//!
//! Names and IDs in a snapshot come from AWS and from whoever wrote the file, and error
//! messages quote them. Shown raw, a newline would forge a second line, an ANSI escape would
//! drive the terminal, and a bidirectional override (U+202E) would reorder what the reader
//! sees (Trojan Source). [`escape_invisible`] is the one function every such text goes
//! through before it reaches a terminal or a comment: the binaries' error lines, the stdout
//! summary, the organization overview and Terraform comments. [`usage_line`] makes a command
//! line parser's error one such line.

use std::fmt::Write as _;

/// Characters shown as escapes: every control character (C0 with newline, tab and ESC, DEL,
/// C1), line and paragraph separators, zero-width characters, the bidirectional marks,
/// embeddings, overrides and isolates, and the byte-order mark and interlinear annotations.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061c}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Whether `s` holds a character [`is_invisible`] escapes (printable ASCII never does).
pub fn has_invisible(s: &str) -> bool {
    // Folded without stopping early, so that the compiler checks many bytes at a time: the
    // texts are nearly always printable ASCII, read to the end either way.
    let printable = s
        .bytes()
        .fold(true, |all, b| all & (0x20..0x7f).contains(&b));
    !printable && s.chars().any(is_invisible)
}

/// `s` with every [`is_invisible`] character shown as a `\u{..}` escape (hex code point), so
/// the text shows what it holds, on one line.
pub fn escape_invisible(s: &str) -> String {
    if !has_invisible(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_invisible(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A command-line parser's multi-line error text (clap's rendering: the error, tips, the
/// usage and "For more information") as one escaped line without the `error: ` prefix: the
/// message, its tips after `; `, and `(try '--help')`.
pub fn usage_line(rendered: &str) -> String {
    // The usage block runs from its `Usage:` line to the next blank line (a command with
    // subcommands has one usage line per form).
    let mut in_usage = false;
    let mut lines = rendered.lines().map(str::trim).filter(|l| {
        if l.starts_with("Usage:") {
            in_usage = true;
        } else if l.is_empty() {
            in_usage = false;
        }
        !in_usage && !l.is_empty() && !l.starts_with("For more information")
    });
    let first = lines.next().unwrap_or("invalid command line");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    for tip in lines {
        line.push_str("; ");
        line.push_str(tip);
    }
    line.push_str(" (try '--help')");
    escape_invisible(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ansi_and_bidi_characters_are_escaped() {
        assert_eq!(escape_invisible("plain `text`"), "plain `text`");
        assert_eq!(
            escape_invisible("a\nb\r\tc\u{1b}[31mred\u{7f}\u{85}"),
            "a\\u{a}b\\u{d}\\u{9}c\\u{1b}[31mred\\u{7f}\\u{85}"
        );
        assert_eq!(
            escape_invisible("ou-\u{202e}evil\u{2066}\u{200b}\u{feff}é"),
            "ou-\\u{202e}evil\\u{2066}\\u{200b}\\u{feff}é"
        );
    }
}
