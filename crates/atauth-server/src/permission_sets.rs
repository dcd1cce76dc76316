//! Where `include:` permission sets come from (profile section 5.4): files pinned by the
//! operator first, then (optionally) a network resolver.
//!
//! Pinned files (`--permission-sets DIR`): `DIR/<nsid>.json` applies to every cooperative,
//! `DIR/<cooperative host>/<nsid>.json` to one cooperative and wins over the shared file. Each
//! file is a permission-set lexicon whose `id` is its file name's NSID. They are read once at
//! start; a bad file stops the start-up rather than being skipped silently.

use async_trait::async_trait;
use atauth_protocol::permission::{Permission, PermissionSet};
use atauth_protocol::scope::ScopeSet;
use atauth_protocol::OAuthError;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A source of permission sets by NSID (e.g. the network resolver: DNS TXT, DID, PDS, verified
/// record). The error is a reason for the client's `error_description`.
#[async_trait]
pub trait PermissionSetSource: Send + Sync {
    async fn permission_set(&self, nsid: &str) -> Result<PermissionSet, String>;
}

/// The sets atauth knows: pinned files, then the fallback source if one is configured.
#[derive(Default, Clone)]
pub struct PermissionSets {
    shared: HashMap<String, PermissionSet>,
    /// Cooperative host (lowercase) → its own pinned sets.
    per_cooperative: HashMap<String, HashMap<String, PermissionSet>>,
    fallback: Option<Arc<dyn PermissionSetSource>>,
}

impl std::fmt::Debug for PermissionSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionSets")
            .field("shared", &self.shared.keys().collect::<Vec<_>>())
            .field(
                "per_cooperative",
                &self.per_cooperative.keys().collect::<Vec<_>>(),
            )
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl PermissionSets {
    /// Reads the pinned files under `dir` (layout in the module docs).
    pub fn load_dir(dir: &Path) -> anyhow::Result<Self> {
        let mut sets = Self::default();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            anyhow::anyhow!("cannot read permission sets in {}: {e}", dir.display())
        })?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                let Some(host) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let own = sets
                    .per_cooperative
                    .entry(host.to_ascii_lowercase())
                    .or_default();
                for inner in std::fs::read_dir(&path)? {
                    let file = inner?.path();
                    if let Some(set) = read_set_file(&file)? {
                        own.insert(set.nsid.clone(), set);
                    }
                }
            } else if let Some(set) = read_set_file(&path)? {
                sets.shared.insert(set.nsid.clone(), set);
            }
        }
        Ok(sets)
    }

    /// Adds the source asked for sets no file pins.
    pub fn with_fallback(mut self, source: Arc<dyn PermissionSetSource>) -> Self {
        self.fallback = Some(source);
        self
    }

    /// How many files are pinned (all cooperatives together).
    pub fn pinned_count(&self) -> usize {
        self.shared.len()
            + self
                .per_cooperative
                .values()
                .map(HashMap::len)
                .sum::<usize>()
    }

    /// The set `nsid` for the cooperative served at `host`.
    pub async fn resolve(&self, host: &str, nsid: &str) -> Result<PermissionSet, String> {
        let pinned = self
            .per_cooperative
            .get(&host.to_ascii_lowercase())
            .and_then(|own| own.get(nsid))
            .or_else(|| self.shared.get(nsid));
        if let Some(set) = pinned {
            return Ok(set.clone());
        }
        match &self.fallback {
            Some(source) => source.permission_set(nsid).await,
            None => Err("it is not one of the permission sets this server knows".to_owned()),
        }
    }

    /// Resolves every `include:` of `scopes` (PAR, profile section 5.3 and
    /// checklist 49): the sets, one per NSID, or `invalid_scope` naming the first that fails.
    pub async fn resolve_includes(
        &self,
        host: &str,
        scopes: &ScopeSet,
    ) -> Result<Vec<PermissionSet>, OAuthError> {
        let mut sets: Vec<PermissionSet> = Vec::new();
        for value in scopes.iter() {
            let Ok(Permission::Include(include)) = Permission::parse(value) else {
                continue;
            };
            if sets.iter().any(|s| s.nsid == include.nsid()) {
                continue;
            }
            let set = self.resolve(host, include.nsid()).await.map_err(|reason| {
                OAuthError::invalid_scope(format!(
                    "The permission set \"{}\" could not be resolved: {reason}",
                    include.nsid()
                ))
            })?;
            sets.push(set);
        }
        Ok(sets)
    }
}

