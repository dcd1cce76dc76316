//! Matching tables: what each permission, and a whole grant with `transition:*` scopes, allows
//! and refuses (reference `matches` tests; profile section 5.2, resources and transition scopes).

use crate::permission::*;

use AccountAction::{Manage, Read};
use RepoAction::{Create, Delete, Update};

const APPVIEW: &str = "did:web:api.bsky.app#bsky_appview";
const CHAT: &str = "did:web:api.bsky.chat#bsky_chat";

fn repo(collection: &str, action: RepoAction) -> PermissionRequest<'_> {
    PermissionRequest::RepoWrite { collection, action }
}

fn rpc<'a>(lxm: &'a str, aud: &'a str) -> PermissionRequest<'a> {
    PermissionRequest::RpcCall { lxm, aud }
}

fn blob(mime: &str) -> PermissionRequest<'_> {
    PermissionRequest::BlobUpload { mime }
}

fn account(attr: AccountAttr, action: AccountAction) -> PermissionRequest<'static> {
    PermissionRequest::Account { attr, action }
}

fn identity(attr: IdentityAttr) -> PermissionRequest<'static> {
    PermissionRequest::Identity { attr }
}

/// Asserts `scope` (one value or a space-separated grant) allows exactly the `true` rows.
fn check(scope: &str, table: &[(PermissionRequest<'_>, bool)]) {
    let grant = ScopeGrant::parse(scope);
    for (request, expected) in table {
        assert_eq!(grant.allows(request), *expected, "{scope} vs {request:?}");
        if let Ok(p) = Permission::parse(scope) {
            if !matches!(p, Permission::Static(_)) {
                assert_eq!(p.allows(request), *expected, "{scope} vs {request:?}");
            }
        }
    }
}

#[test]
fn repo_matching() {
    check(
        "repo:com.example.foo?action=create",
        &[
            (repo("com.example.foo", Create), true),
            (repo("com.example.foo", Update), false),
            (repo("com.example.foo", Delete), false),
            (repo("com.example.bar", Create), false),
            (repo("Com.Example.Foo", Create), false),
        ],
    );
    check(
        "repo:com.example.foo",
        &[
            (repo("com.example.foo", Create), true),
            (repo("com.example.foo", Update), true),
            (repo("com.example.foo", Delete), true),
            (repo("com.example.fooo", Create), false),
        ],
    );
    check(
        "repo:*?action=create",
        &[
            (repo("any.collection.here", Create), true),
            (repo("any.collection.here", Update), false),
            (repo("com.example.bar", Delete), false),
        ],
    );
    check(
        "repo?collection=a.b.c&collection=a.b.d&action=update&action=delete",
        &[
            (repo("a.b.c", Update), true),
            (repo("a.b.d", Delete), true),
            (repo("a.b.d", Create), false),
            (repo("a.b.e", Update), false),
        ],
    );
    // Other request kinds never match a repo permission.
    check(
        "repo:*",
        &[(blob("image/png"), false), (rpc("a.b.c", APPVIEW), false)],
    );
}

#[test]
fn rpc_matching() {
    check(
        "rpc:com.example.service?aud=did:web:example.com%23service_id",
        &[
            (
                rpc("com.example.service", "did:web:example.com#service_id"),
                true,
            ),
            (
                rpc("com.example.OtherService", "did:web:example.com#service_id"),
                false,
            ),
            (
                rpc("com.example.service", "did:web:example.com#other"),
                false,
            ),
            (rpc("com.example.service", "did:web:example.com"), false),
            (rpc("com.example.service", "*"), false),
        ],
    );
    check(
        "rpc:com.example.method1?aud=*",
        &[
            (
                rpc("com.example.method1", "did:web:example.com#service_id"),
                true,
            ),
            (rpc("com.example.method1", APPVIEW), true),
            (rpc("com.example.method2", APPVIEW), false),
        ],
    );
    check(
        "rpc:*?aud=did:web:example.com%23service_id",
        &[
            (
                rpc("com.example.anyMethod", "did:web:example.com#service_id"),
                true,
            ),
            (
                rpc("chat.bsky.convo.getLog", "did:web:example.com#service_id"),
                true,
            ),
            (rpc("com.example.anyMethod", APPVIEW), false),
        ],
    );
    check(
        "rpc?lxm=app.bsky.actor.getProfile&lxm=app.bsky.graph.getFollows&aud=did:web:api.bsky.app%23bsky_appview",
        &[
            (rpc("app.bsky.actor.getProfile", APPVIEW), true),
            (rpc("app.bsky.graph.getFollows", APPVIEW), true),
            (rpc("app.bsky.feed.getTimeline", APPVIEW), false),
        ],
    );
}

#[test]
fn blob_matching() {
    check(
        "blob:*/*",
        &[
            (blob("image/jpeg"), true),
            (blob("application/json"), true),
            (blob("image"), false),
        ],
    );
    check(
        "blob:image/*",
        &[
            (blob("image/gif"), true),
            (blob("image/png"), true),
            (blob("IMAGE/PNG"), true),
            (blob("text/html"), false),
            (blob("video/mp4"), false),
        ],
    );
    check(
        "blob:image/png",
        &[
            (blob("image/png"), true),
            (blob("image/jpeg"), false),
            (blob("image/*"), false),
        ],
    );
    check(
        "blob?accept=image/png&accept=image/jpeg",
        &[
            (blob("image/png"), true),
            (blob("image/jpeg"), true),
            (blob("image/gif"), false),
        ],
    );
    check(
        "blob?accept=video/*&accept=text/html",
        &[
            (blob("video/mp4"), true),
            (blob("text/html"), true),
            (blob("text/plain"), false),
        ],
    );
    check("blob:Image/PNG", &[(blob("image/png"), true)]);
}

#[test]
fn account_matching() {
    use AccountAttr::{Email, Repo, Status};
    check(
        "account:email",
        &[
            (account(Email, Read), true),
            (account(Email, Manage), false),
            (account(Repo, Read), false),
            (account(Status, Read), false),
        ],
    );
    check(
        "account:email?action=manage",
        &[
            (account(Email, Read), true),
            (account(Email, Manage), true),
            (account(Repo, Manage), false),
        ],
    );
    check(
        "account:repo?action=manage",
        &[
            (account(Repo, Manage), true),
            (account(Repo, Read), true),
            (account(Email, Read), false),
        ],
    );
    check(
        "account:status?action=read",
        &[
            (account(Status, Read), true),
            (account(Status, Manage), false),
        ],
    );
}

#[test]
fn identity_matching() {
    check(
        "identity:handle",
        &[
            (identity(IdentityAttr::Handle), true),
            (identity(IdentityAttr::Any), false),
        ],
    );
    check(
        "identity:*",
        &[
            (identity(IdentityAttr::Handle), true),
            (identity(IdentityAttr::Any), true),
        ],
    );
}

#[test]
fn static_and_include_allow_nothing_by_themselves() {
    let requests = [
        repo("a.b.c", Create),
        rpc("a.b.c", APPVIEW),
        blob("image/png"),
        account(AccountAttr::Email, Read),
        identity(IdentityAttr::Handle),
    ];
    for scope in [
        "atproto",
        "include:app.bsky.authFullApp?aud=did:web:api.bsky.app%23bsky_appview",
    ] {
        let grant = ScopeGrant::parse(scope);
        let p = Permission::parse(scope).unwrap();
        for r in &requests {
            assert!(!grant.allows(r), "{scope} {r:?}");
            assert!(!p.allows(r), "{scope} {r:?}");
        }
    }
    // Permission::allows is granular only; the transition semantics live on the grant.
    let generic = Permission::parse("transition:generic").unwrap();
    assert!(!generic.allows(&repo("a.b.c", Create)));
}

#[test]
fn transition_generic() {
    check(
        "atproto transition:generic",
        &[
            (repo("app.bsky.feed.post", Create), true),
            (repo("app.bsky.feed.post", Delete), true),
            (repo("com.example.foo", Update), true),
            (blob("foo/bar"), true),
            (blob("video/mp4"), true),
            (rpc("app.bsky.feed.getTimeline", APPVIEW), true),
            (rpc("com.example.foo", "did:web:example.com#x"), true),
            (rpc("*", APPVIEW), true),
            (rpc("chat.bsky.convo.sendMessage", CHAT), false),
            (rpc("chat.bsky.convo.getLog", CHAT), false),
            (account(AccountAttr::Email, Read), false),
            (account(AccountAttr::Status, Manage), false),
            (identity(IdentityAttr::Handle), false),
        ],
    );
}

#[test]
fn transition_chat_bsky() {
    check(
        "atproto transition:chat.bsky",
        &[
            (rpc("chat.bsky.convo.sendMessage", CHAT), true),
            (rpc("chat.bsky.actor.getProfile", APPVIEW), true),
            (rpc("app.bsky.feed.getTimeline", APPVIEW), false),
            (rpc("com.example.foo", APPVIEW), false),
            (rpc("*", APPVIEW), false),
            (repo("chat.bsky.actor.declaration", Create), false),
            (blob("image/png"), false),
        ],
    );
    check(
        "atproto transition:generic transition:chat.bsky",
        &[
            (rpc("chat.bsky.convo.sendMessage", CHAT), true),
            (rpc("app.bsky.feed.getTimeline", APPVIEW), true),
        ],
    );
}

#[test]
fn transition_email() {
    check(
        "atproto transition:email account:repo",
        &[
            (account(AccountAttr::Email, Read), true),
            (account(AccountAttr::Email, Manage), false),
            (account(AccountAttr::Repo, Read), true),
            (account(AccountAttr::Repo, Manage), false),
            (account(AccountAttr::Status, Read), false),
            (account(AccountAttr::Status, Manage), false),
            (repo("a.b.c", Create), false),
        ],
    );
}

#[test]
fn grant_combines_granular_permissions() {
    check(
        "atproto repo:app.bsky.feed.post?action=create rpc:app.bsky.actor.getPreferences?aud=did:web:api.bsky.app%23bsky_appview blob:image/* account:email?action=manage identity:handle",
        &[
            (repo("app.bsky.feed.post", Create), true),
            (repo("app.bsky.feed.post", Delete), false),
            (repo("app.bsky.feed.like", Create), false),
            (rpc("app.bsky.actor.getPreferences", APPVIEW), true),
            (rpc("app.bsky.actor.putPreferences", APPVIEW), false),
            (rpc("app.bsky.actor.getPreferences", CHAT), false),
            (blob("image/webp"), true),
            (blob("video/mp4"), false),
            (account(AccountAttr::Email, Manage), true),
            (account(AccountAttr::Repo, Manage), false),
            (identity(IdentityAttr::Handle), true),
            (identity(IdentityAttr::Any), false),
        ],
    );
}

#[test]
fn scope_needed_for_requests() {
    assert_eq!(
        repo("com.example.foo", Create).scope_needed(),
        "repo:com.example.foo?action=create"
    );
    assert_eq!(repo("*", Create).scope_needed(), "repo:*?action=create");
    assert_eq!(
        rpc("com.example.service", "did:web:example.com#service_id").scope_needed(),
        "rpc:com.example.service?aud=did:web:example.com%23service_id"
    );
    assert_eq!(
        rpc("com.example.method1", "*").scope_needed(),
        "rpc:com.example.method1?aud=*"
    );
    assert_eq!(blob("image/png").scope_needed(), "blob:image/png");
    assert_eq!(
        account(AccountAttr::Email, Read).scope_needed(),
        "account:email"
    );
    assert_eq!(
        account(AccountAttr::Status, Manage).scope_needed(),
        "account:status?action=manage"
    );
    assert_eq!(
        identity(IdentityAttr::Handle).scope_needed(),
        "identity:handle"
    );
    assert_eq!(identity(IdentityAttr::Any).scope_needed(), "identity:*");
    // A needed scope for a valid request is itself a scope that allows the request.
    for r in [
        repo("com.example.foo", Update),
        rpc("com.example.service", APPVIEW),
        blob("image/png"),
        account(AccountAttr::Repo, Manage),
        identity(IdentityAttr::Handle),
    ] {
        assert!(
            Permission::parse(&r.scope_needed()).unwrap().allows(&r),
            "{r:?}"
        );
    }
}
