"""Trains a small scikit-learn LinearRegression on synthetic data and writes its pickle (joblib)
to stdout, in the format examples/model-1/onlinescoring/score.py loads (10 features).

The data is noise-free, y = X . (1, 2, ..., 10) + 3, so the model's answers are known exactly:
[1..10] -> 388, [10..1] -> 223 (the pipeline's verify request pins them).
"""

import io
import sys

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 10))
y = X @ np.arange(1, 11, dtype=float) + 3.0
model = LinearRegression().fit(X, y)
buf = io.BytesIO()
joblib.dump(model, buf)
sys.stdout.buffer.write(buf.getvalue())
print(f"trained LinearRegression, R^2 {model.score(X, y):.6f}", file=sys.stderr)
