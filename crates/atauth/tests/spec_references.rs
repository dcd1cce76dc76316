//! Every citation of the project's specification resolves (docs/spec/README.md).
//!
//! Comments, tests, scripts and documents cite the spec by number: "Checklist N" (also
//! "Checklists N-M", "Checklist N and M", "Checklist N/M"), "profile section N" or "profile
//! section N.M", "Deliberate difference N" (also "profile difference N" and "profile 3.N"), or by
//! a link to `docs/spec/<page>.md#<anchor>`. Each must name a page of `docs/spec/` and an
//! anchor that page defines with `<a id="..."></a>`. The specification's first drafts lived
//! outside the repository; naming them by file name anywhere outside `docs/spec/` is refused too,
//! since a reader of the repository cannot open them.
//!
//! The scanner works on in-memory text, so the unit tests below show that a bad citation is
//! reported; two tests then run it over the repository.

#![allow(
    clippy::panic,
    reason = "test code: an unreadable repository file fails the test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folder of the specification, relative to the repository root.
const SPEC_DIR: &str = "docs/spec";

/// File stems of the first drafts that lived outside the repository (each followed by `.md`).
/// Written without the extension so that this file does not mention them itself.
const SHARED_DOCUMENT_STEMS: [&str; 5] = [
    "reference-provider",
    "atproto-oauth-profile",
    "rust-ecosystem",
    "peers",
    "DESIGN",
];

/// Directories never scanned: build output, installed packages, and hidden ones (`.git`).
const SKIPPED_DIRS: [&str; 2] = ["target", "node_modules"];

/// Files larger than this are data, not prose or code.
const MAX_SCANNED_BYTES: u64 = 1024 * 1024;

/// A place in the specification: a page of `docs/spec/` and, optionally, an anchor on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    page: String,
    anchor: Option<String>,
}

impl Target {
    fn at(page: &str, anchor: String) -> Self {
        Self {
            page: page.to_string(),
            anchor: Some(anchor),
        }
    }
}

/// One citation found in a file, with every target it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Citation {
    line: usize,
    text: String,
    targets: Vec<Target>,
}

/// A scanned file: its path relative to the repository root and its text.
struct SourceFile {
    path: String,
    text: String,
}

/// The anchors each page of the specification defines.
#[derive(Debug, Default)]
struct Spec {
    pages: BTreeMap<String, BTreeSet<String>>,
}

impl Spec {
    fn from_pages(pages: &[(&str, &str)]) -> Self {
        Self {
            pages: pages
                .iter()
                .map(|(name, text)| (name.to_string(), anchors_in(text)))
                .collect(),
        }
    }

    fn resolves(&self, target: &Target) -> bool {
        match (self.pages.get(&target.page), &target.anchor) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(anchors), Some(anchor)) => anchors.contains(anchor),
        }
    }
}

