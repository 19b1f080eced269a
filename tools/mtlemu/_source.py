"""First step of compiling a .metal file: preprocess it, then rewrite the few
things C++ cannot express, keeping every line where it was.

The .metal file is preprocessed on its own (the Metal headers resolve to
empty stand-ins, so none of the shim is expanded), with the compiler's line
markers kept: diagnostics of the C++ compile then point at the .metal file
(or the header) and line. On that text:

* MSL attributes are blanked out ([[buffer(0)]], [[kernel]], [[host_name]],
  the position attributes, ...) after being recorded; any other attribute
  stays, so a misspelt one is the compiler's "unknown attribute" error.
* a kernel-scope ``threadgroup float tile[32][33];`` becomes a reference to
  storage shared by the threadgroup (``mtlemu::tg_static``).
* half literals ``1.0h`` become ``1.0_h``.
* a ``const`` next to ``constant`` goes (the shim's ``constant`` is const).
* a ``constant`` variable in a function becomes ``static constant``.
* after each kernel instantiation (``template [[host_name("x")]] [[kernel]]
  decltype(f<float>) f<float>;``) comes, on the same line, an entry function
  that binds the kernel's parameters by their attributes, and its
  registration under the host name (see shim/binding.h).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess

from ._errors import CompileError

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE_DIR = os.path.join(HERE, "include")

POSITION_ATTRIBUTES = (
    "thread_position_in_grid",
    "thread_position_in_threadgroup",
    "threadgroup_position_in_grid",
    "threads_per_threadgroup",
    "threadgroups_per_grid",
    "threads_per_grid",
    "thread_index_in_threadgroup",
    "simdgroup_index_in_threadgroup",
    "thread_index_in_simdgroup",
    "simdgroups_per_threadgroup",
    "threads_per_simdgroup",
    "thread_execution_width",
    "quadgroup_index_in_threadgroup",
    "thread_index_in_quadgroup",
    "quadgroups_per_threadgroup",
    "dispatch_threads_per_threadgroup",
    "dispatch_simdgroups_per_threadgroup",
    "dispatch_quadgroups_per_threadgroup",
    "grid_origin",
    "grid_size",
)
MSL_ATTRIBUTES = frozenset(
    ("kernel", "host_name", "buffer", "threadgroup", "max_total_threads_per_threadgroup")
    + POSITION_ATTRIBUTES
)

# What the preprocessing defines, as the Metal compiler would.
METAL_DEFINES = (
    "__METAL_VERSION__=310",
    "__METAL__=1",
    "__METAL_MACOS__=1",
    "MTLEMU_PREPROCESS_ONLY=1",
)


@dataclasses.dataclass
class Param:
    position: int  # in the parameter list
    name: str
    kind: str | None  # "buffer", "tg", "position" or None (no binding attribute)
    slot: int | str | None  # buffer / threadgroup index, or the position attribute's name
    type_text: str
    file: str
    line: int


@dataclasses.dataclass
class Kernel:
    host_name: str
    expr: str  # the C++ function, e.g. reduce<float, 4>
    params: list[Param]
    file: str
    line: int
    max_threads: int


@dataclasses.dataclass
class Source:
    path: str
    text: str  # rewritten, ready for the C++ compiler
    kernels: list[Kernel]
    deps: list[str]  # files the preprocessing read


def preprocess(cxx: str, path: str, include_dirs, defines, workdir: str) -> Source:
    """Preprocesses and rewrites the .metal file at `path`."""
    out = os.path.join(workdir, "preprocessed.metal.ii")
    depfile = os.path.join(workdir, "preprocessed.d")
    cmd = [cxx, "-E", "-x", "c++", "-std=c++20", "-isystem", INCLUDE_DIR]
    cmd += ["-D" + d for d in METAL_DEFINES]
    cmd += ["-I" + d for d in include_dirs]
    cmd += ["-D" + d for d in defines]
    cmd += ["-MD", "-MF", depfile, path, "-o", out]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(f"[mtlemu] preprocessing {path} failed", proc.stderr, cmd)
    with open(out, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    deps = read_depfile(depfile)
    new_text, kernels = rewrite(text)
    return Source(path=os.path.abspath(path), text=new_text, kernels=kernels, deps=deps)


def read_depfile(path: str) -> list[str]:
    with open(path) as f:
        content = f.read().replace("\\\n", " ")
    _, _, files = content.partition(":")
    return [
        os.path.abspath(p.replace("\\ ", " ")) for p in re.split(r"(?<!\\)\s+", files.strip()) if p
    ]


# ---- tokens ------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<directive>^[ \t]*\#[^\n]*)
  | (?P<newline>\n)
  | (?P<space>[ \t\r\f\v]+)
  | (?P<string>(?:u8|u|U|L)?"(?:[^"\\\n]|\\.)*")
  | (?P<char>(?:u8|u|U|L)?'(?:[^'\\\n]|\\.)*')
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[0-9A-Za-z_.'])*)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<punct>::|->|.)
    """,
    re.VERBOSE | re.MULTILINE,
)
_LINE_MARKER = re.compile(r'^[ \t]*#(?:line)?[ \t]+(\d+)[ \t]+"((?:[^"\\]|\\.)*)"')


