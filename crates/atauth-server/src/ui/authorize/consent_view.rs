//! What the consent page says about a requested scope: plain, specific sentences grouped by kind,
//! one card per permission set, and which values the member may withhold
//! (profile section 5.5).

use atauth_protocol::permission::{
    AccountAction, AccountAttr, AccountPermission, Audience, BlobPermission, IdentityAttr,
    NsidSelector, Permission, PermissionSet, RepoAction, RepoPermission, RpcPermission,
    StaticScope,
};
use atauth_protocol::scope::ScopeSet;

/// A sentence on the consent page; `withhold` is the scope value its checkbox grants.
pub struct Line {
    pub text: String,
    pub withhold: Option<String>,
    pub warning: bool,
}

/// A group of sentences of one kind.
pub struct Group {
    pub title: &'static str,
    pub lines: Vec<Line>,
}

/// One card per `include:` permission set.
pub struct SetCard {
    pub title: String,
    pub detail: Option<String>,
    pub nsid: String,
    pub lines: Vec<String>,
}

pub struct ConsentView {
    pub groups: Vec<Group>,
    pub sets: Vec<SetCard>,
    /// Requested values granted without a checkbox (sent back as hidden fields).
    pub fixed: Vec<String>,
    /// Whether the app asks for nothing beyond knowing who the member is (`atproto` alone).
    pub identity_only: bool,
    pub warning: bool,
}

const GROUPS: [&str; 7] = [
    "Your account",
    "Your identity",
    "Records in your repository",
    "Media",
    "Services it can call for you",
    "Broad permissions",
    "Other permissions",
];

/// Builds the page for `scopes` (the stored request's values), with `sets` resolved at PAR and
/// `languages` from `Accept-Language` (preferred first).
pub fn build(scopes: &ScopeSet, sets: &[PermissionSet], languages: &[&str]) -> ConsentView {
    let has_transition = scopes.iter().any(|v| v.starts_with("transition:"));
    let mut grouped: Vec<Vec<Line>> = GROUPS.iter().map(|_| Vec::new()).collect();
    let mut cards = Vec::new();
    let mut fixed = Vec::new();
    let mut warning = false;
    for value in scopes.iter() {
        let Ok(permission) = Permission::parse(value) else {
            fixed.push(value.to_owned());
            continue;
        };
        if let Permission::Include(include) = &permission {
            fixed.push(value.to_owned());
            let Some(set) = sets.iter().find(|s| s.nsid == include.nsid()) else {
                continue;
            };
            cards.push(SetCard {
                title: set.title(languages).unwrap_or(include.nsid()).to_owned(),
                detail: set.detail(languages).map(str::to_owned),
                nsid: include.nsid().to_owned(),
                lines: set
                    .expand(include)
                    .iter()
                    .filter_map(|p| describe(p).map(|(_, text)| text))
                    .collect(),
            });
            continue;
        }
        let Some((group, text)) = describe(&permission) else {
            fixed.push(value.to_owned());
            continue;
        };
        let is_warning =
            matches!(&permission, Permission::Identity(p) if p.attr() == IdentityAttr::Any);
        warning |= is_warning;
        let withhold = is_optional(&permission, has_transition).then(|| value.to_owned());
        if withhold.is_none() {
            fixed.push(value.to_owned());
        }
        grouped[group].push(Line {
            text,
            withhold,
            warning: is_warning,
        });
    }
    let groups: Vec<Group> = GROUPS
        .iter()
        .zip(grouped)
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(title, lines)| Group { title, lines })
        .collect();
    ConsentView {
        identity_only: groups.is_empty() && cards.is_empty(),
        groups,
        sets: cards,
        fixed,
        warning,
    }
}

/// What a member may withhold: e-mail access (only when no `transition:*` scope is requested,
/// as the reference does, since `transition:email` would grant it anyway), media uploads,
/// account status, and the transition e-mail and chat scopes.
fn is_optional(permission: &Permission, has_transition: bool) -> bool {
    match permission {
        Permission::Account(p) if p.attr() == AccountAttr::Email => !has_transition,
        Permission::Account(p) => p.attr() == AccountAttr::Status,
        Permission::Blob(_) => true,
        Permission::Static(s) => matches!(
            s,
            StaticScope::TransitionEmail | StaticScope::TransitionChatBsky
        ),
        _ => false,
    }
}