/// The explicit anchors (`<a id="..."></a>`) of a markdown page.
fn anchors_in(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("<a id=\"") {
        rest = &rest[start + "<a id=\"".len()..];
        if let Some(end) = rest.find('"') {
            anchors.insert(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    anchors
}

/// Whether `c` may be part of a word (so a match next to it is not a whole word).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether the text before byte `at` of `line` ends a word (so a phrase may start there).
fn starts_word(line: &str, at: usize) -> bool {
    !line[..at].chars().next_back().is_some_and(is_word_char)
}

/// Byte offsets of every case-insensitive, whole-word occurrence of `phrase` in `line`.
fn phrase_starts(line: &str, phrase: &str) -> Vec<usize> {
    let lower = line.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower[from..].find(phrase) {
        let at = from + offset;
        if starts_word(line, at) {
            found.push(at);
        }
        from = at + phrase.len();
    }
    found
}

/// The leading decimal number of `text` and the rest, if `text` starts with a digit.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number = text[..digits].parse().ok()?;
    Some((number, &text[digits..]))
}

/// Separators inside a list of numbers; `-` and `–` give a range.
const LIST_SEPARATORS: [(&str, bool); 7] = [
    ("-", true),
    ("–", true),
    (" - ", true),
    ("/", false),
    (", and ", false),
    (", ", false),
    (" and ", false),
];

/// A list of numbers such as `13`, `13-30`, `1 and 11`, `77, 79`, `82/85`, ranges expanded.
/// Returns the numbers and the length of text they took.
fn number_list(text: &str) -> Option<(Vec<u32>, usize)> {
    let (first, mut rest) = leading_number(text)?;
    let mut numbers = vec![first];
    'more: loop {
        for (separator, is_range) in LIST_SEPARATORS {
            let Some(after) = rest.strip_prefix(separator) else {
                continue;
            };
            let Some((next, after_number)) = leading_number(after) else {
                continue;
            };
            let last = numbers.last().copied().unwrap_or(next);
            if is_range && next > last {
                numbers.extend(last + 1..=next);
            } else {
                numbers.push(next);
            }
            rest = after_number;
            continue 'more;
        }
        break;
    }
    Some((numbers, text.len() - rest.len()))
}

/// "Checklist N" forms: each number is an item of the checklist.
fn checklist_citations(line: &str) -> Vec<(String, Vec<Target>)> {
    let mut found = Vec::new();
    for at in phrase_starts(line, "checklist") {
        let after_word = &line[at + "checklist".len()..];
        let after_word = after_word.strip_prefix('s').unwrap_or(after_word);
        let Some(list) = after_word.strip_prefix(' ') else {
            continue;
        };
        if let Some((numbers, used)) = number_list(list) {
            let end = line.len() - list.len() + used;
            let targets = numbers
                .into_iter()
                .map(|n| Target::at("checklist.md", format!("checklist-{n}")))
                .collect();
            found.push((line[at..end].to_string(), targets));
        }
    }
    found
}

/// "profile section N" and "profile section N.M": a section of the profile.
fn profile_section_citations(line: &str) -> Vec<(String, Vec<Target>)> {
    let mut found = Vec::new();
    for at in phrase_starts(line, "profile section ") {
        let after = &line[at + "profile section ".len()..];
        let Some((section, rest)) = leading_number(after) else {
            continue;
        };
        let (anchor, rest) = match rest.strip_prefix('.').and_then(leading_number) {
            Some((subsection, rest)) => (format!("profile-{section}-{subsection}"), rest),
            None => (format!("profile-{section}"), rest),
        };
        let end = line.len() - rest.len();
        found.push((
            line[at..end].to_string(),
            vec![Target::at("profile.md", anchor)],
        ));
    }
    found
}

/// "Deliberate difference N", "profile difference(s) N [and M]" and "profile 3.N": a numbered
/// deliberate difference.
fn difference_citations(line: &str) -> Vec<(String, Vec<Target>)> {
    let mut found = Vec::new();
    let difference = |n: u32| Target::at("differences.md", format!("difference-{n}"));
    for phrase in ["deliberate difference", "profile difference"] {
        for at in phrase_starts(line, phrase) {
            let after_word = &line[at + phrase.len()..];
            let after_word = after_word.strip_prefix('s').unwrap_or(after_word);
            let Some(list) = after_word.strip_prefix(' ') else {
                continue;
            };
            if let Some((numbers, used)) = number_list(list) {
                let end = line.len() - list.len() + used;
                let targets = numbers.into_iter().map(difference).collect();
                found.push((line[at..end].to_string(), targets));
            }
        }
    }
    for at in phrase_starts(line, "profile 3.") {
        let after = &line[at + "profile 3.".len()..];
        if let Some((n, rest)) = leading_number(after) {
            let end = line.len() - rest.len();
            found.push((line[at..end].to_string(), vec![difference(n)]));
        }
    }
    found
}

/// A page name (`profile.md`) at the start of `text`, and the anchor after `#` if any.
fn page_and_anchor(text: &str) -> Option<(Target, usize)> {
    let name_len = text
        .find(".md")
        .filter(|&n| n > 0 && text[..n].chars().all(is_word_char))?;
    let page = text[..name_len + ".md".len()].to_string();
    let rest = &text[page.len()..];
    let (anchor, used) = match rest.strip_prefix('#') {
        Some(after) => {
            let len = after
                .find(|c: char| !(is_word_char(c) || c == '.'))
                .unwrap_or(after.len());
            let anchor = after[..len].trim_end_matches('.');
            (Some(anchor.to_string()), page.len() + 1 + anchor.len())
        }
        None => (None, page.len()),
    };
    Some((Target { page, anchor }, used))
}

/// Links into the spec: `docs/spec/<page>.md[#anchor]` anywhere, `spec/<page>.md[#anchor]` in
/// the top-level `docs/` pages, and `](<page>.md[#anchor])` inside `docs/spec/` itself.
fn link_citations(line: &str, path: &str) -> Vec<(String, Vec<Target>)> {
    let mut prefixes = vec![format!("{SPEC_DIR}/")];
    let in_docs = path.starts_with("docs/") && !path[5..].contains('/');
    if in_docs {
        prefixes.push("spec/".to_string());
    }
    if path.starts_with(&format!("{SPEC_DIR}/")) {
        prefixes.push("](".to_string());
    }
    let mut found = Vec::new();
    for prefix in &prefixes {
        let mut from = 0;
        while let Some(offset) = line[from..].find(prefix.as_str()) {
            let at = from + offset;
            from = at + prefix.len();
            // `spec/` is relative only at the start of a path (or after `./`): not in
            // `docs/spec/` (found by the first prefix) nor in another folder's `spec/`.
            let before = &line[..at];
            let is_nested_prefix =
                prefix == "spec/" && before.ends_with('/') && !before.ends_with("./");
            let follows_word = prefix != "](" && !starts_word(line, at);
            if is_nested_prefix || follows_word {
                continue;
            }
            let Some((target, used)) = page_and_anchor(&line[from..]) else {
                continue;
            };
            let text_start = if prefix == "](" { from } else { at };
            found.push((line[text_start..from + used].to_string(), vec![target]));
        }
    }
    found
}

/// Every citation of the spec in `text` (the file at `path`, relative to the repository root).
fn citations(path: &str, text: &str) -> Vec<Citation> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let in_line = [
            checklist_citations(line),
            profile_section_citations(line),
            difference_citations(line),
            link_citations(line, path),
        ];
        for (text, targets) in in_line.into_iter().flatten() {
            found.push(Citation {
                line: index + 1,
                text,
                targets,
            });
        }
    }
    found
}

