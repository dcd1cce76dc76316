//! Per-cooperative settings the admin API edits: branding and policies. Both are stored as JSON
//! objects in the tenant row (`'{}'`: every default) and validated here before they are written.

use atauth_protocol::constants::{
    ACCESS_TOKEN_LIFETIME_CAP_SECS, ACCESS_TOKEN_LIFETIME_SECS,
    CONFIDENTIAL_REFRESH_INACTIVITY_CAP_SECS, CONFIDENTIAL_REFRESH_INACTIVITY_SECS,
    PUBLIC_SESSION_LIFETIME_SECS,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The shortest access token lifetime a cooperative may choose.
pub const ACCESS_TOKEN_LIFETIME_MIN_SECS: i64 = 60;
/// The shortest session or refresh-inactivity lifetime a cooperative may choose.
pub const SESSION_LIFETIME_MIN_SECS: i64 = 3600;
const LOGO_URL_MAX_LEN: usize = 2048;

/// How the cooperative looks to its members. The display name is the tenant's `name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Accent colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "#1668d9")]
    pub accent_color: Option<String>,
    /// Logo, an absolute `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://coop-a.example/logo.png")]
    pub logo_url: Option<String>,
}

impl Branding {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(color) = &self.accent_color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("branding.accent_color must be a colour like #1668d9".into());
            }
        }
        if let Some(logo) = &self.logo_url {
            let valid = logo.len() <= LOGO_URL_MAX_LEN
                && url::Url::parse(logo).is_ok_and(|u| {
                    u.scheme() == "https"
                        && u.host_str().is_some()
                        && u.username().is_empty()
                        && u.password().is_none()
                });
            if !valid {
                return Err("branding.logo_url must be an https URL".into());
            }
        }
        Ok(())
    }

    /// The stored branding; a row that does not parse (written by a newer version, edited by
    /// hand) reads as the defaults.
    pub fn from_stored(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// Rules of the cooperative. Absent fields take the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Lifetime of the access tokens issued from now on, in seconds: 60 to 1800 (the atproto
    /// OAuth profile asks for less than 30 minutes). Default 900.
    #[serde(default = "default_access_token_lifetime")]
    #[schema(minimum = 60, maximum = 1800, example = 900)]
    pub access_token_lifetime_secs: i64,
    /// Lifetime of a public client's session (sign-in to last refresh), in seconds: one hour to
    /// two weeks (the atproto profile's limit for public clients). Default two weeks.
    #[serde(default = "default_public_session_lifetime")]
    #[schema(minimum = 3600, maximum = 1209600, example = 1209600)]
    pub public_session_lifetime_secs: i64,
    /// How long a confidential client's session survives without a refresh, in seconds: one
    /// hour to 180 days. Default 90 days.
    #[serde(default = "default_confidential_refresh_inactivity")]
    #[schema(minimum = 3600, maximum = 15552000, example = 7776000)]
    pub confidential_refresh_inactivity_secs: i64,
}

fn default_access_token_lifetime() -> i64 {
    ACCESS_TOKEN_LIFETIME_SECS
}

fn default_public_session_lifetime() -> i64 {
    PUBLIC_SESSION_LIFETIME_SECS
}

fn default_confidential_refresh_inactivity() -> i64 {
    CONFIDENTIAL_REFRESH_INACTIVITY_SECS
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            access_token_lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
            public_session_lifetime_secs: PUBLIC_SESSION_LIFETIME_SECS,
            confidential_refresh_inactivity_secs: CONFIDENTIAL_REFRESH_INACTIVITY_SECS,
        }
    }
}

impl Policies {
    pub fn validate(&self) -> Result<(), String> {
        let bounds = ACCESS_TOKEN_LIFETIME_MIN_SECS..=ACCESS_TOKEN_LIFETIME_CAP_SECS;
        if !bounds.contains(&self.access_token_lifetime_secs) {
            return Err(format!(
                "policies.access_token_lifetime_secs must be between {} and {}",
                bounds.start(),
                bounds.end()
            ));
        }
        let bounds = SESSION_LIFETIME_MIN_SECS..=PUBLIC_SESSION_LIFETIME_SECS;
        if !bounds.contains(&self.public_session_lifetime_secs) {
            return Err(format!(
                "policies.public_session_lifetime_secs must be between {} and {}",
                bounds.start(),
                bounds.end()
            ));
        }
        let bounds = SESSION_LIFETIME_MIN_SECS..=CONFIDENTIAL_REFRESH_INACTIVITY_CAP_SECS;
        if !bounds.contains(&self.confidential_refresh_inactivity_secs) {
            return Err(format!(
                "policies.confidential_refresh_inactivity_secs must be between {} and {}",
                bounds.start(),
                bounds.end()
            ));
        }
        Ok(())
    }

    /// The stored policies; anything unreadable or out of bounds reads as the defaults, so a
    /// bad row can never lengthen token lifetimes.
    pub fn from_stored(json: &str) -> Self {
        serde_json::from_str::<Self>(json)
            .ok()
            .filter(|p| p.validate().is_ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branding_accepts_colours_and_https_logos_only() {
        let ok = Branding {
            accent_color: Some("#A0b1C2".into()),
            logo_url: Some("https://coop.example/logo.svg".into()),
        };
        assert!(ok.validate().is_ok());
        for color in ["1668d9", "#1668d", "#1668dz", "red", "#1668d9 "] {
            let b = Branding {
                accent_color: Some(color.into()),
                logo_url: None,
            };
            assert!(b.validate().is_err(), "{color}");
        }
        for logo in [
            "http://coop.example/logo.png",
            "javascript:alert(1)",
            "https://user:pw@coop.example/x.png",
            "/logo.png",
        ] {
            let b = Branding {
                accent_color: None,
                logo_url: Some(logo.into()),
            };
            assert!(b.validate().is_err(), "{logo}");
        }
    }

    #[test]
    fn policies_are_bounded_and_default_when_unreadable() {
        assert_eq!(Policies::from_stored("{}"), Policies::default());
        assert_eq!(
            Policies::from_stored(r#"{"access_token_lifetime_secs":300}"#)
                .access_token_lifetime_secs,
            300
        );
        // Out of bounds or malformed rows never lengthen tokens beyond the default.
        assert_eq!(
            Policies::from_stored(r#"{"access_token_lifetime_secs":99999}"#),
            Policies::default()
        );
        assert_eq!(Policies::from_stored("not json"), Policies::default());
        for bad in [0, 59, 1801, -5] {
            let p = Policies {
                access_token_lifetime_secs: bad,
                ..Policies::default()
            };
            assert!(p.validate().is_err(), "{bad}");
        }
        for bad in [0, 3599, 14 * 86_400 + 1] {
            let p = Policies {
                public_session_lifetime_secs: bad,
                ..Policies::default()
            };
            assert!(p.validate().is_err(), "{bad}");
        }
        for bad in [0, 3599, 180 * 86_400 + 1] {
            let p = Policies {
                confidential_refresh_inactivity_secs: bad,
                ..Policies::default()
            };
            assert!(p.validate().is_err(), "{bad}");
        }
        let shorter = Policies::from_stored(r#"{"public_session_lifetime_secs":86400}"#);
        assert_eq!(shorter.public_session_lifetime_secs, 86_400);
        assert_eq!(
            shorter.access_token_lifetime_secs,
            ACCESS_TOKEN_LIFETIME_SECS
        );
        assert!(serde_json::from_str::<Policies>(r#"{"unknown":1}"#).is_err());
    }
}
