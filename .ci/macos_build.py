"""Helper of .ci/check_macos_build: what an arm64 macOS build of the project
compiles and links, read from the project's own files, and the checks on the
objects and the bundle it produces.

    macos_build.py plan PROJECT_DIR       shell assignments: pins, sources, flags
    macos_build.py mlx-config MLX_DIR     shell assignments from MLXConfig.cmake
    macos_build.py symbols DYLIB OBJ...   MLX symbols the objects need vs the dylib
    macos_build.py bound BUNDLE           every MLX symbol of the bundle binds to libmlx
    macos_build.py wheel BUNDLE DIR ...   a wheel holding the bundle
    macos_build.py repaired BEFORE AFTER  the repair kept the bundle and added nothing
"""

import base64
import hashlib
import json
import re
import shlex
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import tomllib

NM = "llvm-nm-19"

# --------------------------------------------------------------------------
# CMake, evaluated for an arm64 Mac: commands in order, if() blocks decided
# where the condition is known on that platform. Whatever the check needs from
# a block whose condition it cannot decide is an error, never a guess.

# Values of the variables a Mac build's conditions test (MLX_BUILD_METAL: the
# macOS MLXConfig.cmake sets it; ON/OFF: MLXConfig.cmake's configured flags).
MAC_VARIABLES = {
    "APPLE": True,
    "UNIX": True,
    "WIN32": False,
    "MSVC": False,
    "MLX_BUILD_METAL": True,
    "ON": True,
    "OFF": False,
}
MAC_PROCESSOR = "arm64"  # CMAKE_SYSTEM_PROCESSOR on an Apple-silicon Mac
MAC_COMPILER_ID = "AppleClang"  # CMAKE_CXX_COMPILER_ID with Xcode's clang
NUMERIC_TESTS = {
    "GREATER_EQUAL": int.__ge__,
    "GREATER": int.__gt__,
    "LESS_EQUAL": int.__le__,
    "LESS": int.__lt__,
    "EQUAL": int.__eq__,
}


class Unknown(Exception):
    """A construct this evaluator cannot decide for a Mac build."""


def cmake_commands(text):
    """Yields (name, arguments, line) for each command of a CMake file; quoted
    arguments keep their spaces, comments are dropped."""
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if c == "#":
            i = line_end(text, i)
            continue
        m = re.match(r"([A-Za-z_]\w*)\s*\(", text[i:])
        if not m:
            i += 1
            continue
        name, start, i = m.group(1).lower(), line, i + m.end()
        args, depth, word = [], 0, None
        while i < n:
            c = text[i]
            if c == '"':
                end = text.index('"', i + 1)
                word = (word or "") + text[i + 1 : end]
                line += text.count("\n", i, end)
                i = end + 1
                continue
            if c == "#" and word is None:
                i = line_end(text, i)
                continue
            if c in " \t\n" or (c == ")" and depth == 0):
                if word is not None:
                    args.append(word)
                    word = None
                line += c == "\n"
                i += 1
                if c == ")":
                    break
                continue
            depth += {"(": 1, ")": -1}.get(c, 0)
            word = (word or "") + c
            i += 1
        yield name, args, start


def line_end(text, i):
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def expand(word, variables):
    """${VAR} references replaced; Unknown for a variable with no known value."""

    def value(m):
        if m.group(1) not in variables:
            raise Unknown(f"${{{m.group(1)}}}")
        return variables[m.group(1)]

    return re.sub(r"\$\{(\w+)\}", value, word)


def mac_condition(args):
    """True or False on an arm64 Mac; Unknown if it cannot be decided."""
    if args[:1] == ["NOT"]:
        return not mac_condition(args[1:])
    if len(args) == 1 and args[0] in MAC_VARIABLES:
        return MAC_VARIABLES[args[0]]
    if len(args) == 3 and args[:2] == ["CMAKE_SYSTEM_PROCESSOR", "MATCHES"]:
        return re.search(args[2], MAC_PROCESSOR) is not None
    if len(args) == 3 and args[:2] == ["CMAKE_CXX_COMPILER_ID", "STREQUAL"]:
        return args[2] == MAC_COMPILER_ID
    if len(args) == 3 and args[1] in NUMERIC_TESTS and args[0].isdigit() and args[2].isdigit():
        return NUMERIC_TESTS[args[1]](int(args[0]), int(args[2]))
    raise Unknown("if(" + " ".join(args) + ")")


