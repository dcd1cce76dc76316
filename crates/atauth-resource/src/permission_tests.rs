//! [`TokenPermissions`] against the protocol's vectors: the reference's matching tables
//! (profile section 5.2; the reference's `*-permission.test.ts` / `scope-permissions-transition`
//! cases) and every normalisation vector (a token scope allows the same as its normalised form;
//! a value that does not parse allows nothing).

use crate::{AccountAction, AccountAttr, IdentityAttr, RepoAction, TokenPermissions};

use AccountAction::{Manage, Read};
use RepoAction::{Create, Delete, Update};

const APPVIEW: &str = "did:web:api.bsky.app#bsky_appview";
const CHAT: &str = "did:web:api.bsky.chat#bsky_chat";
const VECTORS: &str =
    include_str!("../../atauth-protocol/src/permission/testdata/scope-normalisation-vectors.json");

/// One check through the public API, and its expected answer.
#[derive(Debug, Clone, Copy)]
enum Ask {
    Write(&'static str, RepoAction),
    Call(&'static str, &'static str),
    Upload(&'static str),
    Account(AccountAttr, AccountAction),
    Identity(IdentityAttr),
}

fn answer(p: &TokenPermissions, ask: Ask) -> bool {
    match ask {
        Ask::Write(c, a) => p.may_write_record(c, a),
        Ask::Call(l, aud) => p.may_call(l, aud),
        Ask::Upload(m) => p.may_upload_blob(m),
        Ask::Account(attr, action) => p.may_account(attr, action),
        Ask::Identity(attr) => p.may_identity(attr),
    }
}

fn check(scope: &str, table: &[(Ask, bool)]) {
    let p = TokenPermissions::from_scope(scope);
    for (ask, expected) in table {
        assert_eq!(answer(&p, *ask), *expected, "{scope} vs {ask:?}");
    }
}

/// Every kind of question, for comparing two scopes' answers.
const PROBES: &[Ask] = &[
    Ask::Write("com.example.foo", Create),
    Ask::Write("com.example.foo", Update),
    Ask::Write("com.example.foo", Delete),
    Ask::Write("com.example.bar", Create),
    Ask::Write("app.bsky.feed.post", Create),
    Ask::Call("com.example.service", "did:web:example.com#svc"),
    Ask::Call("com.example.method1", "did:web:api.example.com#svc_appview"),
    Ask::Call("com.example.foo", APPVIEW),
    Ask::Call("chat.bsky.convo.sendMessage", CHAT),
    Ask::Upload("image/png"),
    Ask::Upload("image/jpeg"),
    Ask::Upload("video/mp4"),
    Ask::Upload("text/html"),
    Ask::Account(AccountAttr::Email, Read),
    Ask::Account(AccountAttr::Email, Manage),
    Ask::Account(AccountAttr::Repo, Manage),
    Ask::Account(AccountAttr::Status, Read),
    Ask::Identity(IdentityAttr::Handle),
    Ask::Identity(IdentityAttr::Any),
];

#[test]
fn every_normalisation_vector_allows_what_its_normal_form_allows() {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = doc["normalise"].as_array().unwrap();
    assert_eq!(vectors.len(), 86);
    for vector in vectors {
        let input = vector[0].as_str().unwrap();
        let p = TokenPermissions::from_scope(input);
        match vector[1].as_str() {
            Some(normalised) => {
                let q = TokenPermissions::from_scope(normalised);
                for ask in PROBES {
                    assert_eq!(answer(&p, *ask), answer(&q, *ask), "{input} vs {ask:?}");
                }
            }
            None => {
                for ask in PROBES {
                    assert!(!answer(&p, *ask), "invalid {input} allowed {ask:?}");
                }
            }
        }
    }
}

#[test]
fn repo_rpc_blob_account_identity_tables() {
    check(
        "repo:com.example.foo?action=create",
        &[
            (Ask::Write("com.example.foo", Create), true),
            (Ask::Write("com.example.foo", Update), false),
            (Ask::Write("com.example.foo", Delete), false),
            (Ask::Write("com.example.bar", Create), false),
            (Ask::Write("Com.Example.Foo", Create), false),
        ],
    );
    check(
        "repo:*?action=delete",
        &[
            (Ask::Write("com.example.foo", Delete), true),
            (Ask::Write("app.bsky.feed.post", Delete), true),
            (Ask::Write("app.bsky.feed.post", Create), false),
        ],
    );
    check(
        "rpc:com.example.foo?aud=did:web:api.bsky.app%23bsky_appview",
        &[
            (Ask::Call("com.example.foo", APPVIEW), true),
            (Ask::Call("com.example.foo", CHAT), false),
            (Ask::Call("com.example.bar", APPVIEW), false),
        ],
    );
    check(
        "rpc:com.example.foo?aud=*",
        &[
            (Ask::Call("com.example.foo", APPVIEW), true),
            (Ask::Call("com.example.foo", CHAT), true),
            (Ask::Call("com.example.bar", CHAT), false),
        ],
    );
    check(
        "rpc?lxm=*&aud=did:web:api.bsky.chat%23bsky_chat",
        &[
            (Ask::Call("chat.bsky.convo.sendMessage", CHAT), true),
            (Ask::Call("chat.bsky.convo.sendMessage", APPVIEW), false),
        ],
    );
    check(
        "blob:image/*",
        &[
            (Ask::Upload("image/png"), true),
            (Ask::Upload("IMAGE/PNG"), true),
            (Ask::Upload("video/mp4"), false),
        ],
    );
    check(
        "blob:*/*",
        &[
            (Ask::Upload("video/mp4"), true),
            (Ask::Upload("text/html"), true),
        ],
    );
    check(
        "account:email",
        &[
            (Ask::Account(AccountAttr::Email, Read), true),
            (Ask::Account(AccountAttr::Email, Manage), false),
            (Ask::Account(AccountAttr::Repo, Read), false),
        ],
    );
    check(
        "account:email?action=manage",
        &[
            (Ask::Account(AccountAttr::Email, Read), true),
            (Ask::Account(AccountAttr::Email, Manage), true),
        ],
    );
    check(
        "account:status?action=manage",
        &[
            (Ask::Account(AccountAttr::Status, Manage), true),
            (Ask::Account(AccountAttr::Email, Read), false),
        ],
    );
    check(
        "identity:handle",
        &[
            (Ask::Identity(IdentityAttr::Handle), true),
            (Ask::Identity(IdentityAttr::Any), false),
        ],
    );
    check(
        "identity:*",
        &[
            (Ask::Identity(IdentityAttr::Handle), true),
            (Ask::Identity(IdentityAttr::Any), true),
        ],
    );
}

#[test]
fn transition_scopes_keep_their_legacy_meaning() {
    check(
        "atproto transition:generic",
        &[
            (Ask::Write("app.bsky.feed.post", Delete), true),
            (Ask::Write("com.example.foo", Create), true),
            (Ask::Upload("video/mp4"), true),
            (Ask::Call("app.bsky.actor.getProfile", APPVIEW), true),
            (Ask::Call("chat.bsky.convo.sendMessage", CHAT), false),
            (Ask::Account(AccountAttr::Email, Read), false),
            (Ask::Identity(IdentityAttr::Handle), false),
        ],
    );
    check(
        "atproto transition:chat.bsky",
        &[
            (Ask::Call("chat.bsky.convo.sendMessage", CHAT), true),
            (Ask::Call("app.bsky.actor.getProfile", APPVIEW), false),
            (Ask::Write("app.bsky.feed.post", Create), false),
        ],
    );
    check(
        "atproto transition:email",
        &[
            (Ask::Account(AccountAttr::Email, Read), true),
            (Ask::Account(AccountAttr::Email, Manage), false),
        ],
    );
    check(
        "atproto",
        &PROBES.iter().map(|ask| (*ask, false)).collect::<Vec<_>>(),
    );
    // An `include:` in a token is not a permission (atauth expands it when issuing).
    check(
        "atproto include:com.example.foo.auth",
        &PROBES.iter().map(|ask| (*ask, false)).collect::<Vec<_>>(),
    );
    assert!(TokenPermissions::from_scope("atproto").is_atproto());
    assert!(!TokenPermissions::from_scope("transition:generic").is_atproto());
}