@dataclasses.dataclass
class Tok:
    kind: str
    text: str
    start: int
    end: int
    row: int  # line of the preprocessed text (0-based)


class Tokens:
    """The preprocessed text as significant tokens, with the original file
    and line of each (from the line markers)."""

    def __init__(self, text: str):
        self.text = text
        self.toks: list[Tok] = []
        self.origin: dict[int, tuple[str, int]] = {}  # row -> (file, line)
        row, file, line = 0, "<unknown>", 1
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "newline":
                row += 1
                line += 1
                continue
            if kind == "space":
                continue
            if kind == "directive":
                marker = _LINE_MARKER.match(m.group())
                if marker:
                    # The marker names the line that follows it.
                    line = int(marker.group(1)) - 1
                    file = marker.group(2).encode().decode("unicode_escape")
                continue
            if row not in self.origin:
                self.origin[row] = (file, line)
            self.toks.append(Tok(kind, m.group(), m.start(), m.end(), row))

    def where(self, i: int) -> tuple[str, int]:
        return self.origin[self.toks[i].row]

    def __len__(self):
        return len(self.toks)

    def __getitem__(self, i) -> Tok:
        return self.toks[i]

    def t(self, i: int) -> str:
        return self.toks[i].text if 0 <= i < len(self.toks) else ""

    def match(self, i: int, closer: str) -> int:
        """Index of the bracket closing the one at i."""
        opener = self.toks[i].text
        depth = 0
        for j in range(i, len(self.toks)):
            s = self.toks[j].text
            if s == opener:
                depth += 1
            elif s == closer:
                depth -= 1
                if depth == 0:
                    return j
        raise CompileError(
            f"[mtlemu] unbalanced {opener!r}", self.diag(i, f"no matching {closer!r}")
        )

    def diag(self, i: int, message: str) -> str:
        file, line = self.where(i)
        return f"{file}:{line}: error: {message}"


# ---- attributes --------------------------------------------------------------


@dataclasses.dataclass
class AttrSpec:
    first: int  # index of the first '['
    last: int  # index of the last ']'
    msl: list[tuple[str, str]]  # (name, argument text) of the MSL attributes
    others: list[str]  # the text of the other attributes


def parse_attributes(tk: Tokens) -> list[AttrSpec]:
    specs = []
    i = 0
    while i < len(tk) - 1:
        if tk.t(i) == "[" and tk.t(i + 1) == "[":
            # Two consecutive '[' always start an attribute specifier in C++.
            j, depth = i + 2, 0
            while j < len(tk) - 1:
                s = tk.t(j)
                if s in "([{":
                    depth += 1
                elif s in ")}" or (s == "]" and depth > 0):
                    depth -= 1
                elif s == "]" and depth == 0 and tk.t(j + 1) == "]":
                    break
                j += 1
            msl, others = [], []
            for part in split_top(tk, i + 2, j):
                if not part:
                    continue
                name = tk.t(part[0])
                text = " ".join(tk.t(k) for k in part)
                args = ""
                if len(part) > 1 and tk.t(part[1]) == "(":
                    args = " ".join(tk.t(k) for k in part[2:-1])
                if name in MSL_ATTRIBUTES and (len(part) == 1 or tk.t(part[1]) == "("):
                    msl.append((name, args))
                else:
                    others.append(text)
            specs.append(AttrSpec(i, j + 1, msl, others))
            i = j + 2
        else:
            i += 1
    return specs


