//! Drives the C and C++ tests in `ffi-tests/`: each is compiled against
//! `include/lazy_bind.h` and the static library this `cargo test` just built
//! (with `-Wall -Wextra -Wpedantic -Werror`, AddressSanitizer and UBSan), run
//! under a timeout, and must exit 0. The lifecycle test also runs once under
//! Valgrind. A missing compiler or tool fails the test; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one test program may run before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Native libraries the Rust static library needs (from
/// `rustc --print native-static-libs`).
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

const WARNINGS: &[&str] = &["-Wall", "-Wextra", "-Wpedantic", "-Werror"];

const SANITIZERS: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
    "-g",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `liblazy_bind.a` and `liblazy_bind.so` built for
/// this test run: cargo builds every crate type of the library into the
/// same `deps` directory as this test executable.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let dir = exe.parent().expect("the test executable is in a directory");
    let archive = dir.join("liblazy_bind.a");
    assert!(
        archive.exists(),
        "{} is missing: the library's staticlib crate type was not built",
        archive.display()
    );
    dir.to_path_buf()
}

/// A fresh directory for this test's outputs.
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ffi-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the output directory can be created");
    dir
}

/// Which compiler and standard.
#[derive(Clone, Copy)]
enum Lang {
    C11,
    Cpp17,
    /// A C test compiled as C++17: the header and the tests must be valid
    /// in both languages.
    CAsCpp17,
}

/// Compiles `sources` (relative to `ffi-tests/`) into `exe`, linking the
/// static library. Panics with the compiler's output on failure.
fn compile(lang: Lang, sources: &[&str], extra: &[&str], exe: &Path) {
    let output = compiler_output(lang, sources, extra, exe);
    assert!(
        output.status.success(),
        "{} failed for {sources:?}:\n{}",
        compiler(lang),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The compiler command for `lang`.
fn compiler(lang: Lang) -> &'static str {
    match lang {
        Lang::C11 => "cc",
        Lang::Cpp17 | Lang::CAsCpp17 => "c++",
    }
}

/// Runs the compiler as [`compile`] does and returns its output, whether
/// it succeeded or not.
fn compiler_output(lang: Lang, sources: &[&str], extra: &[&str], exe: &Path) -> Output {
    let compiler = compiler(lang);
    let (standard, source_language) = match lang {
        Lang::C11 => ("-std=c11", "c"),
        Lang::Cpp17 | Lang::CAsCpp17 => ("-std=c++17", "c++"),
    };
    let mut command = Command::new(compiler);
    command
        .arg(standard)
        .args(WARNINGS)
        .args(extra)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("ffi-tests/c"))
        .args(["-x", source_language])
        .args(
            sources
                .iter()
                .map(|source| root().join("ffi-tests").join(source)),
        )
        .args(["-x", "none"])
        .arg(library_dir().join("liblazy_bind.a"))
        .args(NATIVE_LIBS)
        .arg("-pthread")
        .arg("-o")
        .arg(exe);
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {compiler}: {error}"))
}

