//! Secrets never reach output: the userinfo of every URL in a text (`postgres://ci:hunter2@db`,
//! `https://AKIA...:secret@s3.example`) is replaced before the text is shown or stored, so a
//! password in `--database-url` or `AWS_ENDPOINT_URL` cannot end up in a CI log.

/// `text` with the password of every `scheme://user:password@host` replaced by `***` (and a
/// token-only userinfo, `scheme://token@host`, by `***` too).
pub fn urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find("://") {
        let (before, after) = rest.split_at(index + 3);
        out.push_str(before);
        // The authority ends at the first `/`, `?`, `#`, whitespace or quote.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#' | '`' | '\'' | '"' | '<' | '>') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) if !user.is_empty() => {
                        out.push_str(user);
                        out.push_str(":***");
                    }
                    _ => out.push_str("***"),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens_are_replaced() {
        assert_eq!(
            urls("could not open `postgres://ci:hunter2@db.internal:5432/slipway`: refused"),
            "could not open `postgres://ci:***@db.internal:5432/slipway`: refused"
        );
        assert_eq!(
            urls("GET https://ghp_token@github.com/org/repo failed"),
            "GET https://***@github.com/org/repo failed"
        );
        assert_eq!(
            urls("endpoint http://AKIA:sec%2Fret@127.0.0.1:5001, then s3://bucket/key"),
            "endpoint http://AKIA:***@127.0.0.1:5001, then s3://bucket/key"
        );
        assert_eq!(urls("no urls here: a@b and c://d"), "no urls here: a@b and c://d");
        assert_eq!(urls("mailto-like user@host://x"), "mailto-like user@host://x");
        assert_eq!(urls("https://a:b@c https://d:e@f"), "https://a:***@c https://d:***@f");
    }
}
