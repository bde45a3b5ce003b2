"""Make DEST an exact copy of SRC, touching only files whose content differs.

    python3 sync_tree.py SRC DEST

Files that are the same in both keep DEST's modification time, so `make` in
an out-of-tree build of DEST rebuilds only what really changed. Files and
directories in DEST that SRC lacks are removed. `__pycache__` directories
are left alone on both sides: they are what each interpreter writes for
itself. Prints how many files it copied and removed.
"""

import filecmp
import os
import shutil
import sys

CACHE = "__pycache__"


def sync(src, dest):
    copied = removed = 0
    for here, dirs, files in os.walk(src):
        dirs[:] = [name for name in dirs if name != CACHE]
        rel = os.path.relpath(here, src)
        target = os.path.normpath(os.path.join(dest, rel))
        os.makedirs(target, exist_ok=True)
        wanted = set(dirs) | set(files) | {CACHE}
        for name in os.listdir(target):
            if name not in wanted:
                path = os.path.join(target, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed += 1
        for name in files:
            source = os.path.join(here, name)
            copy = os.path.join(target, name)
            if os.path.islink(source):
                if not os.path.islink(copy) or os.readlink(copy) != os.readlink(source):
                    if os.path.lexists(copy):
                        os.unlink(copy)
                    os.symlink(os.readlink(source), copy)
                    copied += 1
                continue
            if os.path.isfile(copy) and not os.path.islink(copy) and filecmp.cmp(source, copy, shallow=False):
                continue
            if os.path.lexists(copy):
                os.unlink(copy)
            shutil.copyfile(source, copy)
            shutil.copymode(source, copy)
            copied += 1
    return copied, removed


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    copied, removed = sync(sys.argv[1], sys.argv[2])
    print(f"sync_tree: {copied} copied, {removed} removed")


if __name__ == "__main__":
    main()
