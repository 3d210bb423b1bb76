"""torchmetrics: detection mAP, segmentation and classification metrics updated once a batch
(a frame) and computed, then reset, once an epoch. Random predictions and targets on the device."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import d2h_probe  # noqa: E402

PACKAGE = "torchmetrics"


def _boxes(n, dev, generator):
    import torch

    xy = torch.rand(n, 2, device=dev, generator=generator) * 200
    wh = torch.rand(n, 2, device=dev, generator=generator) * 80 + 4
    return torch.cat([xy, xy + wh], dim=1)


def detection(ctx):
    import torch
    from torchmetrics.detection import IntersectionOverUnion, MeanAveragePrecision

    dev = ctx.device
    g = torch.Generator(device=dev).manual_seed(0)
    maps = [MeanAveragePrecision(iou_type="bbox", backend="pycocotools").to(dev), MeanAveragePrecision(iou_type="bbox", class_metrics=True, backend="pycocotools").to(dev)]
    iou = IntersectionOverUnion().to(dev)
    for epoch in range(ctx.epochs):
        for i in range(ctx.frames // ctx.epochs):
            with d2h_probe.frame():
                n, m = 3 + (i % 4), 2 + (i % 3)
                preds = [dict(boxes=_boxes(n, dev, g), scores=torch.rand(n, device=dev, generator=g), labels=torch.randint(0, 5, (n,), device=dev, generator=g))]
                target = [dict(boxes=_boxes(m, dev, g), labels=torch.randint(0, 5, (m,), device=dev, generator=g))]
                for metric in maps:
                    metric.update(preds, target)
                iou.update(preds, target)
        with d2h_probe.phase("epoch"):
            for metric in maps + [iou]:
                metric.compute()
                metric.reset()


def segmentation(ctx):
    import torch
    from torchmetrics.segmentation import DiceScore, GeneralizedDiceScore, MeanIoU

    dev = ctx.device
    g = torch.Generator(device=dev).manual_seed(1)
    metrics = [
        MeanIoU(num_classes=4, input_format="index").to(dev),
        GeneralizedDiceScore(num_classes=4, input_format="index").to(dev),
        DiceScore(num_classes=4, average="macro", input_format="index").to(dev),
    ]
    for epoch in range(ctx.epochs):
        for _ in range(ctx.frames // ctx.epochs):
            with d2h_probe.frame():
                preds = torch.randint(0, 4, (2, 32, 32), device=dev, generator=g)
                target = torch.randint(0, 4, (2, 32, 32), device=dev, generator=g)
                for metric in metrics:
                    metric.update(preds, target)
        with d2h_probe.phase("epoch"):
            for metric in metrics:
                metric.compute()
                metric.reset()


def classification(ctx):
    import torch
    from torchmetrics import MetricCollection
    from torchmetrics.classification import (
        MulticlassAccuracy,
        MulticlassAUROC,
        MulticlassAveragePrecision,
        MulticlassCalibrationError,
        MulticlassConfusionMatrix,
        MulticlassF1Score,
    )
    from torchmetrics.aggregation import MeanMetric

    dev = ctx.device
    g = torch.Generator(device=dev).manual_seed(2)
    collection = MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes=5),
            "f1": MulticlassF1Score(num_classes=5, average="macro"),
            "cm": MulticlassConfusionMatrix(num_classes=5),
            "auroc": MulticlassAUROC(num_classes=5),
            "ap": MulticlassAveragePrecision(num_classes=5, thresholds=20),
            "ece": MulticlassCalibrationError(num_classes=5),
        }
    ).to(dev)
    loss = MeanMetric().to(dev)
    for epoch in range(ctx.epochs):
        for _ in range(ctx.frames // ctx.epochs):
            with d2h_probe.frame():
                logits = torch.randn(16, 5, device=dev, generator=g)
                target = torch.randint(0, 5, (16,), device=dev, generator=g)
                batch_values = collection(logits.softmax(-1), target)  # forward: update + batch value
                loss.update(torch.nn.functional.cross_entropy(logits, target))
        with d2h_probe.phase("epoch"):
            collection.compute()
            loss.compute()
            collection.reset()
            loss.reset()
    del batch_values


if __name__ == "__main__":
    sys.exit(harness.main(PACKAGE, [detection, segmentation, classification]))
