//! How long a session lives, and whether it still honours an access token. A session is live
//! as `Session::is_live` (atauth-store) says, the one definition, which the refresh decision and
//! introspection use as is.

use crate::admin::settings::Policies;
use atauth_store::Session;

/// When a session created at `now` ends: `(expires_at, refresh_expires_at)` (checklist 101,
/// profile section 1). A public client's session has a hard end, the cooperative's
/// `public_session_lifetime_secs` after sign-in, which is also its refresh deadline; a
/// confidential client's has none, and its refresh token lapses after
/// `confidential_refresh_inactivity_secs` without a refresh ([`refresh_inactivity_deadline`]).
pub fn new_session_deadlines(
    confidential: bool,
    policies: &Policies,
    now: i64,
) -> (Option<i64>, i64) {
    match refresh_inactivity_deadline(confidential, policies, now) {
        Some(deadline) => (None, deadline),
        None => {
            let end = now + policies.public_session_lifetime_secs;
            (Some(end), end)
        }
    }
}

/// The refresh deadline a refresh at `now` moves a session to: confidential clients only
/// (`None`: a public session's deadline never moves; the store caps it at the session's end).
pub fn refresh_inactivity_deadline(
    confidential: bool,
    policies: &Policies,
    now: i64,
) -> Option<i64> {
    confidential.then_some(now + policies.confidential_refresh_inactivity_secs)
}

/// Whether `session` honours an access token issued at `iat` (checklist 102): the session is
/// live as [`Session::is_live`] says, but for one deliberate difference, and no refresh has
/// replaced the token since (after a refresh the previous access token is refused; a refresh
/// retried within the grace window mints tokens at or after `rotated_at`, which stay valid).
///
/// The difference: the refresh deadline does not cut an access token short. That deadline
/// bounds when the session may be *refreshed*; a token issued before it stays valid for its own
/// lifetime (its `exp`, which never passes the session's end, checked by the verifier).
pub fn honours_access_token(session: &Session, iat: i64, now: i64) -> bool {
    let live_but_for_the_refresh_deadline =
        session.revoked_at.is_none() && session.expires_at.is_none_or(|end| end > now);
    live_but_for_the_refresh_deadline && session.rotated_at.is_none_or(|rotated| iat >= rotated)
}

/// A live public session of `client-a` bound to DPoP key `dpop-key`, created before `now`,
/// never rotated, ending at `now + 600`, refreshable until `now + 300`: what the rules' unit
/// tests vary.
#[cfg(test)]
pub(crate) fn test_session(now: i64) -> Session {
    Session {
        id: "sid".into(),
        account_id: "acct".into(),
        did: "did:web:alice.test".into(),
        client_id: "client-a".into(),
        request_id: "req".into(),
        dpop_jkt: "dpop-key".into(),
        scope: "atproto".into(),
        client_key_thumbprint: None,
        refresh_hash: Some("current".into()),
        previous_refresh_hash: None,
        rotated_at: None,
        expires_at: Some(now + 600),
        refresh_expires_at: now + 300,
        created_at: now - 100,
        revoked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 10_000;

    fn session() -> Session {
        test_session(NOW)
    }

    #[test]
    fn a_public_session_ends_hard_and_a_confidential_one_lapses_without_refresh() {
        let policies = Policies {
            public_session_lifetime_secs: 14 * 86_400,
            confidential_refresh_inactivity_secs: 90 * 86_400,
            ..Policies::default()
        };
        let end = NOW + 14 * 86_400;
        assert_eq!(
            new_session_deadlines(false, &policies, NOW),
            (Some(end), end)
        );
        assert_eq!(refresh_inactivity_deadline(false, &policies, NOW + 5), None);
        let lapse = NOW + 90 * 86_400;
        assert_eq!(new_session_deadlines(true, &policies, NOW), (None, lapse));
        assert_eq!(
            refresh_inactivity_deadline(true, &policies, NOW + 5),
            Some(lapse + 5)
        );
    }

    #[test]
    fn agrees_with_is_live_until_the_refresh_deadline() {
        let variants = [
            session(),
            Session {
                expires_at: None,
                ..session()
            },
            Session {
                revoked_at: Some(NOW),
                ..session()
            },
        ];
        for session in &variants {
            for now in [NOW, NOW + 299, NOW + 300, NOW + 599, NOW + 600, NOW + 900] {
                let honoured = honours_access_token(session, NOW, now);
                if now < session.refresh_expires_at {
                    assert_eq!(honoured, session.is_live(now), "{session:?} at {now}");
                } else {
                    // The named difference: past the refresh deadline, not past the session's end.
                    let ended = session.revoked_at.is_some()
                        || session.expires_at.is_some_and(|end| end <= now);
                    assert_eq!(honoured, !ended, "{session:?} at {now}");
                }
            }
        }
    }

    #[test]
    fn a_refresh_replaces_the_access_tokens_issued_before_it() {
        let rotated = Session {
            rotated_at: Some(NOW + 50),
            ..session()
        };
        assert!(!honours_access_token(&rotated, NOW + 49, NOW + 60));
        assert!(honours_access_token(&rotated, NOW + 50, NOW + 60));
        assert!(honours_access_token(&rotated, NOW + 55, NOW + 60));
    }

    #[test]
    fn an_ended_session_honours_nothing() {
        let public = session();
        assert!(honours_access_token(&public, NOW, NOW + 599));
        assert!(!honours_access_token(&public, NOW, NOW + 600));
        let revoked = Session {
            revoked_at: Some(NOW + 1),
            ..session()
        };
        assert!(!honours_access_token(&revoked, NOW, NOW + 2));
    }
}
