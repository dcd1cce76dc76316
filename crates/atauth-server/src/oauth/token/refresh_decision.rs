//! The refresh decision (RFC 6749 section 6, RFC 9700 section 4.14.2; checklists 97 to 101):
//! what a presented refresh token leads to, once the store has said whose token it is.

use super::Presenter;
use atauth_protocol::constants::REFRESH_RETRY_GRACE_SECS;
use atauth_store::Session;

/// The answer to a session's current refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentToken {
    /// Rotate it: the successor replaces it (checklist 97).
    Rotate,
    /// Refuse (`invalid_grant`); the session stays as it is.
    Refuse(&'static str),
    /// Revoke the session and refuse (`invalid_grant`): the token is in the wrong hands.
    Revoke(&'static str),
}

/// The answer to a session's current refresh token presented by `presenter` at `now`: another
/// client is refused (checklist 99), so is a session that is not live (`Session::is_live`:
/// checklists 100, 101); another DPoP key or client key revokes the session (reference rule).
/// `Rotate` exactly when the store's bound rotation (`BoundRotation::matches`) would have
/// rotated it in one statement.
pub fn current_token(session: &Session, presenter: &Presenter<'_>, now: i64) -> CurrentToken {
    if session.client_id != presenter.client_id {
        return CurrentToken::Refuse("This refresh token was issued to another client");
    }
    if !session.is_live(now) {
        return CurrentToken::Refuse("This session has ended; sign in again");
    }
    if session.dpop_jkt != presenter.dpop_jkt {
        return CurrentToken::Revoke(
            "The DPoP key differs from the one the session is bound to; the session has been revoked",
        );
    }
    if session.client_key_thumbprint.as_deref() != presenter.client_key_thumbprint {
        return CurrentToken::Revoke(
            "The client authenticated with another key than at sign-in; the session has been revoked",
        );
    }
    CurrentToken::Rotate
}

/// The answer to a session's previous refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousToken {
    /// A retry of the rotation that just happened (its answer was lost): answer the same
    /// successor again.
    AnswerAgain,
    /// Reuse: the token leaked, so the whole session ends (checklist 98).
    Revoke,
}

/// The refusal that goes with [`PreviousToken::Revoke`] (and with an older token's reuse).
pub const REUSED: &str = "This refresh token was already used; the session has been revoked";

