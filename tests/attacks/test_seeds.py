"""The hidden suite's seed: strong ones offered, weak ones refused, labelled by a slow hash."""

import hashlib
import re

from conftest import ROOT, run_grade
from grader import grading


def test_a_new_seed_is_long_and_fresh(tmp_path):
    first = run_grade("--new-seed", out=tmp_path / "out")
    second = run_grade("--new-seed", out=tmp_path / "out")
    assert first.returncode == 0 and re.fullmatch(r"\d{19}\n", first.stdout)
    assert first.stdout != second.stdout
    assert not grading.weak_seed(int(first.stdout))


def test_a_weak_seed_is_refused_with_a_usage_error(tmp_path):
    for seed in ("1234", "740185296318", "1111111111111111111"):
        process = run_grade(
            ROOT / "reference" / "ex08.py",
            "--suite",
            "hidden",
            "--seed",
            seed,
            out=tmp_path / "out",
        )
        assert process.returncode == 2, seed
        assert "too easy to guess" in process.stderr and "--new-seed" in process.stderr
    assert not (tmp_path / "out").exists()


def test_the_label_is_not_a_fast_unsalted_hash_of_the_seed():
    seed = 4829163075518842093
    label = grading.seed_label("ex08", seed)
    assert re.fullmatch(r"hidden-[0-9a-f]{8}", label)
    assert label != "hidden-" + hashlib.sha256(str(seed).encode()).hexdigest()[:8]
    assert label == grading.Options(suite="hidden", seed=seed).seed_label
    assert grading.seed_label("ex09", seed) != label
