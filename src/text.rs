//! Text for people: how untrusted or arbitrary strings are written into
//! output (a shell command line, ...). Every output format's escaping rule
//! belongs here, applied where the output is written.

/// A word quoted for a POSIX shell when it needs it (rerun commands, a
/// runtime's command line), so that it can be pasted into a terminal.
///
/// ```
/// use wasi_conform::text::shell_word;
/// assert_eq!(shell_word("suites/fs::read"), "suites/fs::read");
/// assert_eq!(shell_word("my file"), "'my file'");
/// assert_eq!(shell_word("it's"), r#"'it'\''s'"#);
/// ```
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