def mac_commands(path, variables):
    """Yields (name, args, line, active) for each command outside control flow:
    active is True or False on a Mac, or an Unknown exception to raise when the
    command matters. set() commands are applied to `variables` here."""
    frames = []  # per open if(): [this branch is active, a branch was taken, undecided branch]
    for name, args, line in cmake_commands(Path(path).read_text()):
        if name in ("if", "elseif", "else"):
            if name == "if":
                frames.append([False, False, None])
            _, taken, undecided = frames[-1]
            try:
                now = not taken and (name == "else" or mac_condition(args))
            except Unknown as e:
                now = e
            if undecided and now is not False:
                now = undecided  # active only if that earlier branch was not
            if isinstance(now, Unknown):
                undecided = now
            frames[-1] = [now, taken or now is True, undecided]
            continue
        if name == "endif":
            frames.pop()
            continue
        states = [f[0] for f in frames]
        active = (
            False if False in states else next((s for s in states if isinstance(s, Unknown)), True)
        )
        if name in ("set", "set_and_check") and active is not False:
            try:
                if isinstance(active, Unknown):
                    raise active
                variables[args[0]] = ";".join(expand(a, variables) for a in args[1:])
            except Unknown:
                variables.pop(args[0], None)  # no value known on a Mac
        yield name, args, line, active


def need(active, what, where):
    """True if the command applies on a Mac; an error if that is unknown."""
    if isinstance(active, Unknown):
        sys.exit(
            f"{where}: {what} depends on {active}, which this check cannot decide "
            f"for an arm64 Mac: teach .ci/macos_build.py (MAC_VARIABLES)."
        )
    return active


# --------------------------------------------------------------------------
# The project's build: CMakeLists.txt and pyproject.toml.

CXX_SOURCE = re.compile(r"\.(cpp|cc|cxx)$")
ANY_SOURCE = re.compile(r"\.(cpp|cc|cxx|c|m|mm)$")
TARGET_KEYWORDS = {"PRIVATE", "PUBLIC", "INTERFACE", "SYSTEM", "BEFORE", "AFTER"}
# MLX's own variables: its headers and flags come from the wheel (mlx-config).
MLX_VARIABLES = {"MLX_INCLUDE_DIRS"}


def cmake_build(project):
    """The _ext module as CMakeLists.txt builds it on an arm64 Mac."""
    path = Path(project) / "CMakeLists.txt"
    variables = {"CMAKE_CURRENT_SOURCE_DIR": str(project)}
    build = {
        "sources": [],
        "skipped": [],
        "includes": [],
        "defines": [],
        "options": [],
        "frameworks": [],
        "rpath": [],
        "nanobind": [],
        "std": None,
        "package": None,
    }
    target = None
    for name, args, line, active in mac_commands(path, variables):
        where = f"CMakeLists.txt:{line}"
        if name == "nanobind_add_module":
            need(active, "the module", where)
            target = args[0]
            build["nanobind"] = [a for a in args[1:] if not ANY_SOURCE.search(a)]
            add_sources(build, args[1:], True, where)
        elif name == "target_sources" and args[0] == target:
            add_sources(build, args[1:], need(active, "a source", where), where)
        elif name == "set_source_files_properties":
            unknown = [
                a
                for a in args
                if ANY_SOURCE.search(a)
                and a not in build["sources"] + [s for s, _ in build["skipped"]]
            ]
            if unknown:
                sys.exit(f"{where}: properties of {unknown}, which is no source of {target}")
        elif args and args[0] == target and need(active, name, where):
            add_target_setting(build, name, args[1:], variables, where)
        elif name == "install" and args[:2] == ["TARGETS", target]:
            build["package"] = args[args.index("DESTINATION") + 1]
        elif any(ANY_SOURCE.search(a) for a in args):
            sys.exit(
                f"{where}: {name}() names a source file; this check only knows the "
                f"sources of nanobind_add_module and target_sources({target})."
            )
    build["std"] = variables.get("CMAKE_CXX_STANDARD")
    return target, build