def split_top(tk: Tokens, a: int, b: int, sep: str = ",", angles: bool = False) -> list[list[int]]:
    """Token indices in [a, b) split at top-level separators."""
    parts, cur, depth = [], [], 0
    for k in range(a, b):
        s = tk.t(k)
        if s in "([{" or (angles and s == "<"):
            depth += 1
        elif s in ")]}" or (angles and s == ">"):
            depth -= 1
        elif angles and s == ">>":
            depth -= 2
        if s == sep and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(k)
    parts.append(cur)
    return parts


def string_value(args: str) -> str:
    """The value of a string-literal argument such as "reduce_" "float32"."""
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
    return "".join(p.encode().decode("unicode_escape") for p in pieces)


# ---- the rewrite -------------------------------------------------------------


class Rewriter:
    def __init__(self, text: str):
        self.tk = Tokens(text)
        self.edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the text

    def blank(self, a: int, b: int):
        """Replaces tokens a..b (inclusive) by spaces, keeping newlines."""
        start, end = self.tk[a].start, self.tk[b].end
        self.edits.append((start, end, re.sub(r"[^\n]", " ", self.tk.text[start:end])))

    def replace(self, a: int, b: int, text: str):
        start, end = self.tk[a].start, self.tk[b].end
        newlines = self.tk.text.count("\n", start, end)
        self.edits.append((start, end, text + "\n" * newlines))

    def insert_before(self, i: int, text: str):
        start = self.tk[i].start
        self.edits.append((start, start, text))

    def insert_after(self, i: int, text: str):
        end = self.tk[i].end
        self.edits.append((end, end, text))

    def result(self) -> str:
        out, pos = [], 0
        for start, end, repl in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < pos:
                raise AssertionError(f"overlapping source edits at offset {start}")
            out.append(self.tk.text[pos:start])
            out.append(repl)
            pos = end
        out.append(self.tk.text[pos:])
        return "".join(out)


def rewrite(text: str) -> tuple[str, list[Kernel]]:
    rw = Rewriter(text)
    tk = rw.tk
    specs = tk.specs = parse_attributes(tk)
    by_first = {s.first: s for s in specs}
    by_last = {s.last: s for s in specs}
    inside_attr = set()
    for s in specs:
        inside_attr.update(range(s.first, s.last + 1))
        if s.msl:
            if s.others:
                rw.replace(s.first, s.last, "[[" + ", ".join(s.others) + "]]")
            else:
                rw.blank(s.first, s.last)

    def keyword_kernel(i):  # the old spelling `kernel void f(...)`
        return (
            tk[i].kind == "ident"
            and tk.t(i) == "kernel"
            and tk.t(i + 1) == "void"
            and i not in inside_attr
        )

    marks = [i for i in range(len(tk)) if keyword_kernel(i)]
    marks += [s.first for s in specs if any(name == "kernel" for name, _ in s.msl)]
    for i in marks:
        if keyword_kernel(i):
            rw.blank(i, i)

    definitions: dict[str, list[tuple]] = {}  # name -> [(first, params, end, attrs, is_template)]
    instantiations = []
    seen = set()
    for mark in sorted(marks):
        # The run of attribute specifiers (and `kernel`) the mark is in.
        first = mark
        while first - 1 in by_last:
            first = by_last[first - 1].first
        pos = first
        while True:
            if pos in by_first:
                pos = by_first[pos].last + 1
            elif keyword_kernel(pos):
                pos += 1
            else:
                break
        if first in seen:
            continue
        seen.add(first)
        attrs = [a for s in specs if first <= s.first < pos for a in s.msl]
        if tk.t(first - 1) == "template":
            instantiations.append((first, pos, attrs))
        else:
            definitions_add(tk, definitions, first, pos, attrs)

    kernels = []
    counter = 0
    for first, body, attrs in instantiations:
        kernel, semicolon = parse_instantiation(tk, first, body, attrs, definitions)
        kernels.append(kernel)
        rw.insert_after(semicolon, " " + entry_code(kernel, counter, tk.where(semicolon)))
        counter += 1
    for name, defs in definitions.items():
        for first, params, end, attrs, is_template in defs:
            if is_template:
                continue
            host = next((string_value(a) for n, a in attrs if n == "host_name"), name)
            file, line = tk.where(first)
            kernel = Kernel(host, name, params, file, line, max_threads(attrs))
            kernels.append(kernel)
            rw.insert_after(end, " " + entry_code(kernel, counter, tk.where(end)))
            counter += 1

    rewrite_threadgroup_variables(rw, inside_attr)
    make_function_scope_constants_static(rw)
    rewrite_half_literals(rw)
    drop_const_next_to_constant(rw)
    return rw.result(), kernels


