//! Keeps the docs honest: every command quoted in README.md, docs/, the crate and
//! script READMEs and the `//!` header of each crate, binary, bench and example names
//! a package, binary, example, bench or script that exists, with flags and flag values
//! it accepts; every image and every page a page links to exists; and every example
//! runs, with the quick arguments its header gives, and prints what its header promises.
//!
//! Names come from `cargo metadata`, never from a text search. Flags and values are
//! checked against the program's own parser: each quoted command is run again with
//! `--help` appended, which makes clap and argparse check every argument before it and
//! print the help. Programs without a `--help` (the hand-written bench parsers) are
//! checked against the `"--flag"` strings in their source.
//!
//! Each check collects every offending `page:line` before it fails, so that one run
//! shows a doc writer all of them.
//!
//! What this cannot see: a value a program checks only after parsing (`pools
//! --task-timeout` takes a string; `scripts/bench.sh --repeat` is checked after its
//! option loop), and the values of flags that have no `--help` to list them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The workspace root (this package lives in `examples/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ has a parent")
        .to_path_buf()
}

/// Fails with every problem at once, one per line.
fn assert_none(problems: &[String], what: &str) {
    assert!(
        problems.is_empty(),
        "{} {what}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------
// The workspace: its targets and their executables.

/// This test's environment, without what `cargo test` set for this package alone.
///
/// Build scripts such as ring's ask to be rerun when `CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME` or `OUT_DIR` change, and cargo compares them with its own
/// environment: left in, they would make the `cargo build` below rebuild those crates
/// here, and again at the next `cargo build` from a shell.
fn cargo_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(key, _)| {
            !(key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_BIN_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_TARGET_TMPDIR")
                || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&key.as_str()))
        })
        .collect()
}

/// One target of a workspace package, as `cargo metadata` describes it.
#[derive(Debug, Clone)]
struct Target {
    package: String,
    /// `bin`, `example`, `bench`, `test` or `lib`.
    kind: String,
    name: String,
    src: PathBuf,
}

/// Every target of every workspace package, from `cargo metadata`.
fn targets() -> &'static [Target] {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .env_clear()
            .envs(cargo_env())
            .current_dir(root())
            .output()
            .expect("cargo metadata runs");
        assert!(out.status.success(), "cargo metadata failed");
        let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut found = Vec::new();
        for package in meta["packages"].as_array().unwrap() {
            for target in package["targets"].as_array().unwrap() {
                found.push(Target {
                    package: package["name"].as_str().unwrap().to_owned(),
                    kind: target["kind"][0].as_str().unwrap().to_owned(),
                    name: target["name"].as_str().unwrap().to_owned(),
                    src: PathBuf::from(target["src_path"].as_str().unwrap()),
                });
            }
        }
        found
    })
}

/// The executables of every binary, bench and example, as (kind, name) → path.
///
/// Built here (a no-op when they are fresh), in the debug profile that `cargo test`
/// already built their dependencies in, so that the flags are checked against this
/// source and never against a stale binary.
fn executables() -> &'static BTreeMap<(String, String), PathBuf> {
    static EXES: OnceLock<BTreeMap<(String, String), PathBuf>> = OnceLock::new();
    EXES.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--workspace",
                "--bins",
                "--examples",
                // Only the bench targets: `--benches` would also build every library
                // and binary again as a test harness.
                "--bench",
                "*",
                "--message-format=json-render-diagnostics",
            ])
            .env_clear()
            .envs(cargo_env())
            .current_dir(root())
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo build runs");
        assert!(out.status.success(), "cargo build of the workspace failed");
        let mut exes = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(exe) = message["executable"].as_str() {
                let kind = message["target"]["kind"][0].as_str().unwrap().to_owned();
                let name = message["target"]["name"].as_str().unwrap().to_owned();
                exes.insert((kind, name), PathBuf::from(exe));
            }
        }
        exes
    })
}

