//! The lexicon authority of an NSID (atproto "Lexicon Publication and Resolution").

use atauth_protocol::permission::is_valid_nsid;

/// The domain that publishes `nsid`: every segment but the final name, reversed and lower-cased
/// (`app.bsky.feed.post` -> `feed.bsky.app`). `None` when `nsid` is not a valid NSID.
pub fn authority(nsid: &str) -> Option<String> {
    if !is_valid_nsid(nsid) {
        return None;
    }
    let (domain, _name) = nsid.rsplit_once('.')?;
    let mut segments: Vec<&str> = domain.split('.').collect();
    segments.reverse();
    Some(segments.join(".").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert_eq!(
            authority("app.bsky.feed.post").as_deref(),
            Some("feed.bsky.app")
        );
        assert_eq!(
            authority("Com.Example.Auth").as_deref(),
            Some("example.com")
        );
        assert_eq!(authority("com.example"), None);
        assert_eq!(authority("not an nsid"), None);
    }
}