/// The group index and sentence for one permission; `None` for `atproto` (says nothing beyond
/// the account, shown in the heading) and `include:` (shown as a card).
pub fn describe(permission: &Permission) -> Option<(usize, String)> {
    match permission {
        Permission::Static(s) => describe_static(*s),
        Permission::Account(p) => Some((0, describe_account(p))),
        Permission::Identity(p) => Some((
            1,
            match p.attr() {
                IdentityAttr::Handle => "Change your handle".to_owned(),
                IdentityAttr::Any => {
                    "Full control of your identity: change your handle, your keys \
                and where your account is hosted. An app with this permission could take over \
                your account; allow it only for an app you fully trust."
                        .to_owned()
                }
            },
        )),
        Permission::Repo(p) => Some((2, describe_repo(p))),
        Permission::Blob(p) => Some((3, describe_blob(p))),
        Permission::Rpc(p) => Some((4, describe_rpc(p))),
        Permission::Include(_) => None,
    }
}

fn describe_static(s: StaticScope) -> Option<(usize, String)> {
    match s {
        StaticScope::Atproto => None,
        StaticScope::TransitionGeneric => Some((
            5,
            "Read and write all your data: posts, likes, follows, profile and other records, \
             media uploads and calls to services (everything except direct messages and \
             account settings). This broad permission predates fine-grained permissions."
                .to_owned(),
        )),
        StaticScope::TransitionEmail => Some((0, "See your e-mail address".to_owned())),
        StaticScope::TransitionChatBsky => {
            Some((5, "Read and send your Bluesky direct messages".to_owned()))
        }
    }
}

fn describe_account(p: &AccountPermission) -> String {
    let manage = p.actions().contains(&AccountAction::Manage);
    match (p.attr(), manage) {
        (AccountAttr::Email, false) => "See your e-mail address".to_owned(),
        (AccountAttr::Email, true) => "See and change your e-mail address".to_owned(),
        (AccountAttr::Repo, false) => "Read your repository's hosting settings".to_owned(),
        (AccountAttr::Repo, true) => {
            "Import data into your repository (for example when moving your account)".to_owned()
        }
        (AccountAttr::Status, false) => "See whether your account is active".to_owned(),
        (AccountAttr::Status, true) => "Deactivate or reactivate your account".to_owned(),
    }
}

