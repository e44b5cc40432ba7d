//! Helpers shared by the integration tests: the binary, the fixture, PNG
//! decoding, and the workspace's other binaries (`pools`).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `report` binary, ready for arguments.
pub fn report() -> Command {
    Command::cargo_bin("report").expect("the report binary is built")
}

/// `report --in input --out out`, ready for more arguments.
pub fn draw(input: impl AsRef<Path>, out: impl AsRef<Path>) -> Command {
    let mut command = report();
    command
        .arg("--in")
        .arg(input.as_ref())
        .arg("--out")
        .arg(out.as_ref());
    command
}

/// The realistic fixture: what `pools --experiment all` writes for 8 tasks per pool
/// on a 2-core machine (simulated; the GIL switch interval is 25 ms to keep the
/// held-interval file to a few hundred rows).
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/realistic")
}

/// Copies the fixture into `dir` (created), keeping only the files `keep` accepts,
/// so that a test can damage or remove files without touching the original.
pub fn copy_fixture(dir: &Path, keep: impl Fn(&str) -> bool) {
    fs::create_dir_all(dir).unwrap();
    for entry in fs::read_dir(fixture()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if keep(&name) {
            fs::copy(entry.path(), dir.join(&name)).unwrap();
        }
    }
}

/// The names of the files in `dir`, sorted; empty if `dir` does not exist.
pub fn file_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A decoded RGB image.
pub struct Rgb {
    /// Width, in pixels.
    pub width: u32,
    /// Height, in pixels.
    pub height: u32,
    /// Row by row from the top, each pixel's red, green and blue.
    pub pixels: Vec<[u8; 3]>,
}

/// Decodes a PNG file, failing the test if it is not a valid 8-bit RGB(A) PNG.
pub fn decode_png(path: &Path) -> Rgb {
    let decoder = png::Decoder::new(fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("valid PNG data");
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Rgb {
        width: info.width,
        height: info.height,
        pixels,
    }
}

/// Number of data rows (lines after the header) in a CSV.
pub fn csv_rows(path: &Path) -> usize {
    fs::read_to_string(path).unwrap().lines().count() - 1
}

/// A binary of another package of this workspace, from this build, built first if
/// need be. (`Command::cargo_bin` finds only this package's own binaries; see
/// `tests/cpython.rs`.)
#[allow(dead_code)] // not every test file runs another package's binary
pub fn workspace_binary(package: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let mut dir = test.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    let path = dir.join(package);
    if !path.is_file() {
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", package, "--bin", package]);
        if path.parent().is_some_and(|dir| dir.ends_with("release")) {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build -p {package} failed");
    }
    assert!(path.is_file(), "no {package} binary at {}", path.display());
    path
}

/// Runs `program` with `args`, failing the test with its output if it fails.
#[allow(dead_code)]
pub fn run(program: &mut std::process::Command) {
    let out = program.output().unwrap();
    assert!(
        out.status.success(),
        "{program:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