/// One pinned file: `None` for files that are not `*.json`.
fn read_set_file(path: &Path) -> anyhow::Result<Option<PermissionSet>> {
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return Ok(None);
    }
    let Some(nsid) = path.file_stem().and_then(|s| s.to_str()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    PermissionSet::from_json_text(nsid, &text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(nsid: &str, title: &str) -> String {
        serde_json::json!({"lexicon": 1, "id": nsid, "defs": {"main": {
            "type": "permission-set", "title": title, "permissions": []}}})
        .to_string()
    }

    struct Fixed;

    #[async_trait]
    impl PermissionSetSource for Fixed {
        async fn permission_set(&self, nsid: &str) -> Result<PermissionSet, String> {
            PermissionSet::from_json_text(nsid, &lexicon(nsid, "network"))
                .map_err(|e| e.to_string())
        }
    }

    #[tokio::test]
    async fn per_cooperative_files_win_then_shared_then_fallback() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("com.example.foo.auth.json"),
            lexicon("com.example.foo.auth", "shared"),
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "not a set").unwrap();
        std::fs::create_dir(dir.path().join("coop-a.test")).unwrap();
        std::fs::write(
            dir.path().join("coop-a.test/com.example.foo.auth.json"),
            lexicon("com.example.foo.auth", "own"),
        )
        .unwrap();
        let sets = PermissionSets::load_dir(dir.path()).unwrap();
        assert_eq!(sets.pinned_count(), 2);
        let title = |set: PermissionSet| set.title.unwrap_or_default();
        let nsid = "com.example.foo.auth";
        assert_eq!(
            title(sets.resolve("COOP-A.test", nsid).await.unwrap()),
            "own"
        );
        assert_eq!(
            title(sets.resolve("coop-b.test", nsid).await.unwrap()),
            "shared"
        );
        assert!(sets
            .resolve("coop-b.test", "com.example.bar.auth")
            .await
            .is_err());
        let sets = sets.with_fallback(Arc::new(Fixed));
        assert_eq!(
            title(
                sets.resolve("coop-b.test", "com.example.bar.auth")
                    .await
                    .unwrap()
            ),
            "network"
        );
        assert_eq!(
            title(sets.resolve("coop-b.test", nsid).await.unwrap()),
            "shared"
        );
    }

    #[tokio::test]
    async fn unresolvable_include_is_invalid_scope() {
        let sets = PermissionSets::default();
        let err = sets
            .resolve_includes(
                "coop-a.test",
                &ScopeSet::parse("atproto include:com.example.foo.auth"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, atauth_protocol::ErrorCode::InvalidScope);
        assert!(err.description.contains("com.example.foo.auth"));
        assert!(sets
            .resolve_includes("coop-a.test", &ScopeSet::parse("atproto repo:a.b.c"))
            .await
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_file_whose_id_differs_from_its_name_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("com.example.foo.auth.json"),
            lexicon("com.example.other.auth", "x"),
        )
        .unwrap();
        let err = PermissionSets::load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("com.example.other.auth"), "{err}");
    }

    #[tokio::test]
    async fn the_shipped_sets_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../permission-sets");
        let sets = PermissionSets::load_dir(&dir).unwrap();
        assert!(sets.pinned_count() >= 4, "{sets:?}");
        let include = match Permission::parse(
            "include:app.bsky.authCreatePosts?aud=did:web:api.bsky.app%23bsky_appview",
        ) {
            Ok(Permission::Include(include)) => include,
            other => panic!("{other:?}"),
        };
        let set = sets.resolve("any.host", include.nsid()).await.unwrap();
        assert_eq!(set.title(&[]), Some("Create Bluesky Posts"));
        let expanded: Vec<String> = set
            .expand(&include)
            .iter()
            .map(Permission::to_scope_string)
            .collect();
        assert_eq!(
            expanded,
            [
                "rpc?lxm=app.bsky.video.abortUpload&lxm=app.bsky.video.finishUpload\
                 &lxm=app.bsky.video.getJobStatus&lxm=app.bsky.video.getUploadLimits\
                 &lxm=app.bsky.video.getUploadStatus&lxm=app.bsky.video.startUpload\
                 &lxm=app.bsky.video.uploadPart&lxm=app.bsky.video.uploadVideo\
                 &aud=did:web:api.bsky.app%23bsky_appview",
                "repo?collection=app.bsky.feed.post&collection=app.bsky.feed.postgate\
                 &collection=app.bsky.feed.threadgate&action=create",
            ]
        );
        // Every shipped set expands to something (no entry of theirs is dropped wholesale).
        for nsid in sets.shared.keys() {
            let include = match Permission::parse(&format!(
                "include:{nsid}?aud=did:web:api.bsky.app%23bsky_appview"
            )) {
                Ok(Permission::Include(include)) => include,
                other => panic!("{other:?}"),
            };
            let set = &sets.shared[nsid];
            assert_eq!(
                set.expand(&include).len(),
                set.permissions.len(),
                "{nsid}: an entry was dropped"
            );
        }
    }
}