def add_sources(build, args, active, where):
    for a in args:
        if not ANY_SOURCE.search(a):
            continue
        if not CXX_SOURCE.search(a):
            sys.exit(f"{where}: {a} is not C++; this check compiles C++ only.")
        if active:
            build["sources"].append(a)
        else:
            build["skipped"].append((a, where))


def add_target_setting(build, name, args, variables, where):
    words = [a for a in args if a not in TARGET_KEYWORDS]
    try:
        if name == "target_include_directories":
            build["includes"] += [
                expand(w, variables) for w in words if w.strip("${}") not in MLX_VARIABLES
            ]
        elif name == "target_compile_definitions":
            build["defines"] += [expand(w, variables) for w in words]
        elif name == "target_compile_options":
            build["options"] += [expand(w, variables) for w in words]
        elif name == "target_link_libraries":
            for w in words:
                framework = re.fullmatch(r"-framework (\w+)", w)
                if framework:
                    build["frameworks"].append(framework.group(1))
                elif w != "mlx":
                    sys.exit(f"{where}: links {w}; this check knows mlx and -framework X.")
        elif name == "set_target_properties" and "INSTALL_RPATH" in words:
            rpath = expand(words[words.index("INSTALL_RPATH") + 1], variables)
            build["rpath"] = [r for r in rpath.split(";") if r]
    except Unknown as e:
        sys.exit(f"{where}: {name}() uses {e}, which has no value on a Mac in this check.")


def nanobind_flags(options):
    """Compile flags nanobind_add_module gives the module (nanobind-config.cmake)."""
    unsupported = {"STABLE_ABI", "FREE_THREADED", "NB_SHARED"} & set(options)
    if unsupported:
        sys.exit(f"nanobind_add_module({', '.join(sorted(unsupported))}): not modelled here.")
    flags = ["-fvisibility=hidden"]  # nanobind_set_visibility
    if "PROTECT_STACK" not in options:
        flags.append("-fno-stack-protector")  # nanobind_disable_stack_protector
    if "NB_DOMAIN" in options:
        flags.append("-DNB_DOMAIN=" + options[options.index("NB_DOMAIN") + 1])
    return flags


def pin(requirements, name, where):
    """X of the one `name==X` among requirement strings (environment markers
    for other platforms than macOS skipped)."""
    found = set()
    for r in requirements:
        m = re.match(rf"{re.escape(name)}(\[[^\]]*\])?\s*==\s*([^;\s]+)\s*(;(.*))?$", r)
        if m and not re.search(r"sys_platform\s*==\s*['\"](linux|win32)", m.group(4) or ""):
            found.add(m.group(2))
    if len(found) != 1:
        sys.exit(f"pyproject.toml {where}: expected one {name}==X pin, found {sorted(found)}")
    return found.pop()


def cibuildwheel_version(project):
    """The cibuildwheel release the wheel workflow uses: it pins delocate."""
    path = Path(project) / ".github/workflows/wheels.yml"
    m = re.search(r"pypa/cibuildwheel@v?([0-9][\w.]*)", path.read_text())
    if not m:
        sys.exit(f"{path}: no pypa/cibuildwheel@vX.Y.Z step")
    return m.group(1)


def python_headers():
    """The running Python's include dir, and where Debian's multiarch layout
    puts a pyconfig.h there that picks the real one by __linux__ and the CPU
    (not a Mac's), a clang VFS overlay that shows the real one in its place."""
    include = sysconfig.get_path("include")
    if not (Path(include) / "Python.h").is_file():
        sys.exit(f"no Python.h in {include}: install the Python headers (python3-dev)")
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    real = Path(
        sysconfig.get_config_var("INCLUDEDIR") or "/",
        multiarch,
        f"python{sysconfig.get_python_version()}",
        "pyconfig.h",
    )
    if not (multiarch and real.is_file()):
        return include, ""
    pyconfig = {"name": "pyconfig.h", "type": "file", "external-contents": str(real)}
    return include, json.dumps(
        {"version": 0, "roots": [{"name": include, "type": "directory", "contents": [pyconfig]}]}
    )


