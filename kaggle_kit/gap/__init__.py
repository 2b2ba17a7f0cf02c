"""The gap report: why the leaderboard score differs from the local one, and what to expect before uploading.

``estimators`` predicts accuracy on unlabeled data, ``label_shift`` estimates the competition's class priors,
``image_stats`` and ``domain`` measure covariate shift, ``shifts`` makes labeled shifted sets for the
benchmark, ``advice`` turns measured differences into recommendations and ``report`` writes it all out.
"""
