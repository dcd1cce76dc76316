//! The `prompt` decision (OpenID Connect Core section 3.1.2.1, as the atproto reference
//! server applies it): which page a pending request shows first, and when remembered consent
//! lets `prompt=none` answer without one.

use atauth_protocol::request::Prompt;
use atauth_protocol::scope::ScopeSet;
use atauth_store::Account;

/// What a pending request shows first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstStep<'a> {
    /// The sign-in page, pre-filled with the `login_hint` if any.
    SignIn,
    /// The list of the accounts signed in on this device.
    ChooseAccount,
    /// The consent page for this account.
    Consent(&'a Account),
    /// `prompt=none` for the hinted account: approved at once if its remembered consent covers
    /// the request ([`consent_covers`]), else `consent_required`.
    Silent(&'a Account),
    /// `prompt=none` without a signed-in account named by `login_hint`: `login_required`.
    LoginRequired,
}

/// The first step for a request with `prompt` and `login_hint`, given the accounts signed in
/// on this device. `prompt=login` always signs in again (deliberate difference 13).
/// `prompt=none` needs a `login_hint` naming a signed-in account: without one there is no way
/// to know which account is meant (reference rule). Otherwise the hinted account goes to
/// consent, which is shown even when consent was given before (checklist 76); a hint naming no
/// signed-in account, or no account at all, signs in; else the member chooses an account
/// (`select_account` with nobody signed in signs in: checklist 72).
pub fn first_step<'a>(
    prompt: Option<Prompt>,
    login_hint: Option<&str>,
    accounts: &'a [Account],
) -> FirstStep<'a> {
    let hinted = login_hint.and_then(|h| accounts.iter().find(|a| a.handle == h || a.did == h));
    match (prompt, hinted) {
        (Some(Prompt::Login), _) => FirstStep::SignIn,
        (Some(Prompt::None), Some(account)) => FirstStep::Silent(account),
        (Some(Prompt::None), None) => FirstStep::LoginRequired,
        (None | Some(Prompt::Consent | Prompt::SelectAccount), Some(account)) => {
            FirstStep::Consent(account)
        }
        (None | Some(Prompt::Consent | Prompt::SelectAccount), None) => {
            if login_hint.is_some() || accounts.is_empty() {
                FirstStep::SignIn
            } else {
                FirstStep::ChooseAccount
            }
        }
    }
}

/// Whether remembered consent covers a request: every requested scope value is among the
/// remembered ones. Remembered consent holds what the member granted, `include:` scopes
/// expanded (deliberate difference 7), so `requested` is the expanded request; `None` (a
/// permission set missing, or no consent remembered) covers nothing.
pub fn consent_covers(remembered: Option<&str>, requested: Option<&str>) -> bool {
    let (Some(remembered), Some(requested)) = (remembered, requested) else {
        return false;
    };
    let remembered = ScopeSet::parse(remembered);
    ScopeSet::parse(requested)
        .iter()
        .all(|scope| remembered.contains(scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(handle: &str) -> Account {
        Account {
            id: format!("id-{handle}"),
            did: format!("did:web:{handle}"),
            handle: handle.into(),
            email: None,
            password_hash: String::new(),
            created_at: 0,
            disabled: false,
        }
    }

    #[test]
    fn prompt_login_always_signs_in_again() {
        let accounts = [account("alice.test")];
        for hint in [None, Some("alice.test")] {
            assert_eq!(
                first_step(Some(Prompt::Login), hint, &accounts),
                FirstStep::SignIn
            );
        }
    }

    #[test]
    fn prompt_none_needs_a_hint_naming_a_signed_in_account() {
        let accounts = [account("alice.test"), account("bob.test")];
        assert_eq!(
            first_step(Some(Prompt::None), Some("did:web:bob.test"), &accounts),
            FirstStep::Silent(&accounts[1])
        );
        for hint in [None, Some("carol.test")] {
            assert_eq!(
                first_step(Some(Prompt::None), hint, &accounts),
                FirstStep::LoginRequired
            );
        }
    }

    #[test]
    fn a_hinted_account_goes_to_consent_even_after_earlier_consent() {
        let accounts = [account("alice.test")];
        for prompt in [None, Some(Prompt::Consent), Some(Prompt::SelectAccount)] {
            assert_eq!(
                first_step(prompt, Some("alice.test"), &accounts),
                FirstStep::Consent(&accounts[0])
            );
            assert_eq!(
                first_step(prompt, Some("carol.test"), &accounts),
                FirstStep::SignIn
            );
            assert_eq!(
                first_step(prompt, None, &accounts),
                FirstStep::ChooseAccount
            );
            assert_eq!(first_step(prompt, None, &[]), FirstStep::SignIn);
        }
    }

    #[test]
    fn remembered_consent_covers_a_request_within_it() {
        let remembered = Some("atproto transition:generic repo:app.bsky.feed.post");
        assert!(consent_covers(remembered, Some("atproto")));
        assert!(consent_covers(
            remembered,
            Some("transition:generic atproto")
        ));
        assert!(!consent_covers(
            remembered,
            Some("atproto transition:email")
        ));
        assert!(!consent_covers(None, Some("atproto")));
        assert!(!consent_covers(remembered, None));
    }
}
