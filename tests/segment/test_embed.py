import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from crmlens.segment.cluster import SegmentClusterer
from crmlens.segment.embed import AutoencoderEmbedder
from crmlens.segment.preprocess import CustomerPreprocessor

pytestmark = pytest.mark.neural

SMALL = {"n_components": 4, "max_steps": 200, "batch_size": 128}


@pytest.fixture(scope="module")
def features(planted):
    frame, truth = planted
    return CustomerPreprocessor(exclude=("customer_id",)).fit_transform(frame), truth


def test_autoencoder_is_deterministic_and_learns(features):
    Z, _ = features
    a = AutoencoderEmbedder(random_state=1, **SMALL).fit(Z)
    b = AutoencoderEmbedder(random_state=1, **SMALL).fit(Z)
    np.testing.assert_array_equal(a.transform(Z), b.transform(Z))
    assert a.transform(Z).shape == (len(Z), 4)
    assert a.loss_curve_[-1] < 0.5 * a.loss_curve_[0]
    # rebuilding from 4 numbers beats predicting every customer as the average customer
    assert a.reconstruction_error(Z) < 0.5 * float(np.mean((Z - Z.mean(0)) ** 2))


def test_two_stage_neural_segmentation_recovers_planted_segments(planted, fast):
    frame, truth = planted
    model = SegmentClusterer(method="neural", exclude=("customer_id",), embedder_params=SMALL, **fast).fit(
        frame
    )
    assert model.method_ == "neural" and model.embedder_ is not None
    assert adjusted_rand_score(truth, model.labels_) >= 0.7
    assert "silhouette_embedding" in model.metrics_
    np.testing.assert_array_equal(model.predict(frame.head(100)), model.labels_[:100])