def max_threads(attrs) -> int:
    for name, args in attrs:
        if name == "max_total_threads_per_threadgroup":
            return int(args.strip().rstrip("uU"), 0)
    return 0


def definitions_add(tk: Tokens, definitions, first: int, i: int, attrs):
    """Records the kernel defined at token i: `void name(...) {...}`. (A mere
    declaration is skipped: the definition carries the same attributes.)"""
    while tk.t(i) in ("static", "inline", "METAL_FUNC", "__attribute__"):
        i = tk.match(i + 1, ")") + 1 if tk.t(i) == "__attribute__" else i + 1
    if tk.t(i) != "void":
        raise CompileError(
            "[mtlemu] cannot parse a kernel", tk.diag(i, "expected `void` after [[kernel]]")
        )
    name_at = i + 1
    paren = name_at + 1
    if tk.t(paren) != "(":
        raise CompileError(
            "[mtlemu] cannot parse a kernel",
            tk.diag(name_at, "expected the kernel's name and parameters"),
        )
    close = tk.match(paren, ")")
    params = parse_params(tk, paren + 1, close)
    if tk.t(close + 1) != "{":
        return
    end = tk.match(close + 1, "}")
    definitions.setdefault(tk.t(name_at), []).append(
        (first, params, end, attrs, is_template_head(tk, first))
    )


def is_template_head(tk: Tokens, first: int) -> bool:
    """Whether `template <...>` precedes token `first`."""
    i = first - 1
    if tk.t(i) != ">":
        return False
    depth = 0
    while i >= 0:
        s = tk.t(i)
        if s == ">":
            depth += 1
        elif s == ">>":
            depth += 2
        elif s == "<":
            depth -= 1
            if depth == 0:
                return tk.t(i - 1) == "template"
        i -= 1
    return False


def parse_params(tk: Tokens, a: int, b: int) -> list[Param]:
    specs = {s.first: s for s in tk.specs if a <= s.first and s.last < b}
    params = []
    for pos, part in enumerate(split_top(tk, a, b, angles=True)):
        if not part:
            continue
        kind = slot = None
        for k in part:
            for attr, args in specs[k].msl if k in specs else ():
                if attr == "buffer":
                    kind, slot = "buffer", int(args.strip().rstrip("uU"), 0)
                elif attr == "threadgroup":
                    kind, slot = "tg", int(args.strip().rstrip("uU"), 0)
                elif attr in POSITION_ATTRIBUTES:
                    kind, slot = "position", attr
        # The name is the last identifier before the first attribute.
        first_attr = min((k for k in part if k in specs), default=part[-1] + 1)
        idents = [k for k in part if k < first_attr and tk[k].kind == "ident"]
        name_at = idents[-1] if idents else first_attr
        name = tk.t(name_at) if idents else f"#{pos}"
        type_text = " ".join(tk.t(k) for k in part if k < name_at)
        file, line = tk.where(part[0])
        params.append(Param(pos, name, kind, slot, type_text, file, line))
    if len(params) == 1 and params[0].name == "void" and not params[0].type_text:
        return []
    return params