fn executable(target: &Target) -> PathBuf {
    executables()
        .get(&(target.kind.clone(), target.name.clone()))
        .unwrap_or_else(|| panic!("cargo build made no executable for {target:?}"))
        .clone()
}

// ---------------------------------------------------------------------------------
// Finding the quoted commands.

/// Every Markdown file a reader is pointed to, and the file at the root of each target
/// (library, binary, bench, example), whose `//!` header says how to run it.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("scripts/README.md")];
    for dir in ["docs", "crates"] {
        collect_md(&root.join(dir), &mut pages);
    }
    for target in targets() {
        pages.push(target.src.clone());
    }
    // A page reached by two paths (a link) is checked, and named, once.
    let mut pages: Vec<PathBuf> = pages.iter().filter_map(|p| p.canonicalize().ok()).collect();
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
    /// `page:line`, relative to the workspace root.
    at: String,
    words: Vec<String>,
}

impl Quoted {
    fn problem(&self, what: impl std::fmt::Display) -> String {
        format!("{}: `{}`: {what}", self.at, self.words.join(" "))
    }
}

/// Splits a command line into words as a shell would (quotes, no expansion), up to an
/// unquoted ` #` comment.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, '#') if word.is_none() => break,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// Commands in code blocks and inline code: `cargo ...`, `scripts/X.sh ...`,
/// `python3 scripts/X.py ...`, and a workspace binary followed by a flag.
fn commands(page: &Path) -> Vec<Quoted> {
    let text = std::fs::read_to_string(page).unwrap();
    let is_rust = page.extension().is_some_and(|e| e == "rs");
    let bins: BTreeSet<&str> = targets()
        .iter()
        .filter(|t| t.kind == "bin")
        .map(|t| t.name.as_str())
        .collect();
    let shown = page.strip_prefix(root()).unwrap_or(page).display();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = if is_rust {
            // Only the `//!` header of a Rust file is documentation.
            match line.strip_prefix("//!") {
                Some(doc) => doc,
                None => continue,
            }
        } else {
            line
        };
        let mut candidates = vec![line.trim().to_owned()];
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            candidates.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
        for candidate in candidates {
            let words = shell_words(candidate.trim().trim_start_matches("$ "));
            let first = words.first().map_or("", String::as_str);
            let script = |w: Option<&String>| {
                w.is_some_and(|w| {
                    w.starts_with("scripts/") && (w.ends_with(".sh") || w.ends_with(".py"))
                })
            };
            let quoted = (first == "cargo" && words.len() > 1)
                || script(words.first())
                || (first == "python3" && script(words.get(1)))
                || (bins.contains(first) && words.get(1).is_some_and(|w| w.starts_with('-')));
            if quoted {
                found.push(Quoted {
                    at: format!("{shown}:{}", i + 1),
                    words,
                });
            }
        }
    }
    found
}

/// Every value of `-p`/`--package`, `--bench` and so on in the cargo part of a command.
fn cargo_args(words: &[String], names: &[&str]) -> Vec<String> {
    let cargo_part: Vec<&String> = words.iter().take_while(|w| *w != "--").collect();
    let mut values = Vec::new();
    for (i, word) in cargo_part.iter().enumerate() {
        if let Some((flag, value)) = word.split_once('=') {
            if names.contains(&flag) {
                values.push(value.to_owned());
            }
        } else if names.contains(&word.as_str()) {
            values.extend(cargo_part.get(i + 1).map(|v| v.to_string()));
        }
    }
    values
}

// ---------------------------------------------------------------------------------
// Checking a program's arguments against its parser.

/// Does `help` mention `flag` as a whole word?
fn mentions(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let before = help[..i].chars().next_back();
        let next = help[i + flag.len()..].chars().next();
        !matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '-')
            && !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// The fixed set of values `help` lists for `flag`, if it has one: clap's