/// `path:line: citation -> page#anchor` for every citation target that does not resolve.
fn unresolved_citations(files: &[SourceFile], spec: &Spec) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files {
        for citation in citations(&file.path, &file.text) {
            for target in citation.targets.iter().filter(|t| !spec.resolves(t)) {
                let anchor = target
                    .anchor
                    .as_deref()
                    .map(|a| format!("#{a}"))
                    .unwrap_or_default();
                problems.push(format!(
                    "{}:{}: \"{}\" -> {SPEC_DIR}/{}{anchor} does not exist",
                    file.path, citation.line, citation.text, target.page
                ));
            }
        }
    }
    problems
}

/// `path:line: name` for every mention of a shared document outside `docs/spec/`.
fn shared_document_mentions(files: &[SourceFile]) -> Vec<String> {
    let names: Vec<String> = SHARED_DOCUMENT_STEMS
        .iter()
        .map(|stem| format!("{stem}.md"))
        .collect();
    let mut problems = Vec::new();
    for file in files
        .iter()
        .filter(|f| !f.path.starts_with(&format!("{SPEC_DIR}/")))
    {
        for (index, line) in file.text.lines().enumerate() {
            for name in &names {
                let mut from = 0;
                while let Some(offset) = line[from..].find(name.as_str()) {
                    let at = from + offset;
                    from = at + name.len();
                    if starts_word(line, at) {
                        problems.push(format!("{}:{}: {name}", file.path, index + 1));
                    }
                }
            }
        }
    }
    problems
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every text file of the repository (source, tests, scripts, documents), skipping build
/// output, installed packages and hidden directories.
fn repository_files(root: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().unwrap_or_else(|e| panic!("{name}: {e}"));
            if name.starts_with('.') {
                continue;
            }
            if kind.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    pending.push(path);
                }
                continue;
            }
            let too_big = !matches!(entry.metadata(), Ok(m) if m.len() <= MAX_SCANNED_BYTES);
            if !kind.is_file() || too_big {
                continue;
            }
            // Not UTF-8: an image or other binary file.
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let relative = path.strip_prefix(root).unwrap_or(&path);
            files.push(SourceFile {
                path: relative.to_string_lossy().replace('\\', "/"),
                text,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn repository_spec(files: &[SourceFile]) -> Spec {
    let pages: Vec<(&str, &str)> = files
        .iter()
        .filter_map(|f| {
            let name = f.path.strip_prefix(&format!("{SPEC_DIR}/"))?;
            (!name.contains('/') && name.ends_with(".md")).then_some((name, f.text.as_str()))
        })
        .collect();
    Spec::from_pages(&pages)
}

#[test]
fn every_spec_citation_in_the_repository_resolves() {
    let files = repository_files(&repository_root());
    let spec = repository_spec(&files);
    for page in ["profile.md", "checklist.md", "differences.md", "README.md"] {
        assert!(
            spec.pages.contains_key(page),
            "{SPEC_DIR}/{page} is missing"
        );
    }
    let cited = files
        .iter()
        .map(|f| citations(&f.path, &f.text).len())
        .sum::<usize>();
    assert!(
        cited > 0,
        "no citation found: is the scanner reading the tree?"
    );
    let problems = unresolved_citations(&files, &spec);
    assert!(
        problems.is_empty(),
        "{} citation(s) of the spec do not resolve (see {SPEC_DIR}/README.md):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn no_file_outside_the_spec_names_the_first_drafts() {
    let files = repository_files(&repository_root());
    let problems = shared_document_mentions(&files);
    assert!(
        problems.is_empty(),
        "{} mention(s) of documents that are not in the repository; cite {SPEC_DIR}/ instead:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

mod scanner {
    use super::*;

    /// A small specification: checklist items 1-3, profile sections 1 and 5.2, difference 4.
    fn spec() -> Spec {
        Spec::from_pages(&[
            (
                "checklist.md",
                "- <a id=\"checklist-1\"></a>**1.** a\n- <a id=\"checklist-2\"></a>b\n\
                 - <a id=\"checklist-3\"></a>c\n",
            ),
            (
                "profile.md",
                "<a id=\"profile-1\"></a>\n## 1.\n<a id=\"profile-5-2\"></a>\n### 5.2\n",
            ),
            ("differences.md", "<a id=\"difference-4\"></a>\n### 4.\n"),
        ])
    }

    fn file(path: &str, text: String) -> SourceFile {
        SourceFile {
            path: path.to_string(),
            text,
        }
    }

    /// The anchors `text` cites, in order. The citation words are passed in as arguments so
    /// that this source file does not itself contain the citations it tests.
    fn cited(path: &str, text: &str) -> Vec<String> {
        citations(path, text)
            .into_iter()
            .flat_map(|c| c.targets)
            .map(|t| format!("{}#{}", t.page, t.anchor.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_citation_of_a_missing_checklist_item_is_reported() {
        let text = format!("// {} 2 and {} 7: ...\n", "Checklist", "checklist");
        let problems = unresolved_citations(&[file("crates/x/src/lib.rs", text)], &spec());
        assert_eq!(
            problems,
            vec![format!(
                "crates/x/src/lib.rs:1: \"checklist 7\" -> {SPEC_DIR}/checklist.md#checklist-7 \
                     does not exist"
            )]
        );
    }

    #[test]
    fn a_citation_of_a_missing_section_difference_page_or_anchor_is_reported() {
        let text = format!(
            "a\n// {w} section 2; {w} section 5.2 ok\n// {d} 4, {d} 9\n\
             see {s}/profile.md#profile-9 and {s}/nowhere.md\n",
            w = "profile",
            d = "Deliberate difference",
            s = SPEC_DIR,
        );
        let problems = unresolved_citations(&[file("crates/x/tests/t.rs", text)], &spec());
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("crates/x/tests/t.rs:2: \"profile section 2\""));
        assert!(problems[1].contains("differences.md#difference-9"));
        assert!(problems[2].contains("profile.md#profile-9"));
        assert!(problems[3].ends_with("/nowhere.md does not exist"));
    }

    #[test]
    fn resolving_citations_are_not_reported() {
        let text = format!(
            "// {c} 1-3, {c} 2/3; {p} section 1. {p} 3.4; [x]({s}/checklist.md#checklist-1)\n",
            c = "Checklist",
            p = "profile",
            s = SPEC_DIR,
        );
        assert!(unresolved_citations(&[file("a.rs", text)], &spec()).is_empty());
    }

    #[test]
    fn lists_and_ranges_cite_every_number() {
        let text = format!("{} 1-3, 7 and 9/11.\n", "Checklists");
        let anchors: Vec<String> = cited("a.rs", &text)
            .into_iter()
            .map(|a| a.replace("checklist.md#checklist-", ""))
            .collect();
        assert_eq!(anchors, ["1", "2", "3", "7", "9", "11"]);
    }

    #[test]
    fn every_difference_form_resolves_to_the_same_anchor() {
        let text = format!(
            "{} 4; {} 4; {} 3.4; {} 2 and 4\n",
            "Deliberate difference", "profile difference", "Profile", "profile differences"
        );
        assert_eq!(
            cited("a.rs", &text),
            [
                "differences.md#difference-4",
                "differences.md#difference-4",
                "differences.md#difference-2",
                "differences.md#difference-4",
                "differences.md#difference-4",
            ]
        );
    }

    #[test]
    fn words_that_merely_contain_the_phrase_are_not_citations() {
        let text = format!(
            "a{} 3, the {}: 4, {} section\n",
            "checklist", "checklist", "profile"
        );
        assert!(cited("a.rs", &text).is_empty());
    }

    #[test]
    fn relative_links_count_only_where_they_are_relative_to_the_spec() {
        let text = "[a](profile.md#profile-1) [b](spec/profile.md#profile-1)\n";
        assert_eq!(
            cited("docs/spec/checklist.md", text),
            ["profile.md#profile-1"]
        );
        assert_eq!(
            cited("docs/ARCHITECTURE.md", text),
            ["profile.md#profile-1"]
        );
        let elsewhere = "see other/spec/profile.md#profile-1 or ./spec/profile.md#profile-1\n";
        assert_eq!(
            cited("docs/ARCHITECTURE.md", elsewhere),
            ["profile.md#profile-1"]
        );
        assert!(cited("crates/x/src/lib.rs", text).is_empty());
    }

    #[test]
    fn a_first_draft_named_outside_the_spec_is_reported() {
        let name = format!("{}.md", SHARED_DOCUMENT_STEMS[0]);
        let files = [
            file("crates/x/src/lib.rs", format!("ok\n// see {name} 2.8\n")),
            file("docs/spec/README.md", format!("replaces {name}\n")),
            file("docs/y.md", format!("my-{name} is another file\n")),
        ];
        assert_eq!(
            shared_document_mentions(&files),
            [format!("crates/x/src/lib.rs:2: {name}")]
        );
    }

    #[test]
    fn anchors_are_read_from_explicit_ids() {
        let anchors = anchors_in("<a id=\"x-1\"></a>\n# Title\ntext <a id=\"y\"></a>");
        assert_eq!(
            anchors,
            BTreeSet::from(["x-1".to_string(), "y".to_string()])
        );
    }
}
