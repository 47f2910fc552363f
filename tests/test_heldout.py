import pytest

from search_api.heldout import cross_validate, fold_of, per_fold


def test_questions_about_one_article_share_a_fold():
    assert len({fold_of(f"64fa9b33b82641eb8ecc1382-{n}", 5) for n in range(10)}) == 1
    assert {fold_of(f"article{i}-0", 5) for i in range(200)} == set(range(5))


def _ranks(good: set[str], ids: list[str]) -> dict[str, int | None]:
    return {q: 1 if q in good else None for q in ids}


def test_a_config_is_scored_only_on_folds_it_was_not_chosen_on():
    ids = [f"a{i}-0" for i in range(100)]
    folds = {q: fold_of(q, 5) for q in ids}
    # "lucky" is perfect on fold 0 only and useless elsewhere; "steady" gets 60 % everywhere
    lucky = _ranks({q for q in ids if folds[q] == 0}, ids)
    steady = _ranks(set(ids[::5]) | set(ids[1::5]) | set(ids[2::5]), ids)
    result = cross_validate({"steady": steady, "lucky": lucky}, 5, default="steady")
    assert result["chosen"] == ["steady"] * 5
    assert result["held_out"]["hit@1"] == pytest.approx(0.6)


def test_ties_keep_the_default_and_per_fold_splits_the_metrics():
    ids = [f"b{i}-1" for i in range(50)]
    same = _ranks(set(ids[:20]), ids)
    result = cross_validate({"default": same, "other": dict(same)}, 5, default="default")
    assert result["chosen"] == ["default"] * 5 and result["ranks"] == same
    folds = per_fold(same, 5)
    assert sum(f["n"] for f in folds) == 50
    assert sum(f["hit@1"] * f["n"] for f in folds) == pytest.approx(20)