def plan(project):
    project = Path(project).resolve()
    py = tomllib.loads((project / "pyproject.toml").read_text())
    mac = py["tool"]["cibuildwheel"]["macos"]
    if "arm64" not in mac.get("archs", []):
        sys.exit("pyproject.toml [tool.cibuildwheel.macos] archs: no arm64")
    environment = mac.get("environment", {})
    if isinstance(environment, str):
        environment = dict(re.findall(r"(\w+)=(\S+)", environment))
    repair = mac["repair-wheel-command"]
    target, build = cmake_build(project)
    include, overlay = python_headers()
    return {
        "DIST_NAME": py["project"]["name"],
        "DIST_VERSION": py["project"]["version"],
        "MLX_VERSION": pin(py["project"]["dependencies"], "mlx", "[project] dependencies"),
        "NANOBIND_VERSION": pin(
            py["build-system"]["requires"], "nanobind", "[build-system] requires"
        ),
        "CIBUILDWHEEL_VERSION": cibuildwheel_version(project),
        "MACOS_TARGET": environment["MACOSX_DEPLOYMENT_TARGET"],
        "REPAIR_COMMAND": " && ".join(repair) if isinstance(repair, list) else repair,
        "MODULE": target,
        "PACKAGE": build["package"],
        "CXX_STD": build["std"],
        "SOURCES": build["sources"],
        "SKIPPED": [f"{s} ({w})" for s, w in build["skipped"]],
        "INCLUDE_DIRS": [str(project / d) for d in build["includes"]],
        "PROJECT_FLAGS": (
            [f"-D{d}" for d in build["defines"]]
            + build["options"]
            + nanobind_flags(build["nanobind"])
        ),
        "FRAMEWORKS": build["frameworks"],
        "RPATHS": build["rpath"],
        "PY_VERSION": sysconfig.get_python_version(),
        "PY_INCLUDE": include,
        "PY_OVERLAY": overlay,
    }


def mlx_config(mlx_dir):
    """The compile flags and include dirs MLXConfig.cmake gives a Mac build
    (MLX_CXX_FLAGS, MLX_INCLUDE_DIRS and the imported target's
    INTERFACE_INCLUDE_DIRECTORIES), and the frameworks its target links."""
    cmake = Path(mlx_dir, "share/cmake/MLX")
    variables = {"PACKAGE_PREFIX_DIR": str(mlx_dir), "MLX_CXX_FLAGS": ""}
    for _ in mac_commands(cmake / "MLXConfig.cmake", variables):
        pass
    targets = (cmake / "MLXTargets.cmake").read_text().replace("${_IMPORT_PREFIX}", str(mlx_dir))
    interface = re.search(r'INTERFACE_INCLUDE_DIRECTORIES "([^"]*)"', targets).group(1)
    links = re.search(r'INTERFACE_LINK_LIBRARIES "([^"]*)"', targets).group(1)
    includes = interface.split(";") + variables["MLX_INCLUDE_DIRS"].split(";")
    return {
        "MLX_FLAGS": [f for f in variables["MLX_CXX_FLAGS"].split(";") if f],
        "MLX_INCLUDE_DIRS": [d for d in dict.fromkeys(includes) if d],
        "MLX_FRAMEWORKS": re.findall(r"/(\w+)\.framework(?:;|$)", links),
    }


def shell(assignments):
    for key, value in assignments.items():
        if isinstance(value, list):
            print(f"{key}=({' '.join(shlex.quote(v) for v in value)})")
        else:
            print(f"{key}={shlex.quote(value or '')}")


# --------------------------------------------------------------------------
# Symbols. Itanium-mangled names (Mach-O adds a leading underscore) are sorted
# by the first component of their qualified name.

MLX_NAMESPACES = {"mlx", "MTL", "MTL4", "MTLFX", "NS", "CA"}  # MLX and metal-cpp
RUNTIME_NAMESPACES = {"std", "__cxxabiv1", "nanobind"}  # libc++, libc++abi, nanobind


def namespace(symbol):
    """First component of a mangled C++ name ('std' for std:: and operators
    new/delete); None for a C symbol."""
    m = re.match(r"_Z(T[VITSHW]|TT|GV|Thn?\d+_|Tvn?\d+_n?\d+_)?Z?(N[rVKRO]*)?", symbol)
    if not m:
        return None
    rest = symbol[m.end() :]
    if rest.startswith("St") or rest[:2] in ("nw", "na", "dl", "da"):
        return "std"
    length = re.match(r"\d+", rest)
    return rest[length.end() : length.end() + int(length.group())] if length else "?"


def nm(*args):
    out = subprocess.run([NM, *args], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line and not line.endswith(":")]


