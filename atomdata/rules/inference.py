"""Attribution of derivatives whose declared chain does not reach a registry organization.

Declared lineage (``transform.lineage``) stops where a chain leaves the snapshots; on samples the
last known ancestor is often a community re-upload (``unsloth/...``) or another fine-tune, whose
namespace says nothing about where the model comes from. These rules infer the original
organization, tried in this order; the first that gives an answer wins:

0. ``declared``: the declared root's namespace is a registry organization (and not a mirror).
1. ``mirror``: the root (last known ancestor) is in a mirror namespace (``raw/mirrors.csv``). Its
   repo name, with format suffixes (-GGUF, -AWQ, -bnb-4bit, -MLX, -i1, -Q4_K_M, ...) stripped,
   is matched to a known model of a registry organization (every model in the snapshots and
   every declared base id), or carries a ``<registry org>_`` prefix (bartowski's naming), else
   is matched to the family keywords. Confidence high for a name match, medium for a keyword.
2. ``architecture``: the model-type tag of the derivative, else of its root when the root is
   in the snapshots, mapped to the organization that defines it where that is unambiguous
   (``raw/architectures.csv``, rows of kind ``architecture``; ``llama`` is never read as Meta).
   Confidence medium.
3. ``name_keyword``: family keywords (``raw/architectures.csv``, kind ``keyword``, first row that
   matches wins) in the repo name of the root. Confidence low.
4. ``unknown``: nothing applies; region ``unknown``.

Everything is vectorised: pandas ``.str`` and Arrow (RE2) regexes and maps over the models, and loops
only over the few dozen curated rows and a handful of suffix-stripping passes.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

from ..errors import ValidationFailed
from ..issues import issue
from ..schemas import Table
from ..settings import curated
from ..validate import read_curated
from ..vocab import ATTRIBUTIONS, MIRROR_KINDS, NAMESPACE_RE
from .ids import as_arrow, as_series, first_rows, isin, lookup, namespace, positions, split_id
from .ids import take as take_at
from .organizations import attribute


#: format and quantization suffixes that mirrors append to the original repo name (stripped repeatedly)
SUFFIX_RE = (
    r"[-_.](gguf|ggml|awq|gptq|exl2|hqq|mlx|onnx|litert|tflite|imatrix|i1|unsloth|bnb|dynamic|dwq|"
    r"abliterated(-v\d+)?|quantized|quant|int[48]|fp(4|8|16|32)|bf16|nvfp4|mxfp4|w\d+a\d+(-g\d+)?|"
    r"\d+(\.\d+)?bpw|\d+-?bits?|q\d(_k)?(_[sml])?|q\d_\d|iq\d(_[a-z]+)?)$"
)
PREFIX_RE = r"^(huihui[-_])"


class Mirrors(Table):
    namespace: Series[pd.StringDtype] = pa.Field(unique=True, str_matches=NAMESPACE_RE,
                                                 description="Hub namespace that republishes other organizations' models.")
    kind: Series[pd.StringDtype] = pa.Field(isin=MIRROR_KINDS, description="re-upload, quantizer or converter.")
    notes: Series[pd.StringDtype] = pa.Field(description="What the namespace publishes and how it names repos.")

    @pa.dataframe_check(error="namespace must be unique ignoring case")
    def unique_ignoring_case(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["namespace"].str.lower().duplicated(keep=False)


class Architectures(Table):
    kind: Series[pd.StringDtype] = pa.Field(isin=["architecture", "keyword"],
                                            description="architecture: a model-type tag; keyword: a family name pattern.")
    value: Series[pd.StringDtype] = pa.Field(description="Model-type tag (exact), or a case-insensitive regular expression on the repo name.")
    org: Series[pd.StringDtype] = pa.Field(nullable=True, str_matches=NAMESPACE_RE,
                                           description="Registry organization that defines the family; empty for ambiguous model types.")
    notes: Series[pd.StringDtype] = pa.Field(nullable=True, description="Family, renames, known failure cases.")

    @pa.dataframe_check(error="architecture values must be unique")
    def unique_architectures(cls, df: pd.DataFrame) -> pd.Series:
        return ~((df["kind"] == "architecture") & df["value"].duplicated(keep=False))

    @pa.dataframe_check(error="keyword rows need an org")
    def keyword_has_org(cls, df: pd.DataFrame) -> pd.Series:
        return (df["kind"] != "keyword") | df["org"].notna()

    @pa.dataframe_check(error="keyword must be a valid regular expression")
    def keyword_compiles(cls, df: pd.DataFrame) -> pd.Series:
        def ok(p):
            try:
                re.compile(p)
                return True
            except re.error:
                return False
        return (df["kind"] != "keyword") | df["value"].map(ok).astype(bool)


def load_mirrors(path=None) -> pd.DataFrame:
    """The curated mirror namespaces (``mirrors.csv``: the project's, else the shipped one), validated."""
    return read_curated(Path(path) if path else curated("mirrors.csv").path, Mirrors, "mirror list")


def load_architectures(path=None) -> pd.DataFrame:
    """The curated model types and family keywords (``raw/architectures.csv``), validated, in file order."""
    return read_curated(Path(path) if path else curated("architectures.csv").path, Architectures,
                        "architecture table").reset_index(drop=True)


def check_orgs(architectures: pd.DataFrame, registry: pd.DataFrame, path="architectures.csv") -> None:
    """Every org of the curated table (``path``) must be a registry organization (exact spelling)."""
    missing = sorted(set(architectures["org"].dropna()) - set(registry["org"]))
    if missing:
        raise ValidationFailed(f"{path}: org not in the registry: {', '.join(missing)}")


@functools.cache
def _re2(pattern: str) -> str:
    r"""RE2 spelling (for Arrow) of ``SUFFIX_RE`` / ``PREFIX_RE`` (Python ``re`` patterns used with
    ``flags=re.I``: literal text, ``[...]`` classes, ``\d``, groups), matching the same text.
    Python differs from RE2 in three ways these patterns meet: its ``\d`` is every Unicode decimal
    digit of Python's own tables (RE2's ``\p{Nd}`` lags behind), its IGNORECASE also folds ``i``
    with the Turkish dotted and dotless i (U+0130, U+0131), and its ``$`` also matches before a
    final newline (kept here: captured and written back as ``\1``; the pattern's own groups
    become non-capturing)."""
    digits = [chr(i) for i in range(0x110000) if chr(i).isdecimal()]
    ranges, start = [], digits[0]
    for a, b in zip(digits, digits[1:] + [None]):
        if b is None or ord(b) != ord(a) + 1:
            ranges.append(start + "-" + a if a != start else a)
            start = b
    body = pattern.removesuffix("$").replace("[a-z]", "\0A").replace("\\d", "\0D")
    body = re.sub(r"\((?!\?)", "(?:", body).replace("i", "[i\u0130\u0131]")
    body = body.replace("\0A", "[a-z\u0130\u0131]").replace("\0D", "[" + "".join(ranges) + "]")
    if re.compile(body).groups:  # pragma: no cover - a pattern this translation does not handle
        raise ValueError(f"cannot translate {pattern!r} to RE2")
    return f"(?i)(?:{body})(\n?)$" if pattern.endswith("$") else f"(?i){body}"


def strip_suffixes(names: pd.Series) -> pd.Series:
    """Repo names without mirror prefixes and format/quantization suffixes (``Qwen2.5-7B-Instruct-bnb-4bit`` → ``Qwen2.5-7B-Instruct``)."""
    text = names.astype("string")
    out = pc.replace_substring_regex(as_arrow(text), _re2(PREFIX_RE), "")
    for _ in range(8):  # a few passes strip stacked suffixes (-unsloth-bnb-4bit, -i1-GGUF)
        nxt = pc.replace_substring_regex(out, _re2(SUFFIX_RE), r"\1")
        if nxt.equals(out):
            break
        out = nxt
    return as_series(out, text.index).rename(text.name)


#: Python's IGNORECASE matches ``[a-z]`` and ``i`` also with the Turkish dotted and dotless i; RE2 folds
#: every other letter these patterns hold as Python does (the Kelvin sign with k, the long s with s)
_I = "\u0130\u0131"
#: the lookarounds of the family keywords, in RE2: each consumes the neighbour it checks
_LOOKAROUNDS = {"(?<![a-z])": f"(?:^|[^a-z{_I}])", "(?![a-z])": f"(?:[^a-z{_I}]|$)", "(?![0-9])": "(?:[^0-9]|$)"}


@functools.cache
def _keyword_re2(pattern: str) -> str | None:
    """RE2 spelling of a family keyword (a Python ``re`` pattern used with ``re.I``) whose first
    match has the same text, in group ``hit``: a leading lookbehind and a trailing lookahead of
    ``_LOOKAROUNDS`` become the character (or the text's end) they check. Consuming it does not
    move the first match: a match that starts after a non-letter starts one character earlier,
    and one at the start of the text takes ``^`` first, as Python tries position 0 first. None for
    any other construct (then Python's ``re`` matches)."""
    lead = next((k for k in _LOOKAROUNDS if k.startswith("(?<") and pattern.startswith(k)), "")
    trail = next((k for k in _LOOKAROUNDS if not k.startswith("(?<") and pattern.endswith(k)), "")
    body = pattern[len(lead):len(pattern) - len(trail)]
    classes = re.findall(r"\[[^\]]*\]", body)
    if "(?" in body or "\\" in body.replace("\\.", "") or any(re.fullmatch(c, "i", re.I) for c in classes):
        return None  # lookarounds elsewhere, escapes, a class that takes an i: not translated
    body = re.sub(r"\((?!\?)", "(?:", body).replace("i", f"[i{_I}]")
    out = f"(?i){_LOOKAROUNDS.get(lead, '')}(?P<hit>{body}){_LOOKAROUNDS.get(trail, '')}"
    try:
        pc.extract_regex(pyarrow.array(["x"]), out)
    except pyarrow.ArrowInvalid:
        return None
    return out


def _first_keyword(names: pd.Series, kw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each name: the row of ``kw`` whose keyword matches it first (-1: none) and the matched
    text; each keyword only against the names no earlier one matched. In RE2 (Arrow) where every
    keyword translates (``_keyword_re2``), after one pass of all keywords together has left out
    the names none matches; else with Python's ``re``, every name."""
    row, hit = np.full(len(names), -1), np.full(len(names), None, dtype=object)
    pats = [_keyword_re2(v) for v in kw["value"]]
    text = as_arrow(names) if pats and all(p is not None for p in pats) else None
    if text is not None:
        anyone = "|".join(f"(?:{p.replace('(?P<hit>', '(?:')})" for p in pats)
        todo = np.flatnonzero(pc.fill_null(pc.match_substring_regex(text, anyone), False).to_numpy(zero_copy_only=False))
    else:
        todo = np.arange(len(names))
    for k, value in enumerate(kw["value"]):  # loop over curated rows, not models
        if not len(todo):
            break
        if text is not None:
            got = pc.struct_field(pc.extract_regex(text.take(pyarrow.array(todo)), pats[k]), [0])
        else:
            got = as_arrow(names.iloc[todo].str.extract(f"({value})", flags=re.I, expand=True)[0].astype("string"))
        new = got.is_valid().to_numpy(zero_copy_only=False)
        row[todo[new]], hit[todo[new]] = k, got.filter(pyarrow.array(new)).to_numpy(zero_copy_only=False)
        todo = todo[~new]
    return row, hit


def keyword_org(names: pd.Series, architectures: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Organization of the first keyword row that matches each name, and the matched text,
    matched once per distinct name (ids repeat a lot: many derivatives share an ancestor)."""
    kw = architectures[architectures["kind"] == "keyword"]
    uniq = pd.Series(names.dropna().unique(), dtype="string")
    row, hit = _first_keyword(uniq, kw)
    found = row >= 0
    key = pd.Index(uniq[found].to_numpy())
    return (lookup(names, pd.Series(kw["org"].to_numpy()[row[found]], index=key, dtype="string")),
            lookup(names, pd.Series(hit[found], index=key, dtype="string")))


def known_model_index(known_ids: pd.Series, registry: pd.DataFrame, mirrors: pd.DataFrame) -> pd.DataFrame:
    """Known models of registry organizations by stripped lower-case repo name (names claimed by one org only)."""
    known = as_arrow(pd.Series(known_ids, dtype="string"))
    ids = as_series(pc.unique(known).drop_null(), None)  # distinct ids, in order of first appearance
    ids = ids[attribute(namespace(ids), registry)["registry_org"].notna().to_numpy()]  # registry orgs first: few
    ns, name = split_id(ids)
    reg = attribute(ns, registry)["registry_org"]
    keep = reg.notna() & ~isin(ns.str.lower(), mirrors["namespace"].str.lower())
    df = pd.DataFrame({"model_id": ids[keep], "org": reg[keep], "key": strip_suffixes(name[keep]).str.lower()})
    df = df.sort_values("model_id", kind="stable").reset_index(drop=True)
    # names claimed by one organization only, then the first model (by id) of each: on integer codes
    key, _ = pd.factorize(df["key"])  # codes in order of first appearance
    org, _ = pd.factorize(df["org"])
    n_keys, width = int(key.max(initial=-1)) + 1, int(org.max(initial=0)) + 1
    pairs = np.sort(key[key >= 0].astype(np.int64) * width + org[key >= 0])
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    n_orgs = np.bincount(pairs // width, minlength=n_keys)
    first = first_rows(key, n_keys)  # each key's first row
    return df.iloc[np.sort(first[n_orgs == 1])].set_index("key")[["model_id", "org"]]


class _Attribution:
    """What the rules found so far for a set of rows: organization, rule, confidence, evidence."""

    def __init__(self, index):
        self.cols = {c: pd.Series(pd.NA, index=index, dtype="string") for c in ("org", "rule", "conf", "evid")}

    def take(self, mask, org, rule, conf, evid) -> None:
        """Attribute the rows of ``mask`` that no earlier rule attributed and for which ``org`` is known."""
        index = self.cols["rule"].index
        new = self.cols["rule"].isna() & mask.fillna(False) & pd.Series(org, index=index).notna()
        for key, value in (("org", org), ("rule", rule), ("conf", conf), ("evid", evid)):
            self.cols[key] = self.cols[key].mask(new, value)

    def spread(self, inv: np.ndarray, index) -> "_Attribution":
        """The attribution of row ``inv[i]`` for every row ``i`` of ``index``."""
        out = _Attribution(index)
        out.cols = {k: take_at(v, inv, index) for k, v in self.cols.items()}
        return out


def _anchors(frame: pd.DataFrame):
    """The distinct anchors (the last known ancestor, or the derivative itself for cycles) with
    whether each is a declared root; rules 0, 1 and 3 read only the anchor, so they run once per
    distinct anchor (derivatives share ancestors) and are spread back (``inv``)."""
    root = frame["root_model_id"].astype("string")
    anchor = root.fillna(frame["model_id"].astype("string"))
    has_root = root.notna().to_numpy()
    codes, _ = pd.factorize(anchor)
    _, first, inv = np.unique(codes.astype(np.int64) * 2 + has_root, return_index=True, return_inverse=True)
    u = pd.RangeIndex(len(first))
    return pd.Series(anchor.array.take(first), index=u), pd.Series(has_root[first], index=u), inv.reshape(-1)


def _mirror(found: _Attribution, anchor: pd.Series, name: pd.Series, is_mirror: pd.Series, registry, index,
            declared_org: pd.Series | None, architectures) -> tuple[pd.Series, pd.Series]:
    """Rule 1: a mirror's repo name (stripped of format suffixes) names its original: by a
    ``<org>_`` prefix, a known model of one registry organization, else a family keyword. Returns
    the family keywords found in the plain names (rule 3 reads them)."""
    stripped = strip_suffixes(name)
    prefix = name.str.extract(r"^([^_]+)_", expand=False).astype("string")
    found.take(is_mirror, attribute(prefix, registry)["registry_org"], "mirror", "high", anchor + ": namespace prefix " + prefix)
    u = anchor.index
    at = positions(stripped.str.lower(), index.index)
    match_id = take_at(index["model_id"].astype("string"), at, u)
    match_org = take_at(index["org"].astype("string"), at, u)
    if declared_org is not None:  # the matched model is itself a derivative: use its declared origin
        match_org = lookup(match_id, declared_org[~declared_org.index.duplicated()]).astype("string").fillna(match_org)
    found.take(is_mirror, match_org, "mirror", "high", anchor + " matches " + match_id)
    # keywords per name are matched once for the stripped and the plain names together (mostly the same text)
    both_org, both_hit = keyword_org(pd.concat([stripped, name], ignore_index=True), architectures)
    n = len(u)
    kw_org = pd.Series(both_org.iloc[:n].to_numpy(), index=u, dtype="string")
    kw_hit = pd.Series(both_hit.iloc[:n].to_numpy(), index=u, dtype="string")
    found.take(is_mirror, kw_org, "mirror", "medium", anchor + ": name keyword " + kw_hit)
    return (pd.Series(both_org.iloc[n:].to_numpy(), index=u, dtype="string"),
            anchor + ": name keyword " + pd.Series(both_hit.iloc[n:].to_numpy(), index=u, dtype="string"))


def _architecture_org(frame: pd.DataFrame, architectures: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Rule 2: the organization the model-type tag of the derivative (else of its root) maps to,
    where unambiguous, and the tag."""
    arch = architectures[(architectures["kind"] == "architecture") & architectures["org"].notna()].set_index("value")["org"]
    tag = frame["model_type"].astype("string")
    tag_org = lookup(tag, arch).astype("string")
    if "root_model_type" in frame:
        rtag = frame["root_model_type"].astype("string")
        tag = tag.mask(tag_org.isna(), rtag)
        tag_org = tag_org.fillna(lookup(rtag, arch).astype("string"))
    return tag_org, tag


def _index(known_ids: pd.Series | None, registry: pd.DataFrame, mirrors: pd.DataFrame, index: pd.DataFrame | None) -> pd.DataFrame:
    """``index`` when given, else ``known_model_index`` of ``known_ids``."""
    if index is not None:
        return index
    if known_ids is None:
        raise TypeError("the known model ids, or their index (known_model_index), are needed")
    return known_model_index(known_ids, registry, mirrors)


def infer(frame: pd.DataFrame, registry: pd.DataFrame, known_ids: pd.Series | None, mirrors: pd.DataFrame | None = None,
          architectures: pd.DataFrame | None = None, use_declared: bool = True, declared_org: pd.Series | None = None,
          index: pd.DataFrame | None = None) -> pd.DataFrame:
    """Attribute each derivative. ``frame`` needs ``model_id``, ``root_model_id`` (last known ancestor;
    null for cycles, where the derivative itself is used), ``model_type`` and optionally
    ``root_model_type``. ``index``: ``known_model_index(known_ids, registry, mirrors)`` when the
    caller has it already (then ``known_ids`` is not read and may be None). ``declared_org`` maps
    model ids whose own declared chain reaches a registry organization to that organization (a
    mirror matched to such a model inherits it).
    ``mirrors``, ``architectures``: the curated tables (default: the shipped ones).

    Returns, aligned with ``frame``: attribution, confidence, attributed_org, attributed_country,
    attributed_region, attribution_evidence.
    """
    mirrors = load_mirrors() if mirrors is None else mirrors
    architectures = load_architectures() if architectures is None else architectures
    check_orgs(architectures, registry)
    anchor, is_root, inv = _anchors(frame)
    ns, name = split_id(anchor)
    is_mirror = pd.Series(isin(ns.str.lower(), mirrors["namespace"].str.lower()), index=anchor.index)
    per_anchor = _Attribution(anchor.index)
    if use_declared:  # 0. declared: the declared chain reaches a registry organization
        per_anchor.take(is_root & ~is_mirror, attribute(ns, registry)["registry_org"], "declared", "high", "declared root " + anchor)
        if declared_org is None:
            dec = (per_anchor.cols["rule"] == "declared").fillna(False).to_numpy(dtype=bool)[inv]
            declared_org = pd.Series(per_anchor.cols["org"].array.take(inv[dec]), index=frame["model_id"].to_numpy()[dec], dtype="string")
    index = _index(known_ids, registry, mirrors, index)
    kw_org, kw_evid = _mirror(per_anchor, anchor, name, is_mirror, registry, index, declared_org, architectures)
    found = per_anchor.spread(inv, frame.index)  # every derivative gets its anchor's attribution so far
    every = pd.Series(True, index=frame.index)
    tag_org, tag = _architecture_org(frame, architectures)
    found.take(every, tag_org, "architecture", "medium", "model type " + tag)
    # 3. family keywords in the repo name of the last known ancestor
    found.take(every, take_at(kw_org, inv, frame.index), "name_keyword", "low", take_at(kw_evid, inv, frame.index))
    att = attribute(found.cols["org"], registry)
    return pd.DataFrame({"attribution": found.cols["rule"].fillna("unknown"), "confidence": found.cols["conf"].fillna("none"),
                         "attributed_org": att["registry_org"], "attributed_country": att["country"],
                         "attributed_region": att["region"], "attribution_evidence": found.cols["evid"]}, index=frame.index)


def held_out(frame: pd.DataFrame, registry: pd.DataFrame, known_ids: pd.Series | None, mirrors: pd.DataFrame | None = None,
             architectures: pd.DataFrame | None = None, truth: pd.DataFrame | None = None,
             index: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out accuracy of the inference rules.

    Takes the derivatives whose declared chain reaches a registry organization and whose own
    namespace is not one (community derivatives: the population the rules are for), hides their
    chains (the derivative is its own last known ancestor; the rules see only its repo id and
    its model-type tag), applies rules 1-3 and compares the inferred region with the declared one.
    Returns the per-model comparison and a summary per rule (plus ``all``): held_out, attributed,
    correct_region, accuracy (correct / attributed), coverage (attributed / held_out).

    ``truth``: the result of ``infer(frame, registry, known_ids, mirrors, architectures)`` when
    the caller has it already (any frame aligned with ``frame`` holding its columns); computed
    here otherwise. ``index``: as for :func:`infer` (with it, ``known_ids`` is not read).
    """
    mirrors = load_mirrors() if mirrors is None else mirrors
    architectures = load_architectures() if architectures is None else architectures
    index = _index(known_ids, registry, mirrors, index)
    if truth is None:
        truth = infer(frame, registry, known_ids, mirrors, architectures, index=index)
    own_ns, _ = split_id(frame["model_id"])
    own_reg = attribute(own_ns, registry)["registry_org"]
    sel = (truth["attribution"] == "declared") & own_reg.isna()
    hidden = pd.DataFrame({"model_id": frame.loc[sel, "model_id"], "root_model_id": frame.loc[sel, "model_id"],
                           "model_type": frame.loc[sel, "model_type"]})
    dec = truth["attribution"] == "declared"
    declared_org = pd.Series(truth.loc[dec, "attributed_org"].to_numpy(), index=frame.loc[dec, "model_id"].to_numpy(), dtype="string")
    guess = infer(hidden, registry, known_ids, mirrors, architectures, use_declared=False, declared_org=declared_org, index=index)
    cmp = pd.DataFrame({"model_id": hidden["model_id"], "true_org": truth.loc[sel, "attributed_org"],
                        "true_region": truth.loc[sel, "attributed_region"], "attribution": guess["attribution"],
                        "inferred_org": guess["attributed_org"], "inferred_region": guess["attributed_region"]})
    cmp["attributed"] = cmp["attribution"] != "unknown"
    cmp["correct_region"] = cmp["attributed"] & (cmp["inferred_region"] == cmp["true_region"])
    n = len(cmp)
    rows = []
    for r in ["all", "mirror", "architecture", "name_keyword"]:
        c = cmp[cmp["attributed"]] if r == "all" else cmp[cmp["attribution"] == r]
        rows.append({"rule": r, "held_out": n, "attributed": len(c), "correct_region": int(c["correct_region"].sum()),
                     "accuracy": c["correct_region"].mean() if len(c) else float("nan"),
                     "coverage": len(c) / n if n else float("nan")})
    return cmp.reset_index(drop=True), pd.DataFrame(rows)


def attribution_counts(derivs: pd.DataFrame, ids: pd.Index, snapshots) -> pd.DataFrame:
    """Derivatives per snapshot and attribution rule. ``snapshots``: (name, codes) of each main
    snapshot, codes into ``ids``; one bincount per snapshot, no lookup of ids by string."""
    at = positions(pd.Series(ids, dtype="string"), derivs["model_id"])  # each model's row in derivs (-1: none)
    rule = pd.Categorical(derivs["attribution"], categories=ATTRIBUTIONS).codes
    rule_of = np.where(at >= 0, rule[np.maximum(at, 0)] if len(rule) else -1, -1)
    names, rows = [], []
    for name, codes in snapshots:
        r = rule_of[codes]
        names.append(name)
        rows.append(np.bincount(r[r >= 0], minlength=len(ATTRIBUTIONS)))
    counts = pd.DataFrame(np.array(rows, dtype=np.int64).reshape(len(rows), len(ATTRIBUTIONS)),
                          index=pd.Index(pd.array(names, dtype="string"), name="snapshot"),
                          columns=pd.Index(ATTRIBUTIONS, name="attribution"))
    return counts[counts.sum(axis=1) > 0].sort_index(kind="stable")


def quality_rows(counts: pd.DataFrame, held_out_summary: pd.DataFrame | None = None) -> list[pd.DataFrame]:
    """``data_quality`` rows: per snapshot, the share of its derivatives attributed by each rule
    (``attribution_share``, from ``attribution_counts``; attribution from lineage over all
    snapshots), and the held-out accuracy of the inference rules (``attribution_held_out``;
    value = accuracy, detail = counts)."""
    long = counts.stack().rename("n").reset_index()
    long["total"] = long["snapshot"].map(counts.sum(axis=1))
    out = [] if long.empty else [issue("attribution_share", snapshot=long["snapshot"], value=(long["n"] / long["total"]).astype("Float64"),
                 detail="attribution " + long["attribution"] + ": " + long["n"].astype(str) + " of " + long["total"].astype(str)
                        + " derivatives in the snapshot",
                 action="declared: region of the declared root; other rules: inferred (derivatives.attribution); "
                        "lineage resolved over all snapshots")]
    if held_out_summary is not None and len(held_out_summary):
        h = held_out_summary
        out.append(issue("attribution_held_out", org=h["rule"], value=h["accuracy"].astype("Float64"),
                         detail="rule " + h["rule"] + ": region right for " + h["correct_region"].astype(str) + " of "
                                + h["attributed"].astype(str) + " attributed; " + h["attributed"].astype(str) + " of "
                                + h["held_out"].astype(str) + " held-out derivatives attributed",
                         action="held-out test: community derivatives whose declared chain reaches a registry organization, "
                                "chains hidden; value = accuracy (right region / attributed)"))
    return out
