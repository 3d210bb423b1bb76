"""`python -m d2h ARGS` runs the `d2h` binary installed with this package, as ruff's does."""

from __future__ import annotations

import os
import sys
import sysconfig


def find_d2h_bin() -> str:
    """The path of the `d2h` binary installed beside this package."""
    exe = "d2h" + sysconfig.get_config_var("EXE") if sysconfig.get_config_var("EXE") else "d2h"
    candidates = [os.path.join(sysconfig.get_path("scripts"), exe)]
    # A user install (pip install --user).
    if sys.version_info >= (3, 10):
        user_scheme = sysconfig.get_preferred_scheme("user")
    elif os.name == "nt":
        user_scheme = "nt_user"
    elif sys.platform == "darwin" and sys._framework:
        user_scheme = "osx_framework_user"
    else:
        user_scheme = "posix_user"
    candidates.append(os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), exe))
    # A --target or --prefix install: bin/ beside the package's site-packages tree.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(package_root, "bin", exe))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"the d2h binary is not installed: looked in {', '.join(candidates)}")


def main() -> int:
    try:
        d2h = find_d2h_bin()
    except FileNotFoundError as error:
        print(f"python -m d2h: {error}", file=sys.stderr)
        return 2
    if sys.platform == "win32":
        import subprocess

        return subprocess.run([d2h, *sys.argv[1:]]).returncode
    os.execvp(d2h, [d2h, *sys.argv[1:]])
    return 0  # not reached: execvp replaces the process


if __name__ == "__main__":
    sys.exit(main())
