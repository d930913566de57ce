//! The loop shared by the string encoders (`jsonencode` text in `policies.rs`, HCL literals in
//! `render.rs`): most of a string needs no escape, so runs of such bytes are copied whole and
//! only the characters between them are looked at one by one.
//!
//! **Why not a loop over characters** (the complexity budget): measured with `cargo xtask
//! bench --compare` at 10,000 accounts (median of 5 round-robin rounds, every core, one run),
//! escaping character by character, with the folded printable-ASCII scan of
//! `headroom_schemas::text::has_invisible` replaced by `chars().any(..)` too, made the whole
//! `analyze` 30.7% slower (3.58 s to 4.68 s): placement measures every statement it considers,
//! carve-out lists included, in `jsonencode` text.

/// Appends `s` to `out`: runs of bytes for which `plain` holds are copied as they are, and
/// every other character goes to `escape` with the text after it (for lookahead). `plain`
/// must hold only for ASCII bytes, so that runs end on character boundaries.
pub(crate) fn escape_runs(
    s: &str,
    out: &mut String,
    plain: impl Fn(u8) -> bool,
    mut escape: impl FnMut(char, &str, &mut String),
) {
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest.bytes().position(|b| !plain(b)).unwrap_or(rest.len());
        out.push_str(&rest[..run]);
        rest = &rest[run..];
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        escape(c, rest, out);
    }
}
