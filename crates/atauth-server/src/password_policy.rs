//! The rule every new password meets, wherever it is set (account creation and password reset,
//! through the admin API, the CLI or dev start-up; every later password form calls
//! [`check`] too).
//!
//! Our choice (`docs/spec/profile.md`, "Operation"), after NIST SP 800-63B section 5.1.1.2
//! ("Memorized Secret Verifiers"): at least [`MIN_CHARS`] characters, at most [`MAX_CHARS`] (so
//! argon2 is never fed megabytes), and refused when the `zxcvbn` strength estimator rates it
//! trivially guessable (a score below [`MIN_ZXCVBN_SCORE`], i.e. fewer than 10^10 estimated
//! guesses) — a well-kept estimator with its own dictionaries of common passwords, words and
//! names, keyboard patterns, sequences and dates, rather than a list of our own. What the
//! member's account says about them (handle, e-mail, the cooperative's name) counts as
//! guessable too.

use zxcvbn::Score;

/// Fewest characters (Unicode scalar values, not bytes) a password may have.
pub const MIN_CHARS: usize = 8;
/// Most characters a password may have: argon2 hashes all of it, at every sign-in.
pub const MAX_CHARS: usize = 1024;
/// The lowest `zxcvbn` score accepted: 3 is "safely unguessable: moderate protection from an
/// offline slow-hash scenario", the score `zxcvbn` itself calls the least acceptable.
pub const MIN_ZXCVBN_SCORE: Score = Score::Three;

/// Why a password is refused. The message is written for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_CHARS} characters")]
    TooLong,
    /// `feedback` is `zxcvbn`'s advice (a warning and suggestions), empty when it has none.
    #[error("the password is too easy to guess{}", advice(.feedback))]
    TooGuessable { feedback: String },
}

fn advice(feedback: &str) -> String {
    if feedback.is_empty() {
        String::new()
    } else {
        format!(": {feedback}")
    }
}

/// Checks `password` against the rule. `about_the_member` is what the account and its
/// cooperative say about the member (handle, e-mail, the cooperative's name): a password
/// built from them, or from their parts (`alice` of `alice.coop-a.example`), is guessable.
pub fn check(password: &str, about_the_member: &[&str]) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(WeakPassword::TooLong);
    }
    let inputs = guessable_words(about_the_member);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_ZXCVBN_SCORE {
        return Ok(());
    }
    let feedback = estimate
        .feedback()
        .map(|f| f.to_string().trim().to_string())
        .unwrap_or_default();
    Err(WeakPassword::TooGuessable { feedback })
}

/// Each input whole and each of its words of [`MIN_WORD_CHARS`] or more (split at anything
/// that is not a letter or digit): `zxcvbn` matches user inputs as whole dictionary words.
fn guessable_words(inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for input in inputs {
        let whole = std::iter::once(input.trim());
        let parts = input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= MIN_WORD_CHARS);
        for word in whole.chain(parts) {
            let word = word.to_lowercase();
            if !word.is_empty() && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words
}

/// Shorter words of a user input are left to `zxcvbn`'s brute-force estimate.
const MIN_WORD_CHARS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    const ABOUT_ALICE: [&str; 3] = [
        "alice.coop-a.example",
        "alice@coop-a.example",
        "Cooperative A",
    ];

    #[test]
    fn fewer_than_eight_characters_are_too_short() {
        assert_eq!(check("", &[]), Err(WeakPassword::TooShort));
        assert_eq!(check("x7#qLz!", &[]), Err(WeakPassword::TooShort));
        assert_eq!(
            WeakPassword::TooShort.to_string(),
            "the password must have at least 8 characters"
        );
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        // Seven characters, 21 bytes of UTF-8: still too short.
        assert_eq!(check("жёлтый猫", &[]).err(), Some(WeakPassword::TooShort));
        assert_eq!("ж猫ё漢ü字ß".len(), 17);
        assert_eq!(check("ж猫ё漢ü字ß", &[]), Err(WeakPassword::TooShort));
        // Eight characters are long enough (then only guessability counts).
        assert!(matches!(
            check("ж猫ё漢ü字ßщ", &[]),
            Err(WeakPassword::TooGuessable { .. }) | Ok(())
        ));
        assert_eq!(check("жёлтый кот летит в космос", &[]), Ok(()));
        // 1024 characters of four bytes each are accepted; one more is too long.
        let strong = "Kettle-orbit-hazel-Mosaic ";
        let longest = strong.to_string() + &"🦀".repeat(MAX_CHARS - strong.len());
        assert_eq!(longest.chars().count(), MAX_CHARS);
        assert_eq!(check(&longest, &[]), Ok(()));
        let too_long = format!("{longest}x");
        assert_eq!(check(&too_long, &[]), Err(WeakPassword::TooLong));
    }

    #[test]
    fn common_passwords_of_eight_characters_and_more_are_too_guessable() {
        for common in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "iloveyou123",
        ] {
            let refused = check(common, &[]);
            assert!(
                matches!(refused, Err(WeakPassword::TooGuessable { .. })),
                "{common}: {refused:?}"
            );
        }
    }

    #[test]
    fn the_reason_carries_zxcvbn_feedback() {
        let Err(refused) = check("password1", &[]) else {
            panic!("password1 must be refused");
        };
        let message = refused.to_string();
        assert!(
            message.starts_with("the password is too easy to guess: "),
            "{message}"
        );
        assert!(message.contains("common password"), "{message}");
    }

    #[test]
    fn passwords_made_of_what_the_account_says_are_too_guessable() {
        for derived in [
            "alice.coop-a.example",
            "alice@coop-a.example",
            "alicecoopa",
            "cooperative a",
            "Alicecoop",
        ] {
            assert!(
                matches!(
                    check(derived, &ABOUT_ALICE),
                    Err(WeakPassword::TooGuessable { .. })
                ),
                "{derived}"
            );
        }
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in [
            "tawny kettle orbit mosaic",
            "x7#qLz!v9Rw",
            "Kettle-orbit-hazel-Mosaic",
        ] {
            assert_eq!(check(strong, &ABOUT_ALICE), Ok(()), "{strong}");
        }
    }

    #[test]
    fn the_members_own_words_count_as_guessable() {
        // Not guessable in general, but it is this member's handle.
        assert_eq!(check("Zorbrakvintu1", &[]), Ok(()));
        let refused = check("Zorbrakvintu1", &["zorbrakvintu.coop-a.example"]);
        assert!(
            matches!(refused, Err(WeakPassword::TooGuessable { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn the_readme_example_passes() {
        // README.md, "Running it": `account create` for alice at Co-op A.
        let readme = ["alice.coop-a.example", "alice@coop-a.example", "Co-op A"];
        assert_eq!(check("a long password", &readme), Ok(()));
    }

    #[test]
    fn user_inputs_are_split_into_words() {
        assert_eq!(
            guessable_words(&["Alice.Coop-A.example", " alice@x.example", ""]),
            [
                "alice.coop-a.example",
                "alice",
                "coop",
                "example",
                "alice@x.example",
            ]
        );
    }
}