/// The answer to a session's previous refresh token: a retry if the same client presents it
/// with the same DPoP and client keys within [`REFRESH_RETRY_GRACE_SECS`] of the rotation, the
/// successor (`successor_hash`, derived from the presented token) is still the session's
/// current token, and the session is live; any other use is reuse (checklist 98).
pub fn previous_token(
    session: &Session,
    presenter: &Presenter<'_>,
    successor_hash: &str,
    now: i64,
) -> PreviousToken {
    let is_retry = presenter.is_bound_to(session)
        && session
            .rotated_at
            .is_some_and(|rotated| now - rotated <= REFRESH_RETRY_GRACE_SECS)
        && session.refresh_hash.as_deref() == Some(successor_hash)
        && session.is_live(now);
    if is_retry {
        PreviousToken::AnswerAgain
    } else {
        PreviousToken::Revoke
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_rules::test_session;
    use atauth_store::BoundRotation;

    const NOW: i64 = 10_000;

    /// A live session, rotated 10 s ago to the successor of the presented token.
    fn session() -> Session {
        Session {
            refresh_hash: Some("successor".into()),
            previous_refresh_hash: Some("previous".into()),
            rotated_at: Some(NOW - 10),
            expires_at: Some(NOW + 3_600),
            refresh_expires_at: NOW + 3_600,
            ..test_session(NOW)
        }
    }

    fn presenter() -> Presenter<'static> {
        Presenter {
            client_id: "client-a",
            dpop_jkt: "dpop-key",
            client_key_thumbprint: None,
        }
    }

    /// Presenters other than the session's: another client, DPoP key or client key.
    fn strangers() -> [Presenter<'static>; 3] {
        [
            Presenter {
                client_id: "client-b",
                ..presenter()
            },
            Presenter {
                dpop_jkt: "thief-key",
                ..presenter()
            },
            Presenter {
                client_key_thumbprint: Some("client-key"),
                ..presenter()
            },
        ]
    }

    #[test]
    fn the_bound_client_rotates_a_live_session() {
        assert_eq!(
            current_token(&session(), &presenter(), NOW),
            CurrentToken::Rotate
        );
    }

    #[test]
    fn another_client_or_an_ended_session_is_refused_without_revoking() {
        let other = Presenter {
            client_id: "client-b",
            ..presenter()
        };
        assert_eq!(
            current_token(&session(), &other, NOW),
            CurrentToken::Refuse("This refresh token was issued to another client")
        );
        let ended = [
            Session {
                revoked_at: Some(NOW - 1),
                ..session()
            },
            Session {
                expires_at: Some(NOW),
                ..session()
            },
            Session {
                refresh_expires_at: NOW,
                ..session()
            },
        ];
        for session in ended {
            assert_eq!(
                current_token(&session, &presenter(), NOW),
                CurrentToken::Refuse("This session has ended; sign in again")
            );
        }
    }

    #[test]
    fn another_dpop_key_or_client_key_revokes_the_session() {
        let thief = Presenter {
            dpop_jkt: "thief-key",
            ..presenter()
        };
        assert!(matches!(
            current_token(&session(), &thief, NOW),
            CurrentToken::Revoke(reason) if reason.starts_with("The DPoP key differs")
        ));
        let other_key = Presenter {
            client_key_thumbprint: Some("client-key"),
            ..presenter()
        };
        assert!(matches!(
            current_token(&session(), &other_key, NOW),
            CurrentToken::Revoke(reason) if reason.starts_with("The client authenticated")
        ));
    }

    #[test]
    fn rotation_agrees_with_the_stores_bound_rotation() {
        let [a, b, c] = strangers();
        for presenter in &[presenter(), a, b, c] {
            for at in [NOW, NOW + 3_599, NOW + 3_600, NOW + 7_200] {
                for revoked_at in [None, Some(NOW - 1)] {
                    let session = Session {
                        revoked_at,
                        ..session()
                    };
                    let bound = BoundRotation {
                        new_hash: "next".into(),
                        now: at,
                        client_id: presenter.client_id.into(),
                        dpop_jkt: presenter.dpop_jkt.into(),
                        client_key_thumbprint: presenter.client_key_thumbprint.map(Into::into),
                        inactivity_deadline: None,
                    };
                    assert_eq!(
                        current_token(&session, presenter, at) == CurrentToken::Rotate,
                        bound.matches(&session),
                        "{presenter:?} at {at}, revoked {revoked_at:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_retry_within_the_grace_window_is_answered_again() {
        let rotated = NOW - 10;
        for at in [rotated, rotated + REFRESH_RETRY_GRACE_SECS] {
            assert_eq!(
                previous_token(&session(), &presenter(), "successor", at),
                PreviousToken::AnswerAgain,
                "at {at}"
            );
        }
        assert_eq!(
            previous_token(
                &session(),
                &presenter(),
                "successor",
                rotated + REFRESH_RETRY_GRACE_SECS + 1
            ),
            PreviousToken::Revoke
        );
    }

    #[test]
    fn any_other_use_of_the_previous_token_is_reuse() {
        let revoke = |session: &Session, presenter: &Presenter<'_>, successor: &str| {
            assert_eq!(
                previous_token(session, presenter, successor, NOW),
                PreviousToken::Revoke
            );
        };
        // The successor was rotated further: the session's token is not the derived one.
        revoke(&session(), &presenter(), "another-successor");
        let never_rotated = Session {
            rotated_at: None,
            ..session()
        };
        revoke(&never_rotated, &presenter(), "successor");
        for other in strangers() {
            revoke(&session(), &other, "successor");
        }
        let ended = Session {
            refresh_expires_at: NOW,
            ..session()
        };
        revoke(&ended, &presenter(), "successor");
        let revoked = Session {
            revoked_at: Some(NOW - 1),
            ..session()
        };
        revoke(&revoked, &presenter(), "successor");
    }
}
