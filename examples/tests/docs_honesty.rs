//! Keeps the docs honest: every command quoted in README.md, docs/ and the crate and
//! script READMEs names a binary, example, bench or script that exists, with flags it
//! accepts; every image and every page a page links to exists.
//!
//! Flags are checked against each binary's own `--help`, so renaming a flag without
//! updating the docs fails this test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this package lives in `examples/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ has a parent")
        .to_path_buf()
}

/// Every Markdown file a reader is pointed to.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("scripts/README.md")];
    for dir in ["docs", "docs/src", "crates"] {
        collect_md(&root.join(dir), &mut pages);
    }
    pages.retain(|p| p.exists() && !p.components().any(|c| c.as_os_str() == "target"));
    pages.sort();
    pages.dedup();
    pages
}

fn collect_md(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && name != "book" && name != "fixtures" {
            collect_md(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// One command line quoted in a page.
#[derive(Debug)]
struct Quoted {
    page: PathBuf,
    words: Vec<String>,
}

/// Commands in code blocks and inline code that start with `cargo run`, `cargo bench`
/// or `scripts/`.
fn commands(page: &Path) -> Vec<Quoted> {
    let text = std::fs::read_to_string(page).unwrap();
    let mut found = Vec::new();
    let mut candidates: Vec<String> = Vec::new();
    for line in text.lines() {
        candidates.push(line.trim().to_owned());
        // Inline code spans: `...`
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            candidates.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
    }
    for candidate in candidates {
        let line = candidate.split(" # ").next().unwrap_or("").trim();
        let line = line.trim_start_matches("$ ");
        let quoted = line.starts_with("cargo run ")
            || line.starts_with("cargo bench ")
            || (line.starts_with("scripts/")
                && line.split_whitespace().next().unwrap().ends_with(".sh"));
        if quoted {
            found.push(Quoted {
                page: page.to_path_buf(),
                words: line.split_whitespace().map(str::to_owned).collect(),
            });
        }
    }
    found
}

/// The value of `-p`/`--package` or `--example`/`--bench`/`--bin` in a cargo command.
fn cargo_arg(words: &[String], names: &[&str]) -> Option<String> {
    let cargo_part = words.iter().take_while(|w| *w != "--");
    let mut iter = cargo_part.peekable();
    while let Some(word) = iter.next() {
        if names.contains(&word.as_str()) {
            return iter.next().cloned();
        }
    }
    None
}

/// The flags after `--` (or after the script name), without values.
fn user_flags(words: &[String], from: usize) -> Vec<String> {
    words[from..]
        .iter()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect()
}

/// Does `help` mention `flag` as a whole word?
fn mentions(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let next = help[i + flag.len()..].chars().next();
        !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// The packages with binaries, and the binary each one builds.
fn binaries() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("fib", "fib"),
        ("http-wait", "http-wait"),
        ("pools", "pools"),
        ("isolation-demo", "isolation-demo"),
        ("report", "report"),
    ])
}

/// The debug build of `bin`, built on demand.
fn binary(package: &str, bin: &str) -> PathBuf {
    // This test runs from target/debug/deps/; the binaries are in target/debug/.
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let path = debug.join(bin);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", package, "--bin", bin])
            .current_dir(root())
            .status()
            .unwrap();
        assert!(status.success(), "cannot build {bin}");
    }
    path
}

fn help_of(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .arg("--help")
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} --help failed",
        program.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every quoted `cargo run`, `cargo bench` and script command names something real,
/// with flags that it accepts.
#[test]
fn quoted_commands_exist_and_accept_their_flags() {
    let root = root();
    let examples = std::fs::read_to_string(root.join("examples/Cargo.toml")).unwrap();
    let mut checked = 0;
    for page in pages() {
        for quoted in commands(&page) {
            let words = &quoted.words;
            let at = format!("{}: `{}`", quoted.page.display(), words.join(" "));
            if words[0].starts_with("scripts/") {
                let script = root.join(&words[0]);
                assert!(script.exists(), "{at}: no such script");
                let help = help_of(&script, &[]);
                for flag in user_flags(words, 1) {
                    assert!(mentions(&help, &flag), "{at}: the script has no {flag}");
                }
            } else if let Some(example) = cargo_arg(words, &["--example"]) {
                assert!(
                    examples.contains(&format!("name = \"{example}\"")),
                    "{at}: no example {example} in examples/Cargo.toml"
                );
                let file = examples
                    .split("[[example]]")
                    .find(|s| s.contains(&format!("name = \"{example}\"")))
                    .and_then(|s| s.split("path = \"").nth(1))
                    .and_then(|s| s.split('"').next())
                    .unwrap();
                assert!(
                    root.join("examples").join(file).exists(),
                    "{at}: missing {file}"
                );
            } else if words[1] == "bench" {
                let package = cargo_arg(words, &["-p", "--package"]).expect("bench names -p");
                let bench = cargo_arg(words, &["--bench"]).expect("bench names --bench");
                let manifest =
                    std::fs::read_to_string(root.join("crates").join(&package).join("Cargo.toml"))
                        .unwrap_or_else(|_| panic!("{at}: no package {package}"));
                assert!(
                    manifest.contains(&format!("name = \"{bench}\"")),
                    "{at}: no bench {bench}"
                );
            } else {
                let package = cargo_arg(words, &["-p", "--package"])
                    .unwrap_or_else(|| panic!("{at}: cargo run without -p"));
                let bin = *binaries()
                    .get(package.as_str())
                    .unwrap_or_else(|| panic!("{at}: no binary package {package}"));
                let program = binary(&package, bin);
                let after = words
                    .iter()
                    .position(|w| w == "--")
                    .map_or(words.len(), |i| i + 1);
                let top = help_of(&program, &[]);
                // A subcommand, if the binary has them and the command names one.
                let sub = words[after..]
                    .first()
                    .filter(|w| top.contains("Commands:") && !w.starts_with('-'))
                    .cloned();
                let help = match &sub {
                    Some(sub) => help_of(&program, &[sub]),
                    None => top,
                };
                for flag in user_flags(words, after) {
                    assert!(mentions(&help, &flag), "{at}: {bin} has no {flag}");
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} commands found: is the parser broken?"
    );
}

/// Every image and every local page a page links to exists.
#[test]
fn linked_images_and_pages_exist() {
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let Some(end) = target.find(')') else {
                continue;
            };
            let target = target[..end].split('#').next().unwrap().trim();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{}: links to {target}, which does not exist",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} links found");
}
