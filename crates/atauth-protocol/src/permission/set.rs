//! Permission sets: a lexicon of type `permission-set` that an `include:` scope names, and its
//! expansion into `repo`/`rpc` permissions (atproto spec "Permission Sets";
//! profile section 5.4, reference `IncludeScope.buildPermissions`).
//!
//! Resolving the lexicon (DNS, DID, PDS, or a pinned file) is the server's job; this module only
//! reads an already fetched document and expands it.
//!
//! Expansion rules:
//! - only `repo` and `rpc` entries are used; `blob`, `account`, `identity` and unknown resources
//!   are ignored;
//! - an entry with an unknown key, a value of the wrong shape (a multi-valued key must be a
//!   non-empty array of strings, a single-valued key a string) or an invalid value is ignored on
//!   its own, the rest of the set still applies;
//! - `rpc`: a specific `aud` is not allowed; `aud: "*"` is kept; `inheritAud: true` without `aud`
//!   takes the include's `aud`; `inheritAud` with no include `aud`, next to an `aud`, or not
//!   `true` makes the entry invalid;
//! - every collection and lxm must be under the set's namespace authority
//!   ([`IncludeScope::is_parent_authority_of`]); wildcards never are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nsid::is_valid_nsid;
use super::syntax::RawScope;
use super::{IncludeScope, Permission, RepoPermission, RpcPermission};

/// Lexicon keys that hold several values (an array in the lexicon, a repeated key in a scope).
const MULTI_VALUED_KEYS: &[&str] = &["collection", "action", "lxm"];

/// Why a lexicon document is not a usable permission set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionSetError {
    #[error("the lexicon document is not valid JSON")]
    NotJson,
    #[error("the lexicon document is not a JSON object with a `defs.main` object")]
    NotALexicon,
    #[error("the lexicon document's id `{found}` is not the requested NSID `{expected}`")]
    IdMismatch { expected: String, found: String },
    #[error("`{0}` is not a valid NSID")]
    InvalidNsid(String),
    #[error("the lexicon's main definition is of type `{0}`, not `permission-set`")]
    NotAPermissionSet(String),
    #[error("the permission set has no `permissions` array")]
    NoPermissions,
}

/// A permission-set lexicon, as far as the authorization server needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSet {
    pub nsid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub title_lang: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail_lang: BTreeMap<String, String>,
    /// The `permissions` entries as written (validated only at expansion, entry by entry).
    pub permissions: Vec<Value>,
}

impl PermissionSet {
    /// Reads the lexicon text published for `nsid`.
    pub fn from_json_text(nsid: &str, text: &str) -> Result<Self, PermissionSetError> {
        let doc: Value = serde_json::from_str(text).map_err(|_| PermissionSetError::NotJson)?;
        Self::from_lexicon(nsid, &doc)
    }

    /// Reads the lexicon document published for `nsid`: its `id` must equal `nsid` and
    /// `defs.main.type` must be `permission-set` (profile section 5.4).
    pub fn from_lexicon(nsid: &str, doc: &Value) -> Result<Self, PermissionSetError> {
        if !is_valid_nsid(nsid) {
            return Err(PermissionSetError::InvalidNsid(nsid.to_owned()));
        }
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
        if id != nsid {
            return Err(PermissionSetError::IdMismatch {
                expected: nsid.to_owned(),
                found: id.to_owned(),
            });
        }
        let main = doc
            .get("defs")
            .and_then(|defs| defs.get("main"))
            .and_then(Value::as_object)
            .ok_or(PermissionSetError::NotALexicon)?;
        let kind = main.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind != "permission-set" {
            return Err(PermissionSetError::NotAPermissionSet(kind.to_owned()));
        }
        let permissions = main
            .get("permissions")
            .and_then(Value::as_array)
            .ok_or(PermissionSetError::NoPermissions)?
            .clone();
        Ok(Self {
            nsid: nsid.to_owned(),
            title: string_field(main, "title"),
            title_lang: lang_map(main, "title:lang"),
            detail: string_field(main, "detail"),
            detail_lang: lang_map(main, "detail:lang"),
            permissions,
        })
    }

    /// The title in the first of `languages` (preferred first) that has one, else the plain
    /// `title`.
    pub fn title(&self, languages: &[&str]) -> Option<&str> {
        localized(&self.title_lang, self.title.as_deref(), languages)
    }