/// Runs `command` with a timeout; returns its stdout. Panics (with its
/// output) if it fails or hangs.
fn run(mut command: Command) -> String {
    let shown = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {shown}: {error}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting works").is_some() {
            break;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let output = child
                .wait_with_output()
                .expect("the killed child is reaped");
            panic!(
                "{shown} hung for {TIMEOUT:?} and was killed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child
        .wait_with_output()
        .expect("the child's output is read");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{shown} failed with {}:\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A command running `exe` with the sanitizers' options.
fn sanitized(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    command
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    command
}

/// Compiles one C test with the sanitizers, as C11 and as C++17, runs both
/// and returns the C11 run's output (the C++ run must print the same).
fn c_test(name: &str) -> String {
    c_test_with_args(name, &[])
}

/// As [`c_test`], passing `args` to both programs.
fn c_test_with_args(name: &str, args: &[&Path]) -> String {
    let dir = out_dir(name);
    let source = format!("c/{name}.c");
    let c_exe = dir.join(name);
    compile(Lang::C11, &[&source], SANITIZERS, &c_exe);
    let mut command = sanitized(&c_exe);
    command.args(args);
    let c_output = run(command);
    let cpp_exe = dir.join(format!("{name}_cpp"));
    compile(Lang::CAsCpp17, &[&source], SANITIZERS, &cpp_exe);
    let mut command = sanitized(&cpp_exe);
    command.args(args);
    assert_eq!(run(command), c_output, "{name} as C++17");
    c_output
}

#[test]
fn lifecycle() {
    assert!(c_test("lifecycle").contains("lifecycle: ok"));
}

#[test]
fn resolver_failures_carry_the_runtime_error() {
    assert!(c_test("failure").contains("failure: ok"));
}

#[test]
fn resolvers_can_reenter_the_engine() {
    assert!(c_test("reentry").contains("reentry: ok"));
}

#[test]
fn same_thread_cycle_is_reported_with_its_chain() {
    assert!(c_test("cycle").contains("cycle: ok"));
}

#[test]
fn two_thread_deadlock_is_reported_not_hung() {
    assert!(c_test("deadlock").contains("deadlock: ok"));
}

#[test]
fn nested_c_resolvers_pass_cycles_deadlocks_and_failures_up_unchanged() {
    assert!(c_test("nested").contains("nested: ok"));
}

#[test]
fn deadlock_through_a_runtime_lock_is_reported_in_either_order() {
    assert!(c_test("external_wait").contains("external_wait: ok"));
}

#[test]
fn global_lock_runtime_waits_through_block_and_wake_hooks() {
    assert!(c_test("gil").contains("gil: ok"));
}

#[test]
fn null_and_stale_misuse_returns_statuses() {
    assert!(c_test("misuse").contains("misuse: ok"));
}

#[test]
fn policy_parses_decides_filters_and_switches_phase() {
    assert!(c_test("policy").contains("policy: ok"));
}

/// The C program writes a Chrome trace into a directory it is given; the
/// file must be JSON with the resolution and the policy decision in it.
#[test]
fn trace_recorder_reports_and_chrome_trace() {
    let files = out_dir("trace_files");
    assert!(c_test_with_args("trace", &[&files]).contains("trace: ok"));
    let text = std::fs::read_to_string(files.join("trace.json")).expect("the trace was written");
    let trace: serde_json::Value = serde_json::from_str(&text).expect("the trace is JSON");
    assert_eq!(trace["otherData"]["dropped_events"], 0);
    let events = trace["traceEvents"]
        .as_array()
        .expect("a traceEvents array");
    let named = |name: &str, phase: &str| {
        events
            .iter()
            .any(|event| event["name"] == name && event["ph"] == phase)
    };
    assert!(named("json", "X"), "the resolution of json: {text}");
    assert!(named("defer csv", "i"), "the deferral of csv: {text}");
    assert!(
        named("policy numpy: lazy", "i"),
        "the policy decision: {text}"
    );
}

/// The fixture library of `tests/native.rs`, built with the system C
/// compiler, is passed to the C program by path.
#[test]
fn native_symbols_load_on_first_access_and_report_missing_ones() {
    let dir = out_dir("native_fixture");
    let library = dir.join("libnative_fixture.so");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(root().join("tests/fixtures/native_fixture.c"))
        .output()
        .unwrap_or_else(|error| panic!("cannot run cc: {error}"));
    assert!(
        output.status.success(),
        "cc failed on the fixture:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(c_test_with_args("native", &[&library]).contains("native: ok"));
}

#[test]
fn import_bindings_run_through_the_import_hooks() {
    assert!(c_test("imports").contains("imports: ok"));
}

#[test]
fn header_and_library_versions_agree() {
    assert!(c_test("version").contains("version: ok"));
}

/// Every function returning a `lazy_bind_result` is `warn_unused_result`:
/// ignoring one fails to compile under `-Werror=unused-result` (in C and in
/// C++), while the same program using the status compiles and runs.
#[test]
fn discarding_a_result_is_a_compile_error() {
    let dir = out_dir("discarded_result");
    let source = "c/discarded_result.c";
    for (lang, name) in [(Lang::C11, "c"), (Lang::CAsCpp17, "cpp")] {
        let exe = dir.join(format!("discarded_{name}"));
        let output = compiler_output(lang, &[source], &["-Werror=unused-result"], &exe);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{name}: compiled despite the ignored result"
        );
        assert!(
            stderr.contains("warn_unused_result") && stderr.contains("lazy_bind_engine_new"),
            "{name}: failed for another reason:\n{stderr}"
        );
        let exe = dir.join(format!("used_{name}"));
        compile(
            lang,
            &[source],
            &["-DUSE_RESULT", "-Werror=unused-result"],
            &exe,
        );
        assert!(run(Command::new(&exe)).contains("discarded_result: ok"));
    }
}

#[test]
fn two_units_including_the_header_twice_link_together() {
    let exe = out_dir("double_include").join("double_include");
    compile(
        Lang::C11,
        &["c/double_include_a.c", "c/double_include_b.c"],
        SANITIZERS,
        &exe,
    );
    assert!(run(sanitized(&exe)).contains("double_include: ok"));
}

#[test]
fn the_header_works_from_cpp17() {
    let exe = out_dir("abi_test").join("abi_test");
    compile(Lang::Cpp17, &["cpp/abi_test.cpp"], SANITIZERS, &exe);
    assert!(run(sanitized(&exe)).contains("abi_test: ok"));
}

#[test]
fn lifecycle_is_clean_under_valgrind() {
    let exe = out_dir("lifecycle_valgrind").join("lifecycle");
    compile(Lang::C11, &["c/lifecycle.c"], &["-g"], &exe);
    let mut command = Command::new("valgrind");
    command
        .args([
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--trace-children=yes",
            "--quiet",
        ])
        .arg(&exe);
    assert!(run(command).contains("lifecycle: ok"));
}

/// The inline fast path against a raw acquire load. Timed in the same run
/// (`ffi-tests/c/bench_fast_path.c`, printed only: on a busy machine the
/// ratio swings from about 1.2 to over 3) and counted under callgrind
/// (`benches/instructions/fast_path.c`), which gives the same count on
/// every run and is what is asserted: `lazy_bind_get_fast` costs at most 3
/// instructions more than a raw acquire load (the load of the word, the
/// compare, the branch), while a fast path that stopped being inline (a
/// call, let alone a lock) would cost dozens. Both programs are compiled
/// with `-O2`; the loops are header code only, so linking the debug library
/// does not change them.
#[test]
fn fast_path_costs_about_a_raw_acquire_load() {
    let dir = out_dir("bench_fast_path");
    let exe = dir.join("bench_fast_path");
    compile(Lang::C11, &["c/bench_fast_path.c"], &["-O2"], &exe);
    println!("{}", run(Command::new(&exe)));

    let probe = dir.join("fast_path_probe");
    let source = "../benches/instructions/fast_path.c";
    compile(Lang::C11, &[source], &["-O2"], &probe);
    const N: u64 = 100_000;
    let per_access = |case: &str| {
        let count = |n: u64| callgrind_instructions(&probe, &dir, &[case, &n.to_string()]);
        (count(2 * N) - count(N)) as f64 / N as f64
    };
    let empty = per_access("empty");
    let raw = per_access("raw") - empty;
    let fast = per_access("fast") - empty;
    println!("instructions per access: raw acquire load {raw}, lazy_bind_get_fast {fast}");
    assert!(
        fast - raw <= 3.0,
        "lazy_bind_get_fast costs {fast} instructions, a raw acquire load {raw}"
    );
}

/// The instructions one run of `exe args` executes, counted by callgrind.
fn callgrind_instructions(exe: &Path, dir: &Path, args: &[&str]) -> u64 {
    let out = dir.join(format!("callgrind.{}", args.join(".")));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(args);
    run(command);
    let counts = std::fs::read_to_string(&out).expect("callgrind writes its counts");
    counts
        .lines()
        .find_map(|line| line.strip_prefix("summary: "))
        .expect("callgrind's output has a summary line")
        .trim()
        .parse()
        .expect("the summary is a count")
}

/// The output of `pkg-config ARGS lazy_bind` for the installed prefix,
/// split into arguments.
fn pkg_config(pc_dir: &Path, args: &[&str]) -> Vec<String> {
    let output = Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", pc_dir)
        .args(args)
        .arg("lazy_bind")
        .output()
        .unwrap_or_else(|error| panic!("cannot run pkg-config: {error}"));
    assert!(
        output.status.success(),
        "pkg-config {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("pkg-config prints UTF-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// `scripts/install.sh` into a temporary prefix (reusing the library this
/// test run built), then a program built with only `pkg-config --cflags
/// --libs lazy_bind`: against the shared library, and with `--static`
/// against the static one.
#[test]
fn installed_library_links_through_pkg_config_shared_and_static() {
    let dir = out_dir("pkg_config");
    let prefix = dir.join("prefix");
    run({
        let mut command = Command::new("sh");
        command
            .arg(root().join("scripts/install.sh"))
            .arg("--no-build")
            .arg("--from")
            .arg(library_dir())
            .arg(&prefix);
        command
    });
    let pc_dir = prefix.join("lib/pkgconfig");
    let source = root().join("ffi-tests/c/pkg_config_smoke.c");
    let build = |exe: &Path, flags: Vec<String>| {
        let output = Command::new("cc")
            .arg("-std=c11")
            .args(WARNINGS)
            .arg(&source)
            .args(&flags)
            .arg("-o")
            .arg(exe)
            .output()
            .expect("cc runs");
        assert!(
            output.status.success(),
            "cc {flags:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };

    let shared = dir.join("smoke_shared");
    build(&shared, pkg_config(&pc_dir, &["--cflags", "--libs"]));
    let mut command = Command::new(&shared);
    command.env("LD_LIBRARY_PATH", prefix.join("lib"));
    assert!(run(command).contains("pkg_config_smoke: ok"));
    let shared_libs = loaded_objects(&shared, &prefix.join("lib"));
    assert!(
        shared_libs.contains(&format!("{}", prefix.join("lib/liblazy_bind.so").display())),
        "the shared build must load the installed liblazy_bind.so:\n{shared_libs}"
    );

    let fully_static = dir.join("smoke_static");
    build(
        &fully_static,
        pkg_config(
            &pc_dir,
            &[
                "--static",
                "--define-variable=linkname=:liblazy_bind.a",
                "--cflags",
                "--libs",
            ],
        ),
    );
    assert!(run(Command::new(&fully_static)).contains("pkg_config_smoke: ok"));
    let static_libs = loaded_objects(&fully_static, &prefix.join("lib"));
    assert!(
        !static_libs.contains("liblazy_bind"),
        "the static build must not load liblazy_bind.so:\n{static_libs}"
    );
}

/// The shared objects the dynamic loader would load for `exe` (what `ldd`
/// prints), with `lib_dir` on the library path.
fn loaded_objects(exe: &Path, lib_dir: &Path) -> String {
    let mut command = Command::new(exe);
    command
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .env("LD_LIBRARY_PATH", lib_dir);
    run(command)
}
