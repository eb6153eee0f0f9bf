"""Attribution beyond the declared chain: each rule on small inputs, then coverage and held-out
accuracy on the real 2026-07-01 + 2026-08-01 snapshots."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from atomdata.rules.organizations import load_registry
from atomdata.rules import inference
from atomdata.steps.cache import default_typing


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def _infer(rows, registry, known=("Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it", "meta-llama/Llama-3.2-3B-Instruct")):
    frame = pd.DataFrame(rows, columns=["model_id", "root_model_id", "model_type"])
    out = inference.infer(frame, registry, pd.Series(list(known), dtype="string"))
    return pd.concat([frame, out], axis=1).set_index("model_id")


def test_curated_tables_are_valid_and_name_registry_orgs(registry):
    mirrors = inference.load_mirrors()
    arch = inference.load_architectures()
    assert {"unsloth", "bartowski", "TheBloke", "mlx-community", "mradermacher"} <= set(mirrors["namespace"])
    inference.check_orgs(arch, registry)
    a = arch[arch["kind"] == "architecture"].set_index("value")["org"]
    assert a["qwen3_moe"] == "Qwen" and a["gemma3"] == "google" and a["phi3"] == "microsoft"
    assert pd.isna(a["llama"])  # ambiguous: in the vocabulary, never attributed
    assert "llama" in default_typing().model_types  # the vocabulary of model_type


@pytest.mark.parametrize("name,stripped", [
    ("Qwen2.5-7B-Instruct-bnb-4bit", "Qwen2.5-7B-Instruct"),
    ("Llama-3.2-3B-Instruct-unsloth-bnb-4bit", "Llama-3.2-3B-Instruct"),
    ("gemma-2-9b-it-GGUF", "gemma-2-9b-it"),
    ("Mistral-7B-Instruct-v0.3-i1-GGUF", "Mistral-7B-Instruct-v0.3"),
    ("Qwen3-8B-MLX-4bit", "Qwen3-8B"),
    ("Qwen2.5-14B-Instruct-AWQ", "Qwen2.5-14B-Instruct"),
    ("Meta-Llama-3-8B-Instruct-GPTQ", "Meta-Llama-3-8B-Instruct"),
    ("Phi-3.5-mini-instruct-Q4_K_M", "Phi-3.5-mini-instruct"),
    ("Huihui-Qwen2.5-7B-Instruct-abliterated-v3", "Qwen2.5-7B-Instruct"),
    ("Mistral-7B-v0.3", "Mistral-7B-v0.3"),  # versions are part of the name
])
def test_mirror_suffix_stripping(name, stripped):
    assert inference.strip_suffixes(pd.Series([name], dtype="string"))[0] == stripped


def test_suffix_stripping_in_arrow_matches_python_re():
    """The suffixes are stripped with Arrow (RE2) but mean what the Python patterns (re.I) mean:
    Unicode digits, the Turkish dotted and dotless i, a final newline, nulls, stacked suffixes."""
    import re

    names = ["Qwen3-8B-Q\u0664_K_M", "x-\u0130matrix", "x-\u0131NT8", "x-gguf\n", "x-gguf\n\n", "x-i1-gguf\nx", "HUİHUİ-x",
             "x-4.\u0665bpw", "x-w4a16-g128-exl2-8-bits", "x-\U0001e4f4bit", None, "", "-gguf", "x.GGUF.gguf_Q8_0"]

    def python(v):
        if v is None:
            return None
        v = re.sub(inference.PREFIX_RE, "", v, flags=re.I)
        for _ in range(8):
            v, before = re.sub(inference.SUFFIX_RE, "", v, flags=re.I), v
            if v == before:
                break
        return v

    got = inference.strip_suffixes(pd.Series(names, dtype="string"))
    assert [None if pd.isna(v) else v for v in got] == [python(v) for v in names]


def test_keywords_in_re2_match_as_python(data_root, monkeypatch):
    """The keyword rule in Arrow (RE2: each keyword translated by ``_keyword_re2``, the names no
    keyword matches left out first) finds what Python's ``re`` finds matching every name: over every repo
    name of a real snapshot plus hostile spellings (Turkish i, long s, Kelvin sign, a keyword at
    either end, a final newline, a lookahead met only by a shorter match)."""
    import pyarrow.parquet as pq

    path = sorted((data_root / "hub-stats").glob("*/models.parquet"))[-1]
    ids = pd.Series(pq.read_table(path, columns=["id"]).column("id").to_pylist(), dtype="string")
    names = pd.concat([inference.split_id(ids)[1], pd.Series(["x-QWİN", "Lıama-3", "mİstral-7b", "Tülu-3", "PHI-3.5",
                                                              "Yİ-1.5-9B", "ſmollm", None, "qwen2-Kaya", "qwen", "qwen\n", "aqwen qwen",
                                                              "phi-3.55", "\u212aqwen", "ıqwen", "qwenİ", "İnternLM", "xllama-3 llama-3", "TÜLU",
                                                              "deepseek-r1-distill-llama"], dtype="string")],
                      ignore_index=True)
    arch = inference.load_architectures()
    keywords = arch.loc[arch["kind"] == "keyword", "value"]
    assert all(inference._keyword_re2(v) is not None for v in keywords)
    fast = inference.keyword_org(names, arch)
    monkeypatch.setattr(inference, "_keyword_re2", lambda pattern: None)
    slow = inference.keyword_org(names, arch)
    for a, b in zip(fast, slow):
        pd.testing.assert_series_equal(a, b)
    assert fast[0].notna().sum() > 100  # the real names do hit keywords


def test_re2_folds_case_as_python_does_for_the_keywords():
    """What ``_keyword_re2`` rests on, over every code point: Python's ``[a-z]`` (and each letter,
    digit and sign the keywords hold) under re.I matches the same characters as its RE2 spelling
    under (?i); only the Turkish i needs spelling out."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000]
    every, text = pa.array(chars), "\n".join(chars)
    keywords = inference.load_architectures().query("kind == 'keyword'")["value"]
    literal = sorted(set("".join(keywords)) - set("()[]?!<|\\"))
    for py in ["[a-z]", "[0-9]", *(re.escape(c) for c in literal)]:
        re2 = f"[a-z{inference._I}]" if py == "[a-z]" else py.replace("i", f"[i{inference._I}]")
        want = {m.group() for m in re.finditer(py, text, re.I)} - {"\n"}
        got = set(every.filter(pc.match_substring_regex(every, f"(?i)^(?:{re2})$")).to_pylist())
        assert got == want, py