    /// The detail text, chosen like [`Self::title`].
    pub fn detail(&self, languages: &[&str]) -> Option<&str> {
        localized(&self.detail_lang, self.detail.as_deref(), languages)
    }

    /// The `repo`/`rpc` permissions `include` grants with this set, normalised, in the set's
    /// order, duplicates removed. Entries that break a rule are skipped (module docs).
    pub fn expand(&self, include: &IncludeScope) -> Vec<Permission> {
        let mut out: Vec<Permission> = Vec::new();
        for entry in &self.permissions {
            if let Some(p) = expand_entry(entry, include) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }
}

/// The scope a token receives for `scopes` (the granted request scope): each `include:`
/// replaced by its set's expanded permissions in normalised form, then the other values
/// (profile section 5.4). `sets` must hold the set of every include;
/// `Err(nsid)` names one that it lacks.
pub fn expand_scope<'a>(
    scopes: impl IntoIterator<Item = &'a str>,
    sets: &[PermissionSet],
) -> Result<String, String> {
    let mut expanded: Vec<String> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for value in scopes {
        match Permission::parse(value) {
            Ok(Permission::Include(include)) => {
                let set = sets
                    .iter()
                    .find(|s| s.nsid == include.nsid())
                    .ok_or_else(|| include.nsid().to_owned())?;
                expanded.extend(set.expand(&include).iter().map(Permission::to_scope_string));
            }
            _ => others.push(value.to_owned()),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for value in expanded.into_iter().chain(others) {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out.join(" "))
}

fn expand_entry(entry: &Value, include: &IncludeScope) -> Option<Permission> {
    let object = entry.as_object()?;
    if object.get("type").and_then(Value::as_str) != Some("permission") {
        return None;
    }
    let resource = object.get("resource").and_then(Value::as_str)?;
    let mut fields: Vec<(&str, &Value)> = object
        .iter()
        .filter(|(k, _)| *k != "type" && *k != "resource")
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let inherited_aud;
    if resource == RpcPermission::RESOURCE {
        let aud = object.get("aud");
        if aud.is_some_and(|a| a.as_str() != Some("*")) {
            return None; // a specific audience inside a set
        }
        let inherits = object.get("inheritAud") == Some(&Value::Bool(true));
        if let (true, None, Some(include_aud)) = (inherits, aud, include.aud()) {
            inherited_aud = Value::String(include_aud.to_owned());
            fields.retain(|(k, _)| *k != "inheritAud");
            fields.push(("aud", &inherited_aud));
        }
        // Any remaining `inheritAud` is an unknown parameter below, so the entry is invalid.
    }
    let raw = RawScope {
        resource,
        positional: None,
        params: scope_params(&fields)?,
    };
    match resource {
        RepoPermission::RESOURCE => {
            let p = RepoPermission::from_raw(&raw).ok()?;
            let values = p.collections().values();
            values
                .iter()
                .all(|c| include.is_parent_authority_of(c))
                .then_some(Permission::Repo(p))
        }
        RpcPermission::RESOURCE => {
            let p = RpcPermission::from_raw(&raw).ok()?;
            let values = p.lxm().values();
            values
                .iter()
                .all(|m| include.is_parent_authority_of(m))
                .then_some(Permission::Rpc(p))
        }
        _ => None,
    }
}

/// Lexicon fields as scope parameters; `None` when a value has the wrong shape.
fn scope_params(fields: &[(&str, &Value)]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (key, value) in fields {
        if MULTI_VALUED_KEYS.contains(key) {
            let items = value.as_array().filter(|a| !a.is_empty())?;
            for item in items {
                params.push(((*key).to_owned(), item.as_str()?.to_owned()));
            }
        } else {
            params.push(((*key).to_owned(), value.as_str()?.to_owned()));
        }
    }
    Some(params)
}

fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn lang_map(object: &Map<String, Value>, key: &str) -> BTreeMap<String, String> {
    object
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(lang, text)| Some((lang.clone(), text.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// For each preferred language: the exact tag (case-insensitive), then its primary subtag
/// (`fr` for `fr-CA`); then the plain text.
fn localized<'a>(
    by_lang: &'a BTreeMap<String, String>,
    plain: Option<&'a str>,
    languages: &[&str],
) -> Option<&'a str> {
    let lookup = |tag: &str| {
        by_lang
            .iter()
            .find(|(lang, _)| lang.eq_ignore_ascii_case(tag))
            .map(|(_, text)| text.as_str())
    };
    languages
        .iter()
        .find_map(|tag| {
            let primary = tag.split('-').next().unwrap_or(tag);
            lookup(tag).or_else(|| lookup(primary))
        })
        .or(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CALENDAR: &str = "com.example.calendar.auth";

    fn include(scope: &str) -> IncludeScope {
        match Permission::parse(scope) {
            Ok(Permission::Include(i)) => i,
            other => panic!("{scope}: {other:?}"),
        }
    }

    fn set_of(nsid: &str, permissions: Value) -> PermissionSet {
        PermissionSet::from_lexicon(
            nsid,
            &json!({"lexicon": 1, "id": nsid, "defs": {"main": {
                "type": "permission-set", "permissions": permissions}}}),
        )
        .unwrap()
    }

    /// The reference's `compilePermissions` (include-scope.test.ts): expansion as scope strings.
    fn compile(scope: &str, permissions: Value) -> Vec<String> {
        let include = include(scope);
        set_of(include.nsid(), permissions)
            .expand(&include)
            .iter()
            .map(Permission::to_scope_string)
            .collect()
    }

    fn rpc(extra: Value) -> Value {
        let mut entry = json!({"type": "permission", "resource": "rpc"});
        for (k, v) in extra.as_object().unwrap() {
            entry[k] = v.clone();
        }
        entry
    }

    #[test]
    fn reads_a_permission_set_lexicon() {
        let set = PermissionSet::from_json_text(
            "app.example.authBasic",
            r#"{"lexicon":1,"id":"app.example.authBasic","defs":{"main":{"type":"permission-set",
              "title":"Basic","title:lang":{"fr":"De base","pt-BR":"Básico"},
              "detail":"Posts","detail:lang":{"fr":"Messages"},"permissions":[]}}}"#,
        )
        .unwrap();
        assert_eq!(set.nsid, "app.example.authBasic");
        assert_eq!(set.title(&[]), Some("Basic"));
        assert_eq!(set.title(&["fr"]), Some("De base"));
        assert_eq!(set.title(&["FR-ca"]), Some("De base"), "primary subtag");
        assert_eq!(set.title(&["pt-br"]), Some("Básico"), "exact, any case");
        assert_eq!(set.title(&["pt"]), Some("Basic"), "no guessing a region");
        assert_eq!(set.title(&["de", "fr"]), Some("De base"), "next preference");
        assert_eq!(set.detail(&["fr"]), Some("Messages"));
        assert_eq!(set.detail(&["pt-BR"]), Some("Posts"));
    }

    #[test]
    fn refuses_documents_that_are_not_the_requested_permission_set() {
        let nsid = "app.example.authBasic";
        let doc = |id: &str, kind: &str| json!({"lexicon": 1, "id": id, "defs": {"main": {"type": kind, "permissions": []}}});
        assert_eq!(
            PermissionSet::from_lexicon(nsid, &doc("app.example.other", "permission-set")),
            Err(PermissionSetError::IdMismatch {
                expected: nsid.into(),
                found: "app.example.other".into()
            })
        );
        assert_eq!(
            PermissionSet::from_lexicon(nsid, &doc(nsid, "query")),
            Err(PermissionSetError::NotAPermissionSet("query".into()))
        );
        assert_eq!(
            PermissionSet::from_lexicon(nsid, &json!({"id": nsid})),
            Err(PermissionSetError::NotALexicon)
        );
        assert_eq!(
            PermissionSet::from_lexicon(
                nsid,
                &json!({"id": nsid, "defs": {"main": {"type": "permission-set"}}})
            ),
            Err(PermissionSetError::NoPermissions)
        );
        assert_eq!(
            PermissionSet::from_json_text(nsid, "{not json"),
            Err(PermissionSetError::NotJson)
        );
        assert_eq!(
            PermissionSet::from_lexicon("com.example", &doc("com.example", "permission-set")),
            Err(PermissionSetError::InvalidNsid("com.example".into()))
        );
    }

    #[test]
    fn only_repo_and_rpc_entries_are_used() {
        let ignored = json!([
            {"type": "permission", "resource": "blob", "accept": ["image/*"]},
            {"type": "permission", "resource": "blob", "accept": "image/*"},
            {"type": "permission", "resource": "account", "attr": "email", "action": ["read"]},
            {"type": "permission", "resource": "identity", "attr": "handle"},
            {"type": "permission", "resource": "include", "nsid": "com.example.calendar.other"},
            {"type": "permission", "resource": "unknown", "x": "y"},
        ]);
        assert!(compile("include:com.example.calendar.auth", ignored).is_empty());
    }

    #[test]
    fn rpc_entries_follow_the_audience_rules() {
        let scope = "include:com.example.calendar.auth";
        let with_aud = "include:com.example.calendar.auth?aud=did:web:example.com%23foo";
        let list = json!(["com.example.calendar.listEvents"]);
        // aud "*" is kept.
        assert_eq!(
            compile(scope, json!([rpc(json!({"aud": "*", "lxm": list}))])),
            ["rpc:com.example.calendar.listEvents?aud=*"]
        );
        // inheritAud takes the include's aud.
        assert_eq!(
            compile(
                with_aud,
                json!([
                    rpc(json!({"inheritAud": true, "lxm": list})),
                    rpc(
                        json!({"inheritAud": true, "lxm": ["com.example.calendar.getEventDetails"]})
                    ),
                ])
            ),
            [
                "rpc:com.example.calendar.listEvents?aud=did:web:example.com%23foo",
                "rpc:com.example.calendar.getEventDetails?aud=did:web:example.com%23foo",
            ]
        );
        for (what, scope, entry) in [
            (
                "specific aud",
                scope,
                json!({"aud": "did:web:example.com#foo", "lxm": list}),
            ),
            (
                "lxm not an array",
                scope,
                json!({"aud": "*", "lxm": "com.example.calendar.listEvents"}),
            ),
            (
                "extra property",
                scope,
                json!({"aud": "*", "lxm": list, "extra": "property"}),
            ),
            ("missing lxm", scope, json!({"aud": "*"})),
            ("missing aud", scope, json!({"lxm": list})),
            ("missing both", scope, json!({})),
            (
                "inheritAud and aud",
                with_aud,
                json!({"aud": "did:web:example.com#foo", "inheritAud": true, "lxm": list}),
            ),
            (
                "inheritAud and aud *",
                with_aud,
                json!({"aud": "*", "inheritAud": true, "lxm": list}),
            ),
            (
                "inheritAud without include aud",
                scope,
                json!({"inheritAud": true, "lxm": list}),
            ),
            (
                "inheritAud false",
                with_aud,
                json!({"inheritAud": false, "lxm": list}),
            ),
            (
                "inheritAud not a boolean",
                with_aud,
                json!({"inheritAud": "true", "lxm": list}),
            ),
            (
                "other authority",
                scope,
                json!({"aud": "*", "lxm": ["com.atproto.moderation.createReport"]}),
            ),
            (
                "wildcard lxm",
                with_aud,
                json!({"inheritAud": true, "lxm": ["*"]}),
            ),
            (
                "empty lxm",
                with_aud,
                json!({"inheritAud": true, "lxm": []}),
            ),
            (
                "lxm not strings",
                with_aud,
                json!({"inheritAud": true, "lxm": [1]}),
            ),
            ("aud as an array", scope, json!({"aud": ["*"], "lxm": list})),
        ] {
            assert_eq!(
                compile(scope, json!([rpc(entry)])),
                Vec::<String>::new(),
                "{what}"
            );
        }
    }

    #[test]
    fn repo_entries_follow_the_reference() {
        let scope = "include:com.example.calendar.auth";
        let repo = |collection: Value, action: Value| json!({"type": "permission", "resource": "repo", "collection": collection, "action": action});
        assert_eq!(
            compile(
                scope,
                json!([repo(
                    json!(["com.example.calendar.event"]),
                    json!(["create", "update", "delete"])
                )])
            ),
            ["repo:com.example.calendar.event"]
        );
        assert_eq!(
            compile(
                scope,
                json!([
                    repo(json!(["com.example.calendar.event"]), json!(["delete", "update"])),
                    repo(
                        json!(["com.example.calendar.event", "com.example.calendar.rsvp"]),
                        json!(["delete", "create"])
                    ),
                ])
            ),
            [
                "repo:com.example.calendar.event?action=update&action=delete",
                "repo?collection=com.example.calendar.event&collection=com.example.calendar.rsvp&action=create&action=delete",
            ]
        );
        // Without `action` the default (all three) applies.
        assert_eq!(
            compile(
                scope,
                json!([{"type": "permission", "resource": "repo", "collection": ["com.example.calendar.event"]}])
            ),
            ["repo:com.example.calendar.event"]
        );
        for (what, entry) in [
            (
                "collection not an array",
                repo(json!("com.example.calendar.event"), json!(["create"])),
            ),
            (
                "action not an array",
                repo(json!(["com.example.calendar.event"]), json!("all")),
            ),
            (
                "unknown action",
                repo(
                    json!(["com.example.calendar.event"]),
                    json!(["create", "manage"]),
                ),
            ),
            (
                "empty action",
                repo(json!(["com.example.calendar.event"]), json!([])),
            ),
            (
                "other authority",
                repo(json!(["app.bsky.feed.post"]), json!(["create"])),
            ),
            (
                "one of two outside",
                repo(
                    json!(["com.example.calendar.event", "app.bsky.feed.post"]),
                    json!(["create"]),
                ),
            ),
            (
                "sibling authority",
                repo(json!(["com.example.bar.event"]), json!(["create"])),
            ),
            ("wildcard", repo(json!(["*"]), json!(["create"]))),
            (
                "wildcard among others",
                repo(
                    json!(["com.example.calendar.event", "*"]),
                    json!(["create"]),
                ),
            ),
            (
                "not a permission",
                json!({"type": "other", "resource": "repo", "collection": ["com.example.calendar.event"]}),
            ),
            ("not an object", json!("repo:com.example.calendar.event")),
        ] {
            assert_eq!(
                compile(scope, json!([entry])),
                Vec::<String>::new(),
                "{what}"
            );
        }
    }

    #[test]
    fn bad_entries_do_not_spoil_the_good_ones_and_duplicates_go() {
        let scope = "include:com.example.calendar.auth?aud=did:web:api.example.com%23svc";
        let good = json!({"type": "permission", "resource": "repo", "collection": ["com.example.calendar.event"]});
        let got = compile(
            scope,
            json!([
                {"type": "permission", "resource": "repo", "collection": ["app.bsky.feed.post"]},
                good,
                good,
                rpc(json!({"inheritAud": true, "lxm": ["com.example.calendar.deep.nested.get"]})),
            ]),
        );
        assert_eq!(
            got,
            [
                "repo:com.example.calendar.event",
                "rpc:com.example.calendar.deep.nested.get?aud=did:web:api.example.com%23svc",
            ]
        );
    }

    #[test]
    fn token_scope_lists_expansions_then_the_other_values() {
        let set = set_of(
            CALENDAR,
            json!([
                {"type": "permission", "resource": "repo", "collection": ["com.example.calendar.event"], "action": ["create"]},
                rpc(json!({"inheritAud": true, "lxm": ["com.example.calendar.listEvents"]})),
            ]),
        );
        let scope = [
            "atproto",
            "include:com.example.calendar.auth?aud=did:web:api.example.com%23cal",
            "account:email",
            "repo:com.example.calendar.event?action=create",
        ];
        assert_eq!(
            expand_scope(scope, std::slice::from_ref(&set)).unwrap(),
            "repo:com.example.calendar.event?action=create \
             rpc:com.example.calendar.listEvents?aud=did:web:api.example.com%23cal \
             atproto account:email"
        );
        assert_eq!(
            expand_scope(["atproto", "include:com.example.other.auth"], &[set]),
            Err("com.example.other.auth".to_owned())
        );
        assert_eq!(expand_scope(["atproto"], &[]).unwrap(), "atproto");
    }

    #[test]
    fn expansion_is_normalised_and_reparses_to_itself() {
        let got = compile(
            "include:com.example.calendar.auth?aud=did:web:api.example.com%23cal",
            json!([
                rpc(json!({"inheritAud": true, "lxm": ["com.example.calendar.b", "com.example.calendar.a", "com.example.calendar.a"]})),
                {"type": "permission", "resource": "repo", "collection": ["com.example.calendar.z", "com.example.calendar.y"], "action": ["delete", "create", "update"]},
            ]),
        );
        assert_eq!(
            got,
            [
                "rpc?lxm=com.example.calendar.a&lxm=com.example.calendar.b&aud=did:web:api.example.com%23cal",
                "repo?collection=com.example.calendar.y&collection=com.example.calendar.z",
            ]
        );
        for s in &got {
            assert_eq!(Permission::parse(s).unwrap().to_scope_string(), *s);
        }
    }
}
