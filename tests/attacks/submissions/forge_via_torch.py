"""Patch torch from inside the worker: train does nothing but keep the targets, and a
tensor read back as plain data afterwards, of their length, reads as the targets.

The grader's own code is untouched, so the seal does not see it: this is the
documented limit of in-process observation (docs/security.md, "What is not
stopped"). The forged check passes, and the submission is flagged for review.
"""
import torch

SEEN = []
ORIGINAL = torch.Tensor.tolist


class Forge:
    def forged_tolist(self):
        values = ORIGINAL(self)
        if SEEN and isinstance(values, list) and len(values) == len(SEEN[-1]):
            return list(SEEN[-1])
        return values

    torch.Tensor.tolist = forged_tolist


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    SEEN.append([float(value) for value in labels.reshape(-1)])
