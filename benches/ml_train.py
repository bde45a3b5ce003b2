"""A training entry point written the way ML repositories write them.

It imports what such scripts import at the top (torch, transformers, numpy,
pandas, scikit-learn, tqdm, and plotting and statistics packages that only
the evaluation at the end would use), builds a small BERT classifier from a
config (no weights, no network: HF_HUB_OFFLINE=1), a synthetic dataset and
a DataLoader, and stops after the first batch's forward, backward and
optimiser step. It prints one JSON line: the first batch's loss (`repr` of
the float, so runs compare exactly) and the gradient norm.

    python benches/ml_train.py [--num-workers N] [--batch-size B]
                               [--phase-switch none|disable|resolve]

`--phase-switch` calls the adaptor's `lazy_bind.disable()` before the loop
(`resolve`: with `resolve_pending=True`, importing everything still
deferred; `disable`: only stop deferring). The imports marked `# unused`
are the ones the first batch does not use: benches/ml_ttfb.py deletes those
lines for its "ideal" configuration.

Run by benches/ml_ttfb.py under stock CPython, the adaptor and the fork.
"""

import argparse
import json
import math
import os
import random
import sys

import matplotlib.pyplot as plt  # unused
import numpy as np
import pandas as pd  # unused
import scipy.stats  # unused
import torch
import torch.nn as nn
from sklearn.metrics import accuracy_score, f1_score  # unused
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModelForSequenceClassification

VOCAB = 512
SEQUENCE = 32
CLASSES = 3


class SyntheticText(Dataset):
    """Token sequences whose class is the parity of their token sum."""

    def __init__(self, size, seed):
        rng = np.random.default_rng(seed)
        self.tokens = rng.integers(1, VOCAB, size=(size, SEQUENCE))
        self.labels = self.tokens.sum(axis=1) % CLASSES

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        tokens = torch.as_tensor(self.tokens[index], dtype=torch.long)
        return {
            "input_ids": tokens,
            "attention_mask": torch.ones_like(tokens),
            "labels": torch.as_tensor(self.labels[index], dtype=torch.long),
        }


def evaluate(predictions, labels):
    """What the end of training would report (never reached here)."""
    frame = pd.DataFrame({"prediction": predictions, "label": labels})
    summary = {
        "accuracy": accuracy_score(labels, predictions),
        "f1": f1_score(labels, predictions, average="macro"),
        "entropy": float(scipy.stats.entropy(frame["prediction"].value_counts())),
    }
    figure, axis = plt.subplots()
    axis.hist(frame["prediction"])
    figure.savefig("predictions.png")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--phase-switch", choices=("none", "disable", "resolve"), default="none")
    args = parser.parse_args()

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the same reductions in every configuration

    config = AutoConfig.for_model(
        "bert", vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=128, max_position_embeddings=SEQUENCE,
        num_labels=CLASSES)
    model = AutoModelForSequenceClassification.from_config(config)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(SyntheticText(256, seed=1), batch_size=args.batch_size,
                        shuffle=False, num_workers=args.num_workers)

    if args.phase_switch != "none":
        import lazy_bind

        # What a training job would do with imports that fail to resolve:
        # log them and go on (they fail again where they are used).
        for failure in lazy_bind.disable(resolve_pending=args.phase_switch == "resolve"):
            print(f"pending import failed: {failure}", file=sys.stderr)

    for batch in tqdm(loader, disable=True):
        optimizer.zero_grad()
        output = model(**batch)
        output.loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=math.inf)
        optimizer.step()
        print(json.dumps({"loss": repr(output.loss.item()), "grad_norm": repr(norm.item()),
                          "pid": os.getpid()}))
        break


if __name__ == "__main__":
    main()
