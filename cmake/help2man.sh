#!/bin/sh
# help2man.sh PROGRAM VERSION OUT: writes the man page nmdl(1) to OUT, made
# from `PROGRAM --help`, so the page says what the command says.
#
# The help text is read by its shape, not its words:
#   - a paragraph that starts "Usage:" (later lines may start "or:" or be
#     indented) is the SYNOPSIS, one line per form;
#   - the paragraphs before the first heading are the DESCRIPTION;
#   - a heading is an unindented line ending in ':' that starts a paragraph
#     and is followed by an indented line; a short one ("Options:") makes a
#     section, a longer one ("Training (train):") a subsection;
#   - under a heading, an indented line is an entry, "  -x, --long ARG  text":
#     the term ends at the first run of two spaces (or at the column where
#     the previous entries' text began), and lines indented to that column
#     continue the text;
#   - "Exit status..." up to the end of its paragraph is the EXIT STATUS;
#     paragraphs after the last heading's entries are the NOTES.
# NAME, a fuller DESCRIPTION, ENVIRONMENT, FILES and SEE ALSO are written
# here. The script fails (and so the build) when the help has no Usage line.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 PROGRAM VERSION OUT" >&2; exit 2; }
help=$("$1" --help)
version=$2
out=$3

prog=$(cat <<'AWK'
# esc(s): s as roff text. Backslashes are escaped, the hyphens of words
# that start with '-' (options) become \- so that they print as ASCII
# minus signs, and a line may not start with a control character.
function esc(s,    o, i, c, prev, opt) {
    o = ""; prev = " "; opt = 0
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == " ") opt = 0
        else if (c == "-" && index(" ([`'\"", prev) > 0) opt = 1
        if (c == "\\") o = o "\\e"
        else if (c == "-" && opt) o = o "\\-"
        else o = o c
        prev = c
    }
    if (o ~ /^[.']/) o = "\\&" o
    return o
}
# term(s): an entry's term or a synopsis form: options and lower-case
# words (commands) in bold, upper-case words (FILE, N) in italics,
# brackets, commas and the rest in roman.
function term(s,    n, t, i, o, lead, core, tail) {
    n = split(s, t, " ")
    o = ""
    for (i = 1; i <= n; i++) {
        core = t[i]
        lead = ""; tail = ""
        while (core != "" && index("[({<|", substr(core, 1, 1)) > 0) {
            lead = lead substr(core, 1, 1); core = substr(core, 2)
        }
        while (core != "" && index("])}>|,.;:", substr(core, length(core), 1)) > 0) {
            tail = substr(core, length(core), 1) tail
            core = substr(core, 1, length(core) - 1)
        }
        if (core ~ /^-/ || core ~ /^[a-z][a-z0-9_-]*$/)
            core = "\\fB" esc(core) "\\fR"
        else if (core ~ /^[A-Z][A-Z0-9_]*$/)
            core = "\\fI" core "\\fR"
        else
            core = esc(core)
        o = o (i > 1 ? " " : "") lead core tail
    }
    sub(/^\\&/, "", o)
    return (o ~ /^[.']/ ? "\\&" : "") o
}
function indent(s) { match(s, /^ */); return RLENGTH }
function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
function blank(i) { return i > nl || line[i] ~ /^ *$/ }
function is_heading(i) {
    return line[i] ~ /^[^ ].*:$/ && (i == 1 || blank(i - 1)) &&
           i < nl && line[i + 1] ~ /^  *[^ ]/
}
# emit(s): a line of the page, into the description until the first
# heading, into the sections after it.
function emit(s) {
    if (state == "sections") page = page s "\n"
    else desc = desc s "\n"
}
# text(p, where): a free paragraph; its "Exit status" part is kept for the
# EXIT STATUS section; where is "notes" after the last heading's entries.
function text(p, where,    k) {
    if (match(p, /^Exit status/) || match(p, /\. Exit status/)) {
        k = RSTART + (RSTART > 1 ? 2 : 0)
        exit_status = trim(substr(p, k + 11))
        sub(/^: */, "", exit_status)
        p = trim(substr(p, 1, k - 1))
    }
    if (p == "") return
    if (where == "notes") notes = notes ".PP\n" esc(p) "\n"
    else emit(".PP\n" esc(p))
}
# entry(i): an indented line under a heading, as a new entry or the
# continuation of the last one (indented to the text column, col).
function entry(i,    s, ind, body, k) {
    s = line[i]; ind = indent(s)
    if (open_entry && ind >= col - 2) {
        emit(esc(trim(s)))
        return
    }
    body = substr(s, ind + 1)
    if (match(body, /   */))
        emit(".TP\n" term(substr(body, 1, RSTART - 1)) "\n" esc(trim(substr(body, RSTART))))
    else if (length(s) > col && substr(s, col, 1) == " ")
        emit(".TP\n" term(trim(substr(s, 1, col))) "\n" esc(trim(substr(s, col + 1))))
    else
        emit(".TP\n" term(trim(body)))
    open_entry = 1
}
{ gsub(/\t/, "        "); sub(/ +$/, ""); line[++nl] = $0 }
END {
    # col: the column (from 0) where most entries' text begins
    col = 8; best = 0
    for (i = 1; i <= nl; i++) {
        if (line[i] !~ /^  *[^ ]/) continue
        ind = indent(line[i]); body = substr(line[i], ind + 1)
        if (!match(body, /   */)) continue
        c = ind + RSTART + RLENGTH - 1
        if (++seen[c] > best) { best = seen[c]; col = c }
    }
    last_heading = 0
    for (i = 1; i <= nl; i++) if (is_heading(i)) last_heading = i
    state = "start"; para = ""
    for (i = 1; i <= nl + 1; i++) {
        s = (i <= nl) ? line[i] : ""
        if (s ~ /^ *$/) { # a paragraph ends
            if (para != "") text(para, where)
            para = ""; open_entry = 0
            if (state == "usage") state = "description"
            continue
        }
        if (state != "sections" && para == "" && s ~ /^[Uu]sage:/) state = "usage"
        else if (state == "usage" && s !~ /^ / && s !~ /^or:/) state = "description"
        if (state == "usage") {
            sub(/^ *([Uu]sage|or): */, "", s)
            synopsis = synopsis ".br\n" term(trim(s)) "\n"
            continue
        }
        if (is_heading(i)) {
            h = substr(s, 1, length(s) - 1)
            state = "sections"; open_entry = 0
            if (h ~ /\(/ || split(h, w, " ") > 3) emit(".SS " esc(h))
            else emit(".SH " esc(toupper(h)))
            continue
        }
        if (state == "sections" && s ~ /^ /) { entry(i); continue }
        if (state != "sections" && s ~ /^ /) {
            emit(".PP\n.RS\n.nf\n" esc(trim(s)) "\n.fi\n.RE"); continue
        }
        where = (state == "sections" && i > last_heading) ? "notes" : "here"
        if (state == "start") state = "description"
        para = para (para == "" ? "" : " ") trim(s)
    }
    if (synopsis == "") {
        print "help2man.sh: the help text has no Usage line" > "/dev/stderr"
        exit 1
    }
    sub(/^\.br\n/, "", synopsis)
    print ".TH NMDL 1 \"\" \"nmdl " version "\" \"User Commands\""
    print ".nh"   # no hyphenation: options and words stay whole
    print ".ad l" # ragged right
    print ".SH NAME"
    print "nmdl, unnmdl, nmdlcat \\- lossless compression whose output is a two-part MDL code"
    print ".SH SYNOPSIS"
    printf "%s", synopsis
    print ".SH DESCRIPTION"
    printf "%s", desc
    print ".PP"
    print "To compress, \\fBnmdl\\fR trains a small byte-level transformer on the"
    print "input, estimates its local learning coefficient (LLC), quantizes the"
    print "weights to the bit budget the LLC implies, and arithmetic-codes the input"
    print "under the quantized model. The file holds both parts; its size is the"
    print "description length. Decoding is bit-exact on every machine. Where the"
    print "model does not pay for itself, the file holds a zstd frame or the"
    print "stored bytes instead."
    if (tolower(synopsis desc page) !~ /unnmdl/) {
        print ".PP"
        print "Run as \\fBunnmdl\\fR, it decompresses (\\fBnmdl \\-d\\fR); as"
        print "\\fBnmdlcat\\fR, it decompresses to standard output (\\fBnmdl \\-dc\\fR)."
    }
    printf "%s", page
    if (notes != "") { print ".SH NOTES"; printf "%s", notes }
    print ".SH EXIT STATUS"
    if (exit_status != "") print esc(exit_status)
    else print "0 on success, non-zero on any error."
    print ".SH ENVIRONMENT"
    print ".TP"
    print ".B OMP_WAIT_POLICY"
    print "When it is not set, \\fBnmdl\\fR sets it to \\fBpassive\\fR and restarts"
    print "itself once, so that idle worker threads sleep instead of spinning;"
    print "set it (for example to \\fBactive\\fR) to keep OpenMP's choice."
    print ".TP"
    print ".B GOMP_SPINCOUNT"
    print "When it is not set, \\fBnmdl\\fR sets it to \\fB1000\\fR (with the above),"
    print "so that a worker spins briefly before it sleeps: faster alone, and"
    print "little slower beside other jobs. Set it to keep libgomp's choice."
    print ".TP"
    print ".B OMP_NUM_THREADS"
    print "Not used to choose the number of threads: \\fB\\-T\\fR does (by default"
    print "one per core). No output depends on the number of threads."
    print ".TP"
    print ".BR OPENBLAS_NUM_THREADS \", \" OPENBLAS_CORETYPE \", ...\""
    print "OpenBLAS runs inside nmdl's own threads, one thread each; its kernels"
    print "speed up training only. They may change the trained model, and so the"
    print "size of a new file, but never what a file decodes to: the coding path"
    print "does not use OpenBLAS."
    print ".SH FILES"
    print ".TP"
    print ".IR FILE .nmdl"
    print "The compressed form of \\fIFILE\\fR: one or more nmdl frames."
    print ".TP"
    print "\\fIPREFIX\\fR/include/nmdl.h, \\fIPREFIX\\fR/lib/libnmdl.so, \\fIPREFIX\\fR/lib/pkgconfig/nmdl.pc"
    print "The library behind the command, for programs of your own"
    print "(\\fBpkg\\-config \\-\\-cflags \\-\\-libs nmdl\\fR, or \\fBfind_package(nmdl)\\fR in CMake)."
    print ".SH SEE ALSO"
    print ".BR zstd (1),"
    print ".BR xz (1),"
    print ".BR pkg-config (1)."
    print "The file format is described in docs/FORMAT.md of the source."
}
AWK
)
printf '%s\n' "$help" | awk -v version="$version" "$prog" >"$out.tmp"
mv "$out.tmp" "$out"