fn describe_repo(p: &RepoPermission) -> String {
    let verbs: Vec<&str> = p
        .actions()
        .map(|a| match a {
            RepoAction::Create => "create",
            RepoAction::Update => "change",
            RepoAction::Delete => "delete",
        })
        .collect();
    let what = match p.collections() {
        NsidSelector::Any => "records of every kind".to_owned(),
        NsidSelector::Only(list) => list
            .iter()
            .map(|c| named(c, collection_name(c)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!("{}: {what}", capitalise(&join_words(&verbs)))
}

fn describe_blob(p: &BlobPermission) -> String {
    let kinds: Vec<String> = p
        .accept()
        .map(|mime| match mime {
            "*/*" => "files of any type".to_owned(),
            "image/*" => "images".to_owned(),
            "video/*" => "videos".to_owned(),
            "audio/*" => "audio".to_owned(),
            other => format!("files of type {other}"),
        })
        .collect();
    format!("Upload {}", join_words(&kinds))
}

fn describe_rpc(p: &RpcPermission) -> String {
    let methods = match p.lxm() {
        NsidSelector::Any => "any method".to_owned(),
        NsidSelector::Only(list) => list.join(", "),
    };
    let service = match p.aud() {
        Audience::Any => "any service".to_owned(),
        other => named(other.as_str(), service_name(other.as_str())),
    };
    format!("Call {methods} on {service}")
}

/// Friendly names for Bluesky's public services.
fn service_name(aud: &str) -> Option<&'static str> {
    Some(match aud {
        "did:web:api.bsky.app#bsky_appview" => "the Bluesky app view",
        "did:web:api.bsky.chat#bsky_chat" => "Bluesky chat",
        "did:web:video.bsky.app#bsky_video" => "the Bluesky video service",
        _ => return None,
    })
}

/// Friendly names for common Bluesky collections.
fn collection_name(nsid: &str) -> Option<&'static str> {
    Some(match nsid {
        "app.bsky.feed.post" => "posts",
        "app.bsky.feed.like" => "likes",
        "app.bsky.feed.repost" => "reposts",
        "app.bsky.feed.threadgate" => "who can reply to your posts",
        "app.bsky.feed.postgate" => "who can quote your posts",
        "app.bsky.feed.generator" => "custom feeds",
        "app.bsky.graph.follow" => "follows",
        "app.bsky.graph.block" => "blocks",
        "app.bsky.graph.list" => "lists",
        "app.bsky.graph.listitem" => "list members",
        "app.bsky.graph.listblock" => "blocked lists",
        "app.bsky.graph.starterpack" => "starter packs",
        "app.bsky.graph.verification" => "verifications",
        "app.bsky.actor.profile" => "your profile",
        "app.bsky.actor.status" => "your live status",
        "app.bsky.labeler.service" => "your labeler service",
        "app.bsky.notification.declaration" => "who can notify you",
        "chat.bsky.actor.declaration" => "who can message you",
        _ => return None,
    })
}

fn named(nsid: &str, friendly: Option<&str>) -> String {
    match friendly {
        Some(name) => format!("{name} ({nsid})"),
        None => nsid.to_owned(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    match words {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Language tags from `Accept-Language`, most preferred first (RFC 9110 section 12.5.4); `*`
/// and tags with `q=0` are left out.
pub fn accept_languages(header: Option<&str>) -> Vec<String> {
    let mut tags: Vec<(String, u16)> = header
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q * 1000.0) as u16)
                })?;
            (!tag.is_empty() && tag != "*" && q > 0 && tag.len() <= 35).then(|| (tag.to_owned(), q))
        })
        .take(16)
        .collect();
    tags.sort_by_key(|t| std::cmp::Reverse(t.1));
    tags.into_iter().map(|(tag, _)| tag).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(scope: &str) -> String {
        describe(&Permission::parse(scope).unwrap()).unwrap().1
    }

    #[test]
    fn sentences_are_plain_and_specific() {
        assert_eq!(
            text("repo:app.bsky.feed.post?action=create"),
            "Create: posts (app.bsky.feed.post)"
        );
        assert_eq!(
            text("repo?collection=app.bsky.feed.like&collection=com.example.thing"),
            "Create, change and delete: likes (app.bsky.feed.like), com.example.thing"
        );
        assert_eq!(
            text("repo:*"),
            "Create, change and delete: records of every kind"
        );
        assert_eq!(
            text("blob?accept=image/*&accept=video/mp4"),
            "Upload images and files of type video/mp4"
        );
        assert_eq!(
            text("rpc:app.bsky.actor.getProfile?aud=did:web:api.bsky.app%23bsky_appview"),
            "Call app.bsky.actor.getProfile on the Bluesky app view (did:web:api.bsky.app#bsky_appview)"
        );
        assert_eq!(text("account:email"), "See your e-mail address");
        assert_eq!(
            text("account:email?action=manage"),
            "See and change your e-mail address"
        );
        assert_eq!(
            text("account:status?action=manage"),
            "Deactivate or reactivate your account"
        );
        assert_eq!(text("identity:handle"), "Change your handle");
        assert!(text("identity:*").contains("take over your account"));
        assert!(describe(&Permission::parse("atproto").unwrap()).is_none());
    }

    #[test]
    fn e_mail_is_optional_only_without_transition_scopes() {
        let view = build(
            &ScopeSet::parse("atproto account:email repo:a.b.c"),
            &[],
            &[],
        );
        let optional: Vec<_> = view
            .groups
            .iter()
            .flat_map(|g| &g.lines)
            .filter_map(|l| l.withhold.clone())
            .collect();
        assert_eq!(optional, ["account:email"]);
        assert_eq!(view.fixed, ["atproto", "repo:a.b.c"]);
        let view = build(
            &ScopeSet::parse("atproto account:email transition:generic"),
            &[],
            &[],
        );
        assert!(view.fixed.contains(&"account:email".to_owned()));
    }

    #[test]
    fn atproto_alone_lists_nothing() {
        let view = build(&ScopeSet::parse("atproto"), &[], &[]);
        assert!(view.identity_only && view.groups.is_empty() && view.sets.is_empty());
        let view = build(&ScopeSet::parse("atproto identity:*"), &[], &[]);
        assert!(view.warning && !view.identity_only);
    }

    #[test]
    fn accept_language_orders_by_quality() {
        assert_eq!(
            accept_languages(Some("de;q=0.5, fr-CA, en;q=0.8, *;q=0.1, es;q=0")),
            ["fr-CA", "en", "de"]
        );
        assert!(accept_languages(None).is_empty());
        assert_eq!(accept_languages(Some("fr;q=bad, en")), ["en"]);
    }
}
