#!/usr/bin/env python3
"""Compiles every CUDA source of the pipeline's own kernels (pipeline/src/**/*.cu) with NVRTC,
as the pipeline does at run time (same options), and fails naming the file and NVRTC's log when
one does not compile. The pipeline compiles these files on the GPU machine, on first use: without
this check a typo there costs a GPU call to find.

    scripts/check-kernels.py [LIBNVRTC]

LIBNVRTC defaults to the toolkit scripts/cuda-toolkit.sh installs; the libnvrtc-builtins beside it
is loaded first, so no LD_LIBRARY_PATH is needed. Needs no GPU.
"""
import ctypes
import os
import pathlib
import sys

# The options of pipeline/src/nvrtc.rs (`CompileOptions { fmad: Some(false), .. }`).
OPTIONS = [b"--fmad=false"]


def default_library() -> str:
    home = pathlib.Path(os.environ.get("HOME", "/root"))
    return str(home / ".cache/d2h-cuda13/nvidia/cu13/lib/libnvrtc.so.13")


# As pipeline/src/nvrtc.rs: a source whose first line is this gets dtype.cuh before it.
USES_DTYPE = b"// uses dtype.cuh"


def compile_source(lib, path: pathlib.Path) -> tuple[bool, str]:
    program = ctypes.c_void_p()
    source = path.read_bytes()
    if source.startswith(USES_DTYPE):
        source = (path.parent / "dtype.cuh").read_bytes() + b"\n" + source
    if lib.nvrtcCreateProgram(ctypes.byref(program), source, str(path).encode(), 0, None, None) != 0:
        return False, "nvrtcCreateProgram failed"
    options = (ctypes.c_char_p * len(OPTIONS))(*OPTIONS)
    status = lib.nvrtcCompileProgram(program, len(OPTIONS), options)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(program, log)
    lib.nvrtcDestroyProgram(ctypes.byref(program))
    return status == 0, log.value.decode(errors="replace").strip()


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    library = sys.argv[1] if len(sys.argv) > 1 else default_library()
    try:
        # NVRTC opens its builtins by soname at the first compile: load them first, globally.
        for builtins in sorted(pathlib.Path(library).parent.glob("libnvrtc-builtins.so.*")):
            if "alt" not in builtins.name:
                ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(library)
    except OSError as e:
        print(f"check-kernels: cannot load NVRTC from {library}: {e}", file=sys.stderr)
        return 2
    sources = sorted((root / "pipeline/src").rglob("*.cu"))
    failed = 0
    for path in sources:
        ok, log = compile_source(lib, path)
        name = path.relative_to(root)
        if ok:
            print(f"check-kernels: {name}: compiles with NVRTC", file=sys.stderr)
        else:
            failed += 1
            print(f"check-kernels: {name}: does not compile with NVRTC:\n{log}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
