"""Client script (the pinned MLflow client's venv, on the controller): what docs/known-issues.md
says users of this MLflow meet, tried against the stack. Prints one JSON object:

- "log_model_positional": what `mlflow.sklearn.log_model(model, "model")` (the design guide's
  line) does with a random forest: "logged" or the exception's first line;
- "artifact_uri": the run's;
- "download": for each path, "ok" or the exception of `MlflowClient().download_artifacts(run_id,
  path, dst)` (with the exceptions it came from), with the seconds it took (the caller sets MLFLOW_HTTP_REQUEST_MAX_RETRIES);
- "download_all": the same for `mlflow.artifacts.download_artifacts(run_id=...)`, and the files
  it brought.
"""
import json
import os
import sys
import tempfile
import time

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.ensemble import RandomForestClassifier


def describe(exc):
    """The exception's first line, and those of the exceptions it came from (the HTTP error)."""
    lines = []
    for _depth in range(5):
        if exc is None:
            break
        lines.append(f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(lines)


def attempt(call):
    start = time.monotonic()
    try:
        value = call()
        outcome = "ok"
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the outcome is the finding
        value, outcome = None, describe(exc)
    return {"outcome": outcome, "seconds": round(time.monotonic() - start, 1)}, value


def main(experiment):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    mlflow.set_experiment(experiment)
    result = {}
    with mlflow.start_run() as run:
        mlflow.log_text("a plot\n", "plots/a.txt")
        mlflow.log_text("notes\n", "notes.txt")
        outcome, _value = attempt(lambda: mlflow.sklearn.log_model(model, "model"))
        result["log_model_positional"] = outcome["outcome"]
    result["artifact_uri"] = run.info.artifact_uri
    result["download"] = {}
    for path in ("plots", "notes.txt", "", "."):
        outcome, _value = attempt(lambda p=path: MlflowClient().download_artifacts(run.info.run_id, p, tempfile.mkdtemp()))
        result["download"][path] = outcome
    outcome, folder = attempt(lambda: mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=tempfile.mkdtemp()))
    outcome["files"] = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _s, fs in os.walk(folder) for f in fs) if folder else []
    result["download_all"] = outcome
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
