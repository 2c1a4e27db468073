"""The design guide's client workflow, run as an ML engineer would run it against the stack.

Reads MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD from the
environment, like any MLflow client, and prints one JSON object with what it made.
"""
import json
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

experiment_name, model_name = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
X = rng.normal(size=(200, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)

mlflow.set_experiment(experiment_name)
with mlflow.start_run(run_name="random_forest_v1") as run:
    mlflow.log_param("n_estimators", 50)
    mlflow.log_param("max_depth", 5)
    model = RandomForestClassifier(n_estimators=50, max_depth=5, random_state=0).fit(X, y)
    mlflow.log_metric("accuracy", float(model.score(X, y)))
    mlflow.log_metric("f1_score", 0.82)
    # MLflow 3.17 saves sklearn models with skops, which refuses types it cannot vouch for unless
    # the author trusts them: a tree ensemble's node storage is one.
    mlflow.sklearn.log_model(model, name="model", input_example=X[:2],
                             skops_trusted_types=["sklearn.tree._tree.Tree"])
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "feature_importance.png")
        plt.bar(range(4), model.feature_importances_)
        plt.savefig(png)
        mlflow.log_artifact(png, artifact_path="plots")

client = MlflowClient()
version = mlflow.register_model(f"runs:/{run.info.run_id}/model", model_name)
client.set_registered_model_alias(model_name, "production", version.version)
stage = None
try:  # stages are deprecated in MLflow 3 but still served by 3.17
    stage = client.transition_model_version_stage(model_name, version.version, "Production").current_stage
except Exception as exc:  # pylint: disable=broad-except
    stage = f"unsupported: {type(exc).__name__}"

loaded = mlflow.pyfunc.load_model(f"models:/{model_name}@production")
prediction = loaded.predict(X[:5]).tolist()
fetched = client.get_run(run.info.run_id)
print(json.dumps({
    "run_id": run.info.run_id,
    "experiment_id": run.info.experiment_id,
    "artifact_uri": run.info.artifact_uri,
    "params": fetched.data.params,
    "metrics": fetched.data.metrics,
    "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id, "plots")),
    "model_version": version.version,
    "alias_version": client.get_model_version_by_alias(model_name, "production").version,
    "stage": stage,
    "prediction": prediction,
    "expected": model.predict(X[:5]).tolist(),
}))