/// `[possible values: a, b]` or `Possible values:` list, or argparse's `{a,b}`.
fn possible_values(help: &str, flag: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = help.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let start = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with('-') && t.split([' ', ',', '=']).any(|w| w == flag)
    })?;
    // The flag's block: its line, and the lines below until the next flag.
    let mut block = lines[start].to_owned();
    for line in &lines[start + 1..] {
        if line.trim_start().starts_with('-') && indent(line) <= indent(lines[start]) {
            break;
        }
        block.push('\n');
        block.push_str(line);
    }
    if let Some(list) = block.split("[possible values: ").nth(1) {
        let list = list.split(']').next().unwrap();
        return Some(list.split(',').map(|v| v.trim().to_owned()).collect());
    }
    if let Some(list) = block.split("Possible values:").nth(1) {
        let values = list
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .map(|l| l.split(':').next().unwrap().trim().to_owned())
            .collect();
        return Some(values);
    }
    let after = lines[start].split(flag).nth(1)?.trim_start();
    let list = after.strip_prefix('{')?.split('}').next()?;
    Some(list.split(',').map(str::to_owned).collect())
}

/// `--flag` or `--flag=value` in `args`, each with its value if it has one.
fn flags_with_values(args: &[String]) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if !arg.starts_with("--") || arg.len() == 2 {
            continue;
        }
        match arg.split_once('=') {
            Some((flag, value)) => found.push((flag.to_owned(), Some(value.to_owned()))),
            None => {
                let value = args.get(i + 1).filter(|v| !v.starts_with('-')).cloned();
                found.push((arg.clone(), value));
            }
        }
    }
    found
}

/// A program a command runs, and how to call it.
#[derive(Debug)]
struct Program {
    /// How the docs call it, for messages.
    name: String,
    /// The command to run, and the arguments that come before the user's.
    argv: Vec<String>,
    /// The source to search for `"--flag"` strings if it has no `--help`.
    source: Option<PathBuf>,
    /// Whether it may be run with `--help` (an example would just run).
    has_help: bool,
}

/// Runs `program ARGS --help`, with a time limit: its output if that succeeded, and
/// its error output if it did not.
fn help_with(program: &Program, args: &[String]) -> Result<String, String> {
    let asks_help = args.iter().any(|a| a == "--help" || a == "-h");
    let out = run_bounded(
        Command::new(&program.argv[0])
            .args(&program.argv[1..])
            .args(args)
            .args((!asks_help).then_some("--help")),
        Duration::from_secs(60),
    );
    match out {
        Ok(out) if out.success => Ok(out.stdout),
        Ok(out) => Err(out.stderr),
        Err(e) => Err(e),
    }
}

/// Checks `args` against `program`'s parser; returns one line per problem. With
/// `whole`, they are a whole command line, which the parser must accept as it is; a
/// binary named in prose (`pools --url`) only names a flag.
fn check_args(program: &Program, args: &[String], whole: bool, quoted: &Quoted) -> Vec<String> {
    let mut problems = Vec::new();
    let flags = flags_with_values(args);
    if !program.has_help || help_with(program, &[]).is_err() {
        // No `--help` to ask: the flags must at least be in the parser's source.
        let source = program
            .source
            .as_ref()
            .and_then(|s| std::fs::read_to_string(s).ok())
            .unwrap_or_default();
        for (flag, _) in flags {
            if !source.contains(&format!("\"{flag}\"")) {
                problems.push(quoted.problem(format!(
                    "{} has no {flag} (its parser, in its source, never names it)",
                    program.name
                )));
            }
        }
        return problems;
    }
    // The help that describes these arguments: the subcommand's if they name one.
    let accepted = help_with(program, args);
    let help = match &accepted {
        Ok(help) => help.clone(),
        Err(error) => match args.first().filter(|a| !a.starts_with('-')) {
            // The first argument is a subcommand or a positional value.
            Some(sub) => match help_with(program, std::slice::from_ref(sub)) {
                Ok(help) => help,
                // The parser rejects it: the flags after it mean nothing.
                Err(_) => return vec![rejected(program, error, quoted)],
            },
            None => help_with(program, &[]).unwrap_or_default(),
        },
    };
    for (flag, value) in flags {
        if !mentions(&help, &flag) {
            problems.push(quoted.problem(format!("{} has no {flag}", program.name)));
            continue;
        }
        if let (Some(value), Some(allowed)) = (value, possible_values(&help, &flag)) {
            for v in value.split(',') {
                if !allowed.iter().any(|a| a == v) {
                    problems.push(quoted.problem(format!(
                        "{flag} {v}: {} --help allows only {}",
                        program.name,
                        allowed.join(", ")
                    )));
                }
            }
        }
    }
    if let (true, true, Err(error)) = (whole, problems.is_empty(), accepted) {
        // Something the checks above cannot see: a value of the wrong type, a
        // missing argument.
        problems.push(rejected(program, &error, quoted));
    }
    problems
}

