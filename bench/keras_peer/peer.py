"""The coursework's own pipeline, as its notebook wrote it: Keras ``ImageDataGenerator.flow_from_dataframe`` +
the CNN from scratch (../shared/seeds/, "2.1.3 Prepare Images for CNN" and "2.2.3 Create and Fit CNN").

Runs in the peer's environment (bench/keras_peer/venv.py), never in trainlab's:

    bench/.keras-venv/bin/python bench/keras_peer/peer.py --split-csv items.csv [--epochs 3] [--batch-size 32]

``items.csv`` (written by bench/bench_peer.py from trainlab's manifest, so both sides train and test on the
same images): ``filename`` (absolute path), ``class``, ``split`` (train/test). Prints ``RESULT {json}``:
data-path img/s (the training generator alone: read, decode, resize, the random affine per image,
rescale; best of ``--data-passes`` passes of ``n // batch`` batches), training img/s per epoch
(``model.fit``'s training steps, timed by a callback; no validation during fit, as trainlab's figure), peak
resident memory, and test accuracy after the last epoch.

Kept as the notebook has it: ``rescale=1/255``, rotation 20, zoom/shift/shear 0.05, horizontal flip,
``fill_mode='nearest'``, ``target_size=(100, 100)`` (Keras' default 'nearest' resize), batch 32, Adam with
Keras' defaults, categorical cross-entropy, ``l1_l2(1e-5, 1e-5)`` on the first kernel, dropout 0.25/0.25/0.5,
``steps_per_epoch = n // batch``. Not kept: the MirroredStrategy over the notebook's GPUs (one CPU here).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def create_model(input_shape, num_classes, regs=(0.00001, 0.00001)):
    """The notebook's ``create_model`` ("Q2_Custom_CNN"), with an explicit Input layer (Keras 3)."""
    import tensorflow as tf

    layers, regularizers = tf.keras.layers, tf.keras.regularizers
    model = tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        layers.Conv2D(32, (3, 3), padding="same", activation="relu", kernel_regularizer=regularizers.l1_l2(l1=regs[0], l2=regs[1])),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ], name="Q2_Custom_CNN")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split-csv", required=True)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data-passes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    ImageDataGenerator = tf.keras.preprocessing.image.ImageDataGenerator
    items = pd.read_csv(args.split_csv, dtype=str)
    train_df, test_df = items[items["split"] == "train"], items[items["split"] == "test"]
    size, bs = (args.size, args.size), args.batch_size

    train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=20, zoom_range=0.05, width_shift_range=0.05,
                                       height_shift_range=0.05, shear_range=0.05, horizontal_flip=True, fill_mode="nearest")
    test_datagen = ImageDataGenerator(rescale=1.0 / 255)
    common = dict(x_col="filename", y_col="class", target_size=size, class_mode="categorical")
    train_gen = train_datagen.flow_from_dataframe(train_df, directory=None, batch_size=bs, shuffle=True, seed=args.seed, **common)
    test_gen = test_datagen.flow_from_dataframe(test_df, directory=None, batch_size=bs, shuffle=False, **common)
    steps = train_gen.n // bs
    out = {"tensorflow": tf.__version__, "keras": tf.keras.__version__ if hasattr(tf.keras, "__version__") else None,
           "train_images": int(train_gen.n), "test_images": int(test_gen.n), "steps_per_epoch": steps,
           "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads()}

    # Data path alone: the training generator, no model.
    rates = []
    for _ in range(args.data_passes):
        t0 = time.perf_counter()
        for _ in range(steps):
            next(train_gen)
        rates.append(steps * bs / (time.perf_counter() - t0))
    out["data_img_s"] = round(max(rates), 1)
    train_gen.reset()

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rates = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.rates.append(steps * bs / (time.perf_counter() - self.t0))

    model = create_model(size + (3,), len(train_gen.class_indices))
    timer = EpochTimer()
    t0 = time.perf_counter()
    history = model.fit(train_gen, steps_per_epoch=steps, epochs=args.epochs, callbacks=[timer], verbose=0)
    out["fit_s"] = round(time.perf_counter() - t0, 1)
    out["train_img_s_all"] = [round(r, 1) for r in timer.rates]
    later = out["train_img_s_all"][1:] or out["train_img_s_all"]  # the first epoch includes tracing and warm-up
    out["train_img_s"] = float(np.median(later))
    out["train_acc"] = round(float(history.history["accuracy"][-1]), 4)
    _, acc = model.evaluate(test_gen, verbose=0)
    out["test_acc"] = round(float(acc), 4)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["load_average"] = round(os.getloadavg()[0], 2)
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
