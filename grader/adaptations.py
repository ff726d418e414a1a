"""What the grader adapted to run a student's code, and what the rubric makes it cost.

The worker reports each adaptation it made (``grader.worker.adapt``, and the handout's
sizes given to a constructor) as a policy id and the idiom it saw. Every check whose
run needed one gets a note on its card naming the idiom and its modern equivalent, and
the rubric's ``[adaptations.<policy>]`` table may turn it into a deduction: ``points``
taken once per submission (from the first check, in rubric order, that needed it) or
``fraction`` of the points of every check that needed it. Both default to 0: a careful
TA accepts this code.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Policy:
    id: str
    what: str
    modern: str = ""
    points: float = 0.0
    fraction: float = 0.0


def policies(table):
    """The ``[adaptations]`` table of a rubric as ``{id: Policy}``."""
    return {
        key: Policy(
            id=key,
            what=str(entry.get("what", key)),
            modern=str(entry.get("modern", "")),
            points=max(0.0, float(entry.get("points", 0))),
            fraction=min(1.0, max(0.0, float(entry.get("fraction", 0)))),
        )
        for key, entry in table.items()
    }


def apply(results, adapted, known):
    """Notes and deductions on ``results`` (``CheckResult`` list, rubric order), where
    ``adapted`` maps a check id to what the worker reported for it."""
    charged = set()
    for result in results:
        entries = adapted.get(result.id) or []
        by_policy = {}
        for entry in entries:
            by_policy.setdefault(entry["policy"], []).append(entry["idiom"])
        for policy_id, idioms in by_policy.items():
            policy = known.get(policy_id) or Policy(id=policy_id, what=policy_id)
            deduction = 0.0
            if result.passed:
                deduction = policy.fraction * result.max_score
                if policy.points and policy_id not in charged:
                    deduction += policy.points
                    charged.add(policy_id)
                deduction = min(deduction, result.score)
                result.score = round(result.score - deduction, 4)
            result.adapted.append(note(policy, idioms, deduction))


def note(policy, idioms, deduction=0.0):
    text = f"{policy.what}: {', '.join(dict.fromkeys(idioms))}"
    if policy.modern:
        text += f". Today's PyTorch: {policy.modern}"
    cost = (
        f"the course's policy takes off {deduction:g} point(s) for it"
        if deduction
        else "no points taken off"
    )
    return f"{text} ({cost})"