def parse_instantiation(tk: Tokens, first: int, i: int, attrs, definitions) -> tuple[Kernel, int]:
    """Parses `decltype(f<T>) f<T>;` or `void f<T>(params);` from token i."""
    file, line = tk.where(first)
    semicolon = i
    depth = 0
    while semicolon < len(tk):
        s = tk.t(semicolon)
        if s in "([{":
            depth += 1
        elif s in ")]}":
            depth -= 1
        elif s == ";" and depth == 0:
            break
        semicolon += 1
    if tk.t(i) == "decltype":
        expr_from = tk.match(i + 1, ")") + 1
        expr_to = semicolon
    else:
        # void f<T>(params);
        close = semicolon - 1
        if tk.t(close) != ")":
            raise CompileError(
                "[mtlemu] cannot parse a kernel instantiation",
                tk.diag(i, "expected `decltype(f<...>) f<...>;`"),
            )
        depth, k = 0, close
        while k > i:
            if tk.t(k) == ")":
                depth += 1
            elif tk.t(k) == "(":
                depth -= 1
                if depth == 0:
                    break
            k -= 1
        expr_from, expr_to = i + 1, k
    expr = " ".join(tk.t(k) for k in range(expr_from, expr_to))
    lt = next((k for k in range(expr_from, expr_to) if tk.t(k) == "<"), expr_to)
    template_name = tk.t(lt - 1)
    host = next((string_value(a) for n, a in attrs if n == "host_name"), None)
    if host is None:
        raise CompileError(
            "[mtlemu] kernel instantiation without a host name",
            tk.diag(first, f"instantiation of kernel '{expr}' has no [[host_name(\"...\")]]"),
        )
    defs = [d for d in definitions.get(template_name, []) if d[4]]
    if not defs:
        raise CompileError(
            "[mtlemu] kernel instantiation of an unknown template",
            tk.diag(
                first,
                f"'{template_name}' is not a kernel template ([[kernel]] template <...> void {template_name}(...)) of this file",
            ),
        )
    if len(defs) > 1:
        raise CompileError(
            "[mtlemu] overloaded kernel template",
            tk.diag(
                first,
                f"kernel template '{template_name}' is defined more than once; the emulator cannot tell which one is instantiated",
            ),
        )
    params = defs[0][1]
    return Kernel(host, expr, params, file, line, max_threads(attrs + defs[0][3])), semicolon


def c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def entry_code(k: Kernel, n: int, here: tuple[str, int]) -> str:
    """The entry function and registration of kernel k, inserted at a point
    of the source whose (file, line) is `here`. Each argument is compiled
    under a #line of its parameter, so that a binding error (a buffer without
    an address space, an int position attribute) names the parameter's line;
    the last #line restores the numbering of the rest of the source."""
    args, infos = [], []
    for p in k.params:
        P = f"::mtlemu::param_t<decltype({k.expr}), {p.position}>"
        if p.kind == "buffer":
            arg = f"::mtlemu::bind_buffer<{P}>(e, {p.slot})"
            infos.append(
                f"::mtlemu::describe<{P}>(::mtlemu::bind_kind::buffer, {p.slot}, {c_string(p.name)})"
            )
        elif p.kind == "tg":
            arg = f"::mtlemu::bind_threadgroup<{P}>(e, {p.slot})"
            infos.append(
                f"::mtlemu::describe<{P}>(::mtlemu::bind_kind::tg, {p.slot}, {c_string(p.name)})"
            )
        elif p.kind == "position":
            arg = f"::mtlemu::bind_position<{P}, ::mtlemu::pos::{p.slot}>(e)"
            infos.append(
                f"::mtlemu::describe<{P}>(::mtlemu::bind_kind::position, (int)::mtlemu::pos::{p.slot}, {c_string(p.name)})"
            )
        else:
            arg = f"::mtlemu::unbound<{P}>()"
        args.append(f"\n#line {p.line} {c_string(p.file)}\n{arg}")
    table = f"mtlemu_params_{n}"
    if infos:
        table_def = f"static const ::mtlemu::param_info {table}[] = {{{', '.join(infos)}}};"
    else:
        table_def = f"static const ::mtlemu::param_info* const {table} = nullptr;"
    info = (
        f"::mtlemu::kernel_info{{{c_string(k.host_name)}, &mtlemu_entry_{n}, {table}, {len(infos)}, "
        f"{c_string(k.file)}, {k.line}, {k.max_threads}}}"
    )
    return (
        f"static void mtlemu_entry_{n}(const ::mtlemu::lane_env& e) {{ (void)e; {k.expr}({','.join(args)}"
        f"\n#line {here[1]} {c_string(here[0])}\n"
        f"); }} {table_def} static const ::mtlemu::registrar mtlemu_registrar_{n}{{{info}}};"
    )