def demangle(symbols):
    out = subprocess.run(
        ["llvm-cxxfilt-19"], input="\n".join(symbols), check=True, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def mach_o(symbol):
    return symbol[1:] if symbol.startswith("_") else symbol


def source_of(obj):
    """csrc/x.cpp for .../csrc%x.cpp.o (check_macos_build's object names)."""
    return Path(obj).name.removesuffix(".o").replace("%", "/")


def symbols(dylib, objects):
    """Every MLX/metal-cpp symbol the objects leave undefined must be exported
    by libmlx.dylib; any other C++ symbol must come from the C++ runtime or
    nanobind (else nothing the Mac build links defines it)."""
    defined = {
        s for o in objects for s in nm("--extern-only", "--defined-only", "--just-symbol-name", o)
    }
    needed = {}
    for o in objects:
        for s in nm("--undefined-only", "--just-symbol-name", o):
            if s not in defined:
                needed.setdefault(mach_o(s), []).append(source_of(o))
    exported = {
        mach_o(s) for s in nm("--extern-only", "--defined-only", "--just-symbol-name", dylib)
    }
    mlx = sorted(s for s in needed if namespace(s) in MLX_NAMESPACES)
    missing = [s for s in mlx if s not in exported]
    orphans = sorted(
        s for s in needed if namespace(s) not in MLX_NAMESPACES | RUNTIME_NAMESPACES | {None}
    )
    for title, bad in (
        ("not exported by libmlx.dylib", missing),
        ("defined nowhere (neither MLX, the C++ runtime nor nanobind)", orphans),
    ):
        for s, readable in zip(bad, demangle(bad)):
            print(f"  {title}: {readable}\n    ({s}, needed by {', '.join(needed[s])})")
    print(
        f"{len(mlx)} MLX/metal-cpp symbols needed by {len(objects)} objects, "
        f"{len(mlx) - len(missing)} exported by {Path(dylib).name}"
    )
    return 1 if missing or orphans else 0


def bound(bundle):
    """ld64 binds a symbol found in a linked dylib to it (two-level namespace);
    -undefined dynamic_lookup leaves only the rest to the loader."""
    loose = []
    count = 0
    for line in nm("-m", "--undefined-only", bundle):
        m = re.search(r"external (\S+) \((.*)\)$", line)
        if m and namespace(mach_o(m.group(1))) in MLX_NAMESPACES:
            count += 1
            if m.group(2) != "from libmlx":
                loose.append(m.group(1))
    for s, readable in zip(loose, demangle([mach_o(s) for s in loose])):
        print(f"  not bound to libmlx.dylib: {readable} ({s})")
    print(
        f"{count - len(loose)} of {count} MLX/metal-cpp symbols of the bundle bound to libmlx.dylib"
    )
    return 1 if loose else 0


# --------------------------------------------------------------------------
# The wheel around the bundle, as the build would make it (the parts delocate
# reads: the extension module and the dist-info).


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(bundle, out_dir, package, dist, version, tag):
    dist_info = f"{dist.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{package}/{Path(bundle).name}": Path(bundle).read_bytes(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: check_macos_build\n"
            f"Root-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
    }
    record = [record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = Path(out_dir, f"{dist.replace('-', '_')}-{version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    print(path)


def repaired(before, after):
    """The repaired wheel holds the same extension, byte for byte (its load
    commands and rpath untouched), and no library copied in."""
    old, new = zipfile.ZipFile(before), zipfile.ZipFile(after)
    files = [n for n in new.namelist() if not n.endswith("/")]  # delocate adds dir entries
    binaries = [n for n in old.namelist() if n.endswith(".so")]
    added = sorted(set(files) - set(old.namelist()))
    changed = [n for n in binaries if n not in files or old.read(n) != new.read(n)]
    for n in added:
        print(f"  the repair added {n}")
    for n in changed:
        print(f"  the repair changed {n}")
    return 1 if added or changed else 0


def main(command, *args):
    if command == "plan":
        shell(plan(*args))
    elif command == "mlx-config":
        shell(mlx_config(*args))
    elif command == "symbols":
        return symbols(args[0], args[1:])
    elif command == "bound":
        return bound(*args)
    elif command == "wheel":
        wheel(*args)
    elif command == "repaired":
        return repaired(*args)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
