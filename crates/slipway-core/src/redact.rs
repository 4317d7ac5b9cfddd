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

/// The shortest secret that is masked: shorter values (`1`, `us`) would mask ordinary text.
pub const MIN_SECRET_LEN: usize = 4;

/// Replaces known secret values with `***` in a stream of bytes (a job's output), also when a
/// value is split across two chunks: the last few bytes of each chunk wait for the next.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<Vec<u8>>,
    pending: Vec<u8>,
}

impl Masker {
    /// A masker of `secrets` (values shorter than [`MIN_SECRET_LEN`] are left out).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Masker {
        let mut secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .map(|secret| secret.as_ref().as_bytes().to_vec())
            .filter(|secret| secret.len() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Masker { secrets, pending: Vec::new() }
    }

    /// Whether it masks anything.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `chunk` masked, less the bytes that may start a secret the next chunk ends.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        let (masked, kept) = self.mask(false);
        self.pending = kept;
        masked
    }

    /// The rest, masked.
    pub fn finish(&mut self) -> Vec<u8> {
        let (masked, _) = self.mask(true);
        self.pending.clear();
        masked
    }

    /// Text masked at once.
    pub fn text(&self, text: &str) -> String {
        let mut masker = self.clone();
        masker.pending.clear();
        let mut out = masker.push(text.as_bytes());
        out.extend(masker.finish());
        String::from_utf8_lossy(&out).into_owned()
    }

    fn mask(&self, all: bool) -> (Vec<u8>, Vec<u8>) {
        let data = &self.pending;
        let longest = self.secrets.first().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(data.len());
        let mut index = 0;
        while index < data.len() {
            if let Some(secret) = self.secrets.iter().find(|secret| data[index..].starts_with(secret)) {
                out.extend_from_slice(b"***");
                index += secret.len();
                continue;
            }
            // Near the end, a secret may be cut: keep the bytes that could start one.
            if !all && data.len() - index < longest {
                let tail = &data[index..];
                if self
                    .secrets
                    .iter()
                    .any(|secret| secret.starts_with(tail) || tail.starts_with(&secret[..secret.len().min(tail.len())]))
                {
                    return (out, tail.to_vec());
                }
            }
            out.push(data[index]);
            index += 1;
        }
        (out, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_across_chunks() {
        let mut masker = Masker::new(["s3cret-value", "AKIA1234", "no"]);
        let mut out = masker.push(b"key=AKIA12");
        out.extend(masker.push(b"34 and s3cret-"));
        out.extend(masker.push(b"value; no change\n"));
        out.extend(masker.finish());
        assert_eq!(String::from_utf8(out).expect("utf-8"), "key=*** and ***; no change\n");
        assert_eq!(masker.text("a s3cret-value b"), "a *** b");
        assert_eq!(Masker::new(Vec::<String>::new()).push(b"plain"), b"plain");
    }

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
