"""Builds lazy_bind._native against the crate's C header and static library.

The crate lives two directories up (override with LAZY_BIND_REPO=/path). The
build runs `cargo build --release --lib` with CARGO_TARGET_DIR set to
`<repo>/target/cpython-adaptor` (its own directory, so it never waits for a
`cargo test` that holds the main target directory's lock), then links
`liblazy_bind.a` into the extension. The C sources include only
`include/lazy_bind.h` and `runtimes/cpython-common/lazy_bind_cpython.h`
besides Python.h.

`build_py` also puts `src/lazy_bind.pth` at the top of the build directory,
so the wheel carries it at its root and pip installs it into site-packages
(and records it, so `pip uninstall` removes it), as pytest-cov ships its
`.pth`: its one line makes Python children of a lazy program lazy
(`lazy_bind/_subprocess.py`).
"""

import os
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("LAZY_BIND_REPO", HERE.parents[1])).resolve()
TARGET = REPO / "target" / "cpython-adaptor"
ARCHIVE = TARGET / "release" / "liblazy_bind.a"
PTH = HERE / "src" / "lazy_bind.pth"


class BuildWithCargo(build_ext):
    """Builds the crate's static library before compiling the extension."""

    def run(self):
        if not (REPO / "Cargo.toml").is_file() or not (REPO / "include" / "lazy_bind.h").is_file():
            raise SystemExit(
                f"lazy_bind crate not found at {REPO} (set LAZY_BIND_REPO to the repository root)"
            )
        env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
        subprocess.run(
            ["cargo", "build", "--release", "--lib", "--manifest-path", str(REPO / "Cargo.toml")],
            check=True,
            env=env,
        )
        if not ARCHIVE.is_file():
            raise SystemExit(f"cargo did not produce {ARCHIVE}")
        super().run()


class BuildWithPth(build_py):
    """Builds the package and adds the start-up hook ``lazy_bind.pth``
    beside it, at the root of what gets installed."""

    def run(self):
        super().run()
        self.copy_file(str(PTH), str(Path(self.build_lib) / PTH.name), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH.name)]


native = Extension(
    "lazy_bind._native",
    sources=[
        "src/lazy_bind/_native.c",
        "src/lazy_bind/_importer.c",
        "src/lazy_bind/_placeholder.c",
    ],
    # Rebuilt when a header changes, and relinked when the crate's archive
    # does, not only when a source does.
    depends=[
        "src/lazy_bind/_native.h",
        str(REPO / "include" / "lazy_bind.h"),
        str(REPO / "runtimes" / "cpython-common" / "lazy_bind_cpython.h"),
        str(ARCHIVE),
    ],
    include_dirs=[str(REPO / "include"), str(REPO / "runtimes" / "cpython-common")],
    # The C files share symbols (_native.h) that stay private to the module.
    extra_compile_args=[
        "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
        "-fvisibility=hidden",
    ],
    extra_objects=[str(ARCHIVE)],
    # The native libraries Rust's standard library needs, and keep the
    # crate's symbols private to this extension.
    libraries=["pthread", "dl", "m", "rt", "util", "gcc_s"],
    extra_link_args=["-Wl,--exclude-libs,ALL"],
)

setup(ext_modules=[native], cmdclass={"build_ext": BuildWithCargo, "build_py": BuildWithPth})
