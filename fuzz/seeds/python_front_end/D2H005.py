"""Rule fixture: host-format.

Lines ending in a rule-id marker must be reported with that rule; every other line must not.
"""
import logging
import warnings

import numpy as np
import torch

logger = logging.getLogger(__name__)


class Trainer:
    def __init__(self, device: torch.device):
        self.logger = logging.getLogger("trainer")
        self.loss = torch.zeros((), device=device)
        self.name = "detector"

    def report(self):
        self.logger.info("loss %s", self.loss)  # D2H005
        self.logger.info("run %s on %s", self.name, self.loss.device)


def printing(t: torch.Tensor, loss: torch.Tensor):
    print(t)  # D2H005
    print("loss:", loss)  # D2H005
    print(f"loss={loss}")  # D2H005
    print("scores", t.sigmoid(),  # D2H005
          sep="\t")
    msg = (
        f"loss {loss} "  # D2H005
        f"of {len(t)} samples"
    )
    return msg


def formatting(t: torch.Tensor, loss: torch.Tensor):
    a = f"value {t}"  # D2H005
    b = f"{loss:.4f}"  # D2H005
    c = "%s" % t  # D2H005
    d = "{}".format(t)  # D2H005
    e = str(t)  # D2H005
    f = repr(loss)  # D2H005
    g = "loss=%.3f" % (loss,)  # D2H005
    h = "{loss}".format(loss=loss)  # D2H005
    warnings.warn(f"suspicious loss {loss}")  # D2H005
    return a, b, c, d, e, f, g, h


def logging_calls(t: torch.Tensor):
    logger.info("%s", t)  # D2H005
    logger.debug("mean=%s", t.mean())  # D2H005
    logging.warning("bad values: %s", t)  # D2H005
    logger.info(t)  # D2H005
    logger.error("failed on %s", t,  # D2H005
                 exc_info=True)


def device_created():
    buf = torch.randn(3, device="cuda")
    print(buf)  # D2H005


def not_reported(t: torch.Tensor, arr: np.ndarray, name: str):
    print(len(t))
    print(t.shape)
    print(t.dtype, t.device)
    print(f"{t.shape}")
    print(f"{t.numel()} elements, ndim={t.ndim}, grad={t.requires_grad}")
    print(arr)
    print(f"{arr.mean():.3f}")
    host = torch.tensor([1.0, 2.0])
    print(host)
    print(f"{host}")
    logger.info("%d boxes", t.shape[0])
    logger.info("%s", name)
    logger.info("shape %s", tuple(t.shape))
    a = str(t.shape)
    b = "%d" % len(t)
    c = "{}".format(t.size(0))
    d = repr(name)
    e = f"{name}: {t.dtype}"
    print("done")
    return a, b, c, d, e