def test_each_rule_in_order(registry):
    r = _infer([
        ("u/a", "Qwen/Qwen2.5-7B", "llama"),                            # declared: root is a registry org
        ("u/b", "unsloth/Qwen2.5-7B-Instruct-bnb-4bit", None),          # mirror, exact name match
        ("u/c", "bartowski/google_gemma-3-12b-it-GGUF", None),          # mirror, namespace prefix
        ("u/d", "mlx-community/Mistral-Small-24B-4bit", None),          # mirror, keyword
        ("u/e", "someone/my-model", "qwen3"),                           # architecture
        ("u/f", "someone/Llama-3.1-8B-Lexi", "llama"),                  # name keyword (llama architecture ignored)
        ("u/g", "someone/my-model", "llama"),                           # llama alone is not Meta: unknown
        ("u/h", "someone/tinyllama-chat", None),                        # no version: not Meta
        ("u/i", None, None),                                            # cycle, nothing known
        ("u/j", "unsloth/totally-custom-thing", None),                  # mirror without a match: unknown
    ], registry)
    exp = {"u/a": ("declared", "high", "Qwen", "china"), "u/b": ("mirror", "high", "Qwen", "china"),
           "u/c": ("mirror", "high", "google", "us"), "u/d": ("mirror", "medium", "mistralai", "eu"),
           "u/e": ("architecture", "medium", "Qwen", "china"), "u/f": ("name_keyword", "low", "meta-llama", "us")}
    for mid, (rule, conf, org, region) in exp.items():
        row = r.loc[mid]
        assert (row["attribution"], row["confidence"], row["attributed_org"], row["attributed_region"]) == (rule, conf, org, region), mid
    for mid in ("u/g", "u/h", "u/i", "u/j"):
        assert r.loc[mid, "attribution"] == "unknown" and r.loc[mid, "confidence"] == "none", mid
        assert pd.isna(r.loc[mid, "attributed_org"]) and r.loc[mid, "attributed_region"] == "unknown"
    assert r.loc["u/b", "attribution_evidence"].endswith("matches Qwen/Qwen2.5-7B-Instruct")