/// The parser rejected the arguments: say so in its own words (its `error` line).
fn rejected(program: &Program, stderr: &str, quoted: &Quoted) -> String {
    let line = stderr
        .lines()
        .find(|l| l.to_lowercase().contains("error"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("(no message)");
    quoted.problem(format!("{} rejects it: {}", program.name, line.trim()))
}

// ---------------------------------------------------------------------------------
// Checking one quoted command.

/// The program a `cargo run` or `cargo bench` command ends up running, if any.
fn cargo_program(quoted: &Quoted, problems: &mut Vec<String>) -> Option<Program> {
    let words = &quoted.words;
    let before = problems.len();
    let packages = cargo_args(words, &["-p", "--package"]);
    let in_packages = |t: &&Target| packages.is_empty() || packages.contains(&t.package);
    for package in &packages {
        if !targets().iter().any(|t| &t.package == package) {
            problems.push(quoted.problem(format!("no workspace package {package}")));
        }
    }
    let mut named = Vec::new();
    for (flag, kind) in [
        ("--example", "example"),
        ("--bench", "bench"),
        ("--bin", "bin"),
        ("--test", "test"),
    ] {
        for name in cargo_args(words, &[flag]) {
            match targets()
                .iter()
                .filter(in_packages)
                .find(|t| t.kind == kind && t.name == name)
            {
                Some(target) => named.push(target.clone()),
                None => {
                    let of = if packages.is_empty() {
                        "the workspace".to_owned()
                    } else {
                        packages.join(", ")
                    };
                    problems.push(quoted.problem(format!("{of} has no {kind} target {name}")));
                }
            }
        }
    }
    let runs = match words[1].as_str() {
        "run" => named.into_iter().next().or_else(|| {
            let bins: Vec<&Target> = targets()
                .iter()
                .filter(in_packages)
                .filter(|t| t.kind == "bin")
                .collect();
            match (packages.len(), bins.as_slice()) {
                (1, [bin]) => Some((*bin).clone()),
                // Already reported: a package or target that does not exist.
                _ if problems.len() > before => None,
                _ => {
                    problems.push(quoted.problem("names no single binary to run"));
                    None
                }
            }
        }),
        "bench" => named.into_iter().find(|t| t.kind == "bench"),
        _ => None,
    }?;
    Some(Program {
        name: format!("{} {}", runs.kind, runs.name),
        argv: vec![executable(&runs).display().to_string()],
        source: Some(runs.src.clone()),
        has_help: runs.kind != "example",
    })
}

/// Checks one quoted command; returns one line per problem.
fn check_command(quoted: &Quoted) -> Vec<String> {
    let root = root();
    let words = &quoted.words;
    let mut problems = Vec::new();
    let whole = words[0] == "cargo" || words[0] == "python3" || words[0].starts_with("scripts/");
    let (program, args) = if words[0] == "cargo" {
        // Cargo's own flags, before `--`, against `cargo SUBCOMMAND --help`.
        let cargo = Program {
            name: format!("cargo {}", words[1]),
            argv: vec![env!("CARGO").to_owned(), words[1].clone()],
            source: None,
            has_help: true,
        };
        match help_with(&cargo, &[]) {
            Ok(help) => {
                for word in words[2..].iter().take_while(|w| *w != "--") {
                    let flag = word.split('=').next().unwrap();
                    if flag.starts_with('-') && !mentions(&help, flag) {
                        problems.push(quoted.problem(format!("cargo {} has no {flag}", words[1])));
                    }
                }
            }
            Err(_) => problems.push(quoted.problem(format!("no cargo command {}", words[1]))),
        }
        let after = words
            .iter()
            .position(|w| w == "--")
            .map_or(words.len(), |i| i + 1);
        match cargo_program(quoted, &mut problems) {
            Some(program) => (program, words[after..].to_vec()),
            None => return problems,
        }
    } else {
        // A script, `python3 SCRIPT`, or a workspace binary called by name.
        let python = words[0] == "python3";
        let first = if python { &words[1] } else { &words[0] };
        let args = words[if python { 2 } else { 1 }..].to_vec();
        let program = if first.starts_with("scripts/") {
            let script = root.join(first);
            if !script.exists() {
                problems.push(quoted.problem(format!("no such script {first}")));
                return problems;
            }
            let mut argv = vec![script.display().to_string()];
            if python {
                argv.insert(0, "python3".to_owned());
            }
            let has_python = Command::new("python3").arg("--version").output().is_ok();
            Program {
                name: first.clone(),
                argv,
                source: Some(script),
                has_help: !python || has_python,
            }
        } else {
            let bin = targets()
                .iter()
                .find(|t| t.kind == "bin" && &t.name == first)
                .unwrap();
            Program {
                name: first.clone(),
                argv: vec![executable(bin).display().to_string()],
                source: Some(bin.src.clone()),
                has_help: true,
            }
        };
        (program, args)
    };
    problems.extend(check_args(&program, &args, whole, quoted));
    problems
}

/// Every quoted `cargo`, script and binary command names something real, with flags
/// and flag values that it accepts.
#[test]
fn quoted_commands_exist_and_accept_their_flags() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for quoted in commands(&page) {
            problems.extend(check_command(&quoted));
            checked += 1;
        }
    }
    eprintln!("checked {checked} quoted commands");
    assert!(
        checked >= 40,
        "only {checked} commands found: is the parser broken?"
    );
    assert_none(&problems, "quoted commands are wrong");
}

