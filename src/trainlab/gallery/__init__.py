"""Pictures of a dataset and of a model's errors: sample grids (samples.py), error galleries chosen from the
predictions table (select.py: which items; figures.py: drawing them; build.py: the ``trainlab gallery`` verb).

Nothing here needs a model: the one judge that does (saliency) lives at the edge in :mod:`trainlab.saliency`.
"""
