"""The one supervised engine: tuned LightGBM and a regularised logistic model, blended and calibrated.

Every choice (tree parameters, class-imbalance handling, blend weight, calibration, decision threshold)
is made on a stratified validation split of the training data only, so cross-validating the whole
estimator is honest. Reasons are exact additive contributions to the logit: LightGBM's TreeSHAP
(``pred_contrib``) and the logistic model's centred terms, blended with the same weight as the scores.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, mean_absolute_error, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from crmlens.exceptions import NotFittedError, ValidationError
from crmlens.predict.decision import choose_threshold
from crmlens.predict.drift import numeric_shares
from crmlens.predict.linear import LinearScorer
from crmlens.predict.prep import TabularEncoder

__all__ = ["PropensityModel", "SpendModel", "default_lightgbm_scores", "logistic_baseline_scores"]

_BLEND_WEIGHTS = (0.25, 0.4, 0.5, 0.6, 0.75)  # a blend of the two beats either alone on held-out data
_C_GRID = (0.03, 0.1, 0.3, 1.0)


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(s, -35, 35)))


class _Calibrator:
    """Isotonic or Platt on the blended logit, or identity; chosen by cross-fitted Brier on validation."""

    def __init__(self, method: str) -> None:
        self.method = method

    def fit(self, s: np.ndarray, y: np.ndarray) -> _Calibrator:
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(s, y)
        elif self.method == "sigmoid":
            self.model_ = LogisticRegression(C=1e4).fit(s[:, None], y)
        return self

    def __call__(self, s: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return self.model_.predict(s)
        if self.method == "sigmoid":
            return self.model_.predict_proba(s[:, None])[:, 1]
        return _sigmoid(s)


class _Engine(BaseEstimator):
    """What the classifier and the regressor share: encoding, tuning LightGBM, the linear model, reasons."""

    _objective = "binary"

    def _lgb_params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {
            "objective": self._objective,
            "verbosity": -1,
            "num_threads": self.n_jobs,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "bagging_freq": 1,
        }
        params.update(extra or {})
        return params

    def _dataset(
        self, M: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, reference=None
    ) -> lgb.Dataset:
        return lgb.Dataset(
            M,
            label=y,
            weight=weight,
            categorical_feature=self.encoder_.categorical_indices_ or "auto",
            feature_name=[f"f{i}" for i in range(M.shape[1])],
            reference=reference,
            free_raw_data=False,
            params={"verbosity": -1, "max_bin": 255},
        )

    def _train_lgb(self, params, M_tr, y_tr, M_va=None, y_va=None, rounds=1000, weight=None):
        train = self._dataset(M_tr, y_tr, weight)
        kwargs: dict[str, Any] = {}
        if M_va is not None:
            valid = self._dataset(M_va, y_va, reference=train)
            kwargs = {"valid_sets": [valid], "callbacks": [lgb.early_stopping(30, verbose=False)]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lgb.train(self._lgb_params(params), train, num_boost_round=rounds, **kwargs)

    def _tune(self, M_tr, y_tr, M_va, y_va, loss) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        """Optuna TPE over a small space, time-boxed; returns best params, best rounds and the trial log."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.random_state, n_startup_trials=min(6, self.n_trials))
        study = optuna.create_study(direction="minimize", sampler=sampler)
        study.enqueue_trial(
            {
                "learning_rate": 0.06,
                "num_leaves": 15,
                "min_child_samples": 20,
                "feature_fraction": 0.8,
                "bagging_fraction": 0.8,
                "lambda_l2": 1.0,
                "cat_smooth": 10.0,
            }
        )
        study.enqueue_trial(
            {
                "learning_rate": 0.05,
                "num_leaves": 4,
                "min_child_samples": 50,
                "feature_fraction": 0.6,
                "bagging_fraction": 0.8,
                "lambda_l2": 5.0,
                "cat_smooth": 20.0,
            }
        )
        rounds: dict[int, int] = {}

        def objective(trial: optuna.Trial) -> float:
            params = {
                "learning_rate": trial.suggest_float("learning_rate", 0.04, 0.2, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 4, 48, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
                "feature_fraction": trial.suggest_float("feature_fraction", 0.3, 1.0),
                "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
                "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 50.0, log=True),
                "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 100.0, log=True),
            }
            booster = self._train_lgb(params, M_tr, y_tr, M_va, y_va)
            rounds[trial.number] = max(1, booster.best_iteration)
            return loss(y_va, booster.predict(M_va, num_iteration=booster.best_iteration, raw_score=True))

        study.optimize(objective, n_trials=self.n_trials, timeout=self.time_budget_s, n_jobs=1)
        best = study.best_trial
        log = [{"trial": t.number, "loss": t.value, **t.params} for t in study.trials if t.value is not None]
        return dict(best.params), rounds[best.number], log

    def _fit_encoder(self, X: pd.DataFrame) -> tuple[np.ndarray, dict[int, int]]:
        """Fit the tabular encoder; return the encoded matrix and {column index: n categories}."""
        self.encoder_ = TabularEncoder().fit(X)
        self.n_features_in_ = X.shape[1]
        categorical = {
            j: len(self.encoder_.categorical_[n])
            for j, n in enumerate(self.encoder_.features_)
            if n in self.encoder_.categorical_
        }
        return self.encoder_.transform(X), categorical

    def _split(self, M: np.ndarray, y: np.ndarray, stratify: bool):
        return train_test_split(
            M,
            y,
            np.arange(len(y)),
            test_size=self.validation_size,
            random_state=self.random_state,
            stratify=y if stratify else None,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, y) first")

    def _encode(self, X: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=self.encoder_.feature_names_in_)
        return self.encoder_.transform(X)

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature additive contributions (logit scale for classifiers) and the row totals.

        ``totals`` equals ``base + contributions.sum(axis=1)``: the blended score before calibration.
        """
        return self._contributions_matrix(self._encode(X))

    def _contributions_matrix(self, M: np.ndarray, method: str = "shap") -> tuple[np.ndarray, np.ndarray]:
        """``method="shap"``: exact TreeSHAP (LightGBM ``pred_contrib``). ``"path"``: path attribution
        (Saabas): each split's change of the node value goes to its feature, precomputed per leaf, so a
        row costs one leaf lookup per tree; many times faster on large batches, and also exactly additive.
        """
        w = self.blend_weight_
        phi = np.zeros((M.shape[0], M.shape[1] + 1))
        if w > 0:
            if method == "path":
                phi += w * self._path_contributions(M)
            else:
                phi += w * self.booster_.predict(M, pred_contrib=True, num_threads=self.n_jobs)
        if w < 1:
            phi[:, :-1] += (1 - w) * self.linear_.contributions(M)
            phi[:, -1] += (1 - w) * self.linear_.base_
        return phi[:, :-1], phi.sum(axis=1)

    def _leaf_tables(self) -> tuple[list[np.ndarray], float]:
        """Per tree, a (leaves x features) table of path contributions, and the summed root values."""
        cached = getattr(self, "_leaf_tables_cache", None)
        if cached is not None:
            return cached
        p = self.booster_.num_feature()
        tables, bias = [], 0.0
        for tree in self.booster_.dump_model()["tree_info"]:
            root = tree["tree_structure"]
            table = np.zeros((max(1, tree["num_leaves"]), p), dtype=np.float64)
            if "leaf_index" in root or "split_feature" not in root:
                bias += float(root.get("leaf_value", 0.0))
                tables.append(table)
                continue
            bias += float(root["internal_value"])
            stack = [(root, np.zeros(p))]
            while stack:
                node, acc = stack.pop()
                for side in ("left_child", "right_child"):
                    child = node[side]
                    value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                    step = acc.copy()
                    step[node["split_feature"]] += value - node["internal_value"]
                    if "leaf_index" in child:
                        table[child["leaf_index"]] = step
                    else:
                        stack.append((child, step))
            tables.append(table)
        self._leaf_tables_cache = (tables, bias)
        return tables, bias

    def _path_contributions(self, M: np.ndarray) -> np.ndarray:
        tables, bias = self._leaf_tables()
        leaves = self.booster_.predict(M, pred_leaf=True, num_threads=self.n_jobs).astype(np.int64)
        leaves = leaves.reshape(len(M), -1)
        out = np.zeros((M.shape[0], M.shape[1] + 1))
        for t, table in enumerate(tables):
            out[:, :-1] += table[leaves[:, t]]
        out[:, -1] = bias
        return out

    def _blend(self, M: np.ndarray) -> np.ndarray:
        w = self.blend_weight_
        s = np.zeros(M.shape[0])
        if w > 0:
            s += w * self.booster_.predict(M, raw_score=True, num_threads=self.n_jobs)
        if w < 1:
            s += (1 - w) * self.linear_.decision_function(M)
        return s

    @property
    def feature_names_(self) -> list[str]:
        return list(self.encoder_.features_)

    def feature_importance(self, X: pd.DataFrame | None = None) -> pd.DataFrame:
        """Global importance: mean |contribution| per feature on ``X`` (the training sample if None)."""
        sample = self._sample_ if X is None else self._encode(X)
        phi, _ = self._contributions_matrix(sample)
        imp = np.abs(phi).mean(axis=0)
        frame = pd.DataFrame({"feature": self.feature_names_, "importance": imp})
        return frame.sort_values("importance", ascending=False, ignore_index=True)


class PropensityModel(ClassifierMixin, _Engine):
    """Probability of a yes/no outcome (churn, conversion, response, default) with reasons.

    Parameters
    ----------
    n_trials : int
        Optuna trials for LightGBM; with the seed, this makes the tuning deterministic.
    time_budget_s : float
        Wall-clock safety limit of the tuning, seconds; if it cuts the trials short, results depend
        on the machine's speed (``describe()["tuning_trials"]`` says how many ran).
    n_jobs : int
        LightGBM threads. 1 by default: on a busy small machine, OpenMP threads that wait on each
        other make training several times slower than one thread.
    imbalance : {"auto", "none", "class_weight", "undersample"}
        Class-imbalance handling; ``auto`` compares the three on validation ROC-AUC.
    calibration : {"auto", "isotonic", "sigmoid", "none"}
        ``auto`` picks by cross-fitted Brier score on validation.
    blend : {"auto", "lightgbm", "logistic"}
        ``auto`` picks the logit-space weight of LightGBM vs the logistic model on validation log loss.
    benefit, cost, capacity :
        How the decision threshold is chosen (see :func:`crmlens.predict.decision.choose_threshold`).
    """

    def __init__(
        self,
        n_trials: int = 12,
        time_budget_s: float = 60.0,
        imbalance: str = "auto",
        calibration: str = "auto",
        blend: str = "auto",
        validation_size: float = 0.25,
        benefit: float | None = None,
        cost: float | None = None,
        capacity: int | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_trials = n_trials
        self.time_budget_s = time_budget_s
        self.imbalance = imbalance
        self.calibration = calibration
        self.blend = blend
        self.validation_size = validation_size
        self.benefit = benefit
        self.cost = cost
        self.capacity = capacity
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PropensityModel:
        started = time.perf_counter()
        for name, value, allowed in [
            ("imbalance", self.imbalance, ("auto", "none", "class_weight", "undersample")),
            ("calibration", self.calibration, ("auto", "isotonic", "sigmoid", "none")),
            ("blend", self.blend, ("auto", "lightgbm", "logistic")),
        ]:
            if value not in allowed:
                raise ValidationError(f"{name}={value!r}; choose one of {', '.join(allowed)}")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        y = np.asarray(y).astype(int)
        if set(np.unique(y)) != {0, 1}:
            raise ValidationError("y must hold both classes 0 and 1")
        if len(y) != len(X):
            raise ValidationError(f"X has {len(X)} rows but y has {len(y)}")
        self.classes_ = np.array([0, 1])
        M, categorical = self._fit_encoder(X)
        M_tr, M_va, y_tr, y_va, _, _ = self._split(M, y, stratify=True)

        def loss(y_true, s):
            return log_loss(y_true, _sigmoid(s), labels=[0, 1])

        # 1. the regularised logistic model: C chosen on validation
        best_c, best_loss = _C_GRID[0], np.inf
        for c in _C_GRID:
            lin = LinearScorer(C=c, random_state=self.random_state).fit(M_tr, y_tr, categorical)
            value = loss(y_va, lin.decision_function(M_va))
            if value < best_loss - 1e-6:
                best_c, best_loss, lin_va = c, value, lin
        s_lin = lin_va.decision_function(M_va)

        # 2. LightGBM, tuned (unless the blend is fixed to the logistic model)
        self.tuning_log_: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        rounds = 1
        s_lgb = np.zeros(len(y_va))
        self.imbalance_report_: dict[str, float] = {}
        strategy = "none"
        if self.blend != "logistic":
            params, rounds, self.tuning_log_ = self._tune(M_tr, y_tr, M_va, y_va, loss)
            booster = self._train_lgb(params, M_tr, y_tr, rounds=rounds)
            s_lgb = booster.predict(M_va, raw_score=True)
            strategies = (
                ["none", "class_weight", "undersample"] if self.imbalance == "auto" else [self.imbalance]
            )
            scored = {}
            for name in strategies:
                if name == "none" and self.imbalance == "auto":
                    scored[name] = s_lgb
                    continue
                M_s, y_s, extra = self._imbalanced(name, M_tr, y_tr, params)
                b = self._train_lgb(extra, M_s, y_s, rounds=rounds)
                scored[name] = b.predict(M_va, raw_score=True)
            self.imbalance_report_ = {k: float(roc_auc_score(y_va, v)) for k, v in scored.items()}
            strategy = max(scored, key=lambda k: self.imbalance_report_[k] - (0.002 if k != "none" else 0.0))
            s_lgb = scored[strategy]
        self.imbalance_strategy_ = strategy
        self.params_ = params

        # 3. blend weight in logit space (each part re-centred by Platt so their scales agree)
        weights = {"auto": _BLEND_WEIGHTS, "lightgbm": (1.0,), "logistic": (0.0,)}[self.blend]
        self.blend_report_ = {}
        for w in weights:
            s = w * s_lgb + (1 - w) * s_lin
            p = _Calibrator("sigmoid").fit(s, y_va)(s)
            self.blend_report_[w] = float(log_loss(y_va, p, labels=[0, 1]))
        self.blend_weight_ = float(min(self.blend_report_, key=self.blend_report_.get))
        s_va = self.blend_weight_ * s_lgb + (1 - self.blend_weight_) * s_lin

        # 4. calibration chosen by cross-fitted Brier on validation, then fitted on all of it
        methods = ["none", "sigmoid", "isotonic"] if self.calibration == "auto" else [self.calibration]
        self.calibration_report_ = {}
        folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=self.random_state)
        for method in methods:
            p = np.zeros(len(y_va))
            for a, b in folds.split(s_va, y_va):
                p[b] = _Calibrator(method).fit(s_va[a], y_va[a])(s_va[b])
            self.calibration_report_[method] = float(brier_score_loss(y_va, p))
        self.calibration_method_ = min(self.calibration_report_, key=self.calibration_report_.get)
        self.calibrator_ = _Calibrator(self.calibration_method_).fit(s_va, y_va)
        p_va = self.calibrator_(s_va)
        self.threshold_, self.threshold_rule_ = choose_threshold(
            y_va,
            p_va,
            benefit=self.benefit,
            cost=self.cost,
            capacity=None if self.capacity is None else max(1, round(self.capacity * len(y_va) / len(y))),
        )
        self.validation_ = {"y": y_va, "p": p_va}
        self.base_rate_ = float(y.mean())

        # 5. refit both parts on all the data with the chosen settings
        self.linear_ = LinearScorer(C=best_c, random_state=self.random_state).fit(M, y, categorical)
        self.linear_C_ = best_c
        if self.blend_weight_ > 0:
            M_s, y_s, extra = self._imbalanced(strategy, M, y, params)
            self.booster_ = self._train_lgb(extra, M_s, y_s, rounds=int(rounds / (1 - self.validation_size)))
        else:
            self.booster_ = self._train_lgb(
                {"num_leaves": 2}, M[:200], y[:200], rounds=1
            )  # unused placeholder
        self.n_rounds_ = self.booster_.num_trees()
        rng = np.random.default_rng(self.random_state)
        self._sample_ = M[rng.choice(len(M), size=min(2000, len(M)), replace=False)]
        self.train_profile_ = _profile(self.encoder_, M, y)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _imbalanced(self, name: str, M: np.ndarray, y: np.ndarray, params: dict[str, Any]):
        extra = dict(params)
        if name == "class_weight":
            extra["scale_pos_weight"] = float((y == 0).sum() / max(1, (y == 1).sum()))
        elif name == "undersample":
            from imblearn.under_sampling import RandomUnderSampler

            ratio = (y == 1).sum() / max(1, (y == 0).sum())
            ratio = min(ratio, 1 / ratio) if ratio > 0 else 0.0
            sampler = RandomUnderSampler(
                sampling_strategy=0.5 if ratio < 0.5 else 1.0, random_state=self.random_state
            )
            idx, _ = sampler.fit_resample(np.arange(len(y))[:, None], y)
            idx = np.sort(idx.ravel())
            return M[idx], y[idx], extra
        return M, y, extra

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The blended logit before calibration."""
        return self._blend(self._encode(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        s = self.decision_function(X)
        p = self.calibrator_(s)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def describe(self) -> dict[str, Any]:
        """The choices made in fit, for the registry and the report."""
        self._check_fitted()
        return {
            "lightgbm_params": self.params_,
            "lightgbm_rounds": self.n_rounds_,
            "logistic_C": self.linear_C_,
            "blend_weight_lightgbm": self.blend_weight_,
            "imbalance": self.imbalance_strategy_,
            "imbalance_validation_roc_auc": self.imbalance_report_,
            "calibration": self.calibration_method_,
            "calibration_validation_brier": self.calibration_report_,
            "threshold": self.threshold_,
            "threshold_rule": self.threshold_rule_,
            "tuning_trials": len(self.tuning_log_),
        }


class SpendModel(RegressorMixin, _Engine):
    """Next-period spend (regression): tuned LightGBM blended with a ridge model, reasons in currency."""

    _objective = "regression"

    def __init__(
        self,
        n_trials: int = 12,
        time_budget_s: float = 60.0,
        blend: str = "auto",
        validation_size: float = 0.25,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_trials = n_trials
        self.time_budget_s = time_budget_s
        self.blend = blend
        self.validation_size = validation_size
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> SpendModel:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        y = np.asarray(y, dtype=float)
        M, categorical = self._fit_encoder(X)
        M_tr, M_va, y_tr, y_va, _, _ = self._split(M, y, stratify=False)
        lin = LinearScorer(C=1.0, kind="ridge").fit(M_tr, y_tr, categorical)
        s_lin = lin.decision_function(M_va)
        params, rounds, self.tuning_log_ = self._tune(M_tr, y_tr, M_va, y_va, mean_absolute_error)
        booster = self._train_lgb(params, M_tr, y_tr, rounds=rounds)
        s_lgb = booster.predict(M_va)
        weights = {"auto": _BLEND_WEIGHTS, "lightgbm": (1.0,), "logistic": (0.0,)}[self.blend]
        self.blend_report_ = {
            w: float(mean_absolute_error(y_va, w * s_lgb + (1 - w) * s_lin)) for w in weights
        }
        self.blend_weight_ = float(min(self.blend_report_, key=self.blend_report_.get))
        self.params_ = params
        self.linear_ = LinearScorer(C=1.0, kind="ridge").fit(M, y, categorical)
        self.booster_ = self._train_lgb(params, M, y, rounds=int(rounds / (1 - self.validation_size)))
        self.n_rounds_ = self.booster_.num_trees()
        rng = np.random.default_rng(self.random_state)
        self._sample_ = M[rng.choice(len(M), size=min(2000, len(M)), replace=False)]
        self.train_profile_ = _profile(self.encoder_, M, None)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._blend(self._encode(X))

    def describe(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "lightgbm_params": self.params_,
            "lightgbm_rounds": self.n_rounds_,
            "blend_weight_lightgbm": self.blend_weight_,
        }


def _profile(encoder: TabularEncoder, M: np.ndarray, y: np.ndarray | None) -> dict[str, Any]:
    """What reason sentences and drift need from the training data: medians, category rates, bins."""
    profile: dict[str, Any] = {}
    for j, name in enumerate(encoder.features_):
        x = M[:, j]
        entry: dict[str, Any] = {"missing": float(np.isnan(x).mean())}
        if name in encoder.categorical_:
            codes = np.where(np.isnan(x), -1, x).astype(int)
            entry["kind"] = "category"
            if y is not None:
                frame = pd.DataFrame({"c": codes, "y": y}).groupby("c")["y"].mean()
                entry["rate"] = {int(k): float(v) for k, v in frame.items()}
            entry["share"] = {
                int(k): float(v) for k, v in pd.Series(codes).value_counts(normalize=True).items()
            }
        else:
            ok = x[~np.isnan(x)].astype(np.float64)
            entry["kind"] = "number"
            entry["median"] = float(np.median(ok)) if ok.size else float("nan")
            entry["edges"] = (
                np.unique(np.quantile(ok, np.linspace(0, 1, 11)[1:-1])).tolist() if ok.size else []
            )
            entry["bin_share"] = numeric_shares(x, entry["edges"]).tolist()
        profile[name] = entry
    return profile


def default_lightgbm_scores(M_tr, y_tr, M_te, categorical_indices, random_state=0, n_jobs=1) -> np.ndarray:
    """The anchor: ``LGBMClassifier()`` with its defaults, on the same encoded columns."""
    model = lgb.LGBMClassifier(random_state=random_state, n_jobs=n_jobs, verbosity=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(M_tr, y_tr, categorical_feature=categorical_indices or "auto")
        return model.predict_proba(M_te)[:, 1]


def logistic_baseline_scores(X_tr: pd.DataFrame, y_tr, X_te: pd.DataFrame, random_state=0) -> np.ndarray:
    """The anchor: one-hot + median imputation + scaling + ``LogisticRegression()`` with its defaults."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [
        c
        for c in X_tr.columns
        if pd.api.types.is_numeric_dtype(X_tr[c]) and not pd.api.types.is_bool_dtype(X_tr[c])
    ]
    text = [c for c in X_tr.columns if c not in numeric]
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                ),
                text,
            ),
        ]
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=2000, random_state=random_state))
    X_tr = X_tr.copy()
    X_te = X_te.copy()
    for c in text:
        X_tr[c] = X_tr[c].astype(object).where(X_tr[c].notna(), "missing").astype(str)
        X_te[c] = X_te[c].astype(object).where(X_te[c].notna(), "missing").astype(str)
    model.fit(X_tr, y_tr)
    return model.predict_proba(X_te)[:, 1]