/// Every image and every local page a page links to exists.
#[test]
fn linked_images_and_pages_exist() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(page).unwrap();
        let dir = page.parent().unwrap();
        let shown = page.strip_prefix(root()).unwrap_or(page).display();
        for (n, line) in text.lines().enumerate() {
            for (i, _) in line.match_indices("](") {
                let target = &line[i + 2..];
                let Some(end) = target.find(')') else {
                    continue;
                };
                let target = target[..end].split('#').next().unwrap().trim();
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                if !dir.join(target).exists() {
                    problems.push(format!(
                        "{shown}:{}: links to {target}, which does not exist",
                        n + 1
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} links found");
    assert_none(&problems, "links are broken");
}

// ---------------------------------------------------------------------------------
// Running the examples.

/// What a bounded run printed.
#[derive(Debug)]
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `command` in its own process group and kills the whole group (workers
/// included) if it takes longer than `limit`.
fn run_bounded(command: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    // Read both pipes on threads, so that a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            return Err(format!("{command:?} still ran after {limit:?}: killed"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        success: status.success(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    })
}

/// The arguments an example's header gives for a quick run: those of its
/// `cargo run ... -- --quick` line, or none.
fn quick_args(example: &Target) -> Vec<String> {
    let page = example.src.clone();
    commands(&page)
        .into_iter()
        .find(|q| q.words.iter().any(|w| w == "--quick"))
        .map(|q| {
            let after = q.words.iter().position(|w| w == "--").unwrap() + 1;
            q.words[after..].to_vec()
        })
        .unwrap_or_default()
}

/// The numbers in a line of output, in order.
fn numbers(line: &str) -> Vec<f64> {
    line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse().ok())
        .collect()
}

/// The lines of `stdout` that start with `word`.
fn rows<'a>(stdout: &'a str, word: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(word))
        .collect()
}

/// Checks what an example printed against what its header promises.
fn check_example(name: &str, stdout: &str, dir: &Path) -> Result<(), String> {
    let ensure = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    match name {
        "01-fibonacci-growth" => {
            // The value column is the Fibonacci sequence.
            let values: Vec<f64> = stdout
                .lines()
                .skip(1)
                .map(|l| numbers(l).get(1).copied().unwrap_or(-1.0))
                .collect();
            ensure(values.len() >= 3, "fewer than 3 rows")?;
            ensure(
                values.windows(3).all(|w| w[2] == w[0] + w[1]),
                "the values are not the Fibonacci sequence",
            )
        }
        "01-context-switches" => {
            for pool in ["process", "thread", "gil"] {
                ensure(rows(stdout, pool).len() == 1, &format!("no {pool} row"))?;
            }
            for pool in ["process", "thread"] {
                let gil = numbers(rows(stdout, pool)[0]).last().copied();
                ensure(gil == Some(0.0), &format!("{pool} shows GIL switches"))?;
            }
            Ok(())
        }
        "02-your-own-task" => {
            // The same answers from every pool, and the right ones.
            let answers: Vec<&str> = stdout
                .lines()
                .filter_map(|l| l.split("primes: ").nth(1))
                .collect();
            ensure(answers.len() == 4, "not four pools")?;
            ensure(
                answers.iter().all(|a| *a == "[2262, 1754, 1229, 669]"),
                "a pool counted wrong",
            )
        }
        "03-one-worker-per-core" => {
            for order in ["longest first", "shortest first"] {
                let line = stdout.lines().find(|l| l.starts_with(order));
                let efficiency = line.and_then(|l| l.split("efficiency").nth(1));
                ensure(
                    efficiency.is_some_and(|e| numbers(e).first().is_some_and(|&e| e > 0.0)),
                    &format!("no efficiency for {order}"),
                )?;
            }
            Ok(())
        }
        "03-event-loop-blocked" => {
            ensure(
                stdout.contains("meanwhile 0 other tasks started or ended"),
                "a task started or ended during the computation",
            )?;
            ensure(
                stdout.contains("Threads that ran the 7 tasks: 1."),
                "the tasks ran on more than one thread",
            )
        }
        "04-draw-your-own-chart" => {
            for file in ["fibo-workers.png", "gil-timeline.png"] {
                let path = dir.join("results/own-chart").join(file);
                let bytes = std::fs::read(&path).unwrap_or_default();
                ensure(
                    bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                    &format!("{} is not a PNG", path.display()),
                )?;
            }
            Ok(())
        }
        "05-fork-copies-memory" => {
            let child = stdout.lines().find(|l| l.starts_with("child"));
            ensure(
                child.is_some_and(|l| l.contains("numbers[0] = 1 ")),
                "the child did not see its own copy (1)",
            )?;
            ensure(
                stdout.contains("changed every number to 42"),
                "the parent did not change the numbers",
            )
        }
        "06-rayon" => ensure(
            stdout.contains("serial:") && stdout.contains("rayon threads"),
            "no serial and parallel lines",
        ),
        "07-1-lost-update" => {
            // [expected, reached, lost] per row. How many load+store loses depends on
            // timing, so only its bound is checked; fetch_add must be exact.
            let row = |name: &str| rows(stdout, name).first().map(|l| numbers(l));
            let (Some(racy), Some(exact)) = (row("load+store"), row("fetch_add")) else {
                return Err("no load+store or fetch_add row".to_owned());
            };
            ensure(
                racy.len() == 3 && exact.len() == 3,
                "a row lacks its numbers",
            )?;
            ensure(
                racy[1] <= racy[0],
                "load+store counted past the expected count",
            )?;
            ensure(
                racy[0] - racy[1] == racy[2],
                "load+store's lost is not the gap",
            )?;
            ensure(
                exact[1] == exact[0] && exact[2] == 0.0,
                "fetch_add lost updates",
            )
        }
        "07-2-pipe-both-ways" => {
            // Each line: sent N from pid P, got N*N from pid C, with C not P.
            let sent = rows(stdout, "sent");
            ensure(sent.len() == 5, "not five exchanges")?;
            for (i, line) in sent.iter().enumerate() {
                let n = numbers(line);
                ensure(n.len() == 4, "an exchange lacks its numbers")?;
                ensure(n[0] == (i + 1) as f64, "the numbers were not sent in order")?;
                ensure(n[2] == n[0] * n[0], "an answer is not the square")?;
                ensure(n[1] != n[3], "the answer came from the parent's own pid")?;
            }
            ensure(
                stdout.contains("child says: done 5"),
                "the child did not count 5 after end of input",
            )
        }
        "07-3-process-shared-mutex" => {
            let row = rows(stdout, "mutex").first().map(|l| numbers(l));
            ensure(
                row.is_some_and(|n| n.len() == 3 && n[0] == n[1] && n[2] == 0.0),
                "the mutex did not make the count exact",
            )
        }
        "07-4-process-shared-barrier" => {
            // Each line: round R: K of N had arrived when the first left; S got the
            // serial return. Nobody leaves early (K == N), and one is picked (S == 1).
            let rounds = rows(stdout, "round");
            ensure(rounds.len() == 5, "not five rounds")?;
            for line in rounds {
                let n = numbers(line);
                ensure(n.len() == 4, "a round lacks its numbers")?;
                ensure(n[1] == n[2], "a process left before the last one arrived")?;
                ensure(n[3] == 1.0, "not exactly one serial return in a round")?;
            }
            Ok(())
        }
        "03-start-method-costs" => {
            for method in ["fork", "forkserver", "spawn"] {
                ensure(rows(stdout, method).len() == 1, &format!("no {method} row"))?;
            }
            Ok(())
        }
        _ => Err("the test does not know what this example promises".to_owned()),
    }
}

/// Every example runs to success with its header's quick arguments, within a time
/// limit, and prints what its header promises. They run in a scratch folder, so that
/// what they write lands there.
#[test]
fn every_example_runs_and_keeps_its_promise() {
    let examples: Vec<&Target> = targets().iter().filter(|t| t.kind == "example").collect();
    assert!(examples.len() >= 12, "only {} examples", examples.len());
    let mut problems = Vec::new();
    for example in examples {
        let dir = tempfile::tempdir().unwrap();
        let args = quick_args(example);
        let started = Instant::now();
        let out = run_bounded(
            Command::new(executable(example))
                .args(&args)
                .current_dir(dir.path()),
            // Each takes a second or two; the margin is for a loaded 2-core machine.
            Duration::from_secs(120),
        );
        let shown = format!("example {} {}", example.name, args.join(" "));
        match out {
            Err(e) => problems.push(format!("{shown}: {e}")),
            Ok(out) if !out.success => {
                problems.push(format!("{shown}: failed:\n{}{}", out.stdout, out.stderr))
            }
            Ok(out) => {
                if let Err(e) = check_example(&example.name, &out.stdout, dir.path()) {
                    problems.push(format!("{shown}: {e}; it printed:\n{}", out.stdout));
                }
            }
        }
        eprintln!("{shown}: {:.1} s", started.elapsed().as_secs_f64());
    }
    assert_none(&problems, "examples broke a promise");
}
