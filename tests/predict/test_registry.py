import json
import pickle
import zipfile

import numpy as np
import pytest

from crmlens.exceptions import ConfigError, ValidationError
from crmlens.predict.model import PropensityModel
from crmlens.predict.registry import ModelRegistry, data_hash, load_model, read_manifest, save_model


@pytest.fixture(scope="module")
def fitted(make_planted):
    X, y = make_planted(600, seed=8)
    return PropensityModel(n_trials=2).fit(X, y), X, y


def test_reload_gives_identical_predictions_and_manifest(tmp_path, fitted):
    model, X, y = fitted
    path = tmp_path / "m.crmodel"
    manifest = save_model(model, path, task="churn", training_hash=data_hash(X, y), metrics={"roc_auc": 0.8})
    loaded, again = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert again["training_data_hash"] == data_hash(X, y) != data_hash(X.iloc[:-1], y[:-1])
    assert manifest["used_features"] == ["days_inactive", "plan", "spend", "noise"]
    assert again["params"]["n_trials"] == 2 and again["metrics"]["roc_auc"] == 0.8


class _Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled!')",))


def _rewrite(path, manifest=None, payload=None):
    with zipfile.ZipFile(path) as archive:
        old_manifest, old_payload = archive.read("manifest.json"), archive.read("model.pkl")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest if manifest is not None else old_manifest)
        archive.writestr("model.pkl", payload if payload is not None else old_payload)


def test_tampered_files_are_refused_before_unpickling(tmp_path, fitted, monkeypatch):
    model, _, _ = fitted
    path = tmp_path / "m.crmodel"
    save_model(model, path, task="churn")
    evil = pickle.dumps(_Boom())
    _rewrite(path, payload=evil)
    with pytest.raises(ValidationError, match="do not match"):
        load_model(path)
    # an attacker who also fixes the hash in the manifest still lacks the key
    manifest = read_manifest(path)
    import hashlib

    manifest["payload_sha256"] = hashlib.sha256(evil).hexdigest()
    _rewrite(path, manifest=json.dumps(manifest))
    with pytest.raises(ValidationError, match="signature check failed"):
        load_model(path)
    # a good file signed with another key is refused too
    save_model(model, path, task="churn")
    monkeypatch.setenv("CRMLENS_MODEL_KEY", "another key")
    with pytest.raises(ValidationError, match="signature"):
        load_model(path)


def test_registry_versions_list_show_resolve(tmp_path, fitted):
    model, X, _ = fitted
    registry = ModelRegistry(tmp_path / "models")
    first = registry.save(model, "churn", metrics={"roc_auc": 0.7})
    second = registry.save(model, "churn", metrics={"roc_auc": 0.75})
    registry.save(model, "response")
    assert (first["version"], second["version"]) == ("churn-v1", "churn-v2")
    assert [m["version"] for m in registry.list()] == ["churn-v1", "churn-v2", "response-v1"]
    assert registry.show("churn")["version"] == "churn-v2"
    loaded, manifest = registry.load("churn-v1")
    assert manifest["metrics"]["roc_auc"] == 0.7
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ConfigError, match="known versions: churn-v1"):
        registry.resolve("spend")
