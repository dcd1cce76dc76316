//! Request parameters of a form or query body.
//!
//! RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than once."
//! Parsing therefore refuses duplicated names instead of silently keeping one of them.

use crate::OAuthError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(input: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(input) {
            if pairs
                .iter()
                .any(|(existing, _)| existing.as_str() == k.as_ref())
            {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter \"{k}\" is included more than once"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// Builds parameters from a JSON object body (string values only; others are refused).
    pub fn from_json(input: &[u8]) -> Result<Self, OAuthError> {
        let value: serde_json::Value = serde_json::from_slice(input)
            .map_err(|_| OAuthError::invalid_request("Request body is not valid JSON"))?;
        let object = value
            .as_object()
            .ok_or_else(|| OAuthError::invalid_request("Request body must be a JSON object"))?;
        let mut pairs = Vec::with_capacity(object.len());
        for (k, v) in object {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(OAuthError::invalid_request(format!(
                        "Parameter \"{k}\" must be a string"
                    )))
                }
            };
            pairs.push((k.clone(), v));
        }
        Ok(Self(pairs))
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 section 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("Missing required parameter \"{name}\""))
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_parameters_are_refused() {
        let err = Params::parse(b"a=1&b=2&a=3").unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidRequest);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse(b"state=&scope=atproto").unwrap();
        assert_eq!(p.get("state"), None);
        assert!(p.require("state").is_err());
        assert_eq!(p.get("scope"), Some("atproto"));
    }

    #[test]
    fn json_bodies_are_accepted_like_forms() {
        let p = Params::from_json(br#"{"client_id":"x","n":3}"#).unwrap();
        assert_eq!(p.get("client_id"), Some("x"));
        assert_eq!(p.get("n"), Some("3"));
        assert!(Params::from_json(br#"{"a":{"b":1}}"#).is_err());
        assert!(Params::from_json(b"[1]").is_err());
    }
}