def rewrite_threadgroup_variables(rw: Rewriter, inside_attr):
    """`threadgroup T a[N], b;` -> references to threadgroup-shared storage."""
    tk = rw.tk
    site = 0
    for i in range(len(tk)):
        if i in inside_attr or tk.t(i) != "threadgroup" or tk[i].kind != "ident":
            continue
        if tk.t(i - 1) not in (";", "{", "}", ")") and tk[i - 1].kind != "directive":
            continue
        # Up to the `;` of the declaration, if it is a plain one.
        j, depth, ok = i + 1, 0, True
        while j < len(tk):
            s = tk.t(j)
            if s in "([{":
                if s != "[":
                    ok = False
                depth += 1
            elif s in ")]}":
                depth -= 1
                if depth < 0:
                    ok = False
                    break
            elif depth == 0 and s in ("*", "&", "=", "&&"):
                ok = False
            elif depth == 0 and s == ";":
                break
            j += 1
        if not ok or j >= len(tk):
            continue
        declarators = split_top(tk, i + 1, j, angles=True)
        # The first declarator carries the type: T... name [dims].
        first = declarators[0]
        bracket = next((k for k in first if tk.t(k) == "["), None)
        name_at = (bracket - 1) if bracket is not None else first[-1]
        type_text = " ".join(tk.t(k) for k in first if k < name_at)
        if not type_text or tk[name_at].kind != "ident":
            continue
        pieces = []
        for d, decl in enumerate(declarators):
            if d == 0:
                decl = [k for k in decl if k >= name_at]
            if not decl or tk[decl[0]].kind != "ident":
                pieces = None
                break
            name = tk.t(decl[0])
            dims = " ".join(tk.t(k) for k in decl[1:])
            file, line = tk.where(decl[0])
            file = file.replace("\\", "\\\\").replace('"', '\\"')
            pieces.append(
                f"(&{name}){dims} = ::mtlemu::tg_static<threadgroup {type_text}{dims}>"
                f'({site}, "{name}", "{file}", {line})'
            )
            site += 1
        if pieces:
            rw.replace(i, j, f"threadgroup {type_text} " + ", ".join(pieces) + ";")


def code_blocks(tk: Tokens) -> list[bool]:
    """For each token, whether its innermost brace is a block of code (a
    function body or a block in one), rather than a namespace, a class or an
    initializer."""
    inside = []
    stack: list[bool] = []
    for i, t in enumerate(tk.toks):
        inside.append(bool(stack) and stack[-1])
        if t.text == "{":
            prev = tk.t(i - 1)
            recent = {tk.t(k) for k in range(max(0, i - 6), i)}
            if prev in (")", "else", "do", "try", "const", "noexcept", "mutable"):
                code = True
            elif prev in ("=", ",", "(", "[", "return") or recent & {
                "namespace",
                "struct",
                "class",
                "union",
                "enum",
            }:
                code = False
            else:
                code = bool(stack) and stack[-1]
            stack.append(code)
        elif t.text == "}" and stack:
            stack.pop()
    return inside


def make_function_scope_constants_static(rw: Rewriter):
    """`constant float t[2] = {...};` in a function -> `static constant ...`:
    a constant-address-space variable is program storage, not an automatic
    variable (which cannot have an address space in the check pass)."""
    tk = rw.tk
    in_code = code_blocks(tk)
    specifiers = ("constexpr", "const", "static", "constant")
    for i, t in enumerate(tk.toks):
        if t.text != "constant" or t.kind != "ident" or not in_code[i]:
            continue
        start = i
        while tk.t(start - 1) in specifiers:
            start -= 1
        if tk.t(start - 1) not in (";", "{", "}", ")", ":") or "static" in [
            tk.t(k) for k in range(start, i)
        ]:
            continue
        j, depth, pointer = i + 1, 0, False
        while j < len(tk) and not (depth == 0 and tk.t(j) in (";", "=")):
            depth += tk.t(j) in "([{"
            depth -= tk.t(j) in ")]}"
            pointer |= depth == 0 and tk.t(j) in ("*", "&", "&&")
            j += 1
        if not pointer:
            rw.insert_before(start, "static ")


def drop_const_next_to_constant(rw: Rewriter):
    """`constant const T*` -> `constant T*`: the shim's `constant` carries
    const, and g++ rejects a duplicate const."""
    tk = rw.tk
    for i, t in enumerate(tk.toks):
        if (
            t.text == "const"
            and t.kind == "ident"
            and (tk.t(i - 1) == "constant" or tk.t(i + 1) == "constant")
        ):
            rw.blank(i, i)


_HALF_LITERAL = re.compile(r"^((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[hH]$")


def rewrite_half_literals(rw: Rewriter):
    for i, t in enumerate(rw.tk.toks):
        if t.kind == "number":
            m = _HALF_LITERAL.match(t.text)
            if m and not t.text.lower().startswith("0x"):
                rw.replace(i, i, m.group(1) + "_h")