def test_mirror_root_is_never_declared(registry):
    # even a mirror namespace that happened to be in the registry would go through the mirror rule
    mirrors = pd.DataFrame({"namespace": ["Qwen"], "kind": ["re-upload"], "notes": ["test"]}, dtype="string")
    frame = pd.DataFrame({"model_id": ["u/a"], "root_model_id": ["Qwen/gemma-2-9b-it-GGUF"], "model_type": [None]})
    out = inference.infer(frame, registry, pd.Series(["google/gemma-2-9b-it"]), mirrors=mirrors)
    assert out.loc[0, "attribution"] == "mirror" and out.loc[0, "attributed_org"] == "google"


def test_release_attribution_on_the_real_snapshots(july_build, data_root):
    _, res = july_build
    d = res.tables["derivatives"]
    dq = res.tables["data_quality"]
    last = set(res.tables["models"].query("last_seen == '2026-08-01'")["model_id"])
    d8 = d[d["model_id"].isin(last)]
    # every model of the 2026-08-01 file that declares a base (2513 in the full shared snapshot)
    dump = pd.read_parquet(data_root / "hub-stats/2026-08-01/models.parquet", columns=["id", "baseModels"])
    assert set(d8["model_id"]) == set(dump.loc[dump["baseModels"].notna(), "id"])
    declared = (d8["root_region"] != "unknown").mean()
    inferred = (d8["attributed_region"] != "unknown").mean()
    assert inferred >= 0.70 and inferred > declared
    share = dq[(dq["kind"] == "attribution_share") & (dq["snapshot"] == "2026-08-01")]
    assert abs(share["value"].sum() - 1) < 1e-9 and len(share) == 5
    # declared attribution keeps the declared root's region
    dec = d[d["attribution"] == "declared"]
    assert (dec["attributed_region"] == dec["root_region"]).all()
    # derivatives_by_country: both lineages in one table, shares sum to 1 within (lineage, month, relation)
    dvc = res.tables["derivatives_by_country"]
    assert set(dvc["lineage"]) == {"declared", "with_inference"}
    sums = dvc.groupby(["lineage", "month", "relation"])["share"].sum()
    assert ((sums - 1).abs() < 1e-9).all()
    assert dvc.groupby("lineage")["new_derivatives"].sum().nunique() == 1


def test_held_out_accuracy(july_build):
    _, res = july_build
    dq = res.tables["data_quality"]
    h = dq[dq["kind"] == "attribution_held_out"].set_index("org")
    assert h.loc["all", "value"] >= 0.90
    # counts are reported, and they give the value: right of attributed, attributed of held out
    m = re.fullmatch(r"rule all: region right for (\d+) of (\d+) attributed; \2 of (\d+) held-out derivatives attributed",
                     h.loc["all", "detail"])
    assert m, h.loc["all", "detail"]
    right, attributed, held_out = map(int, m.groups())
    assert h.loc["all", "value"] == pytest.approx(right / attributed) and 0 < attributed <= held_out


def test_the_index_stands_for_the_known_ids(registry):
    """Given the index of the known models, the rules read no known ids (the build passes the
    index it made once); without either they refuse to guess."""
    known = pd.Series(["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it"], dtype="string")
    frame = pd.DataFrame([("someone/Qwen2.5-7B-Instruct-GGUF", "someone/Qwen2.5-7B-Instruct-GGUF", None),
                          ("unsloth/gemma-2-9b-it-bnb-4bit", "unsloth/gemma-2-9b-it-bnb-4bit", "gemma2")],
                         columns=["model_id", "root_model_id", "model_type"])
    index = inference.known_model_index(known, registry, inference.load_mirrors())
    by_ids = inference.infer(frame, registry, known)
    pd.testing.assert_frame_equal(inference.infer(frame, registry, None, index=index), by_ids)
    assert by_ids.loc[1, "attributed_org"] == "google"
    with pytest.raises(TypeError, match="known model ids"):
        inference.infer(frame, registry, None)
