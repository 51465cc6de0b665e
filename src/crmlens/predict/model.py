"""The one supervised engine: LightGBM bagged over inner folds and a regularised logistic model, blended.

Every choice (tree parameters, class-imbalance handling, blend weight, calibration, decision threshold)
is made on the training data only, through K inner stratified folds: each fold's booster stops early on
its own held-out fold, so the K boosters give out-of-fold scores for every training row, and their
average is the model (cross-validation bagging: lower variance than one refit, and no guessed round
count). Conservative tree parameters are the default; an Optuna-tuned set, bagged the same way, is
averaged in only when that clearly lowers the out-of-fold log loss. Cross-validating the whole
estimator is therefore honest. Reasons are exact additive
contributions to the logit: LightGBM's TreeSHAP (``pred_contrib``) averaged over the boosters, and the
logistic model's centred terms, blended with the same weight as the scores.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from joblib import cpu_count
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

_BLEND_WEIGHTS = tuple(i / 10 for i in range(11))  # 0 = logistic alone, 1 = LightGBM alone
_C_GRID = (0.03, 0.1, 0.3, 1.0)
# Shallow, regularised trees: on small tabular data (a few thousand rows) they rank as well as tuned
# ones and vary less between folds; the tuned candidate must beat them out of fold to be used. On
# Telco, bagged over 5 inner folds, learning rates 0.02, 0.04 and 0.06 rank alike (ROC-AUC within
# 0.0002 over three CV seeds), and 0.06 needs a third of the trees, so scoring is three times faster.
_CONSERVATIVE = {
    "learning_rate": 0.06,
    "num_leaves": 6,
    "min_child_samples": 40,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "lambda_l2": 10.0,
    "cat_smooth": 20.0,
}
_MAX_ROUNDS = 4000
_PATIENCE = 50  # rounds without a better held-out log loss before a booster stops
_PARALLEL_ROWS = 50_000  # scoring batches from this size predict on every core
_ENSEMBLE_Z = -2.5  # paired z of the log-loss change the tuned ensemble must reach to be used


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(s, -35, 35)))


def _logloss(y: np.ndarray, s: np.ndarray) -> float:
    return float(log_loss(y, _sigmoid(s), labels=[0, 1]))


def _row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


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

    def _train_lgb(self, params, M_tr, y_tr, M_va=None, y_va=None, rounds=1000, patience=30):
        train = self._dataset(M_tr, y_tr)
        kwargs: dict[str, Any] = {}
        if M_va is not None:
            valid = self._dataset(M_va, y_va, reference=train)
            kwargs = {"valid_sets": [valid], "callbacks": [lgb.early_stopping(patience, verbose=False)]}
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
        if not hasattr(self, "boosters_"):
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
        Both are averaged over the bagged boosters, as the scores are.
        """
        w = self.blend_weight_
        phi = np.zeros((M.shape[0], M.shape[1] + 1))
        threads = self._predict_threads(len(M))
        if w > 0:
            if method == "path":
                phi += w * self._path_contributions(M)
            else:
                share = w / len(self.boosters_)
                for booster in self.boosters_:
                    phi += share * booster.predict(M, pred_contrib=True, num_threads=threads)
        if w < 1:
            phi[:, :-1] += (1 - w) * self.linear_.contributions(M)
            phi[:, -1] += (1 - w) * self.linear_.base_
        return phi[:, :-1], phi.sum(axis=1)

    def _leaf_tables(self) -> tuple[np.ndarray, list[np.ndarray], float]:
        """Every leaf of every booster as one row of a (leaves x features) table of path contributions,
        already divided by the number of boosters; per booster, the table row of each tree's leaf 0;
        and the averaged root values (the bias).
        """
        cached = getattr(self, "_leaf_tables_cache", None)
        if cached is not None:
            return cached
        share = 1.0 / len(self.boosters_)
        p = len(self.encoder_.features_)
        blocks: list[np.ndarray] = []
        offsets: list[np.ndarray] = []
        row, bias = 0, 0.0
        for booster in self.boosters_:
            starts = []
            for tree in booster.dump_model()["tree_info"]:
                root = tree["tree_structure"]
                table = np.zeros((max(1, tree["num_leaves"]), p), dtype=np.float64)
                starts.append(row)
                row += len(table)
                blocks.append(table)
                if "leaf_index" in root or "split_feature" not in root:
                    bias += share * float(root.get("leaf_value", 0.0))
                    continue
                bias += share * float(root["internal_value"])
                stack = [(root, np.zeros(p))]
                while stack:
                    node, acc = stack.pop()
                    for side in ("left_child", "right_child"):
                        child = node[side]
                        value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                        step = acc.copy()
                        step[node["split_feature"]] += share * (value - node["internal_value"])
                        if "leaf_index" in child:
                            table[child["leaf_index"]] = step
                        else:
                            stack.append((child, step))
            offsets.append(np.asarray(starts, dtype=np.int32))
        table = np.vstack(blocks) if blocks else np.zeros((0, p))
        self._leaf_tables_cache = (table, offsets, bias)
        return self._leaf_tables_cache

    def _path_contributions(self, M: np.ndarray) -> np.ndarray:
        """Path attribution of the boosters' average: each row's leaves as a sparse one-hot row times the
        leaf table, in row chunks of about two million leaves so memory stays small."""
        from scipy import sparse

        table, offsets, bias = self._leaf_tables()
        n_trees = sum(len(o) for o in offsets)
        out = np.empty((M.shape[0], M.shape[1] + 1))
        out[:, -1] = bias
        rows = max(256, 2_000_000 // max(1, n_trees))
        threads = self._predict_threads(len(M))
        for start in range(0, len(M), rows):
            part = M[start : start + rows]
            leaves = np.hstack(
                [
                    booster.predict(part, pred_leaf=True, num_threads=threads).reshape(len(part), -1) + first
                    for booster, first in zip(self.boosters_, offsets, strict=True)
                ]
            ).astype(np.int32)
            onehot = sparse.csr_matrix(
                (np.ones(leaves.size), leaves.ravel(), np.arange(0, leaves.size + 1, n_trees)),
                shape=(len(part), len(table)),
            )
            out[start : start + len(part), :-1] = onehot @ table
        return out

    def _predict_threads(self, rows: int) -> int:
        """LightGBM threads to predict ``rows`` rows: ``n_jobs`` for small batches, every core for large
        ones (rows split evenly between threads, which never wait on each other as in training)."""
        return self.n_jobs if rows < _PARALLEL_ROWS else max(self.n_jobs, cpu_count())

    def _lgb_raw(self, M: np.ndarray) -> np.ndarray:
        """The boosters' average raw score (logit for classifiers)."""
        s = np.zeros(M.shape[0])
        threads = self._predict_threads(len(M))
        for booster in self.boosters_:
            s += booster.predict(M, raw_score=True, num_threads=threads)
        return s / len(self.boosters_)

    def _blend(self, M: np.ndarray) -> np.ndarray:
        w = self.blend_weight_
        s = np.zeros(M.shape[0])
        if w > 0:
            s += w * self._lgb_raw(M)
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
        Optuna trials for LightGBM (on the first inner fold); with the seed, the tuning is
        deterministic. The tuned set, bagged, joins the conservative one (their average) only if that
        lowers the out-of-fold log loss significantly on the other inner folds. 0 skips tuning.
    time_budget_s : float
        Wall-clock safety limit of the tuning, seconds; if it cuts the trials short, results depend
        on the machine's speed (``describe()["tuning_trials"]`` says how many ran).
    inner_folds : int
        Stratified folds of the training data; every choice is made on their out-of-fold scores, and
        the final LightGBM is the average of the boosters trained on them.
    n_jobs : int
        LightGBM threads for training. 1 by default: on a busy small machine, OpenMP threads that
        wait on each other make training several times slower than one thread. Scoring batches of
        50,000 rows or more use every core.
    imbalance : {"auto", "none", "class_weight", "undersample"}
        Class-imbalance handling; ``auto`` compares the three on the first inner fold's ROC-AUC.
    calibration : {"auto", "isotonic", "sigmoid", "none"}
        ``auto`` picks by cross-fitted Brier score on the out-of-fold scores.
    blend : {"auto", "lightgbm", "logistic"}
        ``auto`` picks the logit-space weight of LightGBM vs the logistic model on out-of-fold log loss.
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
        inner_folds: int = 5,
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
        self.inner_folds = inner_folds
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
        k = min(self.inner_folds, int(np.bincount(y).min()))
        if k < 2:
            raise ValidationError("each class needs at least 2 rows for the inner folds")
        self.classes_ = np.array([0, 1])
        M, categorical = self._fit_encoder(X)
        folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state).split(M, y))
        tr0, va0 = folds[0]
        rest = np.concatenate([b for _, b in folds[1:]])  # rows no tuning step ever validated on

        # 1. the regularised logistic model: C chosen on the first fold, then out-of-fold scores
        def linear(c: float, rows: np.ndarray) -> LinearScorer:
            return LinearScorer(C=c, random_state=self.random_state).fit(M[rows], y[rows], categorical)

        self.linear_C_ = min(
            _C_GRID, key=lambda c: _logloss(y[va0], linear(c, tr0).decision_function(M[va0]))
        )
        s_lin = np.zeros(len(y))
        for a, b in folds:
            s_lin[b] = linear(self.linear_C_, a).decision_function(M[b])

        # 2. LightGBM: the conservative set, bagged; an Optuna-tuned set (tuned on the first fold), bagged
        self.tuning_log_: list[dict[str, Any]] = []
        self.imbalance_report_: dict[str, float] = {}
        self.params_: dict[str, Any] = {}
        strategy = "none"
        bags: dict[str, tuple[np.ndarray, list[lgb.Booster]]] = {"none": (np.zeros(len(y)), [])}
        if self.blend != "logistic":
            strategy = self._choose_imbalance(_CONSERVATIVE, M, y, tr0, va0)
            self.params_ = {"conservative": dict(_CONSERVATIVE)}
            bags = {"conservative": self._bag(_CONSERVATIVE, strategy, M, y, folds)}
            if self.n_trials > 0:
                tuned, _, self.tuning_log_ = self._tune(M[tr0], y[tr0], M[va0], y[va0], _logloss)
                self.params_["tuned"] = tuned
                oof_tuned, tuned_boosters = self._bag(tuned, strategy, M, y, folds)
                oof_conservative, conservative_boosters = bags["conservative"]
                bags["conservative+tuned"] = (
                    (oof_conservative + oof_tuned) / 2,
                    conservative_boosters + tuned_boosters,  # same count: their plain mean is the average
                )
        self.imbalance_strategy_ = strategy

        # 3. per candidate, the blend weight in logit space (both parts re-centred by Platt so their
        # scales agree) with the lowest out-of-fold log loss; the ensemble with the tuned set replaces
        # the conservative set only if it lowers the per-row log loss significantly on the rows that
        # the tuning never validated on (paired z <= -2.5): otherwise a near tie is noise
        weights = {"auto": _BLEND_WEIGHTS, "lightgbm": (1.0,), "logistic": (0.0,)}[self.blend]
        losses: dict[str, np.ndarray] = {}
        reports: dict[str, dict[float, float]] = {}
        for name, (s_lgb, _) in bags.items():
            by_weight = {}
            for w in weights:
                s = w * s_lgb + (1 - w) * s_lin
                by_weight[float(w)] = _row_log_loss(y, _Calibrator("sigmoid").fit(s, y)(s))
            reports[name] = {w: float(loss.mean()) for w, loss in by_weight.items()}
            losses[name] = by_weight[min(reports[name], key=reports[name].get)]
        self.candidates_report_ = {name: float(loss[rest].mean()) for name, loss in losses.items()}
        chosen = next(iter(bags))
        self.ensemble_z_: float | None = None
        if "conservative+tuned" in losses:
            diff = (losses["conservative+tuned"] - losses["conservative"])[rest]
            self.ensemble_z_ = float(diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)) + 1e-12))
            if self.ensemble_z_ <= _ENSEMBLE_Z:
                chosen = "conservative+tuned"
        self.lightgbm_candidate_ = chosen
        s_lgb, self.boosters_ = bags[chosen]
        self.blend_report_ = reports[chosen]
        self.blend_weight_ = min(self.blend_report_, key=self.blend_report_.get)
        s_oof = self.blend_weight_ * s_lgb + (1 - self.blend_weight_) * s_lin

        # 4. calibration chosen by cross-fitted Brier on the out-of-fold scores, then fitted on all of them
        methods = ["none", "sigmoid", "isotonic"] if self.calibration == "auto" else [self.calibration]
        self.calibration_report_ = {}
        halves = StratifiedKFold(n_splits=2, shuffle=True, random_state=self.random_state)
        for method in methods:
            p = np.zeros(len(y))
            for a, b in halves.split(s_oof, y):
                p[b] = _Calibrator(method).fit(s_oof[a], y[a])(s_oof[b])
            self.calibration_report_[method] = float(brier_score_loss(y, p))
        self.calibration_method_ = min(self.calibration_report_, key=self.calibration_report_.get)
        self.calibrator_ = _Calibrator(self.calibration_method_).fit(s_oof, y)
        p_oof = self.calibrator_(s_oof)
        self.threshold_, self.threshold_rule_ = choose_threshold(
            y, p_oof, benefit=self.benefit, cost=self.cost, capacity=self.capacity
        )
        self.validation_ = {"y": y, "p": p_oof}
        self.base_rate_ = float(y.mean())

        # 5. the logistic part refitted on all rows; LightGBM is the average of the fold boosters
        self.linear_ = linear(self.linear_C_, np.arange(len(y)))
        if self.blend_weight_ == 0:
            self.boosters_ = []
        self.n_rounds_ = sum(b.num_trees() for b in self.boosters_)
        rng = np.random.default_rng(self.random_state)
        self._sample_ = M[rng.choice(len(M), size=min(2000, len(M)), replace=False)]
        self.train_profile_ = _profile(self.encoder_, M, y)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _bag(
        self, params: dict[str, Any], strategy: str, M: np.ndarray, y: np.ndarray, folds: list
    ) -> tuple[np.ndarray, list[lgb.Booster]]:
        """One booster per inner fold, stopped early on its held-out fold: out-of-fold logits and boosters."""
        oof = np.zeros(len(y))
        boosters = []
        for a, b in folds:
            M_a, y_a, extra = self._imbalanced(strategy, M[a], y[a], params)
            booster = self._train_lgb(extra, M_a, y_a, M[b], y[b], rounds=_MAX_ROUNDS, patience=_PATIENCE)
            booster.free_dataset()
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
            oof[b] = booster.predict(M[b], raw_score=True)
            boosters.append(booster)
        return oof, boosters

    def _choose_imbalance(self, params, M, y, tr0, va0) -> str:
        """Class weights and undersampling against nothing, on the first inner fold's ROC-AUC.

        Either must win by 0.002 to be used: ranking rarely gains from them, and calibration has to
        undo the shift they give the probabilities.
        """
        if self.imbalance != "auto":
            return self.imbalance
        scored = {}
        for name in ("none", "class_weight", "undersample"):
            M_s, y_s, extra = self._imbalanced(name, M[tr0], y[tr0], params)
            booster = self._train_lgb(extra, M_s, y_s, M[va0], y[va0], rounds=_MAX_ROUNDS, patience=_PATIENCE)
            scored[name] = booster.predict(M[va0], raw_score=True, num_iteration=booster.best_iteration)
        self.imbalance_report_ = {k: float(roc_auc_score(y[va0], v)) for k, v in scored.items()}
        return max(scored, key=lambda k: self.imbalance_report_[k] - (0.002 if k != "none" else 0.0))

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
            "lightgbm_candidate": self.lightgbm_candidate_,
            "lightgbm_params": self.params_,
            "lightgbm_candidates_oof_log_loss": self.candidates_report_,
            "ensemble_paired_z": self.ensemble_z_,
            "lightgbm_boosters": len(self.boosters_),
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
        self.boosters_ = [self._train_lgb(params, M, y, rounds=int(rounds / (1 - self.validation_size)))]
        self.n_rounds_ = self.boosters_[0].num_trees()
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
